/* `onestop-hub --status` (status.h): the backlog of every queue of a hub's
 * store, read in a read-only transaction (the running hub goes on), with
 * the parent's queue marked `up` and each child hub's `down`. */
#include "status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crypto.h"
#include "err.h"
#include "registry.h"
#include "store.h"
#include "util.h"

#define STATUS_QVAL_BYTES 16 /* offset of the u32be byte count in a queue value */

/* One queue's totals, as the walk meets its keys (grouped by name). */
#define STATUS_CHILDREN_MAX 1024u

struct status_walk {
	const char *parent;
	const struct registry *reg;                              /* the stored chain, or NULL */
	const struct reg_delegation *child[STATUS_CHILDREN_MAX]; /* this hub's child hubs */
	uint8_t child_seen[STATUS_CHILDREN_MAX];
	size_t n_child;
	char name[OS_NAME_MAX + 1];
	uint64_t entries, bytes;
	uint64_t queues, total;
	int printed_parent;
	int rc;
};

/* up: the parent's queue; down: a child hub's (a delegation's hub: a hub
 * queues only for the hubs directly below it); node: an own node's. */
static const char *status_kind(const struct status_walk *w, const char *name)
{
	if (w->parent && strcmp(name, w->parent) == 0)
		return "up";
	if (w->reg)
		for (size_t i = 0; i < w->reg->n_delegations; i++)
			if (strcmp(w->reg->delegations[i].hub, name) == 0)
				return "down";
	return "node";
}

static void status_flush(struct status_walk *w)
{
	if (!w->name[0])
		return;
	printf("%s %s backlog=%llu bytes=%llu\n", status_kind(w, w->name), w->name,
	       (unsigned long long)w->entries, (unsigned long long)w->bytes);
	if (w->parent && strcmp(w->name, w->parent) == 0)
		w->printed_parent = 1;
	for (size_t i = 0; i < w->n_child; i++)
		if (strcmp(w->child[i]->hub, w->name) == 0)
			w->child_seen[i] = 1;
	w->queues++;
	w->name[0] = 0;
	w->entries = w->bytes = 0;
}

static int status_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
	struct status_walk *w = arg;
	const char *dest = k;
	size_t dl;

	if (kl < 10 || ((const char *)k)[kl - 9] != 0)
		return STORE_NEXT; /* not a queue key */
	dl = kl - 9;
	if (dl > OS_NAME_MAX || memchr(dest, 0, dl))
		return STORE_NEXT;
	if (strncmp(w->name, dest, dl) != 0 || w->name[dl] != 0) {
		status_flush(w);
		memcpy(w->name, dest, dl);
		w->name[dl] = 0;
	}
	w->entries++;
	w->total++;
	if (vl >= STATUS_QVAL_BYTES + 4) {
		const uint8_t *b = (const uint8_t *)v + STATUS_QVAL_BYTES;

		w->bytes +=
			(uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
	}
	return STORE_NEXT;
}

/* The chain the hub stored (database "trust", key "chain"), unverified:
 * only its delegations are read. NULL when none is stored. */
static struct registry *status_chain(struct store_txn *t, store_dbi trust)
{
	struct registry *reg = NULL;
	const void *v;
	size_t vl;

	if (store_get(t, trust, "chain", 5, &v, &vl) != 0 ||
	    registry_parse(v, vl, NULL, 0, &reg) != 0)
		return NULL;
	return reg;
}

int status_print(const char *data_dir, size_t map_mb, const char *name, const char *parent_name)
{
	struct status_walk w = {.parent = parent_name};
	struct registry *reg = NULL;
	struct store *st = NULL;
	struct store_txn *t = NULL;
	store_dbi queues, trust;
	struct stat sb;
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/data.mdb", data_dir);
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "onestop-hub: --status: no hub store in %s\n", data_dir);
		return OS_EIO;
	}
	rc = crypto_setup() == 0 ? 0 : OS_EINVAL;
	if (rc == 0)
		rc = store_open(data_dir, map_mb, 16, &st);
	if (rc == 0)
		rc = store_dbi_open(st, "queues", &queues);
	if (rc == 0)
		rc = store_dbi_open(st, "trust", &trust);
	if (rc == 0)
		rc = store_begin(st, 1, &t);
	if (rc)
		goto out;
	reg = status_chain(t, trust);
	w.reg = reg;
	if (reg && name) {
		const char *prefix = registry_hub_prefix(reg, name);

		if (prefix) {
			w.n_child = registry_children(reg, prefix, w.child, STATUS_CHILDREN_MAX);
			if (w.n_child > STATUS_CHILDREN_MAX)
				w.n_child = STATUS_CHILDREN_MAX;
		}
	}
	rc = store_walk(t, queues, NULL, 0, NULL, 0, status_one, &w);
	if (rc)
		goto out;
	status_flush(&w);
	/* The links have a line even with nothing waiting. */
	if (parent_name && !w.printed_parent)
		printf("up %s backlog=0 bytes=0\n", parent_name);
	for (size_t i = 0; i < w.n_child; i++)
		if (!w.child_seen[i])
			printf("down %s backlog=0 bytes=0\n", w.child[i]->hub);
	printf("queues=%llu entries=%llu\n", (unsigned long long)w.queues,
	       (unsigned long long)w.total);
out:
	registry_free(&reg);
	store_abort(&t);
	store_close(&st);
	if (rc)
		fprintf(stderr, "onestop-hub: --status: %s (%s)\n", os_strerror(rc),
			os_errname(rc));
	return rc;
}
