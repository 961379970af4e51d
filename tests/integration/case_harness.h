/* Helpers of the case tests (it_case_*): a network of a hub, an idp, a
 * service hall, the owning department and another department sharing
 * identity, items and licences; issuing assertions, filing and acting on
 * cases through libonestop and the CLI, waiting for a case at a spoke and
 * comparing what the two ends of a case hold. */
#ifndef OS_IT_CASE_HARNESS_H
#define OS_IT_CASE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "ds_harness.h"

/* The nodes (spoke names) of a case network, in two regions (gd.sz and
 * gd.gz) of one province (gd). */
#define CH_IDP "gd.idp"         /* issues assertions, publishes identity */
#define CH_HALL "gd.sz.hall"    /* a service hall: files cases */
#define CH_OWNER "gd.sz.market" /* owns the items below but one */
#define CH_DEPT "gd.gz.tax"     /* another department: owns CH_ITEM_PERMIT */
#define CH_SUP "gd.sup"         /* with ch_opts_sup: the province's supervisor */

/* Items. CH_ITEM_LIC (kind licence, owner): materials "identity card"
 * (shared_data identity) and "application form" (an upload); promised 3,
 * legal 5 working days. CH_ITEM_OFFLINE (owner): offline-only with
 * CH_OFFLINE_REASON. CH_ITEM_L3 (owner): as CH_ITEM_LIC with min_level 3.
 * CH_ITEM_PERMIT (kind permit, dept): "identity card" (identity) and
 * "prior licence" (shared_data licences). CH_ITEM_REG (kind registration,
 * owner, no licence on approval): as CH_ITEM_LIC. CH_ITEM_DREG (kind
 * registration, dept): "identity card" (identity) only. */
#define CH_ITEM_LIC "OWN-LIC-0001"
#define CH_ITEM_OFFLINE "OWN-OFF-0002"
#define CH_ITEM_L3 "OWN-L3-0003"
#define CH_ITEM_REG "OWN-REG-0004"
#define CH_ITEM_PERMIT "DEPT-PMT-0001"
#define CH_ITEM_DREG "DEPT-REG-0002"
#define CH_N_ITEMS 6
#define CH_OFFLINE_REASON "on-site inspection of the premises at the owner's hall"
#define CH_MAT_ID "identity card"
#define CH_MAT_FORM "application form"
#define CH_MAT_LIC "prior licence"
#define CH_PROMISED_DAYS 3
#define CH_LEGAL_DAYS 5

/* Subjects in identity: CH_SUBJECT (level 3) and CH_SUBJECT2 (level 2). */
#define CH_SUBJECT "s-applicant-1"
#define CH_SUBJECT2 "s-applicant-2"

struct case_net {
	struct net *n;
	struct net_proc *idp, *hall, *owner, *dept;
	struct net_proc *sup; /* with ch_opts_sup, else NULL */
};

/* Options of a case network: datasets identity and licences (cached) and
 * items (full); spokes idp (roles spoke and idp, publishes identity), hall,
 * owner and dept (these two publish items and licences), in that order
 * (spoke 0..3). o is zeroed first; the caller may add config overrides
 * (o->spoke[i].conf, from index 0 on) before ch_make. */
void ch_opts(struct net_opts *o);

/* ch_opts and a fifth spoke CH_SUP (spoke 4): roles spoke and
 * supervisor, subscribed to the topic supervision; it handles the
 * complaints of both regions and counts every supervision event. */
void ch_opts_sup(struct net_opts *o);

/* Make the network of o (NULL: ch_opts), start it, publish the subjects and
 * the items, and wait until hall, owner and dept hold every item. Fatal on
 * failure. */
void ch_start(struct case_net *cn, const struct net_opts *o);

/* Issue an assertion for subject at level, for the node audience, valid
 * ttl_s seconds (0: 600), at the idp. 0 and a malloc'd *out (caller
 * frees), or the code (message printed). */
int ch_assertion(struct case_net *cn, const char *subject, unsigned level, const char *audience,
		 unsigned ttl_s, uint8_t **out, size_t *len);

/* The same written as hex on one line into a new file under the network's
 * directory, whose path goes into path. 0 or the code. */
int ch_assertion_file(struct case_net *cn, const char *subject, unsigned level,
		      const char *audience, char *path, size_t path_size);

/* File f at p through a fresh connection. The code; id gets the case id;
 * why (may be NULL) the spoke's message. */
int ch_file(struct net_proc *p, const onestop_case_filing_t *f, uint8_t id[ONESTOP_ID_LEN],
	    char *why, size_t why_size);

/* The usual filing at p of item for subject: a fresh assertion (level 2,
 * audience p), channel hall, a reference identity:subject, a reference
 * licences:licence when licence is non-NULL, and unless no_upload an upload
 * CH_MAT_FORM and a form, both holding the text marker (NULL: none). The
 * code; id and why as ch_file. */
int ch_file_std(struct case_net *cn, struct net_proc *p, const char *item, const char *subject,
		const char *licence, const char *marker, int no_upload, uint8_t id[ONESTOP_ID_LEN],
		char *why, size_t why_size);

/* Make a on case id at p through a fresh connection. The code; out (may be
 * NULL) and why as ch_file. */
int ch_act(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], const onestop_case_act_t *a,
	   onestop_case_acted_t *out, char *why, size_t why_size);
/* The same for a step without materials: action, outcome (DECIDE) and
 * reason (may be NULL). */
int ch_act_simple(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], int action, int outcome,
		  const char *reason, onestop_case_acted_t *out, char *why, size_t why_size);

/* Read case id at p (fresh connection) into *out (caller frees with
 * onestop_case_free). The code. */
int ch_get(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], onestop_case_t **out);

/* Poll case id at p (every 20 ms, bounded by timeout_ms) until its state is
 * state, its seq at least seq (0: any) and nothing of p pending. 0, or -1
 * with the last reading printed; *last (may be NULL) gets the last case
 * read (caller frees). */
int ch_wait_state(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], int state, uint64_t seq,
		  int timeout_ms, onestop_case_t **last);

/* Compare case id at a and at b: state, outcome, seq, licence and every
 * step of the history (seq, action, actor, outcome). 0 when the same, -1
 * with the first difference in why. */
int ch_same_case(struct net_proc *a, struct net_proc *b, const uint8_t id[ONESTOP_ID_LEN],
		 char *why, size_t why_size);

/* Count the cases p lists in state (paged by limit, 0: 100); ids (may be
 * NULL) receives up to max ids, in the order listed. The count, or a
 * negative code. */
long ch_count_state(struct net_proc *p, int state, unsigned limit, uint8_t (*ids)[ONESTOP_ID_LEN],
		    size_t max);

/* Run the CLI against spoke p: `onestop ARGS... --api P` (NULL-ended). The
 * exit code (-1 if it did not run); res (may be NULL) gets the output. */
int ch_cli(struct net *n, struct net_proc *p, struct cmd_out *res, const char *arg, ...)
	__attribute__((sentinel));

/* Publish a licence at p (which must publish licences): LicenceValue with
 * every field as given (status 1 active, 2 revoked). 0 or the code. */
int ch_put_licence(struct net_proc *p, const char *number, const char *item, const char *holder,
		   const char *issuer, uint64_t valid_from_ms, uint64_t valid_until_ms, int status);

/* Poll onestop_licence_verify of number (holder NULL) at p until it
 * answers code, bounded by timeout_ms. 0 or -1 (last code printed). */
int ch_wait_licence(struct net_proc *p, const char *number, int code, int timeout_ms);

/* Messages of type onestop.Case received at p, decoded. */
struct ch_casemsg {
	uint8_t case_id[ONESTOP_ID_LEN];
	int has_filing;
	int action; /* of the transition, 0 if none */
	uint64_t seq;
	int refusal_code; /* of a refusal, 0 if none */
	char actor[64];
	char origin[64];
};

/* Receive (and ack) what arrives at p through *c (opened when NULL, left
 * open) within wait_ms, for up to max_msgs messages: each "onestop.Case"
 * message is decoded and passed to cb (may be NULL); *other (may be NULL)
 * counts messages of other types, *bad those that do not decode. The
 * number of onestop.Case messages, or -1 when the spoke could not be
 * asked. The payload passed to cb is borrowed for the call. */
long ch_recv_cases(struct net_proc *p, onestop_t **c, int wait_ms, size_t max_msgs,
		   void (*cb)(const struct ch_casemsg *m, const uint8_t *payload, size_t len,
			      void *arg),
		   void *arg, long *other, long *bad);

/* Count the files under dir (recursively) and the file path (may be NULL)
 * that contain the bytes text. -1 if dir cannot be read. */
int ch_grep_tree(const char *dir, const char *path, const char *text);

/* Where the bytes of text (strlen) first occur in buf[0..len), or NULL. */
const void *ch_find(const void *buf, size_t len, const char *text);

/* Write the case clock file path: decimal Unix ms, replaced atomically.
 * 0 or -1. */
int ch_clock_set(const char *path, uint64_t ms);

/* Hex of an id (static, rotating; as h_idhex). */
#define ch_hex h_idhex

#endif
