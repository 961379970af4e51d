/* The spoke's link to its hub: one CURVE DEALER socket, the session state
 * machine (DOWN -> HELLO_SENT -> UP), the push stream out of the outbox
 * under the hub's window, and the receiving side of the deliver stream. */
#ifndef SPOKE_UPLINK_H
#define SPOKE_UPLINK_H

#include <stdint.h>

struct spoke;

enum uplink_state {
	UPLINK_DOWN,        /* no socket; reconnect when the backoff ends */
	UPLINK_HELLO_SENT,  /* socket open, Hello sent, waiting for Welcome */
	UPLINK_UP,          /* Welcome received: streams flow, heartbeats go out */
};

/* Create the uplink in sp->up and start connecting (the socket opens and
 * says Hello at once). 0, OS_ENOMEM or OS_EIO. */
int uplink_new(struct spoke *sp);

/* At a clean stop, after the last commit: send the deliver ack still owed
 * and let the socket linger briefly so that it leaves. */
void uplink_stop(struct spoke *sp);

/* Close the socket and free sp->up (NULL allowed). */
void uplink_destroy(struct spoke *sp);

/* The socket to poll, or NULL while DOWN. */
void *uplink_socket(const struct spoke *sp);

/* 1 when a session with the hub is up. */
int uplink_is_up(const struct spoke *sp);

/* Receive up to budget frames and process them into the iteration's write
 * transaction (Welcome, acks, deliveries, registry, errors). 0, or the
 * store error that poisoned the iteration. */
int uplink_drain(struct spoke *sp, unsigned budget);

/* Right after the iteration's commit (commit_rc its result): after a
 * failed commit restart the session; push what the window allows. */
void uplink_commit_done(struct spoke *sp, int commit_rc);

/* Then, after the API's replies: send the deliver ack, push what the
 * window allows, run the timers (heartbeat, silence, retransmit,
 * reconnect). */
void uplink_after_commit(struct spoke *sp);

/* The next time (monotonic us) uplink_after_commit has timer work, or 0
 * when it has work now. */
uint64_t uplink_deadline_us(const struct spoke *sp);

struct Onestop__LinkFrame;

/* Pack and send f to the hub now, while a session is up. 0, OS_ECONN (no
 * session), OS_EAGAIN (the pipe is full) or OS_ENOMEM. */
int uplink_send_frame(struct spoke *sp, const struct Onestop__LinkFrame *f);

/* The hub's transport key changed (registry update): reconnect with the
 * new key once the current iteration is done. */
void uplink_request_restart(struct spoke *sp);

#endif
