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
	size_t n_province_topics;
	char **province_topics; /* heard only from origins of the same province */
};

enum reg_ds_mode { REG_DS_FULL = 1, REG_DS_CACHED = 2 };

struct reg_dataset {
	char *name;
	enum reg_ds_mode mode;
	char *scope;     /* prefix of the registry declaring it: "" national */
	char *sequencer; /* the hub that sequences it: the national registry's
			  * hub, or the delegation's hub; "" (a registry
			  * without delegations): the hub a node connects to */
};

/* A subtree delegated to another root key (Registry.delegations). */
struct reg_delegation {
	char *prefix; /* the subtree */
	os_sign_pk root_pk;
	char *hub; /* the hub serving it */
	char *by;  /* prefix of the registry that delegated it: "" national */
};

/* One signed registry of a chain: the national one (prefix "") or a
 * delegated one. */
struct reg_part {
	char *prefix;
	uint64_t version;
	uint64_t issued_ms;
	uint64_t expires_ms;
	uint8_t *signed_bytes; /* its packed SignedRegistry, without a chain */
	size_t signed_len;
};

/* A registry as a node uses it: the national registry merged with every
 * delegated registry of its chain (docs/PROTOCOL.md 13.2). Without
 * delegations it is the one signed registry, as before federation. */
struct registry {
	uint64_t version; /* the chain's generation: the sum of its parts'
			   * versions (the one registry's version without a
			   * chain); grows with every change of any part */
	uint64_t issued_ms;
	uint64_t expires_ms; /* the earliest of its parts' */
	size_t n_nodes;
	struct reg_node *nodes; /* sorted by name, every part's */
	size_t n_datasets;
	struct reg_dataset *datasets; /* sorted by name, every part's */
	uint8_t *signed_bytes;        /* the packed SignedRegistry with its chain, or NULL */
	size_t signed_len;
	/* Federation: */
	char *prefix; /* of a registry being edited: "" national, or the
		       * delegated subtree (every node name inside it); ""
		       * for a chain. Never NULL. */
	char *hub;    /* the national registry's hub ("" none). Never NULL. */
	size_t n_delegations;
	struct reg_delegation *delegations; /* every part's, sorted by prefix */
	size_t n_parts;
	struct reg_part *parts; /* parts[0] the national one, then by prefix */
	uint64_t serial;        /* no other registry made in this process has it:
			  * what caches of facts read from a registry compare
			  * (two chains may share a generation) */
};

/* Parse and check a packed SignedRegistry and its chain (the delegated
 * registries in SignedRegistry.delegated). With anchor != NULL the
 * national signature must verify under it (else OS_EBADSIG), and each
 * delegated registry under the root_pk of the delegation naming its prefix
 * in a registry verified before it (none: OS_ENOTALLOWED); with anchor ==
 * NULL no signature is checked (for `registry show` without an anchor, and
 * for editing). Every node of a delegated registry, and every dataset it
 * declares, lies inside its prefix; its delegations lie inside it too
 * (else OS_ENAME). With now_ms != 0 an expired part is OS_EEXPIRED. Every
 * node name, role, key length and status is validated (OS_EDECODE /
 * OS_ENAME), and names must be unique across the chain (OS_EEXIST). A
 * packed delegated registry alone (Registry.prefix set) parses only with
 * anchor == NULL (editing); with an anchor its signature is checked first
 * (OS_EBADSIG), then it is OS_ENOTALLOWED (so an editor learns it was
 * signed by that key). A delegated registry names no hub and carries no
 * chain (OS_EDECODE); parts sharing a prefix are OS_EDECODE. On success
 * *out is a new registry the caller frees with registry_free; signed_bytes
 * is a copy of buf for a registry without a chain, else the chain packed
 * anew (the national registry, then its parts by prefix). The error's
 * reason is logged (registry_rejected). */
int registry_parse(const uint8_t *buf, size_t len, const os_sign_pk anchor, uint64_t now_ms,
		   struct registry **out);

/* registry_parse of a file's contents; OS_EIO if it cannot be read. */
int registry_load(const char *path, const os_sign_pk anchor, uint64_t now_ms,
		  struct registry **out);

void registry_free(struct registry **r);

/* An empty national registry (version 0, prefix and hub "") for
 * `registry init`. */
int registry_new(struct registry **out);

/* Add a deep copy of node (OS_EEXIST if the name is taken, OS_ENAME if
 * invalid or outside r->prefix). Keeps nodes sorted. */
int registry_add(struct registry *r, const struct reg_node *node);

/* Declare a dataset, or change the mode of a declared one. OS_ENAME for
 * a bad name or one outside r->prefix, OS_EINVAL for a bad mode. */
int registry_set_dataset(struct registry *r, const char *name, enum reg_ds_mode mode);

/* The declared dataset, or NULL. */
const struct reg_dataset *registry_find_dataset(const struct registry *r, const char *name);

/* 1 when the node may publish the dataset (listed in its publish list). */
int registry_may_publish(const struct reg_node *n, const char *dataset);

/* Set a node's status; OS_ENOTFOUND if absent. */
int registry_set_status(struct registry *r, const char *name, enum reg_status st);

/* Pack r (its nodes, datasets, delegations, prefix and hub), sign it with
 * the root secret key and replace r->signed_bytes with the result (also
 * returned through out/len, borrowed from r); r is then the one part of
 * its chain (parts[0]). The caller sets version, issued_ms and expires_ms
 * first. One registry is signed at a time: a merged chain (n_parts > 1) is
 * OS_EINVAL; each file holds one registry and hubs assemble the chain. */
int registry_sign(struct registry *r, const os_sign_sk root_sk, const uint8_t **out, size_t *len);

/* ------------------------------------------------------------ federation */

/* Offer one delegated registry (a packed SignedRegistry with
 * Registry.prefix set, no chain) to the chain *r: verified under the
 * delegation of its prefix in *r, its names inside the prefix, unexpired
 * at now_ms. When its version is above the part held for that prefix (or
 * none is held), *r is replaced by a new merged registry (the old one
 * freed) and 1 is returned; 0 when it is not newer; else the error
 * (OS_ENOTALLOWED: no delegation of that prefix, or OS_EBADSIG: not signed
 * by its key; OS_ENAME: a name outside the prefix; OS_EEXIST: a name
 * another part has; OS_EEXPIRED, OS_EDECODE, OS_ENOMEM; OS_EINVAL when *r
 * is not a chain of a national registry), *r unchanged. Parts below it that
 * its new version no longer delegates leave the chain (logged
 * registry_part_dropped). */
int registry_adopt_part(struct registry **r, const uint8_t *part, size_t len, uint64_t now_ms);

/* Whether offered may replace held (both verified chains): -1 when it
 * holds an older version of a part held (a rollback), 0 when every part
 * is the same version as held's, 1 when no part is older and one is newer
 * or new. */
int registry_compare(const struct registry *held, const struct registry *offered);

/* The delegated parts of r inside prefix ("" every delegated part), each
 * a packed SignedRegistry, packed as one chain for a `registry` frame up
 * to a parent hub: a SignedRegistry whose registry and signature are
 * empty and whose delegated lists them. *out is malloc'd (caller frees).
 * 0, OS_ENOTFOUND (none) or OS_ENOMEM. */
int registry_pack_parts(const struct registry *r, const char *prefix, uint8_t **out, size_t *len);

/* The prefix hub serves: the prefix of the delegation whose hub it is, ""
 * for the national hub (r->hub, or any hub of a registry without
 * delegations); NULL when hub is neither. Lives as long as r. */
const char *registry_hub_prefix(const struct registry *r, const char *hub);

/* The delegations directly below prefix ("" national): inside it and not
 * inside another delegation inside it. Fills up to max pointers into
 * out (live as long as r); returns how many there are. */
size_t registry_children(const struct registry *r, const char *prefix,
			 const struct reg_delegation **out, size_t max);

/* The province of name: the prefix of the top-level delegation (by "")
 * holding it, or "" for a national node. Lives as long as r. */
const char *registry_province(const struct registry *r, const char *name);

/* 1 when node (a node name) sees dataset: it is national, or declared by
 * a registry whose prefix holds node. */
int registry_dataset_visible(const struct registry *r, const struct reg_dataset *ds,
			     const char *node);

/* 1 when subscriber hears a message to @topic from origin: topic is in
 * its topics, or in its province_topics and origin is in its province. */
int registry_hears(const struct registry *r, const struct reg_node *subscriber, const char *topic,
		   const char *origin);

/* Editing: set r's prefix (a delegated registry being made; "" national).
 * OS_ENAME for a bad prefix, OS_EINVAL when a node, dataset or delegation
 * lies outside it, r names a hub, or r is a merged chain. */
int registry_set_prefix(struct registry *r, const char *prefix);
/* Editing: set the national registry's hub ("" none). OS_ENAME for a bad
 * name, OS_EINVAL for a delegated registry (prefix set) or a chain. */
int registry_set_hub(struct registry *r, const char *hub);
/* Editing: delegate prefix (inside r->prefix) to root_pk, served by hub (a
 * node name inside prefix), or replace its key and hub. OS_ENAME,
 * OS_ECONFLICT (overlaps another delegation of r), OS_EFULL, OS_EINVAL (a
 * merged chain). */
int registry_delegate(struct registry *r, const char *prefix, const os_sign_pk root_pk,
		      const char *hub);
/* Editing: remove the delegation of prefix. OS_ENOTFOUND. */
int registry_undelegate(struct registry *r, const char *prefix);

/* BLAKE2b-256 of r's signed_bytes (the packed chain) into out; zeros when
 * r has none. Two chains of equal generation differ in it when their
 * content does (a part dropped as another went forward). */
void registry_digest(const struct registry *r, os_hash out);

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
