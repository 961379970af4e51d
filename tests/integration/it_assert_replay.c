/* Assertions are bound, short-lived and, when asked, single-use (#5,
 * defect 9): a single-use verify succeeds once and then is EREPLAY, also
 * after the spoke restarts (the nonce is in its store); an app cannot
 * pick another audience than the spoke's node, nor pass one that names
 * none (unless the spoke accepts any audience); an assertion valid for
 * longer than the spoke's cap (600 s by default) is refused at issue and
 * at verify. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assertion.h"
#include "crypto.h"
#include "ds_harness.h"

/* Verify at p (single use or not), naming audience (NULL: none); the
 * code, and the reason into why. */
static int verify(struct net_proc *p, const uint8_t *buf, size_t len, const char *audience,
		  int once, char *why, size_t why_size)
{
	onestop_t *c = NULL;
	onestop_assertion_t out;
	int rc = net_connect(p, 0, &c);

	if (rc == 0)
		rc = once ? onestop_assert_verify_once(c, buf, len, 1, audience, &out)
			  : onestop_assert_verify(c, buf, len, 1, audience, &out);
	snprintf(why, why_size, "%s", rc ? onestop_last_error(c) : "");
	onestop_close(&c);
	return rc;
}

/* Issue at the idp; the code. */
static int issue(struct net_proc *idp, const char *audience, unsigned ttl, uint8_t **out,
		 size_t *len, char *why, size_t why_size)
{
	onestop_t *c = NULL;
	int rc = net_connect(idp, 0, &c);

	*out = NULL;
	*len = 0;
	if (rc == 0)
		rc = onestop_assert_issue(c, "s-ok", 2, audience, ttl, out, len);
	snprintf(why, why_size, "%s", rc ? onestop_last_error(c) : "");
	onestop_close(&c);
	return rc;
}

/* Sign with the idp's key directly (what another idp's spoke might issue). */
static uint8_t *sign_as_idp(struct net *n, struct net_proc *idp, const char *audience, unsigned ttl,
			    size_t *len)
{
	struct os_keypair kp;
	uint8_t *out = NULL;
	int rc;

	*len = 0;
	if (crypto_setup() != 0 || crypto_keyfile_read(idp->reg_key, &kp) != 0) {
		H_CHECK(n, 0, "read key file %s", idp->reg_key);
		return NULL;
	}
	rc = assertion_issue("idp", 1, kp.sign_sk, "s-ok", 2, audience, ttl, os_now_ms(), &out,
			     len);
	crypto_keypair_wipe(&kp);
	H_CHECK(n, rc == 0, "signed an assertion as idp (rc %d)", rc);
	return rc == 0 ? out : NULL;
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *idp, *a, *b;
	onestop_t *ci = NULL;
	struct net_digest hub;
	uint8_t *x = NULL, *forb = NULL, *none = NULL, *y = NULL;
	size_t x_len, forb_len, none_len, y_len;
	char why[512];
	int rc;

	ds_opts_identity(&o);
	n = net_make(3, &o);
	idp = net_spoke(n, "idp");
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	net_start_all(n);

	H_REQUIRE(n, net_connect(idp, 0, &ci) == 0, "connected to idp");
	H_REQUIRE(n, ds_put_identity(ci, "s-ok", 3, ONESTOP_SUBJECT_ACTIVE, "idp") == 0,
		  "idp published a subject");
	onestop_close(&ci);
	H_REQUIRE(n, ds_wait_hub_seq(n, "identity", 1, h_ms(30000), &hub) == 0,
		  "the hub sequenced it");

	fprintf(stderr, "single use\n");
	rc = issue(idp, "a", 600, &x, &x_len, why, sizeof why);
	H_REQUIRE(n, rc == 0, "idp issued an assertion for a (rc %d \"%s\")", rc, why);
	rc = verify(a, x, x_len, NULL, 0, why, sizeof why);
	H_CHECK(n, rc == 0, "a plain verify at a succeeds (rc %d \"%s\")", rc, why);
	rc = verify(a, x, x_len, NULL, 1, why, sizeof why);
	H_CHECK(n, rc == 0, "the first single-use verify at a succeeds (rc %d \"%s\")", rc, why);
	rc = verify(a, x, x_len, NULL, 1, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EREPLAY, "the second single-use verify is EREPLAY (rc %d \"%s\")",
		rc, why);
	{
		struct cmd_out r;
		char *hex = malloc(2 * x_len + 1);

		if (hex) {
			os_hex(hex, x, x_len);
			rc = net_cli(n, &r, "assert", "verify", "--single-use", "--api", a->api,
				     hex, NULL);
			H_CHECK(n, rc == 1 && strstr(r.out, "refused code=EREPLAY"),
				"onestop assert verify --single-use: refused code=EREPLAY (exit %d "
				"%.200s%.200s)",
				rc, r.out, r.err);
			cmd_out_free(&r);
			free(hex);
		}
	}
	H_REQUIRE(n, proc_stop(n, a, 0) == 0, "a stopped cleanly");
	net_up(n, a, 1);
	rc = verify(a, x, x_len, NULL, 1, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EREPLAY, "after a restart it is still EREPLAY (rc %d \"%s\")", rc,
		why);
	rc = issue(idp, "a", 600, &y, &y_len, why, sizeof why);
	rc = rc ? rc : verify(a, y, y_len, NULL, 1, why, sizeof why);
	H_CHECK(n, rc == 0, "another assertion is used once after the restart (rc %d \"%s\")", rc,
		why);

	fprintf(stderr, "audience\n");
	rc = issue(idp, "b", 600, &forb, &forb_len, why, sizeof why);
	H_REQUIRE(n, rc == 0, "idp issued an assertion for b (rc %d \"%s\")", rc, why);
	rc = verify(a, forb, forb_len, "b", 0, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EAUDIENCE,
		"a refuses one for b although the app names b as the audience (rc %d \"%s\")", rc,
		why);
	rc = verify(b, forb, forb_len, NULL, 0, why, sizeof why);
	H_CHECK(n, rc == 0, "b, its audience, accepts it (rc %d \"%s\")", rc, why);
	rc = issue(idp, NULL, 600, &none, &none_len, why, sizeof why);
	H_REQUIRE(n, rc == 0, "idp issued an assertion for no audience (rc %d \"%s\")", rc, why);
	rc = verify(a, none, none_len, NULL, 0, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EAUDIENCE, "a refuses one that names no audience (rc %d \"%s\")",
		rc, why);

	fprintf(stderr, "validity cap\n");
	free(x);
	rc = issue(idp, "a", 3600, &x, &x_len, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EINVAL && strstr(why, "600"),
		"idp refuses to issue for 3600 s, over its 600 s cap (rc %d \"%s\")", rc, why);
	free(x);
	x = sign_as_idp(n, idp, "a", 3600, &x_len);
	if (x) {
		rc = verify(a, x, x_len, NULL, 0, why, sizeof why);
		H_CHECK(n, rc == ONESTOP_EEXPIRED && strstr(why, "600"),
			"a refuses one valid for 3600 s (rc %d \"%s\")", rc, why);
	}

	fprintf(stderr, "a spoke that accepts any audience\n");
	H_REQUIRE(n, proc_stop(n, b, 0) == 0, "b stopped cleanly");
	b->args[0] = "--assertion-any-audience";
	b->args[1] = NULL;
	net_up(n, b, 1);
	rc = verify(b, none, none_len, NULL, 0, why, sizeof why);
	H_CHECK(n, rc == 0, "b, with assertion_any_audience, accepts it (rc %d \"%s\")", rc, why);

	free(x);
	free(y);
	free(forb);
	free(none);
	return net_done(&n);
}
