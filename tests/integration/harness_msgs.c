/* Integration test harness, messages: numbered, self-checking payloads,
 * sending streams of them through libonestop, and a receiving application
 * that checks the delivery guarantees (order, no loss, no duplicate after
 * an ack) and keeps the dead letters it gets. */
#include "harness.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void body_fill(uint8_t *b, uint32_t stream, uint64_t seq, size_t len)
{
	uint64_t x = ((uint64_t)stream << 40) ^ (seq * 0x9e3779b97f4a7c15ull) ^ 0x5bd1e995ull;

	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
		}
		b[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> (8 * (i & 7)));
	}
}

void msgs_payload(uint8_t *buf, uint32_t stream, uint64_t seq, size_t body_len)
{
	memcpy(buf, "OSIT", 4);
	put32(buf + 4, stream);
	os_put_u64be(buf + 8, seq);
	put32(buf + 16, (uint32_t)body_len);
	body_fill(buf + MSGS_HDR, stream, seq, body_len);
	os_put_u64be(buf + 20, fnv1a(buf + MSGS_HDR, body_len));
}

int msgs_payload_check(const uint8_t *buf, size_t len, uint32_t *stream, uint64_t *seq)
{
	uint8_t *want;
	size_t body;
	int ok;

	if (len < MSGS_HDR || memcmp(buf, "OSIT", 4) != 0)
		return -1;
	body = get32(buf + 16);
	if (body != len - MSGS_HDR)
		return -1;
	if (fnv1a(buf + MSGS_HDR, body) != os_get_u64be(buf + 20))
		return -1;
	want = malloc(len);
	if (!want)
		return -1;
	msgs_payload(want, get32(buf + 4), os_get_u64be(buf + 8), body);
	ok = memcmp(want, buf, len) == 0;
	free(want);
	if (!ok)
		return -1;
	*stream = get32(buf + 4);
	*seq = os_get_u64be(buf + 8);
	return 0;
}

int msgs_send(onestop_t *c, const char *to, const char *type, uint32_t stream, uint64_t first,
	      size_t n, size_t per_req, size_t body_len, uint32_t ttl_s,
	      uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_out_t *out = NULL;
	uint8_t *bufs = NULL;
	size_t psz = MSGS_HDR + body_len;
	int rc = ONESTOP_ENOMEM;

	if (per_req == 0)
		per_req = 100;
	out = calloc(per_req, sizeof *out);
	bufs = malloc(per_req * psz);
	if (!out || !bufs)
		goto out;
	rc = 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < per_req ? n - done : per_req;

		for (size_t i = 0; i < k; i++) {
			msgs_payload(bufs + i * psz, stream, first + done + i, body_len);
			out[i] = (onestop_out_t){.to = to,
						 .type = type,
						 .payload = bufs + i * psz,
						 .len = psz,
						 .ttl_s = ttl_s};
		}
		rc = onestop_send(c, out, k, ids ? ids + done : NULL);
		if (rc != 0) {
			fprintf(stderr, "  onestop_send of seq %llu..%llu failed: %d %s (%s)\n",
				(unsigned long long)(first + done),
				(unsigned long long)(first + done + k - 1), rc,
				onestop_strerror(rc), onestop_last_error(c));
			goto out;
		}
		done += k;
	}
out:
	free(out);
	free(bufs);
	return rc;
}

static void rx_problem(struct msgs_rx *rx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rx_problem(struct msgs_rx *rx, const char *fmt, ...)
{
	va_list ap;

	if (rx->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(rx->problem, sizeof rx->problem, fmt, ap);
	va_end(ap);
	fprintf(stderr, "  problem: %s\n", rx->problem);
}

static void rx_keep_dl(struct msgs_rx *rx, const onestop_msg_t *m)
{
	onestop_deadletter_t dl;
	int rc = onestop_deadletter(m, &dl);

	if (rc != 0) {
		rx->corrupt++;
		rx_problem(rx, "a %s message from %s does not decode (%d)", ONESTOP_DEADLETTER_TYPE,
			   m->origin ? m->origin : "?", rc);
		return;
	}
	if (rx->n_dl < MSGS_MAX_DL) {
		rx->dl[rx->n_dl] = dl;
		snprintf(rx->dl_origin[rx->n_dl], sizeof rx->dl_origin[0], "%s",
			 m->origin ? m->origin : "");
	}
	rx->n_dl++;
	fprintf(stderr, "  dead letter: id=%s code=%d (%s) to=%s refused_by=%s reason=%s\n",
		dl.has_id ? h_idhex(dl.id) : "-", dl.code, onestop_strerror(dl.code), dl.to,
		dl.refused_by, dl.reason);
}

static int str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Classify one message of a batch. */
static void rx_take(struct msgs_rx *rx, const onestop_msg_t *m)
{
	uint32_t stream;
	uint64_t s, next = rx->first + rx->got;

	if (str_eq(m->type, ONESTOP_DEADLETTER_TYPE)) {
		rx_keep_dl(rx, m);
		return;
	}
	if (rx->count == 0 || msgs_payload_check(m->payload, m->len, &stream, &s) != 0 ||
	    stream != rx->stream) {
		rx->other++;
		/* a payload that claims to be ours but does not check is corruption */
		if (m->len >= 8 && memcmp(m->payload, "OSIT", 4) == 0 && rx->count &&
		    get32(m->payload + 4) == rx->stream) {
			rx->corrupt++;
			rx_problem(rx, "message id=%s: payload of stream %u is corrupt (len %zu)",
				   h_idhex(m->id), rx->stream, m->len);
		}
		return;
	}
	if (s < rx->first || s >= rx->first + rx->count) {
		rx->corrupt++;
		rx_problem(rx, "seq %llu outside the stream", (unsigned long long)s);
		return;
	}
	if ((rx->origin && !str_eq(m->origin, rx->origin)) || (rx->to && !str_eq(m->to, rx->to)) ||
	    (rx->type && !str_eq(m->type, rx->type)) ||
	    (rx->ids && memcmp(rx->ids[s - rx->first], m->id, ONESTOP_ID_LEN) != 0)) {
		rx->corrupt++;
		rx_problem(rx,
			   "seq %llu: header mismatch: origin=%s to=%s type=%s id=%s "
			   "(want origin=%s to=%s type=%s id=%s)",
			   (unsigned long long)s, m->origin, m->to, m->type, h_idhex(m->id),
			   rx->origin ? rx->origin : "*", rx->to ? rx->to : "*",
			   rx->type ? rx->type : "*",
			   rx->ids ? h_idhex(rx->ids[s - rx->first]) : "*");
	}
	if (s == next) {
		rx->got++;
	} else if (s < next) {
		if (rx->acked_[s - rx->first]) {
			rx->dup_acked++;
			rx_problem(rx, "seq %llu (id %s) delivered again after it was acked",
				   (unsigned long long)s, h_idhex(m->id));
		} else {
			rx->redelivered++;
		}
	} else {
		rx->gaps++;
		rx_problem(rx, "seq %llu arrived while %llu was expected (lost or reordered)",
			   (unsigned long long)s, (unsigned long long)next);
	}
}

/* The receiver in rx's chain whose stream m belongs to (rx if none). */
static struct msgs_rx *rx_for(struct msgs_rx *rx, const onestop_msg_t *m)
{
	if (m->len >= 8 && memcmp(m->payload, "OSIT", 4) == 0) {
		uint32_t stream = get32(m->payload + 4);

		for (struct msgs_rx *t = rx; t; t = t->also)
			if (t->count && t->stream == stream)
				return t;
	}
	return rx;
}

/* One recv + ack round. Returns messages received, or -1 on a failed call
 * (the connection is closed for the caller to reopen). */
static int rx_round(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int wait_ms)
{
	onestop_msg_t *m = NULL;
	size_t k = 0, max = rx->batch ? rx->batch : 1000;
	uint64_t *seqs = NULL;
	int rc;

	if (!*c && net_connect(p, rx->timeout_ms, c) != 0) {
		rx->recv_errors++;
		return -1;
	}
	rc = onestop_recv(*c, max, wait_ms, &m, &k);
	if (rc != 0) {
		rx->recv_errors++;
		fprintf(stderr, "  recv at %s failed: %d %s (%s); reconnecting\n", p->name, rc,
			onestop_strerror(rc), onestop_last_error(*c));
		onestop_close(c);
		return -1;
	}
	if (k == 0) {
		onestop_msgs_free(&m, k);
		return 0;
	}
	seqs = malloc(k * sizeof *seqs);
	if (!seqs) {
		onestop_msgs_free(&m, k);
		return -1;
	}
	for (size_t i = 0; i < k; i++) {
		rx_take(rx_for(rx, &m[i]), &m[i]);
		seqs[i] = m[i].seq;
	}
	if (rx->before_ack && rx->before_ack(rx, rx->hook_arg)) {
		fprintf(stderr, "  %s: batch of %zu not acked (app stopped before acking)\n",
			p->name, k);
		rx->not_acked += k;
		onestop_close(c);
		free(seqs);
		onestop_msgs_free(&m, k);
		return (int)k;
	}
	rc = onestop_ack(*c, seqs, k);
	if (rc == 0) {
		for (size_t i = 0; i < k; i++) {
			struct msgs_rx *t = rx_for(rx, &m[i]);
			uint32_t stream;
			uint64_t q;

			if (t->count && t->acked_ &&
			    msgs_payload_check(m[i].payload, m[i].len, &stream, &q) == 0 &&
			    stream == t->stream && q >= t->first && q < t->first + t->count)
				t->acked_[q - t->first] = 1;
		}
	} else {
		rx->ack_errors++;
		fprintf(stderr, "  ack at %s failed: %d %s (%s); reconnecting\n", p->name, rc,
			onestop_strerror(rc), onestop_last_error(*c));
		onestop_close(c);
	}
	free(seqs);
	onestop_msgs_free(&m, k);
	return rc == 0 ? (int)k : -1;
}

static int rx_prepare(struct msgs_rx *rx)
{
	for (struct msgs_rx *t = rx; t; t = t->also) {
		if (t->count && !t->acked_) {
			t->acked_ = calloc(t->count, 1);
			if (!t->acked_)
				return -1;
		}
	}
	return 0;
}

void msgs_rx_clear(struct msgs_rx *rx)
{
	for (struct msgs_rx *t = rx; t; t = t->also) {
		free(t->acked_);
		t->acked_ = NULL;
	}
}

/* 1 when every stream of the chain is complete. */
static int rx_complete(const struct msgs_rx *rx)
{
	for (const struct msgs_rx *t = rx; t; t = t->also)
		if (t->got < t->count)
			return 0;
	return 1;
}

static int rx_failed(const struct msgs_rx *rx)
{
	for (const struct msgs_rx *t = rx; t; t = t->also)
		if (t->dup_acked || t->gaps || t->corrupt)
			return 1;
	return 0;
}

int msgs_recv(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	uint64_t last_report = h_now_ms();

	if (rx_prepare(rx) != 0)
		return -1;
	while (!rx_complete(rx) && h_now_ms() < deadline && !rx->stop) {
		if (rx_round(p, c, rx, 500) < 0) {
			h_sleep_ms(100);
			continue;
		}
		if (rx->hook && rx->hook(rx, rx->hook_arg))
			break;
		if (h_now_ms() - last_report > 10000) {
			fprintf(stderr, "  %s: %llu of %llu received\n", p->name,
				(unsigned long long)rx->got, (unsigned long long)rx->count);
			last_report = h_now_ms();
		}
	}
	for (struct msgs_rx *t = rx; t; t = t->also) {
		if (t->got < t->count) {
			char msg[160];

			snprintf(msg, sizeof msg,
				 "only %llu of %llu messages of stream %u arrived at %s in %d ms",
				 (unsigned long long)t->got, (unsigned long long)t->count,
				 t->stream, p->name, timeout_ms);
			rx_problem(t, "%s", msg);
			if (t != rx)
				rx_problem(rx, "%s", msg);
		} else if (t != rx && t->problem[0]) {
			rx_problem(rx, "stream %u: %s", t->stream, t->problem);
		}
		fprintf(stderr,
			"  %s: stream %u: got %llu/%llu redelivered=%llu dup_acked=%llu "
			"gaps=%llu corrupt=%llu other=%llu dead_letters=%zu recv_errors=%llu "
			"ack_errors=%llu\n",
			p->name, t->stream, (unsigned long long)t->got,
			(unsigned long long)t->count, (unsigned long long)t->redelivered,
			(unsigned long long)t->dup_acked, (unsigned long long)t->gaps,
			(unsigned long long)t->corrupt, (unsigned long long)t->other, t->n_dl,
			(unsigned long long)t->recv_errors, (unsigned long long)t->ack_errors);
	}
	return rx_complete(rx) && !rx_failed(rx) ? 0 : -1;
}

int msgs_drain(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int wait_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)wait_ms;
	int total = 0, ok = 0;

	if (rx_prepare(rx) != 0)
		return -1;
	for (;;) {
		int64_t left = (int64_t)deadline - (int64_t)h_now_ms();
		int r;

		if (left <= 0 || rx->stop)
			break;
		r = rx_round(p, c, rx, (int)(left > 200 ? 200 : left));
		if (r < 0) {
			h_sleep_ms(50);
			continue;
		}
		ok = 1;
		total += r;
	}
	return ok ? total : -1;
}

int msgs_wait_deadletter(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, const uint8_t *id,
			 int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	if (rx_prepare(rx) != 0)
		return -1;
	for (;;) {
		for (size_t i = 0; i < rx->n_dl && i < MSGS_MAX_DL; i++)
			if (rx->dl[i].has_id && memcmp(rx->dl[i].id, id, ONESTOP_ID_LEN) == 0)
				return (int)i;
		if (h_now_ms() >= deadline)
			return -1;
		if (rx_round(p, c, rx, 200) < 0)
			h_sleep_ms(50);
	}
}
