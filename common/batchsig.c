/* Batch signatures: a BLAKE2b Merkle tree over a batch's envelopes, one
 * Ed25519 signature over its root, per-leaf proofs, and a cache of
 * verified roots so a batch costs each verifier one verification. */
#include "batchsig.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define BATCHSIG_TAG_LEAF 0x00
#define BATCHSIG_TAG_INNER 0x01
#define BATCHSIG_CTX "OneStop batch v1"
#define BATCHSIG_CACHE_MAX_SLOTS (1u << 20)

void batchsig_leaf(os_hash out, const uint8_t *env, size_t len)
{
	crypto_hash_tagged(out, BATCHSIG_TAG_LEAF, env, len);
}

/* Number of siblings on the path of leaf index in a tree of count leaves:
 * one per level where the node has a partner (an odd last node is
 * promoted without one). */
static uint32_t batchsig_path_len(uint32_t index, uint32_t count)
{
	uint32_t len = 0;
	while (count > 1) {
		if ((index ^ 1u) < count)
			len++;
		index >>= 1;
		count = (count + 1) / 2;
	}
	return len;
}

int batchsig_build(const os_hash *leaves, uint32_t n, os_hash root, struct batchsig_proof *proofs)
{
	if (leaves == NULL || n < 1 || n > BATCHSIG_MAX_LEAVES)
		return OS_EINVAL;
	/* Keep every level: level 0 is the leaves, each next one half as long
	 * (rounded up); the proofs read siblings from them. */
	uint32_t levels = 1, total = n;
	for (uint32_t len = n; len > 1; len = (len + 1) / 2) {
		levels++;
		total += (len + 1) / 2;
	}
	os_hash *nodes = malloc((size_t)total * sizeof(os_hash));
	uint32_t *offset = malloc((size_t)levels * sizeof(uint32_t));
	if (nodes == NULL || offset == NULL) {
		free(nodes);
		free(offset);
		return OS_ENOMEM;
	}
	memcpy(nodes, leaves, (size_t)n * sizeof(os_hash));
	offset[0] = 0;
	uint32_t len = n;
	for (uint32_t l = 1; l < levels; l++) {
		const os_hash *below = nodes + offset[l - 1];
		offset[l] = offset[l - 1] + len;
		os_hash *here = nodes + offset[l];
		uint32_t j = 0;
		for (; 2 * j + 1 < len; j++)
			crypto_hash_pair(here[j], BATCHSIG_TAG_INNER, below[2 * j],
					 below[2 * j + 1]);
		if (len % 2 == 1) {
			memcpy(here[j], below[len - 1], sizeof(os_hash));
			j++;
		}
		len = j;
	}
	memcpy(root, nodes[offset[levels - 1]], sizeof(os_hash));

	if (proofs != NULL) {
		for (uint32_t i = 0; i < n; i++) {
			struct batchsig_proof *p = &proofs[i];
			memset(p, 0, sizeof(*p));
			p->index = i;
			p->count = n;
			uint32_t idx = i;
			len = n;
			for (uint32_t l = 0; l + 1 < levels; l++) {
				uint32_t sib = idx ^ 1u;
				if (sib < len)
					memcpy(p->path[p->path_len++], nodes[offset[l] + sib],
					       sizeof(os_hash));
				idx >>= 1;
				len = (len + 1) / 2;
			}
		}
	}
	free(nodes);
	free(offset);
	return 0;
}

int batchsig_proof_check(const struct batchsig_proof *p)
{
	if (p->count < 1 || p->count > BATCHSIG_MAX_LEAVES || p->index >= p->count)
		return OS_EBADSIG;
	/* The shape of the tree fixes the path length exactly: a truncated or
	 * padded path is refused before any hashing. */
	if (p->path_len > BATCHSIG_MAX_PATH || p->path_len != batchsig_path_len(p->index, p->count))
		return OS_EBADSIG;
	return 0;
}

int batchsig_root(const os_hash leaf, const struct batchsig_proof *p, os_hash root)
{
	if (batchsig_proof_check(p) != 0)
		return OS_EBADSIG;
	os_hash h;
	memcpy(h, leaf, sizeof(os_hash));
	uint32_t idx = p->index, len = p->count, k = 0;
	while (len > 1) {
		if (idx & 1u) {
			crypto_hash_pair(h, BATCHSIG_TAG_INNER, p->path[k++], h);
		} else if (idx + 1 < len) {
			crypto_hash_pair(h, BATCHSIG_TAG_INNER, h, p->path[k++]);
		}
		idx >>= 1;
		len = (len + 1) / 2;
	}
	memcpy(root, h, sizeof(os_hash));
	return 0;
}

/* u32be(count) || root: what follows the domain string in a signature. */
static void batchsig_message(uint8_t msg[4 + sizeof(os_hash)], const os_hash root, uint32_t count)
{
	msg[0] = (uint8_t)(count >> 24);
	msg[1] = (uint8_t)(count >> 16);
	msg[2] = (uint8_t)(count >> 8);
	msg[3] = (uint8_t)count;
	memcpy(msg + 4, root, sizeof(os_hash));
}

void batchsig_sign(os_sig sig, const os_hash root, uint32_t count, const os_sign_sk sk)
{
	uint8_t msg[4 + sizeof(os_hash)];
	batchsig_message(msg, root, count);
	crypto_sign(sig, BATCHSIG_CTX, msg, sizeof(msg), sk);
}

int batchsig_verify(const os_sig sig, const os_hash root, uint32_t count, const os_sign_pk pk)
{
	uint8_t msg[4 + sizeof(os_hash)];
	batchsig_message(msg, root, count);
	return crypto_verify(sig, BATCHSIG_CTX, msg, sizeof(msg), pk) == 0 ? 0 : OS_EBADSIG;
}

struct batchsig_slot {
	int used;
	os_hash digest; /* of (pk, root, count, sig): equal digests, equal tuples */
};

struct batchsig_cache {
	unsigned slots;
	uint64_t hits, misses;
	struct batchsig_slot *table;
};

int batchsig_cache_new(unsigned slots, struct batchsig_cache **out)
{
	if (slots == 0 || slots > BATCHSIG_CACHE_MAX_SLOTS)
		return OS_EINVAL;
	struct batchsig_cache *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return OS_ENOMEM;
	c->table = calloc(slots, sizeof(*c->table));
	if (c->table == NULL) {
		free(c);
		return OS_ENOMEM;
	}
	c->slots = slots;
	*out = c;
	return 0;
}

void batchsig_cache_destroy(struct batchsig_cache **c)
{
	if (c == NULL || *c == NULL)
		return;
	free((*c)->table);
	free(*c);
	*c = NULL;
}

void batchsig_cache_stats(const struct batchsig_cache *c, uint64_t *hits, uint64_t *misses)
{
	if (hits != NULL)
		*hits = c != NULL ? c->hits : 0;
	if (misses != NULL)
		*misses = c != NULL ? c->misses : 0;
}

static void batchsig_digest(os_hash out, const os_sign_pk pk, const os_hash root, uint32_t count,
			    const os_sig sig)
{
	uint8_t buf[sizeof(os_sign_pk) + 4 + sizeof(os_hash) + sizeof(os_sig)];
	memcpy(buf, pk, sizeof(os_sign_pk));
	batchsig_message(buf + sizeof(os_sign_pk), root, count);
	memcpy(buf + sizeof(os_sign_pk) + 4 + sizeof(os_hash), sig, sizeof(os_sig));
	crypto_hash(out, buf, sizeof(buf));
}

int batchsig_check(struct batchsig_cache *c, const os_hash leaf, const struct batchsig_proof *p,
		   const os_sig sig, const os_sign_pk pk)
{
	os_hash root;
	if (batchsig_root(leaf, p, root) != 0)
		return OS_EBADSIG;
	if (c == NULL)
		return batchsig_verify(sig, root, p->count, pk);

	os_hash digest;
	batchsig_digest(digest, pk, root, p->count, sig);
	uint32_t pick = (uint32_t)digest[0] | (uint32_t)digest[1] << 8 | (uint32_t)digest[2] << 16 |
			(uint32_t)digest[3] << 24;
	struct batchsig_slot *slot = &c->table[pick % c->slots];
	if (slot->used && memcmp(slot->digest, digest, sizeof(os_hash)) == 0) {
		c->hits++;
		return 0;
	}
	c->misses++;
	if (batchsig_verify(sig, root, p->count, pk) != 0)
		return OS_EBADSIG;
	/* Only verified tuples enter; a newer batch overwrites an older one. */
	slot->used = 1;
	memcpy(slot->digest, digest, sizeof(os_hash));
	return 0;
}
