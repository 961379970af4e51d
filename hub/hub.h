/* The hub's shared state: configuration, node key, registry, sockets and the
 * handles of its modules (queue, link, route). main.c owns it and passes it
 * to every module; one thread uses it. */
#ifndef HUB_HUB_H
#define HUB_HUB_H

#include <stdint.h>

#include "batchsig.h"
#include "crypto.h"
#include "registry.h"

#define HUB_PROTOCOL 1
#define HUB_DRAIN_MAX 2000u        /* frames handled per loop iteration */
#define HUB_ZAP_MAX 100u           /* ZAP requests answered per iteration */
#define HUB_SWEEP_BUDGET 10000u    /* queue entries the expiry sweep visits per run */
#define HUB_SWEEP_MS 1000u         /* interval of the expiry sweep */
#define HUB_STATS_MS 10000u        /* interval of the stats log line */
#define HUB_DEADLETTER_TTL_MS (7ull * 24 * 3600 * 1000)
#define HUB_FAIL_BACKOFF_MS 1000u  /* pushes wait this long after a failed commit */
#define HUB_LAZY_DELETE_MS 10u     /* acked entries wait at most this long for a commit */
#define HUB_ACK_DELAY_MS 5u        /* a push ack may wait this long for company */

/* Options; the table in main.c maps names to these fields. */
struct hub_conf {
	char *name;
	char *key;
	char *registry;
	char *trust_anchor;
	char *listen;
	char *data_dir;
	long long map_size_mb;
	long long max_message_bytes;
	long long window;
	long long heartbeat_ms;
	long long queue_quota;
	char *log_level;
	long long dataset_log_max;
};

/* Counters since start, logged by the stats line. */
struct hub_stats {
	uint64_t frames_in;
	uint64_t accepted;
	uint64_t refused;
	uint64_t duplicates;
	uint64_t delivered;
	uint64_t expired;
	uint64_t deadletters;
	uint64_t commits;
	uint64_t commit_failures;
};

struct queue;
struct link;
struct route;
struct dataset;

struct hub {
	struct hub_conf conf;
	const char *config_path;      /* borrowed from argv, or NULL */
	struct os_keypair kp;         /* the hub's own keys (wiped at exit) */
	os_sign_pk anchor;            /* trust anchor: the root public key */
	uint32_t key_version;         /* of the hub's signing key, from the registry */
	struct registry *reg;         /* current verified registry */
	int reg_expired;              /* the registry's expiry has passed (logged once) */
	void *zctx;
	void *router;                 /* the spokes' link (CURVE server) */
	void *zap;                    /* ZAP handler (REP, inproc) */
	struct queue *queue;
	struct link *link;
	struct route *route;
	struct dataset *ds;           /* replicated datasets (dataset.c) */
	struct batchsig_cache *sigcache;
	struct hub_stats stats;
	uint64_t now_ms;              /* wall clock at the start of the iteration */
	uint64_t backoff_until_ms; /* after a failed iteration: pushes wait until then */
	int failed;                   /* a store error spoiled this iteration */
};

/* The registry node named name if it is present and active, else NULL. */
const struct reg_node *hub_active_node(const struct hub *h, const char *name);

#endif
