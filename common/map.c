/* String-keyed hash map with separate chaining (FNV-1a), doubling when the
 * load passes one entry per bucket. Used for the daemons' in-memory indexes. */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct map_entry {
	struct map_entry *next;
	void *value;
	char key[];
};

struct map {
	struct map_entry **buckets;
	size_t n_buckets; /* a power of two */
	size_t len;
};

static uint64_t map_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++) {
		h ^= (uint8_t)*s;
		h *= 1099511628211ull;
	}
	return h;
}

int map_new(struct map **out)
{
	struct map *m = calloc(1, sizeof(*m));

	if (!m)
		return OS_ENOMEM;
	m->n_buckets = 64;
	m->buckets = calloc(m->n_buckets, sizeof(*m->buckets));
	if (!m->buckets) {
		free(m);
		return OS_ENOMEM;
	}
	*out = m;
	return 0;
}

void map_free(struct map **mp)
{
	struct map *m = *mp;

	if (!m)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct map_entry *e = m->buckets[i];

		while (e) {
			struct map_entry *next = e->next;

			free(e);
			e = next;
		}
	}
	free(m->buckets);
	free(m);
	*mp = NULL;
}

void *map_get(const struct map *m, const char *key)
{
	const struct map_entry *e = m->buckets[map_hash(key) & (m->n_buckets - 1)];

	for (; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e->value;
	return NULL;
}

/* Rehash into twice as many buckets; on allocation failure the map simply
 * stays at its current size (still correct, only slower). */
static void map_grow(struct map *m)
{
	size_t n = m->n_buckets * 2;
	struct map_entry **b = calloc(n, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < m->n_buckets; i++) {
		struct map_entry *e = m->buckets[i];

		while (e) {
			struct map_entry *next = e->next;
			size_t j = map_hash(e->key) & (n - 1);

			e->next = b[j];
			b[j] = e;
			e = next;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

int map_put(struct map *m, const char *key, void *value)
{
	size_t i = map_hash(key) & (m->n_buckets - 1);
	struct map_entry *e;
	size_t klen;

	for (e = m->buckets[i]; e; e = e->next) {
		if (strcmp(e->key, key) == 0) {
			e->value = value;
			return 0;
		}
	}
	klen = strlen(key);
	e = malloc(sizeof(*e) + klen + 1);
	if (!e)
		return OS_ENOMEM;
	memcpy(e->key, key, klen + 1);
	e->value = value;
	e->next = m->buckets[i];
	m->buckets[i] = e;
	m->len++;
	if (m->len > m->n_buckets)
		map_grow(m);
	return 0;
}

void *map_del(struct map *m, const char *key)
{
	struct map_entry **pp = &m->buckets[map_hash(key) & (m->n_buckets - 1)];

	for (; *pp; pp = &(*pp)->next) {
		struct map_entry *e = *pp;

		if (strcmp(e->key, key) == 0) {
			void *v = e->value;

			*pp = e->next;
			free(e);
			m->len--;
			return v;
		}
	}
	return NULL;
}

size_t map_len(const struct map *m)
{
	return m->len;
}

/* pos encodes (bucket << 32 | index in chain); chains are short, so
 * walking to the index again on each call costs little. */
void *map_next(const struct map *m, size_t *pos, const char **key)
{
	size_t b = *pos >> 32, k = *pos & 0xffffffffu;

	for (; b < m->n_buckets; b++, k = 0) {
		struct map_entry *e = m->buckets[b];
		size_t i;

		for (i = 0; e && i < k; i++)
			e = e->next;
		if (e) {
			*pos = (b << 32) | (k + 1);
			if (key)
				*key = e->key;
			return e->value;
		}
	}
	*pos = b << 32;
	return NULL;
}
