/* The case commands of the onestop CLI through real daemons, as a clerk at
 * each end runs them: apply at the filing spoke (refused for a missing
 * material, then filed), cases and case show at the owner, the owner's
 * accept / need / decide / close and the filer's resubmit (pending until
 * the owner applies it), the e-licence the approval issues verified at the
 * filer, revoked by its issuer only, and the usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define ITEM "4403000001-LIC"
#define WAIT_MS 15000

/* Run the CLI at spoke p: the arguments, then --api p's endpoint. */
#define AT(n, r, p, ...) net_cli((n), (r), __VA_ARGS__, "--api", (p)->api, (char *)NULL)

static void write_file(struct net *n, const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	H_REQUIRE(n, f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "wrote %s", path);
}

/* Poll `case show ID --json` at p until its state is want. 0 or -1. */
static int wait_state(struct net *n, struct net_proc *p, const char *id, const char *want)
{
	char needle[64];
	uint64_t deadline = h_now_ms() + WAIT_MS;

	snprintf(needle, sizeof needle, "\"state\":\"%s\"", want);
	for (;;) {
		struct cmd_out r;
		int rc = AT(n, &r, p, "case", "show", id, "--json");
		int ok = rc == 0 && strstr(r.out, needle) != NULL;
		cmd_out_free(&r);
		if (ok)
			return 0;
		if (h_now_ms() >= deadline)
			return -1;
		usleep(100 * 1000);
	}
}

/* Poll `licence verify NUMBER` at p until it prints prefix. 0 or -1. */
static int wait_verdict(struct net *n, struct net_proc *p, const char *number, const char *prefix)
{
	uint64_t deadline = h_now_ms() + WAIT_MS;

	for (;;) {
		struct cmd_out r;
		AT(n, &r, p, "licence", "verify", number);
		int ok = strncmp(r.out, prefix, strlen(prefix)) == 0;
		cmd_out_free(&r);
		if (ok)
			return 0;
		if (h_now_ms() >= deadline)
			return -1;
		usleep(100 * 1000);
	}
}

/* Publish the subject and the item, and wait until a holds the item. */
static void publish(struct net *n, struct net_proc *idp, struct net_proc *a, struct net_proc *b)
{
	struct cmd_out r;
	int rc;

	rc = AT(n, &r, idp, "put", "identity", "subj-1", "--json",
		"{\"kind\":\"person\",\"level\":3,\"status\":\"active\",\"authority\":\"idp\"}");
	H_REQUIRE(n, rc == 0, "identity subj-1 published (%d: %s)", rc, r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "put", "items", ITEM, "--json",
		"{\"name\":\"Shop licence\",\"owner\":\"b\",\"kind\":\"licence\",\"online\":true,"
		"\"materials\":[{\"name\":\"deed\"},{\"name\":\"id\",\"shared_data\":\"identity\"}],"
		"\"legal_days\":20,\"promised_days\":5,\"min_level\":2}");
	H_REQUIRE(n, rc == 0, "item %s published by its owner b (%d: %s)", ITEM, rc, r.err);
	cmd_out_free(&r);
	uint64_t deadline = h_now_ms() + WAIT_MS;
	while ((rc = AT(n, NULL, a, "get", "items", ITEM)) != 0 && h_now_ms() < deadline)
		usleep(100 * 1000);
	H_REQUIRE(n, rc == 0, "a holds item %s", ITEM);
}

/* Issue an assertion for subj-1 at a into path. */
static void assertion(struct net *n, struct net_proc *idp, const char *path)
{
	struct cmd_out r;
	int rc = AT(n, &r, idp, "assert", "issue", "--subject", "subj-1", "--level", "2",
		    "--audience", "a");
	H_REQUIRE(n, rc == 0, "assertion issued (%d: %s)", rc, r.err);
	write_file(n, path, r.out);
	cmd_out_free(&r);
}

int main(void)
{
	struct net_opts o;
	struct cmd_out r;
	char asrt[H_PATH], deed[H_PATH], form[H_PATH], up[H_PATH + 8], id[33], lic[64], want[128];
	int rc;

	memset(&o, 0, sizeof o);
	o.datasets[0] = (struct net_dataset){"items", "full"};
	o.datasets[1] = (struct net_dataset){"identity", "cached"};
	o.datasets[2] = (struct net_dataset){"licences", "cached"};
	o.spoke[0].name = "idp";
	o.spoke[0].roles[0] = "spoke";
	o.spoke[0].roles[1] = "idp";
	o.spoke[0].publish[0] = "identity";
	o.spoke[1].name = "a";
	o.spoke[2].name = "b";
	o.spoke[2].publish[0] = "items";
	o.spoke[2].publish[1] = "licences";
	struct net *n = net_make(3, &o);
	struct net_proc *idp = net_spoke(n, "idp"), *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	net_start_all(n);
	publish(n, idp, a, b);

	snprintf(asrt, sizeof asrt, "%s/assertion.hex", n->dir);
	snprintf(deed, sizeof deed, "%s/deed.txt", n->dir);
	snprintf(form, sizeof form, "%s/form.txt", n->dir);
	snprintf(up, sizeof up, "deed=%s", deed);
	write_file(n, deed, "scan of a deed\n");
	write_file(n, form, "name=Shop\naddress=1 Main St\n");
	assertion(n, idp, asrt);

	/* Refused at the filing spoke, with the code and the spoke's reason. */
	rc = AT(n, &r, a, "apply", "--item", ITEM, "--assertion", asrt);
	H_CHECK(n, rc == 1 && strstr(r.err, "EMATERIAL") && strstr(r.err, "deed"),
		"apply without materials: exit 1 naming EMATERIAL and deed (%d: %s)", rc, r.err);
	cmd_out_free(&r);
	assertion(n, idp, asrt); /* whether or not a refusal spent the first */
	rc = AT(n, &r, a, "apply", "--item", ITEM, "--assertion", asrt, "--channel", "hall",
		"--upload", up, "--material", "identity:subj-1", "--form", form);
	H_REQUIRE(n,
		  rc == 0 && strncmp(r.out, "case ", 5) == 0 &&
			  strspn(r.out + 5, "0123456789abcdef") == 32 &&
			  strcmp(r.out + 37, " filed, owner b\n") == 0,
		  "apply prints 'case ID filed, owner b' (%d: %s%s)", rc, r.out, r.err);
	memcpy(id, r.out + 5, 32);
	id[32] = '\0';
	cmd_out_free(&r);

	/* The owner sees it filed, with the form and upload opened. */
	H_CHECK(n, wait_state(n, b, id, "filed") == 0, "case %s reaches b", id);
	rc = AT(n, &r, b, "cases", "--state", "filed");
	H_CHECK(n, rc == 0 && strncmp(r.out, id, 32) == 0 && strstr(r.out, " item=" ITEM " "),
		"cases --state filed at b lists it (%d: %s)", rc, r.out);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "case", "show", id);
	H_CHECK(n,
		rc == 0 && strstr(r.out, "channel=hall filed_by=a owner=b") &&
			strstr(r.out, "address=1 Main St") &&
			strstr(r.out, "upload deed 15 bytes") &&
			strstr(r.out, "ref identity:subj-1"),
		"case show at b: channel, form, upload, reference (%d: %s)", rc, r.out);
	cmd_out_free(&r);

	/* Owner steps at the owner only; the filer's step waits for it. */
	rc = AT(n, &r, b, "case", "accept", id);
	snprintf(want, sizeof want, "case %s: accept applied (version 2)\n", id);
	H_CHECK(n, rc == 0 && strcmp(r.out, want) == 0, "accept at b (%d: %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, a, "case", "need", id, "--missing", "deed");
	H_CHECK(n, rc == 1 && strstr(r.err, "ENOTALLOWED"),
		"need at the filer: ENOTALLOWED (%d: %s)", rc, r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "case", "need", id, "--missing", "deed", "--reason", "unreadable");
	H_CHECK(n, rc == 0 && strstr(r.out, "need_more applied (version 3)"),
		"need at b (%d: %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);
	H_CHECK(n, wait_state(n, a, id, "more_needed") == 0, "a learns more is needed");
	rc = AT(n, &r, a, "case", "resubmit", id, "--upload", up);
	H_CHECK(n, rc == 0 && strstr(r.out, "resubmit sent to the owner (pending, version 4)"),
		"resubmit at a is pending (%d: %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);
	H_CHECK(n, wait_state(n, b, id, "resubmitted") == 0, "b applies the resubmission");
	rc = AT(n, &r, b, "case", "accept", id);
	H_CHECK(n, rc == 0, "accept again at b (%d: %s)", rc, r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "case", "decide", id, "--approve", "--licence-days", "30");
	snprintf(lic, sizeof lic, "LIC-%s", id);
	snprintf(want, sizeof want, "licence %s\n", lic);
	H_CHECK(n, rc == 0 && strstr(r.out, "decide applied (version 6)") && strstr(r.out, want),
		"decide --approve at b issues %s (%d: %s%s)", lic, rc, r.out, r.err);
	cmd_out_free(&r);

	rc = AT(n, &r, b, "case", "close", id, "--json");
	snprintf(want, sizeof want,
		 "{\"case\":\"%s\",\"action\":\"close\",\"version\":7,\"pending\":false,"
		 "\"licence\":\"\"}\n",
		 id);
	H_CHECK(n, rc == 0 && strcmp(r.out, want) == 0, "close --json at b (%d: %s%s)", rc, r.out,
		r.err);
	cmd_out_free(&r);

	/* The filer sees the outcome and verifies the licence, which travels
	 * as a dataset change apart from the case's messages. */
	H_CHECK(n, wait_state(n, a, id, "closed") == 0, "a learns the case is closed");
	H_CHECK(n, wait_verdict(n, a, lic, "valid ") == 0, "a finds the licence through the hub");
	rc = AT(n, &r, a, "licence", "verify", lic, "--holder", "subj-1");
	H_CHECK(n, rc == 0 && strncmp(r.out, "valid number=", 13) == 0 && strstr(r.out, "issuer=b"),
		"licence verify at a: valid (%d: %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, a, "licence", "verify", lic, "--holder", "subj-2");
	H_CHECK(n, rc == 1 && strncmp(r.out, "invalid code=ESUBJECT", 21) == 0,
		"licence verify for another holder: ESUBJECT (%d: %s)", rc, r.out);
	cmd_out_free(&r);

	/* Only the issuer revokes; then it verifies nowhere. */
	rc = AT(n, &r, a, "licence", "revoke", lic);
	H_CHECK(n, rc == 1 && strstr(r.err, "ENOTALLOWED"), "revoke at a: ENOTALLOWED (%d: %s)", rc,
		r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "licence", "revoke", lic);
	H_CHECK(n, rc == 0 && strstr(r.out, " revoked (change "), "revoke at b (%d: %s%s)", rc,
		r.out, r.err);
	cmd_out_free(&r);
	H_CHECK(n, wait_verdict(n, a, lic, "invalid code=EREVOKED") == 0,
		"a then finds the licence revoked");
	rc = AT(n, &r, a, "licence", "show", lic, "--json");
	H_CHECK(n,
		rc == 0 && strstr(r.out, "\"status\":\"revoked\"") &&
			strstr(r.out, "\"publisher\":\"b\""),
		"licence show --json at a (%d: %s)", rc, r.out);
	cmd_out_free(&r);

	/* Usage errors. */
	rc = AT(n, &r, a, "cases");
	H_CHECK(n, rc == 2 && strstr(r.err, "--state"), "cases without a filter: usage (%d: %s)",
		rc, r.err);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "case", "decide", id);
	H_CHECK(n, rc == 2, "decide without an outcome: usage (%d)", rc);
	cmd_out_free(&r);
	rc = AT(n, &r, b, "case", "show", "12ab");
	H_CHECK(n, rc == 2, "a short case id: usage (%d)", rc);
	cmd_out_free(&r);
	return net_done(&n);
}
