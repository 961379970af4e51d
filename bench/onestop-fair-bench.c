/* onestop-fair-bench: how long one node's message waits behind another
 * node's flood at the hub (#5, defect 3). A real hub and spokes a, b, d on
 * loopback: an app on a sends a flood (default 40,000 messages) to d as
 * fast as it can while an app on b sends single probes to d at points
 * through the flood; an app on d receives and acks everything. Prints each
 * probe's latency (b's Send to d's receipt) and how much of the flood had
 * arrived before it, and the hub's quotas line (the share of the store one
 * node may take). A benchmark: it prints figures and asserts nothing. */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "benchutil.h"
#include "harness.h"
#include "util.h"

#define FB_TYPE "bench.fair"
#define FB_MAX_PROBES 64
#define FB_CHUNK 1000u /* flood messages per Send */

struct fb {
	struct bu_receiver loop; /* drains d */
	uint64_t flood, probes;
	uint64_t got_flood, got_probes;
	uint64_t probe_sent_us[FB_MAX_PROBES]; /* set by main before the Send */
	uint64_t probe_at_us[FB_MAX_PROBES];   /* receipt at d's app */
	uint64_t probe_behind[FB_MAX_PROBES];  /* flood received before it */
	uint64_t flood_sent[FB_MAX_PROBES];    /* flood sent before it */
	pthread_mutex_t mu;
};

static void fb_batch(void *arg, const onestop_msg_t *m, size_t n, uint64_t now)
{
	struct fb *f = arg;

	pthread_mutex_lock(&f->mu);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(m[i].origin, "b") == 0 && m[i].len >= 8) {
			uint64_t k = os_get_u64be(m[i].payload);

			if (k < f->probes && !f->probe_at_us[k]) {
				f->probe_at_us[k] = now;
				f->probe_behind[k] = f->got_flood;
				f->got_probes++;
			}
		} else if (strcmp(m[i].origin, "a") == 0) {
			f->got_flood++;
		}
	}
	pthread_mutex_unlock(&f->mu);
}

static int fb_done(void *arg)
{
	const struct fb *f = arg;
	return f->got_flood >= f->flood && f->got_probes >= f->probes;
}

/* Print the hub's "quotas" line from its log. */
static void fb_print_quotas(const struct net *n)
{
	char line[1024];
	FILE *fp = fopen(n->hub.log, "r");

	if (!fp)
		return;
	while (fgets(line, sizeof line, fp))
		if (strstr(line, "event=quotas ")) {
			printf("hub %s", line);
			break;
		}
	fclose(fp);
}

static void fb_report(struct fb *f, const char *mode, uint64_t sent, size_t size, uint64_t t_start)
{
	uint64_t lat[FB_MAX_PROBES], from;

	printf("%s: flood of %llu messages of %zu bytes from a to d, %llu received in %.2f s\n",
	       mode, (unsigned long long)sent, size, (unsigned long long)f->got_flood,
	       (double)(f->loop.last_us - t_start) / 1e6);
	for (uint64_t k = 0; k < f->probes; k++) {
		if (!f->probe_at_us[k]) {
			printf("probe %llu: lost\n", (unsigned long long)k);
			lat[k] = UINT64_MAX;
			continue;
		}
		lat[k] = f->probe_at_us[k] - f->probe_sent_us[k];
		printf("probe %llu: %.1f ms (flood sent before it %llu, received before it %llu)%s\n",
		       (unsigned long long)k, (double)lat[k] / 1000.0,
		       (unsigned long long)f->flood_sent[k], (unsigned long long)f->probe_behind[k],
		       k == 0 && !strcmp(mode, "live") ? " idle" : "");
	}
	/* In the live mode probe 0 went before the flood. */
	from = strcmp(mode, "live") == 0 ? 1 : 0;
	if (f->probes > from) {
		bu_sort_u64(lat + from, f->probes - from);
		printf("%s: probe latency behind the flood: median %.1f ms, max %.1f ms (%llu probes)\n",
		       mode, (double)lat[from + (f->probes - from) / 2] / 1000.0,
		       (double)lat[f->probes - 1] / 1000.0, (unsigned long long)(f->probes - from));
	}
}

/* Stop d, let a's whole flood reach the hub, then start d and its app and
 * send the probes, one every 20 ms, while d drains. */
static void fb_backlog(struct net *n, struct fb *f, onestop_t *ca, onestop_t *cb, uint8_t *bufs,
		       onestop_out_t *out, size_t size)
{
	uint64_t sent = 0, zero = 0, t0, flood = f->flood;
	onestop_status_t st;
	pthread_t th;

	if (proc_stop(n, f->loop.p, 0) != 0)
		return;
	while (sent < flood) {
		for (size_t i = 0; i < FB_CHUNK; i++) {
			uint8_t *p = bufs + i * size;

			os_put_u64be(p, sent + i);
			out[i] = (onestop_out_t){.to = "d",
						 .type = FB_TYPE,
						 .payload = p,
						 .len = size};
		}
		if (onestop_send(ca, out, FB_CHUNK, NULL) != 0)
			break;
		sent += FB_CHUNK;
	}
	if (net_wait_status(net_spoke(n, "a"), st_outbox_is, &zero, 120000, &st) != 0)
		fprintf(stderr, "backlog: a's outbox did not drain (%llu)\n",
			(unsigned long long)st.outbox);
	pthread_mutex_lock(&f->mu);
	f->flood = sent;
	f->got_flood = f->got_probes = 0;
	memset(f->probe_at_us, 0, sizeof f->probe_at_us);
	memset(f->probe_behind, 0, sizeof f->probe_behind);
	pthread_mutex_unlock(&f->mu);
	net_up(n, f->loop.p, 1);
	t0 = os_mono_us();
	if (pthread_create(&th, NULL, bu_receive, &f->loop) != 0)
		return;
	for (uint64_t k = 0; k < f->probes; k++) {
		uint8_t pb[8];
		onestop_out_t m = {.to = "d", .type = FB_TYPE, .payload = pb, .len = 8};

		os_put_u64be(pb, k);
		pthread_mutex_lock(&f->mu);
		f->probe_sent_us[k] = os_mono_us();
		f->flood_sent[k] = sent;
		pthread_mutex_unlock(&f->mu);
		if (onestop_send(cb, &m, 1, NULL) != 0)
			fprintf(stderr, "probe %llu: send failed\n", (unsigned long long)k);
		h_sleep_ms(20);
	}
	pthread_join(th, NULL);
	fb_report(f, "backlog", sent, size, t0);
}

static void usage(FILE *out)
{
	fprintf(out, "usage: onestop-fair-bench [--flood N] [--probes N] [--size BYTES] [--keep]\n"
		     "  --flood N    messages a sends to d (default 40000)\n"
		     "  --probes N   probes b sends to d through the flood (default 8, max 64)\n"
		     "  --size B     payload bytes of a flood message (default 64)\n"
		     "  --keep       keep the network's directory\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {{"flood", required_argument, NULL, 'f'},
						 {"probes", required_argument, NULL, 'p'},
						 {"size", required_argument, NULL, 's'},
						 {"keep", no_argument, NULL, 'k'},
						 {"help", no_argument, NULL, 'h'},
						 {NULL, 0, NULL, 0}};
	struct fb f;
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b;
	onestop_t *ca = NULL, *cb = NULL;
	pthread_t th;
	size_t size = 64;
	uint8_t *bufs;
	onestop_out_t *out;
	uint64_t sent = 0, t0, t_idle = 0, chunks, every;
	int keep = 0, ch;

	memset(&f, 0, sizeof f);
	f.flood = 40000;
	f.probes = 8;
	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			f.flood = strtoull(optarg, NULL, 10);
			break;
		case 'p':
			f.probes = strtoull(optarg, NULL, 10);
			break;
		case 's':
			size = (size_t)strtoull(optarg, NULL, 10);
			break;
		case 'k':
			keep = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (f.flood < FB_CHUNK || f.flood > 10000000 || f.probes < 1 || f.probes > FB_MAX_PROBES ||
	    size < 8 || size > 1000000) {
		usage(stderr);
		return 2;
	}
	bufs = calloc(FB_CHUNK, size);
	out = calloc(FB_CHUNK, sizeof *out);
	if (!bufs || !out)
		return 1;
	pthread_mutex_init(&f.mu, NULL);

	memset(&o, 0, sizeof o);
	o.log_level = "info";
	o.spoke[0].name = "a";
	o.spoke[1].name = "b";
	o.spoke[2].name = "d";
	n = net_make(3, &o);
	n->keep = keep;
	net_start_all(n);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	f.loop = (struct bu_receiver){.p = net_spoke(n, "d"),
				      .deadline_ms = 300000,
				      .wait_ms = 200,
				      .batch = fb_batch,
				      .done = fb_done,
				      .arg = &f};
	if (net_connect(a, 30000, &ca) != 0 || net_connect(b, 30000, &cb) != 0) {
		fprintf(stderr, "onestop-fair-bench: cannot connect to the spokes\n");
		return 1;
	}
	f.probes += 1; /* probe 0 goes before the flood: the idle latency */
	if (pthread_create(&th, NULL, bu_receive, &f.loop) != 0)
		return 1;

	chunks = f.flood / FB_CHUNK;
	every = chunks / f.probes ? chunks / f.probes : 1;
	t0 = os_mono_us();
	for (uint64_t c = 0, k = 0; c <= chunks; c++) {
		/* A probe at the start (idle), then every few chunks. */
		if (k < f.probes && (k == 0 || (c > 0 && c % every == 0))) {
			uint8_t pb[8];
			onestop_out_t m = {.to = "d", .type = FB_TYPE, .payload = pb, .len = 8};

			os_put_u64be(pb, k);
			pthread_mutex_lock(&f.mu);
			f.probe_sent_us[k] = os_mono_us();
			f.flood_sent[k] = sent;
			pthread_mutex_unlock(&f.mu);
			if (onestop_send(cb, &m, 1, NULL) != 0)
				fprintf(stderr, "probe %llu: send failed\n", (unsigned long long)k);
			if (k++ == 0) {
				/* Let the idle probe arrive first. */
				while (!f.probe_at_us[0] && os_mono_us() - t0 < 10000000)
					h_sleep_ms(1);
				t_idle = os_mono_us();
			}
		}
		if (c == chunks)
			break;
		for (size_t i = 0; i < FB_CHUNK; i++) {
			uint8_t *p = bufs + i * size;

			os_put_u64be(p, sent + i);
			out[i] = (onestop_out_t){.to = "d",
						 .type = FB_TYPE,
						 .payload = p,
						 .len = size};
		}
		if (onestop_send(ca, out, FB_CHUNK, NULL) == 0)
			sent += FB_CHUNK;
	}
	/* What the receiver waits for: what was sent. */
	pthread_mutex_lock(&f.mu);
	f.flood = sent;
	pthread_mutex_unlock(&f.mu);
	pthread_join(th, NULL);

	fb_report(&f, "live", sent, size, t_idle);

	/* The backlog: the whole flood waits at the hub for d, which comes
	 * up as b sends its probes. */
	fb_backlog(n, &f, ca, cb, bufs, out, size);
	fb_print_quotas(n);
	onestop_close(&ca);
	onestop_close(&cb);
	free(bufs);
	free(out);
	pthread_mutex_destroy(&f.mu);
	return net_done(&n);
}
