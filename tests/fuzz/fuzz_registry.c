/* Fuzz target: registry_parse with the test trust anchor and without one;
 * every parsed registry is walked (lookups and the tree questions of a
 * chain), a single registry is re-signed and parsed again, which must
 * give the same nodes, and a verified chain is rebuilt part by part with
 * registry_adopt_part, which must give the same chain. */
#include <stdlib.h>

#include "fuzz.h"
#include "registry.h"

static void fuzz_walk(const struct registry *r)
{
	char roles[64];
	const struct reg_delegation *kids[8];
	for (size_t i = 0; i < r->n_nodes; i++) {
		const struct reg_node *n = &r->nodes[i];
		if (registry_find(r, n->name) != n || registry_find_box(r, n->box_pk) != n)
			__builtin_trap();
		if (i > 0 && strcmp(r->nodes[i - 1].name, n->name) >= 0)
			__builtin_trap();
		(void)registry_node_active(n);
		(void)registry_type_allowed(n, "gov.Application");
		(void)registry_type_allowed(n, "onestop.DeadLetter");
		(void)registry_subscribes(n, "supervision");
		(void)registry_roles_str(n->roles, roles, sizeof(roles));
		(void)registry_status_str(n->status);
		(void)registry_province(r, n->name);
		(void)registry_hub_prefix(r, n->name);
		(void)registry_hears(r, n, "supervision", r->nodes[0].name);
		for (size_t k = 0; k < n->n_province_topics; k++)
			(void)registry_hears(r, n, n->province_topics[k], r->nodes[0].name);
	}
	for (size_t i = 0; i < r->n_datasets; i++)
		for (size_t k = 0; k < r->n_nodes && k < 8; k++)
			(void)registry_dataset_visible(r, &r->datasets[i], r->nodes[k].name);
	for (size_t i = 0; i < r->n_delegations; i++) {
		const struct reg_delegation *d = &r->delegations[i];
		if (registry_hub_prefix(r, d->hub) == NULL)
			__builtin_trap();
		(void)registry_children(r, d->prefix, kids, 8);
	}
	size_t n = registry_children(r, "", kids, 8);
	for (size_t i = 0; i < n && i < 8; i++)
		if (strcmp(kids[i]->by, r->prefix) != 0)
			__builtin_trap();
	(void)registry_find(r, "gd.sz");
}

/* A verified chain rebuilt from its national part, adopting each
 * delegated part in order (a parent's prefix sorts before its children's),
 * is the same chain. */
static void fuzz_rebuild(const struct registry *r)
{
	struct registry *n = NULL;
	if (registry_parse(r->parts[0].signed_bytes, r->parts[0].signed_len, NULL, 0, &n) != 0)
		__builtin_trap();
	for (size_t i = 1; i < r->n_parts; i++)
		if (registry_adopt_part(&n, r->parts[i].signed_bytes, r->parts[i].signed_len, 0) !=
		    1)
			__builtin_trap();
	if (n->version != r->version || n->n_nodes != r->n_nodes ||
	    n->signed_len != r->signed_len ||
	    memcmp(n->signed_bytes, r->signed_bytes, r->signed_len) != 0 ||
	    registry_compare(r, n) != 0)
		__builtin_trap();
	uint8_t *b = NULL;
	size_t l = 0;
	if (registry_pack_parts(r, "", &b, &l) != 0)
		__builtin_trap();
	free(b);
	registry_free(&n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static os_sign_sk root_sk;
	static int ready;
	if (!ready) {
		fuzz_quiet();
		if (crypto_setup() != 0)
			__builtin_trap();
		fuzz_key(root_sk, sizeof(root_sk), FUZZ_ROOT_SK);
		ready = 1;
	}
	struct registry *r = NULL;
	if (registry_parse(data, size, root_sk + 32, FUZZ_NOW_MS, &r) == 0) {
		fuzz_walk(r);
		if (r->n_parts > 1)
			fuzz_rebuild(r);
		registry_free(&r);
	}
	if (registry_parse(data, size, NULL, 0, &r) != 0)
		return 0;
	fuzz_walk(r);
	if (r->n_parts > 1) {
		/* A chain whose signatures were not checked: its parts offered
		 * again are checked, and may be refused. */
		struct registry *n = NULL;
		if (registry_parse(r->parts[0].signed_bytes, r->parts[0].signed_len, NULL, 0, &n) !=
		    0)
			__builtin_trap();
		for (size_t i = 1; i < r->n_parts; i++)
			(void)registry_adopt_part(&n, r->parts[i].signed_bytes,
						  r->parts[i].signed_len, FUZZ_NOW_MS);
		/* The raw input as a part a child hub sends up: any bytes. */
		(void)registry_adopt_part(&n, data, size, FUZZ_NOW_MS);
		fuzz_walk(n);
		(void)registry_compare(r, n);
		(void)registry_compare(n, r);
		registry_free(&n);
		uint8_t *b = NULL;
		size_t l = 0;
		if (registry_pack_parts(r, "", &b, &l) != 0)
			__builtin_trap();
		free(b);
		registry_free(&r);
		return 0;
	}
	/* Round trip: what parsed once signs and parses again, unchanged. A
	 * delegated registry alone parses only without an anchor. */
	const uint8_t *b;
	size_t l;
	if (registry_sign(r, root_sk, &b, &l) != 0)
		__builtin_trap();
	struct registry *again = NULL;
	const unsigned char *anchor = r->prefix[0] == '\0' ? root_sk + 32 : NULL;
	if (registry_parse(b, l, anchor, 0, &again) != 0)
		__builtin_trap();
	if (again->n_nodes != r->n_nodes || again->version != r->version ||
	    strcmp(again->prefix, r->prefix) != 0 || strcmp(again->hub, r->hub) != 0 ||
	    again->n_delegations != r->n_delegations || again->n_datasets != r->n_datasets)
		__builtin_trap();
	for (size_t i = 0; i < r->n_nodes; i++)
		if (strcmp(again->nodes[i].name, r->nodes[i].name) != 0 ||
		    again->nodes[i].roles != r->nodes[i].roles ||
		    again->nodes[i].status != r->nodes[i].status ||
		    again->nodes[i].n_province_topics != r->nodes[i].n_province_topics)
			__builtin_trap();
	registry_free(&again);
	registry_free(&r);
	return 0;
}
