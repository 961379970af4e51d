/* Local hardening (#5, defect 10): the spoke's API socket file has the
 * configured mode and group whatever the umask (0660 by default); a local
 * app whose uid a rule leaves out gets EPEER for Send (and may still ask
 * for Status); 2,000 handshakes the hub refuses (keys not in the
 * registry) write a bounded number of log lines, and handshakes refused
 * below ZAP (a client with the wrong hub key) are logged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "crypto.h"
#include "harness.h"

#define FLOOD 2000
#define FLOOD_BATCH 100

/* Open FLOOD CURVE connections to the hub, FLOOD_BATCH at a time, each
 * with a fresh key pair, under server key hub_pk; each says something so
 * that the handshake runs. */
static void flood(struct net *n, const os_box_pk hub_pk, int count)
{
	void *ctx = zmq_ctx_new();
	void *socks[FLOOD_BATCH];
	int zero = 0;

	for (int done = 0; done < count;) {
		int k = count - done < FLOOD_BATCH ? count - done : FLOOD_BATCH;
		for (int i = 0; i < k; i++) {
			struct os_keypair kp;
			crypto_keypair_new(&kp);
			socks[i] = zmq_socket(ctx, ZMQ_DEALER);
			zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
			zmq_setsockopt(socks[i], ZMQ_CURVE_SERVERKEY, hub_pk, 32);
			zmq_setsockopt(socks[i], ZMQ_CURVE_PUBLICKEY, kp.box_pk, 32);
			zmq_setsockopt(socks[i], ZMQ_CURVE_SECRETKEY, kp.box_sk, 32);
			zmq_connect(socks[i], n->hub_endpoint);
			zmq_send(socks[i], "x", 1, ZMQ_DONTWAIT);
			crypto_keypair_wipe(&kp);
		}
		h_sleep_ms(150);
		for (int i = 0; i < k; i++)
			zmq_close(socks[i]);
		done += k;
	}
	zmq_ctx_term(ctx);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b;
	struct stat st;
	char path[H_PATH + 8];
	onestop_t *c = NULL;
	onestop_status_t s;
	int rc;

	memset(&o, 0, sizeof o);
	n = net_make(2, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	/* A permissive umask must not open the socket to everyone. */
	umask(0);
	net_start_all(n);
	umask(022);

	fprintf(stderr, "the API socket's mode and group\n");
	snprintf(path, sizeof path, "%s", a->api + 6);
	rc = stat(path, &st);
	H_CHECK(n, rc == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660,
		"a's socket (default api_mode) is 0660 under umask 0 (mode %o)",
		rc == 0 ? (unsigned)(st.st_mode & 0777) : 0u);
	H_CHECK(n, rc == 0 && st.st_gid == getgid(), "...and of the spoke's group (gid %u)",
		rc == 0 ? (unsigned)st.st_gid : 0u);
	fprintf(stderr, "%d refused handshakes\n", FLOOD);
	{
		char pub[H_PATH + 8];
		os_sign_pk spk;
		os_box_pk bpk, wrong;
		struct os_keypair other;

		snprintf(pub, sizeof pub, "%s.pub", n->hub.reg_key);
		H_REQUIRE(n, crypto_setup() == 0 && crypto_pubfile_read(pub, spk, bpk) == 0,
			  "read the hub's public keys");
		flood(n, bpk, FLOOD);
		/* Let the hub's loop catch up with what it was sent. */
		h_sleep_ms(500);
		int denied = proc_log_count(&n->hub, "event=zap_denied", 1);
		H_CHECK(n, denied >= 1 && denied <= 40,
			"the hub logged between 1 and 40 zap_denied lines for %d refused "
			"handshakes (%d)",
			FLOOD, denied);
		crypto_keypair_new(&other);
		memcpy(wrong, other.box_pk, sizeof wrong);
		crypto_keypair_wipe(&other);
		flood(n, wrong, 5);
		uint64_t t0 = h_now_ms();
		while (proc_log_count(&n->hub, "event=handshake_failed", 1) == 0 &&
		       h_now_ms() - t0 < (uint64_t)h_ms(5000))
			h_sleep_ms(100);
		int failed = proc_log_count(&n->hub, "event=handshake_failed", 1);
		H_CHECK(n, failed >= 1 && failed <= 40,
			"handshakes with the wrong hub key are logged, at a bounded rate (%d lines)",
			failed);
	}
	fprintf(stderr, "b restarted with a mode, a group and a rule for Send\n");
	H_REQUIRE(n, proc_stop(n, b, 0) == 0, "b stopped cleanly");
	b->args[0] = "--api-mode=0600";
	b->args[1] = "--api-group=daemon";
	b->args[2] = "--api-allow-send=uid:4242,gid:4242";
	b->args[3] = NULL;
	net_up(n, b, 1);
	snprintf(path, sizeof path, "%s", b->api + 6);
	rc = stat(path, &st);
	H_CHECK(n, rc == 0 && (st.st_mode & 0777) == 0600, "b's socket is 0600 as configured (%o)",
		rc == 0 ? (unsigned)(st.st_mode & 0777) : 0u);
	H_CHECK(n, rc == 0 && st.st_gid == 1, "b's socket has group daemon (gid %u)",
		rc == 0 ? (unsigned)st.st_gid : 0u);

	fprintf(stderr, "per-app rules\n");
	H_REQUIRE(n, net_connect(b, 0, &c) == 0, "connected to b");
	onestop_out_t m = {.to = "a", .type = "test.local", .payload = "hi", .len = 2};
	rc = onestop_send(c, &m, 1, NULL);
	H_CHECK(n, rc == ONESTOP_EPEER && strstr(onestop_last_error(c), "uid 0"),
		"uid 0 may not Send at b (uid:4242 only): rc %d \"%s\"", rc, onestop_last_error(c));
	rc = onestop_status(c, &s);
	H_CHECK(n, rc == 0, "...but may ask for its Status (rc %d)", rc);
	onestop_close(&c);
	H_REQUIRE(n, net_connect(a, 0, &c) == 0, "connected to a");
	rc = onestop_send(c, &m, 1, NULL);
	H_CHECK(n, rc == 0, "a, without rules, lets uid 0 Send (rc %d \"%s\")", rc,
		rc ? onestop_last_error(c) : "");
	onestop_close(&c);
	H_CHECK(n, proc_log_count(b, "event=api_peer_refused", 1) == 1,
		"b logged the refusal (%d lines)", proc_log_count(b, "event=api_peer_refused", 1));

	return net_done(&n);
}
