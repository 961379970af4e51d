/* Unit tests for common/log.c: the line format, level filtering and level
 * names, the rate limit of repeated lines. stderr is redirected to a temporary file to read the lines back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <regex.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "testutil.h"

/* Run os_log calls with stderr sent to a file; returns the text written. */
static char *log_capture(void (*fn)(void))
{
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	char path[512];
	tu_path(path, sizeof(path), dir, "stderr");
	int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(fd >= 0);
	int saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fd, STDERR_FILENO) >= 0);
	fn();
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	static char text[16384];
	ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
	assert_true(n >= 0);
	text[n] = '\0';
	close(fd);
	tu_rmrf(dir);
	return text;
}

static void log_some(void)
{
	os_log_set_level(OS_LOG_INFO);
	os_log(OS_LOG_INFO, "msg_accepted", "id=%s size=%d", "00ff", 12);
	os_log(OS_LOG_DEBUG, "hidden", "x=1");
	os_log(OS_LOG_ERROR, "store_failed", "code=%s", "ESTORE");
	os_log(OS_LOG_WARN, "bare", "%s", "");
	os_log(OS_LOG_WARN, "multi", "a=1\nb=2");
}

static void test_format(void **state)
{
	(void)state;
	char *text = log_capture(log_some);
	const char *pattern =
		"^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
		"level=info event=msg_accepted id=00ff size=12\n"
		"ts=[^ ]+Z level=error event=store_failed code=ESTORE\n"
		"ts=[^ ]+Z level=warn event=bare\n"
		"ts=[^ ]+Z level=warn event=multi a=1 b=2\n$";
	regex_t re;
	assert_int_equal(regcomp(&re, pattern, REG_EXTENDED), 0);
	int m = regexec(&re, text, 0, NULL, 0);
	regfree(&re);
	if (m != 0)
		fail_msg("unexpected log text:\n%s", text);
}

static void log_long(void)
{
	static char big[10000];
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	os_log(OS_LOG_ERROR, "long_line", "v=%s", big);
	os_log(OS_LOG_ERROR, "after", "ok=1");
}

static void test_long_line(void **state)
{
	(void)state;
	char *text = log_capture(log_long);
	/* A too-long event is cut, but stays one line ending in a newline. */
	char *nl = strchr(text, '\n');
	assert_non_null(nl);
	assert_true(nl - text < 4096);
	assert_non_null(strstr(nl + 1, "event=after ok=1\n"));
}

static void log_levels(void)
{
	os_log_set_level(OS_LOG_WARN);
	os_log(OS_LOG_INFO, "no", "x=1");
	os_log(OS_LOG_WARN, "yes", "x=2");
	os_log_set_level(OS_LOG_DEBUG);
	os_log(OS_LOG_DEBUG, "dbg", "x=3");
	os_log_set_level(OS_LOG_INFO);
}

static void test_levels(void **state)
{
	(void)state;
	char *text = log_capture(log_levels);
	assert_null(strstr(text, "event=no"));
	assert_non_null(strstr(text, "level=warn event=yes x=2"));
	assert_non_null(strstr(text, "level=debug event=dbg x=3"));

	struct {
		const char *s;
		int rc;
		enum os_log_level level;
	} cases[] = {
		{"debug", 0, OS_LOG_DEBUG}, {"info", 0, OS_LOG_INFO}, {"warn", 0, OS_LOG_WARN},
		{"error", 0, OS_LOG_ERROR}, {"INFO", OS_EINVAL, 0},   {"", OS_EINVAL, 0},
		{"warning", OS_EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum os_log_level l = OS_LOG_ERROR;
		assert_int_equal(os_log_parse_level(cases[i].s, &l), cases[i].rc);
		if (cases[i].rc == 0)
			assert_int_equal(l, cases[i].level);
	}
	enum os_log_level l;
	assert_int_equal(os_log_parse_level(NULL, &l), OS_EINVAL);
}

static void test_quote(void **state)
{
	char small[8];
	(void)state;
	assert_string_equal(OS_Q("plain text"), "\"plain text\"");
	assert_string_equal(OS_Q(NULL), "\"\"");
	assert_string_equal(OS_Q("say \"hi\" \\ bye"), "\"say \\\"hi\\\" \\\\ bye\"");
	assert_string_equal(OS_Q("a\nb\x01\xc3"), "\"a\\x0ab\\x01\\xc3\"");
	/* Cut short, still closed, never half an escape. */
	assert_string_equal(os_log_quote(small, sizeof(small), "abcdefghij"), "\"abcde\"");
	assert_string_equal(os_log_quote(small, sizeof(small), "abcd\n"), "\"abcd\"");
}

/* 2,000 refusals in 3 intervals of a limit of 5 per second: 5 lines per
 * interval, then one summary line with the count of the suppressed. */
static void log_flood(void)
{
	struct os_log_limit lim = OS_LOG_LIMIT(5, 1000);
	uint64_t t = 1000000;
	unsigned allowed = 0;

	os_log_set_level(OS_LOG_INFO);
	for (int i = 0; i < 2000; i++) {
		if (i == 1000)
			t += 1000; /* the next interval */
		if (i == 1500)
			t += 5000;
		if (os_log_allow(&lim, "zap_denied", t)) {
			allowed++;
			os_log(OS_LOG_WARN, "zap_denied", "n=%d", i);
		}
	}
	assert_int_equal(allowed, 15);
	assert_int_equal(os_log_suppressed(&lim), 495);
	/* A limit of NULL allows everything. */
	assert_int_equal(os_log_allow(NULL, "x", t), 1);
}

static void test_rate_limit(void **state)
{
	(void)state;
	char *text = log_capture(log_flood);
	size_t lines = 0, denied = 0;

	for (const char *p = text; (p = strchr(p, '\n')) != NULL; p++)
		lines++;
	for (const char *p = text; (p = strstr(p, "event=zap_denied")) != NULL; p++)
		denied++;
	assert_int_equal(denied, 15);
	assert_int_equal(lines, 17);
	assert_non_null(strstr(text, "event=log_suppressed of=zap_denied suppressed=995 "
				     "interval_ms=1000\n"));
	assert_non_null(strstr(text, "event=log_suppressed of=zap_denied suppressed=495 "
				     "interval_ms=1000\n"));
	/* The summary comes before the first line of the next interval. */
	const char *sum = strstr(text, "suppressed=995");
	const char *next = strstr(text, "n=1000\n");
	assert_non_null(next);
	assert_true(sum < next);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),     cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_levels),     cmocka_unit_test(test_quote),
		cmocka_unit_test(test_rate_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
