/* One node cannot fill the hub's store (#5, defect 1): with a 64 MiB map
 * (queues: 32 MiB; a node's share 8 MiB, its hold 2 MiB) an attacker x
 * floods an offline destination y with 600 KiB messages that live a day.
 * The hub takes x's share and hold, then holds x back (node_over_quota,
 * once; x's spoke is told EFULL) while b's 200 KiB messages to c still get
 * through promptly, also after a restart of the hub (the counters are
 * rebuilt from the store). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define BIG (600 * 1024)
#define FLOOD 120 /* 72 MB: more than the whole map */
#define MID (200 * 1024)
#define TYPE "it.share"

/* Wait until x's outbox stops shrinking (three seconds without change);
 * its size. */
static uint64_t settled_outbox(struct net_proc *p)
{
	onestop_status_t st;
	uint64_t t0 = h_now_ms(), prev = UINT64_MAX;
	int still = 0;

	memset(&st, 0, sizeof st);
	while (still < 3 && h_now_ms() - t0 < (uint64_t)h_ms(60000)) {
		h_sleep_ms(1000);
		if (net_status(p, &st) != 0)
			continue;
		still = st.outbox == prev && st.outbox < FLOOD ? still + 1 : 0;
		prev = st.outbox;
	}
	return st.outbox;
}

static void b_to_c(struct net *n, onestop_t *cb, struct net_proc *c, onestop_t **cc, uint64_t first,
		   size_t count, const char *when)
{
	struct msgs_rx rx;
	uint64_t t0;
	int rc;

	rc = msgs_send(cb, "c", TYPE, 2, first, count, 1, MID, 3600, NULL);
	H_CHECK(n, rc == 0, "b sent %zu messages of 200 KiB to c %s (rc %d)", count, when, rc);
	memset(&rx, 0, sizeof rx);
	rx.stream = 2;
	rx.first = first;
	rx.count = count;
	rx.origin = "b";
	t0 = h_now_ms();
	rc = msgs_recv(c, cc, &rx, h_ms(15000));
	H_CHECK(n, rc == 0, "c received b's %zu messages of 200 KiB %s, in %llu ms (%s)", count,
		when, (unsigned long long)(h_now_ms() - t0), rx.problem);
	msgs_rx_clear(&rx);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *x, *b, *c;
	onestop_t *cx = NULL, *cb = NULL, *cc = NULL;
	uint64_t held, held2;
	int rc;

	memset(&o, 0, sizeof o);
	o.hub_conf[0] = (struct net_kv){"map_size_mb", "64"};
	o.spoke[0].name = "x";
	o.spoke[1].name = "y";
	o.spoke[2].name = "b";
	o.spoke[3].name = "c";
	n = net_make(4, &o);
	x = net_spoke(n, "x");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	net_up(n, &n->hub, 1);
	net_up(n, x, 1);
	net_up(n, b, 1);
	net_up(n, c, 1);

	H_REQUIRE(n, net_connect(x, 0, &cx) == 0, "connected to x");
	H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
	rc = msgs_send(cx, "y", TYPE, 1, 1, FLOOD, 4, BIG, 86400, NULL);
	H_REQUIRE(n, rc == 0, "x accepted %d messages of 600 KiB for offline y", FLOOD);
	held = settled_outbox(x);
	H_CHECK(n, held > 0 && held < FLOOD,
		"the hub took part of x's flood and holds the rest back: %llu of %d wait in x's "
		"outbox",
		(unsigned long long)held, FLOOD);
	/* 8 MiB share + 2 MiB hold = 10 MiB: 17 messages of 600 KiB. */
	H_CHECK(n, FLOOD - held <= 18, "x's share and hold: the hub took %llu (at most 18)",
		(unsigned long long)(FLOOD - held));

	b_to_c(n, cb, c, &cc, 1, 5, "while x is over its share");

	H_CHECK(n, proc_log_count(&n->hub, "node_over_quota node=x", 1) == 1,
		"the hub logged once that x is over its quota (%d)",
		proc_log_count(&n->hub, "node_over_quota node=x", 1));
	H_CHECK(n, proc_log_count(&n->hub, "node_over_quota node=y as=destination", 1) == 1,
		"... and once that y, as destination, is at its share (%d)",
		proc_log_count(&n->hub, "node_over_quota node=y as=destination", 1));
	H_CHECK(n, proc_log_count(x, "code=EFULL", 1) >= 1, "x's spoke was told EFULL (%d)",
		proc_log_count(x, "code=EFULL", 1));

	/* Restart the hub: its counters come back from the store. */
	H_CHECK(n, proc_stop(n, &n->hub, 0) == 0, "the hub stopped cleanly");
	net_up(n, &n->hub, 0);
	H_CHECK(n, net_spoke_ready(n, x, 1, h_ms(15000)) == 0, "x reconnected");
	H_CHECK(n, net_spoke_ready(n, b, 1, h_ms(15000)) == 0, "b reconnected");
	H_CHECK(n, net_spoke_ready(n, c, 1, h_ms(15000)) == 0, "c reconnected");
	b_to_c(n, cb, c, &cc, 6, 3, "after a restart of the hub");
	held2 = settled_outbox(x);
	/* Counters lost at the restart would let x in for another share. */
	H_CHECK(n, held2 > 0 && FLOOD - held2 <= 18,
		"after the restart x is still held back: %llu wait (before %llu)",
		(unsigned long long)held2, (unsigned long long)held);

	onestop_close(&cx);
	onestop_close(&cb);
	onestop_close(&cc);
	return net_done(&n);
}
