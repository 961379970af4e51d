/* Unit tests for common/complaint.c: every state x action pair against this
 * file's own copy of the table in docs/PROTOCOL.md, who may act (the
 * assignee too), duplicates, conflicts, gaps, the one reopening, the names,
 * `about`, regions and the choice of a supervisor in a registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "complaint.h"
#include "crypto.h"
#include "err.h"
#include "registry.h"
#include "testreg.h"

#define FILER "gd.sz.hall"
#define HANDLER "gd.sz.hotline"
#define ASSIGNEE "gd.sz.market"
#define OTHER "gd.sz.tax"

/* The protocol's table, written out again: 1 where the action may follow
 * the state. Columns are the actions by number (0 is none). */
/* clang-format off */
static const int want_allowed[COMPLAINT_STATE_COUNT][COMPLAINT_ACTION_MAX + 1] = {
	/*                      -  FILE ASSIGN ANSWER CLOSE REOPEN */
	[COMPLAINT_NEW]      = {0, 1,   0,     0,     0,    0},
	[COMPLAINT_RECEIVED] = {0, 0,   1,     1,     0,    0},
	[COMPLAINT_ASSIGNED] = {0, 0,   0,     1,     0,    0},
	[COMPLAINT_ANSWERED] = {0, 0,   0,     0,     1,    1},
	[COMPLAINT_CLOSED]   = {0, 0,   0,     0,     0,    0},
	[COMPLAINT_REOPENED] = {0, 0,   1,     1,     0,    0},
};
/* clang-format on */

static const enum complaint_state want_target[COMPLAINT_ACTION_MAX + 1] = {
	[COMPLAINT_ACT_FILE] = COMPLAINT_RECEIVED,   [COMPLAINT_ACT_ASSIGN] = COMPLAINT_ASSIGNED,
	[COMPLAINT_ACT_ANSWER] = COMPLAINT_ANSWERED, [COMPLAINT_ACT_CLOSE] = COMPLAINT_CLOSED,
	[COMPLAINT_ACT_REOPEN] = COMPLAINT_REOPENED,
};
/* One actor who may make each action (CLOSE and ANSWER have others). */
static const char *const want_actor[COMPLAINT_ACTION_MAX + 1] = {
	[COMPLAINT_ACT_FILE] = FILER,     [COMPLAINT_ACT_ASSIGN] = HANDLER,
	[COMPLAINT_ACT_ANSWER] = HANDLER, [COMPLAINT_ACT_CLOSE] = HANDLER,
	[COMPLAINT_ACT_REOPEN] = FILER,
};

/* A way from a new record to each state, made of allowed actions. */
static const enum complaint_action path_to[COMPLAINT_STATE_COUNT][3] = {
	[COMPLAINT_NEW] = {0},
	[COMPLAINT_RECEIVED] = {COMPLAINT_ACT_FILE},
	[COMPLAINT_ASSIGNED] = {COMPLAINT_ACT_FILE, COMPLAINT_ACT_ASSIGN},
	[COMPLAINT_ANSWERED] = {COMPLAINT_ACT_FILE, COMPLAINT_ACT_ANSWER},
	[COMPLAINT_CLOSED] = {COMPLAINT_ACT_FILE, COMPLAINT_ACT_ANSWER, COMPLAINT_ACT_CLOSE},
	[COMPLAINT_REOPENED] = {COMPLAINT_ACT_FILE, COMPLAINT_ACT_ANSWER, COMPLAINT_ACT_REOPEN},
};

/* A step of action at seq by its rightful actor (ASSIGN to ASSIGNEE),
 * content the given text. */
static struct complaint_step step(uint64_t seq, enum complaint_action a, const char *text)
{
	struct complaint_step t = {
		.seq = seq,
		.action = a,
		.actor = want_actor[a],
		.assignee = a == COMPLAINT_ACT_ASSIGN ? ASSIGNEE : NULL,
		.content = (const uint8_t *)text,
		.content_len = text != NULL ? strlen(text) : 0,
	};
	return t;
}

/* Apply t, which must hold and be new. */
static void apply_ok(struct complaint_record *r, const struct complaint_step *t)
{
	int dup = -1;
	int rc = complaint_apply(r, t, &dup);
	if (rc != 0 || dup != 0)
		fail_msg("%s at seq %llu by %s from %s: rc %s dup %d",
			 complaint_action_name(t->action), (unsigned long long)t->seq,
			 t->actor ? t->actor : "(null)", complaint_state_name(r->state),
			 os_errname(rc), dup);
}

/* Apply t expecting the refusal want; the record must not move. */
static void apply_refused(struct complaint_record *r, const struct complaint_step *t, int want,
			  const char *what)
{
	struct complaint_record before = *r;
	int dup = -1;
	int rc = complaint_apply(r, t, &dup);
	if (rc != want)
		fail_msg("%s: %s at seq %llu by %s from %s gave %s, want %s", what,
			 complaint_action_name(t->action), (unsigned long long)t->seq,
			 t->actor ? t->actor : "(null)", complaint_state_name(before.state),
			 os_errname(rc), os_errname(want));
	if (dup != 0)
		fail_msg("%s: a refusal set *duplicate to %d", what, dup);
	if (memcmp(&before, r, sizeof(before)) != 0)
		fail_msg("%s: the refused step changed the record", what);
}

/* A complaint between FILER and HANDLER brought to state s along path_to. */
static void record_at(struct complaint_record *r, enum complaint_state s)
{
	assert_int_equal(complaint_record_init(r, COMPLAINT_KIND_COMPLAINT, FILER, HANDLER), 0);
	for (int i = 0; i < 3 && path_to[s][i] != 0; i++) {
		struct complaint_step t = step(r->seq + 1, path_to[s][i], "path");
		apply_ok(r, &t);
	}
	if (r->state != s)
		fail_msg("path to %s ended in %s", complaint_state_name(s),
			 complaint_state_name(r->state));
}

/* The path: filed at a hall, assigned by the supervisor to the
 * department, answered by it, reopened by the filer, answered again by the
 * supervisor, closed by the filer. */
static void test_complete_path(void **state)
{
	static const struct {
		enum complaint_action action;
		const char *actor;
		enum complaint_state then;
	} path[] = {
		{COMPLAINT_ACT_FILE, FILER, COMPLAINT_RECEIVED},
		{COMPLAINT_ACT_ASSIGN, HANDLER, COMPLAINT_ASSIGNED},
		{COMPLAINT_ACT_ANSWER, ASSIGNEE, COMPLAINT_ANSWERED},
		{COMPLAINT_ACT_REOPEN, FILER, COMPLAINT_REOPENED},
		{COMPLAINT_ACT_ANSWER, HANDLER, COMPLAINT_ANSWERED},
		{COMPLAINT_ACT_CLOSE, FILER, COMPLAINT_CLOSED},
	};
	struct complaint_record r;
	(void)state;
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, FILER, HANDLER), 0);
	assert_int_equal(r.kind, COMPLAINT_KIND_COMPLAINT);
	assert_int_equal(r.state, COMPLAINT_NEW);
	assert_int_equal(r.seq, 0);
	assert_int_equal(r.reopened, 0);
	assert_string_equal(r.filer, FILER);
	assert_string_equal(r.handler, HANDLER);
	assert_string_equal(r.assignee, "");
	for (size_t i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
		struct complaint_step t = step(i + 1, path[i].action, "complete");
		t.actor = path[i].actor;
		apply_ok(&r, &t);
		assert_int_equal(r.seq, i + 1);
		if (r.state != path[i].then)
			fail_msg("step %zu (%s) led to %s, want %s", i + 1,
				 complaint_action_name(path[i].action),
				 complaint_state_name(r.state), complaint_state_name(path[i].then));
		/* The assignee is remembered from the ASSIGN on. */
		assert_string_equal(r.assignee, i >= 1 ? ASSIGNEE : "");
	}
	assert_int_equal(r.reopened, 1);
	assert_true(complaint_state_final(r.state));

	/* A consultation runs the same machine, its handler the item's owner. */
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_CONSULTATION, FILER, ASSIGNEE),
			 0);
	struct complaint_step t = step(1, COMPLAINT_ACT_FILE, "opening hours?");
	apply_ok(&r, &t);
	t = step(2, COMPLAINT_ACT_ANSWER, "9 to 5");
	t.actor = ASSIGNEE;
	apply_ok(&r, &t);
	t = step(3, COMPLAINT_ACT_CLOSE, NULL);
	t.actor = ASSIGNEE;
	apply_ok(&r, &t);
	assert_int_equal(r.kind, COMPLAINT_KIND_CONSULTATION);
	assert_int_equal(r.state, COMPLAINT_CLOSED);
}

/* Every action from every state by its rightful actor: the allowed ones
 * lead where the table says, every other one is ESTATE. */
static void test_every_pair(void **state)
{
	int allowed = 0, refused = 0;
	(void)state;
	for (int s = 0; s < COMPLAINT_STATE_COUNT; s++) {
		for (int a = COMPLAINT_ACT_FILE; a <= COMPLAINT_ACTION_MAX; a++) {
			struct complaint_record r;
			char what[64];
			record_at(&r, (enum complaint_state)s);
			struct complaint_step t = step(r.seq + 1, (enum complaint_action)a, "pair");
			snprintf(what, sizeof(what), "%s then %s", complaint_state_name(s),
				 complaint_action_name(a));
			if (complaint_allowed((enum complaint_state)s, (enum complaint_action)a) !=
			    want_allowed[s][a])
				fail_msg("complaint_allowed disagrees with the table: %s", what);
			if (want_allowed[s][a]) {
				apply_ok(&r, &t);
				if (r.state != want_target[a])
					fail_msg("%s led to %s", what,
						 complaint_state_name(r.state));
				allowed++;
			} else {
				apply_refused(&r, &t, OS_ESTATE, what);
				refused++;
			}
		}
		assert_int_equal(complaint_state_final((enum complaint_state)s),
				 s == COMPLAINT_CLOSED);
		assert_int_equal(complaint_state_awaiting((enum complaint_state)s),
				 s == COMPLAINT_RECEIVED || s == COMPLAINT_ASSIGNED ||
					 s == COMPLAINT_REOPENED);
	}
	/* 6 states x 5 actions, 8 of them allowed. */
	assert_int_equal(allowed, 8);
	assert_int_equal(refused, 6 * 5 - 8);
	assert_int_equal(complaint_allowed((enum complaint_state)COMPLAINT_STATE_COUNT,
					   COMPLAINT_ACT_FILE),
			 0);
	assert_int_equal(complaint_allowed(COMPLAINT_NEW, (enum complaint_action)0), 0);
	assert_int_equal(complaint_allowed(COMPLAINT_NEW, (enum complaint_action)6), 0);
}

/* Expect actor's action from state s (reached along path_to) to give want. */
static void actor_case(enum complaint_state s, enum complaint_action a, const char *actor, int want)
{
	struct complaint_record r;
	char what[96];
	record_at(&r, s);
	struct complaint_step t = step(r.seq + 1, a, "actor");
	t.actor = actor;
	snprintf(what, sizeof(what), "%s by %s from %s", complaint_action_name(a), actor,
		 complaint_state_name(s));
	if (want == 0)
		apply_ok(&r, &t);
	else
		apply_refused(&r, &t, want, what);
}

/* Who may make each action, from a state where it is allowed. */
static void test_actors(void **state)
{
	(void)state;
	/* FILE and REOPEN: the filer only. */
	actor_case(COMPLAINT_NEW, COMPLAINT_ACT_FILE, FILER, 0);
	actor_case(COMPLAINT_NEW, COMPLAINT_ACT_FILE, HANDLER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_NEW, COMPLAINT_ACT_FILE, OTHER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_ANSWERED, COMPLAINT_ACT_REOPEN, FILER, 0);
	actor_case(COMPLAINT_ANSWERED, COMPLAINT_ACT_REOPEN, HANDLER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_ANSWERED, COMPLAINT_ACT_REOPEN, OTHER, OS_ENOTALLOWED);
	/* ASSIGN: the handler only. */
	actor_case(COMPLAINT_RECEIVED, COMPLAINT_ACT_ASSIGN, HANDLER, 0);
	actor_case(COMPLAINT_RECEIVED, COMPLAINT_ACT_ASSIGN, FILER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_RECEIVED, COMPLAINT_ACT_ASSIGN, OTHER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_REOPENED, COMPLAINT_ACT_ASSIGN, HANDLER, 0);
	/* ANSWER: the handler; the filer or an outsider never. */
	actor_case(COMPLAINT_RECEIVED, COMPLAINT_ACT_ANSWER, HANDLER, 0);
	actor_case(COMPLAINT_ASSIGNED, COMPLAINT_ACT_ANSWER, HANDLER, 0);
	actor_case(COMPLAINT_REOPENED, COMPLAINT_ACT_ANSWER, HANDLER, 0);
	actor_case(COMPLAINT_RECEIVED, COMPLAINT_ACT_ANSWER, FILER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_ASSIGNED, COMPLAINT_ACT_ANSWER, FILER, OS_ENOTALLOWED);
	actor_case(COMPLAINT_ASSIGNED, COMPLAINT_ACT_ANSWER, OTHER, OS_ENOTALLOWED);
	/* ... and the assignee while assigned, not before. */
	actor_case(COMPLAINT_ASSIGNED, COMPLAINT_ACT_ANSWER, ASSIGNEE, 0);
	actor_case(COMPLAINT_RECEIVED, COMPLAINT_ACT_ANSWER, ASSIGNEE, OS_ENOTALLOWED);
	/* CLOSE: the handler or the filer; the assignee is not a party to it. */
	actor_case(COMPLAINT_ANSWERED, COMPLAINT_ACT_CLOSE, HANDLER, 0);
	actor_case(COMPLAINT_ANSWERED, COMPLAINT_ACT_CLOSE, FILER, 0);
	actor_case(COMPLAINT_ANSWERED, COMPLAINT_ACT_CLOSE, OTHER, OS_ENOTALLOWED);

	struct complaint_record r;
	struct complaint_step t;

	/* The assignee may not assign, reopen or close. */
	record_at(&r, COMPLAINT_ASSIGNED);
	t = step(3, COMPLAINT_ACT_ANSWER, "done");
	t.actor = ASSIGNEE;
	apply_ok(&r, &t);
	t = step(4, COMPLAINT_ACT_CLOSE, NULL);
	t.actor = ASSIGNEE;
	apply_refused(&r, &t, OS_ENOTALLOWED, "close by the assignee");
	t = step(4, COMPLAINT_ACT_REOPEN, NULL);
	t.actor = ASSIGNEE;
	apply_refused(&r, &t, OS_ENOTALLOWED, "reopen by the assignee");

	/* Once reopened, the earlier assignee no longer answers; assigned
	 * again (to another node), the new assignee does and the old one
	 * still not. */
	t = step(4, COMPLAINT_ACT_REOPEN, "not answered");
	apply_ok(&r, &t);
	assert_string_equal(r.assignee, ASSIGNEE);
	t = step(5, COMPLAINT_ACT_ANSWER, "again");
	t.actor = ASSIGNEE;
	apply_refused(&r, &t, OS_ENOTALLOWED, "answer by the earlier assignee, reopened");
	t = step(5, COMPLAINT_ACT_ASSIGN, NULL);
	t.actor = ASSIGNEE;
	apply_refused(&r, &t, OS_ENOTALLOWED, "assign by the earlier assignee");
	t = step(5, COMPLAINT_ACT_ASSIGN, "to tax");
	t.assignee = OTHER;
	apply_ok(&r, &t);
	assert_string_equal(r.assignee, OTHER);
	t = step(6, COMPLAINT_ACT_ANSWER, "again");
	t.actor = ASSIGNEE;
	apply_refused(&r, &t, OS_ENOTALLOWED, "answer by the earlier assignee, reassigned");
	t.actor = OTHER;
	apply_ok(&r, &t);

	/* Who may act is checked before the state: an outsider asking for an
	 * action the state does not allow hears ENOTALLOWED. */
	record_at(&r, COMPLAINT_CLOSED);
	t = step(4, COMPLAINT_ACT_ANSWER, NULL);
	t.actor = OTHER;
	apply_refused(&r, &t, OS_ENOTALLOWED, "answer of a closed complaint by an outsider");
	t.actor = HANDLER;
	apply_refused(&r, &t, OS_ESTATE, "answer of a closed complaint by the handler");

	/* A node that files with itself as handler makes every action. */
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, HANDLER, HANDLER), 0);
	static const enum complaint_action all[] = {
		COMPLAINT_ACT_FILE,   COMPLAINT_ACT_ASSIGN, COMPLAINT_ACT_ANSWER,
		COMPLAINT_ACT_REOPEN, COMPLAINT_ACT_ANSWER, COMPLAINT_ACT_CLOSE,
	};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		t = step(i + 1, all[i], NULL);
		t.actor = HANDLER;
		apply_ok(&r, &t);
	}
	assert_int_equal(r.state, COMPLAINT_CLOSED);
}

/* Reopened once; a second REOPEN is ESTATE and the longest complaint fits
 * COMPLAINT_STEPS_MAX, each of its steps told apart from a competing one. */
static void test_reopen_once(void **state)
{
	static const enum complaint_action longest[] = {
		COMPLAINT_ACT_FILE,   COMPLAINT_ACT_ASSIGN, COMPLAINT_ACT_ANSWER,
		COMPLAINT_ACT_REOPEN, COMPLAINT_ACT_ASSIGN, COMPLAINT_ACT_ANSWER,
	};
	struct complaint_record r;
	struct complaint_step t;
	(void)state;
	assert_int_equal(COMPLAINT_STEPS_MAX, 7);
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, FILER, HANDLER), 0);
	for (size_t i = 0; i < sizeof(longest) / sizeof(longest[0]); i++) {
		t = step(i + 1, longest[i], NULL);
		apply_ok(&r, &t);
	}
	assert_int_equal(r.state, COMPLAINT_ANSWERED);
	assert_int_equal(r.reopened, 1);
	t = step(7, COMPLAINT_ACT_REOPEN, "still not answered");
	apply_refused(&r, &t, OS_ESTATE, "a second reopening");
	/* The actor is checked first: the handler reopening is ENOTALLOWED. */
	t.actor = HANDLER;
	apply_refused(&r, &t, OS_ENOTALLOWED, "a second reopening by the handler");
	t = step(7, COMPLAINT_ACT_CLOSE, NULL);
	t.actor = FILER;
	apply_ok(&r, &t);
	assert_int_equal(r.seq, COMPLAINT_STEPS_MAX);
	for (uint64_t s = 1; s <= r.seq; s++) {
		int dup = 1;
		t = step(s, COMPLAINT_ACT_CLOSE, "competing");
		assert_int_equal(complaint_apply(&r, &t, &dup), OS_ECONFLICT);
		assert_int_equal(dup, 0);
	}
	int dup = 0;
	t = step(7, COMPLAINT_ACT_CLOSE, NULL);
	t.actor = FILER;
	assert_int_equal(complaint_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
}

static void test_duplicate(void **state)
{
	struct complaint_record r, before;
	struct complaint_step t;
	int dup = 0;
	(void)state;

	/* The same step twice: applied once. */
	record_at(&r, COMPLAINT_RECEIVED);
	t = step(2, COMPLAINT_ACT_ASSIGN, "to market");
	apply_ok(&r, &t);
	before = r;
	assert_int_equal(complaint_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	assert_memory_equal(&before, &r, sizeof(r));

	/* An old step arriving late, after the complaint moved on, from the
	 * final state too; the filing as well. */
	t = step(3, COMPLAINT_ACT_ANSWER, "answered");
	t.actor = ASSIGNEE;
	apply_ok(&r, &t);
	t = step(4, COMPLAINT_ACT_CLOSE, NULL);
	apply_ok(&r, &t);
	before = r;
	t = step(2, COMPLAINT_ACT_ASSIGN, "to market");
	dup = 0;
	assert_int_equal(complaint_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	t = step(3, COMPLAINT_ACT_ANSWER, "answered");
	t.actor = ASSIGNEE;
	dup = 0;
	assert_int_equal(complaint_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	t = step(1, COMPLAINT_ACT_FILE, "path");
	dup = 0;
	assert_int_equal(complaint_apply(&r, &t, &dup), 0);
	assert_int_equal(dup, 1);
	assert_memory_equal(&before, &r, sizeof(r));
	/* duplicate may be NULL. */
	assert_int_equal(complaint_apply(&r, &t, NULL), 0);
	assert_memory_equal(&before, &r, sizeof(r));
}

/* A step at a seq already taken by a different one. */
static void test_conflict(void **state)
{
	struct complaint_record r;
	struct complaint_step t;
	(void)state;
	record_at(&r, COMPLAINT_ASSIGNED); /* seq 2: ASSIGN to ASSIGNEE, content "path" */

	t = step(2, COMPLAINT_ACT_ASSIGN, "path, but other words");
	apply_refused(&r, &t, OS_ECONFLICT, "same action, other content");
	t = step(2, COMPLAINT_ACT_ASSIGN, NULL);
	apply_refused(&r, &t, OS_ECONFLICT, "same action, no content");
	t = step(2, COMPLAINT_ACT_ASSIGN, "path");
	t.assignee = OTHER;
	apply_refused(&r, &t, OS_ECONFLICT, "assigned to another node");
	t = step(2, COMPLAINT_ACT_ANSWER, "path");
	apply_refused(&r, &t, OS_ECONFLICT, "other action, same content");
	t = step(2, COMPLAINT_ACT_ASSIGN, "path");
	t.actor = OTHER;
	apply_refused(&r, &t, OS_ECONFLICT, "same step, other actor");
	/* The assignee's answer and the handler's race for seq 3. */
	t = step(3, COMPLAINT_ACT_ANSWER, "answer");
	t.actor = ASSIGNEE;
	apply_ok(&r, &t);
	t.actor = HANDLER;
	apply_refused(&r, &t, OS_ECONFLICT, "the handler's answer after the assignee's");
	/* One byte less of content is other content. */
	t = step(1, COMPLAINT_ACT_FILE, "path");
	t.content_len--;
	apply_refused(&r, &t, OS_ECONFLICT, "filing with a byte less");
}

static void test_gap(void **state)
{
	struct complaint_record r;
	struct complaint_step t;
	(void)state;
	record_at(&r, COMPLAINT_RECEIVED);
	t = step(3, COMPLAINT_ACT_ANSWER, NULL);
	apply_refused(&r, &t, OS_EGAP, "seq + 2");
	t = step(100, COMPLAINT_ACT_ANSWER, NULL);
	apply_refused(&r, &t, OS_EGAP, "far ahead");
	/* A gap is a gap whatever the step or the actor. */
	t = step(3, COMPLAINT_ACT_CLOSE, NULL);
	t.actor = OTHER;
	apply_refused(&r, &t, OS_EGAP, "seq + 2 by an outsider, not allowed next");
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, FILER, HANDLER), 0);
	t = step(2, COMPLAINT_ACT_ASSIGN, NULL);
	apply_refused(&r, &t, OS_EGAP, "assign of a complaint not filed");
	/* Once the missing step came, the one after it holds. */
	record_at(&r, COMPLAINT_RECEIVED);
	t = step(2, COMPLAINT_ACT_ASSIGN, NULL);
	apply_ok(&r, &t);
	t = step(3, COMPLAINT_ACT_ANSWER, NULL);
	apply_ok(&r, &t);
}

static void test_invalid(void **state)
{
	struct complaint_record r, bad;
	struct complaint_step t;
	int dup = 7;
	(void)state;

	assert_int_equal(complaint_record_init(NULL, COMPLAINT_KIND_COMPLAINT, FILER, HANDLER),
			 OS_EINVAL);
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, NULL, HANDLER),
			 OS_EINVAL);
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, FILER, NULL),
			 OS_EINVAL);
	assert_int_equal(complaint_record_init(&r, (enum complaint_kind)0, FILER, HANDLER),
			 OS_EINVAL);
	assert_int_equal(complaint_record_init(&r, (enum complaint_kind)3, FILER, HANDLER),
			 OS_EINVAL);
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, "Hall A", HANDLER),
			 OS_ENAME);
	assert_int_equal(complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, FILER, ""), OS_ENAME);

	record_at(&r, COMPLAINT_RECEIVED);
	t = step(2, COMPLAINT_ACT_ANSWER, NULL);
	assert_int_equal(complaint_apply(NULL, &t, &dup), OS_EINVAL);
	assert_int_equal(dup, 0);
	assert_int_equal(complaint_apply(&r, NULL, &dup), OS_EINVAL);

	static const struct {
		uint64_t seq;
		int action;
		const char *actor;
		const char *assignee;
		const char *content;
		size_t len;
		const char *what;
	} cases[] = {
		{0, COMPLAINT_ACT_ANSWER, HANDLER, NULL, NULL, 0, "seq 0"},
		{2, 0, HANDLER, NULL, NULL, 0, "action 0"},
		{2, COMPLAINT_ACTION_MAX + 1, HANDLER, NULL, NULL, 0, "action past the last"},
		{2, -1, HANDLER, NULL, NULL, 0, "negative action"},
		{2, COMPLAINT_ACT_ANSWER, NULL, NULL, NULL, 0, "no actor"},
		{2, COMPLAINT_ACT_ANSWER, HANDLER, NULL, NULL, 3, "content NULL, length 3"},
		{2, COMPLAINT_ACT_ASSIGN, HANDLER, NULL, NULL, 0, "assign to nobody"},
		{2, COMPLAINT_ACT_ASSIGN, HANDLER, "", NULL, 0, "assign to the empty name"},
		{2, COMPLAINT_ACT_ASSIGN, HANDLER, "Market", NULL, 0, "assign to a bad name"},
		{2, COMPLAINT_ACT_ASSIGN, HANDLER, "@gd.sz", NULL, 0, "assign to a topic"},
		{2, COMPLAINT_ACT_ANSWER, HANDLER, ASSIGNEE, NULL, 0, "an assignee on answer"},
		/* Checked before the seq: not a duplicate of the filing. */
		{1, COMPLAINT_ACT_FILE, FILER, ASSIGNEE, "path", 4, "filing with an assignee"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = (struct complaint_step){
			.seq = cases[i].seq,
			.action = (enum complaint_action)cases[i].action,
			.actor = cases[i].actor,
			.assignee = cases[i].assignee,
			.content = (const uint8_t *)cases[i].content,
			.content_len = cases[i].len,
		};
		apply_refused(&r, &t, OS_EINVAL, cases[i].what);
	}

	/* A record damaged in storage is refused, not trusted. */
	t = step(2, COMPLAINT_ACT_ANSWER, NULL);
	bad = r;
	bad.seq = COMPLAINT_STEPS_MAX + 1;
	apply_refused(&bad, &t, OS_EINVAL, "record past COMPLAINT_STEPS_MAX");
	bad = r;
	bad.state = (enum complaint_state)COMPLAINT_STATE_COUNT;
	apply_refused(&bad, &t, OS_EINVAL, "record in no state");
	bad = r;
	bad.kind = (enum complaint_kind)0;
	apply_refused(&bad, &t, OS_EINVAL, "record of no kind");
	bad = r;
	bad.reopened = COMPLAINT_REOPEN_MAX + 1;
	apply_refused(&bad, &t, OS_EINVAL, "record reopened twice");
	bad = r;
	memset(bad.handler, 'a', sizeof(bad.handler));
	apply_refused(&bad, &t, OS_EINVAL, "handler without its NUL");
	bad = r;
	memset(bad.assignee, 'a', sizeof(bad.assignee));
	apply_refused(&bad, &t, OS_EINVAL, "assignee without its NUL");
	/* A record at its last seq whose reopening was lost cannot take one
	 * step more. */
	bad = r;
	bad.seq = COMPLAINT_STEPS_MAX;
	bad.state = COMPLAINT_ANSWERED;
	t = step(COMPLAINT_STEPS_MAX + 1, COMPLAINT_ACT_REOPEN, NULL);
	apply_refused(&bad, &t, OS_EINVAL, "record at its last seq, reopening lost");
}

static void test_names(void **state)
{
	(void)state;
	for (int s = 0; s < COMPLAINT_STATE_COUNT; s++) {
		enum complaint_state p = COMPLAINT_CLOSED;
		assert_int_equal(complaint_state_parse(complaint_state_name(s), &p), 0);
		assert_int_equal(p, s);
	}
	for (int a = COMPLAINT_ACT_FILE; a <= COMPLAINT_ACTION_MAX; a++) {
		enum complaint_action p = 0;
		assert_int_equal(complaint_action_parse(complaint_action_name(a), &p), 0);
		assert_int_equal(p, a);
	}
	assert_string_equal(complaint_state_name(COMPLAINT_REOPENED), "reopened");
	assert_string_equal(complaint_state_name((enum complaint_state)6), "unknown");
	assert_string_equal(complaint_state_name((enum complaint_state) - 1), "unknown");
	assert_string_equal(complaint_action_name(COMPLAINT_ACT_ASSIGN), "assign");
	assert_string_equal(complaint_action_name((enum complaint_action)0), "unknown");
	assert_string_equal(complaint_action_name((enum complaint_action)6), "unknown");
	assert_string_equal(complaint_kind_name(COMPLAINT_KIND_COMPLAINT), "complaint");
	assert_string_equal(complaint_kind_name(COMPLAINT_KIND_CONSULTATION), "consultation");
	assert_string_equal(complaint_kind_name((enum complaint_kind)0), "unknown");
	assert_string_equal(complaint_kind_name((enum complaint_kind)3), "unknown");

	enum complaint_kind k = 0;
	assert_int_equal(complaint_kind_parse("consultation", &k), 0);
	assert_int_equal(k, COMPLAINT_KIND_CONSULTATION);
	assert_int_equal(complaint_kind_parse("complaint", &k), 0);
	assert_int_equal(k, COMPLAINT_KIND_COMPLAINT);
	assert_int_equal(complaint_kind_parse("unknown", &k), OS_EINVAL);
	assert_int_equal(complaint_kind_parse("Complaint", &k), OS_EINVAL);
	assert_int_equal(k, COMPLAINT_KIND_COMPLAINT);
	enum complaint_state s = COMPLAINT_CLOSED;
	assert_int_equal(complaint_state_parse("unknown", &s), OS_EINVAL);
	assert_int_equal(complaint_state_parse("", &s), OS_EINVAL);
	assert_int_equal(s, COMPLAINT_CLOSED);
	enum complaint_action a = COMPLAINT_ACT_CLOSE;
	assert_int_equal(complaint_action_parse("assigned", &a), OS_EINVAL);
	assert_int_equal(a, COMPLAINT_ACT_CLOSE);
	assert_int_equal(complaint_state_parse(NULL, &s), OS_EINVAL);
	assert_int_equal(complaint_action_parse("file", NULL), OS_EINVAL);
	assert_int_equal(complaint_kind_parse(NULL, &k), OS_EINVAL);
}

static void test_about(void **state)
{
	struct complaint_about a;
	char key[DS_KEY_MAX + 2];
	(void)state;

	assert_int_equal(complaint_about_parse("case:00112233445566778899aabbccddeeff", &a), 0);
	assert_int_equal(a.kind, COMPLAINT_ABOUT_CASE);
	assert_int_equal(a.case_id[0], 0x00);
	assert_int_equal(a.case_id[5], 0x55);
	assert_int_equal(a.case_id[15], 0xff);
	assert_string_equal(a.name, "");

	assert_int_equal(complaint_about_parse("item:BIZ-LIC/001", &a), 0);
	assert_int_equal(a.kind, COMPLAINT_ABOUT_ITEM);
	assert_string_equal(a.name, "BIZ-LIC/001");
	assert_int_equal(a.case_id[15], 0);

	assert_int_equal(complaint_about_parse("node:gd.sz.market", &a), 0);
	assert_int_equal(a.kind, COMPLAINT_ABOUT_NODE);
	assert_string_equal(a.name, "gd.sz.market");

	/* The longest item key fits. */
	memset(key, 'k', DS_KEY_MAX);
	key[DS_KEY_MAX] = '\0';
	char about[DS_KEY_MAX + 8];
	snprintf(about, sizeof(about), "item:%s", key);
	assert_int_equal(complaint_about_parse(about, &a), 0);
	assert_int_equal(strlen(a.name), DS_KEY_MAX);

	/* Refusals leave *out as it was. */
	struct complaint_about before = a;
	static const char *const bad[] = {
		"",
		"case",
		"case:",
		"case:00112233445566778899aabbccddeef",   /* 31 digits */
		"case:00112233445566778899aabbccddeeff0", /* 33 */
		"case:00112233445566778899AABBCCDDEEFF",  /* not lowercase */
		"case:0011223344556677889 aabbccddeeff",
		"case:00112233445566778899aabbccddeefg",
		"item:",
		"item:two words",
		"item:tab\there",
		"node:",
		"node:GD.SZ",
		"node:gd..sz",
		"node:@gd.sz",
		"CASE:00112233445566778899aabbccddeeff",
		"user:alice",
		" item:x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (complaint_about_parse(bad[i], &a) != OS_EINVAL)
			fail_msg("about \"%s\" accepted", bad[i]);
		assert_memory_equal(&a, &before, sizeof(a));
	}
	/* One byte over the longest key. */
	memset(key, 'k', DS_KEY_MAX + 1);
	key[DS_KEY_MAX + 1] = '\0';
	char longer[DS_KEY_MAX + 8];
	snprintf(longer, sizeof(longer), "item:%s", key);
	assert_int_equal(complaint_about_parse(longer, &a), OS_EINVAL);
	assert_int_equal(complaint_about_parse(NULL, &a), OS_EINVAL);
	assert_int_equal(complaint_about_parse("node:gd", NULL), OS_EINVAL);
}

static void test_region(void **state)
{
	char out[OS_NAME_MAX];
	(void)state;
	assert_int_equal(complaint_region("gd.sz.market", out, sizeof(out)), 0);
	assert_string_equal(out, "gd.sz");
	assert_int_equal(complaint_region("gd.sz", out, sizeof(out)), 0);
	assert_string_equal(out, "gd");
	/* Exactly the room it needs: "gd" and its NUL. */
	assert_int_equal(complaint_region("gd.sz", out, 3), 0);
	assert_string_equal(out, "gd");

	strcpy(out, "kept");
	assert_int_equal(complaint_region("gd.sz.market", out, 5), OS_EINVAL);
	assert_int_equal(complaint_region("gd", out, sizeof(out)), OS_ENAME);
	assert_int_equal(complaint_region("GD.sz", out, sizeof(out)), OS_ENAME);
	assert_int_equal(complaint_region("gd.", out, sizeof(out)), OS_ENAME);
	assert_int_equal(complaint_region("", out, sizeof(out)), OS_ENAME);
	assert_int_equal(complaint_region("@gd.sz", out, sizeof(out)), OS_ENAME);
	assert_int_equal(complaint_region(NULL, out, sizeof(out)), OS_EINVAL);
	assert_int_equal(complaint_region("gd.sz", NULL, sizeof(out)), OS_EINVAL);
	assert_string_equal(out, "kept");
}

/* Supervisors in several regions, some not active, some not supervisors,
 * and names that look alike. */
static void test_supervisor(void **state)
{
	static const struct {
		const char *name;
		unsigned roles;
		enum reg_status status;
	} nodes[] = {
		{"gd.sz.hotline", REG_ROLE_SPOKE | REG_ROLE_SUPERVISOR, REG_ACTIVE},
		{"gd.sz.market", REG_ROLE_SPOKE, REG_ACTIVE},
		{"gd.sz.sub.hotline", REG_ROLE_SUPERVISOR, REG_ACTIVE},
		{"gd.szx.hotline", REG_ROLE_SUPERVISOR, REG_ACTIVE},
		{"gd.hotline", REG_ROLE_SUPERVISOR, REG_ACTIVE},
		{"gd.gz.a-hotline", REG_ROLE_SUPERVISOR, REG_SUSPENDED},
		{"gd.gz.b-hotline", REG_ROLE_SUPERVISOR, REG_ACTIVE},
		{"gd.gz.c-hotline", REG_ROLE_SUPERVISOR, REG_ACTIVE},
		{"gd.gz.a-market", REG_ROLE_SPOKE, REG_ACTIVE},
		{"bj.hotline", REG_ROLE_SUPERVISOR, REG_REVOKED},
		{"bj.market", REG_ROLE_SPOKE, REG_ACTIVE},
		{"hotline", REG_ROLE_SUPERVISOR, REG_ACTIVE},
	};
	static const struct {
		const char *region;
		const char *want; /* NULL: OS_ENOTFOUND */
	} cases[] = {
		{"gd.sz", "gd.sz.hotline"},
		{"gd.sz.futian", "gd.sz.hotline"},     /* the enclosing region */
		{"gd.sz.futian.x.y", "gd.sz.hotline"}, /* several levels up */
		{"gd.sz.sub", "gd.sz.sub.hotline"},    /* the deeper one for its region */
		{"gd.szx", "gd.szx.hotline"},          /* not gd.sz's */
		{"gd.gz", "gd.gz.b-hotline"},          /* a- is suspended; b before c */
		{"gd.fs", "gd.hotline"},
		{"gd", "gd.hotline"},
		{"bj", NULL}, /* revoked */
		{"bj.chaoyang", NULL},
		{"sh", NULL}, /* "hotline" has no region */
	};
	struct os_keypair kp;
	struct registry *reg = NULL;
	const struct reg_node *n;
	(void)state;

	assert_int_equal(registry_new(&reg), 0);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		/* Each node its own keys: a registry refuses a key twice. */
		crypto_keypair_new(&kp);
		assert_int_equal(tu_reg_node(reg, nodes[i].name, nodes[i].roles, &kp, NULL, 0), 0);
		crypto_keypair_wipe(&kp);
		assert_int_equal(registry_set_status(reg, nodes[i].name, nodes[i].status), 0);
	}
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		n = NULL;
		int rc = complaint_supervisor(reg, cases[i].region, &n);
		if (cases[i].want == NULL) {
			if (rc != OS_ENOTFOUND || n != NULL)
				fail_msg("region %s: %s, %s", cases[i].region, os_errname(rc),
					 n != NULL ? n->name : "no node");
			continue;
		}
		if (rc != 0 || n == NULL || strcmp(n->name, cases[i].want) != 0)
			fail_msg("region %s: %s, %s, want %s", cases[i].region, os_errname(rc),
				 n != NULL ? n->name : "no node", cases[i].want);
	}
	/* A complaint about gd.sz.market goes to its region's hotline. */
	char region[OS_NAME_MAX];
	assert_int_equal(complaint_region("gd.sz.market", region, sizeof(region)), 0);
	assert_int_equal(complaint_supervisor(reg, region, &n), 0);
	assert_string_equal(n->name, "gd.sz.hotline");

	assert_int_equal(complaint_supervisor(reg, "GD", &n), OS_ENAME);
	assert_int_equal(complaint_supervisor(reg, "", &n), OS_ENAME);
	assert_int_equal(complaint_supervisor(NULL, "gd", &n), OS_EINVAL);
	assert_int_equal(complaint_supervisor(reg, NULL, &n), OS_EINVAL);
	assert_int_equal(complaint_supervisor(reg, "gd", NULL), OS_EINVAL);
	registry_free(&reg);

	/* An empty registry has no supervisor. */
	assert_int_equal(registry_new(&reg), 0);
	assert_int_equal(complaint_supervisor(reg, "gd.sz", &n), OS_ENOTFOUND);
	registry_free(&reg);
}

static int setup(void **state)
{
	(void)state;
	return crypto_setup() == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_complete_path), cmocka_unit_test(test_every_pair),
		cmocka_unit_test(test_actors),        cmocka_unit_test(test_reopen_once),
		cmocka_unit_test(test_duplicate),     cmocka_unit_test(test_conflict),
		cmocka_unit_test(test_gap),           cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_names),         cmocka_unit_test(test_about),
		cmocka_unit_test(test_region),        cmocka_unit_test(test_supervisor),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
