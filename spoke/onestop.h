/* libonestop: the integrator API of OneStop. An application connects to its
 * local spoke over the spoke's API socket (ipc:// or loopback tcp://) and
 * sends, receives and acknowledges signed messages, reads and publishes
 * the shared datasets, and issues and verifies real-name assertions. The
 * spoke does the signing, the durable outbox, inbox and dataset replica, and
 * the link to the hub.
 *
 * Errors. Every function returning int returns 0 or a negative ONESTOP_E*
 * code, and each function below lists every code it can return.
 * onestop_strerror() gives a code's text; onestop_last_error() the spoke's
 * own message (or the library's explanation) for the last failed call.
 *
 * Request errors. A call that asks the spoke (it takes an onestop_t) can
 * also fail in the exchange itself. These five are named "the request
 * errors" below:
 *   ONESTOP_ECONN     the socket could not be created, connected, written
 *                     or read (the connection is re-established at the
 *                     next call);
 *   ONESTOP_ETIMEDOUT no reply within the request timeout (see
 *                     onestop_connect): the connection is re-established
 *                     on a new socket, so a late reply cannot answer a
 *                     later request; the abandoned request may still have
 *                     been carried out;
 *   ONESTOP_EPROTO    the reply did not decode, was not the reply to this
 *                     request, broke its bounds, or carried a code this
 *                     library does not know (a spoke newer than it);
 *   ONESTOP_ENOMEM    out of memory, here or at the spoke;
 *   ONESTOP_EDECODE   the spoke could not decode the request (a library
 *                     and a spoke that disagree on the protocol).
 * A spoke whose store fails answers a request that reads or writes it
 * with ONESTOP_ESTORE (and a write with ONESTOP_ESTOREFULL when the
 * store's map or disk is full; reads and status are still served); the
 * calls that touch the store list both.
 * A spoke with rules on its local apps (api_allow_send, api_allow_publish,
 * api_allow_issue) answers onestop_send, onestop_put and
 * onestop_assert_issue from an app whose uid and gid they leave out with
 * ONESTOP_EPEER (the message names the uid and the option).
 *
 * Growing structs. The public structs may gain fields at their end in a
 * later version without breaking programs built against this one: every
 * call that takes, fills or allocates a public struct is a macro that
 * passes the size of that struct as the program was compiled
 * (onestop_recv(...) calls onestop_recv_sized(..., sizeof(onestop_msg_t))).
 * The library reads and writes only that many bytes of each struct, lays
 * out the arrays it returns with that stride, takes fields missing from an
 * older program's struct as zero, and refuses (ONESTOP_EINVAL) a newer
 * program's struct whose fields unknown to it are not zero. Bindings from
 * other languages call the *_sized functions with the size of their copy
 * of the struct. A size smaller than the struct's first layout (the one
 * in this header), or one that is not a multiple of the struct's
 * alignment, is ONESTOP_EINVAL. (onestop_material_t grows only with
 * onestop_item_t, and onestop_deadletter reads only fields of the message
 * that every layout has.)
 *
 * Threads. A connection is not thread-safe: use one per thread. The value
 * codecs and onestop_strerror may be called from any thread. */
#ifndef ONESTOP_H
#define ONESTOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
/* The result of a call that verifies or decodes must be checked: on error
 * its output is zeroed or NULL, never a valid value. */
#define ONESTOP_WUR __attribute__((warn_unused_result))
#else
#define ONESTOP_WUR
#endif

/* Error codes; the same numbers travel on the wire (docs/PROTOCOL.md). */
#define ONESTOP_OK 0
#define ONESTOP_EINVAL (-1)
#define ONESTOP_ENOMEM (-2)
#define ONESTOP_EIO (-3)
#define ONESTOP_ESTORE (-4)
#define ONESTOP_EBADSIG (-5)
#define ONESTOP_EDECODE (-6)
#define ONESTOP_ETOOBIG (-7)
#define ONESTOP_EEXPIRED (-8)
#define ONESTOP_EUNKNOWN (-9)
#define ONESTOP_EREVOKED (-10)
#define ONESTOP_ENOTALLOWED (-11)
#define ONESTOP_EFULL (-12)
#define ONESTOP_EAGAIN (-13)
#define ONESTOP_ETIMEDOUT (-14)
#define ONESTOP_ENOTFOUND (-15)
#define ONESTOP_EEXIST (-16)
#define ONESTOP_ECONFIG (-17)
#define ONESTOP_EORIGIN (-18)
#define ONESTOP_EPROTO (-19)
#define ONESTOP_ECONN (-20)
#define ONESTOP_EHELLO (-21)
#define ONESTOP_EREPLAY (-22)
#define ONESTOP_ENAME (-23)
#define ONESTOP_EKEY (-24)
#define ONESTOP_EAUDIENCE (-25)
#define ONESTOP_ELEVEL (-26)
#define ONESTOP_ESUBJECT (-27)
#define ONESTOP_EISSUER (-28)
#define ONESTOP_EGAP (-29)
#define ONESTOP_ESTOREFULL (-30)
#define ONESTOP_ENOSUBSCRIBER (-31)
#define ONESTOP_EPEER (-32)
#define ONESTOP_ESTATE (-33)
#define ONESTOP_ECONFLICT (-34)
#define ONESTOP_EOFFLINE (-35)
#define ONESTOP_EMATERIAL (-36)

#define ONESTOP_ID_LEN 16
/* Most messages one onestop_send, onestop_recv or onestop_ack handles. */
#define ONESTOP_MAX_BATCH 10000
#define ONESTOP_DEADLETTER_TYPE "onestop.DeadLetter"
/* Default API endpoint; the ONESTOP_API environment variable overrides it
 * wherever the CLI takes --api. */
#define ONESTOP_DEFAULT_API "ipc:///run/onestop/spoke.sock"

/* The library's version, "MAJOR.MINOR.PATCH" (the project's version); a
 * static string. */
const char *onestop_version(void);

typedef struct onestop onestop_t;

/* A message to send. `to` is a node name ("gd.sz.market") or a topic
 * ("@supervision"); `type` names the message type ([A-Za-z0-9._-]{1,128});
 * ttl_s 0 uses the spoke's default lifetime. Borrowed for the duration of
 * the call.
 *
 * Idempotency key (key_len 0: none; fields added after the first layout). key is 1..128 bytes the
 * app chooses, unique per message it means (e.g. its own record id). The
 * spoke keeps each key it accepted for send_key_window_s (default 24 h,
 * from the first accepted Send), in the same transaction as the message,
 * so a crash never keeps one without the other. Within that window a Send
 * of a message under the same key with the same to, type and payload
 * stores nothing and answers the original id: an app whose Send timed out
 * (ONESTOP_ETIMEDOUT) retries with the same key and cannot create a second
 * message. The same key with other to, type or payload is refused with
 * ONESTOP_EEXIST (the whole Send; nothing of it is stored). After the
 * window the key is forgotten and a Send under it is a new message. Keys
 * are per spoke (per node), not per app. */
typedef struct {
	const char *to;
	const char *type;
	const void *payload;
	size_t len;
	uint32_t ttl_s;
	const void *key; /* idempotency key, or NULL */
	size_t key_len;  /* 0..128; 0: no key */
} onestop_out_t;

/* A received message. All pointers are owned by the array returned from
 * onestop_recv (or onestop_recv_take) and valid until onestop_msgs_free. */
typedef struct {
	uint64_t seq; /* inbox sequence; pass to onestop_ack */
	uint8_t id[ONESTOP_ID_LEN];
	const char *origin;
	const char *to;
	const char *type;
	uint64_t created_ms;
	uint64_t expires_ms;
	const uint8_t *payload;
	size_t len;
} onestop_msg_t;

typedef struct {
	char node[300];
	int hub_connected;
	uint64_t outbox; /* waiting for the hub */
	uint64_t inbox;  /* waiting for apps */
	uint64_t registry_version;
	uint64_t registry_expires_ms;
	uint64_t sent;
	uint64_t received;
} onestop_status_t;

typedef struct {
	uint8_t id[ONESTOP_ID_LEN]; /* the refused message's id */
	int has_id;
	char to[300];
	char type[129];
	int code; /* ONESTOP_E* */
	char reason[256];
	char refused_by[300];
} onestop_deadletter_t;

/* Connect to the spoke at endpoint (NULL or "": $ONESTOP_API, else
 * ONESTOP_DEFAULT_API). timeout_ms bounds every later request (0: 10 s).
 * Connecting does not wait for the spoke; the first request does.
 * On success *out is a handle that the caller owns and frees with
 * onestop_close; on error *out is NULL (out itself must not be NULL).
 * endpoint is copied. Errors:
 *   ONESTOP_EINVAL  out NULL, timeout_ms negative, or an endpoint that
 *                   ZeroMQ refuses (malformed, unknown transport, ipc path
 *                   that cannot exist);
 *   ONESTOP_ENOMEM  out of memory, or no ZeroMQ context could be made;
 *   ONESTOP_ECONN   the socket could not be created or set up. */
int onestop_connect(const char *endpoint, int timeout_ms, onestop_t **out);

/* Close the connection and NULL *c (c or *c NULL: nothing happens).
 * Requests not answered yet (a posted Recv included) are abandoned; the
 * messages received on c and not acked (a posted Recv's included) are
 * handed out again at once, before later ones (see onestop_recv). */
void onestop_close(onestop_t **c);

/* Send n messages (1..ONESTOP_MAX_BATCH) in one request. Returns 0 only
 * after the spoke has committed all of them to its durable outbox; from
 * then on they will be delivered (or come back as dead letters) even if
 * any daemon crashes. ids (may be NULL) receives n message ids (caller's
 * array of n); a message whose idempotency key the spoke already accepted
 * gets the original id (see onestop_out_t). msgs and what it points to
 * are borrowed for the call. On error none was accepted (but see
 * ONESTOP_ETIMEDOUT: retry with the same keys to be sure of one copy).
 * Errors:
 *   ONESTOP_EINVAL       c or msgs NULL, n outside 1..ONESTOP_MAX_BATCH, a
 *                        message without to or type or with a NULL payload
 *                        of nonzero len or a NULL key of nonzero key_len,
 *                        a type that is not [A-Za-z0-9._-]{1,128}, a key
 *                        over 128 bytes or two messages of the request
 *                        under one key (the spoke);
 *   ONESTOP_ENAME        a destination that is not a node name or @topic;
 *   ONESTOP_ETOOBIG      a payload over the spoke's max_message_bytes, a
 *                        message whose signed envelope (payload, names,
 *                        signature and Merkle path: about 1 KiB more than
 *                        the payload) is over the hub's limit (the spoke's
 *                        hub_max_message_bytes, 1 MiB by default), or a
 *                        request over 1 GiB packed;
 *   ONESTOP_EEXIST       a key the spoke accepted within the window for a
 *                        message with other to, type or payload;
 *   ONESTOP_EEXPIRED     the spoke's registry has expired: new messages
 *                        are refused until a current one arrives;
 *   ONESTOP_EFULL        the spoke's outbox quota is exhausted (retry
 *                        later);
 *   ONESTOP_ESTOREFULL   the spoke's store (its map size or its disk) is
 *                        full; it recovers by itself when space returns
 *                        (apps ack, or the operator frees disk or raises
 *                        map_size_mb): retry later;
 *   ONESTOP_ESTORE       the spoke could not store the messages;
 *   and the request errors. */
int onestop_send_sized(onestop_t *c, const onestop_out_t *msgs, size_t n,
		       uint8_t (*ids)[ONESTOP_ID_LEN], size_t out_size);
#define onestop_send(c, msgs, n, ids) \
	onestop_send_sized((c), (msgs), (n), (ids), sizeof(onestop_out_t))

/* Receive up to max messages (1..ONESTOP_MAX_BATCH), waiting up to wait_ms
 * for the first (0: do not wait; the spoke honours at most an hour); the
 * call itself may take wait_ms plus the request timeout. *msgs is an array
 * of *n messages (possibly 0; then *msgs is NULL) that the caller owns
 * and frees with onestop_msgs_free; on error *msgs is NULL and *n 0.
 * Messages stay in the inbox until acked; unacked ones are handed out
 * again, so an app sees a message again only if it did not ack.
 *
 * Ordering guarantee. Messages of one origin to this node enter the inbox
 * in the order they were sent, each with the next seq; a message id enters
 * it at most once (copies re-signed with another expiry included). Each
 * Recv gets the lowest seqs that are neither acked nor leased, in seq
 * order. What a Recv returns is leased to c's connection until it is
 * acked, the connection closes (onestop_close, exit, crash, or the library
 * re-establishing it after a timeout or error), 30 s pass (the lease), or
 * the spoke restarts; then those messages are again the lowest unacked ones
 * and go to the next Recv, of any app, before any later message. So an app
 * that acks what it received before receiving again sees every message in
 * order, across its own crashes too; with several apps receiving at once,
 * or an app that holds a message unacked for more than 30 s, a message may
 * come again after later ones. Errors:
 *   ONESTOP_EINVAL  c, msgs or n NULL, max outside 1..ONESTOP_MAX_BATCH,
 *                   wait_ms negative, or a Recv posted on c and not taken
 *                   yet (onestop_recv_post);
 *   ONESTOP_EAGAIN  too many Recv requests are waiting at the spoke;
 *   ONESTOP_ESTORE  the spoke could not read its inbox;
 *   and the request errors. */
int onestop_recv_sized(onestop_t *c, size_t max, int wait_ms, onestop_msg_t **msgs, size_t *n,
		       size_t msg_size) ONESTOP_WUR;
#define onestop_recv(c, max, wait_ms, msgs, n) \
	onestop_recv_sized((c), (max), (wait_ms), (msgs), (n), sizeof(onestop_msg_t))

/* Free what onestop_recv or onestop_recv_take returned and NULL *msgs
 * (msgs or *msgs NULL: nothing happens). n is not used. */
void onestop_msgs_free(onestop_msg_t **msgs, size_t n);

/* ------------------------------------------------------------ event loops
 * An application with its own event loop (poll, epoll, libuv, ...)
 * receives without blocking: it posts a Recv, polls the connection's file
 * descriptor with its other descriptors, and takes the answer:
 *
 *	onestop_fd(c, &fd);               // add fd to the loop, for POLLIN
 *	onestop_recv_post(c, 100, 60000);
 *	...right after the post, whenever fd is readable, and after any
 *	   other call on c:
 *	rc = onestop_recv_take(c, &msgs, &n);
 *	if (rc == ONESTOP_EAGAIN)         // not there yet: poll again
 *	else if (rc == 0)                 // n messages (0 when the wait ran
 *		handle, ack, free, post again    out without any)
 *	else                              // error: fd again, post again
 *
 * The descriptor is ZeroMQ's ZMQ_FD, and behaves like it: it is
 * edge-triggered and signals that the connection's state may have changed,
 * not that a reply is waiting. So it may be readable with nothing to take
 * (onestop_recv_take then says ONESTOP_EAGAIN and re-arms it); never read
 * from or write to it; and after onestop_recv_post or any other call on c
 * while a Recv is posted, call onestop_recv_take before polling again:
 * that call may have collected the reply, and the descriptor then stays
 * quiet. Other requests (send, ack, get, ...) may be made while a Recv is
 * posted. After any call on c returned ONESTOP_ETIMEDOUT, ONESTOP_ECONN or
 * ONESTOP_EPROTO the connection is on a new socket: get the descriptor
 * again (the old one is closed). */

/* The descriptor to poll for POLLIN into *fd. It belongs to c: valid until
 * c is closed or re-established (above); do not close it. Errors:
 *   ONESTOP_EINVAL  c or fd NULL;
 *   ONESTOP_ECONN   no socket could be made or its descriptor read. */
int onestop_fd(onestop_t *c, int *fd);

/* Post a Recv of up to max messages (1..ONESTOP_MAX_BATCH) that the spoke
 * answers as soon as a message is there or wait_ms (at most an hour) has
 * passed, and return without waiting; take the answer with
 * onestop_recv_take. One Recv may be posted per connection. Errors:
 *   ONESTOP_EINVAL     c NULL, max outside 1..ONESTOP_MAX_BATCH, wait_ms
 *                      negative, or a Recv already posted and not taken;
 *   ONESTOP_ETIMEDOUT  the request could not be handed to the socket
 *                      within the request timeout;
 *   ONESTOP_ECONN, ONESTOP_ENOMEM. */
int onestop_recv_post(onestop_t *c, size_t max, int wait_ms);

/* Take the answer to the posted Recv, without blocking: as onestop_recv
 * (*msgs an array of *n, possibly 0, owned by the caller and freed with
 * onestop_msgs_free; NULL and 0 on error). After 0 or an error other than
 * ONESTOP_EAGAIN nothing is posted any more. Errors:
 *   ONESTOP_EAGAIN     the answer is not there yet (the Recv stays posted);
 *   ONESTOP_EINVAL     c, msgs or n NULL, or no Recv posted;
 *   ONESTOP_ECONN      the posted Recv was lost: the connection was
 *                      re-established on a new socket by another call
 *                      that failed (its leased messages come again at
 *                      once, the old socket being closed);
 *   ONESTOP_ETIMEDOUT  no answer within the wait plus the request timeout
 *                      (the connection is re-established);
 *   ONESTOP_EFULL      the spoke refused the Recv because too many Recv
 *                      requests wait there (it says EAGAIN; take says
 *                      EFULL so that EAGAIN always means "not yet"): post
 *                      again later;
 *   ONESTOP_ESTORE, ONESTOP_EPROTO, ONESTOP_ENOMEM, ONESTOP_EDECODE as for
 *   onestop_recv. */
int onestop_recv_take_sized(onestop_t *c, onestop_msg_t **msgs, size_t *n,
			    size_t msg_size) ONESTOP_WUR;
#define onestop_recv_take(c, msgs, n) \
	onestop_recv_take_sized((c), (msgs), (n), sizeof(onestop_msg_t))

/* ------------------------------------------------------------ */

/* Acknowledge (delete from the inbox) the messages with these seqs
 * (n 0..ONESTOP_MAX_BATCH; 0 does nothing and asks nothing), whichever
 * connection received them. Acking a seq that is no longer in the inbox is
 * not an error. Once acked, a message is never handed out again; until
 * then it may be (see onestop_recv's ordering guarantee). seqs is borrowed.
 * Errors:
 *   ONESTOP_EINVAL   c NULL, seqs NULL with n > 0, n over ONESTOP_MAX_BATCH;
 *   ONESTOP_ESTORE, ONESTOP_EFULL  the spoke could not update its inbox;
 *   and the request errors. */
int onestop_ack(onestop_t *c, const uint64_t *seqs, size_t n);

/* The spoke's state and counters, into the caller's *out (zeroed first on
 * success; left as it was on error). Errors:
 *   ONESTOP_EINVAL  c or out NULL;
 *   and the request errors. */
int onestop_status_sized(onestop_t *c, onestop_status_t *out, size_t out_size);
#define onestop_status(c, out) onestop_status_sized((c), (out), sizeof(onestop_status_t))

/* Decode the payload of a message whose type is ONESTOP_DEADLETTER_TYPE
 * into the caller's *out (zeroed on error). Fields too long for out's
 * arrays are cut. m is only read, and only its type, payload and len.
 * Errors:
 *   ONESTOP_EINVAL   m or out NULL, m of another type (or without one),
 *                    a NULL payload of nonzero len;
 *   ONESTOP_EDECODE  a malformed payload (not a DeadLetter, over 64 KiB,
 *                    an id that is not ONESTOP_ID_LEN bytes). */
int onestop_deadletter_sized(const onestop_msg_t *m, onestop_deadletter_t *out,
			     size_t out_size) ONESTOP_WUR;
#define onestop_deadletter(m, out) \
	onestop_deadletter_sized((m), (out), sizeof(onestop_deadletter_t))

/* ------------------------------------------------------------ datasets
 * Replicated datasets (docs/ARCHITECTURE.md "Shared datasets"): reads are
 * answered by the local spoke from its LMDB cache, and keep working while
 * the hub is unreachable (except a cached-mode miss, which needs the hub). */

#define ONESTOP_DS_IDENTITY "identity"
#define ONESTOP_DS_ITEMS "items"

#define ONESTOP_MODE_FULL 1
#define ONESTOP_MODE_CACHED 2

/* One entry. value holds the packed value (for "identity" and "items":
 * decode with onestop_identity_decode / onestop_item_decode). Pointers are
 * owned by the returned entry (or array) and valid until it is freed. */
typedef struct {
	const char *key;
	const uint8_t *value;
	size_t len;
	const char *publisher; /* node that signed the change */
	uint64_t seq;          /* dataset seq of that change */
	uint64_t updated_ms;   /* when the publisher signed it */
} onestop_entry_t;

/* Look key up in dataset. For a cached-mode dataset a miss is filled
 * through the hub, waiting up to wait_ms (0: the spoke's fetch_timeout_ms;
 * at most an hour); the call may take wait_ms plus the request timeout. On
 * success *out is an entry that the caller owns and frees with
 * onestop_entry_free; NULL on error. Errors:
 *   ONESTOP_EINVAL     c, dataset, key or out NULL, wait_ms negative, a
 *                      dataset that is not a name or a key that is not
 *                      1..256 printable ASCII characters (the spoke);
 *   ONESTOP_ENOTFOUND  no such entry (in a cached-mode dataset: not at the
 *                      hub either), or a dataset the registry does not
 *                      declare (the message says which);
 *   ONESTOP_ECONN      a cached-mode miss while the hub is unreachable
 *                      (or became unreachable while the spoke waited);
 *                      also the request error;
 *   ONESTOP_ETIMEDOUT  the hub did not answer a cached-mode miss within
 *                      the wait; also the request error;
 *   ONESTOP_EAGAIN     too many misses are waiting for the hub at the spoke;
 *   ONESTOP_EDECODE, ONESTOP_EBADSIG, ONESTOP_EUNKNOWN, ONESTOP_EREVOKED,
 *   ONESTOP_ENOTALLOWED, ONESTOP_EINVAL
 *                      the hub's answer to a cached-mode miss did not
 *                      verify at the spoke (the message says why); EDECODE
 *                      also for an entry in the spoke's store that does not
 *                      decode;
 *   ONESTOP_ESTORE, ONESTOP_ESTOREFULL  the spoke's store failed;
 *   and the request errors. */
int onestop_get_sized(onestop_t *c, const char *dataset, const char *key, int wait_ms,
		      onestop_entry_t **out, size_t entry_size);
#define onestop_get(c, dataset, key, wait_ms, out) \
	onestop_get_sized((c), (dataset), (key), (wait_ms), (out), sizeof(onestop_entry_t))
/* Free an entry from onestop_get and NULL *e (e or *e NULL: nothing
 * happens). */
void onestop_entry_free(onestop_entry_t **e);

/* Filters for onestop_list; zero fields do not filter. The item filters
 * apply to dataset "items" only. */
typedef struct {
	const char *owner;     /* items owned by this node */
	int online;            /* 0 any, 1 online items, 2 offline-only items */
	const char *search;    /* items whose name contains this text */
	const char *after_key; /* paging: start after this key */
	unsigned limit;        /* 0: 100; at most ONESTOP_MAX_BATCH */
} onestop_list_t;

/* List local entries of dataset in key order, filtered (filter NULL: no
 * filter, 100 entries; borrowed for the call). *entries is an array of *n
 * (possibly 0; then *entries is NULL) that the caller owns and frees with
 * onestop_entries_free; *next_key (if next_key is not NULL) is a malloc'd
 * key to pass as after_key for the next page, or NULL when there is no
 * more; the caller frees it with free(). On error *entries and *next_key
 * are NULL and *n 0. A page may hold fewer than limit entries and still
 * have a next one (the spoke bounds the bytes and the entries it scans).
 * Errors:
 *   ONESTOP_EINVAL     c, dataset, entries or n NULL, online outside 0..2,
 *                      limit over ONESTOP_MAX_BATCH, a dataset that is not
 *                      a name or an after_key that is not a key (the spoke);
 *   ONESTOP_ENOTFOUND  a dataset the registry does not declare;
 *   ONESTOP_ESTORE, ONESTOP_ESTOREFULL  the spoke's store failed;
 *   and the request errors. */
int onestop_list_sized(onestop_t *c, const char *dataset, const onestop_list_t *filter,
		       onestop_entry_t **entries, size_t *n, char **next_key, size_t filter_size,
		       size_t entry_size);
#define onestop_list(c, dataset, filter, entries, n, next_key)                   \
	onestop_list_sized((c), (dataset), (filter), (entries), (n), (next_key), \
			   sizeof(onestop_list_t), sizeof(onestop_entry_t))
/* Free what onestop_list returned and NULL *entries (entries or *entries
 * NULL: nothing happens). n is not used. */
void onestop_entries_free(onestop_entry_t **entries, size_t n);

/* A change to publish. value is a packed value (onestop_item_encode,
 * onestop_identity_encode, or opaque bytes for other datasets); ignored
 * when is_delete. */
typedef struct {
	const char *dataset;
	const char *key;
	int is_delete;
	const void *value;
	size_t len;
} onestop_put_t;

/* Publish n changes (1..ONESTOP_MAX_BATCH). The spoke checks them against
 * its registry, signs them and commits them to its outbox before returning
 * 0. The hub then sequences them; the change reaches every spoke's cache,
 * this one included. A change the hub refuses comes back as a dead letter.
 * ids (may be NULL) receives the change envelopes' ids (caller's array of
 * n); puts is borrowed for the call. On error none was accepted. Errors:
 *   ONESTOP_EINVAL       c or puts NULL, n outside 1..ONESTOP_MAX_BATCH, a
 *                        change without dataset or key or with a NULL
 *                        value of nonzero len; at the spoke: a dataset that
 *                        is not a name, a key that is not 1..256 printable
 *                        ASCII characters, a value that breaks the
 *                        dataset's schema (e.g. an offline-only item
 *                        without its reason; the message says which);
 *   ONESTOP_ENOTFOUND    a dataset the registry does not declare;
 *   ONESTOP_ENOTALLOWED  this node may not publish the dataset, or the
 *                        change is to an item another node owns;
 *   ONESTOP_ETOOBIG      a value over 64 KiB, or a request over 1 GiB;
 *   ONESTOP_EEXPIRED     the spoke's registry has expired;
 *   ONESTOP_EFULL        the spoke's outbox quota is exhausted (retry
 *                        later), or its store is full;
 *   ONESTOP_ESTORE       the spoke could not store or read its copy;
 *   and the request errors. */
int onestop_put_sized(onestop_t *c, const onestop_put_t *puts, size_t n,
		      uint8_t (*ids)[ONESTOP_ID_LEN], size_t put_size);
#define onestop_put(c, puts, n, ids) \
	onestop_put_sized((c), (puts), (n), (ids), sizeof(onestop_put_t))

typedef struct {
	char name[64];
	int mode;           /* ONESTOP_MODE_* */
	uint64_t seq;       /* last change applied locally */
	uint64_t count;     /* entries held locally */
	uint8_t digest[32]; /* BLAKE2b-256 of the entries held (PROTOCOL.md) */
	int syncing;        /* a snapshot is being received */
} onestop_dataset_t;

/* The datasets declared in the registry and where this spoke stands in
 * each. *out is an array of *n that the caller owns and frees with free()
 * (NULL when *n is 0, and on error). Errors:
 *   ONESTOP_EINVAL  c, out or n NULL;
 *   ONESTOP_ESTORE, ONESTOP_ESTOREFULL  the spoke's store failed;
 *   and the request errors. */
int onestop_datasets_sized(onestop_t *c, onestop_dataset_t **out, size_t *n, size_t dataset_size);
#define onestop_datasets(c, out, n) \
	onestop_datasets_sized((c), (out), (n), sizeof(onestop_dataset_t))

/* ------------------------------------------------------------ values */

#define ONESTOP_PERSON 1
#define ONESTOP_ENTERPRISE 2
#define ONESTOP_SUBJECT_ACTIVE 1
#define ONESTOP_SUBJECT_SUSPENDED 2
#define ONESTOP_SUBJECT_REVOKED 3
#define ONESTOP_SUBJECT_DECEASED 4

/* A value of dataset "identity". No raw personal data: the key is a
 * pseudonymous subject id. */
typedef struct {
	int kind;            /* ONESTOP_PERSON or ONESTOP_ENTERPRISE */
	unsigned level;      /* real-name level 1..3 */
	int status;          /* ONESTOP_SUBJECT_* */
	char authority[300]; /* issuing authority (node name) */
	uint64_t updated_ms;
} onestop_identity_t;

/* Pack v as an IdentityValue into a malloc'd buffer *out of *len bytes
 * that the caller frees with free() (NULL and 0 on error). The value is
 * packed as given; its schema (kind, level 1..3, status, authority a node
 * name) is checked by the spoke when it is published (onestop_put,
 * ONESTOP_EINVAL with the reason). Errors:
 *   ONESTOP_EINVAL  v, out or len NULL, v->authority without its NUL;
 *   ONESTOP_ENOMEM  out of memory. */
int onestop_identity_encode_sized(const onestop_identity_t *v, uint8_t **out, size_t *len,
				  size_t v_size);
#define onestop_identity_encode(v, out, len) \
	onestop_identity_encode_sized((v), (out), (len), sizeof(onestop_identity_t))
/* Unpack an IdentityValue (buf borrowed) into the caller's *out (zeroed
 * on error). Kinds and statuses unknown to this version are passed on as
 * their numbers. Errors:
 *   ONESTOP_EINVAL   out NULL, buf NULL with len > 0;
 *   ONESTOP_ETOOBIG  len over what a value may hold (64 KiB);
 *   ONESTOP_EDECODE  malformed bytes, or an authority too long for
 *                    out->authority. */
int onestop_identity_decode_sized(const uint8_t *buf, size_t len, onestop_identity_t *out,
				  size_t out_size) ONESTOP_WUR;
#define onestop_identity_decode(buf, len, out) \
	onestop_identity_decode_sized((buf), (len), (out), sizeof(onestop_identity_t))

typedef struct {
	const char *name;
	const char *shared_data; /* dataset replacing an upload, or NULL */
} onestop_material_t;

/* A value of dataset "items". Its materials grow only together with it:
 * the size passed for onestop_item_t stands for onestop_material_t too. */
typedef struct {
	const char *name;
	const char *owner; /* owning node; must be the publisher */
	const char *kind;
	int online; /* 0: offline-only, then offline_reason is required */
	const char *offline_reason;
	size_t n_materials;
	const onestop_material_t *materials;
	unsigned legal_days;    /* working days */
	unsigned promised_days; /* working days */
	uint64_t fee_cents;
	size_t n_regions;
	const char *const *regions;
	unsigned min_level; /* minimum real-name level 0..3 */
} onestop_item_t;

/* Encode v (borrowed) into a malloc'd buffer *out of *len bytes that the
 * caller frees with free() (NULL and 0 on error); NULL strings pack as ""
 * and an online item's offline_reason is left out. The value is packed as
 * given: the spoke checks the schema when it is published (onestop_put:
 * ONESTOP_EINVAL saying what is wrong, e.g. an offline-only item without
 * its reason), so every integrator gets the same refusal. Errors:
 *   ONESTOP_EINVAL   v, out or len NULL, a count without its array
 *                    (n_materials, n_regions) or over 64;
 *   ONESTOP_ETOOBIG  over 64 KiB packed;
 *   ONESTOP_ENOMEM   out of memory. */
int onestop_item_encode_sized(const onestop_item_t *v, uint8_t **out, size_t *len, size_t v_size);
#define onestop_item_encode(v, out, len) \
	onestop_item_encode_sized((v), (out), (len), sizeof(onestop_item_t))
/* Decode (buf borrowed) into a new onestop_item_t that owns its strings
 * and arrays (one allocation); the caller frees it with onestop_item_free.
 * *out is NULL on error. Absent strings are "" (a material's shared_data
 * is NULL when empty), empty lists have NULL arrays. Errors:
 *   ONESTOP_EINVAL   out NULL, buf NULL with len > 0;
 *   ONESTOP_ETOOBIG  len over what a value may hold (64 KiB);
 *   ONESTOP_EDECODE  malformed bytes, more than 64 materials or regions;
 *   ONESTOP_ENOMEM   out of memory. */
int onestop_item_decode_sized(const uint8_t *buf, size_t len, onestop_item_t **out,
			      size_t item_size) ONESTOP_WUR;
#define onestop_item_decode(buf, len, out) \
	onestop_item_decode_sized((buf), (len), (out), sizeof(onestop_item_t))
/* Free an item from onestop_item_decode and NULL *v (v or *v NULL:
 * nothing happens). */
void onestop_item_free(onestop_item_t **v);

/* ------------------------------------------------------------ real-name SSO */

typedef struct {
	char issuer[300];
	char subject[257];
	unsigned level;
	char audience[300]; /* "" when for any audience */
	uint64_t issued_ms;
	uint64_t expires_ms;
} onestop_assertion_t;

/* Issue an assertion (the local spoke must have role idp) for subject at
 * level 1..3, for audience (the node that will verify it; NULL or "": any,
 * which verifiers refuse unless configured to accept it), valid ttl_s
 * seconds (0: 600, or the spoke's assertion_max_validity_s when lower).
 * *out is a malloc'd packed SignedAssertion of *len bytes that the caller
 * frees with free() (NULL and 0 on error). Errors:
 *   ONESTOP_EINVAL       c, subject, out or len NULL, subject "", level
 *                        outside 1..3; at the spoke: a subject that is not
 *                        a key, an audience that is not a node name, a ttl
 *                        over the spoke's assertion_max_validity_s;
 *   ONESTOP_ENOTALLOWED  the spoke's node is not an active idp;
 *   ONESTOP_EEXPIRED     the spoke's registry has expired;
 *   and the request errors. */
int onestop_assert_issue(onestop_t *c, const char *subject, unsigned level, const char *audience,
			 unsigned ttl_s, uint8_t **out, size_t *len);

/* Verify an assertion (borrowed) at the local spoke, with no call to the
 * hub except to fill a missing identity entry of a cached-mode identity
 * dataset. The spoke verifies for itself only: the assertion's audience
 * must be the spoke's node name (an empty audience only when the spoke's
 * assertion_any_audience is set), and audience must be NULL, "" or that
 * name. Its validity (expires - issued) must not exceed the spoke's
 * assertion_max_validity_s. This call does not spend the assertion: it
 * verifies any number of times until it expires (a check, e.g. before
 * showing a page); to act on it once (filing a case), use
 * onestop_assert_verify_once. out (may be NULL) receives the verified
 * assertion on success (zeroed on failure).
 * onestop_last_error names the reason of a refusal. Errors, in the order
 * checked:
 *   ONESTOP_EINVAL     c NULL, assertion NULL or len 0;
 *   ONESTOP_ETOOBIG    len over 4096 (here or at the spoke);
 *   ONESTOP_EDECODE    not a SignedAssertion;
 *   ONESTOP_EISSUER    the issuer is not an active idp in the registry;
 *   ONESTOP_EBADSIG    key version or signature does not verify;
 *   ONESTOP_EEXPIRED   issued in the future, expired, or valid for longer
 *                      than the spoke's assertion_max_validity_s;
 *   ONESTOP_EAUDIENCE  issued for another node or for none, or audience
 *                      names another node;
 *   ONESTOP_ESUBJECT   subject unknown or not active;
 *   ONESTOP_ELEVEL     level above the subject's, or below min_level;
 *   filling the subject's identity from the hub: ONESTOP_ECONN,
 *   ONESTOP_ETIMEDOUT, ONESTOP_EAGAIN, ONESTOP_ENOTFOUND (the dataset is
 *   no longer declared) and the hub's answer refused (ONESTOP_EDECODE,
 *   ONESTOP_EBADSIG, ONESTOP_EUNKNOWN, ONESTOP_EREVOKED,
 *   ONESTOP_ENOTALLOWED, ONESTOP_EINVAL), as for onestop_get;
 *   ONESTOP_ESTORE, ONESTOP_ESTOREFULL  the spoke's store failed;
 *   and the request errors. */
int onestop_assert_verify_sized(onestop_t *c, const uint8_t *assertion, size_t len,
				unsigned min_level, const char *audience, onestop_assertion_t *out,
				size_t out_size) ONESTOP_WUR;
#define onestop_assert_verify(c, assertion, len, min_level, audience, out)                   \
	onestop_assert_verify_sized((c), (assertion), (len), (min_level), (audience), (out), \
				    sizeof(onestop_assertion_t))

/* Verify and spend an assertion: as onestop_assert_verify (for this
 * spoke's node), and the spoke records its nonce durably before it
 * answers, until the assertion expires, so that it succeeds once. The
 * nonce is spent once the assertion itself verifies (issuer, signature,
 * validity, audience), before the subject's identity is checked: a refusal
 * for the subject or level spends it too. Errors as onestop_assert_verify,
 * and ONESTOP_EREPLAY: it was spent before at this spoke. */
int onestop_assert_verify_once_sized(onestop_t *c, const uint8_t *assertion, size_t len,
				     unsigned min_level, const char *audience,
				     onestop_assertion_t *out, size_t out_size) ONESTOP_WUR;
#define onestop_assert_verify_once(c, assertion, len, min_level, audience, out)                   \
	onestop_assert_verify_once_sized((c), (assertion), (len), (min_level), (audience), (out), \
					 sizeof(onestop_assertion_t))

/* ------------------------------------------------------------ cases
 * One-stop cases (docs/PROTOCOL.md section 11): an application for one
 * item, filed at any spoke and handled by the item's owning node; both
 * spokes keep the case and its history, so each answers these calls
 * locally, also while the hub is away. */

#define ONESTOP_DS_LICENCES "licences"
#define ONESTOP_CASE_TYPE "onestop.Case" /* type of the messages apps are told by */

/* The numbers are those of CaseState, CaseAction, CaseOutcome and
 * CaseChannel in proto/onestop.proto. */
enum {
	ONESTOP_CASE_NEW = 0,
	ONESTOP_CASE_FILED = 1,
	ONESTOP_CASE_ACCEPTED = 2,
	ONESTOP_CASE_REJECTED = 3,
	ONESTOP_CASE_MORE_NEEDED = 4,
	ONESTOP_CASE_RESUBMITTED = 5,
	ONESTOP_CASE_DECIDED = 6,
	ONESTOP_CASE_CLOSED = 7,
	ONESTOP_CASE_WITHDRAWN = 8,
};
enum {
	ONESTOP_ACT_FILE = 1,
	ONESTOP_ACT_ACCEPT = 2,
	ONESTOP_ACT_REJECT = 3,
	ONESTOP_ACT_NEED_MORE = 4,
	ONESTOP_ACT_RESUBMIT = 5,
	ONESTOP_ACT_DECIDE = 6,
	ONESTOP_ACT_CLOSE = 7,
	ONESTOP_ACT_WITHDRAW = 8,
};
enum { ONESTOP_OUTCOME_NONE = 0, ONESTOP_APPROVED = 1, ONESTOP_DENIED = 2 };
enum {
	ONESTOP_CHANNEL_NONE = 0,
	ONESTOP_CHANNEL_WEB = 1,
	ONESTOP_CHANNEL_MOBILE = 2,
	ONESTOP_CHANNEL_HALL = 3,
	ONESTOP_CHANNEL_HOTLINE = 4,
};

/* A material given by reference to shared data: entry key of dataset
 * (e.g. {"licences", "LIC-..."} or {"identity", subject}); name, the item's
 * material it stands for, may be NULL or "" (matched by dataset). */
typedef struct {
	const char *dataset;
	const char *key;
	const char *name;
} onestop_case_ref_t;

/* A document given in clear; the spoke seals it to the owning node. */
typedef struct {
	const char *name; /* the item's material name it supplies */
	const uint8_t *data;
	size_t len;
} onestop_case_upload_t;

/* What onestop_case_file files; everything borrowed for the call. */
typedef struct {
	const char *item;         /* national item code (key in "items") */
	const uint8_t *assertion; /* the applicant's packed SignedAssertion */
	size_t assertion_len;     /* (it is spent: single use at this spoke) */
	int channel;              /* ONESTOP_CHANNEL_* */
	const uint8_t *form;      /* form data in the item's schema, or NULL */
	size_t form_len;
	const onestop_case_ref_t *refs;
	size_t n_refs;
	const onestop_case_upload_t *uploads;
	size_t n_uploads;
	const uint8_t *key; /* idempotency key (0..128 bytes) or NULL */
	size_t key_len;
} onestop_case_filing_t;

/* File a case at the local spoke: the filing checks (section 11) run there,
 * then the case is stored, in state filed, and queued for its owner (also
 * while the hub is away). id receives its ONESTOP_ID_LEN bytes. A retry
 * with the same key within the spoke's send_key_window_s answers the same
 * id and files nothing. Before the filing, each reference is looked up
 * with onestop_get (wait_ms 0), so that an entry of a cached-mode dataset
 * (a licence) the spoke does not hold yet is filled through the hub; the
 * outcome of these lookups is ignored: a reference that does not resolve
 * is refused by the filing itself with its precise code. Errors:
 * ONESTOP_EINVAL (a malformed request, the message names the field),
 * ONESTOP_ETOOBIG (an assertion over 4096 bytes), ONESTOP_ENOTFOUND (no
 * such item, or a reference that does not resolve, named dataset:key),
 * ONESTOP_EOFFLINE (offline-only item: the message gives its reason and
 * owner), the assertion's codes (ONESTOP_EBADSIG, ONESTOP_EEXPIRED,
 * ONESTOP_EAUDIENCE, ONESTOP_EREPLAY, ...), ONESTOP_ELEVEL,
 * ONESTOP_EMATERIAL (lists the missing materials), the licence codes of
 * onestop_licence_verify for a licence reference, ONESTOP_EFULL (the
 * outbox is full), ONESTOP_EEXIST (the key was given to another filing),
 * and the request errors. */
int onestop_case_file_sized(onestop_t *c, const onestop_case_filing_t *f,
			    uint8_t id[ONESTOP_ID_LEN], size_t f_size);
#define onestop_case_file(c, f, id) \
	onestop_case_file_sized((c), (f), (id), sizeof(onestop_case_filing_t))

/* A transition to make; everything borrowed for the call. */
typedef struct {
	int action;                 /* ONESTOP_ACT_*, not FILE */
	const char *reason;         /* REJECT, DECIDE, WITHDRAW: readable text */
	const char *const *missing; /* NEED_MORE: names of missing materials */
	size_t n_missing;
	int outcome;                    /* DECIDE: ONESTOP_APPROVED or ONESTOP_DENIED */
	const onestop_case_ref_t *refs; /* RESUBMIT: materials added */
	size_t n_refs;
	const onestop_case_upload_t *uploads; /* RESUBMIT: documents added */
	size_t n_uploads;
	unsigned licence_days; /* DECIDE approved: licence validity, 0 no end */
} onestop_case_act_t;

/* What a transition did. */
typedef struct {
	uint64_t seq;      /* the version of the case it makes */
	int pending;       /* 1: a filing node's step, applied when the owner answers */
	char licence[257]; /* the e-licence an approval issued, or "" */
} onestop_case_acted_t;

/* Make transition a on case id at the local spoke, which must be the node
 * allowed to make it (the owner: accept, reject, need_more, decide, close;
 * the filing node: resubmit, withdraw). An owner's step is applied at once
 * and sent to the filing node; a filing node's step is sent to the owner
 * and applied at both ends when the owner has applied it (out->pending).
 * The references a resubmission adds are looked up first (a cached-mode
 * miss is filled through the hub). An ACCEPT refused because the spoke
 * does not hold a licence the case refers to is asked once more after
 * the case's licences were looked up. out may be NULL. Errors:
 * ONESTOP_EINVAL, ONESTOP_ENOTFOUND (no such case here, or a licence of
 * the case that is nowhere), ONESTOP_ENOTALLOWED (this node may not make
 * the action), ONESTOP_ESTATE (not from the case's state), ONESTOP_EAGAIN
 * (a step of this node waits for the owner), the licence codes (an ACCEPT
 * whose licence material no longer verifies: ONESTOP_EISSUER,
 * ONESTOP_EREVOKED, ONESTOP_EEXPIRED, ONESTOP_ESUBJECT), ONESTOP_EFULL,
 * and the request errors. */
int onestop_case_act_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN],
			   const onestop_case_act_t *a, onestop_case_acted_t *out, size_t a_size,
			   size_t out_size);
#define onestop_case_act(c, id, a, out)                                           \
	onestop_case_act_sized((c), (id), (a), (out), sizeof(onestop_case_act_t), \
			       sizeof(onestop_case_acted_t))

/* One transition of a case's history. */
typedef struct {
	uint64_t seq;
	uint64_t at_ms; /* at the actor */
	const char *actor;
	int action;
	int outcome;
	const char *reason;
	const char *const *missing;
	size_t n_missing;
	const char *licence;
} onestop_case_step_t;

/* A case as a spoke keeps it. Strings are "" when absent; pointers are
 * owned by the case (or the array) and valid until it is freed. history,
 * refs, form and uploads are filled by onestop_case_get only (form and
 * uploads at the owning spoke only, opened). */
typedef struct {
	uint8_t id[ONESTOP_ID_LEN];
	const char *item;
	const char *applicant;
	int channel;
	const char *filed_by;
	const char *owner;
	int state;   /* ONESTOP_CASE_* */
	int outcome; /* ONESTOP_OUTCOME_NONE until decided */
	uint64_t seq;
	uint64_t filed_ms;
	uint64_t accepted_ms;     /* 0 until accepted */
	uint64_t promised_due_ms; /* 0 until accepted */
	uint64_t legal_due_ms;    /* 0 until accepted */
	int overdue;              /* open and past its promised due date */
	const char *licence;      /* issued by its approval, or "" */
	int pending;              /* filing node: its step waiting for the owner, or 0 */
	const onestop_case_step_t *history;
	size_t n_history;
	const onestop_case_ref_t *refs;
	size_t n_refs;
	const uint8_t *form;
	size_t form_len;
	const onestop_case_upload_t *uploads;
	size_t n_uploads;
} onestop_case_t;

/* Read case id at the local spoke into *out, which the caller frees with
 * onestop_case_free (NULL on error). Errors: ONESTOP_EINVAL,
 * ONESTOP_ENOTFOUND (this spoke is no party to such a case), and the
 * request errors. */
int onestop_case_get_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN], onestop_case_t **out,
			   size_t case_size);
#define onestop_case_get(c, id, out) \
	onestop_case_get_sized((c), (id), (out), sizeof(onestop_case_t))
void onestop_case_free(onestop_case_t **cs);

/* Which cases onestop_case_list lists: by state (by_state set), by item
 * (item non-NULL and non-empty), or overdue (open, past the promised due
 * date, by due date); exactly one of the three. */
typedef struct {
	int by_state;
	int state;
	const char *item;
	int overdue;
	const uint8_t *after_id; /* paging: start after this case, or NULL */
	unsigned limit;          /* 0: 100; at most ONESTOP_MAX_BATCH */
} onestop_case_filter_t;

/* List the cases this spoke is party to, per f (borrowed). *cases is an
 * array of *n (NULL when 0) that the caller frees with onestop_cases_free;
 * *more is 1 when more follow, and next then holds the id to pass as
 * after_id. Errors: ONESTOP_EINVAL (no filter or more than one, a limit
 * over ONESTOP_MAX_BATCH), ONESTOP_ENOTFOUND (an overdue after_id that is
 * no case), and the request errors. */
int onestop_case_list_sized(onestop_t *c, const onestop_case_filter_t *f, onestop_case_t **cases,
			    size_t *n, uint8_t next[ONESTOP_ID_LEN], int *more, size_t filter_size,
			    size_t case_size);
#define onestop_case_list(c, f, cases, n, next, more)                   \
	onestop_case_list_sized((c), (f), (cases), (n), (next), (more), \
				sizeof(onestop_case_filter_t), sizeof(onestop_case_t))
void onestop_cases_free(onestop_case_t **cases, size_t n);

/* An e-licence: a value of dataset "licences" (key: its number). */
typedef struct {
	char number[257];
	char item[257];
	char holder[257];
	char issuer[64];
	char publisher[64]; /* the node that signed the entry */
	uint64_t valid_from_ms;
	uint64_t valid_until_ms; /* 0: no end */
	int revoked;
} onestop_licence_t;

/* Verify licence number at the local spoke (a licence it does not hold is
 * fetched through the hub with onestop_get, wait_ms 0, and verified
 * again): its entry is signed by its issuer, the issuer owns the item,
 * it is active and within its validity now, and, when holder is neither
 * NULL nor "", held by holder. out (may be NULL) receives it, also on the
 * licence errors. Errors: ONESTOP_ENOTFOUND (no such licence),
 * ONESTOP_EISSUER (forged: the publisher is not its issuer, or the issuer
 * does not own its item), ONESTOP_EREVOKED, ONESTOP_EEXPIRED (also not
 * yet valid), ONESTOP_ESUBJECT (held by another subject), ONESTOP_EDECODE,
 * and the request errors. */
int onestop_licence_verify_sized(onestop_t *c, const char *number, const char *holder,
				 onestop_licence_t *out, size_t out_size);
#define onestop_licence_verify(c, number, holder, out) \
	onestop_licence_verify_sized((c), (number), (holder), (out), sizeof(onestop_licence_t))

/* Pack v as a LicenceValue, the value of a "licences" entry (for an
 * issuer's Put, e.g. a revocation): status ACTIVE, or REVOKED when
 * v->revoked; v->publisher is not part of the value. No spoke is involved:
 * the spoke checks the value when it is published. *out is malloc'd, of
 * *len bytes, and the caller frees it with free() (NULL and 0 on error).
 * Errors: ONESTOP_EINVAL (v, out or len NULL, a string of v that fills its
 * array without a NUL), ONESTOP_ENOMEM. */
int onestop_licence_encode_sized(const onestop_licence_t *v, uint8_t **out, size_t *len,
				 size_t v_size);
#define onestop_licence_encode(v, out, len) \
	onestop_licence_encode_sized((v), (out), (len), sizeof(onestop_licence_t))

/* Decode a packed LicenceValue (buf, len bytes, borrowed; e.g. the value
 * of an entry onestop_get returned) into *out: publisher is "" (it is the
 * entry's, not the value's) and revoked is 1 for any status but ACTIVE.
 * *out is zeroed on error. Errors: ONESTOP_EINVAL (out NULL, buf NULL with
 * len > 0), ONESTOP_ETOOBIG (len over 64 KiB), ONESTOP_EDECODE (not a
 * LicenceValue, or a string longer than its array in onestop_licence_t). */
int onestop_licence_decode_sized(const uint8_t *buf, size_t len, onestop_licence_t *out,
				 size_t out_size);
#define onestop_licence_decode(buf, len, out) \
	onestop_licence_decode_sized((buf), (len), (out), sizeof(onestop_licence_t))

/* ------------------------------------------------------------ supervision */

/* The figures of one key (an item code, an owning node or a region) at a
 * supervisor node, over a period of event days and, for open and overdue,
 * now. Rates and shares are 0..1 (0 without a denominator). */
typedef struct {
	char key[300];
	uint64_t filed, accepted, rejected, approved, denied, decided, withdrawn;
	double on_time_promised_rate, on_time_legal_rate; /* of decisions with that due date */
	double mean_days;                                 /* working days, filing to decision */
	unsigned p90_days;
	uint64_t open, overdue;
	double online_share, hall_share; /* of filed: web and mobile; hall */
	/* Complaints and evaluations (the owner dimension counts a complaint
	 * under its handler). */
	uint64_t complaints, consultations; /* filed in the period */
	uint64_t answered;                  /* first answers in the period */
	double mean_response_hours;         /* filing to first answer, of those */
	uint64_t evaluations;
	double mean_score; /* 1..5, 0 without evaluations */
	double hotline_share;
	int p90_capped; /* p90_days is 63: the true p90 is 63 or more */
} onestop_stats_row_t;

/* At a spoke whose node has role supervisor and subscribes to
 * @supervision: the figures of the case events it counted, one row per
 * key of dimension by ("item", "owner" or "region"), in key order, over
 * the days [from, to) (YYYY-MM-DD in the spoke's calendar; NULL or "":
 * from the start, to after today). *rows is an array of *n that the
 * caller frees with free() (NULL when *n is 0, and on error). Errors:
 * ONESTOP_EINVAL (a NULL argument, another dimension, a malformed date),
 * and the request errors. A node that counts nothing answers no rows. */
int onestop_stats_sized(onestop_t *c, const char *by, const char *from, const char *to,
			onestop_stats_row_t **rows, size_t *n, size_t row_size);
#define onestop_stats(c, by, from, to, rows, n) \
	onestop_stats_sized((c), (by), (from), (to), (rows), (n), sizeof(onestop_stats_row_t))

/* At a supervisor node's spoke: recount every event it stored, from
 * scratch, into new records (committed before the call returns), so that
 * the figures are rebuilt from the stored events alone. 0, or
 * ONESTOP_ENOTALLOWED (the node has no role supervisor), the spoke's store
 * errors, and the request errors. */
int onestop_stats_rebuild(onestop_t *c);

/* Approvals of market kinds (licence, permit, registration) of one
 * region and kind on one day, at a supervisor node, with the market rule:
 * flagged when approved lies outside mean +- 3 sigma of the 28 days
 * before (docs/PROTOCOL.md 12.3). */
typedef struct {
	char region[64];
	char kind[16];
	char day[11]; /* YYYY-MM-DD */
	uint64_t approved;
	double mean, sigma; /* of the 28 days before */
	int flagged;
	int history; /* 28 days of history before the day existed */
} onestop_market_row_t;

/* At a supervisor node: one row per (region, kind, day) for the days
 * last days up to today (0: 28; at most 366), for region and kind (NULL
 * or "": every one), ordered by region, kind and day. *rows as
 * onestop_stats. Errors: ONESTOP_EINVAL, and the request errors. */
int onestop_market_sized(onestop_t *c, const char *region, const char *kind, unsigned days,
			 onestop_market_row_t **rows, size_t *n, size_t row_size);
#define onestop_market(c, region, kind, days, rows, n)                   \
	onestop_market_sized((c), (region), (kind), (days), (rows), (n), \
			     sizeof(onestop_market_row_t))

/* ------------------------------------------------------------ evaluations
 * The applicant rates a decided case once (docs/PROTOCOL.md 12.1), at any
 * node. */

#define ONESTOP_EVALUATION_TYPE "onestop.Evaluation" /* type apps are told by */

typedef struct {
	unsigned score;           /* 1..5 */
	const char *comment;      /* NULL or "" for none; at most 2000 bytes */
	const uint8_t *assertion; /* the applicant's packed SignedAssertion (spent) */
	size_t assertion_len;
	int channel; /* ONESTOP_CHANNEL_* */
	/* At a spoke that holds no copy of the case (a web, mobile or hotline
	 * node): the case's owning node, which the applicant was told; NULL
	 * or "" elsewhere (ignored where the case is held). */
	const char *owner;
} onestop_rating_t;

/* Rate case id at any spoke: at the owning node the rating is recorded at
 * once; at the filing node it is checked against the case and sent to the
 * owner; at a node that holds no copy of the case, r->owner names the
 * owner it is sent to (the owner checks everything). When sent (*pending
 * = 1; pending may be NULL) the owner's answer reaches the apps as an
 * Incoming of type ONESTOP_EVALUATION_TYPE. Errors: ONESTOP_EINVAL
 * (score, comment, channel, owner), ONESTOP_ENOTFOUND (this spoke holds no
 * such case and no owner was given), ONESTOP_EUNKNOWN / ONESTOP_EREVOKED
 * (the owner given is no active node), the assertion's codes,
 * ONESTOP_ESUBJECT (the subject is not the case's applicant),
 * ONESTOP_ESTATE (not decided), ONESTOP_EEXIST (rated before, or a rating
 * of it waits for the owner's answer), ONESTOP_EFULL, and the request
 * errors. */
int onestop_case_rate_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN],
			    const onestop_rating_t *r, int *pending, size_t r_size);
#define onestop_case_rate(c, id, r, pending) \
	onestop_case_rate_sized((c), (id), (r), (pending), sizeof(onestop_rating_t))

/* ------------------------------------------------------------ complaints
 * Complaints (to the region's supervisor) and consultations (to the
 * item's owner), docs/PROTOCOL.md 12.2: filed at any node, tracked at
 * every party like a case. */

#define ONESTOP_COMPLAINT_TYPE "onestop.Complaint" /* type apps are told by */

/* The numbers are those of ComplaintKind, ComplaintState and
 * ComplaintAction in proto/onestop.proto. */
enum { ONESTOP_COMPLAINT = 1, ONESTOP_CONSULTATION = 2 };
enum {
	ONESTOP_CP_RECEIVED = 1,
	ONESTOP_CP_ASSIGNED = 2,
	ONESTOP_CP_ANSWERED = 3,
	ONESTOP_CP_CLOSED = 4,
	ONESTOP_CP_REOPENED = 5,
};
enum {
	ONESTOP_CP_FILE = 1,
	ONESTOP_CP_ASSIGN = 2,
	ONESTOP_CP_ANSWER = 3,
	ONESTOP_CP_CLOSE = 4,
	ONESTOP_CP_REOPEN = 5,
};

/* What onestop_complaint_file files; borrowed for the call. */
typedef struct {
	int kind;            /* ONESTOP_COMPLAINT or ONESTOP_CONSULTATION */
	const char *about;   /* "case:<32 hex>", "item:<code>", "node:<name>" */
	const uint8_t *text; /* 1..4000 bytes, sealed to the handler */
	size_t text_len;
	const uint8_t *assertion; /* packed SignedAssertion (spent); NULL only for */
	size_t assertion_len;     /* an anonymous consultation */
	int channel;              /* ONESTOP_CHANNEL_* */
	const uint8_t *key;       /* idempotency key (0..128 bytes) or NULL */
	size_t key_len;
} onestop_complaint_filing_t;

/* File at the local spoke: stored (state received) and sent to the
 * handler, which handler (may be NULL; room for 64 bytes) names. Errors:
 * ONESTOP_EINVAL (kind, about, text), the assertion's codes,
 * ONESTOP_ENOTFOUND (no such item or case here, or no supervisor for the
 * region), ONESTOP_EFULL, ONESTOP_EEXIST (the key was given to another
 * filing), and the request errors. */
int onestop_complaint_file_sized(onestop_t *c, const onestop_complaint_filing_t *f,
				 uint8_t id[ONESTOP_ID_LEN], char *handler, size_t f_size);
#define onestop_complaint_file(c, f, id, handler) \
	onestop_complaint_file_sized((c), (f), (id), (handler), sizeof(onestop_complaint_filing_t))

/* Make step action (ONESTOP_CP_ASSIGN with assignee, ANSWER with answer,
 * CLOSE, REOPEN; reason may be NULL) on complaint id at the local spoke.
 * The handler's steps apply at once; another party's are sent to the
 * handler (*pending = 1). *seq (may be NULL) gets the version. Errors:
 * ONESTOP_EINVAL, ONESTOP_ENOTFOUND, ONESTOP_ENOTALLOWED,
 * ONESTOP_ESTATE, ONESTOP_EAGAIN (a step of this node waits), ONESTOP_EFULL
 * and the request errors. */
int onestop_complaint_act(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN], int action,
			  const char *assignee, const uint8_t *answer, size_t answer_len,
			  const char *reason, uint64_t *seq, int *pending);

typedef struct {
	uint64_t seq;
	uint64_t at_ms;
	const char *actor;
	int action;
	const char *assignee;
	const char *reason;
	const uint8_t *answer; /* at the filing node: opened; else NULL */
	size_t answer_len;
} onestop_complaint_step_t;

/* A complaint as a spoke keeps it; strings "" when absent, owned by it. */
typedef struct {
	uint8_t id[ONESTOP_ID_LEN];
	int kind;
	const char *about;
	const char *filed_by;
	const char *handler;
	const char *region;
	const char *assignee;
	int state; /* ONESTOP_CP_* state */
	uint64_t seq;
	uint64_t filed_ms;
	uint64_t due_ms; /* while an answer is awaited; else 0 */
	int overdue;
	int pending; /* this node's step waiting for the handler, or 0 */
	unsigned reopened;
	int channel;
	int anonymous;
	const onestop_complaint_step_t *history; /* onestop_complaint_get only */
	size_t n_history;
	const uint8_t *text; /* get at the handler or assignee: opened */
	size_t text_len;
} onestop_complaint_t;

int onestop_complaint_get_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN],
				onestop_complaint_t **out, size_t size);
#define onestop_complaint_get(c, id, out) \
	onestop_complaint_get_sized((c), (id), (out), sizeof(onestop_complaint_t))
void onestop_complaint_free(onestop_complaint_t **cp);

/* List the complaints this spoke is party to: all (by_state 0, overdue
 * 0), by state, or overdue (awaiting an answer past the deadline, by
 * deadline). Paging and freeing as onestop_case_list. */
typedef struct {
	int by_state;
	int state;
	int overdue;
	const uint8_t *after_id;
	unsigned limit; /* 0: 100; at most ONESTOP_MAX_BATCH */
} onestop_complaint_filter_t;
int onestop_complaint_list_sized(onestop_t *c, const onestop_complaint_filter_t *f,
				 onestop_complaint_t **out, size_t *n, uint8_t next[ONESTOP_ID_LEN],
				 int *more, size_t filter_size, size_t size);
#define onestop_complaint_list(c, f, out, n, next, more)                   \
	onestop_complaint_list_sized((c), (f), (out), (n), (next), (more), \
				     sizeof(onestop_complaint_filter_t),   \
				     sizeof(onestop_complaint_t))
void onestop_complaints_free(onestop_complaint_t **cps, size_t n);

/* "received", "assign", "consultation", ... and back (0 or ONESTOP_EINVAL). */
const char *onestop_complaint_state_name(int state);
const char *onestop_complaint_action_name(int action);
const char *onestop_complaint_kind_name(int kind);
int onestop_complaint_action_parse(const char *name, int *out);
int onestop_complaint_state_parse(const char *name, int *out);

/* Names as the CLI prints them ("filed", "need_more", "approved", "hall",
 * ...) and back: 0 or ONESTOP_EINVAL. Static strings, "unknown" for a
 * value out of range. */
const char *onestop_case_state_name(int state);
const char *onestop_case_action_name(int action);
const char *onestop_case_outcome_name(int outcome);
const char *onestop_channel_name(int channel);
int onestop_case_state_parse(const char *name, int *out);
int onestop_case_action_parse(const char *name, int *out);
int onestop_channel_parse(const char *name, int *out);

/* Text of an error code; static, never NULL. */
const char *onestop_strerror(int code);

/* The spoke's message for the last failed call on c (or the library's own
 * explanation when the failure was local), "" after a successful call or
 * for c NULL. Owned by c; valid until the next call on c. */
const char *onestop_last_error(const onestop_t *c);

#ifdef __cplusplus
}
#endif
#endif
