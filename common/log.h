/* One line per event, key=value, to stderr:
 *   ts=2026-11-27T02:15:00.123Z level=info event=msg_accepted id=... */
#ifndef OS_LOG_H
#define OS_LOG_H

#include <stddef.h>

enum os_log_level { OS_LOG_DEBUG, OS_LOG_INFO, OS_LOG_WARN, OS_LOG_ERROR };

/* Set the least level printed (default OS_LOG_INFO). */
void os_log_set_level(enum os_log_level level);

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

#define OS_LOG_QUOTE_MAX 256
/* os_log_quote into a buffer that lives until the end of the enclosing
 * block: os_log(..., "reason=%s", OS_Q(why)). NULL quotes as "". */
#define OS_Q(s) os_log_quote((char[OS_LOG_QUOTE_MAX]){0}, OS_LOG_QUOTE_MAX, (s))

#endif
