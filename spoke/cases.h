/* The spoke's durable case store (issue #6, "Tracking at both ends"): each
 * case's record, its history of signed transitions, and the indexes by
 * state, by item and by promised due date, kept in step in one transaction. */
#ifndef SPOKE_CASES_H
#define SPOKE_CASES_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "case.h"
#include "spoke.h"

#define CASES_ID_LEN 16
#define CASES_TEXT_MAX 256 /* item code, subject, channel: bytes with the NUL */

/* A stored case: the state machine's record and what the store adds. */
struct cases_info {
	struct case_record rec;
	char item[CASES_TEXT_MAX];
	char subject[CASES_TEXT_MAX];
	char channel[CASES_TEXT_MAX];
	uint64_t accepted_ms;     /* 0 until the first ACCEPT */
	uint64_t promised_due_ms; /* 0 until the first ACCEPT */
	uint64_t legal_due_ms;    /* 0 until the first ACCEPT */
};

/* All functions take the spoke and the caller's write (or, for reads, any)
 * transaction t; they never commit. On an error the caller aborts t (the
 * daemon does: spoke_wrote poisons the iteration), since a failed write may
 * have left part of a change in t. Common errors: OS_EINVAL (NULL or
 * out-of-range argument), OS_EDECODE (a damaged stored value), OS_ESTORE,
 * OS_ESTOREFULL. */

/* File case id (CASES_ID_LEN bytes) from filer to owner for the item code
 * item, applicant subject and channel (each shorter than CASES_TEXT_MAX,
 * item without NUL bytes), at now_ms: the FILE transition at seq 1, whose
 * packed signed bytes step[0..len) are hashed and kept as history entry 1.
 * 0 with *duplicate = 0 (filed) or 1 (the same FILE was already stored:
 * nothing changes); OS_EEXIST (another case holds id); case_record_init's
 * and case_apply's errors (OS_ENAME, OS_ENOTALLOWED, ...). duplicate may be
 * NULL. */
int cases_file(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
	       const char *filer, const char *owner, const char *item, const char *subject,
	       const char *channel, uint64_t now_ms, const uint8_t *step, size_t len,
	       int *duplicate);

/* Apply transition step to case id at now_ms (case_apply's checks). The
 * first ACCEPT sets accepted_ms and the due dates: cal_due(cal, now_ms,
 * promised_days) and (…, legal_days). A final state drops the due-date
 * index entry. step->content is kept as the history entry. 0 with
 * *duplicate (may be NULL) 1 when it was applied before (nothing changes);
 * OS_ENOTFOUND (no such case); case_apply's errors (OS_ECONFLICT, OS_EGAP,
 * OS_ENOTALLOWED, OS_ESTATE) and cal_due's OS_EINVAL, each with nothing
 * written. */
int cases_apply(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
		const struct case_step *step, uint64_t now_ms, const struct cal *cal,
		uint32_t promised_days, uint32_t legal_days, int *duplicate);

/* Read case id into *out. 0, OS_ENOTFOUND, OS_EDECODE. */
int cases_get(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
	      struct cases_info *out);

/* One history entry: the transition that made version seq, as stored. The
 * pointers are valid until t ends or writes. Return 0 to go on, 1 to stop,
 * or a negative error that cases_history returns. */
typedef int (*cases_history_fn)(void *arg, uint64_t seq, uint64_t at_ms, const char *actor,
				const uint8_t *step, size_t len);

/* Call fn for each transition of case id, by seq. 0 (also for no such
 * case), fn's error, OS_EDECODE. */
int cases_history(struct spoke *sp, struct store_txn *t, const uint8_t id[CASES_ID_LEN],
		  cases_history_fn fn, void *arg);

enum cases_by { CASES_BY_STATE, CASES_BY_ITEM, CASES_OVERDUE };

struct cases_filter {
	enum cases_by by;
	enum case_state state; /* CASES_BY_STATE */
	const char *item;      /* CASES_BY_ITEM */
	uint64_t now_ms;       /* CASES_OVERDUE: undecided open cases with promised due < now_ms */
};

/* A listed case's id, valid for the call. 0 to go on, or a negative error. */
typedef int (*cases_list_fn)(void *arg, const uint8_t id[CASES_ID_LEN]);

/* Call fn for at most limit (> 0) cases matching f, in index order (by id;
 * overdue: by due date, then id), after the case after_id (NULL: from the
 * start). *more (may be NULL) is 1 when more cases follow, and next (may
 * be NULL) then gets the cursor to pass as after_id. 0, fn's error,
 * OS_EINVAL, OS_ENOTFOUND (overdue with an after_id that is no case),
 * OS_EDECODE (a damaged index key). */
int cases_list(struct spoke *sp, struct store_txn *t, const struct cases_filter *f,
	       const uint8_t *after_id, size_t limit, cases_list_fn fn, void *arg,
	       uint8_t next[CASES_ID_LEN], int *more);

#endif
