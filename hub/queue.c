/* The hub's message store and per-destination queues over common/store,
 * in the hub's store and its iteration's transaction (state.c). Bodies are
 * stored once (msgs, with a reference count) and queued by reference at
 * fair places (round robin across origins); in-memory counters of entries
 * and bytes per destination, per origin and in all steer the quotas. */
#include "queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "store.h"
#include "util.h"

#define QKEY_MAX (OS_NAME_MAX + 9)
#define QV_FIXED 25 /* msgno, expires, bytes, charge, flags; the origin follows */
#define QV_MAX (QV_FIXED + OS_NAME_MAX)
#define QV_HELD 1
#define QUEUE_ONUM_MAX ((1u << QUEUE_ROUND_SHIFT) - 1)
#define PAIR_KEY_MAX (2 * OS_NAME_MAX + 1)

/* A change of usage in the open transaction, folded in or dropped at its
 * end. */
struct qdelta {
	int64_t entries, bytes, held_entries, held_bytes;
};

/* One name, as a destination (its queue) and as an origin. */
struct qnode {
	struct queue_usage dst, org; /* committed */
	struct qdelta ddst, dorg;    /* the open transaction's */
	uint64_t front;              /* highest qseq handed to a reader (or the floor) */
	uint64_t qmax, qmax_txn;     /* highest qseq given, committed / with the txn */
	uint32_t num;                /* origin number, 0 until given */
	int num_durable;             /* its onums record is committed */
	int num_written;             /* ... or written in the open transaction */
	int touched;
	struct qnode *next_touched;
	/* acknowledged by the reader: entries <= acked are gone for every
	 * purpose but the disk; those <= deleted are gone there too */
	uint64_t acked;
	uint64_t deleted;
	uint64_t deleting; /* what the open transaction deletes up to */
	int pending;       /* on the queue's pending list */
	struct qnode *next_pending;
	char name[OS_NAME_MAX];
};

/* One (origin, destination) pair: the round of its last entry. */
struct qpair {
	uint64_t last_round;
};

/* A parsed queue value. */
struct qval {
	uint64_t msgno, expires_ms;
	uint32_t bytes, charge;
	uint8_t flags;
	char origin[OS_NAME_MAX];
};

struct queue {
	struct hub *h; /* its store and the iteration's transaction */
	store_dbi meta, msgs, queues, qnext, onums, origins;
	uint8_t epoch[QUEUE_EPOCH_LEN];
	uint64_t next_msgno; /* see queue_find_next_msgno */
	uint32_t next_onum;
	struct map *nodes; /* name -> struct qnode */
	struct map *pairs; /* "dest/origin" -> struct qpair */
	struct qnode *touched;
	struct qnode *pending; /* acked entries not yet deleted durably */
	uint64_t pending_since_us;
	struct queue_usage total;
	struct qdelta dtotal;
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

/* A queue value into buf (QV_MAX bytes); its length. */
static size_t qval_pack(uint8_t *buf, const struct qval *v)
{
	size_t olen = strlen(v->origin);

	os_put_u64be(buf, v->msgno);
	os_put_u64be(buf + 8, v->expires_ms);
	put_u32be(buf + 16, v->bytes);
	put_u32be(buf + 20, v->charge);
	buf[24] = v->flags;
	memcpy(buf + QV_FIXED, v->origin, olen);
	return QV_FIXED + olen;
}

/* OS_EDECODE when the value is not of format 2 (a format-1 value is 16
 * bytes). */
static int qval_parse(const uint8_t *p, size_t len, struct qval *v)
{
	if (len <= QV_FIXED || len >= QV_MAX || memchr(p + QV_FIXED, 0, len - QV_FIXED))
		return OS_EDECODE;
	v->msgno = os_get_u64be(p);
	v->expires_ms = os_get_u64be(p + 8);
	v->bytes = get_u32be(p + 16);
	v->charge = get_u32be(p + 20);
	v->flags = p[24];
	memcpy(v->origin, p + QV_FIXED, len - QV_FIXED);
	v->origin[len - QV_FIXED] = 0;
	return 0;
}

static struct qnode *qnode_get(const struct queue *q, const char *name, int create)
{
	struct qnode *d = map_get(q->nodes, name);

	if (d || !create)
		return d;
	if (strlen(name) >= OS_NAME_MAX)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	memcpy(d->name, name, strlen(name) + 1);
	if (map_put(q->nodes, name, d) != 0) {
		free(d);
		return NULL;
	}
	return d;
}

static struct qpair *qpair_get(struct queue *q, const char *dest, const char *origin, int create)
{
	char key[PAIR_KEY_MAX];
	struct qpair *p;

	snprintf(key, sizeof(key), "%s/%s", dest, origin);
	p = map_get(q->pairs, key);
	if (p || !create)
		return p;
	p = calloc(1, sizeof(*p));
	if (p && map_put(q->pairs, key, p) != 0) {
		free(p);
		p = NULL;
	}
	return p;
}

static void qnode_touch(struct queue *q, struct qnode *d)
{
	if (!d->touched) {
		d->touched = 1;
		d->next_touched = q->touched;
		q->touched = d;
	}
}

static void qdelta_add(struct qdelta *d, int sign, uint64_t bytes, int held)
{
	d->entries += sign;
	d->bytes += sign * (int64_t)bytes;
	if (held) {
		d->held_entries += sign;
		d->held_bytes += sign * (int64_t)bytes;
	}
}

static uint64_t fold(uint64_t v, int64_t d)
{
	int64_t r = (int64_t)v + d;

	return r < 0 ? 0 : (uint64_t)r;
}

static void usage_fold(struct queue_usage *out, const struct queue_usage *u, const struct qdelta *d)
{
	out->entries = fold(u->entries, d->entries);
	out->bytes = fold(u->bytes, d->bytes);
	out->held_entries = fold(u->held_entries, d->held_entries);
	out->held_bytes = fold(u->held_bytes, d->held_bytes);
}

/* Count one entry in (sign 1) or out (-1) of the open transaction: dest's
 * queue gets its bytes, origin and the total its charge. If a counter
 * cannot be allocated the count is merely off (it only steers quotas). */
static void qaccount(struct queue *q, const char *dest, const struct qval *v, int sign)
{
	struct qnode *d = qnode_get(q, dest, 1), *o = qnode_get(q, v->origin, 1);
	int held = (v->flags & QV_HELD) != 0;

	qdelta_add(&q->dtotal, sign, v->charge, held);
	if (d) {
		qdelta_add(&d->ddst, sign, v->bytes, held);
		qnode_touch(q, d);
	}
	if (o) {
		qdelta_add(&o->dorg, sign, v->charge, held);
		qnode_touch(q, o);
	}
}

/* The end of a transaction for the pending deletions: committed ones are
 * done, aborted ones wait for the next transaction. */
static void qnode_settle_acks(struct queue *q, int committed)
{
	struct qnode **pp = &q->pending;

	while (*pp) {
		struct qnode *d = *pp;

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

static void qnode_settle(struct queue *q, int keep)
{
	static const struct qdelta zero;

	while (q->touched) {
		struct qnode *d = q->touched;

		if (keep) {
			usage_fold(&d->dst, &d->dst, &d->ddst);
			usage_fold(&d->org, &d->org, &d->dorg);
			d->qmax = d->qmax_txn;
			if (d->num_written)
				d->num_durable = 1;
		} else {
			/* An aborted number stays this origin's (numbers are
			 * never given twice) but is written again. */
			d->qmax_txn = d->qmax;
		}
		d->num_written = 0;
		d->ddst = zero;
		d->dorg = zero;
		d->touched = 0;
		q->touched = d->next_touched;
		d->next_touched = NULL;
	}
	if (keep)
		usage_fold(&q->total, &q->total, &q->dtotal);
	q->dtotal = zero;
}

static int queue_count_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct queue *q = arg;
	const char *dest;
	uint64_t qseq;
	struct qval qv;
	struct qpair *p;

	if (qkey_parse(k, kl, &dest, &qseq) != 0 || qval_parse(v, vl, &qv) != 0)
		return STORE_NEXT; /* removed when met (queue_entry_bad) */
	qaccount(q, dest, &qv, 1);
	p = qpair_get(q, dest, qv.origin, 1);
	if (!p)
		return OS_ENOMEM;
	if (qseq >> QUEUE_ROUND_SHIFT > p->last_round)
		p->last_round = qseq >> QUEUE_ROUND_SHIFT;
	return STORE_NEXT;
}

/* Every qseq given so far lies below qnext: new entries go after them all
 * (a reader may have taken any of them before the restart). */
static int queue_load_qnext(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct queue *q = arg;
	char name[OS_NAME_MAX];
	struct qnode *d;
	uint64_t next;

	if (kl == 0 || kl >= OS_NAME_MAX || vl != 8)
		return STORE_NEXT;
	memcpy(name, k, kl);
	name[kl] = 0;
	d = qnode_get(q, name, 1);
	if (!d)
		return OS_ENOMEM;
	next = os_get_u64be(v);
	d->qmax = d->qmax_txn = d->front = next ? next - 1 : 0;
	return STORE_NEXT;
}

static int queue_load_onum(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct queue *q = arg;
	char name[OS_NAME_MAX];
	struct qnode *o;
	uint32_t num;

	if (kl == 0 || kl >= OS_NAME_MAX || vl != 4)
		return STORE_NEXT;
	num = get_u32be(v);
	if (num == 0 || num > QUEUE_ONUM_MAX)
		return STORE_NEXT;
	memcpy(name, k, kl);
	name[kl] = 0;
	o = qnode_get(q, name, 1);
	if (!o)
		return OS_ENOMEM;
	o->num = num;
	o->num_durable = 1;
	if (num >= q->next_onum)
		q->next_onum = num + 1;
	return STORE_NEXT;
}

/* Count every queue's entries and bytes once at start, and load the
 * fairness state; the counters are kept in memory from then on. */
static int queue_count_all(struct queue *q)
{
	struct store_txn *t = NULL;
	int rc = store_begin(q->h->st, 1, &t);

	q->next_onum = 1;
	if (rc == 0)
		rc = store_walk(t, q->qnext, NULL, 0, NULL, 0, queue_load_qnext, q);
	if (rc == 0)
		rc = store_walk(t, q->onums, NULL, 0, NULL, 0, queue_load_onum, q);
	if (rc == 0)
		rc = store_walk(t, q->queues, NULL, 0, NULL, 0, queue_count_one, q);
	store_abort(&t);
	qnode_settle(q, rc == 0);
	return rc;
}

/* Format 1 kept u64be msgno || u64be expires_ms per entry: add the size,
 * charge and origin (read from the body) to each, in one transaction. An
 * undecodable body is charged to the origin "-". *migrated counts. */
static int queue_migrate(struct queue *q, struct store_txn *t, uint64_t *migrated)
{
	struct store_cursor *c = NULL;
	uint8_t k[QKEY_MAX];
	size_t kl = 0;
	int rc = store_cursor_open(t, q->queues, &c);

	*migrated = 0;
	while (rc == 0) {
		const void *ck, *cv, *mv;
		size_t ckl, cvl, mvl;
		uint8_t mk[8], buf[QV_MAX];
		struct qval v = {0};
		uint32_t refs;
		struct env e;

		rc = store_cursor_seek(c, kl ? k : NULL, kl, &ck, &ckl, &cv, &cvl);
		if (rc == OS_ENOTFOUND) {
			rc = 0;
			break;
		}
		if (rc || ckl >= QKEY_MAX)
			break;
		memcpy(k, ck, ckl);
		kl = ckl;
		k[kl++] = 0; /* the least key after this one, for the next seek */
		if (cvl != 16)
			continue;
		v.msgno = os_get_u64be(cv);
		v.expires_ms = os_get_u64be((const uint8_t *)cv + 8);
		snprintf(v.origin, sizeof(v.origin), "-");
		os_put_u64be(mk, v.msgno);
		rc = store_get(t, q->msgs, mk, 8, &mv, &mvl);
		if (rc == 0 && mvl >= 4) {
			refs = get_u32be(mv);
			v.bytes = (uint32_t)(mvl - 4);
			v.charge = refs > 1 ? v.bytes / refs : v.bytes;
			if (env_decode_stored((const uint8_t *)mv + 4, mvl - 4, mvl, &e) == 0) {
				snprintf(v.origin, sizeof(v.origin), "%s", e.origin);
				env_clear(&e);
			}
		} else if (rc != 0 && rc != OS_ENOTFOUND) {
			break;
		}
		rc = store_put(t, q->queues, k, kl - 1, buf, qval_pack(buf, &v));
		if (rc == 0)
			(*migrated)++;
	}
	store_cursor_close(&c);
	return rc;
}

/* Check the store's format, migrating a format-1 store. */
static int queue_format(struct queue *q, struct store_txn *t)
{
	uint64_t format = 0, migrated = 0, n = 0;
	int rc = store_get_u64(t, q->meta, "queue_format", 0, &format);

	if (rc)
		return rc;
	if (format == QUEUE_FORMAT)
		return 0;
	if (format > QUEUE_FORMAT) {
		os_log(OS_LOG_ERROR, "queue_format_unknown", "format=%llu known=%d reason=%s",
		       (unsigned long long)format, QUEUE_FORMAT,
		       OS_Q("the store was written by a newer onestop-hub"));
		return OS_ESTORE;
	}
	rc = store_count(t, q->queues, &n);
	if (rc == 0 && n > 0)
		rc = queue_migrate(q, t, &migrated);
	if (rc == 0)
		rc = store_put_u64(t, q->meta, "queue_format", QUEUE_FORMAT);
	if (rc == 0 && migrated)
		os_log(OS_LOG_INFO, "queue_migrated", "from=1 to=%d entries=%llu", QUEUE_FORMAT,
		       (unsigned long long)migrated);
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
	rc = map_new(&q->nodes);
	if (rc == 0)
		rc = map_new(&q->pairs);
	if (rc)
		goto out;
	if ((rc = store_dbi_open(h->st, "meta", &q->meta)) ||
	    (rc = store_dbi_open(h->st, "msgs", &q->msgs)) ||
	    (rc = store_dbi_open(h->st, "queues", &q->queues)) ||
	    (rc = store_dbi_open(h->st, "qnext", &q->qnext)) ||
	    (rc = store_dbi_open(h->st, "onums", &q->onums)) ||
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
	} else if (rc == 0 || rc == OS_ENOTFOUND) {
		crypto_random(q->epoch, QUEUE_EPOCH_LEN);
		rc = store_put(t, q->meta, "epoch", 5, q->epoch, QUEUE_EPOCH_LEN);
		if (rc)
			goto out;
	} else {
		goto out;
	}
	rc = queue_format(q, t);
	if (rc == 0)
		rc = store_commit(&t);
	if (rc == 0)
		rc = queue_count_all(q);
	if (rc == 0)
		rc = queue_find_next_msgno(q);
	h->stats.queued = q->total.entries;
	h->stats.queued_bytes = q->total.bytes;
out:
	store_abort(&t);
	if (rc) {
		queue_close(&q);
		return rc;
	}
	*out = q;
	return 0;
}

static void free_all(struct map **m)
{
	size_t pos = 0;
	void *d;

	if (!*m)
		return;
	while ((d = map_next(*m, &pos, NULL)))
		free(d);
	map_free(m);
}

void queue_close(struct queue **qp)
{
	struct queue *q = *qp;

	if (!q)
		return;
	free_all(&q->nodes);
	free_all(&q->pairs);
	free(q);
	*qp = NULL;
}

const uint8_t *queue_epoch(const struct queue *q)
{
	return q->epoch;
}

void queue_txn_end(struct queue *q, int committed)
{
	qnode_settle(q, committed);
	qnode_settle_acks(q, committed);
	q->h->stats.queued = q->total.entries;
	q->h->stats.queued_bytes = q->total.bytes;
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

/* origin's number, given (and written in the open transaction) when it
 * has none or its record is not yet committed. */
static int queue_onum(struct queue *q, struct store_txn *t, struct qnode *o)
{
	uint8_t v[4];
	int rc;

	if (o->num == 0) {
		if (q->next_onum > QUEUE_ONUM_MAX)
			return OS_EINVAL;
		o->num = q->next_onum++;
	}
	if (o->num_durable || o->num_written)
		return 0;
	put_u32be(v, o->num);
	rc = queue_wrote(q, store_put(t, q->onums, o->name, strlen(o->name), v, 4));
	if (rc == 0) {
		o->num_written = 1;
		qnode_touch(q, o);
	}
	return rc;
}

/* The fair place of the pair's next entry in d's queue: the round after
 * the pair's last, and after the round of what the reader was handed. */
static uint64_t queue_place(struct qnode *d, struct qpair *p, uint32_t onum)
{
	uint64_t round = p->last_round + 1, front = (d->front >> QUEUE_ROUND_SHIFT) + 1;

	if (round < front)
		round = front;
	p->last_round = round;
	return round << QUEUE_ROUND_SHIFT | onum;
}

int queue_put(struct queue *q, const char *origin, const char *const *dests, size_t n,
	      const uint8_t *held, const uint8_t *msg, size_t len, uint64_t expires_ms)
{
	uint8_t mk[8], qk[QKEY_MAX], qv[QV_MAX], nv[8];
	uint8_t *body = NULL;
	struct store_txn *t;
	struct qval v = {0};
	struct qnode *o;
	int rc = hub_txn(q->h, &t);

	if (rc)
		return rc;
	if (n == 0)
		return 0;
	if (n > UINT32_MAX || len > UINT32_MAX)
		return OS_EINVAL;
	if (!*origin || strlen(origin) >= OS_NAME_MAX)
		return OS_ENAME;
	o = qnode_get(q, origin, 1);
	if (!o)
		return OS_ENOMEM;
	rc = queue_onum(q, t, o);
	if (rc)
		return rc;
	body = malloc(len + 4);
	if (!body)
		return OS_ENOMEM;
	put_u32be(body, (uint32_t)n);
	memcpy(body + 4, msg, len);
	/* Numbers used in a transaction that is aborted are not reused: the
	 * counter only moves forward. */
	v.msgno = q->next_msgno++;
	v.expires_ms = expires_ms;
	v.bytes = (uint32_t)len;
	snprintf(v.origin, sizeof(v.origin), "%s", origin);
	os_put_u64be(mk, v.msgno);
	rc = queue_wrote(q, store_put(t, q->msgs, mk, 8, body, len + 4));
	if (rc)
		goto out;
	for (size_t i = 0; i < n; i++) {
		struct qnode *d = qnode_get(q, dests[i], 1);
		struct qpair *p = qpair_get(q, dests[i], origin, 1);
		uint64_t qseq;
		size_t kl;

		if (!d || !p) {
			rc = strlen(dests[i]) >= OS_NAME_MAX ? OS_ENAME : OS_ENOMEM;
			goto out;
		}
		qseq = queue_place(d, p, o->num);
		kl = qkey(qk, dests[i], qseq);
		if (kl == 0) {
			rc = OS_ENAME;
			goto out;
		}
		/* The body is charged once: split among its entries. */
		v.charge = (uint32_t)(len / n + (i == 0 ? len % n : 0));
		v.flags = held && held[i] ? QV_HELD : 0;
		rc = queue_wrote(q, store_put(t, q->queues, qk, kl, qv, qval_pack(qv, &v)));
		if (rc)
			goto out;
		if (qseq > d->qmax_txn) {
			d->qmax_txn = qseq;
			os_put_u64be(nv, qseq + 1);
			rc = queue_wrote(q,
					 store_put(t, q->qnext, dests[i], strlen(dests[i]), nv, 8));
			if (rc)
				goto out;
		}
		qaccount(q, dests[i], &v, 1);
	}
out:
	free(body);
	return rc;
}

uint64_t queue_count(struct queue *q, const char *dest)
{
	struct queue_usage u;

	queue_usage_dest(q, dest, &u);
	return u.entries;
}

uint64_t queue_total(const struct queue *q)
{
	return fold(q->total.entries, q->dtotal.entries);
}

void queue_usage_dest(const struct queue *q, const char *name, struct queue_usage *out)
{
	const struct qnode *d = qnode_get(q, name, 0);

	memset(out, 0, sizeof(*out));
	if (d)
		usage_fold(out, &d->dst, &d->ddst);
}

void queue_usage_origin(const struct queue *q, const char *name, struct queue_usage *out)
{
	const struct qnode *o = qnode_get(q, name, 0);

	memset(out, 0, sizeof(*out));
	if (o)
		usage_fold(out, &o->org, &o->dorg);
}

void queue_usage_total(const struct queue *q, struct queue_usage *out)
{
	usage_fold(out, &q->total, &q->dtotal);
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

/* Delete the queue entry at key k (its value v already read and parsed;
 * NULL: unreadable, it was never counted) and release its body. */
static int queue_drop_entry(struct queue *q, struct store_txn *t, const char *dest,
			    const uint8_t *k, size_t kl, const struct qval *v)
{
	int rc = store_del(t, q->queues, k, kl);

	if (rc == OS_ENOTFOUND)
		return 0;
	if (queue_wrote(q, rc))
		return rc;
	if (!v)
		return 0;
	qaccount(q, dest, v, -1);
	return queue_release(q, t, v->msgno);
}

int queue_scan(struct queue *q, const char *dest, uint64_t after, queue_scan_fn fn, void *arg,
	       int *at_end)
{
	struct store_cursor *c = NULL;
	uint8_t k[QKEY_MAX];
	size_t kl, dlen = strlen(dest);
	struct store_txn *t;
	struct qnode *d;
	int rc;

	*at_end = 0;
	rc = hub_txn(q->h, &t);
	if (rc)
		return rc;
	d = qnode_get(q, dest, 1);
	if (!d)
		return OS_ENOMEM;
	/* Acknowledged entries waiting for deletion are not there. */
	if (after < d->acked)
		after = d->acked;
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
		uint64_t qseq;
		enum queue_visit what;
		struct qval v;
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
		if (qval_parse(cv, cvl, &v) != 0) {
			os_log(OS_LOG_ERROR, "queue_entry_bad", "dest=%s qseq=%llu", dest,
			       (unsigned long long)qseq);
			rc = queue_wrote(q, store_cursor_del(c));
			if (rc)
				break;
			goto next;
		}
		os_put_u64be(mk, v.msgno);
		rc = store_get(t, q->msgs, mk, 8, &mv, &mvl);
		if (rc == OS_ENOTFOUND || (rc == 0 && mvl < 4)) {
			os_log(OS_LOG_ERROR, "queue_body_missing", "dest=%s qseq=%llu msgno=%llu",
			       dest, (unsigned long long)qseq, (unsigned long long)v.msgno);
			rc = queue_drop_entry(q, t, dest, k, ckl, &v);
			if (rc)
				break;
			goto next;
		}
		if (rc)
			break;
		what = fn(arg, qseq, v.expires_ms, (const uint8_t *)mv + 4, mvl - 4);
		if (what == QUEUE_STOP)
			break;
		if (what == QUEUE_TAKE && qseq > d->front)
			d->front = qseq; /* later entries are placed after it */
		if (what == QUEUE_DROP) {
			rc = queue_drop_entry(q, t, dest, k, ckl, &v);
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
		uint64_t qseq;
		struct qval v;
		int ok;

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
		ok = qval_parse(cv, cvl, &v) == 0;
		memcpy(k, ck, ckl);
		rc = queue_drop_entry(q, t, dest, k, ckl, ok ? &v : NULL);
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
		uint64_t qseq;
		struct qval v;
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
		if (qkey_parse(k, kl, &dest, &qseq) != 0 || qval_parse(cv, cvl, &v) != 0)
			goto next;
		if (v.expires_ms > now_ms)
			goto next;
		{
			const struct qnode *d = qnode_get(q, dest, 0);

			if (d && qseq <= d->acked)
				goto next; /* delivered; its deletion is pending */
		}
		os_put_u64be(mk, v.msgno);
		rc = store_get(t, q->msgs, mk, 8, &mv, &mvl);
		if (rc == OS_ENOTFOUND || (rc == 0 && mvl < 4)) {
			mv = NULL;
			mvl = 4;
		} else if (rc) {
			break;
		}
		if (fn(arg, dest, qseq, mv ? (const uint8_t *)mv + 4 : NULL, mvl - 4)) {
			rc = queue_drop_entry(q, t, dest, k, kl, &v);
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
	struct qnode *d = qnode_get(q, dest, 1);

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
	for (const struct qnode *d = q->pending; d; d = d->next_pending)
		if (d->acked > d->deleting)
			return 1;
	return 0;
}

/* Delete every acknowledged entry in the iteration's transaction. They
 * count as deleted once it commits; after an abort they wait again. */
static int queue_settle_acks(struct queue *q, uint64_t *removed)
{
	*removed = 0;
	for (struct qnode *d = q->pending; d; d = d->next_pending) {
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
