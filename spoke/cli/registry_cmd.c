/* onestop registry init|add|revoke|suspend|activate|dataset|sign|show:
 * the operator's edits of the signed node registry. Every edit loads the file,
 * checks it was signed by the root key given, changes it, bumps the
 * version, re-signs it and replaces the file atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "registry.h"
#include "util.h"

#define REGCMD_DAY_MS 86400000ull
#define REGCMD_MAX_DAYS 36500u
#define REGCMD_DEFAULT_DAYS 365u

/* --valid-days as an expiry time from now; 0 or CLI_USAGE. */
static int regcmd_days(const struct cli_cmd *cmd, const struct cli_args *a, uint64_t now,
		       uint64_t *expires)
{
	uint64_t days = REGCMD_DEFAULT_DAYS;
	const char *v = cli_get(a, "valid-days");
	if (v != NULL && cli_uint(cmd, "valid-days", v, 1, REGCMD_MAX_DAYS, &days) != 0)
		return CLI_USAGE;
	*expires = now + days * REGCMD_DAY_MS;
	return 0;
}

static int regcmd_read_root(const struct cli_cmd *cmd, const char *path, struct os_keypair *root)
{
	if (crypto_setup() != 0)
		return cli_fail(cmd, "cannot initialise the crypto library");
	int rc = crypto_keyfile_read(path, root);
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read the root key %s", path);
	if (rc != 0)
		return cli_fail(cmd, "%s is not a key file: %s", path, os_strerror(rc));
	return CLI_OK;
}

/* Load R for editing: it must verify under the root key (an expired one
 * is fine: renewing it is one reason to edit). */
static int regcmd_load(const struct cli_cmd *cmd, const char *path, const struct os_keypair *root,
		       struct registry **reg)
{
	int rc = registry_load(path, root->sign_pk, 0, reg);
	if (rc == 0)
		return CLI_OK;
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read %s", path);
	if (rc == OS_EBADSIG)
		return cli_fail(cmd,
				"%s is not signed by this root key (signature does not verify)",
				path);
	return cli_fail(cmd, "%s is not a valid registry: %s", path, os_strerror(rc));
}

/* Bump, sign and write reg to path; prints a summary line. */
static int regcmd_save(const struct cli_cmd *cmd, struct registry *reg, const char *path,
		       const struct os_keypair *root, uint64_t now, int excl)
{
	const uint8_t *buf = NULL;
	size_t len = 0;
	char exp[OS_ISO_TIME_MAX];

	reg->version++;
	reg->issued_ms = now;
	int rc = registry_sign(reg, root->sign_sk, &buf, &len);
	if (rc != 0)
		return cli_fail(cmd, "cannot sign the registry: %s", os_strerror(rc));
	rc = os_write_file(path, buf, len, 0644, excl);
	if (rc == OS_EEXIST)
		return cli_fail(cmd, "%s exists (refusing to replace a registry; edit it instead)",
				path);
	if (rc != 0)
		return cli_fail(cmd, "cannot write %s: %s", path, os_strerror(rc));
	os_iso_time(exp, reg->expires_ms);
	printf("registry=%s version=%llu nodes=%zu expires=%s\n", path,
	       (unsigned long long)reg->version, reg->n_nodes, exp);
	if (reg->expires_ms <= now)
		fprintf(stderr,
			"onestop %s: warning: %s expired at %s; daemons refuse it until "
			"'onestop registry sign --valid-days D' renews it\n",
			cmd->name, path, exp);
	return CLI_OK;
}

static int regcmd_init(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	uint64_t now = os_now_ms(), expires = 0;
	int rc;

	memset(&root, 0, sizeof(root));
	const char *key = cli_need(cmd, a, "root-key");
	const char *out = key ? cli_need(cmd, a, "out") : NULL;
	if (out == NULL)
		return CLI_USAGE;
	if ((rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = registry_new(&reg)) != 0) {
		rc = cli_fail(cmd, "cannot make a registry: %s", os_strerror(rc));
		goto out;
	}
	reg->expires_ms = expires;
	rc = regcmd_save(cmd, reg, out, &root, now, 1);
out:
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	return rc;
}

/* "*", "prefix.*" or an exact type. */
static int regcmd_type_pattern_valid(const char *t)
{
	if (strcmp(t, "*") == 0)
		return 1;
	size_t len = strlen(t);
	if (len > 2 && strcmp(t + len - 2, ".*") == 0) {
		char prefix[129];
		if (len - 2 >= sizeof(prefix))
			return 0;
		memcpy(prefix, t, len - 2);
		prefix[len - 2] = '\0';
		return os_type_valid(prefix) == 0;
	}
	return os_type_valid(t) == 0;
}

/* Check the --role, --topic, --allow-type and --publish lists of add and
 * fill node's lists (pointing into argv). CLI_OK or CLI_USAGE. */
static int regcmd_node_lists(const struct cli_cmd *cmd, const struct cli_args *a,
			     struct reg_node *node, char **roles)
{
	static char star[] = "*";
	size_t n_roles = cli_all(a, "role", roles);

	node->roles = 0;
	for (size_t i = 0; i < n_roles; i++) {
		unsigned bit;
		if (registry_role_parse(roles[i], &bit) != 0)
			return cli_usage(cmd, "unknown role '%s' (hub, spoke, idp, supervisor)",
					 roles[i]);
		node->roles |= bit;
	}
	if (n_roles == 0)
		node->roles = REG_ROLE_SPOKE;

	node->n_topics = cli_all(a, "topic", node->topics);
	for (size_t i = 0; i < node->n_topics; i++) {
		if (node->topics[i][0] == '@')
			node->topics[i]++;
		if (os_name_valid(node->topics[i]) != 0)
			return cli_usage(cmd, "bad topic '%s'", node->topics[i]);
	}
	node->n_types = cli_all(a, "allow-type", node->allowed_types);
	for (size_t i = 0; i < node->n_types; i++)
		if (!regcmd_type_pattern_valid(node->allowed_types[i]))
			return cli_usage(
				cmd,
				"bad message type pattern '%s' (\"*\", \"prefix.*\" or a type)",
				node->allowed_types[i]);
	if (node->n_types == 0) {
		node->allowed_types[0] = star;
		node->n_types = 1;
	}
	node->n_publish = cli_all(a, "publish", node->publish);
	for (size_t i = 0; i < node->n_publish; i++)
		if (os_name_valid(node->publish[i]) != 0)
			return cli_usage(cmd, "bad dataset name '%s'", node->publish[i]);
	if (node->n_topics > REG_MAX_LIST || node->n_types > REG_MAX_LIST ||
	    node->n_publish > REG_MAX_LIST)
		return cli_usage(cmd, "at most %u topics, types or datasets", REG_MAX_LIST);
	return CLI_OK;
}

static int regcmd_add(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	struct reg_node node;
	char **lists = NULL;
	uint64_t now = os_now_ms(), kv = 1, expires = 0;
	int rc;

	memset(&root, 0, sizeof(root));
	memset(&node, 0, sizeof(node));
	const char *key = cli_need(cmd, a, "root-key");
	const char *path = key ? cli_need(cmd, a, "registry") : NULL;
	char *name = path ? cli_need(cmd, a, "name") : NULL;
	const char *pub = name ? cli_need(cmd, a, "pub") : NULL;
	if (pub == NULL)
		return CLI_USAGE;
	if (os_name_valid(name) != 0)
		return cli_usage(cmd, "bad node name '%s' (dotted labels [a-z0-9-]{1,32})", name);
	if (cli_has(a, "key-version") &&
	    cli_uint(cmd, "key-version", cli_get(a, "key-version"), 1, UINT32_MAX, &kv) != 0)
		return CLI_USAGE;
	if (cli_has(a, "valid-days") && (rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;

	/* One array holds the four lists, each with room for every option
	 * given (plus the default "*"). */
	lists = calloc(4 * (a->n + 1), sizeof(*lists));
	if (lists == NULL)
		return cli_fail(cmd, "out of memory");
	node.topics = lists + (a->n + 1);
	node.allowed_types = lists + 2 * (a->n + 1);
	node.publish = lists + 3 * (a->n + 1);
	if ((rc = regcmd_node_lists(cmd, a, &node, lists)) != CLI_OK)
		goto out;
	node.name = name;
	node.key_version = (uint32_t)kv;
	node.status = REG_ACTIVE;

	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = crypto_pubfile_read(pub, node.sign_pk, node.box_pk)) != 0) {
		rc = rc == OS_EIO ? cli_fail(cmd, "cannot read %s", pub)
				  : cli_fail(cmd, "%s is not a public key file: %s", pub,
					     os_strerror(rc));
		goto out;
	}
	if ((rc = regcmd_load(cmd, path, &root, &reg)) != CLI_OK)
		goto out;
	/* The hub knows a connecting node by its transport key alone. */
	const struct reg_node *same = registry_find_box(reg, node.box_pk);
	if (same != NULL && strcmp(same->name, name) != 0) {
		rc = cli_fail(cmd, "the transport key in %s is already node %s's", pub, same->name);
		goto out;
	}
	rc = registry_add(reg, &node);
	if (rc == OS_EEXIST) {
		rc = cli_fail(cmd, "node %s is already in %s", name, path);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cmd, "cannot add %s: %s", name, os_strerror(rc));
		goto out;
	}
	if (expires != 0)
		reg->expires_ms = expires;
	rc = regcmd_save(cmd, reg, path, &root, now, 0);
out:
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	free(lists);
	return rc;
}

/* revoke, suspend and activate differ only in the status they set. */
static int regcmd_set_status(const struct cli_cmd *cmd, const struct cli_args *a,
			     enum reg_status st)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	uint64_t now = os_now_ms(), expires = 0;
	int rc;

	memset(&root, 0, sizeof(root));
	const char *key = cli_need(cmd, a, "root-key");
	const char *path = key ? cli_need(cmd, a, "registry") : NULL;
	const char *name = path ? cli_need(cmd, a, "name") : NULL;
	if (name == NULL)
		return CLI_USAGE;
	if (cli_has(a, "valid-days") && (rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = regcmd_load(cmd, path, &root, &reg)) != CLI_OK)
		goto out;
	const struct reg_node *n = registry_find(reg, name);
	if (n == NULL) {
		rc = cli_fail(cmd, "no node %s in %s", name, path);
		goto out;
	}
	if (n->status == st && expires == 0) {
		printf("node %s is already %s; %s unchanged\n", name, registry_status_str(st),
		       path);
		rc = CLI_OK;
		goto out;
	}
	if ((rc = registry_set_status(reg, name, st)) != 0) {
		rc = cli_fail(cmd, "cannot change %s: %s", name, os_strerror(rc));
		goto out;
	}
	if (expires != 0)
		reg->expires_ms = expires;
	rc = regcmd_save(cmd, reg, path, &root, now, 0);
out:
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	return rc;
}

static int regcmd_revoke(const struct cli_cmd *cmd, const struct cli_args *a)
{
	return regcmd_set_status(cmd, a, REG_REVOKED);
}

static int regcmd_suspend(const struct cli_cmd *cmd, const struct cli_args *a)
{
	return regcmd_set_status(cmd, a, REG_SUSPENDED);
}

static int regcmd_activate(const struct cli_cmd *cmd, const struct cli_args *a)
{
	return regcmd_set_status(cmd, a, REG_ACTIVE);
}

static int regcmd_dataset(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	uint64_t now = os_now_ms(), expires = 0;
	enum reg_ds_mode mode;
	int rc;

	memset(&root, 0, sizeof(root));
	const char *key = cli_need(cmd, a, "root-key");
	const char *path = key ? cli_need(cmd, a, "registry") : NULL;
	const char *name = path ? cli_need(cmd, a, "name") : NULL;
	const char *mode_s = name ? cli_need(cmd, a, "mode") : NULL;
	if (mode_s == NULL)
		return CLI_USAGE;
	if (strcmp(mode_s, "full") == 0)
		mode = REG_DS_FULL;
	else if (strcmp(mode_s, "cached") == 0)
		mode = REG_DS_CACHED;
	else
		return cli_usage(cmd, "--mode must be full or cached, not '%s'", mode_s);
	if (os_name_valid(name) != 0)
		return cli_usage(cmd, "bad dataset name '%s' (dotted labels [a-z0-9-]{1,32})",
				 name);
	if (cli_has(a, "valid-days") && (rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = regcmd_load(cmd, path, &root, &reg)) != CLI_OK)
		goto out;
	const struct reg_dataset *d = registry_find_dataset(reg, name);
	if (d != NULL && d->mode == mode && expires == 0) {
		printf("dataset %s is already declared %s; %s unchanged\n", name, mode_s, path);
		rc = CLI_OK;
		goto out;
	}
	if ((rc = registry_set_dataset(reg, name, mode)) != 0) {
		rc = cli_fail(cmd, "cannot declare dataset %s: %s", name, os_strerror(rc));
		goto out;
	}
	if (expires != 0)
		reg->expires_ms = expires;
	rc = regcmd_save(cmd, reg, path, &root, now, 0);
out:
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	return rc;
}

static int regcmd_sign(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	uint64_t now = os_now_ms(), expires = 0;
	int rc;

	memset(&root, 0, sizeof(root));
	const char *key = cli_need(cmd, a, "root-key");
	const char *path = key ? cli_need(cmd, a, "registry") : NULL;
	if (path == NULL)
		return CLI_USAGE;
	if ((rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = regcmd_load(cmd, path, &root, &reg)) != CLI_OK)
		goto out;
	reg->expires_ms = expires;
	rc = regcmd_save(cmd, reg, path, &root, now, 0);
out:
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	return rc;
}

static void regcmd_print_list(const char *key, char *const *items, size_t n)
{
	printf(" %s=", key);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? "," : "", items[i]);
}

static int regcmd_show(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct registry *reg = NULL, *checked = NULL;
	os_sign_pk anchor;
	char issued[OS_ISO_TIME_MAX], expires[OS_ISO_TIME_MAX], roles[64], sh[65], bh[65];
	int rc;

	const char *path = cli_need(cmd, a, "registry");
	if (path == NULL)
		return CLI_USAGE;
	const char *anchor_hex = cli_get(a, "anchor");
	if (cli_has(a, "anchor") &&
	    (anchor_hex == NULL || os_unhex(anchor, sizeof(anchor), anchor_hex) != 0))
		return cli_usage(cmd, "--anchor needs the root's sign_public: 64 hex chars");
	if (crypto_setup() != 0)
		return cli_fail(cmd, "cannot initialise the crypto library");

	/* Parse without the anchor first so a registry that fails the check
	 * can still be shown; then check it. */
	rc = registry_load(path, NULL, 0, &reg);
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read %s", path);
	if (rc != 0)
		return cli_fail(cmd, "%s is not a valid registry: %s", path, os_strerror(rc));
	const char *sig = "not checked";
	int bad_sig = 0;
	if (anchor_hex != NULL) {
		rc = registry_parse(reg->signed_bytes, reg->signed_len, anchor, 0, &checked);
		registry_free(&checked);
		bad_sig = rc != 0;
		sig = bad_sig ? "BAD" : "verified";
	}
	uint64_t now = os_now_ms();
	int expired = reg->expires_ms <= now;

	os_iso_time(issued, reg->issued_ms);
	os_iso_time(expires, reg->expires_ms);
	printf("registry=%s\nversion=%llu\nissued=%s\nexpires=%s%s\nsignature=%s\nnodes=%zu\n"
	       "datasets=%zu\n",
	       path, (unsigned long long)reg->version, issued, expires, expired ? " EXPIRED" : "",
	       sig, reg->n_nodes, reg->n_datasets);
	for (size_t i = 0; i < reg->n_nodes; i++) {
		const struct reg_node *n = &reg->nodes[i];
		os_hex(sh, n->sign_pk, sizeof(os_sign_pk));
		os_hex(bh, n->box_pk, sizeof(os_box_pk));
		printf("name=%s roles=%s status=%s key_version=%u sign_pk=%s box_pk=%s", n->name,
		       registry_roles_str(n->roles, roles, sizeof(roles)),
		       registry_status_str(n->status), (unsigned)n->key_version, sh, bh);
		regcmd_print_list("topics", n->topics, n->n_topics);
		regcmd_print_list("allowed_types", n->allowed_types, n->n_types);
		regcmd_print_list("publish", n->publish, n->n_publish);
		putchar('\n');
	}
	for (size_t i = 0; i < reg->n_datasets; i++) {
		const struct reg_dataset *d = &reg->datasets[i];
		printf("dataset=%s mode=%s publishers=", d->name,
		       d->mode == REG_DS_FULL     ? "full"
		       : d->mode == REG_DS_CACHED ? "cached"
						  : "?");
		size_t np = 0;
		for (size_t k = 0; k < reg->n_nodes; k++)
			if (registry_may_publish(&reg->nodes[k], d->name))
				printf("%s%s", np++ ? "," : "", reg->nodes[k].name);
		putchar('\n');
	}
	rc = CLI_OK;
	if (bad_sig)
		rc = cli_fail(cmd, "%s: the signature does not verify under the anchor", path);
	if (expired)
		rc = cli_fail(cmd, "%s expired at %s", path, expires);
	registry_free(&reg);
	return rc;
}

static const struct cli_opt regcmd_init_opts[] = {
	{"root-key", CLI_ARG, 0},
	{"out", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_add_opts[] = {
	{"root-key", CLI_ARG, 0},   {"registry", CLI_ARG, 0}, {"name", CLI_ARG, 0},
	{"pub", CLI_ARG, 0},        {"role", CLI_ARG, 1},     {"topic", CLI_ARG, 1},
	{"allow-type", CLI_ARG, 1}, {"publish", CLI_ARG, 1},  {"key-version", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_status_opts[] = {
	{"root-key", CLI_ARG, 0},   {"registry", CLI_ARG, 0}, {"name", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_sign_opts[] = {
	{"root-key", CLI_ARG, 0},
	{"registry", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_dataset_opts[] = {
	{"root-key", CLI_ARG, 0}, {"registry", CLI_ARG, 0},   {"name", CLI_ARG, 0},
	{"mode", CLI_ARG, 0},     {"valid-days", CLI_ARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_show_opts[] = {
	{"registry", CLI_ARG, 0},
	{"anchor", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};

#define REGCMD_EDIT_NOTE                                                               \
	"The registry must verify under the root key; an expired one is accepted\n"    \
	"so that it can be renewed. The edit bumps the version, sets issued to now,\n" \
	"re-signs with the root key and replaces R atomically (mode 0644).\n"

static const struct cli_cmd regcmd_init_cmd = {
	"registry init",
	"create an empty signed registry",
	"Usage: onestop registry init --root-key K --out R [--valid-days D]\n"
	"\n"
	"Create a new registry with no nodes, version 1, signed with the root key\n"
	"K, valid for D days (default 365), and write it to R (mode 0644).\n"
	"Refuses to replace an existing R.\n"
	"\n"
	"Options:\n"
	"  --root-key K      the root key file (onestop keygen) (required)\n"
	"  --out R           the registry file to create (required)\n"
	"  --valid-days D    days until it expires, 1..36500 (default 365)\n",
	regcmd_init_opts,
	regcmd_init,
	0,
};

static const struct cli_cmd regcmd_add_cmd = {
	"registry add",
	"admit a node",
	"Usage: onestop registry add --root-key K --registry R --name N --pub P.pub\n"
	"         [--role ROLE]... [--topic T]... [--allow-type T]... [--publish D]...\n"
	"         [--key-version V] [--valid-days D]\n"
	"\n"
	"Add node N, active, with the public keys of P.pub (onestop keygen).\n" REGCMD_EDIT_NOTE
	"\n"
	"Options:\n"
	"  --root-key K      the root key file (required)\n"
	"  --registry R      the registry file to change (required)\n"
	"  --name N          node name: dotted lowercase labels, e.g. gd.sz.market (required)\n"
	"  --pub P.pub       the node's public key file (required)\n"
	"  --role ROLE       hub, spoke, idp or supervisor; repeatable (default spoke)\n"
	"  --topic T         a topic the node subscribes to (with or without '@'); repeatable\n"
	"  --allow-type T    a message type it may send: \"*\", \"prefix.*\" or exact;\n"
	"                    repeatable (default \"*\")\n"
	"  --publish D       a dataset it may publish; repeatable\n"
	"  --key-version V   version of its signing key (default 1)\n"
	"  --valid-days D    also renew: expire D days from now (default: keep the expiry)\n",
	regcmd_add_opts,
	regcmd_add,
	0,
};

#define REGCMD_STATUS_HELP(verb, what)                                                           \
	"Usage: onestop registry " verb " --root-key K --registry R --name N [--valid-days D]\n" \
	"\n" what "\n" REGCMD_EDIT_NOTE "\n"                                                     \
	"Options:\n"                                                                             \
	"  --root-key K      the root key file (required)\n"                                     \
	"  --registry R      the registry file to change (required)\n"                           \
	"  --name N          the node (required)\n"                                              \
	"  --valid-days D    also renew: expire D days from now (default: keep the expiry)\n"

static const struct cli_cmd regcmd_revoke_cmd = {
	"registry revoke",
	"revoke a node",
	REGCMD_STATUS_HELP("revoke",
			   "Mark node N revoked: the hub refuses its connections and traffic,\n"
			   "and messages to it are dead-lettered."),
	regcmd_status_opts,
	regcmd_revoke,
	0,
};

static const struct cli_cmd regcmd_suspend_cmd = {
	"registry suspend",
	"suspend a node",
	REGCMD_STATUS_HELP("suspend", "Mark node N suspended: refused like a revoked node until\n"
				      "'onestop registry activate' admits it again."),
	regcmd_status_opts,
	regcmd_suspend,
	0,
};

static const struct cli_cmd regcmd_activate_cmd = {
	"registry activate",
	"make a node active again",
	REGCMD_STATUS_HELP("activate", "Mark node N active."),
	regcmd_status_opts,
	regcmd_activate,
	0,
};

static const struct cli_cmd regcmd_dataset_cmd = {
	"registry dataset",
	"declare a replicated dataset",
	"Usage: onestop registry dataset --root-key K --registry R --name D --mode full|cached\n"
	"         [--valid-days D]\n"
	"\n"
	"Declare the replicated dataset D, or change its mode. full: every spoke\n"
	"holds every entry (items). cached: the hub holds every entry and a spoke\n"
	"holds those it looked up (identity). Who may publish it: 'registry add\n"
	"--publish D'.\n" REGCMD_EDIT_NOTE "\n"
	"Options:\n"
	"  --root-key K      the root key file (required)\n"
	"  --registry R      the registry file to change (required)\n"
	"  --name D          the dataset's name, e.g. items (required)\n"
	"  --mode M          full or cached (required)\n"
	"  --valid-days D    also renew: expire D days from now (default: keep the expiry)\n",
	regcmd_dataset_opts,
	regcmd_dataset,
	0,
};

static const struct cli_cmd regcmd_sign_cmd = {
	"registry sign",
	"re-sign (renew) a registry",
	"Usage: onestop registry sign --root-key K --registry R [--valid-days D]\n"
	"\n"
	"Renew the registry unchanged otherwise: it expires D days from now\n"
	"(default 365).\n" REGCMD_EDIT_NOTE "\n"
	"Options:\n"
	"  --root-key K      the root key file (required)\n"
	"  --registry R      the registry file (required)\n"
	"  --valid-days D    days until it expires, 1..36500 (default 365)\n",
	regcmd_sign_opts,
	regcmd_sign,
	0,
};

static const struct cli_cmd regcmd_show_cmd = {
	"registry show",
	"print a registry",
	"Usage: onestop registry show --registry R [--anchor HEX]\n"
	"\n"
	"Print the registry as key=value lines:\n"
	"  registry=R\n"
	"  version=N\n"
	"  issued=ISO-8601 UTC\n"
	"  expires=ISO-8601 UTC, followed by \" EXPIRED\" once it has expired\n"
	"  signature=verified | BAD | not checked (without --anchor)\n"
	"  nodes=N\n"
	"  datasets=N\n"
	"then one line per node:\n"
	"  name=N roles=R,.. status=S key_version=V sign_pk=HEX box_pk=HEX\n"
	"  topics=T,.. allowed_types=T,.. publish=D,..\n"
	"and one line per dataset:\n"
	"  dataset=D mode=full|cached publishers=N,..\n"
	"Exits 1 (after printing) when the signature is BAD or the registry expired.\n"
	"\n"
	"Options:\n"
	"  --registry R      the registry file (required)\n"
	"  --anchor HEX      the trust anchor (the root key's sign_public, 64 hex)\n"
	"                    to check the signature against\n",
	regcmd_show_opts,
	regcmd_show,
	0,
};

const struct cli_cmd *const cli_registry_cmds[] = {
	&regcmd_init_cmd,    &regcmd_add_cmd,      &regcmd_revoke_cmd,
	&regcmd_suspend_cmd, &regcmd_activate_cmd, &regcmd_dataset_cmd,
	&regcmd_sign_cmd,    &regcmd_show_cmd,     NULL,
};

const char cli_registry_help[] =
	"Usage: onestop registry VERB [OPTIONS]\n"
	"\n"
	"Edit and inspect the signed node registry. The root key signs it; its\n"
	"sign_public (onestop pubkey --key ROOT) is the trust_anchor of every\n"
	"daemon. Put a changed registry in place of the hub's registry file and\n"
	"send the hub SIGHUP: it pushes the new version to every spoke.\n"
	"\n"
	"Verbs:\n"
	"  init       create an empty signed registry\n"
	"  add        admit a node\n"
	"  revoke     revoke a node\n"
	"  suspend    suspend a node\n"
	"  activate   make a node active again\n"
	"  dataset    declare a replicated dataset\n"
	"  sign       re-sign (renew) a registry\n"
	"  show       print a registry\n"
	"\n"
	"See 'onestop registry VERB --help'.\n";
