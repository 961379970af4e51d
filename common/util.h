/* Small helpers every module uses: clocks, hex, big-endian integers, and the
 * syntax of node names and topics. */
#ifndef OS_UTIL_H
#define OS_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, Unix milliseconds. */
uint64_t os_now_ms(void);
/* Monotonic clock, microseconds; for intervals and benchmarks. */
uint64_t os_mono_us(void);

#define OS_ISO_TIME_MAX 32
/* Unix milliseconds as UTC ISO 8601 with milliseconds into out:
 * "2026-01-31T12:00:00.892Z"; "@MS" when the time cannot be represented.
 * Returns out. */
const char *os_iso_time(char out[OS_ISO_TIME_MAX], uint64_t ms);

/* Write 2*n lowercase hex chars and a NUL to out (size >= 2*n+1). */
void os_hex(char *out, const uint8_t *in, size_t n);
/* Decode exactly 2*n hex chars of s into out; 0 or OS_EINVAL. */
int os_unhex(uint8_t *out, size_t n, const char *s);

void os_put_u64be(uint8_t out[8], uint64_t v);
uint64_t os_get_u64be(const uint8_t in[8]);

#define OS_NAME_MAX 296 /* 8 labels of 32 plus 7 dots, and '@' and NUL */

/* Node names: dotted, lowercase labels [a-z0-9-]{1,32}, at most 8 labels.
 * 0 or OS_ENAME. */
int os_name_valid(const char *name);
/* A destination: a node name or "@" followed by a valid name. 0 or OS_ENAME. */
int os_dest_valid(const char *dest);
/* Message types: [A-Za-z0-9._-]{1,128}. 0 or OS_EINVAL. */
int os_type_valid(const char *type);

/* Read a whole file (at most max bytes) into a malloc'd buffer the caller
 * frees. 0, OS_EIO, OS_ETOOBIG or OS_ENOMEM. */
int os_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* Write a file atomically (temp file, fsync, rename) with the given mode.
 * If excl is nonzero and path exists, fail with OS_EEXIST. */
int os_write_file(const char *path, const void *data, size_t len, int mode, int excl);

#endif
