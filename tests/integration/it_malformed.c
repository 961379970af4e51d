/* Malformed input never stops a daemon:
 * - on the hub's link socket, from a client authenticated as node m:
 *   garbage, empty and multipart frames, a huge length claim, a push before
 *   Hello (LinkError EHELLO), a Hello naming another node (no Welcome),
 *   Welcome/LinkError/registry frames sent to the hub, a push with seq 0, a
 *   push of undecodable bytes (acked, dead letter EDECODE), a push with a
 *   gap, a bogus deliver ack, a 2 MiB garbage frame; then a valid push from
 *   the same session is still delivered, and only it;
 * - on the hub's port without CURVE: raw TCP garbage, a ZMTP NULL client,
 *   a CURVE client with an unregistered key;
 * - on the spoke's API socket: garbage, empty, truncated and invalid
 *   requests each get an ApiReply with a nonzero code;
 * and afterwards both daemons run and a -> b traffic works. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#include "harness.h"

#define TYPE "it.malformed"

static void alive(struct net *n, const char *after)
{
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");

	H_CHECK(n, proc_alive(&n->hub), "hub still running after %s", after);
	H_CHECK(n, proc_alive(a) && proc_alive(b), "spokes still running after %s", after);
}

static void send_push(struct raw_link *l, uint64_t seq, uint64_t prev, const uint8_t *msg,
		      size_t len)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
	Onestop__Transfer t = ONESTOP__TRANSFER__INIT;
	Onestop__Transfer *items[1] = {&t};

	t.seq = seq;
	t.prev_seq = prev;
	t.msg.data = (uint8_t *)msg;
	t.msg.len = len;
	ts.n_items = 1;
	ts.items = items;
	f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	f.push = &ts;
	raw_send_frame(l, &f);
}

static void send_welcome(struct raw_link *l)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Welcome w = ONESTOP__WELCOME__INIT;
	uint8_t epoch[16] = {1, 2, 3};

	w.protocol = 1;
	w.hub_epoch.data = epoch;
	w.hub_epoch.len = sizeof epoch;
	w.accepted_seq = 12345;
	w.window = 7;
	f.body_case = ONESTOP__LINK_FRAME__BODY_WELCOME;
	f.welcome = &w;
	raw_send_frame(l, &f);
}

static void hub_link_garbage(struct net *n, struct net_proc *m, struct net_proc *b,
			     uint8_t good_id[16], uint8_t zero_id[16])
{
	struct raw_link *l = NULL;
	uint8_t garbage[64], *big, *msg = NULL;
	static const uint8_t huge_claim[] = {0x1a, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0xff, 0x7f, 0x0a, 0x00};
	size_t len = 0;
	int rc, found, ehello;
	uint64_t seq;

	for (size_t i = 0; i < sizeof garbage; i++)
		garbage[i] = (uint8_t)(0xf7 - 13 * i);
	H_REQUIRE(n, raw_open(n, m->reg_key, "m", &l) == 0, "raw link as m");

	fprintf(stderr, "hub link, no session\n");
	raw_send(l, garbage, sizeof garbage);
	raw_send(l, "", 0);
	raw_send(l, huge_claim, sizeof huge_claim);
	zmq_send(l->sock, "part one", 8, ZMQ_SNDMORE);
	zmq_send(l->sock, garbage, sizeof garbage, 0);
	send_welcome(l);
	raw_pump(l, 300);
	H_REQUIRE(n,
		  h_sign_one(n, "m", m->reg_key, "b", TYPE, "before hello", 12, 60000, &msg, &len,
			     zero_id) == 0,
		  "signed a message as m");
	send_push(l, 1, 0, msg, len);
	for (uint64_t t0 = h_now_ms();
	     !l->err_count[-OS_EHELLO] && h_now_ms() - t0 < (uint64_t)h_ms(5000);)
		raw_pump(l, 50);
	H_CHECK(n, l->err_count[-OS_EHELLO] > 0,
		"a push before Hello gets LinkError EHELLO (%d LinkErrors, last %d %s)",
		l->n_errors, l->last_error, os_errname(l->last_error));
	H_CHECK(n, l->push_acked == 0, "the push before Hello was not acknowledged");
	free(msg);
	msg = NULL;
	alive(n, "garbage frames without a session");

	fprintf(stderr, "hub link, Hello naming another node\n");
	rc = raw_hello(l, "b", h_ms(3000));
	H_CHECK(n, rc != 0 && !l->welcomed,
		"a Hello naming b from m's key gets no Welcome (rc=%d welcomed=%d)", rc,
		l->welcomed);
	rc = raw_hello(l, "m", h_ms(10000));
	H_REQUIRE(n, rc == 0, "then a proper Hello as m is welcomed (rc=%d)", rc);
	ehello = l->err_count[-OS_EHELLO];

	fprintf(stderr, "hub link, in session\n");
	/* seq 0 breaks prev_seq <= last < seq: never accepted as a message */
	H_REQUIRE(n,
		  h_sign_one(n, "m", m->reg_key, "b", TYPE, "seq zero", 8, 60000, &msg, &len,
			     zero_id) == 0,
		  "signed a message as m");
	send_push(l, 0, 0, msg, len);
	free(msg);
	msg = NULL;
	/* undecodable bytes as a message: acked, dead-lettered EDECODE */
	H_REQUIRE(n, raw_push(l, garbage, sizeof garbage, &seq) == 0, "pushed garbage as seq 1");
	rc = raw_wait_push_ack(l, seq, h_ms(10000));
	H_CHECK(n, rc == 0, "the undecodable push was acknowledged (push_acked=%llu)",
		(unsigned long long)l->push_acked);
	found = 0;
	for (uint64_t t0 = h_now_ms(); !found && h_now_ms() - t0 < (uint64_t)h_ms(10000);) {
		raw_pump(l, 100);
		for (size_t i = 0; i < l->n_dl; i++)
			if (l->dl[i].code == OS_EDECODE)
				found = 1;
	}
	H_CHECK(n, found, "a dead letter EDECODE came back for the undecodable push");
	{
		/* a gap (prev_seq 50 > last 1) is ignored, not acked */
		uint8_t *gm = NULL;
		size_t gl = 0;
		uint8_t gid[16];

		H_REQUIRE(n,
			  h_sign_one(n, "m", m->reg_key, "b", TYPE, "gap", 3, 60000, &gm, &gl,
				     gid) == 0,
			  "signed a message as m");
		send_push(l, 100, 50, gm, gl);
		free(gm);
		raw_pump(l, 500);
		H_CHECK(n, l->push_acked < 100, "a push after a gap is not acked (push_acked=%llu)",
			(unsigned long long)l->push_acked);
	}
	{
		Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
		Onestop__Transfers empty = ONESTOP__TRANSFERS__INIT;
		Onestop__Ack ack = ONESTOP__ACK__INIT;
		Onestop__LinkError le = ONESTOP__LINK_ERROR__INIT;
		uint8_t epoch[16] = {9};

		f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
		f.push = &empty;
		raw_send_frame(l, &f);
		ack.seq = 999999999;
		ack.epoch.data = epoch;
		ack.epoch.len = sizeof epoch;
		f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
		f.deliver_ack = &ack;
		raw_send_frame(l, &f);
		f.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
		f.registry.data = garbage;
		f.registry.len = sizeof garbage;
		raw_send_frame(l, &f);
		le.code = -19;
		le.message = "from a test client";
		f.body_case = ONESTOP__LINK_FRAME__BODY_ERROR;
		f.error = &le;
		raw_send_frame(l, &f);
		send_welcome(l);
		f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER;
		f.deliver = &empty;
		raw_send_frame(l, &f);
	}
	big = malloc(2u << 20);
	H_REQUIRE(n, big != NULL, "memory");
	for (size_t i = 0; i < (2u << 20); i++)
		big[i] = (uint8_t)(i * 7 + 3);
	raw_send(l, big, 2u << 20);
	free(big);
	raw_pump(l, 500);
	alive(n, "malformed frames in a session");

	/* the session still works: a valid push is accepted and delivered
	 * (should the hub have ended the session over the garbage, it says
	 * EHELLO and a new Hello must be welcomed) */
	if (l->err_count[-OS_EHELLO] > ehello) {
		fprintf(stderr, "  note: the hub ended m's session over malformed frames\n");
		rc = raw_hello(l, "m", h_ms(10000));
		H_CHECK(n, rc == 0, "the hub welcomes m again (%d)", rc);
		l->push_seq = l->push_acked;
	}
	H_REQUIRE(n,
		  h_sign_one(n, "m", m->reg_key, "b", TYPE, "valid after garbage", 19, 60000, &msg,
			     &len, good_id) == 0,
		  "signed a message as m");
	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed a valid message");
	rc = raw_wait_push_ack(l, seq, h_ms(10000));
	H_CHECK(n, rc == 0, "the valid push (seq %llu) was acknowledged (push_acked=%llu)",
		(unsigned long long)seq, (unsigned long long)l->push_acked);
	free(msg);
	raw_pump(l, 300);
	raw_close(&l);
	(void)b;
}

/* Only the valid message from m reaches b. */
static void check_b_got_only(struct net *n, struct net_proc *b, const uint8_t good_id[16],
			     const uint8_t zero_id[16])
{
	onestop_t *c = NULL;
	int good = 0, zero = 0, other = 0;
	uint64_t t0 = h_now_ms();

	H_REQUIRE(n, net_connect(b, 0, &c) == 0, "connected to b");
	while (h_now_ms() - t0 < (uint64_t)h_ms(10000) && !(good && h_now_ms() - t0 > 2000)) {
		onestop_msg_t *m = NULL;
		size_t k = 0;

		if (onestop_recv(c, 100, 300, &m, &k) != 0)
			break;
		for (size_t i = 0; i < k; i++) {
			if (memcmp(m[i].id, good_id, 16) == 0)
				good++;
			else if (memcmp(m[i].id, zero_id, 16) == 0)
				zero++;
			else
				other++;
			onestop_ack(c, &m[i].seq, 1);
		}
		onestop_msgs_free(&m, k);
	}
	H_CHECK(n, good == 1, "b received the valid message from m once (%d)", good);
	H_CHECK(n, zero == 0, "b never received the seq-0 push (%d)", zero);
	H_CHECK(n, other == 0, "b received nothing else (%d)", other);
	onestop_close(&c);
}

static void hub_port_strangers(struct net *n)
{
	struct sockaddr_in sa;
	static const char http[] = "GET / HTTP/1.0\r\n\r\n";
	uint8_t greeting[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L'};
	uint8_t junk[4096];
	int zap0 = proc_log_count(&n->hub, "zap_denied", 0);

	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (uint8_t)(i * 31 + 17);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)n->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	for (int round = 0; round < 3; round++) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		H_REQUIRE(n, fd >= 0, "tcp socket");
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
			ssize_t w;

			if (round == 0)
				w = write(fd, http, sizeof http - 1);
			else if (round == 1)
				w = write(fd, greeting, sizeof greeting);
			else
				w = write(fd, junk, sizeof junk);
			(void)w;
			h_sleep_ms(100);
			w = write(fd, junk, sizeof junk);
			(void)w;
		}
		close(fd);
	}
	{
		/* ZMTP with the NULL mechanism, and CURVE with an unknown key */
		void *ctx = zmq_ctx_new();
		void *s1 = zmq_socket(ctx, ZMQ_DEALER);
		void *s2 = zmq_socket(ctx, ZMQ_DEALER);
		char pub[41], sec[41], hub_pub[41];
		uint8_t hub_bpk[32], hub_spk[32];
		char pubfile[H_PATH + 8];
		int zero = 0;

		snprintf(pubfile, sizeof pubfile, "%s.pub", n->hub.reg_key);
		H_REQUIRE(n, crypto_pubfile_read(pubfile, hub_spk, hub_bpk) == 0, "hub public key");
		zmq_z85_encode(hub_pub, hub_bpk, 32);
		zmq_curve_keypair(pub, sec);
		zmq_setsockopt(s1, ZMQ_LINGER, &zero, sizeof zero);
		zmq_setsockopt(s2, ZMQ_LINGER, &zero, sizeof zero);
		zmq_setsockopt(s2, ZMQ_CURVE_SERVERKEY, hub_pub, 40);
		zmq_setsockopt(s2, ZMQ_CURVE_PUBLICKEY, pub, 40);
		zmq_setsockopt(s2, ZMQ_CURVE_SECRETKEY, sec, 40);
		zmq_connect(s1, n->hub_endpoint);
		zmq_connect(s2, n->hub_endpoint);
		zmq_send(s1, "hello", 5, ZMQ_DONTWAIT);
		zmq_send(s2, "hello", 5, ZMQ_DONTWAIT);
		{
			zmq_pollitem_t it[2] = {{.socket = s1, .events = ZMQ_POLLIN},
						{.socket = s2, .events = ZMQ_POLLIN}};
			int r = zmq_poll(it, 2, 1500);

			H_CHECK(n, r == 0, "no answer to unauthenticated clients (%d)", r);
		}
		zmq_close(s1);
		zmq_close(s2);
		zmq_ctx_term(ctx);
	}
	H_CHECK(n,
		proc_wait_log(&n->hub, "zap_denied", h_ms(5000)) == 0 &&
			proc_log_count(&n->hub, "zap_denied", 0) > zap0,
		"hub logged zap_denied for the unknown CURVE key");
	alive(n, "strangers on the hub port");
}

/* Send one raw frame to the spoke's API; expect an ApiReply with a nonzero
 * code (and request_id want_id when >= 0). */
static void api_expect_error(struct net *n, void *s, const void *buf, size_t len, long long want_id,
			     const char *what)
{
	zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
	Onestop__ApiReply *rep = NULL;
	int r;

	zmq_send(s, buf, len, 0);
	r = zmq_poll(&it, 1, h_ms(5000));
	if (r == 1) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, s, 0) >= 0)
			rep = onestop__api_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		zmq_msg_close(&m);
	}
	H_CHECK(n, rep != NULL, "spoke API answers %s with an ApiReply", what);
	if (rep) {
		H_CHECK(n, rep->code != 0 && rep->message && rep->message[0],
			"%s: nonzero code %d (%s) with a message \"%s\"", what, rep->code,
			onestop_strerror(rep->code), rep->message ? rep->message : "");
		if (want_id >= 0)
			H_CHECK(n, rep->request_id == (uint64_t)want_id,
				"%s: request_id %llu echoed (%llu)", what,
				(unsigned long long)want_id, (unsigned long long)rep->request_id);
		onestop__api_reply__free_unpacked(rep, NULL);
	}
}

static size_t pack_req(const Onestop__ApiRequest *r, uint8_t *buf, size_t size)
{
	size_t len = onestop__api_request__get_packed_size(r);

	if (len > size)
		return 0;
	return onestop__api_request__pack(r, buf);
}

static void api_garbage(struct net *n, struct net_proc *a)
{
	void *ctx = zmq_ctx_new();
	void *s = zmq_socket(ctx, ZMQ_DEALER);
	static const uint8_t bad_wire[] = {0x07, 0xff, 0xff, 0xff, 0x0f, 0x01};
	uint8_t buf[4096], payload[200];
	int zero = 0;
	size_t len;

	memset(payload, 'x', sizeof payload);
	zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
	H_REQUIRE(n, zmq_connect(s, a->api) == 0, "DEALER to a's API");

	api_expect_error(n, s, bad_wire, sizeof bad_wire, -1, "garbage bytes");
	api_expect_error(n, s, "", 0, -1, "an empty frame");
	{
		Onestop__ApiRequest r = ONESTOP__API_REQUEST__INIT;
		Onestop__SendRequest sr = ONESTOP__SEND_REQUEST__INIT;
		Onestop__Outgoing o = ONESTOP__OUTGOING__INIT;
		Onestop__Outgoing *msgs[1] = {&o};

		o.destination = "b";
		o.type = TYPE;
		o.payload.data = payload;
		o.payload.len = sizeof payload;
		sr.n_messages = 1;
		sr.messages = msgs;
		r.request_id = 5;
		r.op_case = ONESTOP__API_REQUEST__OP_SEND;
		r.send = &sr;
		len = pack_req(&r, buf, sizeof buf);
		H_REQUIRE(n, len > 20, "packed a Send request");
		api_expect_error(n, s, buf, len / 2, -1, "a truncated Send request");

		o.destination = "Not A Node!";
		r.request_id = 6;
		len = pack_req(&r, buf, sizeof buf);
		api_expect_error(n, s, buf, len, 6, "a Send to a malformed destination");

		o.destination = "b";
		o.type = "bad type with spaces";
		r.request_id = 7;
		len = pack_req(&r, buf, sizeof buf);
		api_expect_error(n, s, buf, len, 7, "a Send with a malformed type");

		sr.n_messages = 0;
		r.request_id = 8;
		len = pack_req(&r, buf, sizeof buf);
		api_expect_error(n, s, buf, len, 8, "a Send of no messages");
	}
	{
		Onestop__ApiRequest r = ONESTOP__API_REQUEST__INIT;

		r.request_id = 77;
		len = pack_req(&r, buf, sizeof buf);
		api_expect_error(n, s, buf, len, 77, "a request with no operation");
	}
	{
		/* multipart: not a request; the spoke may drop it but must live */
		zmq_send(s, "one", 3, ZMQ_SNDMORE);
		zmq_send(s, "two", 3, 0);
		h_sleep_ms(200);
		while (1) {
			zmq_msg_t m;

			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			zmq_msg_close(&m);
		}
	}
	zmq_close(s);
	zmq_ctx_term(ctx);
	alive(n, "garbage on the spoke API");
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *m;
	onestop_t *ca = NULL, *cb = NULL;
	struct msgs_rx rx;
	uint8_t good_id[16], zero_id[16];

	memset(&o, 0, sizeof o);
	o.spoke[2].name = "m"; /* registered; never started: the raw client uses its key */
	n = net_make(3, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	m = net_spoke(n, "m");
	net_up(n, &n->hub, 1);
	net_up(n, a, 1);
	net_up(n, b, 1);

	hub_link_garbage(n, m, b, good_id, zero_id);
	check_b_got_only(n, b, good_id, zero_id);
	hub_port_strangers(n);
	api_garbage(n, a);

	fprintf(stderr, "traffic after all that\n");
	H_REQUIRE(n, net_spoke_ready(n, a, 1, h_ms(10000)) == 0, "a still hub_connected");
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_CHECK(n, msgs_send(ca, "b", TYPE, 4, 1, 50, 25, 300, 0, NULL) == 0, "a sent 50 to b");
	memset(&rx, 0, sizeof rx);
	rx.stream = 4;
	rx.first = 1;
	rx.count = 50;
	rx.origin = "a";
	H_CHECK(n, msgs_recv(b, &cb, &rx, 60000) == 0, "b received all 50 in order (%s)",
		rx.problem);
	H_CHECK(n, rx.other == 0 && rx.n_dl == 0, "nothing else at b");
	msgs_rx_clear(&rx);
	alive(n, "the whole test");
	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
