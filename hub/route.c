/* Routing: checks each pushed envelope (decode, size, authenticated origin,
 * signature, type, expiry, destination), queues it for the hop of its
 * destination or of every topic subscriber (an own node, a child hub, the
 * parent: the hub tree of docs/PROTOCOL.md 13.3), or refuses it with a
 * signed DeadLetter to its origin. Child hubs' pushes and the parent's
 * deliveries are relayed under the same checks. Also expiry of queued
 * entries and the quotas: per origin and per destination, in entries and
 * bytes, with a hold and a reserve. */
#include "route.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "queue.h"
#include "stream.h"
#include "tree.h"
#include "util.h"

/* One pending DeadLetter, signed at route_flush. */
struct route_dl {
	char origin[OS_NAME_MAX];
	int has_id;
	os_msgid id;
	char dest[OS_NAME_MAX];
	char type[ENV_TYPE_MAX + 1];
	int code;
	char reason[200];
};

/* (topic, subscriber) pairs sorted by topic, for fan-out. */
struct route_sub {
	const char *topic;
	const struct reg_node *node;
};

struct route {
	struct route_dl *dl;
	size_t n_dl, cap_dl;
	struct route_sub *subs;
	size_t n_subs;
	const char **dests; /* scratch: the destinations of one message */
	uint8_t *held;      /* scratch: which of them are held (route_over_quota) */
	size_t cap_dests;
	uint64_t next_sweep_us; /* when the expiry sweep runs next (monotonic) */
	struct map *over;       /* node -> unsigned: its quota states (route_quota_state) */
	int store_over;         /* the store's budget was found full */
	/* The hub tree, from the registry (route_registry_changed): */
	char *prefix;           /* the subtree this hub serves ("" national) */
	size_t n_children;      /* its child hubs: */
	char **child_prefix;    /* the prefix each serves (for tree_route) */
	char **child_hub;       /* and its node name (the queue of its hop) */
	uint64_t next_links_us; /* when the links line is logged next */
};

/* Where the messages being routed came from. */
struct route_src {
	const char *node; /* the session's node, or the parent's name */
	/* A relay (a child hub's session, or the parent link) carries other
	 * origins' messages: each must lie in prefix ("" anywhere). NULL:
	 * every message's origin is node itself. */
	const char *prefix;
};

/* A node's quota states, logged once per change. */
enum {
	Q_ORIGIN = 1,  /* as origin: its share and hold are used */
	Q_HOLD = 2,    /* as origin: its hold is used, a destination is full */
	Q_RESERVE = 4, /* as origin: the store is into its reserve */
	Q_DEST = 8,    /* as destination: at its share (messages to it are held) */
};

/* The quotas in force (from h->conf; see docs/ARCHITECTURE.md "Quotas"). */
struct route_limits {
	uint64_t budget;  /* bytes all queues may hold */
	uint64_t shared;  /* the budget less the reserve */
	uint64_t small;   /* bytes an origin may hold and still use the reserve */
	uint64_t share;   /* bytes one node may hold as destination */
	uint64_t hold;    /* bytes an origin may hold beyond destinations' shares */
	uint64_t entries; /* entries one node may hold as destination */
	uint64_t hold_entries;
};

enum route_outcome { ROUTE_ACCEPTED, ROUTE_REFUSED, ROUTE_BLOCKED };

int route_new(struct route **out)
{
	struct route *r = calloc(1, sizeof(*r));

	if (!r)
		return OS_ENOMEM;
	if (map_new(&r->over) != 0) {
		free(r);
		return OS_ENOMEM;
	}
	*out = r;
	return 0;
}

static void route_tree_free(struct route *r)
{
	for (size_t i = 0; i < r->n_children; i++) {
		free(r->child_prefix[i]);
		free(r->child_hub[i]);
	}
	free(r->child_prefix);
	free(r->child_hub);
	free(r->prefix);
	r->child_prefix = r->child_hub = NULL;
	r->prefix = NULL;
	r->n_children = 0;
}

/* The hub tree from h->reg: this hub's prefix and its child hubs. A hub
 * the registry does not name as a hub serves everything (the national
 * hub of a registry without delegations). 0 or OS_ENOMEM (r unchanged). */
static int route_tree_load(struct hub *h, struct route *r)
{
	const char *p = registry_hub_prefix(h->reg, h->conf.name);
	const struct reg_delegation **d = NULL;
	struct route t = {0};
	size_t n;

	if (!p)
		p = "";
	n = registry_children(h->reg, p, NULL, 0);
	t.prefix = strdup(p);
	if (n > 0) {
		d = calloc(n, sizeof(*d));
		t.child_prefix = calloc(n, sizeof(char *));
		t.child_hub = calloc(n, sizeof(char *));
	}
	if (!t.prefix || (n > 0 && (!d || !t.child_prefix || !t.child_hub)))
		goto fail;
	n = registry_children(h->reg, p, d, n);
	for (size_t i = 0; i < n; i++) {
		t.child_prefix[i] = strdup(d[i]->prefix);
		t.child_hub[i] = strdup(d[i]->hub);
		t.n_children = i + 1;
		if (!t.child_prefix[i] || !t.child_hub[i])
			goto fail;
	}
	free(d);
	route_tree_free(r);
	r->prefix = t.prefix;
	r->n_children = t.n_children;
	r->child_prefix = t.child_prefix;
	r->child_hub = t.child_hub;
	return 0;
fail:
	free(d);
	route_tree_free(&t);
	return OS_ENOMEM;
}

/* 1 when this hub has a parent link configured. */
static int route_has_parent(const struct hub *h)
{
	return h->conf.parent_endpoint && *h->conf.parent_endpoint && h->conf.parent_name &&
	       *h->conf.parent_name;
}

/* The child hub named node: its index, or -1. */
static int route_child_of(const struct route *r, const char *node)
{
	for (size_t i = 0; i < r->n_children; i++)
		if (strcmp(r->child_hub[i], node) == 0)
			return (int)i;
	return -1;
}

/* The queue a message for dest (a node name) is handed to at this hub:
 * dest itself (one of its own nodes), the child hub serving dest's
 * subtree, or the parent. 0 and *queue (lives as long as the registry or
 * h->conf), or OS_EUNKNOWN: dest lies outside this hub's subtree and the
 * hub has no parent, or dest is not a node name. */
static int route_hop(const struct hub *h, const char *dest, const char **queue)
{
	const struct route *r = h->route;
	size_t child = 0;
	int hop = tree_route(r->prefix, (const char *const *)r->child_prefix, r->n_children, dest,
			     &child);

	switch (hop) {
	case TREE_LOCAL:
		*queue = dest;
		return 0;
	case TREE_CHILD:
		*queue = r->child_hub[child];
		return 0;
	case TREE_UP:
		if (!route_has_parent(h))
			return OS_EUNKNOWN;
		*queue = h->conf.parent_name;
		return 0;
	default:
		return OS_EUNKNOWN;
	}
}

void route_destroy(struct route **rp)
{
	struct route *r = *rp;

	if (!r)
		return;
	route_tree_free(r);
	free(r->dl);
	free(r->subs);
	free(r->dests);
	free(r->held);
	if (r->over) {
		size_t pos = 0;
		void *v;

		while ((v = map_next(r->over, &pos, NULL)))
			free(v);
		map_free(&r->over);
	}
	free(r);
	*rp = NULL;
}

/* 1 when q is among dests[0..n). */
static int route_child_seen(const char *const *dests, size_t n, const char *q)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(dests[i], q) == 0)
			return 1;
	return 0;
}

static int sub_cmp(const void *a, const void *b)
{
	const struct route_sub *x = a, *y = b;
	int c = strcmp(x->topic, y->topic);

	return c ? c : strcmp(x->node->name, y->node->name);
}

int route_registry_changed(struct hub *h)
{
	struct route *r = h->route;
	const struct registry *reg = h->reg;
	struct route_sub *subs;
	const char **dests;
	uint8_t *held;
	size_t n = 0, k = 0;

	if (route_tree_load(h, r) != 0)
		return OS_ENOMEM;
	for (size_t i = 0; i < reg->n_nodes; i++)
		n += reg->nodes[i].n_topics + reg->nodes[i].n_province_topics;
	subs = calloc(n ? n : 1, sizeof(*subs));
	dests = calloc(reg->n_nodes ? reg->n_nodes : 1, sizeof(*dests));
	held = calloc(reg->n_nodes ? reg->n_nodes : 1, sizeof(*held));
	if (!subs || !dests || !held) {
		free(subs);
		free(dests);
		free(held);
		return OS_ENOMEM;
	}
	for (size_t i = 0; i < reg->n_nodes; i++)
		for (size_t j = 0; j < reg->nodes[i].n_topics; j++) {
			subs[k].topic = reg->nodes[i].topics[j];
			subs[k].node = &reg->nodes[i];
			k++;
		}
	for (size_t i = 0; i < reg->n_nodes; i++)
		for (size_t j = 0; j < reg->nodes[i].n_province_topics; j++) {
			subs[k].topic = reg->nodes[i].province_topics[j];
			subs[k].node = &reg->nodes[i];
			k++;
		}
	qsort(subs, k, sizeof(*subs), sub_cmp);
	free(r->subs);
	free(r->dests);
	free(r->held);
	r->subs = subs;
	r->n_subs = k;
	r->dests = dests;
	r->held = held;
	r->cap_dests = reg->n_nodes ? reg->n_nodes : 1;
	return 0;
}

/* The hops of a message to @topic from origin that came from back (the
 * queue it would go back to: the pushing child hub, the parent; NULL for
 * an own node's): each local subscriber, each child hub with subscribers
 * below it, the parent when one is above, each once and never back, into
 * r->dests (returns how many). *anywhere gets the number of active
 * subscribers that hear it, wherever they are, other than the origin. */
static size_t route_subscribers(struct hub *h, const char *topic, const char *origin,
				const char *back, size_t *anywhere)
{
	struct route *r = h->route;
	size_t lo = 0, hi = r->n_subs, n = 0, all = 0;
	uint8_t child_used[64];
	int parent_used = 0;
	const char *last = NULL;

	memset(child_used, 0, sizeof(child_used));
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(r->subs[mid].topic, topic) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->n_subs && strcmp(r->subs[lo].topic, topic) == 0; lo++) {
		const struct reg_node *node = r->subs[lo].node;
		const char *q;
		size_t child;
		int hop;

		/* A node listing a topic twice appears twice; skip repeats. */
		if (last && strcmp(last, node->name) == 0)
			continue;
		last = node->name;
		/* The origin is not sent its own topic message, and the hub
		 * has no queue reader. */
		if (!registry_node_active(node) || strcmp(node->name, origin) == 0 ||
		    !registry_hears(h->reg, node, topic, origin))
			continue;
		all++;
		if (strcmp(node->name, h->conf.name) == 0)
			continue;
		hop = tree_route(r->prefix, (const char *const *)r->child_prefix, r->n_children,
				 node->name, &child);
		if (hop == TREE_LOCAL) {
			q = node->name;
		} else if (hop == TREE_CHILD) {
			if (child < sizeof(child_used) && child_used[child])
				continue;
			if (child < sizeof(child_used))
				child_used[child] = 1;
			else if (route_child_seen(r->dests, n, r->child_hub[child]))
				continue;
			q = r->child_hub[child];
		} else if (hop == TREE_UP && route_has_parent(h)) {
			if (parent_used)
				continue;
			parent_used = 1;
			q = h->conf.parent_name;
		} else {
			continue;
		}
		if (back && strcmp(q, back) == 0)
			continue;
		if (n < r->cap_dests)
			r->dests[n++] = q;
	}
	*anywhere = all;
	return n;
}

/* Format the reason of a refusal. It goes into the DeadLetter, so it is
 * kept free of quotes, backslashes and control bytes whatever the names in
 * it (they come from unverified input). */
static void route_reason(char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void route_reason(char *out, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(out, size, fmt, ap);
	va_end(ap);
	for (char *p = out; *p; p++)
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
			*p = '?';
}

/* Gather a DeadLetter for origin, unless the refused message is itself a
 * dead letter. */
static void route_dl_add(struct hub *h, const char *origin, const uint8_t *id, const char *dest,
			 const char *type, int code, const char *reason)
{
	struct route *r = h->route;
	struct route_dl *d;

	/* No origin to tell: a relayed message whose origin is no node. */
	if ((type && strcmp(type, ENV_DEADLETTER_TYPE) == 0) || !origin || !*origin)
		return;
	if (r->n_dl == r->cap_dl) {
		size_t cap = r->cap_dl ? r->cap_dl * 2 : 64;
		struct route_dl *dl = realloc(r->dl, cap * sizeof(*dl));

		if (!dl) {
			os_log(OS_LOG_ERROR, "deadletter_lost", "origin=%s error=ENOMEM", origin);
			return;
		}
		r->dl = dl;
		r->cap_dl = cap;
	}
	d = &r->dl[r->n_dl++];
	memset(d, 0, sizeof(*d));
	snprintf(d->origin, sizeof(d->origin), "%s", origin);
	if (id) {
		d->has_id = 1;
		memcpy(d->id, id, sizeof(os_msgid));
	}
	snprintf(d->dest, sizeof(d->dest), "%s", dest ? dest : "");
	snprintf(d->type, sizeof(d->type), "%s", type ? type : "");
	d->code = code;
	snprintf(d->reason, sizeof(d->reason), "%s", reason);
}

/* A refused push: log it and dead-letter it to its origin. */
static void route_refuse(struct hub *h, const char *origin, const uint8_t *id, const char *dest,
			 const char *type, int code, const char *reason)
{
	char idhex[2 * sizeof(os_msgid) + 1] = "-";

	if (id)
		os_hex(idhex, id, sizeof(os_msgid));
	h->stats.refused++;
	os_log(OS_LOG_WARN, "msg_refused", "id=%s origin=%s dest=%s type=%s code=%s reason=%s",
	       idhex, origin, dest && *dest ? dest : "-", type && *type ? type : "-",
	       os_errname(code), OS_Q(reason));
	route_dl_add(h, origin, id, dest, type, code, reason);
}

static void route_limits(const struct hub *h, struct route_limits *l)
{
	const struct hub_conf *c = &h->conf;
	uint64_t pct = c->node_share_percent > 0 ? (uint64_t)c->node_share_percent : 100;
	uint64_t reserve = c->reserve_percent > 0 ? (uint64_t)c->reserve_percent : 0;

	/* A hub built in process without a map size has no byte budget. */
	if (c->queue_bytes_mb > 0)
		l->budget = (uint64_t)c->queue_bytes_mb << 20;
	else if (c->map_size_mb > 0)
		l->budget = ((uint64_t)c->map_size_mb << 20) / 2;
	else
		l->budget = UINT64_MAX / 4;
	l->share = l->budget / 100 * pct;
	l->hold = l->share / 4;
	reserve = l->budget / 100 * reserve;
	l->shared = l->budget - reserve;
	l->small = reserve / 8;
	l->entries = c->queue_quota > 0 ? (uint64_t)c->queue_quota : UINT64_MAX / 4;
	l->hold_entries = l->entries / 4;
}

void route_log_quotas(const struct hub *h)
{
	struct route_limits l;

	route_limits(h, &l);
	os_log(OS_LOG_INFO, "quotas",
	       "queue_bytes=%llu node_share_bytes=%llu hold_bytes=%llu reserve_bytes=%llu "
	       "node_entries=%llu hold_entries=%llu",
	       (unsigned long long)l.budget, (unsigned long long)l.share,
	       (unsigned long long)l.hold, (unsigned long long)(l.budget - l.shared),
	       (unsigned long long)l.entries, (unsigned long long)l.hold_entries);
}

static const char *route_state_name(unsigned bit)
{
	switch (bit) {
	case Q_ORIGIN:
		return "origin";
	case Q_HOLD:
		return "hold";
	case Q_RESERVE:
		return "reserve";
	default:
		return "destination";
	}
}

/* Set (on) or clear node's quota state bit; a change is logged, and an
 * origin held back is told why at once, once per session
 * (link_notify_once). u: what it holds in
 * that role; limit_*: the quota it met. */
static void route_quota_state(struct hub *h, const char *node, unsigned bit, int on, int code,
			      const struct queue_usage *u, uint64_t limit_entries,
			      uint64_t limit_bytes)
{
	struct route *r = h->route;
	unsigned *st = map_get(r->over, node);
	char msg[300];

	if (!st) {
		if (!on)
			return;
		st = calloc(1, sizeof(*st));
		if (!st || map_put(r->over, node, st) != 0) {
			free(st);
			return; /* only the log line is lost */
		}
	}
	if (!!(*st & bit) != !!on) {
		*st = on ? *st | bit : *st & ~bit;
		if (!on) {
			os_log(OS_LOG_INFO, "node_under_quota", "node=%s as=%s", node,
			       route_state_name(bit));
			if (bit != Q_DEST)
				link_told_clear(h, node);
			return;
		}
		os_log(OS_LOG_WARN, "node_over_quota",
		       "node=%s as=%s code=%s entries=%llu bytes=%llu quota_entries=%llu "
		       "quota_bytes=%llu",
		       node, route_state_name(bit), os_errname(code),
		       (unsigned long long)u->entries, (unsigned long long)u->bytes,
		       (unsigned long long)limit_entries, (unsigned long long)limit_bytes);
	} else if (!on) {
		return;
	}
	/* An origin held back is told once per session: a session that
	 * starts while it is still over (a reconnect) is told again. */
	if (bit == Q_DEST || link_told(h, node, code))
		return;
	snprintf(msg, sizeof(msg),
		 "quota exhausted (%s): node %s holds %llu entries, %llu bytes at the hub "
		 "(quota %llu, %llu); pushes wait, retry later",
		 route_state_name(bit), node, (unsigned long long)u->entries,
		 (unsigned long long)u->bytes, (unsigned long long)limit_entries,
		 (unsigned long long)limit_bytes);
	link_notify_once(h, node, code, msg);
}

/* The queues, holding bytes, would pass limit with a push of len bytes
 * from who (as kind: "origin" or "relay"): logged and told to who's
 * session once per episode (ESTOREFULL); 1. Else 0. */
static int route_budget_full(struct hub *h, const char *kind, const char *who, uint64_t bytes,
			     size_t len, uint64_t limit)
{
	struct route *r = h->route;

	if (bytes + len <= limit)
		return 0;
	if (!r->store_over) {
		os_log(OS_LOG_WARN, "queue_budget_full",
		       "%s=%s code=ESTOREFULL bytes=%llu queue_bytes=%llu", kind, who,
		       (unsigned long long)bytes, (unsigned long long)limit);
		link_notify(h, who, OS_ESTOREFULL,
			    "the hub's queues are full; pushes wait, retry later");
	}
	r->store_over = 1;
	return 1;
}

/* A push fitted the budget: the end of a full episode is logged. */
static void route_budget_ok(struct hub *h, uint64_t bytes, uint64_t limit)
{
	struct route *r = h->route;

	if (r->store_over)
		os_log(OS_LOG_INFO, "queue_budget_ok", "bytes=%llu queue_bytes=%llu",
		       (unsigned long long)bytes, (unsigned long long)limit);
	r->store_over = 0;
}

/* Whether a message of len bytes from origin for the n destinations fits
 * the quotas: 0 (r->held[i] says which destinations are at their share:
 * those entries are charged to the origin's hold), or 1 when it must wait
 * (logged once per state change). */
static int route_over_quota(struct hub *h, const char *const *dests, size_t n, const char *origin,
			    size_t len)
{
	struct route *r = h->route;
	struct route_limits l;
	struct queue_usage o, t, d;
	uint64_t hold_e = 0, hold_b = 0;

	route_limits(h, &l);
	queue_usage_origin(h->queue, origin, &o);
	queue_usage_total(h->queue, &t);
	if (o.entries + n > l.entries + l.hold_entries || o.bytes + len > l.share + l.hold) {
		route_quota_state(h, origin, Q_ORIGIN, 1, OS_EFULL, &o, l.entries + l.hold_entries,
				  l.share + l.hold);
		return 1;
	}
	if (route_budget_full(h, "origin", origin, t.bytes, len, l.budget))
		return 1;
	if (t.bytes + len > l.shared && o.bytes + len > l.small) {
		route_quota_state(h, origin, Q_RESERVE, 1, OS_EFULL, &o, l.entries, l.small);
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		queue_usage_dest(h->queue, dests[i], &d);
		r->held[i] = d.entries + 1 > l.entries || d.bytes + len > l.share;
		route_quota_state(h, dests[i], Q_DEST, r->held[i], OS_EFULL, &d, l.entries,
				  l.share);
		if (r->held[i]) {
			hold_e++;
			hold_b += len / n + (i == 0 ? len % n : 0); /* its charge (queue_put) */
		}
	}
	if (hold_e &&
	    (o.held_entries + hold_e > l.hold_entries || o.held_bytes + hold_b > l.hold)) {
		struct queue_usage hu = {.entries = o.held_entries, .bytes = o.held_bytes};

		route_quota_state(h, origin, Q_HOLD, 1, OS_EFULL, &hu, l.hold_entries, l.hold);
		return 1;
	}
	route_budget_ok(h, t.bytes, l.budget);
	route_quota_state(h, origin, Q_ORIGIN, 0, 0, NULL, 0, 0);
	route_quota_state(h, origin, Q_RESERVE, 0, 0, NULL, 0, 0);
	route_quota_state(h, origin, Q_HOLD, 0, 0, NULL, 0, 0);
	return 0;
}

/* Whether a relayed message of len bytes fits the store's budget: relays
 * carry other origins' messages, so they are not held to one origin's
 * share and hold (the origins were at their own hubs); only the budget
 * and its reserve apply. 0, or 1 when it must wait (node: the relay's
 * session, told once). */
static int route_relay_over_budget(struct hub *h, const char *node, size_t len)
{
	struct route_limits l;
	struct queue_usage t;

	route_limits(h, &l);
	queue_usage_total(h->queue, &t);
	if (route_budget_full(h, "relay", node, t.bytes, len, l.shared))
		return 1;
	route_budget_ok(h, t.bytes, l.shared);
	return 0;
}

#ifdef ONESTOP_TEST_HOOKS
/* Test builds only (onestop-hub-tamper): ONESTOP_TEST_TAMPER=up flips a
 * payload byte of every message queued for the parent, =down of every
 * message queued for one of this hub's own nodes, so that tests can show
 * the next hop or the destination catching it. */
static int route_tamper_wanted(struct hub *h, const char *queue)
{
	const char *mode = getenv("ONESTOP_TEST_TAMPER");
	int up;

	if (!mode || (strcmp(mode, "up") != 0 && strcmp(mode, "down") != 0))
		return 0;
	up = route_has_parent(h) && strcmp(queue, h->conf.parent_name) == 0;
	if (strcmp(mode, "up") == 0)
		return up;
	return !up && route_child_of(h->route, queue) < 0;
}

/* A copy of msg with one byte of its payload flipped, or NULL. */
static uint8_t *route_tamper_copy(const uint8_t *msg, size_t len)
{
	struct env e;
	uint8_t *c = NULL;

	if (env_decode(msg, len, len, &e) != 0)
		return NULL;
	if (e.payload_len > 0 && (c = malloc(len)) != NULL) {
		memcpy(c, msg, len);
		/* The payload bytes stand in the packed message as they are. */
		for (size_t i = 0; i + e.payload_len <= len; i++)
			if (memcmp(c + i, e.payload, e.payload_len) == 0) {
				c[i + e.payload_len - 1] ^= 0x01;
				break;
			}
		os_log(OS_LOG_WARN, "test_tamper", "origin=%s dest=%s", e.origin, e.destination);
	}
	env_clear(&e);
	return c;
}
#endif

/* Count what went up or down a level. */
static void route_count_hops(struct hub *h, const char *const *queues, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (route_has_parent(h) && strcmp(queues[i], h->conf.parent_name) == 0)
			h->stats.relayed_up++;
		else if (route_child_of(h->route, queues[i]) >= 0)
			h->stats.relayed_down++;
	}
}

/* Store an accepted message for its hops (queues: own nodes, child hubs,
 * the parent) and wake their sessions; origin is the envelope's origin
 * (fairness per real origin); held (may be NULL) marks the entries
 * charged to the origin's hold. */
static int route_store(struct hub *h, const char *origin, const char *const *dests, size_t n,
		       const uint8_t *held, const uint8_t *msg, size_t len, uint64_t expires_ms)
{
	int rc = 0;

#ifdef ONESTOP_TEST_HOOKS
	for (size_t i = 0; i < n && rc == 0; i++) {
		uint8_t *c = route_tamper_wanted(h, dests[i]) ? route_tamper_copy(msg, len) : NULL;

		rc = queue_put(h->queue, origin, &dests[i], 1, held ? &held[i] : NULL, c ? c : msg,
			       len, expires_ms);
		free(c);
	}
#else
	rc = queue_put(h->queue, origin, dests, n, held, msg, len, expires_ms);
#endif
	if (rc)
		return rc;
	route_count_hops(h, dests, n);
	for (size_t i = 0; i < n; i++)
		link_wake(h, dests[i]);
	return 0;
}

/* At debug level, one line per message taken: where it went (its hops:
 * own nodes, child hubs, the parent), so an operator can follow an id
 * through the hubs it crossed. */
static void route_log_routed(const struct env *e, const char *const *hops, size_t n)
{
	char id[2 * sizeof(os_msgid) + 1], list[256];
	size_t at = 0;

	if (!os_log_enabled(OS_LOG_DEBUG))
		return;
	os_hex(id, e->id, sizeof(os_msgid));
	list[0] = 0;
	for (size_t i = 0; i < n && at < sizeof(list) - 1; i++) {
		int k = snprintf(list + at, sizeof(list) - at, "%s%s", i ? "," : "", hops[i]);
		if (k < 0)
			break;
		at += (size_t)k;
	}
	os_log(OS_LOG_DEBUG, "routed", "id=%s origin=%s dest=%s hops=%s", id, e->origin,
	       e->destination, list);
}

/* A dataset change addressed to this hub: sequenced in this transaction,
 * or refused with a dead letter (to dl_to) naming the reason. */
static int route_change(struct hub *h, const char *dl_to, const struct env *e, const uint8_t *msg,
			size_t len, enum route_outcome *outcome)
{
	char reason[200], why[200] = "";
	uint64_t seq = 0;
	int code = 0;
	int rc = dataset_apply(h, e, msg, len, &code, why, sizeof(why), &seq);

	if (rc)
		return rc;
	if (code) {
		route_reason(reason, sizeof(reason), "%s", why[0] ? why : os_strerror(code));
		route_refuse(h, dl_to, e->id, e->destination, e->type, code, reason);
		return 0;
	}
	h->stats.accepted++;
	*outcome = ROUTE_ACCEPTED;
	return 0;
}

/* Whether from may send a message of type to dest: its allowed types; a
 * hub's dead letters and a change for a hub (the sequencer checks the
 * publish rights) pass through every hop. */
static int route_type_ok(const struct hub *h, const struct reg_node *from, const char *type,
			 const char *dest)
{
	const struct reg_node *to;

	if (!from)
		return 0;
	if (registry_type_allowed(from, type))
		return 1;
	if (strcmp(type, ENV_DEADLETTER_TYPE) == 0)
		return (from->roles & REG_ROLE_HUB) != 0;
	if (strcmp(type, DS_CHANGE_TYPE) == 0) {
		to = registry_find(h->reg, dest);
		return to && (to->roles & REG_ROLE_HUB);
	}
	return 0;
}

/* Decide one message from src (an own node's push, a child hub's relayed
 * push, a delivery from the parent). Returns 0 or a store error; *outcome
 * says what became of it. */
static int route_one(struct hub *h, const struct route_src *src, const uint8_t *msg, size_t len,
		     enum route_outcome *outcome)
{
	size_t max = (size_t)h->conf.max_message_bytes;
	const char *back = src->prefix ? src->node : NULL;
	const struct reg_node *from, *to;
	const char *dl_to = src->node, *hop;
	char reason[200];
	const char *dest1[1];
	struct env e;
	size_t n, anywhere = 0;
	int rc;

	*outcome = ROUTE_REFUSED;
	rc = env_decode(msg, len, max, &e);
	if (rc == OS_ETOOBIG) {
		/* Read what it says anyway, so the origin can tell which
		 * message came back; nothing of it is trusted. */
		snprintf(reason, sizeof(reason), "message of %zu bytes exceeds %zu", len, max);
		(void)env_decode(msg, len, len, &e);
		if (src->prefix)
			dl_to = e.origin;
		route_refuse(h, dl_to, e.has_id ? e.id : NULL, e.destination, e.type, OS_ETOOBIG,
			     reason);
		env_clear(&e);
		return 0;
	}
	/* A relayed message's refusal goes back to its origin (routed by
	 * hop), when the origin is a node of the registry at all. */
	if (src->prefix)
		dl_to = registry_find(h->reg, e.origin) ? e.origin : "";
	if (rc) {
		/* env_decode decides the code and keeps what can be read, so
		 * the origin learns which message it was whenever it can. */
		route_reason(reason, sizeof(reason), "%s%s",
			     rc == OS_EDECODE ? "undecodable: " : "",
			     e.why[0] ? e.why : os_strerror(rc));
		route_refuse(h, dl_to, e.has_id ? e.id : NULL, e.destination, e.type, rc, reason);
		env_clear(&e);
		return 0;
	}
	if (!src->prefix && strcmp(e.origin, src->node) != 0) {
		route_reason(reason, sizeof(reason),
			     "envelope origin %s is not the authenticated node", e.origin);
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_EORIGIN, reason);
		goto out;
	}
	if (src->prefix && *src->prefix && !tree_in_prefix(e.origin, src->prefix)) {
		route_reason(reason, sizeof(reason),
			     "envelope origin %s lies outside the subtree %s of relay %s", e.origin,
			     src->prefix, src->node);
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_EORIGIN, reason);
		goto out;
	}
	rc = env_verify_at(&e, h->reg, h->sigcache, h->now_ms, (uint64_t)h->conf.clock_skew_ms,
			   reason, sizeof(reason));
	if (rc) {
		route_refuse(h, dl_to, e.id, e.destination, e.type, rc, reason);
		rc = 0;
		goto out;
	}
	/* A change is governed by the publish rights of the registry
	 * (ds_change_allowed), not by the types the node may send. A change
	 * addressed to this hub is taken as one it sequences: a spoke
	 * addresses its changes to the dataset's sequencer, and
	 * dataset_apply refuses a dataset this hub does not sequence. */
	if (strcmp(e.destination, h->conf.name) == 0 && strcmp(e.type, DS_CHANGE_TYPE) == 0) {
		rc = route_change(h, dl_to, &e, msg, len, outcome);
		goto out;
	}
	from = registry_find(h->reg, e.origin);
	if (!route_type_ok(h, from, e.type, e.destination)) {
		route_reason(reason, sizeof(reason), "type %s not allowed for this origin", e.type);
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_ENOTALLOWED, reason);
		goto out;
	}
	if (e.destination[0] == '@') {
		n = route_subscribers(h, e.destination + 1, e.origin, back, &anywhere);
		if (anywhere == 0 || (n == 0 && !src->prefix)) {
			/* Accepting it would lose it without a word. */
			route_refuse(h, dl_to, e.id, e.destination, e.type, OS_ENOSUBSCRIBER,
				     "no active subscriber of the topic other than the origin");
			goto out;
		}
		if (n == 0) {
			/* Relayed here, but every subscriber lies back where
			 * it came from (the registries differed): done. */
			os_log(OS_LOG_INFO, "topic_no_hop", "origin=%s topic=%s from=%s", e.origin,
			       e.destination, src->node);
			h->stats.accepted++;
			*outcome = ROUTE_ACCEPTED;
			goto out;
		}
		if (src->prefix ? route_relay_over_budget(h, src->node, len)
				: route_over_quota(h, h->route->dests, n, e.origin, len)) {
			*outcome = ROUTE_BLOCKED;
			goto out;
		}
		rc = route_store(h, e.origin, h->route->dests, n,
				 src->prefix ? NULL : h->route->held, msg, len, e.expires_ms);
		if (rc == 0) {
			route_log_routed(&e, h->route->dests, n);
			h->stats.accepted++;
			*outcome = ROUTE_ACCEPTED;
		}
		goto out;
	}
	if (strcmp(e.destination, h->conf.name) == 0) {
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_ENOTALLOWED,
			     "the hub takes no messages");
		goto out;
	}
	to = registry_find(h->reg, e.destination);
	if (!to && route_hop(h, e.destination, &hop) == 0 && strcmp(hop, e.destination) != 0 &&
	    (!back || strcmp(hop, back) != 0)) {
		/* For a node this hub does not know, in another hub's subtree:
		 * the hub serving that subtree holds the registry that names
		 * it, and decides (this hub's chain may lag behind, e.g. before
		 * the other provinces' registries came, or just after a
		 * restart): hand it on by the tree. */
		os_log(OS_LOG_DEBUG, "relay_unknown_destination", "origin=%s dest=%s hop=%s",
		       e.origin, e.destination, hop);
		goto store;
	}
	if (!to) {
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_EUNKNOWN,
			     "destination not in the registry");
		goto out;
	}
	if (!registry_node_active(to)) {
		route_reason(reason, sizeof(reason), "destination is %s",
			     registry_status_str(to->status));
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_EREVOKED, reason);
		goto out;
	}
	if (route_hop(h, to->name, &hop) != 0) {
		route_refuse(
			h, dl_to, e.id, e.destination, e.type, OS_EUNKNOWN,
			"destination lies outside this hub's subtree and the hub has no parent");
		goto out;
	}
	if (back && strcmp(hop, back) == 0) {
		/* The hop it came from would take it again: the two hubs
		 * disagree on the tree (registries in flux). */
		route_refuse(h, dl_to, e.id, e.destination, e.type, OS_EUNKNOWN,
			     "destination routes back to the hub it came from");
		goto out;
	}
store:
	dest1[0] = hop;
	if (src->prefix ? route_relay_over_budget(h, src->node, len)
			: route_over_quota(h, dest1, 1, e.origin, len)) {
		*outcome = ROUTE_BLOCKED;
		goto out;
	}
	rc = route_store(h, e.origin, dest1, 1, src->prefix ? NULL : h->route->held, msg, len,
			 e.expires_ms);
	if (rc == 0) {
		route_log_routed(&e, dest1, 1);
		h->stats.accepted++;
		*outcome = ROUTE_ACCEPTED;
	}
out:
	env_clear(&e);
	return rc;
}

int route_push(struct hub *h, const char *origin, const uint8_t epoch[16],
	       const Onestop__Transfers *t, struct stream_ack *ack, uint64_t *last_out)
{
	uint8_t stored[QUEUE_EPOCH_LEN];
	struct route_src src = {.node = origin};
	int child = route_child_of(h->route, origin);
	uint64_t last = 0;
	unsigned gaps = 0;
	int dirty = 0, rc;

	/* A child hub's session relays its subtree's messages. */
	if (child >= 0)
		src.prefix = h->route->child_prefix[child];
	rc = queue_origin_get(h->queue, origin, stored, &last);
	if (rc == OS_ENOTFOUND || (rc == 0 && memcmp(stored, epoch, QUEUE_EPOCH_LEN) != 0)) {
		/* A new outbox store: its stream starts afresh. */
		last = 0;
		dirty = 1;
		rc = 0;
	}
	if (rc)
		return rc;
	for (size_t i = 0; i < t->n_items; i++) {
		const Onestop__Transfer *it = t->items[i];
		enum route_outcome outcome;
		enum stream_verdict v;

		if (!it)
			continue;
		v = stream_offer(last, it->seq, it->prev_seq);
		if (v == STREAM_DUPLICATE) {
			/* Already dealt with: ack again, store nothing. */
			h->stats.duplicates++;
			stream_ack_note(ack, v, h->now_us);
			continue;
		}
		if (v == STREAM_GAP) {
			gaps++;
			continue;
		}
		rc = route_one(h, &src, it->msg.data, it->msg.len, &outcome);
		if (rc)
			return rc;
		if (outcome == ROUTE_BLOCKED) {
			h->stats.over_quota++;
			break; /* not acked: the origin keeps it and retries */
		}
		/* Accepted or refused, it is dealt with. */
		last = it->seq;
		dirty = 1;
		stream_ack_note(ack, STREAM_ACCEPT, h->now_us);
	}
	if (gaps)
		os_log(OS_LOG_DEBUG, "push_gap", "origin=%s ignored=%u last=%llu", origin, gaps,
		       (unsigned long long)last);
	if (dirty)
		rc = queue_origin_put(h->queue, origin, epoch, last);
	*last_out = last;
	return rc;
}

void route_expired(struct hub *h, const char *dest, const uint8_t *msg, size_t len)
{
	char idhex[2 * sizeof(os_msgid) + 1];
	char reason[200];
	struct env e;

	h->stats.expired++;
	if (!msg || env_decode(msg, len, len, &e) != 0) {
		os_log(OS_LOG_WARN, "msg_expired", "id=- origin=- dest=%s undecodable=1", dest);
		return;
	}
	os_hex(idhex, e.id, sizeof(os_msgid));
	os_log(OS_LOG_INFO, "msg_expired", "id=%s origin=%s dest=%s type=%s", idhex, e.origin, dest,
	       e.type);
	/* Never dead-letter a dead letter; and an origin gone from the
	 * registry could never collect one. */
	if (strcmp(e.type, ENV_DEADLETTER_TYPE) != 0 && registry_find(h->reg, e.origin)) {
		route_reason(reason, sizeof(reason), "expired before delivery to %s", dest);
		route_dl_add(h, e.origin, e.id, e.destination, e.type, OS_EEXPIRED, reason);
	}
	env_clear(&e);
}

static int route_sweep_one(void *arg, const char *dest, uint64_t qseq, const uint8_t *msg,
			   size_t len)
{
	struct hub *h = arg;

	if (link_inflight(h, dest, qseq))
		return 0;
	/* What waits for the parent is never expired here: it may already be
	 * with the parent, unacknowledged, and the parent checks expiry
	 * itself (and dead-letters it), so the origin gets one answer. */
	if (route_has_parent(h) && strcmp(dest, h->conf.parent_name) == 0)
		return 0;
	route_expired(h, dest, msg, len);
	return 1;
}

int route_from_parent(struct hub *h, const uint8_t *msg, size_t len)
{
	const struct route_src src = {.node = h->conf.parent_name, .prefix = ""};
	enum route_outcome outcome;
	int rc = route_one(h, &src, msg, len, &outcome);

	if (rc)
		return rc;
	if (outcome == ROUTE_BLOCKED) {
		h->stats.over_quota++;
		return 1; /* UPLINK_HELD: the parent sends it again */
	}
	h->stats.from_parent++;
	return 0;
}

int route_sweep(struct hub *h)
{
	uint64_t removed = 0;
	int rc;

	rc = queue_sweep(h->queue, h->now_ms, HUB_SWEEP_BUDGET, route_sweep_one, h, &removed);
	if (rc == 0 && removed)
		os_log(OS_LOG_DEBUG, "sweep", "removed=%llu", (unsigned long long)removed);
	return rc;
}

/* Sign dl[0..n) as one batch and queue each to its origin. */
static int route_flush_batch(struct hub *h, const struct route_dl *dl, size_t n)
{
	struct env_draft *drafts = calloc(n, sizeof(*drafts));
	uint8_t **payloads = calloc(n, sizeof(*payloads));
	size_t *plens = calloc(n, sizeof(*plens));
	uint8_t **out = calloc(n, sizeof(*out));
	size_t *olens = calloc(n, sizeof(*olens));
	uint64_t expires = h->now_ms + HUB_DEADLETTER_TTL_MS;
	int rc = OS_ENOMEM;

	if (!drafts || !payloads || !plens || !out || !olens)
		goto out;
	for (size_t i = 0; i < n; i++) {
		rc = env_deadletter_pack(dl[i].has_id ? dl[i].id : NULL, dl[i].dest, dl[i].type,
					 dl[i].code, dl[i].reason, h->conf.name, &payloads[i],
					 &plens[i]);
		if (rc)
			goto out;
		drafts[i].destination = dl[i].origin;
		drafts[i].type = ENV_DEADLETTER_TYPE;
		drafts[i].payload = payloads[i];
		drafts[i].payload_len = plens[i];
		drafts[i].expires_ms = expires;
	}
	rc = env_sign_batch(h->conf.name, h->key_version, h->kp.sign_sk, drafts, n, h->now_ms, out,
			    olens, NULL);
	if (rc) {
		os_log(OS_LOG_ERROR, "deadletter_sign_failed", "count=%zu error=%s", n,
		       os_errname(rc));
		rc = 0; /* nothing to store; the refusals stay logged */
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *dest[1];

		/* Routed by hop like any message; an origin this hub cannot
		 * reach (no parent) keeps only the refusal's log line. */
		if (route_hop(h, dl[i].origin, &dest[0]) != 0) {
			os_log(OS_LOG_WARN, "deadletter_lost", "origin=%s error=EUNKNOWN",
			       dl[i].origin[0] ? dl[i].origin : "-");
			continue;
		}
		/* Dead letters ignore the quotas: they cannot be refused. */
		rc = route_store(h, h->conf.name, dest, 1, NULL, out[i], olens[i], expires);
		if (rc)
			goto out;
		h->stats.deadletters++;
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (payloads)
			free(payloads[i]);
		if (out)
			free(out[i]);
	}
	free(drafts);
	free(payloads);
	free(plens);
	free(out);
	free(olens);
	return rc;
}

int route_flush(struct hub *h)
{
	struct route *r = h->route;
	size_t done = 0;
	int rc = 0;

	if (r->n_dl == 0)
		return 0;
	while (rc == 0 && done < r->n_dl) {
		size_t n = r->n_dl - done;

		if (n > BATCHSIG_MAX_LEAVES)
			n = BATCHSIG_MAX_LEAVES;
		rc = route_flush_batch(h, r->dl + done, n);
		done += n;
	}
	r->n_dl = 0;
	return rc;
}

void route_abort(struct hub *h)
{
	h->route->n_dl = 0;
}

/* ---------------------------------------------------------------- loop */

static const char *route_link_state_name(unsigned g)
{
	switch (g) {
	case 1:
		return "down";
	case 2:
		return "connecting";
	case 3:
		return "up";
	default:
		return "none";
	}
}

/* The links line: the parent link's state and what waits for it (up),
 * and per child hub its session and what waits for it (down). */
static void route_log_links(struct hub *h)
{
	struct route *r = h->route;
	char children[1024];
	size_t used = 0;

	if (!route_has_parent(h) && r->n_children == 0)
		return;
	children[0] = 0;
	for (size_t i = 0; i < r->n_children && used < sizeof(children); i++) {
		int k = snprintf(children + used, sizeof(children) - used, "%s%s:%s:%llu",
				 i ? "," : "", r->child_hub[i],
				 link_live(h, r->child_hub[i]) ? "live" : "none",
				 (unsigned long long)queue_count(h->queue, r->child_hub[i]));

		if (k < 0)
			break;
		used += (size_t)k;
	}
	if (route_has_parent(h))
		os_log(OS_LOG_INFO, "links",
		       "parent=%s parent_state=%s up_backlog=%llu children=%s", h->conf.parent_name,
		       route_link_state_name(h->stats.parent_link),
		       (unsigned long long)queue_count(h->queue, h->conf.parent_name),
		       children[0] ? children : "-");
	else
		os_log(OS_LOG_INFO, "links", "parent=- children=%s", children);
}

/* Before the sessions fill their windows: the expiry sweep when it is due,
 * then the dead letters of what was drained, so that they go out in this
 * iteration. */
static void route_work(void *ctx)
{
	struct hub *h = ctx;
	struct route *r = h->route;

	if (!h->failed && h->now_us >= r->next_sweep_us) {
		r->next_sweep_us = h->now_us + (uint64_t)HUB_SWEEP_MS * 1000;
		hub_fail(h, route_sweep(h));
	}
	if (!h->failed && h->now_us >= r->next_links_us) {
		r->next_links_us = h->now_us + (uint64_t)HUB_STATS_MS * 1000;
		route_log_links(h);
	}
	if (!h->failed)
		hub_fail(h, route_flush(h));
}

static uint64_t route_deadline(void *ctx)
{
	return ((const struct hub *)ctx)->route->next_sweep_us;
}

/* After the sessions filled their windows: the dead letters of expired
 * entries met on the way. */
static void route_work_late(void *ctx)
{
	struct hub *h = ctx;

	if (!h->failed)
		hub_fail(h, route_flush(h));
}

static void route_after_commit(void *ctx, int rc)
{
	if (rc)
		route_abort(ctx);
}

int route_attach(struct hub *h, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "route",
		.work = route_work,
		.deadline_us = route_deadline,
		.ctx = h,
	};

	h->route->next_sweep_us = os_mono_us() + (uint64_t)HUB_SWEEP_MS * 1000;
	return loop_add(l, &hooks);
}

int route_attach_late(struct hub *h, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "route_late",
		.work = route_work_late,
		.after_commit = route_after_commit,
		.ctx = h,
	};

	return loop_add(l, &hooks);
}
