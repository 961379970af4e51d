/* Real-name assertions: issuing a SignedAssertion as an idp node,
 * verifying one locally against the registry (issuer, signature, validity,
 * audience, the node's validity cap) and the subject's identity entry
 * (status, level), and the verifier's replay cache of nonces. */
#include "assertion.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "onestop.pb-c.h"

#define ASSERTION_CTX "OneStop assertion v1"
#define ASSERTION_LEVEL_MAX 3u

static void as_reason(char *reason, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void as_reason(char *reason, size_t size, const char *fmt, ...)
{
	if (reason == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
}

int assertion_issue(const char *issuer, uint32_t key_version, const os_sign_sk sk,
		    const char *subject, uint32_t level, const char *audience, uint32_t ttl_s,
		    uint64_t now_ms, uint8_t **out, size_t *len)
{
	if (issuer == NULL || os_name_valid(issuer) != 0 || sk == NULL || out == NULL ||
	    len == NULL)
		return OS_EINVAL;
	if (ds_key_valid(subject) != 0 || level < 1 || level > ASSERTION_LEVEL_MAX)
		return OS_EINVAL;
	if (audience != NULL && audience[0] != '\0' && os_name_valid(audience) != 0)
		return OS_EINVAL;
	if (ttl_s < 1 || ttl_s > ASSERTION_MAX_TTL_S)
		return OS_EINVAL;

	int rc = OS_ENOMEM;
	uint8_t *abuf = NULL, *sbuf = NULL;
	uint8_t nonce[16];
	os_sig sig;
	crypto_random(nonce, sizeof(nonce));

	Onestop__Assertion a = ONESTOP__ASSERTION__INIT;
	a.issuer = (char *)issuer;
	a.subject = (char *)subject;
	a.level = level;
	a.audience = (char *)(audience != NULL ? audience : "");
	a.issued_ms = now_ms;
	a.expires_ms = now_ms + (uint64_t)ttl_s * 1000u;
	a.nonce.data = nonce;
	a.nonce.len = sizeof(nonce);
	size_t alen = onestop__assertion__get_packed_size(&a);
	abuf = malloc(alen);
	if (abuf == NULL)
		goto out;
	onestop__assertion__pack(&a, abuf);
	crypto_sign(sig, ASSERTION_CTX, abuf, alen, sk);

	Onestop__SignedAssertion sa = ONESTOP__SIGNED_ASSERTION__INIT;
	sa.assertion.data = abuf;
	sa.assertion.len = alen;
	sa.signature.data = sig;
	sa.signature.len = sizeof(sig);
	sa.key_version = key_version;
	size_t slen = onestop__signed_assertion__get_packed_size(&sa);
	if (slen > ASSERTION_MAX_BYTES) {
		rc = OS_EINVAL;
		goto out;
	}
	sbuf = malloc(slen);
	if (sbuf == NULL)
		goto out;
	onestop__signed_assertion__pack(&sa, sbuf);
	*out = sbuf;
	*len = slen;
	sbuf = NULL;
	rc = 0;
out:
	free(sbuf);
	free(abuf);
	return rc;
}

/* Copy what was decoded into out, bounded: out is filled on refusal too,
 * so callers can name the issuer and subject in their logs. */
static void as_fill(struct assertion *out, const Onestop__SignedAssertion *sa,
		    const Onestop__Assertion *a)
{
	memset(out, 0, sizeof(*out));
	if (sa != NULL)
		out->key_version = sa->key_version;
	if (a == NULL)
		return;
	snprintf(out->issuer, sizeof(out->issuer), "%s", a->issuer ? a->issuer : "");
	snprintf(out->subject, sizeof(out->subject), "%s", a->subject ? a->subject : "");
	snprintf(out->audience, sizeof(out->audience), "%s", a->audience ? a->audience : "");
	out->level = a->level;
	out->issued_ms = a->issued_ms;
	out->expires_ms = a->expires_ms;
	if (a->nonce.len == sizeof(out->nonce))
		memcpy(out->nonce, a->nonce.data, sizeof(out->nonce));
}

/* The issuer must be a registered, active idp node. */
static int as_check_issuer(const struct registry *reg, const char *issuer,
			   const struct reg_node **node, char *reason, size_t rs)
{
	if (issuer == NULL || os_name_valid(issuer) != 0) {
		as_reason(reason, rs, "issuer is not a valid node name");
		return OS_EISSUER;
	}
	const struct reg_node *n = registry_find(reg, issuer);
	if (n == NULL) {
		as_reason(reason, rs, "issuer %s is not in the registry", issuer);
		return OS_EISSUER;
	}
	if (!registry_node_active(n)) {
		as_reason(reason, rs, "issuer %s is %s", issuer, registry_status_str(n->status));
		return OS_EISSUER;
	}
	if (!(n->roles & REG_ROLE_IDP)) {
		as_reason(reason, rs, "issuer %s does not have the idp role", issuer);
		return OS_EISSUER;
	}
	*node = n;
	return 0;
}

/* The fields' form, once the signature holds. */
static int as_check_fields(const Onestop__Assertion *a, char *reason, size_t rs)
{
	if (a->nonce.len != 16) {
		as_reason(reason, rs, "nonce is %zu bytes, not 16", a->nonce.len);
		return OS_EDECODE;
	}
	if (ds_key_valid(a->subject) != 0) {
		as_reason(reason, rs, "subject is not 1..%u printable characters", DS_KEY_MAX);
		return OS_EDECODE;
	}
	if (a->level < 1 || a->level > ASSERTION_LEVEL_MAX) {
		as_reason(reason, rs, "level %u is not 1..3", a->level);
		return OS_EDECODE;
	}
	if (a->audience != NULL && a->audience[0] != '\0' && os_name_valid(a->audience) != 0) {
		as_reason(reason, rs, "audience is not a valid node name");
		return OS_EDECODE;
	}
	if (a->issued_ms >= a->expires_ms) {
		as_reason(reason, rs, "assertion expires before it is issued");
		return OS_EDECODE;
	}
	if (a->expires_ms - a->issued_ms > (uint64_t)ASSERTION_MAX_TTL_S * 1000u) {
		as_reason(reason, rs, "assertion is valid for longer than %u s",
			  ASSERTION_MAX_TTL_S);
		return OS_EINVAL;
	}
	return 0;
}

/* The checks of assertion_verify; pol NULL: the policy-free form (audience
 * checked when both name one, validity up to ASSERTION_MAX_TTL_S). */
static int as_verify(const uint8_t *buf, size_t len, const struct registry *reg,
		     const char *audience, const struct assertion_policy *pol, uint64_t now_ms,
		     struct assertion *out, char *reason, size_t reason_size)
{
	int rc;
	Onestop__SignedAssertion *sa = NULL;
	Onestop__Assertion *a = NULL;
	const struct reg_node *issuer = NULL;
	struct assertion tmp;
	struct assertion *res = out != NULL ? out : &tmp;
	memset(res, 0, sizeof(*res));

	if (reg == NULL || (buf == NULL && len > 0)) {
		as_reason(reason, reason_size, "no assertion or no registry");
		return OS_EINVAL;
	}
	if (len > ASSERTION_MAX_BYTES) {
		as_reason(reason, reason_size, "assertion is larger than %u bytes",
			  ASSERTION_MAX_BYTES);
		return OS_ETOOBIG;
	}
	rc = OS_EDECODE;
	sa = onestop__signed_assertion__unpack(NULL, len, buf);
	if (sa == NULL) {
		as_reason(reason, reason_size, "assertion is not a SignedAssertion");
		goto out;
	}
	if (sa->signature.len != sizeof(os_sig)) {
		as_reason(reason, reason_size, "signature is %zu bytes, not 64", sa->signature.len);
		goto out;
	}
	a = onestop__assertion__unpack(NULL, sa->assertion.len, sa->assertion.data);
	if (a == NULL) {
		as_reason(reason, reason_size, "assertion body cannot be decoded");
		goto out;
	}
	as_fill(res, sa, a);

	if ((rc = as_check_issuer(reg, a->issuer, &issuer, reason, reason_size)) != 0)
		goto out;
	/* Signature before the fields' form: any altered byte of a well-formed
	 * assertion is reported as what it is, a bad signature. */
	rc = OS_EBADSIG;
	if (sa->key_version != issuer->key_version) {
		as_reason(reason, reason_size,
			  "signed with key version %u of %s, the registry has %u", sa->key_version,
			  issuer->name, issuer->key_version);
		goto out;
	}
	if (crypto_verify(sa->signature.data, ASSERTION_CTX, sa->assertion.data, sa->assertion.len,
			  issuer->sign_pk) != 0) {
		as_reason(reason, reason_size, "signature of %s does not verify", issuer->name);
		goto out;
	}
	if ((rc = as_check_fields(a, reason, reason_size)) != 0)
		goto out;
	rc = OS_EEXPIRED;
	if (a->issued_ms > now_ms + ASSERTION_SKEW_MS) {
		as_reason(reason, reason_size, "assertion is issued in the future");
		goto out;
	}
	if (now_ms >= a->expires_ms) {
		as_reason(reason, reason_size, "assertion expired %llu s ago",
			  (unsigned long long)((now_ms - a->expires_ms) / 1000u));
		goto out;
	}
	if (pol != NULL && pol->max_validity_s != 0 &&
	    a->expires_ms - a->issued_ms > (uint64_t)pol->max_validity_s * 1000u) {
		as_reason(reason, reason_size,
			  "assertion is valid for %llu s, longer than the %u s this node accepts",
			  (unsigned long long)((a->expires_ms - a->issued_ms) / 1000u),
			  pol->max_validity_s);
		goto out;
	}
	rc = OS_EAUDIENCE;
	if (pol != NULL && a->audience[0] == '\0' && !pol->any_audience) {
		as_reason(reason, reason_size,
			  "assertion names no audience; %s accepts only assertions for itself",
			  audience);
		goto out;
	}
	if (a->audience[0] != '\0' && audience != NULL && audience[0] != '\0' &&
	    strcmp(a->audience, audience) != 0) {
		as_reason(reason, reason_size, "assertion is for %s, not %s", a->audience,
			  audience);
		goto out;
	}
	rc = 0;
out:
	if (a != NULL)
		onestop__assertion__free_unpacked(a, NULL);
	if (sa != NULL)
		onestop__signed_assertion__free_unpacked(sa, NULL);
	return rc;
}

int assertion_verify(const uint8_t *buf, size_t len, const struct registry *reg,
		     const char *audience, uint64_t now_ms, struct assertion *out, char *reason,
		     size_t reason_size)
{
	return as_verify(buf, len, reg, audience, NULL, now_ms, out, reason, reason_size);
}

int assertion_verify_at(const uint8_t *buf, size_t len, const struct registry *reg,
			const struct assertion_policy *pol, uint64_t now_ms, struct assertion *out,
			char *reason, size_t reason_size)
{
	if (pol == NULL || pol->node == NULL || os_name_valid(pol->node) != 0) {
		if (out != NULL)
			memset(out, 0, sizeof(*out));
		as_reason(reason, reason_size, "the verifying node has no valid name");
		return OS_EINVAL;
	}
	return as_verify(buf, len, reg, pol->node, pol, now_ms, out, reason, reason_size);
}

/* Replay cache keys: expires_ms (big-endian, so that the expired ones come
 * first), the nonce, the issuer. */
#define AS_REPLAY_KEY_MAX (8u + 16u + OS_NAME_MAX)

static size_t as_replay_key(uint8_t *k, uint64_t expires_ms, const uint8_t *nonce,
			    const char *issuer)
{
	size_t n = strnlen(issuer, OS_NAME_MAX - 1);
	os_put_u64be(k, expires_ms);
	if (nonce != NULL)
		memcpy(k + 8, nonce, 16);
	else
		memset(k + 8, 0, 16);
	memcpy(k + 24, issuer, n);
	return 24 + n;
}

int assertion_replay_claim(struct store_txn *t, store_dbi db, const struct assertion *a,
			   uint64_t now_ms, char *reason, size_t reason_size)
{
	uint8_t k[AS_REPLAY_KEY_MAX], upto[8];
	const void *v;
	size_t vl;
	int rc;

	if (t == NULL || a == NULL || a->issuer[0] == '\0') {
		as_reason(reason, reason_size, "no assertion or no transaction");
		return OS_EINVAL;
	}
	/* Forget the nonces of assertions that can no longer verify. */
	os_put_u64be(upto, now_ms);
	rc = store_del_range(t, db, NULL, 0, upto, 8, ASSERTION_REPLAY_PRUNE, NULL, NULL);
	if (rc < 0) {
		as_reason(reason, reason_size, "the replay cache could not be pruned: %s",
			  os_strerror(rc));
		return rc;
	}
	size_t kl = as_replay_key(k, a->expires_ms, a->nonce, a->issuer);
	rc = store_get(t, db, k, kl, &v, &vl);
	if (rc == 0) {
		as_reason(reason, reason_size,
			  "assertion of %s for %s was already used here (single use)", a->issuer,
			  a->subject);
		return OS_EREPLAY;
	}
	if (rc != OS_ENOTFOUND) {
		as_reason(reason, reason_size, "the replay cache could not be read: %s",
			  os_strerror(rc));
		return rc;
	}
	rc = store_put(t, db, k, kl, "", 0);
	if (rc < 0)
		as_reason(reason, reason_size, "the replay cache could not be written: %s",
			  os_strerror(rc));
	return rc;
}

int assertion_check_subject(const struct assertion *a, const uint8_t *identity, size_t identity_len,
			    uint32_t min_level, char *reason, size_t reason_size)
{
	if (a == NULL) {
		as_reason(reason, reason_size, "no assertion");
		return OS_EINVAL;
	}
	if (identity == NULL) {
		as_reason(reason, reason_size, "subject %s is not known", a->subject);
		return OS_ESUBJECT;
	}
	if (identity_len > DS_VALUE_MAX) {
		as_reason(reason, reason_size, "identity of subject %s is too large", a->subject);
		return OS_ESUBJECT;
	}
	Onestop__IdentityValue *iv = onestop__identity_value__unpack(NULL, identity_len, identity);
	if (iv == NULL) {
		as_reason(reason, reason_size, "identity of subject %s cannot be decoded",
			  a->subject);
		return OS_ESUBJECT;
	}
	int rc = OS_ESUBJECT;
	if (iv->status != ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE) {
		as_reason(reason, reason_size, "subject %s is %s", a->subject,
			  ds_subject_status_str(iv->status) ? ds_subject_status_str(iv->status)
							    : "of unknown status");
		goto out;
	}
	rc = OS_ELEVEL;
	if (a->level > iv->level) {
		as_reason(reason, reason_size, "level %u is above subject %s's level %u", a->level,
			  a->subject, iv->level);
		goto out;
	}
	if (a->level < min_level) {
		as_reason(reason, reason_size, "level %u is below the required %u", a->level,
			  min_level);
		goto out;
	}
	rc = 0;
out:
	onestop__identity_value__free_unpacked(iv, NULL);
	return rc;
}
