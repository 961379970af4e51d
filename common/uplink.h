/* The link client (docs/ARCHITECTURE.md "The link"): one CURVE DEALER
 * socket to a peer hub, the session (Hello/Welcome, heartbeats, silence,
 * jittered reconnect backoff), the push stream out under the peer's window
 * and the deliver stream in, each acknowledged cumulatively only after the
 * receiver's commit. It knows nothing of what the streams carry: a spoke,
 * or a hub towards its parent, fills struct uplink_ops. */
#ifndef OS_UPLINK_H
#define OS_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "crypto.h"
#include "loop.h"

#define UPLINK_EPOCH_LEN 16u /* outbox and hub epochs on the link */
#define UPLINK_HELD 1        /* uplink_ops.deliver: not taken now */

struct Onestop__Hello;
struct Onestop__LinkFrame;
struct uplink;

enum uplink_state {
	UPLINK_DOWN,       /* no socket; reconnect when the backoff ends */
	UPLINK_HELLO_SENT, /* socket open, Hello sent, waiting for Welcome */
	UPLINK_UP,         /* Welcome received: streams flow, heartbeats go out */
};

struct uplink_conf {
	void *zctx;                  /* ZeroMQ context (borrowed for the link's life) */
	const char *endpoint;        /* the peer's link endpoint (copied) */
	const char *peer;            /* the peer's node name, for logs (copied) */
	const char *node;            /* this node's name, said in Hello (copied) */
	const struct os_keypair *kp; /* this node's keys; CURVE uses the box pair
				      * (borrowed for the link's life) */
	uint32_t heartbeat_ms;       /* >= 1; three silent beats end a session */
	uint32_t reconnect_min_ms;   /* >= 1, <= reconnect_max_ms */
	uint32_t reconnect_max_ms;
	uint32_t window;         /* deliveries this node takes unacknowledged (>= 1) */
	int64_t max_frame_bytes; /* largest frame accepted from the peer (> 0) */
};

/* Called by uplink_ops.push_walk for each entry of the push source, in seq
 * order; msg is borrowed until push_walk returns. Returns 0 for more,
 * nonzero to stop. The walk's last call is fn(arg, 0, NULL, 0): the end. */
typedef int (*uplink_entry_fn)(void *arg, uint64_t seq, const uint8_t *msg, size_t len);

/* What a Welcome says, for uplink_ops.welcome. */
struct uplink_welcome {
	const uint8_t *peer_epoch; /* UPLINK_EPOCH_LEN bytes: names the deliver stream */
	uint64_t accepted_seq;     /* the peer holds every push <= it */
	const uint8_t *registry;   /* a packed SignedRegistry, or NULL */
	size_t registry_len;
	/* What the peer advertises (0 or "" from a peer that does not): */
	const char *peer_node;           /* its node name; borrowed for the op */
	uint32_t peer_heartbeat_ms;      /* its heartbeat interval */
	uint64_t peer_max_message_bytes; /* the largest packed Signed it accepts */
	/* Set by the op, for the hub_connected line: */
	int new_epoch;    /* the deliver stream starts afresh */
	uint64_t backlog; /* push entries waiting */
};

/* The layer above the link. Every op gets ctx (uplink_new's). The ops that
 * write do so in the iteration's transaction of the daemon's loop; a
 * negative return is the store error that poisoned it (the link stops
 * draining until the commit). now_us is the monotonic clock. */
struct uplink_ops {
	/* The peer's transport key for the next connect: 0, or an error
	 * (logged by the op; the attempt fails and backs off). Required. */
	int (*peer_key)(void *ctx, os_box_pk out);
	/* Fill h's registry_version, outbox_epoch (UPLINK_EPOCH_LEN bytes, kept
	 * by the link to check push acks) and datasets; protocol, node and
	 * window are the link's. What the op allocates stays valid until
	 * hello_done(ctx, h) (may be NULL). Required. */
	void (*hello)(void *ctx, struct Onestop__Hello *h);
	void (*hello_done)(void *ctx, struct Onestop__Hello *h);
	/* A Welcome of the right protocol: adopt the peer epoch (a new one
	 * restarts the deliver stream), release the pushes up to accepted_seq,
	 * offer the registry; fill w's outputs. 0 or a store error. Required. */
	int (*welcome)(void *ctx, struct uplink_welcome *w, uint64_t now_us);
	/* The peer committed every push <= upto (released lazily). Required. */
	void (*push_acked)(void *ctx, uint64_t upto, uint64_t now_us);
	/* Hand the push entries with seq >= from to fn (see uplink_entry_fn),
	 * then make the end call. 0, or an error (nothing is pushed now; the
	 * end call may then be missing). Required. */
	int (*push_walk)(void *ctx, uint64_t from, uplink_entry_fn fn, void *arg);
	/* n transfers went out (retransmits included). May be NULL. */
	void (*pushed)(void *ctx, unsigned n);
	/* The deliver stream's durable position: *last, and *epoch (the peer
	 * epoch it belongs to, UPLINK_EPOCH_LEN bytes, borrowed until the next
	 * op). 0, or OS_ENOTFOUND while no epoch is known (nothing to
	 * acknowledge). Required. */
	int (*deliver_pos)(void *ctx, uint64_t *last, const uint8_t **epoch);
	/* One in-order delivery (the link applied seq/prev_seq against last):
	 * store, verify, de-duplicate; last becomes seq. 0, UPLINK_HELD (not
	 * taken now; the peer sends it again) or a store error. Required. */
	int (*deliver)(void *ctx, uint64_t seq, const uint8_t *msg, size_t len);
	/* A frame for the layer above: Registry (in any state); Changes,
	 * Snapshot, Fetched (only while UP). f is borrowed for the call. 0 or a
	 * store error. May be NULL (dropped). */
	int (*frame)(void *ctx, const struct Onestop__LinkFrame *f);
};

/* A link with conf (copied) and ops (copied), which starts connecting at
 * once: the socket opens and says Hello (or the first attempt fails and
 * backs off). *out gets it. 0, OS_EINVAL (a required op or a bound
 * missing) or OS_ENOMEM. */
int uplink_new(const struct uplink_conf *conf, const struct uplink_ops *ops, void *ctx,
	       struct uplink **out);

/* Close the socket, free *up and NULL it (NULL allowed). */
void uplink_destroy(struct uplink **up);

/* The hooks the daemon registers with its loop, ctx up:
 *   socket         the socket to poll, NULL while DOWN
 *   drain          receive frames into the iteration (Welcome, acks,
 *                  deliveries, frames for the layer above, errors)
 *   after_commit   after a failed commit restart the session; push what
 *                  the commit made durable, before other hooks reply
 *   timers         send the deliver ack the commit allows, push what the
 *                  window allows, heartbeats, silence, retransmits,
 *                  reconnects (register the link before hooks whose
 *                  after_commit must precede its deliver ack: they run in
 *                  the after_commit phase, this in the timers phase)
 *   deadline_us    when the timers next have work */
struct loop_hooks uplink_hooks(struct uplink *up);

/* The session's state. */
enum uplink_state uplink_state(const struct uplink *up);

/* The socket to poll (as the socket hook), or NULL while DOWN. */
void *uplink_socket(const struct uplink *up);

/* Pack and send f to the peer now, while the session is UP (Fetch,
 * DatasetAck, ...). 0, OS_ECONN (no session), OS_EAGAIN (the pipe is
 * full) or OS_ENOMEM. */
int uplink_send_frame(struct uplink *up, const struct Onestop__LinkFrame *f);

/* The peer's key changed: close after this iteration and reconnect at
 * once (asking peer_key again). */
void uplink_restart(struct uplink *up);

/* At a clean stop, after the last commit: send the deliver ack still owed
 * and let the socket linger briefly so that it leaves. */
void uplink_stop(struct uplink *up);

#endif
