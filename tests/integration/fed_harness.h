/* Federated test networks: a national hub, province hubs under it and
 * spokes under each, with the national registry and one delegated registry
 * per province built through the real CLI (harness.h runs the daemons). */
#ifndef OS_IT_FED_HARNESS_H
#define OS_IT_FED_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

#define FED_MAX_PROV 4
#define FED_MAX_PER_PROV 10 /* spokes per province */
#define FED_MAX_NATIONAL 4  /* national spokes */
#define FED_MAX_NODE_OPTS 16
#define FED_MAX_ARGS 24 /* arguments fed_reg_cli passes after the verb */

/* Options of one node, picked by its name ("hub", "gd.hub", "gd.a", "nat"). */
struct fed_node_opts {
	const char *name;
	const char *roles[NET_MAX_LIST];           /* registry --role; none: default */
	const char *topics[NET_MAX_LIST];          /* registry --topic (national) */
	const char *province_topics[NET_MAX_LIST]; /* registry --province-topic */
	const char *allow_types[NET_MAX_LIST];     /* registry --allow-type */
	const char *publish[NET_MAX_LIST];         /* registry --publish DATASET */
	struct net_kv conf[NET_MAX_CONF];          /* config overrides */
	const char *exe;                           /* program in the binaries' directory,
	    e.g. "onestop-hub-tamper"; NULL: onestop-hub or onestop-spoke */
	const char *env[4];                        /* "KEY=VALUE" for its environment */
};

struct fed_opts {
	size_t provinces;                /* 0: 2 (gd, sc); at most FED_MAX_PROV */
	const char *names[FED_MAX_PROV]; /* province prefixes; NULL: gd, sc, hb, zj */
	size_t spokes;                   /* spokes per province, 0: 2 (<p>.a, <p>.b, ...) */
	int national; /* national spokes: 0: one ("nat"); -1: none; n: nat, nat2.. */
	/* Datasets: a name inside a province's prefix ("gd.permits") goes to
	 * that province's registry, any other to the national registry. */
	struct net_dataset datasets[NET_MAX_DATASETS];
	struct fed_node_opts node[FED_MAX_NODE_OPTS];
	struct net_kv hub_conf[NET_MAX_CONF];   /* every hub's config (before node[]) */
	struct net_kv spoke_conf[NET_MAX_CONF]; /* every spoke's config (before node[]) */
	const char *log_level;                  /* default "info" */
};

struct fed_prov {
	char name[16];         /* the prefix: "gd" */
	char root_key[H_PATH]; /* the province root's key file (and .pub) */
	char root_pub[H_PATH]; /* root_key + ".pub" */
	char root_hex[65];     /* its sign_public, hex */
	char registry[H_PATH]; /* <dir>/<p>.reg, signed by the province root */
	char endpoint[64];     /* the province hub's listen endpoint */
	struct net_proc *hub;  /* "<p>.hub" */
	size_t n_spokes;
	struct net_proc *spoke[FED_MAX_PER_PROV + 4]; /* "<p>.a", ... (fed_add_spoke adds) */
};

/* The network. net->hub is the national hub "hub" (net->registry is
 * national.reg, net->root_key the national root, net->anchor its
 * sign_public, the trust anchor of every node); net->spoke[] holds every
 * other process: the province hubs (is_hub = 1), then the province spokes,
 * then the national spokes. H_CHECK/H_REQUIRE take f->net. */
struct fed {
	struct net *net;
	size_t n_prov;
	struct fed_prov prov[FED_MAX_PROV];
	size_t n_national;
	struct net_proc *national[FED_MAX_NATIONAL]; /* "nat", "nat2", ... */
};

/* Build a federation in a fresh /tmp directory: keys, national.reg (hub
 * "hub"; nodes hub, each province hub, the national spokes; a delegation
 * per province), <p>.reg per province (prefix p, signed by p's root; its
 * spokes), the datasets, and every config (province hubs: registry =
 * national.reg, province_registry = <p>.reg, parent_endpoint and
 * parent_name = hub; spokes: hub_endpoint/hub_name of their province hub,
 * registry = national.reg). Nothing is started. opts may be NULL. Fatal
 * (h_abort) on failure. */
struct fed *fed_make(const struct fed_opts *opts);

/* net_done of the network (stops every daemon, spokes first, then the
 * province hubs, then the national hub), frees *f. Exit code for main. */
int fed_done(struct fed **f);

/* The process called name ("hub" included), or NULL. */
struct net_proc *fed_proc(struct fed *f, const char *name);
/* The province whose prefix is name, or whose prefix name lies in
 * ("gd.a" -> gd), or NULL (a national name). */
struct fed_prov *fed_prov_of(struct fed *f, const char *name);

/* Start everything in order and wait until ready: the national hub
 * (hub_ready), the province hubs (hub_ready and their parent link up), the
 * spokes (hub_connected). Fatal on failure. */
void fed_start_all(struct fed *f);
/* Start one process and wait until ready: a hub until hub_ready (a
 * province hub also until its parent link is up when the national hub
 * runs); a spoke until it is hub_connected when its hub runs, else until
 * it answers. Fatal on failure. */
void fed_up(struct fed *f, struct net_proc *p);
/* Wait until province hub p's parent link is up since its last start
 * (event=hub_connected hub=hub, counted from its last start beyond
 * `after` lines of that kind). 0 or -1 on timeout. */
int fed_wait_parent(struct fed *f, struct net_proc *p, int after, int timeout_ms);

/* Counter key of hub p's last `event=hub_stats` line (logged at a clean
 * stop): 0 and *v, or -1 when there is no such line or key. */
int fed_hub_counter(struct net_proc *p, const char *key, uint64_t *v);
/* Run `onestop-hub --status -c CONF` for hub p; res (required) gets its
 * output (free with cmd_out_free). Its exit code, -1 if it did not run. */
int fed_hub_status(struct fed *f, struct net_proc *p, struct cmd_out *res);

/* Run `onestop registry VERB --root-key K --registry R ARGS...` as the
 * operator of the registry of prov (NULL: the national registry), args
 * NULL-ended, at most FED_MAX_ARGS. res may be NULL. Exit code, -1 if it
 * did not run. */
int fed_reg_cli(struct fed *f, const struct fed_prov *prov, struct cmd_out *res, const char *verb,
		...) __attribute__((sentinel));
/* Re-sign (renew) the registry of prov (NULL: national). 0 or -1. */
int fed_resign(struct fed *f, const struct fed_prov *prov);
/* Send hub p SIGHUP (it reloads its registry files). 0 or -1. */
int fed_hup(struct net_proc *p);

/* Add a spoke after fed_make: a key, its entry in the registry of its
 * province (by its name's prefix; national when none) with o's roles,
 * topics and rights, and its config under that province's hub. Neither
 * re-signs beyond the CLI's own signing nor tells any hub (fed_hup). o may
 * be NULL; o->name is ignored. Fatal on failure; returns the process (not
 * started). */
struct net_proc *fed_add_spoke(struct fed *f, const char *name, const struct fed_node_opts *o);

#endif
