/* Order across an app crash: messages leased to an app that dies come back
 * as soon as its connection is gone, and before later ones. 20 messages
 * wait in b's inbox; an app in a child process receives the first 5
 * without acking and is killed (kill -9); another app must then get all
 * 20 in order, starting with the 5, well before the 30 s lease would have
 * run out. Then the same with an app that receives 3 and closes its
 * connection cleanly without acking. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define TYPE "it.order"
#define N 20
#define STREAM 7

/* The stream seq of a received message, or 0 if it is not one of ours. */
static uint64_t seq_of(const onestop_msg_t *m)
{
	uint32_t stream;
	uint64_t seq;
	if (msgs_payload_check(m->payload, m->len, &stream, &seq) != 0 || stream != STREAM)
		return 0;
	return seq;
}

/* In a child: receive k messages at p without acking, say how many on fd,
 * then wait to be killed. */
static void child_lease(struct net_proc *p, size_t k, int fd)
{
	onestop_t *c = NULL;
	onestop_msg_t *m = NULL;
	size_t got = 0;
	char line[32];

	if (onestop_connect(p->api, 10000, &c) != 0 || onestop_recv(c, k, 5000, &m, &got) != 0)
		got = 0;
	snprintf(line, sizeof line, "%zu\n", got);
	if (write(fd, line, strlen(line)) < 0)
		_exit(2);
	for (;;)
		pause();
}

/* Receive at p as a new app until `want` messages came or the time is
 * up, acking each batch; they must be seqs first..first+want-1 in order.
 * Returns how many were in order; *ms how long it took. */
static int recv_in_order(struct net *n, struct net_proc *p, uint64_t first, int want, uint64_t *ms)
{
	onestop_t *c = NULL;
	uint64_t t0 = h_now_ms(), end = t0 + (uint64_t)h_ms(20000), next = first;
	int in_order = 0, wrong = 0;

	H_REQUIRE(n, net_connect(p, 0, &c) == 0, "connected a second app to %s", p->name);
	while (in_order < want && !wrong && h_now_ms() < end) {
		onestop_msg_t *m = NULL;
		size_t k = 0;
		uint64_t seqs[N];
		if (onestop_recv(c, N, 500, &m, &k) != 0)
			continue;
		for (size_t i = 0; i < k; i++) {
			uint64_t s = seq_of(&m[i]);
			if (s == next) {
				in_order++;
				next++;
			} else if (!wrong) {
				wrong = 1;
				H_CHECK(n, 0, "message %zu of a batch is seq %llu, want %llu", i,
					(unsigned long long)s, (unsigned long long)next);
			}
			seqs[i] = m[i].seq;
		}
		onestop_ack(c, seqs, k);
		onestop_msgs_free(&m, k);
	}
	*ms = h_now_ms() - t0;
	onestop_close(&c);
	return in_order;
}

static void fill(struct net *n, struct net_proc *from, struct net_proc *to, uint64_t first)
{
	onestop_t *c = NULL;
	uint64_t want = N;
	H_REQUIRE(n, net_connect(from, 0, &c) == 0, "connected to %s", from->name);
	H_REQUIRE(n, msgs_send(c, to->name, TYPE, STREAM, first, N, N, 16, 0, NULL) == 0,
		  "sent %d messages from %s to %s", N, from->name, to->name);
	onestop_close(&c);
	H_REQUIRE(n, net_wait_status(to, st_inbox_is, &want, h_ms(15000), NULL) == 0,
		  "the %d messages wait in %s's inbox", N, to->name);
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	int fds[2], got;
	uint64_t ms;
	char line[32] = "";
	pid_t pid;

	net_start_all(n);

	/* 1. an app killed with messages leased */
	fill(n, a, b, 1);
	H_REQUIRE(n, pipe(fds) == 0, "pipe");
	pid = fork();
	H_REQUIRE(n, pid >= 0, "fork");
	if (pid == 0) {
		close(fds[0]);
		child_lease(b, 5, fds[1]);
	}
	close(fds[1]);
	if (read(fds[0], line, sizeof line - 1) <= 0)
		line[0] = '\0';
	close(fds[0]);
	H_CHECK(n, atoi(line) == 5, "the first app received 5 messages without acking (%s)",
		line[0] ? line : "nothing");
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	got = recv_in_order(n, b, 1, N, &ms);
	H_CHECK(n, got == N,
		"after the first app was killed, a second one got all %d in order, the 5 unacked "
		"first (%d in order)",
		N, got);
	H_CHECK(n, ms < (uint64_t)h_ms(10000),
		"...within %d ms, well under the 30 s lease (took %llu ms)", h_ms(10000),
		(unsigned long long)ms);

	/* 2. an app that closes its connection without acking */
	fill(n, a, b, N + 1);
	{
		onestop_t *c = NULL;
		onestop_msg_t *m = NULL;
		size_t k = 0;
		H_REQUIRE(n, net_connect(b, 0, &c) == 0, "connected the first app again");
		H_CHECK(n, onestop_recv(c, 3, 5000, &m, &k) == 0 && k == 3,
			"it received 3 messages without acking (%zu)", k);
		onestop_msgs_free(&m, k);
		onestop_close(&c);
	}
	got = recv_in_order(n, b, N + 1, N, &ms);
	H_CHECK(n, got == N,
		"after the first app closed its connection, a second one got all %d in order (%d)",
		N, got);
	H_CHECK(n, ms < (uint64_t)h_ms(10000), "...within %d ms (took %llu ms)", h_ms(10000),
		(unsigned long long)ms);
	return net_done(&n);
}
