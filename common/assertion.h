/* Real-name assertions: an identity provider (a node with role idp) signs
 * {issuer, subject, level, audience, issued, expires, nonce}; any node
 * verifies one locally against its registry and its identity data, for
 * itself only, within its validity cap, and once when asked to (the
 * replay cache of nonces). docs/PROTOCOL.md §10.
 *   signature = Ed25519(issuer, "OneStop assertion v1\0" || packed Assertion) */
#ifndef OS_ASSERTION_H
#define OS_ASSERTION_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "dataset.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#define ASSERTION_MAX_BYTES 4096
#define ASSERTION_MAX_TTL_S (24u * 3600u)
#define ASSERTION_SKEW_MS 30000u          /* clock skew tolerated on issued_ms */
#define ASSERTION_VALIDITY_DEFAULT_S 600u /* a node's default validity cap */
#define ASSERTION_REPLAY_PRUNE 64u        /* expired nonces one claim deletes at most */

struct assertion {
	char issuer[OS_NAME_MAX];
	char subject[DS_KEY_MAX + 1];
	uint32_t level;
	char audience[OS_NAME_MAX]; /* "" when for any audience */
	uint64_t issued_ms;
	uint64_t expires_ms;
	uint8_t nonce[16];
	uint32_t key_version;
};

/* Issue an assertion as issuer (signing with sk, key_version) valid from
 * now_ms for ttl_s (1..ASSERTION_MAX_TTL_S). audience may be NULL or "".
 * *out is a malloc'd packed SignedAssertion. OS_EINVAL for a bad subject,
 * level (1..3), audience or ttl. */
int assertion_issue(const char *issuer, uint32_t key_version, const os_sign_sk sk,
		    const char *subject, uint32_t level, const char *audience, uint32_t ttl_s,
		    uint64_t now_ms, uint8_t **out, size_t *len);

/* Verify what needs no identity data: decodes (OS_EDECODE, OS_ETOOBIG),
 * issuer in the registry, active, with role idp (OS_EISSUER), key version
 * and signature (OS_EBADSIG), issued_ms <= now + skew and now < expires_ms
 * (OS_EEXPIRED), audience: when the assertion names one it must equal
 * audience (OS_EAUDIENCE). Fills *out (also on refusal, as far as decoded)
 * and reason with one readable sentence on refusal. 0 when all hold. */
int assertion_verify(const uint8_t *buf, size_t len, const struct registry *reg,
		     const char *audience, uint64_t now_ms, struct assertion *out, char *reason,
		     size_t reason_size);

/* How a node verifies for itself (assertion_verify_at). */
struct assertion_policy {
	const char *node;        /* the verifying node's name: the audience required */
	int any_audience;        /* 1: also accept an assertion that names no audience */
	uint32_t max_validity_s; /* longest expires - issued accepted (0: ASSERTION_MAX_TTL_S) */
};

/* assertion_verify as a node verifies for itself: the same checks, then
 * the policy's: the assertion's validity (expires - issued) must not
 * exceed pol->max_validity_s (OS_EEXPIRED, checked with the times), and
 * its audience must be pol->node (OS_EAUDIENCE), or empty when
 * pol->any_audience is set (an empty audience is OS_EAUDIENCE otherwise).
 * pol->node must be a node name (OS_EINVAL). Fills *out and reason as
 * assertion_verify does. 0 when all hold. */
int assertion_verify_at(const uint8_t *buf, size_t len, const struct registry *reg,
			const struct assertion_policy *pol, uint64_t now_ms, struct assertion *out,
			char *reason, size_t reason_size);

/* The replay cache of a verifier that wants single use: record a's nonce
 * (with its issuer and expiry; a is a verified assertion) in db through
 * the write transaction t, so that a second claim of the same assertion
 * fails until it has expired. Also deletes up to ASSERTION_REPLAY_PRUNE
 * entries whose assertion expired before now_ms. The claim holds once t
 * is committed. 0 (claimed now), OS_EREPLAY (claimed before; reason says
 * so), OS_EINVAL, or the store's error (OS_EFULL, OS_ESTORE). */
int assertion_replay_claim(struct store_txn *t, store_dbi db, const struct assertion *a,
			   uint64_t now_ms, char *reason, size_t reason_size);

/* The identity part: identity is the packed IdentityValue of the
 * assertion's subject, or NULL when the subject is unknown (OS_ESUBJECT).
 * The subject must be active (OS_ESUBJECT, reason names the status), the
 * assertion's level must not exceed the identity's level (OS_ELEVEL) and
 * must be at least min_level (OS_ELEVEL). 0 when all hold. */
int assertion_check_subject(const struct assertion *a, const uint8_t *identity, size_t identity_len,
			    uint32_t min_level, char *reason, size_t reason_size);

#endif
