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
#include "err.h"
#include "util.h"

_Static_assert(ONESTOP_EKEY == OS_EKEY && ONESTOP_EGAP == OS_EGAP && OS_ERR_MIN == ONESTOP_EGAP,
	       "onestop.h error codes must match common/err.h");

/* Longest type name (the registry's and the envelope's limit). */
#define LIB_TYPE_MAX 128

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
	c->next_id = ((uint64_t)getpid() << 32) ^ ((uint64_t)ts.tv_sec << 20) ^
		     (uint64_t)ts.tv_nsec;
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
	free(c->endpoint);
	free(c);
	*cp = NULL;
}

int onestop_send(onestop_t *c, const onestop_out_t *msgs, size_t n,
		 uint8_t (*ids)[ONESTOP_ID_LEN])
{
	Onestop__Outgoing *outs = NULL;
	Onestop__Outgoing **ptrs = NULL;
	Onestop__ApiReply *rep = NULL;
	int rc = ONESTOP_EINVAL;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (msgs == NULL || n < 1 || n > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "send takes 1..%d messages, not %zu", ONESTOP_MAX_BATCH, n);
		return ONESTOP_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (msgs[i].to == NULL || msgs[i].type == NULL ||
		    (msgs[i].payload == NULL && msgs[i].len > 0)) {
			conn_seterr(c, "message %zu lacks to, type or payload", i);
			return ONESTOP_EINVAL;
		}
	}
	outs = calloc(n, sizeof(*outs));
	ptrs = calloc(n, sizeof(*ptrs));
	if (outs == NULL || ptrs == NULL) {
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		onestop__outgoing__init(&outs[i]);
		/* protobuf-c's fields are not const; packing only reads them. */
		outs[i].destination = (char *)msgs[i].to;
		outs[i].type = (char *)msgs[i].type;
		outs[i].payload.data = (uint8_t *)msgs[i].payload;
		outs[i].payload.len = msgs[i].len;
		outs[i].ttl_s = msgs[i].ttl_s;
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

/* Length of s if it is at most max bytes, else SIZE_MAX; NULL counts as "". */
static size_t lib_strlen_max(const char *s, size_t max)
{
	if (s == NULL)
		return 0;
	size_t len = strnlen(s, max + 1);
	return len > max ? SIZE_MAX : len;
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

/* Copy a checked RecvResult into one allocation: the array of messages,
 * then every string and payload, so onestop_msgs_free is one free(). */
static int lib_copy_msgs(struct onestop *c, const Onestop__RecvResult *res,
			 onestop_msg_t **msgs)
{
	size_t n = res->n_messages;
	size_t total = n * sizeof(onestop_msg_t);

	for (size_t i = 0; i < n; i++) {
		const Onestop__Incoming *in = res->messages[i];
		size_t lo = lib_strlen_max(in->origin, OS_NAME_MAX - 1);
		size_t ld = lib_strlen_max(in->destination, OS_NAME_MAX - 1);
		size_t lt = lib_strlen_max(in->type, LIB_TYPE_MAX);
		if (in->id.len != ONESTOP_ID_LEN || lo == SIZE_MAX || ld == SIZE_MAX ||
		    lt == SIZE_MAX) {
			conn_seterr(c, "the spoke sent a malformed message (seq %llu)",
				    (unsigned long long)in->seq);
			return ONESTOP_EPROTO;
		}
		size_t add = lo + ld + lt + 3;
		/* The frame bounds every length, so this cannot wrap; check
		 * anyway rather than trust it. */
		if (in->payload.len > SIZE_MAX - add || total > SIZE_MAX - add - in->payload.len)
			return ONESTOP_ETOOBIG;
		total += add + in->payload.len;
	}

	char *block = malloc(total ? total : 1);
	if (block == NULL) {
		conn_seterr(c, "out of memory for %zu received bytes", total);
		return ONESTOP_ENOMEM;
	}
	onestop_msg_t *arr = (onestop_msg_t *)(void *)block;
	char *pos = block + n * sizeof(onestop_msg_t);
	for (size_t i = 0; i < n; i++) {
		const Onestop__Incoming *in = res->messages[i];
		onestop_msg_t *m = &arr[i];
		m->seq = in->seq;
		memcpy(m->id, in->id.data, ONESTOP_ID_LEN);
		m->origin = lib_put_str(&pos, in->origin,
					lib_strlen_max(in->origin, OS_NAME_MAX - 1));
		m->to = lib_put_str(&pos, in->destination,
				    lib_strlen_max(in->destination, OS_NAME_MAX - 1));
		m->type = lib_put_str(&pos, in->type, lib_strlen_max(in->type, LIB_TYPE_MAX));
		m->created_ms = in->created_ms;
		m->expires_ms = in->expires_ms;
		m->len = in->payload.len;
		m->payload = (const uint8_t *)pos;
		if (m->len > 0)
			memcpy(pos, in->payload.data, m->len);
		pos += m->len;
	}
	*msgs = arr;
	return 0;
}

int onestop_recv(onestop_t *c, size_t max, int wait_ms, onestop_msg_t **msgs, size_t *n)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (msgs != NULL)
		*msgs = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || msgs == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (max < 1 || max > ONESTOP_MAX_BATCH || wait_ms < 0) {
		conn_seterr(c, "recv takes max 1..%d and wait_ms >= 0", ONESTOP_MAX_BATCH);
		return ONESTOP_EINVAL;
	}
	Onestop__RecvRequest rr = ONESTOP__RECV_REQUEST__INIT;
	rr.max = (uint32_t)max;
	rr.wait_ms = (uint32_t)wait_ms;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_RECV;
	req.recv = &rr;
	if ((rc = conn_call(c, &req, wait_ms, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
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
	if ((rc = lib_copy_msgs(c, rep->recv, msgs)) != 0)
		goto out;
	*n = rep->recv->n_messages;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
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

int onestop_status(onestop_t *c, onestop_status_t *out)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (c == NULL || out == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
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
	size_t len = lib_strlen_max(s->node, sizeof(out->node) - 1);
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
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* Copy s into dst[size]; ONESTOP_EDECODE when it does not fit. */
static int lib_copy_field(char *dst, size_t size, const char *s)
{
	size_t len = lib_strlen_max(s, size - 1);
	if (len == SIZE_MAX)
		return ONESTOP_EDECODE;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	return 0;
}

int onestop_deadletter(const onestop_msg_t *m, onestop_deadletter_t *out)
{
	Onestop__DeadLetter *dl = NULL;
	int rc = ONESTOP_EDECODE;

	if (m == NULL || out == NULL || m->type == NULL ||
	    strcmp(m->type, ONESTOP_DEADLETTER_TYPE) != 0 ||
	    (m->payload == NULL && m->len > 0))
		return ONESTOP_EINVAL;
	memset(out, 0, sizeof(*out));
	dl = onestop__dead_letter__unpack(NULL, m->len, m->payload);
	if (dl == NULL)
		return ONESTOP_EDECODE;
	if (dl->id.len == ONESTOP_ID_LEN) {
		memcpy(out->id, dl->id.data, ONESTOP_ID_LEN);
		out->has_id = 1;
	} else if (dl->id.len != 0) {
		goto out;
	}
	if (lib_copy_field(out->to, sizeof(out->to), dl->destination) != 0 ||
	    lib_copy_field(out->type, sizeof(out->type), dl->type) != 0 ||
	    lib_copy_field(out->refused_by, sizeof(out->refused_by), dl->refused_by) != 0)
		goto out;
	/* The reason is prose for people: cut it rather than lose the letter. */
	if (dl->reason != NULL) {
		size_t len = strnlen(dl->reason, sizeof(out->reason) - 1);
		memcpy(out->reason, dl->reason, len);
		out->reason[len] = '\0';
	}
	out->code = dl->code;
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	onestop__dead_letter__free_unpacked(dl, NULL);
	return rc;
}

const char *onestop_strerror(int code)
{
	return os_strerror(code);
}

const char *onestop_last_error(const onestop_t *c)
{
	return c != NULL ? c->err : "";
}
