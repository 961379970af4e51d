/* Unit tests for common/calendar.c: dates and zones pinned to values worked
 * out independently (Python's datetime), due dates as a service hall would
 * check them on a wall calendar, the holidays parser's errors with their
 * line numbers, and the overdue boundary. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "err.h"
#include "testutil.h"

#define CHINA (8 * 60)

/* The Unix ms of local time hh:mm on date in c's zone. */
static uint64_t at(const struct cal *c, const char *date, int hh, int mm)
{
	int32_t day;
	assert_int_equal(cal_day_from_date(date, &day), 0);
	return (uint64_t)day * 86400000u + (uint64_t)(hh * 60 + mm) * 60000u -
	       (uint64_t)((int64_t)c->offset_min * 60000);
}

/* The date cal_due gives for start and n, after checking that due_ms is
 * the last millisecond of that day in c's zone. */
static const char *due_date(const struct cal *c, uint64_t start, uint32_t n)
{
	static char out[CAL_DATE_LEN];
	uint64_t due;
	int32_t day, next;
	assert_int_equal(cal_due(c, start, n, &due), 0);
	assert_int_equal(cal_day_from_ms(c, due, &day), 0);
	assert_int_equal(cal_day_from_ms(c, due + 1, &next), 0);
	assert_int_equal(next, day + 1);
	assert_int_equal(cal_date_from_day(day, out), 0);
	return out;
}

static void china(struct cal *c, const char *holidays)
{
	char why[256];
	assert_int_equal(cal_init(c, CHINA), 0);
	if (cal_parse(c, holidays, strlen(holidays), why, sizeof(why)) != 0)
		fail_msg("holidays refused: %s", why);
}

static void test_dates(void **state)
{
	static const struct {
		const char *s;
		int32_t day; /* -1: refused */
	} cases[] = {
		{"1970-01-01", 0},           {"2026-12-03", 20790},
		{"2028-02-29", 21243},       {"2000-02-29", 11016},
		{"9999-12-31", CAL_DAY_MAX}, {"2026-02-29", -1}, /* 2026 is not a leap year */
		{"2100-02-29", -1},                              /* nor is 2100 */
		{"2026-02-30", -1},          {"2026-04-31", -1},
		{"2026-13-01", -1},          {"2026-00-10", -1},
		{"2026-01-00", -1},          {"1969-12-31", -1},
		{"2026-1-01", -1},           {"2026-01-01x", -1},
		{"2026/01/01", -1},          {"", -1},
		{" 2026-01-01", -1},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int32_t day = -1;
		int rc = cal_day_from_date(cases[i].s, &day);
		if (cases[i].day < 0 ? rc != OS_EINVAL : rc != 0 || day != cases[i].day)
			fail_msg("\"%s\": rc %d day %d, want day %d", cases[i].s, rc, (int)day,
				 (int)cases[i].day);
	}
	/* Every day from 1970 to 9999 prints as a date that reads back as it. */
	char s[CAL_DATE_LEN];
	for (int32_t day = 0; day <= CAL_DAY_MAX; day++) {
		int32_t back = -1;
		if (cal_date_from_day(day, s) != 0 || cal_day_from_date(s, &back) != 0 ||
		    back != day)
			fail_msg("day %d printed as \"%s\" reads back as %d", (int)day, s,
				 (int)back);
	}
	assert_int_equal(cal_date_from_day(CAL_DAY_MAX + 1, s), OS_EINVAL);
	assert_string_equal(s, "");
	assert_int_equal(cal_date_from_day(-1, s), OS_EINVAL);
	/* 2026-12-03 is a Thursday, 1970-01-01 was one. */
	assert_int_equal(cal_weekday(20790), 4);
	assert_int_equal(cal_weekday(0), 4);
	assert_int_equal(cal_weekday(20792), 6);
	assert_int_equal(cal_weekday(-1), OS_EINVAL);
}

static void test_zone_offset_matters(void **state)
{
	struct cal cn, utc, ny;
	int32_t day;
	uint64_t ms;
	(void)state;
	assert_int_equal(cal_init(&cn, CHINA), 0);
	assert_int_equal(cal_init(&utc, 0), 0);
	assert_int_equal(cal_init(&ny, -300), 0);
	/* 2026-12-03T23:30:00Z is already Friday 2026-12-04 07:30 in China. */
	const uint64_t t = 1796340600000u;
	assert_int_equal(cal_day_from_ms(&cn, t, &day), 0);
	assert_int_equal(day, 20791);
	assert_int_equal(cal_day_from_ms(&utc, t, &day), 0);
	assert_int_equal(day, 20790);
	assert_int_equal(cal_day_from_ms(&ny, t, &day), 0);
	assert_int_equal(day, 20790);
	/* So the same accept with one working day is due Monday in China and
	 * Friday in UTC. */
	assert_string_equal(due_date(&cn, t, 1), "2026-12-07");
	assert_string_equal(due_date(&utc, t, 1), "2026-12-04");
	/* The end of 2026-12-04 in China is 15:59:59.999 UTC. */
	assert_int_equal(cal_day_end_ms(&cn, 20791, &ms), 0);
	assert_true(ms == 1796399999999u);
	assert_true(at(&cn, "2026-12-04", 7, 30) == t);
	/* Out of range: before 1970 in the zone, after 9999, bad zones. */
	assert_int_equal(cal_day_from_ms(&ny, 0, &day), OS_EINVAL);
	assert_int_equal(cal_day_from_ms(&cn, 0, &day), 0);
	assert_int_equal(day, 0);
	assert_int_equal(cal_day_from_ms(&cn, UINT64_MAX, &day), OS_EINVAL);
	assert_int_equal(cal_day_end_ms(&cn, CAL_DAY_MAX, &ms), 0);
	assert_int_equal(cal_day_from_ms(&cn, ms + 1, &day), OS_EINVAL);
	assert_int_equal(cal_day_end_ms(&cn, CAL_DAY_MAX + 1, &ms), OS_EINVAL);
	assert_int_equal(cal_init(&cn, 14 * 60 + 1), OS_EINVAL);
	assert_int_equal(cal_init(&cn, -14 * 60 - 1), OS_EINVAL);
	cal_clear(&cn);
}

static void test_due_dates(void **state)
{
	struct cal c;
	(void)state;
	/* Friday 2026-12-04, holidays Monday 2026-12-07 and Friday 2027-01-01,
	 * a make-up working Saturday 2027-01-09. */
	china(&c, "2026-12-07\n2027-01-01\n2027-01-09 workday\n");
	struct cal plain;
	assert_int_equal(cal_init(&plain, CHINA), 0);

	/* Accepted on a Friday with one working day: due the end of Monday. */
	assert_string_equal(due_date(&plain, at(&plain, "2026-12-04", 10, 0), 1), "2026-12-07");
	/* The weekend and the Monday holiday push it to Tuesday. */
	assert_string_equal(due_date(&c, at(&c, "2026-12-04", 10, 0), 1), "2026-12-08");
	assert_string_equal(due_date(&plain, at(&plain, "2026-12-04", 10, 0), 3), "2026-12-09");
	assert_string_equal(due_date(&c, at(&c, "2026-12-04", 10, 0), 3), "2026-12-10");
	/* Accepted on the weekend or on the holiday: the start day never
	 * counts, the next working day is the first. */
	assert_string_equal(due_date(&c, at(&c, "2026-12-05", 10, 0), 1), "2026-12-08");
	assert_string_equal(due_date(&c, at(&c, "2026-12-07", 10, 0), 1), "2026-12-08");
	/* Across a month end, and across the year end with New Year's Day. */
	assert_string_equal(due_date(&c, at(&c, "2026-10-30", 16, 0), 1), "2026-11-02");
	assert_string_equal(due_date(&c, at(&c, "2026-12-31", 9, 0), 1), "2027-01-04");
	assert_string_equal(due_date(&c, at(&c, "2026-12-31", 9, 0), 2), "2027-01-05");
	/* The make-up Saturday counts: Friday 2027-01-08 + 1 is that Saturday. */
	assert_string_equal(due_date(&c, at(&c, "2027-01-08", 9, 0), 1), "2027-01-09");
	assert_string_equal(due_date(&plain, at(&plain, "2027-01-08", 9, 0), 1), "2027-01-11");
	/* 2028 is a leap year: Monday 2028-02-28 + 1 is Tuesday the 29th. */
	assert_string_equal(due_date(&c, at(&c, "2028-02-28", 9, 0), 1), "2028-02-29");
	assert_string_equal(due_date(&c, at(&c, "2028-02-28", 9, 0), 2), "2028-03-01");
	/* n = 0: the end of the start day, working day or not. */
	assert_string_equal(due_date(&c, at(&c, "2026-12-04", 23, 59), 0), "2026-12-04");
	assert_string_equal(due_date(&c, at(&c, "2026-12-05", 0, 0), 0), "2026-12-05");
	/* Twenty working days from 2026-12-03, counted on a wall calendar:
	 * December 4, 8-11, 14-18, 21-25, 28-31 (19 days: the 7th is off),
	 * then January 4 (the 1st is a holiday). */
	assert_string_equal(due_date(&c, at(&c, "2026-12-03", 9, 0), 20), "2027-01-04");

	/* Bounds: n up to CAL_DUE_DAYS_MAX; nothing after 9999-12-31. */
	uint64_t due;
	assert_int_equal(cal_due(&c, at(&c, "2026-12-04", 10, 0), CAL_DUE_DAYS_MAX, &due), 0);
	assert_int_equal(cal_due(&c, at(&c, "2026-12-04", 10, 0), CAL_DUE_DAYS_MAX + 1, &due),
			 OS_EINVAL);
	uint64_t end;
	assert_int_equal(cal_due(&c, at(&c, "9999-12-30", 10, 0), 1, &due), 0);
	assert_int_equal(cal_day_end_ms(&c, CAL_DAY_MAX, &end), 0);
	assert_true(due == end);
	assert_int_equal(cal_due(&c, at(&c, "9999-12-30", 10, 0), 2, &due), OS_EINVAL);
	assert_int_equal(cal_due(NULL, 0, 1, &due), OS_EINVAL);
	assert_int_equal(cal_due(&c, 0, 1, NULL), OS_EINVAL);
	cal_clear(&c);
	cal_clear(&plain);
}

static void test_overdue_boundary(void **state)
{
	struct cal c;
	uint64_t due;
	(void)state;
	china(&c, "");
	assert_int_equal(cal_due(&c, at(&c, "2026-12-04", 10, 0), 1, &due), 0);
	/* Due at Monday 23:59:59.999 in China: on time up to and including
	 * that millisecond, overdue from Tuesday 00:00. */
	assert_true(due == 1796659199999u);
	assert_false(cal_is_overdue(due, at(&c, "2026-12-04", 10, 0)));
	assert_false(cal_is_overdue(due, due - 1));
	assert_false(cal_is_overdue(due, due));
	assert_true(cal_is_overdue(due, due + 1));
	assert_true(due + 1 == at(&c, "2026-12-08", 0, 0));
	cal_clear(&c);
}

static void test_working_days_between(void **state)
{
	struct cal c;
	uint32_t n;
	(void)state;
	china(&c, "2026-10-01\n2026-10-02\n2026-10-03\n2026-10-05\n2026-10-06\n"
		  "2026-09-27 workday\n2026-10-10 workday\n2026-12-07\n2027-01-01\n");
	/* Friday to Monday: the Monday only. */
	assert_int_equal(cal_working_days_between(&c, at(&c, "2026-11-27", 9, 0),
						  at(&c, "2026-11-30", 1, 0), &n),
			 0);
	assert_int_equal(n, 1);
	/* Same day, or backwards: none. */
	assert_int_equal(cal_working_days_between(&c, at(&c, "2026-11-27", 9, 0),
						  at(&c, "2026-11-27", 23, 0), &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(cal_working_days_between(&c, at(&c, "2026-11-30", 9, 0),
						  at(&c, "2026-11-27", 9, 0), &n),
			 0);
	assert_int_equal(n, 0);
	/* Against a count day by day with cal_is_workday, and against cal_due:
	 * from any start, the due date is exactly n working days on. */
	int32_t first, last;
	assert_int_equal(cal_day_from_date("2026-09-01", &first), 0);
	assert_int_equal(cal_day_from_date("2027-02-01", &last), 0);
	for (int32_t a = first; a < last; a++) {
		uint64_t from = (uint64_t)a * 86400000u - 8 * 3600000u + 3600000u;
		uint32_t want = 0;
		for (int32_t b = a + 1; b < a + 40; b++) {
			want += (uint32_t)cal_is_workday(&c, b);
			uint64_t to = (uint64_t)b * 86400000u - 8 * 3600000u + 7200000u;
			assert_int_equal(cal_working_days_between(&c, from, to, &n), 0);
			if (n != want)
				fail_msg("days %d..%d: %u working days, counted %u", (int)a, (int)b,
					 n, want);
		}
		for (uint32_t k = 0; k < 20; k++) {
			uint64_t due;
			assert_int_equal(cal_due(&c, from, k, &due), 0);
			assert_int_equal(cal_working_days_between(&c, from, due, &n), 0);
			assert_int_equal(n, k);
		}
	}
	assert_int_equal(cal_working_days_between(&c, 0, 0, NULL), OS_EINVAL);
	cal_clear(&c);
}

static void test_parse_china_2026(void **state)
{
	struct cal c;
	char why[256];
	int32_t d;
	(void)state;
	assert_int_equal(cal_init(&c, CHINA), 0);
	/* National Day and Mid-Autumn 2026 as listed (CRLF, tabs, comments). */
	const char *text = "# China 2026\r\n"
			   "\r\n"
			   "2026-09-27 workday  # make-up Sunday\r\n"
			   "2026-10-01\t# National Day\r\n"
			   "  2026-10-02\r\n"
			   "2026-10-10\tworkday\r\n"
			   "2026-10-03"; /* no final newline */
	assert_int_equal(cal_parse(&c, text, strlen(text), why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal((int)c.n, 5);
	static const struct {
		const char *date;
		int work;
	} days[] = {
		{"2026-09-26", 0}, /* Saturday */
		{"2026-09-27", 1}, /* Sunday, made a working day */
		{"2026-09-30", 1}, /* Wednesday */
		{"2026-10-01", 0}, {"2026-10-02", 0}, {"2026-10-03", 0}, /* holidays */
		{"2026-10-05", 1}, /* Monday, not listed here */
		{"2026-10-10", 1}, /* Saturday, made a working day */
		{"2026-10-11", 0}, /* Sunday */
	};
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		assert_int_equal(cal_day_from_date(days[i].date, &d), 0);
		if (cal_is_workday(&c, d) != days[i].work)
			fail_msg("%s: workday %d, want %d", days[i].date, cal_is_workday(&c, d),
				 days[i].work);
	}
	assert_int_equal(cal_is_workday(&c, -1), OS_EINVAL);
	assert_int_equal(cal_is_workday(NULL, 0), OS_EINVAL);
	/* A new text replaces the old one; empty text leaves weekends only. */
	assert_int_equal(cal_parse(&c, "", 0, why, sizeof(why)), 0);
	assert_int_equal((int)c.n, 0);
	assert_int_equal(cal_day_from_date("2026-10-01", &d), 0);
	assert_int_equal(cal_is_workday(&c, d), 1);
	assert_int_equal(cal_parse(&c, NULL, 0, why, sizeof(why)), 0);
	assert_int_equal(cal_parse(&c, NULL, 1, why, sizeof(why)), OS_EINVAL);
	cal_clear(&c);
	cal_clear(&c);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		const char *why; /* the whole message */
	} cases[] = {
		{"2026-10-01\n2026-1-02\n", "line 2: \"2026-1-02\" is not a date YYYY-MM-DD"},
		{"# ok\n\n2026-02-30\n", "line 3: 2026-02-30 is not a real date"},
		{"2026-02-29\n", "line 1: 2026-02-29 is not a real date"},
		{"1969-12-31\n", "line 1: 1969-12-31 is before 1970"},
		{"2026-10-01\n2026-10-02 holiday\n",
		 "line 2: unknown word \"holiday\" (a date takes only \"workday\"; names go in a # "
		 "comment)"},
		{"2026-10-01 National Day\n",
		 "line 1: unknown word \"National\" (a date takes only \"workday\"; names go in a # "
		 "comment)"},
		{"2026-10-10 workday extra\n", "line 1: unexpected \"extra\" after \"workday\""},
		{"2026-10-08 workday\n",
		 "line 1: 2026-10-08 is a Monday to Friday, a working day already: a make-up workday "
		 "must be a Saturday or a Sunday"},
		{"2026-10-01\n2026-10-02\n# again\n2026-10-01\n",
		 "line 4: 2026-10-01 is listed already on line 1"},
		{"2026-10-10\n2026-10-10 workday\n",
		 "line 2: 2026-10-10 as a workday conflicts with line 1, a holiday"},
		{"2026-10-10 workday\n\n2026-10-10\n",
		 "line 3: 2026-10-10 as a holiday conflicts with line 1, a workday"},
		{"workday\n", "line 1: \"workday\" is not a date YYYY-MM-DD"},
		{"2026-10-01\n\x01\x02\n", "line 2: \"??\" is not a date YYYY-MM-DD"},
	};
	struct cal c;
	char why[256];
	int32_t d;
	(void)state;
	china(&c, "2026-10-01\n");
	assert_int_equal(cal_day_from_date("2026-10-01", &d), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = cal_parse(&c, cases[i].text, strlen(cases[i].text), why, sizeof(why));
		if (rc != OS_ECONFIG || strcmp(why, cases[i].why) != 0)
			fail_msg("case %zu: rc %d \"%s\", want \"%s\"", i, rc, why, cases[i].why);
		/* All or nothing: the calendar still holds what it held. */
		assert_int_equal((int)c.n, 1);
		assert_int_equal(cal_is_workday(&c, d), 0);
	}
	/* A NUL byte inside the text. */
	static const char nul[] = "2026-10-01\n20\0"
				  "26-10-02\n";
	assert_int_equal(cal_parse(&c, nul, sizeof(nul) - 1, why, sizeof(why)), OS_ECONFIG);
	assert_string_equal(why, "line 2: NUL byte");
	/* A short message buffer is truncated, never overrun; none is fine. */
	char small[8];
	assert_int_equal(cal_parse(&c, "x\n", 2, small, sizeof(small)), OS_ECONFIG);
	assert_string_equal(small, "line 1:");
	assert_int_equal(cal_parse(&c, "x\n", 2, NULL, 0), OS_ECONFIG);
	/* More than CAL_ENTRIES_MAX dates. */
	size_t cap = (CAL_ENTRIES_MAX + 1) * 11 + 1, len = 0;
	char *big = malloc(cap);
	assert_non_null(big);
	for (int32_t day = 0; day <= CAL_ENTRIES_MAX; day++) {
		assert_int_equal(cal_date_from_day(day, big + len), 0);
		len += 10;
		big[len++] = '\n';
	}
	assert_int_equal(cal_parse(&c, big, len - 11, why, sizeof(why)), 0);
	assert_int_equal((int)c.n, CAL_ENTRIES_MAX);
	assert_int_equal(cal_parse(&c, big, len, why, sizeof(why)), OS_ECONFIG);
	assert_string_equal(why, "line 10001: more than 10000 dates");
	free(big);
	cal_clear(&c);
}

static void test_load_file(void **state)
{
	struct cal c;
	char why[512], path[512];
	(void)state;
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	assert_int_equal(cal_init(&c, CHINA), 0);
	snprintf(path, sizeof(path), "%s/holidays", dir);
	assert_int_equal(cal_load_file(&c, path, why, sizeof(why)), OS_EIO);
	assert_non_null(strstr(why, path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("# test\n2026-12-07\n", f);
	fclose(f);
	assert_int_equal(cal_load_file(&c, path, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_string_equal(due_date(&c, at(&c, "2026-12-04", 10, 0), 1), "2026-12-08");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("2026-12-07\n2026-12-07\n", f);
	fclose(f);
	char want[600];
	snprintf(want, sizeof(want), "%s: line 2: 2026-12-07 is listed already on line 1", path);
	assert_int_equal(cal_load_file(&c, path, why, sizeof(why)), OS_ECONFIG);
	assert_string_equal(why, want);
	assert_int_equal((int)c.n, 1);
	cal_clear(&c);
	tu_rm_tree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_zone_offset_matters),
		cmocka_unit_test(test_due_dates),
		cmocka_unit_test(test_overdue_boundary),
		cmocka_unit_test(test_working_days_between),
		cmocka_unit_test(test_parse_china_2026),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_load_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
