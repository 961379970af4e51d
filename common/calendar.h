/* The working-day calendar behind case deadlines (issue #6, "Deadlines"):
 * civil dates in one fixed UTC offset, Monday to Friday minus holidays plus
 * make-up working days, and due dates counted in working days. No I/O, no
 * clock and no TZ or locale: callers pass the times (cal_load_file aside).
 *
 * A day is a day number: days since 1970-01-01 in the calendar's zone.
 * Only dates from 1970-01-01 to 9999-12-31 exist here (CAL_DAY_MAX).
 *
 * Due dates. Something accepted at start_ms with a limit of n working days
 * is due at the last millisecond of the n-th working day after its start
 * day; the start day never counts, whether or not it is a working day, and
 * n = 0 means the end of the start day itself. It is overdue from the
 * millisecond after that: at due_ms it is still on time.
 *
 * Holidays text, one entry a line:
 *
 *   # China 2026 (comments and blank lines are allowed)
 *   2026-10-01          # a holiday
 *   2026-09-27 workday  # a make-up working day (an adjusted weekend day)
 *
 * A line is a date YYYY-MM-DD, optionally the word `workday`, optionally a
 * `#` comment; spaces and tabs separate them and CR LF endings are fine.
 * Any other word is an error: names of holidays go in the comment. A
 * holiday may fall on any day (China's holiday weeks include weekends); a
 * make-up working day must be a Saturday or a Sunday. A date listed twice,
 * as the same kind or as both, is refused. */
#ifndef OS_CALENDAR_H
#define OS_CALENDAR_H

#include <stddef.h>
#include <stdint.h>

#define CAL_DAY_MAX 2932896          /* 9999-12-31 */
#define CAL_OFFSET_MAX_MIN (14 * 60) /* UTC offsets from -14:00 to +14:00 */
#define CAL_DUE_DAYS_MAX 3650        /* the largest n of cal_due */
#define CAL_ENTRIES_MAX 10000        /* holidays + make-up days of one calendar */
#define CAL_FILE_MAX (1024 * 1024)   /* the largest file cal_load_file reads */
#define CAL_DATE_LEN 11              /* "YYYY-MM-DD" and its NUL */

/* One listed day, kept sorted by day. */
struct cal_entry {
	int32_t day;
	uint8_t workday; /* 1: make-up working day; 0: holiday */
};

/* A calendar. Initialise with cal_init, free with cal_clear; the fields
 * are read-only for callers. Not thread-safe for writes; concurrent reads
 * are fine. */
struct cal {
	int32_t offset_min;        /* the zone: minutes east of UTC (+480: China) */
	struct cal_entry *entries; /* owned, sorted by day, no day twice */
	size_t n;
};

/* An empty calendar (weekends only) in the zone offset_min minutes east of
 * UTC. 0, or OS_EINVAL when c is NULL or |offset_min| > CAL_OFFSET_MAX_MIN
 * (c is then still safe to cal_clear). */
int cal_init(struct cal *c, int32_t offset_min);

/* Free what c owns and leave it empty (weekends only), keeping its zone.
 * c may be NULL; calling it twice is fine. */
void cal_clear(struct cal *c);

/* Replace c's holidays and make-up days with those of the holidays text
 * (format above) in text[0..len), which need not be NUL-terminated and is
 * only borrowed for the call. All or nothing: on any error c is unchanged.
 * why (may be NULL when why_size is 0) receives a NUL-terminated message
 * naming the line and the reason ("line 3: 2026-02-30 is not a date"), or
 * "" on success; it is truncated to why_size.
 * Returns 0; OS_ECONFIG for a bad line (not a date, a date outside
 * 1970..9999, an unknown word, a make-up day that is not a weekend day, a
 * date listed twice, more than CAL_ENTRIES_MAX entries, a NUL byte);
 * OS_EINVAL when c is NULL, or text is NULL with len > 0; OS_ENOMEM. */
int cal_parse(struct cal *c, const char *text, size_t len, char *why, size_t why_size);

/* Read the holidays file at path (at most CAL_FILE_MAX bytes) and
 * cal_parse it into c; the only function here that does I/O. why as for
 * cal_parse; for a file error it names the path. Returns cal_parse's codes,
 * or OS_EIO (cannot read it), OS_ETOOBIG (larger than CAL_FILE_MAX). On
 * any error c is unchanged. */
int cal_load_file(struct cal *c, const char *path, char *why, size_t why_size);

/* The day number of the date s: exactly "YYYY-MM-DD" and a NUL, a real
 * date (2026-02-29 is not) from 1970-01-01 to 9999-12-31. 0 and *day, or
 * OS_EINVAL. */
int cal_day_from_date(const char *s, int32_t *day);

/* Write day as "YYYY-MM-DD" into out. 0, or OS_EINVAL (day outside
 * 0..CAL_DAY_MAX; out is then ""). */
int cal_date_from_day(int32_t day, char out[CAL_DATE_LEN]);

/* The day, in c's zone, that holds the instant ms (Unix milliseconds).
 * 0 and *day, or OS_EINVAL (c NULL, or the day is outside 1970..9999). */
int cal_day_from_ms(const struct cal *c, uint64_t ms, int32_t *day);

/* The last millisecond of day in c's zone (the next day starts at
 * *ms + 1). 0 and *ms, or OS_EINVAL (c NULL, day outside 0..CAL_DAY_MAX). */
int cal_day_end_ms(const struct cal *c, int32_t day, uint64_t *ms);

/* The day of the week of day: 0 Sunday, 1 Monday, ... 6 Saturday, or
 * OS_EINVAL for a day outside 0..CAL_DAY_MAX. */
int cal_weekday(int32_t day);

/* 1 when day is a working day in c (Monday to Friday and not a holiday,
 * or a make-up working day), 0 when it is not; OS_EINVAL when c is NULL or
 * day is outside 0..CAL_DAY_MAX. */
int cal_is_workday(const struct cal *c, int32_t day);

/* The deadline of something accepted at start_ms with a limit of n_days
 * working days: the last millisecond of the n_days-th working day after
 * the start day (n_days = 0: the end of the start day); see the top of
 * this file. 0 and *due_ms; OS_EINVAL when c or due_ms is NULL, n_days >
 * CAL_DUE_DAYS_MAX, start_ms lies outside 1970..9999 in c's zone, or the
 * deadline would fall after 9999-12-31. */
int cal_due(const struct cal *c, uint64_t start_ms, uint32_t n_days, uint64_t *due_ms);

/* 1 when a deadline due_ms has passed at now_ms (now_ms > due_ms), else 0:
 * due_ms itself is on time. */
int cal_is_overdue(uint64_t due_ms, uint64_t now_ms);

/* The number of working days strictly after from_ms's day up to and
 * including to_ms's day, in c's zone; 0 when to's day is not after from's.
 * So for a deadline of n days from cal_due, a case accepted at from_ms and
 * finished at to_ms (to_ms <= due_ms) used at most n of them. 0 and
 * *count; OS_EINVAL when c or count is NULL or either time lies outside
 * 1970..9999 in c's zone. */
int cal_working_days_between(const struct cal *c, uint64_t from_ms, uint64_t to_ms,
			     uint32_t *count);

#endif
