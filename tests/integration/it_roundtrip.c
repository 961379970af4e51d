/* Round trip through real daemons: 10,000 numbered messages from spoke a to
 * spoke b (sent 100 per request) each arrive once, in order, byte for byte,
 * with the ids Send returned; then 100 from b to a for the other way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_AB 10000
#define N_BA 100
#define BODY 1000
#define TYPE "it.roundtrip"

static void one_way(struct net *n, struct net_proc *from, struct net_proc *to,
		    uint32_t stream, size_t count)
{
	uint8_t (*ids)[ONESTOP_ID_LEN] = calloc(count, sizeof *ids);
	onestop_t *cs = NULL, *cr = NULL;
	struct msgs_rx rx;
	onestop_status_t st;
	uint64_t zero = 0;
	int extra, rc;

	H_REQUIRE(n, ids != NULL, "memory");
	H_REQUIRE(n, net_connect(from, 0, &cs) == 0, "connected to %s", from->name);
	H_REQUIRE(n, msgs_send(cs, to->name, TYPE, stream, 1, count, 100, BODY, 0, ids) == 0,
		  "%s accepted %zu messages to %s", from->name, count, to->name);

	memset(&rx, 0, sizeof rx);
	rx.stream = stream;
	rx.first = 1;
	rx.count = count;
	rx.origin = from->name;
	rx.to = to->name;
	rx.type = TYPE;
	rx.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids;
	H_CHECK(n, msgs_recv(to, &cr, &rx, 120000) == 0,
		"%s received all %zu from %s once, in order, intact (%s)", to->name, count,
		from->name, rx.problem);
	H_CHECK(n, rx.redelivered == 0, "no message was handed out twice (%llu)",
		(unsigned long long)rx.redelivered);
	H_CHECK(n, rx.other == 0 && rx.n_dl == 0,
		"nothing else arrived at %s (other=%llu dead letters=%zu)", to->name,
		(unsigned long long)rx.other, rx.n_dl);

	/* Nothing more may come: a further copy of any seq counts as a
	 * duplicate of an acked message. */
	extra = msgs_drain(to, &cr, &rx, 1000);
	H_CHECK(n, extra == 0 && rx.dup_acked == 0,
		"no further message at %s after the stream (%d more, %llu duplicates)",
		to->name, extra, (unsigned long long)rx.dup_acked);

	rc = net_wait_status(to, st_inbox_is, &zero, h_ms(5000), &st);
	H_CHECK(n, rc == 0,
		"%s inbox empty after acks (inbox=%llu)", to->name, (unsigned long long)st.inbox);
	H_CHECK(n, st.received == count, "%s status received=%llu (want %zu)", to->name,
		(unsigned long long)st.received, count);
	rc = net_wait_status(from, st_outbox_is, &zero, h_ms(10000), &st);
	H_CHECK(n, rc == 0,
		"%s outbox drained (outbox=%llu)", from->name, (unsigned long long)st.outbox);
	H_CHECK(n, st.sent == count, "%s status sent=%llu (want %zu)", from->name,
		(unsigned long long)st.sent, count);

	msgs_rx_clear(&rx);
	onestop_close(&cs);
	onestop_close(&cr);
	free(ids);
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");

	net_start_all(n);
	one_way(n, a, b, 1, N_AB);
	one_way(n, b, a, 2, N_BA);
	return net_done(&n);
}
