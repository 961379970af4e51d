/* The hub's shared state, beside its loop (Mosquitto's database.c beside
 * loop.c): the iteration's one write transaction with its dirty and failed
 * marks, the clocks, the registry's expiry, the backoff after a failed
 * iteration and the stats line. It calls no module of the hub. */
#include "hub.h"

#include "err.h"
#include "log.h"
#include "loop.h"
#include "store.h"
#include "util.h"

int hub_txn(struct hub *h, struct store_txn **out)
{
	int rc;

	if (h->failed)
		return h->failed;
	if (!h->txn) {
		rc = store_begin(h->st, 0, &h->txn);
		if (rc) {
			hub_fail(h, rc);
			return rc;
		}
		h->dirty = 0;
	}
	*out = h->txn;
	return 0;
}

void hub_fail(struct hub *h, int rc)
{
	if (rc < 0 && !h->failed)
		h->failed = rc;
}

int hub_wrote(struct hub *h, int rc)
{
	if (rc < 0)
		hub_fail(h, rc);
	else
		h->dirty = 1;
	return rc;
}

int hub_commit(struct hub *h)
{
	int rc = h->failed;

	if (rc == 0 && h->txn && h->dirty) {
		rc = store_commit(&h->txn);
		if (rc == 0)
			h->stats.commits++;
		else
			h->stats.commit_failures++;
	}
	store_abort(&h->txn);
	h->dirty = 0;
	h->failed = 0;
	return rc;
}

uint64_t hub_not_before(const struct hub *h, uint64_t due_us)
{
	return due_us < h->backoff_until_us ? h->backoff_until_us : due_us;
}

uint64_t hub_tick_us(const struct hub *h)
{
	uint64_t tick = (uint64_t)h->conf.heartbeat_ms / 4;

	if (tick < 10)
		tick = 10;
	if (tick > 250)
		tick = 250;
	return tick * 1000;
}

/* ---------------------------------------------------------------- loop */

static int state_dirty(void *ctx)
{
	const struct hub *h = ctx;

	return h->txn != NULL && h->dirty;
}

static int state_failed(void *ctx)
{
	return ((const struct hub *)ctx)->failed != 0;
}

static int state_commit(void *ctx)
{
	return hub_commit(ctx);
}

void hub_loop_state(struct hub *h, struct loop_state *out)
{
	out->dirty = state_dirty;
	out->failed = state_failed;
	out->commit = state_commit;
	out->ctx = h;
}

/* Fail closed once the registry's expiry passes; say so once. */
static void state_check_expiry(struct hub *h)
{
	if (h->reg_expired || !h->reg->expires_ms || h->now_ms < h->reg->expires_ms)
		return;
	h->reg_expired = 1;
	os_log(OS_LOG_ERROR, "registry_expired", "version=%llu expires_ms=%llu reason=%s",
	       (unsigned long long)h->reg->version, (unsigned long long)h->reg->expires_ms,
	       OS_Q("new pushes are refused until a fresh registry is loaded (SIGHUP)"));
}

/* The first drain of an iteration begins it: the clocks hold for all of
 * it. (A second drain, which the loop runs when the iteration writes,
 * belongs to the same iteration.) */
static unsigned state_drain(void *ctx)
{
	struct hub *h = ctx;

	if (h->iterating)
		return 0;
	h->iterating = 1;
	h->iter_frames = h->stats.frames_in;
	h->now_ms = os_now_ms();
	h->now_us = os_mono_us();
	state_check_expiry(h);
	return 0;
}

static void state_after_commit(void *ctx, int rc)
{
	struct hub *h = ctx;

	h->iterating = 0;
	if (rc == 0)
		return;
	/* A full map pauses pushes so that acks can free space; any failure
	 * slows the loop down for the same while. */
	h->backoff_until_us = h->now_us + (uint64_t)HUB_FAIL_BACKOFF_MS * 1000;
	os_log(OS_LOG_ERROR, "iteration_failed", "frames=%u code=%s reason=%s",
	       (unsigned)(h->stats.frames_in - h->iter_frames), os_errname(rc),
	       OS_Q(os_strerror(rc)));
}

static void state_timers(void *ctx, uint64_t now_us)
{
	struct hub *h = ctx;

	if (now_us < h->next_stats_us)
		return;
	h->next_stats_us = now_us + (uint64_t)HUB_STATS_MS * 1000;
	hub_stats_log(h, OS_LOG_DEBUG, "stats");
}

void hub_stats_log(const struct hub *h, int level, const char *event)
{
	const struct hub_stats *s = &h->stats;

	os_log((enum os_log_level)level, event,
	       "sessions=%u queued=%llu queued_bytes=%llu frames_in=%llu accepted=%llu "
	       "refused=%llu over_quota=%llu duplicates=%llu delivered=%llu expired=%llu "
	       "deadletters=%llu relayed_up=%llu relayed_down=%llu from_parent=%llu commits=%llu "
	       "commit_failures=%llu",
	       s->sessions, (unsigned long long)s->queued, (unsigned long long)s->queued_bytes,
	       (unsigned long long)s->frames_in, (unsigned long long)s->accepted,
	       (unsigned long long)s->refused, (unsigned long long)s->over_quota,
	       (unsigned long long)s->duplicates, (unsigned long long)s->delivered,
	       (unsigned long long)s->expired, (unsigned long long)s->deadletters,
	       (unsigned long long)s->relayed_up, (unsigned long long)s->relayed_down,
	       (unsigned long long)s->from_parent, (unsigned long long)s->commits,
	       (unsigned long long)s->commit_failures);
}

static uint64_t state_deadline(void *ctx)
{
	return ((const struct hub *)ctx)->next_stats_us;
}

int hub_state_attach(struct hub *h, struct loop *l)
{
	const struct loop_hooks hooks = {
		.name = "hub",
		.drain = state_drain,
		.after_commit = state_after_commit,
		.timers = state_timers,
		.deadline_us = state_deadline,
		.ctx = h,
	};

	h->next_stats_us = os_mono_us() + (uint64_t)HUB_STATS_MS * 1000;
	return loop_add(l, &hooks);
}

#define TRUST_VERSION_KEY "registry_version"

int hub_registry_floor(struct hub *h, uint64_t *version)
{
	struct store_txn *t = NULL;
	int rc = store_dbi_open(h->st, "trust", &h->db_trust);

	if (rc == 0)
		rc = store_begin(h->st, 1, &t);
	if (rc == 0)
		rc = store_get_u64(t, h->db_trust, TRUST_VERSION_KEY, 0, version);
	store_abort(&t);
	return rc;
}
