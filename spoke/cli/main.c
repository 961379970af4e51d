/* The onestop command: finds the subcommand named on the command line
 * (keygen, pubkey, registry VERB, send, recv, status, get, put, items,
 * datasets, assert VERB, apply, cases, case VERB, licence VERB, complain,
 * ask, complaints, complaint VERB, stats, market, rate, help) and runs it;
 * prints the overview for `onestop --help`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "onestop.h"

static const struct cli_cmd *const main_cmds[] = {
	&cli_keygen_cmd, &cli_pubkey_cmd,   &cli_send_cmd,  &cli_recv_cmd,       &cli_status_cmd,
	&cli_get_cmd,    &cli_put_cmd,      &cli_items_cmd, &cli_datasets_cmd,   &cli_apply_cmd,
	&cli_cases_cmd,  &cli_complain_cmd, &cli_ask_cmd,   &cli_complaints_cmd, &cli_stats_cmd,
	&cli_market_cmd, &cli_rate_cmd,     NULL,
};

/* Commands with verbs: "registry add", "assert verify", "case accept". */
struct main_group {
	const char *name;
	const struct cli_cmd *const *verbs;
	const char *help;
};

static const struct main_group main_groups[] = {
	{"registry", cli_registry_cmds, cli_registry_help},
	{"assert", cli_assert_cmds, cli_assert_help},
	{"case", cli_case_cmds, cli_case_help},
	{"licence", cli_licence_cmds, cli_licence_help},
	{"complaint", cli_complaint_cmds, cli_complaint_help},
	{NULL, NULL, NULL},
};

static const char main_help_head[] =
	"Usage: onestop COMMAND [OPTIONS]\n"
	"\n"
	"The OneStop command line: node keys, the signed registry, messages,\n"
	"shared datasets, real-name sign-on, one-stop cases, complaints and\n"
	"consultations through the local spoke.\n"
	"\n"
	"Commands:\n";

static const char main_help_tail[] =
	"  help COMMAND          show the help of a command\n"
	"\n"
	"Every command takes --help; onestop --version prints the version.\n"
	"Commands that talk to a spoke take --api EP (default: $ONESTOP_API,\n"
	"else " ONESTOP_DEFAULT_API ").\n"
	"Exit codes: 0 ok, 1 error (the reason is on stderr; assert verify: refused;\n"
	"licence verify: invalid), 2 usage error, 3 recv --wait received nothing.\n";

static void main_help_verbs(const struct cli_cmd *const *verbs)
{
	for (size_t k = 0; verbs[k] != NULL; k++)
		printf("  %-21s %s\n", verbs[k]->name, verbs[k]->summary);
}

static void main_help(void)
{
	fputs(main_help_head, stdout);
	for (size_t i = 0; main_cmds[i] != NULL; i++) {
		/* The registry verbs read best between the key and the
		 * message commands, the assertions after the datasets, the
		 * case and licence verbs after apply and cases, the
		 * complaint verbs after complaints (before stats). */
		if (main_cmds[i] == &cli_send_cmd)
			main_help_verbs(cli_registry_cmds);
		if (main_cmds[i] == &cli_apply_cmd)
			main_help_verbs(cli_assert_cmds);
		if (main_cmds[i] == &cli_complain_cmd) {
			main_help_verbs(cli_case_cmds);
			main_help_verbs(cli_licence_cmds);
		}
		if (main_cmds[i] == &cli_stats_cmd)
			main_help_verbs(cli_complaint_cmds);
		printf("  %-21s %s\n", main_cmds[i]->name, main_cmds[i]->summary);
	}
	fputs(main_help_tail, stdout);
}

static const struct cli_cmd *main_find(const struct cli_cmd *const *cmds, const char *name)
{
	for (size_t i = 0; cmds[i] != NULL; i++)
		if (strcmp(cmds[i]->name, name) == 0)
			return cmds[i];
	return NULL;
}

static const struct main_group *main_find_group(const char *name)
{
	for (const struct main_group *g = main_groups; g->name != NULL; g++)
		if (strcmp(g->name, name) == 0)
			return g;
	return NULL;
}

/* "GROUP VERB" is stored under its full name. */
static const struct cli_cmd *main_find_verb(const struct main_group *g, const char *verb)
{
	char full[64];
	if (snprintf(full, sizeof(full), "%s %s", g->name, verb) >= (int)sizeof(full))
		return NULL;
	return main_find(g->verbs, full);
}

static int main_unknown(const char *what)
{
	fprintf(stderr, "onestop: unknown command '%s' (see 'onestop --help')\n", what);
	return CLI_USAGE;
}

/* onestop help [COMMAND [VERB]] */
static int main_help_cmd(int argc, char **argv)
{
	if (argc == 0) {
		main_help();
		return CLI_OK;
	}
	const struct main_group *g = main_find_group(argv[0]);
	if (g != NULL) {
		if (argc == 1) {
			fputs(g->help, stdout);
			return CLI_OK;
		}
		const struct cli_cmd *v = main_find_verb(g, argv[1]);
		if (v == NULL || argc > 2)
			return main_unknown(argv[1]);
		fputs(v->help, stdout);
		return CLI_OK;
	}
	const struct cli_cmd *c = main_find(main_cmds, argv[0]);
	if (c == NULL || argc > 1)
		return main_unknown(argv[argc > 1 ? 1 : 0]);
	fputs(c->help, stdout);
	return CLI_OK;
}

static int main_group(const struct main_group *g, int argc, char **argv)
{
	if (argc == 0) {
		fprintf(stderr, "onestop %s: missing verb (see 'onestop %s --help')\n", g->name,
			g->name);
		return CLI_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		fputs(g->help, stdout);
		return CLI_OK;
	}
	const struct cli_cmd *v = main_find_verb(g, argv[0]);
	if (v == NULL) {
		fprintf(stderr, "onestop %s: unknown verb '%s' (see 'onestop %s --help')\n",
			g->name, argv[0], g->name);
		return CLI_USAGE;
	}
	return cli_dispatch(v, argc - 1, argv + 1);
}

int main(int argc, char **argv)
{
	/* A closed stdout must be an error we report (and, for recv, a
	 * reason not to ack), not a silent death. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		fprintf(stderr, "onestop: missing command (see 'onestop --help')\n");
		return CLI_USAGE;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		main_help();
		return CLI_OK;
	}
	if (strcmp(name, "--version") == 0) {
		printf("onestop %s\n", ONESTOP_VERSION);
		return CLI_OK;
	}
	if (strcmp(name, "help") == 0)
		return main_help_cmd(argc - 2, argv + 2);
	const struct main_group *g = main_find_group(name);
	if (g != NULL)
		return main_group(g, argc - 2, argv + 2);
	const struct cli_cmd *c = main_find(main_cmds, name);
	if (c == NULL)
		return main_unknown(name);
	return cli_dispatch(c, argc - 2, argv + 2);
}
