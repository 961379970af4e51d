/* The one string-keyed hash map of the daemons' in-memory indexes
 * (sessions by node name, queue counters by destination, a replica's LRU).
 * Keys are copied; values are borrowed pointers the caller owns. Not
 * thread-safe. */
#ifndef OS_MAP_H
#define OS_MAP_H

#include <stddef.h>

struct map;

/* A new empty map in *out. 0 or OS_ENOMEM. */
int map_new(struct map **out);

/* Free the map and NULL *m; values are not freed (use map_next first). */
void map_free(struct map **m);

/* The value stored under key, or NULL. */
void *map_get(const struct map *m, const char *key);

/* Store value under key, replacing any earlier value. 0 or OS_ENOMEM. */
int map_put(struct map *m, const char *key, void *value);

/* Remove key; returns its value or NULL when absent. */
void *map_del(struct map *m, const char *key);

size_t map_len(const struct map *m);

/* Iterate: start with *pos = 0; each call returns the next value (and its
 * key through *key when not NULL) or NULL at the end. The map must not be
 * changed during an iteration. */
void *map_next(const struct map *m, size_t *pos, const char **key);

#endif
