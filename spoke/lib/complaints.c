/* libonestop's complaint calls (onestop.h "complaints"): file a complaint
 * or a consultation, make its steps, read and list the complaints the
 * local spoke is party to; the names of the complaint enums. */
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "complaint.h"
#include "conn.h"
#include "dataset.h"
#include "onestop.h"
#include "sized.h"
#include "util.h"

#define CP_TEXT_MAX 4000u              /* a complaint's text, an answer */
#define CP_KEY_MAX 128u                /* idempotency key, as for a case */
#define CP_ABOUT_MAX (DS_KEY_MAX + 8u) /* "item:" and a key */
#define CP_REASON_MAX (64u << 10)      /* a reason in a reply */
#define CP_HANDLER_ROOM 64u            /* onestop_complaint_file's handler */
#define CP_DEFAULT_LIMIT 100u

#define SIZED_CP_FILING_V1 SIZED_V1(onestop_complaint_filing_t, key_len)
#define SIZED_CP_V1 SIZED_V1(onestop_complaint_t, text_len)
#define SIZED_CP_FILTER_V1 SIZED_V1(onestop_complaint_filter_t, limit)

_Static_assert(ONESTOP_COMPLAINT == (int)COMPLAINT_KIND_COMPLAINT &&
		       ONESTOP_CONSULTATION == (int)COMPLAINT_KIND_CONSULTATION &&
		       ONESTOP_CONSULTATION ==
			       (int)ONESTOP__COMPLAINT_KIND__COMPLAINT_KIND_CONSULTATION &&
		       ONESTOP_CP_RECEIVED == (int)COMPLAINT_RECEIVED &&
		       ONESTOP_CP_CLOSED == (int)COMPLAINT_CLOSED &&
		       ONESTOP_CP_REOPENED == (int)COMPLAINT_REOPENED &&
		       ONESTOP_CP_REOPENED ==
			       (int)ONESTOP__COMPLAINT_STATE__COMPLAINT_STATE_REOPENED &&
		       ONESTOP_CP_FILE == (int)COMPLAINT_ACT_FILE &&
		       ONESTOP_CP_ASSIGN == (int)COMPLAINT_ACT_ASSIGN &&
		       ONESTOP_CP_REOPEN == (int)COMPLAINT_ACT_REOPEN &&
		       ONESTOP_CP_REOPEN == (int)ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_REOPEN,
	       "onestop.h complaint constants must match common/complaint.h and the proto");

/* ------------------------------------------------------------ names */

const char *onestop_complaint_state_name(int state)
{
	/* "new" is a record before its filing: no state of the API. */
	if (state < ONESTOP_CP_RECEIVED)
		return "unknown";
	return complaint_state_name((enum complaint_state)state);
}

const char *onestop_complaint_action_name(int action)
{
	return complaint_action_name((enum complaint_action)action);
}

const char *onestop_complaint_kind_name(int kind)
{
	return complaint_kind_name((enum complaint_kind)kind);
}

int onestop_complaint_action_parse(const char *name, int *out)
{
	enum complaint_action a;
	if (out == NULL || complaint_action_parse(name, &a) != 0)
		return ONESTOP_EINVAL;
	*out = (int)a;
	return 0;
}

int onestop_complaint_state_parse(const char *name, int *out)
{
	enum complaint_state s;
	if (out == NULL || complaint_state_parse(name, &s) != 0 || s == COMPLAINT_NEW)
		return ONESTOP_EINVAL;
	*out = (int)s;
	return 0;
}

/* ------------------------------------------------------------ file */

/* The local checks of a filing; 0, ONESTOP_EINVAL or ONESTOP_ETOOBIG with
 * the reason in c. */
static int cp_file_check(struct onestop *c, const onestop_complaint_filing_t *f)
{
	struct complaint_about about;

	if (f->kind != ONESTOP_COMPLAINT && f->kind != ONESTOP_CONSULTATION) {
		conn_seterr(c, "kind %d is neither a complaint nor a consultation", f->kind);
		return ONESTOP_EINVAL;
	}
	if (f->about == NULL || strnlen(f->about, CP_ABOUT_MAX + 1) > CP_ABOUT_MAX ||
	    complaint_about_parse(f->about, &about) != 0) {
		conn_seterr(c, "about is case:<32 hex>, item:<code> or node:<name>, not '%.64s'",
			    f->about ? f->about : "");
		return ONESTOP_EINVAL;
	}
	if (f->kind == ONESTOP_CONSULTATION && about.kind != COMPLAINT_ABOUT_ITEM) {
		conn_seterr(c, "a consultation is about an item (item:<code>)");
		return ONESTOP_EINVAL;
	}
	if (f->text == NULL || f->text_len == 0 || f->text_len > CP_TEXT_MAX) {
		conn_seterr(c, "the text is 1..%u bytes, not %zu", CP_TEXT_MAX,
			    f->text ? f->text_len : 0);
		return ONESTOP_EINVAL;
	}
	if (f->assertion == NULL && f->assertion_len > 0) {
		conn_seterr(c, "assertion_len is %zu but no assertion is given", f->assertion_len);
		return ONESTOP_EINVAL;
	}
	if (f->assertion_len == 0 && f->kind == ONESTOP_COMPLAINT) {
		conn_seterr(c, "a complaint carries the filer's assertion (only a consultation "
			       "may be anonymous)");
		return ONESTOP_EINVAL;
	}
	if (f->assertion_len > ASSERTION_MAX_BYTES) {
		conn_seterr(c, "an assertion of %zu bytes is larger than %d", f->assertion_len,
			    ASSERTION_MAX_BYTES);
		return ONESTOP_ETOOBIG;
	}
	if (f->channel < ONESTOP_CHANNEL_NONE || f->channel > ONESTOP_CHANNEL_HOTLINE) {
		conn_seterr(c, "channel %d is none of web, mobile, hall, hotline", f->channel);
		return ONESTOP_EINVAL;
	}
	if ((f->key == NULL && f->key_len > 0) || f->key_len > CP_KEY_MAX) {
		conn_seterr(c, "the idempotency key must be 0..%u bytes", CP_KEY_MAX);
		return ONESTOP_EINVAL;
	}
	return 0;
}

int onestop_complaint_file_sized(onestop_t *c, const onestop_complaint_filing_t *f_user,
				 uint8_t id[ONESTOP_ID_LEN], char *handler, size_t f_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_complaint_filing_t fv;
	const onestop_complaint_filing_t *f = &fv;
	int rc;

	if (id != NULL)
		memset(id, 0, ONESTOP_ID_LEN);
	if (handler != NULL)
		handler[0] = '\0';
	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (f_user == NULL || id == NULL) {
		conn_seterr(c, "a filing and room for its id are required");
		return ONESTOP_EINVAL;
	}
	if (sized_check(f_size, SIZED_CP_FILING_V1, _Alignof(onestop_complaint_filing_t)) != 0 ||
	    sized_in(&fv, sizeof(fv), f_user, f_size) != 0) {
		conn_seterr(c,
			    "onestop_complaint_filing_t of %zu bytes is not one this library "
			    "knows",
			    f_size);
		return ONESTOP_EINVAL;
	}
	if ((rc = cp_file_check(c, f)) != 0)
		return rc;
	/* protobuf-c's fields are not const; packing only reads them. */
	Onestop__ComplaintFileRequest fr = ONESTOP__COMPLAINT_FILE_REQUEST__INIT;
	fr.kind = (Onestop__ComplaintKind)f->kind;
	fr.about = (char *)f->about;
	fr.text.data = (uint8_t *)f->text;
	fr.text.len = f->text_len;
	fr.assertion.data = (uint8_t *)f->assertion;
	fr.assertion.len = f->assertion_len;
	fr.channel = (Onestop__CaseChannel)f->channel;
	fr.key.data = (uint8_t *)f->key;
	fr.key.len = f->key_len;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_FILE;
	req.complaint_file = &fr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		goto out;

	rc = ONESTOP_EPROTO;
	const Onestop__ComplaintFileResult *res = rep->complaint_file;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_COMPLAINT_FILE || res == NULL ||
	    res->complaint_id.len != ONESTOP_ID_LEN) {
		conn_seterr(c, "the spoke's reply to ComplaintFile carries no complaint id");
		goto out;
	}
	memcpy(id, res->complaint_id.data, ONESTOP_ID_LEN);
	/* The complaint is filed: a handler longer than the room given (the
	 * spoke's names are shorter) is left "", to be read with a get. */
	size_t hl = conn_strlen_max(res->handler, CP_HANDLER_ROOM - 1);
	if (handler != NULL && hl != SIZE_MAX) {
		memcpy(handler, res->handler, hl);
		handler[hl] = '\0';
	}
	rc = 0;
out:
	if (rep != NULL)
		onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* ------------------------------------------------------------ act */

/* The local checks of a step; 0 or ONESTOP_EINVAL with the reason in c. */
static int cp_act_check(struct onestop *c, int action, const char *assignee, const uint8_t *answer,
			size_t answer_len, const char *reason)
{
	if (action < ONESTOP_CP_ASSIGN || action > ONESTOP_CP_REOPEN) {
		conn_seterr(c, "action %d is none of assign, answer, close, reopen", action);
		return ONESTOP_EINVAL;
	}
	const char *name = onestop_complaint_action_name(action);
	if (action == ONESTOP_CP_ASSIGN) {
		if (assignee == NULL || os_name_valid(assignee) != 0) {
			conn_seterr(c, "assign names the node assigned, not '%.64s'",
				    assignee ? assignee : "");
			return ONESTOP_EINVAL;
		}
	} else if (assignee != NULL && assignee[0] != '\0') {
		conn_seterr(c, "%s takes no assignee (assign does)", name);
		return ONESTOP_EINVAL;
	}
	if (action == ONESTOP_CP_ANSWER) {
		if (answer == NULL || answer_len == 0 || answer_len > CP_TEXT_MAX) {
			conn_seterr(c, "an answer is 1..%u bytes, not %zu", CP_TEXT_MAX,
				    answer ? answer_len : 0);
			return ONESTOP_EINVAL;
		}
	} else if (answer_len > 0) {
		conn_seterr(c, "%s takes no answer (answer does)", name);
		return ONESTOP_EINVAL;
	}
	if (reason != NULL && strnlen(reason, CP_TEXT_MAX + 1) > CP_TEXT_MAX) {
		conn_seterr(c, "a reason is at most %u bytes", CP_TEXT_MAX);
		return ONESTOP_EINVAL;
	}
	return 0;
}

int onestop_complaint_act(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN], int action,
			  const char *assignee, const uint8_t *answer, size_t answer_len,
			  const char *reason, uint64_t *seq, int *pending)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (seq != NULL)
		*seq = 0;
	if (pending != NULL)
		*pending = 0;
	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (id == NULL) {
		conn_seterr(c, "which complaint? the id is NULL");
		return ONESTOP_EINVAL;
	}
	if ((rc = cp_act_check(c, action, assignee, answer, answer_len, reason)) != 0)
		return rc;
	Onestop__ComplaintActRequest ar = ONESTOP__COMPLAINT_ACT_REQUEST__INIT;
	ar.complaint_id.data = (uint8_t *)id;
	ar.complaint_id.len = ONESTOP_ID_LEN;
	ar.action = (Onestop__ComplaintAction)action;
	ar.assignee = (char *)(assignee ? assignee : "");
	ar.answer.data = (uint8_t *)answer;
	ar.answer.len = answer_len;
	ar.reason = (char *)(reason ? reason : "");
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_ACT;
	req.complaint_act = &ar;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		goto out;

	rc = ONESTOP_EPROTO;
	const Onestop__ComplaintActResult *res = rep->complaint_act;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_COMPLAINT_ACT || res == NULL) {
		conn_seterr(c, "the spoke's reply to ComplaintAct is not a ComplaintActResult");
		goto out;
	}
	if (seq != NULL)
		*seq = res->seq;
	if (pending != NULL)
		*pending = res->pending ? 1 : 0;
	rc = 0;
out:
	if (rep != NULL)
		onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* ------------------------------------------------------------ copies */

/* One block that a complaint (or an array of them) and everything it
 * points to is copied into, as in cases.c: measured first with base NULL
 * (nothing written), then filled. bad is set when a field is outside its
 * bound or the size overflows. */
struct cp_block {
	char *base;
	size_t used;
	int bad;
};

static void *cp_take(struct cp_block *b, size_t n, size_t align)
{
	size_t at = (b->used + align - 1) / align * align;
	if (at < b->used || at + n < at) {
		b->bad = 1;
		return NULL;
	}
	b->used = at + n;
	return b->base != NULL ? b->base + at : NULL;
}

static const char *cp_str(struct cp_block *b, const char *s, size_t max)
{
	size_t len = conn_strlen_max(s, max);
	if (len == SIZE_MAX) {
		b->bad = 1;
		return "";
	}
	char *dst = cp_take(b, len + 1, 1);
	if (dst == NULL)
		return "";
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	return dst;
}

static const uint8_t *cp_bytes(struct cp_block *b, const ProtobufCBinaryData *d, size_t max)
{
	if (d->len == 0)
		return NULL;
	if (d->len > max) {
		b->bad = 1;
		return NULL;
	}
	uint8_t *dst = cp_take(b, d->len, 1);
	if (dst != NULL)
		memcpy(dst, d->data, d->len);
	return dst;
}

/* Copy info into *cp, its strings and history into b. */
static void cp_copy_info(struct cp_block *b, const Onestop__ComplaintInfo *info,
			 onestop_complaint_t *cp)
{
	memset(cp, 0, sizeof(*cp));
	if (info == NULL || info->id.len != ONESTOP_ID_LEN ||
	    info->n_history > COMPLAINT_STEPS_MAX) {
		b->bad = 1;
		return;
	}
	memcpy(cp->id, info->id.data, ONESTOP_ID_LEN);
	cp->kind = (int)info->kind;
	cp->about = cp_str(b, info->about, CP_ABOUT_MAX);
	cp->filed_by = cp_str(b, info->filed_by, OS_NAME_MAX - 1);
	cp->handler = cp_str(b, info->handler, OS_NAME_MAX - 1);
	cp->region = cp_str(b, info->region, OS_NAME_MAX - 1);
	cp->assignee = cp_str(b, info->assignee, OS_NAME_MAX - 1);
	cp->state = (int)info->state;
	cp->seq = info->seq;
	cp->filed_ms = info->filed_ms;
	cp->due_ms = info->due_ms;
	cp->overdue = info->overdue ? 1 : 0;
	cp->pending = (int)info->pending;
	cp->reopened = info->reopened;
	cp->channel = (int)info->channel;
	cp->anonymous = info->anonymous ? 1 : 0;

	onestop_complaint_step_t *steps = NULL;
	if (info->n_history > 0)
		steps = cp_take(b, info->n_history * sizeof(*steps),
				_Alignof(onestop_complaint_step_t));
	for (size_t i = 0; i < info->n_history; i++) {
		const Onestop__ComplaintStep *h = info->history[i];
		onestop_complaint_step_t st;
		memset(&st, 0, sizeof(st));
		if (h == NULL) {
			b->bad = 1;
			return;
		}
		st.seq = h->seq;
		st.at_ms = h->at_ms;
		st.actor = cp_str(b, h->actor, OS_NAME_MAX - 1);
		st.action = (int)h->action;
		st.assignee = cp_str(b, h->assignee, OS_NAME_MAX - 1);
		st.reason = cp_str(b, h->reason, CP_REASON_MAX);
		st.answer = cp_bytes(b, &h->answer, CP_TEXT_MAX);
		st.answer_len = h->answer.len;
		if (steps != NULL)
			steps[i] = st;
	}
	cp->history = steps;
	cp->n_history = info->n_history;
	cp->text = cp_bytes(b, &info->text, CP_TEXT_MAX);
	cp->text_len = info->text.len;
}

/* Copy n complaints into one allocation: the array, size apart in the
 * caller's layout, then everything they point to, so that freeing them is
 * one free(). 0, ONESTOP_EPROTO (a malformed complaint) or ONESTOP_ENOMEM. */
static int cp_copy(struct onestop *c, Onestop__ComplaintInfo *const *infos, size_t n,
		   onestop_complaint_t **out, size_t size)
{
	struct cp_block b = {NULL, 0, 0};
	onestop_complaint_t cp;

	*out = NULL;
	if (n > SIZE_MAX / size) {
		conn_seterr(c, "the spoke sent too many complaints");
		return ONESTOP_EPROTO;
	}
	cp_take(&b, n * size, _Alignof(onestop_complaint_t));
	for (size_t i = 0; i < n && !b.bad; i++)
		cp_copy_info(&b, infos[i], &cp);
	if (b.bad) {
		conn_seterr(c, "the spoke sent a malformed complaint");
		return ONESTOP_EPROTO;
	}
	size_t total = b.used;
	b.base = malloc(total ? total : 1);
	if (b.base == NULL) {
		conn_seterr(c, "out of memory for %zu complaints", n);
		return ONESTOP_ENOMEM;
	}
	b.used = 0;
	cp_take(&b, n * size, _Alignof(onestop_complaint_t));
	for (size_t i = 0; i < n; i++) {
		cp_copy_info(&b, infos[i], &cp);
		sized_out(b.base + i * size, size, &cp, sizeof(cp));
	}
	*out = (onestop_complaint_t *)(void *)b.base;
	return 0;
}

static int cp_size_ok(struct onestop *c, size_t size)
{
	if (sized_check(size, SIZED_CP_V1, _Alignof(onestop_complaint_t)) == 0)
		return 0;
	conn_seterr(c, "onestop_complaint_t of %zu bytes is not one this library knows", size);
	return ONESTOP_EINVAL;
}

/* ------------------------------------------------------------ get and list */

int onestop_complaint_get_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN],
				onestop_complaint_t **out, size_t size)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || out == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (cp_size_ok(c, size) != 0)
		return ONESTOP_EINVAL;
	if (id == NULL) {
		conn_seterr(c, "which complaint? the id is NULL");
		return ONESTOP_EINVAL;
	}
	Onestop__ComplaintGetRequest gr = ONESTOP__COMPLAINT_GET_REQUEST__INIT;
	gr.complaint_id.data = (uint8_t *)id;
	gr.complaint_id.len = ONESTOP_ID_LEN;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_GET;
	req.complaint_get = &gr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__ComplaintGetResult *res = rep->complaint_get;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_COMPLAINT_GET || res == NULL ||
	    res->info == NULL) {
		conn_seterr(c, "the spoke's reply to ComplaintGet carries no complaint");
		goto out;
	}
	if (res->info->id.len != ONESTOP_ID_LEN ||
	    memcmp(res->info->id.data, id, ONESTOP_ID_LEN) != 0) {
		conn_seterr(c, "the spoke's reply to ComplaintGet is for another complaint");
		goto out;
	}
	rc = cp_copy(c, &res->info, 1, out, size);
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

void onestop_complaint_free(onestop_complaint_t **cp)
{
	if (cp == NULL)
		return;
	free(*cp);
	*cp = NULL;
}

int onestop_complaint_list_sized(onestop_t *c, const onestop_complaint_filter_t *f_user,
				 onestop_complaint_t **out, size_t *n, uint8_t next[ONESTOP_ID_LEN],
				 int *more, size_t filter_size, size_t size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_complaint_filter_t fv;
	const onestop_complaint_filter_t *f = &fv;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (n != NULL)
		*n = 0;
	if (more != NULL)
		*more = 0;
	/* The cursor is read before next is cleared: a caller pages with
	 * after_id pointing at its next. */
	uint8_t after[ONESTOP_ID_LEN] = {0};
	if (f_user != NULL &&
	    filter_size >=
		    offsetof(onestop_complaint_filter_t, after_id) + sizeof(f_user->after_id) &&
	    f_user->after_id != NULL)
		memcpy(after, f_user->after_id, ONESTOP_ID_LEN);
	if (next != NULL)
		memset(next, 0, ONESTOP_ID_LEN);
	if (c == NULL || out == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (cp_size_ok(c, size) != 0)
		return ONESTOP_EINVAL;
	if (f_user == NULL) {
		conn_seterr(c, "list complaints: no filter given (all zero lists every one)");
		return ONESTOP_EINVAL;
	}
	if (sized_check(filter_size, SIZED_CP_FILTER_V1, _Alignof(onestop_complaint_filter_t)) !=
		    0 ||
	    sized_in(&fv, sizeof(fv), f_user, filter_size) != 0) {
		conn_seterr(c,
			    "the filter is an onestop_complaint_filter_t of %zu bytes this "
			    "library does not know",
			    filter_size);
		return ONESTOP_EINVAL;
	}
	if (f->by_state && f->overdue) {
		conn_seterr(c, "list complaints by state or overdue, not both");
		return ONESTOP_EINVAL;
	}
	if (f->by_state && (f->state < ONESTOP_CP_RECEIVED || f->state > ONESTOP_CP_REOPENED)) {
		conn_seterr(c, "state %d is no complaint state", f->state);
		return ONESTOP_EINVAL;
	}
	if (f->limit > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "a limit of %u is over %d", f->limit, ONESTOP_MAX_BATCH);
		return ONESTOP_EINVAL;
	}
	unsigned limit = f->limit ? f->limit : CP_DEFAULT_LIMIT;
	Onestop__ComplaintListRequest lr = ONESTOP__COMPLAINT_LIST_REQUEST__INIT;
	lr.by_state = f->by_state != 0;
	lr.state = (Onestop__ComplaintState)(f->by_state ? f->state : 0);
	lr.overdue = f->overdue != 0;
	if (f->after_id != NULL) {
		lr.after_id.data = after;
		lr.after_id.len = ONESTOP_ID_LEN;
	}
	lr.limit = limit;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_LIST;
	req.complaint_list = &lr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__ComplaintListResult *res = rep->complaint_list;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_COMPLAINT_LIST || res == NULL) {
		conn_seterr(c, "the spoke's reply to ComplaintList carries no list");
		goto out;
	}
	if (res->n_complaints > limit) {
		conn_seterr(c, "the spoke sent %zu complaints, more than the %u asked for",
			    res->n_complaints, limit);
		goto out;
	}
	if (res->next.len != 0 && res->next.len != ONESTOP_ID_LEN) {
		conn_seterr(c, "the spoke's next is a %zu-byte id", res->next.len);
		goto out;
	}
	if (res->n_complaints > 0 &&
	    (rc = cp_copy(c, res->complaints, res->n_complaints, out, size)) != 0)
		goto out;
	*n = res->n_complaints;
	if (res->next.len == ONESTOP_ID_LEN) {
		if (more != NULL)
			*more = 1;
		if (next != NULL)
			memcpy(next, res->next.data, ONESTOP_ID_LEN);
	}
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

void onestop_complaints_free(onestop_complaint_t **cps, size_t n)
{
	(void)n;
	if (cps == NULL)
		return;
	free(*cps);
	*cps = NULL;
}
