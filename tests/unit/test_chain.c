/* Unit tests for the delegated registry chain of common/registry.c: a
 * national registry delegating provinces (and a province a city), parsed
 * and verified from the anchor down, parts adopted and compared, packed
 * for a parent, and the tree questions asked of the merged view. */
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

#define NOW 1800000000000ull
#define DAY 86400000ull
#define REG_CTX "OneStop registry v1"

static struct os_keypair nat_root, gd_root, sc_root, sz_root;
static uint8_t seed_next = 1;

static int setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	crypto_keypair_new(&nat_root);
	crypto_keypair_new(&gd_root);
	crypto_keypair_new(&sc_root);
	crypto_keypair_new(&sz_root);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	crypto_keypair_wipe(&nat_root);
	crypto_keypair_wipe(&gd_root);
	crypto_keypair_wipe(&sc_root);
	crypto_keypair_wipe(&sz_root);
	return 0;
}

static char *star[] = {"*"};

/* A node with keys no other node of the test has. */
static void add(struct registry *r, const char *name, unsigned roles)
{
	struct reg_node n;
	memset(&n, 0, sizeof(n));
	n.name = (char *)name;
	n.roles = roles;
	uint8_t s = seed_next++;
	memset(n.sign_pk, s, sizeof(n.sign_pk));
	memset(n.box_pk, s, sizeof(n.box_pk));
	n.box_pk[0] = 0xee;
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_types = 1;
	n.allowed_types = star;
	assert_int_equal(registry_add(r, &n), 0);
}

static struct registry *make(const char *prefix, const char *hub, uint64_t version)
{
	struct registry *r = NULL;
	assert_int_equal(registry_new(&r), 0);
	assert_int_equal(registry_set_prefix(r, prefix), 0);
	assert_int_equal(registry_set_hub(r, hub), 0);
	r->version = version;
	r->issued_ms = NOW - DAY;
	r->expires_ms = NOW + 10 * DAY;
	return r;
}

/* Sign r with key; returns a malloc'd copy of the packed bytes. */
static uint8_t *sign(struct registry *r, const struct os_keypair *key, size_t *len)
{
	const uint8_t *b;
	assert_int_equal(registry_sign(r, key->sign_sk, &b, len), 0);
	uint8_t *copy = malloc(*len);
	assert_non_null(copy);
	memcpy(copy, b, *len);
	return copy;
}

/* A packed chain: the national SignedRegistry with parts[0..n) as its
 * delegated list. */
static uint8_t *chain(const uint8_t *nat, size_t nat_len, uint8_t *const *parts, const size_t *lens,
		      size_t n, size_t *len)
{
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, nat_len, nat);
	assert_non_null(sr);
	Onestop__SignedRegistry **subs = calloc(n + 1, sizeof(*subs));
	assert_non_null(subs);
	for (size_t i = 0; i < n; i++) {
		subs[i] = onestop__signed_registry__unpack(NULL, lens[i], parts[i]);
		assert_non_null(subs[i]);
	}
	Onestop__SignedRegistry out = *sr;
	out.n_delegated = n;
	out.delegated = subs;
	*len = onestop__signed_registry__get_packed_size(&out);
	uint8_t *b = malloc(*len);
	assert_non_null(b);
	onestop__signed_registry__pack(&out, b);
	for (size_t i = 0; i < n; i++)
		onestop__signed_registry__free_unpacked(subs[i], NULL);
	free(subs);
	onestop__signed_registry__free_unpacked(sr, NULL);
	return b;
}

/* Re-sign a packed registry with prefix and hub replaced (to make parts
 * that the editing functions refuse to make). */
static uint8_t *forge(const uint8_t *buf, size_t len, const char *prefix, const char *hub,
		      const struct os_keypair *key, size_t *out_len)
{
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, len, buf);
	assert_non_null(sr);
	Onestop__Registry *pr =
		onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data);
	assert_non_null(pr);
	Onestop__Registry copy = *pr;
	copy.prefix = (char *)prefix;
	copy.hub = (char *)hub;
	size_t rl = onestop__registry__get_packed_size(&copy);
	uint8_t *rb = malloc(rl);
	assert_non_null(rb);
	onestop__registry__pack(&copy, rb);
	os_sig sig;
	crypto_sign(sig, REG_CTX, rb, rl, key->sign_sk);
	Onestop__SignedRegistry o = ONESTOP__SIGNED_REGISTRY__INIT;
	o.registry.data = rb;
	o.registry.len = rl;
	o.signature.data = sig;
	o.signature.len = sizeof(sig);
	*out_len = onestop__signed_registry__get_packed_size(&o);
	uint8_t *b = malloc(*out_len);
	assert_non_null(b);
	onestop__signed_registry__pack(&o, b);
	free(rb);
	onestop__registry__free_unpacked(pr, NULL);
	onestop__signed_registry__free_unpacked(sr, NULL);
	return b;
}

/* The test federation: national (hub, nat, gd.hub, sc.hub; delegations gd
 * and sc; dataset items), gd (gd.a, gd.b; dataset gd.permits; version
 * gd_version), sc (sc.a, sc.b). */
struct fed {
	uint8_t *nat, *gd, *sc;
	size_t nat_len, gd_len, sc_len;
};

static uint8_t *make_gd(uint64_t version, const struct os_keypair *key, size_t *len)
{
	struct registry *g = make("gd", "", version);
	add(g, "gd.a", REG_ROLE_SPOKE);
	add(g, "gd.b", REG_ROLE_SPOKE);
	assert_int_equal(registry_set_dataset(g, "gd.permits", REG_DS_FULL), 0);
	uint8_t *b = sign(g, key, len);
	registry_free(&g);
	return b;
}

static void fed_make(struct fed *f, uint64_t gd_version)
{
	struct registry *n = make("", "hub", 3);
	add(n, "hub", REG_ROLE_HUB);
	add(n, "nat", REG_ROLE_SPOKE);
	add(n, "gd.hub", REG_ROLE_HUB);
	add(n, "sc.hub", REG_ROLE_HUB);
	assert_int_equal(registry_set_dataset(n, "items", REG_DS_FULL), 0);
	assert_int_equal(registry_delegate(n, "gd", gd_root.sign_pk, "gd.hub"), 0);
	assert_int_equal(registry_delegate(n, "sc", sc_root.sign_pk, "sc.hub"), 0);
	f->nat = sign(n, &nat_root, &f->nat_len);
	registry_free(&n);

	f->gd = make_gd(gd_version, &gd_root, &f->gd_len);

	struct registry *s = make("sc", "", 5);
	s->expires_ms = NOW + 2 * DAY;
	add(s, "sc.a", REG_ROLE_SPOKE);
	add(s, "sc.b", REG_ROLE_SPOKE);
	f->sc = sign(s, &sc_root, &f->sc_len);
	registry_free(&s);
}

static void fed_free(struct fed *f)
{
	free(f->nat);
	free(f->gd);
	free(f->sc);
}

static struct registry *fed_parse(const struct fed *f, int with_gd, int with_sc)
{
	uint8_t *parts[2];
	size_t lens[2], n = 0, len;
	if (with_sc) {
		parts[n] = f->sc;
		lens[n++] = f->sc_len;
	}
	if (with_gd) {
		parts[n] = f->gd;
		lens[n++] = f->gd_len;
	}
	uint8_t *c = chain(f->nat, f->nat_len, parts, lens, n, &len);
	struct registry *r = NULL;
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), 0);
	free(c);
	return r;
}

static void test_good_chain(void **state)
{
	(void)state;
	struct fed f;
	fed_make(&f, 2);
	struct registry *r = fed_parse(&f, 1, 1);
	assert_int_equal(r->n_nodes, 8);
	assert_int_equal(r->version, 3 + 2 + 5);
	assert_int_equal(r->expires_ms, NOW + 2 * DAY);
	assert_int_equal(r->issued_ms, NOW - DAY);
	assert_string_equal(r->prefix, "");
	assert_string_equal(r->hub, "hub");
	assert_int_equal(r->n_parts, 3);
	assert_string_equal(r->parts[0].prefix, "");
	assert_string_equal(r->parts[1].prefix, "gd");
	assert_string_equal(r->parts[2].prefix, "sc");
	assert_int_equal(r->parts[1].version, 2);
	assert_non_null(registry_find(r, "gd.a"));
	assert_non_null(registry_find(r, "sc.b"));
	assert_non_null(registry_find(r, "gd.hub"));
	assert_int_equal(r->n_delegations, 2);
	assert_string_equal(r->delegations[0].prefix, "gd");
	assert_string_equal(r->delegations[0].hub, "gd.hub");
	assert_string_equal(r->delegations[0].by, "");
	assert_memory_equal(r->delegations[1].root_pk, sc_root.sign_pk, 32);

	const struct reg_dataset *items = registry_find_dataset(r, "items");
	const struct reg_dataset *permits = registry_find_dataset(r, "gd.permits");
	assert_non_null(items);
	assert_non_null(permits);
	assert_string_equal(items->scope, "");
	assert_string_equal(items->sequencer, "hub");
	assert_string_equal(permits->scope, "gd");
	assert_string_equal(permits->sequencer, "gd.hub");

	/* signed_bytes is the whole chain: it parses to the same view. */
	struct registry *again = NULL;
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, nat_root.sign_pk, NOW,
					&again),
			 0);
	assert_int_equal(again->version, r->version);
	assert_int_equal(again->n_nodes, 8);
	assert_int_equal(again->signed_len, r->signed_len);
	assert_memory_equal(again->signed_bytes, r->signed_bytes, r->signed_len);
	assert_int_equal(registry_compare(r, again), 0);
	registry_free(&again);

	/* The national signature under another anchor; a part expired. */
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, gd_root.sign_pk, NOW,
					&again),
			 OS_EBADSIG);
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, nat_root.sign_pk,
					NOW + 3 * DAY, &again),
			 OS_EEXPIRED);
	/* A merged chain is not signed as one registry. */
	const uint8_t *b;
	size_t l;
	assert_int_equal(registry_sign(r, nat_root.sign_sk, &b, &l), OS_EINVAL);
	registry_free(&r);
	fed_free(&f);
}

static void test_part_refusals(void **state)
{
	(void)state;
	struct fed f;
	fed_make(&f, 2);
	size_t len, l2;
	uint8_t *c, *p;
	struct registry *r = NULL;

	/* A part naming a node outside its prefix. */
	struct registry *g = make("", "", 4);
	add(g, "gd.a", REG_ROLE_SPOKE);
	add(g, "sc.x", REG_ROLE_SPOKE);
	uint8_t *plain = sign(g, &gd_root, &len);
	registry_free(&g);
	p = forge(plain, len, "gd", "", &gd_root, &l2);
	free(plain);
	c = chain(f.nat, f.nat_len, &p, &l2, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_ENAME);
	assert_int_equal(registry_parse(c, len, NULL, 0, &r), OS_ENAME);
	free(c);
	free(p);

	/* A part signed by the key of another delegation. */
	p = make_gd(4, &sc_root, &l2);
	c = chain(f.nat, f.nat_len, &p, &l2, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_EBADSIG);
	/* Without an anchor no signature is checked. */
	assert_int_equal(registry_parse(c, len, NULL, 0, &r), 0);
	registry_free(&r);
	free(c);
	free(p);

	/* A part whose prefix no delegation names. */
	struct registry *x = make("xx", "", 1);
	add(x, "xx.a", REG_ROLE_SPOKE);
	p = sign(x, &gd_root, &l2);
	registry_free(&x);
	c = chain(f.nat, f.nat_len, &p, &l2, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_ENOTALLOWED);
	free(c);
	/* ...nor is it adopted. */
	r = fed_parse(&f, 1, 0);
	uint64_t v = r->version;
	assert_int_equal(registry_adopt_part(&r, p, l2, NOW), OS_ENOTALLOWED);
	assert_int_equal(r->version, v);
	registry_free(&r);
	free(p);

	/* A province listing its own hub, already in the national part. */
	g = make("gd", "", 4);
	add(g, "gd.a", REG_ROLE_SPOKE);
	add(g, "gd.hub", REG_ROLE_HUB);
	p = sign(g, &gd_root, &l2);
	registry_free(&g);
	c = chain(f.nat, f.nat_len, &p, &l2, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_EEXIST);
	free(c);
	free(p);

	/* A delegated part naming a hub: not a delegated registry's field. */
	p = forge(f.gd, f.gd_len, "gd", "gd.hub", &gd_root, &l2);
	c = chain(f.nat, f.nat_len, &p, &l2, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_EDECODE);
	free(c);
	free(p);

	/* The same part twice; a national part inside the chain. */
	uint8_t *two[2] = {f.gd, f.gd};
	size_t two_len[2] = {f.gd_len, f.gd_len};
	c = chain(f.nat, f.nat_len, two, two_len, 2, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_EDECODE);
	free(c);
	c = chain(f.nat, f.nat_len, &f.nat, &f.nat_len, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_EDECODE);
	free(c);

	/* A delegated registry alone: for editing only. */
	assert_int_equal(registry_parse(f.gd, f.gd_len, gd_root.sign_pk, NOW, &r), OS_ENOTALLOWED);
	assert_int_equal(registry_parse(f.gd, f.gd_len, NULL, 0, &r), 0);
	assert_string_equal(r->prefix, "gd");
	assert_int_equal(r->n_parts, 1);
	registry_free(&r);
	fed_free(&f);
}

static void test_adopt_and_compare(void **state)
{
	(void)state;
	struct fed f;
	fed_make(&f, 2);
	struct registry *held = fed_parse(&f, 1, 1);
	struct registry *r = fed_parse(&f, 1, 0);
	assert_int_equal(r->version, 5);
	assert_int_equal(registry_compare(held, r), 0); /* fewer parts, none older */
	assert_int_equal(registry_compare(r, held), 1); /* sc is new */

	/* A new part, then the same again. */
	assert_int_equal(registry_adopt_part(&r, f.sc, f.sc_len, NOW), 1);
	assert_int_equal(r->version, 10);
	assert_int_equal(r->n_parts, 3);
	assert_non_null(registry_find(r, "sc.a"));
	assert_int_equal(registry_adopt_part(&r, f.sc, f.sc_len, NOW), 0);
	assert_int_equal(r->version, 10);
	assert_int_equal(registry_compare(held, r), 0);

	/* A newer gd: adopted; then the older one is not. */
	size_t l3;
	uint8_t *gd3 = make_gd(3, &gd_root, &l3);
	assert_int_equal(registry_adopt_part(&r, gd3, l3, NOW), 1);
	assert_int_equal(r->version, 11);
	assert_int_equal(registry_adopt_part(&r, f.gd, f.gd_len, NOW), 0);
	assert_int_equal(r->version, 11);
	assert_int_equal(registry_compare(held, r), 1);
	assert_int_equal(registry_compare(r, held), -1); /* a rollback of gd */

	/* The adopted chain verifies from the anchor as a whole. */
	struct registry *again = NULL;
	assert_int_equal(registry_parse(r->signed_bytes, r->signed_len, nat_root.sign_pk, NOW,
					&again),
			 0);
	assert_int_equal(again->version, 11);
	registry_free(&again);

	/* Refusals leave the chain as it was. */
	size_t lb;
	uint8_t *bad = make_gd(9, &sc_root, &lb);
	assert_int_equal(registry_adopt_part(&r, bad, lb, NOW), OS_EBADSIG);
	free(bad);
	uint8_t junk[3] = {1, 2, 3};
	assert_int_equal(registry_adopt_part(&r, junk, sizeof(junk), NOW), OS_EDECODE);
	assert_int_equal(registry_adopt_part(&r, f.nat, f.nat_len, NOW), OS_ENOTALLOWED);
	assert_int_equal(registry_adopt_part(&r, f.sc, f.sc_len, NOW + 3 * DAY), OS_EEXPIRED);
	assert_int_equal(r->version, 11);
	free(gd3);
	registry_free(&r);
	registry_free(&held);
	fed_free(&f);
}

static void test_pack_parts(void **state)
{
	(void)state;
	struct fed f;
	fed_make(&f, 2);
	struct registry *r = fed_parse(&f, 1, 1);
	uint8_t *b;
	size_t l;

	assert_int_equal(registry_pack_parts(r, "", &b, &l), 0);
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, l, b);
	assert_non_null(sr);
	assert_int_equal(sr->registry.len, 0);
	assert_int_equal(sr->signature.len, 0);
	assert_int_equal(sr->n_delegated, 2);
	/* Each part, offered to the national registry alone, rebuilds it. */
	struct registry *n = fed_parse(&f, 0, 0);
	for (size_t i = 0; i < sr->n_delegated; i++) {
		size_t pl = onestop__signed_registry__get_packed_size(sr->delegated[i]);
		uint8_t *pb = malloc(pl);
		assert_non_null(pb);
		onestop__signed_registry__pack(sr->delegated[i], pb);
		assert_int_equal(registry_adopt_part(&n, pb, pl, NOW), 1);
		free(pb);
	}
	assert_int_equal(n->version, r->version);
	assert_int_equal(n->signed_len, r->signed_len);
	assert_memory_equal(n->signed_bytes, r->signed_bytes, r->signed_len);
	onestop__signed_registry__free_unpacked(sr, NULL);
	free(b);

	/* The parts inside one prefix; none. */
	assert_int_equal(registry_pack_parts(r, "gd", &b, &l), 0);
	sr = onestop__signed_registry__unpack(NULL, l, b);
	assert_non_null(sr);
	assert_int_equal(sr->n_delegated, 1);
	onestop__signed_registry__free_unpacked(sr, NULL);
	free(b);
	assert_int_equal(registry_pack_parts(r, "gd.x", &b, &l), OS_ENOTFOUND);
	registry_free(&n);
	n = fed_parse(&f, 0, 0);
	assert_int_equal(registry_pack_parts(n, "", &b, &l), OS_ENOTFOUND);
	/* A packed set of parts is not a registry. */
	assert_int_equal(registry_pack_parts(r, "", &b, &l), 0);
	struct registry *bad = NULL;
	assert_int_equal(registry_parse(b, l, NULL, 0, &bad), OS_EDECODE);
	free(b);
	registry_free(&n);
	registry_free(&r);
	fed_free(&f);
}

static char *prov_topics[] = {"alerts"};
static char *all_topics[] = {"news"};

static void test_tree_questions(void **state)
{
	(void)state;
	struct fed f;
	fed_make(&f, 2);
	struct registry *r = fed_parse(&f, 1, 1);

	assert_string_equal(registry_hub_prefix(r, "hub"), "");
	assert_string_equal(registry_hub_prefix(r, "gd.hub"), "gd");
	assert_string_equal(registry_hub_prefix(r, "sc.hub"), "sc");
	assert_null(registry_hub_prefix(r, "gd.a"));
	assert_null(registry_hub_prefix(r, "nobody"));

	const struct reg_delegation *kids[4];
	assert_int_equal(registry_children(r, "", kids, 4), 2);
	assert_string_equal(kids[0]->prefix, "gd");
	assert_string_equal(kids[1]->hub, "sc.hub");
	assert_int_equal(registry_children(r, "", kids, 1), 2);
	assert_int_equal(registry_children(r, "gd", kids, 4), 0);

	assert_string_equal(registry_province(r, "gd.a"), "gd");
	assert_string_equal(registry_province(r, "gd.hub"), "gd");
	assert_string_equal(registry_province(r, "sc.b"), "sc");
	assert_string_equal(registry_province(r, "nat"), "");
	assert_string_equal(registry_province(r, "hub"), "");

	const struct reg_dataset *items = registry_find_dataset(r, "items");
	const struct reg_dataset *permits = registry_find_dataset(r, "gd.permits");
	assert_true(registry_dataset_visible(r, items, "sc.a"));
	assert_true(registry_dataset_visible(r, permits, "gd.b"));
	assert_true(registry_dataset_visible(r, permits, "gd.hub"));
	assert_false(registry_dataset_visible(r, permits, "sc.a"));
	assert_false(registry_dataset_visible(r, permits, "hub"));

	struct reg_node sub;
	memset(&sub, 0, sizeof(sub));
	sub.name = "gd.b";
	sub.n_topics = 1;
	sub.topics = all_topics;
	sub.n_province_topics = 1;
	sub.province_topics = prov_topics;
	assert_true(registry_hears(r, &sub, "news", "sc.a"));
	assert_true(registry_hears(r, &sub, "alerts", "gd.a"));
	assert_true(registry_hears(r, &sub, "alerts", "gd.hub"));
	assert_false(registry_hears(r, &sub, "alerts", "sc.a"));
	assert_false(registry_hears(r, &sub, "alerts", "nat"));
	assert_false(registry_hears(r, &sub, "other", "gd.a"));
	sub.name = "nat";
	assert_true(registry_hears(r, &sub, "alerts", "hub"));
	assert_false(registry_hears(r, &sub, "alerts", "gd.a"));
	registry_free(&r);

	/* Without delegations every hub is the national hub. */
	struct registry *one = make("", "", 1);
	add(one, "hub", REG_ROLE_HUB);
	add(one, "a", REG_ROLE_SPOKE);
	assert_string_equal(registry_hub_prefix(one, "hub"), "");
	assert_null(registry_hub_prefix(one, "a"));
	assert_int_equal(registry_children(one, "", kids, 4), 0);
	registry_free(&one);
	fed_free(&f);
}

/* national -> gd -> gd.sz: a city delegated by the province. */
static void test_three_levels(void **state)
{
	(void)state;
	struct fed f;
	fed_make(&f, 2);
	struct registry *g = make("gd", "", 7);
	add(g, "gd.a", REG_ROLE_SPOKE);
	add(g, "gd.sz.hub", REG_ROLE_HUB);
	assert_int_equal(registry_delegate(g, "gd.sz", sz_root.sign_pk, "gd.sz.hub"), 0);
	size_t gl, zl, len;
	uint8_t *gb = sign(g, &gd_root, &gl);
	registry_free(&g);

	struct registry *z = make("gd.sz", "", 2);
	add(z, "gd.sz.market", REG_ROLE_SPOKE);
	assert_int_equal(registry_set_dataset(z, "gd.sz.stalls", REG_DS_CACHED), 0);
	uint8_t *zb = sign(z, &sz_root, &zl);
	registry_free(&z);

	/* The city listed before its province: any order resolves. */
	uint8_t *parts[3] = {zb, f.sc, gb};
	size_t lens[3] = {zl, f.sc_len, gl};
	uint8_t *c = chain(f.nat, f.nat_len, parts, lens, 3, &len);
	struct registry *r = NULL;
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), 0);
	free(c);
	assert_int_equal(r->n_parts, 4);
	assert_int_equal(r->version, 3 + 7 + 5 + 2);
	assert_string_equal(r->parts[2].prefix, "gd.sz");
	assert_string_equal(registry_hub_prefix(r, "gd.sz.hub"), "gd.sz");
	const struct reg_delegation *kids[4];
	assert_int_equal(registry_children(r, "", kids, 4), 2);
	assert_int_equal(registry_children(r, "gd", kids, 4), 1);
	assert_string_equal(kids[0]->prefix, "gd.sz");
	assert_string_equal(kids[0]->by, "gd");
	assert_string_equal(registry_province(r, "gd.sz.market"), "gd");
	const struct reg_dataset *st = registry_find_dataset(r, "gd.sz.stalls");
	assert_non_null(st);
	assert_string_equal(st->scope, "gd.sz");
	assert_string_equal(st->sequencer, "gd.sz.hub");
	assert_false(registry_dataset_visible(r, st, "gd.a"));
	assert_true(registry_dataset_visible(r, st, "gd.sz.market"));

	/* The city's parts go up with its province's. */
	uint8_t *b;
	size_t l;
	assert_int_equal(registry_pack_parts(r, "gd", &b, &l), 0);
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, l, b);
	assert_non_null(sr);
	assert_int_equal(sr->n_delegated, 2);
	onestop__signed_registry__free_unpacked(sr, NULL);
	free(b);

	/* A province that withdraws the city's delegation drops its part. Its
	 * version grows by the city's (2): the generation stays, the digest
	 * tells the chains apart (a hub sends the chain when either differs). */
	os_hash before, after;
	uint64_t gen = r->version;
	registry_digest(r, before);
	g = make("gd", "", 9);
	add(g, "gd.a", REG_ROLE_SPOKE);
	uint8_t *g8 = sign(g, &gd_root, &l);
	registry_free(&g);
	assert_int_equal(registry_adopt_part(&r, g8, l, NOW), 1);
	assert_int_equal(r->n_parts, 3);
	assert_null(registry_find(r, "gd.sz.market"));
	assert_int_equal(r->version, gen);
	registry_digest(r, after);
	assert_memory_not_equal(before, after, sizeof(os_hash));
	free(g8);
	registry_free(&r);

	/* The city without its province: nobody delegates it. */
	c = chain(f.nat, f.nat_len, &zb, &zl, 1, &len);
	assert_int_equal(registry_parse(c, len, nat_root.sign_pk, NOW, &r), OS_ENOTALLOWED);
	free(c);
	free(gb);
	free(zb);
	fed_free(&f);
}

static void test_editing(void **state)
{
	(void)state;
	struct registry *r = make("gd", "", 1);
	struct reg_node n;
	memset(&n, 0, sizeof(n));
	n.name = "sc.a";
	n.status = REG_ACTIVE;
	assert_int_equal(registry_add(r, &n), OS_ENAME);
	n.name = "gd";
	memset(n.box_pk, 9, 32);
	assert_int_equal(registry_add(r, &n), 0);
	assert_int_equal(registry_set_dataset(r, "items", REG_DS_FULL), OS_ENAME);
	assert_int_equal(registry_set_hub(r, "hub"), OS_EINVAL);
	assert_int_equal(registry_set_prefix(r, "sc"), OS_EINVAL);
	assert_int_equal(registry_set_prefix(r, "Bad!"), OS_ENAME);
	assert_int_equal(registry_delegate(r, "sc", sz_root.sign_pk, "sc.hub"), OS_ENAME);
	assert_int_equal(registry_delegate(r, "gd", sz_root.sign_pk, "gd.hub"), OS_ENAME);
	assert_int_equal(registry_delegate(r, "gd.sz", sz_root.sign_pk, "gd.x"), OS_ENAME);
	assert_int_equal(registry_delegate(r, "gd.sz", sz_root.sign_pk, "gd.sz.hub"), 0);
	assert_int_equal(registry_delegate(r, "gd.sz.nanshan", sz_root.sign_pk, "gd.sz.nanshan.h"),
			 OS_ECONFLICT);
	assert_int_equal(registry_delegate(r, "gd.sz", gd_root.sign_pk, "gd.sz.hub2"), 0);
	assert_int_equal(r->n_delegations, 1);
	assert_string_equal(r->delegations[0].hub, "gd.sz.hub2");
	assert_memory_equal(r->delegations[0].root_pk, gd_root.sign_pk, 32);
	assert_int_equal(registry_undelegate(r, "gd.gz"), OS_ENOTFOUND);
	assert_int_equal(registry_undelegate(r, "gd.sz"), 0);
	assert_int_equal(r->n_delegations, 0);

	/* The edited part signs and parses back with its prefix. */
	size_t l;
	uint8_t *b = sign(r, &gd_root, &l);
	struct registry *p = NULL;
	assert_int_equal(registry_parse(b, l, NULL, 0, &p), 0);
	assert_string_equal(p->prefix, "gd");
	assert_int_equal(p->version, 1);
	registry_free(&p);
	free(b);
	registry_free(&r);

	/* Province topics survive a sign and parse. */
	r = make("", "", 1);
	memset(&n, 0, sizeof(n));
	n.name = "a";
	n.status = REG_ACTIVE;
	n.n_province_topics = 1;
	n.province_topics = prov_topics;
	assert_int_equal(registry_add(r, &n), 0);
	b = sign(r, &nat_root, &l);
	assert_int_equal(registry_parse(b, l, nat_root.sign_pk, NOW, &p), 0);
	assert_int_equal(p->nodes[0].n_province_topics, 1);
	assert_string_equal(p->nodes[0].province_topics[0], "alerts");
	registry_free(&p);
	free(b);
	registry_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_chain),        cmocka_unit_test(test_part_refusals),
		cmocka_unit_test(test_adopt_and_compare), cmocka_unit_test(test_pack_parts),
		cmocka_unit_test(test_tree_questions),    cmocka_unit_test(test_three_levels),
		cmocka_unit_test(test_editing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
