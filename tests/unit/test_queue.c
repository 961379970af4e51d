/* Unit tests for hub/queue.c, in process over a store in a temporary
 * directory: one body per message with a reference per destination, scans
 * in key order, cumulative acks, lazy acks settled only with a commit,
 * aborts that forget, the expiry sweep, counters of entries and bytes per
 * destination and origin (exact through aborts, acks and a reopen), fair
 * places across origins, the migration of a format-1 store, and a reopen
 * that finds everything again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "hub.h"
#include "log.h"
#include "queue.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#define NOW 1800000000000ull
#define LATER (NOW + 3600000ull)
/* The key of round r for the first origin numbered (put's "o"). */
#define Q(r) ((uint64_t)(r) << QUEUE_ROUND_SHIFT | 1u)

struct fixture {
	char *dir;
	struct hub h;
	struct queue *q;
	store_dbi msgs; /* the queue's bodies, to count them */
};

static void fx_open(struct fixture *f)
{
	assert_int_equal(store_open(f->dir, 64, 16, &f->h.st), 0);
	assert_int_equal(queue_open(&f->h, &f->q), 0);
	assert_int_equal(store_dbi_open(f->h.st, "msgs", &f->msgs), 0);
}

static void fx_close(struct fixture *f)
{
	queue_close(&f->q);
	store_abort(&f->h.txn);
	store_close(&f->h.st);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	f->dir = tu_mkdtemp();
	if (!f->dir)
		return -1;
	f->h.now_ms = NOW;
	f->h.now_us = 1000000;
	fx_open(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	fx_close(f);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

/* End the iteration as the loop does: commit (or abort), then tell the
 * queue. Returns the commit's result. */
static int commit(struct fixture *f)
{
	int rc = hub_commit(&f->h);

	queue_txn_end(f->q, rc == 0);
	return rc;
}

static void put_from(struct fixture *f, const char *origin, const char *const *dests, size_t n,
		     const char *body, uint64_t expires)
{
	assert_int_equal(queue_put(f->q, origin, dests, n, NULL, (const uint8_t *)body,
				   strlen(body), expires),
			 0);
}

static void put(struct fixture *f, const char *const *dests, size_t n, const char *body,
		uint64_t expires)
{
	put_from(f, "o", dests, n, body, expires);
}

/* What a scan saw. */
struct seen {
	size_t n;
	uint64_t qseq[16];
	char body[16][32];
	size_t stop_after; /* QUEUE_STOP once this many were taken (0: never) */
};

static enum queue_visit see(void *arg, uint64_t qseq, uint64_t expires_ms, const uint8_t *msg,
			    size_t len)
{
	struct seen *s = arg;

	if (s->stop_after && s->n == s->stop_after)
		return QUEUE_STOP;
	assert_true(s->n < 16 && len < 32);
	s->qseq[s->n] = qseq;
	memcpy(s->body[s->n], msg, len);
	s->body[s->n][len] = 0;
	s->n++;
	return QUEUE_TAKE;
}

static struct seen scan(struct fixture *f, const char *dest, uint64_t after, int *at_end)
{
	struct seen s = {0};
	int end = 0;

	assert_int_equal(queue_scan(f->q, dest, after, see, &s, &end), 0);
	if (at_end)
		*at_end = end;
	return s;
}

/* Message bodies stored, counted in the iteration's transaction. */
static uint64_t bodies(struct fixture *f)
{
	struct store_txn *t;
	uint64_t n = 0;

	assert_int_equal(hub_txn(&f->h, &t), 0);
	assert_int_equal(store_count(t, f->msgs, &n), 0);
	return n;
}

static void test_put_scan_ack(void **state)
{
	struct fixture *f = *state;
	const char *ab[] = {"a", "b"}, *a[] = {"a"};
	struct seen s;
	uint64_t removed;
	int end;

	put(f, ab, 2, "first", LATER);
	put(f, a, 1, "second", LATER);
	put(f, ab, 2, "third", LATER);
	assert_int_equal(queue_count(f->q, "a"), 3);
	assert_int_equal(queue_count(f->q, "b"), 2);
	assert_int_equal(queue_count(f->q, "c"), 0);
	assert_int_equal(queue_total(f->q), 5);
	assert_int_equal(bodies(f), 3); /* stored once, whatever the fan-out */
	assert_int_equal(commit(f), 0);
	assert_int_equal(f->h.stats.commits, 1);
	assert_int_equal(f->h.stats.queued, 5);

	/* Each destination sees its entries in order, one round each. */
	s = scan(f, "a", 0, &end);
	assert_int_equal(s.n, 3);
	assert_true(end);
	assert_int_equal(s.qseq[0], Q(1));
	assert_int_equal(s.qseq[1], Q(2));
	assert_int_equal(s.qseq[2], Q(3));
	assert_string_equal(s.body[0], "first");
	assert_string_equal(s.body[1], "second");
	assert_string_equal(s.body[2], "third");
	s = scan(f, "b", 0, NULL);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.body[0], "first");
	assert_string_equal(s.body[1], "third");
	/* From a position, and stopping early. */
	s = scan(f, "a", Q(2), NULL);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.body[0], "third");
	s = (struct seen){.stop_after = 1};
	assert_int_equal(queue_scan(f->q, "a", 0, see, &s, &end), 0);
	assert_int_equal(s.n, 1);
	assert_false(end);

	/* A cumulative ack of a's first two keeps "first" for b. */
	assert_int_equal(queue_ack(f->q, "a", Q(2), &removed), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(bodies(f), 2); /* "second" had one reference */
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_count(f->q, "a"), 1);
	s = scan(f, "b", 0, NULL);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.body[0], "first");
	assert_int_equal(queue_ack(f->q, "b", Q(1), &removed), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(bodies(f), 1); /* the last reference took "first" */
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_total(f->q), 2);
	assert_int_equal(f->h.stats.queued, 2);
}

static void test_ack_later_settles_with_a_commit(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {"a"};
	uint64_t since;
	struct seen s;

	put(f, a, 1, "m1", LATER);
	put(f, a, 1, "m2", LATER);
	put(f, a, 1, "m3", LATER);
	assert_int_equal(commit(f), 0);
	assert_false(queue_acks_pending(f->q, NULL));

	assert_int_equal(queue_ack_later(f->q, "a", Q(2), f->h.now_us), 0);
	assert_true(queue_acks_pending(f->q, &since));
	assert_int_equal(since, f->h.now_us);
	/* Gone for every purpose but the disk. */
	s = scan(f, "a", 0, NULL);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.body[0], "m3");
	assert_int_equal(queue_count(f->q, "a"), 3);
	assert_int_equal(commit(f), 0); /* read only: nothing to sync */
	assert_int_equal(f->h.stats.commits, 1);

	/* Nothing else writes and the ack is fresh: no deletion yet. */
	assert_int_equal(queue_settle(f->q, 0), 0);
	assert_null(f->h.txn);
	assert_int_equal(queue_count(f->q, "a"), 3);

	/* An iteration that writes anyway takes the deletion along. */
	put(f, (const char *[]){"b"}, 1, "other", LATER);
	assert_int_equal(queue_settle(f->q, 0), 0);
	assert_int_equal(queue_count(f->q, "a"), 1);
	assert_int_equal(f->h.stats.delivered, 2);
	/* ... but an abort brings them back, still waiting. */
	hub_fail(&f->h, OS_ESTORE);
	assert_int_equal(commit(f), OS_ESTORE);
	assert_int_equal(queue_count(f->q, "a"), 3);
	assert_int_equal(queue_count(f->q, "b"), 0);
	assert_true(queue_acks_pending(f->q, NULL));

	/* Once the oldest ack has waited HUB_LAZY_DELETE_MS it goes alone. */
	f->h.now_us = since + HUB_LAZY_DELETE_MS * 1000 - 1;
	assert_int_equal(queue_settle(f->q, 0), 0);
	assert_int_equal(queue_count(f->q, "a"), 3);
	f->h.now_us = since + HUB_LAZY_DELETE_MS * 1000;
	assert_int_equal(queue_settle(f->q, 0), 0);
	assert_int_equal(queue_count(f->q, "a"), 1);
	assert_int_equal(commit(f), 0);
	assert_false(queue_acks_pending(f->q, NULL));
	assert_int_equal(queue_count(f->q, "a"), 1);
	s = scan(f, "a", 0, NULL);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.qseq[0], Q(3));

	/* A stale ack changes nothing; force settles at once. */
	assert_int_equal(queue_ack_later(f->q, "a", Q(1), f->h.now_us), 0);
	assert_false(queue_acks_pending(f->q, NULL));
	assert_int_equal(queue_ack_later(f->q, "a", Q(3), f->h.now_us), 0);
	assert_int_equal(queue_settle(f->q, 1), 0);
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_count(f->q, "a"), 0);
	assert_int_equal(queue_total(f->q), 0);
}

static void test_abort_forgets(void **state)
{
	struct fixture *f = *state;
	const char *ab[] = {"a", "b"};
	uint8_t epoch[QUEUE_EPOCH_LEN] = {7}, got[QUEUE_EPOCH_LEN];
	uint64_t last;

	put(f, ab, 2, "kept", LATER);
	assert_int_equal(commit(f), 0);
	put(f, ab, 2, "lost", LATER);
	assert_int_equal(queue_origin_put(f->q, "a", epoch, 9), 0);
	assert_int_equal(queue_total(f->q), 4);
	/* A clean iteration commits nothing; a spoiled one aborts. */
	hub_fail(&f->h, OS_EFULL);
	/* Once spoiled, nothing more runs in it. */
	assert_int_equal(queue_put(f->q, "o", ab, 2, NULL, (const uint8_t *)"x", 1, LATER),
			 OS_EFULL);
	assert_int_equal(commit(f), OS_EFULL);
	assert_int_equal(f->h.stats.commits, 1);
	assert_int_equal(queue_total(f->q), 2);
	assert_int_equal(queue_count(f->q, "a"), 1);
	assert_int_equal(scan(f, "a", 0, NULL).n, 1);
	assert_int_equal(scan(f, "b", 0, NULL).n, 1);
	assert_int_equal(queue_origin_get(f->q, "a", got, &last), OS_ENOTFOUND);
	assert_int_equal(bodies(f), 1);
	/* The next put takes a later key (the aborted round is skipped). */
	put(f, ab, 2, "next", LATER);
	assert_int_equal(commit(f), 0);
	assert_int_equal(scan(f, "a", 0, NULL).qseq[1], Q(3));
}

/* What the sweep was offered; it deletes all but `keep`. */
struct swept {
	size_t n;
	char dest[8][8];
	uint64_t qseq[8];
	char body[8][16];
	uint64_t keep; /* qseq kept (e.g. in flight), 0: none */
};

static int expire(void *arg, const char *dest, uint64_t qseq, const uint8_t *msg, size_t len)
{
	struct swept *s = arg;

	assert_true(s->n < 8 && len < 16 && msg);
	snprintf(s->dest[s->n], sizeof(s->dest[0]), "%s", dest);
	s->qseq[s->n] = qseq;
	memcpy(s->body[s->n], msg, len);
	s->body[s->n][len] = 0;
	s->n++;
	return qseq != s->keep;
}

static void test_sweep(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {"a"}, *b[] = {"b"};
	struct swept s = {0};
	uint64_t removed;

	put(f, a, 1, "a-old", NOW - 10);
	put(f, a, 1, "a-new", LATER);
	put(f, b, 1, "b-old1", NOW - 5);
	put(f, b, 1, "b-old2", NOW);
	put(f, b, 1, "b-new", LATER);
	assert_int_equal(commit(f), 0);
	/* Delivered entries whose deletion waits are not offered. */
	assert_int_equal(queue_ack_later(f->q, "b", Q(1), f->h.now_us), 0);

	s.keep = Q(2); /* b's second is in flight: kept */
	assert_int_equal(queue_sweep(f->q, NOW, 100, expire, &s, &removed), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(removed, 1);
	assert_string_equal(s.dest[0], "a");
	assert_string_equal(s.body[0], "a-old");
	assert_string_equal(s.dest[1], "b");
	assert_int_equal(s.qseq[1], Q(2));
	assert_string_equal(s.body[1], "b-old2");
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_count(f->q, "a"), 1);
	assert_int_equal(queue_count(f->q, "b"), 3);

	/* A budget of one visits one entry per run and goes on from there. */
	s = (struct swept){0};
	for (int i = 0; i < 6; i++)
		assert_int_equal(queue_sweep(f->q, NOW, 1, expire, &s, &removed), 0);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.body[0], "b-old2");
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_count(f->q, "b"), 2);
}

static void test_reopen_keeps_everything(void **state)
{
	struct fixture *f = *state;
	const char *ab[] = {"a", "b"}, *a[] = {"a"};
	uint8_t epoch[QUEUE_EPOCH_LEN], origin_epoch[QUEUE_EPOCH_LEN], got[QUEUE_EPOCH_LEN];
	uint64_t last, removed;
	struct seen s;

	memcpy(epoch, queue_epoch(f->q), QUEUE_EPOCH_LEN);
	memset(origin_epoch, 0x5a, sizeof(origin_epoch));
	put(f, ab, 2, "one", LATER);
	put(f, a, 1, "two", LATER);
	assert_int_equal(queue_origin_put(f->q, "gd.sz", origin_epoch, 41), 0);
	assert_int_equal(commit(f), 0);
	assert_int_equal(queue_ack(f->q, "a", Q(1), &removed), 0);
	assert_int_equal(commit(f), 0);

	fx_close(f);
	memset(&f->h.stats, 0, sizeof(f->h.stats));
	fx_open(f);
	assert_memory_equal(queue_epoch(f->q), epoch, QUEUE_EPOCH_LEN);
	assert_int_equal(queue_count(f->q, "a"), 1);
	assert_int_equal(queue_count(f->q, "b"), 1);
	assert_int_equal(queue_total(f->q), 2);
	assert_int_equal(f->h.stats.queued, 2);
	assert_int_equal(queue_origin_get(f->q, "gd.sz", got, &last), 0);
	assert_memory_equal(got, origin_epoch, QUEUE_EPOCH_LEN);
	assert_int_equal(last, 41);
	/* Keys and bodies go on where they were: nothing is overwritten. */
	put(f, ab, 2, "three", LATER);
	assert_int_equal(commit(f), 0);
	s = scan(f, "a", 0, NULL);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.qseq[0], Q(2));
	assert_string_equal(s.body[0], "two");
	assert_int_equal(s.qseq[1], Q(3));
	assert_string_equal(s.body[1], "three");
	s = scan(f, "b", 0, NULL);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.body[0], "one");
	assert_string_equal(s.body[1], "three");
	assert_int_equal(bodies(f), 3);
	assert_int_equal(commit(f), 0);
}

static void test_bad_names(void **state)
{
	struct fixture *f = *state;
	char longname[OS_NAME_MAX + 4];
	const char *d[] = {longname};

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(queue_put(f->q, "o", d, 1, NULL, (const uint8_t *)"m", 1, LATER),
			 OS_ENAME);
	assert_int_equal(queue_put(f->q, longname, (const char *[]){"a"}, 1, NULL,
				   (const uint8_t *)"m", 1, LATER),
			 OS_ENAME);
	/* The caller spoils the iteration with it (routing does). */
	hub_fail(&f->h, OS_ENAME);
	assert_int_equal(commit(f), OS_ENAME);
	assert_int_equal(queue_total(f->q), 0);
	assert_int_equal(bodies(f), 0);
}

static void usage_is(struct fixture *f, int origin, const char *name, uint64_t entries,
		     uint64_t bytes, uint64_t held_entries, uint64_t held_bytes)
{
	struct queue_usage u;

	if (origin)
		queue_usage_origin(f->q, name, &u);
	else
		queue_usage_dest(f->q, name, &u);
	assert_int_equal(u.entries, entries);
	assert_int_equal(u.bytes, bytes);
	assert_int_equal(u.held_entries, held_entries);
	assert_int_equal(u.held_bytes, held_bytes);
}

/* Entries and bytes per destination, per origin and in all: a message for
 * two destinations counts whole at each, once (split) at its origin;
 * aborts forget, acks and the sweep count out, a reopen counts again. */
static void test_usage_accounting(void **state)
{
	struct fixture *f = *state;
	const char *a[] = {"a"}, *ab[] = {"a", "b"};
	const uint8_t held[] = {1};
	struct queue_usage t;
	uint64_t removed;

	put_from(f, "x", a, 1, "0123456789", LATER); /* 10 bytes */
	put_from(f, "x", ab, 2, "012345678", LATER); /* 9: charged 5 + 4 */
	assert_int_equal(queue_put(f->q, "y", a, 1, held, (const uint8_t *)"01234", 5, LATER), 0);
	usage_is(f, 0, "a", 3, 24, 1, 5);
	usage_is(f, 0, "b", 1, 9, 0, 0);
	usage_is(f, 1, "x", 3, 19, 0, 0);
	usage_is(f, 1, "y", 1, 5, 1, 5);
	usage_is(f, 1, "a", 0, 0, 0, 0);
	queue_usage_total(f->q, &t);
	assert_int_equal(t.entries, 4);
	assert_int_equal(t.bytes, 24);
	assert_int_equal(commit(f), 0);
	assert_int_equal(f->h.stats.queued_bytes, 24);

	/* An aborted iteration's changes are forgotten. */
	put_from(f, "y", a, 1, "lost", LATER);
	usage_is(f, 1, "y", 2, 9, 1, 5);
	hub_fail(&f->h, OS_ESTORE);
	assert_int_equal(commit(f), OS_ESTORE);
	usage_is(f, 1, "y", 1, 5, 1, 5);
	usage_is(f, 0, "a", 3, 24, 1, 5);

	/* Acked entries count out: a's first round holds x's first and y's
	 * (origin numbers 1 and 2). */
	assert_int_equal(queue_ack(f->q, "a", (uint64_t)1 << QUEUE_ROUND_SHIFT | 2u, &removed), 0);
	assert_int_equal(removed, 2);
	usage_is(f, 0, "a", 1, 9, 0, 0);
	usage_is(f, 1, "x", 2, 9, 0, 0);
	usage_is(f, 1, "y", 0, 0, 0, 0);
	assert_int_equal(commit(f), 0);

	/* A reopen counts the same from the store. */
	fx_close(f);
	memset(&f->h.stats, 0, sizeof(f->h.stats));
	fx_open(f);
	usage_is(f, 0, "a", 1, 9, 0, 0);
	usage_is(f, 0, "b", 1, 9, 0, 0);
	usage_is(f, 1, "x", 2, 9, 0, 0);
	usage_is(f, 1, "y", 0, 0, 0, 0);
	queue_usage_total(f->q, &t);
	assert_int_equal(t.entries, 2);
	assert_int_equal(t.bytes, 9);
	assert_int_equal(f->h.stats.queued_bytes, 9);

	/* The sweep counts out what it removes. */
	{
		struct swept s = {0};

		put_from(f, "y", (const char *[]){"b"}, 1, "old", NOW - 1);
		assert_int_equal(commit(f), 0);
		usage_is(f, 1, "y", 1, 3, 0, 0);
		usage_is(f, 0, "b", 2, 12, 0, 0);
		assert_int_equal(queue_sweep(f->q, NOW, 100, expire, &s, &removed), 0);
		assert_int_equal(removed, 1);
		assert_int_equal(commit(f), 0);
		usage_is(f, 1, "y", 0, 0, 0, 0);
		usage_is(f, 0, "b", 1, 9, 0, 0);
	}
}

/* What a scan of dest finds, as bodies joined by spaces. */
static void order_is(struct fixture *f, const char *dest, uint64_t after, const char *want)
{
	char got[256] = "";
	struct seen s = scan(f, dest, after, NULL);

	for (size_t i = 0; i < s.n; i++) {
		strcat(got, i ? " " : "");
		strcat(got, s.body[i]);
	}
	assert_string_equal(got, want);
}

/* A destination's queue serves origins round robin, each pair in order;
 * a newcomer goes right after what the reader was handed last, and a
 * restart keeps the places of what was queued. */
static void test_fair_places(void **state)
{
	struct fixture *f = *state;
	const char *d[] = {"d"};
	char body[8];
	struct seen s;

	for (int i = 1; i <= 5; i++) {
		snprintf(body, sizeof(body), "x%d", i);
		put_from(f, "x", d, 1, body, LATER);
	}
	put_from(f, "y", d, 1, "y1", LATER);
	put_from(f, "y", d, 1, "y2", LATER);
	assert_int_equal(commit(f), 0);

	/* The reader takes three (x1 y1 x2); z's first goes right after
	 * them (in x3's round), not after x5. */
	s = (struct seen){.stop_after = 3};
	assert_int_equal(queue_scan(f->q, "d", 0, see, &s, &(int){0}), 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.body[2], "x2");
	put_from(f, "z", d, 1, "z1", LATER);
	assert_int_equal(commit(f), 0);
	order_is(f, "d", 0, "x1 y1 x2 y2 x3 z1 x4 x5");

	/* After a reopen new entries go after everything queued before. */
	fx_close(f);
	fx_open(f);
	put_from(f, "z", d, 1, "z2", LATER);
	put_from(f, "x", d, 1, "x6", LATER);
	assert_int_equal(commit(f), 0);
	order_is(f, "d", 0, "x1 y1 x2 y2 x3 z1 x4 x5 x6 z2");
}

/* A format-1 store (16-byte queue values, no queue_format) is migrated
 * at open: each entry gets its size and origin from its body. */
static void test_migrate_format1(void **state)
{
	struct fixture *f = *state;
	struct os_keypair kp;
	struct env_draft dr = {.destination = "a",
			       .type = "t.x",
			       .payload = (const uint8_t *)"hi",
			       .payload_len = 2,
			       .expires_ms = LATER};
	store_dbi meta, queues, qnext;
	struct store_txn *t = NULL;
	uint8_t *msg = NULL, *body, k[16], v[16];
	size_t len = 0;

	assert_int_equal(crypto_setup(), 0);
	crypto_keypair_new(&kp);
	assert_int_equal(env_sign_batch("gd.sz", 1, kp.sign_sk, &dr, 1, NOW, &msg, &len, NULL), 0);
	fx_close(f);
	tu_rmrf(f->dir);
	f->dir = tu_mkdtemp();
	assert_non_null(f->dir);
	/* Written as the version before wrote it. */
	assert_int_equal(store_open(f->dir, 64, 16, &f->h.st), 0);
	assert_int_equal(store_dbi_open(f->h.st, "meta", &meta), 0);
	assert_int_equal(store_dbi_open(f->h.st, "msgs", &f->msgs), 0);
	assert_int_equal(store_dbi_open(f->h.st, "queues", &queues), 0);
	assert_int_equal(store_dbi_open(f->h.st, "qnext", &qnext), 0);
	assert_int_equal(store_begin(f->h.st, 0, &t), 0);
	body = malloc(len + 4);
	assert_non_null(body);
	memset(body, 0, 4);
	body[3] = 1;
	memcpy(body + 4, msg, len);
	os_put_u64be(k, 7);
	assert_int_equal(store_put(t, f->msgs, k, 8, body, len + 4), 0);
	memcpy(k, "a\0", 2);
	os_put_u64be(k + 2, 5);
	os_put_u64be(v, 7);
	os_put_u64be(v + 8, LATER);
	assert_int_equal(store_put(t, queues, k, 10, v, 16), 0);
	os_put_u64be(v, 6);
	assert_int_equal(store_put(t, qnext, "a", 1, v, 8), 0);
	assert_int_equal(store_commit(&t), 0);
	store_close(&f->h.st);
	free(body);

	fx_open(f);
	usage_is(f, 0, "a", 1, len, 0, 0);
	usage_is(f, 1, "gd.sz", 1, len, 0, 0);
	put_from(f, "o", (const char *[]){"a"}, 1, "new", LATER);
	assert_int_equal(commit(f), 0);
	{
		struct seen s = {0};
		int end = 0;

		s.stop_after = 0;
		assert_int_equal(queue_scan(f->q, "a", 5, see, &s, &end), 0);
		assert_int_equal(s.n, 1); /* past the migrated entry */
		assert_string_equal(s.body[0], "new");
		assert_true(s.qseq[0] > 5);
	}
	free(msg);
	crypto_keypair_wipe(&kp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_scan_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ack_later_settles_with_a_commit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_abort_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sweep, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_everything, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_usage_accounting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fair_places, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_format1, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
