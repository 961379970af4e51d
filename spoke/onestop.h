/* libonestop: the integrator API of OneStop. An application connects to its
 * local spoke over the spoke's API socket (ipc:// or loopback tcp://) and
 * sends, receives and acknowledges signed messages. The spoke does the
 * signing, the durable outbox and inbox, and the link to the hub.
 *
 * Error convention: every function returning int returns 0 or a negative
 * ONESTOP_E* code; onestop_strerror() gives its text and
 * onestop_last_error() the spoke's own message for the last failed call.
 * A connection is not thread-safe: use one per thread. */
#ifndef ONESTOP_H
#define ONESTOP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
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

#define ONESTOP_ID_LEN 16
/* Most messages one onestop_send, onestop_recv or onestop_ack handles. */
#define ONESTOP_MAX_BATCH 10000
#define ONESTOP_DEADLETTER_TYPE "onestop.DeadLetter"
/* Default API endpoint; the ONESTOP_API environment variable overrides it
 * wherever the CLI takes --api. */
#define ONESTOP_DEFAULT_API "ipc:///run/onestop/spoke.sock"

typedef struct onestop onestop_t;

/* A message to send. `to` is a node name ("gd.sz.market") or a topic
 * ("@supervision"); `type` names the message type; ttl_s 0 uses the
 * spoke's default lifetime. Borrowed for the duration of the call. */
typedef struct {
	const char *to;
	const char *type;
	const void *payload;
	size_t len;
	uint32_t ttl_s;
} onestop_out_t;

/* A received message. All pointers are owned by the array returned from
 * onestop_recv and valid until onestop_msgs_free. */
typedef struct {
	uint64_t seq;                 /* inbox sequence; pass to onestop_ack */
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
	uint64_t outbox;              /* waiting for the hub */
	uint64_t inbox;               /* waiting for apps */
	uint64_t registry_version;
	uint64_t registry_expires_ms;
	uint64_t sent;
	uint64_t received;
} onestop_status_t;

typedef struct {
	uint8_t id[ONESTOP_ID_LEN];   /* the refused message's id */
	int has_id;
	char to[300];
	char type[129];
	int code;                     /* ONESTOP_E* */
	char reason[256];
	char refused_by[300];
} onestop_deadletter_t;

/* Connect to the spoke at endpoint (NULL or "": $ONESTOP_API, else
 * ONESTOP_DEFAULT_API). timeout_ms bounds every later request (0: 10 s).
 * Connecting does not wait for the spoke; the first request does.
 * A request that gets no reply in time returns ONESTOP_ETIMEDOUT and the
 * connection is re-established, so a late reply cannot answer a later
 * request; the abandoned request may still have been carried out.
 * On success *out is a handle to free with onestop_close. ONESTOP_EINVAL
 * for a malformed endpoint or a negative timeout. */
int onestop_connect(const char *endpoint, int timeout_ms, onestop_t **out);

/* Close the connection and NULL *c (NULL allowed). */
void onestop_close(onestop_t **c);

/* Send n messages (1..ONESTOP_MAX_BATCH) in one request. Returns 0 only
 * after the spoke has committed all of them to its durable outbox; from
 * then on they will be delivered (or come back as dead letters) even if
 * any daemon crashes. ids (may be NULL) receives n message ids. On error
 * none was accepted (but see ONESTOP_ETIMEDOUT under onestop_connect). */
int onestop_send(onestop_t *c, const onestop_out_t *msgs, size_t n,
		 uint8_t (*ids)[ONESTOP_ID_LEN]);

/* Receive up to max messages (1..ONESTOP_MAX_BATCH), waiting up to wait_ms
 * for the first (0: do not wait); the call itself may take wait_ms plus
 * the request timeout. *msgs is an array of *n messages (possibly 0; then
 * *msgs is NULL), freed with onestop_msgs_free. Messages stay in the inbox
 * until acked; unacked ones are handed out again after the spoke's lease
 * (30 s) or a spoke restart, so an app sees a message again only if it
 * did not ack. */
int onestop_recv(onestop_t *c, size_t max, int wait_ms, onestop_msg_t **msgs,
		 size_t *n);

/* Free what onestop_recv returned and NULL *msgs (NULL allowed). */
void onestop_msgs_free(onestop_msg_t **msgs, size_t n);

/* Acknowledge (delete from the inbox) the messages with these seqs
 * (n 0..ONESTOP_MAX_BATCH; 0 does nothing). Acking a seq that is no
 * longer in the inbox is not an error. */
int onestop_ack(onestop_t *c, const uint64_t *seqs, size_t n);

/* The spoke's state and counters, into *out. */
int onestop_status(onestop_t *c, onestop_status_t *out);

/* Decode the payload of a message whose type is ONESTOP_DEADLETTER_TYPE
 * into *out (a reason too long for out->reason is cut). 0, ONESTOP_EINVAL
 * (another type) or ONESTOP_EDECODE (malformed payload). */
int onestop_deadletter(const onestop_msg_t *m, onestop_deadletter_t *out);

/* Text of an error code; static, never NULL. */
const char *onestop_strerror(int code);

/* The spoke's message for the last failed call on c (or the library's own
 * explanation when the failure was local), "" after a successful call or
 * for c NULL; valid until the next call on c. */
const char *onestop_last_error(const onestop_t *c);

#ifdef __cplusplus
}
#endif
#endif
