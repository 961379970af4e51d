/* Complaints and consultations: see complaints.h. */
#include "complaints.h"

#include <stdio.h>
#include <stdlib.h>

#include "onestop.pb-c.h"

#include "err.h"

int complaints_open(struct spoke *sp)
{
	(void)sp;
	return 0;
}

void complaints_close(struct spoke *sp)
{
	(void)sp;
}

int complaints_write(struct spoke *sp, const Onestop__ApiRequest *req, struct casework_write *w)
{
	(void)sp;
	(void)req;
	w->code = OS_EINVAL;
	snprintf(w->msg, sizeof w->msg, "complaints: not built yet");
	return 0;
}

int complaints_read(struct spoke *sp, const Onestop__ApiRequest *req, uint8_t **buf, size_t *len)
{
	Onestop__ApiReply rep = ONESTOP__API_REPLY__INIT;
	(void)sp;
	rep.request_id = req->request_id;
	rep.code = OS_EINVAL;
	rep.message = "complaints: not built yet";
	*len = onestop__api_reply__get_packed_size(&rep);
	if (!(*buf = malloc(*len ? *len : 1)))
		return OS_ENOMEM;
	onestop__api_reply__pack(&rep, *buf);
	return 0;
}
