/* E-licences (docs/PROTOCOL.md section 11, "E-licences"): the values of
 * dataset "licences", their schema as a publisher may write them, and the
 * check an application's licence material must pass. No I/O. */
#ifndef OS_LICENCE_H
#define OS_LICENCE_H

#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define DS_LICENCES "licences"
#define LICENCE_TEXT_MAX 257 /* number, item, holder: a dataset key (DS_KEY_MAX) and the NUL */

/* A decoded LicenceValue. */
struct licence {
	char number[LICENCE_TEXT_MAX];
	char item[LICENCE_TEXT_MAX];
	char holder[LICENCE_TEXT_MAX];
	char issuer[OS_NAME_MAX];
	uint64_t valid_from_ms;
	uint64_t valid_until_ms; /* 0: no end */
	int revoked;
};

/* Decode a packed LicenceValue into *out. 0, OS_EINVAL (NULL argument) or
 * OS_EDECODE (not a LicenceValue, a text too long for struct licence, an
 * issuer that is no node name, a status other than active or revoked). */
int licence_decode(const uint8_t *value, size_t len, struct licence *out);

/* Pack l into a malloc'd *out of *len bytes (the caller frees it). 0,
 * OS_EINVAL or OS_ENOMEM. */
int licence_pack(const struct licence *l, uint8_t **out, size_t *len);

/* The schema of a change to dataset "licences" published by publisher
 * under key: the value decodes, its number is the key, its issuer is the
 * publisher, it names an item and a holder, and valid_until (when set) is
 * after valid_from; current (may be NULL), the stored value, must have
 * been issued by the publisher too (no node rewrites another's licence).
 * 0, OS_EINVAL or OS_ENOTALLOWED, with one sentence in reason. */
int licence_change_check(const char *key, const char *publisher, const uint8_t *value, size_t len,
			 const uint8_t *current, size_t current_len, char *reason,
			 size_t reason_size);

/* Whether licence l, as stored under its number and signed by publisher,
 * holds for an application at now_ms, in this order:
 *   OS_EISSUER   forged: publisher is not its issuer, or item_owner (the
 *                owner of l->item in the local items copy, NULL when there
 *                is no such item) is not its issuer;
 *   OS_EREVOKED  revoked by its issuer;
 *   OS_EEXPIRED  now_ms before valid_from or at or after valid_until;
 *   OS_ESUBJECT  holder (NULL or "": not checked) is not its holder.
 * 0 when it holds; why (size bytes) gets one sentence on refusal.
 * OS_EINVAL for NULL l or publisher. */
int licence_verify(const struct licence *l, const char *publisher, const char *item_owner,
		   const char *holder, uint64_t now_ms, char *why, size_t size);

#endif
