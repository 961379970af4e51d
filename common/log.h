/* One line per event, key=value, to stderr:
 *   ts=2026-11-27T02:15:00.123Z level=info event=msg_accepted id=... */
#ifndef OS_LOG_H
#define OS_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

enum os_log_level { OS_LOG_DEBUG, OS_LOG_INFO, OS_LOG_WARN, OS_LOG_ERROR };

/* Set the least level printed (default OS_LOG_INFO). */
void os_log_set_level(enum os_log_level level);

/* 1 when a line of level would be printed (to skip building costly
 * fields of lines that would not), else 0. */
int os_log_enabled(enum os_log_level level);

/* Parse "debug", "info", "warn", "error"; 0 or OS_EINVAL. */
int os_log_parse_level(const char *s, enum os_log_level *out);

/* Print one line: ts, level, event, then fmt (which should itself be
 * space-separated key=value pairs; values holding spaces are the caller's
 * to quote). Never logs payloads or secrets: callers pass ids and sizes. */
void os_log(enum os_log_level level, const char *event, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Quote s as one logfmt value into buf (size bytes, at least 3): a double
 * quote, s with '"' and '\\' escaped by a backslash and every other byte
 * outside printable ASCII written as \xNN, and a closing quote; cut short
 * (still closed) when buf is too small. Text that came from the network or
 * from a user goes through here before it reaches a log line. Returns buf. */
const char *os_log_quote(char *buf, size_t size, const char *s);

/* A rate limit for one kind of repeated line (one per event name, e.g. a
 * static one beside the os_log call): at most burst lines per interval_ms;
 * the lines over it are counted, not written, and the first line allowed
 * in a later interval is preceded by one summary line
 *   event=log_suppressed of=EVENT suppressed=K interval_ms=MS
 * Start it with OS_LOG_LIMIT(burst, interval_ms). Not thread-safe (each
 * daemon logs from its one loop thread). */
struct os_log_limit {
	unsigned burst;
	uint64_t interval_ms;
	uint64_t window_ms; /* start of the current interval */
	unsigned used;      /* lines written in it */
	uint64_t suppressed;
};
#define OS_LOG_LIMIT(burst, interval_ms)        \
	{                                       \
		(burst), (interval_ms), 0, 0, 0 \
	}

/* 1 when one more line of event may be written at now_ms (writing the
 * summary of what lim suppressed before, if a new interval began), 0 when
 * this one is suppressed (and counted). */
int os_log_allow(struct os_log_limit *lim, const char *event, uint64_t now_ms);

/* Lines suppressed and not yet summarised by lim. */
uint64_t os_log_suppressed(const struct os_log_limit *lim);

/* os_log through the rate limit lim. */
#define os_log_limited(lim, level, event, ...)                 \
	do {                                                   \
		if (os_log_allow((lim), (event), os_now_ms())) \
			os_log((level), (event), __VA_ARGS__); \
	} while (0)

#define OS_LOG_QUOTE_MAX 256
/* os_log_quote into a buffer that lives until the end of the enclosing
 * block: os_log(..., "reason=%s", OS_Q(why)). NULL quotes as "". */
#define OS_Q(s) os_log_quote((char[OS_LOG_QUOTE_MAX]){0}, OS_LOG_QUOTE_MAX, (s))

#endif
