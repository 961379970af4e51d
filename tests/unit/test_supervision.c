/* Unit tests for common/supervision.c: events built from a case transition,
 * an evaluation and a complaint transition carry exactly the metadata of
 * the schema (each field decoded from the wire and checked, no subject,
 * comment or form anywhere in the bytes); the checker refuses anything
 * else; subject tags are stable per period and unrelated across periods. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case.h"
#include "crypto.h"
#include "err.h"
#include "onestop.pb-c.h"
#include "supervision.h"

#define OWNER "gd.sz.market"
#define HALL "gd.sz.hall1"
#define REGION "gd.sz"
#define ITEM "11440300MB2D"
#define SUBJECT "p-440301199001011234"
#define T0 1796083200000ull /* 2026-12-01 00:00 UTC */

static const uint8_t case_id[SV_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const uint8_t key1[SV_KEY_LEN] = {7};
static const uint8_t key2[SV_KEY_LEN] = {8};

static struct sv_case_facts decided_facts(const uint8_t *tag)
{
	struct sv_case_facts f = {
		.case_id = case_id,
		.seq = 3,
		.item = ITEM,
		.item_kind = "licence",
		.owner = OWNER,
		.filer = HALL,
		.region = REGION,
		.channel = SV_CH_HALL,
		.state = CASE_DECIDED,
		.action = CASE_ACT_DECIDE,
		.outcome = CASE_APPROVED,
		.at_ms = T0 + 5000,
		.filed_ms = T0,
		.accepted_ms = T0 + 1000,
		.promised_due_ms = T0 + 86400000ull * 5,
		.legal_due_ms = T0 + 86400000ull * 20,
		.subject_tag = tag,
	};
	return f;
}

/* Read one varint at *p (bounded by end); 0 or -1. */
static int wire_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	*v = 0;
	for (int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;
		*v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Walk the wire form of a packed event by hand: every field must be one of
 * the schema's 20, of its wire type, and each bytes or string field must
 * hold exactly what the event says. Returns the number of fields seen. */
static int wire_check(const uint8_t *buf, size_t len, const struct sv_event *e)
{
	const uint8_t *p = buf, *end = buf + len;
	int fields = 0;
	while (p < end) {
		uint64_t tag, v;
		assert_int_equal(wire_varint(&p, end, &tag), 0);
		unsigned num = (unsigned)(tag >> 3), type = (unsigned)(tag & 7);
		assert_true(num >= 1 && num <= 20);
		int is_bytes = num == 2 || num == 4 || num == 5 || num == 6 || num == 7 ||
			       num == 18 || num == 20;
		if (!is_bytes) {
			assert_int_equal(type, 0); /* varint: enums and integers */
			assert_int_equal(wire_varint(&p, end, &v), 0);
		} else {
			assert_int_equal(type, 2);
			assert_int_equal(wire_varint(&p, end, &v), 0);
			assert_true(v <= (uint64_t)(end - p));
			const char *want = num == 4    ? e->item
					   : num == 5  ? e->item_kind
					   : num == 6  ? e->owner
					   : num == 7  ? e->region
					   : num == 20 ? e->filed_by
						       : NULL;
			if (num == 2) {
				assert_int_equal(v, SV_ID_LEN);
				assert_memory_equal(p, e->id, SV_ID_LEN);
			} else if (num == 18) {
				assert_int_equal(v, SV_TAG_LEN);
				assert_memory_equal(p, e->subject_tag, SV_TAG_LEN);
			} else {
				assert_int_equal(v, strlen(want));
				assert_memory_equal(p, want, v);
			}
			p += v;
		}
		fields++;
	}
	return fields;
}

static int has_bytes(const uint8_t *buf, size_t len, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(buf + i, s, n) == 0)
			return 1;
	return 0;
}

static void test_case_event(void **state)
{
	(void)state;
	uint8_t tag[SV_TAG_LEN], *buf;
	size_t len;
	struct sv_event e, back;
	assert_int_equal(sv_subject_tag(key1, 202612, SUBJECT, tag), 0);
	struct sv_case_facts f = decided_facts(tag);
	assert_int_equal(sv_from_case(&f, &e), 0);
	assert_int_equal(sv_event_pack(&e, &buf, &len), 0);
	/* Every field of the wire form, one by one. */
	assert_int_equal(wire_check(buf, len, &e), 18); /* all but score and complaint kind */
	assert_false(has_bytes(buf, len, SUBJECT));
	assert_int_equal(sv_event_check(buf, len), 0);

	/* And through the generated decoder: each field as the facts said. */
	Onestop__SupervisionEvent *m = onestop__supervision_event__unpack(NULL, len, buf);
	assert_non_null(m);
	assert_int_equal(m->base.n_unknown_fields, 0);
	assert_int_equal(m->kind, ONESTOP__SUPERVISION_KIND__SUPERVISION_KIND_CASE);
	assert_int_equal(m->id.len, SV_ID_LEN);
	assert_memory_equal(m->id.data, case_id, SV_ID_LEN);
	assert_int_equal(m->seq, 3);
	assert_string_equal(m->item, ITEM);
	assert_string_equal(m->item_kind, "licence");
	assert_string_equal(m->owner, OWNER);
	assert_string_equal(m->region, REGION);
	assert_int_equal(m->channel, ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HALL);
	assert_int_equal(m->state, CASE_DECIDED);
	assert_int_equal(m->action, CASE_ACT_DECIDE);
	assert_int_equal(m->outcome, ONESTOP__CASE_OUTCOME__CASE_OUTCOME_APPROVED);
	assert_int_equal(m->at_ms, T0 + 5000);
	assert_int_equal(m->filed_ms, T0);
	assert_int_equal(m->accepted_ms, T0 + 1000);
	assert_int_equal(m->promised_due_ms, f.promised_due_ms);
	assert_int_equal(m->legal_due_ms, f.legal_due_ms);
	assert_int_equal(m->score, 0);
	assert_int_equal(m->subject_tag.len, SV_TAG_LEN);
	assert_memory_equal(m->subject_tag.data, tag, SV_TAG_LEN);
	assert_int_equal(m->complaint_kind, 0);
	assert_string_equal(m->filed_by, HALL);
	onestop__supervision_event__free_unpacked(m, NULL);

	assert_int_equal(sv_event_unpack(buf, len, &back), 0);
	assert_memory_equal(&back, &e, sizeof e);
	free(buf);

	/* Without a tag: no field 18 at all. */
	f.subject_tag = NULL;
	assert_int_equal(sv_from_case(&f, &e), 0);
	assert_int_equal(sv_event_pack(&e, &buf, &len), 0);
	assert_int_equal(wire_check(buf, len, &e), 17);
	assert_int_equal(sv_event_unpack(buf, len, &back), 0);
	assert_int_equal(back.has_tag, 0);
	free(buf);
}

static void test_evaluation_and_complaint(void **state)
{
	(void)state;
	uint8_t *buf;
	size_t len;
	struct sv_event e, back;
	struct sv_case_facts f = decided_facts(NULL);
	assert_int_equal(sv_from_evaluation(&f, 4, SV_CH_MOBILE, T0 + 9000, &e), 0);
	assert_int_equal(e.kind, SV_EVALUATION);
	assert_int_equal(e.seq, 1);
	assert_int_equal(e.score, 4);
	assert_int_equal(e.state, 0);
	assert_int_equal(e.action, 0);
	assert_int_equal(e.channel, SV_CH_MOBILE);
	assert_int_equal(sv_event_pack(&e, &buf, &len), 0);
	wire_check(buf, len, &e);
	assert_int_equal(sv_event_unpack(buf, len, &back), 0);
	assert_memory_equal(&back, &e, sizeof e);
	free(buf);
	assert_int_equal(sv_from_evaluation(&f, 0, SV_CH_WEB, T0, &e), OS_EINVAL);
	assert_int_equal(sv_from_evaluation(&f, 6, SV_CH_WEB, T0, &e), OS_EINVAL);

	struct sv_complaint_facts c = {
		.complaint_id = case_id,
		.seq = 3,
		.complaint_kind = SV_CP_COMPLAINT,
		.item = ITEM,
		.department = "gd.sz.hotline",
		.filer = HALL,
		.region = REGION,
		.channel = SV_CH_HOTLINE,
		.state = 3,
		.action = SV_CP_ANSWER,
		.at_ms = T0 + 7000,
		.filed_ms = T0,
		.due_ms = T0 + 86400000ull * 5,
	};
	assert_int_equal(sv_from_complaint(&c, &e), 0);
	assert_int_equal(e.promised_due_ms, c.due_ms);
	assert_string_equal(e.owner, "gd.sz.hotline");
	assert_int_equal(sv_event_pack(&e, &buf, &len), 0);
	wire_check(buf, len, &e);
	assert_int_equal(sv_event_check(buf, len), 0);
	free(buf);
	c.action = 6;
	assert_int_equal(sv_from_complaint(&c, &e), OS_EINVAL);
	c.action = SV_CP_ANSWER;
	c.complaint_kind = 0;
	assert_int_equal(sv_from_complaint(&c, &e), OS_EINVAL);
	c.complaint_kind = SV_CP_CONSULTATION;
	c.department = "not a name";
	assert_int_equal(sv_from_complaint(&c, &e), OS_ENAME);
	assert_int_equal(e.kind, 0); /* wiped */
}

/* Pack m and run the checker on it. */
static int check_msg(const Onestop__SupervisionEvent *m)
{
	size_t len = onestop__supervision_event__get_packed_size(m);
	uint8_t *buf = malloc(len + 64);
	assert_non_null(buf);
	onestop__supervision_event__pack(m, buf);
	int rc = sv_event_check(buf, len);
	free(buf);
	return rc;
}

static void test_checker_refuses(void **state)
{
	(void)state;
	struct sv_event e;
	uint8_t *buf, big[SV_EVENT_MAX + 1];
	size_t len;
	uint8_t id15[15] = {0}, tag8[8] = {0};
	struct sv_case_facts f = decided_facts(NULL);
	assert_int_equal(sv_from_case(&f, &e), 0);
	assert_int_equal(sv_event_pack(&e, &buf, &len), 0);

	/* A field the schema does not have (here 21, the subject in clear). */
	uint8_t *more = malloc(len + 2 + sizeof SUBJECT);
	assert_non_null(more);
	memcpy(more, buf, len);
	more[len] = (21 << 3) | 2;
	more[len + 1] = (uint8_t)strlen(SUBJECT);
	memcpy(more + len + 2, SUBJECT, strlen(SUBJECT));
	assert_int_equal(sv_event_check(more, len + 2 + strlen(SUBJECT)), OS_EDECODE);
	free(more);
	free(buf);

	Onestop__SupervisionEvent m = ONESTOP__SUPERVISION_EVENT__INIT;
	m.kind = ONESTOP__SUPERVISION_KIND__SUPERVISION_KIND_CASE;
	m.id.data = (uint8_t *)case_id;
	m.id.len = SV_ID_LEN;
	m.seq = 1;
	m.owner = OWNER;
	m.state = CASE_FILED;
	m.action = CASE_ACT_FILE;
	m.at_ms = T0;
	m.filed_ms = T0;
	assert_int_equal(check_msg(&m), 0);
	/* Ids and tags of another size. */
	m.id.data = id15;
	m.id.len = sizeof id15;
	assert_int_equal(check_msg(&m), OS_EDECODE);
	m.id.data = (uint8_t *)case_id;
	m.id.len = SV_ID_LEN;
	m.subject_tag.data = tag8;
	m.subject_tag.len = sizeof tag8;
	assert_int_equal(check_msg(&m), OS_EDECODE);
	m.subject_tag.len = 0;
	/* Fields out of range, one at a time. */
	m.kind = 4;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.kind = ONESTOP__SUPERVISION_KIND__SUPERVISION_KIND_CASE;
	m.state = 9;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.state = CASE_FILED;
	m.action = 0;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.action = CASE_ACT_FILE;
	m.score = 3; /* a score on a case transition */
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.score = 0;
	m.outcome = ONESTOP__CASE_OUTCOME__CASE_OUTCOME_APPROVED; /* before any DECIDE */
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.outcome = 0;
	m.channel = 5;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.channel = 0;
	m.seq = 0;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.seq = 1;
	m.at_ms = 0;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.at_ms = T0;
	m.filed_ms = 0;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.filed_ms = T0;
	m.owner = "";
	assert_int_equal(check_msg(&m), OS_ENAME);
	m.owner = OWNER;
	m.region = "Bad Region";
	assert_int_equal(check_msg(&m), OS_ENAME);
	m.region = REGION;
	m.item = "two words";
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.item = ITEM;
	m.complaint_kind = ONESTOP__COMPLAINT_KIND__COMPLAINT_KIND_COMPLAINT;
	assert_int_equal(check_msg(&m), OS_EINVAL);
	m.complaint_kind = 0;
	assert_int_equal(check_msg(&m), 0);

	/* Not an event, too large, bad arguments. */
	const uint8_t junk[] = {0xff, 0xff, 0xff};
	assert_int_equal(sv_event_check(junk, sizeof junk), OS_EDECODE);
	memset(big, 0, sizeof big);
	assert_int_equal(sv_event_check(big, sizeof big), OS_ETOOBIG);
	assert_int_equal(sv_event_check(NULL, 3), OS_EINVAL);
	assert_int_equal(sv_event_unpack(junk, sizeof junk, NULL), OS_EINVAL);
	assert_int_equal(sv_event_pack(NULL, &buf, &len), OS_EINVAL);
	assert_int_equal(sv_from_case(NULL, &e), OS_EINVAL);
}

static void test_subject_tag(void **state)
{
	(void)state;
	uint8_t a[SV_TAG_LEN], b[SV_TAG_LEN], c[SV_TAG_LEN], d[SV_TAG_LEN], again[SV_TAG_LEN];
	uint8_t want[SV_TAG_LEN];
	assert_int_equal(sv_subject_tag(key1, 202612, SUBJECT, a), 0);
	assert_int_equal(sv_subject_tag(key1, 202612, SUBJECT, again), 0);
	assert_memory_equal(a, again, SV_TAG_LEN); /* stable */
	assert_int_equal(sv_subject_tag(key1, 202701, SUBJECT, b), 0);
	assert_memory_not_equal(a, b, SV_TAG_LEN); /* another period */
	assert_int_equal(sv_subject_tag(key1, 202612, "p-440301199001011235", c), 0);
	assert_memory_not_equal(a, c, SV_TAG_LEN); /* another subject */
	assert_int_equal(sv_subject_tag(key2, 202612, SUBJECT, d), 0);
	assert_memory_not_equal(a, d, SV_TAG_LEN); /* another key */
	/* As documented: keyed BLAKE2b-128 of period (8 bytes big-endian) ||
	 * subject. */
	const uint8_t period[8] = {0, 0, 0, 0, 0, 0x03, 0x17, 0x6c}; /* 202604 */
	assert_int_equal(crypto_keyed_hash(want, SV_TAG_LEN, key1, SV_KEY_LEN, period,
					   sizeof period, (const uint8_t *)SUBJECT,
					   strlen(SUBJECT)),
			 0);
	assert_int_equal(sv_subject_tag(key1, 202604, SUBJECT, a), 0);
	assert_memory_equal(a, want, SV_TAG_LEN);
	/* Pinned: the same from another BLAKE2b (Python's hashlib.blake2b with
	 * key=key1, digest_size=16), so that any implementation can compute it. */
	const uint8_t pinned[SV_TAG_LEN] = {0xb0, 0xc4, 0x99, 0x1d, 0xf6, 0xb2, 0xd9, 0xeb,
					    0x58, 0x4b, 0x43, 0xe5, 0x61, 0x0a, 0xf8, 0x6a};
	assert_memory_equal(a, pinned, SV_TAG_LEN);
	assert_int_equal(sv_subject_tag(NULL, 1, SUBJECT, a), OS_EINVAL);
	assert_int_equal(sv_subject_tag(key1, 1, NULL, a), OS_EINVAL);
	assert_int_equal(crypto_keyed_hash(want, 8, key1, SV_KEY_LEN, NULL, 0, NULL, 0), OS_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_case_event),
		cmocka_unit_test(test_evaluation_and_complaint),
		cmocka_unit_test(test_checker_refuses),
		cmocka_unit_test(test_subject_tag),
	};
	if (crypto_setup() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
