/* The in-process read path of the spoke's dataset replica, free of the
 * daemon so that tools and the benchmark can link it: the replica's
 * databases, the keys and record layout of ds_cache, decoding a stored
 * record, and replica_read (the path the API's Get takes). */
#include "replica_read.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onestop.pb-c.h"

#include "batchsig.h"
#include "envelope.h"
#include "err.h"

#define REPLICA_MAX_STORES 8
#define REPLICA_READ_ARENA 16384u /* on replica_read's stack: a typical record fits */

/* Stores whose replica databases replica_dbis opened, for replica_read. */
static struct {
	struct store *s;
	store_dbi replica_db, pos_db;
} replica_stores[REPLICA_MAX_STORES];

/* ------------------------------------------------------------ records */

size_t replica_ekey(uint8_t *buf, const char *ds, const char *key)
{
	size_t dl = strlen(ds), kl = strlen(key);

	if (dl == 0 || dl >= OS_NAME_MAX || kl == 0 || kl > DS_KEY_MAX)
		return 0;
	memcpy(buf, ds, dl);
	buf[dl] = 0;
	memcpy(buf + dl + 1, key, kl);
	return dl + 1 + kl;
}

/* ------------------------------------------------------------ arena */

void replica_arena_init(struct replica_arena *a, void *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void replica_arena_reset(struct replica_arena *a)
{
	for (size_t i = 0; i < a->n_big; i++)
		free(a->big[i]);
	free(a->big);
	a->big = NULL;
	a->n_big = a->cap_big = 0;
	a->used = 0;
}

static void *replica_arena_alloc(void *data, size_t size)
{
	struct replica_arena *a = data;
	size_t need = (size + 15u) & ~(size_t)15u;
	void *p;

	if (need >= size && need <= a->cap - a->used) {
		p = a->buf + a->used;
		a->used += need;
		return p;
	}
	if (a->n_big == a->cap_big) {
		size_t cap = a->cap_big ? a->cap_big * 2 : 8;
		void **nb = realloc(a->big, cap * sizeof(*nb));

		if (!nb)
			return NULL;
		a->big = nb;
		a->cap_big = cap;
	}
	p = malloc(size ? size : 1);
	if (p)
		a->big[a->n_big++] = p;
	return p;
}

/* Nothing is freed one by one (also when an unpack fails half-way): the
 * reset releases it all. */
static void replica_arena_free(void *data, void *p)
{
	(void)data;
	(void)p;
}

/* The protobuf-c allocator over a (NULL: protobuf-c's default). */
static ProtobufCAllocator *replica_pa(struct replica_arena *a, ProtobufCAllocator *pa)
{
	if (!a)
		return NULL;
	pa->alloc = replica_arena_alloc;
	pa->free = replica_arena_free;
	pa->allocator_data = a;
	return pa;
}

/* ------------------------------------------------------------ decoding */

void replica_rec_clear(struct replica_rec *r)
{
	if (r->arena) {
		memset(r, 0, sizeof(*r));
		return;
	}
	if (r->cr)
		onestop__change_request__free_unpacked(r->cr, NULL);
	if (r->env)
		onestop__envelope__free_unpacked(r->env, NULL);
	if (r->sg)
		onestop__signed__free_unpacked(r->sg, NULL);
	memset(r, 0, sizeof(*r));
}

int replica_rec_decode(const uint8_t *rec, size_t len, struct replica_arena *a,
		       struct replica_rec *r)
{
	ProtobufCAllocator pab, *pa = replica_pa(a, &pab);

	memset(r, 0, sizeof(*r));
	r->arena = a;
	if (len <= 8 || len - 8 > REPLICA_SIGNED_MAX)
		return OS_EDECODE;
	r->seq = os_get_u64be(rec);
	r->sg = onestop__signed__unpack(pa, len - 8, rec + 8);
	if (r->sg)
		r->env = onestop__envelope__unpack(pa, r->sg->envelope.len, r->sg->envelope.data);
	if (r->env)
		r->cr = onestop__change_request__unpack(pa, r->env->payload.len,
							r->env->payload.data);
	if (!r->cr || !r->cr->key || !r->env->origin || strlen(r->cr->key) > DS_KEY_MAX ||
	    strlen(r->env->origin) >= OS_NAME_MAX || r->cr->value.len > DS_VALUE_MAX) {
		replica_rec_clear(r);
		return OS_EDECODE;
	}
	return 0;
}

/* Without env_decode's trial Merkle root: env_verify computes the root
 * anyway, and a change catching up should hash its path once, not twice. */
int replica_env_view(const uint8_t *sg, size_t len, struct replica_arena *a, struct replica_rec *r,
		     struct env *e)
{
	ProtobufCAllocator pab, *pa = replica_pa(a, &pab);
	const Onestop__Signed *s;
	const Onestop__Envelope *pe;

	memset(r, 0, sizeof(*r));
	memset(e, 0, sizeof(*e));
	r->arena = a;
	if (len > REPLICA_SIGNED_MAX)
		return OS_ETOOBIG;
	r->sg = onestop__signed__unpack(pa, len, sg);
	if (!r->sg)
		return OS_EDECODE;
	s = r->sg;
	if (s->signature.len != sizeof(os_sig) || s->leaf_count < 1 ||
	    s->leaf_count > BATCHSIG_MAX_LEAVES || s->leaf_index >= s->leaf_count ||
	    s->n_path > BATCHSIG_MAX_PATH)
		return OS_EDECODE;
	e->proof.index = s->leaf_index;
	e->proof.count = s->leaf_count;
	e->proof.path_len = (uint32_t)s->n_path;
	for (size_t k = 0; k < s->n_path; k++) {
		if (s->path[k].len != sizeof(os_hash))
			return OS_EDECODE;
		memcpy(e->proof.path[k], s->path[k].data, sizeof(os_hash));
	}
	memcpy(e->sig, s->signature.data, sizeof(os_sig));
	r->env = onestop__envelope__unpack(pa, s->envelope.len, s->envelope.data);
	if (!r->env)
		return OS_EDECODE;
	pe = r->env;
	if (pe->id.len != sizeof(os_msgid) || pe->expires_ms == 0 || !pe->origin ||
	    !pe->destination || !pe->type || os_name_valid(pe->origin) != 0 ||
	    os_dest_valid(pe->destination) != 0 || os_type_valid(pe->type) != 0 ||
	    strlen(pe->origin) >= sizeof(e->origin) ||
	    strlen(pe->destination) >= sizeof(e->destination) ||
	    strlen(pe->type) >= sizeof(e->type))
		return OS_EDECODE;
	strcpy(e->origin, pe->origin);
	strcpy(e->destination, pe->destination);
	strcpy(e->type, pe->type);
	memcpy(e->id, pe->id.data, sizeof(os_msgid));
	e->created_ms = pe->created_ms;
	e->expires_ms = pe->expires_ms;
	e->key_version = pe->key_version;
	e->payload = pe->payload.data;
	e->payload_len = pe->payload.len;
	e->env_bytes = s->envelope.data;
	e->env_len = s->envelope.len;
	return 0;
}

int replica_dbis(struct store *s, store_dbi *replica_db, store_dbi *pos_db)
{
	store_dbi c, p;
	int slot = -1, rc;

	for (int i = 0; i < REPLICA_MAX_STORES; i++) {
		if (replica_stores[i].s == s) {
			slot = i;
			break;
		}
		if (!replica_stores[i].s && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return OS_EFULL;
	if ((rc = store_dbi_open(s, "ds_cache", &c)) < 0 ||
	    (rc = store_dbi_open(s, "ds_pos", &p)) < 0)
		return rc;
	replica_stores[slot].s = s;
	replica_stores[slot].replica_db = c;
	replica_stores[slot].pos_db = p;
	if (replica_db)
		*replica_db = c;
	if (pos_db)
		*pos_db = p;
	return 0;
}

void replica_dbis_release(struct store *s)
{
	for (int i = 0; i < REPLICA_MAX_STORES; i++)
		if (s && replica_stores[i].s == s)
			memset(&replica_stores[i], 0, sizeof(replica_stores[i]));
}

int replica_read(struct store *s, const char *dataset, const char *key, struct replica_entry *out)
{
	struct store_txn *t = NULL;
	struct replica_rec r;
	struct replica_arena a;
	_Alignas(16) uint8_t abuf[REPLICA_READ_ARENA];
	uint8_t ek[REPLICA_EKEY_MAX];
	const void *v;
	size_t vl, ekl;
	int slot = -1, rc;

	for (int i = 0; i < REPLICA_MAX_STORES; i++)
		if (replica_stores[i].s == s && s) {
			slot = i;
			break;
		}
	if (slot < 0 || !dataset || !key || !out)
		return OS_EINVAL;
	ekl = replica_ekey(ek, dataset, key);
	if (ekl == 0)
		return OS_EINVAL;
	replica_arena_init(&a, abuf, sizeof(abuf));
	rc = store_begin(s, 1, &t);
	if (rc < 0)
		return rc;
	rc = store_get(t, replica_stores[slot].replica_db, ek, ekl, &v, &vl);
	if (rc == 0)
		rc = replica_rec_decode(v, vl, &a, &r);
	store_abort(&t);
	if (rc < 0) {
		replica_arena_reset(&a);
		return rc;
	}
	snprintf(out->key, sizeof(out->key), "%s", r.cr->key);
	memcpy(out->value, r.cr->value.data, r.cr->value.len);
	out->value_len = r.cr->value.len;
	snprintf(out->publisher, sizeof(out->publisher), "%s", r.env->origin);
	out->seq = r.seq;
	out->updated_ms = r.env->created_ms;
	replica_rec_clear(&r);
	replica_arena_reset(&a);
	return 0;
}
