/* onestop-hub: the start-up sequence (options, key, registry, store,
 * sockets), signals (flags and a self-pipe), the reload on SIGHUP, and the
 * wiring of the modules: the link's ops table (wiring.c), and their hooks on the one
 * loop (common/loop.h) that drains frames, commits once per iteration and
 * only then replies. The loop's phases never name a module here. */
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
#include "chain.h"
#include "config.h"
#include "crypto.h"
#include "dataset.h"
#include "err.h"
#include "hub.h"
#include "link.h"
#include "log.h"
#include "loop.h"
#include "parent.h"
#include "queue.h"
#include "registry.h"
#include "route.h"
#include "status.h"
#include "store.h"
#include "util.h"
#include "wiring.h"
#include "zap.h"

#define HUB_PROG "onestop-hub"
#define HUB_SIGCACHE_SLOTS 4096u

#define OPT_STR(n, ...) CFG_STR_OPT(struct hub_conf, n, __VA_ARGS__)
#define OPT_INT(n, ...) CFG_INT_OPT(struct hub_conf, n, __VA_ARGS__)

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
	OPT_INT(clock_skew_ms, "300000", 0, 86400000, 1,
		"how far ahead of this hub's clock a message's created_ms may be"),
	OPT_INT(queue_quota, "1000000", 1, 1000000000000LL, 1,
		"entries one node may hold queued as destination (as origin: a quarter more)"),
	OPT_INT(queue_bytes_mb, "0", 0, 16777216, 1,
		"MiB all queues may hold together; 0: half of map_size_mb"),
	OPT_INT(node_share_percent, "25", 1, 100, 1,
		"percent of queue_bytes_mb one node may hold as destination (as origin: a "
		"quarter more)"),
	OPT_INT(reserve_percent, "20", 0, 90, 1,
		"percent of queue_bytes_mb kept for origins holding less than an eighth of this "
		"reserve"),
	OPT_STR(log_level, "info", 0, 1, "debug, info, warn or error"),
	OPT_INT(dataset_log_max, "100000", 10, 1000000000000LL, 1,
		"changes kept per dataset log before compaction from the front"),
	OPT_STR(parent_endpoint, "", 0, 0,
		"a parent hub's link endpoint (federation); empty: this hub has none"),
	OPT_STR(parent_name, "hub", 0, 0, "the parent hub's node name in the registry"),
	OPT_STR(province_registry, "", 0, 1,
		"federation: this hub's delegated registry (signed by its subtree's root key)"),
	CFG_BOOL_OPT(struct hub_conf, allow_registry_rollback, "no", 0,
		     "load a registry older than one this hub has accepted (logged)"),
	CFG_END,
};

static volatile sig_atomic_t sig_stop, sig_hup;
static int sig_pipe[2] = {-1, -1};

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

/* ---------------------------------------------------------------- checks */

static void conf_error(const char *what, const char *detail)
{
	fprintf(stderr, "%s: %s: %s\n", HUB_PROG, what, detail);
}

/* Validate what the table cannot: log level, names, anchor, the key file,
 * the registry and the hub's node in it. Loads h->kp, h->anchor, h->reg.
 * Prints each error; 0 or OS_ECONFIG. */
static int hub_check(struct hub *h)
{
	enum os_log_level lvl;
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
	return chain_load(h);
}

/* ---------------------------------------------------------------- runtime */

/* SIGHUP: re-read the reloadable options, then the registry files (a
 * chain that fails any check leaves the current one in force). */
static void hub_reload(struct hub *h)
{
	enum os_log_level lvl;

	if (h->config_path && cfg_reload(hub_opts, &h->conf, h->config_path) == 0 &&
	    os_log_parse_level(h->conf.log_level, &lvl) == 0)
		os_log_set_level(lvl);
	route_log_quotas(h);
	chain_reload(h);
}

/* The self-pipe's hook: the loop polls its read end; its drain empties
 * it and reloads on SIGHUP. (SIGTERM and SIGINT stop loop_run.) */
static int hub_sig_fd(void *ctx)
{
	return sig_pipe[0];
}

static unsigned hub_sig_drain(void *ctx)
{
	char buf[64];

	while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
		;
	if (sig_hup) {
		sig_hup = 0;
		hub_reload(ctx);
	}
	return 0;
}

/* The signals first, then every module (hub_modules_attach). */
static int hub_hooks(struct hub *h, struct loop *l)
{
	const struct loop_hooks sig = {
		.name = "signals",
		.fd = hub_sig_fd,
		.drain = hub_sig_drain,
		.ctx = h,
	};
	int rc = loop_add(l, &sig);

	return rc ? rc : hub_modules_attach(h, l);
}

static int hub_loop(struct hub *h)
{
	struct loop_state st;
	struct loop *l = NULL;
	int rc, crc;

	hub_loop_state(h, &st);
	rc = loop_new(&st, &l);
	if (rc == 0)
		rc = hub_hooks(h, l);
	if (rc == 0)
		rc = loop_run(l, &sig_stop);
	loop_free(&l);
	if (rc)
		return rc;
	/* A clean stop leaves no delivered entry behind to be sent again. */
	h->now_ms = os_now_ms();
	h->now_us = os_mono_us();
	rc = queue_settle(h->queue, 1);
	crc = hub_commit(h); /* an abort when the settling failed */
	if (rc == 0 && crc != 0)
		os_log(OS_LOG_WARN, "stop_commit_failed", "reason=%s",
		       OS_Q("acked entries are delivered again after the restart"));
	queue_txn_end(h->queue, rc == 0 && crc == 0);
	parent_stop(h->parent);
	hub_stats_log(h, OS_LOG_INFO, "hub_stats");
	return 0;
}

static int hub_start(struct hub *h)
{
	char endpoint[512];
	int rc;

	/* The store: 16 named databases, queues and datasets. */
	rc = store_open(h->conf.data_dir, (size_t)h->conf.map_size_mb, 16, &h->st);
	if (rc == 0 && (rc = chain_open(h)) == OS_ECONFIG)
		return rc;
	if (rc == 0)
		rc = queue_open(h, &h->queue);
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=store data_dir=%s code=%s reason=%s",
		       h->conf.data_dir, os_errname(rc), OS_Q(os_strerror(rc)));
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
	    (rc = link_new(&hub_link_ops, &h->link))) {
		os_log(OS_LOG_ERROR, "start_failed", "what=memory code=%s", os_errname(rc));
		return rc;
	}
	h->zctx = zmq_ctx_new();
	if (!h->zctx)
		return OS_EIO;
	/* The ZAP handler must exist before the first CURVE handshake. */
	rc = zap_open(h);
	if (rc == 0)
		rc = hub_router_open(h, endpoint, sizeof(endpoint));
	if (rc == 0)
		rc = parent_open(h, &hub_parent_ops, &h->parent);
	if (rc)
		return rc;
	rc = hub_signals();
	if (rc) {
		os_log(OS_LOG_ERROR, "start_failed", "what=signals");
		return rc;
	}
	chain_log(h, "registry_loaded", "start");
	route_log_quotas(h);
	os_log(OS_LOG_INFO, "hub_ready", "listen=%s node=%s queued=%llu", endpoint, h->conf.name,
	       (unsigned long long)queue_total(h->queue));
	return 0;
}

static void hub_stop(struct hub *h)
{
	hub_modules_close(h);
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
	int nargs = 0, check = 0, status = 0, rc = 0;
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
		} else if (i > 0 && strcmp(argv[i], "--status") == 0) {
			status = 1;
		} else if (i > 0 && strcmp(argv[i], "--dataset-digest") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "%s: --dataset-digest needs a dataset name\n",
					HUB_PROG);
				free(args);
				return 2;
			}
			digest = argv[++i];
		} else {
			args[nargs++] = argv[i];
		}
	}
	act = cfg_parse(
		hub_opts, &h.conf, HUB_PROG,
		"OneStop hub: routes signed messages between spokes, durably. "
		"--dataset-digest NAME prints a dataset's seq, count and digest from the store; "
		"--status prints the backlog of every queue (the parent's and each child hub's "
		"too) from the store, also while the hub runs.",
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
	if (status) {
		rc = status_print(h.conf.data_dir, (size_t)h.conf.map_size_mb, h.conf.name,
				  h.conf.parent_endpoint && *h.conf.parent_endpoint
					  ? h.conf.parent_name
					  : NULL);
		free(args);
		cfg_free(hub_opts, &h.conf);
		return rc == 0 ? 0 : 1;
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
