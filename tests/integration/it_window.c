/* Credit windows and fan-in: with tiny windows (hub accepts 7 unacked
 * pushes, b accepts 5 unacked deliveries) a and c each send 1,500 messages
 * to b, in alternating requests; b's app receives both streams whole, each
 * in its own order (FIFO per origin and destination), nothing twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define M 1500
#define PER 50
#define TYPE "it.window"

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *c;
	onestop_t *ca = NULL, *cc = NULL, *cb = NULL;
	uint8_t(*ids_a)[ONESTOP_ID_LEN] = calloc(M, ONESTOP_ID_LEN);
	uint8_t(*ids_c)[ONESTOP_ID_LEN] = calloc(M, ONESTOP_ID_LEN);
	struct msgs_rx ra, rc_;
	int rc;

	memset(&o, 0, sizeof o);
	o.hub_conf[0] = (struct net_kv){"window", "7"};
	o.spoke[1].conf[0] = (struct net_kv){"window", "5"};
	n = net_make(3, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	H_REQUIRE(n, ids_a && ids_c, "memory");
	net_start_all(n);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0 && net_connect(c, 0, &cc) == 0,
		  "connected to a and c");
	for (uint64_t first = 1; first <= M; first += PER) {
		rc = msgs_send(ca, "b", TYPE, 21, first, PER, PER, 300, 0, ids_a + (first - 1));
		H_REQUIRE(n, rc == 0, "a sent %llu..", (unsigned long long)first);
		rc = msgs_send(cc, "b", TYPE, 22, first, PER, PER, 300, 0, ids_c + (first - 1));
		H_REQUIRE(n, rc == 0, "c sent %llu..", (unsigned long long)first);
	}

	memset(&ra, 0, sizeof ra);
	memset(&rc_, 0, sizeof rc_);
	ra.stream = 21;
	ra.first = 1;
	ra.count = M;
	ra.origin = "a";
	ra.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids_a;
	ra.batch = 7;
	rc_.stream = 22;
	rc_.first = 1;
	rc_.count = M;
	rc_.origin = "c";
	rc_.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids_c;
	ra.also = &rc_;
	rc = msgs_recv(b, &cb, &ra, 120000);
	H_CHECK(n, rc == 0, "b received both streams of %d whole and each in order (%s)", M,
		ra.problem);
	H_CHECK(n, ra.redelivered == 0 && rc_.redelivered == 0 && ra.other == 0 && ra.n_dl == 0,
		"nothing twice, nothing else (redelivered %llu/%llu other %llu dl %zu)",
		(unsigned long long)ra.redelivered, (unsigned long long)rc_.redelivered,
		(unsigned long long)ra.other, ra.n_dl);

	msgs_rx_clear(&ra);
	onestop_close(&ca);
	onestop_close(&cc);
	onestop_close(&cb);
	free(ids_a);
	free(ids_c);
	return net_done(&n);
}
