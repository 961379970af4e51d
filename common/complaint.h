/* The state machine of complaints and consultations (docs/PROTOCOL.md,
 * "Public supervision"): which step may follow which, who may make it, and
 * how a repeated or competing step is told apart; with the syntax of what a
 * complaint is about and the choice of the supervisor that handles it. */
#ifndef OS_COMPLAINT_H
#define OS_COMPLAINT_H

#include <stddef.h>
#include <stdint.h>

#include "dataset.h"
#include "registry.h"
#include "util.h"

/* A complaint goes to the region's supervisor; a consultation (a question
 * about an item) to the item's owner. The numbers are those of
 * ComplaintKind in proto/onestop.proto. */
enum complaint_kind {
	COMPLAINT_KIND_COMPLAINT = 1,
	COMPLAINT_KIND_CONSULTATION = 2,
};

/* Where a complaint stands; the numbers are those of ComplaintState.
 * COMPLAINT_NEW is a record before its filing. */
enum complaint_state {
	COMPLAINT_NEW = 0,
	COMPLAINT_RECEIVED = 1,
	COMPLAINT_ASSIGNED = 2,
	COMPLAINT_ANSWERED = 3,
	COMPLAINT_CLOSED = 4, /* final */
	COMPLAINT_REOPENED = 5,
};
#define COMPLAINT_STATE_COUNT 6

/* What a step does; the numbers are those of ComplaintAction. */
enum complaint_action {
	COMPLAINT_ACT_FILE = 1,
	COMPLAINT_ACT_ASSIGN = 2,
	COMPLAINT_ACT_ANSWER = 3,
	COMPLAINT_ACT_CLOSE = 4,
	COMPLAINT_ACT_REOPEN = 5,
};
#define COMPLAINT_ACTION_MAX 5

/* The filing node reopens a complaint at most once (a second REOPEN is
 * OS_ESTATE). This bounds a complaint's steps: the longest is FILE, ASSIGN,
 * ANSWER, REOPEN, ASSIGN, ANSWER, CLOSE. */
#define COMPLAINT_REOPEN_MAX 1
#define COMPLAINT_STEPS_MAX (1 + 3 * (1 + COMPLAINT_REOPEN_MAX))
/* Bytes of the digest kept per applied step (truncated BLAKE2b). */
#define COMPLAINT_DIGEST_LEN 16

/* What complaint_apply checks and updates; the caller keeps it (in memory
 * or stored as it is: no pointers) and reads its fields, never writes them.
 * The parties: the filer (the node where it was filed) makes FILE and
 * REOPEN; the handler (the region's supervisor for a complaint, the item's
 * owner for a consultation) makes ASSIGN; either closes once answered; the
 * handler answers, and so does the assignee while the complaint is
 * assigned to it. */
struct complaint_record {
	enum complaint_kind kind;
	enum complaint_state state;
	uint64_t seq;               /* its version: steps applied */
	uint32_t reopened;          /* REOPENs applied */
	char filer[OS_NAME_MAX];    /* filing node */
	char handler[OS_NAME_MAX];  /* handling node */
	char assignee[OS_NAME_MAX]; /* the last ASSIGN's node; "" before one */
	/* digest[i]: the step applied with seq i + 1 */
	uint8_t digest[COMPLAINT_STEPS_MAX][COMPLAINT_DIGEST_LEN];
};

/* One step as complaint_apply sees it. All pointers are borrowed for the
 * call only. */
struct complaint_step {
	uint64_t seq;                 /* the version it makes: 1 for FILE */
	enum complaint_action action; /* COMPLAINT_ACT_* */
	const char *actor;            /* the node that made and signed it */
	const char *assignee;         /* ASSIGN: the node assigned; else NULL */
	/* The rest of the step, only hashed: two steps of one seq are the same
	 * when seq, action, actor, assignee and these bytes are. The packed
	 * ComplaintTransition as signed is a good choice. May be NULL when
	 * content_len is 0. */
	const uint8_t *content;
	size_t content_len;
};

/* Set r to a complaint of kind before its filing (COMPLAINT_NEW, seq 0, no
 * assignee) between filer, the filing node, and handler, the handling node
 * (they may be the same node). 0, OS_EINVAL (r, filer or handler NULL, or
 * a kind out of range) or OS_ENAME (a name that is not a node name,
 * os_name_valid); r is unchanged on error. */
int complaint_record_init(struct complaint_record *r, enum complaint_kind kind, const char *filer,
			  const char *handler);

/* Check step t against r and, when it holds, apply it. In order:
 *   OS_EINVAL       r, t or t->actor NULL; r not a record complaint_apply
 *                   could have made (kind or state out of range, seq over
 *                   COMPLAINT_STEPS_MAX, reopened over COMPLAINT_REOPEN_MAX,
 *                   a name without its NUL, or a next seq over
 *                   COMPLAINT_STEPS_MAX); t->seq 0; an action out of range;
 *                   content NULL with content_len > 0; an assignee that is
 *                   not a node name for ASSIGN, or any assignee (non-NULL)
 *                   for another action;
 *   t->seq <= r->seq: the step was applied before if its digest equals the
 *                   one recorded at that seq: 0 with *duplicate = 1, r
 *                   unchanged; otherwise OS_ECONFLICT;
 *   OS_EGAP         t->seq > r->seq + 1: a step before it is missing;
 *   OS_ENOTALLOWED  t->actor may not make this action: FILE and REOPEN are
 *                   the filer's, ASSIGN the handler's, CLOSE the handler's
 *                   or the filer's, ANSWER the handler's or, while r is
 *                   COMPLAINT_ASSIGNED, the assignee's (an earlier assignee
 *                   is no party once the complaint moved on);
 *   OS_ESTATE       the action may not follow r->state (complaint_allowed;
 *                   FILE only from COMPLAINT_NEW), or it is a REOPEN after
 *                   COMPLAINT_REOPEN_MAX of them.
 * On 0 without a duplicate, r->seq is t->seq, r->state the state the action
 * leads to, r->assignee t->assignee after ASSIGN (kept by later steps), and
 * *duplicate is 0. On any error r is unchanged and *duplicate is 0.
 * duplicate may be NULL. */
int complaint_apply(struct complaint_record *r, const struct complaint_step *t, int *duplicate);

/* 1 when action may follow state (the state table only, no actor or
 * count), else 0; 0 for values out of range. */
int complaint_allowed(enum complaint_state state, enum complaint_action action);

/* 1 for closed, the one state no step leaves; else 0. */
int complaint_state_final(enum complaint_state state);

/* 1 while the handler owes an answer (received, assigned, reopened): the
 * states in which a complaint can be overdue; else 0. */
int complaint_state_awaiting(enum complaint_state state);

/* Lowercase names for the CLI and logs: "received", "reopened", ...;
 * "assign", "reopen", ...; "complaint", "consultation". Static strings;
 * "unknown" for a value out of range, never NULL. */
const char *complaint_state_name(enum complaint_state state);
const char *complaint_action_name(enum complaint_action action);
const char *complaint_kind_name(enum complaint_kind kind);

/* Parse a name as the functions above print it (exact, lowercase) into
 * *out. 0, or OS_EINVAL (NULL argument, or no such name: *out unchanged).
 * "new" parses as a state. */
int complaint_state_parse(const char *name, enum complaint_state *out);
int complaint_action_parse(const char *name, enum complaint_action *out);
int complaint_kind_parse(const char *name, enum complaint_kind *out);

/* What a complaint is about (Complaint.about). */
enum complaint_about_kind {
	COMPLAINT_ABOUT_CASE = 1, /* "case:" and the case id in 32 lowercase hex */
	COMPLAINT_ABOUT_ITEM = 2, /* "item:" and a key of dataset items (ds_key_valid) */
	COMPLAINT_ABOUT_NODE = 3, /* "node:" and a node name (os_name_valid) */
};
#define COMPLAINT_CASE_ID_LEN 16

struct complaint_about {
	enum complaint_about_kind kind;
	uint8_t case_id[COMPLAINT_CASE_ID_LEN]; /* CASE; zero otherwise */
	char name[DS_KEY_MAX + 1];              /* ITEM: the key; NODE: the name; else "" */
};

/* Parse and check about into *out. 0, or OS_EINVAL (NULL argument, no known
 * prefix, a case id that is not exactly 32 lowercase hex digits, an item
 * key that ds_key_valid refuses, a node name that os_name_valid refuses);
 * *out is unchanged on error. */
int complaint_about_parse(const char *about, struct complaint_about *out);

/* The region of node: its name without the last label ("gd.sz.market" ->
 * "gd.sz"), written with its NUL into out[0..size). 0, OS_EINVAL (a NULL
 * argument, or size too small: OS_NAME_MAX always suffices) or OS_ENAME
 * (not a node name, or a name of one label, which has no region); out is
 * unchanged on error. */
int complaint_region(const char *node, char *out, size_t size);

/* The supervisor that handles a complaint concerning region: among the
 * active nodes of reg with role REG_ROLE_SUPERVISOR, one whose own region
 * (complaint_region of its name) is region, else the nearest enclosing
 * region ("gd.sz", then "gd"); of several in one region, the first by name.
 * A one-label supervisor has no region and is never chosen. *out borrows
 * from reg. 0, OS_EINVAL (a NULL argument), OS_ENAME (region is not a
 * node name) or OS_ENOTFOUND (none; *out unchanged). */
int complaint_supervisor(const struct registry *reg, const char *region,
			 const struct reg_node **out);

#endif
