/* Test-only LD_PRELOAD shim for it_ack_order: wraps libzmq's send and
 * receive calls in a daemon and, for each frame that carries or
 * acknowledges durable data, writes one marker line to /dev/null, where
 * strace sees it in order with the store's syncs. It reads frames before
 * CURVE encrypts them; it changes nothing they carry. Markers:
 *   ACKMARK R push RID MIN MAX   the hub took a Push of transfers MIN..MAX
 *   ACKMARK A push RID SEQ       the hub hands a PushAck of SEQ to ZeroMQ
 *   ACKMARK R deliver - MIN MAX  a spoke took a Deliver of MIN..MAX
 *   ACKMARK A deliver - SEQ      a spoke hands a DeliverAck of SEQ
 *   ACKMARK R api RID ID         a spoke took a Send or Put request ID
 *   ACKMARK A api RID ID         a spoke hands its success reply to ID
 * RID is the hex of the routing id (ROUTER sockets). Link sockets are the
 * CURVE ones, the API socket the ROUTER without security. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "onestop.pb-c.h"

#define AM_SOCKETS 32
#define AM_RID 64

enum am_kind { AM_OTHER, AM_LINK, AM_API };

/* The routing frame seen before a message's body, per socket and way. */
struct am_part {
	void *sock;
	int way; /* 0 receive, 1 send */
	int in_msg;
	char rid[2 * AM_RID + 1];
};

static struct am_part am_parts[AM_SOCKETS];
static int am_fd = -1;

static int (*real_send)(void *, const void *, size_t, int);
static int (*real_msg_send)(zmq_msg_t *, void *, int);
static int (*real_recv)(void *, void *, size_t, int);
static int (*real_msg_recv)(zmq_msg_t *, void *, int);

static void am_mark(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void am_mark(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (am_fd < 0)
		am_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (am_fd >= 0 && n > 0 && (size_t)n < sizeof(line))
		(void)!write(am_fd, line, (size_t)n);
}

static enum am_kind am_kind(void *sock)
{
	int type = 0, mech = 0;
	size_t l1 = sizeof(type), l2 = sizeof(mech);

	if (zmq_getsockopt(sock, ZMQ_TYPE, &type, &l1) != 0 ||
	    zmq_getsockopt(sock, ZMQ_MECHANISM, &mech, &l2) != 0)
		return AM_OTHER;
	if (mech == ZMQ_CURVE && (type == ZMQ_ROUTER || type == ZMQ_DEALER))
		return AM_LINK;
	if (mech == ZMQ_NULL && type == ZMQ_ROUTER)
		return AM_API;
	return AM_OTHER;
}

static struct am_part *am_part(void *sock, int way)
{
	struct am_part *free_slot = NULL;

	for (int i = 0; i < AM_SOCKETS; i++) {
		if (am_parts[i].sock == sock && am_parts[i].way == way)
			return &am_parts[i];
		if (!am_parts[i].sock && !free_slot)
			free_slot = &am_parts[i];
	}
	if (free_slot) {
		memset(free_slot, 0, sizeof(*free_slot));
		free_slot->sock = sock;
		free_slot->way = way;
	}
	return free_slot;
}

static void am_transfers(const char *rid, const Onestop__Transfers *t, const char *what)
{
	uint64_t lo = UINT64_MAX, hi = 0;

	for (size_t i = 0; t && i < t->n_items; i++) {
		if (t->items[i]->seq < lo)
			lo = t->items[i]->seq;
		if (t->items[i]->seq > hi)
			hi = t->items[i]->seq;
	}
	if (hi > 0)
		am_mark("ACKMARK R %s %s %llu %llu\n", what, rid, (unsigned long long)lo,
			(unsigned long long)hi);
}

/* One whole message's body on sock, the way it went. */
static void am_body(void *sock, int way, const char *rid, const void *data, size_t len)
{
	enum am_kind k = am_kind(sock);

	if (!rid[0])
		rid = "-";
	if (k == AM_LINK) {
		Onestop__LinkFrame *f = onestop__link_frame__unpack(NULL, len, data);

		if (!f)
			return;
		if (way == 0 && f->body_case == ONESTOP__LINK_FRAME__BODY_PUSH)
			am_transfers(rid, f->push, "push");
		if (way == 0 && f->body_case == ONESTOP__LINK_FRAME__BODY_DELIVER)
			am_transfers(rid, f->deliver, "deliver");
		if (way == 1 && f->body_case == ONESTOP__LINK_FRAME__BODY_PUSH_ACK)
			am_mark("ACKMARK A push %s %llu\n", rid,
				(unsigned long long)f->push_ack->seq);
		if (way == 1 && f->body_case == ONESTOP__LINK_FRAME__BODY_DELIVER_ACK)
			am_mark("ACKMARK A deliver %s %llu\n", rid,
				(unsigned long long)f->deliver_ack->seq);
		onestop__link_frame__free_unpacked(f, NULL);
	} else if (k == AM_API && way == 0) {
		Onestop__ApiRequest *q = onestop__api_request__unpack(NULL, len, data);

		if (!q)
			return;
		if (q->op_case == ONESTOP__API_REQUEST__OP_SEND ||
		    q->op_case == ONESTOP__API_REQUEST__OP_PUT)
			am_mark("ACKMARK R api %s %llu\n", rid, (unsigned long long)q->request_id);
		onestop__api_request__free_unpacked(q, NULL);
	} else if (k == AM_API) {
		Onestop__ApiReply *r = onestop__api_reply__unpack(NULL, len, data);

		if (!r)
			return;
		if (r->code == 0 && (r->result_case == ONESTOP__API_REPLY__RESULT_SEND ||
				     r->result_case == ONESTOP__API_REPLY__RESULT_PUT))
			am_mark("ACKMARK A api %s %llu\n", rid, (unsigned long long)r->request_id);
		onestop__api_reply__free_unpacked(r, NULL);
	}
}

/* A frame of a message on sock: remember the first frame of a multi-part
 * message as its routing id, hand the last one to am_body. */
static void am_frame(void *sock, int way, const void *data, size_t len, int more)
{
	struct am_part *p = am_part(sock, way);

	if (!p)
		return;
	if (more) {
		if (!p->in_msg) {
			size_t n = len < AM_RID ? len : AM_RID;

			for (size_t i = 0; i < n; i++)
				snprintf(p->rid + 2 * i, 3, "%02x", ((const uint8_t *)data)[i]);
			p->rid[2 * n] = '\0';
		}
		p->in_msg = 1;
		return;
	}
	if (!p->in_msg)
		p->rid[0] = '\0';
	am_body(sock, way, p->rid, data, len);
	p->in_msg = 0;
	p->rid[0] = '\0';
}

#define AM_REAL(var, name)                                       \
	do {                                                     \
		if (!var)                                        \
			*(void **)&var = dlsym(RTLD_NEXT, name); \
	} while (0)

int zmq_send(void *s, const void *buf, size_t len, int flags)
{
	AM_REAL(real_send, "zmq_send");
	am_frame(s, 1, buf, len, (flags & ZMQ_SNDMORE) != 0);
	return real_send(s, buf, len, flags);
}

int zmq_msg_send(zmq_msg_t *msg, void *s, int flags)
{
	AM_REAL(real_msg_send, "zmq_msg_send");
	am_frame(s, 1, zmq_msg_data(msg), zmq_msg_size(msg), (flags & ZMQ_SNDMORE) != 0);
	return real_msg_send(msg, s, flags);
}

int zmq_recv(void *s, void *buf, size_t len, int flags)
{
	int n;
	int more = 0;
	size_t ml = sizeof(more);

	AM_REAL(real_recv, "zmq_recv");
	n = real_recv(s, buf, len, flags);
	if (n >= 0 && zmq_getsockopt(s, ZMQ_RCVMORE, &more, &ml) == 0)
		am_frame(s, 0, buf, (size_t)n < len ? (size_t)n : len, more);
	return n;
}

int zmq_msg_recv(zmq_msg_t *msg, void *s, int flags)
{
	int n;

	AM_REAL(real_msg_recv, "zmq_msg_recv");
	n = real_msg_recv(msg, s, flags);
	if (n >= 0)
		am_frame(s, 0, zmq_msg_data(msg), zmq_msg_size(msg), zmq_msg_more(msg));
	return n;
}
