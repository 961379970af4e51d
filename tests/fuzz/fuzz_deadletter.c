/* Fuzz target: env_deadletter_unpack; every string it returns must be
 * terminated inside its field, and packing the result must unpack again. */
#include <stdlib.h>

#include "envelope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct env_deadletter dl;
	if (env_deadletter_unpack(data, size, &dl) != 0)
		return 0;
	if (strnlen(dl.destination, sizeof(dl.destination)) == sizeof(dl.destination) ||
	    strnlen(dl.type, sizeof(dl.type)) == sizeof(dl.type) ||
	    strnlen(dl.reason, sizeof(dl.reason)) == sizeof(dl.reason) ||
	    strnlen(dl.refused_by, sizeof(dl.refused_by)) == sizeof(dl.refused_by))
		__builtin_trap();
	uint8_t *buf = NULL;
	size_t len = 0;
	if (env_deadletter_pack(dl.has_id ? dl.id : NULL, dl.destination, dl.type, dl.code,
				dl.reason, dl.refused_by, &buf, &len) != 0)
		return 0;
	struct env_deadletter back;
	if (env_deadletter_unpack(buf, len, &back) != 0 || back.code != dl.code ||
	    back.has_id != dl.has_id)
		__builtin_trap();
	free(buf);
	return 0;
}
