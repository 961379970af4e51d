/* The hub's wiring, shared by the daemon (main.c) and the in-process tests:
 * the ops table through which the sessions hand frames up to routing and
 * datasets, the spokes' ROUTER, every module's hooks in their order, and
 * the teardown of every module and socket. */
#ifndef HUB_WIRING_H
#define HUB_WIRING_H

#include "hub.h"
#include "link.h"
#include "parent.h"

#include <stddef.h>

/* What the sessions hand up, and to whom (route.c, dataset.c). */
extern const struct link_ops hub_link_ops;
/* What the parent link hands up (route.c, dataset.c, chain.c). */
extern const struct parent_ops hub_parent_ops;

struct loop;

/* Open the spokes' ROUTER in h->zctx into h->router and bind it at
 * h->conf.listen: CURVE server with the hub's box key, authenticated by
 * the ZAP handler (zap_open first), mandatory routing, heartbeats of
 * heartbeat_ms, bounded frames and queues. The endpoint actually bound
 * goes to endpoint (size bytes). 0 or OS_EIO (logged). */
int hub_router_open(struct hub *h, char *endpoint, size_t size);

/* Register every module's hooks on l, in the order each phase runs them:
 * the state first (the iteration's clocks), then ZAP and the link's input,
 * the parent link; routing's dead letters of what was drained before the
 * sessions fill their windows, datasets after them, the dead letters of
 * what expired on the way last; the queue settles acked entries before the
 * commit. (A daemon registers its own hooks, e.g. signals, before.)
 * 0 or OS_EFULL. */
int hub_modules_attach(struct hub *h, struct loop *l);

/* Close the parent link, the sockets and the ZeroMQ context, free every
 * module, abort an open transaction and close the store, each only when
 * present; every handle is NULL afterwards. The registry, keys and
 * configuration stay (main.c frees them). */
void hub_modules_close(struct hub *h);

#endif
