/* The spoke daemon's shared state: configuration, keys, store handles,
 * registry, counters and the loop's one write transaction. main.c owns it,
 * state.c implements its primitives (and calls no module); the modules
 * (outbox.c, inbox.c, cases.c, trust.c, hublink.c, replica*.c, reads.c, api.c) work on it within
 * one loop iteration. */
#ifndef SPOKE_H
#define SPOKE_H

#include <stddef.h>
#include <stdint.h>

#include "batchsig.h"
#include "crypto.h"
#include "registry.h"
#include "store.h"

/* The extra bytes a Signed adds around a payload (ids, names, signature,
 * Merkle path): decoders accept max_message_bytes of payload plus this. */
#define SPOKE_ENV_OVERHEAD 8192u

#define OUTBOX_EPOCH_LEN 16
#define INBOX_EPOCH_LEN 16

/* The outbox's stream state (outbox.c keeps it; the hub link and the API
 * read it). */
struct outbox {
	uint8_t epoch[OUTBOX_EPOCH_LEN];
	uint64_t next;        /* seq the next appended message gets (>= 1) */
	uint64_t next_stored; /* the next seq meta holds (see outbox_flush) */
	uint64_t count;       /* entries held, including this iteration's writes */
	/* Entries the hub acknowledged are deleted lazily (outbox_settle):
	 * those <= deleted are gone durably, those <= acked are gone for the
	 * push stream and wait for a commit that happens anyway. */
	uint64_t acked;
	uint64_t deleted;
	uint64_t deleting; /* what the iteration's transaction deletes up to */
	uint64_t acked_us; /* when acked first passed deleted; 0: none waits */
};

/* The inbox's stream state and leases (inbox.c keeps them; the hub link
 * and the API read them). */
struct inbox_lease {
	uint64_t seq;
	uint64_t until_us; /* monotonic */
	uint64_t owner;    /* the API connection it went to (api.c), 0: unknown */
};

struct inbox {
	uint8_t hub_epoch[INBOX_EPOCH_LEN]; /* the epoch `last` belongs to */
	int has_epoch;
	uint64_t last;  /* deliver stream: last seq accepted (durable) */
	uint64_t next;  /* inbox seq the next stored message gets */
	uint64_t count; /* entries held, including this iteration's writes */
	int meta_dirty; /* last or next changed in this iteration: inbox_flush */

	struct inbox_lease *leases; /* sorted by seq */
	size_t n_leases, cap_leases;

	uint64_t prune_due_us; /* when the next `seen` sweep runs */
	uint64_t held_log_us;  /* rate limit for the expired-registry line */
};

struct spoke_conf {
	char *name;
	char *key;
	char *registry;
	char *trust_anchor;
	char *hub_endpoint;
	char *hub_name;
	char *api;
	char *data_dir;
	long long map_size_mb;
	long long max_message_bytes;
	long long hub_max_message_bytes; /* the hub's limit on a signed message */
	long long send_key_window_s;     /* how long idempotency keys are kept */
	long long default_ttl_s;
	long long outbox_quota;
	long long window;
	long long heartbeat_ms;
	long long clock_skew_ms; /* how far ahead created_ms may be */
	long long reconnect_min_ms;
	long long reconnect_max_ms;
	char *log_level;
	long long cache_entries;
	long long fetch_timeout_ms;
	long long assertion_max_validity_s;
	int assertion_any_audience;
	char *api_mode;  /* octal mode of the ipc socket file */
	char *api_group; /* its group ("" the process's) */
	char *api_allow_send, *api_allow_publish, *api_allow_issue; /* uid:N,gid:N */
	char *holidays_file;               /* the case calendar's holidays ("": none) */
	long long calendar_utc_offset_min; /* the case calendar's time zone */
	long long case_ttl_days;           /* lifetime of a case message */
	long long complaint_days;          /* a complaint's response time, working days */
};

/* Counters since start, reported by Status and the debug stats line. */
struct spoke_stats {
	uint64_t sent;       /* messages accepted by Send */
	uint64_t refused;    /* Send requests refused */
	uint64_t received;   /* messages committed to the inbox */
	uint64_t rejected;   /* deliveries dropped as invalid */
	uint64_t duplicates; /* deliveries dropped as already seen */
	uint64_t pushed;     /* transfers sent to the hub (with retransmits) */
	uint64_t commits;    /* write transactions committed */
};

struct uplink;
struct api;
struct casework;
struct env;
struct replica;
struct Onestop__LinkFrame;

/* How modules reach the hub without naming the link module: filled by
 * hublink.c when it wires the link. */
struct spoke_hub_io {
	/* Send f to the hub now, while a session is up. 0, OS_ECONN (no
	 * session), OS_EAGAIN (the pipe is full) or OS_ENOMEM. */
	int (*send)(void *ctx, const struct Onestop__LinkFrame *f);
	/* 1 when a session with the hub is up. */
	int (*up)(void *ctx);
	/* The hub's transport key changed: reconnect with the new key once
	 * the current iteration is done. */
	void (*restart)(void *ctx);
	void *ctx;
};

/* How the inbox hands a delivered message of one spoke-made type (the
 * cases' "onestop.Case", the supervision events) to the module that owns
 * it, without naming it:
 * filled by main.c. receive runs in the iteration's transaction t for a
 * verified message addressed here whose id was not seen before. It
 * returns 0 or a store error (the iteration is then poisoned); *refusal
 * gets 0 or the OS_E* code the message is refused with (why: one
 * sentence), *deliver 1 when the message also goes to the apps' inbox. */
#define SPOKE_TYPE_HOOKS 4

struct spoke_type_hook {
	const char *type;
	int (*receive)(void *ctx, struct store_txn *t, const struct env *e, int *refusal,
		       int *deliver, char *why, size_t size);
	void *ctx;
};

struct spoke {
	struct spoke_conf conf;
	const char *config_path; /* borrowed from argv, or NULL */
	os_sign_pk anchor;       /* the root key the registry must verify under */
	struct os_keypair kp;
	uint32_t key_version; /* our signing key's version in the registry */

	uint64_t hub_limit; /* advertised by the hub's Welcome; 0: not yet */

	struct store *st;
	store_dbi db_meta, db_outbox, db_inbox, db_seen, db_registry;
	store_dbi db_ds_cache, db_ds_pos;              /* replicated datasets (replica.c) */
	store_dbi db_sendkey, db_sendkey_age;          /* idempotency keys of Sends (outbox.c) */
	uint64_t sendkey_prune_us;                     /* when outbox.c next prunes them */
	store_dbi db_assert_seen;                      /* single-use assertions' nonces (reads.c) */
	store_dbi db_cases, db_case_hist, db_case_idx; /* one-stop cases (cases.c) */
	store_dbi db_case_aux; /* filings, pending steps, licences (casework.c) */
	store_dbi db_sv_events, db_sv_cases, db_sv_records; /* supervisor counts (supervise.c) */
	store_dbi db_complaints, db_complaint_hist, db_complaint_idx; /* complaints.c */
	store_dbi db_evaluations; /* ratings of cases (evaluate.c) */

	struct registry *reg;         /* current verified registry; never NULL once started */
	struct batchsig_cache *cache; /* verified batch roots, for deliveries */

	void *zctx;
	struct outbox ob;
	struct inbox ib;
	struct uplink *up; /* the link to the hub (common/uplink.h, hublink.c) */
	struct api *api;
	struct replica *ds;         /* dataset copies (replica.c) */
	struct spoke_hub_io hub_io; /* the hub link, as hublink.c wired it */
	/* deliveries of spoke-made types: "onestop.Case" and
	 * "onestop.Supervision" (casework.c), "onestop.Complaint"
	 * (complaints.c), "onestop.Evaluation" (evaluate.c) */
	struct spoke_type_hook type_hooks[SPOKE_TYPE_HOOKS];
	struct casework *cw; /* the case service (casework.c) */

	/* The iteration's write transaction: begun on first use, committed
	 * once per loop iteration (spoke_commit). txn_err poisons it after
	 * the first failed write so that nothing that depends on it is
	 * acknowledged. */
	struct store_txn *txn;
	int txn_dirty;
	int txn_err;

	struct spoke_stats stats;
};

/* The iteration's write transaction, begun if needed, into *out (borrowed
 * until spoke_commit). 0, or the error that poisoned this iteration, or the
 * store's error from beginning it. */
int spoke_txn(struct spoke *sp, struct store_txn **out);

/* Record the outcome rc of a write made in the iteration's transaction:
 * 0 marks it dirty (it must be committed); a negative rc poisons it (it
 * will be aborted). Returns rc. */
int spoke_wrote(struct spoke *sp, int rc);

/* End the iteration's transaction: commit it when it wrote, abort it when
 * a write failed or nothing was written; the dirty and failed marks are
 * cleared. 0, or the error that lost the iteration's writes (the poisoning
 * error, or store_commit's OS_ESTOREFULL / OS_ESTORE). */
int spoke_commit(struct spoke *sp);

/* Open the spoke's own databases in sp->st (all but the replica's). 0 or
 * the store's error. */
int spoke_dbis(struct spoke *sp);

/* This node's entry in the current registry, or NULL. */
const struct reg_node *spoke_self(const struct spoke *sp);

/* The largest packed Signed the hub accepts: what its last Welcome
 * advertised, or the hub_max_message_bytes option before any did. */
uint64_t spoke_hub_limit(const struct spoke *sp);

/* 1 when the current registry has expired (new traffic is refused). */
int spoke_registry_expired(const struct spoke *sp, uint64_t now_ms);

/* Send a frame to the hub through sp->hub_io: 0, OS_ECONN (no link wired
 * or no session), OS_EAGAIN or OS_ENOMEM. */
int spoke_hub_send(struct spoke *sp, const struct Onestop__LinkFrame *f);
/* 1 when a session with the hub is up. */
int spoke_hub_up(const struct spoke *sp);
/* Ask the hub link to reconnect (the hub's key changed); nothing when no
 * link is wired. */
void spoke_hub_restart(struct spoke *sp);

#endif
