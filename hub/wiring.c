/* The hub's wiring (wiring.h): the link's ops table filled from routing and
 * datasets, and the teardown of the modules. */
#include "wiring.h"

#include <zmq.h>

#include "batchsig.h"
#include "dataset.h"
#include "parent.h"
#include "queue.h"
#include "route.h"
#include "store.h"

const struct link_ops hub_link_ops = {
	.push = route_push,
	.expired = route_expired,
	.hello = dataset_hello,
	.session_end = dataset_session_end,
	.ds_ack = dataset_ack,
	.fetch = dataset_fetch,
	.blocked = dataset_blocked,
};

void hub_modules_close(struct hub *h)
{
	parent_close(&h->parent);
	if (h->router)
		zmq_close(h->router);
	if (h->zap)
		zmq_close(h->zap);
	if (h->zctx)
		zmq_ctx_term(h->zctx);
	h->router = h->zap = h->zctx = NULL;
	link_destroy(&h->link);
	route_destroy(&h->route);
	dataset_close(h);
	batchsig_cache_destroy(&h->sigcache);
	queue_close(&h->queue);
	store_abort(&h->txn);
	store_close(&h->st);
}
