/* Complaints and consultations at a spoke (docs/PROTOCOL.md 12.2): each
 * party keeps the complaint (db_complaints: id -> struct cp_rec), its
 * filing and steps (db_complaint_hist: id || seq -> packed Complaint at
 * seq 0, packed ComplaintTransition after) and two indexes
 * (db_complaint_idx: 'd' || due || id while an answer is awaited, for the
 * overdue listing; 'p' || id -> this node's step waiting for the handler).
 * The handler orders the history and tells each step to the others and to
 * the supervision stream. */
#include "complaints.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "assertion.h"
#include "calendar.h"
#include "cases.h"
#include "complaint.h"
#include "crypto.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "outbox.h"
#include "registry.h"
#include "replica.h"
#include "replica_read.h"
#include "store.h"
#include "supervision.h"
#include "util.h"

#define CP_ID_LEN 16
#define CP_TEXT_MAX 4000u     /* a complaint's text or an answer, bytes before sealing */
#define CP_REASON_MAX 1000u   /* a step's reason */
#define CP_KEY_MAX 120u       /* a filing's idempotency key */
#define CP_KEY_TAG "\0cplt\0" /* what sets complaint keys apart from others */
#define CP_KEY_TAG_LEN 6u
#define CP_LIST_DEFAULT 100u
#define CP_LIST_MAX 10000u
#define CP_HIST_KEY (CP_ID_LEN + 8)
#define CP_DUE_KEY (1 + 8 + CP_ID_LEN)

/* What a party keeps of a complaint. Fixed size, no pointers: stored as
 * its bytes. */
struct cp_rec {
	struct complaint_record r;
	uint32_t channel;
	uint8_t anonymous;
	uint8_t pending; /* this node's action waiting for the handler, 0 none */
	uint64_t pending_seq;
	uint64_t filed_ms;
	uint64_t due_ms; /* while an answer is awaited, else 0 */
	char about[DS_KEY_MAX + 8];
	char region[OS_NAME_MAX];
	char concerns[OS_NAME_MAX]; /* the department concerned ("" from an old filing) */
	char item[SV_TEXT_MAX];
	char item_kind[64];
};

static void cp_hex(char out[2 * CP_ID_LEN + 1], const uint8_t *id)
{
	os_hex(out, id, CP_ID_LEN);
}

static int cp_store_error(int rc)
{
	return rc == OS_ESTORE || rc == OS_ESTOREFULL || rc == OS_ENOMEM;
}

/* ------------------------------------------------------------ the store */

static int cp_get(struct spoke *sp, struct store_txn *t, const uint8_t *id, struct cp_rec *out)
{
	const void *v;
	size_t vl;
	int rc = store_get(t, sp->db_complaints, id, CP_ID_LEN, &v, &vl);
	if (rc < 0)
		return rc;
	if (vl != sizeof *out)
		return OS_EDECODE;
	memcpy(out, v, sizeof *out);
	return 0;
}

static void cp_due_key(uint8_t k[CP_DUE_KEY], uint64_t due, const uint8_t *id)
{
	k[0] = 'd';
	os_put_u64be(k + 1, due);
	memcpy(k + 9, id, CP_ID_LEN);
}

/* Store rec under id, moving its due index entry from old_due. */
static int cp_put(struct spoke *sp, struct store_txn *t, const uint8_t *id,
		  const struct cp_rec *rec, uint64_t old_due)
{
	uint8_t k[CP_DUE_KEY];
	int rc;
	if (old_due != rec->due_ms) {
		if (old_due) {
			cp_due_key(k, old_due, id);
			rc = store_del(t, sp->db_complaint_idx, k, sizeof k);
			if (rc < 0 && rc != OS_ENOTFOUND)
				return rc;
		}
		if (rec->due_ms) {
			cp_due_key(k, rec->due_ms, id);
			if ((rc = store_put(t, sp->db_complaint_idx, k, sizeof k, "", 0)) < 0)
				return rc;
		}
	}
	return store_put(t, sp->db_complaints, id, CP_ID_LEN, rec, sizeof *rec);
}

static void cp_hist_key(uint8_t k[CP_HIST_KEY], const uint8_t *id, uint64_t seq)
{
	memcpy(k, id, CP_ID_LEN);
	os_put_u64be(k + CP_ID_LEN, seq);
}

static int cp_hist_put(struct spoke *sp, struct store_txn *t, const uint8_t *id, uint64_t seq,
		       const uint8_t *buf, size_t len)
{
	uint8_t k[CP_HIST_KEY];
	cp_hist_key(k, id, seq);
	return store_put(t, sp->db_complaint_hist, k, sizeof k, buf, len);
}

static void cp_pending_key(uint8_t k[1 + CP_ID_LEN], const uint8_t *id)
{
	k[0] = 'p';
	memcpy(k + 1, id, CP_ID_LEN);
}

/* The filing as stored (seq 0), unpacked; NULL when absent. */
static Onestop__Complaint *cp_filing(struct spoke *sp, struct store_txn *t, const uint8_t *id)
{
	uint8_t k[CP_HIST_KEY];
	const void *v;
	size_t vl;
	cp_hist_key(k, id, 0);
	if (store_get(t, sp->db_complaint_hist, k, sizeof k, &v, &vl) < 0)
		return NULL;
	return onestop__complaint__unpack(NULL, vl, v);
}

/* ------------------------------------------------------------ packing */

static uint8_t *cp_pack_tr(const Onestop__ComplaintTransition *tr, size_t *len)
{
	*len = onestop__complaint_transition__get_packed_size(tr);
	uint8_t *b = malloc(*len ? *len : 1);
	if (b)
		onestop__complaint_transition__pack(tr, b);
	return b;
}

static uint8_t *cp_pack_msg(const Onestop__ComplaintMessage *m, size_t *len)
{
	*len = onestop__complaint_message__get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	if (b)
		onestop__complaint_message__pack(m, b);
	return b;
}

/* Queue a message of the given shape for dest. 0 or OS_ENOMEM. */
static int cp_send(struct spoke *sp, const char *dest, Onestop__Complaint *filing,
		   Onestop__ComplaintTransition **steps, size_t n_steps,
		   Onestop__ComplaintRefusal *refusal)
{
	Onestop__ComplaintMessage m = ONESTOP__COMPLAINT_MESSAGE__INIT;
	size_t len;
	m.filing = filing;
	m.steps = steps;
	m.n_steps = n_steps;
	m.refusal = refusal;
	uint8_t *b = cp_pack_msg(&m, &len);
	if (!b)
		return OS_ENOMEM;
	return casework_queue(sp, dest, COMPLAINTS_TYPE, b, len);
}

/* ------------------------------------------------------------ applying */

/* The response deadline after a step made at at_ms: set by FILE and
 * REOPEN, kept while an answer is awaited, 0 once answered or closed. */
static uint64_t cp_next_due(struct spoke *sp, const struct cp_rec *rec, int action, uint64_t at_ms)
{
	uint64_t due = 0;
	if (!complaint_state_awaiting(rec->r.state))
		return 0;
	if (action == COMPLAINT_ACT_FILE || action == COMPLAINT_ACT_REOPEN) {
		if (cal_due(casework_cal(sp), at_ms, (uint32_t)sp->conf.complaint_days, &due) < 0)
			due = 0;
		return due;
	}
	return rec->due_ms;
}

/* Tell the supervision stream the step the handler applied. */
static int cp_emit(struct spoke *sp, struct store_txn *t, const uint8_t *id,
		   const struct cp_rec *rec, const Onestop__ComplaintTransition *tr)
{
	struct sv_event ev;
	if (!casework_stream_wanted(sp))
		return 0;
	struct sv_complaint_facts f = {
		.complaint_id = id,
		.seq = tr->seq,
		.complaint_kind = (uint32_t)rec->r.kind,
		.item = rec->item,
		.item_kind = rec->item_kind,
		.department = rec->concerns[0] ? rec->concerns : rec->r.handler,
		.filer = rec->r.filer,
		.region = rec->region,
		.channel = rec->channel,
		.state = (uint32_t)rec->r.state,
		.action = (uint32_t)tr->action,
		.at_ms = tr->at_ms,
		.filed_ms = rec->filed_ms,
		.due_ms = rec->due_ms,
	};
	int rc = sv_from_complaint(&f, &ev);
	if (rc < 0) {
		char hex[2 * CP_ID_LEN + 1];
		cp_hex(hex, id);
		os_log(OS_LOG_WARN, "supervision_event_skipped", "complaint=%s seq=%llu code=%s",
		       hex, (unsigned long long)tr->seq, os_errname(rc));
		return 0;
	}
	return casework_event(sp, t, &ev);
}

/* Apply step tr to rec (id) in t: checked by complaint_apply, stored with
 * its history entry and the new deadline. *dup: the same step was applied
 * before (nothing changes). 0, a refusal code of complaint_apply (nothing
 * changes), or a store error. */
static int cp_apply(struct spoke *sp, struct store_txn *t, const uint8_t *id, struct cp_rec *rec,
		    const Onestop__ComplaintTransition *tr, int *dup)
{
	size_t len;
	uint8_t *content;
	int rc;
	*dup = 0;
	/* The text resealed for an assignee is not part of what is compared:
	 * parties other than the assignee never see it. */
	Onestop__ComplaintTransition bare = *tr;
	bare.text.data = NULL;
	bare.text.len = 0;
	if (!(content = cp_pack_tr(&bare, &len)))
		return OS_ENOMEM;
	struct complaint_step st = {
		.seq = tr->seq,
		.action = (enum complaint_action)tr->action,
		.actor = tr->actor ? tr->actor : "",
		.assignee = (int)tr->action == COMPLAINT_ACT_ASSIGN ? tr->assignee : NULL,
		.content = content,
		.content_len = len,
	};
	uint64_t old_due = rec->due_ms;
	rc = complaint_apply(&rec->r, &st, dup);
	free(content);
	if (rc < 0 || *dup)
		return rc;
	rec->due_ms = cp_next_due(sp, rec, (int)tr->action, tr->at_ms);
	if (!(content = cp_pack_tr(tr, &len)))
		return OS_ENOMEM;
	rc = cp_hist_put(sp, t, id, tr->seq, content, len);
	free(content);
	if (rc == 0)
		rc = cp_put(sp, t, id, rec, old_due);
	return rc;
}

/* The handler sends the step it applied on to the other parties: the
 * filing node, and the assignee (a new assignee gets the filing and the
 * whole history, with the text resealed to it in the ASSIGN). */
static int cp_tell_parties(struct spoke *sp, struct store_txn *t, const uint8_t *id,
			   const struct cp_rec *rec, Onestop__ComplaintTransition *tr)
{
	const char *me = sp->conf.name;
	int rc = 0;
	if (strcmp(rec->r.filer, me) != 0 &&
	    (rc = cp_send(sp, rec->r.filer, NULL, &tr, 1, NULL)) < 0)
		return rc;
	const char *as = rec->r.assignee;
	if (!as[0] || strcmp(as, me) == 0 || strcmp(as, rec->r.filer) == 0)
		return 0;
	if ((int)tr->action != COMPLAINT_ACT_ASSIGN)
		return cp_send(sp, as, NULL, &tr, 1, NULL);
	/* A new assignee: the filing and every step up to this one. */
	Onestop__Complaint *f = cp_filing(sp, t, id);
	Onestop__ComplaintTransition **steps = calloc(tr->seq, sizeof *steps);
	size_t n = 0;
	rc = f && steps ? 0 : OS_ENOMEM;
	for (uint64_t s = 1; rc == 0 && s < tr->seq; s++) {
		uint8_t k[CP_HIST_KEY];
		const void *v;
		size_t vl;
		cp_hist_key(k, id, s);
		if ((rc = store_get(t, sp->db_complaint_hist, k, sizeof k, &v, &vl)) < 0)
			break;
		if (!(steps[n] = onestop__complaint_transition__unpack(NULL, vl, v)))
			rc = OS_EDECODE;
		else
			n++;
	}
	if (rc == 0) {
		steps[n] = tr;
		rc = cp_send(sp, as, f, steps, n + 1, NULL);
	}
	for (size_t i = 0; i < n; i++)
		onestop__complaint_transition__free_unpacked(steps[i], NULL);
	free(steps);
	if (f)
		onestop__complaint__free_unpacked(f, NULL);
	return rc == OS_EDECODE || rc == OS_ENOTFOUND ? 0 : rc;
}

/* ------------------------------------------------------------ filing */

/* What the complaint concerns: the node whose region it goes to, the
 * item (may be ""), from what this node holds. 0 or a refusal in w. */
static int cp_concern(struct spoke *sp, struct store_txn *t, const struct complaint_about *ab,
		      char *node, char *item, struct casework_write *w)
{
	struct replica_entry *e = malloc(sizeof *e);
	struct casework_item it;
	int rc = 0;
	node[0] = item[0] = '\0';
	if (!e) {
		casework_write_fail(w, OS_ENOMEM, "out of memory");
		return OS_ENOMEM;
	}
	if (ab->kind == COMPLAINT_ABOUT_CASE) {
		struct cases_info *ci = malloc(sizeof *ci);
		char hex[2 * CP_ID_LEN + 1];
		cp_hex(hex, ab->case_id);
		rc = ci ? cases_get(sp, t, ab->case_id, ci) : OS_ENOMEM;
		if (rc == 0) {
			snprintf(node, OS_NAME_MAX, "%s", ci->rec.owner);
			snprintf(item, SV_TEXT_MAX, "%s", ci->item);
		} else if (rc == OS_ENOTFOUND || rc == OS_EDECODE) {
			casework_write_fail(
				w, OS_ENOTFOUND,
				"this node holds no case %s: complain at the node where it was filed",
				hex);
		} else {
			casework_write_fail(w, rc, "case %s could not be read: %s", hex,
					    os_strerror(rc));
		}
		free(ci);
	} else if (ab->kind == COMPLAINT_ABOUT_ITEM) {
		rc = casework_item_get(sp, e, ab->name, &it);
		if (rc == 0) {
			snprintf(node, OS_NAME_MAX, "%s", it.owner);
			snprintf(item, SV_TEXT_MAX, "%s", ab->name);
		} else {
			casework_write_fail(w, rc == OS_ENOTFOUND ? OS_ENOTFOUND : rc,
					    "no item %s here%s%s", ab->name,
					    rc == OS_ENOTFOUND ? "" : ": ",
					    rc == OS_ENOTFOUND ? "" : os_strerror(rc));
		}
	} else {
		const struct reg_node *n = registry_find(sp->reg, ab->name);
		if (!n) {
			casework_write_fail(w, OS_EUNKNOWN, "node %s is not in the registry",
					    ab->name);
			rc = OS_EUNKNOWN;
		} else {
			snprintf(node, OS_NAME_MAX, "%s", ab->name);
		}
	}
	free(e);
	return rc;
}

static void cp_new_id(uint8_t id[CP_ID_LEN], uint64_t now_ms)
{
	crypto_random(id, CP_ID_LEN);
	for (int i = 0; i < 6; i++)
		id[i] = (uint8_t)(now_ms >> (8 * (5 - i)));
}

static void cp_filing_digest(const Onestop__ComplaintFileRequest *q, os_hash out)
{
	Onestop__ComplaintFileRequest c = *q;
	c.key.data = NULL;
	c.key.len = 0;
	size_t len = onestop__complaint_file_request__get_packed_size(&c);
	uint8_t *b = malloc(len ? len : 1);
	if (!b) {
		memset(out, 0, sizeof(os_hash));
		return;
	}
	onestop__complaint_file_request__pack(&c, b);
	crypto_hash(out, b, len);
	free(b);
}

static int cp_reply(uint64_t rid, Onestop__ApiReply *rep, struct casework_write *w)
{
	rep->request_id = rid;
	w->reply_len = onestop__api_reply__get_packed_size(rep);
	if (!(w->reply = malloc(w->reply_len ? w->reply_len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(rep, w->reply);
	return 0;
}

static int cp_reply_file(uint64_t rid, const uint8_t *id, const char *handler, int duplicate,
			 struct casework_write *w)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__ComplaintFileResult r = ONESTOP__COMPLAINT_FILE_RESULT__INIT;
	r.complaint_id.data = (uint8_t *)id;
	r.complaint_id.len = CP_ID_LEN;
	r.handler = (char *)handler;
	r.duplicate = duplicate;
	rep.result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_FILE;
	rep.complaint_file = &r;
	return cp_reply(rid, &rep, w);
}

static int cp_file(struct spoke *sp, uint64_t rid, const Onestop__ComplaintFileRequest *q,
		   struct casework_write *w)
{
	struct store_txn *t = NULL;
	struct complaint_about ab;
	struct assertion a;
	struct cp_rec *rec = NULL;
	struct replica_entry *e = NULL;
	char node[OS_NAME_MAX], region[OS_NAME_MAX], why[256] = "";
	uint8_t kbuf[CP_KEY_TAG_LEN + CP_KEY_MAX], id[CP_ID_LEN];
	size_t klen = 0;
	os_hash digest;
	ProtobufCBinaryData text = {0, NULL};
	const uint64_t now = casework_now_ms();
	int rc = 0, has_assertion = q->assertion.len > 0;

	if ((int)q->kind != COMPLAINT_KIND_COMPLAINT &&
	    (int)q->kind != COMPLAINT_KIND_CONSULTATION) {
		casework_write_fail(w, OS_EINVAL, "kind: complaint or consultation");
		return 0;
	}
	if (!q->about || complaint_about_parse(q->about, &ab) != 0) {
		casework_write_fail(w, OS_EINVAL,
				    "about: case:<32 hex>, item:<code> or node:<name>");
		return 0;
	}
	if ((int)q->kind == COMPLAINT_KIND_CONSULTATION && ab.kind != COMPLAINT_ABOUT_ITEM) {
		casework_write_fail(w, OS_EINVAL,
				    "about: a consultation asks about an item (item:<code>)");
		return 0;
	}
	if (q->text.len == 0 || q->text.len > CP_TEXT_MAX) {
		casework_write_fail(w, OS_EINVAL, "text: 1..%u bytes, %zu given", CP_TEXT_MAX,
				    q->text.len);
		return 0;
	}
	if ((unsigned)q->channel > 4) {
		casework_write_fail(w, OS_EINVAL, "channel: web, mobile, hall or hotline");
		return 0;
	}
	if (q->key.len > CP_KEY_MAX) {
		casework_write_fail(w, OS_EINVAL, "key: at most %u bytes, %zu given", CP_KEY_MAX,
				    q->key.len);
		return 0;
	}
	if ((int)q->kind == COMPLAINT_KIND_COMPLAINT && !has_assertion) {
		casework_write_fail(
			w, OS_EINVAL,
			"assertion: a complaint is filed with the complainant's assertion (only a "
			"consultation may be anonymous)");
		return 0;
	}
	if (q->assertion.len > ASSERTION_MAX_BYTES) {
		casework_write_fail(w, OS_ETOOBIG, "assertion: at most %u bytes",
				    ASSERTION_MAX_BYTES);
		return 0;
	}
	if (spoke_registry_expired(sp, os_now_ms())) {
		casework_write_fail(
			w, OS_EEXPIRED,
			"the registry has expired; complaints are refused until a current one "
			"arrives");
		return 0;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if (q->key.len > 0) {
		os_msgid orig;
		memcpy(kbuf, CP_KEY_TAG, CP_KEY_TAG_LEN);
		memcpy(kbuf + CP_KEY_TAG_LEN, q->key.data, q->key.len);
		klen = CP_KEY_TAG_LEN + q->key.len;
		cp_filing_digest(q, digest);
		rc = outbox_key_find(sp, kbuf, klen, digest, os_now_ms(), orig);
		if (rc == 0) {
			struct cp_rec r0;
			const char *h = cp_get(sp, t, orig, &r0) == 0 ? r0.r.handler : "";
			return cp_reply_file(rid, orig, h, 1, w);
		}
		if (rc == OS_EEXIST) {
			casework_write_fail(w, OS_EEXIST, "this key was given to another filing");
			return 0;
		}
		if (rc != OS_ENOTFOUND)
			return spoke_wrote(sp, rc);
		rc = 0;
	}

	/* The complainant, verified here for this node. */
	memset(&a, 0, sizeof a);
	if (has_assertion) {
		struct assertion_policy pol = {
			.node = sp->conf.name,
			.any_audience = sp->conf.assertion_any_audience,
			.max_validity_s = (uint32_t)sp->conf.assertion_max_validity_s,
		};
		int arc = assertion_verify_at(q->assertion.data, q->assertion.len, sp->reg, &pol,
					      os_now_ms(), &a, why, sizeof why);
		if (arc == 0) {
			if (!(e = malloc(sizeof *e))) {
				casework_write_fail(w, OS_ENOMEM, "out of memory");
				goto out;
			}
			int src = casework_lookup(sp, DS_IDENTITY, a.subject, e);
			if (src == 0)
				arc = assertion_check_subject(&a, e->value, e->value_len, 0, why,
							      sizeof why);
			else if (src == OS_ENOTFOUND) {
				const struct reg_dataset *rd =
					registry_find_dataset(sp->reg, DS_IDENTITY);
				if (rd && rd->mode == REG_DS_FULL)
					arc = assertion_check_subject(&a, NULL, 0, 0, why,
								      sizeof why);
			}
		}
		if (arc < 0) {
			casework_write_fail(w, arc, "%s", why[0] ? why : os_strerror(arc));
			goto out;
		}
	}

	/* Who handles it. */
	char item[SV_TEXT_MAX];
	if ((rc = cp_concern(sp, t, &ab, node, item, w)) < 0) {
		rc = cp_store_error(rc) && rc != OS_ENOMEM ? spoke_wrote(sp, rc) : 0;
		goto out;
	}
	const struct reg_node *handler = NULL;
	if (complaint_region(node, region, sizeof region) < 0)
		region[0] = '\0';
	if ((int)q->kind == COMPLAINT_KIND_CONSULTATION) {
		handler = registry_find(sp->reg, node);
	} else if (!region[0]) {
		casework_write_fail(w, OS_ENOTFOUND,
				    "%s belongs to no region: no supervisor handles it", node);
		goto out;
	} else if (complaint_supervisor(sp->reg, region, &handler) < 0) {
		casework_write_fail(w, OS_ENOTFOUND,
				    "no active supervisor node handles region %s (role supervisor)",
				    region);
		goto out;
	}
	if (!handler || !registry_node_active(handler)) {
		casework_write_fail(w, handler ? OS_EREVOKED : OS_EUNKNOWN,
				    "the handler %s is not an active node of the registry", node);
		goto out;
	}
	int remote = strcmp(handler->name, sp->conf.name) != 0;
	if (remote && !casework_room(sp, 1)) {
		casework_write_fail(w, OS_EFULL, "the outbox is full (%llu messages); retry later",
				    (unsigned long long)sp->ob.count);
		goto out;
	}

	/* The complaint, its text sealed to the handler. */
	Onestop__Complaint c = ONESTOP__COMPLAINT__INIT;
	Onestop__ComplaintTransition tr = ONESTOP__COMPLAINT_TRANSITION__INIT;
	cp_new_id(id, os_now_ms());
	if ((rc = casework_seal(handler->box_pk, q->text.data, q->text.len, &text)) < 0) {
		casework_write_fail(w, rc, "the text could not be sealed: %s", os_strerror(rc));
		rc = 0;
		goto out;
	}
	c.id.data = id;
	c.id.len = CP_ID_LEN;
	c.kind = q->kind;
	c.about = q->about;
	c.text = text;
	c.filed_by = sp->conf.name;
	c.handler = handler->name;
	c.region = region;
	c.assertion = q->assertion;
	c.channel = q->channel;
	c.created_ms = now;
	c.item = item;
	c.concerns = node;
	tr.complaint_id = c.id;
	tr.seq = 1;
	tr.action = ONESTOP__COMPLAINT_ACTION__COMPLAINT_ACTION_FILE;
	tr.actor = sp->conf.name;
	tr.at_ms = now;

	if (has_assertion) {
		why[0] = '\0';
		rc = assertion_replay_claim(t, sp->db_assert_seen, &a, os_now_ms(), why,
					    sizeof why);
		if (rc == OS_EREPLAY || rc == OS_EINVAL) {
			casework_write_fail(w, rc, "%s",
					    why[0] ? why : "the assertion was used before");
			rc = 0;
			goto out;
		}
		if (rc < 0) {
			spoke_wrote(sp, rc);
			goto out;
		}
	}
	if (!(rec = calloc(1, sizeof *rec))) {
		casework_write_fail(w, OS_ENOMEM, "out of memory");
		goto out;
	}
	complaint_record_init(&rec->r, (enum complaint_kind)q->kind, sp->conf.name, handler->name);
	rec->channel = q->channel;
	rec->anonymous = !has_assertion;
	rec->filed_ms = now;
	snprintf(rec->about, sizeof rec->about, "%s", q->about);
	snprintf(rec->region, sizeof rec->region, "%s", region);
	snprintf(rec->concerns, sizeof rec->concerns, "%s", node);
	snprintf(rec->item, sizeof rec->item, "%s", item);
	if (item[0]) {
		struct casework_item it;
		if (!e && !(e = malloc(sizeof *e))) {
			casework_write_fail(w, OS_ENOMEM, "out of memory");
			goto out;
		}
		if (casework_item_get(sp, e, item, &it) == 0)
			snprintf(rec->item_kind, sizeof rec->item_kind, "%s", it.kind);
	}
	size_t blen = onestop__complaint__get_packed_size(&c);
	uint8_t *body = malloc(blen ? blen : 1);
	if (!body) {
		casework_write_fail(w, OS_ENOMEM, "out of memory");
		goto out;
	}
	onestop__complaint__pack(&c, body);
	rc = cp_hist_put(sp, t, id, 0, body, blen);
	free(body);
	int dup = 0;
	if (rc == 0)
		rc = cp_apply(sp, t, id, rec, &tr, &dup);
	if (rc == 0 && klen)
		rc = outbox_key_put(sp, kbuf, klen, digest, id, os_now_ms());
	if (rc == 0 && remote) {
		Onestop__ComplaintTransition *one = &tr;
		rc = cp_send(sp, handler->name, &c, &one, 1, NULL);
	}
	if (rc == 0 && !remote)
		rc = cp_emit(sp, t, id, rec, &tr);
	if (rc < 0) {
		spoke_wrote(sp, rc);
		goto out;
	}
	spoke_wrote(sp, 0);
	char hex[2 * CP_ID_LEN + 1];
	cp_hex(hex, id);
	os_log(OS_LOG_INFO, "complaint_filed", "complaint=%s kind=%s about=%s handler=%s", hex,
	       complaint_kind_name((enum complaint_kind)q->kind), OS_Q(q->about), handler->name);
	rc = cp_reply_file(rid, id, handler->name, 0, w);
out:
	free(text.data);
	free(rec);
	free(e);
	if (rc == OS_ENOMEM) {
		casework_write_fail(w, OS_ENOMEM, "out of memory");
		rc = 0;
	}
	return rc;
}

/* ------------------------------------------------------------ steps */

static int cp_act(struct spoke *sp, uint64_t rid, const Onestop__ComplaintActRequest *q,
		  struct casework_write *w)
{
	struct store_txn *t = NULL;
	struct cp_rec rec, probe;
	char hex[2 * CP_ID_LEN + 1] = "-";
	const char *me = sp->conf.name;
	ProtobufCBinaryData answer = {0, NULL}, text = {0, NULL};
	uint8_t *content = NULL, *opened = NULL;
	size_t clen = 0;
	int rc = 0, dup = 0;

	if (q->complaint_id.len != CP_ID_LEN) {
		casework_write_fail(w, OS_EINVAL, "complaint_id: %u bytes", CP_ID_LEN);
		return 0;
	}
	const uint8_t *id = q->complaint_id.data;
	cp_hex(hex, id);
	enum complaint_action act = (enum complaint_action)q->action;
	if (act != COMPLAINT_ACT_ASSIGN && act != COMPLAINT_ACT_ANSWER &&
	    act != COMPLAINT_ACT_CLOSE && act != COMPLAINT_ACT_REOPEN) {
		casework_write_fail(w, OS_EINVAL, "action: assign, answer, close or reopen");
		return 0;
	}
	if (act == COMPLAINT_ACT_ASSIGN && (!q->assignee || os_name_valid(q->assignee) != 0)) {
		casework_write_fail(w, OS_EINVAL,
				    "assignee: the node name of the department concerned");
		return 0;
	}
	if (act != COMPLAINT_ACT_ASSIGN && q->assignee && q->assignee[0]) {
		casework_write_fail(w, OS_EINVAL, "assignee: only with assign");
		return 0;
	}
	if (act == COMPLAINT_ACT_ANSWER && (q->answer.len == 0 || q->answer.len > CP_TEXT_MAX)) {
		casework_write_fail(w, OS_EINVAL, "answer: 1..%u bytes, %zu given", CP_TEXT_MAX,
				    q->answer.len);
		return 0;
	}
	if (act != COMPLAINT_ACT_ANSWER && q->answer.len) {
		casework_write_fail(w, OS_EINVAL, "answer: only with answer");
		return 0;
	}
	if (q->reason && strlen(q->reason) > CP_REASON_MAX) {
		casework_write_fail(w, OS_EINVAL, "reason: at most %u bytes", CP_REASON_MAX);
		return 0;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	rc = cp_get(sp, t, id, &rec);
	if (rc == OS_ENOTFOUND || rc == OS_EDECODE) {
		casework_write_fail(w, OS_ENOTFOUND, "no complaint %s at this node", hex);
		return 0;
	}
	if (rc < 0)
		return spoke_wrote(sp, rc);
	int handler = strcmp(rec.r.handler, me) == 0;
	if (!handler && rec.pending) {
		casework_write_fail(w, OS_EAGAIN,
				    "complaint %s: this node's %s waits for the handler %s", hex,
				    complaint_action_name((enum complaint_action)rec.pending),
				    rec.r.handler);
		return 0;
	}
	const struct reg_node *as = NULL;
	if (act == COMPLAINT_ACT_ASSIGN) {
		as = registry_find(sp->reg, q->assignee);
		if (!as || !registry_node_active(as)) {
			casework_write_fail(w, as ? OS_EREVOKED : OS_EUNKNOWN,
					    "%s is not an active node of the registry",
					    q->assignee);
			return 0;
		}
	}
	if (!casework_room(sp, 2)) {
		casework_write_fail(w, OS_EFULL, "the outbox is full (%llu messages); retry later",
				    (unsigned long long)sp->ob.count);
		return 0;
	}
	Onestop__ComplaintTransition tr = ONESTOP__COMPLAINT_TRANSITION__INIT;
	tr.complaint_id = q->complaint_id;
	tr.seq = rec.r.seq + 1;
	tr.action = q->action;
	tr.actor = (char *)me;
	tr.assignee = act == COMPLAINT_ACT_ASSIGN ? q->assignee : (char *)"";
	tr.reason = q->reason ? q->reason : (char *)"";
	tr.at_ms = casework_now_ms();
	if (act == COMPLAINT_ACT_ANSWER) {
		const struct reg_node *filer = registry_find(sp->reg, rec.r.filer);
		if (!filer) {
			casework_write_fail(w, OS_EUNKNOWN,
					    "the filing node %s is not in the registry",
					    rec.r.filer);
			return 0;
		}
		if ((rc = casework_seal(filer->box_pk, q->answer.data, q->answer.len, &answer)) < 0)
			goto nomem;
		tr.answer = answer;
	}
	if (act == COMPLAINT_ACT_ASSIGN && handler && strcmp(as->name, me) != 0) {
		/* The text, resealed to the assignee. */
		Onestop__Complaint *f = cp_filing(sp, t, id);
		size_t ol = 0;
		if (f && f->text.len >= CRYPTO_SEAL_OVERHEAD && (opened = malloc(f->text.len)) &&
		    crypto_seal_open(&sp->kp, f->text.data, f->text.len, opened, f->text.len,
				     &ol) == 0)
			rc = casework_seal(as->box_pk, opened, ol, &text);
		if (f)
			onestop__complaint__free_unpacked(f, NULL);
		if (rc < 0)
			goto nomem;
		tr.text = text;
	}
	/* Checked on a copy first: a refusal changes nothing. */
	probe = rec;
	if (handler) {
		rc = cp_apply(sp, t, id, &rec, &tr, &dup);
		if (cp_store_error(rc))
			goto store;
		if (rc < 0) {
			casework_write_fail(w, rc, "%s of complaint %s: %s",
					    complaint_action_name(act), hex, os_strerror(rc));
			rc = 0;
			goto out;
		}
		if ((rc = cp_emit(sp, t, id, &rec, &tr)) < 0 ||
		    (rc = cp_tell_parties(sp, t, id, &rec, &tr)) < 0)
			goto store;
	} else {
		struct complaint_step st = {
			.seq = tr.seq,
			.action = act,
			.actor = me,
			.assignee = act == COMPLAINT_ACT_ASSIGN ? tr.assignee : NULL,
		};
		rc = complaint_apply(&probe.r, &st, NULL);
		if (rc < 0) {
			casework_write_fail(w, rc, "%s of complaint %s: %s",
					    complaint_action_name(act), hex, os_strerror(rc));
			rc = 0;
			goto out;
		}
		uint8_t pk[1 + CP_ID_LEN];
		cp_pending_key(pk, id);
		if (!(content = cp_pack_tr(&tr, &clen)))
			goto nomem;
		rec.pending = (uint8_t)act;
		rec.pending_seq = tr.seq;
		Onestop__ComplaintTransition *one = &tr;
		if ((rc = store_put(t, sp->db_complaint_idx, pk, sizeof pk, content, clen)) < 0 ||
		    (rc = cp_put(sp, t, id, &rec, rec.due_ms)) < 0 ||
		    (rc = cp_send(sp, rec.r.handler, NULL, &one, 1, NULL)) < 0)
			goto store;
	}
	spoke_wrote(sp, 0);
	os_log(OS_LOG_INFO, "complaint_step", "complaint=%s seq=%llu action=%s pending=%d", hex,
	       (unsigned long long)tr.seq, complaint_action_name(act), !handler);
	{
		Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
		Onestop__ComplaintActResult r = ONESTOP__COMPLAINT_ACT_RESULT__INIT;
		r.seq = tr.seq;
		r.pending = !handler;
		rep.result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_ACT;
		rep.complaint_act = &r;
		rc = cp_reply(rid, &rep, w);
		if (rc < 0)
			goto nomem;
	}
	goto out;
nomem:
	casework_write_fail(w, OS_ENOMEM, "out of memory");
	rc = 0;
	goto out;
store:
	spoke_wrote(sp, rc);
out:
	free(answer.data);
	free(text.data);
	free(opened);
	free(content);
	return rc;
}

int complaints_write(struct spoke *sp, const Onestop__ApiRequest *req, struct casework_write *w)
{
	if (req->op_case == ONESTOP__API_REQUEST__OP_COMPLAINT_FILE && req->complaint_file)
		return cp_file(sp, req->request_id, req->complaint_file, w);
	if (req->op_case == ONESTOP__API_REQUEST__OP_COMPLAINT_ACT && req->complaint_act)
		return cp_act(sp, req->request_id, req->complaint_act, w);
	casework_write_fail(w, OS_EINVAL, "not a complaint request");
	return 0;
}

/* ------------------------------------------------------------ receipt */

/* The handler receives a filing. */
static int cp_recv_filing(struct spoke *sp, struct store_txn *t, const struct env *e,
			  const Onestop__ComplaintMessage *m, int *refusal, int *deliver, char *why,
			  size_t size)
{
	const Onestop__Complaint *c = m->filing;
	Onestop__ComplaintTransition *tr = m->n_steps ? m->steps[0] : NULL;
	struct complaint_about ab;
	struct cp_rec rec;
	char hex[2 * CP_ID_LEN + 1] = "-";
	int rc, dup = 0;

	if (c->id.len != CP_ID_LEN || !tr || m->n_steps != 1 || tr->seq != 1 ||
	    (int)tr->action != COMPLAINT_ACT_FILE || tr->complaint_id.len != CP_ID_LEN ||
	    memcmp(tr->complaint_id.data, c->id.data, CP_ID_LEN) != 0) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "a filing comes with its FILE step (seq 1) and nothing else");
		return 0;
	}
	cp_hex(hex, c->id.data);
	if (!c->filed_by || strcmp(c->filed_by, e->origin) != 0 || !tr->actor ||
	    strcmp(tr->actor, e->origin) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "complaint %s: filed by %s but sent by %s", hex,
			 c->filed_by ? c->filed_by : "", e->origin);
		return 0;
	}
	if (!c->handler || strcmp(c->handler, sp->conf.name) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "complaint %s names %s as its handler, not this node", hex,
			 c->handler ? c->handler : "");
		return 0;
	}
	if (((int)c->kind != COMPLAINT_KIND_COMPLAINT &&
	     (int)c->kind != COMPLAINT_KIND_CONSULTATION) ||
	    !c->about || complaint_about_parse(c->about, &ab) != 0 ||
	    ((int)c->kind == COMPLAINT_KIND_CONSULTATION && ab.kind != COMPLAINT_ABOUT_ITEM) ||
	    (unsigned)c->channel > 4 || c->text.len == 0 ||
	    c->text.len > CP_TEXT_MAX + CRYPTO_SEAL_OVERHEAD ||
	    (c->region && c->region[0] && os_name_valid(c->region) != 0) ||
	    (c->concerns && c->concerns[0] && os_name_valid(c->concerns) != 0) ||
	    (c->item && c->item[0] && ds_key_valid(c->item) != 0)) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "complaint %s: a malformed filing", hex);
		return 0;
	}
	if ((int)c->kind == COMPLAINT_KIND_COMPLAINT || c->assertion.len) {
		/* The complainant's assertion, as the filing node verified it
		 * when it was made: for that node, when it signed the message
		 * (a late delivery does not expire it). */
		struct assertion a;
		char awhy[200] = "";
		int arc = assertion_verify(c->assertion.data, c->assertion.len, sp->reg, e->origin,
					   e->created_ms, &a, awhy, sizeof awhy);
		if (arc < 0) {
			*refusal = arc;
			snprintf(why, size, "complaint %s: the assertion does not verify: %s", hex,
				 awhy);
			return 0;
		}
	}
	rc = cp_get(sp, t, c->id.data, &rec);
	if (rc == 0) {
		/* Known: a redelivery applies once. */
		rc = cp_apply(sp, t, c->id.data, &rec, tr, &dup);
		if (rc < 0 && !cp_store_error(rc)) {
			*refusal = rc;
			snprintf(why, size, "complaint %s exists here with another filing", hex);
			return 0;
		}
		return rc < 0 ? rc : 0;
	}
	if (rc != OS_ENOTFOUND)
		return rc;
	memset(&rec, 0, sizeof rec);
	if (complaint_record_init(&rec.r, (enum complaint_kind)c->kind, e->origin, sp->conf.name) <
	    0) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "complaint %s: a malformed filing", hex);
		return 0;
	}
	rec.channel = c->channel;
	rec.anonymous = c->assertion.len == 0;
	rec.filed_ms = c->created_ms ? c->created_ms : tr->at_ms;
	snprintf(rec.about, sizeof rec.about, "%s", c->about);
	snprintf(rec.region, sizeof rec.region, "%s", c->region ? c->region : "");
	snprintf(rec.concerns, sizeof rec.concerns, "%s", c->concerns ? c->concerns : "");
	snprintf(rec.item, sizeof rec.item, "%s", c->item ? c->item : "");
	if (rec.item[0]) {
		struct replica_entry *re = malloc(sizeof *re);
		struct casework_item it;
		if (re && casework_item_get(sp, re, rec.item, &it) == 0)
			snprintf(rec.item_kind, sizeof rec.item_kind, "%s", it.kind);
		free(re);
	}
	size_t blen = onestop__complaint__get_packed_size(c);
	uint8_t *body = malloc(blen ? blen : 1);
	if (!body)
		return OS_ENOMEM;
	onestop__complaint__pack(c, body);
	rc = cp_hist_put(sp, t, c->id.data, 0, body, blen);
	free(body);
	if (rc < 0)
		return rc;
	rc = cp_apply(sp, t, c->id.data, &rec, tr, &dup);
	if (rc < 0 && !cp_store_error(rc)) {
		*refusal = rc;
		snprintf(why, size, "complaint %s: %s", hex, os_strerror(rc));
		return 0;
	}
	if (rc < 0)
		return rc;
	if ((rc = cp_emit(sp, t, c->id.data, &rec, tr)) < 0)
		return rc;
	*deliver = 1;
	os_log(OS_LOG_INFO, "complaint_received", "complaint=%s kind=%s from=%s", hex,
	       complaint_kind_name(rec.r.kind), e->origin);
	return 0;
}

/* A new assignee receives the filing and the history up to its ASSIGN. */
static int cp_recv_assigned(struct spoke *sp, struct store_txn *t, const struct env *e,
			    const Onestop__ComplaintMessage *m, int *refusal, int *deliver,
			    char *why, size_t size)
{
	const Onestop__Complaint *c = m->filing;
	struct cp_rec rec;
	char hex[2 * CP_ID_LEN + 1] = "-";
	int rc, dup;

	if (c->id.len != CP_ID_LEN || !c->handler || strcmp(c->handler, e->origin) != 0 ||
	    !c->filed_by || os_name_valid(c->filed_by) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "a complaint's history comes from its handler");
		return 0;
	}
	cp_hex(hex, c->id.data);
	rc = cp_get(sp, t, c->id.data, &rec);
	if (rc < 0 && rc != OS_ENOTFOUND && rc != OS_EDECODE)
		return rc;
	int known = rc == 0;
	if (!known) {
		memset(&rec, 0, sizeof rec);
		if (complaint_record_init(&rec.r, (enum complaint_kind)c->kind, c->filed_by,
					  c->handler) < 0) {
			*refusal = OS_EINVAL;
			snprintf(why, size, "complaint %s: a malformed filing", hex);
			return 0;
		}
		rec.channel = c->channel <= 4 ? c->channel : 0;
		rec.anonymous = c->assertion.len == 0;
		rec.filed_ms = c->created_ms;
		snprintf(rec.about, sizeof rec.about, "%s", c->about ? c->about : "");
		snprintf(rec.region, sizeof rec.region, "%s", c->region ? c->region : "");
		snprintf(rec.concerns, sizeof rec.concerns, "%s",
			 c->concerns && os_name_valid(c->concerns) == 0 ? c->concerns : "");
		snprintf(rec.item, sizeof rec.item, "%s", c->item ? c->item : "");
		size_t blen = onestop__complaint__get_packed_size(c);
		uint8_t *body = malloc(blen ? blen : 1);
		if (!body)
			return OS_ENOMEM;
		onestop__complaint__pack(c, body);
		rc = cp_hist_put(sp, t, c->id.data, 0, body, blen);
		free(body);
		if (rc < 0)
			return rc;
	} else if (strcmp(rec.r.handler, e->origin) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "%s is not the handler of complaint %s", e->origin, hex);
		return 0;
	}
	int changed = 0;
	for (size_t i = 0; i < m->n_steps; i++) {
		const Onestop__ComplaintTransition *tr = m->steps[i];
		if (tr->complaint_id.len != CP_ID_LEN ||
		    memcmp(tr->complaint_id.data, c->id.data, CP_ID_LEN) != 0) {
			*refusal = OS_EINVAL;
			snprintf(why, size, "complaint %s: a step of another complaint", hex);
			return 0;
		}
		rc = cp_apply(sp, t, c->id.data, &rec, tr, &dup);
		if (cp_store_error(rc))
			return rc;
		if (rc < 0) {
			*refusal = rc;
			snprintf(why, size, "complaint %s at version %llu: %s", hex,
				 (unsigned long long)tr->seq, os_strerror(rc));
			return 0;
		}
		changed |= !dup;
	}
	*deliver = changed;
	if (changed)
		os_log(OS_LOG_INFO, "complaint_assigned", "complaint=%s handler=%s", hex,
		       e->origin);
	return 0;
}

/* A step (or a refusal) between the handler and another party. */
static int cp_recv_step(struct spoke *sp, struct store_txn *t, const struct env *e,
			const Onestop__ComplaintMessage *m, int *refusal, int *deliver, char *why,
			size_t size)
{
	const Onestop__ComplaintRefusal *rf = m->refusal;
	Onestop__ComplaintTransition *tr = m->n_steps == 1 ? m->steps[0] : NULL;
	const ProtobufCBinaryData *cid = tr ? &tr->complaint_id : &rf->complaint_id;
	const char *me = sp->conf.name;
	struct cp_rec rec;
	char hex[2 * CP_ID_LEN + 1] = "-";
	uint8_t pk[1 + CP_ID_LEN];
	int rc, dup = 0;

	if (!tr && !rf) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "a complaint message carries one step or a refusal");
		return 0;
	}
	if (cid->len != CP_ID_LEN) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "complaint_id is not %u bytes", CP_ID_LEN);
		return 0;
	}
	cp_hex(hex, cid->data);
	rc = cp_get(sp, t, cid->data, &rec);
	if (rc == OS_ENOTFOUND || rc == OS_EDECODE) {
		*refusal = OS_ENOTFOUND;
		snprintf(why, size, "no complaint %s at this node", hex);
		return 0;
	}
	if (rc < 0)
		return rc;
	int from_handler = strcmp(e->origin, rec.r.handler) == 0;
	int i_handle = strcmp(me, rec.r.handler) == 0;
	cp_pending_key(pk, cid->data);
	if (rf) {
		if (!from_handler) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "only the handler of complaint %s refuses steps", hex);
			return 0;
		}
		if (!rec.pending || rec.pending_seq != rf->seq)
			return 0; /* settled before */
		rc = store_del(t, sp->db_complaint_idx, pk, sizeof pk);
		if (rc < 0 && rc != OS_ENOTFOUND)
			return rc;
		rec.pending = 0;
		rec.pending_seq = 0;
		if ((rc = cp_put(sp, t, cid->data, &rec, rec.due_ms)) < 0)
			return rc;
		os_log(OS_LOG_INFO, "complaint_step_refused", "complaint=%s seq=%llu code=%s", hex,
		       (unsigned long long)rf->seq, os_errname(rf->code));
		*deliver = 1;
		return 0;
	}
	if (!tr->actor || os_name_valid(tr->actor) != 0) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "the step names no actor");
		return 0;
	}
	if (i_handle) {
		/* Another party's step: it must be its own, sent by it. */
		if (strcmp(tr->actor, e->origin) != 0) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "a step by %s must be sent by it, not %s", tr->actor,
				 e->origin);
			return 0;
		}
		if ((int)tr->action == COMPLAINT_ACT_ASSIGN) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "only the handler assigns complaint %s", hex);
			return 0;
		}
		tr->text.data = NULL;
		tr->text.len = 0;
		rc = cp_apply(sp, t, cid->data, &rec, tr, &dup);
		if (cp_store_error(rc))
			return rc;
		if (rc == OS_ECONFLICT || rc == OS_ESTATE || rc == OS_EGAP ||
		    rc == OS_ENOTALLOWED) {
			Onestop__ComplaintRefusal r = ONESTOP__COMPLAINT_REFUSAL__INIT;
			char text[200];
			snprintf(text, sizeof text, "%s of complaint %s at version %llu: %s",
				 complaint_action_name((enum complaint_action)tr->action), hex,
				 (unsigned long long)tr->seq, os_strerror(rc));
			r.complaint_id = *cid;
			r.seq = tr->seq;
			r.action = tr->action;
			r.code = rc;
			r.reason = text;
			os_log(OS_LOG_INFO, "complaint_step_refused",
			       "complaint=%s seq=%llu code=%s from=%s", hex,
			       (unsigned long long)tr->seq, os_errname(rc), e->origin);
			return cp_send(sp, e->origin, NULL, NULL, 0, &r);
		}
		if (rc < 0) {
			*refusal = rc;
			snprintf(why, size, "complaint %s: %s", hex, os_strerror(rc));
			return 0;
		}
		if (dup)
			return 0;
		if ((rc = cp_emit(sp, t, cid->data, &rec, tr)) < 0 ||
		    (rc = cp_tell_parties(sp, t, cid->data, &rec, tr)) < 0)
			return rc;
		*deliver = 1;
		return 0;
	}
	/* At the filing node or the assignee: the handler tells a step. */
	if (!from_handler) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "%s is not the handler of complaint %s", e->origin, hex);
		return 0;
	}
	if (strcmp(tr->actor, me) == 0) {
		/* The echo of this node's own step: the one it keeps pending. */
		const void *pv;
		size_t pl, clen;
		rc = store_get(t, sp->db_complaint_idx, pk, sizeof pk, &pv, &pl);
		if (rc == OS_ENOTFOUND) {
			rc = cp_apply(sp, t, cid->data, &rec, tr, &dup);
			if (rc == 0 && dup)
				return 0;
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size,
				 "complaint %s: a step of this node that it did not make", hex);
			return cp_store_error(rc) ? rc : 0;
		}
		if (rc < 0)
			return rc;
		uint8_t *mine = cp_pack_tr(tr, &clen);
		if (!mine)
			return OS_ENOMEM;
		int same = clen == pl && memcmp(mine, pv, pl) == 0;
		free(mine);
		if (!same) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size,
				 "complaint %s: the handler's echo is not this node's step", hex);
			return 0;
		}
		if ((rc = store_del(t, sp->db_complaint_idx, pk, sizeof pk)) < 0)
			return rc;
		rec.pending = 0;
		rec.pending_seq = 0;
	}
	rc = cp_apply(sp, t, cid->data, &rec, tr, &dup);
	if (cp_store_error(rc))
		return rc;
	if (rc < 0) {
		*refusal = rc;
		snprintf(why, size, "complaint %s at version %llu: %s", hex,
			 (unsigned long long)tr->seq, os_strerror(rc));
		return 0;
	}
	*deliver = !dup;
	return 0;
}

static int cp_receive(void *ctx, struct store_txn *t, const struct env *e, int *refusal,
		      int *deliver, char *why, size_t size)
{
	struct spoke *sp = ctx;
	*refusal = 0;
	*deliver = 0;
	why[0] = '\0';
	if (strcmp(e->destination, sp->conf.name) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "a complaint message goes to a node, not a topic");
		return 0;
	}
	Onestop__ComplaintMessage *m =
		onestop__complaint_message__unpack(NULL, e->payload_len, e->payload);
	if (!m) {
		*refusal = OS_EDECODE;
		snprintf(why, size, "the payload is not a ComplaintMessage");
		return 0;
	}
	int rc = 0;
	if (m->filing && m->refusal) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "a ComplaintMessage carries a filing or a refusal, not both");
	} else if (m->filing && m->n_steps == 1 && m->steps[0]->seq == 1 && m->filing->handler &&
		   strcmp(m->filing->handler, sp->conf.name) == 0) {
		rc = cp_recv_filing(sp, t, e, m, refusal, deliver, why, size);
	} else if (m->filing && m->n_steps >= 1) {
		rc = cp_recv_assigned(sp, t, e, m, refusal, deliver, why, size);
	} else if (!m->filing && (m->n_steps == 1) != (m->refusal != NULL)) {
		rc = cp_recv_step(sp, t, e, m, refusal, deliver, why, size);
	} else {
		*refusal = OS_EINVAL;
		snprintf(why, size, "a ComplaintMessage carries a filing, one step or a refusal");
	}
	onestop__complaint_message__free_unpacked(m, NULL);
	return rc;
}

/* ------------------------------------------------------------ reads */

/* Strings and buffers of one reply, freed together. */
struct cp_arena {
	void **p;
	size_t n, cap;
	int failed;
};

static void *cp_keep(struct cp_arena *a, void *p)
{
	if (!p) {
		a->failed = 1;
		return NULL;
	}
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		void **np = realloc(a->p, cap * sizeof *np);
		if (!np) {
			free(p);
			a->failed = 1;
			return NULL;
		}
		a->p = np;
		a->cap = cap;
	}
	a->p[a->n++] = p;
	return p;
}

static char *cp_strdup(struct cp_arena *a, const char *s)
{
	return cp_keep(a, strdup(s ? s : ""));
}

static void cp_arena_free(struct cp_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	memset(a, 0, sizeof *a);
}

/* Open a box sealed to this node into the arena; 0 when it does not. */
static int cp_open(struct spoke *sp, struct cp_arena *a, const ProtobufCBinaryData *sealed,
		   ProtobufCBinaryData *out)
{
	size_t len = 0;
	out->data = NULL;
	out->len = 0;
	if (sealed->len < CRYPTO_SEAL_OVERHEAD)
		return 0;
	uint8_t *b = cp_keep(a, malloc(sealed->len));
	if (!b || crypto_seal_open(&sp->kp, sealed->data, sealed->len, b, sealed->len, &len) < 0)
		return 0;
	out->data = b;
	out->len = len;
	return 1;
}

static void cp_info(struct spoke *sp, struct cp_arena *a, const uint8_t *id,
		    const struct cp_rec *rec, uint64_t now, Onestop__ComplaintInfo *info)
{
	onestop__complaint_info__init(info);
	info->id.data = cp_keep(a, malloc(CP_ID_LEN));
	if (info->id.data) {
		memcpy(info->id.data, id, CP_ID_LEN);
		info->id.len = CP_ID_LEN;
	}
	info->kind = (Onestop__ComplaintKind)rec->r.kind;
	info->about = cp_strdup(a, rec->about);
	info->filed_by = cp_strdup(a, rec->r.filer);
	info->handler = cp_strdup(a, rec->r.handler);
	info->region = cp_strdup(a, rec->region);
	info->assignee = cp_strdup(a, rec->r.assignee);
	info->state = (Onestop__ComplaintState)rec->r.state;
	info->seq = rec->r.seq;
	info->filed_ms = rec->filed_ms;
	info->due_ms = rec->due_ms;
	info->overdue = rec->due_ms && complaint_state_awaiting(rec->r.state) &&
			cal_is_overdue(rec->due_ms, now);
	info->pending = (Onestop__ComplaintAction)rec->pending;
	info->reopened = rec->r.reopened;
	info->channel = (Onestop__CaseChannel)(rec->channel <= 4 ? rec->channel : 0);
	info->anonymous = rec->anonymous;
	(void)sp;
}

static int cp_reply_code(uint64_t rid, int code, const char *msg, uint8_t **buf, size_t *len)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	rep.request_id = rid;
	rep.code = code;
	rep.message = (char *)msg;
	*len = onestop__api_reply__get_packed_size(&rep);
	if (!(*buf = malloc(*len ? *len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(&rep, *buf);
	return 0;
}

static int cp_pack_reply(Onestop__ApiReply *rep, uint8_t **buf, size_t *len)
{
	*len = onestop__api_reply__get_packed_size(rep);
	if (!(*buf = malloc(*len ? *len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(rep, *buf);
	return 0;
}

static int cp_read_get(struct spoke *sp, struct store_txn *t, uint64_t rid,
		       const Onestop__ComplaintGetRequest *q, uint8_t **buf, size_t *len)
{
	struct cp_arena a = {0};
	struct cp_rec rec;
	Onestop__ComplaintInfo info;
	Onestop__ComplaintStep *steps = NULL, **ptrs = NULL;
	Onestop__ComplaintTransition **trs = NULL;
	char hex[2 * CP_ID_LEN + 1], msg[128];
	size_t n = 0;
	int rc;

	if (!q || q->complaint_id.len != CP_ID_LEN)
		return cp_reply_code(rid, OS_EINVAL, "complaint_id: 16 bytes", buf, len);
	const uint8_t *id = q->complaint_id.data;
	cp_hex(hex, id);
	rc = cp_get(sp, t, id, &rec);
	if (rc < 0) {
		snprintf(msg, sizeof msg,
			 rc == OS_ENOTFOUND ? "no complaint %s at this node" : "complaint %s: %s",
			 hex, os_strerror(rc));
		return cp_reply_code(rid, rc == OS_EDECODE ? OS_ENOTFOUND : rc, msg, buf, len);
	}
	cp_info(sp, &a, id, &rec, casework_now_ms(), &info);
	const char *me = sp->conf.name;
	int handler = strcmp(rec.r.handler, me) == 0;
	int filer = strcmp(rec.r.filer, me) == 0;
	if (handler) {
		Onestop__Complaint *f = cp_filing(sp, t, id);
		if (f) {
			cp_open(sp, &a, &f->text, &info.text); /* into the arena: f goes */
			onestop__complaint__free_unpacked(f, NULL);
		}
	}
	steps = calloc(rec.r.seq + 1, sizeof *steps);
	ptrs = calloc(rec.r.seq + 1, sizeof *ptrs);
	trs = calloc(rec.r.seq + 1, sizeof *trs);
	if (!steps || !ptrs || !trs) {
		rc = OS_ENOMEM;
		goto out;
	}
	for (uint64_t s = 1; s <= rec.r.seq; s++) {
		uint8_t k[CP_HIST_KEY];
		const void *v;
		size_t vl;
		cp_hist_key(k, id, s);
		if (store_get(t, sp->db_complaint_hist, k, sizeof k, &v, &vl) < 0)
			continue;
		Onestop__ComplaintTransition *tr =
			onestop__complaint_transition__unpack(NULL, vl, v);
		if (!tr)
			continue;
		trs[n] = tr;
		Onestop__ComplaintStep *st = &steps[n];
		onestop__complaint_step__init(st);
		st->seq = tr->seq;
		st->at_ms = tr->at_ms;
		st->actor = tr->actor;
		st->action = tr->action;
		st->assignee = tr->assignee;
		st->reason = tr->reason;
		if (filer && (int)tr->action == COMPLAINT_ACT_ANSWER)
			cp_open(sp, &a, &tr->answer, &st->answer);
		if (!handler && (int)tr->action == COMPLAINT_ACT_ASSIGN && tr->assignee &&
		    strcmp(tr->assignee, me) == 0)
			cp_open(sp, &a, &tr->text, &info.text);
		ptrs[n] = st;
		n++;
	}
	info.history = ptrs;
	info.n_history = n;
	if (a.failed) {
		rc = OS_ENOMEM;
		goto out;
	}
	{
		Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
		Onestop__ComplaintGetResult res = ONESTOP__COMPLAINT_GET_RESULT__INIT;
		res.info = &info;
		rep.request_id = rid;
		rep.result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_GET;
		rep.complaint_get = &res;
		rc = cp_pack_reply(&rep, buf, len);
	}
out:
	for (size_t i = 0; trs && i < n; i++)
		onestop__complaint_transition__free_unpacked(trs[i], NULL);
	free(trs);
	free(steps);
	free(ptrs);
	cp_arena_free(&a);
	return rc;
}

struct cp_list {
	struct spoke *sp;
	struct store_txn *t;
	struct cp_arena *a;
	const Onestop__ComplaintListRequest *q;
	uint64_t now;
	unsigned limit;
	Onestop__ComplaintInfo *infos;
	Onestop__ComplaintInfo **ptrs;
	size_t n;
	int more;
	int rc;
	uint8_t last[CP_ID_LEN];
};

static int cp_list_take(struct cp_list *l, const uint8_t *id, const struct cp_rec *rec)
{
	if (l->q->by_state && (int)rec->r.state != (int)l->q->state)
		return STORE_NEXT;
	if (l->n == l->limit) {
		l->more = 1;
		return STORE_STOP;
	}
	cp_info(l->sp, l->a, id, rec, l->now, &l->infos[l->n]);
	l->ptrs[l->n] = &l->infos[l->n];
	memcpy(l->last, id, CP_ID_LEN);
	l->n++;
	return STORE_NEXT;
}

static int cp_list_all(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct cp_list *l = arg;
	struct cp_rec rec;
	if (kl != CP_ID_LEN || vl != sizeof rec)
		return STORE_NEXT;
	if (l->q->after_id.len == CP_ID_LEN && memcmp(k, l->q->after_id.data, CP_ID_LEN) == 0)
		return STORE_NEXT;
	memcpy(&rec, v, sizeof rec);
	return cp_list_take(l, k, &rec);
}

static int cp_list_due(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct cp_list *l = arg;
	const uint8_t *key = k;
	struct cp_rec rec;
	(void)v;
	(void)vl;
	if (kl != CP_DUE_KEY)
		return STORE_NEXT;
	if (os_get_u64be(key + 1) >= l->now)
		return STORE_STOP; /* not overdue: neither is any after it */
	if (l->q->after_id.len == CP_ID_LEN && memcmp(key + 9, l->q->after_id.data, CP_ID_LEN) == 0)
		return STORE_NEXT;
	if (cp_get(l->sp, l->t, key + 9, &rec) != 0 || !complaint_state_awaiting(rec.r.state))
		return STORE_NEXT;
	return cp_list_take(l, key + 9, &rec);
}

static int cp_read_list(struct spoke *sp, struct store_txn *t, uint64_t rid,
			const Onestop__ComplaintListRequest *q, uint8_t **buf, size_t *len)
{
	struct cp_arena a = {0};
	struct cp_list l = {0};
	int rc;
	if (!q)
		return cp_reply_code(rid, OS_EINVAL, "not a complaint list", buf, len);
	if (q->limit > CP_LIST_MAX)
		return cp_reply_code(rid, OS_EINVAL, "limit: at most 10000", buf, len);
	if (q->after_id.len && q->after_id.len != CP_ID_LEN)
		return cp_reply_code(rid, OS_EINVAL, "after_id: 16 bytes", buf, len);
	if (q->overdue && q->by_state)
		return cp_reply_code(rid, OS_EINVAL, "overdue or by_state, not both", buf, len);
	l.sp = sp;
	l.t = t;
	l.a = &a;
	l.q = q;
	l.now = casework_now_ms();
	l.limit = q->limit ? q->limit : CP_LIST_DEFAULT;
	l.infos = calloc(l.limit, sizeof *l.infos);
	l.ptrs = calloc(l.limit, sizeof *l.ptrs);
	if (!l.infos || !l.ptrs) {
		rc = OS_ENOMEM;
		goto out;
	}
	if (q->overdue) {
		uint8_t from[CP_DUE_KEY];
		size_t flen = 1;
		from[0] = 'd';
		if (q->after_id.len == CP_ID_LEN) {
			struct cp_rec r0;
			if (cp_get(sp, t, q->after_id.data, &r0) == 0 && r0.due_ms) {
				cp_due_key(from, r0.due_ms, q->after_id.data);
				flen = sizeof from;
			}
		}
		rc = store_walk(t, sp->db_complaint_idx, "d", 1, from, flen, cp_list_due, &l);
	} else {
		rc = store_walk(t, sp->db_complaints, NULL, 0,
				q->after_id.len == CP_ID_LEN ? q->after_id.data : NULL,
				q->after_id.len == CP_ID_LEN ? CP_ID_LEN : 0, cp_list_all, &l);
	}
	if (rc < 0 || a.failed) {
		rc = cp_reply_code(rid, rc < 0 ? rc : OS_ENOMEM, "the complaints could not be read",
				   buf, len);
		goto out;
	}
	{
		Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
		Onestop__ComplaintListResult res = ONESTOP__COMPLAINT_LIST_RESULT__INIT;
		res.complaints = l.ptrs;
		res.n_complaints = l.n;
		if (l.more) {
			res.next.data = l.last;
			res.next.len = CP_ID_LEN;
		}
		rep.request_id = rid;
		rep.result_case = ONESTOP__API_REPLY__RESULT_COMPLAINT_LIST;
		rep.complaint_list = &res;
		rc = cp_pack_reply(&rep, buf, len);
	}
out:
	free(l.infos);
	free(l.ptrs);
	cp_arena_free(&a);
	return rc;
}

int complaints_read(struct spoke *sp, const Onestop__ApiRequest *req, uint8_t **buf, size_t *len)
{
	struct store_txn *t = NULL;
	int rc;
	*buf = NULL;
	*len = 0;
	if ((rc = store_begin(sp->st, 1, &t)) < 0)
		return cp_reply_code(req->request_id, rc, "the store could not be read", buf, len);
	if (req->op_case == ONESTOP__API_REQUEST__OP_COMPLAINT_GET)
		rc = cp_read_get(sp, t, req->request_id, req->complaint_get, buf, len);
	else if (req->op_case == ONESTOP__API_REQUEST__OP_COMPLAINT_LIST)
		rc = cp_read_list(sp, t, req->request_id, req->complaint_list, buf, len);
	else
		rc = cp_reply_code(req->request_id, OS_EINVAL, "not a complaint read", buf, len);
	store_abort(&t);
	return rc;
}

/* ------------------------------------------------------------ set-up */

int complaints_open(struct spoke *sp)
{
	sp->type_hooks[2] = (struct spoke_type_hook){COMPLAINTS_TYPE, cp_receive, sp};
	return 0;
}

void complaints_close(struct spoke *sp)
{
	sp->type_hooks[2] = (struct spoke_type_hook){0};
}
