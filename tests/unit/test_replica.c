/* Unit tests for the spoke's replica (spoke/replica*.c) and its read server
 * (spoke/reads.c), built without the daemon: a struct spoke over a store in
 * a temporary directory and a registry signed in memory, fed Changes,
 * Snapshot and Fetched frames as the hub link would, committed as the loop
 * would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "batchsig.h"
#include "crypto.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#include "reads.h"
#include "replica.h"
#include "replica_fetch.h"
#include "replica_read.h"
#include "spoke.h"

#include "testreg.h"
#include "testutil.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define HOUR 3600000ull
#define FULL "notes"   /* a full-mode dataset */
#define CACHED "cards" /* a cached-mode dataset */

static struct os_keypair root, me, pub, other;
static struct registry *reg;
static const uint8_t epoch_a[16] = {0xa};
static const uint8_t epoch_b[16] = {0xb};

/* ---------------------------------------------------------------- fixture */

static int group_setup(void **state)
{
	static char *both[] = {FULL, CACHED};
	struct registry *r = NULL;

	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	crypto_keypair_new(&root);
	crypto_keypair_new(&me);
	crypto_keypair_new(&pub);
	crypto_keypair_new(&other);
	if (registry_new(&r) != 0 || tu_reg_node(r, "hub", REG_ROLE_HUB, &root, NULL, 0) != 0 ||
	    tu_reg_node(r, "gd.me", REG_ROLE_SPOKE, &me, NULL, 0) != 0 ||
	    tu_reg_node(r, "gd.pub", REG_ROLE_SPOKE, &pub, both, 2) != 0 ||
	    tu_reg_node(r, "gd.other", REG_ROLE_SPOKE, &other, NULL, 0) != 0 ||
	    registry_set_dataset(r, FULL, REG_DS_FULL) != 0 ||
	    registry_set_dataset(r, CACHED, REG_DS_CACHED) != 0) {
		registry_free(&r);
		return -1;
	}
	return tu_reg_seal(&r, &root, os_now_ms(), &reg);
}

static int group_teardown(void **state)
{
	(void)state;
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	crypto_keypair_wipe(&me);
	crypto_keypair_wipe(&pub);
	crypto_keypair_wipe(&other);
	return 0;
}

/* One spoke's replica over a fresh store, and what it sent the hub. */
struct fx {
	char *dir;
	struct spoke sp;
	int up;            /* the hub session, as hub_io reports it */
	uint64_t fetch_id; /* the last Fetch sent */
	size_t n_fetches, n_acks;
	char ack_dataset[OS_NAME_MAX]; /* the last DatasetAck */
	uint64_t ack_seq;
};

static int fx_send(void *ctx, const struct Onestop__LinkFrame *f)
{
	struct fx *x = ctx;

	if (!x->up)
		return OS_ECONN;
	if (f->body_case == ONESTOP__LINK_FRAME__BODY_FETCH) {
		x->fetch_id = f->fetch->request_id;
		x->n_fetches++;
	} else if (f->body_case == ONESTOP__LINK_FRAME__BODY_DATASET_ACK) {
		snprintf(x->ack_dataset, sizeof(x->ack_dataset), "%s", f->dataset_ack->dataset);
		x->ack_seq = f->dataset_ack->seq;
		x->n_acks++;
	}
	return 0;
}

static int fx_up(void *ctx)
{
	return ((struct fx *)ctx)->up;
}

/* Commit the iteration as the loop does, then the replica's after-commit. */
static int fx_commit(struct fx *x)
{
	struct spoke *sp = &x->sp;
	int rc = sp->txn_err;

	if (rc < 0)
		store_abort(&sp->txn);
	else if (sp->txn && sp->txn_dirty)
		rc = store_commit(&sp->txn);
	else
		store_abort(&sp->txn);
	sp->txn_dirty = 0;
	sp->txn_err = 0;
	replica_after_commit(sp, rc);
	return rc;
}

/* (Re)start the replica, as the daemon's start-up does. */
static void fx_start(struct fx *x)
{
	struct store_txn *t = NULL;

	assert_int_equal(spoke_txn(&x->sp, &t), 0);
	assert_int_equal(replica_open(&x->sp, t), 0);
	assert_int_equal(fx_commit(x), 0);
}

static struct fx *fx_new(long long cache_entries)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct spoke *sp;

	assert_non_null(x);
	sp = &x->sp;
	x->dir = tu_mkdtemp();
	assert_non_null(x->dir);
	x->up = 1;
	sp->conf.name = "gd.me";
	sp->conf.hub_name = "hub";
	sp->conf.cache_entries = cache_entries;
	sp->conf.fetch_timeout_ms = 5000;
	sp->reg = reg;
	assert_int_equal(store_open(x->dir, 64, 4, &sp->st), 0);
	assert_int_equal(replica_dbis(sp->st, &sp->db_ds_cache, &sp->db_ds_pos), 0);
	assert_int_equal(batchsig_cache_new(64, &sp->cache), 0);
	sp->hub_io = (struct spoke_hub_io){.send = fx_send, .up = fx_up, .ctx = x};
	fx_start(x);
	return x;
}

static void fx_free(struct fx *x)
{
	replica_close(&x->sp);
	store_abort(&x->sp.txn);
	batchsig_cache_destroy(&x->sp.cache);
	replica_dbis_release(x->sp.st);
	store_close(&x->sp.st);
	tu_rm_tree(x->dir);
	free(x->dir);
	free(x);
}

/* ---------------------------------------------------------------- changes */

/* A publisher's signed change. */
struct chg {
	uint64_t seq;
	uint8_t *sg;
	size_t len;
};

/* Sign (dataset, key, value) as origin with kp; value NULL: a delete. */
static void chg_sign(struct chg *c, uint64_t seq, const char *origin, const struct os_keypair *kp,
		     const char *dataset, const char *key, const char *value)
{
	struct env_draft d = {0};
	uint8_t *payload = NULL;
	size_t plen = 0;

	assert_int_equal(ds_change_pack(dataset, key, value == NULL, (const uint8_t *)value,
					value ? strlen(value) : 0, &payload, &plen),
			 0);
	d.destination = "hub";
	d.type = DS_CHANGE_TYPE;
	d.payload = payload;
	d.payload_len = plen;
	d.expires_ms = os_now_ms() + HOUR;
	assert_int_equal(env_sign_batch(origin, 1, kp->sign_sk, &d, 1, os_now_ms(), &c->sg, &c->len,
					NULL),
			 0);
	c->seq = seq;
	free(payload);
}

/* Parse a list of changes: "1:a=x 2:b- !3:c=y ~4:d=z" is seq 1 puts a=x,
 * seq 2 deletes b, seq 3 comes from a node that may not publish, seq 4
 * claims gd.pub but is signed with another key. At most max; returns
 * how many. */
static size_t chg_parse(const char *dataset, const char *spec, struct chg *out, size_t max)
{
	char buf[512], *save = NULL;
	size_t n = 0;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		const char *origin = "gd.pub";
		const struct os_keypair *kp = &pub;
		char *key, *val = NULL;
		uint64_t seq;

		assert_true(n < max);
		if (*tok == '!') {
			origin = "gd.other";
			kp = &other;
			tok++;
		} else if (*tok == '~') {
			kp = &other;
			tok++;
		}
		seq = strtoull(tok, &key, 10);
		assert_int_equal(*key, ':');
		key++;
		if ((val = strchr(key, '=')) != NULL)
			*val++ = 0;
		else
			key[strlen(key) - 1] = 0; /* "b-" */
		chg_sign(&out[n++], seq, origin, kp, dataset, key, val);
	}
	return n;
}

static void chg_free(struct chg *c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(c[i].sg);
}

/* Apply one Changes frame of dataset in epoch and commit. Returns
 * replica_changes's result. */
static int fx_changes(struct fx *x, const char *dataset, const uint8_t *epoch, const char *spec)
{
	struct chg c[16];
	Onestop__Change items[16], *ptrs[16];
	Onestop__Changes f = ONESTOP__CHANGES__INIT;
	size_t n = chg_parse(dataset, spec, c, N_OF(c));
	int rc;

	for (size_t i = 0; i < n; i++) {
		onestop__change__init(&items[i]);
		items[i].seq = c[i].seq;
		items[i].signed_.data = c[i].sg;
		items[i].signed_.len = c[i].len;
		ptrs[i] = &items[i];
	}
	f.dataset = (char *)dataset;
	f.epoch.data = (uint8_t *)epoch;
	f.epoch.len = 16;
	f.n_items = n;
	f.items = ptrs;
	rc = replica_changes(&x->sp, &f);
	assert_int_equal(fx_commit(x), 0);
	chg_free(c, n);
	return rc;
}

/* Apply one Snapshot chunk (entries as for chg_parse) and commit. */
static int fx_snapshot(struct fx *x, const char *dataset, const uint8_t *epoch, uint64_t snap_seq,
		       int first, int last, const char *spec)
{
	struct chg c[16];
	Onestop__Change items[16], *ptrs[16];
	Onestop__Snapshot f = ONESTOP__SNAPSHOT__INIT;
	size_t n = chg_parse(dataset, spec, c, N_OF(c));
	int rc;

	for (size_t i = 0; i < n; i++) {
		onestop__change__init(&items[i]);
		items[i].seq = c[i].seq;
		items[i].signed_.data = c[i].sg;
		items[i].signed_.len = c[i].len;
		ptrs[i] = &items[i];
	}
	f.dataset = (char *)dataset;
	f.epoch.data = (uint8_t *)epoch;
	f.epoch.len = 16;
	f.snapshot_seq = snap_seq;
	f.first = first;
	f.last = last;
	f.n_entries = n;
	f.entries = ptrs;
	rc = replica_snapshot(&x->sp, &f);
	assert_int_equal(fx_commit(x), 0);
	chg_free(c, n);
	return rc;
}

/* Check what dataset holds: "a=x b=- c=y@3" (b absent, c's entry at seq 3). */
static void fx_expect(struct fx *x, const char *dataset, const char *spec)
{
	struct replica_entry *e = malloc(sizeof(*e));
	char buf[512], *save = NULL;

	assert_non_null(e);
	snprintf(buf, sizeof(buf), "%s", spec);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *val = strchr(tok, '='), *at;
		int rc;

		assert_non_null(val);
		*val++ = 0;
		at = strchr(val, '@');
		if (at)
			*at++ = 0;
		rc = replica_read(x->sp.st, dataset, tok, e);
		if (strcmp(val, "-") == 0) {
			if (rc != OS_ENOTFOUND)
				fail_msg("%s %s: held, expected absent", dataset, tok);
			continue;
		}
		if (rc != 0)
			fail_msg("%s %s: %s, expected %s", dataset, tok, os_errname(rc), val);
		if (e->value_len != strlen(val) || memcmp(e->value, val, e->value_len) != 0)
			fail_msg("%s %s: holds %.*s, expected %s", dataset, tok, (int)e->value_len,
				 (const char *)e->value, val);
		assert_string_equal(e->publisher, "gd.pub");
		if (at)
			assert_int_equal(e->seq, strtoull(at, NULL, 10));
	}
	free(e);
}

static uint64_t fx_seq(struct fx *x, const char *dataset, int *syncing)
{
	uint64_t seq;
	int s;

	replica_position(&x->sp, dataset, &seq, &s);
	if (syncing)
		*syncing = s;
	return seq;
}

/* ---------------------------------------------------------------- sequence */

static const struct {
	const char *name;
	const char *frames[4]; /* each one Changes frame; "B|" for epoch b */
	uint64_t seq;
	const char *holds;
} seq_cases[] = {
	{"consecutive changes apply", {"1:a=x 2:b=y 3:c=z"}, 3, "a=x@1 b=y@2 c=z@3"},
	{"a duplicate is ignored", {"1:a=x 2:b=y", "2:b=again 1:a=again"}, 2, "a=x@1 b=y@2"},
	{"a gap is dropped, not applied", {"1:a=x", "3:c=z"}, 1, "a=x c=-"},
	{"a gap inside a frame ends it", {"1:a=x 3:c=z 4:d=w"}, 1, "a=x c=- d=-"},
	{"the resent gap applies", {"1:a=x", "3:c=z", "2:b=y 3:c=z"}, 3, "a=x b=y c=z@3"},
	{"a publisher without the right: skipped, seq advances",
	 {"1:a=x !2:b=y 3:c=z"},
	 3,
	 "a=x b=- c=z"},
	{"a forged signature: skipped, seq advances", {"1:a=x ~2:a=forged"}, 2, "a=x@1"},
	{"a delete removes the entry", {"1:a=x 2:b=y 3:a-"}, 3, "a=- b=y"},
	{"another hub store's frame is ignored", {"1:a=x", "B|2:b=y"}, 1, "a=x b=-"},
};

static void test_changes_in_sequence(void **state)
{
	(void)state;
	for (size_t c = 0; c < N_OF(seq_cases); c++) {
		struct fx *x = fx_new(100);

		for (size_t f = 0; f < N_OF(seq_cases[c].frames) && seq_cases[c].frames[f]; f++) {
			const char *spec = seq_cases[c].frames[f];
			const uint8_t *ep = epoch_a;

			if (strncmp(spec, "B|", 2) == 0) {
				ep = epoch_b;
				spec += 2;
			}
			assert_int_equal(fx_changes(x, FULL, ep, spec), 0);
		}
		if (fx_seq(x, FULL, NULL) != seq_cases[c].seq)
			fail_msg("%s: at seq %llu, expected %llu", seq_cases[c].name,
				 (unsigned long long)fx_seq(x, FULL, NULL),
				 (unsigned long long)seq_cases[c].seq);
		fx_expect(x, FULL, seq_cases[c].holds);
		/* What was applied is acknowledged after the commit. */
		assert_string_equal(x->ack_dataset, FULL);
		assert_int_equal(x->ack_seq, seq_cases[c].seq);
		fx_free(x);
	}
}

static void test_position_survives_restart(void **state)
{
	struct fx *x = fx_new(100);
	Onestop__DatasetPosition **pos = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(fx_changes(x, FULL, epoch_a, "1:a=x 2:b=y"), 0);
	replica_close(&x->sp);
	fx_start(x);
	assert_int_equal(fx_seq(x, FULL, NULL), 2);
	/* Hello names every declared dataset (registry order), with the
	 * epoch its seq belongs to. */
	assert_int_equal(replica_positions(&x->sp, &pos, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pos[0]->dataset, CACHED);
	assert_int_equal(pos[0]->seq, 0);
	assert_int_equal(pos[0]->epoch.len, 0);
	assert_string_equal(pos[1]->dataset, FULL);
	assert_int_equal(pos[1]->seq, 2);
	assert_int_equal(pos[1]->epoch.len, 16);
	assert_memory_equal(pos[1]->epoch.data, epoch_a, 16);
	replica_positions_free(pos, n);
	/* The stream goes on after the restart. */
	assert_int_equal(fx_changes(x, FULL, epoch_a, "2:b=again 3:c=z"), 0);
	fx_expect(x, FULL, "a=x b=y c=z");
	fx_free(x);
}

static void test_undeclared_dataset_dropped(void **state)
{
	struct fx *x = fx_new(100);

	(void)state;
	assert_int_equal(fx_changes(x, "undeclared", epoch_a, "1:a=x"), 0);
	assert_int_equal(fx_seq(x, "undeclared", NULL), 0);
	fx_expect(x, "undeclared", "a=-");
	fx_free(x);
}

/* ---------------------------------------------------------------- entry seq */

static void test_entry_seq_rule(void **state)
{
	struct fx *x = fx_new(100);

	(void)state;
	/* A snapshot read across iterations: entries may be newer than the
	 * seq it began at. */
	assert_int_equal(fx_snapshot(x, FULL, epoch_a, 3, 1, 1, "5:a=new 2:b=old"), 0);
	assert_int_equal(fx_seq(x, FULL, NULL), 3);
	fx_expect(x, FULL, "a=new@5 b=old@2");
	/* The stream from 4 overlaps: an entry never goes back. */
	assert_int_equal(fx_changes(x, FULL, epoch_a, "4:a=stale 5:a=stale 6:b=fresh"), 0);
	assert_int_equal(fx_seq(x, FULL, NULL), 6);
	fx_expect(x, FULL, "a=new@5 b=fresh@6");
	assert_int_equal(fx_changes(x, FULL, epoch_a, "7:a=newest"), 0);
	fx_expect(x, FULL, "a=newest@7 b=fresh@6");
	fx_free(x);
}

/* ---------------------------------------------------------------- snapshots */

static void test_snapshot_replaces_copy(void **state)
{
	struct fx *x = fx_new(100);
	Onestop__DatasetPosition **pos = NULL;
	size_t n = 0;
	int syncing;

	(void)state;
	assert_int_equal(fx_changes(x, FULL, epoch_a, "1:a=x 2:b=y"), 0);
	assert_int_equal(fx_snapshot(x, FULL, epoch_b, 10, 1, 0, "9:c=z"), 0);
	assert_int_equal(fx_seq(x, FULL, &syncing), 0);
	assert_true(syncing);
	fx_expect(x, FULL, "a=- b=- c=z@9");
	/* Changes wait for the snapshot's end. */
	assert_int_equal(fx_changes(x, FULL, epoch_b, "11:d=w"), 0);
	fx_expect(x, FULL, "d=-");
	/* Hello says 0 while the snapshot is incomplete. */
	assert_int_equal(replica_positions(&x->sp, &pos, &n), 0);
	assert_string_equal(pos[1]->dataset, FULL);
	assert_int_equal(pos[1]->seq, 0);
	replica_positions_free(pos, n);
	/* ... so the partial copy goes before the next frame, even a chunk
	 * that would have continued it ... */
	assert_int_equal(fx_snapshot(x, FULL, epoch_b, 10, 0, 1, "10:d=w"), 0);
	assert_int_equal(fx_seq(x, FULL, &syncing), 0);
	assert_false(syncing);
	fx_expect(x, FULL, "c=- d=-");
	/* ... and a new snapshot comes. */
	assert_int_equal(fx_snapshot(x, FULL, epoch_b, 12, 1, 0, "8:e=v"), 0);
	fx_expect(x, FULL, "c=- e=v@8");
	assert_int_equal(fx_snapshot(x, FULL, epoch_b, 12, 0, 0, "10:f=u"), 0);
	assert_int_equal(fx_snapshot(x, FULL, epoch_b, 12, 0, 1, "12:g=t"), 0);
	assert_int_equal(fx_seq(x, FULL, &syncing), 12);
	assert_false(syncing);
	fx_expect(x, FULL, "a=- b=- c=- e=v f=u g=t@12");
	assert_int_equal(x->ack_seq, 12);
	/* The stream continues from snapshot_seq + 1. */
	assert_int_equal(fx_changes(x, FULL, epoch_b, "12:h=dup 13:h=s"), 0);
	assert_int_equal(fx_seq(x, FULL, NULL), 13);
	fx_expect(x, FULL, "h=s@13");
	/* A chunk of a snapshot given up changes nothing. */
	assert_int_equal(fx_snapshot(x, FULL, epoch_b, 12, 0, 1, "12:i=late"), 0);
	assert_int_equal(fx_seq(x, FULL, NULL), 13);
	fx_expect(x, FULL, "i=- h=s");
	fx_free(x);
}

static void test_interrupted_snapshot_dropped_at_start(void **state)
{
	struct fx *x = fx_new(100);
	int syncing;

	(void)state;
	assert_int_equal(fx_snapshot(x, FULL, epoch_a, 5, 1, 0, "4:a=x"), 0);
	fx_expect(x, FULL, "a=x");
	replica_close(&x->sp);
	fx_start(x);
	assert_int_equal(fx_seq(x, FULL, &syncing), 0);
	assert_false(syncing);
	fx_expect(x, FULL, "a=-");
	fx_free(x);
}

/* ---------------------------------------------------------------- cached */

/* Ask the hub for dataset/key as a miss does; the fetch's id. */
static uint64_t fx_fetch(struct fx *x, const char *dataset, const char *key)
{
	uint64_t id = 0;
	size_t before = x->n_fetches;

	assert_int_equal(replica_fetch_start(&x->sp, replica_fetch_table(&x->sp), dataset, key,
					     &id),
			 0);
	assert_int_equal(x->n_fetches, before + 1);
	assert_int_equal(x->fetch_id, id);
	return id;
}

/* The hub's answer to fetch id: spec as for chg_parse (one entry), or
 * NULL for not found; code for an error. Applied and committed. */
static void fx_fetched(struct fx *x, uint64_t id, const char *dataset, const char *spec, int code)
{
	Onestop__Fetched f = ONESTOP__FETCHED__INIT;
	Onestop__Change e = ONESTOP__CHANGE__INIT;
	struct chg c[1];
	size_t n = spec ? chg_parse(dataset, spec, c, 1) : 0;

	f.request_id = id;
	f.code = code;
	if (n) {
		f.found = 1;
		e.seq = c[0].seq;
		e.signed_.data = c[0].sg;
		e.signed_.len = c[0].len;
		f.entry = &e;
	}
	assert_int_equal(replica_fetched(&x->sp, &f), 0);
	assert_int_equal(fx_commit(x), 0);
	chg_free(c, n);
}

static enum replica_fetch_state fx_fetch_state(struct fx *x, uint64_t id)
{
	const struct replica_fetch *f = replica_fetch_get(replica_fetch_table(&x->sp), id);

	assert_non_null(f);
	return f->state;
}

/* Fill key (value v at seq) through a fetch, as a miss does. */
static void fx_fill(struct fx *x, const char *key, uint64_t seq, const char *v)
{
	char spec[128];
	uint64_t id = fx_fetch(x, CACHED, key);

	snprintf(spec, sizeof(spec), "%llu:%s=%s", (unsigned long long)seq, key, v);
	fx_fetched(x, id, CACHED, spec, 0);
	assert_int_equal(fx_fetch_state(x, id), REPLICA_FETCH_FILLED);
	replica_fetch_forget(replica_fetch_table(&x->sp), id);
}

static void test_cached_follows_held_keys(void **state)
{
	struct fx *x = fx_new(100);

	(void)state;
	/* Changes to keys not held only advance the seq. */
	assert_int_equal(fx_changes(x, CACHED, epoch_a, "1:a=x 2:b=y"), 0);
	assert_int_equal(fx_seq(x, CACHED, NULL), 2);
	fx_expect(x, CACHED, "a=- b=-");
	fx_fill(x, "a", 1, "x");
	fx_expect(x, CACHED, "a=x@1");
	/* A held key follows the stream; others still do not. */
	assert_int_equal(fx_changes(x, CACHED, epoch_a, "3:a=z 4:b=w"), 0);
	fx_expect(x, CACHED, "a=z@3 b=-");
	/* A fill older than what is held does not go back. */
	fx_fill(x, "a", 2, "old");
	fx_expect(x, CACHED, "a=z@3");
	/* A cached-mode snapshot has no entries: the copy starts again. */
	assert_int_equal(fx_snapshot(x, CACHED, epoch_a, 9, 1, 1, ""), 0);
	assert_int_equal(fx_seq(x, CACHED, NULL), 9);
	fx_expect(x, CACHED, "a=-");
	fx_free(x);
}

static const struct {
	const char *name;
	long long budget;
	const char *steps; /* "a" fills a, "+a" reads a */
	const char *holds;
} lru_cases[] = {
	{"the oldest fill goes", 2, "a b c", "a=- b=v c=v"},
	{"a read keeps a key", 2, "a b +a c", "a=v b=- c=v"},
	{"a refill keeps a key", 2, "a b a c", "a=v b=- c=v"},
	{"two over budget: two go", 2, "a b c d", "a=- b=- c=v d=v"},
	{"a budget of one", 1, "a +a b", "a=- b=v"},
};

static void test_cached_evicts_lru(void **state)
{
	(void)state;
	for (size_t c = 0; c < N_OF(lru_cases); c++) {
		struct fx *x = fx_new(lru_cases[c].budget);
		char buf[128], *save = NULL;
		uint64_t seq = 1;

		snprintf(buf, sizeof(buf), "%s", lru_cases[c].steps);
		for (char *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			if (*t == '+')
				replica_used(&x->sp, CACHED, t + 1);
			else
				fx_fill(x, t, seq++, "v");
		}
		fx_expect(x, CACHED, lru_cases[c].holds);
		fx_free(x);
	}
}

static void test_cached_evicts_at_start(void **state)
{
	struct fx *x = fx_new(3);

	(void)state;
	fx_fill(x, "c", 1, "v");
	fx_fill(x, "a", 2, "v");
	fx_fill(x, "b", 3, "v");
	fx_expect(x, CACHED, "a=v b=v c=v");
	/* Restarted with a smaller budget: the order is rebuilt by a scan
	 * (key order) and what is over the budget goes. */
	replica_close(&x->sp);
	x->sp.conf.cache_entries = 1;
	fx_start(x);
	fx_expect(x, CACHED, "a=- b=- c=v");
	fx_free(x);
}

static void test_fetch_outcomes(void **state)
{
	struct fx *x = fx_new(100);
	const struct replica_fetch *f;
	uint64_t id;

	(void)state;
	/* Not found at the hub. */
	id = fx_fetch(x, CACHED, "a");
	fx_fetched(x, id, CACHED, NULL, 0);
	assert_int_equal(fx_fetch_state(x, id), REPLICA_FETCH_NOTFOUND);
	/* The hub could not answer. */
	id = fx_fetch(x, CACHED, "b");
	fx_fetched(x, id, CACHED, NULL, OS_EUNKNOWN);
	f = replica_fetch_get(replica_fetch_table(&x->sp), id);
	assert_int_equal(f->state, REPLICA_FETCH_FAILED);
	assert_int_equal(f->code, OS_EUNKNOWN);
	assert_non_null(strstr(f->msg, "the hub could not answer"));
	/* An answer for another key does not verify and is not stored. */
	id = fx_fetch(x, CACHED, "c");
	fx_fetched(x, id, CACHED, "1:d=v", 0);
	f = replica_fetch_get(replica_fetch_table(&x->sp), id);
	assert_int_equal(f->state, REPLICA_FETCH_FAILED);
	assert_int_equal(f->code, OS_EINVAL);
	assert_non_null(strstr(f->msg, "does not verify"));
	/* A forged one neither. */
	id = fx_fetch(x, CACHED, "e");
	fx_fetched(x, id, CACHED, "~1:e=v", 0);
	assert_int_equal(fx_fetch_state(x, id), REPLICA_FETCH_FAILED);
	fx_expect(x, CACHED, "c=- d=- e=-");
	/* An answer for a fetch given up is ignored. */
	id = fx_fetch(x, CACHED, "g");
	replica_fetch_forget(replica_fetch_table(&x->sp), id);
	fx_fetched(x, id, CACHED, "1:g=v", 0);
	fx_expect(x, CACHED, "g=-");
	/* Without the hub nothing is asked. */
	x->up = 0;
	assert_int_equal(replica_fetch_start(&x->sp, replica_fetch_table(&x->sp), CACHED, "h", &id),
			 OS_ECONN);
	fx_free(x);
}

/* ---------------------------------------------------------------- reads */

/* Serve a Get; returns the reply's code, and the entry's value into val
 * (size bytes) when found. */
static int fx_get(struct fx *x, const char *dataset, const char *key, struct reads_reply *rr,
		  char *msg, size_t size)
{
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	Onestop__GetRequest g = ONESTOP__GET_REQUEST__INIT;
	Onestop__ApiReply *rep;
	int code;

	g.dataset = (char *)dataset;
	g.key = (char *)key;
	req.request_id = 7;
	req.op_case = ONESTOP__API_REQUEST__OP_GET;
	req.get = &g;
	assert_int_equal(reads_serve(&x->sp, &req, rr), 0);
	if (rr->pending)
		return 1;
	rep = onestop__api_reply__unpack(NULL, rr->len, rr->buf);
	assert_non_null(rep);
	assert_int_equal(rep->request_id, 7);
	code = rep->code;
	if (code == 0) {
		assert_int_equal(rep->result_case, ONESTOP__API_REPLY__RESULT_GET);
		snprintf(msg, size, "%.*s", (int)rep->get->entry->value.len,
			 (const char *)rep->get->entry->value.data);
	} else {
		snprintf(msg, size, "%s", rep->message);
	}
	onestop__api_reply__free_unpacked(rep, NULL);
	free(rr->buf);
	rr->buf = NULL;
	return code;
}

static void test_reads_hit_miss_pending(void **state)
{
	struct fx *x = fx_new(100);
	struct reads_reply rr;
	struct reads_wait w;
	Onestop__ApiReply *rep;
	char msg[256];

	(void)state;
	assert_int_equal(fx_changes(x, FULL, epoch_a, "1:a=x"), 0);
	assert_int_equal(fx_get(x, FULL, "a", &rr, msg, sizeof(msg)), 0);
	assert_string_equal(msg, "x");
	assert_int_equal(fx_get(x, FULL, "b", &rr, msg, sizeof(msg)), OS_ENOTFOUND);
	assert_string_equal(msg, "no entry b in dataset notes");
	/* A cached-mode miss asks the hub and waits. */
	assert_int_equal(fx_get(x, CACHED, "k", &rr, msg, sizeof(msg)), 1);
	assert_int_equal(rr.wait.fetch_id, x->fetch_id);
	assert_int_equal(rr.wait.wait_ms, 5000);
	assert_string_equal(rr.wait.key, "k");
	w = rr.wait;
	fx_fetched(x, w.fetch_id, CACHED, "1:k=filled", 0);
	assert_int_equal(reads_resume(&x->sp, &w, 7, &rr), 0);
	rep = onestop__api_reply__unpack(NULL, rr.len, rr.buf);
	assert_non_null(rep);
	assert_int_equal(rep->code, 0);
	assert_int_equal(rep->get->entry->seq, 1);
	onestop__api_reply__free_unpacked(rep, NULL);
	free(rr.buf);
	/* Without the hub a miss fails at once. */
	x->up = 0;
	assert_int_equal(fx_get(x, CACHED, "m", &rr, msg, sizeof(msg)), OS_ECONN);
	assert_string_equal(msg, "m is not held here and the hub is unreachable");
	fx_free(x);
}

/* ---------------------------------------------------------------- loop */

static int st_dirty(void *ctx)
{
	return ((struct spoke *)ctx)->txn_dirty;
}

static int st_failed(void *ctx)
{
	return ((struct spoke *)ctx)->txn_err != 0;
}

static int st_commit(void *ctx)
{
	struct spoke *sp = ctx;
	int rc = sp->txn_dirty && !sp->txn_err ? store_commit(&sp->txn) : sp->txn_err;

	store_abort(&sp->txn);
	sp->txn_dirty = 0;
	sp->txn_err = 0;
	return rc;
}

static void test_attached_to_a_loop(void **state)
{
	struct fx *x = fx_new(100);
	const struct loop_state ls = {st_dirty, st_failed, st_commit, &x->sp};
	Onestop__Change it = ONESTOP__CHANGE__INIT, *its[] = {&it};
	Onestop__Changes f = ONESTOP__CHANGES__INIT;
	struct loop *l = NULL;
	struct chg c[1];

	(void)state;
	assert_int_equal(loop_new(&ls, &l), 0);
	assert_int_equal(replica_attach(&x->sp, l), 0);
	chg_parse(FULL, "1:a=x", c, 1);
	it.seq = c[0].seq;
	it.signed_.data = c[0].sg;
	it.signed_.len = c[0].len;
	f.dataset = FULL;
	f.epoch.data = (uint8_t *)epoch_a;
	f.epoch.len = 16;
	f.n_items = 1;
	f.items = its;
	assert_int_equal(replica_changes(&x->sp, &f), 0);
	/* Nothing is acknowledged before the loop's commit ... */
	assert_int_equal(x->n_acks, 0);
	assert_int_equal(loop_iterate(l), 0);
	/* ... and the after-commit hook acknowledges what it committed. */
	assert_int_equal(x->n_acks, 1);
	assert_int_equal(x->ack_seq, 1);
	fx_expect(x, FULL, "a=x@1");
	assert_int_equal(replica_deadline_us(&x->sp), UINT64_MAX);
	chg_free(c, 1);
	loop_free(&l);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_changes_in_sequence),
		cmocka_unit_test(test_position_survives_restart),
		cmocka_unit_test(test_undeclared_dataset_dropped),
		cmocka_unit_test(test_entry_seq_rule),
		cmocka_unit_test(test_snapshot_replaces_copy),
		cmocka_unit_test(test_interrupted_snapshot_dropped_at_start),
		cmocka_unit_test(test_cached_follows_held_keys),
		cmocka_unit_test(test_cached_evicts_lru),
		cmocka_unit_test(test_cached_evicts_at_start),
		cmocka_unit_test(test_fetch_outcomes),
		cmocka_unit_test(test_reads_hit_miss_pending),
		cmocka_unit_test(test_attached_to_a_loop),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
