/* onestop assert issue|verify: real-name sign-on through the local spoke.
 * An idp node's spoke issues signed assertions; any spoke verifies one
 * against its registry and identity data (onestop.h "real-name SSO"). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "onestop.h"
#include "util.h"

#define ASSERT_MAX_BYTES 4096u         /* common/assertion.h */
#define ASSERT_MAX_TTL_S (24u * 3600u) /* common/assertion.h */
#define ASSERT_HEX_READ (4 * ASSERT_MAX_BYTES)

static int assert_issue(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	uint8_t *sa = NULL;
	size_t len = 0;
	uint64_t level = 0, ttl = 0;
	int rc, code;

	const char *subject = cli_need(cmd, a, "subject");
	if (subject == NULL)
		return CLI_USAGE;
	if (!cli_has(a, "level"))
		return cli_usage(cmd, "--level is required");
	if (cli_uint(cmd, "level", cli_get(a, "level"), 1, 3, &level) != 0)
		return CLI_USAGE;
	if (cli_has(a, "ttl") &&
	    cli_uint(cmd, "ttl", cli_get(a, "ttl"), 1, ASSERT_MAX_TTL_S, &ttl) != 0)
		return CLI_USAGE;
	const char *audience = cli_get(a, "audience");
	if (cli_has(a, "audience") && (audience == NULL || audience[0] == '\0'))
		return cli_usage(cmd, "--audience needs a node name");
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	code = onestop_assert_issue(c, subject, (unsigned)level, audience, (unsigned)ttl, &sa,
				    &len);
	if (code != 0) {
		rc = cli_fail_api(cmd, c, code);
		goto out;
	}
	for (size_t i = 0; i < len; i++)
		printf("%02x", sa[i]);
	putchar('\n');
	rc = cli_flush(cmd);
out:
	free(sa);
	onestop_close(&c);
	return rc;
}

/* The assertion's hex from the word given or standard input (white space
 * around it ignored), decoded into *out (malloc'd) of *len bytes. */
static int assert_read_hex(const struct cli_cmd *cmd, const struct cli_args *a, uint8_t **out,
			   size_t *len)
{
	uint8_t *in = NULL;
	size_t in_len = 0;
	const char *hex;
	int rc;

	if (a->n_words == 1) {
		hex = a->words[0];
		in_len = strlen(hex);
	} else {
		errno = 0;
		rc = os_read_file("/dev/stdin", ASSERT_HEX_READ, &in, &in_len);
		if (rc == OS_ETOOBIG)
			return cli_fail(cmd, "standard input holds more than an assertion");
		if (rc != 0)
			return cli_fail(cmd, "cannot read standard input: %s",
					rc == OS_EIO && errno != 0 ? strerror(errno)
								   : os_strerror(rc));
		hex = (const char *)in;
	}
	while (in_len > 0 && isspace((unsigned char)hex[0]))
		hex++, in_len--;
	while (in_len > 0 && isspace((unsigned char)hex[in_len - 1]))
		in_len--;
	rc = CLI_USAGE;
	if (in_len == 0) {
		rc = cli_usage(cmd, "no assertion given (HEX, or on standard input)");
		goto out;
	}
	if (in_len % 2 != 0 || in_len / 2 > ASSERT_MAX_BYTES) {
		rc = cli_usage(cmd, "the assertion must be hex of at most %u bytes",
			       ASSERT_MAX_BYTES);
		goto out;
	}
	char *copy = malloc(in_len + 1);
	uint8_t *bin = malloc(in_len / 2);
	if (copy == NULL || bin == NULL) {
		free(copy);
		free(bin);
		rc = cli_fail(cmd, "out of memory");
		goto out;
	}
	memcpy(copy, hex, in_len);
	copy[in_len] = '\0';
	if (os_unhex(bin, in_len / 2, copy) != 0) {
		free(copy);
		free(bin);
		rc = cli_usage(cmd, "the assertion is not hex");
		goto out;
	}
	free(copy);
	*out = bin;
	*len = in_len / 2;
	rc = CLI_OK;
out:
	free(in);
	return rc;
}

static int assert_verify(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	uint8_t *sa = NULL;
	size_t len = 0;
	uint64_t level = 0;
	onestop_assertion_t as;
	char expires[OS_ISO_TIME_MAX];
	int rc, code;

	if (cli_has(a, "level") && cli_uint(cmd, "level", cli_get(a, "level"), 0, 3, &level) != 0)
		return CLI_USAGE;
	const char *audience = cli_get(a, "audience");
	if (cli_has(a, "audience") && (audience == NULL || audience[0] == '\0'))
		return cli_usage(cmd, "--audience needs a node name");
	if ((rc = assert_read_hex(cmd, a, &sa, &len)) != CLI_OK)
		return rc;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	if (cli_has(a, "single-use"))
		code = onestop_assert_verify_once(c, sa, len, (unsigned)level, audience, &as);
	else
		code = onestop_assert_verify(c, sa, len, (unsigned)level, audience, &as);
	if (code == ONESTOP_ETIMEDOUT || code == ONESTOP_ENOMEM || code == ONESTOP_EPROTO) {
		/* No verdict: the spoke did not answer, or not sensibly. */
		rc = cli_fail_api(cmd, c, code);
		goto out;
	}
	if (code != 0) {
		/* The verdict goes where "ok" would have gone. */
		printf("refused code=%s reason=", os_errname(code));
		cli_print_quoted(stdout, onestop_last_error(c)[0] ? onestop_last_error(c)
								  : onestop_strerror(code));
		putchar('\n');
		cli_flush(cmd);
		rc = CLI_ERR;
		goto out;
	}
	os_iso_time(expires, as.expires_ms);
	printf("ok issuer=%s subject=%s level=%u expires=%s\n", as.issuer, as.subject, as.level,
	       expires);
	rc = cli_flush(cmd);
out:
	free(sa);
	onestop_close(&c);
	return rc;
}

static const struct cli_opt assert_issue_opts[] = {
	{"subject", CLI_ARG, 0}, {"level", CLI_ARG, 0}, {"audience", CLI_ARG, 0},
	{"ttl", CLI_ARG, 0},     {"api", CLI_ARG, 0},   {NULL, CLI_NOARG, 0},
};
static const struct cli_opt assert_verify_opts[] = {
	{"level", CLI_ARG, 0}, {"audience", CLI_ARG, 0}, {"single-use", CLI_NOARG, 0},
	{"api", CLI_ARG, 0},   {NULL, CLI_NOARG, 0},
};

static const struct cli_cmd assert_issue_cmd = {
	"assert issue",
	"issue a real-name assertion (at an idp node's spoke)",
	"Usage: onestop assert issue --subject S --level L [--audience N] [--ttl S] [--api EP]\n"
	"\n"
	"Have the local spoke, whose node must have role idp in the registry, sign\n"
	"an assertion that subject S (a pseudonymous subject id of the identity\n"
	"dataset) was authenticated at real-name level L. Prints the assertion\n"
	"(a packed SignedAssertion) as hex on one line; any spoke can verify it\n"
	"with 'onestop assert verify'.\n"
	"\n"
	"Options:\n"
	"  --subject S       the subject id (required)\n"
	"  --level L         real-name level 1..3 (required)\n"
	"  --audience N      the node it is for; verified only there (default: none,\n"
	"                    which verifiers refuse unless assertion_any_audience)\n"
	"  --ttl S           seconds it stays valid, 1..assertion_max_validity_s of the\n"
	"                    spoke (default 600, or that cap when lower)\n" CLI_API_HELP,
	assert_issue_opts,
	assert_issue,
	0,
};

static const struct cli_cmd assert_verify_cmd = {
	"assert verify",
	"verify a real-name assertion",
	"Usage: onestop assert verify [--level L] [--single-use] [--audience N] [--api EP] [HEX]\n"
	"\n"
	"Have the local spoke verify the assertion HEX (or the hex on standard\n"
	"input) with no call to the hub, except to fetch a subject it does not\n"
	"hold: issuer an active idp, signature, validity (at most the spoke's\n"
	"assertion_max_validity_s), audience this spoke's node, subject known and\n"
	"active in identity, level at least L. Without --single-use the assertion\n"
	"verifies any number of times until it expires; with it, it is spent (the\n"
	"spoke keeps its nonce until it expires) and a second use is EREPLAY.\n"
	"Prints\n"
	"  ok issuer=NODE subject=S level=N expires=ISO-8601 UTC\n"
	"or, exiting 1,\n"
	"  refused code=NAME reason=\"...\"\n"
	"where NAME says which check failed: EISSUER, EBADSIG, EEXPIRED, EAUDIENCE,\n"
	"EREPLAY, ESUBJECT, ELEVEL (or EDECODE for what is not an assertion).\n"
	"\n"
	"Options:\n"
	"  --level L         the least real-name level required, 0..3 (default 0)\n"
	"  --single-use      spend it: succeed once (for acting on it, e.g. filing a case)\n"
	"  --audience N      this spoke's node name (any other is refused: EAUDIENCE)\n" CLI_API_HELP,
	assert_verify_opts,
	assert_verify,
	1,
};

const struct cli_cmd *const cli_assert_cmds[] = {&assert_issue_cmd, &assert_verify_cmd, NULL};

const char cli_assert_help[] =
	"Usage: onestop assert VERB [OPTIONS]\n"
	"\n"
	"Real-name single sign-on: a node with role idp issues signed assertions\n"
	"that a subject was authenticated at a real-name level; any spoke\n"
	"verifies them locally.\n"
	"\n"
	"Verbs:\n"
	"  issue      issue an assertion (at an idp node's spoke)\n"
	"  verify     verify an assertion\n"
	"\n"
	"See 'onestop assert VERB --help'.\n";
