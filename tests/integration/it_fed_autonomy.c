/* A province without the national hub: while the national hub is down,
 * messages inside gd and inside sc flow as usual, while messages from gd to
 * sc and from sc to nat wait durably at their province hub (which is
 * killed and restarted meanwhile); once the national hub returns they all
 * arrive, once each and in order. A message that expired while waiting for
 * the national hub comes back to its origin as one dead letter, from the
 * national hub, and is never delivered. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed_harness.h"

#define N_IN 2000
#define N_X 2000
#define BODY 100
#define PER_REQ 100
#define TYPE "it.fed.autonomy"

static void send_stream(struct fed *f, struct net_proc *p, const char *to, uint32_t stream,
			size_t n, uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;

	H_REQUIRE(f->net, net_connect(p, 0, &c) == 0, "connected to %s", p->name);
	H_REQUIRE(f->net, msgs_send(c, to, TYPE, stream, 1, n, PER_REQ, BODY, 0, ids) == 0,
		  "%s sent %zu messages to %s (stream %u)", p->name, n, to, stream);
	onestop_close(&c);
}

static void rx_init(struct msgs_rx *rx, uint32_t stream, uint64_t count, const char *origin,
		    const char *to, const uint8_t (*ids)[ONESTOP_ID_LEN])
{
	memset(rx, 0, sizeof *rx);
	rx->stream = stream;
	rx->first = 1;
	rx->count = count;
	rx->origin = origin;
	rx->to = to;
	rx->type = TYPE;
	rx->ids = ids;
}

/* p receives rx's stream completely, then nothing more. */
static void expect(struct fed *f, struct net_proc *p, struct msgs_rx *rx, const char *what)
{
	struct net *n = f->net;
	onestop_t *c = NULL;
	uint64_t t0 = h_now_ms();

	H_CHECK(n, msgs_recv(p, &c, rx, h_ms(60000)) == 0,
		"%s: %s got %llu messages from %s once, in order (%s)", what, p->name,
		(unsigned long long)rx->count, rx->origin, rx->problem);
	H_CHECK(n, msgs_drain(p, &c, rx, 300) == 0 && rx->dup_acked == 0 && rx->other == 0,
		"%s: nothing more at %s (dup=%llu other=%llu)", what, p->name,
		(unsigned long long)rx->dup_acked, (unsigned long long)rx->other);
	H_CHECK(n, rx->redelivered == 0 && rx->n_dl == 0,
		"%s: nothing redelivered, no dead letter at %s", what, p->name);
	fprintf(stderr, "  %s: %llu at %s in %llu ms\n", what, (unsigned long long)rx->count,
		p->name, (unsigned long long)(h_now_ms() - t0));
	msgs_rx_clear(rx);
	onestop_close(&c);
}

int main(void)
{
	struct fed *f = fed_make(NULL);
	struct net *n = f->net;
	struct net_proc *hub = fed_proc(f, "hub"), *gdhub = fed_proc(f, "gd.hub");
	struct net_proc *gda = fed_proc(f, "gd.a"), *gdb = fed_proc(f, "gd.b");
	struct net_proc *sca = fed_proc(f, "sc.a"), *scb = fed_proc(f, "sc.b");
	struct net_proc *nat = fed_proc(f, "nat");
	uint8_t(*ids_gd)[ONESTOP_ID_LEN] = calloc(N_IN, ONESTOP_ID_LEN);
	uint8_t(*ids_sc)[ONESTOP_ID_LEN] = calloc(N_IN, ONESTOP_ID_LEN);
	uint8_t(*ids_x)[ONESTOP_ID_LEN] = calloc(N_X, ONESTOP_ID_LEN);
	uint8_t(*ids_up)[ONESTOP_ID_LEN] = calloc(N_X, ONESTOP_ID_LEN);
	struct msgs_rx rx, rx_up, rx_dl;
	uint8_t short_id[1][ONESTOP_ID_LEN];
	onestop_t *c = NULL;
	int got, k;

	H_REQUIRE(n, ids_gd && ids_sc && ids_x && ids_up, "memory for the ids");
	fed_start_all(f);

	fprintf(stderr, "the national hub goes down\n");
	proc_kill(n, hub);
	for (size_t i = 0; i < f->n_prov; i++)
		H_CHECK(n, proc_wait_log(f->prov[i].hub, "event=hub_lost", h_ms(10000)) == 0,
			"%s noticed its parent is gone", f->prov[i].hub->name);

	/* Across: queued at the province hubs. */
	send_stream(f, gda, "sc.a", 3, N_X, ids_x);
	send_stream(f, scb, "nat", 4, N_X, ids_up);

	/* One with a lifetime of a second, which runs out while it waits. */
	H_REQUIRE(n, net_connect(gdb, 0, &c) == 0, "connected to gd.b");
	H_REQUIRE(n, msgs_send(c, "sc.b", TYPE, 5, 1, 1, 1, BODY, 1, short_id) == 0,
		  "gd.b sent a message with a lifetime of 1 s to sc.b");
	onestop_close(&c);

	/* Inside each province: delivered meanwhile. */
	send_stream(f, gda, "gd.b", 1, N_IN, ids_gd);
	send_stream(f, sca, "sc.b", 2, N_IN, ids_sc);
	rx_init(&rx, 1, N_IN, "gd.a", "gd.b", (const uint8_t(*)[ONESTOP_ID_LEN])ids_gd);
	expect(f, gdb, &rx, "inside gd, national hub down");
	rx_init(&rx, 2, N_IN, "sc.a", "sc.b", (const uint8_t(*)[ONESTOP_ID_LEN])ids_sc);
	expect(f, scb, &rx, "inside sc, national hub down");

	/* Nothing across yet; the cross-province stream waits at gd.hub,
	 * also through a kill -9 of gd.hub. */
	memset(&rx, 0, sizeof rx);
	got = msgs_drain(sca, &c, &rx, 500);
	H_CHECK(n, got == 0 && rx.n_dl == 0,
		"sc.a received nothing from gd while the national hub is down (%d, %zu dead "
		"letters)",
		got, rx.n_dl);
	msgs_rx_clear(&rx);
	onestop_close(&c);
	proc_kill(n, gdhub);
	fed_up(f, gdhub);
	H_CHECK(n, proc_alive(gda) && proc_alive(gdb), "gd's spokes run on");

	h_sleep_ms(1500); /* the short-lived message has expired by now */
	fprintf(stderr, "the national hub returns\n");
	fed_up(f, hub);
	rx_init(&rx, 3, N_X, "gd.a", "sc.a", (const uint8_t(*)[ONESTOP_ID_LEN])ids_x);
	expect(f, sca, &rx, "gd -> sc after the national hub returned");
	rx_init(&rx_up, 4, N_X, "sc.b", "nat", (const uint8_t(*)[ONESTOP_ID_LEN])ids_up);
	expect(f, nat, &rx_up, "sc -> nat after the national hub returned");

	/* The expired one: one dead letter to gd.b, signed by the hub that
	 * found it expired, and nothing at sc.b. */
	memset(&rx_dl, 0, sizeof rx_dl);
	k = msgs_wait_deadletter(gdb, &c, &rx_dl, short_id[0], h_ms(20000));
	H_CHECK(n, k >= 0 && rx_dl.dl[k].code == ONESTOP_EEXPIRED,
		"gd.b got a dead letter EEXPIRED for its expired message (%d)",
		k >= 0 ? rx_dl.dl[k].code : 0);
	H_CHECK(n, msgs_drain(gdb, &c, &rx_dl, 1500) >= 0 && rx_dl.n_dl == 1,
		"exactly one dead letter for it (%zu)", rx_dl.n_dl);
	if (k >= 0)
		fprintf(stderr, "  the expired message was refused by %s\n",
			rx_dl.dl[k].refused_by);
	msgs_rx_clear(&rx_dl);
	onestop_close(&c);
	memset(&rx_dl, 0, sizeof rx_dl);
	got = msgs_drain(scb, &c, &rx_dl, 500);
	H_CHECK(n, got == 0, "sc.b never received the expired message (%d)", got);
	msgs_rx_clear(&rx_dl);
	onestop_close(&c);

	free(ids_gd);
	free(ids_sc);
	free(ids_x);
	free(ids_up);
	return fed_done(&f);
}
