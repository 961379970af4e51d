/* Replicated datasets, the parts hub and spokes must decide identically:
 * the ChangeRequest codec, the publishing rules (registry rights, item
 * ownership, the "identity" and "items" schemas) and the dataset digest. */
#include "dataset.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "licence.h"
#include "onestop.pb-c.h"

#define DS_CHANGE_MAX (DS_VALUE_MAX + DS_KEY_MAX + 1024u)
#define DS_ITEM_NAME_MAX 256u
#define DS_ITEM_LIST_MAX 64u
#define DS_LEVEL_MAX 3u

/* One readable sentence into reason, when the caller gave room for it. */
static void ds_reason(char *reason, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void ds_reason(char *reason, size_t size, const char *fmt, ...)
{
	if (reason == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
}

int ds_key_valid(const char *key)
{
	if (key == NULL)
		return OS_EINVAL;
	size_t n = 0;
	for (; key[n] != '\0'; n++) {
		if (n >= DS_KEY_MAX)
			return OS_EINVAL;
		unsigned char ch = (unsigned char)key[n];
		if (ch < 0x21 || ch > 0x7e)
			return OS_EINVAL;
	}
	return n == 0 ? OS_EINVAL : 0;
}

/* ---------------------------------------------------------------- codec */

int ds_change_pack(const char *dataset, const char *key, int is_delete, const uint8_t *value,
		   size_t value_len, uint8_t **out, size_t *out_len)
{
	if (out == NULL || out_len == NULL)
		return OS_EINVAL;
	if (dataset == NULL || os_name_valid(dataset) != 0 || ds_key_valid(key) != 0)
		return OS_EINVAL;
	/* A delete carries no value, so equal deletes pack to equal bytes. */
	if (is_delete) {
		value = NULL;
		value_len = 0;
	}
	if (value_len > DS_VALUE_MAX)
		return OS_ETOOBIG;
	if (value == NULL && value_len > 0)
		return OS_EINVAL;

	Onestop__ChangeRequest cr = ONESTOP__CHANGE_REQUEST__INIT;
	cr.dataset = (char *)dataset;
	cr.key = (char *)key;
	cr.delete_ = is_delete ? 1 : 0;
	cr.value.data = (uint8_t *)value;
	cr.value.len = value_len;
	size_t n = onestop__change_request__get_packed_size(&cr);
	uint8_t *buf = malloc(n > 0 ? n : 1);
	if (buf == NULL)
		return OS_ENOMEM;
	onestop__change_request__pack(&cr, buf);
	*out = buf;
	*out_len = n;
	return 0;
}

int ds_change_unpack(const uint8_t *payload, size_t len, struct ds_change *out)
{
	if (out == NULL)
		return OS_EINVAL;
	memset(out, 0, sizeof(*out));
	if (payload == NULL && len > 0)
		return OS_EINVAL;
	if (len > DS_CHANGE_MAX)
		return OS_ETOOBIG;
	Onestop__ChangeRequest *cr = onestop__change_request__unpack(NULL, len, payload);
	if (cr == NULL)
		return OS_EDECODE;
	int rc = OS_EINVAL;
	if (cr->dataset == NULL || os_name_valid(cr->dataset) != 0 ||
	    strlen(cr->dataset) >= sizeof(out->dataset))
		goto out;
	if (ds_key_valid(cr->key) != 0)
		goto out;
	if (cr->value.len > DS_VALUE_MAX) {
		rc = OS_ETOOBIG;
		goto out;
	}
	if (cr->delete_ && cr->value.len > 0)
		goto out;
	strcpy(out->dataset, cr->dataset);
	strcpy(out->key, cr->key);
	out->is_delete = cr->delete_ ? 1 : 0;
	out->value = cr->value.len > 0 ? cr->value.data : NULL;
	out->value_len = cr->value.len;
	out->priv_ = cr;
	cr = NULL;
	rc = 0;
out:
	if (cr != NULL)
		onestop__change_request__free_unpacked(cr, NULL);
	return rc;
}

void ds_change_clear(struct ds_change *c)
{
	if (c == NULL)
		return;
	if (c->priv_ != NULL)
		onestop__change_request__free_unpacked(c->priv_, NULL);
	memset(c, 0, sizeof(*c));
}

/* ---------------------------------------------------------------- schemas */

static const char *ds_subject_kind_str(int k)
{
	switch (k) {
	case ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON:
		return "person";
	case ONESTOP__SUBJECT_KIND__SUBJECT_KIND_ENTERPRISE:
		return "enterprise";
	}
	return NULL;
}

const char *ds_subject_status_str(int s)
{
	switch (s) {
	case ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE:
		return "active";
	case ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_SUSPENDED:
		return "suspended";
	case ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_REVOKED:
		return "revoked";
	case ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_DECEASED:
		return "deceased";
	}
	return NULL;
}

int ds_identity_check(const uint8_t *value, size_t len, char *reason, size_t reason_size)
{
	if (value == NULL && len > 0)
		return OS_EINVAL;
	if (len > DS_VALUE_MAX) {
		ds_reason(reason, reason_size, "identity value is larger than %u bytes",
			  DS_VALUE_MAX);
		return OS_EINVAL;
	}
	Onestop__IdentityValue *iv = onestop__identity_value__unpack(NULL, len, value);
	if (iv == NULL) {
		ds_reason(reason, reason_size, "identity value is not an IdentityValue");
		return OS_EINVAL;
	}
	int rc = OS_EINVAL;
	if (ds_subject_kind_str(iv->kind) == NULL) {
		ds_reason(reason, reason_size, "identity kind must be person or enterprise");
		goto out;
	}
	if (iv->level < 1 || iv->level > DS_LEVEL_MAX) {
		ds_reason(reason, reason_size, "identity level %u is not 1..3", iv->level);
		goto out;
	}
	if (ds_subject_status_str(iv->status) == NULL) {
		ds_reason(reason, reason_size,
			  "identity status must be active, suspended, revoked or deceased");
		goto out;
	}
	if (iv->authority == NULL || os_name_valid(iv->authority) != 0) {
		ds_reason(reason, reason_size, "identity authority is not a valid node name");
		goto out;
	}
	rc = 0;
out:
	onestop__identity_value__free_unpacked(iv, NULL);
	return rc;
}

/* Decode an ItemValue, bounded; NULL when it is not one. */
static Onestop__ItemValue *ds_item_decode(const uint8_t *value, size_t len)
{
	if ((value == NULL && len > 0) || len > DS_VALUE_MAX)
		return NULL;
	return onestop__item_value__unpack(NULL, len, value);
}

int ds_item_check(const uint8_t *value, size_t len, char *reason, size_t reason_size)
{
	Onestop__ItemValue *it = ds_item_decode(value, len);
	if (it == NULL) {
		ds_reason(reason, reason_size, "item value is not an ItemValue of at most %u bytes",
			  DS_VALUE_MAX);
		return OS_EINVAL;
	}
	int rc = OS_EINVAL;
	size_t nl = it->name != NULL ? strlen(it->name) : 0;
	if (nl < 1 || nl > DS_ITEM_NAME_MAX) {
		ds_reason(reason, reason_size, "item name must be 1..%u bytes", DS_ITEM_NAME_MAX);
		goto out;
	}
	if (it->owner == NULL || os_name_valid(it->owner) != 0) {
		ds_reason(reason, reason_size, "item owner is not a valid node name");
		goto out;
	}
	if (!it->online && (it->offline_reason == NULL || it->offline_reason[0] == '\0')) {
		ds_reason(reason, reason_size, "offline-only item needs offline_reason");
		goto out;
	}
	if (it->min_level > DS_LEVEL_MAX) {
		ds_reason(reason, reason_size, "item min_level %u is not 0..3", it->min_level);
		goto out;
	}
	if (it->n_materials > DS_ITEM_LIST_MAX) {
		ds_reason(reason, reason_size, "item has %zu materials, more than %u",
			  it->n_materials, DS_ITEM_LIST_MAX);
		goto out;
	}
	if (it->n_regions > DS_ITEM_LIST_MAX) {
		ds_reason(reason, reason_size, "item has %zu regions, more than %u", it->n_regions,
			  DS_ITEM_LIST_MAX);
		goto out;
	}
	rc = 0;
out:
	onestop__item_value__free_unpacked(it, NULL);
	return rc;
}

/* ---------------------------------------------------------------- rights */

/* The owner of a stored or proposed item into owner (a valid node name
 * after ds_item_check). 0 or OS_EINVAL. */
static int ds_item_owner(const uint8_t *value, size_t len, char owner[OS_NAME_MAX])
{
	Onestop__ItemValue *it = ds_item_decode(value, len);
	if (it == NULL)
		return OS_EINVAL;
	int rc = OS_EINVAL;
	if (it->owner != NULL && strlen(it->owner) < OS_NAME_MAX) {
		strcpy(owner, it->owner);
		rc = 0;
	}
	onestop__item_value__free_unpacked(it, NULL);
	return rc;
}

const char *ds_sequencer(const struct reg_dataset *ds, const char *hub)
{
	return ds && ds->sequencer && *ds->sequencer ? ds->sequencer : hub;
}

int ds_change_allowed(const struct registry *reg, const char *publisher, const struct ds_change *c,
		      const uint8_t *current, size_t current_len, char *reason, size_t reason_size)
{
	if (reg == NULL || publisher == NULL || c == NULL) {
		ds_reason(reason, reason_size, "change or publisher missing");
		return OS_EINVAL;
	}
	if (registry_find_dataset(reg, c->dataset) == NULL) {
		ds_reason(reason, reason_size, "dataset \"%.64s\" is not declared in the registry",
			  c->dataset);
		return OS_ENOTFOUND;
	}
	const struct reg_node *n = registry_find(reg, publisher);
	if (n == NULL) {
		ds_reason(reason, reason_size, "node %.300s is not in the registry", publisher);
		return OS_ENOTALLOWED;
	}
	if (!registry_node_active(n)) {
		ds_reason(reason, reason_size, "node %s is %s and may not publish", n->name,
			  registry_status_str(n->status));
		return OS_ENOTALLOWED;
	}
	if (!registry_may_publish(n, c->dataset)) {
		ds_reason(reason, reason_size, "node %s may not publish dataset \"%s\"", n->name,
			  c->dataset);
		return OS_ENOTALLOWED;
	}
	/* Hand-built changes are checked like decoded ones. */
	if (ds_key_valid(c->key) != 0) {
		ds_reason(reason, reason_size, "key is not 1..%u printable characters", DS_KEY_MAX);
		return OS_EINVAL;
	}
	if (c->value_len > DS_VALUE_MAX || (c->value == NULL && c->value_len > 0)) {
		ds_reason(reason, reason_size, "value is larger than %u bytes", DS_VALUE_MAX);
		return OS_EINVAL;
	}
	int is_items = strcmp(c->dataset, DS_ITEMS) == 0;
	int rc;
	char owner[OS_NAME_MAX];
	if (strcmp(c->dataset, DS_LICENCES) == 0) {
		/* A licence is never deleted: its issuer revokes it. */
		if (c->is_delete) {
			ds_reason(reason, reason_size,
				  "licence %s cannot be deleted; its issuer revokes it", c->key);
			return OS_ENOTALLOWED;
		}
		return licence_change_check(c->key, publisher, c->value, c->value_len, current,
					    current_len, reason, reason_size);
	}
	if (c->is_delete) {
		if (!is_items || current == NULL)
			return 0;
		if (ds_item_owner(current, current_len, owner) != 0) {
			ds_reason(reason, reason_size, "stored item %s cannot be decoded", c->key);
			return OS_EINVAL;
		}
		if (strcmp(owner, publisher) != 0) {
			ds_reason(reason, reason_size, "item %s is owned by %s, not %s", c->key,
				  owner, publisher);
			return OS_ENOTALLOWED;
		}
		return 0;
	}
	if (strcmp(c->dataset, DS_IDENTITY) == 0)
		return ds_identity_check(c->value, c->value_len, reason, reason_size);
	if (!is_items)
		return 0;
	if ((rc = ds_item_check(c->value, c->value_len, reason, reason_size)) != 0)
		return rc;
	if (ds_item_owner(c->value, c->value_len, owner) != 0) {
		ds_reason(reason, reason_size, "item value is not an ItemValue");
		return OS_EINVAL;
	}
	if (strcmp(owner, publisher) != 0) {
		ds_reason(reason, reason_size, "item %s is owned by %s, not %s", c->key, owner,
			  publisher);
		return OS_ENOTALLOWED;
	}
	/* Replacing an item someone else owns would take it over. */
	if (current != NULL) {
		if (ds_item_owner(current, current_len, owner) == 0 &&
		    strcmp(owner, publisher) != 0) {
			ds_reason(reason, reason_size, "item %s is owned by %s, not %s", c->key,
				  owner, publisher);
			return OS_ENOTALLOWED;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- digest */

static void ds_digest_u32(struct ds_digest *d, size_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	crypto_digest_update(&d->st, b, sizeof(b));
}

void ds_digest_init(struct ds_digest *d)
{
	crypto_digest_init(&d->st);
	d->count = 0;
}

void ds_digest_add(struct ds_digest *d, const char *key, size_t key_len, const uint8_t *signed_env,
		   size_t signed_len)
{
	ds_digest_u32(d, key_len);
	crypto_digest_update(&d->st, (const uint8_t *)key, key_len);
	ds_digest_u32(d, signed_len);
	crypto_digest_update(&d->st, signed_env, signed_len);
	d->count++;
}

void ds_digest_final(struct ds_digest *d, os_hash out)
{
	crypto_digest_final(&d->st, out);
}
