/* onestop-bench: starts a real hub and two spokes on loopback (fsync on at
 * every hop) and drives messages from an app on spoke a to an app on spoke
 * b, printing throughput and end-to-end latency. A benchmark, not a test:
 * it prints figures and asserts nothing about speed. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"
#include "harness.h"
#include "util.h"

#define BENCH_TYPE "bench.load"
#define BENCH_HDR 16 /* u64be seq, u64be scheduled send time (mono us) */

struct bench_opts {
	uint64_t count;
	size_t size;
	unsigned rate;    /* offered msg/s; 0: as fast as the senders go */
	unsigned senders; /* sender threads (throughput mode) */
	unsigned batch;   /* messages per Send (throughput mode) */
	unsigned runs;
	int keep;
};

struct bench_result {
	double secs;
	double msg_per_s;
	double p50_ms, p99_ms, max_ms;
	uint64_t received;
	uint64_t send_errors;
	long rss_kib[3]; /* peak RSS of hub, a, b */
};

struct sender {
	struct net_proc *a;
	const struct bench_opts *o;
	uint64_t first, n; /* seqs [first, first + n) */
	uint64_t errors;
};

struct receiver {
	struct bu_receiver loop; /* drains b */
	const struct bench_opts *o;
	uint64_t *lat_us; /* per seq */
	uint64_t got;
};

static void bench_fill(uint8_t *buf, size_t size, uint64_t seq, uint64_t t_us)
{
	os_put_u64be(buf, seq);
	os_put_u64be(buf + 8, t_us);
	for (size_t i = BENCH_HDR; i < size; i++)
		buf[i] = (uint8_t)(seq + i);
}

/* Throughput mode: n messages in Sends of o->batch, as fast as acks come. */
static void *sender_run(void *arg)
{
	struct sender *s = arg;
	const struct bench_opts *o = s->o;
	onestop_t *c = NULL;
	onestop_out_t *out = calloc(o->batch, sizeof *out);
	uint8_t *bufs = malloc((size_t)o->batch * o->size);

	if (out == NULL || bufs == NULL || net_connect(s->a, 30000, &c) != 0) {
		s->errors = s->n;
		goto out;
	}
	for (uint64_t done = 0; done < s->n;) {
		size_t k = s->n - done < o->batch ? (size_t)(s->n - done) : o->batch;
		uint64_t now = os_mono_us();

		for (size_t i = 0; i < k; i++) {
			uint8_t *b = bufs + i * o->size;
			bench_fill(b, o->size, s->first + done + i, now);
			out[i] = (onestop_out_t){.to = "b",
						 .type = BENCH_TYPE,
						 .payload = b,
						 .len = o->size};
		}
		if (onestop_send(c, out, k, NULL) != 0) {
			s->errors++;
			continue; /* nothing was accepted: send the same seqs again */
		}
		done += k;
	}
out:
	onestop_close(&c);
	free(out);
	free(bufs);
	return NULL;
}

/* Rate mode: one thread offers o->rate msg/s on a 1 ms tick; every message
 * carries its scheduled time, so a late sender shows up as latency
 * (no coordinated omission). */
static void *pacer_run(void *arg)
{
	struct sender *s = arg;
	const struct bench_opts *o = s->o;
	onestop_t *c = NULL;
	size_t cap = o->rate / 100 + 64;
	onestop_out_t *out = calloc(cap, sizeof *out);
	uint8_t *bufs = malloc(cap * o->size);
	uint64_t start, next = 0;

	if (out == NULL || bufs == NULL || net_connect(s->a, 30000, &c) != 0) {
		s->errors = s->n;
		goto out;
	}
	start = os_mono_us();
	while (next < s->n) {
		uint64_t now = os_mono_us();
		size_t k = 0;

		while (next < s->n && k < cap) {
			uint64_t due = start + next * 1000000ull / o->rate;
			if (due > now)
				break;
			uint8_t *b = bufs + k * o->size;
			bench_fill(b, o->size, s->first + next, due);
			out[k++] = (onestop_out_t){.to = "b",
						   .type = BENCH_TYPE,
						   .payload = b,
						   .len = o->size};
			next++;
		}
		if (k > 0 && onestop_send(c, out, k, NULL) != 0) {
			s->errors++;
			next -= k;
			continue;
		}
		if (k == 0) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
	}
out:
	onestop_close(&c);
	free(out);
	free(bufs);
	return NULL;
}

static void receiver_batch(void *arg, const onestop_msg_t *m, size_t n, uint64_t now)
{
	struct receiver *r = arg;

	for (size_t i = 0; i < n; i++) {
		if (m[i].len < BENCH_HDR)
			continue;
		uint64_t seq = os_get_u64be(m[i].payload);
		uint64_t t = os_get_u64be(m[i].payload + 8);
		if (seq < r->o->count && r->lat_us[seq] == UINT64_MAX) {
			r->lat_us[seq] = now > t ? now - t : 0;
			r->got++;
		}
	}
}

static int receiver_done(void *arg)
{
	const struct receiver *r = arg;
	return r->got >= r->o->count;
}

static long peak_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static int bench_run(const struct bench_opts *o, struct bench_result *res)
{
	struct net_opts nopts;
	struct net *n;
	struct receiver rcv;
	struct sender *snd;
	pthread_t rt, *st;
	unsigned ns = o->rate ? 1 : o->senders;
	uint64_t t0;
	int rc = 0;

	memset(&nopts, 0, sizeof nopts);
	nopts.log_level = "info";
	n = net_make(2, &nopts);
	n->keep = o->keep;
	net_start_all(n);

	memset(&rcv, 0, sizeof rcv);
	rcv.loop = (struct bu_receiver){.p = net_spoke(n, "b"),
					.deadline_ms = 600000,
					.wait_ms = 500,
					.batch = receiver_batch,
					.done = receiver_done,
					.arg = &rcv};
	rcv.o = o;
	rcv.lat_us = malloc(o->count * sizeof *rcv.lat_us);
	snd = calloc(ns, sizeof *snd);
	st = calloc(ns, sizeof *st);
	if (rcv.lat_us == NULL || snd == NULL || st == NULL) {
		fprintf(stderr, "onestop-bench: out of memory\n");
		exit(1);
	}
	memset(rcv.lat_us, 0xff, o->count * sizeof *rcv.lat_us);

	pthread_create(&rt, NULL, bu_receive, &rcv.loop);
	t0 = os_mono_us();
	for (unsigned i = 0; i < ns; i++) {
		snd[i].a = net_spoke(n, "a");
		snd[i].o = o;
		snd[i].first = o->count * i / ns;
		snd[i].n = o->count * (i + 1) / ns - snd[i].first;
		pthread_create(&st[i], NULL, o->rate ? pacer_run : sender_run, &snd[i]);
	}
	for (unsigned i = 0; i < ns; i++) {
		pthread_join(st[i], NULL);
		res->send_errors += snd[i].errors;
	}
	pthread_join(rt, NULL);

	res->received = rcv.got;
	res->secs = (double)(rcv.loop.last_us - t0) / 1e6;
	res->msg_per_s = res->secs > 0 ? (double)rcv.got / res->secs : 0;
	bu_sort_u64(rcv.lat_us, o->count);
	if (rcv.got > 0) {
		res->p50_ms = (double)bu_pct(rcv.lat_us, rcv.got, 50) / 1e3;
		res->p99_ms = (double)bu_pct(rcv.lat_us, rcv.got, 99) / 1e3;
		res->max_ms = (double)rcv.lat_us[rcv.got - 1] / 1e3;
	}
	res->rss_kib[0] = peak_rss_kib(n->hub.pid);
	res->rss_kib[1] = peak_rss_kib(net_spoke(n, "a")->pid);
	res->rss_kib[2] = peak_rss_kib(net_spoke(n, "b")->pid);
	if (rcv.got != o->count) {
		fprintf(stderr, "onestop-bench: received %llu of %llu\n",
			(unsigned long long)rcv.got, (unsigned long long)o->count);
		rc = -1;
	}
	free(rcv.lat_us);
	free(snd);
	free(st);
	if (net_done(&n) != 0)
		rc = -1;
	return rc;
}

static int cmp_result(const void *x, const void *y)
{
	double a = ((const struct bench_result *)x)->msg_per_s;
	double b = ((const struct bench_result *)y)->msg_per_s;
	return a < b ? -1 : a > b;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: onestop-bench [options]\n"
		"Start a hub and two spokes (real daemons, fsync on) and send messages\n"
		"from an app on spoke a to an app on spoke b; print msg/s and latency.\n"
		"  --count N     messages per run (default 100000)\n"
		"  --size S      payload bytes (default 1024, at least %d)\n"
		"  --rate R      offered msg/s on a 1 ms tick; 0 = as fast as possible (default 0)\n"
		"  --senders K   sender threads when --rate is 0 (default 4)\n"
		"  --batch B     messages per Send when --rate is 0 (default 100)\n"
		"  --runs K      runs, each on fresh daemons; prints each and the median (default 3)\n"
		"  --keep        keep the temporary directories\n"
		"Latency is from the scheduled send time to receipt by the app on b.\n",
		BENCH_HDR);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'n'},
		{"size", required_argument, NULL, 's'},
		{"rate", required_argument, NULL, 'r'},
		{"senders", required_argument, NULL, 'k'},
		{"batch", required_argument, NULL, 'b'},
		{"runs", required_argument, NULL, 'R'},
		{"keep", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench_opts o = {
		.count = 100000, .size = 1024, .rate = 0, .senders = 4, .batch = 100, .runs = 3};
	struct bench_result *res;
	unsigned long long v;
	int ch, failed = 0;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case 'n':
			bad = bu_parse_uint(optarg, 1, 100000000, &v);
			o.count = v;
			break;
		case 's':
			bad = bu_parse_uint(optarg, BENCH_HDR, 4 << 20, &v);
			o.size = v;
			break;
		case 'r':
			bad = bu_parse_uint(optarg, 0, 1000000, &v);
			o.rate = (unsigned)v;
			break;
		case 'k':
			bad = bu_parse_uint(optarg, 1, 64, &v);
			o.senders = (unsigned)v;
			break;
		case 'b':
			bad = bu_parse_uint(optarg, 1, ONESTOP_MAX_BATCH, &v);
			o.batch = (unsigned)v;
			break;
		case 'R':
			bad = bu_parse_uint(optarg, 1, 99, &v);
			o.runs = (unsigned)v;
			break;
		case 'K':
			o.keep = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "onestop-bench: value out of range: %s\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	if ((res = calloc(o.runs, sizeof *res)) == NULL)
		return 1;

	printf("onestop-bench: %llu messages of %zu bytes a->b, %s\n", (unsigned long long)o.count,
	       o.size, o.rate ? "fixed offered rate" : "as fast as possible");
	if (o.rate)
		printf("offered rate %u msg/s\n", o.rate);
	else
		printf("%u sender threads, %u messages per Send\n", o.senders, o.batch);
	for (unsigned i = 0; i < o.runs; i++) {
		if (bench_run(&o, &res[i]) != 0)
			failed = 1;
		printf("run %u: %.0f msg/s (%.1f MiB/s) in %.2f s; latency ms p50 %.2f "
		       "p99 %.2f max %.2f; send retries %llu; peak RSS KiB hub %ld a %ld b %ld\n",
		       i + 1, res[i].msg_per_s, res[i].msg_per_s * (double)o.size / 1048576.0,
		       res[i].secs, res[i].p50_ms, res[i].p99_ms, res[i].max_ms,
		       (unsigned long long)res[i].send_errors, res[i].rss_kib[0], res[i].rss_kib[1],
		       res[i].rss_kib[2]);
		fflush(stdout);
	}
	qsort(res, o.runs, sizeof *res, cmp_result);
	const struct bench_result *m = &res[o.runs / 2];
	printf("median of %u (by msg/s): %.0f msg/s; latency ms p50 %.2f p99 %.2f max %.2f\n",
	       o.runs, m->msg_per_s, m->p50_ms, m->p99_ms, m->max_ms);
	free(res);
	return failed ? 1 : 0;
}
