/* The hub's registry chain (chain.h): loading the files at start and on
 * SIGHUP, merging them with the stored chain (the highest version of each
 * part), adopting the parts child hubs send up and the chains the parent
 * sends down, and telling the modules of every change. */
#include "chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "parent.h"
#include "registry.h"
#include "route.h"
#include "store.h"
#include "tree.h"
#include "util.h"

#include "onestop.pb-c.h"

#define CHAIN_KEY "chain"
#define CHAIN_PROG "onestop-hub"
#define CHAIN_KIDS 64u /* child hubs looked up without an allocation */

/* ---------------------------------------------------------------- helpers */

static int chain_has_parent(const struct hub *h)
{
	return h->conf.parent_endpoint && *h->conf.parent_endpoint;
}

/* The version of r's national part (the whole registry's without a
 * chain). */
static uint64_t chain_national(const struct registry *r)
{
	return r->n_parts > 0 ? r->parts[0].version : r->version;
}

static size_t chain_nparts(const struct registry *r)
{
	return r->n_parts > 0 ? r->n_parts : 1;
}

/* The delegated part of r for prefix, or NULL. */
static const struct reg_part *chain_part(const struct registry *r, const char *prefix)
{
	for (size_t i = 1; i < r->n_parts; i++)
		if (strcmp(r->parts[i].prefix, prefix) == 0)
			return &r->parts[i];
	return NULL;
}

/* 1 when name lies in the subtree within ("" the whole tree). */
static int chain_inside(const char *name, const char *within)
{
	if (!within)
		return 0;
	return *within == 0 || tree_in_prefix(name, within);
}

/* The hub's own node must be in reg, active, and carry this key's public
 * halves. NULL and a reason otherwise. */
static const struct reg_node *chain_own_node(const struct hub *h, const struct registry *reg,
					     const char **why)
{
	const struct reg_node *n = registry_find(reg, h->conf.name);

	if (!n)
		*why = "the registry has no node of this hub's name";
	else if (!registry_node_active(n))
		*why = "this hub's node is not active in the registry";
	else if (crypto_memcmp(n->sign_pk, h->kp.sign_pk, sizeof(os_sign_pk)) != 0 ||
		 crypto_memcmp(n->box_pk, h->kp.box_pk, sizeof(os_box_pk)) != 0)
		*why = "the key file does not match this hub's node in the registry";
	else
		return n;
	return NULL;
}

/* Why a national registry file was refused. */
static const char *chain_file_reason(int rc)
{
	switch (rc) {
	case OS_EBADSIG:
		return "signature does not verify under trust_anchor";
	case OS_EEXPIRED:
		return "the registry has expired (re-sign it)";
	case OS_EIO:
		return "cannot read the file";
	case OS_ETOOBIG:
		return "file too large";
	default:
		return os_strerror(rc);
	}
}

/* Why a delegated registry was refused (registry_adopt_part's codes). */
static const char *chain_part_reason(int rc)
{
	switch (rc) {
	case OS_ENOTALLOWED:
		return "the national registry delegates no subtree of this prefix";
	case OS_EBADSIG:
		return "not signed by the root key its prefix is delegated to";
	case OS_ENAME:
		return "it names a node, dataset or delegation outside its prefix";
	case OS_EEXIST:
		return "it names a node another registry of the chain has";
	case OS_EEXPIRED:
		return "the registry has expired (re-sign it)";
	case OS_EDECODE:
		return "not a packed delegated registry";
	case OS_EIO:
		return "cannot read the file";
	case OS_ETOOBIG:
		return "file too large";
	default:
		return os_strerror(rc);
	}
}

/* The prefix and version of a packed delegated SignedRegistry into
 * prefix (size bytes) and *version. 0 or OS_EDECODE (also for a prefix
 * that does not fit). */
static int chain_part_meta(const uint8_t *buf, size_t len, char *prefix, size_t size,
			   uint64_t *version)
{
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, len, buf);
	Onestop__Registry *r = NULL;
	int rc = OS_EDECODE;

	if (!sr)
		return rc;
	r = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data);
	if (r && strlen(r->prefix) < size) {
		snprintf(prefix, size, "%s", r->prefix);
		*version = r->version;
		rc = 0;
	}
	if (r)
		onestop__registry__free_unpacked(r, NULL);
	onestop__signed_registry__free_unpacked(sr, NULL);
	return rc;
}

/* A new copy of the chain in force (verified again) into *out. 0 or the
 * parse error (OS_ENOMEM). */
static int chain_copy(const struct hub *h, struct registry **out)
{
	if (!h->reg->signed_bytes)
		return OS_EINVAL;
	return registry_parse(h->reg->signed_bytes, h->reg->signed_len, h->anchor, 0, out);
}

/* Offer each delegated part of from that lies within prefix within (NULL:
 * every part) to *into; the newer ones are adopted (logged as
 * registry_part_adopted with source), those that no longer verify in *into
 * are dropped (registry_part_dropped). Returns how many were adopted, or
 * OS_ENOMEM. */
static int chain_offer_parts(struct registry **into, const struct registry *from,
			     const char *within, const char *source)
{
	int adopted = 0;

	for (size_t i = 1; i < from->n_parts; i++) {
		const struct reg_part *p = &from->parts[i];
		const struct reg_part *held = chain_part(*into, p->prefix);
		int rc;

		if (within && !chain_inside(p->prefix, within))
			continue;
		if (held && held->version >= p->version)
			continue;
		rc = registry_adopt_part(into, p->signed_bytes, p->signed_len, 0);
		if (rc == OS_ENOMEM)
			return rc;
		if (rc > 0) {
			adopted++;
			os_log(OS_LOG_INFO, "registry_part_adopted",
			       "prefix=%s version=%llu source=%s", p->prefix,
			       (unsigned long long)p->version, source);
		} else if (rc < 0) {
			os_log(OS_LOG_INFO, "registry_part_dropped",
			       "prefix=%s version=%llu source=%s code=%s reason=%s", p->prefix,
			       (unsigned long long)p->version, source, os_errname(rc),
			       OS_Q(chain_part_reason(rc)));
		}
	}
	return adopted;
}

/* Offer the province_registry file to *r (at now_ms; 0: expiry not
 * checked): it must be a delegated registry inside the subtree this hub
 * serves in *r. registry_adopt_part's result (1 adopted, 0 not newer), or
 * the error with *why. */
static int chain_province(const struct hub *h, struct registry **r, uint64_t now_ms,
			  const char **why)
{
	const char *served = registry_hub_prefix(*r, h->conf.name);
	char prefix[256];
	uint64_t version = 0;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = os_read_file(h->conf.province_registry, REG_MAX_BYTES, &buf, &len);

	if (rc) {
		rc = rc == OS_ETOOBIG || rc == OS_ENOMEM ? rc : OS_EIO;
		*why = chain_part_reason(rc);
		return rc;
	}
	rc = chain_part_meta(buf, len, prefix, sizeof(prefix), &version);
	if (rc) {
		*why = chain_part_reason(rc);
	} else if (!*prefix) {
		rc = OS_EINVAL;
		*why = "a national registry, not a delegated one (no prefix)";
	} else if (!served) {
		rc = OS_ENOTALLOWED;
		*why = "the national registry names no subtree this hub serves";
	} else if (!chain_inside(prefix, served)) {
		rc = OS_ENOTALLOWED;
		*why = "its prefix lies outside the subtree this hub serves";
	} else {
		rc = registry_adopt_part(r, buf, len, now_ms);
		if (rc < 0)
			*why = chain_part_reason(rc);
		else if (rc == 0)
			os_log(OS_LOG_DEBUG, "province_registry_held",
			       "file=%s prefix=%s version=%llu reason=%s",
			       h->conf.province_registry, prefix, (unsigned long long)version,
			       OS_Q("the chain holds this version or a newer one"));
	}
	free(buf);
	return rc;
}

/* Store r as the chain: in the iteration's transaction when one is open or
 * an iteration runs, else durably now in a transaction of its own. 0 or a
 * store error. */
static int chain_store(struct hub *h, const struct registry *r)
{
	struct store_txn *t = NULL;
	int rc;

	if (!r->signed_bytes)
		return 0;
	if (h->txn || h->iterating) {
		rc = hub_txn(h, &t);
		if (rc == 0)
			rc = hub_wrote(h, store_put(t, h->db_trust, CHAIN_KEY, strlen(CHAIN_KEY),
						    r->signed_bytes, r->signed_len));
		return rc;
	}
	rc = store_begin(h->st, 0, &t);
	if (rc == 0)
		rc = store_put(t, h->db_trust, CHAIN_KEY, strlen(CHAIN_KEY), r->signed_bytes,
			       r->signed_len);
	if (rc == 0)
		return store_commit(&t);
	store_abort(&t);
	return rc;
}

void chain_log(const struct hub *h, const char *event, const char *source)
{
	os_log(OS_LOG_INFO, event, "version=%llu parts=%zu nodes=%zu expires_ms=%llu source=%s",
	       (unsigned long long)h->reg->version, chain_nparts(h->reg), h->reg->n_nodes,
	       (unsigned long long)h->reg->expires_ms, source);
}

/* Make nr (consumed; own is its node of this hub) the chain in force:
 * store it, swap it in, tell routing, the sessions and the parent link.
 * 0, a store error, or OS_ENOMEM (the chain in force stays). */
static int chain_install(struct hub *h, struct registry *nr, const struct reg_node *own,
			 const char *source)
{
	struct registry *old;
	int rc = chain_store(h, nr);

	if (rc) {
		os_log(OS_LOG_ERROR, "registry_unsaved", "version=%llu source=%s code=%s",
		       (unsigned long long)nr->version, source, os_errname(rc));
		registry_free(&nr);
		return rc;
	}
	old = h->reg;
	h->reg = nr;
	if (route_registry_changed(h) != 0) {
		h->reg = old;
		registry_free(&nr);
		/* The stored chain must not run ahead of the one in force. */
		if (h->txn || h->iterating)
			hub_fail(h, OS_ENOMEM);
		os_log(OS_LOG_ERROR, "registry_change_failed", "source=%s reason=%s", source,
		       OS_Q("out of memory"));
		return OS_ENOMEM;
	}
	registry_free(&old);
	h->key_version = own->key_version;
	h->reg_expired = 0;
	chain_log(h, "registry_loaded", source);
	link_registry_changed(h, 1);
	parent_registry_changed(h->parent);
	return 0;
}

/* ---------------------------------------------------------------- start */

static void chain_print(const char *what, const char *file, const char *why)
{
	fprintf(stderr, "%s: %s: %s: %s\n", CHAIN_PROG, what, file, why);
}

int chain_load(struct hub *h)
{
	const struct reg_node *own;
	const char *why = NULL;
	char buf[300];
	uint64_t now = os_now_ms();
	int rc = registry_load(h->conf.registry, h->anchor, now, &h->reg);

	if (rc) {
		chain_print("registry", h->conf.registry, chain_file_reason(rc));
		return OS_ECONFIG;
	}
	if (h->conf.province_registry && *h->conf.province_registry) {
		rc = chain_province(h, &h->reg, now, &why);
		if (rc < 0) {
			chain_print("province_registry", h->conf.province_registry, why);
			os_log(OS_LOG_ERROR, "start_failed",
			       "what=province_registry file=%s code=%s reason=%s",
			       h->conf.province_registry, os_errname(rc), OS_Q(why));
			return OS_ECONFIG;
		}
	}
	own = chain_own_node(h, h->reg, &why);
	if (!own) {
		snprintf(buf, sizeof(buf), "%s (name %s)", why, h->conf.name);
		chain_print("registry", h->conf.registry, buf);
		return OS_ECONFIG;
	}
	if (!(own->roles & REG_ROLE_HUB))
		os_log(OS_LOG_WARN, "registry_role", "node=%s reason=%s", own->name,
		       OS_Q("node lacks the hub role"));
	h->key_version = own->key_version;
	return 0;
}

/* The chain stored in the "trust" database, verified, into *out (NULL
 * when none or when it does not verify: logged). 0 or a store error. */
static int chain_stored(struct hub *h, struct registry **out)
{
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int rc = store_begin(h->st, 1, &t);

	*out = NULL;
	if (rc)
		return rc;
	rc = store_get(t, h->db_trust, CHAIN_KEY, strlen(CHAIN_KEY), &v, &vl);
	if (rc == 0) {
		rc = registry_parse(v, vl, h->anchor, 0, out);
		if (rc)
			os_log(OS_LOG_WARN, "registry_rejected", "source=store code=%s reason=%s",
			       os_errname(rc), OS_Q(chain_file_reason(rc)));
		rc = 0;
	} else if (rc == OS_ENOTFOUND) {
		rc = 0;
	}
	store_abort(&t);
	return rc;
}

/* The no-rollback rule for a national registry file of version file older
 * than accepted: OS_ECONFIG (logged) unless allow_registry_rollback, then
 * 1 (logged). */
static int chain_rollback(const struct hub *h, uint64_t file, uint64_t accepted)
{
	if (!h->conf.allow_registry_rollback) {
		os_log(OS_LOG_ERROR, "registry_rollback_refused",
		       "file=%s version=%llu accepted=%llu reason=%s", h->conf.registry,
		       (unsigned long long)file, (unsigned long long)accepted,
		       OS_Q("older than a registry this hub has accepted; start with "
			    "--allow-registry-rollback to load it anyway"));
		return OS_ECONFIG;
	}
	os_log(OS_LOG_WARN, "registry_rollback_allowed",
	       "file=%s version=%llu accepted=%llu reason=%s", h->conf.registry,
	       (unsigned long long)file, (unsigned long long)accepted,
	       OS_Q("allow_registry_rollback is set: the older registry is in force"));
	return 1;
}

int chain_open(struct hub *h)
{
	struct registry *stored = NULL, *result = h->reg;
	const struct reg_node *own;
	const char *why = NULL;
	uint64_t floor = 0, fn = chain_national(h->reg);
	int rc = hub_registry_floor(h, &floor);

	if (rc == 0)
		rc = chain_stored(h, &stored);
	if (rc)
		return rc;
	if (stored && fn < chain_national(stored) && !chain_has_parent(h)) {
		rc = chain_rollback(h, fn, chain_national(stored));
		registry_free(&stored);
		if (rc < 0)
			return rc;
	} else if (!stored && fn < floor && !chain_has_parent(h)) {
		/* A store written before chains were kept holds the floor alone. */
		if ((rc = chain_rollback(h, fn, floor)) < 0)
			return rc;
	}
	if (stored && fn < chain_national(stored)) {
		/* A hub with a parent: its file is a bootstrap copy, and the
		 * parent sent a newer national registry. */
		os_log(OS_LOG_INFO, "registry_file_older", "file=%s version=%llu stored=%llu",
		       h->conf.registry, (unsigned long long)fn,
		       (unsigned long long)chain_national(stored));
		result = stored;
		rc = chain_offer_parts(&result, h->reg, NULL, "file");
		registry_free(&h->reg);
		h->reg = result;
	} else if (stored) {
		rc = chain_offer_parts(&result, stored, NULL, "store");
		h->reg = result;
		registry_free(&stored);
	}
	if (rc < 0)
		return rc;
	own = chain_own_node(h, h->reg, &why);
	if (!own) {
		chain_print("registry", "the chain in force", why);
		os_log(OS_LOG_ERROR, "start_failed", "what=registry reason=%s", OS_Q(why));
		return OS_ECONFIG;
	}
	h->key_version = own->key_version;
	return chain_store(h, h->reg);
}

/* ---------------------------------------------------------------- reload */

void chain_reload(struct hub *h)
{
	struct registry *file = NULL, *nr = NULL;
	const struct reg_node *own;
	const char *why = NULL;
	uint64_t now = os_now_ms(), fn, hn = chain_national(h->reg);
	int rc = registry_load(h->conf.registry, h->anchor, now, &file), cmp;

	if (rc) {
		os_log(OS_LOG_ERROR, "registry_reload_failed", "file=%s code=%s reason=%s",
		       h->conf.registry, os_errname(rc), OS_Q(chain_file_reason(rc)));
		return;
	}
	fn = chain_national(file);
	if (fn < hn && !chain_has_parent(h)) {
		os_log(OS_LOG_ERROR, "registry_reload_failed",
		       "file=%s version=%llu current=%llu reason=%s", h->conf.registry,
		       (unsigned long long)fn, (unsigned long long)hn,
		       OS_Q("older than the registry in force"));
		goto out;
	}
	if (fn <= hn) {
		rc = chain_copy(h, &nr);
		if (rc == 0)
			rc = chain_offer_parts(&nr, file, NULL, "file");
	} else {
		nr = file;
		file = NULL;
		rc = chain_offer_parts(&nr, h->reg, NULL, "held");
	}
	if (rc < 0) {
		os_log(OS_LOG_ERROR, "registry_reload_failed", "code=%s reason=%s", os_errname(rc),
		       OS_Q(os_strerror(rc)));
		goto out;
	}
	if (h->conf.province_registry && *h->conf.province_registry &&
	    (rc = chain_province(h, &nr, now, &why)) < 0) {
		os_log(OS_LOG_ERROR, "registry_reload_failed", "file=%s code=%s reason=%s",
		       h->conf.province_registry, os_errname(rc), OS_Q(why));
		goto out;
	}
	cmp = registry_compare(h->reg, nr);
	if (cmp == 0) {
		os_log(OS_LOG_INFO, "registry_unchanged", "version=%llu",
		       (unsigned long long)h->reg->version);
		goto out;
	}
	own = chain_own_node(h, nr, &why);
	if (cmp < 0 || !own) {
		os_log(OS_LOG_ERROR, "registry_reload_failed",
		       "version=%llu current=%llu reason=%s", (unsigned long long)nr->version,
		       (unsigned long long)h->reg->version,
		       OS_Q(own ? "it would roll back a registry in force" : why));
		goto out;
	}
	chain_install(h, nr, own, "file");
	nr = NULL;
out:
	registry_free(&nr);
	registry_free(&file);
}

/* ---------------------------------------------------------------- spreading */

/* The prefix of the child hub node of this hub, or NULL when node is none
 * of its child hubs. Lives as long as h->reg. */
static const char *chain_child_prefix(const struct hub *h, const char *node)
{
	const struct reg_delegation *kids[CHAIN_KIDS], **all = kids;
	const char *served = registry_hub_prefix(h->reg, h->conf.name), *q = NULL;
	size_t n = served ? registry_children(h->reg, served, kids, CHAIN_KIDS) : 0;

	if (n > CHAIN_KIDS) {
		all = calloc(n, sizeof(*all));
		if (!all)
			return NULL;
		n = registry_children(h->reg, served, all, n);
	}
	for (size_t i = 0; i < n && !q; i++)
		if (strcmp(all[i]->hub, node) == 0)
			q = all[i]->prefix;
	if (all != kids)
		free(all);
	return q;
}

static void chain_refuse_part(const char *node, const char *prefix, int rc, const char *why)
{
	os_log(OS_LOG_WARN, "registry_part_refused", "node=%s prefix=%s code=%s reason=%s", node,
	       prefix, os_errname(rc), OS_Q(why));
}

void chain_from_child(struct hub *h, const char *node, const uint8_t *buf, size_t len)
{
	const char *q = chain_child_prefix(h, node);
	Onestop__SignedRegistry *sr;
	struct registry *nr = NULL;
	const struct reg_node *own;
	const char *why = NULL;
	int adopted = 0, rc;

	if (!q) {
		chain_refuse_part(node, "-", OS_ENOTALLOWED,
				  "the sender is no child hub of this hub");
		return;
	}
	sr = onestop__signed_registry__unpack(NULL, len, buf);
	if (!sr) {
		chain_refuse_part(node, "-", OS_EDECODE, "undecodable registry frame");
		return;
	}
	for (size_t i = 0; i < sr->n_delegated; i++) {
		const struct reg_part *held;
		char prefix[256] = "-";
		uint64_t version = 0;
		size_t plen = onestop__signed_registry__get_packed_size(sr->delegated[i]);
		uint8_t *part = malloc(plen ? plen : 1);

		if (!part) {
			hub_fail(h, OS_ENOMEM);
			break;
		}
		onestop__signed_registry__pack(sr->delegated[i], part);
		rc = chain_part_meta(part, plen, prefix, sizeof(prefix), &version);
		if (rc == 0 && !tree_in_prefix(prefix, q))
			rc = OS_ENAME;
		if (rc) {
			chain_refuse_part(node, prefix, rc,
					  rc == OS_ENAME ? "outside the sending hub's subtree"
							 : chain_part_reason(rc));
			free(part);
			continue;
		}
		held = chain_part(nr ? nr : h->reg, prefix);
		if (held && held->version >= version) {
			free(part);
			continue;
		}
		rc = nr ? 0 : chain_copy(h, &nr);
		if (rc == 0)
			rc = registry_adopt_part(&nr, part, plen, h->now_ms);
		free(part);
		if (rc > 0) {
			adopted++;
			os_log(OS_LOG_INFO, "registry_part_adopted",
			       "node=%s prefix=%s version=%llu", node, prefix,
			       (unsigned long long)version);
		} else if (rc < 0) {
			chain_refuse_part(node, prefix, rc, chain_part_reason(rc));
			if (rc == OS_ENOMEM)
				break;
		}
	}
	onestop__signed_registry__free_unpacked(sr, NULL);
	if (!adopted) {
		registry_free(&nr);
		return;
	}
	own = chain_own_node(h, nr, &why);
	if (!own) {
		chain_refuse_part(node, "-", OS_EINVAL, why);
		registry_free(&nr);
		return;
	}
	chain_install(h, nr, own, node);
}

int chain_from_parent(struct hub *h, const uint8_t *buf, size_t len)
{
	struct registry *nr = NULL;
	const struct reg_node *own;
	const char *why = NULL;
	const char *served = registry_hub_prefix(h->reg, h->conf.name);
	int rc = registry_parse(buf, len, h->anchor, h->now_ms, &nr), cmp;

	if (rc) {
		os_log(OS_LOG_WARN, "registry_chain_refused", "source=parent code=%s reason=%s",
		       os_errname(rc), OS_Q(chain_file_reason(rc)));
		return 0;
	}
	/* What this subtree holds newer than the parent does stays. */
	if (served && (rc = chain_offer_parts(&nr, h->reg, served, "held")) < 0) {
		os_log(OS_LOG_WARN, "registry_chain_refused", "source=parent code=%s",
		       os_errname(rc));
		registry_free(&nr);
		return 0;
	}
	cmp = registry_compare(h->reg, nr);
	if (cmp == 0) {
		registry_free(&nr);
		return 0;
	}
	if (cmp < 0) {
		os_log(OS_LOG_WARN, "registry_rollback_refused",
		       "source=parent version=%llu current=%llu reason=%s",
		       (unsigned long long)nr->version, (unsigned long long)h->reg->version,
		       OS_Q("the parent's chain holds an older version of a registry in force"));
		registry_free(&nr);
		return 0;
	}
	own = chain_own_node(h, nr, &why);
	if (!own) {
		os_log(OS_LOG_ERROR, "registry_chain_refused",
		       "source=parent version=%llu reason=%s", (unsigned long long)nr->version,
		       OS_Q(why));
		registry_free(&nr);
		return 0;
	}
	rc = chain_install(h, nr, own, "parent");
	return rc == OS_ENOMEM ? 0 : rc;
}
