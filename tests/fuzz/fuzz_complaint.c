/* Fuzz target: the pure complaint code on one input. As a
 * ComplaintTransition: its step goes through complaint_apply on a filed
 * complaint (applied twice is applied once; a refused step leaves the
 * record as it was). As a Complaint: its `about` and its nodes' regions. As
 * text: complaint_about_parse and complaint_region. The input's bytes also
 * drive a walk of complaint_apply and the rating check on a case. */
#include <stdio.h>
#include <stdlib.h>

#include "case.h"
#include "complaint.h"
#include "err.h"
#include "evaluation.h"
#include "fuzz.h"
#include "onestop.pb-c.h"

#define FILER "gd.sz.hall"
#define HANDLER "gd.sz.hotline"
#define ASSIGNEE "gd.sz.market"

/* Apply t to r, and hold complaint_apply to its contract. */
static int fm_apply(struct complaint_record *r, const struct complaint_step *t)
{
	struct complaint_record before = *r;
	int dup = -1, rc = complaint_apply(r, t, &dup);

	if (rc != 0 && rc != OS_EINVAL && rc != OS_ECONFLICT && rc != OS_EGAP &&
	    rc != OS_ENOTALLOWED && rc != OS_ESTATE)
		__builtin_trap();
	if (dup != 0 && dup != 1)
		__builtin_trap();
	if ((rc != 0 || dup) && memcmp(&before, r, sizeof(*r)) != 0)
		__builtin_trap(); /* refused or repeated: unchanged */
	if (rc != 0 && dup)
		__builtin_trap();
	if (rc == 0 && !dup) {
		if (r->seq != t->seq || r->seq != before.seq + 1 || r->seq > COMPLAINT_STEPS_MAX ||
		    (unsigned)r->state >= COMPLAINT_STATE_COUNT || r->state == COMPLAINT_NEW ||
		    r->reopened > COMPLAINT_REOPEN_MAX ||
		    complaint_allowed(before.state, t->action) != 1)
			__builtin_trap();
		if (r->state == COMPLAINT_ASSIGNED && os_name_valid(r->assignee) != 0)
			__builtin_trap(); /* assigned means to a node */
		struct complaint_record again = *r;
		if (complaint_apply(&again, t, &dup) != 0 || dup != 1 ||
		    memcmp(&again, r, sizeof(*r)) != 0)
			__builtin_trap();
	}
	if (strcmp(complaint_action_name(t->action), "unknown") != 0) {
		enum complaint_action a;
		if (complaint_action_parse(complaint_action_name(t->action), &a) != 0 ||
		    a != t->action)
			__builtin_trap();
	}
	return rc;
}

static void fm_transition(const uint8_t *data, size_t size)
{
	Onestop__ComplaintTransition *tr = onestop__complaint_transition__unpack(NULL, size, data);
	struct complaint_record r;
	struct complaint_step st = {0};

	if (!tr)
		return;
	if (complaint_record_init(&r, COMPLAINT_KIND_COMPLAINT, FILER, HANDLER) != 0)
		__builtin_trap();
	if (tr->seq != 1) {
		struct complaint_step file = {.seq = 1,
					      .action = COMPLAINT_ACT_FILE,
					      .actor = FILER};
		if (fm_apply(&r, &file) != 0)
			__builtin_trap();
	}
	size_t len = onestop__complaint_transition__get_packed_size(tr);
	uint8_t *content = malloc(len ? len : 1);
	if (!content)
		__builtin_trap();
	onestop__complaint_transition__pack(tr, content);
	st.seq = tr->seq;
	st.action = (enum complaint_action)tr->action;
	st.actor = tr->actor;
	st.assignee = tr->assignee && tr->assignee[0] ? tr->assignee : NULL;
	st.content = content;
	st.content_len = len;
	fm_apply(&r, &st);
	if (len > 0) {
		content[len - 1] ^= 1; /* a competing step */
		fm_apply(&r, &st);
	}
	free(content);
	onestop__complaint_transition__free_unpacked(tr, NULL);
}

/* s parsed as `about`: what it names prints back as s. */
static void fm_about(const char *s)
{
	struct complaint_about a;
	char back[DS_KEY_MAX + 8];

	if (complaint_about_parse(s, &a) != 0)
		return;
	switch (a.kind) {
	case COMPLAINT_ABOUT_CASE: {
		char hex[2 * COMPLAINT_CASE_ID_LEN + 1];
		os_hex(hex, a.case_id, COMPLAINT_CASE_ID_LEN);
		snprintf(back, sizeof(back), "case:%s", hex);
		break;
	}
	case COMPLAINT_ABOUT_ITEM:
		snprintf(back, sizeof(back), "item:%s", a.name);
		break;
	case COMPLAINT_ABOUT_NODE:
		if (os_name_valid(a.name) != 0)
			__builtin_trap();
		snprintf(back, sizeof(back), "node:%s", a.name);
		break;
	default:
		__builtin_trap();
	}
	if (strcmp(back, s) != 0)
		__builtin_trap();
}

/* s's region is s up to its last dot, itself a node name. */
static void fm_region(const char *s)
{
	char out[OS_NAME_MAX];
	int rc = complaint_region(s, out, sizeof(out));

	if (rc != 0 && rc != OS_ENAME)
		__builtin_trap();
	if (rc == 0) {
		size_t n = strlen(out);
		if (strncmp(out, s, n) != 0 || s[n] != '.' || strchr(s + n + 1, '.') != NULL ||
		    os_name_valid(out) != 0)
			__builtin_trap();
	}
}

static void fm_complaint(const uint8_t *data, size_t size)
{
	Onestop__Complaint *c = onestop__complaint__unpack(NULL, size, data);

	if (!c)
		return;
	if (c->about)
		fm_about(c->about);
	if (c->filed_by)
		fm_region(c->filed_by);
	if (c->region)
		fm_region(c->region);
	onestop__complaint__free_unpacked(c, NULL);
}

/* The input as text, up to its first NUL and at most 512 bytes. */
static void fm_text(const uint8_t *data, size_t size)
{
	char s[513];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

	if (n > 0)
		memcpy(s, data, n);
	s[n] = '\0';
	fm_about(s);
	fm_region(s);
}

/* A walk: each 3 bytes of the input are one step (the next seq, or one
 * before or after it; an action; an actor and an assignee; a length of
 * content), then a rating of a case driven by the same bytes. */
static void fm_walk(const uint8_t *data, size_t size)
{
	static const char *actors[] = {FILER, HANDLER, ASSIGNEE, "gd.sz.tax"};
	static const char *assignees[] = {NULL, ASSIGNEE, "gd.sz.tax", "Bad"};
	struct complaint_record r;

	if (complaint_record_init(&r,
				  size > 0 && (data[0] & 1) ? COMPLAINT_KIND_CONSULTATION
							    : COMPLAINT_KIND_COMPLAINT,
				  FILER, size > 0 && (data[0] & 2) ? FILER : HANDLER) != 0)
		__builtin_trap();
	for (size_t i = 1; i + 3 <= size && i < 3 * 40; i += 3) {
		struct complaint_step st = {0};
		uint8_t a = data[i], b = data[i + 1], c = data[i + 2];
		st.seq = r.seq + 1 + (a >> 6) - ((a >> 6) == 3 ? 4 : 0);
		st.action = (enum complaint_action)(a % (COMPLAINT_ACTION_MAX + 2));
		st.actor = actors[b % 4];
		st.assignee = assignees[(b >> 2) % 4];
		st.content = data + i;
		st.content_len = c % 4;
		fm_apply(&r, &st);
		if (complaint_state_final(r.state) && complaint_state_awaiting(r.state))
			__builtin_trap();
	}
	if (strcmp(complaint_state_name(r.state), "unknown") == 0)
		__builtin_trap();

	struct case_record cr;
	if (case_record_init(&cr, FILER, HANDLER) != 0)
		__builtin_trap();
	cr.state = (enum case_state)(size > 1 ? data[1] % CASE_STATE_COUNT : 0);
	struct evaluation_request q = {
		.score = size > 2 ? data[2] % 8 : 0,
		.comment_len = size > 3 ? (size_t)data[3] * 16 : 0,
		.subject = size > 4 && (data[4] & 1) ? "s-1" : "s-2",
	};
	int rc = evaluation_check(&cr, "s-1", &q, size > 4 && (data[4] & 2));
	if (rc != 0 && rc != OS_EINVAL && rc != OS_ESUBJECT && rc != OS_ESTATE && rc != OS_EEXIST)
		__builtin_trap();
	if (rc == 0 && (q.score < 1 || q.score > 5 || strcmp(q.subject, "s-1") != 0 ||
			(cr.state != CASE_DECIDED && cr.state != CASE_CLOSED)))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fuzz_quiet();
		ready = 1;
	}
	fm_transition(data, size);
	fm_complaint(data, size);
	fm_text(data, size);
	fm_walk(data, size);
	return 0;
}
