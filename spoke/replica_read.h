/* The in-process read path of the spoke's dataset replica, free of the
 * daemon so that tools and the benchmark can link it (CMake target
 * onestop_spoke_replica_read, which needs only onestop_common): the
 * replica's databases, the key and record layout of ds_cache, decoding a
 * stored record, and replica_read (the path the API's Get takes).
 *
 * Store layout: ds_cache (dataset NUL key -> u64be seq || Signed, the
 * publisher's envelope byte for byte), ds_pos (dataset -> 16-byte hub epoch
 * || u64be seq || u8 syncing). */
#ifndef SPOKE_REPLICA_READ_H
#define SPOKE_REPLICA_READ_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "store.h"
#include "util.h"

struct env;
struct Onestop__Signed;
struct Onestop__Envelope;
struct Onestop__ChangeRequest;

#define REPLICA_EKEY_MAX (OS_NAME_MAX + DS_KEY_MAX + 1) /* dataset NUL key */
/* Largest Signed of a change: the ChangeRequest bound (value, key, 1 KiB)
 * plus the envelope and batch proof around it (8 KiB). */
#define REPLICA_SIGNED_MAX (DS_VALUE_MAX + DS_KEY_MAX + 1024u + 8192u)

/* One entry of a dataset as the spoke holds it. */
struct replica_entry {
	char key[DS_KEY_MAX + 1];
	uint8_t value[DS_VALUE_MAX]; /* the ChangeRequest's value (packed
				       * IdentityValue, ItemValue or opaque) */
	size_t value_len;
	char publisher[OS_NAME_MAX]; /* origin of the change that wrote it */
	uint64_t seq;                /* dataset seq of that change */
	uint64_t updated_ms;         /* when the publisher signed it */
};

/* Open (creating if needed) the replica's databases in store s and
 * remember them for replica_read on s. Usable on a spoke's data dir opened
 * with store_open(dir, map_mb, max_dbs >= 2, &s) while the spoke is
 * stopped, as the daemon itself does at start. replica_db / pos_db (either
 * may be NULL) receive the handles of ds_cache and ds_pos. At most 8
 * stores are remembered per process; not thread-safe (call at start-up).
 * 0, OS_EFULL (too many stores) or OS_ESTORE. */
int replica_dbis(struct store *s, store_dbi *replica_db, store_dbi *pos_db);

/* Forget s (call before closing it), so that its slot may serve another
 * store. Unknown or NULL s: nothing. */
void replica_dbis_release(struct store *s);

/* Look key up in dataset in s (after replica_dbis(s, ...)): begin a read
 * transaction, read the entry, decode its Signed -> Envelope ->
 * ChangeRequest, copy key, value, publisher, seq and signing time into
 * *out, end the transaction. The entry was verified when it was stored
 * and is not verified again. 0, OS_ENOTFOUND, OS_EINVAL (bad name or key,
 * or replica_dbis not called for s), OS_EDECODE (a stored record that does
 * not decode) or OS_ESTORE. */
int replica_read(struct store *s, const char *dataset, const char *key, struct replica_entry *out);

/* ------------------------------------------------------------ records */

/* The ds_cache key of (dataset, key) into buf (REPLICA_EKEY_MAX bytes):
 * its length, or 0 when either is empty or too long. */
size_t replica_ekey(uint8_t *buf, const char *dataset, const char *key);

/* A bump allocator for the unpacks below, so that decoding a record costs
 * no malloc per field: what was decoded with it is released all at once by
 * replica_arena_reset. Allocations that do not fit in buf go to malloc and
 * are freed by the reset. */
struct replica_arena {
	uint8_t *buf; /* the caller's (may be on its stack) */
	size_t cap, used;
	void **big; /* the malloc'd ones */
	size_t n_big, cap_big;
};

/* An empty arena over buf (cap bytes). */
void replica_arena_init(struct replica_arena *a, void *buf, size_t cap);
/* Release everything allocated from a (its records must not be used
 * afterwards); a stays usable. */
void replica_arena_reset(struct replica_arena *a);

/* A stored record (u64be seq || Signed) unpacked down to its change. */
struct replica_rec {
	uint64_t seq;
	struct Onestop__Signed *sg;
	struct Onestop__Envelope *env;
	struct Onestop__ChangeRequest *cr; /* key, value */
	struct replica_arena *arena;       /* where it was unpacked, or NULL: malloc */
};

/* Unpack a stored record (verified when it was stored: not verified
 * again), into arena a (NULL: malloc). 0 or OS_EDECODE; on success the
 * caller calls replica_rec_clear (which also accepts a zeroed or failed r)
 * before a's next reset. */
int replica_rec_decode(const uint8_t *rec, size_t len, struct replica_arena *a,
		       struct replica_rec *r);
void replica_rec_clear(struct replica_rec *r);

/* Decode a publisher's packed Signed (len bytes) into *e for env_verify,
 * with the checks of env_decode (sizes, ids, names, proof shape), unpacked
 * into arena a (NULL: malloc); e points into the messages kept in r, which
 * the caller clears with replica_rec_clear (r->cr stays NULL; e needs no
 * env_clear). 0, OS_ETOOBIG or OS_EDECODE. */
int replica_env_view(const uint8_t *sg, size_t len, struct replica_arena *a, struct replica_rec *r,
		     struct env *e);

#endif
