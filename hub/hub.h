/* The hub's shared state: configuration, node key, registry, store, clocks,
 * counters and the loop's one write transaction, with the handles of its
 * modules. main.c owns it; state.c implements its primitives and calls no
 * module; every module works on it within one loop iteration (one thread). */
#ifndef HUB_HUB_H
#define HUB_HUB_H

#include <stdint.h>

#include "batchsig.h"
#include "crypto.h"
#include "registry.h"
#include "store.h"

#define HUB_PROTOCOL 1
#define HUB_DRAIN_MAX 2000u     /* frames handled per loop iteration */
#define HUB_ZAP_MAX 100u        /* ZAP requests answered per iteration */
#define HUB_SWEEP_BUDGET 10000u /* queue entries the expiry sweep visits per run */
#define HUB_SWEEP_MS 1000u      /* interval of the expiry sweep */
#define HUB_STATS_MS 10000u     /* interval of the stats log line */
#define HUB_DEADLETTER_TTL_MS (7ull * 24 * 3600 * 1000)
#define HUB_FAIL_BACKOFF_MS 1000u /* pushes wait this long after a failed commit */
#define HUB_LAZY_DELETE_MS 10u    /* acked entries wait at most this long for a commit */
#define HUB_ACK_DELAY_MS 5u       /* a push ack may wait this long for company */

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
	long long clock_skew_ms;      /* how far ahead created_ms may be */
	long long queue_quota;        /* entries one node may hold queued (see route.c) */
	long long queue_bytes_mb;     /* bytes all queues may hold; 0: half the map */
	long long node_share_percent; /* of queue_bytes, one node's share */
	long long reserve_percent;    /* of queue_bytes, kept for nodes holding little */
	char *log_level;
	long long dataset_log_max;
	char *parent_endpoint; /* federation: the parent hub, or empty */
	char *parent_name;
	char *province_registry;     /* federation: this hub's delegated registry file, or empty */
	int allow_registry_rollback; /* load a registry older than one accepted */
};

/* Counters since start, and three gauges the modules keep current; logged
 * by the stats line. */
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
	uint64_t over_quota;   /* pushes held back by a quota (route.c) */
	uint64_t relayed_up;   /* entries queued for the parent hub (route.c) */
	uint64_t relayed_down; /* entries queued for child hubs (route.c) */
	uint64_t from_parent;  /* deliveries from the parent dealt with (route.c) */
	unsigned sessions;     /* gauge: live sessions (link.c) */
	unsigned parent_link;  /* gauge: 0 no parent, 1 down, 2 hello sent, 3 up (parent.c) */
	uint64_t queued;       /* gauge: committed queue entries (queue.c) */
	uint64_t queued_bytes; /* gauge: their bytes, each message once (queue.c) */
};

struct store;
struct store_txn;
struct loop;
struct loop_state;
struct queue;
struct link;
struct route;
struct dataset;
struct parent;

struct hub {
	struct hub_conf conf;
	const char *config_path; /* borrowed from argv, or NULL */
	struct os_keypair kp;    /* the hub's own keys (wiped at exit) */
	os_sign_pk anchor;       /* trust anchor: the root public key */
	uint32_t key_version;    /* of the hub's signing key, from the registry */
	struct registry *reg;    /* current verified registry */
	int reg_expired;         /* the registry's expiry has passed (logged once) */
	void *zctx;
	void *router;       /* the spokes' link (CURVE server) */
	void *zap;          /* ZAP handler (REP, inproc) */
	void *monitor;      /* the router's refused handshakes (PAIR, inproc; wiring.c) */
	struct store *st;   /* the store of queues and datasets */
	store_dbi db_trust; /* "trust": the highest registry version accepted */
	struct queue *queue;
	struct link *link;
	struct route *route;
	struct dataset *ds;    /* replicated datasets (dataset.c) */
	struct parent *parent; /* the link to a parent hub, or NULL */
	struct batchsig_cache *sigcache;
	struct hub_stats stats;

	/* The iteration's write transaction: begun on first use (hub_txn),
	 * committed once by the loop (hub_commit). failed poisons it after
	 * the first error, so that nothing depending on it is sent. */
	struct store_txn *txn;
	int dirty;  /* it has written: its commit syncs */
	int failed; /* 0, or the error that spoils the iteration */

	/* Clocks, read once at the start of each iteration. */
	uint64_t now_ms;           /* wall clock: envelope and registry expiry */
	uint64_t now_us;           /* monotonic clock (os_mono_us): every timer */
	uint64_t backoff_until_us; /* after a failed iteration: pushes wait until then */
	int iterating;             /* between an iteration's first drain and its commit */
	uint64_t iter_frames;      /* frames_in when the iteration began */
	uint64_t next_stats_us;
};

/* The iteration's write transaction, begun if needed, into *out (borrowed
 * until the commit). 0, the error that already spoiled this iteration, or
 * the store's error from beginning it (OS_ESTORE; it then spoils it). */
int hub_txn(struct hub *h, struct store_txn **out);

/* Record the outcome rc of a write in the iteration's transaction: 0 marks
 * it dirty (its commit syncs), a negative rc spoils the iteration (it is
 * aborted; the first error is kept). Returns rc. */
int hub_wrote(struct hub *h, int rc);

/* Spoil the iteration with rc (negative; the first error is kept), e.g.
 * after an allocation failed half-way through. */
void hub_fail(struct hub *h, int rc);

/* End the iteration's transaction: abort it when the iteration is spoiled
 * (returns that error), commit it (fsync) when it wrote, else abort it.
 * Counts commits and commit failures. 0, the spoiling error, or the
 * commit's error (OS_EFULL, OS_ESTORE). Afterwards no transaction is open
 * and the dirty and failed marks are clear. */
int hub_commit(struct hub *h);

/* due, or the end of the backoff after a failed iteration when that is
 * later: deadlines of work that waits for the backoff (monotonic us). */
uint64_t hub_not_before(const struct hub *h, uint64_t due_us);

/* The period of the modules' timers (heartbeats, retransmits, stalls):
 * a quarter heartbeat within 10..250 ms, in us. */
uint64_t hub_tick_us(const struct hub *h);

/* The registry floor of a store made before the chain (no rollback): open
 * the store's "trust" database into h->db_trust and read the highest
 * registry version such a hub recorded there into *version (0 when none
 * was; the chain, key "chain", is chain.c's). Call at start-up, before any
 * other transaction. 0 or a store error. */
int hub_registry_floor(struct hub *h, uint64_t *version);

/* Log the counters in one line named event at level (os_log levels):
 * the periodic "stats" line (debug) and "hub_stats" at a clean stop
 * (info). */
void hub_stats_log(const struct hub *h, int level, const char *event);

/* Fill *out with the loop's view of the iteration's transaction
 * (dirty, failed, hub_commit). */
void hub_loop_state(struct hub *h, struct loop_state *out);

/* Register the state's own hook, first of all: at an iteration's start it
 * reads both clocks and fails closed once the registry has expired
 * (registry_expired, logged once); after a failed commit it starts the
 * HUB_FAIL_BACKOFF_MS backoff and logs iteration_failed; every
 * HUB_STATS_MS it logs the stats line (debug). 0 or OS_EFULL. */
int hub_state_attach(struct hub *h, struct loop *l);

#endif
