/* The hub's link to its parent hub (parent.h): the ops of the common link
 * client filled from the hub. The push source is empty and deliveries are
 * held (not acknowledged, so the parent keeps them) until federation routes
 * through the parent (#8); the session itself is the one spokes run. */
#include "parent.h"

#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "log.h"
#include "loop.h"
#include "registry.h"
#include "store.h"
#include "uplink.h"
#include "util.h"

#define PARENT_RECONNECT_MIN_MS 100u
#define PARENT_RECONNECT_MAX_MS 5000u
#define PARENT_HELD_LOG_US 10000000u /* one parent_delivery_held line per 10 s */
#define PARENT_FRAME_MAX ((int64_t)256 << 20)

struct parent {
	struct hub *h;
	struct parent_ops ops;
	struct uplink *up;
	uint8_t epoch[UPLINK_EPOCH_LEN]; /* names this hub's push stream */
	os_box_pk peer_key;              /* the key the link connected with */
	uint64_t held;                   /* deliveries held since the last line */
	uint64_t held_log_us;
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
	hello->outbox_epoch.data = p->epoch;
	hello->outbox_epoch.len = UPLINK_EPOCH_LEN;
}

static int parent_welcome(void *ctx, struct uplink_welcome *w, uint64_t now_us)
{
	(void)ctx;
	(void)now_us;
	w->new_epoch = 0;
	w->backlog = 0;
	return 0;
}

static void parent_push_acked(void *ctx, uint64_t upto, uint64_t now_us)
{
	(void)ctx, (void)upto, (void)now_us;
}

/* Nothing is routed up yet: the push source is empty. */
static int parent_push_walk(void *ctx, uint64_t from, uplink_entry_fn fn, void *arg)
{
	(void)ctx, (void)from;
	fn(arg, 0, NULL, 0);
	return 0;
}

/* No delivery is taken, so none is acknowledged. */
static int parent_deliver_pos(void *ctx, uint64_t *last, const uint8_t **epoch)
{
	(void)ctx, (void)last, (void)epoch;
	return OS_ENOTFOUND;
}

static int parent_deliver(void *ctx, uint64_t seq, const uint8_t *msg, size_t len)
{
	struct parent *p = ctx;
	uint64_t now = os_mono_us();

	(void)msg;
	p->held++;
	if (p->held_log_us == 0 || now >= p->held_log_us + PARENT_HELD_LOG_US) {
		os_log(OS_LOG_INFO, "parent_delivery_held",
		       "parent=%s seq=%llu bytes=%zu held=%llu reason=%s", p->h->conf.parent_name,
		       (unsigned long long)seq, len, (unsigned long long)p->held,
		       OS_Q("routing through a parent hub is not built yet; the parent keeps it"));
		p->held_log_us = now;
		p->held = 0;
	}
	return UPLINK_HELD;
}

/* The registry and dataset frames of a parent are for federation (#8):
 * this hub loads its own registry and sequences its own datasets. */
static int parent_frame(void *ctx, const Onestop__LinkFrame *f)
{
	(void)ctx;
	os_log(OS_LOG_DEBUG, "parent_frame_ignored", "body=%d", (int)f->body_case);
	return 0;
}

static const struct uplink_ops parent_ops = {
	.peer_key = parent_peer_key,
	.hello = parent_hello,
	.welcome = parent_welcome,
	.push_acked = parent_push_acked,
	.push_walk = parent_push_walk,
	.deliver_pos = parent_deliver_pos,
	.deliver = parent_deliver,
	.frame = parent_frame,
};

/* The epoch of this hub's push stream to its parent, made once. */
static int parent_load_epoch(struct parent *p)
{
	struct store_txn *t = NULL;
	store_dbi db;
	const void *v;
	size_t vl;
	int rc = store_dbi_open(p->h->st, "parent", &db);

	if (rc == 0)
		rc = store_begin(p->h->st, 0, &t);
	if (rc)
		return rc;
	rc = store_get(t, db, "epoch", 5, &v, &vl);
	if (rc == 0 && vl == UPLINK_EPOCH_LEN) {
		memcpy(p->epoch, v, UPLINK_EPOCH_LEN);
		store_abort(&t);
		return 0;
	}
	if (rc != 0 && rc != OS_ENOTFOUND) {
		store_abort(&t);
		return rc;
	}
	crypto_random(p->epoch, UPLINK_EPOCH_LEN);
	rc = store_put(t, db, "epoch", 5, p->epoch, UPLINK_EPOCH_LEN);
	if (rc == 0)
		return store_commit(&t);
	store_abort(&t);
	return rc;
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
	rc = parent_load_epoch(p);
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
	rc = uplink_new(&c, &parent_ops, p, &p->up);
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=parent_link code=%s", os_errname(rc));
		free(p);
		return rc;
	}
	os_log(OS_LOG_INFO, "parent_link", "parent=%s endpoint=%s", h->conf.parent_name,
	       h->conf.parent_endpoint);
	*out = p;
	return 0;
}

int parent_attach(struct parent *p, struct loop *l)
{
	struct loop_hooks hooks;

	if (!p)
		return 0;
	hooks = uplink_hooks(p->up);
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
	free(p);
	*pp = NULL;
}
