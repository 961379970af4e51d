/* Supervision events: build a SupervisionEvent from what a node knows at a
 * case transition, an evaluation or a complaint transition; pack it; check
 * one received (metadata only, every field in range); and the keyed
 * pseudonym of a subject per supervisor period. */
#include "supervision.h"

#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "crypto.h"
#include "err.h"
#include "onestop.pb-c.h"

static int sv_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		return OS_EINVAL;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

static int sv_text_ok(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return 0;
	return 1;
}

static int sv_name_ok(const char *s, int required)
{
	if (!s[0])
		return required ? OS_ENAME : 0;
	return os_name_valid(s) == 0 ? 0 : OS_ENAME;
}

int sv_event_valid(const struct sv_event *e)
{
	int rc;
	if (!e)
		return OS_EINVAL;
	if (e->kind < SV_CASE || e->kind > SV_COMPLAINT || e->seq == 0 || e->at_ms == 0 ||
	    e->filed_ms == 0 || e->channel > SV_CHANNEL_MAX || !sv_text_ok(e->item) ||
	    !sv_text_ok(e->item_kind) || (e->has_tag != 0 && e->has_tag != 1))
		return OS_EINVAL;
	if ((rc = sv_name_ok(e->owner, 1)) < 0 || (rc = sv_name_ok(e->region, 0)) < 0 ||
	    (rc = sv_name_ok(e->filed_by, 0)) < 0)
		return rc;
	switch (e->kind) {
	case SV_CASE:
		if (e->state < CASE_FILED || e->state >= CASE_STATE_COUNT ||
		    e->action < CASE_ACT_FILE || e->action > CASE_ACTION_MAX ||
		    e->outcome > CASE_DENIED || e->score || e->complaint_kind)
			return OS_EINVAL;
		if ((e->action == CASE_ACT_DECIDE) != (e->state == CASE_DECIDED) ||
		    (e->action == CASE_ACT_DECIDE && e->outcome == CASE_OUTCOME_NONE))
			return OS_EINVAL;
		/* Only a decided case has an outcome, and it keeps it when closed. */
		if (e->outcome && e->state != CASE_DECIDED && e->state != CASE_CLOSED)
			return OS_EINVAL;
		return 0;
	case SV_EVALUATION:
		if (e->seq != 1 || e->score < 1 || e->score > SV_SCORE_MAX || e->state ||
		    e->action || e->complaint_kind)
			return OS_EINVAL;
		return 0;
	case SV_COMPLAINT:
		if (e->complaint_kind < SV_CP_COMPLAINT || e->complaint_kind > SV_CP_CONSULTATION ||
		    e->state < 1 || e->state > SV_COMPLAINT_MAX_STATE || e->action < SV_CP_FILE ||
		    e->action > SV_CP_REOPEN || e->outcome || e->score)
			return OS_EINVAL;
		return 0;
	}
	return OS_EINVAL;
}

static int sv_fill_case(const struct sv_case_facts *f, struct sv_event *out)
{
	if (!f->case_id)
		return OS_EINVAL;
	memcpy(out->id, f->case_id, SV_ID_LEN);
	if (sv_copy(out->item, sizeof out->item, f->item) < 0 ||
	    sv_copy(out->item_kind, sizeof out->item_kind, f->item_kind) < 0 ||
	    sv_copy(out->owner, sizeof out->owner, f->owner) < 0 ||
	    sv_copy(out->region, sizeof out->region, f->region) < 0 ||
	    sv_copy(out->filed_by, sizeof out->filed_by, f->filer) < 0)
		return OS_EINVAL;
	out->channel = f->channel;
	out->outcome = f->outcome;
	out->filed_ms = f->filed_ms;
	out->accepted_ms = f->accepted_ms;
	out->promised_due_ms = f->promised_due_ms;
	out->legal_due_ms = f->legal_due_ms;
	if (f->subject_tag) {
		memcpy(out->subject_tag, f->subject_tag, SV_TAG_LEN);
		out->has_tag = 1;
	}
	return 0;
}

static int sv_finish(struct sv_event *out, int rc)
{
	if (rc == 0)
		rc = sv_event_valid(out);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int sv_from_case(const struct sv_case_facts *f, struct sv_event *out)
{
	int rc;
	if (!f || !out)
		return OS_EINVAL;
	memset(out, 0, sizeof *out);
	out->kind = SV_CASE;
	rc = sv_fill_case(f, out);
	out->seq = f->seq;
	out->state = f->state;
	out->action = f->action;
	out->at_ms = f->at_ms;
	return sv_finish(out, rc);
}

int sv_from_evaluation(const struct sv_case_facts *c, uint32_t score, uint32_t channel,
		       uint64_t at_ms, struct sv_event *out)
{
	int rc;
	if (!c || !out)
		return OS_EINVAL;
	memset(out, 0, sizeof *out);
	out->kind = SV_EVALUATION;
	rc = sv_fill_case(c, out);
	out->seq = 1;
	out->channel = channel;
	out->score = score;
	out->at_ms = at_ms;
	return sv_finish(out, rc);
}

int sv_from_complaint(const struct sv_complaint_facts *f, struct sv_event *out)
{
	int rc = 0;
	if (!f || !out)
		return OS_EINVAL;
	memset(out, 0, sizeof *out);
	if (!f->complaint_id)
		return OS_EINVAL;
	out->kind = SV_COMPLAINT;
	memcpy(out->id, f->complaint_id, SV_ID_LEN);
	if (sv_copy(out->item, sizeof out->item, f->item) < 0 ||
	    sv_copy(out->item_kind, sizeof out->item_kind, f->item_kind) < 0 ||
	    sv_copy(out->owner, sizeof out->owner, f->department) < 0 ||
	    sv_copy(out->region, sizeof out->region, f->region) < 0 ||
	    sv_copy(out->filed_by, sizeof out->filed_by, f->filer) < 0)
		rc = OS_EINVAL;
	out->seq = f->seq;
	out->complaint_kind = f->complaint_kind;
	out->channel = f->channel;
	out->state = f->state;
	out->action = f->action;
	out->at_ms = f->at_ms;
	out->filed_ms = f->filed_ms;
	out->promised_due_ms = f->due_ms;
	if (f->subject_tag) {
		memcpy(out->subject_tag, f->subject_tag, SV_TAG_LEN);
		out->has_tag = 1;
	}
	return sv_finish(out, rc);
}

int sv_event_pack(const struct sv_event *e, uint8_t **out, size_t *len)
{
	Onestop__SupervisionEvent m = ONESTOP__SUPERVISION_EVENT__INIT;
	if (!out || !len || sv_event_valid(e) < 0)
		return OS_EINVAL;
	m.kind = (Onestop__SupervisionKind)e->kind;
	m.id.data = (uint8_t *)e->id;
	m.id.len = SV_ID_LEN;
	m.seq = e->seq;
	m.item = (char *)e->item;
	m.item_kind = (char *)e->item_kind;
	m.owner = (char *)e->owner;
	m.region = (char *)e->region;
	m.filed_by = (char *)e->filed_by;
	m.channel = (Onestop__CaseChannel)e->channel;
	m.state = e->state;
	m.action = e->action;
	m.outcome = (Onestop__CaseOutcome)e->outcome;
	m.at_ms = e->at_ms;
	m.filed_ms = e->filed_ms;
	m.accepted_ms = e->accepted_ms;
	m.promised_due_ms = e->promised_due_ms;
	m.legal_due_ms = e->legal_due_ms;
	m.score = e->score;
	m.complaint_kind = (Onestop__ComplaintKind)e->complaint_kind;
	if (e->has_tag) {
		m.subject_tag.data = (uint8_t *)e->subject_tag;
		m.subject_tag.len = SV_TAG_LEN;
	}
	*len = onestop__supervision_event__get_packed_size(&m);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return OS_ENOMEM;
	onestop__supervision_event__pack(&m, *out);
	return 0;
}

int sv_event_unpack(const uint8_t *buf, size_t len, struct sv_event *out)
{
	Onestop__SupervisionEvent *m;
	int rc = OS_EDECODE;
	if (!out || (!buf && len > 0))
		return OS_EINVAL;
	memset(out, 0, sizeof *out);
	if (len > SV_EVENT_MAX)
		return OS_ETOOBIG;
	m = onestop__supervision_event__unpack(NULL, len, buf);
	if (!m)
		return OS_EDECODE;
	/* A field the schema does not name is something the stream must not
	 * carry (or an emitter newer than this checker): refused, not dropped. */
	if (m->base.n_unknown_fields != 0 || m->id.len != SV_ID_LEN ||
	    (m->subject_tag.len != 0 && m->subject_tag.len != SV_TAG_LEN))
		goto out;
	if (sv_copy(out->item, sizeof out->item, m->item) < 0 ||
	    sv_copy(out->item_kind, sizeof out->item_kind, m->item_kind) < 0 ||
	    sv_copy(out->owner, sizeof out->owner, m->owner) < 0 ||
	    sv_copy(out->region, sizeof out->region, m->region) < 0 ||
	    sv_copy(out->filed_by, sizeof out->filed_by, m->filed_by) < 0)
		goto out;
	/* Enums are open in proto3: out-of-range numbers arrive as they are and
	 * are refused by sv_event_valid; negative ones wrap to large values. */
	out->kind = (enum sv_kind)m->kind;
	memcpy(out->id, m->id.data, SV_ID_LEN);
	out->seq = m->seq;
	out->channel = (uint32_t)m->channel;
	out->state = m->state;
	out->action = m->action;
	out->outcome = (uint32_t)m->outcome;
	out->at_ms = m->at_ms;
	out->filed_ms = m->filed_ms;
	out->accepted_ms = m->accepted_ms;
	out->promised_due_ms = m->promised_due_ms;
	out->legal_due_ms = m->legal_due_ms;
	out->score = m->score;
	out->complaint_kind = (uint32_t)m->complaint_kind;
	if (m->subject_tag.len) {
		memcpy(out->subject_tag, m->subject_tag.data, SV_TAG_LEN);
		out->has_tag = 1;
	}
	rc = sv_event_valid(out);
out:
	onestop__supervision_event__free_unpacked(m, NULL);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int sv_event_check(const uint8_t *buf, size_t len)
{
	struct sv_event e;
	return sv_event_unpack(buf, len, &e);
}

int sv_subject_tag(const uint8_t key[SV_KEY_LEN], uint64_t period, const char *subject,
		   uint8_t out[SV_TAG_LEN])
{
	uint8_t p[8];
	if (!key || !subject || !out)
		return OS_EINVAL;
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(period >> (56 - 8 * i));
	return crypto_keyed_hash(out, SV_TAG_LEN, key, SV_KEY_LEN, p, sizeof p,
				 (const uint8_t *)subject, strlen(subject));
}
