/* Unit tests for the spoke's case store (spoke/cases.c) without the daemon:
 * a struct spoke over a store in a temporary directory, written in one
 * transaction per step and committed as the loop would. A case's life with
 * its record, history and indexes at each step; duplicates and refused
 * transitions; reopening; paging; a thousand cases. */
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
#include "log.h"
#include "store.h"
#include "util.h"

#include "cases.h"
#include "spoke.h"

#include "testutil.h"

#define DAY_MS 86400000ull
#define FILER "gd.other"
#define OWNER "gd.me"

struct fx {
	char *dir;
	struct spoke sp;
	struct cal cal;
};

static void fx_open(struct fx *x)
{
	struct spoke *sp = &x->sp;

	assert_int_equal(store_open(x->dir, 64, 8, &sp->st), 0);
	assert_int_equal(store_dbi_open(sp->st, "cases", &sp->db_cases), 0);
	assert_int_equal(store_dbi_open(sp->st, "case_hist", &sp->db_case_hist), 0);
	assert_int_equal(store_dbi_open(sp->st, "case_idx", &sp->db_case_idx), 0);
}

static struct fx *fx_new(void)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->dir = tu_mkdtemp();
	assert_non_null(x->dir);
	assert_int_equal(cal_init(&x->cal, 0), 0);
	fx_open(x);
	return x;
}

static void fx_free(struct fx *x)
{
	store_abort(&x->sp.txn);
	store_close(&x->sp.st);
	cal_clear(&x->cal);
	tu_rm_tree(x->dir);
	free(x->dir);
	free(x);
}

static struct store_txn *txn(struct fx *x)
{
	struct store_txn *t = NULL;
	assert_int_equal(spoke_txn(&x->sp, &t), 0);
	return t;
}

/* End the step as the daemon does: an error poisons the transaction. */
static void commit(struct fx *x, int rc)
{
	spoke_wrote(&x->sp, rc);
	assert_int_equal(spoke_commit(&x->sp), rc);
}

static void mkid(uint8_t id[CASES_ID_LEN], unsigned n)
{
	memset(id, 0, CASES_ID_LEN);
	id[12] = (uint8_t)(n >> 24);
	id[13] = (uint8_t)(n >> 16);
	id[14] = (uint8_t)(n >> 8);
	id[15] = (uint8_t)n;
}

static uint64_t at(const char *date, uint64_t hour)
{
	int32_t day;
	assert_int_equal(cal_day_from_date(date, &day), 0);
	return (uint64_t)day * DAY_MS + hour * 3600000ull;
}

static int file(struct fx *x, const uint8_t *id, const char *item, uint64_t now, int *dup)
{
	static const uint8_t content[] = "file";
	return cases_file(&x->sp, txn(x), id, FILER, OWNER, item, "applicant-1", "web", now,
			  content, sizeof(content), dup);
}

static int apply(struct fx *x, const uint8_t *id, uint64_t seq, enum case_action a,
		 const char *content, uint64_t now, int *dup)
{
	const char *filer_acts = a == CASE_ACT_RESUBMIT || a == CASE_ACT_WITHDRAW ? FILER : OWNER;
	struct case_step s = {.seq = seq,
			      .action = a,
			      .outcome = a == CASE_ACT_DECIDE ? CASE_APPROVED : CASE_OUTCOME_NONE,
			      .actor = filer_acts,
			      .content = (const uint8_t *)content,
			      .content_len = strlen(content)};
	return cases_apply(&x->sp, txn(x), id, &s, now, &x->cal, 1, 5, dup);
}

/* ids listed, collected */
struct got {
	uint8_t ids[1100][CASES_ID_LEN];
	size_t n;
};

static int collect(void *arg, const uint8_t id[CASES_ID_LEN])
{
	struct got *g = arg;
	if (g->n == 1100)
		return OS_EINVAL;
	memcpy(g->ids[g->n++], id, CASES_ID_LEN);
	return 0;
}

static size_t list(struct fx *x, struct cases_filter f, struct got *g)
{
	int more = 1;
	g->n = 0;
	assert_int_equal(cases_list(&x->sp, txn(x), &f, NULL, 2000, collect, g, NULL, &more), 0);
	assert_int_equal(more, 0);
	return g->n;
}

static size_t by_state(struct fx *x, enum case_state s, struct got *g)
{
	return list(x, (struct cases_filter){.by = CASES_BY_STATE, .state = s}, g);
}

static size_t overdue(struct fx *x, uint64_t now, struct got *g)
{
	return list(x, (struct cases_filter){.by = CASES_OVERDUE, .now_ms = now}, g);
}

/* The case's state: its record says it, and the state index lists it under
 * that state and no other. */
static void expect_state(struct fx *x, const uint8_t *id, enum case_state s, uint64_t seq)
{
	static struct got g;
	struct cases_info c;

	assert_int_equal(cases_get(&x->sp, txn(x), id, &c), 0);
	assert_int_equal(c.rec.state, s);
	assert_int_equal(c.rec.seq, seq);
	for (int st = 0; st < CASE_STATE_COUNT; st++) {
		size_t n = by_state(x, (enum case_state)st, &g);
		assert_int_equal(n, st == (int)s ? 1 : 0);
		if (n)
			assert_memory_equal(g.ids[0], id, CASES_ID_LEN);
	}
}

struct hist {
	uint64_t seq[CASE_STEPS_MAX];
	char actor[CASE_STEPS_MAX][OS_NAME_MAX];
	char step[CASE_STEPS_MAX][32];
	size_t n;
};

static int hist_add(void *arg, uint64_t seq, uint64_t at_ms, const char *actor, const uint8_t *step,
		    size_t len)
{
	struct hist *h = arg;
	(void)at_ms;
	if (h->n == CASE_STEPS_MAX || len >= 32)
		return OS_EINVAL;
	h->seq[h->n] = seq;
	snprintf(h->actor[h->n], OS_NAME_MAX, "%s", actor);
	memcpy(h->step[h->n], step, len);
	h->step[h->n][len] = 0;
	h->n++;
	return 0;
}

static void test_case_life(void **state)
{
	static struct got g;
	static const char *names[] = {"file",   "accept", "more", "resubmit",
				      "accept", "decide", "close"};
	struct fx *x = fx_new();
	uint64_t fri = at("2026-12-04", 10); /* a Friday */
	uint64_t mon_end = at("2026-12-07", 24) - 1;
	uint64_t fri2_end = at("2026-12-11", 24) - 1;
	struct cases_info c;
	struct hist h = {0};
	uint8_t id[CASES_ID_LEN];
	int dup = -1;

	(void)state;
	mkid(id, 1);
	assert_int_equal(file(x, id, "permit.food", fri - 3600000, &dup), 0);
	assert_int_equal(dup, 0);
	commit(x, 0);
	expect_state(x, id, CASE_FILED, 1);
	assert_int_equal(list(x, (struct cases_filter){.by = CASES_BY_ITEM, .item = "permit.food"},
			      &g),
			 1);
	assert_int_equal(list(x, (struct cases_filter){.by = CASES_BY_ITEM, .item = "permit"}, &g),
			 0);
	assert_int_equal(overdue(x, UINT64_MAX, &g), 0); /* no due date before ACCEPT */

	/* accepted on a Friday with one working day: due at Monday's end */
	assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "accept", fri, &dup), 0);
	commit(x, 0);
	expect_state(x, id, CASE_ACCEPTED, 2);
	assert_int_equal(cases_get(&x->sp, txn(x), id, &c), 0);
	assert_true(c.accepted_ms == fri);
	assert_true(c.promised_due_ms == mon_end);
	assert_true(c.legal_due_ms == fri2_end);
	assert_string_equal(c.item, "permit.food");
	assert_string_equal(c.subject, "applicant-1");
	assert_string_equal(c.channel, "web");
	assert_int_equal(overdue(x, mon_end, &g), 0); /* due_ms itself is on time */
	assert_int_equal(overdue(x, mon_end + 1, &g), 1);

	assert_int_equal(apply(x, id, 3, CASE_ACT_NEED_MORE, "more", fri + 1000, &dup), 0);
	commit(x, 0);
	expect_state(x, id, CASE_MORE_NEEDED, 3);
	assert_int_equal(apply(x, id, 4, CASE_ACT_RESUBMIT, "resubmit", fri + 2000, &dup), 0);
	commit(x, 0);
	expect_state(x, id, CASE_RESUBMITTED, 4);
	/* DECIDE may not follow RESUBMITTED: the owner accepts again, and the
	 * due dates stay those of the first ACCEPT */
	assert_int_equal(apply(x, id, 5, CASE_ACT_ACCEPT, "accept", fri + 3 * DAY_MS, &dup), 0);
	commit(x, 0);
	expect_state(x, id, CASE_ACCEPTED, 5);
	assert_int_equal(cases_get(&x->sp, txn(x), id, &c), 0);
	assert_true(c.accepted_ms == fri && c.promised_due_ms == mon_end);
	assert_int_equal(apply(x, id, 6, CASE_ACT_DECIDE, "decide", fri + 4 * DAY_MS, &dup), 0);
	commit(x, 0);
	expect_state(x, id, CASE_DECIDED, 6);
	assert_int_equal(overdue(x, mon_end + 1, &g), 0); /* decided: no longer due */
	assert_int_equal(apply(x, id, 7, CASE_ACT_CLOSE, "close", fri + 5 * DAY_MS, &dup), 0);
	commit(x, 0);
	expect_state(x, id, CASE_CLOSED, 7);
	assert_int_equal(overdue(x, UINT64_MAX, &g), 0); /* closed: no longer due */
	assert_int_equal(cases_get(&x->sp, txn(x), id, &c), 0);
	assert_int_equal(c.rec.outcome, CASE_APPROVED);

	assert_int_equal(cases_history(&x->sp, txn(x), id, hist_add, &h), 0);
	assert_int_equal(h.n, 7);
	for (size_t i = 0; i < h.n; i++) {
		assert_true(h.seq[i] == i + 1);
		assert_string_equal(h.step[i], i == 0 ? "file" : names[i]);
	}
	assert_string_equal(h.actor[0], FILER);
	assert_string_equal(h.actor[1], OWNER);
	assert_string_equal(h.actor[3], FILER);
	fx_free(x);
}

static uint64_t count(struct fx *x, store_dbi db)
{
	uint64_t n = 0;
	assert_int_equal(store_count(txn(x), db, &n), 0);
	return n;
}

static void test_duplicate_and_refused_change_nothing(void **state)
{
	struct fx *x = fx_new();
	uint64_t now = at("2026-12-04", 10);
	uint64_t hist, idx;
	struct cases_info before, after;
	uint8_t id[CASES_ID_LEN];
	int dup = -1;

	(void)state;
	mkid(id, 7);
	assert_int_equal(file(x, id, "permit.food", now, &dup), 0);
	commit(x, 0);
	assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "accept", now, &dup), 0);
	commit(x, 0);
	assert_int_equal(cases_get(&x->sp, txn(x), id, &before), 0);
	hist = count(x, x->sp.db_case_hist);
	idx = count(x, x->sp.db_case_idx);
	assert_true(hist == 2 && idx == 3); /* state, item, due */

	/* the same FILE and ACCEPT again: duplicates, nothing written */
	assert_int_equal(file(x, id, "permit.food", now + 5, &dup), 0);
	assert_int_equal(dup, 1);
	assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "accept", now + 9 * DAY_MS, &dup), 0);
	assert_int_equal(dup, 1);
	/* another ACCEPT at seq 2, a gap, a CLOSE from ACCEPTED, a filer's DECIDE */
	assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "other", now, &dup), OS_ECONFLICT);
	assert_int_equal(apply(x, id, 4, CASE_ACT_DECIDE, "decide", now, &dup), OS_EGAP);
	assert_int_equal(apply(x, id, 3, CASE_ACT_CLOSE, "close", now, &dup), OS_ESTATE);
	/* checked in the same transaction: nothing was written to it */
	assert_int_equal(cases_get(&x->sp, txn(x), id, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_true(count(x, x->sp.db_case_hist) == hist);
	assert_true(count(x, x->sp.db_case_idx) == idx);
	/* a different FILE under the same id */
	assert_int_equal(cases_file(&x->sp, txn(x), id, FILER, OWNER, "permit.food", "b", "web",
				    now, (const uint8_t *)"x", 1, &dup),
			 OS_EEXIST);
	commit(x, OS_EEXIST);

	assert_int_equal(cases_get(&x->sp, txn(x), id, &after), 0);
	assert_memory_equal(&before, &after, sizeof(before));
	assert_true(count(x, x->sp.db_case_hist) == hist);
	assert_true(count(x, x->sp.db_case_idx) == idx);
	assert_int_equal(cases_apply(&x->sp, txn(x), id, NULL, now, &x->cal, 1, 1, &dup),
			 OS_EINVAL);
	mkid(id, 8);
	assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "accept", now, &dup), OS_ENOTFOUND);
	fx_free(x);
}

static void test_survives_reopen(void **state)
{
	static struct got g;
	struct fx *x = fx_new();
	uint64_t now = at("2026-12-04", 10);
	struct cases_info c;
	struct hist h = {0};
	uint8_t id[CASES_ID_LEN];

	(void)state;
	mkid(id, 3);
	assert_int_equal(file(x, id, "permit.food", now, NULL), 0);
	assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "accept", now, NULL), 0);
	commit(x, 0);
	store_close(&x->sp.st);
	fx_open(x);
	expect_state(x, id, CASE_ACCEPTED, 2);
	assert_int_equal(cases_get(&x->sp, txn(x), id, &c), 0);
	assert_true(c.promised_due_ms == at("2026-12-07", 24) - 1);
	assert_string_equal(c.rec.filer, FILER);
	assert_string_equal(c.rec.owner, OWNER);
	assert_int_equal(cases_history(&x->sp, txn(x), id, hist_add, &h), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(overdue(x, UINT64_MAX, &g), 1);
	/* the digests came back too: the stored ACCEPT is still a duplicate */
	{
		int dup = 0;
		assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "accept", now, &dup), 0);
		assert_int_equal(dup, 1);
	}
	fx_free(x);
}

static void test_paging(void **state)
{
	struct fx *x = fx_new();
	struct cases_filter f = {.by = CASES_BY_STATE, .state = CASE_FILED};
	uint8_t id[CASES_ID_LEN], cur[CASES_ID_LEN];
	struct got *g = calloc(1, sizeof(*g));
	size_t pages = 0;
	int more = 1;

	(void)state;
	assert_non_null(g);
	for (unsigned i = 5; i >= 1; i--) {
		mkid(id, i);
		assert_int_equal(file(x, id, "permit.food", 1000, NULL), 0);
	}
	commit(x, 0);
	assert_int_equal(cases_list(&x->sp, txn(x), &f, NULL, 2, collect, g, cur, &more), 0);
	pages++;
	while (more) {
		assert_int_equal(g->n, 2 * pages);
		assert_int_equal(cases_list(&x->sp, txn(x), &f, cur, 2, collect, g, cur, &more), 0);
		pages++;
	}
	assert_int_equal(pages, 3);
	assert_int_equal(g->n, 5);
	for (unsigned i = 0; i < 5; i++) {
		mkid(id, i + 1);
		assert_memory_equal(g->ids[i], id, CASES_ID_LEN);
	}
	/* by item pages the same way */
	f = (struct cases_filter){.by = CASES_BY_ITEM, .item = "permit.food"};
	g->n = 0;
	assert_int_equal(cases_list(&x->sp, txn(x), &f, NULL, 4, collect, g, cur, &more), 0);
	assert_int_equal(more, 1);
	assert_int_equal(cases_list(&x->sp, txn(x), &f, cur, 4, collect, g, cur, &more), 0);
	assert_int_equal(more, 0);
	assert_int_equal(g->n, 5);
	assert_int_equal(cases_list(&x->sp, txn(x), &f, NULL, 0, collect, g, cur, &more),
			 OS_EINVAL);
	free(g);
	fx_free(x);
}

static void test_thousand_by_state(void **state)
{
	struct fx *x = fx_new();
	struct got *g = calloc(1, sizeof(*g));
	uint8_t id[CASES_ID_LEN];

	(void)state;
	assert_non_null(g);
	for (unsigned i = 0; i < 1000; i++) {
		mkid(id, i * 7919u);
		assert_int_equal(file(x, id, i % 2 ? "permit.a" : "permit.b", 1000, NULL), 0);
		if (i % 3 == 0)
			assert_int_equal(apply(x, id, 2, CASE_ACT_ACCEPT, "a", 1000, NULL), 0);
	}
	commit(x, 0);
	assert_int_equal(by_state(x, CASE_FILED, g), 666);
	assert_int_equal(by_state(x, CASE_ACCEPTED, g), 334);
	for (size_t i = 1; i < g->n; i++)
		assert_true(memcmp(g->ids[i - 1], g->ids[i], CASES_ID_LEN) < 0);
	assert_int_equal(list(x, (struct cases_filter){.by = CASES_BY_ITEM, .item = "permit.a"}, g),
			 500);
	assert_int_equal(overdue(x, UINT64_MAX, g), 334);
	free(g);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_life),
		cmocka_unit_test(test_duplicate_and_refused_change_nothing),
		cmocka_unit_test(test_survives_reopen),
		cmocka_unit_test(test_paging),
		cmocka_unit_test(test_thousand_by_state),
	};
	os_log_set_level(OS_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
