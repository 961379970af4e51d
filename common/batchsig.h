/* Batch signatures: one Ed25519 signature over the BLAKE2b Merkle root of a
 * batch of envelopes; each envelope carries its leaf index and sibling path.
 *   leaf  = BLAKE2b-256(0x00 || envelope bytes)
 *   inner = BLAKE2b-256(0x01 || left || right)
 * Levels pair nodes (2i, 2i+1); an odd last node is promoted unchanged.
 *   signature = Ed25519("OneStop batch v1\0" || u32be(leaf_count) || root) */
#ifndef OS_BATCHSIG_H
#define OS_BATCHSIG_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"

#define BATCHSIG_MAX_LEAVES 65536u
#define BATCHSIG_MAX_PATH 16u /* ceil(log2(BATCHSIG_MAX_LEAVES)) */

/* The proof for one leaf. */
struct batchsig_proof {
	uint32_t index;
	uint32_t count;
	uint32_t path_len;
	os_hash path[BATCHSIG_MAX_PATH];
};

void batchsig_leaf(os_hash out, const uint8_t *env, size_t len);

/* Build the tree over n leaf hashes (1 <= n <= BATCHSIG_MAX_LEAVES): write
 * the root, and proofs[i] for every leaf when proofs is not NULL (caller's
 * array of n). 0, OS_EINVAL or OS_ENOMEM. */
int batchsig_build(const os_hash *leaves, uint32_t n, os_hash root, struct batchsig_proof *proofs);

/* Check the proof's shape without hashing: count in 1..BATCHSIG_MAX_LEAVES,
 * index < count, and exactly the path length that index and count imply.
 * 0 or OS_EBADSIG. */
int batchsig_proof_check(const struct batchsig_proof *p);

/* Recompute the root from a leaf and its proof. 0, or OS_EBADSIG when the
 * index, count or path length are inconsistent. */
int batchsig_root(const os_hash leaf, const struct batchsig_proof *p, os_hash root);

void batchsig_sign(os_sig sig, const os_hash root, uint32_t count, const os_sign_sk sk);
/* 0 or OS_EBADSIG. */
int batchsig_verify(const os_sig sig, const os_hash root, uint32_t count, const os_sign_pk pk);

/* A small cache of verified (key, root, count, signature) so that a batch
 * costs one Ed25519 verification per verifier. Fixed size, LRU-ish by
 * overwrite; not thread-safe. */
struct batchsig_cache;
int batchsig_cache_new(unsigned slots, struct batchsig_cache **out);
void batchsig_cache_destroy(struct batchsig_cache **c);

/* Verify leaf under proof with signature sig by pk, using and filling the
 * cache (may be NULL). 0 or OS_EBADSIG. */
int batchsig_check(struct batchsig_cache *c, const os_hash leaf, const struct batchsig_proof *p,
		   const os_sig sig, const os_sign_pk pk);

/* Counters of batchsig_check through this cache: hits (signature already
 * verified) and misses (an Ed25519 verification ran). Either pointer may
 * be NULL. */
void batchsig_cache_stats(const struct batchsig_cache *c, uint64_t *hits, uint64_t *misses);

#endif
