/* The hub's durable message store and per-destination queues (LMDB via
 * common/store.h), in the hub's store. One write transaction spans a loop
 * iteration (hub_txn, state.c): every queue_* call that touches the store
 * begins it if needed and marks it written; the loop commits it once and
 * then tells the queue the outcome (queue_txn_end).
 *
 * Databases (format 2, "queue_format" in meta): meta ("epoch" 16 bytes,
 * "queue_format" u64; "next_msgno" is only read, as a floor, from older
 * stores), msgs (u64be msgno -> u32be refcount || Signed), queues (dest NUL
 * u64be qseq -> u64be msgno || u64be expires_ms || u32be bytes || u32be
 * charge || u8 flags || origin), qnext (dest -> u64be above every qseq ever
 * given), onums (origin -> u32be number), origins (origin -> 16-byte outbox
 * epoch || u64be last push seq). A format-1 store (16-byte queue values)
 * is migrated at open; a newer format is refused.
 *
 * Fairness: qseq = round << QUEUE_ROUND_SHIFT | the origin's number. Each
 * (origin, destination) pair takes the round after its previous entry's,
 * and never one at or below the round of what the destination's reader
 * was handed last, so a destination's queue read in key order serves its
 * origins round robin, each pair in its own order. */
#ifndef HUB_QUEUE_H
#define HUB_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define QUEUE_EPOCH_LEN 16
#define QUEUE_ROUND_SHIFT 20 /* qseq = round << 20 | origin number */
#define QUEUE_FORMAT 2

/* What a node holds queued, as destination or as origin (or all queues).
 * As destination bytes are whole message sizes; as origin (and in all) a
 * message for n destinations is charged once, split among its entries.
 * held counts the entries taken while their destination was at its quota
 * (route.c), charged to the origin's hold. */
struct queue_usage {
	uint64_t entries;
	uint64_t bytes;
	uint64_t held_entries;
	uint64_t held_bytes;
};

struct hub;
struct loop;
struct queue;

/* Open the queue databases in h->st (no transaction may be open), create
 * the hub epoch on first use, migrate a format-1 store (logged) and count
 * every queue's entries and bytes per destination, per origin and in all
 * (also into h->stats.queued and queued_bytes). q keeps h. 0, OS_ESTORE
 * (also for a store of an unknown newer format, logged), OS_EFULL or
 * OS_ENOMEM. */
int queue_open(struct hub *h, struct queue **out);
/* Free *q and NULL it (NULL allowed); the store stays h's. */
void queue_close(struct queue **q);

/* Register the queue's hooks: before the commit, queue_settle (lazily);
 * after it, queue_txn_end; its deadline is when the oldest waiting ack
 * has waited HUB_LAZY_DELETE_MS (not before a backoff ends). 0 or
 * OS_EFULL. */
int queue_attach(struct queue *q, struct loop *l);

/* The iteration's transaction ended: committed (1) or aborted (0). The
 * counters and the pending deletions follow the outcome: after an abort
 * everything of the transaction is forgotten. Updates h->stats.queued. */
void queue_txn_end(struct queue *q, int committed);

/* The 16-byte epoch naming this store; valid while q lives. */
const uint8_t *queue_epoch(const struct queue *q);

/* Every call below that reads or writes the store runs in the iteration's
 * transaction, beginning it if needed; each fails with the error that
 * already spoiled the iteration, if one did, and a failed write spoils it
 * (hub_wrote). */

/* The push stream state of origin: its outbox epoch and the last seq
 * committed. 0, OS_ENOTFOUND (never seen) or OS_ESTORE. */
int queue_origin_get(struct queue *q, const char *origin, uint8_t epoch[QUEUE_EPOCH_LEN],
		     uint64_t *last);
int queue_origin_put(struct queue *q, const char *origin, const uint8_t epoch[QUEUE_EPOCH_LEN],
		     uint64_t last);

/* Store msg (packed Signed, len bytes) from origin once with a reference
 * per destination and queue it for each of the n destinations, at the
 * pair's next fair place (see the top of this file). held (may be NULL)
 * marks the entries charged to the origin's hold. Quotas are the caller's.
 * 0, OS_ENOMEM, OS_EINVAL (n too large, or more than 2^20 - 1 origins),
 * OS_ENAME (origin or a destination too long for a key), OS_EFULL (map
 * full) or OS_ESTORE. */
int queue_put(struct queue *q, const char *origin, const char *const *dests, size_t n,
	      const uint8_t *held, const uint8_t *msg, size_t len, uint64_t expires_ms);

/* Entries in dest's queue, counting the open transaction's changes. */
uint64_t queue_count(struct queue *q, const char *dest);
/* Entries in all queues, counting the open transaction's changes. */
uint64_t queue_total(const struct queue *q);
/* What name holds as destination (queue_usage_dest), as origin
 * (queue_usage_origin), and all queues together (queue_usage_total), with
 * the open transaction's changes; zeros for a name never seen. */
void queue_usage_dest(const struct queue *q, const char *name, struct queue_usage *out);
void queue_usage_origin(const struct queue *q, const char *name, struct queue_usage *out);
void queue_usage_total(const struct queue *q, struct queue_usage *out);

enum queue_visit { QUEUE_TAKE, QUEUE_DROP, QUEUE_STOP };

/* Called for each entry met by queue_scan: msg (len bytes) stays valid only
 * during the call. QUEUE_TAKE goes on, QUEUE_DROP deletes the entry and goes
 * on, QUEUE_STOP ends the scan (the entry is kept). */
typedef enum queue_visit (*queue_scan_fn)(void *arg, uint64_t qseq, uint64_t expires_ms,
					  const uint8_t *msg, size_t len);

/* Visit dest's entries with qseq > after in order. *at_end is set to 1 when
 * the scan ran to the end of the queue. An entry taken (QUEUE_TAKE) counts
 * as handed to the reader: later entries are queued after it. 0 or
 * OS_ESTORE / OS_EFULL. */
int queue_scan(struct queue *q, const char *dest, uint64_t after, queue_scan_fn fn, void *arg,
	       int *at_end);

/* Delete dest's entries with qseq <= upto (a cumulative ack), releasing
 * message bodies whose last reference goes. *removed gets the count.
 * 0, OS_ENOMEM or OS_ESTORE / OS_EFULL. */
int queue_ack(struct queue *q, const char *dest, uint64_t upto, uint64_t *removed);

/* dest's reader has committed everything <= upto (a cumulative ack, at
 * now_us on the monotonic clock). The entries are deleted later, by
 * queue_settle in a write transaction that happens anyway (or once they
 * have waited long enough): a deletion lost in a crash only makes the hub
 * deliver them again, which the reader's stream rule drops. From now on
 * queue_scan and queue_sweep skip them. Needs no transaction. 0 or
 * OS_ENOMEM. */
int queue_ack_later(struct queue *q, const char *dest, uint64_t upto, uint64_t now_us);

/* 1 when acknowledged entries wait for deletion; *since_us (may be NULL)
 * gets when the oldest of those acks came (monotonic us). */
int queue_acks_pending(const struct queue *q, uint64_t *since_us);

/* Delete the acknowledged entries in the iteration's transaction when
 * force is set, when that transaction writes anyway, or once the oldest
 * ack has waited HUB_LAZY_DELETE_MS (h->now_us); else leave them waiting.
 * They are counted in h->stats.delivered at once, and count as deleted
 * once the transaction commits; after an abort they wait again. 0, or a
 * store error, which also spoils the iteration. */
int queue_settle(struct queue *q, int force);

/* Called by queue_sweep for an expired entry; return 1 to delete it, 0 to
 * keep it (e.g. it is in flight). msg valid only during the call. */
typedef int (*queue_expire_fn)(void *arg, const char *dest, uint64_t qseq, const uint8_t *msg,
			       size_t len);

/* Visit up to budget entries from where the last sweep stopped (wrapping
 * around), offering those with expires_ms <= now_ms to fn. *removed gets the
 * number deleted. 0 or OS_ESTORE / OS_EFULL. */
int queue_sweep(struct queue *q, uint64_t now_ms, unsigned budget, queue_expire_fn fn, void *arg,
		uint64_t *removed);

#endif
