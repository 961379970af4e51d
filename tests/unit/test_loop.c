/* Unit tests for common/loop.c: phases run in order over the hooks in
 * registration order, the second drain joins a dirty iteration's commit,
 * before_commit is skipped after a failure, after_commit sees the commit's
 * result, and the poll wakes on a readable descriptor or a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <unistd.h>

#include "err.h"
#include "loop.h"
#include "util.h"

struct fake_state {
	int dirty, failed, commits, commit_rc;
	char trace[256];
};

struct fake_mod {
	struct fake_state *st;
	char tag;
	unsigned to_drain; /* items handed out by the next drains, one per call */
	int last_rc;
	int fd;
	uint64_t deadline;
};

static void trace(struct fake_state *st, char tag, char phase)
{
	size_t n = strlen(st->trace);

	if (n + 2 < sizeof(st->trace)) {
		st->trace[n] = tag;
		st->trace[n + 1] = phase;
		st->trace[n + 2] = 0;
	}
}

static int st_dirty(void *ctx)
{
	return ((struct fake_state *)ctx)->dirty;
}
static int st_failed(void *ctx)
{
	return ((struct fake_state *)ctx)->failed;
}
static int st_commit(void *ctx)
{
	struct fake_state *st = ctx;
	int rc = st->failed ? OS_ESTORE : st->commit_rc;

	trace(st, '*', 'C');
	st->commits++;
	st->dirty = 0;
	st->failed = 0;
	return rc;
}

static unsigned m_drain(void *ctx)
{
	struct fake_mod *m = ctx;

	trace(m->st, m->tag, 'd');
	if (m->to_drain == 0)
		return 0;
	m->to_drain--;
	m->st->dirty = 1;
	return 1;
}
static void m_work(void *ctx)
{
	struct fake_mod *m = ctx;
	trace(m->st, m->tag, 'w');
}
static void m_before(void *ctx)
{
	struct fake_mod *m = ctx;
	trace(m->st, m->tag, 'b');
}
static void m_after(void *ctx, int rc)
{
	struct fake_mod *m = ctx;

	m->last_rc = rc;
	trace(m->st, m->tag, 'a');
}
static void m_timers(void *ctx, uint64_t now)
{
	struct fake_mod *m = ctx;
	(void)now;
	trace(m->st, m->tag, 't');
}
static int m_fd(void *ctx)
{
	return ((struct fake_mod *)ctx)->fd;
}
static uint64_t m_deadline(void *ctx)
{
	return ((struct fake_mod *)ctx)->deadline;
}

static struct loop *make_loop(struct fake_state *st, struct fake_mod *mods, size_t n)
{
	struct loop_state ls = {st_dirty, st_failed, st_commit, st};
	struct loop *l = NULL;

	assert_int_equal(loop_new(&ls, &l), 0);
	for (size_t i = 0; i < n; i++) {
		struct loop_hooks h = {.name = "m",
				       .fd = m_fd,
				       .drain = m_drain,
				       .work = m_work,
				       .before_commit = m_before,
				       .after_commit = m_after,
				       .timers = m_timers,
				       .deadline_us = m_deadline,
				       .ctx = &mods[i]};
		mods[i].st = st;
		mods[i].fd = -1;
		mods[i].deadline = UINT64_MAX;
		assert_int_equal(loop_add(l, &h), 0);
	}
	return l;
}

static void test_phases_in_order(void **state)
{
	struct fake_state st = {0};
	struct fake_mod mods[2] = {{.tag = 'A'}, {.tag = 'B'}};
	struct loop *l;

	(void)state;
	mods[0].tag = 'A';
	mods[1].tag = 'B';
	l = make_loop(&st, mods, 2);
	/* Nothing to drain: one drain and one work per hook, no second round. */
	assert_int_equal(loop_iterate(l), 0);
	assert_string_equal(st.trace, "AdBdAwBwAbBb*CAaBaAtBt");
	assert_int_equal(st.commits, 1);
	loop_free(&l);
	assert_null(l);
}

static void test_dirty_iteration_drains_again(void **state)
{
	struct fake_state st = {0};
	struct fake_mod mods[1] = {{.tag = 'A'}};
	struct loop *l;

	(void)state;
	l = make_loop(&st, mods, 1);
	mods[0].tag = 'A';
	mods[0].to_drain = 2; /* one item now, one that "arrives meanwhile" */
	assert_int_equal(loop_iterate(l), 0);
	assert_string_equal(st.trace, "AdAwAdAwAb*CAaAt");
	loop_free(&l);
}

static void test_failure_skips_before_commit(void **state)
{
	struct fake_state st = {0};
	struct fake_mod mods[1] = {{.tag = 'A'}};
	struct loop *l;

	(void)state;
	l = make_loop(&st, mods, 1);
	mods[0].tag = 'A';
	st.failed = 1;
	assert_int_equal(loop_iterate(l), OS_ESTORE);
	assert_string_equal(st.trace, "AdAw*CAaAt");
	assert_int_equal(mods[0].last_rc, OS_ESTORE);
	/* A failed commit reaches after_commit too. */
	st.trace[0] = 0;
	st.commit_rc = OS_EFULL;
	assert_int_equal(loop_iterate(l), OS_EFULL);
	assert_int_equal(mods[0].last_rc, OS_EFULL);
	loop_free(&l);
}

static void test_wait_wakes_on_fd_and_deadline(void **state)
{
	struct fake_state st = {0};
	struct fake_mod mods[1] = {{.tag = 'A'}};
	struct loop *l;
	int p[2];
	uint64_t t0;

	(void)state;
	l = make_loop(&st, mods, 1);
	assert_int_equal(pipe(p), 0);
	mods[0].fd = p[0];
	/* A deadline 50 ms ahead ends the wait after about that long. */
	mods[0].deadline = os_mono_us() + 50000;
	t0 = os_mono_us();
	assert_int_equal(loop_wait(l), 0);
	assert_true(os_mono_us() - t0 >= 45000);
	/* A readable descriptor ends it at once, whatever the deadline. */
	mods[0].deadline = UINT64_MAX;
	assert_int_equal(write(p[1], "x", 1), 1);
	t0 = os_mono_us();
	assert_int_equal(loop_wait(l), 0);
	assert_true(os_mono_us() - t0 < 900000);
	close(p[0]);
	close(p[1]);
	loop_free(&l);
}

static void test_hook_table_bound(void **state)
{
	struct fake_state st = {0};
	struct loop_state ls = {st_dirty, st_failed, st_commit, &st};
	struct loop_hooks h = {.name = "x"};
	struct loop *l = NULL;

	(void)state;
	assert_int_equal(loop_new(&ls, &l), 0);
	for (unsigned i = 0; i < LOOP_HOOKS_MAX; i++)
		assert_int_equal(loop_add(l, &h), 0);
	assert_int_equal(loop_add(l, &h), OS_EFULL);
	loop_free(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_phases_in_order),
		cmocka_unit_test(test_dirty_iteration_drains_again),
		cmocka_unit_test(test_failure_skips_before_commit),
		cmocka_unit_test(test_wait_wakes_on_fd_and_deadline),
		cmocka_unit_test(test_hook_table_bound),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
