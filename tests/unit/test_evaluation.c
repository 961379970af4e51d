/* Unit tests for common/evaluation.c: a rating of a decided or closed case
 * by its applicant, once, and each refusal in the order the protocol gives
 * (EINVAL, ESUBJECT, ESTATE, EEXIST). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "case.h"
#include "crypto.h"
#include "err.h"
#include "evaluation.h"

#define FILER "gd.sz.hall"
#define OWNER "gd.sz.market"
#define APPLICANT "id-4403-0001"

/* A case between FILER and OWNER taken along actions. */
static void case_at(struct case_record *c, const enum case_action *actions, size_t n)
{
	assert_int_equal(case_record_init(c, FILER, OWNER), 0);
	for (size_t i = 0; i < n; i++) {
		int by_filer = actions[i] == CASE_ACT_FILE || actions[i] == CASE_ACT_RESUBMIT ||
			       actions[i] == CASE_ACT_WITHDRAW;
		struct case_step t = {
			.seq = i + 1,
			.action = actions[i],
			.outcome = actions[i] == CASE_ACT_DECIDE ? CASE_DENIED : CASE_OUTCOME_NONE,
			.actor = by_filer ? FILER : OWNER,
		};
		assert_int_equal(case_apply(c, &t, NULL), 0);
	}
}

static const struct evaluation_request good = {.score = 4, .comment_len = 12, .subject = APPLICANT};

/* Rated in a decided and in a closed case (a denial is rated too); every
 * other state is ESTATE. */
static void test_states(void **state)
{
	static const enum case_action decided[] = {CASE_ACT_FILE, CASE_ACT_ACCEPT, CASE_ACT_DECIDE};
	static const enum case_action closed[] = {CASE_ACT_FILE, CASE_ACT_ACCEPT, CASE_ACT_DECIDE,
						  CASE_ACT_CLOSE};
	static const enum case_action filed[] = {CASE_ACT_FILE};
	static const enum case_action accepted[] = {CASE_ACT_FILE, CASE_ACT_ACCEPT};
	static const enum case_action more[] = {CASE_ACT_FILE, CASE_ACT_NEED_MORE};
	static const enum case_action resubmitted[] = {CASE_ACT_FILE, CASE_ACT_NEED_MORE,
						       CASE_ACT_RESUBMIT};
	static const enum case_action rejected[] = {CASE_ACT_FILE, CASE_ACT_REJECT};
	static const enum case_action withdrawn[] = {CASE_ACT_FILE, CASE_ACT_WITHDRAW};
	struct case_record c;
	(void)state;

	case_at(&c, decided, 3);
	assert_int_equal(evaluation_check(&c, APPLICANT, &good, 0), 0);
	case_at(&c, closed, 4);
	assert_int_equal(evaluation_check(&c, APPLICANT, &good, 0), 0);

	static const struct {
		const enum case_action *a;
		size_t n;
	} open[] = {
		{NULL, 0},        {filed, 1},    {accepted, 2},  {more, 2},
		{resubmitted, 3}, {rejected, 2}, {withdrawn, 2},
	};
	for (size_t i = 0; i < sizeof(open) / sizeof(open[0]); i++) {
		case_at(&c, open[i].a, open[i].n);
		if (evaluation_check(&c, APPLICANT, &good, 0) != OS_ESTATE)
			fail_msg("a rating of a %s case was not ESTATE", case_state_name(c.state));
	}
}

static void test_refusals(void **state)
{
	static const enum case_action decided[] = {CASE_ACT_FILE, CASE_ACT_ACCEPT, CASE_ACT_DECIDE};
	static const enum case_action filed[] = {CASE_ACT_FILE};
	struct case_record c, open;
	struct evaluation_request q;
	(void)state;
	case_at(&c, decided, 3);
	case_at(&open, filed, 1);

	/* Once per case. */
	assert_int_equal(evaluation_check(&c, APPLICANT, &good, 1), OS_EEXIST);

	/* Only the applicant; a stranger hears ESUBJECT whatever the state or
	 * whether the case was rated. */
	q = good;
	q.subject = "id-4403-0002";
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), OS_ESUBJECT);
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 1), OS_ESUBJECT);
	assert_int_equal(evaluation_check(&open, APPLICANT, &q, 0), OS_ESUBJECT);
	q.subject = "id-4403-000"; /* a prefix is another subject */
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), OS_ESUBJECT);

	/* The score and the comment's length, before anything else. */
	for (uint32_t s = 0; s <= 7; s++) {
		q = good;
		q.score = s;
		int want = s >= EVALUATION_SCORE_MIN && s <= EVALUATION_SCORE_MAX ? 0 : OS_EINVAL;
		assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), want);
		q.subject = "someone else";
		assert_int_equal(evaluation_check(&open, APPLICANT, &q, 1),
				 want == 0 ? OS_ESUBJECT : OS_EINVAL);
	}
	q = good;
	q.score = UINT32_MAX;
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), OS_EINVAL);
	q = good;
	q.comment_len = 0;
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), 0);
	q.comment_len = EVALUATION_COMMENT_MAX;
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), 0);
	q.comment_len = EVALUATION_COMMENT_MAX + 1;
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 1), OS_EINVAL);

	/* Missing or empty names. */
	q = good;
	assert_int_equal(evaluation_check(NULL, APPLICANT, &q, 0), OS_EINVAL);
	assert_int_equal(evaluation_check(&c, NULL, &q, 0), OS_EINVAL);
	assert_int_equal(evaluation_check(&c, APPLICANT, NULL, 0), OS_EINVAL);
	assert_int_equal(evaluation_check(&c, "", &q, 0), OS_EINVAL);
	q.subject = NULL;
	assert_int_equal(evaluation_check(&c, APPLICANT, &q, 0), OS_EINVAL);
	q.subject = "";
	assert_int_equal(evaluation_check(&c, "", &q, 0), OS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_refusals),
	};
	if (crypto_setup() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
