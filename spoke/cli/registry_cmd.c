/* onestop registry init|add|revoke|suspend|activate|dataset|delegate|
 * undelegate|sign|show|verify: the operator's edits of a signed registry
 * (the national one, or a delegated one of a subtree) and the checks of a
 * whole chain. Every edit loads one file, checks it was signed by the root
 * key given, changes it, bumps the version, re-signs it and replaces the
 * file atomically. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
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
 * is fine: renewing it is one reason to edit). A delegated registry signed
 * by the key is refused by registry_load with an anchor (OS_ENOTALLOWED,
 * after its signature verified): read it again without one. */
static int regcmd_load(const struct cli_cmd *cmd, const char *path, const struct os_keypair *root,
		       struct registry **reg)
{
	int rc = registry_load(path, root->sign_pk, 0, reg);
	if (rc == OS_ENOTALLOWED)
		rc = registry_load(path, NULL, 0, reg);
	if (rc == 0 && (*reg)->n_parts > 1) {
		registry_free(reg);
		return cli_fail(cmd,
				"%s holds a chain of delegated registries; edit the national "
				"registry and each delegated one in files of their own",
				path);
	}
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
	printf("registry=%s version=%llu nodes=%zu expires=%s", path,
	       (unsigned long long)reg->version, reg->n_nodes, exp);
	if (reg->prefix != NULL && reg->prefix[0] != '\0')
		printf(" prefix=%s", reg->prefix);
	putchar('\n');
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
	const char *prefix = cli_get(a, "prefix"), *hub = cli_get(a, "hub");
	if (cli_has(a, "prefix") && (prefix == NULL || os_name_valid(prefix) != 0))
		return cli_usage(cmd, "bad --prefix '%s' (a node name, e.g. gd)",
				 prefix ? prefix : "");
	if (cli_has(a, "hub") && (hub == NULL || os_name_valid(hub) != 0))
		return cli_usage(cmd, "bad --hub '%s' (a node name)", hub ? hub : "");
	if (prefix != NULL && hub != NULL)
		return cli_usage(cmd, "--hub names the national hub; a delegated registry "
				      "(--prefix) has none");
	if ((rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = registry_new(&reg)) != 0) {
		rc = cli_fail(cmd, "cannot make a registry: %s", os_strerror(rc));
		goto out;
	}
	reg->expires_ms = expires;
	if ((prefix != NULL && (rc = registry_set_prefix(reg, prefix)) != 0) ||
	    (hub != NULL && (rc = registry_set_hub(reg, hub)) != 0)) {
		rc = cli_fail(cmd, "cannot make the registry: %s", os_strerror(rc));
		goto out;
	}
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
	node->n_province_topics = cli_all(a, "province-topic", node->province_topics);
	for (size_t i = 0; i < node->n_province_topics; i++) {
		if (node->province_topics[i][0] == '@')
			node->province_topics[i]++;
		if (os_name_valid(node->province_topics[i]) != 0)
			return cli_usage(cmd, "bad topic '%s'", node->province_topics[i]);
	}
	node->n_publish = cli_all(a, "publish", node->publish);
	for (size_t i = 0; i < node->n_publish; i++)
		if (os_name_valid(node->publish[i]) != 0)
			return cli_usage(cmd, "bad dataset name '%s'", node->publish[i]);
	if (node->n_topics > REG_MAX_LIST || node->n_types > REG_MAX_LIST ||
	    node->n_publish > REG_MAX_LIST || node->n_province_topics > REG_MAX_LIST)
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

	/* One array holds the five lists, each with room for every option
	 * given (plus the default "*"). */
	lists = calloc(5 * (a->n + 1), sizeof(*lists));
	if (lists == NULL)
		return cli_fail(cmd, "out of memory");
	node.topics = lists + (a->n + 1);
	node.allowed_types = lists + 2 * (a->n + 1);
	node.publish = lists + 3 * (a->n + 1);
	node.province_topics = lists + 4 * (a->n + 1);
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
	if (rc == OS_ENAME) {
		rc = cli_fail(cmd,
			      "node %s lies outside %s's prefix '%s' (ENAME): a delegated "
			      "registry names only nodes of its subtree",
			      name, path, reg->prefix);
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
	if ((rc = registry_set_dataset(reg, name, mode)) == OS_ENAME) {
		rc = cli_fail(cmd, "dataset %s lies outside %s's prefix '%s' (ENAME)", name, path,
			      reg->prefix);
		goto out;
	}
	if (rc != 0) {
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

/* The province root's public key: --pub FILE (onestop keygen's .pub) or
 * --key-hex 64HEX. CLI_OK, CLI_USAGE or CLI_ERR. */
static int regcmd_root_pub(const struct cli_cmd *cmd, const struct cli_args *a, os_sign_pk pk)
{
	const char *pub = cli_get(a, "pub"), *hex = cli_get(a, "key-hex");
	os_box_pk unused;
	if ((pub == NULL) == (hex == NULL))
		return cli_usage(cmd, "give the delegated root's public key: --pub ROOT.pub or "
				      "--key-hex HEX");
	if (hex != NULL) {
		if (strlen(hex) != 2 * sizeof(os_sign_pk) ||
		    os_unhex(pk, sizeof(os_sign_pk), hex) != 0)
			return cli_usage(cmd, "--key-hex needs a sign_public: 64 hex chars");
		return CLI_OK;
	}
	int rc = crypto_pubfile_read(pub, pk, unused);
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read %s", pub);
	if (rc != 0)
		return cli_fail(cmd, "%s is not a public key file: %s", pub, os_strerror(rc));
	return CLI_OK;
}

static int regcmd_delegate(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	os_sign_pk pk;
	uint64_t now = os_now_ms(), expires = 0;
	int rc;

	memset(&root, 0, sizeof(root));
	const char *key = cli_need(cmd, a, "root-key");
	const char *path = key ? cli_need(cmd, a, "registry") : NULL;
	const char *prefix = path ? cli_need(cmd, a, "prefix") : NULL;
	const char *hub = prefix ? cli_need(cmd, a, "hub") : NULL;
	if (hub == NULL)
		return CLI_USAGE;
	if (os_name_valid(prefix) != 0)
		return cli_usage(cmd, "bad --prefix '%s' (a node name, e.g. gd)", prefix);
	if (os_name_valid(hub) != 0)
		return cli_usage(cmd, "bad --hub '%s' (a node name, e.g. %s.hub)", hub, prefix);
	if (cli_has(a, "valid-days") && (rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if (crypto_setup() != 0)
		return cli_fail(cmd, "cannot initialise the crypto library");
	if ((rc = regcmd_root_pub(cmd, a, pk)) != CLI_OK)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = regcmd_load(cmd, path, &root, &reg)) != CLI_OK)
		goto out;
	for (size_t i = 0; i < reg->n_delegations; i++) {
		const struct reg_delegation *d = &reg->delegations[i];
		if (strcmp(d->prefix, prefix) == 0 && strcmp(d->hub, hub) == 0 &&
		    memcmp(d->root_pk, pk, sizeof(pk)) == 0 && expires == 0) {
			printf("%s is already delegated so; %s unchanged\n", prefix, path);
			rc = CLI_OK;
			goto out;
		}
	}
	rc = registry_delegate(reg, prefix, pk, hub);
	if (rc == OS_ENAME) {
		rc = cli_fail(cmd,
			      "cannot delegate %s: it must lie strictly inside %s's prefix '%s', "
			      "and its hub %s inside %s (ENAME)",
			      prefix, path, reg->prefix, hub, prefix);
		goto out;
	}
	if (rc == OS_ECONFLICT) {
		rc = cli_fail(cmd, "cannot delegate %s: it overlaps another delegation of %s",
			      prefix, path);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cmd, "cannot delegate %s: %s", prefix, os_strerror(rc));
		goto out;
	}
	if (registry_find(reg, hub) == NULL)
		fprintf(stderr,
			"onestop %s: note: hub %s is not a node of %s; the hub it connects to "
			"must know it (add it with --role hub to the registry above it)\n",
			cmd->name, hub, path);
	if (expires != 0)
		reg->expires_ms = expires;
	rc = regcmd_save(cmd, reg, path, &root, now, 0);
out:
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	return rc;
}

static int regcmd_undelegate(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair root;
	struct registry *reg = NULL;
	uint64_t now = os_now_ms(), expires = 0;
	int rc;

	memset(&root, 0, sizeof(root));
	const char *key = cli_need(cmd, a, "root-key");
	const char *path = key ? cli_need(cmd, a, "registry") : NULL;
	const char *prefix = path ? cli_need(cmd, a, "prefix") : NULL;
	if (prefix == NULL)
		return CLI_USAGE;
	if (cli_has(a, "valid-days") && (rc = regcmd_days(cmd, a, now, &expires)) != 0)
		return rc;
	if ((rc = regcmd_read_root(cmd, key, &root)) != CLI_OK)
		goto out;
	if ((rc = regcmd_load(cmd, path, &root, &reg)) != CLI_OK)
		goto out;
	rc = registry_undelegate(reg, prefix);
	if (rc == OS_ENOTFOUND) {
		rc = cli_fail(cmd, "no delegation of %s in %s", prefix, path);
		goto out;
	}
	if (rc != 0) {
		rc = cli_fail(cmd, "cannot undelegate %s: %s", prefix, os_strerror(rc));
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

static void regcmd_print_list(const char *key, char *const *items, size_t n)
{
	printf(" %s=", key);
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? "," : "", items[i]);
}

/* The --part files of show and verify. */
struct regcmd_part {
	const char *path;
	uint8_t *buf;
	size_t len;
	char prefix[256];
	uint64_t version;
	int done;
};

static void regcmd_parts_free(struct regcmd_part *p, size_t n)
{
	if (p == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(p[i].buf);
	free(p);
}

/* Read every --part file: each a delegated registry alone. */
static int regcmd_parts_read(const struct cli_cmd *cmd, const struct cli_args *a,
			     struct regcmd_part **out, size_t *n)
{
	char **paths = calloc(a->n + 1, sizeof(*paths));
	struct regcmd_part *p = calloc(a->n + 1, sizeof(*p));
	int rc = CLI_OK;
	*out = NULL;
	*n = 0;
	if (paths == NULL || p == NULL) {
		free(paths);
		free(p);
		return cli_fail(cmd, "out of memory");
	}
	size_t np = cli_all(a, "part", paths);
	for (size_t i = 0; i < np; i++) {
		struct registry *r = NULL;
		p[i].path = paths[i];
		int e = os_read_file(paths[i], REG_MAX_BYTES, &p[i].buf, &p[i].len);
		if (e != 0) {
			rc = cli_fail(cmd, "cannot read %s", paths[i]);
			break;
		}
		e = registry_parse(p[i].buf, p[i].len, NULL, 0, &r);
		if (e == 0 && r->prefix[0] == '\0')
			e = OS_EINVAL;
		if (e != 0) {
			registry_free(&r);
			rc = cli_fail(cmd, "%s is not a delegated registry: %s", paths[i],
				      os_strerror(e));
			break;
		}
		snprintf(p[i].prefix, sizeof(p[i].prefix), "%s", r->prefix);
		p[i].version = r->version;
		registry_free(&r);
	}
	free(paths);
	if (rc != CLI_OK) {
		regcmd_parts_free(p, np);
		return rc;
	}
	*out = p;
	*n = np;
	return CLI_OK;
}

/* Offer the parts to the chain *reg, in whatever order they resolve (a
 * city's part after its province's). A part that is refused, or that no
 * delegation names, fails with the reason. */
static int regcmd_parts_adopt(const struct cli_cmd *cmd, struct registry **reg,
			      struct regcmd_part *p, size_t n, uint64_t now)
{
	size_t left = n;
	for (;;) {
		size_t before = left;
		for (size_t i = 0; i < n; i++) {
			if (p[i].done)
				continue;
			int rc = registry_adopt_part(reg, p[i].buf, p[i].len, now);
			if (rc == OS_ENOTALLOWED)
				continue;
			if (rc == OS_EBADSIG)
				return cli_fail(cmd,
						"part %s (prefix %s) is not signed by the root key "
						"its delegation names",
						p[i].path, p[i].prefix);
			if (rc == OS_ENAME)
				return cli_fail(
					cmd,
					"part %s names a node, dataset or delegation outside "
					"its prefix %s (ENAME)",
					p[i].path, p[i].prefix);
			if (rc == OS_EEXIST)
				return cli_fail(
					cmd,
					"part %s (prefix %s) names a node, dataset or "
					"delegation another registry of the chain has (EEXIST)",
					p[i].path, p[i].prefix);
			if (rc == OS_EEXPIRED)
				return cli_fail(cmd, "part %s (prefix %s) has expired", p[i].path,
						p[i].prefix);
			if (rc < 0)
				return cli_fail(cmd, "part %s (prefix %s) is refused: %s",
						p[i].path, p[i].prefix, os_strerror(rc));
			if (rc == 0)
				fprintf(stderr,
					"onestop %s: note: part %s (prefix %s) version %llu is "
					"not newer than the chain's; the chain's is kept\n",
					cmd->name, p[i].path, p[i].prefix,
					(unsigned long long)p[i].version);
			p[i].done = 1;
			left--;
		}
		if (left == 0)
			return CLI_OK;
		if (left == before)
			break;
	}
	for (size_t i = 0; i < n; i++)
		if (!p[i].done)
			return cli_fail(cmd,
					"part %s (prefix %s): no registry of the chain delegates "
					"%s (ENOTALLOWED)",
					p[i].path, p[i].prefix, p[i].prefix);
	return CLI_ERR;
}

/* Check each part of reg from the anchor down: the national one under the
 * anchor, each delegated one under the key of its delegation. sig[i] gets
 * "verified", "BAD" or "undelegated"; returns 1 when all verified. */
static int regcmd_check_parts(const struct registry *reg, const os_sign_pk anchor, const char **sig)
{
	struct registry *v = NULL;
	int all = 1;
	for (size_t i = 0; i < reg->n_parts; i++)
		sig[i] = NULL;
	int rc =
		registry_parse(reg->parts[0].signed_bytes, reg->parts[0].signed_len, anchor, 0, &v);
	sig[0] = rc == 0 || (rc == OS_ENOTALLOWED && reg->n_parts == 1) ? "verified" : "BAD";
	if (rc != 0) {
		for (size_t i = 1; i < reg->n_parts; i++)
			sig[i] = "not checked";
		return rc == OS_ENOTALLOWED && reg->n_parts == 1;
	}
	/* Offer the parts until none more resolves (a city after its
	 * province). */
	for (int progress = 1; progress;) {
		progress = 0;
		for (size_t i = 1; i < reg->n_parts; i++) {
			if (sig[i] != NULL)
				continue;
			rc = registry_adopt_part(&v, reg->parts[i].signed_bytes,
						 reg->parts[i].signed_len, 0);
			if (rc == OS_ENOTALLOWED)
				continue;
			sig[i] = rc >= 0 ? "verified" : "BAD";
			all = all && rc >= 0;
			progress = 1;
		}
	}
	for (size_t i = 1; i < reg->n_parts; i++) {
		if (sig[i] == NULL) {
			sig[i] = "undelegated";
			all = 0;
		}
	}
	registry_free(&v);
	return all;
}

static int regcmd_show(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct registry *reg = NULL;
	struct regcmd_part *parts = NULL;
	size_t n_parts = 0;
	const char **psig = NULL;
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
	/* Every refusal is said below, in words: no log lines. */
	os_log_set_level(OS_LOG_ERROR);

	/* Parse without the anchor first so a registry that fails the check
	 * can still be shown; then check it. */
	rc = registry_load(path, NULL, 0, &reg);
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read %s", path);
	if (rc != 0)
		return cli_fail(cmd, "%s is not a valid registry: %s", path, os_strerror(rc));
	if ((rc = regcmd_parts_read(cmd, a, &parts, &n_parts)) != CLI_OK)
		goto out;
	if (n_parts > 0 && reg->prefix[0] != '\0') {
		rc = cli_fail(cmd,
			      "--part needs the national registry as --registry (%s is "
			      "the delegated registry of %s)",
			      path, reg->prefix);
		goto out;
	}
	if ((rc = regcmd_parts_adopt(cmd, &reg, parts, n_parts, 0)) != CLI_OK)
		goto out;
	psig = calloc(reg->n_parts + 1, sizeof(*psig));
	if (psig == NULL) {
		rc = cli_fail(cmd, "out of memory");
		goto out;
	}
	const char *sig = "not checked";
	int bad_sig = 0;
	for (size_t i = 0; i < reg->n_parts; i++)
		psig[i] = "not checked";
	if (anchor_hex != NULL) {
		bad_sig = !regcmd_check_parts(reg, anchor, psig);
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
	if (reg->prefix[0] != '\0')
		printf("prefix=%s\n", reg->prefix);
	if (reg->hub[0] != '\0')
		printf("hub=%s\n", reg->hub);
	if (reg->n_parts > 1 || reg->n_delegations > 0) {
		printf("parts=%zu\n", reg->n_parts);
		for (size_t i = 0; i < reg->n_parts; i++) {
			const struct reg_part *p = &reg->parts[i];
			char pe[OS_ISO_TIME_MAX];
			os_iso_time(pe, p->expires_ms);
			printf("part=%s version=%llu expires=%s%s signer=%s\n",
			       p->prefix[0] ? p->prefix : "national",
			       (unsigned long long)p->version, pe,
			       p->expires_ms <= now ? " EXPIRED" : "", psig[i]);
		}
	}
	for (size_t i = 0; i < reg->n_delegations; i++) {
		const struct reg_delegation *d = &reg->delegations[i];
		os_hex(sh, d->root_pk, sizeof(os_sign_pk));
		printf("delegation=%s hub=%s by=%s root_pk=%s\n", d->prefix, d->hub,
		       d->by[0] ? d->by : "national", sh);
	}
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
		if (n->n_province_topics > 0)
			regcmd_print_list("province_topics", n->province_topics,
					  n->n_province_topics);
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
		if (d->scope != NULL && d->scope[0] != '\0')
			printf(" scope=%s", d->scope);
		if (d->sequencer != NULL && d->sequencer[0] != '\0')
			printf(" sequencer=%s", d->sequencer);
		putchar('\n');
	}
	rc = CLI_OK;
	if (bad_sig)
		rc = cli_fail(cmd, "%s: the signature does not verify under the anchor", path);
	if (expired)
		rc = cli_fail(cmd, "%s expired at %s", path, expires);
out:
	free(psig);
	regcmd_parts_free(parts, n_parts);
	registry_free(&reg);
	return rc;
}

static int regcmd_verify(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct registry *reg = NULL;
	struct regcmd_part *parts = NULL;
	size_t n_parts = 0;
	os_sign_pk anchor;
	char exp[OS_ISO_TIME_MAX];
	int rc;

	const char *path = cli_need(cmd, a, "registry");
	const char *anchor_hex = path ? cli_need(cmd, a, "anchor") : NULL;
	if (anchor_hex == NULL)
		return CLI_USAGE;
	if (strlen(anchor_hex) != 2 * sizeof(anchor) ||
	    os_unhex(anchor, sizeof(anchor), anchor_hex) != 0)
		return cli_usage(cmd, "--anchor needs the root's sign_public: 64 hex chars");
	if (crypto_setup() != 0)
		return cli_fail(cmd, "cannot initialise the crypto library");
	os_log_set_level(OS_LOG_ERROR);
	uint64_t now = os_now_ms();
	rc = registry_load(path, anchor, now, &reg);
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read %s", path);
	if (rc == OS_EBADSIG)
		return cli_fail(cmd, "%s is not signed by the anchor (signature does not verify)",
				path);
	if (rc == OS_ENOTALLOWED)
		return cli_fail(cmd,
				"%s is refused under the anchor: a delegated registry alone, or a "
				"chain with a part no registry delegates (ENOTALLOWED); verify "
				"the national registry with --part FILE for each delegated one",
				path);
	if (rc == OS_EEXPIRED)
		return cli_fail(cmd, "%s (or a part of its chain) has expired", path);
	if (rc != 0)
		return cli_fail(cmd, "%s is refused: %s (%s)", path, os_strerror(rc),
				os_errname(rc));
	if ((rc = regcmd_parts_read(cmd, a, &parts, &n_parts)) != CLI_OK)
		goto out;
	if ((rc = regcmd_parts_adopt(cmd, &reg, parts, n_parts, now)) != CLI_OK)
		goto out;
	os_iso_time(exp, reg->expires_ms);
	printf("chain ok version=%llu parts=%zu nodes=%zu datasets=%zu delegations=%zu "
	       "expires=%s\n",
	       (unsigned long long)reg->version, reg->n_parts, reg->n_nodes, reg->n_datasets,
	       reg->n_delegations, exp);
	rc = CLI_OK;
out:
	regcmd_parts_free(parts, n_parts);
	registry_free(&reg);
	return rc;
}

static const struct cli_opt regcmd_init_opts[] = {
	{"root-key", CLI_ARG, 0}, {"out", CLI_ARG, 0}, {"valid-days", CLI_ARG, 0},
	{"prefix", CLI_ARG, 0},   {"hub", CLI_ARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_add_opts[] = {
	{"root-key", CLI_ARG, 0},   {"registry", CLI_ARG, 0},       {"name", CLI_ARG, 0},
	{"pub", CLI_ARG, 0},        {"role", CLI_ARG, 1},           {"topic", CLI_ARG, 1},
	{"allow-type", CLI_ARG, 1}, {"publish", CLI_ARG, 1},        {"key-version", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0}, {"province-topic", CLI_ARG, 1}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_delegate_opts[] = {
	{"root-key", CLI_ARG, 0},   {"registry", CLI_ARG, 0}, {"prefix", CLI_ARG, 0},
	{"pub", CLI_ARG, 0},        {"key-hex", CLI_ARG, 0},  {"hub", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_undelegate_opts[] = {
	{"root-key", CLI_ARG, 0},   {"registry", CLI_ARG, 0}, {"prefix", CLI_ARG, 0},
	{"valid-days", CLI_ARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt regcmd_verify_opts[] = {
	{"registry", CLI_ARG, 0},
	{"anchor", CLI_ARG, 0},
	{"part", CLI_ARG, 1},
	{NULL, CLI_NOARG, 0},
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
	{"part", CLI_ARG, 1},
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
	"         [--prefix P | --hub NAME]\n"
	"\n"
	"Create a new registry with no nodes, version 1, signed with the root key\n"
	"K, valid for D days (default 365), and write it to R (mode 0644).\n"
	"Refuses to replace an existing R. With --prefix it is the delegated\n"
	"registry of the subtree P (every node and dataset it names lies in P),\n"
	"signed by the key the registry above delegated P to. With --hub it is\n"
	"the national registry of a federation whose national hub is NAME.\n"
	"\n"
	"Options:\n"
	"  --root-key K      the root key file (onestop keygen) (required)\n"
	"  --out R           the registry file to create (required)\n"
	"  --valid-days D    days until it expires, 1..36500 (default 365)\n"
	"  --prefix P        a delegated registry: the subtree P, e.g. gd\n"
	"  --hub NAME        the national hub's node name (national registry)\n",
	regcmd_init_opts,
	regcmd_init,
	0,
};

static const struct cli_cmd regcmd_add_cmd = {
	"registry add",
	"admit a node",
	"Usage: onestop registry add --root-key K --registry R --name N --pub P.pub\n"
	"         [--role ROLE]... [--topic T]... [--allow-type T]... [--publish D]...\n"
	"         [--province-topic T]... [--key-version V] [--valid-days D]\n"
	"\n"
	"Add node N, active, with the public keys of P.pub (onestop keygen). In a\n"
	"delegated registry N must lie in its prefix (else ENAME).\n" REGCMD_EDIT_NOTE "\n"
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
	"  --province-topic T  a topic heard only from nodes of its own province;\n"
	"                    repeatable\n"
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
	"Usage: onestop registry show --registry R [--anchor HEX] [--part FILE]...\n"
	"\n"
	"Print the registry (with --part: the chain of the national registry R\n"
	"and the delegated registries FILE, merged) as key=value lines:\n"
	"  registry=R\n"
	"  version=N\n"
	"  issued=ISO-8601 UTC\n"
	"  expires=ISO-8601 UTC, followed by \" EXPIRED\" once it has expired\n"
	"  signature=verified | BAD | not checked (without --anchor)\n"
	"  nodes=N\n"
	"  datasets=N\n"
	"  prefix=P                 (a delegated registry)\n"
	"  hub=NAME                 (a national registry naming its hub)\n"
	"  parts=N                  (with delegations) then per registry of the chain:\n"
	"  part=national|P version=V expires=T signer=verified|BAD|undelegated|not checked\n"
	"then one line per delegation:\n"
	"  delegation=P hub=H by=national|Q root_pk=HEX\n"
	"one line per node:\n"
	"  name=N roles=R,.. status=S key_version=V sign_pk=HEX box_pk=HEX\n"
	"  topics=T,.. allowed_types=T,.. publish=D,.. [province_topics=T,..]\n"
	"and one line per dataset:\n"
	"  dataset=D mode=full|cached publishers=N,.. [scope=P] [sequencer=H]\n"
	"Exits 1 (after printing) when a signature is BAD or the registry expired.\n"
	"\n"
	"Options:\n"
	"  --registry R      the registry file (required)\n"
	"  --anchor HEX      the trust anchor (the root key's sign_public, 64 hex)\n"
	"                    to check the signatures against: the national one\n"
	"                    under it, each delegated one under its delegation's key\n"
	"  --part FILE       a delegated registry of the chain; repeatable\n",
	regcmd_show_opts,
	regcmd_show,
	0,
};

static const struct cli_cmd regcmd_delegate_cmd = {
	"registry delegate",
	"delegate a subtree to another root key",
	"Usage: onestop registry delegate --root-key K --registry R --prefix P\n"
	"         (--pub ROOT.pub | --key-hex HEX) --hub H [--valid-days D]\n"
	"\n"
	"Delegate the subtree P (strictly inside R's own prefix) to the root key\n"
	"whose public key is in ROOT.pub (onestop keygen) or given as HEX: the\n"
	"registry of P is signed by it and its hub H (a node name inside P)\n"
	"serves P. Delegating P again replaces its key and hub. P may not\n"
	"overlap another delegation of R.\n" REGCMD_EDIT_NOTE "\n"
	"Options:\n"
	"  --root-key K      the root key file of R (required)\n"
	"  --registry R      the registry file to change (required)\n"
	"  --prefix P        the subtree, e.g. gd (required)\n"
	"  --pub ROOT.pub    the delegated root's public key file\n"
	"  --key-hex HEX     or its sign_public, 64 hex\n"
	"  --hub H           the hub serving P, e.g. gd.hub (required)\n"
	"  --valid-days D    also renew: expire D days from now (default: keep the expiry)\n",
	regcmd_delegate_opts,
	regcmd_delegate,
	0,
};

static const struct cli_cmd regcmd_undelegate_cmd = {
	"registry undelegate",
	"withdraw a delegation",
	"Usage: onestop registry undelegate --root-key K --registry R --prefix P\n"
	"         [--valid-days D]\n"
	"\n"
	"Withdraw the delegation of P: its registry (and those it delegates) no\n"
	"longer belongs to the chain.\n" REGCMD_EDIT_NOTE "\n"
	"Options:\n"
	"  --root-key K      the root key file of R (required)\n"
	"  --registry R      the registry file to change (required)\n"
	"  --prefix P        the delegated subtree (required)\n"
	"  --valid-days D    also renew: expire D days from now (default: keep the expiry)\n",
	regcmd_undelegate_opts,
	regcmd_undelegate,
	0,
};

static const struct cli_cmd regcmd_verify_cmd = {
	"registry verify",
	"verify a chain of registries from the anchor",
	"Usage: onestop registry verify --anchor HEX --registry R [--part FILE]...\n"
	"\n"
	"Verify the national registry R under the anchor and each delegated\n"
	"registry FILE under the key its delegation names, with every name of\n"
	"a part inside its prefix, names unique across the chain and nothing\n"
	"expired. Prints\n"
	"  chain ok version=N parts=N nodes=N datasets=N delegations=N expires=T\n"
	"and exits 0, or says why the chain is refused and exits 1.\n"
	"\n"
	"Options:\n"
	"  --anchor HEX      the national root's sign_public, 64 hex (required)\n"
	"  --registry R      the national registry file (required)\n"
	"  --part FILE       a delegated registry; repeatable, any order\n",
	regcmd_verify_opts,
	regcmd_verify,
	0,
};

const struct cli_cmd *const cli_registry_cmds[] = {
	&regcmd_init_cmd,     &regcmd_add_cmd,     &regcmd_revoke_cmd,   &regcmd_suspend_cmd,
	&regcmd_activate_cmd, &regcmd_dataset_cmd, &regcmd_delegate_cmd, &regcmd_undelegate_cmd,
	&regcmd_sign_cmd,     &regcmd_show_cmd,    &regcmd_verify_cmd,   NULL,
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
	"  delegate   delegate a subtree to another root key\n"
	"  undelegate withdraw a delegation\n"
	"  sign       re-sign (renew) a registry\n"
	"  show       print a registry (or a chain)\n"
	"  verify     verify a chain of registries from the anchor\n"
	"\n"
	"See 'onestop registry VERB --help'.\n";
