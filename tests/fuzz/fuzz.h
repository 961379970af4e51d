/* Shared by the fuzz targets, the replay driver and the seed generator:
 * the libFuzzer entry point and a fixed test world (keys, registry, clock)
 * so that seeds signed by the generator verify in the targets. These keys
 * are for tests only and protect nothing. */
#ifndef OS_FUZZ_H
#define OS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW_MS 1800000000000ull
#define FUZZ_DAY_MS 86400000ull
#define FUZZ_MAX_BYTES (1u << 20)

/* Root key of the test registry, and the signing key of node "gd.sz". */
#define FUZZ_ROOT_SK                                                     \
	"296341ebb9734983dc5134704963927290d0a2e6dd4da1b95bb233a5fa3741" \
	"5756e4a6589632bbe69b3954e32f51a99f8476cc9163cd4ae52bf61792ab240fbf"
#define FUZZ_NODE_SK                                                     \
	"f14622562cfab84a9017e98b565f959862cd6a378847b89f99d75fc156e738" \
	"82bffc1cfef83beca0c141f77b9c0caf9cc66932e7bba10231b8e061516849af37"
#define FUZZ_NODE_BOX "0fc1b3cc7a4cf122c16ffab0d13f893d29c7892d7643cf55c913ba0d8a4ea904"
#define FUZZ_HUB_BOX "bcc36072f7853fc58959d94b926cfc2b5d4e27574f646cf96efe8cf5dc09ae7c"

/* Rejections are the normal case under fuzzing: log errors only. */
static inline void fuzz_quiet(void)
{
	os_log_set_level(OS_LOG_ERROR);
}

static inline void fuzz_key(uint8_t *out, size_t n, const char *hex)
{
	if (os_unhex(out, n, hex) != 0)
		__builtin_trap();
}

/* The test registry: hub, gd.sz (active, key version 1, signing key
 * FUZZ_NODE_SK), gd.old (revoked), sup (subscribes to "supervision").
 * Built unsigned; sign it with FUZZ_ROOT_SK when bytes are needed. */
static inline struct registry *fuzz_registry(void)
{
	static char *star[] = {"*"};
	static char *gov[] = {"gov.*", "onestop.DeadLetter"};
	static char *topics[] = {"supervision"};
	static char *datasets[] = {"items", "identity"};
	struct registry *r = NULL;
	fuzz_quiet();
	if (crypto_setup() != 0 || registry_new(&r) != 0)
		__builtin_trap();
	os_sign_sk node_sk;
	fuzz_key(node_sk, sizeof(node_sk), FUZZ_NODE_SK);
	struct reg_node n;

	memset(&n, 0, sizeof(n));
	n.name = "hub";
	n.roles = REG_ROLE_HUB;
	memset(n.sign_pk, 0x11, 32);
	fuzz_key(n.box_pk, 32, FUZZ_HUB_BOX);
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_types = 1;
	n.allowed_types = star;
	if (registry_add(r, &n) != 0)
		__builtin_trap();

	memset(&n, 0, sizeof(n));
	n.name = "gd.sz";
	n.roles = REG_ROLE_SPOKE | REG_ROLE_IDP;
	memcpy(n.sign_pk, node_sk + 32, 32);
	fuzz_key(n.box_pk, 32, FUZZ_NODE_BOX);
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_types = 2;
	n.allowed_types = gov;
	n.n_publish = 2;
	n.publish = datasets;
	if (registry_add(r, &n) != 0)
		__builtin_trap();

	memset(&n, 0, sizeof(n));
	n.name = "gd.old";
	n.roles = REG_ROLE_SPOKE;
	memset(n.sign_pk, 0x22, 32);
	memset(n.box_pk, 0x23, 32);
	n.key_version = 3;
	n.status = REG_REVOKED;
	if (registry_add(r, &n) != 0)
		__builtin_trap();

	memset(&n, 0, sizeof(n));
	n.name = "sup";
	n.roles = REG_ROLE_SUPERVISOR | REG_ROLE_SPOKE;
	memset(n.sign_pk, 0x33, 32);
	memset(n.box_pk, 0x34, 32);
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_topics = 1;
	n.topics = topics;
	if (registry_add(r, &n) != 0)
		__builtin_trap();

	r->version = 3;
	r->issued_ms = FUZZ_NOW_MS - FUZZ_DAY_MS;
	r->expires_ms = FUZZ_NOW_MS + 365 * FUZZ_DAY_MS;
	crypto_wipe(node_sk, sizeof(node_sk));
	return r;
}

#endif
