/* Unit tests for common/assertion.c: issuing, and each refusal of
 * assertion_verify and assertion_check_subject with its own code and
 * reason (expiry, audience, issuer role and status, key version,
 * signature, altered bytes, malformed fields, subject status and level),
 * a node's policy (its own name the audience, an empty audience only when
 * allowed, the validity cap) and the replay cache of single use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "onestop.pb-c.h"
#include "registry.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define NOW 1800000000000ull
#define CTX "OneStop assertion v1"

/* idp: the identity provider; spoke: no idp role; old: revoked idp;
 * off: suspended idp. */
static struct os_keypair k_idp, k_spoke, k_old, k_off, k_stranger;
static struct registry *reg;

static void add_node(const char *name, unsigned roles, const struct os_keypair *k, uint32_t kv,
		     enum reg_status st)
{
	static char *star[] = {"*"};
	struct reg_node n;
	memset(&n, 0, sizeof(n));
	n.name = (char *)name;
	n.roles = roles;
	memcpy(n.sign_pk, k->sign_pk, 32);
	memcpy(n.box_pk, k->box_pk, 32);
	n.key_version = kv;
	n.status = st;
	n.n_types = 1;
	n.allowed_types = star;
	assert_int_equal(registry_add(reg, &n), 0);
}

static int setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	crypto_keypair_new(&k_idp);
	crypto_keypair_new(&k_spoke);
	crypto_keypair_new(&k_old);
	crypto_keypair_new(&k_off);
	crypto_keypair_new(&k_stranger);
	if (registry_new(&reg) != 0)
		return -1;
	add_node("gd.ida", REG_ROLE_SPOKE | REG_ROLE_IDP, &k_idp, 2, REG_ACTIVE);
	add_node("gd.sz", REG_ROLE_SPOKE, &k_spoke, 1, REG_ACTIVE);
	add_node("gd.old", REG_ROLE_IDP, &k_old, 1, REG_REVOKED);
	add_node("gd.off", REG_ROLE_IDP, &k_off, 1, REG_SUSPENDED);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	registry_free(&reg);
	crypto_keypair_wipe(&k_idp);
	crypto_keypair_wipe(&k_spoke);
	crypto_keypair_wipe(&k_old);
	crypto_keypair_wipe(&k_off);
	crypto_keypair_wipe(&k_stranger);
	return 0;
}

/* ---------------------------------------------------------------- builders */

/* Every field of a hand-built assertion, so each can be broken. */
struct spec {
	const char *issuer, *subject, *audience;
	uint32_t level;
	uint64_t issued, expires;
	size_t nonce_len;
	const struct os_keypair *key;
	uint32_t key_version;
	size_t sig_len;
};

static struct spec good(void)
{
	struct spec s = {"gd.ida", "s-7f3a9c", "", 2, NOW - 1000, NOW + 600000, 16, &k_idp, 2, 64};
	return s;
}

/* Pack and sign s; *len set, malloc'd result. */
static uint8_t *build(const struct spec *s, size_t *len)
{
	uint8_t nonce[32];
	memset(nonce, 0x5a, sizeof(nonce));
	Onestop__Assertion a = ONESTOP__ASSERTION__INIT;
	a.issuer = (char *)s->issuer;
	a.subject = (char *)s->subject;
	a.level = s->level;
	a.audience = (char *)s->audience;
	a.issued_ms = s->issued;
	a.expires_ms = s->expires;
	a.nonce.data = nonce;
	a.nonce.len = s->nonce_len;
	size_t al = onestop__assertion__get_packed_size(&a);
	uint8_t *ab = malloc(al + 1);
	assert_non_null(ab);
	onestop__assertion__pack(&a, ab);
	os_sig sig;
	crypto_sign(sig, CTX, ab, al, s->key->sign_sk);
	Onestop__SignedAssertion sa = ONESTOP__SIGNED_ASSERTION__INIT;
	sa.assertion.data = ab;
	sa.assertion.len = al;
	sa.signature.data = sig;
	sa.signature.len = s->sig_len;
	sa.key_version = s->key_version;
	*len = onestop__signed_assertion__get_packed_size(&sa);
	uint8_t *out = malloc(*len);
	assert_non_null(out);
	onestop__signed_assertion__pack(&sa, out);
	free(ab);
	return out;
}

/* Replace the first occurrence of from (same length as to) in buf. */
static void patch(uint8_t *buf, size_t len, const char *from, const char *to)
{
	size_t n = strlen(from);
	assert_int_equal(n, strlen(to));
	for (size_t i = 0; i + n <= len; i++) {
		if (memcmp(buf + i, from, n) == 0) {
			memcpy(buf + i, to, n);
			return;
		}
	}
	fail_msg("\"%s\" not found", from);
}

/* ---------------------------------------------------------------- verify */

enum alter { A_NONE, A_SIG_BYTE, A_BODY_BYTE, A_LEVEL_BYTE };

static void test_verify_table(void **state)
{
	(void)state;
	struct {
		const char *what;
		struct spec s;
		enum alter alter;
		const char *verifier; /* audience argument */
		uint64_t now;
		int want;
		const char *reason;
	} cases[] = {
		{"valid", good(), A_NONE, "gd.sz", NOW, 0, NULL},
		{"valid, no verifier audience", good(), A_NONE, NULL, NOW, 0, NULL},
		{"expired", good(), A_NONE, "gd.sz", NOW + 600000, OS_EEXPIRED, "expired"},
		{"long expired", good(), A_NONE, "gd.sz", NOW + 3600000, OS_EEXPIRED, "expired"},
		{"issued in the future", good(), A_NONE, "gd.sz", NOW - 1000 - 30001, OS_EEXPIRED,
		 "future"},
		{"issued within the skew", good(), A_NONE, "gd.sz", NOW - 1000 - 30000, 0, NULL},
		{"wrong audience", good(), A_NONE, "gd.gz", NOW, OS_EAUDIENCE,
		 "for gd.sz, not gd.gz"},
		{"audience matches", good(), A_NONE, "gd.sz", NOW, 0, NULL},
		{"audience, verifier names none", good(), A_NONE, "", NOW, 0, NULL},
		{"issuer not idp", good(), A_NONE, NULL, NOW, OS_EISSUER, "idp role"},
		{"issuer revoked", good(), A_NONE, NULL, NOW, OS_EISSUER, "gd.old is revoked"},
		{"issuer suspended", good(), A_NONE, NULL, NOW, OS_EISSUER, "gd.off is suspended"},
		{"issuer unknown", good(), A_NONE, NULL, NOW, OS_EISSUER, "not in the registry"},
		{"issuer malformed", good(), A_NONE, NULL, NOW, OS_EISSUER, "valid node name"},
		{"altered signature byte", good(), A_SIG_BYTE, NULL, NOW, OS_EBADSIG,
		 "does not verify"},
		{"altered assertion byte", good(), A_BODY_BYTE, NULL, NOW, OS_EBADSIG,
		 "does not verify"},
		{"altered level", good(), A_LEVEL_BYTE, NULL, NOW, OS_EBADSIG, "does not verify"},
		{"stranger's key", good(), A_NONE, NULL, NOW, OS_EBADSIG, "does not verify"},
		{"old key version", good(), A_NONE, NULL, NOW, OS_EBADSIG, "key version 1"},
		{"short signature", good(), A_NONE, NULL, NOW, OS_EDECODE, "signature"},
		{"short nonce", good(), A_NONE, NULL, NOW, OS_EDECODE, "nonce"},
		{"level 0", good(), A_NONE, NULL, NOW, OS_EDECODE, "level 0"},
		{"level 4", good(), A_NONE, NULL, NOW, OS_EDECODE, "level 4"},
		{"bad subject", good(), A_NONE, NULL, NOW, OS_EDECODE, "subject"},
		{"bad audience", good(), A_NONE, NULL, NOW, OS_EDECODE, "audience"},
		{"expires before issued", good(), A_NONE, NULL, NOW, OS_EDECODE, "before"},
		{"valid too long", good(), A_NONE, NULL, NOW, OS_EINVAL, "longer"},
		{"valid exactly 24 h", good(), A_NONE, NULL, NOW, 0, NULL},
	};
	/* Break each case's spec in its own way. */
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct spec *s = &cases[i].s;
		const char *w = cases[i].what;
		if (strstr(w, "audience") != NULL && strcmp(w, "bad audience") != 0)
			s->audience = "gd.sz";
		if (strcmp(w, "issuer not idp") == 0)
			s->issuer = "gd.sz", s->key = &k_spoke, s->key_version = 1;
		else if (strcmp(w, "issuer revoked") == 0)
			s->issuer = "gd.old", s->key = &k_old, s->key_version = 1;
		else if (strcmp(w, "issuer suspended") == 0)
			s->issuer = "gd.off", s->key = &k_off, s->key_version = 1;
		else if (strcmp(w, "issuer unknown") == 0)
			s->issuer = "gd.nobody", s->key = &k_stranger;
		else if (strcmp(w, "issuer malformed") == 0)
			s->issuer = "GD IDA";
		else if (strcmp(w, "stranger's key") == 0)
			s->key = &k_stranger;
		else if (strcmp(w, "old key version") == 0)
			s->key_version = 1;
		else if (strcmp(w, "short signature") == 0)
			s->sig_len = 63;
		else if (strcmp(w, "short nonce") == 0)
			s->nonce_len = 8;
		else if (strcmp(w, "level 0") == 0)
			s->level = 0;
		else if (strcmp(w, "level 4") == 0)
			s->level = 4;
		else if (strcmp(w, "bad subject") == 0)
			s->subject = "s 7f3a";
		else if (strcmp(w, "bad audience") == 0)
			s->audience = "GD.SZ";
		else if (strcmp(w, "expires before issued") == 0)
			s->expires = s->issued;
		else if (strcmp(w, "valid too long") == 0)
			s->expires = s->issued + ASSERTION_MAX_TTL_S * 1000ull + 1;
		else if (strcmp(w, "valid exactly 24 h") == 0)
			s->expires = s->issued + ASSERTION_MAX_TTL_S * 1000ull;
	}
	for (size_t i = 0; i < N_OF(cases); i++) {
		size_t len;
		uint8_t *b = build(&cases[i].s, &len);
		switch (cases[i].alter) {
		case A_NONE:
			break;
		case A_SIG_BYTE: {
			/* Find the signature's bytes and flip one bit. */
			Onestop__SignedAssertion *sa =
				onestop__signed_assertion__unpack(NULL, len, b);
			assert_non_null(sa);
			assert_int_equal(sa->signature.len, 64);
			uint8_t *at = NULL;
			for (size_t k = 0; k + 64 <= len && at == NULL; k++)
				if (memcmp(b + k, sa->signature.data, 64) == 0)
					at = b + k;
			onestop__signed_assertion__free_unpacked(sa, NULL);
			assert_non_null(at);
			at[10] ^= 0x01;
			break;
		}
		case A_BODY_BYTE:
			patch(b, len, "s-7f3a9c", "s-7f3a9d");
			break;
		case A_LEVEL_BYTE: {
			/* field 3 (level), varint: tag 0x18 then 2 -> 3 */
			uint8_t tag_val[] = {0x18, 0x02};
			int done = 0;
			for (size_t k = 0; k + 1 < len && !done; k++)
				if (memcmp(b + k, tag_val, 2) == 0)
					b[k + 1] = 0x03, done = 1;
			assert_true(done);
			break;
		}
		}
		struct assertion a;
		char reason[256] = "";
		int rc = assertion_verify(b, len, reg, cases[i].verifier, cases[i].now, &a, reason,
					  sizeof(reason));
		if (rc != cases[i].want)
			fail_msg("case \"%s\": got %s want %s (%s)", cases[i].what, os_errname(rc),
				 os_errname(cases[i].want), reason);
		if (getenv("ONESTOP_TEST_VERBOSE") != NULL)
			print_message("%-32s %-10s %s\n", cases[i].what, os_errname(rc), reason);
		if (cases[i].reason != NULL && strstr(reason, cases[i].reason) == NULL)
			fail_msg("case \"%s\": reason \"%s\"", cases[i].what, reason);
		if (rc != 0 && reason[0] == '\0')
			fail_msg("case \"%s\": no reason", cases[i].what);
		/* What was decoded is reported, also on refusal. */
		if (rc == 0 || rc == OS_EAUDIENCE || rc == OS_EEXPIRED) {
			assert_string_equal(a.issuer, cases[i].s.issuer);
			assert_string_equal(a.subject, cases[i].s.subject);
			assert_string_equal(a.audience, cases[i].s.audience);
			assert_int_equal(a.level, cases[i].s.level);
			assert_int_equal(a.issued_ms, cases[i].s.issued);
			assert_int_equal(a.expires_ms, cases[i].s.expires);
			assert_int_equal(a.key_version, cases[i].s.key_version);
		}
		free(b);
	}

	/* Not an assertion at all. */
	struct assertion a;
	char reason[128];
	assert_int_equal(assertion_verify((const uint8_t *)"\xff\xff\xff", 3, reg, NULL, NOW, &a,
					  reason, sizeof(reason)),
			 OS_EDECODE);
	assert_int_equal(assertion_verify((const uint8_t *)"", 0, reg, NULL, NOW, &a, NULL, 0),
			 OS_EDECODE);
	uint8_t *big = calloc(1, ASSERTION_MAX_BYTES + 1);
	assert_non_null(big);
	assert_int_equal(assertion_verify(big, ASSERTION_MAX_BYTES + 1, reg, NULL, NOW, &a, reason,
					  sizeof(reason)),
			 OS_ETOOBIG);
	free(big);
	/* The body must decode as an Assertion. */
	Onestop__SignedAssertion sa = ONESTOP__SIGNED_ASSERTION__INIT;
	uint8_t sig[64] = {0}, body[] = {0xff, 0xff};
	sa.assertion.data = body;
	sa.assertion.len = sizeof(body);
	sa.signature.data = sig;
	sa.signature.len = sizeof(sig);
	uint8_t packed[128];
	size_t pl = onestop__signed_assertion__pack(&sa, packed);
	assert_int_equal(assertion_verify(packed, pl, reg, NULL, NOW, &a, reason, sizeof(reason)),
			 OS_EDECODE);
}

/* ---------------------------------------------------------------- issue */

static void test_issue(void **state)
{
	(void)state;
	uint8_t *b = NULL, *b2 = NULL;
	size_t len = 0, len2 = 0;
	assert_int_equal(assertion_issue("gd.ida", 2, k_idp.sign_sk, "s-7f3a9c", 3, "gd.sz", 600,
					 NOW, &b, &len),
			 0);
	assert_true(len <= ASSERTION_MAX_BYTES);
	struct assertion a;
	char reason[256] = "";
	assert_int_equal(assertion_verify(b, len, reg, "gd.sz", NOW + 1000, &a, reason,
					  sizeof(reason)),
			 0);
	assert_string_equal(a.issuer, "gd.ida");
	assert_string_equal(a.subject, "s-7f3a9c");
	assert_string_equal(a.audience, "gd.sz");
	assert_int_equal(a.level, 3);
	assert_int_equal(a.issued_ms, NOW);
	assert_int_equal(a.expires_ms, NOW + 600000);
	assert_int_equal(a.key_version, 2);
	assert_int_equal(assertion_verify(b, len, reg, "gd.gz", NOW + 1000, &a, reason,
					  sizeof(reason)),
			 OS_EAUDIENCE);
	assert_int_equal(assertion_verify(b, len, reg, "gd.sz", NOW + 600000, &a, reason,
					  sizeof(reason)),
			 OS_EEXPIRED);

	/* Two assertions for the same subject differ in their nonce. */
	assert_int_equal(assertion_issue("gd.ida", 2, k_idp.sign_sk, "s-7f3a9c", 3, "gd.sz", 600,
					 NOW, &b2, &len2),
			 0);
	struct assertion a2;
	assert_int_equal(assertion_verify(b2, len2, reg, NULL, NOW, &a2, NULL, 0), 0);
	assert_memory_not_equal(a.nonce, a2.nonce, sizeof(a.nonce));
	free(b2);
	free(b);

	/* For any audience, and at the longest validity. */
	assert_int_equal(assertion_issue("gd.ida", 2, k_idp.sign_sk, "s-1", 1, NULL,
					 ASSERTION_MAX_TTL_S, NOW, &b, &len),
			 0);
	assert_int_equal(assertion_verify(b, len, reg, "gd.anyone", NOW, &a, NULL, 0), 0);
	assert_string_equal(a.audience, "");
	free(b);

	const struct {
		const char *issuer, *subject;
		uint32_t level;
		const char *audience;
		uint32_t ttl;
	} bad[] = {
		{"gd.ida", "", 2, NULL, 600},
		{"gd.ida", "has space", 2, NULL, 600},
		{"gd.ida", NULL, 2, NULL, 600},
		{"gd.ida", "s-1", 0, NULL, 600},
		{"gd.ida", "s-1", 4, NULL, 600},
		{"gd.ida", "s-1", 2, "Not A Node", 600},
		{"gd.ida", "s-1", 2, NULL, 0},
		{"gd.ida", "s-1", 2, NULL, ASSERTION_MAX_TTL_S + 1},
		{"", "s-1", 2, NULL, 600},
	};
	for (size_t i = 0; i < N_OF(bad); i++) {
		b = NULL;
		int rc = assertion_issue(bad[i].issuer, 2, k_idp.sign_sk, bad[i].subject,
					 bad[i].level, bad[i].audience, bad[i].ttl, NOW, &b, &len);
		if (rc != OS_EINVAL)
			fail_msg("issue case %zu: got %d", i, rc);
		assert_null(b);
	}
}

/* ---------------------------------------------------------------- subject */

static uint8_t *identity(int status, uint32_t level, size_t *len)
{
	Onestop__IdentityValue iv = ONESTOP__IDENTITY_VALUE__INIT;
	iv.kind = ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON;
	iv.level = level;
	iv.status = (Onestop__SubjectStatus)status;
	iv.authority = "gd.ida";
	iv.updated_ms = NOW;
	*len = onestop__identity_value__get_packed_size(&iv);
	uint8_t *b = malloc(*len + 1);
	assert_non_null(b);
	onestop__identity_value__pack(&iv, b);
	return b;
}

static void test_check_subject_table(void **state)
{
	(void)state;
	enum { ACT = 1, SUS = 2, REV = 3, DEC = 4, UNKNOWN = -1, GARBAGE = -2 };
	const struct {
		const char *what;
		int status;
		uint32_t id_level, a_level, min_level;
		int want;
		const char *reason;
	} cases[] = {
		{"active, equal levels", ACT, 2, 2, 2, 0, NULL},
		{"active, no minimum", ACT, 3, 1, 0, 0, NULL},
		{"assertion below identity", ACT, 3, 2, 1, 0, NULL},
		{"unknown subject", UNKNOWN, 0, 2, 1, OS_ESUBJECT, "subject s-7f3a9c is not known"},
		{"undecodable identity", GARBAGE, 0, 2, 1, OS_ESUBJECT, "cannot be decoded"},
		{"revoked", REV, 3, 2, 1, OS_ESUBJECT, "subject s-7f3a9c is revoked"},
		{"suspended", SUS, 3, 2, 1, OS_ESUBJECT, "subject s-7f3a9c is suspended"},
		{"deceased", DEC, 3, 2, 1, OS_ESUBJECT, "subject s-7f3a9c is deceased"},
		{"status unspecified", 0, 3, 2, 1, OS_ESUBJECT, "s-7f3a9c is"},
		{"level too low", ACT, 3, 1, 2, OS_ELEVEL, "level 1 is below the required 2"},
		{"above the identity's level", ACT, 1, 2, 1, OS_ELEVEL, "above"},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		struct assertion a;
		memset(&a, 0, sizeof(a));
		strcpy(a.issuer, "gd.ida");
		strcpy(a.subject, "s-7f3a9c");
		a.level = cases[i].a_level;
		uint8_t *id = NULL;
		size_t len = 0;
		if (cases[i].status == GARBAGE) {
			id = (uint8_t *)strdup("\xff\xff");
			len = 2;
		} else if (cases[i].status != UNKNOWN) {
			id = identity(cases[i].status, cases[i].id_level, &len);
		}
		char reason[256] = "";
		int rc = assertion_check_subject(&a, id, len, cases[i].min_level, reason,
						 sizeof(reason));
		if (rc != cases[i].want)
			fail_msg("case \"%s\": got %s want %s (%s)", cases[i].what, os_errname(rc),
				 os_errname(cases[i].want), reason);
		if (getenv("ONESTOP_TEST_VERBOSE") != NULL)
			print_message("%-32s %-10s %s\n", cases[i].what, os_errname(rc), reason);
		if (cases[i].reason != NULL && strstr(reason, cases[i].reason) == NULL)
			fail_msg("case \"%s\": reason \"%s\"", cases[i].what, reason);
		free(id);
	}
}

/* ---------------------------------------------------------------- policy */

static void test_verify_at(void **state)
{
	(void)state;
	struct assertion_policy pol = {.node = "gd.sz", .any_audience = 0, .max_validity_s = 600};
	const struct {
		const char *what;
		const char *audience;
		uint32_t ttl;
		int any;
		int want;
		const char *reason;
	} cases[] = {
		{"for this node", "gd.sz", 600, 0, 0, NULL},
		{"for another node", "gd.gz", 600, 0, OS_EAUDIENCE, "is for gd.gz, not gd.sz"},
		{"for no audience", NULL, 600, 0, OS_EAUDIENCE, "names no audience"},
		{"for no audience, any allowed", NULL, 600, 1, 0, NULL},
		{"for another node, any allowed", "gd.gz", 600, 1, OS_EAUDIENCE, "is for gd.gz"},
		{"one second over the cap", "gd.sz", 601, 0, OS_EEXPIRED, "longer than the 600 s"},
		{"a day, cap 600 s", "gd.sz", ASSERTION_MAX_TTL_S, 0, OS_EEXPIRED, "86400 s"},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		uint8_t *b = NULL;
		size_t len = 0;
		assert_int_equal(assertion_issue("gd.ida", 2, k_idp.sign_sk, "s-1", 2,
						 cases[i].audience, cases[i].ttl, NOW, &b, &len),
				 0);
		struct assertion a;
		char reason[256] = "";
		pol.any_audience = cases[i].any;
		int rc = assertion_verify_at(b, len, reg, &pol, NOW + 1000, &a, reason,
					     sizeof(reason));
		if (rc != cases[i].want)
			fail_msg("case \"%s\": got %s want %s (%s)", cases[i].what, os_errname(rc),
				 os_errname(cases[i].want), reason);
		if (cases[i].reason != NULL && strstr(reason, cases[i].reason) == NULL)
			fail_msg("case \"%s\": reason \"%s\"", cases[i].what, reason);
		/* The policy-free form checks none of these. */
		assert_int_equal(assertion_verify(b, len, reg, NULL, NOW + 1000, &a, NULL, 0), 0);
		free(b);
	}
	pol.node = NULL;
	assert_int_equal(assertion_verify_at((const uint8_t *)"", 0, reg, &pol, NOW, NULL, NULL, 0),
			 OS_EINVAL);
	assert_int_equal(assertion_verify_at((const uint8_t *)"", 0, reg, NULL, NOW, NULL, NULL, 0),
			 OS_EINVAL);
}

/* ---------------------------------------------------------------- replay */

static void test_replay(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	struct store *st = NULL;
	struct store_txn *t = NULL;
	store_dbi db;
	struct assertion a1, a2;
	uint8_t *b = NULL;
	size_t len = 0;
	char reason[256] = "";
	uint64_t n = 0;

	assert_non_null(dir);
	assert_int_equal(store_open(dir, 16, 4, &st), 0);
	assert_int_equal(store_dbi_open(st, "assert_seen", &db), 0);
	assert_int_equal(assertion_issue("gd.ida", 2, k_idp.sign_sk, "s-1", 2, "gd.sz", 60, NOW, &b,
					 &len),
			 0);
	assert_int_equal(assertion_verify(b, len, reg, "gd.sz", NOW, &a1, NULL, 0), 0);
	free(b);
	assert_int_equal(assertion_issue("gd.ida", 2, k_idp.sign_sk, "s-1", 2, "gd.sz", 600, NOW,
					 &b, &len),
			 0);
	assert_int_equal(assertion_verify(b, len, reg, "gd.sz", NOW, &a2, NULL, 0), 0);
	free(b);

	/* Once, then EREPLAY, also in the same transaction. */
	assert_int_equal(store_begin(st, 0, &t), 0);
	assert_int_equal(assertion_replay_claim(t, db, &a1, NOW, reason, sizeof(reason)), 0);
	assert_int_equal(assertion_replay_claim(t, db, &a1, NOW, reason, sizeof(reason)),
			 OS_EREPLAY);
	assert_non_null(strstr(reason, "already used"));
	assert_int_equal(store_commit(&t), 0);

	/* Durable: a later transaction (a restart reads the same store). */
	assert_int_equal(store_begin(st, 0, &t), 0);
	assert_int_equal(assertion_replay_claim(t, db, &a1, NOW + 1000, reason, sizeof(reason)),
			 OS_EREPLAY);
	/* The same nonce from another issuer is another assertion. */
	struct assertion other = a1;
	strcpy(other.issuer, "gd.idb");
	assert_int_equal(assertion_replay_claim(t, db, &other, NOW + 1000, NULL, 0), 0);
	assert_int_equal(assertion_replay_claim(t, db, &a2, NOW + 1000, NULL, 0), 0);
	assert_int_equal(store_count(t, db, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_commit(&t), 0);

	/* Pruned once expired: a1's two entries go, a2's stays. */
	assert_int_equal(store_begin(st, 0, &t), 0);
	assert_int_equal(assertion_replay_claim(t, db, &a2, NOW + 61000, NULL, 0), OS_EREPLAY);
	assert_int_equal(store_count(t, db, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(assertion_replay_claim(t, db, NULL, NOW, NULL, 0), OS_EINVAL);
	store_abort(&t);

	store_close(&st);
	tu_rmrf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify_table),
		cmocka_unit_test(test_issue),
		cmocka_unit_test(test_check_subject_table),
		cmocka_unit_test(test_verify_at),
		cmocka_unit_test(test_replay),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
