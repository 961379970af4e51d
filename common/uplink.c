/* The link client (uplink.h): a CURVE DEALER to a peer hub and the session
 * state machine of docs/ARCHITECTURE.md "The link". This node says Hello,
 * the peer answers Welcome; then the push source flows out under the
 * peer's window and the deliver stream flows in, each acknowledged
 * cumulatively only after the receiver's commit (common/stream.h holds the
 * rules). What the streams carry is the layer above's, through its ops.
 *
 *   state       event                           action -> next state
 *   DOWN        backoff over                    open socket, Hello -> HELLO_SENT
 *   HELLO_SENT  Welcome                         reset streams -> UP
 *   UP          Welcome (again)                 reset streams -> UP
 *   UP          LinkError EHELLO                Hello -> HELLO_SENT
 *   any open    nothing heard for 3 heartbeats  close, backoff -> DOWN
 *   any open    LinkError EREVOKED              close, backoff -> DOWN
 *   any open    peer key changed                close -> DOWN (reconnect now)
 *   any open    a commit of link input failed   Hello after a backoff -> HELLO_SENT
 *
 * A failed commit of what the link took in (a full store, say) backs off
 * like a reconnect, exponentially and jittered, by the commits that failed
 * in a row: the peer would otherwise resend its whole window at once, into
 * the same failure. A commit that stores a delivery ends the backoff. */
#include "uplink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "log.h"
#include "stream.h"
#include "util.h"

#define LINK_PROTOCOL 1u
#define DRAIN_BUDGET 1024u          /* frames drained per iteration */
#define PUSH_MAX_ITEMS 256u         /* transfers per LinkFrame */
#define PUSH_FRAME_BYTES (4u << 20) /* a frame passes this only with one transfer */
#define SILENCE_BEATS 3u            /* heartbeats without a frame: the peer is gone */
#define RETRANSMIT_BEATS 3u         /* heartbeats without ack progress: resend */
#define BACKOFF_MAX_SHIFT 20u
#define ACK_DELAY_US 5000u       /* a deliver ack may wait this long for company */
#define ERROR_QUIET_US 60000000u /* a repeated LinkError is logged quietly */

struct uplink {
	struct uplink_conf conf;
	char *endpoint, *peer, *node; /* conf's strings, owned */
	struct uplink_ops ops;
	void *ctx;

	void *sock;
	enum uplink_state state;
	uint64_t last_heard_us; /* any frame from the peer (monotonic) */
	uint64_t next_hb_us;
	uint64_t reconnect_at_us;
	uint64_t hello_sent_us; /* 0: none sent on this socket yet */
	unsigned fails;         /* consecutive sessions that did not come up */
	int hello_due;
	int restart_due;       /* close after this iteration: 1 reconnect now, 2 after backoff */
	unsigned commit_fails; /* commits of link input that failed in a row */
	uint64_t hello_at_us;  /* after a failed commit: no Hello before it */
	int took;              /* this iteration took input that writes (not yet committed) */
	int delivered;         /* ... and a delivery among it */
	int last_error;        /* last LinkError code logged, and when: repeats are quieter */
	uint64_t last_error_us;

	/* Deliver stream: the ack owed after the commit. */
	struct stream_ack ack;

	/* Push stream. The push source's seqs increase but need not be
	 * contiguous (a hub's queue keys), so the seqs in flight are kept, in
	 * order, in a ring of the window's size: an ack releases exactly
	 * those at or below it. */
	struct stream_tx tx;
	uint64_t push_hi; /* last seq sent in this round */
	uint64_t *flight; /* ring of the seqs in flight, oldest at flight_head */
	uint32_t flight_cap, flight_head, flight_n;
	uint8_t push_epoch[UPLINK_EPOCH_LEN]; /* named in our Hello: acks must match */
	size_t push_epoch_len;

	/* The frame being filled during a push walk. */
	Onestop__Transfer items[PUSH_MAX_ITEMS];
	Onestop__Transfer *ptrs[PUSH_MAX_ITEMS];
	size_t n_items, item_bytes;
	uint64_t push_now;
	int push_stop; /* a send failed: the walk ends, nothing more this time */
};

static uint64_t uplink_beat_us(const struct uplink *up)
{
	return (uint64_t)up->conf.heartbeat_ms * 1000u;
}

static void uplink_free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* Pack and send one frame without blocking. 0, OS_ENOMEM, OS_EAGAIN (the
 * pipe is full or not connected) or OS_ECONN. */
static int uplink_send(struct uplink *up, const Onestop__LinkFrame *f)
{
	if (!up->sock)
		return OS_ECONN;
	size_t n = onestop__link_frame__get_packed_size(f);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return OS_ENOMEM;
	onestop__link_frame__pack(f, buf);
	zmq_msg_t m;
	if (zmq_msg_init_data(&m, buf, n, uplink_free_buf, NULL) != 0) {
		free(buf);
		return OS_ENOMEM;
	}
	if (zmq_msg_send(&m, up->sock, ZMQ_DONTWAIT) < 0) {
		int e = errno;
		zmq_msg_close(&m);
		return e == EAGAIN ? OS_EAGAIN : OS_ECONN;
	}
	return 0;
}

int uplink_send_frame(struct uplink *up, const Onestop__LinkFrame *f)
{
	if (!up || up->state != UPLINK_UP)
		return OS_ECONN;
	return uplink_send(up, f);
}

/* The jittered exponential delay after fails failures in a row. */
static uint64_t uplink_backoff_n_us(const struct uplink *up, unsigned fails)
{
	uint64_t min = up->conf.reconnect_min_ms;
	uint64_t max = up->conf.reconnect_max_ms;
	unsigned shift = fails > BACKOFF_MAX_SHIFT ? BACKOFF_MAX_SHIFT : fails;
	uint64_t base = min << shift;
	if (base > max)
		base = max;
	uint32_t r;
	crypto_random(&r, sizeof r);
	/* Jitter keeps nodes that lost the peer together from returning together. */
	uint64_t d = base / 2 + r % (base / 2 + 1);
	if (d < min)
		d = min;
	return d * 1000u;
}

static uint64_t uplink_backoff_us(const struct uplink *up)
{
	return uplink_backoff_n_us(up, up->fails);
}

static int uplink_sockopt(void *s, int opt, const void *v, size_t len, const char *name)
{
	if (zmq_setsockopt(s, opt, v, len) == 0)
		return 0;
	os_log(OS_LOG_ERROR, "uplink_socket", "option=%s reason=%s", name,
	       OS_Q(zmq_strerror(errno)));
	return OS_EIO;
}

static int uplink_open(struct uplink *up)
{
	os_box_pk peer_pk;
	int rc = up->ops.peer_key(up->ctx, peer_pk);
	if (rc < 0)
		return rc;
	void *s = zmq_socket(up->conf.zctx, ZMQ_DEALER);
	if (!s) {
		os_log(OS_LOG_ERROR, "uplink_socket", "reason=%s", OS_Q(zmq_strerror(errno)));
		return OS_EIO;
	}
	int linger = 0;
	int beat = (int)up->conf.heartbeat_ms;
	int silence = (int)(SILENCE_BEATS * (unsigned)beat);
	int rmin = (int)up->conf.reconnect_min_ms;
	uint32_t r;
	crypto_random(&r, sizeof r);
	int ivl = rmin + (int)(r % (uint32_t)rmin);
	int ivl_max = (int)up->conf.reconnect_max_ms;
	int64_t maxmsg = up->conf.max_frame_bytes;
	if ((rc = uplink_sockopt(s, ZMQ_LINGER, &linger, sizeof linger, "linger")) ||
	    (rc = uplink_sockopt(s, ZMQ_CURVE_SERVERKEY, peer_pk, sizeof(os_box_pk),
				 "curve_serverkey")) ||
	    (rc = uplink_sockopt(s, ZMQ_CURVE_PUBLICKEY, up->conf.kp->box_pk, sizeof(os_box_pk),
				 "curve_publickey")) ||
	    (rc = uplink_sockopt(s, ZMQ_CURVE_SECRETKEY, up->conf.kp->box_sk, sizeof(os_box_sk),
				 "curve_secretkey")) ||
	    (rc = uplink_sockopt(s, ZMQ_HEARTBEAT_IVL, &beat, sizeof beat, "heartbeat_ivl")) ||
	    (rc = uplink_sockopt(s, ZMQ_HEARTBEAT_TIMEOUT, &silence, sizeof silence,
				 "heartbeat_timeout")) ||
	    (rc = uplink_sockopt(s, ZMQ_HEARTBEAT_TTL, &silence, sizeof silence,
				 "heartbeat_ttl")) ||
	    (rc = uplink_sockopt(s, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl, "reconnect_ivl")) ||
	    (rc = uplink_sockopt(s, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof ivl_max,
				 "reconnect_ivl_max")) ||
	    (rc = uplink_sockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg, "maxmsgsize")))
		goto fail;
	if (zmq_connect(s, up->endpoint) != 0) {
		os_log(OS_LOG_ERROR, "uplink_socket", "endpoint=%s reason=%s", up->endpoint,
		       OS_Q(zmq_strerror(errno)));
		rc = OS_EIO;
		goto fail;
	}
	up->sock = s;
	return 0;
fail:
	zmq_close(s);
	return rc;
}

static void uplink_close(struct uplink *up)
{
	if (up->sock)
		zmq_close(up->sock);
	up->sock = NULL;
	up->state = UPLINK_DOWN;
	stream_ack_clear(&up->ack);
	up->hello_due = 0;
	up->hello_sent_us = 0;
}

static void uplink_hello(struct uplink *up, uint64_t now)
{
	Onestop__Hello h = ONESTOP__HELLO__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	h.protocol = LINK_PROTOCOL;
	h.node = up->node;
	h.window = up->conf.window;
	up->ops.hello(up->ctx, &h);
	up->push_epoch_len = h.outbox_epoch.len <= UPLINK_EPOCH_LEN ? h.outbox_epoch.len : 0;
	if (up->push_epoch_len)
		memcpy(up->push_epoch, h.outbox_epoch.data, up->push_epoch_len);
	f.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	f.hello = &h;
	int rc = uplink_send(up, &f);
	if (up->ops.hello_done)
		up->ops.hello_done(up->ctx, &h);
	if (rc < 0)
		os_log(OS_LOG_DEBUG, "hello_unsent", "code=%s", os_errname(rc));
	/* Either way the silence timer decides what happens next. */
	up->hello_due = 0;
	up->hello_sent_us = now ? now : 1;
	up->state = UPLINK_HELLO_SENT;
}

/* Start a new push round from the oldest unacknowledged entry. */
static void uplink_push_rewind(struct uplink *up, uint64_t now)
{
	up->push_hi = up->tx.acked;
	up->flight_head = up->flight_n = 0;
	stream_tx_rewind(&up->tx, now);
}

/* Room for window seqs in flight: 0, or OS_ENOMEM (the window then
 * shrinks to what the ring holds, at least 1). */
static int uplink_flight_size(struct uplink *up, uint32_t window)
{
	uint64_t *v;

	if (window <= up->flight_cap)
		return 0;
	v = realloc(up->flight, (size_t)window * sizeof(*v));
	if (!v)
		return OS_ENOMEM;
	up->flight = v;
	up->flight_cap = window;
	return 0;
}

/* The acknowledged seqs leave the ring: how many. */
static uint32_t uplink_flight_release(struct uplink *up, uint64_t upto)
{
	uint32_t n = 0;

	while (up->flight_n > 0 && up->flight[up->flight_head] <= upto) {
		up->flight_head = (up->flight_head + 1) % up->flight_cap;
		up->flight_n--;
		n++;
	}
	return n;
}

static int uplink_welcome(struct uplink *up, const Onestop__Welcome *w, uint64_t now)
{
	if (w->protocol != LINK_PROTOCOL) {
		os_log(OS_LOG_WARN, "link_protocol", "hub_protocol=%u ours=%u",
		       (unsigned)w->protocol, LINK_PROTOCOL);
		return 0;
	}
	if (w->hub_epoch.len != UPLINK_EPOCH_LEN) {
		os_log(OS_LOG_WARN, "link_bad_frame",
		       "frame=welcome reason=\"hub_epoch is not 16 bytes\"");
		return 0;
	}
	struct uplink_welcome in = {
		.peer_epoch = w->hub_epoch.data,
		.accepted_seq = w->accepted_seq,
		.registry = w->registry.len > 0 ? w->registry.data : NULL,
		.registry_len = w->registry.len,
		.peer_node = w->node ? w->node : "",
		.peer_heartbeat_ms = w->heartbeat_ms,
		.peer_max_message_bytes = w->max_message_bytes,
	};
	int rc = up->ops.welcome(up->ctx, &in, now);
	if (rc < 0)
		return rc;
	up->state = UPLINK_UP;
	up->fails = 0;
	up->hello_due = 0;
	up->tx.window = w->window ? w->window : 1;
	if (uplink_flight_size(up, up->tx.window) != 0)
		up->tx.window = up->flight_cap ? up->flight_cap : 1;
	up->next_hb_us = now + uplink_beat_us(up);
	up->tx.acked = w->accepted_seq;
	uplink_push_rewind(up, now);
	/* Tell the peer at once what we already hold, so it need not resend it. */
	uint64_t last = 0;
	const uint8_t *epoch;
	up->ack.now = up->ops.deliver_pos(up->ctx, &last, &epoch) == 0 && last > 0;
	char ep[2 * UPLINK_EPOCH_LEN + 1];
	os_hex(ep, w->hub_epoch.data, UPLINK_EPOCH_LEN);
	os_log(OS_LOG_INFO, "hub_connected",
	       "hub=%s endpoint=%s hub_epoch=%s new_epoch=%d accepted=%llu window=%u outbox=%llu "
	       "hub_node=%s hub_heartbeat_ms=%u hub_max_message_bytes=%llu",
	       up->peer, up->endpoint, ep, in.new_epoch, (unsigned long long)w->accepted_seq,
	       (unsigned)up->tx.window, (unsigned long long)in.backlog,
	       OS_Q(in.peer_node[0] ? in.peer_node : "-"), (unsigned)w->heartbeat_ms,
	       (unsigned long long)w->max_message_bytes);
	if (in.peer_node[0] && strcmp(in.peer_node, up->peer) != 0)
		os_log(OS_LOG_WARN, "hub_name_differs", "configured=%s welcome=%s", up->peer,
		       OS_Q(in.peer_node));
	return 0;
}

static void uplink_push_ack(struct uplink *up, const Onestop__Ack *a, uint64_t now)
{
	if (a->epoch.len > 0 && (a->epoch.len != up->push_epoch_len ||
				 memcmp(a->epoch.data, up->push_epoch, up->push_epoch_len) != 0)) {
		os_log(OS_LOG_DEBUG, "push_ack_ignored", "seq=%llu reason=\"other epoch\"",
		       (unsigned long long)a->seq);
		return;
	}
	/* Released lazily by the layer above: an ack is not worth an fsync of
	 * its own. */
	up->ops.push_acked(up->ctx, a->seq, now);
	if (a->seq > up->tx.acked) {
		stream_tx_ack(&up->tx, a->seq, uplink_flight_release(up, a->seq), now);
		if (up->push_hi < up->tx.acked)
			up->push_hi = up->tx.acked;
	}
}

static int uplink_deliver(struct uplink *up, const Onestop__Transfers *ts)
{
	/* Before Welcome we do not know which peer epoch these seqs belong to;
	 * the peer restarts its deliver stream after Welcome anyway. */
	if (up->state != UPLINK_UP)
		return 0;
	for (size_t i = 0; i < ts->n_items; i++) {
		const Onestop__Transfer *x = ts->items[i];
		uint64_t last = 0;
		const uint8_t *epoch;
		if (!x)
			continue;
		if (up->ops.deliver_pos(up->ctx, &last, &epoch) < 0)
			last = 0;
		enum stream_verdict v = stream_offer(last, x->seq, x->prev_seq);
		if (v == STREAM_ACCEPT) {
			int rc = up->ops.deliver(up->ctx, x->seq, x->msg.data, x->msg.len);
			up->took = 1;
			if (rc < 0)
				return rc;
			if (rc == UPLINK_HELD)
				continue;
			up->delivered = 1;
		}
		/* Accepted ones wait for company; a duplicate means the peer is
		 * resending: it hears from us at once. */
		stream_ack_note(&up->ack, v, os_mono_us());
	}
	return 0;
}

static void uplink_link_error(struct uplink *up, const Onestop__LinkError *e)
{
	if (e->code == OS_EHELLO) {
		/* The peer does not know this session: it restarted. */
		if (up->state == UPLINK_UP)
			os_log(OS_LOG_INFO, "hub_lost",
			       "hub=%s reason=\"session unknown to the hub\"", up->peer);
		up->state = UPLINK_HELLO_SENT;
		up->hello_due = 1;
		stream_ack_clear(&up->ack);
		return;
	}
	if (e->code == OS_EREVOKED) {
		/* The peer ended the session and its ZAP handler refuses our key
		 * until the registry makes us active again: retry with backoff. */
		os_log(OS_LOG_WARN, "hub_lost",
		       "hub=%s reason=\"this node is not active in the hub's registry\"", up->peer);
		up->restart_due = 2;
		stream_ack_clear(&up->ack);
		return;
	}
	uint64_t now = os_mono_us();
	int repeat = e->code == up->last_error && now - up->last_error_us < ERROR_QUIET_US;
	up->last_error = e->code;
	if (!repeat)
		up->last_error_us = now;
	os_log(repeat ? OS_LOG_DEBUG : OS_LOG_WARN, "link_error", "hub=%s code=%s message=%s",
	       up->peer, os_errname(e->code), OS_Q(e->message));
}

static int uplink_frame(struct uplink *up, const Onestop__LinkFrame *f, uint64_t now)
{
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_WELCOME:
		up->took = 1;
		return uplink_welcome(up, f->welcome, now);
	case ONESTOP__LINK_FRAME__BODY_PUSH_ACK:
		uplink_push_ack(up, f->push_ack, now);
		return 0;
	case ONESTOP__LINK_FRAME__BODY_DELIVER:
		return uplink_deliver(up, f->deliver);
	case ONESTOP__LINK_FRAME__BODY_REGISTRY:
		up->took = 1;
		return up->ops.frame ? up->ops.frame(up->ctx, f) : 0;
	case ONESTOP__LINK_FRAME__BODY_CHANGES:
	case ONESTOP__LINK_FRAME__BODY_SNAPSHOT:
	case ONESTOP__LINK_FRAME__BODY_FETCHED:
		/* Dataset frames follow the Welcome of their session. */
		if (up->state != UPLINK_UP || !up->ops.frame)
			return 0;
		up->took = 1;
		return up->ops.frame(up->ctx, f);
	case ONESTOP__LINK_FRAME__BODY_HEARTBEAT:
		return 0; /* being heard is all it is for */
	case ONESTOP__LINK_FRAME__BODY_ERROR:
		uplink_link_error(up, f->error);
		return 0;
	default:
		os_log(OS_LOG_DEBUG, "link_unexpected", "body=%d", (int)f->body_case);
		return 0;
	}
}

static unsigned uplink_drain(void *arg)
{
	struct uplink *up = arg;
	unsigned i;
	for (i = 0; i < DRAIN_BUDGET && up->sock && !up->restart_due; i++) {
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, up->sock, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		uint64_t now = os_mono_us();
		up->last_heard_us = now;
		Onestop__LinkFrame *f = NULL;
		int more = zmq_msg_more(&m);
		if (!more)
			f = onestop__link_frame__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		zmq_msg_close(&m);
		while (more) {
			/* The link has one part per message; drop the rest. */
			zmq_msg_init(&m);
			more = zmq_msg_recv(&m, up->sock, 0) >= 0 && zmq_msg_more(&m);
			zmq_msg_close(&m);
		}
		if (!f) {
			os_log(OS_LOG_WARN, "link_bad_frame", "hub=%s reason=\"not a LinkFrame\"",
			       up->peer);
			continue;
		}
		int rc = uplink_frame(up, f, now);
		onestop__link_frame__free_unpacked(f, NULL);
		if (rc < 0) {
			i++;
			break; /* the iteration is poisoned: nothing more joins it */
		}
	}
	return i;
}

static void uplink_send_deliver_ack(struct uplink *up)
{
	Onestop__Ack a = ONESTOP__ACK__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	const uint8_t *epoch = NULL;
	if (up->ops.deliver_pos(up->ctx, &a.seq, &epoch) < 0)
		return;
	a.epoch.data = (uint8_t *)epoch;
	a.epoch.len = UPLINK_EPOCH_LEN;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
	f.deliver_ack = &a;
	int rc = uplink_send(up, &f);
	if (rc < 0)
		os_log(OS_LOG_DEBUG, "deliver_ack_unsent", "seq=%llu code=%s",
		       (unsigned long long)a.seq, os_errname(rc));
}

/* Send the frame collected so far, chained by prev_seq. 0, or the send's
 * error (nothing of it counts as sent; the walk stops). */
static int uplink_push_flush(struct uplink *up)
{
	if (up->n_items == 0)
		return 0;
	struct stream_tx saved = up->tx;
	uint64_t saved_hi = up->push_hi;
	uint64_t first = up->items[0].seq;
	if (first > up->push_hi + 1 && up->tx.inflight == 0)
		up->tx.acked = up->push_hi = first - 1; /* nothing lies between */
	for (size_t i = 0; i < up->n_items; i++)
		up->items[i].prev_seq = stream_tx_send(&up->tx, up->items[i].seq, up->push_now);
	Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	ts.n_items = up->n_items;
	ts.items = up->ptrs;
	f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	f.push = &ts;
	int rc = uplink_send(up, &f);
	size_t n = up->n_items;
	up->n_items = 0;
	up->item_bytes = 0;
	if (rc < 0) {
		up->tx = saved;
		up->push_hi = saved_hi;
		up->push_stop = 1;
		return rc;
	}
	up->push_hi = up->items[n - 1].seq;
	for (size_t i = 0; i < n && up->flight_n < up->flight_cap; i++) {
		up->flight[(up->flight_head + up->flight_n) % up->flight_cap] = up->items[i].seq;
		up->flight_n++;
	}
	if (up->ops.pushed)
		up->ops.pushed(up->ctx, (unsigned)n);
	return 0;
}

/* The push walk's callback: fills frames of at most PUSH_MAX_ITEMS
 * transfers and PUSH_FRAME_BYTES (or one bigger transfer), sending each
 * while its entries are still valid, until the window is full. */
static int uplink_collect(void *arg, uint64_t seq, const uint8_t *msg, size_t len)
{
	struct uplink *up = arg;
	if (!msg) {
		if (!up->push_stop)
			uplink_push_flush(up);
		return 1;
	}
	if (up->push_stop)
		return 1;
	if (up->n_items > 0 && up->item_bytes + len > PUSH_FRAME_BYTES && uplink_push_flush(up) < 0)
		return 1;
	if (stream_tx_room(&up->tx) <= up->n_items)
		return 1;
	Onestop__Transfer *t = &up->items[up->n_items];
	onestop__transfer__init(t);
	t->seq = seq;
	/* Borrowed from the walk, which outlives the send. */
	t->msg.data = (uint8_t *)msg;
	t->msg.len = len;
	up->ptrs[up->n_items++] = t;
	up->item_bytes += len;
	if ((up->n_items == PUSH_MAX_ITEMS || stream_tx_room(&up->tx) == up->n_items) &&
	    uplink_push_flush(up) < 0)
		return 1;
	return stream_tx_room(&up->tx) == 0;
}

static void uplink_push(struct uplink *up, uint64_t now)
{
	if (up->state != UPLINK_UP || !up->sock || stream_tx_room(&up->tx) == 0)
		return;
	up->n_items = 0;
	up->item_bytes = 0;
	up->push_now = now;
	up->push_stop = 0;
	up->ops.push_walk(up->ctx, up->push_hi + 1, uplink_collect, up);
	/* Whatever is left points into the walk, which is over. */
	up->n_items = 0;
	up->push_stop = 0;
}

static void uplink_run_timers(struct uplink *up, uint64_t now)
{
	uint64_t beat = uplink_beat_us(up);

	if (up->state == UPLINK_DOWN) {
		if (now < up->reconnect_at_us)
			return;
		if (uplink_open(up) < 0) {
			up->fails++;
			up->reconnect_at_us = now + uplink_backoff_us(up);
			return;
		}
		up->last_heard_us = now;
		uplink_hello(up, now);
		return;
	}
	if (now - up->last_heard_us >= SILENCE_BEATS * beat) {
		if (up->state == UPLINK_UP)
			os_log(OS_LOG_INFO, "hub_lost",
			       "hub=%s reason=\"nothing heard for %u heartbeats\"", up->peer,
			       SILENCE_BEATS);
		else
			os_log(up->fails == 0 ? OS_LOG_INFO : OS_LOG_DEBUG, "hub_unreachable",
			       "hub=%s endpoint=%s attempt=%u", up->peer, up->endpoint,
			       up->fails + 1);
		uplink_close(up);
		up->fails++;
		up->reconnect_at_us = now + uplink_backoff_us(up);
		if (up->reconnect_at_us < up->hello_at_us)
			up->reconnect_at_us = up->hello_at_us; /* a commit backoff too */
		return;
	}
	if (up->state == UPLINK_HELLO_SENT) {
		/* Several frames may each draw EHELLO: one Hello per beat is enough. */
		if (up->hello_due && now >= up->hello_at_us &&
		    (up->hello_sent_us == 0 || now - up->hello_sent_us >= beat))
			uplink_hello(up, now);
		return;
	}
	if (now >= up->next_hb_us) {
		Onestop__Heartbeat h = ONESTOP__HEARTBEAT__INIT;
		Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
		h.now_ms = os_now_ms();
		f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
		f.heartbeat = &h;
		uplink_send(up, &f);
		up->next_hb_us = now + beat;
	}
	if (stream_tx_stalled(&up->tx, RETRANSMIT_BEATS * beat, now)) {
		os_log(OS_LOG_DEBUG, "push_retransmit", "from=%llu in_flight=%llu",
		       (unsigned long long)(up->tx.acked + 1),
		       (unsigned long long)(up->push_hi - up->tx.acked));
		uplink_push_rewind(up, now);
		uplink_push(up, now);
	}
}

/* Right after the iteration's commit. */
static void uplink_after_commit(void *arg, int commit_rc)
{
	struct uplink *up = arg;
	uint64_t now = os_mono_us();
	int took = up->took;
	up->took = 0;
	if (commit_rc == 0 && up->delivered)
		up->commit_fails = 0;
	up->delivered = 0;
	if (commit_rc < 0 && took) {
		/* Nothing of this iteration is durable: acknowledge nothing and
		 * let a fresh session restart both streams from stored state,
		 * after a backoff (a full store fails again at once). A failed
		 * commit of nothing the link took (an app's Send into a full
		 * store) costs the session nothing. */
		up->commit_fails++;
		up->hello_at_us = now + uplink_backoff_n_us(up, up->commit_fails - 1);
		stream_ack_clear(&up->ack);
		uplink_push_rewind(up, now);
		if (up->state != UPLINK_DOWN) {
			if (up->commit_fails == 1 || up->commit_fails % 16 == 0)
				os_log(OS_LOG_WARN, "link_commit_failed",
				       "hub=%s code=%s failures_in_a_row=%u hello_in_ms=%llu",
				       up->peer, os_errname(commit_rc), up->commit_fails,
				       (unsigned long long)((up->hello_at_us - now) / 1000u));
			up->state = UPLINK_HELLO_SENT;
			up->hello_due = 1;
			up->hello_sent_us = 0;
		}
	}
	/* What the commit made durable heads for the peer first: it is on the
	 * way to another node, the replies to local apps are not. */
	if (!up->restart_due)
		uplink_push(up, now);
}

/* After every hook's after_commit: the deliver ack, pushes, timers. */
static void uplink_timers(void *arg, uint64_t now)
{
	struct uplink *up = arg;
	uint64_t last;
	const uint8_t *epoch;
	if (up->state != UPLINK_UP || up->ops.deliver_pos(up->ctx, &last, &epoch) < 0) {
		stream_ack_clear(&up->ack);
	} else if (stream_ack_ready(&up->ack, up->conf.window, ACK_DELAY_US, now)) {
		uplink_send_deliver_ack(up);
		stream_ack_clear(&up->ack);
	}
	if (up->restart_due == 2) {
		uplink_close(up);
		up->fails++;
		up->reconnect_at_us = now + uplink_backoff_us(up);
	} else if (up->restart_due) {
		if (up->state == UPLINK_UP)
			os_log(OS_LOG_INFO, "hub_lost", "hub=%s reason=\"hub key changed\"",
			       up->peer);
		uplink_close(up);
		up->fails = 0;
		up->reconnect_at_us = now;
	}
	up->restart_due = 0;
	uplink_push(up, now);
	uplink_run_timers(up, now);
}

static uint64_t uplink_deadline_us(void *arg)
{
	const struct uplink *up = arg;
	uint64_t beat = uplink_beat_us(up);
	if (up->restart_due || up->ack.now)
		return 0;
	if (up->state == UPLINK_DOWN)
		return up->reconnect_at_us;
	uint64_t d = up->last_heard_us + SILENCE_BEATS * beat;
	if (up->state == UPLINK_HELLO_SENT) {
		if (up->hello_due) {
			uint64_t h = up->hello_sent_us ? up->hello_sent_us + beat : 0;
			if (h < up->hello_at_us)
				h = up->hello_at_us;
			if (h < d)
				d = h;
		}
		return d;
	}
	if (up->next_hb_us < d)
		d = up->next_hb_us;
	uint64_t a = stream_ack_deadline(&up->ack, ACK_DELAY_US);
	if (a < d)
		d = a;
	a = stream_tx_deadline(&up->tx, RETRANSMIT_BEATS * beat);
	if (a < d)
		d = a;
	return d;
}

static void *uplink_socket_hook(void *arg)
{
	return uplink_socket(arg);
}

struct loop_hooks uplink_hooks(struct uplink *up)
{
	return (struct loop_hooks){
		.name = "uplink",
		.socket = uplink_socket_hook,
		.drain = uplink_drain,
		.after_commit = uplink_after_commit,
		.timers = uplink_timers,
		.deadline_us = uplink_deadline_us,
		.ctx = up,
	};
}

enum uplink_state uplink_state(const struct uplink *up)
{
	return up ? up->state : UPLINK_DOWN;
}

void *uplink_socket(const struct uplink *up)
{
	return up ? up->sock : NULL;
}

void uplink_restart(struct uplink *up)
{
	if (up)
		up->restart_due = 1;
}

int uplink_new(const struct uplink_conf *conf, const struct uplink_ops *ops, void *ctx,
	       struct uplink **out)
{
	const struct uplink_ops *o = ops;
	*out = NULL;
	if (!conf->zctx || !conf->endpoint || !conf->peer || !conf->node || !conf->kp ||
	    conf->heartbeat_ms == 0 || conf->reconnect_min_ms == 0 ||
	    conf->reconnect_min_ms > conf->reconnect_max_ms || conf->window == 0 ||
	    conf->max_frame_bytes <= 0 || !o->peer_key || !o->hello || !o->welcome ||
	    !o->push_acked || !o->push_walk || !o->deliver_pos || !o->deliver)
		return OS_EINVAL;
	struct uplink *up = calloc(1, sizeof *up);
	if (!up)
		return OS_ENOMEM;
	up->conf = *conf;
	up->endpoint = strdup(conf->endpoint);
	up->peer = strdup(conf->peer);
	up->node = strdup(conf->node);
	if (!up->endpoint || !up->peer || !up->node || uplink_flight_size(up, 1) != 0) {
		uplink_destroy(&up);
		return OS_ENOMEM;
	}
	up->conf.endpoint = up->endpoint;
	up->conf.peer = up->peer;
	up->conf.node = up->node;
	up->ops = *ops;
	up->ctx = ctx;
	up->state = UPLINK_DOWN;
	up->tx.window = 1;
	up->reconnect_at_us = 0; /* connect at the first timer run: now */
	uplink_run_timers(up, os_mono_us());
	*out = up;
	return 0;
}

void uplink_stop(struct uplink *up)
{
	uint64_t last;
	const uint8_t *epoch;
	if (!up || !up->sock || up->state != UPLINK_UP ||
	    up->ops.deliver_pos(up->ctx, &last, &epoch) < 0)
		return;
	if (up->ack.now || up->ack.unsent > 0) {
		/* A delayed ack would otherwise be lost with the socket: the
		 * peer would send those deliveries again (harmless, but a store
		 * recreated before the restart could not tell). */
		uplink_send_deliver_ack(up);
		stream_ack_clear(&up->ack);
		int linger = 200;
		zmq_setsockopt(up->sock, ZMQ_LINGER, &linger, sizeof linger);
	}
}

void uplink_destroy(struct uplink **up)
{
	if (!*up)
		return;
	uplink_close(*up);
	free((*up)->flight);
	free((*up)->endpoint);
	free((*up)->peer);
	free((*up)->node);
	free(*up);
	*up = NULL;
}
