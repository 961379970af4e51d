/* Cached-mode fetches of the spoke's replica: a miss is asked of the hub
 * as Fetch{request_id, dataset, key}, and the table of pending fetches,
 * keyed by that request id, records how each one ends (filled, not found,
 * or failed with a code and a sentence) until the asker forgets it. The
 * replica (replica_fetched) applies the hub's Fetched and settles the
 * fetch; whoever waits for it (the API) reads the outcome. */
#ifndef SPOKE_REPLICA_FETCH_H
#define SPOKE_REPLICA_FETCH_H

#include <stdint.h>

#include "dataset.h"
#include "util.h"

struct spoke;

#define REPLICA_FETCH_MAX 10000u /* fetches pending at once */
#define REPLICA_FETCH_MAX_WAIT_MS 3600000u
#define REPLICA_FETCH_MSG_MAX 640

enum replica_fetch_state {
	REPLICA_FETCH_PENDING,
	REPLICA_FETCH_FILLED,   /* the entry is in the iteration's transaction */
	REPLICA_FETCH_NOTFOUND, /* the hub holds no such entry */
	REPLICA_FETCH_FAILED,   /* code and msg say why */
};

/* One fetch, from replica_fetch_start until replica_fetch_forget. */
struct replica_fetch {
	uint64_t id; /* Fetch.request_id */
	char dataset[OS_NAME_MAX];
	char key[DS_KEY_MAX + 1];
	enum replica_fetch_state state;
	int code;                        /* FAILED: the error */
	char msg[REPLICA_FETCH_MSG_MAX]; /* FAILED: one sentence */
};

struct replica_fetches;

/* An empty table in *out. 0 or OS_ENOMEM. */
int replica_fetch_new(struct replica_fetches **out);
/* Free *fx and every fetch in it, and NULL *fx (NULL allowed). */
void replica_fetch_free(struct replica_fetches **fx);

/* How long a miss waits for the hub: asked (ms), or fetch_timeout_ms when
 * asked is 0, at most REPLICA_FETCH_MAX_WAIT_MS. */
uint32_t replica_fetch_wait_ms(const struct spoke *sp, uint32_t asked);

/* Ask the hub for (dataset, key) now (spoke_hub_send) and record the fetch
 * as pending under a new request id, into *id. 0, OS_ECONN (no session
 * with the hub), OS_EAGAIN (REPLICA_FETCH_MAX pending, or the link's pipe
 * is full), OS_EINVAL (a name or key too long) or OS_ENOMEM; nothing is
 * recorded on error. */
int replica_fetch_start(struct spoke *sp, struct replica_fetches *fx, const char *dataset,
			const char *key, uint64_t *id);

/* The fetch under id while it is pending, else NULL (unknown, forgotten or
 * settled). Borrowed until replica_fetch_forget(id). */
struct replica_fetch *replica_fetch_pending(struct replica_fetches *fx, uint64_t id);

/* Record that fetch f (pending) ended as state (REPLICA_FETCH_FILLED or
 * REPLICA_FETCH_NOTFOUND). */
void replica_fetch_settle(struct replica_fetch *f, enum replica_fetch_state state);
/* Record that fetch f (pending) failed with code, for the reason that the
 * printf-style fmt gives in one sentence. */
void replica_fetch_fail(struct replica_fetch *f, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The fetch under id in any state, or NULL when unknown (fx NULL: NULL).
 * Borrowed until replica_fetch_forget(id). */
const struct replica_fetch *replica_fetch_get(const struct replica_fetches *fx, uint64_t id);

/* Forget the fetch under id (fx NULL or id unknown: nothing). A Fetched
 * for it that arrives later is ignored. */
void replica_fetch_forget(struct replica_fetches *fx, uint64_t id);

#endif
