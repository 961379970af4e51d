/* Unit tests for common/envelope.c: batch signing then decoding and
 * verifying every message, tampering anywhere in the bytes, registry
 * decisions (unknown, revoked, key version), expiry and clock skew, size
 * bounds, malformed fields (each with its precise code, the id kept when it
 * can be read), and the DeadLetter payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "onestop.pb-c.h"
#include "registry.h"

#define NOW 1800000000000ull
#define HOUR 3600000ull

static struct os_keypair root, sz, old, stranger;
static struct registry *reg;

static int setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	crypto_keypair_new(&root);
	crypto_keypair_new(&sz);
	crypto_keypair_new(&old);
	crypto_keypair_new(&stranger);
	static char *star[] = {"*"};
	struct {
		char *name;
		struct os_keypair *kp;
		enum reg_status st;
		uint32_t kv;
	} nodes[] = {
		{"gd.sz", &sz, REG_ACTIVE, 2},
		{"gd.old", &old, REG_REVOKED, 1},
		{"gd.susp", &stranger, REG_SUSPENDED, 1},
	};
	struct registry *r = NULL;
	if (registry_new(&r) != 0)
		return -1;
	for (size_t i = 0; i < 3; i++) {
		struct reg_node n = {0};
		n.name = nodes[i].name;
		n.roles = REG_ROLE_SPOKE;
		memcpy(n.sign_pk, nodes[i].kp->sign_pk, 32);
		memcpy(n.box_pk, nodes[i].kp->box_pk, 32);
		n.key_version = nodes[i].kv;
		n.status = nodes[i].st;
		n.n_types = 1;
		n.allowed_types = star;
		if (registry_add(r, &n) != 0)
			return -1;
	}
	r->version = 1;
	r->issued_ms = NOW - HOUR;
	r->expires_ms = NOW + 1000 * HOUR;
	const uint8_t *b;
	size_t l;
	if (registry_sign(r, root.sign_sk, &b, &l) != 0)
		return -1;
	int rc = registry_parse(b, l, root.sign_pk, NOW, &reg);
	registry_free(&r);
	return rc;
}

static int teardown(void **state)
{
	(void)state;
	registry_free(&reg);
	crypto_keypair_wipe(&root);
	crypto_keypair_wipe(&sz);
	crypto_keypair_wipe(&old);
	crypto_keypair_wipe(&stranger);
	return 0;
}

/* Sign n messages from origin with kp; caller frees with free_batch. */
static void sign_n(const char *origin, uint32_t kv, const struct os_keypair *kp, size_t n,
		   uint8_t **out, size_t *out_len, os_msgid *ids)
{
	struct env_draft *d = calloc(n, sizeof(*d));
	char(*payloads)[32] = calloc(n, 32);
	assert_non_null(d);
	assert_non_null(payloads);
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(payloads[i], 32, "payload %zu", i);
		d[i].destination = i % 2 ? "@supervision" : "hub";
		d[i].type = "gov.Application";
		d[i].payload = (const uint8_t *)payloads[i];
		d[i].payload_len = (size_t)len;
		d[i].expires_ms = NOW + HOUR + i;
	}
	assert_int_equal(env_sign_batch(origin, kv, kp->sign_sk, d, n, NOW, out, out_len, ids), 0);
	free(payloads);
	free(d);
}

static void free_batch(uint8_t **out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(out[i]);
}

static void test_batch_roundtrip(void **state)
{
	(void)state;
	static const size_t sizes[] = {1, 2, 3, 5, 64};
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		uint8_t *out[64];
		size_t out_len[64];
		os_msgid ids[64];
		sign_n("gd.sz", 2, &sz, n, out, out_len, ids);
		struct batchsig_cache *cache = NULL;
		assert_int_equal(batchsig_cache_new(32, &cache), 0);
		for (size_t i = 0; i < n; i++) {
			struct env e;
			assert_int_equal(env_decode(out[i], out_len[i], 1 << 20, &e), 0);
			assert_memory_equal(e.id, ids[i], sizeof(os_msgid));
			assert_string_equal(e.origin, "gd.sz");
			assert_string_equal(e.destination, i % 2 ? "@supervision" : "hub");
			assert_string_equal(e.type, "gov.Application");
			assert_int_equal(e.created_ms, NOW);
			assert_int_equal(e.expires_ms, NOW + HOUR + i);
			assert_int_equal(e.key_version, 2);
			char want[32];
			int wl = snprintf(want, sizeof(want), "payload %zu", i);
			assert_int_equal(e.payload_len, (size_t)wl);
			assert_memory_equal(e.payload, want, (size_t)wl);
			assert_int_equal(e.proof.index, i);
			assert_int_equal(e.proof.count, n);
			assert_non_null(e.env_bytes);
			assert_int_equal(env_verify(&e, reg, NULL, NOW), 0);
			assert_int_equal(env_verify(&e, reg, cache, NOW), 0);
			env_clear(&e);
			assert_null(e.priv_);
			env_clear(&e); /* twice is harmless */
		}
		uint64_t hits, misses;
		batchsig_cache_stats(cache, &hits, &misses);
		assert_int_equal(misses, 1);
		assert_int_equal(hits, n - 1);
		/* Ids are fresh and distinct, and begin with the creation time
		 * (48-bit ms, big-endian), so that indexes by id grow at one edge. */
		for (size_t i = 1; i < n; i++)
			assert_int_not_equal(memcmp(ids[i], ids[0], sizeof(os_msgid)), 0);
		for (size_t i = 0; i < n; i++) {
			uint64_t t = 0;
			for (int b = 0; b < 6; b++)
				t = t << 8 | ids[i][b];
			assert_int_equal(t, NOW & 0xffffffffffffULL);
		}
		batchsig_cache_destroy(&cache);
		free_batch(out, n);
	}
}

static void test_tamper_every_byte(void **state)
{
	(void)state;
	uint8_t *out[3];
	size_t out_len[3];
	sign_n("gd.sz", 2, &sz, 3, out, out_len, NULL);
	/* Message 2 of 3: flipping any bit of any byte must never give an
	 * envelope that still decodes and verifies. */
	uint8_t *copy = malloc(out_len[2]);
	assert_non_null(copy);
	struct batchsig_cache *cache = NULL;
	assert_int_equal(batchsig_cache_new(8, &cache), 0);
	for (size_t i = 0; i < out_len[2]; i++) {
		for (int bit = 0; bit < 8; bit += 3) {
			memcpy(copy, out[2], out_len[2]);
			copy[i] ^= (uint8_t)(1u << bit);
			struct env e;
			int rc = env_decode(copy, out_len[2], 1 << 20, &e);
			if (rc != 0)
				continue;
			rc = env_verify(&e, reg, cache, NOW);
			/* A flip that only changes the expiry still changes the
			 * signed bytes, so nothing verifies. */
			if (rc == 0)
				fail_msg("byte %zu bit %d flipped and still verified", i, bit);
			env_clear(&e);
		}
	}
	/* The untouched message still verifies through the same cache. */
	struct env e;
	assert_int_equal(env_decode(out[2], out_len[2], 1 << 20, &e), 0);
	assert_int_equal(env_verify(&e, reg, cache, NOW), 0);
	/* The last byte of the signed envelope is payload: one flip there is
	 * refused even with the root already cached. */
	uint8_t *env_bytes = (uint8_t *)e.env_bytes;
	env_bytes[e.env_len - 1] ^= 1;
	assert_int_equal(env_verify(&e, reg, cache, NOW), OS_EBADSIG);
	env_bytes[e.env_len - 1] ^= 1;
	assert_int_equal(env_verify(&e, reg, cache, NOW), 0);
	env_clear(&e);
	batchsig_cache_destroy(&cache);
	free(copy);
	free_batch(out, 3);
}

struct verify_case {
	const char *what;
	const char *origin;
	uint32_t kv;
	struct os_keypair *kp;
	uint64_t now;
	int want;
};

static void test_verify_table(void **state)
{
	(void)state;
	const struct verify_case cases[] = {
		{"good", "gd.sz", 2, &sz, NOW, 0},
		{"unknown origin", "gd.gz", 2, &sz, NOW, OS_EUNKNOWN},
		{"revoked origin", "gd.old", 1, &old, NOW, OS_EREVOKED},
		{"suspended origin", "gd.susp", 1, &stranger, NOW, OS_EREVOKED},
		{"old key version", "gd.sz", 1, &sz, NOW, OS_EBADSIG},
		{"wrong key", "gd.sz", 2, &stranger, NOW, OS_EBADSIG},
		{"expired", "gd.sz", 2, &sz, NOW + 2 * HOUR, OS_EEXPIRED},
		{"at expiry", "gd.sz", 2, &sz, NOW + HOUR, OS_EEXPIRED},
		{"just before expiry", "gd.sz", 2, &sz, NOW + HOUR - 1, 0},
		{"created ahead, within the skew", "gd.sz", 2, &sz, NOW - ENV_SKEW_DEFAULT_MS, 0},
		{"created ahead beyond the skew", "gd.sz", 2, &sz, NOW - ENV_SKEW_DEFAULT_MS - 1,
		 OS_EEXPIRED},
		{"no clock: dataset changes", "gd.sz", 2, &sz, 0, 0},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t *out[1];
		size_t out_len[1];
		sign_n(cases[c].origin, cases[c].kv, cases[c].kp, 1, out, out_len, NULL);
		struct env e;
		assert_int_equal(env_decode(out[0], out_len[0], 1 << 20, &e), 0);
		int rc = env_verify(&e, reg, NULL, cases[c].now);
		if (rc != cases[c].want)
			fail_msg("%s: got %s, want %s", cases[c].what, os_errname(rc),
				 os_errname(cases[c].want));
		env_clear(&e);
		free_batch(out, 1);
	}
}

/* The clock checks with an explicit allowance, and the sentences. */
static void test_verify_at(void **state)
{
	(void)state;
	uint8_t *out[1];
	size_t out_len[1];
	char why[ENV_WHY_MAX];
	struct env e;
	sign_n("gd.sz", 2, &sz, 1, out, out_len, NULL);
	assert_int_equal(env_decode(out[0], out_len[0], 1 << 20, &e), 0);
	assert_int_equal(e.has_id, 1);
	assert_int_equal(env_verify_at(&e, reg, NULL, NOW, 0, why, sizeof why), 0);
	assert_int_equal(env_verify_at(&e, reg, NULL, NOW - 1, 0, why, sizeof why), OS_EEXPIRED);
	assert_non_null(strstr(why, "ahead"));
	assert_int_equal(env_verify_at(&e, reg, NULL, NOW - 1000, 1000, NULL, 0), 0);
	assert_int_equal(env_verify_at(&e, reg, NULL, NOW - 1001, 1000, NULL, 0), OS_EEXPIRED);
	assert_int_equal(env_verify_at(&e, reg, NULL, NOW + HOUR, 0, why, sizeof why), OS_EEXPIRED);
	assert_non_null(strstr(why, "expired"));
	/* The signature comes before the clock. */
	uint8_t *b = (uint8_t *)e.env_bytes;
	b[e.env_len - 1] ^= 1;
	assert_int_equal(env_verify_at(&e, reg, NULL, NOW - HOUR, 0, why, sizeof why), OS_EBADSIG);
	assert_non_null(strstr(why, "signature"));
	env_clear(&e);
	free_batch(out, 1);
}

static void test_sign_errors(void **state)
{
	(void)state;
	struct {
		const char *what;
		const char *origin;
		const char *dest;
		const char *type;
		uint64_t expires;
		int want;
	} cases[] = {
		{"bad origin", "GD", "hub", "t", NOW + 1, OS_ENAME},
		{"bad destination", "gd.sz", "hub..x", "t", NOW + 1, OS_ENAME},
		{"empty destination", "gd.sz", "", "t", NOW + 1, OS_ENAME},
		{"bad type", "gd.sz", "hub", "a b", NOW + 1, OS_EINVAL},
		{"empty type", "gd.sz", "hub", "", NOW + 1, OS_EINVAL},
		{"already expired", "gd.sz", "hub", "t", NOW, OS_EEXPIRED},
		{"no expiry", "gd.sz", "hub", "t", 0, OS_EEXPIRED},
	};
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		/* The bad draft is second: nothing at all is returned. */
		struct env_draft d[2] = {
			{"hub", "t", (const uint8_t *)"x", 1, NOW + HOUR},
			{cases[c].dest, cases[c].type, NULL, 0, cases[c].expires},
		};
		uint8_t *out[2] = {NULL, NULL};
		size_t out_len[2];
		int rc = env_sign_batch(cases[c].origin, 1, sz.sign_sk, d, 2, NOW, out, out_len,
					NULL);
		if (rc != cases[c].want)
			fail_msg("%s: got %s", cases[c].what, os_errname(rc));
		assert_null(out[0]);
		assert_null(out[1]);
	}
	struct env_draft d = {"hub", "t", NULL, 0, NOW + HOUR};
	uint8_t *out[1];
	size_t out_len[1];
	assert_int_equal(env_sign_batch("gd.sz", 1, sz.sign_sk, &d, 0, NOW, out, out_len, NULL),
			 OS_EINVAL);
	/* An empty payload is fine. */
	assert_int_equal(env_sign_batch("gd.sz", 2, sz.sign_sk, &d, 1, NOW, out, out_len, NULL), 0);
	struct env e;
	assert_int_equal(env_decode(out[0], out_len[0], 1 << 20, &e), 0);
	assert_int_equal(e.payload_len, 0);
	assert_non_null(e.payload);
	assert_int_equal(env_verify(&e, reg, NULL, NOW), 0);
	env_clear(&e);
	free(out[0]);
}

static void test_oversized(void **state)
{
	(void)state;
	size_t big = 300000;
	uint8_t *payload = calloc(1, big);
	assert_non_null(payload);
	struct env_draft d = {"hub", "gov.Bulk", payload, big, NOW + HOUR};
	uint8_t *out[1];
	size_t out_len[1];
	assert_int_equal(env_sign_batch("gd.sz", 2, sz.sign_sk, &d, 1, NOW, out, out_len, NULL), 0);
	struct env e;
	assert_int_equal(env_decode(out[0], out_len[0], big, &e), OS_ETOOBIG);
	assert_null(e.priv_);
	assert_int_equal(env_decode(out[0], out_len[0], out_len[0] - 1, &e), OS_ETOOBIG);
	assert_int_equal(env_decode(out[0], out_len[0], out_len[0], &e), 0);
	assert_int_equal(env_verify(&e, reg, NULL, NOW), 0);
	env_clear(&e);
	free(out[0]);
	free(payload);
}

/* Hand-built Signed / Envelope pairs with one field broken. */
enum malformed {
	M_NONE,
	M_ID_SHORT,
	M_ID_EMPTY,
	M_ORIGIN_BAD,
	M_ORIGIN_TOPIC,
	M_DEST_BAD,
	M_TYPE_BAD,
	M_TYPE_LONG,
	M_EXPIRES_ZERO,
	M_EXPIRES_BEFORE,
	M_EXPIRES_AT,
	M_SIG_SHORT,
	M_COUNT_ZERO,
	M_INDEX_OUT,
	M_PATH_ELEM_SHORT,
	M_PATH_TOO_LONG,
	M_PATH_WRONG_LEN,
	M_ENVELOPE_GARBAGE,
	M_COUNT_HUGE,
	M_TYPE_AND_SIG,
};

static void test_malformed_table(void **state)
{
	(void)state;
	static const struct {
		const char *what;
		enum malformed m;
		int want;
		int has_id; /* a refusal can name the message */
	} cases[] = {
		{"well formed", M_NONE, 0, 1},
		{"id 15 bytes", M_ID_SHORT, OS_EDECODE, 0},
		{"no id", M_ID_EMPTY, OS_EDECODE, 0},
		{"bad origin", M_ORIGIN_BAD, OS_ENAME, 1},
		{"topic origin", M_ORIGIN_TOPIC, OS_ENAME, 1},
		{"bad destination", M_DEST_BAD, OS_ENAME, 1},
		{"bad type", M_TYPE_BAD, OS_EINVAL, 1},
		{"type too long", M_TYPE_LONG, OS_EINVAL, 1},
		{"expires 0", M_EXPIRES_ZERO, OS_EEXPIRED, 1},
		{"expires before created", M_EXPIRES_BEFORE, OS_EEXPIRED, 1},
		{"expires at created", M_EXPIRES_AT, OS_EEXPIRED, 1},
		{"signature 63 bytes", M_SIG_SHORT, OS_EBADSIG, 1},
		{"leaf_count 0", M_COUNT_ZERO, OS_EBADSIG, 1},
		{"leaf_index >= leaf_count", M_INDEX_OUT, OS_EBADSIG, 1},
		{"path element 31 bytes", M_PATH_ELEM_SHORT, OS_EBADSIG, 1},
		{"path longer than any tree", M_PATH_TOO_LONG, OS_EBADSIG, 1},
		{"path length not the tree's", M_PATH_WRONG_LEN, OS_EBADSIG, 1},
		{"envelope not a protobuf", M_ENVELOPE_GARBAGE, OS_EDECODE, 0},
		{"leaf_count too big", M_COUNT_HUGE, OS_EBADSIG, 1},
		{"bad type and bad signature", M_TYPE_AND_SIG, OS_EINVAL, 1},
	};
	char long_type[200];
	memset(long_type, 'a', sizeof(long_type) - 1);
	long_type[sizeof(long_type) - 1] = '\0';
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t id[16] = {1, 2, 3};
		uint8_t sig[64] = {0};
		uint8_t hashes[20][32];
		memset(hashes, 7, sizeof(hashes));
		Onestop__Envelope pe = ONESTOP__ENVELOPE__INIT;
		pe.id.data = id;
		pe.id.len = 16;
		pe.origin = "gd.sz";
		pe.destination = "hub";
		pe.type = "gov.Application";
		pe.created_ms = NOW;
		pe.expires_ms = NOW + HOUR;
		pe.key_version = 2;
		Onestop__Signed ps = ONESTOP__SIGNED__INIT;
		ps.signature.data = sig;
		ps.signature.len = 64;
		ps.leaf_index = 1;
		ps.leaf_count = 3;
		ProtobufCBinaryData path[20];
		for (int k = 0; k < 20; k++) {
			path[k].data = hashes[k];
			path[k].len = 32;
		}
		ps.path = path;
		ps.n_path = 2;
		switch (cases[c].m) {
		case M_NONE:
			break;
		case M_ID_SHORT:
			pe.id.len = 15;
			break;
		case M_ID_EMPTY:
			pe.id.len = 0;
			pe.id.data = NULL;
			break;
		case M_ORIGIN_BAD:
			pe.origin = "Gd";
			break;
		case M_ORIGIN_TOPIC:
			pe.origin = "@gd";
			break;
		case M_DEST_BAD:
			pe.destination = "hub.";
			break;
		case M_TYPE_BAD:
			pe.type = "x y";
			break;
		case M_TYPE_LONG:
			pe.type = long_type;
			break;
		case M_EXPIRES_ZERO:
			pe.expires_ms = 0;
			break;
		case M_EXPIRES_BEFORE:
			pe.expires_ms = NOW - 1;
			break;
		case M_EXPIRES_AT:
			pe.expires_ms = NOW;
			break;
		case M_TYPE_AND_SIG: /* the first failure in the documented order */
			pe.type = "x y";
			ps.signature.len = 63;
			break;
		case M_SIG_SHORT:
			ps.signature.len = 63;
			break;
		case M_COUNT_ZERO:
			ps.leaf_count = 0;
			ps.leaf_index = 0;
			ps.n_path = 0;
			break;
		case M_INDEX_OUT:
			ps.leaf_index = 3;
			break;
		case M_PATH_ELEM_SHORT:
			path[1].len = 31;
			break;
		case M_PATH_TOO_LONG:
			ps.n_path = 17;
			break;
		case M_PATH_WRONG_LEN:
			ps.n_path = 1;
			break;
		case M_COUNT_HUGE:
			ps.leaf_count = BATCHSIG_MAX_LEAVES + 1;
			break;
		case M_ENVELOPE_GARBAGE:
			break;
		}
		uint8_t env_buf[1024], signed_buf[2048];
		size_t el = onestop__envelope__pack(&pe, env_buf);
		if (cases[c].m == M_ENVELOPE_GARBAGE) {
			memset(env_buf, 0xff, 10);
			el = 10;
		}
		ps.envelope.data = env_buf;
		ps.envelope.len = el;
		assert_true(onestop__signed__get_packed_size(&ps) <= sizeof(signed_buf));
		size_t sl = onestop__signed__pack(&ps, signed_buf);
		struct env e;
		int rc = env_decode(signed_buf, sl, 1 << 20, &e);
		if (rc != cases[c].want)
			fail_msg("%s: got %s, want %s", cases[c].what, os_errname(rc),
				 os_errname(cases[c].want));
		if (e.has_id != cases[c].has_id)
			fail_msg("%s: has_id %d, want %d", cases[c].what, e.has_id,
				 cases[c].has_id);
		if (e.has_id)
			assert_memory_equal(e.id, id, 16);
		if (rc == 0) {
			/* Well formed, but the signature is zeros. */
			assert_int_equal(env_verify(&e, reg, NULL, NOW), OS_EBADSIG);
			env_clear(&e);
		} else {
			assert_null(e.priv_);
			if (e.why[0] == '\0')
				fail_msg("%s: no reason given", cases[c].what);
			/* What can be read is kept for the refusal, made safe. */
			if (cases[c].m != M_ENVELOPE_GARBAGE)
				assert_string_equal(e.type,
						    cases[c].m == M_TYPE_BAD ||
								    cases[c].m == M_TYPE_AND_SIG
							    ? "x?y"
						    : cases[c].m == M_TYPE_LONG
							    ? long_type + 71
							    : "gov.Application");
			env_clear(&e); /* allowed on a failed decode */
		}
	}
	struct env e;
	assert_int_equal(env_decode((const uint8_t *)"\x0a\xff", 2, 100, &e), OS_EDECODE);
	assert_int_equal(env_decode((const uint8_t *)"", 0, 100, &e), OS_EDECODE);
}

static void test_deadletter(void **state)
{
	(void)state;
	uint8_t id[16];
	crypto_random(id, sizeof(id));
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(env_deadletter_pack(id, "gd.gz", "gov.Application", OS_EUNKNOWN,
					     "destination not in the registry", "hub", &buf, &len),
			 0);
	struct env_deadletter dl;
	assert_int_equal(env_deadletter_unpack(buf, len, &dl), 0);
	assert_true(dl.has_id);
	assert_memory_equal(dl.id, id, 16);
	assert_string_equal(dl.destination, "gd.gz");
	assert_string_equal(dl.type, "gov.Application");
	assert_int_equal(dl.code, OS_EUNKNOWN);
	assert_string_equal(dl.reason, "destination not in the registry");
	assert_string_equal(dl.refused_by, "hub");
	free(buf);

	/* No id, NULL strings, hostile strings: still a clean dead letter. */
	char huge[1000];
	memset(huge, 'r', sizeof(huge) - 1);
	huge[sizeof(huge) - 1] = '\0';
	assert_int_equal(env_deadletter_pack(NULL, "bad\ndest\xff", NULL, OS_EDECODE, huge, NULL,
					     &buf, &len),
			 0);
	assert_int_equal(env_deadletter_unpack(buf, len, &dl), 0);
	assert_false(dl.has_id);
	assert_string_equal(dl.destination, "bad?dest?");
	assert_string_equal(dl.type, "");
	assert_int_equal(dl.code, OS_EDECODE);
	assert_int_equal(strlen(dl.reason), 255);
	assert_string_equal(dl.refused_by, "");
	free(buf);

	/* Malformed: bad id length, garbage, oversized. */
	Onestop__DeadLetter pd = ONESTOP__DEAD_LETTER__INIT;
	pd.id.data = id;
	pd.id.len = 5;
	uint8_t raw[256];
	size_t rl = onestop__dead_letter__pack(&pd, raw);
	assert_int_equal(env_deadletter_unpack(raw, rl, &dl), OS_EDECODE);
	assert_int_equal(env_deadletter_unpack((const uint8_t *)"\x22\x05"
								"ab",
					       4, &dl),
			 OS_EDECODE);
	/* Over-long fields from another implementation are cut, not refused. */
	char longdest[600];
	memset(longdest, 'd', sizeof(longdest) - 1);
	longdest[sizeof(longdest) - 1] = '\0';
	pd.id.len = 0;
	pd.destination = longdest;
	uint8_t raw2[1024];
	rl = onestop__dead_letter__pack(&pd, raw2);
	assert_int_equal(env_deadletter_unpack(raw2, rl, &dl), 0);
	assert_int_equal(strlen(dl.destination), OS_NAME_MAX - 1);
	uint8_t *big = calloc(1, 70000);
	assert_non_null(big);
	assert_int_equal(env_deadletter_unpack(big, 70000, &dl), OS_EDECODE);
	free(big);
	/* Empty input is a dead letter with nothing in it. */
	assert_int_equal(env_deadletter_unpack((const uint8_t *)"", 0, &dl), 0);
	assert_false(dl.has_id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_roundtrip), cmocka_unit_test(test_tamper_every_byte),
		cmocka_unit_test(test_verify_table),    cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_oversized),       cmocka_unit_test(test_malformed_table),
		cmocka_unit_test(test_deadletter),      cmocka_unit_test(test_verify_at),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
