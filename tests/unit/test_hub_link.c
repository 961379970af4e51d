/* Unit tests for hub/link.c, in process: the hub's modules wired on one
 * loop as the daemon wires them (ZAP, ROUTER with CURVE on loopback), and
 * DEALER clients made here that speak the link protocol frame by frame.
 * Checks Hello/Welcome, a push acknowledged after its commit, the deliver
 * stream within the spoke's window with cumulative acks and the lazy
 * deletion that follows, and the errors for a frame without session and
 * for a node that is not active. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "batchsig.h"
#include "crypto.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "hub.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "onestop.pb-c.h"
#include "queue.h"
#include "registry.h"
#include "route.h"
#include "store.h"
#include "testutil.h"
#include "util.h"
#include "wiring.h"
#include "zap.h"

#define Q(r) ((uint64_t)(r) << QUEUE_ROUND_SHIFT | 1u)

#define HOUR 3600000ull
#define WAIT_MS 5000

enum { K_ROOT, K_HUB, K_A, K_B, K_C, K_D, K_COUNT };
static struct os_keypair keys[K_COUNT];
static struct registry *reg;

struct fixture {
	char *dir;
	struct hub h;
	struct loop *loop;
	char endpoint[256];
	void *clients[4]; /* closed by the teardown, also after a failure */
	size_t n_clients;
};

static int group_setup(void **state)
{
	static char *star[] = {"*"};
	static const struct {
		char *name;
		int key;
		enum reg_status status;
	} nodes[] = {
		{"hub", K_HUB, REG_ACTIVE}, {"a", K_A, REG_ACTIVE},    {"b", K_B, REG_ACTIVE},
		{"c", K_C, REG_ACTIVE},     {"d", K_D, REG_SUSPENDED},
	};
	struct registry *r = NULL;
	uint64_t now = os_now_ms();
	const uint8_t *b;
	size_t l;

	(void)state;
	if (crypto_setup() != 0 || registry_new(&r) != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_new(&keys[i]);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct reg_node n = {0};

		n.name = nodes[i].name;
		n.roles = i == 0 ? REG_ROLE_HUB : REG_ROLE_SPOKE;
		memcpy(n.sign_pk, keys[nodes[i].key].sign_pk, sizeof(os_sign_pk));
		memcpy(n.box_pk, keys[nodes[i].key].box_pk, sizeof(os_box_pk));
		n.key_version = 1;
		n.status = nodes[i].status;
		n.n_types = 1;
		n.allowed_types = star;
		if (registry_add(r, &n) != 0)
			return -1;
	}
	r->version = 3;
	r->issued_ms = now - HOUR;
	r->expires_ms = now + 1000 * HOUR;
	if (registry_sign(r, keys[K_ROOT].sign_sk, &b, &l) != 0 ||
	    registry_parse(b, l, keys[K_ROOT].sign_pk, now, &reg) != 0)
		return -1;
	registry_free(&r);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	registry_free(&reg);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_wipe(&keys[i]);
	return 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct loop_state st;
	struct hub *h;

	if (!f || !(f->dir = tu_mkdtemp()))
		return -1;
	h = &f->h;
	h->conf.name = "hub";
	h->conf.max_message_bytes = 1 << 20;
	h->conf.window = 8;
	h->conf.heartbeat_ms = 1000;
	h->conf.queue_quota = 1000;
	h->conf.dataset_log_max = 1000;
	h->kp = keys[K_HUB];
	h->key_version = 1;
	h->reg = reg;
	if (store_open(f->dir, 64, 16, &h->st) || queue_open(h, &h->queue) || dataset_open(h) ||
	    batchsig_cache_new(64, &h->sigcache) || route_new(&h->route) ||
	    route_registry_changed(h) || link_new(&hub_link_ops, &h->link))
		return -1;
	h->zctx = zmq_ctx_new();
	if (!h->zctx || zap_open(h) != 0)
		return -1;
	h->conf.listen = "tcp://127.0.0.1:*";
	if (hub_router_open(h, f->endpoint, sizeof(f->endpoint)) != 0)
		return -1;
	hub_loop_state(h, &st);
	if (loop_new(&st, &f->loop) || hub_modules_attach(h, f->loop))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct hub *h = &f->h;

	loop_free(&f->loop);
	for (size_t i = 0; i < f->n_clients; i++)
		zmq_close(f->clients[i]);
	hub_modules_close(h);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

/* ---------------------------------------------------------------- a client */

static void *client_open(struct fixture *f, int key)
{
	void *s = zmq_socket(f->h.zctx, ZMQ_DEALER);
	int zero = 0;

	assert_non_null(s);
	assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, keys[K_HUB].box_pk,
					sizeof(os_box_pk)),
			 0);
	assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, keys[key].box_pk,
					sizeof(os_box_pk)),
			 0);
	assert_int_equal(zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, keys[key].box_sk,
					sizeof(os_box_sk)),
			 0);
	assert_int_equal(zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof(zero)), 0);
	assert_int_equal(zmq_connect(s, f->endpoint), 0);
	assert_true(f->n_clients < 4);
	f->clients[f->n_clients++] = s;
	return s;
}

/* Send one frame. Never blocks: a client the hub's ZAP refused may have
 * no pipe left (then the frame is dropped, EAGAIN), and blocking here would
 * stop the hub's loop, which only this thread runs. */
static void client_send(void *s, const Onestop__LinkFrame *lf)
{
	size_t len = onestop__link_frame__get_packed_size(lf);
	uint8_t *buf = malloc(len ? len : 1);
	int n;

	assert_non_null(buf);
	onestop__link_frame__pack(lf, buf);
	n = zmq_send(s, buf, len, ZMQ_DONTWAIT);
	assert_true(n == (int)len || (n < 0 && zmq_errno() == EAGAIN));
	free(buf);
}

/* Run the hub's loop until the client receives a frame of body `want`
 * (others, such as heartbeats, are skipped). The frame is the caller's to
 * free; NULL after wait_ms. */
static Onestop__LinkFrame *client_wait(struct fixture *f, void *s, int want, unsigned wait_ms)
{
	uint64_t until = os_mono_us() + (uint64_t)wait_ms * 1000;

	while (os_mono_us() < until) {
		uint8_t buf[1 << 16];
		int n;

		loop_iterate(f->loop);
		n = zmq_recv(s, buf, sizeof(buf), ZMQ_DONTWAIT);
		if (n < 0) {
			zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};

			zmq_poll(&it, 1, 2);
			continue;
		}
		Onestop__LinkFrame *lf = onestop__link_frame__unpack(NULL, (size_t)n, buf);
		assert_non_null(lf);
		if ((int)lf->body_case == want)
			return lf;
		onestop__link_frame__free_unpacked(lf, NULL);
	}
	return NULL;
}

static Onestop__LinkFrame *client_expect(struct fixture *f, void *s, int want)
{
	return client_wait(f, s, want, WAIT_MS);
}

static void hello(void *s, const char *node, uint8_t epoch_byte, uint32_t window)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Hello h = ONESTOP__HELLO__INIT;
	uint8_t epoch[QUEUE_EPOCH_LEN];

	memset(epoch, epoch_byte, sizeof(epoch));
	h.protocol = HUB_PROTOCOL;
	h.node = (char *)node;
	h.outbox_epoch.data = epoch;
	h.outbox_epoch.len = sizeof(epoch);
	h.window = window;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	lf.hello = &h;
	client_send(s, &lf);
}

/* A session for node: Hello answered by Welcome, whose fields are checked. */
static void session(struct fixture *f, void *s, const char *node, uint32_t window)
{
	Onestop__LinkFrame *lf;

	hello(s, node, 0x11, window);
	lf = client_expect(f, s, ONESTOP__LINK_FRAME__BODY_WELCOME);
	assert_non_null(lf);
	assert_int_equal(lf->welcome->protocol, HUB_PROTOCOL);
	assert_int_equal(lf->welcome->accepted_seq, 0);
	assert_int_equal(lf->welcome->window, 8);
	assert_int_equal(lf->welcome->hub_epoch.len, QUEUE_EPOCH_LEN);
	assert_memory_equal(lf->welcome->hub_epoch.data, queue_epoch(f->h.queue), QUEUE_EPOCH_LEN);
	/* What a client must know of the hub is advertised. */
	assert_int_equal(lf->welcome->heartbeat_ms, f->h.conf.heartbeat_ms);
	assert_string_equal(lf->welcome->node, f->h.conf.name);
	assert_int_equal(lf->welcome->max_message_bytes, f->h.conf.max_message_bytes);
	/* Its registry (version 3) is sent to a spoke that holds none. */
	assert_true(lf->welcome->registry.len > 0);
	onestop__link_frame__free_unpacked(lf, NULL);
}

/* Push n messages from a to dest as transfers seq 1..n. */
static void push(void *s, const char *dest, size_t n)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Transfers t = ONESTOP__TRANSFERS__INIT;
	Onestop__Transfer it[8], *ptrs[8];
	struct env_draft d[8];
	uint8_t *out[8];
	size_t len[8];
	uint64_t now = os_now_ms();

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		d[i] = (struct env_draft){.destination = dest,
					  .type = "gov.X",
					  .payload = (const uint8_t *)"p",
					  .payload_len = 1,
					  .expires_ms = now + HOUR};
	assert_int_equal(env_sign_batch("a", 1, keys[K_A].sign_sk, d, n, now, out, len, NULL), 0);
	for (size_t i = 0; i < n; i++) {
		onestop__transfer__init(&it[i]);
		it[i].seq = i + 1;
		it[i].prev_seq = i;
		it[i].msg.data = out[i];
		it[i].msg.len = len[i];
		ptrs[i] = &it[i];
	}
	t.n_items = n;
	t.items = ptrs;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	lf.push = &t;
	client_send(s, &lf);
	for (size_t i = 0; i < n; i++)
		free(out[i]);
}

static void deliver_ack(struct fixture *f, void *s, uint64_t seq)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Ack a = ONESTOP__ACK__INIT;

	a.seq = seq;
	a.epoch.data = (uint8_t *)queue_epoch(f->h.queue);
	a.epoch.len = QUEUE_EPOCH_LEN;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
	lf.deliver_ack = &a;
	client_send(s, &lf);
}

/* ---------------------------------------------------------------- tests */

static void test_push_then_deliver(void **state)
{
	struct fixture *f = *state;
	void *a = client_open(f, K_A), *b = client_open(f, K_B);
	Onestop__LinkFrame *lf;
	uint64_t until;

	session(f, a, "a", 0);
	assert_int_equal(link_sessions(&f->h), 1);
	assert_int_equal(f->h.stats.sessions, 1);

	/* Three pushes: acknowledged once, cumulatively, after the commit. */
	push(a, "b", 3);
	lf = client_expect(f, a, ONESTOP__LINK_FRAME__BODY_PUSH_ACK);
	assert_non_null(lf);
	assert_int_equal(lf->push_ack->seq, 3);
	assert_int_equal(lf->push_ack->epoch.len, QUEUE_EPOCH_LEN);
	assert_int_equal(lf->push_ack->epoch.data[0], 0x11);
	onestop__link_frame__free_unpacked(lf, NULL);
	assert_int_equal(queue_count(f->h.queue, "b"), 3);
	assert_true(f->h.stats.commits >= 1);

	/* b asks for a window of 2: two transfers, then it waits for acks. */
	session(f, b, "b", 2);
	lf = client_expect(f, b, ONESTOP__LINK_FRAME__BODY_DELIVER);
	assert_non_null(lf);
	assert_int_equal(lf->deliver->n_items, 2);
	/* Queue keys: round << QUEUE_ROUND_SHIFT | the origin's number (1). */
	assert_int_equal(lf->deliver->items[0]->seq, Q(1));
	assert_int_equal(lf->deliver->items[0]->prev_seq, 0);
	assert_int_equal(lf->deliver->items[1]->seq, Q(2));
	assert_int_equal(lf->deliver->items[1]->prev_seq, Q(1));
	onestop__link_frame__free_unpacked(lf, NULL);
	for (int i = 0; i < 20; i++)
		loop_iterate(f->loop);
	assert_int_equal(zmq_recv(b, (char[64]){0}, 64, ZMQ_DONTWAIT), -1);

	/* A cumulative ack opens the window for the third. */
	deliver_ack(f, b, Q(2));
	lf = client_expect(f, b, ONESTOP__LINK_FRAME__BODY_DELIVER);
	assert_non_null(lf);
	assert_int_equal(lf->deliver->n_items, 1);
	assert_int_equal(lf->deliver->items[0]->seq, Q(3));
	assert_int_equal(lf->deliver->items[0]->prev_seq, Q(2));
	onestop__link_frame__free_unpacked(lf, NULL);

	/* The acked entries are deleted without a commit of their own
	 * being owed: within HUB_LAZY_DELETE_MS. */
	deliver_ack(f, b, Q(3));
	until = os_mono_us() + (uint64_t)WAIT_MS * 1000;
	while (queue_total(f->h.queue) > 0 && os_mono_us() < until) {
		loop_wait(f->loop);
		loop_iterate(f->loop);
	}
	assert_int_equal(queue_total(f->h.queue), 0);
	assert_int_equal(f->h.stats.delivered, 3);
	assert_int_equal(f->h.stats.queued, 0);
}

static void test_errors(void **state)
{
	struct fixture *f = *state;
	void *c = client_open(f, K_C), *d = client_open(f, K_D);
	Onestop__LinkFrame hb = ONESTOP__LINK_FRAME__INIT, *lf;
	Onestop__Heartbeat beat = ONESTOP__HEARTBEAT__INIT;

	/* Anything but Hello first: "say Hello". */
	hb.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
	hb.heartbeat = &beat;
	client_send(c, &hb);
	lf = client_expect(f, c, ONESTOP__LINK_FRAME__BODY_ERROR);
	assert_non_null(lf);
	assert_int_equal(lf->error->code, OS_EHELLO);
	onestop__link_frame__free_unpacked(lf, NULL);

	/* A Hello naming another node than the link's key. */
	hello(c, "a", 0x22, 0);
	lf = client_expect(f, c, ONESTOP__LINK_FRAME__BODY_ERROR);
	assert_non_null(lf);
	assert_int_equal(lf->error->code, OS_EORIGIN);
	onestop__link_frame__free_unpacked(lf, NULL);
	assert_int_equal(link_sessions(&f->h), 0);

	/* A session belongs to the connection that said Hello: a second
	 * connection with the same key is told to say Hello, every time. */
	session(f, c, "c", 0);
	void *c2 = client_open(f, K_C);
	for (int i = 0; i < 2; i++) {
		client_send(c2, &hb);
		lf = client_expect(f, c2, ONESTOP__LINK_FRAME__BODY_ERROR);
		assert_non_null(lf);
		assert_int_equal(lf->error->code, OS_EHELLO);
		onestop__link_frame__free_unpacked(lf, NULL);
	}
	assert_int_equal(link_sessions(&f->h), 1);

	/* A suspended node is not admitted at all (ZAP): no reply ever. */
	hello(d, "d", 0x33, 0);
	assert_null(client_wait(f, d, ONESTOP__LINK_FRAME__BODY_WELCOME, 500));
	assert_int_equal(link_sessions(&f->h), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_push_then_deliver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
	};
	int rc = cmocka_run_group_tests(tests, group_setup, group_teardown);

	return rc;
}
