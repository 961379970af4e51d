/* Fuzz target: the pure case code on one input. As a CaseMessage: its
 * transitions go through case_apply on a case between its filing and
 * owning nodes (applied twice is applied once; a refused step leaves the
 * record as it was). As a LicenceValue: licence_decode, a pack and decode
 * round trip, licence_change_check and licence_verify for fixed nodes and
 * times. As holiday text: cal_parse, then cal_due and the working days up
 * to each due date. The input's bytes also drive a walk of case_apply. */
#include <stdlib.h>

#include "calendar.h"
#include "case.h"
#include "err.h"
#include "fuzz.h"
#include "licence.h"
#include "onestop.pb-c.h"
#include "supervision.h"

/* --------------------------------------------------------------- cases */

/* Apply t to r, and hold case_apply to its contract. */
static int fc_apply(struct case_record *r, const struct case_step *t)
{
	struct case_record before = *r;
	int dup = -1, rc = case_apply(r, t, &dup);

	if (rc != 0 && rc != OS_EINVAL && rc != OS_ECONFLICT && rc != OS_EGAP &&
	    rc != OS_ENOTALLOWED && rc != OS_ESTATE)
		__builtin_trap();
	if (dup != 0 && dup != 1)
		__builtin_trap();
	if ((rc != 0 || dup) && memcmp(&before, r, sizeof(*r)) != 0)
		__builtin_trap(); /* refused or repeated: unchanged */
	if (rc != 0 && dup)
		__builtin_trap();
	if (rc == 0 && !dup) {
		if (r->seq != t->seq || r->seq != before.seq + 1 ||
		    (unsigned)r->state >= CASE_STATE_COUNT || r->state == CASE_NEW ||
		    r->more_asked > CASE_MORE_MAX || case_allowed(before.state, t->action) != 1)
			__builtin_trap();
		/* The same transition again is the one applied. */
		struct case_record again = *r;
		if (case_apply(&again, t, &dup) != 0 || dup != 1 ||
		    memcmp(&again, r, sizeof(*r)) != 0)
			__builtin_trap();
	}
	if (strcmp(case_action_name(t->action), "unknown") != 0) {
		enum case_action a;
		if (case_action_parse(case_action_name(t->action), &a) != 0 || a != t->action)
			__builtin_trap();
	}
	return rc;
}

static void fc_transition(struct case_record *r, const Onestop__CaseTransition *tr)
{
	struct case_step st = {0};
	size_t len = onestop__case_transition__get_packed_size(tr);
	uint8_t *content = malloc(len ? len : 1);

	if (!content)
		__builtin_trap();
	onestop__case_transition__pack(tr, content);
	st.seq = tr->seq;
	st.action = (enum case_action)tr->action;
	st.outcome = (enum case_outcome)tr->outcome;
	st.actor = tr->actor;
	st.content = content;
	st.content_len = len;
	fc_apply(r, &st);
	/* One byte of content otherwise: a competing transition. */
	if (len > 0) {
		content[len - 1] ^= 1;
		fc_apply(r, &st);
	}
	free(content);
}

/* The decoded message on a case between its parties (from the filing when
 * there is one, else gd.sz files and b owns): a FILE first unless the
 * message is the filing, then the transition. */
static void fc_message(const uint8_t *data, size_t size)
{
	Onestop__CaseMessage *m = onestop__case_message__unpack(NULL, size, data);
	struct case_record r;
	const char *filer = "gd.sz", *owner = "b";

	if (!m)
		return;
	if (m->filing && m->filing->filed_by && m->filing->owner &&
	    os_name_valid(m->filing->filed_by) == 0 && os_name_valid(m->filing->owner) == 0) {
		filer = m->filing->filed_by;
		owner = m->filing->owner;
	}
	if (case_record_init(&r, filer, owner) != 0)
		__builtin_trap();
	if (m->transition) {
		if (!m->filing) {
			struct case_step file = {1,     CASE_ACT_FILE, CASE_OUTCOME_NONE,
						 filer, NULL,          0};
			if (fc_apply(&r, &file) != 0)
				__builtin_trap();
		}
		fc_transition(&r, m->transition);
	}
	if (m->refusal)
		(void)os_strerror(m->refusal->code); /* any number names some code */
	onestop__case_message__free_unpacked(m, NULL);
}

/* A walk: each 3 bytes of the input are one step (the next seq, or one
 * before or after it; an action; an outcome; the filer or the owner or a
 * third node). */
static void fc_walk(const uint8_t *data, size_t size)
{
	static const char *actors[] = {"gd.sz", "b", "sup", ""};
	struct case_record r;

	if (case_record_init(&r, "gd.sz", size > 0 && (data[0] & 1) ? "gd.sz" : "b") != 0)
		__builtin_trap();
	for (size_t i = 1; i + 3 <= size && i < 3 * 80; i += 3) {
		struct case_step st = {0};
		uint8_t a = data[i], b = data[i + 1], c = data[i + 2];
		st.seq = r.seq + 1 + (a >> 6) - ((a >> 6) == 3 ? 4 : 0);
		st.action = (enum case_action)(a % (CASE_ACTION_MAX + 2));
		st.outcome = (enum case_outcome)(b % 4);
		st.actor = actors[(b >> 2) % 4];
		st.content = data + i;
		st.content_len = c % 4;
		fc_apply(&r, &st);
		if (r.outcome != CASE_OUTCOME_NONE && r.state != CASE_DECIDED &&
		    r.state != CASE_CLOSED)
			__builtin_trap(); /* an outcome only comes with DECIDE */
	}
	if (strcmp(case_state_name(r.state), "unknown") == 0)
		__builtin_trap();
}

/* --------------------------------------------------------------- licences */

static void fc_why(int rc, const char *why, size_t size)
{
	if (rc != 0 && (why[0] == '\0' || strlen(why) >= size))
		__builtin_trap();
}

static void fc_licence(const uint8_t *data, size_t size)
{
	static const char *nodes[] = {"gd.sz", "b", NULL};
	static const char *holders[] = {NULL, "", "s-7f3a9c"};
	struct licence l, back;
	uint8_t *packed = NULL;
	size_t plen = 0;
	char why[160];
	int rc;

	why[0] = '\0';
	rc = licence_change_check("LIC-1", "gd.sz", data, size, NULL, 0, why, sizeof(why));
	if (rc != 0 && rc != OS_EINVAL && rc != OS_ENOTALLOWED)
		__builtin_trap();
	fc_why(rc, why, sizeof(why));
	if (licence_decode(data, size, &l) != 0)
		return;
	if (os_name_valid(l.issuer) != 0 || strlen(l.number) >= sizeof(l.number) ||
	    strlen(l.item) >= sizeof(l.item) || strlen(l.holder) >= sizeof(l.holder))
		__builtin_trap();
	if (licence_pack(&l, &packed, &plen) != 0 || licence_decode(packed, plen, &back) != 0 ||
	    memcmp(&l, &back, sizeof(l)) != 0)
		__builtin_trap();
	/* Under its own number, by its issuer, over itself: the schema's
	 * remaining rules only. */
	why[0] = '\0';
	rc = licence_change_check(l.number, l.issuer, data, size, packed, plen, why, sizeof(why));
	if (rc != 0 && rc != OS_EINVAL)
		__builtin_trap();
	fc_why(rc, why, sizeof(why));
	why[0] = '\0';
	rc = licence_change_check(l.number, strcmp(l.issuer, "b") ? "b" : "gd.sz", data, size,
				  packed, plen, why, sizeof(why));
	if (rc == 0)
		__builtin_trap(); /* another publisher never passes */
	fc_why(rc, why, sizeof(why));
	free(packed);

	const uint64_t times[] = {FUZZ_NOW_MS, l.valid_from_ms, l.valid_from_ms - 1,
				  l.valid_until_ms, l.valid_until_ms - 1};
	for (size_t p = 0; p < 3; p++)
		for (size_t o = 0; o < 3; o++)
			for (size_t h = 0; h < 4; h++)
				for (size_t t = 0; t < 5; t++) {
					const char *pub = nodes[p] ? nodes[p] : l.issuer;
					const char *own = o == 2 ? l.issuer : nodes[o];
					const char *hol = h == 3 ? l.holder : holders[h];
					why[0] = '\0';
					rc = licence_verify(&l, pub, own, hol, times[t], why,
							    sizeof(why));
					if (rc != 0 && rc != OS_EISSUER && rc != OS_EREVOKED &&
					    rc != OS_EEXPIRED && rc != OS_ESUBJECT)
						__builtin_trap();
					fc_why(rc, why, sizeof(why));
					if (rc == 0 &&
					    (l.revoked || strcmp(pub, l.issuer) != 0 ||
					     strcmp(own, l.issuer) != 0 ||
					     times[t] < l.valid_from_ms ||
					     (l.valid_until_ms && times[t] >= l.valid_until_ms)))
						__builtin_trap();
				}
	if (licence_verify(&l, l.issuer, NULL, NULL, FUZZ_NOW_MS, NULL, 0) != OS_EISSUER)
		__builtin_trap();
}

/* --------------------------------------------------------------- calendar */

static uint64_t fc_u64(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n && i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The input (after 8 bytes of start time and offset) as holiday text;
 * then due dates from the start, each counted back in working days. */
static void fc_calendar(const uint8_t *data, size_t size)
{
	struct cal c;
	char why[128];
	uint64_t start, prev = 0;

	if (size < 8)
		return;
	/* 1970..2400, in any zone from -14:00 to +14:00. */
	start = fc_u64(data, 6) % (13569465600000ull);
	if (cal_init(&c, (int32_t)(data[6] % 57) * 30 - 14 * 60) != 0)
		__builtin_trap();
	why[0] = 'x';
	int rc = cal_parse(&c, (const char *)data + 8, size - 8, why, sizeof(why));
	if (rc != 0 && rc != OS_ECONFIG)
		__builtin_trap();
	if ((rc == 0) != (why[0] == '\0'))
		__builtin_trap();
	for (uint32_t n = 0; n < 12; n += 1 + data[7] % 3) {
		uint64_t due;
		uint32_t count;
		if (cal_due(&c, start, n, &due) != 0)
			break;
		if (due < start || (n > 0 && due <= prev))
			__builtin_trap();
		if (cal_is_overdue(due, due) || !cal_is_overdue(due, due + 1))
			__builtin_trap();
		if (cal_working_days_between(&c, start, due, &count) != 0 || count != n)
			__builtin_trap();
		prev = due;
	}
	cal_clear(&c);
}

/* A supervision event: what unpacks must check, re-pack and unpack the
 * same (common/supervision.c). */
static void fc_event(const uint8_t *data, size_t size)
{
	struct sv_event e, back;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc = sv_event_unpack(data, size, &e);
	if ((rc == 0) != (sv_event_check(data, size) == 0))
		__builtin_trap();
	if (rc != 0)
		return;
	if (sv_event_valid(&e) != 0 || sv_event_pack(&e, &buf, &len) != 0 ||
	    sv_event_unpack(buf, len, &back) != 0 || back.seq != e.seq || back.at_ms != e.at_ms)
		__builtin_trap();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		fuzz_quiet();
		ready = 1;
	}
	fc_message(data, size);
	fc_licence(data, size);
	fc_walk(data, size);
	fc_calendar(data, size);
	fc_event(data, size);
	return 0;
}
