/* libonestop's value codecs (onestop.h "values"): the plain C forms of the
 * "identity" and "items" dataset values packed to and from IdentityValue
 * and ItemValue. No spoke is involved; the spoke checks the full schema
 * when a value is published. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dataset.h"
#include "onestop.h"
#include "sized.h"
#include "util.h"

/* The schema's bounds on lists (common/dataset.h); a decoded value beyond
 * them is not one the network would carry. */
#define VAL_MAX_LIST 64u

_Static_assert(ONESTOP_PERSON == ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON &&
		       ONESTOP_ENTERPRISE == ONESTOP__SUBJECT_KIND__SUBJECT_KIND_ENTERPRISE &&
		       ONESTOP_SUBJECT_ACTIVE == ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE &&
		       ONESTOP_SUBJECT_DECEASED == ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_DECEASED,
	       "onestop.h identity constants must match proto/onestop.proto");

/* Pack through a malloc'd buffer; *out and *len are set only on success. */
static int val_pack(const ProtobufCMessage *m, uint8_t **out, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	if (n > DS_VALUE_MAX)
		return ONESTOP_ETOOBIG;
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return ONESTOP_ENOMEM;
	protobuf_c_message_pack(m, buf);
	*out = buf;
	*len = n;
	return 0;
}

int onestop_identity_encode_sized(const onestop_identity_t *v_user, uint8_t **out, size_t *len,
				  size_t v_size)
{
	onestop_identity_t val;
	const onestop_identity_t *v = &val;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	if (v_user == NULL || out == NULL || len == NULL ||
	    sized_check(v_size, SIZED_IDENTITY_V1, _Alignof(onestop_identity_t)) != 0 ||
	    sized_in(&val, sizeof(val), v_user, v_size) != 0)
		return ONESTOP_EINVAL;
	/* The value is packed as given: the spoke checks the schema when it
	 * is published and says what is wrong. Only an authority that is not
	 * a string at all is refused here. */
	if (strnlen(v->authority, sizeof(v->authority)) == sizeof(v->authority))
		return ONESTOP_EINVAL;
	Onestop__IdentityValue iv = ONESTOP__IDENTITY_VALUE__INIT;
	iv.kind = (Onestop__SubjectKind)v->kind;
	iv.level = v->level;
	iv.status = (Onestop__SubjectStatus)v->status;
	iv.authority = (char *)v->authority;
	iv.updated_ms = v->updated_ms;
	return val_pack(&iv.base, out, len);
}

int onestop_identity_decode_sized(const uint8_t *buf, size_t len, onestop_identity_t *out_user,
				  size_t out_size)
{
	Onestop__IdentityValue *iv = NULL;
	onestop_identity_t val;
	onestop_identity_t *out = &val;
	int rc = ONESTOP_EDECODE;

	if (out_user == NULL ||
	    sized_check(out_size, SIZED_IDENTITY_V1, _Alignof(onestop_identity_t)) != 0)
		return ONESTOP_EINVAL;
	memset(out_user, 0, out_size);
	if (buf == NULL && len > 0)
		return ONESTOP_EINVAL;
	memset(out, 0, sizeof(*out));
	if (len > DS_VALUE_MAX)
		return ONESTOP_ETOOBIG;
	iv = onestop__identity_value__unpack(NULL, len, buf);
	if (iv == NULL)
		return ONESTOP_EDECODE;
	size_t la = conn_strlen_max(iv->authority, sizeof(out->authority) - 1);
	if (la == SIZE_MAX)
		goto out;
	/* Values outside the enums are passed on as they are: a reader that
	 * does not know them treats them as unknown, not as an error. */
	out->kind = (int)iv->kind;
	out->level = iv->level;
	out->status = (int)iv->status;
	if (la > 0)
		memcpy(out->authority, iv->authority, la);
	out->updated_ms = iv->updated_ms;
	sized_out(out_user, out_size, out, sizeof(*out));
	rc = 0;
out:
	onestop__identity_value__free_unpacked(iv, NULL);
	return rc;
}

/* A NULL string packs as "". */
static char *val_str(const char *s)
{
	/* protobuf-c's fields are not const; packing only reads them. */
	return (char *)(s != NULL ? s : "");
}

int onestop_item_encode_sized(const onestop_item_t *v_user, uint8_t **out, size_t *len,
			      size_t v_size)
{
	Onestop__Material *mats = NULL;
	Onestop__Material **mptrs = NULL;
	char **regions = NULL;
	onestop_item_t val;
	const onestop_item_t *v = &val;
	int rc = ONESTOP_EINVAL;

	if (out != NULL)
		*out = NULL;
	if (len != NULL)
		*len = 0;
	/* The materials grow with the item (onestop.h): one layout for both
	 * so far. */
	if (v_user == NULL || out == NULL || len == NULL ||
	    sized_check(v_size, SIZED_ITEM_V1, _Alignof(onestop_item_t)) != 0 ||
	    sized_in(&val, sizeof(val), v_user, v_size) != 0)
		return ONESTOP_EINVAL;
	/* Like identity values, items are packed as given and checked by the
	 * spoke (an offline-only item without its reason included), so that
	 * every integrator gets the same readable refusal. */
	if ((v->n_materials > 0 && v->materials == NULL) ||
	    (v->n_regions > 0 && v->regions == NULL) || v->n_materials > VAL_MAX_LIST ||
	    v->n_regions > VAL_MAX_LIST)
		return ONESTOP_EINVAL;

	if (v->n_materials > 0) {
		mats = calloc(v->n_materials, sizeof(*mats));
		mptrs = calloc(v->n_materials, sizeof(*mptrs));
		if (mats == NULL || mptrs == NULL) {
			rc = ONESTOP_ENOMEM;
			goto out;
		}
	}
	if (v->n_regions > 0 && (regions = calloc(v->n_regions, sizeof(*regions))) == NULL) {
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < v->n_materials; i++) {
		onestop__material__init(&mats[i]);
		mats[i].name = val_str(v->materials[i].name);
		mats[i].shared_data = val_str(v->materials[i].shared_data);
		mptrs[i] = &mats[i];
	}
	for (size_t i = 0; i < v->n_regions; i++)
		regions[i] = val_str(v->regions[i]);
	Onestop__ItemValue iv = ONESTOP__ITEM_VALUE__INIT;
	iv.name = val_str(v->name);
	iv.owner = val_str(v->owner);
	iv.kind = val_str(v->kind);
	iv.online = v->online ? 1 : 0;
	/* An online item's reason would be noise in every copy. */
	iv.offline_reason = val_str(v->online ? NULL : v->offline_reason);
	iv.n_materials = v->n_materials;
	iv.materials = mptrs;
	iv.legal_days = v->legal_days;
	iv.promised_days = v->promised_days;
	iv.fee_cents = v->fee_cents;
	iv.n_regions = v->n_regions;
	iv.regions = regions;
	iv.min_level = v->min_level;
	rc = val_pack(&iv.base, out, len);
out:
	free(regions);
	free(mptrs);
	free(mats);
	return rc;
}

static const char *val_put_str(char **pos, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	char *dst = *pos;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	*pos += len + 1;
	return dst;
}

int onestop_item_decode_sized(const uint8_t *buf, size_t len, onestop_item_t **out,
			      size_t item_size)
{
	Onestop__ItemValue *iv = NULL;
	int rc = ONESTOP_EDECODE;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (buf == NULL && len > 0) ||
	    sized_check(item_size, SIZED_ITEM_V1, _Alignof(onestop_item_t)) != 0)
		return ONESTOP_EINVAL;
	if (len > DS_VALUE_MAX)
		return ONESTOP_ETOOBIG;
	iv = onestop__item_value__unpack(NULL, len, buf);
	if (iv == NULL)
		return ONESTOP_EDECODE;
	if (iv->n_materials > VAL_MAX_LIST || iv->n_regions > VAL_MAX_LIST)
		goto out;
	for (size_t i = 0; i < iv->n_materials; i++)
		if (iv->materials[i] == NULL)
			goto out;

	/* One block: the item (item_size, the caller's layout), its materials,
	 * its region pointers, then every string. Strings are bounded by the
	 * value's length, so no sum wraps. item_size is a multiple of the
	 * item's alignment, so the arrays after it are aligned. */
	size_t strs = 0;
	strs += (iv->name ? strlen(iv->name) : 0) + 1;
	strs += (iv->owner ? strlen(iv->owner) : 0) + 1;
	strs += (iv->kind ? strlen(iv->kind) : 0) + 1;
	strs += (iv->offline_reason ? strlen(iv->offline_reason) : 0) + 1;
	for (size_t i = 0; i < iv->n_materials; i++) {
		const Onestop__Material *m = iv->materials[i];
		strs += (m->name ? strlen(m->name) : 0) + 1;
		strs += (m->shared_data ? strlen(m->shared_data) : 0) + 1;
	}
	for (size_t i = 0; i < iv->n_regions; i++)
		strs += (iv->regions[i] ? strlen(iv->regions[i]) : 0) + 1;
	size_t head = item_size + iv->n_materials * sizeof(onestop_material_t) +
		      iv->n_regions * sizeof(char *);
	char *block = malloc(head + strs);
	if (block == NULL) {
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	onestop_item_t item;
	onestop_item_t *it = &item;
	onestop_material_t *mats = (onestop_material_t *)(void *)(block + item_size);
	const char **regions =
		(const char **)(void *)(block + item_size +
					iv->n_materials * sizeof(onestop_material_t));
	char *pos = block + head;
	memset(it, 0, sizeof(*it));
	it->name = val_put_str(&pos, iv->name);
	it->owner = val_put_str(&pos, iv->owner);
	it->kind = val_put_str(&pos, iv->kind);
	it->online = iv->online ? 1 : 0;
	it->offline_reason = val_put_str(&pos, iv->offline_reason);
	for (size_t i = 0; i < iv->n_materials; i++) {
		const Onestop__Material *m = iv->materials[i];
		mats[i].name = val_put_str(&pos, m->name);
		const char *sd = val_put_str(&pos, m->shared_data);
		mats[i].shared_data = sd[0] != '\0' ? sd : NULL;
	}
	for (size_t i = 0; i < iv->n_regions; i++)
		regions[i] = val_put_str(&pos, iv->regions[i]);
	it->n_materials = iv->n_materials;
	it->materials = iv->n_materials > 0 ? mats : NULL;
	it->n_regions = iv->n_regions;
	it->regions = iv->n_regions > 0 ? regions : NULL;
	it->legal_days = iv->legal_days;
	it->promised_days = iv->promised_days;
	it->fee_cents = iv->fee_cents;
	it->min_level = iv->min_level;
	sized_out(block, item_size, it, sizeof(*it));
	*out = (onestop_item_t *)(void *)block;
	rc = 0;
out:
	onestop__item_value__free_unpacked(iv, NULL);
	return rc;
}

void onestop_item_free(onestop_item_t **v)
{
	if (v == NULL || *v == NULL)
		return;
	/* The item and everything it points to are one block. */
	free((void *)*v);
	*v = NULL;
}
