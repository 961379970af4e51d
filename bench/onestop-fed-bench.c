/* onestop-fed-bench: a federation on one machine (a national hub, province
 * hubs, spokes under each; real daemons, fsync at every hop) under a light
 * load from every spoke, half of it to another province. Prints latency
 * inside and across provinces, the share of the traffic the national hub
 * carried, and each hub's CPU time per message it took. A benchmark, not a
 * test: it prints figures and asserts nothing about speed. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "fed_harness.h"
#include "util.h"

#define FB_TYPE "bench.fed"
#define FB_HDR 17 /* u64be seq, u64be scheduled send time (mono us), u8 cross */

struct fb_opts {
	unsigned provinces;
	unsigned spokes; /* per province */
	unsigned rate;   /* msg/s offered by each spoke */
	unsigned secs;   /* how long each spoke offers it */
	unsigned cross;  /* percent of messages to another province */
	size_t size;
	int keep;
};

/* Latency samples of one kind (inside, across), shared by the receivers. */
struct fb_samples {
	pthread_mutex_t mu;
	uint64_t *us;
	size_t n, cap;
};

struct fb_sender {
	struct fed *f;
	const struct fb_opts *o;
	size_t prov, idx; /* this spoke: f->prov[prov].spoke[idx] */
	uint64_t sent, sent_cross, errors;
	unsigned seed;
};

struct fb_receiver {
	struct bu_receiver loop;
	struct fb_samples *in, *across;
	uint64_t got;
	const uint64_t *expected; /* total to receive at all spokes, set when sending ends */
	uint64_t *got_all;        /* shared count (atomic) */
};

static void fb_add(struct fb_samples *s, uint64_t us)
{
	pthread_mutex_lock(&s->mu);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *v = realloc(s->us, cap * sizeof *v);
		if (!v) {
			pthread_mutex_unlock(&s->mu);
			return;
		}
		s->us = v;
		s->cap = cap;
	}
	s->us[s->n++] = us;
	pthread_mutex_unlock(&s->mu);
}

/* Pick a destination other than the sender: in another province with
 * probability o->cross percent, else in the sender's own. */
static const char *fb_pick(struct fb_sender *s, int *cross)
{
	const struct fb_opts *o = s->o;
	size_t p = s->prov, i;

	*cross = o->provinces > 1 && (unsigned)(rand_r(&s->seed) % 100) < o->cross;
	if (*cross)
		p = (s->prov + 1 + (size_t)rand_r(&s->seed) % (o->provinces - 1)) % o->provinces;
	do
		i = (size_t)rand_r(&s->seed) % o->spokes;
	while (!*cross && i == s->idx && o->spokes > 1);
	return s->f->prov[p].spoke[i]->name;
}

/* One spoke's app offers o->rate msg/s for o->secs, one message per Send at
 * its scheduled time; each carries that time, so a late sender shows up as
 * latency. */
static void *fb_send(void *arg)
{
	struct fb_sender *s = arg;
	const struct fb_opts *o = s->o;
	uint64_t total = (uint64_t)o->rate * o->secs, start;
	uint8_t *buf = malloc(o->size);
	onestop_t *c = NULL;

	if (!buf || net_connect(s->f->prov[s->prov].spoke[s->idx], 30000, &c) != 0) {
		s->errors = total;
		goto out;
	}
	/* Spread the spokes' ticks over the first period. */
	start = os_mono_us() + (uint64_t)(rand_r(&s->seed) % 1000000u) / o->rate;
	for (uint64_t k = 0; k < total; k++) {
		uint64_t due = start + k * 1000000ull / o->rate, now = os_mono_us();
		int cross;
		const char *to = fb_pick(s, &cross);
		onestop_out_t m;

		if (due > now) {
			struct timespec ts = {(time_t)((due - now) / 1000000u),
					      (long)((due - now) % 1000000u) * 1000};
			nanosleep(&ts, NULL);
		}
		os_put_u64be(buf, k);
		os_put_u64be(buf + 8, due);
		buf[16] = (uint8_t)cross;
		for (size_t i = FB_HDR; i < o->size; i++)
			buf[i] = (uint8_t)(k + i);
		m = (onestop_out_t){.to = to, .type = FB_TYPE, .payload = buf, .len = o->size};
		if (onestop_send(c, &m, 1, NULL) != 0) {
			s->errors++;
			continue;
		}
		s->sent++;
		s->sent_cross += (uint64_t)cross;
	}
out:
	onestop_close(&c);
	free(buf);
	return NULL;
}

static void fb_batch(void *arg, const onestop_msg_t *m, size_t n, uint64_t now)
{
	struct fb_receiver *r = arg;

	for (size_t i = 0; i < n; i++) {
		if (m[i].len < FB_HDR || strcmp(m[i].type, FB_TYPE) != 0)
			continue;
		uint64_t t = os_get_u64be(m[i].payload + 8);
		fb_add(m[i].payload[16] ? r->across : r->in, now > t ? now - t : 0);
		r->got++;
		__atomic_add_fetch(r->got_all, 1, __ATOMIC_RELAXED);
	}
}

static int fb_done(void *arg)
{
	const struct fb_receiver *r = arg;
	uint64_t want = __atomic_load_n(r->expected, __ATOMIC_ACQUIRE);

	return want > 0 && __atomic_load_n(r->got_all, __ATOMIC_RELAXED) >= want;
}

static void fb_print_lat(const char *what, struct fb_samples *s)
{
	bu_sort_u64(s->us, s->n);
	printf("%-15s messages=%zu p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n", what, s->n,
	       s->n ? (double)bu_pct(s->us, s->n, 50) / 1e3 : 0.0,
	       s->n ? (double)bu_pct(s->us, s->n, 99) / 1e3 : 0.0,
	       s->n ? (double)s->us[s->n - 1] / 1e3 : 0.0);
}

static int fb_run(const struct fb_opts *o)
{
	static const char *const names[FED_MAX_PROV] = {"gd", "sc", "hb", "zj"};
	struct fed_opts fo;
	struct fed *f;
	struct fb_samples in = {.mu = PTHREAD_MUTEX_INITIALIZER},
			  across = {.mu = PTHREAD_MUTEX_INITIALIZER};
	size_t ns = (size_t)o->provinces * o->spokes, k = 0;
	struct fb_sender *snd = calloc(ns, sizeof *snd);
	struct fb_receiver *rcv = calloc(ns, sizeof *rcv);
	pthread_t *st = calloc(ns, sizeof *st), *rt = calloc(ns, sizeof *rt);
	struct net_proc *hubs[FED_MAX_PROV + 1];
	double cpu0[FED_MAX_PROV + 1], cpu1[FED_MAX_PROV + 1];
	uint64_t expected = 0, got_all = 0, sent = 0, sent_cross = 0, errors = 0, t0, t1;
	size_t nh = 0;
	int rc = 0;

	if (!snd || !rcv || !st || !rt) {
		fprintf(stderr, "onestop-fed-bench: out of memory\n");
		return -1;
	}
	memset(&fo, 0, sizeof fo);
	fo.provinces = o->provinces;
	for (unsigned i = 0; i < o->provinces; i++)
		fo.names[i] = names[i];
	fo.spokes = o->spokes;
	fo.national = -1;
	fo.log_level = "info";
	f = fed_make(&fo);
	f->net->keep = o->keep;
	fed_start_all(f);
	hubs[nh++] = &f->net->hub;
	for (size_t p = 0; p < f->n_prov; p++)
		hubs[nh++] = f->prov[p].hub;

	for (size_t p = 0; p < o->provinces; p++)
		for (size_t i = 0; i < o->spokes; i++, k++) {
			rcv[k].loop =
				(struct bu_receiver){.p = f->prov[p].spoke[i],
						     .deadline_ms = (int)(o->secs + 120) * 1000,
						     .wait_ms = 200,
						     .batch = fb_batch,
						     .done = fb_done,
						     .arg = &rcv[k]};
			rcv[k].in = &in;
			rcv[k].across = &across;
			rcv[k].expected = &expected;
			rcv[k].got_all = &got_all;
			pthread_create(&rt[k], NULL, bu_receive, &rcv[k].loop);
			snd[k] = (struct fb_sender){.f = f,
						    .o = o,
						    .prov = p,
						    .idx = i,
						    .seed = (unsigned)(k * 7919 + 1)};
		}
	for (size_t h = 0; h < nh; h++)
		cpu0[h] = bu_cpu_secs(hubs[h]->pid);
	t0 = os_mono_us();
	for (k = 0; k < ns; k++)
		pthread_create(&st[k], NULL, fb_send, &snd[k]);
	for (k = 0; k < ns; k++) {
		pthread_join(st[k], NULL);
		sent += snd[k].sent;
		sent_cross += snd[k].sent_cross;
		errors += snd[k].errors;
	}
	__atomic_store_n(&expected, sent ? sent : 1, __ATOMIC_RELEASE);
	for (k = 0; k < ns; k++)
		pthread_join(rt[k], NULL);
	t1 = os_mono_us();
	for (size_t h = 0; h < nh; h++)
		cpu1[h] = bu_cpu_secs(hubs[h]->pid);

	printf("topology: national hub, %u province hubs, %u spokes each (%zu spokes); "
	       "%u msg/s per spoke for %u s, %u%% across provinces, %zu-byte payloads\n",
	       o->provinces, o->spokes, ns, o->rate, o->secs, o->cross, o->size);
	printf("sent=%llu across=%llu send_errors=%llu received=%llu in %.1f s (%.0f msg/s)\n",
	       (unsigned long long)sent, (unsigned long long)sent_cross, (unsigned long long)errors,
	       (unsigned long long)got_all, (double)(t1 - t0) / 1e6,
	       (double)got_all * 1e6 / (double)(t1 - t0));
	fb_print_lat("in-province", &in);
	fb_print_lat("cross-province", &across);
	if (got_all != sent) {
		fprintf(stderr, "onestop-fed-bench: received %llu of %llu\n",
			(unsigned long long)got_all, (unsigned long long)sent);
		rc = -1;
	}

	/* Each hub's counters are logged at its clean stop: stop the spokes
	 * first, then every hub, then read them. */
	for (size_t p = 0; p < f->n_prov; p++)
		for (size_t i = 0; i < f->prov[p].n_spokes; i++)
			proc_stop(f->net, f->prov[p].spoke[i], 10000);
	for (size_t h = nh; h-- > 0;)
		proc_stop(f->net, hubs[h], 10000);
	for (size_t h = 0; h < nh; h++) {
		uint64_t acc = 0;
		double cpu = cpu1[h] - cpu0[h];

		fed_hub_counter(hubs[h], "accepted", &acc);
		printf("hub %-8s accepted=%llu cpu_s=%.2f cpu_us_per_msg=%.1f", hubs[h]->name,
		       (unsigned long long)acc, cpu, acc ? cpu * 1e6 / (double)acc : 0.0);
		if (h == 0)
			printf(" share_of_sent=%.1f%%",
			       sent ? 100.0 * (double)acc / (double)sent : 0);
		printf("\n");
	}
	free(in.us);
	free(across.us);
	free(snd);
	free(rcv);
	free(st);
	free(rt);
	if (fed_done(&f) != 0)
		rc = -1;
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: onestop-fed-bench [options]\n"
		"Start a federation (national hub, province hubs, spokes under each; real\n"
		"daemons, fsync at every hop), let every spoke's app send at a light rate, part\n"
		"of it to other provinces, and print latency in and across provinces, the\n"
		"national hub's share of the traffic and each hub's CPU time per message.\n"
		"  --provinces N  province hubs, 1..%d (default 4)\n"
		"  --spokes N     spokes per province, 2..%d (default 10)\n"
		"  --rate R       msg/s offered by each spoke (default 5)\n"
		"  --secs S       seconds of load (default 20)\n"
		"  --cross P      percent of messages to another province (default 50)\n"
		"  --size B       payload bytes, at least %d (default 1024)\n"
		"  --keep         keep the temporary directory\n",
		FED_MAX_PROV, FED_MAX_PER_PROV, FB_HDR);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"provinces", required_argument, NULL, 'p'},
		{"spokes", required_argument, NULL, 's'},
		{"rate", required_argument, NULL, 'r'},
		{"secs", required_argument, NULL, 't'},
		{"cross", required_argument, NULL, 'c'},
		{"size", required_argument, NULL, 'b'},
		{"keep", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct fb_opts o = {
		.provinces = 4, .spokes = 10, .rate = 5, .secs = 20, .cross = 50, .size = 1024};
	unsigned long long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case 'p':
			bad = bu_parse_uint(optarg, 1, FED_MAX_PROV, &v);
			o.provinces = (unsigned)v;
			break;
		case 's':
			bad = bu_parse_uint(optarg, 2, FED_MAX_PER_PROV, &v);
			o.spokes = (unsigned)v;
			break;
		case 'r':
			bad = bu_parse_uint(optarg, 1, 10000, &v);
			o.rate = (unsigned)v;
			break;
		case 't':
			bad = bu_parse_uint(optarg, 1, 3600, &v);
			o.secs = (unsigned)v;
			break;
		case 'c':
			bad = bu_parse_uint(optarg, 0, 100, &v);
			o.cross = (unsigned)v;
			break;
		case 'b':
			bad = bu_parse_uint(optarg, FB_HDR, 1 << 20, &v);
			o.size = v;
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
			fprintf(stderr, "onestop-fed-bench: bad option value: %s\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	return fb_run(&o) == 0 ? 0 : 1;
}
