/* Registry fixtures shared by the unit tests of modules that verify
 * against a registry: add an active node that may send any type, and sign
 * and parse the finished registry as a daemon would load it. */
#ifndef OS_TESTREG_H
#define OS_TESTREG_H

#include <string.h>

#include "crypto.h"
#include "registry.h"

/* Add an active node named name with roles, kp's keys (key version 1),
 * every type allowed, and the datasets publish[0..n_publish) it may
 * publish (borrowed until r is freed). 0 or registry_add's error. */
static inline int tu_reg_node(struct registry *r, const char *name, unsigned roles,
			      const struct os_keypair *kp, char **publish, size_t n_publish)
{
	static char *star[] = {"*"};
	struct reg_node n = {0};

	n.name = (char *)name;
	n.roles = roles;
	memcpy(n.sign_pk, kp->sign_pk, sizeof(n.sign_pk));
	memcpy(n.box_pk, kp->box_pk, sizeof(n.box_pk));
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_types = 1;
	n.allowed_types = star;
	n.n_publish = n_publish;
	n.publish = publish;
	return registry_add(r, &n);
}

/* Give *r version 1, valid from an hour before now_ms for 1000 hours, sign
 * it with root's key and parse it into *out as a daemon loads one; *r is
 * freed either way. 0 or the error of registry_sign or registry_parse. */
static inline int tu_reg_seal(struct registry **r, const struct os_keypair *root, uint64_t now_ms,
			      struct registry **out)
{
	const uint64_t hour = 3600000ull;
	const uint8_t *b;
	size_t l;
	int rc;

	(*r)->version = 1;
	(*r)->issued_ms = now_ms - hour;
	(*r)->expires_ms = now_ms + 1000 * hour;
	rc = registry_sign(*r, root->sign_sk, &b, &l);
	if (rc == 0)
		rc = registry_parse(b, l, root->sign_pk, now_ms, out);
	registry_free(r);
	return rc;
}

#endif
