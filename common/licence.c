/* E-licences: the LicenceValue schema a publisher must keep and the check
 * a licence given as an application's material must pass. */
#include "licence.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "onestop.pb-c.h"

static void lic_why(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void lic_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;
	if (!why || size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
}

static int lic_copy(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;
	if (n >= cap)
		return OS_EDECODE;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

int licence_decode(const uint8_t *value, size_t len, struct licence *out)
{
	Onestop__LicenceValue *v;
	int rc = OS_EDECODE;
	if (!out || (!value && len > 0))
		return OS_EINVAL;
	memset(out, 0, sizeof *out);
	v = onestop__licence_value__unpack(NULL, len, value);
	if (!v)
		return OS_EDECODE;
	if (lic_copy(out->number, sizeof out->number, v->number) < 0 ||
	    lic_copy(out->item, sizeof out->item, v->item) < 0 ||
	    lic_copy(out->holder, sizeof out->holder, v->holder) < 0 ||
	    lic_copy(out->issuer, sizeof out->issuer, v->issuer) < 0 ||
	    os_name_valid(out->issuer) != 0)
		goto out;
	if (v->status != ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE &&
	    v->status != ONESTOP__LICENCE_STATUS__LICENCE_STATUS_REVOKED)
		goto out;
	out->valid_from_ms = v->valid_from_ms;
	out->valid_until_ms = v->valid_until_ms;
	out->revoked = v->status == ONESTOP__LICENCE_STATUS__LICENCE_STATUS_REVOKED;
	rc = 0;
out:
	onestop__licence_value__free_unpacked(v, NULL);
	if (rc < 0)
		memset(out, 0, sizeof *out);
	return rc;
}

int licence_pack(const struct licence *l, uint8_t **out, size_t *len)
{
	Onestop__LicenceValue v = ONESTOP__LICENCE_VALUE__INIT;
	if (!l || !out || !len)
		return OS_EINVAL;
	v.number = (char *)l->number;
	v.item = (char *)l->item;
	v.holder = (char *)l->holder;
	v.issuer = (char *)l->issuer;
	v.valid_from_ms = l->valid_from_ms;
	v.valid_until_ms = l->valid_until_ms;
	v.status = l->revoked ? ONESTOP__LICENCE_STATUS__LICENCE_STATUS_REVOKED
			      : ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE;
	*len = onestop__licence_value__get_packed_size(&v);
	*out = malloc(*len ? *len : 1);
	if (!*out)
		return OS_ENOMEM;
	onestop__licence_value__pack(&v, *out);
	return 0;
}

int licence_change_check(const char *key, const char *publisher, const uint8_t *value, size_t len,
			 const uint8_t *current, size_t current_len, char *reason,
			 size_t reason_size)
{
	struct licence l, cur;
	if (!key || !publisher) {
		lic_why(reason, reason_size, "licence change without key or publisher");
		return OS_EINVAL;
	}
	if (licence_decode(value, len, &l) != 0) {
		lic_why(reason, reason_size, "value is not a LicenceValue");
		return OS_EINVAL;
	}
	if (strcmp(l.number, key) != 0) {
		lic_why(reason, reason_size, "licence number %.64s is not its key %.64s", l.number,
			key);
		return OS_EINVAL;
	}
	if (!l.item[0] || !l.holder[0]) {
		lic_why(reason, reason_size, "licence %.64s names no item or no holder", key);
		return OS_EINVAL;
	}
	if (l.valid_until_ms && l.valid_until_ms <= l.valid_from_ms) {
		lic_why(reason, reason_size, "licence %.64s ends before it begins", key);
		return OS_EINVAL;
	}
	if (strcmp(l.issuer, publisher) != 0) {
		lic_why(reason, reason_size, "licence %.64s names issuer %s, not its publisher %s",
			key, l.issuer, publisher);
		return OS_ENOTALLOWED;
	}
	if (current && licence_decode(current, current_len, &cur) == 0 &&
	    strcmp(cur.issuer, publisher) != 0) {
		lic_why(reason, reason_size, "licence %.64s was issued by %s, not %s", key,
			cur.issuer, publisher);
		return OS_ENOTALLOWED;
	}
	return 0;
}

int licence_verify(const struct licence *l, const char *publisher, const char *item_owner,
		   const char *holder, uint64_t now_ms, char *why, size_t size)
{
	if (!l || !publisher)
		return OS_EINVAL;
	if (strcmp(publisher, l->issuer) != 0) {
		lic_why(why, size, "licence %.64s names issuer %s but was signed by %s", l->number,
			l->issuer, publisher);
		return OS_EISSUER;
	}
	if (!item_owner) {
		lic_why(why, size, "licence %.64s is for item %.64s, which is not in the catalogue",
			l->number, l->item);
		return OS_EISSUER;
	}
	if (strcmp(item_owner, l->issuer) != 0) {
		lic_why(why, size,
			"licence %.64s for item %.64s was issued by %s, not its owner %s",
			l->number, l->item, l->issuer, item_owner);
		return OS_EISSUER;
	}
	if (l->revoked) {
		lic_why(why, size, "licence %.64s was revoked by %s", l->number, l->issuer);
		return OS_EREVOKED;
	}
	if (now_ms < l->valid_from_ms) {
		lic_why(why, size, "licence %.64s is not valid before %llu ms", l->number,
			(unsigned long long)l->valid_from_ms);
		return OS_EEXPIRED;
	}
	if (l->valid_until_ms && now_ms >= l->valid_until_ms) {
		lic_why(why, size, "licence %.64s expired", l->number);
		return OS_EEXPIRED;
	}
	if (holder && holder[0] && strcmp(holder, l->holder) != 0) {
		lic_why(why, size, "licence %.64s is held by another subject", l->number);
		return OS_ESUBJECT;
	}
	return 0;
}
