/* Send's refusals and retries (#5, defects 5 and 8):
 * - a 2 MiB payload, under the spoke's max_message_bytes but over the
 *   hub's limit on a signed message, is refused at Send with ETOOBIG (it
 *   used to be accepted and then dead-lettered by the hub), also at a
 *   spoke configured for more, which learns the limit from the hub's Welcome;
 * - a Send retried under the same idempotency key answers the original id
 *   and stores nothing new, also across a restart of the spoke; the same
 *   key with another payload is EEXIST; the destination gets one copy;
 *   the CLI's send --key does the same. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.send"

static int send_one(onestop_t *c, const char *key, const char *body, uint8_t id[ONESTOP_ID_LEN])
{
	onestop_out_t m = {.to = "b",
			   .type = TYPE,
			   .payload = body,
			   .len = strlen(body),
			   .key = key,
			   .key_len = key ? strlen(key) : 0};
	return onestop_send(c, &m, 1, (uint8_t(*)[ONESTOP_ID_LEN])id);
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	onestop_t *ca = NULL, *cb = NULL;
	uint8_t id1[ONESTOP_ID_LEN], id2[ONESTOP_ID_LEN], id3[ONESTOP_ID_LEN];
	onestop_status_t st;
	int rc;

	/* b is configured with a larger limit than the hub's: the hub's
	 * Welcome tells it the real one. */
	b->args[0] = "--hub-max-message-bytes";
	b->args[1] = "8388608";
	net_start_all(n);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");

	/* defect 8: the effective limit is the hub's */
	{
		size_t big = (size_t)2 << 20;
		uint8_t *p = calloc(1, big);
		onestop_out_t m = {.to = "b", .type = TYPE, .payload = p, .len = big};
		H_REQUIRE(n, p != NULL, "2 MiB allocated");
		rc = onestop_send(ca, &m, 1, NULL);
		H_CHECK(n, rc == ONESTOP_ETOOBIG,
			"a 2 MiB Send is refused at once with ETOOBIG (%d %s: %s)", rc,
			onestop_strerror(rc), onestop_last_error(ca));
		free(p);
		rc = net_status(a, &st);
		H_CHECK(n, rc == 0 && st.outbox == 0 && st.sent == 0,
			"and nothing of it was stored (outbox %llu, sent %llu)",
			(unsigned long long)st.outbox, (unsigned long long)st.sent);
	}

	{
		size_t big = (size_t)2 << 20;
		uint8_t *p = calloc(1, big);
		onestop_out_t m = {.to = "a", .type = TYPE, .payload = p, .len = big};
		H_REQUIRE(n, p != NULL, "2 MiB allocated");
		H_CHECK(n,
			proc_wait_log(b, "event=hub_limit hub_max_message_bytes=1048576", 10000) ==
				0,
			"b learned the hub's limit from its Welcome");
		H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
		rc = onestop_send(cb, &m, 1, NULL);
		H_CHECK(n, rc == ONESTOP_ETOOBIG,
			"at b, configured for 8 MiB, a 2 MiB Send is refused with ETOOBIG: the hub's "
			"advertised limit counts (%d %s)",
			rc, onestop_last_error(cb));
		onestop_close(&cb);
		free(p);
	}

	/* defect 5: idempotency keys */
	rc = send_one(ca, "order-17", "first", id1);
	H_REQUIRE(n, rc == 0, "a Send with key order-17 is accepted (%d)", rc);
	rc = send_one(ca, "order-17", "first", id2);
	H_CHECK(n, rc == 0 && memcmp(id1, id2, sizeof id1) == 0,
		"its retry under the same key answers the original id (%d, %s vs %s)", rc,
		h_idhex(id1), h_idhex(id2));
	rc = send_one(ca, "order-17", "other contents", id3);
	H_CHECK(n, rc == ONESTOP_EEXIST,
		"the same key with another payload is refused with EEXIST (%d %s)", rc,
		onestop_strerror(rc));
	onestop_close(&ca);
	H_REQUIRE(n, proc_stop(n, a, 0) == 0, "a stopped cleanly");
	net_up(n, a, 1);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a again");
	rc = send_one(ca, "order-17", "first", id2);
	H_CHECK(n, rc == 0 && memcmp(id1, id2, sizeof id1) == 0,
		"after a restart of the spoke the retry still answers the original id (%d, %s)", rc,
		h_idhex(id2));
	rc = send_one(ca, NULL, "no key", id3);
	H_CHECK(n, rc == 0 && memcmp(id1, id3, sizeof id1) != 0,
		"a Send without a key is a new message (%d)", rc);
	{
		/* the CLI's --key: the retry prints the same id */
		struct cmd_out r1, r2;
		memset(&r1, 0, sizeof r1);
		memset(&r2, 0, sizeof r2);
		int c1 = net_cli_in(n, &r1, "cli", 3, "send", "--api", a->api, "--to", "b",
				    "--type", TYPE, "--key", "cli-1", NULL);
		int c2 = net_cli_in(n, &r2, "cli", 3, "send", "--api", a->api, "--to", "b",
				    "--type", TYPE, "--key", "cli-1", NULL);
		H_CHECK(n,
			c1 == 0 && c2 == 0 && r1.out && r2.out && strlen(r1.out) == 33 &&
				strcmp(r1.out, r2.out) == 0,
			"onestop send --key twice prints one id (%d %d: %s / %s)", c1, c2,
			r1.out ? r1.out : "", r2.out ? r2.out : "");
		cmd_out_free(&r1);
		cmd_out_free(&r2);
	}
	rc = net_status(a, &st);
	H_CHECK(n, rc == 0 && st.sent == 4,
		"a's spoke counted 4 accepted Sends since its restart, 2 of them retries (%llu)",
		(unsigned long long)st.sent);

	/* b gets exactly two: the keyed one once, and the one without key */
	{
		int got = 0, keyed = 0;
		uint64_t t0 = h_now_ms();
		H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
		while (h_now_ms() - t0 < (uint64_t)h_ms(5000)) {
			onestop_msg_t *ms = NULL;
			size_t k = 0;
			if (onestop_recv(cb, 100, 500, &ms, &k) != 0)
				break;
			for (size_t i = 0; i < k; i++) {
				uint64_t seq = ms[i].seq;
				got++;
				keyed += memcmp(ms[i].id, id1, sizeof id1) == 0;
				onestop_ack(cb, &seq, 1);
			}
			onestop_msgs_free(&ms, k);
		}
		H_CHECK(n, got == 3 && keyed == 1,
			"b received 3 messages, each keyed one once (got %d, keyed %d)", got,
			keyed);
	}
	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
