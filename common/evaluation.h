/* The rules of an evaluation (docs/PROTOCOL.md, "Evaluations"): when the
 * applicant of a case may rate it, checked against what the spoke holds.
 * Pure: no I/O, no clock. */
#ifndef OS_EVALUATION_H
#define OS_EVALUATION_H

#include <stddef.h>
#include <stdint.h>

#include "case.h"

#define EVALUATION_SCORE_MIN 1
#define EVALUATION_SCORE_MAX 5
/* Bytes of a comment's text before sealing; sealed, it is 48 bytes more
 * (crypto_box_seal), so Evaluation.comment is at most 2048 bytes. */
#define EVALUATION_COMMENT_MAX 2000

/* A rating as the node that takes it sees it. Pointers are borrowed for
 * the call only. */
struct evaluation_request {
	uint32_t score;      /* 1..5 */
	size_t comment_len;  /* bytes of the comment's text, 0 for none */
	const char *subject; /* the verified assertion's subject */
};

/* May req rate the case c, filed for applicant (the subject stored with
 * the case), when rated says whether a rating of it is already recorded?
 * In order, stopping at the first refusal:
 *   OS_EINVAL   a NULL argument, an empty applicant or subject, a score
 *               outside 1..5, a comment over EVALUATION_COMMENT_MAX bytes;
 *   OS_ESUBJECT the subject is not the applicant (checked before the case's
 *               state, so that no one else learns how far the case is);
 *   OS_ESTATE   the case is neither decided nor closed (a rejected or
 *               withdrawn case has no decision to rate);
 *   OS_EEXIST   the case was rated already (once per case).
 * 0 when the rating may be recorded. */
int evaluation_check(const struct case_record *c, const char *applicant,
		     const struct evaluation_request *req, int rated);

#endif
