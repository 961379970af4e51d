/* The spoke's outbox in LMDB: appending batch-signed messages, deleting
 * what the hub acknowledged, and walking what is left for the push stream.
 * Seqs are contiguous: they are handed out in the same transaction that
 * stores the next one in meta, so a failed commit gives them back. */
#include "outbox.h"

#include <string.h>

#include "crypto.h"
#include "err.h"
#include "spoke.h"
#include "util.h"

#define META_EPOCH "outbox_epoch"
#define META_NEXT "outbox_next"

int outbox_load(struct spoke *sp, struct store_txn *t, int create)
{
	const void *v;
	size_t vl;
	int rc = store_get(t, sp->db_meta, META_EPOCH, strlen(META_EPOCH), &v, &vl);
	if (rc == 0 && vl == OUTBOX_EPOCH_LEN) {
		memcpy(sp->ob.epoch, v, OUTBOX_EPOCH_LEN);
	} else if (rc == 0) {
		return OS_ESTORE; /* someone else's meta: never guess an epoch */
	} else if (rc == OS_ENOTFOUND && create) {
		/* A new store starts a new push stream at the hub. */
		crypto_random(sp->ob.epoch, OUTBOX_EPOCH_LEN);
		rc = store_put(t, sp->db_meta, META_EPOCH, strlen(META_EPOCH), sp->ob.epoch,
			       OUTBOX_EPOCH_LEN);
		if (rc < 0)
			return rc;
	} else {
		return rc;
	}
	uint64_t next;
	if ((rc = store_get_u64(t, sp->db_meta, META_NEXT, 1, &next)) < 0)
		return rc;
	sp->ob.next = next ? next : 1;
	uint64_t n;
	if ((rc = store_count(t, sp->db_outbox, &n)) < 0)
		return rc;
	sp->ob.count = n;
	return 0;
}

int outbox_append(struct spoke *sp, const uint8_t *msg, size_t len, uint64_t *seq)
{
	struct store_txn *t = NULL;
	int rc = spoke_txn(sp, &t);
	if (rc < 0)
		return rc;
	uint8_t key[8];
	uint64_t s = sp->ob.next;
	os_put_u64be(key, s);
	if ((rc = spoke_wrote(sp, store_append(t, sp->db_outbox, key, sizeof key, msg, len))) < 0)
		return rc;
	if ((rc = spoke_wrote(sp, store_put_u64(t, sp->db_meta, META_NEXT, s + 1))) < 0)
		return rc;
	sp->ob.next = s + 1;
	sp->ob.count++;
	if (seq)
		*seq = s;
	return 0;
}

int outbox_delete_upto(struct spoke *sp, uint64_t upto, uint64_t *deleted)
{
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	uint64_t n = 0;
	int rc;
	if (deleted)
		*deleted = 0;
	if (upto == 0 || sp->ob.count == 0)
		return 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if ((rc = store_cursor_open(t, sp->db_outbox, &c)) < 0) {
		spoke_wrote(sp, rc);
		goto out;
	}
	const void *k, *v;
	size_t kl, vl;
	rc = store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl);
	while (rc == 0) {
		if (kl != 8 || os_get_u64be(k) > upto)
			break;
		if ((rc = spoke_wrote(sp, store_cursor_del(c))) < 0)
			goto out;
		n++;
		rc = store_cursor_next(c, &k, &kl, &v, &vl);
	}
	if (rc == OS_ENOTFOUND)
		rc = 0;
	if (rc < 0)
		spoke_wrote(sp, rc);
out:
	store_cursor_close(&c);
	sp->ob.count = sp->ob.count >= n ? sp->ob.count - n : 0;
	if (deleted)
		*deleted = n;
	return rc;
}

int outbox_walk(struct spoke *sp, struct store_txn *t, uint64_t from, outbox_fn fn,
		void *arg)
{
	struct store_cursor *c = NULL;
	uint8_t key[8];
	const void *k, *v;
	size_t kl, vl;
	int rc = store_cursor_open(t, sp->db_outbox, &c);
	if (rc < 0)
		return rc;
	os_put_u64be(key, from);
	rc = store_cursor_seek(c, key, sizeof key, &k, &kl, &v, &vl);
	while (rc == 0) {
		if (kl == 8 && fn(arg, os_get_u64be(k), v, vl))
			break;
		rc = store_cursor_next(c, &k, &kl, &v, &vl);
	}
	if (rc == OS_ENOTFOUND)
		rc = 0;
	store_cursor_close(&c);
	return rc;
}
