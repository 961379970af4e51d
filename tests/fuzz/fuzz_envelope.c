/* Fuzz target: env_decode of a packed Signed, then env_verify against the
 * fixed test registry (with and without the batch cache), and the
 * DeadLetter payload when the type says so. */
#include <stdlib.h>

#include "envelope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct registry *reg;
	static struct batchsig_cache *cache;
	if (reg == NULL) {
		reg = fuzz_registry();
		if (batchsig_cache_new(64, &cache) != 0)
			__builtin_trap();
	}
	struct env e;
	if (env_decode(data, size, FUZZ_MAX_BYTES, &e) != 0)
		return 0;
	/* What decode promises, whatever the input. */
	if (os_name_valid(e.origin) != 0 || os_dest_valid(e.destination) != 0 ||
	    os_type_valid(e.type) != 0 || e.env_bytes == NULL || e.payload == NULL ||
	    e.proof.index >= e.proof.count || e.proof.path_len > BATCHSIG_MAX_PATH)
		__builtin_trap();
	int with_cache = env_verify(&e, reg, cache, FUZZ_NOW_MS);
	int without = env_verify(&e, reg, NULL, FUZZ_NOW_MS);
	/* The cache never changes a verdict. */
	if (with_cache != without)
		__builtin_trap();
	(void)env_verify(&e, reg, cache, e.expires_ms);
	if (strcmp(e.type, ENV_DEADLETTER_TYPE) == 0) {
		struct env_deadletter dl;
		(void)env_deadletter_unpack(e.payload, e.payload_len, &dl);
	}
	env_clear(&e);
	return 0;
}
