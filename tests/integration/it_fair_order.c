/* Fairness between senders at the hub (#5, defect 3), with queue_quota
 * 20000 (a node's hold: 5000 more) and d offline:
 * - a floods d with 20,100 messages: d's queue fills to its quota and the
 *   last 100 are held, and b's probe to d is held too; neither origin's
 *   stream stops, so a's 10 messages to e arrive at once (back-pressure
 *   applies to the full pair, not to a's whole link);
 * - once d comes up, b's probe arrives within d's first window, before
 *   most of a's flood, and each origin's messages arrive in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define QQ 20000
#define FLOOD (QQ + 100)
#define TYPE "it.fair"

struct probe_at {
	struct msgs_rx *probe;
	uint64_t at; /* a's messages received when the probe came; 0: not yet */
};

static int note_probe(struct msgs_rx *rx, void *arg)
{
	struct probe_at *p = arg;

	if (!p->at && p->probe->got > 0)
		p->at = rx->got ? rx->got : 1;
	return 0;
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *d, *e;
	onestop_t *ca = NULL, *cb = NULL, *cd = NULL, *ce = NULL;
	onestop_status_t st;
	struct msgs_rx rx, rx_probe, rx_e;
	struct probe_at pa;
	uint64_t zero = 0, t0;
	int rc;

	memset(&o, 0, sizeof o);
	o.hub_conf[0] = (struct net_kv){"queue_quota", "20000"};
	o.spoke[0].name = "a";
	o.spoke[1].name = "b";
	o.spoke[2].name = "d";
	o.spoke[3].name = "e";
	n = net_make(4, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	d = net_spoke(n, "d");
	e = net_spoke(n, "e");
	net_up(n, &n->hub, 1);
	net_up(n, a, 1);
	net_up(n, b, 1);
	net_up(n, e, 1);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
	rc = msgs_send(ca, "d", TYPE, 1, 1, FLOOD, 1000, 16, 3600, NULL);
	H_REQUIRE(n, rc == 0, "a accepted %d messages for offline d", FLOOD);
	rc = net_wait_status(a, st_outbox_is, &zero, h_ms(30000), &st);
	H_CHECK(n, rc == 0, "the hub took all of a's flood, the last 100 held: a's outbox %llu",
		(unsigned long long)st.outbox);
	rc = msgs_send(cb, "d", TYPE, 2, 1, 1, 1, 16, 3600, NULL);
	H_REQUIRE(n, rc == 0, "b accepted its probe for d");
	rc = net_wait_status(b, st_outbox_is, &zero, h_ms(10000), &st);
	H_CHECK(n, rc == 0, "the hub took b's probe for the full d: b's outbox %llu",
		(unsigned long long)st.outbox);

	/* a's traffic to e is not stopped by the full pair (a, d). */
	rc = msgs_send(ca, "e", TYPE, 3, 1, 10, 10, 16, 3600, NULL);
	H_REQUIRE(n, rc == 0, "a accepted 10 messages for e");
	memset(&rx_e, 0, sizeof rx_e);
	rx_e.stream = 3;
	rx_e.first = 1;
	rx_e.count = 10;
	rx_e.origin = "a";
	t0 = h_now_ms();
	rc = msgs_recv(e, &ce, &rx_e, h_ms(10000));
	H_CHECK(n, rc == 0, "e received a's 10 while d is full, in %llu ms (%s)",
		(unsigned long long)(h_now_ms() - t0), rx_e.problem);
	H_CHECK(n, proc_log_count(&n->hub, "node_over_quota node=d as=destination", 1) == 1,
		"the hub logged once that d is at its share (%d)",
		proc_log_count(&n->hub, "node_over_quota node=d as=destination", 1));

	/* d comes up: b's probe is served in d's first window. */
	net_up(n, d, 1);
	memset(&rx, 0, sizeof rx);
	memset(&rx_probe, 0, sizeof rx_probe);
	rx.stream = 1;
	rx.first = 1;
	rx.count = FLOOD;
	rx.origin = "a";
	rx_probe.stream = 2;
	rx_probe.first = 1;
	rx_probe.count = 1;
	rx_probe.origin = "b";
	rx.also = &rx_probe;
	pa.probe = &rx_probe;
	pa.at = 0;
	rx.batch = 100; /* to place the probe to within 100 */
	rx.hook = note_probe;
	rx.hook_arg = &pa;
	t0 = h_now_ms();
	rc = msgs_recv(d, &cd, &rx, h_ms(120000));
	H_CHECK(n, rc == 0, "d received a's %d and b's probe, each in order, in %llu ms (%s)",
		FLOOD, (unsigned long long)(h_now_ms() - t0), rx.problem);
	H_CHECK(n, pa.at > 0 && pa.at <= 2000,
		"b's probe reached d within its first two windows: after %llu of a's %d",
		(unsigned long long)pa.at, FLOOD);

	msgs_rx_clear(&rx);
	msgs_rx_clear(&rx_probe);
	msgs_rx_clear(&rx_e);
	onestop_close(&ca);
	onestop_close(&cb);
	onestop_close(&cd);
	onestop_close(&ce);
	return net_done(&n);
}
