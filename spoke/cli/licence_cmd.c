/* onestop licence show|verify|revoke: the e-licences of dataset "licences"
 * that case approvals issue (onestop.h "cases"): read one, have the local
 * spoke verify one, and revoke one at its issuer's spoke. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "onestop.h"
#include "util.h"

static void licence_print(const onestop_licence_t *l)
{
	char from[OS_ISO_TIME_MAX], until[OS_ISO_TIME_MAX];

	os_iso_time(from, l->valid_from_ms);
	if (l->valid_until_ms == 0)
		strcpy(until, "none");
	else
		os_iso_time(until, l->valid_until_ms);
	printf("number=%s item=%s holder=%s issuer=%s publisher=%s status=%s valid_from=%s "
	       "valid_until=%s\n",
	       l->number, l->item, l->holder, l->issuer, l->publisher[0] ? l->publisher : "-",
	       l->revoked ? "revoked" : "active", from, until);
}

static void licence_json(const onestop_licence_t *l)
{
	printf("{\"number\":");
	cli_json_str(stdout, l->number);
	printf(",\"item\":");
	cli_json_str(stdout, l->item);
	printf(",\"holder\":");
	cli_json_str(stdout, l->holder);
	printf(",\"issuer\":");
	cli_json_str(stdout, l->issuer);
	printf(",\"publisher\":");
	cli_json_str(stdout, l->publisher);
	printf(",\"status\":\"%s\",\"valid_from_ms\":%llu,\"valid_until_ms\":%llu}",
	       l->revoked ? "revoked" : "active", (unsigned long long)l->valid_from_ms,
	       (unsigned long long)l->valid_until_ms);
}

/* The licence's entry through the local spoke (a cache miss is filled
 * through the hub), decoded into *l with its publisher. CLI_OK or CLI_ERR
 * after saying why. */
static int licence_read(const struct cli_cmd *cmd, onestop_t *c, const char *number,
			onestop_licence_t *l)
{
	onestop_entry_t *e = NULL;
	int code;

	if ((code = onestop_get(c, ONESTOP_DS_LICENCES, number, 0, &e)) != 0)
		return cli_fail_code(cmd, c, code);
	if ((code = onestop_licence_decode(e->value, e->len, l)) != 0) {
		onestop_entry_free(&e);
		return cli_fail(cmd, "%s: the entry %s is no licence value (%s)", os_errname(code),
				number, onestop_strerror(code));
	}
	snprintf(l->publisher, sizeof(l->publisher), "%s", e->publisher);
	onestop_entry_free(&e);
	return CLI_OK;
}

static int licence_show(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_licence_t l;
	int rc;

	if (a->n_words != 1)
		return cli_usage(cmd, "takes a licence NUMBER");
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((rc = licence_read(cmd, c, a->words[0], &l)) != CLI_OK)
		goto out;
	if (cli_has(a, "json")) {
		licence_json(&l);
		putchar('\n');
	} else {
		licence_print(&l);
	}
	rc = cli_flush(cmd);
out:
	onestop_close(&c);
	return rc;
}

static int licence_verify(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_licence_t l;
	int rc, code;

	if (a->n_words != 1)
		return cli_usage(cmd, "takes a licence NUMBER");
	const char *holder = cli_get(a, "holder");
	if (cli_has(a, "holder") && (holder == NULL || holder[0] == '\0'))
		return cli_usage(cmd, "--holder needs a subject id");
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	code = onestop_licence_verify(c, a->words[0], holder, &l);
	if (code == ONESTOP_EISSUER || code == ONESTOP_EREVOKED || code == ONESTOP_EEXPIRED ||
	    code == ONESTOP_ESUBJECT || code == ONESTOP_ENOTFOUND || code == ONESTOP_EDECODE) {
		/* The verdict goes where "valid" would have gone. */
		const char *why = onestop_last_error(c);
		printf("invalid code=%s reason=", os_errname(code));
		cli_print_quoted(stdout, why[0] ? why : onestop_strerror(code));
		putchar('\n');
		cli_flush(cmd);
		rc = CLI_ERR;
		goto out;
	}
	if (code != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	printf("valid ");
	licence_print(&l);
	rc = cli_flush(cmd);
out:
	onestop_close(&c);
	return rc;
}

static int licence_revoke(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_licence_t l;
	uint8_t *value = NULL;
	size_t len = 0;
	uint8_t id[ONESTOP_ID_LEN];
	char hex[2 * ONESTOP_ID_LEN + 1];
	int rc, code;

	if (a->n_words != 1)
		return cli_usage(cmd, "takes a licence NUMBER");
	const char *number = a->words[0];
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((rc = licence_read(cmd, c, number, &l)) != CLI_OK)
		goto out;
	if (l.revoked) {
		printf("licence %s is revoked already\n", number);
		rc = cli_flush(cmd);
		goto out;
	}
	l.revoked = 1;
	if ((code = onestop_licence_encode(&l, &value, &len)) != 0) {
		rc = cli_fail(cmd, "%s: cannot encode the licence: %s", os_errname(code),
			      onestop_strerror(code));
		goto out;
	}
	onestop_put_t p = {.dataset = ONESTOP_DS_LICENCES,
			   .key = number,
			   .value = value,
			   .len = len};
	if ((code = onestop_put(c, &p, 1, &id)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	os_hex(hex, id, ONESTOP_ID_LEN);
	printf("licence %s revoked (change %s)\n", number, hex);
	rc = cli_flush(cmd);
out:
	free(value);
	onestop_close(&c);
	return rc;
}

static const struct cli_opt licence_show_opts[] = {{"json", CLI_NOARG, 0},
						   {"api", CLI_ARG, 0},
						   {NULL, CLI_NOARG, 0}};
static const struct cli_opt licence_verify_opts[] = {{"holder", CLI_ARG, 0},
						     {"api", CLI_ARG, 0},
						     {NULL, CLI_NOARG, 0}};
static const struct cli_opt licence_revoke_opts[] = {{"api", CLI_ARG, 0}, {NULL, CLI_NOARG, 0}};

static const struct cli_cmd licence_show_cmd = {
	"licence show",
	"show an e-licence",
	"Usage: onestop licence show NUMBER [--json] [--api EP]\n"
	"\n"
	"Print the e-licence NUMBER of dataset licences as the local spoke holds it\n"
	"(fetched through the hub when it is not cached), on one line:\n"
	"  number=N item=CODE holder=S issuer=NODE publisher=NODE status=active|revoked\n"
	"  valid_from=ISO valid_until=ISO|none\n"
	"It is not verified: see 'onestop licence verify'.\n"
	"\n"
	"Options:\n"
	"  --json            print one JSON object\n" CLI_API_HELP,
	licence_show_opts,
	licence_show,
	1,
};

static const struct cli_cmd licence_verify_cmd = {
	"licence verify",
	"verify an e-licence",
	"Usage: onestop licence verify NUMBER [--holder SUBJECT] [--api EP]\n"
	"\n"
	"Have the local spoke verify e-licence NUMBER: signed by its issuer, which\n"
	"owns its item, active, within its validity, and held by SUBJECT when given.\n"
	"Prints 'valid' and the licence as 'licence show' does, or, exiting 1,\n"
	"  invalid code=NAME reason=\"...\"\n"
	"where NAME is ENOTFOUND, EISSUER (forged), EREVOKED, EEXPIRED (or not yet\n"
	"valid), ESUBJECT (another holder) or EDECODE.\n"
	"\n"
	"Options:\n"
	"  --holder SUBJECT  the subject id that must hold it\n" CLI_API_HELP,
	licence_verify_opts,
	licence_verify,
	1,
};

static const struct cli_cmd licence_revoke_cmd = {
	"licence revoke",
	"revoke an e-licence (at its issuer's spoke)",
	"Usage: onestop licence revoke NUMBER [--api EP]\n"
	"\n"
	"Publish e-licence NUMBER again with status revoked. Only the spoke of the\n"
	"node that issued it may publish it. Prints\n"
	"  licence NUMBER revoked (change ID)\n"
	"\n"
	"Options:\n" CLI_API_HELP,
	licence_revoke_opts,
	licence_revoke,
	1,
};

const struct cli_cmd *const cli_licence_cmds[] = {&licence_show_cmd, &licence_verify_cmd,
						  &licence_revoke_cmd, NULL};

const char cli_licence_help[] =
	"Usage: onestop licence VERB NUMBER [OPTIONS]\n"
	"\n"
	"E-licences: the entries of dataset licences that approvals of licence,\n"
	"permit and certificate items issue, published by the issuing node.\n"
	"\n"
	"Verbs:\n"
	"  show       show a licence\n"
	"  verify     verify a licence\n"
	"  revoke     revoke a licence (at its issuer's spoke)\n"
	"\n"
	"See 'onestop licence VERB --help'.\n";
