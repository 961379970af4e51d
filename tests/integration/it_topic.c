/* Topics: b and c subscribe to "supervision" in the registry, a and d do
 * not. A message from a to @supervision reaches b and c once each, in
 * order; d gets nothing. A message from subscriber b reaches c, and is not
 * sent back to b (the origin), nor to d. Last, with subscriber c offline,
 * a publishes again; b takes its copies, the hub is killed and restarted,
 * and c, once up, still gets every one (the hub keeps the message body
 * while any subscriber's reference remains, across a crash). A message to
 * a topic nobody subscribes to comes back to a as a dead letter
 * ENOSUBSCRIBER. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N_A 50
#define N_B 20
#define BODY 300
#define TYPE "it.supervision"
#define TOPIC "@supervision"

static void expect_stream(struct net *n, struct net_proc *p, const char *origin, uint32_t stream,
			  size_t count, const uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;
	struct msgs_rx rx;

	memset(&rx, 0, sizeof rx);
	rx.stream = stream;
	rx.first = 1;
	rx.count = count;
	rx.origin = origin;
	rx.to = TOPIC;
	rx.type = TYPE;
	rx.ids = ids;
	H_CHECK(n, msgs_recv(p, &c, &rx, 60000) == 0,
		"subscriber %s got all %zu %s messages from %s once, in order (%s)", p->name, count,
		TOPIC, origin, rx.problem);
	H_CHECK(n, rx.other == 0 && rx.n_dl == 0 && rx.redelivered == 0,
		"nothing else at %s (other=%llu dead letters=%zu redelivered=%llu)", p->name,
		(unsigned long long)rx.other, rx.n_dl, (unsigned long long)rx.redelivered);
	/* a second copy of any of them would be a duplicate */
	H_CHECK(n, msgs_drain(p, &c, &rx, 500) == 0 && rx.dup_acked == 0, "no second copy at %s",
		p->name);
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

/* p must receive nothing within wait_ms, and its status must agree. */
static void expect_nothing(struct net *n, struct net_proc *p, int wait_ms, uint64_t received)
{
	onestop_t *c = NULL;
	struct msgs_rx rx;
	onestop_status_t st;
	int got;

	memset(&rx, 0, sizeof rx);
	got = msgs_drain(p, &c, &rx, wait_ms);
	H_CHECK(n, got == 0, "%s received nothing in %d ms (got %d)", p->name, wait_ms, got);
	H_CHECK(n, rx.n_dl == 0, "and no dead letter (%zu)", rx.n_dl);
	memset(&st, 0, sizeof st);
	got = net_status(p, &st);
	H_CHECK(n, got == 0 && st.inbox == 0 && st.received == received,
		"%s status: inbox=%llu received=%llu (want 0 and %llu)", p->name,
		(unsigned long long)st.inbox, (unsigned long long)st.received,
		(unsigned long long)received);
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *c, *d;
	onestop_t *ca = NULL, *cb = NULL;
	uint8_t ids_a[N_A][ONESTOP_ID_LEN], ids_b[N_B][ONESTOP_ID_LEN];

	memset(&o, 0, sizeof o);
	o.spoke[1].topics[0] = "supervision";
	o.spoke[1].roles[0] = "spoke";
	o.spoke[1].roles[1] = "supervisor";
	o.spoke[2].topics[0] = "supervision";
	o.spoke[2].topics[1] = "market";
	o.spoke[3].topics[0] = "market";
	n = net_make(4, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	d = net_spoke(n, "d");
	net_start_all(n);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, msgs_send(ca, TOPIC, TYPE, 10, 1, N_A, 10, BODY, 0, ids_a) == 0,
		  "a sent %d messages to %s", N_A, TOPIC);
	expect_stream(n, b, "a", 10, N_A, (const uint8_t(*)[ONESTOP_ID_LEN])ids_a);
	expect_stream(n, c, "a", 10, N_A, (const uint8_t(*)[ONESTOP_ID_LEN])ids_a);
	/* the subscribers have theirs: give d 2 s more to show it gets none */
	expect_nothing(n, d, 2000, 0);

	H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
	H_REQUIRE(n, msgs_send(cb, TOPIC, TYPE, 11, 1, N_B, 10, BODY, 0, ids_b) == 0,
		  "b sent %d messages to %s", N_B, TOPIC);
	expect_stream(n, c, "b", 11, N_B, (const uint8_t(*)[ONESTOP_ID_LEN])ids_b);
	expect_nothing(n, b, 2000, N_A); /* its own topic message is not sent back */
	expect_nothing(n, d, 500, 0);
	expect_nothing(n, a, 500, 0); /* a publishes but does not subscribe */

	fprintf(stderr, "subscriber c offline\n");
	{
		uint8_t ids_c[N_A][ONESTOP_ID_LEN];
		int rc = proc_stop(n, c, 0);

		H_CHECK(n, rc == 0, "c stopped (%d)", rc);
		H_REQUIRE(n, msgs_send(ca, TOPIC, TYPE, 12, 1, N_A, 10, BODY, 0, ids_c) == 0,
			  "a sent %d more to %s", N_A, TOPIC);
		expect_stream(n, b, "a", 12, N_A, (const uint8_t(*)[ONESTOP_ID_LEN])ids_c);
		proc_kill(n, &n->hub);
		net_up(n, &n->hub, 1);
		net_up(n, c, 1);
		expect_stream(n, c, "a", 12, N_A, (const uint8_t(*)[ONESTOP_ID_LEN])ids_c);
	}

	fprintf(stderr, "a topic nobody subscribes to\n");
	{
		uint8_t id[1][ONESTOP_ID_LEN];
		struct msgs_rx rx;
		int k;

		memset(&rx, 0, sizeof rx);
		H_REQUIRE(n, msgs_send(ca, "@nobody", TYPE, 13, 1, 1, 1, BODY, 0, id) == 0,
			  "a sent one message to @nobody");
		k = msgs_wait_deadletter(a, &ca, &rx, id[0], h_ms(15000));
		H_CHECK(n, k >= 0 && rx.dl[k].code == ONESTOP_ENOSUBSCRIBER,
			"a's app received a dead letter ENOSUBSCRIBER about it (%d, code %d)", k,
			k >= 0 ? rx.dl[k].code : 0);
		msgs_rx_clear(&rx);
	}

	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
