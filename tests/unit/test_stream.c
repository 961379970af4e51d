/* Unit tests for common/stream.c: the receiver's seq/prev_seq rule as a
 * table, the cumulative-ack policy (trickle delayed, quarter window and
 * duplicates at once), and the sender's window, acks and stall watch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "stream.h"

static void test_offer_table(void **state)
{
	static const struct {
		uint64_t last, seq, prev;
		enum stream_verdict want;
	} cases[] = {
		{0, 1, 0, STREAM_ACCEPT},    /* the first transfer */
		{5, 6, 5, STREAM_ACCEPT},    /* the next one */
		{5, 9, 5, STREAM_ACCEPT},    /* seqs may skip (expired entries) */
		{5, 9, 0, STREAM_ACCEPT},    /* a round restarting from the oldest */
		{5, 9, 3, STREAM_ACCEPT},    /* prev below last: overlap is fine */
		{5, 5, 4, STREAM_DUPLICATE}, /* already taken */
		{5, 2, 0, STREAM_DUPLICATE}, {5, 8, 7, STREAM_GAP}, /* 6..7 never arrived */
		{0, 2, 1, STREAM_GAP},
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum stream_verdict v = stream_offer(cases[i].last, cases[i].seq, cases[i].prev);
		if (v != cases[i].want)
			fail_msg("case %zu: last=%llu seq=%llu prev=%llu gave %d, want %d", i,
				 (unsigned long long)cases[i].last,
				 (unsigned long long)cases[i].seq,
				 (unsigned long long)cases[i].prev, (int)v, (int)cases[i].want);
	}
}

static void test_ack_policy(void **state)
{
	struct stream_ack a = {0};
	(void)state;
	/* Nothing owed: never ready, no deadline. */
	assert_false(stream_ack_ready(&a, 100, 5, 1000));
	assert_true(stream_ack_deadline(&a, 5) == UINT64_MAX);
	/* A trickle waits for the delay from the first accepted transfer. */
	stream_ack_note(&a, STREAM_ACCEPT, 1000);
	stream_ack_note(&a, STREAM_ACCEPT, 1003);
	stream_ack_note(&a, STREAM_GAP, 1003); /* a gap owes nothing */
	assert_int_equal(a.unsent, 2);
	assert_false(stream_ack_ready(&a, 100, 5, 1004));
	assert_true(stream_ack_ready(&a, 100, 5, 1005));
	assert_int_equal(stream_ack_deadline(&a, 5), 1005);
	/* A quarter of the window goes at once. */
	stream_ack_clear(&a);
	for (int i = 0; i < 25; i++)
		stream_ack_note(&a, STREAM_ACCEPT, 2000);
	assert_true(stream_ack_ready(&a, 100, 5, 2000));
	/* A window of 1..3 has no quarter: every transfer is acked. */
	stream_ack_clear(&a);
	stream_ack_note(&a, STREAM_ACCEPT, 3000);
	assert_true(stream_ack_ready(&a, 3, 5, 3000));
	/* A duplicate means the sender is resending: at once. */
	stream_ack_clear(&a);
	stream_ack_note(&a, STREAM_DUPLICATE, 4000);
	assert_true(stream_ack_ready(&a, 100, 5, 4000));
	assert_int_equal(stream_ack_deadline(&a, 5), 0);
	stream_ack_clear(&a);
	stream_ack_force(&a);
	assert_true(stream_ack_ready(&a, 100, 5, 0));
	stream_ack_clear(&a);
	assert_false(stream_ack_ready(&a, 100, 5, 9999));
}

static void test_sender_window_and_stall(void **state)
{
	struct stream_tx s = {.window = 3};
	(void)state;
	stream_tx_rewind(&s, 100);
	assert_int_equal(stream_tx_room(&s), 3);
	/* prev_seq chains the transfers of a round, starting at 0. */
	assert_int_equal(stream_tx_send(&s, 10, 110), 0);
	assert_int_equal(stream_tx_send(&s, 11, 111), 10);
	assert_int_equal(stream_tx_send(&s, 13, 112), 11);
	assert_int_equal(stream_tx_room(&s), 0);
	/* The flight is timed from its first transfer. */
	assert_int_equal(stream_tx_deadline(&s, 30), 140);
	assert_false(stream_tx_stalled(&s, 30, 139));
	assert_true(stream_tx_stalled(&s, 30, 140));
	/* An ack releases what it covers and restarts the clock. */
	assert_int_equal(stream_tx_ack(&s, 11, 2, 150), 1);
	assert_int_equal(s.inflight, 1);
	assert_int_equal(stream_tx_room(&s), 2);
	assert_false(stream_tx_stalled(&s, 30, 179));
	/* A stale ack changes nothing. */
	assert_int_equal(stream_tx_ack(&s, 10, 1, 160), 0);
	assert_int_equal(s.inflight, 1);
	/* Rewind: the next transfer starts a round again (prev 0). */
	stream_tx_rewind(&s, 200);
	assert_int_equal(s.inflight, 0);
	assert_true(stream_tx_deadline(&s, 30) == UINT64_MAX);
	assert_false(stream_tx_stalled(&s, 30, 1000));
	assert_int_equal(stream_tx_send(&s, 13, 201), 0);
	/* Releasing more than flies leaves nothing in flight, never less. */
	assert_int_equal(stream_tx_ack(&s, 20, 5, 210), 1);
	assert_int_equal(s.inflight, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offer_table),
		cmocka_unit_test(test_ack_policy),
		cmocka_unit_test(test_sender_window_and_stall),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
