/* Unit tests for the spoke's inbox (spoke/inbox.c) without the daemon: a
 * struct spoke over a store in a temporary directory and a registry signed
 * in memory, fed deliveries as the hub link would and committed as the
 * loop would. The `seen` table: one id under several expiries, pruning at
 * the latest expiry, the far-expiry cap, the upgrade of older layouts; and
 * leases released by owner. */
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
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#include "inbox.h"
#include "spoke.h"

#include "testreg.h"
#include "testutil.h"

static struct os_keypair root, me, other;
static struct registry *reg;

static int group_setup(void **state)
{
	struct registry *r = NULL;

	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	crypto_keypair_new(&root);
	crypto_keypair_new(&me);
	crypto_keypair_new(&other);
	if (registry_new(&r) != 0 || tu_reg_node(r, "hub", REG_ROLE_HUB, &root, NULL, 0) != 0 ||
	    tu_reg_node(r, "gd.me", REG_ROLE_SPOKE, &me, NULL, 0) != 0 ||
	    tu_reg_node(r, "gd.other", REG_ROLE_SPOKE, &other, NULL, 0) != 0) {
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
	crypto_keypair_wipe(&other);
	return 0;
}

struct fx {
	char *dir;
	struct spoke sp;
	uint64_t seq; /* last deliver seq given */
};

static int fx_commit(struct fx *x)
{
	struct spoke *sp = &x->sp;
	int rc = sp->txn_err;

	if (rc == 0)
		rc = inbox_flush(sp);
	if (rc < 0)
		store_abort(&sp->txn);
	else if (sp->txn && sp->txn_dirty)
		rc = store_commit(&sp->txn);
	else
		store_abort(&sp->txn);
	sp->txn_dirty = 0;
	sp->txn_err = 0;
	return rc;
}

static void fx_start(struct fx *x)
{
	struct store_txn *t = NULL;

	assert_int_equal(spoke_txn(&x->sp, &t), 0);
	assert_int_equal(inbox_upgrade(&x->sp, t), 0);
	assert_int_equal(inbox_load(&x->sp, t), 0);
	spoke_wrote(&x->sp, 0); /* as the daemon's start-up */
	assert_int_equal(fx_commit(x), 0);
}

static struct fx *fx_new(void)
{
	struct fx *x = calloc(1, sizeof(*x));
	struct spoke *sp;

	assert_non_null(x);
	sp = &x->sp;
	x->dir = tu_mkdtemp();
	assert_non_null(x->dir);
	sp->conf.name = "gd.me";
	sp->conf.hub_name = "hub";
	sp->conf.max_message_bytes = 65536;
	sp->reg = reg;
	assert_int_equal(store_open(x->dir, 64, 8, &sp->st), 0);
	assert_int_equal(store_dbi_open(sp->st, "meta", &sp->db_meta), 0);
	assert_int_equal(store_dbi_open(sp->st, "inbox", &sp->db_inbox), 0);
	assert_int_equal(store_dbi_open(sp->st, "seen", &sp->db_seen), 0);
	assert_int_equal(batchsig_cache_new(64, &sp->cache), 0);
	return x;
}

static void fx_free(struct fx *x)
{
	inbox_clear(&x->sp);
	store_abort(&x->sp.txn);
	batchsig_cache_destroy(&x->sp.cache);
	store_close(&x->sp.st);
	tu_rm_tree(x->dir);
	free(x->dir);
	free(x);
}

/* A message from gd.other to gd.me expiring at expires_ms, with id (when
 * not NULL: re-signed with that id). *len its size; malloc'd. */
static uint8_t *msg(const uint8_t *id, uint64_t expires_ms, uint64_t now_ms, size_t *len,
		    os_msgid out_id)
{
	Onestop__Envelope e = ONESTOP__ENVELOPE__INIT;
	Onestop__Signed s = ONESTOP__SIGNED__INIT;
	struct batchsig_proof proof;
	os_hash leaf, root_h;
	os_sig sig;
	os_msgid fresh;
	uint8_t *env, *out;

	if (!id) {
		crypto_random(fresh, sizeof fresh);
		id = fresh;
	}
	memcpy(out_id, id, sizeof(os_msgid));
	e.id.data = (uint8_t *)id;
	e.id.len = sizeof(os_msgid);
	e.origin = "gd.other";
	e.destination = "gd.me";
	e.type = "t";
	e.created_ms = now_ms;
	e.expires_ms = expires_ms;
	e.key_version = 1;
	e.payload.data = (uint8_t *)"x";
	e.payload.len = 1;
	env = malloc(onestop__envelope__get_packed_size(&e));
	assert_non_null(env);
	size_t el = onestop__envelope__pack(&e, env);
	batchsig_leaf(leaf, env, el);
	assert_int_equal(batchsig_build((const os_hash *)&leaf, 1, root_h, &proof), 0);
	batchsig_sign(sig, root_h, 1, other.sign_sk);
	s.envelope.data = env;
	s.envelope.len = el;
	s.signature.data = sig;
	s.signature.len = sizeof sig;
	s.leaf_index = proof.index;
	s.leaf_count = proof.count;
	*len = onestop__signed__get_packed_size(&s);
	out = malloc(*len);
	assert_non_null(out);
	onestop__signed__pack(&s, out);
	free(env);
	return out;
}

/* Deliver one message (built by msg) at now_ms and commit. */
static void deliver(struct fx *x, const uint8_t *id, uint64_t expires_ms, uint64_t now_ms,
		    os_msgid out_id)
{
	size_t len;
	int held;
	uint8_t *m = msg(id, expires_ms, now_ms, &len, out_id);

	assert_int_equal(inbox_deliver(&x->sp, ++x->seq, m, len, now_ms, &held), 0);
	assert_int_equal(held, 0);
	assert_int_equal(fx_commit(x), 0);
	free(m);
}

static uint64_t seen_entries(struct fx *x)
{
	struct store_txn *t = NULL;
	uint64_t n = 0;

	assert_int_equal(store_begin(x->sp.st, 1, &t), 0);
	assert_int_equal(store_count(t, x->sp.db_seen, &n), 0);
	store_abort(&t);
	return n;
}

static void prune(struct fx *x, uint64_t now_ms)
{
	x->sp.ib.prune_due_us = 0;
	assert_int_equal(inbox_prune_seen(&x->sp, now_ms, 1, 1024), 0);
	assert_int_equal(fx_commit(x), 0);
}

static void test_resigned_id_stored_once(void **state)
{
	struct fx *x = fx_new();
	uint64_t now = os_now_ms();
	os_msgid id, id2;

	(void)state;
	fx_start(x);
	deliver(x, NULL, now + 60000, now, id);
	deliver(x, id, now + 120000, now, id2); /* re-signed, later expiry */
	deliver(x, id, now + 30000, now, id2);  /* re-signed, earlier expiry */
	assert_int_equal(x->sp.ib.count, 1);
	assert_int_equal(x->sp.stats.duplicates, 2);
	assert_int_equal(seen_entries(x), 2); /* one id entry, one index entry */
	fx_free(x);
}

static void test_seen_kept_until_latest_expiry(void **state)
{
	struct fx *x = fx_new();
	uint64_t now = os_now_ms();
	os_msgid id, id2;

	(void)state;
	fx_start(x);
	deliver(x, NULL, now + 1000, now, id);
	deliver(x, id, now + 5000, now, id2);
	prune(x, now + 2000); /* the first copy's expiry has passed */
	assert_int_equal(seen_entries(x), 2);
	deliver(x, id, now + 4000, now + 2000, id2); /* a copy still arriving */
	assert_int_equal(x->sp.ib.count, 1);
	prune(x, now + 6000);
	assert_int_equal(seen_entries(x), 0);
	fx_free(x);
}

static void test_far_expiry_refused(void **state)
{
	struct fx *x = fx_new();
	uint64_t now = os_now_ms();
	os_msgid id;

	(void)state;
	fx_start(x);
	deliver(x, NULL, now + INBOX_MAX_AHEAD_MS + 1000, now, id);
	assert_int_equal(x->sp.ib.count, 0);
	assert_int_equal(x->sp.stats.rejected, 1);
	deliver(x, NULL, now + INBOX_MAX_AHEAD_MS - 1000, now, id);
	assert_int_equal(x->sp.ib.count, 1);
	fx_free(x);
}

static void test_upgrade_merges_old_layouts(void **state)
{
	struct fx *x = fx_new();
	struct store_txn *t = NULL;
	uint64_t now = os_now_ms(), format = 0;
	os_msgid a, b, got;
	uint8_t k2[24], v1[8];

	(void)state;
	crypto_random(a, sizeof a);
	crypto_random(b, sizeof b);
	/* a under format 2 (expiry || id) and format 1 (id -> expiry, later),
	 * b under format 2 alone */
	assert_int_equal(store_begin(x->sp.st, 0, &t), 0);
	os_put_u64be(k2, now + 10000);
	memcpy(k2 + 8, a, 16);
	assert_int_equal(store_put(t, x->sp.db_seen, k2, sizeof k2, "", 0), 0);
	os_put_u64be(v1, now + 20000);
	assert_int_equal(store_put(t, x->sp.db_seen, a, 16, v1, sizeof v1), 0);
	os_put_u64be(k2, now + 10000);
	memcpy(k2 + 8, b, 16);
	assert_int_equal(store_put(t, x->sp.db_seen, k2, sizeof k2, "", 0), 0);
	assert_int_equal(store_commit(&t), 0);

	fx_start(x);
	assert_int_equal(seen_entries(x), 4);
	assert_int_equal(store_begin(x->sp.st, 1, &t), 0);
	assert_int_equal(store_get_u64(t, x->sp.db_meta, "seen_format", 0, &format), 0);
	store_abort(&t);
	assert_int_equal(format, 3);

	deliver(x, a, now + 15000, now, got);
	deliver(x, b, now + 5000, now, got);
	assert_int_equal(x->sp.ib.count, 0);
	prune(x, now + 12000); /* b goes; a was seen until now + 20000 */
	assert_int_equal(seen_entries(x), 2);
	deliver(x, a, now + 19000, now + 12000, got);
	assert_int_equal(x->sp.ib.count, 0);
	fx_start(x); /* upgraded once: nothing moves again */
	assert_int_equal(seen_entries(x), 2);
	fx_free(x);
}

static int collect(void *arg, uint64_t seq, struct env *e)
{
	uint64_t *seqs = arg;
	(void)e;
	seqs[seqs[0] + 1] = seq;
	seqs[0]++;
	return 0;
}

static void take(struct fx *x, size_t max, uint64_t owner, uint64_t now_us, uint64_t out[8])
{
	struct store_txn *t = NULL;
	size_t n;

	memset(out, 0, 8 * sizeof *out);
	assert_int_equal(store_begin(x->sp.st, 1, &t), 0);
	assert_int_equal(inbox_take(&x->sp, t, max, 1 << 20, now_us, owner, collect, out, &n), 0);
	store_abort(&t);
	assert_int_equal(n, out[0]);
}

static void test_release_by_owner_lowest_first(void **state)
{
	struct fx *x = fx_new();
	uint64_t now = os_now_ms(), got[8];
	os_msgid id;

	(void)state;
	fx_start(x);
	for (int i = 0; i < 6; i++)
		deliver(x, NULL, now + 60000, now, id);
	take(x, 2, 7, 1000, got); /* owner 7 holds 1, 2 */
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 1);
	take(x, 2, 8, 1000, got); /* owner 8 holds 3, 4 */
	assert_int_equal(got[1], 3);
	assert_int_equal(inbox_release(&x->sp, 0), 0);
	assert_int_equal(inbox_release(&x->sp, 7), 2);
	take(x, 3, 9, 1000, got); /* 1, 2 again, before 5 */
	assert_int_equal(got[0], 3);
	assert_int_equal(got[1], 1);
	assert_int_equal(got[2], 2);
	assert_int_equal(got[3], 5);
	fx_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resigned_id_stored_once),
		cmocka_unit_test(test_seen_kept_until_latest_expiry),
		cmocka_unit_test(test_far_expiry_refused),
		cmocka_unit_test(test_upgrade_merges_old_layouts),
		cmocka_unit_test(test_release_by_owner_lowest_first),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
