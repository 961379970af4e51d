/* Fuzz target: registry_parse with the test trust anchor and without one;
 * every parsed registry is walked, re-signed and parsed again, which must
 * give the same nodes. */
#include <stdlib.h>

#include "fuzz.h"
#include "registry.h"

static void fuzz_walk(const struct registry *r)
{
	char roles[64];
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
	}
	(void)registry_find(r, "gd.sz");
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
		registry_free(&r);
	}
	if (registry_parse(data, size, NULL, 0, &r) != 0)
		return 0;
	fuzz_walk(r);
	/* Round trip: what parsed once signs and parses again, unchanged. */
	const uint8_t *b;
	size_t l;
	if (registry_sign(r, root_sk, &b, &l) != 0)
		__builtin_trap();
	struct registry *again = NULL;
	if (registry_parse(b, l, root_sk + 32, 0, &again) != 0)
		__builtin_trap();
	if (again->n_nodes != r->n_nodes || again->version != r->version)
		__builtin_trap();
	for (size_t i = 0; i < r->n_nodes; i++)
		if (strcmp(again->nodes[i].name, r->nodes[i].name) != 0 ||
		    again->nodes[i].roles != r->nodes[i].roles ||
		    again->nodes[i].status != r->nodes[i].status)
			__builtin_trap();
	registry_free(&again);
	registry_free(&r);
	return 0;
}
