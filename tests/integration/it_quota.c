/* Flow control by quotas, with b offline:
 * - the hub's queue for b holds queue_quota (100) and a's hold a quarter
 *   more: past that (a holds its share) the hub stops acknowledging a's
 *   pushes, and the rest waits in a's outbox;
 * - a's outbox holds at most outbox_quota (500): Send fills it exactly and
 *   the next Send fails with EFULL, accepting none of its messages;
 * - once b comes up, all 500 arrive in order and a's outbox drains. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define QQ 100
#define OQ 500
#define FIRST 300
#define TYPE "it.quota"

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b;
	onestop_t *ca = NULL, *cb = NULL;
	onestop_status_t st, st2;
	struct msgs_rx rx;
	uint64_t zero = 0, t0, held;
	int rc;

	memset(&o, 0, sizeof o);
	o.hub_conf[0] = (struct net_kv){"queue_quota", "100"};
	o.spoke[0].conf[0] = (struct net_kv){"outbox_quota", "500"};
	n = net_make(2, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	net_up(n, &n->hub, 1);
	net_up(n, a, 1);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	rc = msgs_send(ca, "b", TYPE, 8, 1, FIRST, 50, 200, 0, NULL);
	H_REQUIRE(n, rc == 0, "a accepted %d messages for offline b", FIRST);

	/* the hub takes up to its quota for b, then stops acking */
	t0 = h_now_ms();
	memset(&st, 0, sizeof st);
	do {
		h_sleep_ms(200);
		st2 = st;
		net_status(a, &st);
	} while ((st.outbox != st2.outbox || st.outbox == FIRST) &&
		 h_now_ms() - t0 < (uint64_t)h_ms(15000));
	h_sleep_ms(1000);
	rc = net_status(a, &st2);
	H_CHECK(n, rc == 0 && st2.outbox == st.outbox,
		"a's outbox settled (%llu, a second later %llu)", (unsigned long long)st.outbox,
		(unsigned long long)st2.outbox);
	H_CHECK(n, st2.outbox >= FIRST - QQ - QQ / 4 && st2.outbox < FIRST,
		"the hub took some but at most queue_quota=%d and a's hold of %d for b: a's "
		"outbox holds %llu of %d",
		QQ, QQ / 4, (unsigned long long)st2.outbox, FIRST);
	held = st2.outbox;

	/* fill a's outbox to exactly outbox_quota, then one more request */
	rc = msgs_send(ca, "b", TYPE, 8, FIRST + 1, OQ - held, 50, 200, 0, NULL);
	H_CHECK(n, rc == 0, "Send of %llu more fills the outbox to outbox_quota=%d (rc %d)",
		(unsigned long long)(OQ - held), OQ, rc);
	{
		uint8_t buf[MSGS_HDR + 200];
		onestop_out_t m[3];

		for (int i = 0; i < 3; i++) {
			msgs_payload(buf, 99, (uint64_t)i, 200);
			m[i] = (onestop_out_t){.to = "b",
					       .type = TYPE,
					       .payload = buf,
					       .len = sizeof buf};
		}
		rc = onestop_send(ca, m, 3, NULL);
		H_CHECK(n, rc == ONESTOP_EFULL, "the next Send fails with EFULL (%d %s: %s)", rc,
			onestop_strerror(rc), onestop_last_error(ca));
	}
	rc = net_status(a, &st);
	H_CHECK(n, rc == 0 && st.outbox == OQ, "a's outbox holds outbox_quota=%d (%llu)", OQ,
		(unsigned long long)st.outbox);

	net_up(n, b, 1);
	memset(&rx, 0, sizeof rx);
	rx.stream = 8;
	rx.first = 1;
	rx.count = FIRST + (OQ - held);
	rx.origin = "a";
	rc = msgs_recv(b, &cb, &rx, 60000);
	H_CHECK(n, rc == 0, "b received all %llu in order once it came up (%s)",
		(unsigned long long)rx.count, rx.problem);
	H_CHECK(n, rx.other == 0 && rx.n_dl == 0, "and nothing else (other=%llu dl=%zu)",
		(unsigned long long)rx.other, rx.n_dl);
	rc = net_wait_status(a, st_outbox_is, &zero, h_ms(10000), &st);
	H_CHECK(n, rc == 0, "a's outbox drained (%llu)", (unsigned long long)st.outbox);

	msgs_rx_clear(&rx);
	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
