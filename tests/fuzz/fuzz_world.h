/* Shared by the in-process fuzz targets (fuzz_hub_link.c, fuzz_spoke_api.c):
 * a reader that turns the fuzz input into choices, a live test world (fresh
 * keys, a registry signed now, valid dataset values) and a scratch store
 * directory; and a federated chain for a child hub's session (fw_fed).
 * Keys and registries live for the process; a store per input. */
#ifndef OS_FUZZ_WORLD_H
#define OS_FUZZ_WORLD_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto.h"
#include "dataset.h"
#include "fuzz.h"
#include "onestop.pb-c.h"
#include "registry.h"
#include "tree.h"
#include "util.h"

#define FW_HOUR_MS 3600000ull

/* A set-up step that must work: say which failed, then stop. */
#define FW_CHECK(x)                                                                       \
	do {                                                                              \
		if (x) {                                                                  \
			fprintf(stderr, "fuzz set-up failed: %s (%s:%d)\n", #x, __FILE__, \
				__LINE__);                                                \
			__builtin_trap();                                                 \
		}                                                                         \
	} while (0)

/* ---------------------------------------------------------------- input */

struct fw_in {
	const uint8_t *p;
	size_t n;
};

/* The next byte of the input, 0 once it is used up. */
static inline uint8_t fw_u8(struct fw_in *in)
{
	if (in->n == 0)
		return 0;
	in->n--;
	return *in->p++;
}

static inline uint32_t fw_u16(struct fw_in *in)
{
	uint32_t v = fw_u8(in);
	return v | (uint32_t)fw_u8(in) << 8;
}

/* Up to max bytes of the input (a length byte, then that many bytes). The
 * bytes stay in the input buffer: *out points into it. */
static inline size_t fw_bytes(struct fw_in *in, size_t max, const uint8_t **out)
{
	size_t len = fw_u8(in);
	if (len > max)
		len = max;
	if (len > in->n)
		len = in->n;
	*out = in->p;
	in->p += len;
	in->n -= len;
	return len;
}

/* A NUL-terminated string of up to size-1 input bytes into buf. */
static inline const char *fw_str(struct fw_in *in, char *buf, size_t size)
{
	const uint8_t *b;
	size_t len = fw_bytes(in, size - 1, &b);
	memcpy(buf, b, len);
	buf[len] = '\0';
	return buf;
}

/* One of the n entries of a list, picked by the next byte. */
#define FW_PICK(in, list) ((list)[fw_u8(in) % (sizeof(list) / sizeof((list)[0]))])

/* Mutate a packed frame in place (buf holds cap bytes, *len used) when the
 * next byte says so: most frames go out intact so that the target's
 * handling, not only its decoder, is reached. */
static inline void fw_mutate(struct fw_in *in, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t m = fw_u8(in);
	size_t at;
	if (m < 0xd0 || *len == 0)
		return;
	at = (size_t)fw_u8(in) * *len / 256;
	switch (m & 3) {
	case 0:
		buf[at] ^= (uint8_t)(1u << (fw_u8(in) & 7));
		break;
	case 1:
		*len = at;
		break;
	case 2:
		buf[at] = fw_u8(in);
		break;
	case 3:
		if (*len < cap) {
			memmove(buf + at + 1, buf + at, *len - at);
			buf[at] = fw_u8(in);
			(*len)++;
		}
		break;
	}
}

/* ---------------------------------------------------------------- world */

enum { FW_ROOT, FW_HUB, FW_SELF, FW_PEER, FW_OLD, FW_SUP, FW_KEYS };

/* The nodes: "hub", the fuzzed node "gd.sz" (spoke, identity provider,
 * may send gov.* and dead letters, publishes the three datasets), "b" (a
 * spoke that may send anything and publishes items and licences),
 * "gd.old" (revoked) and "sup" (subscribes to the topic "supervision").
 * Datasets: "items" (full), "identity" and "licences" (cached). */
struct fw_world {
	struct os_keypair keys[FW_KEYS];
	struct registry *reg; /* verified, with its signed bytes */
	uint8_t *item;        /* a valid ItemValue owned by gd.sz */
	size_t item_len;
	uint8_t *item_b; /* the same item owned by b */
	size_t item_b_len;
	uint8_t *identity; /* a valid IdentityValue */
	size_t identity_len;
};

static inline uint8_t *fw_pack_item(const char *owner, size_t *len)
{
	Onestop__ItemValue it = ONESTOP__ITEM_VALUE__INIT;
	Onestop__Material m = ONESTOP__MATERIAL__INIT;
	Onestop__Material *mp = &m;
	static char *regions[] = {"440300"};
	uint8_t *b;
	m.name = "identity card";
	m.shared_data = "identity";
	it.name = "Food business licence";
	it.owner = (char *)owner;
	it.kind = "licence";
	it.online = 1;
	it.offline_reason = "";
	it.n_materials = 1;
	it.materials = &mp;
	it.legal_days = 20;
	it.promised_days = 5;
	it.n_regions = 1;
	it.regions = regions;
	it.min_level = 2;
	*len = onestop__item_value__get_packed_size(&it);
	if (!(b = malloc(*len + 1)))
		__builtin_trap();
	onestop__item_value__pack(&it, b);
	return b;
}

static inline uint8_t *fw_pack_identity(size_t *len)
{
	Onestop__IdentityValue iv = ONESTOP__IDENTITY_VALUE__INIT;
	uint8_t *b;
	iv.kind = ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON;
	iv.level = 2;
	iv.status = ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE;
	iv.authority = "gd.sz";
	iv.updated_ms = os_now_ms();
	*len = onestop__identity_value__get_packed_size(&iv);
	if (!(b = malloc(*len + 1)))
		__builtin_trap();
	onestop__identity_value__pack(&iv, b);
	return b;
}

static inline const struct fw_world *fw_world(void)
{
	static struct fw_world w;
	static int ready;
	static char *star[] = {"*"};
	static char *gov[] = {"gov.*", "onestop.DeadLetter"};
	static char *topics[] = {"supervision"};
	static char *datasets[] = {"items", "identity", "licences"};
	static char *peer_datasets[] = {"items", "licences"};
	static const struct {
		char *name;
		unsigned roles;
		int key;
		enum reg_status status;
	} nodes[] = {
		{"hub", REG_ROLE_HUB, FW_HUB, REG_ACTIVE},
		{"gd.sz", REG_ROLE_SPOKE | REG_ROLE_IDP, FW_SELF, REG_ACTIVE},
		{"b", REG_ROLE_SPOKE, FW_PEER, REG_ACTIVE},
		{"gd.old", REG_ROLE_SPOKE, FW_OLD, REG_REVOKED},
		{"sup", REG_ROLE_SPOKE | REG_ROLE_SUPERVISOR, FW_SUP, REG_ACTIVE},
	};
	struct registry *r = NULL;
	uint64_t now = os_now_ms();
	const uint8_t *b;
	size_t l;

	if (ready)
		return &w;
	fuzz_quiet();
	/* ONESTOP_FUZZ_LOG=1: the daemon's log, to see what a script reaches. */
	if (getenv("ONESTOP_FUZZ_LOG"))
		os_log_set_level(OS_LOG_DEBUG);
	if (crypto_setup() != 0 || registry_new(&r) != 0)
		__builtin_trap();
	for (int i = 0; i < FW_KEYS; i++)
		crypto_keypair_new(&w.keys[i]);
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct reg_node n;
		memset(&n, 0, sizeof(n));
		n.name = nodes[i].name;
		n.roles = nodes[i].roles;
		memcpy(n.sign_pk, w.keys[nodes[i].key].sign_pk, sizeof(os_sign_pk));
		memcpy(n.box_pk, w.keys[nodes[i].key].box_pk, sizeof(os_box_pk));
		n.key_version = 1;
		n.status = nodes[i].status;
		n.n_types = 1;
		n.allowed_types = star;
		if (nodes[i].key == FW_SELF) {
			n.n_types = 2;
			n.allowed_types = gov;
			n.n_publish = 3;
			n.publish = datasets;
		}
		if (nodes[i].key == FW_PEER) {
			n.n_publish = 2;
			n.publish = peer_datasets;
		}
		if (nodes[i].key == FW_SUP) {
			n.n_topics = 1;
			n.topics = topics;
		}
		if (registry_add(r, &n) != 0)
			__builtin_trap();
	}
	if (registry_set_dataset(r, DS_ITEMS, REG_DS_FULL) != 0 ||
	    registry_set_dataset(r, DS_IDENTITY, REG_DS_CACHED) != 0 ||
	    registry_set_dataset(r, "licences", REG_DS_CACHED) != 0)
		__builtin_trap();
	r->version = 3;
	r->issued_ms = now - FW_HOUR_MS;
	r->expires_ms = now + 1000 * FW_HOUR_MS;
	if (registry_sign(r, w.keys[FW_ROOT].sign_sk, &b, &l) != 0 ||
	    registry_parse(b, l, w.keys[FW_ROOT].sign_pk, now, &w.reg) != 0)
		__builtin_trap();
	registry_free(&r);
	w.item = fw_pack_item("gd.sz", &w.item_len);
	w.item_b = fw_pack_item("b", &w.item_b_len);
	w.identity = fw_pack_identity(&w.identity_len);
	ready = 1;
	return &w;
}

/* ---------------------------------------------------------------- federation */

enum { FF_GD_ROOT, FF_GD_HUB, FF_GD_A, FF_GHOST, FF_KEYS };

/* A federated chain for a child hub's session, with the keys of fw_world:
 * the national registry (hub "hub"; nodes hub, b, sup and the child hub
 * gd.hub; the three datasets; "gd" delegated to the gd root key, served by
 * gd.hub) and the province part "gd" (gd.sz as in fw_world, gd.a, gd.old
 * revoked), signed by the gd root. "gd.ghost" has a key and no node. */
struct fw_fed {
	struct os_keypair keys[FF_KEYS];
	uint8_t *chain; /* the merged chain, packed (registry_parse under FW_ROOT) */
	size_t chain_len;
};

#define FW_FED_NATIONAL_VERSION 3
#define FW_FED_PART_VERSION 2

static inline void fw_fed_node(struct registry *r, const char *name, unsigned roles,
			       const struct os_keypair *kp, enum reg_status status)
{
	static char *star[] = {"*"};
	static char *gov[] = {"gov.*", "onestop.DeadLetter"};
	static char *datasets[] = {"items", "identity", "licences"};
	static char *topics[] = {"supervision"};
	struct reg_node n;

	memset(&n, 0, sizeof(n));
	n.name = (char *)name;
	n.roles = roles;
	memcpy(n.sign_pk, kp->sign_pk, sizeof(os_sign_pk));
	memcpy(n.box_pk, kp->box_pk, sizeof(os_box_pk));
	n.key_version = 1;
	n.status = status;
	n.n_types = 1;
	n.allowed_types = star;
	if (strcmp(name, "gd.sz") == 0) {
		n.n_types = 2;
		n.allowed_types = gov;
		n.n_publish = 3;
		n.publish = datasets;
	}
	if (strcmp(name, "sup") == 0) {
		n.n_topics = 1;
		n.topics = topics;
	}
	if (strcmp(name, "gd.a") == 0) {
		n.n_province_topics = 1;
		n.province_topics = topics;
	}
	FW_CHECK(registry_add(r, &n) != 0);
}

/* A part of prefix signed now by sk, its nodes chosen by the bits of which:
 * 1 gd.sz, 2 gd.a, 4 gd.old (revoked), 8 gd.new, 16 gd.hub (a name of the
 * national part), 32 gd.a suspended, 64 a delegation of gd.x. *out is
 * malloc'd; 0 or the error of the registry call that refused it. */
static inline int fw_fed_part(const struct fw_fed *fed, const char *prefix, unsigned which,
			      uint64_t version, uint64_t expires_ms, const os_sign_sk sk,
			      uint8_t **out, size_t *len)
{
	const struct os_keypair *self = &fw_world()->keys[FW_SELF];
	const struct os_keypair *old = &fw_world()->keys[FW_OLD];
	static const struct {
		unsigned bit;
		const char *name;
		unsigned roles;
		int key; /* FF_*, or -1 self, -2 old */
	} nodes[] = {
		{1, "gd.sz", REG_ROLE_SPOKE | REG_ROLE_IDP, -1},
		{2, "gd.a", REG_ROLE_SPOKE, FF_GD_A},
		{4, "gd.old", REG_ROLE_SPOKE, -2},
		{8, "gd.new", REG_ROLE_SPOKE, FF_GHOST},
		{16, "gd.hub", REG_ROLE_HUB, FF_GD_HUB},
	};
	struct registry *r = NULL;
	const uint8_t *b;
	int rc;

	*out = NULL;
	if ((rc = registry_new(&r)) != 0)
		return rc;
	if ((rc = registry_set_prefix(r, prefix)) != 0)
		goto out;
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		const struct os_keypair *kp = nodes[i].key == -1   ? self
					      : nodes[i].key == -2 ? old
								   : &fed->keys[nodes[i].key];
		enum reg_status st = nodes[i].bit == 4 ? REG_REVOKED : REG_ACTIVE;
		if (!(which & nodes[i].bit))
			continue;
		if (nodes[i].bit == 2 && (which & 32))
			st = REG_SUSPENDED;
		if (!tree_in_prefix(nodes[i].name, prefix))
			continue;
		fw_fed_node(r, nodes[i].name, nodes[i].roles, kp, st);
	}
	if ((which & 64) &&
	    (rc = registry_delegate(r, "gd.x", fed->keys[FF_GD_A].sign_pk, "gd.x.hub")) != 0)
		goto out;
	r->version = version;
	r->issued_ms = os_now_ms() - FW_HOUR_MS;
	r->expires_ms = expires_ms;
	if ((rc = registry_sign(r, sk, &b, len)) != 0)
		goto out;
	if (!(*out = malloc(*len ? *len : 1)))
		__builtin_trap();
	memcpy(*out, b, *len);
out:
	registry_free(&r);
	return rc;
}

static inline const struct fw_fed *fw_fed(void)
{
	static struct fw_fed f;
	static int ready;
	const struct fw_world *w = fw_world();
	struct registry *r = NULL, *chain = NULL;
	uint64_t now = os_now_ms();
	uint8_t *part = NULL;
	const uint8_t *b;
	size_t l, pl;

	if (ready)
		return &f;
	for (int i = 0; i < FF_KEYS; i++)
		crypto_keypair_new(&f.keys[i]);
	FW_CHECK(registry_new(&r) != 0);
	FW_CHECK(registry_set_hub(r, "hub") != 0);
	fw_fed_node(r, "hub", REG_ROLE_HUB, &w->keys[FW_HUB], REG_ACTIVE);
	fw_fed_node(r, "b", REG_ROLE_SPOKE, &w->keys[FW_PEER], REG_ACTIVE);
	fw_fed_node(r, "sup", REG_ROLE_SPOKE | REG_ROLE_SUPERVISOR, &w->keys[FW_SUP], REG_ACTIVE);
	fw_fed_node(r, "gd.hub", REG_ROLE_HUB, &f.keys[FF_GD_HUB], REG_ACTIVE);
	FW_CHECK(registry_set_dataset(r, DS_ITEMS, REG_DS_FULL) != 0);
	FW_CHECK(registry_set_dataset(r, DS_IDENTITY, REG_DS_CACHED) != 0);
	FW_CHECK(registry_set_dataset(r, "licences", REG_DS_CACHED) != 0);
	FW_CHECK(registry_delegate(r, "gd", f.keys[FF_GD_ROOT].sign_pk, "gd.hub") != 0);
	r->version = FW_FED_NATIONAL_VERSION;
	r->issued_ms = now - FW_HOUR_MS;
	r->expires_ms = now + 1000 * FW_HOUR_MS;
	FW_CHECK(registry_sign(r, w->keys[FW_ROOT].sign_sk, &b, &l) != 0);
	FW_CHECK(registry_parse(b, l, w->keys[FW_ROOT].sign_pk, now, &chain) != 0);
	FW_CHECK(fw_fed_part(&f, "gd", 1 | 2 | 4, FW_FED_PART_VERSION, now + 1000 * FW_HOUR_MS,
			     f.keys[FF_GD_ROOT].sign_sk, &part, &pl) != 0);
	FW_CHECK(registry_adopt_part(&chain, part, pl, now) != 1);
	FW_CHECK(!chain->signed_bytes || !(f.chain = malloc(chain->signed_len)));
	memcpy(f.chain, chain->signed_bytes, chain->signed_len);
	f.chain_len = chain->signed_len;
	free(part);
	registry_free(&chain);
	registry_free(&r);
	ready = 1;
	return &f;
}

/* ---------------------------------------------------------------- scratch */

/* A fresh directory for one input's store: under $TMPDIR, else /dev/shm
 * when present (no disk writes per input), else /tmp. */
static inline char *fw_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	struct stat st;
	char path[512];
	char *p;
	if (!base || !*base)
		base = stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
				       access("/dev/shm", W_OK) == 0
			       ? "/dev/shm"
			       : "/tmp";
	snprintf(path, sizeof(path), "%s/onestop-fuzz-XXXXXX", base);
	if (!(p = strdup(path)) || !mkdtemp(p))
		__builtin_trap();
	return p;
}

/* Remove dir (flat: the store's files and sockets) and free it. */
static inline void fw_rmdir(char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char sub[1024];
	if (d) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name);
			unlink(sub);
		}
		closedir(d);
	}
	rmdir(dir);
	free(dir);
}

#endif
