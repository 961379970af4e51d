/* onestop-spoke: start-up sequence, signals and the event loop. Each loop
 * iteration drains the API and uplink sockets, does all their work in one
 * write transaction, commits once, and only then replies, acknowledges and
 * pushes (docs/ARCHITECTURE.md "Processes and sockets"). */
#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "batchsig.h"
#include "config.h"
#include "crypto.h"
#include "err.h"
#include "log.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#include "api.h"
#include "replica.h"
#include "replica_read.h"
#include "spoke.h"
#include "uplink.h"

#define EXIT_CONFIG 2
#define EXIT_START 1
#define API_BUDGET 4096u        /* API requests drained per iteration */
#define UPLINK_BUDGET 1024u     /* link frames drained per iteration */
#define SEEN_PRUNE_BUDGET 1024u /* `seen` entries examined per sweep */
#define CACHE_SLOTS 4096u       /* verified batch roots remembered */
#define POLL_MAX_MS 1000
#define STATS_EVERY_US 10000000u
#define REGISTRY_KEY "current"

#define OPT(field) offsetof(struct spoke_conf, field)

static const struct cfg_opt spoke_opts[] = {
	{"name", CFG_STR, NULL, 0, 0, 1, 0, "this node's name in the registry", OPT(name)},
	{"key", CFG_STR, NULL, 0, 0, 1, 0, "node key file (onestop keygen)", OPT(key)},
	{"registry", CFG_STR, NULL, 0, 0, 1, 1,
	 "initial signed registry file; the newest verified copy is kept in the store",
	 OPT(registry)},
	{"trust_anchor", CFG_STR, NULL, 0, 0, 1, 0,
	 "root public key the registry must be signed with (64 hex chars)", OPT(trust_anchor)},
	{"hub_endpoint", CFG_STR, "tcp://127.0.0.1:7700", 0, 0, 0, 0, "the hub's link endpoint",
	 OPT(hub_endpoint)},
	{"hub_name", CFG_STR, "hub", 0, 0, 0, 0, "the hub's node name in the registry",
	 OPT(hub_name)},
	{"api", CFG_STR, "ipc:///run/onestop/spoke.sock", 0, 0, 0, 0,
	 "local API endpoint: ipc://PATH or tcp://127.0.0.1:PORT", OPT(api)},
	{"data_dir", CFG_STR, "/var/lib/onestop/spoke", 0, 0, 0, 0,
	 "directory of the spoke's store (outbox, inbox, registry)", OPT(data_dir)},
	{"map_size_mb", CFG_INT, "1024", 16, 1048576, 0, 0, "largest size of the store, MiB",
	 OPT(map_size_mb)},
	{"max_message_bytes", CFG_INT, "4194304", 1024, 67108864, 0, 0,
	 "largest payload accepted by Send", OPT(max_message_bytes)},
	{"default_ttl_s", CFG_INT, "86400", 1, 315360000, 0, 0,
	 "lifetime of a message whose Send gives no ttl, seconds", OPT(default_ttl_s)},
	{"outbox_quota", CFG_INT, "1000000", 1, 1000000000, 0, 0,
	 "messages the outbox holds before Send fails with EFULL", OPT(outbox_quota)},
	{"window", CFG_INT, "1000", 1, 1000000, 0, 0,
	 "deliveries the spoke accepts unacknowledged", OPT(window)},
	{"heartbeat_ms", CFG_INT, "1000", 50, 600000, 0, 0,
	 "link heartbeat interval; three silent ones end the session", OPT(heartbeat_ms)},
	{"reconnect_min_ms", CFG_INT, "100", 10, 600000, 0, 0, "first reconnect delay",
	 OPT(reconnect_min_ms)},
	{"reconnect_max_ms", CFG_INT, "5000", 10, 3600000, 0, 0, "longest reconnect delay",
	 OPT(reconnect_max_ms)},
	{"log_level", CFG_STR, "info", 0, 0, 0, 1, "debug, info, warn or error", OPT(log_level)},
	{"cache_entries", CFG_INT, "100000", 1, 1000000000, 0, 0,
	 "entries kept per cached-mode dataset (least recently used evicted beyond)",
	 OPT(cache_entries)},
	{"fetch_timeout_ms", CFG_INT, "2000", 1, 3600000, 0, 0,
	 "how long a cached-mode miss waits for the hub", OPT(fetch_timeout_ms)},
	{NULL, 0, NULL, 0, 0, 0, 0, NULL, 0},
};

static volatile sig_atomic_t g_stop;
static volatile sig_atomic_t g_hup;
static int g_sigpipe[2] = {-1, -1};

static void on_signal(int sig)
{
	int saved = errno;
	if (sig == SIGHUP)
		g_hup = 1;
	else
		g_stop = 1;
	if (g_sigpipe[1] >= 0) {
		ssize_t w = write(g_sigpipe[1], "s", 1);
		(void)w; /* a full pipe already wakes the loop */
	}
	errno = saved;
}

static int signals_setup(void)
{
	if (pipe(g_sigpipe) != 0)
		return OS_EIO;
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(g_sigpipe[i], F_GETFL);
		if (fl < 0 || fcntl(g_sigpipe[i], F_SETFL, fl | O_NONBLOCK) != 0 ||
		    fcntl(g_sigpipe[i], F_SETFD, FD_CLOEXEC) != 0)
			return OS_EIO;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0 ||
	    sigaction(SIGHUP, &sa, NULL) != 0)
		return OS_EIO;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void signals_drain(void)
{
	char buf[64];
	while (read(g_sigpipe[0], buf, sizeof buf) > 0)
		;
}

/* Commit the iteration's transaction if it wrote anything. 0 or the error
 * that lost it (then nothing of the iteration is durable). */
static int spoke_commit(struct spoke *sp)
{
	/* Acked outbox entries go when the transaction writes anyway (or
	 * have waited long enough); counters that changed with the data go
	 * in with it, once. */
	if (!sp->txn_err && outbox_settle(sp, os_mono_us(), 0) == 0 && outbox_flush(sp) == 0)
		inbox_flush(sp);
	sp->ib.meta_dirty = 0;
	int rc = sp->txn_err;
	if (rc < 0)
		store_abort(&sp->txn);
	else if (sp->txn && sp->txn_dirty)
		rc = store_commit(&sp->txn);
	else
		store_abort(&sp->txn);
	if (rc == 0 && sp->txn_dirty)
		sp->stats.commits++;
	outbox_committed(sp, rc == 0);
	sp->txn_dirty = 0;
	sp->txn_err = 0;
	return rc;
}

/* After a lost commit, the in-memory stream state goes back to what the
 * store holds. */
static void spoke_reload(struct spoke *sp)
{
	struct store_txn *t = NULL;
	int rc = store_begin(sp->st, 1, &t);
	if (rc == 0)
		rc = outbox_load(sp, t, 0);
	if (rc == 0)
		rc = inbox_load(sp, t);
	store_abort(&t);
	if (rc < 0)
		os_log(OS_LOG_ERROR, "store_reload_failed", "code=%s", os_errname(rc));
	replica_reload(sp);
}

/* ------------------------------------------------------------ registry */

/* Warn about what would make every message of ours refused. */
static void spoke_check_self(struct spoke *sp)
{
	const struct reg_node *me = spoke_self(sp);
	sp->key_version = me ? me->key_version : 1;
	if (!me) {
		os_log(OS_LOG_WARN, "node_unregistered",
		       "node=%s registry_version=%llu reason=\"not in the registry; the hub will refuse this node\"",
		       sp->conf.name, (unsigned long long)sp->reg->version);
		return;
	}
	if (crypto_memcmp(me->sign_pk, sp->kp.sign_pk, sizeof(os_sign_pk)) != 0 ||
	    crypto_memcmp(me->box_pk, sp->kp.box_pk, sizeof(os_box_pk)) != 0)
		os_log(OS_LOG_WARN, "node_key_mismatch",
		       "node=%s reason=\"the key file does not hold the keys the registry lists\"",
		       sp->conf.name);
	if (!registry_node_active(me))
		os_log(OS_LOG_WARN, "node_inactive", "node=%s status=%s", sp->conf.name,
		       registry_status_str(me->status));
}

static void spoke_log_expired(const struct spoke *sp)
{
	if (spoke_registry_expired(sp, os_now_ms()))
		os_log(OS_LOG_WARN, "registry_expired",
		       "version=%llu expires_ms=%llu reason=\"new messages are refused until a current registry arrives\"",
		       (unsigned long long)sp->reg->version,
		       (unsigned long long)sp->reg->expires_ms);
}

/* Make r (consumed) the current registry, storing it in the iteration's
 * transaction when store_it; logged as event (registry_loaded at start,
 * registry_updated after). */
static int spoke_registry_adopt(struct spoke *sp, struct registry *r, const char *source,
				int store_it, const char *event)
{
	const struct reg_node *old_hub = sp->reg ? registry_find(sp->reg, sp->conf.hub_name) : NULL;
	const struct reg_node *new_hub = registry_find(r, sp->conf.hub_name);
	int hub_changed = sp->reg && (!old_hub || !new_hub ||
				      memcmp(old_hub->box_pk, new_hub->box_pk, sizeof(os_box_pk)) != 0);
	if (store_it) {
		struct store_txn *t = NULL;
		int rc = spoke_txn(sp, &t);
		if (rc == 0)
			rc = spoke_wrote(sp, store_put(t, sp->db_registry, REGISTRY_KEY,
						       strlen(REGISTRY_KEY), r->signed_bytes,
						       r->signed_len));
		if (rc < 0) {
			registry_free(&r);
			return rc;
		}
	}
	registry_free(&sp->reg);
	sp->reg = r;
	os_log(OS_LOG_INFO, event, "version=%llu expires_ms=%llu nodes=%zu source=%s",
	       (unsigned long long)r->version, (unsigned long long)r->expires_ms, r->n_nodes,
	       source);
	spoke_check_self(sp);
	spoke_log_expired(sp);
	if (hub_changed) {
		if (!new_hub)
			os_log(OS_LOG_ERROR, "hub_unknown",
			       "hub=%s registry_version=%llu reason=\"not in the registry\"",
			       sp->conf.hub_name, (unsigned long long)r->version);
		uplink_request_restart(sp);
	}
	return 0;
}

int spoke_registry_offer(struct spoke *sp, const uint8_t *buf, size_t len, const char *source,
			 int *adopted)
{
	struct registry *r = NULL;
	if (adopted)
		*adopted = 0;
	/* Expiry is not checked here: a newer registry is better than the
	 * one we hold even when both have run out. */
	int rc = registry_parse(buf, len, sp->anchor, 0, &r);
	if (rc < 0) {
		os_log(OS_LOG_WARN, "registry_rejected", "source=%s code=%s reason=\"%s\"", source,
		       os_errname(rc), os_strerror(rc));
		return rc;
	}
	if (sp->reg && r->version <= sp->reg->version) {
		registry_free(&r);
		return 0;
	}
	if ((rc = spoke_registry_adopt(sp, r, source, 1, "registry_updated")) < 0)
		return rc;
	if (adopted)
		*adopted = 1;
	return 0;
}

/* At start: the newer of the stored copy and the file, both verified
 * under the anchor. Neither verifying is fatal, with both reasons. */
static int spoke_registry_start(struct spoke *sp)
{
	struct registry *cached = NULL, *file = NULL;
	struct store_txn *t = NULL;
	const void *v;
	size_t vl;
	int crc, frc, rc;

	if ((rc = spoke_txn(sp, &t)) < 0)
		return rc;
	crc = store_get(t, sp->db_registry, REGISTRY_KEY, strlen(REGISTRY_KEY), &v, &vl);
	if (crc == 0)
		crc = registry_parse(v, vl, sp->anchor, 0, &cached);
	frc = registry_load(sp->conf.registry, sp->anchor, 0, &file);
	if (crc < 0 && frc < 0) {
		os_log(OS_LOG_ERROR, "registry_invalid",
		       "file=%s file_code=%s file_reason=\"%s\" store_code=%s store_reason=\"%s\"",
		       sp->conf.registry, os_errname(frc), os_strerror(frc), os_errname(crc),
		       crc == OS_ENOTFOUND ? "no registry stored yet" : os_strerror(crc));
		return frc;
	}
	if (frc < 0)
		os_log(OS_LOG_WARN, "registry_rejected", "source=file file=%s code=%s reason=\"%s\"",
		       sp->conf.registry, os_errname(frc), os_strerror(frc));
	else if (crc < 0 && crc != OS_ENOTFOUND)
		os_log(OS_LOG_WARN, "registry_rejected", "source=store code=%s reason=\"%s\"",
		       os_errname(crc), os_strerror(crc));
	if (file && (!cached || file->version > cached->version)) {
		registry_free(&cached);
		rc = spoke_registry_adopt(sp, file, "file", 1, "registry_loaded");
	} else {
		registry_free(&file);
		rc = spoke_registry_adopt(sp, cached, "store", 0, "registry_loaded");
	}
	return rc;
}

/* ------------------------------------------------------------ start-up */

static int spoke_check_conf(struct spoke *sp)
{
	const struct spoke_conf *c = &sp->conf;
	enum os_log_level lvl;
	if (os_log_parse_level(c->log_level, &lvl) != 0) {
		fprintf(stderr, "onestop-spoke: log_level: \"%s\" is not debug, info, warn or error\n",
			c->log_level);
		return OS_ECONFIG;
	}
	os_log_set_level(lvl);
	if (os_name_valid(c->name) != 0) {
		fprintf(stderr, "onestop-spoke: name: \"%s\" is not a node name (dotted labels [a-z0-9-]{1,32})\n",
			c->name);
		return OS_ECONFIG;
	}
	if (os_name_valid(c->hub_name) != 0) {
		fprintf(stderr, "onestop-spoke: hub_name: \"%s\" is not a node name\n", c->hub_name);
		return OS_ECONFIG;
	}
	if (strlen(c->trust_anchor) != 2 * sizeof(os_sign_pk) ||
	    os_unhex(sp->anchor, sizeof(os_sign_pk), c->trust_anchor) != 0) {
		fprintf(stderr, "onestop-spoke: trust_anchor: must be 64 hex characters\n");
		return OS_ECONFIG;
	}
	int ipc = strncmp(c->api, "ipc://", 6) == 0 && c->api[6] != '\0';
	int tcp = strncmp(c->api, "tcp://127.0.0.1:", 16) == 0 ||
		  strncmp(c->api, "tcp://localhost:", 16) == 0 || strncmp(c->api, "tcp://[::1]:", 12) == 0;
	if (!ipc && !tcp) {
		fprintf(stderr, "onestop-spoke: api: \"%s\" must be ipc://PATH or tcp://127.0.0.1:PORT\n",
			c->api);
		return OS_ECONFIG;
	}
	if (strncmp(c->hub_endpoint, "tcp://", 6) != 0 && strncmp(c->hub_endpoint, "ipc://", 6) != 0) {
		fprintf(stderr, "onestop-spoke: hub_endpoint: \"%s\" must be tcp://HOST:PORT\n",
			c->hub_endpoint);
		return OS_ECONFIG;
	}
	if (c->reconnect_min_ms > c->reconnect_max_ms) {
		fprintf(stderr, "onestop-spoke: reconnect_min_ms (%lld) is over reconnect_max_ms (%lld)\n",
			c->reconnect_min_ms, c->reconnect_max_ms);
		return OS_ECONFIG;
	}
	return 0;
}

static int spoke_open_store(struct spoke *sp)
{
	int rc = store_open(sp->conf.data_dir, (size_t)sp->conf.map_size_mb, 12, &sp->st);
	if (rc < 0) {
		os_log(OS_LOG_ERROR, "store_open_failed", "dir=%s code=%s reason=\"%s\"",
		       sp->conf.data_dir, os_errname(rc), os_strerror(rc));
		return rc;
	}
	if ((rc = store_dbi_open(sp->st, "meta", &sp->db_meta)) < 0 ||
	    (rc = store_dbi_open(sp->st, "outbox", &sp->db_outbox)) < 0 ||
	    (rc = store_dbi_open(sp->st, "inbox", &sp->db_inbox)) < 0 ||
	    (rc = store_dbi_open(sp->st, "seen", &sp->db_seen)) < 0 ||
	    (rc = store_dbi_open(sp->st, "registry", &sp->db_registry)) < 0 ||
	    (rc = replica_dbis(sp->st, &sp->db_ds_cache, &sp->db_ds_pos)) < 0) {
		os_log(OS_LOG_ERROR, "store_open_failed", "dir=%s code=%s reason=\"cannot open databases\"",
		       sp->conf.data_dir, os_errname(rc));
		return rc;
	}
	return 0;
}

static int spoke_hub_io_send(void *ctx, const struct Onestop__LinkFrame *f)
{
	return uplink_send_frame(ctx, f);
}

static int spoke_hub_io_up(void *ctx)
{
	return uplink_is_up(ctx);
}

static int spoke_start(struct spoke *sp, char *bound, size_t size)
{
	struct store_txn *t = NULL;
	int rc;

	if ((rc = crypto_setup()) < 0) {
		os_log(OS_LOG_ERROR, "crypto_setup_failed", "code=%s", os_errname(rc));
		return rc;
	}
	if ((rc = crypto_keyfile_read(sp->conf.key, &sp->kp)) < 0) {
		os_log(OS_LOG_ERROR, "key_unreadable", "key=%s code=%s reason=\"%s\"", sp->conf.key,
		       os_errname(rc), os_strerror(rc));
		return rc;
	}
	if ((rc = spoke_open_store(sp)) < 0)
		return rc;
	if ((rc = batchsig_cache_new(CACHE_SLOTS, &sp->cache)) < 0)
		return rc;

	/* State, outbox epoch (created with the store) and registry are
	 * settled in one transaction before anything talks to anyone. */
	if ((rc = spoke_txn(sp, &t)) < 0)
		goto store_fail;
	if ((rc = outbox_load(sp, t, 1)) < 0 || (rc = inbox_load(sp, t)) < 0 ||
	    (rc = inbox_upgrade(sp, t)) < 0)
		goto store_fail;
	spoke_wrote(sp, 0);
	if ((rc = spoke_registry_start(sp)) < 0) {
		store_abort(&sp->txn);
		sp->txn_err = 0;
		return rc;
	}
	/* The dataset copies need the registry (modes) and a write
	 * transaction (an interrupted snapshot is dropped). */
	if ((rc = spoke_txn(sp, &t)) < 0 || (rc = replica_open(sp, t)) < 0 || sp->txn_err < 0) {
		rc = rc < 0 ? rc : sp->txn_err;
		goto store_fail;
	}
	if ((rc = spoke_commit(sp)) < 0)
		goto store_fail;

	const struct reg_node *hub = registry_find(sp->reg, sp->conf.hub_name);
	if (!hub) {
		os_log(OS_LOG_ERROR, "hub_unknown",
		       "hub=%s registry_version=%llu reason=\"the hub is not in the registry\"",
		       sp->conf.hub_name, (unsigned long long)sp->reg->version);
		return OS_EUNKNOWN;
	}

	if (!(sp->zctx = zmq_ctx_new())) {
		os_log(OS_LOG_ERROR, "zmq_failed", "reason=\"%s\"", zmq_strerror(errno));
		return OS_EIO;
	}
	if ((rc = signals_setup()) < 0) {
		os_log(OS_LOG_ERROR, "signals_failed", "reason=\"%s\"", strerror(errno));
		return rc;
	}
	if ((rc = api_open(sp, bound, size)) < 0)
		return rc;
	if ((rc = uplink_new(sp)) < 0)
		return rc;
	sp->hub_io = (struct spoke_hub_io){ spoke_hub_io_send, spoke_hub_io_up, sp };
	return 0;
store_fail:
	store_abort(&sp->txn);
	sp->txn_err = 0;
	os_log(OS_LOG_ERROR, "store_failed", "dir=%s code=%s reason=\"%s\"", sp->conf.data_dir,
	       os_errname(rc), os_strerror(rc));
	return rc;
}

static void spoke_shutdown(struct spoke *sp)
{
	store_abort(&sp->txn);
	replica_close(sp);
	api_close(sp);
	uplink_destroy(sp);
	if (sp->zctx)
		zmq_ctx_term(sp->zctx);
	sp->zctx = NULL;
	inbox_clear(sp);
	store_close(&sp->st);
	registry_free(&sp->reg);
	batchsig_cache_destroy(&sp->cache);
	crypto_keypair_wipe(&sp->kp);
	for (int i = 0; i < 2; i++)
		if (g_sigpipe[i] >= 0) {
			close(g_sigpipe[i]);
			g_sigpipe[i] = -1;
		}
}

/* ------------------------------------------------------------ loop */

static void spoke_reload_config(struct spoke *sp)
{
	if (sp->config_path && cfg_reload(spoke_opts, &sp->conf, sp->config_path) == 0) {
		enum os_log_level lvl;
		if (os_log_parse_level(sp->conf.log_level, &lvl) == 0)
			os_log_set_level(lvl);
	}
	struct registry *r = NULL;
	int rc = registry_load(sp->conf.registry, sp->anchor, 0, &r);
	if (rc < 0) {
		os_log(OS_LOG_WARN, "registry_rejected", "source=file file=%s code=%s reason=\"%s\"",
		       sp->conf.registry, os_errname(rc), os_strerror(rc));
		return;
	}
	if (r->version <= sp->reg->version) {
		os_log(OS_LOG_INFO, "registry_unchanged", "file=%s file_version=%llu version=%llu",
		       sp->conf.registry, (unsigned long long)r->version,
		       (unsigned long long)sp->reg->version);
		registry_free(&r);
		return;
	}
	spoke_registry_adopt(sp, r, "file", 1, "registry_updated");
}

static int spoke_poll_timeout(const struct spoke *sp, uint64_t now)
{
	uint64_t d = uplink_deadline_us(sp);
	uint64_t a = api_deadline_us(sp);
	if (a < d)
		d = a;
	a = replica_deadline_us(sp);
	if (a < d)
		d = a;
	if (sp->ib.prune_due_us < d)
		d = sp->ib.prune_due_us;
	if (outbox_deadline_us(sp) < d)
		d = outbox_deadline_us(sp);
	if (d <= now)
		return 0;
	uint64_t ms = (d - now + 999) / 1000;
	return ms > POLL_MAX_MS ? POLL_MAX_MS : (int)ms;
}

static void spoke_log_stats(const struct spoke *sp)
{
	os_log(OS_LOG_DEBUG, "stats",
	       "hub_connected=%d outbox=%llu inbox=%llu sent=%llu refused=%llu pushed=%llu received=%llu rejected=%llu duplicates=%llu commits=%llu deliver_last=%llu",
	       uplink_is_up(sp), (unsigned long long)sp->ob.count,
	       (unsigned long long)sp->ib.count, (unsigned long long)sp->stats.sent,
	       (unsigned long long)sp->stats.refused, (unsigned long long)sp->stats.pushed,
	       (unsigned long long)sp->stats.received, (unsigned long long)sp->stats.rejected,
	       (unsigned long long)sp->stats.duplicates, (unsigned long long)sp->stats.commits,
	       (unsigned long long)sp->ib.last);
}

static int spoke_loop(struct spoke *sp)
{
	uint64_t stats_at = os_mono_us() + STATS_EVERY_US;
	while (!g_stop) {
		zmq_pollitem_t items[3];
		int n = 0;
		items[n++] = (zmq_pollitem_t){.socket = api_socket(sp), .events = ZMQ_POLLIN};
		items[n++] = (zmq_pollitem_t){.fd = g_sigpipe[0], .events = ZMQ_POLLIN};
		if (uplink_socket(sp))
			items[n++] = (zmq_pollitem_t){.socket = uplink_socket(sp), .events = ZMQ_POLLIN};
		int timeout = spoke_poll_timeout(sp, os_mono_us());
		if (zmq_poll(items, n, timeout) < 0 && errno != EINTR) {
			if (errno == ETERM)
				break;
			os_log(OS_LOG_ERROR, "poll_failed", "reason=\"%s\"", zmq_strerror(errno));
			return OS_EIO;
		}
		signals_drain();
		if (g_stop)
			break;
		if (g_hup) {
			g_hup = 0;
			os_log(OS_LOG_INFO, "reload", "signal=SIGHUP");
			spoke_reload_config(sp);
		}

		api_drain(sp, API_BUDGET);
		uplink_drain(sp, UPLINK_BUDGET);
		api_flush_sends(sp);
		uint64_t now = os_mono_us();
		inbox_prune_seen(sp, os_now_ms(), now, SEEN_PRUNE_BUDGET);
		if (sp->txn_dirty && !sp->txn_err) {
			/* This iteration commits (fsyncs) anyway: what arrived while
			 * it worked joins the commit instead of waiting a whole one. */
			api_drain(sp, API_BUDGET);
			uplink_drain(sp, UPLINK_BUDGET);
			api_flush_sends(sp);
		}

		int rc = spoke_commit(sp);
		if (rc < 0) {
			os_log(OS_LOG_ERROR, "store_commit_failed", "code=%s reason=\"%s\"",
			       os_errname(rc), os_strerror(rc));
			spoke_reload(sp);
		}
		uplink_commit_done(sp, rc);
		api_after_commit(sp, rc);
		replica_after_commit(sp, rc);
		uplink_after_commit(sp);

		if (now >= stats_at) {
			spoke_log_stats(sp);
			stats_at = now + STATS_EVERY_US;
		}
	}
	/* A clean stop leaves no acknowledged entry waiting for deletion, and
	 * no delivery unacknowledged. */
	if (outbox_settle(sp, os_mono_us(), 1) == 0 && spoke_commit(sp) < 0)
		spoke_reload(sp);
	uplink_stop(sp);
	return 0;
}

/* Every iteration allocates and frees frames of up to a few MiB. With
 * glibc's defaults those come from fresh mappings, or the heap is trimmed
 * after each burst, so each iteration pays page faults and zeroing for the
 * same memory again. Keep up to a few MiB: a fixed bound, not one that
 * grows with load. */
static void spoke_tune_malloc(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

int main(int argc, char **argv)
{
	static struct spoke sp;
	char bound[512];
	int code = 0;

	spoke_tune_malloc();

	enum cfg_action act = cfg_parse(spoke_opts, &sp.conf, "onestop-spoke",
					"OneStop spoke: signs, stores and exchanges messages with the hub for local apps",
					argc, argv, &sp.config_path);
	if (act == CFG_EXIT_OK)
		goto out;
	if (act == CFG_EXIT_FAIL || spoke_check_conf(&sp) < 0) {
		code = EXIT_CONFIG;
		goto out;
	}
	if (spoke_start(&sp, bound, sizeof bound) < 0) {
		code = EXIT_START;
		goto out;
	}
	os_log(OS_LOG_INFO, "spoke_ready", "api=%s node=%s hub=%s hub_endpoint=%s registry_version=%llu outbox=%llu inbox=%llu",
	       bound, sp.conf.name, sp.conf.hub_name, sp.conf.hub_endpoint,
	       (unsigned long long)sp.reg->version, (unsigned long long)sp.ob.count,
	       (unsigned long long)sp.ib.count);
	if (spoke_loop(&sp) < 0)
		code = EXIT_START;
	else
		os_log(OS_LOG_INFO, "spoke_stopped", "node=%s", sp.conf.name);
out:
	spoke_shutdown(&sp);
	cfg_free(spoke_opts, &sp.conf);
	return code;
}
