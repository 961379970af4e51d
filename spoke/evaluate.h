/* Ratings of decided cases (docs/PROTOCOL.md 12.1): taken at any node
 * through the API, checked against the case where this node holds it,
 * carried to the owner as "onestop.Evaluation" messages, recorded once by
 * the owner (which answers the taking node and tells the filing node),
 * and told to the supervision stream without the comment. */
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
 * transaction: *w gets the refusal or the packed reply (RateResult). 0,
 * or a store error that poisoned the iteration. */
int evaluate_rate(struct spoke *sp, uint64_t request_id, const struct Onestop__RateRequest *q,
		  struct casework_write *w);

#endif
