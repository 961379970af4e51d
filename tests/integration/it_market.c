/* Market monitoring (docs/PROTOCOL.md 12.3) between real daemons, with an
 * injected case clock: on 35 consecutive days the owner approves a few
 * registrations of CH_ITEM_REG a day (1, 2, 3, 2, ... and 12 on one
 * day), and from day 20 on one licence of CH_ITEM_LIC a day. The
 * supervisor counts the approvals per region, kind and day; `onestop
 * market` (library and CLI) gives each day's count with the mean and sigma
 * of the 28 days before, and flags the spike day and no other: a day with
 * less than 28 days of history before it is never flagged. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "case_harness.h"
#include "err.h"
#include "util.h"

#define DAYS 35
#define SPIKE_DAY 31
#define SPIKE 12
#define LIC_FROM 20
#define DAY0_MS 1790856000000ULL /* 2026-10-01T12:00:00Z */
#define DAY_MS 86400000ULL

static unsigned reg_count(int d)
{
	static const unsigned cycle[4] = {1, 2, 3, 2};
	return d == SPIKE_DAY ? SPIKE : cycle[d % 4];
}

static void day_str(int d, char out[11])
{
	time_t t = (time_t)((DAY0_MS + (uint64_t)d * DAY_MS) / 1000);
	struct tm tm;
	out[0] = '\0';
	if (gmtime_r(&t, &tm))
		strftime(out, 11, "%Y-%m-%d", &tm);
}

/* File item at the owner for a subject and approve it there, now. */
static int approve_one(struct case_net *cn, const char *item, int i)
{
	uint8_t id[ONESTOP_ID_LEN];
	char why[512] = "";
	const char *subject = i % 2 ? CH_SUBJECT2 : CH_SUBJECT;
	int rc = ch_file_std(cn, cn->owner, item, subject, NULL, NULL, 0, id, why, sizeof why);
	if (rc == 0)
		rc = ch_act_simple(cn->owner, id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why,
				   sizeof why);
	if (rc == 0)
		rc = ch_act_simple(cn->owner, id, ONESTOP_ACT_DECIDE, ONESTOP_APPROVED, NULL, NULL,
				   why, sizeof why);
	if (rc != 0)
		fprintf(stderr, "  %s #%d: %d %s (%s)\n", item, i, rc, os_errname(rc), why);
	return rc;
}

/* Poll the supervisor's stats by item until item counts want approvals. */
static int approved_wait(struct net_proc *p, const char *item, uint64_t want, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)h_ms(timeout_ms), got = 0;
	for (;;) {
		onestop_t *c = NULL;
		onestop_stats_row_t *rows = NULL;
		size_t n = 0;
		if (net_connect(p, 0, &c) == 0 &&
		    onestop_stats(c, "item", NULL, NULL, &rows, &n) == 0)
			for (size_t i = 0; i < n; i++)
				if (strcmp(rows[i].key, item) == 0)
					got = rows[i].approved;
		free(rows);
		onestop_close(&c);
		if (got == want)
			return 0;
		if (h_now_ms() >= until) {
			fprintf(stderr, "  %s: %llu approvals counted, %llu wanted\n", item,
				(unsigned long long)got, (unsigned long long)want);
			return -1;
		}
		usleep(100000);
	}
}

int main(void)
{
	struct case_net cn;
	struct net_opts o;
	char dir[] = "/tmp/onestop-it-market-XXXXXX", clock[64];
	unsigned total_reg = 0, total_lic = 0;
	int rc, filed_ok = 1;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(clock, sizeof clock, "%s/clock", dir);
	if (ch_clock_set(clock, DAY0_MS) != 0 || setenv("ONESTOP_CASE_CLOCK_FILE", clock, 1) != 0) {
		perror(clock);
		return 1;
	}
	ch_opts_sup(&o);
	ch_start(&cn, &o);
	struct net *n = cn.n;

	for (int d = 0; d < DAYS && filed_ok; d++) {
		H_REQUIRE(n, ch_clock_set(clock, DAY0_MS + (uint64_t)d * DAY_MS) == 0,
			  "clock at day %d", d);
		for (unsigned k = 0; k < reg_count(d) && filed_ok; k++)
			filed_ok = approve_one(&cn, CH_ITEM_REG, (int)total_reg++) == 0;
		if (d >= LIC_FROM && filed_ok)
			filed_ok = approve_one(&cn, CH_ITEM_LIC, (int)total_lic++) == 0;
	}
	H_REQUIRE(n, filed_ok, "%u registrations and %u licences filed and approved over %d days",
		  total_reg, total_lic, DAYS);
	H_REQUIRE(n,
		  approved_wait(cn.sup, CH_ITEM_REG, total_reg, 30000) == 0 &&
			  approved_wait(cn.sup, CH_ITEM_LIC, total_lic, 30000) == 0,
		  "the supervisor counted every approval");

	/* The library: one row per kind and day, the spike flagged alone. */
	onestop_t *c = NULL;
	onestop_market_row_t *rows = NULL;
	size_t nr = 0;
	rc = net_connect(cn.sup, 0, &c);
	if (rc == 0)
		rc = onestop_market(c, "gd.sz", NULL, DAYS, &rows, &nr);
	H_REQUIRE(n, rc == 0, "onestop_market at the supervisor (%d %s)", rc,
		  c ? onestop_last_error(c) : "");
	H_CHECK(n, nr == 2 * DAYS, "one row per kind (licence, registration) and day: %zu", nr);
	int counts_ok = 0, hist_ok = 0, flags = 0, spike_flagged = 0, lic_flags = 0, days_ok = 0;
	for (size_t i = 0; i < nr; i++) {
		const onestop_market_row_t *r = &rows[i];
		int d = (int)(i % DAYS);
		char want_day[11];
		day_str(d, want_day);
		days_ok += strcmp(r->day, want_day) == 0 && strcmp(r->region, "gd.sz") == 0;
		if (i < DAYS) {
			/* licence: days 20.. one a day, too little history */
			counts_ok += strcmp(r->kind, "licence") == 0 &&
				     r->approved == (d >= LIC_FROM ? 1u : 0u);
			hist_ok += !r->history;
			lic_flags += r->flagged;
		} else {
			counts_ok +=
				strcmp(r->kind, "registration") == 0 && r->approved == reg_count(d);
			hist_ok += r->history == (d >= 28);
			flags += r->flagged;
			spike_flagged += r->flagged && d == SPIKE_DAY;
		}
		if (d == SPIKE_DAY && i >= DAYS)
			fprintf(stderr, "  spike day %s: approved %llu mean %.3f sigma %.3f\n",
				r->day, (unsigned long long)r->approved, r->mean, r->sigma);
	}
	H_CHECK(n, days_ok == 2 * DAYS, "each row names region gd.sz and its day, in order (%d)",
		days_ok);
	H_CHECK(n, counts_ok == 2 * DAYS, "each day's count is the number approved that day (%d)",
		counts_ok);
	H_CHECK(n, hist_ok == 2 * DAYS,
		"history from the 28th day of a series on, never for the short one (%d)", hist_ok);
	H_CHECK(n, flags == 1 && spike_flagged == 1 && lic_flags == 0,
		"the spike day is flagged and no other (%d flagged, spike %d, licence %d)", flags,
		spike_flagged, lic_flags);
	if (nr == 2 * DAYS) {
		const onestop_market_row_t *r = &rows[DAYS + 30];
		H_CHECK(n, r->mean > 1.99 && r->mean < 2.01 && r->sigma > 0.70 && r->sigma < 0.71,
			"the day before the spike: mean 2, sigma 0.707 of its 28 days (%.3f %.3f)",
			r->mean, r->sigma);
	}
	free(rows);
	rows = NULL;
	rc = onestop_market(c, NULL, "registration", 400, &rows, &nr);
	H_CHECK(n, rc == ONESTOP_EINVAL, "days over 366 refused EINVAL (%d)", rc);
	free(rows);
	onestop_close(&c);

	/* The CLI. */
	struct cmd_out out;
	char spike[11], want[64];
	day_str(SPIKE_DAY, spike);
	memset(&out, 0, sizeof out);
	rc = ch_cli(n, cn.sup, &out, "market", "--kind", "registration", "--days", "35", "--json",
		    NULL);
	snprintf(want, sizeof want, "\"day\":\"%s\",\"approved\":%d,", spike, SPIKE);
	const char *at = rc == 0 && out.out ? strstr(out.out, want) : NULL;
	const char *flag = out.out ? strstr(out.out, "\"flagged\":true") : NULL;
	H_CHECK(n,
		at && flag && flag > at && !strstr(flag + 1, "\"flagged\":true") &&
			!strstr(out.out, "licence"),
		"onestop market --kind registration --json: the spike day alone flagged (%d %.200s)",
		rc, at ? at : (out.out ? out.out : ""));
	cmd_out_free(&out);
	rc = ch_cli(n, cn.sup, &out, "market", "--days", "5", NULL);
	const char *sp = rc == 0 && out.out ? strstr(out.out, "SPIKE") : NULL;
	H_CHECK(n, sp && !strstr(sp + 1, "SPIKE") && strstr(out.out, "gd.sz registration"),
		"onestop market --days 5: one line per row, the spike marked (%d %.400s)", rc,
		out.out ? out.out : "");
	cmd_out_free(&out);
	rc = ch_cli(n, cn.sup, &out, "market", "--days", "367", NULL);
	H_CHECK(n, rc == 2, "onestop market --days 367: usage error (%d)", rc);
	cmd_out_free(&out);

	rc = net_done(&n);
	unlink(clock);
	rmdir(dir);
	return rc;
}
