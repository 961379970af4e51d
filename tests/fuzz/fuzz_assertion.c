/* Fuzz target: assertion_verify of a packed SignedAssertion against the
 * test registry (gd.sz is the idp), with and without an audience, then
 * assertion_check_subject of what was decoded against fixed identities and
 * against the input itself read as an identity. */
#include <stdlib.h>

#include "assertion.h"
#include "err.h"
#include "fuzz.h"
#include "onestop.pb-c.h"

static struct registry *reg;
static uint8_t *ids[3];
static size_t id_lens[3];

static uint8_t *fuzz_identity(int status, uint32_t level, size_t *len)
{
	Onestop__IdentityValue iv = ONESTOP__IDENTITY_VALUE__INIT;
	iv.kind = ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON;
	iv.level = level;
	iv.status = (Onestop__SubjectStatus)status;
	iv.authority = "gd.sz";
	*len = onestop__identity_value__get_packed_size(&iv);
	uint8_t *b = malloc(*len);
	if (b == NULL)
		__builtin_trap();
	onestop__identity_value__pack(&iv, b);
	return b;
}

static void fuzz_check(int rc, const char *reason, size_t size)
{
	if (rc > 0 || rc < OS_ERR_MIN)
		__builtin_trap();
	if (rc != 0 && (reason[0] == '\0' || strlen(reason) >= size))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (reg == NULL) {
		reg = fuzz_registry();
		ids[0] = fuzz_identity(ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE, 3,
				       &id_lens[0]);
		ids[1] = fuzz_identity(ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE, 1,
				       &id_lens[1]);
		ids[2] = fuzz_identity(ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_REVOKED, 3,
				       &id_lens[2]);
	}
	static const char *audiences[] = {NULL, "", "gd.sz", "sup"};
	static const uint64_t nows[] = {FUZZ_NOW_MS, FUZZ_NOW_MS + FUZZ_DAY_MS, 0};
	for (size_t i = 0; i < sizeof(audiences) / sizeof(audiences[0]); i++) {
		for (size_t k = 0; k < sizeof(nows) / sizeof(nows[0]); k++) {
			struct assertion a;
			char reason[256];
			reason[0] = '\0';
			int rc = assertion_verify(data, size, reg, audiences[i], nows[k], &a,
						  reason, sizeof(reason));
			fuzz_check(rc, reason, sizeof(reason));
			if (rc == 0) {
				/* Only the idp signs, only within its validity. */
				if (strcmp(a.issuer, "gd.sz") != 0 || a.level < 1 || a.level > 3 ||
				    ds_key_valid(a.subject) != 0 || nows[k] >= a.expires_ms)
					__builtin_trap();
			}
			/* The subject part runs on whatever was decoded. */
			for (size_t j = 0; j < 3; j++) {
				reason[0] = '\0';
				rc = assertion_check_subject(&a, ids[j], id_lens[j], (uint32_t)j,
							     reason, sizeof(reason));
				fuzz_check(rc, reason, sizeof(reason));
			}
			reason[0] = '\0';
			rc = assertion_check_subject(&a, data, size, 2, reason, sizeof(reason));
			fuzz_check(rc, reason, sizeof(reason));
		}
	}
	return 0;
}
