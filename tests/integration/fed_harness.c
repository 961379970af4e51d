/* Federated test networks (fed_harness.h): the national hub, province hubs
 * and spokes, their keys, the national and the delegated registries made
 * with the real CLI, their configs, and starting them in order. */
#include "fed_harness.h"
#include "harness_int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ONESTOP_BIN_DIR
#define ONESTOP_BIN_DIR "."
#endif

static const char *const fed_default_names[FED_MAX_PROV] = {"gd", "sc", "hb", "zj"};

/* The options of node name in opts, or NULL. */
static const struct fed_node_opts *fed_node_opts(const struct fed_opts *opts, const char *name)
{
	for (int i = 0; opts && i < FED_MAX_NODE_OPTS && opts->node[i].name; i++)
		if (strcmp(opts->node[i].name, name) == 0)
			return &opts->node[i];
	return NULL;
}

/* Run `onestop registry` with args[0..n-1] (args[0] the verb), recorded in
 * <dir>/cli.log. Exit code, -1 if it did not run. */
static int fed_reg_run(struct fed *f, struct cmd_out *res, const char *const *args, size_t n_args)
{
	const char *argv[CLI_MAX_ARGS + 2];
	char prog[H_PATH + 32], logpath[H_PATH + 16], line[4096];
	struct cmd_out local;
	size_t k = 0, off = 0;
	int rc;

	if (n_args + 2 > CLI_MAX_ARGS)
		return -1;
	snprintf(prog, sizeof prog, "%s/onestop", f->net->bin);
	argv[k++] = prog;
	argv[k++] = "registry";
	for (size_t i = 0; i < n_args; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	if (!res)
		res = &local;
	rc = cmd_run(argv, NULL, 0, h_ms(60000), res);
	off += (size_t)snprintf(line + off, sizeof line - off, "$ onestop");
	for (size_t i = 1; i < k && off < sizeof line - 1; i++)
		off += (size_t)snprintf(line + off, sizeof line - off, " %s", argv[i]);
	if (off > sizeof line - 1)
		off = sizeof line - 1;
	snprintf(logpath, sizeof logpath, "%s/cli.log", f->net->dir);
	append_text(logpath, line, off);
	snprintf(line, sizeof line, "\n[exit %d]\n", rc == 0 ? res->code : -1);
	append_text(logpath, line, strlen(line));
	if (res->out_len < 4096)
		append_text(logpath, res->out, res->out_len);
	append_text(logpath, res->err, res->err_len);
	rc = rc == 0 ? res->code : -1;
	if (rc != 0)
		fprintf(stderr, "  onestop registry %s: exit %d: %.400s\n", args[0], rc,
			res->err ? res->err : "");
	if (res == &local)
		cmd_out_free(&local);
	return rc;
}

int fed_reg_cli(struct fed *f, const struct fed_prov *prov, struct cmd_out *res, const char *verb,
		...)
{
	const char *args[FED_MAX_ARGS + 6];
	size_t k = 0;
	va_list ap;

	args[k++] = verb;
	args[k++] = "--root-key";
	args[k++] = prov ? prov->root_key : f->net->root_key;
	args[k++] = "--registry";
	args[k++] = prov ? prov->registry : f->net->registry;
	va_start(ap, verb);
	for (const char *a = va_arg(ap, const char *); a; a = va_arg(ap, const char *)) {
		if (k >= sizeof args / sizeof args[0]) {
			va_end(ap);
			return -1;
		}
		args[k++] = a;
	}
	va_end(ap);
	return fed_reg_run(f, res, args, k);
}

int fed_resign(struct fed *f, const struct fed_prov *prov)
{
	return fed_reg_cli(f, prov, NULL, "sign", NULL) == 0 ? 0 : -1;
}

int fed_hup(struct net_proc *p)
{
	return proc_signal(p, SIGHUP) == 0 ? 0 : -1;
}

/* `registry add` of p's registered key into the registry of prov (NULL:
 * national) with o's lists. 0 or -1. */
static int fed_registry_add(struct fed *f, const struct fed_prov *prov, struct net_proc *p,
			    const char *default_role, const struct fed_node_opts *o)
{
	const char *args[CLI_MAX_ARGS];
	char pub[H_PATH + 8];
	size_t k = 0;
	int any_role = 0;

	snprintf(pub, sizeof pub, "%s.pub", p->reg_key);
	args[k++] = "add";
	args[k++] = "--root-key";
	args[k++] = prov ? prov->root_key : f->net->root_key;
	args[k++] = "--registry";
	args[k++] = prov ? prov->registry : f->net->registry;
	args[k++] = "--name";
	args[k++] = p->name;
	args[k++] = "--pub";
	args[k++] = pub;
	for (int i = 0; o && i < NET_MAX_LIST; i++) {
		if (o->roles[i]) {
			args[k++] = "--role";
			args[k++] = o->roles[i];
			any_role = 1;
		}
		if (o->topics[i]) {
			args[k++] = "--topic";
			args[k++] = o->topics[i];
		}
		if (o->province_topics[i]) {
			args[k++] = "--province-topic";
			args[k++] = o->province_topics[i];
		}
		if (o->allow_types[i]) {
			args[k++] = "--allow-type";
			args[k++] = o->allow_types[i];
		}
		if (o->publish[i]) {
			args[k++] = "--publish";
			args[k++] = o->publish[i];
		}
	}
	if (default_role && !any_role) {
		args[k++] = "--role";
		args[k++] = default_role;
	}
	if (fed_reg_run(f, NULL, args, k) != 0)
		return -1;
	snprintf(p->status, sizeof p->status, "active");
	return 0;
}

/* A new process slot of f->net called name. Fatal when full. */
static struct net_proc *fed_slot(struct fed *f, const char *name, int is_hub,
				 const struct fed_node_opts *o)
{
	struct net *n = f->net;
	struct net_proc *p;

	if (n->n_spokes >= NET_MAX_SPOKES)
		H_REQUIRE(n, 0, "room for process %s (at most %d)", name, NET_MAX_SPOKES);
	p = &n->spoke[n->n_spokes++];
	net_proc_init(n, p, name, is_hub);
	if (is_hub) {
		char conf[H_PATH];

		snprintf(conf, sizeof conf, "%s/hub-%s.conf", n->dir, name);
		memcpy(p->conf, conf, sizeof p->conf);
	}
	if (o) {
		p->exe = o->exe;
		for (int i = 0; i < 4; i++)
			p->env[i] = o->env[i];
	}
	return p;
}

/* Merge two override lists (b after a, so b wins) into out. */
static void fed_kv_merge(struct net_kv *out, const struct net_kv *a, const struct net_kv *b)
{
	size_t k = 0;

	memset(out, 0, sizeof(struct net_kv) * NET_MAX_CONF * 2);
	for (int i = 0; a && i < NET_MAX_CONF && a[i].key; i++)
		out[k++] = a[i];
	for (int i = 0; b && i < NET_MAX_CONF && b[i].key; i++) {
		size_t j;

		for (j = 0; j < k; j++)
			if (strcmp(out[j].key, b[i].key) == 0)
				break;
		out[j] = b[i];
		if (j == k)
			k++;
	}
}

/* Write an INI file like net_conf_write with up to 2 * NET_MAX_CONF
 * overrides. */
static int fed_conf_write(const char *path, const struct net_kv *defs, size_t n_defs,
			  const struct net_kv *common, const struct net_kv *own)
{
	struct net_kv merged[NET_MAX_CONF * 2 + 1];
	struct net_kv over[NET_MAX_CONF];
	FILE *fp;
	int rc;

	fed_kv_merge(merged, common, own);
	merged[NET_MAX_CONF * 2].key = NULL;
	/* net_conf_write takes NET_MAX_CONF overrides: the first ones go
	 * through it, the rest are appended (new keys only). */
	memset(over, 0, sizeof over);
	for (int i = 0; i < NET_MAX_CONF && merged[i].key; i++)
		over[i] = merged[i];
	rc = net_conf_write(path, defs, n_defs, over);
	if (rc != 0)
		return rc;
	fp = fopen(path, "a");
	if (!fp)
		return -1;
	for (int i = NET_MAX_CONF; i < NET_MAX_CONF * 2 && merged[i].key; i++)
		if (merged[i].value)
			fprintf(fp, "%s = %s\n", merged[i].key, merged[i].value);
	return fclose(fp) == 0 ? 0 : -1;
}

/* Write spoke p's config: its hub is prov's (NULL: the national hub). */
static void fed_spoke_conf(struct fed *f, const struct fed_prov *prov, struct net_proc *p,
			   const struct fed_opts *opts, const struct fed_node_opts *o)
{
	struct net *n = f->net;
	const char *lvl = opts && opts->log_level ? opts->log_level : "info";
	const struct net_kv defs[] = {
		{"name", p->name},
		{"key", p->key},
		{"registry", n->registry},
		{"trust_anchor", n->anchor},
		{"hub_endpoint", prov ? prov->endpoint : n->hub_endpoint},
		{"hub_name", prov ? prov->hub->name : n->hub.name},
		{"api", p->api},
		{"data_dir", p->data_dir},
		{"map_size_mb", "256"},
		{"heartbeat_ms", "200"},
		{"reconnect_min_ms", "50"},
		{"reconnect_max_ms", "500"},
		{"log_level", lvl},
	};

	mkdir(p->data_dir, 0700);
	H_REQUIRE(n,
		  fed_conf_write(p->conf, defs, sizeof defs / sizeof defs[0],
				 opts ? opts->spoke_conf : NULL, o ? o->conf : NULL) == 0,
		  "wrote %s", p->conf);
}

/* Write hub p's config: a province hub when prov is set. */
static void fed_hub_conf(struct fed *f, const struct fed_prov *prov, struct net_proc *p,
			 const struct fed_opts *opts, const struct fed_node_opts *o)
{
	struct net *n = f->net;
	const char *lvl = opts && opts->log_level ? opts->log_level : "info";
	const struct net_kv defs[] = {
		{"name", p->name},
		{"key", p->key},
		{"registry", n->registry},
		{"province_registry", prov ? prov->registry : NULL},
		{"trust_anchor", n->anchor},
		{"listen", prov ? prov->endpoint : n->hub_endpoint},
		{"data_dir", p->data_dir},
		{"map_size_mb", "256"},
		{"heartbeat_ms", "200"},
		{"parent_endpoint", prov ? n->hub_endpoint : NULL},
		{"parent_name", prov ? n->hub.name : NULL},
		{"log_level", lvl},
	};

	mkdir(p->data_dir, 0700);
	H_REQUIRE(n,
		  fed_conf_write(p->conf, defs, sizeof defs / sizeof defs[0],
				 opts ? opts->hub_conf : NULL, o ? o->conf : NULL) == 0,
		  "wrote %s", p->conf);
}

/* A loopback port not yet handed out in f. */
static int fed_port(struct fed *f)
{
	for (int tries = 0; tries < 50; tries++) {
		int port = free_port(), taken = port <= 0;

		taken = taken || port == f->net->port;
		for (size_t i = 0; i < f->n_prov && !taken; i++)
			taken = strstr(f->prov[i].endpoint, ":") &&
				atoi(strrchr(f->prov[i].endpoint, ':') + 1) == port;
		if (!taken)
			return port;
	}
	return -1;
}

/* The base directory, binaries and the national hub of a new network. */
static struct net *fed_net_new(void)
{
	struct net *n = calloc(1, sizeof *n);
	const char *bin = getenv("ONESTOP_BIN_DIR");
	const char *tmp = getenv("TMPDIR");
	char path[H_PATH + 16];
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	if (!n) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	snprintf(n->bin, sizeof n->bin, "%s", bin && *bin ? bin : ONESTOP_BIN_DIR);
	snprintf(n->dir, sizeof n->dir, "%s/onestop-fed-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(n->dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	net_register(n);
	fprintf(stderr, "  federation in %s (binaries from %s)\n", n->dir, n->bin);
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
	snprintf(n->registry, sizeof n->registry, "%s/national.reg", n->dir);
	net_proc_init(n, &n->hub, "hub", 1);
	snprintf(n->hub.conf, sizeof n->hub.conf, "%s/hub-hub.conf", n->dir);
	return n;
}

struct fed_prov *fed_prov_of(struct fed *f, const char *name)
{
	for (size_t i = 0; i < f->n_prov; i++) {
		size_t l = strlen(f->prov[i].name);

		if (strncmp(name, f->prov[i].name, l) == 0 && (name[l] == '\0' || name[l] == '.'))
			return &f->prov[i];
	}
	return NULL;
}

struct fed *fed_make(const struct fed_opts *opts)
{
	static const struct fed_opts no_opts;
	struct fed *f = calloc(1, sizeof *f);
	struct net *n;
	size_t n_prov, per;
	int n_nat;

	if (!f) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	if (!opts)
		opts = &no_opts;
	n_prov = opts->provinces ? opts->provinces : 2;
	per = opts->spokes ? opts->spokes : 2;
	n_nat = opts->national == 0 ? 1 : opts->national < 0 ? 0 : opts->national;
	f->net = n = fed_net_new();
	H_REQUIRE(n, n_prov <= FED_MAX_PROV && per <= FED_MAX_PER_PROV && n_nat <= FED_MAX_NATIONAL,
		  "federation size within limits (%zu provinces, %zu spokes each, %d national)",
		  n_prov, per, n_nat);
	{
		const struct fed_node_opts *o = fed_node_opts(opts, "hub");

		if (o) {
			n->hub.exe = o->exe;
			for (int i = 0; i < 4; i++)
				n->hub.env[i] = o->env[i];
		}
	}

	/* Keys: the national root, each province's root, every node. */
	H_REQUIRE(n, net_keygen(n, n->root_key, n->anchor) == 0, "national root key made");
	H_REQUIRE(n, net_keygen(n, n->hub.reg_key, NULL) == 0, "national hub key made");
	f->n_prov = n_prov;
	for (size_t i = 0; i < n_prov; i++) {
		struct fed_prov *pv = &f->prov[i];
		const char *nm = opts->names[i] ? opts->names[i] : fed_default_names[i];
		char hubname[64];
		int port;

		snprintf(pv->name, sizeof pv->name, "%s", nm);
		snprintf(pv->root_key, sizeof pv->root_key, "%s/keys/%s-root.key", n->dir, nm);
		snprintf(pv->root_pub, sizeof pv->root_pub, "%s/keys/%s-root.key.pub", n->dir, nm);
		snprintf(pv->registry, sizeof pv->registry, "%s/%s.reg", n->dir, nm);
		port = fed_port(f);
		H_REQUIRE(n, port > 0, "a free port for %s.hub", nm);
		snprintf(pv->endpoint, sizeof pv->endpoint, "tcp://127.0.0.1:%d", port);
		H_REQUIRE(n, net_keygen(n, pv->root_key, pv->root_hex) == 0, "%s root key made",
			  nm);
		snprintf(hubname, sizeof hubname, "%s.hub", nm);
		pv->hub = fed_slot(f, hubname, 1, fed_node_opts(opts, hubname));
		H_REQUIRE(n, net_keygen(n, pv->hub->reg_key, NULL) == 0, "%s key made", hubname);
	}
	for (size_t i = 0; i < n_prov; i++) {
		struct fed_prov *pv = &f->prov[i];

		for (size_t j = 0; j < per; j++) {
			char nm[64];

			snprintf(nm, sizeof nm, "%s.%c", pv->name, (char)('a' + j));
			pv->spoke[pv->n_spokes++] = fed_slot(f, nm, 0, fed_node_opts(opts, nm));
			H_REQUIRE(n, net_keygen(n, pv->spoke[j]->reg_key, NULL) == 0, "%s key made",
				  nm);
		}
	}
	for (int j = 0; j < n_nat; j++) {
		char nm[16];

		if (j == 0)
			snprintf(nm, sizeof nm, "nat");
		else
			snprintf(nm, sizeof nm, "nat%d", j + 1);
		f->national[f->n_national++] = fed_slot(f, nm, 0, fed_node_opts(opts, nm));
		H_REQUIRE(n, net_keygen(n, f->national[j]->reg_key, NULL) == 0, "%s key made", nm);
	}

	/* The national registry: datasets, nodes, then the delegations. */
	H_REQUIRE(n,
		  net_cli(n, NULL, "registry", "init", "--root-key", n->root_key, "--out",
			  n->registry, "--hub", "hub", NULL) == 0,
		  "national registry init");
	for (int i = 0; i < NET_MAX_DATASETS && opts->datasets[i].name; i++) {
		const struct net_dataset *d = &opts->datasets[i];
		const struct fed_prov *pv = fed_prov_of(f, d->name);

		if (pv)
			continue;
		H_REQUIRE(n,
			  fed_reg_cli(f, NULL, NULL, "dataset", "--name", d->name, "--mode",
				      d->mode ? d->mode : "full", NULL) == 0,
			  "national dataset %s", d->name);
	}
	H_REQUIRE(n, fed_registry_add(f, NULL, &n->hub, "hub", fed_node_opts(opts, "hub")) == 0,
		  "hub registered");
	for (size_t i = 0; i < n_prov; i++) {
		struct net_proc *h = f->prov[i].hub;

		H_REQUIRE(n, fed_registry_add(f, NULL, h, "hub", fed_node_opts(opts, h->name)) == 0,
			  "%s registered", h->name);
	}
	for (size_t j = 0; j < f->n_national; j++) {
		struct net_proc *p = f->national[j];

		H_REQUIRE(n, fed_registry_add(f, NULL, p, NULL, fed_node_opts(opts, p->name)) == 0,
			  "%s registered", p->name);
	}
	for (size_t i = 0; i < n_prov; i++) {
		struct fed_prov *pv = &f->prov[i];

		H_REQUIRE(n,
			  fed_reg_cli(f, NULL, NULL, "delegate", "--prefix", pv->name, "--pub",
				      pv->root_pub, "--hub", pv->hub->name, NULL) == 0,
			  "national registry delegates %s to %s", pv->name, pv->hub->name);
	}

	/* Each province's registry: datasets, then its spokes. */
	for (size_t i = 0; i < n_prov; i++) {
		struct fed_prov *pv = &f->prov[i];

		H_REQUIRE(n,
			  net_cli(n, NULL, "registry", "init", "--root-key", pv->root_key, "--out",
				  pv->registry, "--prefix", pv->name, NULL) == 0,
			  "%s registry init", pv->name);
		for (int d = 0; d < NET_MAX_DATASETS && opts->datasets[d].name; d++) {
			const struct net_dataset *ds = &opts->datasets[d];

			if (fed_prov_of(f, ds->name) != pv)
				continue;
			H_REQUIRE(n,
				  fed_reg_cli(f, pv, NULL, "dataset", "--name", ds->name, "--mode",
					      ds->mode ? ds->mode : "full", NULL) == 0,
				  "%s dataset %s", pv->name, ds->name);
		}
		for (size_t j = 0; j < pv->n_spokes; j++) {
			struct net_proc *p = pv->spoke[j];

			H_REQUIRE(n,
				  fed_registry_add(f, pv, p, NULL, fed_node_opts(opts, p->name)) ==
					  0,
				  "%s registered in %s", p->name, pv->registry);
		}
	}

	/* The whole chain verifies from the national anchor. */
	{
		const char *args[6 + 2 * FED_MAX_PROV];
		size_t k = 0;

		args[k++] = "verify";
		args[k++] = "--anchor";
		args[k++] = n->anchor;
		args[k++] = "--registry";
		args[k++] = n->registry;
		for (size_t i = 0; i < n_prov; i++) {
			args[k++] = "--part";
			args[k++] = f->prov[i].registry;
		}
		H_REQUIRE(n, fed_reg_run(f, NULL, args, k) == 0,
			  "the chain (national.reg and %zu province registries) verifies", n_prov);
	}

	/* Configs. */
	fed_hub_conf(f, NULL, &n->hub, opts, fed_node_opts(opts, "hub"));
	for (size_t i = 0; i < n_prov; i++) {
		struct fed_prov *pv = &f->prov[i];

		fed_hub_conf(f, pv, pv->hub, opts, fed_node_opts(opts, pv->hub->name));
		for (size_t j = 0; j < pv->n_spokes; j++)
			fed_spoke_conf(f, pv, pv->spoke[j], opts,
				       fed_node_opts(opts, pv->spoke[j]->name));
	}
	for (size_t j = 0; j < f->n_national; j++)
		fed_spoke_conf(f, NULL, f->national[j], opts,
			       fed_node_opts(opts, f->national[j]->name));
	return f;
}

struct net_proc *fed_add_spoke(struct fed *f, const char *name, const struct fed_node_opts *o)
{
	struct net *n = f->net;
	struct fed_prov *pv = fed_prov_of(f, name);
	struct net_proc *p;

	H_REQUIRE(n, !fed_proc(f, name), "no process is called %s yet", name);
	H_REQUIRE(n, !pv || pv->n_spokes < sizeof pv->spoke / sizeof pv->spoke[0],
		  "room for %s in its province", name);
	p = fed_slot(f, name, 0, o);
	H_REQUIRE(n, net_keygen(n, p->reg_key, NULL) == 0, "%s key made", name);
	H_REQUIRE(n, fed_registry_add(f, pv, p, NULL, o) == 0, "%s registered in %s", name,
		  pv ? pv->registry : n->registry);
	if (pv)
		pv->spoke[pv->n_spokes++] = p;
	else if (f->n_national < FED_MAX_NATIONAL)
		f->national[f->n_national++] = p;
	fed_spoke_conf(f, pv, p, NULL, o);
	return p;
}

struct net_proc *fed_proc(struct fed *f, const char *name)
{
	if (strcmp(f->net->hub.name, name) == 0)
		return &f->net->hub;
	return net_spoke(f->net, name);
}

int fed_done(struct fed **fp)
{
	struct fed *f = *fp;
	int rc;

	if (!f)
		return 1;
	rc = net_done(&f->net);
	free(f);
	*fp = NULL;
	return rc;
}

int fed_wait_parent(struct fed *f, struct net_proc *p, int after, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_ms;
	char want[96];

	snprintf(want, sizeof want, "event=hub_connected hub=%s", f->net->hub.name);
	for (;;) {
		if (proc_log_count(p, want, 1) > after)
			return 0;
		if (h_now_ms() >= until || !proc_alive(p))
			return -1;
		h_sleep_ms(20);
	}
}

void fed_up(struct fed *f, struct net_proc *p)
{
	struct net *n = f->net;
	struct fed_prov *pv = fed_prov_of(f, p->name);

	H_REQUIRE(n, proc_start(n, p) == 0, "started %s", p->name);
	if (p->is_hub) {
		H_REQUIRE(n, proc_wait_log(p, "event=hub_ready", h_ms(30000)) == 0, "%s ready",
			  p->name);
		if (p != &n->hub && proc_alive(&n->hub))
			H_REQUIRE(n, fed_wait_parent(f, p, 0, h_ms(30000)) == 0,
				  "%s's parent link is up", p->name);
		return;
	}
	{
		struct net_proc *hub = pv ? pv->hub : &n->hub;
		int need = proc_alive(hub);

		H_REQUIRE(n, net_spoke_ready(n, p, need, h_ms(30000)) == 0, "%s ready%s", p->name,
			  need ? " and hub_connected" : "");
	}
}

void fed_start_all(struct fed *f)
{
	struct net *n = f->net;

	fed_up(f, &n->hub);
	for (size_t i = 0; i < f->n_prov; i++)
		H_REQUIRE(n, proc_start(n, f->prov[i].hub) == 0, "started %s",
			  f->prov[i].hub->name);
	for (size_t i = 0; i < f->n_prov; i++) {
		struct net_proc *h = f->prov[i].hub;

		H_REQUIRE(n, proc_wait_log(h, "event=hub_ready", h_ms(30000)) == 0, "%s ready",
			  h->name);
		H_REQUIRE(n, fed_wait_parent(f, h, 0, h_ms(30000)) == 0, "%s's parent link is up",
			  h->name);
	}
	for (size_t i = 0; i < n->n_spokes; i++) {
		struct net_proc *p = &n->spoke[i];

		if (p->is_hub || strcmp(p->status, "active") != 0)
			continue;
		H_REQUIRE(n, proc_start(n, p) == 0, "started %s", p->name);
	}
	for (size_t i = 0; i < n->n_spokes; i++) {
		struct net_proc *p = &n->spoke[i];

		if (p->is_hub || p->pid <= 0)
			continue;
		H_REQUIRE(n, net_spoke_ready(n, p, 1, h_ms(30000)) == 0,
			  "%s ready and hub_connected", p->name);
	}
}

int fed_hub_counter(struct net_proc *p, const char *key, uint64_t *v)
{
	size_t len, kl = strlen(key);
	char *buf = read_from(p->log, 0, &len);
	char *line = NULL, *s;
	int rc = -1;

	if (!buf)
		return -1;
	for (s = strstr(buf, "event=hub_stats"); s; s = strstr(s + 1, "event=hub_stats"))
		line = s;
	if (line) {
		char *end = strchr(line, '\n');

		if (end)
			*end = '\0';
		for (s = strstr(line, key); s; s = strstr(s + 1, key))
			if (s > line && s[-1] == ' ' && s[kl] == '=') {
				*v = strtoull(s + kl + 1, NULL, 10);
				rc = 0;
				break;
			}
	}
	free(buf);
	return rc;
}

int fed_hub_status(struct fed *f, struct net_proc *p, struct cmd_out *res)
{
	char prog[H_PATH + 32];
	const char *argv[] = {prog, "-c", p->conf, "--status", NULL};

	snprintf(prog, sizeof prog, "%s/onestop-hub", f->net->bin);
	if (cmd_run(argv, NULL, 0, h_ms(60000), res) != 0)
		return -1;
	return res->code;
}
