/* The complaint commands of the onestop CLI through real daemons, as the
 * clerks at each node run them: a complaint filed at the hall about a case
 * it filed reaches the province's supervisor (`onestop complaints`), is
 * assigned to the owning department, answered there, and the answer
 * reaches the hall (`complaint show --json`); reopened once, answered
 * again, refused a second reopen (ESTATE), closed; an anonymous
 * consultation (`ask`) reaches the item's owner; every command's --help,
 * and the usage errors of a malformed id or subject. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_harness.h"

#define WAIT_MS 20000
#define TEXT "the clerk at counter 3 asked for papers twice"
#define ANSWER1 "the counter has been told; sorry for the wait"
#define ANSWER2 "a second look: the papers were not needed"
#define QUESTION "does the licence need a lease contract?"

/* The 32 hex digits after "key":" in text into id (33 bytes). 0 or -1. */
static int json_id(const char *text, const char *key, char id[33])
{
	char needle[64];
	snprintf(needle, sizeof needle, "\"%s\":\"", key);
	const char *p = text ? strstr(text, needle) : NULL;
	if (p == NULL)
		return -1;
	p += strlen(needle);
	for (int i = 0; i < 32; i++)
		if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f')))
			return -1;
	memcpy(id, p, 32);
	id[32] = '\0';
	return 0;
}

/* Poll `complaint show ID --json` at p until its output holds every one
 * of the strings given (NULL-ended). 0, or -1 with the last output
 * printed. */
static int wait_show(struct net *n, struct net_proc *p, const char *id, ...)
{
	uint64_t deadline = h_now_ms() + (uint64_t)h_ms(WAIT_MS);

	for (;;) {
		struct cmd_out r;
		memset(&r, 0, sizeof r);
		int rc = ch_cli(n, p, &r, "complaint", "show", id, "--json", NULL);
		int ok = rc == 0 && r.out != NULL;
		va_list ap;
		va_start(ap, id);
		for (const char *s = va_arg(ap, const char *); ok && s;
		     s = va_arg(ap, const char *))
			ok = strstr(r.out, s) != NULL;
		va_end(ap);
		if (!ok && h_now_ms() >= deadline)
			fprintf(stderr, "  %s: complaint show %s: exit %d: %.600s%.300s\n", p->name,
				id, rc, r.out ? r.out : "", r.err ? r.err : "");
		cmd_out_free(&r);
		if (ok)
			return 0;
		if (h_now_ms() >= deadline)
			return -1;
		usleep(100 * 1000);
	}
}

/* Poll `complaints --json` at p (with --state state when state is not
 * NULL) until a line holds id and also want (may be NULL). 0 or -1. */
static int wait_listed(struct net *n, struct net_proc *p, const char *state, const char *id,
		       const char *want)
{
	uint64_t deadline = h_now_ms() + (uint64_t)h_ms(WAIT_MS);

	for (;;) {
		struct cmd_out r;
		memset(&r, 0, sizeof r);
		int rc = state ? ch_cli(n, p, &r, "complaints", "--state", state, "--json", NULL)
			       : ch_cli(n, p, &r, "complaints", "--json", NULL);
		int ok = 0;
		for (char *line = rc == 0 ? r.out : NULL; line && *line && !ok;) {
			char *end = strchr(line, '\n');
			if (end)
				*end = '\0';
			ok = strstr(line, id) != NULL && (want == NULL || strstr(line, want));
			line = end ? end + 1 : NULL;
		}
		if (!ok && h_now_ms() >= deadline)
			fprintf(stderr, "  %s: complaints: exit %d: %.600s%.300s\n", p->name, rc,
				r.out ? r.out : "", r.err ? r.err : "");
		cmd_out_free(&r);
		if (ok)
			return 0;
		if (h_now_ms() >= deadline)
			return -1;
		usleep(100 * 1000);
	}
}

int main(void)
{
	struct case_net cn;
	struct net_opts o;
	struct cmd_out r;
	uint8_t case_id[ONESTOP_ID_LEN];
	char why[512] = "", apath[512], about[64], cid[33], qid[33];
	int rc;

	ch_opts_sup(&o);
	ch_start(&cn, &o);
	struct net *n = cn.n;

	/* Every command's help, without a spoke. */
	static const char *const helps[][2] = {
		{"complain", NULL},     {"ask", NULL},           {"complaints", NULL},
		{"complaint", "show"},  {"complaint", "assign"}, {"complaint", "answer"},
		{"complaint", "close"}, {"complaint", "reopen"},
	};
	for (size_t i = 0; i < sizeof helps / sizeof helps[0]; i++) {
		memset(&r, 0, sizeof r);
		rc = helps[i][1] ? net_cli(n, &r, helps[i][0], helps[i][1], "--help", NULL)
				 : net_cli(n, &r, helps[i][0], "--help", NULL);
		H_CHECK(n, rc == 0 && r.out && strncmp(r.out, "Usage: onestop ", 15) == 0,
			"onestop %s %s --help exits 0 with its usage (%d)", helps[i][0],
			helps[i][1] ? helps[i][1] : "", rc);
		cmd_out_free(&r);
	}
	memset(&r, 0, sizeof r);
	rc = net_cli(n, &r, "complaint", "--help", NULL);
	H_CHECK(n, rc == 0 && r.out && strstr(r.out, "reopen"), "onestop complaint --help (%d)",
		rc);
	cmd_out_free(&r);

	/* Usage errors: exit 2, nothing sent. */
	rc = ch_assertion_file(&cn, CH_SUBJECT, 2, CH_HALL, apath, sizeof apath);
	H_REQUIRE(n, rc == 0, "an assertion for the hall (%d)", rc);
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complaint", "show", "12ab", NULL);
	H_CHECK(n, rc == 2, "a malformed complaint id: exit 2 (%d)", rc);
	cmd_out_free(&r);
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complaint", "assign", "00112233445566778899aabbccddeeff",
		    "--to", "Not A Node", NULL);
	H_CHECK(n, rc == 2, "a malformed node name: exit 2 (%d)", rc);
	cmd_out_free(&r);
	static const char *const bad_about[] = {"case:12", "case:00112233445566778899AABBCCDDEEFF",
						"thing:x", "node:Bad Name", "item:"};
	for (size_t i = 0; i < sizeof bad_about / sizeof bad_about[0]; i++) {
		memset(&r, 0, sizeof r);
		rc = ch_cli(n, cn.hall, &r, "complain", "--about", bad_about[i], "--text", TEXT,
			    "--assertion", apath, NULL);
		H_CHECK(n, rc == 2, "complain --about '%s': exit 2 (%d)", bad_about[i], rc);
		cmd_out_free(&r);
	}
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "ask", "--item", CH_ITEM_LIC, "--text", QUESTION, NULL);
	H_CHECK(n, rc == 2, "ask without --assertion or --anonymous: exit 2 (%d)", rc);
	cmd_out_free(&r);
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complaints", "--state", "pending", NULL);
	H_CHECK(n, rc == 2, "complaints --state pending: exit 2 (%d)", rc);
	cmd_out_free(&r);

	/* The hall files a case, then a complaint about it. */
	rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, NULL, 0, case_id, why,
			 sizeof why);
	H_REQUIRE(n, rc == 0, "the hall filed a case (%d %s)", rc, why);
	snprintf(about, sizeof about, "case:%s", ch_hex(case_id));
	rc = ch_assertion_file(&cn, CH_SUBJECT, 2, CH_HALL, apath, sizeof apath);
	H_REQUIRE(n, rc == 0, "an assertion for the hall (%d)", rc);
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complain", "--about", about, "--text", TEXT, "--assertion",
		    apath, "--channel", "hall", "--key", "cp-1", "--json", NULL);
	H_REQUIRE(n, rc == 0 && json_id(r.out, "complaint", cid) == 0,
		  "onestop complain --about %s at the hall (%d: %s%s)", about, rc,
		  r.out ? r.out : "", r.err ? r.err : "");
	H_CHECK(n, strstr(r.out, "\"handler\":\"" CH_SUP "\"") != NULL,
		"the complaint's handler is the province's supervisor: %s", r.out);
	cmd_out_free(&r);
	/* A retry with the same key files nothing new. */
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complain", "--about", about, "--text", TEXT, "--assertion",
		    apath, "--channel", "hall", "--key", "cp-1", NULL);
	H_CHECK(n, rc == 0 && r.out && strstr(r.out, cid) && strstr(r.out, "handler " CH_SUP),
		"the same key gives the same complaint (%d: %s%s)", rc, r.out ? r.out : "",
		r.err ? r.err : "");
	cmd_out_free(&r);

	/* The supervisor lists it, and reads its text. */
	H_CHECK(n, wait_listed(n, cn.sup, NULL, cid, "\"state\":\"received\"") == 0,
		"onestop complaints at %s lists complaint %s, received", CH_SUP, cid);
	H_CHECK(n, wait_listed(n, cn.sup, "received", cid, NULL) == 0,
		"... also by state (--state received)");
	H_CHECK(n, wait_show(n, cn.sup, cid, "\"text\":\"" TEXT "\"", "\"about\":", NULL) == 0,
		"the supervisor reads the complaint's text");

	/* Assigned to the owning department, which answers. */
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.sup, &r, "complaint", "assign", cid, "--to", CH_OWNER, "--reason",
		    "the owner's counter", NULL);
	H_CHECK(n, rc == 0 && r.out && strstr(r.out, "assign applied"),
		"complaint assign --to %s at the supervisor (%d: %s%s)", CH_OWNER, rc,
		r.out ? r.out : "", r.err ? r.err : "");
	cmd_out_free(&r);
	H_CHECK(n,
		wait_show(n, cn.owner, cid, "\"state\":\"assigned\"",
			  "\"assignee\":\"" CH_OWNER "\"", NULL) == 0,
		"the department holds the complaint, assigned to it");
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.owner, &r, "complaint", "answer", cid, "--text", ANSWER1, NULL);
	H_CHECK(n, rc == 0, "complaint answer at the department (%d: %s%s)", rc, r.out ? r.out : "",
		r.err ? r.err : "");
	cmd_out_free(&r);
	H_CHECK(n,
		wait_show(n, cn.hall, cid, "\"state\":\"answered\"", "\"answer\":\"" ANSWER1 "\"",
			  NULL) == 0,
		"the hall's complaint show --json: answered, with the answer's text");
	H_CHECK(n, wait_listed(n, cn.sup, "answered", cid, NULL) == 0,
		"the supervisor lists it answered");

	/* Reopened once; answered again; a second reopen refused. */
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complaint", "reopen", cid, "--reason", "not settled", NULL);
	H_CHECK(n, rc == 0, "complaint reopen at the hall (%d: %s%s)", rc, r.out ? r.out : "",
		r.err ? r.err : "");
	cmd_out_free(&r);
	H_CHECK(n,
		wait_show(n, cn.hall, cid, "\"state\":\"reopened\"", "\"reopened\":1",
			  "\"pending\":null", NULL) == 0,
		"the hall sees it reopened (the supervisor applied the step)");
	H_CHECK(n, wait_show(n, cn.sup, cid, "\"state\":\"reopened\"", NULL) == 0,
		"the supervisor sees it reopened");
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.sup, &r, "complaint", "answer", cid, "--text", ANSWER2, NULL);
	H_CHECK(n, rc == 0 && r.out && strstr(r.out, "answer applied"),
		"the supervisor answers again (%d: %s%s)", rc, r.out ? r.out : "",
		r.err ? r.err : "");
	cmd_out_free(&r);
	H_CHECK(n,
		wait_show(n, cn.hall, cid, "\"state\":\"answered\"", "\"answer\":\"" ANSWER2 "\"",
			  NULL) == 0,
		"the hall has the second answer");
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complaint", "reopen", cid, NULL);
	H_CHECK(n, rc == 1 && r.err && strstr(r.err, "ESTATE"),
		"a second reopen exits 1 with ESTATE (%d: %s%s)", rc, r.out ? r.out : "",
		r.err ? r.err : "");
	cmd_out_free(&r);
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complaint", "close", cid, "--reason", "thanks", "--json",
		    NULL);
	H_CHECK(n, rc == 0 && r.out && strstr(r.out, "\"action\":\"close\""),
		"the hall closes it (%d: %s%s)", rc, r.out ? r.out : "", r.err ? r.err : "");
	cmd_out_free(&r);
	H_CHECK(n, wait_show(n, cn.sup, cid, "\"state\":\"closed\"", NULL) == 0,
		"closed at the supervisor");
	H_CHECK(n, wait_show(n, cn.hall, cid, "\"state\":\"closed\"", NULL) == 0,
		"closed at the hall");

	/* An anonymous consultation reaches the item's owner. */
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "ask", "--anonymous", "--item", CH_ITEM_LIC, "--text", QUESTION,
		    "--json", NULL);
	int have_q = rc == 0 && json_id(r.out, "consultation", qid) == 0;
	H_CHECK(n, have_q && strstr(r.out, "\"handler\":\"" CH_OWNER "\""),
		"onestop ask --anonymous --item %s goes to %s (%d: %s%s)", CH_ITEM_LIC, CH_OWNER,
		rc, r.out ? r.out : "", r.err ? r.err : "");
	cmd_out_free(&r);
	if (have_q) {
		H_CHECK(n, wait_listed(n, cn.owner, NULL, qid, "\"kind\":\"consultation\"") == 0,
			"onestop complaints at %s lists the consultation", CH_OWNER);
		H_CHECK(n,
			wait_show(n, cn.owner, qid, "\"anonymous\":true",
				  "\"text\":\"" QUESTION "\"", NULL) == 0,
			"the owner reads the anonymous question");
		memset(&r, 0, sizeof r);
		rc = ch_cli(n, cn.owner, &r, "complaints", "--overdue", NULL);
		H_CHECK(n, rc == 0 && r.out && strstr(r.out, qid) == NULL,
			"complaints --overdue at the owner: the question, due in days, is not "
			"listed (%d: %s%s)",
			rc, r.out ? r.out : "", r.err ? r.err : "");
		cmd_out_free(&r);
	}

	/* A well-formed subject the hall does not know: refused by the spoke. */
	char apath2[512];
	H_CHECK(n, ch_assertion_file(&cn, CH_SUBJECT, 2, CH_HALL, apath2, sizeof apath2) == 0,
		"another assertion");
	memset(&r, 0, sizeof r);
	rc = ch_cli(n, cn.hall, &r, "complain", "--about", "case:0123456789abcdef0123456789abcdef",
		    "--text", TEXT, "--assertion", apath2, NULL);
	H_CHECK(n, rc == 1 && r.err && strstr(r.err, "ENOTFOUND"),
		"a complaint about an unknown case: exit 1, ENOTFOUND (%d: %s)", rc,
		r.err ? r.err : "");
	cmd_out_free(&r);
	return net_done(&n);
}
