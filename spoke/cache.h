/* The spoke's copies of the replicated datasets (docs/ARCHITECTURE.md
 * "Shared datasets"): ds_cache and ds_pos in the spoke's store, Changes and
 * Snapshot frames applied strictly in sequence after end-to-end
 * verification, cached-mode fills through the hub with an in-memory LRU,
 * and the API's dataset and assertion requests (Get, List, Datasets, Put
 * checks, AssertIssue, AssertVerify).
 *
 * Store layout: ds_cache (dataset NUL key -> u64be seq || Signed, the
 * publisher's envelope byte for byte), ds_pos (dataset -> 16-byte hub epoch
 * || u64be seq || u8 syncing). */
#ifndef SPOKE_CACHE_H
#define SPOKE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "store.h"
#include "util.h"

struct spoke;
struct api_route;
struct Onestop__ApiRequest;
struct Onestop__Changes;
struct Onestop__Snapshot;
struct Onestop__Fetched;
struct Onestop__DatasetPosition;

#define CACHE_MAX_WAITS 10000u       /* API requests waiting for the hub at once */
#define CACHE_LIST_MAX 10000u        /* entries in one List reply */

/* ------------------------------------------------------------ local reads */

/* One entry of a dataset as the spoke holds it. */
struct cache_entry {
	char key[DS_KEY_MAX + 1];
	uint8_t value[DS_VALUE_MAX];  /* the ChangeRequest's value (packed
				       * IdentityValue, ItemValue or opaque) */
	size_t value_len;
	char publisher[OS_NAME_MAX];  /* origin of the change that wrote it */
	uint64_t seq;                 /* dataset seq of that change */
	uint64_t updated_ms;          /* when the publisher signed it */
};

/* Open (creating if needed) the cache's databases in store s and remember
 * them for cache_read on s. Usable on a spoke's data dir opened with
 * store_open(dir, map_mb, max_dbs >= 2, &s) while the spoke is stopped, as
 * the daemon itself does at start. (cache_dbis and cache_read live in
 * cache_read.c, CMake target onestop_spoke_cache, which needs only
 * onestop_common: a tool or benchmark links that.) cache_db / pos_db (either may be NULL)
 * receive the handles. At most 8 stores are remembered per process; not
 * thread-safe (call at start-up). 0, OS_EFULL (too many stores) or a store
 * error. */
int cache_dbis(struct store *s, store_dbi *cache_db, store_dbi *pos_db);

/* Look key up in dataset in s (after cache_dbis(s, ...)): begin a read
 * transaction, read the entry, decode its Signed -> Envelope ->
 * ChangeRequest, copy key, value, publisher, seq and signing time into
 * *out, end the transaction. This is the path the API's Get takes. The
 * entry was verified when it was stored and is not verified again.
 * 0, OS_ENOTFOUND, OS_EINVAL (bad name or key, or cache_dbis not called
 * for s), OS_EDECODE (a stored record that does not decode) or OS_ESTORE. */
int cache_read(struct store *s, const char *dataset, const char *key, struct cache_entry *out);

/* ------------------------------------------------------------ records
 * Shared by cache_read.c and cache.c (the spoke's own code). */

struct env;
struct Onestop__Signed;
struct Onestop__Envelope;
struct Onestop__ChangeRequest;

#define CACHE_EKEY_MAX (OS_NAME_MAX + DS_KEY_MAX + 1)  /* dataset NUL key */
/* Largest Signed of a change: the ChangeRequest bound (value, key, 1 KiB)
 * plus the envelope and batch proof around it (8 KiB). */
#define CACHE_SIGNED_MAX (DS_VALUE_MAX + DS_KEY_MAX + 1024u + 8192u)

/* The ds_cache key of (dataset, key) into buf (CACHE_EKEY_MAX bytes): its
 * length, or 0 when either is empty or too long. */
size_t cache_ekey(uint8_t *buf, const char *dataset, const char *key);

/* A bump allocator for the unpacks below, so that decoding a record costs
 * no malloc per field: what was decoded with it is released all at once by
 * cache_arena_reset. Allocations that do not fit in buf go to malloc and
 * are freed by the reset. */
struct cache_arena {
	uint8_t *buf;          /* the caller's (may be on its stack) */
	size_t cap, used;
	void **big;            /* the malloc'd ones */
	size_t n_big, cap_big;
};

/* An empty arena over buf (cap bytes). */
void cache_arena_init(struct cache_arena *a, void *buf, size_t cap);
/* Release everything allocated from a (its records must not be used
 * afterwards); a stays usable. */
void cache_arena_reset(struct cache_arena *a);

/* A stored record (u64be seq || Signed) unpacked down to its change. */
struct cache_rec {
	uint64_t seq;
	struct Onestop__Signed *sg;
	struct Onestop__Envelope *env;
	struct Onestop__ChangeRequest *cr;  /* key, value */
	struct cache_arena *arena;          /* where it was unpacked, or NULL: malloc */
};

/* Unpack a stored record (verified when it was stored: not verified
 * again), into arena a (NULL: malloc). 0 or OS_EDECODE; on success the
 * caller calls cache_rec_clear (which also accepts a zeroed or failed r)
 * before a's next reset. */
int cache_rec_decode(const uint8_t *rec, size_t len, struct cache_arena *a,
		     struct cache_rec *r);
void cache_rec_clear(struct cache_rec *r);

/* Decode a publisher's packed Signed (len bytes) into *e for env_verify,
 * with the checks of env_decode (sizes, ids, names, proof shape), unpacked
 * into arena a (NULL: malloc); e points into the messages kept in r, which
 * the caller clears with cache_rec_clear (r->cr stays NULL; e needs no
 * env_clear). 0, OS_ETOOBIG or OS_EDECODE. */
int cache_env_view(const uint8_t *sg, size_t len, struct cache_arena *a, struct cache_rec *r,
		   struct env *e);

/* ------------------------------------------------------------ the daemon */

/* Set up the cache of sp (sp->ds) through t, the start-up write
 * transaction: load every dataset's position, drop the partial copy of a
 * snapshot that was interrupted (its position goes back to seq 0), and
 * rebuild the LRU order of cached-mode datasets by a scan (evicting past
 * cache_entries). 0, OS_ENOMEM or a store error. */
int replica_open(struct spoke *sp, struct store_txn *t);
/* Free sp->ds (NULL allowed); requests still waiting get OS_ECONN. */
void replica_close(struct spoke *sp);
/* After a failed commit: positions and LRU go back to what the store
 * holds. */
void replica_reload(struct spoke *sp);

/* The positions for Hello, one per dataset declared in the registry:
 * *out is a malloc'd array of *n (free with replica_positions_free). A
 * dataset whose snapshot is incomplete reports seq 0, and its partial copy
 * is dropped before the next frame of it is applied. 0 or OS_ENOMEM. */
int replica_positions(struct spoke *sp, struct Onestop__DatasetPosition ***out, size_t *n);
void replica_positions_free(struct Onestop__DatasetPosition **pos, size_t n);

/* Frames from the hub, applied in the iteration's write transaction; a
 * DatasetAck is due after the commit. 0, or the store error that
 * poisoned the iteration. */
int replica_changes(struct spoke *sp, const struct Onestop__Changes *c);
int replica_snapshot(struct spoke *sp, const struct Onestop__Snapshot *s);
int replica_fetched(struct spoke *sp, const struct Onestop__Fetched *f);

/* After the commit (commit_rc its result): send the due DatasetAcks (when
 * it succeeded), answer requests whose fill arrived, was refused or timed
 * out, or whose commit failed. */
void replica_after_commit(struct spoke *sp, int commit_rc);

/* The next time (monotonic us) a waiting request times out, or UINT64_MAX. */
uint64_t replica_deadline_us(const struct spoke *sp);

/* The local check of one Put before it is signed: ds_change_allowed
 * against this node's registry entry, with the locally held value of the
 * entry (read through the iteration's transaction) as the current one.
 * 0, or the refusal code with one sentence in reason. */
int replica_put_check(struct spoke *sp, const char *dataset, const char *key, int is_delete,
		    const uint8_t *value, size_t len, char *reason, size_t reason_size);

/* Answer a Get, List, Datasets, AssertIssue or AssertVerify request (after
 * the iteration's commit, outside any transaction). A request that must
 * wait for the hub (a cached-mode miss) takes over rt (rt->buf is NULL
 * afterwards) and is answered later by replica_after_commit. */
void replica_serve(struct spoke *sp, struct api_route *rt, const struct Onestop__ApiRequest *req);

#endif
