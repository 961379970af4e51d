/* The spoke's outbox: batch-signed messages waiting for the hub, kept in
 * LMDB under increasing u64 big-endian seqs (the push stream's seqs), plus
 * the outbox epoch that names this store to the hub. */
#ifndef SPOKE_OUTBOX_H
#define SPOKE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "spoke.h"
#include "store.h"

struct spoke;
struct loop;

/* How long acknowledged entries wait for a commit of other work before
 * one is made for them alone. */
#define OUTBOX_LAZY_DELETE_US 10000u

/* Load the outbox state (epoch, next seq, count) through t, which must be
 * a write transaction when create is nonzero: a store without an epoch
 * then gets a fresh random one (the caller commits). Without create a
 * missing epoch is OS_ENOTFOUND. 0 or a store error. */
int outbox_load(struct spoke *sp, struct store_txn *t, int create);

/* Append one packed Signed in the iteration's transaction; *seq (may be
 * NULL) gets its seq. 0 or a store error (the iteration is poisoned). */
int outbox_append(struct spoke *sp, const uint8_t *msg, size_t len, uint64_t *seq);

/* Before the iteration commits: when the outbox is left empty, write the
 * next seq into meta (while entries are held, the last one's seq + 1 is
 * the next seq; outbox_load reads either). 0 or a store error. */
int outbox_flush(struct spoke *sp);

/* The hub has committed every push <= upto (a push ack or a Welcome): the
 * entries are to be deleted, without a commit of their own. A deletion
 * lost in a crash is harmless: the next Welcome names what the hub holds. */
void outbox_ack(struct spoke *sp, uint64_t upto, uint64_t now_us);

/* Before the iteration commits: delete the acknowledged entries in its
 * transaction when it writes anyway, when they waited
 * OUTBOX_LAZY_DELETE_US, or when force is set. 0 or a store error. */
int outbox_settle(struct spoke *sp, uint64_t now_us, int force);

/* After the commit (committed: it succeeded): settle what the deletions
 * achieved. */
void outbox_committed(struct spoke *sp, int committed);

/* When outbox_settle next has work to do on its own (monotonic us), or
 * UINT64_MAX. */
uint64_t outbox_deadline_us(const struct spoke *sp);

/* Delete every entry with seq <= upto in the iteration's transaction;
 * *deleted (may be NULL) counts them. 0 or a store error. */
int outbox_delete_upto(struct spoke *sp, uint64_t upto, uint64_t *deleted);

/* Called for each entry by outbox_walk; msg is valid until the transaction
 * ends. Return 0 to go on, nonzero to stop. */
typedef int (*outbox_fn)(void *arg, uint64_t seq, const uint8_t *msg, size_t len);

/* Visit the entries with seq >= from in seq order through t (any
 * transaction). 0 or a store error. */
int outbox_walk(struct spoke *sp, struct store_txn *t, uint64_t from, outbox_fn fn, void *arg);

/* ------------------------------------------------------------ keys
 * Idempotency keys of Sends: key -> (id, when, digest of the contents) in
 * db_sendkey, written in the transaction of the message's append so that
 * no crash separates them, and an age index (db_sendkey_age: u64be ms |
 * key) by which they are pruned after send_key_window_s. */

#define OUTBOX_KEY_MAX 128u /* longest idempotency key, bytes */

/* Look key (1..OUTBOX_KEY_MAX bytes) up in the iteration's transaction
 * (it sees this iteration's earlier appends). 0 and *id when a message
 * with this key and digest was accepted within send_key_window_s of
 * now_ms; OS_EEXIST and *id when the key's message had another digest;
 * OS_ENOTFOUND when the key is unknown or older than the window; or a
 * store error. */
int outbox_key_find(struct spoke *sp, const uint8_t *key, size_t klen, const os_hash digest,
		    uint64_t now_ms, os_msgid id);

/* Record key -> id (digest: of the message's contents) at now_ms in the
 * iteration's transaction, replacing an expired record. 0 or a store
 * error (the iteration is poisoned). */
int outbox_key_put(struct spoke *sp, const uint8_t *key, size_t klen, const os_hash digest,
		   const os_msgid id, uint64_t now_ms);

/* Delete, in the iteration's transaction, at most max keys older than the
 * window at now_ms; *pruned (may be NULL) counts them. 0 or a store
 * error. */
int outbox_key_prune(struct spoke *sp, uint64_t now_ms, uint64_t max, uint64_t *pruned);

/* Register the outbox's hooks with the loop: outbox_settle and
 * outbox_flush (before_commit), outbox_committed and, after a failed
 * commit, the reload of next and count from the store (after_commit), and
 * outbox_deadline_us; once a minute the pruning of expired keys
 * (before_commit). 0 or OS_EFULL (the loop has no room). */
int outbox_attach(struct spoke *sp, struct loop *l);

#endif
