/* onestop rate: the applicant rates a decided case once (docs/PROTOCOL.md
 * 12.1) at the local spoke, which holds the case (the node it was filed
 * at, or its owner). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "onestop.h"

#define RATE_COMMENT_MAX 2000u

static const struct cli_opt rate_opts[] = {
	{"score", CLI_ARG, 0},   {"comment", CLI_ARG, 0}, {"assertion", CLI_ARG, 0},
	{"channel", CLI_ARG, 0}, {"api", CLI_ARG, 0},     {"json", CLI_NOARG, 0},
	{"owner", CLI_ARG, 0},   {NULL, CLI_NOARG, 0},
};

static int rate_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	uint8_t id[ONESTOP_ID_LEN];
	uint8_t *assertion = NULL;
	size_t assertion_len = 0;
	uint64_t score;
	int channel = ONESTOP_CHANNEL_WEB, pending = 0;
	int rc, code;

	if (a->n_words != 1)
		return cli_usage(cmd, "give the case's id");
	if (cli_case_id(cmd, a->words[0], id) != CLI_OK)
		return CLI_USAGE;
	const char *s = cli_need(cmd, a, "score");
	if (s == NULL || cli_uint(cmd, "score", s, 1, 5, &score) != 0)
		return CLI_USAGE;
	const char *comment = cli_get(a, "comment");
	if (cli_has(a, "comment") && (comment == NULL || strlen(comment) > RATE_COMMENT_MAX))
		return cli_usage(cmd, "--comment needs a text of at most %u bytes",
				 RATE_COMMENT_MAX);
	const char *ch = cli_get(a, "channel");
	if (cli_has(a, "channel") && (ch == NULL || onestop_channel_parse(ch, &channel) != 0 ||
				      channel == ONESTOP_CHANNEL_NONE))
		return cli_usage(cmd, "--channel is web, mobile, hall or hotline");
	const char *apath = cli_get(a, "assertion");
	if (cli_has(a, "assertion") && (apath == NULL || apath[0] == '\0'))
		return cli_usage(cmd, "--assertion needs a file");
	if ((rc = cli_read_assertion(cmd, apath ? apath : "-", &assertion, &assertion_len)) !=
	    CLI_OK)
		return rc;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	onestop_rating_t r = {
		.score = (unsigned)score,
		.comment = comment,
		.assertion = assertion,
		.assertion_len = assertion_len,
		.channel = channel,
		.owner = cli_get(a, "owner"),
	};
	if ((code = onestop_case_rate(c, id, &r, &pending)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	if (cli_has(a, "json"))
		printf("{\"case\":\"%s\",\"score\":%u,\"pending\":%s}\n", a->words[0],
		       (unsigned)score, pending ? "true" : "false");
	else if (pending)
		printf("case %s rated %u: sent to its owner\n", a->words[0], (unsigned)score);
	else
		printf("case %s rated %u\n", a->words[0], (unsigned)score);
	rc = cli_flush(cmd);
out:
	free(assertion);
	onestop_close(&c);
	return rc;
}

const struct cli_cmd cli_rate_cmd = {
	"rate",
	"rate a decided case (once, by its applicant)",
	"Usage: onestop rate CASE --score N [--comment TEXT] [--assertion FILE]\n"
	"                    [--channel C] [--owner NODE] [--json] [--api EP]\n"
	"\n"
	"Rate case CASE (32 hex digits) 1..5, for the applicant of the assertion\n"
	"(which the rating spends: it is single use), at any node: the node it\n"
	"was filed at or its owner check it against the case; another node (web,\n"
	"mobile, hotline) sends it to the owner named by --owner. A case is\n"
	"rated once, after its decision, by its applicant only. The comment is\n"
	"sealed to the owner; the supervision stream gets the score, never the\n"
	"comment. At the owner the rating is recorded at once:\n"
	"  case ID rated N\n"
	"elsewhere it is sent to the owner, whose answer (recorded or\n"
	"refused) reaches the apps as an Incoming of type onestop.Evaluation:\n"
	"  case ID rated N: sent to its owner\n"
	"\n"
	"Options:\n"
	"  --score N         1..5 (required)\n"
	"  --comment TEXT    at most 2000 bytes; only the owner can read it\n"
	"  --assertion FILE  the applicant's assertion: its hex as 'onestop assert\n"
	"                    issue' prints it, or the packed bytes; '-' (the\n"
	"                    default) reads standard input\n"
	"  --channel C       web, mobile, hall or hotline (default web)\n"
	"  --owner NODE      the case's owning node, at a node that holds no copy\n"
	"                    of the case (required there, ignored elsewhere)\n"
	"  --json            print {\"case\":ID,\"score\":N,\"pending\":BOOL}\n" CLI_API_HELP,
	rate_opts,
	rate_run,
	1,
};
