/* The hub's durable message store and per-destination queues (LMDB via
 * common/store.h). One write transaction spans a loop iteration: the
 * queue_* calls below run inside it, queue_commit makes it durable.
 *
 * Databases: meta ("epoch" 16 bytes; "next_msgno" is only read, as a floor,
 * from stores of older versions), msgs (u64be msgno ->
 * u32be refcount || Signed), queues (dest NUL u64be qseq -> u64be msgno ||
 * u64be expires_ms), qnext (dest -> u64be next qseq), origins (origin ->
 * 16-byte outbox epoch || u64be last push seq). */
#ifndef HUB_QUEUE_H
#define HUB_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#define QUEUE_EPOCH_LEN 16

struct queue;
struct store;
struct store_txn;

/* Open (or create) the store in dir with a map of map_mb MiB, create the
 * hub epoch on first use and count the entries of every queue.
 * 0, OS_EIO, OS_ESTORE or OS_ENOMEM. */
int queue_open(const char *dir, size_t map_mb, struct queue **out);
/* Close and NULL *q; aborts an open transaction. */
void queue_close(struct queue **q);

/* The 16-byte epoch naming this store; valid while q lives. */
const uint8_t *queue_epoch(const struct queue *q);

/* The store the queues live in (other hub modules open their databases in
 * it at start-up), and the iteration's open write transaction or NULL;
 * both borrowed while q lives. */
struct store *queue_store(struct queue *q);
struct store_txn *queue_txn(struct queue *q);

/* Start the iteration's write transaction unless one is open. 0 or
 * OS_ESTORE. Every call below that touches the store needs it. */
int queue_begin(struct queue *q);
/* 1 when a write transaction is open. */
int queue_active(const struct queue *q);
/* Commit (fsync'd). Counters follow the outcome: on failure everything of
 * the transaction is forgotten. 0, OS_EFULL or OS_ESTORE. */
int queue_commit(struct queue *q);
/* Abort the open transaction (if any) and forget its changes. */
void queue_abort(struct queue *q);

/* The push stream state of origin: its outbox epoch and the last seq
 * committed. 0, OS_ENOTFOUND (never seen) or OS_ESTORE. */
int queue_origin_get(struct queue *q, const char *origin,
		     uint8_t epoch[QUEUE_EPOCH_LEN], uint64_t *last);
int queue_origin_put(struct queue *q, const char *origin,
		     const uint8_t epoch[QUEUE_EPOCH_LEN], uint64_t last);

/* Store msg (packed Signed, len bytes) once with a reference per
 * destination and append it to each of the n destination queues.
 * 0, OS_ENOMEM, OS_EFULL (map full) or OS_ESTORE. */
int queue_put(struct queue *q, const char *const *dests, size_t n,
	      const uint8_t *msg, size_t len, uint64_t expires_ms);

/* Entries in dest's queue, counting the open transaction's changes. */
uint64_t queue_count(struct queue *q, const char *dest);
/* Entries in all queues, counting the open transaction's changes. */
uint64_t queue_total(const struct queue *q);

enum queue_visit { QUEUE_TAKE, QUEUE_DROP, QUEUE_STOP };

/* Called for each entry met by queue_scan: msg (len bytes) stays valid only
 * during the call. QUEUE_TAKE goes on, QUEUE_DROP deletes the entry and goes
 * on, QUEUE_STOP ends the scan (the entry is kept). */
typedef enum queue_visit (*queue_scan_fn)(void *arg, uint64_t qseq, uint64_t expires_ms,
					  const uint8_t *msg, size_t len);

/* Visit dest's entries with qseq > after in order. *at_end is set to 1 when
 * the scan ran to the end of the queue. 0 or OS_ESTORE / OS_EFULL. */
int queue_scan(struct queue *q, const char *dest, uint64_t after,
	       queue_scan_fn fn, void *arg, int *at_end);

/* Delete dest's entries with qseq <= upto (a cumulative ack), releasing
 * message bodies whose last reference goes. *removed gets the count. */
int queue_ack(struct queue *q, const char *dest, uint64_t upto, uint64_t *removed);

/* dest's reader has committed everything <= upto (a cumulative ack, at
 * now_ms). The entries are deleted later, by queue_settle_acks in a write
 * transaction that happens anyway (or once they have waited long enough):
 * a deletion lost in a crash only makes the hub deliver them again, which
 * the reader's stream rule drops. From now on queue_scan and queue_sweep
 * skip them. Needs no transaction. 0 or OS_ENOMEM. */
int queue_ack_later(struct queue *q, const char *dest, uint64_t upto, uint64_t now_ms);

/* 1 when acknowledged entries wait for deletion; *since_ms (may be NULL)
 * gets when the oldest of those acks came. */
int queue_acks_pending(const struct queue *q, uint64_t *since_ms);

/* Delete every acknowledged entry in the open transaction. They count as
 * deleted once queue_commit succeeds; after an abort they wait again.
 * *removed gets the number of entries deleted. 0 or OS_ESTORE / OS_EFULL. */
int queue_settle_acks(struct queue *q, uint64_t *removed);

/* 1 when the open transaction has written something (its commit syncs). */
int queue_dirty(const struct queue *q);

/* Called by queue_sweep for an expired entry; return 1 to delete it, 0 to
 * keep it (e.g. it is in flight). msg valid only during the call. */
typedef int (*queue_expire_fn)(void *arg, const char *dest, uint64_t qseq,
			       const uint8_t *msg, size_t len);

/* Visit up to budget entries from where the last sweep stopped (wrapping
 * around), offering those with expires_ms <= now_ms to fn. *removed gets the
 * number deleted. 0 or OS_ESTORE / OS_EFULL. */
int queue_sweep(struct queue *q, uint64_t now_ms, unsigned budget,
		queue_expire_fn fn, void *arg, uint64_t *removed);

#endif
