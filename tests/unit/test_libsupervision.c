/* Unit tests for libonestop's supervision calls (spoke/lib/supervision.c,
 * and the stats row of spoke/lib/cases.c): the arguments refused before
 * anything is sent, and the requests and replies of onestop_case_rate,
 * onestop_market and onestop_stats against a fake spoke (a ROUTER socket
 * in a thread of the test that answers as the test says). */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "onestop.pb-c.h"

#include "onestop.h"
#include "fakespoke.h"
#include "testutil.h"

/* ------------------------------------------------------------ rate */

static void answer_rate(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__RateResult res = ONESTOP__RATE_RESULT__INIT;
	(void)req;
	res.owner = "gd.sz.market";
	res.pending = 1;
	rep->result_case = ONESTOP__API_REPLY__RESULT_RATE;
	rep->rate = &res;
}

static void answer_exists(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	(void)req;
	rep->code = ONESTOP_EEXIST;
	rep->message = "case 01 was rated already (once per case)";
}

static void answer_empty(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	(void)req;
	(void)rep;
}

static void test_rate(void **state)
{
	onestop_t *c = *state;
	static const uint8_t sa[] = {0x0a, 1, 2};
	static char longc[2002];
	uint8_t id[ONESTOP_ID_LEN];
	int pending = -1;
	onestop_rating_t r = {.score = 4,
			      .comment = "quick",
			      .assertion = sa,
			      .assertion_len = sizeof(sa),
			      .channel = ONESTOP_CHANNEL_MOBILE};

	memset(id, 0xab, sizeof(id));
	fake_expect(answer_rate, ONESTOP__API_REQUEST__OP_RATE);
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), 0);
	assert_int_equal(pending, 1);
	Onestop__ApiRequest *q = fake_last();
	assert_int_equal(q->rate->case_id.len, ONESTOP_ID_LEN);
	assert_memory_equal(q->rate->case_id.data, id, ONESTOP_ID_LEN);
	assert_int_equal(q->rate->score, 4);
	assert_int_equal(q->rate->comment.len, 5);
	assert_memory_equal(q->rate->comment.data, "quick", 5);
	assert_int_equal(q->rate->assertion.len, sizeof(sa));
	assert_int_equal(q->rate->channel, ONESTOP__CASE_CHANNEL__CASE_CHANNEL_MOBILE);
	onestop__api_request__free_unpacked(q, NULL);

	/* The spoke's refusal, and a reply without a result. */
	fake_expect(answer_exists, 0);
	assert_int_equal(onestop_case_rate(c, id, &r, NULL), ONESTOP_EEXIST);
	assert_string_equal(onestop_last_error(c), "case 01 was rated already (once per case)");
	fake_expect(answer_empty, 0);
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), ONESTOP_EPROTO);

	/* Refused before anything is sent. */
	fake_expect(answer_rate, 0);
	r.score = 0;
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), ONESTOP_EINVAL);
	r.score = 6;
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), ONESTOP_EINVAL);
	r.score = 5;
	memset(longc, 'x', sizeof(longc) - 1);
	r.comment = longc; /* 2001 bytes */
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), ONESTOP_EINVAL);
	r.comment = NULL;
	r.channel = ONESTOP_CHANNEL_HOTLINE + 1;
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), ONESTOP_EINVAL);
	r.channel = ONESTOP_CHANNEL_WEB;
	r.assertion = NULL;
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), ONESTOP_EINVAL);
	r.assertion = sa;
	assert_int_equal(onestop_case_rate_sized(c, id, &r, &pending, 8), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_rate(c, NULL, &r, &pending), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_rate(c, id, NULL, &pending), ONESTOP_EINVAL);
	assert_int_equal(fake_requests(), 0);
	/* A comment of exactly 2000 bytes goes. */
	r.comment = longc + 1;
	assert_int_equal(onestop_case_rate(c, id, &r, &pending), 0);
	assert_int_equal(fake_requests(), 1);
}

/* ------------------------------------------------------------ market */

static int bad_row; /* answer_market: send a region over 63 bytes */

static void answer_market(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__MarketResult res = ONESTOP__MARKET_RESULT__INIT;
	static Onestop__MarketRow rows[2], *ptrs[2];
	static char long_region[80];
	(void)req;
	for (int i = 0; i < 2; i++) {
		onestop__market_row__init(&rows[i]);
		rows[i].region = "gd.sz";
		rows[i].kind = "registration";
		rows[i].day = i ? "2026-11-02" : "2026-11-01";
		rows[i].approved = i ? 1 : 12;
		rows[i].mean = 2.0;
		rows[i].sigma = 0.5;
		rows[i].flagged = i == 0;
		rows[i].history = 1;
		ptrs[i] = &rows[i];
	}
	if (bad_row) {
		memset(long_region, 'r', sizeof(long_region) - 1);
		rows[1].region = long_region;
	}
	res.n_rows = 2;
	res.rows = ptrs;
	rep->result_case = ONESTOP__API_REPLY__RESULT_MARKET;
	rep->market = &res;
}

static void test_market(void **state)
{
	onestop_t *c = *state;
	onestop_market_row_t *rows = NULL;
	size_t n = 0;

	bad_row = 0;
	fake_expect(answer_market, ONESTOP__API_REQUEST__OP_MARKET);
	assert_int_equal(onestop_market(c, "gd.sz", NULL, 35, &rows, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].region, "gd.sz");
	assert_string_equal(rows[0].kind, "registration");
	assert_string_equal(rows[0].day, "2026-11-01");
	assert_int_equal(rows[0].approved, 12);
	assert_true(rows[0].flagged && rows[0].history);
	assert_false(rows[1].flagged);
	assert_true(rows[1].mean == 2.0 && rows[1].sigma == 0.5);
	free(rows);
	rows = NULL;
	Onestop__ApiRequest *q = fake_last();
	assert_string_equal(q->market->region, "gd.sz");
	assert_string_equal(q->market->kind, "");
	assert_int_equal(q->market->days, 35);
	onestop__api_request__free_unpacked(q, NULL);

	/* A row the caller's struct cannot hold: nothing is returned. */
	bad_row = 1;
	assert_int_equal(onestop_market(c, NULL, NULL, 0, &rows, &n), ONESTOP_EPROTO);
	assert_null(rows);
	assert_int_equal(n, 0);
	fake_expect(answer_empty, 0);
	assert_int_equal(onestop_market(c, NULL, NULL, 0, &rows, &n), ONESTOP_EPROTO);

	/* Refused before anything is sent. */
	fake_expect(answer_market, 0);
	assert_int_equal(onestop_market(c, NULL, NULL, 367, &rows, &n), ONESTOP_EINVAL);
	assert_int_equal(onestop_market_sized(c, NULL, NULL, 0, &rows, &n, 8), ONESTOP_EINVAL);
	assert_int_equal(onestop_market(c, NULL, NULL, 0, NULL, &n), ONESTOP_EINVAL);
	assert_int_equal(fake_requests(), 0);
}

/* ------------------------------------------------------------ stats */

static void answer_stats(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__StatsResult res = ONESTOP__STATS_RESULT__INIT;
	static Onestop__StatsRow row = ONESTOP__STATS_ROW__INIT, *ptr = &row;
	(void)req;
	row.key = "OWN-LIC-0001";
	row.filed = 3;
	row.complaints = 2;
	row.consultations = 1;
	row.answered = 2;
	row.mean_response_ms = 7200000.0;
	row.evaluations = 4;
	row.mean_score = 4.25;
	row.hotline_share = 0.5;
	row.p90_capped = 1;
	res.n_rows = 1;
	res.rows = &ptr;
	rep->result_case = ONESTOP__API_REPLY__RESULT_STATS;
	rep->stats = &res;
}

static void test_stats_row(void **state)
{
	onestop_t *c = *state;
	onestop_stats_row_t *rows = NULL;
	size_t n = 0;

	fake_expect(answer_stats, 0);
	assert_int_equal(onestop_stats(c, "item", NULL, NULL, &rows, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].key, "OWN-LIC-0001");
	assert_int_equal(rows[0].filed, 3);
	assert_int_equal(rows[0].complaints, 2);
	assert_int_equal(rows[0].consultations, 1);
	assert_int_equal(rows[0].answered, 2);
	assert_true(rows[0].mean_response_hours > 1.999 && rows[0].mean_response_hours < 2.001);
	assert_int_equal(rows[0].evaluations, 4);
	assert_true(rows[0].mean_score == 4.25);
	assert_true(rows[0].hotline_share == 0.5);
	assert_int_equal(rows[0].p90_capped, 1);
	free(rows);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rate, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_market, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_stats_row, fake_setup, fake_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
