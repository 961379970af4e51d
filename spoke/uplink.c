/* The spoke's uplink: a CURVE DEALER to the hub and the session state
 * machine of docs/ARCHITECTURE.md "The link". The spoke says Hello, the hub
 * answers Welcome; then the outbox flows out as the push stream under the
 * hub's window and the deliver stream flows in, each acknowledged
 * cumulatively only after the receiver's commit. Dataset frames (Changes,
 * Snapshot, Fetched) go to cache.c, which acknowledges after the commit.
 *
 *   state       event                           action -> next state
 *   DOWN        backoff over                    open socket, Hello -> HELLO_SENT
 *   HELLO_SENT  Welcome                         reset streams -> UP
 *   UP          Welcome (again)                 reset streams -> UP
 *   UP          LinkError EHELLO                Hello -> HELLO_SENT
 *   any open    nothing heard for 3 heartbeats  close, backoff -> DOWN
 *   any open    LinkError EREVOKED              close, backoff -> DOWN
 *   any open    hub key changed                 close -> DOWN (reconnect now)
 *   any open    commit failed                   Hello -> HELLO_SENT */
#include "uplink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "onestop.pb-c.h"

#include "replica.h"
#include "err.h"
#include "log.h"
#include "spoke.h"
#include "util.h"

#define LINK_PROTOCOL 1u
#define PUSH_MAX_ITEMS 256u          /* transfers per LinkFrame */
#define PUSH_FRAME_BYTES (4u << 20)  /* a frame passes this only with one transfer */
#define SILENCE_BEATS 3u             /* heartbeats without a frame: the hub is gone */
#define RETRANSMIT_BEATS 3u          /* heartbeats without ack progress: resend */
#define BACKOFF_MAX_SHIFT 20u
#define ACK_DELAY_US 5000u           /* a deliver ack may wait this long for company */

struct uplink {
	void *sock;
	enum uplink_state state;
	uint64_t last_heard_us;    /* any frame from the hub (monotonic) */
	uint64_t next_hb_us;
	uint64_t reconnect_at_us;
	uint64_t hello_sent_us;    /* 0: none sent on this socket yet */
	unsigned fails;            /* consecutive sessions that did not come up */
	int hello_due;
	int restart_due;           /* close after this iteration: 1 reconnect now, 2 after backoff */
	int last_error;            /* last LinkError code logged, and when: repeats are quieter */
	uint64_t last_error_us;
	int ack_due;               /* a deliver ack must follow the commit */
	uint32_t ack_unsent;       /* deliveries accepted since the last ack sent */
	uint64_t ack_since_us;     /* when the first of them was accepted */
	uint32_t window;           /* the hub's push window */

	/* Push stream. Outbox seqs are contiguous, so the transfers in flight
	 * are exactly (push_base, push_hi]. */
	uint64_t push_base;        /* everything <= it is acknowledged */
	uint64_t push_hi;          /* last seq sent in this round */
	uint64_t push_prev;        /* prev_seq of the next transfer: 0 at a round's start */
	uint64_t progress_us;      /* last ack progress, or the start of a flight */

	Onestop__Transfer items[PUSH_MAX_ITEMS];
	Onestop__Transfer *ptrs[PUSH_MAX_ITEMS];
	size_t n_items, max_items, item_bytes;
};

static uint64_t uplink_beat_us(const struct spoke *sp)
{
	return (uint64_t)sp->conf.heartbeat_ms * 1000u;
}

static void uplink_free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* Pack and send one frame without blocking. 0, OS_ENOMEM, OS_EAGAIN (the
 * pipe is full or not connected) or OS_ECONN. */
static int uplink_send(struct spoke *sp, const Onestop__LinkFrame *f)
{
	struct uplink *up = sp->up;
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

int uplink_send_frame(struct spoke *sp, const Onestop__LinkFrame *f)
{
	if (!sp->up || sp->up->state != UPLINK_UP)
		return OS_ECONN;
	return uplink_send(sp, f);
}

static uint64_t uplink_backoff_us(const struct spoke *sp)
{
	uint64_t min = (uint64_t)sp->conf.reconnect_min_ms;
	uint64_t max = (uint64_t)sp->conf.reconnect_max_ms;
	unsigned shift = sp->up->fails > BACKOFF_MAX_SHIFT ? BACKOFF_MAX_SHIFT : sp->up->fails;
	uint64_t base = min << shift;
	if (base > max)
		base = max;
	uint32_t r;
	crypto_random(&r, sizeof r);
	/* Jitter keeps spokes that lost the hub together from returning together. */
	uint64_t d = base / 2 + r % (base / 2 + 1);
	if (d < min)
		d = min;
	return d * 1000u;
}

static int uplink_sockopt(void *s, int opt, const void *v, size_t len, const char *name)
{
	if (zmq_setsockopt(s, opt, v, len) == 0)
		return 0;
	os_log(OS_LOG_ERROR, "uplink_socket", "option=%s reason=\"%s\"", name,
	       zmq_strerror(errno));
	return OS_EIO;
}

static int uplink_open(struct spoke *sp)
{
	struct uplink *up = sp->up;
	const struct reg_node *hub = registry_find(sp->reg, sp->conf.hub_name);
	if (!hub) {
		os_log(OS_LOG_ERROR, "hub_unknown", "hub=%s reason=\"not in the registry\"",
		       sp->conf.hub_name);
		return OS_EUNKNOWN;
	}
	void *s = zmq_socket(sp->zctx, ZMQ_DEALER);
	if (!s) {
		os_log(OS_LOG_ERROR, "uplink_socket", "reason=\"%s\"", zmq_strerror(errno));
		return OS_EIO;
	}
	int linger = 0;
	int beat = (int)sp->conf.heartbeat_ms;
	int silence = (int)(SILENCE_BEATS * (unsigned)beat);
	int rmin = (int)sp->conf.reconnect_min_ms;
	uint32_t r;
	crypto_random(&r, sizeof r);
	int ivl = rmin + (int)(r % (uint32_t)rmin);
	int ivl_max = (int)sp->conf.reconnect_max_ms;
	int64_t maxmsg = (int64_t)64 * (sp->conf.max_message_bytes + SPOKE_ENV_OVERHEAD);
	if (maxmsg < ((int64_t)256 << 20))
		maxmsg = (int64_t)256 << 20;
	int rc = 0;
	if ((rc = uplink_sockopt(s, ZMQ_LINGER, &linger, sizeof linger, "linger")) ||
	    (rc = uplink_sockopt(s, ZMQ_CURVE_SERVERKEY, hub->box_pk, sizeof(os_box_pk),
				 "curve_serverkey")) ||
	    (rc = uplink_sockopt(s, ZMQ_CURVE_PUBLICKEY, sp->kp.box_pk, sizeof(os_box_pk),
				 "curve_publickey")) ||
	    (rc = uplink_sockopt(s, ZMQ_CURVE_SECRETKEY, sp->kp.box_sk, sizeof(os_box_sk),
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
	if (zmq_connect(s, sp->conf.hub_endpoint) != 0) {
		os_log(OS_LOG_ERROR, "uplink_socket", "endpoint=%s reason=\"%s\"",
		       sp->conf.hub_endpoint, zmq_strerror(errno));
		rc = OS_EIO;
		goto fail;
	}
	up->sock = s;
	return 0;
fail:
	zmq_close(s);
	return rc;
}

static void uplink_close(struct spoke *sp)
{
	struct uplink *up = sp->up;
	if (up->sock)
		zmq_close(up->sock);
	up->sock = NULL;
	up->state = UPLINK_DOWN;
	up->ack_due = 0;
	up->ack_unsent = 0;
	up->hello_due = 0;
	up->hello_sent_us = 0;
}

static void uplink_hello(struct spoke *sp, uint64_t now)
{
	struct uplink *up = sp->up;
	Onestop__Hello h = ONESTOP__HELLO__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	h.protocol = LINK_PROTOCOL;
	h.node = sp->conf.name;
	h.registry_version = sp->reg->version;
	h.outbox_epoch.data = sp->ob.epoch;
	h.outbox_epoch.len = OUTBOX_EPOCH_LEN;
	h.window = (uint32_t)sp->conf.window;
	/* Where each dataset copy stands; without them (no memory) the hub
	 * sends snapshots, which is slower but right. */
	Onestop__DatasetPosition **pos = NULL;
	size_t npos = 0;
	if (replica_positions(sp, &pos, &npos) == 0) {
		h.datasets = pos;
		h.n_datasets = npos;
	}
	f.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	f.hello = &h;
	int rc = uplink_send(sp, &f);
	replica_positions_free(pos, npos);
	if (rc < 0)
		os_log(OS_LOG_DEBUG, "hello_unsent", "code=%s", os_errname(rc));
	/* Either way the silence timer decides what happens next. */
	up->hello_due = 0;
	up->hello_sent_us = now ? now : 1;
	up->state = UPLINK_HELLO_SENT;
}

/* Start a new push round from the oldest unacknowledged message. */
static void uplink_push_rewind(struct uplink *up, uint64_t now)
{
	up->push_hi = up->push_base;
	up->push_prev = 0;
	up->progress_us = now;
}

static int uplink_welcome(struct spoke *sp, const Onestop__Welcome *w, uint64_t now)
{
	struct uplink *up = sp->up;
	int changed = 0, rc;
	if (w->protocol != LINK_PROTOCOL) {
		os_log(OS_LOG_WARN, "link_protocol", "hub_protocol=%u ours=%u",
		       (unsigned)w->protocol, LINK_PROTOCOL);
		return 0;
	}
	rc = inbox_hub_epoch(sp, w->hub_epoch.data, w->hub_epoch.len, &changed);
	if (rc == OS_EPROTO) {
		os_log(OS_LOG_WARN, "link_bad_frame", "frame=welcome reason=\"hub_epoch is not 16 bytes\"");
		return 0;
	}
	if (rc < 0)
		return rc;
	outbox_ack(sp, w->accepted_seq, now);
	if ((rc = outbox_settle(sp, now, 1)) < 0)
		return rc;
	if (w->registry.len > 0) {
		spoke_registry_offer(sp, w->registry.data, w->registry.len, "hub", NULL);
		if (sp->txn_err)
			return sp->txn_err;
	}
	up->state = UPLINK_UP;
	up->fails = 0;
	up->hello_due = 0;
	up->window = w->window ? w->window : 1;
	up->next_hb_us = now + uplink_beat_us(sp);
	up->push_base = w->accepted_seq;
	uplink_push_rewind(up, now);
	/* Tell the hub at once what we already hold, so it need not resend it. */
	up->ack_due = sp->ib.last > 0;
	char ep[2 * INBOX_EPOCH_LEN + 1];
	os_hex(ep, sp->ib.hub_epoch, INBOX_EPOCH_LEN);
	os_log(OS_LOG_INFO, "hub_connected",
	       "hub=%s endpoint=%s hub_epoch=%s new_epoch=%d accepted=%llu window=%u outbox=%llu",
	       sp->conf.hub_name, sp->conf.hub_endpoint, ep, changed,
	       (unsigned long long)w->accepted_seq, (unsigned)up->window,
	       (unsigned long long)sp->ob.count);
	return 0;
}

static int uplink_push_ack(struct spoke *sp, const Onestop__Ack *a, uint64_t now)
{
	struct uplink *up = sp->up;
	if (a->epoch.len > 0 &&
	    (a->epoch.len != OUTBOX_EPOCH_LEN ||
	     memcmp(a->epoch.data, sp->ob.epoch, OUTBOX_EPOCH_LEN) != 0)) {
		os_log(OS_LOG_DEBUG, "push_ack_ignored", "seq=%llu reason=\"other epoch\"",
		       (unsigned long long)a->seq);
		return 0;
	}
	/* Deleted with the next commit that happens anyway (outbox_settle):
	 * an ack is not worth an fsync of its own. */
	outbox_ack(sp, a->seq, now);
	if (a->seq > up->push_base) {
		up->push_base = a->seq;
		up->progress_us = now;
		if (up->push_hi < up->push_base)
			up->push_hi = up->push_base;
	}
	return 0;
}

static int uplink_deliver(struct spoke *sp, const Onestop__Transfers *ts)
{
	struct uplink *up = sp->up;
	/* Before Welcome we do not know which hub epoch these seqs belong to;
	 * the hub restarts its deliver stream after Welcome anyway. */
	if (up->state != UPLINK_UP)
		return 0;
	uint64_t now_ms = os_now_ms();
	for (size_t i = 0; i < ts->n_items; i++) {
		const Onestop__Transfer *x = ts->items[i];
		enum inbox_verdict v;
		if (!x)
			continue;
		int rc = inbox_offer(sp, x->seq, x->prev_seq, x->msg.data, x->msg.len, now_ms, &v);
		if (rc < 0)
			return rc;
		if (v == INBOX_ACCEPTED) {
			if (up->ack_unsent++ == 0)
				up->ack_since_us = os_mono_us();
		} else if (v == INBOX_DUPLICATE) {
			up->ack_due = 1; /* the hub is resending: tell it at once */
		}
	}
	return 0;
}

/* Whether the deliver ack goes out after this commit. Acks are cumulative,
 * so a light trickle of deliveries is acked once per ACK_DELAY_US rather
 * than once per delivery (each ack wakes the hub); a quarter of the window
 * unacknowledged, a duplicate or a new session sends it at once. */
static int uplink_ack_ready(const struct spoke *sp, uint64_t now)
{
	const struct uplink *up = sp->up;
	uint64_t quarter = (uint64_t)sp->conf.window / 4;
	if (up->ack_due)
		return 1;
	if (up->ack_unsent == 0)
		return 0;
	return up->ack_unsent >= (quarter ? quarter : 1) || now >= up->ack_since_us + ACK_DELAY_US;
}

static void uplink_link_error(struct spoke *sp, const Onestop__LinkError *e)
{
	struct uplink *up = sp->up;
	if (e->code == OS_EHELLO) {
		/* The hub does not know this session: it restarted. */
		if (up->state == UPLINK_UP)
			os_log(OS_LOG_INFO, "hub_lost", "hub=%s reason=\"session unknown to the hub\"",
			       sp->conf.hub_name);
		up->state = UPLINK_HELLO_SENT;
		up->hello_due = 1;
		up->ack_due = 0;
		up->ack_unsent = 0;
		return;
	}
	if (e->code == OS_EREVOKED) {
		/* The hub ended the session and its ZAP handler refuses our key
		 * until the registry makes us active again: retry with backoff. */
		os_log(OS_LOG_WARN, "hub_lost",
		       "hub=%s reason=\"this node is not active in the hub's registry\"",
		       sp->conf.hub_name);
		up->restart_due = 2;
		up->ack_due = 0;
		up->ack_unsent = 0;
		return;
	}
	uint64_t now = os_mono_us();
	int repeat = e->code == up->last_error && now - up->last_error_us < 60000000u;
	up->last_error = e->code;
	if (!repeat)
		up->last_error_us = now;
	/* The hub's text goes into a quoted log value: keep it printable. */
	char msg[160];
	size_t i = 0;
	for (const char *m = e->message; m && m[i] && i + 1 < sizeof msg; i++) {
		unsigned char ch = (unsigned char)m[i];
		msg[i] = ch < 0x20 || ch > 0x7e || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	msg[i] = '\0';
	os_log(repeat ? OS_LOG_DEBUG : OS_LOG_WARN, "link_error", "hub=%s code=%s message=\"%s\"",
	       sp->conf.hub_name, os_errname(e->code), msg);
}

static int uplink_frame(struct spoke *sp, const Onestop__LinkFrame *f, uint64_t now)
{
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_WELCOME:
		return uplink_welcome(sp, f->welcome, now);
	case ONESTOP__LINK_FRAME__BODY_PUSH_ACK:
		return uplink_push_ack(sp, f->push_ack, now);
	case ONESTOP__LINK_FRAME__BODY_DELIVER:
		return uplink_deliver(sp, f->deliver);
	case ONESTOP__LINK_FRAME__BODY_REGISTRY:
		spoke_registry_offer(sp, f->registry.data, f->registry.len, "hub", NULL);
		return sp->txn_err;
	case ONESTOP__LINK_FRAME__BODY_CHANGES:
	case ONESTOP__LINK_FRAME__BODY_SNAPSHOT:
	case ONESTOP__LINK_FRAME__BODY_FETCHED:
		/* Dataset frames follow the Welcome of their session. */
		if (sp->up->state != UPLINK_UP)
			return 0;
		if (f->body_case == ONESTOP__LINK_FRAME__BODY_CHANGES)
			return replica_changes(sp, f->changes);
		if (f->body_case == ONESTOP__LINK_FRAME__BODY_SNAPSHOT)
			return replica_snapshot(sp, f->snapshot);
		return replica_fetched(sp, f->fetched);
	case ONESTOP__LINK_FRAME__BODY_HEARTBEAT:
		return 0; /* being heard is all it is for */
	case ONESTOP__LINK_FRAME__BODY_ERROR:
		uplink_link_error(sp, f->error);
		return 0;
	default:
		os_log(OS_LOG_DEBUG, "link_unexpected", "body=%d", (int)f->body_case);
		return 0;
	}
}

int uplink_drain(struct spoke *sp, unsigned budget)
{
	struct uplink *up = sp->up;
	int rc = 0;
	for (unsigned i = 0; i < budget && up->sock && !up->restart_due; i++) {
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
			       sp->conf.hub_name);
			continue;
		}
		rc = uplink_frame(sp, f, now);
		onestop__link_frame__free_unpacked(f, NULL);
		if (rc < 0)
			break;
	}
	return rc;
}

static void uplink_send_deliver_ack(struct spoke *sp)
{
	Onestop__Ack a = ONESTOP__ACK__INIT;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	a.seq = sp->ib.last;
	a.epoch.data = sp->ib.hub_epoch;
	a.epoch.len = INBOX_EPOCH_LEN;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
	f.deliver_ack = &a;
	int rc = uplink_send(sp, &f);
	if (rc < 0)
		os_log(OS_LOG_DEBUG, "deliver_ack_unsent", "seq=%llu code=%s",
		       (unsigned long long)a.seq, os_errname(rc));
}

static int uplink_collect(void *arg, uint64_t seq, const uint8_t *msg, size_t len)
{
	struct uplink *up = arg;
	if (up->n_items > 0 && up->item_bytes + len > PUSH_FRAME_BYTES)
		return 1;
	Onestop__Transfer *t = &up->items[up->n_items];
	onestop__transfer__init(t);
	t->seq = seq;
	/* Borrowed from the read transaction, which outlives the send. */
	t->msg.data = (uint8_t *)msg;
	t->msg.len = len;
	up->ptrs[up->n_items++] = t;
	up->item_bytes += len;
	return up->n_items >= up->max_items;
}

static void uplink_push(struct spoke *sp, uint64_t now)
{
	struct uplink *up = sp->up;
	struct store_txn *t = NULL;
	if (up->state != UPLINK_UP || !up->sock)
		return;
	for (;;) {
		uint64_t inflight = up->push_hi - up->push_base;
		if (inflight >= up->window || up->push_hi + 1 >= sp->ob.next || sp->ob.count == 0)
			break;
		if (!t && store_begin(sp->st, 1, &t) < 0)
			break;
		uint64_t room = up->window - inflight;
		up->n_items = 0;
		up->item_bytes = 0;
		up->max_items = room < PUSH_MAX_ITEMS ? (size_t)room : PUSH_MAX_ITEMS;
		if (outbox_walk(sp, t, up->push_hi + 1, uplink_collect, up) < 0 || up->n_items == 0)
			break;
		uint64_t first = up->items[0].seq;
		if (first > up->push_hi + 1 && inflight == 0)
			up->push_base = up->push_hi = first - 1; /* nothing lies between */
		uint64_t prev = up->push_prev;
		for (size_t i = 0; i < up->n_items; i++) {
			up->items[i].prev_seq = prev;
			prev = up->items[i].seq;
		}
		Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
		Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
		ts.n_items = up->n_items;
		ts.items = up->ptrs;
		f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
		f.push = &ts;
		if (uplink_send(sp, &f) < 0)
			break;
		if (up->push_hi == up->push_base)
			up->progress_us = now; /* a flight starts: time its ack from now */
		up->push_hi = prev;
		up->push_prev = prev;
		sp->stats.pushed += up->n_items;
	}
	up->n_items = 0;
	store_abort(&t);
}

static void uplink_timers(struct spoke *sp, uint64_t now)
{
	struct uplink *up = sp->up;
	uint64_t beat = uplink_beat_us(sp);

	if (up->state == UPLINK_DOWN) {
		if (now < up->reconnect_at_us)
			return;
		if (uplink_open(sp) < 0) {
			up->fails++;
			up->reconnect_at_us = now + uplink_backoff_us(sp);
			return;
		}
		up->last_heard_us = now;
		uplink_hello(sp, now);
		return;
	}
	if (now - up->last_heard_us >= SILENCE_BEATS * beat) {
		if (up->state == UPLINK_UP)
			os_log(OS_LOG_INFO, "hub_lost", "hub=%s reason=\"nothing heard for %u heartbeats\"",
			       sp->conf.hub_name, SILENCE_BEATS);
		else
			os_log(up->fails == 0 ? OS_LOG_INFO : OS_LOG_DEBUG, "hub_unreachable",
			       "hub=%s endpoint=%s attempt=%u",
			       sp->conf.hub_name, sp->conf.hub_endpoint, up->fails + 1);
		uplink_close(sp);
		up->fails++;
		up->reconnect_at_us = now + uplink_backoff_us(sp);
		return;
	}
	if (up->state == UPLINK_HELLO_SENT) {
		/* Several frames may each draw EHELLO: one Hello per beat is enough. */
		if (up->hello_due && (up->hello_sent_us == 0 || now - up->hello_sent_us >= beat))
			uplink_hello(sp, now);
		return;
	}
	if (now >= up->next_hb_us) {
		Onestop__Heartbeat h = ONESTOP__HEARTBEAT__INIT;
		Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
		h.now_ms = os_now_ms();
		f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
		f.heartbeat = &h;
		uplink_send(sp, &f);
		up->next_hb_us = now + beat;
	}
	if (up->push_hi > up->push_base && now - up->progress_us >= RETRANSMIT_BEATS * beat) {
		os_log(OS_LOG_DEBUG, "push_retransmit", "from=%llu in_flight=%llu",
		       (unsigned long long)(up->push_base + 1),
		       (unsigned long long)(up->push_hi - up->push_base));
		uplink_push_rewind(up, now);
		uplink_push(sp, now);
	}
}

void uplink_commit_done(struct spoke *sp, int commit_rc)
{
	struct uplink *up = sp->up;
	uint64_t now = os_mono_us();
	if (commit_rc < 0) {
		/* Nothing of this iteration is durable: acknowledge nothing and
		 * let a fresh session restart both streams from stored state. */
		up->ack_due = 0;
		up->ack_unsent = 0;
		uplink_push_rewind(up, now);
		if (up->state != UPLINK_DOWN) {
			up->state = UPLINK_HELLO_SENT;
			up->hello_due = 1;
			up->hello_sent_us = 0;
		}
	}
	/* What the commit made durable heads for the hub first: it is on the
	 * way to another app, the replies to local apps are not. */
	if (!up->restart_due)
		uplink_push(sp, now);
}

void uplink_after_commit(struct spoke *sp)
{
	struct uplink *up = sp->up;
	uint64_t now = os_mono_us();
	if (up->state != UPLINK_UP || !sp->ib.has_epoch) {
		up->ack_due = 0;
		up->ack_unsent = 0;
	} else if (uplink_ack_ready(sp, now)) {
		uplink_send_deliver_ack(sp);
		up->ack_due = 0;
		up->ack_unsent = 0;
	}
	if (up->restart_due == 2) {
		uplink_close(sp);
		up->fails++;
		up->reconnect_at_us = now + uplink_backoff_us(sp);
	} else if (up->restart_due) {
		if (up->state == UPLINK_UP)
			os_log(OS_LOG_INFO, "hub_lost", "hub=%s reason=\"hub key changed\"",
			       sp->conf.hub_name);
		uplink_close(sp);
		up->fails = 0;
		up->reconnect_at_us = now;
	}
	up->restart_due = 0;
	uplink_push(sp, now);
	uplink_timers(sp, now);
}

uint64_t uplink_deadline_us(const struct spoke *sp)
{
	const struct uplink *up = sp->up;
	uint64_t beat = uplink_beat_us(sp);
	if (up->restart_due || up->ack_due)
		return 0;
	if (up->state == UPLINK_DOWN)
		return up->reconnect_at_us;
	uint64_t d = up->last_heard_us + SILENCE_BEATS * beat;
	if (up->state == UPLINK_HELLO_SENT) {
		if (up->hello_due) {
			uint64_t h = up->hello_sent_us ? up->hello_sent_us + beat : 0;
			if (h < d)
				d = h;
		}
		return d;
	}
	if (up->next_hb_us < d)
		d = up->next_hb_us;
	if (up->ack_unsent > 0 && up->ack_since_us + ACK_DELAY_US < d)
		d = up->ack_since_us + ACK_DELAY_US;
	if (up->push_hi > up->push_base && up->progress_us + RETRANSMIT_BEATS * beat < d)
		d = up->progress_us + RETRANSMIT_BEATS * beat;
	return d;
}

void *uplink_socket(const struct spoke *sp)
{
	return sp->up ? sp->up->sock : NULL;
}

int uplink_is_up(const struct spoke *sp)
{
	return sp->up && sp->up->state == UPLINK_UP;
}

void uplink_request_restart(struct spoke *sp)
{
	if (sp->up)
		sp->up->restart_due = 1;
}

int uplink_new(struct spoke *sp)
{
	struct uplink *up = calloc(1, sizeof *up);
	if (!up)
		return OS_ENOMEM;
	sp->up = up;
	up->state = UPLINK_DOWN;
	up->window = 1;
	up->reconnect_at_us = 0; /* connect at the first timer run */
	uplink_timers(sp, os_mono_us());
	return 0;
}

void uplink_stop(struct spoke *sp)
{
	struct uplink *up = sp->up;
	if (!up || !up->sock || up->state != UPLINK_UP || !sp->ib.has_epoch)
		return;
	if (up->ack_due || up->ack_unsent > 0) {
		/* A delayed ack would otherwise be lost with the socket: the
		 * hub would send those deliveries again (harmless, but a store
		 * recreated before the restart could not tell). */
		uplink_send_deliver_ack(sp);
		up->ack_due = 0;
		up->ack_unsent = 0;
		int linger = 200;
		zmq_setsockopt(up->sock, ZMQ_LINGER, &linger, sizeof linger);
	}
}

void uplink_destroy(struct spoke *sp)
{
	if (!sp->up)
		return;
	uplink_close(sp);
	free(sp->up);
	sp->up = NULL;
}
