/* The hub's registry chain (docs/PROTOCOL.md 13.2): the national registry
 * (the `registry` file, the stored copy, or a newer one from the parent)
 * merged with the delegated registries: this hub's own (`province_registry`,
 * signed by its province's root key), those its child hubs send up and
 * those its parent sends down; the highest version of each part, each
 * verified from the trust anchor. A change is stored (database "trust",
 * key "chain"), then routing, the sessions (which get the new chain) and
 * the parent link (which sends this subtree's parts up) are told. */
#ifndef HUB_CHAIN_H
#define HUB_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

/* Start-up, before the store opens (also --check-config): load the
 * `registry` file into h->reg, verified from h->anchor and unexpired;
 * offer it the `province_registry` file when one is configured (it must be
 * a delegated registry inside this hub's subtree, signed by the key the
 * national registry delegates its prefix to, every name inside that
 * prefix, unexpired); check this hub's own node in the result (present,
 * active, with this key's public halves) and set h->key_version. Each
 * error is printed on stderr; a refused province registry is also logged
 * (start_failed what=province_registry). 0 or OS_ECONFIG. */
int chain_load(struct hub *h);

/* Start-up, once the store is open (h->st) and before any other
 * transaction: open the "trust" database (h->db_trust) and merge h->reg
 * with the chain stored there, keeping the highest version of each part.
 * A national registry file older than the stored one is refused
 * (registry_rollback_refused, OS_ECONFIG) by a hub without a parent unless
 * allow_registry_rollback is set (then the file is used and the stored
 * chain dropped: registry_rollback_allowed); a hub with a parent keeps the
 * stored national registry (its file is a bootstrap copy). A stored chain
 * that does not verify is logged and ignored. The result, with this hub's
 * node checked again (OS_ECONFIG, printed), replaces h->reg and is stored
 * durably. 0, OS_ECONFIG or a store error (OS_ESTORE, OS_EFULL). */
int chain_open(struct hub *h);

/* SIGHUP (after the options were re-read): read the `registry` and
 * `province_registry` files again and adopt what is newer, as chain_open
 * merges. A file that fails any check, a national registry older than the
 * one in force at a hub without a parent, or a result without this hub's
 * node leaves the chain in force (registry_reload_failed, with the file,
 * code and reason); no change is logged as registry_unchanged. */
void chain_reload(struct hub *h);

/* Log the chain in force as event (registry_loaded at start): version,
 * parts, nodes, expiry, and source. */
void chain_log(const struct hub *h, const char *event, const char *source);

/* A registry frame from node (link_ops.registry): node must be one of this
 * hub's child hubs, serving prefix Q; each delegated registry of buf (as
 * registry_pack_parts packs them) inside Q that verifies, has not expired
 * (h->now_ms) and is newer than the one held is adopted
 * (registry_part_adopted); every other one is refused and logged
 * (registry_part_refused node=.. prefix=.. reason=..). A change is stored
 * in the iteration's transaction and spread. buf is borrowed for the call. */
void chain_from_child(struct hub *h, const char *node, const uint8_t *buf, size_t len);

/* A registry chain from the parent (Welcome.registry or a registry frame,
 * parent_ops.registry): verified from the anchor (every part unexpired at
 * h->now_ms), given this hub's own and its children's parts where those
 * held are newer, and adopted when it rolls back no part and changes one
 * (registry_loaded source=parent); a chain that does not verify or lacks
 * this hub's node (registry_chain_refused), or that rolls back a part
 * (registry_rollback_refused), is logged and dropped. buf is borrowed for
 * the call. 0, or the store error that spoiled the iteration. */
int chain_from_parent(struct hub *h, const uint8_t *buf, size_t len);

#endif
