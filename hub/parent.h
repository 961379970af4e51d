/* The hub's link to a parent hub (federation, docs/ARCHITECTURE.md
 * "Scale"): the link client of common/uplink.c, the very module spokes use,
 * with ops filled from the hub. It connects, says Hello as this hub's node,
 * keeps the session (heartbeats, reconnects) and holds what the parent
 * delivers: routing through the parent comes with federation (#8). */
#ifndef HUB_PARENT_H
#define HUB_PARENT_H

#include "hub.h"

#include "onestop.pb-c.h"

struct loop;
struct parent;

/* What the parent link hands up; wiring.c fills it. Each runs inside the
 * iteration (its transaction, h->now_*); a negative return is a store
 * error that spoiled it. */
struct parent_ops {
	/* One in-order delivery from the parent (msg: a packed Signed): check
	 * and route it here (route_from_parent). 0, UPLINK_HELD (not taken
	 * now: the parent sends it again) or a store error. */
	int (*deliver)(struct hub *h, const uint8_t *msg, size_t len);
	/* Fill hello->datasets with this hub's positions in the parent's
	 * datasets (allocated); hello_done frees them. */
	void (*hello)(struct hub *h, Onestop__Hello *hello);
	void (*hello_done)(struct hub *h, Onestop__Hello *hello);
	/* The session with the parent opened: its epoch (16 bytes). */
	int (*welcome)(struct hub *h, const uint8_t *peer_epoch);
	/* A registry chain from the parent (Welcome.registry or a registry
	 * frame), borrowed for the call. */
	int (*registry)(struct hub *h, const uint8_t *buf, size_t len);
	/* Changes, Snapshot or Fetched from the parent. */
	int (*dataset)(struct hub *h, const Onestop__LinkFrame *f);
};

/* When h->conf.parent_endpoint is set: open the parent link's database in
 * h->st ("parent": the 16-byte epoch that names this hub's push stream to
 * its parent, made on first use) and create the link in *out (it starts
 * connecting at once) handing up through ops (copied), else set *out to
 * NULL. Needs h->zctx and h->reg. 0, OS_EUNKNOWN (the parent is not in the
 * registry), OS_ENOMEM or a store error (logged). */
int parent_open(struct hub *h, const struct parent_ops *ops, struct parent **out);

/* Pack and send f to the parent now, while the session is up (DatasetAck,
 * Fetch). 0, OS_ECONN (no session; p NULL), OS_EAGAIN or OS_ENOMEM. */
int parent_send_frame(struct parent *p, const Onestop__LinkFrame *f);

/* Register the link's hooks (socket, drain, after_commit, timers,
 * deadline) on l; nothing when p is NULL. 0 or OS_EFULL. */
int parent_attach(struct parent *p, struct loop *l);

/* The registry changed: when the parent's transport key changed, reconnect
 * with the new one; send this hub's delegated registries (its subtree's,
 * registry_pack_parts) up when they changed (and at every Welcome). p may
 * be NULL. */
void parent_registry_changed(struct parent *p);

/* At a clean stop, after the last commit: let the owed frames leave. */
void parent_stop(struct parent *p);

/* Close the link and free *p (NULL allowed); NULLs it. */
void parent_close(struct parent **p);

#endif
