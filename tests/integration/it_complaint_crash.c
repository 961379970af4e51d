/* Complaints survive kill -9 (#7): complaints filed at the hall while the
 * supervisor that handles them is killed and restarted, and answered by
 * the supervisor while the hall is killed, all arrive once and end the
 * same at both ends; the supervisor counts each complaint and each answer
 * once, also after a rebuild of its figures from the stored events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_harness.h"
#include "err.h"

#define N 24

static int file_one(struct case_net *cn, uint8_t id[ONESTOP_ID_LEN], unsigned i)
{
	uint8_t *as = NULL;
	size_t al = 0;
	onestop_t *c = NULL;
	char text[64], key[32];
	int rc = ch_assertion(cn, CH_SUBJECT, 2, CH_HALL, 0, &as, &al);
	if (rc != 0)
		return rc;
	snprintf(text, sizeof text, "complaint number %u", i);
	snprintf(key, sizeof key, "crash-%u", i);
	onestop_complaint_filing_t f = {
		.kind = ONESTOP_COMPLAINT,
		.about = "item:" CH_ITEM_LIC,
		.text = (const uint8_t *)text,
		.text_len = strlen(text),
		.assertion = as,
		.assertion_len = al,
		.channel = ONESTOP_CHANNEL_HOTLINE,
		.key = (const uint8_t *)key,
		.key_len = strlen(key),
	};
	/* A retry after a lost reply files nothing new: the key. */
	for (int attempt = 0; attempt < 50; attempt++) {
		if ((rc = net_connect(cn->hall, 0, &c)) == 0)
			rc = onestop_complaint_file(c, &f, id, NULL);
		onestop_close(&c);
		if (rc != ONESTOP_ECONN && rc != ONESTOP_ETIMEDOUT)
			break;
		usleep(100000);
	}
	free(as);
	return rc;
}

/* Poll until every complaint at p is in state with nothing pending. */
static int wait_all(struct net_proc *p, uint8_t (*ids)[ONESTOP_ID_LEN], int state, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)h_ms(timeout_ms);
	size_t done = 0;
	while (h_now_ms() < until) {
		onestop_t *c = NULL;
		done = 0;
		if (net_connect(p, 0, &c) == 0) {
			for (size_t i = 0; i < N; i++) {
				onestop_complaint_t *cp = NULL;
				if (onestop_complaint_get(c, ids[i], &cp) == 0 &&
				    cp->state == state && cp->pending == 0)
					done++;
				onestop_complaint_free(&cp);
			}
		}
		onestop_close(&c);
		if (done == N)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "  %s: %zu of %d in state %d\n", p->name, done, N, state);
	return -1;
}

static long listed(struct net_proc *p)
{
	onestop_t *c = NULL;
	onestop_complaint_t *cps = NULL;
	size_t n = 0;
	uint8_t next[ONESTOP_ID_LEN];
	int more = 0;
	onestop_complaint_filter_t f = {.limit = 1000};
	long r = -1;
	if (net_connect(p, 0, &c) == 0 && onestop_complaint_list(c, &f, &cps, &n, next, &more) == 0)
		r = (long)n;
	onestop_complaints_free(&cps, n);
	onestop_close(&c);
	return r;
}

/* The supervisor's complaints and answers for the owner's region. */
static int figures(struct net_proc *p, uint64_t *complaints, uint64_t *answered)
{
	onestop_t *c = NULL;
	onestop_stats_row_t *rows = NULL;
	size_t n = 0;
	int rc = net_connect(p, 0, &c);
	*complaints = *answered = 0;
	if (rc == 0)
		rc = onestop_stats(c, "region", NULL, NULL, &rows, &n);
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (strcmp(rows[i].key, "gd.sz") == 0) {
			*complaints = rows[i].complaints;
			*answered = rows[i].answered;
		}
	free(rows);
	onestop_close(&c);
	return rc;
}

static int wait_figures(struct net_proc *p, uint64_t want_c, uint64_t want_a, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)h_ms(timeout_ms), c = 0, a = 0;
	while (h_now_ms() < until) {
		if (figures(p, &c, &a) == 0 && c == want_c && a == want_a)
			return 0;
		usleep(100000);
	}
	fprintf(stderr, "  figures: %llu complaints, %llu answered\n", (unsigned long long)c,
		(unsigned long long)a);
	return -1;
}

int main(void)
{
	struct case_net cn;
	struct net_opts o;
	uint8_t ids[N][ONESTOP_ID_LEN];
	int rc;

	ch_opts_sup(&o);
	ch_start(&cn, &o);
	struct net *n = cn.n;

	/* Filed while the supervisor is killed twice. */
	for (unsigned i = 0; i < N; i++) {
		rc = file_one(&cn, ids[i], i);
		H_CHECK(n, rc == 0, "complaint %u filed at the hall (%d)", i, rc);
		if (i == N / 3 || i == 2 * N / 3) {
			proc_kill(n, cn.sup);
			if (i == N / 3)
				net_up(n, cn.sup, 1);
		}
	}
	net_up(n, cn.sup, 1);
	H_CHECK(n, wait_all(cn.sup, ids, ONESTOP_CP_RECEIVED, 30000) == 0,
		"all %d reached the supervisor", N);
	H_CHECK(n, listed(cn.sup) == N && listed(cn.hall) == N, "each is there once (%ld, %ld)",
		listed(cn.sup), listed(cn.hall));

	/* Answered by the supervisor while the hall is killed. */
	onestop_t *c = NULL;
	H_REQUIRE(n, net_connect(cn.sup, 0, &c) == 0, "connected to the supervisor");
	for (unsigned i = 0; i < N; i++) {
		char answer[64];
		snprintf(answer, sizeof answer, "answer number %u", i);
		rc = onestop_complaint_act(c, ids[i], ONESTOP_CP_ANSWER, NULL,
					   (const uint8_t *)answer, strlen(answer), NULL, NULL,
					   NULL);
		H_CHECK(n, rc == 0, "complaint %u answered (%d)", i, rc);
		if (i == N / 2)
			proc_kill(n, cn.hall);
	}
	onestop_close(&c);
	net_up(n, cn.hall, 1);
	H_CHECK(n, wait_all(cn.hall, ids, ONESTOP_CP_ANSWERED, 30000) == 0,
		"every answer reached the hall");

	/* Counted once each, and the same after a rebuild. */
	H_CHECK(n, wait_figures(cn.sup, N, N, 20000) == 0,
		"the supervisor counts %d complaints and %d answers", N, N);
	proc_kill(n, cn.sup);
	net_up(n, cn.sup, 1);
	H_REQUIRE(n, net_connect(cn.sup, 0, &c) == 0, "connected to the supervisor");
	rc = onestop_stats_rebuild(c);
	onestop_close(&c);
	H_CHECK(n, rc == 0, "figures rebuilt from the stored events (%d)", rc);
	H_CHECK(n, wait_figures(cn.sup, N, N, 5000) == 0, "the same after the rebuild");
	return net_done(&cn.n);
}
