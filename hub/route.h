/* Routing at the hub: the push stream rule, the accept checks of every
 * pushed message, fan-out to topic subscribers, queue quotas, expiry and
 * the signed DeadLetters sent back to origins. Everything runs inside the
 * iteration's write transaction (queue_begin). */
#ifndef HUB_ROUTE_H
#define HUB_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"
#include "onestop.pb-c.h"

struct route;

int route_new(struct route **out);
void route_destroy(struct route **r);

/* Rebuild the topic index from h->reg; call after every registry change.
 * 0 or OS_ENOMEM (the old index is kept then). */
int route_registry_changed(struct hub *h);

/* Apply a push frame from origin (the authenticated node, whose session
 * carries the outbox epoch). Each transfer follows the stream rule
 * prev_seq <= last < seq; accepted and refused ones advance last, a full
 * destination queue stops the stream there. *ack_seq gets last; *ack is 0
 * when no ack is due, 1 when last advanced, 2 when a transfer was a
 * duplicate (the spoke is resending: it should hear at once). 0, or a
 * store error that spoils the iteration. */
int route_push(struct hub *h, const char *origin, const uint8_t epoch[16],
	       const Onestop__Transfers *t, uint64_t *ack_seq, int *ack);

/* A queue entry of dest whose envelope expired is being removed: log it and
 * dead-letter it to its origin (never a dead letter itself). msg may be
 * NULL when its body is gone. */
void route_expired(struct hub *h, const char *dest, const uint8_t *msg, size_t len);

/* Run one bounded expiry sweep over all queues (skipping entries in
 * flight to a spoke). 0 or a store error. */
int route_sweep(struct hub *h);

/* Sign the dead letters gathered in this iteration as one batch and queue
 * each to its origin. 0 or a store error. */
int route_flush(struct hub *h);

/* Forget the dead letters gathered in an iteration that was aborted. */
void route_abort(struct hub *h);

#endif
