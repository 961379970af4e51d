/* Unit tests for common/registry.c: sign and parse round trip, signature
 * and expiry checks, field validation (hand-built protobufs signed by the
 * test root key), lookups, type patterns and the small string helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "err.h"
#include "log.h"
#include "onestop.pb-c.h"
#include "registry.h"
#include "testutil.h"
#include "util.h"

#define NOW 1800000000000ull
#define DAY 86400000ull

static struct os_keypair root, other_root;

static int setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	crypto_keypair_new(&root);
	crypto_keypair_new(&other_root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	crypto_keypair_wipe(&root);
	crypto_keypair_wipe(&other_root);
	return 0;
}

static char *star[] = {"*"};
static char *sup_topics[] = {"supervision", "market.prices"};
static char *gov_types[] = {"gov.*", "onestop.DeadLetter"};
static char *datasets[] = {"items"};

static void node_init(struct reg_node *n, char *name, unsigned roles, uint8_t seed)
{
	memset(n, 0, sizeof(*n));
	n->name = name;
	n->roles = roles;
	memset(n->sign_pk, seed, sizeof(n->sign_pk));
	memset(n->box_pk, seed ^ 0xff, sizeof(n->box_pk));
	n->key_version = seed;
	n->status = REG_ACTIVE;
	n->n_types = 1;
	n->allowed_types = star;
}

/* A registry of four nodes, added out of order, signed by root. */
static struct registry *make_registry(uint64_t expires)
{
	struct registry *r = NULL;
	assert_int_equal(registry_new(&r), 0);
	struct reg_node n;
	node_init(&n, "gd.sz.market", REG_ROLE_SPOKE, 3);
	n.n_types = 2;
	n.allowed_types = gov_types;
	n.n_publish = 1;
	n.publish = datasets;
	assert_int_equal(registry_add(r, &n), 0);
	node_init(&n, "hub", REG_ROLE_HUB, 1);
	assert_int_equal(registry_add(r, &n), 0);
	node_init(&n, "sup", REG_ROLE_SPOKE | REG_ROLE_SUPERVISOR, 4);
	n.n_topics = 2;
	n.topics = sup_topics;
	assert_int_equal(registry_add(r, &n), 0);
	node_init(&n, "gd", REG_ROLE_SPOKE, 2);
	n.status = REG_REVOKED;
	n.n_types = 0;
	n.allowed_types = NULL;
	assert_int_equal(registry_add(r, &n), 0);
	r->version = 7;
	r->issued_ms = NOW - DAY;
	r->expires_ms = expires;
	const uint8_t *b;
	size_t l;
	assert_int_equal(registry_sign(r, root.sign_sk, &b, &l), 0);
	assert_ptr_equal(b, r->signed_bytes);
	assert_int_equal(l, r->signed_len);
	return r;
}

static void test_roundtrip(void **state)
{
	(void)state;
	struct registry *r = make_registry(NOW + DAY);
	struct registry *p = NULL;
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, root.sign_pk, NOW, &p), 0);
	assert_int_equal(p->version, 7);
	assert_int_equal(p->issued_ms, NOW - DAY);
	assert_int_equal(p->expires_ms, NOW + DAY);
	assert_int_equal(p->n_nodes, 4);
	const char *order[] = {"gd", "gd.sz.market", "hub", "sup"};
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(p->nodes[i].name, order[i]);
	assert_int_equal(p->signed_len, r->signed_len);
	assert_memory_equal(p->signed_bytes, r->signed_bytes, r->signed_len);

	const struct reg_node *m = registry_find(p, "gd.sz.market");
	assert_non_null(m);
	assert_int_equal(m->roles, REG_ROLE_SPOKE);
	assert_int_equal(m->key_version, 3);
	uint8_t want[32];
	memset(want, 3, 32);
	assert_memory_equal(m->sign_pk, want, 32);
	memset(want, 3 ^ 0xff, 32);
	assert_memory_equal(m->box_pk, want, 32);
	assert_int_equal(m->n_types, 2);
	assert_string_equal(m->allowed_types[0], "gov.*");
	assert_int_equal(m->n_publish, 1);
	assert_string_equal(m->publish[0], "items");
	const struct reg_node *s = registry_find(p, "sup");
	assert_non_null(s);
	assert_int_equal(s->roles, REG_ROLE_SPOKE | REG_ROLE_SUPERVISOR);
	assert_true(registry_subscribes(s, "supervision"));
	assert_true(registry_subscribes(s, "market.prices"));
	assert_false(registry_subscribes(s, "market"));
	assert_false(registry_subscribes(m, "supervision"));
	const struct reg_node *g = registry_find(p, "gd");
	assert_non_null(g);
	assert_int_equal(g->status, REG_REVOKED);
	assert_false(registry_node_active(g));
	assert_true(registry_node_active(m));
	assert_false(registry_node_active(NULL));
	assert_null(registry_find(p, "gd.sz"));
	assert_null(registry_find(p, "zzz"));
	assert_null(registry_find(p, ""));

	/* Without an anchor and without a clock nothing is checked but the
	 * structure. */
	struct registry *q = NULL;
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, NULL, 0, &q), 0);
	registry_free(&q);
	/* Packing a parsed registry again gives the same bytes. */
	const uint8_t *b;
	size_t l;
	assert_int_equal(registry_sign(p, root.sign_sk, &b, &l), 0);
	assert_int_equal(l, r->signed_len);
	assert_memory_equal(b, r->signed_bytes, l);
	registry_free(&p);
	assert_null(p);
	registry_free(&r);
	registry_free(&r);
}

static void test_signature_and_expiry(void **state)
{
	(void)state;
	struct registry *r = make_registry(NOW + DAY);
	struct registry *p = NULL;
	/* Wrong anchor. */
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, other_root.sign_pk, NOW,
					&p),
			 OS_EBADSIG);
	assert_null(p);
	/* Any byte flipped inside the signed registry or the signature. */
	uint8_t *copy = malloc(r->signed_len);
	assert_non_null(copy);
	for (size_t i = 4; i < r->signed_len; i += 13) {
		memcpy(copy, r->signed_bytes, r->signed_len);
		copy[i] ^= 0x01;
		int rc = registry_parse(copy, r->signed_len, root.sign_pk, NOW, &p);
		if (rc == 0)
			fail_msg("flipped byte %zu accepted", i);
	}
	free(copy);
	/* Expired: now at or after expires_ms. Not checked with now 0. */
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, root.sign_pk, NOW + DAY,
					&p),
			 OS_EEXPIRED);
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, root.sign_pk, NOW + 2 * DAY,
					&p),
			 OS_EEXPIRED);
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, root.sign_pk, NOW + DAY - 1,
					&p),
			 0);
	registry_free(&p);
	/* Garbage and empty input. */
	assert_int_equal(registry_parse((const uint8_t *)"\xff\xff\xff", 3, NULL, 0, &p),
			 OS_EDECODE);
	assert_int_equal(registry_parse((const uint8_t *)"", 0, NULL, 0, &p), OS_EDECODE);
	assert_null(p);
	registry_free(&r);
}

/* Hand-built registries: a protobuf Node we can break in any way. */
struct pb_node {
	Onestop__Node n;
	char *roles[2];
	uint8_t spk[33], bpk[33];
};

static void pb_node_init(struct pb_node *b, const char *name, uint8_t seed)
{
	Onestop__Node init = ONESTOP__NODE__INIT;
	b->n = init;
	b->n.name = (char *)name;
	b->roles[0] = "spoke";
	b->n.roles = b->roles;
	b->n.n_roles = 1;
	memset(b->spk, seed, sizeof(b->spk));
	memset(b->bpk, seed ^ 0x55, sizeof(b->bpk));
	b->n.sign_pk.data = b->spk;
	b->n.sign_pk.len = 32;
	b->n.box_pk.data = b->bpk;
	b->n.box_pk.len = 32;
	b->n.status = ONESTOP__NODE_STATUS__NODE_STATUS_ACTIVE;
	b->n.allowed_types = star;
	b->n.n_allowed_types = 1;
}

/* Pack and sign a registry of the given nodes and datasets; *out malloc'd. */
static void pb_sign_ds(struct pb_node *nodes, size_t n, Onestop__Dataset **ds, size_t nd,
		       uint8_t **out, size_t *len)
{
	Onestop__Node *ptrs[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		ptrs[i] = &nodes[i].n;
	Onestop__Registry r = ONESTOP__REGISTRY__INIT;
	r.version = 1;
	r.issued_ms = NOW;
	r.expires_ms = NOW + DAY;
	r.n_nodes = n;
	r.nodes = ptrs;
	r.n_datasets = nd;
	r.datasets = ds;
	size_t rl = onestop__registry__get_packed_size(&r);
	uint8_t *rb = malloc(rl + 1);
	assert_non_null(rb);
	onestop__registry__pack(&r, rb);
	os_sig sig;
	crypto_sign(sig, "OneStop registry v1", rb, rl, root.sign_sk);
	Onestop__SignedRegistry sr = ONESTOP__SIGNED_REGISTRY__INIT;
	sr.registry.data = rb;
	sr.registry.len = rl;
	sr.signature.data = sig;
	sr.signature.len = 64;
	*len = onestop__signed_registry__get_packed_size(&sr);
	*out = malloc(*len);
	assert_non_null(*out);
	onestop__signed_registry__pack(&sr, *out);
	free(rb);
}

static void pb_sign(struct pb_node *nodes, size_t n, uint8_t **out, size_t *len)
{
	pb_sign_ds(nodes, n, NULL, 0, out, len);
}

enum breakage {
	B_NONE,
	B_DUP_NAME,
	B_BAD_NAME,
	B_UPPER_NAME,
	B_EMPTY_NAME,
	B_ROLE,
	B_SIGN_PK_SHORT,
	B_SIGN_PK_LONG,
	B_BOX_PK_EMPTY,
	B_STATUS_ZERO,
	B_STATUS_BIG,
	B_TOPIC,
	B_TOPIC_AT,
	B_TYPE,
	B_TYPE_STAR_STAR,
	B_PUBLISH,
	B_TOO_MANY_TOPICS,
	B_DUP_BOX,
	B_NO_ROLES,
};

struct break_case {
	const char *what;
	enum breakage b;
	int want;
};

static void test_validation_table(void **state)
{
	(void)state;
	static const struct break_case cases[] = {
		{"valid", B_NONE, 0},
		{"duplicate names", B_DUP_NAME, OS_EDECODE},
		{"bad name", B_BAD_NAME, OS_ENAME},
		{"upper-case name", B_UPPER_NAME, OS_ENAME},
		{"empty name", B_EMPTY_NAME, OS_ENAME},
		{"unknown role", B_ROLE, OS_EDECODE},
		{"short sign key", B_SIGN_PK_SHORT, OS_EDECODE},
		{"long sign key", B_SIGN_PK_LONG, OS_EDECODE},
		{"empty box key", B_BOX_PK_EMPTY, OS_EDECODE},
		{"status unspecified", B_STATUS_ZERO, OS_EDECODE},
		{"status 4", B_STATUS_BIG, OS_EDECODE},
		{"bad topic", B_TOPIC, OS_ENAME},
		{"topic with @", B_TOPIC_AT, OS_ENAME},
		{"bad type", B_TYPE, OS_EDECODE},
		{"type *.*", B_TYPE_STAR_STAR, OS_EDECODE},
		{"bad dataset", B_PUBLISH, OS_ENAME},
		{"too many topics", B_TOO_MANY_TOPICS, OS_EDECODE},
		{"duplicate box key", B_DUP_BOX, OS_EDECODE},
		{"no roles", B_NO_ROLES, 0},
	};
	static char *many[REG_MAX_LIST + 1];
	for (size_t i = 0; i <= REG_MAX_LIST; i++)
		many[i] = "t";
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct pb_node nodes[3];
		pb_node_init(&nodes[0], "hub", 1);
		nodes[0].roles[0] = "hub";
		pb_node_init(&nodes[1], "gd", 2);
		pb_node_init(&nodes[2], "gd.sz", 3);
		struct pb_node *x = &nodes[2];
		char *bad[1];
		switch (cases[c].b) {
		case B_NONE:
			break;
		case B_DUP_NAME:
			x->n.name = "gd";
			break;
		case B_BAD_NAME:
			x->n.name = "gd..sz";
			break;
		case B_UPPER_NAME:
			x->n.name = "GD";
			break;
		case B_EMPTY_NAME:
			x->n.name = "";
			break;
		case B_ROLE:
			x->roles[1] = "admin";
			x->n.n_roles = 2;
			break;
		case B_SIGN_PK_SHORT:
			x->n.sign_pk.len = 31;
			break;
		case B_SIGN_PK_LONG:
			x->n.sign_pk.len = 33;
			break;
		case B_BOX_PK_EMPTY:
			x->n.box_pk.len = 0;
			x->n.box_pk.data = NULL;
			break;
		case B_STATUS_ZERO:
			x->n.status = 0;
			break;
		case B_STATUS_BIG:
			x->n.status = 4;
			break;
		case B_TOPIC:
			bad[0] = "Bad Topic";
			x->n.topics = bad;
			x->n.n_topics = 1;
			break;
		case B_TOPIC_AT:
			bad[0] = "@supervision";
			x->n.topics = bad;
			x->n.n_topics = 1;
			break;
		case B_TYPE:
			bad[0] = "gov/x";
			x->n.allowed_types = bad;
			break;
		case B_TYPE_STAR_STAR:
			bad[0] = "*.*";
			x->n.allowed_types = bad;
			break;
		case B_PUBLISH:
			bad[0] = "Items";
			x->n.publish = bad;
			x->n.n_publish = 1;
			break;
		case B_TOO_MANY_TOPICS:
			x->n.topics = many;
			x->n.n_topics = REG_MAX_LIST + 1;
			break;
		case B_DUP_BOX:
			memcpy(x->bpk, nodes[1].bpk, 32);
			break;
		case B_NO_ROLES:
			x->n.n_roles = 0;
			break;
		}
		uint8_t *buf;
		size_t len;
		pb_sign(nodes, 3, &buf, &len);
		struct registry *r = NULL;
		int rc = registry_parse(buf, len, root.sign_pk, NOW, &r);
		if (rc != cases[c].want)
			fail_msg("%s: got %d (%s), want %d", cases[c].what, rc, os_errname(rc),
				 cases[c].want);
		if (rc == 0) {
			assert_non_null(r);
			assert_int_equal(r->n_nodes, 3);
		} else {
			assert_null(r);
		}
		registry_free(&r);
		free(buf);
	}
}

static void test_type_allowed_table(void **state)
{
	(void)state;
	struct {
		const char *patterns[3];
		size_t n;
		const char *type;
		int want;
	} cases[] = {
		{{"*"}, 1, "gov.Application", 1},
		{{"*"}, 1, "anything", 1},
		{{"gov.*"}, 1, "gov.Application", 1},
		{{"gov.*"}, 1, "gov.a.b", 1},
		{{"gov.*"}, 1, "gov", 0},
		{{"gov.*"}, 1, "gov.", 0},
		{{"gov.*"}, 1, "government.x", 0},
		{{"gov.*"}, 1, "xgov.a", 0},
		{{"gov.Application"}, 1, "gov.Application", 1},
		{{"gov.Application"}, 1, "gov.ApplicationStatus", 0},
		{{"gov.Application"}, 1, "gov.application", 0},
		{{"a.b.*"}, 1, "a.b.c", 1},
		{{"a.b.*"}, 1, "a.bc", 0},
		{{"x", "gov.*", "y"}, 3, "gov.Complaint", 1},
		{{"x", "y"}, 2, "z", 0},
		{{NULL}, 0, "gov.Application", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct reg_node n;
		node_init(&n, "x", REG_ROLE_SPOKE, 1);
		n.allowed_types = (char **)cases[i].patterns;
		n.n_types = cases[i].n;
		int got = registry_type_allowed(&n, cases[i].type);
		if (got != cases[i].want)
			fail_msg("case %zu: type %s: got %d want %d", i, cases[i].type, got,
				 cases[i].want);
	}
	assert_int_equal(registry_type_allowed(NULL, "x"), 0);
}

static void test_find_box(void **state)
{
	(void)state;
	struct registry *r = make_registry(NOW + DAY);
	struct registry *p = NULL;
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, root.sign_pk, NOW, &p), 0);
	for (uint8_t seed = 1; seed <= 4; seed++) {
		os_box_pk k;
		memset(k, seed ^ 0xff, sizeof(k));
		const struct reg_node *n = registry_find_box(p, k);
		assert_non_null(n);
		assert_int_equal(n->key_version, seed);
		assert_ptr_equal(n, registry_find(p, n->name));
		/* The edited registry answers too. */
		assert_non_null(registry_find_box(r, k));
	}
	os_box_pk none;
	memset(none, 0x77, sizeof(none));
	assert_null(registry_find_box(p, none));
	registry_free(&p);

	/* A big registry: every node is found by name and by key. */
	struct registry *big = NULL;
	assert_int_equal(registry_new(&big), 0);
	assert_null(registry_find_box(big, none));
	assert_null(registry_find(big, "hub"));
	for (unsigned i = 0; i < 300; i++) {
		char name[32];
		snprintf(name, sizeof(name), "n%u.x", (i * 7919u) % 300u);
		struct reg_node n;
		node_init(&n, name, REG_ROLE_SPOKE, 0);
		crypto_random(n.box_pk, 32);
		assert_int_equal(registry_add(big, &n), 0);
	}
	for (size_t i = 0; i < big->n_nodes; i++) {
		const struct reg_node *n = &big->nodes[i];
		assert_ptr_equal(registry_find(big, n->name), n);
		assert_ptr_equal(registry_find_box(big, n->box_pk), n);
		if (i > 0)
			assert_true(strcmp(big->nodes[i - 1].name, n->name) < 0);
	}
	registry_free(&big);
	registry_free(&r);
}

static void test_edit(void **state)
{
	(void)state;
	struct registry *r = make_registry(NOW + DAY);
	struct reg_node n;
	node_init(&n, "hub", REG_ROLE_HUB, 9);
	assert_int_equal(registry_add(r, &n), OS_EEXIST);
	node_init(&n, "new", REG_ROLE_HUB, 1); /* hub's box key */
	assert_int_equal(registry_add(r, &n), OS_EEXIST);
	node_init(&n, "Bad", REG_ROLE_SPOKE, 9);
	assert_int_equal(registry_add(r, &n), OS_ENAME);
	node_init(&n, "ok", REG_ROLE_SPOKE, 9);
	n.status = 0;
	assert_int_equal(registry_add(r, &n), OS_EINVAL);
	n.status = REG_ACTIVE;
	char *badtype[] = {"no spaces"};
	n.allowed_types = badtype;
	assert_int_equal(registry_add(r, &n), OS_EINVAL);
	n.allowed_types = star;
	assert_int_equal(registry_add(r, &n), 0);
	/* Edits invalidate the old signed bytes. */
	assert_null(r->signed_bytes);
	assert_int_equal(r->n_nodes, 5);

	assert_int_equal(registry_set_status(r, "ok", REG_SUSPENDED), 0);
	assert_int_equal(registry_find(r, "ok")->status, REG_SUSPENDED);
	assert_int_equal(registry_set_status(r, "absent", REG_REVOKED), OS_ENOTFOUND);
	assert_int_equal(registry_set_status(r, "ok", 9), OS_EINVAL);
	r->version++;
	const uint8_t *b;
	size_t l;
	assert_int_equal(registry_sign(r, root.sign_sk, &b, &l), 0);
	struct registry *p = NULL;
	assert_int_equal(registry_parse(b, l, root.sign_pk, NOW, &p), 0);
	assert_int_equal(p->version, 8);
	assert_int_equal(registry_find(p, "ok")->status, REG_SUSPENDED);
	assert_false(registry_node_active(registry_find(p, "ok")));
	registry_free(&p);

	/* An empty registry signs and parses. */
	struct registry *e = NULL;
	assert_int_equal(registry_new(&e), 0);
	assert_int_equal(e->version, 0);
	e->expires_ms = NOW + DAY;
	assert_int_equal(registry_sign(e, root.sign_sk, &b, &l), 0);
	assert_int_equal(registry_parse(b, l, root.sign_pk, NOW, &p), 0);
	assert_int_equal(p->n_nodes, 0);
	registry_free(&p);
	registry_free(&e);
	registry_free(&r);
}

static void test_load(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	assert_non_null(dir);
	char path[512];
	tu_path(path, sizeof(path), dir, "registry.bin");
	struct registry *r = make_registry(NOW + DAY);
	assert_int_equal(os_write_file(path, r->signed_bytes, r->signed_len, 0644, 1), 0);
	struct registry *p = NULL;
	assert_int_equal(registry_load(path, root.sign_pk, NOW, &p), 0);
	assert_int_equal(p->n_nodes, 4);
	registry_free(&p);
	assert_int_equal(registry_load(path, other_root.sign_pk, NOW, &p), OS_EBADSIG);
	tu_path(path, sizeof(path), dir, "missing.bin");
	assert_int_equal(registry_load(path, root.sign_pk, NOW, &p), OS_EIO);
	registry_free(&r);
	tu_rmrf(dir);
}

static void test_strings(void **state)
{
	(void)state;
	char buf[64];
	assert_string_equal(registry_roles_str(REG_ROLE_HUB | REG_ROLE_SPOKE, buf, sizeof(buf)),
			    "hub,spoke");
	assert_string_equal(registry_roles_str(REG_ROLE_IDP | REG_ROLE_SUPERVISOR, buf,
					       sizeof(buf)),
			    "idp,supervisor");
	assert_string_equal(registry_roles_str(0, buf, sizeof(buf)), "");
	/* Too small a buffer: cut at a whole role, always terminated. */
	assert_string_equal(registry_roles_str(REG_ROLE_HUB | REG_ROLE_SPOKE, buf, 6), "hub");
	struct {
		const char *s;
		int rc;
		unsigned bit;
	} roles[] = {
		{"hub", 0, REG_ROLE_HUB}, {"spoke", 0, REG_ROLE_SPOKE},
		{"idp", 0, REG_ROLE_IDP}, {"supervisor", 0, REG_ROLE_SUPERVISOR},
		{"Hub", OS_EINVAL, 0},    {"", OS_EINVAL, 0},
		{"admin", OS_EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		unsigned bit = 0;
		assert_int_equal(registry_role_parse(roles[i].s, &bit), roles[i].rc);
		if (roles[i].rc == 0)
			assert_int_equal(bit, roles[i].bit);
	}
	assert_string_equal(registry_status_str(REG_ACTIVE), "active");
	assert_string_equal(registry_status_str(REG_SUSPENDED), "suspended");
	assert_string_equal(registry_status_str(REG_REVOKED), "revoked");
	assert_string_equal(registry_status_str(0), "unknown");
}

/* Declaring datasets: validation, order, lookups, publish rights, and
 * the round trip through a signed registry. */
static void test_datasets(void **state)
{
	(void)state;
	struct registry *r = make_registry(NOW + DAY);
	static const struct {
		const char *name;
		int mode;
		int want;
	} cases[] = {
		{"items", REG_DS_FULL, 0},
		{"identity", REG_DS_CACHED, 0},
		{"gd.licences", REG_DS_FULL, 0},
		{"a", REG_DS_CACHED, 0},
		{"Items", REG_DS_FULL, OS_ENAME},
		{"", REG_DS_FULL, OS_ENAME},
		{"two words", REG_DS_FULL, OS_ENAME},
		{"@items", REG_DS_FULL, OS_ENAME},
		{"zz", 0, OS_EINVAL},
		{"zz", 3, OS_EINVAL},
		{"zz", -1, OS_EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = registry_set_dataset(r, cases[i].name, (enum reg_ds_mode)cases[i].mode);
		if (rc != cases[i].want)
			fail_msg("dataset %zu \"%s\" mode %d: got %d want %d", i, cases[i].name,
				 cases[i].mode, rc, cases[i].want);
	}
	assert_int_equal(registry_set_dataset(r, NULL, REG_DS_FULL), OS_EINVAL);
	assert_int_equal(r->n_datasets, 4);
	assert_null(r->signed_bytes);
	const char *order[] = {"a", "gd.licences", "identity", "items"};
	for (size_t i = 0; i < 4; i++)
		assert_string_equal(r->datasets[i].name, order[i]);
	/* Changing the mode keeps one entry. */
	assert_int_equal(registry_set_dataset(r, "a", REG_DS_FULL), 0);
	assert_int_equal(r->n_datasets, 4);
	assert_int_equal(registry_find_dataset(r, "a")->mode, REG_DS_FULL);
	assert_null(registry_find_dataset(r, "absent"));
	assert_null(registry_find_dataset(r, NULL));
	assert_null(registry_find_dataset(NULL, "items"));

	const uint8_t *b;
	size_t l;
	assert_int_equal(registry_sign(r, root.sign_sk, &b, &l), 0);
	struct registry *p = NULL;
	assert_int_equal(registry_parse(b, l, root.sign_pk, NOW, &p), 0);
	assert_int_equal(p->n_datasets, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_string_equal(p->datasets[i].name, order[i]);
		assert_int_equal(p->datasets[i].mode, r->datasets[i].mode);
	}
	assert_int_equal(registry_find_dataset(p, "identity")->mode, REG_DS_CACHED);
	assert_int_equal(registry_find_dataset(p, "items")->mode, REG_DS_FULL);
	const struct reg_node *m = registry_find(p, "gd.sz.market");
	assert_true(registry_may_publish(m, "items"));
	assert_false(registry_may_publish(m, "identity"));
	assert_false(registry_may_publish(registry_find(p, "hub"), "items"));
	assert_false(registry_may_publish(NULL, "items"));
	assert_false(registry_may_publish(m, NULL));
	registry_free(&p);

	/* At most 64 datasets. */
	char name[16];
	for (int i = 0; i < 60; i++) {
		snprintf(name, sizeof(name), "d%d", i);
		assert_int_equal(registry_set_dataset(r, name, REG_DS_CACHED), 0);
	}
	assert_int_equal(r->n_datasets, 64);
	assert_int_equal(registry_set_dataset(r, "one-more", REG_DS_FULL), OS_EFULL);
	assert_int_equal(registry_set_dataset(r, "d0", REG_DS_FULL), 0);
	for (size_t i = 1; i < r->n_datasets; i++)
		assert_true(strcmp(r->datasets[i - 1].name, r->datasets[i].name) < 0);
	registry_free(&r);
}

/* Hand-built Registry.datasets, broken in each way parse must refuse. */
static void test_dataset_parse_table(void **state)
{
	(void)state;
	enum { D_MAX = 65 };
	static Onestop__Dataset dv[D_MAX];
	static Onestop__Dataset *dp[D_MAX];
	static char names[D_MAX][32];
	static const struct {
		const char *what;
		size_t n;  /* datasets d0..d(n-1), full mode */
		int patch; /* 0 none, 1 dup, 2 mode 0, 3 mode 3, 4 bad name, 5 cached */
		int want;
	} cases[] = {
		{"none", 0, 0, 0},
		{"two", 2, 0, 0},
		{"cached", 2, 5, 0},
		{"sixty-four", 64, 0, 0},
		{"sixty-five", 65, 0, OS_EDECODE},
		{"duplicate", 3, 1, OS_EDECODE},
		{"mode unspecified", 2, 2, OS_EDECODE},
		{"mode unknown", 2, 3, OS_EDECODE},
		{"bad name", 2, 4, OS_ENAME},
	};
	struct pb_node nodes[1];
	pb_node_init(&nodes[0], "gd.sz", 5);
	char *pub[] = {"d0"};
	nodes[0].n.publish = pub;
	nodes[0].n.n_publish = 1;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (size_t i = 0; i < cases[c].n; i++) {
			Onestop__Dataset init = ONESTOP__DATASET__INIT;
			dv[i] = init;
			/* Reverse order: parse sorts them. */
			snprintf(names[i], sizeof(names[i]), "d%zu", cases[c].n - 1 - i);
			dv[i].name = names[i];
			dv[i].mode = ONESTOP__DATASET_MODE__DATASET_MODE_FULL;
			dp[i] = &dv[i];
		}
		switch (cases[c].patch) {
		case 1:
			dv[1].name = dv[0].name;
			break;
		case 2:
			dv[1].mode = ONESTOP__DATASET_MODE__DATASET_MODE_UNSPECIFIED;
			break;
		case 3:
			dv[1].mode = (Onestop__DatasetMode)3;
			break;
		case 4:
			dv[1].name = "Bad Name";
			break;
		case 5:
			dv[0].mode = ONESTOP__DATASET_MODE__DATASET_MODE_CACHED;
			break;
		}
		uint8_t *buf = NULL;
		size_t len = 0;
		pb_sign_ds(nodes, 1, dp, cases[c].n, &buf, &len);
		struct registry *p = NULL;
		int rc = registry_parse(buf, len, root.sign_pk, NOW, &p);
		if (rc != cases[c].want)
			fail_msg("case %s: got %d want %d", cases[c].what, rc, cases[c].want);
		if (rc == 0) {
			assert_int_equal(p->n_datasets, cases[c].n);
			for (size_t i = 1; i < p->n_datasets; i++)
				assert_true(strcmp(p->datasets[i - 1].name, p->datasets[i].name) <
					    0);
			if (cases[c].n > 0)
				assert_non_null(registry_find_dataset(p, "d0"));
			if (cases[c].patch == 5) {
				char last[16];
				snprintf(last, sizeof(last), "d%zu", cases[c].n - 1);
				assert_int_equal(registry_find_dataset(p, last)->mode,
						 REG_DS_CACHED);
			}
			registry_free(&p);
		} else {
			assert_null(p);
		}
		free(buf);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_signature_and_expiry),
		cmocka_unit_test(test_validation_table),
		cmocka_unit_test(test_type_allowed_table),
		cmocka_unit_test(test_find_box),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_datasets),
		cmocka_unit_test(test_dataset_parse_table),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
