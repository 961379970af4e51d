/* Dead letters come back to the sending app, signed, with the refused
 * message's id and the right code:
 * (a) a message with ttl 1 s waits in a's outbox while the hub is down for
 *     2.5 s: EEXPIRED;
 * (b) 200 KiB accepted by the spoke while the hub is down (its own
 *     max_message_bytes and hub_max_message_bytes are 4 MiB) but over the
 *     hub's max_message_bytes (64 KiB): ETOOBIG, refused by the hub; once
 *     the hub's Welcome has told the spoke its limit, the spoke refuses
 *     such a Send itself;
 * (c) destination "no.such.node": EUNKNOWN, refused by the hub;
 * (d) a type outside a's allowed types in the registry: ENOTALLOWED;
 * (e) a message with ttl 1 s queued at the hub for b while b is down for
 *     2.5 s: EEXPIRED;
 * and none of them reaches b (or anyone else). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.deadletter"

static void send_one(struct net *n, onestop_t *c, const char *to, size_t body, uint32_t ttl,
		     uint64_t seq, uint8_t id[ONESTOP_ID_LEN])
{
	uint8_t ids[1][ONESTOP_ID_LEN];

	H_REQUIRE(n, msgs_send(c, to, TYPE, 9, seq, 1, 1, body, ttl, ids) == 0,
		  "a's spoke accepted the message to %s (%zu bytes, ttl %u)", to, body, ttl);
	memcpy(id, ids[0], ONESTOP_ID_LEN);
}

static void expect_dl(struct net *n, struct net_proc *a, onestop_t **c, struct msgs_rx *rx,
		      const uint8_t *id, const char *to, int code, int from_hub, const char *what)
{
	int k = msgs_wait_deadletter(a, c, rx, id, h_ms(30000));

	H_CHECK(n, k >= 0, "%s: a's app received a %s about id %s", what, ONESTOP_DEADLETTER_TYPE,
		h_idhex(id));
	if (k < 0)
		return;
	H_CHECK(n, rx->dl[k].code == code, "%s: code %d (%s), want %d (%s)", what, rx->dl[k].code,
		onestop_strerror(rx->dl[k].code), code, onestop_strerror(code));
	H_CHECK(n, strcmp(rx->dl[k].to, to) == 0 && strcmp(rx->dl[k].type, TYPE) == 0,
		"%s: names the refused destination and type (to=%s type=%s)", what, rx->dl[k].to,
		rx->dl[k].type);
	if (from_hub)
		H_CHECK(n,
			strcmp(rx->dl_origin[k], "hub") == 0 &&
				strcmp(rx->dl[k].refused_by, "hub") == 0,
			"%s: refused and signed by the hub (origin=%s refused_by=%s)", what,
			rx->dl_origin[k], rx->dl[k].refused_by);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b;
	onestop_t *ca = NULL, *cb = NULL;
	struct msgs_rx rx, rb;
	onestop_status_t st;
	uint8_t id_exp[16], id_big[16], id_unk[16], id_exp2[16];
	int got;

	memset(&o, 0, sizeof o);
	o.hub_conf[0] = (struct net_kv){"max_message_bytes", "65536"};
	o.spoke[0].conf[0] = (struct net_kv){"max_message_bytes", "4194304"};
	o.spoke[0].conf[1] = (struct net_kv){"hub_max_message_bytes", "4194304"};
	o.spoke[0].allow_types[0] = "it.*";
	n = net_make(2, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	memset(&rx, 0, sizeof rx);

	fprintf(stderr, "(a) expired in the outbox while the hub is down\n");
	net_up(n, a, 0);
	net_up(n, b, 0);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	send_one(n, ca, "b", 100, 1, 1, id_exp);
	send_one(n, ca, "b", 200 * 1024, 0, 2, id_big);
	h_sleep_ms(2500);
	net_up(n, &n->hub, 1);
	expect_dl(n, a, &ca, &rx, id_exp, "b", ONESTOP_EEXPIRED, 0, "expired");

	fprintf(stderr, "(b) too big for the hub\n");
	H_REQUIRE(n, net_spoke_ready(n, a, 1, h_ms(30000)) == 0, "a hub_connected");
	expect_dl(n, a, &ca, &rx, id_big, "b", ONESTOP_ETOOBIG, 1, "oversized");
	{
		uint8_t *p = calloc(1, 200 * 1024);
		onestop_out_t m = {.to = "b", .type = TYPE, .payload = p, .len = 200 * 1024};
		int rc = p ? onestop_send(ca, &m, 1, NULL) : ONESTOP_ENOMEM;

		H_CHECK(n, rc == ONESTOP_ETOOBIG,
			"with the hub's limit known, a's spoke refuses 200 KiB at Send (%d %s)", rc,
			onestop_last_error(ca));
		free(p);
	}

	fprintf(stderr, "(c) unknown destination\n");
	send_one(n, ca, "no.such.node", 100, 0, 3, id_unk);
	expect_dl(n, a, &ca, &rx, id_unk, "no.such.node", ONESTOP_EUNKNOWN, 1, "unknown");

	fprintf(stderr, "(d) type not allowed for a\n");
	{
		uint8_t ids[1][ONESTOP_ID_LEN];
		onestop_out_t m = {.to = "b", .type = "gov.Application", .payload = "x", .len = 1};
		int k;

		H_REQUIRE(n, onestop_send(ca, &m, 1, ids) == 0,
			  "a's spoke accepted a gov.Application");
		k = msgs_wait_deadletter(a, &ca, &rx, ids[0], h_ms(30000));
		H_CHECK(n,
			k >= 0 && rx.dl[k].code == ONESTOP_ENOTALLOWED &&
				strcmp(rx.dl_origin[k], "hub") == 0,
			"not allowed: dead letter ENOTALLOWED from the hub (%d %s from %s)",
			k >= 0 ? rx.dl[k].code : 0,
			k >= 0 ? onestop_strerror(rx.dl[k].code) : "no dead letter",
			k >= 0 ? rx.dl_origin[k] : "-");
	}

	memset(&rb, 0, sizeof rb);
	got = msgs_drain(b, &cb, &rb, 2000);
	H_CHECK(n, got == 0, "b received none of them (got %d)", got);
	memset(&st, 0, sizeof st);
	got = net_status(b, &st);
	H_CHECK(n, got == 0 && st.received == 0 && st.inbox == 0,
		"b's status: received=%llu inbox=%llu", (unsigned long long)st.received,
		(unsigned long long)st.inbox);
	onestop_close(&cb);

	fprintf(stderr, "(e) expired in the hub's queue while b is down\n");
	H_CHECK(n, proc_stop(n, b, 0) == 0, "b stopped");
	send_one(n, ca, "b", 100, 1, 4, id_exp2);
	h_sleep_ms(2500);
	net_up(n, b, 1);
	expect_dl(n, a, &ca, &rx, id_exp2, "b", ONESTOP_EEXPIRED, 1, "expired at the hub");
	got = msgs_drain(b, &cb, &rb, 2000);
	H_CHECK(n, got == 0, "b did not receive the expired message (got %d)", got);

	H_CHECK(n, rx.n_dl == 5 && rx.other == 0,
		"a got exactly these 5 dead letters and nothing else (%zu, other=%llu)", rx.n_dl,
		(unsigned long long)rx.other);
	H_CHECK(n, proc_alive(&n->hub), "hub still running");

	msgs_rx_clear(&rx);
	msgs_rx_clear(&rb);
	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
