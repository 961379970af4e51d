/* Unit tests for common/dataset.c: keys, the ChangeRequest codec, the
 * "identity" and "items" schemas, the publishing rules of
 * ds_change_allowed (rights, item ownership) and the dataset digest. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dataset.h"
#include "err.h"
#include "log.h"
#include "onestop.pb-c.h"
#include "registry.h"
#include "util.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static int setup(void **state)
{
	(void)state;
	if (crypto_setup() != 0)
		return -1;
	os_log_set_level(OS_LOG_ERROR);
	return 0;
}

/* ---------------------------------------------------------------- values */

/* An identity value with one field changed by the caller. */
struct idv {
	int kind, level, status;
	const char *authority;
};

static uint8_t *pack_identity(const struct idv *v, size_t *len)
{
	Onestop__IdentityValue iv = ONESTOP__IDENTITY_VALUE__INIT;
	iv.kind = (Onestop__SubjectKind)v->kind;
	iv.level = (uint32_t)v->level;
	iv.status = (Onestop__SubjectStatus)v->status;
	iv.authority = (char *)v->authority;
	iv.updated_ms = 1800000000000ull;
	*len = onestop__identity_value__get_packed_size(&iv);
	uint8_t *b = malloc(*len + 1);
	assert_non_null(b);
	onestop__identity_value__pack(&iv, b);
	return b;
}

struct itv {
	const char *name, *owner;
	int online;
	const char *offline_reason;
	uint32_t min_level;
	size_t n_materials, n_regions;
};

static uint8_t *pack_item(const struct itv *v, size_t *len)
{
	static Onestop__Material mats[70];
	static Onestop__Material *mp[70];
	static char *regions[70];
	assert_true(v->n_materials <= 70 && v->n_regions <= 70);
	for (size_t i = 0; i < v->n_materials; i++) {
		Onestop__Material init = ONESTOP__MATERIAL__INIT;
		mats[i] = init;
		mats[i].name = "identity card";
		mats[i].shared_data = i == 0 ? "identity" : "";
		mp[i] = &mats[i];
	}
	for (size_t i = 0; i < v->n_regions; i++)
		regions[i] = "440300";
	Onestop__ItemValue it = ONESTOP__ITEM_VALUE__INIT;
	it.name = (char *)v->name;
	it.owner = (char *)v->owner;
	it.kind = "licence";
	it.online = v->online ? 1 : 0;
	it.offline_reason = (char *)v->offline_reason;
	it.n_materials = v->n_materials;
	it.materials = mp;
	it.legal_days = 20;
	it.promised_days = 5;
	it.fee_cents = 0;
	it.n_regions = v->n_regions;
	it.regions = regions;
	it.min_level = v->min_level;
	*len = onestop__item_value__get_packed_size(&it);
	uint8_t *b = malloc(*len + 1);
	assert_non_null(b);
	onestop__item_value__pack(&it, b);
	return b;
}

static uint8_t *item_of(const char *owner, size_t *len)
{
	struct itv v = {"Food business licence", owner, 1, "", 2, 2, 1};
	return pack_item(&v, len);
}

static uint8_t *identity_ok(size_t *len)
{
	struct idv v = {ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON, 2,
			ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE, "gd.ida"};
	return pack_identity(&v, len);
}

/* ---------------------------------------------------------------- keys */

static void test_key_valid(void **state)
{
	(void)state;
	char longest[DS_KEY_MAX + 2];
	memset(longest, 'k', sizeof(longest));
	longest[DS_KEY_MAX] = '\0';
	char too_long[DS_KEY_MAX + 2];
	memset(too_long, 'k', sizeof(too_long));
	too_long[DS_KEY_MAX + 1] = '\0';
	const struct {
		const char *key;
		int want;
	} cases[] = {
		{"11440300MB2C91235A", 0},
		{"a", 0},
		{"!~", 0},
		{"subject:7f3a/9", 0},
		{longest, 0},
		{too_long, OS_EINVAL},
		{"", OS_EINVAL},
		{NULL, OS_EINVAL},
		{"with space", OS_EINVAL},
		{"tab\there", OS_EINVAL},
		{"new\nline", OS_EINVAL},
		{"del\x7f", OS_EINVAL},
		{"\xc3\xa9", OS_EINVAL},
	};
	for (size_t i = 0; i < N_OF(cases); i++)
		if (ds_key_valid(cases[i].key) != cases[i].want)
			fail_msg("key case %zu: want %d", i, cases[i].want);
}

/* ---------------------------------------------------------------- codec */

static void test_change_codec(void **state)
{
	(void)state;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct ds_change c;
	const uint8_t val[] = {1, 2, 3, 0, 5};

	assert_int_equal(ds_change_pack("items", "1144", 0, val, sizeof(val), &buf, &len), 0);
	assert_int_equal(ds_change_unpack(buf, len, &c), 0);
	assert_string_equal(c.dataset, "items");
	assert_string_equal(c.key, "1144");
	assert_int_equal(c.is_delete, 0);
	assert_int_equal(c.value_len, sizeof(val));
	assert_memory_equal(c.value, val, sizeof(val));
	ds_change_clear(&c);
	assert_null(c.priv_);
	ds_change_clear(&c); /* twice is harmless */
	free(buf);

	/* A delete drops any value it is given. */
	assert_int_equal(ds_change_pack("identity", "s-1", 1, val, sizeof(val), &buf, &len), 0);
	assert_int_equal(ds_change_unpack(buf, len, &c), 0);
	assert_int_equal(c.is_delete, 1);
	assert_int_equal(c.value_len, 0);
	ds_change_clear(&c);
	free(buf);
	assert_int_equal(ds_change_pack("identity", "s-1", 1, NULL, 0, &buf, &len), 0);
	free(buf);

	/* An empty opaque put is a value like any other. */
	assert_int_equal(ds_change_pack("blobs", "k", 0, NULL, 0, &buf, &len), 0);
	assert_int_equal(ds_change_unpack(buf, len, &c), 0);
	assert_int_equal(c.value_len, 0);
	assert_int_equal(c.is_delete, 0);
	ds_change_clear(&c);
	free(buf);

	/* The largest value round-trips; one byte more is refused. */
	uint8_t *big = calloc(1, DS_VALUE_MAX + 1);
	assert_non_null(big);
	assert_int_equal(ds_change_pack("blobs", "k", 0, big, DS_VALUE_MAX, &buf, &len), 0);
	assert_int_equal(ds_change_unpack(buf, len, &c), 0);
	assert_int_equal(c.value_len, DS_VALUE_MAX);
	ds_change_clear(&c);
	free(buf);
	buf = NULL;
	assert_int_equal(ds_change_pack("blobs", "k", 0, big, DS_VALUE_MAX + 1, &buf, &len),
			 OS_ETOOBIG);
	assert_null(buf);

	const struct {
		const char *ds, *key;
		const uint8_t *v;
		size_t vl;
		int want;
	} bad[] = {
		{"Items", "k", val, 1, OS_EINVAL},   {"", "k", val, 1, OS_EINVAL},
		{NULL, "k", val, 1, OS_EINVAL},      {"items", "", val, 1, OS_EINVAL},
		{"items", "a b", val, 1, OS_EINVAL}, {"items", NULL, val, 1, OS_EINVAL},
		{"items", "k", NULL, 3, OS_EINVAL},
	};
	for (size_t i = 0; i < N_OF(bad); i++)
		if (ds_change_pack(bad[i].ds, bad[i].key, 0, bad[i].v, bad[i].vl, &buf, &len) !=
		    bad[i].want)
			fail_msg("pack case %zu", i);

	/* Decoding refuses what packing would not produce. */
	Onestop__ChangeRequest cr = ONESTOP__CHANGE_REQUEST__INIT;
	uint8_t raw[DS_VALUE_MAX + 2048];
	const struct {
		const char *ds, *key;
		int del;
		size_t vl;
		int want;
	} dec[] = {
		{"items", "k", 0, 3, 0},
		{"items", "k", 1, 3, OS_EINVAL}, /* delete with a value */
		{"It", "k", 0, 3, OS_EINVAL},
		{"", "k", 0, 3, OS_EINVAL},
		{"items", "", 0, 3, OS_EINVAL},
		{"items", "k k", 0, 3, OS_EINVAL},
		{"items", "k", 0, DS_VALUE_MAX + 1, OS_ETOOBIG},
	};
	for (size_t i = 0; i < N_OF(dec); i++) {
		cr.dataset = (char *)dec[i].ds;
		cr.key = (char *)dec[i].key;
		cr.delete_ = dec[i].del;
		cr.value.data = big;
		cr.value.len = dec[i].vl;
		size_t n = onestop__change_request__get_packed_size(&cr);
		assert_true(n <= sizeof(raw));
		onestop__change_request__pack(&cr, raw);
		int rc = ds_change_unpack(raw, n, &c);
		if (rc != dec[i].want)
			fail_msg("decode case %zu: got %d want %d", i, rc, dec[i].want);
		if (rc == 0)
			ds_change_clear(&c);
		else
			assert_null(c.priv_);
	}
	free(big);
	assert_int_equal(ds_change_unpack((const uint8_t *)"\xff\xff\xff", 3, &c), OS_EDECODE);
	assert_int_equal(ds_change_unpack(raw, DS_VALUE_MAX + DS_KEY_MAX + 1025, &c), OS_ETOOBIG);
	assert_int_equal(ds_change_unpack(NULL, 4, &c), OS_EINVAL);
}

/* ---------------------------------------------------------------- schemas */

static void test_identity_schema(void **state)
{
	(void)state;
	enum { P = 1, E = 2, ACT = 1, SUS = 2, REV = 3, DEC = 4 };
	const struct {
		struct idv v;
		int want;
		const char *reason; /* substring of the reason */
	} cases[] = {
		{{P, 1, ACT, "gd.ida"}, 0, NULL},
		{{E, 3, SUS, "ida"}, 0, NULL},
		{{P, 2, REV, "gd.ida"}, 0, NULL},
		{{P, 2, DEC, "gd.ida"}, 0, NULL},
		{{0, 2, ACT, "gd.ida"}, OS_EINVAL, "kind"},
		{{3, 2, ACT, "gd.ida"}, OS_EINVAL, "kind"},
		{{P, 0, ACT, "gd.ida"}, OS_EINVAL, "level 0"},
		{{P, 4, ACT, "gd.ida"}, OS_EINVAL, "level 4"},
		{{P, 2, 0, "gd.ida"}, OS_EINVAL, "status"},
		{{P, 2, 5, "gd.ida"}, OS_EINVAL, "status"},
		{{P, 2, ACT, ""}, OS_EINVAL, "authority"},
		{{P, 2, ACT, "GD IDA"}, OS_EINVAL, "authority"},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		size_t len;
		uint8_t *b = pack_identity(&cases[i].v, &len);
		char reason[256] = "";
		int rc = ds_identity_check(b, len, reason, sizeof(reason));
		if (rc != cases[i].want)
			fail_msg("identity case %zu: got %d want %d", i, rc, cases[i].want);
		if (cases[i].reason != NULL && strstr(reason, cases[i].reason) == NULL)
			fail_msg("identity case %zu: reason \"%s\"", i, reason);
		free(b);
	}
	char reason[128];
	assert_int_equal(ds_identity_check((const uint8_t *)"\xff\xff", 2, reason, sizeof(reason)),
			 OS_EINVAL);
	/* The empty message has no kind. */
	assert_int_equal(ds_identity_check(NULL, 0, NULL, 0), OS_EINVAL);
}

static void test_item_schema(void **state)
{
	(void)state;
	char name256[257], name257[258];
	memset(name256, 'n', 256);
	name256[256] = '\0';
	memset(name257, 'n', 257);
	name257[257] = '\0';
	const struct {
		struct itv v;
		int want;
		const char *reason;
	} cases[] = {
		{{"Food licence", "gd.sz", 1, "", 0, 0, 0}, 0, NULL},
		{{"Food licence", "gd.sz", 0, "needs an on-site inspection", 3, 64, 64}, 0, NULL},
		{{name256, "gd", 1, "", 1, 1, 1}, 0, NULL},
		{{"Food licence", "gd.sz", 0, "", 0, 0, 0},
		 OS_EINVAL,
		 "offline-only item needs offline_reason"},
		{{"", "gd.sz", 1, "", 0, 0, 0}, OS_EINVAL, "name"},
		{{name257, "gd.sz", 1, "", 0, 0, 0}, OS_EINVAL, "name"},
		{{"Food licence", "", 1, "", 0, 0, 0}, OS_EINVAL, "owner"},
		{{"Food licence", "GD.SZ", 1, "", 0, 0, 0}, OS_EINVAL, "owner"},
		{{"Food licence", "gd.sz", 1, "", 4, 0, 0}, OS_EINVAL, "min_level"},
		{{"Food licence", "gd.sz", 1, "", 0, 65, 0}, OS_EINVAL, "materials"},
		{{"Food licence", "gd.sz", 1, "", 0, 0, 65}, OS_EINVAL, "regions"},
	};
	for (size_t i = 0; i < N_OF(cases); i++) {
		size_t len;
		uint8_t *b = pack_item(&cases[i].v, &len);
		char reason[256] = "";
		int rc = ds_item_check(b, len, reason, sizeof(reason));
		if (rc != cases[i].want)
			fail_msg("item case %zu: got %d want %d", i, rc, cases[i].want);
		if (cases[i].reason != NULL && strstr(reason, cases[i].reason) == NULL)
			fail_msg("item case %zu: reason \"%s\"", i, reason);
		free(b);
	}
	assert_int_equal(ds_item_check((const uint8_t *)"\x0a\xff", 2, NULL, 0), OS_EINVAL);
	/* A tiny reason buffer is still terminated. */
	struct itv off = {"x", "gd.sz", 0, "", 0, 0, 0};
	size_t len;
	uint8_t *b = pack_item(&off, &len);
	char small[8];
	assert_int_equal(ds_item_check(b, len, small, sizeof(small)), OS_EINVAL);
	assert_int_equal(strlen(small), sizeof(small) - 1);
	free(b);
}

/* ---------------------------------------------------------------- rights */

static char *pub_sz[] = {"items", "identity", "blobs"};
static char *pub_gz[] = {"items"};
static char *pub_undeclared[] = {"items", "ghost"};
static char *star[] = {"*"};

static void add_node(struct registry *r, char *name, uint8_t seed, enum reg_status st,
		     char **publish, size_t n_publish)
{
	struct reg_node n;
	memset(&n, 0, sizeof(n));
	n.name = name;
	n.roles = REG_ROLE_SPOKE;
	memset(n.sign_pk, seed, 32);
	memset(n.box_pk, seed ^ 0xff, 32);
	n.key_version = 1;
	n.status = st;
	n.n_types = 1;
	n.allowed_types = star;
	n.n_publish = n_publish;
	n.publish = publish;
	assert_int_equal(registry_add(r, &n), 0);
}

static struct registry *rights_registry(void)
{
	struct registry *r = NULL;
	assert_int_equal(registry_new(&r), 0);
	add_node(r, "gd.sz", 1, REG_ACTIVE, pub_sz, N_OF(pub_sz));
	add_node(r, "gd.gz", 2, REG_ACTIVE, pub_gz, N_OF(pub_gz));
	add_node(r, "gd.old", 3, REG_REVOKED, pub_gz, N_OF(pub_gz));
	add_node(r, "gd.off", 4, REG_SUSPENDED, pub_gz, N_OF(pub_gz));
	add_node(r, "gd.ro", 5, REG_ACTIVE, NULL, 0);
	add_node(r, "gd.x", 6, REG_ACTIVE, pub_undeclared, N_OF(pub_undeclared));
	assert_int_equal(registry_set_dataset(r, "items", REG_DS_FULL), 0);
	assert_int_equal(registry_set_dataset(r, "identity", REG_DS_CACHED), 0);
	assert_int_equal(registry_set_dataset(r, "blobs", REG_DS_FULL), 0);
	return r;
}

enum cur { CUR_NONE, CUR_SZ, CUR_GZ, CUR_GARBAGE };
enum val {
	V_NONE,
	V_ITEM_SZ,
	V_ITEM_GZ,
	V_ITEM_OFFLINE_NO_REASON,
	V_IDENTITY,
	V_IDENTITY_BAD,
	V_GARBAGE
};

static void test_change_allowed_table(void **state)
{
	(void)state;
	struct registry *r = rights_registry();
	const struct {
		const char *what;
		const char *publisher, *dataset, *key;
		int del;
		enum val v;
		enum cur cur;
		int want;
		const char *reason;
	} cases[] = {
		{"own item put", "gd.sz", "items", "1144", 0, V_ITEM_SZ, CUR_NONE, 0, NULL},
		{"own item replace", "gd.sz", "items", "1144", 0, V_ITEM_SZ, CUR_SZ, 0, NULL},
		{"item of another owner", "gd.sz", "items", "1144", 0, V_ITEM_GZ, CUR_NONE,
		 OS_ENOTALLOWED, "item 1144 is owned by gd.gz, not gd.sz"},
		{"take over a stored item", "gd.sz", "items", "1144", 0, V_ITEM_SZ, CUR_GZ,
		 OS_ENOTALLOWED, "item 1144 is owned by gd.gz, not gd.sz"},
		{"offline without reason", "gd.sz", "items", "1144", 0, V_ITEM_OFFLINE_NO_REASON,
		 CUR_NONE, OS_EINVAL, "offline-only item needs offline_reason"},
		{"item not an ItemValue", "gd.sz", "items", "1144", 0, V_GARBAGE, CUR_NONE,
		 OS_EINVAL, NULL},
		{"delete own item", "gd.sz", "items", "1144", 1, V_NONE, CUR_SZ, 0, NULL},
		{"delete another's item", "gd.sz", "items", "1144", 1, V_NONE, CUR_GZ,
		 OS_ENOTALLOWED, "item 1144 is owned by gd.gz, not gd.sz"},
		{"delete by its owner", "gd.gz", "items", "1144", 1, V_NONE, CUR_GZ, 0, NULL},
		{"delete absent item", "gd.gz", "items", "1144", 1, V_NONE, CUR_NONE, 0, NULL},
		{"delete absent, no right", "gd.ro", "items", "1144", 1, V_NONE, CUR_NONE,
		 OS_ENOTALLOWED, "node gd.ro may not publish dataset \"items\""},
		{"delete undecodable stored item", "gd.sz", "items", "1144", 1, V_NONE, CUR_GARBAGE,
		 OS_EINVAL, NULL},
		{"identity put", "gd.sz", "identity", "s-7f3a", 0, V_IDENTITY, CUR_NONE, 0, NULL},
		{"identity bad schema", "gd.sz", "identity", "s-7f3a", 0, V_IDENTITY_BAD, CUR_NONE,
		 OS_EINVAL, "level"},
		{"identity delete", "gd.sz", "identity", "s-7f3a", 1, V_NONE, CUR_NONE, 0, NULL},
		{"identity without right", "gd.gz", "identity", "s-7f3a", 0, V_IDENTITY, CUR_NONE,
		 OS_ENOTALLOWED, "node gd.gz may not publish dataset \"identity\""},
		{"opaque put", "gd.sz", "blobs", "k", 0, V_GARBAGE, CUR_NONE, 0, NULL},
		{"opaque empty put", "gd.sz", "blobs", "k", 0, V_NONE, CUR_NONE, 0, NULL},
		{"opaque delete", "gd.sz", "blobs", "k", 1, V_NONE, CUR_GZ, 0, NULL},
		{"undeclared dataset", "gd.x", "ghost", "k", 0, V_GARBAGE, CUR_NONE, OS_ENOTFOUND,
		 "dataset \"ghost\" is not declared"},
		{"unknown publisher", "gd.nobody", "items", "1144", 0, V_ITEM_SZ, CUR_NONE,
		 OS_ENOTALLOWED, "not in the registry"},
		{"revoked publisher", "gd.old", "items", "1144", 0, V_ITEM_SZ, CUR_NONE,
		 OS_ENOTALLOWED, "revoked"},
		{"suspended publisher", "gd.off", "items", "1144", 1, V_NONE, CUR_NONE,
		 OS_ENOTALLOWED, "suspended"},
		{"bad key", "gd.sz", "blobs", "a b", 0, V_GARBAGE, CUR_NONE, OS_EINVAL, "key"},
	};
	size_t lens[7] = {0};
	uint8_t *vals[7] = {NULL};
	struct itv no_reason = {"Food licence", "gd.sz", 0, "", 0, 0, 0};
	struct idv bad_id = {1, 9, 1, "gd.ida"};
	vals[V_ITEM_SZ] = item_of("gd.sz", &lens[V_ITEM_SZ]);
	vals[V_ITEM_GZ] = item_of("gd.gz", &lens[V_ITEM_GZ]);
	vals[V_ITEM_OFFLINE_NO_REASON] = pack_item(&no_reason, &lens[V_ITEM_OFFLINE_NO_REASON]);
	vals[V_IDENTITY] = identity_ok(&lens[V_IDENTITY]);
	vals[V_IDENTITY_BAD] = pack_identity(&bad_id, &lens[V_IDENTITY_BAD]);
	vals[V_GARBAGE] = (uint8_t *)strdup("\xff\xff\xfe");
	lens[V_GARBAGE] = 3;
	const uint8_t *curs[4] = {NULL, vals[V_ITEM_SZ], vals[V_ITEM_GZ], vals[V_GARBAGE]};
	size_t cur_lens[4] = {0, lens[V_ITEM_SZ], lens[V_ITEM_GZ], lens[V_GARBAGE]};

	for (size_t i = 0; i < N_OF(cases); i++) {
		struct ds_change c;
		memset(&c, 0, sizeof(c));
		snprintf(c.dataset, sizeof(c.dataset), "%s", cases[i].dataset);
		snprintf(c.key, sizeof(c.key), "%s", cases[i].key);
		c.is_delete = cases[i].del;
		c.value = vals[cases[i].v];
		c.value_len = lens[cases[i].v];
		char reason[256] = "";
		int rc = ds_change_allowed(r, cases[i].publisher, &c, curs[cases[i].cur],
					   cur_lens[cases[i].cur], reason, sizeof(reason));
		if (rc != cases[i].want)
			fail_msg("case \"%s\": got %d want %d (%s)", cases[i].what, rc,
				 cases[i].want, reason);
		if (getenv("ONESTOP_TEST_VERBOSE") != NULL)
			print_message("%-32s %-14s %s\n", cases[i].what, os_errname(rc), reason);
		if (cases[i].reason != NULL && strstr(reason, cases[i].reason) == NULL)
			fail_msg("case \"%s\": reason \"%s\"", cases[i].what, reason);
		if (rc != 0 && reason[0] == '\0')
			fail_msg("case \"%s\": refusal without a reason", cases[i].what);
	}

	/* Through the codec, as the hub sees it. */
	uint8_t *buf;
	size_t len;
	struct ds_change c;
	assert_int_equal(ds_change_pack("items", "1144", 0, vals[V_ITEM_SZ], lens[V_ITEM_SZ], &buf,
					&len),
			 0);
	assert_int_equal(ds_change_unpack(buf, len, &c), 0);
	assert_int_equal(ds_change_allowed(r, "gd.sz", &c, NULL, 0, NULL, 0), 0);
	assert_int_equal(ds_change_allowed(r, "gd.gz", &c, NULL, 0, NULL, 0), OS_ENOTALLOWED);
	ds_change_clear(&c);
	free(buf);
	assert_int_equal(ds_change_allowed(NULL, "gd.sz", &c, NULL, 0, NULL, 0), OS_EINVAL);

	for (size_t i = 0; i < N_OF(vals); i++)
		free(vals[i]);
	registry_free(&r);
}

/* ---------------------------------------------------------------- digest */

struct entry {
	const char *key;
	const char *signed_env;
};

static void digest_of(const struct entry *e, size_t n, os_hash out, uint64_t *count)
{
	struct ds_digest d;
	ds_digest_init(&d);
	for (size_t i = 0; i < n; i++)
		ds_digest_add(&d, e[i].key, strlen(e[i].key), (const uint8_t *)e[i].signed_env,
			      strlen(e[i].signed_env));
	if (count != NULL)
		*count = d.count;
	ds_digest_final(&d, out);
}

static void test_digest(void **state)
{
	(void)state;
	const struct entry a[] = {{"1144", "signed-a"}, {"1145", "signed-b"}, {"2001", "signed-c"}};
	const struct entry same[] = {{"1144", "signed-a"},
				     {"1145", "signed-b"},
				     {"2001", "signed-c"}};
	const struct entry value_differs[] = {{"1144", "signed-a"},
					      {"1145", "signed-B"},
					      {"2001", "signed-c"}};
	const struct entry key_differs[] = {{"1144", "signed-a"},
					    {"1146", "signed-b"},
					    {"2001", "signed-c"}};
	const struct entry missing[] = {{"1144", "signed-a"}, {"2001", "signed-c"}};
	/* Same bytes, other boundaries: the lengths keep them apart. */
	const struct entry shifted[] = {{"1144s", "igned-a"},
					{"1145", "signed-b"},
					{"2001", "signed-c"}};
	os_hash h, h2;
	uint64_t count;
	digest_of(a, 3, h, &count);
	assert_int_equal(count, 3);
	digest_of(same, 3, h2, NULL);
	assert_memory_equal(h, h2, sizeof(os_hash));
	const struct {
		const struct entry *e;
		size_t n;
	} differ[] = {{value_differs, 3}, {key_differs, 3}, {missing, 2}, {shifted, 3}, {a, 0}};
	for (size_t i = 0; i < N_OF(differ); i++) {
		digest_of(differ[i].e, differ[i].n, h2, NULL);
		if (memcmp(h, h2, sizeof(os_hash)) == 0)
			fail_msg("digest case %zu equals the original", i);
	}

	/* The digest is BLAKE2b-256 over the framed entries, as documented. */
	uint8_t framed[256];
	size_t n = 0;
	for (size_t i = 0; i < 3; i++) {
		size_t kl = strlen(a[i].key), sl = strlen(a[i].signed_env);
		framed[n++] = 0, framed[n++] = 0, framed[n++] = 0, framed[n++] = (uint8_t)kl;
		memcpy(framed + n, a[i].key, kl);
		n += kl;
		framed[n++] = 0, framed[n++] = 0, framed[n++] = 0, framed[n++] = (uint8_t)sl;
		memcpy(framed + n, a[i].signed_env, sl);
		n += sl;
	}
	crypto_hash(h2, framed, n);
	assert_memory_equal(h, h2, sizeof(os_hash));
	/* Empty dataset: BLAKE2b-256 of nothing. */
	digest_of(a, 0, h, &count);
	assert_int_equal(count, 0);
	crypto_hash(h2, NULL, 0);
	assert_memory_equal(h, h2, sizeof(os_hash));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_change_codec),
		cmocka_unit_test(test_identity_schema),
		cmocka_unit_test(test_item_schema),
		cmocka_unit_test(test_change_allowed_table),
		cmocka_unit_test(test_digest),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
