/* Exact refusals (docs/PROTOCOL.md 5.4): a client authenticated as node m
 * pushes envelopes that decode but break one rule each (a path of the
 * wrong shape, a 63-byte signature, expires_ms 0, expires before created,
 * a malformed type, a malformed destination, created an hour ahead of the
 * hub's clock, a message to a topic nobody subscribes to). Each is acked
 * and comes back as a signed dead letter naming its id with the precise
 * code; a 5-byte id comes back EDECODE naming what was read. A second
 * connection with m's key that has not said Hello is answered EHELLO to
 * every frame and cannot use m's session. Last, spoke b (clock_skew_ms 1 s)
 * drops a message the hub let through (created 60 s ahead, within the
 * hub's 5 min) and gets the valid one after it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.refusals"

struct rcase {
	const char *what;
	struct h_rawenv env;
	int code;
};

/* Push one hand-built envelope as m and check the dead letter about it. */
static void refused(struct net *n, struct net_proc *m, struct raw_link *l, const struct rcase *c)
{
	uint8_t *msg = NULL;
	size_t len = 0;
	uint64_t seq;
	int k;

	H_REQUIRE(n, h_sign_raw(n, m->reg_key, &c->env, &msg, &len) == 0, "signed %s", c->what);
	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed %s", c->what);
	free(msg);
	H_CHECK(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0,
		"%s: acknowledged (refused, dealt with)", c->what);
	k = raw_wait_deadletter(l, c->env.id, h_ms(10000));
	H_CHECK(n, k >= 0, "%s: a dead letter names its id %s", c->what, h_idhex(c->env.id));
	if (k < 0)
		return;
	H_CHECK(n, l->dl[k].code == c->code, "%s: code %d %s (want %s)", c->what, l->dl[k].code,
		os_errname(l->dl[k].code), os_errname(c->code));
	H_CHECK(n, l->dl_verified[k] && strcmp(l->dl_origin[k], "hub") == 0,
		"%s: the dead letter is signed by the hub", c->what);
}

static void malformed(struct net *n, struct net_proc *m, struct raw_link *l)
{
	static uint8_t ids[9][16];
	/* created_ms and expires_ms are offsets from the time of the push
	 * (0: now, and now + 10 min), expires_ms 1 stands for 0 */
	struct rcase cases[] = {
		{"a path of the wrong shape", {.extra_path = 1}, OS_EBADSIG},
		{"a 63-byte signature", {.sig_len = 63}, OS_EBADSIG},
		{"expires_ms 0", {.expires_ms = 1}, OS_EEXPIRED},
		/* both ahead of now (created within the skew), so only their
		 * order is wrong */
		{"expires before created",
		 {.created_ms = 240000, .expires_ms = 180000},
		 OS_EEXPIRED},
		{"a malformed type", {.type = "bad type"}, OS_EINVAL},
		{"a malformed destination", {.dest = "Not.A.Node"}, OS_ENAME},
		{"created an hour ahead",
		 {.created_ms = 3600000, .expires_ms = 7200000},
		 OS_EEXPIRED},
		{"a topic without subscriber", {.dest = "@nobody"}, OS_ENOSUBSCRIBER},
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct h_rawenv *e = &cases[i].env;
		uint64_t now = os_now_ms();

		crypto_random(ids[i], 16);
		e->id = ids[i];
		e->id_len = 16;
		e->origin = "m";
		if (!e->dest)
			e->dest = "b";
		if (!e->type)
			e->type = TYPE;
		e->created_ms += now;
		if (e->expires_ms == 1)
			e->expires_ms = 0;
		else
			e->expires_ms = now + (e->expires_ms ? e->expires_ms : 600000);
		if (!e->sig_len)
			e->sig_len = 64;
		refused(n, m, l, &cases[i]);
	}
	{
		/* An id of 5 bytes cannot name the message: EDECODE, and the
		 * reason says what was read. */
		static const uint8_t short_id[5] = {0xde, 0xad, 0xbe, 0xef, 0x01};
		uint64_t now = os_now_ms();
		struct h_rawenv e = {short_id, 5, "m", "b", TYPE, now, now + 60000, 64, 0};
		uint8_t *msg = NULL;
		size_t len = 0;
		uint64_t seq;
		int found = 0;

		H_REQUIRE(n, h_sign_raw(n, m->reg_key, &e, &msg, &len) == 0, "signed a short id");
		H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed a short id");
		free(msg);
		H_CHECK(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0, "short id: acknowledged");
		for (uint64_t t0 = h_now_ms(); !found && h_now_ms() - t0 < (uint64_t)h_ms(10000);) {
			raw_pump(l, 100);
			for (size_t i = 0; i < l->n_dl; i++)
				if (!l->dl[i].has_id && l->dl[i].code == OS_EDECODE &&
				    strstr(l->dl[i].reason, "deadbeef01") &&
				    strcmp(l->dl[i].destination, "b") == 0 &&
				    strcmp(l->dl[i].type, TYPE) == 0)
					found = 1;
		}
		H_CHECK(n, found,
			"short id: a dead letter EDECODE names the 5 bytes read, the destination "
			"and the type");
	}
}

/* A second connection with m's key that has not said Hello. */
static void second_connection(struct net *n, struct net_proc *m, struct raw_link *l)
{
	struct raw_link *l2 = NULL;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;
	uint8_t *msg = NULL, id[16];
	size_t len = 0;
	uint64_t seq;

	H_REQUIRE(n, raw_open(n, m->reg_key, "m", &l2) == 0, "a second raw link as m");
	H_REQUIRE(n,
		  h_sign_one(n, "m", m->reg_key, "b", TYPE, "second", 6, 60000, &msg, &len, id) ==
			  0,
		  "signed a message as m");
	/* continue m's push stream: the old hub took it as m's session's */
	l2->push_seq = l->push_seq;
	H_REQUIRE(n, raw_push(l2, msg, len, &seq) == 0, "pushed on the second link");
	free(msg);
	for (uint64_t t0 = h_now_ms();
	     !l2->err_count[-OS_EHELLO] && h_now_ms() - t0 < (uint64_t)h_ms(5000);)
		raw_pump(l2, 50);
	H_CHECK(n, l2->err_count[-OS_EHELLO] == 1,
		"a push on a connection that said no Hello gets EHELLO (%d)",
		l2->err_count[-OS_EHELLO]);
	H_CHECK(n, l2->push_acked == 0, "and no push_ack (%llu)",
		(unsigned long long)l2->push_acked);
	hb.now_ms = os_now_ms();
	f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
	f.heartbeat = &hb;
	raw_send_frame(l2, &f);
	for (uint64_t t0 = h_now_ms();
	     l2->err_count[-OS_EHELLO] < 2 && h_now_ms() - t0 < (uint64_t)h_ms(5000);)
		raw_pump(l2, 50);
	H_CHECK(n, l2->err_count[-OS_EHELLO] == 2, "and EHELLO again to its heartbeat (%d)",
		l2->err_count[-OS_EHELLO]);
	raw_close(&l2);
	/* m's own session is untouched: its next push is taken */
	H_REQUIRE(n,
		  h_sign_one(n, "m", m->reg_key, "b", TYPE, "first", 5, 60000, &msg, &len, id) == 0,
		  "signed a message as m");
	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed on the first link");
	free(msg);
	H_CHECK(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0,
		"the connection that said Hello still owns m's session (push %llu acked)",
		(unsigned long long)seq);
}

/* b's own clock check: created 60 s ahead passes the hub (5 min) but not
 * b (1 s); the valid message after it is received. */
static void spoke_skew(struct net *n, struct net_proc *m, struct raw_link *l, struct net_proc *b)
{
	uint64_t now = os_now_ms(), seq;
	uint8_t ahead_id[16], good_id[16], *msg = NULL;
	struct h_rawenv e = {ahead_id, 16, "m", "b", TYPE, now + 60000, now + 120000, 64, 0};
	onestop_t *c = NULL;
	size_t len = 0;
	int good = 0, ahead = 0;

	crypto_random(ahead_id, 16);
	H_REQUIRE(n, h_sign_raw(n, m->reg_key, &e, &msg, &len) == 0, "signed 60 s ahead");
	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed 60 s ahead");
	free(msg);
	H_REQUIRE(n,
		  h_sign_one(n, "m", m->reg_key, "b", TYPE, "good", 4, 60000, &msg, &len,
			     good_id) == 0,
		  "signed a message as m");
	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed a valid one");
	free(msg);
	H_CHECK(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0, "the hub took both");
	net_up(n, b, 1);
	H_REQUIRE(n, net_connect(b, 0, &c) == 0, "connected to b");
	for (uint64_t t0 = h_now_ms(); !good && h_now_ms() - t0 < (uint64_t)h_ms(20000);) {
		onestop_msg_t *ms = NULL;
		size_t k = 0;

		raw_pump(l, 0);
		if (onestop_recv(c, 10, 300, &ms, &k) != 0)
			break;
		for (size_t i = 0; i < k; i++) {
			good += memcmp(ms[i].id, good_id, 16) == 0;
			ahead += memcmp(ms[i].id, ahead_id, 16) == 0;
			onestop_ack(c, &ms[i].seq, 1);
		}
		onestop_msgs_free(&ms, k);
	}
	H_CHECK(n, good == 1 && ahead == 0,
		"b received the valid message (%d) and not the one created 60 s ahead (%d)", good,
		ahead);
	H_CHECK(n, proc_log_count(b, "code=EEXPIRED", 1) == 1,
		"b logged the one created ahead as rejected EEXPIRED");
	onestop_close(&c);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *m, *b;
	struct raw_link *l = NULL;

	memset(&o, 0, sizeof o);
	o.spoke[0].name = "b";
	o.spoke[0].conf[0].key = "clock_skew_ms";
	o.spoke[0].conf[0].value = "1000";
	o.spoke[1].name = "m"; /* registered; never started: the raw client uses its key */
	n = net_make(2, &o);
	b = net_spoke(n, "b");
	m = net_spoke(n, "m");
	H_REQUIRE(n, b && m, "spokes b and m");
	net_up(n, &n->hub, 1);
	H_REQUIRE(n, raw_open(n, m->reg_key, "m", &l) == 0, "raw link as m");
	H_REQUIRE(n, raw_hello(l, "m", h_ms(10000)) == 0, "m welcomed");

	fprintf(stderr, "malformed but readable envelopes\n");
	malformed(n, m, l);
	fprintf(stderr, "a second connection without Hello\n");
	second_connection(n, m, l);
	fprintf(stderr, "the destination spoke's clock check\n");
	spoke_skew(n, m, l, b);

	raw_close(&l);
	return net_done(&n);
}
