/* libonestop's case calls (onestop.h "cases"): file a case, make its
 * transitions, read and list cases and verify e-licences at the local
 * spoke; the names of the case enums, and the LicenceValue codec. */
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "case.h"
#include "conn.h"
#include "dataset.h"
#include "filing.h"
#include "onestop.h"
#include "sized.h"
#include "util.h"

#define CASES_KEY_MAX 128u         /* idempotency key, as for Send */
#define CASES_TEXT_MAX (64u << 10) /* a reason in a reply */
#define CASES_WORD_MAX 1024u       /* a material name in a reply */
#define CASES_DEFAULT_LIMIT 100u

_Static_assert(ONESTOP_CASE_NEW == (int)CASE_NEW && ONESTOP_CASE_WITHDRAWN == (int)CASE_WITHDRAWN &&
		       ONESTOP_CASE_WITHDRAWN == (int)ONESTOP__CASE_STATE__CASE_STATE_WITHDRAWN &&
		       ONESTOP_ACT_FILE == (int)CASE_ACT_FILE &&
		       ONESTOP_ACT_WITHDRAW == (int)CASE_ACT_WITHDRAW &&
		       ONESTOP_ACT_WITHDRAW == (int)ONESTOP__CASE_ACTION__CASE_ACTION_WITHDRAW &&
		       ONESTOP_APPROVED == (int)CASE_APPROVED &&
		       ONESTOP_DENIED == (int)CASE_DENIED &&
		       ONESTOP_DENIED == (int)ONESTOP__CASE_OUTCOME__CASE_OUTCOME_DENIED &&
		       ONESTOP_CHANNEL_HOTLINE == (int)ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HOTLINE,
	       "onestop.h case constants must match common/case.h and proto/onestop.proto");

/* ------------------------------------------------------------ names */

static const char *const cases_channel_names[] = {"none", "web", "mobile", "hall", "hotline"};
#define CASES_CHANNELS (sizeof(cases_channel_names) / sizeof(cases_channel_names[0]))

const char *onestop_case_state_name(int state)
{
	return case_state_name((enum case_state)state);
}

const char *onestop_case_action_name(int action)
{
	return case_action_name((enum case_action)action);
}

const char *onestop_case_outcome_name(int outcome)
{
	return case_outcome_name((enum case_outcome)outcome);
}

const char *onestop_channel_name(int channel)
{
	if (channel < 0 || (size_t)channel >= CASES_CHANNELS)
		return "unknown";
	return cases_channel_names[channel];
}

int onestop_case_state_parse(const char *name, int *out)
{
	enum case_state s;
	if (out == NULL || case_state_parse(name, &s) != 0)
		return ONESTOP_EINVAL;
	*out = (int)s;
	return 0;
}

int onestop_case_action_parse(const char *name, int *out)
{
	enum case_action a;
	if (out == NULL || case_action_parse(name, &a) != 0)
		return ONESTOP_EINVAL;
	*out = (int)a;
	return 0;
}

int onestop_channel_parse(const char *name, int *out)
{
	if (name == NULL || out == NULL)
		return ONESTOP_EINVAL;
	for (size_t i = 0; i < CASES_CHANNELS; i++) {
		if (strcmp(name, cases_channel_names[i]) == 0) {
			*out = (int)i;
			return 0;
		}
	}
	return ONESTOP_EINVAL;
}

/* ------------------------------------------------------------ requests */

/* The references and uploads of a request, in protobuf-c's form; the
 * strings and bytes stay the caller's. */
struct cases_given {
	Onestop__SharedDataRef *refs;
	Onestop__SharedDataRef **ref_ptrs;
	Onestop__CaseUpload *ups;
	Onestop__CaseUpload **up_ptrs;
};

static void cases_given_clear(struct cases_given *g)
{
	free(g->refs);
	free(g->ref_ptrs);
	free(g->ups);
	free(g->up_ptrs);
	memset(g, 0, sizeof(*g));
}

/* Check and convert n_refs references and n_ups uploads; 0,
 * ONESTOP_EINVAL (with the reason in c) or ONESTOP_ENOMEM. */
static int cases_given_make(struct onestop *c, const onestop_case_ref_t *refs, size_t n_refs,
			    const onestop_case_upload_t *ups, size_t n_ups, struct cases_given *g)
{
	memset(g, 0, sizeof(*g));
	if ((n_refs > 0 && refs == NULL) || (n_ups > 0 && ups == NULL)) {
		conn_seterr(c, "references or uploads counted but not given");
		return ONESTOP_EINVAL;
	}
	if (n_refs > FILING_GIVEN_MAX || n_ups > FILING_GIVEN_MAX - n_refs) {
		conn_seterr(c, "at most %u materials may be given at once, not %zu",
			    FILING_GIVEN_MAX, n_refs + n_ups);
		return ONESTOP_EINVAL;
	}
	for (size_t i = 0; i < n_refs; i++) {
		if (refs[i].dataset == NULL || refs[i].dataset[0] == '\0' || refs[i].key == NULL ||
		    refs[i].key[0] == '\0') {
			conn_seterr(c, "reference %zu lacks a dataset or a key", i + 1);
			return ONESTOP_EINVAL;
		}
	}
	for (size_t i = 0; i < n_ups; i++) {
		if (ups[i].name == NULL || ups[i].name[0] == '\0' ||
		    (ups[i].data == NULL && ups[i].len > 0)) {
			conn_seterr(c, "upload %zu lacks a material name or its bytes", i + 1);
			return ONESTOP_EINVAL;
		}
	}
	if ((n_refs > 0 && ((g->refs = calloc(n_refs, sizeof(*g->refs))) == NULL ||
			    (g->ref_ptrs = calloc(n_refs, sizeof(*g->ref_ptrs))) == NULL)) ||
	    (n_ups > 0 && ((g->ups = calloc(n_ups, sizeof(*g->ups))) == NULL ||
			   (g->up_ptrs = calloc(n_ups, sizeof(*g->up_ptrs))) == NULL))) {
		cases_given_clear(g);
		conn_seterr(c, "out of memory");
		return ONESTOP_ENOMEM;
	}
	/* protobuf-c's fields are not const; packing only reads them. */
	for (size_t i = 0; i < n_refs; i++) {
		onestop__shared_data_ref__init(&g->refs[i]);
		g->refs[i].dataset = (char *)refs[i].dataset;
		g->refs[i].key = (char *)refs[i].key;
		g->refs[i].name = (char *)(refs[i].name ? refs[i].name : "");
		g->ref_ptrs[i] = &g->refs[i];
	}
	for (size_t i = 0; i < n_ups; i++) {
		onestop__case_upload__init(&g->ups[i]);
		g->ups[i].name = (char *)ups[i].name;
		g->ups[i].data.data = (uint8_t *)ups[i].data;
		g->ups[i].data.len = ups[i].len;
		g->up_ptrs[i] = &g->ups[i];
	}
	return 0;
}

/* Look each reference up at the spoke, so that a cached-mode miss is
 * filled through the hub. A failure says nothing the call that follows
 * will not say more precisely: it is ignored, and c's last error
 * cleared. */
static void cases_look_up_refs(struct onestop *c, const onestop_case_ref_t *refs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		onestop_entry_t *e = NULL;
		if (onestop_get(c, refs[i].dataset, refs[i].key, 0, &e) == 0)
			onestop_entry_free(&e);
	}
	c->err[0] = '\0';
}

int onestop_case_file_sized(onestop_t *c, const onestop_case_filing_t *f_user,
			    uint8_t id[ONESTOP_ID_LEN], size_t f_size)
{
	Onestop__ApiReply *rep = NULL;
	struct cases_given g;
	onestop_case_filing_t fv;
	const onestop_case_filing_t *f = &fv;
	int rc;

	memset(&g, 0, sizeof(g));
	if (id != NULL)
		memset(id, 0, ONESTOP_ID_LEN);
	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (f_user == NULL || id == NULL) {
		conn_seterr(c, "a filing and room for its id are required");
		return ONESTOP_EINVAL;
	}
	if (sized_check(f_size, SIZED_CASE_FILING_V1, _Alignof(onestop_case_filing_t)) != 0 ||
	    sized_in(&fv, sizeof(fv), f_user, f_size) != 0) {
		conn_seterr(c, "onestop_case_filing_t of %zu bytes is not one this library knows",
			    f_size);
		return ONESTOP_EINVAL;
	}
	if (f->item == NULL || f->item[0] == '\0') {
		conn_seterr(c, "a filing names its item");
		return ONESTOP_EINVAL;
	}
	if (f->assertion == NULL || f->assertion_len == 0) {
		conn_seterr(c, "a filing carries the applicant's assertion");
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
	if (f->form == NULL && f->form_len > 0) {
		conn_seterr(c, "form_len is %zu but no form is given", f->form_len);
		return ONESTOP_EINVAL;
	}
	if ((f->key == NULL && f->key_len > 0) || f->key_len > CASES_KEY_MAX) {
		conn_seterr(c, "the idempotency key must be 0..%u bytes", CASES_KEY_MAX);
		return ONESTOP_EINVAL;
	}
	if ((rc = cases_given_make(c, f->refs, f->n_refs, f->uploads, f->n_uploads, &g)) != 0)
		return rc;
	/* A reference to a cached-mode dataset (a licence) resolves at the
	 * spoke only once its entry is there: have it filled through the hub
	 * first. */
	cases_look_up_refs(c, f->refs, f->n_refs);
	Onestop__CaseFileRequest fr = ONESTOP__CASE_FILE_REQUEST__INIT;
	fr.item = (char *)f->item;
	fr.assertion.data = (uint8_t *)f->assertion;
	fr.assertion.len = f->assertion_len;
	fr.channel = (Onestop__CaseChannel)f->channel;
	fr.form.data = (uint8_t *)f->form;
	fr.form.len = f->form_len;
	fr.n_refs = f->n_refs;
	fr.refs = g.ref_ptrs;
	fr.n_uploads = f->n_uploads;
	fr.uploads = g.up_ptrs;
	fr.key.data = (uint8_t *)f->key;
	fr.key.len = f->key_len;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_CASE_FILE;
	req.case_file = &fr;
	/* The filing checks may fill a subject or a licence through the hub,
	 * within the spoke's fetch_timeout_ms, which the request timeout
	 * covers. */
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		goto out;

	rc = ONESTOP_EPROTO;
	const Onestop__CaseFileResult *res = rep->case_file;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_CASE_FILE || res == NULL ||
	    res->case_id.len != ONESTOP_ID_LEN) {
		conn_seterr(c, "the spoke's reply to CaseFile carries no case id");
		goto out;
	}
	memcpy(id, res->case_id.data, ONESTOP_ID_LEN);
	rc = 0;
out:
	if (rep != NULL)
		onestop__api_reply__free_unpacked(rep, NULL);
	cases_given_clear(&g);
	return rc;
}

/* The local checks of a transition; 0 or ONESTOP_EINVAL with the reason
 * in c. */
static int cases_act_check(struct onestop *c, const onestop_case_act_t *a)
{
	if (a->action < ONESTOP_ACT_ACCEPT || a->action > ONESTOP_ACT_WITHDRAW) {
		conn_seterr(c,
			    "action %d is none of accept, reject, need_more, resubmit, "
			    "decide, close, withdraw",
			    a->action);
		return ONESTOP_EINVAL;
	}
	const char *name = onestop_case_action_name(a->action);
	if (a->action == ONESTOP_ACT_DECIDE
		    ? a->outcome != ONESTOP_APPROVED && a->outcome != ONESTOP_DENIED
		    : a->outcome != ONESTOP_OUTCOME_NONE) {
		conn_seterr(c, "%s",
			    a->action == ONESTOP_ACT_DECIDE
				    ? "decide takes the outcome approved or denied"
				    : "only decide takes an outcome");
		return ONESTOP_EINVAL;
	}
	if (a->action == ONESTOP_ACT_NEED_MORE) {
		if (a->n_missing == 0 || a->missing == NULL) {
			conn_seterr(c, "need_more names the missing materials");
			return ONESTOP_EINVAL;
		}
		for (size_t i = 0; i < a->n_missing; i++) {
			if (a->missing[i] == NULL || a->missing[i][0] == '\0') {
				conn_seterr(c, "missing material %zu has no name", i + 1);
				return ONESTOP_EINVAL;
			}
		}
	} else if (a->n_missing > 0) {
		conn_seterr(c, "%s takes no missing materials (need_more does)", name);
		return ONESTOP_EINVAL;
	}
	if (a->action != ONESTOP_ACT_RESUBMIT && (a->n_refs > 0 || a->n_uploads > 0)) {
		conn_seterr(c, "%s takes no materials (resubmit does)", name);
		return ONESTOP_EINVAL;
	}
	if (a->action == ONESTOP_ACT_RESUBMIT && a->n_refs == 0 && a->n_uploads == 0) {
		conn_seterr(c, "resubmit gives at least one material");
		return ONESTOP_EINVAL;
	}
	if (a->licence_days > 0 &&
	    (a->action != ONESTOP_ACT_DECIDE || a->outcome != ONESTOP_APPROVED)) {
		conn_seterr(c, "licence_days goes with decide approved only");
		return ONESTOP_EINVAL;
	}
	return 0;
}

/* Fill the licences case id refers to into the spoke's cache (a Get of
 * each). 1 when it asked for any, 0 when there were none or the case
 * could not be read. c's last error is kept. */
static int cases_fill_refs(struct onestop *c, const uint8_t id[ONESTOP_ID_LEN])
{
	char err[sizeof(c->err)];
	onestop_case_t *cs = NULL;
	int asked = 0;

	memcpy(err, c->err, sizeof(err));
	if (onestop_case_get(c, id, &cs) == 0) {
		for (size_t i = 0; i < cs->n_refs; i++) {
			if (strcmp(cs->refs[i].dataset, ONESTOP_DS_LICENCES) != 0)
				continue;
			asked = 1;
			cases_look_up_refs(c, &cs->refs[i], 1);
		}
		onestop_case_free(&cs);
	}
	memcpy(c->err, err, sizeof(err));
	return asked;
}

int onestop_case_act_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN],
			   const onestop_case_act_t *a_user, onestop_case_acted_t *out,
			   size_t a_size, size_t out_size)
{
	Onestop__ApiReply *rep = NULL;
	struct cases_given g;
	onestop_case_act_t av;
	const onestop_case_act_t *a = &av;
	onestop_case_acted_t done;
	int rc;

	memset(&g, 0, sizeof(g));
	if (out != NULL &&
	    sized_check(out_size, SIZED_CASE_ACTED_V1, _Alignof(onestop_case_acted_t)) != 0)
		return ONESTOP_EINVAL;
	if (out != NULL)
		memset(out, 0, out_size);
	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (id == NULL || a_user == NULL) {
		conn_seterr(c, "a transition needs a case id and an action");
		return ONESTOP_EINVAL;
	}
	if (sized_check(a_size, SIZED_CASE_ACT_V1, _Alignof(onestop_case_act_t)) != 0 ||
	    sized_in(&av, sizeof(av), a_user, a_size) != 0) {
		conn_seterr(c, "onestop_case_act_t of %zu bytes is not one this library knows",
			    a_size);
		return ONESTOP_EINVAL;
	}
	if ((rc = cases_act_check(c, a)) != 0)
		return rc;
	if ((rc = cases_given_make(c, a->refs, a->n_refs, a->uploads, a->n_uploads, &g)) != 0)
		return rc;
	/* A resubmission's references, filled first as a filing's. */
	cases_look_up_refs(c, a->refs, a->n_refs);
	Onestop__CaseActRequest ar = ONESTOP__CASE_ACT_REQUEST__INIT;
	ar.case_id.data = (uint8_t *)id;
	ar.case_id.len = ONESTOP_ID_LEN;
	ar.action = (Onestop__CaseAction)a->action;
	ar.reason = (char *)(a->reason ? a->reason : "");
	ar.n_missing = a->n_missing;
	ar.missing = (char **)a->missing;
	ar.outcome = (Onestop__CaseOutcome)a->outcome;
	ar.n_refs = a->n_refs;
	ar.refs = g.ref_ptrs;
	ar.n_uploads = a->n_uploads;
	ar.uploads = g.up_ptrs;
	ar.licence_days = a->licence_days;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_CASE_ACT;
	req.case_act = &ar;
	rc = conn_call(c, &req, 0, &rep);
	/* The owner verifies the case's licences when it accepts, from its
	 * copy of a cached-mode dataset: a licence it does not hold yet is
	 * refused as not found. Have them filled through the hub, then ask
	 * once more. */
	if (rc == ONESTOP_ENOTFOUND && a->action == ONESTOP_ACT_ACCEPT && cases_fill_refs(c, id)) {
		if (rep != NULL)
			onestop__api_reply__free_unpacked(rep, NULL);
		rep = NULL;
		rc = conn_call(c, &req, 0, &rep);
	}
	if (rc != 0)
		goto out;

	rc = ONESTOP_EPROTO;
	const Onestop__CaseActResult *res = rep->case_act;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_CASE_ACT || res == NULL) {
		conn_seterr(c, "the spoke's reply to CaseAct is not a CaseActResult");
		goto out;
	}
	memset(&done, 0, sizeof(done));
	size_t ll = conn_strlen_max(res->licence, sizeof(done.licence) - 1);
	if (ll == SIZE_MAX) {
		conn_seterr(c, "the spoke's reply to CaseAct names a licence longer than a key");
		goto out;
	}
	done.seq = res->seq;
	done.pending = res->pending ? 1 : 0;
	if (ll > 0)
		memcpy(done.licence, res->licence, ll);
	if (out != NULL)
		sized_out(out, out_size, &done, sizeof(done));
	rc = 0;
out:
	if (rep != NULL)
		onestop__api_reply__free_unpacked(rep, NULL);
	cases_given_clear(&g);
	return rc;
}

/* ------------------------------------------------------------ case copies */

/* One block that a case (or an array of them) and everything it points to
 * is copied into. It is used twice: first with base NULL to measure
 * (nothing is written, the pointers handed out are NULL or ""), then with
 * base the block of the size measured. bad is set when a field is outside
 * its bound or the size overflows. */
struct cases_block {
	char *base;
	size_t used;
	int bad;
};

static void *cases_take(struct cases_block *b, size_t n, size_t align)
{
	size_t at = (b->used + align - 1) / align * align;
	if (at < b->used || at + n < at) {
		b->bad = 1;
		return NULL;
	}
	b->used = at + n;
	return b->base != NULL ? b->base + at : NULL;
}

/* n elements of size sz each, aligned as align; NULL when n is 0. */
static void *cases_array(struct cases_block *b, size_t n, size_t sz, size_t align)
{
	if (n == 0)
		return NULL;
	if (n > SIZE_MAX / sz) {
		b->bad = 1;
		return NULL;
	}
	return cases_take(b, n * sz, align);
}

static const char *cases_str(struct cases_block *b, const char *s, size_t max)
{
	size_t len = conn_strlen_max(s, max);
	if (len == SIZE_MAX) {
		b->bad = 1;
		return "";
	}
	char *dst = cases_take(b, len + 1, 1);
	if (dst == NULL)
		return "";
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	return dst;
}

static const uint8_t *cases_bytes(struct cases_block *b, const ProtobufCBinaryData *d)
{
	if (d->len == 0)
		return NULL;
	uint8_t *dst = cases_take(b, d->len, 1);
	if (dst != NULL)
		memcpy(dst, d->data, d->len);
	return dst;
}

#define CASES_ARRAY(b, n, type) ((type *)cases_array((b), (n), sizeof(type), _Alignof(type)))

/* Copy info into *cs, its strings and arrays into b. */
static void cases_copy_info(struct cases_block *b, const Onestop__CaseInfo *info,
			    onestop_case_t *cs)
{
	memset(cs, 0, sizeof(*cs));
	if (info == NULL || info->id.len != ONESTOP_ID_LEN) {
		b->bad = 1;
		return;
	}
	memcpy(cs->id, info->id.data, ONESTOP_ID_LEN);
	cs->item = cases_str(b, info->item, DS_KEY_MAX);
	cs->applicant = cases_str(b, info->applicant, DS_KEY_MAX);
	cs->channel = (int)info->channel;
	cs->filed_by = cases_str(b, info->filed_by, OS_NAME_MAX - 1);
	cs->owner = cases_str(b, info->owner, OS_NAME_MAX - 1);
	cs->state = (int)info->state;
	cs->outcome = (int)info->outcome;
	cs->seq = info->seq;
	cs->filed_ms = info->filed_ms;
	cs->accepted_ms = info->accepted_ms;
	cs->promised_due_ms = info->promised_due_ms;
	cs->legal_due_ms = info->legal_due_ms;
	cs->overdue = info->overdue ? 1 : 0;
	cs->licence = cases_str(b, info->licence, DS_KEY_MAX);
	cs->pending = (int)info->pending;

	onestop_case_step_t *steps = CASES_ARRAY(b, info->n_history, onestop_case_step_t);
	for (size_t i = 0; i < info->n_history; i++) {
		const Onestop__CaseStep *h = info->history[i];
		onestop_case_step_t st;
		memset(&st, 0, sizeof(st));
		if (h == NULL) {
			b->bad = 1;
			return;
		}
		st.seq = h->seq;
		st.at_ms = h->at_ms;
		st.actor = cases_str(b, h->actor, OS_NAME_MAX - 1);
		st.action = (int)h->action;
		st.outcome = (int)h->outcome;
		st.reason = cases_str(b, h->reason, CASES_TEXT_MAX);
		const char **miss = CASES_ARRAY(b, h->n_missing, const char *);
		for (size_t j = 0; j < h->n_missing; j++) {
			const char *m = cases_str(b, h->missing[j], CASES_WORD_MAX);
			if (miss != NULL)
				miss[j] = m;
		}
		st.missing = miss;
		st.n_missing = h->n_missing;
		st.licence = cases_str(b, h->licence, DS_KEY_MAX);
		if (steps != NULL)
			steps[i] = st;
	}
	cs->history = steps;
	cs->n_history = info->n_history;

	onestop_case_ref_t *refs = CASES_ARRAY(b, info->n_refs, onestop_case_ref_t);
	for (size_t i = 0; i < info->n_refs; i++) {
		const Onestop__SharedDataRef *r = info->refs[i];
		if (r == NULL) {
			b->bad = 1;
			return;
		}
		onestop_case_ref_t ref = {
			.dataset = cases_str(b, r->dataset, OS_NAME_MAX - 1),
			.key = cases_str(b, r->key, DS_KEY_MAX),
			.name = cases_str(b, r->name, CASES_WORD_MAX),
		};
		if (refs != NULL)
			refs[i] = ref;
	}
	cs->refs = refs;
	cs->n_refs = info->n_refs;

	cs->form = cases_bytes(b, &info->form);
	cs->form_len = info->form.len;
	onestop_case_upload_t *ups = CASES_ARRAY(b, info->n_uploads, onestop_case_upload_t);
	for (size_t i = 0; i < info->n_uploads; i++) {
		const Onestop__CaseUpload *u = info->uploads[i];
		if (u == NULL) {
			b->bad = 1;
			return;
		}
		onestop_case_upload_t up = {
			.name = cases_str(b, u->name, CASES_WORD_MAX),
			.data = cases_bytes(b, &u->data),
			.len = u->data.len,
		};
		if (ups != NULL)
			ups[i] = up;
	}
	cs->uploads = ups;
	cs->n_uploads = info->n_uploads;
}

/* Copy n cases into one allocation: the array, case_size apart in the
 * caller's layout, then everything they point to, so that freeing them is
 * one free(). 0, ONESTOP_EPROTO (a malformed case) or ONESTOP_ENOMEM. */
static int cases_copy(struct onestop *c, Onestop__CaseInfo *const *infos, size_t n,
		      onestop_case_t **out, size_t case_size)
{
	struct cases_block b = {NULL, 0, 0};
	onestop_case_t cs;

	*out = NULL;
	cases_take(&b, n * case_size, _Alignof(onestop_case_t));
	for (size_t i = 0; i < n && !b.bad; i++)
		cases_copy_info(&b, infos[i], &cs);
	if (b.bad) {
		conn_seterr(c, "the spoke sent a malformed case");
		return ONESTOP_EPROTO;
	}
	size_t total = b.used;
	b.base = malloc(total ? total : 1);
	if (b.base == NULL) {
		conn_seterr(c, "out of memory for %zu cases", n);
		return ONESTOP_ENOMEM;
	}
	b.used = 0;
	cases_take(&b, n * case_size, _Alignof(onestop_case_t));
	for (size_t i = 0; i < n; i++) {
		cases_copy_info(&b, infos[i], &cs);
		sized_out(b.base + i * case_size, case_size, &cs, sizeof(cs));
	}
	*out = (onestop_case_t *)(void *)b.base;
	return 0;
}

static int cases_size_ok(struct onestop *c, size_t case_size)
{
	if (sized_check(case_size, SIZED_CASE_V1, _Alignof(onestop_case_t)) == 0)
		return 0;
	conn_seterr(c, "onestop_case_t of %zu bytes is not one this library knows", case_size);
	return ONESTOP_EINVAL;
}

int onestop_case_get_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN], onestop_case_t **out,
			   size_t case_size)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || out == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (cases_size_ok(c, case_size) != 0)
		return ONESTOP_EINVAL;
	if (id == NULL) {
		conn_seterr(c, "which case? the id is NULL");
		return ONESTOP_EINVAL;
	}
	Onestop__CaseGetRequest gr = ONESTOP__CASE_GET_REQUEST__INIT;
	gr.case_id.data = (uint8_t *)id;
	gr.case_id.len = ONESTOP_ID_LEN;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_CASE_GET;
	req.case_get = &gr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__CaseGetResult *res = rep->case_get;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_CASE_GET || res == NULL ||
	    res->info == NULL) {
		conn_seterr(c, "the spoke's reply to CaseGet carries no case");
		goto out;
	}
	if (res->info->id.len != ONESTOP_ID_LEN ||
	    memcmp(res->info->id.data, id, ONESTOP_ID_LEN) != 0) {
		conn_seterr(c, "the spoke's reply to CaseGet is for another case");
		goto out;
	}
	rc = cases_copy(c, &res->info, 1, out, case_size);
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

void onestop_case_free(onestop_case_t **cs)
{
	if (cs == NULL)
		return;
	free(*cs);
	*cs = NULL;
}

int onestop_case_list_sized(onestop_t *c, const onestop_case_filter_t *f_user,
			    onestop_case_t **cases, size_t *n, uint8_t next[ONESTOP_ID_LEN],
			    int *more, size_t filter_size, size_t case_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_case_filter_t fv;
	const onestop_case_filter_t *f = &fv;
	int rc;

	if (cases != NULL)
		*cases = NULL;
	if (n != NULL)
		*n = 0;
	if (more != NULL)
		*more = 0;
	/* The cursor before next is cleared: a caller pages with after_id
	 * pointing at its next. */
	uint8_t after[ONESTOP_ID_LEN] = {0};
	if (f_user != NULL &&
	    filter_size >= offsetof(onestop_case_filter_t, after_id) + sizeof(f_user->after_id) &&
	    f_user->after_id != NULL)
		memcpy(after, f_user->after_id, ONESTOP_ID_LEN);
	if (next != NULL)
		memset(next, 0, ONESTOP_ID_LEN);
	if (c == NULL || cases == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (cases_size_ok(c, case_size) != 0)
		return ONESTOP_EINVAL;
	if (f_user == NULL) {
		conn_seterr(c, "list cases by state, by item or overdue: no filter given");
		return ONESTOP_EINVAL;
	}
	if (sized_check(filter_size, SIZED_CASE_FILTER_V1, _Alignof(onestop_case_filter_t)) != 0 ||
	    sized_in(&fv, sizeof(fv), f_user, filter_size) != 0) {
		conn_seterr(c,
			    "the filter is an onestop_case_filter_t of %zu bytes this library "
			    "does not know",
			    filter_size);
		return ONESTOP_EINVAL;
	}
	int by_item = f->item != NULL && f->item[0] != '\0';
	if ((f->by_state != 0) + by_item + (f->overdue != 0) != 1) {
		conn_seterr(c, "list cases by state, by item or overdue: exactly one of them");
		return ONESTOP_EINVAL;
	}
	if (f->by_state && (f->state < ONESTOP_CASE_NEW || f->state > ONESTOP_CASE_WITHDRAWN)) {
		conn_seterr(c, "state %d is no case state", f->state);
		return ONESTOP_EINVAL;
	}
	if (f->limit > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "a limit of %u is over %d", f->limit, ONESTOP_MAX_BATCH);
		return ONESTOP_EINVAL;
	}
	unsigned limit = f->limit ? f->limit : CASES_DEFAULT_LIMIT;
	Onestop__CaseListRequest lr = ONESTOP__CASE_LIST_REQUEST__INIT;
	lr.by_state = f->by_state != 0;
	lr.state = (Onestop__CaseState)(f->by_state ? f->state : 0);
	lr.item = (char *)(by_item ? f->item : "");
	lr.overdue = f->overdue != 0;
	if (f->after_id != NULL) {
		lr.after_id.data = after;
		lr.after_id.len = ONESTOP_ID_LEN;
	}
	lr.limit = limit;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_CASE_LIST;
	req.case_list = &lr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__CaseListResult *res = rep->case_list;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_CASE_LIST || res == NULL) {
		conn_seterr(c, "the spoke's reply to CaseList carries no list");
		goto out;
	}
	if (res->n_cases > limit) {
		conn_seterr(c, "the spoke sent %zu cases, more than the %u asked for", res->n_cases,
			    limit);
		goto out;
	}
	if (res->next.len != 0 && res->next.len != ONESTOP_ID_LEN) {
		conn_seterr(c, "the spoke's next is a %zu-byte id", res->next.len);
		goto out;
	}
	if (res->n_cases > 0 &&
	    (rc = cases_copy(c, res->cases, res->n_cases, cases, case_size)) != 0)
		goto out;
	*n = res->n_cases;
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

void onestop_cases_free(onestop_case_t **cases, size_t n)
{
	(void)n;
	if (cases == NULL)
		return;
	free(*cases);
	*cases = NULL;
}

/* ------------------------------------------------------------ licences */

/* Copy v into out (the library's struct); publisher is left "". 0 or
 * ONESTOP_EDECODE (a field longer than its room). */
static int cases_licence_from(const Onestop__LicenceValue *v, onestop_licence_t *out)
{
	struct {
		char *dst;
		size_t room;
		const char *src;
	} f[] = {
		{out->number, sizeof(out->number), v->number},
		{out->item, sizeof(out->item), v->item},
		{out->holder, sizeof(out->holder), v->holder},
		{out->issuer, sizeof(out->issuer), v->issuer},
	};

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		size_t len = conn_strlen_max(f[i].src, f[i].room - 1);
		if (len == SIZE_MAX)
			return ONESTOP_EDECODE;
		if (len > 0)
			memcpy(f[i].dst, f[i].src, len);
	}
	out->valid_from_ms = v->valid_from_ms;
	out->valid_until_ms = v->valid_until_ms;
	/* Only an active licence is good: any other status counts as
	 * revoked. */
	out->revoked = v->status != ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE;
	return 0;
}

int onestop_licence_decode_sized(const uint8_t *buf, size_t len, onestop_licence_t *out_user,
				 size_t out_size)
{
	Onestop__LicenceValue *v = NULL;
	onestop_licence_t lic;
	int rc;

	if (out_user == NULL ||
	    sized_check(out_size, SIZED_LICENCE_V1, _Alignof(onestop_licence_t)) != 0)
		return ONESTOP_EINVAL;
	memset(out_user, 0, out_size);
	if (buf == NULL && len > 0)
		return ONESTOP_EINVAL;
	if (len > DS_VALUE_MAX)
		return ONESTOP_ETOOBIG;
	v = onestop__licence_value__unpack(NULL, len, buf);
	if (v == NULL)
		return ONESTOP_EDECODE;
	if ((rc = cases_licence_from(v, &lic)) == 0)
		sized_out(out_user, out_size, &lic, sizeof(lic));
	onestop__licence_value__free_unpacked(v, NULL);
	return rc;
}

int onestop_licence_encode_sized(const onestop_licence_t *v_user, uint8_t **out, size_t *len,
				 size_t v_size)
{
	onestop_licence_t lic;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (v_user == NULL || out == NULL || len == NULL ||
	    sized_check(v_size, SIZED_LICENCE_V1, _Alignof(onestop_licence_t)) != 0 ||
	    sized_in(&lic, sizeof(lic), v_user, v_size) != 0)
		return ONESTOP_EINVAL;
	if (strnlen(lic.number, sizeof(lic.number)) == sizeof(lic.number) ||
	    strnlen(lic.item, sizeof(lic.item)) == sizeof(lic.item) ||
	    strnlen(lic.holder, sizeof(lic.holder)) == sizeof(lic.holder) ||
	    strnlen(lic.issuer, sizeof(lic.issuer)) == sizeof(lic.issuer))
		return ONESTOP_EINVAL;
	Onestop__LicenceValue v = ONESTOP__LICENCE_VALUE__INIT;
	v.number = lic.number;
	v.item = lic.item;
	v.holder = lic.holder;
	v.issuer = lic.issuer;
	v.valid_from_ms = lic.valid_from_ms;
	v.valid_until_ms = lic.valid_until_ms;
	v.status = lic.revoked ? ONESTOP__LICENCE_STATUS__LICENCE_STATUS_REVOKED
			       : ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE;
	size_t n = onestop__licence_value__get_packed_size(&v);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return ONESTOP_ENOMEM;
	onestop__licence_value__pack(&v, buf);
	*out = buf;
	*len = n;
	return 0;
}

/* The licence's entry as the spoke holds it now, into out with its
 * publisher (for the refusals of a verify, whose reply carries no
 * licence). c's last error is kept. */
static void cases_licence_fetch(struct onestop *c, const char *number, onestop_licence_t *out)
{
	char err[sizeof(c->err)];
	onestop_entry_t *e = NULL;

	memcpy(err, c->err, sizeof(err));
	if (onestop_get(c, ONESTOP_DS_LICENCES, number, 0, &e) == 0 &&
	    onestop_licence_decode(e->value, e->len, out) == 0) {
		size_t lp = strnlen(e->publisher, sizeof(out->publisher) - 1);
		memcpy(out->publisher, e->publisher, lp);
		out->publisher[lp] = '\0';
	} else {
		memset(out, 0, sizeof(*out));
	}
	onestop_entry_free(&e);
	memcpy(c->err, err, sizeof(err));
}

/* A licence the spoke does not hold (a cached-mode miss) is filled
 * through the hub by a Get, within the spoke's fetch_timeout_ms: 1 when
 * the entry is there now, so that a verify is worth asking again. c's
 * last error is kept. */
static int cases_licence_fill(struct onestop *c, const char *number)
{
	char err[sizeof(c->err)];
	onestop_entry_t *e = NULL;

	memcpy(err, c->err, sizeof(err));
	int found = onestop_get(c, ONESTOP_DS_LICENCES, number, 0, &e) == 0;
	onestop_entry_free(&e);
	memcpy(c->err, err, sizeof(err));
	return found;
}

int onestop_licence_verify_sized(onestop_t *c, const char *number, const char *holder,
				 onestop_licence_t *out, size_t out_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_licence_t lic;
	int rc;

	if (out != NULL &&
	    sized_check(out_size, SIZED_LICENCE_V1, _Alignof(onestop_licence_t)) != 0)
		return ONESTOP_EINVAL;
	if (out != NULL)
		memset(out, 0, out_size);
	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (number == NULL || number[0] == '\0') {
		conn_seterr(c, "which licence? no number given");
		return ONESTOP_EINVAL;
	}
	Onestop__LicenceVerifyRequest vr = ONESTOP__LICENCE_VERIFY_REQUEST__INIT;
	vr.number = (char *)number;
	vr.holder = (char *)(holder ? holder : "");
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_LICENCE_VERIFY;
	req.licence_verify = &vr;
	rc = conn_call(c, &req, 0, &rep);
	if (rc == ONESTOP_ENOTFOUND && cases_licence_fill(c, number))
		rc = conn_call(c, &req, 0, &rep);
	if (rc == ONESTOP_EISSUER || rc == ONESTOP_EREVOKED || rc == ONESTOP_EEXPIRED ||
	    rc == ONESTOP_ESUBJECT) {
		if (out != NULL) {
			cases_licence_fetch(c, number, &lic);
			sized_out(out, out_size, &lic, sizeof(lic));
		}
		return rc;
	}
	if (rc != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__LicenceVerifyResult *res = rep->licence_verify;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_LICENCE_VERIFY || res == NULL ||
	    res->licence == NULL) {
		conn_seterr(c, "the spoke's reply to LicenceVerify carries no licence");
		goto out;
	}
	size_t lp = conn_strlen_max(res->publisher, sizeof(lic.publisher) - 1);
	if (cases_licence_from(res->licence, &lic) != 0 || lp == SIZE_MAX) {
		conn_seterr(c, "the spoke's reply to LicenceVerify has a field over its bound");
		goto out;
	}
	if (lp > 0)
		memcpy(lic.publisher, res->publisher, lp);
	if (out != NULL)
		sized_out(out, out_size, &lic, sizeof(lic));
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* ------------------------------------------------------------ supervision */

int onestop_stats_sized(onestop_t *c, const char *by, const char *from, const char *to,
			onestop_stats_row_t **rows, size_t *n, size_t row_size)
{
	Onestop__ApiReply *rep = NULL;
	char *arr = NULL;
	int rc;

	if (rows != NULL)
		*rows = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || by == NULL || rows == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(row_size, SIZED_STATS_ROW_V1, _Alignof(onestop_stats_row_t)) != 0) {
		conn_seterr(c, "onestop_stats_row_t of %zu bytes is not one this library knows",
			    row_size);
		return ONESTOP_EINVAL;
	}
	Onestop__StatsRequest sr = ONESTOP__STATS_REQUEST__INIT;
	sr.by = (char *)by;
	sr.from = (char *)(from ? from : "");
	sr.to = (char *)(to ? to : "");
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_STATS;
	req.stats = &sr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;
	rc = ONESTOP_EPROTO;
	const Onestop__StatsResult *res = rep->stats;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_STATS || res == NULL) {
		conn_seterr(c, "the spoke's reply to Stats carries no rows");
		goto out;
	}
	if (res->n_rows == 0) {
		rc = 0;
		goto out;
	}
	if ((arr = calloc(res->n_rows, row_size)) == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < res->n_rows; i++) {
		const Onestop__StatsRow *w = res->rows[i];
		onestop_stats_row_t r;
		memset(&r, 0, sizeof(r));
		size_t kl = w != NULL ? conn_strlen_max(w->key, sizeof(r.key) - 1) : SIZE_MAX;
		if (kl == SIZE_MAX) {
			conn_seterr(c, "the spoke sent a malformed row (%zu of %zu)", i + 1,
				    res->n_rows);
			goto out;
		}
		memcpy(r.key, w->key, kl);
		r.filed = w->filed;
		r.accepted = w->accepted;
		r.rejected = w->rejected;
		r.approved = w->approved;
		r.denied = w->denied;
		r.decided = w->decided;
		r.withdrawn = w->withdrawn;
		r.on_time_promised_rate = w->on_time_promised_rate;
		r.on_time_legal_rate = w->on_time_legal_rate;
		r.mean_days = w->mean_days;
		r.p90_days = w->p90_days;
		r.open = w->open;
		r.overdue = w->overdue;
		r.online_share = w->online_share;
		r.hall_share = w->hall_share;
		r.complaints = w->complaints;
		r.consultations = w->consultations;
		r.answered = w->answered;
		r.mean_response_hours = w->mean_response_ms / 3.6e6;
		r.evaluations = w->evaluations;
		r.mean_score = w->mean_score;
		r.hotline_share = w->hotline_share;
		r.p90_capped = w->p90_capped ? 1 : 0;
		sized_out(arr + i * row_size, row_size, &r, sizeof(r));
	}
	*rows = (onestop_stats_row_t *)(void *)arr;
	*n = res->n_rows;
	arr = NULL;
	rc = 0;
out:
	free(arr);
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

int onestop_stats_rebuild(onestop_t *c)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	Onestop__StatsRequest sr = ONESTOP__STATS_REQUEST__INIT;
	sr.by = "item";
	sr.from = "";
	sr.to = "";
	sr.rebuild = 1;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_STATS;
	req.stats = &sr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;
	onestop__api_reply__free_unpacked(rep, NULL);
	return 0;
}
