/* The rules of one link stream (docs/ARCHITECTURE.md "The link"), shared by
 * both ends of every link: the hub's sessions and the link client that
 * spokes (and hubs, towards a parent) use. Pure state, no I/O, no clock of
 * its own: callers pass the time, so every rule is unit-tested alone.
 *
 * A stream carries Transfer{seq, prev_seq}. The receiver holds `last`
 * durably and takes a transfer only when prev_seq <= last < seq; after its
 * commit it acknowledges cumulatively. The sender keeps at most `window`
 * transfers unacknowledged and starts again from the oldest one (prev_seq
 * 0) when acks stop coming. */
#ifndef OS_STREAM_H
#define OS_STREAM_H

#include <stdint.h>

enum stream_verdict {
	STREAM_ACCEPT,    /* in order: take it; last becomes seq */
	STREAM_DUPLICATE, /* seq <= last: dealt with already; acknowledge again */
	STREAM_GAP,       /* something before it is missing: ignore it */
};

/* The receiver's rule for a transfer (seq, prev_seq) given last. */
enum stream_verdict stream_offer(uint64_t last, uint64_t seq, uint64_t prev_seq);

/* ------------------------------------------------------------ receiver acks
 * Acks are cumulative, so a light trickle is acknowledged once per delay
 * rather than once per transfer (each ack wakes the sender); a quarter of
 * the window unacknowledged, a duplicate (the sender is resending) or a new
 * session gets its ack right after the commit. */
struct stream_ack {
	uint32_t unsent; /* transfers accepted since the last ack sent */
	uint64_t since;  /* when the first of them was accepted */
	int now;         /* owed at once (duplicate, new session) */
};

/* Record a verdict at time t (accepted ones count, a duplicate makes the
 * ack due at once). */
void stream_ack_note(struct stream_ack *a, enum stream_verdict v, uint64_t t);
/* Make the ack due at once (a new session). */
void stream_ack_force(struct stream_ack *a);
/* 1 when the ack should go out after this commit at time t. */
int stream_ack_ready(const struct stream_ack *a, uint32_t window, uint64_t delay, uint64_t t);
/* When the owed ack must go out at the latest, or UINT64_MAX (none owed). */
uint64_t stream_ack_deadline(const struct stream_ack *a, uint64_t delay);
/* The ack went out (or the session ended): nothing is owed. */
void stream_ack_clear(struct stream_ack *a);

/* ------------------------------------------------------------ sender
 * Counts what is in flight and watches ack progress; the caller keeps
 * which seqs those are (a contiguous range, or a ring of queue keys). */
struct stream_tx {
	uint32_t window;   /* transfers the receiver takes unacknowledged (>= 1) */
	uint32_t inflight; /* sent in this round and not yet acknowledged */
	uint64_t acked;    /* highest seq acknowledged */
	uint64_t prev;     /* prev_seq of the next transfer: 0 at a round's start */
	uint64_t progress; /* when acks last advanced, or the current flight began */
};

/* A new round (a session start or a rewind) at time t: nothing in flight,
 * the next transfer has prev_seq 0. */
void stream_tx_rewind(struct stream_tx *s, uint64_t t);
/* Room in the window. */
uint32_t stream_tx_room(const struct stream_tx *s);
/* A transfer of seq is sent at time t: returns its prev_seq. */
uint64_t stream_tx_send(struct stream_tx *s, uint64_t seq, uint64_t t);
/* A cumulative ack of upto at time t, releasing released transfers from
 * the flight (the caller counts them: it knows which seqs flew). Returns 1
 * when it advanced acked, 0 for a stale or repeated ack. */
int stream_tx_ack(struct stream_tx *s, uint64_t upto, uint32_t released, uint64_t t);
/* 1 when transfers are in flight and no ack progress came for timeout:
 * the caller rewinds and resends from the oldest unacknowledged. */
int stream_tx_stalled(const struct stream_tx *s, uint64_t timeout, uint64_t t);
/* When stream_tx_stalled becomes true, or UINT64_MAX (nothing in flight). */
uint64_t stream_tx_deadline(const struct stream_tx *s, uint64_t timeout);

#endif
