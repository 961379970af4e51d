/* The hub's side of the link (the transport): one session per connected
 * spoke over the ROUTER, learned from Hello and the authenticated User-Id
 * of each frame; Welcome, heartbeats, push acks and the deliver stream
 * within the spoke's window. What a frame carries for routing or datasets
 * goes up through the ops table the daemon fills (nng's transports talk to
 * their protocol the same way): this module names neither. Replies that
 * depend on the iteration's transaction are held until it commits. */
#ifndef HUB_LINK_H
#define HUB_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "onestop.pb-c.h"

#define LINK_WINDOW_MAX 100000u     /* largest deliver window a spoke may ask */
#define LINK_FRAME_ITEMS 256u       /* transfers per deliver frame */
#define LINK_FRAME_BYTES (4u << 20) /* soft bound on a deliver frame */

struct link;
struct loop;
struct stream_ack;

/* What the sessions hand up; every member is required. Each runs inside
 * the iteration (its transaction, h->now_*) and reports a store error by
 * spoiling the iteration (hub_fail), unless it returns it. */
struct link_ops {
	/* A push frame from node (its session's outbox epoch): take what the
	 * stream rule allows, noting what was taken in *ack; *last gets the
	 * node's last push seq. 0 or a store error. */
	int (*push)(struct hub *h, const char *node, const uint8_t epoch[16],
		    const Onestop__Transfers *t, struct stream_ack *ack, uint64_t *last);
	/* A queue entry of node's that expired was met while filling its
	 * window; it is being removed (msg may be NULL: its body is gone). */
	void (*expired)(struct hub *h, const char *node, const uint8_t *msg, size_t len);
	/* node's session (re)started with this Hello (after its Welcome). */
	void (*hello)(struct hub *h, const char *node, const Onestop__Hello *hello);
	/* node's session ended. */
	void (*session_end)(struct hub *h, const char *node);
	/* A DatasetAck, a Fetch from node. */
	void (*ds_ack)(struct hub *h, const char *node, const Onestop__DatasetAck *a);
	void (*fetch)(struct hub *h, const char *node, const Onestop__Fetch *f);
	/* A dataset stream frame to node found its pipe full (not sent). */
	void (*blocked)(struct hub *h, const char *node);
	/* A registry frame from node (a child hub): its delegated registries,
	 * packed as registry_pack_parts makes them (buf borrowed for the call). */
	void (*registry)(struct hub *h, const char *node, const uint8_t *buf, size_t len);
};

/* A link over h->router handing frames up through ops (copied).
 * 0 or OS_ENOMEM. */
int link_new(const struct link_ops *ops, struct link **out);
/* Free every session and pending frame; NULL *l (NULL allowed). */
void link_destroy(struct link **l);

/* Register the link's hook (after routing's first hook, before the
 * datasets'): it polls h->router; drains up to HUB_DRAIN_MAX frames into
 * the iteration; its work fills every session's deliver window from its
 * queue; before the commit it turns the push acks due into frames (a
 * light trickle is acked after up to HUB_ACK_DELAY_MS, the stream_ack
 * rule); after a commit it sends every held frame, after a failure it
 * drops them and restarts every deliver stream from its queue head; its
 * timers send heartbeats, end silent sessions and rewind stalled deliver
 * streams; its deadline covers those timers, owed acks and window work
 * (not before a backoff ends). 0 or OS_EFULL. */
int link_attach(struct hub *h, struct loop *l);

/* dest's queue received entries: its session (if any) looks again. */
void link_wake(struct hub *h, const char *dest);

/* Tell node's live session (if any) at once, in a LinkError frame, why its
 * pushes wait (code, message copied); the spoke logs it and keeps sending.
 * For a state change only: it is not rate-limited here. */
void link_notify(struct hub *h, const char *node, int code, const char *message);

/* Whether node's live session was told code by link_notify_once: 1, or 0
 * (also when it has no session, or has been told something else since). */
int link_told(const struct hub *h, const char *node, int code);

/* link_notify, remembered in node's session (a new session, after a
 * reconnect, has been told nothing), so that the caller tells each
 * session once (check link_told first, before building the message). */
void link_notify_once(struct hub *h, const char *node, int code, const char *message);

/* Forget what node's session was told (its state cleared), so that a
 * later state is told again. */
void link_told_clear(struct hub *h, const char *node);

/* 1 when dest's session has been sent the entry qseq in this session. */
int link_inflight(const struct hub *h, const char *dest, uint64_t qseq);

/* After a registry change: end the sessions of nodes no longer active,
 * and when changed is set send the new registry to every session. */
void link_registry_changed(struct hub *h, int changed);

/* Hold a packed frame (consumed) for node's live session until the
 * iteration's commit; freed at once when node has no live session. A
 * stream frame (stream != 0) that finds the pipe full is not sent, nor are
 * the later ones to that node, and ops.blocked restarts its streams. */
void link_hold_dataset(struct hub *h, const char *node, uint8_t *data, size_t len, int stream);

/* 1 when node has a live session, else 0. */
int link_live(const struct hub *h, const char *node);

/* Number of live sessions. */
unsigned link_sessions(const struct hub *h);

#endif
