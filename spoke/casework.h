/* The spoke's case service (docs/PROTOCOL.md section 11): files cases after
 * the filing checks, makes the transitions this node may make, carries them
 * to the other party as "onestop.Case" messages in the transaction that
 * stores them, applies what the other party sends, issues e-licences on
 * approval, and answers the API's case reads from the committed store. */
#ifndef SPOKE_CASEWORK_H
#define SPOKE_CASEWORK_H

#include <stddef.h>
#include <stdint.h>

#include "cases.h"
#include "dataset.h"
#include "spoke.h"

struct loop;
struct Onestop__ApiRequest;
struct Onestop__CaseFileRequest;
struct Onestop__CaseActRequest;

#define CASEWORK_TYPE "onestop.Case" /* envelope type of a case message */
/* Metadata-only events of the owner's steps (docs/PROTOCOL.md 12.3): sent
 * to this topic when an active node other than the owner subscribes. */
#define CASEWORK_EVENT_TYPE "onestop.Supervision"
#define CASEWORK_EVENT_TOPIC "@supervision"
#define CASEWORK_MSG_MAX 512 /* a refusal's sentence */
/* The environment variable naming the case clock's file (tests and
 * drills): when set, "now" for due dates, overdue and licence validity
 * is the decimal Unix ms the file holds, read each time. */
#define CASEWORK_CLOCK_ENV "ONESTOP_CASE_CLOCK_FILE"

/* What a filing or a transition asked through the API came to. */
struct casework_result {
	int code; /* 0 or the refusal */
	char msg[CASEWORK_MSG_MAX];
	uint8_t id[CASES_ID_LEN];     /* file: the case */
	char owner[OS_NAME_MAX];      /* file: its owner */
	int duplicate;                /* file: the key named a case filed before */
	uint64_t seq;                 /* act: the version the transition makes */
	int pending;                  /* act: sent to the owner, applied when it answers */
	char licence[DS_KEY_MAX + 1]; /* act: the e-licence issued, or "" */
};

/* Set up the case service for sp (sp->cw): the working-day calendar from
 * holidays_file and calendar_utc_offset_min, and the inbox hook for case
 * messages (sp->case_hook). 0, OS_ENOMEM, or OS_ECONFIG (a holidays file
 * that cannot be read or parsed, logged naming the line). */
int casework_open(struct spoke *sp);

/* Check the calendar options without keeping anything (--check-config).
 * 0 or OS_ECONFIG, logged. */
int casework_check_conf(const struct spoke_conf *c);

/* Free sp->cw and what it holds (NULL allowed). */
void casework_close(struct spoke *sp);

/* The case clock: CASEWORK_CLOCK_ENV's file when set and readable, else
 * the system clock (Unix ms). */
uint64_t casework_now_ms(void);

/* File the case q asks for, in the iteration's transaction: the filing
 * checks, the single-use spending of the assertion, the case stored at
 * this node (state filed) and its message queued for the owner. *res gets
 * the outcome (res->code: 0 or the refusal, with a sentence). 0, or a
 * store error that poisoned the iteration. */
int casework_file(struct spoke *sp, const struct Onestop__CaseFileRequest *q,
		  struct casework_result *res);

/* Make the transition q asks for, in the iteration's transaction: an
 * owner's step is applied here and queued for the filing node; a filing
 * node's step is queued for the owner and kept pending. 0 or a store
 * error, as casework_file. */
int casework_act(struct spoke *sp, const struct Onestop__CaseActRequest *q,
		 struct casework_result *res);

/* Answer a CaseGet, CaseList or LicenceVerify req from the committed
 * store into a malloc'd packed ApiReply *buf of *len bytes (successful, or
 * carrying the refusal and a sentence). 0 or OS_ENOMEM (no reply). */
int casework_read(struct spoke *sp, const struct Onestop__ApiRequest *req, uint8_t **buf,
		  size_t *len);

/* At a supervisor node: recount every stored supervision event from
 * scratch in the iteration's transaction (supervise.c), with the case
 * calendar. 0, OS_ENOTALLOWED (this node is no supervisor), or a store
 * error (the iteration is poisoned). */
int casework_rebuild_stats(struct spoke *sp);

/* Register the service's hooks: work (sign the queued case messages and
 * licence changes as one batch into the outbox, in the iteration's
 * transaction) and after_commit (forget them). 0 or OS_EFULL. */
int casework_attach(struct spoke *sp, struct loop *l);

#endif
