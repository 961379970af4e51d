/* Unit tests for libonestop's case calls (spoke/lib/cases.c): the enum
 * names, the LicenceValue codec, the arguments refused before anything is
 * sent, and the requests and replies of each call against a fake spoke (a
 * ROUTER socket in a thread of the test that answers as the test says). */
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
	static const char *const states[] = {"new",      "filed",       "accepted",
					     "rejected", "more_needed", "resubmitted",
					     "decided",  "closed",      "withdrawn"};
	static const char *const actions[] = {"file",     "accept", "reject", "need_more",
					      "resubmit", "decide", "close",  "withdraw"};
	static const char *const channels[] = {"none", "web", "mobile", "hall", "hotline"};
	int v;

	for (int i = 0; i < 9; i++) {
		assert_string_equal(onestop_case_state_name(i), states[i]);
		assert_int_equal(onestop_case_state_parse(states[i], &v), 0);
		assert_int_equal(v, i);
	}
	for (int i = 0; i < 8; i++) {
		assert_string_equal(onestop_case_action_name(i + 1), actions[i]);
		assert_int_equal(onestop_case_action_parse(actions[i], &v), 0);
		assert_int_equal(v, i + 1);
	}
	for (int i = 0; i < 5; i++) {
		assert_string_equal(onestop_channel_name(i), channels[i]);
		assert_int_equal(onestop_channel_parse(channels[i], &v), 0);
		assert_int_equal(v, i);
	}
	assert_string_equal(onestop_case_outcome_name(ONESTOP_OUTCOME_NONE), "none");
	assert_string_equal(onestop_case_outcome_name(ONESTOP_APPROVED), "approved");
	assert_string_equal(onestop_case_outcome_name(ONESTOP_DENIED), "denied");
	assert_string_equal(onestop_case_state_name(9), "unknown");
	assert_string_equal(onestop_case_state_name(-1), "unknown");
	assert_string_equal(onestop_case_action_name(0), "unknown");
	assert_string_equal(onestop_case_outcome_name(3), "unknown");
	assert_string_equal(onestop_channel_name(5), "unknown");
	v = 42;
	assert_int_equal(onestop_case_state_parse("Filed", &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_action_parse("need", &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_channel_parse("counter", &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_channel_parse(NULL, &v), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_state_parse("filed", NULL), ONESTOP_EINVAL);
	assert_int_equal(v, 42);
}

/* ------------------------------------------------------------ licence codec */

static void test_licence_codec(void **state)
{
	(void)state;
	onestop_licence_t l, back;
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(&l, 0, sizeof(l));
	strcpy(l.number, "LIC-00112233445566778899aabbccddeeff");
	strcpy(l.item, "11000000000000000A-001");
	strcpy(l.holder, "subj-1");
	strcpy(l.issuer, "city.permits");
	strcpy(l.publisher, "not.packed");
	l.valid_from_ms = 1700000000000ull;
	l.valid_until_ms = 1800000000000ull;
	assert_int_equal(onestop_licence_encode(&l, &buf, &len), 0);
	assert_non_null(buf);
	Onestop__LicenceValue *v = onestop__licence_value__unpack(NULL, len, buf);
	assert_non_null(v);
	assert_int_equal(v->status, ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE);
	assert_string_equal(v->issuer, "city.permits");
	onestop__licence_value__free_unpacked(v, NULL);
	assert_int_equal(onestop_licence_decode(buf, len, &back), 0);
	assert_string_equal(back.number, l.number);
	assert_string_equal(back.item, l.item);
	assert_string_equal(back.holder, l.holder);
	assert_string_equal(back.issuer, l.issuer);
	assert_string_equal(back.publisher, "");
	assert_int_equal(back.valid_from_ms, l.valid_from_ms);
	assert_int_equal(back.valid_until_ms, l.valid_until_ms);
	assert_int_equal(back.revoked, 0);
	free(buf);

	l.revoked = 1;
	assert_int_equal(onestop_licence_encode(&l, &buf, &len), 0);
	assert_int_equal(onestop_licence_decode(buf, len, &back), 0);
	assert_int_equal(back.revoked, 1);
	free(buf);

	/* A status that is not active (unspecified here) is not good. */
	Onestop__LicenceValue raw = ONESTOP__LICENCE_VALUE__INIT;
	raw.number = "N";
	uint8_t one[64];
	size_t n = onestop__licence_value__pack(&raw, one);
	assert_int_equal(onestop_licence_decode(one, n, &back), 0);
	assert_int_equal(back.revoked, 1);

	/* An issuer longer than its room, and bytes that are no value. */
	char longname[100];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	raw.issuer = longname;
	uint8_t big[256];
	n = onestop__licence_value__pack(&raw, big);
	assert_int_equal(onestop_licence_decode(big, n, &back), ONESTOP_EDECODE);
	assert_string_equal(back.number, "");
	static const uint8_t junk[] = {0xff, 0xff, 0xff};
	assert_int_equal(onestop_licence_decode(junk, sizeof(junk), &back), ONESTOP_EDECODE);
	assert_int_equal(onestop_licence_decode(NULL, 3, &back), ONESTOP_EINVAL);
	assert_int_equal(onestop_licence_decode(junk, 3, NULL), ONESTOP_EINVAL);

	/* A string without its NUL, and a struct of a size never published. */
	memset(l.holder, 'h', sizeof(l.holder));
	assert_int_equal(onestop_licence_encode(&l, &buf, &len), ONESTOP_EINVAL);
	assert_null(buf);
	assert_int_equal(onestop_licence_encode_sized(&back, &buf, &len, 8), ONESTOP_EINVAL);
}

/* ------------------------------------------------------------ local checks */

static void test_refused_locally(void **state)
{
	onestop_t *c = *state;
	static const uint8_t sa[] = {1, 2, 3};
	uint8_t id[ONESTOP_ID_LEN] = {0};
	onestop_case_ref_t ref = {"licences", "", NULL};
	const char *miss[] = {"photo"};

	fake_expect(NULL, 0);
	onestop_case_filing_t f = {.item = "X", .assertion = sa, .assertion_len = sizeof(sa)};
	f.item = "";
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_EINVAL);
	assert_string_not_equal(onestop_last_error(c), "");
	f.item = "X";
	f.assertion_len = 0;
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_EINVAL);
	f.assertion_len = 5000;
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_ETOOBIG);
	f.assertion_len = sizeof(sa);
	f.channel = 9;
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_EINVAL);
	f.channel = ONESTOP_CHANNEL_HALL;
	f.refs = &ref;
	f.n_refs = 1;
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_EINVAL);
	assert_non_null(strstr(onestop_last_error(c), "reference 1"));
	f.n_refs = 0;
	f.key_len = 200;
	f.key = (const uint8_t *)"k";
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_EINVAL);
	f.key_len = 0;
	assert_int_equal(onestop_case_file_sized(c, &f, id, 12), ONESTOP_EINVAL);

	onestop_case_act_t a = {.action = ONESTOP_ACT_FILE};
	assert_int_equal(onestop_case_act(c, id, &a, NULL), ONESTOP_EINVAL);
	a.action = ONESTOP_ACT_NEED_MORE;
	assert_int_equal(onestop_case_act(c, id, &a, NULL), ONESTOP_EINVAL);
	a.action = ONESTOP_ACT_DECIDE;
	assert_int_equal(onestop_case_act(c, id, &a, NULL), ONESTOP_EINVAL);
	a.outcome = ONESTOP_DENIED;
	a.licence_days = 30;
	assert_int_equal(onestop_case_act(c, id, &a, NULL), ONESTOP_EINVAL);
	a = (onestop_case_act_t){.action = ONESTOP_ACT_ACCEPT, .missing = miss, .n_missing = 1};
	assert_int_equal(onestop_case_act(c, id, &a, NULL), ONESTOP_EINVAL);
	a = (onestop_case_act_t){.action = ONESTOP_ACT_RESUBMIT};
	assert_int_equal(onestop_case_act(c, id, &a, NULL), ONESTOP_EINVAL);

	onestop_case_t *cs = NULL;
	size_t n = 9;
	int more = 9;
	onestop_case_filter_t lf = {.by_state = 1, .overdue = 1};
	assert_int_equal(onestop_case_list(c, &lf, &cs, &n, id, &more), ONESTOP_EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(more, 0);
	lf = (onestop_case_filter_t){0};
	assert_int_equal(onestop_case_list(c, &lf, &cs, &n, id, &more), ONESTOP_EINVAL);
	lf = (onestop_case_filter_t){.item = "X", .limit = ONESTOP_MAX_BATCH + 1};
	assert_int_equal(onestop_case_list(c, &lf, &cs, &n, id, &more), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_list(c, NULL, &cs, &n, id, &more), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_get_sized(c, id, &cs, 8), ONESTOP_EINVAL);
	assert_int_equal(onestop_case_get(c, NULL, &cs), ONESTOP_EINVAL);
	assert_int_equal(onestop_licence_verify(c, "", NULL, NULL), ONESTOP_EINVAL);
	assert_int_equal(fake_requests(), 0);
}

/* ------------------------------------------------------------ file */

static void answer_file(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static uint8_t id[ONESTOP_ID_LEN] = {0xca, 0x5e};
	static Onestop__CaseFileResult res = ONESTOP__CASE_FILE_RESULT__INIT;

	if (req->op_case == ONESTOP__API_REQUEST__OP_GET) {
		rep->code = ONESTOP_ENOTFOUND;
		rep->message = "no such entry";
		return;
	}
	res.case_id.data = id;
	res.case_id.len = sizeof(id);
	res.owner = "city.permits";
	rep->result_case = ONESTOP__API_REPLY__RESULT_CASE_FILE;
	rep->case_file = &res;
}

static void answer_refuse(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	(void)req;
	rep->code = ONESTOP_EMATERIAL;
	rep->message = "missing: photo, deed";
}

static void test_file(void **state)
{
	onestop_t *c = *state;
	static const uint8_t sa[] = {0x0a, 1, 2};
	static const uint8_t doc[] = "scan";
	uint8_t id[ONESTOP_ID_LEN];
	onestop_case_ref_t refs[] = {{"licences", "LIC-1", NULL}, {"identity", "subj-1", "id"}};
	onestop_case_upload_t up = {"deed", doc, 4};
	onestop_case_filing_t f = {
		.item = "ITEM-1",
		.assertion = sa,
		.assertion_len = sizeof(sa),
		.channel = ONESTOP_CHANNEL_HALL,
		.form = (const uint8_t *)"{}",
		.form_len = 2,
		.refs = refs,
		.n_refs = 2,
		.uploads = &up,
		.n_uploads = 1,
		.key = (const uint8_t *)"k1",
		.key_len = 2,
	};

	fake_expect(answer_file, ONESTOP__API_REQUEST__OP_CASE_FILE);
	assert_int_equal(onestop_case_file(c, &f, id), 0);
	assert_int_equal(id[0], 0xca);
	assert_int_equal(id[1], 0x5e);
	assert_string_equal(onestop_last_error(c), "");
	/* Every reference was looked up first, then the filing sent. */
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_GET), 2);
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_CASE_FILE), 1);
	Onestop__ApiRequest *r = fake_last();
	const Onestop__CaseFileRequest *fr = r->case_file;
	assert_string_equal(fr->item, "ITEM-1");
	assert_int_equal(fr->channel, ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HALL);
	assert_int_equal(fr->assertion.len, sizeof(sa));
	assert_int_equal(fr->n_refs, 2);
	assert_string_equal(fr->refs[0]->key, "LIC-1");
	assert_string_equal(fr->refs[0]->name, "");
	assert_string_equal(fr->refs[1]->name, "id");
	assert_int_equal(fr->n_uploads, 1);
	assert_string_equal(fr->uploads[0]->name, "deed");
	assert_memory_equal(fr->uploads[0]->data.data, "scan", 4);
	assert_int_equal(fr->form.len, 2);
	assert_memory_equal(fr->key.data, "k1", 2);
	onestop__api_request__free_unpacked(r, NULL);

	fake_expect(answer_refuse, 0);
	f.n_refs = 0;
	assert_int_equal(onestop_case_file(c, &f, id), ONESTOP_EMATERIAL);
	assert_string_equal(onestop_last_error(c), "missing: photo, deed");
	assert_int_equal(fake_requests(), 1);
}

/* ------------------------------------------------------------ act */

static void answer_act(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__CaseActResult res = ONESTOP__CASE_ACT_RESULT__INIT;
	(void)req;
	res.seq = 5;
	res.pending = 0;
	res.licence = "LIC-00ff";
	rep->result_case = ONESTOP__API_REPLY__RESULT_CASE_ACT;
	rep->case_act = &res;
}

static void test_act(void **state)
{
	onestop_t *c = *state;
	uint8_t id[ONESTOP_ID_LEN] = {7};
	onestop_case_acted_t done;
	const char *miss[] = {"photo", "deed"};

	fake_expect(answer_act, ONESTOP__API_REQUEST__OP_CASE_ACT);
	onestop_case_act_t a = {.action = ONESTOP_ACT_DECIDE,
				.outcome = ONESTOP_APPROVED,
				.reason = "ok",
				.licence_days = 365};
	assert_int_equal(onestop_case_act(c, id, &a, &done), 0);
	assert_int_equal(done.seq, 5);
	assert_int_equal(done.pending, 0);
	assert_string_equal(done.licence, "LIC-00ff");
	Onestop__ApiRequest *r = fake_last();
	assert_int_equal(r->case_act->action, ONESTOP__CASE_ACTION__CASE_ACTION_DECIDE);
	assert_int_equal(r->case_act->outcome, ONESTOP__CASE_OUTCOME__CASE_OUTCOME_APPROVED);
	assert_int_equal(r->case_act->licence_days, 365);
	assert_int_equal(r->case_act->case_id.len, ONESTOP_ID_LEN);
	assert_int_equal(r->case_act->case_id.data[0], 7);
	onestop__api_request__free_unpacked(r, NULL);

	a = (onestop_case_act_t){.action = ONESTOP_ACT_NEED_MORE, .missing = miss, .n_missing = 2};
	assert_int_equal(onestop_case_act(c, id, &a, NULL), 0);
	r = fake_last();
	assert_int_equal(r->case_act->n_missing, 2);
	assert_string_equal(r->case_act->missing[1], "deed");
	onestop__api_request__free_unpacked(r, NULL);
}

/* ------------------------------------------------------------ get and list */

static uint8_t case_ids[3][ONESTOP_ID_LEN] = {{1}, {2}, {3}};

/* A full CaseInfo for case_ids[k] (history, refs, form, uploads when full). */
static void fill_info(Onestop__CaseInfo *ci, int k, int full)
{
	static Onestop__CaseStep s1 = ONESTOP__CASE_STEP__INIT, s2 = ONESTOP__CASE_STEP__INIT;
	static Onestop__CaseStep *steps[] = {&s1, &s2};
	static char *missing[] = {"photo", "deed"};
	static Onestop__SharedDataRef ref = ONESTOP__SHARED_DATA_REF__INIT;
	static Onestop__SharedDataRef *refs[] = {&ref};
	static Onestop__CaseUpload up = ONESTOP__CASE_UPLOAD__INIT;
	static Onestop__CaseUpload *ups[] = {&up};

	onestop__case_info__init(ci);
	ci->id.data = case_ids[k];
	ci->id.len = ONESTOP_ID_LEN;
	ci->item = k == 1 ? "ITEM-2" : "ITEM-1";
	ci->applicant = "subj-1";
	ci->channel = ONESTOP__CASE_CHANNEL__CASE_CHANNEL_MOBILE;
	ci->filed_by = "town.hall";
	ci->owner = "city.permits";
	ci->state = ONESTOP__CASE_STATE__CASE_STATE_MORE_NEEDED;
	ci->seq = 3;
	ci->filed_ms = 1000 + (uint64_t)k;
	ci->accepted_ms = 2000;
	ci->promised_due_ms = 3000;
	ci->legal_due_ms = 4000;
	ci->overdue = k == 2;
	ci->pending = ONESTOP__CASE_ACTION__CASE_ACTION_RESUBMIT;
	if (!full)
		return;
	s1.seq = 1;
	s1.at_ms = 1000;
	s1.actor = "town.hall";
	s1.action = ONESTOP__CASE_ACTION__CASE_ACTION_FILE;
	s2.seq = 2;
	s2.at_ms = 1500;
	s2.actor = "city.permits";
	s2.action = ONESTOP__CASE_ACTION__CASE_ACTION_NEED_MORE;
	s2.reason = "two missing";
	s2.n_missing = 2;
	s2.missing = missing;
	ci->n_history = 2;
	ci->history = steps;
	ref.dataset = "licences";
	ref.key = "LIC-9";
	ci->n_refs = 1;
	ci->refs = refs;
	ci->form.data = (uint8_t *)"name=x";
	ci->form.len = 6;
	up.name = "deed";
	up.data.data = (uint8_t *)"PDF";
	up.data.len = 3;
	ci->n_uploads = 1;
	ci->uploads = ups;
}

static void answer_get(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__CaseInfo ci;
	static Onestop__CaseGetResult res = ONESTOP__CASE_GET_RESULT__INIT;
	int k = req->case_get->case_id.len == ONESTOP_ID_LEN ? req->case_get->case_id.data[0] - 1
							     : 0;
	fill_info(&ci, k >= 0 && k < 3 ? k : 0, 1);
	res.info = &ci;
	rep->result_case = ONESTOP__API_REPLY__RESULT_CASE_GET;
	rep->case_get = &res;
}

static void test_get(void **state)
{
	onestop_t *c = *state;
	onestop_case_t *cs = NULL;

	fake_expect(answer_get, 0);
	assert_int_equal(onestop_case_get(c, case_ids[0], &cs), 0);
	assert_non_null(cs);
	assert_memory_equal(cs->id, case_ids[0], ONESTOP_ID_LEN);
	assert_string_equal(cs->item, "ITEM-1");
	assert_string_equal(cs->owner, "city.permits");
	assert_string_equal(cs->licence, "");
	assert_int_equal(cs->channel, ONESTOP_CHANNEL_MOBILE);
	assert_int_equal(cs->state, ONESTOP_CASE_MORE_NEEDED);
	assert_int_equal(cs->pending, ONESTOP_ACT_RESUBMIT);
	assert_int_equal(cs->promised_due_ms, 3000);
	assert_int_equal(cs->n_history, 2);
	assert_string_equal(cs->history[1].actor, "city.permits");
	assert_string_equal(cs->history[1].reason, "two missing");
	assert_int_equal(cs->history[1].n_missing, 2);
	assert_string_equal(cs->history[1].missing[1], "deed");
	assert_string_equal(cs->history[0].reason, "");
	assert_null(cs->history[0].missing);
	assert_int_equal(cs->n_refs, 1);
	assert_string_equal(cs->refs[0].key, "LIC-9");
	assert_string_equal(cs->refs[0].name, "");
	assert_int_equal(cs->form_len, 6);
	assert_memory_equal(cs->form, "name=x", 6);
	assert_int_equal(cs->n_uploads, 1);
	assert_string_equal(cs->uploads[0].name, "deed");
	assert_memory_equal(cs->uploads[0].data, "PDF", 3);
	onestop_case_free(&cs);
	assert_null(cs);

	/* A reply for another case is no answer. */
	uint8_t other[ONESTOP_ID_LEN] = {9};
	assert_int_equal(onestop_case_get(c, other, &cs), ONESTOP_EPROTO);
	assert_null(cs);
}

static void answer_list(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__CaseInfo ci[3];
	static Onestop__CaseInfo *cip[] = {&ci[0], &ci[1], &ci[2]};
	static Onestop__CaseListResult res = ONESTOP__CASE_LIST_RESULT__INIT;
	(void)req;
	for (int k = 0; k < 3; k++)
		fill_info(&ci[k], k, 0);
	res.n_cases = 3;
	res.cases = cip;
	res.next.data = case_ids[2];
	res.next.len = ONESTOP_ID_LEN;
	rep->result_case = ONESTOP__API_REPLY__RESULT_CASE_LIST;
	rep->case_list = &res;
}

/* The struct a newer program might pass: the published one and more. */
struct bigger_case {
	onestop_case_t cs;
	uint64_t later[3];
};

static void test_list(void **state)
{
	onestop_t *c = *state;
	onestop_case_t *cs = NULL;
	size_t n = 0;
	uint8_t next[ONESTOP_ID_LEN];
	int more = 0;

	fake_expect(answer_list, ONESTOP__API_REQUEST__OP_CASE_LIST);
	onestop_case_filter_t f = {.by_state = 1, .state = ONESTOP_CASE_MORE_NEEDED, .limit = 3};
	assert_int_equal(onestop_case_list(c, &f, &cs, &n, next, &more), 0);
	assert_int_equal(n, 3);
	assert_int_equal(more, 1);
	assert_memory_equal(next, case_ids[2], ONESTOP_ID_LEN);
	assert_string_equal(cs[1].item, "ITEM-2");
	assert_int_equal(cs[2].overdue, 1);
	assert_int_equal(cs[0].n_history, 0);
	assert_null(cs[0].history);
	Onestop__ApiRequest *r = fake_last();
	assert_true(r->case_list->by_state);
	assert_int_equal(r->case_list->state, ONESTOP__CASE_STATE__CASE_STATE_MORE_NEEDED);
	assert_int_equal(r->case_list->limit, 3);
	onestop__api_request__free_unpacked(r, NULL);
	onestop_cases_free(&cs, n);
	assert_null(cs);

	/* The next page, with the cursor where the last call left it. */
	f.after_id = next;
	assert_int_equal(onestop_case_list(c, &f, &cs, &n, next, &more), 0);
	r = fake_last();
	assert_int_equal(r->case_list->after_id.len, ONESTOP_ID_LEN);
	assert_memory_equal(r->case_list->after_id.data, case_ids[2], ONESTOP_ID_LEN);
	onestop__api_request__free_unpacked(r, NULL);
	onestop_cases_free(&cs, n);
	f.after_id = NULL;

	/* At a larger caller's stride. */
	assert_int_equal(onestop_case_list_sized(c, &f, &cs, &n, next, &more, sizeof(f),
						 sizeof(struct bigger_case)),
			 0);
	const struct bigger_case *big = (const struct bigger_case *)(void *)cs;
	assert_int_equal(n, 3);
	assert_string_equal(big[2].cs.item, "ITEM-1");
	assert_int_equal(big[2].cs.filed_ms, 1002);
	assert_int_equal(big[1].later[0], 0);
	onestop_cases_free(&cs, n);

	/* More cases than the limit asked for. */
	f.limit = 2;
	assert_int_equal(onestop_case_list(c, &f, &cs, &n, next, &more), ONESTOP_EPROTO);
	assert_null(cs);
	assert_int_equal(n, 0);
}

/* ------------------------------------------------------------ licence verify */

static uint8_t lic_value[256];
static size_t lic_len;

static void answer_verify(const Onestop__ApiRequest *req, Onestop__ApiReply *rep)
{
	static Onestop__LicenceValue lv = ONESTOP__LICENCE_VALUE__INIT;
	static Onestop__LicenceVerifyResult res = ONESTOP__LICENCE_VERIFY_RESULT__INIT;
	static Onestop__Entry e = ONESTOP__ENTRY__INIT;
	static Onestop__GetResult gr = ONESTOP__GET_RESULT__INIT;

	if (req->op_case == ONESTOP__API_REQUEST__OP_GET) {
		e.key = req->get->key;
		e.publisher = "city.permits";
		e.value.data = lic_value;
		e.value.len = lic_len;
		gr.entry = &e;
		rep->result_case = ONESTOP__API_REPLY__RESULT_GET;
		rep->get = &gr;
		return;
	}
	if (strcmp(req->licence_verify->number, "LIC-late") == 0 &&
	    fake_ops_locked(ONESTOP__API_REQUEST__OP_GET) == 0) {
		/* Not held until a Get has filled it. */
		rep->code = ONESTOP_ENOTFOUND;
		rep->message = "no licence LIC-late";
		return;
	}
	if (strcmp(req->licence_verify->holder, "subj-2") == 0) {
		rep->code = ONESTOP_ESUBJECT;
		rep->message = "held by another subject";
		return;
	}
	lv.number = req->licence_verify->number;
	lv.item = "ITEM-1";
	lv.holder = "subj-1";
	lv.issuer = "city.permits";
	lv.status = ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE;
	res.licence = &lv;
	res.publisher = "city.permits";
	rep->result_case = ONESTOP__API_REPLY__RESULT_LICENCE_VERIFY;
	rep->licence_verify = &res;
}

static void test_licence_verify(void **state)
{
	onestop_t *c = *state;
	onestop_licence_t l;
	uint8_t *buf = NULL;
	size_t len = 0;

	memset(&l, 0, sizeof(l));
	strcpy(l.number, "LIC-1");
	strcpy(l.holder, "subj-1");
	strcpy(l.issuer, "city.permits");
	assert_int_equal(onestop_licence_encode(&l, &buf, &len), 0);
	assert_true(len <= sizeof(lic_value));
	memcpy(lic_value, buf, len);
	lic_len = len;
	free(buf);

	fake_expect(answer_verify, 0);
	assert_int_equal(onestop_licence_verify(c, "LIC-1", "subj-1", &l), 0);
	assert_string_equal(l.number, "LIC-1");
	assert_string_equal(l.publisher, "city.permits");
	assert_int_equal(l.revoked, 0);
	/* a licence the spoke holds: the verify alone */
	assert_int_equal(fake_requests(), 1);
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_LICENCE_VERIFY), 1);

	/* A refusal still gives the licence, and the spoke's reason. */
	fake_expect(answer_verify, 0);
	assert_int_equal(onestop_licence_verify(c, "LIC-1", "subj-2", &l), ONESTOP_ESUBJECT);
	assert_string_equal(onestop_last_error(c), "held by another subject");
	assert_string_equal(l.holder, "subj-1");
	assert_string_equal(l.publisher, "city.permits");
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_GET), 1);

	/* A licence the spoke does not hold yet is filled by a Get, then
	 * verified again. */
	fake_expect(answer_verify, 0);
	assert_int_equal(onestop_licence_verify(c, "LIC-late", NULL, &l), 0);
	assert_string_equal(l.number, "LIC-late");
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_GET), 1);
	assert_int_equal(fake_ops(ONESTOP__API_REQUEST__OP_LICENCE_VERIFY), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_licence_codec),
		cmocka_unit_test_setup_teardown(test_refused_locally, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_file, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_act, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_get, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_list, fake_setup, fake_teardown),
		cmocka_unit_test_setup_teardown(test_licence_verify, fake_setup, fake_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
