/* The daemons' event loop. Modules register hooks; the loop polls their
 * sockets, runs every iteration's phases over the hooks in registration
 * order, commits the iteration's transaction once through the daemon's
 * shared state, and never names a module (Redis ae.h is the model).
 *
 * One iteration:
 *   1. drain          every hook reads its ready input into the transaction
 *   2. work           every hook produces from its state (signs, fills windows)
 *      when the transaction has written and nothing failed, 1 and 2 run once
 *      more: what arrived meanwhile joins this commit (group commit)
 *   3. before_commit  every hook writes what it owes once per commit
 *   4. commit         the state's commit (fsync), or an abort after a failure
 *   5. after_commit   every hook sends what depended on the commit's outcome
 *   6. timers         every hook runs its timers (heartbeats, retransmits)
 * Then the loop polls until input arrives or the earliest hook deadline. */
#ifndef OS_LOOP_H
#define OS_LOOP_H

#include <signal.h>
#include <stdint.h>

#define LOOP_HOOKS_MAX 16u
#define LOOP_POLL_MAX_MS 1000

/* What a module offers the loop; every callback may be NULL. ctx is passed
 * to each. The loop copies the struct at loop_add. */
struct loop_hooks {
	const char *name;
	/* The ZeroMQ socket to poll for input now, or NULL (e.g. while a link
	 * is down). Asked before every poll. */
	void *(*socket)(void *ctx);
	/* Or a file descriptor to poll, or -1. */
	int (*fd)(void *ctx);
	/* Read ready input into the iteration's transaction; the number of
	 * items handled (0 when nothing was ready). */
	unsigned (*drain)(void *ctx);
	void (*work)(void *ctx);
	void (*before_commit)(void *ctx);
	/* commit_rc: 0 when the iteration's writes are durable (or it wrote
	 * nothing), else the error that lost them. */
	void (*after_commit)(void *ctx, int commit_rc);
	/* now_us: the monotonic clock (os_mono_us). */
	void (*timers)(void *ctx, uint64_t now_us);
	/* When this hook next has timer work (monotonic us): 0 for now,
	 * UINT64_MAX for none. */
	uint64_t (*deadline_us)(void *ctx);
	void *ctx;
};

/* The daemon's shared state, which owns the iteration's transaction. */
struct loop_state {
	/* 1 when the iteration's transaction has written (its commit syncs). */
	int (*dirty)(void *ctx);
	/* 1 when a write failed: the iteration will be aborted. */
	int (*failed)(void *ctx);
	/* Commit when dirty, abort when failed or clean; 0 or the error that
	 * lost the iteration's writes. */
	int (*commit)(void *ctx);
	void *ctx;
};

struct loop;

/* A loop over state (copied). 0 or OS_ENOMEM. */
int loop_new(const struct loop_state *state, struct loop **out);
/* Free *l and NULL it (NULL allowed). */
void loop_free(struct loop **l);

/* Register h (copied) after the hooks already registered. 0 or OS_EFULL
 * (LOOP_HOOKS_MAX reached). */
int loop_add(struct loop *l, const struct loop_hooks *h);

/* Run one iteration (phases 1-6) without polling. Returns the commit's
 * result. */
int loop_iterate(struct loop *l);

/* Poll the hooks' sockets and descriptors until one is readable or the
 * earliest deadline (at most LOOP_POLL_MAX_MS). 0, or OS_EIO when the poll
 * fails (logged), or OS_ECONN when the ZeroMQ context was terminated. */
int loop_wait(struct loop *l);

/* Wait and iterate until *stop is set (checked after every wake). 0 or the
 * error of loop_wait. */
int loop_run(struct loop *l, volatile sig_atomic_t *stop);

#endif
