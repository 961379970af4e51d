/* libonestop: the integrator API of OneStop. An application connects to its
 * local spoke over the spoke's API socket (ipc:// or loopback tcp://) and
 * sends, receives and acknowledges signed messages, reads and publishes
 * the shared datasets, and issues and verifies real-name assertions. The
 * spoke does the signing, the durable outbox, inbox and dataset cache, and
 * the link to the hub.
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
#define ONESTOP_EAUDIENCE (-25)
#define ONESTOP_ELEVEL (-26)
#define ONESTOP_ESUBJECT (-27)
#define ONESTOP_EISSUER (-28)
#define ONESTOP_EGAP (-29)

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
	const char *publisher;        /* node that signed the change */
	uint64_t seq;                 /* dataset seq of that change */
	uint64_t updated_ms;          /* when the publisher signed it */
} onestop_entry_t;

/* Look key up in dataset. For a cached-mode dataset a miss is filled
 * through the hub, waiting up to wait_ms (0: the spoke's default). On
 * success *out is an entry freed with onestop_entry_free.
 * ONESTOP_ENOTFOUND: no such entry; ONESTOP_ECONN: a cached-mode miss
 * while the hub is unreachable; ONESTOP_ENOTFOUND also for an undeclared
 * dataset (with a message saying so). */
int onestop_get(onestop_t *c, const char *dataset, const char *key, int wait_ms,
		onestop_entry_t **out);
/* Free an entry from onestop_get and NULL *e (NULL allowed). */
void onestop_entry_free(onestop_entry_t **e);

/* Filters for onestop_list; zero fields do not filter. The item filters
 * apply to dataset "items" only. */
typedef struct {
	const char *owner;            /* items owned by this node */
	int online;                   /* 0 any, 1 online items, 2 offline-only items */
	const char *search;           /* items whose name contains this text */
	const char *after_key;        /* paging: start after this key */
	unsigned limit;               /* 0: 100; at most ONESTOP_MAX_BATCH */
} onestop_list_t;

/* List local entries of dataset in key order, filtered (filter NULL: no
 * filter, 100 entries). *entries is an array of *n (possibly 0; then
 * *entries is NULL) freed with onestop_entries_free; *next_key (if
 * next_key is not NULL) is a malloc'd key to pass as after_key for the next
 * page, or NULL when there is no more; free it with free().
 * ONESTOP_EINVAL for online outside 0..2 or limit over ONESTOP_MAX_BATCH. */
int onestop_list(onestop_t *c, const char *dataset, const onestop_list_t *filter,
		 onestop_entry_t **entries, size_t *n, char **next_key);
/* Free what onestop_list returned and NULL *entries (NULL allowed). */
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
 * its registry (ONESTOP_ENOTALLOWED: this node may not publish the dataset,
 * or an item it does not own; ONESTOP_EINVAL: a value that breaks the
 * dataset's schema, e.g. an offline-only item without a reason; the message
 * says which), signs them and commits them to its outbox before returning
 * 0. The hub then sequences them; the change reaches every spoke's cache,
 * this one included. A change the hub refuses comes back as a dead letter.
 * ids (may be NULL) receives the change envelopes' ids. */
int onestop_put(onestop_t *c, const onestop_put_t *puts, size_t n,
		uint8_t (*ids)[ONESTOP_ID_LEN]);

typedef struct {
	char name[64];
	int mode;                     /* ONESTOP_MODE_* */
	uint64_t seq;                 /* last change applied locally */
	uint64_t count;               /* entries held locally */
	uint8_t digest[32];           /* BLAKE2b-256 of the entries held (PROTOCOL.md) */
	int syncing;                  /* a snapshot is being received */
} onestop_dataset_t;

/* The datasets declared in the registry and where this spoke stands in
 * each. *out is an array of *n freed with free() (NULL when *n is 0). */
int onestop_datasets(onestop_t *c, onestop_dataset_t **out, size_t *n);

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
	int kind;                     /* ONESTOP_PERSON or ONESTOP_ENTERPRISE */
	unsigned level;               /* real-name level 1..3 */
	int status;                   /* ONESTOP_SUBJECT_* */
	char authority[300];          /* issuing authority (node name) */
	uint64_t updated_ms;
} onestop_identity_t;

/* Pack v as an IdentityValue into a malloc'd buffer *out of *len bytes
 * (free with free()). The value is packed as given; its schema (kind,
 * level 1..3, status, authority a node name) is checked by the spoke when
 * it is published (onestop_put, ONESTOP_EINVAL with the reason).
 * ONESTOP_EINVAL only for v->authority without its NUL. */
int onestop_identity_encode(const onestop_identity_t *v, uint8_t **out, size_t *len);
/* Unpack an IdentityValue into *out. Kinds and statuses unknown to this
 * version are passed on as their numbers. ONESTOP_EDECODE for malformed
 * bytes or an authority too long for out->authority, ONESTOP_ETOOBIG for
 * more than a value may hold (64 KiB). */
int onestop_identity_decode(const uint8_t *buf, size_t len, onestop_identity_t *out);

typedef struct {
	const char *name;
	const char *shared_data;      /* dataset replacing an upload, or NULL */
} onestop_material_t;

/* A value of dataset "items". */
typedef struct {
	const char *name;
	const char *owner;            /* owning node; must be the publisher */
	const char *kind;
	int online;                   /* 0: offline-only, then offline_reason is required */
	const char *offline_reason;
	size_t n_materials;
	const onestop_material_t *materials;
	unsigned legal_days;          /* working days */
	unsigned promised_days;       /* working days */
	uint64_t fee_cents;
	size_t n_regions;
	const char *const *regions;
	unsigned min_level;           /* minimum real-name level 0..3 */
} onestop_item_t;

/* Encode into a malloc'd buffer (free with free()); NULL strings pack as
 * "" and an online item's offline_reason is left out. The value is packed
 * as given: the spoke checks the schema when it is published (onestop_put:
 * ONESTOP_EINVAL saying what is wrong, e.g. an offline-only item without
 * its reason), so every integrator gets the same refusal.
 * ONESTOP_EINVAL only when a count has no array (n_materials, n_regions)
 * or is over 64; ONESTOP_ETOOBIG over 64 KiB packed. */
int onestop_item_encode(const onestop_item_t *v, uint8_t **out, size_t *len);
/* Decode into a new onestop_item_t whose strings it owns; free it with
 * onestop_item_free. Absent strings are "" (a material's shared_data is
 * NULL when empty), empty lists have NULL arrays. ONESTOP_EDECODE for
 * malformed bytes or more than 64 materials or regions. */
int onestop_item_decode(const uint8_t *buf, size_t len, onestop_item_t **out);
/* Free an item from onestop_item_decode and NULL *v (NULL allowed). */
void onestop_item_free(onestop_item_t **v);

/* ------------------------------------------------------------ real-name SSO */

typedef struct {
	char issuer[300];
	char subject[257];
	unsigned level;
	char audience[300];           /* "" when for any audience */
	uint64_t issued_ms;
	uint64_t expires_ms;
} onestop_assertion_t;

/* Issue an assertion (the local spoke must have role idp) for subject at
 * level 1..3, for audience (NULL or "": any), valid ttl_s seconds (0: 600).
 * *out is a malloc'd packed SignedAssertion of *len bytes (free()). */
int onestop_assert_issue(onestop_t *c, const char *subject, unsigned level,
			 const char *audience, unsigned ttl_s, uint8_t **out, size_t *len);

/* Verify an assertion at the local spoke, with no call to the hub except to
 * fill a missing identity entry: issuer an active idp (ONESTOP_EISSUER),
 * signature (ONESTOP_EBADSIG), validity (ONESTOP_EEXPIRED), audience
 * (ONESTOP_EAUDIENCE; NULL or "" means this spoke's node name), subject
 * known and active (ONESTOP_ESUBJECT), level at least min_level
 * (ONESTOP_ELEVEL). onestop_last_error names the reason. out (may be NULL)
 * receives the verified assertion on success (zeroed on failure). */
int onestop_assert_verify(onestop_t *c, const uint8_t *assertion, size_t len,
			  unsigned min_level, const char *audience, onestop_assertion_t *out);

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
