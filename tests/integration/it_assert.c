/* Real-name single sign-on. The idp node's spoke issues assertions (API
 * and `onestop assert issue`); spoke a verifies them (API and `onestop
 * assert verify`) from its registry and identity data: a valid one is
 * accepted, and each of these is refused with its own code and reason:
 * expired (ttl 1 s, waited out), for another audience or none, issued by a node
 * that is not an idp (b, signing with its own key) or by a name that is
 * not in the registry, claimed by the idp but signed by b, a flipped
 * signature byte, an altered assertion, a subject revoked after a first
 * successful verification, an unknown subject, a level below the required
 * one and a level above the subject's own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "crypto.h"
#include "ds_harness.h"
#include "registry.h"

struct refusal {
	const char *what;
	int code;
	char reason[512];
};

static struct refusal g_ref[32];
static int g_nref;

/* Verify at p; returns the code, the reason into why. */
static int verify(struct net_proc *p, const uint8_t *buf, size_t len, unsigned min_level,
		  const char *audience, onestop_assertion_t *out, char *why, size_t why_size)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, 0, &c);

	if (out)
		memset(out, 0, sizeof *out);
	if (rc == 0)
		rc = onestop_assert_verify(c, buf, len, min_level, audience, out);
	snprintf(why, why_size, "%s", rc ? onestop_last_error(c) : "");
	onestop_close(&c);
	return rc;
}

static void expect_refused(struct net *n, struct net_proc *p, const char *what, const uint8_t *buf,
			   size_t len, unsigned min_level, int want, const char *words)
{
	char why[512];
	int rc;

	if (!H_CHECK(n, buf != NULL, "%s: an assertion to verify", what))
		return;
	rc = verify(p, buf, len, min_level, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == want, "%s: refused with %s (got %d %s) \"%s\"", what,
		onestop_strerror(want), rc, onestop_strerror(rc), why);
	H_CHECK(n, why[0] && (!words || strstr(why, words)),
		"%s: the reason names it (\"%s\" in \"%s\")", what, words ? words : "", why);
	if (g_nref < (int)(sizeof g_ref / sizeof g_ref[0])) {
		g_ref[g_nref].what = what;
		g_ref[g_nref].code = rc;
		snprintf(g_ref[g_nref].reason, sizeof g_ref[0].reason, "%s", why);
		g_nref++;
	}
}

static int issue(struct net *n, struct net_proc *idp, const char *subject, unsigned level,
		 const char *audience, unsigned ttl, uint8_t **out, size_t *len)
{
	onestop_t *c = NULL;
	int rc = net_connect(idp, 0, &c);

	*out = NULL;
	*len = 0;
	if (rc == 0)
		rc = onestop_assert_issue(c, subject, level, audience, ttl, out, len);
	H_CHECK(n, rc == 0 && *out && *len > 0,
		"idp issued an assertion for %s level %u audience %s ttl %u (rc %d %s \"%s\")",
		subject, level, audience ? audience : "(any)", ttl, rc, onestop_strerror(rc),
		rc ? onestop_last_error(c) : "");
	onestop_close(&c);
	return rc;
}

/* Sign an assertion directly with a node's key file, as issuer. */
static uint8_t *sign_as(struct net *n, const char *issuer, const char *keyfile, const char *subject,
			unsigned level, const char *audience, unsigned ttl, size_t *len)
{
	struct os_keypair kp;
	uint8_t *out = NULL;
	int rc;

	*len = 0;
	if (crypto_setup() != 0 || crypto_keyfile_read(keyfile, &kp) != 0) {
		H_CHECK(n, 0, "read key file %s", keyfile);
		return NULL;
	}
	rc = assertion_issue(issuer, 1, kp.sign_sk, subject, level, audience, ttl, os_now_ms(),
			     &out, len);
	crypto_keypair_wipe(&kp);
	H_CHECK(n, rc == 0, "signed an assertion as %s with %s (rc %d)", issuer, keyfile, rc);
	return rc == 0 ? out : NULL;
}

/* buf with one byte of its signature flipped (altered_sig) or one field of
 * its assertion changed (level + 1), the rest kept. */
static uint8_t *tamper(const uint8_t *buf, size_t len, int altered_sig, size_t *out_len)
{
	Onestop__SignedAssertion *s = onestop__signed_assertion__unpack(NULL, len, buf);
	Onestop__Assertion *a = NULL;
	ProtobufCBinaryData keep;
	uint8_t *inner = NULL, *out = NULL;

	if (!s)
		return NULL;
	keep = s->assertion;
	if (altered_sig) {
		if (s->signature.len == 0)
			goto out;
		s->signature.data[0] ^= 0x01;
	} else {
		size_t il;

		a = onestop__assertion__unpack(NULL, s->assertion.len, s->assertion.data);
		if (!a)
			goto out;
		a->level += 1;
		il = onestop__assertion__get_packed_size(a);
		inner = malloc(il);
		if (!inner)
			goto out;
		onestop__assertion__pack(a, inner);
		s->assertion.data = inner;
		s->assertion.len = il;
	}
	*out_len = onestop__signed_assertion__get_packed_size(s);
	out = malloc(*out_len);
	if (out)
		onestop__signed_assertion__pack(s, out);
out:
	s->assertion = keep;
	free(inner);
	if (a)
		onestop__assertion__free_unpacked(a, NULL);
	onestop__signed_assertion__free_unpacked(s, NULL);
	return out;
}

static char *to_hex(const uint8_t *buf, size_t len)
{
	char *h = malloc(2 * len + 1);

	if (h)
		os_hex(h, buf, len);
	return h;
}

/* `onestop assert verify` at p; expect ok (code NULL) or `refused
 * code=CODE`. */
static void cli_verify(struct net *n, struct net_proc *p, const uint8_t *buf, size_t len,
		       const char *level, const char *code, int use_stdin)
{
	struct cmd_out r;
	char *hex = to_hex(buf, len);
	char want[64];
	int rc;

	if (!H_CHECK(n, hex != NULL, "memory"))
		return;
	if (use_stdin)
		rc = net_cli_in(n, &r, hex, strlen(hex), "assert", "verify", "--level", level,
				"--api", p->api, NULL);
	else
		rc = net_cli(n, &r, "assert", "verify", "--level", level, "--api", p->api, hex,
			     NULL);
	if (!code) {
		H_CHECK(n,
			rc == 0 && strncmp(r.out, "ok issuer=idp subject=", 22) == 0 &&
				strstr(r.out, " level=") && strstr(r.out, " expires="),
			"onestop assert verify%s at %s: exit %d, \"%.200s\" %.200s",
			use_stdin ? " (stdin)" : "", p->name, rc, r.out, r.err);
	} else {
		snprintf(want, sizeof want, "refused code=%s reason=\"", code);
		H_CHECK(n, rc == 1 && (strstr(r.out, want) || strstr(r.err, want)),
			"onestop assert verify at %s: exit %d (want 1) with `%s...`: %.200s%.200s",
			p->name, rc, want, r.out, r.err);
	}
	cmd_out_free(&r);
	free(hex);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *idp, *a, *b;
	onestop_t *ci = NULL;
	onestop_assertion_t out;
	onestop_identity_t id;
	struct net_digest hub;
	uint8_t *ok = NULL, *any = NULL, *exp = NULL, *aud = NULL, *rev = NULL, *low = NULL;
	uint8_t *x = NULL, *bin = NULL;
	size_t ok_len, any_len, exp_len, aud_len, rev_len, low_len, x_len, bin_len;
	char why[512];
	uint64_t t0, now;
	int rc;

	ds_opts_identity(&o);
	n = net_make(3, &o);
	idp = net_spoke(n, "idp");
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	net_start_all(n);

	H_REQUIRE(n, net_connect(idp, 0, &ci) == 0, "connected to idp");
	H_REQUIRE(n,
		  ds_put_identity(ci, "s-ok", 3, ONESTOP_SUBJECT_ACTIVE, "idp") == 0 &&
			  ds_put_identity(ci, "s-rev", 2, ONESTOP_SUBJECT_ACTIVE, "idp") == 0 &&
			  ds_put_identity(ci, "s-low", 1, ONESTOP_SUBJECT_ACTIVE, "idp") == 0,
		  "idp published three subjects");
	H_REQUIRE(n, ds_wait_hub_seq(n, "identity", 3, h_ms(30000), &hub) == 0,
		  "the hub sequenced them");

	fprintf(stderr, "valid assertions are accepted\n");
	issue(n, idp, "s-ok", 2, "a", 600, &ok, &ok_len);
	now = os_now_ms();
	rc = verify(a, ok, ok_len, 2, NULL, &out, why, sizeof why);
	H_CHECK(n,
		rc == 0 && strcmp(out.issuer, "idp") == 0 && strcmp(out.subject, "s-ok") == 0 &&
			out.level == 2 && strcmp(out.audience, "a") == 0 &&
			out.expires_ms > now + 590000 && out.expires_ms < now + 610000 &&
			out.issued_ms <= now + 1000 && out.issued_ms + 60000 > now,
		"a verifies it: rc %d %s \"%s\" issuer %s subject %s level %u audience %s "
		"issued %llu expires %llu (now %llu)",
		rc, onestop_strerror(rc), why, out.issuer, out.subject, out.level, out.audience,
		(unsigned long long)out.issued_ms, (unsigned long long)out.expires_ms,
		(unsigned long long)now);
	issue(n, idp, "s-ok", 3, NULL, 0, &any, &any_len);
	rc = verify(a, any, any_len, 3, NULL, &out, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EAUDIENCE, "a refuses one that names no audience (rc %d \"%s\")",
		rc, why);
	rc = verify(b, any, any_len, 1, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EAUDIENCE, "so does b (rc %d \"%s\")", rc, why);
	rc = verify(a, ok, ok_len, 2, "a", NULL, why, sizeof why);
	H_CHECK(n, rc == 0, "a verifies with its audience named (rc %d \"%s\")", rc, why);

	fprintf(stderr, "the CLI\n");
	{
		struct cmd_out r;
		uint8_t *buf = NULL;
		size_t hl;

		rc = net_cli(n, &r, "assert", "issue", "--subject", "s-ok", "--level", "2",
			     "--audience", "a", "--ttl", "600", "--api", idp->api, NULL);
		hl = strspn(r.out, "0123456789abcdef");
		H_CHECK(n, rc == 0 && hl > 64 && hl % 2 == 0,
			"onestop assert issue: exit %d, %zu hex digits (%.200s)", rc, hl, r.err);
		if (rc == 0 && hl > 64 && hl % 2 == 0 && (buf = malloc(hl / 2)) != NULL) {
			r.out[hl] = '\0';
			if (os_unhex(buf, hl / 2, r.out) == 0) {
				rc = verify(a, buf, hl / 2, 2, NULL, &out, why, sizeof why);
				H_CHECK(n, rc == 0 && strcmp(out.subject, "s-ok") == 0,
					"the CLI's assertion verifies through the API (rc %d \"%s\")",
					rc, why);
				cli_verify(n, a, buf, hl / 2, "2", NULL, 0);
				cli_verify(n, a, buf, hl / 2, "2", NULL, 1);
			}
			free(buf);
		}
		cmd_out_free(&r);
	}

	fprintf(stderr, "refusals\n");
	issue(n, idp, "s-ok", 2, "a", 1, &exp, &exp_len);
	t0 = h_now_ms();
	issue(n, idp, "s-ok", 2, "b", 600, &aud, &aud_len);
	x = sign_as(n, "b", b->reg_key, "s-ok", 2, NULL, 600, &x_len);
	expect_refused(n, a, "issued by b, which is not an idp", x, x_len, 1, ONESTOP_EISSUER,
		       NULL);
	free(x);
	x = sign_as(n, "nobody", b->reg_key, "s-ok", 2, NULL, 600, &x_len);
	expect_refused(n, a, "issued by a name not in the registry", x, x_len, 1, ONESTOP_EISSUER,
		       NULL);
	free(x);
	x = sign_as(n, "idp", b->reg_key, "s-ok", 2, NULL, 600, &x_len);
	expect_refused(n, a, "claims the idp, signed with b's key", x, x_len, 1, ONESTOP_EBADSIG,
		       NULL);
	free(x);
	x = tamper(ok, ok_len, 1, &x_len);
	expect_refused(n, a, "signature byte flipped", x, x_len, 1, ONESTOP_EBADSIG, NULL);
	if (x)
		cli_verify(n, a, x, x_len, "1", "EBADSIG", 0);
	free(x);
	x = tamper(ok, ok_len, 0, &x_len);
	expect_refused(n, a, "assertion altered (level raised), signature kept", x, x_len, 1,
		       ONESTOP_EBADSIG, NULL);
	free(x);
	expect_refused(n, a, "for audience b, verified at a", aud, aud_len, 1, ONESTOP_EAUDIENCE,
		       NULL);
	cli_verify(n, a, aud, aud_len, "1", "EAUDIENCE", 0);
	rc = verify(b, aud, aud_len, 1, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == 0, "...and accepted at b, its audience (rc %d \"%s\")", rc, why);
	issue(n, idp, "s-low", 1, "a", 600, &low, &low_len);
	expect_refused(n, a, "level 1 where 2 is required", low, low_len, 2, ONESTOP_ELEVEL, NULL);
	cli_verify(n, a, low, low_len, "2", "ELEVEL", 0);
	rc = verify(a, low, low_len, 1, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == 0, "...and accepted where 1 is enough (rc %d \"%s\")", rc, why);
	x = sign_as(n, "idp", idp->reg_key, "s-low", 3, "a", 600, &x_len);
	expect_refused(n, a, "level 3 for a subject of level 1", x, x_len, 1, ONESTOP_ELEVEL, NULL);
	free(x);
	x = sign_as(n, "idp", idp->reg_key, "s-none", 2, "a", 600, &x_len);
	expect_refused(n, a, "a subject unknown to identity", x, x_len, 1, ONESTOP_ESUBJECT, NULL);
	free(x);

	/* expired: ttl 1 s, waited out */
	while (h_now_ms() - t0 < 2500)
		h_sleep_ms(100);
	expect_refused(n, a, "expired (ttl 1 s)", exp, exp_len, 1, ONESTOP_EEXPIRED, NULL);
	cli_verify(n, a, exp, exp_len, "1", "EEXPIRED", 0);

	/* revoked after a first successful verification at a */
	issue(n, idp, "s-rev", 2, "a", 600, &rev, &rev_len);
	rc = verify(a, rev, rev_len, 2, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == 0, "s-rev verifies while active (rc %d \"%s\")", rc, why);
	H_REQUIRE(n, ds_put_identity(ci, "s-rev", 2, ONESTOP_SUBJECT_REVOKED, "idp") == 0,
		  "idp revoked s-rev");
	t0 = h_now_ms();
	do {
		rc = ds_get_identity(a, "s-rev", 0, &id, NULL);
		if (rc == 0 && id.status == ONESTOP_SUBJECT_REVOKED)
			break;
		h_sleep_ms(50);
	} while (h_now_ms() - t0 < (uint64_t)h_ms(15000));
	H_CHECK(n, rc == 0 && id.status == ONESTOP_SUBJECT_REVOKED,
		"the revocation reached a (status %d)", id.status);
	expect_refused(n, a, "subject revoked", rev, rev_len, 1, ONESTOP_ESUBJECT, "revoked");
	cli_verify(n, a, rev, rev_len, "1", "ESUBJECT", 0);

	/* garbage */
	bin = malloc(40);
	bin_len = 40;
	if (bin) {
		memset(bin, 0xa5, bin_len);
		rc = verify(a, bin, bin_len, 1, NULL, NULL, why, sizeof why);
		H_CHECK(n, rc != 0 && why[0], "40 bytes of garbage are refused (rc %d %s \"%s\")",
			rc, onestop_strerror(rc), why);
	}

	/* every refusal has its own reason text */
	{
		int dup = 0;

		for (int i = 0; i < g_nref; i++)
			for (int j = i + 1; j < g_nref; j++)
				if (g_ref[i].code != g_ref[j].code &&
				    strcmp(g_ref[i].reason, g_ref[j].reason) == 0) {
					dup++;
					fprintf(stderr, "  same reason for %s and %s: \"%s\"\n",
						g_ref[i].what, g_ref[j].what, g_ref[i].reason);
				}
		H_CHECK(n, dup == 0,
			"refusals with different codes give different reasons (%d "
			"pairs alike)",
			dup);
		for (int i = 0; i < g_nref; i++)
			fprintf(stderr, "  %-50s %-10s %s\n", g_ref[i].what,
				os_errname(g_ref[i].code), g_ref[i].reason);
	}
	{
		/* a is still fine with the valid one */
		rc = verify(a, ok, ok_len, 2, NULL, NULL, why, sizeof why);
		H_CHECK(n, rc == 0, "the first assertion still verifies (rc %d \"%s\")", rc, why);
	}

	free(ok);
	free(any);
	free(exp);
	free(aud);
	free(rev);
	free(low);
	free(bin);
	onestop_close(&ci);
	return net_done(&n);
}
