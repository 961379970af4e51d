/* Unit tests for common/crypto.c: key pairs and key files, domain-separated
 * signatures, sealed boxes, hashes and constant-time helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "err.h"
#include "testutil.h"
#include "util.h"

static int setup(void **state)
{
	(void)state;
	return crypto_setup();
}

static void test_keyfile_roundtrip(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	char path[512], pub[512];
	tu_path(path, sizeof(path), dir, "node.key");
	tu_path(pub, sizeof(pub), dir, "node.key.pub");

	struct os_keypair kp, back;
	crypto_keypair_new(&kp);
	assert_int_equal(crypto_keyfile_write(path, &kp), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(crypto_keyfile_write(path, &kp), OS_EEXIST);

	memset(&back, 0, sizeof(back));
	assert_int_equal(crypto_keyfile_read(path, &back), 0);
	assert_memory_equal(back.sign_sk, kp.sign_sk, sizeof(kp.sign_sk));
	assert_memory_equal(back.sign_pk, kp.sign_pk, sizeof(kp.sign_pk));
	assert_memory_equal(back.box_sk, kp.box_sk, sizeof(kp.box_sk));
	assert_memory_equal(back.box_pk, kp.box_pk, sizeof(kp.box_pk));

	os_sign_pk spk;
	os_box_pk bpk;
	assert_int_equal(crypto_pubfile_write(pub, kp.sign_pk, kp.box_pk), 0);
	assert_int_equal(crypto_pubfile_write(pub, kp.sign_pk, kp.box_pk), OS_EEXIST);
	assert_int_equal(crypto_pubfile_read(pub, spk, bpk), 0);
	assert_memory_equal(spk, kp.sign_pk, 32);
	assert_memory_equal(bpk, kp.box_pk, 32);

	crypto_keypair_wipe(&back);
	const uint8_t zero[sizeof(back)] = {0};
	assert_memory_equal(&back, zero, sizeof(back));

	tu_path(path, sizeof(path), dir, "missing.key");
	assert_int_equal(crypto_keyfile_read(path, &back), OS_EIO);
	assert_int_equal(crypto_pubfile_read(path, spk, bpk), OS_EIO);
	crypto_keypair_wipe(&kp);
	tu_rmrf(dir);
}

static void test_keyfile_malformed(void **state)
{
	(void)state;
	struct os_keypair kp;
	crypto_keypair_new(&kp);
	char sign_hex[129], box_hex[65], other_hex[129];
	os_hex(sign_hex, kp.sign_sk, 64);
	os_hex(box_hex, kp.box_sk, 32);
	/* A secret key whose public half does not match its seed. */
	struct os_keypair kp2;
	crypto_keypair_new(&kp2);
	uint8_t mixed[64];
	memcpy(mixed, kp.sign_sk, 32);
	memcpy(mixed + 32, kp2.sign_pk, 32);
	os_hex(other_hex, mixed, 64);

	char good[512], texts[8][512];
	snprintf(good, sizeof(good), "# comment\n\nsign_secret = %s\r\nbox_secret=%s\n", sign_hex,
		 box_hex);
	snprintf(texts[0], 512, "sign_secret = %s\n", sign_hex);
	snprintf(texts[1], 512, "box_secret = %s\n", box_hex);
	snprintf(texts[2], 512, "sign_secret = %.126s\nbox_secret = %s\n", sign_hex, box_hex);
	snprintf(texts[3], 512, "sign_secret = %sz\nbox_secret = %s\n", sign_hex, box_hex);
	snprintf(texts[4], 512, "sign_secret = %s\nsign_secret = %s\nbox_secret = %s\n", sign_hex,
		 sign_hex, box_hex);
	snprintf(texts[5], 512, "sign_secret = %s\nbox_secret = %s\n", other_hex, box_hex);
	snprintf(texts[6], 512, "sign_secret %s\nbox_secret = %s\n", sign_hex, box_hex);
	snprintf(texts[7], 512, "garbage");

	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	char path[512];
	tu_path(path, sizeof(path), dir, "good.key");
	assert_int_equal(tu_write(path, good), 0);
	struct os_keypair back;
	assert_int_equal(crypto_keyfile_read(path, &back), 0);
	assert_memory_equal(back.box_pk, kp.box_pk, 32);
	for (int i = 0; i < 8; i++) {
		char name[32];
		snprintf(name, sizeof(name), "bad%d.key", i);
		tu_path(path, sizeof(path), dir, name);
		assert_int_equal(tu_write(path, texts[i]), 0);
		int rc = crypto_keyfile_read(path, &back);
		if (rc != OS_EKEY)
			fail_msg("malformed key file %d: got %d, want OS_EKEY", i, rc);
	}
	/* A key file is no public key file, and the reverse. */
	tu_path(path, sizeof(path), dir, "good.key");
	os_sign_pk spk;
	os_box_pk bpk;
	assert_int_equal(crypto_pubfile_read(path, spk, bpk), OS_EKEY);
	/* Oversized file. */
	tu_path(path, sizeof(path), dir, "huge.key");
	char *huge = malloc(10000);
	assert_non_null(huge);
	memset(huge, '#', 9999);
	huge[9999] = '\0';
	assert_int_equal(tu_write(path, huge), 0);
	free(huge);
	assert_int_equal(crypto_keyfile_read(path, &back), OS_EKEY);
	crypto_keypair_wipe(&kp);
	crypto_keypair_wipe(&kp2);
	tu_rmrf(dir);
}

static void test_sign_verify(void **state)
{
	(void)state;
	struct os_keypair kp, other;
	crypto_keypair_new(&kp);
	crypto_keypair_new(&other);
	static const size_t sizes[] = {0, 1, 100, 2030, 2048, 5000, 200000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];
		uint8_t *msg = malloc(n + 1);
		assert_non_null(msg);
		crypto_random(msg, n + 1);
		os_sig sig;
		crypto_sign(sig, "OneStop test v1", msg, n, kp.sign_sk);
		assert_int_equal(crypto_verify(sig, "OneStop test v1", msg, n, kp.sign_pk), 0);
		/* Another domain, another key, a changed byte: all refused. */
		assert_int_equal(crypto_verify(sig, "OneStop test v2", msg, n, kp.sign_pk),
				 OS_EBADSIG);
		assert_int_equal(crypto_verify(sig, "OneStop test v1", msg, n, other.sign_pk),
				 OS_EBADSIG);
		if (n > 0) {
			msg[n / 2] ^= 1;
			assert_int_equal(crypto_verify(sig, "OneStop test v1", msg, n, kp.sign_pk),
					 OS_EBADSIG);
			msg[n / 2] ^= 1;
		}
		sig[0] ^= 0x80;
		assert_int_equal(crypto_verify(sig, "OneStop test v1", msg, n, kp.sign_pk),
				 OS_EBADSIG);
		free(msg);
	}
	/* The context's NUL is signed: "ab" || "c" differs from "a" || "bc". */
	os_sig sig;
	crypto_sign(sig, "ab", (const uint8_t *)"c", 1, kp.sign_sk);
	assert_int_equal(crypto_verify(sig, "a", (const uint8_t *)"bc", 2, kp.sign_pk), OS_EBADSIG);
	crypto_keypair_wipe(&kp);
	crypto_keypair_wipe(&other);
}

/* Keyed BLAKE2b: a || b hashed as one input, a known answer, bounds. */
static void test_keyed_hash(void **state)
{
	(void)state;
	uint8_t key[32], one[32], two[32];
	/* hashlib.blake2b(b"abcdef", key=bytes(range(32)), digest_size=32) */
	static const uint8_t want[32] = {0x4b, 0x27, 0x89, 0x54, 0x82, 0xb5, 0xa5, 0xb9,
					 0xdc, 0x57, 0x9b, 0x79, 0x5d, 0x73, 0x0c, 0x2a,
					 0xdf, 0x4d, 0x19, 0x01, 0x69, 0x06, 0x5b, 0x22,
					 0xbe, 0x5c, 0x1f, 0x91, 0x33, 0x65, 0xc3, 0x99};
	for (int i = 0; i < 32; i++)
		key[i] = (uint8_t)i;
	assert_int_equal(crypto_keyed_hash(one, 32, key, 32, (const uint8_t *)"abc", 3,
					   (const uint8_t *)"def", 3),
			 0);
	assert_int_equal(crypto_keyed_hash(two, 32, key, 32, (const uint8_t *)"abcdef", 6, NULL, 0),
			 0);
	assert_memory_equal(one, two, 32);
	assert_memory_equal(one, want, 32);
	key[0] ^= 1;
	assert_int_equal(crypto_keyed_hash(two, 32, key, 32, (const uint8_t *)"abcdef", 6, NULL, 0),
			 0);
	assert_memory_not_equal(one, two, 32);
	assert_int_equal(crypto_keyed_hash(one, 15, key, 32, NULL, 0, NULL, 0), OS_EINVAL);
	assert_int_equal(crypto_keyed_hash(one, 16, key, 15, NULL, 0, NULL, 0), OS_EINVAL);
	assert_int_equal(crypto_keyed_hash(one, 16, NULL, 32, NULL, 0, NULL, 0), OS_EINVAL);
	assert_int_equal(crypto_keyed_hash(one, 16, key, 32, NULL, 1, NULL, 0), OS_EINVAL);
}

static void test_hashes(void **state)
{
	(void)state;
	/* BLAKE2b-256 of the empty string (RFC 7693 parameters, 32-byte output). */
	os_hash h;
	char hex[65];
	crypto_hash(h, NULL, 0);
	os_hex(hex, h, 32);
	assert_string_equal(hex,
			    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
	crypto_hash(h, (const uint8_t *)"abc", 3);
	os_hex(hex, h, 32);
	assert_string_equal(hex,
			    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");

	/* Tagged hashes are the plain hash of tag || data. */
	uint8_t buf[1 + 65];
	os_hash a, b, t, want;
	crypto_random(a, 32);
	crypto_random(b, 32);
	buf[0] = 0x00;
	memcpy(buf + 1, a, 32);
	crypto_hash_tagged(t, 0x00, a, 32);
	crypto_hash(want, buf, 33);
	assert_memory_equal(t, want, 32);
	buf[0] = 0x01;
	memcpy(buf + 1, a, 32);
	memcpy(buf + 33, b, 32);
	crypto_hash_pair(t, 0x01, a, b);
	crypto_hash(want, buf, 65);
	assert_memory_equal(t, want, 32);
	/* Tags separate domains. */
	os_hash t0, t1;
	crypto_hash_tagged(t0, 0x00, a, 32);
	crypto_hash_tagged(t1, 0x01, a, 32);
	assert_int_not_equal(crypto_memcmp(t0, t1, 32), 0);
	crypto_hash_tagged(t0, 0x00, NULL, 0);
	crypto_hash(t1, (const uint8_t *)"\0", 1);
	assert_int_equal(crypto_memcmp(t0, t1, 32), 0);
}

static void test_misc(void **state)
{
	(void)state;
	uint8_t a[32] = {0}, b[32] = {0};
	assert_int_equal(crypto_memcmp(a, b, 32), 0);
	b[31] = 1;
	assert_int_not_equal(crypto_memcmp(a, b, 32), 0);
	crypto_random(a, sizeof(a));
	crypto_random(b, sizeof(b));
	assert_int_not_equal(memcmp(a, b, 32), 0);
	crypto_wipe(a, sizeof(a));
	const uint8_t zero[32] = {0};
	assert_memory_equal(a, zero, 32);

	/* Fresh key pairs differ. */
	struct os_keypair k1, k2;
	crypto_keypair_new(&k1);
	crypto_keypair_new(&k2);
	assert_int_not_equal(memcmp(k1.sign_pk, k2.sign_pk, 32), 0);
	assert_int_not_equal(memcmp(k1.box_pk, k2.box_pk, 32), 0);
	crypto_keypair_wipe(&k1);
	crypto_keypair_wipe(&k2);
}

/* A message sealed to a node opens with that node's key pair, to the same
 * bytes, and nobody's sealing gives the same bytes twice. */
static void test_seal_roundtrip(void **state)
{
	(void)state;
	struct os_keypair node;
	crypto_keypair_new(&node);
	const char msg[] = "form data of case 7: name, address, the reason for applying";
	uint8_t sealed[sizeof(msg) + CRYPTO_SEAL_OVERHEAD], again[sizeof(sealed)];
	size_t n = 0, n2 = 0;
	assert_int_equal(crypto_seal(node.box_pk, msg, sizeof(msg), sealed, sizeof(sealed), &n), 0);
	assert_int_equal(n, sizeof(msg) + CRYPTO_SEAL_OVERHEAD);
	for (size_t i = 0; i + 9 <= n; i++)
		assert_int_not_equal(memcmp(sealed + i, "form data", 9), 0);
	assert_int_equal(crypto_seal(node.box_pk, msg, sizeof(msg), again, sizeof(again), &n2), 0);
	assert_int_not_equal(memcmp(sealed, again, n), 0);

	char back[sizeof(msg)];
	size_t bl = 0;
	assert_int_equal(crypto_seal_open(&node, sealed, n, (uint8_t *)back, sizeof(back), &bl), 0);
	assert_int_equal(bl, sizeof(msg));
	assert_memory_equal(back, msg, sizeof(msg));
	assert_int_equal(crypto_seal_open(&node, again, n2, (uint8_t *)back, sizeof(back), &bl), 0);
	assert_memory_equal(back, msg, sizeof(msg));

	/* A larger message than any stack buffer of the module. */
	size_t big = 100000;
	uint8_t *m = malloc(big), *s = malloc(big + CRYPTO_SEAL_OVERHEAD), *o = malloc(big);
	assert_non_null(m);
	assert_non_null(s);
	assert_non_null(o);
	crypto_random(m, big);
	assert_int_equal(crypto_seal(node.box_pk, m, big, s, big + CRYPTO_SEAL_OVERHEAD, &n), 0);
	assert_int_equal(crypto_seal_open(&node, s, n, o, big, &bl), 0);
	assert_int_equal(bl, big);
	assert_memory_equal(o, m, big);
	free(m);
	free(s);
	free(o);
	crypto_keypair_wipe(&node);
}

/* Only the node it was sealed to opens it: another node's key pair, or the
 * right public half with another secret, is refused and leaves no
 * plaintext behind. */
static void test_seal_wrong_key(void **state)
{
	(void)state;
	struct os_keypair owner, other;
	crypto_keypair_new(&owner);
	crypto_keypair_new(&other);
	const char msg[] = "upload: scan of a business licence";
	uint8_t sealed[sizeof(msg) + CRYPTO_SEAL_OVERHEAD];
	size_t n = 0, bl = 99;
	assert_int_equal(crypto_seal(owner.box_pk, msg, sizeof(msg), sealed, sizeof(sealed), &n),
			 0);

	uint8_t back[sizeof(msg)];
	memset(back, 0xaa, sizeof(back));
	assert_int_equal(crypto_seal_open(&other, sealed, n, back, sizeof(back), &bl), OS_EBADSIG);
	assert_int_equal(bl, 0);
	const uint8_t zero[sizeof(back)] = {0};
	assert_memory_equal(back, zero, sizeof(back));

	struct os_keypair mixed = other;
	memcpy(mixed.box_pk, owner.box_pk, sizeof(mixed.box_pk));
	assert_int_equal(crypto_seal_open(&mixed, sealed, n, back, sizeof(back), &bl), OS_EBADSIG);
	assert_int_equal(crypto_seal_open(&owner, sealed, n, back, sizeof(back), &bl), 0);
	crypto_keypair_wipe(&owner);
	crypto_keypair_wipe(&other);
	crypto_keypair_wipe(&mixed);
}

/* Whichever byte is altered, and whichever bit of it, the box does not
 * open; nor does a truncated or lengthened one. */
static void test_seal_tampered(void **state)
{
	(void)state;
	struct os_keypair node;
	crypto_keypair_new(&node);
	const char msg[] = "sealed to the owner";
	uint8_t sealed[sizeof(msg) + CRYPTO_SEAL_OVERHEAD + 1], back[sizeof(msg) + 1];
	size_t n = 0, bl = 0;
	assert_int_equal(crypto_seal(node.box_pk, msg, sizeof(msg), sealed, sizeof(sealed), &n), 0);
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			sealed[i] ^= (uint8_t)(1u << bit);
			int rc = crypto_seal_open(&node, sealed, n, back, sizeof(back), &bl);
			if (rc != OS_EBADSIG)
				fail_msg("byte %zu bit %u altered: %d, not EBADSIG", i, bit, rc);
			sealed[i] ^= (uint8_t)(1u << bit);
		}
	}
	for (size_t cut = 0; cut < n; cut++)
		assert_int_equal(crypto_seal_open(&node, sealed, cut, back, sizeof(back), &bl),
				 OS_EBADSIG);
	sealed[n] = 0;
	assert_int_equal(crypto_seal_open(&node, sealed, n + 1, back, sizeof(back), &bl),
			 OS_EBADSIG);
	/* Unaltered, it still opens. */
	assert_int_equal(crypto_seal_open(&node, sealed, n, back, sizeof(back), &bl), 0);
	assert_memory_equal(back, msg, sizeof(msg));
	crypto_keypair_wipe(&node);
}

/* An empty message seals to exactly the overhead and opens to nothing;
 * bad sizes and missing pointers are EINVAL, a low-order key EKEY. */
static void test_seal_edges(void **state)
{
	(void)state;
	struct os_keypair node, other;
	crypto_keypair_new(&node);
	crypto_keypair_new(&other);
	uint8_t sealed[CRYPTO_SEAL_OVERHEAD + 8], back[8];
	size_t n = 99, bl = 99;
	assert_int_equal(crypto_seal(node.box_pk, NULL, 0, sealed, sizeof(sealed), &n), 0);
	assert_int_equal(n, CRYPTO_SEAL_OVERHEAD);
	assert_int_equal(crypto_seal_open(&node, sealed, n, back, 0, &bl), 0);
	assert_int_equal(bl, 0);
	assert_int_equal(crypto_seal_open(&other, sealed, n, back, 0, &bl), OS_EBADSIG);
	assert_int_equal(crypto_seal(node.box_pk, "", 0, sealed, sizeof(sealed), &n), 0);
	assert_int_equal(n, CRYPTO_SEAL_OVERHEAD);

	/* The room for the sealed box, and for the plaintext. */
	const uint8_t msg[8] = "12345678";
	assert_int_equal(crypto_seal(node.box_pk, msg, 8, sealed, CRYPTO_SEAL_OVERHEAD + 7, &n),
			 OS_EINVAL);
	assert_int_equal(n, 0);
	assert_int_equal(crypto_seal(node.box_pk, msg, SIZE_MAX, sealed, sizeof(sealed), &n),
			 OS_EINVAL);
	assert_int_equal(crypto_seal(node.box_pk, msg, 8, sealed, sizeof(sealed), &n), 0);
	assert_int_equal(crypto_seal_open(&node, sealed, n, back, 7, &bl), OS_EINVAL);
	assert_int_equal(bl, 0);
	assert_int_equal(crypto_seal_open(&node, sealed, n, back, 8, &bl), 0);
	assert_memory_equal(back, msg, 8);

	const size_t sl = n;
	assert_int_equal(crypto_seal(node.box_pk, NULL, 1, sealed, sizeof(sealed), &n), OS_EINVAL);
	assert_int_equal(crypto_seal(NULL, msg, 8, sealed, sizeof(sealed), &n), OS_EINVAL);
	assert_int_equal(crypto_seal(node.box_pk, msg, 8, NULL, sizeof(sealed), &n), OS_EINVAL);
	assert_int_equal(crypto_seal(node.box_pk, msg, 8, sealed, sizeof(sealed), NULL), OS_EINVAL);
	assert_int_equal(crypto_seal_open(NULL, sealed, sl, back, 8, &bl), OS_EINVAL);
	assert_int_equal(crypto_seal_open(&node, NULL, sl, back, 8, &bl), OS_EINVAL);
	assert_int_equal(crypto_seal_open(&node, sealed, sl, NULL, 8, &bl), OS_EINVAL);
	assert_int_equal(crypto_seal_open(&node, sealed, sl, back, 8, NULL), OS_EINVAL);

	/* The all-zero key is a low-order point: no shared secret. */
	const os_box_pk zero = {0};
	assert_int_equal(crypto_seal(zero, msg, 8, sealed, sizeof(sealed), &n), OS_EKEY);
	assert_int_equal(n, 0);
	crypto_keypair_wipe(&node);
	crypto_keypair_wipe(&other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyfile_roundtrip),
		cmocka_unit_test(test_keyfile_malformed),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_hashes),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_seal_roundtrip),
		cmocka_unit_test(test_seal_wrong_key),
		cmocka_unit_test(test_seal_tampered),
		cmocka_unit_test(test_seal_edges),
		cmocka_unit_test(test_keyed_hash),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
