/* The spoke's case service (docs/PROTOCOL.md section 11): files cases after
 * the filing checks, makes the transitions this node may make, carries them
 * to the other party as "onestop.Case" messages in the transaction that
 * stores them, applies what the other party sends, issues e-licences on
 * approval, and answers the API's case reads from the committed store. */
#ifndef SPOKE_CASEWORK_H
#define SPOKE_CASEWORK_H

#include <stddef.h>
#include <stdint.h>

#include "onestop.pb-c.h"

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

/* ------------------------------------------------------------ shared
 * What the modules beside the case service (complaints.c, evaluate.c)
 * use of it: its queue of spoke-made messages (signed into the outbox in
 * the iteration's work phase, with the case messages), the supervision
 * stream, the calendar and the local copies. */

struct sv_event;
struct replica_entry;

/* The outcome of an API write that such a module makes in the iteration's
 * transaction: a refusal (code < 0 and one sentence), or on code 0 the
 * packed ApiReply (request_id set) that the API sends once the iteration
 * committed. The API frees reply. */
struct casework_write {
	int code;
	char msg[CASEWORK_MSG_MAX];
	uint8_t *reply;
	size_t reply_len;
};

/* Set w's refusal: code and the sentence fmt makes. */
void casework_write_fail(struct casework_write *w, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Seal len bytes of data (NULL when len is 0) to pk (crypto_box_seal)
 * into out->data, malloc'd (the caller frees it, also on error). 0,
 * OS_ENOMEM or crypto_seal's error. */
int casework_seal(const os_box_pk pk, const uint8_t *data, size_t len, ProtobufCBinaryData *out);

/* An item from the local copy of dataset "items". */
struct casework_item {
	char owner[OS_NAME_MAX];
	char kind[64];
	uint32_t promised_days, legal_days;
};

/* Queue payload (taken over; freed on error too) of type for dest, to be
 * signed into the outbox in this iteration's work phase. Whatever the
 * caller wrote in the iteration's transaction with it commits with the
 * message or not at all. 0 or OS_ENOMEM. */
int casework_queue(struct spoke *sp, const char *dest, const char *type, uint8_t *payload,
		   size_t len);

/* 1 when this node's supervision events are wanted: it is a supervisor
 * itself, or another active node subscribes to @supervision. */
int casework_stream_wanted(struct spoke *sp);

/* Tell event ev (sv_event_valid) to the supervision stream, in t: counted
 * here (sup_count) when this node is a supervisor, and queued for
 * @supervision when another active node subscribes. An event that does not
 * pack is logged and skipped. 0, OS_ENOMEM or a store error.
 * casework_event_packed does the same with a packed event. */
int casework_event(struct spoke *sp, struct store_txn *t, const struct sv_event *ev);
int casework_event_packed(struct spoke *sp, struct store_txn *t, const uint8_t *buf, size_t len);

/* The working-day calendar of the node (holidays_file,
 * calendar_utc_offset_min). */
const struct cal *casework_cal(const struct spoke *sp);

/* 1 when n more messages fit in the outbox (outbox_quota), counting those
 * queued in this iteration. */
int casework_room(const struct spoke *sp, size_t n);

/* Entry key of dataset in the local copy into *e (the caller's buffer):
 * 0, OS_ENOTFOUND (also for a dataset the registry does not declare), or
 * a store error. */
int casework_lookup(struct spoke *sp, const char *dataset, const char *key,
		    struct replica_entry *e);

/* Item code from the local copy into *out, through the buffer e. 0,
 * OS_ENOTFOUND, OS_EDECODE or a store error. */
int casework_item_get(struct spoke *sp, struct replica_entry *e, const char *code,
		      struct casework_item *out);

/* Register the service's hooks: work (sign the queued case messages and
 * licence changes as one batch into the outbox, in the iteration's
 * transaction) and after_commit (forget them). 0 or OS_EFULL. */
int casework_attach(struct spoke *sp, struct loop *l);

#endif
