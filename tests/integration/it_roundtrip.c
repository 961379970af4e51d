/* Round trip through real daemons: 10,000 numbered messages from spoke a to
 * spoke b (sent 100 per request) each arrive once, in order, byte for byte,
 * with the ids Send returned; then 100 from b to a for the other way. Also:
 * a message to oneself, a 1,000,000-byte payload, two apps sharing b's
 * inbox (a leased message is not handed to another app), and a parked Recv
 * that is answered when a message arrives. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "harness.h"

#define N_AB 10000
#define N_BA 100
#define BODY 1000
#define TYPE "it.roundtrip"

static void one_way(struct net *n, struct net_proc *from, struct net_proc *to, uint32_t stream,
		    size_t count)
{
	uint8_t(*ids)[ONESTOP_ID_LEN] = calloc(count, sizeof *ids);
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
		"no further message at %s after the stream (%d more, %llu duplicates)", to->name,
		extra, (unsigned long long)rx.dup_acked);

	rc = net_wait_status(to, st_inbox_is, &zero, h_ms(5000), &st);
	H_CHECK(n, rc == 0, "%s inbox empty after acks (inbox=%llu)", to->name,
		(unsigned long long)st.inbox);
	H_CHECK(n, st.received == count, "%s status received=%llu (want %zu)", to->name,
		(unsigned long long)st.received, count);
	rc = net_wait_status(from, st_outbox_is, &zero, h_ms(10000), &st);
	H_CHECK(n, rc == 0, "%s outbox drained (outbox=%llu)", from->name,
		(unsigned long long)st.outbox);
	H_CHECK(n, st.sent == count, "%s status sent=%llu (want %zu)", from->name,
		(unsigned long long)st.sent, count);

	msgs_rx_clear(&rx);
	onestop_close(&cs);
	onestop_close(&cr);
	free(ids);
}

static void one_message(struct net *n, struct net_proc *from, struct net_proc *to, uint32_t stream,
			size_t body)
{
	onestop_t *cs = NULL, *cr = NULL;
	uint8_t ids[1][ONESTOP_ID_LEN];
	struct msgs_rx rx;
	int rc;

	H_REQUIRE(n, net_connect(from, 0, &cs) == 0, "connected to %s", from->name);
	rc = msgs_send(cs, to->name, TYPE, stream, 1, 1, 1, body, 0, ids);
	H_CHECK(n, rc == 0, "%s sent %zu bytes to %s (%d)", from->name, body + MSGS_HDR, to->name,
		rc);
	memset(&rx, 0, sizeof rx);
	rx.stream = stream;
	rx.first = 1;
	rx.count = 1;
	rx.origin = from->name;
	rx.to = to->name;
	rx.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids;
	rc = msgs_recv(to, &cr, &rx, 30000);
	H_CHECK(n, rc == 0 && rx.n_dl == 0 && rx.other == 0,
		"%s received the %zu-byte message from %s intact (%s)", to->name, body + MSGS_HDR,
		from->name, rx.problem);
	msgs_rx_clear(&rx);
	onestop_close(&cs);
	onestop_close(&cr);
}

/* Two apps on b's inbox: what one holds unacked is not handed to the other. */
static void two_apps(struct net *n, struct net_proc *a, struct net_proc *b)
{
	onestop_t *ca = NULL, *c1 = NULL, *c2 = NULL;
	onestop_msg_t *m1 = NULL, *m2 = NULL;
	size_t k1 = 0, k2 = 0;
	uint64_t hundred = 100, zero = 0, seqs[100];
	onestop_status_t st;
	int rc, overlap = 0, ours = 0;

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, msgs_send(ca, "b", TYPE, 5, 1, 100, 100, 100, 0, NULL) == 0, "a sent 100");
	rc = net_wait_status(b, st_inbox_is, &hundred, h_ms(15000), &st);
	H_REQUIRE(n, rc == 0, "all 100 in b's inbox (%llu)", (unsigned long long)st.inbox);
	H_REQUIRE(n, net_connect(b, 0, &c1) == 0 && net_connect(b, 0, &c2) == 0, "two apps on b");
	rc = onestop_recv(c1, 50, 0, &m1, &k1);
	H_CHECK(n, rc == 0 && k1 == 50, "app 1 took 50 (%d, %zu)", rc, k1);
	rc = onestop_recv(c2, 100, 0, &m2, &k2);
	H_CHECK(n, rc == 0 && k2 == 50, "app 2 was handed only the other 50 (%d, %zu)", rc, k2);
	for (size_t i = 0; i < k1; i++)
		for (size_t j = 0; j < k2; j++)
			if (m1[i].seq == m2[j].seq || memcmp(m1[i].id, m2[j].id, 16) == 0)
				overlap++;
	H_CHECK(n, overlap == 0, "no message was handed to both apps (%d)", overlap);
	for (size_t i = 0; i < k1 && i < 100; i++) {
		uint32_t s;
		uint64_t q;

		if (msgs_payload_check(m1[i].payload, m1[i].len, &s, &q) == 0 && s == 5 &&
		    q == i + 1)
			ours++;
		seqs[i] = m1[i].seq;
	}
	H_CHECK(n, ours == 50, "app 1 got the oldest 50, in order (%d)", ours);
	H_CHECK(n, k1 > 0 && m1[0].expires_ms - m1[0].created_ms == 86400000ull,
		"ttl 0 means the spoke's default_ttl_s (lifetime %llu ms)",
		k1 ? (unsigned long long)(m1[0].expires_ms - m1[0].created_ms) : 0ull);
	rc = onestop_ack(c1, seqs, k1 < 100 ? k1 : 100);
	H_CHECK(n, rc == 0, "app 1 acked (%d)", rc);
	for (size_t i = 0; i < k2 && i < 100; i++)
		seqs[i] = m2[i].seq;
	rc = onestop_ack(c2, seqs, k2 < 100 ? k2 : 100);
	H_CHECK(n, rc == 0, "app 2 acked (%d)", rc);
	rc = net_wait_status(b, st_inbox_is, &zero, h_ms(5000), &st);
	H_CHECK(n, rc == 0, "b's inbox empty (%llu)", (unsigned long long)st.inbox);
	onestop_msgs_free(&m1, k1);
	onestop_msgs_free(&m2, k2);
	onestop_close(&c1);
	onestop_close(&c2);
	onestop_close(&ca);
}

/* Send a raw ApiRequest on s and wait up to ms for its reply. */
static Onestop__ApiReply *api_call(void *s, const Onestop__ApiRequest *r, int ms)
{
	uint8_t buf[256];
	size_t len = onestop__api_request__get_packed_size(r);
	zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
	Onestop__ApiReply *rep = NULL;

	if (len > sizeof buf)
		return NULL;
	onestop__api_request__pack(r, buf);
	if (zmq_send(s, buf, len, 0) < 0)
		return NULL;
	if (zmq_poll(&it, 1, ms) == 1) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) >= 0)
			rep = onestop__api_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		zmq_msg_close(&m);
	}
	return rep;
}

/* A Recv with wait_ms is parked and answered when a message arrives, and
 * answered empty when the wait is over. */
static void parked_recv(struct net *n, struct net_proc *a, struct net_proc *b)
{
	void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
	Onestop__ApiRequest r = ONESTOP__API_REQUEST__INIT;
	Onestop__RecvRequest rr = ONESTOP__RECV_REQUEST__INIT;
	Onestop__AckRequest ar = ONESTOP__ACK_REQUEST__INIT;
	Onestop__ApiReply *rep;
	onestop_t *ca = NULL;
	uint8_t buf[256];
	size_t len;
	uint64_t t0, seq;
	int zero = 0, got;

	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	H_REQUIRE(n, zmq_connect(s, b->api) == 0, "raw app on b's API");
	t0 = h_now_ms();
	rr.max = 1;
	rr.wait_ms = 300;
	r.request_id = 1;
	r.op_case = ONESTOP__API_REQUEST__OP_RECV;
	r.recv = &rr;
	rep = api_call(s, &r, h_ms(10000));
	H_CHECK(n,
		rep && rep->code == 0 && rep->result_case == ONESTOP__API_REPLY__RESULT_RECV &&
			rep->recv->n_messages == 0 && h_now_ms() - t0 >= 250,
		"a Recv waiting 300 ms on an empty inbox is answered empty after the wait "
		"(%llu ms)",
		(unsigned long long)(h_now_ms() - t0));
	if (rep)
		onestop__api_reply__free_unpacked(rep, NULL);

	/* park a Recv for 20 s, then send */
	rr.wait_ms = 20000;
	r.request_id = 2;
	len = onestop__api_request__get_packed_size(&r);
	onestop__api_request__pack(&r, buf);
	H_REQUIRE(n, zmq_send(s, buf, len, 0) == (int)len, "parked a Recv for 20 s");
	h_sleep_ms(200);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	t0 = h_now_ms();
	H_REQUIRE(n, msgs_send(ca, "b", TYPE, 6, 1, 1, 1, 10, 77, NULL) == 0,
		  "a sent one with ttl 77 s");
	{
		zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
		zmq_msg_t m;

		rep = NULL;
		if (zmq_poll(&it, 1, 15000) == 1) {
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, s, 0) >= 0)
				rep = onestop__api_reply__unpack(NULL, zmq_msg_size(&m),
								 zmq_msg_data(&m));
			zmq_msg_close(&m);
		}
	}
	got = rep && rep->code == 0 && rep->request_id == 2 &&
	      rep->result_case == ONESTOP__API_REPLY__RESULT_RECV && rep->recv->n_messages == 1;
	H_CHECK(n, got,
		"the parked Recv was answered with the message when it arrived, "
		"%llu ms after the send, before its 20 s were up",
		(unsigned long long)(h_now_ms() - t0));
	if (got) {
		const Onestop__Incoming *in = rep->recv->messages[0];

		H_CHECK(n, in->expires_ms - in->created_ms == 77000 && strcmp(in->origin, "a") == 0,
			"it carries its 77 s lifetime and origin a (%llu ms, %s)",
			(unsigned long long)(in->expires_ms - in->created_ms), in->origin);
		seq = rep->recv->messages[0]->seq;
		ar.n_seqs = 1;
		ar.seqs = &seq;
		r.request_id = 3;
		r.op_case = ONESTOP__API_REQUEST__OP_ACK;
		r.ack = &ar;
		onestop__api_reply__free_unpacked(rep, NULL);
		rep = api_call(s, &r, h_ms(10000));
		H_CHECK(n, rep && rep->code == 0, "acked it");
	}
	if (rep)
		onestop__api_reply__free_unpacked(rep, NULL);
	onestop_close(&ca);
	zmq_close(s);
	zmq_ctx_term(ctx);
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");

	net_start_all(n);
	one_way(n, a, b, 1, N_AB);
	one_way(n, b, a, 2, N_BA);
	one_message(n, a, a, 3, 500);
	one_message(n, a, b, 4, 1000000 - MSGS_HDR);
	two_apps(n, a, b);
	parked_recv(n, a, b);
	return net_done(&n);
}
