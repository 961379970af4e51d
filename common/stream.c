/* The rules of one link stream (stream.h): the receiver's seq/prev_seq
 * rule, its cumulative-ack policy, and the sender's window and stall
 * watch. */
#include "stream.h"

enum stream_verdict stream_offer(uint64_t last, uint64_t seq, uint64_t prev_seq)
{
	if (seq <= last)
		return STREAM_DUPLICATE;
	if (prev_seq > last)
		return STREAM_GAP;
	return STREAM_ACCEPT;
}

void stream_ack_note(struct stream_ack *a, enum stream_verdict v, uint64_t t)
{
	if (v == STREAM_DUPLICATE) {
		a->now = 1;
	} else if (v == STREAM_ACCEPT) {
		if (a->unsent++ == 0)
			a->since = t;
	}
}

void stream_ack_force(struct stream_ack *a)
{
	a->now = 1;
}

int stream_ack_ready(const struct stream_ack *a, uint32_t window, uint64_t delay, uint64_t t)
{
	uint32_t quarter = window / 4;

	if (a->now)
		return 1;
	if (a->unsent == 0)
		return 0;
	return a->unsent >= (quarter ? quarter : 1) || t >= a->since + delay;
}

uint64_t stream_ack_deadline(const struct stream_ack *a, uint64_t delay)
{
	if (a->now)
		return 0;
	return a->unsent ? a->since + delay : UINT64_MAX;
}

void stream_ack_clear(struct stream_ack *a)
{
	a->unsent = 0;
	a->now = 0;
}

void stream_tx_rewind(struct stream_tx *s, uint64_t t)
{
	s->inflight = 0;
	s->prev = 0;
	s->progress = t;
}

uint32_t stream_tx_room(const struct stream_tx *s)
{
	return s->inflight >= s->window ? 0 : s->window - s->inflight;
}

uint64_t stream_tx_send(struct stream_tx *s, uint64_t seq, uint64_t t)
{
	uint64_t prev = s->prev;

	if (s->inflight == 0)
		s->progress = t; /* a flight starts: time its ack from now */
	s->inflight++;
	s->prev = seq;
	return prev;
}

int stream_tx_ack(struct stream_tx *s, uint64_t upto, uint32_t released, uint64_t t)
{
	if (upto <= s->acked)
		return 0;
	s->acked = upto;
	s->inflight = released >= s->inflight ? 0 : s->inflight - released;
	s->progress = t;
	return 1;
}

int stream_tx_stalled(const struct stream_tx *s, uint64_t timeout, uint64_t t)
{
	return s->inflight > 0 && t >= s->progress + timeout;
}

uint64_t stream_tx_deadline(const struct stream_tx *s, uint64_t timeout)
{
	return s->inflight > 0 ? s->progress + timeout : UINT64_MAX;
}
