/* Unit tests for common/filing.c: each filing rule refuses with its code and
 * a sentence naming it, an offline-only item answers its reason and owner,
 * a complete filing passes, and the rules are checked in their order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "filing.h"
#include "onestop.pb-c.h"

#define ITEM_CODE "11440300MB2D"
#define OWNER "gd.sz.market"
#define HALL "gd.sz.hall"
#define LICENCE "SZ-2026-000123"
#define SUBJECT "p-7f3a9c"

/* The item of every test: a food business licence of the Shenzhen market
 * regulator, online, level 2, with three materials: the applicant's
 * identity and a business licence (both shared data) and a floor plan. */
struct item_spec {
	int online;
	const char *offline_reason;
	uint32_t min_level;
};

static uint8_t *pack_item(const struct item_spec *s, size_t *len)
{
	Onestop__Material m[3], *mp[3];
	const char *names[3] = {"ID card", "business licence", "floor plan"};
	const char *shared[3] = {"identity", "licences", ""};
	for (int i = 0; i < 3; i++) {
		Onestop__Material init = ONESTOP__MATERIAL__INIT;
		m[i] = init;
		m[i].name = (char *)names[i];
		m[i].shared_data = (char *)shared[i];
		mp[i] = &m[i];
	}
	Onestop__ItemValue it = ONESTOP__ITEM_VALUE__INIT;
	it.name = "Food business licence";
	it.owner = OWNER;
	it.kind = "licence";
	it.online = s->online ? 1 : 0;
	it.offline_reason = (char *)s->offline_reason;
	it.n_materials = 3;
	it.materials = mp;
	it.legal_days = 20;
	it.promised_days = 5;
	it.min_level = s->min_level;
	*len = onestop__item_value__get_packed_size(&it);
	uint8_t *b = malloc(*len + 1);
	assert_non_null(b);
	onestop__item_value__pack(&it, b);
	return b;
}

/* A complete filing: every rule holds. The test changes one thing. */
struct fixture {
	uint8_t *item;
	size_t item_len;
	struct assertion a;
	struct filing_material given[3];
	struct filing_request req;
	struct filing_result res;
	char why[512];
};

static void fixture_init(struct fixture *f, const struct item_spec *s)
{
	memset(f, 0, sizeof(*f));
	f->item = pack_item(s, &f->item_len);
	strcpy(f->a.issuer, "gd.ida");
	strcpy(f->a.subject, SUBJECT);
	f->a.level = 2;
	f->given[0] = (struct filing_material){FILING_SHARED, NULL, "identity", SUBJECT, 1};
	f->given[1] = (struct filing_material){FILING_SHARED, NULL, "licences", LICENCE, 1};
	f->given[2] = (struct filing_material){FILING_UPLOAD, "floor plan", NULL, NULL, 0};
	f->req.item_code = ITEM_CODE;
	f->req.item = f->item;
	f->req.item_len = f->item_len;
	f->req.assertion_rc = 0;
	f->req.assertion = &f->a;
	f->req.materials = f->given;
	f->req.n_materials = 3;
	f->req.filer = HALL;
}

static void fixture_online(struct fixture *f)
{
	struct item_spec s = {1, "", 2};
	fixture_init(f, &s);
}

static void fixture_free(struct fixture *f)
{
	free(f->item);
	f->item = NULL;
}

static int check(struct fixture *f)
{
	return filing_check(&f->req, &f->res, f->why, sizeof(f->why));
}

/* The refusal has code and a why holding every one of the words. */
static void refused(struct fixture *f, int code, const char *const *words, size_t n)
{
	int rc = check(f);
	if (rc != code)
		fail_msg("expected %s, got %s: %s", os_errname(code), os_errname(rc), f->why);
	for (size_t i = 0; i < n; i++)
		if (strstr(f->why, words[i]) == NULL)
			fail_msg("why \"%s\" does not name \"%s\"", f->why, words[i]);
}

static void test_success(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);
	strcpy(f.why, "left over");
	assert_int_equal(check(&f), 0);
	assert_string_equal(f.why, "");
	assert_string_equal(f.res.owner, OWNER);
	assert_string_equal(f.res.offline_reason, "");
	assert_int_equal(f.res.legal_days, 20);
	assert_int_equal(f.res.promised_days, 5);

	/* A higher level than required is fine; so is a material given twice,
	 * a reference named after the material it stands for, and an upload
	 * the item does not list. */
	f.a.level = 3;
	struct filing_material more[5] = {
		f.given[0],
		f.given[1],
		f.given[2],
		{FILING_SHARED, "ID card", "identity", SUBJECT, 1},
		{FILING_UPLOAD, "photo", NULL, NULL, 0},
	};
	f.req.materials = more;
	f.req.n_materials = 5;
	assert_int_equal(check(&f), 0);

	/* The floor plan as a named reference instead of an upload. */
	more[2] = (struct filing_material){FILING_SHARED, "floor plan", "plans", "SZ-PLAN-9", 1};
	f.req.n_materials = 3;
	assert_int_equal(check(&f), 0);
	fixture_free(&f);
}

static void test_no_item(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);
	f.req.item = NULL;
	f.req.item_len = 0;
	const char *w[] = {"no item " ITEM_CODE};
	refused(&f, OS_ENOTFOUND, w, 1);
	assert_string_equal(f.res.owner, "");
	fixture_free(&f);
}

/* A local entry that is no ItemValue, or breaks its schema, is damage. */
static void test_damaged_item(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);
	const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff};
	f.req.item = garbage;
	f.req.item_len = sizeof(garbage);
	const char *w[] = {ITEM_CODE, "damaged"};
	refused(&f, OS_EDECODE, w, 2);
	fixture_free(&f);

	struct item_spec bad = {1, "", 7}; /* min_level over 3 */
	fixture_init(&f, &bad);
	const char *w2[] = {"damaged", "min_level 7"};
	refused(&f, OS_EDECODE, w2, 2);
	fixture_free(&f);
}

/* An offline-only item answers its reason and its owner, in res and in
 * why, so that the counter sends the person to the right hall. */
static void test_offline(void **state)
{
	(void)state;
	struct fixture f;
	struct item_spec s = {0, "an inspector visits the premises first", 2};
	fixture_init(&f, &s);
	const char *w[] = {"must be done offline", "an inspector visits the premises first", OWNER,
			   ITEM_CODE};
	refused(&f, OS_EOFFLINE, w, 4);
	assert_string_equal(f.res.owner, OWNER);
	assert_string_equal(f.res.offline_reason, "an inspector visits the premises first");
	assert_string_equal(os_errname(OS_EOFFLINE), "EOFFLINE");
	assert_string_equal(os_strerror(OS_EOFFLINE), "item must be done offline");
	fixture_free(&f);
}

/* A long reason is kept whole up to FILING_REASON_MAX - 1 bytes, cut
 * between characters, never inside one; a small why is cut the same way. */
static void test_offline_long_reason(void **state)
{
	(void)state;
	static char reason[3 * FILING_REASON_MAX + 2];
	/* "x" then three-byte characters: the 1023 bytes kept would end
	 * inside one. */
	reason[0] = 'x';
	for (size_t i = 1; i + 3 < sizeof(reason); i += 3)
		memcpy(reason + i, "\xe9\xa1\xbb", 3);
	reason[sizeof(reason) - 1] = '\0';
	struct fixture f;
	struct item_spec s = {0, reason, 2};
	fixture_init(&f, &s);
	assert_int_equal(check(&f), OS_EOFFLINE);
	size_t n = strlen(f.res.offline_reason);
	assert_true(n < FILING_REASON_MAX);
	assert_int_equal((n - 1) % 3, 0);
	assert_true(n >= FILING_REASON_MAX - 3);
	assert_memory_equal(f.res.offline_reason, reason, n);

	char small[20];
	assert_int_equal(filing_check(&f.req, &f.res, small, sizeof(small)), OS_EOFFLINE);
	assert_int_equal(strncmp(small, "item " ITEM_CODE " must", strlen(small)), 0);
	/* A why of one byte is "" and none at all is allowed. */
	assert_int_equal(filing_check(&f.req, &f.res, small, 1), OS_EOFFLINE);
	assert_string_equal(small, "");
	assert_int_equal(filing_check(&f.req, &f.res, NULL, 0), OS_EOFFLINE);
	fixture_free(&f);
}

/* The verifier's refusal passes through with its code and its sentence. */
static void test_assertion_refused(void **state)
{
	(void)state;
	const int codes[] = {OS_EDECODE,   OS_EISSUER, OS_EBADSIG,  OS_EEXPIRED,
			     OS_EAUDIENCE, OS_EREPLAY, OS_ESUBJECT, OS_ELEVEL};
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		struct fixture f;
		fixture_online(&f);
		f.req.assertion_rc = codes[i];
		f.req.assertion = NULL;
		f.req.assertion_why = "the verifier's own sentence";
		const char *w[] = {"assertion", os_errname(codes[i]),
				   "the verifier's own sentence"};
		refused(&f, codes[i], w, 3);
		/* Without a sentence, the code's message stands in. */
		f.req.assertion_why = NULL;
		const char *w2[] = {os_strerror(codes[i])};
		refused(&f, codes[i], w2, 1);
		fixture_free(&f);
	}
}

static void test_level(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);
	f.a.level = 1;
	const char *w[] = {"requires real-name level 2", "level 1", ITEM_CODE};
	refused(&f, OS_ELEVEL, w, 3);
	fixture_free(&f);

	/* A level-0 item takes any verified assertion. */
	struct item_spec s = {1, "", 0};
	fixture_init(&f, &s);
	f.a.level = 0;
	assert_int_equal(check(&f), 0);
	fixture_free(&f);
}

static void test_material_missing(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);

	/* Without the identity reference. */
	f.req.materials = f.given + 1;
	f.req.n_materials = 2;
	const char *w[] = {"required material missing", "\"ID card\"", "dataset identity"};
	refused(&f, OS_EMATERIAL, w, 3);
	assert_null(strstr(f.why, "floor plan"));

	/* A shared material is not given by an upload of its name, nor by a
	 * reference to another dataset or one named for another material. */
	struct filing_material g[3] = {
		{FILING_UPLOAD, "ID card", NULL, NULL, 0},
		{FILING_SHARED, NULL, "licences", LICENCE, 1},
		{FILING_UPLOAD, "floor plan", NULL, NULL, 0},
	};
	f.req.materials = g;
	f.req.n_materials = 3;
	refused(&f, OS_EMATERIAL, w, 3);
	g[0] = (struct filing_material){FILING_SHARED, NULL, "passports", SUBJECT, 1};
	refused(&f, OS_EMATERIAL, w, 3);
	g[0] = (struct filing_material){FILING_SHARED, "floor plan", "identity", SUBJECT, 1};
	refused(&f, OS_EMATERIAL, w, 3);

	/* An upload of another name is not the floor plan. */
	g[0] = f.given[0];
	g[2] = (struct filing_material){FILING_UPLOAD, "floor-plan", NULL, NULL, 0};
	const char *w2[] = {"\"floor plan\" (an upload or a reference)"};
	refused(&f, OS_EMATERIAL, w2, 1);

	/* Nothing given: every missing material is named, in the item's order. */
	f.req.materials = NULL;
	f.req.n_materials = 0;
	const char *w3[] = {"required material missing for item " ITEM_CODE
			    ": \"ID card\" (a reference to dataset identity), \"business licence\" "
			    "(a reference to dataset licences), \"floor plan\" (an upload or a "
			    "reference)"};
	refused(&f, OS_EMATERIAL, w3, 1);
	assert_string_equal(os_errname(OS_EMATERIAL), "EMATERIAL");
	assert_string_equal(os_strerror(OS_EMATERIAL), "required material missing");
	fixture_free(&f);
}

static void test_reference_unresolved(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);
	f.given[1].resolved = 0;
	const char *w[] = {"shared data licences:" LICENCE " not found"};
	refused(&f, OS_ENOTFOUND, w, 1);
	assert_null(strstr(f.why, "more"));
	assert_string_equal(f.res.owner, OWNER);

	/* Two unresolved: the first is named, the other counted. */
	f.given[0].resolved = 0;
	const char *w2[] = {"shared data identity:" SUBJECT " not found", "and 1 more"};
	refused(&f, OS_ENOTFOUND, w2, 2);

	/* A reference the item does not require must resolve too. */
	f.given[0].resolved = 1;
	f.given[1].resolved = 1;
	struct filing_material more[4] = {f.given[0],
					  f.given[1],
					  f.given[2],
					  {FILING_SHARED, NULL, "licences", "SZ-2019-000001", 0}};
	f.req.materials = more;
	f.req.n_materials = 4;
	const char *w3[] = {"licences:SZ-2019-000001"};
	refused(&f, OS_ENOTFOUND, w3, 1);
	/* An upload's resolved flag means nothing. */
	more[3] = (struct filing_material){FILING_UPLOAD, "photo", NULL, NULL, 0};
	assert_int_equal(check(&f), 0);
	fixture_free(&f);
}

/* With every rule broken, each repair reveals the next rule's refusal:
 * the item, online, the assertion, its level, the materials, the refs. */
static void test_order(void **state)
{
	(void)state;
	struct fixture f;
	struct item_spec s = {0, "bring the originals", 2};
	fixture_init(&f, &s);
	struct item_spec on = {1, "", 2};
	size_t online_len = 0;
	uint8_t *online = pack_item(&on, &online_len);
	uint8_t *offline = f.item;
	struct filing_material g[2] = {
		{FILING_SHARED, NULL, "identity", SUBJECT, 0},
		{FILING_SHARED, NULL, "licences", LICENCE, 0},
	};
	f.req.item = NULL;
	f.req.item_len = 0;
	f.req.assertion_rc = OS_EEXPIRED;
	f.req.assertion = &f.a;
	f.a.level = 1;
	f.req.materials = g;
	f.req.n_materials = 2;

	assert_int_equal(check(&f), OS_ENOTFOUND);
	assert_non_null(strstr(f.why, "no item"));
	f.req.item = offline;
	f.req.item_len = f.item_len;
	assert_int_equal(check(&f), OS_EOFFLINE);
	f.req.item = online;
	f.req.item_len = online_len;
	assert_int_equal(check(&f), OS_EEXPIRED);
	f.req.assertion_rc = 0;
	assert_int_equal(check(&f), OS_ELEVEL);
	f.a.level = 2;
	assert_int_equal(check(&f), OS_EMATERIAL);
	struct filing_material all[3] = {g[0], g[1], {FILING_UPLOAD, "floor plan", NULL, NULL, 0}};
	f.req.materials = all;
	f.req.n_materials = 3;
	assert_int_equal(check(&f), OS_ENOTFOUND);
	assert_non_null(strstr(f.why, "identity:" SUBJECT));
	all[0].resolved = 1;
	all[1].resolved = 1;
	assert_int_equal(check(&f), 0);
	free(online);
	fixture_free(&f);
}

/* A malformed request is EINVAL before any rule, and res holds nothing. */
static void test_malformed(void **state)
{
	(void)state;
	struct fixture f;
	fixture_online(&f);
	char why[256];
	assert_int_equal(filing_check(NULL, &f.res, why, sizeof(why)), OS_EINVAL);
	assert_int_equal(filing_check(&f.req, NULL, why, sizeof(why)), OS_EINVAL);

	struct filing_request good = f.req;
	f.req.item = NULL; /* also not found: EINVAL wins */
	f.req.item_code = "";
	assert_int_equal(check(&f), OS_EINVAL);
	assert_non_null(strstr(f.why, "item code"));
	f.req = good;
	f.req.item_code = "has space";
	assert_int_equal(check(&f), OS_EINVAL);
	f.req = good;
	f.req.filer = "Not A Node!";
	assert_int_equal(check(&f), OS_EINVAL);
	f.req = good;
	f.req.filer = NULL;
	assert_int_equal(check(&f), OS_EINVAL);
	f.req = good;
	f.req.item_len = DS_VALUE_MAX + 1;
	assert_int_equal(check(&f), OS_EINVAL);
	f.req = good;
	f.req.assertion = NULL;
	assert_int_equal(check(&f), OS_EINVAL);
	f.req = good;
	f.req.assertion_rc = 3;
	assert_int_equal(check(&f), OS_EINVAL);
	f.req.assertion_rc = OS_ERR_MIN - 1;
	assert_int_equal(check(&f), OS_EINVAL);
	f.req = good;
	f.req.n_materials = FILING_GIVEN_MAX + 1;
	assert_int_equal(check(&f), OS_EINVAL);
	f.req.materials = NULL;
	f.req.n_materials = 1;
	assert_int_equal(check(&f), OS_EINVAL);

	const struct filing_material bad[] = {
		{FILING_UPLOAD, NULL, NULL, NULL, 0},
		{FILING_UPLOAD, "", NULL, NULL, 0},
		{FILING_SHARED, NULL, NULL, SUBJECT, 1},
		{FILING_SHARED, NULL, "identity", NULL, 1},
		{FILING_SHARED, NULL, "identity", "", 1},
		{FILING_SHARED, NULL, "Bad Dataset", SUBJECT, 1},
		{(enum filing_source)0, "floor plan", NULL, NULL, 0},
		{(enum filing_source)3, "floor plan", "identity", SUBJECT, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct filing_material g[3] = {f.given[0], f.given[1], bad[i]};
		f.req = good;
		f.req.materials = g;
		strcpy(f.res.owner, "stale");
		if (check(&f) != OS_EINVAL)
			fail_msg("bad material %zu accepted: %s", i, f.why);
		assert_non_null(strstr(f.why, "material 3"));
		assert_string_equal(f.res.owner, "");
	}
	fixture_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success),
		cmocka_unit_test(test_no_item),
		cmocka_unit_test(test_damaged_item),
		cmocka_unit_test(test_offline),
		cmocka_unit_test(test_offline_long_reason),
		cmocka_unit_test(test_assertion_refused),
		cmocka_unit_test(test_level),
		cmocka_unit_test(test_material_missing),
		cmocka_unit_test(test_reference_unresolved),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
