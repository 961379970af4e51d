/* Event log: one key=value line per event on stderr, each written with a
 * single write(2) so lines from several processes sharing stderr (or a
 * journal) never interleave; and the rate limit of repeated lines. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

#define LOG_LINE_MAX 4096

static enum os_log_level log_min = OS_LOG_INFO;

static const char *const log_names[] = {
	[OS_LOG_DEBUG] = "debug",
	[OS_LOG_INFO] = "info",
	[OS_LOG_WARN] = "warn",
	[OS_LOG_ERROR] = "error",
};

void os_log_set_level(enum os_log_level level)
{
	if (level >= OS_LOG_DEBUG && level <= OS_LOG_ERROR)
		log_min = level;
}

int os_log_enabled(enum os_log_level level)
{
	return level >= log_min && level <= OS_LOG_ERROR;
}

int os_log_parse_level(const char *s, enum os_log_level *out)
{
	if (s == NULL)
		return OS_EINVAL;
	for (int l = OS_LOG_DEBUG; l <= OS_LOG_ERROR; l++) {
		if (strcmp(s, log_names[l]) == 0) {
			*out = (enum os_log_level)l;
			return 0;
		}
	}
	return OS_EINVAL;
}

void os_log(enum os_log_level level, const char *event, const char *fmt, ...)
{
	if (level < log_min || level > OS_LOG_ERROR)
		return;
	int saved_errno = errno;
	char line[LOG_LINE_MAX];
	char ts[OS_ISO_TIME_MAX];
	os_iso_time(ts, os_now_ms());
	int n = snprintf(line, sizeof(line), "ts=%s level=%s event=%s", ts, log_names[level],
			 event ? event : "unnamed");
	if (n < 0)
		goto restore;
	size_t used = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	if (fmt != NULL && fmt[0] != '\0' && used < sizeof(line) - 2) {
		line[used] = ' ';
		va_list ap;
		va_start(ap, fmt);
		n = vsnprintf(line + used + 1, sizeof(line) - used - 1, fmt, ap);
		va_end(ap);
		/* Nothing formatted (e.g. "%s" of ""): no trailing space. */
		if (n > 0) {
			size_t room = sizeof(line) - used - 1;
			used += 1 + ((size_t)n < room ? (size_t)n : room - 1);
		}
	}
	/* Keep one event on one line even if a value held a newline. */
	for (size_t i = 0; i < used; i++)
		if (line[i] == '\n' || line[i] == '\r')
			line[i] = ' ';
	if (used > sizeof(line) - 2)
		used = sizeof(line) - 2;
	line[used++] = '\n';
	ssize_t w;
	do {
		w = write(STDERR_FILENO, line, used);
	} while (w < 0 && errno == EINTR);
restore:
	errno = saved_errno;
}

const char *os_log_quote(char *buf, size_t size, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;

	if (size < 3) {
		if (size > 0)
			buf[0] = 0;
		return buf;
	}
	buf[n++] = '"';
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		size_t need = ch == '"' || ch == '\\' ? 2 : (ch < 0x20 || ch > 0x7e) ? 4 : 1;

		if (n + need + 2 > size)
			break;
		if (need == 2) {
			buf[n++] = '\\';
			buf[n++] = (char)ch;
		} else if (need == 4) {
			buf[n++] = '\\';
			buf[n++] = 'x';
			buf[n++] = hex[ch >> 4];
			buf[n++] = hex[ch & 15];
		} else {
			buf[n++] = (char)ch;
		}
	}
	buf[n++] = '"';
	buf[n] = 0;
	return buf;
}

int os_log_allow(struct os_log_limit *lim, const char *event, uint64_t now_ms)
{
	if (lim == NULL)
		return 1;
	if (lim->window_ms == 0 || now_ms < lim->window_ms ||
	    now_ms - lim->window_ms >= lim->interval_ms) {
		if (lim->suppressed > 0)
			os_log(OS_LOG_WARN, "log_suppressed",
			       "of=%s suppressed=%llu interval_ms=%llu", event ? event : "unnamed",
			       (unsigned long long)lim->suppressed,
			       (unsigned long long)lim->interval_ms);
		lim->window_ms = now_ms ? now_ms : 1;
		lim->used = 0;
		lim->suppressed = 0;
	}
	if (lim->used < lim->burst) {
		lim->used++;
		return 1;
	}
	lim->suppressed++;
	return 0;
}

uint64_t os_log_suppressed(const struct os_log_limit *lim)
{
	return lim ? lim->suppressed : 0;
}
