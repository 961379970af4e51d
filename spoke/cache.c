/* The spoke's dataset cache: applies the hub's Changes and Snapshot frames
 * in sequence into ds_cache (each change verified end to end first), keeps
 * where each dataset stands in ds_pos, fills cached-mode misses through
 * the hub under an in-memory LRU, and answers the API's dataset reads and
 * real-name assertion requests from the local store. */
#include "cache.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "api.h"
#include "assertion.h"
#include "batchsig.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "registry.h"
#include "spoke.h"

#define CACHE_EPOCH_LEN 16
#define CACHE_POS_LEN (CACHE_EPOCH_LEN + 9)          /* epoch || u64be seq || u8 syncing */
#define CACHE_LIST_DEFAULT 100u
#define CACHE_LIST_BYTES (32u << 20)  /* values in one List reply */
#define CACHE_LIST_SCAN 200000u       /* entries one List examines at most */
#define CACHE_ASSERT_TTL_S 600u
#define CACHE_ARENA_BYTES (256u << 10)  /* decoding one change and its entry */
#define LRU_NIL UINT32_MAX

/* ------------------------------------------------------------ LRU */

/* The held keys of one cached-mode dataset, most recently used first: a
 * chained hash over node slots that also form a doubly linked list. */
struct lru_node {
	char *key;
	uint32_t prev, next;   /* list; next also chains free slots */
	uint32_t hnext;        /* hash chain */
	uint32_t hash;
};

struct lru {
	struct lru_node *nodes;
	uint32_t cap, used, n;
	uint32_t free_head;
	uint32_t *buckets;
	uint32_t nbuckets;     /* a power of two, or 0 */
	uint32_t head, tail;
	int built;             /* filled from the store since start or reload */
};

static uint32_t lru_hash(const char *k)
{
	uint32_t h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (uint8_t)*k) * 16777619u;
	return h;
}

static void lru_init(struct lru *l)
{
	memset(l, 0, sizeof(*l));
	l->free_head = l->head = l->tail = LRU_NIL;
}

static void lru_free(struct lru *l)
{
	for (uint32_t i = l->head; i != LRU_NIL; i = l->nodes[i].next)
		free(l->nodes[i].key);
	free(l->nodes);
	free(l->buckets);
	lru_init(l);
}

static uint32_t lru_find(const struct lru *l, const char *key, uint32_t h)
{
	if (!l->nbuckets)
		return LRU_NIL;
	for (uint32_t i = l->buckets[h & (l->nbuckets - 1)]; i != LRU_NIL; i = l->nodes[i].hnext)
		if (l->nodes[i].hash == h && strcmp(l->nodes[i].key, key) == 0)
			return i;
	return LRU_NIL;
}

static void lru_unlink(struct lru *l, uint32_t i)
{
	struct lru_node *n = &l->nodes[i];

	if (n->prev != LRU_NIL)
		l->nodes[n->prev].next = n->next;
	else
		l->head = n->next;
	if (n->next != LRU_NIL)
		l->nodes[n->next].prev = n->prev;
	else
		l->tail = n->prev;
}

static void lru_push_front(struct lru *l, uint32_t i)
{
	l->nodes[i].prev = LRU_NIL;
	l->nodes[i].next = l->head;
	if (l->head != LRU_NIL)
		l->nodes[l->head].prev = i;
	l->head = i;
	if (l->tail == LRU_NIL)
		l->tail = i;
}

static int lru_rehash(struct lru *l, uint32_t nb)
{
	uint32_t *b = malloc((size_t)nb * sizeof(*b));

	if (!b)
		return OS_ENOMEM;
	for (uint32_t i = 0; i < nb; i++)
		b[i] = LRU_NIL;
	for (uint32_t i = l->head; i != LRU_NIL; i = l->nodes[i].next) {
		uint32_t slot = l->nodes[i].hash & (nb - 1);

		l->nodes[i].hnext = b[slot];
		b[slot] = i;
	}
	free(l->buckets);
	l->buckets = b;
	l->nbuckets = nb;
	return 0;
}

/* Make key the most recently used, adding it when absent. */
static int lru_add(struct lru *l, const char *key)
{
	uint32_t h = lru_hash(key), i = lru_find(l, key, h);

	if (i != LRU_NIL) {
		lru_unlink(l, i);
		lru_push_front(l, i);
		return 0;
	}
	if (l->n >= LRU_NIL - 1)
		return OS_EFULL;
	if (l->n + 1 > l->nbuckets && lru_rehash(l, l->nbuckets ? l->nbuckets * 2 : 64) != 0)
		return OS_ENOMEM;
	if (l->free_head == LRU_NIL && l->used == l->cap) {
		uint32_t cap = l->cap ? l->cap * 2 : 64;
		struct lru_node *nn = realloc(l->nodes, (size_t)cap * sizeof(*nn));

		if (!nn)
			return OS_ENOMEM;
		l->nodes = nn;
		l->cap = cap;
	}
	char *k = strdup(key);

	if (!k)
		return OS_ENOMEM;
	if (l->free_head != LRU_NIL) {
		i = l->free_head;
		l->free_head = l->nodes[i].next;
	} else {
		i = l->used++;
	}
	l->nodes[i].key = k;
	l->nodes[i].hash = h;
	l->nodes[i].hnext = l->buckets[h & (l->nbuckets - 1)];
	l->buckets[h & (l->nbuckets - 1)] = i;
	lru_push_front(l, i);
	l->n++;
	return 0;
}

static void lru_remove(struct lru *l, const char *key)
{
	uint32_t h = lru_hash(key), *pp;

	if (!l->nbuckets)
		return;
	for (pp = &l->buckets[h & (l->nbuckets - 1)]; *pp != LRU_NIL; pp = &l->nodes[*pp].hnext) {
		uint32_t i = *pp;

		if (l->nodes[i].hash != h || strcmp(l->nodes[i].key, key) != 0)
			continue;
		*pp = l->nodes[i].hnext;
		lru_unlink(l, i);
		free(l->nodes[i].key);
		l->nodes[i].key = NULL;
		l->nodes[i].next = l->free_head;
		l->free_head = i;
		l->n--;
		return;
	}
}

static void lru_touch(struct lru *l, const char *key)
{
	uint32_t i = lru_find(l, key, lru_hash(key));

	if (i != LRU_NIL) {
		lru_unlink(l, i);
		lru_push_front(l, i);
	}
}

/* ------------------------------------------------------------ state */

struct cache_ds {
	char name[OS_NAME_MAX];
	uint8_t epoch[CACHE_EPOCH_LEN];
	int has_epoch;
	uint64_t seq;          /* last change applied (in this iteration's transaction) */
	int syncing;           /* a snapshot is being received */
	uint64_t snap_seq;
	uint32_t chunks;       /* chunks of the current or last snapshot applied */
	int reset_due;         /* Hello said 0 for a partial snapshot: drop it first */
	int ack_due;
	struct lru lru;        /* cached mode */
	/* The digest of what is held, kept between Datasets calls: every
	 * write to the entries bumps gen and marks the dataset dirty until
	 * the commit, so a digest is reused only for the committed state it
	 * was computed from. */
	uint64_t gen;
	int dirty;
	int dg_ok;
	uint64_t dg_gen;
	uint64_t dg_count;
	os_hash dg;
};

enum wait_state { WAIT_PENDING, WAIT_FILLED, WAIT_NOTFOUND, WAIT_FAILED };

/* An API request waiting for the hub to fill a cached-mode miss. */
struct cache_wait {
	struct api_route route;
	uint64_t request_id;
	uint64_t fetch_id;
	int verify;            /* AssertVerify (else Get) */
	char dataset[OS_NAME_MAX];
	char key[DS_KEY_MAX + 1];
	uint64_t deadline_us;
	uint32_t wait_ms;
	enum wait_state state;
	int code;
	char msg[640];
	struct assertion a;    /* verify: the verified assertion */
	uint32_t min_level;
};

struct cache {
	struct cache_ds **ds;
	size_t n_ds, cap_ds;
	struct cache_wait *waits;
	size_t n_waits, cap_waits;
	uint64_t next_fetch;
	uint8_t *rec;          /* scratch: u64be seq || Signed */
	size_t rec_cap;
	struct cache_arena arena; /* the unpacks of one change being applied */
	uint8_t *arena_buf;
	uint64_t applied, rejected;
	struct cache_entry ent;
};

/* ------------------------------------------------------------ datasets */

static const struct reg_dataset *cache_declared(const struct spoke *sp, const char *name)
{
	return name ? registry_find_dataset(sp->reg, name) : NULL;
}

static int cache_is_cached(const struct spoke *sp, const char *name)
{
	const struct reg_dataset *rd = cache_declared(sp, name);

	return rd && rd->mode == REG_DS_CACHED;
}

static struct cache_ds *cache_ds_find(struct spoke *sp, const char *name)
{
	struct cache *c = sp->ds;

	for (size_t i = 0; i < c->n_ds; i++)
		if (strcmp(c->ds[i]->name, name) == 0)
			return c->ds[i];
	return NULL;
}

/* The state of dataset name, created (at seq 0, no epoch) when absent.
 * NULL on ENOMEM or a name too long. */
static struct cache_ds *cache_ds_get(struct spoke *sp, const char *name)
{
	struct cache *c = sp->ds;
	struct cache_ds *d = cache_ds_find(sp, name);

	if (d)
		return d;
	if (strlen(name) >= OS_NAME_MAX)
		return NULL;
	if (c->n_ds == c->cap_ds) {
		size_t cap = c->cap_ds ? c->cap_ds * 2 : 8;
		struct cache_ds **n = realloc(c->ds, cap * sizeof(*n));

		if (!n)
			return NULL;
		c->ds = n;
		c->cap_ds = cap;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	lru_init(&d->lru);
	c->ds[c->n_ds++] = d;
	return d;
}

static int cache_pos_write(struct spoke *sp, struct store_txn *t, struct cache_ds *d)
{
	uint8_t v[CACHE_POS_LEN];

	memset(v, 0, sizeof(v));
	if (d->has_epoch)
		memcpy(v, d->epoch, CACHE_EPOCH_LEN);
	os_put_u64be(v + CACHE_EPOCH_LEN, d->seq);
	v[CACHE_EPOCH_LEN + 8] = d->syncing ? 1 : 0;
	return spoke_wrote(sp, store_put(t, sp->db_ds_pos, d->name, strlen(d->name), v, sizeof(v)));
}

/* Delete every held entry of d. */
static int cache_drop_all(struct spoke *sp, struct store_txn *t, struct cache_ds *d)
{
	d->gen++;
	d->dirty = 1;
	struct store_cursor *cur = NULL;
	uint8_t pk[OS_NAME_MAX];
	size_t pl = strlen(d->name) + 1, kl, vl;
	const void *k, *v;
	uint64_t n = 0;
	int rc;

	memcpy(pk, d->name, pl);
	rc = store_cursor_open(t, sp->db_ds_cache, &cur);
	if (rc < 0)
		return spoke_wrote(sp, rc);
	rc = store_cursor_seek(cur, pk, pl, &k, &kl, &v, &vl);
	while (rc == 0 && kl > pl && memcmp(k, pk, pl) == 0) {
		rc = spoke_wrote(sp, store_cursor_del(cur));
		if (rc == 0) {
			n++;
			rc = store_cursor_next(cur, &k, &kl, &v, &vl);
		}
	}
	store_cursor_close(&cur);
	if (rc == OS_ENOTFOUND)
		rc = 0;
	lru_free(&d->lru);
	d->lru.built = 1; /* nothing held: the empty order is exact */
	if (n)
		os_log(OS_LOG_INFO, "dataset_dropped", "dataset=%s entries=%llu", d->name,
		       (unsigned long long)n);
	return spoke_wrote(sp, rc);
}

/* Drop the partial copy of an interrupted snapshot: d holds nothing. */
static int cache_reset(struct spoke *sp, struct store_txn *t, struct cache_ds *d)
{
	int rc = cache_drop_all(sp, t, d);

	d->reset_due = 0;
	d->syncing = 0;
	d->seq = 0;
	d->chunks = 0;
	return rc < 0 ? rc : cache_pos_write(sp, t, d);
}

/* Evict least recently used entries of d past cache_entries. */
static int cache_evict(struct spoke *sp, struct store_txn *t, struct cache_ds *d)
{
	d->gen++;
	d->dirty = 1;
	uint8_t ek[CACHE_EKEY_MAX];
	int rc = 0;

	while (rc == 0 && d->lru.n > (uint64_t)sp->conf.cache_entries && d->lru.tail != LRU_NIL) {
		char key[DS_KEY_MAX + 1];
		size_t ekl;

		snprintf(key, sizeof(key), "%s", d->lru.nodes[d->lru.tail].key);
		ekl = cache_ekey(ek, d->name, key);
		if (ekl) {
			rc = store_del(t, sp->db_ds_cache, ek, ekl);
			rc = spoke_wrote(sp, rc == OS_ENOTFOUND ? 0 : rc);
		}
		lru_remove(&d->lru, key);
	}
	return rc;
}

/* Build d's LRU order from the store (key order: nothing better is known
 * after a start) through t, or a read transaction of its own when t is
 * NULL. */
static int cache_lru_ensure(struct spoke *sp, struct store_txn *t, struct cache_ds *d)
{
	struct store_txn *own = NULL;
	struct store_cursor *cur = NULL;
	uint8_t pk[OS_NAME_MAX];
	size_t pl = strlen(d->name) + 1, kl, vl;
	const void *k, *v;
	char key[DS_KEY_MAX + 1];
	int rc;

	if (d->lru.built)
		return 0;
	if (!t) {
		rc = store_begin(sp->st, 1, &own);
		if (rc < 0)
			return rc;
		t = own;
	}
	lru_free(&d->lru);
	memcpy(pk, d->name, pl);
	rc = store_cursor_open(t, sp->db_ds_cache, &cur);
	if (rc == 0)
		rc = store_cursor_seek(cur, pk, pl, &k, &kl, &v, &vl);
	while (rc == 0 && kl > pl && memcmp(k, pk, pl) == 0) {
		if (kl - pl <= DS_KEY_MAX) {
			memcpy(key, (const uint8_t *)k + pl, kl - pl);
			key[kl - pl] = 0;
			rc = lru_add(&d->lru, key);
			if (rc < 0)
				break;
		}
		rc = store_cursor_next(cur, &k, &kl, &v, &vl);
	}
	store_cursor_close(&cur);
	store_abort(&own);
	if (rc == OS_ENOTFOUND)
		rc = 0;
	if (rc == 0)
		d->lru.built = 1;
	else
		lru_free(&d->lru);
	return rc;
}

static void cache_ds_free_all(struct cache *c)
{
	for (size_t i = 0; i < c->n_ds; i++) {
		lru_free(&c->ds[i]->lru);
		free(c->ds[i]);
	}
	c->n_ds = 0;
}

/* Load every stored position through t. */
static int cache_load(struct spoke *sp, struct store_txn *t)
{
	struct store_cursor *cur = NULL;
	const void *k, *v;
	size_t kl, vl;
	char name[OS_NAME_MAX];
	int rc;

	cache_ds_free_all(sp->ds);
	rc = store_cursor_open(t, sp->db_ds_pos, &cur);
	if (rc < 0)
		return rc;
	for (rc = store_cursor_seek(cur, NULL, 0, &k, &kl, &v, &vl); rc == 0;
	     rc = store_cursor_next(cur, &k, &kl, &v, &vl)) {
		static const uint8_t zero[CACHE_EPOCH_LEN];
		struct cache_ds *d;

		if (kl == 0 || kl >= OS_NAME_MAX || vl != CACHE_POS_LEN)
			continue;
		memcpy(name, k, kl);
		name[kl] = 0;
		d = cache_ds_get(sp, name);
		if (!d) {
			rc = OS_ENOMEM;
			break;
		}
		memcpy(d->epoch, v, CACHE_EPOCH_LEN);
		d->has_epoch = memcmp(d->epoch, zero, CACHE_EPOCH_LEN) != 0;
		d->seq = os_get_u64be((const uint8_t *)v + CACHE_EPOCH_LEN);
		d->syncing = ((const uint8_t *)v)[CACHE_EPOCH_LEN + 8] != 0;
	}
	store_cursor_close(&cur);
	return rc == OS_ENOTFOUND ? 0 : rc;
}

int replica_open(struct spoke *sp, struct store_txn *t)
{
	int rc;

	sp->ds = calloc(1, sizeof(*sp->ds));
	if (!sp->ds)
		return OS_ENOMEM;
	sp->ds->next_fetch = 1;
	sp->ds->arena_buf = malloc(CACHE_ARENA_BYTES);
	if (!sp->ds->arena_buf)
		return OS_ENOMEM;
	cache_arena_init(&sp->ds->arena, sp->ds->arena_buf, CACHE_ARENA_BYTES);
	rc = cache_load(sp, t);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < sp->ds->n_ds && rc == 0; i++) {
		struct cache_ds *d = sp->ds->ds[i];

		if (d->syncing) {
			os_log(OS_LOG_INFO, "snapshot_incomplete", "dataset=%s action=dropped", d->name);
			rc = cache_reset(sp, t, d);
		}
	}
	for (size_t i = 0; i < sp->reg->n_datasets && rc == 0; i++) {
		const struct reg_dataset *rd = &sp->reg->datasets[i];
		struct cache_ds *d;

		if (rd->mode != REG_DS_CACHED)
			continue;
		d = cache_ds_get(sp, rd->name);
		if (!d)
			return OS_ENOMEM;
		rc = cache_lru_ensure(sp, t, d);
		if (rc == 0)
			rc = cache_evict(sp, t, d);
	}
	for (size_t i = 0; i < sp->ds->n_ds; i++) {
		struct cache_ds *d = sp->ds->ds[i];

		os_log(OS_LOG_INFO, "dataset_loaded", "dataset=%s seq=%llu held=%u", d->name,
		       (unsigned long long)d->seq, d->lru.n);
	}
	return rc;
}

/* Answer a waiting request with an error and forget its route. */
static void cache_wait_fail(struct spoke *sp, struct cache_wait *w, int code, const char *msg);

void replica_close(struct spoke *sp)
{
	struct cache *c = sp->ds;

	if (!c)
		return;
	for (size_t i = 0; i < c->n_waits; i++)
		cache_wait_fail(sp, &c->waits[i], OS_ECONN, "the spoke is stopping");
	free(c->waits);
	cache_ds_free_all(c);
	free(c->ds);
	free(c->rec);
	cache_arena_reset(&c->arena);
	free(c->arena_buf);
	free(c);
	sp->ds = NULL;
}

void replica_reload(struct spoke *sp)
{
	struct store_txn *t = NULL;
	int rc = store_begin(sp->st, 1, &t);

	if (rc == 0)
		rc = cache_load(sp, t);
	store_abort(&t);
	if (rc < 0) {
		os_log(OS_LOG_ERROR, "dataset_reload_failed", "code=%s", os_errname(rc));
		return;
	}
	/* A partial snapshot is dropped before the next frame is applied. */
	for (size_t i = 0; i < sp->ds->n_ds; i++)
		if (sp->ds->ds[i]->syncing)
			sp->ds->ds[i]->reset_due = 1;
}

int replica_positions(struct spoke *sp, Onestop__DatasetPosition ***out, size_t *n)
{
	const struct registry *reg = sp->reg;
	Onestop__DatasetPosition **pos;

	*out = NULL;
	*n = 0;
	if (reg->n_datasets == 0)
		return 0;
	pos = calloc(reg->n_datasets, sizeof(*pos));
	if (!pos)
		return OS_ENOMEM;
	for (size_t i = 0; i < reg->n_datasets; i++) {
		struct cache_ds *d = cache_ds_find(sp, reg->datasets[i].name);
		Onestop__DatasetPosition *p = calloc(1, sizeof(*p));

		if (!p) {
			replica_positions_free(pos, i);
			return OS_ENOMEM;
		}
		onestop__dataset_position__init(p);
		p->dataset = reg->datasets[i].name;
		if (d) {
			if (d->syncing) {
				d->reset_due = 1;
			} else {
				p->seq = d->seq;
			}
			if (d->has_epoch) {
				p->epoch.data = d->epoch;
				p->epoch.len = CACHE_EPOCH_LEN;
			}
		}
		pos[i] = p;
	}
	*out = pos;
	*n = reg->n_datasets;
	return 0;
}

void replica_positions_free(Onestop__DatasetPosition **pos, size_t n)
{
	if (!pos)
		return;
	for (size_t i = 0; i < n; i++)
		free(pos[i]);
	free(pos);
}

/* ------------------------------------------------------------ applying */

enum cache_src { SRC_CHANGE, SRC_SNAPSHOT, SRC_FILL };

/* Printable text for a quoted log value. */
static void cache_sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void cache_rejected(struct spoke *sp, const struct cache_ds *d, uint64_t seq,
			   const char *origin, int code, char *reason)
{
	sp->ds->rejected++;
	cache_sanitize(reason);
	os_log(OS_LOG_WARN, "change_rejected", "dataset=%s seq=%llu origin=%s code=%s reason=\"%s\"",
	       d->name, (unsigned long long)seq, origin && *origin ? origin : "-",
	       os_errname(code), reason);
}

/* Verify one change or entry (sg, its publisher's Signed) of dataset d at
 * seq and write it into the iteration's transaction t, unless the entry
 * already holds that seq or a later one, or (cached mode, a change) the
 * key is not held. want_key: the key a fill asked for. *code gets the
 * refusal (logged as change_rejected), 0 when applied or skipped. Returns
 * 0 or a store error. */
static int cache_apply_one(struct spoke *sp, struct store_txn *t, struct cache_ds *d,
			   int cached, uint64_t seq, const uint8_t *sg, size_t sglen,
			   enum cache_src src, const char *want_key, int *code)
{
	d->gen++;
	d->dirty = 1;
	struct cache *c = sp->ds;
	struct env e;
	struct cache_rec er, cr;
	struct ds_change ch;
	const uint8_t *cur_val = NULL;
	size_t cur_len = 0, ekl;
	uint8_t ek[CACHE_EKEY_MAX];
	char reason[200] = "";
	const void *v;
	size_t vl;
	int held = 0, rc;

	*code = 0;
	memset(&ch, 0, sizeof(ch));
	memset(&cr, 0, sizeof(cr));
	cache_arena_reset(&c->arena);
	rc = cache_env_view(sg, sglen, &c->arena, &er, &e);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "undecodable envelope: %s", os_strerror(rc));
		*code = rc;
		cache_rec_clear(&er);
		cache_arena_reset(&c->arena);
		cache_rejected(sp, d, seq, NULL, rc, reason);
		return 0;
	}
	if (strcmp(e.type, DS_CHANGE_TYPE) != 0 || strcmp(e.destination, sp->conf.hub_name) != 0) {
		*code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "not a change addressed to the hub");
		goto refused;
	}
	rc = ds_change_unpack(e.payload, e.payload_len, &ch);
	if (rc == OS_ENOMEM) {
		/* Not the change's fault: try the iteration again. */
		rc = spoke_wrote(sp, rc);
		goto out;
	}
	if (rc < 0) {
		*code = rc;
		snprintf(reason, sizeof(reason), "undecodable ChangeRequest: %s", os_strerror(rc));
		goto refused;
	}
	if (strcmp(ch.dataset, d->name) != 0 || (want_key && strcmp(ch.key, want_key) != 0)) {
		*code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "the change is for another dataset or key");
		goto refused;
	}
	if (src != SRC_CHANGE && ch.is_delete) {
		*code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "an entry cannot be a delete");
		goto refused;
	}
	ekl = cache_ekey(ek, d->name, ch.key);
	rc = store_get(t, sp->db_ds_cache, ek, ekl, &v, &vl);
	if (rc < 0 && rc != OS_ENOTFOUND) {
		spoke_wrote(sp, rc);
		goto out;
	}
	held = rc == 0 && vl > 8;
	rc = 0;
	/* A cached copy only follows the keys it holds; and an entry never
	 * goes back to an older change. */
	if ((cached && src == SRC_CHANGE && !held) || (held && os_get_u64be(v) >= seq))
		goto out;
	if (held && strcmp(d->name, DS_ITEMS) == 0 && cache_rec_decode(v, vl, &c->arena, &cr) == 0) {
		cur_val = cr.cr->value.data;
		cur_len = cr.cr->value.len;
	}
	/* The publisher's signature and rights, whatever the hub says; the
	 * envelope's own expiry does not matter once the hub sequenced it. */
	rc = env_verify(&e, sp->reg, sp->cache, 0);
	if (rc < 0) {
		*code = rc;
		snprintf(reason, sizeof(reason), "%s", os_strerror(rc));
		rc = 0;
		goto refused;
	}
	rc = ds_change_allowed(sp->reg, e.origin, &ch, cur_val, cur_len, reason, sizeof(reason));
	if (rc < 0) {
		*code = rc;
		rc = 0;
		goto refused;
	}
	if (ch.is_delete) {
		rc = store_del(t, sp->db_ds_cache, ek, ekl);
		rc = spoke_wrote(sp, rc == OS_ENOTFOUND ? 0 : rc);
		if (cached)
			lru_remove(&d->lru, ch.key);
	} else {
		if (sglen + 8 > c->rec_cap) {
			uint8_t *r = realloc(c->rec, sglen + 8);

			if (!r) {
				rc = spoke_wrote(sp, OS_ENOMEM);
				goto out;
			}
			c->rec = r;
			c->rec_cap = sglen + 8;
		}
		os_put_u64be(c->rec, seq);
		memcpy(c->rec + 8, sg, sglen);
		rc = spoke_wrote(sp, store_put(t, sp->db_ds_cache, ek, ekl, c->rec, sglen + 8));
		if (rc == 0 && cached && src == SRC_FILL && lru_add(&d->lru, ch.key) != 0)
			/* Without a slot it cannot be evicted later: keep the
			 * budget by not holding it. */
			rc = spoke_wrote(sp, store_del(t, sp->db_ds_cache, ek, ekl));
	}
	if (rc == 0)
		c->applied++;
	goto out;
refused:
	cache_rejected(sp, d, seq, e.origin, *code, reason);
out:
	ds_change_clear(&ch);
	cache_rec_clear(&cr);
	cache_rec_clear(&er);
	cache_arena_reset(&c->arena);
	return rc;
}

/* The declared dataset a frame names, ready to apply into *t: its state,
 * reset first when due. NULL (frame dropped) when it is not declared,
 * its epoch is malformed or memory is short; *rc gets a store error. */
static struct cache_ds *cache_frame_ds(struct spoke *sp, const char *name,
				       const ProtobufCBinaryData *epoch, struct store_txn **t,
				       int *rc)
{
	struct cache_ds *d;

	*rc = 0;
	if (!cache_declared(sp, name)) {
		os_log(OS_LOG_DEBUG, "dataset_frame_dropped", "reason=\"dataset not declared\"");
		return NULL;
	}
	if (epoch->len != CACHE_EPOCH_LEN) {
		os_log(OS_LOG_WARN, "dataset_frame_dropped", "dataset=%s reason=\"epoch is not 16 bytes\"",
		       name);
		return NULL;
	}
	d = cache_ds_get(sp, name);
	if (!d)
		return NULL;
	if ((*rc = spoke_txn(sp, t)) < 0)
		return NULL;
	if (d->reset_due && (*rc = cache_reset(sp, *t, d)) < 0)
		return NULL;
	if (cache_is_cached(sp, name) && (*rc = cache_lru_ensure(sp, *t, d)) < 0) {
		spoke_wrote(sp, *rc);
		return NULL;
	}
	return d;
}

int replica_changes(struct spoke *sp, const Onestop__Changes *ch)
{
	struct store_txn *t = NULL;
	struct cache_ds *d;
	int rc, code, moved = 0, cached;

	if (!ch || !ch->dataset)
		return 0;
	d = cache_frame_ds(sp, ch->dataset, &ch->epoch, &t, &rc);
	if (!d)
		return rc;
	/* Changes belong after the snapshot being received, and only to the
	 * hub store this copy came from. */
	if (d->syncing || (d->has_epoch && memcmp(d->epoch, ch->epoch.data, CACHE_EPOCH_LEN) != 0))
		return 0;
	cached = cache_is_cached(sp, d->name);
	for (size_t i = 0; i < ch->n_items; i++) {
		const Onestop__Change *it = ch->items[i];

		if (!it)
			continue;
		if (it->seq <= d->seq) {
			d->ack_due = 1;
			continue;
		}
		if (it->seq != d->seq + 1)
			break; /* a gap is never skipped: the hub sends it again */
		rc = cache_apply_one(sp, t, d, cached, it->seq, it->signed_.data, it->signed_.len,
				     SRC_CHANGE, NULL, &code);
		if (rc < 0)
			return rc;
		d->seq = it->seq;
		d->ack_due = 1;
		moved = 1;
	}
	if (!moved)
		return 0;
	if (!d->has_epoch) {
		memcpy(d->epoch, ch->epoch.data, CACHE_EPOCH_LEN);
		d->has_epoch = 1;
	}
	return cache_pos_write(sp, t, d);
}

int replica_snapshot(struct spoke *sp, const Onestop__Snapshot *s)
{
	struct store_txn *t = NULL;
	struct cache_ds *d;
	int rc, code, cached;

	if (!s || !s->dataset)
		return 0;
	d = cache_frame_ds(sp, s->dataset, &s->epoch, &t, &rc);
	if (!d)
		return rc;
	cached = cache_is_cached(sp, d->name);
	if (s->first) {
		/* What the copy held cannot be continued: it starts again. */
		rc = cache_drop_all(sp, t, d);
		if (rc < 0)
			return rc;
		memcpy(d->epoch, s->epoch.data, CACHE_EPOCH_LEN);
		d->has_epoch = 1;
		d->syncing = 1;
		d->seq = 0;
		d->snap_seq = s->snapshot_seq;
		d->chunks = 0;
		os_log(OS_LOG_INFO, "snapshot_receiving", "dataset=%s seq=%llu mode=%s", d->name,
		       (unsigned long long)s->snapshot_seq, cached ? "cached" : "full");
	} else if (!d->syncing || memcmp(d->epoch, s->epoch.data, CACHE_EPOCH_LEN) != 0 ||
		   s->snapshot_seq != d->snap_seq) {
		return 0; /* a chunk of a snapshot given up */
	}
	/* A cached-mode snapshot carries no entries: the copy only restarts. */
	for (size_t i = 0; i < s->n_entries && !cached; i++) {
		const Onestop__Change *it = s->entries[i];

		if (!it)
			continue;
		rc = cache_apply_one(sp, t, d, cached, it->seq, it->signed_.data, it->signed_.len,
				     SRC_SNAPSHOT, NULL, &code);
		if (rc < 0)
			return rc;
	}
	d->chunks++;
	if (s->last) {
		d->syncing = 0;
		d->seq = d->snap_seq;
		os_log(OS_LOG_INFO, "snapshot_applied", "dataset=%s seq=%llu chunks=%u", d->name,
		       (unsigned long long)d->seq, d->chunks);
	}
	d->ack_due = 1;
	return cache_pos_write(sp, t, d);
}

static struct cache_wait *cache_wait_by_fetch(struct spoke *sp, uint64_t id)
{
	for (size_t i = 0; i < sp->ds->n_waits; i++)
		if (sp->ds->waits[i].fetch_id == id && sp->ds->waits[i].state == WAIT_PENDING)
			return &sp->ds->waits[i];
	return NULL;
}

int replica_fetched(struct spoke *sp, const Onestop__Fetched *f)
{
	struct store_txn *t = NULL;
	struct cache_wait *w;
	struct cache_ds *d;
	int rc, code = 0;

	if (!f || !(w = cache_wait_by_fetch(sp, f->request_id)))
		return 0; /* its request gave up */
	if (f->code != 0) {
		w->state = WAIT_FAILED;
		w->code = f->code;
		snprintf(w->msg, sizeof(w->msg), "the hub could not answer: %s",
			 os_strerror(f->code));
		return 0;
	}
	if (!f->found || !f->entry || f->entry->signed_.len == 0) {
		w->state = WAIT_NOTFOUND;
		return 0;
	}
	if (!cache_declared(sp, w->dataset) || !(d = cache_ds_get(sp, w->dataset))) {
		w->state = WAIT_FAILED;
		w->code = OS_ENOTFOUND;
		snprintf(w->msg, sizeof(w->msg), "dataset %s is no longer declared", w->dataset);
		return 0;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if ((rc = cache_lru_ensure(sp, t, d)) < 0)
		return spoke_wrote(sp, rc);
	rc = cache_apply_one(sp, t, d, cache_is_cached(sp, d->name), f->entry->seq,
			     f->entry->signed_.data, f->entry->signed_.len, SRC_FILL, w->key, &code);
	if (rc < 0)
		return rc;
	if (code) {
		w->state = WAIT_FAILED;
		w->code = code;
		snprintf(w->msg, sizeof(w->msg), "the hub's answer for %s does not verify: %s",
			 w->key, os_strerror(code));
		return 0;
	}
	w->state = WAIT_FILLED;
	/* A fill may come before any change of the dataset: it belongs to
	 * the hub store of this session. */
	if (!d->has_epoch && sp->ib.has_epoch) {
		memcpy(d->epoch, sp->ib.hub_epoch, CACHE_EPOCH_LEN);
		d->has_epoch = 1;
		if ((rc = cache_pos_write(sp, t, d)) < 0)
			return rc;
	}
	return cache_evict(sp, t, d);
}

/* ------------------------------------------------------------ replies */

static void cache_reply_code(struct spoke *sp, const struct api_route *rt, uint64_t request_id,
			     int code, const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void cache_reply_code(struct spoke *sp, const struct api_route *rt, uint64_t request_id,
			     int code, const char *fmt, ...)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	char msg[700];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rep.request_id = request_id;
	rep.code = code;
	rep.message = msg;
	api_send_reply(sp, rt, &rep);
}

static void cache_wait_fail(struct spoke *sp, struct cache_wait *w, int code, const char *msg)
{
	if (sp->api && w->route.buf)
		cache_reply_code(sp, &w->route, w->request_id, code, "%s", msg);
	api_route_free(&w->route);
}

/* Reply with the entry e. */
static void cache_reply_entry(struct spoke *sp, const struct api_route *rt, uint64_t request_id,
			      const struct cache_entry *e)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__GetResult res = ONESTOP__GET_RESULT__INIT;
	Onestop__Entry en = ONESTOP__ENTRY__INIT;

	en.key = (char *)e->key;
	en.value.data = (uint8_t *)e->value;
	en.value.len = e->value_len;
	en.publisher = (char *)e->publisher;
	en.seq = e->seq;
	en.updated_ms = e->updated_ms;
	res.entry = &en;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_GET;
	rep.get = &res;
	api_send_reply(sp, rt, &rep);
}

static void cache_reply_verified(struct spoke *sp, const struct api_route *rt,
				 uint64_t request_id, const struct assertion *a)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__AssertVerifyResult res = ONESTOP__ASSERT_VERIFY_RESULT__INIT;

	res.issuer = (char *)a->issuer;
	res.subject = (char *)a->subject;
	res.level = a->level;
	res.expires_ms = a->expires_ms;
	rep.request_id = request_id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_ASSERT_VERIFY;
	rep.assert_verify = &res;
	api_send_reply(sp, rt, &rep);
}

/* A cached-mode entry was read: it becomes the most recently used. */
static void cache_used(struct spoke *sp, const char *dataset, const char *key)
{
	struct cache_ds *d;

	if (!cache_is_cached(sp, dataset) || !(d = cache_ds_get(sp, dataset)))
		return;
	if (cache_lru_ensure(sp, NULL, d) == 0)
		lru_touch(&d->lru, key);
}

/* The identity part of AssertVerify, with the subject's entry e (NULL when
 * unknown). */
static void cache_finish_verify(struct spoke *sp, const struct api_route *rt,
				uint64_t request_id, const struct assertion *a, uint32_t min_level,
				const struct cache_entry *e)
{
	char reason[256] = "";
	int rc = assertion_check_subject(a, e ? e->value : NULL, e ? e->value_len : 0, min_level,
					 reason, sizeof(reason));

	if (rc < 0)
		cache_reply_code(sp, rt, request_id, rc, "%s", reason);
	else
		cache_reply_verified(sp, rt, request_id, a);
}

/* Park a request until the hub fills dataset/key: send the Fetch now. 0,
 * or OS_ECONN / OS_EAGAIN / OS_ENOMEM (nothing parked). */
static int cache_park(struct spoke *sp, struct api_route *rt, uint64_t request_id,
		      const char *dataset, const char *key, uint32_t wait_ms, int verify,
		      const struct assertion *a, uint32_t min_level)
{
	struct cache *c = sp->ds;
	Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
	Onestop__Fetch fe = ONESTOP__FETCH__INIT;
	struct cache_wait *w;
	int rc;

	if (!spoke_hub_up(sp))
		return OS_ECONN;
	if (c->n_waits >= CACHE_MAX_WAITS)
		return OS_EAGAIN;
	if (c->n_waits == c->cap_waits) {
		size_t cap = c->cap_waits ? c->cap_waits * 2 : 16;
		struct cache_wait *n = realloc(c->waits, cap * sizeof(*n));

		if (!n)
			return OS_ENOMEM;
		c->waits = n;
		c->cap_waits = cap;
	}
	fe.request_id = c->next_fetch;
	fe.dataset = (char *)dataset;
	fe.key = (char *)key;
	lf.body_case = ONESTOP__LINK_FRAME__BODY_FETCH;
	lf.fetch = &fe;
	rc = spoke_hub_send(sp, &lf);
	if (rc < 0)
		return rc;
	w = &c->waits[c->n_waits++];
	memset(w, 0, sizeof(*w));
	w->route = *rt; /* moved */
	rt->buf = NULL;
	rt->n = 0;
	w->request_id = request_id;
	w->fetch_id = c->next_fetch++;
	w->verify = verify;
	snprintf(w->dataset, sizeof(w->dataset), "%s", dataset);
	snprintf(w->key, sizeof(w->key), "%s", key);
	w->wait_ms = wait_ms;
	w->deadline_us = os_mono_us() + (uint64_t)wait_ms * 1000u;
	w->state = WAIT_PENDING;
	if (a)
		w->a = *a;
	w->min_level = min_level;
	return 0;
}

static uint32_t cache_wait_ms(const struct spoke *sp, uint32_t asked)
{
	uint32_t max = 3600000u;

	if (asked == 0)
		return (uint32_t)sp->conf.fetch_timeout_ms;
	return asked < max ? asked : max;
}

static void cache_serve_get(struct spoke *sp, struct api_route *rt, uint64_t id,
			    const Onestop__GetRequest *g)
{
	struct cache_entry *e = &sp->ds->ent;
	const struct reg_dataset *rd;
	int rc;

	if (!g->dataset || os_name_valid(g->dataset) != 0) {
		cache_reply_code(sp, rt, id, OS_EINVAL, "the dataset must be a name like \"items\"");
		return;
	}
	if (!g->key || ds_key_valid(g->key) != 0) {
		cache_reply_code(sp, rt, id, OS_EINVAL,
				 "the key must be 1..%u printable ASCII characters", DS_KEY_MAX);
		return;
	}
	rd = cache_declared(sp, g->dataset);
	if (!rd) {
		cache_reply_code(sp, rt, id, OS_ENOTFOUND,
				 "dataset %s is not declared in the registry", g->dataset);
		return;
	}
	rc = cache_read(sp->st, g->dataset, g->key, e);
	if (rc == 0) {
		cache_used(sp, g->dataset, g->key);
		cache_reply_entry(sp, rt, id, e);
		return;
	}
	if (rc != OS_ENOTFOUND) {
		cache_reply_code(sp, rt, id, rc, "the entry could not be read: %s", os_strerror(rc));
		return;
	}
	if (rd->mode != REG_DS_CACHED) {
		cache_reply_code(sp, rt, id, OS_ENOTFOUND, "no entry %s in dataset %s", g->key,
				 g->dataset);
		return;
	}
	rc = cache_park(sp, rt, id, g->dataset, g->key, cache_wait_ms(sp, g->wait_ms), 0, NULL, 0);
	if (rc == OS_ECONN)
		cache_reply_code(sp, rt, id, OS_ECONN,
				 "%s is not held here and the hub is unreachable", g->key);
	else if (rc < 0)
		cache_reply_code(sp, rt, id, rc, "the hub cannot be asked now: %s",
				 os_strerror(rc));
}

static int cache_char_eq(char a, char b)
{
	if (a >= 'A' && a <= 'Z')
		a = (char)(a + 32);
	if (b >= 'A' && b <= 'Z')
		b = (char)(b + 32);
	return a == b;
}

/* ASCII case-insensitive substring test (other bytes compare exactly). */
static int cache_contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	if (n == 0)
		return 1;
	for (; *hay; hay++) {
		size_t i = 0;

		while (i < n && hay[i] && cache_char_eq(hay[i], needle[i]))
			i++;
		if (i == n)
			return 1;
	}
	return 0;
}

/* 1 when item value matches the List filters. */
static int cache_item_matches(const Onestop__ListRequest *l, const uint8_t *val, size_t len)
{
	Onestop__ItemValue *it;
	int ok;

	if ((!l->owner || !*l->owner) && l->online == 0 && (!l->search || !*l->search))
		return 1;
	it = onestop__item_value__unpack(NULL, len, val);
	if (!it)
		return 0;
	ok = (!l->owner || !*l->owner || (it->owner && strcmp(it->owner, l->owner) == 0)) &&
	     (l->online == 0 || (l->online == 1 && it->online) || (l->online == 2 && !it->online)) &&
	     (!l->search || !*l->search || (it->name && cache_contains(it->name, l->search)));
	onestop__item_value__free_unpacked(it, NULL);
	return ok;
}

static void cache_serve_list(struct spoke *sp, struct api_route *rt, uint64_t id,
			     const Onestop__ListRequest *l)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__ListResult res = ONESTOP__LIST_RESULT__INIT;
	struct store_txn *t = NULL;
	struct store_cursor *cur = NULL;
	struct cache_rec *recs = NULL;
	Onestop__Entry *ents = NULL, **ptrs = NULL;
	uint8_t ek[CACHE_EKEY_MAX];
	char next[DS_KEY_MAX + 1] = "";
	size_t pl, ekl, n = 0, bytes = 0, scanned = 0, kl, vl;
	const void *k, *v;
	uint32_t limit;
	int items, rc;

	if (!l->dataset || os_name_valid(l->dataset) != 0) {
		cache_reply_code(sp, rt, id, OS_EINVAL, "the dataset must be a name like \"items\"");
		return;
	}
	if (!cache_declared(sp, l->dataset)) {
		cache_reply_code(sp, rt, id, OS_ENOTFOUND,
				 "dataset %s is not declared in the registry", l->dataset);
		return;
	}
	if (l->after_key && *l->after_key && ds_key_valid(l->after_key) != 0) {
		cache_reply_code(sp, rt, id, OS_EINVAL, "after_key is not a valid key");
		return;
	}
	if (l->online > 2) {
		cache_reply_code(sp, rt, id, OS_EINVAL, "online must be 0 (any), 1 or 2 (offline-only)");
		return;
	}
	limit = l->limit ? l->limit : CACHE_LIST_DEFAULT;
	if (limit > CACHE_LIST_MAX)
		limit = CACHE_LIST_MAX;
	items = strcmp(l->dataset, DS_ITEMS) == 0;
	pl = strlen(l->dataset) + 1;
	memcpy(ek, l->dataset, pl);
	ekl = pl;
	if (l->after_key && *l->after_key) {
		ekl = cache_ekey(ek, l->dataset, l->after_key);
	}
	recs = calloc(limit, sizeof(*recs));
	ents = calloc(limit, sizeof(*ents));
	ptrs = calloc(limit, sizeof(*ptrs));
	if (!recs || !ents || !ptrs) {
		rc = OS_ENOMEM;
		goto out;
	}
	rc = store_begin(sp->st, 1, &t);
	if (rc == 0)
		rc = store_cursor_open(t, sp->db_ds_cache, &cur);
	if (rc == 0)
		rc = store_cursor_seek(cur, ek, ekl, &k, &kl, &v, &vl);
	if (rc == 0 && ekl > pl && kl == ekl && memcmp(k, ek, kl) == 0)
		rc = store_cursor_next(cur, &k, &kl, &v, &vl);
	while (rc == 0 && kl > pl && memcmp(k, ek, pl) == 0) {
		if (n >= limit || bytes >= CACHE_LIST_BYTES || scanned >= CACHE_LIST_SCAN) {
			/* More may follow: the page ends at the last key seen. */
			break;
		}
		scanned++;
		if (kl - pl <= DS_KEY_MAX) {
			memcpy(next, (const uint8_t *)k + pl, kl - pl);
			next[kl - pl] = 0;
		}
		if (cache_rec_decode(v, vl, NULL, &recs[n]) == 0) {
			const Onestop__ChangeRequest *cr = recs[n].cr;

			if (!items || cache_item_matches(l, cr->value.data, cr->value.len)) {
				Onestop__Entry *e = &ents[n];

				onestop__entry__init(e);
				e->key = cr->key;
				e->value = cr->value;
				e->publisher = recs[n].env->origin;
				e->seq = recs[n].seq;
				e->updated_ms = recs[n].env->created_ms;
				ptrs[n] = e;
				bytes += cr->value.len;
				n++;
			} else {
				cache_rec_clear(&recs[n]);
			}
		}
		rc = store_cursor_next(cur, &k, &kl, &v, &vl);
	}
	if (rc == OS_ENOTFOUND || (rc == 0 && (kl <= pl || memcmp(k, ek, pl) != 0))) {
		next[0] = 0; /* the end of the dataset */
		rc = 0;
	}
out:
	store_cursor_close(&cur);
	store_abort(&t);
	if (rc < 0) {
		cache_reply_code(sp, rt, id, rc, "the dataset could not be read: %s", os_strerror(rc));
	} else {
		res.n_entries = n;
		res.entries = ptrs;
		res.next_key = next;
		rep.request_id = id;
		rep.result_case = ONESTOP__API_REPLY__RESULT_LIST;
		rep.list = &res;
		api_send_reply(sp, rt, &rep);
	}
	if (recs)
		for (size_t i = 0; i < limit; i++)
			cache_rec_clear(&recs[i]);
	free(recs);
	free(ents);
	free(ptrs);
}

static void cache_serve_datasets(struct spoke *sp, struct api_route *rt, uint64_t id)
{
	const struct registry *reg = sp->reg;
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__DatasetsResult res = ONESTOP__DATASETS_RESULT__INIT;
	Onestop__DatasetInfo *infos = NULL, **ptrs = NULL;
	os_hash *digests = NULL;
	struct store_txn *t = NULL;
	size_t n = reg->n_datasets;
	int rc = 0;

	if (n) {
		infos = calloc(n, sizeof(*infos));
		ptrs = calloc(n, sizeof(*ptrs));
		digests = calloc(n, sizeof(*digests));
		if (!infos || !ptrs || !digests) {
			rc = OS_ENOMEM;
			goto out;
		}
		rc = store_begin(sp->st, 1, &t);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct reg_dataset *rd = &reg->datasets[i];
		struct cache_ds *d = cache_ds_find(sp, rd->name);
		struct store_cursor *cur = NULL;
		struct ds_digest dg;
		uint8_t pk[OS_NAME_MAX];
		size_t pl = strlen(rd->name) + 1, kl, vl;
		const void *k, *v;

		onestop__dataset_info__init(&infos[i]);
		infos[i].name = rd->name;
		infos[i].mode = rd->mode == REG_DS_CACHED ? ONESTOP__DATASET_MODE__DATASET_MODE_CACHED
							  : ONESTOP__DATASET_MODE__DATASET_MODE_FULL;
		infos[i].seq = d && !d->syncing ? d->seq : 0;
		infos[i].syncing = d && d->syncing;
		if (d && !d->dirty && d->dg_ok && d->dg_gen == d->gen) {
			memcpy(digests[i], d->dg, sizeof(os_hash));
			infos[i].count = d->dg_count;
		} else {
			ds_digest_init(&dg);
			memcpy(pk, rd->name, pl);
			rc = store_cursor_open(t, sp->db_ds_cache, &cur);
			for (rc = rc ? rc : store_cursor_seek(cur, pk, pl, &k, &kl, &v, &vl);
			     rc == 0; rc = store_cursor_next(cur, &k, &kl, &v, &vl)) {
				if (kl <= pl || memcmp(k, pk, pl) != 0)
					break;
				if (vl > 8)
					ds_digest_add(&dg, (const char *)k + pl, kl - pl,
						      (const uint8_t *)v + 8, vl - 8);
			}
			store_cursor_close(&cur);
			if (rc == OS_ENOTFOUND)
				rc = 0;
			ds_digest_final(&dg, digests[i]);
			infos[i].count = dg.count;
			if (rc == 0 && d && !d->dirty) {
				memcpy(d->dg, digests[i], sizeof(os_hash));
				d->dg_count = dg.count;
				d->dg_gen = d->gen;
				d->dg_ok = 1;
			}
		}
		infos[i].digest.data = digests[i];
		infos[i].digest.len = sizeof(os_hash);
		ptrs[i] = &infos[i];
	}
out:
	store_abort(&t);
	if (rc < 0) {
		cache_reply_code(sp, rt, id, rc, "the datasets could not be read: %s", os_strerror(rc));
	} else {
		res.n_datasets = n;
		res.datasets = ptrs;
		rep.request_id = id;
		rep.result_case = ONESTOP__API_REPLY__RESULT_DATASETS;
		rep.datasets = &res;
		api_send_reply(sp, rt, &rep);
	}
	free(infos);
	free(ptrs);
	free(digests);
}

static void cache_serve_issue(struct spoke *sp, struct api_route *rt, uint64_t id,
			      const Onestop__AssertIssueRequest *q)
{
	const struct reg_node *me = spoke_self(sp);
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	Onestop__AssertIssueResult res = ONESTOP__ASSERT_ISSUE_RESULT__INIT;
	uint64_t now = os_now_ms();
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	if (!me || !(me->roles & REG_ROLE_IDP) || !registry_node_active(me)) {
		cache_reply_code(sp, rt, id, OS_ENOTALLOWED,
				 "this node (%s) is not an active idp in the registry", sp->conf.name);
		return;
	}
	if (spoke_registry_expired(sp, now)) {
		cache_reply_code(sp, rt, id, OS_EEXPIRED,
				 "the registry has expired; assertions are not issued");
		return;
	}
	rc = assertion_issue(sp->conf.name, sp->key_version, sp->kp.sign_sk,
			     q->subject ? q->subject : "", q->level, q->audience,
			     q->ttl_s ? q->ttl_s : CACHE_ASSERT_TTL_S, now, &buf, &len);
	if (rc < 0) {
		cache_reply_code(sp, rt, id, rc,
				 "cannot issue: the subject must be a key (1..%u printable characters), "
				 "the level 1..3, the audience a node name, the ttl 1..%u s",
				 DS_KEY_MAX, ASSERTION_MAX_TTL_S);
		return;
	}
	res.assertion.data = buf;
	res.assertion.len = len;
	rep.request_id = id;
	rep.result_case = ONESTOP__API_REPLY__RESULT_ASSERT_ISSUE;
	rep.assert_issue = &res;
	api_send_reply(sp, rt, &rep);
	free(buf);
}

static void cache_serve_verify(struct spoke *sp, struct api_route *rt, uint64_t id,
			       const Onestop__AssertVerifyRequest *q)
{
	const char *aud = q->audience && *q->audience ? q->audience : sp->conf.name;
	const struct reg_dataset *rd;
	struct assertion a;
	char reason[256] = "";
	int rc;

	rc = assertion_verify(q->assertion.data, q->assertion.len, sp->reg, aud, os_now_ms(), &a,
			      reason, sizeof(reason));
	if (rc < 0) {
		cache_reply_code(sp, rt, id, rc, "%s", reason[0] ? reason : os_strerror(rc));
		return;
	}
	rd = cache_declared(sp, DS_IDENTITY);
	rc = rd ? cache_read(sp->st, DS_IDENTITY, a.subject, &sp->ds->ent) : OS_ENOTFOUND;
	if (rc == 0) {
		cache_used(sp, DS_IDENTITY, a.subject);
		cache_finish_verify(sp, rt, id, &a, q->min_level, &sp->ds->ent);
		return;
	}
	if (rc != OS_ENOTFOUND && rc != OS_EINVAL) {
		cache_reply_code(sp, rt, id, rc, "the identity could not be read: %s",
				 os_strerror(rc));
		return;
	}
	if (!rd || rd->mode != REG_DS_CACHED || rc == OS_EINVAL) {
		cache_finish_verify(sp, rt, id, &a, q->min_level, NULL);
		return;
	}
	rc = cache_park(sp, rt, id, DS_IDENTITY, a.subject, (uint32_t)sp->conf.fetch_timeout_ms, 1,
			&a, q->min_level);
	if (rc == OS_ECONN)
		cache_reply_code(sp, rt, id, OS_ECONN,
				 "subject %s is not held here and the hub is unreachable", a.subject);
	else if (rc < 0)
		cache_reply_code(sp, rt, id, rc, "the hub cannot be asked now: %s",
				 os_strerror(rc));
}

void replica_serve(struct spoke *sp, struct api_route *rt, const Onestop__ApiRequest *req)
{
	uint64_t id = req->request_id;

	switch (req->op_case) {
	case ONESTOP__API_REQUEST__OP_GET:
		cache_serve_get(sp, rt, id, req->get);
		break;
	case ONESTOP__API_REQUEST__OP_LIST:
		cache_serve_list(sp, rt, id, req->list);
		break;
	case ONESTOP__API_REQUEST__OP_DATASETS:
		cache_serve_datasets(sp, rt, id);
		break;
	case ONESTOP__API_REQUEST__OP_ASSERT_ISSUE:
		cache_serve_issue(sp, rt, id, req->assert_issue);
		break;
	case ONESTOP__API_REQUEST__OP_ASSERT_VERIFY:
		cache_serve_verify(sp, rt, id, req->assert_verify);
		break;
	default:
		cache_reply_code(sp, rt, id, OS_EINVAL, "not a dataset request");
		break;
	}
}

/* ------------------------------------------------------------ after commit */

static void cache_send_acks(struct spoke *sp)
{
	for (size_t i = 0; i < sp->ds->n_ds; i++) {
		struct cache_ds *d = sp->ds->ds[i];
		Onestop__LinkFrame lf = ONESTOP__LINK_FRAME__INIT;
		Onestop__DatasetAck a = ONESTOP__DATASET_ACK__INIT;
		int rc;

		if (!d->ack_due)
			continue;
		d->ack_due = 0;
		a.dataset = d->name;
		a.seq = d->syncing ? 0 : d->seq;
		a.snapshot_chunks = d->chunks;
		lf.body_case = ONESTOP__LINK_FRAME__BODY_DATASET_ACK;
		lf.dataset_ack = &a;
		rc = spoke_hub_send(sp, &lf);
		if (rc < 0)
			os_log(OS_LOG_DEBUG, "dataset_ack_unsent", "dataset=%s seq=%llu code=%s",
			       d->name, (unsigned long long)a.seq, os_errname(rc));
	}
}

/* Answer a waiting request whose fill is settled. */
static void cache_finish_wait(struct spoke *sp, struct cache_wait *w)
{
	struct cache_entry *e = &sp->ds->ent;
	int rc;

	if (w->state == WAIT_FAILED) {
		cache_wait_fail(sp, w, w->code, w->msg);
		return;
	}
	rc = w->state == WAIT_FILLED ? cache_read(sp->st, w->dataset, w->key, e) : OS_ENOTFOUND;
	if (rc == 0)
		cache_used(sp, w->dataset, w->key);
	if (w->verify && (rc == 0 || rc == OS_ENOTFOUND)) {
		cache_finish_verify(sp, &w->route, w->request_id, &w->a, w->min_level,
				    rc == 0 ? e : NULL);
	} else if (rc == 0) {
		cache_reply_entry(sp, &w->route, w->request_id, e);
	} else if (rc == OS_ENOTFOUND) {
		cache_reply_code(sp, &w->route, w->request_id, OS_ENOTFOUND,
				 "no entry %s in dataset %s (asked the hub)", w->key, w->dataset);
	} else {
		cache_reply_code(sp, &w->route, w->request_id, rc, "the entry could not be read: %s",
				 os_strerror(rc));
	}
	api_route_free(&w->route);
}

void replica_after_commit(struct spoke *sp, int commit_rc)
{
	struct cache *c = sp->ds;
	uint64_t now = os_mono_us();
	int up = spoke_hub_up(sp);
	size_t j = 0;

	if (commit_rc == 0 && up)
		cache_send_acks(sp);
	for (size_t i = 0; i < c->n_ds; i++) {
		c->ds[i]->ack_due = 0;
		c->ds[i]->dirty = 0;
	}
	for (size_t i = 0; i < c->n_waits; i++) {
		struct cache_wait *w = &c->waits[i];
		char msg[640];

		if (w->state == WAIT_FILLED && commit_rc < 0) {
			snprintf(msg, sizeof(msg), "the store could not commit: %s",
				 os_strerror(commit_rc));
			cache_wait_fail(sp, w, commit_rc, msg);
		} else if (w->state != WAIT_PENDING) {
			cache_finish_wait(sp, w);
		} else if (now >= w->deadline_us) {
			snprintf(msg, sizeof(msg), "the hub did not answer for %s within %u ms", w->key,
				 w->wait_ms);
			cache_wait_fail(sp, w, OS_ETIMEDOUT, msg);
		} else if (!up) {
			snprintf(msg, sizeof(msg), "%s is not held here and the hub became unreachable",
				 w->key);
			cache_wait_fail(sp, w, OS_ECONN, msg);
		} else {
			c->waits[j++] = *w;
		}
	}
	c->n_waits = j;
}

uint64_t replica_deadline_us(const struct spoke *sp)
{
	uint64_t d = UINT64_MAX;

	if (!sp->ds)
		return d;
	for (size_t i = 0; i < sp->ds->n_waits; i++)
		if (sp->ds->waits[i].deadline_us < d)
			d = sp->ds->waits[i].deadline_us;
	return d;
}

/* ------------------------------------------------------------ put */

int replica_put_check(struct spoke *sp, const char *dataset, const char *key, int is_delete,
		    const uint8_t *value, size_t len, char *reason, size_t reason_size)
{
	struct ds_change c;
	struct cache_rec cr;
	struct store_txn *t = NULL;
	const uint8_t *cur = NULL;
	size_t cur_len = 0, ekl;
	uint8_t ek[CACHE_EKEY_MAX];
	const void *v;
	size_t vl;
	int rc;

	memset(&c, 0, sizeof(c));
	memset(&cr, 0, sizeof(cr));
	if (strlen(dataset) >= sizeof(c.dataset) || strlen(key) >= sizeof(c.key)) {
		snprintf(reason, reason_size, "dataset name or key too long");
		return OS_EINVAL;
	}
	strcpy(c.dataset, dataset);
	strcpy(c.key, key);
	c.is_delete = is_delete ? 1 : 0;
	c.value = is_delete ? NULL : value;
	c.value_len = is_delete ? 0 : len;
	/* Items: who owns the copy held here decides a replace or delete. */
	if (strcmp(dataset, DS_ITEMS) == 0 && (ekl = cache_ekey(ek, dataset, key)) != 0) {
		rc = spoke_txn(sp, &t);
		if (rc < 0) {
			snprintf(reason, reason_size, "the store cannot be read: %s", os_strerror(rc));
			return rc;
		}
		rc = store_get(t, sp->db_ds_cache, ek, ekl, &v, &vl);
		if (rc == 0 && cache_rec_decode(v, vl, NULL, &cr) == 0) {
			cur = cr.cr->value.data;
			cur_len = cr.cr->value.len;
		}
	}
	rc = ds_change_allowed(sp->reg, sp->conf.name, &c, cur, cur_len, reason, reason_size);
	cache_rec_clear(&cr);
	return rc;
}
