/* Fuzz target: ds_change_unpack of a ChangeRequest payload, then
 * ds_change_allowed against a fixed registry for several publishers and
 * stored values; a decoded change packs and decodes again unchanged. */
#include <stdlib.h>

#include "dataset.h"
#include "err.h"
#include "fuzz.h"
#include "onestop.pb-c.h"

static struct registry *reg;
static uint8_t *item_sz, *item_gz;
static size_t item_sz_len, item_gz_len;

/* A stored item owned by owner, for the delete and replace rules. */
static uint8_t *fuzz_item(const char *owner, size_t *len)
{
	Onestop__ItemValue it = ONESTOP__ITEM_VALUE__INIT;
	it.name = "Food business licence";
	it.owner = (char *)owner;
	it.online = 1;
	*len = onestop__item_value__get_packed_size(&it);
	uint8_t *b = malloc(*len);
	if (b == NULL)
		__builtin_trap();
	onestop__item_value__pack(&it, b);
	return b;
}

static void fuzz_setup(void)
{
	static char *items[] = {"items"};
	reg = fuzz_registry();
	struct reg_node n;
	memset(&n, 0, sizeof(n));
	n.name = "gd.gz";
	n.roles = REG_ROLE_SPOKE;
	memset(n.sign_pk, 0x44, 32);
	memset(n.box_pk, 0x45, 32);
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_publish = 1;
	n.publish = items;
	if (registry_add(reg, &n) != 0 || registry_set_dataset(reg, "items", REG_DS_FULL) != 0 ||
	    registry_set_dataset(reg, "identity", REG_DS_CACHED) != 0 ||
	    registry_set_dataset(reg, "blobs", REG_DS_FULL) != 0)
		__builtin_trap();
	item_sz = fuzz_item("gd.sz", &item_sz_len);
	item_gz = fuzz_item("gd.gz", &item_gz_len);
}

static void fuzz_allowed(const struct ds_change *c, const char *publisher, const uint8_t *cur,
			 size_t cur_len)
{
	char reason[256];
	reason[0] = '\0';
	int rc = ds_change_allowed(reg, publisher, c, cur, cur_len, reason, sizeof(reason));
	if (rc > 0 || rc < OS_ERR_MIN)
		__builtin_trap();
	if (rc != 0 && (reason[0] == '\0' || strlen(reason) >= sizeof(reason)))
		__builtin_trap();
	if (rc != 0)
		return;
	/* A revoked node never publishes; an allowed item put is the
	 * publisher's own item. */
	if (strcmp(publisher, "gd.old") == 0)
		__builtin_trap();
	if (!c->is_delete && strcmp(c->dataset, DS_ITEMS) == 0) {
		Onestop__ItemValue *it = onestop__item_value__unpack(NULL, c->value_len, c->value);
		if (it == NULL || strcmp(it->owner, publisher) != 0)
			__builtin_trap();
		onestop__item_value__free_unpacked(it, NULL);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (reg == NULL)
		fuzz_setup();
	struct ds_change c;
	if (ds_change_unpack(data, size, &c) != 0) {
		if (c.priv_ != NULL)
			__builtin_trap();
		return 0;
	}
	if (ds_key_valid(c.key) != 0 || os_name_valid(c.dataset) != 0 ||
	    c.value_len > DS_VALUE_MAX || (c.is_delete && c.value_len != 0))
		__builtin_trap();
	static const char *publishers[] = {"gd.sz", "gd.gz", "gd.old", "hub", "nobody"};
	for (size_t i = 0; i < sizeof(publishers) / sizeof(publishers[0]); i++) {
		fuzz_allowed(&c, publishers[i], NULL, 0);
		fuzz_allowed(&c, publishers[i], item_sz, item_sz_len);
		fuzz_allowed(&c, publishers[i], item_gz, item_gz_len);
		fuzz_allowed(&c, publishers[i], c.value, c.value_len);
	}

	/* Round trip: what decoded packs and decodes to the same change. */
	uint8_t *b = NULL;
	size_t l = 0;
	if (ds_change_pack(c.dataset, c.key, c.is_delete, c.value, c.value_len, &b, &l) != 0)
		__builtin_trap();
	struct ds_change again;
	if (ds_change_unpack(b, l, &again) != 0)
		__builtin_trap();
	if (strcmp(again.dataset, c.dataset) != 0 || strcmp(again.key, c.key) != 0 ||
	    again.is_delete != c.is_delete || again.value_len != c.value_len ||
	    (c.value_len > 0 && memcmp(again.value, c.value, c.value_len) != 0))
		__builtin_trap();
	ds_change_clear(&again);
	free(b);

	struct ds_digest d;
	os_hash h;
	ds_digest_init(&d);
	ds_digest_add(&d, c.key, strlen(c.key), data, size);
	ds_digest_final(&d, h);
	ds_change_clear(&c);
	return 0;
}
