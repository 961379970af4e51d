/* The hub's wiring, shared by the daemon (main.c) and the in-process tests:
 * the ops table through which the sessions hand frames up to routing and
 * datasets, and the teardown of every module and socket in one order. */
#ifndef HUB_WIRING_H
#define HUB_WIRING_H

#include "hub.h"
#include "link.h"

/* What the sessions hand up, and to whom (route.c, dataset.c). */
extern const struct link_ops hub_link_ops;

/* Close the parent link, the sockets and the ZeroMQ context, free every
 * module, abort an open transaction and close the store, each only when
 * present; every handle is NULL afterwards. The registry, keys and
 * configuration stay (main.c frees them). */
void hub_modules_close(struct hub *h);

#endif
