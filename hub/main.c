/* onestop-hub: the start-up sequence (options, key, registry, store,
 * sockets), signals (flags and a self-pipe) and the one zmq_poll loop that
 * drains frames, commits once per iteration and only then replies. */
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
#include "dataset.h"
#include "err.h"
#include "hub.h"
#include "link.h"
#include "log.h"
#include "queue.h"
#include "registry.h"
#include "route.h"
#include "util.h"
#include "zap.h"

#define HUB_PROG "onestop-hub"
#define HUB_SIGCACHE_SLOTS 4096u
#define HUB_HWM 100000
#define HUB_MAX_FRAME ((int64_t)72 << 20) /* 64 MiB message + envelope + slack */

#define OPT_STR(n, d, req, rel, help) \
	{ #n, CFG_STR, d, 0, 0, req, rel, help, offsetof(struct hub_conf, n) }
#define OPT_INT(n, d, lo, hi, rel, help) \
	{ #n, CFG_INT, d, lo, hi, 0, rel, help, offsetof(struct hub_conf, n) }

/* Every option: INI key and --flag; reloadable ones are re-read on SIGHUP. */
static const struct cfg_opt hub_opts[] = {
	OPT_STR(name, "hub", 0, 0, "this hub's node name in the registry"),
	OPT_STR(key, NULL, 1, 0, "node key file (onestop keygen)"),
	OPT_STR(registry, NULL, 1, 0, "signed registry file; re-read on SIGHUP"),
	OPT_STR(trust_anchor, NULL, 1, 0, "root Ed25519 public key, 64 hex chars"),
	OPT_STR(listen, "tcp://127.0.0.1:7700", 0, 0, "ZeroMQ endpoint the spokes connect to"),
	OPT_STR(data_dir, "/var/lib/onestop/hub", 0, 0, "directory of the queue store (LMDB)"),
	OPT_INT(map_size_mb, "1024", 16, 16777216, 0, "store map size in MiB (largest store)"),
	OPT_INT(max_message_bytes, "1048576", 512, 67108864, 0,
		"largest signed message accepted, in bytes"),
	OPT_INT(window, "1000", 1, 100000, 0, "pushes a spoke may have unacknowledged"),
	OPT_INT(heartbeat_ms, "1000", 50, 600000, 0,
		"heartbeat interval; a session ends after 3 silent intervals"),
	OPT_INT(queue_quota, "1000000", 1, 1000000000000LL, 1,
		"entries a destination queue may hold before pushes to it wait"),
	OPT_STR(log_level, "info", 0, 1, "debug, info, warn or error"),
	OPT_INT(dataset_log_max, "100000", 10, 1000000000000LL, 1,
		"changes kept per dataset log before compaction from the front"),
	{ NULL, CFG_STR, NULL, 0, 0, 0, 0, NULL, 0 },
};

static volatile sig_atomic_t sig_stop, sig_hup;
static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	ssize_t w;

	if (sig == SIGHUP)
		sig_hup = 1;
	else
		sig_stop = 1;
	if (sig_pipe[1] >= 0) {
		w = write(sig_pipe[1], "s", 1);
		(void)w; /* a full pipe already wakes the loop */
	}
	errno = saved;
}

static int hub_signals(void)
{
	struct sigaction sa;

	if (pipe(sig_pipe) != 0)
		return OS_EIO;
	for (int i = 0; i < 2; i++) {
		fcntl(sig_pipe[i], F_SETFL, fcntl(sig_pipe[i], F_GETFL) | O_NONBLOCK);
		fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) || sigaction(SIGINT, &sa, NULL) ||
	    sigaction(SIGHUP, &sa, NULL))
		return OS_EIO;
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return 0;
}

const struct reg_node *hub_active_node(const struct hub *h, const char *name)
{
	const struct reg_node *n = registry_find(h->reg, name);

	return n && registry_node_active(n) ? n : NULL;
}

/* ---------------------------------------------------------------- checks */

static void conf_error(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s: %s\n", HUB_PROG, what, detail);
}

/* The hub's own node must be in the registry, active, and carry this
 * key's public halves. NULL and a reason otherwise. */
static const struct reg_node *hub_own_node(const struct registry *reg, const char *name,
					   const struct os_keypair *kp, const char **why)
{
	const struct reg_node *n = registry_find(reg, name);

	if (!n)
		*why = "the registry has no node of this hub's name";
	else if (!registry_node_active(n))
		*why = "this hub's node is not active in the registry";
	else if (crypto_memcmp(n->sign_pk, kp->sign_pk, sizeof(os_sign_pk)) != 0 ||
		 crypto_memcmp(n->box_pk, kp->box_pk, sizeof(os_box_pk)) != 0)
		*why = "the key file does not match this hub's node in the registry";
	else
		return n;
	return NULL;
}

static const char *registry_error(int rc)
{
	switch (rc) {
	case OS_EBADSIG: return "signature does not verify under trust_anchor";
	case OS_EEXPIRED: return "the registry has expired (re-sign it)";
	case OS_EIO: return "cannot read the file";
	case OS_ETOOBIG: return "file too large";
	default: return os_strerror(rc);
	}
}

/* Validate what the table cannot: log level, names, anchor, the key file,
 * the registry and the hub's node in it. Loads h->kp, h->anchor, h->reg.
 * Prints each error; 0 or OS_ECONFIG. */
static int hub_check(struct hub *h)
{
	const struct reg_node *own;
	enum os_log_level lvl;
	const char *why = NULL;
	char buf[600];
	int rc, bad = 0;

	if (os_log_parse_level(h->conf.log_level, &lvl) != 0) {
		conf_error("log_level", "must be debug, info, warn or error");
		bad = 1;
	} else {
		os_log_set_level(lvl);
	}
	if (os_name_valid(h->conf.name) != 0) {
		conf_error("name", "not a valid node name (dotted lowercase labels)");
		bad = 1;
	}
	if (strlen(h->conf.trust_anchor) != 64 ||
	    os_unhex(h->anchor, sizeof(os_sign_pk), h->conf.trust_anchor) != 0) {
		conf_error("trust_anchor", "must be 64 hex characters (the root public key)");
		bad = 1;
	}
	if (!*h->conf.listen) {
		conf_error("listen", "must be a ZeroMQ endpoint such as tcp://127.0.0.1:7700");
		bad = 1;
	}
	if (!*h->conf.data_dir) {
		conf_error("data_dir", "must name a directory");
		bad = 1;
	}
	rc = crypto_keyfile_read(h->conf.key, &h->kp);
	if (rc) {
		snprintf(buf, sizeof(buf), "%s: %s", h->conf.key,
			 rc == OS_EIO ? "cannot read the key file" : "malformed key file");
		conf_error("key", buf);
		return OS_ECONFIG;
	}
	if (bad)
		return OS_ECONFIG;
	rc = registry_load(h->conf.registry, h->anchor, os_now_ms(), &h->reg);
	if (rc) {
		snprintf(buf, sizeof(buf), "%s: %s", h->conf.registry, registry_error(rc));
		conf_error("registry", buf);
		return OS_ECONFIG;
	}
	own = hub_own_node(h->reg, h->conf.name, &h->kp, &why);
	if (!own) {
		snprintf(buf, sizeof(buf), "%s: %s (name %s)", h->conf.registry, why, h->conf.name);
		conf_error("registry", buf);
		return OS_ECONFIG;
	}
	if (!(own->roles & REG_ROLE_HUB))
		os_log(OS_LOG_WARN, "registry_role", "node=%s reason=\"node lacks the hub role\"",
		       own->name);
	h->key_version = own->key_version;
	return 0;
}

/* ---------------------------------------------------------------- runtime */

static void hub_log_registry(const struct hub *h, const char *event)
{
	os_log(OS_LOG_INFO, event, "version=%llu nodes=%zu expires_ms=%llu",
	       (unsigned long long)h->reg->version, h->reg->n_nodes,
	       (unsigned long long)h->reg->expires_ms);
}

/* SIGHUP: re-read the reloadable options and the registry file. A registry
 * that fails any check leaves the current one in force. */
static void hub_reload(struct hub *h)
{
	struct registry *nr = NULL, *old;
	const struct reg_node *own;
	enum os_log_level lvl;
	const char *why = NULL;
	int rc;

	if (h->config_path && cfg_reload(hub_opts, &h->conf, h->config_path) == 0 &&
	    os_log_parse_level(h->conf.log_level, &lvl) == 0)
		os_log_set_level(lvl);
	rc = registry_load(h->conf.registry, h->anchor, os_now_ms(), &nr);
	if (rc) {
		os_log(OS_LOG_ERROR, "registry_reload_failed", "file=%s code=%s reason=\"%s\"",
		       h->conf.registry, os_errname(rc), registry_error(rc));
		return;
	}
	own = hub_own_node(nr, h->conf.name, &h->kp, &why);
	if (!own || nr->version < h->reg->version) {
		os_log(OS_LOG_ERROR, "registry_reload_failed",
		       "file=%s version=%llu current=%llu reason=\"%s\"", h->conf.registry,
		       (unsigned long long)nr->version, (unsigned long long)h->reg->version,
		       own ? "older than the registry in force" : why);
		registry_free(&nr);
		return;
	}
	if (nr->version == h->reg->version) {
		os_log(OS_LOG_INFO, "registry_unchanged", "version=%llu",
		       (unsigned long long)nr->version);
		registry_free(&nr);
		return;
	}
	old = h->reg;
	h->reg = nr;
	if (route_registry_changed(h) != 0) {
		h->reg = old;
		registry_free(&nr);
		os_log(OS_LOG_ERROR, "registry_reload_failed", "reason=\"out of memory\"");
		return;
	}
	registry_free(&old);
	h->key_version = own->key_version;
	h->reg_expired = 0;
	hub_log_registry(h, "registry_loaded");
	link_registry_changed(h, 1);
}

/* Fail closed once the registry's expiry passes; say so once. */
static void hub_check_expiry(struct hub *h)
{
	if (h->reg_expired || !h->reg->expires_ms || h->now_ms < h->reg->expires_ms)
		return;
	h->reg_expired = 1;
	os_log(OS_LOG_ERROR, "registry_expired",
	       "version=%llu expires_ms=%llu reason=\"new pushes are refused until a fresh "
	       "registry is loaded (SIGHUP)\"",
	       (unsigned long long)h->reg->version, (unsigned long long)h->reg->expires_ms);
}

/* Delete the entries the spokes acknowledged when this iteration's
 * transaction writes anyway, or once the oldest ack has waited
 * HUB_LAZY_DELETE_MS (or always, when force is set). */
static void hub_settle_acks(struct hub *h, int force)
{
	uint64_t since, removed = 0;
	int rc;

	if (!queue_acks_pending(h->queue, &since))
		return;
	if (!force && !queue_dirty(h->queue) && h->now_ms < since + HUB_LAZY_DELETE_MS)
		return;
	rc = queue_begin(h->queue);
	if (rc == 0)
		rc = queue_settle_acks(h->queue, &removed);
	if (rc)
		h->failed = rc;
	else
		h->stats.delivered += removed;
}

/* One group commit: drain and handle frames, sweep, dead letters, deliver
 * windows, all in one transaction; commit once; only then send. */
static void hub_iteration(struct hub *h, int sweep)
{
	unsigned n = 0;
	int rc;

	h->failed = 0;
	link_drain(h, HUB_DRAIN_MAX, &n);
	if (!h->failed && sweep && (rc = route_sweep(h)) != 0)
		h->failed = rc;
	for (int round = 0; round < 2 && !h->failed; round++) {
		unsigned more = 0;

		if ((rc = route_flush(h)) != 0)
			h->failed = rc;
		if (!h->failed)
			link_topup(h);
		if (!h->failed)
			dataset_topup(h);
		if (!h->failed && (rc = route_flush(h)) != 0)
			h->failed = rc;
		/* This iteration commits (fsyncs) anyway: frames that arrived
		 * while it worked join the commit instead of waiting a whole
		 * one. */
		if (round > 0 || h->failed || !queue_dirty(h->queue))
			break;
		link_drain(h, HUB_DRAIN_MAX, &more);
		if (more == 0)
			break;
		n += more;
	}
	if (!h->failed)
		link_prepare_acks(h);
	if (!h->failed)
		hub_settle_acks(h, 0);
	if (!h->failed) {
		if (!queue_active(h->queue)) {
			link_commit_done(h);
			return;
		}
		rc = queue_commit(h->queue);
		if (rc == 0) {
			h->stats.commits++;
			link_commit_done(h);
			return;
		}
		h->failed = rc;
		h->stats.commit_failures++;
	}
	queue_abort(h->queue);
	route_abort(h);
	link_commit_failed(h);
	/* A full map pauses pushes so that acks can free space; any failure
	 * slows the loop down for the same while. */
	h->backoff_until_ms = h->now_ms + HUB_FAIL_BACKOFF_MS;
	os_log(OS_LOG_ERROR, "iteration_failed", "frames=%u code=%s reason=\"%s\"", n,
	       os_errname(h->failed), os_strerror(h->failed));
}

static void hub_stats(struct hub *h)
{
	const struct hub_stats *s = &h->stats;

	os_log(OS_LOG_DEBUG, "stats",
	       "sessions=%u queued=%llu frames_in=%llu accepted=%llu refused=%llu "
	       "duplicates=%llu delivered=%llu expired=%llu deadletters=%llu commits=%llu "
	       "commit_failures=%llu",
	       link_sessions(h), (unsigned long long)queue_total(h->queue),
	       (unsigned long long)s->frames_in, (unsigned long long)s->accepted,
	       (unsigned long long)s->refused, (unsigned long long)s->duplicates,
	       (unsigned long long)s->delivered, (unsigned long long)s->expired,
	       (unsigned long long)s->deadletters, (unsigned long long)s->commits,
	       (unsigned long long)s->commit_failures);
}

static int hub_loop(struct hub *h)
{
	zmq_pollitem_t items[3] = {
		{ h->router, 0, ZMQ_POLLIN, 0 },
		{ h->zap, 0, ZMQ_POLLIN, 0 },
		{ NULL, sig_pipe[0], ZMQ_POLLIN, 0 },
	};
	uint64_t tick = (uint64_t)h->conf.heartbeat_ms / 4;
	uint64_t now = os_now_ms();
	uint64_t next_tick = now, next_sweep = now + HUB_SWEEP_MS, next_stats = now + HUB_STATS_MS;

	if (tick < 10)
		tick = 10;
	if (tick > 250)
		tick = 250;
	while (!sig_stop) {
		long timeout = 0;
		int sweep = 0;

		now = os_now_ms();
		/* After a failed iteration pending work would retry at once;
		 * give the store a moment instead of spinning. */
		if (((!link_work_pending(h) && !dataset_work_pending(h)) ||
		     now < h->backoff_until_ms) && next_tick > now) {
			uint64_t since, due = link_ack_deadline(h);

			/* Wake for owed push acks, and for acked entries that
			 * wait for their deletion (not before a backoff ends). */
			if (queue_acks_pending(h->queue, &since) && since + HUB_LAZY_DELETE_MS < due)
				due = since + HUB_LAZY_DELETE_MS;
			if (due < h->backoff_until_ms)
				due = h->backoff_until_ms;
			timeout = (long)(next_tick - now);
			if (due <= now)
				timeout = 0;
			else if (due - now < (uint64_t)timeout)
				timeout = (long)(due - now);
		}
		if (zmq_poll(items, 3, timeout) < 0 && errno != EINTR) {
			os_log(OS_LOG_ERROR, "poll_failed", "error=\"%s\"", zmq_strerror(errno));
			return OS_EIO;
		}
		if (items[2].revents & ZMQ_POLLIN) {
			char buf[64];

			while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
				;
		}
		h->now_ms = os_now_ms();
		if (sig_hup) {
			sig_hup = 0;
			hub_reload(h);
		}
		hub_check_expiry(h);
		if (items[1].revents & ZMQ_POLLIN)
			zap_handle(h, HUB_ZAP_MAX);
		if (h->now_ms >= next_sweep) {
			sweep = 1;
			next_sweep = h->now_ms + HUB_SWEEP_MS;
		}
		hub_iteration(h, sweep);
		if (h->now_ms >= next_tick) {
			link_timers(h);
			dataset_timers(h);
			next_tick = h->now_ms + tick;
		}
		if (h->now_ms >= next_stats) {
			hub_stats(h);
			next_stats = h->now_ms + HUB_STATS_MS;
		}
	}
	/* A clean stop leaves no delivered entry behind to be sent again. */
	h->now_ms = os_now_ms();
	h->failed = 0;
	hub_settle_acks(h, 1);
	if (!h->failed && queue_active(h->queue) && queue_commit(h->queue) != 0)
		os_log(OS_LOG_WARN, "stop_commit_failed", "reason=\"acked entries are delivered again after the restart\"");
	queue_abort(h->queue);
	return 0;
}

/* The spokes' ROUTER: CURVE server with the hub's box key, authenticated by
 * the ZAP handler, failing loudly on unroutable sends. */
static int hub_router(struct hub *h, char *endpoint, size_t size)
{
	int one = 1, zero = 0, hwm = HUB_HWM;
	int ivl = (int)h->conf.heartbeat_ms, timeout = 3 * (int)h->conf.heartbeat_ms;
	/* A spoke's push frame holds at most 4 MiB of transfers, or one
	 * message of up to 64 MiB (the spoke's largest max_message_bytes):
	 * a peer sending a larger frame is cut off by ZeroMQ before it is
	 * buffered. */
	int64_t maxmsg = HUB_MAX_FRAME;

	h->router = zmq_socket(h->zctx, ZMQ_ROUTER);
	if (!h->router)
		return OS_EIO;
	if (zmq_setsockopt(h->router, ZMQ_CURVE_SERVER, &one, sizeof(one)) ||
	    zmq_setsockopt(h->router, ZMQ_CURVE_SECRETKEY, h->kp.box_sk, sizeof(os_box_sk)) ||
	    zmq_setsockopt(h->router, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) ||
	    zmq_setsockopt(h->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one)) ||
	    zmq_setsockopt(h->router, ZMQ_ROUTER_HANDOVER, &one, sizeof(one)) ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl)) ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_TIMEOUT, &timeout, sizeof(timeout)) ||
	    zmq_setsockopt(h->router, ZMQ_HEARTBEAT_TTL, &timeout, sizeof(timeout)) ||
	    zmq_setsockopt(h->router, ZMQ_LINGER, &zero, sizeof(zero)) ||
	    zmq_setsockopt(h->router, ZMQ_SNDHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(h->router, ZMQ_RCVHWM, &hwm, sizeof(hwm)) ||
	    zmq_setsockopt(h->router, ZMQ_MAXMSGSIZE, &maxmsg, sizeof(maxmsg))) {
		os_log(OS_LOG_ERROR, "start_failed", "what=router error=\"%s\"",
		       zmq_strerror(errno));
		return OS_EIO;
	}
	if (zmq_bind(h->router, h->conf.listen) != 0) {
		os_log(OS_LOG_ERROR, "start_failed", "what=listen listen=%s error=\"%s\"",
		       h->conf.listen, zmq_strerror(errno));
		return OS_EIO;
	}
	if (zmq_getsockopt(h->router, ZMQ_LAST_ENDPOINT, endpoint, &size) != 0)
		snprintf(endpoint, size, "%s", h->conf.listen);
	return 0;
}

static int hub_start(struct hub *h)
{
	char endpoint[512];
	int rc;

	rc = queue_open(h->conf.data_dir, (size_t)h->conf.map_size_mb, &h->queue);
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=store data_dir=%s code=%s reason=\"%s\"",
		       h->conf.data_dir, os_errname(rc), os_strerror(rc));
		return rc;
	}
	rc = dataset_open(h);
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=dataset_store data_dir=%s code=%s",
		       h->conf.data_dir, os_errname(rc));
		return rc;
	}
	if ((rc = batchsig_cache_new(HUB_SIGCACHE_SLOTS, &h->sigcache)) ||
	    (rc = route_new(&h->route)) || (rc = route_registry_changed(h)) ||
	    (rc = link_new(&h->link))) {
		os_log(OS_LOG_ERROR, "start_failed", "what=memory code=%s", os_errname(rc));
		return rc;
	}
	h->zctx = zmq_ctx_new();
	if (!h->zctx)
		return OS_EIO;
	/* The ZAP handler must exist before the first CURVE handshake. */
	rc = zap_open(h);
	if (rc == 0)
		rc = hub_router(h, endpoint, sizeof(endpoint));
	if (rc)
		return rc;
	rc = hub_signals();
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=signals");
		return rc;
	}
	hub_log_registry(h, "registry_loaded");
	os_log(OS_LOG_INFO, "hub_ready", "listen=%s node=%s queued=%llu", endpoint, h->conf.name,
	       (unsigned long long)queue_total(h->queue));
	return 0;
}

static void hub_stop(struct hub *h)
{
	if (h->router)
		zmq_close(h->router);
	if (h->zap)
		zmq_close(h->zap);
	if (h->zctx)
		zmq_ctx_term(h->zctx);
	link_destroy(&h->link);
	route_destroy(&h->route);
	dataset_close(h);
	batchsig_cache_destroy(&h->sigcache);
	queue_close(&h->queue);
	registry_free(&h->reg);
	crypto_keypair_wipe(&h->kp);
	cfg_free(hub_opts, &h->conf);
	for (int i = 0; i < 2; i++)
		if (sig_pipe[i] >= 0)
			close(sig_pipe[i]);
}

/* Every iteration allocates and frees frames of up to a few MiB. With
 * glibc's defaults those come from fresh mappings, or the heap is trimmed
 * after each burst, so each iteration pays page faults and zeroing for the
 * same memory again. Keep up to a few MiB: a fixed bound, not one that
 * grows with load. */
static void hub_tune_malloc(void)
{
#ifdef __GLIBC__
	mallopt(M_MMAP_THRESHOLD, 4 << 20);
	mallopt(M_TRIM_THRESHOLD, 8 << 20);
#endif
}

int main(int argc, char **argv)
{
	struct hub h;
	char **args;
	const char *digest = NULL;
	int nargs = 0, check = 0, rc = 0;
	enum cfg_action act;

	memset(&h, 0, sizeof(h));
	hub_tune_malloc();
	/* --check-config is handled here so that it also checks the key, the
	 * registry and the hub's node, not only the option table; so is the
	 * --dataset-digest mode, which only reads the store. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args)
		return 1;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--check-config") == 0) {
			check = 1;
		} else if (i > 0 && strcmp(argv[i], "--dataset-digest") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: --dataset-digest needs a dataset name\n", HUB_PROG);
				free(args);
				return 2;
			}
			digest = argv[++i];
		} else {
			args[nargs++] = argv[i];
		}
	}
	act = cfg_parse(hub_opts, &h.conf, HUB_PROG,
			"OneStop hub: routes signed messages between spokes, durably. "
			"--dataset-digest NAME prints a dataset's seq, count and digest from the store.",
			nargs, args, &h.config_path);
	if (act != CFG_RUN) {
		free(args);
		cfg_free(hub_opts, &h.conf);
		return act == CFG_EXIT_OK ? 0 : 2;
	}
	if (digest) {
		rc = crypto_setup() == 0 ? dataset_digest_print(h.conf.data_dir,
								(size_t)h.conf.map_size_mb, digest)
					 : OS_EINVAL;
		free(args);
		cfg_free(hub_opts, &h.conf);
		return rc == 0 ? 0 : (rc == OS_ENAME ? 2 : 1);
	}
	if (crypto_setup() != 0) {
		fprintf(stderr, "%s: cannot initialise the crypto library\n", HUB_PROG);
		rc = 1;
		goto out;
	}
	if (hub_check(&h) != 0) {
		rc = 2;
		goto out;
	}
	if (check) {
		printf("config ok\n");
		goto out;
	}
	if (hub_start(&h) != 0 || hub_loop(&h) != 0) {
		rc = 1;
		goto out;
	}
	os_log(OS_LOG_INFO, "hub_stopped", "sessions=%u queued=%llu", link_sessions(&h),
	       (unsigned long long)queue_total(h.queue));
out:
	hub_stop(&h);
	free(args);
	return rc;
}
