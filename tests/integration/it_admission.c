/* Admission and origin checks at the hub:
 * (a) a spoke running with a key that is not its registered one is refused
 *     by the ZAP handler and never becomes hub_connected;
 * (b) a revoked node, and a suspended one, are refused the same way;
 * (c) a client authenticated as a that pushes an envelope signed by b as
 *     origin b gets it refused (EORIGIN, dead letter to a), and it reaches
 *     no one;
 * (d) an envelope with a forged signature or altered bytes gets EBADSIG;
 * (f) a valid envelope replayed (twice in one stream, and again from a new
 *     stream) reaches b's app once;
 * (e) afterwards a and b still exchange messages through the hub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.admission"

/* p (started) must never report hub_connected within wait_ms, and the hub
 * must log the ZAP refusal. */
static void expect_refused(struct net *n, struct net_proc *p, int zap_before, int wait_ms)
{
	uint64_t deadline;
	onestop_status_t st;
	int connected = 0, answered = 0;

	H_REQUIRE(n, proc_start(n, p) == 0, "started %s", p->name);
	H_CHECK(n, net_spoke_ready(n, p, 0, h_ms(30000)) == 0,
		"%s runs and answers status without the hub", p->name);
	deadline = h_now_ms() + (uint64_t)wait_ms;
	while (h_now_ms() < deadline) {
		memset(&st, 0, sizeof st);
		if (net_status(p, &st) == 0) {
			answered++;
			if (st.hub_connected)
				connected++;
		}
		h_sleep_ms(100);
	}
	H_CHECK(n, answered > 0 && connected == 0,
		"%s never hub_connected in %d ms (%d of %d status answers said connected)", p->name,
		wait_ms, connected, answered);
	H_CHECK(n, proc_log_count(p, "event=hub_connected", 1) == 0, "%s logged no hub_connected",
		p->name);
	H_CHECK(n, proc_log_count(&n->hub, "zap_denied", 0) > zap_before,
		"hub logged zap_denied for %s (%d lines before, %d now)", p->name, zap_before,
		proc_log_count(&n->hub, "zap_denied", 0));
	H_CHECK(n, proc_alive(&n->hub), "hub still running");
	H_CHECK(n, proc_stop(n, p, 0) == 0, "%s stopped cleanly", p->name);
}

/* Re-pack a Signed with its signature's first byte flipped. */
static int forge_signature(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	Onestop__Signed *s = onestop__signed__unpack(NULL, len, in);

	if (!s)
		return -1;
	if (s->signature.len > 0)
		s->signature.data[0] ^= 0x01;
	*out_len = onestop__signed__get_packed_size(s);
	*out = malloc(*out_len);
	if (*out)
		onestop__signed__pack(s, *out);
	onestop__signed__free_unpacked(s, NULL);
	return *out ? 0 : -1;
}

/* Re-pack a Signed whose envelope carries a different payload (same id,
 * same signature and path). */
static int alter_payload(const uint8_t *in, size_t len, uint8_t **out, size_t *out_len)
{
	static uint8_t other[] = "altered after signing";
	Onestop__Signed *s = onestop__signed__unpack(NULL, len, in);
	Onestop__Envelope *e = NULL;
	ProtobufCBinaryData keep_payload, keep_env;
	uint8_t *env = NULL;
	int rc = -1;

	*out = NULL;
	if (!s)
		return -1;
	keep_env = s->envelope;
	e = onestop__envelope__unpack(NULL, s->envelope.len, s->envelope.data);
	if (!e)
		goto out;
	keep_payload = e->payload;
	e->payload.data = other;
	e->payload.len = sizeof other - 1;
	env = malloc(onestop__envelope__get_packed_size(e));
	if (env) {
		s->envelope.len = onestop__envelope__pack(e, env);
		s->envelope.data = env;
		*out_len = onestop__signed__get_packed_size(s);
		*out = malloc(*out_len);
		if (*out) {
			onestop__signed__pack(s, *out);
			rc = 0;
		}
	}
	/* give the unpacked messages their own buffers back before freeing */
	e->payload = keep_payload;
	s->envelope = keep_env;
out:
	free(env);
	if (e)
		onestop__envelope__free_unpacked(e, NULL);
	onestop__signed__free_unpacked(s, NULL);
	return rc;
}

/* Push msg from the raw link and expect a dead letter with code about id. */
static void push_expect_dl(struct net *n, struct raw_link *l, const uint8_t *msg, size_t len,
			   const uint8_t id[16], int code, const char *what)
{
	uint64_t seq = 0;
	int k, ok;

	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed %s", what);
	ok = raw_wait_push_ack(l, seq, h_ms(10000)) == 0;
	H_CHECK(n, ok, "hub acknowledged the refused push (%s): push_acked=%llu want %llu", what,
		(unsigned long long)l->push_acked, (unsigned long long)seq);
	k = raw_wait_deadletter(l, id, h_ms(10000));
	H_CHECK(n, k >= 0, "dead letter for %s (id %s) came back to %s", what, h_idhex(id),
		l->node);
	if (k >= 0) {
		H_CHECK(n, l->dl[k].code == code, "%s: dead letter code %d (%s), want %d (%s)",
			what, l->dl[k].code, os_errname(l->dl[k].code), code, os_errname(code));
		H_CHECK(n, strcmp(l->dl_origin[k], "hub") == 0 && l->dl_verified[k],
			"%s: dead letter signed by the hub (origin %s, verified %d)", what,
			l->dl_origin[k], l->dl_verified[k]);
	}
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *c, *d;
	struct raw_link *l = NULL;
	onestop_t *ca = NULL, *cb = NULL;
	struct msgs_rx rx;
	uint8_t *msg = NULL, *bad = NULL, id[16];
	size_t len = 0, bad_len = 0;
	int zap0;

	memset(&o, 0, sizeof o);
	o.spoke[2].foreign_key = 1;      /* c: registered key != running key */
	o.spoke[3].status = "revoked";   /* d */
	o.spoke[4].status = "suspended"; /* e */
	n = net_make(5, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	d = net_spoke(n, "d");

	net_up(n, &n->hub, 1);
	net_up(n, b, 1);

	fprintf(stderr, "(a) unregistered key\n");
	zap0 = proc_log_count(&n->hub, "zap_denied", 0);
	expect_refused(n, c, zap0, 2000);

	fprintf(stderr, "(b) revoked node\n");
	zap0 = proc_log_count(&n->hub, "zap_denied", 0);
	expect_refused(n, d, zap0, 2000);
	fprintf(stderr, "(b) suspended node\n");
	zap0 = proc_log_count(&n->hub, "zap_denied", 0);
	expect_refused(n, net_spoke(n, "e"), zap0, 2000);

	fprintf(stderr, "(c) envelope of b pushed by a\n");
	H_REQUIRE(n, raw_open(n, a->reg_key, "a", &l) == 0, "raw link as a");
	H_REQUIRE(n, raw_hello(l, NULL, h_ms(10000)) == 0, "hub welcomed the raw link as a");
	H_REQUIRE(n,
		  h_sign_one(n, "b", b->reg_key, "b", TYPE, "forged origin", 13, 60000, &msg, &len,
			     id) == 0,
		  "signed an envelope as b");
	push_expect_dl(n, l, msg, len, id, OS_EORIGIN, "origin b from a");
	free(msg);
	msg = NULL;

	fprintf(stderr, "(d) forged signature and altered envelope\n");
	H_REQUIRE(n,
		  h_sign_one(n, "a", a->reg_key, "b", TYPE, "bad signature", 13, 60000, &msg, &len,
			     id) == 0,
		  "signed an envelope as a");
	H_REQUIRE(n, forge_signature(msg, len, &bad, &bad_len) == 0, "forged its signature");
	push_expect_dl(n, l, bad, bad_len, id, OS_EBADSIG, "forged signature");
	free(bad);
	bad = NULL;
	H_REQUIRE(n, alter_payload(msg, len, &bad, &bad_len) == 0, "altered its payload");
	push_expect_dl(n, l, bad, bad_len, id, OS_EBADSIG, "altered payload");
	free(bad);
	free(msg);
	bad = msg = NULL;
	fprintf(stderr, "(f) replayed envelope\n");
	H_REQUIRE(n,
		  h_sign_one(n, "a", a->reg_key, "b", TYPE, "replay me", 9, 60000, &msg, &len,
			     id) == 0,
		  "signed an envelope as a");
	for (int i = 0; i < 2; i++) {
		uint64_t seq = 0;
		int ok;

		H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed copy %d", i + 1);
		ok = raw_wait_push_ack(l, seq, h_ms(10000)) == 0;
		H_CHECK(n, ok, "copy %d acknowledged (seq %llu)", i + 1, (unsigned long long)seq);
	}
	/* let the hub take the acks of what it delivered before we go */
	raw_pump(l, 300);
	H_CHECK(n, l->n_deliver_other == 0, "nothing but dead letters was delivered to a (%d)",
		l->n_deliver_other);
	raw_close(&l);
	H_REQUIRE(n, raw_open(n, a->reg_key, "a", &l) == 0, "raw link as a, new outbox epoch");
	H_REQUIRE(n, raw_hello(l, NULL, h_ms(10000)) == 0, "welcomed again");
	{
		uint64_t seq = 0;
		int ok;

		H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed copy 3 in a new stream");
		ok = raw_wait_push_ack(l, seq, h_ms(10000)) == 0;
		H_CHECK(n, ok, "copy 3 acknowledged");
	}
	raw_pump(l, 300);
	raw_close(&l);
	{
		onestop_msg_t *m = NULL;
		size_t k = 0;
		int copies = 0, others = 0;
		uint64_t t0 = h_now_ms();

		while (h_now_ms() - t0 < 2500) {
			if (!cb && net_connect(b, 0, &cb) != 0)
				break;
			if (onestop_recv(cb, 100, 200, &m, &k) != 0)
				break;
			for (size_t i = 0; i < k; i++) {
				if (memcmp(m[i].id, id, 16) == 0 && m[i].len == 9 &&
				    memcmp(m[i].payload, "replay me", 9) == 0)
					copies++;
				else
					others++;
				onestop_ack(cb, &m[i].seq, 1);
			}
			onestop_msgs_free(&m, k);
		}
		H_CHECK(n, copies == 1, "b's app saw the replayed envelope once (%d copies)",
			copies);
		H_CHECK(n, others == 0, "b received none of the refused envelopes (%d)", others);
	}
	free(msg);
	msg = NULL;
	H_CHECK(n, proc_alive(&n->hub), "hub still running after the attacks");

	fprintf(stderr, "(e) a and b still exchange messages\n");
	net_up(n, a, 1);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_CHECK(n, msgs_send(ca, "b", TYPE, 5, 1, 100, 50, 200, 0, NULL) == 0, "a sent 100 to b");
	memset(&rx, 0, sizeof rx);
	rx.stream = 5;
	rx.first = 1;
	rx.count = 100;
	rx.origin = "a";
	H_CHECK(n, msgs_recv(b, &cb, &rx, 60000) == 0, "b received all 100 in order (%s)",
		rx.problem);
	H_CHECK(n, rx.other == 0 && rx.n_dl == 0, "b received nothing else (other=%llu dl=%zu)",
		(unsigned long long)rx.other, rx.n_dl);
	msgs_rx_clear(&rx);
	H_CHECK(n, msgs_send(cb, "a", TYPE, 6, 1, 10, 10, 200, 0, NULL) == 0, "b sent 10 to a");
	memset(&rx, 0, sizeof rx);
	rx.stream = 6;
	rx.first = 1;
	rx.count = 10;
	rx.origin = "b";
	H_CHECK(n, msgs_recv(a, &ca, &rx, 60000) == 0, "a received all 10 in order (%s)",
		rx.problem);
	msgs_rx_clear(&rx);

	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
