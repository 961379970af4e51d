/* The replica's LRU order of held keys: the one hash map (common/map.h)
 * finds a key's node, the list keeps the order; each operation is O(1). */
#include "replica_lru.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "map.h"

struct replica_lru_node {
	struct replica_lru_node *prev, *next;
	char key[];
};

void replica_lru_init(struct replica_lru *l)
{
	memset(l, 0, sizeof(*l));
}

void replica_lru_clear(struct replica_lru *l)
{
	struct replica_lru_node *n = l->head;

	while (n) {
		struct replica_lru_node *next = n->next;

		free(n);
		n = next;
	}
	map_free(&l->index);
	replica_lru_init(l);
}

static void replica_lru_unlink(struct replica_lru *l, struct replica_lru_node *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		l->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		l->tail = n->prev;
	n->prev = n->next = NULL;
}

static void replica_lru_push_front(struct replica_lru *l, struct replica_lru_node *n)
{
	n->prev = NULL;
	n->next = l->head;
	if (l->head)
		l->head->prev = n;
	l->head = n;
	if (!l->tail)
		l->tail = n;
}

int replica_lru_add(struct replica_lru *l, const char *key)
{
	struct replica_lru_node *n = l->index ? map_get(l->index, key) : NULL;
	size_t kl;

	if (n) {
		replica_lru_unlink(l, n);
		replica_lru_push_front(l, n);
		return 0;
	}
	if (!l->index && map_new(&l->index) < 0)
		return OS_ENOMEM;
	kl = strlen(key);
	n = malloc(sizeof(*n) + kl + 1);
	if (!n)
		return OS_ENOMEM;
	memcpy(n->key, key, kl + 1);
	if (map_put(l->index, n->key, n) < 0) {
		free(n);
		return OS_ENOMEM;
	}
	replica_lru_push_front(l, n);
	l->n++;
	return 0;
}

void replica_lru_touch(struct replica_lru *l, const char *key)
{
	struct replica_lru_node *n = l->index ? map_get(l->index, key) : NULL;

	if (n && n != l->head) {
		replica_lru_unlink(l, n);
		replica_lru_push_front(l, n);
	}
}

void replica_lru_remove(struct replica_lru *l, const char *key)
{
	struct replica_lru_node *n = l->index ? map_del(l->index, key) : NULL;

	if (!n)
		return;
	replica_lru_unlink(l, n);
	free(n);
	l->n--;
}

const char *replica_lru_oldest(const struct replica_lru *l)
{
	return l->tail ? l->tail->key : NULL;
}
