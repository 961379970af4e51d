/* kill -9 of a hub in the middle of a cross-province stream: 20,000
 * messages gd.a -> sc.a (and 2,000 gd.b -> sc.a beside it), sent in chunks
 * while a receiver takes them, as one hub
 * (IT_FED_CRASH_WHAT: "origin" gd.hub, "dest" sc.hub, or "national" the
 * national hub) is killed and restarted twice; every message arrives once,
 * in order. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fed_harness.h"

#ifndef IT_FED_CRASH_WHAT
#define IT_FED_CRASH_WHAT "origin"
#endif

#define N_MAIN 20000
#define N_SIDE 2000
#define BODY 100
#define PER_REQ 100
#define TYPE "it.fed.crash"
#define CHUNKS 10

struct crash {
	struct fed *f;
	struct net_proc *victim;
	struct net_proc *origin;  /* gd.a: its outbox at each kill */
	const struct msgs_rx *rx; /* the receiver's progress at each kill */
	int kills;
};

/* Kill the victim with SIGKILL and start it again. */
static void crash_victim(struct crash *cr)
{
	struct fed *f = cr->f;
	struct net *n = f->net;
	struct net_proc *v = cr->victim;

	onestop_status_t st;

	/* Where the stream is (read while the receiver runs: a figure for
	 * the log, not a check). */
	memset(&st, 0, sizeof st);
	net_status(cr->origin, &st);
	fprintf(stderr, "  kill -9 %s: sc.a has received %llu, gd.a's outbox holds %llu\n", v->name,
		(unsigned long long)__atomic_load_n(&cr->rx->got, __ATOMIC_RELAXED),
		(unsigned long long)st.outbox);
	proc_kill(n, v);
	h_sleep_ms(300);
	H_REQUIRE(n, proc_start(n, v) == 0, "%s restarted", v->name);
	H_REQUIRE(n, proc_wait_log(v, "event=hub_ready", h_ms(30000)) == 0, "%s ready again",
		  v->name);
	cr->kills++;
}

/* The receiving application at sc.a, in its own thread. */
struct receiver {
	struct net_proc *p;
	struct msgs_rx rx, rx2;
	int rc;
};

static void *receiver_run(void *arg)
{
	struct receiver *r = arg;
	onestop_t *c = NULL;

	r->rc = msgs_recv(r->p, &c, &r->rx, h_ms(240000));
	if (r->rc == 0 && msgs_drain(r->p, &c, &r->rx, 500) < 0)
		r->rc = -1;
	onestop_close(&c);
	return NULL;
}

static void rx_init(struct msgs_rx *rx, uint32_t stream, uint64_t count, const char *origin,
		    const uint8_t (*ids)[ONESTOP_ID_LEN])
{
	memset(rx, 0, sizeof *rx);
	rx->stream = stream;
	rx->first = 1;
	rx->count = count;
	rx->origin = origin;
	rx->to = "sc.a";
	rx->type = TYPE;
	rx->ids = ids;
	rx->batch = 200;
}

int main(void)
{
	struct fed *f = fed_make(NULL);
	struct net *n = f->net;
	struct net_proc *gda = fed_proc(f, "gd.a"), *gdb = fed_proc(f, "gd.b");
	struct net_proc *sca = fed_proc(f, "sc.a");
	uint8_t(*ids)[ONESTOP_ID_LEN] = calloc(N_MAIN, ONESTOP_ID_LEN);
	uint8_t(*ids2)[ONESTOP_ID_LEN] = calloc(N_SIDE, ONESTOP_ID_LEN);
	onestop_t *ca = NULL, *cb = NULL;
	struct receiver r;
	struct crash cr;
	pthread_t th;
	uint64_t t0;

	memset(&cr, 0, sizeof cr);
	cr.f = f;
	cr.victim = strcmp(IT_FED_CRASH_WHAT, "national") == 0 ? fed_proc(f, "hub")
		    : strcmp(IT_FED_CRASH_WHAT, "dest") == 0   ? fed_proc(f, "sc.hub")
							       : fed_proc(f, "gd.hub");
	H_REQUIRE(n, ids && ids2, "memory for the ids");
	fprintf(stderr, "kill -9 of %s in the middle of a %d-message stream gd.a -> sc.a\n",
		cr.victim->name, N_MAIN);
	fed_start_all(f);

	/* A message may arrive before its Send returned its id: the receiver
	 * checks each (stream, seq) once, in order, with its contents. */
	memset(&r, 0, sizeof r);
	r.p = sca;
	rx_init(&r.rx, 1, N_MAIN, "gd.a", NULL);
	rx_init(&r.rx2, 2, N_SIDE, "gd.b", NULL);
	r.rx.also = &r.rx2;
	cr.origin = gda;
	cr.rx = &r.rx;
	H_REQUIRE(n, pthread_create(&th, NULL, receiver_run, &r) == 0, "receiver started");

	/* Sent in chunks while the stream flows; the victim dies twice. */
	t0 = h_now_ms();
	H_REQUIRE(n, net_connect(gda, 0, &ca) == 0 && net_connect(gdb, 0, &cb) == 0,
		  "connected to gd.a and gd.b");
	for (int i = 0; i < CHUNKS; i++) {
		size_t m = N_MAIN / CHUNKS, s = N_SIDE / CHUNKS;

		H_REQUIRE(n,
			  msgs_send(ca, "sc.a", TYPE, 1, 1 + (uint64_t)i * m, m, PER_REQ, BODY, 0,
				    ids + (size_t)i * m) == 0,
			  "gd.a sent chunk %d", i);
		H_REQUIRE(n,
			  msgs_send(cb, "sc.a", TYPE, 2, 1 + (uint64_t)i * s, s, PER_REQ, BODY, 0,
				    ids2 + (size_t)i * s) == 0,
			  "gd.b sent chunk %d", i);
		if (i == CHUNKS / 3 || i == CHUNKS * 2 / 3)
			crash_victim(&cr);
	}
	onestop_close(&ca);
	onestop_close(&cb);
	pthread_join(th, NULL);

	H_CHECK(n, r.rc == 0, "sc.a got all %d from gd.a and %d from gd.b once, in order (%s%s)",
		N_MAIN, N_SIDE, r.rx.problem, r.rx2.problem);
	H_CHECK(n, cr.kills == 2, "%s was killed twice mid-stream (%d)", cr.victim->name, cr.kills);
	H_CHECK(n,
		r.rx.dup_acked == 0 && r.rx2.dup_acked == 0 && r.rx.other == 0 &&
			r.rx.redelivered == 0 && r.rx2.redelivered == 0 && r.rx.n_dl == 0,
		"no second copy, nothing else, no dead letter (dup %llu/%llu other %llu "
		"redelivered %llu/%llu dl %zu)",
		(unsigned long long)r.rx.dup_acked, (unsigned long long)r.rx2.dup_acked,
		(unsigned long long)r.rx.other, (unsigned long long)r.rx.redelivered,
		(unsigned long long)r.rx2.redelivered, r.rx.n_dl);
	fprintf(stderr, "  %d + %d messages across two kills of %s in %llu ms\n", N_MAIN, N_SIDE,
		cr.victim->name, (unsigned long long)(h_now_ms() - t0));
	msgs_rx_clear(&r.rx);
	msgs_rx_clear(&r.rx2);

	free(ids);
	free(ids2);
	return fed_done(&f);
}
