/* The onestop command: finds the subcommand named on the command line
 * (keygen, pubkey, registry VERB, send, recv, status, help) and runs it;
 * prints the overview for `onestop --help`. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "onestop.h"

static const struct cli_cmd *const main_cmds[] = {
	&cli_keygen_cmd, &cli_pubkey_cmd, &cli_send_cmd, &cli_recv_cmd, &cli_status_cmd, NULL,
};

static const char main_help_head[] =
	"Usage: onestop COMMAND [OPTIONS]\n"
	"\n"
	"The OneStop command line: node keys, the signed registry, and messages\n"
	"through the local spoke.\n"
	"\n"
	"Commands:\n";

static const char main_help_tail[] =
	"  help COMMAND          show the help of a command\n"
	"\n"
	"Every command takes --help; onestop --version prints the version.\n"
	"Commands that talk to a spoke take --api EP (default: $ONESTOP_API,\n"
	"else " ONESTOP_DEFAULT_API ").\n"
	"Exit codes: 0 ok, 1 error (the reason is on stderr), 2 usage error,\n"
	"3 recv --wait received nothing.\n";

static void main_help(void)
{
	fputs(main_help_head, stdout);
	for (size_t i = 0; main_cmds[i] != NULL; i++) {
		/* The registry verbs read best between the key and the
		 * message commands. */
		if (main_cmds[i] == &cli_send_cmd) {
			for (size_t k = 0; cli_registry_cmds[k] != NULL; k++)
				printf("  %-21s %s\n", cli_registry_cmds[k]->name,
				       cli_registry_cmds[k]->summary);
		}
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

/* "registry VERB" is stored under its full name. */
static const struct cli_cmd *main_find_verb(const char *verb)
{
	char full[64];
	if (snprintf(full, sizeof(full), "registry %s", verb) >= (int)sizeof(full))
		return NULL;
	return main_find(cli_registry_cmds, full);
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
	if (strcmp(argv[0], "registry") == 0) {
		if (argc == 1) {
			fputs(cli_registry_help, stdout);
			return CLI_OK;
		}
		const struct cli_cmd *v = main_find_verb(argv[1]);
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

static int main_registry(int argc, char **argv)
{
	if (argc == 0) {
		fprintf(stderr, "onestop registry: missing verb (see 'onestop registry --help')\n");
		return CLI_USAGE;
	}
	if (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0) {
		fputs(cli_registry_help, stdout);
		return CLI_OK;
	}
	const struct cli_cmd *v = main_find_verb(argv[0]);
	if (v == NULL) {
		fprintf(stderr, "onestop registry: unknown verb '%s' (see 'onestop registry --help')\n",
			argv[0]);
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
	if (strcmp(name, "registry") == 0)
		return main_registry(argc - 2, argv + 2);
	const struct cli_cmd *c = main_find(main_cmds, name);
	if (c == NULL)
		return main_unknown(name);
	return cli_dispatch(c, argc - 2, argv + 2);
}
