/* The spoke's outbox in LMDB: appending batch-signed messages, deleting
 * what the hub acknowledged, and walking what is left for the push stream.
 * Seqs are contiguous and deletions only ever take a prefix, so the last
 * entry's seq + 1 is the next seq; meta holds it only for when the outbox
 * is empty (written in outbox_flush). A failed commit gives the seqs of its
 * appends back. */
#include "outbox.h"

#include <string.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "spoke.h"
#include "util.h"

#define META_EPOCH "outbox_epoch"
#define META_NEXT "outbox_next"
#define KEY_REC_LEN (sizeof(os_msgid) + 8u + sizeof(os_hash)) /* id | u64be ms | digest */
#define KEY_PRUNE_EVERY_US 60000000u
#define KEY_PRUNE_MAX 10000u /* keys pruned per commit */

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
	sp->ob.next_stored = next;
	struct store_cursor *c = NULL;
	const void *k;
	size_t kl;
	/* Not a store_walk: it reads only the last key. */
	if ((rc = store_cursor_open(t, sp->db_outbox, &c)) < 0)
		return rc;
	rc = store_cursor_last(c, &k, &kl, &v, &vl);
	if (rc == 0 && kl == 8 && os_get_u64be(k) >= next)
		next = os_get_u64be(k) + 1;
	store_cursor_close(&c);
	if (rc < 0 && rc != OS_ENOTFOUND)
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
	sp->ob.next = s + 1;
	sp->ob.count++;
	if (seq)
		*seq = s;
	return 0;
}

void outbox_ack(struct spoke *sp, uint64_t upto, uint64_t now_us)
{
	struct outbox *ob = &sp->ob;
	if (upto <= ob->acked)
		return;
	ob->acked = upto;
	if (ob->acked_us == 0)
		ob->acked_us = now_us ? now_us : 1;
}

int outbox_settle(struct spoke *sp, uint64_t now_us, int force)
{
	struct outbox *ob = &sp->ob;
	if (ob->acked <= ob->deleting)
		return 0;
	if (!force && !sp->txn_dirty && now_us < ob->acked_us + OUTBOX_LAZY_DELETE_US)
		return 0;
	int rc = outbox_delete_upto(sp, ob->acked, NULL);
	if (rc == 0)
		ob->deleting = ob->acked;
	return rc;
}

void outbox_committed(struct spoke *sp, int committed)
{
	struct outbox *ob = &sp->ob;
	if (committed)
		ob->deleted = ob->deleting;
	else if (ob->deleting > ob->deleted)
		ob->acked_us = os_mono_us(); /* try again in a while, not at once */
	ob->deleting = ob->deleted;
	if (ob->deleted >= ob->acked)
		ob->acked_us = 0;
}

uint64_t outbox_deadline_us(const struct spoke *sp)
{
	const struct outbox *ob = &sp->ob;
	return ob->acked > ob->deleted ? ob->acked_us + OUTBOX_LAZY_DELETE_US : UINT64_MAX;
}

int outbox_flush(struct spoke *sp)
{
	struct store_txn *t = NULL;
	int rc;
	/* While entries are held the last one tells the next seq. */
	if (sp->ob.count > 0 || sp->ob.next == sp->ob.next_stored)
		return 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if ((rc = spoke_wrote(sp, store_put_u64(t, sp->db_meta, META_NEXT, sp->ob.next))) < 0)
		return rc;
	sp->ob.next_stored = sp->ob.next; /* a failed commit reloads it */
	return 0;
}

int outbox_delete_upto(struct spoke *sp, uint64_t upto, uint64_t *deleted)
{
	struct store_txn *t = NULL;
	uint8_t to[8];
	uint64_t n = 0;
	int rc;
	if (deleted)
		*deleted = 0;
	if (upto == 0 || sp->ob.count == 0)
		return 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	/* Keys are u64be seqs: everything below upto + 1. */
	os_put_u64be(to, upto + 1);
	rc = store_del_range(t, sp->db_outbox, NULL, 0, upto == UINT64_MAX ? NULL : to, sizeof to,
			     0, &n, NULL);
	if (rc < 0 || n > 0)
		spoke_wrote(sp, rc);
	sp->ob.count = sp->ob.count >= n ? sp->ob.count - n : 0;
	if (deleted)
		*deleted = n;
	return rc;
}

struct outbox_walk_ctx {
	outbox_fn fn;
	void *arg;
};

/* One stored entry to outbox_walk's fn (store_walk); v is handed on as
 * it is, valid until the transaction ends. */
static int outbox_walk_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct outbox_walk_ctx *w = arg;
	if (kl == 8 && w->fn(w->arg, os_get_u64be(k), v, vl))
		return STORE_STOP;
	return STORE_NEXT;
}

int outbox_walk(struct spoke *sp, struct store_txn *t, uint64_t from, outbox_fn fn, void *arg)
{
	struct outbox_walk_ctx w = {.fn = fn, .arg = arg};
	uint8_t key[8];
	os_put_u64be(key, from);
	return store_walk(t, sp->db_outbox, NULL, 0, key, sizeof key, outbox_walk_one, &w);
}

/* ------------------------------------------------------------ keys */

int outbox_key_find(struct spoke *sp, const uint8_t *key, size_t klen, const os_hash digest,
		    uint64_t now_ms, os_msgid id)
{
	struct store_txn *t = NULL;
	const uint8_t *v;
	size_t vl;
	int rc = spoke_txn(sp, &t);
	if (rc < 0)
		return rc;
	if (klen == 0 || klen > OUTBOX_KEY_MAX)
		return OS_EINVAL;
	if ((rc = store_get(t, sp->db_sendkey, key, klen, (const void **)&v, &vl)) < 0)
		return rc;
	if (vl != KEY_REC_LEN)
		return OS_ENOTFOUND; /* not ours to trust: a new record replaces it */
	uint64_t at = os_get_u64be(v + sizeof(os_msgid));
	if (at + (uint64_t)sp->conf.send_key_window_s * 1000u <= now_ms)
		return OS_ENOTFOUND;
	memcpy(id, v, sizeof(os_msgid));
	return memcmp(v + sizeof(os_msgid) + 8, digest, sizeof(os_hash)) == 0 ? 0 : OS_EEXIST;
}

int outbox_key_put(struct spoke *sp, const uint8_t *key, size_t klen, const os_hash digest,
		   const os_msgid id, uint64_t now_ms)
{
	struct store_txn *t = NULL;
	uint8_t rec[KEY_REC_LEN];
	uint8_t age[8 + OUTBOX_KEY_MAX];
	int rc = spoke_txn(sp, &t);
	if (rc < 0)
		return rc;
	if (klen == 0 || klen > OUTBOX_KEY_MAX)
		return OS_EINVAL;
	memcpy(rec, id, sizeof(os_msgid));
	os_put_u64be(rec + sizeof(os_msgid), now_ms);
	memcpy(rec + sizeof(os_msgid) + 8, digest, sizeof(os_hash));
	os_put_u64be(age, now_ms);
	memcpy(age + 8, key, klen);
	if ((rc = spoke_wrote(sp, store_put(t, sp->db_sendkey, key, klen, rec, sizeof rec))) < 0)
		return rc;
	return spoke_wrote(sp, store_put(t, sp->db_sendkey_age, age, 8 + klen, "", 0));
}

struct outbox_prune_ctx {
	struct spoke *sp;
	struct store_txn *t;
	uint64_t cutoff_ms; /* records at or before it are expired */
	uint64_t max, n;
	int rc;
};

/* One age index entry: past the cutoff the walk stops; an expired one
 * drops its key record too, unless the key was used again since. */
static int outbox_prune_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct outbox_prune_ctx *c = arg;
	const uint8_t *rec;
	size_t rl;
	(void)v;
	(void)vl;
	if (c->n == c->max)
		return STORE_STOP;
	if (kl < 8 || kl > 8 + OUTBOX_KEY_MAX)
		return STORE_DROP;
	uint64_t at = os_get_u64be(k);
	if (at > c->cutoff_ms)
		return STORE_STOP;
	const uint8_t *key = (const uint8_t *)k + 8;
	int rc = store_get(c->t, c->sp->db_sendkey, key, kl - 8, (const void **)&rec, &rl);
	if (rc == 0 && rl == KEY_REC_LEN && os_get_u64be(rec + sizeof(os_msgid)) == at)
		rc = store_del(c->t, c->sp->db_sendkey, key, kl - 8);
	if (rc < 0 && rc != OS_ENOTFOUND)
		return rc;
	c->n++;
	return STORE_DROP;
}

int outbox_key_prune(struct spoke *sp, uint64_t now_ms, uint64_t max, uint64_t *pruned)
{
	uint64_t window_ms = (uint64_t)sp->conf.send_key_window_s * 1000u;
	struct outbox_prune_ctx c = {.sp = sp, .max = max};
	int rc;
	if (pruned)
		*pruned = 0;
	if (now_ms < window_ms)
		return 0;
	c.cutoff_ms = now_ms - window_ms;
	if ((rc = spoke_txn(sp, &c.t)) < 0)
		return rc;
	rc = store_walk(c.t, sp->db_sendkey_age, NULL, 0, NULL, 0, outbox_prune_one, &c);
	if (rc < 0 || c.n > 0)
		spoke_wrote(sp, rc);
	if (pruned)
		*pruned = c.n;
	return rc;
}

/* ------------------------------------------------------------ loop hooks */

static void outbox_before_commit_hook(void *ctx)
{
	struct spoke *sp = ctx;
	/* Acked entries go when the transaction writes anyway (or have waited
	 * long enough); the next seq goes in with the data, once. */
	uint64_t now = os_mono_us();
	if (outbox_settle(sp, now, 0) == 0)
		outbox_flush(sp);
	if (now >= sp->sendkey_prune_us && !sp->txn_err) {
		sp->sendkey_prune_us = now + KEY_PRUNE_EVERY_US;
		outbox_key_prune(sp, os_now_ms(), KEY_PRUNE_MAX, NULL);
	}
}

static void outbox_after_commit_hook(void *ctx, int commit_rc)
{
	struct spoke *sp = ctx;
	struct store_txn *t = NULL;
	int rc;
	outbox_committed(sp, commit_rc == 0);
	if (commit_rc == 0)
		return;
	/* Nothing of the iteration is durable: next and count go back to what
	 * the store holds (the seqs of lost appends are given back). */
	if ((rc = store_begin(sp->st, 1, &t)) == 0)
		rc = outbox_load(sp, t, 0);
	store_abort(&t);
	if (rc < 0)
		os_log(OS_LOG_ERROR, "store_reload_failed", "code=%s", os_errname(rc));
}

static uint64_t outbox_deadline_hook(void *ctx)
{
	return outbox_deadline_us(ctx);
}

int outbox_attach(struct spoke *sp, struct loop *l)
{
	struct loop_hooks h = {
		.name = "outbox",
		.before_commit = outbox_before_commit_hook,
		.after_commit = outbox_after_commit_hook,
		.deadline_us = outbox_deadline_hook,
		.ctx = sp,
	};
	return loop_add(l, &h);
}
