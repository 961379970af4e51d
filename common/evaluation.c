/* The rules of an evaluation: who may rate a case, when, how often, and
 * what a rating holds. The caller looks the case up, verifies the
 * assertion and knows whether a rating is stored; this decides. */
#include "evaluation.h"

#include <string.h>

#include "err.h"

int evaluation_check(const struct case_record *c, const char *applicant,
		     const struct evaluation_request *req, int rated)
{
	if (c == NULL || applicant == NULL || req == NULL || req->subject == NULL)
		return OS_EINVAL;
	if (applicant[0] == '\0' || req->subject[0] == '\0')
		return OS_EINVAL;
	if (req->score < EVALUATION_SCORE_MIN || req->score > EVALUATION_SCORE_MAX)
		return OS_EINVAL;
	if (req->comment_len > EVALUATION_COMMENT_MAX)
		return OS_EINVAL;
	if (strcmp(req->subject, applicant) != 0)
		return OS_ESUBJECT;
	if (c->state != CASE_DECIDED && c->state != CASE_CLOSED)
		return OS_ESTATE;
	if (rated)
		return OS_EEXIST;
	return 0;
}
