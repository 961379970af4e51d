/* The spoke's read server: answers the API's Get, List, Datasets,
 * AssertIssue and AssertVerify from the replica's committed store into a
 * packed ApiReply. A cached-mode miss asks the hub (replica_fetch.h) and
 * is answered "pending" with what it waits for; the API holds it and asks
 * again (reads_resume) once the fetch has settled. It writes to no socket
 * and sends nothing but the Fetch. */
#ifndef SPOKE_READS_H
#define SPOKE_READS_H

#include <stddef.h>
#include <stdint.h>

#include "assertion.h"
#include "dataset.h"
#include "util.h"

struct spoke;
struct Onestop__ApiRequest;

#define READS_LIST_MAX 10000u /* entries in one List reply */
#define READS_MSG_MAX 700     /* an error reply's sentence */

/* What a pending read waits for. */
struct reads_wait {
	uint64_t fetch_id; /* the fetch (replica_fetch.h) */
	uint32_t wait_ms;  /* how long it may wait for it */
	int verify;        /* AssertVerify (else Get) */
	char dataset[OS_NAME_MAX];
	char key[DS_KEY_MAX + 1];
	struct assertion a; /* verify: the verified assertion */
	uint32_t min_level; /* verify: the level asked for */
};

/* One answer of the read server. */
struct reads_reply {
	uint8_t *buf; /* the packed ApiReply, malloc'd: the caller's */
	size_t len;
	int pending; /* 1: no reply yet (buf NULL); wait says for what */
	struct reads_wait wait;
};

/* Answer req (request_id and one of Get, List, Datasets, AssertIssue,
 * AssertVerify; anything else gets an OS_EINVAL reply) from the committed
 * store, outside any transaction, into *out: a packed reply, successful or
 * carrying the request's error code and one sentence (OS_EINVAL,
 * OS_ENOTFOUND, OS_ECONN when a miss cannot reach the hub, OS_EAGAIN when
 * too many fetches are pending, OS_ENOTALLOWED and OS_EEXPIRED for
 * AssertIssue (OS_EINVAL for a ttl over assertion_max_validity_s), the
 * refusals of assertion_verify_at (audience this node, the validity cap)
 * and assertion_check_subject for AssertVerify, store errors), or pending
 * (a cached-mode miss whose Fetch went to the hub). 0, or OS_ENOMEM when
 * no reply could be built (nothing to send; out->buf NULL). */
int reads_serve(struct spoke *sp, const struct Onestop__ApiRequest *req, struct reads_reply *out);

/* The part of a single-use AssertVerify (req's single_use) that must be
 * durable before its answer: verify the assertion as reads_serve does
 * (without the subject's identity) and record its nonce in the replay
 * cache, in the iteration's write transaction, so that the answer, sent
 * after the commit, is the only OK it ever gets. Nothing for another
 * request (0). 0, or the refusal (the codes of assertion_verify_at,
 * OS_EAUDIENCE for an audience that is not this node, OS_EREPLAY when it
 * was used before) or the store's error (which also poisons the
 * iteration), with one sentence in msg (size bytes). */
int reads_claim(struct spoke *sp, const struct Onestop__ApiRequest *req, char *msg, size_t size);

/* Answer request_id, which waited as w, now that its fetch has settled
 * (filled, not found, or failed: replica_fetch_get), into *out (never
 * pending): the entry or the verified assertion, or the error (the
 * fetch's own code and sentence when it failed). 0 or OS_ENOMEM as for
 * reads_serve. w is the caller's and must not lie in *out. The caller
 * forgets the fetch afterwards. */
int reads_resume(struct spoke *sp, const struct reads_wait *w, uint64_t request_id,
		 struct reads_reply *out);

#endif
