/* libonestop: the integrator API of onestop.h. Each call builds one
 * ApiRequest, exchanges it with the spoke (conn.c) and checks and copies
 * the ApiReply into the caller's plain C types. */
#include "onestop.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "conn.h"
#include "envelope.h"
#include "err.h"
#include "sized.h"
#include "util.h"

_Static_assert(ONESTOP_EKEY == OS_EKEY && ONESTOP_EGAP == OS_EGAP && ONESTOP_ESTATE == OS_ESTATE &&
		       ONESTOP_ECONFLICT == OS_ECONFLICT && ONESTOP_EOFFLINE == OS_EOFFLINE &&
		       OS_ERR_MIN == ONESTOP_EMATERIAL,
	       "onestop.h error codes must match common/err.h");

/* Longest type name (the registry's and the envelope's limit). */
#define LIB_TYPE_MAX 128

#ifndef ONESTOP_LIB_VERSION
#error "ONESTOP_LIB_VERSION (the project version) is set by spoke/lib/CMakeLists.txt"
#endif

const char *onestop_version(void)
{
	return ONESTOP_LIB_VERSION;
}

int onestop_connect(const char *endpoint, int timeout_ms, onestop_t **out)
{
	struct onestop *c = NULL;
	int rc = ONESTOP_EINVAL;

	if (out == NULL)
		return ONESTOP_EINVAL;
	*out = NULL;
	if (timeout_ms < 0)
		return ONESTOP_EINVAL;
	if (endpoint == NULL || endpoint[0] == '\0') {
		endpoint = getenv("ONESTOP_API");
		if (endpoint == NULL || endpoint[0] == '\0')
			endpoint = ONESTOP_DEFAULT_API;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ONESTOP_ENOMEM;
	c->timeout_ms = timeout_ms ? timeout_ms : 10000;
	c->endpoint = strdup(endpoint);
	if (c->endpoint == NULL) {
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	/* Start request ids somewhere different per process and time, so a
	 * spoke's logs tell connections apart; uniqueness within c is what
	 * matching needs, and the counter gives that. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	c->next_id =
		((uint64_t)getpid() << 32) ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)ts.tv_nsec;
	c->ctx = zmq_ctx_new();
	if (c->ctx == NULL) {
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	if ((rc = conn_open(c)) != 0)
		goto out;
	*out = c;
	c = NULL;
	rc = 0;
out:
	if (c != NULL)
		onestop_close(&c);
	return rc;
}

void onestop_close(onestop_t **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	struct onestop *c = *cp;
	if (c->sock != NULL)
		zmq_close(c->sock);
	if (c->ctx != NULL)
		zmq_ctx_term(c->ctx);
	if (c->post_rep != NULL)
		onestop__api_reply__free_unpacked(c->post_rep, NULL);
	free(c->endpoint);
	free(c);
	*cp = NULL;
}

int onestop_send_sized(onestop_t *c, const onestop_out_t *msgs, size_t n,
		       uint8_t (*ids)[ONESTOP_ID_LEN], size_t out_size)
{
	Onestop__Outgoing *outs = NULL;
	Onestop__Outgoing **ptrs = NULL;
	Onestop__ApiReply *rep = NULL;
	int rc = ONESTOP_EINVAL;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(out_size, SIZED_OUT_V1, _Alignof(onestop_out_t)) != 0) {
		conn_seterr(c, "onestop_out_t of %zu bytes is not one this library knows",
			    out_size);
		return ONESTOP_EINVAL;
	}
	if (msgs == NULL || n < 1 || n > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "send takes 1..%d messages, not %zu", ONESTOP_MAX_BATCH, n);
		return ONESTOP_EINVAL;
	}
	outs = calloc(n, sizeof(*outs));
	ptrs = calloc(n, sizeof(*ptrs));
	if (outs == NULL || ptrs == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		onestop_out_t m;
		if (sized_in(&m, sizeof(m), (const char *)msgs + i * out_size, out_size) != 0) {
			conn_seterr(c, "message %zu sets fields this library does not know", i);
			rc = ONESTOP_EINVAL;
			goto out;
		}
		if (m.to == NULL || m.type == NULL || (m.payload == NULL && m.len > 0) ||
		    (m.key == NULL && m.key_len > 0)) {
			conn_seterr(c, "message %zu lacks to, type, payload or key", i);
			rc = ONESTOP_EINVAL;
			goto out;
		}
		onestop__outgoing__init(&outs[i]);
		/* protobuf-c's fields are not const; packing only reads them. */
		outs[i].destination = (char *)m.to;
		outs[i].type = (char *)m.type;
		outs[i].payload.data = (uint8_t *)m.payload;
		outs[i].payload.len = m.len;
		outs[i].ttl_s = m.ttl_s;
		outs[i].key.data = (uint8_t *)m.key;
		outs[i].key.len = m.key_len;
		ptrs[i] = &outs[i];
	}
	Onestop__SendRequest sr = ONESTOP__SEND_REQUEST__INIT;
	sr.n_messages = n;
	sr.messages = ptrs;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_SEND;
	req.send = &sr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		goto out;

	rc = ONESTOP_EPROTO;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_SEND || rep->send == NULL ||
	    rep->send->n_ids != n) {
		conn_seterr(c, "the spoke's reply to Send does not list %zu ids", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (rep->send->ids[i].len != ONESTOP_ID_LEN) {
			conn_seterr(c, "the spoke's reply to Send has a %zu-byte id",
				    rep->send->ids[i].len);
			goto out;
		}
	}
	if (ids != NULL)
		for (size_t i = 0; i < n; i++)
			memcpy(ids[i], rep->send->ids[i].data, ONESTOP_ID_LEN);
	rc = 0;
out:
	if (rep != NULL)
		onestop__api_reply__free_unpacked(rep, NULL);
	free(ptrs);
	free(outs);
	return rc;
}

/* Copy a string into the block at *pos and advance it. */
static const char *lib_put_str(char **pos, const char *s, size_t len)
{
	char *dst = *pos;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	*pos += len + 1;
	return dst;
}

/* Copy a checked RecvResult into one allocation: the array of messages
 * (msg_size apart, the caller's layout), then every string and payload, so
 * onestop_msgs_free is one free(). */
static int lib_copy_msgs(struct onestop *c, const Onestop__RecvResult *res, onestop_msg_t **msgs,
			 size_t msg_size)
{
	size_t n = res->n_messages;
	size_t total = n * msg_size;

	for (size_t i = 0; i < n; i++) {
		const Onestop__Incoming *in = res->messages[i];
		size_t lo = conn_strlen_max(in->origin, OS_NAME_MAX - 1);
		size_t ld = conn_strlen_max(in->destination, OS_NAME_MAX - 1);
		size_t lt = conn_strlen_max(in->type, LIB_TYPE_MAX);
		if (in->id.len != ONESTOP_ID_LEN || lo == SIZE_MAX || ld == SIZE_MAX ||
		    lt == SIZE_MAX) {
			conn_seterr(c, "the spoke sent a malformed message (seq %llu)",
				    (unsigned long long)in->seq);
			return ONESTOP_EPROTO;
		}
		size_t add = lo + ld + lt + 3;
		/* The frame bounds every length, so this cannot wrap; check
		 * anyway rather than trust it. */
		if (in->payload.len > SIZE_MAX - add || total > SIZE_MAX - add - in->payload.len) {
			conn_seterr(c, "the spoke sent more than fits in memory");
			return ONESTOP_EPROTO;
		}
		total += add + in->payload.len;
	}

	char *block = malloc(total ? total : 1);
	if (block == NULL) {
		conn_seterr(c, "out of memory for %zu received bytes", total);
		return ONESTOP_ENOMEM;
	}
	char *pos = block + n * msg_size;
	for (size_t i = 0; i < n; i++) {
		const Onestop__Incoming *in = res->messages[i];
		onestop_msg_t msg;
		onestop_msg_t *m = &msg;
		memset(m, 0, sizeof(*m));
		m->seq = in->seq;
		memcpy(m->id, in->id.data, ONESTOP_ID_LEN);
		m->origin =
			lib_put_str(&pos, in->origin, conn_strlen_max(in->origin, OS_NAME_MAX - 1));
		m->to = lib_put_str(&pos, in->destination,
				    conn_strlen_max(in->destination, OS_NAME_MAX - 1));
		m->type = lib_put_str(&pos, in->type, conn_strlen_max(in->type, LIB_TYPE_MAX));
		m->created_ms = in->created_ms;
		m->expires_ms = in->expires_ms;
		m->len = in->payload.len;
		m->payload = (const uint8_t *)pos;
		if (m->len > 0)
			memcpy(pos, in->payload.data, m->len);
		pos += m->len;
		sized_out(block + i * msg_size, msg_size, m, sizeof(*m));
	}
	*msgs = (onestop_msg_t *)(void *)block;
	return 0;
}

/* Check a Recv reply with code 0 for at most max messages and copy them
 * out (*msgs, *n); frees rep. 0, ONESTOP_EPROTO or ONESTOP_ENOMEM. */
static int lib_recv_result(struct onestop *c, Onestop__ApiReply *rep, size_t max,
			   onestop_msg_t **msgs, size_t *n, size_t msg_size)
{
	int rc = ONESTOP_EPROTO;

	if (rep->result_case != ONESTOP__API_REPLY__RESULT_RECV || rep->recv == NULL) {
		conn_seterr(c, "the spoke's reply to Recv carries no messages list");
		goto out;
	}
	if (rep->recv->n_messages > max) {
		conn_seterr(c, "the spoke sent %zu messages, more than the %zu asked for",
			    rep->recv->n_messages, max);
		goto out;
	}
	if (rep->recv->n_messages == 0) {
		rc = 0;
		goto out;
	}
	if ((rc = lib_copy_msgs(c, rep->recv, msgs, msg_size)) != 0)
		goto out;
	*n = rep->recv->n_messages;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* The checks onestop_recv and onestop_recv_post share. */
static int lib_recv_args(struct onestop *c, size_t max, int wait_ms)
{
	if (max < 1 || max > ONESTOP_MAX_BATCH || wait_ms < 0) {
		conn_seterr(c, "recv takes max 1..%d and wait_ms >= 0", ONESTOP_MAX_BATCH);
		return ONESTOP_EINVAL;
	}
	if (c->post_id != 0) {
		conn_seterr(c, "a Recv is posted on this connection; take it first");
		return ONESTOP_EINVAL;
	}
	return 0;
}

static void lib_recv_request(Onestop__ApiRequest *req, Onestop__RecvRequest *rr, size_t max,
			     int wait_ms)
{
	rr->max = (uint32_t)max;
	rr->wait_ms = (uint32_t)wait_ms;
	req->op_case = ONESTOP__API_REQUEST__OP_RECV;
	req->recv = rr;
}

/* The outputs and the caller's message size of a receive: cleared, then
 * checked. 0 or ONESTOP_EINVAL. */
static int recv_out_check(onestop_t *c, onestop_msg_t **msgs, size_t *n, size_t msg_size)
{
	if (msgs != NULL)
		*msgs = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || msgs == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(msg_size, SIZED_MSG_V1, _Alignof(onestop_msg_t)) != 0) {
		conn_seterr(c, "onestop_msg_t of %zu bytes is not one this library knows",
			    msg_size);
		return ONESTOP_EINVAL;
	}
	return 0;
}

int onestop_recv_sized(onestop_t *c, size_t max, int wait_ms, onestop_msg_t **msgs, size_t *n,
		       size_t msg_size)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if ((rc = recv_out_check(c, msgs, n, msg_size)) != 0)
		return rc;
	if ((rc = lib_recv_args(c, max, wait_ms)) != 0)
		return rc;
	Onestop__RecvRequest rr = ONESTOP__RECV_REQUEST__INIT;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	lib_recv_request(&req, &rr, max, wait_ms);
	if ((rc = conn_call(c, &req, wait_ms, &rep)) != 0)
		return rc;
	return lib_recv_result(c, rep, max, msgs, n, msg_size);
}

int onestop_fd(onestop_t *c, int *fd)
{
	int rc;

	if (fd != NULL)
		*fd = -1;
	if (c == NULL || fd == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (c->sock == NULL && (rc = conn_open(c)) != 0)
		return rc == ONESTOP_EINVAL ? ONESTOP_ECONN : rc;
	int got = -1;
	size_t len = sizeof(got);
	if (zmq_getsockopt(c->sock, ZMQ_FD, &got, &len) != 0) {
		conn_seterr(c, "cannot read the socket's descriptor: %s", zmq_strerror(errno));
		return ONESTOP_ECONN;
	}
	*fd = got;
	c->fd_used = 1;
	return 0;
}

int onestop_recv_post(onestop_t *c, size_t max, int wait_ms)
{
	int rc;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if ((rc = lib_recv_args(c, max, wait_ms)) != 0)
		return rc;
	/* A reply kept from an earlier post that was not taken cannot be
	 * (lib_recv_args refuses while one is posted); drop any left over. */
	if (c->post_rep != NULL) {
		onestop__api_reply__free_unpacked(c->post_rep, NULL);
		c->post_rep = NULL;
	}
	c->post_lost = 0;
	Onestop__RecvRequest rr = ONESTOP__RECV_REQUEST__INIT;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	lib_recv_request(&req, &rr, max, wait_ms);
	if ((rc = conn_send(c, &req)) != 0)
		return rc;
	c->post_id = req.request_id;
	c->post_max = max;
	c->post_deadline_us = os_mono_us() + ((uint64_t)c->timeout_ms + (uint64_t)wait_ms) * 1000u;
	/* Sending may have let ZeroMQ take in what arrived: read it now, so
	 * that the descriptor signals for the next arrival. */
	if (c->fd_used)
		(void)conn_drain(c);
	return 0;
}

int onestop_recv_take_sized(onestop_t *c, onestop_msg_t **msgs, size_t *n, size_t msg_size)
{
	int rc;

	if ((rc = recv_out_check(c, msgs, n, msg_size)) != 0)
		return rc;
	if (c->post_lost) {
		c->post_lost = 0;
		conn_seterr(c, "the posted Recv was lost: the connection was re-established");
		return ONESTOP_ECONN;
	}
	if (c->post_id == 0) {
		conn_seterr(c, "no Recv is posted on this connection");
		return ONESTOP_EINVAL;
	}
	if (c->post_rep == NULL && (rc = conn_drain(c)) != 0) {
		/* The socket was replaced: the reply cannot come any more. */
		c->post_lost = 0;
		return rc;
	}
	if (c->post_rep == NULL) {
		if (os_mono_us() < c->post_deadline_us)
			return ONESTOP_EAGAIN;
		conn_seterr(c, "no reply to the posted Recv from the spoke at %s in time",
			    c->endpoint);
		c->post_id = 0;
		conn_open(c);
		return ONESTOP_ETIMEDOUT;
	}
	Onestop__ApiReply *rep = c->post_rep;
	size_t max = c->post_max;
	c->post_rep = NULL;
	c->post_id = 0;
	if ((rc = conn_reply_code(c, rep)) != 0)
		return rc == ONESTOP_EAGAIN ? ONESTOP_EFULL : rc;
	return lib_recv_result(c, rep, max, msgs, n, msg_size);
}

void onestop_msgs_free(onestop_msg_t **msgs, size_t n)
{
	(void)n;
	if (msgs == NULL)
		return;
	free(*msgs);
	*msgs = NULL;
}

int onestop_ack(onestop_t *c, const uint64_t *seqs, size_t n)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (n == 0)
		return 0;
	if (seqs == NULL || n > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "ack takes 0..%d seqs, not %zu", ONESTOP_MAX_BATCH, n);
		return ONESTOP_EINVAL;
	}
	Onestop__AckRequest ar = ONESTOP__ACK_REQUEST__INIT;
	ar.n_seqs = n;
	ar.seqs = (uint64_t *)seqs;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_ACK;
	req.ack = &ar;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;
	rc = 0;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_ACK) {
		conn_seterr(c, "the spoke's reply to Ack is not an AckResult");
		rc = ONESTOP_EPROTO;
	}
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

int onestop_status_sized(onestop_t *c, onestop_status_t *out_user, size_t out_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_status_t st;
	onestop_status_t *out = &st;
	int rc;

	if (c == NULL || out_user == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(out_size, SIZED_STATUS_V1, _Alignof(onestop_status_t)) != 0) {
		conn_seterr(c, "onestop_status_t of %zu bytes is not one this library knows",
			    out_size);
		return ONESTOP_EINVAL;
	}
	Onestop__StatusRequest sr = ONESTOP__STATUS_REQUEST__INIT;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_STATUS;
	req.status = &sr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__StatusResult *s = rep->status;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_STATUS || s == NULL) {
		conn_seterr(c, "the spoke's reply to Status is not a StatusResult");
		goto out;
	}
	size_t len = conn_strlen_max(s->node, sizeof(out->node) - 1);
	if (len == SIZE_MAX) {
		conn_seterr(c, "the spoke's node name is too long");
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (len > 0)
		memcpy(out->node, s->node, len);
	out->hub_connected = s->hub_connected ? 1 : 0;
	out->outbox = s->outbox;
	out->inbox = s->inbox;
	out->registry_version = s->registry_version;
	out->registry_expires_ms = s->registry_expires_ms;
	out->sent = s->sent;
	out->received = s->received;
	sized_out(out_user, out_size, out, sizeof(*out));
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

_Static_assert(sizeof(((onestop_deadletter_t *)0)->to) >= OS_NAME_MAX &&
		       sizeof(((onestop_deadletter_t *)0)->type) == ENV_TYPE_MAX + 1 &&
		       sizeof(((onestop_deadletter_t *)0)->reason) ==
			       sizeof(((struct env_deadletter *)0)->reason) &&
		       sizeof(((onestop_deadletter_t *)0)->refused_by) >= OS_NAME_MAX,
	       "onestop_deadletter_t must hold what env_deadletter_unpack decodes");

int onestop_deadletter_sized(const onestop_msg_t *m, onestop_deadletter_t *out, size_t out_size)
{
	struct env_deadletter dl;
	onestop_deadletter_t d;

	if (out == NULL ||
	    sized_check(out_size, SIZED_DEADLETTER_V1, _Alignof(onestop_deadletter_t)) != 0)
		return ONESTOP_EINVAL;
	memset(out, 0, out_size);
	if (m == NULL || m->type == NULL || strcmp(m->type, ONESTOP_DEADLETTER_TYPE) != 0 ||
	    (m->payload == NULL && m->len > 0))
		return ONESTOP_EINVAL;
	/* The one DeadLetter decoder (common/envelope.c): it cuts fields too
	 * long rather than lose the letter. */
	if (env_deadletter_unpack(m->payload, m->len, &dl) != 0)
		return ONESTOP_EDECODE;
	memset(&d, 0, sizeof(d));
	memcpy(d.id, dl.id, ONESTOP_ID_LEN);
	d.has_id = dl.has_id;
	memcpy(d.to, dl.destination, strlen(dl.destination) + 1);
	memcpy(d.type, dl.type, strlen(dl.type) + 1);
	d.code = dl.code;
	memcpy(d.reason, dl.reason, strlen(dl.reason) + 1);
	memcpy(d.refused_by, dl.refused_by, strlen(dl.refused_by) + 1);
	sized_out(out, out_size, &d, sizeof(d));
	return 0;
}

const char *onestop_strerror(int code)
{
	return os_strerror(code);
}

const char *onestop_last_error(const onestop_t *c)
{
	return c != NULL ? c->err : "";
}
