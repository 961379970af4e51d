/* Unit tests for common/tree.c: subtree membership on label boundaries,
 * the hop of a destination at the root, at a province hub and at a city
 * hub, and the checks of a hub's child prefixes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "err.h"
#include "tree.h"

static void test_in_prefix(void **state)
{
	(void)state;
	assert_true(tree_in_prefix("gd", "gd"));
	assert_true(tree_in_prefix("gd.sz", "gd"));
	assert_true(tree_in_prefix("gd.sz.market", "gd"));
	assert_true(tree_in_prefix("gd.sz.market", "gd.sz"));
	assert_false(tree_in_prefix("gdx.a", "gd"));
	assert_false(tree_in_prefix("gd", "gd.sz"));
	assert_false(tree_in_prefix("zj.hz", "gd"));
	assert_false(tree_in_prefix("gd.szx", "gd.sz"));
	assert_false(tree_in_prefix(NULL, "gd"));
	assert_false(tree_in_prefix("gd.sz", NULL));
	assert_false(tree_in_prefix("gd..sz", "gd"));
	assert_false(tree_in_prefix("gd.sz", ""));
}

static void test_route_root(void **state)
{
	static const char *const prov[] = {"gd", "zj"};
	size_t child = 99;
	(void)state;
	assert_int_equal(tree_route(NULL, prov, 2, "gd.sz.market", &child), TREE_CHILD);
	assert_int_equal(child, 0);
	assert_int_equal(tree_route("", prov, 2, "zj.hz.tax", &child), TREE_CHILD);
	assert_int_equal(child, 1);
	assert_int_equal(tree_route(NULL, prov, 2, "gd", &child), TREE_CHILD);
	assert_int_equal(child, 0);
	/* A national node: the root's own. */
	child = 99;
	assert_int_equal(tree_route(NULL, prov, 2, "mps.idp", &child), TREE_LOCAL);
	assert_int_equal(child, 99);
	assert_int_equal(tree_route(NULL, NULL, 0, "gd.sz", &child), TREE_LOCAL);
}

static void test_route_province(void **state)
{
	static const char *const cities[] = {"gd.gz", "gd.sz"};
	size_t child = 99;
	(void)state;
	assert_int_equal(tree_route("gd", cities, 2, "gd.sz.market", &child), TREE_CHILD);
	assert_int_equal(child, 1);
	assert_int_equal(tree_route("gd", cities, 2, "gd.idp", &child), TREE_LOCAL);
	assert_int_equal(tree_route("gd", cities, 2, "gd", &child), TREE_LOCAL);
	assert_int_equal(tree_route("gd", cities, 2, "gd.szx", &child), TREE_LOCAL);
	assert_int_equal(tree_route("gd", cities, 2, "zj.hz.tax", &child), TREE_UP);
	assert_int_equal(tree_route("gd", cities, 2, "mps.idp", &child), TREE_UP);
	assert_int_equal(tree_route("gd", cities, 2, "gdx", &child), TREE_UP);
	/* A city hub without children. */
	assert_int_equal(tree_route("gd.sz", NULL, 0, "gd.sz.hall", &child), TREE_LOCAL);
	assert_int_equal(tree_route("gd.sz", NULL, 0, "gd.gz.hall", &child), TREE_UP);
}

static void test_route_invalid(void **state)
{
	static const char *const cities[] = {"gd.sz"};
	size_t child;
	(void)state;
	assert_int_equal(tree_route("gd", cities, 1, NULL, &child), OS_EINVAL);
	assert_int_equal(tree_route("gd", cities, 1, "gd.sz", NULL), OS_EINVAL);
	assert_int_equal(tree_route("gd", NULL, 1, "gd.sz", &child), OS_EINVAL);
	assert_int_equal(tree_route("gd", cities, 1, "bad name", &child), OS_EINVAL);
	assert_int_equal(tree_route("g d", cities, 1, "gd.sz", &child), OS_EINVAL);
	assert_int_equal(tree_route("gd", cities, 1, "@gd", &child), OS_EINVAL);
}

static void test_children(void **state)
{
	static const char *const ok[] = {"gd.sz", "gd.gz", "gd.fs"};
	static const char *const nested[] = {"gd.sz", "gd.gz", "gd.sz.ns"};
	static const char *const outside[] = {"gd.sz", "zj.hz"};
	static const char *const self[] = {"gd"};
	static const char *const prov[] = {"gd", "zj", "gdx"};
	static const char *const twice[] = {"gd", "zj", "gd"};
	size_t i = 99, j = 99;
	(void)state;
	assert_int_equal(tree_check_children("gd", ok, 3, &i, &j), 0);
	assert_int_equal(tree_check_children(NULL, prov, 3, &i, &j), 0);
	assert_int_equal(tree_check_children("gd", NULL, 0, NULL, NULL), 0);
	assert_int_equal(tree_check_children("gd", nested, 3, &i, &j), OS_ECONFLICT);
	assert_int_equal(i, 0);
	assert_int_equal(j, 2);
	assert_int_equal(tree_check_children(NULL, twice, 3, &i, &j), OS_ECONFLICT);
	assert_int_equal(i, 0);
	assert_int_equal(j, 2);
	assert_int_equal(tree_check_children("gd", outside, 2, &i, NULL), OS_ENAME);
	assert_int_equal(i, 1);
	assert_int_equal(tree_check_children("gd", self, 1, &i, NULL), OS_ENAME);
	assert_int_equal(tree_check_children("g d", ok, 3, NULL, NULL), OS_ENAME);
	assert_int_equal(tree_check_children("gd", NULL, 2, NULL, NULL), OS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_prefix),      cmocka_unit_test(test_route_root),
		cmocka_unit_test(test_route_province), cmocka_unit_test(test_route_invalid),
		cmocka_unit_test(test_children),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
