/* Sending while the hub is down: the spokes run without a hub, a's app
 * sends 1,000 messages and every Send returns OK into the durable outbox
 * (status outbox == 1000); once the hub starts, b receives all of them in
 * order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N 1000
#define TYPE "it.hubdown"

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	uint8_t(*ids)[ONESTOP_ID_LEN] = calloc(N, sizeof *ids);
	onestop_t *ca = NULL, *cb = NULL;
	onestop_status_t st;
	struct msgs_rx rx;
	uint64_t zero = 0;
	int rc;

	H_REQUIRE(n, ids != NULL, "memory");
	net_up(n, a, 0);
	net_up(n, b, 0);
	rc = net_status(a, &st);
	H_CHECK(n, rc == 0 && !st.hub_connected, "a runs and says hub_connected=0 without a hub");

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_CHECK(n, msgs_send(ca, "b", TYPE, 3, 1, N, 100, 500, 0, ids) == 0,
		"every Send of %d returned OK with the hub down", N);
	rc = net_status(a, &st);
	H_CHECK(n, rc == 0 && st.outbox == N && st.sent == N,
		"a's status: outbox=%llu sent=%llu (want %d)", (unsigned long long)st.outbox,
		(unsigned long long)st.sent, N);
	H_CHECK(n, !st.hub_connected, "still no hub");

	net_up(n, &n->hub, 1);
	memset(&rx, 0, sizeof rx);
	rx.stream = 3;
	rx.first = 1;
	rx.count = N;
	rx.origin = "a";
	rx.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids;
	H_CHECK(n, msgs_recv(b, &cb, &rx, 60000) == 0,
		"b received all %d once, in order, once the hub was up (%s)", N, rx.problem);
	H_CHECK(n, rx.redelivered == 0 && rx.other == 0 && rx.n_dl == 0,
		"nothing twice, nothing else (redelivered=%llu other=%llu dl=%zu)",
		(unsigned long long)rx.redelivered, (unsigned long long)rx.other, rx.n_dl);
	rc = net_wait_status(a, st_outbox_is, &zero, h_ms(10000), &st);
	H_CHECK(n, rc == 0 && st.hub_connected,
		"a connected and its outbox drained (outbox=%llu hub_connected=%d)",
		(unsigned long long)st.outbox, st.hub_connected);

	msgs_rx_clear(&rx);
	onestop_close(&ca);
	onestop_close(&cb);
	free(ids);
	return net_done(&n);
}
