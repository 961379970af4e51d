/* Routing at the hub: the push stream rule, the accept checks of every
 * pushed message, fan-out to topic subscribers, queue quotas, expiry and
 * the signed DeadLetters sent back to origins. Everything runs inside the
 * iteration's write transaction (hub_txn). It calls the queue, the
 * dataset sequencer and the link (to wake a destination's session); the
 * link reaches it only through the ops table main.c fills. */
#ifndef HUB_ROUTE_H
#define HUB_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "onestop.pb-c.h"

struct loop;
struct route;
struct stream_ack;

/* A new router in *out (no topic index yet: route_registry_changed).
 * 0 or OS_ENOMEM. */
int route_new(struct route **out);
/* Free *r and NULL it (NULL allowed). */
void route_destroy(struct route **r);

/* Register routing's two hooks; call route_attach before the link's and
 * the datasets' hooks and route_attach_late after them. route: its work
 * runs the expiry sweep every HUB_SWEEP_MS (its deadline), then signs and
 * queues the dead letters of what was drained; route_late: its work
 * queues the dead letters of expired entries the sessions met, and after
 * a failed commit it forgets the dead letters gathered. 0 or OS_EFULL. */
int route_attach(struct hub *h, struct loop *l);
int route_attach_late(struct hub *h, struct loop *l);

/* Log the quotas in force (the "quotas" line; at start and reload). */
void route_log_quotas(const struct hub *h);

/* Rebuild the topic index from h->reg; call after every registry change.
 * 0 or OS_ENOMEM (the old index is kept then). */
int route_registry_changed(struct hub *h);

/* Apply a push frame from origin (the authenticated node, whose session
 * carries the outbox epoch). Each transfer follows the stream rule
 * (stream_offer against origin's last): accepted and refused ones advance
 * last, a duplicate is not stored again, a gap is ignored. A message that
 * does not fit the quotas stops the stream there (the origin keeps the
 * rest; counted in stats.over_quota, logged node_over_quota and told to
 * the origin's session once per state change, EFULL): the origin's share
 * and hold are used, or the store's budget is into its reserve and the
 * origin holds more than its small part. A destination at its share does
 * not stop the stream: its messages are held, charged to the origin's
 * hold, so the origin's other destinations keep flowing.
 * Every transfer taken and every duplicate is noted in *ack
 * (stream_ack_note at h->now_us), from which the session acks after the
 * commit; *last gets origin's last seq. 0, or a store error that spoils
 * the iteration. */
int route_push(struct hub *h, const char *origin, const uint8_t epoch[16],
	       const Onestop__Transfers *t, struct stream_ack *ack, uint64_t *last);

/* One delivery from the parent hub (federation): the checks of a push
 * (PROTOCOL 13.3), then queued for its hop here (own node, child hub),
 * fanned out to the topic's subscribers in this subtree; refused: dead
 * letter to its origin. 0, UPLINK_HELD (no room now) or a store error. */
int route_from_parent(struct hub *h, const uint8_t *msg, size_t len);

/* A queue entry of dest whose envelope expired is being removed: log it and
 * dead-letter it to its origin (never a dead letter itself). msg may be
 * NULL when its body is gone. */
void route_expired(struct hub *h, const char *dest, const uint8_t *msg, size_t len);

/* Run one bounded expiry sweep over all queues (skipping entries in
 * flight to a spoke), at h->now_ms. 0 or a store error. */
int route_sweep(struct hub *h);

/* Sign the dead letters gathered in this iteration as one batch and queue
 * each to its origin. 0 or a store error. */
int route_flush(struct hub *h);

/* Forget the dead letters gathered in an iteration that was aborted. */
void route_abort(struct hub *h);

#endif
