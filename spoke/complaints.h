/* Complaints and consultations (docs/PROTOCOL.md 12.2): filed at any node
 * through the API, routed to their handler (the region's supervisor, or
 * the item's owner), tracked at every party with the state machine of
 * common/complaint.c, carried as "onestop.Complaint" messages in the
 * transaction that stores each step, with response deadlines and the
 * overdue listing, and told to the supervision stream by the handler. */
#ifndef SPOKE_COMPLAINTS_H
#define SPOKE_COMPLAINTS_H

#include <stddef.h>
#include <stdint.h>

#include "casework.h"
#include "spoke.h"

struct Onestop__ApiRequest;

#define COMPLAINTS_TYPE "onestop.Complaint" /* envelope type of a complaint message */

/* Register the inbox hook of complaint messages (sp->type_hooks[2]); the
 * service keeps no state beside the store. Call after casework_open. 0. */
int complaints_open(struct spoke *sp);
void complaints_close(struct spoke *sp);

/* A ComplaintFile or ComplaintAct req, in the iteration's transaction: *w
 * gets the refusal or the packed reply. 0, or a store error that poisoned
 * the iteration. */
int complaints_write(struct spoke *sp, const struct Onestop__ApiRequest *req,
		     struct casework_write *w);

/* Answer a ComplaintGet or ComplaintList req from the committed store
 * into a malloc'd packed ApiReply. 0 or OS_ENOMEM. */
int complaints_read(struct spoke *sp, const struct Onestop__ApiRequest *req, uint8_t **buf,
		    size_t *len);

#endif
