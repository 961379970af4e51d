/* The hub's dataset sequencer and streams. Entries, the change log and each
 * dataset's position live in the hub's store beside the queues, written in
 * the iteration's transaction (hub_txn); each session's stream state is
 * kept in memory and planned again from the spoke's position at every
 * Hello. Frames go out through the link (link_hold_dataset); the link
 * reaches this file only through the ops table main.c fills.
 *
 *   phase     event                                   action -> next phase
 *   PLAN      topup                                   snapshot needed? -> SNAPSHOT
 *                                                     else stream from its seq -> CHANGES
 *   CHANGES   topup                                   Changes within the window
 *   CHANGES   the log no longer reaches the next seq  -> SNAPSHOT
 *   CHANGES   ack above what was sent, or below        -> PLAN (from the acked seq)
 *   SNAPSHOT  topup                                   chunks, at most 8 unacknowledged
 *   SNAPSHOT  ack of the last chunk (seq=snapshot_seq) -> CHANGES from snapshot_seq
 *   CHANGES   acks stall 3 heartbeats, commit failed   resend from the acked seq
 *   SNAPSHOT  acks stall 3 heartbeats, commit failed   -> PLAN (a new snapshot) */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "map.h"
#include "parent.h"
#include "queue.h"
#include "store.h"
#include "util.h"

#define DS_EKEY_MAX (OS_NAME_MAX + DS_KEY_MAX + 1) /* dataset NUL key */
#define DS_LKEY_MAX (OS_NAME_MAX + 8)              /* dataset NUL u64be seq */
#define DS_META_LEN 16                             /* u64be last || u64be first */
#define DS_STALL_BEATS 3u
#define DS_EPOCH_LEN QUEUE_EPOCH_LEN
#define DS_RELAY_LEN (DS_EPOCH_LEN + 17) /* epoch || u8 syncing || u64be snap || u64be chunks */
#define DS_CHILDREN_MAX 256u             /* child hubs looked at per session */

enum ds_phase { DS_PLAN, DS_CHANGES, DS_SNAPSHOT };

/* What this hub does with a declared dataset (PROTOCOL 13.5). */
enum ds_role {
	DS_NONE,      /* not visible here: neither held nor streamed */
	DS_SEQUENCER, /* it gives the dataset its seqs */
	DS_RELAY,     /* its parent's replica; serves its sessions from the copy */
};

/* Where this hub's copy of a relayed dataset stands. seq mirrors ds_meta's
 * last; the rest is kept in ds_relay. */
struct ds_relay {
	char name[OS_NAME_MAX];
	uint8_t epoch[DS_EPOCH_LEN]; /* the sequencer's store it came from */
	int has_epoch;
	uint64_t seq; /* last change written (0 while syncing) */
	int syncing;  /* a snapshot from the parent is being received */
	uint64_t snap_seq;
	uint32_t chunks; /* chunks of the current or last snapshot written */
	int reset_due;   /* a partial snapshot is dropped before the next frame */
	int ack_due;
};

/* One dataset stream to one spoke. */
struct ds_stream {
	char name[OS_NAME_MAX];
	enum ds_phase phase;
	uint64_t start;     /* PLAN: the seq the spoke holds */
	int force_snapshot; /* PLAN: its copy cannot be continued */
	int has_pepoch;     /* PLAN: the epoch its Hello named for start */
	uint8_t pepoch[DS_EPOCH_LEN];
	uint64_t acked;    /* CHANGES: the spoke holds everything up to it */
	uint64_t sent;     /* CHANGES: last seq sent */
	uint64_t snap_seq; /* SNAPSHOT: the dataset's seq when it began */
	uint32_t chunks_sent;
	uint32_t chunks_acked;
	int snap_done;                   /* the last chunk went out */
	char snap_after[DS_KEY_MAX + 1]; /* key of the last entry sent */
	size_t snap_after_len;
	uint64_t progress_us; /* acks last advanced, or sending began (monotonic) */
	int more;             /* topup should look at this stream */
	int keep;             /* scratch for the registry sync */
};

struct ds_session {
	char node[OS_NAME_MAX];
	int child; /* a child hub: its snapshots carry every entry */
	uint32_t window;
	uint64_t reg_serial; /* the registry its stream list was made from */
	struct ds_stream *streams;
	size_t n;
};

struct dataset {
	store_dbi entries, log, meta, relay;
	struct ds_relay *relays; /* the datasets this hub has relayed */
	size_t n_relays, cap_relays;
	struct map *sessions;         /* node -> struct ds_session */
	int wake;                     /* a change was sequenced: every stream looks again */
	char (*compact)[OS_NAME_MAX]; /* datasets whose log passed dataset_log_max */
	size_t n_compact, cap_compact;
	uint8_t *rec; /* scratch: u64be seq || Signed */
	size_t rec_cap;
	uint64_t next_tick_us; /* when the stall timers run next */
	Onestop__Change items[DATASET_FRAME_ITEMS];
	Onestop__Change *ptrs[DATASET_FRAME_ITEMS];
};

/* ---------------------------------------------------------------- keys */

static size_t ds_ekey(uint8_t *buf, const char *ds, const char *key, size_t klen)
{
	size_t dl = strlen(ds);

	if (dl == 0 || dl >= OS_NAME_MAX || klen > DS_KEY_MAX)
		return 0;
	memcpy(buf, ds, dl);
	buf[dl] = 0;
	memcpy(buf + dl + 1, key, klen);
	return dl + 1 + klen;
}

static size_t ds_lkey(uint8_t *buf, const char *ds, uint64_t seq)
{
	size_t dl = strlen(ds);

	if (dl == 0 || dl >= OS_NAME_MAX)
		return 0;
	memcpy(buf, ds, dl);
	buf[dl] = 0;
	os_put_u64be(buf + dl + 1, seq);
	return dl + 9;
}

/* last: the dataset's last seq (0: none yet); first: the oldest seq in the
 * log (last + 1 when the log is empty). */
static int ds_meta_get(struct dataset *d, struct store_txn *t, const char *name, uint64_t *last,
		       uint64_t *first)
{
	const void *v;
	size_t vl;
	int rc = store_get(t, d->meta, name, strlen(name), &v, &vl);

	*last = 0;
	*first = 1;
	if (rc == OS_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	if (vl != DS_META_LEN) {
		os_log(OS_LOG_ERROR, "dataset_meta_bad", "dataset=%s bytes=%zu", name, vl);
		return OS_ESTORE;
	}
	*last = os_get_u64be(v);
	*first = os_get_u64be((const uint8_t *)v + 8);
	return 0;
}

static int ds_meta_put(struct dataset *d, struct store_txn *t, const char *name, uint64_t last,
		       uint64_t first)
{
	uint8_t v[DS_META_LEN];

	os_put_u64be(v, last);
	os_put_u64be(v + 8, first);
	return store_put(t, d->meta, name, strlen(name), v, sizeof(v));
}

/* The change a stored record (u64be seq || Signed) holds, into *c (the
 * caller clears it). It was verified when it was stored: only unpacked. */
static int ds_record_change(const uint8_t *rec, size_t len, size_t max, struct ds_change *c)
{
	Onestop__Signed *sg;
	Onestop__Envelope *env = NULL;
	int rc = OS_EDECODE;

	if (len <= 8 || len - 8 > max)
		return OS_EDECODE;
	sg = onestop__signed__unpack(NULL, len - 8, rec + 8);
	if (sg)
		env = onestop__envelope__unpack(NULL, sg->envelope.len, sg->envelope.data);
	if (env)
		rc = ds_change_unpack(env->payload.data, env->payload.len, c);
	if (env)
		onestop__envelope__free_unpacked(env, NULL);
	if (sg)
		onestop__signed__free_unpacked(sg, NULL);
	return rc;
}

/* ---------------------------------------------------------------- roles */

static int ds_has_parent(const struct hub *h)
{
	return h->conf.parent_endpoint && *h->conf.parent_endpoint;
}

/* A dataset whose registry names no sequencer keeps section 9: the hub a
 * publisher connects to sequences it. */
static enum ds_role ds_role_of(const struct hub *h, const struct reg_dataset *rd)
{
	if (!rd)
		return DS_NONE;
	if (!rd->sequencer || !*rd->sequencer || strcmp(rd->sequencer, h->conf.name) == 0)
		return DS_SEQUENCER;
	if (ds_has_parent(h) && registry_dataset_visible(h->reg, rd, h->conf.name))
		return DS_RELAY;
	return DS_NONE;
}

static enum ds_role ds_role(const struct hub *h, const char *name)
{
	return ds_role_of(h, name ? registry_find_dataset(h->reg, name) : NULL);
}

/* 1 when node is the hub of one of this hub's child delegations. */
static int ds_is_child_hub(const struct hub *h, const char *node)
{
	const struct reg_delegation *c[DS_CHILDREN_MAX];
	const char *prefix = registry_hub_prefix(h->reg, h->conf.name);
	size_t n;

	if (!prefix)
		return 0;
	n = registry_children(h->reg, prefix, c, DS_CHILDREN_MAX);
	for (size_t i = 0; i < n && i < DS_CHILDREN_MAX; i++)
		if (c[i]->hub && strcmp(c[i]->hub, node) == 0)
			return 1;
	return 0;
}

/* Whether a session of node (child: a child hub) gets a stream of rd: this
 * hub holds it, node sees it, and node is not a hub sequencing it. */
static int ds_streamed_to(const struct hub *h, const struct reg_dataset *rd, const char *node,
			  int child)
{
	if (ds_role_of(h, rd) == DS_NONE || !registry_dataset_visible(h->reg, rd, node))
		return 0;
	return !child || (rd->sequencer && *rd->sequencer && strcmp(rd->sequencer, node) != 0);
}

static struct ds_relay *ds_relay_find(struct dataset *d, const char *name)
{
	for (size_t i = 0; i < d->n_relays; i++)
		if (strcmp(d->relays[i].name, name) == 0)
			return &d->relays[i];
	return NULL;
}

/* The relay state of name, created (seq 0, no epoch) when absent. NULL on
 * ENOMEM or a name too long. */
static struct ds_relay *ds_relay_get(struct dataset *d, const char *name)
{
	struct ds_relay *r = ds_relay_find(d, name);

	if (r)
		return r;
	if (strlen(name) >= OS_NAME_MAX)
		return NULL;
	if (d->n_relays == d->cap_relays) {
		size_t cap = d->cap_relays ? d->cap_relays * 2 : 8;
		struct ds_relay *n = realloc(d->relays, cap * sizeof(*n));

		if (!n)
			return NULL;
		d->relays = n;
		d->cap_relays = cap;
	}
	r = &d->relays[d->n_relays++];
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	return r;
}

/* The epoch the frames of dataset name carry: this hub's store for a
 * dataset it sequences, the sequencer's for one it relays; NULL when it
 * holds no copy. */
static const uint8_t *ds_epoch(struct hub *h, const char *name)
{
	const struct ds_relay *r;

	switch (ds_role(h, name)) {
	case DS_SEQUENCER:
		return queue_epoch(h->queue);
	case DS_RELAY:
		r = ds_relay_find(h->ds, name);
		return r && r->has_epoch ? r->epoch : NULL;
	default:
		return NULL;
	}
}

/* Whether this hub can serve dataset name to its sessions now: it
 * sequences it, or holds a whole copy (not in the middle of a snapshot). */
static int ds_ready(struct hub *h, const char *name)
{
	const struct ds_relay *r;

	switch (ds_role(h, name)) {
	case DS_SEQUENCER:
		return 1;
	case DS_RELAY:
		r = ds_relay_find(h->ds, name);
		return r && r->has_epoch && !r->syncing && !r->reset_due;
	default:
		return 0;
	}
}

static int ds_relay_put(struct hub *h, struct store_txn *t, const struct ds_relay *r)
{
	uint8_t v[DS_RELAY_LEN];

	memset(v, 0, sizeof(v));
	if (r->has_epoch)
		memcpy(v, r->epoch, DS_EPOCH_LEN);
	v[DS_EPOCH_LEN] = r->syncing ? 1 : 0;
	os_put_u64be(v + DS_EPOCH_LEN + 1, r->snap_seq);
	os_put_u64be(v + DS_EPOCH_LEN + 9, r->chunks);
	return hub_wrote(h, store_put(t, h->ds->relay, r->name, strlen(r->name), v, sizeof(v)));
}

struct ds_relay_load_walk {
	struct dataset *d;
	struct store_txn *t;
};

static int ds_meta_get(struct dataset *d, struct store_txn *t, const char *name, uint64_t *last,
		       uint64_t *first);

/* One stored relay state into d (store_walk). */
static int ds_relay_load_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	static const uint8_t zero[DS_EPOCH_LEN];
	struct ds_relay_load_walk *w = arg;
	const uint8_t *b = v;
	char name[OS_NAME_MAX];
	struct ds_relay *r;
	uint64_t first;
	int rc;

	if (kl == 0 || kl >= OS_NAME_MAX || vl != DS_RELAY_LEN)
		return STORE_NEXT;
	memcpy(name, k, kl);
	name[kl] = 0;
	r = ds_relay_get(w->d, name);
	if (!r)
		return OS_ENOMEM;
	memcpy(r->epoch, b, DS_EPOCH_LEN);
	r->has_epoch = memcmp(r->epoch, zero, DS_EPOCH_LEN) != 0;
	r->syncing = b[DS_EPOCH_LEN] != 0;
	r->snap_seq = os_get_u64be(b + DS_EPOCH_LEN + 1);
	r->chunks = (uint32_t)os_get_u64be(b + DS_EPOCH_LEN + 9);
	/* A snapshot cut short is dropped before the next frame. */
	r->reset_due = r->syncing;
	r->ack_due = 0;
	rc = ds_meta_get(w->d, w->t, name, &r->seq, &first);
	return rc ? rc : STORE_NEXT;
}

/* (Re)load every relay state from the store (a read transaction of its
 * own: none may be open). */
static int ds_relay_load(struct hub *h)
{
	struct ds_relay_load_walk w = {.d = h->ds};
	int rc = store_begin(h->st, 1, &w.t);

	if (rc)
		return rc;
	h->ds->n_relays = 0;
	rc = store_walk(w.t, h->ds->relay, NULL, 0, NULL, 0, ds_relay_load_one, &w);
	store_abort(&w.t);
	return rc;
}

/* ---------------------------------------------------------------- life */

int dataset_open(struct hub *h)
{
	struct dataset *d = calloc(1, sizeof(*d));
	struct store *st = h->st;
	int rc;

	if (!d)
		return OS_ENOMEM;
	rc = map_new(&d->sessions);
	if (rc == 0)
		rc = store_dbi_open(st, "ds_entries", &d->entries);
	if (rc == 0)
		rc = store_dbi_open(st, "ds_log", &d->log);
	if (rc == 0)
		rc = store_dbi_open(st, "ds_meta", &d->meta);
	if (rc == 0)
		rc = store_dbi_open(st, "ds_relay", &d->relay);
	if (rc) {
		map_free(&d->sessions);
		free(d);
		return rc;
	}
	for (size_t i = 0; i < DATASET_FRAME_ITEMS; i++)
		d->ptrs[i] = &d->items[i];
	h->ds = d;
	rc = ds_relay_load(h);
	if (rc) {
		dataset_close(h);
		return rc;
	}
	for (size_t i = 0; i < d->n_relays; i++)
		os_log(OS_LOG_INFO, "dataset_relay_loaded", "dataset=%s seq=%llu syncing=%d",
		       d->relays[i].name, (unsigned long long)d->relays[i].seq,
		       d->relays[i].syncing);
	return 0;
}

static void ds_session_free(struct ds_session *s)
{
	if (!s)
		return;
	free(s->streams);
	free(s);
}

void dataset_close(struct hub *h)
{
	struct dataset *d = h->ds;
	struct ds_session *s;
	size_t pos = 0;

	if (!d)
		return;
	while ((s = map_next(d->sessions, &pos, NULL)))
		ds_session_free(s);
	map_free(&d->sessions);
	free(d->relays);
	free(d->compact);
	free(d->rec);
	free(d);
	h->ds = NULL;
}

/* ---------------------------------------------------------------- sequencing */

/* Remember that name's log may need compacting. */
static void ds_compact_mark(struct dataset *d, const char *name)
{
	for (size_t i = 0; i < d->n_compact; i++)
		if (strcmp(d->compact[i], name) == 0)
			return;
	if (d->n_compact == d->cap_compact) {
		size_t cap = d->cap_compact ? d->cap_compact * 2 : 8;
		char(*c)[OS_NAME_MAX] = realloc(d->compact, cap * sizeof(*c));

		if (!c)
			return; /* the next change marks it again */
		d->compact = c;
		d->cap_compact = cap;
	}
	snprintf(d->compact[d->n_compact++], OS_NAME_MAX, "%s", name);
}

int dataset_apply(struct hub *h, const struct env *e, const uint8_t *msg, size_t len, int *code,
		  char *reason, size_t reason_size, uint64_t *seq_out)
{
	struct dataset *d = h->ds;
	struct store_txn *t;
	struct ds_change c, cur;
	const struct reg_dataset *rd;
	const uint8_t *cur_val = NULL;
	size_t cur_len = 0, ekl, lkl;
	uint8_t ek[DS_EKEY_MAX], lk[DS_LKEY_MAX];
	uint64_t last, first, seq;
	const void *v;
	size_t vl;
	int rc, allowed;

	*code = 0;
	*seq_out = 0;
	memset(&cur, 0, sizeof(cur));
	rc = hub_txn(h, &t);
	if (rc)
		return rc;
	rc = ds_change_unpack(e->payload, e->payload_len, &c);
	if (rc == OS_ENOMEM)
		return rc;
	if (rc) {
		*code = rc == OS_ETOOBIG ? OS_ETOOBIG : OS_EDECODE;
		snprintf(reason, reason_size, "the payload is not a valid ChangeRequest: %s",
			 os_strerror(rc));
		return 0;
	}
	ekl = ds_ekey(ek, c.dataset, c.key, strlen(c.key));
	if (ekl == 0) {
		*code = OS_EINVAL;
		snprintf(reason, reason_size, "dataset name or key too long");
		goto out;
	}
	rd = registry_find_dataset(h->reg, c.dataset);
	if (rd && ds_role_of(h, rd) != DS_SEQUENCER) {
		/* Another hub gives its seqs: a copy here must not fork. */
		*code = OS_ENOTALLOWED;
		snprintf(reason, reason_size, "dataset \"%s\" is sequenced by %s, not by this hub",
			 c.dataset, ds_sequencer(rd, "its parent hub"));
		goto out;
	}
	/* Only items need the stored value: its owner decides who may
	 * replace or delete it. */
	if (strcmp(c.dataset, DS_ITEMS) == 0) {
		rc = store_get(t, d->entries, ek, ekl, &v, &vl);
		if (rc == 0) {
			if (ds_record_change(v, vl, (size_t)h->conf.max_message_bytes, &cur) == 0) {
				cur_val = cur.value;
				cur_len = cur.value_len;
			} else {
				os_log(OS_LOG_ERROR, "dataset_entry_bad", "dataset=%s", c.dataset);
			}
		} else if (rc != OS_ENOTFOUND) {
			goto out;
		}
		rc = 0;
	}
	allowed = ds_change_allowed(h->reg, e->origin, &c, cur_val, cur_len, reason, reason_size);
	if (allowed) {
		*code = allowed;
		goto out;
	}
	rc = ds_meta_get(d, t, c.dataset, &last, &first);
	if (rc)
		goto out;
	seq = last + 1;
	if (c.is_delete) {
		rc = store_del(t, d->entries, ek, ekl);
		if (rc == OS_ENOTFOUND)
			rc = 0;
		hub_wrote(h, rc);
	} else {
		if (len + 8 > d->rec_cap) {
			uint8_t *r = realloc(d->rec, len + 8);

			if (!r) {
				rc = OS_ENOMEM;
				goto out;
			}
			d->rec = r;
			d->rec_cap = len + 8;
		}
		os_put_u64be(d->rec, seq);
		memcpy(d->rec + 8, msg, len);
		rc = hub_wrote(h, store_put(t, d->entries, ek, ekl, d->rec, len + 8));
	}
	if (rc)
		goto out;
	lkl = ds_lkey(lk, c.dataset, seq);
	rc = hub_wrote(h, store_put(t, d->log, lk, lkl, msg, len));
	if (rc == 0)
		rc = hub_wrote(h, ds_meta_put(d, t, c.dataset, seq, first));
	if (rc)
		goto out;
	d->wake = 1;
	if (seq - first + 1 > (uint64_t)h->conf.dataset_log_max)
		ds_compact_mark(d, c.dataset);
	*seq_out = seq;
out:
	ds_change_clear(&c);
	ds_change_clear(&cur);
	return rc;
}

/* Drop the front of name's log down to dataset_log_max changes, at most
 * budget of them now; *done when nothing is left to drop. */
static int ds_compact_one(struct hub *h, struct store_txn *t, const char *name, unsigned budget,
			  int *done)
{
	struct dataset *d = h->ds;
	uint64_t last, first, upto, keep = (uint64_t)h->conf.dataset_log_max;
	uint8_t from[DS_LKEY_MAX], to[DS_LKEY_MAX];
	size_t fl, tl;
	int rc;

	*done = 1;
	rc = ds_meta_get(d, t, name, &last, &first);
	if (rc || last < first || last - first + 1 <= keep)
		return rc;
	upto = last - keep;
	if (upto - first + 1 > budget) {
		upto = first + budget - 1;
		*done = 0;
	}
	fl = ds_lkey(from, name, first);
	tl = ds_lkey(to, name, upto + 1);
	if (fl == 0 || tl == 0)
		return 0;
	rc = hub_wrote(h, store_del_range(t, d->log, from, fl, to, tl, 0, NULL, NULL));
	if (rc == 0)
		rc = hub_wrote(h, ds_meta_put(d, t, name, last, upto + 1));
	if (rc == 0)
		os_log(OS_LOG_DEBUG, "dataset_log_compacted", "dataset=%s first=%llu last=%llu",
		       name, (unsigned long long)(upto + 1), (unsigned long long)last);
	return rc;
}

/* ---------------------------------------------------------------- sessions */

static struct ds_stream *ds_stream_find(struct ds_session *s, const char *name)
{
	if (!s || !name)
		return NULL;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->streams[i].name, name) == 0)
			return &s->streams[i];
	return NULL;
}

static void ds_replan(struct ds_stream *st, uint64_t start, int force)
{
	st->phase = DS_PLAN;
	st->start = start;
	st->force_snapshot = force;
	st->has_pepoch = 0;
	st->more = 1;
}

/* Go back to the last acknowledged point after frames were lost. */
static void ds_stream_restart(struct ds_stream *st)
{
	if (st->phase == DS_CHANGES) {
		st->sent = st->acked;
		st->more = 1;
	} else if (st->phase == DS_SNAPSHOT) {
		/* Snapshot chunks carry no index: start the snapshot over. */
		ds_replan(st, 0, 1);
	}
}

/* Make s's stream list follow the registry: the datasets streamed to its
 * node (ds_streamed_to); streams of datasets it gets since its Hello
 * start with a snapshot (its position there is unknown). */
static int ds_session_sync(struct hub *h, struct ds_session *s)
{
	const struct registry *reg = h->reg;
	struct ds_stream *ns;
	size_t n = 0;

	if (s->reg_serial == reg->serial)
		return 0;
	ns = calloc(reg->n_datasets ? reg->n_datasets : 1, sizeof(*ns));
	if (!ns)
		return OS_ENOMEM;
	s->child = ds_is_child_hub(h, s->node);
	for (size_t i = 0; i < reg->n_datasets; i++) {
		const struct reg_dataset *rd = &reg->datasets[i];
		struct ds_stream *old;

		if (!ds_streamed_to(h, rd, s->node, s->child))
			continue;
		old = ds_stream_find(s, rd->name);
		if (old) {
			ns[n] = *old;
		} else {
			snprintf(ns[n].name, sizeof(ns[n].name), "%s", rd->name);
			ds_replan(&ns[n], 0, 1);
		}
		n++;
	}
	free(s->streams);
	s->streams = ns;
	s->n = n;
	s->reg_serial = reg->serial;
	return 0;
}

void dataset_hello(struct hub *h, const char *node, const Onestop__Hello *hello)
{
	struct dataset *d = h->ds;
	const struct registry *reg = h->reg;
	struct ds_session *s = map_get(d->sessions, node);
	struct ds_stream *ns;

	ns = calloc(reg->n_datasets ? reg->n_datasets : 1, sizeof(*ns));
	if (!ns) {
		hub_fail(h, OS_ENOMEM);
		return;
	}
	if (!s) {
		s = calloc(1, sizeof(*s));
		if (!s || map_put(d->sessions, node, s) != 0) {
			free(s);
			free(ns);
			hub_fail(h, OS_ENOMEM);
			return;
		}
		snprintf(s->node, sizeof(s->node), "%s", node);
	}
	free(s->streams);
	s->streams = ns;
	s->n = 0;
	s->reg_serial = reg->serial;
	s->child = ds_is_child_hub(h, node);
	s->window = hello->window ? hello->window : (uint32_t)h->conf.window;
	if (s->window > LINK_WINDOW_MAX)
		s->window = LINK_WINDOW_MAX;
	for (size_t i = 0; i < reg->n_datasets; i++) {
		const struct reg_dataset *rd = &reg->datasets[i];
		struct ds_stream *st;
		const Onestop__DatasetPosition *pos = NULL;

		if (!ds_streamed_to(h, rd, node, s->child))
			continue;
		st = &s->streams[s->n++];
		snprintf(st->name, sizeof(st->name), "%s", rd->name);
		for (size_t j = 0; j < hello->n_datasets; j++) {
			const Onestop__DatasetPosition *p = hello->datasets[j];

			if (p && p->dataset && strcmp(p->dataset, st->name) == 0) {
				pos = p;
				break;
			}
		}
		if (!pos) {
			/* Its registry does not know the dataset yet. */
			ds_replan(st, 0, 1);
		} else if (pos->epoch.len == DS_EPOCH_LEN) {
			/* Which store its copy came from is compared when the
			 * stream is planned: a relay may not hold one yet. */
			ds_replan(st, pos->seq, 0);
			memcpy(st->pepoch, pos->epoch.data, DS_EPOCH_LEN);
			st->has_pepoch = 1;
		} else {
			ds_replan(st, pos->seq, pos->seq != 0);
		}
	}
}

void dataset_session_end(struct hub *h, const char *node)
{
	if (h->ds)
		ds_session_free(map_del(h->ds->sessions, node));
}

void dataset_ack(struct hub *h, const char *node, const Onestop__DatasetAck *a)
{
	struct ds_stream *st;

	if (!a || !a->dataset)
		return;
	st = ds_stream_find(map_get(h->ds->sessions, node), a->dataset);
	if (!st)
		return;
	switch (st->phase) {
	case DS_PLAN:
		break; /* a plan made from its Hello or a later ack is pending */
	case DS_SNAPSHOT:
		if (st->snap_done && a->seq == st->snap_seq &&
		    a->snapshot_chunks >= st->chunks_sent) {
			os_log(OS_LOG_INFO, "snapshot_done",
			       "node=%s dataset=%s seq=%llu chunks=%u", node, st->name,
			       (unsigned long long)st->snap_seq, st->chunks_sent);
			st->phase = DS_CHANGES;
			st->acked = st->sent = st->snap_seq;
			st->progress_us = h->now_us;
			st->more = 1;
		} else if (a->seq == 0) {
			uint32_t n = a->snapshot_chunks < st->chunks_sent ? a->snapshot_chunks
									  : st->chunks_sent;

			if (n > st->chunks_acked) {
				st->chunks_acked = n;
				st->progress_us = h->now_us;
				st->more = 1;
			}
		}
		break;
	case DS_CHANGES:
		if (a->seq > st->acked && a->seq <= st->sent) {
			st->acked = a->seq;
			st->progress_us = h->now_us;
			st->more = 1;
		} else if (a->seq > st->sent) {
			/* It holds more than this stream sent (frames of an
			 * iteration that failed here were applied there). */
			ds_replan(st, a->seq, 0);
		} else if (a->seq < st->acked) {
			/* It lost what it had acknowledged: start it afresh. */
			os_log(OS_LOG_WARN, "dataset_ack_regressed",
			       "node=%s dataset=%s seq=%llu acked=%llu", node, st->name,
			       (unsigned long long)a->seq, (unsigned long long)st->acked);
			ds_replan(st, 0, 1);
		}
		break;
	}
}

void dataset_fetch(struct hub *h, const char *node, const Onestop__Fetch *f)
{
	struct dataset *d = h->ds;
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Fetched r = ONESTOP__FETCHED__INIT;
	Onestop__Change ch = ONESTOP__CHANGE__INIT;
	uint8_t ek[DS_EKEY_MAX];
	size_t ekl = 0, len;
	const void *v;
	size_t vl;
	uint8_t *buf;
	int rc;

	if (!f)
		return;
	r.request_id = f->request_id;
	r.dataset = f->dataset;
	r.key = f->key;
	if (!f->dataset || ds_role(h, f->dataset) == DS_NONE) {
		r.code = OS_ENOTFOUND;
	} else if (!ds_ready(h, f->dataset)) {
		/* A relay without a whole copy yet: the spoke asks again. */
		r.code = OS_EAGAIN;
	} else if (!f->key || ds_key_valid(f->key) != 0 ||
		   (ekl = ds_ekey(ek, f->dataset, f->key, strlen(f->key))) == 0) {
		r.code = OS_EINVAL;
	} else {
		struct store_txn *t;

		rc = hub_txn(h, &t);
		if (rc == 0)
			rc = store_get(t, d->entries, ek, ekl, &v, &vl);
		if (rc == 0 && vl > 8) {
			r.found = 1;
			ch.seq = os_get_u64be(v);
			ch.signed_.data = (uint8_t *)v + 8;
			ch.signed_.len = vl - 8;
			r.entry = &ch;
		} else if (rc != 0 && rc != OS_ENOTFOUND) {
			hub_fail(h, rc);
			return;
		}
	}
	lf.body_case = ONESTOP__LINK_FRAME__BODY_FETCHED;
	lf.fetched = &r;
	len = onestop__link_frame__get_packed_size(&lf);
	buf = malloc(len ? len : 1);
	if (!buf)
		return; /* the spoke's request times out */
	onestop__link_frame__pack(&lf, buf);
	link_hold_dataset(h, node, buf, len, 0);
}

/* ---------------------------------------------------------------- streaming */

/* Pack frame lf and hold it for node's session (a stream frame). */
static int ds_hold(struct hub *h, const char *node, const Onestop__LinkFrame *lf)
{
	size_t len = onestop__link_frame__get_packed_size(lf);
	uint8_t *buf = malloc(len ? len : 1);

	if (!buf)
		return OS_ENOMEM;
	onestop__link_frame__pack(lf, buf);
	link_hold_dataset(h, node, buf, len, 1);
	return 0;
}

static void ds_snapshot_begin(struct hub *h, const char *node, struct ds_stream *st, uint64_t last)
{
	const struct reg_dataset *rd = registry_find_dataset(h->reg, st->name);

	st->phase = DS_SNAPSHOT;
	st->snap_seq = last;
	st->chunks_sent = st->chunks_acked = 0;
	st->snap_done = 0;
	st->snap_after_len = 0;
	st->acked = st->sent = 0;
	st->force_snapshot = 0;
	st->progress_us = h->now_us;
	os_log(OS_LOG_INFO, "snapshot_start", "node=%s dataset=%s seq=%llu mode=%s", node, st->name,
	       (unsigned long long)last, rd && rd->mode == REG_DS_CACHED ? "cached" : "full");
}

static void ds_plan(struct hub *h, const char *node, struct ds_stream *st, uint64_t last,
		    uint64_t first)
{
	const uint8_t *epoch = ds_epoch(h, st->name);

	/* A copy made from another sequencer store cannot be continued. */
	if (st->has_pepoch && (!epoch || memcmp(st->pepoch, epoch, DS_EPOCH_LEN) != 0))
		st->force_snapshot = 1;
	st->has_pepoch = 0;
	if (st->force_snapshot || st->start > last || first > st->start + 1) {
		ds_snapshot_begin(h, node, st, last);
		return;
	}
	st->phase = DS_CHANGES;
	st->acked = st->sent = st->start;
	st->progress_us = h->now_us;
}

/* Consecutive log entries of one dataset into d->items. */
struct ds_changes_walk {
	struct dataset *d;
	size_t kl; /* the length of the dataset's log keys */
	uint64_t expect, upto;
	size_t n, bytes;
};

/* One log entry into a Changes frame (store_walk): it must carry the next
 * seq; the frame's bounds end the walk. v goes into the frame as it is. */
static int ds_changes_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct ds_changes_walk *w = arg;
	struct dataset *d = w->d;

	if (w->expect > w->upto || w->n >= DATASET_FRAME_ITEMS || w->bytes >= DATASET_FRAME_BYTES)
		return STORE_STOP;
	if (kl != w->kl || os_get_u64be((const uint8_t *)k + kl - 8) != w->expect)
		return STORE_STOP;
	onestop__change__init(&d->items[w->n]);
	d->items[w->n].seq = w->expect;
	d->items[w->n].signed_.data = (uint8_t *)v;
	d->items[w->n].signed_.len = vl;
	w->n++;
	w->bytes += vl;
	w->expect++;
	return STORE_NEXT;
}

/* Changes frames from sent + 1 while the window has room. */
static int ds_send_changes(struct hub *h, struct store_txn *t, struct ds_session *s,
			   struct ds_stream *st, uint64_t last)
{
	struct dataset *d = h->ds;
	size_t dl = strlen(st->name);
	int rc = 0;

	while (st->sent < last && st->sent - st->acked < s->window) {
		Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
		Onestop__Changes ch = ONESTOP__CHANGES__INIT;
		struct ds_changes_walk w = {.d = d, .expect = st->sent + 1};
		uint8_t lk[DS_LKEY_MAX];
		size_t lkl = ds_lkey(lk, st->name, w.expect);

		w.upto = st->acked + s->window;
		if (w.upto > last)
			w.upto = last;
		if (lkl == 0)
			return 0;
		w.kl = lkl;
		rc = store_walk(t, d->log, lk, dl + 1, lk, lkl, ds_changes_one, &w);
		if (rc)
			return rc;
		if (w.n == 0) {
			/* The log was compacted past this spoke's position. */
			ds_snapshot_begin(h, s->node, st, last);
			return 0;
		}
		ch.dataset = st->name;
		ch.epoch.data = (uint8_t *)ds_epoch(h, st->name);
		ch.epoch.len = DS_EPOCH_LEN;
		ch.n_items = w.n;
		ch.items = d->ptrs;
		lf.body_case = ONESTOP__LINK_FRAME__BODY_CHANGES;
		lf.changes = &ch;
		rc = ds_hold(h, s->node, &lf);
		if (rc)
			return rc;
		if (st->sent == st->acked)
			st->progress_us = h->now_us;
		st->sent = w.expect - 1;
	}
	return 0;
}

/* A snapshot chunk's entries into d->items. */
struct ds_chunk_walk {
	struct dataset *d;
	const uint8_t *ek; /* the key last sent, when skip */
	size_t ekl, pl;
	int skip;
	int end; /* the dataset's entries ran out */
	size_t n, bytes;
	const void *lastk;
	size_t lastkl;
};

/* One entry into a Snapshot chunk (store_walk); the frame's bounds end the
 * walk. v goes into the frame as it is. */
static int ds_chunk_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct ds_chunk_walk *w = arg;
	struct dataset *d = w->d;

	if (kl <= w->pl)
		return STORE_STOP;
	/* Resume after the last key sent. */
	if (w->skip && kl == w->ekl && memcmp(k, w->ek, kl) == 0)
		return STORE_NEXT;
	if (w->n >= DATASET_FRAME_ITEMS || w->bytes >= DATASET_FRAME_BYTES) {
		w->end = 0;
		return STORE_STOP;
	}
	if (vl > 8 && kl - w->pl <= DS_KEY_MAX) {
		onestop__change__init(&d->items[w->n]);
		d->items[w->n].seq = os_get_u64be(v);
		d->items[w->n].signed_.data = (uint8_t *)v + 8;
		d->items[w->n].signed_.len = vl - 8;
		w->n++;
		w->bytes += vl;
		w->lastk = k;
		w->lastkl = kl;
	}
	return STORE_NEXT;
}

/* One snapshot chunk: the next entries in key order after snap_after
 * (none for a cached-mode dataset). */
static int ds_send_chunk(struct hub *h, struct store_txn *t, struct ds_session *s,
			 struct ds_stream *st)
{
	struct dataset *d = h->ds;
	const struct reg_dataset *rd = registry_find_dataset(h->reg, st->name);
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Snapshot sn = ONESTOP__SNAPSHOT__INIT;
	uint8_t ek[DS_EKEY_MAX];
	struct ds_chunk_walk w = {.d = d, .ek = ek, .pl = strlen(st->name) + 1, .end = 1};
	int rc = 0;

	w.ekl = ds_ekey(ek, st->name, st->snap_after, st->snap_after_len);
	if (w.ekl == 0)
		return 0;
	w.skip = st->snap_after_len > 0;
	/* A child hub is a replica of every entry, whatever the mode. */
	if (rd && (rd->mode == REG_DS_FULL || s->child))
		rc = store_walk(t, d->entries, ek, w.pl, ek, w.ekl, ds_chunk_one, &w);
	if (rc == 0) {
		sn.dataset = st->name;
		sn.epoch.data = (uint8_t *)ds_epoch(h, st->name);
		sn.epoch.len = DS_EPOCH_LEN;
		sn.snapshot_seq = st->snap_seq;
		sn.first = st->chunks_sent == 0;
		sn.last = w.end;
		sn.n_entries = w.n;
		sn.entries = d->ptrs;
		lf.body_case = ONESTOP__LINK_FRAME__BODY_SNAPSHOT;
		lf.snapshot = &sn;
		rc = ds_hold(h, s->node, &lf);
	}
	if (rc == 0 && w.lastk) {
		st->snap_after_len = w.lastkl - w.pl;
		memcpy(st->snap_after, (const uint8_t *)w.lastk + w.pl, st->snap_after_len);
	}
	if (rc)
		return rc;
	if (st->chunks_sent == st->chunks_acked)
		st->progress_us = h->now_us;
	st->chunks_sent++;
	st->snap_done = w.end;
	return 0;
}

static int ds_stream_fill(struct hub *h, struct store_txn *t, struct ds_session *s,
			  struct ds_stream *st)
{
	uint64_t last, first;
	int rc = ds_meta_get(h->ds, t, st->name, &last, &first);

	if (rc)
		return rc;
	if (st->phase == DS_PLAN)
		ds_plan(h, s->node, st, last, first);
	if (st->phase == DS_CHANGES) {
		rc = ds_send_changes(h, t, s, st, last);
		if (rc)
			return rc;
	}
	while (st->phase == DS_SNAPSHOT && !st->snap_done &&
	       st->chunks_sent - st->chunks_acked < DATASET_SNAP_INFLIGHT) {
		rc = ds_send_chunk(h, t, s, st);
		if (rc)
			return rc;
	}
	return 0;
}

static int ds_any_more(const struct dataset *d)
{
	const struct ds_session *s;
	size_t pos = 0;

	while ((s = map_next(d->sessions, &pos, NULL)))
		for (size_t i = 0; i < s->n; i++)
			if (s->streams[i].more)
				return 1;
	return 0;
}

/* Compact the logs that grew past dataset_log_max (bounded) and fill every
 * session's dataset streams: Changes within the window, Snapshot chunks
 * (at most DATASET_SNAP_INFLIGHT unacknowledged). Frames are held until the
 * commit. A store error spoils the iteration. */
static void ds_topup(struct hub *h)
{
	struct dataset *d = h->ds;
	struct store_txn *t;
	struct ds_session *s;
	size_t pos = 0, j = 0;
	int rc;

	if (!d->wake && d->n_compact == 0 && !ds_any_more(d))
		return;
	rc = hub_txn(h, &t);
	if (rc)
		return;
	while ((s = map_next(d->sessions, &pos, NULL))) {
		rc = ds_session_sync(h, s);
		if (rc) {
			hub_fail(h, rc);
			return;
		}
		for (size_t i = 0; i < s->n; i++) {
			struct ds_stream *st = &s->streams[i];

			if (!st->more && !d->wake)
				continue;
			/* A relay's copy in the middle of a snapshot waits; its
			 * end wakes every stream. */
			if (!ds_ready(h, st->name)) {
				st->more = 0;
				continue;
			}
			rc = ds_stream_fill(h, t, s, st);
			if (rc) {
				hub_fail(h, rc);
				return;
			}
			st->more = 0;
		}
	}
	d->wake = 0;
	/* After the streams took what they could: a spoke that keeps up is
	 * not pushed into a snapshot by this iteration's own changes. */
	for (size_t i = 0; i < d->n_compact; i++) {
		int done = 1;

		rc = ds_compact_one(h, t, d->compact[i], DATASET_COMPACT_BUDGET, &done);
		if (rc) {
			hub_fail(h, rc);
			return;
		}
		if (!done)
			memmove(d->compact[j++], d->compact[i], OS_NAME_MAX);
	}
	d->n_compact = j;
}

void dataset_blocked(struct hub *h, const char *node)
{
	struct ds_session *s = map_get(h->ds->sessions, node);

	if (!s)
		return;
	os_log(OS_LOG_DEBUG, "dataset_stream_blocked", "node=%s", node);
	for (size_t i = 0; i < s->n; i++)
		ds_stream_restart(&s->streams[i]);
}

/* The iteration's transaction failed: held frames were dropped, every
 * stream goes back to its last acknowledged point. */
static void ds_commit_failed(struct hub *h)
{
	struct ds_session *s;
	size_t pos = 0;

	while ((s = map_next(h->ds->sessions, &pos, NULL)))
		for (size_t i = 0; i < s->n; i++)
			ds_stream_restart(&s->streams[i]);
	h->ds->wake = 1;
}

/* Streams whose acks stalled for three heartbeats start again from the
 * last acknowledged point (a snapshot starts over). */
static void ds_timers(struct hub *h, uint64_t now_us)
{
	uint64_t stall = DS_STALL_BEATS * (uint64_t)h->conf.heartbeat_ms * 1000;
	struct ds_session *s;
	size_t pos = 0;

	while ((s = map_next(h->ds->sessions, &pos, NULL))) {
		for (size_t i = 0; i < s->n; i++) {
			struct ds_stream *st = &s->streams[i];
			int waiting = (st->phase == DS_CHANGES && st->sent > st->acked) ||
				      (st->phase == DS_SNAPSHOT &&
				       (st->chunks_sent > st->chunks_acked || st->snap_done));

			if (!waiting || now_us < st->progress_us + stall)
				continue;
			os_log(OS_LOG_DEBUG, "dataset_retransmit",
			       "node=%s dataset=%s phase=%s acked=%llu", s->node, st->name,
			       st->phase == DS_SNAPSHOT ? "snapshot" : "changes",
			       (unsigned long long)st->acked);
			ds_stream_restart(st);
			st->progress_us = now_us;
		}
	}
}

/* ---------------------------------------------------------------- relay */

static void ds_relay_rejected(const struct ds_relay *r, uint64_t seq, const char *origin, int code,
			      const char *reason)
{
	static struct os_log_limit lim = OS_LOG_LIMIT(20, 10000);

	os_log_limited(&lim, OS_LOG_WARN, "change_rejected",
		       "dataset=%s seq=%llu origin=%s code=%s reason=%s", r->name,
		       (unsigned long long)seq, origin && *origin ? origin : "-", os_errname(code),
		       OS_Q(reason));
}

/* Write the entry of one relayed change (sg, its publisher's Signed) of r
 * at seq, when it passes the rules of 9.2 as a spoke decides them and the
 * entry does not already hold seq or a later change; a change that fails
 * is logged and leaves the entries alone. snapshot: an entry of a
 * snapshot, never a delete. 0 or a store error. */
static int ds_relay_entry(struct hub *h, struct store_txn *t, const struct reg_dataset *rd,
			  const struct ds_relay *r, uint64_t seq, const uint8_t *sg, size_t len,
			  int snapshot)
{
	struct dataset *d = h->ds;
	size_t max = (size_t)h->conf.max_message_bytes, ekl;
	struct ds_change c, cur;
	const uint8_t *cur_val = NULL;
	size_t cur_len = 0;
	uint8_t ek[DS_EKEY_MAX];
	char reason[200] = "";
	struct env e;
	const void *v;
	size_t vl;
	int rc, code = 0;

	memset(&c, 0, sizeof(c));
	memset(&cur, 0, sizeof(cur));
	rc = env_decode(sg, len, max, &e);
	if (rc == OS_ENOMEM)
		return hub_wrote(h, rc);
	if (rc) {
		snprintf(reason, sizeof(reason), "undecodable envelope: %s", os_strerror(rc));
		ds_relay_rejected(r, seq, NULL, rc, reason);
		return 0;
	}
	if (strcmp(e.type, DS_CHANGE_TYPE) != 0 ||
	    strcmp(e.destination, ds_sequencer(rd, e.destination)) != 0) {
		code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "not a change addressed to its sequencer");
		goto refused;
	}
	rc = ds_change_unpack(e.payload, e.payload_len, &c);
	if (rc == OS_ENOMEM) {
		rc = hub_wrote(h, rc);
		goto out;
	}
	if (rc) {
		code = rc;
		rc = 0;
		snprintf(reason, sizeof(reason), "undecodable ChangeRequest: %s",
			 os_strerror(code));
		goto refused;
	}
	if (strcmp(c.dataset, r->name) != 0 || (snapshot && c.is_delete)) {
		code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "not a change of this dataset's entries");
		goto refused;
	}
	ekl = ds_ekey(ek, c.dataset, c.key, strlen(c.key));
	if (ekl == 0) {
		code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "dataset name or key too long");
		goto refused;
	}
	rc = store_get(t, d->entries, ek, ekl, &v, &vl);
	if (rc && rc != OS_ENOTFOUND) {
		rc = hub_wrote(h, rc);
		goto out;
	}
	if (rc == 0 && vl > 8) {
		/* An entry never goes back to an older change. */
		if (os_get_u64be(v) >= seq) {
			rc = 0;
			goto out;
		}
		if (strcmp(c.dataset, DS_ITEMS) == 0 && ds_record_change(v, vl, max, &cur) == 0) {
			cur_val = cur.value;
			cur_len = cur.value_len;
		}
	}
	rc = 0;
	/* The publisher's signature and rights, whatever the parent says;
	 * the envelope's own expiry does not matter once it was sequenced. */
	code = env_verify(&e, h->reg, h->sigcache, 0);
	if (code) {
		snprintf(reason, sizeof(reason), "%s", os_strerror(code));
		goto refused;
	}
	code = ds_change_allowed(h->reg, e.origin, &c, cur_val, cur_len, reason, sizeof(reason));
	if (code)
		goto refused;
	if (c.is_delete) {
		rc = store_del(t, d->entries, ek, ekl);
		rc = hub_wrote(h, rc == OS_ENOTFOUND ? 0 : rc);
		goto out;
	}
	if (len + 8 > d->rec_cap) {
		uint8_t *b = realloc(d->rec, len + 8);

		if (!b) {
			rc = hub_wrote(h, OS_ENOMEM);
			goto out;
		}
		d->rec = b;
		d->rec_cap = len + 8;
	}
	os_put_u64be(d->rec, seq);
	memcpy(d->rec + 8, sg, len);
	rc = hub_wrote(h, store_put(t, d->entries, ek, ekl, d->rec, len + 8));
	goto out;
refused:
	ds_relay_rejected(r, seq, e.origin, code, reason);
out:
	ds_change_clear(&c);
	ds_change_clear(&cur);
	env_clear(&e);
	return rc;
}

/* Drop every entry and the whole log of r: its copy holds nothing. */
static int ds_relay_drop(struct hub *h, struct store_txn *t, const struct ds_relay *r)
{
	struct dataset *d = h->ds;
	uint8_t from[OS_NAME_MAX + 1], to[OS_NAME_MAX + 1];
	size_t pl = strlen(r->name) + 1;
	uint64_t n = 0;
	int rc;

	/* The keys of one dataset: [name NUL, name 0x01). */
	memcpy(from, r->name, pl);
	memcpy(to, r->name, pl);
	to[pl - 1] = 1;
	rc = hub_wrote(h, store_del_range(t, d->entries, from, pl, to, pl, 0, &n, NULL));
	if (rc == 0)
		rc = hub_wrote(h, store_del_range(t, d->log, from, pl, to, pl, 0, NULL, NULL));
	if (rc == 0)
		rc = hub_wrote(h, ds_meta_put(d, t, r->name, 0, 1));
	if (rc == 0 && n)
		os_log(OS_LOG_INFO, "dataset_dropped", "dataset=%s entries=%llu", r->name,
		       (unsigned long long)n);
	return rc;
}

/* Every session's stream of name starts again with a snapshot: the copy it
 * came from was replaced. */
static void ds_relay_replan(struct hub *h, const char *name)
{
	struct ds_session *s;
	size_t pos = 0;

	while ((s = map_next(h->ds->sessions, &pos, NULL))) {
		struct ds_stream *st = ds_stream_find(s, name);

		if (st)
			ds_replan(st, 0, 1);
	}
}

/* The relayed dataset a parent frame names, ready to be written into *t:
 * its state, reset first when due. NULL (frame dropped) when this hub does
 * not relay it, its epoch is malformed or memory is short; *rc gets a
 * store error. */
static struct ds_relay *ds_relay_frame(struct hub *h, const char *name,
				       const ProtobufCBinaryData *epoch, struct store_txn **t,
				       const struct reg_dataset **rd, int *rc)
{
	struct ds_relay *r;

	*rc = 0;
	*rd = name ? registry_find_dataset(h->reg, name) : NULL;
	if (ds_role_of(h, *rd) != DS_RELAY) {
		os_log(OS_LOG_DEBUG, "dataset_frame_dropped", "dataset=%s reason=%s",
		       name ? name : "-", OS_Q("not relayed by this hub"));
		return NULL;
	}
	if (epoch->len != DS_EPOCH_LEN) {
		os_log(OS_LOG_WARN, "dataset_frame_dropped", "dataset=%s reason=%s", name,
		       OS_Q("epoch is not 16 bytes"));
		return NULL;
	}
	if ((*rc = hub_txn(h, t)) != 0)
		return NULL;
	r = ds_relay_find(h->ds, name);
	if (!r) {
		r = ds_relay_get(h->ds, name);
		if (!r) {
			*rc = hub_wrote(h, OS_ENOMEM);
			return NULL;
		}
		/* What this hub held of it was not relayed (it sequenced it
		 * itself before): the copy starts empty. */
		if ((*rc = ds_relay_drop(h, *t, r)) != 0 || (*rc = ds_relay_put(h, *t, r)) != 0)
			return NULL;
	}
	if (r->reset_due) {
		os_log(OS_LOG_INFO, "snapshot_incomplete", "dataset=%s action=dropped", name);
		r->reset_due = 0;
		r->syncing = 0;
		r->seq = 0;
		r->chunks = 0;
		if ((*rc = ds_relay_drop(h, *t, r)) == 0)
			*rc = ds_relay_put(h, *t, r);
		ds_relay_replan(h, name);
		if (*rc)
			return NULL;
	}
	return r;
}

/* Changes from the parent: each change at exactly the copy's seq + 1 is
 * appended to the log byte for byte, and its entry written when it passes
 * 9.2; older ones are duplicates, a later one waits for the resend. */
static int ds_relay_changes(struct hub *h, const Onestop__Changes *ch)
{
	struct dataset *d = h->ds;
	const struct reg_dataset *rd;
	struct store_txn *t = NULL;
	struct ds_relay *r;
	uint64_t last, first;
	int rc, moved = 0;

	if (!ch || !ch->dataset)
		return 0;
	r = ds_relay_frame(h, ch->dataset, &ch->epoch, &t, &rd, &rc);
	if (!r)
		return rc;
	/* Changes belong after the snapshot being received, and only to the
	 * sequencer store this copy came from. */
	if (r->syncing || (r->has_epoch && memcmp(r->epoch, ch->epoch.data, DS_EPOCH_LEN) != 0))
		return 0;
	rc = ds_meta_get(d, t, r->name, &last, &first);
	if (rc)
		return hub_wrote(h, rc);
	for (size_t i = 0; i < ch->n_items; i++) {
		const Onestop__Change *it = ch->items[i];
		uint8_t lk[DS_LKEY_MAX];
		size_t lkl;

		if (!it)
			continue;
		if (it->seq <= last) {
			r->ack_due = 1;
			continue;
		}
		if (it->seq != last + 1 || it->signed_.len == 0)
			break; /* a gap is never skipped: the parent sends it again */
		lkl = ds_lkey(lk, r->name, it->seq);
		rc = hub_wrote(h, store_put(t, d->log, lk, lkl, it->signed_.data, it->signed_.len));
		if (rc == 0)
			rc = ds_relay_entry(h, t, rd, r, it->seq, it->signed_.data, it->signed_.len,
					    0);
		if (rc)
			return rc;
		last = it->seq;
		r->ack_due = 1;
		moved = 1;
	}
	if (!moved)
		return 0;
	if (!r->has_epoch) {
		memcpy(r->epoch, ch->epoch.data, DS_EPOCH_LEN);
		r->has_epoch = 1;
	}
	r->seq = last;
	rc = hub_wrote(h, ds_meta_put(d, t, r->name, last, first));
	if (rc == 0)
		rc = ds_relay_put(h, t, r);
	if (rc)
		return rc;
	d->wake = 1;
	if (last - first + 1 > (uint64_t)h->conf.dataset_log_max)
		ds_compact_mark(d, r->name);
	return 0;
}

/* One Snapshot chunk from the parent: the first drops the copy; each
 * entry is written when it passes 9.2; the last sets the copy at
 * snapshot_seq (its log starts after it). */
static int ds_relay_snapshot(struct hub *h, const Onestop__Snapshot *sn)
{
	struct dataset *d = h->ds;
	const struct reg_dataset *rd;
	struct store_txn *t = NULL;
	struct ds_relay *r;
	int rc;

	if (!sn || !sn->dataset)
		return 0;
	r = ds_relay_frame(h, sn->dataset, &sn->epoch, &t, &rd, &rc);
	if (!r)
		return rc;
	if (sn->first) {
		rc = ds_relay_drop(h, t, r);
		if (rc)
			return rc;
		memcpy(r->epoch, sn->epoch.data, DS_EPOCH_LEN);
		r->has_epoch = 1;
		r->syncing = 1;
		r->seq = 0;
		r->snap_seq = sn->snapshot_seq;
		r->chunks = 0;
		ds_relay_replan(h, r->name);
		os_log(OS_LOG_INFO, "snapshot_receiving", "dataset=%s seq=%llu from=%s", r->name,
		       (unsigned long long)sn->snapshot_seq, h->conf.parent_name);
	} else if (!r->syncing || memcmp(r->epoch, sn->epoch.data, DS_EPOCH_LEN) != 0 ||
		   sn->snapshot_seq != r->snap_seq) {
		return 0; /* a chunk of a snapshot given up */
	}
	for (size_t i = 0; i < sn->n_entries; i++) {
		const Onestop__Change *it = sn->entries[i];

		if (!it || it->signed_.len == 0)
			continue;
		rc = ds_relay_entry(h, t, rd, r, it->seq, it->signed_.data, it->signed_.len, 1);
		if (rc)
			return rc;
	}
	r->chunks++;
	if (sn->last) {
		r->syncing = 0;
		r->seq = r->snap_seq;
		rc = hub_wrote(h, ds_meta_put(d, t, r->name, r->seq, r->seq + 1));
		if (rc)
			return rc;
		d->wake = 1;
		os_log(OS_LOG_INFO, "snapshot_applied", "dataset=%s seq=%llu chunks=%u", r->name,
		       (unsigned long long)r->seq, r->chunks);
	}
	r->ack_due = 1;
	return ds_relay_put(h, t, r);
}

int dataset_parent_frame(struct hub *h, const Onestop__LinkFrame *f)
{
	if (!f || h->failed)
		return h->failed;
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_CHANGES:
		return ds_relay_changes(h, f->changes);
	case ONESTOP__LINK_FRAME__BODY_SNAPSHOT:
		return ds_relay_snapshot(h, f->snapshot);
	default:
		return 0; /* a relay holds every entry: it never fetches */
	}
}

void dataset_parent_hello(struct hub *h, Onestop__Hello *hello)
{
	const struct registry *reg = h->reg;
	Onestop__DatasetPosition **pos;
	size_t n = 0;

	hello->datasets = NULL;
	hello->n_datasets = 0;
	if (reg->n_datasets == 0)
		return;
	pos = calloc(reg->n_datasets, sizeof(*pos));
	if (!pos)
		return; /* no positions: the parent sends snapshots */
	for (size_t i = 0; i < reg->n_datasets; i++) {
		const struct reg_dataset *rd = &reg->datasets[i];
		struct ds_relay *r;
		Onestop__DatasetPosition *p;

		if (ds_role_of(h, rd) != DS_RELAY)
			continue;
		p = calloc(1, sizeof(*p));
		if (!p)
			break;
		onestop__dataset_position__init(p);
		p->dataset = rd->name;
		r = ds_relay_find(h->ds, rd->name);
		if (r) {
			if (r->syncing)
				r->reset_due = 1; /* the parent starts it over */
			else
				p->seq = r->seq;
			if (r->has_epoch) {
				p->epoch.data = r->epoch;
				p->epoch.len = DS_EPOCH_LEN;
			}
		}
		pos[n++] = p;
	}
	hello->datasets = pos;
	hello->n_datasets = n;
}

void dataset_parent_hello_done(struct hub *h, Onestop__Hello *hello)
{
	(void)h;
	for (size_t i = 0; i < hello->n_datasets; i++)
		free(hello->datasets[i]);
	free(hello->datasets);
	hello->datasets = NULL;
	hello->n_datasets = 0;
}

int dataset_parent_welcome(struct hub *h, const uint8_t *peer_epoch)
{
	/* Dataset frames name the sequencer's store themselves. */
	(void)h, (void)peer_epoch;
	return 0;
}

/* After the commit: acknowledge to the parent what it made durable. */
static void ds_relay_send_acks(struct hub *h)
{
	struct dataset *d = h->ds;

	for (size_t i = 0; i < d->n_relays; i++) {
		struct ds_relay *r = &d->relays[i];
		Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
		Onestop__DatasetAck a = ONESTOP__DATASET_ACK__INIT;
		int rc;

		if (!r->ack_due)
			continue;
		r->ack_due = 0;
		a.dataset = r->name;
		a.seq = r->syncing ? 0 : r->seq;
		a.snapshot_chunks = r->chunks;
		lf.body_case = ONESTOP__LINK_FRAME__BODY_DATASET_ACK;
		lf.dataset_ack = &a;
		rc = parent_send_frame(h->parent, &lf);
		if (rc)
			os_log(OS_LOG_DEBUG, "dataset_ack_unsent", "dataset=%s seq=%llu code=%s",
			       r->name, (unsigned long long)a.seq, os_errname(rc));
	}
}

/* The commit failed: the relay states go back to the store's (the parent
 * link restarts its session and sends again). */
static void ds_relay_commit_failed(struct hub *h)
{
	int rc;

	if (h->ds->n_relays == 0)
		return;
	rc = ds_relay_load(h);
	if (rc)
		os_log(OS_LOG_ERROR, "dataset_reload_failed", "code=%s", os_errname(rc));
}

/* ---------------------------------------------------------------- loop */

static void ds_work(void *ctx)
{
	struct hub *h = ctx;

	if (!h->failed)
		ds_topup(h);
}

static void ds_after_commit(void *ctx, int rc)
{
	struct hub *h = ctx;

	if (rc) {
		ds_commit_failed(h);
		ds_relay_commit_failed(h);
		return;
	}
	ds_relay_send_acks(h);
}

static void ds_hook_timers(void *ctx, uint64_t now_us)
{
	struct hub *h = ctx;

	if (now_us < h->ds->next_tick_us)
		return;
	h->ds->next_tick_us = now_us + hub_tick_us(h);
	ds_timers(h, now_us);
}

/* Work it could do now makes the loop go round at once (not before a
 * backoff ends); else its next timer run. */
static uint64_t ds_deadline(void *ctx)
{
	const struct hub *h = ctx;
	const struct dataset *d = h->ds;

	if (d->wake || d->n_compact > 0 || ds_any_more(d))
		return hub_not_before(h, 0);
	return d->next_tick_us;
}

int dataset_attach(struct hub *h, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "dataset",
		.work = ds_work,
		.after_commit = ds_after_commit,
		.timers = ds_hook_timers,
		.deadline_us = ds_deadline,
		.ctx = h,
	};

	return loop_add(l, &hooks);
}

/* ---------------------------------------------------------------- digest */

struct ds_digest_walk {
	struct ds_digest dg;
	size_t pl; /* the key prefix: dataset name and NUL */
};

/* One entry (dataset NUL key -> u64be seq || Signed) into the digest. */
static int ds_digest_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct ds_digest_walk *w = arg;

	if (kl > w->pl && vl > 8)
		ds_digest_add(&w->dg, (const char *)k + w->pl, kl - w->pl, (const uint8_t *)v + 8,
			      vl - 8);
	return STORE_NEXT;
}

int dataset_digest_print(const char *data_dir, size_t map_mb, const char *name)
{
	struct store *st = NULL;
	struct store_txn *t = NULL;
	store_dbi entries, meta;
	struct ds_digest_walk w;
	struct stat sb;
	char path[4096], hex[2 * sizeof(os_hash) + 1];
	size_t vl;
	const void *v;
	uint64_t last = 0;
	os_hash out;
	int rc;

	if (os_name_valid(name) != 0) {
		fprintf(stderr, "onestop-hub: --dataset-digest: \"%s\" is not a dataset name\n",
			name);
		return OS_ENAME;
	}
	snprintf(path, sizeof(path), "%s/data.mdb", data_dir);
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "onestop-hub: --dataset-digest: no hub store in %s\n", data_dir);
		return OS_EIO;
	}
	rc = store_open(data_dir, map_mb, 16, &st);
	if (rc == 0)
		rc = store_dbi_open(st, "ds_entries", &entries);
	if (rc == 0)
		rc = store_dbi_open(st, "ds_meta", &meta);
	if (rc == 0)
		rc = store_begin(st, 1, &t);
	if (rc == 0) {
		rc = store_get(t, meta, name, strlen(name), &v, &vl);
		if (rc == 0 && vl == DS_META_LEN)
			last = os_get_u64be(v);
		if (rc == OS_ENOTFOUND || rc == 0)
			rc = 0;
	}
	if (rc)
		goto out;
	ds_digest_init(&w.dg);
	w.pl = strlen(name) + 1;
	/* Its entries: the keys that begin with the name and its NUL. */
	rc = store_walk(t, entries, name, w.pl, NULL, 0, ds_digest_one, &w);
	if (rc)
		goto out;
	ds_digest_final(&w.dg, out);
	os_hex(hex, out, sizeof(out));
	printf("dataset=%s seq=%llu count=%llu digest=%s\n", name, (unsigned long long)last,
	       (unsigned long long)w.dg.count, hex);
out:
	store_abort(&t);
	store_close(&st);
	if (rc)
		fprintf(stderr, "onestop-hub: --dataset-digest: %s (%s)\n", os_strerror(rc),
			os_errname(rc));
	return rc;
}
