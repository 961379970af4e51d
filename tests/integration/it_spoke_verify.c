/* End-to-end verification at the destination spoke: a hub that forges,
 * replays or garbles must not get anything past spoke b. The test plays
 * the hub itself (a CURVE ROUTER with the hub's key on the hub's endpoint),
 * welcomes b, and delivers in one frame: a valid message, a forged
 * signature, a replay of the first, an unknown origin, a message of a
 * signed with b's key, garbage, a valid message, an expired envelope and a
 * last valid message. b must acknowledge all of them (it has dealt with
 * them) and its app must see exactly the three valid ones, in order. Then
 * a registry with a forged signature is pushed (ignored), and a genuinely
 * newer one (adopted). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "harness.h"

#define TYPE "it.verify"

struct fake_hub {
	void *ctx;
	void *sock;
	uint8_t peer[256];
	size_t peer_len;
	uint8_t epoch[16];
	int hellos;
	char hello_node[64];
	uint64_t acked;
	uint64_t last_hb;
};

static int fh_send(struct fake_hub *h, const Onestop__LinkFrame *f)
{
	size_t len = onestop__link_frame__get_packed_size(f);
	uint8_t *buf = malloc(len ? len : 1);
	int rc = -1;

	if (!buf || !h->peer_len)
		goto out;
	onestop__link_frame__pack(f, buf);
	if (zmq_send(h->sock, h->peer, h->peer_len, ZMQ_SNDMORE) >= 0 &&
	    zmq_send(h->sock, buf, len, 0) >= 0)
		rc = 0;
out:
	free(buf);
	return rc;
}

static void fh_welcome(struct fake_hub *h)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Welcome w = ONESTOP__WELCOME__INIT;

	w.protocol = 1;
	w.hub_epoch.data = h->epoch;
	w.hub_epoch.len = sizeof h->epoch;
	w.accepted_seq = 0;
	w.window = 1000;
	f.body_case = ONESTOP__LINK_FRAME__BODY_WELCOME;
	f.welcome = &w;
	fh_send(h, &f);
}

static void fh_pump(struct fake_hub *h, int ms)
{
	uint64_t end = h_now_ms() + (uint64_t)ms;

	for (;;) {
		zmq_pollitem_t it = {.socket = h->sock, .events = ZMQ_POLLIN};
		int64_t left = (int64_t)end - (int64_t)h_now_ms();

		if (h->peer_len && h_now_ms() - h->last_hb >= 100) {
			Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
			Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;

			f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
			f.heartbeat = &hb;
			fh_send(h, &f);
			h->last_hb = h_now_ms();
		}
		if (zmq_poll(&it, 1, left <= 0 ? 0 : (left > 50 ? 50 : (long)left)) > 0) {
			uint8_t id[256], buf[65536];
			int il = zmq_recv(h->sock, id, sizeof id, ZMQ_DONTWAIT);
			int more = 0;
			size_t ml = sizeof more;
			int bl = -1;

			if (il > 0) {
				zmq_getsockopt(h->sock, ZMQ_RCVMORE, &more, &ml);
				if (more)
					bl = zmq_recv(h->sock, buf, sizeof buf, 0);
			}
			if (bl >= 0 && bl <= (int)sizeof buf) {
				Onestop__LinkFrame *f =
					onestop__link_frame__unpack(NULL, (size_t)bl, buf);

				if (f && f->body_case == ONESTOP__LINK_FRAME__BODY_HELLO) {
					memcpy(h->peer, id, (size_t)il);
					h->peer_len = (size_t)il;
					h->hellos++;
					snprintf(h->hello_node, sizeof h->hello_node, "%s",
						 f->hello->node ? f->hello->node : "");
					fh_welcome(h);
				} else if (f &&
					   f->body_case == ONESTOP__LINK_FRAME__BODY_DELIVER_ACK) {
					if (f->deliver_ack->seq > h->acked)
						h->acked = f->deliver_ack->seq;
				}
				if (f)
					onestop__link_frame__free_unpacked(f, NULL);
			}
		}
		if (left <= 0)
			return;
	}
}

static int fh_open(struct net *n, struct fake_hub *h)
{
	struct os_keypair kp;
	int one = 1, zero = 0;
	int rc = -1;

	memset(h, 0, sizeof *h);
	crypto_random(h->epoch, sizeof h->epoch);
	if (crypto_setup() != 0 || crypto_keyfile_read(n->hub.reg_key, &kp) != 0)
		return -1;
	h->ctx = zmq_ctx_new();
	h->sock = zmq_socket(h->ctx, ZMQ_ROUTER);
	if (h->sock && zmq_setsockopt(h->sock, ZMQ_LINGER, &zero, sizeof zero) == 0 &&
	    zmq_setsockopt(h->sock, ZMQ_CURVE_SERVER, &one, sizeof one) == 0 &&
	    zmq_setsockopt(h->sock, ZMQ_CURVE_SECRETKEY, kp.box_sk, 32) == 0 &&
	    zmq_bind(h->sock, n->hub_endpoint) == 0)
		rc = 0;
	crypto_keypair_wipe(&kp);
	return rc;
}

static void fh_close(struct fake_hub *h)
{
	if (h->sock)
		zmq_close(h->sock);
	if (h->ctx)
		zmq_ctx_term(h->ctx);
}

/* A copy of a packed Signed with the first signature byte flipped. */
static uint8_t *forge_sig(const uint8_t *in, size_t len, size_t *out_len)
{
	Onestop__Signed *s = onestop__signed__unpack(NULL, len, in);
	uint8_t *out = NULL;

	if (!s)
		return NULL;
	if (s->signature.len)
		s->signature.data[0] ^= 0x80;
	*out_len = onestop__signed__get_packed_size(s);
	out = malloc(*out_len);
	if (out)
		onestop__signed__pack(s, out);
	onestop__signed__free_unpacked(s, NULL);
	return out;
}

/* A registry file's bytes with the version raised but the signature kept. */
static uint8_t *forge_registry(const uint8_t *in, size_t len, size_t *out_len)
{
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, len, in);
	Onestop__Registry *r = NULL;
	ProtobufCBinaryData keep;
	uint8_t *inner = NULL, *out = NULL;

	if (!sr)
		return NULL;
	r = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data);
	if (!r)
		goto done;
	r->version += 100;
	inner = malloc(onestop__registry__get_packed_size(r));
	if (!inner)
		goto done;
	keep = sr->registry;
	sr->registry.len = onestop__registry__pack(r, inner);
	sr->registry.data = inner;
	*out_len = onestop__signed_registry__get_packed_size(sr);
	out = malloc(*out_len);
	if (out)
		onestop__signed_registry__pack(sr, out);
	sr->registry = keep;
done:
	free(inner);
	if (r)
		onestop__registry__free_unpacked(r, NULL);
	onestop__signed_registry__free_unpacked(sr, NULL);
	return out;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	*len = 0;
	if (f && buf)
		*len = fread(buf, 1, 1 << 20, f);
	if (f)
		fclose(f);
	return buf;
}

static void push_registry(struct fake_hub *h, uint8_t *bytes, size_t len)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;

	f.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
	f.registry.data = bytes;
	f.registry.len = len;
	fh_send(h, &f);
}

#define NMSG 9

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	struct fake_hub h;
	uint8_t *msg[NMSG] = {0}, ids[NMSG][16];
	size_t len[NMSG] = {0};
	static const char *const want[3] = {"one", "three", "four"};
	int want_idx[3] = {0, 6, 8};
	onestop_t *cb = NULL;
	onestop_status_t st;
	uint64_t t0, v0;
	int rc, seen = 0, wrong = 0;

	H_REQUIRE(n, fh_open(n, &h) == 0, "the test plays the hub on %s", n->hub_endpoint);
	H_REQUIRE(n, proc_start(n, b) == 0, "started b");
	t0 = h_now_ms();
	while (!h.hellos && h_now_ms() - t0 < (uint64_t)h_ms(15000))
		fh_pump(&h, 50);
	H_REQUIRE(n, h.hellos > 0 && strcmp(h.hello_node, "b") == 0,
		  "b said Hello as b (%d hellos, node %s)", h.hellos, h.hello_node);
	for (t0 = h_now_ms(); h_now_ms() - t0 < (uint64_t)h_ms(10000);) {
		fh_pump(&h, 100);
		if (net_status(b, &st) == 0 && st.hub_connected)
			break;
	}
	H_REQUIRE(n, st.hub_connected, "b is hub_connected to the fake hub");

	/* 0 valid, 1 forged signature, 2 replay of 0, 3 unknown origin,
	 * 4 a's origin signed with b's key, 5 garbage, 6 valid, 7 expired,
	 * 8 valid */
	rc = h_sign_one(n, "a", a->reg_key, "b", TYPE, "one", 3, 60000, &msg[0], &len[0], ids[0]);
	rc |= h_sign_one(n, "a", a->reg_key, "b", TYPE, "two", 3, 60000, &msg[8], &len[8], ids[1]);
	msg[1] = forge_sig(msg[8], len[8], &len[1]);
	free(msg[8]);
	msg[2] = malloc(len[0]);
	if (msg[2])
		memcpy(msg[2], msg[0], len[0]);
	len[2] = len[0];
	memcpy(ids[2], ids[0], 16);
	rc |= h_sign_one(n, "ghost", a->reg_key, "b", TYPE, "ghost", 5, 60000, &msg[3], &len[3],
			 ids[3]);
	rc |= h_sign_one(n, "a", b->reg_key, "b", TYPE, "wrong key", 9, 60000, &msg[4], &len[4],
			 ids[4]);
	msg[5] = malloc(32);
	if (msg[5])
		memset(msg[5], 0xa5, 32);
	len[5] = 32;
	rc |= h_sign_one(n, "a", a->reg_key, "b", TYPE, "three", 5, 60000, &msg[6], &len[6],
			 ids[6]);
	rc |= h_sign_one(n, "a", a->reg_key, "b", TYPE, "stale", 5, 5, &msg[7], &len[7], ids[7]);
	rc |= h_sign_one(n, "a", a->reg_key, "b", TYPE, "four", 4, 60000, &msg[8], &len[8], ids[8]);
	H_REQUIRE(n, rc == 0 && msg[1] && msg[2] && msg[5], "built the deliveries");
	h_sleep_ms(50); /* msg 7 expires */
	{
		Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
		Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
		Onestop__Transfer t[NMSG], *tp[NMSG];

		for (int i = 0; i < NMSG; i++) {
			onestop__transfer__init(&t[i]);
			t[i].seq = (uint64_t)i + 1;
			t[i].prev_seq = (uint64_t)i;
			t[i].msg.data = msg[i];
			t[i].msg.len = len[i];
			tp[i] = &t[i];
		}
		ts.n_items = NMSG;
		ts.items = tp;
		f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER;
		f.deliver = &ts;
		H_REQUIRE(n, fh_send(&h, &f) == 0, "delivered %d transfers in one frame", NMSG);
	}
	for (t0 = h_now_ms(); h.acked < NMSG && h_now_ms() - t0 < (uint64_t)h_ms(10000);)
		fh_pump(&h, 50);
	H_CHECK(n, h.acked == NMSG, "b acknowledged all %d transfers, bad ones too (acked %llu)",
		NMSG, (unsigned long long)h.acked);

	H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
	for (t0 = h_now_ms(); h_now_ms() - t0 < 2000;) {
		onestop_msg_t *m = NULL;
		size_t k = 0;

		fh_pump(&h, 10);
		if (onestop_recv(cb, 100, 100, &m, &k) != 0)
			break;
		for (size_t i = 0; i < k; i++) {
			int ok = seen < 3 && m[i].len == strlen(want[seen]) &&
				 memcmp(m[i].payload, want[seen], m[i].len) == 0 &&
				 memcmp(m[i].id, ids[want_idx[seen]], 16) == 0 &&
				 strcmp(m[i].origin, "a") == 0;

			fprintf(stderr, "  b's app got id=%s origin=%s payload=%.*s\n",
				h_idhex(m[i].id), m[i].origin, (int)(m[i].len < 20 ? m[i].len : 20),
				(const char *)m[i].payload);
			if (ok)
				seen++;
			else
				wrong++;
			onestop_ack(cb, &m[i].seq, 1);
		}
		onestop_msgs_free(&m, k);
	}
	H_CHECK(n, seen == 3 && wrong == 0,
		"b's app got exactly the 3 valid messages in order (%d right, %d wrong)", seen,
		wrong);
	onestop_close(&cb);

	/* registries: a forged one is ignored, a newer signed one adopted */
	H_REQUIRE(n, net_status(b, &st) == 0, "status of b");
	v0 = st.registry_version;
	{
		size_t fl = 0, gl = 0;
		uint8_t *file = read_all(n->registry, &fl);
		uint8_t *forged = file ? forge_registry(file, fl, &gl) : NULL;

		H_REQUIRE(n, forged != NULL, "forged a registry");
		push_registry(&h, forged, gl);
		fh_pump(&h, 1000);
		rc = net_status(b, &st);
		H_CHECK(n, rc == 0 && st.registry_version == v0,
			"b ignored a registry with a bad signature (version %llu, was %llu)",
			(unsigned long long)st.registry_version, (unsigned long long)v0);
		H_CHECK(n, proc_alive(b), "b still running");
		free(forged);
		free(file);
	}
	H_REQUIRE(n,
		  net_cli(n, NULL, "registry", "sign", "--root-key", n->root_key, "--registry",
			  n->registry, NULL) == 0,
		  "onestop registry sign (a newer version)");
	{
		size_t fl = 0;
		uint8_t *file = read_all(n->registry, &fl);

		push_registry(&h, file, fl);
		for (t0 = h_now_ms(); h_now_ms() - t0 < (uint64_t)h_ms(5000);) {
			fh_pump(&h, 100);
			if (net_status(b, &st) == 0 && st.registry_version > v0)
				break;
		}
		H_CHECK(n,
			st.registry_version > v0 && st.registry_version == net_registry_version(n),
			"b adopted the newer signed registry (version %llu, was %llu)",
			(unsigned long long)st.registry_version, (unsigned long long)v0);
		free(file);
	}

	for (int i = 0; i < NMSG; i++)
		free(msg[i]);
	rc = proc_stop(n, b, 0);
	H_CHECK(n, rc == 0, "b stopped cleanly (%d)", rc);
	fh_close(&h);
	(void)a;
	return net_done(&n);
}
