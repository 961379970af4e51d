/* The onestop command: what its subcommands share. Each subcommand is a
 * struct cli_cmd (name, help, option table, run function); args.c parses
 * its options and main.c dispatches to it. */
#ifndef ONESTOP_CLI_H
#define ONESTOP_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes of every subcommand. */
#define CLI_OK 0
#define CLI_ERR 1   /* the operation failed; the reason is on stderr */
#define CLI_USAGE 2 /* bad command line */
#define CLI_NOMSG 3 /* recv --wait: nothing arrived in time */

enum cli_arg { CLI_NOARG, CLI_ARG, CLI_OPTARG };

struct cli_opt {
	const char *name; /* without "--" */
	enum cli_arg arg; /* CLI_OPTARG takes a following value only if it is a number */
	int multi;        /* may be given more than once */
};

/* The options given, in order, and the words that are not options (a
 * dataset, a key). Values and words point into argv. */
struct cli_args {
	size_t n;
	struct cli_item {
		const struct cli_opt *opt;
		char *val; /* NULL for a flag or an absent optional value */
	} * items;
	size_t n_words;
	char **words;
};

struct cli_cmd {
	const char *name;           /* as typed after "onestop": "keygen", "registry add" */
	const char *summary;        /* one line for `onestop --help` */
	const char *help;           /* the full --help text */
	const struct cli_opt *opts; /* ends with {NULL} */
	int (*run)(const struct cli_cmd *cmd, const struct cli_args *a);
	unsigned max_words; /* words it takes besides options (0: none) */
};

/* Parse argv (the words after the command's name) against cmd->opts and
 * run the command. --help / -h prints cmd->help to stdout (CLI_OK); an
 * unknown option, a missing value, a repeated single option or more than
 * cmd->max_words words prints a one-line hint (CLI_USAGE). A word after
 * "--" is never an option. Otherwise cmd->run's exit code. */
int cli_dispatch(const struct cli_cmd *cmd, int argc, char **argv);

/* 1 if the option was given, else 0. */
int cli_has(const struct cli_args *a, const char *name);
/* The value of a single option, or NULL if absent (or given without one). */
char *cli_get(const struct cli_args *a, const char *name);
/* The values of a repeatable option into out (room for at most a->n);
 * returns how many. */
size_t cli_all(const struct cli_args *a, const char *name, char **out);

/* Print "onestop CMD: <message> (see 'onestop CMD --help')" to stderr;
 * returns CLI_USAGE. */
int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print "onestop CMD: <message>" to stderr; returns CLI_ERR. */
int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The value of a required option, or NULL after printing a usage hint. */
char *cli_need(const struct cli_cmd *cmd, const struct cli_args *a, const char *name);
/* Parse a decimal integer in [min, max]; 0 or -1 (with a usage hint
 * printed naming the option). */
int cli_uint(const struct cli_cmd *cmd, const char *name, const char *s, uint64_t min, uint64_t max,
	     uint64_t *out);

/* Print s in double quotes with \", \\ and control bytes escaped, so a
 * reason is always one token of one line. */
void cli_print_quoted(FILE *out, const char *s);

/* Commands that talk to the local spoke (msg_cmd.c). */
struct onestop;
/* Connect to --api EP, else $ONESTOP_API, else the default; CLI_OK or
 * CLI_ERR after saying why. *c is closed with onestop_close. */
int cli_connect(const struct cli_cmd *cmd, const struct cli_args *a, struct onestop **c);
/* Print "onestop CMD: <strerror>: <spoke's message>"; returns CLI_ERR. */
int cli_fail_api(const struct cli_cmd *cmd, const struct onestop *c, int code);
/* fflush(stdout) and CLI_OK, or CLI_ERR when the output could not be
 * written. */
int cli_flush(const struct cli_cmd *cmd);

#define CLI_API_HELP                                                                  \
	"  --api EP          the spoke's API endpoint (default: $ONESTOP_API, else\n" \
	"                    " ONESTOP_DEFAULT_API ")\n"

/* The subcommands, by concern. */
extern const struct cli_cmd cli_keygen_cmd, cli_pubkey_cmd;
extern const struct cli_cmd *const cli_registry_cmds[]; /* NULL-terminated */
extern const char cli_registry_help[];
extern const struct cli_cmd cli_send_cmd, cli_recv_cmd, cli_status_cmd;
extern const struct cli_cmd cli_get_cmd, cli_put_cmd, cli_items_cmd, cli_datasets_cmd;
extern const struct cli_cmd *const cli_assert_cmds[]; /* NULL-terminated */
extern const char cli_assert_help[];
extern const struct cli_cmd cli_apply_cmd, cli_cases_cmd, cli_stats_cmd;
extern const struct cli_cmd cli_rate_cmd, cli_market_cmd;
extern const struct cli_cmd *const cli_case_cmds[]; /* NULL-terminated */
extern const char cli_case_help[];
extern const struct cli_cmd *const cli_licence_cmds[]; /* NULL-terminated */
extern const char cli_licence_help[];
extern const struct cli_cmd cli_complain_cmd, cli_ask_cmd, cli_complaints_cmd;
extern const struct cli_cmd *const cli_complaint_cmds[]; /* NULL-terminated */
extern const char cli_complaint_help[];

/* Shared by the case and licence commands (case_cmd.c). */
/* Print "onestop CMD: ENAME: <strerror>: <spoke's message>"; returns
 * CLI_ERR. */
int cli_fail_code(const struct cli_cmd *cmd, const struct onestop *c, int code);
/* Print s (NULL: "") as a JSON string: escaped, a byte that is not UTF-8
 * as U+FFFD. */
void cli_json_str(FILE *out, const char *s);
/* Parse a case id of 32 hex digits into id; CLI_OK, or CLI_USAGE after a
 * usage hint. */
int cli_case_id(const struct cli_cmd *cmd, const char *hex, uint8_t id[16]);
/* Read the assertion in file path ("-": standard input), its hex as
 * `onestop assert issue` prints it or the packed bytes, into *out
 * (malloc'd, *len bytes); CLI_OK, CLI_ERR (unreadable) or CLI_USAGE (no
 * assertion), after saying why. */
int cli_read_assertion(const struct cli_cmd *cmd, const char *path, uint8_t **out, size_t *len);

#endif
