/* Cases across failures (#6): filed at the hall while the hub is down
 * (filed at the hall, delivered when the hub returns); the owner's spoke
 * killed with SIGKILL after it received cases and before it accepted them,
 * and right after cases were filed; the hall killed right after it filed
 * and stopped while the owner decides. No case is lost or doubled: at the
 * end both ends count every case once, all decided, with the same
 * history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_harness.h"
#include "err.h"

#define N_HUB_DOWN 4
#define N_OWNER_KILL 3
#define N_HALL_KILL 2
#define N_CASES (N_HUB_DOWN + N_OWNER_KILL + N_HALL_KILL)

static void file_some(struct case_net *cn, uint8_t (*ids)[ONESTOP_ID_LEN], size_t first, size_t k,
		      const char *what)
{
	char why[512];

	for (size_t i = first; i < first + k; i++) {
		int rc = ch_file_std(cn, cn->hall, CH_ITEM_REG, CH_SUBJECT, NULL, NULL, 0, ids[i],
				     why, sizeof why);

		H_REQUIRE(cn->n, rc == 0, "%s: filed case %zu (rc %d %s \"%s\")", what, i, rc,
			  os_errname(rc), why);
	}
}

static void wait_all(struct case_net *cn, struct net_proc *p, uint8_t (*ids)[ONESTOP_ID_LEN],
		     size_t first, size_t k, int state, uint64_t seq, const char *what)
{
	for (size_t i = first; i < first + k; i++)
		H_REQUIRE(cn->n, ch_wait_state(p, ids[i], state, seq, h_ms(30000), NULL) == 0,
			  "%s: case %zu is %s at %s", what, i, onestop_case_state_name(state),
			  p->name);
}

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ONESTOP_ID_LEN);
}

/* Count every state at p: all N_CASES decided, none elsewhere, each id
 * once and one of ours. */
static void check_counts(struct case_net *cn, struct net_proc *p, uint8_t (*ids)[ONESTOP_ID_LEN])
{
	uint8_t listed[N_CASES + 8][ONESTOP_ID_LEN];
	long other = 0, decided;

	for (int s = ONESTOP_CASE_FILED; s <= ONESTOP_CASE_WITHDRAWN; s++) {
		long k;

		if (s == ONESTOP_CASE_DECIDED)
			continue;
		k = ch_count_state(p, s, 3, NULL, 0);
		H_CHECK(cn->n, k == 0, "%s lists no case %s (%ld)", p->name,
			onestop_case_state_name(s), k);
		other += k;
	}
	decided = ch_count_state(p, ONESTOP_CASE_DECIDED, 4, listed, N_CASES + 8);
	H_CHECK(cn->n, decided == N_CASES, "%s lists %d decided cases, paged by 4 (%ld)", p->name,
		N_CASES, decided);
	if (decided == N_CASES) {
		uint8_t want[N_CASES][ONESTOP_ID_LEN];

		memcpy(want, ids, sizeof want);
		qsort(want, N_CASES, ONESTOP_ID_LEN, id_cmp);
		qsort(listed, N_CASES, ONESTOP_ID_LEN, id_cmp);
		H_CHECK(cn->n, memcmp(want, listed, sizeof want) == 0,
			"%s lists exactly the filed cases, each once", p->name);
	}
}

int main(void)
{
	uint8_t ids[N_CASES][ONESTOP_ID_LEN];
	struct case_net cn;
	struct net *n;
	onestop_status_t st;
	onestop_case_t *cs = NULL;
	char why[512];
	int rc;

	ch_start(&cn, NULL);
	n = cn.n;
	/* the hall verifies assertions with its cached copy of the subject */
	H_REQUIRE(n, ds_get_identity(cn.hall, CH_SUBJECT, 0, NULL, NULL) == 0,
		  "the hall holds the subject");

	fprintf(stderr, "filing while the hub is down\n");
	H_REQUIRE(n, proc_stop(n, &n->hub, 0) == 0, "the hub stopped cleanly");
	file_some(&cn, ids, 0, N_HUB_DOWN, "hub down");
	for (size_t i = 0; i < N_HUB_DOWN; i++) {
		rc = ch_get(cn.hall, ids[i], &cs);
		H_CHECK(n, rc == 0 && cs->state == ONESTOP_CASE_FILED && cs->seq == 1,
			"case %zu is filed at the hall (rc %d)", i, rc);
		onestop_case_free(&cs);
	}
	H_CHECK(n, net_status(cn.hall, &st) == 0 && st.outbox >= N_HUB_DOWN,
		"the hall's outbox holds them (%llu)", (unsigned long long)st.outbox);
	net_up(n, &n->hub, 0);
	wait_all(&cn, cn.owner, ids, 0, N_HUB_DOWN, ONESTOP_CASE_FILED, 1, "hub back");

	fprintf(stderr, "the owner killed after receipt, before acceptance\n");
	proc_kill(n, cn.owner);
	net_up(n, cn.owner, 1);
	wait_all(&cn, cn.owner, ids, 0, N_HUB_DOWN, ONESTOP_CASE_FILED, 1, "owner restarted");
	for (size_t i = 0; i < N_HUB_DOWN; i++) {
		rc = ch_act_simple(cn.owner, ids[i], ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why,
				   sizeof why);
		H_CHECK(n, rc == 0, "the owner accepted case %zu (rc %d \"%s\")", i, rc, why);
	}

	fprintf(stderr, "the owner killed while cases arrive\n");
	file_some(&cn, ids, N_HUB_DOWN, N_OWNER_KILL, "owner killed");
	proc_kill(n, cn.owner);
	net_up(n, cn.owner, 1);
	wait_all(&cn, cn.owner, ids, N_HUB_DOWN, N_OWNER_KILL, ONESTOP_CASE_FILED, 1,
		 "owner restarted again");
	for (size_t i = N_HUB_DOWN; i < N_HUB_DOWN + N_OWNER_KILL; i++) {
		rc = ch_act_simple(cn.owner, ids[i], ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why,
				   sizeof why);
		H_CHECK(n, rc == 0, "the owner accepted case %zu (rc %d \"%s\")", i, rc, why);
	}

	fprintf(stderr, "the hall killed right after filing\n");
	file_some(&cn, ids, N_HUB_DOWN + N_OWNER_KILL, N_HALL_KILL, "hall killed");
	proc_kill(n, cn.hall);
	net_up(n, cn.hall, 1);
	for (size_t i = N_HUB_DOWN + N_OWNER_KILL; i < N_CASES; i++) {
		rc = ch_get(cn.hall, ids[i], &cs);
		H_CHECK(n, rc == 0 && cs->state == ONESTOP_CASE_FILED,
			"case %zu survived at the hall (rc %d)", i, rc);
		onestop_case_free(&cs);
	}
	wait_all(&cn, cn.owner, ids, N_HUB_DOWN + N_OWNER_KILL, N_HALL_KILL, ONESTOP_CASE_FILED, 1,
		 "hall restarted");
	for (size_t i = N_HUB_DOWN + N_OWNER_KILL; i < N_CASES; i++) {
		rc = ch_act_simple(cn.owner, ids[i], ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why,
				   sizeof why);
		H_CHECK(n, rc == 0, "the owner accepted case %zu (rc %d \"%s\")", i, rc, why);
	}
	wait_all(&cn, cn.hall, ids, 0, N_CASES, ONESTOP_CASE_ACCEPTED, 2, "accepted");

	fprintf(stderr, "the owner decides while the hall is stopped\n");
	H_REQUIRE(n, proc_stop(n, cn.hall, 0) == 0, "the hall stopped cleanly");
	for (size_t i = 0; i < N_CASES; i++) {
		rc = ch_act_simple(cn.owner, ids[i], ONESTOP_ACT_DECIDE,
				   i % 2 ? ONESTOP_DENIED : ONESTOP_APPROVED, "decided", NULL, why,
				   sizeof why);
		H_CHECK(n, rc == 0, "the owner decided case %zu (rc %d \"%s\")", i, rc, why);
	}
	net_up(n, cn.hall, 1);
	wait_all(&cn, cn.hall, ids, 0, N_CASES, ONESTOP_CASE_DECIDED, 3, "decided");

	fprintf(stderr, "no case lost or doubled\n");
	check_counts(&cn, cn.hall, ids);
	check_counts(&cn, cn.owner, ids);
	for (size_t i = 0; i < N_CASES; i++) {
		rc = ch_same_case(cn.hall, cn.owner, ids[i], why, sizeof why);
		H_CHECK(n, rc == 0, "case %zu: both ends agree (%s)", i, why);
	}
	return net_done(&n);
}
