/* The spoke's read server: Get, List, Datasets, AssertIssue and
 * AssertVerify answered from the replica's committed store into packed
 * ApiReplies; a cached-mode miss sends a Fetch and answers "pending". */
#include "reads.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "registry.h"
#include "replica.h"
#include "replica_fetch.h"
#include "replica_read.h"
#include "spoke.h"
#include "store.h"

#define READS_LIST_DEFAULT 100u
#define READS_LIST_BYTES (32u << 20) /* values in one List reply */
#define READS_LIST_SCAN 200000u      /* entries one List examines at most */
#define READS_ASSERT_TTL_S 600u

/* ------------------------------------------------------------ replies */

static int reads_pack(const Onestop__ApiReply *rep, struct reads_reply *out)
{
	size_t n = onestop__api_reply__get_packed_size(rep);

	out->buf = malloc(n ? n : 1);
	if (!out->buf)
		return OS_ENOMEM;
	out->len = onestop__api_reply__pack(rep, out->buf);
	return 0;
}

static int reads_code(struct reads_reply *out, uint64_t request_id, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int reads_code(struct reads_reply *out, uint64_t request_id, int code, const char *fmt, ...)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	char msg[READS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep.request_id = request_id;
	rep.code = code;
	rep.message = msg;
	return reads_pack(&rep, out);
}

static int reads_entry(struct reads_reply *out, uint64_t request_id, const struct replica_entry *e)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__GetResult res = ONESTOP__GET_RESULT__INIT;
	Onestop__Entry en = ONESTOP__ENTRY__INIT;

	en.key = (char *)e->key;
	en.value.data = (uint8_t *)e->value;
	en.value.len = e->value_len;
	en.publisher = (char *)e->publisher;
	en.seq = e->seq;
	en.updated_ms = e->updated_ms;
	res.entry = &en;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_GET;
	rep.get = &res;
	return reads_pack(&rep, out);
}

/* The identity part of AssertVerify, with the subject's entry e (NULL when
 * unknown). */
static int reads_verified(struct reads_reply *out, uint64_t request_id, const struct assertion *a,
			  uint32_t min_level, const struct replica_entry *e)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__AssertVerifyResult res = ONESTOP__ASSERT_VERIFY_RESULT__INIT;
	char reason[256] = "";
	int rc = assertion_check_subject(a, e ? e->value : NULL, e ? e->value_len : 0, min_level,
					 reason, sizeof(reason));

	if (rc < 0)
		return reads_code(out, request_id, rc, "%s", reason);
	res.issuer = (char *)a->issuer;
	res.subject = (char *)a->subject;
	res.level = a->level;
	res.expires_ms = a->expires_ms;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_ASSERT_VERIFY;
	rep.assert_verify = &res;
	return reads_pack(&rep, out);
}

/* A miss of a cached-mode entry: ask the hub, and wait (pending). When the
 * hub cannot be asked, the error reply, with what names the entry (key or
 * "subject KEY"). */
static int reads_fetch(struct spoke *sp, uint64_t request_id, const char *dataset, const char *key,
		       const char *what, uint32_t wait_ms, struct reads_reply *out)
{
	struct reads_wait *w = &out->wait;
	int rc = replica_fetch_start(sp, replica_fetch_table(sp), dataset, key, &w->fetch_id);

	if (rc == OS_ECONN)
		return reads_code(out, request_id, OS_ECONN,
				  "%s%s is not held here and the hub is unreachable", what, key);
	if (rc < 0)
		return reads_code(out, request_id, rc, "the hub cannot be asked now: %s",
				  os_strerror(rc));
	out->pending = 1;
	w->wait_ms = wait_ms;
	snprintf(w->dataset, sizeof(w->dataset), "%s", dataset);
	snprintf(w->key, sizeof(w->key), "%s", key);
	return 0;
}

/* ------------------------------------------------------------ Get */

static int reads_get(struct spoke *sp, uint64_t id, const Onestop__GetRequest *g,
		     struct reads_reply *out)
{
	const struct reg_dataset *rd;
	struct replica_entry *e;
	int rc;

	if (!g->dataset || os_name_valid(g->dataset) != 0)
		return reads_code(out, id, OS_EINVAL, "the dataset must be a name like \"items\"");
	if (!g->key || ds_key_valid(g->key) != 0)
		return reads_code(out, id, OS_EINVAL,
				  "the key must be 1..%u printable ASCII characters", DS_KEY_MAX);
	rd = registry_find_dataset(sp->reg, g->dataset);
	if (!rd)
		return reads_code(out, id, OS_ENOTFOUND,
				  "dataset %s is not declared in the registry", g->dataset);
	e = malloc(sizeof(*e));
	if (!e)
		return reads_code(out, id, OS_ENOMEM, "the entry could not be read: %s",
				  os_strerror(OS_ENOMEM));
	rc = replica_read(sp->st, g->dataset, g->key, e);
	if (rc == 0) {
		replica_used(sp, g->dataset, g->key);
		rc = reads_entry(out, id, e);
	} else if (rc != OS_ENOTFOUND) {
		rc = reads_code(out, id, rc, "the entry could not be read: %s", os_strerror(rc));
	} else if (rd->mode != REG_DS_CACHED) {
		rc = reads_code(out, id, OS_ENOTFOUND, "no entry %s in dataset %s", g->key,
				g->dataset);
	} else {
		rc = reads_fetch(sp, id, g->dataset, g->key, "",
				 replica_fetch_wait_ms(sp, g->wait_ms), out);
	}
	free(e);
	return rc;
}

/* ------------------------------------------------------------ List */

static int reads_char_eq(char a, char b)
{
	if (a >= 'A' && a <= 'Z')
		a = (char)(a + 32);
	if (b >= 'A' && b <= 'Z')
		b = (char)(b + 32);
	return a == b;
}

/* ASCII case-insensitive substring test (other bytes compare exactly). */
static int reads_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return 1;
	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] && reads_char_eq(hay[i], needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

/* 1 when item value matches the List filters. */
static int reads_item_matches(const Onestop__ListRequest *l, const uint8_t *val, size_t len)
{
	Onestop__ItemValue *it;
	int ok;

	if ((!l->owner || !*l->owner) && l->online == 0 && (!l->search || !*l->search))
		return 1;
	it = onestop__item_value__unpack(NULL, len, val);
	if (!it)
		return 0;
	ok = (!l->owner || !*l->owner || (it->owner && strcmp(it->owner, l->owner) == 0)) &&
	     (l->online == 0 || (l->online == 1 && it->online) ||
	      (l->online == 2 && !it->online)) &&
	     (!l->search || !*l->search || (it->name && reads_contains(it->name, l->search)));
	onestop__item_value__free_unpacked(it, NULL);
	return ok;
}

/* One List page being collected by a walk of the dataset's entries. */
struct reads_list {
	const Onestop__ListRequest *l;
	int items;
	size_t pl;            /* the key prefix: dataset NUL */
	const uint8_t *after; /* the page starts after this key, or NULL */
	size_t after_len;
	uint32_t limit;
	struct replica_rec *recs;
	Onestop__Entry *ents, **ptrs;
	size_t n, bytes, scanned;
	char next[DS_KEY_MAX + 1]; /* the last key seen */
	int more;                  /* the page ended before the dataset */
};

static int reads_list_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct reads_list *w = arg;

	if (kl <= w->pl || (w->after && kl == w->after_len && memcmp(k, w->after, kl) == 0))
		return STORE_NEXT;
	if (w->n >= w->limit || w->bytes >= READS_LIST_BYTES || w->scanned >= READS_LIST_SCAN) {
		/* More may follow: the page ends at the last key seen. */
		w->more = 1;
		return STORE_STOP;
	}
	w->scanned++;
	if (kl - w->pl <= DS_KEY_MAX) {
		memcpy(w->next, (const uint8_t *)k + w->pl, kl - w->pl);
		w->next[kl - w->pl] = 0;
	}
	if (replica_rec_decode(v, vl, NULL, &w->recs[w->n]) == 0) {
		const Onestop__ChangeRequest *cr = w->recs[w->n].cr;

		if (!w->items || reads_item_matches(w->l, cr->value.data, cr->value.len)) {
			Onestop__Entry *e = &w->ents[w->n];

			onestop__entry__init(e);
			e->key = cr->key;
			e->value = cr->value;
			e->publisher = w->recs[w->n].env->origin;
			e->seq = w->recs[w->n].seq;
			e->updated_ms = w->recs[w->n].env->created_ms;
			w->ptrs[w->n] = e;
			w->bytes += cr->value.len;
			w->n++;
		} else {
			replica_rec_clear(&w->recs[w->n]);
		}
	}
	return STORE_NEXT;
}

static int reads_list(struct spoke *sp, uint64_t id, const Onestop__ListRequest *l,
		      struct reads_reply *out)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__ListResult res = ONESTOP__LIST_RESULT__INIT;
	struct reads_list w;
	struct store_txn *t = NULL;
	uint8_t pk[OS_NAME_MAX], ek[REPLICA_EKEY_MAX];
	int rc;

	if (!l->dataset || os_name_valid(l->dataset) != 0)
		return reads_code(out, id, OS_EINVAL, "the dataset must be a name like \"items\"");
	if (!registry_find_dataset(sp->reg, l->dataset))
		return reads_code(out, id, OS_ENOTFOUND,
				  "dataset %s is not declared in the registry", l->dataset);
	if (l->after_key && *l->after_key && ds_key_valid(l->after_key) != 0)
		return reads_code(out, id, OS_EINVAL, "after_key is not a valid key");
	if (l->online > 2)
		return reads_code(out, id, OS_EINVAL,
				  "online must be 0 (any), 1 or 2 (offline-only)");
	memset(&w, 0, sizeof(w));
	w.l = l;
	w.limit = l->limit ? l->limit : READS_LIST_DEFAULT;
	if (w.limit > READS_LIST_MAX)
		w.limit = READS_LIST_MAX;
	w.items = strcmp(l->dataset, DS_ITEMS) == 0;
	w.pl = strlen(l->dataset) + 1;
	memcpy(pk, l->dataset, w.pl);
	if (l->after_key && *l->after_key) {
		w.after_len = replica_ekey(ek, l->dataset, l->after_key);
		w.after = w.after_len ? ek : NULL;
	}
	w.recs = calloc(w.limit, sizeof(*w.recs));
	w.ents = calloc(w.limit, sizeof(*w.ents));
	w.ptrs = calloc(w.limit, sizeof(*w.ptrs));
	if (!w.recs || !w.ents || !w.ptrs) {
		rc = OS_ENOMEM;
		goto out;
	}
	rc = store_begin(sp->st, 1, &t);
	if (rc == 0)
		rc = store_walk(t, sp->db_ds_cache, pk, w.pl, w.after, w.after_len,
				reads_list_visit, &w);
	if (rc == 0 && !w.more)
		w.next[0] = 0; /* the end of the dataset */
out:
	store_abort(&t);
	if (rc < 0) {
		rc = reads_code(out, id, rc, "the dataset could not be read: %s", os_strerror(rc));
	} else {
		res.n_entries = w.n;
		res.entries = w.ptrs;
		res.next_key = w.next;
		rep.request_id = id;
		rep.result_case = ONESTOP__API_REPLY__RESULT_LIST;
		rep.list = &res;
		rc = reads_pack(&rep, out);
	}
	if (w.recs)
		for (size_t i = 0; i < w.limit; i++)
			replica_rec_clear(&w.recs[i]);
	free(w.recs);
	free(w.ents);
	free(w.ptrs);
	return rc;
}

/* ------------------------------------------------------------ Datasets */

static int reads_datasets(struct spoke *sp, uint64_t id, struct reads_reply *out)
{
	const struct registry *reg = sp->reg;
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__DatasetsResult res = ONESTOP__DATASETS_RESULT__INIT;
	Onestop__DatasetInfo *infos = NULL, **ptrs = NULL;
	os_hash *digests = NULL;
	struct store_txn *t = NULL;
	size_t n = 0, cap = reg->n_datasets;
	int rc = 0;

	if (cap) {
		infos = calloc(cap, sizeof(*infos));
		ptrs = calloc(cap, sizeof(*ptrs));
		digests = calloc(cap, sizeof(*digests));
		if (!infos || !ptrs || !digests) {
			rc = OS_ENOMEM;
			goto out;
		}
		rc = store_begin(sp->st, 1, &t);
	}
	for (size_t j = 0; j < reg->n_datasets && rc == 0; j++) {
		const struct reg_dataset *rd = &reg->datasets[j];
		size_t i = n;
		int syncing;

		/* A dataset of another province is not held here. */
		if (!registry_dataset_visible(reg, rd, sp->conf.name))
			continue;
		n++;
		onestop__dataset_info__init(&infos[i]);
		infos[i].name = rd->name;
		infos[i].mode = rd->mode == REG_DS_CACHED
					? ONESTOP__DATASET_MODE__DATASET_MODE_CACHED
					: ONESTOP__DATASET_MODE__DATASET_MODE_FULL;
		replica_position(sp, rd->name, &infos[i].seq, &syncing);
		infos[i].syncing = syncing;
		rc = replica_digest(sp, t, rd->name, digests[i], &infos[i].count);
		infos[i].digest.data = digests[i];
		infos[i].digest.len = sizeof(os_hash);
		ptrs[i] = &infos[i];
	}
out:
	store_abort(&t);
	if (rc < 0) {
		rc = reads_code(out, id, rc, "the datasets could not be read: %s", os_strerror(rc));
	} else {
		res.n_datasets = n;
		res.datasets = ptrs;
		rep.request_id = id;
		rep.result_case = ONESTOP__API_REPLY__RESULT_DATASETS;
		rep.datasets = &res;
		rc = reads_pack(&rep, out);
	}
	free(infos);
	free(ptrs);
	free(digests);
	return rc;
}

/* ------------------------------------------------------------ assertions */

static int reads_issue(struct spoke *sp, uint64_t id, const Onestop__AssertIssueRequest *q,
		       struct reads_reply *out)
{
	const struct reg_node *me = spoke_self(sp);
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__AssertIssueResult res = ONESTOP__ASSERT_ISSUE_RESULT__INIT;
	uint64_t now = os_now_ms();
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!me || !(me->roles & REG_ROLE_IDP) || !registry_node_active(me))
		return reads_code(out, id, OS_ENOTALLOWED,
				  "this node (%s) is not an active idp in the registry",
				  sp->conf.name);
	if (spoke_registry_expired(sp, now))
		return reads_code(out, id, OS_EEXPIRED,
				  "the registry has expired; assertions are not issued");
	uint32_t cap = (uint32_t)sp->conf.assertion_max_validity_s;
	uint32_t ttl = q->ttl_s ? q->ttl_s : READS_ASSERT_TTL_S;
	if (!q->ttl_s && ttl > cap)
		ttl = cap;
	if (ttl > cap)
		return reads_code(out, id, OS_EINVAL,
				  "cannot issue for %u s: this node issues assertions valid for "
				  "at most %u s (assertion_max_validity_s)",
				  ttl, cap);
	rc = assertion_issue(sp->conf.name, sp->key_version, sp->kp.sign_sk,
			     q->subject ? q->subject : "", q->level, q->audience, ttl, now, &buf,
			     &len);
	if (rc < 0)
		return reads_code(
			out, id, rc,
			"cannot issue: the subject must be a key (1..%u printable characters), "
			"the level 1..3, the audience a node name, the ttl 1..%u s",
			DS_KEY_MAX, cap);
	res.assertion.data = buf;
	res.assertion.len = len;
	rep.request_id = id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_ASSERT_ISSUE;
	rep.assert_issue = &res;
	rc = reads_pack(&rep, out);
	free(buf);
	return rc;
}

/* The assertion of q verified as this node verifies for itself: its own
 * name the audience (an app may not name another), the validity cap, an
 * empty audience only when configured. 0 or the refusal, with reason. */
static int reads_verify_here(struct spoke *sp, const Onestop__AssertVerifyRequest *q,
			     struct assertion *a, char *reason, size_t size)
{
	struct assertion_policy pol = {
		.node = sp->conf.name,
		.any_audience = sp->conf.assertion_any_audience,
		.max_validity_s = (uint32_t)sp->conf.assertion_max_validity_s,
	};
	int rc;

	memset(a, 0, sizeof(*a));
	if (q->audience && *q->audience && strcmp(q->audience, sp->conf.name) != 0) {
		snprintf(reason, size,
			 "this node verifies assertions for itself (%s) only, not for %s",
			 sp->conf.name, q->audience);
		return OS_EAUDIENCE;
	}
	rc = assertion_verify_at(q->assertion.data, q->assertion.len, sp->reg, &pol, os_now_ms(), a,
				 reason, size);
	if (rc < 0 && !reason[0])
		snprintf(reason, size, "%s", os_strerror(rc));
	return rc;
}

int reads_claim(struct spoke *sp, const Onestop__ApiRequest *req, char *msg, size_t size)
{
	const Onestop__AssertVerifyRequest *q = req->assert_verify;
	struct store_txn *t = NULL;
	struct assertion a;
	int rc;

	if (req->op_case != ONESTOP__API_REQUEST__OP_ASSERT_VERIFY || !q || !q->single_use)
		return 0;
	msg[0] = 0;
	rc = reads_verify_here(sp, q, &a, msg, size);
	if (rc < 0)
		return rc;
	if ((rc = spoke_txn(sp, &t)) < 0) {
		snprintf(msg, size, "the replay cache could not be written: %s", os_strerror(rc));
		return rc;
	}
	rc = assertion_replay_claim(t, sp->db_assert_seen, &a, os_now_ms(), msg, size);
	if (rc == OS_EREPLAY || rc == OS_EINVAL)
		return rc;
	return spoke_wrote(sp, rc);
}

static int reads_verify(struct spoke *sp, uint64_t id, const Onestop__AssertVerifyRequest *q,
			struct reads_reply *out)
{
	const struct reg_dataset *rd;
	struct replica_entry *e;
	struct assertion a;
	char reason[256] = "";
	int rc;

	rc = reads_verify_here(sp, q, &a, reason, sizeof(reason));
	if (rc < 0)
		return reads_code(out, id, rc, "%s", reason);
	e = malloc(sizeof(*e));
	if (!e)
		return reads_code(out, id, OS_ENOMEM, "the identity could not be read: %s",
				  os_strerror(OS_ENOMEM));
	rd = registry_find_dataset(sp->reg, DS_IDENTITY);
	rc = rd ? replica_read(sp->st, DS_IDENTITY, a.subject, e) : OS_ENOTFOUND;
	if (rc == 0) {
		replica_used(sp, DS_IDENTITY, a.subject);
		rc = reads_verified(out, id, &a, q->min_level, e);
	} else if (rc != OS_ENOTFOUND && rc != OS_EINVAL) {
		rc = reads_code(out, id, rc, "the identity could not be read: %s", os_strerror(rc));
	} else if (!rd || rd->mode != REG_DS_CACHED || rc == OS_EINVAL) {
		rc = reads_verified(out, id, &a, q->min_level, NULL);
	} else {
		rc = reads_fetch(sp, id, DS_IDENTITY, a.subject, "subject ",
				 replica_fetch_wait_ms(sp, 0), out);
		if (rc == 0 && out->pending) {
			out->wait.verify = 1;
			out->wait.a = a;
			out->wait.min_level = q->min_level;
		}
	}
	free(e);
	return rc;
}

/* ------------------------------------------------------------ entry points */

int reads_serve(struct spoke *sp, const Onestop__ApiRequest *req, struct reads_reply *out)
{
	uint64_t id = req->request_id;

	memset(out, 0, sizeof(*out));
	switch (req->op_case) {
	case ONESTOP__API_REQUEST__OP_GET:
		return reads_get(sp, id, req->get, out);
	case ONESTOP__API_REQUEST__OP_LIST:
		return reads_list(sp, id, req->list, out);
	case ONESTOP__API_REQUEST__OP_DATASETS:
		return reads_datasets(sp, id, out);
	case ONESTOP__API_REQUEST__OP_ASSERT_ISSUE:
		return reads_issue(sp, id, req->assert_issue, out);
	case ONESTOP__API_REQUEST__OP_ASSERT_VERIFY:
		return reads_verify(sp, id, req->assert_verify, out);
	default:
		return reads_code(out, id, OS_EINVAL, "not a dataset request");
	}
}

int reads_resume(struct spoke *sp, const struct reads_wait *w, uint64_t request_id,
		 struct reads_reply *out)
{
	const struct replica_fetch *f = replica_fetch_get(replica_fetch_table(sp), w->fetch_id);
	struct replica_entry *e;
	int rc;

	memset(out, 0, sizeof(*out));
	if (f && f->state == REPLICA_FETCH_FAILED)
		return reads_code(out, request_id, f->code, "%s", f->msg);
	e = malloc(sizeof(*e));
	if (!e)
		return reads_code(out, request_id, OS_ENOMEM, "the entry could not be read: %s",
				  os_strerror(OS_ENOMEM));
	rc = f && f->state == REPLICA_FETCH_FILLED ? replica_read(sp->st, w->dataset, w->key, e)
						   : OS_ENOTFOUND;
	if (rc == 0)
		replica_used(sp, w->dataset, w->key);
	if (w->verify && (rc == 0 || rc == OS_ENOTFOUND))
		rc = reads_verified(out, request_id, &w->a, w->min_level, rc == 0 ? e : NULL);
	else if (rc == 0)
		rc = reads_entry(out, request_id, e);
	else if (rc == OS_ENOTFOUND)
		rc = reads_code(out, request_id, OS_ENOTFOUND,
				"no entry %s in dataset %s (asked the hub)", w->key, w->dataset);
	else
		rc = reads_code(out, request_id, rc, "the entry could not be read: %s",
				os_strerror(rc));
	free(e);
	return rc;
}
