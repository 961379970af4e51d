/* Unit tests for common/util.c and common/err.c: name, destination and
 * type syntax, hex, big-endian integers, file reads and atomic writes, and
 * the error table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "testutil.h"
#include "util.h"

struct name_case {
	const char *name;
	int want;
};

static const char label32[] = "abcdefghijklmnopqrstuvwxyz012345";
static const char label33[] = "abcdefghijklmnopqrstuvwxyz0123456";

static void test_name_table(void **state)
{
	(void)state;
	const struct name_case cases[] = {
		{"hub", 0},          {"gd", 0},
		{"gd.sz.market", 0}, {"mps.idp", 0},
		{"a-b.c-d.0", 0},    {"1.2.3.4.5.6.7.8", 0},
		{label32, 0},        {"", OS_ENAME},
		{".", OS_ENAME},     {"gd.", OS_ENAME},
		{".gd", OS_ENAME},   {"gd..sz", OS_ENAME},
		{"GD", OS_ENAME},    {"gd_sz", OS_ENAME},
		{"gd sz", OS_ENAME}, {"@gd", OS_ENAME},
		{"gd/sz", OS_ENAME}, {"1.2.3.4.5.6.7.8.9", OS_ENAME},
		{label33, OS_ENAME}, {"h\xc3\xa9", OS_ENAME},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = os_name_valid(cases[i].name);
		if (rc != cases[i].want)
			fail_msg("os_name_valid(\"%s\") = %d, want %d", cases[i].name, rc,
				 cases[i].want);
	}
	assert_int_equal(os_name_valid(NULL), OS_ENAME);

	/* The longest valid name fits OS_NAME_MAX with '@' and NUL. */
	char longest[OS_NAME_MAX];
	longest[0] = '@';
	size_t at = 1;
	for (int l = 0; l < 8; l++) {
		if (l > 0)
			longest[at++] = '.';
		memcpy(longest + at, label32, 32);
		at += 32;
	}
	longest[at] = '\0';
	assert_true(at + 1 <= OS_NAME_MAX);
	assert_int_equal(os_dest_valid(longest), 0);
	assert_int_equal(os_name_valid(longest + 1), 0);
}

static void test_dest_table(void **state)
{
	(void)state;
	const struct name_case cases[] = {
		{"hub", 0},        {"@supervision", 0}, {"@gd.market", 0}, {"@", OS_ENAME},
		{"@@x", OS_ENAME}, {"", OS_ENAME},      {"x@y", OS_ENAME}, {"@Upper", OS_ENAME},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = os_dest_valid(cases[i].name);
		if (rc != cases[i].want)
			fail_msg("os_dest_valid(\"%s\") = %d, want %d", cases[i].name, rc,
				 cases[i].want);
	}
	assert_int_equal(os_dest_valid(NULL), OS_ENAME);
}

static void test_type_table(void **state)
{
	(void)state;
	char t128[129], t129[130];
	memset(t128, 'a', 128);
	t128[128] = '\0';
	memset(t129, 'b', 129);
	t129[129] = '\0';
	const struct name_case cases[] = {
		{"gov.Application", 0},
		{"onestop.DeadLetter", 0},
		{"a_b-c.D9", 0},
		{t128, 0},
		{t129, OS_EINVAL},
		{"", OS_EINVAL},
		{"gov Application", OS_EINVAL},
		{"gov/x", OS_EINVAL},
		{"x*", OS_EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = os_type_valid(cases[i].name);
		if (rc != cases[i].want)
			fail_msg("os_type_valid(case %zu) = %d, want %d", i, rc, cases[i].want);
	}
	assert_int_equal(os_type_valid(NULL), OS_EINVAL);
}

static void test_hex(void **state)
{
	(void)state;
	const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
	char out[11];
	os_hex(out, in, sizeof(in));
	assert_string_equal(out, "0001abff7e");

	uint8_t back[5];
	assert_int_equal(os_unhex(back, sizeof(back), "0001abff7e"), 0);
	assert_memory_equal(back, in, sizeof(in));
	assert_int_equal(os_unhex(back, sizeof(back), "0001ABFF7E"), 0);
	assert_memory_equal(back, in, sizeof(in));

	struct {
		const char *s;
		size_t n;
	} bad[] = {
		{"0001abff7", 5},    /* short */
		{"0001abff7e00", 5}, /* long */
		{"0001abff7g", 5},   /* not hex */
		{"", 1},
		{" 001abff7e", 5},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t untouched[5] = {9, 9, 9, 9, 9};
		if (os_unhex(untouched, bad[i].n, bad[i].s) != OS_EINVAL)
			fail_msg("os_unhex(\"%s\") accepted", bad[i].s);
		assert_int_equal(untouched[0], 9);
	}
	assert_int_equal(os_unhex(back, 1, NULL), OS_EINVAL);
	assert_int_equal(os_unhex(back, 0, ""), 0);
}

static void test_u64be(void **state)
{
	(void)state;
	uint8_t b[8];
	os_put_u64be(b, 0x0102030405060708ull);
	const uint8_t want[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	assert_memory_equal(b, want, 8);
	assert_true(os_get_u64be(b) == 0x0102030405060708ull);
	os_put_u64be(b, UINT64_MAX);
	assert_true(os_get_u64be(b) == UINT64_MAX);
	/* Big-endian keys sort like the numbers. */
	uint8_t a[8], c[8];
	os_put_u64be(a, 255);
	os_put_u64be(c, 256);
	assert_true(memcmp(a, c, 8) < 0);
}

static void test_clocks(void **state)
{
	(void)state;
	uint64_t now = os_now_ms();
	assert_true(now > 1600000000000ull); /* after 2020 */
	uint64_t a = os_mono_us();
	uint64_t b = os_mono_us();
	assert_true(b >= a);
}

static void test_files(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	char path[512];
	tu_path(path, sizeof(path), dir, "f.bin");

	const char data[] = "hello, file";
	assert_int_equal(os_write_file(path, data, sizeof(data), 0600, 1), 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* excl refuses to overwrite, and leaves the file as it was. */
	assert_int_equal(os_write_file(path, "x", 1, 0600, 1), OS_EEXIST);
	uint8_t *buf = NULL;
	size_t len = 0;
	assert_int_equal(os_read_file(path, 1024, &buf, &len), 0);
	assert_int_equal(len, sizeof(data));
	assert_memory_equal(buf, data, len);
	free(buf);

	/* Without excl it replaces atomically, with the new mode. */
	assert_int_equal(os_write_file(path, "abc", 3, 0644, 0), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_int_equal(os_read_file(path, 3, &buf, &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(buf, "abc", 3);
	free(buf);

	/* Bounded read. */
	buf = NULL;
	assert_int_equal(os_read_file(path, 2, &buf, &len), OS_ETOOBIG);
	assert_null(buf);
	/* Empty file. */
	char empty[512];
	tu_path(empty, sizeof(empty), dir, "empty");
	assert_int_equal(os_write_file(empty, "", 0, 0600, 1), 0);
	assert_int_equal(os_read_file(empty, 10, &buf, &len), 0);
	assert_int_equal(len, 0);
	free(buf);

	/* Missing file, a directory, and a missing directory to write in. */
	char missing[512];
	tu_path(missing, sizeof(missing), dir, "nope");
	assert_int_equal(os_read_file(missing, 10, &buf, &len), OS_EIO);
	assert_int_equal(os_read_file(dir, 10, &buf, &len), OS_EIO);
	tu_path(missing, sizeof(missing), dir, "no/such/file");
	assert_int_equal(os_write_file(missing, "x", 1, 0600, 0), OS_EIO);

	/* No temp files are left behind. */
	int entries = 0;
	DIR *d = opendir(dir);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			entries++;
	closedir(d);
	assert_int_equal(entries, 2);
	tu_rmrf(dir);
}

static void test_errors(void **state)
{
	(void)state;
	for (int code = 0; code >= OS_ERR_MIN; code--) {
		const char *msg = os_strerror(code);
		const char *name = os_errname(code);
		assert_non_null(msg);
		assert_non_null(name);
		assert_true(strlen(msg) > 0);
		if (code < 0)
			assert_int_equal(name[0], 'E');
	}
	assert_string_equal(os_errname(OS_EBADSIG), "EBADSIG");
	assert_string_equal(os_errname(OS_EKEY), "EKEY");
	assert_string_equal(os_errname(OS_EFULL), "EFULL");
	assert_string_equal(os_strerror(1), "unknown error");
	assert_string_equal(os_strerror(OS_ERR_MIN - 1), "unknown error");
	assert_non_null(os_errname(-1000));
}

static void test_iso_time(void **state)
{
	char out[OS_ISO_TIME_MAX];
	(void)state;
	assert_string_equal(os_iso_time(out, 0), "1970-01-01T00:00:00.000Z");
	assert_string_equal(os_iso_time(out, 1769860800892ull), "2026-01-31T12:00:00.892Z");
	assert_string_equal(os_iso_time(out, UINT64_MAX), "@18446744073709551615");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iso_time),   cmocka_unit_test(test_name_table),
		cmocka_unit_test(test_dest_table), cmocka_unit_test(test_type_table),
		cmocka_unit_test(test_hex),        cmocka_unit_test(test_u64be),
		cmocka_unit_test(test_clocks),     cmocka_unit_test(test_files),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
