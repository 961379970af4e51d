/* Integration test harness, networks: a hub and spokes made in a fresh
 * directory with the real CLI (keys, signed registry, config files). */
#include "harness.h"
#include "harness_int.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ONESTOP_BIN_DIR
#define ONESTOP_BIN_DIR "."
#endif

/* Run `onestop keygen --out path`; anchor (may be NULL) gets sign_public. */
int net_keygen(struct net *n, const char *path, char *sign_pub_hex)
{
	struct cmd_out r;
	int rc = net_cli(n, &r, "keygen", "--out", path, NULL);
	const char *s;

	if (rc != 0) {
		fprintf(stderr, "  onestop keygen --out %s: exit %d: %s\n", path, rc, r.err);
		cmd_out_free(&r);
		return -1;
	}
	if (sign_pub_hex) {
		s = strstr(r.out, "sign_public=");
		if (!s || strspn(s + 12, "0123456789abcdefABCDEF") < 64) {
			fprintf(stderr, "  keygen printed no sign_public=HEX: %s\n", r.out);
			cmd_out_free(&r);
			return -1;
		}
		memcpy(sign_pub_hex, s + 12, 64);
		sign_pub_hex[64] = '\0';
	}
	cmd_out_free(&r);
	return 0;
}

int net_registry_add(struct net *n, struct net_proc *p, const struct net_node_opts *o)
{
	const char *argv[CLI_MAX_ARGS + 2];
	char prog[H_PATH + 32], pub[H_PATH + 8];
	struct cmd_out r;
	size_t k = 0;
	int rc;

	snprintf(prog, sizeof prog, "%s/onestop", n->bin);
	snprintf(pub, sizeof pub, "%s.pub", p->reg_key);
	argv[k++] = prog;
	argv[k++] = "registry";
	argv[k++] = "add";
	argv[k++] = "--root-key";
	argv[k++] = n->root_key;
	argv[k++] = "--registry";
	argv[k++] = n->registry;
	argv[k++] = "--name";
	argv[k++] = p->name;
	argv[k++] = "--pub";
	argv[k++] = pub;
	for (int i = 0; o && i < NET_MAX_LIST; i++) {
		if (o->roles[i]) {
			argv[k++] = "--role";
			argv[k++] = o->roles[i];
		}
		if (o->topics[i]) {
			argv[k++] = "--topic";
			argv[k++] = o->topics[i];
		}
		if (o->allow_types[i]) {
			argv[k++] = "--allow-type";
			argv[k++] = o->allow_types[i];
		}
		if (o->publish[i]) {
			argv[k++] = "--publish";
			argv[k++] = o->publish[i];
		}
	}
	argv[k] = NULL;
	rc = cmd_run(argv, NULL, 0, h_ms(60000), &r);
	{
		char logpath[H_PATH + 16], line[512];

		snprintf(logpath, sizeof logpath, "%s/cli.log", n->dir);
		snprintf(line, sizeof line, "$ onestop registry add --name %s (exit %d)\n", p->name,
			 rc == 0 ? r.code : -1);
		append_text(logpath, line, strlen(line));
		append_text(logpath, r.err, r.err_len);
	}
	if (rc != 0 || r.code != 0) {
		fprintf(stderr, "  onestop registry add --name %s failed (exit %d): %s\n", p->name,
			r.code, r.err);
		cmd_out_free(&r);
		return -1;
	}
	cmd_out_free(&r);
	snprintf(p->status, sizeof p->status, "active");
	return 0;
}

uint64_t net_registry_version(struct net *n)
{
	struct cmd_out r;
	uint64_t v = 0;
	const char *s;

	if (net_cli(n, &r, "registry", "show", "--registry", n->registry, NULL) == 0 &&
	    (s = strstr(r.out, "\nversion=")) != NULL)
		v = strtoull(s + 9, NULL, 10);
	cmd_out_free(&r);
	return v;
}

/* Write an INI file from defaults with overrides applied (same key
 * replaces, NULL value removes, new keys appended). */
int net_conf_write(const char *path, const struct net_kv *defs, size_t n_defs,
		   const struct net_kv *over)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "# written by the integration harness\n");
	for (size_t i = 0; i < n_defs; i++) {
		const char *v = defs[i].value;

		for (int j = 0; over && j < NET_MAX_CONF && over[j].key; j++)
			if (strcmp(over[j].key, defs[i].key) == 0)
				v = over[j].value;
		if (v)
			fprintf(f, "%s = %s\n", defs[i].key, v);
	}
	for (int j = 0; over && j < NET_MAX_CONF && over[j].key; j++) {
		int known = 0;

		for (size_t i = 0; i < n_defs; i++)
			if (strcmp(over[j].key, defs[i].key) == 0)
				known = 1;
		if (!known && over[j].value)
			fprintf(f, "%s = %s\n", over[j].key, over[j].value);
	}
	return fclose(f) == 0 ? 0 : -1;
}

void net_proc_init(struct net *n, struct net_proc *p, const char *name, int is_hub)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->status, sizeof p->status, "active");
	p->is_hub = is_hub;
	p->last_status = -1;
	p->expect_dead = 1;
	snprintf(p->log, sizeof p->log, "%s/%s.log", n->dir, name);
	snprintf(p->reg_key, sizeof p->reg_key, "%s/keys/%s.key", n->dir, name);
	snprintf(p->key, sizeof p->key, "%s", p->reg_key);
	snprintf(p->data_dir, sizeof p->data_dir, "%s/data-%s", n->dir, name);
	if (is_hub)
		snprintf(p->conf, sizeof p->conf, "%s/hub.conf", n->dir);
	else
		snprintf(p->conf, sizeof p->conf, "%s/spoke-%s.conf", n->dir, name);
	if (!is_hub)
		snprintf(p->api, sizeof p->api, "ipc://%s/%s.sock", n->dir, name);
}

struct net *net_make(size_t n_spokes, const struct net_opts *opts)
{
	static const struct net_opts no_opts;
	struct net *n = calloc(1, sizeof *n);
	const char *bin = getenv("ONESTOP_BIN_DIR");
	const char *lvl;
	char path[H_PATH + 16], mapsz[16] = "256";
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	if (!n) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	if (!opts)
		opts = &no_opts;
	lvl = opts->log_level ? opts->log_level : "info";
	if (n_spokes > NET_MAX_SPOKES) {
		fprintf(stderr, "too many spokes\n");
		exit(1);
	}
	snprintf(n->bin, sizeof n->bin, "%s", bin && *bin ? bin : ONESTOP_BIN_DIR);
	/* $TMPDIR places the daemons' stores (e.g. on a tmpfs, to see what
	 * the disk costs a benchmark); /tmp by default. */
	const char *tmp = getenv("TMPDIR");
	snprintf(n->dir, sizeof n->dir, "%s/onestop-it-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(n->dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	net_register(n);
	fprintf(stderr, "  network in %s (binaries from %s)\n", n->dir, n->bin);
	for (int i = 0; i < 3; i++) {
		static const char *const progs[] = {"onestop", "onestop-hub", "onestop-spoke"};

		snprintf(path, sizeof path, "%s/%s", n->bin, progs[i]);
		H_REQUIRE(n, stat(path, &st) == 0 && (st.st_mode & S_IXUSR), "binary %s exists",
			  path);
	}
	n->port = free_port();
	H_REQUIRE(n, n->port > 0, "found a free port (%d)", n->port);
	snprintf(n->hub_endpoint, sizeof n->hub_endpoint, "tcp://127.0.0.1:%d", n->port);
	snprintf(path, sizeof path, "%s/keys", n->dir);
	mkdir(path, 0700);
	snprintf(n->root_key, sizeof n->root_key, "%s/keys/root.key", n->dir);
	snprintf(n->registry, sizeof n->registry, "%s/registry.bin", n->dir);

	net_proc_init(n, &n->hub, "hub", 1);
	n->n_spokes = n_spokes;
	for (size_t i = 0; i < n_spokes; i++) {
		char def[8];

		snprintf(def, sizeof def, "%c", (char)('a' + i));
		net_proc_init(n, &n->spoke[i], opts->spoke[i].name ? opts->spoke[i].name : def, 0);
	}

	H_REQUIRE(n, net_keygen(n, n->root_key, n->anchor) == 0, "root key made");
	H_REQUIRE(n, net_keygen(n, n->hub.reg_key, NULL) == 0, "hub key made");
	H_REQUIRE(n,
		  net_cli(n, NULL, "registry", "init", "--root-key", n->root_key, "--out",
			  n->registry, NULL) == 0,
		  "registry init");
	for (int i = 0; i < NET_MAX_DATASETS && opts->datasets[i].name; i++) {
		const struct net_dataset *d = &opts->datasets[i];
		const char *mode = d->mode ? d->mode : "full";

		H_REQUIRE(n,
			  net_cli(n, NULL, "registry", "dataset", "--root-key", n->root_key,
				  "--registry", n->registry, "--name", d->name, "--mode", mode,
				  NULL) == 0,
			  "registry dataset %s --mode %s", d->name, mode);
	}
	{
		struct net_node_opts hub_o;

		memset(&hub_o, 0, sizeof hub_o);
		hub_o.roles[0] = "hub";
		H_REQUIRE(n, net_registry_add(n, &n->hub, &hub_o) == 0, "hub registered");
	}
	for (size_t i = 0; i < n_spokes; i++) {
		const struct net_node_opts *o = &opts->spoke[i];
		struct net_proc *p = &n->spoke[i];
		const char *status = o->status ? o->status : "active";

		H_REQUIRE(n, net_keygen(n, p->reg_key, NULL) == 0, "key for %s made", p->name);
		snprintf(p->status, sizeof p->status, "%s", status);
		p->foreign_key = o->foreign_key;
		if (o->foreign_key) {
			char nm[64];

			snprintf(nm, sizeof nm, "%s", p->name);
			snprintf(p->key, sizeof p->key, "%s/keys/%s-foreign.key", n->dir, nm);
			H_REQUIRE(n, net_keygen(n, p->key, NULL) == 0, "foreign key for %s",
				  p->name);
		}
		if (strcmp(status, "absent") == 0)
			continue;
		H_REQUIRE(n, net_registry_add(n, p, o) == 0, "%s registered", p->name);
		if (strcmp(status, "revoked") == 0 || strcmp(status, "suspended") == 0) {
			const char *verb = status[0] == 'r' ? "revoke" : "suspend";

			H_REQUIRE(n,
				  net_cli(n, NULL, "registry", verb, "--root-key", n->root_key,
					  "--registry", n->registry, "--name", p->name, NULL) == 0,
				  "registry %s %s", verb, p->name);
		}
	}

	{
		const struct net_kv defs[] = {
			{"name", "hub"},
			{"key", n->hub.key},
			{"registry", n->registry},
			{"trust_anchor", n->anchor},
			{"listen", n->hub_endpoint},
			{"data_dir", n->hub.data_dir},
			{"map_size_mb", mapsz},
			{"heartbeat_ms", "200"},
			{"log_level", lvl},
		};

		mkdir(n->hub.data_dir, 0700);
		H_REQUIRE(n,
			  net_conf_write(n->hub.conf, defs, sizeof defs / sizeof defs[0],
					 opts->hub_conf) == 0,
			  "wrote %s", n->hub.conf);
	}
	for (size_t i = 0; i < n_spokes; i++) {
		struct net_proc *p = &n->spoke[i];
		const struct net_kv defs[] = {
			{"name", p->name},
			{"key", p->key},
			{"registry", n->registry},
			{"trust_anchor", n->anchor},
			{"hub_endpoint", n->hub_endpoint},
			{"hub_name", "hub"},
			{"api", p->api},
			{"data_dir", p->data_dir},
			{"map_size_mb", mapsz},
			{"heartbeat_ms", "200"},
			{"reconnect_min_ms", "50"},
			{"reconnect_max_ms", "500"},
			{"log_level", lvl},
		};

		mkdir(p->data_dir, 0700);
		H_REQUIRE(n,
			  net_conf_write(p->conf, defs, sizeof defs / sizeof defs[0],
					 opts->spoke[i].conf) == 0,
			  "wrote %s", p->conf);
	}
	return n;
}

struct net_proc *net_spoke(struct net *n, const char *name)
{
	for (size_t i = 0; i < n->n_spokes; i++)
		if (strcmp(n->spoke[i].name, name) == 0)
			return &n->spoke[i];
	return NULL;
}
