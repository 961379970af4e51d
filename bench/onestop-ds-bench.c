/* onestop-ds-bench: the replicated items dataset on a real hub and three
 * spokes on loopback (fsync on at every hop). Spoke a publishes N items;
 * the benchmark prints the change-stream throughput hub -> spokes (until b
 * and c hold seq N), the catch-up time of b after N more changes went by
 * while it was stopped, and the local get latency at b through the API
 * socket (onestop_get) and in process without the socket (replica_read on
 * b's store once b is stopped). A benchmark, not a test: it prints figures
 * and asserts nothing about speed. */
#include <errno.h>
#include <getopt.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "replica_read.h"
#include "benchutil.h"
#include "ds_harness.h"
#include "err.h"
#include "store.h"
#include "util.h"

#define BENCH_SPOKE_MAP_MB 4096

struct bench_opts {
	unsigned items; /* N */
	unsigned batch; /* puts per onestop_put */
	unsigned gets;  /* samples per latency figure */
	unsigned runs;
	unsigned timeout_s; /* bound on each phase */
	const char *log_level;
	int keep;
};

struct bench_result {
	double publish_s;       /* first put .. last put returned */
	double stream_s;        /* first put .. b and c at seq N */
	double stream_cps;      /* N / stream_s */
	double catchup_s;       /* b started .. b at the hub's seq */
	double catchup_ready_s; /* b's API answered .. b at the hub's seq */
	double sock_p50_us, sock_p99_us;
	double local_p50_us, local_p99_us;
	double datasets_ms; /* one Datasets call at b holding N items */
	unsigned misses;    /* gets that did not find an item (should be 0) */
	int ok;
};

/* Median and p99 of n samples (ns), in microseconds; sorts s. */
static void pcts(uint64_t *s, size_t n, double *p50, double *p99)
{
	*p50 = *p99 = 0;
	if (n == 0)
		return;
	bu_sort_u64(s, n);
	*p50 = (double)bu_pct(s, n, 50) / 1e3;
	*p99 = (double)bu_pct(s, n, 99) / 1e3;
}

/* xorshift64*: random keys without libc state */
static uint64_t rnd(uint64_t *x)
{
	*x ^= *x >> 12;
	*x ^= *x << 25;
	*x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/* The seq of the entry under key at p, through an open connection
 * (reopened after a failure); 0 when p does not hold it. A spoke applies
 * changes strictly in order, so holding the last change's entry means
 * holding everything before it; unlike Datasets (which hashes every entry
 * for its digest) this costs the spoke one lookup. */
static int entry_seq(struct net_proc *p, onestop_t **c, const char *key, uint64_t *seq)
{
	onestop_entry_t *e = NULL;
	int rc;

	*seq = 0;
	if (!*c && (rc = net_connect(p, 2000, c)) != 0)
		return rc;
	rc = onestop_get(*c, ONESTOP_DS_ITEMS, key, 0, &e);
	if (rc == 0)
		*seq = e->seq;
	onestop_entry_free(&e);
	if (rc == ONESTOP_ENOTFOUND)
		return 0;
	if (rc != 0)
		onestop_close(c);
	return rc;
}

/* Poll spokes until each holds key written by a change >= want, or the
 * deadline. Returns the monotonic ns when the last one got there, 0 on
 * timeout. *first_answer_ns (may be NULL) gets when the first spoke's API
 * first answered. */
static uint64_t wait_entry(struct net_proc **ps, size_t np, const char *key, uint64_t want,
			   uint64_t deadline_ns, uint64_t *first_answer_ns)
{
	onestop_t *c[4] = {NULL, NULL, NULL, NULL};
	int done[4] = {0, 0, 0, 0};
	size_t left = np;
	uint64_t t = 0;

	if (first_answer_ns)
		*first_answer_ns = 0;
	while (left > 0 && bu_now_ns() < deadline_ns) {
		for (size_t i = 0; i < np; i++) {
			uint64_t seq = 0;

			if (done[i])
				continue;
			if (entry_seq(ps[i], &c[i], key, &seq) != 0) {
				h_sleep_ms(5);
				continue;
			}
			if (first_answer_ns && !*first_answer_ns && i == 0)
				*first_answer_ns = bu_now_ns();
			if (seq >= want) {
				done[i] = 1;
				left--;
				t = bu_now_ns();
			}
		}
		if (left > 0) {
			struct timespec ts = {0, 1000000};

			nanosleep(&ts, NULL);
		}
	}
	for (size_t i = 0; i < np; i++)
		onestop_close(&c[i]);
	return left == 0 ? t : 0;
}

/* Check (untimed) that p's Datasets says items is at seq want, count
 * items; *ms gets how long the Datasets call took (it hashes every entry
 * for the digest). 0 or -1. */
static int check_position(struct net_proc *p, uint64_t want, uint64_t items, double *ms)
{
	onestop_dataset_t d;
	uint64_t t0 = bu_now_ns();
	int rc = ds_info(p, ONESTOP_DS_ITEMS, &d);

	*ms = (double)(bu_now_ns() - t0) / 1e6;
	if (rc != 0 || d.seq != want || d.count != items || d.syncing) {
		fprintf(stderr,
			"onestop-ds-bench: %s: items at seq %llu count %llu syncing %d "
			"(rc %d), want seq %llu count %llu\n",
			p->name, (unsigned long long)d.seq, (unsigned long long)d.count, d.syncing,
			rc, (unsigned long long)want, (unsigned long long)items);
		return -1;
	}
	return 0;
}

/* Latency of onestop_get through b's API socket over random keys. */
static int socket_gets(struct net_proc *b, const struct bench_opts *o, struct bench_result *r)
{
	uint64_t *s = malloc((size_t)o->gets * sizeof *s), x = 0x9e3779b97f4a7c15ull;
	onestop_t *c = NULL;
	size_t k = 0;
	int rc = -1;

	if (!s || net_connect(b, 10000, &c) != 0)
		goto out;
	for (unsigned i = 0; i < o->gets; i++) {
		char key[48];
		onestop_entry_t *e = NULL;
		uint64_t t0;

		ds_item_code(key, sizeof key, "a", 1 + (unsigned)(rnd(&x) % o->items));
		t0 = bu_now_ns();
		if (onestop_get(c, ONESTOP_DS_ITEMS, key, 0, &e) != 0)
			r->misses++;
		s[k++] = bu_now_ns() - t0;
		onestop_entry_free(&e);
	}
	pcts(s, k, &r->sock_p50_us, &r->sock_p99_us);
	rc = 0;
out:
	onestop_close(&c);
	free(s);
	return rc;
}

/* Latency of replica_read in this process on b's store (b stopped). */
static int local_gets(struct net_proc *b, const struct bench_opts *o, struct bench_result *r)
{
	uint64_t *s = malloc((size_t)o->gets * sizeof *s), x = 0x2545f4914f6cdd1dull;
	struct replica_entry *e = malloc(sizeof *e);
	struct store *st = NULL;
	size_t k = 0;
	int rc = -1;

	if (!s || !e)
		goto out;
	if ((rc = store_open(b->data_dir, BENCH_SPOKE_MAP_MB, 16, &st)) != 0 ||
	    (rc = replica_dbis(st, NULL, NULL)) != 0) {
		fprintf(stderr, "onestop-ds-bench: cannot open the replica in %s: %d %s\n",
			b->data_dir, rc, os_strerror(rc));
		rc = -1;
		goto out;
	}
	for (unsigned i = 0; i < o->gets; i++) {
		char key[48];
		uint64_t t0;

		ds_item_code(key, sizeof key, "a", 1 + (unsigned)(rnd(&x) % o->items));
		t0 = bu_now_ns();
		if (replica_read(st, ONESTOP_DS_ITEMS, key, e) != 0 || e->value_len == 0)
			r->misses++;
		s[k++] = bu_now_ns() - t0;
	}
	pcts(s, k, &r->local_p50_us, &r->local_p99_us);
	rc = 0;
out:
	store_close(&st);
	free(e);
	free(s);
	return rc;
}

static int bench_run(const struct bench_opts *o, struct bench_result *r)
{
	struct net_opts nopts;
	struct net *n;
	struct net_proc *a, *b, *c, *bc[2];
	onestop_t *ca = NULL;
	char log_max[32], spoke_map[16], last_key[48];
	uint64_t t0, t1, t2, deadline, ready = 0;
	int rc = -1;

	memset(r, 0, sizeof *r);
	/* the log keeps every change: b's catch-up replays it, no snapshot */
	snprintf(log_max, sizeof log_max, "%u", 2 * o->items + 10);
	snprintf(spoke_map, sizeof spoke_map, "%d", BENCH_SPOKE_MAP_MB);
	memset(&nopts, 0, sizeof nopts);
	nopts.log_level = o->log_level;
	nopts.datasets[0] = (struct net_dataset){"items", "full"};
	nopts.hub_conf[0] = (struct net_kv){"map_size_mb", "8192"};
	nopts.hub_conf[1] = (struct net_kv){"dataset_log_max", log_max};
	nopts.spoke[0].publish[0] = "items";
	for (int i = 0; i < 3; i++)
		nopts.spoke[i].conf[0] = (struct net_kv){"map_size_mb", spoke_map};
	n = net_make(3, &nopts);
	n->keep = o->keep;
	net_start_all(n);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	bc[0] = b;
	bc[1] = c;

	/* (b) change stream: N items from a until b and c hold seq N */
	if (net_connect(a, 60000, &ca) != 0)
		goto out;
	t0 = bu_now_ns();
	if (ds_put_items(ca, "a", 1, o->items, 0, 0, o->batch) != 0)
		goto out;
	r->publish_s = (double)(bu_now_ns() - t0) / 1e9;
	deadline = bu_now_ns() + (uint64_t)o->timeout_s * 1000000000u;
	ds_item_code(last_key, sizeof last_key, "a", o->items);
	t1 = wait_entry(bc, 2, last_key, o->items, deadline, NULL);
	if (!t1) {
		fprintf(stderr, "onestop-ds-bench: b and c did not reach seq %u in %u s\n",
			o->items, o->timeout_s);
		goto out;
	}
	r->stream_s = (double)(t1 - t0) / 1e9;
	r->stream_cps = (double)o->items / r->stream_s;
	if (check_position(b, o->items, o->items, &r->datasets_ms) != 0 ||
	    check_position(c, o->items, o->items, &r->datasets_ms) != 0)
		goto out;

	/* (c) catch-up: b stopped while N updates are sequenced */
	if (proc_stop(n, b, 0) != 0)
		goto out;
	if (ds_put_items(ca, "a", 1, o->items, 1, 0, o->batch) != 0)
		goto out;
	deadline = bu_now_ns() + (uint64_t)o->timeout_s * 1000000000u;
	if (!wait_entry(&c, 1, last_key, 2ull * o->items, deadline, NULL)) {
		fprintf(stderr, "onestop-ds-bench: the hub did not sequence %u changes in %u s\n",
			2 * o->items, o->timeout_s);
		goto out;
	}
	t0 = bu_now_ns();
	if (proc_start(n, b) != 0)
		goto out;
	deadline = bu_now_ns() + (uint64_t)o->timeout_s * 1000000000u;
	t2 = wait_entry(&b, 1, last_key, 2ull * o->items, deadline, &ready);
	if (!t2) {
		fprintf(stderr, "onestop-ds-bench: b did not catch up in %u s\n", o->timeout_s);
		goto out;
	}
	r->catchup_s = (double)(t2 - t0) / 1e9;
	r->catchup_ready_s = ready ? (double)(t2 - ready) / 1e9 : 0;
	if (check_position(b, 2ull * o->items, o->items, &r->datasets_ms) != 0)
		goto out;

	/* (a) local reads: through the socket, then in process */
	if (socket_gets(b, o, r) != 0)
		goto out;
	if (proc_stop(n, b, 0) != 0)
		goto out;
	if (local_gets(b, o, r) != 0)
		goto out;
	rc = 0;
	r->ok = 1;
out:
	onestop_close(&ca);
	if (net_done(&n) != 0)
		rc = -1;
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: onestop-ds-bench [options]\n"
		"Start a hub and three spokes (real daemons, fsync on); spoke a publishes the\n"
		"items dataset. Prints, per run and as the median of the runs:\n"
		"  stream    changes/s hub -> spokes: from the first put until b and c hold seq N\n"
		"            (polled by getting the last item, then checked with Datasets)\n"
		"  catch-up  b stopped while N more changes are sequenced, then started: time\n"
		"            until it holds the hub's seq (from its start, and from its API's\n"
		"            first answer)\n"
		"  get       median and p99 of a get of a random item at b: through the API\n"
		"            socket (onestop_get, b running) and in process without the socket\n"
		"            (replica_read on b's store, b stopped)\n"
		"  --items N     items published, and changes in the catch-up (default 100000)\n"
		"  --batch B     puts per onestop_put (default 1000, at most %d)\n"
		"  --gets G      samples per latency figure (default 100000)\n"
		"  --runs K      runs, each on fresh daemons (default 3)\n"
		"  --timeout S   bound on each phase in seconds (default 600)\n"
		"  --log-level L daemons' log level (default info)\n"
		"  --keep        keep the temporary directories\n",
		ONESTOP_MAX_BATCH);
}

/* The median of field off over the successful runs. */
static double median_of(const struct bench_result *res, unsigned n, size_t off)
{
	double v[100];
	unsigned k = 0;

	for (unsigned i = 0; i < n && k < 100; i++)
		if (res[i].ok)
			v[k++] = *(const double *)((const char *)&res[i] + off);
	if (k == 0)
		return 0;
	bu_sort_double(v, k);
	return v[(k - 1) / 2];
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"items", required_argument, NULL, 'n'},
		{"batch", required_argument, NULL, 'b'},
		{"gets", required_argument, NULL, 'g'},
		{"runs", required_argument, NULL, 'R'},
		{"timeout", required_argument, NULL, 't'},
		{"log-level", required_argument, NULL, 'L'},
		{"keep", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct bench_opts o = {
		.items = 100000, .batch = 1000, .gets = 100000, .runs = 3, .timeout_s = 600};
	struct bench_result *res;
	unsigned long long v;
	unsigned good = 0;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int bad = 0;

		switch (ch) {
		case 'n':
			bad = bu_parse_uint(optarg, 10, 10000000, &v);
			o.items = (unsigned)v;
			break;
		case 'b':
			bad = bu_parse_uint(optarg, 1, ONESTOP_MAX_BATCH, &v);
			o.batch = (unsigned)v;
			break;
		case 'g':
			bad = bu_parse_uint(optarg, 1, 100000000, &v);
			o.gets = (unsigned)v;
			break;
		case 'R':
			bad = bu_parse_uint(optarg, 1, 99, &v);
			o.runs = (unsigned)v;
			break;
		case 't':
			bad = bu_parse_uint(optarg, 10, 86400, &v);
			o.timeout_s = (unsigned)v;
			break;
		case 'L':
			o.log_level = optarg;
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
			fprintf(stderr, "onestop-ds-bench: value out of range: %s\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	if ((res = calloc(o.runs, sizeof *res)) == NULL)
		return 1;
	printf("onestop-ds-bench: items dataset, %u items from spoke a in puts of %u; hub and "
	       "three spokes\n",
	       o.items, o.batch);
	for (unsigned i = 0; i < o.runs; i++) {
		struct bench_result *r = &res[i];

		if (bench_run(&o, r) == 0)
			good++;
		printf("run %u%s: stream %.0f changes/s (%u in %.2f s; puts done in %.2f s); "
		       "catch-up of %u changes %.2f s (%.2f s after its API answered); get us "
		       "socket p50 %.1f p99 %.1f, in process p50 %.2f p99 %.2f; misses %u; one "
		       "Datasets call %.1f ms\n",
		       i + 1, r->ok ? "" : " (FAILED)", r->stream_cps, o.items, r->stream_s,
		       r->publish_s, o.items, r->catchup_s, r->catchup_ready_s, r->sock_p50_us,
		       r->sock_p99_us, r->local_p50_us, r->local_p99_us, r->misses, r->datasets_ms);
		fflush(stdout);
	}
	if (good) {
		printf("median of %u runs: stream %.0f changes/s; catch-up %.2f s (%.2f s after "
		       "ready); get us socket p50 %.1f p99 %.1f, in process (replica_read) p50 %.2f "
		       "p99 %.2f; one Datasets call %.1f ms\n",
		       good, median_of(res, o.runs, offsetof(struct bench_result, stream_cps)),
		       median_of(res, o.runs, offsetof(struct bench_result, catchup_s)),
		       median_of(res, o.runs, offsetof(struct bench_result, catchup_ready_s)),
		       median_of(res, o.runs, offsetof(struct bench_result, sock_p50_us)),
		       median_of(res, o.runs, offsetof(struct bench_result, sock_p99_us)),
		       median_of(res, o.runs, offsetof(struct bench_result, local_p50_us)),
		       median_of(res, o.runs, offsetof(struct bench_result, local_p99_us)),
		       median_of(res, o.runs, offsetof(struct bench_result, datasets_ms)));
	}
	free(res);
	return good == o.runs ? 0 : 1;
}
