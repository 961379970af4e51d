/* A complete case across two spokes (#6): filed at the hall with an
 * identity reference, a form and an upload, accepted, more material
 * asked, resubmitted (pending at the hall until the owner applies it),
 * accepted and approved with an e-licence, which a second case at another
 * department then uses as a material. Both ends hold the same history;
 * the owner reads the opened form; the hub never holds the form or the
 * upload in clear; the hall's app is told of every step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "case_harness.h"
#include "err.h"
#include "util.h"

#define MARKER "form-secret-7f3a91c2"
#define MARKER2 "upload-secret-b40e55d1"

struct seen {
	uint8_t id[ONESTOP_ID_LEN];
	int actions[16]; /* count by action */
	int filings;
	long total;
};

static void on_msg(const struct ch_casemsg *m, const uint8_t *payload, size_t len, void *arg)
{
	struct seen *s = arg;

	(void)payload;
	(void)len;
	s->total++;
	if (memcmp(m->case_id, s->id, ONESTOP_ID_LEN) != 0)
		return;
	if (m->has_filing)
		s->filings++;
	if (m->action > 0 && m->action < 16)
		s->actions[m->action]++;
}

/* The first run of exactly 32 hex digits in text into id; 0 or -1. */
static int find_id(const char *text, uint8_t id[ONESTOP_ID_LEN])
{
	for (const char *s = text; *s; s++) {
		size_t k = strspn(s, "0123456789abcdef");

		if (k == 32 && (s == text || s[-1] != '-')) {
			char hex[33];

			memcpy(hex, s, 32);
			hex[32] = '\0';
			return os_unhex(id, ONESTOP_ID_LEN, hex) == 0 ? 0 : -1;
		}
		if (k)
			s += k - 1;
	}
	return -1;
}

static void check_history(struct net *n, const onestop_case_t *cs, const int *actions,
			  const char *const *actors, size_t k)
{
	int same = cs->n_history == k;

	for (size_t i = 0; same && i < k; i++)
		same = cs->history[i].seq == i + 1 && cs->history[i].action == actions[i] &&
		       strcmp(cs->history[i].actor, actors[i]) == 0;
	H_CHECK(n, same, "the history is the %zu expected steps (has %zu)", k, cs->n_history);
	for (size_t i = 0; i < cs->n_history; i++)
		fprintf(stderr, "    step seq %llu %s %s by %s\n",
			(unsigned long long)cs->history[i].seq,
			onestop_case_action_name(cs->history[i].action),
			onestop_case_outcome_name(cs->history[i].outcome), cs->history[i].actor);
}

int main(void)
{
	static const int actions[] = {ONESTOP_ACT_FILE,      ONESTOP_ACT_ACCEPT,
				      ONESTOP_ACT_NEED_MORE, ONESTOP_ACT_RESUBMIT,
				      ONESTOP_ACT_ACCEPT,    ONESTOP_ACT_DECIDE};
	static const char *const actors[] = {CH_HALL, CH_OWNER, CH_OWNER,
					     CH_HALL, CH_OWNER, CH_OWNER};
	struct case_net cn;
	struct net *n;
	uint8_t id[ONESTOP_ID_LEN], id2[ONESTOP_ID_LEN];
	char why[512], hex[2 * ONESTOP_ID_LEN + 1], licence[257] = "";
	onestop_case_acted_t acted;
	onestop_case_t *cs = NULL;
	onestop_t *ch = NULL, *co = NULL;
	struct seen at_hall, at_owner;
	struct cmd_out r;
	int rc;

	ch_start(&cn, NULL);
	n = cn.n;

	fprintf(stderr, "file at the hall\n");
	rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, MARKER, 0, id, why,
			 sizeof why);
	H_REQUIRE(n, rc == 0, "the hall filed a case for %s (rc %d %s \"%s\")", CH_ITEM_LIC, rc,
		  os_errname(rc), why);
	os_hex(hex, id, ONESTOP_ID_LEN);
	rc = ch_get(cn.hall, id, &cs);
	H_CHECK(n, rc == 0 && cs->state == ONESTOP_CASE_FILED && cs->seq == 1,
		"the hall holds it, filed, seq 1 (rc %d)", rc);
	H_CHECK(n,
		rc == 0 && strcmp(cs->owner, CH_OWNER) == 0 && strcmp(cs->filed_by, CH_HALL) == 0 &&
			strcmp(cs->applicant, CH_SUBJECT) == 0 &&
			strcmp(cs->item, CH_ITEM_LIC) == 0 && cs->channel == ONESTOP_CHANNEL_HALL,
		"owner, filer, applicant, item and channel as filed");
	onestop_case_free(&cs);
	H_REQUIRE(n, ch_wait_state(cn.owner, id, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0,
		  "the owner received the case");

	fprintf(stderr, "accept (CLI), need more, resubmit, accept, approve\n");
	rc = ch_cli(n, cn.owner, &r, "case", "accept", hex, NULL);
	H_CHECK(n, rc == 0, "onestop case accept %s at the owner: exit %d (%.300s%.300s)", hex, rc,
		r.out, r.err);
	cmd_out_free(&r);
	H_REQUIRE(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_ACCEPTED, 2, h_ms(20000), NULL) == 0,
		  "the hall sees it accepted");
	{
		const char *missing[] = {CH_MAT_FORM};
		onestop_case_act_t a = {.action = ONESTOP_ACT_NEED_MORE,
					.reason = "the scan is unreadable",
					.missing = missing,
					.n_missing = 1};

		rc = ch_act(cn.owner, id, &a, &acted, why, sizeof why);
		H_REQUIRE(n, rc == 0 && acted.seq == 3 && !acted.pending,
			  "the owner asked for more (rc %d \"%s\")", rc, why);
	}
	H_REQUIRE(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_MORE_NEEDED, 3, h_ms(20000), &cs) == 0,
		  "the hall sees more_needed");
	H_CHECK(n,
		cs->n_history == 3 && cs->history[2].n_missing == 1 &&
			strcmp(cs->history[2].missing[0], CH_MAT_FORM) == 0,
		"the hall's history names the missing material");
	onestop_case_free(&cs);
	{
		const char doc[] = "a readable scan: " MARKER2;
		onestop_case_upload_t up = {CH_MAT_FORM, (const uint8_t *)doc, sizeof doc - 1};
		onestop_case_act_t a = {.action = ONESTOP_ACT_RESUBMIT,
					.uploads = &up,
					.n_uploads = 1};

		rc = ch_act(cn.hall, id, &a, &acted, why, sizeof why);
		H_REQUIRE(n, rc == 0, "the hall resubmitted (rc %d %s \"%s\")", rc, os_errname(rc),
			  why);
		H_CHECK(n, acted.pending == 1 && acted.seq == 4,
			"the resubmission is pending until the owner applies it (pending %d seq "
			"%llu)",
			acted.pending, (unsigned long long)acted.seq);
	}
	H_REQUIRE(n,
		  ch_wait_state(cn.owner, id, ONESTOP_CASE_RESUBMITTED, 4, h_ms(20000), NULL) == 0,
		  "the owner applied the resubmission");
	H_REQUIRE(n,
		  ch_wait_state(cn.hall, id, ONESTOP_CASE_RESUBMITTED, 4, h_ms(20000), NULL) == 0,
		  "the hall applied it when the owner echoed it (no longer pending)");
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_ACCEPT, 0, NULL, &acted, why, sizeof why);
	H_REQUIRE(n, rc == 0 && acted.seq == 5, "the owner accepted again (rc %d \"%s\")", rc, why);
	{
		onestop_case_act_t a = {.action = ONESTOP_ACT_DECIDE,
					.outcome = ONESTOP_APPROVED,
					.reason = "all conditions met",
					.licence_days = 365};

		rc = ch_act(cn.owner, id, &a, &acted, why, sizeof why);
		H_REQUIRE(n, rc == 0 && acted.seq == 6, "the owner approved (rc %d %s \"%s\")", rc,
			  os_errname(rc), why);
		snprintf(licence, sizeof licence, "%s", acted.licence);
	}
	{
		char want[64];

		snprintf(want, sizeof want, "LIC-%s", hex);
		H_CHECK(n, strcasecmp(licence, want) == 0,
			"the approval issued licence %s (got %s)", want, licence);
	}
	H_REQUIRE(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_DECIDED, 6, h_ms(20000), &cs) == 0,
		  "the hall sees it decided");
	H_CHECK(n, cs->outcome == ONESTOP_APPROVED && strcmp(cs->licence, licence) == 0,
		"approved, with the licence, at the hall (%s)", cs->licence);
	H_CHECK(n, cs->form_len == 0 && cs->n_uploads == 0,
		"the hall does not hand out the form or uploads (form %zu, uploads %zu)",
		cs->form_len, cs->n_uploads);
	check_history(n, cs, actions, actors, 6);
	H_CHECK(n,
		cs->accepted_ms > 0 && cs->promised_due_ms > cs->accepted_ms &&
			cs->legal_due_ms >= cs->promised_due_ms,
		"due dates set at the first acceptance");
	onestop_case_free(&cs);
	rc = ch_same_case(cn.hall, cn.owner, id, why, sizeof why);
	H_CHECK(n, rc == 0, "hall and owner hold the same case and history (%s)", why);

	fprintf(stderr, "the owner reads the opened form and uploads\n");
	rc = ch_get(cn.owner, id, &cs);
	H_CHECK(n, rc == 0 && cs->form_len > 0 && ch_find(cs->form, cs->form_len, MARKER),
		"the owner's copy has the opened form (rc %d)", rc);
	if (rc == 0) {
		int first = 0, second = 0;

		for (size_t i = 0; i < cs->n_uploads; i++) {
			first |= ch_find(cs->uploads[i].data, cs->uploads[i].len, MARKER) != NULL;
			second |= ch_find(cs->uploads[i].data, cs->uploads[i].len, MARKER2) != NULL;
		}
		H_CHECK(n, first && second,
			"the owner reads both uploads, filed and resubmitted (%zu uploads)",
			cs->n_uploads);
	}
	onestop_case_free(&cs);
	rc = ch_cli(n, cn.owner, &r, "case", "show", hex, NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, MARKER) && strstr(r.out, "decided"),
		"onestop case show at the owner prints the opened form and the state (exit %d "
		"%.600s%.300s)",
		rc, r.out, r.err);
	cmd_out_free(&r);
	rc = ch_cli(n, cn.hall, &r, "case", "show", hex, "--json", NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, hex) && !strstr(r.out, MARKER),
		"onestop case show --json at the hall: the case, no form (exit %d %.600s%.300s)",
		rc, r.out, r.err);
	cmd_out_free(&r);
	rc = ch_cli(n, cn.hall, &r, "cases", "--state", "decided", NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, hex),
		"onestop cases --state decided at the hall lists it (exit %d %.300s%.300s)", rc,
		r.out, r.err);
	cmd_out_free(&r);

	fprintf(stderr, "the licence, used by a case at another department\n");
	H_CHECK(n, ch_wait_licence(cn.hall, licence, 0, h_ms(20000)) == 0,
		"the licence verifies at the hall");
	rc = ch_cli(n, cn.hall, &r, "licence", "verify", licence, "--holder", CH_SUBJECT, NULL);
	H_CHECK(n, rc == 0, "onestop licence verify %s --holder %s: exit %d (%.300s%.300s)",
		licence, CH_SUBJECT, rc, r.out, r.err);
	cmd_out_free(&r);
	{
		char path[H_PATH + 32], mat_id[300], mat_lic[400];

		rc = ch_assertion_file(&cn, CH_SUBJECT, 2, CH_HALL, path, sizeof path);
		H_REQUIRE(n, rc == 0, "an assertion for the second case (rc %d)", rc);
		snprintf(mat_id, sizeof mat_id, "identity:%s=%s", CH_SUBJECT, CH_MAT_ID);
		snprintf(mat_lic, sizeof mat_lic, "%s:%s=%s", ONESTOP_DS_LICENCES, licence,
			 CH_MAT_LIC);
		rc = ch_cli(n, cn.hall, &r, "apply", "--item", CH_ITEM_PERMIT, "--assertion", path,
			    "--channel", "hall", "--material", mat_id, "--material", mat_lic, NULL);
		H_REQUIRE(n, rc == 0 && find_id(r.out, id2) == 0,
			  "onestop apply at the hall filed the second case (exit %d %.300s%.300s)",
			  rc, r.out, r.err);
		cmd_out_free(&r);
	}
	H_REQUIRE(n, ch_wait_state(cn.dept, id2, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0,
		  "dept received the second case");
	rc = ch_act_simple(cn.dept, id2, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == 0, "dept accepted it, its licence material verified (rc %d %s \"%s\")", rc,
		os_errname(rc), why);
	rc = ch_act_simple(cn.dept, id2, ONESTOP_ACT_DECIDE, ONESTOP_APPROVED, "granted", &acted,
			   why, sizeof why);
	H_CHECK(n, rc == 0 && acted.licence[0], "dept approved it (rc %d \"%s\"), licence %s", rc,
		why, rc == 0 ? acted.licence : "");
	H_CHECK(n, ch_wait_state(cn.hall, id2, ONESTOP_CASE_DECIDED, 3, h_ms(20000), &cs) == 0,
		"the hall sees the second case decided");
	if (cs) {
		int ref = 0;

		for (size_t i = 0; i < cs->n_refs; i++)
			ref |= strcmp(cs->refs[i].dataset, ONESTOP_DS_LICENCES) == 0 &&
			       strcmp(cs->refs[i].key, licence) == 0;
		H_CHECK(n, ref, "its materials name the licence by reference");
	}
	onestop_case_free(&cs);
	rc = ch_same_case(cn.hall, cn.dept, id2, why, sizeof why);
	H_CHECK(n, rc == 0, "hall and dept hold the same second case (%s)", why);
	H_CHECK(n, ch_get(cn.owner, id2, &cs) == ONESTOP_ENOTFOUND,
		"the owner is no party to the second case");
	onestop_case_free(&cs);

	fprintf(stderr, "the apps were told\n");
	memset(&at_hall, 0, sizeof at_hall);
	memcpy(at_hall.id, id, ONESTOP_ID_LEN);
	at_owner = at_hall;
	ch_recv_cases(cn.hall, &ch, h_ms(2000), 1000, on_msg, &at_hall, NULL, NULL);
	ch_recv_cases(cn.owner, &co, h_ms(2000), 1000, on_msg, &at_owner, NULL, NULL);
	onestop_close(&ch);
	onestop_close(&co);
	H_CHECK(n,
		at_hall.actions[ONESTOP_ACT_ACCEPT] >= 2 &&
			at_hall.actions[ONESTOP_ACT_NEED_MORE] >= 1 &&
			at_hall.actions[ONESTOP_ACT_DECIDE] >= 1,
		"the hall's app got the owner's steps as %s messages (accept %d, need_more %d, "
		"decide %d; %ld in all)",
		ONESTOP_CASE_TYPE, at_hall.actions[ONESTOP_ACT_ACCEPT],
		at_hall.actions[ONESTOP_ACT_NEED_MORE], at_hall.actions[ONESTOP_ACT_DECIDE],
		at_hall.total);
	H_CHECK(n, at_owner.filings == 1 && at_owner.actions[ONESTOP_ACT_RESUBMIT] >= 1,
		"the owner's app got the filing and the resubmission (%d, %d)", at_owner.filings,
		at_owner.actions[ONESTOP_ACT_RESUBMIT]);

	fprintf(stderr, "the hub holds no form or upload in clear\n");
	H_CHECK(n, ch_grep_tree(n->hub.data_dir, NULL, CH_ITEM_LIC) > 0,
		"(the search works: the hub's store holds the item code)");
	H_CHECK(n, ch_grep_tree(n->hub.data_dir, n->hub.log, MARKER) == 0,
		"neither the hub's store nor its log holds the form's text");
	H_CHECK(n, ch_grep_tree(n->hub.data_dir, n->hub.log, MARKER2) == 0,
		"neither holds the resubmitted upload's text");
	return net_done(&n);
}
