/* Signed envelopes: building and batch-signing them at the origin, and
 * decoding and verifying them (structure, size, expiry, origin key, Merkle
 * path, signature) wherever they arrive. Also the DeadLetter payload. */
#ifndef OS_ENVELOPE_H
#define OS_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>
#include "batchsig.h"
#include "crypto.h"
#include "registry.h"
#include "util.h"

#define ENV_TYPE_MAX 128
#define ENV_DEADLETTER_TYPE "onestop.DeadLetter"
#define ENV_WHY_MAX 96
/* How far ahead of a receiver's clock created_ms may be by default (the
 * daemons' clock_skew_ms option). */
#define ENV_SKEW_DEFAULT_MS (5u * 60u * 1000u)

/* A message to be signed. */
struct env_draft {
	const char *destination;
	const char *type;
	const uint8_t *payload;
	size_t payload_len;
	uint64_t expires_ms;
};

/* A decoded Signed envelope. Strings are copied; payload and env_bytes
 * point into memory owned by the env (freed by env_clear). */
struct env {
	os_msgid id;
	char origin[OS_NAME_MAX];
	char destination[OS_NAME_MAX];
	char type[ENV_TYPE_MAX + 1];
	uint64_t created_ms;
	uint64_t expires_ms;
	uint32_t key_version;
	const uint8_t *payload;
	size_t payload_len;
	const uint8_t *env_bytes; /* the signed Envelope bytes */
	size_t env_len;
	os_sig sig;
	struct batchsig_proof proof;
	/* 1 when id holds the envelope's id. After a failed env_decode it
	 * says whether the id could still be read, and origin, destination
	 * and type hold what could be read of them, cut and with every byte
	 * outside 0x21..0x7e, '"' and '\\' replaced by '?' (unverified: for
	 * a refusal and a log line only); why says what was wrong. */
	int has_id;
	char why[ENV_WHY_MAX];
	void *priv_; /* unpacked protobufs */
};

/* Sign a batch of n drafts (1 <= n <= BATCHSIG_MAX_LEAVES) as origin with
 * sk: fresh random ids, created_ms = now_ms, one Merkle root, one
 * signature. out[i] receives a malloc'd packed Signed of out_len[i] bytes
 * that the caller frees; ids[i] its id (ids may be NULL). Drafts are
 * checked (destination, type syntax, expires_ms > now_ms): OS_ENAME /
 * OS_EINVAL / OS_EEXPIRED name the first bad one and nothing is returned. */
int env_sign_batch(const char *origin, uint32_t key_version, const os_sign_sk sk,
		   const struct env_draft *drafts, size_t n, uint64_t now_ms, uint8_t **out,
		   size_t *out_len, os_msgid *ids);

/* Decode a packed Signed of len bytes and check its structure, in this
 * order (docs/PROTOCOL.md 3.4 and 5.4 list the same):
 *   len > max_bytes, before anything is unpacked      OS_ETOOBIG
 *   Signed or Envelope not a protobuf, id not 16 bytes OS_EDECODE
 *   origin or destination not a well-formed name       OS_ENAME
 *   type not a well-formed message type                OS_EINVAL
 *   signature not 64 bytes, leaf index/count or path
 *   not the shape of a batch tree                      OS_EBADSIG
 *   expires_ms not after created_ms (0 included)       OS_EEXPIRED
 * and OS_ENOMEM, OS_EINVAL (NULL arguments). From the ENAME check on, the
 * id is known: e->has_id is 1 and e->id holds it, so a refusal can name
 * the message. On success the caller calls env_clear(e); on failure e
 * holds only the readable parts described at struct env and needs no
 * env_clear (it may be given one). The buffer is not retained. */
int env_decode(const uint8_t *buf, size_t len, size_t max_bytes, struct env *e);

/* Decode only the Envelope inside a packed Signed that was decoded and
 * verified before (e.g. read back from a store): the same checks on the
 * envelope's fields as env_decode (all but the signature's and the
 * proof's), but the Signed is not unpacked (its envelope bytes are found
 * in place, not copied) and proof, signature and env_bytes are left
 * empty, so the result cannot be given to env_verify. The buffer is not
 * retained. Errors and the state of e as env_decode; the caller calls
 * env_clear(e) on success. */
int env_decode_stored(const uint8_t *buf, size_t len, size_t max_bytes, struct env *e);

void env_clear(struct env *e);

/* Verify a decoded envelope against the registry at now_ms, in this
 * order: origin known (OS_EUNKNOWN) and active (OS_EREVOKED), key version
 * current (OS_EBADSIG), Merkle path and signature (OS_EBADSIG, via cache
 * when not NULL), then the clock: not expired (expires_ms > now_ms) and
 * not created ahead of it by more than skew_ms (created_ms <= now_ms +
 * skew_ms), else OS_EEXPIRED. now_ms 0 skips the clock checks (a dataset
 * change outlives its envelope). 0 when all hold. When why is not NULL it
 * receives a sentence naming the failure (why_size bytes at most). */
int env_verify_at(const struct env *e, const struct registry *reg, struct batchsig_cache *cache,
		  uint64_t now_ms, uint64_t skew_ms, char *why, size_t why_size);

/* env_verify_at with skew_ms = ENV_SKEW_DEFAULT_MS and no sentence. */
int env_verify(const struct env *e, const struct registry *reg, struct batchsig_cache *cache,
	       uint64_t now_ms);

/* The DeadLetter payload for a refused message. id may be NULL. *out is
 * malloc'd; the caller frees it. */
int env_deadletter_pack(const uint8_t *id, const char *destination, const char *type, int code,
			const char *reason, const char *refused_by, uint8_t **out, size_t *len);

struct env_deadletter {
	os_msgid id;
	int has_id;
	char destination[OS_NAME_MAX];
	char type[ENV_TYPE_MAX + 1];
	int code;
	char reason[256];
	char refused_by[OS_NAME_MAX];
};
/* 0 or OS_EDECODE. */
int env_deadletter_unpack(const uint8_t *buf, size_t len, struct env_deadletter *out);

#endif
