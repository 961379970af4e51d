/* Option parsing and messages shared by the onestop subcommands: long
 * options only ("--name value" or "--name=value"), words only where a
 * command takes them, every mistake a usage error with a one-line hint. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct cli_opt *args_find(const struct cli_opt *opts, const char *name, size_t len)
{
	for (const struct cli_opt *o = opts; o->name != NULL; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

static int args_is_number(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static void args_vprint(const struct cli_cmd *cmd, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

static void args_vprint(const struct cli_cmd *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "onestop %s: ", cmd->name);
	vfprintf(stderr, fmt, ap);
}

int cli_usage(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	args_vprint(cmd, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'onestop %s --help')\n", cmd->name);
	return CLI_USAGE;
}

int cli_fail(const struct cli_cmd *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	args_vprint(cmd, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return CLI_ERR;
}

/* Fill a from argv; CLI_OK, or CLI_USAGE after printing why. Sets *help
 * when --help or -h was given (then nothing else is checked). */
static int args_parse(const struct cli_cmd *cmd, int argc, char **argv, struct cli_args *a,
		      int *help)
{
	*help = 0;
	int ended = 0;
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			*help = 1;
			return CLI_OK;
		}
	for (int i = 0; i < argc; i++) {
		char *word = argv[i];
		if (!ended && strcmp(word, "--") == 0 && cmd->max_words > 0) {
			ended = 1;
			continue;
		}
		if (ended || strncmp(word, "--", 2) != 0 || word[2] == '\0') {
			if (a->n_words >= cmd->max_words)
				return cli_usage(cmd, "unexpected argument '%s'", word);
			a->words[a->n_words++] = word;
			continue;
		}
		char *name = word + 2;
		char *eq = strchr(name, '=');
		size_t len = eq ? (size_t)(eq - name) : strlen(name);
		const struct cli_opt *o = args_find(cmd->opts, name, len);
		if (o == NULL)
			return cli_usage(cmd, "unknown option '--%.*s'", (int)len, name);
		char *val = NULL;
		if (o->arg == CLI_NOARG) {
			if (eq != NULL)
				return cli_usage(cmd, "--%s takes no value", o->name);
		} else if (eq != NULL) {
			val = eq + 1;
		} else if (o->arg == CLI_ARG) {
			/* A following option is a forgotten value, not a value. */
			if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
				return cli_usage(cmd, "--%s needs a value", o->name);
			val = argv[++i];
		} else if (i + 1 < argc && args_is_number(argv[i + 1])) {
			val = argv[++i];
		}
		if (!o->multi)
			for (size_t k = 0; k < a->n; k++)
				if (a->items[k].opt == o)
					return cli_usage(cmd, "--%s given twice", o->name);
		a->items[a->n].opt = o;
		a->items[a->n].val = val;
		a->n++;
	}
	return CLI_OK;
}

int cli_dispatch(const struct cli_cmd *cmd, int argc, char **argv)
{
	struct cli_args a = {0, NULL, 0, NULL};
	int help = 0;
	int rc;

	a.items = calloc((size_t)argc + 1, sizeof(*a.items));
	a.words = calloc((size_t)cmd->max_words + 1, sizeof(*a.words));
	if (a.items == NULL || a.words == NULL) {
		free(a.items);
		free(a.words);
		return cli_fail(cmd, "out of memory");
	}
	rc = args_parse(cmd, argc, argv, &a, &help);
	if (rc == CLI_OK) {
		if (help)
			fputs(cmd->help, stdout);
		else
			rc = cmd->run(cmd, &a);
	}
	free(a.items);
	free(a.words);
	return rc;
}

int cli_has(const struct cli_args *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i].opt->name, name) == 0)
			return 1;
	return 0;
}

char *cli_get(const struct cli_args *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i].opt->name, name) == 0)
			return a->items[i].val;
	return NULL;
}

size_t cli_all(const struct cli_args *a, const char *name, char **out)
{
	size_t n = 0;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->items[i].opt->name, name) == 0 && a->items[i].val != NULL)
			out[n++] = a->items[i].val;
	return n;
}

char *cli_need(const struct cli_cmd *cmd, const struct cli_args *a, const char *name)
{
	char *v = cli_get(a, name);
	if (v == NULL || v[0] == '\0') {
		cli_usage(cmd, "--%s is required", name);
		return NULL;
	}
	return v;
}

int cli_uint(const struct cli_cmd *cmd, const char *name, const char *s, uint64_t min, uint64_t max,
	     uint64_t *out)
{
	char *end = NULL;
	if (s == NULL || !args_is_number(s)) {
		cli_usage(cmd, "--%s needs a number", name);
		return -1;
	}
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		cli_usage(cmd, "--%s must be %llu..%llu", name, (unsigned long long)min,
			  (unsigned long long)max);
		return -1;
	}
	*out = v;
	return 0;
}

void cli_print_quoted(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(out, "\\x%02x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}
