/* Ratings of decided cases (docs/PROTOCOL.md 12.1): taken through the API
 * at a node that holds the case (its filing node or its owner), checked
 * against it, carried to the owner as "onestop.Evaluation" messages,
 * recorded once by the owner (which answers the filing node), and told to
 * the supervision stream without the comment. */
#ifndef SPOKE_EVALUATE_H
#define SPOKE_EVALUATE_H

#include <stddef.h>
#include <stdint.h>

#include "casework.h"
#include "spoke.h"

struct Onestop__RateRequest;

#define EVALUATE_TYPE "onestop.Evaluation" /* envelope type of an evaluation message */

/* Register the inbox hook of evaluation messages (sp->type_hooks[3]).
 * Call after casework_open. 0. */
int evaluate_open(struct spoke *sp);

/* Take the rating q asks for (request request_id) in the iteration's
 * transaction: at the owner it is recorded, told to the supervision
 * stream and answered to the filing node; at the filing node it is kept
 * pending and queued for the owner. *w gets the refusal (w->code:
 * OS_EINVAL, OS_EEXPIRED, OS_ENOTFOUND, the assertion's codes,
 * OS_ESUBJECT, OS_ESTATE, OS_EEXIST, OS_EUNKNOWN, OS_EREVOKED, OS_EFULL,
 * OS_EREPLAY, OS_ENOMEM; one sentence in w->msg) or the packed reply
 * (RateResult; the caller frees w->reply). 0, or a store error that
 * poisoned the iteration. */
int evaluate_rate(struct spoke *sp, uint64_t request_id, const struct Onestop__RateRequest *q,
		  struct casework_write *w);

#endif
