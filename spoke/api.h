/* The spoke's local API: a ROUTER socket (ipc:// or loopback tcp://) on
 * which apps send ApiRequests (Send, Recv, Ack, Status, Put, and the
 * dataset reads and assertions that reads.c serves) and get ApiReplies
 * with the same request_id. Replies that depend on stored data go out
 * only after the iteration's commit. It holds every request that waits:
 * a Recv with wait_ms until messages are free, a cached-mode miss until
 * the hub's fill settles, each until its deadline. */
#ifndef SPOKE_API_H
#define SPOKE_API_H

#include <stddef.h>
#include <stdint.h>

struct spoke;
struct spoke_conf;
struct loop;

#define API_DRAIN_BUDGET 4096u /* requests one drain hook receives at most */

/* Bind the API socket at sp->conf.api (for ipc://, create the directory
 * and remove a stale socket file first; refuse a socket a live process
 * answers on). The endpoint actually bound is written to bound (size
 * bytes). 0, OS_ENOMEM, OS_EINVAL (an ipc path too long), OS_EIO or
 * OS_EEXIST (in use, or a file that is not a socket). sp->api may be set
 * on error (free it with api_close). */
int api_open(struct spoke *sp, char *bound, size_t size);

/* Check the API's options without opening anything: api_mode (octal bits),
 * api_group (an existing group name or a number) and the api_allow_* rules.
 * 0 or OS_ECONFIG, each fault logged (config_invalid, naming the option). */
int api_check_conf(const struct spoke_conf *c);

/* Answer every waiting request (a Recv with an empty result, a read with
 * OS_ECONN "the spoke is stopping"), close the socket, free sp->api and
 * NULL it (NULL allowed). */
void api_close(struct spoke *sp);

/* The socket to poll (NULL before api_open). */
void *api_socket(const struct spoke *sp);

/* Receive up to budget requests: validate Sends and Puts, apply Acks in
 * the iteration's write transaction, queue everything for a reply. 0 or
 * the store error that poisoned the iteration. */
int api_drain(struct spoke *sp, unsigned budget);

/* Sign every Send and Put accepted in this iteration as one batch (split
 * at BATCHSIG_MAX_LEAVES) and append it to the outbox, in the iteration's
 * transaction. 0 or the store error that poisoned the iteration (a
 * signing failure fails only the requests concerned). */
int api_flush_sends(struct spoke *sp);

/* After the commit (commit_rc its result): answer Send, Ack, Put and
 * Status, serve the reads (reads.c; a pending one waits), serve Recv
 * requests (a Recv with wait_ms waits), and go over the waiting requests
 * in arrival order: a Recv is served when messages are free, a read when
 * its fetch has settled; a Recv whose wait is over gets an empty result, a
 * read OS_ETIMEDOUT, and a read gets OS_ECONN at once when the hub is no
 * longer up. */
void api_after_commit(struct spoke *sp, int commit_rc);

/* The next time (monotonic us) a waiting request times out (or, while a
 * Recv waits, an inbox lease expires), or UINT64_MAX for none. */
uint64_t api_deadline_us(const struct spoke *sp);

/* Register the API with l (common/loop.h) for a daemon that runs its
 * modules through hooks: its socket, drain (api_drain of up to
 * API_DRAIN_BUDGET requests), work (api_flush_sends), after_commit
 * (api_after_commit) and deadline (api_deadline_us); ctx is sp. Register
 * it after the hooks whose after-commit work its replies depend on (the
 * hub link's commit bookkeeping) and before the hub link's pushes, as the
 * spoke's loop orders them today. 0 or OS_EFULL (the loop is full). */
int api_attach(struct spoke *sp, struct loop *l);

#endif
