/* The signed node registry: parsing and checking a packed SignedRegistry
 * against the trust anchor, lookups by name and by transport key, editing
 * and re-signing (for the onestop CLI), and the small policy questions
 * (is this node active, may it send this type, does it subscribe). */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "onestop.pb-c.h"
#include "tree.h"
#include "util.h"

#define REG_CTX "OneStop registry v1"
#define REG_TYPE_PATTERN_MAX 130
#define REG_MAX_DATASETS 64u
#define REG_MAX_PARTS 256u       /* registries in one chain */
#define REG_MAX_DELEGATIONS 256u /* delegations of one registry */

/* The registry with what callers need not see: an index of the nodes
 * sorted by transport key, for the ZAP handler's lookups. */
struct reg_box {
	os_box_pk pk;
	size_t idx; /* into pub.nodes */
};

struct reg_impl {
	struct registry pub;
	struct reg_box *by_box;
};

static const struct {
	const char *name;
	unsigned bit;
} reg_roles[] = {
	{"hub", REG_ROLE_HUB},
	{"spoke", REG_ROLE_SPOKE},
	{"idp", REG_ROLE_IDP},
	{"supervisor", REG_ROLE_SUPERVISOR},
};
#define REG_N_ROLES (sizeof(reg_roles) / sizeof(reg_roles[0]))

int registry_role_parse(const char *s, unsigned *bit)
{
	if (s == NULL)
		return OS_EINVAL;
	for (size_t i = 0; i < REG_N_ROLES; i++) {
		if (strcmp(s, reg_roles[i].name) == 0) {
			*bit = reg_roles[i].bit;
			return 0;
		}
	}
	return OS_EINVAL;
}

const char *registry_roles_str(unsigned roles, char *buf, size_t size)
{
	size_t used = 0;
	if (size == 0)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; i < REG_N_ROLES; i++) {
		if (!(roles & reg_roles[i].bit))
			continue;
		size_t n = strlen(reg_roles[i].name);
		size_t need = n + (used > 0 ? 1 : 0);
		if (used + need + 1 > size)
			break;
		if (used > 0)
			buf[used++] = ',';
		memcpy(buf + used, reg_roles[i].name, n);
		used += n;
		buf[used] = '\0';
	}
	return buf;
}

const char *registry_status_str(enum reg_status st)
{
	switch (st) {
	case REG_ACTIVE:
		return "active";
	case REG_SUSPENDED:
		return "suspended";
	case REG_REVOKED:
		return "revoked";
	}
	return "unknown";
}

/* ---------------------------------------------------------------- nodes */

static void reg_strv_free(char **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void reg_node_clear(struct reg_node *n)
{
	free(n->name);
	reg_strv_free(n->topics, n->n_topics);
	reg_strv_free(n->allowed_types, n->n_types);
	reg_strv_free(n->publish, n->n_publish);
	reg_strv_free(n->province_topics, n->n_province_topics);
	memset(n, 0, sizeof(*n));
}

static int reg_strv_dup(char **const src, size_t n, char ***out)
{
	*out = NULL;
	if (n == 0)
		return 0;
	char **v = calloc(n, sizeof(char *));
	if (v == NULL)
		return OS_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i] = strdup(src[i] ? src[i] : "");
		if (v[i] == NULL) {
			reg_strv_free(v, i);
			return OS_ENOMEM;
		}
	}
	*out = v;
	return 0;
}

/* Deep copy of src into dst (zeroed by the caller). */
static int reg_node_copy(struct reg_node *dst, const struct reg_node *src)
{
	int rc = OS_ENOMEM;
	*dst = *src;
	dst->name = NULL;
	dst->topics = dst->allowed_types = dst->publish = NULL;
	dst->n_topics = dst->n_types = dst->n_publish = 0;
	dst->province_topics = NULL;
	dst->n_province_topics = 0;
	if ((dst->name = strdup(src->name)) == NULL)
		goto fail;
	if ((rc = reg_strv_dup(src->topics, src->n_topics, &dst->topics)) != 0)
		goto fail;
	dst->n_topics = src->n_topics;
	if ((rc = reg_strv_dup(src->allowed_types, src->n_types, &dst->allowed_types)) != 0)
		goto fail;
	dst->n_types = src->n_types;
	if ((rc = reg_strv_dup(src->publish, src->n_publish, &dst->publish)) != 0)
		goto fail;
	dst->n_publish = src->n_publish;
	rc = reg_strv_dup(src->province_topics, src->n_province_topics, &dst->province_topics);
	if (rc != 0)
		goto fail;
	dst->n_province_topics = src->n_province_topics;
	return 0;
fail:
	reg_node_clear(dst);
	return rc;
}

/* "*", "prefix.*" or an exact message type. */
static int reg_type_pattern_valid(const char *p)
{
	if (p == NULL)
		return 0;
	if (strcmp(p, "*") == 0)
		return 1;
	size_t n = strlen(p);
	if (n >= 3 && p[n - 2] == '.' && p[n - 1] == '*') {
		char prefix[REG_TYPE_PATTERN_MAX];
		if (n - 2 >= sizeof(prefix))
			return 0;
		memcpy(prefix, p, n - 2);
		prefix[n - 2] = '\0';
		return os_type_valid(prefix) == 0;
	}
	return os_type_valid(p) == 0;
}

/* Check one node's fields. Name syntax errors are OS_ENAME; everything
 * else is `bad` (OS_EDECODE for a parsed registry, OS_EINVAL for an
 * edit). *what names the failing field for the log. */
static int reg_node_check(const struct reg_node *n, int bad, const char **what)
{
	*what = "name";
	if (os_name_valid(n->name) != 0)
		return OS_ENAME;
	*what = "roles";
	if (n->roles &
	    ~(unsigned)(REG_ROLE_HUB | REG_ROLE_SPOKE | REG_ROLE_IDP | REG_ROLE_SUPERVISOR))
		return bad;
	*what = "status";
	if (n->status != REG_ACTIVE && n->status != REG_SUSPENDED && n->status != REG_REVOKED)
		return bad;
	*what = "list_size";
	if (n->n_topics > REG_MAX_LIST || n->n_types > REG_MAX_LIST ||
	    n->n_publish > REG_MAX_LIST || n->n_province_topics > REG_MAX_LIST)
		return bad;
	*what = "topic";
	for (size_t i = 0; i < n->n_topics; i++)
		if (os_name_valid(n->topics[i]) != 0)
			return OS_ENAME;
	*what = "province_topic";
	for (size_t i = 0; i < n->n_province_topics; i++)
		if (os_name_valid(n->province_topics[i]) != 0)
			return OS_ENAME;
	*what = "publish";
	for (size_t i = 0; i < n->n_publish; i++)
		if (os_name_valid(n->publish[i]) != 0)
			return OS_ENAME;
	*what = "allowed_type";
	for (size_t i = 0; i < n->n_types; i++)
		if (!reg_type_pattern_valid(n->allowed_types[i]))
			return bad;
	*what = NULL;
	return 0;
}

/* ---------------------------------------------------------------- indexes */

static int reg_cmp_node(const void *a, const void *b)
{
	return strcmp(((const struct reg_node *)a)->name, ((const struct reg_node *)b)->name);
}

static int reg_cmp_box(const void *a, const void *b)
{
	return memcmp(((const struct reg_box *)a)->pk, ((const struct reg_box *)b)->pk,
		      sizeof(os_box_pk));
}

/* Sort nodes by name and rebuild the box-key index; names and box keys
 * must be unique (else `dup`, with *what set). */
static int reg_reindex(struct reg_impl *ri, int dup, const char **what)
{
	struct registry *r = &ri->pub;
	size_t n = r->n_nodes;
	if (n > 1)
		qsort(r->nodes, n, sizeof(struct reg_node), reg_cmp_node);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(r->nodes[i - 1].name, r->nodes[i].name) == 0) {
			*what = "duplicate_name";
			return dup;
		}
	}
	struct reg_box *idx = NULL;
	if (n > 0) {
		idx = malloc(n * sizeof(*idx));
		if (idx == NULL)
			return OS_ENOMEM;
		for (size_t i = 0; i < n; i++) {
			memcpy(idx[i].pk, r->nodes[i].box_pk, sizeof(os_box_pk));
			idx[i].idx = i;
		}
		qsort(idx, n, sizeof(*idx), reg_cmp_box);
		/* One transport key names one node: the ZAP handler maps a key
		 * to exactly one identity. */
		for (size_t i = 1; i < n; i++) {
			if (memcmp(idx[i - 1].pk, idx[i].pk, sizeof(os_box_pk)) == 0) {
				free(idx);
				*what = "duplicate_box_key";
				return dup;
			}
		}
	}
	free(ri->by_box);
	ri->by_box = idx;
	return 0;
}

/* ---------------------------------------------------------------- parse */

static int reg_alloc(struct reg_impl **out)
{
	static uint64_t serial;
	struct reg_impl *ri = calloc(1, sizeof(*ri));
	if (ri == NULL)
		return OS_ENOMEM;
	ri->pub.serial = __atomic_add_fetch(&serial, 1, __ATOMIC_RELAXED);
	ri->pub.prefix = strdup("");
	ri->pub.hub = strdup("");
	if (ri->pub.prefix == NULL || ri->pub.hub == NULL) {
		free(ri->pub.prefix);
		free(ri->pub.hub);
		free(ri);
		return OS_ENOMEM;
	}
	*out = ri;
	return 0;
}

static void reg_dataset_clear(struct reg_dataset *d)
{
	free(d->name);
	free(d->scope);
	free(d->sequencer);
	memset(d, 0, sizeof(*d));
}

static void reg_delegation_clear(struct reg_delegation *d)
{
	free(d->prefix);
	free(d->hub);
	free(d->by);
	memset(d, 0, sizeof(*d));
}

static void reg_parts_clear(struct registry *r)
{
	for (size_t i = 0; i < r->n_parts; i++) {
		free(r->parts[i].prefix);
		free(r->parts[i].signed_bytes);
	}
	free(r->parts);
	r->parts = NULL;
	r->n_parts = 0;
}

void registry_free(struct registry **rp)
{
	if (rp == NULL || *rp == NULL)
		return;
	struct reg_impl *ri = (struct reg_impl *)*rp;
	struct registry *r = &ri->pub;
	for (size_t i = 0; i < r->n_nodes; i++)
		reg_node_clear(&r->nodes[i]);
	free(r->nodes);
	for (size_t i = 0; i < r->n_datasets; i++)
		reg_dataset_clear(&r->datasets[i]);
	free(r->datasets);
	for (size_t i = 0; i < r->n_delegations; i++)
		reg_delegation_clear(&r->delegations[i]);
	free(r->delegations);
	reg_parts_clear(r);
	free(r->signed_bytes);
	free(r->prefix);
	free(r->hub);
	free(ri->by_box);
	free(ri);
	*rp = NULL;
}

int registry_new(struct registry **out)
{
	struct reg_impl *ri;
	int rc = reg_alloc(&ri);
	if (rc != 0)
		return rc;
	*out = &ri->pub;
	return 0;
}

/* Copy one protobuf node into n (zeroed), checking its encoding. */
static int reg_node_from_pb(struct reg_node *n, const Onestop__Node *pb, const char **what)
{
	*what = "list_size";
	if (pb->n_roles > REG_MAX_LIST || pb->n_topics > REG_MAX_LIST ||
	    pb->n_allowed_types > REG_MAX_LIST || pb->n_publish > REG_MAX_LIST ||
	    pb->n_province_topics > REG_MAX_LIST)
		return OS_EDECODE;
	*what = "name";
	if (pb->name == NULL || os_name_valid(pb->name) != 0)
		return OS_ENAME;
	*what = "roles";
	unsigned roles = 0;
	for (size_t i = 0; i < pb->n_roles; i++) {
		unsigned bit;
		if (registry_role_parse(pb->roles[i], &bit) != 0)
			return OS_EDECODE;
		roles |= bit;
	}
	*what = "sign_pk";
	if (pb->sign_pk.len != sizeof(os_sign_pk) || pb->sign_pk.data == NULL)
		return OS_EDECODE;
	*what = "box_pk";
	if (pb->box_pk.len != sizeof(os_box_pk) || pb->box_pk.data == NULL)
		return OS_EDECODE;
	*what = "status";
	if (pb->status < ONESTOP__NODE_STATUS__NODE_STATUS_ACTIVE ||
	    pb->status > ONESTOP__NODE_STATUS__NODE_STATUS_REVOKED)
		return OS_EDECODE;

	struct reg_node tmp = {
		.name = pb->name,
		.roles = roles,
		.key_version = pb->key_version,
		.status = (enum reg_status)pb->status,
		.n_topics = pb->n_topics,
		.topics = pb->topics,
		.n_types = pb->n_allowed_types,
		.allowed_types = pb->allowed_types,
		.n_publish = pb->n_publish,
		.publish = pb->publish,
		.n_province_topics = pb->n_province_topics,
		.province_topics = pb->province_topics,
	};
	memcpy(tmp.sign_pk, pb->sign_pk.data, sizeof(os_sign_pk));
	memcpy(tmp.box_pk, pb->box_pk.data, sizeof(os_box_pk));
	int rc = reg_node_check(&tmp, OS_EDECODE, what);
	if (rc != 0)
		return rc;
	return reg_node_copy(n, &tmp);
}

static int reg_cmp_dataset(const void *a, const void *b)
{
	return strcmp(((const struct reg_dataset *)a)->name, ((const struct reg_dataset *)b)->name);
}

static int reg_cmp_delegation(const void *a, const void *b)
{
	return strcmp(((const struct reg_delegation *)a)->prefix,
		      ((const struct reg_delegation *)b)->prefix);
}

/* name lies in the subtree of prefix ("" or NULL: any node name). */
static int reg_in(const char *name, const char *prefix)
{
	if (prefix == NULL || prefix[0] == '\0')
		return name != NULL && os_name_valid(name) == 0;
	return tree_in_prefix(name, prefix);
}

static const char *reg_str(const char *s)
{
	return s != NULL ? s : "";
}

/* One signed registry of a chain being assembled. */
struct reg_src {
	const Onestop__SignedRegistry *sr; /* borrowed */
	Onestop__Registry *pr;             /* unpacked from sr->registry, owned */
	int resolved;
	const char *dhub; /* the hub of the delegation naming it */
};

/* A name (or box key) and the part declaring it, for the checks of
 * uniqueness within a part (OS_EDECODE) and across parts (OS_EEXIST). */
struct reg_key {
	const char *name;
	const uint8_t *box;
	size_t part;
};

static int reg_cmp_key_name(const void *a, const void *b)
{
	return strcmp(((const struct reg_key *)a)->name, ((const struct reg_key *)b)->name);
}

static int reg_cmp_key_box(const void *a, const void *b)
{
	return memcmp(((const struct reg_key *)a)->box, ((const struct reg_key *)b)->box,
		      sizeof(os_box_pk));
}

static int reg_keys_unique(struct reg_key *k, size_t n, int by_box)
{
	if (n < 2)
		return 0;
	qsort(k, n, sizeof(*k), by_box ? reg_cmp_key_box : reg_cmp_key_name);
	for (size_t i = 1; i < n; i++) {
		int same = by_box ? reg_cmp_key_box(&k[i - 1], &k[i]) == 0
				  : reg_cmp_key_name(&k[i - 1], &k[i]) == 0;
		if (same)
			return k[i - 1].part == k[i].part ? OS_EDECODE : OS_EEXIST;
	}
	return 0;
}

/* The rules of one registry of a chain, before its contents are copied:
 * a delegated one (prefix set) holds only names inside its prefix and
 * names no hub; every delegation lies strictly inside the prefix, names a
 * hub inside itself, and none overlaps another. */
static int reg_part_check(const Onestop__Registry *pr, const char **what)
{
	const char *prefix = reg_str(pr->prefix);
	int national = prefix[0] == '\0';

	*what = "node_count";
	if (pr->n_nodes > REG_MAX_NODES)
		return OS_EDECODE;
	*what = "dataset_count";
	if (pr->n_datasets > REG_MAX_DATASETS)
		return OS_EDECODE;
	*what = "delegation_count";
	if (pr->n_delegations > REG_MAX_DELEGATIONS)
		return OS_EDECODE;
	*what = "prefix";
	if (!national && os_name_valid(prefix) != 0)
		return OS_ENAME;
	*what = "hub";
	if (!national && reg_str(pr->hub)[0] != '\0')
		return OS_EDECODE;
	if (national && reg_str(pr->hub)[0] != '\0' && os_name_valid(pr->hub) != 0)
		return OS_ENAME;
	*what = "node_outside_prefix";
	for (size_t i = 0; i < pr->n_nodes; i++) {
		if (pr->nodes[i] == NULL)
			return OS_EDECODE;
		if (!national && pr->nodes[i]->name != NULL && !reg_in(pr->nodes[i]->name, prefix))
			return OS_ENAME;
	}
	*what = "dataset_outside_prefix";
	for (size_t i = 0; i < pr->n_datasets; i++) {
		if (pr->datasets[i] == NULL)
			return OS_EDECODE;
		if (!national && pr->datasets[i]->name != NULL &&
		    !reg_in(pr->datasets[i]->name, prefix))
			return OS_ENAME;
	}
	const char *kids[REG_MAX_DELEGATIONS];
	for (size_t i = 0; i < pr->n_delegations; i++) {
		const Onestop__Delegation *d = pr->delegations[i];
		*what = "delegation";
		if (d == NULL)
			return OS_EDECODE;
		*what = "delegation_prefix";
		if (d->prefix == NULL || !reg_in(d->prefix, prefix) ||
		    strcmp(d->prefix, prefix) == 0)
			return OS_ENAME;
		*what = "delegation_root_pk";
		if (d->root_pk.len != sizeof(os_sign_pk) || d->root_pk.data == NULL)
			return OS_EDECODE;
		*what = "delegation_hub";
		if (d->hub == NULL || !tree_in_prefix(d->hub, d->prefix))
			return OS_ENAME;
		kids[i] = d->prefix;
	}
	*what = "delegation_overlap";
	if (tree_check_children(prefix, kids, pr->n_delegations, NULL, NULL) != 0)
		return OS_EDECODE;
	*what = NULL;
	return 0;
}

/* Pack a SignedRegistry of registry/signature (either may be empty) with
 * the chain deleg[0..n). *out is malloc'd. */
static int reg_pack_signed(ProtobufCBinaryData reg, ProtobufCBinaryData sig,
			   Onestop__SignedRegistry **deleg, size_t n, uint8_t **out, size_t *len)
{
	Onestop__SignedRegistry sr = ONESTOP__SIGNED_REGISTRY__INIT;
	sr.registry = reg;
	sr.signature = sig;
	sr.n_delegated = n;
	sr.delegated = deleg;
	size_t l = onestop__signed_registry__get_packed_size(&sr);
	if (l > REG_MAX_BYTES)
		return OS_ETOOBIG;
	uint8_t *b = malloc(l > 0 ? l : 1);
	if (b == NULL)
		return OS_ENOMEM;
	onestop__signed_registry__pack(&sr, b);
	*out = b;
	*len = l;
	return 0;
}

/* The part whose prefix is prefix among idx[0..n) (sorted by name: the
 * parts' prefixes); SIZE_MAX when none. */
static size_t reg_find_src(const struct reg_key *idx, size_t n, const char *prefix)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(prefix, idx[mid].name);
		if (c == 0)
			return idx[mid].part;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SIZE_MAX;
}

/* Assemble a merged registry from the signed registries src[0..n): src[0]
 * the national one (or a lone delegated one), checked by the caller;
 * src[1..n) delegated ones, each resolved through a delegation of a part
 * resolved before it and, with check_sigs, verified under its root key.
 * Parts no delegation names are OS_ENOTALLOWED, or left out with
 * drop_orphans. whole (may be NULL) becomes signed_bytes when src[0] is
 * the only part; otherwise the chain is packed anew. */
static int reg_build(struct reg_src *src, size_t n, const uint8_t *whole, size_t whole_len,
		     int check_sigs, uint64_t now_ms, int drop_orphans, struct reg_impl **out,
		     const char **what, size_t *at)
{
	int rc;
	size_t *order = NULL, n_order = 0;
	struct reg_key *idx = NULL, *keys = NULL;
	struct reg_impl *ri = NULL;
	Onestop__SignedRegistry *subs = NULL, **subp = NULL;

	*at = 0;
	*what = "part_count";
	if (n == 0 || n > REG_MAX_PARTS)
		return OS_EDECODE;
	for (size_t i = 0; i < n; i++) {
		*at = i;
		*what = "registry";
		src[i].pr = onestop__registry__unpack(NULL, src[i].sr->registry.len,
						      src[i].sr->registry.data);
		if (src[i].pr == NULL)
			return OS_EDECODE;
		if ((rc = reg_part_check(src[i].pr, what)) != 0)
			return rc;
		*what = "part_prefix";
		if (i > 0 && reg_str(src[i].pr->prefix)[0] == '\0')
			return OS_EDECODE;
	}
	*at = 0;
	idx = calloc(n, sizeof(*idx));
	order = calloc(n, sizeof(*order));
	if (idx == NULL || order == NULL) {
		rc = OS_ENOMEM;
		goto out;
	}
	for (size_t i = 1; i < n; i++)
		idx[i - 1] = (struct reg_key){reg_str(src[i].pr->prefix), NULL, i};
	qsort(idx, n - 1, sizeof(*idx), reg_cmp_key_name);
	*what = "duplicate_part";
	for (size_t i = 1; i + 1 < n; i++) {
		if (strcmp(idx[i - 1].name, idx[i].name) == 0) {
			rc = OS_EDECODE;
			goto out;
		}
	}
	/* Resolve from the root down: each delegation of a resolved part
	 * names the part of its prefix. */
	src[0].resolved = 1;
	src[0].dhub = reg_str(src[0].pr->hub);
	order[n_order++] = 0;
	for (size_t k = 0; k < n_order; k++) {
		const Onestop__Registry *pr = src[order[k]].pr;
		for (size_t d = 0; d < pr->n_delegations; d++) {
			const Onestop__Delegation *dl = pr->delegations[d];
			size_t j = reg_find_src(idx, n - 1, dl->prefix);
			if (j == SIZE_MAX || src[j].resolved)
				continue;
			*at = j;
			*what = "part_signature";
			if (check_sigs &&
			    crypto_verify(src[j].sr->signature.data, REG_CTX,
					  src[j].sr->registry.data, src[j].sr->registry.len,
					  dl->root_pk.data) != 0) {
				rc = OS_EBADSIG;
				goto out;
			}
			src[j].resolved = 1;
			src[j].dhub = dl->hub;
			order[n_order++] = j;
		}
	}
	for (size_t i = 1; i < n; i++) {
		if (src[i].resolved)
			continue;
		*at = i;
		*what = "undelegated_part";
		if (!drop_orphans) {
			rc = OS_ENOTALLOWED;
			goto out;
		}
		os_log(OS_LOG_INFO, "registry_part_dropped", "prefix=%s",
		       OS_Q(reg_str(src[i].pr->prefix)));
	}
	/* Parts in their published order: the root, then by prefix (idx is
	 * sorted so). */
	n_order = 1;
	for (size_t i = 0; i + 1 < n; i++)
		if (src[idx[i].part].resolved)
			order[n_order++] = idx[i].part;

	if ((rc = reg_alloc(&ri)) != 0)
		goto out;
	struct registry *r = &ri->pub;
	size_t n_nodes = 0, n_ds = 0, n_dl = 0;
	for (size_t k = 0; k < n_order; k++) {
		const Onestop__Registry *pr = src[order[k]].pr;
		*at = order[k];
		*what = "expires_ms";
		if (now_ms != 0 && pr->expires_ms <= now_ms) {
			rc = OS_EEXPIRED;
			goto out;
		}
		*what = "version";
		if (r->version + pr->version < r->version) {
			rc = OS_EDECODE;
			goto out;
		}
		r->version += pr->version;
		if (k == 0 || pr->expires_ms < r->expires_ms)
			r->expires_ms = pr->expires_ms;
		n_nodes += pr->n_nodes;
		n_ds += pr->n_datasets;
		n_dl += pr->n_delegations;
	}
	*at = 0;
	*what = "node_count";
	if (n_nodes > REG_MAX_NODES) {
		rc = OS_EDECODE;
		goto out;
	}
	r->issued_ms = src[0].pr->issued_ms;
	rc = OS_ENOMEM;
	free(r->prefix);
	free(r->hub);
	r->prefix = strdup(reg_str(src[0].pr->prefix));
	r->hub = strdup(reg_str(src[0].pr->hub));
	if (r->prefix == NULL || r->hub == NULL)
		goto out;
	if (n_nodes > 0 && (r->nodes = calloc(n_nodes, sizeof(*r->nodes))) == NULL)
		goto out;
	if (n_ds > 0 && (r->datasets = calloc(n_ds, sizeof(*r->datasets))) == NULL)
		goto out;
	if (n_dl > 0 && (r->delegations = calloc(n_dl, sizeof(*r->delegations))) == NULL)
		goto out;
	if ((r->parts = calloc(n_order, sizeof(*r->parts))) == NULL)
		goto out;
	size_t n_keys = n_nodes > n_ds ? n_nodes : n_ds;
	n_keys = n_keys > n_dl ? n_keys : n_dl;
	if (n_keys > 0 && (keys = calloc(n_keys, sizeof(*keys))) == NULL)
		goto out;

	/* Nodes: every name and transport key once in the chain. */
	for (size_t k = 0; k < n_order; k++) {
		const Onestop__Registry *pr = src[order[k]].pr;
		for (size_t i = 0; i < pr->n_nodes; i++) {
			*at = i;
			if ((rc = reg_node_from_pb(&r->nodes[r->n_nodes], pr->nodes[i], what)) != 0)
				goto out;
			keys[r->n_nodes].name = r->nodes[r->n_nodes].name;
			keys[r->n_nodes].box = r->nodes[r->n_nodes].box_pk;
			keys[r->n_nodes].part = k;
			r->n_nodes++;
		}
	}
	*at = 0;
	*what = "duplicate_name";
	if ((rc = reg_keys_unique(keys, r->n_nodes, 0)) != 0)
		goto out;
	*what = "duplicate_box_key";
	if ((rc = reg_keys_unique(keys, r->n_nodes, 1)) != 0)
		goto out;
	if ((rc = reg_reindex(ri, OS_EDECODE, what)) != 0)
		goto out;

	/* Datasets: scoped by their part, sequenced by its hub. */
	for (size_t k = 0; k < n_order; k++) {
		const struct reg_src *s = &src[order[k]];
		for (size_t i = 0; i < s->pr->n_datasets; i++) {
			const Onestop__Dataset *d = s->pr->datasets[i];
			struct reg_dataset *rd = &r->datasets[r->n_datasets];
			*what = "dataset_name";
			if (d->name == NULL || os_name_valid(d->name) != 0) {
				rc = OS_ENAME;
				goto out;
			}
			*what = "dataset_mode";
			if (d->mode != ONESTOP__DATASET_MODE__DATASET_MODE_FULL &&
			    d->mode != ONESTOP__DATASET_MODE__DATASET_MODE_CACHED) {
				rc = OS_EDECODE;
				goto out;
			}
			rc = OS_ENOMEM;
			rd->name = strdup(d->name);
			rd->scope = strdup(reg_str(s->pr->prefix));
			rd->sequencer = strdup(s->dhub);
			r->n_datasets++;
			if (rd->name == NULL || rd->scope == NULL || rd->sequencer == NULL)
				goto out;
			rd->mode = (enum reg_ds_mode)d->mode;
			keys[r->n_datasets - 1] = (struct reg_key){rd->name, NULL, k};
		}
	}
	*what = "duplicate_dataset";
	if ((rc = reg_keys_unique(keys, r->n_datasets, 0)) != 0)
		goto out;
	if (r->n_datasets > 1)
		qsort(r->datasets, r->n_datasets, sizeof(*r->datasets), reg_cmp_dataset);

	/* Delegations: one per prefix in the chain. */
	for (size_t k = 0; k < n_order; k++) {
		const struct reg_src *s = &src[order[k]];
		for (size_t i = 0; i < s->pr->n_delegations; i++) {
			const Onestop__Delegation *d = s->pr->delegations[i];
			struct reg_delegation *rd = &r->delegations[r->n_delegations++];
			rd->prefix = strdup(d->prefix);
			rd->hub = strdup(d->hub);
			rd->by = strdup(reg_str(s->pr->prefix));
			if (rd->prefix == NULL || rd->hub == NULL || rd->by == NULL) {
				rc = OS_ENOMEM;
				goto out;
			}
			memcpy(rd->root_pk, d->root_pk.data, sizeof(os_sign_pk));
			keys[r->n_delegations - 1] = (struct reg_key){rd->prefix, NULL, k};
		}
	}
	*what = "duplicate_delegation";
	if ((rc = reg_keys_unique(keys, r->n_delegations, 0)) != 0)
		goto out;
	if (r->n_delegations > 1)
		qsort(r->delegations, r->n_delegations, sizeof(*r->delegations),
		      reg_cmp_delegation);

	/* The parts, each packed alone, and the whole chain. */
	*what = NULL;
	for (size_t k = 0; k < n_order; k++) {
		const struct reg_src *s = &src[order[k]];
		struct reg_part *p = &r->parts[r->n_parts++];
		p->version = s->pr->version;
		p->issued_ms = s->pr->issued_ms;
		p->expires_ms = s->pr->expires_ms;
		if ((p->prefix = strdup(reg_str(s->pr->prefix))) == NULL) {
			rc = OS_ENOMEM;
			goto out;
		}
		rc = reg_pack_signed(s->sr->registry, s->sr->signature, NULL, 0, &p->signed_bytes,
				     &p->signed_len);
		if (rc != 0)
			goto out;
	}
	if (n_order == 1 && whole != NULL) {
		rc = OS_ENOMEM;
		if ((r->signed_bytes = malloc(whole_len > 0 ? whole_len : 1)) == NULL)
			goto out;
		if (whole_len > 0)
			memcpy(r->signed_bytes, whole, whole_len);
		r->signed_len = whole_len;
	} else {
		rc = OS_ENOMEM;
		subs = calloc(n_order, sizeof(*subs));
		subp = calloc(n_order, sizeof(*subp));
		if (subs == NULL || subp == NULL)
			goto out;
		for (size_t k = 1; k < n_order; k++) {
			Onestop__SignedRegistry init = ONESTOP__SIGNED_REGISTRY__INIT;
			subs[k] = init;
			subs[k].registry = src[order[k]].sr->registry;
			subs[k].signature = src[order[k]].sr->signature;
			subp[k - 1] = &subs[k];
		}
		rc = reg_pack_signed(src[0].sr->registry, src[0].sr->signature, subp, n_order - 1,
				     &r->signed_bytes, &r->signed_len);
		*what = "chain_size";
		if (rc != 0)
			goto out;
	}
	*out = ri;
	ri = NULL;
	rc = 0;
out:
	if (ri != NULL) {
		struct registry *tmp = &ri->pub;
		registry_free(&tmp);
	}
	free(subp);
	free(subs);
	free(keys);
	free(order);
	free(idx);
	return rc;
}

static void reg_src_free(struct reg_src *src, size_t n)
{
	if (src == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		if (src[i].pr != NULL)
			onestop__registry__free_unpacked(src[i].pr, NULL);
	free(src);
}

static void reg_log_refused(int rc, const char *what, size_t at)
{
	/* A delegated registry read with an anchor is a caller's question
	 * (was it signed by this key?), not a refusal worth a warning. */
	int lone = rc == OS_ENOTALLOWED && what != NULL && strcmp(what, "prefix") == 0;
	if (rc != 0 && rc != OS_ENOMEM)
		os_log(lone ? OS_LOG_DEBUG : OS_LOG_WARN, "registry_rejected",
		       "error=%s field=%s index=%zu", os_errname(rc), what ? what : "-", at);
}

int registry_parse(const uint8_t *buf, size_t len, const os_sign_pk anchor, uint64_t now_ms,
		   struct registry **out)
{
	int rc;
	const char *what = NULL;
	size_t at = 0;
	Onestop__SignedRegistry *sr = NULL;
	Onestop__Registry *pr = NULL;
	struct reg_src *src = NULL;
	size_t n_src = 0;
	struct reg_impl *ri = NULL;

	if (buf == NULL && len > 0)
		return OS_EINVAL;
	if (out == NULL)
		return OS_EINVAL;
	if (len > REG_MAX_BYTES) {
		what = "size";
		rc = OS_ETOOBIG;
		goto out;
	}
	sr = onestop__signed_registry__unpack(NULL, len, buf);
	if (sr == NULL) {
		what = "signed_registry";
		rc = OS_EDECODE;
		goto out;
	}
	what = "signature";
	rc = OS_EDECODE;
	if (sr->signature.len != sizeof(os_sig))
		goto out;
	what = "part_count";
	if (sr->n_delegated >= REG_MAX_PARTS)
		goto out;
	for (at = 0; at < sr->n_delegated; at++) {
		const Onestop__SignedRegistry *d = sr->delegated[at];
		what = "part";
		if (d == NULL || d->n_delegated > 0)
			goto out;
		what = "part_signature";
		if (d->signature.len != sizeof(os_sig))
			goto out;
	}
	at = 0;
	if (anchor != NULL && crypto_verify(sr->signature.data, REG_CTX, sr->registry.data,
					    sr->registry.len, anchor) != 0) {
		what = "signature";
		rc = OS_EBADSIG;
		goto out;
	}
	/* A delegated registry alone is only read for editing or showing:
	 * no anchor verifies it. */
	pr = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data);
	if (pr == NULL) {
		what = "registry";
		rc = OS_EDECODE;
		goto out;
	}
	if (reg_str(pr->prefix)[0] != '\0') {
		what = "prefix";
		rc = sr->n_delegated > 0 ? OS_EDECODE : anchor != NULL ? OS_ENOTALLOWED : 0;
		if (rc != 0)
			goto out;
	}
	n_src = 1 + sr->n_delegated;
	if ((src = calloc(n_src, sizeof(*src))) == NULL) {
		rc = OS_ENOMEM;
		goto out;
	}
	src[0].sr = sr;
	for (size_t i = 0; i < sr->n_delegated; i++)
		src[1 + i].sr = sr->delegated[i];
	rc = reg_build(src, n_src, buf, len, anchor != NULL, now_ms, 0, &ri, &what, &at);
	if (rc != 0)
		goto out;
	*out = &ri->pub;
	rc = 0;
out:
	reg_log_refused(rc, what, at);
	reg_src_free(src, n_src);
	if (pr != NULL)
		onestop__registry__free_unpacked(pr, NULL);
	if (sr != NULL)
		onestop__signed_registry__free_unpacked(sr, NULL);
	return rc;
}

int registry_load(const char *path, const os_sign_pk anchor, uint64_t now_ms, struct registry **out)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = os_read_file(path, REG_MAX_BYTES, &buf, &len);
	if (rc != 0) {
		os_log(OS_LOG_ERROR, "registry_unreadable", "path=%s error=%s", path,
		       os_errname(rc));
		return rc == OS_ETOOBIG || rc == OS_ENOMEM ? rc : OS_EIO;
	}
	rc = registry_parse(buf, len, anchor, now_ms, out);
	free(buf);
	return rc;
}

/* ---------------------------------------------------------------- edit */

/* An edited registry no longer matches its old signed bytes. */
static void reg_drop_signed(struct registry *r)
{
	free(r->signed_bytes);
	r->signed_bytes = NULL;
	r->signed_len = 0;
}

int registry_add(struct registry *r, const struct reg_node *node)
{
	const char *what;
	if (r == NULL || node == NULL)
		return OS_EINVAL;
	int rc = reg_node_check(node, OS_EINVAL, &what);
	if (rc != 0)
		return rc;
	if (!reg_in(node->name, r->prefix))
		return OS_ENAME;
	if (registry_find(r, node->name) != NULL)
		return OS_EEXIST;
	if (registry_find_box(r, node->box_pk) != NULL)
		return OS_EEXIST;
	if (r->n_nodes >= REG_MAX_NODES)
		return OS_EFULL;
	struct reg_node *nodes = realloc(r->nodes, (r->n_nodes + 1) * sizeof(struct reg_node));
	if (nodes == NULL)
		return OS_ENOMEM;
	r->nodes = nodes;
	memset(&nodes[r->n_nodes], 0, sizeof(struct reg_node));
	if ((rc = reg_node_copy(&nodes[r->n_nodes], node)) != 0)
		return rc;
	r->n_nodes++;
	rc = reg_reindex((struct reg_impl *)r, OS_EEXIST, &what);
	if (rc != 0) {
		/* Cannot happen after the checks above, except out of memory:
		 * take the new node out again. */
		for (size_t i = 0; i < r->n_nodes; i++) {
			if (strcmp(r->nodes[i].name, node->name) == 0) {
				reg_node_clear(&r->nodes[i]);
				memmove(&r->nodes[i], &r->nodes[i + 1],
					(r->n_nodes - i - 1) * sizeof(struct reg_node));
				break;
			}
		}
		r->n_nodes--;
		return rc;
	}
	reg_drop_signed(r);
	return 0;
}

int registry_set_status(struct registry *r, const char *name, enum reg_status st)
{
	if (st != REG_ACTIVE && st != REG_SUSPENDED && st != REG_REVOKED)
		return OS_EINVAL;
	struct reg_node *n = (struct reg_node *)registry_find(r, name);
	if (n == NULL)
		return OS_ENOTFOUND;
	n->status = st;
	reg_drop_signed(r);
	return 0;
}

int registry_set_dataset(struct registry *r, const char *name, enum reg_ds_mode mode)
{
	if (r == NULL || name == NULL)
		return OS_EINVAL;
	if (os_name_valid(name) != 0)
		return OS_ENAME;
	if (!reg_in(name, r->prefix))
		return OS_ENAME;
	if (mode != REG_DS_FULL && mode != REG_DS_CACHED)
		return OS_EINVAL;
	struct reg_dataset *d = (struct reg_dataset *)registry_find_dataset(r, name);
	if (d != NULL) {
		if (d->mode != mode) {
			d->mode = mode;
			reg_drop_signed(r);
		}
		return 0;
	}
	if (r->n_datasets >= REG_MAX_DATASETS)
		return OS_EFULL;
	struct reg_dataset nd = {
		.name = strdup(name),
		.mode = mode,
		.scope = strdup(reg_str(r->prefix)),
		.sequencer = strdup(reg_str(r->prefix)[0] == '\0' ? reg_str(r->hub) : ""),
	};
	struct reg_dataset *v = NULL;
	if (nd.name != NULL && nd.scope != NULL && nd.sequencer != NULL)
		v = realloc(r->datasets, (r->n_datasets + 1) * sizeof(struct reg_dataset));
	if (v == NULL) {
		reg_dataset_clear(&nd);
		return OS_ENOMEM;
	}
	r->datasets = v;
	/* Insert in place to keep the list sorted for the binary search. */
	size_t at = 0;
	while (at < r->n_datasets && strcmp(v[at].name, name) < 0)
		at++;
	memmove(&v[at + 1], &v[at], (r->n_datasets - at) * sizeof(struct reg_dataset));
	v[at] = nd;
	r->n_datasets++;
	reg_drop_signed(r);
	return 0;
}

const struct reg_dataset *registry_find_dataset(const struct registry *r, const char *name)
{
	if (r == NULL || name == NULL)
		return NULL;
	size_t lo = 0, hi = r->n_datasets;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, r->datasets[mid].name);
		if (c == 0)
			return &r->datasets[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int registry_may_publish(const struct reg_node *n, const char *dataset)
{
	if (n == NULL || dataset == NULL)
		return 0;
	for (size_t i = 0; i < n->n_publish; i++)
		if (n->publish[i] != NULL && strcmp(n->publish[i], dataset) == 0)
			return 1;
	return 0;
}

int registry_sign(struct registry *r, const os_sign_sk root_sk, const uint8_t **out, size_t *len)
{
	int rc = OS_ENOMEM;
	Onestop__Node *pbn = NULL;
	Onestop__Node **pbp = NULL;
	char **roles = NULL;
	Onestop__Dataset *pbd = NULL;
	Onestop__Dataset **pbdp = NULL;
	Onestop__Delegation *pbg = NULL;
	Onestop__Delegation **pbgp = NULL;
	uint8_t *reg_buf = NULL, *signed_buf = NULL, *part_buf = NULL;
	char *part_prefix = NULL;
	os_sig sig;

	/* One registry is signed at a time: a merged chain has no one key. */
	if (r == NULL || root_sk == NULL || r->n_parts > 1)
		return OS_EINVAL;
	if (r->n_nodes > 0) {
		pbn = calloc(r->n_nodes, sizeof(*pbn));
		pbp = calloc(r->n_nodes, sizeof(*pbp));
		roles = calloc(r->n_nodes * REG_N_ROLES, sizeof(char *));
		if (pbn == NULL || pbp == NULL || roles == NULL)
			goto out;
	}
	for (size_t i = 0; i < r->n_nodes; i++) {
		struct reg_node *n = &r->nodes[i];
		Onestop__Node init = ONESTOP__NODE__INIT;
		pbn[i] = init;
		pbp[i] = &pbn[i];
		pbn[i].name = n->name;
		char **rv = roles + i * REG_N_ROLES;
		for (size_t k = 0; k < REG_N_ROLES; k++)
			if (n->roles & reg_roles[k].bit)
				rv[pbn[i].n_roles++] = (char *)reg_roles[k].name;
		pbn[i].roles = rv;
		pbn[i].sign_pk.data = n->sign_pk;
		pbn[i].sign_pk.len = sizeof(os_sign_pk);
		pbn[i].key_version = n->key_version;
		pbn[i].box_pk.data = n->box_pk;
		pbn[i].box_pk.len = sizeof(os_box_pk);
		pbn[i].status = (Onestop__NodeStatus)n->status;
		pbn[i].n_topics = n->n_topics;
		pbn[i].topics = n->topics;
		pbn[i].n_allowed_types = n->n_types;
		pbn[i].allowed_types = n->allowed_types;
		pbn[i].n_publish = n->n_publish;
		pbn[i].publish = n->publish;
		pbn[i].n_province_topics = n->n_province_topics;
		pbn[i].province_topics = n->province_topics;
	}
	if (r->n_datasets > 0) {
		pbd = calloc(r->n_datasets, sizeof(*pbd));
		pbdp = calloc(r->n_datasets, sizeof(*pbdp));
		if (pbd == NULL || pbdp == NULL)
			goto out;
	}
	for (size_t i = 0; i < r->n_datasets; i++) {
		Onestop__Dataset init = ONESTOP__DATASET__INIT;
		pbd[i] = init;
		pbd[i].name = r->datasets[i].name;
		pbd[i].mode = (Onestop__DatasetMode)r->datasets[i].mode;
		pbdp[i] = &pbd[i];
	}
	if (r->n_delegations > 0) {
		pbg = calloc(r->n_delegations, sizeof(*pbg));
		pbgp = calloc(r->n_delegations, sizeof(*pbgp));
		if (pbg == NULL || pbgp == NULL)
			goto out;
	}
	for (size_t i = 0; i < r->n_delegations; i++) {
		Onestop__Delegation init = ONESTOP__DELEGATION__INIT;
		pbg[i] = init;
		pbg[i].prefix = r->delegations[i].prefix;
		pbg[i].root_pk.data = r->delegations[i].root_pk;
		pbg[i].root_pk.len = sizeof(os_sign_pk);
		pbg[i].hub = r->delegations[i].hub;
		pbgp[i] = &pbg[i];
	}
	Onestop__Registry pr = ONESTOP__REGISTRY__INIT;
	pr.n_delegations = r->n_delegations;
	pr.delegations = pbgp;
	pr.prefix = (char *)reg_str(r->prefix);
	pr.hub = (char *)reg_str(r->hub);
	pr.version = r->version;
	pr.issued_ms = r->issued_ms;
	pr.expires_ms = r->expires_ms;
	pr.n_nodes = r->n_nodes;
	pr.nodes = pbp;
	pr.n_datasets = r->n_datasets;
	pr.datasets = pbdp;
	size_t reg_len = onestop__registry__get_packed_size(&pr);
	if (reg_len > REG_MAX_BYTES) {
		rc = OS_ETOOBIG;
		goto out;
	}
	reg_buf = malloc(reg_len > 0 ? reg_len : 1);
	if (reg_buf == NULL)
		goto out;
	onestop__registry__pack(&pr, reg_buf);
	crypto_sign(sig, REG_CTX, reg_buf, reg_len, root_sk);

	Onestop__SignedRegistry sr = ONESTOP__SIGNED_REGISTRY__INIT;
	sr.registry.data = reg_buf;
	sr.registry.len = reg_len;
	sr.signature.data = sig;
	sr.signature.len = sizeof(sig);
	size_t signed_len = onestop__signed_registry__get_packed_size(&sr);
	signed_buf = malloc(signed_len);
	part_buf = malloc(signed_len);
	part_prefix = strdup(reg_str(r->prefix));
	if (signed_buf == NULL || part_buf == NULL || part_prefix == NULL)
		goto out;
	if (r->parts == NULL && (r->parts = calloc(1, sizeof(*r->parts))) == NULL)
		goto out;
	onestop__signed_registry__pack(&sr, signed_buf);
	memcpy(part_buf, signed_buf, signed_len);
	/* The registry is now the one part of its chain. */
	free(r->parts[0].prefix);
	free(r->parts[0].signed_bytes);
	r->parts[0] = (struct reg_part){part_prefix,   r->version, r->issued_ms,
					r->expires_ms, part_buf,   signed_len};
	r->n_parts = 1;
	part_buf = NULL;
	part_prefix = NULL;
	free(r->signed_bytes);
	r->signed_bytes = signed_buf;
	r->signed_len = signed_len;
	signed_buf = NULL;
	if (out != NULL)
		*out = r->signed_bytes;
	if (len != NULL)
		*len = r->signed_len;
	rc = 0;
out:
	free(part_prefix);
	free(part_buf);
	free(pbgp);
	free(pbg);
	free(signed_buf);
	free(reg_buf);
	free(roles);
	free(pbdp);
	free(pbd);
	free(pbp);
	free(pbn);
	return rc;
}

/* ---------------------------------------------------------------- lookups */

const struct reg_node *registry_find(const struct registry *r, const char *name)
{
	if (r == NULL || name == NULL)
		return NULL;
	size_t lo = 0, hi = r->n_nodes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, r->nodes[mid].name);
		if (c == 0)
			return &r->nodes[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct reg_node *registry_find_box(const struct registry *r, const os_box_pk pk)
{
	if (r == NULL || pk == NULL)
		return NULL;
	const struct reg_impl *ri = (const struct reg_impl *)r;
	if (ri->by_box == NULL)
		return NULL;
	size_t lo = 0, hi = r->n_nodes;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(pk, ri->by_box[mid].pk, sizeof(os_box_pk));
		if (c == 0)
			return &r->nodes[ri->by_box[mid].idx];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int registry_node_active(const struct reg_node *n)
{
	return n != NULL && n->status == REG_ACTIVE;
}

const struct reg_node *registry_active_node(const struct registry *r, const char *name)
{
	const struct reg_node *n = r != NULL && name != NULL ? registry_find(r, name) : NULL;

	return registry_node_active(n) ? n : NULL;
}

int registry_type_allowed(const struct reg_node *n, const char *type)
{
	if (n == NULL || type == NULL)
		return 0;
	size_t tl = strlen(type);
	for (size_t i = 0; i < n->n_types; i++) {
		const char *p = n->allowed_types[i];
		size_t pl = strlen(p);
		if (strcmp(p, "*") == 0)
			return 1;
		if (pl >= 2 && p[pl - 2] == '.' && p[pl - 1] == '*') {
			/* "gov.*" allows "gov.x" but not "gov." nor "govx". */
			if (tl > pl - 1 && strncmp(type, p, pl - 1) == 0)
				return 1;
			continue;
		}
		if (strcmp(p, type) == 0)
			return 1;
	}
	return 0;
}

int registry_subscribes(const struct reg_node *n, const char *topic)
{
	if (n == NULL || topic == NULL)
		return 0;
	for (size_t i = 0; i < n->n_topics; i++)
		if (strcmp(n->topics[i], topic) == 0)
			return 1;
	return 0;
}

/* ------------------------------------------------------------ federation */

static const struct reg_delegation *reg_find_delegation(const struct registry *r,
							const char *prefix)
{
	size_t lo = 0, hi = r->n_delegations;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(prefix, r->delegations[mid].prefix);
		if (c == 0)
			return &r->delegations[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static const struct reg_part *reg_find_part(const struct registry *r, const char *prefix)
{
	for (size_t i = 0; i < r->n_parts; i++)
		if (strcmp(r->parts[i].prefix, prefix) == 0)
			return &r->parts[i];
	return NULL;
}

int registry_adopt_part(struct registry **rp, const uint8_t *part, size_t len, uint64_t now_ms)
{
	int rc = OS_EDECODE;
	const char *what = "signed_registry";
	size_t at = 0, n_src = 0, n_held = 0;
	Onestop__SignedRegistry *sr = NULL, **held = NULL;
	Onestop__Registry *pr = NULL;
	struct reg_src *src = NULL;
	struct reg_impl *ri = NULL;

	if (rp == NULL || *rp == NULL || (part == NULL && len > 0))
		return OS_EINVAL;
	const struct registry *r = *rp;
	if (r->n_parts == 0 || r->parts[0].prefix[0] != '\0')
		return OS_EINVAL;
	if (len > REG_MAX_BYTES)
		goto out;
	if ((sr = onestop__signed_registry__unpack(NULL, len, part)) == NULL)
		goto out;
	what = "part";
	if (sr->n_delegated > 0 || sr->signature.len != sizeof(os_sig))
		goto out;
	what = "registry";
	if ((pr = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data)) == NULL)
		goto out;
	what = "undelegated_part";
	rc = OS_ENOTALLOWED;
	const struct reg_delegation *d = reg_find_delegation(r, reg_str(pr->prefix));
	if (reg_str(pr->prefix)[0] == '\0' || d == NULL)
		goto out;
	what = "part_signature";
	rc = OS_EBADSIG;
	if (crypto_verify(sr->signature.data, REG_CTX, sr->registry.data, sr->registry.len,
			  d->root_pk) != 0)
		goto out;
	if ((rc = reg_part_check(pr, &what)) != 0)
		goto out;
	what = "expires_ms";
	rc = OS_EEXPIRED;
	if (now_ms != 0 && pr->expires_ms <= now_ms)
		goto out;
	const struct reg_part *old = reg_find_part(r, pr->prefix);
	if (old != NULL && pr->version <= old->version) {
		rc = 0;
		goto out;
	}
	/* The chain again, with this part in place of the one held. */
	rc = OS_ENOMEM;
	n_src = r->n_parts + (old == NULL);
	src = calloc(n_src, sizeof(*src));
	held = calloc(r->n_parts, sizeof(*held));
	if (src == NULL || held == NULL)
		goto out;
	size_t k = 0;
	for (size_t i = 0; i < r->n_parts; i++) {
		if (&r->parts[i] == old)
			continue;
		what = "held_part";
		rc = OS_EDECODE;
		held[n_held] = onestop__signed_registry__unpack(NULL, r->parts[i].signed_len,
								r->parts[i].signed_bytes);
		if (held[n_held] == NULL)
			goto out;
		src[k++].sr = held[n_held++];
	}
	src[k++].sr = sr;
	rc = reg_build(src, k, NULL, 0, 1, 0, 1, &ri, &what, &at);
	if (rc != 0)
		goto out;
	registry_free(rp);
	*rp = &ri->pub;
	rc = 1;
out:
	reg_log_refused(rc < 0 ? rc : 0, what, at);
	reg_src_free(src, n_src);
	for (size_t i = 0; i < n_held; i++)
		onestop__signed_registry__free_unpacked(held[i], NULL);
	free(held);
	if (pr != NULL)
		onestop__registry__free_unpacked(pr, NULL);
	if (sr != NULL)
		onestop__signed_registry__free_unpacked(sr, NULL);
	return rc;
}

int registry_compare(const struct registry *held, const struct registry *offered)
{
	int newer = 0;
	if (held == NULL || offered == NULL)
		return held == NULL && offered != NULL ? 1 : 0;
	/* Registries edited but never signed have no parts: by version. */
	if (held->n_parts == 0 || offered->n_parts == 0)
		return offered->version < held->version ? -1 : offered->version > held->version;
	for (size_t i = 0; i < offered->n_parts; i++) {
		const struct reg_part *o = &offered->parts[i];
		const struct reg_part *h = reg_find_part(held, o->prefix);
		if (h != NULL && o->version < h->version)
			return -1;
		if (h == NULL || o->version > h->version)
			newer = 1;
	}
	return newer;
}

int registry_pack_parts(const struct registry *r, const char *prefix, uint8_t **out, size_t *len)
{
	int rc = OS_ENOMEM;
	size_t n = 0;
	Onestop__SignedRegistry **subs = NULL;

	if (r == NULL || out == NULL || len == NULL)
		return OS_EINVAL;
	if (r->n_parts > 1 && (subs = calloc(r->n_parts, sizeof(*subs))) == NULL)
		return OS_ENOMEM;
	for (size_t i = 1; i < r->n_parts; i++) {
		const struct reg_part *p = &r->parts[i];
		if (reg_str(prefix)[0] != '\0' && !tree_in_prefix(p->prefix, prefix))
			continue;
		subs[n] = onestop__signed_registry__unpack(NULL, p->signed_len, p->signed_bytes);
		if (subs[n] == NULL)
			goto out;
		n++;
	}
	rc = OS_ENOTFOUND;
	if (n == 0)
		goto out;
	ProtobufCBinaryData empty = {0, NULL};
	rc = reg_pack_signed(empty, empty, subs, n, out, len);
	if (rc == OS_ETOOBIG)
		rc = OS_ENOMEM;
out:
	for (size_t i = 0; i < n; i++)
		onestop__signed_registry__free_unpacked(subs[i], NULL);
	free(subs);
	return rc;
}

const char *registry_hub_prefix(const struct registry *r, const char *hub)
{
	if (r == NULL || hub == NULL)
		return NULL;
	if (r->hub != NULL && r->hub[0] != '\0' && strcmp(r->hub, hub) == 0)
		return "";
	for (size_t i = 0; i < r->n_delegations; i++)
		if (strcmp(r->delegations[i].hub, hub) == 0)
			return r->delegations[i].prefix;
	if (r->n_delegations == 0) {
		const struct reg_node *n = registry_find(r, hub);
		if (n != NULL && (n->roles & REG_ROLE_HUB))
			return "";
	}
	return NULL;
}

/* d lies strictly inside prefix ("" the root: any delegation). */
static int reg_below(const char *name, const char *prefix)
{
	return reg_in(name, prefix) && strcmp(name, reg_str(prefix)) != 0;
}

size_t registry_children(const struct registry *r, const char *prefix,
			 const struct reg_delegation **out, size_t max)
{
	size_t n = 0;
	if (r == NULL)
		return 0;
	for (size_t i = 0; i < r->n_delegations; i++) {
		const struct reg_delegation *d = &r->delegations[i];
		if (!reg_below(d->prefix, prefix))
			continue;
		int nested = 0;
		for (size_t j = 0; j < r->n_delegations && !nested; j++)
			nested = j != i && reg_below(r->delegations[j].prefix, prefix) &&
				 reg_below(d->prefix, r->delegations[j].prefix);
		if (nested)
			continue;
		if (out != NULL && n < max)
			out[n] = d;
		n++;
	}
	return n;
}

const char *registry_province(const struct registry *r, const char *name)
{
	if (r == NULL || name == NULL)
		return "";
	for (size_t i = 0; i < r->n_delegations; i++) {
		const struct reg_delegation *d = &r->delegations[i];
		if (d->by[0] == '\0' && tree_in_prefix(name, d->prefix))
			return d->prefix;
	}
	return "";
}

int registry_dataset_visible(const struct registry *r, const struct reg_dataset *ds,
			     const char *node)
{
	(void)r;
	if (ds == NULL || node == NULL)
		return 0;
	return reg_str(ds->scope)[0] == '\0' || tree_in_prefix(node, ds->scope);
}

int registry_hears(const struct registry *r, const struct reg_node *subscriber, const char *topic,
		   const char *origin)
{
	if (subscriber == NULL || topic == NULL)
		return 0;
	if (registry_subscribes(subscriber, topic))
		return 1;
	if (origin == NULL)
		return 0;
	for (size_t i = 0; i < subscriber->n_province_topics; i++)
		if (strcmp(subscriber->province_topics[i], topic) == 0)
			return strcmp(registry_province(r, subscriber->name),
				      registry_province(r, origin)) == 0;
	return 0;
}

int registry_set_prefix(struct registry *r, const char *prefix)
{
	if (r == NULL || prefix == NULL)
		return OS_EINVAL;
	if (prefix[0] != '\0' && os_name_valid(prefix) != 0)
		return OS_ENAME;
	if (r->n_parts > 1 || (prefix[0] != '\0' && reg_str(r->hub)[0] != '\0'))
		return OS_EINVAL;
	for (size_t i = 0; i < r->n_nodes; i++)
		if (!reg_in(r->nodes[i].name, prefix))
			return OS_EINVAL;
	for (size_t i = 0; i < r->n_datasets; i++)
		if (!reg_in(r->datasets[i].name, prefix))
			return OS_EINVAL;
	for (size_t i = 0; i < r->n_delegations; i++)
		if (!reg_below(r->delegations[i].prefix, prefix))
			return OS_EINVAL;
	char *copy = strdup(prefix);
	if (copy == NULL)
		return OS_ENOMEM;
	for (size_t i = 0; i < r->n_datasets; i++) {
		char *scope = strdup(prefix);
		if (scope == NULL) {
			free(copy);
			return OS_ENOMEM;
		}
		free(r->datasets[i].scope);
		r->datasets[i].scope = scope;
	}
	free(r->prefix);
	r->prefix = copy;
	reg_drop_signed(r);
	return 0;
}

int registry_set_hub(struct registry *r, const char *hub)
{
	if (r == NULL || hub == NULL)
		return OS_EINVAL;
	if (hub[0] != '\0' && os_name_valid(hub) != 0)
		return OS_ENAME;
	if (r->n_parts > 1 || (hub[0] != '\0' && reg_str(r->prefix)[0] != '\0'))
		return OS_EINVAL;
	char *copy = strdup(hub);
	if (copy == NULL)
		return OS_ENOMEM;
	for (size_t i = 0; i < r->n_datasets; i++) {
		char *seq = strdup(hub);
		if (seq == NULL) {
			free(copy);
			return OS_ENOMEM;
		}
		free(r->datasets[i].sequencer);
		r->datasets[i].sequencer = seq;
	}
	free(r->hub);
	r->hub = copy;
	reg_drop_signed(r);
	return 0;
}

int registry_delegate(struct registry *r, const char *prefix, const os_sign_pk root_pk,
		      const char *hub)
{
	if (r == NULL || prefix == NULL || root_pk == NULL || hub == NULL || r->n_parts > 1)
		return OS_EINVAL;
	if (!reg_below(prefix, r->prefix) || !tree_in_prefix(hub, prefix))
		return OS_ENAME;
	struct reg_delegation *d = (struct reg_delegation *)reg_find_delegation(r, prefix);
	for (size_t i = 0; i < r->n_delegations && d == NULL; i++)
		if (tree_in_prefix(prefix, r->delegations[i].prefix) ||
		    tree_in_prefix(r->delegations[i].prefix, prefix))
			return OS_ECONFLICT;
	if (r->n_delegations >= REG_MAX_DELEGATIONS && d == NULL)
		return OS_EFULL;
	char *h = strdup(hub);
	if (h == NULL)
		return OS_ENOMEM;
	if (d != NULL) {
		free(d->hub);
		d->hub = h;
		memcpy(d->root_pk, root_pk, sizeof(os_sign_pk));
		reg_drop_signed(r);
		return 0;
	}
	struct reg_delegation nd = {.prefix = strdup(prefix),
				    .hub = h,
				    .by = strdup(reg_str(r->prefix))};
	memcpy(nd.root_pk, root_pk, sizeof(os_sign_pk));
	struct reg_delegation *v = NULL;
	if (nd.prefix != NULL && nd.by != NULL)
		v = realloc(r->delegations, (r->n_delegations + 1) * sizeof(*v));
	if (v == NULL) {
		reg_delegation_clear(&nd);
		return OS_ENOMEM;
	}
	r->delegations = v;
	size_t at = 0;
	while (at < r->n_delegations && strcmp(v[at].prefix, prefix) < 0)
		at++;
	memmove(&v[at + 1], &v[at], (r->n_delegations - at) * sizeof(*v));
	v[at] = nd;
	r->n_delegations++;
	reg_drop_signed(r);
	return 0;
}

int registry_undelegate(struct registry *r, const char *prefix)
{
	if (r == NULL || prefix == NULL)
		return OS_EINVAL;
	if (r->n_parts > 1)
		return OS_EINVAL;
	struct reg_delegation *d = (struct reg_delegation *)reg_find_delegation(r, prefix);
	if (d == NULL)
		return OS_ENOTFOUND;
	size_t at = (size_t)(d - r->delegations);
	reg_delegation_clear(d);
	memmove(&r->delegations[at], &r->delegations[at + 1],
		(r->n_delegations - at - 1) * sizeof(*d));
	r->n_delegations--;
	reg_drop_signed(r);
	return 0;
}

void registry_digest(const struct registry *r, os_hash out)
{
	if (r && r->signed_bytes)
		crypto_hash(out, r->signed_bytes, r->signed_len);
	else
		memset(out, 0, sizeof(os_hash));
}
