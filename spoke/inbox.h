/* The spoke's inbox: the receiving end of the hub's deliver stream
 * (verified end to end, de-duplicated through the `seen` table, its `last`
 * kept durable; the stream's seq/prev_seq rule is common/stream.h's, applied
 * by the link) and the messages waiting for apps, handed out under short
 * in-memory leases. */
#ifndef SPOKE_INBOX_H
#define SPOKE_INBOX_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"
#include "spoke.h"
#include "store.h"

#define INBOX_LEASE_MS 30000u

/* How far ahead of the spoke's clock a delivered message may expire: the
 * longest ttl a spoke signs (default_ttl_s's bound, 3650 days) and a day
 * of clock skew. A message expiring later is refused (OS_EINVAL, logged as
 * msg_rejected), so no id has to be remembered for longer. */
#define INBOX_MAX_AHEAD_MS (3651ull * 86400u * 1000u)

struct spoke;
struct loop;

/* Load the deliver-stream and inbox state through t (any transaction).
 * In-memory leases are kept. 0 or a store error. */
int inbox_load(struct spoke *sp, struct store_txn *t);

/* At start, in the start-up write transaction t: bring the `seen` table
 * of a store written by an older version (format 1: id -> expiry; format
 * 2: expiry || id) to the current layout (an id entry holding the latest
 * expiry seen for the id, and an index entry expiry || id for the sweep),
 * merging the entries of one id, and mark the store as such. 0, OS_ENOMEM
 * or a store error. */
int inbox_upgrade(struct spoke *sp, struct store_txn *t);

/* Free the leases. */
void inbox_clear(struct spoke *sp);

/* The hub's epoch from a Welcome (len must be INBOX_EPOCH_LEN, else
 * OS_EPROTO). A different epoch than the stored one is a new deliver
 * stream: last goes back to 0, both stored in the iteration's transaction.
 * *changed (may be NULL) says whether it changed. 0 or an error. */
int inbox_hub_epoch(struct spoke *sp, const uint8_t *epoch, size_t len, int *changed);

/* One in-order Transfer of the deliver stream (the caller applied the
 * stream rule against ib.last), in the iteration's transaction: decode,
 * verify (registry, signature, destination, expiry at most
 * INBOX_MAX_AHEAD_MS ahead), drop ids seen under any expiry (remembering
 * the later expiry), store the rest; last becomes seq, an invalid message included (dropped, logged as
 * msg_rejected). While the registry is expired nothing is taken: *held is
 * set to 1 (else 0) and the hub sends it again later. 0 or a store error
 * (the iteration is then poisoned). */
int inbox_deliver(struct spoke *sp, uint64_t seq, const uint8_t *msg, size_t len, uint64_t now_ms,
		  int *held);

/* Write the stream state changed in this iteration (last, next) into the
 * iteration's transaction, once, before it commits. 0 or a store error. */
int inbox_flush(struct spoke *sp);

/* Register the inbox's hooks with the loop: the `seen` sweep (work, with
 * its deadline), inbox_flush (before_commit), and after a failed commit
 * the reload of the stream state from the store (after_commit). 0 or
 * OS_EFULL (the loop has no room). */
int inbox_attach(struct spoke *sp, struct loop *l);

/* Delete the inbox entries with these seqs in the iteration's transaction
 * and drop their leases; unknown seqs are ignored. *acked counts the
 * deleted ones. 0 or a store error. */
int inbox_ack(struct spoke *sp, const uint64_t *seqs, size_t n, uint32_t *acked);

/* Called by inbox_take for each handed-out message. Return 0 (e is valid
 * only during the call), INBOX_KEEP (the callee has taken *e over, moved
 * out by a struct copy, and env_clears it when done), or a negative error
 * to stop. */
typedef int (*inbox_fn)(void *arg, uint64_t seq, struct env *e);
#define INBOX_KEEP 1

/* Hand out up to max of the oldest entries that are not leased (lowest
 * inbox seq first, so an entry whose lease ended goes out before every
 * later one), in seq order, leasing each to owner (the API connection;
 * 0: unknown) for INBOX_LEASE_MS, stopping before the payloads would pass
 * max_bytes (one message is always allowed). Reads through t (any
 * transaction). *taken counts them. 0 or an error (OS_ENOMEM, a store
 * error, or fn's). */
int inbox_take(struct spoke *sp, struct store_txn *t, size_t max, size_t max_bytes, uint64_t now_us,
	       uint64_t owner, inbox_fn fn, void *arg, size_t *taken);

/* End every lease held by owner (an API connection that is gone; 0 does
 * nothing): its entries go out again at once, before later ones. Returns
 * how many were released. */
size_t inbox_release(struct spoke *sp, uint64_t owner);

/* Forget expired leases. */
void inbox_lease_gc(struct spoke *sp, uint64_t now_us);

/* 1 when some entry may be handed out (more entries than leases). */
int inbox_available(const struct spoke *sp);

/* The earliest lease expiry (monotonic us), or 0 without leases. */
uint64_t inbox_lease_next_expiry(const struct spoke *sp);

/* Forget the `seen` ids whose latest expiry has passed (every copy seen
 * of them has expired), at most budget of them, when due (once a second,
 * or at once while a sweep finds more than its budget), in the
 * iteration's transaction. 0, OS_ENOMEM or a store error. */
int inbox_prune_seen(struct spoke *sp, uint64_t now_ms, uint64_t now_us, unsigned budget);

#endif
