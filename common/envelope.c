/* Signed envelopes: the origin builds and batch-signs them (one Merkle
 * root, one signature, a proof per message); every receiver decodes them
 * with bounded sizes and strict field checks and verifies them against the
 * registry. Also the DeadLetter payload a refusing node sends back. */
#include "envelope.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "onestop.pb-c.h"

#define ENV_DEADLETTER_MAX (64u * 1024u)
#define ENV_REASON_MAX 255

/* Arena blocks for the unpacks of one env_decode (see env_arena_alloc). */
struct env_block {
	struct env_block *next;
	size_t cap, used;
	_Alignas(16) uint8_t data[];
};

#define ENV_BLOCK_MIN 2048u

/* What env.priv_ holds: the unpacked protobufs the env points into, and
 * the arena they were unpacked into. */
struct env_priv {
	Onestop__Signed *signed_msg;
	Onestop__Envelope *envelope;
	ProtobufCAllocator alloc;
	struct env_block *blocks;
};

/* protobuf-c allocates every message, field and path element separately;
 * a decoded envelope lives and dies as a whole, so its allocations come
 * from a few blocks (usually one, sized from the input) freed together by
 * env_clear. */
static void *env_arena_alloc(void *arg, size_t size)
{
	struct env_priv *p = arg;
	if (size > SIZE_MAX / 2)
		return NULL;
	size = (size + 15) & ~(size_t)15;
	struct env_block *b = p->blocks;
	if (b == NULL || b->cap - b->used < size) {
		size_t cap = size > ENV_BLOCK_MIN ? size : ENV_BLOCK_MIN;
		b = malloc(sizeof(*b) + cap);
		if (b == NULL)
			return NULL;
		b->cap = cap;
		b->used = 0;
		b->next = p->blocks;
		p->blocks = b;
	}
	void *r = b->data + b->used;
	b->used += size;
	return r;
}

static void env_arena_free(void *arg, void *ptr)
{
	(void)arg;
	(void)ptr; /* freed with the whole arena */
}

/* A fresh arena whose first block holds cap bytes. */
static struct env_priv *env_priv_new(size_t cap)
{
	struct env_priv *p = calloc(1, sizeof(*p));
	if (p == NULL)
		return NULL;
	p->alloc.alloc = env_arena_alloc;
	p->alloc.free = env_arena_free;
	p->alloc.allocator_data = p;
	if (cap <= SIZE_MAX - sizeof(struct env_block)) {
		struct env_block *b = malloc(sizeof(*b) + cap);
		if (b != NULL) {
			b->cap = cap;
			b->used = 0;
			b->next = NULL;
			p->blocks = b;
		}
	}
	return p;
}

static const uint8_t env_empty[1];

static void env_free_outputs(uint8_t **out, size_t *out_len, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(out[i]);
		out[i] = NULL;
		out_len[i] = 0;
	}
}

static int env_check_draft(const struct env_draft *d, uint64_t now_ms)
{
	if (d->destination == NULL || os_dest_valid(d->destination) != 0)
		return OS_ENAME;
	if (d->type == NULL || os_type_valid(d->type) != 0)
		return OS_EINVAL;
	if (d->payload == NULL && d->payload_len > 0)
		return OS_EINVAL;
	if (d->expires_ms <= now_ms)
		return OS_EEXPIRED;
	return 0;
}

int env_sign_batch(const char *origin, uint32_t key_version, const os_sign_sk sk,
		   const struct env_draft *drafts, size_t n, uint64_t now_ms, uint8_t **out,
		   size_t *out_len, os_msgid *ids)
{
	int rc;
	uint8_t **envs = NULL;
	size_t *env_lens = NULL;
	os_hash *leaves = NULL;
	struct batchsig_proof *proofs = NULL;
	os_msgid *local_ids = NULL;
	os_hash root;
	os_sig sig;

	if (origin == NULL || drafts == NULL || out == NULL || out_len == NULL || n < 1 ||
	    n > BATCHSIG_MAX_LEAVES)
		return OS_EINVAL;
	if (os_name_valid(origin) != 0)
		return OS_ENAME;
	for (size_t i = 0; i < n; i++)
		if ((rc = env_check_draft(&drafts[i], now_ms)) != 0)
			return rc;
	for (size_t i = 0; i < n; i++) {
		out[i] = NULL;
		out_len[i] = 0;
	}

	rc = OS_ENOMEM;
	envs = calloc(n, sizeof(*envs));
	env_lens = calloc(n, sizeof(*env_lens));
	leaves = calloc(n, sizeof(*leaves));
	proofs = calloc(n, sizeof(*proofs));
	local_ids = calloc(n, sizeof(*local_ids));
	if (envs == NULL || env_lens == NULL || leaves == NULL || proofs == NULL ||
	    local_ids == NULL)
		goto out;

	/* One call for all ids: each call is a getrandom system call. Each id
	 * starts with the creation time (48-bit ms, big-endian) and ends with
	 * 80 random bits, so that receivers that index ids (the spoke's seen
	 * table) insert them near one edge of the tree, not into random pages.
	 * Any 16 bytes remain a valid id: nothing relies on the prefix. */
	crypto_random(local_ids, n * sizeof(os_msgid));
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 6; b++)
			local_ids[i][b] = (uint8_t)(now_ms >> (8 * (5 - b)));
	for (size_t i = 0; i < n; i++) {
		const struct env_draft *d = &drafts[i];
		Onestop__Envelope pe = ONESTOP__ENVELOPE__INIT;
		pe.id.data = local_ids[i];
		pe.id.len = sizeof(os_msgid);
		pe.origin = (char *)origin;
		pe.destination = (char *)d->destination;
		pe.type = (char *)d->type;
		pe.created_ms = now_ms;
		pe.expires_ms = d->expires_ms;
		pe.key_version = key_version;
		pe.payload.data = (uint8_t *)(d->payload ? d->payload : env_empty);
		pe.payload.len = d->payload_len;
		env_lens[i] = onestop__envelope__get_packed_size(&pe);
		envs[i] = malloc(env_lens[i]);
		if (envs[i] == NULL)
			goto out;
		onestop__envelope__pack(&pe, envs[i]);
		batchsig_leaf(leaves[i], envs[i], env_lens[i]);
	}
	if ((rc = batchsig_build(leaves, (uint32_t)n, root, proofs)) != 0)
		goto out;
	batchsig_sign(sig, root, (uint32_t)n, sk);

	rc = OS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		ProtobufCBinaryData path[BATCHSIG_MAX_PATH];
		Onestop__Signed ps = ONESTOP__SIGNED__INIT;
		ps.envelope.data = envs[i];
		ps.envelope.len = env_lens[i];
		ps.signature.data = sig;
		ps.signature.len = sizeof(sig);
		ps.leaf_index = proofs[i].index;
		ps.leaf_count = proofs[i].count;
		for (uint32_t k = 0; k < proofs[i].path_len; k++) {
			path[k].data = proofs[i].path[k];
			path[k].len = sizeof(os_hash);
		}
		ps.n_path = proofs[i].path_len;
		ps.path = path;
		out_len[i] = onestop__signed__get_packed_size(&ps);
		out[i] = malloc(out_len[i]);
		if (out[i] == NULL) {
			env_free_outputs(out, out_len, n);
			goto out;
		}
		onestop__signed__pack(&ps, out[i]);
	}
	if (ids != NULL)
		memcpy(ids, local_ids, n * sizeof(os_msgid));
	rc = 0;
out:
	if (envs != NULL)
		for (size_t i = 0; i < n; i++)
			free(envs[i]);
	free(envs);
	free(env_lens);
	free(leaves);
	free(proofs);
	free(local_ids);
	return rc;
}

void env_clear(struct env *e)
{
	if (e == NULL)
		return;
	struct env_priv *p = e->priv_;
	if (p != NULL) {
		if (p->envelope != NULL)
			onestop__envelope__free_unpacked(p->envelope, &p->alloc);
		if (p->signed_msg != NULL)
			onestop__signed__free_unpacked(p->signed_msg, &p->alloc);
		while (p->blocks != NULL) {
			struct env_block *b = p->blocks;
			p->blocks = b->next;
			free(b);
		}
		free(p);
	}
	memset(e, 0, sizeof(*e));
}

/* Copy a checked string into a fixed field; fails if it does not fit. */
static int env_copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);
	if (n >= size)
		return OS_EDECODE;
	memcpy(dst, src, n + 1);
	return 0;
}

/* Note why e is refused; returns code. */
static int env_why(struct env *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int env_why(struct env *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->why, sizeof(e->why), fmt, ap);
	va_end(ap);
	return code;
}

/* A cut copy of src that is safe in a log line and a DeadLetter: bytes
 * outside 0x21..0x7e, quotes and backslashes become '?'. */
static void env_copy_readable(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strnlen(src, size - 1) : 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = c > 0x20 && c < 0x7f && c != '"' && c != '\\' ? (char)c : '?';
	}
	dst[n] = '\0';
}

/* A failed decode: keep what a refusal may name (id, why, and readable
 * copies of the names and type), free the rest. */
static void env_failed(struct env *e)
{
	struct env_priv *p = e->priv_;
	char origin[OS_NAME_MAX] = "", dest[OS_NAME_MAX] = "", type[ENV_TYPE_MAX + 1] = "";
	char why[ENV_WHY_MAX];
	os_msgid id;
	int has_id = e->has_id;

	if (p != NULL && p->envelope != NULL) {
		env_copy_readable(origin, sizeof(origin), p->envelope->origin);
		env_copy_readable(dest, sizeof(dest), p->envelope->destination);
		env_copy_readable(type, sizeof(type), p->envelope->type);
	}
	memcpy(id, e->id, sizeof(id));
	memcpy(why, e->why, sizeof(why));
	env_clear(e);
	e->has_id = has_id;
	if (has_id)
		memcpy(e->id, id, sizeof(id));
	memcpy(e->why, why, sizeof(why));
	memcpy(e->origin, origin, sizeof(origin));
	memcpy(e->destination, dest, sizeof(dest));
	memcpy(e->type, type, sizeof(type));
}

/* Unpack the Envelope bytes env (env_len) into p's arena and fill e from
 * it, checking id, names and type in env_decode's order. 0, OS_EDECODE,
 * OS_ENAME or OS_EINVAL, with e->why set. */
static int env_fill(struct env *e, struct env_priv *p, const uint8_t *env, size_t env_len)
{
	p->envelope = onestop__envelope__unpack(&p->alloc, env_len, env);
	if (p->envelope == NULL)
		return env_why(e, OS_EDECODE, "envelope is not a valid Envelope");
	const Onestop__Envelope *pe = p->envelope;
	if (pe->id.len != sizeof(os_msgid)) {
		/* Name what there is of it: the sender may recognise it. */
		char hex[2 * sizeof(os_msgid) + 1] = "";
		if (pe->id.len < sizeof(os_msgid))
			os_hex(hex, pe->id.data, pe->id.len);
		return env_why(e, OS_EDECODE, "id is %zu bytes (%s), not 16", pe->id.len,
			       pe->id.len < sizeof(os_msgid) ? hex : "too long");
	}
	memcpy(e->id, pe->id.data, sizeof(os_msgid));
	e->has_id = 1;
	if (pe->origin == NULL || os_name_valid(pe->origin) != 0)
		return env_why(e, OS_ENAME, "origin is not a node name");
	if (pe->destination == NULL || os_dest_valid(pe->destination) != 0)
		return env_why(e, OS_ENAME, "destination is not a node or topic name");
	if (pe->type == NULL || os_type_valid(pe->type) != 0)
		return env_why(e, OS_EINVAL, "type is not a message type");
	if (env_copy_str(e->origin, sizeof(e->origin), pe->origin) != 0 ||
	    env_copy_str(e->destination, sizeof(e->destination), pe->destination) != 0 ||
	    env_copy_str(e->type, sizeof(e->type), pe->type) != 0)
		return env_why(e, OS_EDECODE, "a name is too long");
	e->created_ms = pe->created_ms;
	e->expires_ms = pe->expires_ms;
	e->key_version = pe->key_version;
	e->payload = pe->payload.len > 0 ? pe->payload.data : env_empty;
	e->payload_len = pe->payload.len;
	return 0;
}

/* The envelope's lifetime, which needs no clock: expires after created. */
static int env_check_lifetime(struct env *e)
{
	if (e->expires_ms == 0)
		return env_why(e, OS_EEXPIRED, "expires_ms is 0");
	if (e->expires_ms <= e->created_ms)
		return env_why(e, OS_EEXPIRED, "expires_ms is not after created_ms");
	return 0;
}

/* The batch signature's shape: a 64-byte signature and a path that fits
 * the tree (checked without hashing: every decode pays it). A path of the
 * wrong shape cannot verify, so it is a signature failure. */
static int env_fill_proof(struct env *e, const Onestop__Signed *s)
{
	if (s->signature.len != sizeof(os_sig))
		return env_why(e, OS_EBADSIG, "signature is %zu bytes, not 64", s->signature.len);
	if (s->leaf_count < 1 || s->leaf_count > BATCHSIG_MAX_LEAVES ||
	    s->leaf_index >= s->leaf_count || s->n_path > BATCHSIG_MAX_PATH)
		return env_why(e, OS_EBADSIG, "leaf index, leaf count or path length out of range");
	e->proof.index = s->leaf_index;
	e->proof.count = s->leaf_count;
	e->proof.path_len = (uint32_t)s->n_path;
	for (size_t k = 0; k < s->n_path; k++) {
		if (s->path[k].len != sizeof(os_hash))
			return env_why(e, OS_EBADSIG, "path element %zu is not 32 bytes", k);
		memcpy(e->proof.path[k], s->path[k].data, sizeof(os_hash));
	}
	if (batchsig_proof_check(&e->proof) != 0)
		return env_why(e, OS_EBADSIG, "path length does not fit the batch tree");
	memcpy(e->sig, s->signature.data, sizeof(os_sig));
	return 0;
}

int env_decode(const uint8_t *buf, size_t len, size_t max_bytes, struct env *e)
{
	int rc = OS_EDECODE;
	struct env_priv *p = NULL;
	if (e == NULL)
		return OS_EINVAL;
	memset(e, 0, sizeof(*e));
	if (len > max_bytes)
		return env_why(e, OS_ETOOBIG, "message of %zu bytes exceeds %zu", len, max_bytes);
	if (buf == NULL && len > 0)
		return OS_EINVAL;
	/* Room for the envelope copy, its payload, names, signature and path
	 * (16 elements at most), and the message structs. */
	p = env_priv_new(len <= (SIZE_MAX - 2048) / 2 ? 2 * len + 2048 : 0);
	if (p == NULL)
		return OS_ENOMEM;
	e->priv_ = p;

	p->signed_msg = onestop__signed__unpack(&p->alloc, len, buf);
	if (p->signed_msg == NULL) {
		rc = env_why(e, OS_EDECODE, "not a valid Signed");
		goto out;
	}
	const Onestop__Signed *s = p->signed_msg;
	if ((rc = env_fill(e, p, s->envelope.data, s->envelope.len)) != 0)
		goto out;
	if ((rc = env_fill_proof(e, s)) != 0)
		goto out;
	if ((rc = env_check_lifetime(e)) != 0)
		goto out;
	e->env_bytes = s->envelope.data;
	e->env_len = s->envelope.len;
out:
	if (rc != 0)
		env_failed(e);
	return rc;
}

/* Read a varint at *i of buf (len bytes), advancing *i. 0 or OS_EDECODE. */
static int env_varint(const uint8_t *buf, size_t len, size_t *i, uint64_t *v)
{
	*v = 0;
	for (unsigned shift = 0; shift < 64 && *i < len; shift += 7) {
		uint8_t b = buf[(*i)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return OS_EDECODE;
}

/* Where field 1 (Signed.envelope) lies in a packed Signed, found by walking
 * the wire format (the last occurrence wins, as for an unpack) without
 * copying anything. 0 or OS_EDECODE. */
static int env_find_envelope(const uint8_t *buf, size_t len, const uint8_t **env, size_t *env_len)
{
	size_t i = 0;
	int found = 0;
	while (i < len) {
		uint64_t tag, v;
		if (env_varint(buf, len, &i, &tag) != 0 || tag >> 3 == 0)
			return OS_EDECODE;
		switch (tag & 7) {
		case 0:
			if (env_varint(buf, len, &i, &v) != 0)
				return OS_EDECODE;
			break;
		case 1:
			if (len - i < 8)
				return OS_EDECODE;
			i += 8;
			break;
		case 5:
			if (len - i < 4)
				return OS_EDECODE;
			i += 4;
			break;
		case 2:
			if (env_varint(buf, len, &i, &v) != 0 || v > len - i)
				return OS_EDECODE;
			if (tag >> 3 == 1) {
				*env = buf + i;
				*env_len = (size_t)v;
				found = 1;
			}
			i += (size_t)v;
			break;
		default:
			return OS_EDECODE;
		}
	}
	return found ? 0 : OS_EDECODE;
}

int env_decode_stored(const uint8_t *buf, size_t len, size_t max_bytes, struct env *e)
{
	const uint8_t *env = NULL;
	size_t env_len = 0;
	int rc;
	if (e == NULL)
		return OS_EINVAL;
	memset(e, 0, sizeof(*e));
	if (len > max_bytes)
		return env_why(e, OS_ETOOBIG, "message of %zu bytes exceeds %zu", len, max_bytes);
	if (buf == NULL && len > 0)
		return OS_EINVAL;
	if ((rc = env_find_envelope(buf, len, &env, &env_len)) != 0)
		return env_why(e, rc, "not a valid Signed");
	/* Room for the payload, names and the message struct. */
	struct env_priv *p = env_priv_new(env_len + 1024);
	if (p == NULL)
		return OS_ENOMEM;
	e->priv_ = p;
	rc = env_fill(e, p, env, env_len);
	if (rc == 0)
		rc = env_check_lifetime(e);
	if (rc != 0)
		env_failed(e);
	return rc;
}

/* Write a sentence into why (why_size bytes) when why is not NULL. */
static int env_verify_why(char *why, size_t why_size, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int env_verify_why(char *why, size_t why_size, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && why_size > 0) {
		va_start(ap, fmt);
		vsnprintf(why, why_size, fmt, ap);
		va_end(ap);
	}
	return code;
}

int env_verify_at(const struct env *e, const struct registry *reg, struct batchsig_cache *cache,
		  uint64_t now_ms, uint64_t skew_ms, char *why, size_t why_size)
{
	if (e == NULL || reg == NULL || e->env_bytes == NULL)
		return OS_EINVAL;
	const struct reg_node *n = registry_find(reg, e->origin);
	if (n == NULL)
		return env_verify_why(why, why_size, OS_EUNKNOWN, "origin not in the registry");
	if (!registry_node_active(n))
		return env_verify_why(why, why_size, OS_EREVOKED, "origin is %s",
				      registry_status_str(n->status));
	/* A message signed under a rotated-out key is refused even if that
	 * old key's signature would check. */
	if (e->key_version != n->key_version)
		return env_verify_why(why, why_size, OS_EBADSIG,
				      "key_version %u is not the registry's %u", e->key_version,
				      n->key_version);
	os_hash leaf;
	batchsig_leaf(leaf, e->env_bytes, e->env_len);
	if (batchsig_check(cache, leaf, &e->proof, e->sig, n->sign_pk) != 0)
		return env_verify_why(why, why_size, OS_EBADSIG,
				      "signature or Merkle path does not verify");
	if (now_ms == 0)
		return 0;
	if (e->expires_ms <= now_ms)
		return env_verify_why(why, why_size, OS_EEXPIRED, "expired %llu ms ago",
				      (unsigned long long)(now_ms - e->expires_ms));
	if (e->created_ms > now_ms && e->created_ms - now_ms > skew_ms)
		return env_verify_why(why, why_size, OS_EEXPIRED,
				      "created %llu ms ahead of this node's clock (allowed %llu)",
				      (unsigned long long)(e->created_ms - now_ms),
				      (unsigned long long)skew_ms);
	return 0;
}

int env_verify(const struct env *e, const struct registry *reg, struct batchsig_cache *cache,
	       uint64_t now_ms)
{
	return env_verify_at(e, reg, cache, now_ms, ENV_SKEW_DEFAULT_MS, NULL, 0);
}

/* A printable-ASCII copy of s, at most max bytes: DeadLetter fields echo
 * what was refused, which may be anything, but must stay valid UTF-8 for
 * every protobuf decoder. */
static char *env_sanitize(const char *s, size_t max)
{
	if (s == NULL)
		s = "";
	size_t n = strnlen(s, max);
	char *c = malloc(n + 1);
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		c[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	c[n] = '\0';
	return c;
}

int env_deadletter_pack(const uint8_t *id, const char *destination, const char *type, int code,
			const char *reason, const char *refused_by, uint8_t **out, size_t *len)
{
	int rc = OS_ENOMEM;
	Onestop__DeadLetter dl = ONESTOP__DEAD_LETTER__INIT;
	char *d = env_sanitize(destination, OS_NAME_MAX - 1);
	char *t = env_sanitize(type, ENV_TYPE_MAX);
	char *r = env_sanitize(reason, ENV_REASON_MAX);
	char *b = env_sanitize(refused_by, OS_NAME_MAX - 1);
	uint8_t *buf = NULL;
	if (d == NULL || t == NULL || r == NULL || b == NULL)
		goto out;
	if (id != NULL) {
		dl.id.data = (uint8_t *)id;
		dl.id.len = sizeof(os_msgid);
	}
	dl.destination = d;
	dl.type = t;
	dl.code = code;
	dl.reason = r;
	dl.refused_by = b;
	size_t n = onestop__dead_letter__get_packed_size(&dl);
	buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		goto out;
	onestop__dead_letter__pack(&dl, buf);
	*out = buf;
	*len = n;
	rc = 0;
out:
	free(d);
	free(t);
	free(r);
	free(b);
	return rc;
}

/* Copy a field, cutting it to the destination: a dead letter is worth
 * delivering even if the refused message had absurd fields. */
static void env_copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strnlen(src, size - 1) : 0;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

int env_deadletter_unpack(const uint8_t *buf, size_t len, struct env_deadletter *out)
{
	if (out == NULL)
		return OS_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len > ENV_DEADLETTER_MAX || (buf == NULL && len > 0))
		return OS_EDECODE;
	Onestop__DeadLetter *dl = onestop__dead_letter__unpack(NULL, len, buf);
	if (dl == NULL)
		return OS_EDECODE;
	int rc = OS_EDECODE;
	if (dl->id.len == sizeof(os_msgid)) {
		memcpy(out->id, dl->id.data, sizeof(os_msgid));
		out->has_id = 1;
	} else if (dl->id.len != 0) {
		goto out;
	}
	env_copy_cut(out->destination, sizeof(out->destination), dl->destination);
	env_copy_cut(out->type, sizeof(out->type), dl->type);
	env_copy_cut(out->reason, sizeof(out->reason), dl->reason);
	env_copy_cut(out->refused_by, sizeof(out->refused_by), dl->refused_by);
	out->code = dl->code;
	rc = 0;
out:
	if (rc != 0)
		memset(out, 0, sizeof(*out));
	onestop__dead_letter__free_unpacked(dl, NULL);
	return rc;
}
