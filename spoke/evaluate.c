/* Ratings of decided cases: see evaluate.h. */
#include "evaluate.h"

#include <stdio.h>

#include "onestop.pb-c.h"

#include "err.h"

int evaluate_open(struct spoke *sp)
{
	(void)sp;
	return 0;
}

int evaluate_rate(struct spoke *sp, uint64_t request_id, const Onestop__RateRequest *q,
		  struct casework_write *w)
{
	(void)sp;
	(void)request_id;
	(void)q;
	w->code = OS_EINVAL;
	snprintf(w->msg, sizeof w->msg, "rate: not built yet");
	return 0;
}
