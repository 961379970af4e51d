/* The hub's registry chain (docs/PROTOCOL.md 13.2): the national registry
 * (the `registry` file, or a newer one from the parent) merged with the
 * delegated registries: this hub's own (`province_registry`, signed by its
 * province's root key), those its child hubs send up and those its parent
 * sends down. Every registry offered is verified from the trust anchor; a
 * change is stored (database "trust"), then routing, the sessions (which
 * get the new chain) and the parent link (which sends this subtree's parts
 * up) are told. */
#ifndef HUB_CHAIN_H
#define HUB_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include "hub.h"

/* A registry frame from node (a child hub): adopt each of its delegated
 * registries that lies inside node's subtree and is newer; others are
 * refused and logged (registry_part_refused). link_ops.registry. */
void chain_from_child(struct hub *h, const char *node, const uint8_t *buf, size_t len);

/* A registry chain from the parent (Welcome.registry or a registry
 * frame): adopt it when it verifies and rolls back no part. 0, or a store
 * error. parent_ops.registry. */
int chain_from_parent(struct hub *h, const uint8_t *buf, size_t len);

#endif
