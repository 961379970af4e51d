/* The signed node registry: who may connect, with which keys and roles,
 * what each node subscribes to and may send. Parsed from the packed
 * SignedRegistry of proto/onestop.proto and verified against the trust
 * anchor (the root Ed25519 public key). */
#ifndef OS_REGISTRY_H
#define OS_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include "crypto.h"

#define REG_ROLE_HUB 0x01u
#define REG_ROLE_SPOKE 0x02u
#define REG_ROLE_IDP 0x04u
#define REG_ROLE_SUPERVISOR 0x08u

enum reg_status { REG_ACTIVE = 1, REG_SUSPENDED = 2, REG_REVOKED = 3 };

#define REG_MAX_NODES 100000u
#define REG_MAX_LIST 256u /* topics, allowed types, datasets per node */
#define REG_MAX_BYTES (64u << 20)

struct reg_node {
	char *name;
	unsigned roles; /* REG_ROLE_* bits */
	os_sign_pk sign_pk;
	uint32_t key_version;
	os_box_pk box_pk;
	enum reg_status status;
	size_t n_topics;
	char **topics; /* without '@' */
	size_t n_types;
	char **allowed_types; /* "*", "prefix.*" or exact */
	size_t n_publish;
	char **publish; /* dataset names */
};

enum reg_ds_mode { REG_DS_FULL = 1, REG_DS_CACHED = 2 };

struct reg_dataset {
	char *name;
	enum reg_ds_mode mode;
};

struct registry {
	uint64_t version;
	uint64_t issued_ms;
	uint64_t expires_ms;
	size_t n_nodes;
	struct reg_node *nodes; /* sorted by name */
	size_t n_datasets;
	struct reg_dataset *datasets; /* sorted by name */
	uint8_t *signed_bytes;        /* the packed SignedRegistry it came from, or NULL */
	size_t signed_len;
};

/* Parse and check a packed SignedRegistry. With anchor != NULL the
 * signature must verify under it (else OS_EBADSIG); with anchor == NULL it
 * is not checked (for `registry show` without an anchor, and for editing).
 * With now_ms != 0 an expired registry is OS_EEXPIRED. Every node name,
 * role, key length and status is validated (OS_EDECODE / OS_ENAME), and
 * names must be unique. On success *out is a new registry the caller frees
 * with registry_free; it keeps a copy of buf in signed_bytes. */
int registry_parse(const uint8_t *buf, size_t len, const os_sign_pk anchor, uint64_t now_ms,
		   struct registry **out);

/* registry_parse of a file's contents; OS_EIO if it cannot be read. */
int registry_load(const char *path, const os_sign_pk anchor, uint64_t now_ms,
		  struct registry **out);

void registry_free(struct registry **r);

/* An empty registry (version 0) for `registry init`. */
int registry_new(struct registry **out);

/* Add a deep copy of node (OS_EEXIST if the name is taken, OS_ENAME if
 * invalid). Keeps nodes sorted. */
int registry_add(struct registry *r, const struct reg_node *node);

/* Declare a dataset, or change the mode of a declared one. OS_ENAME for
 * a bad name, OS_EINVAL for a bad mode. */
int registry_set_dataset(struct registry *r, const char *name, enum reg_ds_mode mode);

/* The declared dataset, or NULL. */
const struct reg_dataset *registry_find_dataset(const struct registry *r, const char *name);

/* 1 when the node may publish the dataset (listed in its publish list). */
int registry_may_publish(const struct reg_node *n, const char *dataset);

/* Set a node's status; OS_ENOTFOUND if absent. */
int registry_set_status(struct registry *r, const char *name, enum reg_status st);

/* Pack r, sign it with the root secret key and replace r->signed_bytes
 * with the result (also returned through out/len, borrowed from r). The
 * caller sets version, issued_ms and expires_ms first. */
int registry_sign(struct registry *r, const os_sign_sk root_sk, const uint8_t **out, size_t *len);

/* Lookups; NULL when absent. Pointers live as long as r. */
const struct reg_node *registry_find(const struct registry *r, const char *name);
const struct reg_node *registry_find_box(const struct registry *r, const os_box_pk pk);

/* 1 when the node is REG_ACTIVE, else 0. */
int registry_node_active(const struct reg_node *n);

/* The node named name when r has it and it is REG_ACTIVE; NULL when it is
 * absent, suspended or revoked (or r or name is NULL). The pointer lives
 * as long as r. This is the check for everything a node sends: a frame
 * from a node that is not active is refused. */
const struct reg_node *registry_active_node(const struct registry *r, const char *name);

/* 1 when the node may send messages of this type, else 0. */
int registry_type_allowed(const struct reg_node *n, const char *type);

/* 1 when the node subscribes to topic (given without '@'), else 0. */
int registry_subscribes(const struct reg_node *n, const char *topic);

/* "hub,spoke" style text of a role mask into buf; returns buf. */
const char *registry_roles_str(unsigned roles, char *buf, size_t size);
/* Parse one role name into its bit; 0 or OS_EINVAL. */
int registry_role_parse(const char *s, unsigned *bit);
const char *registry_status_str(enum reg_status st);

#endif
