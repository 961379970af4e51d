/* The filing checks of a one-stop case (docs/PROTOCOL.md §11, "Filing
 * checks"): what a filing node checks, from its own copies, before it sends
 * a case to the item's owner. No I/O: the caller looks up the item, verifies
 * the assertion and resolves the shared references, and passes the results. */
#ifndef OS_FILING_H
#define OS_FILING_H

#include <stddef.h>
#include <stdint.h>

#include "assertion.h"
#include "util.h"

#define FILING_GIVEN_MAX 128   /* materials one filing gives at most */
#define FILING_REASON_MAX 1024 /* bytes kept of an item's offline_reason, NUL included */

/* How a given material comes: the two arms of CaseMaterial. */
enum filing_source {
	FILING_SHARED = 1, /* a reference to an entry of a replicated dataset */
	FILING_UPLOAD = 2, /* an uploaded document (sealed to the owner) */
};

/* One material the applicant gives. Pointers are borrowed for the call. */
struct filing_material {
	enum filing_source source;
	/* UPLOAD: the item's material name it supplies (required, non-empty).
	 * SHARED: the material name the reference stands for, or NULL / ""
	 * when it is matched by its dataset only. */
	const char *name;
	const char *dataset; /* SHARED: the dataset (a valid name) */
	const char *key;     /* SHARED: the entry's key (ds_key_valid) */
	int resolved;        /* SHARED: 1 when the caller found the entry */
};

/* Everything the checks look at; the caller fills it from its lookups.
 * Pointers are borrowed for the call. */
struct filing_request {
	const char *item_code; /* the key in dataset "items" */
	/* The packed ItemValue of item_code in the local copy, or NULL (and
	 * item_len 0) when it has no such entry. */
	const uint8_t *item;
	size_t item_len;
	/* The result of verifying the applicant's assertion at this node: 0,
	 * or the OS_E* code assertion_verify_at / assertion_check_subject /
	 * assertion_replay_claim returned. */
	int assertion_rc;
	const struct assertion *assertion;       /* when assertion_rc is 0: the verified one */
	const char *assertion_why;               /* may be NULL: the verifier's reason sentence */
	const struct filing_material *materials; /* may be NULL when n_materials is 0 */
	size_t n_materials;
	const char *filer; /* the filing node (this node): a valid node name */
};

/* What the checks learnt of the item, for the case and for the counter. */
struct filing_result {
	char owner[OS_NAME_MAX]; /* the owning node: filled once the item is found */
	/* OS_EOFFLINE: the item's offline_reason (cut at a character boundary
	 * to FILING_REASON_MAX - 1 bytes); "" otherwise. */
	char offline_reason[FILING_REASON_MAX];
	uint32_t legal_days;    /* the item's, for the due dates */
	uint32_t promised_days; /* the item's, for the due dates */
};

/* Check a filing, rule by rule in this order, and stop at the first that
 * fails:
 *   1. the item exists in the local copy: OS_ENOTFOUND ("no item X"); an
 *      entry that does not decode or fails ds_item_check: OS_EDECODE;
 *   2. the item is online: OS_EOFFLINE, why naming the offline_reason and
 *      the owner, which res also holds;
 *   3. the assertion verified: its own code (assertion_rc), passed through;
 *   4. the assertion's level >= the item's min_level: OS_ELEVEL;
 *   5. every material the item requires is given: OS_EMATERIAL, why naming
 *      every missing one. A material with shared_data set is given by a
 *      SHARED reference to that dataset (unnamed, or named after it);
 *      another by an UPLOAD or a SHARED reference of its name;
 *   6. every SHARED reference given is resolved: OS_ENOTFOUND, why naming
 *      the first unresolved dataset:key.
 * A malformed request (NULL req or res, a bad item code or filer, a
 * material without its fields, more than FILING_GIVEN_MAX, an assertion_rc
 * that is no error code, a 0 without an assertion) is OS_EINVAL before any
 * rule. why (may be NULL; why_size bytes) gets one readable sentence on
 * refusal and "" on success. res is cleared first and filled as far as the
 * item was read. 0 when every rule holds: res->owner is the node to send
 * the case to. */
int filing_check(const struct filing_request *req, struct filing_result *res, char *why,
		 size_t why_size) __attribute__((warn_unused_result));

#endif
