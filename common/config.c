/* Daemon configuration from one option table: defaults, then the INI file
 * (read with inih, keys at top level or in any section), then flags
 * (--name value, --name=value). The same table prints --help and drives
 * --check-config and SIGHUP reloads. */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "err.h"
#include "log.h"
#include "util.h"

#ifndef ONESTOP_VERSION
#define ONESTOP_VERSION "unknown"
#endif

#define CFG_FILE_MAX (1u << 20)
#define CFG_NAME_MAX 64

/* A value being collected before it is applied to the daemon's struct. */
struct cfg_val {
	int set; /* given by the file or a flag */
	int has; /* holds a value (default, file or flag) */
	char *s;
	long long i;
	int b;
};

/* Where errors go: the program name for start-up errors printed as plain
 * lines, or NULL for reload errors logged as events. */
struct cfg_ctx {
	const struct cfg_opt *table;
	size_t n;
	struct cfg_val *vals;
	const char *prog;
	int errors;
	int reload; /* only reloadable options are taken */
	/* the file being parsed */
	const char *path;
	const char *p, *end;
	int line;
};

static void cfg_error(struct cfg_ctx *c, const char *where, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void cfg_error(struct cfg_ctx *c, const char *where, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->errors++;
	if (c->prog == NULL) {
		if (line > 0)
			os_log(OS_LOG_ERROR, "config_error", "file=%s line=%d error=%s", where,
			       line, OS_Q(msg));
		else
			os_log(OS_LOG_ERROR, "config_error", "file=%s error=%s", where, OS_Q(msg));
		return;
	}
	if (line > 0)
		fprintf(stderr, "%s: %s:%d: %s\n", c->prog, where, line, msg);
	else if (where != NULL)
		fprintf(stderr, "%s: %s: %s\n", c->prog, where, msg);
	else
		fprintf(stderr, "%s: %s\n", c->prog, msg);
}

static size_t cfg_count(const struct cfg_opt *table)
{
	size_t n = 0;
	while (table[n].name != NULL)
		n++;
	return n;
}

/* Find an option by name, with '-' and '_' the same. -1 if unknown. */
static long cfg_find(const struct cfg_ctx *c, const char *name, size_t len)
{
	char norm[CFG_NAME_MAX];
	if (len == 0 || len >= sizeof(norm))
		return -1;
	for (size_t i = 0; i < len; i++)
		norm[i] = name[i] == '-' ? '_' : name[i];
	norm[len] = '\0';
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->table[i].name, norm) == 0)
			return (long)i;
	return -1;
}

static int cfg_parse_bool(const char *s, int *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return OS_EINVAL;
}

/* Parse text for option i into v; on error write a reason into why. */
static int cfg_parse_value(const struct cfg_opt *o, const char *text, struct cfg_val *v, char *why,
			   size_t why_size)
{
	switch (o->type) {
	case CFG_STR: {
		if (o->required && text[0] == '\0') {
			snprintf(why, why_size, "must not be empty");
			return OS_EINVAL;
		}
		char *s = strdup(text);
		if (s == NULL) {
			snprintf(why, why_size, "out of memory");
			return OS_ENOMEM;
		}
		free(v->s);
		v->s = s;
		break;
	}
	case CFG_INT: {
		char *end = NULL;
		errno = 0;
		long long x = strtoll(text, &end, 10);
		if (text[0] == '\0' || end == NULL || *end != '\0' || errno == ERANGE) {
			snprintf(why, why_size, "'%s' is not an integer", text);
			return OS_EINVAL;
		}
		if (x < o->min || x > o->max) {
			snprintf(why, why_size, "%lld is out of range %lld..%lld", x, o->min,
				 o->max);
			return OS_EINVAL;
		}
		v->i = x;
		break;
	}
	case CFG_BOOL: {
		int b;
		if (cfg_parse_bool(text, &b) != 0) {
			snprintf(why, why_size, "'%s' is not yes or no", text);
			return OS_EINVAL;
		}
		v->b = b;
		break;
	}
	default:
		snprintf(why, why_size, "unknown option type");
		return OS_EINVAL;
	}
	v->has = 1;
	return 0;
}

/* ---------------------------------------------------------------- file */

/* inih reads through this, one line per call, so we know the line
 * number of each handler call (the library's handler has none). */
static char *cfg_reader(char *str, int num, void *stream)
{
	struct cfg_ctx *c = stream;
	if (c->p >= c->end || num < 2)
		return NULL;
	const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
	size_t len = nl ? (size_t)(nl - c->p) + 1 : (size_t)(c->end - c->p);
	c->line++;
	if (len > (size_t)num - 1) {
		cfg_error(c, c->path, c->line, "line longer than %d characters", num - 3);
		/* Hand inih a blank line instead. */
		str[0] = '\n';
		str[1] = '\0';
	} else {
		memcpy(str, c->p, len);
		str[len] = '\0';
	}
	c->p += len;
	return str;
}

static int cfg_handler(void *user, const char *section, const char *name, const char *value)
{
	struct cfg_ctx *c = user;
	(void)section; /* keys count the same in any section */
	long i = cfg_find(c, name, strlen(name));
	if (i < 0) {
		cfg_error(c, c->path, c->line, "unknown option '%s'", name);
		return 1;
	}
	const struct cfg_opt *o = &c->table[i];
	if (c->reload && !o->reloadable)
		return 1;
	char why[256];
	if (cfg_parse_value(o, value ? value : "", &c->vals[i], why, sizeof(why)) != 0) {
		cfg_error(c, c->path, c->line, "option '%s': %s", o->name, why);
		return 1;
	}
	c->vals[i].set = 1;
	return 1;
}

static void cfg_read_file(struct cfg_ctx *c, const char *path)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = os_read_file(path, CFG_FILE_MAX, &buf, &len);
	if (rc != 0) {
		cfg_error(c, path, 0, "cannot read the configuration file (%s)", os_strerror(rc));
		return;
	}
	if (memchr(buf, '\0', len) != NULL) {
		cfg_error(c, path, 0, "not a text file (NUL byte)");
		free(buf);
		return;
	}
	c->path = path;
	c->p = (const char *)buf;
	c->end = (const char *)buf + len;
	c->line = 0;
	int errors_before = c->errors;
	rc = ini_parse_stream(cfg_reader, c, cfg_handler, c);
	/* Our handler never fails, so a positive result is a line inih could
	 * not parse (only the first such line is known). */
	if (rc > 0)
		cfg_error(c, path, rc, "syntax error (expected 'key = value' or '[section]')");
	else if (rc < 0 && c->errors == errors_before)
		cfg_error(c, path, 0, "cannot parse the configuration file");
	c->path = NULL;
	free(buf);
}

/* ---------------------------------------------------------------- apply */

static void cfg_vals_free(struct cfg_val *vals, size_t n)
{
	if (vals == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(vals[i].s);
	free(vals);
}

/* Move collected values into conf (only those with a value; with only_set,
 * only those the file gave). */
static void cfg_apply(const struct cfg_ctx *c, void *conf, int only_set)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct cfg_opt *o = &c->table[i];
		struct cfg_val *v = &c->vals[i];
		char *field = (char *)conf + o->offset;
		if (only_set && !v->set)
			continue;
		switch (o->type) {
		case CFG_STR: {
			char **sp = (char **)(void *)field;
			if (only_set)
				free(*sp);
			*sp = v->has ? v->s : NULL;
			v->s = NULL;
			break;
		}
		case CFG_INT:
			*(long long *)(void *)field = v->has ? v->i : 0;
			break;
		case CFG_BOOL:
			*(int *)(void *)field = v->has ? v->b : 0;
			break;
		}
	}
}

/* ---------------------------------------------------------------- help */

/* "data_dir" -> "data-dir" */
static void cfg_flag_name(char *out, size_t size, const char *name)
{
	size_t k = 0;
	for (; name[k] != '\0' && k + 1 < size; k++)
		out[k] = name[k] == '_' ? '-' : name[k];
	out[k] = '\0';
}

static const char *cfg_type_name(enum cfg_type t)
{
	switch (t) {
	case CFG_STR:
		return "STRING";
	case CFG_INT:
		return "INT";
	case CFG_BOOL:
		return "BOOL";
	}
	return "?";
}

static void cfg_usage(const struct cfg_opt *table, const char *prog, const char *summary)
{
	printf("Usage: %s [options]\n", prog);
	if (summary != NULL && summary[0] != '\0')
		printf("%s\n", summary);
	printf("\nEvery option is also a key in the configuration file (INI, 'name = value',\n"
	       "at top level or in any section). Flags override the file.\n\n");
	printf("  -c, --config FILE\n\tread options from FILE\n");
	printf("  --check-config\n\tcheck the configuration, print 'config ok' or the errors, "
	       "and exit\n");
	printf("  -h, --help\n\tprint this help and exit\n");
	printf("  --version\n\tprint the version and exit\n\n");
	for (size_t i = 0; table[i].name != NULL; i++) {
		const struct cfg_opt *o = &table[i];
		char flag[CFG_NAME_MAX];
		cfg_flag_name(flag, sizeof(flag), o->name);
		if (o->type == CFG_BOOL)
			printf("  --%s[=yes|no]", flag);
		else
			printf("  --%s %s", flag, cfg_type_name(o->type));
		printf("  (%s", o->type == CFG_STR   ? "string"
				: o->type == CFG_INT ? "integer"
						     : "yes/no");
		if (o->type == CFG_INT)
			printf(" %lld..%lld", o->min, o->max);
		if (o->def != NULL)
			printf(", default %s", o->def[0] ? o->def : "\"\"");
		else if (o->required)
			printf(", required");
		else
			printf(", no default");
		if (o->reloadable)
			printf(", reloaded on SIGHUP");
		printf(")\n\t%s\n", o->help ? o->help : "");
	}
}

/* ---------------------------------------------------------------- parse */

static int cfg_ctx_init(struct cfg_ctx *c, const struct cfg_opt *table, const char *prog)
{
	memset(c, 0, sizeof(*c));
	c->table = table;
	c->n = cfg_count(table);
	c->prog = prog;
	c->vals = calloc(c->n > 0 ? c->n : 1, sizeof(struct cfg_val));
	return c->vals == NULL ? OS_ENOMEM : 0;
}

/* Is argv[i] one of the options cfg_parse handles itself? Sets *skip to the
 * number of extra argv entries it consumes. */
static int cfg_is_config_flag(char **argv, int argc, int i, const char **path, int *skip)
{
	const char *a = argv[i];
	*skip = 0;
	if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) {
		if (i + 1 < argc) {
			*path = argv[i + 1];
			*skip = 1;
		} else {
			*path = NULL;
		}
		return 1;
	}
	if (strncmp(a, "--config=", 9) == 0) {
		*path = a + 9;
		return 1;
	}
	return 0;
}

static void cfg_flags(struct cfg_ctx *c, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *dummy;
		int skip;
		if (cfg_is_config_flag(argv, argc, i, &dummy, &skip)) {
			i += skip;
			continue;
		}
		if (strcmp(a, "--check-config") == 0 || strcmp(a, "--help") == 0 ||
		    strcmp(a, "-h") == 0 || strcmp(a, "--version") == 0)
			continue;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			cfg_error(c, NULL, 0, "unexpected argument '%s' (see --help)", a);
			continue;
		}
		const char *name = a + 2;
		const char *eq = strchr(name, '=');
		size_t nl = eq ? (size_t)(eq - name) : strlen(name);
		long idx = cfg_find(c, name, nl);
		int negated = 0;
		if (idx < 0 && eq == NULL && nl > 3 && strncmp(name, "no-", 3) == 0) {
			idx = cfg_find(c, name + 3, nl - 3);
			if (idx >= 0 && c->table[idx].type != CFG_BOOL)
				idx = -1;
			negated = 1;
		}
		if (idx < 0) {
			cfg_error(c, NULL, 0, "unknown option '%.*s' (see --help)", (int)(nl + 2),
				  a);
			continue;
		}
		const struct cfg_opt *o = &c->table[idx];
		const char *value;
		if (eq != NULL) {
			value = eq + 1;
		} else if (o->type == CFG_BOOL) {
			value = negated ? "no" : "yes";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			cfg_error(c, NULL, 0, "option '%s' needs a value", a);
			continue;
		}
		char why[256];
		if (cfg_parse_value(o, value, &c->vals[idx], why, sizeof(why)) != 0) {
			cfg_error(c, NULL, 0, "option '--%.*s': %s", (int)nl, name, why);
			continue;
		}
		c->vals[idx].set = 1;
	}
}

enum cfg_action cfg_parse(const struct cfg_opt *table, void *conf, const char *prog,
			  const char *summary, int argc, char **argv, const char **config_path)
{
	struct cfg_ctx c;
	const char *path = NULL;
	int check = 0, missing_path = 0;
	enum cfg_action act = CFG_EXIT_FAIL;
	if (prog == NULL)
		prog = "onestop";
	if (config_path != NULL)
		*config_path = NULL;
	for (int i = 1; i < argc; i++) {
		int skip;
		const char *p = NULL;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			cfg_usage(table, prog, summary);
			return CFG_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", prog, ONESTOP_VERSION);
			return CFG_EXIT_OK;
		}
		if (strcmp(argv[i], "--check-config") == 0)
			check = 1;
		if (cfg_is_config_flag(argv, argc, i, &p, &skip)) {
			if (p == NULL || p[0] == '\0')
				missing_path = 1;
			else
				path = p;
			i += skip;
		}
	}
	if (cfg_ctx_init(&c, table, prog) != 0) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return CFG_EXIT_FAIL;
	}
	if (missing_path)
		cfg_error(&c, NULL, 0, "option '--config' needs a file name");

	for (size_t i = 0; i < c.n; i++) {
		const struct cfg_opt *o = &table[i];
		char why[256];
		if (o->def != NULL && cfg_parse_value(o, o->def, &c.vals[i], why, sizeof(why)) != 0)
			cfg_error(&c, NULL, 0, "built-in default of '%s': %s", o->name, why);
	}
	if (path != NULL)
		cfg_read_file(&c, path);
	cfg_flags(&c, argc, argv);
	for (size_t i = 0; i < c.n; i++) {
		const struct cfg_opt *o = &table[i];
		if (o->required && !c.vals[i].set && !c.vals[i].has) {
			char flag[CFG_NAME_MAX];
			cfg_flag_name(flag, sizeof(flag), o->name);
			cfg_error(&c, NULL, 0,
				  "missing required option '%s' (set '%s = ...' in the "
				  "configuration file or give --%s)",
				  o->name, o->name, flag);
		}
	}
	cfg_apply(&c, conf, 0);
	if (c.errors > 0) {
		act = CFG_EXIT_FAIL;
	} else if (check) {
		printf("config ok\n");
		act = CFG_EXIT_OK;
	} else {
		act = CFG_RUN;
	}
	if (act != CFG_RUN)
		cfg_free(table, conf);
	else if (config_path != NULL)
		*config_path = path;
	cfg_vals_free(c.vals, c.n);
	return act;
}

int cfg_reload(const struct cfg_opt *table, void *conf, const char *path)
{
	struct cfg_ctx c;
	if (path == NULL)
		return OS_ECONFIG;
	if (cfg_ctx_init(&c, table, NULL) != 0)
		return OS_ENOMEM;
	c.reload = 1;
	cfg_read_file(&c, path);
	int rc = OS_ECONFIG;
	if (c.errors == 0) {
		cfg_apply(&c, conf, 1);
		rc = 0;
	}
	cfg_vals_free(c.vals, c.n);
	return rc;
}

void cfg_free(const struct cfg_opt *table, void *conf)
{
	if (table == NULL || conf == NULL)
		return;
	for (size_t i = 0; table[i].name != NULL; i++) {
		if (table[i].type != CFG_STR)
			continue;
		char **sp = (char **)(void *)((char *)conf + table[i].offset);
		free(*sp);
		*sp = NULL;
	}
}
