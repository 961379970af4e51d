/* Configuration from one table: each option has a name, type, default,
 * bounds and help, and may be set in the INI file (key = value, no
 * sections or section [daemon]) or as a flag (--name value, '_' written
 * '-'). The table drives parsing, --help and --check-config.
 * Precedence: default < file < flag. */
#ifndef OS_CONFIG_H
#define OS_CONFIG_H

#include <stddef.h>

enum cfg_type { CFG_STR, CFG_INT, CFG_BOOL };

struct cfg_opt {
	const char *name; /* e.g. "data_dir"; flag --data-dir */
	enum cfg_type type;
	const char *def;    /* default as text; NULL: no default */
	long long min, max; /* bounds for CFG_INT */
	int required;       /* must be set by file or flag */
	int reloadable;     /* re-read on SIGHUP */
	const char *help;
	size_t offset; /* offsetof the field in the daemon's config struct:
			       * char * for CFG_STR, long long for CFG_INT,
			       * int for CFG_BOOL */
};

/* Table entries, one style for every daemon: type is the daemon's config
 * struct, field a member of it (the option's name is the field's):
 *   CFG_STR_OPT(struct x_conf, data_dir, "/var/lib/x", 0, 0, "help"),
 *   CFG_INT_OPT(struct x_conf, window, "1000", 1, 1000000, 0, "help"),
 *   CFG_END
 * def is text (NULL: no default); required and reloadable are 0 or 1. */
#define CFG_STR_OPT(type, field, def, required, reloadable, help)                             \
	{                                                                                     \
#field, CFG_STR, def, 0, 0, required, reloadable, help, offsetof(type, field) \
	}
#define CFG_INT_OPT(type, field, def, lo, hi, reloadable, help)                          \
	{                                                                                \
#field, CFG_INT, def, lo, hi, 0, reloadable, help, offsetof(type, field) \
	}
#define CFG_BOOL_OPT(type, field, def, reloadable, help)                                \
	{                                                                               \
#field, CFG_BOOL, def, 0, 0, 0, reloadable, help, offsetof(type, field) \
	}
#define CFG_END                                          \
	{                                                \
		NULL, CFG_STR, NULL, 0, 0, 0, 0, NULL, 0 \
	}

enum cfg_action { CFG_RUN, CFG_EXIT_OK, CFG_EXIT_FAIL };

/* Fill conf from defaults, then the file named by --config / -c (if any),
 * then flags. Handles --help / -h (prints usage built from the table to
 * stdout: CFG_EXIT_OK), --version, and --check-config (validates, prints
 * "config ok" or each error: CFG_EXIT_OK / CFG_EXIT_FAIL). Errors (unknown
 * key or flag, bad value, out of bounds, missing required) are printed to
 * stderr, one line each, naming the file and line or the flag:
 * CFG_EXIT_FAIL. The NUL-terminated table ends with a {NULL} entry.
 * Strings in conf are malloc'd; free them with cfg_free. *config_path gets
 * the file path used (borrowed from argv) or NULL. */
enum cfg_action cfg_parse(const struct cfg_opt *table, void *conf, const char *prog,
			  const char *summary, int argc, char **argv, const char **config_path);

/* Re-read the reloadable options from path into conf (others ignored).
 * 0 or OS_ECONFIG (conf unchanged on error; errors printed to stderr). */
int cfg_reload(const struct cfg_opt *table, void *conf, const char *path);

void cfg_free(const struct cfg_opt *table, void *conf);

#endif
