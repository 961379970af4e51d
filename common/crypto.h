/* All cryptography of OneStop, over libsodium: key types, node key files,
 * Ed25519 signatures, sealed boxes to a node's X25519 key, BLAKE2b hashes,
 * randomness. No other module includes sodium.h. */
#ifndef OS_CRYPTO_H
#define OS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* libsodium exports functions named crypto_sign and crypto_hash too; ours
 * are linked as os_crypto_sign and os_crypto_hash so that a program (or a
 * shared library) holding both never calls the wrong one. Callers keep
 * writing crypto_sign / crypto_hash. */
#define crypto_sign os_crypto_sign
#define crypto_hash os_crypto_hash

typedef uint8_t os_sign_pk[32]; /* Ed25519 public key */
typedef uint8_t os_sign_sk[64]; /* Ed25519 secret key (seed || pk) */
typedef uint8_t os_box_pk[32];  /* X25519 public key (CURVE) */
typedef uint8_t os_box_sk[32];  /* X25519 secret key (CURVE) */
typedef uint8_t os_sig[64];     /* Ed25519 signature */
typedef uint8_t os_hash[32];    /* BLAKE2b-256 */
typedef uint8_t os_msgid[16];   /* message id */

/* A node's secret material, as held in its key file. */
struct os_keypair {
	os_sign_sk sign_sk;
	os_sign_pk sign_pk;
	os_box_sk box_sk;
	os_box_pk box_pk;
};

/* Initialise libsodium; call once before anything else. 0 or OS_EINVAL. */
int crypto_setup(void);

void crypto_random(void *out, size_t n);

/* Fresh signing and transport key pairs. */
void crypto_keypair_new(struct os_keypair *kp);
/* Wipe a key pair (sodium_memzero), and unlock it if it was locked. */
void crypto_keypair_wipe(struct os_keypair *kp);
/* Keep a key pair out of swap and core dumps (sodium_mlock: mlock and
 * MADV_DONTDUMP) until crypto_keypair_wipe. 0, or OS_EIO when the system
 * refuses (RLIMIT_MEMLOCK): the keys stay usable, the caller logs it. */
int crypto_keypair_lock(struct os_keypair *kp);

/* Key file: text, mode 0600, lines "sign_secret = <128 hex>" and
 * "box_secret = <64 hex>". Public halves are derived on load.
 * keyfile_write refuses to overwrite (OS_EEXIST). */
int crypto_keyfile_write(const char *path, const struct os_keypair *kp);
/* 0, OS_EIO (cannot read), OS_EKEY (malformed). */
int crypto_keyfile_read(const char *path, struct os_keypair *kp);

/* Public key file: text, lines "sign_public = <64 hex>" and
 * "box_public = <64 hex>". Refuses to overwrite (OS_EEXIST). */
int crypto_pubfile_write(const char *path, const os_sign_pk spk, const os_box_pk bpk);
int crypto_pubfile_read(const char *path, os_sign_pk spk, os_box_pk bpk);

/* Detached Ed25519 over ctx (a NUL-terminated domain string, its NUL
 * included in what is signed) followed by msg. */
void crypto_sign(os_sig sig, const char *ctx, const uint8_t *msg, size_t len, const os_sign_sk sk);
/* 0 or OS_EBADSIG. */
int crypto_verify(const os_sig sig, const char *ctx, const uint8_t *msg, size_t len,
		  const os_sign_pk pk);

/* Sealed boxes (libsodium crypto_box_seal): anyone who knows a node's
 * box_pk (its X25519 key, also its CURVE key; Node.box_pk in the registry)
 * seals a message that only that node can open; the sender stays
 * anonymous and cannot open it again. A sealed message is the plaintext
 * plus CRYPTO_SEAL_OVERHEAD bytes (an ephemeral public key and a MAC). */
#define CRYPTO_SEAL_OVERHEAD 48

/* Seal msg (len bytes; msg may be NULL when len is 0) to box_pk into out,
 * which has out_size bytes and must not overlap msg; *out_len gets
 * len + CRYPTO_SEAL_OVERHEAD. 0; OS_EINVAL when out, out_len or box_pk is
 * NULL, msg is NULL with len > 0, or out_size < len + CRYPTO_SEAL_OVERHEAD;
 * OS_EKEY when box_pk is not a usable X25519 key (a low-order point). On
 * refusal *out_len (if given) is 0 and out is left unspecified. */
int crypto_seal(const os_box_pk box_pk, const void *msg, size_t len, uint8_t *out, size_t out_size,
		size_t *out_len) __attribute__((warn_unused_result));

/* Open sealed (len bytes) with the node's key pair kp (box_pk and box_sk)
 * into out, which has out_size bytes and must not overlap sealed;
 * *out_len gets len - CRYPTO_SEAL_OVERHEAD. 0; OS_EINVAL when kp, out,
 * out_len is NULL, sealed is NULL with len > 0, or out_size is smaller
 * than the plaintext; OS_EBADSIG when it cannot be opened: sealed to
 * another key, altered, truncated, or shorter than CRYPTO_SEAL_OVERHEAD.
 * On refusal *out_len (if given) is 0 and the plaintext's room in out is
 * wiped. The plaintext may be secret: the caller wipes it after use. */
int crypto_seal_open(const struct os_keypair *kp, const uint8_t *sealed, size_t len, uint8_t *out,
		     size_t out_size, size_t *out_len) __attribute__((warn_unused_result));

/* BLAKE2b-256 of one byte tag followed by data (domain separation). */
void crypto_hash_tagged(os_hash out, uint8_t tag, const uint8_t *data, size_t len);
/* BLAKE2b-256 of tag || a || b, for Merkle inner nodes. */
void crypto_hash_pair(os_hash out, uint8_t tag, const os_hash a, const os_hash b);
/* Incremental BLAKE2b-256, for digests over many entries. */
typedef struct {
	_Alignas(64) uint8_t opaque[384];
} os_hash_state;
void crypto_digest_init(os_hash_state *st);
void crypto_digest_update(os_hash_state *st, const uint8_t *data, size_t len);
void crypto_digest_final(os_hash_state *st, os_hash out);

/* Plain BLAKE2b-256 (audit chains, digests). */
void crypto_hash(os_hash out, const uint8_t *data, size_t len);

/* Keyed BLAKE2b (a MAC, a keyed pseudonym) of a || b into out_len bytes
 * (16..64) under key (16..64 bytes); a or b may be NULL when its length is
 * 0. The caller fixes the length of a (or encodes it) so that a || b is
 * unambiguous. 0, or OS_EINVAL for a NULL out or key, a size out of range,
 * or NULL data with a length. */
int crypto_keyed_hash(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
		      const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len);

/* Constant-time comparison; 0 when equal. */
int crypto_memcmp(const void *a, const void *b, size_t n);
void crypto_wipe(void *p, size_t n);

#endif
