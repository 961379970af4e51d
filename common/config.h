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
	const char *name;     /* e.g. "data_dir"; flag --data-dir */
	enum cfg_type type;
	const char *def;      /* default as text; NULL: no default */
	long long min, max;   /* bounds for CFG_INT */
	int required;         /* must be set by file or flag */
	int reloadable;       /* re-read on SIGHUP */
	const char *help;
	size_t offset;        /* offsetof the field in the daemon's config struct:
			       * char * for CFG_STR, long long for CFG_INT,
			       * int for CFG_BOOL */
};

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
			  const char *summary, int argc, char **argv,
			  const char **config_path);

/* Re-read the reloadable options from path into conf (others ignored).
 * 0 or OS_ECONFIG (conf unchanged on error; errors printed to stderr). */
int cfg_reload(const struct cfg_opt *table, void *conf, const char *path);

void cfg_free(const struct cfg_opt *table, void *conf);

#endif
