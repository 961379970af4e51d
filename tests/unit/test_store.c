/* Unit tests for common/store.c: put, get, delete, append, counters,
 * cursors, abort, map-full, and persistence across close and reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <sys/stat.h>

#include "err.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

struct fixture {
	char *dir;
	char path[512];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -1;
	f->dir = tu_mkdtemp();
	if (f->dir == NULL)
		return -1;
	/* A nested path: store_open creates every level. */
	tu_path(f->path, sizeof(f->path), f->dir, "a/b/store");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	tu_rmrf(f->dir);
	free(f);
	return 0;
}

static void open_db(const char *path, struct store **s, store_dbi *db, store_dbi *meta)
{
	assert_int_equal(store_open(path, 16, 4, s), 0);
	assert_int_equal(store_dbi_open(*s, "data", db), 0);
	assert_int_equal(store_dbi_open(*s, "meta", meta), 0);
}

static void test_put_get_del(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	store_dbi db, meta;
	open_db(f->path, &s, &db, &meta);
	struct stat st;
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);

	struct store_txn *t = NULL;
	assert_int_equal(store_begin(s, 0, &t), 0);
	struct {
		const char *k, *v;
	} kv[] = {{"alpha", "1"}, {"beta", "22"}, {"gamma", "333"}, {"delta", ""}};
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(store_put(t, db, kv[i].k, strlen(kv[i].k), kv[i].v,
					   strlen(kv[i].v)),
				 0);
	/* Replace. */
	assert_int_equal(store_put(t, db, "beta", 4, "twenty-two", 10), 0);
	const void *v;
	size_t vl;
	assert_int_equal(store_get(t, db, "beta", 4, &v, &vl), 0);
	assert_int_equal(vl, 10);
	assert_memory_equal(v, "twenty-two", 10);
	assert_int_equal(store_get(t, db, "delta", 5, &v, &vl), 0);
	assert_int_equal(vl, 0);
	assert_int_equal(store_get(t, db, "omega", 5, &v, &vl), OS_ENOTFOUND);
	assert_int_equal(store_del(t, db, "gamma", 5), 0);
	assert_int_equal(store_del(t, db, "gamma", 5), OS_ENOTFOUND);
	/* LMDB has no empty keys: a clear error, not a crash. */
	assert_int_equal(store_put(t, db, "", 0, "x", 1), OS_EINVAL);
	uint64_t n = 0;
	assert_int_equal(store_count(t, db, &n), 0);
	assert_int_equal(n, 3);

	assert_int_equal(store_put_u64(t, meta, "next", 42), 0);
	uint64_t u = 0;
	assert_int_equal(store_get_u64(t, meta, "next", 7, &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(store_get_u64(t, meta, "absent", 7, &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(store_put(t, meta, "odd", 3, "abc", 3), 0);
	assert_int_equal(store_get_u64(t, meta, "odd", 7, &u), OS_ESTORE);
	assert_int_equal(store_commit(&t), 0);
	assert_null(t);

	/* Read-only transactions see the commit and refuse writes. */
	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(store_get(t, db, "alpha", 5, &v, &vl), 0);
	assert_memory_equal(v, "1", 1);
	assert_int_equal(store_get(t, db, "gamma", 5, &v, &vl), OS_ENOTFOUND);
	assert_int_equal(store_put(t, db, "x", 1, "y", 1), OS_EINVAL);
	assert_int_equal(store_del(t, db, "alpha", 5), OS_EINVAL);
	store_abort(&t);
	assert_null(t);
	store_abort(&t); /* NULL is allowed */
	store_close(&s);
	assert_null(s);
}

static void test_abort_discards(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	store_dbi db, meta;
	open_db(f->path, &s, &db, &meta);
	struct store_txn *t = NULL;
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_put(t, db, "k", 1, "committed", 9), 0);
	assert_int_equal(store_commit(&t), 0);

	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_put(t, db, "k", 1, "aborted", 7), 0);
	assert_int_equal(store_put(t, db, "k2", 2, "aborted", 7), 0);
	store_abort(&t);

	assert_int_equal(store_begin(s, 1, &t), 0);
	const void *v;
	size_t vl;
	assert_int_equal(store_get(t, db, "k", 1, &v, &vl), 0);
	assert_int_equal(vl, 9);
	assert_memory_equal(v, "committed", 9);
	assert_int_equal(store_get(t, db, "k2", 2, &v, &vl), OS_ENOTFOUND);
	store_abort(&t);
	store_close(&s);
}

static void test_append_cursor(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	store_dbi db, meta;
	open_db(f->path, &s, &db, &meta);
	struct store_txn *t = NULL;
	assert_int_equal(store_begin(s, 0, &t), 0);
	uint8_t key[8];
	for (uint64_t i = 1; i <= 100; i++) {
		os_put_u64be(key, i * 10);
		assert_int_equal(store_append(t, db, key, 8, &i, sizeof(i)), 0);
	}
	/* Not greater than the last key: refused. */
	os_put_u64be(key, 1000);
	uint64_t dummy = 0;
	assert_int_equal(store_append(t, db, key, 8, &dummy, sizeof(dummy)), OS_EEXIST);
	os_put_u64be(key, 5);
	assert_int_equal(store_append(t, db, key, 8, &dummy, sizeof(dummy)), OS_EEXIST);
	assert_int_equal(store_commit(&t), 0);

	assert_int_equal(store_begin(s, 0, &t), 0);
	struct store_cursor *c = NULL;
	assert_int_equal(store_cursor_open(t, db, &c), 0);
	const void *k, *v;
	size_t kl, vl;
	/* Seek to the first key >= 255: 260. */
	os_put_u64be(key, 255);
	assert_int_equal(store_cursor_seek(c, key, 8, &k, &kl, &v, &vl), 0);
	assert_int_equal(kl, 8);
	assert_int_equal(os_get_u64be(k), 260);
	uint64_t val;
	memcpy(&val, v, sizeof(val));
	assert_int_equal(val, 26);
	/* Walk in order, deleting every even entry through the cursor. */
	uint64_t want = 260, seen = 0;
	int rc = 0;
	for (; rc == 0; rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		assert_int_equal(os_get_u64be(k), want);
		if ((want / 10) % 2 == 0)
			assert_int_equal(store_cursor_del(c), 0);
		want += 10;
		seen++;
	}
	assert_int_equal(rc, OS_ENOTFOUND);
	assert_int_equal(seen, 75);
	/* From the start (NULL key). */
	assert_int_equal(store_cursor_seek(c, NULL, 0, &k, &kl, &v, &vl), 0);
	assert_int_equal(os_get_u64be(k), 10);
	os_put_u64be(key, 5000);
	assert_int_equal(store_cursor_seek(c, key, 8, &k, &kl, &v, &vl), OS_ENOTFOUND);
	store_cursor_close(&c);
	assert_null(c);
	/* A cursor left open is closed with its transaction, then freed. */
	assert_int_equal(store_cursor_open(t, db, &c), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(store_cursor_next(c, &k, &kl, &v, &vl), OS_EINVAL);
	store_cursor_close(&c);

	uint64_t n;
	assert_int_equal(store_begin(s, 1, &t), 0);
	assert_int_equal(store_count(t, db, &n), 0);
	assert_int_equal(n, 100 - 38); /* 260..1000 even multiples of 10 removed */
	assert_int_equal(store_cursor_open(t, db, &c), 0);
	assert_int_equal(store_cursor_next(c, &k, &kl, NULL, NULL), 0);
	assert_int_equal(os_get_u64be(k), 10);
	assert_int_equal(store_cursor_del(c), OS_EINVAL); /* read-only */
	store_cursor_close(&c);
	store_abort(&t);
	store_close(&s);
}

static void test_persistence(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	store_dbi db, meta;
	open_db(f->path, &s, &db, &meta);
	struct store_txn *t = NULL;
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_put(t, db, "persist", 7, "yes", 3), 0);
	assert_int_equal(store_put_u64(t, meta, "seq", 123456789), 0);
	assert_int_equal(store_commit(&t), 0);
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_put(t, db, "lost", 4, "no", 2), 0);
	store_abort(&t);
	store_close(&s);

	open_db(f->path, &s, &db, &meta);
	assert_int_equal(store_begin(s, 1, &t), 0);
	const void *v;
	size_t vl;
	assert_int_equal(store_get(t, db, "persist", 7, &v, &vl), 0);
	assert_int_equal(vl, 3);
	assert_memory_equal(v, "yes", 3);
	assert_int_equal(store_get(t, db, "lost", 4, &v, &vl), OS_ENOTFOUND);
	uint64_t u;
	assert_int_equal(store_get_u64(t, meta, "seq", 0, &u), 0);
	assert_int_equal(u, 123456789);
	store_abort(&t);
	store_close(&s);
}

static void test_map_full(void **state)
{
	struct fixture *f = *state;
	char path[600];
	snprintf(path, sizeof(path), "%s/small", f->dir);
	struct store *s = NULL;
	store_dbi db;
	assert_int_equal(store_open(path, 1, 2, &s), 0);
	assert_int_equal(store_dbi_open(s, "data", &db), 0);
	struct store_txn *t = NULL;
	assert_int_equal(store_begin(s, 0, &t), 0);
	static uint8_t big[64 * 1024];
	memset(big, 0x5a, sizeof(big));
	int rc = 0;
	for (uint64_t i = 0; i < 64 && rc == 0; i++) {
		uint8_t key[8];
		os_put_u64be(key, i);
		rc = store_put(t, db, key, 8, big, sizeof(big));
	}
	/* A full store is its own code: not a quota (EFULL), not EIO. */
	assert_int_equal(rc, OS_ESTOREFULL);
	assert_int_equal(store_commit(&t), OS_ESTOREFULL);
	assert_null(t);
	/* The store still works for a smaller transaction. */
	assert_int_equal(store_begin(s, 0, &t), 0);
	assert_int_equal(store_put(t, db, "ok", 2, "1", 1), 0);
	assert_int_equal(store_commit(&t), 0);
	store_close(&s);
}

static void test_open_errors(void **state)
{
	struct fixture *f = *state;
	char path[600];
	/* A regular file where a directory should be. */
	snprintf(path, sizeof(path), "%s/file", f->dir);
	assert_int_equal(tu_write(path, "x"), 0);
	struct store *s = NULL;
	assert_int_equal(store_open(path, 1, 2, &s), OS_EIO);
	assert_null(s);
	snprintf(path, sizeof(path), "%s/file/sub", f->dir);
	assert_int_equal(store_open(path, 1, 2, &s), OS_EIO);
	store_close(&s); /* NULL is allowed */
}

struct walk_seen {
	char keys[16][8];
	int n;
	const char *stop_at;
	const char *drop_prefix;
};

static int walk_record(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct walk_seen *w = arg;
	(void)v;
	(void)vl;
	if (w->stop_at && kl == strlen(w->stop_at) && memcmp(k, w->stop_at, kl) == 0)
		return STORE_STOP;
	if (w->n < 16 && kl < 8) {
		memcpy(w->keys[w->n], k, kl);
		w->keys[w->n][kl] = 0;
		w->n++;
	}
	if (w->drop_prefix && kl >= 1 && memcmp(k, w->drop_prefix, 1) == 0)
		return STORE_DROP;
	return STORE_NEXT;
}

static int walk_fail(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	(void)arg, (void)k, (void)kl, (void)v, (void)vl;
	return OS_EDECODE;
}

static void test_walk_and_range_delete(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	store_dbi db, meta;
	static const char *keys[] = {"a1", "b1", "b2", "b3", "c1", "c2"};
	struct walk_seen w;
	uint64_t n = 0, count = 0;
	int more = 0;

	open_db(f->path, &s, &db, &meta);
	assert_int_equal(store_begin(s, 0, &t), 0);
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(store_put(t, db, keys[i], 2, "v", 1), 0);

	/* A prefix walk sees exactly the prefix's keys, in order. */
	memset(&w, 0, sizeof(w));
	assert_int_equal(store_walk(t, db, "b", 1, NULL, 0, walk_record, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.keys[0], "b1");
	assert_string_equal(w.keys[2], "b3");
	/* From a key inside the prefix; and STORE_STOP keeps the rest. */
	memset(&w, 0, sizeof(w));
	w.stop_at = "c2";
	assert_int_equal(store_walk(t, db, NULL, 0, "b2", 2, walk_record, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.keys[0], "b2");
	assert_string_equal(w.keys[2], "c1");
	/* A callback's error ends the walk and comes back. */
	assert_int_equal(store_walk(t, db, NULL, 0, NULL, 0, walk_fail, NULL), OS_EDECODE);
	/* STORE_DROP deletes while walking and the walk still sees every key. */
	memset(&w, 0, sizeof(w));
	w.drop_prefix = "b";
	assert_int_equal(store_walk(t, db, NULL, 0, NULL, 0, walk_record, &w), 0);
	assert_int_equal(w.n, 6);
	assert_int_equal(store_count(t, db, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(store_get(t, db, "b2", 2, &(const void *){NULL}, &(size_t){0}),
			 OS_ENOTFOUND);

	/* Range delete: [a1, c2) with a bound of one, then the rest. */
	assert_int_equal(store_del_range(t, db, "a1", 2, "c2", 2, 1, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_int_equal(more, 1);
	assert_int_equal(store_del_range(t, db, NULL, 0, "c2", 2, 0, &n, &more), 0);
	assert_int_equal(n, 1);
	assert_int_equal(more, 0);
	assert_int_equal(store_count(t, db, &count), 0);
	assert_int_equal(count, 1);
	assert_int_equal(store_commit(&t), 0);

	/* Read-only transactions may walk but neither drop nor delete. */
	assert_int_equal(store_begin(s, 1, &t), 0);
	memset(&w, 0, sizeof(w));
	w.drop_prefix = "c";
	assert_int_equal(store_walk(t, db, NULL, 0, NULL, 0, walk_record, &w), OS_EINVAL);
	assert_int_equal(store_del_range(t, db, NULL, 0, NULL, 0, 0, &n, NULL), OS_EINVAL);
	store_abort(&t);
	store_close(&s);
}

/* Keeps the pointers a walk hands out, to read them after it returned. */
struct walk_kept {
	const void *k[8], *v[8];
	size_t kl[8], vl[8], n;
};

static int walk_keep(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct walk_kept *w = arg;

	if (w->n == 8)
		return STORE_STOP;
	w->k[w->n] = k;
	w->kl[w->n] = kl;
	w->v[w->n] = v;
	w->vl[w->n] = vl;
	w->n++;
	return STORE_NEXT;
}

/* A walk's k and v stay valid after it returned, until the transaction
 * ends or writes, as store_get's do. */
static void test_walk_pointers_outlive_walk(void **state)
{
	struct fixture *f = *state;
	struct store *s = NULL;
	struct store_txn *t = NULL;
	store_dbi db, meta;
	static const char *keys[] = {"k1", "k2", "k3"};
	static const char *vals[] = {"one", "two", "three"};
	struct walk_kept w;

	open_db(f->path, &s, &db, &meta);
	assert_int_equal(store_begin(s, 0, &t), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(store_put(t, db, keys[i], 2, vals[i], strlen(vals[i])), 0);
	assert_int_equal(store_commit(&t), 0);

	/* Read-only, the way a sender hands entries on before the walk ends. */
	for (int ro = 1; ro >= 0; ro--) {
		assert_int_equal(store_begin(s, ro, &t), 0);
		memset(&w, 0, sizeof(w));
		assert_int_equal(store_walk(t, db, "k", 1, NULL, 0, walk_keep, &w), 0);
		assert_int_equal(w.n, 3);
		for (size_t i = 0; i < 3; i++) {
			assert_int_equal(w.kl[i], 2);
			assert_memory_equal(w.k[i], keys[i], 2);
			assert_int_equal(w.vl[i], strlen(vals[i]));
			assert_memory_equal(w.v[i], vals[i], w.vl[i]);
		}
		store_abort(&t);
	}
	store_close(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_put_get_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_abort_discards, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_map_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_and_range_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_pointers_outlive_walk, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
