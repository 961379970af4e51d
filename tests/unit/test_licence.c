/* Unit tests for common/licence.c: a licence packs and decodes; a change to
 * "licences" must keep its schema (number = key, issuer = publisher, no
 * rewriting another's licence); and the check of a licence given as a
 * material refuses a forged, revoked, expired or foreign one with its code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "licence.h"

#define OWNER "gd.sz.market"
#define OTHER "gd.sz.health"
#define NUMBER "LIC-0001"
#define DAY_MS (86400ull * 1000u)
#define T0 1796083200000ull /* 2026-12-01 00:00 UTC */

static struct licence sample(void)
{
	struct licence l;
	memset(&l, 0, sizeof l);
	snprintf(l.number, sizeof l.number, "%s", NUMBER);
	snprintf(l.item, sizeof l.item, "11440300MB2D");
	snprintf(l.holder, sizeof l.holder, "p-7f3a9c");
	snprintf(l.issuer, sizeof l.issuer, "%s", OWNER);
	l.valid_from_ms = T0;
	l.valid_until_ms = T0 + 365 * DAY_MS;
	return l;
}

static void test_pack_decode(void **state)
{
	(void)state;
	struct licence l = sample(), back;
	uint8_t *buf;
	size_t len;
	l.revoked = 1;
	assert_int_equal(licence_pack(&l, &buf, &len), 0);
	assert_int_equal(licence_decode(buf, len, &back), 0);
	assert_string_equal(back.number, NUMBER);
	assert_string_equal(back.issuer, OWNER);
	assert_string_equal(back.holder, "p-7f3a9c");
	assert_int_equal(back.valid_until_ms, T0 + 365 * DAY_MS);
	assert_int_equal(back.revoked, 1);
	free(buf);
	const uint8_t junk[] = {0xff, 0xff, 0xff};
	assert_int_equal(licence_decode(junk, sizeof junk, &back), OS_EDECODE);
	assert_int_equal(licence_decode(NULL, 0, NULL), OS_EINVAL);
}

static void test_change_schema(void **state)
{
	(void)state;
	struct licence l = sample();
	uint8_t *buf, *other;
	size_t len, olen;
	char why[256];
	assert_int_equal(licence_pack(&l, &buf, &len), 0);
	assert_int_equal(licence_change_check(NUMBER, OWNER, buf, len, NULL, 0, why, sizeof why),
			 0);
	/* Its number must be its key. */
	assert_int_equal(licence_change_check("LIC-0002", OWNER, buf, len, NULL, 0, why,
					      sizeof why),
			 OS_EINVAL);
	/* Its issuer must be its publisher. */
	assert_int_equal(licence_change_check(NUMBER, OTHER, buf, len, NULL, 0, why, sizeof why),
			 OS_ENOTALLOWED);
	assert_non_null(strstr(why, OTHER));
	/* Nobody rewrites another issuer's licence. */
	struct licence o = l;
	snprintf(o.issuer, sizeof o.issuer, "%s", OTHER);
	assert_int_equal(licence_pack(&o, &other, &olen), 0);
	assert_int_equal(licence_change_check(NUMBER, OTHER, other, olen, buf, len, why,
					      sizeof why),
			 OS_ENOTALLOWED);
	/* Ends before it begins; not a licence at all. */
	struct licence bad = l;
	bad.valid_until_ms = bad.valid_from_ms;
	uint8_t *bb;
	size_t bl;
	assert_int_equal(licence_pack(&bad, &bb, &bl), 0);
	assert_int_equal(licence_change_check(NUMBER, OWNER, bb, bl, NULL, 0, why, sizeof why),
			 OS_EINVAL);
	const uint8_t junk[] = {0x0a, 0xff};
	assert_int_equal(licence_change_check(NUMBER, OWNER, junk, sizeof junk, NULL, 0, why,
					      sizeof why),
			 OS_EINVAL);
	free(bb);
	free(buf);
	free(other);
}

static void test_verify(void **state)
{
	(void)state;
	struct licence l = sample();
	char why[256];
	uint64_t now = T0 + DAY_MS;
	assert_int_equal(licence_verify(&l, OWNER, OWNER, "p-7f3a9c", now, why, sizeof why), 0);
	assert_int_equal(licence_verify(&l, OWNER, OWNER, NULL, now, why, sizeof why), 0);
	/* Forged: signed by another node, or issued by a node that does not
	 * own the item, or for an item that is not in the catalogue. */
	assert_int_equal(licence_verify(&l, OTHER, OWNER, NULL, now, why, sizeof why), OS_EISSUER);
	assert_int_equal(licence_verify(&l, OWNER, OTHER, NULL, now, why, sizeof why), OS_EISSUER);
	assert_non_null(strstr(why, "not its owner"));
	assert_int_equal(licence_verify(&l, OWNER, NULL, NULL, now, why, sizeof why), OS_EISSUER);
	/* Revoked. */
	l.revoked = 1;
	assert_int_equal(licence_verify(&l, OWNER, OWNER, NULL, now, why, sizeof why), OS_EREVOKED);
	l.revoked = 0;
	/* Not yet valid, valid to the last ms, expired. */
	assert_int_equal(licence_verify(&l, OWNER, OWNER, NULL, T0 - 1, why, sizeof why),
			 OS_EEXPIRED);
	assert_int_equal(licence_verify(&l, OWNER, OWNER, NULL, T0 + 365 * DAY_MS - 1, why,
					sizeof why),
			 0);
	assert_int_equal(licence_verify(&l, OWNER, OWNER, NULL, T0 + 365 * DAY_MS, why, sizeof why),
			 OS_EEXPIRED);
	/* No end. */
	l.valid_until_ms = 0;
	assert_int_equal(licence_verify(&l, OWNER, OWNER, NULL, T0 + 9000 * DAY_MS, why,
					sizeof why),
			 0);
	/* Another holder. */
	assert_int_equal(licence_verify(&l, OWNER, OWNER, "p-other", now, why, sizeof why),
			 OS_ESUBJECT);
	assert_int_equal(licence_verify(NULL, OWNER, OWNER, NULL, now, why, sizeof why), OS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pack_decode),
		cmocka_unit_test(test_change_schema),
		cmocka_unit_test(test_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
