/* Unit tests for common/uplink.c, in process: the test plays the hub with a
 * real CURVE ROUTER socket on loopback and drives the link client through
 * its loop hooks over a fake layer above (an in-memory push source and
 * deliver sink whose commit the test decides). Heartbeats are 50 ms, so the
 * timing cases take a few hundred ms each; every wait has a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <zmq.h>

#include "onestop.pb-c.h"

#include "crypto.h"
#include "err.h"
#include "loop.h"
#include "uplink.h"
#include "util.h"

#define BEAT_MS 50u
#define WINDOW 8u     /* the node's deliver window: acks at 2 unacked */
#define HUB_WINDOW 4u /* the hub's push window */
#define SRC_MAX 64u
#define WAIT_MS 2000
#define ACK_DELAY_MS 5u /* uplink.c's ACK_DELAY_US */

/* ------------------------------------------------------------ the layer above */

struct fake {
	os_box_pk hub_pk;
	uint8_t push_epoch[UPLINK_EPOCH_LEN];
	uint64_t registry_version;

	/* Push source: entries src_first..src_next-1, payload "m<seq>". */
	uint64_t src_first, src_next;
	uint64_t gap; /* > 1: entry i has seq i * gap (a hub's queue keys) */
	char payload[SRC_MAX][24];
	uint64_t acked; /* highest push_acked */
	unsigned pushed;

	/* Deliver sink. */
	int has_epoch;
	uint8_t epoch[UPLINK_EPOCH_LEN];
	uint64_t last;         /* in this iteration */
	uint64_t durable_last; /* as of the last commit */
	uint64_t stored[SRC_MAX];
	size_t n_stored, n_durable;
	int hold; /* deliver answers UPLINK_HELD */

	int welcomes;
	uint64_t welcome_accepted;
	int frames; /* frames passed up */
	int dirty;
	int fail_commit; /* the next commit fails */
};

static int f_peer_key(void *ctx, os_box_pk out)
{
	struct fake *f = ctx;
	memcpy(out, f->hub_pk, sizeof(os_box_pk));
	return 0;
}

static void f_hello(void *ctx, Onestop__Hello *h)
{
	struct fake *f = ctx;
	h->registry_version = f->registry_version;
	h->outbox_epoch.data = f->push_epoch;
	h->outbox_epoch.len = UPLINK_EPOCH_LEN;
}

static int f_welcome(void *ctx, struct uplink_welcome *w, uint64_t now_us)
{
	struct fake *f = ctx;
	(void)now_us;
	w->new_epoch = !f->has_epoch || memcmp(f->epoch, w->peer_epoch, UPLINK_EPOCH_LEN) != 0;
	if (w->new_epoch) {
		memcpy(f->epoch, w->peer_epoch, UPLINK_EPOCH_LEN);
		f->has_epoch = 1;
		f->last = 0;
		f->dirty = 1;
	}
	f->welcomes++;
	f->welcome_accepted = w->accepted_seq;
	if (w->accepted_seq > f->acked)
		f->acked = w->accepted_seq;
	w->backlog = f->src_next - f->src_first;
	return 0;
}

static void f_push_acked(void *ctx, uint64_t upto, uint64_t now_us)
{
	struct fake *f = ctx;
	(void)now_us;
	if (upto > f->acked)
		f->acked = upto;
}

static int f_push_walk(void *ctx, uint64_t from, uplink_entry_fn fn, void *arg)
{
	struct fake *f = ctx;
	uint64_t g = f->gap > 1 ? f->gap : 1;
	for (uint64_t i = f->src_first; i < f->src_next; i++) {
		uint64_t s = i * g;
		char *p = f->payload[i % SRC_MAX];
		if (s < from)
			continue;
		snprintf(p, sizeof f->payload[0], "m%llu", (unsigned long long)s);
		if (fn(arg, s, (const uint8_t *)p, strlen(p)))
			break;
	}
	fn(arg, 0, NULL, 0);
	return 0;
}

static void f_pushed(void *ctx, unsigned n)
{
	((struct fake *)ctx)->pushed += n;
}

static int f_deliver_pos(void *ctx, uint64_t *last, const uint8_t **epoch)
{
	struct fake *f = ctx;
	if (!f->has_epoch)
		return OS_ENOTFOUND;
	*last = f->last;
	*epoch = f->epoch;
	return 0;
}

static int f_deliver(void *ctx, uint64_t seq, const uint8_t *msg, size_t len)
{
	struct fake *f = ctx;
	(void)msg;
	(void)len;
	if (f->hold)
		return UPLINK_HELD;
	if (f->n_stored < SRC_MAX)
		f->stored[f->n_stored++] = seq;
	f->last = seq;
	f->dirty = 1;
	return 0;
}

static int f_frame(void *ctx, const Onestop__LinkFrame *fr)
{
	(void)fr;
	((struct fake *)ctx)->frames++;
	return 0;
}

static const struct uplink_ops fake_ops = {
	.peer_key = f_peer_key,
	.hello = f_hello,
	.welcome = f_welcome,
	.push_acked = f_push_acked,
	.push_walk = f_push_walk,
	.pushed = f_pushed,
	.deliver_pos = f_deliver_pos,
	.deliver = f_deliver,
	.frame = f_frame,
};

/* ------------------------------------------------------------ the test's hub */

struct t {
	void *zctx;
	void *hub;
	char endpoint[128];
	struct os_keypair hub_kp, node_kp;
	uint8_t hub_epoch[UPLINK_EPOCH_LEN];
	uint8_t peer_id[256]; /* routing id of the link's current socket */
	size_t peer_id_len;
	uint64_t hub_beat_at;
	int hub_silent; /* the hub sends no heartbeats */
	struct fake fake;
	struct uplink *up;
	struct loop_hooks h;
};

static uint64_t now_ms(void)
{
	return os_mono_us() / 1000u;
}

/* The fake's commit: the deliver sink's last becomes durable, or goes
 * back to the durable one when the commit fails. */
static int fake_commit(struct fake *f)
{
	int rc = 0;
	if (f->fail_commit) {
		f->fail_commit = 0;
		f->last = f->durable_last;
		f->n_stored = f->n_durable;
		rc = OS_ESTORE;
	} else {
		f->durable_last = f->last;
		f->n_durable = f->n_stored;
	}
	f->dirty = 0;
	return rc;
}

/* One iteration of the node: drain, commit, after_commit, timers. */
static void node_iterate(struct t *t)
{
	t->h.drain(t->h.ctx);
	int rc = fake_commit(&t->fake);
	t->h.after_commit(t->h.ctx, rc);
	t->h.timers(t->h.ctx, os_mono_us());
}

static void hub_send(struct t *t, const Onestop__LinkFrame *f)
{
	size_t n = onestop__link_frame__get_packed_size(f);
	uint8_t *buf = malloc(n ? n : 1);
	assert_non_null(buf);
	onestop__link_frame__pack(f, buf);
	assert_true(t->peer_id_len > 0);
	assert_true(zmq_send(t->hub, t->peer_id, t->peer_id_len, ZMQ_SNDMORE) >= 0);
	assert_true(zmq_send(t->hub, buf, n, 0) >= 0);
	free(buf);
}

static void hub_heartbeat(struct t *t)
{
	Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
	f.heartbeat = &hb;
	hub_send(t, &f);
}

/* Read one frame at the hub within ms, without running the node; NULL
 * when none came. */
static Onestop__LinkFrame *hub_read(struct t *t, int ms)
{
	zmq_pollitem_t it = {.socket = t->hub, .events = ZMQ_POLLIN};
	if (zmq_poll(&it, 1, ms) <= 0)
		return NULL;
	uint8_t id[256];
	int idn = zmq_recv(t->hub, id, sizeof id, 0);
	assert_true(idn > 0);
	zmq_msg_t m;
	zmq_msg_init(&m);
	assert_true(zmq_msg_recv(&m, t->hub, 0) >= 0);
	Onestop__LinkFrame *f =
		onestop__link_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	zmq_msg_close(&m);
	assert_non_null(f);
	memcpy(t->peer_id, id, (size_t)idn);
	t->peer_id_len = (size_t)idn;
	return f;
}

/* Receive one frame at the hub if one comes within ms, running the node
 * meanwhile (and keeping it hearing from the hub unless the hub is
 * silent). The node's heartbeats are skipped. NULL when none came. */
static Onestop__LinkFrame *hub_poll(struct t *t, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;
	do {
		node_iterate(t);
		if (!t->hub_silent && t->peer_id_len > 0 && now_ms() >= t->hub_beat_at) {
			hub_heartbeat(t);
			t->hub_beat_at = now_ms() + BEAT_MS / 2;
		}
		Onestop__LinkFrame *f = hub_read(t, 2);
		if (f && f->body_case == ONESTOP__LINK_FRAME__BODY_HEARTBEAT) {
			onestop__link_frame__free_unpacked(f, NULL);
			continue;
		}
		if (f)
			return f;
	} while (now_ms() < end);
	return NULL;
}

/* Run the node (without reading at the hub) until it is UP. */
static void node_until_up(struct t *t)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (uplink_state(t->up) != UPLINK_UP && now_ms() < end) {
		node_iterate(t);
		zmq_poll(NULL, 0, 1);
	}
	assert_int_equal(uplink_state(t->up), UPLINK_UP);
}

/* Drain the node only (no commit) until its deliver sink's last is want. */
static void node_drain_until_last(struct t *t, uint64_t want)
{
	uint64_t end = now_ms() + WAIT_MS;
	while (t->fake.last != want && now_ms() < end) {
		t->h.drain(t->h.ctx);
		if (t->fake.last != want)
			zmq_poll(NULL, 0, 1);
	}
	assert_int_equal(t->fake.last, want);
}

/* The next frame of body (others are failed on), within WAIT_MS. */
static Onestop__LinkFrame *hub_expect(struct t *t, Onestop__LinkFrame__BodyCase body)
{
	Onestop__LinkFrame *f = hub_poll(t, WAIT_MS);
	if (!f)
		fail_msg("no frame (wanted body %d) within %d ms", (int)body, WAIT_MS);
	if (f->body_case != body)
		fail_msg("body %d arrived, wanted %d", (int)f->body_case, (int)body);
	return f;
}

static void hub_welcome(struct t *t, uint64_t accepted, uint32_t window)
{
	Onestop__Welcome w = ONESTOP__WELCOME__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	w.protocol = 1;
	w.hub_epoch.data = t->hub_epoch;
	w.hub_epoch.len = sizeof t->hub_epoch;
	w.accepted_seq = accepted;
	w.window = window;
	f.body_case = ONESTOP__LINK_FRAME__BODY_WELCOME;
	f.welcome = &w;
	hub_send(t, &f);
}

static void hub_ack(struct t *t, Onestop__LinkFrame__BodyCase body, uint64_t seq,
		    const uint8_t *epoch)
{
	Onestop__Ack a = ONESTOP__ACK__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	a.seq = seq;
	a.epoch.data = (uint8_t *)epoch;
	a.epoch.len = UPLINK_EPOCH_LEN;
	f.body_case = body;
	if (body == ONESTOP__LINK_FRAME__BODY_PUSH_ACK)
		f.push_ack = &a;
	else
		f.deliver_ack = &a;
	hub_send(t, &f);
}

/* Deliver transfers (seq, prev_seq) pairs. */
static void hub_deliver(struct t *t, const uint64_t (*sp)[2], size_t n)
{
	Onestop__Transfer items[8];
	Onestop__Transfer *ptrs[8];
	Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		onestop__transfer__init(&items[i]);
		items[i].seq = sp[i][0];
		items[i].prev_seq = sp[i][1];
		items[i].msg.data = (uint8_t *)"x";
		items[i].msg.len = 1;
		ptrs[i] = &items[i];
	}
	ts.items = ptrs;
	ts.n_items = n;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER;
	f.deliver = &ts;
	hub_send(t, &f);
}

static void hub_error(struct t *t, int code, const char *msg)
{
	Onestop__LinkError e = ONESTOP__LINK_ERROR__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	e.code = code;
	e.message = (char *)msg;
	f.body_case = ONESTOP__LINK_FRAME__BODY_ERROR;
	f.error = &e;
	hub_send(t, &f);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof *t);
	int one = 1, linger = 0;
	size_t len;
	assert_non_null(t);
	assert_int_equal(crypto_setup(), 0);
	crypto_keypair_new(&t->hub_kp);
	crypto_keypair_new(&t->node_kp);
	crypto_random(t->hub_epoch, sizeof t->hub_epoch);
	t->zctx = zmq_ctx_new();
	assert_non_null(t->zctx);
	t->hub = zmq_socket(t->zctx, ZMQ_ROUTER);
	assert_non_null(t->hub);
	assert_int_equal(zmq_setsockopt(t->hub, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
	assert_int_equal(zmq_setsockopt(t->hub, ZMQ_CURVE_SECRETKEY, t->hub_kp.box_sk,
					sizeof(os_box_sk)),
			 0);
	assert_int_equal(zmq_setsockopt(t->hub, ZMQ_LINGER, &linger, sizeof linger), 0);
	assert_int_equal(zmq_bind(t->hub, "tcp://127.0.0.1:*"), 0);
	len = sizeof t->endpoint;
	assert_int_equal(zmq_getsockopt(t->hub, ZMQ_LAST_ENDPOINT, t->endpoint, &len), 0);

	memcpy(t->fake.hub_pk, t->hub_kp.box_pk, sizeof(os_box_pk));
	crypto_random(t->fake.push_epoch, sizeof t->fake.push_epoch);
	t->fake.registry_version = 7;
	t->fake.src_first = t->fake.src_next = 1;

	struct uplink_conf c = {
		.zctx = t->zctx,
		.endpoint = t->endpoint,
		.peer = "hub",
		.node = "gd.sz.market",
		.kp = &t->node_kp,
		.heartbeat_ms = BEAT_MS,
		.reconnect_min_ms = 10,
		.reconnect_max_ms = 40,
		.window = WINDOW,
		.max_frame_bytes = 1 << 20,
	};
	assert_int_equal(uplink_new(&c, &fake_ops, &t->fake, &t->up), 0);
	t->h = uplink_hooks(t->up);
	assert_ptr_equal(t->h.ctx, t->up);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	uplink_destroy(&t->up);
	assert_null(t->up);
	zmq_close(t->hub);
	zmq_ctx_term(t->zctx);
	free(t);
	return 0;
}

/* Hello, then Welcome: the session is up. */
static void bring_up(struct t *t, uint64_t accepted)
{
	Onestop__LinkFrame *f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_HELLO);
	onestop__link_frame__free_unpacked(f, NULL);
	hub_welcome(t, accepted, HUB_WINDOW);
	node_until_up(t);
}

/* ------------------------------------------------------------ cases */

static void test_hello_then_welcome(void **state)
{
	struct t *t = *state;
	Onestop__LinkFrame *f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_HELLO);
	const Onestop__Hello *h = f->hello;
	assert_int_equal(h->protocol, 1);
	assert_string_equal(h->node, "gd.sz.market");
	assert_int_equal(h->registry_version, 7);
	assert_int_equal(h->window, WINDOW);
	assert_int_equal(h->outbox_epoch.len, UPLINK_EPOCH_LEN);
	assert_memory_equal(h->outbox_epoch.data, t->fake.push_epoch, UPLINK_EPOCH_LEN);
	onestop__link_frame__free_unpacked(f, NULL);
	assert_int_equal(uplink_state(t->up), UPLINK_HELLO_SENT);
	assert_non_null(uplink_socket(t->up));
	/* Nothing goes up before the session: a Deliver now is not taken. */
	hub_deliver(t, (const uint64_t[][2]){{1, 0}}, 1);
	assert_null(hub_poll(t, 3 * (int)BEAT_MS / 2));
	assert_int_equal(t->fake.n_stored, 0);

	hub_welcome(t, 0, HUB_WINDOW);
	node_until_up(t);
	assert_int_equal(t->fake.welcomes, 1);
	assert_int_equal(uplink_state(t->up), UPLINK_UP);
	assert_memory_equal(t->fake.epoch, t->hub_epoch, UPLINK_EPOCH_LEN);
	assert_int_equal(uplink_send_frame(t->up, &(Onestop__LinkFrame)ONESTOP__LINK_FRAME__INIT),
			 0);
}

/* Collect n pushed transfers (seq, prev_seq) within WAIT_MS. */
static void hub_collect_push(struct t *t, uint64_t (*got)[2], size_t n)
{
	size_t k = 0;
	while (k < n) {
		Onestop__LinkFrame *f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_PUSH);
		for (size_t i = 0; i < f->push->n_items; i++) {
			char want[24];
			const Onestop__Transfer *x = f->push->items[i];
			if (k == n)
				fail_msg("more than %zu transfers pushed", n);
			snprintf(want, sizeof want, "m%llu", (unsigned long long)x->seq);
			assert_int_equal(x->msg.len, strlen(want));
			assert_memory_equal(x->msg.data, want, x->msg.len);
			got[k][0] = x->seq;
			got[k][1] = x->prev_seq;
			k++;
		}
		onestop__link_frame__free_unpacked(f, NULL);
	}
}

static void test_push_window_acks_and_stall(void **state)
{
	struct t *t = *state;
	uint64_t got[HUB_WINDOW][2];
	t->fake.src_next = 11; /* entries 1..10 wait */
	bring_up(t, 0);

	/* The window's worth, chained by prev_seq from 0. */
	hub_collect_push(t, got, HUB_WINDOW);
	for (uint64_t i = 0; i < HUB_WINDOW; i++) {
		assert_int_equal(got[i][0], i + 1);
		assert_int_equal(got[i][1], i);
	}
	/* Never more than the window unacknowledged (within less than the
	 * retransmit timeout). */
	assert_null(hub_poll(t, (int)BEAT_MS));

	/* An ack of another epoch releases nothing. */
	hub_ack(t, ONESTOP__LINK_FRAME__BODY_PUSH_ACK, 2, t->hub_epoch);
	assert_null(hub_poll(t, (int)BEAT_MS / 2));
	assert_int_equal(t->fake.acked, 0);

	/* A cumulative ack of 2 releases two: 5 and 6 follow, chained on. */
	hub_ack(t, ONESTOP__LINK_FRAME__BODY_PUSH_ACK, 2, t->fake.push_epoch);
	hub_collect_push(t, got, 2);
	assert_int_equal(t->fake.acked, 2);
	assert_int_equal(got[0][0], 5);
	assert_int_equal(got[0][1], 4);
	assert_int_equal(got[1][0], 6);
	assert_int_equal(got[1][1], 5);
	assert_int_equal(t->fake.pushed, HUB_WINDOW + 2);

	/* No ack for 3 heartbeats: the round starts again from the oldest
	 * unacknowledged (3) with prev_seq 0. */
	uint64_t t0 = now_ms();
	hub_collect_push(t, got, HUB_WINDOW);
	assert_true(now_ms() - t0 >= 2 * BEAT_MS);
	assert_int_equal(got[0][0], 3);
	assert_int_equal(got[0][1], 0);
	for (uint64_t i = 1; i < HUB_WINDOW; i++) {
		assert_int_equal(got[i][0], 3 + i);
		assert_int_equal(got[i][1], 2 + i);
	}
}

/* A push source whose seqs have gaps (a hub's queue towards its parent):
 * an ack releases the transfers at or below it, not the width of the seq
 * range, so the window holds. */
static void test_push_window_with_gaps(void **state)
{
	struct t *t = *state;
	uint64_t got[HUB_WINDOW][2];
	t->fake.gap = 1000;
	t->fake.src_next = 11; /* seqs 1000..10000 wait */
	bring_up(t, 0);

	hub_collect_push(t, got, HUB_WINDOW);
	for (uint64_t i = 0; i < HUB_WINDOW; i++)
		assert_int_equal(got[i][0], (i + 1) * 1000);
	assert_null(hub_poll(t, (int)BEAT_MS));

	/* An ack of 2000 releases two transfers: exactly two follow. */
	hub_ack(t, ONESTOP__LINK_FRAME__BODY_PUSH_ACK, 2000, t->fake.push_epoch);
	hub_collect_push(t, got, 2);
	assert_int_equal(got[0][0], 5000);
	assert_int_equal(got[0][1], 4000);
	assert_int_equal(got[1][0], 6000);
	assert_null(hub_poll(t, (int)BEAT_MS / 2));
	assert_int_equal(t->fake.pushed, HUB_WINDOW + 2);
}

/* Poll until a DeliverAck arrives (other frames fail); its seq. */
static uint64_t hub_expect_deliver_ack(struct t *t)
{
	Onestop__LinkFrame *f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_DELIVER_ACK);
	uint64_t seq = f->deliver_ack->seq;
	assert_int_equal(f->deliver_ack->epoch.len, UPLINK_EPOCH_LEN);
	assert_memory_equal(f->deliver_ack->epoch.data, t->hub_epoch, UPLINK_EPOCH_LEN);
	onestop__link_frame__free_unpacked(f, NULL);
	return seq;
}

static void test_deliveries_and_acks(void **state)
{
	struct t *t = *state;
	bring_up(t, 0);

	/* In order: taken; one transfer is acked after the commit, within the
	 * ack delay, carrying the committed last. */
	hub_deliver(t, (const uint64_t[][2]){{1, 0}}, 1);
	node_drain_until_last(t, 1);
	assert_int_equal(t->fake.n_stored, 1);
	/* Drained but not committed: nothing is acknowledged yet. */
	Onestop__LinkFrame *f;
	while ((f = hub_read(t, 3 * (int)ACK_DELAY_MS)) != NULL) {
		if (f->body_case == ONESTOP__LINK_FRAME__BODY_DELIVER_ACK)
			fail_msg("a deliver ack before the commit");
		onestop__link_frame__free_unpacked(f, NULL);
	}
	assert_int_equal(hub_expect_deliver_ack(t), 1);
	assert_int_equal(t->fake.durable_last, 1);

	/* Two more in one frame reach the quarter window: acked at once. */
	hub_deliver(t, (const uint64_t[][2]){{2, 1}, {3, 2}}, 2);
	assert_int_equal(hub_expect_deliver_ack(t), 3);
	assert_int_equal(t->fake.n_stored, 3);

	/* A duplicate is not stored again, and is acked at once. */
	hub_deliver(t, (const uint64_t[][2]){{3, 2}}, 1);
	assert_int_equal(hub_expect_deliver_ack(t), 3);
	assert_int_equal(t->fake.n_stored, 3);

	/* A gap is ignored: nothing stored, nothing acked. */
	hub_deliver(t, (const uint64_t[][2]){{6, 5}}, 1);
	assert_null(hub_poll(t, (int)BEAT_MS));
	assert_int_equal(t->fake.n_stored, 3);
	assert_int_equal(t->fake.last, 3);

	/* A held delivery is not taken and owes no ack. */
	t->fake.hold = 1;
	hub_deliver(t, (const uint64_t[][2]){{4, 3}}, 1);
	assert_null(hub_poll(t, (int)BEAT_MS));
	assert_int_equal(t->fake.last, 3);
	t->fake.hold = 0;

	/* A resend from the oldest (prev_seq 0) is taken. */
	hub_deliver(t, (const uint64_t[][2]){{4, 0}}, 1);
	assert_int_equal(hub_expect_deliver_ack(t), 4);

	/* A commit that fails acknowledges nothing of its iteration: the
	 * session starts over with Hello, and the ack never names 5. */
	hub_deliver(t, (const uint64_t[][2]){{5, 4}}, 1);
	node_drain_until_last(t, 5);
	t->fake.fail_commit = 1;
	f = hub_poll(t, WAIT_MS);
	assert_non_null(f);
	assert_int_equal(f->body_case, ONESTOP__LINK_FRAME__BODY_HELLO);
	onestop__link_frame__free_unpacked(f, NULL);
	assert_int_equal(t->fake.last, 4);
	assert_int_equal(uplink_state(t->up), UPLINK_HELLO_SENT);
}

/* Failed commits of deliveries in a row (a full store): the Hello after
 * each waits the jittered exponential backoff (reconnect 10..40 ms: at
 * least 10, 10, 20 ms), instead of going out at once and drawing the
 * hub's whole window into the same failure; a failed commit of nothing
 * the link took keeps the session. */
static void test_failed_commits_back_off(void **state)
{
	static const uint64_t least_ms[3] = {10, 10, 20};
	struct t *t = *state;
	bring_up(t, 0);
	t->fake.fail_commit = 1;
	node_iterate(t);
	assert_int_equal(uplink_state(t->up), UPLINK_UP);
	for (int i = 0; i < 3; i++) {
		hub_deliver(t, (const uint64_t[][2]){{1, 0}}, 1);
		node_drain_until_last(t, 1);
		t->fake.fail_commit = 1;
		uint64_t t0 = os_mono_us();
		Onestop__LinkFrame *f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_HELLO);
		uint64_t waited_us = os_mono_us() - t0;
		onestop__link_frame__free_unpacked(f, NULL);
		if (waited_us < least_ms[i] * 1000u)
			fail_msg(
				"Hello %d came %llu us after the failed commit, before the backoff",
				i + 1, (unsigned long long)waited_us);
		assert_int_equal(t->fake.durable_last, 0);
		hub_welcome(t, 0, HUB_WINDOW);
		node_until_up(t);
	}
	/* Space is back: the delivery is stored and acknowledged. */
	hub_deliver(t, (const uint64_t[][2]){{1, 0}}, 1);
	assert_int_equal(hub_expect_deliver_ack(t), 1);
}

static void test_ehello_says_hello_again(void **state)
{
	struct t *t = *state;
	bring_up(t, 0);
	hub_error(t, OS_EHELLO, "session unknown");
	Onestop__LinkFrame *f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_HELLO);
	onestop__link_frame__free_unpacked(f, NULL);
	assert_int_equal(uplink_state(t->up), UPLINK_HELLO_SENT);
	/* Other errors are only logged (text from the hub quoted). */
	hub_welcome(t, 0, HUB_WINDOW);
	node_until_up(t);
	hub_error(t, OS_EFULL, "queue \"full\"\n");
	assert_null(hub_poll(t, (int)BEAT_MS));
	assert_int_equal(uplink_state(t->up), UPLINK_UP);
	assert_int_equal(t->fake.welcomes, 2);
}

static void test_silence_reconnects(void **state)
{
	struct t *t = *state;
	uint8_t first_id[256];
	size_t first_len;
	bring_up(t, 0);
	first_len = t->peer_id_len;
	memcpy(first_id, t->peer_id, first_len);

	/* The hub says nothing for 3 heartbeats: the link closes and comes
	 * back on a new socket with a new Hello. */
	t->hub_silent = 1;
	int saw_down = 0;
	Onestop__LinkFrame *f = NULL;
	uint64_t end = now_ms() + WAIT_MS;
	while (!f && now_ms() < end) {
		f = hub_poll(t, 2);
		if (uplink_state(t->up) == UPLINK_DOWN)
			saw_down = 1;
	}
	assert_non_null(f);
	assert_int_equal(f->body_case, ONESTOP__LINK_FRAME__BODY_HELLO);
	onestop__link_frame__free_unpacked(f, NULL);
	assert_true(saw_down || uplink_state(t->up) == UPLINK_HELLO_SENT);
	assert_false(t->peer_id_len == first_len && memcmp(t->peer_id, first_id, first_len) == 0);

	/* EREVOKED ends the session too, and after a backoff it tries again. */
	t->hub_silent = 0;
	hub_welcome(t, 0, HUB_WINDOW);
	node_until_up(t);
	hub_error(t, OS_EREVOKED, "revoked");
	f = hub_expect(t, ONESTOP__LINK_FRAME__BODY_HELLO);
	onestop__link_frame__free_unpacked(f, NULL);
}

static void test_restart_and_frames(void **state)
{
	struct t *t = *state;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	bring_up(t, 0);
	/* A Registry frame goes up; a Changes frame goes up while UP. */
	f.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
	hub_send(t, &f);
	assert_null(hub_poll(t, (int)BEAT_MS / 2));
	assert_int_equal(t->fake.frames, 1);
	/* The peer's key changed: a new socket says Hello at once. */
	uplink_restart(t->up);
	Onestop__LinkFrame *g = hub_expect(t, ONESTOP__LINK_FRAME__BODY_HELLO);
	onestop__link_frame__free_unpacked(g, NULL);
	/* Frames for the layer above wait for the session, the registry not. */
	f.body_case = ONESTOP__LINK_FRAME__BODY_CHANGES;
	Onestop__Changes ch = ONESTOP__CHANGES__INIT;
	f.changes = &ch;
	hub_send(t, &f);
	assert_null(hub_poll(t, (int)BEAT_MS / 2));
	assert_int_equal(t->fake.frames, 1);
	/* A Welcome that re-announces what the hub holds releases it. */
	t->fake.src_next = 4;
	hub_welcome(t, 2, HUB_WINDOW);
	uint64_t got[1][2];
	hub_collect_push(t, got, 1);
	assert_int_equal(t->fake.welcome_accepted, 2);
	assert_int_equal(got[0][0], 3);
	assert_int_equal(got[0][1], 0);
	/* A clean stop sends the ack still owed. */
	hub_deliver(t, (const uint64_t[][2]){{1, 0}}, 1);
	node_drain_until_last(t, 1);
	assert_int_equal(fake_commit(&t->fake), 0);
	uplink_stop(t->up);
	assert_int_equal(hub_expect_deliver_ack(t), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hello_then_welcome, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_window_acks_and_stall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_push_window_with_gaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deliveries_and_acks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_failed_commits_back_off, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ehello_says_hello_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silence_reconnects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_and_frames, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
