/* Unit tests for common/batchsig.c: trees of many sizes verify for every
 * leaf, every kind of tampering is refused, the tree shape is pinned, and
 * the verified-root cache answers repeat checks. */
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
#include "err.h"

static struct os_keypair kp, other;

static int setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	crypto_keypair_new(&kp);
	crypto_keypair_new(&other);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	crypto_keypair_wipe(&kp);
	crypto_keypair_wipe(&other);
	return 0;
}

/* A batch: n leaves over n distinct small messages, proofs, root, sig. */
struct batch {
	uint32_t n;
	os_hash *leaves;
	struct batchsig_proof *proofs;
	os_hash root;
	os_sig sig;
};

static void batch_make(struct batch *b, uint32_t n)
{
	b->n = n;
	b->leaves = calloc(n, sizeof(os_hash));
	b->proofs = calloc(n, sizeof(*b->proofs));
	assert_non_null(b->leaves);
	assert_non_null(b->proofs);
	static unsigned batches;
	batches++;
	for (uint32_t i = 0; i < n; i++) {
		char msg[48];
		int len = snprintf(msg, sizeof(msg), "envelope %u of %u, batch %u", i, n, batches);
		batchsig_leaf(b->leaves[i], (const uint8_t *)msg, (size_t)len);
	}
	assert_int_equal(batchsig_build(b->leaves, n, b->root, b->proofs), 0);
	batchsig_sign(b->sig, b->root, n, kp.sign_sk);
}

static void batch_free(struct batch *b)
{
	free(b->leaves);
	free(b->proofs);
}

static void test_sizes_verify(void **state)
{
	(void)state;
	static const uint32_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 1000};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct batch b;
		batch_make(&b, sizes[s]);
		assert_int_equal(batchsig_verify(b.sig, b.root, b.n, kp.sign_pk), 0);
		struct batchsig_cache *c = NULL;
		assert_int_equal(batchsig_cache_new(64, &c), 0);
		for (uint32_t i = 0; i < b.n; i++) {
			os_hash root;
			assert_int_equal(b.proofs[i].index, i);
			assert_int_equal(b.proofs[i].count, b.n);
			assert_true(b.proofs[i].path_len <= BATCHSIG_MAX_PATH);
			assert_int_equal(batchsig_root(b.leaves[i], &b.proofs[i], root), 0);
			assert_memory_equal(root, b.root, sizeof(os_hash));
			/* Without a cache every leaf verifies on its own; check a
			 * sample of big batches to keep the test quick. */
			if (b.n < 20 || i % 97 == 0)
				assert_int_equal(batchsig_check(NULL, b.leaves[i], &b.proofs[i],
								b.sig, kp.sign_pk),
						 0);
			assert_int_equal(batchsig_check(c, b.leaves[i], &b.proofs[i], b.sig,
							kp.sign_pk),
					 0);
		}
		/* One verification for the whole batch. */
		uint64_t hits, misses;
		batchsig_cache_stats(c, &hits, &misses);
		assert_int_equal(misses, 1);
		assert_int_equal(hits, b.n - 1);
		if (b.n == 1) {
			assert_int_equal(b.proofs[0].path_len, 0);
			assert_memory_equal(b.root, b.leaves[0], sizeof(os_hash));
		}
		batchsig_cache_destroy(&c);
		assert_null(c);
		batch_free(&b);
	}
}

static void test_shape(void **state)
{
	(void)state;
	/* 3 leaves: root = H(1, H(1, l0, l1), l2); the odd leaf is promoted. */
	struct batch b;
	batch_make(&b, 3);
	os_hash left, want;
	crypto_hash_pair(left, 0x01, b.leaves[0], b.leaves[1]);
	crypto_hash_pair(want, 0x01, left, b.leaves[2]);
	assert_memory_equal(b.root, want, sizeof(os_hash));
	assert_int_equal(b.proofs[2].path_len, 1);
	assert_memory_equal(b.proofs[2].path[0], left, sizeof(os_hash));
	assert_int_equal(b.proofs[0].path_len, 2);
	assert_memory_equal(b.proofs[0].path[0], b.leaves[1], sizeof(os_hash));
	assert_memory_equal(b.proofs[0].path[1], b.leaves[2], sizeof(os_hash));
	batch_free(&b);

	/* 5 leaves: ((l0 l1)(l2 l3)) l4, leaf 4's path has one element. */
	batch_make(&b, 5);
	os_hash a, c, d;
	crypto_hash_pair(a, 0x01, b.leaves[0], b.leaves[1]);
	crypto_hash_pair(c, 0x01, b.leaves[2], b.leaves[3]);
	crypto_hash_pair(d, 0x01, a, c);
	crypto_hash_pair(want, 0x01, d, b.leaves[4]);
	assert_memory_equal(b.root, want, sizeof(os_hash));
	assert_int_equal(b.proofs[4].path_len, 1);
	assert_int_equal(b.proofs[3].path_len, 3);
	batch_free(&b);

	/* The leaf hash is tagged: BLAKE2b(0x00 || bytes). */
	os_hash leaf, plain;
	batchsig_leaf(leaf, (const uint8_t *)"x", 1);
	crypto_hash(plain, (const uint8_t *)"\0x", 2);
	assert_memory_equal(leaf, plain, sizeof(os_hash));

	/* Bad sizes. */
	os_hash root;
	assert_int_equal(batchsig_build(&leaf, 0, root, NULL), OS_EINVAL);
	assert_int_equal(batchsig_build(&leaf, BATCHSIG_MAX_LEAVES + 1, root, NULL), OS_EINVAL);
}

enum tamper {
	T_NONE,
	T_MESSAGE,
	T_PATH_BYTE,
	T_INDEX,
	T_COUNT_UP,
	T_COUNT_DOWN,
	T_KEY,
	T_TRUNCATED,
	T_EXTRA,
	T_INDEX_OUT,
	T_COUNT_ZERO,
	T_COUNT_HUGE,
	T_SIG_BYTE,
	T_SWAP_PATH,
};

struct tamper_case {
	const char *what;
	enum tamper t;
	int want;
};

static int run_tamper(const struct batch *b, uint32_t i, enum tamper t, struct batchsig_cache *c)
{
	os_hash leaf;
	struct batchsig_proof p = b->proofs[i];
	os_sig sig;
	memcpy(leaf, b->leaves[i], sizeof(leaf));
	memcpy(sig, b->sig, sizeof(sig));
	const uint8_t *pk = kp.sign_pk;
	switch (t) {
	case T_NONE:
		break;
	case T_MESSAGE:
		batchsig_leaf(leaf, (const uint8_t *)"forged", 6);
		break;
	case T_PATH_BYTE:
		if (p.path_len == 0)
			return -100;
		p.path[p.path_len - 1][5] ^= 0x01;
		break;
	case T_INDEX:
		p.index = (p.index + 1) % p.count;
		break;
	case T_COUNT_UP:
		p.count++;
		break;
	case T_COUNT_DOWN:
		p.count--;
		break;
	case T_KEY:
		pk = other.sign_pk;
		break;
	case T_TRUNCATED:
		if (p.path_len == 0)
			return -100;
		p.path_len--;
		break;
	case T_EXTRA:
		if (p.path_len >= BATCHSIG_MAX_PATH)
			return -100;
		memset(p.path[p.path_len], 0x42, sizeof(os_hash));
		p.path_len++;
		break;
	case T_INDEX_OUT:
		p.index = p.count;
		break;
	case T_COUNT_ZERO:
		p.count = 0;
		p.index = 0;
		break;
	case T_COUNT_HUGE:
		p.count = BATCHSIG_MAX_LEAVES + 1;
		break;
	case T_SIG_BYTE:
		sig[63] ^= 0x20;
		break;
	case T_SWAP_PATH:
		if (p.path_len < 2)
			return -100;
		{
			os_hash tmp;
			memcpy(tmp, p.path[0], sizeof(tmp));
			memcpy(p.path[0], p.path[1], sizeof(tmp));
			memcpy(p.path[1], tmp, sizeof(tmp));
		}
		break;
	}
	return batchsig_check(c, leaf, &p, sig, pk);
}

static void test_tampering(void **state)
{
	(void)state;
	static const struct tamper_case cases[] = {
		{"untouched", T_NONE, 0},
		{"tampered message", T_MESSAGE, OS_EBADSIG},
		{"wrong path byte", T_PATH_BYTE, OS_EBADSIG},
		{"wrong index", T_INDEX, OS_EBADSIG},
		{"count + 1", T_COUNT_UP, OS_EBADSIG},
		{"count - 1", T_COUNT_DOWN, OS_EBADSIG},
		{"wrong key", T_KEY, OS_EBADSIG},
		{"truncated path", T_TRUNCATED, OS_EBADSIG},
		{"extra path element", T_EXTRA, OS_EBADSIG},
		{"index >= count", T_INDEX_OUT, OS_EBADSIG},
		{"count 0", T_COUNT_ZERO, OS_EBADSIG},
		{"count too big", T_COUNT_HUGE, OS_EBADSIG},
		{"signature byte", T_SIG_BYTE, OS_EBADSIG},
		{"path order", T_SWAP_PATH, OS_EBADSIG},
	};
	static const uint32_t sizes[] = {2, 3, 5, 1000};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct batch b;
		batch_make(&b, sizes[s]);
		/* With a cache already holding the good batch, so that a hit can
		 * never excuse a bad proof, and without a cache. */
		struct batchsig_cache *c = NULL;
		assert_int_equal(batchsig_cache_new(16, &c), 0);
		assert_int_equal(run_tamper(&b, 0, T_NONE, c), 0);
		const uint32_t idxs[] = {0, 1, b.n / 2, b.n - 1};
		for (size_t k = 0; k < sizeof(idxs) / sizeof(idxs[0]); k++) {
			for (size_t j = 0; j < sizeof(cases) / sizeof(cases[0]); j++) {
				/* n = 2 with index 1 -> 0 and back: a real different leaf. */
				for (int use_cache = 0; use_cache < 2; use_cache++) {
					int rc = run_tamper(&b, idxs[k], cases[j].t,
							    use_cache ? c : NULL);
					if (rc == -100)
						continue;
					if (rc != cases[j].want)
						fail_msg(
							"n=%u leaf=%u %s cache=%d: got %d, want %d",
							b.n, idxs[k], cases[j].what, use_cache, rc,
							cases[j].want);
				}
			}
		}
		batchsig_cache_destroy(&c);
		batch_free(&b);
	}
	/* A single-leaf batch: any path at all is wrong. */
	struct batch one;
	batch_make(&one, 1);
	assert_int_equal(run_tamper(&one, 0, T_EXTRA, NULL), OS_EBADSIG);
	assert_int_equal(run_tamper(&one, 0, T_COUNT_UP, NULL), OS_EBADSIG);
	assert_int_equal(run_tamper(&one, 0, T_MESSAGE, NULL), OS_EBADSIG);
	batch_free(&one);
}

static void test_cache(void **state)
{
	(void)state;
	struct batchsig_cache *c = NULL;
	assert_int_equal(batchsig_cache_new(0, &c), OS_EINVAL);
	assert_int_equal(batchsig_cache_new(1, &c), 0);
	struct batch a, b;
	batch_make(&a, 4);
	batch_make(&b, 4);
	uint64_t hits, misses;

	assert_int_equal(batchsig_check(c, a.leaves[0], &a.proofs[0], a.sig, kp.sign_pk), 0);
	assert_int_equal(batchsig_check(c, a.leaves[1], &a.proofs[1], a.sig, kp.sign_pk), 0);
	batchsig_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 1);

	/* A cached root with another key or signature is not a hit. */
	assert_int_equal(batchsig_check(c, a.leaves[2], &a.proofs[2], a.sig, other.sign_pk),
			 OS_EBADSIG);
	os_sig bad;
	memcpy(bad, a.sig, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(batchsig_check(c, a.leaves[2], &a.proofs[2], bad, kp.sign_pk), OS_EBADSIG);
	batchsig_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 1);
	assert_int_equal(misses, 3);
	/* Failures are not cached: the good entry is still there. */
	assert_int_equal(batchsig_check(c, a.leaves[3], &a.proofs[3], a.sig, kp.sign_pk), 0);
	batchsig_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 2);

	/* One slot: batch b evicts batch a. */
	assert_int_equal(batchsig_check(c, b.leaves[0], &b.proofs[0], b.sig, kp.sign_pk), 0);
	assert_int_equal(batchsig_check(c, a.leaves[0], &a.proofs[0], a.sig, kp.sign_pk), 0);
	batchsig_cache_stats(c, &hits, &misses);
	assert_int_equal(hits, 2);
	assert_int_equal(misses, 5);
	batchsig_cache_stats(NULL, &hits, NULL);
	assert_int_equal(hits, 0);

	batch_free(&a);
	batch_free(&b);
	batchsig_cache_destroy(&c);
	batchsig_cache_destroy(&c);
}

static void test_max_batch(void **state)
{
	(void)state;
	/* The largest batch fits the path array. */
	uint32_t n = BATCHSIG_MAX_LEAVES;
	os_hash *leaves = calloc(n, sizeof(os_hash));
	struct batchsig_proof *proofs = calloc(n, sizeof(*proofs));
	assert_non_null(leaves);
	assert_non_null(proofs);
	for (uint32_t i = 0; i < n; i++)
		memcpy(leaves[i], &i, sizeof(i));
	os_hash root, r2;
	assert_int_equal(batchsig_build(leaves, n, root, proofs), 0);
	assert_int_equal(proofs[n - 1].path_len, BATCHSIG_MAX_PATH);
	assert_int_equal(batchsig_root(leaves[n - 1], &proofs[n - 1], r2), 0);
	assert_memory_equal(root, r2, sizeof(root));
	assert_int_equal(batchsig_root(leaves[12345], &proofs[12345], r2), 0);
	assert_memory_equal(root, r2, sizeof(root));
	free(leaves);
	free(proofs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sizes_verify), cmocka_unit_test(test_shape),
		cmocka_unit_test(test_tampering),    cmocka_unit_test(test_cache),
		cmocka_unit_test(test_max_batch),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
