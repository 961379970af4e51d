/* The spoke's local API: a ROUTER socket (ipc:// or loopback tcp://) on
 * which apps send ApiRequests (Send, Recv, Ack, Status, Put; the dataset
 * reads and assertions are served by cache.c) and get ApiReplies with the
 * same request_id. Replies that depend on stored data go out only
 * after the iteration's commit. */
#ifndef SPOKE_API_H
#define SPOKE_API_H

#include <stddef.h>
#include <stdint.h>

struct spoke;
struct Onestop__ApiReply;

#define API_MAX_ROUTE 4u             /* envelope frames before the body */

/* The frames before a request's body (the ROUTER's routing id, and an
 * empty delimiter for a REQ client), echoed before its reply. buf holds
 * them concatenated (malloc'd; NULL once moved or freed). */
struct api_route {
	unsigned n;
	size_t len[API_MAX_ROUTE];
	uint8_t *buf;
};

/* Free rt's frames (rt itself is the caller's). */
void api_route_free(struct api_route *rt);

/* Pack rep and send it now behind rt's frames. A client that is gone or
 * not reading loses it; nothing else depends on it. */
void api_send_reply(struct spoke *sp, const struct api_route *rt,
		    const struct Onestop__ApiReply *rep);

/* Bind the API socket at sp->conf.api (for ipc://, create the directory
 * and remove a stale socket file first; refuse a socket a live process
 * answers on). The endpoint actually bound is written to bound (size
 * bytes). 0, OS_ENOMEM, OS_EIO or OS_EEXIST (in use). */
int api_open(struct spoke *sp, char *bound, size_t size);

/* Answer parked requests as empty, close the socket, free sp->api (NULL
 * allowed). */
void api_close(struct spoke *sp);

/* The socket to poll. */
void *api_socket(const struct spoke *sp);

/* Receive up to budget requests: validate Sends, apply Acks in the
 * iteration's write transaction, queue everything for a reply. 0 or the
 * store error that poisoned the iteration. */
int api_drain(struct spoke *sp, unsigned budget);

/* Sign every Send and Put accepted in this iteration as one batch (split
 * at BATCHSIG_MAX_LEAVES) and append it to the outbox, in the iteration's
 * transaction. 0 or a store error. */
int api_flush_sends(struct spoke *sp);

/* After the commit (commit_rc its result): answer Send, Ack and Status,
 * serve Recv requests (parking those that wait), wake parked ones when
 * messages are available, and answer those whose wait is over. */
void api_after_commit(struct spoke *sp, int commit_rc);

/* The next time (monotonic us) api_after_commit has timer work, or
 * UINT64_MAX for none. */
uint64_t api_deadline_us(const struct spoke *sp);

#endif
