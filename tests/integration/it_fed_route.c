/* Routing through the hub tree (national hub, gd.hub and sc.hub, two
 * spokes under each, national spoke nat): 10,000 messages gd.a -> gd.b
 * (inside gd) and 10,000 gd.a -> sc.a (across provinces) arrive once each,
 * in order, and the national hub's counters at a clean stop show it
 * accepted exactly the cross-province ones; nat and sc.b exchange messages
 * both ways; a topic reaches its national subscribers from anywhere and
 * its province-wide subscribers only from their own province, each once; a
 * message to an unknown node of another province comes back as a dead
 * letter EUNKNOWN from that province's hub (which serves the subtree and
 * decides), and one that expires at the far
 * province hub comes back as EEXPIRED signed by that hub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed_harness.h"

#define N_ROUTE 10000
#define N_PAIR 200
#define N_TOPIC 50
#define BODY 100
#define PER_REQ 100
#define TYPE "it.fed"
#define TOPIC "@fed.news"

/* Send n numbered messages of stream from p to `to`; ids malloc'd. */
static uint8_t (*send_stream(struct fed *f, struct net_proc *p, const char *to, uint32_t stream,
			     size_t n))[ONESTOP_ID_LEN]
{
	uint8_t(*ids)[ONESTOP_ID_LEN] = calloc(n, ONESTOP_ID_LEN);
	onestop_t *c = NULL;

	H_REQUIRE(f->net, ids && net_connect(p, 0, &c) == 0, "connected to %s", p->name);
	H_REQUIRE(f->net, msgs_send(c, to, TYPE, stream, 1, n, PER_REQ, BODY, 0, ids) == 0,
		  "%s sent %zu messages to %s (stream %u)", p->name, n, to, stream);
	onestop_close(&c);
	return ids;
}

/* p receives stream (count messages from origin to `to`) once, in order,
 * and then nothing more of it. */
static void expect_stream(struct fed *f, struct net_proc *p, const char *origin, const char *to,
			  uint32_t stream, size_t count, const uint8_t (*ids)[ONESTOP_ID_LEN])
{
	struct net *n = f->net;
	onestop_t *c = NULL;
	struct msgs_rx rx;
	uint64_t t0 = h_now_ms();

	memset(&rx, 0, sizeof rx);
	rx.stream = stream;
	rx.first = 1;
	rx.count = count;
	rx.origin = origin;
	rx.to = to;
	rx.type = TYPE;
	rx.ids = ids;
	H_CHECK(n, msgs_recv(p, &c, &rx, h_ms(60000)) == 0,
		"%s got all %zu messages %s -> %s once, in order (%s)", p->name, count, origin, to,
		rx.problem);
	fprintf(stderr, "  %s: %zu messages %s -> %s in %llu ms\n", p->name, count, origin, to,
		(unsigned long long)(h_now_ms() - t0));
	H_CHECK(n, msgs_drain(p, &c, &rx, 300) == 0 && rx.dup_acked == 0 && rx.other == 0,
		"no second copy and nothing else at %s (dup=%llu other=%llu)", p->name,
		(unsigned long long)rx.dup_acked, (unsigned long long)rx.other);
	H_CHECK(n, rx.redelivered == 0 && rx.n_dl == 0, "nothing redelivered, no dead letter");
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

/* p receives nothing (message or dead letter) within wait_ms. */
static void expect_nothing(struct fed *f, struct net_proc *p, int wait_ms)
{
	onestop_t *c = NULL;
	struct msgs_rx rx;
	int got;

	memset(&rx, 0, sizeof rx);
	got = msgs_drain(p, &c, &rx, wait_ms);
	H_CHECK(f->net, got == 0 && rx.n_dl == 0, "%s received nothing (%d, %zu dead letters)",
		p->name, got, rx.n_dl);
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

/* A dead letter about id reaches p: code, refused_by and signer. */
static void expect_dl(struct fed *f, struct net_proc *p, const uint8_t *id, int code,
		      const char *by, const char *what)
{
	struct net *n = f->net;
	onestop_t *c = NULL;
	struct msgs_rx rx;
	int k;

	memset(&rx, 0, sizeof rx);
	k = msgs_wait_deadletter(p, &c, &rx, id, h_ms(30000));
	H_CHECK(n, k >= 0, "%s: a dead letter about %s reached %s", what, h_idhex(id), p->name);
	if (k >= 0) {
		H_CHECK(n, rx.dl[k].code == code, "%s: code %d (%s), want %d (%s)", what,
			rx.dl[k].code, onestop_strerror(rx.dl[k].code), code,
			onestop_strerror(code));
		H_CHECK(n, strcmp(rx.dl[k].refused_by, by) == 0 && strcmp(rx.dl_origin[k], by) == 0,
			"%s: refused and signed by %s (refused_by=%s signer=%s)", what, by,
			rx.dl[k].refused_by, rx.dl_origin[k]);
	}
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

int main(void)
{
	struct fed_opts o;
	struct fed *f;
	struct net *n;
	struct net_proc *gda, *gdb, *sca, *scb, *nat, *hub;
	uint8_t(*ids_in)[ONESTOP_ID_LEN], (*ids_x)[ONESTOP_ID_LEN];
	uint8_t(*ids)[ONESTOP_ID_LEN];
	uint64_t accepted = 0;
	int rc;

	memset(&o, 0, sizeof o);
	/* nat and sc.b hear the topic from anywhere, gd.b and sc.a only
	 * from their own province. */
	o.node[0] = (struct fed_node_opts){.name = "nat", .topics = {"fed.news"}};
	o.node[1] = (struct fed_node_opts){.name = "sc.b", .topics = {"fed.news"}};
	o.node[2] = (struct fed_node_opts){.name = "gd.b", .province_topics = {"fed.news"}};
	o.node[3] = (struct fed_node_opts){.name = "sc.a", .province_topics = {"fed.news"}};
	f = fed_make(&o);
	n = f->net;
	gda = fed_proc(f, "gd.a");
	gdb = fed_proc(f, "gd.b");
	sca = fed_proc(f, "sc.a");
	scb = fed_proc(f, "sc.b");
	nat = fed_proc(f, "nat");
	hub = fed_proc(f, "hub");
	fed_start_all(f);

	fprintf(stderr, "in-province and cross-province streams, %d each\n", N_ROUTE);
	ids_in = send_stream(f, gda, "gd.b", 1, N_ROUTE);
	ids_x = send_stream(f, gda, "sc.a", 2, N_ROUTE);
	expect_stream(f, gdb, "gd.a", "gd.b", 1, N_ROUTE, (const uint8_t(*)[ONESTOP_ID_LEN])ids_in);
	expect_stream(f, sca, "gd.a", "sc.a", 2, N_ROUTE, (const uint8_t(*)[ONESTOP_ID_LEN])ids_x);
	free(ids_in);
	free(ids_x);

	/* The national hub's counters: only the cross-province stream. */
	rc = proc_stop(n, hub, 0);
	H_CHECK(n, rc == 0, "the national hub stopped cleanly (exit %d)", rc);
	H_CHECK(n, fed_hub_counter(hub, "accepted", &accepted) == 0,
		"the national hub logged its counters (event=hub_stats accepted=N)");
	H_CHECK(n, accepted == N_ROUTE,
		"the national hub accepted exactly the %d cross-province messages (%llu)", N_ROUTE,
		(unsigned long long)accepted);
	fed_up(f, hub);
	for (size_t i = 0; i < f->n_prov; i++)
		H_REQUIRE(n, fed_wait_parent(f, f->prov[i].hub, 1, h_ms(30000)) == 0,
			  "%s is linked to the restarted national hub", f->prov[i].hub->name);

	fprintf(stderr, "a national spoke and a province spoke, both ways\n");
	ids = send_stream(f, nat, "sc.b", 3, N_PAIR);
	expect_stream(f, scb, "nat", "sc.b", 3, N_PAIR, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	free(ids);
	ids = send_stream(f, scb, "nat", 4, N_PAIR);
	expect_stream(f, nat, "sc.b", "nat", 4, N_PAIR, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	free(ids);

	fprintf(stderr, "a topic with national and province-wide subscribers\n");
	ids = send_stream(f, gda, TOPIC, 5, N_TOPIC);
	expect_stream(f, gdb, "gd.a", TOPIC, 5, N_TOPIC, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	expect_stream(f, nat, "gd.a", TOPIC, 5, N_TOPIC, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	expect_stream(f, scb, "gd.a", TOPIC, 5, N_TOPIC, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	expect_nothing(f, sca, 500);
	free(ids);
	ids = send_stream(f, sca, TOPIC, 6, N_TOPIC);
	expect_stream(f, scb, "sc.a", TOPIC, 6, N_TOPIC, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	expect_stream(f, nat, "sc.a", TOPIC, 6, N_TOPIC, (const uint8_t(*)[ONESTOP_ID_LEN])ids);
	expect_nothing(f, gdb, 500);
	free(ids);

	fprintf(stderr, "dead letters across hubs\n");
	{
		onestop_t *c = NULL;
		uint8_t id[1][ONESTOP_ID_LEN];

		H_REQUIRE(n, net_connect(gda, 0, &c) == 0, "connected to gd.a");
		H_REQUIRE(n, msgs_send(c, "sc.nosuch", TYPE, 7, 1, 1, 1, BODY, 0, id) == 0,
			  "gd.a sent a message to sc.nosuch");
		expect_dl(f, gda, id[0], ONESTOP_EUNKNOWN, "sc.hub", "unknown node in sc");

		/* Expired at sc.hub while sc.b is down. */
		H_REQUIRE(n, proc_stop(n, scb, 0) == 0, "sc.b stopped");
		H_REQUIRE(n, msgs_send(c, "sc.b", TYPE, 8, 1, 1, 1, BODY, 1, id) == 0,
			  "gd.a sent a message with ttl 1 s to sc.b");
		onestop_close(&c);
		h_sleep_ms(2500);
		fed_up(f, scb);
		expect_dl(f, gda, id[0], ONESTOP_EEXPIRED, "sc.hub", "expired at the far hub");
		expect_nothing(f, scb, 500);
	}
	return fed_done(&f);
}
