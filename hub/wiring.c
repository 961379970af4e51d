/* The hub's wiring (wiring.h): the link's ops table filled from routing and
 * datasets, the spokes' ROUTER and the monitor of its refused handshakes,
 * the modules' hooks in their order, and the teardown of the modules. */
#include "wiring.h"

#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "batchsig.h"
#include "chain.h"
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
#define HUB_MONITOR "inproc://onestop.router.monitor"
#define HUB_MONITOR_MAX 256u /* events one drain reads at most */
/* Handshakes refused below ZAP (CURVE or ZMTP errors, a wrong server key);
 * ZAP's own denials are logged by zap.c. */
#define HUB_MONITOR_EVENTS \
	(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
#define HUB_MAX_FRAME ((int64_t)72 << 20) /* 64 MiB message + envelope + slack */

const struct link_ops hub_link_ops = {
	.push = route_push,
	.expired = route_expired,
	.hello = dataset_hello,
	.session_end = dataset_session_end,
	.ds_ack = dataset_ack,
	.fetch = dataset_fetch,
	.blocked = dataset_blocked,
	.registry = chain_from_child,
};

const struct parent_ops hub_parent_ops = {
	.deliver = route_from_parent,
	.hello = dataset_parent_hello,
	.hello_done = dataset_parent_hello_done,
	.welcome = dataset_parent_welcome,
	.registry = chain_from_parent,
	.dataset = dataset_parent_frame,
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
	/* The monitor only logs: the hub runs without it. */
	if (zmq_socket_monitor(h->router, HUB_MONITOR, HUB_MONITOR_EVENTS) == 0 &&
	    (h->monitor = zmq_socket(h->zctx, ZMQ_PAIR)) != NULL &&
	    (zmq_setsockopt(h->monitor, ZMQ_LINGER, &zero, sizeof(zero)) != 0 ||
	     zmq_connect(h->monitor, HUB_MONITOR) != 0)) {
		zmq_close(h->monitor);
		h->monitor = NULL;
	}
	if (!h->monitor)
		os_log(OS_LOG_WARN, "monitor_failed", "error=%s", OS_Q(zmq_strerror(errno)));
	return 0;
}

/* Log one monitor event (two frames: event and value, endpoint). 0, or -1
 * when none is waiting. */
static int hub_monitor_one(struct hub *h)
{
	static struct os_log_limit lim = OS_LOG_LIMIT(ZAP_LOG_BURST, ZAP_LOG_INTERVAL_MS);
	zmq_msg_t ev, addr;
	uint16_t event = 0;
	uint32_t value = 0;

	zmq_msg_init(&ev);
	if (zmq_msg_recv(&ev, h->monitor, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&ev);
		return -1;
	}
	zmq_msg_init(&addr);
	if (zmq_msg_more(&ev))
		zmq_msg_recv(&addr, h->monitor, 0);
	if (zmq_msg_size(&ev) >= 6) {
		memcpy(&event, zmq_msg_data(&ev), 2);
		memcpy(&value, (const uint8_t *)zmq_msg_data(&ev) + 2, 4);
	}
	if (event & HUB_MONITOR_EVENTS) {
		char a[128];
		size_t n =
			zmq_msg_size(&addr) < sizeof(a) - 1 ? zmq_msg_size(&addr) : sizeof(a) - 1;
		memcpy(a, zmq_msg_data(&addr), n);
		a[n] = 0;
		os_log_limited(&lim, OS_LOG_WARN, "handshake_failed",
			       "endpoint=%s kind=%s value=%u", OS_Q(a),
			       event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ? "protocol"
									    : "transport",
			       (unsigned)value);
	}
	zmq_msg_close(&addr);
	zmq_msg_close(&ev);
	return 0;
}

static void *hub_monitor_socket(void *ctx)
{
	return ((struct hub *)ctx)->monitor;
}

static unsigned hub_monitor_drain(void *ctx)
{
	unsigned n = 0;
	while (n < HUB_MONITOR_MAX && hub_monitor_one(ctx) == 0)
		n++;
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
	if (h->monitor) {
		const struct loop_hooks hooks = {
			.name = "monitor",
			.socket = hub_monitor_socket,
			.drain = hub_monitor_drain,
			.ctx = h,
		};
		if ((rc = loop_add(l, &hooks)) != 0)
			return rc;
	}
	return 0;
}

void hub_modules_close(struct hub *h)
{
	parent_close(&h->parent);
	if (h->router)
		zmq_close(h->router);
	if (h->zap)
		zmq_close(h->zap);
	if (h->monitor)
		zmq_close(h->monitor);
	if (h->zctx)
		zmq_ctx_term(h->zctx);
	h->router = h->zap = h->monitor = h->zctx = NULL;
	link_destroy(&h->link);
	route_destroy(&h->route);
	dataset_close(h);
	batchsig_cache_destroy(&h->sigcache);
	queue_close(&h->queue);
	store_abort(&h->txn);
	store_close(&h->st);
}
