/* The hub's link to a parent hub (federation, docs/ARCHITECTURE.md
 * "Scale"): the link client of common/uplink.c, the very module spokes use,
 * with ops filled from the hub. It connects, says Hello as this hub's node,
 * keeps the session (heartbeats, reconnects) and holds what the parent
 * delivers: routing through the parent comes with federation (#8). */
#ifndef HUB_PARENT_H
#define HUB_PARENT_H

#include "hub.h"

struct loop;
struct parent;

/* When h->conf.parent_endpoint is set: open the parent link's database in
 * h->st ("parent": the 16-byte epoch that names this hub's push stream to
 * its parent, made on first use) and create the link in *out (it starts
 * connecting at once), else set *out to NULL. Needs h->zctx and h->reg.
 * 0, OS_EUNKNOWN (the parent is not in the registry), OS_ENOMEM or a store
 * error (logged). */
int parent_open(struct hub *h, struct parent **out);

/* Register the link's hooks (socket, drain, after_commit, timers,
 * deadline) on l; nothing when p is NULL. 0 or OS_EFULL. */
int parent_attach(struct parent *p, struct loop *l);

/* The registry changed: when the parent's transport key changed, reconnect
 * with the new one. p may be NULL. */
void parent_registry_changed(struct parent *p);

/* At a clean stop, after the last commit: let the owed frames leave. */
void parent_stop(struct parent *p);

/* Close the link and free *p (NULL allowed); NULLs it. */
void parent_close(struct parent **p);

#endif
