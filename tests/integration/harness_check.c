/* Integration test harness, checks and basics: the soft and fatal checks,
 * clocks and sleeps scaled for slow builds, and the list of running
 * networks whose daemons a fatal check or the test's exit kills. */
#include "harness.h"
#include "harness_int.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "util.h"

#if defined(__SANITIZE_ADDRESS__)
#define H_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_SANITIZED 1
#endif
#endif
#ifndef H_SANITIZED
#define H_SANITIZED 0
#endif

#define H_MAX_NETS 4

static struct net *g_nets[H_MAX_NETS];
static int g_atexit_done;

uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void h_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L};

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int h_ms(int ms)
{
	static int scale;

	if (!scale) {
		const char *s = getenv("ONESTOP_IT_SLOW");

		scale = H_SANITIZED ? 3 : 1;
		if (s && atoi(s) >= 1 && atoi(s) <= 100)
			scale = atoi(s);
	}
	return ms * scale;
}

const char *h_idhex(const uint8_t id[16])
{
	static char buf[4][33];
	static int k;
	char *b = buf[k++ & 3];

	os_hex(b, id, 16);
	return b;
}

void kill_all_children(void)
{
	for (int i = 0; i < H_MAX_NETS; i++) {
		struct net *n = g_nets[i];

		if (!n)
			continue;
		if (n->hub.pid > 0)
			kill(n->hub.pid, SIGKILL);
		for (size_t j = 0; j < n->n_spokes; j++)
			if (n->spoke[j].pid > 0)
				kill(n->spoke[j].pid, SIGKILL);
	}
}

static void at_exit_cleanup(void)
{
	kill_all_children();
}

void net_register(struct net *n)
{
	if (!g_atexit_done) {
		atexit(at_exit_cleanup);
		g_atexit_done = 1;
	}
	for (int i = 0; i < H_MAX_NETS; i++) {
		if (!g_nets[i]) {
			g_nets[i] = n;
			return;
		}
	}
}

void net_unregister(struct net *n)
{
	for (int i = 0; i < H_MAX_NETS; i++)
		if (g_nets[i] == n)
			g_nets[i] = NULL;
}

int h_check(struct net *n, int ok, const char *file, int line, const char *expr, const char *fmt,
	    ...)
{
	va_list ap;

	if (n)
		n->checks++;
	fprintf(stderr, ok ? "  ok   " : "  FAIL %s:%d: ", file, line);
	if (ok) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		return 1;
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n         (check: %s)%s%s\n", expr, n ? " logs: " : "", n ? n->dir : "");
	if (n)
		n->failures++;
	return 0;
}

void h_abort(struct net *n)
{
	fprintf(stderr, "ABORT: fatal check failed\n");
	if (n) {
		proc_alive(&n->hub);
		for (size_t i = 0; i < n->n_spokes; i++)
			proc_alive(&n->spoke[i]);
		net_dump_logs(n);
	}
	kill_all_children();
	if (n)
		fprintf(stderr, "logs and data kept in %s\n", n->dir);
	exit(1);
}
