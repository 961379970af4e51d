/* Helpers of the replicated-dataset tests and the dataset benchmark:
 * where a spoke stands in a dataset (libonestop Datasets), waiting for a
 * spoke to reach a sequence or the hub's copy, deterministic item and
 * identity values, and publishing them in batches through onestop_put. */
#ifndef OS_IT_DS_HARNESS_H
#define OS_IT_DS_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#include "harness.h"

/* ------------------------------------------------------------ positions */

/* The spoke's Datasets entry for dataset, through a fresh connection.
 * 0, ONESTOP_ENOTFOUND when the spoke does not list the dataset, or the
 * call's error code. */
int ds_info(struct net_proc *p, const char *dataset, onestop_dataset_t *out);

/* Lowercase hex of a 32-byte digest into out (65 bytes). Returns out. */
const char *ds_hex32(const uint8_t d[32], char out[65]);

/* Poll until p holds dataset at seq >= want and is not syncing, up to
 * timeout_ms. 0 or -1; *last (may be NULL) gets the last entry read. */
int ds_wait_seq(struct net_proc *p, const char *dataset, uint64_t want, int timeout_ms,
		onestop_dataset_t *last);

/* Poll the hub's copy (net_hub_digest) until its seq >= want, up to
 * timeout_ms. 0 or -1; *last gets the last digest read. */
int ds_wait_hub_seq(struct net *n, const char *dataset, uint64_t want, int timeout_ms,
		    struct net_digest *last);

/* Wait until the hub has sequenced up to hub_seq (0: whatever it holds),
 * then until p's copy of dataset is the hub's: same seq, not syncing, the
 * same count and digest. Nothing may be published meanwhile beyond
 * hub_seq: changes still on their way to the hub could make a copy that
 * is about to change look final. 0 or -1; *hub and *last (may be NULL)
 * get what was last read. */
int ds_wait_same_as_hub(struct net *n, struct net_proc *p, const char *dataset, uint64_t hub_seq,
			int timeout_ms, struct net_digest *hub, onestop_dataset_t *last);

/* ------------------------------------------------------------ values */

/* A deterministic item of owner number idx (version 0 first; a later
 * version changes the name and the promised days). Every tenth item
 * (idx % 10 == 7) is offline-only with a reason unique to it. */
struct ds_item {
	char code[48];
	char name[96];
	char reason[128];
	char owner[64];
	const char *regions[2];
	onestop_material_t materials[2];
	onestop_item_t v;
};

void ds_item_make(struct ds_item *it, const char *owner, unsigned idx, unsigned version);
/* The item code alone (same as ds_item_make's it->code). */
void ds_item_code(char *buf, size_t size, const char *owner, unsigned idx);
/* 1 when item idx is offline-only. */
int ds_item_offline(unsigned idx);

/* Compare a decoded value with the item that was published; 0 when every
 * field matches, else -1 with the first difference in why. */
int ds_item_same(const onestop_item_t *got, const onestop_item_t *want, char *why, size_t why_size);

/* Publish items first..first+count-1 of owner at version, per_req per
 * onestop_put (or deletes when del). 0 or the first failing call's code
 * (printed with onestop_last_error). */
int ds_put_items(onestop_t *c, const char *owner, unsigned first, unsigned count, unsigned version,
		 int del, size_t per_req);

/* Options for a net that shares the cached dataset identity: spoke 0 is
 * "idp" (roles spoke and idp, publishes identity), spokes 1 and 2 are "a"
 * and "b". o is zeroed first; the caller may add spokes from 3 on. */
void ds_opts_identity(struct net_opts *o);

/* Publish one identity entry (kind ONESTOP_PERSON). 0 or the code. */
int ds_put_identity(onestop_t *c, const char *subject, unsigned level, int status,
		    const char *authority);

/* Look subject up in identity at p through a fresh connection (a
 * cached-mode miss waits up to wait_ms for the hub; 0: the spoke's
 * default). Returns the code of onestop_get (ONESTOP_EDECODE when the value
 * does not decode); the value goes into *id and the entry's seq into
 * *entry_seq (either may be NULL). */
int ds_get_identity(struct net_proc *p, const char *subject, int wait_ms, onestop_identity_t *id,
		    uint64_t *entry_seq);

#endif
