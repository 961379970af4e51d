/* The hub's wiring (wiring.h): the link's ops table filled from routing and
 * datasets, the spokes' ROUTER, the modules' hooks in their order, and the
 * teardown of the modules. */
#include "wiring.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "batchsig.h"
#include "dataset.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "parent.h"
#include "queue.h"
#include "route.h"
#include "store.h"
#include "zap.h"

#define HUB_HWM 100000
#define HUB_MAX_FRAME ((int64_t)72 << 20) /* 64 MiB message + envelope + slack */

const struct link_ops hub_link_ops = {
	.push = route_push,
	.expired = route_expired,
	.hello = dataset_hello,
	.session_end = dataset_session_end,
	.ds_ack = dataset_ack,
	.fetch = dataset_fetch,
	.blocked = dataset_blocked,
};

/* The spokes' ROUTER: CURVE server with the hub's box key, authenticated by
 * the ZAP handler, failing loudly on unroutable sends. */
int hub_router_open(struct hub *h, char *endpoint, size_t size)
{
	int one = 1, zero = 0, hwm = HUB_HWM;
	int ivl = (int)h->conf.heartbeat_ms, timeout = 3 * (int)h->conf.heartbeat_ms;
	/* A spoke's push frame holds at most 4 MiB of transfers, or one
	 * message of up to 64 MiB (the spoke's largest max_message_bytes):
	 * a peer sending a larger frame is cut off by ZeroMQ before it is
	 * buffered. */
	int64_t maxmsg = HUB_MAX_FRAME;

	h->router = zmq_socket(h->zctx, ZMQ_ROUTER);
	if (!h->router)
		return OS_EIO;
	if (zmq_setsockopt(h->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(h->router, ZMQ_CURVE_SECRETKEY, h->kp.box_sk, sizeof(os_box_sk)) ||
	    zmq_setsockopt(h->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) ||
	    zmq_setsockopt(h->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
	    zmq_setsockopt(h->router, ZMQ_ROUTER_HANDOVER, &one, sizeof(one)) ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout)) ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_TTL, &timeout, sizeof(timeout)) ||
	    zmq_setsockopt(h->router, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_setsockopt(h->router, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(h->router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(h->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg))) {
		os_log(OS_LOG_ERROR, "start_failed", "what=router error=%s",
		       OS_Q(zmq_strerror(errno)));
		return OS_EIO;
	}
	if (zmq_bind(h->router, h->conf.listen) != 0) {
		os_log(OS_LOG_ERROR, "start_failed", "what=listen listen=%s error=%s",
		       h->conf.listen, OS_Q(zmq_strerror(errno)));
		return OS_EIO;
	}
	if (zmq_getsockopt(h->router, ZMQ_LAST_ENDPOINT, endpoint, &size) != 0)
		snprintf(endpoint, size, "%s", h->conf.listen);
	return 0;
}

int hub_modules_attach(struct hub *h, struct loop *l)
{
	int rc;

	if ((rc = hub_state_attach(h, l)) || (rc = zap_attach(h, l)) || (rc = route_attach(h, l)) ||
	    (rc = link_attach(h, l)) || (rc = parent_attach(h->parent, l)) ||
	    (rc = dataset_attach(h, l)) || (rc = route_attach_late(h, l)) ||
	    (rc = queue_attach(h->queue, l)))
		return rc;
	return 0;
}

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
