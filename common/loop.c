/* The daemons' event loop (loop.h): hooks registered by modules, phases run
 * in registration order, one commit per iteration through the daemon's
 * shared state, and a zmq_poll over the hooks' sockets and descriptors
 * bounded by their earliest deadline. */
#include "loop.h"

#include <errno.h>
#include <stdlib.h>
#include <zmq.h>

#include "err.h"
#include "log.h"
#include "util.h"

struct loop {
	struct loop_state state;
	struct loop_hooks hooks[LOOP_HOOKS_MAX];
	unsigned n;
};

int loop_new(const struct loop_state *state, struct loop **out)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (!l)
		return OS_ENOMEM;
	l->state = *state;
	*out = l;
	return 0;
}

void loop_free(struct loop **l)
{
	free(*l);
	*l = NULL;
}

int loop_add(struct loop *l, const struct loop_hooks *h)
{
	if (l->n == LOOP_HOOKS_MAX)
		return OS_EFULL;
	l->hooks[l->n++] = *h;
	return 0;
}

static unsigned loop_drain(struct loop *l)
{
	unsigned n = 0;

	for (unsigned i = 0; i < l->n; i++)
		if (l->hooks[i].drain)
			n += l->hooks[i].drain(l->hooks[i].ctx);
	return n;
}

static void loop_work(struct loop *l)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->hooks[i].work)
			l->hooks[i].work(l->hooks[i].ctx);
}

int loop_iterate(struct loop *l)
{
	const struct loop_state *st = &l->state;
	uint64_t now;
	int rc;

	loop_drain(l);
	loop_work(l);
	/* This iteration commits (fsyncs) anyway: what arrived while it
	 * worked joins the commit instead of waiting a whole one. */
	if (st->dirty(st->ctx) && !st->failed(st->ctx) && loop_drain(l) > 0)
		loop_work(l);
	for (unsigned i = 0; i < l->n && !st->failed(st->ctx); i++)
		if (l->hooks[i].before_commit)
			l->hooks[i].before_commit(l->hooks[i].ctx);
	rc = st->commit(st->ctx);
	for (unsigned i = 0; i < l->n; i++)
		if (l->hooks[i].after_commit)
			l->hooks[i].after_commit(l->hooks[i].ctx, rc);
	now = os_mono_us();
	for (unsigned i = 0; i < l->n; i++)
		if (l->hooks[i].timers)
			l->hooks[i].timers(l->hooks[i].ctx, now);
	return rc;
}

/* Milliseconds until the earliest deadline, rounded up, at most
 * LOOP_POLL_MAX_MS. */
static long loop_timeout(const struct loop *l)
{
	uint64_t d = UINT64_MAX, now, ms;

	for (unsigned i = 0; i < l->n; i++) {
		if (l->hooks[i].deadline_us) {
			uint64_t h = l->hooks[i].deadline_us(l->hooks[i].ctx);

			if (h < d)
				d = h;
		}
	}
	if (d == 0)
		return 0;
	now = os_mono_us();
	if (d <= now)
		return 0;
	ms = (d - now + 999) / 1000;
	return ms > LOOP_POLL_MAX_MS ? LOOP_POLL_MAX_MS : (long)ms;
}

int loop_wait(struct loop *l)
{
	zmq_pollitem_t items[LOOP_HOOKS_MAX];
	long timeout = loop_timeout(l);
	int n = 0;

	for (unsigned i = 0; i < l->n; i++) {
		void *s = l->hooks[i].socket ? l->hooks[i].socket(l->hooks[i].ctx) : NULL;
		int fd = !s && l->hooks[i].fd ? l->hooks[i].fd(l->hooks[i].ctx) : -1;

		if (!s && fd < 0)
			continue;
		items[n] = (zmq_pollitem_t){.socket = s, .fd = fd, .events = ZMQ_POLLIN};
		n++;
	}
	if (timeout == 0)
		return 0;
	if (zmq_poll(items, n, timeout) >= 0 || errno == EINTR)
		return 0;
	if (errno == ETERM)
		return OS_ECONN;
	os_log(OS_LOG_ERROR, "poll_failed", "reason=%s", OS_Q(zmq_strerror(errno)));
	return OS_EIO;
}

int loop_run(struct loop *l, volatile sig_atomic_t *stop)
{
	while (!*stop) {
		int rc = loop_wait(l);

		if (rc)
			return rc;
		if (*stop)
			break;
		loop_iterate(l);
	}
	return 0;
}
