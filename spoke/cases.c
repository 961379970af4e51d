/* The spoke's durable case store: `cases` (id -> record), `case_hist`
 * (id || seq -> transition) and `case_idx` (state, item and due-date index
 * keys), written together in the caller's transaction so they never drift. */
#include "cases.h"

#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "case.h"
#include "err.h"
#include "store.h"
#include "util.h"

#define CASES_VERSION 1
/* version, state, outcome, seq, more_asked, 2 names, digests, 3 texts, 3
 * times; names and texts are a u16be length and the bytes without NUL */
#define CASES_VAL_MAX                                                           \
	(3 + 8 + 4 + 2 * (2 + OS_NAME_MAX) + CASE_STEPS_MAX * CASE_DIGEST_LEN + \
	 3 * (2 + CASES_TEXT_MAX) + 3 * 8)
#define CASES_KEY_MAX (2 + CASES_TEXT_MAX + CASES_ID_LEN)

struct wbuf {
	uint8_t *p;
	size_t n, cap;
};

static void put_bytes(struct wbuf *w, const void *b, size_t n)
{
	if (w->n + n <= w->cap)
		memcpy(w->p + w->n, b, n);
	w->n += n;
}

static void put_u64(struct wbuf *w, uint64_t v)
{
	uint8_t b[8];
	os_put_u64be(b, v);
	put_bytes(w, b, 8);
}

static void put_str(struct wbuf *w, const char *s)
{
	size_t n = strlen(s);
	uint8_t b[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	put_bytes(w, b, 2);
	put_bytes(w, s, n);
}

struct rbuf {
	const uint8_t *p;
	size_t n, off;
	int bad;
};

static const uint8_t *get_bytes(struct rbuf *r, size_t n)
{
	const uint8_t *b;
	if (r->bad || r->n - r->off < n) {
		r->bad = 1;
		return NULL;
	}
	b = r->p + r->off;
	r->off += n;
	return b;
}

static uint64_t get_u64(struct rbuf *r)
{
	const uint8_t *b = get_bytes(r, 8);
	return b ? os_get_u64be(b) : 0;
}

static uint32_t get_u32(struct rbuf *r)
{
	const uint8_t *b = get_bytes(r, 4);
	return b ? (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3] : 0;
}

static void get_str(struct rbuf *r, char *out, size_t cap)
{
	const uint8_t *b = get_bytes(r, 2);
	size_t n = b ? (size_t)b[0] << 8 | b[1] : 0;
	const uint8_t *s = get_bytes(r, n);
	if (!s || n >= cap || memchr(s, 0, n)) {
		r->bad = 1;
		out[0] = 0;
		return;
	}
	memcpy(out, s, n);
	out[n] = 0;
}

static size_t encode(const struct cases_info *c, uint8_t *out)
{
	struct wbuf w = {out, 0, CASES_VAL_MAX};
	uint8_t head[3] = {CASES_VERSION, (uint8_t)c->rec.state, (uint8_t)c->rec.outcome};
	uint8_t more[4] = {(uint8_t)(c->rec.more_asked >> 24), (uint8_t)(c->rec.more_asked >> 16),
			   (uint8_t)(c->rec.more_asked >> 8), (uint8_t)c->rec.more_asked};

	put_bytes(&w, head, 3);
	put_u64(&w, c->rec.seq);
	put_bytes(&w, more, 4);
	put_str(&w, c->rec.filer);
	put_str(&w, c->rec.owner);
	for (uint64_t i = 0; i < c->rec.seq; i++)
		put_bytes(&w, c->rec.digest[i], CASE_DIGEST_LEN);
	put_str(&w, c->item);
	put_str(&w, c->subject);
	put_str(&w, c->channel);
	put_u64(&w, c->accepted_ms);
	put_u64(&w, c->promised_due_ms);
	put_u64(&w, c->legal_due_ms);
	return w.n;
}

static int decode(const void *v, size_t vl, struct cases_info *c)
{
	struct rbuf r = {v, vl, 0, 0};
	const uint8_t *head = get_bytes(&r, 3);

	memset(c, 0, sizeof(*c));
	if (!head || head[0] != CASES_VERSION || head[1] >= CASE_STATE_COUNT ||
	    head[2] > CASE_DENIED)
		return OS_EDECODE;
	c->rec.state = (enum case_state)head[1];
	c->rec.outcome = (enum case_outcome)head[2];
	c->rec.seq = get_u64(&r);
	c->rec.more_asked = get_u32(&r);
	if (r.bad || c->rec.seq > CASE_STEPS_MAX || c->rec.more_asked > CASE_MORE_MAX)
		return OS_EDECODE;
	get_str(&r, c->rec.filer, sizeof(c->rec.filer));
	get_str(&r, c->rec.owner, sizeof(c->rec.owner));
	for (uint64_t i = 0; i < c->rec.seq; i++) {
		const uint8_t *d = get_bytes(&r, CASE_DIGEST_LEN);
		if (d)
			memcpy(c->rec.digest[i], d, CASE_DIGEST_LEN);
	}
	get_str(&r, c->item, sizeof(c->item));
	get_str(&r, c->subject, sizeof(c->subject));
	get_str(&r, c->channel, sizeof(c->channel));
	c->accepted_ms = get_u64(&r);
	c->promised_due_ms = get_u64(&r);
	c->legal_due_ms = get_u64(&r);
	return r.bad || r.off != r.n ? OS_EDECODE : 0;
}

/* Index keys; each returns its length. */
static size_t key_state(uint8_t *k, enum case_state s, const uint8_t *id)
{
	k[0] = 's';
	k[1] = (uint8_t)s;
	memcpy(k + 2, id, CASES_ID_LEN);
	return 2 + CASES_ID_LEN;
}

static size_t key_item(uint8_t *k, const char *item, const uint8_t *id)
{
	size_t n = strlen(item);
	k[0] = 'i';
	memcpy(k + 1, item, n);
	k[1 + n] = 0;
	if (id)
		memcpy(k + 2 + n, id, CASES_ID_LEN);
	return 2 + n + (id ? CASES_ID_LEN : 0);
}

static size_t key_due(uint8_t *k, uint64_t due, const uint8_t *id)
{
	k[0] = 'd';
	os_put_u64be(k + 1, due);
	memcpy(k + 9, id, CASES_ID_LEN);
	return 9 + CASES_ID_LEN;
}

/* A case is due until it is decided (or ends without a decision). */
static int has_due_entry(const struct cases_info *c)
{
	return c->promised_due_ms != 0 && c->rec.state != CASE_DECIDED &&
	       !case_state_final(c->rec.state);
}

static int text_ok(const char *s)
{
	return s && strlen(s) < CASES_TEXT_MAX;
}

int cases_get(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
	      struct cases_info *out)
{
	const void *v;
	size_t vl;
	int rc;

	if (!sp || !t || !id || !out)
		return OS_EINVAL;
	if ((rc = store_get(t, sp->db_cases, id, CASES_ID_LEN, &v, &vl)) < 0)
		return rc;
	return decode(v, vl, out);
}

/* Write c's record, history entry seq (at now_ms by actor) and move the
 * index entries from what old held (NULL: a new case) to what c holds. */
static int write_case(struct spoke *sp, struct store_txn *t, const uint8_t *id,
		      const struct cases_info *old, const struct cases_info *c, uint64_t now_ms,
		      const char *actor, const uint8_t *step, size_t len)
{
	uint8_t val[CASES_VAL_MAX];
	uint8_t hk[CASES_ID_LEN + 8], k[CASES_KEY_MAX];
	struct wbuf w;
	uint8_t *hv;
	size_t n = encode(c, val);
	int rc;

	if ((rc = store_put(t, sp->db_cases, id, CASES_ID_LEN, val, n)) < 0)
		return rc;

	hv = malloc(8 + 2 + strlen(actor) + len);
	if (!hv)
		return OS_ENOMEM;
	w = (struct wbuf){hv, 0, 8 + 2 + strlen(actor) + len};
	put_u64(&w, now_ms);
	put_str(&w, actor);
	put_bytes(&w, step, len);
	memcpy(hk, id, CASES_ID_LEN);
	os_put_u64be(hk + CASES_ID_LEN, c->rec.seq);
	rc = store_put(t, sp->db_case_hist, hk, sizeof(hk), hv, w.n);
	free(hv);
	if (rc < 0)
		return rc;

	if (old && old->rec.state != c->rec.state &&
	    (rc = store_del(t, sp->db_case_idx, k, key_state(k, old->rec.state, id))) < 0)
		return rc;
	if ((!old || old->rec.state != c->rec.state) &&
	    (rc = store_put(t, sp->db_case_idx, k, key_state(k, c->rec.state, id), "", 0)) < 0)
		return rc;
	if (!old && (rc = store_put(t, sp->db_case_idx, k, key_item(k, c->item, id), "", 0)) < 0)
		return rc;
	if (old && has_due_entry(old) &&
	    (!has_due_entry(c) || old->promised_due_ms != c->promised_due_ms) &&
	    (rc = store_del(t, sp->db_case_idx, k, key_due(k, old->promised_due_ms, id))) < 0)
		return rc;
	if (has_due_entry(c) &&
	    (rc = store_put(t, sp->db_case_idx, k, key_due(k, c->promised_due_ms, id), "", 0)) < 0)
		return rc;
	return 0;
}

int cases_file(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
	       const char *filer, const char *owner, const char *item, const char *subject,
	       const char *channel, uint64_t now_ms, const uint8_t *step, size_t len,
	       int *duplicate)
{
	struct cases_info c;
	struct case_step s = {.seq = 1,
			      .action = CASE_ACT_FILE,
			      .outcome = CASE_OUTCOME_NONE,
			      .actor = filer,
			      .content = step,
			      .content_len = len};
	int dup = 0, rc;

	if (duplicate)
		*duplicate = 0;
	if (!sp || !t || !id || !filer || !owner || !text_ok(item) || !text_ok(subject) ||
	    !text_ok(channel) || (!step && len > 0))
		return OS_EINVAL;
	rc = cases_get(sp, t, id, &c);
	if (rc == 0) {
		/* the same FILE again is a duplicate; anything else holds id */
		rc = case_apply(&c.rec, &s, &dup);
		if (rc == 0 && dup && strcmp(c.item, item) == 0) {
			if (duplicate)
				*duplicate = 1;
			return 0;
		}
		return rc == OS_EINVAL ? rc : OS_EEXIST;
	}
	if (rc != OS_ENOTFOUND)
		return rc;
	memset(&c, 0, sizeof(c));
	if ((rc = case_record_init(&c.rec, filer, owner)) < 0 ||
	    (rc = case_apply(&c.rec, &s, NULL)) < 0)
		return rc;
	strcpy(c.item, item);
	strcpy(c.subject, subject);
	strcpy(c.channel, channel);
	return write_case(sp, t, id, NULL, &c, now_ms, filer, step, len);
}

int cases_apply(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
		const struct case_step *step, uint64_t now_ms, const struct cal *cal,
		uint32_t promised_days, uint32_t legal_days, int *duplicate)
{
	struct cases_info old, c;
	int dup = 0, rc;

	if (duplicate)
		*duplicate = 0;
	if (!sp || !t || !id || !step || !step->actor || !cal)
		return OS_EINVAL;
	if ((rc = cases_get(sp, t, id, &old)) < 0)
		return rc;
	c = old;
	if ((rc = case_apply(&c.rec, step, &dup)) < 0)
		return rc;
	if (dup) {
		if (duplicate)
			*duplicate = 1;
		return 0;
	}
	if (step->action == CASE_ACT_ACCEPT && c.accepted_ms == 0) {
		c.accepted_ms = now_ms;
		if ((rc = cal_due(cal, now_ms, promised_days, &c.promised_due_ms)) < 0 ||
		    (rc = cal_due(cal, now_ms, legal_days, &c.legal_due_ms)) < 0)
			return rc;
	}
	return write_case(sp, t, id, &old, &c, now_ms, step->actor, step->content,
			  step->content_len);
}

struct hist_walk {
	cases_history_fn fn;
	void *arg;
};

static int hist_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct hist_walk *h = arg;
	struct rbuf r = {v, vl, 0, 0};
	char actor[OS_NAME_MAX];
	uint64_t at;
	int rc;

	if (kl != CASES_ID_LEN + 8)
		return OS_EDECODE;
	at = get_u64(&r);
	get_str(&r, actor, sizeof(actor));
	if (r.bad)
		return OS_EDECODE;
	rc = h->fn(h->arg, os_get_u64be((const uint8_t *)k + CASES_ID_LEN), at, actor, r.p + r.off,
		   r.n - r.off);
	if (rc < 0)
		return rc;
	return rc ? STORE_STOP : STORE_NEXT;
}

int cases_history(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
		  cases_history_fn fn, void *arg)
{
	struct hist_walk h = {fn, arg};

	if (!sp || !t || !id || !fn)
		return OS_EINVAL;
	return store_walk(t, sp->db_case_hist, id, CASES_ID_LEN, NULL, 0, hist_visit, &h);
}

struct list_walk {
	size_t idlen_off; /* the id's offset in keys of this prefix; 0: due keys */
	uint64_t now_ms;
	int overdue;
	size_t limit, seen;
	cases_list_fn fn;
	void *arg;
	uint8_t last[CASES_ID_LEN];
	int more;
};

static int list_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct list_walk *l = arg;
	const uint8_t *key = k;
	int rc;

	(void)v;
	(void)vl;
	if (kl != l->idlen_off + CASES_ID_LEN)
		return OS_EDECODE;
	if (l->overdue && !cal_is_overdue(os_get_u64be(key + 1), l->now_ms))
		return STORE_STOP;
	if (l->seen == l->limit) {
		l->more = 1;
		return STORE_STOP;
	}
	if ((rc = l->fn(l->arg, key + l->idlen_off)) < 0)
		return rc;
	memcpy(l->last, key + l->idlen_off, CASES_ID_LEN);
	l->seen++;
	return STORE_NEXT;
}

int cases_list(struct spoke *sp, struct store_txn *t, const struct cases_filter *f,
	       const uint8_t *after_id, size_t limit, cases_list_fn fn, void *arg,
	       uint8_t next[CASES_ID_LEN], int *more)
{
	struct list_walk l = {.limit = limit, .fn = fn, .arg = arg};
	uint8_t prefix[CASES_KEY_MAX], from[CASES_KEY_MAX + 1];
	size_t plen, flen = 0;
	int rc;

	if (more)
		*more = 0;
	if (!sp || !t || !f || !fn || limit == 0)
		return OS_EINVAL;
	switch (f->by) {
	case CASES_BY_STATE:
		if ((unsigned)f->state >= CASE_STATE_COUNT)
			return OS_EINVAL;
		prefix[0] = 's';
		prefix[1] = (uint8_t)f->state;
		plen = 2;
		break;
	case CASES_BY_ITEM:
		if (!text_ok(f->item))
			return OS_EINVAL;
		plen = key_item(prefix, f->item, NULL);
		break;
	case CASES_OVERDUE:
		prefix[0] = 'd';
		plen = 1;
		l.overdue = 1;
		l.now_ms = f->now_ms;
		break;
	default:
		return OS_EINVAL;
	}
	l.idlen_off = l.overdue ? 9 : plen;
	if (after_id) {
		/* start just past after_id's key: the key with one 0x00 byte added */
		if (l.overdue) {
			struct cases_info c;
			if ((rc = cases_get(sp, t, after_id, &c)) < 0)
				return rc;
			flen = key_due(from, c.promised_due_ms, after_id);
		} else {
			memcpy(from, prefix, plen);
			memcpy(from + plen, after_id, CASES_ID_LEN);
			flen = plen + CASES_ID_LEN;
		}
		from[flen++] = 0;
	}
	rc = store_walk(t, sp->db_case_idx, prefix, plen, after_id ? from : NULL, flen, list_visit,
			&l);
	if (rc < 0)
		return rc;
	if (more)
		*more = l.more;
	if (next && l.more)
		memcpy(next, l.last, CASES_ID_LEN);
	return 0;
}
