/* The spoke's registry: the newest verified SignedRegistry among the file,
 * the store and what the hub sends, kept in the store and checked for this
 * node's own entry. A change of the hub's transport key asks the hub link
 * to reconnect (through spoke_hub_restart, never by name). */
#ifndef SPOKE_TRUST_H
#define SPOKE_TRUST_H

#include <stddef.h>
#include <stdint.h>

struct spoke;

/* At start, in the start-up write transaction: adopt the newer of the
 * stored copy and sp->conf.registry, both verified under sp->anchor (the
 * file when registry_compare(stored, file) > 0; a newer file is stored). Logged as registry_loaded; a stored copy or file
 * that does not verify is logged as registry_rejected. 0; the file's error
 * (OS_EIO, OS_EDECODE, OS_EBADSIG, ...; logged as registry_invalid) when
 * neither verifies; or a store error. */
int trust_start(struct spoke *sp);

/* Offer a packed SignedRegistry (from the hub; a chain with its delegated
 * registries). It is adopted when it verifies under the anchor and is
 * newer than the current one (registry_compare > 0: no part older, one
 * newer or new): stored in the iteration's transaction, swapped in, logged
 * as registry_updated. One holding an older version of a part in force is
 * a rollback: not adopted, logged as registry_rollback_refused.
 * Expiry is not checked: a newer registry is better even when both have
 * run out. 0 when adopted or merely not newer (*adopted says which, may be
 * NULL); the parse error (logged as registry_rejected); or a store error
 * (the iteration is poisoned). source names the sender in the log. */
int trust_offer(struct spoke *sp, const uint8_t *buf, size_t len, const char *source, int *adopted);

/* SIGHUP: read sp->conf.registry again and adopt it when it verifies and
 * is newer (registry_updated), else log registry_rejected or
 * registry_unchanged. */
void trust_reload(struct spoke *sp);

#endif
