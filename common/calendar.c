/* The working-day calendar (calendar.h): civil-date arithmetic done here
 * (days from and to a Gregorian date, after Howard Hinnant's algorithms),
 * the holidays text parser, and due dates counted in working days. */
#include "calendar.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "util.h"

#define MS_PER_DAY 86400000LL
/* Beyond this no instant has a day in range, whatever the zone: checked
 * before any arithmetic, so nothing below can overflow. */
#define MS_LIMIT ((uint64_t)(CAL_DAY_MAX + 2) * (uint64_t)MS_PER_DAY)

/* ------------------------------------------------------------ civil dates */

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
	static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* Days since 1970-01-01 of a valid date with y >= 0 (so every division
 * below is of non-negative numbers). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = y / 400;
	int64_t yoe = y - era * 400;                                   /* 0..399 */
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* 0..365 */
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
	return era * 146097 + doe - 719468;
}

/* The inverse, for day >= 0. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	z += 719468;
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

enum date_fault { DATE_OK, DATE_SHAPE, DATE_UNREAL, DATE_RANGE };

/* s[0..len) as YYYY-MM-DD: the fault, and *day when DATE_OK. */
static enum date_fault parse_date(const char *s, size_t len, int32_t *day)
{
	static const char shape[] = "dddd-dd-dd";
	if (len != sizeof(shape) - 1)
		return DATE_SHAPE;
	for (size_t i = 0; i < len; i++) {
		int digit = s[i] >= '0' && s[i] <= '9';
		if (shape[i] == 'd' ? !digit : s[i] != '-')
			return DATE_SHAPE;
	}
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return DATE_UNREAL;
	if (y < 1970)
		return DATE_RANGE;
	*day = (int32_t)days_from_civil(y, m, d);
	return DATE_OK;
}

int cal_day_from_date(const char *s, int32_t *day)
{
	if (s == NULL || day == NULL)
		return OS_EINVAL;
	return parse_date(s, strnlen(s, 16), day) == DATE_OK ? 0 : OS_EINVAL;
}

int cal_date_from_day(int32_t day, char out[CAL_DATE_LEN])
{
	int64_t y;
	int m, d;
	if (out == NULL)
		return OS_EINVAL;
	out[0] = '\0';
	if (day < 0 || day > CAL_DAY_MAX)
		return OS_EINVAL;
	civil_from_days(day, &y, &m, &d);
	/* Digit by digit: y is 1970..9999, m 1..12, d 1..31 here. */
	int v[3] = {(int)y, m, d}, width[3] = {4, 2, 2}, at = 0;
	for (int f = 0; f < 3; f++) {
		for (int i = width[f] - 1; i >= 0; i--) {
			out[at + i] = (char)('0' + v[f] % 10);
			v[f] /= 10;
		}
		at += width[f];
		out[at++] = f < 2 ? '-' : '\0';
	}
	return 0;
}

int cal_weekday(int32_t day)
{
	if (day < 0 || day > CAL_DAY_MAX)
		return OS_EINVAL;
	return (day + 4) % 7; /* 1970-01-01 was a Thursday */
}

static int is_weekend(int32_t day)
{
	int wd = (day + 4) % 7;
	return wd == 0 || wd == 6;
}

/* ------------------------------------------------------------ the calendar */

int cal_init(struct cal *c, int32_t offset_min)
{
	if (c == NULL)
		return OS_EINVAL;
	memset(c, 0, sizeof(*c));
	if (offset_min < -CAL_OFFSET_MAX_MIN || offset_min > CAL_OFFSET_MAX_MIN)
		return OS_EINVAL;
	c->offset_min = offset_min;
	return 0;
}

void cal_clear(struct cal *c)
{
	if (c == NULL)
		return;
	free(c->entries);
	c->entries = NULL;
	c->n = 0;
}

/* The entry of day, or NULL. */
static const struct cal_entry *find(const struct cal *c, int32_t day)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->entries[mid].day == day)
			return &c->entries[mid];
		if (c->entries[mid].day < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int cal_is_workday(const struct cal *c, int32_t day)
{
	if (c == NULL || day < 0 || day > CAL_DAY_MAX)
		return OS_EINVAL;
	const struct cal_entry *e = find(c, day);
	if (e != NULL)
		return e->workday;
	return !is_weekend(day);
}

int cal_day_from_ms(const struct cal *c, uint64_t ms, int32_t *day)
{
	if (c == NULL || day == NULL || ms >= MS_LIMIT)
		return OS_EINVAL;
	int64_t local = (int64_t)ms + (int64_t)c->offset_min * 60000;
	if (local < 0 || local / MS_PER_DAY > CAL_DAY_MAX)
		return OS_EINVAL;
	*day = (int32_t)(local / MS_PER_DAY);
	return 0;
}

int cal_day_end_ms(const struct cal *c, int32_t day, uint64_t *ms)
{
	if (c == NULL || ms == NULL || day < 0 || day > CAL_DAY_MAX)
		return OS_EINVAL;
	/* Positive for day 0 too: the offset is at most 14 h. */
	*ms = (uint64_t)(((int64_t)day + 1) * MS_PER_DAY - 1 - (int64_t)c->offset_min * 60000);
	return 0;
}

int cal_due(const struct cal *c, uint64_t start_ms, uint32_t n_days, uint64_t *due_ms)
{
	int32_t day;
	if (c == NULL || due_ms == NULL || n_days > CAL_DUE_DAYS_MAX)
		return OS_EINVAL;
	int rc = cal_day_from_ms(c, start_ms, &day);
	if (rc != 0)
		return rc;
	/* At most n_days * 7 / 5 + CAL_ENTRIES_MAX steps: bounded. */
	for (uint32_t left = n_days; left > 0;) {
		if (day >= CAL_DAY_MAX)
			return OS_EINVAL;
		day++;
		if (cal_is_workday(c, day) == 1)
			left--;
	}
	return cal_day_end_ms(c, day, due_ms);
}

int cal_is_overdue(uint64_t due_ms, uint64_t now_ms)
{
	return now_ms > due_ms;
}

/* Mondays to Fridays among days 0..d-1. */
static int64_t weekdays_before(int64_t d)
{
	int64_t n = d / 7 * 5;
	/* Each block of 7 days starts on a Thursday, like day 0. */
	for (int64_t i = 0; i < d % 7; i++) {
		int wd = (int)((i + 4) % 7);
		n += wd != 0 && wd != 6;
	}
	return n;
}

int cal_working_days_between(const struct cal *c, uint64_t from_ms, uint64_t to_ms, uint32_t *count)
{
	int32_t a, b;
	if (c == NULL || count == NULL)
		return OS_EINVAL;
	if (cal_day_from_ms(c, from_ms, &a) != 0 || cal_day_from_ms(c, to_ms, &b) != 0)
		return OS_EINVAL;
	if (b <= a) {
		*count = 0;
		return 0;
	}
	int64_t n = weekdays_before((int64_t)b + 1) - weekdays_before((int64_t)a + 1);
	/* Then the listed days in (a, b]: a holiday takes a weekday away, a
	 * make-up day (always a weekend day) adds one. */
	for (size_t i = 0; i < c->n; i++) {
		const struct cal_entry *e = &c->entries[i];
		if (e->day <= a)
			continue;
		if (e->day > b)
			break;
		if (e->workday)
			n++;
		else if (!is_weekend(e->day))
			n--;
	}
	*count = (uint32_t)n;
	return 0;
}

/* ------------------------------------------------------------ the parser */

/* An entry and the line it came from, while parsing. */
struct pentry {
	struct cal_entry e;
	size_t line;
};

static int pentry_cmp(const void *x, const void *y)
{
	const struct pentry *p = x, *q = y;
	if (p->e.day != q->e.day)
		return p->e.day < q->e.day ? -1 : 1;
	return p->line < q->line ? -1 : p->line > q->line;
}

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

/* A word of the text for a message: at most 32 bytes, anything outside
 * printable ASCII as '?'. */
static void show(char out[40], const char *s, size_t len)
{
	size_t n = len < 32 ? len : 32;
	for (size_t i = 0; i < n; i++)
		out[i] = s[i] > ' ' && s[i] < 127 ? s[i] : '?';
	memcpy(out + n, len > n ? "..." : "", len > n ? 4 : 1);
}

static void say(char *why, size_t why_size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t why_size, const char *fmt, ...)
{
	va_list ap;
	if (why == NULL || why_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_size, fmt, ap);
	va_end(ap);
}

/* One line, s[0..len) without its newline: 0 with *got 0 (nothing on it)
 * or 1 (*e filled), or OS_ECONFIG with why filled. */
static int parse_line(const char *s, size_t len, size_t line, struct cal_entry *e, int *got,
		      char *why, size_t why_size)
{
	char w[40];
	const char *hash = memchr(s, '#', len);
	if (hash != NULL)
		len = (size_t)(hash - s);
	*got = 0;
	size_t i = 0;
	const char *word[3];
	size_t wlen[3];
	int nw = 0;
	while (nw < 3) {
		while (i < len && (is_blank(s[i]) || s[i] == '\r'))
			i++;
		if (i == len)
			break;
		word[nw] = s + i;
		while (i < len && !is_blank(s[i]) && s[i] != '\r')
			i++;
		wlen[nw] = (size_t)(s + i - word[nw]);
		nw++;
	}
	if (nw == 0)
		return 0;
	show(w, word[0], wlen[0]);
	switch (parse_date(word[0], wlen[0], &e->day)) {
	case DATE_OK:
		break;
	case DATE_SHAPE:
		say(why, why_size, "line %zu: \"%s\" is not a date YYYY-MM-DD", line, w);
		return OS_ECONFIG;
	case DATE_UNREAL:
		say(why, why_size, "line %zu: %s is not a real date", line, w);
		return OS_ECONFIG;
	case DATE_RANGE:
		say(why, why_size, "line %zu: %s is before 1970", line, w);
		return OS_ECONFIG;
	}
	e->workday = 0;
	if (nw >= 2) {
		if (wlen[1] != 7 || memcmp(word[1], "workday", 7) != 0) {
			show(w, word[1], wlen[1]);
			say(why, why_size,
			    "line %zu: unknown word \"%s\" (a date takes only \"workday\"; "
			    "names go in a # comment)",
			    line, w);
			return OS_ECONFIG;
		}
		e->workday = 1;
	}
	if (nw == 3) {
		show(w, word[2], wlen[2]);
		say(why, why_size, "line %zu: unexpected \"%s\" after \"workday\"", line, w);
		return OS_ECONFIG;
	}
	if (e->workday && !is_weekend(e->day)) {
		show(w, word[0], wlen[0]);
		say(why, why_size,
		    "line %zu: %s is a Monday to Friday, a working day already: a make-up "
		    "workday must be a Saturday or a Sunday",
		    line, w);
		return OS_ECONFIG;
	}
	*got = 1;
	return 0;
}

int cal_parse(struct cal *c, const char *text, size_t len, char *why, size_t why_size)
{
	int rc = 0;
	struct pentry *p = NULL;
	size_t n = 0, cap = 0, line = 0;
	char date[CAL_DATE_LEN];
	say(why, why_size, "%s", "");
	if (c == NULL || (text == NULL && len > 0)) {
		say(why, why_size, "no calendar or no text");
		return OS_EINVAL;
	}
	for (size_t at = 0; at < len;) {
		const char *s = text + at;
		const char *nl = memchr(s, '\n', len - at);
		size_t l = nl != NULL ? (size_t)(nl - s) : len - at;
		at += l + (nl != NULL);
		line++;
		if (memchr(s, '\0', l) != NULL) {
			say(why, why_size, "line %zu: NUL byte", line);
			rc = OS_ECONFIG;
			goto out;
		}
		struct cal_entry e;
		int got;
		rc = parse_line(s, l, line, &e, &got, why, why_size);
		if (rc != 0)
			goto out;
		if (!got)
			continue;
		if (n == CAL_ENTRIES_MAX) {
			say(why, why_size, "line %zu: more than %d dates", line, CAL_ENTRIES_MAX);
			rc = OS_ECONFIG;
			goto out;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			struct pentry *np = realloc(p, ncap * sizeof(*p));
			if (np == NULL) {
				say(why, why_size, "out of memory");
				rc = OS_ENOMEM;
				goto out;
			}
			p = np;
			cap = ncap;
		}
		p[n].e = e;
		p[n].line = line;
		n++;
	}
	/* Sorted by day, then line: of two entries of one day, the second one
	 * listed is the one refused. */
	if (n > 0)
		qsort(p, n, sizeof(*p), pentry_cmp);
	for (size_t i = 1; i < n; i++) {
		if (p[i].e.day != p[i - 1].e.day)
			continue;
		cal_date_from_day(p[i].e.day, date);
		if (p[i].e.workday == p[i - 1].e.workday)
			say(why, why_size, "line %zu: %s is listed already on line %zu", p[i].line,
			    date, p[i - 1].line);
		else
			say(why, why_size, "line %zu: %s as a %s conflicts with line %zu, a %s",
			    p[i].line, date, p[i].e.workday ? "workday" : "holiday", p[i - 1].line,
			    p[i - 1].e.workday ? "workday" : "holiday");
		rc = OS_ECONFIG;
		goto out;
	}
	struct cal_entry *entries = NULL;
	if (n > 0) {
		entries = malloc(n * sizeof(*entries));
		if (entries == NULL) {
			say(why, why_size, "out of memory");
			rc = OS_ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			entries[i] = p[i].e;
	}
	free(c->entries);
	c->entries = entries;
	c->n = n;
out:
	free(p);
	return rc;
}

int cal_load_file(struct cal *c, const char *path, char *why, size_t why_size)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	char inner[256];
	say(why, why_size, "%s", "");
	if (c == NULL || path == NULL) {
		say(why, why_size, "no calendar or no path");
		return OS_EINVAL;
	}
	int rc = os_read_file(path, CAL_FILE_MAX, &buf, &len);
	if (rc == OS_ETOOBIG) {
		say(why, why_size, "%s: larger than %d bytes", path, CAL_FILE_MAX);
		return rc;
	}
	if (rc != 0) {
		say(why, why_size, "%s: cannot read it (%s)", path, os_strerror(rc));
		return rc;
	}
	rc = cal_parse(c, (const char *)buf, len, inner, sizeof(inner));
	if (rc != 0)
		say(why, why_size, "%s: %s", path, inner);
	free(buf);
	return rc;
}
