/* What the benchmarks share: a clock, sorting and percentiles of samples,
 * and the receive-and-ack loop of an app that drains a spoke's inbox.
 * Benchmarks only: they print figures and assert nothing about speed. */
#ifndef BENCH_BENCHUTIL_H
#define BENCH_BENCHUTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "harness.h"

/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t bu_now_ns(void);

/* Parse s as a decimal integer within [min, max] into *out: 0, or -1 for
 * anything else (empty, trailing characters, out of range). */
int bu_parse_uint(const char *s, unsigned long long min, unsigned long long max,
		  unsigned long long *out);

/* CPU seconds (user + system) process pid has used so far, from
 * /proc/PID/stat; -1 when it cannot be read. */
double bu_cpu_secs(pid_t pid);

/* Sort n samples in place, ascending. v may be NULL when n is 0. */
void bu_sort_u64(uint64_t *v, size_t n);
void bu_sort_double(double *v, size_t n);

/* The pct-th percentile (0..100) of n sorted samples: sorted[(n - 1) * pct
 * / 100], the lower of two middles for the median; 0 when n is 0. */
uint64_t bu_pct(const uint64_t *sorted, size_t n, unsigned pct);

/* Called by bu_receive with each batch of n (> 0) messages that
 * onestop_recv returned, at now_us (os_mono_us), before they are acked.
 * The messages are valid for the call. */
typedef void (*bu_batch_fn)(void *arg, const onestop_msg_t *m, size_t n, uint64_t now_us);

/* Whether the loop has what it waited for: 1 to stop, 0 to go on. */
typedef int (*bu_done_fn)(void *arg);

/* A receive loop: set the fields above the line, then run bu_receive (or
 * start it as a thread). */
struct bu_receiver {
	struct net_proc *p; /* the spoke whose inbox is drained */
	int deadline_ms;    /* stop after this long, done or not */
	int wait_ms;        /* onestop_recv's wait for each call */
	bu_batch_fn batch;
	bu_done_fn done;
	void *arg;
	/* ---- */
	uint64_t last_us; /* os_mono_us after the last onestop_recv that answered */
	int failed;       /* 1: the app could not connect (nothing was received) */
};

/* Connect an app to r->p (30 s to do so) and, until r->done(r->arg) or the
 * deadline, receive up to 1000 messages at a time, hand each batch to
 * r->batch, then ack it. A failed onestop_recv is retried (a timeout is
 * one). Returns NULL (the pthread signature); r->last_us and r->failed say
 * how it went. */
void *bu_receive(void *r);

#endif
