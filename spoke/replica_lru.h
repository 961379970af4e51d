/* The held keys of one cached-mode dataset of the spoke's replica, most
 * recently used first, so that the replica evicts the least recently used
 * beyond its budget (cache_entries). An index in the one hash map
 * (common/map.h) over a doubly linked list; memory only, rebuilt from the
 * store at start. */
#ifndef SPOKE_REPLICA_LRU_H
#define SPOKE_REPLICA_LRU_H

#include <stddef.h>

struct map;
struct replica_lru_node;

struct replica_lru {
	struct map *index;             /* key -> node; NULL while empty */
	struct replica_lru_node *head; /* most recently used */
	struct replica_lru_node *tail; /* least recently used */
	size_t n;
	int built; /* filled from the store since start or reload */
};

/* An empty LRU (not built). Needs no memory: cannot fail. */
void replica_lru_init(struct replica_lru *l);

/* Forget every key and free what l holds; l is empty and not built
 * afterwards (usable again). */
void replica_lru_clear(struct replica_lru *l);

/* Make key the most recently used, adding it (copied) when absent.
 * 0 or OS_ENOMEM (then l is unchanged). */
int replica_lru_add(struct replica_lru *l, const char *key);

/* Make key the most recently used when it is held; nothing otherwise. */
void replica_lru_touch(struct replica_lru *l, const char *key);

/* Forget key (nothing when absent). */
void replica_lru_remove(struct replica_lru *l, const char *key);

/* The least recently used key, or NULL when empty. Borrowed: valid until
 * the key is removed or l is cleared. */
const char *replica_lru_oldest(const struct replica_lru *l);

#endif
