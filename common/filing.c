/* The filing checks of a one-stop case: the item exists and is online, the
 * applicant's assertion holds at the item's level, the required materials
 * are given and every shared reference resolves. Decodes the item, no I/O. */
#include "filing.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "dataset.h"
#include "err.h"
#include "onestop.pb-c.h"

static void filing_why(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Cut s (NUL-terminated) back to a UTF-8 character boundary when the byte
 * at its end would have been a continuation: a truncated sentence stays
 * valid text. */
static void filing_utf8_trim(char *s)
{
	size_t n = strlen(s);
	size_t i = n;
	while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	if (n - (i - 1) < need)
		s[i - 1] = '\0';
}

static void filing_why(char *why, size_t size, const char *fmt, ...)
{
	if (why == NULL || size == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(why, size, fmt, ap);
	va_end(ap);
	if (w >= 0 && (size_t)w >= size)
		filing_utf8_trim(why);
}

/* Append to why, as far as it fits. */
static void filing_why_add(char *why, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void filing_why_add(char *why, size_t size, const char *fmt, ...)
{
	if (why == NULL || size == 0)
		return;
	size_t used = strlen(why);
	if (used + 1 >= size)
		return;
	va_list ap;
	va_start(ap, fmt);
	int w = vsnprintf(why + used, size - used, fmt, ap);
	va_end(ap);
	if (w >= 0 && (size_t)w >= size - used)
		filing_utf8_trim(why);
}

static void filing_copy(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;
	if (n >= size) {
		n = size - 1;
		memcpy(dst, src, n);
		dst[n] = '\0';
		filing_utf8_trim(dst);
		return;
	}
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static int filing_empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* The request's shape, before any rule. 0 or OS_EINVAL with why. */
static int filing_request_valid(const struct filing_request *req, char *why, size_t why_size)
{
	if (req->item_code == NULL || ds_key_valid(req->item_code) != 0) {
		filing_why(why, why_size, "the item code is not 1..%u printable characters",
			   DS_KEY_MAX);
		return OS_EINVAL;
	}
	if (req->filer == NULL || os_name_valid(req->filer) != 0) {
		filing_why(why, why_size, "the filing node is not a valid node name");
		return OS_EINVAL;
	}
	if ((req->item == NULL && req->item_len > 0) || req->item_len > DS_VALUE_MAX) {
		filing_why(why, why_size, "the item value is missing or over %u bytes",
			   DS_VALUE_MAX);
		return OS_EINVAL;
	}
	if (req->assertion_rc > 0 || req->assertion_rc < OS_ERR_MIN ||
	    (req->assertion_rc == 0 && req->assertion == NULL)) {
		filing_why(why, why_size, "no verified assertion and no verifier's code");
		return OS_EINVAL;
	}
	if (req->n_materials > FILING_GIVEN_MAX) {
		filing_why(why, why_size, "at most %u materials may be given", FILING_GIVEN_MAX);
		return OS_EINVAL;
	}
	if (req->materials == NULL && req->n_materials > 0) {
		filing_why(why, why_size, "%zu materials counted, none passed", req->n_materials);
		return OS_EINVAL;
	}
	for (size_t i = 0; i < req->n_materials; i++) {
		const struct filing_material *g = &req->materials[i];
		if (g->source == FILING_UPLOAD && !filing_empty(g->name))
			continue;
		if (g->source == FILING_SHARED && g->dataset != NULL &&
		    os_name_valid(g->dataset) == 0 && g->key != NULL && ds_key_valid(g->key) == 0)
			continue;
		filing_why(why, why_size,
			   "material %zu given is neither an upload with a name nor a reference "
			   "to a dataset and a key",
			   i + 1);
		return OS_EINVAL;
	}
	return 0;
}

/* Is the item's material m among those given? */
static int filing_given(const Onestop__Material *m, const struct filing_material *given, size_t n)
{
	const char *name = m->name != NULL ? m->name : "";
	int shared = !filing_empty(m->shared_data);
	for (size_t i = 0; i < n; i++) {
		const struct filing_material *g = &given[i];
		if (shared) {
			if (g->source == FILING_SHARED && strcmp(g->dataset, m->shared_data) == 0 &&
			    (filing_empty(g->name) || strcmp(g->name, name) == 0))
				return 1;
		} else if (!filing_empty(g->name) && strcmp(g->name, name) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Rule 5: every required material given; why lists the missing ones. */
static int filing_check_materials(const struct filing_request *req, const Onestop__ItemValue *it,
				  char *why, size_t why_size)
{
	size_t missing = 0;
	for (size_t i = 0; i < it->n_materials; i++) {
		const Onestop__Material *m = it->materials[i];
		if (m == NULL || filing_given(m, req->materials, req->n_materials))
			continue;
		if (missing++ == 0)
			filing_why(why, why_size,
				   "required material missing for item %s:", req->item_code);
		if (!filing_empty(m->shared_data))
			filing_why_add(why, why_size, "%s \"%s\" (a reference to dataset %s)",
				       missing > 1 ? "," : "", m->name != NULL ? m->name : "",
				       m->shared_data);
		else
			filing_why_add(why, why_size, "%s \"%s\" (an upload or a reference)",
				       missing > 1 ? "," : "", m->name != NULL ? m->name : "");
	}
	return missing > 0 ? OS_EMATERIAL : 0;
}

/* Rule 6: every shared reference resolved; why names the first that is not. */
static int filing_check_refs(const struct filing_request *req, char *why, size_t why_size)
{
	size_t unresolved = 0;
	const struct filing_material *first = NULL;
	for (size_t i = 0; i < req->n_materials; i++) {
		const struct filing_material *g = &req->materials[i];
		if (g->source != FILING_SHARED || g->resolved)
			continue;
		if (unresolved++ == 0)
			first = g;
	}
	if (first == NULL)
		return 0;
	filing_why(why, why_size, "shared data %s:%s not found", first->dataset, first->key);
	if (unresolved > 1)
		filing_why_add(why, why_size, " (and %zu more references)", unresolved - 1);
	return OS_ENOTFOUND;
}

int filing_check(const struct filing_request *req, struct filing_result *res, char *why,
		 size_t why_size)
{
	Onestop__ItemValue *it = NULL;
	char reason[256] = "";
	int rc;
	if (why != NULL && why_size > 0)
		why[0] = '\0';
	if (res != NULL)
		memset(res, 0, sizeof(*res));
	if (req == NULL || res == NULL) {
		filing_why(why, why_size, "no filing request or result");
		return OS_EINVAL;
	}
	if ((rc = filing_request_valid(req, why, why_size)) != 0)
		return rc;

	/* 1. The item exists, in a copy that decodes and holds its schema. */
	if (req->item == NULL) {
		filing_why(why, why_size, "no item %s in the local items copy", req->item_code);
		return OS_ENOTFOUND;
	}
	if (ds_item_check(req->item, req->item_len, reason, sizeof(reason)) != 0 ||
	    (it = onestop__item_value__unpack(NULL, req->item_len, req->item)) == NULL) {
		filing_why(why, why_size, "item %s in the local copy is damaged: %s",
			   req->item_code, reason);
		return OS_EDECODE;
	}
	filing_copy(res->owner, sizeof(res->owner), it->owner);
	res->legal_days = it->legal_days;
	res->promised_days = it->promised_days;

	/* 2. Online: an offline-only item sends the person to the owner's hall. */
	if (!it->online) {
		filing_copy(res->offline_reason, sizeof(res->offline_reason), it->offline_reason);
		filing_why(why, why_size,
			   "item %s must be done offline, not filed at %s: %s; it is handled by %s",
			   req->item_code, req->filer, res->offline_reason, res->owner);
		rc = OS_EOFFLINE;
		goto out;
	}

	/* 3. and 4. The assertion verified, at the item's level. */
	if (req->assertion_rc != 0) {
		rc = req->assertion_rc;
		filing_why(why, why_size, "the applicant's assertion is refused (%s): %s",
			   os_errname(rc),
			   req->assertion_why != NULL ? req->assertion_why : os_strerror(rc));
		goto out;
	}
	if (req->assertion->level < it->min_level) {
		rc = OS_ELEVEL;
		filing_why(why, why_size,
			   "item %s requires real-name level %u, the assertion has level %u",
			   req->item_code, it->min_level, req->assertion->level);
		goto out;
	}

	/* 5. and 6. The materials. */
	if ((rc = filing_check_materials(req, it, why, why_size)) != 0)
		goto out;
	rc = filing_check_refs(req, why, why_size);
out:
	onestop__item_value__free_unpacked(it, NULL);
	return rc;
}
