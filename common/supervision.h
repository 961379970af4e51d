/* Supervision events (docs/PROTOCOL.md section 12.3, draft): the metadata-only
 * SupervisionEvent a node emits to @supervision at each case transition,
 * evaluation and complaint transition; its check, and the keyed pseudonym
 * of a subject. Pure: no I/O, no clock, no store. */
#ifndef OS_SUPERVISION_H
#define OS_SUPERVISION_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define SV_ID_LEN 16             /* a case or complaint id */
#define SV_TAG_LEN 16            /* a subject tag */
#define SV_KEY_LEN 32            /* a supervisor period's secret */
#define SV_TEXT_MAX 257          /* item, item kind: a dataset key (DS_KEY_MAX) and the NUL */
#define SV_EVENT_MAX 2048        /* the largest packed event sv_event_unpack reads */
#define SV_SCORE_MAX 5           /* evaluations score 1..SV_SCORE_MAX */
#define SV_CHANNEL_MAX 4         /* CaseChannel: 0 unspecified, web, mobile, hall, hotline */
#define SV_COMPLAINT_MAX_STATE 5 /* ComplaintState: received 1 .. reopened 5 */

/* SupervisionKind. */
enum sv_kind {
	SV_CASE = 1,       /* a case transition */
	SV_EVALUATION = 2, /* a rating of a decided case */
	SV_COMPLAINT = 3,  /* a complaint or consultation transition */
};

/* CaseChannel. */
enum sv_channel {
	SV_CH_UNSPECIFIED = 0,
	SV_CH_WEB = 1,
	SV_CH_MOBILE = 2,
	SV_CH_HALL = 3,
	SV_CH_HOTLINE = 4,
};

/* ComplaintAction and ComplaintKind, as numbered in proto/onestop.proto
 * (common/complaint.h has the state machine). */
enum sv_complaint_action {
	SV_CP_FILE = 1,
	SV_CP_ASSIGN = 2,
	SV_CP_ANSWER = 3,
	SV_CP_CLOSE = 4,
	SV_CP_REOPEN = 5,
};
enum sv_complaint_kind {
	SV_CP_COMPLAINT = 1,
	SV_CP_CONSULTATION = 2,
};

/* A SupervisionEvent, decoded: every field it may carry, and nothing else.
 * Strings are NUL-terminated; "" for an unset one. No pointers: it may be
 * stored as it is. */
struct sv_event {
	enum sv_kind kind;
	uint8_t id[SV_ID_LEN]; /* case id (CASE, EVALUATION) or complaint id */
	uint64_t seq;          /* (kind, id, seq) names the event once; 1 for EVALUATION */
	char item[SV_TEXT_MAX];
	char item_kind[SV_TEXT_MAX]; /* ItemValue.kind: licence, permit, registration, ... */
	char owner[OS_NAME_MAX];     /* owning node; for a complaint the department it concerns */
	char region[OS_NAME_MAX];
	char filed_by[OS_NAME_MAX];
	uint32_t channel;  /* enum sv_channel */
	uint32_t state;    /* enum case_state or ComplaintState after the step; 0 for EVALUATION */
	uint32_t action;   /* enum case_action or enum sv_complaint_action; 0 for EVALUATION */
	uint32_t outcome;  /* enum case_outcome of the case after the step (set from DECIDE on) */
	uint64_t at_ms;    /* when the step was made (the actor's clock) */
	uint64_t filed_ms; /* the case's or complaint's filing */
	uint64_t accepted_ms;
	uint64_t promised_due_ms; /* 0: none yet; a complaint's response deadline */
	uint64_t legal_due_ms;    /* 0: none yet */
	uint32_t score;           /* EVALUATION: 1..5; else 0 */
	uint32_t complaint_kind;  /* COMPLAINT: enum sv_complaint_kind; else 0 */
	uint8_t subject_tag[SV_TAG_LEN];
	int has_tag; /* subject_tag is set (sv_subject_tag) */
};

/* What a node knows of a case when it applies a transition: the case's
 * record, its item and the step. Strings are borrowed for the call; NULL
 * reads as "". The subject is not here: a caller that must let the
 * supervisor count distinct subjects passes a tag from sv_subject_tag. */
struct sv_case_facts {
	const uint8_t *case_id; /* SV_ID_LEN bytes */
	uint64_t seq;           /* the version the step made */
	const char *item, *item_kind, *owner, *filer, *region;
	uint32_t channel; /* the filing channel */
	uint32_t state;   /* after the step */
	uint32_t action;  /* the step */
	uint32_t outcome; /* the case's outcome after the step */
	uint64_t at_ms;   /* the step's time */
	uint64_t filed_ms, accepted_ms, promised_due_ms, legal_due_ms;
	const uint8_t *subject_tag; /* SV_TAG_LEN bytes, or NULL */
};

/* The same of a complaint or consultation at one of its steps. */
struct sv_complaint_facts {
	const uint8_t *complaint_id; /* SV_ID_LEN bytes */
	uint64_t seq;
	uint32_t complaint_kind; /* enum sv_complaint_kind */
	const char *item;        /* the item it is about (an item's, a case's), or NULL */
	const char *item_kind;
	/* The department it concerns, the event's owner: the case's or the
	 * item's owner, or the node complained about; for a consultation its
	 * handler, the item's owner. Not the supervisor that handles a
	 * complaint: a supervisor counts complaints per department. */
	const char *department;
	const char *filer, *region;
	uint32_t channel, state, action;
	uint64_t at_ms, filed_ms;
	uint64_t due_ms; /* the response deadline, 0 if none: carried as promised_due_ms */
	const uint8_t *subject_tag;
};

/* Build the event of a case transition into *out (wiped first). 0, or
 * OS_EINVAL (NULL f, out or case id) or the codes of sv_event_valid when
 * the facts do not make a valid event (out is then wiped). */
int sv_from_case(const struct sv_case_facts *f, struct sv_event *out);

/* Build the event of an evaluation of case c (its facts as in its last
 * transition: the case's item, owner, region, times and outcome) with
 * score 1..5, taken through channel at at_ms. The event is of kind
 * EVALUATION, seq 1 (a case is rated once), state and action 0; the
 * rating's comment never enters it. 0, OS_EINVAL, or sv_event_valid's. */
int sv_from_evaluation(const struct sv_case_facts *c, uint32_t score, uint32_t channel,
		       uint64_t at_ms, struct sv_event *out);

/* Build the event of a complaint or consultation transition. 0, OS_EINVAL
 * or sv_event_valid's. Its text and answer never enter it. */
int sv_from_complaint(const struct sv_complaint_facts *f, struct sv_event *out);

/* Whether e holds only what an event may: kind 1..3; seq >= 1 (1 for an
 * EVALUATION); owner a node name, region and filed_by empty or node
 * names; item and item kind printable ASCII; channel 0..4; at_ms and
 * filed_ms set; CASE: state 1..8, action 1..8 (DECIDE exactly when the
 * state is decided), outcome 0..2 (set on DECIDE, and only in states
 * decided and closed), score and complaint kind 0; EVALUATION: score 1..5, state, action and
 * complaint kind 0; COMPLAINT: complaint kind 1..2, state 1..5, action
 * 1..5, outcome and score 0. 0, OS_EINVAL (e NULL or a field out of range)
 * or OS_ENAME (a node name that is not one). */
int sv_event_valid(const struct sv_event *e);

/* Pack e (which must be sv_event_valid) into a malloc'd *out of *len bytes
 * (the caller frees it). 0, OS_EINVAL or OS_ENOMEM. */
int sv_event_pack(const struct sv_event *e, uint8_t **out, size_t *len);

/* Decode a packed SupervisionEvent into *out and check it. 0; OS_EINVAL
 * (out NULL, or buf NULL with len > 0); OS_ETOOBIG (len > SV_EVENT_MAX);
 * OS_EDECODE when it is not a SupervisionEvent, carries a field number
 * the schema does not have (a field it must not carry: refused, not
 * dropped), an id other than 16 bytes, a subject tag other than empty or
 * 16 bytes, or a text longer than its room; sv_event_valid's codes
 * otherwise. On error *out is wiped. */
int sv_event_unpack(const uint8_t *buf, size_t len, struct sv_event *out);

/* sv_event_unpack without keeping the result: what a supervisor runs on
 * each event it receives before storing or counting it. */
int sv_event_check(const uint8_t *buf, size_t len);

/* The subject tag of subject (a subject id, NUL-terminated) for a
 * supervision period: the first 16 bytes of keyed BLAKE2b under key (the
 * period's secret, SV_KEY_LEN bytes, held by the supervisor's operator
 * and given to the emitting nodes for that period only) of period as 8
 * bytes big-endian followed by the subject's bytes. The same subject has
 * the same tag within a period and unrelated tags across periods; without
 * the key no one can tell whose tag it is or test a guess. The event
 * carries the tag, never the subject. 0, or OS_EINVAL (NULL argument). */
int sv_subject_tag(const uint8_t key[SV_KEY_LEN], uint64_t period, const char *subject,
		   uint8_t out[SV_TAG_LEN]);

#endif
