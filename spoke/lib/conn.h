/* libonestop internals: the connection handle and the one request/reply
 * exchange with the spoke's API socket that every public call is built on.
 * Not installed; only spoke/lib includes it. */
#ifndef ONESTOP_CONN_H
#define ONESTOP_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "onestop.pb-c.h"

/* Largest reply frame accepted from the spoke (ZMQ_MAXMSGSIZE): a Recv of
 * many large messages stays below it, and nothing larger is ever buffered. */
#define CONN_REPLY_MAX ((int64_t)512 << 20)
/* Largest request frame the library packs. */
#define CONN_REQUEST_MAX ((size_t)1 << 30)

struct onestop {
	void *ctx;
	void *sock; /* DEALER; NULL after a failed reconnect */
	char *endpoint;
	int timeout_ms;
	uint64_t next_id; /* request_id of the next request */
	char err[512];    /* onestop_last_error() */
	/* The posted Recv (onestop_recv_post), answered while the app does
	 * other things: post_id is 0 when none is posted. */
	uint64_t post_id;
	size_t post_max;
	uint64_t post_deadline_us;   /* when onestop_recv_take gives up */
	Onestop__ApiReply *post_rep; /* its reply, once read by any call */
	int post_lost;               /* its socket was replaced before the reply */
	int fd_used;                 /* onestop_fd was asked: an event loop polls */
};

/* Length of s if it is at most max bytes, else SIZE_MAX; NULL counts as
 * "". For bounding the strings of a reply before copying them. */
size_t conn_strlen_max(const char *s, size_t max);

/* Printf into c->err (truncating). */
void conn_seterr(struct onestop *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* (Re)create the DEALER socket and connect it; 0 or ONESTOP_ECONN /
 * ONESTOP_EINVAL (bad endpoint). Any earlier socket is closed first, so a
 * late reply to an abandoned request is never read; a posted Recv not
 * answered yet is then lost (post_lost). */
int conn_open(struct onestop *c);

/* Assign req's request_id and send it without waiting for the reply.
 * 0 or ONESTOP_ETOOBIG / ONESTOP_ENOMEM / ONESTOP_ETIMEDOUT (the socket
 * would not take it within the timeout; reconnected) / ONESTOP_ECONN. */
int conn_send(struct onestop *c, Onestop__ApiRequest *req);

/* Read every reply already at the socket without waiting, keeping the
 * posted Recv's (post_rep) and dropping the others, until the socket has
 * no more (which re-arms its ZMQ_FD). 0, or ONESTOP_ECONN when reading
 * failed (the socket is then reconnected). */
int conn_drain(struct onestop *c);

/* The outcome of a reply: 0 when its code is 0 (rep is left to the
 * caller); else the code relayed (ONESTOP_EPROTO for one this library does
 * not know) with the spoke's message in c->err, and rep is freed. */
int conn_reply_code(struct onestop *c, Onestop__ApiReply *rep);

/* Send req (its request_id is set here) and wait up to extra_ms plus the
 * request timeout for the reply with the same request_id; the posted
 * Recv's reply is kept (post_rep), replies with other ids are dropped. On
 * 0 *out is the decoded reply with code 0, which the caller frees with onestop__api_reply__free_unpacked and whose
 * result it must still check. A nonzero reply code is returned as the
 * error with the spoke's message in c->err. ONESTOP_ETIMEDOUT when no
 * reply came in time (the socket is then reconnected); ONESTOP_ECONN,
 * ONESTOP_EPROTO (undecodable reply), ONESTOP_ENOMEM, ONESTOP_ETOOBIG as
 * for conn_send. */
int conn_call(struct onestop *c, Onestop__ApiRequest *req, int extra_ms, Onestop__ApiReply **out);

#endif
