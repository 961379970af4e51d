/* Unit tests for common/config.c: defaults, the INI file (top level and
 * sections), flags over the file, bounds and unknown keys, required
 * options, --help / --version / --check-config, and reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "log.h"
#include "testutil.h"

struct conf {
	char *name;
	char *key;
	char *listen;
	long long window;
	long long map_size_mb;
	int verbose;
	char *log_level;
};

static const struct cfg_opt table[] = {
	{"name", CFG_STR, "hub", 0, 0, 0, 0, "node name in the registry",
	 offsetof(struct conf, name)},
	{"key", CFG_STR, NULL, 0, 0, 1, 0, "node key file", offsetof(struct conf, key)},
	{"listen", CFG_STR, "tcp://127.0.0.1:7700", 0, 0, 0, 0, "endpoint to bind",
	 offsetof(struct conf, listen)},
	{"window", CFG_INT, "1000", 1, 100000, 0, 1, "unacknowledged transfers per link",
	 offsetof(struct conf, window)},
	{"map_size_mb", CFG_INT, "1024", 1, 1048576, 0, 0, "LMDB map size in MiB",
	 offsetof(struct conf, map_size_mb)},
	{"verbose", CFG_BOOL, "no", 0, 0, 0, 1, "extra detail", offsetof(struct conf, verbose)},
	{"log_level", CFG_STR, "info", 0, 0, 0, 1, "least level logged",
	 offsetof(struct conf, log_level)},
	{NULL, 0, NULL, 0, 0, 0, 0, NULL, 0},
};

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = tu_mkdtemp();
	return dir == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	tu_rmrf(dir);
	return 0;
}

/* Run cfg_parse with stdout and stderr captured into out/err. */
static enum cfg_action run(struct conf *c, const char *const *args, char *out, char *err,
			   const char **path)
{
	char *argv[32];
	int argc = 0;
	argv[argc++] = "onestop-test";
	for (; args[argc - 1] != NULL; argc++)
		argv[argc] = (char *)args[argc - 1];
	argv[argc] = NULL;
	char opath[512], epath[512];
	tu_path(opath, sizeof(opath), dir, "stdout");
	tu_path(epath, sizeof(epath), dir, "stderr");
	fflush(stdout);
	fflush(stderr);
	int ofd = open(opath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	int efd = open(epath, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(ofd >= 0 && efd >= 0);
	int so = dup(1), se = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	memset(c, 0, sizeof(*c));
	enum cfg_action a = cfg_parse(table, c, "onestop-test", "A test daemon.", argc, argv, path);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	ssize_t n = pread(ofd, out, 8191, 0);
	out[n > 0 ? n : 0] = '\0';
	n = pread(efd, err, 8191, 0);
	err[n > 0 ? n : 0] = '\0';
	close(ofd);
	close(efd);
	return a;
}

static const char *write_conf(const char *name, const char *text)
{
	static char path[512];
	tu_path(path, sizeof(path), dir, name);
	assert_int_equal(tu_write(path, text), 0);
	return path;
}

static void test_defaults(void **state)
{
	(void)state;
	struct conf c;
	char out[8192], err[8192];
	const char *args[] = {"--key", "/k", NULL};
	const char *path = "unset";
	assert_int_equal(run(&c, args, out, err, &path), CFG_RUN);
	assert_null(path);
	assert_string_equal(c.name, "hub");
	assert_string_equal(c.key, "/k");
	assert_string_equal(c.listen, "tcp://127.0.0.1:7700");
	assert_int_equal(c.window, 1000);
	assert_int_equal(c.map_size_mb, 1024);
	assert_int_equal(c.verbose, 0);
	assert_string_equal(err, "");
	cfg_free(table, &c);
	assert_null(c.name);
	assert_null(c.key);
	cfg_free(table, &c);
}

static void test_file_and_flags(void **state)
{
	(void)state;
	const char *p = write_conf("a.conf", "; comment\n"
					     "# another\n"
					     "name = gd.sz\n"
					     "key=/etc/onestop/gd.key\n"
					     "\n"
					     "[daemon]\n"
					     "window = 50 ; inline comment\n"
					     "verbose = yes\n"
					     "[anything]\n"
					     "map-size-mb = 64\n");
	char path_copy[512];
	snprintf(path_copy, sizeof(path_copy), "%s", p);
	struct conf c;
	char out[8192], err[8192];
	const char *cfgpath = NULL;
	const char *args1[] = {"-c", path_copy, NULL};
	assert_int_equal(run(&c, args1, out, err, &cfgpath), CFG_RUN);
	assert_string_equal(cfgpath, path_copy);
	assert_string_equal(c.name, "gd.sz");
	assert_string_equal(c.key, "/etc/onestop/gd.key");
	assert_int_equal(c.window, 50);
	assert_int_equal(c.verbose, 1);
	assert_int_equal(c.map_size_mb, 64);
	assert_string_equal(c.listen, "tcp://127.0.0.1:7700");
	cfg_free(table, &c);

	/* Flags win over the file, in both spellings, wherever they are. */
	const char *args2[] = {"--window=7",
			       "--config",
			       path_copy,
			       "--name",
			       "gd.gz",
			       "--no-verbose",
			       "--listen=ipc:///tmp/x",
			       "--map_size_mb",
			       "2",
			       NULL};
	assert_int_equal(run(&c, args2, out, err, &cfgpath), CFG_RUN);
	assert_string_equal(c.name, "gd.gz");
	assert_int_equal(c.window, 7);
	assert_int_equal(c.verbose, 0);
	assert_int_equal(c.map_size_mb, 2);
	assert_string_equal(c.listen, "ipc:///tmp/x");
	assert_string_equal(c.key, "/etc/onestop/gd.key");
	cfg_free(table, &c);

	struct {
		const char *arg;
		int want;
	} bools[] = {
		{"--verbose", 1},      {"--verbose=yes", 1}, {"--verbose=no", 0},
		{"--verbose=true", 1}, {"--verbose=off", 0}, {"--no-verbose", 0},
	};
	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		const char *args[] = {"--key", "k", bools[i].arg, NULL};
		assert_int_equal(run(&c, args, out, err, NULL), CFG_RUN);
		assert_int_equal(c.verbose, bools[i].want);
		cfg_free(table, &c);
	}
	/* A --config=FILE spelling. */
	char eq[600];
	snprintf(eq, sizeof(eq), "--config=%s", path_copy);
	const char *args3[] = {eq, NULL};
	assert_int_equal(run(&c, args3, out, err, NULL), CFG_RUN);
	assert_int_equal(c.window, 50);
	cfg_free(table, &c);
}

struct err_case {
	const char *what;
	const char *file; /* config text, or NULL for none */
	const char *args[6];
	const char *expect; /* substring of stderr */
};

static void test_errors(void **state)
{
	(void)state;
	static const struct err_case cases[] = {
		{"missing required", NULL, {NULL}, "missing required option 'key'"},
		{"unknown key",
		 "key = k\nname = x\nbogus = 1\n",
		 {NULL},
		 ".conf:3: unknown option 'bogus'"},
		{"bounds in file",
		 "key = k\nwindow = 0\n",
		 {NULL},
		 ".conf:2: option 'window': 0 is out of range 1..100000"},
		{"not a number",
		 "key = k\nwindow = ten\n",
		 {NULL},
		 ".conf:2: option 'window': 'ten' is not an integer"},
		{"bad bool",
		 "key = k\nverbose = maybe\n",
		 {NULL},
		 ".conf:2: option 'verbose': 'maybe' is not yes or no"},
		{"syntax", "key = k\n\njust words\n", {NULL}, ".conf:3: syntax error"},
		{"bounds in flag",
		 NULL,
		 {"--key", "k", "--window", "100001", NULL},
		 "option '--window': 100001 is out of range"},
		{"flag overflow",
		 NULL,
		 {"--key", "k", "--window=99999999999999999999", NULL},
		 "is not an integer"},
		{"unknown flag",
		 NULL,
		 {"--key", "k", "--colour", "red", NULL},
		 "unknown option '--colour'"},
		{"positional", NULL, {"--key", "k", "extra", NULL}, "unexpected argument 'extra'"},
		{"flag without value", NULL, {"--key", NULL}, "option '--key' needs a value"},
		{"config without file",
		 NULL,
		 {"--key", "k", "-c", NULL},
		 "'--config' needs a file name"},
		{"missing file",
		 NULL,
		 {"--key", "k", "-c", "/nonexistent/x.conf", NULL},
		 "/nonexistent/x.conf: cannot read"},
		{"empty required", "key =\n", {NULL}, "option 'key': must not be empty"},
		{"no on a string",
		 NULL,
		 {"--key", "k", "--no-name", NULL},
		 "unknown option '--no-name'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *args[8];
		size_t n = 0;
		char path[512];
		if (cases[i].file != NULL) {
			snprintf(path, sizeof(path), "%s", write_conf("e.conf", cases[i].file));
			args[n++] = "-c";
			args[n++] = path;
		}
		for (size_t k = 0; cases[i].args[k] != NULL; k++)
			args[n++] = cases[i].args[k];
		args[n] = NULL;
		struct conf c;
		char out[8192], err[8192];
		enum cfg_action a = run(&c, args, out, err, NULL);
		if (a != CFG_EXIT_FAIL)
			fail_msg("%s: action %d, want CFG_EXIT_FAIL", cases[i].what, a);
		if (strstr(err, cases[i].expect) == NULL)
			fail_msg("%s: stderr lacks \"%s\":\n%s", cases[i].what, cases[i].expect,
				 err);
		/* Strings are freed on exit actions. */
		assert_null(c.name);
		assert_null(c.key);
	}

	/* Several errors: one line each. */
	const char *p = write_conf("multi.conf", "a = 1\nb = 2\nwindow = -5\n");
	char path[512];
	snprintf(path, sizeof(path), "%s", p);
	const char *args[] = {"-c", path, NULL};
	struct conf c;
	char out[8192], err[8192];
	assert_int_equal(run(&c, args, out, err, NULL), CFG_EXIT_FAIL);
	int lines = 0;
	for (const char *q = err; *q; q++)
		lines += *q == '\n';
	assert_int_equal(lines, 4); /* a, b, window, missing key */
	assert_non_null(strstr(err, "multi.conf:1: unknown option 'a'"));
	assert_non_null(strstr(err, "multi.conf:2: unknown option 'b'"));

	/* A line too long for the parser is an error, not a silent cut. */
	char longline[400];
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "name = ", 7);
	longline[sizeof(longline) - 2] = '\n';
	longline[sizeof(longline) - 1] = '\0';
	char text[600];
	snprintf(text, sizeof(text), "key = k\n%s", longline);
	snprintf(path, sizeof(path), "%s", write_conf("long.conf", text));
	assert_int_equal(run(&c, args, out, err, NULL), CFG_EXIT_FAIL);
	assert_non_null(strstr(err, "long.conf:2: line longer than"));
}

static void test_help_version_check(void **state)
{
	(void)state;
	struct conf c;
	char out[8192], err[8192];
	const char *help[] = {"--window", "0", "--help", NULL};
	assert_int_equal(run(&c, help, out, err, NULL), CFG_EXIT_OK);
	assert_non_null(strstr(out, "Usage: onestop-test"));
	assert_non_null(strstr(out, "A test daemon."));
	for (size_t i = 0; table[i].name != NULL; i++) {
		char flag[64];
		size_t k = 0;
		for (; table[i].name[k]; k++)
			flag[k] = table[i].name[k] == '_' ? '-' : table[i].name[k];
		flag[k] = '\0';
		char want[80];
		snprintf(want, sizeof(want), "--%s", flag);
		if (strstr(out, want) == NULL)
			fail_msg("help lacks %s", want);
		if (strstr(out, table[i].help) == NULL)
			fail_msg("help lacks the text of %s", want);
		if (table[i].def != NULL) {
			snprintf(want, sizeof(want), "default %s", table[i].def);
			if (strstr(out, want) == NULL)
				fail_msg("help lacks \"%s\"", want);
		}
	}
	assert_non_null(strstr(out, "--window INT  (integer 1..100000, default 1000"));
	assert_non_null(strstr(out, "--key STRING  (string, required"));
	assert_non_null(strstr(out, "--verbose[=yes|no]"));
	assert_non_null(strstr(out, "--check-config"));
	const char *h[] = {"-h", NULL};
	assert_int_equal(run(&c, h, out, err, NULL), CFG_EXIT_OK);
	assert_non_null(strstr(out, "Usage:"));

	const char *ver[] = {"--version", NULL};
	assert_int_equal(run(&c, ver, out, err, NULL), CFG_EXIT_OK);
	assert_true(strncmp(out, "onestop-test ", 13) == 0);
	assert_true(strlen(out) > 14);

	const char *ok[] = {"--key", "k", "--check-config", NULL};
	assert_int_equal(run(&c, ok, out, err, NULL), CFG_EXIT_OK);
	assert_string_equal(out, "config ok\n");
	assert_null(c.key);
	const char *bad[] = {"--check-config", "--window", "0", NULL};
	assert_int_equal(run(&c, bad, out, err, NULL), CFG_EXIT_FAIL);
	assert_null(strstr(out, "config ok"));
	assert_non_null(strstr(err, "out of range"));
	assert_non_null(strstr(err, "missing required option 'key'"));
}

static void test_reload(void **state)
{
	(void)state;
	char path[512];
	snprintf(path, sizeof(path), "%s",
		 write_conf("r.conf", "key = k\nname = a\nwindow = 10\nlog_level = info\n"));
	const char *args[] = {"-c", path, NULL};
	struct conf c;
	char out[8192], err[8192];
	assert_int_equal(run(&c, args, out, err, NULL), CFG_RUN);
	assert_int_equal(c.window, 10);

	/* Reloadable options change; the others stay as they were. */
	write_conf("r.conf", "key = other\nname = b\n[daemon]\nwindow = 20\nlog_level = debug\n"
			     "verbose = on\n");
	assert_int_equal(cfg_reload(table, &c, path), 0);
	assert_int_equal(c.window, 20);
	assert_string_equal(c.log_level, "debug");
	assert_int_equal(c.verbose, 1);
	assert_string_equal(c.name, "a");
	assert_string_equal(c.key, "k");

	/* A bad file changes nothing. */
	write_conf("r.conf", "window = 30\nlog_level = warn\nwindow = 0\n");
	int saved = dup(2);
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 2);
	int rc = cfg_reload(table, &c, path);
	int rc_missing = cfg_reload(table, &c, "/nonexistent/r.conf");
	dup2(saved, 2);
	close(saved);
	close(devnull);
	assert_int_equal(rc, OS_ECONFIG);
	assert_int_equal(rc_missing, OS_ECONFIG);
	assert_int_equal(c.window, 20);
	assert_string_equal(c.log_level, "debug");
	cfg_free(table, &c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_file_and_flags),
		cmocka_unit_test(test_errors),   cmocka_unit_test(test_help_version_check),
		cmocka_unit_test(test_reload),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
