/* libonestop's real-name sign-on calls (onestop.h "real-name SSO"): ask an
 * idp node's spoke to issue a signed assertion, and ask any spoke to
 * verify one against its registry and identity data. */
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "conn.h"
#include "onestop.h"
#include "sized.h"
#include "util.h"

int onestop_assert_issue(onestop_t *c, const char *subject, unsigned level, const char *audience,
			 unsigned ttl_s, uint8_t **out, size_t *len)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (c == NULL || out == NULL || len == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (subject == NULL || subject[0] == '\0' || level < 1 || level > 3) {
		conn_seterr(c, "an assertion needs a subject and a level 1..3");
		return ONESTOP_EINVAL;
	}
	Onestop__AssertIssueRequest ar = ONESTOP__ASSERT_ISSUE_REQUEST__INIT;
	/* protobuf-c's fields are not const; packing only reads them. */
	ar.subject = (char *)subject;
	ar.level = level;
	ar.audience = (char *)(audience ? audience : "");
	ar.ttl_s = ttl_s;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_ASSERT_ISSUE;
	req.assert_issue = &ar;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__AssertIssueResult *res = rep->assert_issue;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_ASSERT_ISSUE || res == NULL ||
	    res->assertion.len == 0 || res->assertion.len > ASSERTION_MAX_BYTES) {
		conn_seterr(c, "the spoke's reply to AssertIssue carries no assertion");
		goto out;
	}
	uint8_t *buf = malloc(res->assertion.len);
	if (buf == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	memcpy(buf, res->assertion.data, res->assertion.len);
	*out = buf;
	*len = res->assertion.len;
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* The audience and issue time of an assertion the spoke has verified
 * (its reply does not repeat them). 0 or ONESTOP_EPROTO. */
static int assert_decode_rest(const uint8_t *buf, size_t len, onestop_assertion_t *out)
{
	Onestop__SignedAssertion *sa = NULL;
	Onestop__Assertion *as = NULL;
	int rc = ONESTOP_EPROTO;

	sa = onestop__signed_assertion__unpack(NULL, len, buf);
	if (sa == NULL)
		goto out;
	as = onestop__assertion__unpack(NULL, sa->assertion.len, sa->assertion.data);
	if (as == NULL)
		goto out;
	size_t la = conn_strlen_max(as->audience, sizeof(out->audience) - 1);
	if (la == SIZE_MAX)
		goto out;
	if (la > 0)
		memcpy(out->audience, as->audience, la);
	out->audience[la] = '\0';
	out->issued_ms = as->issued_ms;
	rc = 0;
out:
	if (as != NULL)
		onestop__assertion__free_unpacked(as, NULL);
	if (sa != NULL)
		onestop__signed_assertion__free_unpacked(sa, NULL);
	return rc;
}

/* Verify at the spoke; single_use: spend it (a second such call fails). */
static int assert_verify(onestop_t *c, const uint8_t *assertion, size_t len, unsigned min_level,
			 const char *audience, int single_use, onestop_assertion_t *out,
			 size_t out_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_assertion_t got;
	int rc;

	if (out != NULL &&
	    sized_check(out_size, SIZED_ASSERTION_V1, _Alignof(onestop_assertion_t)) != 0)
		return ONESTOP_EINVAL;
	if (out != NULL)
		memset(out, 0, out_size);
	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (assertion == NULL || len == 0) {
		conn_seterr(c, "no assertion to verify");
		return ONESTOP_EINVAL;
	}
	if (len > ASSERTION_MAX_BYTES) {
		conn_seterr(c, "an assertion of %zu bytes is larger than %d", len,
			    ASSERTION_MAX_BYTES);
		return ONESTOP_ETOOBIG;
	}
	Onestop__AssertVerifyRequest vr = ONESTOP__ASSERT_VERIFY_REQUEST__INIT;
	vr.assertion.data = (uint8_t *)assertion;
	vr.assertion.len = len;
	vr.min_level = min_level;
	vr.audience = (char *)(audience ? audience : "");
	vr.single_use = single_use != 0;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_ASSERT_VERIFY;
	req.assert_verify = &vr;
	/* A subject missing from a cached identity dataset is filled through
	 * the hub; the spoke bounds that wait by its fetch_timeout_ms, which
	 * the request timeout covers. */
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__AssertVerifyResult *res = rep->assert_verify;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_ASSERT_VERIFY || res == NULL) {
		conn_seterr(c, "the spoke's reply to AssertVerify is not an AssertVerifyResult");
		goto out;
	}
	memset(&got, 0, sizeof(got));
	size_t li = conn_strlen_max(res->issuer, sizeof(got.issuer) - 1);
	size_t ls = conn_strlen_max(res->subject, sizeof(got.subject) - 1);
	if (li == SIZE_MAX || li == 0 || ls == SIZE_MAX || ls == 0) {
		conn_seterr(c,
			    "the spoke's reply to AssertVerify names no valid issuer or subject");
		goto out;
	}
	memcpy(got.issuer, res->issuer, li);
	memcpy(got.subject, res->subject, ls);
	got.level = res->level;
	got.expires_ms = res->expires_ms;
	if (assert_decode_rest(assertion, len, &got) != 0) {
		conn_seterr(c, "the spoke accepted an assertion that does not decode");
		goto out;
	}
	if (out != NULL)
		sized_out(out, out_size, &got, sizeof(got));
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

int onestop_assert_verify_sized(onestop_t *c, const uint8_t *assertion, size_t len,
				unsigned min_level, const char *audience, onestop_assertion_t *out,
				size_t out_size)
{
	return assert_verify(c, assertion, len, min_level, audience, 0, out, out_size);
}

int onestop_assert_verify_once_sized(onestop_t *c, const uint8_t *assertion, size_t len,
				     unsigned min_level, const char *audience,
				     onestop_assertion_t *out, size_t out_size)
{
	return assert_verify(c, assertion, len, min_level, audience, 1, out, out_size);
}
