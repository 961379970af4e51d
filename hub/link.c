/* Per-spoke sessions over the hub's ROUTER socket. A session starts with
 * Hello (answered by Welcome) and ends after three silent heartbeat
 * intervals. It receives the push stream (the stream_offer rule is applied
 * above, by ops.push; the cumulative ack follows the stream_ack rule) and
 * sends the deliver stream: transfers from the spoke's queue in key order,
 * at most `window` unacknowledged (stream_tx), restarted from the oldest
 * unacknowledged entry when acks stop coming. The other side of every
 * stream is the link client a spoke runs.
 *
 *   state  event                                  action -> next state
 *   none   Hello                                  Welcome, ops.hello -> LIVE
 *   none   any other frame                        LinkError EHELLO -> none
 *   LIVE   Hello (from any connection)            the session moves to that connection,
 *                                                 restart deliver stream, Welcome -> LIVE
 *   LIVE   other frame from another connection    LinkError EHELLO -> LIVE (unchanged)
 *   LIVE   push                                   ops.push; ack after commit -> LIVE
 *   LIVE   deliver_ack, heartbeat                 handle -> LIVE
 *   LIVE   dataset_ack, fetch                     ops; replies after commit -> LIVE
 *   LIVE   no ack progress for 3 heartbeats       resend from the oldest unacked -> LIVE
 *   LIVE   silent for 3 heartbeats                ops.session_end -> ENDED
 *   LIVE   node no longer active                  LinkError EREVOKED -> ENDED
 *   LIVE   a send finds the peer gone             -> ENDED
 *   ENDED  next timer run                         freed (a Hello first revives it) */
#include "link.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "onestop.pb-c.h"
#include "queue.h"
#include "registry.h"
#include "stream.h"
#include "util.h"

#define LINK_RID_MAX 256

/* Times are on the monotonic clock, in us. */
struct session {
	struct session *prev, *next;
	char name[OS_NAME_MAX];
	uint8_t rid[LINK_RID_MAX]; /* ROUTER routing id of the connection that said Hello */
	size_t rid_len;
	uint64_t last_heard_us;
	uint64_t last_hb_us;
	int ended; /* freed at the next timer run */
	/* push stream (received): the ack owed, sent after a commit */
	uint8_t outbox_epoch[QUEUE_EPOCH_LEN];
	uint64_t push_last; /* the last push seq taken: what the ack says */
	struct stream_ack ack;
	/* deliver stream (sent): window, in flight, acked, prev_seq, progress */
	struct stream_tx tx;
	uint64_t scan_after; /* next transfer is the first qseq > this */
	uint64_t sent_max;   /* highest seq sent in this session */
	uint64_t *ring;      /* the tx.inflight qseqs in flight, oldest first
					 * (queue keys may skip: they are kept) */
	uint32_t ring_head;
	int more;          /* the queue may hold entries past scan_after */
	int flush_blocked; /* a deliver frame failed in this flush */
	int ds_blocked;    /* a dataset stream frame failed in this flush */
	int told;          /* the code link_notify_once last told it, or 0 */
};

enum out_kind { OUT_CONTROL, OUT_DELIVER, OUT_DATASET };

/* A frame held until the iteration's commit. */
struct out_frame {
	struct session *s; /* NULL for frames to a peer without session */
	uint8_t rid[LINK_RID_MAX];
	size_t rid_len;
	uint8_t *data;
	size_t len;
	int deliver; /* enum out_kind */
};

struct link {
	struct link_ops ops;
	struct map *by_name; /* name -> struct session */
	struct session *head;
	struct out_frame *out;
	size_t n_out, cap_out;
	unsigned live;
	uint64_t refused_log_us; /* frame_refused lines: at most one a second */
	unsigned refused_quiet;  /* refusals not logged since the last line */
	uint64_t next_tick_us;   /* when the timers run next */
};

/* The deliver frame being filled by link_topup. */
struct topup {
	struct hub *h;
	struct session *s;
	Onestop__Transfer *items;
	Onestop__Transfer **ptrs;
	size_t n;
	size_t bytes;
};

int link_new(const struct link_ops *ops, struct link **out)
{
	struct link *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return OS_ENOMEM;
	l->ops = *ops;
	rc = map_new(&l->by_name);
	if (rc) {
		free(l);
		return rc;
	}
	*out = l;
	return 0;
}

static void link_out_clear(struct link *l)
{
	for (size_t i = 0; i < l->n_out; i++)
		free(l->out[i].data);
	l->n_out = 0;
}

void link_destroy(struct link **lp)
{
	struct link *l = *lp;

	if (!l)
		return;
	link_out_clear(l);
	free(l->out);
	while (l->head) {
		struct session *s = l->head;

		l->head = s->next;
		free(s->ring);
		free(s);
	}
	map_free(&l->by_name);
	free(l);
	*lp = NULL;
}

/* ---------------------------------------------------------------- frames */

static int link_pack(const Onestop__LinkFrame *f, uint8_t **out, size_t *len)
{
	size_t n = onestop__link_frame__get_packed_size(f);
	uint8_t *buf = malloc(n ? n : 1);

	if (!buf)
		return OS_ENOMEM;
	onestop__link_frame__pack(f, buf);
	*out = buf;
	*len = n;
	return 0;
}

/* Send one frame now. 0, OS_ECONN (peer gone), OS_EAGAIN (its pipe is
 * full) or OS_EIO. */
static int link_send_now(struct hub *h, const uint8_t *rid, size_t rid_len, const void *data,
			 size_t len)
{
	if (zmq_send(h->router, rid, rid_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
		goto fail;
	if (zmq_send(h->router, data, len, ZMQ_DONTWAIT) < 0)
		goto fail;
	return 0;
fail:
	if (errno == EHOSTUNREACH)
		return OS_ECONN;
	if (errno == EAGAIN)
		return OS_EAGAIN;
	return OS_EIO;
}

/* Hold a packed frame (consumed) until the commit. */
static void link_hold(struct hub *h, struct session *s, const uint8_t *rid, size_t rid_len,
		      uint8_t *data, size_t len, int deliver)
{
	struct link *l = h->link;
	struct out_frame *f;

	if (l->n_out == l->cap_out) {
		size_t cap = l->cap_out ? l->cap_out * 2 : 64;
		struct out_frame *o = realloc(l->out, cap * sizeof(*o));

		if (!o) {
			/* The peer retries after its timeout, as after a loss. */
			os_log(OS_LOG_ERROR, "link_frame_dropped", "error=ENOMEM");
			free(data);
			return;
		}
		l->out = o;
		l->cap_out = cap;
	}
	f = &l->out[l->n_out++];
	f->s = s;
	memcpy(f->rid, rid, rid_len);
	f->rid_len = rid_len;
	f->data = data;
	f->len = len;
	f->deliver = deliver;
}

static void link_send_error(struct hub *h, const uint8_t *rid, size_t rid_len, int code,
			    const char *message)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__LinkError e = ONESTOP__LINK_ERROR__INIT;
	uint8_t *buf;
	size_t len;

	e.code = code;
	e.message = (char *)message;
	f.body_case = ONESTOP__LINK_FRAME__BODY_ERROR;
	f.error = &e;
	if (link_pack(&f, &buf, &len) != 0)
		return;
	(void)link_send_now(h, rid, rid_len, buf, len);
	free(buf);
}

/* ---------------------------------------------------------------- sessions */

static struct session *link_find(const struct link *l, const char *name)
{
	struct session *s = map_get(l->by_name, name);

	return s && !s->ended ? s : NULL;
}

/* Go back to the oldest unacknowledged entry: the next transfer starts the
 * stream again (prev_seq 0). from_head also resends what was acked, for
 * when the deletion of acked entries may not have been committed. */
static void link_restart_stream(struct session *s, int from_head, uint64_t now_us)
{
	if (from_head)
		s->tx.acked = 0;
	s->scan_after = s->tx.acked;
	stream_tx_rewind(&s->tx, now_us);
	s->ring_head = 0;
	s->more = 1;
}

static void link_end(struct hub *h, struct session *s, const char *reason)
{
	struct link *l = h->link;

	if (s->ended)
		return;
	s->ended = 1;
	l->live--;
	h->stats.sessions = l->live;
	l->ops.session_end(h, s->name);
	os_log(OS_LOG_INFO, "session_end", "node=%s reason=%s", s->name, reason);
}

/* Release the entries in flight up to upto from the ring; returns how many
 * (for stream_tx_ack, which counts them out of the flight). */
static uint32_t link_ring_pop(struct session *s, uint64_t upto)
{
	uint32_t cap = s->tx.window, n = 0;

	while (n < s->tx.inflight && s->ring[(s->ring_head + n) % cap] <= upto)
		n++;
	s->ring_head = n == s->tx.inflight ? 0 : (s->ring_head + n) % cap;
	return n;
}

/* Whether the node's Hello names another registry than this hub's: its
 * generation differs, or (when it says one) the digest of its chain. */
static int link_registry_differs(const struct hub *h, const Onestop__Hello *hello)
{
	os_hash d;

	if (hello->registry_version != h->reg->version)
		return 1;
	if (hello->registry_digest.len != sizeof(d))
		return 0;
	registry_digest(h->reg, d);
	return memcmp(d, hello->registry_digest.data, sizeof(d)) != 0;
}

/* Note qseq in flight; before stream_tx_send counts it. */
static void link_ring_push(struct session *s, uint64_t qseq)
{
	s->ring[(s->ring_head + s->tx.inflight) % s->tx.window] = qseq;
}

static void link_refuse_hello(struct hub *h, const char *node, const uint8_t *rid, size_t rid_len,
			      int code, const char *why)
{
	os_log(OS_LOG_WARN, "hello_refused", "node=%s code=%s reason=%s", node, os_errname(code),
	       OS_Q(why));
	link_send_error(h, rid, rid_len, code, why);
}

static void link_hello(struct hub *h, struct session *s, const char *node, const uint8_t *rid,
		       size_t rid_len, const Onestop__Hello *hello)
{
	struct link *l = h->link;
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Welcome w = ONESTOP__WELCOME__INIT;
	uint8_t stored[QUEUE_EPOCH_LEN];
	char ehex[2 * QUEUE_EPOCH_LEN + 1];
	uint32_t window;
	uint64_t last = 0;
	uint8_t *buf;
	size_t len;
	int rc;

	if (!hello || hello->protocol != HUB_PROTOCOL) {
		link_refuse_hello(h, node, rid, rid_len, OS_EPROTO,
				  "protocol version not supported");
		return;
	}
	if (strcmp(hello->node, node) != 0) {
		link_refuse_hello(h, node, rid, rid_len, OS_EORIGIN,
				  "Hello names another node than the link's key");
		return;
	}
	if (hello->outbox_epoch.len != QUEUE_EPOCH_LEN) {
		link_refuse_hello(h, node, rid, rid_len, OS_EDECODE,
				  "outbox_epoch must be 16 bytes");
		return;
	}
	rc = queue_origin_get(h->queue, node, stored, &last);
	if (rc == OS_ENOTFOUND ||
	    (rc == 0 && memcmp(stored, hello->outbox_epoch.data, QUEUE_EPOCH_LEN) != 0)) {
		/* A new outbox store (or a first visit): a new push stream. */
		last = 0;
		rc = queue_origin_put(h->queue, node, hello->outbox_epoch.data, 0);
	}
	if (rc) {
		hub_fail(h, rc);
		return;
	}

	window = hello->window ? hello->window : (uint32_t)h->conf.window;
	if (window > LINK_WINDOW_MAX)
		window = LINK_WINDOW_MAX;
	if (!s) {
		s = map_get(l->by_name, node); /* an ended one not yet freed */
		if (!s) {
			s = calloc(1, sizeof(*s));
			if (!s || map_put(l->by_name, node, s) != 0) {
				free(s);
				hub_fail(h, OS_ENOMEM);
				return;
			}
			snprintf(s->name, sizeof(s->name), "%s", node);
			s->next = l->head;
			if (l->head)
				l->head->prev = s;
			l->head = s;
			s->ended = 1;
		}
		if (s->ended) {
			s->ended = 0;
			l->live++;
			h->stats.sessions = l->live;
		}
	}
	if (window != s->tx.window || !s->ring) {
		uint64_t *ring = realloc(s->ring, window * sizeof(*ring));

		if (!ring) {
			link_end(h, s, "nomem");
			hub_fail(h, OS_ENOMEM);
			return;
		}
		s->ring = ring;
		s->tx.window = window;
	}
	memcpy(s->rid, rid, rid_len);
	s->rid_len = rid_len;
	memcpy(s->outbox_epoch, hello->outbox_epoch.data, QUEUE_EPOCH_LEN);
	s->last_heard_us = h->now_us;
	s->last_hb_us = h->now_us;
	stream_ack_clear(&s->ack);
	s->push_last = last;
	s->sent_max = 0;
	link_restart_stream(s, 1, h->now_us);

	w.protocol = HUB_PROTOCOL;
	w.hub_epoch.data = (uint8_t *)queue_epoch(h->queue);
	w.hub_epoch.len = QUEUE_EPOCH_LEN;
	w.accepted_seq = last;
	w.window = (uint32_t)h->conf.window;
	w.heartbeat_ms = (uint32_t)h->conf.heartbeat_ms;
	w.node = h->conf.name;
	w.max_message_bytes = (uint64_t)h->conf.max_message_bytes;
	if (h->reg->signed_bytes && link_registry_differs(h, hello)) {
		w.registry.data = h->reg->signed_bytes;
		w.registry.len = h->reg->signed_len;
	}
	f.body_case = ONESTOP__LINK_FRAME__BODY_WELCOME;
	f.welcome = &w;
	if (link_pack(&f, &buf, &len) == 0)
		link_hold(h, s, s->rid, s->rid_len, buf, len, 0);
	l->ops.hello(h, s->name, hello);
	os_hex(ehex, s->outbox_epoch, QUEUE_EPOCH_LEN);
	os_log(OS_LOG_INFO, "session_start",
	       "node=%s epoch=%s accepted_seq=%llu window=%u registry_version=%llu", s->name, ehex,
	       (unsigned long long)last, s->tx.window, (unsigned long long)hello->registry_version);
}

static void link_push(struct hub *h, struct session *s, const Onestop__Transfers *t)
{
	int rc;

	if (!t)
		return;
	if (h->reg_expired) {
		/* Fail closed: no new traffic under an expired registry. */
		link_send_error(h, s->rid, s->rid_len, OS_EEXPIRED,
				"the hub's registry has expired; pushes are refused");
		os_log(OS_LOG_WARN, "push_refused", "node=%s code=EEXPIRED reason=registry_expired",
		       s->name);
		return;
	}
	if (h->now_us < h->backoff_until_us) {
		/* Let acks free space first; the spoke retransmits. */
		os_log(OS_LOG_DEBUG, "push_deferred", "node=%s reason=store_failed", s->name);
		return;
	}
	rc = h->link->ops.push(h, s->name, s->outbox_epoch, t, &s->ack, &s->push_last);
	if (rc)
		hub_fail(h, rc);
}

static void link_deliver_ack(struct hub *h, struct session *s, const Onestop__Ack *a)
{
	uint32_t released;
	int rc;

	if (!a)
		return;
	if (a->epoch.len != QUEUE_EPOCH_LEN ||
	    memcmp(a->epoch.data, queue_epoch(h->queue), QUEUE_EPOCH_LEN) != 0) {
		os_log(OS_LOG_DEBUG, "deliver_ack_ignored", "node=%s reason=epoch", s->name);
		return;
	}
	if (a->seq <= s->tx.acked)
		return;
	/* The spoke has committed them: the entries are dealt with. Their
	 * deletion rides on the next commit that happens anyway (see
	 * queue_ack_later), so that acks cost no fsync of their own. */
	rc = queue_ack_later(h->queue, s->name, a->seq, h->now_us);
	if (rc) {
		hub_fail(h, rc);
		return;
	}
	released = link_ring_pop(s, a->seq);
	stream_tx_ack(&s->tx, a->seq, released, h->now_us);
	if (s->scan_after < a->seq)
		s->scan_after = a->seq;
}

/* Handle one frame from rid whose authenticated node is `node`. */
static void link_frame(struct hub *h, const char *node, const uint8_t *rid, size_t rid_len,
		       const uint8_t *data, size_t len)
{
	struct link *l = h->link;
	struct session *s;
	Onestop__LinkFrame *f;

	if (!registry_active_node(h->reg, node)) {
		s = link_find(l, node);
		if (s)
			link_end(h, s, "revoked");
		/* A peer that keeps sending must not flood the log. */
		if (h->now_us >= l->refused_log_us + 1000000) {
			os_log(OS_LOG_WARN, "frame_refused", "node=%s code=EREVOKED suppressed=%u",
			       node, l->refused_quiet);
			l->refused_log_us = h->now_us;
			l->refused_quiet = 0;
		} else {
			l->refused_quiet++;
		}
		link_send_error(h, rid, rid_len, OS_EREVOKED, "node is not active in the registry");
		return;
	}
	f = onestop__link_frame__unpack(NULL, len, data);
	if (!f) {
		os_log(OS_LOG_WARN, "frame_bad", "node=%s bytes=%zu code=EDECODE", node, len);
		link_send_error(h, rid, rid_len, OS_EDECODE, "undecodable link frame");
		return;
	}
	s = link_find(l, node);
	if (f->body_case == ONESTOP__LINK_FRAME__BODY_HELLO) {
		link_hello(h, s, node, rid, rid_len, f->hello);
		goto out;
	}
	/* A session belongs to the connection that said Hello: another
	 * connection with the same key (a second client, or the spoke's
	 * socket reconnected under a new routing id) must say Hello itself,
	 * and until then neither uses nor refreshes the session. */
	if (s && (s->rid_len != rid_len || memcmp(s->rid, rid, rid_len) != 0))
		s = NULL;
	if (!s) {
		link_send_error(h, rid, rid_len, OS_EHELLO, "no session: send Hello");
		goto out;
	}
	s->last_heard_us = h->now_us;
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_PUSH:
		link_push(h, s, f->push);
		break;
	case ONESTOP__LINK_FRAME__BODY_DELIVER_ACK:
		link_deliver_ack(h, s, f->deliver_ack);
		break;
	case ONESTOP__LINK_FRAME__BODY_DATASET_ACK:
		l->ops.ds_ack(h, s->name, f->dataset_ack);
		break;
	case ONESTOP__LINK_FRAME__BODY_FETCH:
		l->ops.fetch(h, s->name, f->fetch);
		break;
	case ONESTOP__LINK_FRAME__BODY_REGISTRY:
		if (l->ops.registry)
			l->ops.registry(h, s->name, f->registry.data, f->registry.len);
		break;
	case ONESTOP__LINK_FRAME__BODY_HEARTBEAT:
		break;
	case ONESTOP__LINK_FRAME__BODY_ERROR:
		os_log(OS_LOG_WARN, "link_error_received", "node=%s code=%s message=%s", node,
		       os_errname(f->error ? f->error->code : 0),
		       OS_Q(f->error ? f->error->message : ""));
		break;
	default:
		os_log(OS_LOG_WARN, "frame_unexpected", "node=%s body=%d", node, (int)f->body_case);
		link_send_error(h, rid, rid_len, OS_EPROTO, "unexpected frame from a spoke");
		break;
	}
out:
	onestop__link_frame__free_unpacked(f, NULL);
}

/* Receive and handle up to max frames from the ROUTER inside the
 * iteration's transaction; returns how many. Stops when the iteration is
 * spoiled. */
static unsigned link_drain(struct hub *h, unsigned max)
{
	unsigned n = 0;

	while (n < max && !h->failed) {
		zmq_msg_t rid, data;
		const char *user;
		int extra = 0;

		zmq_msg_init(&rid);
		if (zmq_msg_recv(&rid, h->router, ZMQ_DONTWAIT) < 0) {
			if (errno != EAGAIN && errno != EINTR)
				os_log(OS_LOG_ERROR, "link_recv_failed", "error=%s",
				       OS_Q(zmq_strerror(errno)));
			zmq_msg_close(&rid);
			break;
		}
		if (!zmq_msg_more(&rid)) {
			zmq_msg_close(&rid);
			continue;
		}
		zmq_msg_init(&data);
		if (zmq_msg_recv(&data, h->router, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&data);
			zmq_msg_close(&rid);
			break;
		}
		/* A spoke's DEALER sends one frame per message; a message with
		 * more parts is read to its end and dropped. */
		for (int more = zmq_msg_more(&data); more; extra = 1) {
			zmq_msg_t part;

			zmq_msg_init(&part);
			more = zmq_msg_recv(&part, h->router, ZMQ_DONTWAIT) >= 0 &&
			       zmq_msg_more(&part);
			zmq_msg_close(&part);
		}
		n++;
		h->stats.frames_in++;
		user = zmq_msg_gets(&data, "User-Id");
		if (!user || !*user || zmq_msg_size(&rid) > LINK_RID_MAX) {
			os_log(OS_LOG_WARN, "frame_unauthenticated", "bytes=%zu",
			       zmq_msg_size(&data));
		} else if (extra) {
			os_log(OS_LOG_WARN, "frame_multipart", "node=%s", user);
		} else {
			link_frame(h, user, zmq_msg_data(&rid), zmq_msg_size(&rid),
				   zmq_msg_data(&data), zmq_msg_size(&data));
		}
		zmq_msg_close(&data);
		zmq_msg_close(&rid);
	}
	return n;
}

/* ---------------------------------------------------------------- deliver */

static void topup_free_items(struct topup *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->items[i].msg.data);
	t->n = 0;
	t->bytes = 0;
}

/* Pack the gathered transfers into one deliver frame, held for the commit. */
static void topup_emit(struct topup *t)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Transfers tr = ONESTOP__TRANSFERS__INIT;
	uint8_t *buf;
	size_t len;

	if (t->n == 0)
		return;
	for (size_t i = 0; i < t->n; i++)
		t->ptrs[i] = &t->items[i];
	tr.n_items = t->n;
	tr.items = t->ptrs;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER;
	f.deliver = &tr;
	if (link_pack(&f, &buf, &len) == 0)
		link_hold(t->h, t->s, t->s->rid, t->s->rid_len, buf, len, OUT_DELIVER);
	else
		hub_fail(t->h, OS_ENOMEM); /* the stream restarts after the abort */
	topup_free_items(t);
}

static enum queue_visit topup_one(void *arg, uint64_t qseq, uint64_t expires_ms, const uint8_t *msg,
				  size_t len)
{
	struct topup *t = arg;
	struct hub *h = t->h;
	struct session *s = t->s;
	Onestop__Transfer *it;
	Onestop__Transfer init = ONESTOP__TRANSFER__INIT;

	if (stream_tx_room(&s->tx) == 0 || h->failed)
		return QUEUE_STOP;
	if (expires_ms <= h->now_ms) {
		h->link->ops.expired(h, s->name, msg, len);
		return QUEUE_DROP;
	}
	it = &t->items[t->n];
	*it = init;
	it->msg.data = malloc(len ? len : 1);
	if (!it->msg.data) {
		hub_fail(h, OS_ENOMEM);
		return QUEUE_STOP;
	}
	memcpy(it->msg.data, msg, len);
	it->msg.len = len;
	it->seq = qseq;
	link_ring_push(s, qseq);
	it->prev_seq = stream_tx_send(&s->tx, qseq, h->now_us);
	t->n++;
	t->bytes += len;
	s->scan_after = qseq;
	if (qseq > s->sent_max)
		s->sent_max = qseq;
	if (t->n >= LINK_FRAME_ITEMS || t->bytes >= LINK_FRAME_BYTES)
		topup_emit(t);
	return QUEUE_TAKE;
}

/* Fill every session's deliver window from its queue (removing expired
 * entries met on the way). A store error spoils the iteration. */
static void link_topup(struct hub *h)
{
	struct topup t = {.h = h};
	Onestop__Transfer items[LINK_FRAME_ITEMS];
	Onestop__Transfer *ptrs[LINK_FRAME_ITEMS];

	t.items = items;
	t.ptrs = ptrs;
	for (struct session *s = h->link->head; s && !h->failed; s = s->next) {
		int at_end = 0, rc;

		if (s->ended || !s->more || stream_tx_room(&s->tx) == 0)
			continue;
		t.s = s;
		rc = queue_scan(h->queue, s->name, s->scan_after, topup_one, &t, &at_end);
		if (rc)
			hub_fail(h, rc);
		if (at_end)
			s->more = 0;
		topup_emit(&t);
	}
	topup_free_items(&t);
}

/* ---------------------------------------------------------------- commit */

/* Turn the push acks due in this iteration into frames: acks are
 * cumulative, so a light trickle of pushes is acked once per
 * HUB_ACK_DELAY_MS rather than once per push (each ack wakes the spoke); a
 * quarter of the window unacknowledged or a resending spoke gets it at
 * once (stream_ack_ready). */
static void link_prepare_acks(struct hub *h)
{
	uint64_t delay = (uint64_t)HUB_ACK_DELAY_MS * 1000;

	for (struct session *s = h->link->head; s; s = s->next) {
		Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
		Onestop__Ack a = ONESTOP__ACK__INIT;
		uint8_t *buf;
		size_t len;

		if (s->ended ||
		    !stream_ack_ready(&s->ack, (uint32_t)h->conf.window, delay, h->now_us))
			continue;
		stream_ack_clear(&s->ack);
		a.seq = s->push_last;
		a.epoch.data = s->outbox_epoch;
		a.epoch.len = QUEUE_EPOCH_LEN;
		f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH_ACK;
		f.push_ack = &a;
		if (link_pack(&f, &buf, &len) == 0)
			link_hold(h, s, s->rid, s->rid_len, buf, len, 0);
	}
}

/* The transaction committed: send every held frame. */
static void link_commit_done(struct hub *h)
{
	struct link *l = h->link;

	for (size_t i = 0; i < l->n_out; i++) {
		struct out_frame *f = &l->out[i];
		int rc;

		if (f->s && (f->s->ended || (f->deliver == OUT_DELIVER && f->s->flush_blocked) ||
			     (f->deliver == OUT_DATASET && f->s->ds_blocked)))
			continue;
		rc = link_send_now(h, f->rid, f->rid_len, f->data, f->len);
		if (rc == 0 || !f->s)
			continue;
		if (rc == OS_EAGAIN && f->deliver == OUT_DELIVER) {
			/* Its pipe is full: send again from the oldest unacked
			 * entry later rather than leave a hole in the stream. */
			f->s->flush_blocked = 1;
			link_restart_stream(f->s, 0, h->now_us);
		} else if (rc == OS_EAGAIN && f->deliver == OUT_DATASET) {
			f->s->ds_blocked = 1;
			l->ops.blocked(h, f->s->name);
		} else if (rc == OS_ECONN) {
			link_end(h, f->s, "unreachable");
		}
	}
	link_out_clear(l);
	for (struct session *s = l->head; s; s = s->next)
		s->flush_blocked = s->ds_blocked = 0;
}

/* The transaction failed: drop held frames and restart every deliver
 * stream from its queue head, so nothing uncommitted is relied on. */
static void link_commit_failed(struct hub *h)
{
	link_out_clear(h->link);
	for (struct session *s = h->link->head; s; s = s->next) {
		stream_ack_clear(&s->ack);
		link_restart_stream(s, 1, h->now_us);
	}
}

/* ---------------------------------------------------------------- timers */

static void link_free(struct link *l, struct session *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		l->head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	if (map_get(l->by_name, s->name) == s)
		map_del(l->by_name, s->name);
	free(s->ring);
	free(s);
}

/* Heartbeats, silent session expiry, retransmit timeouts. */
static void link_timers(struct hub *h, uint64_t now_us)
{
	struct link *l = h->link;
	uint64_t hb = (uint64_t)h->conf.heartbeat_ms * 1000;
	struct session *s, *next;

	for (s = l->head; s; s = next) {
		next = s->next;
		if (!s->ended && now_us > s->last_heard_us + 3 * hb)
			link_end(h, s, "silent");
		if (s->ended) {
			link_free(l, s);
			continue;
		}
		if (stream_tx_stalled(&s->tx, 3 * hb, now_us)) {
			os_log(OS_LOG_DEBUG, "deliver_retransmit", "node=%s inflight=%u acked=%llu",
			       s->name, s->tx.inflight, (unsigned long long)s->tx.acked);
			link_restart_stream(s, 0, now_us);
		}
		if (now_us >= s->last_hb_us + hb) {
			Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
			Onestop__Heartbeat b = ONESTOP__HEARTBEAT__INIT;
			uint8_t *buf;
			size_t len;

			b.now_ms = h->now_ms;
			f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
			f.heartbeat = &b;
			s->last_hb_us = now_us;
			if (link_pack(&f, &buf, &len) == 0) {
				if (link_send_now(h, s->rid, s->rid_len, buf, len) == OS_ECONN)
					link_end(h, s, "unreachable");
				free(buf);
			}
		}
	}
}

/* 1 when some session has room in its window and may have queued entries. */
static int link_work_pending(const struct hub *h)
{
	for (const struct session *s = h->link->head; s; s = s->next)
		if (!s->ended && s->more && stream_tx_room(&s->tx) > 0)
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- loop */

static void *link_hook_socket(void *ctx)
{
	return ((struct hub *)ctx)->router;
}

static unsigned link_hook_drain(void *ctx)
{
	return link_drain(ctx, HUB_DRAIN_MAX);
}

static void link_hook_work(void *ctx)
{
	struct hub *h = ctx;

	if (!h->failed)
		link_topup(h);
}

static void link_hook_before_commit(void *ctx)
{
	link_prepare_acks(ctx);
}

static void link_hook_after_commit(void *ctx, int rc)
{
	if (rc == 0)
		link_commit_done(ctx);
	else
		link_commit_failed(ctx);
}

static void link_hook_timers(void *ctx, uint64_t now_us)
{
	struct hub *h = ctx;
	struct link *l = h->link;

	if (now_us < l->next_tick_us)
		return;
	l->next_tick_us = now_us + hub_tick_us(h);
	link_timers(h, now_us);
}

/* The next timer run; window work makes it now, and owed push acks their
 * delay (neither before a backoff ends). */
static uint64_t link_hook_deadline(void *ctx)
{
	const struct hub *h = ctx;
	uint64_t delay = (uint64_t)HUB_ACK_DELAY_MS * 1000, d = h->link->next_tick_us, ack;

	if (link_work_pending(h))
		return hub_not_before(h, 0) < d ? hub_not_before(h, 0) : d;
	for (const struct session *s = h->link->head; s; s = s->next) {
		if (s->ended)
			continue;
		ack = stream_ack_deadline(&s->ack, delay);
		if (ack != UINT64_MAX && hub_not_before(h, ack) < d)
			d = hub_not_before(h, ack);
	}
	return d;
}

int link_attach(struct hub *h, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "link",
		.socket = link_hook_socket,
		.drain = link_hook_drain,
		.work = link_hook_work,
		.before_commit = link_hook_before_commit,
		.after_commit = link_hook_after_commit,
		.timers = link_hook_timers,
		.deadline_us = link_hook_deadline,
		.ctx = h,
	};

	return loop_add(l, &hooks);
}

/* ---------------------------------------------------------------- for the protocols */

void link_wake(struct hub *h, const char *dest)
{
	struct session *s = link_find(h->link, dest);

	if (s)
		s->more = 1;
}

void link_notify(struct hub *h, const char *node, int code, const char *message)
{
	struct session *s = link_find(h->link, node);

	if (s)
		link_send_error(h, s->rid, s->rid_len, code, message);
}

int link_told(const struct hub *h, const char *node, int code)
{
	const struct session *s = link_find(h->link, node);

	return s && s->told == code;
}

void link_notify_once(struct hub *h, const char *node, int code, const char *message)
{
	struct session *s = link_find(h->link, node);

	if (s) {
		link_send_error(h, s->rid, s->rid_len, code, message);
		s->told = code;
	}
}

void link_told_clear(struct hub *h, const char *node)
{
	struct session *s = link_find(h->link, node);

	if (s)
		s->told = 0;
}

int link_inflight(const struct hub *h, const char *dest, uint64_t qseq)
{
	const struct session *s = link_find(h->link, dest);

	return s && qseq <= s->sent_max;
}

void link_registry_changed(struct hub *h, int changed)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (changed && h->reg->signed_bytes) {
		f.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
		f.registry.data = h->reg->signed_bytes;
		f.registry.len = h->reg->signed_len;
		if (link_pack(&f, &buf, &len) != 0)
			buf = NULL;
	}
	for (struct session *s = h->link->head; s; s = s->next) {
		if (s->ended)
			continue;
		if (!registry_active_node(h->reg, s->name)) {
			link_send_error(h, s->rid, s->rid_len, OS_EREVOKED,
					"node is not active in the registry");
			link_end(h, s, "revoked");
			continue;
		}
		if (buf && link_send_now(h, s->rid, s->rid_len, buf, len) == OS_ECONN)
			link_end(h, s, "unreachable");
	}
	free(buf);
}

void link_hold_dataset(struct hub *h, const char *node, uint8_t *data, size_t len, int stream)
{
	struct session *s = link_find(h->link, node);

	if (!s) {
		free(data);
		return;
	}
	link_hold(h, s, s->rid, s->rid_len, data, len, stream ? OUT_DATASET : OUT_CONTROL);
}

int link_live(const struct hub *h, const char *node)
{
	const struct session *s = link_find(h->link, node);

	return s && !s->ended;
}

unsigned link_sessions(const struct hub *h)
{
	return h->link->live;
}
