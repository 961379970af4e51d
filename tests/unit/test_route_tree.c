/* Unit tests for routing through the hub tree (hub/route.c, PROTOCOL
 * 13.3), in process: a national registry delegating gd and sc to their
 * own root keys, each province's registry adopted into the chain, and a
 * hub built around it as the national hub or as the province hub gd.hub.
 * Checks the hop of each destination (own node, child hub, parent), the
 * checks of a relay's pushes and of the parent's deliveries, topic fan-out
 * once per hop and never back, and dead letters routed by hop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchsig.h"
#include "crypto.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "hub.h"
#include "link.h"
#include "log.h"
#include "queue.h"
#include "registry.h"
#include "route.h"
#include "store.h"
#include "stream.h"
#include "testutil.h"

#define NOW 1800000000000ull
#define HOUR 3600000ull

enum { K_ROOT, K_GDROOT, K_SCROOT, K_HUB, K_NAT, K_GDHUB, K_SCHUB, K_GDA, K_GDB, K_SCA, K_COUNT };
static struct os_keypair keys[K_COUNT];
static struct registry *reg;

static const uint8_t EPOCH[QUEUE_EPOCH_LEN] = {0xe1, 0xe2};

struct fixture {
	char *dir;
	struct hub h;
	struct stream_ack ack;
	uint64_t last;
};

struct node_spec {
	char *name;
	int key;
	unsigned roles;
};

static int add_nodes(struct registry *r, const struct node_spec *nodes, size_t n)
{
	static char *star[] = {"*"}, *news[] = {"news"};

	for (size_t i = 0; i < n; i++) {
		struct reg_node x = {0};

		x.name = nodes[i].name;
		x.roles = nodes[i].roles;
		memcpy(x.sign_pk, keys[nodes[i].key].sign_pk, sizeof(os_sign_pk));
		memcpy(x.box_pk, keys[nodes[i].key].box_pk, sizeof(os_box_pk));
		x.key_version = 1;
		x.status = REG_ACTIVE;
		x.n_types = 1;
		x.allowed_types = star;
		/* Every spoke but gd.b hears news. */
		if (nodes[i].roles == REG_ROLE_SPOKE && strcmp(nodes[i].name, "gd.b") != 0) {
			x.n_topics = 1;
			x.topics = news;
		}
		if (registry_add(r, &x) != 0)
			return -1;
	}
	return 0;
}

/* A province's signed registry (prefix, nodes), packed into *out. */
static int province(const char *prefix, int root, const struct node_spec *nodes, size_t n,
		    uint8_t **out, size_t *len)
{
	struct registry *r = NULL;
	const uint8_t *b;
	size_t l;
	int rc = -1;

	if (registry_new(&r) != 0)
		return -1;
	if (registry_set_prefix(r, prefix) == 0 && add_nodes(r, nodes, n) == 0) {
		r->version = 1;
		r->issued_ms = NOW - HOUR;
		r->expires_ms = NOW + 1000 * HOUR;
		if (registry_sign(r, keys[root].sign_sk, &b, &l) == 0 && (*out = malloc(l))) {
			memcpy(*out, b, l);
			*len = l;
			rc = 0;
		}
	}
	registry_free(&r);
	return rc;
}

static int group_setup(void **state)
{
	static const struct node_spec nat[] = {
		{"hub", K_HUB, REG_ROLE_HUB},
		{"nat", K_NAT, REG_ROLE_SPOKE},
		{"gd.hub", K_GDHUB, REG_ROLE_HUB},
		{"sc.hub", K_SCHUB, REG_ROLE_HUB},
	};
	static const struct node_spec gd[] = {
		{"gd.a", K_GDA, REG_ROLE_SPOKE},
		{"gd.b", K_GDB, REG_ROLE_SPOKE},
	};
	static const struct node_spec sc[] = {{"sc.a", K_SCA, REG_ROLE_SPOKE}};
	struct registry *r = NULL;
	uint8_t *gdp = NULL, *scp = NULL;
	size_t gdl = 0, scl = 0;
	const uint8_t *b;
	size_t l;
	int rc = -1;

	(void)state;
	if (crypto_setup() != 0 || registry_new(&r) != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_new(&keys[i]);
	if (registry_set_hub(r, "hub") != 0 || add_nodes(r, nat, 4) != 0 ||
	    registry_delegate(r, "gd", keys[K_GDROOT].sign_pk, "gd.hub") != 0 ||
	    registry_delegate(r, "sc", keys[K_SCROOT].sign_pk, "sc.hub") != 0)
		goto out;
	r->version = 1;
	r->issued_ms = NOW - HOUR;
	r->expires_ms = NOW + 1000 * HOUR;
	if (registry_sign(r, keys[K_ROOT].sign_sk, &b, &l) != 0 ||
	    registry_parse(b, l, keys[K_ROOT].sign_pk, NOW, &reg) != 0)
		goto out;
	if (province("gd", K_GDROOT, gd, 2, &gdp, &gdl) != 0 ||
	    province("sc", K_SCROOT, sc, 1, &scp, &scl) != 0 ||
	    registry_adopt_part(&reg, gdp, gdl, NOW) != 1 ||
	    registry_adopt_part(&reg, scp, scl, NOW) != 1)
		goto out;
	rc = 0;
out:
	free(gdp);
	free(scp);
	registry_free(&r);
	return rc;
}

static int group_teardown(void **state)
{
	(void)state;
	registry_free(&reg);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_wipe(&keys[i]);
	return 0;
}

/* A hub named name with key k; with a parent link configured when parent
 * is set (nothing connects: routing reads the configuration only). */
static int hub_setup(void **state, const char *name, int k, const char *parent)
{
	static const struct link_ops no_ops;
	struct fixture *f = calloc(1, sizeof(*f));
	struct hub *h;

	if (!f || !(f->dir = tu_mkdtemp()))
		return -1;
	h = &f->h;
	h->conf.name = (char *)name;
	h->conf.parent_endpoint = parent ? "tcp://127.0.0.1:1" : "";
	h->conf.parent_name = parent ? (char *)parent : "hub";
	h->conf.max_message_bytes = 1 << 20;
	h->conf.window = 1000;
	h->conf.heartbeat_ms = 1000;
	h->conf.queue_quota = 1000;
	h->conf.dataset_log_max = 1000;
	h->kp = keys[k];
	h->key_version = 1;
	h->reg = reg;
	h->now_ms = NOW;
	h->now_us = 5000000;
	if (store_open(f->dir, 64, 16, &h->st) || queue_open(h, &h->queue) || dataset_open(h) ||
	    batchsig_cache_new(64, &h->sigcache) || route_new(&h->route) ||
	    route_registry_changed(h) || link_new(&no_ops, &h->link))
		return -1;
	*state = f;
	return 0;
}

static int setup_national(void **state)
{
	return hub_setup(state, "hub", K_HUB, NULL);
}

static int setup_gd(void **state)
{
	return hub_setup(state, "gd.hub", K_GDHUB, "hub");
}

static int setup_gd_orphan(void **state)
{
	return hub_setup(state, "gd.hub", K_GDHUB, NULL);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	struct hub *h = &f->h;

	link_destroy(&h->link);
	route_destroy(&h->route);
	dataset_close(h);
	batchsig_cache_destroy(&h->sigcache);
	queue_close(&h->queue);
	store_abort(&h->txn);
	store_close(&h->st);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static uint8_t *sign(int signer, const char *origin, const char *dest, size_t *len)
{
	struct env_draft d = {.destination = dest,
			      .type = "t.tree",
			      .payload = (const uint8_t *)"hello",
			      .payload_len = 5,
			      .expires_ms = NOW + HOUR};
	uint8_t *out = NULL;

	assert_int_equal(env_sign_batch(origin, 1, keys[signer].sign_sk, &d, 1, NOW - 1000, &out,
					len, NULL),
			 0);
	return out;
}

/* Flip a byte of m's payload ("hello"): its signature no longer holds. */
static uint8_t *tamper(uint8_t *m, size_t l)
{
	for (size_t i = 0; i + 5 <= l; i++)
		if (memcmp(m + i, "hello", 5) == 0) {
			m[i + 4] ^= 1;
			return m;
		}
	fail_msg("no payload in the message");
	return m;
}

/* Push one message from node's session (seq follows the last). */
static void push(struct fixture *f, const char *node, uint8_t *msg, size_t len)
{
	Onestop__Transfer it = ONESTOP__TRANSFER__INIT;
	Onestop__Transfer *p = &it;
	Onestop__Transfers t = ONESTOP__TRANSFERS__INIT;
	uint8_t e[QUEUE_EPOCH_LEN];
	uint64_t last = 0;

	if (queue_origin_get(f->h.queue, node, e, &last) != 0)
		last = 0;
	it.seq = last + 1;
	it.prev_seq = last;
	it.msg.data = msg;
	it.msg.len = len;
	t.n_items = 1;
	t.items = &p;
	assert_int_equal(route_push(&f->h, node, EPOCH, &t, &f->ack, &f->last), 0);
	assert_int_equal(f->last, last + 1);
	free(msg);
}

/* Sign a message as origin (signer's key) to dest and push it from
 * node's session. */
static void send(struct fixture *f, const char *node, int signer, const char *origin,
		 const char *dest)
{
	size_t l = 0;
	uint8_t *m = sign(signer, origin, dest, &l);

	push(f, node, m, l);
}

/* What a queue holds: entries, and of them dead letters (the last one's
 * payload and its envelope's destination kept). */
struct qscan {
	size_t n, n_dl;
	struct env_deadletter dl;
	char dl_to[OS_NAME_MAX];
	char origin[OS_NAME_MAX]; /* the last entry's envelope origin */
};

static enum queue_visit q_one(void *arg, uint64_t qseq, uint64_t expires_ms, const uint8_t *msg,
			      size_t len)
{
	struct qscan *s = arg;
	struct env e;

	(void)qseq, (void)expires_ms;
	assert_int_equal(env_decode(msg, len, 1 << 20, &e), 0);
	assert_int_equal(env_verify(&e, reg, NULL, NOW), 0);
	s->n++;
	snprintf(s->origin, sizeof(s->origin), "%s", e.origin);
	if (strcmp(e.type, ENV_DEADLETTER_TYPE) == 0) {
		assert_int_equal(env_deadletter_unpack(e.payload, e.payload_len, &s->dl), 0);
		snprintf(s->dl_to, sizeof(s->dl_to), "%s", e.destination);
		s->n_dl++;
	}
	env_clear(&e);
	return QUEUE_TAKE;
}

static struct qscan scan(struct fixture *f, const char *queue)
{
	struct qscan s;
	int end;

	memset(&s, 0, sizeof(s));
	assert_int_equal(route_flush(&f->h), 0);
	assert_int_equal(queue_scan(f->h.queue, queue, 0, q_one, &s, &end), 0);
	return s;
}

/* The national hub: its own node, each province down its child hub. */
static void test_national_hops(void **state)
{
	struct fixture *f = *state;

	send(f, "nat", K_NAT, "nat", "gd.a");
	send(f, "nat", K_NAT, "nat", "sc.a");
	assert_int_equal(scan(f, "gd.hub").n, 1);
	assert_int_equal(scan(f, "sc.hub").n, 1);
	assert_int_equal(scan(f, "gd.a").n, 0);
	assert_int_equal(f->h.stats.relayed_down, 2);
	assert_int_equal(f->h.stats.relayed_up, 0);
	/* A relayed message from gd's subtree to sc: down to sc.hub, queued
	 * under its real origin. */
	send(f, "gd.hub", K_GDA, "gd.a", "sc.a");
	assert_int_equal(scan(f, "sc.hub").n, 2);
	{
		struct queue_usage u;

		queue_usage_origin(f->h.queue, "gd.a", &u);
		assert_int_equal(u.entries, 1);
		queue_usage_origin(f->h.queue, "gd.hub", &u);
		assert_int_equal(u.entries, 0);
	}
	/* A relayed message for a node of sc this hub does not know (its
	 * chain lags): handed on to sc.hub, which decides. */
	send(f, "gd.hub", K_GDA, "gd.a", "sc.newcomer");
	assert_int_equal(scan(f, "sc.hub").n, 3);
	/* ... and to the national spoke: its own queue. */
	send(f, "gd.hub", K_GDA, "gd.a", "nat");
	assert_int_equal(scan(f, "nat").n, 1);
	assert_int_equal(f->h.stats.refused, 0);
}

/* A relay's pushes: origins outside its subtree, bad signatures and
 * messages that would go back are refused, the dead letter routed back
 * to the origin by hop. */
static void test_relay_checks(void **state)
{
	struct fixture *f = *state;
	struct qscan s;
	size_t l;
	uint8_t *m;

	send(f, "gd.hub", K_SCA, "sc.a", "nat");
	s = scan(f, "sc.hub");
	assert_int_equal(s.n_dl, 1);
	assert_string_equal(s.dl_to, "sc.a");
	assert_int_equal(s.dl.code, OS_EORIGIN);
	assert_int_equal(scan(f, "nat").n, 0);

	m = sign(K_GDA, "gd.a", "sc.a", &l);
	m = tamper(m, l);
	push(f, "gd.hub", m, l);
	s = scan(f, "gd.hub");
	assert_int_equal(s.n_dl, 1);
	assert_string_equal(s.dl_to, "gd.a");
	assert_string_equal(s.dl.refused_by, "hub");
	assert_int_equal(scan(f, "sc.hub").n_dl, 1); /* only the first one's */

	/* gd.a to gd.b belongs to gd.hub itself: never sent back down. */
	send(f, "gd.hub", K_GDA, "gd.a", "gd.b");
	s = scan(f, "gd.hub");
	assert_int_equal(s.n, 2);
	assert_int_equal(s.dl.code, OS_EUNKNOWN);
	assert_int_equal(f->h.stats.refused, 3);

	/* A spoke's own push keeps the strict rule: origin == node. */
	send(f, "nat", K_GDA, "gd.a", "sc.a");
	s = scan(f, "nat");
	assert_int_equal(s.n_dl, 1);
	assert_int_equal(s.dl.code, OS_EORIGIN);
}

/* A topic message fans out once per hop and never back. */
static void test_topic_hops(void **state)
{
	struct fixture *f = *state;

	/* From gd.b (via gd.hub): nat here, sc.a down sc.hub, gd.a is gd.hub's
	 * own business and gd.hub is where it came from. */
	send(f, "gd.hub", K_GDB, "gd.b", "@news");
	assert_int_equal(scan(f, "nat").n, 1);
	assert_int_equal(scan(f, "sc.hub").n, 1);
	assert_int_equal(scan(f, "gd.hub").n, 0);
	/* From nat: gd.hub and sc.hub once each, not nat itself. */
	send(f, "nat", K_NAT, "nat", "@news");
	assert_int_equal(scan(f, "gd.hub").n, 1);
	assert_int_equal(scan(f, "sc.hub").n, 2);
	assert_int_equal(scan(f, "nat").n, 1);
	assert_int_equal(f->h.stats.refused, 0);
}

/* The province hub: its own nodes locally, everything else up. */
static void test_province_hops(void **state)
{
	struct fixture *f = *state;
	struct qscan s;
	size_t l;
	uint8_t *m;

	send(f, "gd.a", K_GDA, "gd.a", "gd.b");
	send(f, "gd.a", K_GDA, "gd.a", "sc.a");
	send(f, "gd.a", K_GDA, "gd.a", "nat");
	assert_int_equal(scan(f, "gd.b").n, 1);
	assert_int_equal(scan(f, "hub").n, 2);
	assert_int_equal(f->h.stats.relayed_up, 2);
	/* An unknown destination in this hub's own subtree is refused here
	 * (one in another subtree goes on to the hub serving it). */
	send(f, "gd.a", K_GDA, "gd.a", "gd.nobody");
	assert_int_equal(scan(f, "gd.a").dl.code, OS_EUNKNOWN);

	/* From the parent: for gd.a here; sent back up: refused. */
	m = sign(K_SCA, "sc.a", "gd.a", &l);
	assert_int_equal(route_from_parent(&f->h, m, l), 0);
	free(m);
	s = scan(f, "gd.a");
	assert_int_equal(s.n, 2);
	assert_string_equal(s.origin, "sc.a");
	assert_int_equal(f->h.stats.from_parent, 1);
	m = sign(K_NAT, "nat", "sc.a", &l);
	assert_int_equal(route_from_parent(&f->h, m, l), 0);
	free(m);
	s = scan(f, "hub");
	assert_int_equal(s.n, 3);
	assert_int_equal(s.n_dl, 1);
	assert_string_equal(s.dl_to, "nat");
	assert_string_equal(s.dl.refused_by, "gd.hub");
	/* A topic message from above reaches gd.a, never goes back up. */
	m = sign(K_SCA, "sc.a", "@news", &l);
	assert_int_equal(route_from_parent(&f->h, m, l), 0);
	free(m);
	assert_int_equal(scan(f, "gd.a").n, 3);
	assert_int_equal(scan(f, "hub").n, 3);
	/* A tampered one from the parent is refused, dead letter up. */
	m = sign(K_SCA, "sc.a", "gd.a", &l);
	m = tamper(m, l);
	assert_int_equal(route_from_parent(&f->h, m, l), 0);
	free(m);
	s = scan(f, "hub");
	assert_int_equal(s.n, 4);
	assert_int_equal(s.n_dl, 2);
	assert_string_equal(s.dl_to, "sc.a");
	assert_int_equal(s.dl.code, OS_EBADSIG);
	assert_int_equal(scan(f, "gd.a").n, 3);
}

/* A province hub without a parent cannot reach beyond its subtree. */
static void test_no_parent(void **state)
{
	struct fixture *f = *state;

	send(f, "gd.a", K_GDA, "gd.a", "sc.a");
	assert_int_equal(scan(f, "gd.a").dl.code, OS_EUNKNOWN);
	assert_int_equal(scan(f, "hub").n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_national_hops, setup_national, teardown),
		cmocka_unit_test_setup_teardown(test_relay_checks, setup_national, teardown),
		cmocka_unit_test_setup_teardown(test_topic_hops, setup_national, teardown),
		cmocka_unit_test_setup_teardown(test_province_hops, setup_gd, teardown),
		cmocka_unit_test_setup_teardown(test_no_parent, setup_gd_orphan, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
