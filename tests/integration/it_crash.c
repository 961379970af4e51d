/* Crash recovery: 20,000 numbered messages from a to b while one daemon is
 * killed with SIGKILL and restarted. IT_CRASH_WHAT picks the victim:
 *   hub       a sends 10,000, b's app takes a quarter of the stream, a sends
 *             2,000 more and the hub is killed right away; a sends the last
 *             8,000 while the hub is down (into its outbox), then the hub
 *             restarts; it is killed and restarted once more when b's app
 *             has three quarters;
 *   receiver  b's app takes a quarter of the first 10,000 and the spoke b is
 *             killed after the app received a batch and before it acked it;
 *             a sends the other 10,000 while b is down (the hub queues them),
 *             then b restarts and the app makes a new libonestop connection;
 *   sender    a sends all 20,000 (the last 10,000 in one request) and the
 *             spoke a is killed right after that Send returned OK (most of
 *             them still in its outbox), then restarts.
 * Guarantee checked (the design's "at least once; the app sees each id
 * once"): every message whose Send returned OK reaches b's app, in order,
 * byte for byte, with the id Send returned. The app acks every batch before
 * asking for the next; a message whose ack returned OK must never be handed
 * out again. A batch the app received but did not ack before its spoke died
 * must be handed out again, each message once (receiver case); in the hub
 * and sender cases nothing may be handed out twice. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#ifndef IT_CRASH_WHAT
#define IT_CRASH_WHAT "hub"
#endif

#define N 20000
#define HALF (N / 2)
#define PER_REQ 200
#define BODY 1000
#define TYPE "it.crash"

struct crash {
	struct net *n;
	struct net_proc *victim;
	int killed;
	int restarted;
	int kills;
};

static void crash_kill(struct crash *k, const char *when)
{
	fprintf(stderr, "  killing %s with SIGKILL %s\n", k->victim->name, when);
	proc_kill(k->n, k->victim);
	k->killed = 1;
	k->kills++;
}

static void crash_restart(struct crash *k)
{
	net_up(k->n, k->victim, 1);
	fprintf(stderr, "  %s restarted\n", k->victim->name);
	k->restarted = 1;
}

/* hub: a second crash while b's app is taking the stream */
static int hook_hub(struct msgs_rx *rx, void *arg)
{
	struct crash *k = arg;

	if (k->kills == 1 && rx->got >= 3 * (uint64_t)N / 4) {
		crash_kill(k, "again, at three quarters received");
		crash_restart(k);
	}
	return 0;
}

/* receiver: b's app has a batch in hand and has not acked it */
static int before_ack_receiver(struct msgs_rx *rx, void *arg)
{
	struct crash *k = arg;

	if (k->killed || rx->got < N / 4)
		return 0;
	crash_kill(k, "before its app acked a batch");
	rx->stop = 1;
	return 1;
}

static void send_range(struct net *n, struct net_proc *a, uint64_t first, size_t count,
		       size_t per_req, uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;
	int rc;

	H_REQUIRE(n, net_connect(a, 0, &c) == 0, "connected to a");
	rc = msgs_send(c, "b", TYPE, 7, first, count, per_req, BODY, 0, ids + (first - 1));
	H_REQUIRE(n, rc == 0, "a accepted messages %llu..%llu (every Send returned OK)",
		  (unsigned long long)first, (unsigned long long)(first + count - 1));
	onestop_close(&c);
}

static void print_state(struct net *n, struct net_proc *a, struct net_proc *b)
{
	onestop_status_t sa, sb;

	memset(&sa, 0, sizeof sa);
	memset(&sb, 0, sizeof sb);
	if (a->pid > 0)
		net_status(a, &sa);
	if (b->pid > 0)
		net_status(b, &sb);
	fprintf(stderr, "  state: a outbox=%llu sent=%llu; b received=%llu inbox=%llu\n",
		(unsigned long long)sa.outbox, (unsigned long long)sa.sent,
		(unsigned long long)sb.received, (unsigned long long)sb.inbox);
	(void)n;
}

int main(void)
{
	const char *what = IT_CRASH_WHAT;
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	uint8_t(*ids)[ONESTOP_ID_LEN] = calloc(N, sizeof *ids);
	struct crash k = {.n = n};
	int hub = strcmp(what, "hub") == 0, receiver = strcmp(what, "receiver") == 0;
	int sender = strcmp(what, "sender") == 0;
	onestop_t *cb = NULL;
	struct msgs_rx rx;
	onestop_status_t st;
	uint64_t zero = 0, t0;
	int rc, extra;

	fprintf(stderr, "crash scenario: %s\n", what);
	H_REQUIRE(n, ids != NULL && (hub || receiver || sender), "memory and a known scenario");
	k.victim = hub ? &n->hub : receiver ? b : a;
	net_start_all(n);

	memset(&rx, 0, sizeof rx);
	rx.stream = 7;
	rx.first = 1;
	rx.count = N;
	rx.origin = "a";
	rx.to = "b";
	rx.type = TYPE;
	rx.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids;
	rx.timeout_ms = h_ms(3000);
	rx.hook_arg = &k;
	if (receiver)
		rx.before_ack = before_ack_receiver;
	if (hub)
		rx.hook = hook_hub;

	/* first half, and b's app takes (at least) a quarter of the stream */
	send_range(n, a, 1, HALF, PER_REQ, ids);
	t0 = h_now_ms();
	while (rx.got < N / 4 && !rx.stop && h_now_ms() - t0 < 60000)
		msgs_drain(b, &cb, &rx, 100);
	H_REQUIRE(n, rx.got >= N / 4 && rx.got < N,
		  "b's app received some but not all before the crash (%llu)",
		  (unsigned long long)rx.got);

	if (hub) {
		send_range(n, a, HALF + 1, 2000, PER_REQ, ids);
		crash_kill(&k, "right after 2,000 more were sent");
		print_state(n, a, b);
		send_range(n, a, HALF + 2001, HALF - 2000, PER_REQ, ids);
		crash_restart(&k);
	} else if (receiver) {
		H_CHECK(n, k.killed, "b was killed with a batch in its app's hands");
		onestop_close(&cb); /* that app is gone; a new one connects later */
		send_range(n, a, HALF + 1, HALF, PER_REQ, ids);
		print_state(n, a, b);
		crash_restart(&k);
		rx.stop = 0;
	} else {
		/* one request of 10,000: its reply comes once all are committed,
		 * long before the hub can have taken them all */
		send_range(n, a, HALF + 1, HALF, HALF, ids);
		crash_kill(&k, "right after the last Send returned OK");
		crash_restart(&k);
		print_state(n, a, b);
	}

	rc = msgs_recv(b, &cb, &rx, 120000);
	H_CHECK(n, rc == 0, "b's app received all %d once, in order, intact, with Send's ids (%s)",
		N, rx.problem[0] ? rx.problem : "no problem");
	H_CHECK(n, k.killed && k.restarted && k.kills == (hub ? 2 : 1),
		"the %s was killed (%d times) and restarted mid-stream", what, k.kills);
	H_CHECK(n, rx.dup_acked == 0, "no acked message was handed out again (%llu)",
		(unsigned long long)rx.dup_acked);
	if (receiver)
		H_CHECK(n, rx.not_acked > 0 && rx.redelivered == rx.not_acked,
			"the batch the app had not acked was handed out again, each once "
			"(not acked %llu, handed out again %llu)",
			(unsigned long long)rx.not_acked, (unsigned long long)rx.redelivered);
	else
		H_CHECK(n, rx.redelivered == 0, "no message was handed out twice (%llu)",
			(unsigned long long)rx.redelivered);
	H_CHECK(n, rx.other == 0 && rx.n_dl == 0, "nothing else arrived (other=%llu dl=%zu)",
		(unsigned long long)rx.other, rx.n_dl);
	extra = msgs_drain(b, &cb, &rx, 1000);
	H_CHECK(n, extra == 0 && rx.dup_acked == 0,
		"nothing more after the stream (%d more, %llu duplicates)", extra,
		(unsigned long long)rx.dup_acked);
	rc = net_wait_status(b, st_inbox_is, &zero, h_ms(5000), &st);
	H_CHECK(n, rc == 0, "b's inbox empty (inbox=%llu)", (unsigned long long)st.inbox);
	rc = net_wait_status(a, st_outbox_is, &zero, h_ms(10000), &st);
	H_CHECK(n, rc == 0, "a's outbox drained (outbox=%llu)", (unsigned long long)st.outbox);
	H_CHECK(n, proc_alive(&n->hub) && proc_alive(a) && proc_alive(b),
		"all daemons running at the end");

	msgs_rx_clear(&rx);
	onestop_close(&cb);
	free(ids);
	return net_done(&n);
}
