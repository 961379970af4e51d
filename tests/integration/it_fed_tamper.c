/* No hub can alter a message unnoticed (PROTOCOL 13.3): both province hubs
 * run as onestop-hub-tamper, gd.hub flipping a payload byte of everything
 * it queues for its parent (ONESTOP_TEST_TAMPER=up), sc.hub of everything
 * it queues for its own spokes (=down). gd.a's messages to sc.a are caught
 * by the national hub, which sends each back to gd.a as a dead letter
 * EBADSIG it signed; nat's messages to sc.a are caught by sc.a itself
 * (msg_rejected EBADSIG). sc.a's app is handed none of them, while what
 * neither hub touches (sc.a -> gd.a, gd.a -> gd.b) arrives intact. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed_harness.h"

#define N 5
#define BODY 64
#define TYPE "it.tamper"

/* Send N numbered messages of stream from p to `to`; ids into ids. */
static void send_n(struct fed *f, struct net_proc *p, const char *to, uint32_t stream,
		   uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;

	H_REQUIRE(f->net, net_connect(p, 0, &c) == 0, "connected to %s", p->name);
	H_REQUIRE(f->net, msgs_send(c, to, TYPE, stream, 1, N, N, BODY, 0, ids) == 0,
		  "%s sent %d messages to %s (stream %u)", p->name, N, to, stream);
	onestop_close(&c);
}

/* p's app receives stream (N messages origin -> to) intact, once, in
 * order, and nothing else. */
static void expect_intact(struct fed *f, struct net_proc *p, const char *origin, const char *to,
			  uint32_t stream, const uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;
	struct msgs_rx rx;

	memset(&rx, 0, sizeof rx);
	rx.stream = stream;
	rx.first = 1;
	rx.count = N;
	rx.origin = origin;
	rx.to = to;
	rx.type = TYPE;
	rx.ids = ids;
	H_CHECK(f->net, msgs_recv(p, &c, &rx, h_ms(30000)) == 0,
		"%s got the %d untouched messages %s -> %s intact, in order (%s)", p->name, N,
		origin, to, rx.problem);
	H_CHECK(f->net,
		msgs_drain(p, &c, &rx, 300) == 0 && rx.other == 0 && rx.n_dl == 0 &&
			rx.corrupt == 0,
		"nothing else reached %s (other=%llu dead letters=%zu corrupt=%llu)", p->name,
		(unsigned long long)rx.other, rx.n_dl, (unsigned long long)rx.corrupt);
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

int main(void)
{
	struct fed_opts o;
	struct fed *f;
	struct net *n;
	struct net_proc *gda, *gdb, *sca, *nat, *hub;
	uint8_t up_ids[N][ONESTOP_ID_LEN], down_ids[N][ONESTOP_ID_LEN], ids[N][ONESTOP_ID_LEN];
	onestop_t *c = NULL;
	struct msgs_rx rx;
	int found = 0, got;

	memset(&o, 0, sizeof o);
	o.node[0] = (struct fed_node_opts){.name = "gd.hub",
					   .exe = "onestop-hub-tamper",
					   .env = {"ONESTOP_TEST_TAMPER=up"}};
	o.node[1] = (struct fed_node_opts){.name = "sc.hub",
					   .exe = "onestop-hub-tamper",
					   .env = {"ONESTOP_TEST_TAMPER=down"}};
	f = fed_make(&o);
	n = f->net;
	gda = fed_proc(f, "gd.a");
	gdb = fed_proc(f, "gd.b");
	sca = fed_proc(f, "sc.a");
	nat = fed_proc(f, "nat");
	hub = fed_proc(f, "hub");
	fed_start_all(f);

	fprintf(stderr, "altered on the way up: caught by the national hub\n");
	send_n(f, gda, "sc.a", 1, up_ids);
	memset(&rx, 0, sizeof rx);
	for (int i = 0; i < N; i++) {
		int k = -1;

		for (size_t j = 0; j < rx.n_dl && k < 0; j++)
			if (memcmp(rx.dl[j].id, up_ids[i], ONESTOP_ID_LEN) == 0)
				k = (int)j;
		if (k < 0)
			k = msgs_wait_deadletter(gda, &c, &rx, up_ids[i], h_ms(30000));
		if (k >= 0 && rx.dl[k].code == ONESTOP_EBADSIG &&
		    strcmp(rx.dl[k].refused_by, "hub") == 0 && strcmp(rx.dl_origin[k], "hub") == 0)
			found++;
	}
	H_CHECK(n, found == N,
		"gd.a got a dead letter EBADSIG refused and signed by the national hub for each "
		"altered message (%d of %d)",
		found, N);
	H_CHECK(n, rx.other == 0, "and nothing else (%llu)", (unsigned long long)rx.other);
	msgs_rx_clear(&rx);
	onestop_close(&c);
	H_CHECK(n, proc_log_count(hub, "code=EBADSIG", 1) >= N,
		"the national hub logged the refusals (code=EBADSIG)");
	H_CHECK(n, proc_log_count(fed_proc(f, "gd.hub"), "event=test_tamper", 1) >= N,
		"gd.hub altered them (test_tamper)");

	fprintf(stderr, "altered on the way down: caught by the destination\n");
	send_n(f, nat, "sc.a", 2, down_ids);
	H_CHECK(n, proc_wait_log(sca, "code=EBADSIG", h_ms(30000)) == 0,
		"sc.a rejected what sc.hub altered (msg_rejected code=EBADSIG)");
	{
		uint64_t until = h_now_ms() + (uint64_t)h_ms(30000);

		while (proc_log_count(sca, "code=EBADSIG", 1) < N && h_now_ms() < until)
			h_sleep_ms(50);
	}
	H_CHECK(n, proc_log_count(sca, "event=msg_rejected", 1) >= N,
		"sc.a rejected each of the %d altered messages (%d)", N,
		proc_log_count(sca, "event=msg_rejected", 1));

	/* sc.a's app is handed none of the altered ones. */
	memset(&rx, 0, sizeof rx);
	got = msgs_drain(sca, &c, &rx, 1000);
	H_CHECK(n, got == 0 && rx.n_dl == 0,
		"sc.a's app was handed nothing altered (%d messages, %zu dead letters)", got,
		rx.n_dl);
	msgs_rx_clear(&rx);
	onestop_close(&c);

	fprintf(stderr, "untouched paths: intact\n");
	send_n(f, sca, "gd.a", 3, ids);
	expect_intact(f, gda, "sc.a", "gd.a", 3, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	send_n(f, gda, "gd.b", 4, ids);
	expect_intact(f, gdb, "gd.a", "gd.b", 4, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	return fed_done(&f);
}
