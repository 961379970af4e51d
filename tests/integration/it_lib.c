/* libonestop as an integrator uses it, through a real hub and two spokes:
 * onestop_version() is the project's version; the descriptor of
 * onestop_fd() becomes readable in poll() when a message for the app
 * arrives at a posted Recv, and onestop_recv_take() then returns it
 * without blocking (also when another call collected the reply first);
 * the sizes passed for public structs let them grow (a larger struct with
 * zero extra fields works, a non-zero one is refused, a received array is
 * laid out at the caller's stride); and misuse returns the error codes
 * onestop.h documents (NULL arguments, a closed connection, a bad
 * destination or type, a Recv posted twice, no spoke, ...). */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.lib"

#ifndef ONESTOP_PROJECT_VERSION
#error "ONESTOP_PROJECT_VERSION is set by tests/integration/CMakeLists.txt"
#endif

/* Check that rc is the code wanted, naming both. */
#define EXPECT_CODE(n, rc, want, what)                                                          \
	H_CHECK(n, (rc) == (want), "%s: %d (%s), want %d (%s)", what, rc, onestop_strerror(rc), \
		want, onestop_strerror(want))

static int send_one(onestop_t *c, const char *to, const char *body)
{
	onestop_out_t m = {.to = to, .type = TYPE, .payload = body, .len = strlen(body)};

	return onestop_send(c, &m, 1, NULL);
}

/* Take the posted Recv's answer as an event loop does: take, and while it
 * says ONESTOP_EAGAIN poll fd and take again, up to timeout_ms. *polled
 * counts the poll() calls that said readable; *slow_ms is the longest
 * onestop_recv_take took. The take's code (ONESTOP_EAGAIN when no answer
 * came in time). */
static int poll_take(onestop_t *c, int fd, int timeout_ms, onestop_msg_t **msgs, size_t *k,
		     int *polled, uint64_t *slow_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	int rc;

	*polled = 0;
	*slow_ms = 0;
	for (;;) {
		uint64_t t0 = h_now_ms();
		rc = onestop_recv_take(c, msgs, k);
		if (h_now_ms() - t0 > *slow_ms)
			*slow_ms = h_now_ms() - t0;
		if (rc != ONESTOP_EAGAIN || h_now_ms() >= deadline)
			return rc;
		struct pollfd pf = {.fd = fd, .events = POLLIN};
		if (poll(&pf, 1, (int)(deadline - h_now_ms())) > 0 && (pf.revents & POLLIN))
			(*polled)++;
	}
}

static void check_version(struct net *n)
{
	const char *v = onestop_version();

	H_CHECK(n, v != NULL && strcmp(v, ONESTOP_PROJECT_VERSION) == 0,
		"onestop_version() is \"%s\", the project's \"%s\"", v ? v : "(null)",
		ONESTOP_PROJECT_VERSION);
}

/* The event-loop integration: post, poll, take. */
static void check_fd(struct net *n, onestop_t *ca, onestop_t *cb)
{
	onestop_msg_t *msgs = NULL;
	size_t k = 0;
	int fd = -1, polled = 0, rc;
	uint64_t slow = 0;

	fprintf(stderr, "the descriptor of a connection with a posted Recv\n");
	rc = onestop_fd(cb, &fd);
	H_REQUIRE(n, rc == 0 && fd >= 0, "onestop_fd gives a descriptor (%d, rc %d)", fd, rc);
	H_REQUIRE(n, onestop_recv_post(cb, 10, h_ms(20000)) == 0, "a Recv posted at b");
	rc = onestop_recv_take(cb, &msgs, &k);
	EXPECT_CODE(n, rc, ONESTOP_EAGAIN, "take before anything arrived");
	H_CHECK(n, msgs == NULL && k == 0, "and it returns no messages");

	H_REQUIRE(n, send_one(ca, "b", "through the event loop") == 0, "a sent one to b");
	rc = poll_take(cb, fd, h_ms(20000), &msgs, &k, &polled, &slow);
	H_CHECK(n, rc == 0 && k == 1, "poll() and a take got the message (rc %d, %zu messages)", rc,
		k);
	H_CHECK(n, polled >= 1, "poll() said the descriptor is readable (%d times)", polled);
	H_CHECK(n, slow < 500, "onestop_recv_take did not block (longest %llu ms)",
		(unsigned long long)slow);
	if (rc == 0 && k == 1) {
		H_CHECK(n,
			strcmp(msgs[0].origin, "a") == 0 && strcmp(msgs[0].type, TYPE) == 0 &&
				msgs[0].len == strlen("through the event loop") &&
				memcmp(msgs[0].payload, "through the event loop", msgs[0].len) == 0,
			"it is a's message (origin %s, %zu bytes)", msgs[0].origin, msgs[0].len);
		H_CHECK(n, onestop_ack(cb, &msgs[0].seq, 1) == 0, "and it is acked");
	}
	onestop_msgs_free(&msgs, k);
	rc = onestop_recv_take(cb, &msgs, &k);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "take once the answer was taken");

	fprintf(stderr, "another call collects the posted Recv's reply\n");
	H_REQUIRE(n, onestop_recv_post(cb, 10, h_ms(20000)) == 0, "a Recv posted at b again");
	H_REQUIRE(n, send_one(ca, "b", "collected by status") == 0, "a sent another one to b");
	/* Wait until b has handed it to the posted Recv: b's inbox holds it,
	 * leased to cb, and its reply is then on the way. */
	uint64_t one = 1;
	H_CHECK(n, net_wait_status(net_spoke(n, "b"), st_inbox_is, &one, h_ms(20000), NULL) == 0,
		"b's inbox holds it");
	h_sleep_ms(200);
	onestop_status_t st;
	H_CHECK(n, onestop_status(cb, &st) == 0, "a status request on the same connection");
	rc = onestop_recv_take(cb, &msgs, &k);
	H_CHECK(n, rc == 0 && k == 1 && msgs[0].len == strlen("collected by status"),
		"the take right after it returns the message (rc %d, %zu messages)", rc, k);
	if (rc == 0 && k == 1)
		H_CHECK(n, onestop_ack(cb, &msgs[0].seq, 1) == 0, "and it is acked");
	onestop_msgs_free(&msgs, k);

	fprintf(stderr, "a posted Recv whose wait runs out\n");
	H_REQUIRE(n, onestop_recv_post(cb, 1, 200) == 0, "a Recv posted with a 200 ms wait");
	rc = poll_take(cb, fd, h_ms(20000), &msgs, &k, &polled, &slow);
	H_CHECK(n, rc == 0 && k == 0 && msgs == NULL,
		"it is answered with no messages (rc %d, %zu messages)", rc, k);
	onestop_msgs_free(&msgs, k);
}

/* Structs passed with a size larger than this header's. */
static void check_sizes(struct net *n, onestop_t *ca, onestop_t *cb)
{
	struct big_out {
		onestop_out_t m;
		uint64_t future;
	} bo[2];
	struct big_msg {
		onestop_msg_t m;
		uint64_t future;
	} *bm = NULL;
	onestop_status_t st;
	size_t k = 0;
	int rc;

	fprintf(stderr, "structs of other sizes\n");
	memset(bo, 0, sizeof bo);
	for (int i = 0; i < 2; i++)
		bo[i].m = (onestop_out_t){.to = "b", .type = TYPE, .payload = "grown", .len = 5};
	rc = onestop_send_sized(ca, &bo[0].m, 2, NULL, sizeof bo[0]);
	H_CHECK(n, rc == 0, "two larger onestop_out_t with zero extra fields are sent (rc %d)", rc);
	bo[1].future = 1;
	rc = onestop_send_sized(ca, &bo[0].m, 2, NULL, sizeof bo[0]);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "a larger onestop_out_t with a field set");
	rc = onestop_status_sized(ca, &st, 3);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "an onestop_status_t of 3 bytes");

	uint64_t deadline = h_now_ms() + (uint64_t)h_ms(20000);
	size_t got = 0;
	while (got < 2 && h_now_ms() < deadline) {
		onestop_msg_t *raw = NULL;
		rc = onestop_recv_sized(cb, 10, 1000, &raw, &k, sizeof *bm);
		if (rc != 0)
			break;
		bm = (struct big_msg *)(void *)raw;
		for (size_t i = 0; i < k; i++) {
			H_CHECK(n,
				bm[i].future == 0 && bm[i].m.len == 5 &&
					memcmp(bm[i].m.payload, "grown", 5) == 0 &&
					strcmp(bm[i].m.origin, "a") == 0,
				"message %zu is laid out at the caller's stride", got + i);
			H_CHECK(n, onestop_ack(cb, &bm[i].m.seq, 1) == 0, "and acked");
		}
		got += k;
		onestop_msgs_free(&raw, k);
		bm = NULL;
	}
	H_CHECK(n, got == 2, "both arrived, received as larger structs (%zu, rc %d)", got, rc);
}

static void check_misuse(struct net *n, struct net_proc *a, onestop_t *ca)
{
	onestop_t *c = NULL;
	onestop_status_t st;
	onestop_msg_t *msgs = NULL;
	onestop_entry_t *e = NULL;
	onestop_out_t m = {.to = "b", .type = TYPE, .payload = "x", .len = 1};
	uint8_t junk[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t *big = NULL;
	size_t k = 0;
	int fd = -1, rc;

	fprintf(stderr, "misuse\n");
	rc = onestop_connect(a->api, -1, &c);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "connect with a negative timeout");
	H_CHECK(n, c == NULL, "and no handle");
	rc = onestop_connect("nosuch://endpoint", 0, &c);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "connect to a malformed endpoint");
	rc = onestop_connect(a->api, 0, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "connect without out");

	rc = onestop_send(NULL, &m, 1, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "send on NULL");
	rc = onestop_send(ca, &m, 0, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "send of 0 messages");
	rc = onestop_send(ca, NULL, 1, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "send of NULL messages");
	m.to = NULL;
	rc = onestop_send(ca, &m, 1, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "send without a destination");
	m.to = "Not A Node!";
	rc = onestop_send(ca, &m, 1, NULL);
	EXPECT_CODE(n, rc, ONESTOP_ENAME, "send to a malformed destination");
	H_CHECK(n, onestop_last_error(ca)[0] != '\0', "with the spoke's reason: %s",
		onestop_last_error(ca));
	m.to = "b";
	m.type = "no spaces allowed";
	rc = onestop_send(ca, &m, 1, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "send of a malformed type");
	m.type = TYPE;

	rc = onestop_recv(ca, 0, 0, &msgs, &k);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "recv of max 0");
	rc = onestop_recv(ca, 1, -1, &msgs, &k);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "recv with a negative wait");
	rc = onestop_recv(ca, 1, 0, NULL, &k);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "recv without msgs");
	rc = onestop_ack(ca, NULL, 1);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "ack of NULL seqs");
	rc = onestop_status(ca, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "status without out");
	rc = onestop_fd(NULL, &fd);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "fd of NULL");
	rc = onestop_recv_take(ca, &msgs, &k);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "take with nothing posted");
	rc = onestop_recv_post(ca, 1, 1000);
	H_CHECK(n, rc == 0, "a Recv posted at a");
	rc = onestop_recv_post(ca, 1, 1000);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "a second Recv posted");
	rc = onestop_recv(ca, 1, 0, &msgs, &k);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "recv while a Recv is posted");

	onestop_msg_t fake = {.type = "it.other", .payload = junk, .len = sizeof junk};
	onestop_deadletter_t dl;
	rc = onestop_deadletter(&fake, &dl);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "deadletter of another type");
	fake.type = ONESTOP_DEADLETTER_TYPE;
	rc = onestop_deadletter(&fake, &dl);
	EXPECT_CODE(n, rc, ONESTOP_EDECODE, "deadletter of a malformed payload");
	onestop_identity_t id;
	rc = onestop_identity_decode(junk, sizeof junk, &id);
	EXPECT_CODE(n, rc, ONESTOP_EDECODE, "identity_decode of junk");
	big = calloc(1, 70000);
	H_REQUIRE(n, big != NULL, "memory");
	onestop_item_t *item = NULL;
	rc = onestop_item_decode(big, 70000, &item);
	EXPECT_CODE(n, rc, ONESTOP_ETOOBIG, "item_decode of 70000 bytes");
	rc = onestop_assert_verify(ca, big, 5000, 1, NULL, NULL);
	EXPECT_CODE(n, rc, ONESTOP_ETOOBIG, "assert_verify of 5000 bytes");
	rc = onestop_assert_verify(ca, junk, sizeof junk, 1, NULL, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EDECODE, "assert_verify of junk");
	free(big);

	rc = onestop_get(ca, "nosuchdataset", "k", 0, &e);
	EXPECT_CODE(n, rc, ONESTOP_ENOTFOUND, "get from an undeclared dataset");
	rc = onestop_get(ca, "identity", "", 0, &e);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "get of an empty key");
	H_CHECK(n, e == NULL, "and no entry");

	/* The posted Recv at a is still answered (empty) after its wait. */
	uint64_t deadline = h_now_ms() + (uint64_t)h_ms(10000);
	do {
		rc = onestop_recv_take(ca, &msgs, &k);
		if (rc == ONESTOP_EAGAIN)
			h_sleep_ms(20);
	} while (rc == ONESTOP_EAGAIN && h_now_ms() < deadline);
	H_CHECK(n, rc == 0 && k == 0, "a's posted Recv ends empty (rc %d, %zu)", rc, k);
	onestop_msgs_free(&msgs, k);

	H_REQUIRE(n, net_connect(a, 0, &c) == 0, "another connection to a");
	onestop_close(&c);
	H_CHECK(n, c == NULL, "closing NULLs the handle");
	rc = onestop_status(c, &st);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "status on a closed connection");
	rc = onestop_send(c, &m, 1, NULL);
	EXPECT_CODE(n, rc, ONESTOP_EINVAL, "send on a closed connection");
	onestop_close(&c);
	H_CHECK(n, strcmp(onestop_last_error(c), "") == 0, "last_error of NULL is \"\"");

	char nowhere[H_PATH + 32];
	snprintf(nowhere, sizeof nowhere, "ipc://%s/no-spoke.sock", n->dir);
	H_REQUIRE(n, onestop_connect(nowhere, 300, &c) == 0,
		  "connecting where no spoke runs does not wait");
	rc = onestop_status(c, &st);
	EXPECT_CODE(n, rc, ONESTOP_ETIMEDOUT, "status where no spoke runs");
	H_CHECK(n, strstr(onestop_last_error(c), "does not exist") != NULL,
		"the message says why: %s", onestop_last_error(c));
	onestop_close(&c);
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	onestop_t *ca = NULL, *cb = NULL;

	check_version(n);
	net_start_all(n);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, net_connect(b, 0, &cb) == 0, "connected to b");
	check_fd(n, ca, cb);
	check_sizes(n, ca, cb);
	check_misuse(n, a, ca);
	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
