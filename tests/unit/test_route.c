/* Unit tests for hub/route.c, in process: a hub built around a registry
 * signed by a root key made here, a store in a temporary directory, and
 * signed envelope batches pushed as link transfers. Checks the push stream
 * rule and its acks, routing to a node's queue and topic fan-out, and that
 * every refusal is acknowledged and answered with a signed DeadLetter
 * queued to the origin; also the quotas (entries, bytes, the hold of a
 * full destination, the reserve), expiry and the registry query the link
 * uses. */
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

/* Nodes: a sends anything and subscribes to news (it must not receive its
 * own topic messages); b and c subscribe; d subscribes but is revoked; n
 * may send only gov.* types. */
enum { K_ROOT, K_HUB, K_A, K_B, K_C, K_D, K_N, K_STRANGER, K_COUNT };
static struct os_keypair keys[K_COUNT];
static struct registry *reg;

static const uint8_t EPOCH_A[QUEUE_EPOCH_LEN] = {0xa1, 0xa2};

struct fixture {
	char *dir;
	struct hub h;
	struct stream_ack ack;
	uint64_t last;
};

static int group_setup(void **state)
{
	static char *star[] = {"*"}, *gov[] = {"gov.*"}, *news[] = {"news"};
	static const struct {
		char *name;
		int key;
		unsigned roles;
		enum reg_status status;
		char **types;
		char **topics;
	} nodes[] = {
		{"hub", K_HUB, REG_ROLE_HUB, REG_ACTIVE, star, NULL},
		{"a", K_A, REG_ROLE_SPOKE, REG_ACTIVE, star, news},
		{"b", K_B, REG_ROLE_SPOKE, REG_ACTIVE, star, news},
		{"c", K_C, REG_ROLE_SPOKE, REG_ACTIVE, star, news},
		{"d", K_D, REG_ROLE_SPOKE, REG_REVOKED, star, news},
		{"n", K_N, REG_ROLE_SPOKE, REG_ACTIVE, gov, NULL},
	};
	struct registry *r = NULL;
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
		n.roles = nodes[i].roles;
		memcpy(n.sign_pk, keys[nodes[i].key].sign_pk, sizeof(os_sign_pk));
		memcpy(n.box_pk, keys[nodes[i].key].box_pk, sizeof(os_box_pk));
		n.key_version = 1;
		n.status = nodes[i].status;
		n.n_types = 1;
		n.allowed_types = nodes[i].types;
		n.n_topics = nodes[i].topics ? 1 : 0;
		n.topics = nodes[i].topics;
		if (registry_add(r, &n) != 0)
			return -1;
	}
	r->version = 1;
	r->issued_ms = NOW - HOUR;
	r->expires_ms = NOW + 1000 * HOUR;
	if (registry_sign(r, keys[K_ROOT].sign_sk, &b, &l) != 0)
		return -1;
	if (registry_parse(b, l, keys[K_ROOT].sign_pk, NOW, &reg) != 0)
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
	static const struct link_ops no_ops; /* no session is ever driven here */
	struct fixture *f = calloc(1, sizeof(*f));
	struct hub *h;

	if (!f || !(f->dir = tu_mkdtemp()))
		return -1;
	h = &f->h;
	h->conf.name = "hub";
	h->conf.max_message_bytes = 1 << 20;
	h->conf.window = 1000;
	h->conf.heartbeat_ms = 1000;
	h->conf.queue_quota = 1000;
	h->conf.dataset_log_max = 1000;
	h->kp = keys[K_HUB];
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

static int commit(struct fixture *f)
{
	int rc = hub_commit(&f->h);

	queue_txn_end(f->h.queue, rc == 0);
	return rc;
}

/* One message signed by signer as origin (a batch of one), created at
 * created_ms; *len gets its size. Freed by the caller. */
static uint8_t *sign_at(int signer, const char *origin, const char *dest, const char *type,
			uint64_t created_ms, uint64_t expires_ms, size_t *len)
{
	struct env_draft d = {.destination = dest,
			      .type = type,
			      .payload = (const uint8_t *)"hello",
			      .payload_len = 5,
			      .expires_ms = expires_ms};
	uint8_t *out = NULL;

	assert_int_equal(env_sign_batch(origin, 1, keys[signer].sign_sk, &d, 1, created_ms, &out,
					len, NULL),
			 0);
	return out;
}

static uint8_t *sign(int signer, const char *origin, const char *dest, const char *type,
		     size_t *len)
{
	return sign_at(signer, origin, dest, type, NOW - 1000, NOW + HOUR, len);
}

/* Push transfers (seq[i], prev[i], msg[i]) from origin as one frame. */
static int push_n(struct fixture *f, const char *origin, size_t n, const uint64_t *seq,
		  const uint64_t *prev, uint8_t *const *msg, const size_t *len)
{
	Onestop__Transfer it[8];
	Onestop__Transfer *ptrs[8];
	Onestop__Transfers t = ONESTOP__TRANSFERS__INIT;

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		onestop__transfer__init(&it[i]);
		it[i].seq = seq[i];
		it[i].prev_seq = prev[i];
		it[i].msg.data = msg[i];
		it[i].msg.len = len[i];
		ptrs[i] = &it[i];
	}
	t.n_items = n;
	t.items = ptrs;
	return route_push(&f->h, origin, EPOCH_A, &t, &f->ack, &f->last);
}

static int push1(struct fixture *f, const char *origin, uint64_t seq, uint64_t prev, uint8_t *msg,
		 size_t len)
{
	return push_n(f, origin, 1, &seq, &prev, &msg, &len);
}

/* The DeadLetters in origin's queue (after route_flush), checked as a
 * destination checks them: signed by the hub, verifying under the
 * registry. Returns how many; the last one's payload into *out. */
struct dl_scan {
	size_t n;
	struct env_deadletter last;
};

static enum queue_visit dl_one(void *arg, uint64_t qseq, uint64_t expires_ms, const uint8_t *msg,
			       size_t len)
{
	struct dl_scan *s = arg;
	struct env e;

	assert_int_equal(env_decode(msg, len, 1 << 20, &e), 0);
	if (strcmp(e.type, ENV_DEADLETTER_TYPE) == 0) {
		assert_string_equal(e.origin, "hub");
		assert_int_equal(env_verify(&e, reg, NULL, NOW), 0);
		assert_int_equal(expires_ms, NOW + HUB_DEADLETTER_TTL_MS);
		assert_int_equal(env_deadletter_unpack(e.payload, e.payload_len, &s->last), 0);
		s->n++;
	}
	env_clear(&e);
	return QUEUE_TAKE;
}

static struct dl_scan deadletters(struct fixture *f, const char *origin)
{
	struct dl_scan s = {0};
	int end;

	assert_int_equal(queue_scan(f->h.queue, origin, 0, dl_one, &s, &end), 0);
	return s;
}

/* The message bodies of dest's queue equal msg, n times. */
struct body_scan {
	const uint8_t *msg;
	size_t len, n;
};

static enum queue_visit body_one(void *arg, uint64_t qseq, uint64_t expires_ms, const uint8_t *msg,
				 size_t len)
{
	struct body_scan *s = arg;

	assert_int_equal(len, s->len);
	assert_memory_equal(msg, s->msg, len);
	s->n++;
	return QUEUE_TAKE;
}

static size_t bodies_equal(struct fixture *f, const char *dest, const uint8_t *msg, size_t len)
{
	struct body_scan s = {msg, len, 0};
	int end;

	assert_int_equal(queue_scan(f->h.queue, dest, 0, body_one, &s, &end), 0);
	return s.n;
}

static void test_accept_to_node(void **state)
{
	struct fixture *f = *state;
	size_t len;
	uint8_t *m = sign(K_A, "a", "b", "gov.Application", &len);

	assert_int_equal(push1(f, "a", 1, 0, m, len), 0);
	assert_int_equal(f->last, 1);
	assert_int_equal(f->ack.unsent, 1);
	assert_false(f->ack.now);
	assert_int_equal(f->h.stats.accepted, 1);
	assert_int_equal(queue_count(f->h.queue, "b"), 1);
	assert_int_equal(bodies_equal(f, "b", m, len), 1);
	assert_int_equal(route_flush(&f->h), 0);
	assert_int_equal(deadletters(f, "a").n, 0);
	assert_int_equal(commit(f), 0);
	/* The stream position is durable with the epoch. */
	{
		uint8_t e[QUEUE_EPOCH_LEN];
		uint64_t last;

		assert_int_equal(queue_origin_get(f->h.queue, "a", e, &last), 0);
		assert_memory_equal(e, EPOCH_A, QUEUE_EPOCH_LEN);
		assert_int_equal(last, 1);
	}
	free(m);
}

static void test_stream_rule(void **state)
{
	struct fixture *f = *state;
	uint8_t *m[3];
	size_t len[3];
	uint64_t seq[3] = {10, 11, 12}, prev[3] = {0, 10, 11};
	uint8_t other[QUEUE_EPOCH_LEN] = {0xee};

	for (int i = 0; i < 3; i++)
		m[i] = sign(K_A, "a", "b", "gov.Application", &len[i]);
	/* Seqs need not start at 1: prev_seq 0 starts the stream. */
	assert_int_equal(push_n(f, "a", 2, seq, prev, m, len), 0);
	assert_int_equal(f->last, 11);
	assert_int_equal(f->ack.unsent, 2);
	assert_int_equal(commit(f), 0);
	stream_ack_clear(&f->ack);

	/* Duplicate: acknowledged again at once, not stored again. */
	assert_int_equal(push1(f, "a", 11, 10, m[1], len[1]), 0);
	assert_int_equal(f->last, 11);
	assert_true(f->ack.now);
	assert_int_equal(f->ack.unsent, 0);
	assert_int_equal(f->h.stats.duplicates, 1);
	assert_int_equal(queue_count(f->h.queue, "b"), 2);
	stream_ack_clear(&f->ack);

	/* Gap: something before it is missing; ignored, no ack owed. */
	assert_int_equal(push1(f, "a", 14, 13, m[2], len[2]), 0);
	assert_int_equal(f->last, 11);
	assert_false(f->ack.now);
	assert_int_equal(f->ack.unsent, 0);
	assert_int_equal(queue_count(f->h.queue, "b"), 2);

	/* In order again (its prev_seq may be older than last). */
	assert_int_equal(push1(f, "a", 12, 0, m[2], len[2]), 0);
	assert_int_equal(f->last, 12);
	assert_int_equal(queue_count(f->h.queue, "b"), 3);
	assert_int_equal(commit(f), 0);

	/* Another outbox epoch is another stream: it starts afresh. */
	{
		Onestop__Transfer it = ONESTOP__TRANSFER__INIT;
		Onestop__Transfer *p = &it;
		Onestop__Transfers t = ONESTOP__TRANSFERS__INIT;

		it.seq = 1;
		it.msg.data = m[0];
		it.msg.len = len[0];
		t.n_items = 1;
		t.items = &p;
		assert_int_equal(route_push(&f->h, "a", other, &t, &f->ack, &f->last), 0);
		assert_int_equal(f->last, 1);
		assert_int_equal(queue_count(f->h.queue, "b"), 4);
	}
	for (int i = 0; i < 3; i++)
		free(m[i]);
}

static void test_topic_fanout(void **state)
{
	struct fixture *f = *state;
	size_t len, len2;
	uint8_t *m = sign(K_A, "a", "@news", "gov.Bulletin", &len);
	uint8_t *none = sign(K_A, "a", "@nobody", "gov.Bulletin", &len2);

	assert_int_equal(push1(f, "a", 1, 0, m, len), 0);
	assert_int_equal(f->last, 1);
	/* Every active subscriber but the origin. */
	assert_int_equal(queue_count(f->h.queue, "b"), 1);
	assert_int_equal(queue_count(f->h.queue, "c"), 1);
	assert_int_equal(queue_count(f->h.queue, "a"), 0);
	assert_int_equal(queue_count(f->h.queue, "d"), 0);
	assert_int_equal(bodies_equal(f, "b", m, len), 1);
	assert_int_equal(bodies_equal(f, "c", m, len), 1);
	/* A topic nobody subscribes to: dealt with, nothing stored for it,
	 * and a dead letter ENOSUBSCRIBER goes back to the origin. */
	assert_int_equal(push1(f, "a", 2, 1, none, len2), 0);
	assert_int_equal(f->last, 2);
	assert_int_equal(queue_total(f->h.queue), 2);
	assert_int_equal(f->h.stats.accepted, 1);
	assert_int_equal(f->h.stats.refused, 1);
	assert_int_equal(route_flush(&f->h), 0);
	assert_int_equal(commit(f), 0);
	assert_int_equal(deadletters(f, "a").n, 1);
	assert_int_equal(deadletters(f, "a").last.code, OS_ENOSUBSCRIBER);
	free(m);
	free(none);
}

/* Every refusal: acknowledged (it is dealt with), nothing queued for the
 * destination, a signed DeadLetter with the reason queued to the origin. */
struct refusal {
	const char *what;
	int signer;
	const char *origin; /* the envelope's origin */
	const char *pusher; /* the authenticated node */
	const char *dest;
	const char *type;
	int expired;
	int garbage;
	int code;
	const char *reason; /* a part of the DeadLetter's reason */
};

static void test_refusals(void **state)
{
	static const struct refusal cases[] = {
		{"unknown destination", K_A, "a", "a", "zz", "gov.X", 0, 0, OS_EUNKNOWN,
		 "not in the registry"},
		{"revoked destination", K_A, "a", "a", "d", "gov.X", 0, 0, OS_EREVOKED,
		 "destination is revoked"},
		{"type not allowed", K_N, "n", "n", "b", "other.X", 0, 0, OS_ENOTALLOWED,
		 "type other.X not allowed"},
		{"to the hub itself", K_A, "a", "a", "hub", "gov.X", 0, 0, OS_ENOTALLOWED,
		 "the hub takes no messages"},
		{"expired", K_A, "a", "a", "b", "gov.X", 1, 0, OS_EEXPIRED, "expired"},
		{"bad signature", K_STRANGER, "a", "a", "b", "gov.X", 0, 0, OS_EBADSIG, ""},
		{"origin mismatch", K_B, "b", "a", "c", "gov.X", 0, 0, OS_EORIGIN,
		 "not the authenticated node"},
		{"undecodable", K_A, "a", "a", "b", "gov.X", 0, 1, OS_EDECODE, "undecodable"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];
		struct fixture *f;
		struct dl_scan dl;
		uint64_t total;
		uint8_t *m;
		size_t len;

		assert_int_equal(setup(state), 0);
		f = *state;
		if (c->expired)
			m = sign_at(c->signer, c->origin, c->dest, c->type, NOW - 3000, NOW - 1000,
				    &len);
		else
			m = sign(c->signer, c->origin, c->dest, c->type, &len);
		if (c->garbage)
			memset(m, 0xff, len);
		total = queue_total(f->h.queue);
		assert_int_equal(push1(f, c->pusher, 7, 0, m, len), 0);
		if (f->last != 7 || f->ack.unsent != 1)
			fail_msg("%s: not acknowledged (last %llu)", c->what,
				 (unsigned long long)f->last);
		assert_int_equal(queue_total(f->h.queue), total);
		assert_int_equal(f->h.stats.refused, 1);
		assert_int_equal(f->h.stats.accepted, 0);
		assert_int_equal(route_flush(&f->h), 0);
		assert_int_equal(f->h.stats.deadletters, 1);
		assert_int_equal(commit(f), 0);
		dl = deadletters(f, c->pusher);
		if (dl.n != 1 || dl.last.code != c->code)
			fail_msg("%s: %zu dead letters, code %d (want %d)", c->what, dl.n,
				 dl.last.code, c->code);
		if (!strstr(dl.last.reason, c->reason))
			fail_msg("%s: reason \"%s\"", c->what, dl.last.reason);
		assert_string_equal(dl.last.refused_by, "hub");
		assert_int_equal(dl.last.has_id, !c->garbage);
		if (!c->garbage) {
			assert_string_equal(dl.last.destination, c->dest);
			assert_string_equal(dl.last.type, c->type);
		}
		assert_int_equal(queue_count(f->h.queue, c->dest), 0);
		free(m);
		teardown(state);
	}
	assert_int_equal(setup(state), 0); /* for the group's teardown */
}

static void test_no_deadletter_for_a_deadletter(void **state)
{
	struct fixture *f = *state;
	size_t len;
	uint8_t *m = sign(K_A, "a", "zz", ENV_DEADLETTER_TYPE, &len);

	assert_int_equal(push1(f, "a", 1, 0, m, len), 0);
	assert_int_equal(f->last, 1);
	assert_int_equal(f->h.stats.refused, 1);
	assert_int_equal(route_flush(&f->h), 0);
	assert_int_equal(f->h.stats.deadletters, 0);
	assert_int_equal(queue_total(f->h.queue), 0);
	assert_int_equal(commit(f), 0);
	free(m);
}

static void test_abort_forgets_deadletters(void **state)
{
	struct fixture *f = *state;
	size_t len;
	uint8_t *m = sign(K_A, "a", "zz", "gov.X", &len);

	assert_int_equal(push1(f, "a", 1, 0, m, len), 0);
	route_abort(&f->h);
	assert_int_equal(route_flush(&f->h), 0);
	assert_int_equal(f->h.stats.deadletters, 0);
	assert_int_equal(queue_count(f->h.queue, "a"), 0);
	free(m);
}

/* n messages from a numbered from first (seq first+i, prev the one
 * before), to dests[i], each with a payload of payload bytes. */
struct batch {
	uint8_t *m[8];
	size_t len[8];
	uint64_t seq[8], prev[8];
	size_t n;
};

static struct batch batch(uint64_t first, const char *const *dests, size_t n, size_t payload)
{
	struct batch b = {.n = n};
	uint8_t *buf = calloc(1, payload ? payload : 1);

	assert_non_null(buf);
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		struct env_draft d = {.destination = dests[i],
				      .type = "gov.X",
				      .payload = buf,
				      .payload_len = payload,
				      .expires_ms = NOW + HOUR};

		assert_int_equal(env_sign_batch("a", 1, keys[K_A].sign_sk, &d, 1, NOW - 1000,
						&b.m[i], &b.len[i], NULL),
				 0);
		b.seq[i] = first + i;
		b.prev[i] = first + i - 1;
	}
	free(buf);
	return b;
}

static void batch_free(struct batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->m[i]);
}

static int push_batch(struct fixture *f, struct batch *b, size_t from)
{
	return push_n(f, "a", b->n - from, b->seq + from, b->prev + from, b->m + from,
		      b->len + from);
}

/* In entries: b's queue holds queue_quota (8); past it a's messages for b
 * are held (charged to a's hold, a quarter of the quota) and its message
 * for c still goes; once a holds its share and hold (10) the stream stops
 * there, and goes on when b's reader acknowledges. */
static void test_quota_holds_a_full_destination(void **state)
{
	struct fixture *f = *state;
	const char *to[8] = {"b", "b", "b", "b", "b", "b", "b", "b"};
	const char *more[4] = {"b", "c", "b", "c"};
	struct batch b1, b2;
	struct queue_usage u;
	uint64_t removed;

	f->h.conf.queue_quota = 8;
	b1 = batch(1, to, 8, 5);
	b2 = batch(9, more, 4, 5);
	assert_int_equal(push_batch(f, &b1, 0), 0);
	assert_int_equal(f->last, 8);
	assert_int_equal(push_batch(f, &b2, 0), 0);
	/* 9 (b, held) and 10 (c) are taken; 11 would pass a's 10. */
	assert_int_equal(f->last, 10);
	assert_int_equal(f->h.stats.over_quota, 1);
	assert_int_equal(f->h.stats.refused, 0);
	assert_int_equal(queue_count(f->h.queue, "b"), 9);
	assert_int_equal(queue_count(f->h.queue, "c"), 1);
	queue_usage_origin(f->h.queue, "a", &u);
	assert_int_equal(u.entries, 10);
	assert_int_equal(u.held_entries, 1);
	assert_int_equal(commit(f), 0);
	/* Retransmitted while still full: nothing moves. */
	assert_int_equal(push_batch(f, &b2, 2), 0);
	assert_int_equal(f->last, 10);
	/* b's reader acknowledges four: the stream goes on, unheld. */
	assert_int_equal(queue_ack(f->h.queue, "b", (uint64_t)4 << QUEUE_ROUND_SHIFT | 1u,
				   &removed),
			 0);
	assert_int_equal(removed, 4);
	assert_int_equal(commit(f), 0);
	assert_int_equal(push_batch(f, &b2, 2), 0);
	assert_int_equal(f->last, 12);
	queue_usage_origin(f->h.queue, "a", &u);
	assert_int_equal(u.entries, 8);
	assert_int_equal(u.held_entries, 1);
	assert_int_equal(commit(f), 0);
	batch_free(&b1);
	batch_free(&b2);
}

/* In bytes: a destination holds its share of queue_bytes (2% of 1 MiB);
 * past it a's hold (a quarter of that) takes one more message of 4.5 KB,
 * and then the stream stops, with a's message for c behind. */
static void test_quota_bytes_and_hold(void **state)
{
	struct fixture *f = *state;
	const char *to[7] = {"b", "b", "b", "b", "b", "b", "c"};
	struct batch b;
	struct queue_usage u;

	f->h.conf.queue_bytes_mb = 1;
	f->h.conf.node_share_percent = 2; /* 20970 bytes; hold 5242 */
	b = batch(1, to, 7, 4500);
	assert_int_equal(push_batch(f, &b, 0), 0);
	assert_int_equal(f->last, 5);
	assert_int_equal(f->h.stats.over_quota, 1);
	queue_usage_dest(f->h.queue, "b", &u);
	assert_int_equal(u.entries, 5);
	assert_int_equal(u.bytes, 5 * b.len[0]);
	assert_int_equal(u.held_entries, 1);
	queue_usage_origin(f->h.queue, "a", &u);
	assert_int_equal(u.bytes, 5 * b.len[0]);
	assert_int_equal(u.held_bytes, b.len[0]);
	assert_int_equal(queue_count(f->h.queue, "c"), 0);
	assert_int_equal(commit(f), 0);
	batch_free(&b);
}

/* The reserve: past queue_bytes less reserve_percent, only origins
 * holding less than an eighth of the reserve get in. */
static void test_quota_reserve(void **state)
{
	struct fixture *f = *state;
	const char *to[8] = {"b", "b", "b", "b", "b", "b", "b", "b"};
	struct batch b;
	uint8_t *m;
	size_t len;
	uint8_t buf[60000] = {0};
	struct env_draft d = {.destination = "b",
			      .type = "gov.X",
			      .payload = buf,
			      .payload_len = sizeof(buf),
			      .expires_ms = NOW + HOUR};

	f->h.conf.queue_bytes_mb = 1;
	f->h.conf.node_share_percent = 100;
	f->h.conf.reserve_percent = 50; /* shared: 512 KiB; small: 64 KiB */
	b = batch(1, to, 8, 60000);
	assert_int_equal(push_batch(f, &b, 0), 0);
	assert_int_equal(f->last, 8);
	assert_int_equal(commit(f), 0);
	/* a's ninth would take the total past the shared part. */
	batch_free(&b);
	b = batch(9, to, 1, 60000);
	assert_int_equal(push_batch(f, &b, 0), 0);
	assert_int_equal(f->last, 8);
	assert_int_equal(f->h.stats.over_quota, 1);
	/* c, holding nothing, is served from the reserve. */
	assert_int_equal(env_sign_batch("c", 1, keys[K_C].sign_sk, &d, 1, NOW - 1000, &m, &len,
					NULL),
			 0);
	f->last = 0;
	assert_int_equal(push1(f, "c", 1, 0, m, len), 0);
	assert_int_equal(f->last, 1);
	assert_int_equal(queue_count(f->h.queue, "b"), 9);
	assert_int_equal(commit(f), 0);
	free(m);
	batch_free(&b);
}

static void test_expiry_deadletters(void **state)
{
	struct fixture *f = *state;
	size_t len;
	uint8_t *m = sign_at(K_A, "a", "b", "gov.X", NOW - 1000, NOW + 500, &len);
	struct dl_scan dl;

	assert_int_equal(push1(f, "a", 1, 0, m, len), 0);
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_count(f->h.queue, "b"), 1);
	/* Not yet due: the sweep leaves it. */
	assert_int_equal(route_sweep(&f->h), 0);
	assert_int_equal(queue_count(f->h.queue, "b"), 1);
	f->h.now_ms = NOW + 500;
	assert_int_equal(route_sweep(&f->h), 0);
	assert_int_equal(queue_count(f->h.queue, "b"), 0);
	assert_int_equal(f->h.stats.expired, 1);
	f->h.now_ms = NOW;
	assert_int_equal(route_flush(&f->h), 0);
	assert_int_equal(commit(f), 0);
	dl = deadletters(f, "a");
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.last.code, OS_EEXPIRED);
	assert_non_null(strstr(dl.last.reason, "expired before delivery to b"));
	free(m);
}

static void test_registry_active_node(void **state)
{
	(void)state;
	assert_non_null(registry_active_node(reg, "a"));
	assert_string_equal(registry_active_node(reg, "a")->name, "a");
	assert_null(registry_active_node(reg, "d"));  /* revoked */
	assert_null(registry_active_node(reg, "zz")); /* unknown */
	assert_null(registry_active_node(NULL, "a"));
	assert_null(registry_active_node(reg, NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_accept_to_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream_rule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_topic_fanout, setup, teardown),
		cmocka_unit_test_teardown(test_refusals, teardown),
		cmocka_unit_test_setup_teardown(test_no_deadletter_for_a_deadletter, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_abort_forgets_deadletters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_holds_a_full_destination, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_quota_bytes_and_hold, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quota_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry_deadletters, setup, teardown),
		cmocka_unit_test(test_registry_active_node),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
