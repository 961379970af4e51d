/* Shared by the in-process fuzz targets (fuzz_hub_link.c, fuzz_spoke_api.c):
 * a reader that turns the fuzz input into choices, a live test world (fresh
 * keys, a registry signed now, valid dataset values) and a scratch store
 * directory. Keys and registry live for the process; a store per input. */
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
