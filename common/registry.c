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
#include "util.h"

#define REG_CTX "OneStop registry v1"
#define REG_TYPE_PATTERN_MAX 130
#define REG_MAX_DATASETS 64u

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
	if (n->n_topics > REG_MAX_LIST || n->n_types > REG_MAX_LIST || n->n_publish > REG_MAX_LIST)
		return bad;
	*what = "topic";
	for (size_t i = 0; i < n->n_topics; i++)
		if (os_name_valid(n->topics[i]) != 0)
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
	struct reg_impl *ri = calloc(1, sizeof(*ri));
	if (ri == NULL)
		return OS_ENOMEM;
	*out = ri;
	return 0;
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
		free(r->datasets[i].name);
	free(r->datasets);
	free(r->signed_bytes);
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
	    pb->n_allowed_types > REG_MAX_LIST || pb->n_publish > REG_MAX_LIST)
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

/* Copy the declared datasets of pr into r, sorted by name; names valid and
 * unique, modes known, at most REG_MAX_DATASETS. */
static int reg_datasets_from_pb(struct registry *r, const Onestop__Registry *pr, const char **what)
{
	*what = "dataset_count";
	if (pr->n_datasets > REG_MAX_DATASETS)
		return OS_EDECODE;
	if (pr->n_datasets == 0)
		return 0;
	r->datasets = calloc(pr->n_datasets, sizeof(struct reg_dataset));
	if (r->datasets == NULL)
		return OS_ENOMEM;
	for (size_t i = 0; i < pr->n_datasets; i++) {
		const Onestop__Dataset *d = pr->datasets[i];
		*what = "dataset";
		if (d == NULL)
			return OS_EDECODE;
		*what = "dataset_name";
		if (d->name == NULL || os_name_valid(d->name) != 0)
			return OS_ENAME;
		*what = "dataset_mode";
		if (d->mode != ONESTOP__DATASET_MODE__DATASET_MODE_FULL &&
		    d->mode != ONESTOP__DATASET_MODE__DATASET_MODE_CACHED)
			return OS_EDECODE;
		r->datasets[i].name = strdup(d->name);
		if (r->datasets[i].name == NULL)
			return OS_ENOMEM;
		r->datasets[i].mode = (enum reg_ds_mode)d->mode;
		r->n_datasets++;
	}
	qsort(r->datasets, r->n_datasets, sizeof(struct reg_dataset), reg_cmp_dataset);
	*what = "duplicate_dataset";
	for (size_t i = 1; i < r->n_datasets; i++)
		if (strcmp(r->datasets[i - 1].name, r->datasets[i].name) == 0)
			return OS_EDECODE;
	*what = NULL;
	return 0;
}

int registry_parse(const uint8_t *buf, size_t len, const os_sign_pk anchor, uint64_t now_ms,
		   struct registry **out)
{
	int rc;
	const char *what = NULL;
	size_t at = 0;
	Onestop__SignedRegistry *sr = NULL;
	Onestop__Registry *pr = NULL;
	struct reg_impl *ri = NULL;

	if (buf == NULL && len > 0)
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
	if (sr->signature.len != sizeof(os_sig)) {
		what = "signature";
		rc = OS_EDECODE;
		goto out;
	}
	if (anchor != NULL && crypto_verify(sr->signature.data, REG_CTX, sr->registry.data,
					    sr->registry.len, anchor) != 0) {
		what = "signature";
		rc = OS_EBADSIG;
		goto out;
	}
	pr = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data);
	if (pr == NULL) {
		what = "registry";
		rc = OS_EDECODE;
		goto out;
	}
	if (pr->n_nodes > REG_MAX_NODES) {
		what = "node_count";
		rc = OS_EDECODE;
		goto out;
	}
	if ((rc = reg_alloc(&ri)) != 0)
		goto out;
	struct registry *r = &ri->pub;
	r->version = pr->version;
	r->issued_ms = pr->issued_ms;
	r->expires_ms = pr->expires_ms;
	if (pr->n_nodes > 0) {
		r->nodes = calloc(pr->n_nodes, sizeof(struct reg_node));
		if (r->nodes == NULL) {
			rc = OS_ENOMEM;
			goto out;
		}
	}
	for (at = 0; at < pr->n_nodes; at++) {
		if (pr->nodes[at] == NULL) {
			rc = OS_EDECODE;
			goto out;
		}
		if ((rc = reg_node_from_pb(&r->nodes[at], pr->nodes[at], &what)) != 0)
			goto out;
		r->n_nodes++;
	}
	if ((rc = reg_reindex(ri, OS_EDECODE, &what)) != 0)
		goto out;
	if ((rc = reg_datasets_from_pb(r, pr, &what)) != 0)
		goto out;
	if (now_ms != 0 && r->expires_ms <= now_ms) {
		what = "expires_ms";
		rc = OS_EEXPIRED;
		goto out;
	}
	r->signed_bytes = malloc(len > 0 ? len : 1);
	if (r->signed_bytes == NULL) {
		rc = OS_ENOMEM;
		goto out;
	}
	if (len > 0)
		memcpy(r->signed_bytes, buf, len);
	r->signed_len = len;
	*out = r;
	ri = NULL;
	rc = 0;
out:
	if (rc != 0 && rc != OS_ENOMEM)
		os_log(OS_LOG_WARN, "registry_rejected", "error=%s field=%s node_index=%zu",
		       os_errname(rc), what ? what : "-", at);
	if (ri != NULL) {
		struct registry *tmp = &ri->pub;
		registry_free(&tmp);
	}
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
	char *copy = strdup(name);
	if (copy == NULL)
		return OS_ENOMEM;
	struct reg_dataset *v =
		realloc(r->datasets, (r->n_datasets + 1) * sizeof(struct reg_dataset));
	if (v == NULL) {
		free(copy);
		return OS_ENOMEM;
	}
	r->datasets = v;
	/* Insert in place to keep the list sorted for the binary search. */
	size_t at = 0;
	while (at < r->n_datasets && strcmp(v[at].name, name) < 0)
		at++;
	memmove(&v[at + 1], &v[at], (r->n_datasets - at) * sizeof(struct reg_dataset));
	v[at].name = copy;
	v[at].mode = mode;
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
	uint8_t *reg_buf = NULL, *signed_buf = NULL;
	os_sig sig;

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
	Onestop__Registry pr = ONESTOP__REGISTRY__INIT;
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
	if (signed_buf == NULL)
		goto out;
	onestop__signed_registry__pack(&sr, signed_buf);
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

/* ------------------------------------------------------------ federation
 * Interim bodies for a registry without delegations (the chain lands with
 * #8): one part, the national one, served by every hub. */

int registry_adopt_part(struct registry **r, const uint8_t *part, size_t len, uint64_t now_ms)
{
	(void)r, (void)part, (void)len, (void)now_ms;
	return OS_ENOTALLOWED;
}

int registry_compare(const struct registry *held, const struct registry *offered)
{
	if (offered->version < held->version)
		return -1;
	return offered->version > held->version;
}

int registry_pack_parts(const struct registry *r, const char *prefix, uint8_t **out, size_t *len)
{
	(void)r, (void)prefix, (void)out, (void)len;
	return OS_ENOTFOUND;
}

const char *registry_hub_prefix(const struct registry *r, const char *hub)
{
	const struct reg_node *n = registry_find(r, hub);

	return n && (n->roles & REG_ROLE_HUB) ? "" : NULL;
}

size_t registry_children(const struct registry *r, const char *prefix,
			 const struct reg_delegation **out, size_t max)
{
	(void)r, (void)prefix, (void)out, (void)max;
	return 0;
}

const char *registry_province(const struct registry *r, const char *name)
{
	(void)r, (void)name;
	return "";
}

int registry_dataset_visible(const struct registry *r, const struct reg_dataset *ds,
			     const char *node)
{
	(void)r, (void)ds, (void)node;
	return 1;
}

int registry_hears(const struct registry *r, const struct reg_node *subscriber, const char *topic,
		   const char *origin)
{
	(void)r, (void)origin;
	return registry_subscribes(subscriber, topic);
}

int registry_set_prefix(struct registry *r, const char *prefix)
{
	(void)r, (void)prefix;
	return OS_EINVAL;
}

int registry_set_hub(struct registry *r, const char *hub)
{
	(void)r, (void)hub;
	return OS_EINVAL;
}

int registry_delegate(struct registry *r, const char *prefix, const os_sign_pk root_pk,
		      const char *hub)
{
	(void)r, (void)prefix, (void)root_pk, (void)hub;
	return OS_EINVAL;
}

int registry_undelegate(struct registry *r, const char *prefix)
{
	(void)r, (void)prefix;
	return OS_ENOTFOUND;
}
