/* All cryptography of OneStop over libsodium: node key pairs and their key
 * files, domain-separated Ed25519 signatures, sealed boxes, BLAKE2b-256
 * hashes and randomness. This is the only file that includes sodium.h. */
#include <sodium.h>
/* After sodium.h: crypto.h renames our crypto_sign / crypto_hash. */
#include "crypto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

_Static_assert(sizeof(os_sign_pk) == crypto_sign_PUBLICKEYBYTES, "sign pk size");
_Static_assert(sizeof(os_sign_sk) == crypto_sign_SECRETKEYBYTES, "sign sk size");
_Static_assert(sizeof(os_sig) == crypto_sign_BYTES, "signature size");
_Static_assert(sizeof(os_box_pk) == crypto_box_PUBLICKEYBYTES, "box pk size");
_Static_assert(sizeof(os_box_sk) == crypto_box_SECRETKEYBYTES, "box sk size");
_Static_assert(sizeof(os_hash) == crypto_generichash_BYTES, "hash size");
_Static_assert(CRYPTO_SEAL_OVERHEAD == crypto_box_SEALBYTES, "sealed box overhead");

#define CRYPTO_KEYFILE_MAX 4096
/* Messages up to this size are signed from a stack buffer. */
#define CRYPTO_STACK_MSG 2048

int crypto_setup(void)
{
	return sodium_init() < 0 ? OS_EINVAL : 0;
}

void crypto_random(void *out, size_t n)
{
	randombytes_buf(out, n);
}

void crypto_keypair_new(struct os_keypair *kp)
{
	crypto_sign_keypair(kp->sign_pk, kp->sign_sk);
	crypto_box_keypair(kp->box_pk, kp->box_sk);
}

void crypto_keypair_wipe(struct os_keypair *kp)
{
	/* sodium_munlock zeroes first, also when the pages were not locked. */
	if (sodium_munlock(kp, sizeof(*kp)) != 0)
		sodium_memzero(kp, sizeof(*kp));
}

int crypto_keypair_lock(struct os_keypair *kp)
{
	return sodium_mlock(kp, sizeof(*kp)) == 0 ? 0 : OS_EIO;
}

/* Write "name = hex" lines for each (name, bytes, len) into buf. */
static int crypto_keyfile_put(char *buf, size_t size, size_t *used, const char *name,
			      const uint8_t *b, size_t n)
{
	char hex[2 * 64 + 1];
	if (2 * n + 1 > sizeof(hex))
		return OS_EINVAL;
	os_hex(hex, b, n);
	int w = snprintf(buf + *used, size - *used, "%s = %s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
	if (w < 0 || (size_t)w >= size - *used)
		return OS_EINVAL;
	*used += (size_t)w;
	return 0;
}

int crypto_keyfile_write(const char *path, const struct os_keypair *kp)
{
	char buf[512];
	size_t used = 0;
	int rc;
	int w = snprintf(buf, sizeof(buf), "# OneStop node key; keep secret (mode 0600)\n");
	if (w < 0 || (size_t)w >= sizeof(buf))
		return OS_EINVAL;
	used = (size_t)w;
	if ((rc = crypto_keyfile_put(buf, sizeof(buf), &used, "sign_secret", kp->sign_sk,
				     sizeof(kp->sign_sk))) != 0)
		goto out;
	if ((rc = crypto_keyfile_put(buf, sizeof(buf), &used, "box_secret", kp->box_sk,
				     sizeof(kp->box_sk))) != 0)
		goto out;
	rc = os_write_file(path, buf, used, 0600, 1);
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int crypto_pubfile_write(const char *path, const os_sign_pk spk, const os_box_pk bpk)
{
	char buf[256];
	size_t used = 0;
	int rc;
	if ((rc = crypto_keyfile_put(buf, sizeof(buf), &used, "sign_public", spk,
				     sizeof(os_sign_pk))) != 0)
		return rc;
	if ((rc = crypto_keyfile_put(buf, sizeof(buf), &used, "box_public", bpk,
				     sizeof(os_box_pk))) != 0)
		return rc;
	return os_write_file(path, buf, used, 0644, 1);
}

/* One "name = value" field of a key file. */
struct crypto_field {
	const char *name;
	uint8_t *out;
	size_t len;
	int seen;
};

/* Parse the lines of a key file into fields: blank lines and '#' comments
 * are skipped, unknown names ignored; a known name must appear once with
 * exactly the right number of hex digits. 0 or OS_EKEY. */
static int crypto_parse_fields(char *text, struct crypto_field *fields, size_t nf)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '\0' || *line == '#' || *line == '\r')
			continue;
		char *eq = strchr(line, '=');
		if (eq == NULL)
			return OS_EKEY;
		char *end = eq;
		while (end > line && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		*end = '\0';
		char *val = eq + 1;
		while (*val == ' ' || *val == '\t')
			val++;
		size_t vl = strlen(val);
		while (vl > 0 && (val[vl - 1] == ' ' || val[vl - 1] == '\t' || val[vl - 1] == '\r'))
			val[--vl] = '\0';
		for (size_t i = 0; i < nf; i++) {
			if (strcmp(line, fields[i].name) != 0)
				continue;
			if (fields[i].seen || os_unhex(fields[i].out, fields[i].len, val) != 0)
				return OS_EKEY;
			fields[i].seen = 1;
		}
	}
	for (size_t i = 0; i < nf; i++)
		if (!fields[i].seen)
			return OS_EKEY;
	return 0;
}

/* Read a small text file as a NUL-terminated string. */
static int crypto_read_text(const char *path, char **out, size_t *len)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	int rc = os_read_file(path, CRYPTO_KEYFILE_MAX, &raw, &n);
	if (rc == OS_ETOOBIG)
		return OS_EKEY;
	if (rc != 0)
		return rc;
	char *text = malloc(n + 1);
	if (text == NULL) {
		sodium_memzero(raw, n);
		free(raw);
		return OS_ENOMEM;
	}
	memcpy(text, raw, n);
	text[n] = '\0';
	sodium_memzero(raw, n);
	free(raw);
	if (strlen(text) != n) {
		/* An embedded NUL is no key file. */
		sodium_memzero(text, n);
		free(text);
		return OS_EKEY;
	}
	*out = text;
	*len = n;
	return 0;
}

int crypto_keyfile_read(const char *path, struct os_keypair *kp)
{
	char *text = NULL;
	size_t n = 0;
	struct os_keypair tmp;
	os_sign_pk derived;
	uint8_t seed_sk[crypto_sign_SECRETKEYBYTES];
	int rc = crypto_read_text(path, &text, &n);
	if (rc != 0)
		return rc;
	struct crypto_field fields[] = {
		{"sign_secret", tmp.sign_sk, sizeof(tmp.sign_sk), 0},
		{"box_secret", tmp.box_sk, sizeof(tmp.box_sk), 0},
	};
	if ((rc = crypto_parse_fields(text, fields, 2)) != 0)
		goto out;
	/* The secret key is seed || pk: rebuild it from the seed and insist
	 * the stored public half agrees, so a damaged file is refused. */
	rc = OS_EKEY;
	if (crypto_sign_seed_keypair(derived, seed_sk, tmp.sign_sk) != 0)
		goto out;
	if (sodium_memcmp(derived, tmp.sign_sk + 32, 32) != 0)
		goto out;
	memcpy(tmp.sign_pk, derived, sizeof(derived));
	if (crypto_scalarmult_base(tmp.box_pk, tmp.box_sk) != 0)
		goto out;
	memcpy(kp, &tmp, sizeof(tmp));
	rc = 0;
out:
	sodium_memzero(&tmp, sizeof(tmp));
	sodium_memzero(seed_sk, sizeof(seed_sk));
	sodium_memzero(text, n);
	free(text);
	return rc;
}

int crypto_pubfile_read(const char *path, os_sign_pk spk, os_box_pk bpk)
{
	char *text = NULL;
	size_t n = 0;
	os_sign_pk s;
	os_box_pk b;
	int rc = crypto_read_text(path, &text, &n);
	if (rc != 0)
		return rc;
	struct crypto_field fields[] = {
		{"sign_public", s, sizeof(s), 0},
		{"box_public", b, sizeof(b), 0},
	};
	rc = crypto_parse_fields(text, fields, 2);
	if (rc == 0) {
		memcpy(spk, s, sizeof(s));
		memcpy(bpk, b, sizeof(b));
	}
	free(text);
	return rc;
}

/* ctx (with its NUL) || msg, in stack memory when small. *heap tells the
 * caller to free. NULL when out of memory. */
static uint8_t *crypto_concat(const char *ctx, const uint8_t *msg, size_t len, uint8_t *stackbuf,
			      size_t *total, int *heap)
{
	size_t cl = strlen(ctx) + 1;
	*heap = 0;
	if (len > SIZE_MAX - cl)
		return NULL;
	*total = cl + len;
	uint8_t *buf = stackbuf;
	if (*total > CRYPTO_STACK_MSG) {
		buf = malloc(*total);
		if (buf == NULL)
			return NULL;
		*heap = 1;
	}
	memcpy(buf, ctx, cl);
	if (len > 0)
		memcpy(buf + cl, msg, len);
	return buf;
}

void crypto_sign(os_sig sig, const char *ctx, const uint8_t *msg, size_t len, const os_sign_sk sk)
{
	uint8_t stackbuf[CRYPTO_STACK_MSG];
	size_t total = 0;
	int heap = 0;
	uint8_t *m = crypto_concat(ctx, msg, len, stackbuf, &total, &heap);
	if (m == NULL) {
		/* Out of memory: an all-zero signature never verifies. */
		memset(sig, 0, sizeof(os_sig));
		return;
	}
	crypto_sign_detached(sig, NULL, m, total, sk);
	if (heap)
		free(m);
}

int crypto_verify(const os_sig sig, const char *ctx, const uint8_t *msg, size_t len,
		  const os_sign_pk pk)
{
	uint8_t stackbuf[CRYPTO_STACK_MSG];
	size_t total = 0;
	int heap = 0;
	uint8_t *m = crypto_concat(ctx, msg, len, stackbuf, &total, &heap);
	if (m == NULL)
		return OS_ENOMEM;
	int ok = crypto_sign_verify_detached(sig, m, total, pk);
	if (heap)
		free(m);
	return ok == 0 ? 0 : OS_EBADSIG;
}

int crypto_seal(const os_box_pk box_pk, const void *msg, size_t len, uint8_t *out, size_t out_size,
		size_t *out_len)
{
	/* libsodium reads msg even when len is 0; give it a byte to point at. */
	static const uint8_t empty[1];
	if (out_len != NULL)
		*out_len = 0;
	if (box_pk == NULL || out == NULL || out_len == NULL || (msg == NULL && len > 0))
		return OS_EINVAL;
	if (len > SIZE_MAX - CRYPTO_SEAL_OVERHEAD || out_size < len + CRYPTO_SEAL_OVERHEAD)
		return OS_EINVAL;
	/* The ephemeral key agreement fails only for a low-order point. */
	if (crypto_box_seal(out, msg != NULL ? msg : empty, (unsigned long long)len, box_pk) != 0)
		return OS_EKEY;
	*out_len = len + CRYPTO_SEAL_OVERHEAD;
	return 0;
}

int crypto_seal_open(const struct os_keypair *kp, const uint8_t *sealed, size_t len, uint8_t *out,
		     size_t out_size, size_t *out_len)
{
	if (out_len != NULL)
		*out_len = 0;
	if (kp == NULL || out == NULL || out_len == NULL || (sealed == NULL && len > 0))
		return OS_EINVAL;
	/* Too short to hold the ephemeral key and the MAC: no sealed box. */
	if (len < CRYPTO_SEAL_OVERHEAD)
		return OS_EBADSIG;
	size_t plain = len - CRYPTO_SEAL_OVERHEAD;
	if (out_size < plain)
		return OS_EINVAL;
	if (crypto_box_seal_open(out, sealed, (unsigned long long)len, kp->box_pk, kp->box_sk) !=
	    0) {
		sodium_memzero(out, plain);
		return OS_EBADSIG;
	}
	*out_len = plain;
	return 0;
}

void crypto_hash_tagged(os_hash out, uint8_t tag, const uint8_t *data, size_t len)
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(os_hash));
	crypto_generichash_update(&st, &tag, 1);
	if (len > 0)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, out, sizeof(os_hash));
}

void crypto_hash_pair(os_hash out, uint8_t tag, const os_hash a, const os_hash b)
{
	uint8_t buf[1 + 2 * sizeof(os_hash)];
	buf[0] = tag;
	memcpy(buf + 1, a, sizeof(os_hash));
	memcpy(buf + 1 + sizeof(os_hash), b, sizeof(os_hash));
	crypto_generichash(out, sizeof(os_hash), buf, sizeof(buf), NULL, 0);
}

void crypto_hash(os_hash out, const uint8_t *data, size_t len)
{
	crypto_generichash(out, sizeof(os_hash), data, len, NULL, 0);
}

int crypto_keyed_hash(uint8_t *out, size_t out_len, const uint8_t *key, size_t key_len,
		      const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len)
{
	crypto_generichash_state st;
	if (!out || !key || out_len < crypto_generichash_BYTES_MIN ||
	    out_len > crypto_generichash_BYTES_MAX || key_len < crypto_generichash_KEYBYTES_MIN ||
	    key_len > crypto_generichash_KEYBYTES_MAX || (!a && a_len) || (!b && b_len))
		return OS_EINVAL;
	crypto_generichash_init(&st, key, key_len, out_len);
	if (a_len)
		crypto_generichash_update(&st, a, a_len);
	if (b_len)
		crypto_generichash_update(&st, b, b_len);
	crypto_generichash_final(&st, out, out_len);
	sodium_memzero(&st, sizeof st);
	return 0;
}

int crypto_memcmp(const void *a, const void *b, size_t n)
{
	return sodium_memcmp(a, b, n) == 0 ? 0 : 1;
}

void crypto_wipe(void *p, size_t n)
{
	sodium_memzero(p, n);
}

/* The caller's opaque state holds libsodium's BLAKE2b state, so digests
 * over many entries need no allocation. */
_Static_assert(sizeof(os_hash_state) >= sizeof(crypto_generichash_state),
	       "os_hash_state too small for crypto_generichash_state");
_Static_assert(_Alignof(os_hash_state) >= _Alignof(crypto_generichash_state),
	       "os_hash_state alignment");

void crypto_digest_init(os_hash_state *st)
{
	crypto_generichash_init((crypto_generichash_state *)(void *)st->opaque, NULL, 0,
				sizeof(os_hash));
}

void crypto_digest_update(os_hash_state *st, const uint8_t *data, size_t len)
{
	if (len == 0)
		return;
	crypto_generichash_update((crypto_generichash_state *)(void *)st->opaque, data, len);
}

void crypto_digest_final(os_hash_state *st, os_hash out)
{
	crypto_generichash_final((crypto_generichash_state *)(void *)st->opaque, out,
				 sizeof(os_hash));
	sodium_memzero(st, sizeof(*st));
}
