/* Deadlines of a case (#6) with an injected clock: the spokes run with
 * ONESTOP_CASE_CLOCK_FILE, a holidays file holding Monday 2026-12-07 and
 * the calendar at UTC+8. A case accepted on Friday 2026-12-04 at 04:00
 * local time (Thursday 20:00 UTC) with 3 promised and 5 legal working
 * days is due at the end of Thursday 2026-12-10 and Monday 2026-12-14
 * (the weekend and the holiday skipped); it is not overdue the day before
 * nor at the due millisecond, and is listed as overdue (library and CLI,
 * at both ends) from the millisecond after. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "case_harness.h"
#include "err.h"
#include "util.h"

#define ACCEPT_MS 1796328000000ULL                /* 2026-12-03T20:00:00Z, Fri 04:00 +08 */
#define PROMISED_DUE_MS (1796918400000ULL - 1ULL) /* 2026-12-10T23:59:59.999+08 */
#define LEGAL_DUE_MS (1797264000000ULL - 1ULL)    /* 2026-12-14T23:59:59.999+08 */
#define DAY_BEFORE_MS 1796817600000ULL            /* 2026-12-09T20:00+08 */
#define OFFSET_MS (480ULL * 60000ULL)

/* 1 when the overdue list of p holds id, 0 when not, -1 on error. */
static int overdue_has(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], size_t *count)
{
	onestop_case_filter_t f = {.overdue = 1, .limit = 100};
	onestop_case_t *cs = NULL;
	onestop_t *c = NULL;
	uint8_t next[ONESTOP_ID_LEN];
	size_t k = 0;
	int more = 0, has = 0, rc = net_connect(p, 0, &c);

	if (rc == 0)
		rc = onestop_case_list(c, &f, &cs, &k, next, &more);
	if (rc != 0) {
		fprintf(stderr, "  overdue list at %s: %d %s (%s)\n", p->name, rc, os_errname(rc),
			c ? onestop_last_error(c) : "");
		onestop_close(&c);
		return -1;
	}
	for (size_t i = 0; i < k; i++)
		has |= memcmp(cs[i].id, id, ONESTOP_ID_LEN) == 0;
	*count = k;
	onestop_cases_free(&cs, k);
	onestop_close(&c);
	return has;
}

static int overdue_flag(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN])
{
	onestop_case_t *cs = NULL;
	int v = ch_get(p, id, &cs) == 0 ? cs->overdue : -1;

	onestop_case_free(&cs);
	return v;
}

/* The clock at ms; then the state of both ends: listed (library and CLI)
 * and flagged overdue as want. */
static void at(struct case_net *cn, const char *clock, uint64_t ms, const char *when,
	       const uint8_t id[ONESTOP_ID_LEN], int want)
{
	struct net_proc *ends[2] = {cn->owner, cn->hall};
	char hex[2 * ONESTOP_ID_LEN + 1];

	os_hex(hex, id, ONESTOP_ID_LEN);
	H_REQUIRE(cn->n, ch_clock_set(clock, ms) == 0, "clock set to %s", when);
	for (int i = 0; i < 2; i++) {
		struct cmd_out r;
		size_t k = 0;
		int has = overdue_has(ends[i], id, &k), rc;

		H_CHECK(cn->n, has == want, "%s: %s %s the case in its overdue list (%zu listed)",
			when, ends[i]->name, want ? "has" : "does not have", k);
		H_CHECK(cn->n, overdue_flag(ends[i], id) == want,
			"%s: CaseInfo.overdue is %d at %s", when, want, ends[i]->name);
		rc = ch_cli(cn->n, ends[i], &r, "cases", "--overdue", NULL);
		H_CHECK(cn->n, rc == 0 && !strstr(r.out, hex) == !want,
			"%s: onestop cases --overdue at %s %s it (exit %d %.300s%.300s)", when,
			ends[i]->name, want ? "lists" : "does not list", rc, r.out, r.err);
		cmd_out_free(&r);
	}
}

/* A decided case is listed as overdue exactly when CaseInfo.overdue says
 * so, at both ends, by the library and by the CLI. */
static void consistent(struct case_net *cn, const uint8_t id[ONESTOP_ID_LEN], const char *what)
{
	struct net_proc *ends[2] = {cn->owner, cn->hall};
	char hex[2 * ONESTOP_ID_LEN + 1];

	os_hex(hex, id, ONESTOP_ID_LEN);
	for (int i = 0; i < 2; i++) {
		struct cmd_out r;
		size_t k = 0;
		int has = overdue_has(ends[i], id, &k), flag = overdue_flag(ends[i], id), rc;

		H_CHECK(cn->n, has >= 0 && has == flag,
			"%s: %s lists it as overdue (%d) exactly when CaseInfo.overdue is set (%d)",
			what, ends[i]->name, has, flag);
		rc = ch_cli(cn->n, ends[i], &r, "cases", "--overdue", NULL);
		H_CHECK(cn->n, rc == 0 && !strstr(r.out, hex) == !flag,
			"%s: onestop cases --overdue at %s agrees (exit %d %.300s%.300s)", what,
			ends[i]->name, rc, r.out, r.err);
		cmd_out_free(&r);
	}
}

int main(void)
{
	struct case_net cn;
	struct net_opts o;
	struct net *n;
	char dir[] = "/tmp/onestop-it-cal-XXXXXX", clock[64], hol[64], date[16];
	uint8_t id[ONESTOP_ID_LEN], id2[ONESTOP_ID_LEN];
	onestop_case_t *cs = NULL;
	char why[512];
	FILE *f;
	int rc;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(clock, sizeof clock, "%s/clock", dir);
	snprintf(hol, sizeof hol, "%s/holidays", dir);
	f = fopen(hol, "w");
	if (!f || fputs("# the test's holidays\n2026-12-07\n2027-01-01\n", f) < 0 || fclose(f)) {
		perror(hol);
		return 1;
	}
	if (ch_clock_set(clock, ACCEPT_MS) != 0 ||
	    setenv("ONESTOP_CASE_CLOCK_FILE", clock, 1) != 0) {
		perror(clock);
		return 1;
	}
	ch_opts(&o);
	for (int i = 0; i < 4; i++) {
		o.spoke[i].conf[0] = (struct net_kv){"holidays_file", hol};
		o.spoke[i].conf[1] = (struct net_kv){"calendar_utc_offset_min", "480"};
	}
	ch_start(&cn, &o);
	n = cn.n;

	fprintf(stderr, "accepted on Friday 04:00 local time\n");
	rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, NULL, 0, id, why, sizeof why);
	H_REQUIRE(n, rc == 0, "filed a case (rc %d \"%s\")", rc, why);
	rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, NULL, 0, id2, why,
			 sizeof why);
	H_REQUIRE(n, rc == 0, "filed a second case (rc %d \"%s\")", rc, why);
	H_REQUIRE(n,
		  ch_wait_state(cn.owner, id, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0 &&
			  ch_wait_state(cn.owner, id2, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) ==
				  0,
		  "the owner received both");
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_REQUIRE(n, rc == 0, "the owner accepted the first (rc %d \"%s\")", rc, why);
	rc = ch_act_simple(cn.owner, id2, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_REQUIRE(n, rc == 0, "and the second (rc %d \"%s\")", rc, why);
	H_REQUIRE(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_ACCEPTED, 2, h_ms(20000), NULL) == 0,
		  "the hall sees the first accepted");
	for (int i = 0; i < 2; i++) {
		struct net_proc *p = i ? cn.hall : cn.owner;

		rc = ch_get(p, id, &cs);
		H_REQUIRE(n, rc == 0, "read the case at %s", p->name);
		date[0] = '\0';
		{
			time_t t = (time_t)((cs->promised_due_ms + OFFSET_MS) / 1000);
			struct tm tm;

			if (gmtime_r(&t, &tm))
				strftime(date, sizeof date, "%Y-%m-%d", &tm);
		}
		H_CHECK(n, cs->accepted_ms == ACCEPT_MS, "%s: accepted at the injected time (%llu)",
			p->name, (unsigned long long)cs->accepted_ms);
		H_CHECK(n,
			cs->promised_due_ms == PROMISED_DUE_MS && strcmp(date, "2026-12-10") == 0,
			"%s: promised due at the end of Thursday 2026-12-10 +08:00 (got %llu, %s)",
			p->name, (unsigned long long)cs->promised_due_ms, date);
		H_CHECK(n, cs->legal_due_ms == LEGAL_DUE_MS,
			"%s: legal due at the end of Monday 2026-12-14 +08:00 (got %llu)", p->name,
			(unsigned long long)cs->legal_due_ms);
		onestop_case_free(&cs);
	}
	rc = ch_act_simple(cn.owner, id2, ONESTOP_ACT_DECIDE, ONESTOP_DENIED, "denied in time",
			   NULL, why, sizeof why);
	H_REQUIRE(n, rc == 0, "the second is decided in time (rc %d \"%s\")", rc, why);
	H_REQUIRE(n, ch_wait_state(cn.hall, id2, ONESTOP_CASE_DECIDED, 3, h_ms(20000), NULL) == 0,
		  "the hall sees the second decided");

	at(&cn, clock, ACCEPT_MS, "at acceptance", id, 0);
	at(&cn, clock, DAY_BEFORE_MS, "the day before (Wednesday 20:00)", id, 0);
	at(&cn, clock, PROMISED_DUE_MS, "at the due millisecond", id, 0);
	at(&cn, clock, PROMISED_DUE_MS + 1, "one millisecond after", id, 1);
	at(&cn, clock, LEGAL_DUE_MS + 1000, "past the legal date", id, 1);
	consistent(&cn, id2, "a case decided in time, past its due date");
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_DECIDE, ONESTOP_APPROVED, "late", NULL, why,
			   sizeof why);
	H_CHECK(n, rc == 0, "the first is decided, late (rc %d \"%s\")", rc, why);
	H_CHECK(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_DECIDED, 3, h_ms(20000), NULL) == 0,
		"the hall sees it decided");
	H_REQUIRE(n, ch_clock_set(clock, LEGAL_DUE_MS + 2000) == 0, "clock moved on");
	consistent(&cn, id, "a case decided late");
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_CLOSE, 0, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == 0, "the first is closed (rc %d \"%s\")", rc, why);
	H_CHECK(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_CLOSED, 4, h_ms(20000), NULL) == 0,
		"the hall sees it closed");
	at(&cn, clock, LEGAL_DUE_MS + 3000, "after it was closed", id, 0);

	rc = net_done(&n);
	unlink(clock);
	unlink(hol);
	rmdir(dir);
	return rc;
}
