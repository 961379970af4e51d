/* Ratings of decided cases: see evaluate.h. db_evaluations holds, per case
 * id, one byte of state (EV_RATED: recorded at the owner, or confirmed by
 * the owner's answer at the filing node; EV_PENDING: taken here and sent
 * to the owner) followed by the packed Evaluation (the comment sealed to
 * the owner). */
#include "evaluate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "assertion.h"
#include "case.h"
#include "cases.h"
#include "complaint.h"
#include "crypto.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "evaluation.h"
#include "log.h"
#include "registry.h"
#include "replica_read.h"
#include "store.h"
#include "supervision.h"
#include "util.h"

#define EV_RATED 'R'
#define EV_PENDING 'P'
#define EV_CHANNEL_MAX 4 /* CaseChannel: unspecified, web, mobile, hall, hotline */

/* The stored rating of case id: 0 with *state and *ev (the caller frees it
 * with onestop__evaluation__free_unpacked), OS_ENOTFOUND, OS_EDECODE, or a
 * store error. */
static int ev_get(struct spoke *sp, struct store_txn *t, const uint8_t *id, char *state,
		  Onestop__Evaluation **ev)
{
	const void *v;
	size_t vl;
	*ev = NULL;
	int rc = store_get(t, sp->db_evaluations, id, CASES_ID_LEN, &v, &vl);
	if (rc < 0)
		return rc;
	if (vl < 1)
		return OS_EDECODE;
	*state = ((const char *)v)[0];
	if (!(*ev = onestop__evaluation__unpack(NULL, vl - 1, (const uint8_t *)v + 1)))
		return OS_EDECODE;
	return 0;
}

/* Store ev as the rating of its case, in state. 0, OS_ENOMEM or a store
 * error. */
static int ev_put(struct spoke *sp, struct store_txn *t, const uint8_t *id, char state,
		  const Onestop__Evaluation *ev)
{
	size_t len = onestop__evaluation__get_packed_size(ev);
	uint8_t *buf = malloc(len + 1);
	if (!buf)
		return OS_ENOMEM;
	buf[0] = (uint8_t)state;
	onestop__evaluation__pack(ev, buf + 1);
	int rc = store_put(t, sp->db_evaluations, id, CASES_ID_LEN, buf, len + 1);
	free(buf);
	return rc;
}

/* Queue an EvaluationMessage m to dest. 0 or OS_ENOMEM. */
static int ev_send(struct spoke *sp, const char *dest, const Onestop__EvaluationMessage *m)
{
	size_t len = onestop__evaluation_message__get_packed_size(m);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		return OS_ENOMEM;
	onestop__evaluation_message__pack(m, buf);
	return casework_queue(sp, dest, EVALUATE_TYPE, buf, len);
}

/* The owner's answer to the taking or filing node: code 0 (recorded) or
 * the refusal; score the rating recorded (0 if none). */
static int ev_answer(struct spoke *sp, const char *dest, const uint8_t *id, int code,
		     const char *reason, uint32_t score)
{
	Onestop__EvaluationMessage m = ONESTOP__EVALUATION_MESSAGE__INIT;
	m.case_id.data = (uint8_t *)id;
	m.case_id.len = CASES_ID_LEN;
	m.code = code;
	m.reason = code && reason ? (char *)reason : NULL;
	m.score = score;
	return ev_send(sp, dest, &m);
}

struct ev_first {
	uint64_t at_ms;
};

static int ev_first_visit(void *arg, uint64_t seq, uint64_t at_ms, const char *actor,
			  const uint8_t *step, size_t len)
{
	struct ev_first *f = arg;
	(void)seq;
	(void)actor;
	Onestop__CaseTransition *tr = onestop__case_transition__unpack(NULL, len, step);
	f->at_ms = tr ? tr->at_ms : at_ms;
	if (tr)
		onestop__case_transition__free_unpacked(tr, NULL);
	return 1;
}

/* At the owner: tell the supervision stream that case id (ci) was rated
 * score through channel at at_ms. An event that cannot be made is logged
 * and skipped. 0, OS_ENOMEM or a store error. */
static int ev_emit(struct spoke *sp, struct store_txn *t, const uint8_t *id,
		   const struct cases_info *ci, uint32_t score, uint32_t channel, uint64_t at_ms)
{
	struct casework_item item;
	struct ev_first first = {0};
	struct sv_event ev;
	struct replica_entry *e;
	char region[OS_NAME_MAX] = "";
	int rc;

	if (!casework_stream_wanted(sp))
		return 0;
	if ((rc = cases_history(sp, t, id, ev_first_visit, &first)) < 0)
		return rc == OS_EDECODE ? 0 : rc;
	if (!(e = malloc(sizeof *e)))
		return OS_ENOMEM;
	if (casework_item_get(sp, e, ci->item, &item) < 0)
		memset(&item, 0, sizeof item);
	free(e);
	if (complaint_region(ci->rec.owner, region, sizeof region) < 0)
		region[0] = '\0';
	struct sv_case_facts f = {
		.case_id = id,
		.seq = 1,
		.item = ci->item,
		.item_kind = item.kind,
		.owner = ci->rec.owner,
		.filer = ci->rec.filer,
		.region = region,
		.outcome = (uint32_t)ci->rec.outcome,
		.filed_ms = first.at_ms,
		.accepted_ms = ci->accepted_ms,
		.promised_due_ms = ci->promised_due_ms,
		.legal_due_ms = ci->legal_due_ms,
	};
	rc = sv_from_evaluation(&f, score, channel, at_ms, &ev);
	if (rc < 0) {
		char hex[2 * CASES_ID_LEN + 1];
		os_hex(hex, id, CASES_ID_LEN);
		os_log(OS_LOG_WARN, "supervision_event_skipped", "case=%s evaluation code=%s", hex,
		       os_errname(rc));
		return 0;
	}
	return casework_event(sp, t, &ev);
}

/* ------------------------------------------------------------ the API */

static int ev_reply(uint64_t request_id, const char *owner, int pending, struct casework_write *w)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__RateResult res = ONESTOP__RATE_RESULT__INIT;
	res.owner = (char *)owner;
	res.pending = pending != 0;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_RATE;
	rep.rate = &res;
	w->reply_len = onestop__api_reply__get_packed_size(&rep);
	if (!(w->reply = malloc(w->reply_len ? w->reply_len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(&rep, w->reply);
	return 0;
}

/* Verify the applicant's assertion for this node as a filing does (the
 * node's policy, the subject's identity entry). 0 or the refusal, why
 * set. */
static int ev_verify_here(struct spoke *sp, const ProtobufCBinaryData *as, uint64_t wall,
			  struct assertion *a, char *why, size_t size)
{
	struct replica_entry *e = malloc(sizeof *e);
	if (!e) {
		snprintf(why, size, "out of memory");
		return OS_ENOMEM;
	}
	struct assertion_policy pol = {
		.node = sp->conf.name,
		.any_audience = sp->conf.assertion_any_audience,
		.max_validity_s = (uint32_t)sp->conf.assertion_max_validity_s,
	};
	memset(a, 0, sizeof *a);
	int arc = assertion_verify_at(as->data, as->len, sp->reg, &pol, wall, a, why, size);
	if (arc == 0) {
		int src = casework_lookup(sp, DS_IDENTITY, a->subject, e);
		if (src == 0) {
			arc = assertion_check_subject(a, e->value, e->value_len, 0, why, size);
		} else if (src == OS_ENOTFOUND) {
			const struct reg_dataset *rd = registry_find_dataset(sp->reg, DS_IDENTITY);
			if (rd && rd->mode == REG_DS_FULL)
				arc = assertion_check_subject(a, NULL, 0, 0, why, size);
		} else {
			arc = src;
			snprintf(why, size, "the identities could not be read: %s",
				 os_strerror(src));
		}
	}
	free(e);
	return arc;
}

/* A rating taken at a node that holds no copy of the case: the score, the
 * comment and the assertion are checked here, the rest by the owner q
 * names. 0 or a store error (w set). */
static int ev_rate_elsewhere(struct spoke *sp, struct store_txn *t, uint64_t request_id,
			     const Onestop__RateRequest *q, struct casework_write *w)
{
	Onestop__Evaluation ev = ONESTOP__EVALUATION__INIT;
	Onestop__Evaluation *old = NULL;
	ProtobufCBinaryData sealed = {0, NULL};
	struct assertion a;
	char why[CASEWORK_MSG_MAX] = "", hex[2 * CASES_ID_LEN + 1], state;
	uint64_t wall = os_now_ms();
	int rc = 0;

	os_hex(hex, q->case_id.data, CASES_ID_LEN);
	if (os_name_valid(q->owner) != 0 || strcmp(q->owner, sp->conf.name) == 0) {
		casework_write_fail(w, OS_EINVAL, "owner: the node name of the case's owner");
		return 0;
	}
	const struct reg_node *on = registry_find(sp->reg, q->owner);
	if (!on || !registry_node_active(on)) {
		casework_write_fail(w, on ? OS_EREVOKED : OS_EUNKNOWN, "%s is not an active node",
				    q->owner);
		return 0;
	}
	int arc = ev_verify_here(sp, &q->assertion, wall, &a, why, sizeof why);
	if (arc < 0) {
		casework_write_fail(w, arc, "%s", why[0] ? why : os_strerror(arc));
		return 0;
	}
	rc = ev_get(sp, t, q->case_id.data, &state, &old);
	if (old)
		onestop__evaluation__free_unpacked(old, NULL);
	if (rc == 0 || rc == OS_EDECODE) {
		casework_write_fail(w, OS_EEXIST,
				    "case %s was rated here already, or its rating waits", hex);
		return 0;
	}
	if (rc != OS_ENOTFOUND)
		return spoke_wrote(sp, rc);
	if (!casework_room(sp, 1)) {
		casework_write_fail(w, OS_EFULL, "the outbox is full; retry later");
		return 0;
	}
	if (q->comment.len > 0) {
		size_t cap = q->comment.len + CRYPTO_SEAL_OVERHEAD;
		if (!(sealed.data = malloc(cap)) ||
		    crypto_seal(on->box_pk, q->comment.data, q->comment.len, sealed.data, cap,
				&sealed.len) != 0) {
			free(sealed.data);
			casework_write_fail(w, OS_ENOMEM, "the comment could not be sealed to %s",
					    q->owner);
			return 0;
		}
	}
	ev.case_id = q->case_id;
	ev.score = q->score;
	ev.comment = sealed;
	ev.taken_by = sp->conf.name;
	ev.channel = q->channel;
	ev.assertion = q->assertion;
	ev.at_ms = casework_now_ms();
	ev.owner = q->owner;
	why[0] = '\0';
	rc = assertion_replay_claim(t, sp->db_assert_seen, &a, wall, why, sizeof why);
	if (rc == OS_EREPLAY || rc == OS_EINVAL) {
		casework_write_fail(w, rc, "%s", why[0] ? why : "the assertion was used before");
		rc = 0;
		goto out;
	}
	Onestop__EvaluationMessage m = ONESTOP__EVALUATION_MESSAGE__INIT;
	m.evaluation = &ev;
	if (rc < 0 || (rc = ev_put(sp, t, q->case_id.data, EV_PENDING, &ev)) < 0 ||
	    (rc = ev_send(sp, q->owner, &m)) < 0) {
		spoke_wrote(sp, rc);
		goto out;
	}
	spoke_wrote(sp, 0);
	if (ev_reply(request_id, q->owner, 1, w) < 0)
		casework_write_fail(w, OS_ENOMEM, "out of memory");
	os_log(OS_LOG_INFO, "evaluation_sent", "case=%s score=%u owner=%s taken_by=%s", hex,
	       q->score, q->owner, sp->conf.name);
out:
	free(sealed.data);
	return rc < 0 ? rc : 0;
}

int evaluate_rate(struct spoke *sp, uint64_t request_id, const Onestop__RateRequest *q,
		  struct casework_write *w)
{
	struct cases_info *ci = NULL;
	struct store_txn *t = NULL;
	Onestop__Evaluation *old = NULL;
	Onestop__Evaluation ev = ONESTOP__EVALUATION__INIT;
	ProtobufCBinaryData sealed = {0, NULL};
	struct assertion a;
	char hex[2 * CASES_ID_LEN + 1];
	char why[CASEWORK_MSG_MAX] = "";
	const char *me = sp->conf.name;
	uint64_t wall = os_now_ms(), now = casework_now_ms();
	char state;
	int rc = 0;

	memset(w, 0, sizeof *w);
	if (!q || q->case_id.len != CASES_ID_LEN) {
		casework_write_fail(w, OS_EINVAL, "case_id: %u bytes", CASES_ID_LEN);
		goto out;
	}
	os_hex(hex, q->case_id.data, CASES_ID_LEN);
	if (q->score < EVALUATION_SCORE_MIN || q->score > EVALUATION_SCORE_MAX) {
		casework_write_fail(w, OS_EINVAL, "score: 1..5");
		goto out;
	}
	if (q->comment.len > EVALUATION_COMMENT_MAX) {
		w->code = OS_EINVAL;
		snprintf(w->msg, sizeof w->msg, "comment: at most %u bytes, %zu given",
			 EVALUATION_COMMENT_MAX, q->comment.len);
		goto out;
	}
	if ((unsigned)q->channel > EV_CHANNEL_MAX) {
		casework_write_fail(w, OS_EINVAL, "channel: web, mobile, hall or hotline");
		goto out;
	}
	if (spoke_registry_expired(sp, wall)) {
		casework_write_fail(
			w, OS_EEXPIRED,
			"the registry has expired; ratings are refused until a current one "
			"arrives");
		goto out;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		goto out;
	if (!(ci = malloc(sizeof *ci))) {
		casework_write_fail(w, OS_ENOMEM, "out of memory");
		goto out;
	}
	rc = cases_get(sp, t, q->case_id.data, ci);
	if (rc == OS_ENOTFOUND && q->owner && q->owner[0]) {
		rc = ev_rate_elsewhere(sp, t, request_id, q, w);
		goto out;
	}
	if (rc == OS_ENOTFOUND) {
		w->code = OS_ENOTFOUND;
		snprintf(w->msg, sizeof w->msg,
			 "this node holds no case %s; name its owner to rate it here", hex);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		w->code = rc;
		snprintf(w->msg, sizeof w->msg, "case %s could not be read: %s", hex,
			 os_strerror(rc));
		rc = 0;
		goto out;
	}

	/* The applicant's assertion, verified here for this node. */
	int arc = ev_verify_here(sp, &q->assertion, wall, &a, why, sizeof why);
	if (arc < 0) {
		w->code = arc;
		snprintf(w->msg, sizeof w->msg, "%s", why[0] ? why : os_strerror(arc));
		goto out;
	}

	/* The case's rules, against what this node holds. */
	int rated = 0;
	rc = ev_get(sp, t, q->case_id.data, &state, &old);
	if (rc == 0 || rc == OS_EDECODE)
		rated = 1;
	else if (rc != OS_ENOTFOUND) {
		spoke_wrote(sp, rc);
		goto out;
	}
	rc = 0;
	struct evaluation_request er = {.score = q->score,
					.comment_len = q->comment.len,
					.subject = a.subject};
	int erc = evaluation_check(&ci->rec, ci->subject, &er, rated);
	if (erc < 0) {
		w->code = erc;
		if (erc == OS_ESUBJECT)
			snprintf(w->msg, sizeof w->msg,
				 "the assertion's subject is not the applicant of case %s", hex);
		else if (erc == OS_ESTATE)
			snprintf(w->msg, sizeof w->msg, "case %s is %s: only a decision is rated",
				 hex, case_state_name(ci->rec.state));
		else if (erc == OS_EEXIST)
			snprintf(w->msg, sizeof w->msg, "case %s was rated already (once per case)",
				 hex);
		else
			snprintf(w->msg, sizeof w->msg, "the rating is malformed: %s",
				 os_strerror(erc));
		goto out;
	}

	/* Where it goes: recorded here at the owner, else sent to it. */
	const char *owner = ci->rec.owner;
	int at_owner = strcmp(owner, me) == 0;
	int tell_filer = at_owner && strcmp(ci->rec.filer, me) != 0;
	const struct reg_node *on = registry_find(sp->reg, owner);
	if (!on || !registry_node_active(on)) {
		w->code = on ? OS_EREVOKED : OS_EUNKNOWN;
		snprintf(w->msg, sizeof w->msg, "the case's owner %s is not an active node", owner);
		goto out;
	}
	if ((!at_owner || tell_filer) && !casework_room(sp, 1)) {
		casework_write_fail(w, OS_EFULL, "the outbox is full; retry later");
		goto out;
	}
	if (q->comment.len > 0) {
		size_t cap = q->comment.len + CRYPTO_SEAL_OVERHEAD;
		if (!(sealed.data = malloc(cap)) ||
		    crypto_seal(on->box_pk, q->comment.data, q->comment.len, sealed.data, cap,
				&sealed.len) != 0) {
			casework_write_fail(w, OS_ENOMEM, "the comment could not be sealed to %s",
					    owner);
			goto out;
		}
	}
	ev.case_id = q->case_id;
	ev.score = q->score;
	ev.comment = sealed;
	ev.taken_by = (char *)me;
	ev.channel = q->channel;
	ev.assertion = q->assertion;
	ev.at_ms = now;

	/* Spent only now that everything else holds. */
	why[0] = '\0';
	rc = assertion_replay_claim(t, sp->db_assert_seen, &a, wall, why, sizeof why);
	if (rc == OS_EREPLAY || rc == OS_EINVAL) {
		w->code = rc;
		snprintf(w->msg, sizeof w->msg, "%s",
			 why[0] ? why : "the assertion was used before");
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		spoke_wrote(sp, rc);
		goto out;
	}
	if ((rc = spoke_wrote(sp, ev_put(sp, t, q->case_id.data, at_owner ? EV_RATED : EV_PENDING,
					 &ev))) < 0)
		goto out;
	if (at_owner) {
		if ((rc = spoke_wrote(sp, ev_emit(sp, t, q->case_id.data, ci, q->score,
						  (uint32_t)q->channel, now))) < 0)
			goto out;
		if (tell_filer &&
		    (rc = spoke_wrote(sp, ev_answer(sp, ci->rec.filer, q->case_id.data, 0, NULL,
						    q->score))) < 0)
			goto out;
	} else {
		Onestop__EvaluationMessage m = ONESTOP__EVALUATION_MESSAGE__INIT;
		m.evaluation = &ev;
		if ((rc = spoke_wrote(sp, ev_send(sp, owner, &m))) < 0)
			goto out;
	}
	if (ev_reply(request_id, owner, !at_owner, w) < 0) {
		casework_write_fail(w, OS_ENOMEM, "out of memory");
		goto out;
	}
	os_log(OS_LOG_INFO, at_owner ? "evaluation_recorded" : "evaluation_sent",
	       "case=%s score=%u owner=%s taken_by=%s", hex, q->score, owner, me);
out:
	if (old)
		onestop__evaluation__free_unpacked(old, NULL);
	free(sealed.data);
	free(ci);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ receipt */

/* Verify the assertion a rating came with, at the owner: signed by an
 * active idp of the registry, for the taking node (origin), at the
 * rating's time; an assertion whose window does not hold at_ms (the
 * taking node checked it on its own clock when it took the rating) is
 * checked at its own issuing time, so that a late delivery is never
 * refused for expiry. 0 or the refusal, why set. */
static int ev_verify_there(struct spoke *sp, const Onestop__Evaluation *ev, const char *origin,
			   struct assertion *a, char *why, size_t size)
{
	memset(a, 0, sizeof *a);
	int rc = assertion_verify(ev->assertion.data, ev->assertion.len, sp->reg, origin, ev->at_ms,
				  a, why, size);
	if (rc == OS_EEXPIRED && a->issued_ms != 0) {
		uint64_t at = a->issued_ms;
		why[0] = '\0';
		memset(a, 0, sizeof *a);
		rc = assertion_verify(ev->assertion.data, ev->assertion.len, sp->reg, origin, at, a,
				      why, size);
	}
	return rc;
}

/* A rating, at the owner of its case. */
static int ev_recv_rating(struct spoke *sp, struct store_txn *t, const struct env *e,
			  const Onestop__Evaluation *ev, int *refusal, int *deliver, char *why,
			  size_t size)
{
	struct cases_info *ci = NULL;
	Onestop__Evaluation *old = NULL;
	struct assertion a;
	char hex[2 * CASES_ID_LEN + 1];
	char state;
	int rc = 0;

	if (ev->case_id.len != CASES_ID_LEN) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "case_id is not %u bytes", CASES_ID_LEN);
		return 0;
	}
	os_hex(hex, ev->case_id.data, CASES_ID_LEN);
	if (!(ci = malloc(sizeof *ci)))
		return OS_ENOMEM;
	rc = cases_get(sp, t, ev->case_id.data, ci);
	if (rc == OS_ENOTFOUND || rc == OS_EDECODE) {
		/* The taking node named the wrong owner: it learns so. */
		*refusal = OS_ENOTFOUND;
		snprintf(why, size, "no case %s at this node", hex);
		rc = ev_answer(sp, e->origin, ev->case_id.data, OS_ENOTFOUND, why, 0);
		goto out;
	}
	if (rc < 0)
		goto out;
	if (strcmp(ci->rec.owner, sp->conf.name) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "this node does not own case %s", hex);
		rc = ev_answer(sp, e->origin, ev->case_id.data, OS_ENOTALLOWED, why, 0);
		goto out;
	}
	if (!ev->taken_by || strcmp(ev->taken_by, e->origin) != 0 ||
	    (ev->owner && ev->owner[0] && strcmp(ev->owner, sp->conf.name) != 0)) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size,
			 "a rating of case %s is sent by the node that took it, to "
			 "its owner",
			 hex);
		goto out;
	}
	size_t clen = ev->comment.len;
	if ((unsigned)ev->channel > EV_CHANNEL_MAX || ev->at_ms == 0 ||
	    (clen > 0 && clen <= CRYPTO_SEAL_OVERHEAD) ||
	    clen > EVALUATION_COMMENT_MAX + CRYPTO_SEAL_OVERHEAD) {
		*refusal = OS_EINVAL;
		snprintf(why, size,
			 "the rating of case %s has a malformed channel, time or comment", hex);
		goto out;
	}

	/* A redelivery of the rating recorded is dropped silently. */
	int rated = 0;
	uint32_t recorded = 0;
	rc = ev_get(sp, t, ev->case_id.data, &state, &old);
	if (rc == 0) {
		rated = 1;
		recorded = old->score;
		if (old->score == ev->score && old->at_ms == ev->at_ms && old->taken_by &&
		    strcmp(old->taken_by, ev->taken_by) == 0)
			goto out;
	} else if (rc == OS_EDECODE) {
		rated = 1;
	} else if (rc != OS_ENOTFOUND) {
		goto out;
	}
	rc = 0;

	int code = ev_verify_there(sp, ev, e->origin, &a, why, size);
	if (code == 0) {
		struct evaluation_request er = {.score = ev->score,
						.comment_len =
							clen ? clen - CRYPTO_SEAL_OVERHEAD : 0,
						.subject = a.subject};
		code = evaluation_check(&ci->rec, ci->subject, &er, rated);
		if (code == OS_ESUBJECT)
			snprintf(why, size,
				 "the assertion's subject is not the applicant of case %s", hex);
		else if (code == OS_ESTATE)
			snprintf(why, size, "case %s is %s: only a decision is rated", hex,
				 case_state_name(ci->rec.state));
		else if (code == OS_EEXIST)
			snprintf(why, size, "case %s was rated already (once per case)", hex);
		else if (code < 0)
			snprintf(why, size, "the rating of case %s is malformed", hex);
	}
	if (code < 0) {
		/* The filing node learns why, and forgets its pending rating
		 * (or, for EEXIST, learns the score recorded). */
		*refusal = code;
		os_log(OS_LOG_INFO, "evaluation_refused", "case=%s from=%s code=%s", hex, e->origin,
		       os_errname(code));
		rc = ev_answer(sp, e->origin, ev->case_id.data, code, why,
			       code == OS_EEXIST ? recorded : 0);
		goto out;
	}
	if ((rc = ev_put(sp, t, ev->case_id.data, EV_RATED, ev)) < 0 ||
	    (rc = ev_emit(sp, t, ev->case_id.data, ci, ev->score, (uint32_t)ev->channel,
			  ev->at_ms)) < 0 ||
	    (rc = ev_answer(sp, e->origin, ev->case_id.data, 0, NULL, ev->score)) < 0)
		goto out;
	/* Taken elsewhere: the filing node learns that the case is rated. */
	if (strcmp(e->origin, ci->rec.filer) != 0 && strcmp(ci->rec.filer, sp->conf.name) != 0 &&
	    (rc = ev_answer(sp, ci->rec.filer, ev->case_id.data, 0, NULL, ev->score)) < 0)
		goto out;
	*deliver = 1;
	os_log(OS_LOG_INFO, "evaluation_recorded", "case=%s score=%u owner=%s taken_by=%s", hex,
	       ev->score, sp->conf.name, e->origin);
out:
	if (old)
		onestop__evaluation__free_unpacked(old, NULL);
	free(ci);
	return rc;
}

/* The owner's answer, at the filing node. */
static int ev_recv_answer(struct spoke *sp, struct store_txn *t, const struct env *e,
			  const Onestop__EvaluationMessage *m, int *refusal, int *deliver,
			  char *why, size_t size)
{
	struct cases_info *ci = NULL;
	Onestop__Evaluation *old = NULL;
	char hex[2 * CASES_ID_LEN + 1];
	char state = 0;
	int rc;

	if (m->case_id.len != CASES_ID_LEN || m->code > 0 ||
	    (m->code == 0 &&
	     (m->score < EVALUATION_SCORE_MIN || m->score > EVALUATION_SCORE_MAX))) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "an answer names a case (%u bytes), a code <= 0 and its score",
			 CASES_ID_LEN);
		return 0;
	}
	os_hex(hex, m->case_id.data, CASES_ID_LEN);
	if (!(ci = malloc(sizeof *ci)))
		return OS_ENOMEM;
	rc = cases_get(sp, t, m->case_id.data, ci);
	if (rc == OS_ENOTFOUND || rc == OS_EDECODE) {
		/* Taken here without a copy of the case: the answer of the
		 * owner it was sent to. */
		rc = ev_get(sp, t, m->case_id.data, &state, &old);
		if (rc < 0 && rc != OS_ENOTFOUND && rc != OS_EDECODE)
			goto out;
		rc = 0;
		if (!old || state != EV_PENDING || !old->owner ||
		    strcmp(old->owner, e->origin) != 0) {
			*refusal = OS_ENOTFOUND;
			snprintf(why, size, "no case %s and no rating of it waiting here", hex);
			goto out;
		}
		if (m->code == 0 || m->code == OS_EEXIST)
			rc = ev_put(sp, t, m->case_id.data, EV_RATED, old);
		else
			rc = store_del(t, sp->db_evaluations, m->case_id.data, CASES_ID_LEN);
		if (rc == 0) {
			*deliver = 1;
			os_log(OS_LOG_INFO, "evaluation_answered", "case=%s owner=%s code=%s", hex,
			       e->origin, m->code ? os_errname(m->code) : "0");
		}
		goto out;
	}
	if (rc < 0)
		goto out;
	if (strcmp(e->origin, ci->rec.owner) != 0 || strcmp(ci->rec.filer, sp->conf.name) != 0 ||
	    strcmp(ci->rec.owner, ci->rec.filer) == 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "only the owner of case %s answers its ratings, to its filer",
			 hex);
		goto out;
	}
	rc = ev_get(sp, t, m->case_id.data, &state, &old);
	if (rc < 0 && rc != OS_ENOTFOUND && rc != OS_EDECODE)
		goto out;
	rc = 0;
	int rated = m->code == 0 || (m->code == OS_EEXIST && m->score >= EVALUATION_SCORE_MIN &&
				     m->score <= EVALUATION_SCORE_MAX);
	if (rated) {
		if (old && state == EV_RATED && old->score == m->score)
			goto out; /* told before */
		Onestop__Evaluation fresh = ONESTOP__EVALUATION__INIT;
		Onestop__Evaluation *keep = old ? old : &fresh;
		fresh.case_id = m->case_id;
		keep->score = m->score;
		if ((rc = ev_put(sp, t, m->case_id.data, EV_RATED, keep)) < 0)
			goto out;
	} else if (old && state == EV_PENDING) {
		/* Refused: the applicant may rate again. */
		if ((rc = store_del(t, sp->db_evaluations, m->case_id.data, CASES_ID_LEN)) < 0)
			goto out;
	}
	*deliver = 1;
	os_log(OS_LOG_INFO, "evaluation_answered", "case=%s owner=%s code=%s score=%u", hex,
	       e->origin, m->code ? os_errname(m->code) : "0", m->score);
out:
	if (old)
		onestop__evaluation__free_unpacked(old, NULL);
	free(ci);
	return rc;
}

static int ev_receive(void *ctx, struct store_txn *t, const struct env *e, int *refusal,
		      int *deliver, char *why, size_t size)
{
	struct spoke *sp = ctx;
	*refusal = 0;
	*deliver = 0;
	why[0] = '\0';
	if (strcmp(e->destination, sp->conf.name) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "an evaluation message goes to a node, not a topic");
		return 0;
	}
	Onestop__EvaluationMessage *m =
		onestop__evaluation_message__unpack(NULL, e->payload_len, e->payload);
	if (!m) {
		*refusal = OS_EDECODE;
		snprintf(why, size, "the payload is not an EvaluationMessage");
		return 0;
	}
	int rc = 0;
	if (m->evaluation)
		rc = ev_recv_rating(sp, t, e, m->evaluation, refusal, deliver, why, size);
	else
		rc = ev_recv_answer(sp, t, e, m, refusal, deliver, why, size);
	onestop__evaluation_message__free_unpacked(m, NULL);
	return rc;
}

int evaluate_open(struct spoke *sp)
{
	sp->type_hooks[3] = (struct spoke_type_hook){EVALUATE_TYPE, ev_receive, sp};
	return 0;
}
