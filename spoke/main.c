/* onestop-spoke: options, start-up, the registration of every module's
 * hooks with the event loop (common/loop.h), signals and the clean stop.
 * Each loop iteration drains the API and hub sockets, does all their work
 * in one write transaction, commits once, and only then pushes, replies and
 * acknowledges (docs/ARCHITECTURE.md "Processes and sockets"). */
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
#include "loop.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#include "api.h"
#include "casework.h"
#include "complaints.h"
#include "evaluate.h"
#include "hublink.h"
#include "inbox.h"
#include "outbox.h"
#include "replica.h"
#include "replica_read.h"
#include "spoke.h"
#include "trust.h"

#define EXIT_CONFIG 2
#define EXIT_START 1
#define CACHE_SLOTS 4096u /* verified batch roots remembered */
#define STATS_EVERY_US 10000000u

#define STR_OPT(field, def, req, rel, help) \
	CFG_STR_OPT(struct spoke_conf, field, def, req, rel, help)
#define INT_OPT(field, def, lo, hi, rel, help) \
	CFG_INT_OPT(struct spoke_conf, field, def, lo, hi, rel, help)

/* Every option: INI key and --flag; reloadable ones are re-read on SIGHUP. */
static const struct cfg_opt spoke_opts[] = {
	STR_OPT(name, NULL, 1, 0, "this node's name in the registry"),
	STR_OPT(key, NULL, 1, 0, "node key file (onestop keygen)"),
	STR_OPT(registry, NULL, 1, 1,
		"initial signed registry file; the newest verified copy is kept in the store"),
	STR_OPT(trust_anchor, NULL, 1, 0,
		"root public key the registry must be signed with (64 hex chars)"),
	STR_OPT(hub_endpoint, "tcp://127.0.0.1:7700", 0, 0, "the hub's link endpoint"),
	STR_OPT(hub_name, "hub", 0, 0, "the hub's node name in the registry"),
	STR_OPT(api, "ipc:///run/onestop/spoke.sock", 0, 0,
		"local API endpoint: ipc://PATH or tcp://127.0.0.1:PORT"),
	STR_OPT(api_mode, "0660", 0, 0, "permission bits of the ipc:// API socket file (octal)"),
	STR_OPT(api_group, "", 0, 0,
		"group of the ipc:// API socket file, a name or number (\"\": the spoke's group)"),
	STR_OPT(api_allow_send, "", 0, 0,
		"local apps that may Send, e.g. uid:1001,gid:1002 (\"\": everyone who can open "
		"the socket; ipc:// only, by SO_PEERCRED)"),
	STR_OPT(api_allow_publish, "", 0, 0, "local apps that may Put (as api_allow_send)"),
	STR_OPT(api_allow_issue, "", 0, 0,
		"local apps that may issue assertions (as api_allow_send)"),
	STR_OPT(data_dir, "/var/lib/onestop/spoke", 0, 0,
		"directory of the spoke's store (outbox, inbox, registry)"),
	INT_OPT(map_size_mb, "1024", 16, 1048576, 0, "largest size of the store, MiB"),
	INT_OPT(max_message_bytes, "4194304", 1024, 67108864, 0,
		"largest payload accepted by Send (and delivered)"),
	INT_OPT(hub_max_message_bytes, "1048576", 512, 67108864, 0,
		"the hub's max_message_bytes until its Welcome advertises it: Send refuses with "
		"ETOOBIG a message whose signed envelope is larger"),
	INT_OPT(send_key_window_s, "86400", 1, 315360000, 0,
		"how long a Send's idempotency key answers retries with the original id, seconds"),
	INT_OPT(default_ttl_s, "86400", 1, 315360000, 0,
		"lifetime of a message whose Send gives no ttl, seconds"),
	INT_OPT(outbox_quota, "1000000", 1, 1000000000, 0,
		"messages the outbox holds before Send fails with EFULL"),
	INT_OPT(window, "1000", 1, 1000000, 0, "deliveries the spoke accepts unacknowledged"),
	INT_OPT(heartbeat_ms, "1000", 50, 600000, 0,
		"link heartbeat interval; three silent ones end the session"),
	INT_OPT(clock_skew_ms, "300000", 0, 86400000, 0,
		"how far ahead of this spoke's clock a message's created_ms may be"),
	INT_OPT(reconnect_min_ms, "100", 10, 600000, 0, "first reconnect delay"),
	INT_OPT(reconnect_max_ms, "5000", 10, 3600000, 0, "longest reconnect delay"),
	STR_OPT(log_level, "info", 0, 1, "debug, info, warn or error"),
	INT_OPT(cache_entries, "100000", 1, 1000000000, 0,
		"entries kept per cached-mode dataset (least recently used evicted beyond)"),
	INT_OPT(fetch_timeout_ms, "2000", 1, 3600000, 0,
		"how long a cached-mode miss waits for the hub"),
	INT_OPT(assertion_max_validity_s, "600", 1, 86400, 1,
		"longest validity (expires - issued) of an assertion issued or verified here, s"),
	CFG_BOOL_OPT(struct spoke_conf, assertion_any_audience, "false", 1,
		     "also verify assertions that name no audience (default: only ours)"),
	STR_OPT(holidays_file, "", 0, 0,
		"the case calendar's holidays: lines YYYY-MM-DD, or YYYY-MM-DD workday for a "
		"make-up working day (\"\": weekends only)"),
	INT_OPT(calendar_utc_offset_min, "0", -840, 840, 0,
		"the case calendar's time zone, minutes east of UTC (480 for UTC+8)"),
	INT_OPT(case_ttl_days, "365", 1, 3650, 0,
		"lifetime of a case message on its way to the other party, days"),
	INT_OPT(complaint_days, "5", 1, 365, 0,
		"working days the handler has to answer a complaint or consultation"),
	CFG_END,
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

/* ------------------------------------------------------------ start-up */

static int spoke_check_conf(struct spoke *sp)
{
	const struct spoke_conf *c = &sp->conf;
	enum os_log_level lvl;
	if (os_log_parse_level(c->log_level, &lvl) != 0) {
		fprintf(stderr,
			"onestop-spoke: log_level: \"%s\" is not debug, info, warn or error\n",
			c->log_level);
		return OS_ECONFIG;
	}
	os_log_set_level(lvl);
	if (os_name_valid(c->name) != 0) {
		fprintf(stderr,
			"onestop-spoke: name: \"%s\" is not a node name (dotted labels [a-z0-9-]{1,32})\n",
			c->name);
		return OS_ECONFIG;
	}
	if (os_name_valid(c->hub_name) != 0) {
		fprintf(stderr, "onestop-spoke: hub_name: \"%s\" is not a node name\n",
			c->hub_name);
		return OS_ECONFIG;
	}
	if (strlen(c->trust_anchor) != 2 * sizeof(os_sign_pk) ||
	    os_unhex(sp->anchor, sizeof(os_sign_pk), c->trust_anchor) != 0) {
		fprintf(stderr, "onestop-spoke: trust_anchor: must be 64 hex characters\n");
		return OS_ECONFIG;
	}
	int ipc = strncmp(c->api, "ipc://", 6) == 0 && c->api[6] != '\0';
	int tcp = strncmp(c->api, "tcp://127.0.0.1:", 16) == 0 ||
		  strncmp(c->api, "tcp://localhost:", 16) == 0 ||
		  strncmp(c->api, "tcp://[::1]:", 12) == 0;
	if (!ipc && !tcp) {
		fprintf(stderr,
			"onestop-spoke: api: \"%s\" must be ipc://PATH or tcp://127.0.0.1:PORT\n",
			c->api);
		return OS_ECONFIG;
	}
	if (strncmp(c->hub_endpoint, "tcp://", 6) != 0 &&
	    strncmp(c->hub_endpoint, "ipc://", 6) != 0) {
		fprintf(stderr, "onestop-spoke: hub_endpoint: \"%s\" must be tcp://HOST:PORT\n",
			c->hub_endpoint);
		return OS_ECONFIG;
	}
	if (c->reconnect_min_ms > c->reconnect_max_ms) {
		fprintf(stderr,
			"onestop-spoke: reconnect_min_ms (%lld) is over reconnect_max_ms (%lld)\n",
			c->reconnect_min_ms, c->reconnect_max_ms);
		return OS_ECONFIG;
	}
	if (casework_check_conf(c) < 0)
		return OS_ECONFIG;
	return api_check_conf(c);
}

static int spoke_open_store(struct spoke *sp)
{
	int rc = store_open(sp->conf.data_dir, (size_t)sp->conf.map_size_mb, 32, &sp->st);
	if (rc < 0) {
		os_log(OS_LOG_ERROR, "store_open_failed", "dir=%s code=%s reason=%s",
		       sp->conf.data_dir, os_errname(rc), OS_Q(os_strerror(rc)));
		return rc;
	}
	if ((rc = spoke_dbis(sp)) < 0 ||
	    (rc = replica_dbis(sp->st, &sp->db_ds_cache, &sp->db_ds_pos)) < 0) {
		os_log(OS_LOG_ERROR, "store_open_failed",
		       "dir=%s code=%s reason=\"cannot open databases\"", sp->conf.data_dir,
		       os_errname(rc));
		return rc;
	}
	return 0;
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
		os_log(OS_LOG_ERROR, "key_unreadable", "key=%s code=%s reason=%s", sp->conf.key,
		       os_errname(rc), OS_Q(os_strerror(rc)));
		return rc;
	}
	/* Secret keys out of swap and core dumps where allowed; wiped at stop. */
	if (crypto_keypair_lock(&sp->kp) < 0)
		os_log(OS_LOG_WARN, "key_not_locked", "reason=%s",
		       OS_Q("mlock refused (RLIMIT_MEMLOCK); the keys may be swapped"));
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
	if ((rc = trust_start(sp)) < 0) {
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
		os_log(OS_LOG_ERROR, "zmq_failed", "reason=%s", OS_Q(zmq_strerror(errno)));
		return OS_EIO;
	}
	if ((rc = signals_setup()) < 0) {
		os_log(OS_LOG_ERROR, "signals_failed", "reason=%s", OS_Q(strerror(errno)));
		return rc;
	}
	if ((rc = casework_open(sp)) < 0 || (rc = complaints_open(sp)) < 0 ||
	    (rc = evaluate_open(sp)) < 0)
		return rc;
	if ((rc = api_open(sp, bound, size)) < 0)
		return rc;
	return hublink_open(sp);
store_fail:
	store_abort(&sp->txn);
	sp->txn_err = 0;
	os_log(OS_LOG_ERROR, "store_failed", "dir=%s code=%s reason=%s", sp->conf.data_dir,
	       os_errname(rc), OS_Q(os_strerror(rc)));
	return rc;
}

static void spoke_shutdown(struct spoke *sp)
{
	store_abort(&sp->txn);
	replica_close(sp);
	api_close(sp);
	complaints_close(sp);
	casework_close(sp);
	hublink_close(sp);
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

/* ------------------------------------------------------------ the daemon's own hooks */

static void spoke_reload_config(struct spoke *sp)
{
	if (sp->config_path && cfg_reload(spoke_opts, &sp->conf, sp->config_path) == 0) {
		enum os_log_level lvl;
		if (os_log_parse_level(sp->conf.log_level, &lvl) == 0)
			os_log_set_level(lvl);
	}
	trust_reload(sp);
}

static int spoke_signal_fd(void *ctx)
{
	(void)ctx;
	return g_sigpipe[0];
}

/* The self-pipe woke the loop: SIGHUP reloads the configuration and the
 * registry file (SIGTERM and SIGINT end loop_run). */
static unsigned spoke_signal_drain(void *ctx)
{
	signals_drain();
	if (g_hup) {
		g_hup = 0;
		os_log(OS_LOG_INFO, "reload", "signal=SIGHUP");
		spoke_reload_config(ctx);
	}
	return 0;
}

static void spoke_log_stats(void *ctx, uint64_t now_us)
{
	static uint64_t stats_at;
	const struct spoke *sp = ctx;
	if (stats_at == 0)
		stats_at = now_us + STATS_EVERY_US;
	if (now_us < stats_at)
		return;
	stats_at = now_us + STATS_EVERY_US;
	os_log(OS_LOG_DEBUG, "stats",
	       "hub_connected=%d outbox=%llu inbox=%llu sent=%llu refused=%llu pushed=%llu received=%llu rejected=%llu duplicates=%llu commits=%llu deliver_last=%llu",
	       spoke_hub_up(sp), (unsigned long long)sp->ob.count, (unsigned long long)sp->ib.count,
	       (unsigned long long)sp->stats.sent, (unsigned long long)sp->stats.refused,
	       (unsigned long long)sp->stats.pushed, (unsigned long long)sp->stats.received,
	       (unsigned long long)sp->stats.rejected, (unsigned long long)sp->stats.duplicates,
	       (unsigned long long)sp->stats.commits, (unsigned long long)sp->ib.last);
}

/* The loop's view of the shared state (state.c). */
static int spoke_state_dirty(void *ctx)
{
	return ((struct spoke *)ctx)->txn_dirty;
}

static int spoke_state_failed(void *ctx)
{
	return ((struct spoke *)ctx)->txn_err != 0;
}

static int spoke_state_commit(void *ctx)
{
	int rc = spoke_commit(ctx);
	if (rc < 0)
		os_log(OS_LOG_ERROR, "store_commit_failed", "code=%s reason=%s", os_errname(rc),
		       OS_Q(os_strerror(rc)));
	return rc;
}

/* ------------------------------------------------------------ registration */

/* Every module's hooks, in the order of their effects after a commit:
 * state reloads after a failure, then the hub link pushes what the commit
 * made durable, the API replies, the replica sends its DatasetAcks, and
 * last (timers phase) the link sends its deliver ack, pushes and runs its
 * timers. 0 or OS_EFULL. */
static int spoke_register(struct spoke *sp, struct loop *l)
{
	const struct loop_hooks daemon = {
		.name = "signals",
		.fd = spoke_signal_fd,
		.drain = spoke_signal_drain,
		.timers = spoke_log_stats,
		.ctx = sp,
	};
	int rc;
	if ((rc = loop_add(l, &daemon)) < 0 || (rc = outbox_attach(sp, l)) < 0 ||
	    (rc = inbox_attach(sp, l)) < 0 || (rc = replica_attach_reload(sp, l)) < 0 ||
	    (rc = hublink_attach(sp, l)) < 0 || (rc = api_attach(sp, l)) < 0 ||
	    (rc = casework_attach(sp, l)) < 0 || (rc = replica_attach(sp, l)) < 0)
		return rc;
	return 0;
}

/* Run the loop until SIGTERM or SIGINT. A clean stop leaves no
 * acknowledged entry waiting for deletion, and no delivery
 * unacknowledged. 0 or OS_EIO (the poll failed). */
static int spoke_run(struct spoke *sp)
{
	const struct loop_state state = {
		.dirty = spoke_state_dirty,
		.failed = spoke_state_failed,
		.commit = spoke_state_commit,
		.ctx = sp,
	};
	struct loop *l = NULL;
	int rc;
	if ((rc = loop_new(&state, &l)) < 0 || (rc = spoke_register(sp, l)) < 0) {
		os_log(OS_LOG_ERROR, "loop_failed", "code=%s", os_errname(rc));
		loop_free(&l);
		return rc;
	}
	rc = loop_run(l, &g_stop);
	loop_free(&l);
	if (rc == OS_EIO)
		return rc;
	/* The last iteration committed everything else: what remains is the
	 * deletion of acknowledged entries, and the ack owed to the hub. */
	if (outbox_settle(sp, os_mono_us(), 1) == 0 && outbox_flush(sp) == 0)
		inbox_flush(sp);
	outbox_committed(sp, spoke_commit(sp) == 0);
	hublink_stop(sp);
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

	/* --check-config is handled here so that it also runs the spoke's own
	 * checks (names, trust anchor, endpoints, the API's socket options and
	 * rules), not only the option table. */
	char **args = calloc((size_t)argc + 1, sizeof *args);
	int nargs = 0, check = 0;
	if (!args)
		return EXIT_START;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--check-config") == 0)
			check = 1;
		else
			args[nargs++] = argv[i];
	}
	enum cfg_action act = cfg_parse(
		spoke_opts, &sp.conf, "onestop-spoke",
		"OneStop spoke: signs, stores and exchanges messages with the hub for local apps",
		nargs, args, &sp.config_path);
	if (act == CFG_EXIT_OK)
		goto out;
	if (act == CFG_EXIT_FAIL || spoke_check_conf(&sp) < 0) {
		code = EXIT_CONFIG;
		goto out;
	}
	if (check) {
		printf("config ok\n");
		goto out;
	}
	if (spoke_start(&sp, bound, sizeof bound) < 0) {
		code = EXIT_START;
		goto out;
	}
	os_log(OS_LOG_INFO, "spoke_ready",
	       "api=%s node=%s hub=%s hub_endpoint=%s registry_version=%llu outbox=%llu inbox=%llu",
	       bound, sp.conf.name, sp.conf.hub_name, sp.conf.hub_endpoint,
	       (unsigned long long)sp.reg->version, (unsigned long long)sp.ob.count,
	       (unsigned long long)sp.ib.count);
	if (spoke_run(&sp) < 0)
		code = EXIT_START;
	else
		os_log(OS_LOG_INFO, "spoke_stopped", "node=%s", sp.conf.name);
out:
	spoke_shutdown(&sp);
	cfg_free(spoke_opts, &sp.conf);
	free(args);
	return code;
}
