/* Unit tests for hub/chain.c, in process: hubs of a small federation (the
 * national hub, gd.hub) built around registry files signed here, each with
 * a store in a temporary directory. Checks start-up (the files merged with
 * the stored chain, the highest version of each part; a province registry
 * outside the hub's subtree or signed by an undelegated key refused; no
 * rollback of the national registry at a hub without a parent), SIGHUP's
 * reload, the parts a child hub sends up and the chains a parent sends
 * down. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batchsig.h"
#include "chain.h"
#include "crypto.h"
#include "dataset.h"
#include "err.h"
#include "hub.h"
#include "link.h"
#include "log.h"
#include "onestop.pb-c.h"
#include "queue.h"
#include "registry.h"
#include "route.h"
#include "store.h"
#include "testutil.h"
#include "util.h"
#include "wiring.h"

#define NOW 1800000000000ull
#define HOUR 3600000ull
#define REG_CTX "OneStop registry v1"

enum {
	K_ROOT,
	K_GD_ROOT,
	K_SC_ROOT,
	K_ROGUE,
	K_HUB,
	K_GDHUB,
	K_SCHUB,
	K_NAT,
	K_GDA,
	K_GDB,
	K_GDNEW,
	K_SCA,
	K_COUNT
};
static struct os_keypair keys[K_COUNT];

/* Province registry variants. */
#define P_REVOKE_B 0x01u /* gd.b revoked */
#define P_NEW 0x02u      /* gd.new added */
#define P_OUTSIDE 0x04u  /* a node named outside the prefix (sc.x) */

struct fixture {
	char *dir;
	char data[512];
	char national[512];
	char province[512];
	struct hub h;
	int up;
};

static int group_setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_new(&keys[i]);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < K_COUNT; i++)
		crypto_keypair_wipe(&keys[i]);
	return 0;
}

static void add_node(struct registry *r, const char *name, int key, unsigned roles,
		     enum reg_status st)
{
	static char *star[] = {"*"};
	struct reg_node n = {0};

	n.name = (char *)name;
	n.roles = roles;
	memcpy(n.sign_pk, keys[key].sign_pk, sizeof(os_sign_pk));
	memcpy(n.box_pk, keys[key].box_pk, sizeof(os_box_pk));
	n.key_version = 1;
	n.status = st;
	n.n_types = 1;
	n.allowed_types = star;
	assert_int_equal(registry_add(r, &n), 0);
}

/* Sign r (consumed) at version with signer's key; the packed bytes
 * (malloc'd) and their length. */
static uint8_t *seal(struct registry *r, uint64_t version, int signer, size_t *len)
{
	const uint8_t *b;
	uint8_t *out;

	r->version = version;
	r->issued_ms = NOW - HOUR;
	r->expires_ms = NOW + 1000 * HOUR;
	assert_int_equal(registry_sign(r, keys[signer].sign_sk, &b, len), 0);
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, b, *len);
	registry_free(&r);
	return out;
}

/* The national registry: hub, nat, gd.hub, sc.hub; gd and sc delegated
 * (gd to gd_key). */
static uint8_t *national(uint64_t version, int gd_key, size_t *len)
{
	struct registry *r = NULL;

	assert_int_equal(registry_new(&r), 0);
	add_node(r, "hub", K_HUB, REG_ROLE_HUB, REG_ACTIVE);
	add_node(r, "nat", K_NAT, REG_ROLE_SPOKE, REG_ACTIVE);
	add_node(r, "gd.hub", K_GDHUB, REG_ROLE_HUB, REG_ACTIVE);
	add_node(r, "sc.hub", K_SCHUB, REG_ROLE_HUB, REG_ACTIVE);
	assert_int_equal(registry_set_hub(r, "hub"), 0);
	assert_int_equal(registry_delegate(r, "gd", keys[gd_key].sign_pk, "gd.hub"), 0);
	assert_int_equal(registry_delegate(r, "sc", keys[K_SC_ROOT].sign_pk, "sc.hub"), 0);
	return seal(r, version, K_ROOT, len);
}

/* Rename the first node of a packed registry and sign it again with
 * signer's key (a registry the CLI would not make). */
static uint8_t *rename_first(uint8_t *buf, size_t *len, const char *name, int signer)
{
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, *len, buf);
	Onestop__Registry *r;
	Onestop__SignedRegistry out = ONESTOP__SIGNED_REGISTRY__INIT;
	uint8_t *rb, *ob, sig[sizeof(os_sig)];
	char *old;
	size_t rl;

	assert_non_null(sr);
	r = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data);
	assert_non_null(r);
	assert_true(r->n_nodes > 0);
	old = r->nodes[0]->name;
	r->nodes[0]->name = (char *)name;
	rl = onestop__registry__get_packed_size(r);
	rb = malloc(rl);
	assert_non_null(rb);
	onestop__registry__pack(r, rb);
	r->nodes[0]->name = old;
	crypto_sign(sig, REG_CTX, rb, rl, keys[signer].sign_sk);
	out.registry.data = rb;
	out.registry.len = rl;
	out.signature.data = sig;
	out.signature.len = sizeof(sig);
	*len = onestop__signed_registry__get_packed_size(&out);
	ob = malloc(*len);
	assert_non_null(ob);
	onestop__signed_registry__pack(&out, ob);
	free(rb);
	onestop__registry__free_unpacked(r, NULL);
	onestop__signed_registry__free_unpacked(sr, NULL);
	free(buf);
	return ob;
}

/* gd's registry (gd.a, gd.b, maybe gd.new) at version, signed by signer. */
static uint8_t *province_gd(uint64_t version, int signer, unsigned flags, size_t *len)
{
	struct registry *r = NULL;
	uint8_t *b;

	assert_int_equal(registry_new(&r), 0);
	assert_int_equal(registry_set_prefix(r, "gd"), 0);
	add_node(r, "gd.a", K_GDA, REG_ROLE_SPOKE, REG_ACTIVE);
	add_node(r, "gd.b", K_GDB, REG_ROLE_SPOKE, flags & P_REVOKE_B ? REG_REVOKED : REG_ACTIVE);
	if (flags & P_NEW)
		add_node(r, "gd.new", K_GDNEW, REG_ROLE_SPOKE, REG_ACTIVE);
	b = seal(r, version, signer, len);
	return flags & P_OUTSIDE ? rename_first(b, len, "sc.x", signer) : b;
}

static uint8_t *province_sc(uint64_t version, size_t *len)
{
	struct registry *r = NULL;

	assert_int_equal(registry_new(&r), 0);
	assert_int_equal(registry_set_prefix(r, "sc"), 0);
	add_node(r, "sc.a", K_SCA, REG_ROLE_SPOKE, REG_ACTIVE);
	return seal(r, version, K_SC_ROOT, len);
}

/* Write buf (consumed) of *len bytes to path (len by address: the
 * builder called in the same argument list sets it). */
static void put_file(const char *path, uint8_t *buf, const size_t *len)
{
	assert_int_equal(os_write_file(path, buf, *len, 0600, 0), 0);
	free(buf);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || !(f->dir = tu_mkdtemp()))
		return -1;
	snprintf(f->data, sizeof(f->data), "%s/store", f->dir);
	snprintf(f->national, sizeof(f->national), "%s/national.reg", f->dir);
	snprintf(f->province, sizeof(f->province), "%s/gd.reg", f->dir);
	*state = f;
	return 0;
}

static void hub_down(struct fixture *f)
{
	if (!f->up)
		return;
	hub_modules_close(&f->h);
	registry_free(&f->h.reg);
	f->up = 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	hub_down(f);
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static const struct link_ops no_ops;

/* Start hub name (its key key) on the files: chain_load, the store,
 * chain_open and the modules. with_province: gd.reg is its
 * province_registry; parent: it has a parent. chain_load's or chain_open's
 * error. */
static int hub_up(struct fixture *f, const char *name, int key, int with_province, int parent)
{
	struct hub *h = &f->h;
	int rc;

	memset(h, 0, sizeof(*h));
	h->conf.name = (char *)name;
	h->conf.registry = f->national;
	h->conf.province_registry = with_province ? f->province : "";
	h->conf.parent_endpoint = parent ? "tcp://127.0.0.1:1" : "";
	h->conf.parent_name = "hub";
	h->conf.max_message_bytes = 1 << 20;
	h->conf.window = 1000;
	h->conf.heartbeat_ms = 1000;
	h->conf.queue_quota = 1000;
	h->conf.dataset_log_max = 1000;
	h->kp = keys[key];
	memcpy(h->anchor, keys[K_ROOT].sign_pk, sizeof(os_sign_pk));
	h->now_ms = NOW;
	h->now_us = 5000000;
	rc = chain_load(h);
	if (rc) {
		registry_free(&h->reg);
		return rc;
	}
	f->up = 1;
	assert_int_equal(store_open(f->data, 64, 16, &h->st), 0);
	rc = chain_open(h);
	if (rc) {
		hub_down(f);
		return rc;
	}
	assert_int_equal(queue_open(h, &h->queue), 0);
	assert_int_equal(dataset_open(h), 0);
	assert_int_equal(batchsig_cache_new(64, &h->sigcache), 0);
	assert_int_equal(route_new(&h->route), 0);
	assert_int_equal(route_registry_changed(h), 0);
	assert_int_equal(link_new(&no_ops, &h->link), 0);
	return 0;
}

/* Begin an iteration as the loop does (the chain of a frame is stored in
 * its transaction); end it with commit. */
static void iter_begin(struct hub *h)
{
	h->iterating = 1;
}

static void commit(struct hub *h)
{
	int rc = hub_commit(h);

	queue_txn_end(h->queue, rc == 0);
	h->iterating = 0;
	assert_int_equal(rc, 0);
}

static uint64_t part_version(const struct registry *r, const char *prefix)
{
	for (size_t i = 0; i < r->n_parts; i++)
		if (strcmp(r->parts[i].prefix, prefix) == 0)
			return r->parts[i].version;
	return 0;
}

static int active(const struct hub *h, const char *name)
{
	return registry_active_node(h->reg, name) != NULL;
}

/* ---------------------------------------------------------------- start */

static void test_start_merges_province(void **state)
{
	struct fixture *f = *state;
	size_t l;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(1, K_GD_ROOT, 0, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), 0);
	assert_int_equal(f->h.reg->n_parts, 2);
	assert_int_equal(f->h.reg->version, 2);
	assert_true(active(&f->h, "gd.a"));
	assert_true(active(&f->h, "gd.b"));
	assert_true(active(&f->h, "hub"));
}

static void test_start_refuses_outside_prefix(void **state)
{
	struct fixture *f = *state;
	size_t l;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(1, K_GD_ROOT, P_OUTSIDE, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), OS_ECONFIG);
}

static void test_start_refuses_undelegated_key(void **state)
{
	struct fixture *f = *state;
	size_t l;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(1, K_ROGUE, 0, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), OS_ECONFIG);
}

/* sc's registry is not gd.hub's to load. */
static void test_start_refuses_other_subtree(void **state)
{
	struct fixture *f = *state;
	size_t l;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_sc(1, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), OS_ECONFIG);
}

/* The stored chain keeps the newer province part over an older file; the
 * national hub refuses an older national file, a hub with a parent keeps
 * the stored national registry. */
static void test_start_highest_per_part(void **state)
{
	struct fixture *f = *state;
	size_t l;

	put_file(f->national, national(2, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(3, K_GD_ROOT, P_REVOKE_B, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), 0);
	assert_false(active(&f->h, "gd.b"));
	hub_down(f);

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(1, K_GD_ROOT, 0, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), 0);
	assert_int_equal(part_version(f->h.reg, ""), 2);
	assert_int_equal(part_version(f->h.reg, "gd"), 3);
	assert_false(active(&f->h, "gd.b"));
	hub_down(f);

	/* The same store as a hub without a parent: a rollback. */
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 0), OS_ECONFIG);
}

static void test_start_national_rollback(void **state)
{
	struct fixture *f = *state;
	size_t l;

	put_file(f->national, national(2, K_GD_ROOT, &l), &l);
	assert_int_equal(hub_up(f, "hub", K_HUB, 0, 0), 0);
	hub_down(f);
	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	assert_int_equal(hub_up(f, "hub", K_HUB, 0, 0), OS_ECONFIG);
}

/* ---------------------------------------------------------------- reload */

static void test_reload(void **state)
{
	struct fixture *f = *state;
	uint64_t v;
	size_t l;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(1, K_GD_ROOT, 0, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), 0);

	/* A new node and a revocation by the province alone. */
	put_file(f->province, province_gd(2, K_GD_ROOT, P_NEW | P_REVOKE_B, &l), &l);
	chain_reload(&f->h);
	assert_int_equal(part_version(f->h.reg, "gd"), 2);
	assert_true(active(&f->h, "gd.new"));
	assert_false(active(&f->h, "gd.b"));
	v = f->h.reg->version;

	/* Refused files leave the chain in force. */
	put_file(f->province, province_gd(3, K_ROGUE, 0, &l), &l);
	chain_reload(&f->h);
	assert_int_equal(f->h.reg->version, v);
	put_file(f->province, province_gd(3, K_GD_ROOT, P_OUTSIDE, &l), &l);
	chain_reload(&f->h);
	assert_int_equal(f->h.reg->version, v);
	assert_false(active(&f->h, "gd.b"));

	/* A newer national registry keeps the province part. */
	put_file(f->province, province_gd(2, K_GD_ROOT, P_NEW | P_REVOKE_B, &l), &l);
	put_file(f->national, national(5, K_GD_ROOT, &l), &l);
	chain_reload(&f->h);
	assert_int_equal(part_version(f->h.reg, ""), 5);
	assert_int_equal(part_version(f->h.reg, "gd"), 2);
	assert_true(active(&f->h, "gd.new"));

	/* Restarted: the stored chain is the one in force. */
	hub_down(f);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), 0);
	assert_int_equal(part_version(f->h.reg, ""), 5);
	assert_true(active(&f->h, "gd.new"));
}

/* ---------------------------------------------------------------- spreading */

/* The chain of national version nv with gd's part at gv (flags) and sc's
 * at sv (0: none): its packed bytes (malloc'd). */
static uint8_t *chain_of(uint64_t nv, uint64_t gv, unsigned flags, uint64_t sv, size_t *len)
{
	struct registry *r = NULL;
	uint8_t *b = national(nv, K_GD_ROOT, len), *p, *out;
	size_t pl;

	assert_int_equal(registry_parse(b, *len, keys[K_ROOT].sign_pk, NOW, &r), 0);
	free(b);
	if (gv) {
		p = province_gd(gv, K_GD_ROOT, flags, &pl);
		assert_int_equal(registry_adopt_part(&r, p, pl, NOW), 1);
		free(p);
	}
	if (sv) {
		p = province_sc(sv, &pl);
		assert_int_equal(registry_adopt_part(&r, p, pl, NOW), 1);
		free(p);
	}
	*len = r->signed_len;
	out = malloc(*len);
	assert_non_null(out);
	memcpy(out, r->signed_bytes, *len);
	registry_free(&r);
	return out;
}

/* The parts of a chain inside prefix, packed for a registry frame. */
static uint8_t *parts_of(const uint8_t *chain, size_t clen, const char *prefix, size_t *len)
{
	struct registry *r = NULL;
	uint8_t *out = NULL;

	assert_int_equal(registry_parse(chain, clen, keys[K_ROOT].sign_pk, NOW, &r), 0);
	assert_int_equal(registry_pack_parts(r, prefix, &out, len), 0);
	registry_free(&r);
	return out;
}

static void test_from_child(void **state)
{
	struct fixture *f = *state;
	uint8_t *c, *p;
	size_t cl, pl, l;
	uint64_t v;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	assert_int_equal(hub_up(f, "hub", K_HUB, 0, 0), 0);
	assert_null(registry_find(f->h.reg, "gd.a"));

	/* gd.hub sends gd's registry up: adopted and stored. */
	c = chain_of(1, 2, P_NEW, 0, &cl);
	p = parts_of(c, cl, "gd", &pl);
	iter_begin(&f->h);
	chain_from_child(&f->h, "gd.hub", p, pl);
	commit(&f->h);
	assert_int_equal(part_version(f->h.reg, "gd"), 2);
	assert_true(active(&f->h, "gd.new"));
	v = f->h.reg->version;

	/* Not from sc.hub (not its subtree), nor from a spoke. */
	free(p);
	free(c);
	c = chain_of(1, 3, P_REVOKE_B, 0, &cl);
	p = parts_of(c, cl, "gd", &pl);
	iter_begin(&f->h);
	chain_from_child(&f->h, "sc.hub", p, pl);
	chain_from_child(&f->h, "nat", p, pl);
	commit(&f->h);
	assert_int_equal(f->h.reg->version, v);
	assert_true(active(&f->h, "gd.b"));

	/* The same again, nothing newer: unchanged. */
	iter_begin(&f->h);
	chain_from_child(&f->h, "gd.hub", p, pl);
	commit(&f->h);
	assert_false(active(&f->h, "gd.b"));
	v = f->h.reg->version;
	iter_begin(&f->h);
	chain_from_child(&f->h, "gd.hub", p, pl);
	commit(&f->h);
	assert_int_equal(f->h.reg->version, v);
	free(p);
	free(c);

	/* Undecodable bytes are refused. */
	iter_begin(&f->h);
	chain_from_child(&f->h, "gd.hub", (const uint8_t *)"\xff\xff\xff", 3);
	commit(&f->h);
	assert_int_equal(f->h.reg->version, v);

	/* Survives a restart (stored in the iteration's transaction). */
	hub_down(f);
	assert_int_equal(hub_up(f, "hub", K_HUB, 0, 0), 0);
	assert_int_equal(part_version(f->h.reg, "gd"), 3);
}

static void test_from_parent(void **state)
{
	struct fixture *f = *state;
	uint8_t *c;
	size_t cl, l;

	put_file(f->national, national(1, K_GD_ROOT, &l), &l);
	put_file(f->province, province_gd(2, K_GD_ROOT, P_REVOKE_B, &l), &l);
	assert_int_equal(hub_up(f, "gd.hub", K_GDHUB, 1, 1), 0);

	/* The parent has a newer national registry, sc's part, and an older
	 * gd part: gd.hub's own part stays. */
	c = chain_of(2, 1, 0, 1, &cl);
	iter_begin(&f->h);
	assert_int_equal(chain_from_parent(&f->h, c, cl), 0);
	commit(&f->h);
	free(c);
	assert_int_equal(part_version(f->h.reg, ""), 2);
	assert_int_equal(part_version(f->h.reg, "gd"), 2);
	assert_int_equal(part_version(f->h.reg, "sc"), 1);
	assert_true(active(&f->h, "sc.a"));
	assert_false(active(&f->h, "gd.b"));

	/* An older national registry: a rollback, refused. */
	c = chain_of(1, 2, P_REVOKE_B, 1, &cl);
	iter_begin(&f->h);
	assert_int_equal(chain_from_parent(&f->h, c, cl), 0);
	commit(&f->h);
	free(c);
	assert_int_equal(part_version(f->h.reg, ""), 2);

	/* A chain that does not verify: dropped. */
	iter_begin(&f->h);
	assert_int_equal(chain_from_parent(&f->h, (const uint8_t *)"\x0a\x01", 2), 0);
	commit(&f->h);
	assert_int_equal(part_version(f->h.reg, ""), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_start_merges_province, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_refuses_outside_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_refuses_undelegated_key, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_start_refuses_other_subtree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_highest_per_part, setup, teardown),
		cmocka_unit_test_setup_teardown(test_start_national_rollback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_child, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_parent, setup, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
