/* The durable store: a thin wrapper over LMDB. Every commit is synced to
 * disk (no MDB_NOSYNC, no MDB_NOMETASYNC) before store_commit returns, so a
 * caller may acknowledge what it committed. No other module includes lmdb.h. */
#ifndef OS_STORE_H
#define OS_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store;
struct store_txn;
struct store_cursor;
typedef unsigned int store_dbi;

/* Open (creating dir 0700 and the environment if needed) a store with room
 * for max_dbs named databases and a map of map_mb MiB. 0, OS_EIO, OS_ESTORE. */
int store_open(const char *dir, size_t map_mb, unsigned max_dbs, struct store **out);
/* Close and NULL *s; no transaction may be open. */
void store_close(struct store **s);

/* Open or create the named database (call before other transactions run,
 * at start-up). 0 or OS_ESTORE. (Named store_dbi_open because C cannot
 * have a function and the type store_dbi under one name.) */
int store_dbi_open(struct store *s, const char *name, store_dbi *out);

/* One write or read-only transaction at a time per thread. */
int store_begin(struct store *s, int read_only, struct store_txn **out);
/* Commit (fsync'd) and free *t; on failure the transaction is aborted.
 * 0, OS_ESTOREFULL (the map size or the disk is full: MDB_MAP_FULL, ENOSPC
 * or EDQUOT from a write or an fsync, or a short write on a disk with less
 * than 1 MiB left; never OS_EFULL, which is a quota, nor OS_EIO) or
 * OS_ESTORE. *t is NULL afterwards either way. The full state is logged
 * once when it begins (store_full), then at most once a minute
 * (store_still_full) and once when a write commits again
 * (store_space_back). */
int store_commit(struct store_txn **t);
/* Abort and free *t (NULL allowed). */
void store_abort(struct store_txn **t);

/* Look up key; *val stays valid until the transaction ends or writes.
 * 0 or OS_ENOTFOUND, OS_ESTORE. */
int store_get(struct store_txn *t, store_dbi db, const void *key, size_t klen, const void **val,
	      size_t *vlen);
/* Insert or replace. 0, OS_ESTOREFULL, OS_ESTORE. */
int store_put(struct store_txn *t, store_dbi db, const void *key, size_t klen, const void *val,
	      size_t vlen);
/* Insert a key greater than every key in db (fast path for sequences).
 * OS_EEXIST if it is not greater. */
int store_append(struct store_txn *t, store_dbi db, const void *key, size_t klen, const void *val,
		 size_t vlen);
/* Delete key. 0 or OS_ENOTFOUND, OS_ESTORE. */
int store_del(struct store_txn *t, store_dbi db, const void *key, size_t klen);
/* Number of entries in db. */
int store_count(struct store_txn *t, store_dbi db, uint64_t *n);

/* u64 values under a short key in a db (e.g. counters in "meta"). A missing
 * key reads as def. */
int store_get_u64(struct store_txn *t, store_dbi db, const char *key, uint64_t def, uint64_t *out);
int store_put_u64(struct store_txn *t, store_dbi db, const char *key, uint64_t v);

/* Cursors, in key order (memcmp order; use big-endian integer keys). */
int store_cursor_open(struct store_txn *t, store_dbi db, struct store_cursor **out);
void store_cursor_close(struct store_cursor **c);
/* Position at the first key >= key (key NULL: the first key). 0 or
 * OS_ENOTFOUND at the end. Results valid as for store_get. */
int store_cursor_seek(struct store_cursor *c, const void *key, size_t klen, const void **k,
		      size_t *kl, const void **v, size_t *vl);
int store_cursor_next(struct store_cursor *c, const void **k, size_t *kl, const void **v,
		      size_t *vl);
/* Position at the last key. 0 or OS_ENOTFOUND (empty). Results valid as
 * for store_get. */
int store_cursor_last(struct store_cursor *c, const void **k, size_t *kl, const void **v,
		      size_t *vl);
/* Delete the entry under the cursor. */
int store_cursor_del(struct store_cursor *c);

/* ------------------------------------------------------------ walks
 * The one way to visit or delete a range of keys; modules do not hand-roll
 * cursor loops. */

enum store_visit {
	STORE_NEXT = 0, /* go on */
	STORE_STOP = 1, /* end the walk; the entry is kept */
	STORE_DROP = 2, /* delete this entry (write transactions only) and go on */
};

/* Called for each entry by store_walk. k and v stay valid as store_get's
 * do: until the transaction ends or writes (a STORE_DROP is a write), also
 * after the walk returned, so a caller may hand them on without a copy.
 * Returns an enum store_visit, or a negative error that ends the walk and
 * is returned by it. */
typedef int (*store_walk_fn)(void *arg, const void *k, size_t kl, const void *v, size_t vl);

/* Visit, in key order, db's entries whose keys begin with prefix (plen 0:
 * every key), starting at the first key >= from (NULL: the prefix's first
 * key). 0 when the walk ended (at the end, past the prefix, or by
 * STORE_STOP), fn's negative error, OS_EINVAL (STORE_DROP in a read-only
 * transaction), OS_ENOMEM or a store error (OS_ESTORE, OS_ESTOREFULL). */
int store_walk(struct store_txn *t, store_dbi db, const void *prefix, size_t plen, const void *from,
	       size_t flen, store_walk_fn fn, void *arg);

/* Delete db's entries with from <= key < to in key order (from NULL: from
 * the first key; to NULL: to the last), at most max of them (0: no limit).
 * *deleted (may be NULL) gets the number deleted, *more (may be NULL) is
 * set to 1 when max stopped it before the range's end. 0, OS_EINVAL (a
 * read-only transaction), OS_ENOMEM or a store error. */
int store_del_range(struct store_txn *t, store_dbi db, const void *from, size_t flen,
		    const void *to, size_t tlen, uint64_t max, uint64_t *deleted, int *more);

#endif
