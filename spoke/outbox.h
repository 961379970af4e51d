/* The spoke's outbox: batch-signed messages waiting for the hub, kept in
 * LMDB under increasing u64 big-endian seqs (the push stream's seqs), plus
 * the outbox epoch that names this store to the hub. */
#ifndef SPOKE_OUTBOX_H
#define SPOKE_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define OUTBOX_EPOCH_LEN 16

struct spoke;

struct outbox {
	uint8_t epoch[OUTBOX_EPOCH_LEN];
	uint64_t next;    /* seq the next appended message gets (>= 1) */
	uint64_t count;   /* entries held, including this iteration's writes */
};

/* Load the outbox state (epoch, next seq, count) through t, which must be
 * a write transaction when create is nonzero: a store without an epoch
 * then gets a fresh random one (the caller commits). Without create a
 * missing epoch is OS_ENOTFOUND. 0 or a store error. */
int outbox_load(struct spoke *sp, struct store_txn *t, int create);

/* Append one packed Signed in the iteration's transaction; *seq (may be
 * NULL) gets its seq. 0 or a store error (the iteration is poisoned). */
int outbox_append(struct spoke *sp, const uint8_t *msg, size_t len, uint64_t *seq);

/* Delete every entry with seq <= upto in the iteration's transaction;
 * *deleted (may be NULL) counts them. 0 or a store error. */
int outbox_delete_upto(struct spoke *sp, uint64_t upto, uint64_t *deleted);

/* Called for each entry by outbox_walk; msg is valid until the transaction
 * ends. Return 0 to go on, nonzero to stop. */
typedef int (*outbox_fn)(void *arg, uint64_t seq, const uint8_t *msg, size_t len);

/* Visit the entries with seq >= from in seq order through t (any
 * transaction). 0 or a store error. */
int outbox_walk(struct spoke *sp, struct store_txn *t, uint64_t from, outbox_fn fn,
		void *arg);

#endif
