/* Unit tests for common/stats.c: a few hundred generated cases, ratings and
 * complaints with known timings are counted through st_apply into records
 * held as LMDB would hold them (encoded key -> struct st_counts); every
 * figure the reducer gives equals the one the test computes from what it
 * generated. Also: st_apply is deterministic and refuses a repeat or a gap,
 * a rebuild in another order gives the same records, and the market rule
 * flags one spike day and no other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "case.h"
#include "err.h"
#include "stats.h"
#include "supervision.h"

#define T0 1796083200000ull /* 2026-12-01 00:00 UTC, 08:00 in the calendar's zone */
#define DAY_MS 86400000ull
#define HOUR_MS 3600000ull
#define N_CASES 400
#define N_COMPLAINTS 80
#define NOW_MS (T0 + 40 * DAY_MS + 5 * HOUR_MS)
#define PROMISED_DAYS 5
#define LEGAL_DAYS 12
#define HOTLINE "gd.sz.hotline"

static const struct {
	const char *code, *kind, *owner;
} items[] = {
	{"ITEM-A", "licence", "gd.sz.market"},
	{"ITEM-B", "permit", "gd.sz.health"},
	{"ITEM-C", "certificate", "gd.sz.health"}, /* not a market kind */
};
#define N_ITEMS 3
static const char *const regions[] = {"gd.sz", "gd.gz"};

/* ---------------------------------------------------------------- the store */

struct rec {
	uint8_t k[ST_KEY_BYTES];
	size_t klen;
	struct st_counts c;
};

struct store {
	struct rec *v;
	size_t n, cap;
};

static struct st_counts *store_at(struct store *s, const struct st_key *key)
{
	uint8_t k[ST_KEY_BYTES];
	size_t klen;
	assert_int_equal(st_key_encode(key, k, sizeof k, &klen), 0);
	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].klen == klen && memcmp(s->v[i].k, k, klen) == 0)
			return &s->v[i].c;
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = realloc(s->v, s->cap * sizeof *s->v);
		assert_non_null(s->v);
	}
	memset(&s->v[s->n], 0, sizeof s->v[s->n]);
	memcpy(s->v[s->n].k, k, klen);
	s->v[s->n].klen = klen;
	return &s->v[s->n++].c;
}

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->k, y->k, n);
	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* What a supervisor keeps per (kind, id): here one array per kind. */
struct counter {
	struct store recs;
	struct st_case cases[N_CASES], evals[N_CASES], complaints[N_COMPLAINTS];
};

static struct st_case *state_of(struct counter *k, const struct sv_event *e)
{
	size_t i = e->id[0] | (size_t)e->id[1] << 8;
	if (e->kind == SV_CASE)
		return &k->cases[i];
	if (e->kind == SV_EVALUATION)
		return &k->evals[i];
	return &k->complaints[i];
}

static void count(const struct cal *c, struct counter *k, const struct sv_event *e)
{
	struct st_change ch[ST_CHANGES_MAX];
	size_t n;
	struct st_case *st = state_of(k, e);
	assert_int_equal(st_apply(c, e, st, st, ch, &n), 0);
	for (size_t i = 0; i < n; i++)
		st_counts_add(store_at(&k->recs, &ch[i].key), &ch[i].delta);
}

/* ---------------------------------------------------------------- generation */

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng % n);
}

#define EV_MAX 8
struct gcase {
	int item, region;
	uint32_t channel;
	uint64_t filed_ms, accept_ms, decide_ms, reject_ms, withdraw_ms, rated_ms;
	uint64_t promised_ms, legal_ms;
	uint32_t outcome, state, score;
	uint8_t id[SV_ID_LEN];
	struct sv_event ev[EV_MAX];
	int n_ev;
};

struct gcomp {
	int item, region; /* item -1: about a node */
	uint32_t kind;
	uint64_t filed_ms, answer_ms;
	uint8_t id[SV_ID_LEN];
	struct sv_event ev[EV_MAX];
	int n_ev;
};

static struct gcase cases[N_CASES];
static struct gcomp comps[N_COMPLAINTS];

static void step(struct gcase *g, uint32_t action, uint32_t state, uint64_t at)
{
	struct sv_case_facts f = {
		.case_id = g->id,
		.seq = (uint64_t)g->n_ev + 1,
		.item = items[g->item].code,
		.item_kind = items[g->item].kind,
		.owner = items[g->item].owner,
		.filer = "gd.sz.hall1",
		.region = regions[g->region],
		.channel = g->channel,
		.state = state,
		.action = action,
		.outcome = g->outcome,
		.at_ms = at,
		.filed_ms = g->filed_ms,
		.accepted_ms = g->accept_ms,
		.promised_due_ms = g->promised_ms,
		.legal_due_ms = g->legal_ms,
	};
	assert_true(g->n_ev < EV_MAX);
	assert_int_equal(sv_from_case(&f, &g->ev[g->n_ev++]), 0);
	g->state = state;
}

static void gen_case(const struct cal *c, int i)
{
	struct gcase *g = &cases[i];
	uint32_t path = rnd(100);
	uint64_t t;
	memset(g, 0, sizeof *g);
	g->id[0] = (uint8_t)i;
	g->id[1] = (uint8_t)(i >> 8);
	g->id[15] = 0xca;
	g->item = (int)rnd(N_ITEMS);
	g->region = (int)rnd(2);
	g->channel = rnd(5); /* 0: unspecified too */
	/* Open cases are filed late so that some are overdue at NOW and some
	 * not; the others early enough to be finished before NOW. */
	g->filed_ms = T0 + (path < 15 ? 28 + rnd(12) : rnd(20)) * DAY_MS + rnd(86400) * 1000ull;
	step(g, CASE_ACT_FILE, CASE_FILED, g->filed_ms);
	if (path < 5)
		return; /* open, never accepted: no due date */
	if (path >= 15 && path < 25) {
		g->withdraw_ms = g->filed_ms + rnd(48) * HOUR_MS + 1;
		step(g, CASE_ACT_WITHDRAW, CASE_WITHDRAWN, g->withdraw_ms);
		return;
	}
	if (path >= 25 && path < 35) {
		g->reject_ms = g->filed_ms + rnd(72) * HOUR_MS + 1;
		step(g, CASE_ACT_REJECT, CASE_REJECTED, g->reject_ms);
		return;
	}
	g->accept_ms = g->filed_ms + rnd(30) * HOUR_MS + 1;
	assert_int_equal(cal_due(c, g->accept_ms, PROMISED_DAYS, &g->promised_ms), 0);
	assert_int_equal(cal_due(c, g->accept_ms, LEGAL_DAYS, &g->legal_ms), 0);
	step(g, CASE_ACT_ACCEPT, CASE_ACCEPTED, g->accept_ms);
	if (path < 15)
		return; /* open, accepted */
	t = g->accept_ms;
	if (path >= 80) { /* one more round of material: the second accept is not counted again */
		step(g, CASE_ACT_NEED_MORE, CASE_MORE_NEEDED, t += HOUR_MS);
		step(g, CASE_ACT_RESUBMIT, CASE_RESUBMITTED, t += DAY_MS);
		step(g, CASE_ACT_ACCEPT, CASE_ACCEPTED, t += HOUR_MS);
	}
	g->decide_ms = t + rnd(18 * 24) * HOUR_MS + rnd(3600) * 1000ull;
	g->outcome = rnd(10) < 7 ? CASE_APPROVED : CASE_DENIED;
	step(g, CASE_ACT_DECIDE, CASE_DECIDED, g->decide_ms);
	if (rnd(2))
		step(g, CASE_ACT_CLOSE, CASE_CLOSED, g->decide_ms + HOUR_MS);
	if (rnd(10) < 6) {
		struct sv_case_facts f = {
			.case_id = g->id,
			.item = items[g->item].code,
			.item_kind = items[g->item].kind,
			.owner = items[g->item].owner,
			.region = regions[g->region],
			.outcome = g->outcome,
			.filed_ms = g->filed_ms,
		};
		g->score = 1 + rnd(5);
		g->rated_ms = g->decide_ms + rnd(72) * HOUR_MS + 1;
		assert_int_equal(sv_from_evaluation(&f, g->score, SV_CH_MOBILE, g->rated_ms,
						    &g->ev[g->n_ev++]),
				 0);
	}
}

static void cstep(struct gcomp *g, uint32_t action, uint32_t state, uint64_t at)
{
	struct sv_complaint_facts f = {
		.complaint_id = g->id,
		.seq = (uint64_t)g->n_ev + 1,
		.complaint_kind = g->kind,
		.item = g->item >= 0 ? items[g->item].code : NULL,
		.item_kind = g->item >= 0 ? items[g->item].kind : NULL,
		.department = g->kind == SV_CP_COMPLAINT ? HOTLINE : items[g->item].owner,
		.filer = "gd.sz.hall1",
		.region = regions[g->region],
		.channel = SV_CH_HOTLINE,
		.state = state,
		.action = action,
		.at_ms = at,
		.filed_ms = g->filed_ms,
	};
	assert_int_equal(sv_from_complaint(&f, &g->ev[g->n_ev++]), 0);
}

static void gen_complaint(int i)
{
	struct gcomp *g = &comps[i];
	memset(g, 0, sizeof *g);
	g->id[0] = (uint8_t)i;
	g->id[15] = 0xc0;
	g->kind = rnd(3) ? SV_CP_COMPLAINT : SV_CP_CONSULTATION;
	g->item = g->kind == SV_CP_COMPLAINT && rnd(4) == 0 ? -1 : (int)rnd(N_ITEMS);
	g->region = (int)rnd(2);
	g->filed_ms = T0 + rnd(30) * DAY_MS + rnd(86400) * 1000ull;
	cstep(g, SV_CP_FILE, 1, g->filed_ms);
	if (rnd(5) == 0)
		return; /* unanswered */
	cstep(g, SV_CP_ASSIGN, 2, g->filed_ms + HOUR_MS);
	g->answer_ms = g->filed_ms + HOUR_MS + 1 + rnd(5 * 86400) * 1000ull;
	cstep(g, SV_CP_ANSWER, 3, g->answer_ms);
	if (rnd(3) == 0) { /* reopened and answered again: still one response time */
		cstep(g, SV_CP_REOPEN, 5, g->answer_ms + HOUR_MS);
		cstep(g, SV_CP_ANSWER, 3, g->answer_ms + 2 * HOUR_MS);
	}
	cstep(g, SV_CP_CLOSE, 4, g->answer_ms + 3 * HOUR_MS);
}

static void setup_cal(struct cal *c)
{
	static const char holidays[] = "2026-12-25\n2027-01-01\n2026-12-26 workday\n";
	assert_int_equal(cal_init(c, 480), 0);
	assert_int_equal(cal_parse(c, holidays, strlen(holidays), NULL, 0), 0);
}

static void generate(const struct cal *c)
{
	rng = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < N_CASES; i++)
		gen_case(c, i);
	for (int i = 0; i < N_COMPLAINTS; i++)
		gen_complaint(i);
}

/* Count everything: cases, then complaints, each in its own order. */
static void count_all(const struct cal *c, struct counter *k)
{
	for (int i = 0; i < N_CASES; i++)
		for (int j = 0; j < cases[i].n_ev; j++)
			count(c, k, &cases[i].ev[j]);
	for (int i = 0; i < N_COMPLAINTS; i++)
		for (int j = 0; j < comps[i].n_ev; j++)
			count(c, k, &comps[i].ev[j]);
}

/* ---------------------------------------------------------------- figures */

static int32_t day_of(const struct cal *c, uint64_t ms)
{
	int32_t d;
	assert_int_equal(cal_day_from_ms(c, ms, &d), 0);
	return d;
}

static const char *case_key(const struct gcase *g, int dim)
{
	return dim == ST_ITEM    ? items[g->item].code
	       : dim == ST_OWNER ? items[g->item].owner
				 : regions[g->region];
}

static const char *comp_key(const struct gcomp *g, int dim)
{
	if (dim == ST_ITEM)
		return g->item >= 0 ? items[g->item].code : "";
	if (dim == ST_OWNER)
		return g->kind == SV_CP_COMPLAINT ? HOTLINE : items[g->item].owner;
	return regions[g->region];
}

static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

/* The figures of (dim, key) (key NULL: every key) over [from, to) at NOW,
 * straight from what was generated. */
static void truth(const struct cal *c, int dim, const char *key, int32_t from, int32_t to,
		  struct st_figures *f)
{
	static uint32_t days[N_CASES];
	uint64_t n_days = 0, days_sum = 0, score_sum = 0, answer_sum = 0;
	memset(f, 0, sizeof *f);
#define IN(ms) ((ms) && day_of(c, ms) >= from && day_of(c, ms) < to)
	for (int i = 0; i < N_CASES; i++) {
		const struct gcase *g = &cases[i];
		if (key && strcmp(case_key(g, dim), key) != 0)
			continue;
		if (IN(g->filed_ms)) {
			f->filed++;
			f->filed_online += g->channel == SV_CH_WEB || g->channel == SV_CH_MOBILE;
			f->filed_hall += g->channel == SV_CH_HALL;
			f->filed_hotline += g->channel == SV_CH_HOTLINE;
		}
		f->accepted += IN(g->accept_ms);
		f->rejected += IN(g->reject_ms);
		f->withdrawn += IN(g->withdraw_ms);
		if (IN(g->decide_ms)) {
			f->approved += g->outcome == CASE_APPROVED;
			f->denied += g->outcome == CASE_DENIED;
			f->due_promised++;
			f->on_time_promised += g->decide_ms <= g->promised_ms;
			f->due_legal++;
			f->on_time_legal += g->decide_ms <= g->legal_ms;
			assert_int_equal(cal_working_days_between(c, g->filed_ms, g->decide_ms,
								  &days[n_days]),
					 0);
			days_sum += days[n_days++];
		}
		if (IN(g->rated_ms)) {
			f->evaluations++;
			score_sum += g->score;
		}
		if (g->state == CASE_FILED || g->state == CASE_ACCEPTED) {
			f->open++;
			f->overdue += g->promised_ms && NOW_MS > g->promised_ms;
		}
	}
	for (int i = 0; i < N_COMPLAINTS; i++) {
		const struct gcomp *g = &comps[i];
		if (key && strcmp(comp_key(g, dim), key) != 0)
			continue;
		if (!comp_key(g, dim)[0])
			continue;
		if (IN(g->filed_ms)) {
			f->complaints += g->kind == SV_CP_COMPLAINT;
			f->consultations += g->kind == SV_CP_CONSULTATION;
		}
		if (IN(g->answer_ms)) {
			f->answered++;
			answer_sum += g->answer_ms - g->filed_ms;
		}
	}
#undef IN
	f->decided = f->approved + f->denied;
	f->on_time_promised_rate = ratio(f->on_time_promised, f->due_promised);
	f->on_time_legal_rate = ratio(f->on_time_legal, f->due_legal);
	f->mean_days = ratio(days_sum, n_days);
	if (n_days) {
		qsort(days, n_days, sizeof days[0], u32_cmp);
		uint64_t rank = (9 * n_days + 9) / 10; /* nearest rank, 1-based */
		f->p90_days = days[rank - 1];
	}
	f->mean_response_ms = ratio(answer_sum, f->answered);
	f->mean_score = ratio(score_sum, f->evaluations);
	f->online_share = ratio(f->filed_online, f->filed);
	f->hall_share = ratio(f->filed_hall, f->filed);
	f->hotline_share = ratio(f->filed_hotline, f->filed);
}

static void reduce(const struct cal *c, const struct store *s, int dim, const char *key,
		   int32_t from, int32_t to, struct st_figures *f)
{
	struct st_reducer r;
	struct st_key k;
	st_reduce_init(&r, from, to, day_of(c, NOW_MS));
	for (size_t i = 0; i < s->n; i++) {
		assert_int_equal(st_key_decode(s->v[i].k, s->v[i].klen, &k), 0);
		if (k.dim != dim || (key && strcmp(k.key, key) != 0))
			continue;
		assert_int_equal(st_reduce_add(&r, &k, &s->v[i].c), 0);
	}
	assert_int_equal(st_reduce_end(&r, f), 0);
}

static void compare(const struct st_figures *got, const struct st_figures *want, const char *what)
{
	if (memcmp(got, want, sizeof *got) == 0)
		return;
	fprintf(stderr,
		"%s: got filed %llu acc %llu rej %llu appr %llu den %llu wd %llu open %llu "
		"overdue %llu p90 %u mean %f eval %llu cp %llu ans %llu\n",
		what, (unsigned long long)got->filed, (unsigned long long)got->accepted,
		(unsigned long long)got->rejected, (unsigned long long)got->approved,
		(unsigned long long)got->denied, (unsigned long long)got->withdrawn,
		(unsigned long long)got->open, (unsigned long long)got->overdue, got->p90_days,
		got->mean_days, (unsigned long long)got->evaluations,
		(unsigned long long)got->complaints, (unsigned long long)got->answered);
	fprintf(stderr,
		"%s: want filed %llu acc %llu rej %llu appr %llu den %llu wd %llu open %llu "
		"overdue %llu p90 %u mean %f eval %llu cp %llu ans %llu\n",
		what, (unsigned long long)want->filed, (unsigned long long)want->accepted,
		(unsigned long long)want->rejected, (unsigned long long)want->approved,
		(unsigned long long)want->denied, (unsigned long long)want->withdrawn,
		(unsigned long long)want->open, (unsigned long long)want->overdue, want->p90_days,
		want->mean_days, (unsigned long long)want->evaluations,
		(unsigned long long)want->complaints, (unsigned long long)want->answered);
	fail_msg("%s: the figures differ", what);
}

/* ---------------------------------------------------------------- tests */

static void test_figures_equal_truth(void **state)
{
	(void)state;
	struct cal c;
	struct counter *k = calloc(1, sizeof *k);
	struct st_figures got, want;
	char what[128];
	assert_non_null(k);
	setup_cal(&c);
	generate(&c);
	count_all(&c, k);
	int32_t d0 = day_of(&c, T0);
	const int32_t periods[][2] = {{d0, d0 + 80}, {d0 + 5, d0 + 15}, {d0 + 20, d0 + 21}, {0, 1}};
	const char *keys[4][6] = {
		{0},
		{"ITEM-A", "ITEM-B", "ITEM-C", NULL},
		{"gd.sz.market", "gd.sz.health", HOTLINE, NULL},
		{"gd.sz", "gd.gz", NULL},
	};
	for (int dim = ST_ITEM; dim <= ST_REGION; dim++)
		for (size_t p = 0; p < sizeof periods / sizeof periods[0]; p++) {
			for (int j = 0; keys[dim][j]; j++) {
				snprintf(what, sizeof what, "dim %d key %s days %d..%d", dim,
					 keys[dim][j], periods[p][0] - d0, periods[p][1] - d0);
				reduce(&c, &k->recs, dim, keys[dim][j], periods[p][0],
				       periods[p][1], &got);
				truth(&c, dim, keys[dim][j], periods[p][0], periods[p][1], &want);
				compare(&got, &want, what);
			}
			snprintf(what, sizeof what, "dim %d all keys", dim);
			reduce(&c, &k->recs, dim, NULL, periods[p][0], periods[p][1], &got);
			truth(&c, dim, NULL, periods[p][0], periods[p][1], &want);
			compare(&got, &want, what);
		}
	/* The whole period saw some of everything (the test would prove nothing
	 * on an empty set). */
	truth(&c, ST_REGION, NULL, d0, d0 + 80, &want);
	assert_int_equal(want.filed, N_CASES);
	assert_true(want.accepted > 0 && want.rejected > 0 && want.withdrawn > 0);
	assert_true(want.approved > 0 && want.denied > 0 && want.evaluations > 0);
	assert_true(want.on_time_promised > 0 && want.on_time_promised < want.due_promised);
	assert_true(want.overdue > 0 && want.overdue < want.open);
	assert_true(want.complaints > 0 && want.consultations > 0 && want.answered > 0);
	assert_true(want.filed_online > 0 && want.filed_hall > 0 && want.filed_hotline > 0);
	assert_true(want.p90_days > 0 && want.p90_days < ST_DAYS_CAP);
	printf("# %llu filed, %llu decided, p90 %u working days, %llu open, %llu overdue, "
	       "%zu records\n",
	       (unsigned long long)want.filed, (unsigned long long)want.decided, want.p90_days,
	       (unsigned long long)want.open, (unsigned long long)want.overdue, k->recs.n);
	free(k->recs.v);
	free(k);
	cal_clear(&c);
}

static void test_market_records(void **state)
{
	(void)state;
	struct cal c;
	struct counter *k = calloc(1, sizeof *k);
	struct st_key key;
	uint64_t from_records = 0, from_cases = 0;
	assert_non_null(k);
	setup_cal(&c);
	generate(&c);
	count_all(&c, k);
	/* Each market record equals the approvals of its (region, kind, day). */
	for (size_t i = 0; i < k->recs.n; i++) {
		assert_int_equal(st_key_decode(k->recs.v[i].k, k->recs.v[i].klen, &key), 0);
		if (key.table != ST_T_MARKET)
			continue;
		uint64_t want = 0;
		for (int j = 0; j < N_CASES; j++) {
			const struct gcase *g = &cases[j];
			want += g->outcome == CASE_APPROVED && g->decide_ms &&
				strcmp(regions[g->region], key.key) == 0 &&
				strcmp(items[g->item].kind, key.kind) == 0 &&
				day_of(&c, g->decide_ms) == key.day;
		}
		assert_int_equal(k->recs.v[i].c.approved, want);
		from_records += want;
	}
	for (int j = 0; j < N_CASES; j++)
		from_cases += cases[j].outcome == CASE_APPROVED &&
			      st_market_kind(items[cases[j].item].kind);
	assert_int_equal(from_records, from_cases);
	assert_true(from_cases > 0);
	assert_false(st_market_kind("certificate"));
	free(k->recs.v);
	free(k);
	cal_clear(&c);
}

static void test_apply_deterministic(void **state)
{
	(void)state;
	struct cal c;
	struct st_change a[ST_CHANGES_MAX], b[ST_CHANGES_MAX];
	struct st_case prev, next1, next2, same;
	size_t na, nb;
	setup_cal(&c);
	generate(&c);
	/* The first case with a need_more round: every step, twice. */
	int i = 0;
	while (cases[i].n_ev < 6)
		i++;
	memset(&prev, 0, sizeof prev);
	for (int j = 0; j < cases[i].n_ev; j++) {
		const struct sv_event *e = &cases[i].ev[j];
		if (e->kind != SV_CASE)
			continue;
		memset(a, 0, sizeof a);
		memset(b, 0xa5, sizeof b);
		assert_int_equal(st_apply(&c, e, &prev, &next1, a, &na), 0);
		assert_int_equal(st_apply(&c, e, &prev, &next2, b, &nb), 0);
		assert_int_equal(na, nb);
		assert_memory_equal(a, b, na * sizeof a[0]);
		assert_memory_equal(&next1, &next2, sizeof next1);
		/* Replayed against the state it made: counted before. */
		same = next1;
		assert_int_equal(st_apply(&c, e, &same, &same, a, &na), OS_EEXIST);
		assert_int_equal(na, 0);
		assert_memory_equal(&same, &next1, sizeof same);
		/* The step after next, before next: a gap. */
		if (j + 2 < cases[i].n_ev && cases[i].ev[j + 2].kind == SV_CASE) {
			assert_int_equal(st_apply(&c, &cases[i].ev[j + 2], &prev, &next2, a, &na),
					 OS_EGAP);
			assert_memory_equal(&next2, &prev, sizeof prev);
		}
		prev = next1;
	}
	/* Another item under the same case id. */
	struct sv_event e = cases[i].ev[1];
	memset(&prev, 0, sizeof prev);
	assert_int_equal(st_apply(&c, &cases[i].ev[0], &prev, &prev, a, &na), 0);
	snprintf(e.item, sizeof e.item, "ITEM-Z");
	assert_int_equal(st_apply(&c, &e, &prev, &next1, a, &na), OS_ECONFLICT);
	/* An evaluation against a case's state. */
	assert_int_equal(st_apply(&c, &cases[i].ev[cases[i].n_ev - 1], &prev, &next1, a, &na),
			 cases[i].ev[cases[i].n_ev - 1].kind == SV_EVALUATION ? OS_EINVAL
									      : OS_EGAP);
	assert_int_equal(st_apply(NULL, &e, &prev, &next1, a, &na), OS_EINVAL);
	cal_clear(&c);
}

/* Rebuilding from the stored events in another order (cases backwards,
 * complaints first; each one's events in seq order) gives the same
 * records. */
static void test_rebuild_same_records(void **state)
{
	(void)state;
	struct cal c;
	struct counter *k1 = calloc(1, sizeof *k1), *k2 = calloc(1, sizeof *k2);
	assert_non_null(k1);
	assert_non_null(k2);
	setup_cal(&c);
	generate(&c);
	count_all(&c, k1);
	for (int i = N_COMPLAINTS - 1; i >= 0; i--)
		for (int j = 0; j < comps[i].n_ev; j++)
			count(&c, k2, &comps[i].ev[j]);
	for (int i = N_CASES - 1; i >= 0; i--)
		for (int j = 0; j < cases[i].n_ev; j++)
			count(&c, k2, &cases[i].ev[j]);
	assert_int_equal(k1->recs.n, k2->recs.n);
	qsort(k1->recs.v, k1->recs.n, sizeof k1->recs.v[0], rec_cmp);
	qsort(k2->recs.v, k2->recs.n, sizeof k2->recs.v[0], rec_cmp);
	assert_memory_equal(k1->recs.v, k2->recs.v, k1->recs.n * sizeof k1->recs.v[0]);
	assert_memory_equal(k1->cases, k2->cases, sizeof k1->cases);
	free(k1->recs.v);
	free(k2->recs.v);
	free(k1);
	free(k2);
	cal_clear(&c);
}

/* Overdue at the millisecond: a case due at due_ms is on time at due_ms
 * (today is its due day) and overdue from due_ms + 1 (the next day). */
static void test_overdue_boundary(void **state)
{
	(void)state;
	struct cal c;
	struct gcase g;
	struct st_case st;
	struct st_change ch[ST_CHANGES_MAX];
	struct st_reducer r;
	struct st_figures f;
	size_t n;
	setup_cal(&c);
	memset(&g, 0, sizeof g);
	memset(&st, 0, sizeof st);
	g.channel = SV_CH_WEB;
	g.filed_ms = T0 + 3 * DAY_MS;
	step(&g, CASE_ACT_FILE, CASE_FILED, g.filed_ms);
	g.accept_ms = g.filed_ms + HOUR_MS;
	assert_int_equal(cal_due(&c, g.accept_ms, PROMISED_DAYS, &g.promised_ms), 0);
	step(&g, CASE_ACT_ACCEPT, CASE_ACCEPTED, g.accept_ms);
	for (uint64_t now = g.promised_ms; now <= g.promised_ms + 1; now++) {
		st_reduce_init(&r, 0, 1, day_of(&c, now));
		memset(&st, 0, sizeof st);
		for (int j = 0; j < g.n_ev; j++) {
			assert_int_equal(st_apply(&c, &g.ev[j], &st, &st, ch, &n), 0);
			for (size_t i = 0; i < n; i++)
				if (ch[i].key.dim == ST_REGION)
					assert_int_equal(st_reduce_add(&r, &ch[i].key,
								       &ch[i].delta),
							 0);
		}
		assert_int_equal(st_reduce_end(&r, &f), 0);
		assert_int_equal(f.open, 1);
		assert_int_equal(f.overdue, cal_is_overdue(g.promised_ms, now));
		assert_int_equal(f.overdue, now > g.promised_ms);
	}
	cal_clear(&c);
}

static void test_key_encoding(void **state)
{
	(void)state;
	struct st_key a = {.table = ST_T_DAY, .dim = ST_OWNER, .key = "gd.sz.market", .day = 20423};
	struct st_key b = a, back;
	uint8_t ka[ST_KEY_BYTES], kb[ST_KEY_BYTES];
	size_t la, lb;
	b.day = 20424;
	assert_int_equal(st_key_encode(&a, ka, sizeof ka, &la), 0);
	assert_int_equal(st_key_encode(&b, kb, sizeof kb, &lb), 0);
	assert_true(la == lb && memcmp(ka, kb, la) < 0); /* days sort in order */
	assert_int_equal(st_key_decode(ka, la, &back), 0);
	assert_memory_equal(&back, &a, sizeof a);
	struct st_key m = {.table = ST_T_MARKET, .key = "gd.sz", .kind = "licence", .day = 7};
	assert_int_equal(st_key_encode(&m, ka, sizeof ka, &la), 0);
	assert_int_equal(st_key_decode(ka, la, &back), 0);
	assert_memory_equal(&back, &m, sizeof m);
	assert_int_equal(st_key_decode(ka, la - 1, &back), OS_EINVAL);
	assert_int_equal(st_key_encode(&m, ka, 5, &la), OS_EINVAL);
	m.day = -1;
	assert_int_equal(st_key_encode(&m, ka, sizeof ka, &la), OS_EINVAL);
}

static void test_market_rule(void **state)
{
	(void)state;
	uint64_t series[90];
	int flagged = 0, flagged_day = -1;
	/* A noisy series with one spike on day 60. */
	for (int i = 0; i < 90; i++)
		series[i] = 20 + (uint64_t)((i * 7) % 5) + (uint64_t)((i * 3) % 4);
	series[60] = 45;
	for (int d = 0; d < 90; d++) {
		int f = st_market_flag(series, (size_t)d, series[d]);
		assert_true(f == 0 || f == 1);
		if (f) {
			flagged++;
			flagged_day = d;
		}
	}
	assert_int_equal(flagged, 1);
	assert_int_equal(flagged_day, 60);
	/* Too little history: no flag however high. */
	assert_int_equal(st_market_flag(series, ST_MARKET_DAYS - 1, 1000), 0);
	/* sigma 0: any other count is flagged, the mean is not. */
	uint64_t flat[ST_MARKET_DAYS];
	for (int i = 0; i < ST_MARKET_DAYS; i++)
		flat[i] = 5;
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 5), 0);
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 6), 1);
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 4), 1);
	/* Mean 1, sigma 1: 4 is on the boundary (inside), 5 outside. */
	for (int i = 0; i < ST_MARKET_DAYS; i++)
		flat[i] = (uint64_t)(i % 2) * 2;
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 4), 0);
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 5), 1);
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 0), 0);
	/* Only the last 28 days count. */
	uint64_t longer[ST_MARKET_DAYS + 1];
	longer[0] = 1000;
	for (int i = 1; i <= ST_MARKET_DAYS; i++)
		longer[i] = 5;
	assert_int_equal(st_market_flag(longer, ST_MARKET_DAYS + 1, 5), 0);
	/* Limits. */
	assert_int_equal(st_market_flag(NULL, 3, 1), OS_EINVAL);
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, ST_MARKET_COUNT_MAX + 1ull),
			 OS_EINVAL);
	flat[3] = ST_MARKET_COUNT_MAX + 1ull;
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 1), OS_EINVAL);
	for (int i = 0; i < ST_MARKET_DAYS; i++)
		flat[i] = ST_MARKET_COUNT_MAX;
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, ST_MARKET_COUNT_MAX), 0);
	assert_int_equal(st_market_flag(flat, ST_MARKET_DAYS, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures_equal_truth),
		cmocka_unit_test(test_market_records),
		cmocka_unit_test(test_apply_deterministic),
		cmocka_unit_test(test_rebuild_same_records),
		cmocka_unit_test(test_overdue_boundary),
		cmocka_unit_test(test_key_encoding),
		cmocka_unit_test(test_market_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
