/* The hub's side of the link: one session per connected spoke, learned
 * from Hello and the authenticated User-Id of each frame; Welcome,
 * heartbeats, push acks and the deliver stream within the spoke's window.
 * Replies that depend on the iteration's transaction are held until
 * link_commit_done. */
#ifndef HUB_LINK_H
#define HUB_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

#define LINK_WINDOW_MAX 100000u   /* largest deliver window a spoke may ask */
#define LINK_FRAME_ITEMS 256u     /* transfers per deliver frame */
#define LINK_FRAME_BYTES (4u << 20) /* soft bound on a deliver frame */

struct link;

int link_new(struct link **out);
/* Free every session and pending frame; NULL *l. */
void link_destroy(struct link **l);

/* Receive and handle up to max frames from the ROUTER inside the
 * iteration's transaction. *n gets the number handled. Sets h->failed on a
 * store error (the caller aborts the iteration). */
void link_drain(struct hub *h, unsigned max, unsigned *n);

/* Fill every session's deliver window from its queue (removing expired
 * entries met on the way). Sets h->failed on a store error. */
void link_topup(struct hub *h);

/* Turn the push acks due in this iteration into frames (a light trickle
 * of pushes is acked after up to HUB_ACK_DELAY_MS, see link.c). */
void link_prepare_acks(struct hub *h);

/* When an owed push ack must go out at the latest (ms), or UINT64_MAX. */
uint64_t link_ack_deadline(const struct hub *h);

/* The transaction committed: send every held frame. */
void link_commit_done(struct hub *h);
/* The transaction failed: drop held frames and restart every deliver
 * stream from its queue head, so nothing uncommitted is relied on. */
void link_commit_failed(struct hub *h);

/* Heartbeats, silent session expiry, retransmit timeouts. */
void link_timers(struct hub *h);

/* 1 when some session has room in its window and may have queued entries. */
int link_work_pending(const struct hub *h);

/* dest's queue received entries: its session (if any) looks again. */
void link_wake(struct hub *h, const char *dest);

/* 1 when dest's session has been sent the entry qseq in this session. */
int link_inflight(const struct hub *h, const char *dest, uint64_t qseq);

/* After a registry change: end the sessions of nodes no longer active,
 * and when changed is set send the new registry to every session. */
void link_registry_changed(struct hub *h, int changed);

/* Hold a packed frame (consumed) for node's live session until the
 * iteration's commit; freed at once when node has no live session. A
 * stream frame (stream != 0) that finds the pipe full is not sent, nor are
 * the later ones to that node, and dataset_blocked restarts its streams. */
void link_hold_dataset(struct hub *h, const char *node, uint8_t *data, size_t len, int stream);

/* Number of live sessions. */
unsigned link_sessions(const struct hub *h);

#endif
