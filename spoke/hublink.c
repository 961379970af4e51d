/* The spoke's link to its hub (hublink.h): the ops of the common link
 * client filled from the spoke's modules. Pushes come from the outbox,
 * deliveries go to the inbox, the registry the hub sends goes to trust.c,
 * dataset frames to the replica (replica.c); the link itself knows none of
 * them. */
#include "hublink.h"

#include <string.h>

#include "onestop.pb-c.h"

#include "err.h"
#include "log.h"
#include "loop.h"
#include "registry.h"
#include "store.h"
#include "uplink.h"
#include "util.h"

#include "inbox.h"
#include "outbox.h"
#include "replica.h"
#include "spoke.h"
#include "trust.h"

_Static_assert(OUTBOX_EPOCH_LEN == UPLINK_EPOCH_LEN, "the push epoch is a link epoch");
_Static_assert(INBOX_EPOCH_LEN == UPLINK_EPOCH_LEN, "the hub epoch is a link epoch");

#define FRAME_MIN_BYTES ((int64_t)256 << 20)

static int hublink_peer_key(void *ctx, os_box_pk out)
{
	struct spoke *sp = ctx;
	const struct reg_node *hub = registry_find(sp->reg, sp->conf.hub_name);
	if (!hub) {
		os_log(OS_LOG_ERROR, "hub_unknown", "hub=%s reason=\"not in the registry\"",
		       sp->conf.hub_name);
		return OS_EUNKNOWN;
	}
	memcpy(out, hub->box_pk, sizeof(os_box_pk));
	return 0;
}

static void hublink_hello(void *ctx, Onestop__Hello *h)
{
	static os_hash digest; /* lives until the Hello is packed */
	struct spoke *sp = ctx;
	Onestop__DatasetPosition **pos = NULL;
	size_t npos = 0;
	h->registry_version = sp->reg->version;
	registry_digest(sp->reg, digest);
	h->registry_digest.data = digest;
	h->registry_digest.len = sizeof(digest);
	h->outbox_epoch.data = sp->ob.epoch;
	h->outbox_epoch.len = OUTBOX_EPOCH_LEN;
	/* Where each dataset copy stands; without them (no memory) the hub
	 * sends snapshots, which is slower but right. */
	if (replica_positions(sp, &pos, &npos) == 0) {
		h->datasets = pos;
		h->n_datasets = npos;
	}
}

static void hublink_hello_done(void *ctx, Onestop__Hello *h)
{
	(void)ctx;
	replica_positions_free(h->datasets, h->n_datasets);
	h->datasets = NULL;
	h->n_datasets = 0;
}

static int hublink_welcome(void *ctx, struct uplink_welcome *w, uint64_t now_us)
{
	struct spoke *sp = ctx;
	int rc = inbox_hub_epoch(sp, w->peer_epoch, UPLINK_EPOCH_LEN, &w->new_epoch);
	if (rc < 0)
		return rc;
	outbox_ack(sp, w->accepted_seq, now_us);
	if ((rc = outbox_settle(sp, now_us, 1)) < 0)
		return rc;
	if (w->registry) {
		trust_offer(sp, w->registry, w->registry_len, "hub", NULL);
		if (sp->txn_err)
			return sp->txn_err;
	}
	if (w->peer_max_message_bytes && w->peer_max_message_bytes != spoke_hub_limit(sp)) {
		/* The hub knows its own limit; Send checks against it from now on. */
		os_log(OS_LOG_INFO, "hub_limit", "hub_max_message_bytes=%llu previous=%llu",
		       (unsigned long long)w->peer_max_message_bytes,
		       (unsigned long long)spoke_hub_limit(sp));
		sp->hub_limit = w->peer_max_message_bytes;
	}
	w->backlog = sp->ob.count;
	return 0;
}

static void hublink_push_acked(void *ctx, uint64_t upto, uint64_t now_us)
{
	/* Deleted with the next commit that happens anyway (outbox_settle). */
	outbox_ack(ctx, upto, now_us);
}

static int hublink_push_walk(void *ctx, uint64_t from, uplink_entry_fn fn, void *arg)
{
	struct spoke *sp = ctx;
	struct store_txn *t = NULL;
	int rc = 0;
	/* Seqs are contiguous: past next, or with nothing held, there is
	 * nothing to read (and no read transaction to begin). */
	if (from < sp->ob.next && sp->ob.count > 0) {
		if ((rc = store_begin(sp->st, 1, &t)) < 0)
			return rc;
		rc = outbox_walk(sp, t, from, fn, arg);
	}
	if (rc == 0)
		fn(arg, 0, NULL, 0); /* the end, while what was handed out is valid */
	store_abort(&t);
	return rc;
}

static void hublink_pushed(void *ctx, unsigned n)
{
	struct spoke *sp = ctx;
	sp->stats.pushed += n;
}

static int hublink_deliver_pos(void *ctx, uint64_t *last, const uint8_t **epoch)
{
	struct spoke *sp = ctx;
	if (!sp->ib.has_epoch)
		return OS_ENOTFOUND;
	*last = sp->ib.last;
	*epoch = sp->ib.hub_epoch;
	return 0;
}

static int hublink_deliver(void *ctx, uint64_t seq, const uint8_t *msg, size_t len)
{
	int held = 0;
	int rc = inbox_deliver(ctx, seq, msg, len, os_now_ms(), &held);
	if (rc < 0)
		return rc;
	return held ? UPLINK_HELD : 0;
}

static int hublink_frame(void *ctx, const Onestop__LinkFrame *f)
{
	struct spoke *sp = ctx;
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_REGISTRY:
		trust_offer(sp, f->registry.data, f->registry.len, "hub", NULL);
		return sp->txn_err;
	case ONESTOP__LINK_FRAME__BODY_CHANGES:
		return replica_changes(sp, f->changes);
	case ONESTOP__LINK_FRAME__BODY_SNAPSHOT:
		return replica_snapshot(sp, f->snapshot);
	case ONESTOP__LINK_FRAME__BODY_FETCHED:
		return replica_fetched(sp, f->fetched);
	default:
		os_log(OS_LOG_DEBUG, "link_unexpected", "body=%d", (int)f->body_case);
		return 0;
	}
}

static const struct uplink_ops hublink_ops = {
	.peer_key = hublink_peer_key,
	.hello = hublink_hello,
	.hello_done = hublink_hello_done,
	.welcome = hublink_welcome,
	.push_acked = hublink_push_acked,
	.push_walk = hublink_push_walk,
	.pushed = hublink_pushed,
	.deliver_pos = hublink_deliver_pos,
	.deliver = hublink_deliver,
	.frame = hublink_frame,
};

/* ------------------------------------------------------------ sp->hub_io */

static int hublink_io_send(void *ctx, const struct Onestop__LinkFrame *f)
{
	struct spoke *sp = ctx;
	return uplink_send_frame(sp->up, f);
}

static int hublink_io_up(void *ctx)
{
	const struct spoke *sp = ctx;
	return uplink_state(sp->up) == UPLINK_UP;
}

static void hublink_io_restart(void *ctx)
{
	struct spoke *sp = ctx;
	uplink_restart(sp->up);
}

int hublink_open(struct spoke *sp)
{
	const struct spoke_conf *c = &sp->conf;
	int64_t frame_max = (int64_t)64 * (c->max_message_bytes + SPOKE_ENV_OVERHEAD);
	if (frame_max < FRAME_MIN_BYTES)
		frame_max = FRAME_MIN_BYTES;
	struct uplink_conf uc = {
		.zctx = sp->zctx,
		.endpoint = c->hub_endpoint,
		.peer = c->hub_name,
		.node = c->name,
		.kp = &sp->kp,
		.heartbeat_ms = (uint32_t)c->heartbeat_ms,
		.reconnect_min_ms = (uint32_t)c->reconnect_min_ms,
		.reconnect_max_ms = (uint32_t)c->reconnect_max_ms,
		.window = (uint32_t)c->window,
		.max_frame_bytes = frame_max,
	};
	int rc = uplink_new(&uc, &hublink_ops, sp, &sp->up);
	if (rc < 0)
		return rc;
	sp->hub_io = (struct spoke_hub_io){
		.send = hublink_io_send,
		.up = hublink_io_up,
		.restart = hublink_io_restart,
		.ctx = sp,
	};
	return 0;
}

int hublink_attach(struct spoke *sp, struct loop *l)
{
	struct loop_hooks h = uplink_hooks(sp->up);
	h.name = "hublink";
	return loop_add(l, &h);
}

void hublink_stop(struct spoke *sp)
{
	uplink_stop(sp->up);
}

void hublink_close(struct spoke *sp)
{
	memset(&sp->hub_io, 0, sizeof sp->hub_io);
	uplink_destroy(&sp->up);
}
