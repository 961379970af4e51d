/* The supervision stream of cases (#7's first part, on #6's cases): with a
 * node subscribed to @supervision (dept, role supervisor), the owner emits
 * one metadata-only event for every step of a case it applies, in order,
 * each naming the case, its item, owner, filing node, channel, state,
 * action and due dates; no event carries the form, the upload or the
 * subject id; a node that does not subscribe (the hall) gets none. The
 * supervisor counts each event once, with its receipt: `onestop stats`
 * gives the exact figures, also after a kill -9 and restart, and after
 * rebuilding them from the stored events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_harness.h"
#include "err.h"
#include "onestop.pb-c.h"
#include "supervision.h"
#include "util.h"

#define MARKER "form-secret-52c9e0aa"
#define STEPS 7

struct events {
	uint8_t id[ONESTOP_ID_LEN];
	int n, bad, leaked, foreign;
	uint64_t seq[16];
	int action[16], state[16], outcome[16];
	int items_ok, owner_ok, filer_ok, channel_ok, due_ok;
};

static void take(struct events *ev, const onestop_msg_t *m)
{
	Onestop__SupervisionEvent *e;

	if (strcmp(m->type, "onestop.Supervision") != 0)
		return;
	if (ch_find(m->payload, m->len, MARKER) || ch_find(m->payload, m->len, CH_SUBJECT))
		ev->leaked++;
	if (sv_event_check(m->payload, m->len) != 0 || strcmp(m->origin, CH_OWNER) != 0) {
		ev->bad++;
		return;
	}
	e = onestop__supervision_event__unpack(NULL, m->len, m->payload);
	if (!e) {
		ev->bad++;
		return;
	}
	if (e->id.len != ONESTOP_ID_LEN || memcmp(e->id.data, ev->id, ONESTOP_ID_LEN) != 0) {
		ev->foreign++;
	} else if (ev->n < 16) {
		int i = ev->n++;
		ev->seq[i] = e->seq;
		ev->action[i] = (int)e->action;
		ev->state[i] = (int)e->state;
		ev->outcome[i] = (int)e->outcome;
		ev->items_ok +=
			strcmp(e->item, CH_ITEM_LIC) == 0 && strcmp(e->item_kind, "licence") == 0;
		ev->owner_ok += strcmp(e->owner, CH_OWNER) == 0;
		ev->filer_ok += strcmp(e->filed_by, CH_HALL) == 0;
		ev->channel_ok += e->channel == ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HALL;
		/* due dates from the first accept on, none before */
		ev->due_ok += (e->seq >= 2) == (e->promised_due_ms > 0 && e->legal_due_ms > 0);
	}
	onestop__supervision_event__free_unpacked(e, NULL);
}

/* Receive and ack what p's apps get for wait_ms; into ev. The messages
 * seen. */
static long drain(struct net_proc *p, struct events *ev, int wait_ms)
{
	onestop_t *c = NULL;
	long total = 0;
	uint64_t until = h_now_ms() + (uint64_t)h_ms(wait_ms);

	if (net_connect(p, 0, &c) != 0)
		return -1;
	while (h_now_ms() < until) {
		onestop_msg_t *msgs = NULL;
		size_t n = 0;
		if (onestop_recv(c, 100, 200, &msgs, &n) != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			uint64_t seq = msgs[i].seq;
			take(ev, &msgs[i]);
			onestop_ack(c, &seq, 1);
		}
		total += (long)n;
		onestop_msgs_free(&msgs, n);
		if (ev->n >= STEPS && n == 0)
			break;
	}
	onestop_close(&c);
	return total;
}

struct stats_want {
	uint64_t filed, accepted, rejected, approved, open;
};

/* Poll p's stats by item until CH_ITEM_LIC's row is want: 0, or -1. */
static int stats_wait(struct net_proc *p, const struct stats_want *want, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		onestop_t *c = NULL;
		onestop_stats_row_t *rows = NULL;
		size_t n = 0;
		int ok = 0;
		if (net_connect(p, 0, &c) == 0 &&
		    onestop_stats(c, "item", NULL, NULL, &rows, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				if (strcmp(rows[i].key, CH_ITEM_LIC) == 0)
					ok = rows[i].filed == want->filed &&
					     rows[i].accepted == want->accepted &&
					     rows[i].rejected == want->rejected &&
					     rows[i].approved == want->approved &&
					     rows[i].decided == want->approved &&
					     rows[i].open == want->open;
			if (!ok && n > 0 && h_now_ms() >= until)
				fprintf(stderr,
					"  stats %s: filed %llu accepted %llu rejected %llu "
					"approved %llu open %llu\n",
					rows[0].key, (unsigned long long)rows[0].filed,
					(unsigned long long)rows[0].accepted,
					(unsigned long long)rows[0].rejected,
					(unsigned long long)rows[0].approved,
					(unsigned long long)rows[0].open);
		}
		free(rows);
		onestop_close(&c);
		if (ok)
			return 0;
		if (h_now_ms() >= until)
			return -1;
		usleep(100000);
	}
}

int main(void)
{
	static const int actions[STEPS] = {ONESTOP_ACT_FILE,      ONESTOP_ACT_ACCEPT,
					   ONESTOP_ACT_NEED_MORE, ONESTOP_ACT_RESUBMIT,
					   ONESTOP_ACT_ACCEPT,    ONESTOP_ACT_DECIDE,
					   ONESTOP_ACT_CLOSE};
	static const int states[STEPS] = {ONESTOP_CASE_FILED,       ONESTOP_CASE_ACCEPTED,
					  ONESTOP_CASE_MORE_NEEDED, ONESTOP_CASE_RESUBMITTED,
					  ONESTOP_CASE_ACCEPTED,    ONESTOP_CASE_DECIDED,
					  ONESTOP_CASE_CLOSED};
	struct case_net cn;
	struct net_opts o;
	struct events ev, hall_ev;
	char why[512] = "";
	const char *missing[] = {CH_MAT_FORM};
	onestop_case_act_t need = {.action = ONESTOP_ACT_NEED_MORE,
				   .missing = missing,
				   .n_missing = 1,
				   .reason = "sign the form"};
	onestop_case_upload_t up = {CH_MAT_FORM, (const uint8_t *)"signed " MARKER,
				    strlen("signed " MARKER)};
	onestop_case_act_t resub = {.action = ONESTOP_ACT_RESUBMIT, .uploads = &up, .n_uploads = 1};
	int rc;

	ch_opts(&o);
	o.spoke[3].topics[0] = "supervision"; /* dept listens and counts */
	o.spoke[3].roles[0] = "spoke";
	o.spoke[3].roles[1] = "supervisor";
	ch_start(&cn, &o);
	struct net *n = cn.n;

	memset(&ev, 0, sizeof ev);
	rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, MARKER, 0, ev.id, why,
			 sizeof why);
	H_REQUIRE(n, rc == 0, "the hall filed a case (%d %s)", rc, why);
	H_REQUIRE(n, ch_wait_state(cn.owner, ev.id, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0,
		  "the case reached the owner");
	H_CHECK(n,
		ch_act_simple(cn.owner, ev.id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why,
			      sizeof why) == 0,
		"accepted (%s)", why);
	H_CHECK(n, ch_act(cn.owner, ev.id, &need, NULL, why, sizeof why) == 0,
		"more material asked (%s)", why);
	H_CHECK(n,
		ch_wait_state(cn.hall, ev.id, ONESTOP_CASE_MORE_NEEDED, 3, h_ms(20000), NULL) == 0,
		"the hall saw it");
	H_CHECK(n, ch_act(cn.hall, ev.id, &resub, NULL, why, sizeof why) == 0, "resubmitted (%s)",
		why);
	H_CHECK(n,
		ch_wait_state(cn.owner, ev.id, ONESTOP_CASE_RESUBMITTED, 4, h_ms(20000), NULL) == 0,
		"the owner applied the resubmission");
	H_CHECK(n,
		ch_act_simple(cn.owner, ev.id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why,
			      sizeof why) == 0,
		"accepted again (%s)", why);
	H_CHECK(n,
		ch_act_simple(cn.owner, ev.id, ONESTOP_ACT_DECIDE, ONESTOP_APPROVED, "granted",
			      NULL, why, sizeof why) == 0,
		"approved (%s)", why);
	H_CHECK(n,
		ch_act_simple(cn.owner, ev.id, ONESTOP_ACT_CLOSE, 0, NULL, NULL, why, sizeof why) ==
			0,
		"closed (%s)", why);

	long got = drain(cn.dept, &ev, 20000);
	H_CHECK(n, got >= STEPS, "dept's apps received %ld messages", got);
	H_CHECK(n, ev.n == STEPS, "one event per step of the case: %d of %d", ev.n, STEPS);
	H_CHECK(n, ev.bad == 0 && ev.foreign == 0,
		"every event decodes, passes the supervision check and comes from the owner "
		"(bad %d, other cases %d)",
		ev.bad, ev.foreign);
	H_CHECK(n, ev.leaked == 0, "no event holds the form, the upload or the subject id (%d)",
		ev.leaked);
	int order = ev.n == STEPS;
	for (int i = 0; order && i < STEPS; i++)
		order = ev.seq[i] == (uint64_t)(i + 1) && ev.action[i] == actions[i] &&
			ev.state[i] == states[i];
	H_CHECK(n, order,
		"the events come in the case's order: seq 1..%d, each step's action "
		"and the state it led to",
		STEPS);
	H_CHECK(n, ev.n == STEPS && ev.outcome[5] == ONESTOP_APPROVED && ev.outcome[0] == 0,
		"the decision's event carries the outcome (approved), the filing's none");
	H_CHECK(n,
		ev.items_ok == STEPS && ev.owner_ok == STEPS && ev.filer_ok == STEPS &&
			ev.channel_ok == STEPS && ev.due_ok == STEPS,
		"each names the item and its kind, the owner, the filing node and the channel, "
		"and the due dates from the first accept on (%d %d %d %d %d)",
		ev.items_ok, ev.owner_ok, ev.filer_ok, ev.channel_ok, ev.due_ok);

	memset(&hall_ev, 0, sizeof hall_ev);
	memcpy(hall_ev.id, ev.id, ONESTOP_ID_LEN);
	drain(cn.hall, &hall_ev, 1000);
	H_CHECK(n, hall_ev.n == 0 && hall_ev.bad == 0,
		"the hall, which does not subscribe, got no event (%d)", hall_ev.n + hall_ev.bad);

	/* A second case, rejected: the supervisor's figures of the item. */
	uint8_t id2[ONESTOP_ID_LEN];
	rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT2, NULL, MARKER, 0, id2, why,
			 sizeof why);
	H_CHECK(n, rc == 0, "a second case filed (%d %s)", rc, why);
	H_CHECK(n, ch_wait_state(cn.owner, id2, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0,
		"it reached the owner");
	H_CHECK(n,
		ch_act_simple(cn.owner, id2, ONESTOP_ACT_REJECT, 0, "incomplete", NULL, why,
			      sizeof why) == 0,
		"rejected (%s)", why);
	struct stats_want want = {2, 1, 1, 1, 0};
	H_CHECK(n, stats_wait(cn.dept, &want, h_ms(20000)) == 0,
		"the supervisor counted both cases of the item exactly once: filed 2, accepted 1, "
		"rejected 1, approved 1, open 0");
	proc_kill(n, cn.dept);
	H_REQUIRE(n,
		  proc_start(n, cn.dept) == 0 && net_spoke_ready(n, cn.dept, 1, h_ms(15000)) == 0,
		  "the supervisor restarted after kill -9");
	H_CHECK(n, stats_wait(cn.dept, &want, h_ms(5000)) == 0,
		"... and its figures are the same, nothing counted twice");
	{
		onestop_t *c = NULL;
		int rb = net_connect(cn.dept, 0, &c);
		if (rb == 0)
			rb = onestop_stats_rebuild(c);
		onestop_close(&c);
		H_CHECK(n, rb == 0,
			"the supervisor rebuilt its records from its stored events (%d)", rb);
	}
	H_CHECK(n, stats_wait(cn.dept, &want, h_ms(5000)) == 0,
		"... and the rebuilt figures are the same");
	H_CHECK(n, proc_wait_log(cn.dept, "event=supervision_rebuilt events=9", h_ms(5000)) == 0,
		"... from the 9 events it had stored (7 of the first case, 2 of the second)");
	struct cmd_out out;
	memset(&out, 0, sizeof out);
	int cli_rc =
		ch_cli(n, cn.dept, &out, "stats", "--by", "owner", "--rebuild", "--json", NULL);
	H_CHECK(n,
		cli_rc == 0 && out.out &&
			strstr(out.out, "\"key\":\"" CH_OWNER "\",\"filed\":2,") != NULL,
		"onestop stats --by owner --rebuild --json: %.300s", out.out ? out.out : "");
	cmd_out_free(&out);
	return net_done(&n);
}
