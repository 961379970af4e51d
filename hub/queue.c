/* The hub's message store and per-destination queues over common/store,
 * in the hub's store and its iteration's transaction (state.c). Bodies are
 * stored once (msgs, with a reference count) and queued by reference;
 * in-memory counters give each queue's length for the quota. */
#include "queue.h"

#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "store.h"
#include "util.h"

#define QKEY_MAX (OS_NAME_MAX + 9)

/* The length of one destination's queue. count is committed; delta is what
 * the open transaction added or removed, folded in or dropped at its end. */
struct qdest {
	uint64_t count;
	int64_t delta;
	int touched;
	struct qdest *next_touched;
	/* acknowledged by the reader: entries <= acked are gone for every
	 * purpose but the disk; those <= deleted are gone there too */
	uint64_t acked;
	uint64_t deleted;
	uint64_t deleting; /* what the open transaction deletes up to */
	int pending;       /* on the queue's pending list */
	struct qdest *next_pending;
	char name[OS_NAME_MAX];
};

struct queue {
	struct hub *h; /* its store and the iteration's transaction */
	store_dbi meta, msgs, queues, qnext, origins;
	uint8_t epoch[QUEUE_EPOCH_LEN];
	uint64_t next_msgno; /* see queue_find_next_msgno */
	struct map *dests;   /* dest -> struct qdest */
	struct qdest *touched;
	struct qdest *pending; /* acked entries not yet deleted durably */
	uint64_t pending_since_us;
	uint64_t total;
	int64_t total_delta;
	uint8_t sweep_key[QKEY_MAX]; /* where the next sweep starts; empty: first */
	size_t sweep_klen;
};

static uint32_t get_u32be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u32be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* dest NUL u64be(qseq); 0 when dest is too long to be a name. */
static size_t qkey(uint8_t *buf, const char *dest, uint64_t qseq)
{
	size_t dlen = strlen(dest);

	if (dlen == 0 || dlen >= OS_NAME_MAX)
		return 0;
	memcpy(buf, dest, dlen);
	buf[dlen] = 0;
	os_put_u64be(buf + dlen + 1, qseq);
	return dlen + 9;
}

/* Split a queues key into its destination (NUL-terminated inside the key)
 * and qseq; OS_EDECODE when the key is not of that shape. */
static int qkey_parse(const uint8_t *k, size_t kl, const char **dest, uint64_t *qseq)
{
	if (kl < 10 || kl > QKEY_MAX || k[kl - 9] != 0 || strlen((const char *)k) != kl - 9)
		return OS_EDECODE;
	*dest = (const char *)k;
	*qseq = os_get_u64be(k + kl - 8);
	return 0;
}

static struct qdest *qdest_get(struct queue *q, const char *dest, int create)
{
	struct qdest *d = map_get(q->dests, dest);

	if (d || !create)
		return d;
	if (strlen(dest) >= OS_NAME_MAX)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	memcpy(d->name, dest, strlen(dest) + 1);
	if (map_put(q->dests, dest, d) != 0) {
		free(d);
		return NULL;
	}
	return d;
}

/* Record a change of dest's length in the open transaction. If the counter
 * cannot be allocated the count is merely off (it only steers the quota). */
static void qdest_change(struct queue *q, const char *dest, int64_t by)
{
	struct qdest *d = qdest_get(q, dest, 1);

	q->total_delta += by;
	if (!d)
		return;
	d->delta += by;
	if (!d->touched) {
		d->touched = 1;
		d->next_touched = q->touched;
		q->touched = d;
	}
}

/* The end of a transaction for the pending deletions: committed ones are
 * done, aborted ones wait for the next transaction. */
static void qdest_settle_acks(struct queue *q, int committed)
{
	struct qdest **pp = &q->pending;

	while (*pp) {
		struct qdest *d = *pp;

		if (committed && d->deleting > d->deleted)
			d->deleted = d->deleting;
		d->deleting = d->deleted;
		if (d->deleted >= d->acked) {
			d->pending = 0;
			*pp = d->next_pending;
			d->next_pending = NULL;
			continue;
		}
		pp = &d->next_pending;
	}
}

static void qdest_settle(struct queue *q, int keep)
{
	while (q->touched) {
		struct qdest *d = q->touched;

		if (keep) {
			int64_t c = (int64_t)d->count + d->delta;

			d->count = c < 0 ? 0 : (uint64_t)c;
		}
		d->delta = 0;
		d->touched = 0;
		q->touched = d->next_touched;
		d->next_touched = NULL;
	}
	if (keep) {
		int64_t t = (int64_t)q->total + q->total_delta;

		q->total = t < 0 ? 0 : (uint64_t)t;
	}
	q->total_delta = 0;
}

static int queue_count_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct queue *q = arg;
	const char *dest;
	uint64_t qseq;
	struct qdest *d;

	if (qkey_parse(k, kl, &dest, &qseq) != 0)
		return STORE_NEXT;
	d = qdest_get(q, dest, 1);
	if (!d)
		return OS_ENOMEM;
	d->count++;
	q->total++;
	return STORE_NEXT;
}

/* Count every queue's entries once at start; the counters are kept in
 * memory from then on. */
static int queue_count_all(struct queue *q)
{
	struct store_txn *t = NULL;
	int rc = store_begin(q->h->st, 1, &t);

	if (rc == 0)
		rc = store_walk(t, q->queues, NULL, 0, NULL, 0, queue_count_one, q);
	store_abort(&t);
	return rc;
}

/* Message numbers need not survive a restart: a body exists exactly while
 * a queue entry refers to it, so a new number only has to be above every
 * stored one. It is kept in memory from the stored bodies' last number
 * (and the "next_msgno" older versions stored, as a floor), which spares
 * every commit a write to meta. */
static int queue_find_next_msgno(struct queue *q)
{
	struct store_txn *t = NULL;
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	rc = store_begin(q->h->st, 1, &t);
	if (rc == 0)
		rc = store_get_u64(t, q->meta, "next_msgno", 1, &q->next_msgno);
	/* Not a store_walk: it reads only the last key. */
	if (rc == 0)
		rc = store_cursor_open(t, q->msgs, &c);
	if (rc == 0) {
		rc = store_cursor_last(c, &k, &kl, &v, &vl);
		if (rc == 0 && kl == 8 && os_get_u64be(k) >= q->next_msgno)
			q->next_msgno = os_get_u64be(k) + 1;
		if (rc == OS_ENOTFOUND)
			rc = 0;
	}
	if (q->next_msgno == 0)
		q->next_msgno = 1;
	store_cursor_close(&c);
	store_abort(&t);
	return rc;
}

int queue_open(struct hub *h, struct queue **out)
{
	struct queue *q = calloc(1, sizeof(*q));
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int rc;

	if (!q)
		return OS_ENOMEM;
	q->h = h;
	rc = map_new(&q->dests);
	if (rc)
		goto out;
	if ((rc = store_dbi_open(h->st, "meta", &q->meta)) ||
	    (rc = store_dbi_open(h->st, "msgs", &q->msgs)) ||
	    (rc = store_dbi_open(h->st, "queues", &q->queues)) ||
	    (rc = store_dbi_open(h->st, "qnext", &q->qnext)) ||
	    (rc = store_dbi_open(h->st, "origins", &q->origins)))
		goto out;

	/* The epoch names this store: a spoke that sees it change knows the
	 * deliver stream started again. */
	rc = store_begin(h->st, 0, &t);
	if (rc)
		goto out;
	rc = store_get(t, q->meta, "epoch", 5, &v, &vl);
	if (rc == 0 && vl == QUEUE_EPOCH_LEN) {
		memcpy(q->epoch, v, QUEUE_EPOCH_LEN);
		store_abort(&t);
	} else if (rc == 0 || rc == OS_ENOTFOUND) {
		crypto_random(q->epoch, QUEUE_EPOCH_LEN);
		rc = store_put(t, q->meta, "epoch", 5, q->epoch, QUEUE_EPOCH_LEN);
		if (rc)
			goto out;
		rc = store_commit(&t);
		if (rc)
			goto out;
	} else {
		goto out;
	}
	rc = queue_count_all(q);
	if (rc == 0)
		rc = queue_find_next_msgno(q);
	h->stats.queued = q->total;
out:
	store_abort(&t);
	if (rc) {
		queue_close(&q);
		return rc;
	}
	*out = q;
	return 0;
}

void queue_close(struct queue **qp)
{
	struct queue *q = *qp;

	if (!q)
		return;
	if (q->dests) {
		size_t pos = 0;
		void *d;

		while ((d = map_next(q->dests, &pos, NULL)))
			free(d);
		map_free(&q->dests);
	}
	free(q);
	*qp = NULL;
}

const uint8_t *queue_epoch(const struct queue *q)
{
	return q->epoch;
}

void queue_txn_end(struct queue *q, int committed)
{
	qdest_settle(q, committed);
	qdest_settle_acks(q, committed);
	q->h->stats.queued = q->total;
}

/* Note the outcome of a write in the iteration's transaction. */
static int queue_wrote(struct queue *q, int rc)
{
	return hub_wrote(q->h, rc);
}

int queue_origin_get(struct queue *q, const char *origin, uint8_t epoch[QUEUE_EPOCH_LEN],
		     uint64_t *last)
{
	struct store_txn *t;
	const void *v;
	size_t vl;
	int rc = hub_txn(q->h, &t);

	if (rc)
		return rc;
	rc = store_get(t, q->origins, origin, strlen(origin), &v, &vl);
	if (rc)
		return rc;
	if (vl != QUEUE_EPOCH_LEN + 8)
		return OS_ENOTFOUND; /* unreadable: start the stream afresh */
	memcpy(epoch, v, QUEUE_EPOCH_LEN);
	*last = os_get_u64be((const uint8_t *)v + QUEUE_EPOCH_LEN);
	return 0;
}

int queue_origin_put(struct queue *q, const char *origin, const uint8_t epoch[QUEUE_EPOCH_LEN],
		     uint64_t last)
{
	uint8_t v[QUEUE_EPOCH_LEN + 8];
	struct store_txn *t;
	int rc = hub_txn(q->h, &t);

	if (rc)
		return rc;
	memcpy(v, epoch, QUEUE_EPOCH_LEN);
	os_put_u64be(v + QUEUE_EPOCH_LEN, last);
	return queue_wrote(q, store_put(t, q->origins, origin, strlen(origin), v, sizeof(v)));
}

static int qnext_get(struct queue *q, struct store_txn *t, const char *dest, uint64_t *next)
{
	const void *v;
	size_t vl;
	int rc = store_get(t, q->qnext, dest, strlen(dest), &v, &vl);

	if (rc == OS_ENOTFOUND || (rc == 0 && vl != 8)) {
		*next = 1; /* qseq 0 is reserved: prev_seq 0 means "stream start" */
		return 0;
	}
	if (rc)
		return rc;
	*next = os_get_u64be(v);
	if (*next == 0)
		*next = 1;
	return 0;
}

int queue_put(struct queue *q, const char *const *dests, size_t n, const uint8_t *msg, size_t len,
	      uint64_t expires_ms)
{
	uint8_t mk[8], qk[QKEY_MAX], qv[16], nv[8];
	uint8_t *body = NULL;
	struct store_txn *t;
	uint64_t msgno;
	int rc = hub_txn(q->h, &t);

	if (rc)
		return rc;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX)
		return OS_EINVAL;
	body = malloc(len + 4);
	if (!body)
		return OS_ENOMEM;
	put_u32be(body, (uint32_t)n);
	memcpy(body + 4, msg, len);
	/* Numbers used in a transaction that is aborted are not reused: the
	 * counter only moves forward. */
	msgno = q->next_msgno++;
	os_put_u64be(mk, msgno);
	rc = queue_wrote(q, store_put(t, q->msgs, mk, 8, body, len + 4));
	if (rc)
		goto out;
	os_put_u64be(qv, msgno);
	os_put_u64be(qv + 8, expires_ms);
	for (size_t i = 0; i < n; i++) {
		uint64_t qseq;
		size_t kl;

		rc = qnext_get(q, t, dests[i], &qseq);
		if (rc)
			goto out;
		kl = qkey(qk, dests[i], qseq);
		if (kl == 0) {
			rc = OS_ENAME;
			goto out;
		}
		rc = queue_wrote(q, store_put(t, q->queues, qk, kl, qv, sizeof(qv)));
		if (rc)
			goto out;
		os_put_u64be(nv, qseq + 1);
		rc = queue_wrote(q, store_put(t, q->qnext, dests[i], strlen(dests[i]), nv, 8));
		if (rc)
			goto out;
		qdest_change(q, dests[i], 1);
	}
out:
	free(body);
	return rc;
}

uint64_t queue_count(struct queue *q, const char *dest)
{
	struct qdest *d = qdest_get(q, dest, 0);
	int64_t c;

	if (!d)
		return 0;
	c = (int64_t)d->count + d->delta;
	return c < 0 ? 0 : (uint64_t)c;
}

uint64_t queue_total(const struct queue *q)
{
	int64_t t = (int64_t)q->total + q->total_delta;

	return t < 0 ? 0 : (uint64_t)t;
}

/* Drop one reference to message msgno; the body goes with the last one. */
static int queue_release(struct queue *q, struct store_txn *t, uint64_t msgno)
{
	uint8_t k[8];
	const void *v;
	size_t vl;
	uint32_t refs;
	uint8_t *copy;
	int rc;

	os_put_u64be(k, msgno);
	rc = store_get(t, q->msgs, k, 8, &v, &vl);
	if (rc == OS_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	refs = vl >= 4 ? get_u32be(v) : 0;
	if (refs <= 1)
		return queue_wrote(q, store_del(t, q->msgs, k, 8));
	/* Copy first: the value points into the map, which the put rewrites. */
	copy = malloc(vl);
	if (!copy)
		return OS_ENOMEM;
	memcpy(copy, v, vl);
	put_u32be(copy, refs - 1);
	rc = queue_wrote(q, store_put(t, q->msgs, k, 8, copy, vl));
	free(copy);
	return rc;
}

/* Delete the queue entry at key k (its value v already read) and release
 * its body. */
static int queue_drop_entry(struct queue *q, struct store_txn *t, const char *dest,
			    const uint8_t *k, size_t kl, uint64_t msgno)
{
	int rc = store_del(t, q->queues, k, kl);

	if (rc == OS_ENOTFOUND)
		return 0;
	if (queue_wrote(q, rc))
		return rc;
	qdest_change(q, dest, -1);
	return queue_release(q, t, msgno);
}

int queue_scan(struct queue *q, const char *dest, uint64_t after, queue_scan_fn fn, void *arg,
	       int *at_end)
{
	struct store_cursor *c = NULL;
	uint8_t k[QKEY_MAX];
	size_t kl, dlen = strlen(dest);
	struct store_txn *t;
	int rc;

	*at_end = 0;
	rc = hub_txn(q->h, &t);
	if (rc)
		return rc;
	{
		const struct qdest *d = qdest_get(q, dest, 0);

		/* Acknowledged entries waiting for deletion are not there. */
		if (d && after < d->acked)
			after = d->acked;
	}
	if (after == UINT64_MAX) {
		*at_end = 1;
		return 0;
	}
	kl = qkey(k, dest, after + 1);
	if (kl == 0) {
		*at_end = 1;
		return 0;
	}
	/* Not a store_walk: it deletes from the walked database through
	 * queue_drop_entry (store_del), so it seeks afresh after each entry. */
	rc = store_cursor_open(t, q->queues, &c);
	if (rc)
		return rc;
	for (;;) {
		const void *ck, *cv, *mv;
		size_t ckl, cvl, mvl;
		uint64_t qseq, msgno, expires;
		enum queue_visit what;
		uint8_t mk[8];

		rc = store_cursor_seek(c, k, kl, &ck, &ckl, &cv, &cvl);
		if (rc == OS_ENOTFOUND) {
			*at_end = 1;
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (ckl != dlen + 9 || memcmp(ck, k, dlen + 1) != 0) {
			*at_end = 1;
			break;
		}
		qseq = os_get_u64be((const uint8_t *)ck + dlen + 1);
		memcpy(k, ck, ckl);
		if (cvl != 16) {
			os_log(OS_LOG_ERROR, "queue_entry_bad", "dest=%s qseq=%llu", dest,
			       (unsigned long long)qseq);
			rc = queue_wrote(q, store_cursor_del(c));
			if (rc)
				break;
			qdest_change(q, dest, -1);
			goto next;
		}
		msgno = os_get_u64be(cv);
		expires = os_get_u64be((const uint8_t *)cv + 8);
		os_put_u64be(mk, msgno);
		rc = store_get(t, q->msgs, mk, 8, &mv, &mvl);
		if (rc == OS_ENOTFOUND || (rc == 0 && mvl < 4)) {
			os_log(OS_LOG_ERROR, "queue_body_missing", "dest=%s qseq=%llu msgno=%llu",
			       dest, (unsigned long long)qseq, (unsigned long long)msgno);
			rc = queue_drop_entry(q, t, dest, k, ckl, msgno);
			if (rc)
				break;
			goto next;
		}
		if (rc)
			break;
		what = fn(arg, qseq, expires, (const uint8_t *)mv + 4, mvl - 4);
		if (what == QUEUE_STOP)
			break;
		if (what == QUEUE_DROP) {
			rc = queue_drop_entry(q, t, dest, k, ckl, msgno);
			if (rc)
				break;
		}
next:
		/* Seek past this entry afresh rather than trusting the
		 * cursor across deletes and writes to other databases. */
		if (qseq == UINT64_MAX) {
			*at_end = 1;
			break;
		}
		os_put_u64be(k + dlen + 1, qseq + 1);
	}
	store_cursor_close(&c);
	return rc;
}

int queue_ack(struct queue *q, const char *dest, uint64_t upto, uint64_t *removed)
{
	struct store_cursor *c = NULL;
	uint8_t k[QKEY_MAX];
	size_t kl, dlen = strlen(dest);
	struct store_txn *t;
	int rc;

	*removed = 0;
	rc = hub_txn(q->h, &t);
	if (rc)
		return rc;
	kl = qkey(k, dest, 0);
	if (kl == 0)
		return 0;
	/* Not a store_walk: it deletes from the walked database through
	 * queue_drop_entry (store_del), so it seeks afresh after each entry. */
	rc = store_cursor_open(t, q->queues, &c);
	if (rc)
		return rc;
	for (;;) {
		const void *ck, *cv;
		size_t ckl, cvl;
		uint64_t qseq, msgno;

		rc = store_cursor_seek(c, k, kl, &ck, &ckl, &cv, &cvl);
		if (rc == OS_ENOTFOUND) {
			rc = 0;
			break;
		}
		if (rc)
			break;
		if (ckl != dlen + 9 || memcmp(ck, k, dlen + 1) != 0)
			break;
		qseq = os_get_u64be((const uint8_t *)ck + dlen + 1);
		if (qseq > upto)
			break;
		msgno = cvl == 16 ? os_get_u64be(cv) : 0;
		memcpy(k, ck, ckl);
		rc = queue_drop_entry(q, t, dest, k, ckl, msgno);
		if (rc)
			break;
		(*removed)++;
		if (qseq == UINT64_MAX)
			break;
		os_put_u64be(k + dlen + 1, qseq + 1);
	}
	store_cursor_close(&c);
	return rc;
}

int queue_sweep(struct queue *q, uint64_t now_ms, unsigned budget, queue_expire_fn fn, void *arg,
		uint64_t *removed)
{
	struct store_cursor *c = NULL;
	uint8_t k[QKEY_MAX];
	size_t kl = q->sweep_klen;
	struct store_txn *t;
	int rc;

	*removed = 0;
	rc = hub_txn(q->h, &t);
	if (rc)
		return rc;
	memcpy(k, q->sweep_key, kl);
	/* Not a store_walk: it deletes from the walked database through
	 * queue_drop_entry (store_del), so it seeks afresh after each entry. */
	rc = store_cursor_open(t, q->queues, &c);
	if (rc)
		return rc;
	for (;;) {
		const void *ck, *cv, *mv;
		size_t ckl, cvl, mvl;
		const char *dest;
		uint64_t qseq, msgno, expires;
		uint8_t mk[8];

		rc = store_cursor_seek(c, kl ? k : NULL, kl, &ck, &ckl, &cv, &cvl);
		if (rc == OS_ENOTFOUND) {
			rc = 0;
			kl = 0; /* wrap around next time */
			break;
		}
		if (rc)
			break;
		if (ckl > QKEY_MAX) {
			kl = 0;
			break;
		}
		memcpy(k, ck, ckl);
		kl = ckl;
		if (budget == 0)
			break; /* the next sweep starts at this entry */
		budget--;
		if (qkey_parse(k, kl, &dest, &qseq) != 0 || cvl != 16)
			goto next;
		msgno = os_get_u64be(cv);
		expires = os_get_u64be((const uint8_t *)cv + 8);
		if (expires > now_ms)
			goto next;
		{
			const struct qdest *d = qdest_get(q, dest, 0);

			if (d && qseq <= d->acked)
				goto next; /* delivered; its deletion is pending */
		}
		os_put_u64be(mk, msgno);
		rc = store_get(t, q->msgs, mk, 8, &mv, &mvl);
		if (rc == OS_ENOTFOUND || (rc == 0 && mvl < 4)) {
			mv = NULL;
			mvl = 4;
		} else if (rc) {
			break;
		}
		if (fn(arg, dest, qseq, mv ? (const uint8_t *)mv + 4 : NULL, mvl - 4)) {
			rc = queue_drop_entry(q, t, dest, k, kl, msgno);
			if (rc)
				break;
			(*removed)++;
		}
next:
		/* Step past k: appending a zero byte gives the least greater key. */
		if (kl >= QKEY_MAX) {
			kl = 0;
			break;
		}
		k[kl++] = 0;
	}
	store_cursor_close(&c);
	if (rc == 0) {
		memcpy(q->sweep_key, k, kl);
		q->sweep_klen = kl;
	}
	return rc;
}

int queue_ack_later(struct queue *q, const char *dest, uint64_t upto, uint64_t now_us)
{
	struct qdest *d = qdest_get(q, dest, 1);

	if (!d)
		return OS_ENOMEM;
	if (upto <= d->acked)
		return 0;
	d->acked = upto;
	if (!d->pending) {
		if (!q->pending)
			q->pending_since_us = now_us;
		d->pending = 1;
		d->next_pending = q->pending;
		q->pending = d;
	}
	return 0;
}

int queue_acks_pending(const struct queue *q, uint64_t *since_us)
{
	if (since_us)
		*since_us = q->pending_since_us;
	for (const struct qdest *d = q->pending; d; d = d->next_pending)
		if (d->acked > d->deleting)
			return 1;
	return 0;
}

/* Delete every acknowledged entry in the iteration's transaction. They
 * count as deleted once it commits; after an abort they wait again. */
static int queue_settle_acks(struct queue *q, uint64_t *removed)
{
	*removed = 0;
	for (struct qdest *d = q->pending; d; d = d->next_pending) {
		uint64_t n = 0;
		int rc;

		if (d->acked <= d->deleting)
			continue;
		rc = queue_ack(q, d->name, d->acked, &n);
		if (rc)
			return rc;
		d->deleting = d->acked;
		*removed += n;
	}
	return 0;
}

int queue_settle(struct queue *q, int force)
{
	struct hub *h = q->h;
	uint64_t since, removed = 0;
	int rc;

	if (!queue_acks_pending(q, &since))
		return 0;
	if (!force && !(h->txn && h->dirty) &&
	    h->now_us < since + (uint64_t)HUB_LAZY_DELETE_MS * 1000)
		return 0;
	rc = queue_settle_acks(q, &removed);
	if (rc)
		hub_fail(h, rc);
	else
		h->stats.delivered += removed;
	return rc;
}

/* ---------------------------------------------------------------- loop */

static void queue_before_commit(void *ctx)
{
	(void)queue_settle(ctx, 0);
}

static void queue_after_commit(void *ctx, int rc)
{
	queue_txn_end(ctx, rc == 0);
}

/* Acked entries wait at most HUB_LAZY_DELETE_MS for a commit (but not
 * through a backoff). */
static uint64_t queue_deadline(void *ctx)
{
	struct queue *q = ctx;
	uint64_t since;

	if (!queue_acks_pending(q, &since))
		return UINT64_MAX;
	return hub_not_before(q->h, since + (uint64_t)HUB_LAZY_DELETE_MS * 1000);
}

int queue_attach(struct queue *q, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "queue",
		.before_commit = queue_before_commit,
		.after_commit = queue_after_commit,
		.deadline_us = queue_deadline,
		.ctx = q,
	};

	return loop_add(l, &hooks);
}
