/* Small helpers every module uses: clocks, hex, big-endian integers, the
 * syntax of node names, topics and message types, and whole-file reads and
 * atomic (temp file, fsync, rename, fsync dir) writes. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "err.h"

uint64_t os_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t os_mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void os_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

static int util_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int os_unhex(uint8_t *out, size_t n, const char *s)
{
	if (s == NULL)
		return OS_EINVAL;
	/* Check the whole string first so out is untouched on failure. */
	for (size_t i = 0; i < 2 * n; i++)
		if (s[i] == '\0' || util_hexval(s[i]) < 0)
			return OS_EINVAL;
	if (s[2 * n] != '\0')
		return OS_EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(util_hexval(s[2 * i]) << 4 | util_hexval(s[2 * i + 1]));
	return 0;
}

void os_put_u64be(uint8_t out[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		out[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

uint64_t os_get_u64be(const uint8_t in[8])
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | in[i];
	return v;
}

#define UTIL_LABEL_MAX 32
#define UTIL_LABELS_MAX 8

int os_name_valid(const char *name)
{
	if (name == NULL)
		return OS_ENAME;
	size_t label_len = 0;
	unsigned labels = 1;
	const char *p = name;
	for (; *p != '\0'; p++) {
		char c = *p;
		if (c == '.') {
			if (label_len == 0)
				return OS_ENAME;
			if (++labels > UTIL_LABELS_MAX)
				return OS_ENAME;
			label_len = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return OS_ENAME;
		if (++label_len > UTIL_LABEL_MAX)
			return OS_ENAME;
	}
	/* Covers the empty name and a trailing dot. */
	if (label_len == 0)
		return OS_ENAME;
	return 0;
}

int os_dest_valid(const char *dest)
{
	if (dest == NULL)
		return OS_ENAME;
	if (dest[0] == '@')
		return os_name_valid(dest + 1);
	return os_name_valid(dest);
}

int os_type_valid(const char *type)
{
	if (type == NULL)
		return OS_EINVAL;
	size_t n = 0;
	for (const char *p = type; *p != '\0'; p++, n++) {
		char c = *p;
		if (n >= 128)
			return OS_EINVAL;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return OS_EINVAL;
	}
	return n == 0 ? OS_EINVAL : 0;
}

int os_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
	int rc = OS_EIO;
	uint8_t *buf = NULL;
	size_t cap = 0, used = 0;
	/* max + 1 must not wrap: "no limit" is the largest size we can hold. */
	if (max >= SIZE_MAX / 2)
		max = SIZE_MAX / 2 - 1;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return OS_EIO;
	struct stat st;
	if (fstat(fd, &st) != 0)
		goto out;
	if (S_ISDIR(st.st_mode))
		goto out;
	if (st.st_size > 0 && (uint64_t)st.st_size > max) {
		rc = OS_ETOOBIG;
		goto out;
	}
	/* The size is a hint only (pipes and /proc report 0): read to EOF,
	 * never past max. */
	cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	if (cap > max + 1)
		cap = max + 1;
	buf = malloc(cap ? cap : 1);
	if (buf == NULL) {
		rc = OS_ENOMEM;
		goto out;
	}
	for (;;) {
		if (used == cap) {
			if (cap > max) {
				rc = OS_ETOOBIG;
				goto out;
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			uint8_t *nb = realloc(buf, ncap);
			if (nb == NULL) {
				rc = OS_ENOMEM;
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + used, cap - used);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		used += (size_t)r;
		if (used > max) {
			rc = OS_ETOOBIG;
			goto out;
		}
	}
	*out = buf;
	*len = used;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

static int util_write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return OS_EIO;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Make a rename durable: fsync the directory that holds path. */
static int util_fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL) {
		strcpy(dir, ".");
	} else if (slash == path) {
		strcpy(dir, "/");
	} else {
		size_t n = (size_t)(slash - path);
		if (n >= sizeof(dir))
			return OS_EIO;
		memcpy(dir, path, n);
		dir[n] = '\0';
	}
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return OS_EIO;
	int rc = fsync(fd) == 0 ? 0 : OS_EIO;
	close(fd);
	return rc;
}

int os_write_file(const char *path, const void *data, size_t len, int mode, int excl)
{
	int rc = OS_EIO;
	int fd = -1;
	char tmp[PATH_MAX];
	int have_tmp = 0;

	if (path == NULL || path[0] == '\0')
		return OS_EINVAL;
	if (excl && access(path, F_OK) == 0)
		return OS_EEXIST;
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return OS_EINVAL;
	fd = mkstemp(tmp);
	if (fd < 0)
		return OS_EIO;
	have_tmp = 1;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto out;
	if ((rc = util_write_all(fd, data, len)) != 0)
		goto out;
	rc = OS_EIO;
	if (fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (excl) {
		/* link() fails if path appeared meanwhile: no overwrite race. */
		if (link(tmp, path) != 0) {
			rc = errno == EEXIST ? OS_EEXIST : OS_EIO;
			if (errno == EEXIST || (errno != EPERM && errno != ENOTSUP))
				goto out;
			/* File systems without hard links: best effort. */
			if (access(path, F_OK) == 0) {
				rc = OS_EEXIST;
				goto out;
			}
			if (rename(tmp, path) != 0) {
				rc = OS_EIO;
				goto out;
			}
		} else {
			unlink(tmp);
		}
	} else if (rename(tmp, path) != 0) {
		goto out;
	}
	have_tmp = 0;
	rc = util_fsync_dir(path);
out:
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	return rc;
}

const char *os_iso_time(char out[OS_ISO_TIME_MAX], uint64_t ms)
{
	time_t secs = (time_t)(ms / 1000u);
	struct tm tm;

	if (ms / 1000u > (uint64_t)INT64_MAX || gmtime_r(&secs, &tm) == NULL ||
	    tm.tm_year + 1900 > 9999) {
		snprintf(out, OS_ISO_TIME_MAX, "@%llu", (unsigned long long)ms);
		return out;
	}
	/* Fields are bounded by gmtime_r (and the year by the check above):
	 * 24 characters and the NUL always fit. */
	snprintf(out, OS_ISO_TIME_MAX, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned)(tm.tm_year + 1900) % 10000u, (unsigned)(tm.tm_mon + 1) % 100u,
		 (unsigned)tm.tm_mday % 100u, (unsigned)tm.tm_hour % 100u,
		 (unsigned)tm.tm_min % 100u, (unsigned)tm.tm_sec % 100u, (unsigned)(ms % 1000u));
	return out;
}
