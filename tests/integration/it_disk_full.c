/* A spoke whose store is full (#5, defect 4). b runs with a 16 MiB map and
 * its app does not read while a sends it 48 messages of 512 KiB: b's store
 * fills with the inbox. Then
 * - b does not storm the hub: few sessions start over 3 s (each failed
 *   commit used to send a new Hello at once: 17..23 here; now 2..5, more
 *   only when a delivery found room and ended the backoff);
 * - a Send on b answers ESTOREFULL, not EFULL ("quota exhausted");
 * - b still answers Status;
 * - once b's app reads and acks, space returns and every message arrives,
 *   in order, none lost, without a restart. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.diskfull"
#define N 48
#define BODY (512u << 10)
#define SESSIONS_MAX 8

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b;
	onestop_t *ca = NULL, *cb = NULL;
	onestop_status_t st;
	struct msgs_rx rx;
	int rc, s0, s1;

	memset(&o, 0, sizeof o);
	o.spoke[1].conf[0] = (struct net_kv){"map_size_mb", "16"};
	/* The default bound of the backoff (the harness shortens it). */
	o.spoke[1].conf[1] = (struct net_kv){"reconnect_max_ms", "5000"};
	n = net_make(2, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	net_start_all(n);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	rc = msgs_send(ca, "b", TYPE, 1, 1, N, 1, BODY, 0, NULL);
	H_REQUIRE(n, rc == 0, "a accepted %d messages of %u KiB for b (%d)", N, BODY >> 10, rc);
	H_REQUIRE(n, proc_wait_log(b, "store_full", h_ms(30000)) == 0, "b's store became full");
	h_sleep_ms(1000);

	s0 = proc_log_count(&n->hub, "session_start node=b ", 1);
	h_sleep_ms(3000);
	s1 = proc_log_count(&n->hub, "session_start node=b ", 1);
	H_CHECK(n, s1 - s0 <= SESSIONS_MAX,
		"b backs off while its store is full: %d sessions in 3 s (at most %d)", s1 - s0,
		SESSIONS_MAX);

	H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
	{
		uint8_t *p = malloc(MSGS_HDR + BODY);
		H_REQUIRE(n, p != NULL, "payload allocated");
		int i = 0;
		/* Pages freed by earlier transactions may take a Send or two. */
		do {
			msgs_payload(p, 2, (uint64_t)++i, BODY);
			onestop_out_t m = {.to = "a",
					   .type = TYPE,
					   .payload = p,
					   .len = MSGS_HDR + BODY};
			rc = onestop_send(cb, &m, 1, NULL);
		} while (rc == 0 && i < 64);
		H_CHECK(n, rc == ONESTOP_ESTOREFULL,
			"a Send on b answers ESTOREFULL, not EFULL (after %d: %d %s: %s)", i, rc,
			onestop_strerror(rc), onestop_last_error(cb));
		free(p);
	}
	rc = net_status(b, &st);
	H_CHECK(n, rc == 0 && st.inbox > 0 && st.inbox < N,
		"b still answers Status (rc %d, inbox %llu of %d)", rc,
		(unsigned long long)st.inbox, N);

	memset(&rx, 0, sizeof rx);
	rx.stream = 1;
	rx.first = 1;
	rx.count = N;
	rx.origin = "a";
	rx.batch = 4;
	rc = msgs_recv(b, &cb, &rx, h_ms(90000));
	H_CHECK(n, rc == 0, "once b's app acks, all %d arrive in order, none lost (%s)", N,
		rx.problem);
	H_CHECK(n, rx.dup_acked == 0 && rx.corrupt == 0 && rx.n_dl == 0,
		"nothing acked came twice, nothing corrupt, no dead letter (%llu %llu %zu)",
		(unsigned long long)rx.dup_acked, (unsigned long long)rx.corrupt, rx.n_dl);
	H_CHECK(n, proc_log_count(b, "store_space_back", 1) >= 1, "b logged that space came back");
	{
		uint8_t *p = malloc(MSGS_HDR + BODY);
		H_REQUIRE(n, p != NULL, "payload allocated");
		msgs_payload(p, 2, 100, BODY);
		onestop_out_t m = {.to = "a", .type = TYPE, .payload = p, .len = MSGS_HDR + BODY};
		rc = onestop_send(cb, &m, 1, NULL);
		H_CHECK(n, rc == 0, "and b's Send works again (%d %s)", rc, onestop_strerror(rc));
		free(p);
	}
	printf("figures: store_full lines at b %d, hub sessions of b in total %d\n",
	       proc_log_count(b, "store_full", 1),
	       proc_log_count(&n->hub, "session_start node=b ", 1));
	msgs_rx_clear(&rx);
	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
