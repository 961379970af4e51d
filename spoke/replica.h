/* The spoke's replica of the shared datasets (docs/ARCHITECTURE.md "Shared
 * datasets"): where each dataset stands (ds_pos), and the hub's Changes,
 * Snapshot and Fetched frames applied into ds_cache strictly in sequence,
 * each change verified end to end first, an entry written only by a
 * change above its own seq, cached-mode copies kept to the keys they hold
 * within cache_entries (replica_lru.h). It answers no request: reads.c
 * serves the API's reads from what it holds, replica_fetch.c tracks the
 * fills it asked the hub for.
 *
 * Store layout: see replica_read.h. */
#ifndef SPOKE_REPLICA_H
#define SPOKE_REPLICA_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "store.h"

struct spoke;
struct loop;
struct replica_fetches;
struct Onestop__Changes;
struct Onestop__Snapshot;
struct Onestop__Fetched;
struct Onestop__DatasetPosition;

/* Set up the replica of sp (sp->ds) through t, the start-up write
 * transaction (the databases were opened with replica_dbis): load every
 * dataset's position, drop the partial copy of a snapshot that was
 * interrupted (its position goes back to seq 0), and rebuild the LRU order
 * of cached-mode datasets by a scan (evicting past cache_entries).
 * 0, OS_ENOMEM or a store error; sp->ds may be set on error (free it with
 * replica_close). */
int replica_open(struct spoke *sp, struct store_txn *t);
/* Free sp->ds and its fetch table, and NULL it (NULL allowed). */
void replica_close(struct spoke *sp);
/* After a failed commit: positions and LRU go back to what the store
 * holds (logged as dataset_reload_failed when the store cannot be read). */
void replica_reload(struct spoke *sp);

/* The positions for Hello, one per dataset declared in the registry:
 * *out is a malloc'd array of *n (free with replica_positions_free); each
 * points into the registry and sp->ds (valid until either changes). A
 * dataset whose snapshot is incomplete reports seq 0, and its partial copy
 * is dropped before the next frame of it is applied. 0 or OS_ENOMEM. */
int replica_positions(struct spoke *sp, struct Onestop__DatasetPosition ***out, size_t *n);
void replica_positions_free(struct Onestop__DatasetPosition **pos, size_t n);

/* Frames from the hub, applied in the iteration's write transaction
 * (spoke_txn); a DatasetAck is due after the commit. A frame for an
 * undeclared dataset, with a malformed epoch, or out of sequence is
 * dropped (0). A change that fails verification is logged
 * (change_rejected) and not applied, and the seq still advances.
 * replica_fetched settles the fetch it answers (replica_fetch.h); one for
 * a fetch given up is ignored. 0, or the store error (or OS_ENOMEM) that
 * poisoned the iteration. */
int replica_changes(struct spoke *sp, const struct Onestop__Changes *c);
int replica_snapshot(struct spoke *sp, const struct Onestop__Snapshot *s);
int replica_fetched(struct spoke *sp, const struct Onestop__Fetched *f);

/* After the commit (commit_rc its result): send the due DatasetAcks
 * (when it succeeded and the hub is up); what was written is committed or
 * lost either way. */
void replica_after_commit(struct spoke *sp, int commit_rc);

/* The replica has no timer work: UINT64_MAX. (The API holds every request
 * that waits, with its deadline.) */
uint64_t replica_deadline_us(const struct spoke *sp);

/* Register the replica with l (common/loop.h): its after-commit hook
 * (replica_after_commit, ctx sp); frames reach it through the hub link,
 * not through the loop. 0 or OS_EFULL (the loop is full). */
int replica_attach(struct spoke *sp, struct loop *l);

/* Register the replica's reload after a failed commit (positions and LRU
 * back to what the store holds), to run before the hooks that answer from
 * them: attach it before the hub link and the API. 0 or OS_EFULL. */
int replica_attach_reload(struct spoke *sp, struct loop *l);

/* ------------------------------------------------------------ for reads.c, api.c */

/* The table of sp's pending fetches, or NULL before replica_open and
 * after replica_close. Borrowed until replica_close. */
struct replica_fetches *replica_fetch_table(struct spoke *sp);

/* A cached-mode entry was read: key becomes dataset's most recently used
 * (nothing for a full-mode dataset or a key not held). */
void replica_used(struct spoke *sp, const char *dataset, const char *key);

/* Where dataset name stands as committed: *seq (0 while a snapshot is
 * incoming or nothing is held) and *syncing (1 while a snapshot is
 * incoming). */
void replica_position(const struct spoke *sp, const char *name, uint64_t *seq, int *syncing);

/* The digest (ds_digest) and entry count of what dataset name holds,
 * through t (a read transaction after the commit): reused when nothing of
 * it was written since it was last computed and committed, else computed
 * by a scan. 0, OS_EINVAL (a name too long) or a store error (OS_ESTORE,
 * OS_ENOMEM). */
int replica_digest(struct spoke *sp, struct store_txn *t, const char *name, os_hash out,
		   uint64_t *count);

/* The local check of one Put before it is signed: ds_change_allowed
 * against this node's registry entry, with the locally held value of the
 * entry (read through the iteration's transaction) as the current one.
 * 0, or the refusal with one sentence in reason: OS_EINVAL (a name or key
 * too long), the refusals of ds_change_allowed (OS_ENOTFOUND: dataset not
 * declared, OS_ENOTALLOWED, OS_EINVAL: value invalid for the schema), or
 * the store error that keeps the iteration's transaction from beginning. */
int replica_put_check(struct spoke *sp, const char *dataset, const char *key, int is_delete,
		      const uint8_t *value, size_t len, char *reason, size_t reason_size);

#endif
