/* The spoke's case service: filing (the checks of common/filing.c against
 * the local copies, sealing to the owner), transitions at the node allowed
 * to make them, "onestop.Case" messages between the two parties applied in
 * the transaction of their receipt, e-licences issued on approval, and the
 * API's case reads. The owning spoke orders a case's history: a filing
 * node's step is applied at both ends only once the owner has applied it. */
#include "casework.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "assertion.h"
#include "calendar.h"
#include "case.h"
#include "cases.h"
#include "complaint.h"
#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "filing.h"
#include "licence.h"
#include "log.h"
#include "loop.h"
#include "outbox.h"
#include "registry.h"
#include "replica.h"
#include "replica_read.h"
#include "supervise.h"
#include "supervision.h"
#include "util.h"

#define CW_KEY_MAX 120u       /* a filing's idempotency key, bytes */
#define CW_KEY_TAG "\0case\0" /* what sets filing keys apart from Send keys */
#define CW_KEY_TAG_LEN 6u
#define CW_ENV_SLACK 4096u /* envelope and proof around a payload */
#define CW_LIST_MAX 10000u /* cases one CaseList answers */
#define CW_LIST_DEFAULT 100u
#define CW_DAY_MS (86400ull * 1000u) /* a licence's validity is counted in days */

/* Keys of db_case_aux: id || tag. */
#define CW_AUX_CASE 'c'    /* the packed Case as filed */
#define CW_AUX_PENDING 'p' /* filing node: its packed step waiting for the owner */
#define CW_AUX_LICENCE 'l' /* the e-licence its approval issued */

/* A message to sign in this iteration's work phase. */
struct cw_draft {
	char dest[OS_NAME_MAX];
	const char *type;
	uint8_t *payload; /* malloc'd */
	size_t len;
	uint64_t ttl_ms;
};

struct casework {
	struct cal cal;
	struct cw_draft *q;
	size_t n, cap;
	uint64_t sub_serial; /* the registry has_sub was found in */
	int sub_known, has_sub;
};

static const char *const cw_channels[] = {"", "web", "mobile", "hall", "hotline"};

struct Onestop__CaseTransition;
struct casework_item;
static int cw_emit(struct spoke *sp, struct store_txn *t, struct replica_entry *e,
		   const uint8_t *id, const struct casework_item *known,
		   const Onestop__CaseTransition *tr);

static void cw_fail(struct casework_result *res, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void cw_fail(struct casework_result *res, int code, const char *fmt, ...)
{
	va_list ap;
	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof res->msg, fmt, ap);
	va_end(ap);
}

static void cw_idhex(char out[2 * CASES_ID_LEN + 1], const uint8_t *id)
{
	os_hex(out, id, CASES_ID_LEN);
}

uint64_t casework_now_ms(void)
{
	const char *path = getenv(CASEWORK_CLOCK_ENV);
	char buf[32];
	if (!path || !*path)
		return os_now_ms();
	FILE *f = fopen(path, "r");
	if (!f)
		return os_now_ms();
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	if (end == buf)
		return os_now_ms();
	return (uint64_t)v;
}

/* ------------------------------------------------------------ the queue */

/* Queue payload (taken over, freed on error too) for dest. 0 or
 * OS_ENOMEM. */
static int cw_queue(struct casework *cw, const char *dest, const char *type, uint8_t *payload,
		    size_t len, uint64_t ttl_ms)
{
	if (cw->n == cw->cap) {
		size_t cap = cw->cap ? cw->cap * 2 : 16;
		struct cw_draft *q = realloc(cw->q, cap * sizeof *q);
		if (!q) {
			free(payload);
			return OS_ENOMEM;
		}
		cw->q = q;
		cw->cap = cap;
	}
	struct cw_draft *d = &cw->q[cw->n++];
	snprintf(d->dest, sizeof d->dest, "%s", dest);
	d->type = type;
	d->payload = payload;
	d->len = len;
	d->ttl_ms = ttl_ms;
	return 0;
}

static void cw_queue_clear(struct casework *cw)
{
	for (size_t i = 0; i < cw->n; i++)
		free(cw->q[i].payload);
	cw->n = 0;
}

static uint64_t cw_ttl_ms(const struct spoke *sp)
{
	return (uint64_t)sp->conf.case_ttl_days * CW_DAY_MS;
}

/* Sign the queued drafts as one batch (or several) and append them. */
static int cw_flush(struct spoke *sp)
{
	struct casework *cw = sp->cw;
	int rc = 0;
	for (size_t from = 0; from < cw->n && rc == 0;) {
		size_t n = cw->n - from;
		if (n > BATCHSIG_MAX_LEAVES)
			n = BATCHSIG_MAX_LEAVES;
		struct env_draft *d = calloc(n, sizeof *d);
		uint8_t **out = calloc(n, sizeof *out);
		size_t *olen = calloc(n, sizeof *olen);
		os_msgid *ids = calloc(n, sizeof *ids);
		uint64_t now_ms = os_now_ms();
		rc = OS_ENOMEM;
		if (d && out && olen && ids) {
			for (size_t i = 0; i < n; i++) {
				const struct cw_draft *q = &cw->q[from + i];
				d[i].destination = q->dest;
				d[i].type = q->type;
				d[i].payload = q->payload;
				d[i].payload_len = q->len;
				d[i].expires_ms = now_ms + q->ttl_ms;
			}
			rc = env_sign_batch(sp->conf.name, sp->key_version, sp->kp.sign_sk, d, n,
					    now_ms, out, olen, ids);
			for (size_t i = 0; rc == 0 && i < n; i++)
				rc = outbox_append(sp, out[i], olen[i], NULL);
		}
		if (out)
			for (size_t i = 0; i < n; i++)
				free(out[i]);
		free(d);
		free(out);
		free(olen);
		free(ids);
		from += n;
	}
	cw_queue_clear(cw);
	/* What was applied with these messages must not commit without
	 * them: a failure loses the whole iteration. */
	if (rc < 0) {
		os_log(OS_LOG_ERROR, "case_messages_lost", "code=%s reason=%s", os_errname(rc),
		       OS_Q("the case messages could not be signed or stored; the iteration is undone"));
		return spoke_wrote(sp, rc);
	}
	return 0;
}

/* ------------------------------------------------------------ packing */

static int cw_pack_transition(const Onestop__CaseTransition *tr, uint8_t **out, size_t *len)
{
	*len = onestop__case_transition__get_packed_size(tr);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return OS_ENOMEM;
	onestop__case_transition__pack(tr, *out);
	return 0;
}

static int cw_pack_msg(Onestop__Case *filing, Onestop__CaseTransition *tr,
		       Onestop__CaseRefusal *refusal, uint8_t **out, size_t *len)
{
	Onestop__CaseMessage m = ONESTOP__CASE_MESSAGE__INIT;
	m.filing = filing;
	m.transition = tr;
	m.refusal = refusal;
	*len = onestop__case_message__get_packed_size(&m);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return OS_ENOMEM;
	onestop__case_message__pack(&m, *out);
	return 0;
}

/* ------------------------------------------------------------ aux records */

static void cw_aux_key(uint8_t k[CASES_ID_LEN + 1], const uint8_t *id, char tag)
{
	memcpy(k, id, CASES_ID_LEN);
	k[CASES_ID_LEN] = (uint8_t)tag;
}

static int cw_aux_get(struct spoke *sp, struct store_txn *t, const uint8_t *id, char tag,
		      const void **v, size_t *vl)
{
	uint8_t k[CASES_ID_LEN + 1];
	cw_aux_key(k, id, tag);
	return store_get(t, sp->db_case_aux, k, sizeof k, v, vl);
}

static int cw_aux_put(struct spoke *sp, struct store_txn *t, const uint8_t *id, char tag,
		      const void *v, size_t vl)
{
	uint8_t k[CASES_ID_LEN + 1];
	cw_aux_key(k, id, tag);
	return store_put(t, sp->db_case_aux, k, sizeof k, v, vl);
}

static int cw_aux_del(struct spoke *sp, struct store_txn *t, const uint8_t *id, char tag)
{
	uint8_t k[CASES_ID_LEN + 1];
	cw_aux_key(k, id, tag);
	int rc = store_del(t, sp->db_case_aux, k, sizeof k);
	return rc == OS_ENOTFOUND ? 0 : rc;
}

/* ------------------------------------------------------------ local copies */

/* Look an entry up in the local copy into *e (malloc'd by the caller). */
static int cw_read(struct spoke *sp, const char *dataset, const char *key, struct replica_entry *e)
{
	if (!registry_find_dataset(sp->reg, dataset))
		return OS_ENOTFOUND;
	int rc = replica_read(sp->st, dataset, key, e);
	if (rc == 0)
		replica_used(sp, dataset, key);
	return rc == OS_EINVAL ? OS_ENOTFOUND : rc;
}

/* The item's owner, kind and time limits from the local items copy. 0,
 * OS_ENOTFOUND, OS_EDECODE or a store error. */
static int cw_item(struct spoke *sp, struct replica_entry *e, const char *code,
		   struct casework_item *out)
{
	memset(out, 0, sizeof *out);
	if (!code || ds_key_valid(code) != 0)
		return OS_ENOTFOUND;
	int rc = cw_read(sp, DS_ITEMS, code, e);
	if (rc < 0)
		return rc;
	Onestop__ItemValue *it = onestop__item_value__unpack(NULL, e->value_len, e->value);
	if (!it)
		return OS_EDECODE;
	snprintf(out->owner, sizeof out->owner, "%s", it->owner ? it->owner : "");
	snprintf(out->kind, sizeof out->kind, "%s", it->kind ? it->kind : "");
	out->promised_days = it->promised_days;
	out->legal_days = it->legal_days;
	onestop__item_value__free_unpacked(it, NULL);
	return 0;
}

/* 1 when an approval of an item of this kind yields an e-licence. */
static int cw_kind_yields(const char *kind)
{
	return strcmp(kind, "licence") == 0 || strcmp(kind, "permit") == 0 ||
	       strcmp(kind, "certificate") == 0;
}

/* Verify licence number for holder at now_ms from the local copies: 0 or
 * the refusal (ENOTFOUND, EDECODE, licence_verify's), why filled. *l and
 * publisher (OS_NAME_MAX) get what was read (may be NULL). */
static int cw_licence(struct spoke *sp, struct replica_entry *e, const char *number,
		      const char *holder, uint64_t now_ms, struct licence *l, char *publisher,
		      char *why, size_t size)
{
	struct licence tmp;
	struct casework_item item;
	if (!l)
		l = &tmp;
	int rc = cw_read(sp, DS_LICENCES, number, e);
	if (rc == OS_ENOTFOUND) {
		snprintf(why, size, "no licence %.64s", number);
		return rc;
	}
	if (rc < 0) {
		snprintf(why, size, "licence %.64s could not be read: %s", number, os_strerror(rc));
		return rc;
	}
	if (publisher)
		snprintf(publisher, OS_NAME_MAX, "%s", e->publisher);
	char signer[OS_NAME_MAX];
	snprintf(signer, sizeof signer, "%s", e->publisher);
	if (licence_decode(e->value, e->value_len, l) != 0) {
		snprintf(why, size, "licence %.64s does not decode", number);
		return OS_EDECODE;
	}
	rc = cw_item(sp, e, l->item, &item);
	if (rc < 0 && rc != OS_ENOTFOUND && rc != OS_EDECODE) {
		snprintf(why, size, "the items could not be read: %s", os_strerror(rc));
		return rc;
	}
	return licence_verify(l, signer, rc == 0 ? item.owner : NULL, holder, now_ms, why, size);
}

/* ------------------------------------------------------------ sealing */

int casework_seal(const os_box_pk pk, const uint8_t *data, size_t len, ProtobufCBinaryData *out)
{
	size_t cap = len + CRYPTO_SEAL_OVERHEAD;
	out->data = malloc(cap);
	out->len = 0;
	if (!out->data)
		return OS_ENOMEM;
	return crypto_seal(pk, data ? data : (const uint8_t *)"", len, out->data, cap, &out->len);
}

/* The materials of a filing or a resubmission: refs as given, uploads
 * sealed to the owner. *mats is an array of n_refs + n_uploads (the
 * caller frees it with cw_materials_free). */
struct cw_mats {
	Onestop__CaseMaterial *m;
	Onestop__SharedDataRef *refs;
	Onestop__SealedUpload *ups;
	Onestop__CaseMaterial **ptrs;
	size_t n;
};

static void cw_mats_free(struct cw_mats *c, size_t n_uploads)
{
	if (c->ups)
		for (size_t i = 0; i < n_uploads; i++)
			free(c->ups[i].sealed.data);
	free(c->m);
	free(c->refs);
	free(c->ups);
	free(c->ptrs);
	memset(c, 0, sizeof *c);
}

static int cw_mats(struct cw_mats *c, Onestop__SharedDataRef *const *refs, size_t n_refs,
		   Onestop__CaseUpload *const *ups, size_t n_ups, const os_box_pk pk)
{
	size_t n = n_refs + n_ups;
	memset(c, 0, sizeof *c);
	c->m = calloc(n ? n : 1, sizeof *c->m);
	c->refs = calloc(n_refs ? n_refs : 1, sizeof *c->refs);
	c->ups = calloc(n_ups ? n_ups : 1, sizeof *c->ups);
	c->ptrs = calloc(n ? n : 1, sizeof *c->ptrs);
	if (!c->m || !c->refs || !c->ups || !c->ptrs)
		return OS_ENOMEM;
	for (size_t i = 0; i < n_refs; i++) {
		onestop__shared_data_ref__init(&c->refs[i]);
		c->refs[i].dataset = refs[i]->dataset;
		c->refs[i].key = refs[i]->key;
		c->refs[i].name = refs[i]->name;
		onestop__case_material__init(&c->m[i]);
		c->m[i].source_case = ONESTOP__CASE_MATERIAL__SOURCE_SHARED;
		c->m[i].shared = &c->refs[i];
		c->ptrs[i] = &c->m[i];
	}
	for (size_t i = 0; i < n_ups; i++) {
		onestop__sealed_upload__init(&c->ups[i]);
		c->ups[i].name = ups[i]->name;
		int rc = casework_seal(pk, ups[i]->data.data, ups[i]->data.len, &c->ups[i].sealed);
		if (rc < 0)
			return rc;
		onestop__case_material__init(&c->m[n_refs + i]);
		c->m[n_refs + i].source_case = ONESTOP__CASE_MATERIAL__SOURCE_UPLOAD;
		c->m[n_refs + i].upload = &c->ups[i];
		c->ptrs[n_refs + i] = &c->m[n_refs + i];
	}
	c->n = n;
	return 0;
}

/* Check the shapes of refs and uploads; 0 or -1 with res failed. */
static int cw_check_given(struct casework_result *res, Onestop__SharedDataRef *const *refs,
			  size_t n_refs, Onestop__CaseUpload *const *ups, size_t n_ups)
{
	if (n_refs + n_ups > FILING_GIVEN_MAX) {
		cw_fail(res, OS_EINVAL, "at most %u materials, %zu given", FILING_GIVEN_MAX,
			n_refs + n_ups);
		return -1;
	}
	for (size_t i = 0; i < n_refs; i++) {
		const Onestop__SharedDataRef *r = refs[i];
		if (!r || !r->dataset || os_name_valid(r->dataset) != 0 || !r->key ||
		    ds_key_valid(r->key) != 0) {
			cw_fail(res, OS_EINVAL,
				"reference %zu: a dataset name and a key of 1..%u printable characters are required",
				i, DS_KEY_MAX);
			return -1;
		}
	}
	for (size_t i = 0; i < n_ups; i++) {
		const Onestop__CaseUpload *u = ups[i];
		if (!u || !u->name || !u->name[0] || strlen(u->name) >= 256) {
			cw_fail(res, OS_EINVAL, "upload %zu: the material name is required", i);
			return -1;
		}
	}
	return 0;
}

/* Verify ref, when it names a licence, for holder at now_ms (cw_licence).
 * 0 (also for a reference to another dataset) or the refusal, with res
 * failed. */
static int cw_check_licence_ref(struct spoke *sp, struct replica_entry *e,
				struct casework_result *res, const Onestop__SharedDataRef *r,
				const char *holder, uint64_t now_ms)
{
	char why[CASEWORK_MSG_MAX] = "";
	if (!r->dataset || strcmp(r->dataset, DS_LICENCES) != 0 || !r->key)
		return 0;
	int rc = cw_licence(sp, e, r->key, holder, now_ms, NULL, NULL, why, sizeof why);
	if (rc < 0)
		cw_fail(res, rc, "%s", why);
	return rc;
}

/* Verify the refs to "licences" for holder. 0 or -1 with res failed. */
static int cw_check_refs(struct spoke *sp, struct replica_entry *e, struct casework_result *res,
			 Onestop__SharedDataRef *const *refs, size_t n_refs, const char *holder,
			 uint64_t now_ms)
{
	for (size_t i = 0; i < n_refs; i++)
		if (cw_check_licence_ref(sp, e, res, refs[i], holder, now_ms) < 0)
			return -1;
	return 0;
}

/* ------------------------------------------------------------ filing */

static void cw_filing_digest(const Onestop__CaseFileRequest *q, os_hash out)
{
	/* What a filing key vouches for: the request as packed, key left out. */
	Onestop__CaseFileRequest c = *q;
	c.key.data = NULL;
	c.key.len = 0;
	size_t n = onestop__case_file_request__get_packed_size(&c);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		memset(out, 0, sizeof(os_hash));
		return;
	}
	onestop__case_file_request__pack(&c, buf);
	crypto_hash(out, buf, n);
	free(buf);
}

static void cw_new_id(uint8_t id[CASES_ID_LEN], uint64_t now_ms)
{
	crypto_random(id, CASES_ID_LEN);
	for (int i = 0; i < 6; i++)
		id[i] = (uint8_t)(now_ms >> (8 * (5 - i)));
}

int casework_file(struct spoke *sp, const Onestop__CaseFileRequest *q, struct casework_result *res)
{
	struct replica_entry *e = NULL;
	struct filing_material *fm = NULL;
	struct cw_mats mats = {0};
	ProtobufCBinaryData form = {0, NULL};
	uint8_t *step = NULL, *msg = NULL, *body = NULL;
	size_t step_len = 0, msg_len = 0, body_len = 0;
	struct store_txn *t = NULL;
	struct assertion a;
	uint8_t kbuf[CW_KEY_TAG_LEN + CW_KEY_MAX];
	size_t klen = 0;
	os_hash digest;
	int rc = 0;
	uint64_t wall = os_now_ms(), now = casework_now_ms();
	char why[CASEWORK_MSG_MAX] = "";

	memset(res, 0, sizeof *res);
	if (!q->item || ds_key_valid(q->item) != 0) {
		cw_fail(res, OS_EINVAL, "item: a national item code of 1..%u printable characters",
			DS_KEY_MAX);
		goto out;
	}
	if ((unsigned)q->channel > 4) {
		cw_fail(res, OS_EINVAL, "channel: web, mobile, hall or hotline");
		goto out;
	}
	if (q->key.len > CW_KEY_MAX) {
		cw_fail(res, OS_EINVAL, "key: at most %u bytes, %zu given", CW_KEY_MAX, q->key.len);
		goto out;
	}
	if (cw_check_given(res, q->refs, q->n_refs, q->uploads, q->n_uploads) < 0)
		goto out;
	if (spoke_registry_expired(sp, wall)) {
		cw_fail(res, OS_EEXPIRED,
			"the registry has expired; cases are refused until a current one arrives");
		goto out;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		goto out;
	if (q->key.len > 0) {
		os_msgid orig;
		memcpy(kbuf, CW_KEY_TAG, CW_KEY_TAG_LEN);
		memcpy(kbuf + CW_KEY_TAG_LEN, q->key.data, q->key.len);
		klen = CW_KEY_TAG_LEN + q->key.len;
		cw_filing_digest(q, digest);
		rc = outbox_key_find(sp, kbuf, klen, digest, wall, orig);
		if (rc == 0) {
			struct cases_info *ci = malloc(sizeof *ci);
			memcpy(res->id, orig, CASES_ID_LEN);
			res->duplicate = 1;
			if (ci && cases_get(sp, t, orig, ci) == 0)
				snprintf(res->owner, sizeof res->owner, "%s", ci->rec.owner);
			free(ci);
			rc = 0;
			goto out;
		}
		if (rc == OS_EEXIST) {
			cw_fail(res, OS_EEXIST, "this key was given to another filing");
			rc = 0;
			goto out;
		}
		if (rc != OS_ENOTFOUND) {
			spoke_wrote(sp, rc);
			goto out;
		}
		rc = 0;
	}
	if (!(e = malloc(sizeof *e)) || !(fm = calloc(q->n_refs + q->n_uploads + 1, sizeof *fm))) {
		cw_fail(res, OS_ENOMEM, "out of memory");
		goto out;
	}

	/* The item, as the local copy holds it (filing_check decodes it). */
	uint8_t *item_val = NULL;
	size_t item_len = 0;
	int irc = cw_read(sp, DS_ITEMS, q->item, e);
	if (irc < 0 && irc != OS_ENOTFOUND) {
		cw_fail(res, irc, "the items could not be read: %s", os_strerror(irc));
		goto out;
	}
	if (irc == 0) {
		item_val = malloc(e->value_len ? e->value_len : 1);
		if (!item_val) {
			cw_fail(res, OS_ENOMEM, "out of memory");
			goto out;
		}
		memcpy(item_val, e->value, e->value_len);
		item_len = e->value_len;
	}

	/* The applicant's assertion, verified here for this node. */
	struct assertion_policy pol = {
		.node = sp->conf.name,
		.any_audience = sp->conf.assertion_any_audience,
		.max_validity_s = (uint32_t)sp->conf.assertion_max_validity_s,
	};
	char awhy[256] = "";
	memset(&a, 0, sizeof a);
	int arc = assertion_verify_at(q->assertion.data, q->assertion.len, sp->reg, &pol, wall, &a,
				      awhy, sizeof awhy);
	if (arc == 0) {
		int src = cw_read(sp, DS_IDENTITY, a.subject, e);
		if (src == 0)
			arc = assertion_check_subject(&a, e->value, e->value_len, 0, awhy,
						      sizeof awhy);
		else if (src == OS_ENOTFOUND) {
			const struct reg_dataset *rd = registry_find_dataset(sp->reg, DS_IDENTITY);
			if (rd && rd->mode == REG_DS_FULL)
				arc = assertion_check_subject(&a, NULL, 0, 0, awhy, sizeof awhy);
		}
	}

	/* The materials given, resolved against the local copies. */
	for (size_t i = 0; i < q->n_refs; i++) {
		fm[i].source = FILING_SHARED;
		fm[i].name = q->refs[i]->name;
		fm[i].dataset = q->refs[i]->dataset;
		fm[i].key = q->refs[i]->key;
		int r = cw_read(sp, q->refs[i]->dataset, q->refs[i]->key, e);
		if (r < 0 && r != OS_ENOTFOUND) {
			free(item_val);
			cw_fail(res, r, "%s:%s could not be read: %s", q->refs[i]->dataset,
				q->refs[i]->key, os_strerror(r));
			goto out;
		}
		fm[i].resolved = r == 0;
	}
	for (size_t i = 0; i < q->n_uploads; i++) {
		fm[q->n_refs + i].source = FILING_UPLOAD;
		fm[q->n_refs + i].name = q->uploads[i]->name;
	}
	struct filing_request freq = {
		.item_code = q->item,
		.item = item_val,
		.item_len = item_len,
		.assertion_rc = arc,
		.assertion = arc == 0 ? &a : NULL,
		.assertion_why = awhy,
		.materials = fm,
		.n_materials = q->n_refs + q->n_uploads,
		.filer = sp->conf.name,
	};
	struct filing_result fres;
	int frc = filing_check(&freq, &fres, why, sizeof why);
	free(item_val);
	if (frc < 0) {
		cw_fail(res, frc, "%s", why[0] ? why : os_strerror(frc));
		goto out;
	}
	if (cw_check_refs(sp, e, res, q->refs, q->n_refs, a.subject, now) < 0)
		goto out;
	const struct reg_node *owner = registry_find(sp->reg, fres.owner);
	if (!owner || !registry_node_active(owner)) {
		cw_fail(res, owner ? OS_EREVOKED : OS_EUNKNOWN,
			"the item's owner %s is not an active node of the registry", fres.owner);
		goto out;
	}
	int remote = strcmp(fres.owner, sp->conf.name) != 0;
	if (remote && sp->ob.count + sp->cw->n >= (uint64_t)sp->conf.outbox_quota) {
		cw_fail(res, OS_EFULL, "the outbox is full (%llu messages); retry later",
			(unsigned long long)sp->ob.count);
		goto out;
	}

	/* The case, sealed to its owner. */
	Onestop__Case c = ONESTOP__CASE__INIT;
	Onestop__CaseTransition tr = ONESTOP__CASE_TRANSITION__INIT;
	uint8_t id[CASES_ID_LEN];
	cw_new_id(id, wall);
	if ((rc = casework_seal(owner->box_pk, q->form.data, q->form.len, &form)) < 0 ||
	    (rc = cw_mats(&mats, q->refs, q->n_refs, q->uploads, q->n_uploads, owner->box_pk)) <
		    0) {
		cw_fail(res, rc, "the case could not be sealed to %s: %s", fres.owner,
			os_strerror(rc));
		rc = 0;
		goto out;
	}
	c.id.data = id;
	c.id.len = CASES_ID_LEN;
	c.item = q->item;
	c.applicant = a.subject;
	c.assertion = q->assertion;
	c.channel = q->channel;
	c.filed_by = sp->conf.name;
	c.owner = fres.owner;
	c.form = form;
	c.n_materials = mats.n;
	c.materials = mats.ptrs;
	c.created_ms = now;
	tr.case_id = c.id;
	tr.seq = 1;
	tr.action = ONESTOP__CASE_ACTION__CASE_ACTION_FILE;
	tr.actor = sp->conf.name;
	tr.at_ms = now;
	if ((rc = cw_pack_transition(&tr, &step, &step_len)) < 0 ||
	    (rc = cw_pack_msg(&c, &tr, NULL, &msg, &msg_len)) < 0) {
		cw_fail(res, rc, "out of memory");
		rc = 0;
		goto out;
	}
	if (remote && msg_len + CW_ENV_SLACK > spoke_hub_limit(sp)) {
		cw_fail(res, OS_ETOOBIG,
			"the case of %zu bytes is over the hub's limit on a message (%llu bytes)",
			msg_len, (unsigned long long)spoke_hub_limit(sp));
		goto out;
	}
	body_len = onestop__case__get_packed_size(&c);
	if (!(body = malloc(body_len ? body_len : 1))) {
		cw_fail(res, OS_ENOMEM, "out of memory");
		goto out;
	}
	onestop__case__pack(&c, body);

	/* Spent only now that everything else holds. */
	why[0] = '\0';
	rc = assertion_replay_claim(t, sp->db_assert_seen, &a, wall, why, sizeof why);
	if (rc == OS_EREPLAY || rc == OS_EINVAL) {
		cw_fail(res, rc, "%s", why[0] ? why : "the assertion was used before");
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		spoke_wrote(sp, rc);
		goto out;
	}
	int dup = 0;
	const char *chan = cw_channels[q->channel];
	rc = cases_file(sp, t, id, sp->conf.name, fres.owner, q->item, a.subject, chan, now, step,
			step_len, &dup);
	if (rc == OS_ESTORE || rc == OS_ESTOREFULL || rc == OS_ENOMEM) {
		spoke_wrote(sp, rc);
		goto out;
	}
	if (rc < 0) {
		/* The checks above make this a fault of this node, not the
		 * applicant's; nothing is written. */
		cw_fail(res, rc, "the case could not be filed: %s", os_strerror(rc));
		spoke_wrote(sp, rc);
		goto out;
	}
	if ((rc = spoke_wrote(sp, cw_aux_put(sp, t, id, CW_AUX_CASE, body, body_len))) < 0)
		goto out;
	if (klen && (rc = spoke_wrote(sp, outbox_key_put(sp, kbuf, klen, digest, id, wall))) < 0)
		goto out;
	if (!remote && (rc = spoke_wrote(sp, cw_emit(sp, t, e, id, NULL, &tr))) < 0)
		goto out;
	if (remote) {
		rc = cw_queue(sp->cw, fres.owner, CASEWORK_TYPE, msg, msg_len, cw_ttl_ms(sp));
		msg = NULL;
		if (rc < 0) {
			spoke_wrote(sp, rc);
			goto out;
		}
	}
	memcpy(res->id, id, CASES_ID_LEN);
	snprintf(res->owner, sizeof res->owner, "%s", fres.owner);
	res->seq = 1;
	char hex[2 * CASES_ID_LEN + 1];
	cw_idhex(hex, id);
	os_log(OS_LOG_INFO, "case_filed", "case=%s item=%s owner=%s channel=%s", hex, OS_Q(q->item),
	       fres.owner, chan[0] ? chan : "none");
out:
	if (form.data)
		crypto_wipe(form.data, form.len);
	free(form.data);
	cw_mats_free(&mats, q->n_uploads);
	free(step);
	free(msg);
	free(body);
	free(fm);
	free(e);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ transitions */

static int cw_is_owner_action(enum case_action act)
{
	return act == CASE_ACT_ACCEPT || act == CASE_ACT_REJECT || act == CASE_ACT_NEED_MORE ||
	       act == CASE_ACT_DECIDE || act == CASE_ACT_CLOSE;
}

/* Call fn for every shared reference of case id (as filed, then those
 * added by resubmissions). Stops at fn's nonzero. */
typedef int (*cw_ref_fn)(void *arg, const Onestop__SharedDataRef *r);

struct cw_hist_refs {
	cw_ref_fn fn;
	void *arg;
	int rc;
};

static int cw_hist_refs_visit(void *arg, uint64_t seq, uint64_t at_ms, const char *actor,
			      const uint8_t *step, size_t len)
{
	struct cw_hist_refs *h = arg;
	(void)seq;
	(void)at_ms;
	(void)actor;
	Onestop__CaseTransition *tr = onestop__case_transition__unpack(NULL, len, step);
	if (!tr)
		return 0;
	for (size_t i = 0; i < tr->n_added && h->rc == 0; i++)
		if (tr->added[i]->source_case == ONESTOP__CASE_MATERIAL__SOURCE_SHARED)
			h->rc = h->fn(h->arg, tr->added[i]->shared);
	onestop__case_transition__free_unpacked(tr, NULL);
	return h->rc != 0;
}

static int cw_each_ref(struct spoke *sp, struct store_txn *t, const uint8_t *id, cw_ref_fn fn,
		       void *arg)
{
	const void *v;
	size_t vl;
	int rc = 0;
	if (cw_aux_get(sp, t, id, CW_AUX_CASE, &v, &vl) == 0) {
		Onestop__Case *c = onestop__case__unpack(NULL, vl, v);
		for (size_t i = 0; c && i < c->n_materials && rc == 0; i++)
			if (c->materials[i]->source_case == ONESTOP__CASE_MATERIAL__SOURCE_SHARED)
				rc = fn(arg, c->materials[i]->shared);
		if (c)
			onestop__case__free_unpacked(c, NULL);
	}
	if (rc != 0)
		return rc;
	struct cw_hist_refs h = {fn, arg, 0};
	int hrc = cases_history(sp, t, id, cw_hist_refs_visit, &h);
	return h.rc ? h.rc : hrc;
}

struct cw_lic_check {
	struct spoke *sp;
	struct replica_entry *e;
	const char *holder;
	uint64_t now_ms;
	struct casework_result *res;
};

static int cw_lic_visit(void *arg, const Onestop__SharedDataRef *r)
{
	struct cw_lic_check *c = arg;
	return cw_check_licence_ref(c->sp, c->e, c->res, r, c->holder, c->now_ms);
}

/* Apply tr (packed as content) to case id at this node, with the due
 * dates of the item (known, or read from the local items copy when NULL).
 * 0 (*dup set) or cases_apply's codes. */
static int cw_apply(struct spoke *sp, struct store_txn *t, struct replica_entry *e,
		    const uint8_t *id, const struct cases_info *ci,
		    const struct casework_item *known, const Onestop__CaseTransition *tr,
		    const uint8_t *content, size_t clen, uint64_t now, int *dup)
{
	struct casework_item item;
	struct case_step st = {
		.seq = tr->seq,
		.action = (enum case_action)tr->action,
		.outcome = (enum case_outcome)tr->outcome,
		.actor = tr->actor,
		.content = content,
		.content_len = clen,
	};
	if (known)
		item = *known;
	else if (cw_item(sp, e, ci->item, &item) < 0)
		memset(&item, 0, sizeof item);
	uint64_t at = tr->at_ms ? tr->at_ms : now; /* the actor's time: both ends agree */
	int rc = cases_apply(sp, t, id, &st, at, &sp->cw->cal, item.promised_days, item.legal_days,
			     dup);
	if (rc == 0 && !*dup && tr->licence && tr->licence[0])
		rc = cw_aux_put(sp, t, id, CW_AUX_LICENCE, tr->licence, strlen(tr->licence));
	return rc;
}

static int cw_store_error(int rc)
{
	return rc == OS_ESTORE || rc == OS_ESTOREFULL || rc == OS_ENOMEM;
}

/* Issue the e-licence of an approval of case ci: queue the change to the
 * hub and put its number in number. 0 or -1 with res failed. */
static int cw_issue(struct spoke *sp, const uint8_t *id, const struct cases_info *ci, uint32_t days,
		    uint64_t now, char number[DS_KEY_MAX + 1], struct casework_result *res)
{
	struct licence l;
	uint8_t *val = NULL, *chg = NULL;
	size_t vlen = 0, clen = 0;
	char why[CASEWORK_MSG_MAX] = "";
	char hex[2 * CASES_ID_LEN + 1];
	int rc;

	memset(&l, 0, sizeof l);
	cw_idhex(hex, id);
	snprintf(l.number, sizeof l.number, "LIC-%s", hex);
	snprintf(l.item, sizeof l.item, "%s", ci->item);
	snprintf(l.holder, sizeof l.holder, "%s", ci->subject);
	snprintf(l.issuer, sizeof l.issuer, "%s", sp->conf.name);
	l.valid_from_ms = now;
	l.valid_until_ms = days ? now + (uint64_t)days * CW_DAY_MS : 0;
	if ((rc = licence_pack(&l, &val, &vlen)) < 0) {
		cw_fail(res, rc, "the licence could not be packed");
		return -1;
	}
	rc = replica_put_check(sp, DS_LICENCES, l.number, 0, val, vlen, why, sizeof why);
	if (rc < 0) {
		cw_fail(res, rc, "the licence cannot be issued here: %s",
			why[0] ? why : os_strerror(rc));
		free(val);
		return -1;
	}
	rc = ds_change_pack(DS_LICENCES, l.number, 0, val, vlen, &chg, &clen);
	free(val);
	if (rc == 0)
		rc = cw_queue(sp->cw,
			      ds_sequencer(registry_find_dataset(sp->reg, DS_LICENCES),
					   sp->conf.hub_name),
			      DS_CHANGE_TYPE, chg, clen, (uint64_t)sp->conf.default_ttl_s * 1000u);
	if (rc < 0) {
		cw_fail(res, rc, "the licence could not be queued: %s", os_strerror(rc));
		return -1;
	}
	snprintf(number, DS_KEY_MAX + 1, "%s", l.number);
	return 0;
}

int casework_act(struct spoke *sp, const Onestop__CaseActRequest *q, struct casework_result *res)
{
	struct cases_info *ci = NULL;
	struct replica_entry *e = NULL;
	struct cw_mats mats = {0};
	struct store_txn *t = NULL;
	uint8_t *content = NULL, *msg = NULL;
	size_t clen = 0, mlen = 0;
	char hex[2 * CASES_ID_LEN + 1];
	char number[DS_KEY_MAX + 1] = "";
	int rc = 0;
	uint64_t now = casework_now_ms();

	memset(res, 0, sizeof *res);
	if (q->case_id.len != CASES_ID_LEN) {
		cw_fail(res, OS_EINVAL, "case_id: %u bytes", CASES_ID_LEN);
		goto out;
	}
	enum case_action act = (enum case_action)q->action;
	if (act <= CASE_ACT_FILE || act > CASE_ACTION_MAX) {
		cw_fail(res, OS_EINVAL,
			"action: accept, reject, need_more, resubmit, decide, close or withdraw");
		goto out;
	}
	if ((act == CASE_ACT_DECIDE) !=
		    (q->outcome != ONESTOP__CASE_OUTCOME__CASE_OUTCOME_UNSPECIFIED) ||
	    (unsigned)q->outcome > CASE_DENIED) {
		cw_fail(res, OS_EINVAL,
			"outcome: approved or denied, with decide and only with it");
		goto out;
	}
	if (act == CASE_ACT_NEED_MORE && q->n_missing == 0) {
		cw_fail(res, OS_EINVAL, "need_more: name the missing materials");
		goto out;
	}
	if (act != CASE_ACT_RESUBMIT && (q->n_refs || q->n_uploads)) {
		cw_fail(res, OS_EINVAL, "materials are added by resubmit only");
		goto out;
	}
	if (cw_check_given(res, q->refs, q->n_refs, q->uploads, q->n_uploads) < 0)
		goto out;
	if (spoke_registry_expired(sp, os_now_ms())) {
		cw_fail(res, OS_EEXPIRED,
			"the registry has expired; transitions are refused until a current one arrives");
		goto out;
	}
	const uint8_t *id = q->case_id.data;
	cw_idhex(hex, id);
	if (!(ci = malloc(sizeof *ci)) || !(e = malloc(sizeof *e))) {
		cw_fail(res, OS_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		goto out;
	rc = cases_get(sp, t, id, ci);
	if (rc == OS_ENOTFOUND) {
		cw_fail(res, rc, "no case %s at this node", hex);
		rc = 0;
		goto out;
	}
	if (rc < 0) {
		cw_fail(res, rc, "case %s could not be read: %s", hex, os_strerror(rc));
		rc = 0;
		goto out;
	}
	const char *me = sp->conf.name;
	int owner_act = cw_is_owner_action(act);
	const char *maker = owner_act ? ci->rec.owner : ci->rec.filer;
	if (strcmp(maker, me) != 0) {
		cw_fail(res, OS_ENOTALLOWED, "%s of case %s is made by %s %s, not by %s",
			case_action_name(act), hex, owner_act ? "its owner" : "its filing node",
			maker, me);
		goto out;
	}
	if (!case_allowed(ci->rec.state, act) ||
	    (act == CASE_ACT_NEED_MORE && ci->rec.more_asked >= CASE_MORE_MAX)) {
		cw_fail(res, OS_ESTATE, "%s is not allowed in state %s", case_action_name(act),
			case_state_name(ci->rec.state));
		goto out;
	}
	int local = strcmp(ci->rec.owner, me) == 0; /* the owner applies at once */
	const void *pv;
	size_t pl;
	if (!local && (rc = cw_aux_get(sp, t, id, CW_AUX_PENDING, &pv, &pl)) != OS_ENOTFOUND) {
		if (rc < 0) {
			cw_fail(res, rc, "case %s could not be read: %s", hex, os_strerror(rc));
			rc = 0;
			goto out;
		}
		cw_fail(res, OS_EAGAIN, "a step of this node on case %s waits for the owner %s",
			hex, ci->rec.owner);
		goto out;
	}
	rc = 0;
	if (act == CASE_ACT_ACCEPT) {
		/* The owner verifies the licences given, now. */
		struct cw_lic_check lc = {sp, e, ci->subject, now, res};
		int lrc = cw_each_ref(sp, t, id, cw_lic_visit, &lc);
		if (lrc < 0) {
			if (res->code == 0)
				cw_fail(res, lrc, "the materials could not be read: %s",
					os_strerror(lrc));
			goto out;
		}
	}
	if (act == CASE_ACT_RESUBMIT &&
	    cw_check_refs(sp, e, res, q->refs, q->n_refs, ci->subject, now) < 0)
		goto out;
	for (size_t i = 0; act == CASE_ACT_RESUBMIT && i < q->n_refs; i++) {
		int r = cw_read(sp, q->refs[i]->dataset, q->refs[i]->key, e);
		if (r < 0) {
			cw_fail(res, r, "%s:%s %s", q->refs[i]->dataset, q->refs[i]->key,
				r == OS_ENOTFOUND ? "is not in the local copy" : os_strerror(r));
			goto out;
		}
	}
	const struct reg_node *owner = registry_find(sp->reg, ci->rec.owner);
	if (!owner) {
		cw_fail(res, OS_EUNKNOWN, "the case's owner %s is not in the registry",
			ci->rec.owner);
		goto out;
	}
	if (strcmp(ci->rec.filer, ci->rec.owner) != 0 &&
	    sp->ob.count + sp->cw->n >= (uint64_t)sp->conf.outbox_quota) {
		cw_fail(res, OS_EFULL, "the outbox is full; retry later");
		goto out;
	}
	if ((rc = cw_mats(&mats, q->refs, q->n_refs, q->uploads, q->n_uploads, owner->box_pk)) <
	    0) {
		cw_fail(res, rc, "the materials could not be sealed: %s", os_strerror(rc));
		rc = 0;
		goto out;
	}
	/* The item as the local copy holds it: its kind and time limits. */
	struct casework_item item;
	if (cw_item(sp, e, ci->item, &item) < 0)
		memset(&item, 0, sizeof item);
	if (act == CASE_ACT_DECIDE && q->outcome == ONESTOP__CASE_OUTCOME__CASE_OUTCOME_APPROVED &&
	    cw_kind_yields(item.kind) &&
	    cw_issue(sp, id, ci, q->licence_days, now, number, res) < 0)
		goto out;

	Onestop__CaseTransition tr = ONESTOP__CASE_TRANSITION__INIT;
	tr.case_id = q->case_id;
	tr.seq = ci->rec.seq + 1;
	tr.action = q->action;
	tr.actor = (char *)me;
	tr.reason = q->reason && q->reason[0] ? q->reason : NULL;
	tr.n_missing = q->n_missing;
	tr.missing = q->missing;
	tr.outcome = q->outcome;
	tr.n_added = mats.n;
	tr.added = mats.ptrs;
	tr.at_ms = now;
	tr.licence = number[0] ? number : NULL;
	if (!tr.reason)
		tr.reason = (char *)"";
	if ((rc = cw_pack_transition(&tr, &content, &clen)) < 0 ||
	    (rc = cw_pack_msg(NULL, &tr, NULL, &msg, &mlen)) < 0) {
		cw_fail(res, rc, "out of memory");
		rc = 0;
		goto out;
	}
	if (mlen + CW_ENV_SLACK > spoke_hub_limit(sp)) {
		cw_fail(res, OS_ETOOBIG, "the transition of %zu bytes is over the hub's limit",
			mlen);
		goto out;
	}
	res->seq = tr.seq;
	if (local) {
		int dup = 0;
		rc = cw_apply(sp, t, e, id, ci, &item, &tr, content, clen, now, &dup);
		if (cw_store_error(rc)) {
			spoke_wrote(sp, rc);
			goto out;
		}
		if (rc < 0) {
			cw_fail(res, rc, "%s of case %s: %s", case_action_name(act), hex,
				os_strerror(rc));
			spoke_wrote(sp, rc); /* a licence may be queued: undo it all */
			goto out;
		}
		spoke_wrote(sp, 0);
		if (!dup && (rc = spoke_wrote(sp, cw_emit(sp, t, e, id, &item, &tr))) < 0)
			goto out;
		snprintf(res->licence, sizeof res->licence, "%s", number);
		if (strcmp(ci->rec.filer, me) != 0) {
			rc = cw_queue(sp->cw, ci->rec.filer, CASEWORK_TYPE, msg, mlen,
				      cw_ttl_ms(sp));
			msg = NULL;
			if (rc < 0) {
				spoke_wrote(sp, rc);
				goto out;
			}
		}
	} else {
		if ((rc = spoke_wrote(sp, cw_aux_put(sp, t, id, CW_AUX_PENDING, content, clen))) <
		    0)
			goto out;
		rc = cw_queue(sp->cw, ci->rec.owner, CASEWORK_TYPE, msg, mlen, cw_ttl_ms(sp));
		msg = NULL;
		if (rc < 0) {
			spoke_wrote(sp, rc);
			goto out;
		}
		res->pending = 1;
	}
	os_log(OS_LOG_INFO, "case_step", "case=%s seq=%llu action=%s%s%s%s", hex,
	       (unsigned long long)res->seq, case_action_name(act),
	       res->pending ? " pending=1" : "", number[0] ? " licence=" : "", number);
out:
	cw_mats_free(&mats, q->n_uploads);
	free(content);
	free(msg);
	free(ci);
	free(e);
	return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------ receipt */

/* The owner refuses a filing node's step: tell the filing node. */
static int cw_refuse_to(struct spoke *sp, const char *filer, const Onestop__CaseTransition *tr,
			int code, const char *why)
{
	Onestop__CaseRefusal r = ONESTOP__CASE_REFUSAL__INIT;
	uint8_t *msg;
	size_t len;
	r.case_id = tr->case_id;
	r.seq = tr->seq;
	r.action = tr->action;
	r.code = code;
	r.reason = (char *)why;
	int rc = cw_pack_msg(NULL, NULL, &r, &msg, &len);
	if (rc < 0)
		return rc;
	return cw_queue(sp->cw, filer, CASEWORK_TYPE, msg, len, cw_ttl_ms(sp));
}

/* A filing, at its owner. */
static int cw_recv_filing(struct spoke *sp, struct store_txn *t, const struct env *e,
			  const Onestop__CaseMessage *m, int *refusal, int *deliver, char *why,
			  size_t size)
{
	const Onestop__Case *c = m->filing;
	const Onestop__CaseTransition *tr = m->transition;
	uint8_t *content = NULL, *body = NULL;
	size_t clen, blen;
	int dup = 0, rc;

	if (!tr || tr->action != ONESTOP__CASE_ACTION__CASE_ACTION_FILE || tr->seq != 1 ||
	    c->id.len != CASES_ID_LEN || tr->case_id.len != CASES_ID_LEN ||
	    memcmp(c->id.data, tr->case_id.data, CASES_ID_LEN) != 0 || !c->item || !c->applicant) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "a filing must come with its FILE transition (seq 1, same id)");
		return 0;
	}
	if (!tr->actor || strcmp(tr->actor, e->origin) != 0 || !c->filed_by ||
	    strcmp(c->filed_by, e->origin) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "a case filed by %s must be sent and signed by it",
			 c->filed_by ? c->filed_by : "-");
		return 0;
	}
	if (!c->owner || strcmp(c->owner, sp->conf.name) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "the case names owner %s, not this node",
			 c->owner ? c->owner : "-");
		return 0;
	}
	if ((unsigned)c->channel > 4 || ds_key_valid(c->item) != 0 ||
	    strlen(c->applicant) >= CASES_TEXT_MAX) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "the case's item, applicant or channel is malformed");
		return 0;
	}
	if ((rc = cw_pack_transition(tr, &content, &clen)) < 0)
		return rc;
	rc = cases_file(sp, t, c->id.data, e->origin, sp->conf.name, c->item, c->applicant,
			cw_channels[c->channel], tr->at_ms, content, clen, &dup);
	free(content);
	if (cw_store_error(rc))
		return rc;
	if (rc < 0) {
		*refusal = rc == OS_EEXIST ? OS_ECONFLICT : rc;
		snprintf(why, size, "the filing could not be stored: %s", os_strerror(rc));
		return 0;
	}
	if (dup)
		return 0;
	blen = onestop__case__get_packed_size(c);
	if (!(body = malloc(blen ? blen : 1)))
		return OS_ENOMEM;
	onestop__case__pack(c, body);
	rc = cw_aux_put(sp, t, c->id.data, CW_AUX_CASE, body, blen);
	free(body);
	if (rc < 0 || (rc = cw_emit(sp, t, NULL, c->id.data, NULL, tr)) < 0)
		return rc;
	*deliver = 1;
	char hex[2 * CASES_ID_LEN + 1];
	cw_idhex(hex, c->id.data);
	os_log(OS_LOG_INFO, "case_received", "case=%s item=%s filer=%s", hex, OS_Q(c->item),
	       e->origin);
	return 0;
}

/* A transition or a refusal of an existing case. */
static int cw_recv_step(struct spoke *sp, struct store_txn *t, const struct env *e,
			const Onestop__CaseMessage *m, int *refusal, int *deliver, char *why,
			size_t size)
{
	const Onestop__CaseTransition *tr = m->transition;
	const Onestop__CaseRefusal *rf = m->refusal;
	const ProtobufCBinaryData *cid = tr ? &tr->case_id : &rf->case_id;
	struct cases_info *ci = NULL;
	struct replica_entry *re = NULL;
	uint8_t *content = NULL;
	size_t clen = 0;
	char hex[2 * CASES_ID_LEN + 1] = "-";
	const char *me = sp->conf.name;
	int rc = 0, dup = 0;

	if (cid->len != CASES_ID_LEN) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "case_id is not %u bytes", CASES_ID_LEN);
		return 0;
	}
	cw_idhex(hex, cid->data);
	if (!(ci = malloc(sizeof *ci)) || !(re = malloc(sizeof *re))) {
		rc = OS_ENOMEM;
		goto out;
	}
	rc = cases_get(sp, t, cid->data, ci);
	if (rc == OS_ENOTFOUND || rc == OS_EDECODE) {
		*refusal = rc;
		snprintf(why, size, "no case %s at this node", hex);
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	int from_owner = strcmp(e->origin, ci->rec.owner) == 0;
	int from_filer = strcmp(e->origin, ci->rec.filer) == 0;
	if (!from_owner && !from_filer) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "%s is no party to case %s", e->origin, hex);
		goto out;
	}
	if (rf) {
		/* The owner could not apply this node's pending step. */
		const void *pv;
		size_t pl;
		if (!from_owner || strcmp(ci->rec.filer, me) != 0) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "only the owner of case %s answers its steps", hex);
			goto out;
		}
		rc = cw_aux_get(sp, t, cid->data, CW_AUX_PENDING, &pv, &pl);
		if (rc == OS_ENOTFOUND) {
			rc = 0;
			goto out; /* already settled: nothing to tell */
		}
		if (rc < 0)
			goto out;
		Onestop__CaseTransition *p = onestop__case_transition__unpack(NULL, pl, pv);
		int same = p && p->seq == rf->seq;
		if (p)
			onestop__case_transition__free_unpacked(p, NULL);
		if (!same)
			goto out;
		if ((rc = cw_aux_del(sp, t, cid->data, CW_AUX_PENDING)) < 0)
			goto out;
		os_log(OS_LOG_INFO, "case_step_refused", "case=%s seq=%llu code=%s reason=%s", hex,
		       (unsigned long long)rf->seq, os_errname(rf->code),
		       OS_Q(rf->reason ? rf->reason : ""));
		*deliver = 1;
		goto out;
	}
	enum case_action act = (enum case_action)tr->action;
	if (!tr->actor || os_name_valid(tr->actor) != 0) {
		*refusal = OS_EINVAL;
		snprintf(why, size, "the transition names no actor");
		goto out;
	}
	if ((rc = cw_pack_transition(tr, &content, &clen)) < 0)
		goto out;
	if (from_owner && strcmp(tr->actor, e->origin) != 0) {
		/* The owner echoes a step of the filing node (this node): it
		 * must be the one this node made and keeps pending. */
		const void *pv;
		size_t pl;
		if (strcmp(tr->actor, ci->rec.filer) != 0 || strcmp(ci->rec.filer, me) != 0) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "%s sent a step of %s on case %s", e->origin, tr->actor,
				 hex);
			goto out;
		}
		rc = cw_aux_get(sp, t, cid->data, CW_AUX_PENDING, &pv, &pl);
		if (rc == OS_ENOTFOUND) {
			/* Applied before (a repeated echo) or never made here. */
			rc = 0;
			int d = 0;
			struct case_step st = {.seq = tr->seq,
					       .action = act,
					       .outcome = (enum case_outcome)tr->outcome,
					       .actor = tr->actor,
					       .content = content,
					       .content_len = clen};
			struct case_record r = ci->rec;
			int arc = case_apply(&r, &st, &d);
			if (arc == 0 && d)
				goto out; /* the same step again: applied once */
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "case %s: a step of this node that it did not make",
				 hex);
			goto out;
		}
		if (rc < 0)
			goto out;
		if (pl != clen || memcmp(pv, content, clen) != 0) {
			*refusal = OS_ENOTALLOWED;
			snprintf(why, size, "case %s: the owner's echo is not this node's step",
				 hex);
			goto out;
		}
		if ((rc = cw_aux_del(sp, t, cid->data, CW_AUX_PENDING)) < 0)
			goto out;
	} else if (strcmp(tr->actor, e->origin) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "a step by %s must be sent and signed by it, not %s", tr->actor,
			 e->origin);
		goto out;
	}
	rc = cw_apply(sp, t, re, cid->data, ci, NULL, tr, content, clen, casework_now_ms(), &dup);
	if (cw_store_error(rc))
		goto out;
	if (rc < 0) {
		int code = rc;
		rc = 0;
		if (from_filer && !from_owner && (code == OS_ECONFLICT || code == OS_ESTATE)) {
			/* A race with the owner's own step: the owner's history
			 * stands, and the filing node is told. */
			snprintf(why, size, "%s of case %s at version %llu: %s",
				 case_action_name(act), hex, (unsigned long long)tr->seq,
				 os_strerror(code));
			os_log(OS_LOG_INFO, "case_step_refused", "case=%s seq=%llu code=%s", hex,
			       (unsigned long long)tr->seq, os_errname(code));
			rc = cw_refuse_to(sp, ci->rec.filer, tr, code, why);
			why[0] = '\0';
			goto out;
		}
		*refusal = code;
		snprintf(why, size, "%s of case %s at version %llu: %s", case_action_name(act), hex,
			 (unsigned long long)tr->seq, os_strerror(code));
		goto out;
	}
	if (dup)
		goto out;
	*deliver = 1;
	if (from_filer && !from_owner) {
		/* The owner orders the history: echo the step to its maker. */
		uint8_t *msg;
		size_t mlen;
		if ((rc = cw_emit(sp, t, re, cid->data, NULL, tr)) < 0)
			goto out;
		if ((rc = cw_pack_msg(NULL, (Onestop__CaseTransition *)tr, NULL, &msg, &mlen)) <
			    0 ||
		    (rc = cw_queue(sp->cw, ci->rec.filer, CASEWORK_TYPE, msg, mlen,
				   cw_ttl_ms(sp))) < 0)
			goto out;
	}
	os_log(OS_LOG_INFO, "case_step_applied", "case=%s seq=%llu action=%s actor=%s", hex,
	       (unsigned long long)tr->seq, case_action_name(act), tr->actor);
out:
	free(content);
	free(ci);
	free(re);
	return rc;
}

static int cw_receive(void *ctx, struct store_txn *t, const struct env *e, int *refusal,
		      int *deliver, char *why, size_t size)
{
	struct spoke *sp = ctx;
	*refusal = 0;
	*deliver = 0;
	why[0] = '\0';
	if (strcmp(e->destination, sp->conf.name) != 0) {
		*refusal = OS_ENOTALLOWED;
		snprintf(why, size, "a case message goes to a node, not a topic");
		return 0;
	}
	Onestop__CaseMessage *m = onestop__case_message__unpack(NULL, e->payload_len, e->payload);
	if (!m) {
		*refusal = OS_EDECODE;
		snprintf(why, size, "the payload is not a CaseMessage");
		return 0;
	}
	int rc = 0;
	if (m->filing)
		rc = cw_recv_filing(sp, t, e, m, refusal, deliver, why, size);
	else if ((m->transition != NULL) != (m->refusal != NULL))
		rc = cw_recv_step(sp, t, e, m, refusal, deliver, why, size);
	else {
		*refusal = OS_EINVAL;
		snprintf(why, size, "a CaseMessage carries a filing, a transition or a refusal");
	}
	onestop__case_message__free_unpacked(m, NULL);
	return rc;
}

/* ------------------------------------------------------------ reads */

static int cw_reply_pack(const Onestop__ApiReply *rep, uint8_t **buf, size_t *len)
{
	*len = onestop__api_reply__get_packed_size(rep);
	*buf = malloc(*len ? *len : 1);
	if (!*buf)
		return OS_ENOMEM;
	onestop__api_reply__pack(rep, *buf);
	return 0;
}

static int cw_reply_code(uint64_t request_id, int code, const char *msg, uint8_t **buf, size_t *len)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	rep.request_id = request_id;
	rep.code = code;
	rep.message = (char *)msg;
	return cw_reply_pack(&rep, buf, len);
}

/* An arena of what a reply points to, freed at once. */
struct cw_arena {
	void **p;
	size_t n, cap;
};

static void *cw_keep(struct cw_arena *a, void *p)
{
	if (!p)
		return NULL;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		void **np = realloc(a->p, cap * sizeof *np);
		if (!np) {
			free(p);
			return NULL;
		}
		a->p = np;
		a->cap = cap;
	}
	a->p[a->n++] = p;
	return p;
}

static void *cw_alloc(struct cw_arena *a, size_t n)
{
	return cw_keep(a, calloc(1, n ? n : 1));
}

static char *cw_strdup(struct cw_arena *a, const char *s)
{
	return cw_keep(a, strdup(s ? s : ""));
}

static void cw_arena_free(struct cw_arena *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->p[i]);
	free(a->p);
	memset(a, 0, sizeof *a);
}

static int cw_channel_of(const char *name)
{
	for (int i = 1; i < 5; i++)
		if (strcmp(name, cw_channels[i]) == 0)
			return i;
	return 0;
}

struct cw_first {
	uint64_t at_ms;
};

static int cw_first_visit(void *arg, uint64_t seq, uint64_t at_ms, const char *actor,
			  const uint8_t *step, size_t len)
{
	struct cw_first *f = arg;
	(void)seq;
	(void)actor;
	Onestop__CaseTransition *tr = onestop__case_transition__unpack(NULL, len, step);
	f->at_ms = tr ? tr->at_ms : at_ms;
	if (tr)
		onestop__case_transition__free_unpacked(tr, NULL);
	return 1;
}

/* Fill info (summary fields) from the stored case id. */
static int cw_info(struct spoke *sp, struct store_txn *t, struct cw_arena *a, const uint8_t *id,
		   uint64_t now, Onestop__CaseInfo *info)
{
	struct cases_info *ci = malloc(sizeof *ci);
	const void *v;
	size_t vl;
	int rc;
	if (!ci)
		return OS_ENOMEM;
	if ((rc = cases_get(sp, t, id, ci)) < 0) {
		free(ci);
		return rc;
	}
	onestop__case_info__init(info);
	uint8_t *idc = cw_alloc(a, CASES_ID_LEN);
	if (!idc) {
		free(ci);
		return OS_ENOMEM;
	}
	memcpy(idc, id, CASES_ID_LEN);
	info->id.data = idc;
	info->id.len = CASES_ID_LEN;
	info->item = cw_strdup(a, ci->item);
	info->applicant = cw_strdup(a, ci->subject);
	info->channel = (Onestop__CaseChannel)cw_channel_of(ci->channel);
	info->filed_by = cw_strdup(a, ci->rec.filer);
	info->owner = cw_strdup(a, ci->rec.owner);
	info->state = (Onestop__CaseState)ci->rec.state;
	info->outcome = (Onestop__CaseOutcome)ci->rec.outcome;
	info->seq = ci->rec.seq;
	info->accepted_ms = ci->accepted_ms;
	info->promised_due_ms = ci->promised_due_ms;
	info->legal_due_ms = ci->legal_due_ms;
	info->overdue = !case_state_final(ci->rec.state) && ci->rec.state != CASE_DECIDED &&
			ci->promised_due_ms && cal_is_overdue(ci->promised_due_ms, now);
	struct cw_first f = {0};
	if ((rc = cases_history(sp, t, id, cw_first_visit, &f)) < 0) {
		free(ci);
		return rc;
	}
	info->filed_ms = f.at_ms;
	info->licence = (char *)"";
	if (cw_aux_get(sp, t, id, CW_AUX_LICENCE, &v, &vl) == 0) {
		char *l = cw_alloc(a, vl + 1);
		if (l) {
			memcpy(l, v, vl);
			info->licence = l;
		}
	}
	if (cw_aux_get(sp, t, id, CW_AUX_PENDING, &v, &vl) == 0) {
		Onestop__CaseTransition *p = onestop__case_transition__unpack(NULL, vl, v);
		if (p) {
			info->pending = p->action;
			onestop__case_transition__free_unpacked(p, NULL);
		}
	}
	free(ci);
	if (!info->item || !info->applicant || !info->filed_by || !info->owner)
		return OS_ENOMEM;
	return 0;
}

/* Open a box sealed to this node into the arena (NULL when it does not
 * open). */
static uint8_t *cw_open(struct spoke *sp, struct cw_arena *a, const ProtobufCBinaryData *sealed,
			size_t *len)
{
	*len = 0;
	if (sealed->len < CRYPTO_SEAL_OVERHEAD)
		return NULL;
	uint8_t *out = cw_alloc(a, sealed->len);
	if (!out || crypto_seal_open(&sp->kp, sealed->data, sealed->len, out, sealed->len, len) < 0)
		return NULL;
	return out;
}

struct cw_details {
	struct spoke *sp;
	struct cw_arena *a;
	Onestop__CaseInfo *info;
	int owner;
	int rc;
};

static int cw_add_ref(struct cw_details *d, const Onestop__SharedDataRef *r)
{
	Onestop__CaseInfo *info = d->info;
	Onestop__SharedDataRef **nr = cw_alloc(d->a, (info->n_refs + 1) * sizeof *nr);
	Onestop__SharedDataRef *c = cw_alloc(d->a, sizeof *c);
	if (!nr || !c)
		return OS_ENOMEM;
	onestop__shared_data_ref__init(c);
	c->dataset = cw_strdup(d->a, r->dataset);
	c->key = cw_strdup(d->a, r->key);
	c->name = cw_strdup(d->a, r->name);
	if (info->n_refs)
		memcpy(nr, info->refs, info->n_refs * sizeof *nr);
	nr[info->n_refs++] = c;
	info->refs = nr;
	return 0;
}

static int cw_add_upload(struct cw_details *d, const Onestop__SealedUpload *u)
{
	Onestop__CaseInfo *info = d->info;
	if (!d->owner)
		return 0;
	Onestop__CaseUpload **nu = cw_alloc(d->a, (info->n_uploads + 1) * sizeof *nu);
	Onestop__CaseUpload *c = cw_alloc(d->a, sizeof *c);
	if (!nu || !c)
		return OS_ENOMEM;
	onestop__case_upload__init(c);
	c->name = cw_strdup(d->a, u->name);
	c->data.data = cw_open(d->sp, d->a, &u->sealed, &c->data.len);
	if (info->n_uploads)
		memcpy(nu, info->uploads, info->n_uploads * sizeof *nu);
	nu[info->n_uploads++] = c;
	info->uploads = nu;
	return 0;
}

static int cw_add_mats(struct cw_details *d, Onestop__CaseMaterial *const *m, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (m[i]->source_case == ONESTOP__CASE_MATERIAL__SOURCE_SHARED)
			rc = cw_add_ref(d, m[i]->shared);
		else if (m[i]->source_case == ONESTOP__CASE_MATERIAL__SOURCE_UPLOAD)
			rc = cw_add_upload(d, m[i]->upload);
	}
	return rc;
}

static int cw_hist_visit(void *arg, uint64_t seq, uint64_t at_ms, const char *actor,
			 const uint8_t *step, size_t len)
{
	struct cw_details *d = arg;
	Onestop__CaseInfo *info = d->info;
	Onestop__CaseStep **ns = cw_alloc(d->a, (info->n_history + 1) * sizeof *ns);
	Onestop__CaseStep *s = cw_alloc(d->a, sizeof *s);
	if (!ns || !s)
		return d->rc = OS_ENOMEM;
	onestop__case_step__init(s);
	s->seq = seq;
	s->at_ms = at_ms;
	s->actor = cw_strdup(d->a, actor);
	Onestop__CaseTransition *tr = onestop__case_transition__unpack(NULL, len, step);
	if (tr) {
		s->at_ms = tr->at_ms;
		s->action = tr->action;
		s->outcome = tr->outcome;
		s->reason = cw_strdup(d->a, tr->reason);
		s->licence = cw_strdup(d->a, tr->licence);
		if (tr->n_missing) {
			s->missing = cw_alloc(d->a, tr->n_missing * sizeof *s->missing);
			for (size_t i = 0; s->missing && i < tr->n_missing; i++)
				s->missing[i] = cw_strdup(d->a, tr->missing[i]);
			s->n_missing = s->missing ? tr->n_missing : 0;
		}
		d->rc = cw_add_mats(d, tr->added, tr->n_added);
		onestop__case_transition__free_unpacked(tr, NULL);
	}
	if (info->n_history)
		memcpy(ns, info->history, info->n_history * sizeof *ns);
	ns[info->n_history++] = s;
	info->history = ns;
	return d->rc;
}

static int cw_get(struct spoke *sp, struct store_txn *t, struct cw_arena *a, const uint8_t *id,
		  uint64_t now, Onestop__CaseInfo *info)
{
	int rc = cw_info(sp, t, a, id, now, info);
	const void *v;
	size_t vl;
	if (rc < 0)
		return rc;
	struct cw_details d = {sp, a, info, strcmp(info->owner, sp->conf.name) == 0, 0};
	if (cw_aux_get(sp, t, id, CW_AUX_CASE, &v, &vl) == 0) {
		Onestop__Case *c = onestop__case__unpack(NULL, vl, v);
		if (c) {
			if (d.owner && c->form.len >= CRYPTO_SEAL_OVERHEAD)
				info->form.data = cw_open(sp, a, &c->form, &info->form.len);
			rc = cw_add_mats(&d, c->materials, c->n_materials);
			onestop__case__free_unpacked(c, NULL);
			if (rc < 0)
				return rc;
		}
	}
	rc = cases_history(sp, t, id, cw_hist_visit, &d);
	return rc < 0 ? rc : d.rc;
}

struct cw_ids {
	uint8_t (*ids)[CASES_ID_LEN];
	size_t n, cap;
};

static int cw_list_visit(void *arg, const uint8_t id[CASES_ID_LEN])
{
	struct cw_ids *l = arg;
	if (l->n == l->cap)
		return OS_ENOMEM;
	memcpy(l->ids[l->n++], id, CASES_ID_LEN);
	return 0;
}

static int cw_read_list(struct spoke *sp, struct store_txn *t, uint64_t rid,
			const Onestop__CaseListRequest *q, uint8_t **buf, size_t *len)
{
	struct cases_filter f = {0};
	struct cw_arena a = {0};
	struct cw_ids l = {0};
	uint8_t next[CASES_ID_LEN];
	int more = 0, rc;
	int n_filters = (q->by_state != 0) + (q->item && q->item[0]) + (q->overdue != 0);
	uint64_t now = casework_now_ms();

	if (n_filters != 1)
		return cw_reply_code(rid, OS_EINVAL, "list by one of: state, item, overdue", buf,
				     len);
	if (q->limit > CW_LIST_MAX)
		return cw_reply_code(rid, OS_EINVAL, "limit: at most 10000", buf, len);
	if (q->after_id.len != 0 && q->after_id.len != CASES_ID_LEN)
		return cw_reply_code(rid, OS_EINVAL, "after_id: 16 bytes", buf, len);
	if (q->by_state) {
		if ((unsigned)q->state >= CASE_STATE_COUNT)
			return cw_reply_code(rid, OS_EINVAL, "state: no such state", buf, len);
		f.by = CASES_BY_STATE;
		f.state = (enum case_state)q->state;
	} else if (q->item && q->item[0]) {
		f.by = CASES_BY_ITEM;
		f.item = q->item;
	} else {
		f.by = CASES_OVERDUE;
		f.now_ms = now;
	}
	l.cap = q->limit ? q->limit : CW_LIST_DEFAULT;
	if (!(l.ids = malloc(l.cap * sizeof *l.ids)))
		return OS_ENOMEM;
	rc = cases_list(sp, t, &f, q->after_id.len ? q->after_id.data : NULL, l.cap, cw_list_visit,
			&l, next, &more);
	if (rc < 0) {
		free(l.ids);
		return cw_reply_code(rid, rc,
				     rc == OS_ENOTFOUND ? "after_id names no case here"
							: os_strerror(rc),
				     buf, len);
	}
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__CaseListResult res = ONESTOP__CASE_LIST_RESULT__INIT;
	Onestop__CaseInfo *infos = calloc(l.n ? l.n : 1, sizeof *infos);
	Onestop__CaseInfo **ptrs = calloc(l.n ? l.n : 1, sizeof *ptrs);
	if (!infos || !ptrs) {
		rc = OS_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < l.n; i++) {
		if ((rc = cw_info(sp, t, &a, l.ids[i], now, &infos[i])) < 0) {
			rc = cw_reply_code(rid, rc, "a listed case could not be read", buf, len);
			goto out;
		}
		ptrs[i] = &infos[i];
	}
	res.n_cases = l.n;
	res.cases = ptrs;
	if (more) {
		res.next.data = next;
		res.next.len = CASES_ID_LEN;
	}
	rep.request_id = rid;
	rep.result_case = ONESTOP__API_REPLY__RESULT_CASE_LIST;
	rep.case_list = &res;
	rc = cw_reply_pack(&rep, buf, len);
out:
	free(infos);
	free(ptrs);
	free(l.ids);
	cw_arena_free(&a);
	return rc;
}

static int cw_read_licence(struct spoke *sp, uint64_t rid, const Onestop__LicenceVerifyRequest *q,
			   uint8_t **buf, size_t *len)
{
	struct replica_entry *e = malloc(sizeof *e);
	struct licence l;
	char publisher[OS_NAME_MAX] = "";
	char why[CASEWORK_MSG_MAX] = "";
	int rc;
	if (!e)
		return OS_ENOMEM;
	if (!q->number || ds_key_valid(q->number) != 0) {
		free(e);
		return cw_reply_code(rid, OS_EINVAL, "number: a licence number", buf, len);
	}
	memset(&l, 0, sizeof l);
	int code = cw_licence(sp, e, q->number, q->holder, casework_now_ms(), &l, publisher, why,
			      sizeof why);
	free(e);
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__LicenceVerifyResult res = ONESTOP__LICENCE_VERIFY_RESULT__INIT;
	Onestop__LicenceValue v = ONESTOP__LICENCE_VALUE__INIT;
	rep.request_id = rid;
	rep.code = code;
	rep.message = code < 0 ? why : NULL;
	if (code == 0 || (l.number[0] && code != OS_ENOTFOUND && code != OS_EDECODE)) {
		v.number = l.number;
		v.item = l.item;
		v.holder = l.holder;
		v.issuer = l.issuer;
		v.valid_from_ms = l.valid_from_ms;
		v.valid_until_ms = l.valid_until_ms;
		v.status = l.revoked ? ONESTOP__LICENCE_STATUS__LICENCE_STATUS_REVOKED
				     : ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE;
		res.licence = &v;
		res.publisher = publisher;
		rep.result_case = ONESTOP__API_REPLY__RESULT_LICENCE_VERIFY;
		rep.licence_verify = &res;
	}
	rc = cw_reply_pack(&rep, buf, len);
	return rc;
}

int casework_read(struct spoke *sp, const Onestop__ApiRequest *req, uint8_t **buf, size_t *len)
{
	struct store_txn *t = NULL;
	uint64_t rid = req->request_id;
	int rc;
	*buf = NULL;
	*len = 0;
	if (req->op_case == ONESTOP__API_REQUEST__OP_LICENCE_VERIFY)
		return cw_read_licence(sp, rid, req->licence_verify, buf, len);
	if (req->op_case == ONESTOP__API_REQUEST__OP_STATS)
		return sup_stats(sp, rid, req->stats, &sp->cw->cal, casework_now_ms(), buf, len);
	if (req->op_case == ONESTOP__API_REQUEST__OP_MARKET)
		return sup_market(sp, rid, req->market, &sp->cw->cal, casework_now_ms(), buf, len);
	if ((rc = store_begin(sp->st, 1, &t)) < 0)
		return cw_reply_code(rid, rc, "the store could not be read", buf, len);
	if (req->op_case == ONESTOP__API_REQUEST__OP_CASE_LIST) {
		rc = cw_read_list(sp, t, rid, req->case_list, buf, len);
		store_abort(&t);
		return rc;
	}
	if (req->op_case != ONESTOP__API_REQUEST__OP_CASE_GET || !req->case_get) {
		store_abort(&t);
		return cw_reply_code(rid, OS_EINVAL, "not a case read", buf, len);
	}
	const ProtobufCBinaryData *id = &req->case_get->case_id;
	if (id->len != CASES_ID_LEN) {
		store_abort(&t);
		return cw_reply_code(rid, OS_EINVAL, "case_id: 16 bytes", buf, len);
	}
	struct cw_arena a = {0};
	Onestop__CaseInfo info = ONESTOP__CASE_INFO__INIT; /* cw_get may fail before filling it */
	rc = cw_get(sp, t, &a, id->data, casework_now_ms(), &info);
	if (rc < 0) {
		char hex[2 * CASES_ID_LEN + 1];
		char msg[128];
		cw_idhex(hex, id->data);
		snprintf(msg, sizeof msg,
			 rc == OS_ENOTFOUND ? "no case %s at this node" : "case %s: %s", hex,
			 os_strerror(rc));
		rc = cw_reply_code(rid, rc, msg, buf, len);
	} else {
		Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
		Onestop__CaseGetResult res = ONESTOP__CASE_GET_RESULT__INIT;
		res.info = &info;
		rep.request_id = rid;
		rep.result_case = ONESTOP__API_REPLY__RESULT_CASE_GET;
		rep.case_get = &res;
		rc = cw_reply_pack(&rep, buf, len);
	}
	/* The opened form and uploads are wiped with the arena. */
	if (info.form.data)
		crypto_wipe(info.form.data, info.form.len);
	cw_arena_free(&a);
	store_abort(&t);
	return rc;
}

/* ------------------------------------------------------------ supervision */

/* 1 when an active node other than this one subscribes to the topic of
 * supervision events (found once per registry version). */
static int cw_has_supervisor(struct spoke *sp)
{
	struct casework *cw = sp->cw;
	if (cw->sub_known && cw->sub_serial == sp->reg->serial)
		return cw->has_sub;
	cw->has_sub = 0;
	for (size_t i = 0; i < sp->reg->n_nodes && !cw->has_sub; i++) {
		const struct reg_node *n = &sp->reg->nodes[i];
		cw->has_sub = registry_node_active(n) && strcmp(n->name, sp->conf.name) != 0 &&
			      registry_subscribes(n, &CASEWORK_EVENT_TOPIC[1]);
	}
	cw->sub_serial = sp->reg->serial;
	cw->sub_known = 1;
	return cw->has_sub;
}

int casework_stream_wanted(struct spoke *sp)
{
	const struct reg_node *me = spoke_self(sp);
	return (me && (me->roles & REG_ROLE_SUPERVISOR)) || cw_has_supervisor(sp);
}

/* The owner has applied step tr to case id (in t): queue its
 * metadata-only event for @supervision (docs/PROTOCOL.md 12.3) when a
 * supervisor listens. known: the case's item when the caller read it
 * (else it is read, through e, or a buffer of its own when e is NULL).
 * An event that cannot be made is logged and skipped; 0, or OS_ENOMEM /
 * a store error. */
static int cw_emit(struct spoke *sp, struct store_txn *t, struct replica_entry *e,
		   const uint8_t *id, const struct casework_item *known,
		   const Onestop__CaseTransition *tr)
{
	struct cases_info *ci;
	struct casework_item item;
	struct cw_first first = {0};
	struct sv_event ev;
	char region[OS_NAME_MAX] = "";
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!casework_stream_wanted(sp))
		return 0;
	if (!(ci = malloc(sizeof *ci)))
		return OS_ENOMEM;
	if ((rc = cases_get(sp, t, id, ci)) < 0 ||
	    (rc = cases_history(sp, t, id, cw_first_visit, &first)) < 0) {
		free(ci);
		return rc == OS_EDECODE || rc == OS_ENOTFOUND ? 0 : rc;
	}
	struct replica_entry *own = NULL;
	if (known) {
		item = *known;
	} else if (!e && !(e = own = malloc(sizeof *e))) {
		free(ci);
		return OS_ENOMEM;
	} else if (cw_item(sp, e, ci->item, &item) < 0) {
		memset(&item, 0, sizeof item);
	}
	free(own);
	if (complaint_region(ci->rec.owner, region, sizeof region) < 0)
		region[0] = '\0';
	struct sv_case_facts f = {
		.case_id = id,
		.seq = tr->seq,
		.item = ci->item,
		.item_kind = item.kind,
		.owner = ci->rec.owner,
		.filer = ci->rec.filer,
		.region = region,
		.channel = (uint32_t)cw_channel_of(ci->channel),
		.state = (uint32_t)ci->rec.state,
		.action = (uint32_t)tr->action,
		.outcome = (uint32_t)ci->rec.outcome,
		.at_ms = tr->at_ms,
		.filed_ms = first.at_ms,
		.accepted_ms = ci->accepted_ms,
		.promised_due_ms = ci->promised_due_ms,
		.legal_due_ms = ci->legal_due_ms,
	};
	rc = sv_from_case(&f, &ev);
	if (rc == 0)
		rc = sv_event_pack(&ev, &buf, &len);
	free(ci);
	if (rc < 0) {
		char hex[2 * CASES_ID_LEN + 1];
		cw_idhex(hex, id);
		os_log(OS_LOG_WARN, "supervision_event_skipped", "case=%s seq=%llu code=%s", hex,
		       (unsigned long long)tr->seq, os_errname(rc));
		return rc == OS_ENOMEM ? rc : 0;
	}
	rc = casework_event_packed(sp, t, buf, len);
	free(buf);
	return rc;
}

int casework_event_packed(struct spoke *sp, struct store_txn *t, const uint8_t *buf, size_t len)
{
	const struct reg_node *me = spoke_self(sp);
	int rc = 0;
	/* A supervisor counts what it emits itself: the hub sends no topic
	 * message back to its origin. */
	if (me && (me->roles & REG_ROLE_SUPERVISOR) &&
	    (rc = sup_count(sp, t, &sp->cw->cal, buf, len)) < 0)
		return rc;
	if (!cw_has_supervisor(sp))
		return 0;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		return OS_ENOMEM;
	memcpy(copy, buf, len);
	return cw_queue(sp->cw, CASEWORK_EVENT_TOPIC, CASEWORK_EVENT_TYPE, copy, len,
			cw_ttl_ms(sp));
}

int casework_event(struct spoke *sp, struct store_txn *t, const struct sv_event *ev)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = sv_event_pack(ev, &buf, &len);
	if (rc < 0) {
		char hex[2 * SV_ID_LEN + 1];
		os_hex(hex, ev->id, SV_ID_LEN);
		os_log(OS_LOG_WARN, "supervision_event_skipped", "id=%s seq=%llu code=%s", hex,
		       (unsigned long long)ev->seq, os_errname(rc));
		return rc == OS_ENOMEM ? rc : 0;
	}
	rc = casework_event_packed(sp, t, buf, len);
	free(buf);
	return rc;
}

void casework_write_fail(struct casework_write *w, int code, const char *fmt, ...)
{
	va_list ap;
	w->code = code;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof w->msg, fmt, ap);
	va_end(ap);
}

int casework_queue(struct spoke *sp, const char *dest, const char *type, uint8_t *payload,
		   size_t len)
{
	return cw_queue(sp->cw, dest, type, payload, len, cw_ttl_ms(sp));
}

const struct cal *casework_cal(const struct spoke *sp)
{
	return &sp->cw->cal;
}

int casework_room(const struct spoke *sp, size_t n)
{
	return sp->ob.count + sp->cw->n + n <= (uint64_t)sp->conf.outbox_quota;
}

int casework_lookup(struct spoke *sp, const char *dataset, const char *key, struct replica_entry *e)
{
	return cw_read(sp, dataset, key, e);
}

int casework_item_get(struct spoke *sp, struct replica_entry *e, const char *code,
		      struct casework_item *out)
{
	return cw_item(sp, e, code, out);
}

/* A supervision event delivered to this node (it subscribes): only one
 * that holds nothing it must not reaches the apps. */
static int cw_receive_event(void *ctx, struct store_txn *t, const struct env *e, int *refusal,
			    int *deliver, char *why, size_t size)
{
	struct spoke *sp = ctx;
	const struct reg_node *me = spoke_self(sp);
	*refusal = sv_event_check(e->payload, e->payload_len);
	*deliver = *refusal == 0;
	if (*refusal < 0) {
		snprintf(why, size, "not a supervision event this node accepts (%s)",
			 os_errname(*refusal));
		return 0;
	}
	/* A supervisor counts it, with its receipt. */
	if (me && (me->roles & REG_ROLE_SUPERVISOR))
		return sup_count(sp, t, &sp->cw->cal, e->payload, e->payload_len);
	return 0;
}

int casework_rebuild_stats(struct spoke *sp)
{
	const struct reg_node *me = spoke_self(sp);
	struct store_txn *t = NULL;
	int rc;
	if (!me || !(me->roles & REG_ROLE_SUPERVISOR))
		return OS_ENOTALLOWED;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	return spoke_wrote(sp, sup_rebuild(sp, t, &sp->cw->cal, NULL));
}

/* ------------------------------------------------------------ set-up */

static int cw_load_cal(const struct spoke_conf *c, struct cal *cal)
{
	char why[256] = "";
	int rc = cal_init(cal, (int32_t)c->calendar_utc_offset_min);
	if (rc < 0) {
		os_log(OS_LOG_ERROR, "config_invalid", "option=calendar_utc_offset_min reason=%s",
		       OS_Q(os_strerror(rc)));
		return OS_ECONFIG;
	}
	if (c->holidays_file && c->holidays_file[0] &&
	    (rc = cal_load_file(cal, c->holidays_file, why, sizeof why)) < 0) {
		os_log(OS_LOG_ERROR, "config_invalid", "option=holidays_file file=%s reason=%s",
		       OS_Q(c->holidays_file), OS_Q(why[0] ? why : os_strerror(rc)));
		cal_clear(cal);
		return OS_ECONFIG;
	}
	return 0;
}

int casework_check_conf(const struct spoke_conf *c)
{
	struct cal cal;
	int rc = cw_load_cal(c, &cal);
	if (rc == 0)
		cal_clear(&cal);
	return rc;
}

int casework_open(struct spoke *sp)
{
	struct casework *cw = calloc(1, sizeof *cw);
	if (!cw)
		return OS_ENOMEM;
	int rc = cw_load_cal(&sp->conf, &cw->cal);
	if (rc < 0) {
		free(cw);
		return rc;
	}
	sp->cw = cw;
	sp->type_hooks[0] = (struct spoke_type_hook){CASEWORK_TYPE, cw_receive, sp};
	sp->type_hooks[1] = (struct spoke_type_hook){CASEWORK_EVENT_TYPE, cw_receive_event, sp};
	return 0;
}

void casework_close(struct spoke *sp)
{
	if (!sp->cw)
		return;
	cw_queue_clear(sp->cw);
	free(sp->cw->q);
	cal_clear(&sp->cw->cal);
	free(sp->cw);
	sp->cw = NULL;
	memset(sp->type_hooks, 0, sizeof sp->type_hooks);
}

static void cw_hook_work(void *ctx)
{
	struct spoke *sp = ctx;
	if (sp->cw->n > 0)
		cw_flush(sp);
}

static void cw_hook_after_commit(void *ctx, int commit_rc)
{
	struct spoke *sp = ctx;
	(void)commit_rc;
	cw_queue_clear(sp->cw);
}

int casework_attach(struct spoke *sp, struct loop *l)
{
	struct loop_hooks h = {
		.name = "casework",
		.ctx = sp,
		.work = cw_hook_work,
		.after_commit = cw_hook_after_commit,
	};
	return loop_add(l, &h);
}
