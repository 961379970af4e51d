/* The spoke's replica of the shared datasets: applies the hub's Changes,
 * Snapshot and Fetched frames in sequence into ds_cache (each change
 * verified end to end first), keeps where each dataset stands in ds_pos,
 * keeps cached-mode copies within their budget by LRU, and acknowledges
 * what it committed. Reads and waiting requests are elsewhere (reads.c,
 * api.c). */
#include "replica.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "log.h"
#include "loop.h"
#include "registry.h"
#include "replica_fetch.h"
#include "replica_lru.h"
#include "replica_read.h"
#include "spoke.h"

#define REPLICA_EPOCH_LEN 16
#define REPLICA_POS_LEN (REPLICA_EPOCH_LEN + 9) /* epoch || u64be seq || u8 syncing */
#define REPLICA_ARENA_BYTES (256u << 10)        /* decoding one change and its entry */

/* Where one dataset stands. */
struct replica_ds {
	char name[OS_NAME_MAX];
	uint8_t epoch[REPLICA_EPOCH_LEN];
	int has_epoch;
	uint64_t seq; /* last change applied (in this iteration's transaction) */
	int syncing;  /* a snapshot is being received */
	uint64_t snap_seq;
	uint32_t chunks; /* chunks of the current or last snapshot applied */
	int reset_due;   /* Hello said 0 for a partial snapshot: drop it first */
	int ack_due;
	struct replica_lru lru; /* cached mode */
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

struct replica {
	struct replica_ds **ds;
	size_t n_ds, cap_ds;
	struct replica_fetches *fetches;
	uint8_t *rec; /* scratch: u64be seq || Signed */
	size_t rec_cap;
	struct replica_arena arena; /* the unpacks of one change being applied */
	uint8_t *arena_buf;
	uint64_t applied, rejected;
};

/* ------------------------------------------------------------ datasets */

/* The declared dataset name when this spoke holds it: a dataset another
 * province declares is not visible here (never asked for, never held). */
static const struct reg_dataset *replica_declared(const struct spoke *sp, const char *name)
{
	const struct reg_dataset *rd = name ? registry_find_dataset(sp->reg, name) : NULL;

	return rd && registry_dataset_visible(sp->reg, rd, sp->conf.name) ? rd : NULL;
}

static int replica_is_cached(const struct spoke *sp, const char *name)
{
	const struct reg_dataset *rd = replica_declared(sp, name);

	return rd && rd->mode == REG_DS_CACHED;
}

static struct replica_ds *replica_ds_find(const struct spoke *sp, const char *name)
{
	const struct replica *r = sp->ds;

	for (size_t i = 0; r && i < r->n_ds; i++)
		if (strcmp(r->ds[i]->name, name) == 0)
			return r->ds[i];
	return NULL;
}

/* The state of dataset name, created (at seq 0, no epoch) when absent.
 * NULL on ENOMEM or a name too long. */
static struct replica_ds *replica_ds_get(struct spoke *sp, const char *name)
{
	struct replica *r = sp->ds;
	struct replica_ds *d = replica_ds_find(sp, name);

	if (d)
		return d;
	if (strlen(name) >= OS_NAME_MAX)
		return NULL;
	if (r->n_ds == r->cap_ds) {
		size_t cap = r->cap_ds ? r->cap_ds * 2 : 8;
		struct replica_ds **n = realloc(r->ds, cap * sizeof(*n));

		if (!n)
			return NULL;
		r->ds = n;
		r->cap_ds = cap;
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	snprintf(d->name, sizeof(d->name), "%s", name);
	replica_lru_init(&d->lru);
	r->ds[r->n_ds++] = d;
	return d;
}

static void replica_ds_free_all(struct replica *r)
{
	for (size_t i = 0; i < r->n_ds; i++) {
		replica_lru_clear(&r->ds[i]->lru);
		free(r->ds[i]);
	}
	r->n_ds = 0;
}

/* d's entries are being written in this iteration. */
static void replica_touched(struct replica_ds *d)
{
	d->gen++;
	d->dirty = 1;
}

static int replica_pos_write(struct spoke *sp, struct store_txn *t, struct replica_ds *d)
{
	uint8_t v[REPLICA_POS_LEN];

	memset(v, 0, sizeof(v));
	if (d->has_epoch)
		memcpy(v, d->epoch, REPLICA_EPOCH_LEN);
	os_put_u64be(v + REPLICA_EPOCH_LEN, d->seq);
	v[REPLICA_EPOCH_LEN + 8] = d->syncing ? 1 : 0;
	return spoke_wrote(sp, store_put(t, sp->db_ds_pos, d->name, strlen(d->name), v, sizeof(v)));
}

/* The keys of d's entries: [name NUL, name 0x01). */
static size_t replica_range(const struct replica_ds *d, uint8_t *from, uint8_t *to)
{
	size_t pl = strlen(d->name) + 1;

	memcpy(from, d->name, pl);
	memcpy(to, d->name, pl);
	to[pl - 1] = 1;
	return pl;
}

/* Delete every held entry of d. */
static int replica_drop_all(struct spoke *sp, struct store_txn *t, struct replica_ds *d)
{
	uint8_t from[OS_NAME_MAX], to[OS_NAME_MAX];
	size_t pl = replica_range(d, from, to);
	uint64_t n = 0;
	int rc;

	replica_touched(d);
	rc = store_del_range(t, sp->db_ds_cache, from, pl, to, pl, 0, &n, NULL);
	replica_lru_clear(&d->lru);
	d->lru.built = 1; /* nothing held: the empty order is exact */
	if (n)
		os_log(OS_LOG_INFO, "dataset_dropped", "dataset=%s entries=%llu", d->name,
		       (unsigned long long)n);
	return spoke_wrote(sp, rc);
}

/* Drop the partial copy of an interrupted snapshot: d holds nothing. */
static int replica_reset(struct spoke *sp, struct store_txn *t, struct replica_ds *d)
{
	int rc = replica_drop_all(sp, t, d);

	d->reset_due = 0;
	d->syncing = 0;
	d->seq = 0;
	d->chunks = 0;
	return rc < 0 ? rc : replica_pos_write(sp, t, d);
}

/* Evict least recently used entries of d past cache_entries. */
static int replica_evict(struct spoke *sp, struct store_txn *t, struct replica_ds *d)
{
	uint8_t ek[REPLICA_EKEY_MAX];
	const char *oldest;
	int rc = 0;

	replica_touched(d);
	while (rc == 0 && d->lru.n > (uint64_t)sp->conf.cache_entries &&
	       (oldest = replica_lru_oldest(&d->lru))) {
		size_t ekl = replica_ekey(ek, d->name, oldest);

		if (ekl) {
			rc = store_del(t, sp->db_ds_cache, ek, ekl);
			rc = spoke_wrote(sp, rc == OS_ENOTFOUND ? 0 : rc);
		}
		replica_lru_remove(&d->lru, oldest);
	}
	return rc;
}

/* One held key into the LRU (store_walk). */
static int replica_lru_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct replica_ds *d = arg;
	size_t pl = strlen(d->name) + 1;
	char key[DS_KEY_MAX + 1];

	(void)v;
	(void)vl;
	if (kl <= pl || kl - pl > DS_KEY_MAX)
		return STORE_NEXT;
	memcpy(key, (const uint8_t *)k + pl, kl - pl);
	key[kl - pl] = 0;
	return replica_lru_add(&d->lru, key);
}

/* Build d's LRU order from the store (key order: nothing better is known
 * after a start) through t, or a read transaction of its own when t is
 * NULL. */
static int replica_lru_ensure(struct spoke *sp, struct store_txn *t, struct replica_ds *d)
{
	struct store_txn *own = NULL;
	uint8_t pk[OS_NAME_MAX];
	size_t pl = strlen(d->name) + 1;
	int rc;

	if (d->lru.built)
		return 0;
	if (!t) {
		rc = store_begin(sp->st, 1, &own);
		if (rc < 0)
			return rc;
		t = own;
	}
	replica_lru_clear(&d->lru);
	memcpy(pk, d->name, pl);
	rc = store_walk(t, sp->db_ds_cache, pk, pl, NULL, 0, replica_lru_visit, d);
	store_abort(&own);
	if (rc == 0)
		d->lru.built = 1;
	else
		replica_lru_clear(&d->lru);
	return rc;
}

/* One stored position into sp's state (store_walk). */
static int replica_load_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	static const uint8_t zero[REPLICA_EPOCH_LEN];
	struct spoke *sp = arg;
	char name[OS_NAME_MAX];
	struct replica_ds *d;

	if (kl == 0 || kl >= OS_NAME_MAX || vl != REPLICA_POS_LEN)
		return STORE_NEXT;
	memcpy(name, k, kl);
	name[kl] = 0;
	d = replica_ds_get(sp, name);
	if (!d)
		return OS_ENOMEM;
	memcpy(d->epoch, v, REPLICA_EPOCH_LEN);
	d->has_epoch = memcmp(d->epoch, zero, REPLICA_EPOCH_LEN) != 0;
	d->seq = os_get_u64be((const uint8_t *)v + REPLICA_EPOCH_LEN);
	d->syncing = ((const uint8_t *)v)[REPLICA_EPOCH_LEN + 8] != 0;
	return STORE_NEXT;
}

/* Load every stored position through t. */
static int replica_load(struct spoke *sp, struct store_txn *t)
{
	replica_ds_free_all(sp->ds);
	return store_walk(t, sp->db_ds_pos, NULL, 0, NULL, 0, replica_load_visit, sp);
}

int replica_open(struct spoke *sp, struct store_txn *t)
{
	struct replica *r;
	int rc;

	r = sp->ds = calloc(1, sizeof(*sp->ds));
	if (!r)
		return OS_ENOMEM;
	r->arena_buf = malloc(REPLICA_ARENA_BYTES);
	if (!r->arena_buf || replica_fetch_new(&r->fetches) < 0)
		return OS_ENOMEM;
	replica_arena_init(&r->arena, r->arena_buf, REPLICA_ARENA_BYTES);
	rc = replica_load(sp, t);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < r->n_ds && rc == 0; i++) {
		struct replica_ds *d = r->ds[i];

		if (d->syncing) {
			os_log(OS_LOG_INFO, "snapshot_incomplete", "dataset=%s action=dropped",
			       d->name);
			rc = replica_reset(sp, t, d);
		}
	}
	for (size_t i = 0; i < sp->reg->n_datasets && rc == 0; i++) {
		const struct reg_dataset *rd = &sp->reg->datasets[i];
		struct replica_ds *d;

		if (rd->mode != REG_DS_CACHED)
			continue;
		d = replica_ds_get(sp, rd->name);
		if (!d)
			return OS_ENOMEM;
		rc = replica_lru_ensure(sp, t, d);
		if (rc == 0)
			rc = replica_evict(sp, t, d);
	}
	for (size_t i = 0; i < r->n_ds; i++) {
		struct replica_ds *d = r->ds[i];

		os_log(OS_LOG_INFO, "dataset_loaded", "dataset=%s seq=%llu held=%zu", d->name,
		       (unsigned long long)d->seq, d->lru.n);
	}
	return rc;
}

void replica_close(struct spoke *sp)
{
	struct replica *r = sp->ds;

	if (!r)
		return;
	replica_fetch_free(&r->fetches);
	replica_ds_free_all(r);
	free(r->ds);
	free(r->rec);
	replica_arena_reset(&r->arena);
	free(r->arena_buf);
	free(r);
	sp->ds = NULL;
}

void replica_reload(struct spoke *sp)
{
	struct store_txn *t = NULL;
	int rc = store_begin(sp->st, 1, &t);

	if (rc == 0)
		rc = replica_load(sp, t);
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
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (reg->n_datasets == 0)
		return 0;
	pos = calloc(reg->n_datasets, sizeof(*pos));
	if (!pos)
		return OS_ENOMEM;
	for (size_t i = 0; i < reg->n_datasets; i++) {
		struct replica_ds *d;
		Onestop__DatasetPosition *p;

		if (!replica_declared(sp, reg->datasets[i].name))
			continue;
		d = replica_ds_find(sp, reg->datasets[i].name);
		p = calloc(1, sizeof(*p));
		if (!p) {
			replica_positions_free(pos, k);
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
				p->epoch.len = REPLICA_EPOCH_LEN;
			}
		}
		pos[k++] = p;
	}
	*out = pos;
	*n = k;
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

enum replica_src { SRC_CHANGE, SRC_SNAPSHOT, SRC_FILL };

static void replica_rejected(struct spoke *sp, const struct replica_ds *d, uint64_t seq,
			     const char *origin, int code, const char *reason)
{
	sp->ds->rejected++;
	os_log(OS_LOG_WARN, "change_rejected", "dataset=%s seq=%llu origin=%s code=%s reason=%s",
	       d->name, (unsigned long long)seq, origin && *origin ? origin : "-", os_errname(code),
	       OS_Q(reason));
}

/* Verify one change or entry (sg, its publisher's Signed) of dataset d at
 * seq and write it into the iteration's transaction t, unless the entry
 * already holds that seq or a later one, or (cached mode, a change) the
 * key is not held. want_key: the key a fill asked for. *code gets the
 * refusal (logged as change_rejected), 0 when applied or skipped. Returns
 * 0 or a store error. */
static int replica_apply_one(struct spoke *sp, struct store_txn *t, struct replica_ds *d,
			     int cached, uint64_t seq, const uint8_t *sg, size_t sglen,
			     enum replica_src src, const char *want_key, int *code)
{
	struct replica *r = sp->ds;
	struct env e;
	struct replica_rec er, cr;
	struct ds_change ch;
	const uint8_t *cur_val = NULL;
	size_t cur_len = 0, ekl;
	uint8_t ek[REPLICA_EKEY_MAX];
	char reason[200] = "";
	const void *v;
	size_t vl;
	int held = 0, rc;

	replica_touched(d);
	*code = 0;
	memset(&ch, 0, sizeof(ch));
	memset(&cr, 0, sizeof(cr));
	replica_arena_reset(&r->arena);
	rc = replica_env_view(sg, sglen, &r->arena, &er, &e);
	if (rc < 0) {
		snprintf(reason, sizeof(reason), "undecodable envelope: %s", os_strerror(rc));
		*code = rc;
		replica_rec_clear(&er);
		replica_arena_reset(&r->arena);
		replica_rejected(sp, d, seq, NULL, rc, reason);
		return 0;
	}
	if (strcmp(e.type, DS_CHANGE_TYPE) != 0 ||
	    strcmp(e.destination,
		   ds_sequencer(registry_find_dataset(sp->reg, d->name), sp->conf.hub_name)) != 0) {
		*code = OS_EINVAL;
		snprintf(reason, sizeof(reason), "not a change addressed to its sequencer");
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
	ekl = replica_ekey(ek, d->name, ch.key);
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
	if (held && strcmp(d->name, DS_ITEMS) == 0 &&
	    replica_rec_decode(v, vl, &r->arena, &cr) == 0) {
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
			replica_lru_remove(&d->lru, ch.key);
	} else {
		if (sglen + 8 > r->rec_cap) {
			uint8_t *rec = realloc(r->rec, sglen + 8);

			if (!rec) {
				rc = spoke_wrote(sp, OS_ENOMEM);
				goto out;
			}
			r->rec = rec;
			r->rec_cap = sglen + 8;
		}
		os_put_u64be(r->rec, seq);
		memcpy(r->rec + 8, sg, sglen);
		rc = spoke_wrote(sp, store_put(t, sp->db_ds_cache, ek, ekl, r->rec, sglen + 8));
		if (rc == 0 && cached && src == SRC_FILL && replica_lru_add(&d->lru, ch.key) != 0)
			/* Without a slot it cannot be evicted later: keep the
			 * budget by not holding it. */
			rc = spoke_wrote(sp, store_del(t, sp->db_ds_cache, ek, ekl));
	}
	if (rc == 0)
		r->applied++;
	goto out;
refused:
	replica_rejected(sp, d, seq, e.origin, *code, reason);
out:
	ds_change_clear(&ch);
	replica_rec_clear(&cr);
	replica_rec_clear(&er);
	replica_arena_reset(&r->arena);
	return rc;
}

/* The declared dataset a frame names, ready to apply into *t: its state,
 * reset first when due. NULL (frame dropped) when it is not declared,
 * its epoch is malformed or memory is short; *rc gets a store error. */
static struct replica_ds *replica_frame_ds(struct spoke *sp, const char *name,
					   const ProtobufCBinaryData *epoch, struct store_txn **t,
					   int *rc)
{
	struct replica_ds *d;

	*rc = 0;
	if (!replica_declared(sp, name)) {
		os_log(OS_LOG_DEBUG, "dataset_frame_dropped", "reason=\"dataset not declared\"");
		return NULL;
	}
	if (epoch->len != REPLICA_EPOCH_LEN) {
		os_log(OS_LOG_WARN, "dataset_frame_dropped",
		       "dataset=%s reason=\"epoch is not 16 bytes\"", name);
		return NULL;
	}
	d = replica_ds_get(sp, name);
	if (!d)
		return NULL;
	if ((*rc = spoke_txn(sp, t)) < 0)
		return NULL;
	if (d->reset_due && (*rc = replica_reset(sp, *t, d)) < 0)
		return NULL;
	if (replica_is_cached(sp, name) && (*rc = replica_lru_ensure(sp, *t, d)) < 0) {
		spoke_wrote(sp, *rc);
		return NULL;
	}
	return d;
}

int replica_changes(struct spoke *sp, const Onestop__Changes *ch)
{
	struct store_txn *t = NULL;
	struct replica_ds *d;
	int rc, code, moved = 0, cached;

	if (!ch || !ch->dataset)
		return 0;
	d = replica_frame_ds(sp, ch->dataset, &ch->epoch, &t, &rc);
	if (!d)
		return rc;
	/* Changes belong after the snapshot being received, and only to the
	 * hub store this copy came from. */
	if (d->syncing ||
	    (d->has_epoch && memcmp(d->epoch, ch->epoch.data, REPLICA_EPOCH_LEN) != 0))
		return 0;
	cached = replica_is_cached(sp, d->name);
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
		rc = replica_apply_one(sp, t, d, cached, it->seq, it->signed_.data, it->signed_.len,
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
		memcpy(d->epoch, ch->epoch.data, REPLICA_EPOCH_LEN);
		d->has_epoch = 1;
	}
	return replica_pos_write(sp, t, d);
}

int replica_snapshot(struct spoke *sp, const Onestop__Snapshot *s)
{
	struct store_txn *t = NULL;
	struct replica_ds *d;
	int rc, code, cached;

	if (!s || !s->dataset)
		return 0;
	d = replica_frame_ds(sp, s->dataset, &s->epoch, &t, &rc);
	if (!d)
		return rc;
	cached = replica_is_cached(sp, d->name);
	if (s->first) {
		/* What the copy held cannot be continued: it starts again. */
		rc = replica_drop_all(sp, t, d);
		if (rc < 0)
			return rc;
		memcpy(d->epoch, s->epoch.data, REPLICA_EPOCH_LEN);
		d->has_epoch = 1;
		d->syncing = 1;
		d->seq = 0;
		d->snap_seq = s->snapshot_seq;
		d->chunks = 0;
		os_log(OS_LOG_INFO, "snapshot_receiving", "dataset=%s seq=%llu mode=%s", d->name,
		       (unsigned long long)s->snapshot_seq, cached ? "cached" : "full");
	} else if (!d->syncing || memcmp(d->epoch, s->epoch.data, REPLICA_EPOCH_LEN) != 0 ||
		   s->snapshot_seq != d->snap_seq) {
		return 0; /* a chunk of a snapshot given up */
	}
	/* A cached-mode snapshot carries no entries: the copy only restarts. */
	for (size_t i = 0; i < s->n_entries && !cached; i++) {
		const Onestop__Change *it = s->entries[i];

		if (!it)
			continue;
		rc = replica_apply_one(sp, t, d, cached, it->seq, it->signed_.data, it->signed_.len,
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
	return replica_pos_write(sp, t, d);
}

int replica_fetched(struct spoke *sp, const Onestop__Fetched *fd)
{
	struct store_txn *t = NULL;
	struct replica_fetch *f;
	struct replica_ds *d;
	int rc, code = 0;

	if (!fd || !(f = replica_fetch_pending(sp->ds->fetches, fd->request_id)))
		return 0; /* its request gave up */
	if (fd->code != 0) {
		replica_fetch_fail(f, fd->code, "the hub could not answer: %s",
				   os_strerror(fd->code));
		return 0;
	}
	if (!fd->found || !fd->entry || fd->entry->signed_.len == 0) {
		replica_fetch_settle(f, REPLICA_FETCH_NOTFOUND);
		return 0;
	}
	if (!replica_declared(sp, f->dataset) || !(d = replica_ds_get(sp, f->dataset))) {
		replica_fetch_fail(f, OS_ENOTFOUND, "dataset %s is no longer declared", f->dataset);
		return 0;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if ((rc = replica_lru_ensure(sp, t, d)) < 0)
		return spoke_wrote(sp, rc);
	rc = replica_apply_one(sp, t, d, replica_is_cached(sp, d->name), fd->entry->seq,
			       fd->entry->signed_.data, fd->entry->signed_.len, SRC_FILL, f->key,
			       &code);
	if (rc < 0)
		return rc;
	if (code) {
		replica_fetch_fail(f, code, "the hub's answer for %s does not verify: %s", f->key,
				   os_strerror(code));
		return 0;
	}
	replica_fetch_settle(f, REPLICA_FETCH_FILLED);
	/* A fill may come before any change of the dataset: it belongs to
	 * the hub store of this session. */
	if (!d->has_epoch && sp->ib.has_epoch) {
		memcpy(d->epoch, sp->ib.hub_epoch, REPLICA_EPOCH_LEN);
		d->has_epoch = 1;
		if ((rc = replica_pos_write(sp, t, d)) < 0)
			return rc;
	}
	return replica_evict(sp, t, d);
}

/* ------------------------------------------------------------ after commit */

static void replica_send_acks(struct spoke *sp)
{
	for (size_t i = 0; i < sp->ds->n_ds; i++) {
		struct replica_ds *d = sp->ds->ds[i];
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

void replica_after_commit(struct spoke *sp, int commit_rc)
{
	struct replica *r = sp->ds;

	if (commit_rc == 0 && spoke_hub_up(sp))
		replica_send_acks(sp);
	for (size_t i = 0; i < r->n_ds; i++) {
		r->ds[i]->ack_due = 0;
		r->ds[i]->dirty = 0;
	}
}

uint64_t replica_deadline_us(const struct spoke *sp)
{
	(void)sp;
	return UINT64_MAX;
}

static void replica_hook_after_commit(void *ctx, int commit_rc)
{
	replica_after_commit(ctx, commit_rc);
}

/* After a failed commit the positions and the LRU go back to the store's
 * before anything answers from them. */
static void replica_hook_reload(void *ctx, int commit_rc)
{
	if (commit_rc < 0)
		replica_reload(ctx);
}

int replica_attach_reload(struct spoke *sp, struct loop *l)
{
	const struct loop_hooks h = {
		.name = "replica_reload",
		.after_commit = replica_hook_reload,
		.ctx = sp,
	};
	return loop_add(l, &h);
}

int replica_attach(struct spoke *sp, struct loop *l)
{
	const struct loop_hooks h = {
		.name = "replica",
		.after_commit = replica_hook_after_commit,
		.ctx = sp,
	};
	return loop_add(l, &h);
}

/* ------------------------------------------------------------ for reads */

struct replica_fetches *replica_fetch_table(struct spoke *sp)
{
	return sp->ds ? sp->ds->fetches : NULL;
}

void replica_used(struct spoke *sp, const char *dataset, const char *key)
{
	struct replica_ds *d;

	if (!replica_is_cached(sp, dataset) || !(d = replica_ds_get(sp, dataset)))
		return;
	if (replica_lru_ensure(sp, NULL, d) == 0)
		replica_lru_touch(&d->lru, key);
}

void replica_position(const struct spoke *sp, const char *name, uint64_t *seq, int *syncing)
{
	const struct replica_ds *d = replica_ds_find(sp, name);

	*seq = d && !d->syncing ? d->seq : 0;
	*syncing = d && d->syncing;
}

struct replica_digest_walk {
	struct ds_digest dg;
	size_t pl; /* the dataset's key prefix: name NUL */
};

/* One entry into a digest (store_walk). */
static int replica_digest_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct replica_digest_walk *w = arg;

	if (kl > w->pl && vl > 8)
		ds_digest_add(&w->dg, (const char *)k + w->pl, kl - w->pl, (const uint8_t *)v + 8,
			      vl - 8);
	return STORE_NEXT;
}

int replica_digest(struct spoke *sp, struct store_txn *t, const char *name, os_hash out,
		   uint64_t *count)
{
	struct replica_ds *d = replica_ds_find(sp, name);
	struct replica_digest_walk w;
	uint8_t pk[OS_NAME_MAX];
	int rc;

	if (d && !d->dirty && d->dg_ok && d->dg_gen == d->gen) {
		memcpy(out, d->dg, sizeof(os_hash));
		*count = d->dg_count;
		return 0;
	}
	w.pl = strlen(name) + 1;
	if (w.pl > sizeof(pk))
		return OS_EINVAL;
	memcpy(pk, name, w.pl);
	ds_digest_init(&w.dg);
	rc = store_walk(t, sp->db_ds_cache, pk, w.pl, NULL, 0, replica_digest_visit, &w);
	ds_digest_final(&w.dg, out);
	*count = w.dg.count;
	if (rc == 0 && d && !d->dirty) {
		memcpy(d->dg, out, sizeof(os_hash));
		d->dg_count = w.dg.count;
		d->dg_gen = d->gen;
		d->dg_ok = 1;
	}
	return rc;
}

/* ------------------------------------------------------------ put */

int replica_put_check(struct spoke *sp, const char *dataset, const char *key, int is_delete,
		      const uint8_t *value, size_t len, char *reason, size_t reason_size)
{
	struct ds_change c;
	struct replica_rec cr;
	struct store_txn *t = NULL;
	const uint8_t *cur = NULL;
	size_t cur_len = 0, ekl;
	uint8_t ek[REPLICA_EKEY_MAX];
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
	if (strcmp(dataset, DS_ITEMS) == 0 && (ekl = replica_ekey(ek, dataset, key)) != 0) {
		rc = spoke_txn(sp, &t);
		if (rc < 0) {
			snprintf(reason, reason_size, "the store cannot be read: %s",
				 os_strerror(rc));
			return rc;
		}
		rc = store_get(t, sp->db_ds_cache, ek, ekl, &v, &vl);
		if (rc == 0 && replica_rec_decode(v, vl, NULL, &cr) == 0) {
			cur = cr.cr->value.data;
			cur_len = cr.cr->value.len;
		}
	}
	rc = ds_change_allowed(sp->reg, sp->conf.name, &c, cur, cur_len, reason, reason_size);
	replica_rec_clear(&cr);
	return rc;
}
