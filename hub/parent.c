/* The hub's link to its parent hub (parent.h): the ops of the common link
 * client filled from the hub. The push source is this hub's queue for the
 * parent (what routing hands up), deliveries go to routing, the deliver
 * position is kept in the "parent" database with the parent's epoch, and
 * this hub's delegated registries go up at every Welcome and change. */
#include "parent.h"

#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "log.h"
#include "loop.h"
#include "queue.h"
#include "registry.h"
#include "store.h"
#include "uplink.h"
#include "util.h"

#define PARENT_RECONNECT_MIN_MS 100u
#define PARENT_RECONNECT_MAX_MS 5000u
#define PARENT_FRAME_MAX ((int64_t)256 << 20)
#define PARENT_POS_KEY "deliver" /* peer epoch (16) || u64be last seq */

struct parent {
	struct hub *h;
	struct parent_ops ops;
	os_hash reg_digest; /* of the chain said in the last Hello */
	struct uplink *up;
	struct loop_hooks uh;            /* the link client's own hooks */
	store_dbi db;                    /* "parent" */
	uint8_t epoch[UPLINK_EPOCH_LEN]; /* names this hub's push stream */
	os_box_pk peer_key;              /* the key the link connected with */
	/* The deliver stream's position, as committed (or in the iteration's
	 * transaction): the parent's epoch and the last seq taken. */
	int has_pos;
	uint8_t peer_epoch[UPLINK_EPOCH_LEN];
	uint64_t last;
	/* The registry parts last sent up, and whether they are owed. */
	uint8_t *parts;
	size_t parts_len;
	int parts_due;
	int parts_welcome; /* a Welcome came: send them whether changed or not */
	int walk_stop;     /* push walk: the link took what it could */
};

static int parent_peer_key(void *ctx, os_box_pk out)
{
	struct parent *p = ctx;
	const struct reg_node *n = registry_active_node(p->h->reg, p->h->conf.parent_name);

	if (!n) {
		os_log(OS_LOG_ERROR, "parent_unknown", "parent=%s reason=%s",
		       p->h->conf.parent_name, OS_Q("not an active node of the registry"));
		return OS_EUNKNOWN;
	}
	memcpy(p->peer_key, n->box_pk, sizeof(os_box_pk));
	memcpy(out, n->box_pk, sizeof(os_box_pk));
	return 0;
}

static void parent_hello(void *ctx, Onestop__Hello *hello)
{
	struct parent *p = ctx;

	hello->registry_version = p->h->reg->version;
	registry_digest(p->h->reg, p->reg_digest);
	hello->registry_digest.data = p->reg_digest;
	hello->registry_digest.len = sizeof(p->reg_digest);
	hello->outbox_epoch.data = p->epoch;
	hello->outbox_epoch.len = UPLINK_EPOCH_LEN;
	if (p->ops.hello)
		p->ops.hello(p->h, hello);
}

static void parent_hello_done(void *ctx, Onestop__Hello *hello)
{
	struct parent *p = ctx;

	if (p->ops.hello_done)
		p->ops.hello_done(p->h, hello);
}

/* Read the deliver position from t into p (none stored: no position). */
static int parent_pos_read(struct parent *p, struct store_txn *t)
{
	const void *v;
	size_t vl;
	int rc = store_get(t, p->db, PARENT_POS_KEY, strlen(PARENT_POS_KEY), &v, &vl);

	p->has_pos = 0;
	p->last = 0;
	if (rc == OS_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (vl == UPLINK_EPOCH_LEN + 8) {
		memcpy(p->peer_epoch, v, UPLINK_EPOCH_LEN);
		p->last = os_get_u64be((const uint8_t *)v + UPLINK_EPOCH_LEN);
		p->has_pos = 1;
	}
	return 0;
}

/* Write p's deliver position in the iteration's transaction. */
static int parent_pos_write(struct parent *p)
{
	uint8_t v[UPLINK_EPOCH_LEN + 8];
	struct store_txn *t;
	int rc = hub_txn(p->h, &t);

	if (rc)
		return rc;
	memcpy(v, p->peer_epoch, UPLINK_EPOCH_LEN);
	os_put_u64be(v + UPLINK_EPOCH_LEN, p->last);
	return hub_wrote(p->h,
			 store_put(t, p->db, PARENT_POS_KEY, strlen(PARENT_POS_KEY), v, sizeof(v)));
}

static int parent_welcome(void *ctx, struct uplink_welcome *w, uint64_t now_us)
{
	struct parent *p = ctx;
	struct hub *h = p->h;
	struct store_txn *t;
	int rc = hub_txn(h, &t);

	/* Read again: after a failed commit the position in memory may be
	 * ahead of the store. */
	if (rc == 0)
		rc = parent_pos_read(p, t);
	if (rc)
		return rc;
	w->new_epoch = !p->has_pos || memcmp(p->peer_epoch, w->peer_epoch, UPLINK_EPOCH_LEN) != 0;
	if (w->new_epoch) {
		/* Another parent store: its deliver stream starts afresh. */
		memcpy(p->peer_epoch, w->peer_epoch, UPLINK_EPOCH_LEN);
		p->last = 0;
		p->has_pos = 1;
		if ((rc = parent_pos_write(p)) != 0)
			return rc;
	}
	if (w->accepted_seq > 0)
		queue_ack_later(h->queue, h->conf.parent_name, w->accepted_seq, now_us);
	w->backlog = queue_count(h->queue, h->conf.parent_name);
	if (p->ops.welcome && (rc = p->ops.welcome(h, w->peer_epoch)) < 0)
		return rc;
	if (w->registry && p->ops.registry &&
	    (rc = p->ops.registry(h, w->registry, w->registry_len)) < 0)
		return rc;
	p->parts_welcome = 1; /* sent once the session is up */
	return 0;
}

static void parent_push_acked(void *ctx, uint64_t upto, uint64_t now_us)
{
	struct parent *p = ctx;

	/* Deleted with a commit that happens anyway (queue_settle). */
	if (queue_ack_later(p->h->queue, p->h->conf.parent_name, upto, now_us) != 0)
		os_log(OS_LOG_WARN, "parent_ack_lost", "upto=%llu code=ENOMEM",
		       (unsigned long long)upto);
}

struct parent_walk {
	struct parent *p;
	uplink_entry_fn fn;
	void *arg;
};

static enum queue_visit parent_walk_one(void *arg, uint64_t qseq, uint64_t expires_ms,
					const uint8_t *msg, size_t len)
{
	struct parent_walk *w = arg;

	(void)expires_ms; /* an expired one is refused and dead-lettered above */
	if (w->p->walk_stop)
		return QUEUE_STOP;
	if (w->fn(w->arg, qseq, msg, len) != 0)
		w->p->walk_stop = 1;
	/* Handed to the link: what is queued later must come after it. */
	return QUEUE_TAKE;
}

/* The push source: the queue for the parent, in qseq order. */
static int parent_push_walk(void *ctx, uint64_t from, uplink_entry_fn fn, void *arg)
{
	struct parent *p = ctx;
	struct parent_walk w = {.p = p, .fn = fn, .arg = arg};
	int at_end = 0, rc;

	struct hub *h = p->h;
	int outside = !h->txn && !h->iterating;

	p->walk_stop = 0;
	rc = queue_scan(h->queue, h->conf.parent_name, from > 0 ? from - 1 : 0, parent_walk_one, &w,
			&at_end);
	if (rc == 0)
		fn(arg, 0, NULL, 0); /* the end, while what was handed out is valid */
	/* The link pushes after a commit, outside an iteration: a walk that
	 * wrote nothing leaves no write transaction open until the next one
	 * (the store stays free for other writers, e.g. --status). */
	if (outside && h->txn && !h->dirty && !h->failed)
		hub_commit(h);
	return rc;
}

static int parent_deliver_pos(void *ctx, uint64_t *last, const uint8_t **epoch)
{
	struct parent *p = ctx;

	if (!p->has_pos)
		return OS_ENOTFOUND;
	*last = p->last;
	*epoch = p->peer_epoch;
	return 0;
}

/* One delivery: routed, then the position moves in the same transaction
 * (the stream rule: acknowledged after the commit, never taken twice). */
static int parent_deliver(void *ctx, uint64_t seq, const uint8_t *msg, size_t len)
{
	struct parent *p = ctx;
	int rc = p->ops.deliver(p->h, msg, len);

	if (rc < 0 || rc == UPLINK_HELD)
		return rc;
	p->last = seq;
	p->has_pos = 1;
	return parent_pos_write(p);
}

static int parent_frame(void *ctx, const Onestop__LinkFrame *f)
{
	struct parent *p = ctx;

	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_REGISTRY:
		return p->ops.registry ? p->ops.registry(p->h, f->registry.data, f->registry.len)
				       : 0;
	case ONESTOP__LINK_FRAME__BODY_CHANGES:
	case ONESTOP__LINK_FRAME__BODY_SNAPSHOT:
	case ONESTOP__LINK_FRAME__BODY_FETCHED:
		return p->ops.dataset ? p->ops.dataset(p->h, f) : 0;
	default:
		os_log(OS_LOG_DEBUG, "parent_frame_ignored", "body=%d", (int)f->body_case);
		return 0;
	}
}

static const struct uplink_ops parent_uplink_ops = {
	.peer_key = parent_peer_key,
	.hello = parent_hello,
	.hello_done = parent_hello_done,
	.welcome = parent_welcome,
	.push_acked = parent_push_acked,
	.push_walk = parent_push_walk,
	.deliver_pos = parent_deliver_pos,
	.deliver = parent_deliver,
	.frame = parent_frame,
};

/* The epoch of this hub's push stream to its parent (made once) and the
 * deliver position. */
static int parent_load(struct parent *p)
{
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int rc = store_dbi_open(p->h->st, "parent", &p->db);

	if (rc == 0)
		rc = store_begin(p->h->st, 0, &t);
	if (rc)
		return rc;
	rc = parent_pos_read(p, t);
	if (rc)
		goto fail;
	rc = store_get(t, p->db, "epoch", 5, &v, &vl);
	if (rc == 0 && vl == UPLINK_EPOCH_LEN) {
		memcpy(p->epoch, v, UPLINK_EPOCH_LEN);
		store_abort(&t);
		return 0;
	}
	if (rc != 0 && rc != OS_ENOTFOUND)
		goto fail;
	crypto_random(p->epoch, UPLINK_EPOCH_LEN);
	rc = store_put(t, p->db, "epoch", 5, p->epoch, UPLINK_EPOCH_LEN);
	if (rc == 0)
		return store_commit(&t);
fail:
	store_abort(&t);
	return rc;
}

/* This hub's delegated registries, packed for the parent; mark them owed
 * when they differ from what was sent last (or always with force). */
static void parent_parts_check(struct parent *p, int force)
{
	const char *prefix = registry_hub_prefix(p->h->reg, p->h->conf.name);
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = OS_ENOTFOUND;

	if (prefix && *prefix)
		rc = registry_pack_parts(p->h->reg, prefix, &buf, &len);
	if (rc == OS_ENOTFOUND) {
		/* None to send. */
		free(p->parts);
		p->parts = NULL;
		p->parts_len = 0;
		p->parts_due = 0;
		return;
	}
	if (rc)
		return; /* no memory: again at the next change or Welcome */
	if (!force && p->parts && p->parts_len == len && memcmp(p->parts, buf, len) == 0) {
		free(buf);
		return;
	}
	free(p->parts);
	p->parts = buf;
	p->parts_len = len;
	p->parts_due = 1;
}

/* Send the owed registry parts while the session is up. */
static void parent_parts_send(struct parent *p)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	int rc;

	if (uplink_state(p->up) != UPLINK_UP)
		return;
	if (p->parts_welcome) {
		p->parts_welcome = 0;
		parent_parts_check(p, 1);
	}
	if (!p->parts_due || !p->parts)
		return;
	f.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
	f.registry.data = p->parts;
	f.registry.len = p->parts_len;
	rc = uplink_send_frame(p->up, &f);
	if (rc == OS_EAGAIN)
		return; /* again at the next timers run */
	p->parts_due = 0;
	if (rc == 0)
		os_log(OS_LOG_INFO, "registry_parts_sent", "parent=%s bytes=%zu",
		       p->h->conf.parent_name, p->parts_len);
}

/* The link client's hooks, wrapped: the gauge of the link's state and
 * the registry parts follow its timers. */
static void *parent_hook_socket(void *ctx)
{
	struct parent *p = ctx;

	return p->uh.socket ? p->uh.socket(p->uh.ctx) : NULL;
}

static unsigned parent_hook_drain(void *ctx)
{
	struct parent *p = ctx;

	return p->uh.drain ? p->uh.drain(p->uh.ctx) : 0;
}

static void parent_hook_work(void *ctx)
{
	struct parent *p = ctx;

	if (p->uh.work)
		p->uh.work(p->uh.ctx);
}

static void parent_hook_before_commit(void *ctx)
{
	struct parent *p = ctx;

	if (p->uh.before_commit)
		p->uh.before_commit(p->uh.ctx);
}

static void parent_hook_after_commit(void *ctx, int rc)
{
	struct parent *p = ctx;

	/* The parts go before the pushes of a new session: the parent checks
	 * the origins of what this hub relays against them. */
	parent_parts_send(p);
	if (p->uh.after_commit)
		p->uh.after_commit(p->uh.ctx, rc);
}

static void parent_hook_timers(void *ctx, uint64_t now_us)
{
	struct parent *p = ctx;

	parent_parts_send(p);
	if (p->uh.timers)
		p->uh.timers(p->uh.ctx, now_us);
	p->h->stats.parent_link = 1 + (unsigned)uplink_state(p->up);
}

static uint64_t parent_hook_deadline(void *ctx)
{
	struct parent *p = ctx;
	uint64_t d = p->uh.deadline_us ? p->uh.deadline_us(p->uh.ctx) : UINT64_MAX;

	if ((p->parts_due || p->parts_welcome) && uplink_state(p->up) == UPLINK_UP)
		return 0;
	return d;
}

int parent_send_frame(struct parent *p, const Onestop__LinkFrame *f)
{
	if (!p)
		return OS_ECONN;
	return uplink_send_frame(p->up, f);
}

int parent_open(struct hub *h, const struct parent_ops *ops, struct parent **out)
{
	struct uplink_conf c = {0};
	struct parent *p;
	int rc;

	*out = NULL;
	if (!h->conf.parent_endpoint || !*h->conf.parent_endpoint)
		return 0;
	p = calloc(1, sizeof(*p));
	if (!p)
		return OS_ENOMEM;
	p->h = h;
	p->ops = *ops;
	rc = parent_load(p);
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=parent_store code=%s", os_errname(rc));
		free(p);
		return rc;
	}
	c.zctx = h->zctx;
	c.endpoint = h->conf.parent_endpoint;
	c.peer = h->conf.parent_name;
	c.node = h->conf.name;
	c.kp = &h->kp;
	c.heartbeat_ms = (uint32_t)h->conf.heartbeat_ms;
	c.reconnect_min_ms = PARENT_RECONNECT_MIN_MS;
	c.reconnect_max_ms = PARENT_RECONNECT_MAX_MS;
	c.window = (uint32_t)h->conf.window;
	c.max_frame_bytes = PARENT_FRAME_MAX;
	rc = uplink_new(&c, &parent_uplink_ops, p, &p->up);
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=parent_link code=%s", os_errname(rc));
		free(p);
		return rc;
	}
	h->stats.parent_link = 1 + (unsigned)uplink_state(p->up);
	os_log(OS_LOG_INFO, "parent_link", "parent=%s endpoint=%s", h->conf.parent_name,
	       h->conf.parent_endpoint);
	*out = p;
	return 0;
}

int parent_attach(struct parent *p, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "parent",
		.socket = parent_hook_socket,
		.drain = parent_hook_drain,
		.work = parent_hook_work,
		.before_commit = parent_hook_before_commit,
		.after_commit = parent_hook_after_commit,
		.timers = parent_hook_timers,
		.deadline_us = parent_hook_deadline,
		.ctx = p,
	};

	if (!p)
		return 0;
	p->uh = uplink_hooks(p->up);
	return loop_add(l, &hooks);
}

void parent_registry_changed(struct parent *p)
{
	const struct reg_node *n;

	if (!p)
		return;
	n = registry_active_node(p->h->reg, p->h->conf.parent_name);
	if (!n || memcmp(n->box_pk, p->peer_key, sizeof(os_box_pk)) != 0)
		uplink_restart(p->up);
	parent_parts_check(p, 0);
}

void parent_stop(struct parent *p)
{
	if (p)
		uplink_stop(p->up);
}

void parent_close(struct parent **pp)
{
	struct parent *p = *pp;

	if (!p)
		return;
	uplink_destroy(&p->up);
	free(p->parts);
	free(p);
	*pp = NULL;
}
