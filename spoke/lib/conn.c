/* libonestop's transport: one DEALER socket to the spoke's API endpoint,
 * one frame per request and per reply, matched by request_id, with a
 * deadline per request. */
#include "conn.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "err.h"
#include "onestop.h"
#include "util.h"

void conn_seterr(struct onestop *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

size_t conn_strlen_max(const char *s, size_t max)
{
	if (s == NULL)
		return 0;
	size_t len = strnlen(s, max + 1);
	return len > max ? SIZE_MAX : len;
}

int conn_open(struct onestop *c)
{
	if (c->sock != NULL) {
		zmq_close(c->sock);
		c->sock = NULL;
	}
	/* A posted Recv's reply would have come to the old socket. */
	if (c->post_id != 0 && c->post_rep == NULL) {
		c->post_id = 0;
		c->post_lost = 1;
	}
	void *s = zmq_socket(c->ctx, ZMQ_DEALER);
	if (s == NULL) {
		conn_seterr(c, "cannot create a socket: %s", zmq_strerror(errno));
		return ONESTOP_ECONN;
	}
	/* Linger 0: closing (on timeout or onestop_close) must never block on
	 * requests the spoke did not take. */
	int linger = 0;
	int64_t maxmsg = CONN_REPLY_MAX;
	int sndtimeo = c->timeout_ms;
	if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg)) != 0 ||
	    zmq_setsockopt(s, ZMQ_SNDTIMEO, &sndtimeo, sizeof(sndtimeo)) != 0) {
		conn_seterr(c, "cannot set socket options: %s", zmq_strerror(errno));
		zmq_close(s);
		return ONESTOP_ECONN;
	}
	if (zmq_connect(s, c->endpoint) != 0) {
		int e = errno;
		conn_seterr(c, "cannot connect to %s: %s", c->endpoint, zmq_strerror(e));
		zmq_close(s);
		return (e == EINVAL || e == EPROTONOSUPPORT || e == ENOENT) ? ONESTOP_EINVAL
									    : ONESTOP_ECONN;
	}
	c->sock = s;
	return 0;
}

static void conn_free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* Say why no reply came; a missing ipc socket file means no spoke runs. */
static void conn_timeout_err(struct onestop *c, int waited_ms)
{
	if (strncmp(c->endpoint, "ipc://", 6) == 0 && access(c->endpoint + 6, F_OK) != 0)
		conn_seterr(
			c,
			"no reply from the spoke at %s within %d ms (%s does not exist: is onestop-spoke running?)",
			c->endpoint, waited_ms, c->endpoint + 6);
	else
		conn_seterr(c, "no reply from the spoke at %s within %d ms", c->endpoint,
			    waited_ms);
}

/* Read one whole message (all its frames) from the socket; *out is the
 * decoded reply or NULL when it was not a single decodable frame. 0, or
 * -1 with errno (EAGAIN when nothing was there after all). */
static int conn_read_reply(struct onestop *c, Onestop__ApiReply **out)
{
	zmq_msg_t m;
	int more = 0;
	size_t more_len = sizeof(more);
	*out = NULL;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
		int e = errno;
		zmq_msg_close(&m);
		errno = e;
		return -1;
	}
	zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &more_len);
	if (!more)
		*out = onestop__api_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	/* A multipart message is not ours to read: discard every frame. */
	while (more) {
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, c->sock, 0) < 0)
			break;
		more_len = sizeof(more);
		zmq_getsockopt(c->sock, ZMQ_RCVMORE, &more, &more_len);
	}
	zmq_msg_close(&m);
	return 0;
}

int conn_send(struct onestop *c, Onestop__ApiRequest *req)
{
	int rc;

	if (c->sock == NULL && (rc = conn_open(c)) != 0)
		return rc;
	if (c->next_id == 0)
		c->next_id = 1; /* 0 is the id of answers to undecodable requests */
	req->request_id = c->next_id++;
	size_t len = onestop__api_request__get_packed_size(req);
	if (len > CONN_REQUEST_MAX) {
		conn_seterr(c, "request of %zu bytes is larger than %zu", len, CONN_REQUEST_MAX);
		return ONESTOP_ETOOBIG;
	}
	uint8_t *buf = malloc(len ? len : 1);
	if (buf == NULL) {
		conn_seterr(c, "out of memory packing a request of %zu bytes", len);
		return ONESTOP_ENOMEM;
	}
	onestop__api_request__pack(req, buf);
	/* Hand the buffer to ZeroMQ instead of copying it: Send requests can
	 * carry many megabytes. */
	zmq_msg_t m;
	if (zmq_msg_init_data(&m, buf, len, conn_free_buf, NULL) != 0) {
		free(buf);
		conn_seterr(c, "out of memory queueing a request");
		return ONESTOP_ENOMEM;
	}
	if (zmq_msg_send(&m, c->sock, 0) < 0) {
		int e = errno;
		zmq_msg_close(&m);
		if (e == EAGAIN) {
			conn_timeout_err(c, c->timeout_ms);
			conn_open(c);
			return ONESTOP_ETIMEDOUT;
		}
		conn_seterr(c, "cannot send to %s: %s", c->endpoint, zmq_strerror(e));
		return ONESTOP_ECONN;
	}
	return 0;
}

/* Keep rep if it answers the posted Recv (1), else leave it (0). */
static int conn_keep_posted(struct onestop *c, Onestop__ApiReply *rep)
{
	if (c->post_id == 0 || c->post_rep != NULL || rep->request_id != c->post_id)
		return 0;
	c->post_rep = rep;
	return 1;
}

int conn_drain(struct onestop *c)
{
	Onestop__ApiReply *rep = NULL;

	if (c->sock == NULL)
		return 0;
	for (;;) {
		if (conn_read_reply(c, &rep) != 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				conn_seterr(c, "receiving from the spoke failed: %s",
					    zmq_strerror(errno));
				conn_open(c);
				return ONESTOP_ECONN;
			}
			/* Nothing more for now. Asking for the events as well
			 * lets ZeroMQ process what it holds, so the descriptor
			 * signals again for whatever comes next. */
			int events = 0;
			size_t elen = sizeof(events);
			if (zmq_getsockopt(c->sock, ZMQ_EVENTS, &events, &elen) == 0 &&
			    (events & ZMQ_POLLIN))
				continue;
			return 0;
		}
		/* Undecodable replies and replies to abandoned requests go. */
		if (rep != NULL && !conn_keep_posted(c, rep))
			onestop__api_reply__free_unpacked(rep, NULL);
		rep = NULL;
	}
}

int conn_reply_code(struct onestop *c, Onestop__ApiReply *rep)
{
	int rc;

	if (rep->code == 0)
		return 0;
	const char *msg = rep->message ? rep->message : "";
	if (rep->code < OS_ERR_MIN || rep->code > 0) {
		conn_seterr(c, "spoke replied with unknown code %d: %s", (int)rep->code, msg);
		rc = ONESTOP_EPROTO;
	} else {
		conn_seterr(c, "%s", msg);
		rc = rep->code;
	}
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

int conn_call(struct onestop *c, Onestop__ApiRequest *req, int extra_ms, Onestop__ApiReply **out)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	*out = NULL;
	c->err[0] = '\0';
	if ((rc = conn_send(c, req)) != 0)
		return rc;
	uint64_t id = req->request_id;

	int64_t budget_ms = (int64_t)c->timeout_ms + extra_ms;
	uint64_t deadline_us = os_mono_us() + (uint64_t)budget_ms * 1000u;
	for (;;) {
		uint64_t now = os_mono_us();
		if (now >= deadline_us) {
			conn_timeout_err(c, (int)(budget_ms > 0x7fffffff ? 0x7fffffff : budget_ms));
			/* A new socket, so the late reply goes nowhere. */
			conn_open(c);
			return ONESTOP_ETIMEDOUT;
		}
		long wait_ms = (long)((deadline_us - now + 999) / 1000);
		zmq_pollitem_t item = {.socket = c->sock, .events = ZMQ_POLLIN};
		int n = zmq_poll(&item, 1, wait_ms);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			conn_seterr(c, "waiting for the spoke failed: %s", zmq_strerror(errno));
			conn_open(c);
			return ONESTOP_ECONN;
		}
		if (n == 0)
			continue;
		if (conn_read_reply(c, &rep) != 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			conn_seterr(c, "receiving from the spoke failed: %s", zmq_strerror(errno));
			conn_open(c);
			return ONESTOP_ECONN;
		}
		if (rep == NULL) {
			/* We cannot tell which request it answered; start afresh so
			 * the next call is not confused by what follows it. */
			conn_seterr(c, "undecodable reply from the spoke at %s", c->endpoint);
			conn_open(c);
			return ONESTOP_EPROTO;
		}
		/* The spoke answers a request it cannot decode with id 0; the
		 * library's requests always decode, so that answer is taken as
		 * the one to the request being waited for. */
		if (rep->request_id == id || (rep->request_id == 0 && rep->code != 0))
			break;
		/* The posted Recv's reply is kept for onestop_recv_take; a
		 * reply to a request given up on is not ours. */
		if (!conn_keep_posted(c, rep))
			onestop__api_reply__free_unpacked(rep, NULL);
		rep = NULL;
	}
	/* Whatever else came (the posted Recv's reply) is read now, until the
	 * socket has nothing more: only then does ZeroMQ signal the descriptor
	 * an event loop polls when the next reply comes. */
	if (c->post_id != 0 || c->fd_used)
		(void)conn_drain(c);

	if ((rc = conn_reply_code(c, rep)) != 0)
		return rc;
	*out = rep;
	return 0;
}
