/* The JSON forms of the "identity" and "items" values (json.h), with
 * jansson: objects are checked field by field (unknown, wrong type,
 * missing) and converted through libonestop's value codecs, so what the
 * command publishes is what any integrator's program would. */
#include "json.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "onestop.h"
#include "util.h"

#define JSON_LIST_MAX 64u /* materials, regions: the items schema's bound */

struct json_field {
	const char *name;
	int required;
};

static void json_err(char *err, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void json_err(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, size, fmt, ap);
	va_end(ap);
}

int cli_json_known(const char *dataset)
{
	return strcmp(dataset, ONESTOP_DS_IDENTITY) == 0 || strcmp(dataset, ONESTOP_DS_ITEMS) == 0;
}

/* Every member of obj must be one of fields (or "key"/"delete" when
 * extra); every required field must be there. */
static int json_check_fields(const json_t *obj, const struct json_field *fields, int extra,
			     const char *what, char *err, size_t err_size)
{
	const char *name;
	json_t *val;

	json_object_foreach((json_t *)obj, name, val)
	{
		int known = extra && (strcmp(name, "key") == 0 || strcmp(name, "delete") == 0);
		for (const struct json_field *f = fields; !known && f->name != NULL; f++)
			known = strcmp(f->name, name) == 0;
		if (!known) {
			json_err(err, err_size, "unknown field \"%s\" in %s", name, what);
			return OS_EINVAL;
		}
	}
	for (const struct json_field *f = fields; f->name != NULL; f++)
		if (f->required && json_object_get(obj, f->name) == NULL) {
			json_err(err, err_size, "%s lacks the required field \"%s\"", what,
				 f->name);
			return OS_EINVAL;
		}
	return 0;
}

/* An optional string member: NULL when absent or null. */
static int json_get_str(const json_t *obj, const char *name, const char **out, char *err,
			size_t err_size)
{
	json_t *v = json_object_get(obj, name);
	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v)) {
		json_err(err, err_size, "\"%s\" must be a string", name);
		return OS_EINVAL;
	}
	*out = json_string_value(v);
	return 0;
}

/* A string member that must be there (json_check_fields saw to that);
 * whether its text is acceptable is the spoke's to say. */
static int json_need_str(const json_t *obj, const char *name, const char **out, char *err,
			 size_t err_size)
{
	int rc = json_get_str(obj, name, out, err, err_size);
	if (rc == 0 && *out == NULL) {
		json_err(err, err_size, "\"%s\" must be a string", name);
		rc = OS_EINVAL;
	}
	return rc;
}

/* An optional non-negative integer member at most max (absent: 0). */
static int json_get_uint(const json_t *obj, const char *name, uint64_t max, uint64_t *out,
			 char *err, size_t err_size)
{
	json_t *v = json_object_get(obj, name);
	*out = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0) {
		json_err(err, err_size, "\"%s\" must be a non-negative integer", name);
		return OS_EINVAL;
	}
	if ((uint64_t)json_integer_value(v) > max) {
		json_err(err, err_size, "\"%s\" must be at most %llu", name,
			 (unsigned long long)max);
		return OS_EINVAL;
	}
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* Index of s in names (n of them), or -1. */
static int json_lookup(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

static const char *const json_kinds[] = {"person", "enterprise"};
static const char *const json_statuses[] = {"active", "suspended", "revoked", "deceased"};

static int json_to_identity(const json_t *obj, int extra, uint8_t **out, size_t *len, char *err,
			    size_t err_size)
{
	static const struct json_field fields[] = {
		{"kind", 1},      {"level", 1},      {"status", 1},
		{"authority", 1}, {"updated_ms", 0}, {NULL, 0},
	};
	onestop_identity_t v;
	const char *kind, *status, *authority;
	uint64_t level, updated;
	int rc;

	memset(&v, 0, sizeof(v));
	if ((rc = json_check_fields(obj, fields, extra, "an identity", err, err_size)) != 0 ||
	    (rc = json_need_str(obj, "kind", &kind, err, err_size)) != 0 ||
	    (rc = json_need_str(obj, "status", &status, err, err_size)) != 0 ||
	    (rc = json_need_str(obj, "authority", &authority, err, err_size)) != 0 ||
	    (rc = json_get_uint(obj, "level", UINT32_MAX, &level, err, err_size)) != 0 ||
	    (rc = json_get_uint(obj, "updated_ms", UINT64_MAX, &updated, err, err_size)) != 0)
		return rc;
	int k = json_lookup(kind, json_kinds, 2);
	int s = json_lookup(status, json_statuses, 4);
	if (k < 0) {
		json_err(err, err_size, "\"kind\" must be \"person\" or \"enterprise\", not \"%s\"",
			 kind);
		return OS_EINVAL;
	}
	if (s < 0) {
		json_err(
			err, err_size,
			"\"status\" must be \"active\", \"suspended\", \"revoked\" or \"deceased\", not \"%s\"",
			status);
		return OS_EINVAL;
	}
	if (strlen(authority) >= sizeof(v.authority)) {
		json_err(err, err_size, "\"authority\" is longer than a node name may be");
		return OS_EINVAL;
	}
	v.kind = k == 0 ? ONESTOP_PERSON : ONESTOP_ENTERPRISE;
	v.level = (unsigned)level;
	v.status = ONESTOP_SUBJECT_ACTIVE + s;
	memcpy(v.authority, authority, strlen(authority) + 1);
	/* The publisher vouches for the time of the record it publishes. */
	v.updated_ms = json_object_get(obj, "updated_ms") != NULL ? updated : os_now_ms();
	rc = onestop_identity_encode(&v, out, len);
	if (rc == ONESTOP_ENOMEM)
		return OS_ENOMEM;
	if (rc != 0) {
		json_err(err, err_size, "the identity cannot be encoded: %s", onestop_strerror(rc));
		return OS_EINVAL;
	}
	return 0;
}

/* "materials": an array of {"name", "shared_data"} into mats (room for
 * JSON_LIST_MAX). */
static int json_materials(const json_t *arr, onestop_material_t *mats, size_t *n, char *err,
			  size_t err_size)
{
	static const struct json_field fields[] = {{"name", 1}, {"shared_data", 0}, {NULL, 0}};
	char what[48];

	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		json_err(err, err_size, "\"materials\" must be an array of objects");
		return OS_EINVAL;
	}
	if (json_array_size(arr) > JSON_LIST_MAX) {
		json_err(err, err_size, "\"materials\" holds more than %u entries", JSON_LIST_MAX);
		return OS_EINVAL;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *m = json_array_get(arr, i);
		int rc;
		snprintf(what, sizeof(what), "material %zu", i + 1);
		if (!json_is_object(m)) {
			json_err(err, err_size, "%s in \"materials\" is not an object", what);
			return OS_EINVAL;
		}
		if ((rc = json_check_fields(m, fields, 0, what, err, err_size)) != 0 ||
		    (rc = json_need_str(m, "name", &mats[i].name, err, err_size)) != 0 ||
		    (rc = json_get_str(m, "shared_data", &mats[i].shared_data, err, err_size)) != 0)
			return rc;
		if (mats[i].shared_data != NULL && mats[i].shared_data[0] == '\0')
			mats[i].shared_data = NULL;
	}
	*n = json_array_size(arr);
	return 0;
}

static int json_regions(const json_t *arr, const char **regions, size_t *n, char *err,
			size_t err_size)
{
	*n = 0;
	if (arr == NULL || json_is_null(arr))
		return 0;
	if (!json_is_array(arr)) {
		json_err(err, err_size, "\"regions\" must be an array of strings");
		return OS_EINVAL;
	}
	if (json_array_size(arr) > JSON_LIST_MAX) {
		json_err(err, err_size, "\"regions\" holds more than %u entries", JSON_LIST_MAX);
		return OS_EINVAL;
	}
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const json_t *r = json_array_get(arr, i);
		if (!json_is_string(r)) {
			json_err(err, err_size,
				 "\"regions\" must hold strings (entry %zu is not one)", i + 1);
			return OS_EINVAL;
		}
		regions[i] = json_string_value(r);
	}
	*n = json_array_size(arr);
	return 0;
}

static int json_to_item(const json_t *obj, int extra, uint8_t **out, size_t *len, char *err,
			size_t err_size)
{
	static const struct json_field fields[] = {
		{"name", 1},           {"owner", 1},     {"kind", 0},       {"online", 1},
		{"offline_reason", 0}, {"materials", 0}, {"legal_days", 0}, {"promised_days", 0},
		{"fee_cents", 0},      {"regions", 0},   {"min_level", 0},  {NULL, 0},
	};
	onestop_material_t mats[JSON_LIST_MAX];
	const char *regions[JSON_LIST_MAX];
	onestop_item_t v;
	uint64_t legal, promised, fee, min_level;
	int rc;

	memset(&v, 0, sizeof(v));
	if ((rc = json_check_fields(obj, fields, extra, "an item", err, err_size)) != 0 ||
	    (rc = json_need_str(obj, "name", &v.name, err, err_size)) != 0 ||
	    (rc = json_need_str(obj, "owner", &v.owner, err, err_size)) != 0 ||
	    (rc = json_get_str(obj, "kind", &v.kind, err, err_size)) != 0 ||
	    (rc = json_get_str(obj, "offline_reason", &v.offline_reason, err, err_size)) != 0 ||
	    (rc = json_get_uint(obj, "legal_days", UINT32_MAX, &legal, err, err_size)) != 0 ||
	    (rc = json_get_uint(obj, "promised_days", UINT32_MAX, &promised, err, err_size)) != 0 ||
	    (rc = json_get_uint(obj, "fee_cents", UINT64_MAX, &fee, err, err_size)) != 0 ||
	    (rc = json_get_uint(obj, "min_level", UINT32_MAX, &min_level, err, err_size)) != 0)
		return rc;
	const json_t *online = json_object_get(obj, "online");
	if (!json_is_boolean(online)) {
		json_err(err, err_size, "\"online\" must be true or false");
		return OS_EINVAL;
	}
	v.online = json_is_true(online);
	if ((rc = json_materials(json_object_get(obj, "materials"), mats, &v.n_materials, err,
				 err_size)) != 0 ||
	    (rc = json_regions(json_object_get(obj, "regions"), regions, &v.n_regions, err,
			       err_size)) != 0)
		return rc;
	v.materials = v.n_materials ? mats : NULL;
	v.regions = v.n_regions ? regions : NULL;
	v.legal_days = (unsigned)legal;
	v.promised_days = (unsigned)promised;
	v.fee_cents = fee;
	v.min_level = (unsigned)min_level;
	rc = onestop_item_encode(&v, out, len);
	if (rc == ONESTOP_ENOMEM)
		return OS_ENOMEM;
	if (rc != 0) {
		json_err(err, err_size, "the item cannot be encoded: %s", onestop_strerror(rc));
		return OS_EINVAL;
	}
	return 0;
}

/* {"key":K,"value":"TEXT"} or {"key":K,"delete":true} of a dataset
 * without a JSON form. */
static int json_to_opaque(const json_t *obj, uint8_t **out, size_t *len, char *err, size_t err_size)
{
	static const struct json_field fields[] = {{"value", 1}, {NULL, 0}};
	int rc;

	if ((rc = json_check_fields(obj, fields, 1, "a change", err, err_size)) != 0)
		return rc;
	const json_t *v = json_object_get(obj, "value");
	if (!json_is_string(v)) {
		json_err(err, err_size, "\"value\" must be a string (its bytes are the value)");
		return OS_EINVAL;
	}
	size_t n = json_string_length(v);
	uint8_t *buf = malloc(n ? n : 1);
	if (buf == NULL)
		return OS_ENOMEM;
	memcpy(buf, json_string_value(v), n);
	*out = buf;
	*len = n;
	return 0;
}

int cli_json_parse(const char *dataset, const char *text, size_t len, int with_key,
		   struct cli_json_change *out, char *err, size_t err_size)
{
	json_error_t jerr;
	json_t *obj = NULL;
	int rc = OS_EINVAL;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (!with_key && !cli_json_known(dataset)) {
		json_err(err, err_size, "dataset %s has no JSON form", dataset);
		return OS_EINVAL;
	}
	/* Duplicate members would leave it unclear which one counts. */
	obj = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (obj == NULL) {
		json_err(err, err_size, "not valid JSON (column %d): %s", jerr.column, jerr.text);
		return OS_EINVAL;
	}
	if (!json_is_object(obj)) {
		json_err(err, err_size, "the JSON is not an object");
		goto out;
	}
	if (with_key) {
		const json_t *k = json_object_get(obj, "key");
		const json_t *d = json_object_get(obj, "delete");
		if (!json_is_string(k) || json_string_length(k) == 0 ||
		    strlen(json_string_value(k)) != json_string_length(k)) {
			json_err(err, err_size, "\"key\" must be a non-empty string");
			goto out;
		}
		if (d != NULL && !json_is_boolean(d)) {
			json_err(err, err_size, "\"delete\" must be true or false");
			goto out;
		}
		if ((out->key = strdup(json_string_value(k))) == NULL) {
			rc = OS_ENOMEM;
			goto out;
		}
		if (json_is_true(d)) {
			if (json_object_size(obj) != 2) {
				json_err(err, err_size,
					 "a delete carries only \"key\" and \"delete\"");
				goto out;
			}
			out->is_delete = 1;
			rc = 0;
			goto out;
		}
	}
	if (strcmp(dataset, ONESTOP_DS_IDENTITY) == 0)
		rc = json_to_identity(obj, with_key, &out->value, &out->len, err, err_size);
	else if (strcmp(dataset, ONESTOP_DS_ITEMS) == 0)
		rc = json_to_item(obj, with_key, &out->value, &out->len, err, err_size);
	else
		rc = json_to_opaque(obj, &out->value, &out->len, err, err_size);
out:
	if (rc != 0)
		cli_json_change_clear(out);
	json_decref(obj);
	return rc;
}

void cli_json_change_clear(struct cli_json_change *c)
{
	free(c->key);
	free(c->value);
	memset(c, 0, sizeof(*c));
}

size_t cli_utf8_next(const char *s, size_t n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len;
	uint32_t v, min;

	if (n == 0)
		return 0;
	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0) {
		len = 2, v = u[0] & 0x1fu, min = 0x80;
	} else if ((u[0] & 0xf0) == 0xe0) {
		len = 3, v = u[0] & 0x0fu, min = 0x800;
	} else if ((u[0] & 0xf8) == 0xf0) {
		len = 4, v = u[0] & 0x07u, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (u[i] & 0x3fu);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* The wide ranges of Unicode's East Asian Width (W and F), coarsely: CJK,
 * Hangul, kana, fullwidth forms and the supplementary ideographs. */
static int json_wide(uint32_t cp)
{
	return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf && cp != 0x303f) ||
	       (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
	       (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	       (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
	       (cp >= 0x20000 && cp <= 0x3fffd);
}

size_t cli_text_width(const char *s)
{
	size_t n = strlen(s), w = 0;
	while (n > 0) {
		uint32_t cp = 0;
		size_t len = cli_utf8_next(s, n, &cp);
		if (len == 0)
			len = 1, cp = '?';
		w += json_wide(cp) ? 2 : 1;
		s += len;
		n -= len;
	}
	return w;
}

/* A JSON string of s; bytes that are not UTF-8 become U+FFFD, since a
 * value from the network is not known to be text. */
static json_t *json_str(const char *s)
{
	json_t *j = json_string(s ? s : "");
	if (j != NULL || s == NULL)
		return j;
	size_t n = strlen(s);
	char *fixed = malloc(3 * n + 1);
	if (fixed == NULL)
		return NULL;
	size_t o = 0;
	while (n > 0) {
		uint32_t cp;
		size_t len = cli_utf8_next(s, n, &cp);
		if (len == 0) {
			memcpy(fixed + o, "\xef\xbf\xbd", 3);
			o += 3;
			len = 1;
		} else {
			memcpy(fixed + o, s, len);
			o += len;
		}
		s += len;
		n -= len;
	}
	fixed[o] = '\0';
	j = json_string(fixed);
	free(fixed);
	return j;
}

/* A known enum value by name, an unknown one as its number. */
static json_t *json_enum(int v, const char *const *names, int n)
{
	return v >= 1 && v <= n ? json_string(names[v - 1]) : json_integer(v);
}

/* Set key to val in obj, consuming val; 0 or -1 (val NULL: out of memory). */
static int json_set(json_t *obj, const char *key, json_t *val)
{
	return val != NULL && json_object_set_new(obj, key, val) == 0 ? 0 : -1;
}

static json_t *json_from_identity(const onestop_identity_t *v)
{
	json_t *o = json_object();
	if (o == NULL || json_set(o, "kind", json_enum(v->kind, json_kinds, 2)) != 0 ||
	    json_set(o, "level", json_integer(v->level)) != 0 ||
	    json_set(o, "status", json_enum(v->status, json_statuses, 4)) != 0 ||
	    json_set(o, "authority", json_str(v->authority)) != 0 ||
	    json_set(o, "updated_ms", json_integer((json_int_t)v->updated_ms)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *json_from_item(const onestop_item_t *v)
{
	json_t *o = json_object(), *mats = json_array(), *regions = json_array();
	if (o == NULL || mats == NULL || regions == NULL)
		goto fail;
	for (size_t i = 0; i < v->n_materials; i++) {
		json_t *m = json_object();
		if (m == NULL || json_array_append_new(mats, m) != 0 ||
		    json_set(m, "name", json_str(v->materials[i].name)) != 0 ||
		    (v->materials[i].shared_data != NULL &&
		     json_set(m, "shared_data", json_str(v->materials[i].shared_data)) != 0))
			goto fail;
	}
	for (size_t i = 0; i < v->n_regions; i++)
		if (json_array_append_new(regions, json_str(v->regions[i])) != 0)
			goto fail;
	if (json_set(o, "name", json_str(v->name)) != 0 ||
	    json_set(o, "owner", json_str(v->owner)) != 0 ||
	    json_set(o, "kind", json_str(v->kind)) != 0 ||
	    json_set(o, "online", json_boolean(v->online)) != 0 ||
	    (!v->online && json_set(o, "offline_reason", json_str(v->offline_reason)) != 0))
		goto fail;
	/* The object owns the arrays from here on. */
	json_t *m = mats, *r = regions;
	mats = regions = NULL;
	if (json_set(o, "materials", m) != 0 ||
	    json_set(o, "legal_days", json_integer(v->legal_days)) != 0 ||
	    json_set(o, "promised_days", json_integer(v->promised_days)) != 0 ||
	    json_set(o, "fee_cents", json_integer((json_int_t)v->fee_cents)) != 0 ||
	    json_set(o, "regions", r) != 0 ||
	    json_set(o, "min_level", json_integer(v->min_level)) != 0)
		goto fail;
	return o;
fail:
	json_decref(mats);
	json_decref(regions);
	json_decref(o);
	return NULL;
}

int cli_json_format(const char *dataset, const uint8_t *value, size_t len, char **text, char *err,
		    size_t err_size)
{
	onestop_identity_t id;
	onestop_item_t *item = NULL;
	json_t *obj = NULL;
	int rc;

	*text = NULL;
	err[0] = '\0';
	if (strcmp(dataset, ONESTOP_DS_IDENTITY) == 0) {
		if ((rc = onestop_identity_decode(value, len, &id)) != 0) {
			json_err(err, err_size, "the value is not an IdentityValue: %s",
				 onestop_strerror(rc));
			return OS_EDECODE;
		}
		obj = json_from_identity(&id);
	} else if (strcmp(dataset, ONESTOP_DS_ITEMS) == 0) {
		if ((rc = onestop_item_decode(value, len, &item)) != 0) {
			json_err(err, err_size, "the value is not an ItemValue: %s",
				 onestop_strerror(rc));
			return rc == ONESTOP_ENOMEM ? OS_ENOMEM : OS_EDECODE;
		}
		obj = json_from_item(item);
		onestop_item_free(&item);
	} else {
		json_err(err, err_size, "dataset %s has no JSON form", dataset);
		return OS_EINVAL;
	}
	if (obj == NULL)
		return OS_ENOMEM;
	*text = json_dumps(obj, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	return *text != NULL ? 0 : OS_ENOMEM;
}
