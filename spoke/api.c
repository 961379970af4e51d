/* The spoke's local API socket: apps (DEALER clients, or REQ) send
 * ApiRequests; each is checked, Sends are batch-signed into the outbox,
 * Acks delete inbox entries, reads are served by reads.c, and replies that
 * depend on the store go out only after the iteration's commit. Every
 * request that waits (a Recv for messages to arrive, a read for the hub to
 * fill a cached-mode miss) is held in the one wait table here, with its
 * deadline and what wakes it. */
#include "api.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <zmq.h>

#include "onestop.pb-c.h"

#include "casework.h"
#include "complaints.h"
#include "evaluate.h"
#include "crypto.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "inbox.h"
#include "outbox.h"
#include "reads.h"
#include "replica.h"
#include "replica_fetch.h"
#include "spoke.h"
#include "util.h"

#define API_MAX_BATCH 10000u       /* messages per Send, Recv, Ack or Put */
#define API_ROUTE_BYTES 256u       /* longest routing frame we echo */
#define API_MAX_ROUTE 4u           /* envelope frames before the body */
#define API_MAX_PARKED 10000u      /* Recv requests waiting at once */
#define API_RECV_BYTES (64u << 20) /* payload bytes in one Recv reply */
#define API_MAX_WAIT_MS 3600000u   /* longest Recv wait honoured */
#define API_MSG_LEN 512
#define API_RESERVED_TYPES "onestop." /* types only the spoke signs (cases, changes) */

/* The frames before a request's body (the ROUTER's routing id, and an
 * empty delimiter for a REQ client), echoed before its reply. buf holds
 * them concatenated (malloc'd; NULL once moved or freed). */
struct api_route {
	unsigned n;
	size_t len[API_MAX_ROUTE];
	uint8_t *buf;
	int fd; /* the connection's descriptor (ZMQ_SRCFD), -1 when unknown */
};

/* One request drained in this iteration, waiting for its reply. */
struct api_req {
	struct api_route route;
	uint64_t request_id;
	int op; /* Onestop__ApiRequest__OpCase */
	int code;
	char msg[API_MSG_LEN];
	Onestop__ApiRequest *req; /* unpacked; Send drafts point into it */
	os_msgid *ids;            /* Send, Put: the ids, once signed */
	uint8_t **puts;           /* Put: the packed ChangeRequests */
	size_t *put_lens;
	uint32_t acked;             /* Ack: entries deleted */
	uint64_t owner;             /* Recv: the connection it came on (api_conn_owner) */
	struct casework_result *cw; /* CaseFile, CaseAct: the outcome (malloc'd) */
	struct casework_write *w;   /* Rate, ComplaintFile, ComplaintAct (malloc'd) */
};

enum api_wait_kind {
	API_WAIT_RECV, /* wakes when inbox messages are free */
	API_WAIT_READ, /* wakes when its fetch has settled */
};

/* A request that waits: answered when what it waits for happens, or at
 * its deadline. */
struct api_wait {
	enum api_wait_kind kind;
	struct api_route route;
	uint64_t request_id;
	uint64_t deadline_us;
	uint32_t max;            /* Recv: messages at most */
	uint64_t owner;          /* Recv: the connection it came on */
	struct reads_wait *read; /* read: what it waits for (malloc'd) */
};

/* The local app behind a request, from SO_PEERCRED (ipc:// only). */
struct api_peer {
	int known;
	unsigned long uid, gid, pid;
};

#define API_RULE_MAX 32u
/* Who may do one kind of request: uids and gids (set: a rule was given;
 * unset, everyone who can open the socket). */
struct api_rule {
	int set;
	size_t n;
	char kind[API_RULE_MAX]; /* 'u' or 'g' */
	unsigned long id[API_RULE_MAX];
};

/* A connection to the API socket that made a Recv: the leases handed to
 * it end when the socket monitor says its descriptor disconnected. */
struct api_conn {
	uint64_t owner; /* > 0, never reused while the spoke runs */
	int gone;       /* its descriptor disconnected (or was accepted anew) */
	size_t id_len;  /* its routing id, to tell a reused descriptor */
	uint8_t id[API_ROUTE_BYTES];
};

/* The owner of a Recv whose connection is already gone: nothing is leased. */
#define API_OWNER_GONE UINT64_MAX

struct api {
	void *sock;
	struct api_rule allow_send, allow_publish, allow_issue;
	char ipc_path[sizeof(((struct sockaddr_un *)0)->sun_path)]; /* to remove at stop, or "" */
	struct api_req *reqs;
	size_t n_reqs, cap_reqs;
	struct api_wait *waits; /* in arrival order */
	size_t n_waits, cap_waits;
	size_t n_recv_waits;
	uint64_t pending_msgs; /* messages of this iteration's accepted Sends */
	void *mon;             /* PAIR receiving sock's connect/disconnect events, or NULL */
	struct map *conns;     /* struct api_conn (malloc'd) by descriptor, decimal */
	uint64_t last_owner;
};

static uint8_t api_empty[1];

static void api_route_free(struct api_route *rt)
{
	free(rt->buf);
	rt->buf = NULL;
	rt->n = 0;
}

static void api_fail(struct api_req *r, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void api_fail(struct api_req *r, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof r->msg, fmt, ap);
	va_end(ap);
	r->code = code;
}

static void api_free_buf(void *data, void *hint)
{
	(void)hint;
	free(data);
}

/* Send the packed reply buf (n bytes, malloc'd: taken over) to request
 * request_id behind rt's frames. A client that is gone or not reading
 * loses it; nothing else depends on it. */
static void api_send_packed(struct spoke *sp, const struct api_route *rt, uint64_t request_id,
			    uint8_t *buf, size_t n)
{
	void *s = sp->api->sock;
	size_t off = 0;
	for (unsigned i = 0; i < rt->n; i++) {
		if (zmq_send(s, rt->buf + off, rt->len[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
			goto fail;
		off += rt->len[i];
	}
	zmq_msg_t m;
	if (zmq_msg_init_data(&m, buf, n, api_free_buf, NULL) != 0)
		goto fail;
	buf = NULL;
	if (zmq_msg_send(&m, s, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		goto fail;
	}
	return;
fail:
	os_log(OS_LOG_DEBUG, "api_reply_lost", "request_id=%llu reason=%s",
	       (unsigned long long)request_id, OS_Q(zmq_strerror(errno)));
	free(buf);
}

static void api_reply_lost(uint64_t request_id)
{
	os_log(OS_LOG_ERROR, "api_reply_lost", "request_id=%llu code=ENOMEM",
	       (unsigned long long)request_id);
}

/* Pack rep and send it behind rt's frames. */
static void api_send_reply(struct spoke *sp, const struct api_route *rt,
			   const Onestop__ApiReply *rep)
{
	size_t n = onestop__api_reply__get_packed_size(rep);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf) {
		api_reply_lost(rep->request_id);
		return;
	}
	onestop__api_reply__pack(rep, buf);
	api_send_packed(sp, rt, rep->request_id, buf, n);
}

static void api_reply_code(struct spoke *sp, const struct api_route *rt, uint64_t request_id,
			   int code, const char *msg)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	rep.request_id = request_id;
	rep.code = code;
	if (code != 0)
		rep.message = (char *)(msg && msg[0] ? msg : os_strerror(code));
	api_send_reply(sp, rt, &rep);
}

/* ------------------------------------------------------------ connections
 * Leases end with the connection they were handed to: the socket monitor
 * reports each accepted and each disconnected descriptor, and every
 * request carries its descriptor (ZMQ_SRCFD) and routing id. */

static void api_wait_free(struct spoke *sp, struct api_wait *w);

/* The connection owner is gone: its leases end (its messages go out again
 * at once, lowest first) and its waiting Recvs are forgotten. */
static void api_conn_gone(struct spoke *sp, uint64_t owner)
{
	struct api *a = sp->api;
	size_t released = inbox_release(sp, owner), j = 0, dropped = 0;
	for (size_t i = 0; i < a->n_waits; i++) {
		struct api_wait *w = &a->waits[i];
		if (w->kind == API_WAIT_RECV && w->owner == owner) {
			api_wait_free(sp, w);
			dropped++;
			continue;
		}
		a->waits[j++] = *w;
	}
	a->n_waits = j;
	if (released > 0 || dropped > 0)
		os_log(OS_LOG_INFO, "app_gone", "conn=%llu released=%zu waits_dropped=%zu",
		       (unsigned long long)owner, released, dropped);
}

/* The owner of the leases handed to a Recv that came on rt: its
 * connection's, made on first sight; API_OWNER_GONE when that connection
 * has disconnected already; 0 (leases end by time only) when its
 * descriptor is unknown (no monitor, a transport without descriptors, or
 * out of memory). */
static uint64_t api_conn_owner(struct spoke *sp, const struct api_route *rt)
{
	struct api *a = sp->api;
	char key[16];
	if (!a->mon || rt->fd < 0 || rt->n == 0)
		return 0;
	snprintf(key, sizeof key, "%d", rt->fd);
	struct api_conn *c = map_get(a->conns, key);
	if (c && c->id_len == rt->len[0] && memcmp(c->id, rt->buf, rt->len[0]) == 0)
		return c->gone ? API_OWNER_GONE : c->owner;
	if (c && !c->gone)
		api_conn_gone(sp, c->owner); /* its descriptor is another's now */
	if (!c) {
		c = malloc(sizeof *c);
		if (!c || map_put(a->conns, key, c) < 0) {
			free(c);
			return 0;
		}
	}
	c->owner = ++a->last_owner;
	c->gone = 0;
	c->id_len = rt->len[0];
	memcpy(c->id, rt->buf, rt->len[0]);
	return c->owner;
}

/* Descriptor fd disconnected (accepted: 0) or was accepted for a new
 * connection (1): whatever used it before is gone. After a disconnect the
 * entry stays, marked, so that a request of that connection still queued
 * in the socket leases nothing; a new connection starts afresh (it may
 * bring the same routing id, if its app sets one). */
static void api_fd_event(struct spoke *sp, int fd, int accepted)
{
	struct api *a = sp->api;
	char key[16];
	snprintf(key, sizeof key, "%d", fd);
	struct api_conn *c = map_get(a->conns, key);
	if (!c)
		return;
	if (!c->gone) {
		c->gone = 1;
		api_conn_gone(sp, c->owner);
	}
	if (accepted)
		free(map_del(a->conns, key));
}

/* Read the monitor's events (two frames each: u16 event, u32 value; the
 * endpoint). The number read. */
static unsigned api_monitor_drain(struct spoke *sp, unsigned budget)
{
	struct api *a = sp->api;
	unsigned n = 0;
	if (!a || !a->mon)
		return 0;
	for (; n < budget; n++) {
		uint16_t event = 0;
		uint32_t value = 0;
		zmq_msg_t m;
		zmq_msg_init(&m);
		if (zmq_msg_recv(&m, a->mon, ZMQ_DONTWAIT) < 0) {
			zmq_msg_close(&m);
			break;
		}
		if (zmq_msg_size(&m) >= 6) {
			memcpy(&event, zmq_msg_data(&m), 2);
			memcpy(&value, (uint8_t *)zmq_msg_data(&m) + 2, 4);
		}
		while (zmq_msg_more(&m)) {
			zmq_msg_close(&m);
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, a->mon, 0) < 0)
				break;
		}
		zmq_msg_close(&m);
		if (event == ZMQ_EVENT_DISCONNECTED || event == ZMQ_EVENT_ACCEPTED)
			api_fd_event(sp, (int)value, event == ZMQ_EVENT_ACCEPTED);
	}
	return n;
}

/* Watch the API socket's connections (before it binds). Without a
 * monitor leases still end, after INBOX_LEASE_MS: logged, not fatal. */
static void api_monitor_open(struct spoke *sp)
{
	struct api *a = sp->api;
	char addr[64];
	int zero = 0;
	snprintf(addr, sizeof addr, "inproc://onestop-api-monitor-%p", (void *)a);
	if (map_new(&a->conns) == 0 &&
	    zmq_socket_monitor(a->sock, addr, ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED) == 0 &&
	    (a->mon = zmq_socket(sp->zctx, ZMQ_PAIR)) != NULL &&
	    zmq_setsockopt(a->mon, ZMQ_LINGER, &zero, sizeof zero) == 0 &&
	    zmq_connect(a->mon, addr) == 0)
		return;
	os_log(OS_LOG_WARN, "api_monitor",
	       "reason=%s effect=\"an app's leases end after %u ms, not when it disconnects\"",
	       OS_Q(zmq_strerror(errno)), INBOX_LEASE_MS);
	if (a->mon)
		zmq_close(a->mon);
	a->mon = NULL;
	zmq_socket_monitor(a->sock, NULL, 0);
}

static void api_monitor_close(struct api *a)
{
	if (a->mon) {
		zmq_socket_monitor(a->sock, NULL, 0);
		zmq_close(a->mon);
		a->mon = NULL;
	}
	if (a->conns) {
		size_t pos = 0;
		void *c;
		while ((c = map_next(a->conns, &pos, NULL)) != NULL)
			free(c);
		map_free(&a->conns);
	}
}

/* ------------------------------------------------------------ receiving */

/* Receive one request: its routing frames into rt, its last frame into
 * body. 1 got one, 0 nothing waiting, -1 dropped (unusable envelope). */
/* The peer of message m: libzmq names an ipc peer ":UID:GID:PID" in the
 * Peer-Address property when it has SO_PEERCRED. */
static void api_peer_of(zmq_msg_t *m, struct api_peer *peer)
{
	const char *pa = zmq_msg_gets(m, "Peer-Address");
	unsigned long v[3];
	int n = 0;

	memset(peer, 0, sizeof *peer);
	if (!pa)
		return;
	const char *p = pa + strlen(pa);
	/* The three numbers after the last three colons. */
	while (n < 3 && p > pa) {
		const char *c = p;
		while (c > pa && c[-1] != ':')
			c--;
		if (c == pa || c == p)
			return;
		char *end;
		errno = 0;
		v[2 - n] = strtoul(c, &end, 10);
		if (errno || end != p)
			return;
		n++;
		p = c - 1;
	}
	if (n != 3)
		return;
	peer->known = 1;
	peer->uid = v[0];
	peer->gid = v[1];
	peer->pid = v[2];
}

static int api_recv(struct api *a, struct api_route *rt, zmq_msg_t *body, struct api_peer *peer)
{
	uint8_t frames[API_MAX_ROUTE][API_ROUTE_BYTES];
	size_t lens[API_MAX_ROUTE], total = 0;
	unsigned n = 0;
	int bad = 0;
	zmq_msg_t m;

	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, a->sock, ZMQ_DONTWAIT) < 0) {
		zmq_msg_close(&m);
		return 0;
	}
	while (zmq_msg_more(&m)) {
		size_t len = zmq_msg_size(&m);
		if (n < API_MAX_ROUTE && len <= API_ROUTE_BYTES) {
			memcpy(frames[n], zmq_msg_data(&m), len);
			lens[n++] = len;
			total += len;
		} else {
			bad = 1;
		}
		zmq_msg_close(&m);
		zmq_msg_init(&m);
		/* The parts of one message arrive together. */
		if (zmq_msg_recv(&m, a->sock, 0) < 0) {
			zmq_msg_close(&m);
			return -1;
		}
	}
	if (n == 0 || bad || !(rt->buf = malloc(total ? total : 1))) {
		zmq_msg_close(&m);
		return -1;
	}
	size_t off = 0;
	for (unsigned i = 0; i < n; i++) {
		memcpy(rt->buf + off, frames[i], lens[i]);
		rt->len[i] = lens[i];
		off += lens[i];
	}
	rt->n = n;
	api_peer_of(&m, peer);
	rt->fd = zmq_msg_get(&m, ZMQ_SRCFD);
	zmq_msg_move(body, &m);
	zmq_msg_close(&m);
	return 1;
}

static void api_req_free_puts(struct api_req *r)
{
	if (r->puts)
		for (size_t i = 0; i < r->req->put->n_puts; i++)
			free(r->puts[i]);
	free(r->puts);
	free(r->put_lens);
	r->puts = NULL;
	r->put_lens = NULL;
}

static struct api_req *api_req_add(struct api *a)
{
	if (a->n_reqs == a->cap_reqs) {
		size_t cap = a->cap_reqs ? a->cap_reqs * 2 : 64;
		struct api_req *n = realloc(a->reqs, cap * sizeof *n);
		if (!n)
			return NULL;
		a->reqs = n;
		a->cap_reqs = cap;
	}
	struct api_req *r = &a->reqs[a->n_reqs++];
	memset(r, 0, sizeof *r);
	return r;
}

static void api_refused(struct spoke *sp, const struct api_req *r)
{
	sp->stats.refused++;
	/* A Put's reason may quote keys. A full store has its own lines
	 * (store_full, store_still_full): one per refused request would
	 * flood the log while an app retries. */
	os_log(r->code == OS_ESTOREFULL ? OS_LOG_DEBUG : OS_LOG_INFO,
	       r->op == ONESTOP__API_REQUEST__OP_PUT ? "put_refused" : "send_refused",
	       "request_id=%llu code=%s reason=%s", (unsigned long long)r->request_id,
	       os_errname(r->code), OS_Q(r->msg));
}

/* Messages a pending Send or Put signs. */
static size_t api_req_count(const struct api_req *r)
{
	return r->op == ONESTOP__API_REQUEST__OP_PUT ? r->req->put->n_puts
						     : r->req->send->n_messages;
}

/* The checks every Send and Put starts with: 1..API_MAX_BATCH items
 * (what names them: "messages", "changes") and a current registry. 0, or
 * -1 with r failed. */
static int api_check_batch(struct spoke *sp, struct api_req *r, const char *op, const char *what,
			   size_t n, uint64_t now_ms)
{
	if (n == 0 || n > API_MAX_BATCH) {
		api_fail(r, OS_EINVAL, "a %s carries 1..%u %s, this one %zu", op, API_MAX_BATCH,
			 what, n);
		return -1;
	}
	if (spoke_registry_expired(sp, now_ms)) {
		api_fail(
			r, OS_EEXPIRED,
			"the registry (version %llu) has expired; new %s are refused until a current one arrives",
			(unsigned long long)sp->reg->version, what);
		return -1;
	}
	return 0;
}

/* Reserve room for n messages in the outbox quota (they are signed and
 * stored at the end of the iteration). 0, or -1 with r failed. */
static int api_reserve(struct spoke *sp, struct api_req *r, size_t n)
{
	uint64_t held = sp->ob.count + sp->api->pending_msgs;
	if (held + n > (uint64_t)sp->conf.outbox_quota) {
		api_fail(r, OS_EFULL, "the outbox is full (%llu of %lld messages); retry later",
			 (unsigned long long)held, sp->conf.outbox_quota);
		return -1;
	}
	sp->api->pending_msgs += n;
	return 0;
}

/* Check a Put: each change is packed and checked locally against the
 * registry and the copy held here (the hub checks again), then it waits
 * to be signed with the iteration's Sends. */
static void api_check_put(struct spoke *sp, struct api_req *r, uint64_t now_ms)
{
	const Onestop__PutRequest *p = r->req->put;
	size_t n = p->n_puts;
	char reason[API_MSG_LEN];
	int rc;
	if (api_check_batch(sp, r, "Put", "changes", n, now_ms) < 0)
		goto refused;
	r->puts = calloc(n, sizeof *r->puts);
	r->put_lens = calloc(n, sizeof *r->put_lens);
	if (!r->puts || !r->put_lens) {
		api_fail(r, OS_ENOMEM, "out of memory");
		goto refused;
	}
	for (size_t i = 0; i < n; i++) {
		const Onestop__DatasetPut *d = p->puts[i];
		if (!d) {
			api_fail(r, OS_EDECODE, "change %zu is missing", i);
			goto refused;
		}
		if (!d->dataset || os_name_valid(d->dataset) != 0) {
			api_fail(r, OS_EINVAL,
				 "change %zu: the dataset must be a name like \"items\"", i);
			goto refused;
		}
		if (!d->key || ds_key_valid(d->key) != 0) {
			api_fail(r, OS_EINVAL,
				 "change %zu: the key must be 1..%u printable ASCII characters", i,
				 DS_KEY_MAX);
			goto refused;
		}
		rc = ds_change_pack(d->dataset, d->key, d->delete_, d->value.data, d->value.len,
				    &r->puts[i], &r->put_lens[i]);
		if (rc < 0) {
			api_fail(r, rc, "change %zu (%s): %s", i, d->key,
				 rc == OS_ETOOBIG ? "the value is larger than 65536 bytes"
						  : os_strerror(rc));
			goto refused;
		}
		reason[0] = '\0';
		rc = replica_put_check(sp, d->dataset, d->key, d->delete_, d->value.data,
				       d->value.len, reason, sizeof reason);
		if (rc < 0) {
			api_fail(r, rc, "change %zu: %s", i, reason[0] ? reason : os_strerror(rc));
			goto refused;
		}
	}
	if (api_reserve(sp, r, n) == 0)
		return;
refused:
	api_refused(sp, r);
}

static int api_key_cmp(const void *a, const void *b)
{
	const ProtobufCBinaryData *x = *(ProtobufCBinaryData *const *)a;
	const ProtobufCBinaryData *y = *(ProtobufCBinaryData *const *)b;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return memcmp(x->data, y->data, x->len);
}

/* The idempotency keys of one Send are distinct (two messages of one
 * request under one key is an app's mistake, not a retry). 0, or -1 with
 * r failed. */
static int api_keys_distinct(struct api_req *r)
{
	const Onestop__SendRequest *s = r->req->send;
	ProtobufCBinaryData **keys = NULL;
	size_t nk = 0;
	int rc = 0;
	for (size_t i = 0; i < s->n_messages; i++)
		nk += s->messages[i]->key.len > 0;
	if (nk < 2)
		return 0;
	if (!(keys = malloc(nk * sizeof *keys))) {
		api_fail(r, OS_ENOMEM, "out of memory");
		return -1;
	}
	nk = 0;
	for (size_t i = 0; i < s->n_messages; i++)
		if (s->messages[i]->key.len > 0)
			keys[nk++] = &s->messages[i]->key;
	qsort(keys, nk, sizeof *keys, api_key_cmp);
	for (size_t i = 1; i < nk && rc == 0; i++) {
		if (api_key_cmp(&keys[i - 1], &keys[i]) == 0) {
			api_fail(r, OS_EINVAL, "two messages of this Send carry the same key");
			rc = -1;
		}
	}
	free(keys);
	return rc;
}

static void api_check_send(struct spoke *sp, struct api_req *r, uint64_t now_ms)
{
	const Onestop__SendRequest *s = r->req->send;
	size_t n = s->n_messages;
	if (api_check_batch(sp, r, "Send", "messages", n, now_ms) < 0)
		goto refused;
	for (size_t i = 0; i < n; i++) {
		const Onestop__Outgoing *o = s->messages[i];
		if (!o) {
			api_fail(r, OS_EDECODE, "message %zu is missing", i);
			goto refused;
		}
		if (!o->destination || os_dest_valid(o->destination) != 0) {
			api_fail(
				r, OS_ENAME,
				"message %zu: destination is not a node name or @topic (lowercase dotted labels [a-z0-9-]{1,32})",
				i);
			goto refused;
		}
		if (!o->type || os_type_valid(o->type) != 0) {
			api_fail(r, OS_EINVAL, "message %zu: type must match [A-Za-z0-9._-]{1,128}",
				 i);
			goto refused;
		}
		if (strncmp(o->type, API_RESERVED_TYPES, strlen(API_RESERVED_TYPES)) == 0) {
			api_fail(r, OS_ENOTALLOWED,
				 "message %zu: types beginning \"%s\" are made by the spoke only",
				 i, API_RESERVED_TYPES);
			goto refused;
		}
		if (o->payload.len > (size_t)sp->conf.max_message_bytes) {
			api_fail(
				r, OS_ETOOBIG,
				"message %zu: payload of %zu bytes is over max_message_bytes (%lld)",
				i, o->payload.len, sp->conf.max_message_bytes);
			goto refused;
		}
		/* The exact check, of the signed envelope, follows the signing
		 * (api_store_req); a payload alone over the hub's limit is
		 * refused before it costs a signature. */
		if (o->payload.len > spoke_hub_limit(sp)) {
			api_fail(
				r, OS_ETOOBIG,
				"message %zu: payload of %zu bytes is over the hub's limit on a signed message (hub_max_message_bytes %lld)",
				i, o->payload.len, (long long)spoke_hub_limit(sp));
			goto refused;
		}
		if (o->key.len > OUTBOX_KEY_MAX) {
			api_fail(r, OS_EINVAL, "message %zu: key of %zu bytes is over %u", i,
				 o->key.len, OUTBOX_KEY_MAX);
			goto refused;
		}
	}
	if (api_keys_distinct(r) < 0)
		goto refused;
	if (api_reserve(sp, r, n) == 0)
		return;
refused:
	api_refused(sp, r);
}

static int api_do_ack(struct spoke *sp, struct api_req *r)
{
	const Onestop__AckRequest *a = r->req->ack;
	if (a->n_seqs > API_MAX_BATCH) {
		api_fail(r, OS_EINVAL, "an Ack carries 0..%u seqs, this one %zu", API_MAX_BATCH,
			 a->n_seqs);
		return 0;
	}
	int rc = inbox_ack(sp, a->seqs, a->n_seqs, &r->acked);
	if (rc < 0)
		api_fail(r, rc, "the inbox could not be updated: %s", os_strerror(rc));
	return rc;
}

/* 1 when rule lets peer through. */
static int api_rule_allows(const struct api_rule *rule, const struct api_peer *peer)
{
	if (!rule->set)
		return 1;
	if (!peer->known)
		return 0; /* a rule is set and the peer cannot be named */
	for (size_t i = 0; i < rule->n; i++)
		if ((rule->kind[i] == 'u' && rule->id[i] == peer->uid) ||
		    (rule->kind[i] == 'g' && rule->id[i] == peer->gid))
			return 1;
	return 0;
}

/* Refuse r (OS_EPEER, logged at a limited rate) when its peer may not do
 * what it asks: 1 refused, 0 go on. */
static int api_peer_refused(struct api *a, struct api_req *r, const struct api_peer *peer)
{
	static struct os_log_limit lim = OS_LOG_LIMIT(20, 60000);
	const struct api_rule *rule = NULL;
	const char *what = NULL, *opt = NULL;

	if (r->op == ONESTOP__API_REQUEST__OP_SEND)
		rule = &a->allow_send, what = "send", opt = "api_allow_send";
	else if (r->op == ONESTOP__API_REQUEST__OP_CASE_FILE ||
		 r->op == ONESTOP__API_REQUEST__OP_CASE_ACT)
		rule = &a->allow_send, what = "file or move cases", opt = "api_allow_send";
	else if (r->op == ONESTOP__API_REQUEST__OP_RATE ||
		 r->op == ONESTOP__API_REQUEST__OP_COMPLAINT_FILE ||
		 r->op == ONESTOP__API_REQUEST__OP_COMPLAINT_ACT)
		rule = &a->allow_send, what = "rate cases or file complaints",
		opt = "api_allow_send";
	else if (r->op == ONESTOP__API_REQUEST__OP_PUT)
		rule = &a->allow_publish, what = "publish", opt = "api_allow_publish";
	else if (r->op == ONESTOP__API_REQUEST__OP_ASSERT_ISSUE)
		rule = &a->allow_issue, what = "issue assertions", opt = "api_allow_issue";
	if (!rule || api_rule_allows(rule, peer))
		return 0;
	if (peer->known)
		api_fail(r, OS_EPEER, "uid %lu gid %lu may not %s here (%s)", peer->uid, peer->gid,
			 what, opt);
	else
		api_fail(r, OS_EPEER, "an app whose uid is unknown may not %s here (%s)", what,
			 opt);
	os_log_limited(&lim, OS_LOG_WARN, "api_peer_refused",
		       "request_id=%llu op=%s uid=%lu gid=%lu pid=%lu known=%d",
		       (unsigned long long)r->request_id, what, peer->uid, peer->gid, peer->pid,
		       peer->known);
	return 1;
}

/* A filing or a transition, made in the iteration's transaction
 * (casework.c); its messages are signed in casework's work phase. 0 or
 * the store error that poisoned the iteration. */
static int api_case_write(struct spoke *sp, struct api_req *r)
{
	int rc;
	if (!(r->cw = calloc(1, sizeof *r->cw))) {
		api_fail(r, OS_ENOMEM, "out of memory");
		return 0;
	}
	if (r->op == ONESTOP__API_REQUEST__OP_CASE_FILE)
		rc = casework_file(sp, r->req->case_file, r->cw);
	else
		rc = casework_act(sp, r->req->case_act, r->cw);
	if (rc < 0)
		api_fail(r, rc, "the case could not be stored: %s", os_strerror(rc));
	else if (r->cw->code < 0)
		api_fail(r, r->cw->code, "%s", r->cw->msg);
	if (r->code < 0)
		os_log(OS_LOG_INFO, "case_refused", "request_id=%llu code=%s reason=%s",
		       (unsigned long long)r->request_id, os_errname(r->code), OS_Q(r->msg));
	return rc;
}

/* A rating or a complaint's filing or step, made in the iteration's
 * transaction (evaluate.c, complaints.c); answered after the commit with
 * the reply the module packed. 0 or the store error that poisoned the
 * iteration. */
static int api_other_write(struct spoke *sp, struct api_req *r)
{
	int rc;
	if (!(r->w = calloc(1, sizeof *r->w))) {
		api_fail(r, OS_ENOMEM, "out of memory");
		return 0;
	}
	if (r->op == ONESTOP__API_REQUEST__OP_RATE)
		rc = evaluate_rate(sp, r->request_id, r->req->rate, r->w);
	else
		rc = complaints_write(sp, r->req, r->w);
	if (rc < 0)
		api_fail(r, rc, "the request could not be stored: %s", os_strerror(rc));
	else if (r->w->code < 0)
		api_fail(r, r->w->code, "%s", r->w->msg);
	else if (!r->w->reply)
		api_fail(r, OS_ENOMEM, "out of memory");
	if (r->code < 0)
		os_log(OS_LOG_INFO, "request_refused", "request_id=%llu code=%s reason=%s",
		       (unsigned long long)r->request_id, os_errname(r->code), OS_Q(r->msg));
	return rc;
}

/* A Stats request with rebuild: recount every stored supervision event in
 * the iteration's transaction; the figures are read after the commit. 0
 * or the store error that poisoned the iteration. */
static int api_stats_rebuild(struct spoke *sp, struct api_req *r)
{
	int rc = casework_rebuild_stats(sp);
	if (rc == OS_ENOTALLOWED) {
		api_fail(r, rc, "this node has no role supervisor: it counts no events");
		return 0;
	}
	if (rc < 0)
		api_fail(r, rc, "the supervision records could not be rebuilt: %s",
			 os_strerror(rc));
	return rc;
}

/* Answer a filing or a transition, once committed. */
static void api_reply_case(struct spoke *sp, const struct api_req *r)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__CaseFileResult f = ONESTOP__CASE_FILE_RESULT__INIT;
	Onestop__CaseActResult act = ONESTOP__CASE_ACT_RESULT__INIT;
	rep.request_id = r->request_id;
	if (r->op == ONESTOP__API_REQUEST__OP_CASE_FILE) {
		f.case_id.data = r->cw->id;
		f.case_id.len = sizeof r->cw->id;
		f.owner = r->cw->owner;
		f.duplicate = r->cw->duplicate;
		rep.result_case = ONESTOP__API_REPLY__RESULT_CASE_FILE;
		rep.case_file = &f;
	} else {
		act.seq = r->cw->seq;
		act.pending = r->cw->pending;
		act.licence = r->cw->licence;
		rep.result_case = ONESTOP__API_REPLY__RESULT_CASE_ACT;
		rep.case_act = &act;
	}
	api_send_reply(sp, &r->route, &rep);
}

/* api_drain, counting the requests received into *count. */
static int api_drain_count(struct spoke *sp, unsigned budget, unsigned *count)
{
	struct api *a = sp->api;
	uint64_t now_ms = os_now_ms();
	int rc = 0;
	*count = 0;
	for (unsigned i = 0; i < budget && rc == 0; i++) {
		struct api_route rt = {0};
		struct api_peer peer;
		zmq_msg_t body;
		zmq_msg_init(&body);
		int got = api_recv(a, &rt, &body, &peer);
		if (got == 0) {
			zmq_msg_close(&body);
			break;
		}
		(*count)++;
		if (got < 0) {
			os_log(OS_LOG_DEBUG, "api_bad_envelope",
			       "reason=\"unusable routing frames\"");
			zmq_msg_close(&body);
			continue;
		}
		struct api_req *r = api_req_add(a);
		if (!r) {
			os_log(OS_LOG_ERROR, "api_request_lost", "code=ENOMEM");
			api_route_free(&rt);
			zmq_msg_close(&body);
			continue;
		}
		r->route = rt;
		r->req = onestop__api_request__unpack(NULL, zmq_msg_size(&body),
						      zmq_msg_data(&body));
		zmq_msg_close(&body);
		if (!r->req) {
			r->op = ONESTOP__API_REQUEST__OP__NOT_SET;
			api_fail(r, OS_EDECODE, "malformed ApiRequest");
			continue;
		}
		r->request_id = r->req->request_id;
		r->op = (int)r->req->op_case;
		if (api_peer_refused(a, r, &peer))
			continue;
		switch (r->req->op_case) {
		case ONESTOP__API_REQUEST__OP_SEND:
			api_check_send(sp, r, now_ms);
			break;
		case ONESTOP__API_REQUEST__OP_ACK:
			rc = api_do_ack(sp, r);
			break;
		case ONESTOP__API_REQUEST__OP_PUT:
			api_check_put(sp, r, now_ms);
			break;
		case ONESTOP__API_REQUEST__OP_ASSERT_VERIFY: {
			/* A single-use verify spends the nonce in this iteration's
			 * transaction; served after the commit. */
			int code = reads_claim(sp, r->req, r->msg, sizeof r->msg);
			if (code < 0)
				r->code = code;
			break;
		}
		case ONESTOP__API_REQUEST__OP_RECV:
			r->owner = api_conn_owner(sp, &r->route);
			break; /* served after the commit */
		case ONESTOP__API_REQUEST__OP_CASE_FILE:
		case ONESTOP__API_REQUEST__OP_CASE_ACT:
			rc = api_case_write(sp, r);
			break; /* answered after the commit */
		case ONESTOP__API_REQUEST__OP_RATE:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_FILE:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_ACT:
			rc = api_other_write(sp, r);
			break; /* answered after the commit */
		case ONESTOP__API_REQUEST__OP_STATS:
			if (r->req->stats && r->req->stats->rebuild)
				rc = api_stats_rebuild(sp, r);
			break; /* answered after the commit */
		case ONESTOP__API_REQUEST__OP_CASE_GET:
		case ONESTOP__API_REQUEST__OP_CASE_LIST:
		case ONESTOP__API_REQUEST__OP_LICENCE_VERIFY:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_GET:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_LIST:
		case ONESTOP__API_REQUEST__OP_MARKET:
		case ONESTOP__API_REQUEST__OP_STATUS:
		case ONESTOP__API_REQUEST__OP_GET:
		case ONESTOP__API_REQUEST__OP_LIST:
		case ONESTOP__API_REQUEST__OP_DATASETS:
		case ONESTOP__API_REQUEST__OP_ASSERT_ISSUE:
			break; /* served after the commit */
		default:
			api_fail(r, OS_EINVAL, "the request names no operation");
			break;
		}
	}
	return rc;
}

int api_drain(struct spoke *sp, unsigned budget)
{
	unsigned n;
	return api_drain_count(sp, budget, &n);
}

/* ------------------------------------------------------------ signing */

static int api_is_pending_send(const struct api_req *r)
{
	return (r->op == ONESTOP__API_REQUEST__OP_SEND || r->op == ONESTOP__API_REQUEST__OP_PUT) &&
	       r->code == 0 && !r->ids;
}

/* What an idempotency key vouches for: destination, type and payload. */
static void api_digest(const Onestop__Outgoing *o, os_hash out)
{
	os_hash_state st;
	const char *parts[2] = {o->destination, o->type};
	uint8_t len[4];
	crypto_digest_init(&st);
	for (int i = 0; i < 2; i++) {
		size_t l = strlen(parts[i]);
		len[0] = (uint8_t)(l >> 24);
		len[1] = (uint8_t)(l >> 16);
		len[2] = (uint8_t)(l >> 8);
		len[3] = (uint8_t)l;
		crypto_digest_update(&st, len, sizeof len);
		crypto_digest_update(&st, (const uint8_t *)parts[i], strlen(parts[i]));
	}
	crypto_digest_update(&st, o->payload.data ? o->payload.data : api_empty, o->payload.len);
	crypto_digest_final(&st, out);
}

/* Store one signed request (out, olen, ids: its envelopes) in the
 * iteration's transaction, all or nothing: each envelope must fit the
 * hub's limit; a message whose key was accepted within the window takes
 * the original id and is not stored again, one whose key named other
 * contents fails the request (EEXIST); the others are appended with their
 * keys. On success r->ids holds the reply's ids. 0 (r may have failed), or
 * a store error (the iteration is poisoned). */
static int api_store_req(struct spoke *sp, struct api_req *r, uint8_t **out, const size_t *olen,
			 os_msgid *ids, uint64_t now_ms)
{
	size_t n = api_req_count(r);
	const Onestop__SendRequest *s =
		r->op == ONESTOP__API_REQUEST__OP_SEND ? r->req->send : NULL;
	uint8_t *dup = NULL;
	os_hash *dg = NULL;
	int rc = 0;
	for (size_t m = 0; m < n; m++) {
		if (olen[m] > spoke_hub_limit(sp)) {
			api_fail(
				r, OS_ETOOBIG,
				"message %zu: its signed envelope of %zu bytes is over the hub's limit (hub_max_message_bytes %lld)",
				m, olen[m], (long long)spoke_hub_limit(sp));
			api_refused(sp, r);
			return 0;
		}
	}
	for (size_t m = 0; s && m < n; m++) {
		const Onestop__Outgoing *o = s->messages[m];
		os_msgid orig;
		if (o->key.len == 0)
			continue;
		if (!dup && (!(dup = calloc(n, 1)) || !(dg = calloc(n, sizeof *dg)))) {
			api_fail(r, OS_ENOMEM, "out of memory");
			api_refused(sp, r);
			goto out;
		}
		api_digest(o, dg[m]);
		rc = outbox_key_find(sp, o->key.data, o->key.len, dg[m], now_ms, orig);
		if (rc == OS_EEXIST) {
			char hex[2 * sizeof(os_msgid) + 1];
			os_hex(hex, orig, sizeof orig);
			api_fail(
				r, OS_EEXIST,
				"message %zu: its key was given to another message (id %s) within send_key_window_s",
				m, hex);
			api_refused(sp, r);
			rc = 0;
			goto out;
		}
		if (rc == 0) {
			dup[m] = 1;
			memcpy(ids[m], orig, sizeof orig);
		} else if (rc != OS_ENOTFOUND) {
			spoke_wrote(sp, rc);
			goto out;
		}
		rc = 0;
	}
	for (size_t m = 0; m < n && rc == 0; m++) {
		if (dup && dup[m])
			continue;
		rc = outbox_append(sp, out[m], olen[m], NULL);
		if (rc == 0 && s && s->messages[m]->key.len > 0)
			rc = outbox_key_put(sp, s->messages[m]->key.data, s->messages[m]->key.len,
					    dg[m], ids[m], now_ms);
	}
	if (rc < 0)
		goto out;
	r->ids = malloc(n * sizeof *r->ids);
	if (r->ids)
		memcpy(r->ids, ids, n * sizeof *r->ids);
	else
		api_fail(r, OS_ENOMEM, "out of memory for the reply");
out:
	free(dup);
	free(dg);
	return rc;
}

/* Sign the pending Sends among reqs[from, to) (total messages) as one
 * batch and store them in the outbox (api_store_req). */
static int api_sign_chunk(struct spoke *sp, size_t from, size_t to, size_t total)
{
	struct api *a = sp->api;
	struct env_draft *d = calloc(total, sizeof *d);
	uint8_t **out = calloc(total, sizeof *out);
	size_t *olen = calloc(total, sizeof *olen);
	os_msgid *ids = calloc(total, sizeof *ids);
	size_t k = 0;
	int rc = OS_ENOMEM, signed_ok = 0;
	/* One clock reading: created_ms, and every ttl counts from it. */
	uint64_t now_ms = os_now_ms();
	if (!d || !out || !olen || !ids)
		goto fail;
	for (size_t i = from; i < to; i++) {
		struct api_req *r = &a->reqs[i];
		if (!api_is_pending_send(r))
			continue;
		if (r->op == ONESTOP__API_REQUEST__OP_PUT) {
			/* A change goes to the dataset's sequencer. */
			uint64_t ttl = (uint64_t)sp->conf.default_ttl_s;
			for (size_t m = 0; m < r->req->put->n_puts; m++, k++) {
				const Onestop__DatasetPut *dp = r->req->put->puts[m];
				d[k].destination =
					ds_sequencer(dp && dp->dataset
							     ? registry_find_dataset(sp->reg,
										     dp->dataset)
							     : NULL,
						     sp->conf.hub_name);
				d[k].type = DS_CHANGE_TYPE;
				d[k].payload = r->puts[m];
				d[k].payload_len = r->put_lens[m];
				d[k].expires_ms = now_ms + ttl * 1000u;
			}
			continue;
		}
		const Onestop__SendRequest *s = r->req->send;
		for (size_t m = 0; m < s->n_messages; m++, k++) {
			const Onestop__Outgoing *o = s->messages[m];
			uint64_t ttl = o->ttl_s ? o->ttl_s : (uint64_t)sp->conf.default_ttl_s;
			d[k].destination = o->destination;
			d[k].type = o->type;
			d[k].payload = o->payload.data ? o->payload.data : api_empty;
			d[k].payload_len = o->payload.len;
			d[k].expires_ms = now_ms + ttl * 1000u;
		}
	}
	rc = env_sign_batch(sp->conf.name, sp->key_version, sp->kp.sign_sk, d, total, now_ms, out,
			    olen, ids);
	if (rc < 0)
		goto fail;
	signed_ok = 1;
	k = 0;
	for (size_t i = from; i < to && rc == 0; i++) {
		struct api_req *r = &a->reqs[i];
		if (!api_is_pending_send(r))
			continue;
		size_t n = api_req_count(r);
		rc = api_store_req(sp, r, out + k, olen + k, ids + k, now_ms);
		k += n;
	}
	if (rc < 0)
		goto fail;
	goto out;
fail:
	/* Nothing of this chunk is answered OK: either nothing was appended,
	 * or the transaction is poisoned and will be aborted. */
	for (size_t i = from; i < to; i++) {
		struct api_req *r = &a->reqs[i];
		if (!api_is_pending_send(r))
			continue;
		api_fail(r, rc, "the messages could not be %s: %s", signed_ok ? "stored" : "signed",
			 os_strerror(rc));
		api_refused(sp, r);
	}
out:
	if (out)
		for (k = 0; k < total; k++)
			free(out[k]);
	free(d);
	free(out);
	free(olen);
	free(ids);
	/* A signing problem concerns these requests only; a store error
	 * concerns the whole iteration. */
	return sp->txn_err;
}

int api_flush_sends(struct spoke *sp)
{
	struct api *a = sp->api;
	size_t i = 0;
	int rc = 0;
	while (i < a->n_reqs && rc == 0) {
		size_t j = i, total = 0;
		for (; j < a->n_reqs; j++) {
			const struct api_req *r = &a->reqs[j];
			if (!api_is_pending_send(r))
				continue;
			size_t n = api_req_count(r);
			if (total + n > BATCHSIG_MAX_LEAVES)
				break;
			total += n;
		}
		if (total > 0)
			rc = api_sign_chunk(sp, i, j, total);
		i = j;
	}
	a->pending_msgs = 0;
	return rc;
}

/* ------------------------------------------------------------ replies */

/* The messages handed to one Recv: decoded envelopes kept until the reply
 * is packed, so that it points into them instead of copying each field. */
struct api_recv_ctx {
	struct env *envs;
	uint64_t *seqs;
	size_t n;
};

static int api_collect(void *arg, uint64_t seq, struct env *e)
{
	struct api_recv_ctx *c = arg;
	c->envs[c->n] = *e; /* taken over: cleared after the reply */
	c->seqs[c->n] = seq;
	c->n++;
	return INBOX_KEEP;
}

/* Pack and send the Recv reply for c's messages, pointing into them. */
static void api_reply_recv(struct spoke *sp, const struct api_route *rt, uint64_t request_id,
			   const struct api_recv_ctx *c)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__RecvResult res = ONESTOP__RECV_RESULT__INIT;
	Onestop__Incoming *in = NULL, **ptrs = NULL;
	if (c->n > 0) {
		in = calloc(c->n, sizeof *in);
		ptrs = calloc(c->n, sizeof *ptrs);
		if (!in || !ptrs) {
			free(in);
			free(ptrs);
			api_reply_code(sp, rt, request_id, OS_ENOMEM,
				       "the reply could not be built");
			return;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		struct env *e = &c->envs[i];
		onestop__incoming__init(&in[i]);
		in[i].seq = c->seqs[i];
		in[i].id.data = e->id;
		in[i].id.len = sizeof e->id;
		in[i].origin = e->origin;
		in[i].destination = e->destination;
		in[i].type = e->type;
		in[i].created_ms = e->created_ms;
		in[i].expires_ms = e->expires_ms;
		in[i].payload.data = (uint8_t *)e->payload;
		in[i].payload.len = e->payload_len;
		ptrs[i] = &in[i];
	}
	res.n_messages = c->n;
	res.messages = ptrs;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_RECV;
	rep.recv = &res;
	api_send_reply(sp, rt, &rep);
	free(in);
	free(ptrs);
}

/* Hand out up to max messages to one Recv. When some were found, or force
 * is set, the reply goes out; returns how many were handed out, or a
 * negative error (then an error reply went out). */
static int api_serve_recv(struct spoke *sp, struct store_txn **t, const struct api_route *rt,
			  uint64_t request_id, uint64_t owner, uint32_t max, int force,
			  uint64_t now_us)
{
	struct api_recv_ctx c = {0};
	size_t taken = 0;
	int rc = 0;
	if (!*t && (rc = store_begin(sp->st, 1, t)) < 0)
		goto out;
	size_t want = max;
	if (want > sp->ib.count)
		want = (size_t)sp->ib.count;
	if (want > 0) {
		c.envs = calloc(want, sizeof *c.envs);
		c.seqs = calloc(want, sizeof *c.seqs);
		if (!c.envs || !c.seqs) {
			rc = OS_ENOMEM;
			goto out;
		}
		rc = inbox_take(sp, *t, want, API_RECV_BYTES, now_us, owner, api_collect, &c,
				&taken);
	}
out:
	if (rc < 0)
		api_reply_code(sp, rt, request_id, rc, "the inbox could not be read");
	else if (c.n > 0 || force)
		api_reply_recv(sp, rt, request_id, &c);
	for (size_t i = 0; i < c.n; i++)
		env_clear(&c.envs[i]);
	free(c.envs);
	free(c.seqs);
	return rc < 0 ? rc : (int)c.n;
}

static void api_reply_status(struct spoke *sp, const struct api_req *r)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__StatusResult s = ONESTOP__STATUS_RESULT__INIT;
	s.node = sp->conf.name;
	s.hub_connected = spoke_hub_up(sp);
	s.outbox = sp->ob.count;
	s.inbox = sp->ib.count;
	s.registry_version = sp->reg->version;
	s.registry_expires_ms = sp->reg->expires_ms;
	s.sent = sp->stats.sent;
	s.received = sp->stats.received;
	rep.request_id = r->request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_STATUS;
	rep.status = &s;
	api_send_reply(sp, &r->route, &rep);
}

/* Answer a Send or a Put, once committed, with the ids of its envelopes. */
static void api_reply_ids(struct spoke *sp, const struct api_req *r)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__SendResult send = ONESTOP__SEND_RESULT__INIT;
	Onestop__PutResult put = ONESTOP__PUT_RESULT__INIT;
	int is_put = r->op == ONESTOP__API_REQUEST__OP_PUT;
	size_t n = is_put ? r->req->put->n_puts : r->req->send->n_messages;
	ProtobufCBinaryData *ids = calloc(n, sizeof *ids);
	if (!ids) {
		api_reply_code(sp, &r->route, r->request_id, OS_ENOMEM,
			       "stored, but the reply could not be built");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		ids[i].data = r->ids[i];
		ids[i].len = sizeof r->ids[i];
	}
	rep.request_id = r->request_id;
	if (is_put) {
		put.n_ids = n;
		put.ids = ids;
		rep.result_case = ONESTOP__API_REPLY__RESULT_PUT;
		rep.put = &put;
	} else {
		send.n_ids = n;
		send.ids = ids;
		rep.result_case = ONESTOP__API_REPLY__RESULT_SEND;
		rep.send = &send;
	}
	api_send_reply(sp, &r->route, &rep);
	free(ids);
}

static void api_reply_ack(struct spoke *sp, const struct api_req *r)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__AckResult res = ONESTOP__ACK_RESULT__INIT;
	res.acked = r->acked;
	rep.request_id = r->request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_ACK;
	rep.ack = &res;
	api_send_reply(sp, &r->route, &rep);
}

/* ------------------------------------------------------------ waits */

/* A new wait for request_id (its route moved from rt), due at deadline_us:
 * NULL when the table cannot grow (rt unchanged). */
static struct api_wait *api_wait_add(struct api *a, enum api_wait_kind kind, struct api_route *rt,
				     uint64_t request_id, uint64_t deadline_us)
{
	if (a->n_waits == a->cap_waits) {
		size_t cap = a->cap_waits ? a->cap_waits * 2 : 16;
		struct api_wait *n = realloc(a->waits, cap * sizeof *n);
		if (!n)
			return NULL;
		a->waits = n;
		a->cap_waits = cap;
	}
	struct api_wait *w = &a->waits[a->n_waits++];
	memset(w, 0, sizeof *w);
	w->kind = kind;
	w->route = *rt; /* moved */
	rt->buf = NULL;
	rt->n = 0;
	w->request_id = request_id;
	w->deadline_us = deadline_us;
	if (kind == API_WAIT_RECV)
		a->n_recv_waits++;
	return w;
}

/* Forget w (answered), and what it held. */
static void api_wait_free(struct spoke *sp, struct api_wait *w)
{
	if (w->kind == API_WAIT_RECV)
		sp->api->n_recv_waits--;
	if (w->read)
		replica_fetch_forget(replica_fetch_table(sp), w->read->fetch_id);
	free(w->read);
	w->read = NULL;
	api_route_free(&w->route);
}

static int api_park_recv(struct api *a, struct api_req *r, uint32_t max, uint32_t wait_ms,
			 uint64_t now_us)
{
	if (a->n_recv_waits >= API_MAX_PARKED)
		return OS_EAGAIN;
	struct api_wait *w = api_wait_add(a, API_WAIT_RECV, &r->route, r->request_id,
					  now_us + (uint64_t)wait_ms * 1000u);
	if (!w)
		return OS_ENOMEM;
	w->max = max;
	w->owner = r->owner;
	return 0;
}

static void api_reply_empty_recv(struct spoke *sp, const struct api_route *rt, uint64_t request_id)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__RecvResult res = ONESTOP__RECV_RESULT__INIT;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_RECV;
	rep.recv = &res;
	api_send_reply(sp, rt, &rep);
}

/* Send what the read server answered (rc, rr) to the request behind rt,
 * or, when it is pending, hold the request until its fetch settles. */
static void api_answer_read(struct spoke *sp, struct api_route *rt, uint64_t request_id, int rc,
			    struct reads_reply *rr, uint64_t now_us)
{
	if (rc < 0) {
		api_reply_lost(request_id);
		return;
	}
	if (!rr->pending) {
		api_send_packed(sp, rt, request_id, rr->buf, rr->len);
		return;
	}
	struct reads_wait *rw = malloc(sizeof *rw);
	struct api_wait *w = NULL;
	if (rw)
		w = api_wait_add(sp->api, API_WAIT_READ, rt, request_id,
				 now_us + (uint64_t)rr->wait.wait_ms * 1000u);
	if (!w) {
		free(rw);
		replica_fetch_forget(replica_fetch_table(sp), rr->wait.fetch_id);
		api_reply_code(sp, rt, request_id, OS_ENOMEM,
			       "the hub cannot be asked now: out of memory");
		return;
	}
	*rw = rr->wait;
	w->read = rw;
}

/* A read's wait after the commit (commit_rc its result; up: the hub
 * session): 1 when it was answered. */
static int api_wake_read(struct spoke *sp, struct api_wait *w, int commit_rc, int up,
			 uint64_t now_us)
{
	const struct replica_fetch *f =
		replica_fetch_get(replica_fetch_table(sp), w->read->fetch_id);
	enum replica_fetch_state st = f ? f->state : REPLICA_FETCH_PENDING;
	char msg[READS_MSG_MAX];

	if (st == REPLICA_FETCH_FILLED && commit_rc < 0) {
		snprintf(msg, sizeof msg, "the store could not commit: %s", os_strerror(commit_rc));
		api_reply_code(sp, &w->route, w->request_id, commit_rc, msg);
	} else if (st != REPLICA_FETCH_PENDING) {
		struct reads_reply rr;
		int rc = reads_resume(sp, w->read, w->request_id, &rr);
		api_answer_read(sp, &w->route, w->request_id, rc, &rr, now_us);
	} else if (now_us >= w->deadline_us) {
		snprintf(msg, sizeof msg, "the hub did not answer for %s within %u ms",
			 w->read->key, w->read->wait_ms);
		api_reply_code(sp, &w->route, w->request_id, OS_ETIMEDOUT, msg);
	} else if (!up) {
		snprintf(msg, sizeof msg, "%s is not held here and the hub became unreachable",
			 w->read->key);
		api_reply_code(sp, &w->route, w->request_id, OS_ECONN, msg);
	} else {
		return 0;
	}
	return 1;
}

/* Serve the waiting requests in arrival order: Recvs while messages are
 * free (an empty result once their wait is over), reads whose fetch
 * settled (an error once their wait is over, or at once when the hub
 * became unreachable). */
static void api_serve_waits(struct spoke *sp, struct store_txn **t, int commit_rc, uint64_t now_us)
{
	struct api *a = sp->api;
	int up = spoke_hub_up(sp);
	size_t j = 0;
	for (size_t i = 0; i < a->n_waits; i++) {
		struct api_wait *w = &a->waits[i];
		int n = 0;
		if (w->kind == API_WAIT_READ) {
			n = api_wake_read(sp, w, commit_rc, up, now_us);
		} else {
			if (inbox_available(sp))
				n = api_serve_recv(sp, t, &w->route, w->request_id, w->owner,
						   w->max, 0, now_us);
			if (n == 0 && now_us >= w->deadline_us) {
				api_reply_empty_recv(sp, &w->route, w->request_id);
				n = 1;
			}
		}
		if (n != 0) {
			api_wait_free(sp, w);
			continue;
		}
		a->waits[j++] = *w;
	}
	a->n_waits = j;
}

static void api_serve_new_recv(struct spoke *sp, struct store_txn **t, struct api_req *r,
			       uint64_t now_us)
{
	const Onestop__RecvRequest *q = r->req->recv;
	uint32_t max = q->max ? q->max : 1;
	uint32_t wait_ms = q->wait_ms < API_MAX_WAIT_MS ? q->wait_ms : API_MAX_WAIT_MS;
	if (max > API_MAX_BATCH)
		max = API_MAX_BATCH;
	if (r->owner == API_OWNER_GONE) {
		/* Its app is gone: nothing is leased to it. */
		api_reply_empty_recv(sp, &r->route, r->request_id);
		return;
	}
	/* Waiting requests were served first, so whatever is free now may go
	 * to this one. */
	int n = api_serve_recv(sp, t, &r->route, r->request_id, r->owner, max, wait_ms == 0,
			       now_us);
	if (n != 0 || wait_ms == 0)
		return;
	int rc = api_park_recv(sp->api, r, max, wait_ms, now_us);
	if (rc < 0)
		api_reply_code(sp, &r->route, r->request_id, rc,
			       "too many Recv requests are waiting; retry later");
}

void api_after_commit(struct spoke *sp, int commit_rc)
{
	struct api *a = sp->api;
	struct store_txn *t = NULL;
	uint64_t now_us = os_mono_us();

	for (size_t i = 0; i < a->n_reqs; i++) {
		struct api_req *r = &a->reqs[i];
		if (r->code == 0 && commit_rc < 0 &&
		    (r->op == ONESTOP__API_REQUEST__OP_SEND ||
		     r->op == ONESTOP__API_REQUEST__OP_ACK ||
		     r->op == ONESTOP__API_REQUEST__OP_PUT ||
		     r->op == ONESTOP__API_REQUEST__OP_CASE_FILE ||
		     r->op == ONESTOP__API_REQUEST__OP_CASE_ACT ||
		     r->op == ONESTOP__API_REQUEST__OP_RATE ||
		     r->op == ONESTOP__API_REQUEST__OP_COMPLAINT_FILE ||
		     r->op == ONESTOP__API_REQUEST__OP_COMPLAINT_ACT ||
		     (r->op == ONESTOP__API_REQUEST__OP_STATS && r->req->stats &&
		      r->req->stats->rebuild) ||
		     (r->op == ONESTOP__API_REQUEST__OP_ASSERT_VERIFY && r->req->assert_verify &&
		      r->req->assert_verify->single_use))) {
			api_fail(r, commit_rc, "the store could not commit: %s",
				 os_strerror(commit_rc));
			if (r->op == ONESTOP__API_REQUEST__OP_SEND ||
			    r->op == ONESTOP__API_REQUEST__OP_PUT)
				api_refused(sp, r);
		}
		if (r->code != 0) {
			api_reply_code(sp, &r->route, r->request_id, r->code, r->msg);
			continue;
		}
		switch (r->op) {
		case ONESTOP__API_REQUEST__OP_SEND:
			sp->stats.sent += r->req->send->n_messages;
			api_reply_ids(sp, r);
			break;
		case ONESTOP__API_REQUEST__OP_ACK:
			api_reply_ack(sp, r);
			break;
		case ONESTOP__API_REQUEST__OP_STATUS:
			api_reply_status(sp, r);
			break;
		case ONESTOP__API_REQUEST__OP_PUT:
			api_reply_ids(sp, r);
			break;
		case ONESTOP__API_REQUEST__OP_CASE_FILE:
		case ONESTOP__API_REQUEST__OP_CASE_ACT:
			api_reply_case(sp, r);
			break;
		case ONESTOP__API_REQUEST__OP_RATE:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_FILE:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_ACT:
			api_send_packed(sp, &r->route, r->request_id, r->w->reply, r->w->reply_len);
			r->w->reply = NULL; /* taken */
			break;
		case ONESTOP__API_REQUEST__OP_COMPLAINT_GET:
		case ONESTOP__API_REQUEST__OP_COMPLAINT_LIST: {
			uint8_t *buf;
			size_t len;
			if (complaints_read(sp, r->req, &buf, &len) < 0)
				api_reply_lost(r->request_id);
			else
				api_send_packed(sp, &r->route, r->request_id, buf, len);
			break;
		}
		case ONESTOP__API_REQUEST__OP_CASE_GET:
		case ONESTOP__API_REQUEST__OP_CASE_LIST:
		case ONESTOP__API_REQUEST__OP_LICENCE_VERIFY:
		case ONESTOP__API_REQUEST__OP_MARKET:
		case ONESTOP__API_REQUEST__OP_STATS: {
			uint8_t *buf;
			size_t len;
			if (casework_read(sp, r->req, &buf, &len) < 0)
				api_reply_lost(r->request_id);
			else
				api_send_packed(sp, &r->route, r->request_id, buf, len);
			break;
		}
		case ONESTOP__API_REQUEST__OP_GET:
		case ONESTOP__API_REQUEST__OP_LIST:
		case ONESTOP__API_REQUEST__OP_DATASETS:
		case ONESTOP__API_REQUEST__OP_ASSERT_ISSUE:
		case ONESTOP__API_REQUEST__OP_ASSERT_VERIFY: {
			/* Read from the committed store; may wait for the hub. */
			struct reads_reply rr;
			int rc = reads_serve(sp, r->req, &rr);
			api_answer_read(sp, &r->route, r->request_id, rc, &rr, now_us);
			break;
		}
		default:
			break; /* Recv: below, after the waiting ones */
		}
	}

	if (a->n_waits > 0) {
		if (a->n_recv_waits > 0) {
			uint64_t exp = inbox_lease_next_expiry(sp);
			if (exp && exp <= now_us)
				inbox_lease_gc(sp, now_us);
		}
		api_serve_waits(sp, &t, commit_rc, now_us);
	}
	for (size_t i = 0; i < a->n_reqs; i++) {
		struct api_req *r = &a->reqs[i];
		if (r->code == 0 && r->op == ONESTOP__API_REQUEST__OP_RECV)
			api_serve_new_recv(sp, &t, r, now_us);
	}
	store_abort(&t);

	for (size_t i = 0; i < a->n_reqs; i++) {
		struct api_req *r = &a->reqs[i];
		api_route_free(&r->route);
		api_req_free_puts(r);
		free(r->cw);
		if (r->w)
			free(r->w->reply);
		free(r->w);
		if (r->req)
			onestop__api_request__free_unpacked(r->req, NULL);
		free(r->ids);
	}
	a->n_reqs = 0;
	a->pending_msgs = 0;
	if (a->n_reqs == 0 && a->cap_reqs > 4096) {
		/* Give back what a burst took. */
		free(a->reqs);
		a->reqs = NULL;
		a->cap_reqs = 0;
	}
}

uint64_t api_deadline_us(const struct spoke *sp)
{
	const struct api *a = sp->api;
	uint64_t d = UINT64_MAX;
	if (a->n_waits == 0)
		return d;
	for (size_t i = 0; i < a->n_waits; i++)
		if (a->waits[i].deadline_us < d)
			d = a->waits[i].deadline_us;
	if (a->n_recv_waits > 0) {
		uint64_t exp = inbox_lease_next_expiry(sp);
		if (exp && exp < d)
			d = exp;
	}
	return d;
}

/* ------------------------------------------------------------ socket */

static int api_mkdirs(char *dir)
{
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(dir, 0750);
		*p = '/';
		if (rc != 0 && errno != EEXIST)
			return -1;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Make the ipc path bindable: its directory exists, and a socket file
 * left by a dead process is removed. A live one is OS_EEXIST. */
static int api_prepare_ipc(const char *path)
{
	struct sockaddr_un sa;
	if (path[0] == '@' || path[0] == '\0')
		return 0; /* abstract namespace: no file */
	if (strlen(path) >= sizeof sa.sun_path) {
		os_log(OS_LOG_ERROR, "api_socket", "path=%s reason=\"path longer than %zu bytes\"",
		       path, sizeof sa.sun_path - 1);
		return OS_EINVAL;
	}
	char dir[sizeof sa.sun_path];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (api_mkdirs(dir) != 0) {
			char why[128];
			snprintf(why, sizeof why, "cannot create: %s", strerror(errno));
			os_log(OS_LOG_ERROR, "api_socket", "dir=%s reason=%s", dir, OS_Q(why));
			return OS_EIO;
		}
	}
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		os_log(OS_LOG_ERROR, "api_socket", "path=%s reason=\"exists and is not a socket\"",
		       path);
		return OS_EEXIST;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return OS_EIO;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	if (live) {
		os_log(OS_LOG_ERROR, "api_socket",
		       "path=%s reason=\"another process is serving this socket\"", path);
		return OS_EEXIST;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		char why[128];
		snprintf(why, sizeof why, "cannot remove stale socket: %s", strerror(errno));
		os_log(OS_LOG_ERROR, "api_socket", "path=%s reason=%s", path, OS_Q(why));
		return OS_EIO;
	}
	os_log(OS_LOG_INFO, "api_stale_socket", "path=%s action=removed", path);
	return 0;
}

/* Parse a rule "uid:N,gid:N,..." of option opt ("" or NULL: unset). 0 or
 * OS_ECONFIG (logged). */
static int api_rule_parse(const char *opt, const char *text, struct api_rule *out)
{
	memset(out, 0, sizeof *out);
	if (!text || !*text)
		return 0;
	out->set = 1;
	for (const char *p = text; *p;) {
		char *end;
		while (*p == ' ' || *p == ',')
			p++;
		if (!*p)
			break;
		char kind = strncmp(p, "uid:", 4) == 0 ? 'u' : strncmp(p, "gid:", 4) == 0 ? 'g' : 0;
		errno = 0;
		unsigned long id = kind ? strtoul(p + 4, &end, 10) : 0;
		if (!kind || errno || end == p + 4 || (*end && *end != ',' && *end != ' ') ||
		    out->n == API_RULE_MAX) {
			os_log(OS_LOG_ERROR, "config_invalid",
			       "option=%s value=%s reason=\"a list of up to %u uid:N or gid:N\"",
			       opt, OS_Q(text), API_RULE_MAX);
			return OS_ECONFIG;
		}
		out->kind[out->n] = kind;
		out->id[out->n++] = id;
		p = end;
	}
	return 0;
}

/* The socket file's mode and group as configured (api_mode, api_group: a
 * group name or number; "" keeps the process's group: *gid = -1). 0 or
 * OS_ECONFIG (logged). */
static int api_owner_parse(const struct spoke_conf *c, unsigned long *mode_out, gid_t *gid_out)
{
	char *end;
	unsigned long mode = strtoul(c->api_mode ? c->api_mode : "", &end, 8);
	if (!c->api_mode || !*c->api_mode || *end || mode > 0777) {
		os_log(OS_LOG_ERROR, "config_invalid",
		       "option=api_mode value=%s reason=\"octal permission bits, e.g. 0660\"",
		       OS_Q(c->api_mode));
		return OS_ECONFIG;
	}
	gid_t gid = (gid_t)-1;
	if (c->api_group && *c->api_group) {
		errno = 0;
		unsigned long g = strtoul(c->api_group, &end, 10);
		struct group *gr = *end ? getgrnam(c->api_group) : NULL;
		if (!*end && !errno)
			gid = (gid_t)g;
		else if (gr)
			gid = gr->gr_gid;
		else {
			os_log(OS_LOG_ERROR, "config_invalid",
			       "option=api_group value=%s reason=\"no such group\"",
			       OS_Q(c->api_group));
			return OS_ECONFIG;
		}
	}
	*mode_out = mode;
	*gid_out = gid;
	return 0;
}

int api_check_conf(const struct spoke_conf *c)
{
	struct api_rule rule;
	unsigned long mode;
	gid_t gid;
	int rc;

	if ((rc = api_rule_parse("api_allow_send", c->api_allow_send, &rule)) < 0 ||
	    (rc = api_rule_parse("api_allow_publish", c->api_allow_publish, &rule)) < 0 ||
	    (rc = api_rule_parse("api_allow_issue", c->api_allow_issue, &rule)) < 0)
		return rc;
	return api_owner_parse(c, &mode, &gid);
}

/* Give the socket file at path its configured mode and group. 0,
 * OS_ECONFIG or OS_EIO (logged). */
static int api_set_owner(const struct spoke_conf *c, const char *path)
{
	unsigned long mode;
	gid_t gid;
	int rc = api_owner_parse(c, &mode, &gid);
	if (rc < 0)
		return rc;
	if ((gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0) ||
	    chmod(path, (mode_t)mode) != 0) {
		char why[128];
		snprintf(why, sizeof why, "cannot set mode or group: %s", strerror(errno));
		os_log(OS_LOG_ERROR, "api_socket", "path=%s reason=%s", path, OS_Q(why));
		return OS_EIO;
	}
	return 0;
}

int api_open(struct spoke *sp, char *bound, size_t size)
{
	struct api *a = calloc(1, sizeof *a);
	int rc;
	if (!a)
		return OS_ENOMEM;
	sp->api = a;
	if ((rc = api_rule_parse("api_allow_send", sp->conf.api_allow_send, &a->allow_send)) < 0 ||
	    (rc = api_rule_parse("api_allow_publish", sp->conf.api_allow_publish,
				 &a->allow_publish)) < 0 ||
	    (rc = api_rule_parse("api_allow_issue", sp->conf.api_allow_issue, &a->allow_issue)) < 0)
		return rc;
	const char *path = strncmp(sp->conf.api, "ipc://", 6) == 0 ? sp->conf.api + 6 : NULL;
	if (path && (rc = api_prepare_ipc(path)) < 0)
		return rc;
	a->sock = zmq_socket(sp->zctx, ZMQ_ROUTER);
	if (!a->sock) {
		os_log(OS_LOG_ERROR, "api_socket", "reason=%s", OS_Q(zmq_strerror(errno)));
		return OS_EIO;
	}
	/* A short linger lets the last replies out at a clean stop. */
	int linger = 200;
	int hwm = 100000;
	api_monitor_open(sp);
	int64_t maxmsg = (int64_t)2 * sp->conf.max_message_bytes + ((int64_t)16 << 20);
	if (maxmsg < ((int64_t)256 << 20))
		maxmsg = (int64_t)256 << 20;
	if (zmq_setsockopt(a->sock, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
	    zmq_setsockopt(a->sock, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) != 0) {
		os_log(OS_LOG_ERROR, "api_socket", "api=%s reason=%s", sp->conf.api,
		       OS_Q(zmq_strerror(errno)));
		return OS_EIO;
	}
	/* The file is created owner-only and opened up to api_mode after,
	 * whatever the umask. */
	mode_t old_mask = umask(0177);
	rc = zmq_bind(a->sock, sp->conf.api);
	int bind_errno = errno;
	umask(old_mask);
	if (rc != 0) {
		os_log(OS_LOG_ERROR, "api_socket", "api=%s reason=%s", sp->conf.api,
		       OS_Q(zmq_strerror(bind_errno)));
		return OS_EIO;
	}
	/* Ours from now on: removed at a clean stop (libzmq leaves it). */
	if (path && path[0] != '@') {
		snprintf(a->ipc_path, sizeof a->ipc_path, "%s", path);
		if ((rc = api_set_owner(&sp->conf, path)) < 0)
			return rc;
	}
	size_t len = size;
	if (size == 0 || zmq_getsockopt(a->sock, ZMQ_LAST_ENDPOINT, bound, &len) != 0)
		snprintf(bound, size, "%s", sp->conf.api);
	return 0;
}

void api_close(struct spoke *sp)
{
	struct api *a = sp->api;
	if (!a)
		return;
	for (size_t i = 0; i < a->n_waits; i++) {
		struct api_wait *w = &a->waits[i];
		if (a->sock && w->kind == API_WAIT_RECV)
			api_reply_empty_recv(sp, &w->route, w->request_id);
		else if (a->sock)
			api_reply_code(sp, &w->route, w->request_id, OS_ECONN,
				       "the spoke is stopping");
		api_wait_free(sp, w);
	}
	free(a->waits);
	for (size_t i = 0; i < a->n_reqs; i++) {
		api_route_free(&a->reqs[i].route);
		api_req_free_puts(&a->reqs[i]);
		if (a->reqs[i].req)
			onestop__api_request__free_unpacked(a->reqs[i].req, NULL);
		free(a->reqs[i].ids);
	}
	free(a->reqs);
	api_monitor_close(a);
	if (a->sock)
		zmq_close(a->sock);
	if (a->ipc_path[0] && unlink(a->ipc_path) != 0 && errno != ENOENT) {
		char why[128];
		snprintf(why, sizeof why, "cannot remove: %s", strerror(errno));
		os_log(OS_LOG_WARN, "api_socket", "path=%s reason=%s", a->ipc_path, OS_Q(why));
	}
	free(a);
	sp->api = NULL;
}

void *api_socket(const struct spoke *sp)
{
	return sp->api ? sp->api->sock : NULL;
}

/* ------------------------------------------------------------ loop hooks */

static void *api_hook_socket(void *ctx)
{
	return api_socket(ctx);
}

static void *api_hook_monitor_socket(void *ctx)
{
	const struct spoke *sp = ctx;
	return sp->api ? sp->api->mon : NULL;
}

static unsigned api_hook_monitor_drain(void *ctx)
{
	return api_monitor_drain(ctx, API_DRAIN_BUDGET);
}

static unsigned api_hook_drain(void *ctx)
{
	unsigned n;
	api_drain_count(ctx, API_DRAIN_BUDGET, &n);
	return n;
}

static void api_hook_work(void *ctx)
{
	api_flush_sends(ctx);
}

static void api_hook_after_commit(void *ctx, int commit_rc)
{
	api_after_commit(ctx, commit_rc);
}

static uint64_t api_hook_deadline(void *ctx)
{
	return api_deadline_us(ctx);
}

int api_attach(struct spoke *sp, struct loop *l)
{
	/* Before the API's own hook: a connection's end is known before any
	 * request that came after it is served. */
	const struct loop_hooks m = {
		.name = "api_monitor",
		.socket = api_hook_monitor_socket,
		.drain = api_hook_monitor_drain,
		.ctx = sp,
	};
	const struct loop_hooks h = {
		.name = "api",
		.socket = api_hook_socket,
		.drain = api_hook_drain,
		.work = api_hook_work,
		.after_commit = api_hook_after_commit,
		.deadline_us = api_hook_deadline,
		.ctx = sp,
	};
	int rc = loop_add(l, &m);
	return rc < 0 ? rc : loop_add(l, &h);
}
