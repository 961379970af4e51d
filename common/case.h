/* The state machine of a one-stop case (docs/PROTOCOL.md, "Cases"): which
 * transition may follow which, who may make it, and how a repeated or
 * competing transition is told apart. Pure state, no I/O, no clock. */
#ifndef OS_CASE_H
#define OS_CASE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Where a case stands. CASE_NEW is a record before its filing. */
enum case_state {
	CASE_NEW = 0,
	CASE_FILED,
	CASE_ACCEPTED,
	CASE_REJECTED, /* final */
	CASE_MORE_NEEDED,
	CASE_RESUBMITTED,
	CASE_DECIDED,   /* outcome approved or denied */
	CASE_CLOSED,    /* final */
	CASE_WITHDRAWN, /* final */
};
#define CASE_STATE_COUNT 9

/* What a transition does; the numbers are those of CaseAction in
 * proto/onestop.proto. */
enum case_action {
	CASE_ACT_FILE = 1,
	CASE_ACT_ACCEPT = 2,
	CASE_ACT_REJECT = 3,
	CASE_ACT_NEED_MORE = 4,
	CASE_ACT_RESUBMIT = 5,
	CASE_ACT_DECIDE = 6,
	CASE_ACT_CLOSE = 7,
	CASE_ACT_WITHDRAW = 8,
};
#define CASE_ACTION_MAX 8

/* The outcome of DECIDE; the numbers are those of CaseOutcome. */
enum case_outcome {
	CASE_OUTCOME_NONE = 0,
	CASE_APPROVED = 1,
	CASE_DENIED = 2,
};

/* The owner may ask for more material at most this many times in a case
 * (the 17th NEED_MORE is OS_ESTATE): it is to list everything missing at
 * once. This bounds a case's transitions: the longest case is FILE, ACCEPT,
 * CASE_MORE_MAX rounds of NEED_MORE, RESUBMIT, ACCEPT, then DECIDE, CLOSE. */
#define CASE_MORE_MAX 16
#define CASE_STEPS_MAX (4 + 3 * CASE_MORE_MAX)
/* Bytes of the digest kept per applied transition (truncated BLAKE2b). */
#define CASE_DIGEST_LEN 16

/* What case_apply checks and updates; the caller keeps it (in memory or
 * stored as it is: no pointers) and reads its fields, never writes them. */
struct case_record {
	enum case_state state;
	enum case_outcome outcome; /* set by DECIDE, CASE_OUTCOME_NONE before */
	uint64_t seq;              /* the case's version: transitions applied */
	uint32_t more_asked;       /* NEED_MOREs applied */
	char filer[OS_NAME_MAX];   /* filing node: FILE, RESUBMIT, WITHDRAW */
	char owner[OS_NAME_MAX];   /* owning node: every other action */
	/* digest[i]: the transition applied with seq i + 1 */
	uint8_t digest[CASE_STEPS_MAX][CASE_DIGEST_LEN];
};

/* One transition as case_apply sees it. All pointers are borrowed for the
 * call only. */
struct case_step {
	uint64_t seq;              /* the version it makes: 1 for FILE */
	enum case_action action;   /* CASE_ACT_* */
	enum case_outcome outcome; /* DECIDE: approved or denied; else NONE */
	const char *actor;         /* the node that made and signed it */
	/* The rest of the transition, only hashed: two transitions of one seq
	 * are the same when seq, action, outcome, actor and these bytes are.
	 * The packed CaseTransition as signed is a good choice. May be NULL
	 * when content_len is 0. */
	const uint8_t *content;
	size_t content_len;
};

/* Set r to a case before its filing (CASE_NEW, seq 0) between filer, the
 * filing node, and owner, the owning node (they may be the same node).
 * 0, OS_EINVAL (r, filer or owner NULL) or OS_ENAME (a name that is not a
 * node name, os_name_valid); r is unchanged on error. */
int case_record_init(struct case_record *r, const char *filer, const char *owner);

/* Check transition t against r and, when it holds, apply it. In order:
 *   OS_EINVAL       r, t or t->actor NULL, r not a record case_apply
 *                   could have made (state out of range, seq over
 *                   CASE_STEPS_MAX, more_asked over CASE_MORE_MAX, or
 *                   a next seq over CASE_STEPS_MAX), t->seq 0, an action out of
 *                   range, content NULL with content_len > 0, an outcome
 *                   other than approved/denied for DECIDE or other than
 *                   NONE for any other action;
 *   t->seq <= r->seq: the transition was applied before if its digest
 *                   equals the one recorded at that seq: 0 with
 *                   *duplicate = 1, r unchanged (applied twice is applied
 *                   once); otherwise OS_ECONFLICT (another transition holds
 *                   that version);
 *   OS_EGAP         t->seq > r->seq + 1: a transition before it is missing;
 *   OS_ENOTALLOWED  t->actor may never make this action in this case (the
 *                   owner makes ACCEPT, REJECT, NEED_MORE, DECIDE, CLOSE;
 *                   the filer FILE, RESUBMIT, WITHDRAW), whatever the state;
 *   OS_ESTATE       the action may not follow r->state (the table in
 *                   docs/PROTOCOL.md; FILE only from CASE_NEW), or it is
 *                   NEED_MORE after CASE_MORE_MAX of them.
 * On 0 without a duplicate, r->seq is t->seq, r->state the state the
 * action leads to, and *duplicate is 0. On any error r is unchanged and
 * *duplicate is 0. duplicate may be NULL. */
int case_apply(struct case_record *r, const struct case_step *t, int *duplicate);

/* 1 when action may follow state (the state table only, no actor or
 * count), else 0; 0 for values out of range. */
int case_allowed(enum case_state state, enum case_action action);

/* 1 for a state no transition leaves (rejected, closed, withdrawn). */
int case_state_final(enum case_state state);

/* Lowercase names for the CLI and logs: "filed", "more_needed", ...;
 * "need_more", "withdraw", ...; "approved", "denied", "none". Static
 * strings; "unknown" for a value out of range, never NULL. */
const char *case_state_name(enum case_state state);
const char *case_action_name(enum case_action action);
const char *case_outcome_name(enum case_outcome outcome);

/* Parse a name as the functions above print it (exact, lowercase) into
 * *out. 0, or OS_EINVAL (NULL argument, or no such name: *out unchanged).
 * "new" and "none" parse too. */
int case_state_parse(const char *name, enum case_state *out);
int case_action_parse(const char *name, enum case_action *out);
int case_outcome_parse(const char *name, enum case_outcome *out);

#endif
