/* ZAP handler: a REP socket polled in the hub's loop. A CURVE client whose
 * key belongs to an active registry node is admitted with User-Id = node
 * name (status 200); anything else is denied (400) and logged. */
#include "zap.h"

#include <errno.h>
#include <string.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "util.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_FRAMES 8

int zap_open(struct hub *h)
{
	int linger = 0;

	h->zap = zmq_socket(h->zctx, ZMQ_REP);
	if (!h->zap)
		return OS_EIO;
	zmq_setsockopt(h->zap, ZMQ_LINGER, &linger, sizeof(linger));
	if (zmq_bind(h->zap, ZAP_ENDPOINT) != 0) {
		os_log(OS_LOG_ERROR, "zap_bind_failed", "error=%s", OS_Q(zmq_strerror(errno)));
		zmq_close(h->zap);
		h->zap = NULL;
		return OS_EIO;
	}
	return 0;
}

static void zap_reply(struct hub *h, const zmq_msg_t *reqid, const char *code, const char *text,
		      const char *user)
{
	zmq_send(h->zap, "1.0", 3, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(h->zap, reqid ? zmq_msg_data((zmq_msg_t *)reqid) : "",
		 reqid ? zmq_msg_size((zmq_msg_t *)reqid) : 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(h->zap, code, strlen(code), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(h->zap, text, strlen(text), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(h->zap, user, strlen(user), ZMQ_SNDMORE | ZMQ_DONTWAIT);
	zmq_send(h->zap, "", 0, ZMQ_DONTWAIT);
}

static int zap_is(const zmq_msg_t *m, const char *s)
{
	size_t n = strlen(s);

	return zmq_msg_size((zmq_msg_t *)m) == n && memcmp(zmq_msg_data((zmq_msg_t *)m), s, n) == 0;
}

/* Copy a frame as text (addresses are short; cut to size). */
static void zap_text(char *out, size_t size, const zmq_msg_t *m)
{
	size_t n = zmq_msg_size((zmq_msg_t *)m);

	if (n >= size)
		n = size - 1;
	memcpy(out, zmq_msg_data((zmq_msg_t *)m), n);
	out[n] = 0;
}

/* Read one request (all its frames) and answer it. 0, or OS_EAGAIN when
 * none is waiting. */
static int zap_one(struct hub *h)
{
	zmq_msg_t f[ZAP_FRAMES];
	size_t n = 0;
	int more = 1, rc = 0;
	char addr[64] = "-", keyhex[65] = "-";
	const struct reg_node *node = NULL;
	const char *why = NULL;

	while (more) {
		zmq_msg_t m;

		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, h->zap, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(&m);
			if (n == 0)
				return OS_EAGAIN;
			break; /* a request always arrives whole; this cannot stay */
		}
		more = zmq_msg_more(&m);
		if (n < ZAP_FRAMES)
			f[n++] = m;
		else
			zmq_msg_close(&m);
	}

	/* version, request id, domain, address, identity, mechanism, key */
	if (n < 6 || !zap_is(&f[0], "1.0")) {
		why = "malformed request";
	} else {
		zap_text(addr, sizeof(addr), &f[3]);
		if (!zap_is(&f[5], "CURVE"))
			why = "mechanism not CURVE";
		else if (n < 7 || zmq_msg_size(&f[6]) != sizeof(os_box_pk))
			why = "bad CURVE key";
	}
	if (!why) {
		os_hex(keyhex, zmq_msg_data(&f[6]), sizeof(os_box_pk));
		node = registry_find_box(h->reg, zmq_msg_data(&f[6]));
		if (!node)
			why = "key not in the registry";
		else if (!registry_node_active(node))
			why = "node not active";
	}
	if (why) {
		/* A peer retrying in a loop must not fill the disk. */
		static struct os_log_limit lim = OS_LOG_LIMIT(ZAP_LOG_BURST, ZAP_LOG_INTERVAL_MS);
		os_log_limited(&lim, OS_LOG_WARN, "zap_denied",
			       "key=%s address=%s node=%s reason=%s", keyhex, OS_Q(addr),
			       node ? node->name : "-", OS_Q(why));
		zap_reply(h, n >= 2 ? &f[1] : NULL, n >= 1 && zap_is(&f[0], "1.0") ? "400" : "500",
			  why, "");
	} else {
		os_log(OS_LOG_DEBUG, "zap_admitted", "node=%s address=%s", node->name, OS_Q(addr));
		zap_reply(h, &f[1], "200", "OK", node->name);
	}
	for (size_t i = 0; i < n; i++)
		zmq_msg_close(&f[i]);
	return rc;
}

void zap_handle(struct hub *h, unsigned max)
{
	for (unsigned i = 0; i < max; i++)
		if (zap_one(h) != 0)
			break;
}

static void *zap_socket(void *ctx)
{
	return ((struct hub *)ctx)->zap;
}

static unsigned zap_drain(void *ctx)
{
	zap_handle(ctx, HUB_ZAP_MAX);
	return 0;
}

int zap_attach(struct hub *h, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "zap",
		.socket = zap_socket,
		.drain = zap_drain,
		.ctx = h,
	};

	return loop_add(l, &hooks);
}
