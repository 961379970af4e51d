/* Fuzz target: the dataset value schemas, ds_identity_check and
 * ds_item_check, on the same bytes, and ds_key_valid on the input read as
 * a string. A value accepted as an item also satisfies the item rules. */
#include <stdlib.h>

#include "dataset.h"
#include "err.h"
#include "fuzz.h"
#include "onestop.pb-c.h"

static void fuzz_reason(int rc, const char *reason, size_t size)
{
	if (rc != 0 && rc != OS_EINVAL)
		__builtin_trap();
	if (rc != 0 && (reason[0] == '\0' || strlen(reason) >= size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fuzz_quiet();
		ready = 1;
	}
	char reason[128];
	reason[0] = '\0';
	int rc = ds_identity_check(data, size, reason, sizeof(reason));
	fuzz_reason(rc, reason, sizeof(reason));

	reason[0] = '\0';
	rc = ds_item_check(data, size, reason, sizeof(reason));
	fuzz_reason(rc, reason, sizeof(reason));
	if (rc == 0) {
		Onestop__ItemValue *it = onestop__item_value__unpack(NULL, size, data);
		if (it == NULL || os_name_valid(it->owner) != 0 ||
		    (!it->online && it->offline_reason[0] == '\0') || it->min_level > 3)
			__builtin_trap();
		onestop__item_value__free_unpacked(it, NULL);
	}
	/* No reason buffer at all is fine too. */
	(void)ds_item_check(data, size, NULL, 0);

	char key[DS_KEY_MAX + 8];
	size_t n = size < sizeof(key) - 1 ? size : sizeof(key) - 1;
	if (n > 0)
		memcpy(key, data, n);
	key[n] = '\0';
	rc = ds_key_valid(key);
	if (rc == 0 && (strlen(key) == 0 || strlen(key) > DS_KEY_MAX))
		__builtin_trap();
	return 0;
}
