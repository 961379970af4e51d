/* What the benchmarks share (benchutil.h): the monotonic clock, sorting and
 * percentiles of samples, and the loop that receives and acks an inbox. */
#include "benchutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

#define BU_RECV_MAX 1000 /* messages per onestop_recv */

uint64_t bu_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;

	return a < b ? -1 : a > b;
}

void bu_sort_u64(uint64_t *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_u64);
}

void bu_sort_double(double *v, size_t n)
{
	if (n > 1)
		qsort(v, n, sizeof *v, cmp_double);
}

uint64_t bu_pct(const uint64_t *sorted, size_t n, unsigned pct)
{
	if (n == 0)
		return 0;
	return sorted[(n - 1) * (pct > 100 ? 100 : pct) / 100];
}

void *bu_receive(void *arg)
{
	struct bu_receiver *r = arg;
	onestop_t *c = NULL;
	uint64_t *seqs = malloc(BU_RECV_MAX * sizeof *seqs);
	uint64_t end = h_now_ms() + (uint64_t)r->deadline_ms;

	if (seqs == NULL || net_connect(r->p, 30000, &c) != 0) {
		r->failed = 1;
		goto out;
	}
	while (!r->done(r->arg) && h_now_ms() < end) {
		onestop_msg_t *m = NULL;
		size_t n = 0;

		if (onestop_recv(c, BU_RECV_MAX, r->wait_ms, &m, &n) != 0)
			continue;
		uint64_t now = os_mono_us();
		for (size_t i = 0; i < n; i++)
			seqs[i] = m[i].seq;
		if (n > 0)
			r->batch(r->arg, m, n, now);
		r->last_us = now;
		if (n > 0)
			(void)onestop_ack(c, seqs, n);
		onestop_msgs_free(&m, n);
	}
out:
	onestop_close(&c);
	free(seqs);
	return NULL;
}

int bu_parse_uint(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

double bu_cpu_secs(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;
	size_t n;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* After the command's closing parenthesis come the state (field 3)
	 * and the numbered fields; utime and stime are fields 14 and 15. */
	if ((p = strrchr(buf, ')')) == NULL ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}
