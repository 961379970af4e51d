/* Many cases (#6): filed at two spokes (the hall and another department)
 * for the owner's item; the owner's app, driven by the "onestop.Case"
 * messages of its inbox, accepts and decides them (approved or denied),
 * and the filing nodes withdraw every third case. At the end every case is
 * in the same final state at both ends and the counts by state (listed
 * page by page) are exact. 1,000 cases by default; ONESTOP_SOAK=1 files the
 * issue's 10,000, ONESTOP_CASES=N any number up to that. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_harness.h"
#include "err.h"

#define DEFAULT_CASES 1000
#define SOAK_CASES 10000

enum { FATE_APPROVE, FATE_DENY, FATE_WITHDRAW };

struct rec {
	uint8_t id[ONESTOP_ID_LEN];
	int fate;
	int filer;   /* 0 hall, 1 dept */
	int handled; /* the owner's app acted on its filing */
};

struct run {
	struct net *n;
	struct rec *recs; /* sorted by id once everything is filed */
	size_t n_recs;
	int sorted;
	onestop_t *act; /* the owner app's connection for acting */
	long filings, acted, act_errors, unknown;
};

static int rec_cmp(const void *a, const void *b)
{
	return memcmp(((const struct rec *)a)->id, ((const struct rec *)b)->id, ONESTOP_ID_LEN);
}

static struct rec *rec_find(struct run *r, const uint8_t id[ONESTOP_ID_LEN])
{
	struct rec key;

	memcpy(key.id, id, ONESTOP_ID_LEN);
	if (r->sorted)
		return bsearch(&key, r->recs, r->n_recs, sizeof *r->recs, rec_cmp);
	for (size_t i = 0; i < r->n_recs; i++)
		if (memcmp(r->recs[i].id, id, ONESTOP_ID_LEN) == 0)
			return &r->recs[i];
	return NULL;
}

/* The owner's app: each filing is accepted and decided as planned, unless
 * the applicant is to withdraw it. */
static void owner_app(const struct ch_casemsg *m, const uint8_t *payload, size_t len, void *arg)
{
	struct run *r = arg;
	struct rec *c;
	onestop_case_act_t a;
	int rc;

	(void)payload;
	(void)len;
	if (!m->has_filing)
		return;
	r->filings++;
	c = rec_find(r, m->case_id);
	if (!c) {
		r->unknown++;
		return;
	}
	if (c->fate == FATE_WITHDRAW || c->handled)
		return;
	c->handled = 1;
	memset(&a, 0, sizeof a);
	a.action = ONESTOP_ACT_ACCEPT;
	rc = onestop_case_act(r->act, c->id, &a, NULL);
	if (rc == 0) {
		a.action = ONESTOP_ACT_DECIDE;
		a.outcome = c->fate == FATE_APPROVE ? ONESTOP_APPROVED : ONESTOP_DENIED;
		a.reason = "decided by the test's approval system";
		rc = onestop_case_act(r->act, c->id, &a, NULL);
	}
	if (rc == 0) {
		r->acted++;
	} else if (r->act_errors++ < 5) {
		fprintf(stderr, "  owner app: case %s: %d %s (%s)\n", h_idhex(c->id), rc,
			os_errname(rc), onestop_last_error(r->act));
	}
}

struct listed {
	uint8_t id[ONESTOP_ID_LEN];
	int state, outcome;
};

static int listed_cmp(const void *a, const void *b)
{
	return memcmp(((const struct listed *)a)->id, ((const struct listed *)b)->id,
		      ONESTOP_ID_LEN);
}

/* Every case at p in state, paged by 250, appended to out (room for max);
 * the number listed, or -1. */
static long list_state(struct net_proc *p, int state, struct listed *out, size_t *n_out, size_t max)
{
	onestop_case_filter_t f = {.by_state = 1, .state = state, .limit = 250};
	uint8_t next[ONESTOP_ID_LEN];
	onestop_t *c = NULL;
	long count = 0;
	int more = 1, rc = net_connect(p, h_ms(20000), &c);

	for (size_t page = 0; rc == 0 && more && page < 1000; page++) {
		onestop_case_t *cs = NULL;
		size_t k = 0;

		rc = onestop_case_list(c, &f, &cs, &k, next, &more);
		for (size_t i = 0; rc == 0 && i < k; i++, count++) {
			if (*n_out < max) {
				memcpy(out[*n_out].id, cs[i].id, ONESTOP_ID_LEN);
				out[*n_out].state = cs[i].state;
				out[*n_out].outcome = cs[i].outcome;
			}
			(*n_out)++;
		}
		onestop_cases_free(&cs, k);
		f.after_id = next;
		if (more && k == 0)
			rc = -1;
	}
	if (rc != 0)
		fprintf(stderr, "  list %s at %s: %d\n", onestop_case_state_name(state), p->name,
			rc);
	onestop_close(&c);
	return rc ? -1 : count;
}

/* Every case p is party to, sorted by id; *n the number. */
static struct listed *list_all(struct net_proc *p, size_t max, size_t *n)
{
	struct listed *out = calloc(max + 1, sizeof *out);

	*n = 0;
	if (!out)
		return NULL;
	for (int s = ONESTOP_CASE_FILED; s <= ONESTOP_CASE_WITHDRAWN; s++)
		if (list_state(p, s, out, n, max) < 0) {
			free(out);
			return NULL;
		}
	if (*n > max) {
		fprintf(stderr, "  %s lists %zu cases, more than %zu\n", p->name, *n, max);
		*n = max;
	}
	qsort(out, *n, sizeof *out, listed_cmp);
	return out;
}

static int want_state(int fate)
{
	return fate == FATE_WITHDRAW ? ONESTOP_CASE_WITHDRAWN : ONESTOP_CASE_DECIDED;
}

static int want_outcome(int fate)
{
	return fate == FATE_APPROVE ? ONESTOP_APPROVED
	       : fate == FATE_DENY  ? ONESTOP_DENIED
				    : ONESTOP_OUTCOME_NONE;
}

/* Wait until p lists want_decided decided and want_withdrawn withdrawn
 * cases, bounded. 0 or -1. */
static int wait_final(struct net_proc *p, long want_decided, long want_withdrawn, int timeout_ms)
{
	uint64_t end = h_now_ms() + (uint64_t)timeout_ms;
	long d = 0, w = 0;

	do {
		d = ch_count_state(p, ONESTOP_CASE_DECIDED, 1000, NULL, 0);
		w = ch_count_state(p, ONESTOP_CASE_WITHDRAWN, 1000, NULL, 0);
		if (d == want_decided && w == want_withdrawn)
			return 0;
		h_sleep_ms(200);
	} while (h_now_ms() < end);
	fprintf(stderr, "  %s: %ld decided (want %ld), %ld withdrawn (want %ld)\n", p->name, d,
		want_decided, w, want_withdrawn);
	return -1;
}

int main(void)
{
	const char *soak = getenv("ONESTOP_SOAK"), *env_n = getenv("ONESTOP_CASES");
	size_t total = soak && strcmp(soak, "1") == 0 ? SOAK_CASES : DEFAULT_CASES;
	struct case_net cn;
	struct net *n;
	struct net_proc *filers[2];
	onestop_t *fc[2] = {NULL, NULL}, *idp = NULL, *co = NULL;
	struct run run;
	long want_dec[2] = {0, 0}, want_wd[2] = {0, 0};
	uint64_t t0, deadline;
	int rc;

	if (env_n && atol(env_n) > 0 && atol(env_n) <= SOAK_CASES)
		total = (size_t)atol(env_n);
	ch_start(&cn, NULL);
	n = cn.n;
	filers[0] = cn.hall;
	filers[1] = cn.dept;
	memset(&run, 0, sizeof run);
	run.n = n;
	run.recs = calloc(total, sizeof *run.recs);
	H_REQUIRE(n, run.recs != NULL, "memory for %zu cases", total);
	H_REQUIRE(n,
		  net_connect(cn.hall, h_ms(20000), &fc[0]) == 0 &&
			  net_connect(cn.dept, h_ms(20000), &fc[1]) == 0 &&
			  net_connect(cn.idp, h_ms(20000), &idp) == 0 &&
			  net_connect(cn.owner, h_ms(20000), &run.act) == 0,
		  "connected to hall, dept, idp and owner");

	fprintf(stderr, "filing %zu cases at hall and dept\n", total);
	t0 = h_now_ms();
	deadline = t0 + (uint64_t)h_ms(60000 + (int)total * 40);
	for (size_t i = 0; i < total; i++) {
		struct rec *c = &run.recs[i];
		const char doc[] = "scan";
		onestop_case_ref_t ref = {"identity", CH_SUBJECT, CH_MAT_ID};
		onestop_case_upload_t up = {CH_MAT_FORM, (const uint8_t *)doc, sizeof doc - 1};
		onestop_case_filing_t f = {.item = CH_ITEM_REG,
					   .channel = ONESTOP_CHANNEL_WEB,
					   .refs = &ref,
					   .n_refs = 1,
					   .uploads = &up,
					   .n_uploads = 1};
		uint8_t *as = NULL;
		size_t as_len = 0;

		c->filer = (int)(i % 2);
		c->fate = (int)(i / 2 % 3);
		rc = onestop_assert_issue(idp, CH_SUBJECT, 2, filers[c->filer]->name, 0, &as,
					  &as_len);
		if (rc != 0) /* checked (and printed) only when it fails: many of them */
			H_REQUIRE(n, rc == 0, "assertion %zu (rc %d %s)", i, rc, os_errname(rc));
		f.assertion = as;
		f.assertion_len = as_len;
		rc = onestop_case_file(fc[c->filer], &f, c->id);
		free(as);
		if (rc != 0)
			H_REQUIRE(n, rc == 0, "case %zu filed at %s (rc %d %s \"%s\")", i,
				  filers[c->filer]->name, rc, os_errname(rc),
				  onestop_last_error(fc[c->filer]));
		run.n_recs = i + 1;
		if (c->fate == FATE_WITHDRAW) {
			onestop_case_act_t a = {.action = ONESTOP_ACT_WITHDRAW,
						.reason = "the applicant changed their mind"};
			onestop_case_acted_t out;

			rc = onestop_case_act(fc[c->filer], c->id, &a, &out);
			if (rc != 0 || !out.pending)
				H_REQUIRE(n, rc == 0 && out.pending,
					  "case %zu withdrawn at %s, pending (rc %d %s \"%s\")", i,
					  filers[c->filer]->name, rc, os_errname(rc),
					  onestop_last_error(fc[c->filer]));
			want_wd[c->filer]++;
		} else {
			want_dec[c->filer]++;
		}
		if (i % 100 == 99) /* the owner's app keeps up */
			ch_recv_cases(cn.owner, &co, 0, 1000, owner_app, &run, NULL, NULL);
		if (h_now_ms() >= deadline)
			H_REQUIRE(n, 0, "filing within the time bound (%zu filed)", i + 1);
	}
	fprintf(stderr, "  filed %zu in %llu ms\n", total, (unsigned long long)(h_now_ms() - t0));
	qsort(run.recs, run.n_recs, sizeof *run.recs, rec_cmp);
	run.sorted = 1;

	fprintf(stderr, "the owner's app handles the rest\n");
	while ((size_t)run.filings < total && h_now_ms() < deadline)
		ch_recv_cases(cn.owner, &co, 500, 1000, owner_app, &run, NULL, NULL);
	H_CHECK(n, (size_t)run.filings == total && run.unknown == 0,
		"the owner's app got every filing once (%ld of %zu, %ld unknown)", run.filings,
		total, run.unknown);
	H_CHECK(n, run.acted == want_dec[0] + want_dec[1] && run.act_errors == 0,
		"it accepted and decided %ld cases (%ld errors)", run.acted, run.act_errors);
	fprintf(stderr, "  handled in %llu ms since the first filing\n",
		(unsigned long long)(h_now_ms() - t0));

	fprintf(stderr, "every case final at both ends\n");
	rc = wait_final(cn.owner, want_dec[0] + want_dec[1], want_wd[0] + want_wd[1],
			h_ms(60000 + (int)total * 10));
	H_CHECK(n, rc == 0, "the owner holds every case final");
	for (int k = 0; k < 2; k++) {
		rc = wait_final(filers[k], want_dec[k], want_wd[k], h_ms(60000 + (int)total * 10));
		H_CHECK(n, rc == 0, "%s holds its %ld decided and %ld withdrawn cases",
			filers[k]->name, want_dec[k], want_wd[k]);
	}
	{
		size_t no = 0, nf[2] = {0, 0}, bad = 0, i = 0, j[2] = {0, 0};
		struct listed *lo = list_all(cn.owner, total + 16, &no);
		struct listed *lf[2] = {list_all(cn.hall, total + 16, &nf[0]),
					list_all(cn.dept, total + 16, &nf[1])};

		H_REQUIRE(n, lo && lf[0] && lf[1], "listed every case at the three spokes");
		H_CHECK(n, no == total && nf[0] + nf[1] == total,
			"counts: owner %zu, hall %zu + dept %zu, of %zu", no, nf[0], nf[1], total);
		/* merge: each of ours once at the owner and once at its filer, in the
		 * planned state and outcome */
		for (i = 0; i < run.n_recs; i++) {
			const struct rec *c = &run.recs[i];
			const struct listed *o = i < no ? &lo[i] : NULL;
			const struct listed *f = NULL;
			int fi = c->filer;

			if (j[fi] < nf[fi])
				f = &lf[fi][j[fi]++];
			if (!o || !f || memcmp(o->id, c->id, ONESTOP_ID_LEN) != 0 ||
			    memcmp(f->id, c->id, ONESTOP_ID_LEN) != 0 ||
			    o->state != want_state(c->fate) || f->state != o->state ||
			    o->outcome != want_outcome(c->fate) || f->outcome != o->outcome) {
				if (bad++ < 5)
					fprintf(stderr,
						"  case %s: owner %s/%s, %s %s/%s, planned %s\n",
						h_idhex(c->id),
						o ? onestop_case_state_name(o->state) : "-",
						o ? onestop_case_outcome_name(o->outcome) : "-",
						filers[fi]->name,
						f ? onestop_case_state_name(f->state) : "-",
						f ? onestop_case_outcome_name(f->outcome) : "-",
						c->fate == FATE_WITHDRAW  ? "withdrawn"
						: c->fate == FATE_APPROVE ? "approved"
									  : "denied");
			}
		}
		H_CHECK(n, bad == 0,
			"every case is in its planned final state at both ends (%zu "
			"differ)",
			bad);
		free(lo);
		free(lf[0]);
		free(lf[1]);
	}
	fprintf(stderr, "  %zu cases: filed, handled and final at both ends in %llu ms\n", total,
		(unsigned long long)(h_now_ms() - t0));
	for (int k = 0; k < 2; k++)
		onestop_close(&fc[k]);
	onestop_close(&idp);
	onestop_close(&co);
	onestop_close(&run.act);
	free(run.recs);
	return net_done(&n);
}
