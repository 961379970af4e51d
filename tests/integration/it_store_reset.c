/* Stores recreated from scratch (an operator wipes a data directory): the
 * hub's store (new hub epoch: the spokes must not take its new deliveries
 * for old duplicates), the sender's store (new outbox epoch: the hub must
 * take its new stream from seq 1), and the receiver's store. After each
 * wipe, 100 new messages from a to b arrive, all of them, in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

#define M 100
#define TYPE "it.reset"

static void rm_rf(const char *dir)
{
	char cmd[H_PATH + 32];

	/* only ever a data directory inside the test's own /tmp directory */
	if (strncmp(dir, "/tmp/onestop-it-", 16) != 0 || strstr(dir, ".."))
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "  could not remove %s\n", dir);
}

static void wipe(struct net *n, struct net_proc *p)
{
	int rc = proc_stop(n, p, 0);

	H_CHECK(n, rc == 0, "%s stopped cleanly (%d)", p->name, rc);
	rm_rf(p->data_dir);
	mkdir(p->data_dir, 0700);
	net_up(n, p, 1);
	fprintf(stderr, "  %s restarted on an empty store\n", p->name);
}

static void stream(struct net *n, uint32_t id, const char *after)
{
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	onestop_t *ca = NULL, *cb = NULL;
	struct msgs_rx rx;
	int rc;

	H_REQUIRE(n,
		  net_spoke_ready(n, a, 1, h_ms(30000)) == 0 &&
			  net_spoke_ready(n, b, 1, h_ms(30000)) == 0,
		  "a and b connected");
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	rc = msgs_send(ca, "b", TYPE, id, 1, M, 25, 200, 0, NULL);
	H_REQUIRE(n, rc == 0, "a sent %d (%s)", M, after);
	memset(&rx, 0, sizeof rx);
	rx.stream = id;
	rx.first = 1;
	rx.count = M;
	rx.origin = "a";
	rc = msgs_recv(b, &cb, &rx, 30000);
	H_CHECK(n, rc == 0 && rx.other == 0 && rx.n_dl == 0,
		"b received all %d in order %s (%s; other=%llu dl=%zu)", M, after, rx.problem,
		(unsigned long long)rx.other, rx.n_dl);
	msgs_rx_clear(&rx);
	onestop_close(&ca);
	onestop_close(&cb);
}

int main(void)
{
	struct net *n = net_make(2, NULL);

	net_start_all(n);
	stream(n, 1, "at first");
	wipe(n, &n->hub);
	stream(n, 2, "after the hub's store was recreated");
	wipe(n, net_spoke(n, "a"));
	stream(n, 3, "after a's store was recreated");
	wipe(n, net_spoke(n, "b"));
	stream(n, 4, "after b's store was recreated");
	return net_done(&n);
}
