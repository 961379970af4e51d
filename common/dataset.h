/* Replicated datasets: the ChangeRequest payload a publisher signs, the
 * rules that decide whether a publisher may make a change (registry rights,
 * item ownership, value schemas of "identity" and "items"), and the digest
 * that compares two copies of a dataset. Shared by the hub (sequencer) and
 * the spokes (caches). */
#ifndef OS_DATASET_H
#define OS_DATASET_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"
#include "registry.h"
#include "util.h"

#define DS_CHANGE_TYPE "onestop.Change" /* envelope type of a change */
#define DS_IDENTITY "identity"
#define DS_ITEMS "items"
#define DS_KEY_MAX 256           /* bytes in a key */
#define DS_VALUE_MAX (64u << 10) /* bytes in a value */

/* A decoded ChangeRequest. value points into memory the change owns
 * (freed by ds_change_clear). */
struct ds_change {
	char dataset[OS_NAME_MAX];
	char key[DS_KEY_MAX + 1];
	int is_delete;
	const uint8_t *value;
	size_t value_len;
	void *priv_;
};

/* Keys: 1..DS_KEY_MAX bytes of printable ASCII (0x21..0x7e). 0 or OS_EINVAL. */
int ds_key_valid(const char *key);

/* Pack a ChangeRequest; *out is malloc'd, the caller frees it. value may be
 * NULL when is_delete. OS_EINVAL for a bad key or dataset name, OS_ETOOBIG
 * for a value over DS_VALUE_MAX. */
int ds_change_pack(const char *dataset, const char *key, int is_delete, const uint8_t *value,
		   size_t value_len, uint8_t **out, size_t *out_len);

/* Decode a ChangeRequest payload (bounded by DS_VALUE_MAX + DS_KEY_MAX +
 * 1 KiB). 0 or OS_EDECODE / OS_EINVAL / OS_ETOOBIG; on success the caller
 * calls ds_change_clear. */
int ds_change_unpack(const uint8_t *payload, size_t len, struct ds_change *out);
void ds_change_clear(struct ds_change *c);

/* May publisher make change c under reg? Checks, in order: dataset
 * declared in the registry (OS_ENOTFOUND), publisher active and holding
 * the dataset in its publish list (OS_ENOTALLOWED), a put's value valid for
 * the dataset's schema (OS_EINVAL: ds_identity_check / ds_item_check), for
 * "items" the value's owner is the publisher (OS_ENOTALLOWED), and for a
 * delete of an item: current (may be NULL when the entry is absent) is the
 * value being deleted, whose owner must be the publisher. A put of an item
 * may pass the stored value as current too (NULL: not checked); an item
 * owned by another node is then not replaced (OS_ENOTALLOWED). On refusal
 * reason (size reason_size) gets one readable sentence. 0 when allowed. */
int ds_change_allowed(const struct registry *reg, const char *publisher, const struct ds_change *c,
		      const uint8_t *current, size_t current_len, char *reason, size_t reason_size);

/* The node a change of dataset ds is addressed to (docs/PROTOCOL.md 9.2,
 * 13.5): ds->sequencer when the registry names one, else hub (the hub the
 * publisher connects to, in a registry without delegations). ds may be
 * NULL (hub). The pointer is ds's or hub. */
const char *ds_sequencer(const struct reg_dataset *ds, const char *hub);

/* Schema checks. identity: kind set, level 1..3, status set, authority a
 * valid node name. items: name 1..256 bytes, owner a valid node name, an
 * offline-only item (online false) carries a non-empty offline_reason,
 * min_level 0..3, at most 64 materials and regions. */
/* "active", "suspended", "revoked" or "deceased" for an IdentityValue
 * status; NULL for any other value. */
const char *ds_subject_status_str(int status);

int ds_identity_check(const uint8_t *value, size_t len, char *reason, size_t reason_size);
int ds_item_check(const uint8_t *value, size_t len, char *reason, size_t reason_size);

/* The digest of a dataset copy: BLAKE2b-256 over, for every entry in key
 * order, u32be(len(key)) || key || u32be(len(signed)) || signed, where
 * signed is the publisher's packed Signed envelope that wrote the entry.
 * Two copies holding the same entries give the same digest. */
struct ds_digest {
	os_hash_state st;
	uint64_t count;
};
void ds_digest_init(struct ds_digest *d);
void ds_digest_add(struct ds_digest *d, const char *key, size_t key_len, const uint8_t *signed_env,
		   size_t signed_len);
void ds_digest_final(struct ds_digest *d, os_hash out);

#endif
