/* Unit tests for common/case.c: a complete case, every state x action pair
 * against this file's own copy of the table in docs/PROTOCOL.md, who may
 * act, duplicates, conflicts, gaps, the NEED_MORE bound and the names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "case.h"
#include "crypto.h"
#include "err.h"

#define FILER "hall.city-a"
#define OWNER "market.province"
#define OTHER "tax.province"

/* The protocol's table, written out again: 1 where the action may follow
 * the state. Columns are the actions by number (0 is none). */
/* clang-format off */
static const int want_allowed[CASE_STATE_COUNT][CASE_ACTION_MAX + 1] = {
	/*                    -  FILE ACC REJ MORE RESUB DEC CLOSE WDRAW */
	[CASE_NEW]         = {0, 1,   0,  0,  0,   0,    0,  0,    0},
	[CASE_FILED]       = {0, 0,   1,  1,  1,   0,    0,  0,    1},
	[CASE_ACCEPTED]    = {0, 0,   0,  0,  1,   0,    1,  0,    1},
	[CASE_REJECTED]    = {0, 0,   0,  0,  0,   0,    0,  0,    0},
	[CASE_MORE_NEEDED] = {0, 0,   0,  1,  0,   1,    0,  0,    1},
	[CASE_RESUBMITTED] = {0, 0,   1,  1,  1,   0,    0,  0,    1},
	[CASE_DECIDED]     = {0, 0,   0,  0,  0,   0,    0,  1,    0},
	[CASE_CLOSED]      = {0, 0,   0,  0,  0,   0,    0,  0,    0},
	[CASE_WITHDRAWN]   = {0, 0,   0,  0,  0,   0,    0,  0,    0},
};
/* clang-format on */

/* Where each action leads, and who makes it. */
static const enum case_state want_target[CASE_ACTION_MAX + 1] = {
	[CASE_ACT_FILE] = CASE_FILED,           [CASE_ACT_ACCEPT] = CASE_ACCEPTED,
	[CASE_ACT_REJECT] = CASE_REJECTED,      [CASE_ACT_NEED_MORE] = CASE_MORE_NEEDED,
	[CASE_ACT_RESUBMIT] = CASE_RESUBMITTED, [CASE_ACT_DECIDE] = CASE_DECIDED,
	[CASE_ACT_CLOSE] = CASE_CLOSED,         [CASE_ACT_WITHDRAW] = CASE_WITHDRAWN,
};
static const char *const want_actor[CASE_ACTION_MAX + 1] = {
	[CASE_ACT_FILE] = FILER,      [CASE_ACT_ACCEPT] = OWNER,   [CASE_ACT_REJECT] = OWNER,
	[CASE_ACT_NEED_MORE] = OWNER, [CASE_ACT_RESUBMIT] = FILER, [CASE_ACT_DECIDE] = OWNER,
	[CASE_ACT_CLOSE] = OWNER,     [CASE_ACT_WITHDRAW] = FILER,
};

/* A way from a new record to each state, made of allowed actions. */
static const enum case_action path_to[CASE_STATE_COUNT][4] = {
	[CASE_NEW] = {0},
	[CASE_FILED] = {CASE_ACT_FILE},
	[CASE_ACCEPTED] = {CASE_ACT_FILE, CASE_ACT_ACCEPT},
	[CASE_REJECTED] = {CASE_ACT_FILE, CASE_ACT_REJECT},
	[CASE_MORE_NEEDED] = {CASE_ACT_FILE, CASE_ACT_NEED_MORE},
	[CASE_RESUBMITTED] = {CASE_ACT_FILE, CASE_ACT_NEED_MORE, CASE_ACT_RESUBMIT},
	[CASE_DECIDED] = {CASE_ACT_FILE, CASE_ACT_ACCEPT, CASE_ACT_DECIDE},
	[CASE_CLOSED] = {CASE_ACT_FILE, CASE_ACT_ACCEPT, CASE_ACT_DECIDE, CASE_ACT_CLOSE},
	[CASE_WITHDRAWN] = {CASE_ACT_FILE, CASE_ACT_WITHDRAW},
};

/* A step of action at seq by its rightful actor, content the given text. */
static struct case_step step(uint64_t seq, enum case_action a, const char *text)
{
	struct case_step t = {
		.seq = seq,
		.action = a,
		.outcome = a == CASE_ACT_DECIDE ? CASE_APPROVED : CASE_OUTCOME_NONE,
		.actor = want_actor[a],
		.content = (const uint8_t *)text,
		.content_len = text != NULL ? strlen(text) : 0,
	};
	return t;
}

/* Apply t, which must hold and be new. */
static void apply_ok(struct case_record *r, const struct case_step *t)
{
	int dup = -1;
	int rc = case_apply(r, t, &dup);
	if (rc != 0 || dup != 0)
		fail_msg("%s at seq %llu from %s: rc %s dup %d", case_action_name(t->action),
			 (unsigned long long)t->seq, case_state_name(r->state), os_errname(rc),
			 dup);
}

/* A record between FILER and OWNER brought to state s along path_to. */
static void record_at(struct case_record *r, enum case_state s)
{
	assert_int_equal(case_record_init(r, FILER, OWNER), 0);
	for (int i = 0; i < 4 && path_to[s][i] != 0; i++) {
		struct case_step t = step(r->seq + 1, path_to[s][i], "path");
		apply_ok(r, &t);
	}
	if (r->state != s)
		fail_msg("path to %s ended in %s", case_state_name(s), case_state_name(r->state));
}

/* Apply t expecting the refusal want; the record must not move. */
static void apply_refused(struct case_record *r, const struct case_step *t, int want,
			  const char *what)
{
	struct case_record before = *r;
	int dup = -1;
	int rc = case_apply(r, t, &dup);
	if (rc != want)
		fail_msg("%s: %s at seq %llu by %s from %s gave %s, want %s", what,
			 case_action_name(t->action), (unsigned long long)t->seq,
			 t->actor ? t->actor : "(null)", case_state_name(before.state),
			 os_errname(rc), os_errname(want));
	if (dup != 0)
		fail_msg("%s: a refusal set *duplicate to %d", what, dup);
	if (memcmp(&before, r, sizeof(before)) != 0)
		fail_msg("%s: the refused transition changed the record", what);
}

static void test_complete_path(void **state)
{
	static const struct {
		enum case_action action;
		enum case_state then;
	} path[] = {
		{CASE_ACT_FILE, CASE_FILED},
		{CASE_ACT_ACCEPT, CASE_ACCEPTED},
		{CASE_ACT_NEED_MORE, CASE_MORE_NEEDED},
		{CASE_ACT_RESUBMIT, CASE_RESUBMITTED},
		{CASE_ACT_ACCEPT, CASE_ACCEPTED},
		{CASE_ACT_DECIDE, CASE_DECIDED},
		{CASE_ACT_CLOSE, CASE_CLOSED},
	};
	struct case_record r;
	(void)state;
	assert_int_equal(case_record_init(&r, FILER, OWNER), 0);
	assert_int_equal(r.state, CASE_NEW);
	assert_int_equal(r.seq, 0);
	assert_string_equal(r.filer, FILER);
	assert_string_equal(r.owner, OWNER);
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		struct case_step t = step(i + 1, path[i].action, "complete");
		apply_ok(&r, &t);
		assert_int_equal(r.seq, i + 1);
		if (r.state != path[i].then)
			fail_msg("step %zu (%s) led to %s, want %s", i + 1,
				 case_action_name(path[i].action), case_state_name(r.state),
				 case_state_name(path[i].then));
		/* The outcome exists from the decision on, not before. */
		assert_int_equal(r.outcome, i + 1 >= 6 ? CASE_APPROVED : CASE_OUTCOME_NONE);
	}
	assert_int_equal(r.more_asked, 1);
	assert_true(case_state_final(r.state));

	/* Denied is an outcome too, and it is kept. */
	struct case_step t;
	record_at(&r, CASE_ACCEPTED);
	t = step(3, CASE_ACT_DECIDE, "no");
	t.outcome = CASE_DENIED;
	apply_ok(&r, &t);
	assert_int_equal(r.outcome, CASE_DENIED);
	t = step(4, CASE_ACT_CLOSE, NULL);
	apply_ok(&r, &t);
	assert_int_equal(r.outcome, CASE_DENIED);
}

/* Every action from every state by its rightful actor: the allowed ones
 * lead where the table says, every other one is ESTATE. */
static void test_every_pair(void **state)
{
	int allowed = 0, refused = 0;
	(void)state;
	for (int s = 0; s < CASE_STATE_COUNT; s++) {
		for (int a = CASE_ACT_FILE; a <= CASE_ACTION_MAX; a++) {
			struct case_record r;
			char what[64];
			record_at(&r, (enum case_state)s);
			struct case_step t = step(r.seq + 1, (enum case_action)a, "pair");
			snprintf(what, sizeof(what), "%s then %s", case_state_name(s),
				 case_action_name(a));
			if (case_allowed((enum case_state)s, (enum case_action)a) !=
			    want_allowed[s][a])
				fail_msg("case_allowed disagrees with the table: %s", what);
			if (want_allowed[s][a]) {
				apply_ok(&r, &t);
				if (r.state != want_target[a])
					fail_msg("%s led to %s", what, case_state_name(r.state));
				allowed++;
			} else {
				apply_refused(&r, &t, OS_ESTATE, what);
				refused++;
			}
		}
		assert_int_equal(case_state_final((enum case_state)s),
				 s == CASE_REJECTED || s == CASE_CLOSED || s == CASE_WITHDRAWN);
	}
	/* 9 states x 8 actions, 16 of them allowed. */
	assert_int_equal(allowed, 16);
	assert_int_equal(refused, 9 * 8 - 16);
}

/* Each action from a state where it is allowed, by the other party of the
 * case and by a node outside it. */
static void test_wrong_actor(void **state)
{
	(void)state;
	for (int a = CASE_ACT_FILE; a <= CASE_ACTION_MAX; a++) {
		int s = 0;
		while (s < CASE_STATE_COUNT && !want_allowed[s][a])
			s++;
		assert_true(s < CASE_STATE_COUNT);
		const char *wrong[] = {strcmp(want_actor[a], FILER) == 0 ? OWNER : FILER, OTHER};
		for (size_t w = 0; w < 2; w++) {
			struct case_record r;
			char what[64];
			record_at(&r, (enum case_state)s);
			struct case_step t = step(r.seq + 1, (enum case_action)a, "actor");
			t.actor = wrong[w];
			snprintf(what, sizeof(what), "%s by %s", case_action_name(a), wrong[w]);
			apply_refused(&r, &t, OS_ENOTALLOWED, what);
			/* The rightful actor may still make it. */
			t.actor = want_actor[a];
			apply_ok(&r, &t);
		}
	}

	/* Who may act does not depend on the state: an outsider asking for
	 * an action the state does not allow hears ENOTALLOWED. */
	struct case_record r;
	record_at(&r, CASE_CLOSED);
	struct case_step t = step(5, CASE_ACT_WITHDRAW, NULL);
	t.actor = OTHER;
	apply_refused(&r, &t, OS_ENOTALLOWED, "withdraw of a closed case by an outsider");

	/* A node that files a case for its own item makes every action. */
	assert_int_equal(case_record_init(&r, OWNER, OWNER), 0);
	static const enum case_action all[] = {
		CASE_ACT_FILE,   CASE_ACT_NEED_MORE, CASE_ACT_RESUBMIT,
		CASE_ACT_ACCEPT, CASE_ACT_DECIDE,    CASE_ACT_CLOSE,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		t = step(i + 1, all[i], NULL);
		t.actor = OWNER;
		apply_ok(&r, &t);
	}
	assert_int_equal(r.state, CASE_CLOSED);
}

static void test_duplicate(void **state)
{
	struct case_record r, before;
	struct case_step t;
	int dup = 0;
	(void)state;

	/* The same step twice: applied once. */
	record_at(&r, CASE_FILED);
	t = step(2, CASE_ACT_NEED_MORE, "missing: floor plan");
	apply_ok(&r, &t);
	before = r;
	assert_int_equal(case_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	assert_memory_equal(&before, &r, sizeof(r));
	assert_int_equal(r.more_asked, 1);

	/* An old step arriving late, after the case moved on, is a duplicate
	 * too, from any state, the final ones included; the filing as well. */
	t = step(3, CASE_ACT_RESUBMIT, "floor plan");
	apply_ok(&r, &t);
	t = step(4, CASE_ACT_REJECT, "out of scope");
	apply_ok(&r, &t);
	before = r;
	t = step(2, CASE_ACT_NEED_MORE, "missing: floor plan");
	dup = 0;
	assert_int_equal(case_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	t = step(1, CASE_ACT_FILE, "path");
	dup = 0;
	assert_int_equal(case_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	assert_memory_equal(&before, &r, sizeof(r));

	/* duplicate may be NULL. */
	assert_int_equal(case_apply(&r, &t, NULL), 0);
	assert_memory_equal(&before, &r, sizeof(r));
}

/* A transition at a seq already taken by a different one. */
static void test_conflict(void **state)
{
	struct case_record r;
	struct case_step t;
	(void)state;
	record_at(&r, CASE_ACCEPTED); /* seq 2 is the owner's ACCEPT, content "path" */

	t = step(2, CASE_ACT_ACCEPT, "path, but other words");
	apply_refused(&r, &t, OS_ECONFLICT, "same action, other content");
	t = step(2, CASE_ACT_ACCEPT, NULL);
	apply_refused(&r, &t, OS_ECONFLICT, "same action, no content");
	t = step(2, CASE_ACT_REJECT, "path");
	apply_refused(&r, &t, OS_ECONFLICT, "other action, same content");
	/* The filer withdrew while the owner accepted: the race is lost. */
	t = step(2, CASE_ACT_WITHDRAW, "path");
	apply_refused(&r, &t, OS_ECONFLICT, "other actor");
	/* The same step signed by another node is another step. */
	t = step(2, CASE_ACT_ACCEPT, "path");
	t.actor = OTHER;
	apply_refused(&r, &t, OS_ECONFLICT, "same step, other actor");

	/* Approved and denied are different decisions. */
	t = step(3, CASE_ACT_DECIDE, "decision");
	apply_ok(&r, &t);
	t.outcome = CASE_DENIED;
	apply_refused(&r, &t, OS_ECONFLICT, "other outcome");
	assert_int_equal(r.outcome, CASE_APPROVED);

	/* One byte less of content is other content. */
	t = step(1, CASE_ACT_FILE, "path");
	t.content_len--;
	apply_refused(&r, &t, OS_ECONFLICT, "filing with a byte less");
}

static void test_gap(void **state)
{
	struct case_record r;
	struct case_step t;
	(void)state;
	record_at(&r, CASE_FILED);
	t = step(3, CASE_ACT_ACCEPT, NULL);
	apply_refused(&r, &t, OS_EGAP, "seq + 2");
	t = step(100, CASE_ACT_ACCEPT, NULL);
	apply_refused(&r, &t, OS_EGAP, "far ahead");
	/* A gap is a gap whatever the step: its state is not known yet. */
	t = step(3, CASE_ACT_CLOSE, NULL);
	apply_refused(&r, &t, OS_EGAP, "seq + 2, not allowed next");
	/* Before its filing, a case has nothing but seq 1. */
	assert_int_equal(case_record_init(&r, FILER, OWNER), 0);
	t = step(2, CASE_ACT_ACCEPT, NULL);
	apply_refused(&r, &t, OS_EGAP, "accept of a case not filed");
	/* Once the missing step came, the one after it holds. */
	record_at(&r, CASE_FILED);
	t = step(2, CASE_ACT_NEED_MORE, NULL);
	apply_ok(&r, &t);
	t = step(3, CASE_ACT_RESUBMIT, NULL);
	apply_ok(&r, &t);
}

static void test_withdraw(void **state)
{
	struct case_record r;
	struct case_step t;
	(void)state;
	/* After the decision, the applicant cannot withdraw. */
	record_at(&r, CASE_DECIDED);
	t = step(4, CASE_ACT_WITHDRAW, "changed my mind");
	apply_refused(&r, &t, OS_ESTATE, "withdraw after the decision");
	record_at(&r, CASE_CLOSED);
	t = step(5, CASE_ACT_WITHDRAW, "changed my mind");
	apply_refused(&r, &t, OS_ESTATE, "withdraw after closing");
	/* Up to the decision it can, and the case is final. */
	record_at(&r, CASE_ACCEPTED);
	t = step(3, CASE_ACT_WITHDRAW, "changed my mind");
	apply_ok(&r, &t);
	assert_int_equal(r.state, CASE_WITHDRAWN);
	assert_true(case_state_final(r.state));
	t = step(4, CASE_ACT_DECIDE, NULL);
	apply_refused(&r, &t, OS_ESTATE, "decide a withdrawn case");
}

/* The owner asks for more at most CASE_MORE_MAX times; the longest case
 * then still reaches CLOSED within CASE_STEPS_MAX. */
static void test_more_bound(void **state)
{
	struct case_record r;
	struct case_step t;
	(void)state;
	assert_int_equal(CASE_MORE_MAX, 16);
	record_at(&r, CASE_ACCEPTED);
	for (int i = 0; i < CASE_MORE_MAX; i++) {
		t = step(r.seq + 1, CASE_ACT_NEED_MORE, NULL);
		apply_ok(&r, &t);
		t = step(r.seq + 1, CASE_ACT_RESUBMIT, NULL);
		apply_ok(&r, &t);
		t = step(r.seq + 1, CASE_ACT_ACCEPT, NULL);
		apply_ok(&r, &t);
	}
	assert_int_equal(r.more_asked, CASE_MORE_MAX);
	t = step(r.seq + 1, CASE_ACT_NEED_MORE, NULL);
	apply_refused(&r, &t, OS_ESTATE, "a 17th request for more");
	t = step(r.seq + 1, CASE_ACT_DECIDE, NULL);
	apply_ok(&r, &t);
	t = step(r.seq + 1, CASE_ACT_CLOSE, NULL);
	apply_ok(&r, &t);
	assert_int_equal(r.seq, CASE_STEPS_MAX);
	/* Every step of it is still told apart from a competing one. */
	for (uint64_t s = 1; s <= r.seq; s++) {
		int dup = 1;
		t = step(s, CASE_ACT_CLOSE, "competing");
		assert_int_equal(case_apply(&r, &t, &dup), OS_ECONFLICT);
		assert_int_equal(dup, 0);
	}
	t = step(CASE_STEPS_MAX, CASE_ACT_CLOSE, NULL);
	int dup = 0;
	assert_int_equal(case_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
}

static void test_invalid(void **state)
{
	struct case_record r, bad;
	struct case_step t;
	int dup = 7;
	(void)state;

	assert_int_equal(case_record_init(NULL, FILER, OWNER), OS_EINVAL);
	assert_int_equal(case_record_init(&r, NULL, OWNER), OS_EINVAL);
	assert_int_equal(case_record_init(&r, FILER, NULL), OS_EINVAL);
	assert_int_equal(case_record_init(&r, "Hall A", OWNER), OS_ENAME);
	assert_int_equal(case_record_init(&r, FILER, ""), OS_ENAME);
	assert_int_equal(case_record_init(&r, FILER, "@market"), OS_ENAME);

	record_at(&r, CASE_FILED);
	t = step(2, CASE_ACT_ACCEPT, NULL);
	assert_int_equal(case_apply(NULL, &t, &dup), OS_EINVAL);
	assert_int_equal(dup, 0);
	assert_int_equal(case_apply(&r, NULL, &dup), OS_EINVAL);

	static const struct {
		uint64_t seq;
		int action;
		int outcome;
		const char *actor;
		const char *content;
		size_t len;
		const char *what;
	} cases[] = {
		{0, CASE_ACT_ACCEPT, CASE_OUTCOME_NONE, OWNER, NULL, 0, "seq 0"},
		{2, 0, CASE_OUTCOME_NONE, OWNER, NULL, 0, "action 0"},
		{2, CASE_ACTION_MAX + 1, CASE_OUTCOME_NONE, OWNER, NULL, 0, "action past the last"},
		{2, -1, CASE_OUTCOME_NONE, OWNER, NULL, 0, "negative action"},
		{2, CASE_ACT_ACCEPT, CASE_OUTCOME_NONE, NULL, NULL, 0, "no actor"},
		{2, CASE_ACT_ACCEPT, CASE_OUTCOME_NONE, OWNER, NULL, 3, "content NULL, length 3"},
		{2, CASE_ACT_ACCEPT, CASE_APPROVED, OWNER, NULL, 0, "an outcome on accept"},
		{2, CASE_ACT_REJECT, CASE_DENIED, OWNER, NULL, 0, "an outcome on reject"},
		{3, CASE_ACT_DECIDE, CASE_OUTCOME_NONE, OWNER, NULL, 0, "decide without outcome"},
		{3, CASE_ACT_DECIDE, 3, OWNER, NULL, 0, "decide with outcome 3"},
		/* Checked before the seq: not a duplicate of the filing. */
		{1, CASE_ACT_FILE, CASE_APPROVED, FILER, "path", 4, "filing with an outcome"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = (struct case_step){
			.seq = cases[i].seq,
			.action = (enum case_action)cases[i].action,
			.outcome = (enum case_outcome)cases[i].outcome,
			.actor = cases[i].actor,
			.content = (const uint8_t *)cases[i].content,
			.content_len = cases[i].len,
		};
		apply_refused(&r, &t, OS_EINVAL, cases[i].what);
	}

	/* A record damaged in storage is refused, not trusted. */
	bad = r;
	bad.seq = CASE_STEPS_MAX + 1;
	t = step(CASE_STEPS_MAX + 2, CASE_ACT_ACCEPT, NULL);
	apply_refused(&bad, &t, OS_EINVAL, "record past CASE_STEPS_MAX");
	t = step(5, CASE_ACT_ACCEPT, NULL);
	apply_refused(&bad, &t, OS_EINVAL, "record past CASE_STEPS_MAX, old seq");
	bad = r;
	bad.state = (enum case_state)CASE_STATE_COUNT;
	t = step(2, CASE_ACT_ACCEPT, NULL);
	apply_refused(&bad, &t, OS_EINVAL, "record in no state");
	bad = r;
	bad.more_asked = CASE_MORE_MAX + 1;
	apply_refused(&bad, &t, OS_EINVAL, "record with too many requests for more");
	/* A record at its last seq whose count of requests for more was lost
	 * cannot take one step more. */
	bad = r;
	bad.seq = CASE_STEPS_MAX;
	bad.state = CASE_ACCEPTED;
	t = step(CASE_STEPS_MAX + 1, CASE_ACT_NEED_MORE, NULL);
	apply_refused(&bad, &t, OS_EINVAL, "record at its last seq, more_asked lost");
}

/* The names, written out here, both ways. */
static void test_names(void **state)
{
	static const char *const states[CASE_STATE_COUNT] = {
		"new",         "filed",   "accepted", "rejected",  "more_needed",
		"resubmitted", "decided", "closed",   "withdrawn",
	};
	static const char *const actions[CASE_ACTION_MAX + 1] = {
		NULL,       "file",   "accept", "reject",   "need_more",
		"resubmit", "decide", "close",  "withdraw",
	};
	static const char *const outcomes[] = {"none", "approved", "denied"};
	(void)state;

	for (int i = 0; i < CASE_STATE_COUNT; i++) {
		enum case_state v = CASE_CLOSED;
		assert_string_equal(case_state_name((enum case_state)i), states[i]);
		assert_int_equal(case_state_parse(states[i], &v), 0);
		assert_int_equal(v, i);
	}
	for (int i = CASE_ACT_FILE; i <= CASE_ACTION_MAX; i++) {
		enum case_action v = CASE_ACT_CLOSE;
		assert_string_equal(case_action_name((enum case_action)i), actions[i]);
		assert_int_equal(case_action_parse(actions[i], &v), 0);
		assert_int_equal(v, i);
	}
	for (int i = 0; i < 3; i++) {
		enum case_outcome v = CASE_DENIED;
		assert_string_equal(case_outcome_name((enum case_outcome)i), outcomes[i]);
		assert_int_equal(case_outcome_parse(outcomes[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_string_equal(case_state_name((enum case_state)CASE_STATE_COUNT), "unknown");
	assert_string_equal(case_state_name((enum case_state) - 1), "unknown");
	assert_string_equal(case_action_name((enum case_action)0), "unknown");
	assert_string_equal(case_action_name((enum case_action)(CASE_ACTION_MAX + 1)), "unknown");
	assert_string_equal(case_outcome_name((enum case_outcome)3), "unknown");

	/* Unknown names leave the output alone. */
	enum case_state sv = CASE_FILED;
	enum case_action av = CASE_ACT_FILE;
	enum case_outcome ov = CASE_APPROVED;
	assert_int_equal(case_state_parse("Filed", &sv), OS_EINVAL);
	assert_int_equal(case_state_parse("", &sv), OS_EINVAL);
	assert_int_equal(case_state_parse("unknown", &sv), OS_EINVAL);
	assert_int_equal(sv, CASE_FILED);
	assert_int_equal(case_action_parse("need", &av), OS_EINVAL);
	assert_int_equal(case_action_parse("unknown", &av), OS_EINVAL);
	assert_int_equal(av, CASE_ACT_FILE);
	assert_int_equal(case_outcome_parse("approve", &ov), OS_EINVAL);
	assert_int_equal(ov, CASE_APPROVED);
	assert_int_equal(case_state_parse(NULL, &sv), OS_EINVAL);
	assert_int_equal(case_action_parse("file", NULL), OS_EINVAL);
	assert_int_equal(case_outcome_parse(NULL, &ov), OS_EINVAL);

	/* The refusal codes have their names. */
	assert_string_equal(os_errname(OS_ESTATE), "ESTATE");
	assert_string_equal(os_errname(OS_ECONFLICT), "ECONFLICT");
	assert_int_equal(OS_ECONFLICT, -34);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_path), cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_wrong_actor),   cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_conflict),      cmocka_unit_test(test_gap),
		cmocka_unit_test(test_withdraw),      cmocka_unit_test(test_more_bound),
		cmocka_unit_test(test_invalid),       cmocka_unit_test(test_names),
	};
	if (crypto_setup() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
