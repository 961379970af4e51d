/* The spoke's inbox in LMDB: the deliver stream's durable `last`,
 * end-to-end verification of what the hub delivers, de-duplication by
 * message id, and the leases under which apps receive stored messages
 * until they acknowledge them. */
#include "inbox.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "loop.h"
#include "spoke.h"
#include "util.h"

#define META_HUB_EPOCH "hub_epoch"
#define META_LAST "deliver_last"
#define META_NEXT "inbox_next"
#define META_SEEN_FORMAT "seen_format"
/* 3: an id entry SEEN_ID || id -> u64be(latest expiry), and one index
 * entry SEEN_EXP || u64be(that expiry) || id -> "" for pruning; 2 was
 * u64be(expires_ms) || id alone, 1 was id -> u64be(expires_ms). */
#define SEEN_FORMAT 3u
#define SEEN_ID 'i'
#define SEEN_EXP 'e'
#define SEEN_ID_LEN (1u + sizeof(os_msgid))
#define SEEN_EXP_LEN (1u + 8u + sizeof(os_msgid))
#define SEEN_V1_LEN sizeof(os_msgid)
#define SEEN_V2_LEN (8u + sizeof(os_msgid))
#define SEEN_UPGRADE_CHUNK 4096u
#define PRUNE_EVERY_US 1000000u
#define PRUNE_AGAIN_US 10000u /* a sweep that hit its budget goes on this soon */
#define HELD_LOG_EVERY_US 60000000u
#define PRUNE_BUDGET 1024u /* `seen` entries examined per sweep */

/* The `seen` table remembers each delivered id until the latest expiry
 * any copy of it carried: a copy re-signed with another expiry is still
 * the same message. The id entry answers "seen?"; the index entry, keyed
 * by expiry first, makes the expired ids a prefix for the sweep (and its
 * inserts dirty the B-tree's right edge). */
static void seen_id_key(uint8_t key[SEEN_ID_LEN], const os_msgid id)
{
	key[0] = SEEN_ID;
	memcpy(key + 1, id, sizeof(os_msgid));
}

static void seen_exp_key(uint8_t key[SEEN_EXP_LEN], uint64_t expires_ms, const os_msgid id)
{
	key[0] = SEEN_EXP;
	os_put_u64be(key + 1, expires_ms);
	memcpy(key + 9, id, sizeof(os_msgid));
}

/* The latest expiry remembered for id into *until: 0, OS_ENOTFOUND or a
 * store error. */
static int seen_get(struct spoke *sp, struct store_txn *t, const os_msgid id, uint64_t *until)
{
	uint8_t ikey[SEEN_ID_LEN];
	const void *v;
	size_t vl;
	seen_id_key(ikey, id);
	int rc = store_get(t, sp->db_seen, ikey, sizeof ikey, &v, &vl);
	if (rc == 0)
		*until = vl == 8 ? os_get_u64be(v) : UINT64_MAX;
	return rc;
}

/* Remember id until expires_ms, or keep the later expiry it has. 0 or a
 * store error. */
static int seen_put(struct spoke *sp, struct store_txn *t, const os_msgid id, uint64_t expires_ms)
{
	uint8_t ikey[SEEN_ID_LEN], xkey[SEEN_EXP_LEN], val[8];
	uint64_t until;
	int rc = seen_get(sp, t, id, &until);
	if (rc == 0 && until >= expires_ms)
		return 0;
	if (rc == 0) {
		/* One index entry per id, at its latest expiry. */
		seen_exp_key(xkey, until, id);
		if ((rc = store_del(t, sp->db_seen, xkey, sizeof xkey)) < 0 && rc != OS_ENOTFOUND)
			return rc;
	} else if (rc != OS_ENOTFOUND) {
		return rc;
	}
	seen_id_key(ikey, id);
	seen_exp_key(xkey, expires_ms, id);
	os_put_u64be(val, expires_ms);
	if ((rc = store_put(t, sp->db_seen, ikey, sizeof ikey, val, sizeof val)) < 0)
		return rc;
	return store_put(t, sp->db_seen, xkey, sizeof xkey, "", 0);
}

int inbox_load(struct spoke *sp, struct store_txn *t)
{
	struct inbox *ib = &sp->ib;
	const void *v;
	size_t vl;
	int rc = store_get(t, sp->db_meta, META_HUB_EPOCH, strlen(META_HUB_EPOCH), &v, &vl);
	if (rc == 0 && vl == INBOX_EPOCH_LEN) {
		memcpy(ib->hub_epoch, v, INBOX_EPOCH_LEN);
		ib->has_epoch = 1;
	} else if (rc == 0 || rc == OS_ENOTFOUND) {
		ib->has_epoch = 0;
	} else {
		return rc;
	}
	if ((rc = store_get_u64(t, sp->db_meta, META_LAST, 0, &ib->last)) < 0)
		return rc;
	if ((rc = store_get_u64(t, sp->db_meta, META_NEXT, 1, &ib->next)) < 0)
		return rc;
	if (ib->next == 0)
		ib->next = 1;
	if ((rc = store_count(t, sp->db_inbox, &ib->count)) < 0)
		return rc;
	/* Without a stored epoch, `last` means nothing: the first Welcome
	 * sets both. */
	if (!ib->has_epoch)
		ib->last = 0;
	return 0;
}

/* One old-format entry: its key as stored, its id and expiry. */
struct inbox_upgrade_entry {
	uint8_t key[SEEN_V2_LEN];
	size_t klen;
	const uint8_t *id; /* into key */
	uint64_t expires_ms;
};

struct inbox_upgrade_ctx {
	struct inbox_upgrade_entry *e;
	size_t n;
	uint64_t unknown_until; /* for a format-1 entry without a readable expiry */
};

/* One old-format entry into the chunk (store_walk); a full chunk ends it.
 * Current entries (other lengths) are passed over. */
static int inbox_upgrade_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct inbox_upgrade_ctx *w = arg;
	if (kl != SEEN_V1_LEN && kl != SEEN_V2_LEN)
		return STORE_NEXT;
	if (w->n >= SEEN_UPGRADE_CHUNK)
		return STORE_STOP;
	struct inbox_upgrade_entry *e = &w->e[w->n++];
	memcpy(e->key, k, kl);
	e->klen = kl;
	if (kl == SEEN_V1_LEN) {
		e->id = e->key;
		e->expires_ms = vl == 8 ? os_get_u64be(v) : w->unknown_until;
	} else {
		e->id = e->key + 8;
		e->expires_ms = os_get_u64be(k);
	}
	return STORE_NEXT;
}

int inbox_upgrade(struct spoke *sp, struct store_txn *t)
{
	struct inbox_upgrade_ctx w = {.unknown_until = os_now_ms() + INBOX_MAX_AHEAD_MS};
	uint8_t from[SEEN_V2_LEN];
	size_t from_len = 0;
	uint64_t format, moved = 0;
	int rc;

	if ((rc = store_get_u64(t, sp->db_meta, META_SEEN_FORMAT, 1, &format)) < 0)
		return rc;
	if (format == SEEN_FORMAT)
		return 0;
	w.e = malloc(SEEN_UPGRADE_CHUNK * sizeof *w.e);
	if (!w.e)
		return OS_ENOMEM;
	/* Move the old entries a chunk at a time: collect, then rewrite (a
	 * walk does not survive the writes). Old keys have lengths no current
	 * key has, so a walk never takes a moved entry for an old one. */
	for (;;) {
		w.n = 0;
		rc = store_walk(t, sp->db_seen, NULL, 0, from_len ? from : NULL, from_len,
				inbox_upgrade_visit, &w);
		if (rc < 0)
			goto out;
		for (size_t i = 0; i < w.n; i++) {
			struct inbox_upgrade_entry *e = &w.e[i];
			if ((rc = store_del(t, sp->db_seen, e->key, e->klen)) < 0 ||
			    (rc = seen_put(sp, t, e->id, e->expires_ms)) < 0)
				goto out;
		}
		moved += w.n;
		if (w.n < SEEN_UPGRADE_CHUNK)
			break;
		/* deleted: the walk resumes past it */
		memcpy(from, w.e[w.n - 1].key, w.e[w.n - 1].klen);
		from_len = w.e[w.n - 1].klen;
	}
	rc = store_put_u64(t, sp->db_meta, META_SEEN_FORMAT, SEEN_FORMAT);
	if (rc == 0 && moved > 0)
		os_log(OS_LOG_INFO, "store_upgraded", "table=seen entries=%llu format=%u",
		       (unsigned long long)moved, SEEN_FORMAT);
out:
	free(w.e);
	return rc;
}

void inbox_clear(struct spoke *sp)
{
	free(sp->ib.leases);
	sp->ib.leases = NULL;
	sp->ib.n_leases = sp->ib.cap_leases = 0;
}

int inbox_hub_epoch(struct spoke *sp, const uint8_t *epoch, size_t len, int *changed)
{
	struct inbox *ib = &sp->ib;
	struct store_txn *t = NULL;
	int rc;
	if (changed)
		*changed = 0;
	if (len != INBOX_EPOCH_LEN)
		return OS_EPROTO;
	if (ib->has_epoch && memcmp(ib->hub_epoch, epoch, INBOX_EPOCH_LEN) == 0)
		return 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	/* A hub with a new queue store numbers its deliveries afresh. */
	rc = store_put(t, sp->db_meta, META_HUB_EPOCH, strlen(META_HUB_EPOCH), epoch,
		       INBOX_EPOCH_LEN);
	if ((rc = spoke_wrote(sp, rc)) < 0)
		return rc;
	if ((rc = spoke_wrote(sp, store_put_u64(t, sp->db_meta, META_LAST, 0))) < 0)
		return rc;
	memcpy(ib->hub_epoch, epoch, INBOX_EPOCH_LEN);
	ib->has_epoch = 1;
	ib->last = 0;
	if (changed)
		*changed = 1;
	return 0;
}

/* 0 when e is addressed to this node or to a topic it subscribes to. */
static int inbox_for_us(const struct spoke *sp, const struct env *e)
{
	if (strcmp(e->destination, sp->conf.name) == 0)
		return 0;
	const struct reg_node *me = spoke_self(sp);
	if (e->destination[0] == '@' && me &&
	    registry_hears(sp->reg, me, e->destination + 1, e->origin))
		return 0;
	return OS_ENOTALLOWED;
}

static void inbox_log_rejected(const struct env *e, int decoded, uint64_t seq, int code,
			       const char *why)
{
	char idhex[2 * sizeof(os_msgid) + 1] = "-";
	if (decoded)
		os_hex(idhex, e->id, sizeof e->id);
	os_log(OS_LOG_WARN, "msg_rejected", "id=%s origin=%s seq=%llu code=%s reason=%s", idhex,
	       decoded ? e->origin : "-", (unsigned long long)seq, os_errname(code),
	       OS_Q(why ? why : os_strerror(code)));
}

/* Store a verified, addressed envelope unless its id was seen, under any
 * expiry: a seen id only has its remembered expiry raised to this copy's. */
static int inbox_store(struct spoke *sp, struct store_txn *t, const struct env *e,
		       const uint8_t *msg, size_t len)
{
	struct inbox *ib = &sp->ib;
	uint64_t until;
	int rc = seen_get(sp, t, e->id, &until);
	if (rc == 0) {
		char idhex[2 * sizeof(os_msgid) + 1];
		os_hex(idhex, e->id, sizeof e->id);
		os_log(OS_LOG_DEBUG, "msg_duplicate", "id=%s origin=%s", idhex, e->origin);
		sp->stats.duplicates++;
		if (e->expires_ms > until)
			return spoke_wrote(sp, seen_put(sp, t, e->id, e->expires_ms));
		return 0;
	}
	if (rc != OS_ENOTFOUND)
		return spoke_wrote(sp, rc);
	const struct spoke_type_hook *hook = NULL;
	for (size_t i = 0; i < SPOKE_TYPE_HOOKS && !hook; i++)
		if (sp->type_hooks[i].receive && strcmp(e->type, sp->type_hooks[i].type) == 0)
			hook = &sp->type_hooks[i];
	if (hook) {
		/* Applied in this transaction with its receipt; a refused or
		 * repeated one is remembered as seen and not handed to apps. */
		int refusal = 0, deliver = 0;
		char why[256] = "";
		rc = hook->receive(hook->ctx, t, e, &refusal, &deliver, why, sizeof why);
		if (rc < 0)
			return spoke_wrote(sp, rc);
		if (refusal < 0) {
			inbox_log_rejected(e, 1, 0, refusal, why[0] ? why : NULL);
			sp->stats.rejected++;
		}
		if (refusal < 0 || !deliver)
			return spoke_wrote(sp, seen_put(sp, t, e->id, e->expires_ms));
	}
	uint8_t key[8];
	os_put_u64be(key, ib->next);
	if ((rc = spoke_wrote(sp, store_append(t, sp->db_inbox, key, sizeof key, msg, len))) < 0)
		return rc;
	if ((rc = spoke_wrote(sp, seen_put(sp, t, e->id, e->expires_ms))) < 0)
		return rc;
	ib->meta_dirty = 1;
	ib->next++;
	ib->count++;
	sp->stats.received++;
	return 0;
}

int inbox_deliver(struct spoke *sp, uint64_t seq, const uint8_t *msg, size_t len, uint64_t now_ms,
		  int *held)
{
	struct inbox *ib = &sp->ib;
	struct store_txn *t = NULL;
	struct env e;
	int decoded = 0, rc;

	*held = 0;
	if (spoke_registry_expired(sp, now_ms)) {
		/* Fail closed without losing anything: the message stays queued
		 * at the hub until a current registry arrives. */
		uint64_t now_us = os_mono_us();
		if (ib->held_log_us == 0 || now_us - ib->held_log_us >= HELD_LOG_EVERY_US) {
			os_log(OS_LOG_WARN, "delivery_held",
			       "reason=\"registry expired\" registry_version=%llu",
			       (unsigned long long)sp->reg->version);
			ib->held_log_us = now_us;
		}
		*held = 1;
		return 0;
	}
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;

	memset(&e, 0, sizeof e);
	size_t max = (size_t)sp->conf.max_message_bytes + SPOKE_ENV_OVERHEAD;
	/* The same checks, in the same order and with the same codes, as the
	 * hub's (env_decode, env_verify_at). */
	int code = env_decode(msg, len, max, &e);
	char vwhy[ENV_WHY_MAX] = "";
	const char *why = e.why[0] ? e.why : NULL;
	if (code == 0) {
		decoded = 1;
		code = env_verify_at(&e, sp->reg, sp->cache, now_ms,
				     (uint64_t)sp->conf.clock_skew_ms, vwhy, sizeof vwhy);
		why = vwhy[0] ? vwhy : NULL;
	}
	if (code == 0 && (code = inbox_for_us(sp, &e)) != 0)
		why = "not addressed to this node or its topics";
	if (code == 0 && e.expires_ms > now_ms + INBOX_MAX_AHEAD_MS) {
		/* Its id could not be remembered for as long as a copy may come. */
		code = OS_EINVAL;
		why = "expires more than 3651 days ahead";
	}
	if (code != 0) {
		/* Invalid messages are dealt with by dropping them: they still
		 * advance the stream, or the hub would resend them forever. */
		inbox_log_rejected(&e, e.has_id, seq, code, why);
		sp->stats.rejected++;
	} else if ((rc = inbox_store(sp, t, &e, msg, len)) < 0) {
		goto out;
	}
	/* `last` (and `next`) reach the store once per iteration, in
	 * inbox_flush, in this same transaction. */
	spoke_wrote(sp, 0);
	ib->meta_dirty = 1;
	ib->last = seq;
	rc = 0;
out:
	if (decoded)
		env_clear(&e);
	return rc;
}

int inbox_flush(struct spoke *sp)
{
	struct inbox *ib = &sp->ib;
	struct store_txn *t = NULL;
	int rc;
	if (!ib->meta_dirty)
		return 0;
	ib->meta_dirty = 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if ((rc = spoke_wrote(sp, store_put_u64(t, sp->db_meta, META_LAST, ib->last))) < 0)
		return rc;
	return spoke_wrote(sp, store_put_u64(t, sp->db_meta, META_NEXT, ib->next));
}

/* Index of seq in the sorted lease array, or where it would go. */
static size_t inbox_lease_find(const struct inbox *ib, uint64_t seq, int *found)
{
	size_t lo = 0, hi = ib->n_leases;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (ib->leases[mid].seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < ib->n_leases && ib->leases[lo].seq == seq;
	return lo;
}

static int inbox_lease_set(struct inbox *ib, uint64_t seq, uint64_t until_us, uint64_t owner)
{
	int found;
	size_t i = inbox_lease_find(ib, seq, &found);
	if (found) {
		ib->leases[i].until_us = until_us;
		ib->leases[i].owner = owner;
		return 0;
	}
	if (ib->n_leases == ib->cap_leases) {
		size_t cap = ib->cap_leases ? ib->cap_leases * 2 : 64;
		struct inbox_lease *n = realloc(ib->leases, cap * sizeof *n);
		if (!n)
			return OS_ENOMEM;
		ib->leases = n;
		ib->cap_leases = cap;
	}
	memmove(&ib->leases[i + 1], &ib->leases[i], (ib->n_leases - i) * sizeof *ib->leases);
	ib->leases[i].seq = seq;
	ib->leases[i].until_us = until_us;
	ib->leases[i].owner = owner;
	ib->n_leases++;
	return 0;
}

static void inbox_lease_drop(struct inbox *ib, uint64_t seq)
{
	int found;
	size_t i = inbox_lease_find(ib, seq, &found);
	if (!found)
		return;
	memmove(&ib->leases[i], &ib->leases[i + 1], (ib->n_leases - i - 1) * sizeof *ib->leases);
	ib->n_leases--;
}

int inbox_ack(struct spoke *sp, const uint64_t *seqs, size_t n, uint32_t *acked)
{
	struct store_txn *t = NULL;
	uint32_t done = 0;
	int rc = 0;
	*acked = 0;
	if (n == 0)
		return 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	struct inbox *ib = &sp->ib;
	size_t dropped = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t key[8];
		os_put_u64be(key, seqs[i]);
		rc = store_del(t, sp->db_inbox, key, sizeof key);
		if (rc == OS_ENOTFOUND) {
			rc = 0;
			continue;
		}
		if ((rc = spoke_wrote(sp, rc)) < 0)
			break;
		/* Mark the lease (0: gone) and compact once below: an app acks a
		 * whole batch, and dropping one at a time would move the array
		 * once per message. */
		int found;
		size_t at = inbox_lease_find(ib, seqs[i], &found);
		if (found && ib->leases[at].until_us != 0) {
			ib->leases[at].until_us = 0;
			dropped++;
		}
		if (ib->count)
			ib->count--;
		done++;
	}
	if (dropped > 0) {
		size_t j = 0;
		for (size_t i = 0; i < ib->n_leases; i++)
			if (ib->leases[i].until_us != 0)
				ib->leases[j++] = ib->leases[i];
		ib->n_leases = j;
	}
	*acked = done;
	return rc;
}

/* One entry for inbox_take: 0 skipped, 1 handed out, 2 over the byte
 * budget (stop), or a negative error. */
static int inbox_take_one(struct spoke *sp, uint64_t seq, const void *v, size_t vl, uint64_t now_us,
			  uint64_t owner, size_t n, size_t max_bytes, size_t *bytes, inbox_fn fn,
			  void *arg)
{
	struct inbox *ib = &sp->ib;
	size_t dmax = (size_t)sp->conf.max_message_bytes + SPOKE_ENV_OVERHEAD;
	int found;
	size_t i = inbox_lease_find(ib, seq, &found);
	if (found && ib->leases[i].until_us > now_us)
		return 0;
	struct env e;
	memset(&e, 0, sizeof e);
	/* Verified when it was stored: only the envelope is read again. */
	int rc = env_decode_stored(v, vl, dmax, &e);
	if (rc < 0) {
		/* It verified when stored; an entry that no longer decodes is
		 * left for the operator rather than handed out. */
		os_log(OS_LOG_ERROR, "inbox_unreadable", "seq=%llu code=%s",
		       (unsigned long long)seq, os_errname(rc));
		return 0;
	}
	size_t plen = e.payload_len;
	if (n > 0 && *bytes + plen > max_bytes) {
		env_clear(&e);
		return 2;
	}
	if ((rc = inbox_lease_set(ib, seq, now_us + INBOX_LEASE_MS * 1000ull, owner)) == 0)
		rc = fn(arg, seq, &e);
	if (rc != INBOX_KEEP)
		env_clear(&e);
	if (rc < 0) {
		inbox_lease_drop(ib, seq);
		return rc;
	}
	*bytes += plen;
	return 1;
}

struct inbox_take_ctx {
	struct spoke *sp;
	uint64_t now_us, owner;
	size_t max, max_bytes, n, bytes;
	inbox_fn fn;
	void *arg;
};

/* One stored entry for inbox_take (store_walk). v goes on to fn as it is:
 * it stays valid until the transaction ends or writes. */
static int inbox_take_visit(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct inbox_take_ctx *w = arg;
	if (w->n >= w->max)
		return STORE_STOP;
	if (kl != 8)
		return STORE_NEXT;
	int r = inbox_take_one(w->sp, os_get_u64be(k), v, vl, w->now_us, w->owner, w->n,
			       w->max_bytes, &w->bytes, w->fn, w->arg);
	if (r < 0)
		return r;
	if (r == 2)
		return STORE_STOP;
	w->n += (size_t)r;
	return STORE_NEXT;
}

int inbox_take(struct spoke *sp, struct store_txn *t, size_t max, size_t max_bytes, uint64_t now_us,
	       uint64_t owner, inbox_fn fn, void *arg, size_t *taken)
{
	struct inbox_take_ctx w = {
		.sp = sp,
		.now_us = now_us,
		.owner = owner,
		.max = max,
		.max_bytes = max_bytes,
		.fn = fn,
		.arg = arg,
	};
	int rc;

	*taken = 0;
	if (max == 0 || sp->ib.count == 0)
		return 0;
	rc = store_walk(t, sp->db_inbox, NULL, 0, NULL, 0, inbox_take_visit, &w);
	*taken = w.n;
	return rc;
}

void inbox_lease_gc(struct spoke *sp, uint64_t now_us)
{
	struct inbox *ib = &sp->ib;
	size_t j = 0;
	for (size_t i = 0; i < ib->n_leases; i++)
		if (ib->leases[i].until_us > now_us)
			ib->leases[j++] = ib->leases[i];
	ib->n_leases = j;
}

size_t inbox_release(struct spoke *sp, uint64_t owner)
{
	struct inbox *ib = &sp->ib;
	size_t j = 0, n = ib->n_leases;
	if (owner == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ib->leases[i].owner != owner)
			ib->leases[j++] = ib->leases[i];
	ib->n_leases = j;
	return n - j;
}

int inbox_available(const struct spoke *sp)
{
	return sp->ib.count > sp->ib.n_leases;
}

uint64_t inbox_lease_next_expiry(const struct spoke *sp)
{
	uint64_t min = 0;
	for (size_t i = 0; i < sp->ib.n_leases; i++)
		if (min == 0 || sp->ib.leases[i].until_us < min)
			min = sp->ib.leases[i].until_us;
	return min;
}

struct inbox_prune {
	uint64_t now_ms;
	unsigned budget, n;
	os_msgid *ids; /* budget of them */
	int more;      /* expired ids remain past the budget */
};

/* Index entries start with the expiry: the expired ids are the head of
 * the SEEN_EXP prefix. Each is dropped here, its id entry after the walk. */
static int inbox_prune_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct inbox_prune *p = arg;
	const uint8_t *key = k;
	(void)v;
	(void)vl;
	if (kl != SEEN_EXP_LEN)
		return STORE_NEXT;
	if (os_get_u64be(key + 1) >= p->now_ms)
		return STORE_STOP;
	if (p->n == p->budget) {
		p->more = 1;
		return STORE_STOP;
	}
	memcpy(p->ids[p->n++], key + 9, sizeof(os_msgid));
	return STORE_DROP;
}

int inbox_prune_seen(struct spoke *sp, uint64_t now_ms, uint64_t now_us, unsigned budget)
{
	struct inbox *ib = &sp->ib;
	struct store_txn *t = NULL;
	struct inbox_prune p = {.now_ms = now_ms, .budget = budget};
	const uint8_t prefix = SEEN_EXP;
	int rc;

	if (now_us < ib->prune_due_us)
		return 0;
	ib->prune_due_us = now_us + PRUNE_EVERY_US;
	if (budget == 0)
		return 0;
	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	if (!(p.ids = malloc(budget * sizeof *p.ids)))
		return OS_ENOMEM;
	rc = store_walk(t, sp->db_seen, &prefix, 1, NULL, 0, inbox_prune_one, &p);
	for (unsigned i = 0; rc == 0 && i < p.n; i++) {
		uint8_t ikey[SEEN_ID_LEN];
		seen_id_key(ikey, p.ids[i]);
		rc = store_del(t, sp->db_seen, ikey, sizeof ikey);
		if (rc == OS_ENOTFOUND)
			rc = 0;
	}
	if (rc < 0 || p.n > 0)
		spoke_wrote(sp, rc);
	if (p.more)
		ib->prune_due_us = now_us + PRUNE_AGAIN_US;
	free(p.ids);
	return rc;
}

/* ------------------------------------------------------------ loop hooks */

static void inbox_work_hook(void *ctx)
{
	inbox_prune_seen(ctx, os_now_ms(), os_mono_us(), PRUNE_BUDGET);
}

static void inbox_before_commit_hook(void *ctx)
{
	inbox_flush(ctx);
}

static void inbox_after_commit_hook(void *ctx, int commit_rc)
{
	struct spoke *sp = ctx;
	struct store_txn *t = NULL;
	int rc;
	sp->ib.meta_dirty = 0;
	if (commit_rc == 0)
		return;
	/* Nothing of the iteration is durable: `last` and `next` go back to
	 * what the store holds. */
	if ((rc = store_begin(sp->st, 1, &t)) == 0)
		rc = inbox_load(sp, t);
	store_abort(&t);
	if (rc < 0)
		os_log(OS_LOG_ERROR, "store_reload_failed", "code=%s", os_errname(rc));
}

static uint64_t inbox_deadline_hook(void *ctx)
{
	const struct spoke *sp = ctx;
	return sp->ib.prune_due_us;
}

int inbox_attach(struct spoke *sp, struct loop *l)
{
	struct loop_hooks h = {
		.name = "inbox",
		.work = inbox_work_hook,
		.before_commit = inbox_before_commit_hook,
		.after_commit = inbox_after_commit_hook,
		.deadline_us = inbox_deadline_hook,
		.ctx = sp,
	};
	return loop_add(l, &h);
}
