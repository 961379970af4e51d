/* Unit tests for hub/dataset.c as a relay of its parent's datasets
 * (PROTOCOL 13.5), in process: a hub with a parent and a registry whose
 * datasets another hub sequences. Checks the roles (a dataset sequenced
 * elsewhere is refused by dataset_apply, one without a sequencer is
 * sequenced here), that relayed Changes land at their seqs in the log and
 * the entries (a change failing 9.2 only in the log), gaps and duplicates,
 * snapshots (the copy replaced, a cached dataset's entries kept), the
 * positions the parent Hello carries, and a relay state that survives a
 * restart and drops a snapshot cut short, and a copy this hub sequenced
 * itself replaced once it relays the dataset. */
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
#include "log.h"
#include "queue.h"
#include "registry.h"
#include "store.h"
#include "testreg.h"
#include "testutil.h"

#define NOW 1800000000000ull
#define HOUR 3600000ull

enum { K_ROOT, K_UP, K_HUB, K_A, K_B, K_COUNT };
static struct os_keypair keys[K_COUNT];
static struct registry *reg;
static char *saved_seq[8];   /* the registry's own sequencer pointers */
static char *saved_scope[8]; /* and scope pointers */

static const uint8_t EPOCH_P[16] = {0x50, 0x41, 0x52};
static const uint8_t EPOCH_Q[16] = {0x51, 0x51};

struct fixture {
	char *dir;
	struct hub h;
};

static int group_setup(void **state)
{
	static char *pub[] = {"docs", "kv"};
	struct registry *r = NULL;

	(void)state;
	if (crypto_setup() != 0 || registry_new(&r) != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_new(&keys[i]);
	if (tu_reg_node(r, "up", REG_ROLE_HUB, &keys[K_UP], NULL, 0) ||
	    tu_reg_node(r, "hub", REG_ROLE_HUB, &keys[K_HUB], NULL, 0) ||
	    tu_reg_node(r, "a", REG_ROLE_SPOKE, &keys[K_A], pub, 2) ||
	    tu_reg_node(r, "b", REG_ROLE_SPOKE, &keys[K_B], NULL, 0) ||
	    registry_set_dataset(r, "docs", REG_DS_FULL) ||
	    registry_set_dataset(r, "kv", REG_DS_CACHED))
		return -1;
	if (tu_reg_seal(&r, &keys[K_ROOT], NOW, &reg) != 0 || reg->n_datasets != 2)
		return -1;
	for (size_t i = 0; i < reg->n_datasets; i++) {
		saved_seq[i] = reg->datasets[i].sequencer;
		saved_scope[i] = reg->datasets[i].scope;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < reg->n_datasets; i++) {
		reg->datasets[i].sequencer = saved_seq[i];
		reg->datasets[i].scope = saved_scope[i];
	}
	registry_free(&reg);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_wipe(&keys[i]);
	return 0;
}

/* Every dataset sequenced by seq (NULL: none named, section 9). */
static void sequencer(char *seq)
{
	for (size_t i = 0; i < reg->n_datasets; i++)
		reg->datasets[i].sequencer = seq;
}

static int hub_up(struct fixture *f)
{
	struct hub *h = &f->h;

	h->conf.name = "hub";
	h->conf.parent_endpoint = "tcp://127.0.0.1:1";
	h->conf.parent_name = "up";
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
	    batchsig_cache_new(64, &h->sigcache))
		return -1;
	return 0;
}

static void hub_down(struct fixture *f)
{
	struct hub *h = &f->h;

	dataset_close(h);
	batchsig_cache_destroy(&h->sigcache);
	queue_close(&h->queue);
	store_abort(&h->txn);
	store_close(&h->st);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->dir = tu_mkdtemp()) || hub_up(f))
		return -1;
	sequencer("up");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hub_down(f);
	sequencer(NULL);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

/* A change of dataset/key by origin signed with signer's key, addressed
 * to dest (a batch of one). value NULL: a delete. Freed by the caller. */
static uint8_t *change(int signer, const char *origin, const char *dest, const char *dataset,
		       const char *key, const char *value, size_t *len)
{
	uint8_t *payload = NULL, *out = NULL;
	size_t plen = 0;
	struct env_draft d;

	assert_int_equal(ds_change_pack(dataset, key, value == NULL, (const uint8_t *)value,
					value ? strlen(value) : 0, &payload, &plen),
			 0);
	d = (struct env_draft){.destination = dest,
			       .type = DS_CHANGE_TYPE,
			       .payload = payload,
			       .payload_len = plen,
			       .expires_ms = NOW + HOUR};
	assert_int_equal(env_sign_batch(origin, 1, keys[signer].sign_sk, &d, 1, NOW - 1000, &out,
					len, NULL),
			 0);
	free(payload);
	return out;
}

/* A Changes frame of dataset from epoch with msgs[i] at seqs[i]. */
static int feed_changes(struct fixture *f, const char *dataset, const uint8_t *epoch, size_t n,
			const uint64_t *seqs, uint8_t *const *msgs, const size_t *lens)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Changes ch = ONESTOP__CHANGES__INIT;
	Onestop__Change it[8], *ptrs[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		onestop__change__init(&it[i]);
		it[i].seq = seqs[i];
		it[i].signed_.data = msgs[i];
		it[i].signed_.len = lens[i];
		ptrs[i] = &it[i];
	}
	ch.dataset = (char *)dataset;
	ch.epoch.data = (uint8_t *)epoch;
	ch.epoch.len = 16;
	ch.n_items = n;
	ch.items = ptrs;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_CHANGES;
	lf.changes = &ch;
	return dataset_parent_frame(&f->h, &lf);
}

static int feed_chunk(struct fixture *f, const char *dataset, const uint8_t *epoch,
		      uint64_t snap_seq, int first, int last, size_t n, const uint64_t *seqs,
		      uint8_t *const *msgs, const size_t *lens)
{
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Snapshot sn = ONESTOP__SNAPSHOT__INIT;
	Onestop__Change it[8], *ptrs[8];

	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++) {
		onestop__change__init(&it[i]);
		it[i].seq = seqs[i];
		it[i].signed_.data = msgs[i];
		it[i].signed_.len = lens[i];
		ptrs[i] = &it[i];
	}
	sn.dataset = (char *)dataset;
	sn.epoch.data = (uint8_t *)epoch;
	sn.epoch.len = 16;
	sn.snapshot_seq = snap_seq;
	sn.first = first;
	sn.last = last;
	sn.n_entries = n;
	sn.entries = ptrs;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_SNAPSHOT;
	lf.snapshot = &sn;
	return dataset_parent_frame(&f->h, &lf);
}

static void commit(struct fixture *f)
{
	int rc = hub_commit(&f->h);

	queue_txn_end(f->h.queue, rc == 0);
	assert_int_equal(rc, 0);
}

/* The committed entry of dataset/key: its seq, 0 when absent. */
static uint64_t entry_seq(struct fixture *f, const char *dataset, const char *key)
{
	struct store_txn *t = NULL;
	store_dbi db;
	uint8_t k[300];
	size_t dl = strlen(dataset), kl = strlen(key);
	const void *v;
	size_t vl;
	uint64_t seq = 0;

	memcpy(k, dataset, dl + 1);
	memcpy(k + dl + 1, key, kl);
	assert_int_equal(store_dbi_open(f->h.st, "ds_entries", &db), 0);
	assert_int_equal(store_begin(f->h.st, 1, &t), 0);
	if (store_get(t, db, k, dl + 1 + kl, &v, &vl) == 0 && vl > 8)
		seq = os_get_u64be(v);
	store_abort(&t);
	return seq;
}

/* The committed log entry of dataset at seq equals msg (or is absent when
 * msg is NULL); last and first of its meta into *last, *first. */
static void log_check(struct fixture *f, const char *dataset, uint64_t seq, const uint8_t *msg,
		      size_t len)
{
	struct store_txn *t = NULL;
	store_dbi db;
	uint8_t k[100];
	size_t dl = strlen(dataset);
	const void *v;
	size_t vl;
	int rc;

	memcpy(k, dataset, dl + 1);
	os_put_u64be(k + dl + 1, seq);
	assert_int_equal(store_dbi_open(f->h.st, "ds_log", &db), 0);
	assert_int_equal(store_begin(f->h.st, 1, &t), 0);
	rc = store_get(t, db, k, dl + 9, &v, &vl);
	if (msg) {
		assert_int_equal(rc, 0);
		assert_int_equal(vl, len);
		assert_memory_equal(v, msg, len);
	} else {
		assert_int_equal(rc, OS_ENOTFOUND);
	}
	store_abort(&t);
}

static void meta(struct fixture *f, const char *dataset, uint64_t *last, uint64_t *first)
{
	struct store_txn *t = NULL;
	store_dbi db;
	const void *v;
	size_t vl;

	*last = 0;
	*first = 1;
	assert_int_equal(store_dbi_open(f->h.st, "ds_meta", &db), 0);
	assert_int_equal(store_begin(f->h.st, 1, &t), 0);
	if (store_get(t, db, dataset, strlen(dataset), &v, &vl) == 0 && vl == 16) {
		*last = os_get_u64be(v);
		*first = os_get_u64be((const uint8_t *)v + 8);
	}
	store_abort(&t);
}

/* The parent Hello's position of dataset: 1 when listed, with its seq and
 * whether it carries epoch. */
static int position(struct fixture *f, const char *dataset, uint64_t *seq, const uint8_t *epoch)
{
	Onestop__Hello hello = ONESTOP__HELLO__INIT;
	int found = 0;

	dataset_parent_hello(&f->h, &hello);
	for (size_t i = 0; i < hello.n_datasets; i++) {
		const Onestop__DatasetPosition *p = hello.datasets[i];

		if (strcmp(p->dataset, dataset) != 0)
			continue;
		found = 1;
		*seq = p->seq;
		if (epoch) {
			assert_int_equal(p->epoch.len, 16);
			assert_memory_equal(p->epoch.data, epoch, 16);
		}
	}
	dataset_parent_hello_done(&f->h, &hello);
	return found;
}

/* ------------------------------------------------------------ tests */

/* A dataset another hub sequences is refused here; without a sequencer
 * named, the hub a publisher connects to sequences it (section 9). */
static void test_roles(void **state)
{
	struct fixture *f = *state;
	char why[200] = "";
	uint64_t seq = 9;
	size_t len;
	uint8_t *m = change(K_A, "a", "hub", "docs", "k1", "v1", &len);
	struct env e;
	int code = 0;

	assert_int_equal(env_decode(m, len, 1 << 20, &e), 0);
	assert_int_equal(dataset_apply(&f->h, &e, m, len, &code, why, sizeof(why), &seq), 0);
	assert_int_equal(code, OS_ENOTALLOWED);
	assert_non_null(strstr(why, "sequenced by up"));
	assert_int_equal(seq, 0);
	commit(f);
	assert_int_equal(entry_seq(f, "docs", "k1"), 0);

	sequencer(NULL);
	assert_int_equal(dataset_apply(&f->h, &e, m, len, &code, why, sizeof(why), &seq), 0);
	assert_int_equal(code, 0);
	assert_int_equal(seq, 1);
	commit(f);
	assert_int_equal(entry_seq(f, "docs", "k1"), 1);
	/* Nothing is relayed then: the parent Hello lists no position. */
	assert_false(position(f, "docs", &seq, NULL));

	sequencer("hub");
	assert_int_equal(dataset_apply(&f->h, &e, m, len, &code, why, sizeof(why), &seq), 0);
	assert_int_equal(code, 0);
	assert_int_equal(seq, 2);
	commit(f);
	env_clear(&e);
	free(m);
}

/* Relayed changes: written at their seqs, the log byte for byte; a change
 * failing 9.2 or its signature only advances the log; duplicates and gaps
 * are not applied. */
static void test_relay_changes(void **state)
{
	struct fixture *f = *state;
	uint8_t *m[6];
	size_t l[6];
	uint64_t s[6] = {1, 2, 3, 4, 5, 6}, last, first, seq = 0;

	m[0] = change(K_A, "a", "up", "docs", "k1", "v1", &l[0]);
	m[1] = change(K_A, "a", "up", "docs", "k2", "v2", &l[1]);
	m[2] = change(K_B, "a", "up", "docs", "k3", "forged", &l[2]); /* b's key */
	m[3] = change(K_B, "b", "up", "docs", "k4", "no right", &l[3]);
	m[4] = change(K_A, "a", "up", "docs", "k1", NULL, &l[4]); /* delete */
	m[5] = change(K_A, "a", "hub", "docs", "k5", "to the relay", &l[5]);

	assert_true(position(f, "docs", &seq, NULL));
	assert_int_equal(seq, 0);
	assert_int_equal(feed_changes(f, "docs", EPOCH_P, 4, s, m, l), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "docs", "k1"), 1);
	assert_int_equal(entry_seq(f, "docs", "k2"), 2);
	assert_int_equal(entry_seq(f, "docs", "k3"), 0);
	assert_int_equal(entry_seq(f, "docs", "k4"), 0);
	for (int i = 0; i < 4; i++)
		log_check(f, "docs", s[i], m[i], l[i]);
	meta(f, "docs", &last, &first);
	assert_int_equal(last, 4);
	assert_int_equal(first, 1);
	assert_true(position(f, "docs", &seq, EPOCH_P));
	assert_int_equal(seq, 4);

	/* A gap (6 without 5) waits; another sequencer store is ignored. */
	assert_int_equal(feed_changes(f, "docs", EPOCH_P, 1, &s[5], &m[5], &l[5]), 0);
	assert_int_equal(feed_changes(f, "docs", EPOCH_Q, 1, &s[4], &m[4], &l[4]), 0);
	commit(f);
	meta(f, "docs", &last, &first);
	assert_int_equal(last, 4);
	log_check(f, "docs", 6, NULL, 0);

	/* Duplicates, then 5 (the delete) and 6 (addressed to this hub, not
	 * to the sequencer: only logged). */
	assert_int_equal(feed_changes(f, "docs", EPOCH_P, 6, s, m, l), 0);
	commit(f);
	meta(f, "docs", &last, &first);
	assert_int_equal(last, 6);
	assert_int_equal(entry_seq(f, "docs", "k1"), 0);
	assert_int_equal(entry_seq(f, "docs", "k5"), 0);
	log_check(f, "docs", 5, m[4], l[4]);
	log_check(f, "docs", 6, m[5], l[5]);

	/* Survives a restart. */
	hub_down(f);
	assert_int_equal(hub_up(f), 0);
	assert_true(position(f, "docs", &seq, EPOCH_P));
	assert_int_equal(seq, 6);
	for (int i = 0; i < 6; i++)
		free(m[i]);
}

/* A snapshot replaces the copy (a cached dataset's entries too); a
 * snapshot cut short by a restart is dropped before the next frame and
 * the Hello asks from 0. */
static void test_relay_snapshot(void **state)
{
	struct fixture *f = *state;
	uint8_t *m[4];
	size_t l[4];
	uint64_t s[4] = {1, 7, 9, 10}, last, first, seq = 9;

	m[0] = change(K_A, "a", "up", "kv", "old", "o", &l[0]);
	m[1] = change(K_A, "a", "up", "kv", "x", "x7", &l[1]);
	m[2] = change(K_A, "a", "up", "kv", "y", "y9", &l[2]);
	m[3] = change(K_A, "a", "up", "kv", "z", "z10", &l[3]);

	assert_int_equal(feed_changes(f, "kv", EPOCH_P, 1, s, m, l), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "kv", "old"), 1);

	/* A new sequencer store: first chunk drops what was held. */
	assert_int_equal(feed_chunk(f, "kv", EPOCH_Q, 9, 1, 0, 1, &s[1], &m[1], &l[1]), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "kv", "old"), 0);
	assert_int_equal(entry_seq(f, "kv", "x"), 7);
	log_check(f, "kv", 1, NULL, 0);
	/* Changes wait for the snapshot's end. */
	assert_int_equal(feed_changes(f, "kv", EPOCH_Q, 1, &s[3], &m[3], &l[3]), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "kv", "z"), 0);

	/* Restart in the middle: the Hello says 0, the next frame drops. */
	hub_down(f);
	assert_int_equal(hub_up(f), 0);
	assert_true(position(f, "kv", &seq, EPOCH_Q));
	assert_int_equal(seq, 0);
	assert_int_equal(feed_chunk(f, "kv", EPOCH_Q, 9, 0, 1, 1, &s[2], &m[2], &l[2]), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "kv", "x"), 0);
	assert_int_equal(entry_seq(f, "kv", "y"), 0);

	/* A whole snapshot, then the changes after it. */
	assert_int_equal(feed_chunk(f, "kv", EPOCH_Q, 9, 1, 0, 1, &s[1], &m[1], &l[1]), 0);
	assert_int_equal(feed_chunk(f, "kv", EPOCH_Q, 9, 0, 1, 1, &s[2], &m[2], &l[2]), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "kv", "x"), 7);
	assert_int_equal(entry_seq(f, "kv", "y"), 9);
	meta(f, "kv", &last, &first);
	assert_int_equal(last, 9);
	assert_int_equal(first, 10);
	assert_true(position(f, "kv", &seq, EPOCH_Q));
	assert_int_equal(seq, 9);
	assert_int_equal(feed_changes(f, "kv", EPOCH_Q, 1, &s[3], &m[3], &l[3]), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "kv", "z"), 10);
	log_check(f, "kv", 10, m[3], l[3]);
	for (int i = 0; i < 4; i++)
		free(m[i]);
}

/* A hub that sequenced a dataset itself and then relays it: its own copy
 * is not the sequencer's and is replaced from seq 1. */
static void test_role_change(void **state)
{
	struct fixture *f = *state;
	char why[200];
	uint64_t seq = 0, s1 = 1, last, first;
	size_t l1, l2, l3;
	uint8_t *m1 = change(K_A, "a", "hub", "docs", "own1", "o1", &l1);
	uint8_t *m2 = change(K_A, "a", "hub", "docs", "own2", "o2", &l2);
	uint8_t *m3 = change(K_A, "a", "up", "docs", "k9", "v9", &l3);
	struct env e1, e2;
	int code;

	sequencer(NULL);
	assert_int_equal(env_decode(m1, l1, 1 << 20, &e1), 0);
	assert_int_equal(env_decode(m2, l2, 1 << 20, &e2), 0);
	assert_int_equal(dataset_apply(&f->h, &e1, m1, l1, &code, why, sizeof(why), &seq), 0);
	assert_int_equal(dataset_apply(&f->h, &e2, m2, l2, &code, why, sizeof(why), &seq), 0);
	assert_int_equal(seq, 2);
	commit(f);

	sequencer("up");
	assert_true(position(f, "docs", &seq, NULL));
	assert_int_equal(seq, 0);
	assert_int_equal(feed_changes(f, "docs", EPOCH_P, 1, &s1, &m3, &l3), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "docs", "own1"), 0);
	assert_int_equal(entry_seq(f, "docs", "own2"), 0);
	assert_int_equal(entry_seq(f, "docs", "k9"), 1);
	meta(f, "docs", &last, &first);
	assert_int_equal(last, 1);
	assert_int_equal(first, 1);
	log_check(f, "docs", 2, NULL, 0);
	env_clear(&e1);
	env_clear(&e2);
	free(m1);
	free(m2);
	free(m3);
}

/* A hub without a parent relays nothing: frames of its "parent" are
 * dropped and dataset_apply refuses what another hub sequences. */
static void test_no_parent(void **state)
{
	struct fixture *f = *state;
	uint64_t s = 1, seq = 0;
	size_t l;
	uint8_t *m = change(K_A, "a", "up", "docs", "k1", "v1", &l);

	f->h.conf.parent_endpoint = "";
	assert_false(position(f, "docs", &seq, NULL));
	assert_int_equal(feed_changes(f, "docs", EPOCH_P, 1, &s, &m, &l), 0);
	commit(f);
	assert_int_equal(entry_seq(f, "docs", "k1"), 0);
	free(m);
}

/* A dataset of another subtree (declared by a registry whose prefix does
 * not hold this hub) is neither relayed nor sequenced here. */
static void test_not_visible(void **state)
{
	struct fixture *f = *state;
	uint64_t s = 1, seq = 0;
	char why[200] = "";
	size_t l;
	uint8_t *m = change(K_A, "a", "up", "docs", "k1", "v1", &l);
	struct env e;
	int code = 0;

	reg->datasets[0].scope = "zz";
	assert_string_equal(reg->datasets[0].name, "docs");
	assert_false(position(f, "docs", &seq, NULL));
	assert_true(position(f, "kv", &seq, NULL));
	assert_int_equal(feed_changes(f, "docs", EPOCH_P, 1, &s, &m, &l), 0);
	assert_int_equal(env_decode(m, l, 1 << 20, &e), 0);
	assert_int_equal(dataset_apply(&f->h, &e, m, l, &code, why, sizeof(why), &seq), 0);
	assert_int_equal(code, OS_ENOTALLOWED);
	commit(f);
	assert_int_equal(entry_seq(f, "docs", "k1"), 0);
	reg->datasets[0].scope = saved_scope[0];
	env_clear(&e);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_relay_snapshot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_role_change, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_parent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_visible, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
