/* Unit tests for libonestop's complaint calls (spoke/lib/complaints.c): the
 * enum names, the arguments refused before anything is sent, and the
 * requests and replies of each call against a fake spoke (a ROUTER socket
 * in a thread of the test that answers as the test says), paging included. */
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

/* ------------------------------------------------------------ names */

static void test_names(void **state)
{
	(void)state;
	static const char *const states[] = {"received", "assigned", "answered", "closed",
					     "reopened"};
	static const char *const actions[] = {"file", "assign", "answer", "close", "reopen"};
	int v;

	for (int i = 0; i < 5; i++) {
		assert_string_equal(onestop_complaint_state_name(i + 1), states[i]);
		assert_int_equal(onestop_complaint_state_parse(states[i], &v), 0);
		assert_int_equal(v, i + 1);
		assert_string_equal(onestop_complaint_action_name(i + 1), actions[i]);
		assert_int_equal(onestop_complaint_action_parse(actions[i], &v), 0);
		assert_int_equal(v, i + 1);
	}
	assert_string_equal(onestop_complaint_kind_name(ONESTOP_COMPLAINT), "complaint");
	assert_string_equal(onestop_complaint_kind_name(ONESTOP_CONSULTATION), "consultation");
	assert_string_equal(onestop_complaint_kind_name(3), "unknown");
	assert_string_equal(onestop_complaint_state_name(0), "unknown");
	assert_string_equal(onestop_complaint_state_name(6), "unknown");
	assert_string_equal(onestop_complaint_action_name(0), "unknown");
	assert_string_equal(onestop_complaint_action_name(-1), "unknown");
	v = 42;
	assert_int_equal(onestop_complaint_state_parse("new", &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_state_parse("Answered", &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_action_parse("assigned", &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_action_parse(NULL, &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_state_parse("closed", NULL), ONESTOP_EINVAL);
	assert_int_equal(v, 42);
}

/* ------------------------------------------------------------ local checks */

#define CASE_ABOUT "case:00112233445566778899aabbccddeeff"

static void test_refused_locally(void **state)
{
	onestop_t *c = *state;
	static const uint8_t sa[] = {1, 2, 3};
	static const uint8_t text[] = "the counter was closed";
	static uint8_t big[4001];
	uint8_t id[ONESTOP_ID_LEN] = {0};
	char handler[64];

	fake_expect(NULL, 0);
	onestop_complaint_filing_t f = {
		.kind = ONESTOP_COMPLAINT,
		.about = CASE_ABOUT,
		.text = text,
		.text_len = sizeof(text) - 1,
		.assertion = sa,
		.assertion_len = sizeof(sa),
	};
	f.kind = 3;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	assert_string_not_equal(onestop_last_error(c), "");
	f.kind = ONESTOP_COMPLAINT;
	/* What it is about: a case id of 32 lowercase hex digits, an item
	 * code, a node name; a consultation is about an item. */
	static const char *const bad_about[] = {
		"",      "case:00112233", "case:00112233445566778899AABBCCDDEEFF",
		"item:", "node:Bad Name", "thing:x",
		"case",
	};
	for (size_t i = 0; i < sizeof(bad_about) / sizeof(bad_about[0]); i++) {
		f.about = bad_about[i];
		assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	}
	f.about = NULL;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.kind = ONESTOP_CONSULTATION;
	f.about = "node:gd.sz.hall";
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	assert_non_null(strstr(onestop_last_error(c), "item"));
	f.about = CASE_ABOUT;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.kind = ONESTOP_COMPLAINT;
	/* The text: 1..4000 bytes. */
	f.text_len = 0;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.text = big;
	f.text_len = sizeof(big);
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.text = NULL;
	f.text_len = 4;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.text = text;
	f.text_len = sizeof(text) - 1;
	/* A complaint is never anonymous. */
	f.assertion = NULL;
	f.assertion_len = 0;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.assertion_len = 3;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.assertion = sa;
	f.assertion_len = 5000;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_ETOOBIG);
	f.assertion_len = sizeof(sa);
	f.channel = 5;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.channel = -1;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.channel = ONESTOP_CHANNEL_HALL;
	f.key = (const uint8_t *)"k";
	f.key_len = 129;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.key = NULL;
	f.key_len = 1;
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EINVAL);
	f.key_len = 0;
	/* Sized-struct guards: too small, misaligned, and a newer caller's
	 * fields this library does not know. */
	assert_int_equal(onestop_complaint_file_sized(c, &f, id, handler, 12), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_file_sized(c, &f, id, handler, sizeof(f) + 1),
			 ONESTOP_EINVAL);
	struct {
		onestop_complaint_filing_t f;
		uint64_t later;
	} newer = {f, 7};
	assert_int_equal(onestop_complaint_file_sized(c, &newer.f, id, handler, sizeof(newer)),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_file(c, NULL, id, handler), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_file(c, &f, NULL, handler), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_file(NULL, &f, id, handler), ONESTOP_EINVAL);

	/* Steps. */
	uint64_t seq = 9;
	int pending = 9;
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_FILE, NULL, NULL, 0, NULL, &seq,
					       &pending),
			 ONESTOP_EINVAL);
	assert_int_equal(seq, 0);
	assert_int_equal(pending, 0);
	assert_int_equal(onestop_complaint_act(c, id, 6, NULL, NULL, 0, NULL, NULL, NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_ASSIGN, NULL, NULL, 0, NULL, NULL,
					       NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_ASSIGN, "Not A Node", NULL, 0,
					       NULL, NULL, NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_CLOSE, "gd.sz.market", NULL, 0,
					       NULL, NULL, NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_ANSWER, NULL, NULL, 0, NULL, NULL,
					       NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_ANSWER, NULL, big, sizeof(big),
					       NULL, NULL, NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_REOPEN, NULL, text, 4, NULL, NULL,
					       NULL),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_act(c, NULL, ONESTOP_CP_CLOSE, NULL, NULL, 0, NULL, NULL,
					       NULL),
			 ONESTOP_EINVAL);

	/* Reading and listing. */
	onestop_complaint_t *cp = NULL;
	size_t n = 9;
	int more = 9;
	onestop_complaint_filter_t lf = {.by_state = 1, .state = ONESTOP_CP_RECEIVED, .overdue = 1};
	assert_int_equal(onestop_complaint_list(c, &lf, &cp, &n, id, &more), ONESTOP_EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(more, 0);
	lf = (onestop_complaint_filter_t){.by_state = 1, .state = 0};
	assert_int_equal(onestop_complaint_list(c, &lf, &cp, &n, id, &more), ONESTOP_EINVAL);
	lf = (onestop_complaint_filter_t){.by_state = 1, .state = 6};
	assert_int_equal(onestop_complaint_list(c, &lf, &cp, &n, id, &more), ONESTOP_EINVAL);
	lf = (onestop_complaint_filter_t){.limit = ONESTOP_MAX_BATCH + 1};
	assert_int_equal(onestop_complaint_list(c, &lf, &cp, &n, id, &more), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_list(c, NULL, &cp, &n, id, &more), ONESTOP_EINVAL);
	lf = (onestop_complaint_filter_t){0};
	assert_int_equal(onestop_complaint_list_sized(c, &lf, &cp, &n, id, &more, 4, sizeof(*cp)),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_list_sized(c, &lf, &cp, &n, id, &more, sizeof(lf), 8),
			 ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_get_sized(c, id, &cp, 8), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_get_sized(c, id, &cp, sizeof(*cp) + 1), ONESTOP_EINVAL);
	assert_int_equal(onestop_complaint_get(c, NULL, &cp), ONESTOP_EINVAL);
	assert_null(cp);
	assert_int_equal(fake_requests(), 0);
}

/* ------------------------------------------------------------ file */

static const char *file_handler = "gd.sup";

static void answer_file(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static uint8_t id[ONESTOP_ID_LEN] = {0xc0, 0x91};
	static Onestop__ComplaintFileResult res = ONESTOP__COMPLAINT_FILE_RESULT__INIT;

	(void)req;
	res.complaint_id.data = id;
	res.complaint_id.len = sizeof(id);
	res.handler = (char *)file_handler;
	rep->result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_FILE;
	rep->complaint_file = &res;
}

static void answer_refuse(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	(void)req;
	rep->code = ONESTOP_ENOTFOUND;
	rep->message = "no supervisor for region gd.zh";
}

static void answer_wrong(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__ComplaintActResult res = ONESTOP__COMPLAINT_ACT_RESULT__INIT;
	(void)req;
	rep->result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_ACT;
	rep->complaint_act = &res;
}

static void test_file(void **state)
{
	onestop_t *c = *state;
	static const uint8_t sa[] = {0x0a, 1, 2};
	uint8_t id[ONESTOP_ID_LEN];
	char handler[64];
	onestop_complaint_filing_t f = {
		.kind = ONESTOP_COMPLAINT,
		.about = CASE_ABOUT,
		.text = (const uint8_t *)"slow",
		.text_len = 4,
		.assertion = sa,
		.assertion_len = sizeof(sa),
		.channel = ONESTOP_CHANNEL_HALL,
		.key = (const uint8_t *)"k1",
		.key_len = 2,
	};

	fake_expect(answer_file, ONESTOP__API_REQUEST__OP_COMPLAINT_FILE);
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), 0);
	assert_int_equal(id[0], 0xc0);
	assert_int_equal(id[1], 0x91);
	assert_string_equal(handler, "gd.sup");
	assert_string_equal(onestop_last_error(c), "");
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_COMPLAINT_FILE), 1);
	Onestop__ApiRequest *r = fake_last();
	const Onestop__ComplaintFileRequest *fr = r->complaint_file;
	assert_int_equal(fr->kind, ONESTOP__COMPLAINT_KIND__COMPLAINT_KIND_COMPLAINT);
	assert_string_equal(fr->about, CASE_ABOUT);
	assert_int_equal(fr->text.len, 4);
	assert_memory_equal(fr->text.data, "slow", 4);
	assert_int_equal(fr->assertion.len, sizeof(sa));
	assert_int_equal(fr->channel, ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HALL);
	assert_memory_equal(fr->key.data, "k1", 2);
	onestop__api_request__free_unpacked(r, NULL);

	/* An anonymous consultation about an item; the handler not wanted. */
	f = (onestop_complaint_filing_t){
		.kind = ONESTOP_CONSULTATION,
		.about = "item:11000000000000000A-001",
		.text = (const uint8_t *)"which papers?",
		.text_len = 13,
	};
	assert_int_equal(onestop_complaint_file(c, &f, id, NULL), 0);
	r = fake_last();
	fr = r->complaint_file;
	assert_int_equal(fr->kind, ONESTOP__COMPLAINT_KIND__COMPLAINT_KIND_CONSULTATION);
	assert_int_equal(fr->assertion.len, 0);
	assert_int_equal(fr->key.len, 0);
	assert_int_equal(fr->channel, ONESTOP__CASE_CHANNEL__CASE_CHANNEL_UNSPECIFIED);
	onestop__api_request__free_unpacked(r, NULL);

	/* A handler that does not fit the room: the filing stands, the
	 * handler is left "". */
	static char longname[100];
	memset(longname, 'a', sizeof(longname) - 1);
	file_handler = longname;
	strcpy(handler, "x");
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), 0);
	assert_string_equal(handler, "");
	assert_int_equal(id[0], 0xc0);
	file_handler = "gd.sup";

	/* The spoke's refusal, with its reason. */
	fake_expect(answer_refuse, 0);
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_ENOTFOUND);
	assert_string_equal(onestop_last_error(c), "no supervisor for region gd.zh");
	assert_int_equal(id[0], 0);

	/* A reply of another op. */
	fake_expect(answer_wrong, 0);
	assert_int_equal(onestop_complaint_file(c, &f, id, handler), ONESTOP_EPROTO);
}

/* ------------------------------------------------------------ act */

static int act_pending;

static void answer_act(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__ComplaintActResult res = ONESTOP__COMPLAINT_ACT_RESULT__INIT;
	if (req->complaint_act->action == ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REOPEN &&
	    strcmp(req->complaint_act->reason, "again") == 0) {
		rep->code = ONESTOP_ESTATE;
		rep->message = "reopened once already";
		return;
	}
	res.seq = 4;
	res.pending = act_pending;
	rep->result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_ACT;
	rep->complaint_act = &res;
}

static void test_act(void **state)
{
	onestop_t *c = *state;
	uint8_t id[ONESTOP_ID_LEN] = {7};
	uint64_t seq = 0;
	int pending = 9;

	fake_expect(answer_act, ONESTOP__API_REQUEST__OP_COMPLAINT_ACT);
	act_pending = 0;
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_ASSIGN, "gd.sz.market", NULL, 0,
					       "yours", &seq, &pending),
			 0);
	assert_int_equal(seq, 4);
	assert_int_equal(pending, 0);
	Onestop__ApiRequest *r = fake_last();
	assert_int_equal(r->complaint_act->action,
			 ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ASSIGN);
	assert_string_equal(r->complaint_act->assignee, "gd.sz.market");
	assert_string_equal(r->complaint_act->reason, "yours");
	assert_int_equal(r->complaint_act->answer.len, 0);
	assert_int_equal(r->complaint_act->complaint_id.len, ONESTOP_ID_LEN);
	assert_int_equal(r->complaint_act->complaint_id.data[0], 7);
	onestop__api_request__free_unpacked(r, NULL);

	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_ANSWER, NULL,
					       (const uint8_t *)"done", 4, NULL, NULL, NULL),
			 0);
	r = fake_last();
	assert_int_equal(r->complaint_act->action,
			 ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ANSWER);
	assert_memory_equal(r->complaint_act->answer.data, "done", 4);
	assert_string_equal(r->complaint_act->assignee, "");
	assert_string_equal(r->complaint_act->reason, "");
	onestop__api_request__free_unpacked(r, NULL);

	/* Another party's step waits for the handler. */
	act_pending = 1;
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_REOPEN, "", NULL, 0, "not done",
					       &seq, &pending),
			 0);
	assert_int_equal(pending, 1);

	/* The spoke's refusal. */
	assert_int_equal(onestop_complaint_act(c, id, ONESTOP_CP_REOPEN, NULL, NULL, 0, "again",
					       &seq, &pending),
			 ONESTOP_ESTATE);
	assert_string_equal(onestop_last_error(c), "reopened once already");
	assert_int_equal(seq, 0);
	assert_int_equal(pending, 0);
}

/* ------------------------------------------------------------ get and list */

#define N_IDS 5
static uint8_t cp_ids[N_IDS][ONESTOP_ID_LEN] = {{1}, {2}, {3}, {4}, {5}};

/* A ComplaintInfo for cp_ids[k] (history and text when full). */
static void fill_info(Onestop__ComplaintInfo *ci, int k, int full)
{
	static Onestop__ComplaintStep s[3] = {ONESTOP__COMPLAINT_STEP__INIT,
					      ONESTOP__COMPLAINT_STEP__INIT,
					      ONESTOP__COMPLAINT_STEP__INIT};
	static Onestop__ComplaintStep *steps[] = {&s[0], &s[1], &s[2]};

	onestop__complaint_info__init(ci);
	ci->id.data = cp_ids[k];
	ci->id.len = ONESTOP_ID_LEN;
	ci->kind = k == 1 ? ONESTOP__COMPLAINT_KIND__COMPLAINT_KIND_CONSULTATION
			  : ONESTOP__COMPLAINT_KIND__COMPLAINT_KIND_COMPLAINT;
	ci->about = k == 1 ? "item:LIC-ITEM" : CASE_ABOUT;
	ci->filed_by = "gd.sz.hall";
	ci->handler = "gd.sup";
	ci->region = "gd.sz";
	ci->assignee = k == 0 ? "gd.sz.market" : "";
	ci->state = ONESTOP__COMPLAINT_STATE__COMPLAINT_STATE_ANSWERED;
	ci->seq = 3;
	ci->filed_ms = 1000 + (uint64_t)k;
	ci->due_ms = k == 2 ? 5000 : 0;
	ci->overdue = k == 2;
	ci->pending = k == 0 ? ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REOPEN
			     : ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_UNSPECIFIED;
	ci->reopened = 1;
	ci->channel = ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HALL;
	ci->anonymous = k == 1;
	if (!full)
		return;
	s[0].seq = 1;
	s[0].at_ms = 1000;
	s[0].actor = "gd.sz.hall";
	s[0].action = ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_FILE;
	s[1].seq = 2;
	s[1].at_ms = 1500;
	s[1].actor = "gd.sup";
	s[1].action = ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ASSIGN;
	s[1].assignee = "gd.sz.market";
	s[1].reason = "the owner's";
	s[2].seq = 3;
	s[2].at_ms = 2500;
	s[2].actor = "gd.sz.market";
	s[2].action = ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_ANSWER;
	s[2].answer.data = (uint8_t *)"open again";
	s[2].answer.len = 10;
	ci->n_history = 3;
	ci->history = steps;
	ci->text.data = (uint8_t *)"queue too long";
	ci->text.len = 14;
}

static int get_bad; /* 1: a step over its bound */

static void answer_get(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__ComplaintInfo ci;
	static Onestop__ComplaintGetResult res = ONESTOP__COMPLAINT_GET_RESULT__INIT;
	static uint8_t huge[4001];
	int k = req->complaint_get->complaint_id.len == ONESTOP_ID_LEN
			? req->complaint_get->complaint_id.data[0] - 1
			: 0;
	if (k == 8) {
		rep->code = ONESTOP_ENOTFOUND;
		rep->message = "no such complaint";
		return;
	}
	fill_info(&ci, k >= 0 && k < N_IDS ? k : 0, 1);
	if (get_bad)
		ci.text = (ProtobufCBinaryData){sizeof(huge), huge};
	res.info = &ci;
	rep->result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_GET;
	rep->complaint_get = &res;
}

static void test_get(void **state)
{
	onestop_t *c = *state;
	onestop_complaint_t *cp = NULL;

	fake_expect(answer_get, ONESTOP__API_REQUEST__OP_COMPLAINT_GET);
	get_bad = 0;
	assert_int_equal(onestop_complaint_get(c, cp_ids[0], &cp), 0);
	assert_non_null(cp);
	assert_memory_equal(cp->id, cp_ids[0], ONESTOP_ID_LEN);
	assert_int_equal(cp->kind, ONESTOP_COMPLAINT);
	assert_string_equal(cp->about, CASE_ABOUT);
	assert_string_equal(cp->filed_by, "gd.sz.hall");
	assert_string_equal(cp->handler, "gd.sup");
	assert_string_equal(cp->region, "gd.sz");
	assert_string_equal(cp->assignee, "gd.sz.market");
	assert_int_equal(cp->state, ONESTOP_CP_ANSWERED);
	assert_int_equal(cp->seq, 3);
	assert_int_equal(cp->filed_ms, 1000);
	assert_int_equal(cp->pending, ONESTOP_CP_REOPEN);
	assert_int_equal(cp->reopened, 1);
	assert_int_equal(cp->channel, ONESTOP_CHANNEL_HALL);
	assert_int_equal(cp->anonymous, 0);
	assert_int_equal(cp->n_history, 3);
	assert_string_equal(cp->history[0].actor, "gd.sz.hall");
	assert_int_equal(cp->history[0].action, ONESTOP_CP_FILE);
	assert_string_equal(cp->history[0].assignee, "");
	assert_null(cp->history[0].answer);
	assert_string_equal(cp->history[1].assignee, "gd.sz.market");
	assert_string_equal(cp->history[1].reason, "the owner's");
	assert_int_equal(cp->history[2].answer_len, 10);
	assert_memory_equal(cp->history[2].answer, "open again", 10);
	assert_int_equal(cp->history[2].at_ms, 2500);
	assert_int_equal(cp->text_len, 14);
	assert_memory_equal(cp->text, "queue too long", 14);
	Onestop__ApiRequest *r = fake_last();
	assert_int_equal(r->complaint_get->complaint_id.len, ONESTOP_ID_LEN);
	assert_int_equal(r->complaint_get->complaint_id.data[0], 1);
	onestop__api_request__free_unpacked(r, NULL);
	onestop_complaint_free(&cp);
	assert_null(cp);
	onestop_complaint_free(&cp);
	onestop_complaint_free(NULL);

	/* A reply for another complaint is no answer. */
	uint8_t other[ONESTOP_ID_LEN] = {7};
	assert_int_equal(onestop_complaint_get(c, other, &cp), ONESTOP_EPROTO);
	assert_null(cp);
	/* Not found, with the spoke's reason. */
	other[0] = 9;
	assert_int_equal(onestop_complaint_get(c, other, &cp), ONESTOP_ENOTFOUND);
	assert_string_equal(onestop_last_error(c), "no such complaint");
	/* A text over its bound. */
	get_bad = 1;
	assert_int_equal(onestop_complaint_get(c, cp_ids[0], &cp), ONESTOP_EPROTO);
	assert_null(cp);
	get_bad = 0;
}

/* The fake's list: N_IDS complaints, limit a page, after_id the cursor. */
static void answer_list(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__ComplaintInfo ci[N_IDS];
	static Onestop__ComplaintInfo *cip[N_IDS];
	static Onestop__ComplaintListResult res = ONESTOP__COMPLAINT_LIST_RESULT__INIT;
	const Onestop__ComplaintListRequest *lr = req->complaint_list;
	size_t from = lr->after_id.len == ONESTOP_ID_LEN ? lr->after_id.data[0] : 0;
	size_t n = 0;
	for (size_t k = from; k < N_IDS && n < lr->limit; k++, n++) {
		fill_info(&ci[k], (int)k, 0);
		cip[n] = &ci[k];
	}
	onestop__complaint_list_result__init(&res);
	res.n_complaints = n;
	res.complaints = cip;
	if (from + n < N_IDS) {
		res.next.data = cp_ids[from + n - 1];
		res.next.len = ONESTOP_ID_LEN;
	}
	rep->result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_LIST;
	rep->complaint_list = &res;
}

static void answer_list_over(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__ComplaintInfo ci[3];
	static Onestop__ComplaintInfo *cip[] = {&ci[0], &ci[1], &ci[2]};
	static Onestop__ComplaintListResult res = ONESTOP__COMPLAINT_LIST_RESULT__INIT;
	(void)req;
	for (int k = 0; k < 3; k++)
		fill_info(&ci[k], k, 0);
	res.n_complaints = 3;
	res.complaints = cip;
	rep->result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_LIST;
	rep->complaint_list = &res;
}

/* The struct a newer program might pass: the published one and more. */
struct bigger_complaint {
	onestop_complaint_t cp;
	uint64_t later[3];
};

static void test_list(void **state)
{
	onestop_t *c = *state;
	onestop_complaint_t *cp = NULL;
	size_t n = 0, seen = 0;
	uint8_t next[ONESTOP_ID_LEN];
	int more = 0, pages = 0;

	fake_expect(answer_list, ONESTOP__API_REQUEST__OP_COMPLAINT_LIST);
	onestop_complaint_filter_t f = {.limit = 2};
	/* Page through all of them, with the cursor where the last call left
	 * it. */
	do {
		assert_int_equal(onestop_complaint_list(c, &f, &cp, &n, next, &more), 0);
		for (size_t i = 0; i < n; i++)
			assert_memory_equal(cp[i].id, cp_ids[seen + i], ONESTOP_ID_LEN);
		seen += n;
		pages++;
		onestop_complaints_free(&cp, n);
		assert_null(cp);
		f.after_id = next;
	} while (more && pages < 10);
	assert_int_equal(seen, N_IDS);
	assert_int_equal(pages, 3);
	Onestop__ApiRequest *r = fake_last();
	assert_int_equal(r->complaint_list->after_id.len, ONESTOP_ID_LEN);
	assert_int_equal(r->complaint_list->after_id.data[0], 4);
	assert_int_equal(r->complaint_list->limit, 2);
	assert_false(r->complaint_list->by_state);
	assert_false(r->complaint_list->overdue);
	onestop__api_request__free_unpacked(r, NULL);

	/* By state, and overdue; the default limit. */
	f = (onestop_complaint_filter_t){.by_state = 1, .state = ONESTOP_CP_REOPENED};
	assert_int_equal(onestop_complaint_list(c, &f, &cp, &n, next, &more), 0);
	assert_int_equal(n, N_IDS);
	assert_int_equal(more, 0);
	assert_string_equal(cp[1].about, "item:LIC-ITEM");
	assert_int_equal(cp[1].kind, ONESTOP_CONSULTATION);
	assert_int_equal(cp[1].anonymous, 1);
	assert_int_equal(cp[2].overdue, 1);
	assert_int_equal(cp[2].due_ms, 5000);
	assert_int_equal(cp[0].n_history, 0);
	assert_null(cp[0].history);
	assert_null(cp[0].text);
	onestop_complaints_free(&cp, n);
	r = fake_last();
	assert_true(r->complaint_list->by_state);
	assert_int_equal(r->complaint_list->state,
			 ONESTOP__COMPLAINT_STATE__COMPLAINT_STATE_REOPENED);
	assert_int_equal(r->complaint_list->limit, 100);
	assert_int_equal(r->complaint_list->after_id.len, 0);
	onestop__api_request__free_unpacked(r, NULL);
	f = (onestop_complaint_filter_t){.overdue = 1};
	assert_int_equal(onestop_complaint_list(c, &f, &cp, &n, next, &more), 0);
	onestop_complaints_free(&cp, n);
	r = fake_last();
	assert_true(r->complaint_list->overdue);
	onestop__api_request__free_unpacked(r, NULL);

	/* At a larger caller's stride. */
	f = (onestop_complaint_filter_t){0};
	assert_int_equal(onestop_complaint_list_sized(c, &f, &cp, &n, next, &more, sizeof(f),
						      sizeof(struct bigger_complaint)),
			 0);
	const struct bigger_complaint *big = (const struct bigger_complaint *)(void *)cp;
	assert_int_equal(n, N_IDS);
	assert_string_equal(big[4].cp.handler, "gd.sup");
	assert_int_equal(big[4].cp.filed_ms, 1004);
	assert_int_equal(big[3].later[0], 0);
	onestop_complaints_free(&cp, n);

	/* More complaints than the limit asked for. */
	fake_expect(answer_list_over, 0);
	f.limit = 2;
	assert_int_equal(onestop_complaint_list(c, &f, &cp, &n, next, &more), ONESTOP_EPROTO);
	assert_null(cp);
	assert_int_equal(n, 0);
	assert_int_equal(more, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_refused_locally, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_file, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_act, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_get, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_list, fake_setup, fake_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
