/* Integration test harness: builds a OneStop network in a temporary
 * directory with the real CLI, runs the real daemons as child processes on
 * loopback, and drives them through libonestop, the CLI and raw link
 * clients. Shared by the integration tests and the benchmark. */
#ifndef OS_IT_HARNESS_H
#define OS_IT_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "envelope.h"
#include "err.h"
#include "onestop.h"
#include "onestop.pb-c.h"

#define H_PATH 512
#define NET_MAX_SPOKES 48 /* processes besides the hub (a federation's hubs too) */
#define NET_MAX_LIST 4
#define NET_MAX_CONF 16
#define NET_MAX_DATASETS 4

/* ------------------------------------------------------------ checks */

/* Soft check: prints "ok" or "FAIL file:line" with the logs directory,
 * counts the failure in net (may be NULL) and goes on. Evaluates to cond. */
#define H_CHECK(net, cond, ...) h_check((net), !!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)
/* Fatal check: as H_CHECK, then on failure dumps the logs, kills every
 * daemon, keeps the directory and exits 1. */
#define H_REQUIRE(net, cond, ...)                                                      \
	do {                                                                           \
		if (!h_check((net), !!(cond), __FILE__, __LINE__, #cond, __VA_ARGS__)) \
			h_abort(net);                                                  \
	} while (0)

struct net;

int h_check(struct net *n, int ok, const char *file, int line, const char *expr, const char *fmt,
	    ...) __attribute__((format(printf, 6, 7)));
void h_abort(struct net *n) __attribute__((noreturn));

/* Monotonic milliseconds, and a sleep in milliseconds. */
uint64_t h_now_ms(void);
void h_sleep_ms(unsigned ms);
/* ms scaled for slow builds: times 3 when the harness is built with
 * AddressSanitizer, or $ONESTOP_IT_SLOW (1..100) when set. Meant for
 * deadlines: how long something may take to happen. */
int h_ms(int ms);

/* ------------------------------------------------------------ network */

struct net_kv {
	const char *key;
	const char *value; /* NULL removes a default key */
};

struct net_node_opts {
	const char *name;                      /* NULL: "a", "b", ... */
	const char *topics[NET_MAX_LIST];      /* registry --topic */
	const char *allow_types[NET_MAX_LIST]; /* --allow-type; none: default */
	const char *roles[NET_MAX_LIST];       /* --role; none: default */
	const char *status;                    /* NULL or "active", "revoked", "suspended",
			       * "absent" (key and config made, not registered) */
	int foreign_key;                       /* run with a fresh key, not the registered one */
	struct net_kv conf[NET_MAX_CONF];      /* config overrides */
	const char *publish[NET_MAX_LIST];     /* --publish DATASET */
};

/* A replicated dataset declared in the registry (`onestop registry
 * dataset --name NAME --mode MODE`). */
struct net_dataset {
	const char *name;
	const char *mode; /* "full" or "cached" */
};

struct net_opts {
	struct net_node_opts spoke[NET_MAX_SPOKES];
	struct net_kv hub_conf[NET_MAX_CONF];          /* config overrides */
	const char *log_level;                         /* default "info" */
	struct net_dataset datasets[NET_MAX_DATASETS]; /* declared before the nodes */
};

struct net_proc {
	char name[64];
	int is_hub;
	char conf[H_PATH];
	char log[H_PATH];
	char key[H_PATH];     /* key file the daemon runs with */
	char reg_key[H_PATH]; /* key file registered for the node */
	char data_dir[H_PATH];
	char api[H_PATH]; /* spoke: API endpoint */
	char status[16];  /* in the registry: active, revoked, suspended, absent */
	int foreign_key;  /* runs with a key that is not the registered one */
	pid_t pid;        /* 0 when not running */
	long log_mark;    /* log size at the last start */
	int starts;
	int last_status;     /* wait status of the last exit, -1 if none */
	int expect_dead;     /* stopped or killed by the test */
	const char *args[8]; /* extra command-line flags after -c CONF (NULL-ended) */
	const char *exe;     /* program in the binaries' directory; NULL: onestop-hub or
			      * onestop-spoke */
	const char *env[4];  /* "KEY=VALUE" added to its environment (NULL-ended) */
};

struct net {
	char dir[128];
	char bin[H_PATH]; /* holds onestop-hub, onestop-spoke, onestop */
	char root_key[H_PATH];
	char registry[H_PATH];
	char anchor[65]; /* root sign_public, hex */
	int port;
	char hub_endpoint[64];
	struct net_proc hub;
	size_t n_spokes;
	struct net_proc spoke[NET_MAX_SPOKES];
	int checks;
	int failures;
	int keep; /* keep the directory even on success */
};

/* Make a network of one hub and n spokes in a fresh /tmp directory: keys,
 * signed registry (through the real CLI), config files. Nothing is started.
 * opts may be NULL. Fatal (h_abort) on failure; returns the network. */
struct net *net_make(size_t n_spokes, const struct net_opts *opts);

/* Stop every running daemon (SIGTERM; each must exit 0), report daemons
 * that died unexpectedly, remove the directory when no check failed (else
 * dump the logs and keep it). Frees *n. Returns the exit code for main. */
int net_done(struct net **n);

/* The spoke named name, or NULL. */
struct net_proc *net_spoke(struct net *n, const char *name);

/* Start the hub and wait for hub_ready, then every spoke that is active in
 * the registry and runs with its registered key, and wait until each is
 * hub_connected. Fatal on failure. */
void net_start_all(struct net *n);

/* Start a daemon (stderr appended to p->log). 0 or -1. */
int proc_start(struct net *n, struct net_proc *p);
/* SIGTERM and wait up to timeout_ms (0: a default). Returns the exit code,
 * 128+signal if killed by a signal, or -1 if it had to be killed. */
int proc_stop(struct net *n, struct net_proc *p, int timeout_ms);
/* kill -9 and reap. */
void proc_kill(struct net *n, struct net_proc *p);
int proc_signal(struct net_proc *p, int sig);
/* 1 while the process runs; otherwise reaps it (last_status). */
int proc_alive(struct net_proc *p);

/* Wait until a line containing substr appears in p's log after the last
 * start. 0 found, -1 timed out, -2 the process exited first. */
int proc_wait_log(struct net_proc *p, const char *substr, int timeout_ms);
/* Lines of p's log containing substr (whole log, or since the last start). */
int proc_log_count(struct net_proc *p, const char *substr, int since_start);

/* Wait for the hub's hub_ready line. 0 or -1. */
int net_hub_ready(struct net *n, int timeout_ms);
/* Wait until the spoke answers onestop_status (and, if need_hub, reports
 * hub_connected). 0 or -1. */
int net_spoke_ready(struct net *n, struct net_proc *p, int need_hub, int timeout_ms);
/* Start and wait ready (hub: hub_ready; spoke: hub_connected if need_hub).
 * Fatal on failure. */
void net_up(struct net *n, struct net_proc *p, int need_hub);

/* Status of a spoke through a fresh connection. 0 or an ONESTOP_E* code. */
int net_status(struct net_proc *p, onestop_status_t *st);
/* Poll the spoke's status until pred(st, arg) holds, up to timeout_ms.
 * 0 or -1; *last (may be NULL) gets the last status read. */
int net_wait_status(struct net_proc *p, int (*pred)(const onestop_status_t *st, const void *arg),
		    const void *arg, int timeout_ms, onestop_status_t *last);
/* Predicates for net_wait_status; arg points to a uint64_t. */
int st_outbox_is(const onestop_status_t *st, const void *arg);
int st_inbox_is(const onestop_status_t *st, const void *arg);
int st_registry_above(const onestop_status_t *st, const void *arg);

/* onestop_connect to the spoke's API with timeout_ms (0: 10 s). */
int net_connect(struct net_proc *p, int timeout_ms, onestop_t **c);

/* Append "onestop registry add" of p's registered key with o's roles,
 * topics, allowed types and datasets it may publish. 0 or -1. */
int net_registry_add(struct net *n, struct net_proc *p, const struct net_node_opts *o);

/* The version of the registry file, as `onestop registry show` prints it;
 * 0 if it cannot be read. */
uint64_t net_registry_version(struct net *n);

/* What `onestop-hub -c hub.conf --dataset-digest NAME` prints: the hub's
 * copy of a dataset, read from its store (also while the hub runs). */
struct net_digest {
	uint64_t seq;
	uint64_t count;
	char digest[65]; /* hex */
};

/* Run the hub's --dataset-digest mode for dataset into *out. 0, or -1 when
 * it did not exit 0 or printed no `dataset=NAME seq=N count=N digest=HEX`
 * line (the output is in <dir>/cli.log). */
int net_hub_digest(struct net *n, const char *dataset, struct net_digest *out);

/* Dump the tail of every daemon log to stderr. */
void net_dump_logs(struct net *n);

/* ------------------------------------------------------------ commands */

struct cmd_out {
	int code;  /* exit code; -1 if it did not exit in time or died */
	char *out; /* stdout, NUL-terminated (malloc'd) */
	size_t out_len;
	char *err; /* stderr, NUL-terminated (malloc'd) */
	size_t err_len;
};

/* Run argv (argv[0] a path) with stdin_data on stdin (may be NULL), bounded
 * by timeout_ms; capture stdout and stderr. 0 when it ran and exited
 * (res->code holds the exit code), -1 otherwise. */
int cmd_run(const char *const *argv, const void *stdin_data, size_t stdin_len, int timeout_ms,
	    struct cmd_out *res);
void cmd_out_free(struct cmd_out *res);

/* Run the onestop CLI with the NULL-terminated arguments (after the
 * program name); output also appended to <dir>/cli.log. Returns the exit
 * code, -1 if it could not run or did not finish. res may be NULL. */
int net_cli(struct net *n, struct cmd_out *res, const char *arg, ...) __attribute__((sentinel));
/* The same with stdin data. */
int net_cli_in(struct net *n, struct cmd_out *res, const void *in, size_t in_len, const char *arg,
	       ...) __attribute__((sentinel));

/* ------------------------------------------------------------ messages */

/* Test payload: "OSIT" | u32be stream | u64be seq | u32be body_len |
 * u64be FNV-1a(body) | body, where body is a deterministic function of
 * (stream, seq). */
#define MSGS_HDR 28

/* Fill buf (size >= MSGS_HDR + body_len) with the payload of (stream, seq). */
void msgs_payload(uint8_t *buf, uint32_t stream, uint64_t seq, size_t body_len);
/* Check a payload: 0 and *stream, *seq when the header, checksum and body
 * are exactly what msgs_payload makes; -1 otherwise. */
int msgs_payload_check(const uint8_t *buf, size_t len, uint32_t *stream, uint64_t *seq);

/* Send n numbered messages first..first+n-1 of stream to `to` through c,
 * per_req per onestop_send call; ids (may be NULL) receives the id of
 * seq first+i at ids[i]. 0, or the first failing call's code (messages of
 * that request and later are not sent). */
int msgs_send(onestop_t *c, const char *to, const char *type, uint32_t stream, uint64_t first,
	      size_t n, size_t per_req, size_t body_len, uint32_t ttl_s,
	      uint8_t (*ids)[ONESTOP_ID_LEN]);

#define MSGS_MAX_DL 16

/* A receiving application for one numbered stream. It acks every batch
 * before asking for the next, and reconnects (new libonestop connection)
 * whenever a call fails. Checked guarantee: every message first..first+
 * count-1 arrives, in order, with identical contents (and ids when given);
 * a message seen again after its ack returned OK is a failure (dup_acked);
 * one seen again whose ack had failed (spoke crash) is allowed
 * (redelivered). */
struct msgs_rx {
	/* set by the caller */
	uint32_t stream;
	uint64_t first;
	uint64_t count;
	const char *origin;                   /* expected origin, or NULL */
	const char *to;                       /* expected destination, or NULL */
	const char *type;                     /* expected type, or NULL */
	const uint8_t (*ids)[ONESTOP_ID_LEN]; /* expected ids, or NULL */
	size_t batch;                         /* recv max (0: 1000) */
	int timeout_ms;                       /* request timeout (0: 10 s) */
	/* After a batch is received and checked, before it is acked: nonzero
	 * skips the ack (an app that crashed before acking) and drops the
	 * connection. */
	int (*before_ack)(struct msgs_rx *rx, void *arg);
	int (*hook)(struct msgs_rx *rx, void *arg); /* after each batch; nonzero stops */
	void *hook_arg;
	int stop;             /* set (e.g. by a hook) to end msgs_recv / msgs_drain */
	struct msgs_rx *also; /* further streams received in the same calls (each
				* checked on its own; hooks and counters of errors
				* stay with the first) */
	/* results */
	uint64_t got;         /* in-order messages delivered */
	uint64_t redelivered; /* unacked messages seen again (allowed) */
	uint64_t dup_acked;   /* acked messages seen again (failure) */
	uint64_t gaps;        /* a message ahead of the next expected (failure) */
	uint64_t corrupt;     /* contents, id, origin or type differ (failure) */
	uint64_t other;       /* messages of no stream or another stream */
	uint64_t ack_errors;
	uint64_t recv_errors;
	uint64_t not_acked; /* messages whose ack before_ack skipped */
	size_t n_dl;        /* dead letters received */
	onestop_deadletter_t dl[MSGS_MAX_DL];
	char dl_origin[MSGS_MAX_DL][64]; /* who signed each dead letter */
	char problem[512];               /* first problem, readable */
	uint8_t *acked_;                 /* internal */
};

/* Receive into rx (and the streams chained on rx->also) from spoke p
 * through *c (opened or reopened as needed; left open) until all count
 * arrived or timeout_ms. 0 when complete and without failures; -1
 * otherwise (rx->problem says why). */
int msgs_recv(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int timeout_ms);
void msgs_rx_clear(struct msgs_rx *rx);

/* Receive (and ack) whatever arrives at p within wait_ms; stores dead
 * letters like msgs_recv. Returns the number of messages, or -1 if the
 * spoke could not be asked. */
int msgs_drain(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int wait_ms);

/* Wait up to timeout_ms for a dead letter about id at p (receiving and
 * acking through *c; everything received is classified into rx, so dead
 * letters about other ids stay in rx->dl). Its index in rx->dl, or -1. */
int msgs_wait_deadletter(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, const uint8_t *id,
			 int timeout_ms);

/* ------------------------------------------------------------ raw link */

#define RAW_MAX_DL 32

/* A DEALER speaking LinkFrame to the hub directly, authenticated by CURVE
 * as a node key pair (for attack and malformed-input tests). */
struct raw_link {
	void *ctx;
	void *sock;
	char node[64]; /* name used in Hello */
	struct os_keypair kp;
	uint8_t outbox_epoch[16];
	int welcomed;
	uint8_t hub_epoch[16];
	uint32_t hub_window;
	uint64_t push_seq;     /* last push seq sent */
	uint64_t push_acked;   /* highest push_ack seq */
	uint64_t deliver_last; /* highest deliver seq received */
	uint64_t last_hb_ms;
	int n_errors; /* LinkError frames */
	int last_error;
	int err_count[64];   /* LinkError frames by -code (0..63) */
	int n_frames;        /* frames received */
	int n_undecodable;   /* frames that did not unpack */
	int n_delivered;     /* deliver transfers received */
	int n_deliver_other; /* ...that were not dead letters */
	size_t n_dl;
	struct env_deadletter dl[RAW_MAX_DL];
	char dl_origin[RAW_MAX_DL][OS_NAME_MAX];
	int dl_verified[RAW_MAX_DL]; /* signature checked against the registry */
	struct registry *reg;        /* for verifying what arrives */
};

/* Connect to the hub as the key pair in keyfile, using the hub's public
 * key from net. 0 or -1. */
int raw_open(struct net *n, const char *keyfile, const char *node, struct raw_link **out);
void raw_close(struct raw_link **l);

/* Send one frame of raw bytes (len may be 0). 0 or -1. */
int raw_send(struct raw_link *l, const void *buf, size_t len);
/* Pack and send a LinkFrame. 0 or -1. */
int raw_send_frame(struct raw_link *l, const Onestop__LinkFrame *f);
/* Send Hello naming `node` (NULL: l->node) and wait for Welcome. 0 on
 * Welcome, the LinkError code if one came, -1 on timeout. */
int raw_hello(struct raw_link *l, const char *node, int timeout_ms);
/* Push one transfer (seq = push_seq + 1, prev_seq = push_seq) with msg.
 * *seq gets its seq. 0 or -1. */
int raw_push(struct raw_link *l, const uint8_t *msg, size_t len, uint64_t *seq);
/* Read and handle frames for up to timeout_ms: records acks, errors and
 * dead letters, acks deliveries, sends heartbeats. 0, or -1 on a socket
 * error. */
int raw_pump(struct raw_link *l, int timeout_ms);
/* Pump until push_acked >= seq. 0 or -1. */
int raw_wait_push_ack(struct raw_link *l, uint64_t seq, int timeout_ms);
/* Pump until a dead letter about id arrived; its index in l->dl or -1. */
int raw_wait_deadletter(struct raw_link *l, const uint8_t *id, int timeout_ms);
/* Pump until a LinkError arrives (beyond the count before the call). Its
 * code, or 1 on timeout. */
int raw_wait_error(struct raw_link *l, int timeout_ms);

/* Sign one envelope as node `origin` with the key in keyfile (key version
 * from the registry): *out malloc'd packed Signed, id its id. expires is
 * now + ttl_ms. 0 or -1. */
int h_sign_one(struct net *n, const char *origin, const char *keyfile, const char *dest,
	       const char *type, const void *payload, size_t len, uint64_t ttl_ms, uint8_t **out,
	       size_t *out_len, uint8_t id[16]);

/* A hand-built envelope for h_sign_raw: every field as given (nothing is
 * checked), signed alone (a batch of one) with a valid signature, then the
 * Signed damaged as asked. */
struct h_rawenv {
	const uint8_t *id; /* id_len bytes */
	size_t id_len;
	const char *origin, *dest, *type;
	uint64_t created_ms, expires_ms;
	size_t sig_len;      /* bytes of the signature sent (64: intact) */
	uint32_t extra_path; /* path elements added (a batch of one has none) */
};

/* Sign spec with the key in keyfile (key version of spec->origin from the
 * registry): *out malloc'd packed Signed. 0 or -1. */
int h_sign_raw(struct net *n, const char *keyfile, const struct h_rawenv *spec, uint8_t **out,
	       size_t *out_len);

/* Hex of an id, for messages (static buffer, rotating 4). */
const char *h_idhex(const uint8_t id[16]);

#endif
