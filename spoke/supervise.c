/* A supervisor node's event counts: sv_events (kind || id || seq -> the
 * event), sv_cases (kind || id -> struct st_case) and sv_records (the
 * st_key encoding -> struct st_counts), written together with the event's
 * receipt; and the per-key figures of one dimension read back. */
#include "supervise.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "log.h"
#include "map.h"
#include "stats.h"
#include "store.h"
#include "supervision.h"
#include "util.h"

#define SUP_CASE_KEY (1 + SV_ID_LEN)
#define SUP_ROWS_MAX 10000u /* keys one answer holds at most */

static void sup_case_key(uint8_t k[SUP_CASE_KEY], const struct sv_event *e)
{
	k[0] = (uint8_t)e->kind;
	memcpy(k + 1, e->id, SV_ID_LEN);
}

/* Count e against its case's state and the records, in t. */
static int sup_apply(struct spoke *sp, struct store_txn *t, const struct cal *c,
		     const struct sv_event *e)
{
	struct st_case prev, next;
	struct st_change ch[ST_CHANGES_MAX];
	uint8_t ck[SUP_CASE_KEY], rk[ST_KEY_BYTES];
	const void *v;
	size_t vl, n = 0, rl;
	char hex[2 * SV_ID_LEN + 1];
	int rc;

	sup_case_key(ck, e);
	memset(&prev, 0, sizeof prev);
	rc = store_get(t, sp->db_sv_cases, ck, sizeof ck, &v, &vl);
	if (rc == 0 && vl == sizeof prev)
		memcpy(&prev, v, sizeof prev);
	else if (rc < 0 && rc != OS_ENOTFOUND)
		return rc;
	rc = st_apply(c, e, &prev, &next, ch, &n);
	if (rc == OS_EEXIST)
		return 0;
	if (rc < 0) {
		os_hex(hex, e->id, SV_ID_LEN);
		os_log(OS_LOG_WARN, "supervision_event_not_counted", "id=%s seq=%llu code=%s", hex,
		       (unsigned long long)e->seq, os_errname(rc));
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		struct st_counts cur;
		if (st_key_encode(&ch[i].key, rk, sizeof rk, &rl) != 0)
			continue;
		memset(&cur, 0, sizeof cur);
		rc = store_get(t, sp->db_sv_records, rk, rl, &v, &vl);
		if (rc == 0 && vl == sizeof cur)
			memcpy(&cur, v, sizeof cur);
		else if (rc < 0 && rc != OS_ENOTFOUND)
			return rc;
		st_counts_add(&cur, &ch[i].delta);
		if ((rc = store_put(t, sp->db_sv_records, rk, rl, &cur, sizeof cur)) < 0)
			return rc;
	}
	return store_put(t, sp->db_sv_cases, ck, sizeof ck, &next, sizeof next);
}

int sup_count(struct spoke *sp, struct store_txn *t, const struct cal *c, const uint8_t *event,
	      size_t len)
{
	struct sv_event e;
	uint8_t ek[SUP_CASE_KEY + 8];
	int rc;

	if (sv_event_unpack(event, len, &e) != 0)
		return 0; /* checked before: cannot happen */
	sup_case_key(ek, &e);
	os_put_u64be(ek + SUP_CASE_KEY, e.seq);
	if ((rc = store_put(t, sp->db_sv_events, ek, sizeof ek, event, len)) < 0)
		return rc;
	return sup_apply(sp, t, c, &e);
}

struct sup_replay {
	struct spoke *sp;
	struct store_txn *t;
	const struct cal *c;
	uint64_t n;
	int rc;
};

static int sup_replay_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct sup_replay *r = arg;
	struct sv_event e;
	(void)k;
	(void)kl;
	r->n++;
	if (sv_event_unpack(v, vl, &e) != 0)
		return 0;
	r->rc = sup_apply(r->sp, r->t, r->c, &e);
	return r->rc < 0;
}

int sup_rebuild(struct spoke *sp, struct store_txn *t, const struct cal *c, uint64_t *events)
{
	struct sup_replay r = {sp, t, c, 0, 0};
	int rc;

	if ((rc = store_del_range(t, sp->db_sv_cases, NULL, 0, NULL, 0, 0, NULL, NULL)) < 0 ||
	    (rc = store_del_range(t, sp->db_sv_records, NULL, 0, NULL, 0, 0, NULL, NULL)) < 0)
		return rc;
	rc = store_walk(t, sp->db_sv_events, NULL, 0, NULL, 0, sup_replay_visit, &r);
	if (rc == 0)
		rc = r.rc;
	if (events)
		*events = r.n;
	if (rc == 0)
		os_log(OS_LOG_INFO, "supervision_rebuilt", "events=%llu", (unsigned long long)r.n);
	return rc;
}

/* ------------------------------------------------------------ figures */

struct sup_row {
	char key[OS_NAME_MAX];
	struct st_reducer r;
};

struct sup_walk {
	struct map *rows;
	size_t n;
	int32_t from, to, today;
	int rc;
};

static int sup_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct sup_walk *w = arg;
	struct st_key key;
	struct st_counts c;
	if (vl != sizeof c || st_key_decode(k, kl, &key) != 0)
		return 0;
	memcpy(&c, v, sizeof c);
	struct sup_row *row = map_get(w->rows, key.key);
	if (!row) {
		if (w->n >= SUP_ROWS_MAX)
			return 1;
		if (!(row = calloc(1, sizeof *row))) {
			w->rc = OS_ENOMEM;
			return 1;
		}
		snprintf(row->key, sizeof row->key, "%s", key.key);
		st_reduce_init(&row->r, w->from, w->to, w->today);
		if (map_put(w->rows, row->key, row) != 0) {
			free(row);
			w->rc = OS_ENOMEM;
			return 1;
		}
		w->n++;
	}
	st_reduce_add(&row->r, &key, &c);
	return 0;
}

static int sup_reply(uint64_t id, int code, const char *msg, Onestop__StatsResult *res,
		     uint8_t **buf, size_t *len)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	rep.request_id = id;
	rep.code = code;
	rep.message = code ? (char *)msg : NULL;
	if (res) {
		rep.result_case = ONESTOP__API_REPLY__RESULT_STATS;
		rep.stats = res;
	}
	*len = onestop__api_reply__get_packed_size(&rep);
	if (!(*buf = malloc(*len ? *len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(&rep, *buf);
	return 0;
}

struct sup_collect {
	Onestop__StatsRow *rows;
	Onestop__StatsRow **ptrs;
	size_t n;
};

static void sup_collect_row(struct sup_collect *c, struct sup_row *row)
{
	struct st_figures f;
	Onestop__StatsRow *r = &c->rows[c->n];
	onestop__stats_row__init(r);
	st_reduce_end(&row->r, &f);
	r->key = row->key;
	r->filed = f.filed;
	r->accepted = f.accepted;
	r->rejected = f.rejected;
	r->approved = f.approved;
	r->denied = f.denied;
	r->decided = f.decided;
	r->withdrawn = f.withdrawn;
	r->on_time_promised_rate = f.on_time_promised_rate;
	r->on_time_legal_rate = f.on_time_legal_rate;
	r->mean_days = f.mean_days;
	r->p90_days = f.p90_days;
	r->open = f.open;
	r->overdue = f.overdue;
	r->online_share = f.online_share;
	r->hall_share = f.hall_share;
	r->complaints = f.complaints;
	r->consultations = f.consultations;
	r->answered = f.answered;
	r->mean_response_ms = f.mean_response_ms;
	r->evaluations = f.evaluations;
	r->mean_score = f.mean_score;
	r->hotline_share = f.hotline_share;
	r->p90_capped = f.p90_capped != 0;
	c->ptrs[c->n] = r;
	c->n++;
}

static int sup_row_cmp(const void *a, const void *b)
{
	const Onestop__StatsRow *x = *(Onestop__StatsRow *const *)a;
	const Onestop__StatsRow *y = *(Onestop__StatsRow *const *)b;
	return strcmp(x->key, y->key);
}

int sup_stats(struct spoke *sp, uint64_t request_id, const Onestop__StatsRequest *q,
	      const struct cal *c, uint64_t now_ms, uint8_t **buf, size_t *len)
{
	struct sup_walk w = {0};
	struct sup_collect col = {0};
	struct store_txn *t = NULL;
	Onestop__StatsResult res = ONESTOP__STATS_RESULT__INIT;
	struct sup_row *row;
	size_t pos;
	uint8_t prefix[2];
	int dim, rc;
	char msg[160];

	*buf = NULL;
	*len = 0;
	if (!q || !q->by)
		dim = -1;
	else if (strcmp(q->by, "item") == 0)
		dim = ST_ITEM;
	else if (strcmp(q->by, "owner") == 0)
		dim = ST_OWNER;
	else if (strcmp(q->by, "region") == 0)
		dim = ST_REGION;
	else
		dim = -1;
	if (dim < 0)
		return sup_reply(request_id, OS_EINVAL, "by: item, owner or region", NULL, buf,
				 len);
	if (cal_day_from_ms(c, now_ms, &w.today) != 0)
		return sup_reply(request_id, OS_EINVAL, "the clock is outside the calendar", NULL,
				 buf, len);
	w.from = 0;
	w.to = CAL_DAY_MAX + 1;
	if ((q->from && q->from[0] && cal_day_from_date(q->from, &w.from) != 0) ||
	    (q->to && q->to[0] && cal_day_from_date(q->to, &w.to) != 0)) {
		snprintf(msg, sizeof msg, "from and to: dates YYYY-MM-DD");
		return sup_reply(request_id, OS_EINVAL, msg, NULL, buf, len);
	}
	if (map_new(&w.rows) != 0)
		return OS_ENOMEM;
	if ((rc = store_begin(sp->st, 1, &t)) < 0)
		goto out_code;
	prefix[0] = ST_T_DAY;
	prefix[1] = (uint8_t)dim;
	rc = store_walk(t, sp->db_sv_records, prefix, 2, NULL, 0, sup_visit, &w);
	prefix[0] = ST_T_OPEN;
	if (rc == 0 && w.rc == 0)
		rc = store_walk(t, sp->db_sv_records, prefix, 2, NULL, 0, sup_visit, &w);
	store_abort(&t);
	if (rc == 0)
		rc = w.rc;
	if (rc < 0)
		goto out_code;
	col.rows = calloc(w.n ? w.n : 1, sizeof *col.rows);
	col.ptrs = calloc(w.n ? w.n : 1, sizeof *col.ptrs);
	if (!col.rows || !col.ptrs) {
		rc = OS_ENOMEM;
		goto out;
	}
	pos = 0;
	while ((row = map_next(w.rows, &pos, NULL)) != NULL)
		sup_collect_row(&col, row);
	qsort(col.ptrs, col.n, sizeof *col.ptrs, sup_row_cmp);
	res.n_rows = col.n;
	res.rows = col.ptrs;
	rc = sup_reply(request_id, 0, NULL, &res, buf, len);
	goto out;
out_code:
	rc = sup_reply(request_id, rc, os_strerror(rc), NULL, buf, len);
out:
	pos = 0;
	while ((row = map_next(w.rows, &pos, NULL)) != NULL)
		free(row);
	map_free(&w.rows);
	free(col.rows);
	free(col.ptrs);
	return rc;
}

/* ------------------------------------------------------------ market */

#define SUP_MARKET_DAYS_MAX 366u
#define SUP_MARKET_ROWS_MAX 100000u /* rows one answer holds at most */

/* One (region, kind) series: its first day with a record, and the counts
 * of the window [lo, lo + n) that the answer reads. */
struct sup_series {
	char region[OS_NAME_MAX];
	char kind[ST_KIND_MAX];
	int32_t first;
	uint64_t *counts;
};

struct sup_mwalk {
	const char *region, *kind; /* "" or NULL: every one */
	int32_t lo, hi;            /* the window's days, hi included */
	size_t max;                /* series one answer holds at most */
	struct sup_series *s;
	size_t n, cap;
	int rc;
};

static int sup_market_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct sup_mwalk *w = arg;
	struct st_key key;
	struct st_counts c;
	if (vl != sizeof c || st_key_decode(k, kl, &key) != 0 || key.table != ST_T_MARKET)
		return 0;
	if ((w->region && w->region[0] && strcmp(w->region, key.key) != 0) ||
	    (w->kind && w->kind[0] && strcmp(w->kind, key.kind) != 0))
		return 0;
	memcpy(&c, v, sizeof c);
	struct sup_series *cur = w->n ? &w->s[w->n - 1] : NULL;
	if (!cur || strcmp(cur->region, key.key) != 0 || strcmp(cur->kind, key.kind) != 0) {
		/* Records come sorted by (region, kind, day): a new series. */
		if (w->n >= w->max)
			return 1;
		if (w->n == w->cap) {
			size_t cap = w->cap ? 2 * w->cap : 8;
			struct sup_series *s = realloc(w->s, cap * sizeof *s);
			if (!s) {
				w->rc = OS_ENOMEM;
				return 1;
			}
			w->s = s;
			w->cap = cap;
		}
		cur = &w->s[w->n];
		memset(cur, 0, sizeof *cur);
		if (!(cur->counts = calloc((size_t)(w->hi - w->lo + 1), sizeof *cur->counts))) {
			w->rc = OS_ENOMEM;
			return 1;
		}
		w->n++;
		snprintf(cur->region, sizeof cur->region, "%s", key.key);
		snprintf(cur->kind, sizeof cur->kind, "%s", key.kind);
		cur->first = key.day;
	}
	if (key.day >= w->lo && key.day <= w->hi)
		cur->counts[key.day - w->lo] = c.approved;
	return 0;
}

/* sqrt(x) for x >= 0, by Newton's method (no libm). */
static double sup_sqrt(double x)
{
	if (x <= 0)
		return 0;
	double r = x > 1 ? x : 1;
	for (int i = 0; i < 200; i++) {
		double nx = 0.5 * (r + x / r);
		if (nx >= r)
			break;
		r = nx;
	}
	return r;
}

static int sup_market_reply(uint64_t id, int code, const char *msg, Onestop__MarketResult *res,
			    uint8_t **buf, size_t *len)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	rep.request_id = id;
	rep.code = code;
	rep.message = code ? (char *)msg : NULL;
	if (res) {
		rep.result_case = ONESTOP__API_REPLY__RESULT_MARKET;
		rep.market = res;
	}
	*len = onestop__api_reply__get_packed_size(&rep);
	if (!(*buf = malloc(*len ? *len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(&rep, *buf);
	return 0;
}

int sup_market(struct spoke *sp, uint64_t request_id, const Onestop__MarketRequest *q,
	       const struct cal *c, uint64_t now_ms, uint8_t **buf, size_t *len)
{
	struct sup_mwalk w = {0};
	struct store_txn *t = NULL;
	Onestop__MarketResult res = ONESTOP__MARKET_RESULT__INIT;
	Onestop__MarketRow *rows = NULL, **ptrs = NULL;
	char(*days)[CAL_DATE_LEN] = NULL;
	uint32_t n_days;
	int32_t today;
	size_t n_rows = 0;
	uint8_t prefix[1] = {ST_T_MARKET};
	int rc;

	*buf = NULL;
	*len = 0;
	n_days = q && q->days ? q->days : ST_MARKET_DAYS;
	if (n_days > SUP_MARKET_DAYS_MAX)
		return sup_market_reply(request_id, OS_EINVAL, "days: 1..366 (0: 28)", NULL, buf,
					len);
	if (cal_day_from_ms(c, now_ms, &today) != 0 || today < (int32_t)n_days + ST_MARKET_DAYS)
		return sup_market_reply(request_id, OS_EINVAL, "the clock is outside the calendar",
					NULL, buf, len);
	w.region = q ? q->region : NULL;
	w.kind = q ? q->kind : NULL;
	w.hi = today;
	w.lo = today - (int32_t)n_days + 1 - ST_MARKET_DAYS;
	w.max = SUP_MARKET_ROWS_MAX / n_days;
	if ((rc = store_begin(sp->st, 1, &t)) < 0)
		goto out_code;
	rc = store_walk(t, sp->db_sv_records, prefix, 1, NULL, 0, sup_market_visit, &w);
	store_abort(&t);
	if (rc == 0)
		rc = w.rc;
	if (rc < 0)
		goto out_code;
	rows = calloc(w.n * n_days + 1, sizeof *rows);
	ptrs = calloc(w.n * n_days + 1, sizeof *ptrs);
	days = calloc(n_days, sizeof *days);
	if (!rows || !ptrs || !days) {
		rc = OS_ENOMEM;
		goto out;
	}
	for (uint32_t d = 0; d < n_days; d++)
		cal_date_from_day(today - (int32_t)n_days + 1 + (int32_t)d, days[d]);
	for (size_t i = 0; i < w.n; i++) {
		const struct sup_series *s = &w.s[i];
		for (uint32_t d = 0; d < n_days; d++) {
			int32_t day = today - (int32_t)n_days + 1 + (int32_t)d;
			/* The series before day starts at the first day the
			 * (region, kind) has a record; a day without is 0. */
			int32_t from = day - ST_MARKET_DAYS;
			if (from < s->first)
				from = s->first;
			size_t nh = day > from ? (size_t)(day - from) : 0;
			const uint64_t *hist = nh ? s->counts + (from - w.lo) : NULL;
			uint64_t count = s->counts[day - w.lo];
			double sum = 0, sq = 0;
			for (size_t j = 0; j < nh; j++) {
				sum += (double)hist[j];
				sq += (double)hist[j] * (double)hist[j];
			}
			Onestop__MarketRow *r = &rows[n_rows];
			onestop__market_row__init(r);
			r->region = (char *)s->region;
			r->kind = (char *)s->kind;
			r->day = days[d];
			r->approved = count;
			if (nh > 0) {
				r->mean = sum / (double)nh;
				r->sigma = sup_sqrt(sq / (double)nh - r->mean * r->mean);
			}
			r->history = nh >= ST_MARKET_DAYS;
			r->flagged = st_market_flag(hist, nh, count) == 1;
			ptrs[n_rows++] = r;
		}
	}
	res.n_rows = n_rows;
	res.rows = ptrs;
	rc = sup_market_reply(request_id, 0, NULL, &res, buf, len);
	goto out;
out_code:
	rc = sup_market_reply(request_id, rc, os_strerror(rc), NULL, buf, len);
out:
	for (size_t i = 0; i < w.n; i++)
		free(w.s[i].counts);
	free(w.s);
	free(rows);
	free(ptrs);
	free(days);
	return rc;
}
