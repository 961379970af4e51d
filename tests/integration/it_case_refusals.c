/* Every refusal of a case (#6), each with its code: the filing checks at
 * the hall (no item, offline-only with its reason and owner, the
 * assertion's audience, expiry and replay, level, a missing material, a
 * reference that does not resolve), licences given as materials (forged,
 * revoked, expired, of another holder), transitions through the API (not
 * from this state, not this node's, no party), transitions on the wire (a
 * forged "onestop.Case" from a node that is no party: refused at the
 * hall; a replayed one: applied once), a withdrawal of the hall that
 * crossed the owner's acceptance while the hub was down (the owner's step
 * stands, the hall is told ECONFLICT and nothing stays pending) and an
 * app's Send of a case type. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "case_harness.h"
#include "err.h"
#include "util.h"

#define DAY_MS 86400000ULL

/* File the standard case at the hall and expect code, with every word of
 * words (NULL-ended) in the spoke's message. */
static void file_expect(struct case_net *cn, const char *what, const char *item,
			const char *licence, int no_upload, int code, const char *const *words)
{
	uint8_t id[ONESTOP_ID_LEN];
	char why[512];
	int rc = ch_file_std(cn, cn->hall, item, CH_SUBJECT, licence, NULL, no_upload, id, why,
			     sizeof why);
	int named = 1;

	for (size_t i = 0; words && words[i]; i++)
		named &= strstr(why, words[i]) != NULL;
	H_CHECK(cn->n, rc == code && named, "%s: %s (got %d %s \"%s\")", what, os_errname(code), rc,
		os_errname(rc), why);
}

/* File at the hall with the given assertion, the identity reference ref
 * and an upload; the code, the reason into why. */
static int file_with(struct case_net *cn, const uint8_t *as, size_t as_len, const char *ref,
		     uint8_t id[ONESTOP_ID_LEN], char *why, size_t why_size)
{
	const char doc[] = "scan";
	onestop_case_ref_t r = {"identity", ref, CH_MAT_ID};
	onestop_case_upload_t up = {CH_MAT_FORM, (const uint8_t *)doc, sizeof doc - 1};
	onestop_case_filing_t f = {.item = CH_ITEM_LIC,
				   .assertion = as,
				   .assertion_len = as_len,
				   .channel = ONESTOP_CHANNEL_WEB,
				   .refs = &r,
				   .n_refs = 1,
				   .uploads = &up,
				   .n_uploads = 1};

	return ch_file(cn->hall, &f, id, why, why_size);
}

/* A CaseMessage holding one transition of case id; malloc'd packed bytes. */
static uint8_t *transition_msg(const uint8_t id[ONESTOP_ID_LEN], uint64_t seq, int action,
			       const char *actor, size_t *len)
{
	Onestop__CaseMessage m = ONESTOP__CASE_MESSAGE__INIT;
	Onestop__CaseTransition t = ONESTOP__CASE_TRANSITION__INIT;
	uint8_t *buf;

	t.case_id.data = (uint8_t *)id;
	t.case_id.len = ONESTOP_ID_LEN;
	t.seq = seq;
	t.action = (Onestop__CaseAction)action;
	t.actor = (char *)actor;
	t.at_ms = os_now_ms();
	m.transition = &t;
	*len = onestop__case_message__get_packed_size(&m);
	buf = malloc(*len);
	if (buf)
		onestop__case_message__pack(&m, buf);
	return buf;
}

/* Lines of the hall's log that name a refused message of a node with
 * code ENOTALLOWED. */
static int refusal_lines(struct net_proc *hall)
{
	return proc_log_count(hall, "code=ENOTALLOWED reason=\"" CH_DEPT " is no party", 0);
}

/* Push payload as an "onestop.Case" message from node p (stopped; the test
 * speaks for it on a raw link) to the hall, then a marker message of type
 * MARKER_TYPE: messages of one origin enter the hall's inbox in order, so
 * once the hall's app has the marker the hall has dealt with the case
 * message. */
#define MARKER_TYPE "it.marker"
static void push_as(struct case_net *cn, struct net_proc *p, const uint8_t *payload, size_t len,
		    const char *what)
{
	struct net *n = cn->n;
	struct raw_link *l = NULL;
	uint8_t *msg = NULL, *mk = NULL, eid[16], mid[16];
	size_t mlen = 0, klen = 0;
	uint64_t seq = 0, seq2 = 0;

	H_REQUIRE(n, raw_open(n, p->reg_key, p->name, &l) == 0, "%s: raw link as %s", what,
		  p->name);
	H_REQUIRE(n, raw_hello(l, NULL, h_ms(10000)) == 0, "%s: %s welcomed", what, p->name);
	H_REQUIRE(n,
		  h_sign_one(n, p->name, p->reg_key, CH_HALL, ONESTOP_CASE_TYPE, payload, len,
			     60000, &msg, &mlen, eid) == 0 &&
			  h_sign_one(n, p->name, p->reg_key, CH_HALL, MARKER_TYPE, what,
				     strlen(what), 60000, &mk, &klen, mid) == 0,
		  "%s: signed as %s", what, p->name);
	H_REQUIRE(n, raw_push(l, msg, mlen, &seq) == 0 && raw_push(l, mk, klen, &seq2) == 0,
		  "%s: pushed", what);
	H_CHECK(n, raw_wait_push_ack(l, seq2, h_ms(10000)) == 0, "%s: the hub acked it", what);
	free(msg);
	free(mk);
	raw_close(&l);
}

/* Receive at the hall until k marker messages arrived. 0 or -1. */
static int wait_marker(struct case_net *cn, long k)
{
	uint64_t end = h_now_ms() + (uint64_t)h_ms(15000);
	onestop_t *c = NULL;
	long other = 0;

	while (other < k && h_now_ms() < end)
		ch_recv_cases(cn->hall, &c, 500, 1000, NULL, NULL, &other, NULL);
	onestop_close(&c);
	return other >= k ? 0 : -1;
}

struct grab {
	uint8_t id[ONESTOP_ID_LEN];
	uint8_t *accept;
	size_t accept_len;
};

struct refused {
	uint8_t id[ONESTOP_ID_LEN];
	int code, action;
};

static void grab_refusal(const struct ch_casemsg *m, const uint8_t *payload, size_t len, void *arg)
{
	struct refused *r = arg;

	(void)payload;
	(void)len;
	if (memcmp(m->case_id, r->id, ONESTOP_ID_LEN) == 0 && m->refusal_code) {
		r->code = m->refusal_code;
		r->action = m->action;
	}
}

static void grab_accept(const struct ch_casemsg *m, const uint8_t *payload, size_t len, void *arg)
{
	struct grab *g = arg;

	if (memcmp(m->case_id, g->id, ONESTOP_ID_LEN) != 0 || m->action != ONESTOP_ACT_ACCEPT ||
	    g->accept)
		return;
	g->accept = malloc(len);
	if (g->accept) {
		memcpy(g->accept, payload, len);
		g->accept_len = len;
	}
}

int main(void)
{
	struct case_net cn;
	struct net *n;
	uint8_t *as = NULL, id[ONESTOP_ID_LEN], id2[ONESTOP_ID_LEN];
	size_t as_len = 0;
	char why[512];
	onestop_case_t *cs = NULL;
	uint64_t now;
	int rc;

	ch_start(&cn, NULL);
	n = cn.n;

	fprintf(stderr, "filing checks\n");
	{
		const char *const w_item[] = {"XX-NO-SUCH-ITEM", NULL};
		const char *const w_off[] = {CH_OFFLINE_REASON, CH_OWNER, NULL};
		const char *const w_mat[] = {CH_MAT_FORM, NULL};

		file_expect(&cn, "an unknown item", "XX-NO-SUCH-ITEM", NULL, 0, ONESTOP_ENOTFOUND,
			    w_item);
		file_expect(&cn, "an offline-only item, with its reason and owner", CH_ITEM_OFFLINE,
			    NULL, 0, ONESTOP_EOFFLINE, w_off);
		file_expect(&cn, "an item of min_level 3 with a level 2 assertion", CH_ITEM_L3,
			    NULL, 0, ONESTOP_ELEVEL, NULL);
		file_expect(&cn, "a missing upload, named", CH_ITEM_LIC, NULL, 1, ONESTOP_EMATERIAL,
			    w_mat);
	}
	{
		struct cmd_out r;
		char path[H_PATH + 32];

		rc = ch_assertion_file(&cn, CH_SUBJECT, 2, CH_HALL, path, sizeof path);
		H_REQUIRE(n, rc == 0, "an assertion in a file");
		rc = ch_cli(n, cn.hall, &r, "apply", "--item", CH_ITEM_OFFLINE, "--assertion", path,
			    "--material", "identity:" CH_SUBJECT, "--upload",
			    CH_MAT_FORM "=/dev/null", NULL);
		H_CHECK(n,
			rc != 0 && (strstr(r.out, "EOFFLINE") || strstr(r.err, "EOFFLINE")) &&
				(strstr(r.out, CH_OFFLINE_REASON) ||
				 strstr(r.err, CH_OFFLINE_REASON)),
			"onestop apply of the offline item prints EOFFLINE and the reason (exit %d "
			"%.300s%.300s)",
			rc, r.out, r.err);
		cmd_out_free(&r);
	}
	rc = ch_assertion(&cn, CH_SUBJECT, 2, CH_DEPT, 0, &as, &as_len);
	H_REQUIRE(n, rc == 0, "an assertion for dept");
	rc = file_with(&cn, as, as_len, CH_SUBJECT, id, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EAUDIENCE, "an assertion for dept, at the hall: EAUDIENCE (%d %s)",
		rc, why);
	free(as);
	rc = ch_assertion(&cn, CH_SUBJECT, 2, CH_HALL, 1, &as, &as_len);
	H_REQUIRE(n, rc == 0, "an assertion valid 1 s");
	h_sleep_ms(2100);
	rc = file_with(&cn, as, as_len, CH_SUBJECT, id, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EEXPIRED, "an expired assertion: EEXPIRED (%d %s)", rc, why);
	free(as);
	rc = ch_assertion(&cn, CH_SUBJECT, 2, CH_HALL, 0, &as, &as_len);
	H_REQUIRE(n, rc == 0, "an assertion for the hall");
	rc = file_with(&cn, as, as_len, "s-nobody-42", id, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_ENOTFOUND && strstr(why, "identity:s-nobody-42"),
		"a reference that resolves nowhere: ENOTFOUND naming identity:s-nobody-42 (%d "
		"\"%s\")",
		rc, why);
	free(as);
	rc = ch_assertion(&cn, CH_SUBJECT, 2, CH_HALL, 0, &as, &as_len);
	H_REQUIRE(n, rc == 0, "another assertion for the hall");
	rc = file_with(&cn, as, as_len, CH_SUBJECT, id, why, sizeof why);
	H_REQUIRE(n, rc == 0, "a good filing (rc %d %s \"%s\")", rc, os_errname(rc), why);
	rc = file_with(&cn, as, as_len, CH_SUBJECT, id2, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_EREPLAY, "the same assertion again: EREPLAY (%d \"%s\")", rc, why);
	free(as);

	fprintf(stderr, "licences as materials\n");
	now = os_now_ms();
	H_REQUIRE(n,
		  ch_put_licence(cn.owner, "LIC-T-GOOD", CH_ITEM_LIC, CH_SUBJECT, CH_OWNER,
				 now - DAY_MS, 0, 1) == 0 &&
			  ch_put_licence(cn.owner, "LIC-T-REVOKED", CH_ITEM_LIC, CH_SUBJECT,
					 CH_OWNER, now - DAY_MS, 0, 1) == 0 &&
			  ch_put_licence(cn.owner, "LIC-T-EXPIRED", CH_ITEM_LIC, CH_SUBJECT,
					 CH_OWNER, now - 30 * DAY_MS, now - DAY_MS, 1) == 0 &&
			  ch_put_licence(cn.owner, "LIC-T-OTHER", CH_ITEM_LIC, CH_SUBJECT2,
					 CH_OWNER, now - DAY_MS, 0, 1) == 0,
		  "the owner published four licences");
	H_REQUIRE(n,
		  ch_put_licence(cn.dept, "LIC-T-FORGED", CH_ITEM_LIC, CH_SUBJECT, CH_DEPT,
				 now - DAY_MS, 0, 1) == 0,
		  "dept published a licence of the owner's item");
	H_CHECK(n, ch_wait_licence(cn.hall, "LIC-T-REVOKED", 0, h_ms(20000)) == 0,
		"LIC-T-REVOKED verifies at the hall before it is revoked");
	{
		struct cmd_out r;

		rc = ch_cli(n, cn.owner, &r, "licence", "revoke", "LIC-T-REVOKED", NULL);
		H_CHECK(n, rc == 0, "onestop licence revoke at the owner: exit %d (%.300s%.300s)",
			rc, r.out, r.err);
		cmd_out_free(&r);
	}
	H_CHECK(n, ch_wait_licence(cn.hall, "LIC-T-REVOKED", ONESTOP_EREVOKED, h_ms(30000)) == 0,
		"the revocation reached the hall");
	file_expect(&cn, "a good licence (control)", CH_ITEM_PERMIT, "LIC-T-GOOD", 1, 0, NULL);
	file_expect(&cn, "a licence dept issued for the owner's item", CH_ITEM_PERMIT,
		    "LIC-T-FORGED", 1, ONESTOP_EISSUER, NULL);
	file_expect(&cn, "a revoked licence", CH_ITEM_PERMIT, "LIC-T-REVOKED", 1, ONESTOP_EREVOKED,
		    NULL);
	file_expect(&cn, "an expired licence", CH_ITEM_PERMIT, "LIC-T-EXPIRED", 1, ONESTOP_EEXPIRED,
		    NULL);
	file_expect(&cn, "a licence of another holder", CH_ITEM_PERMIT, "LIC-T-OTHER", 1,
		    ONESTOP_ESUBJECT, NULL);
	{
		const char *const w[] = {"licences:LIC-T-NONE", NULL};

		file_expect(&cn, "a licence that does not exist", CH_ITEM_PERMIT, "LIC-T-NONE", 1,
			    ONESTOP_ENOTFOUND, w);
	}

	fprintf(stderr, "transitions through the API\n");
	H_REQUIRE(n, ch_wait_state(cn.owner, id, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0,
		  "the owner holds case %s", ch_hex(id));
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_DECIDE, ONESTOP_APPROVED, "early", NULL, why,
			   sizeof why);
	H_CHECK(n, rc == ONESTOP_ESTATE, "deciding a filed case: ESTATE (%d \"%s\")", rc, why);
	rc = ch_act_simple(cn.hall, id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_ENOTALLOWED, "the hall accepting: ENOTALLOWED (%d \"%s\")", rc,
		why);
	rc = ch_act_simple(cn.dept, id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_CHECK(n, rc == ONESTOP_ENOTFOUND, "dept, no party, accepting: ENOTFOUND (%d \"%s\")", rc,
		why);
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_WITHDRAW, 0, "not mine", NULL, why,
			   sizeof why);
	H_CHECK(n, rc == ONESTOP_ENOTALLOWED, "the owner withdrawing: ENOTALLOWED (%d \"%s\")", rc,
		why);

	fprintf(stderr, "a forged transition on the wire\n");
	{
		int before = refusal_lines(cn.hall);
		uint8_t *m1, *m2;
		size_t l1 = 0, l2 = 0;

		H_REQUIRE(n, proc_stop(n, cn.dept, 0) == 0, "dept stopped cleanly");
		m1 = transition_msg(id, 2, ONESTOP_ACT_ACCEPT, CH_OWNER, &l1);
		m2 = transition_msg(id, 2, ONESTOP_ACT_ACCEPT, CH_DEPT, &l2);
		H_REQUIRE(n, m1 && m2, "packed two transitions");
		push_as(&cn, cn.dept, m1, l1, "dept sends an ACCEPT as the owner");
		push_as(&cn, cn.dept, m2, l2, "dept sends an ACCEPT as itself");
		free(m1);
		free(m2);
		H_CHECK(n, wait_marker(&cn, 2) == 0, "the hall dealt with both");
		H_CHECK(n, refusal_lines(cn.hall) >= before + 2,
			"the hall's log names both refusals, ENOTALLOWED: dept is no party (%d lines, "
			"%d before)",
			refusal_lines(cn.hall), before);
		rc = ch_get(cn.hall, id, &cs);
		H_CHECK(n,
			rc == 0 && cs->state == ONESTOP_CASE_FILED && cs->seq == 1 &&
				cs->n_history == 1,
			"the case is unchanged at the hall (filed, seq 1)");
		onestop_case_free(&cs);
		net_up(n, cn.dept, 1);
	}

	fprintf(stderr, "a replayed transition on the wire\n");
	rc = ch_act_simple(cn.owner, id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_REQUIRE(n, rc == 0, "the owner accepted (rc %d \"%s\")", rc, why);
	H_REQUIRE(n, ch_wait_state(cn.hall, id, ONESTOP_CASE_ACCEPTED, 2, h_ms(20000), NULL) == 0,
		  "the hall sees it accepted");
	{
		struct grab g;
		onestop_t *c = NULL;
		uint64_t end = h_now_ms() + (uint64_t)h_ms(10000);

		memset(&g, 0, sizeof g);
		memcpy(g.id, id, ONESTOP_ID_LEN);
		while (!g.accept && h_now_ms() < end)
			ch_recv_cases(cn.hall, &c, 500, 1000, grab_accept, &g, NULL, NULL);
		onestop_close(&c);
		H_REQUIRE(n, g.accept != NULL, "the hall's app got the ACCEPT as a message");
		H_REQUIRE(n, proc_stop(n, cn.owner, 0) == 0, "owner stopped cleanly");
		push_as(&cn, cn.owner, g.accept, g.accept_len,
			"the owner's ACCEPT again, in a new envelope");
		free(g.accept);
		H_CHECK(n, wait_marker(&cn, 1) == 0, "the hall dealt with it");
		rc = ch_get(cn.hall, id, &cs);
		H_CHECK(n,
			rc == 0 && cs->state == ONESTOP_CASE_ACCEPTED && cs->seq == 2 &&
				cs->n_history == 2,
			"applied once: accepted, seq 2, two steps (rc %d, %zu steps)", rc,
			rc == 0 ? cs->n_history : 0);
		onestop_case_free(&cs);
		net_up(n, cn.owner, 1);
		rc = ch_same_case(cn.hall, cn.owner, id, why, sizeof why);
		H_CHECK(n, rc == 0, "both ends still agree (%s)", why);
	}

	fprintf(stderr, "a step of the hall that crossed the owner's\n");
	{
		uint8_t id3[ONESTOP_ID_LEN];
		onestop_case_acted_t acted;
		struct refused rf;
		onestop_t *c = NULL;
		uint64_t end;

		rc = ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, NULL, 0, id3, why,
				 sizeof why);
		H_REQUIRE(n, rc == 0, "filed another case (rc %d \"%s\")", rc, why);
		H_REQUIRE(n,
			  ch_wait_state(cn.owner, id3, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) ==
				  0,
			  "the owner holds it");
		H_REQUIRE(n, proc_stop(n, &n->hub, 0) == 0, "the hub stopped cleanly");
		rc = ch_act_simple(cn.hall, id3, ONESTOP_ACT_WITHDRAW, 0, "changed their mind",
				   &acted, why, sizeof why);
		H_CHECK(n, rc == 0 && acted.pending && acted.seq == 2,
			"the hall withdraws: pending, version 2 (rc %d \"%s\")", rc, why);
		rc = ch_act_simple(cn.owner, id3, ONESTOP_ACT_ACCEPT, 0, NULL, &acted, why,
				   sizeof why);
		H_CHECK(n, rc == 0 && !acted.pending && acted.seq == 2,
			"meanwhile the owner accepts: version 2 (rc %d \"%s\")", rc, why);
		rc = ch_act_simple(cn.hall, id3, ONESTOP_ACT_WITHDRAW, 0, "again", NULL, why,
				   sizeof why);
		H_CHECK(n, rc == ONESTOP_EAGAIN,
			"a second step at the hall waits for the owner: EAGAIN (%d \"%s\")", rc,
			why);
		net_up(n, &n->hub, 0);
		H_CHECK(n,
			ch_wait_state(cn.hall, id3, ONESTOP_CASE_ACCEPTED, 2, h_ms(20000), NULL) ==
				0,
			"the owner's step stands at the hall, nothing pending any more");
		memset(&rf, 0, sizeof rf);
		memcpy(rf.id, id3, ONESTOP_ID_LEN);
		end = h_now_ms() + (uint64_t)h_ms(10000);
		while (!rf.code && h_now_ms() < end)
			ch_recv_cases(cn.hall, &c, 500, 1000, grab_refusal, &rf, NULL, NULL);
		onestop_close(&c);
		H_CHECK(n, rf.code == ONESTOP_ECONFLICT && rf.action == ONESTOP_ACT_WITHDRAW,
			"the hall's app is told the owner refused the withdrawal: ECONFLICT (code "
			"%d, action %d)",
			rf.code, rf.action);
		rc = ch_same_case(cn.hall, cn.owner, id3, why, sizeof why);
		H_CHECK(n, rc == 0, "both ends agree: accepted (%s)", why);
		rc = ch_act_simple(cn.hall, id3, ONESTOP_ACT_WITHDRAW, 0, "now", &acted, why,
				   sizeof why);
		H_CHECK(n, rc == 0 && acted.pending && acted.seq == 3,
			"the hall withdraws again, at version 3 (rc %d \"%s\")", rc, why);
		H_CHECK(n,
			ch_wait_state(cn.hall, id3, ONESTOP_CASE_WITHDRAWN, 3, h_ms(20000), NULL) ==
				0,
			"and the case is withdrawn at the hall");
		rc = ch_same_case(cn.hall, cn.owner, id3, why, sizeof why);
		H_CHECK(n, rc == 0, "both ends agree: withdrawn (%s)", why);
	}

	fprintf(stderr, "an app cannot send a case message\n");
	{
		onestop_t *c = NULL;
		onestop_out_t m = {.to = CH_OWNER,
				   .type = ONESTOP_CASE_TYPE,
				   .payload = "x",
				   .len = 1};

		rc = net_connect(cn.hall, 0, &c);
		if (rc == 0)
			rc = onestop_send(c, &m, 1, NULL);
		H_CHECK(n, rc == ONESTOP_ENOTALLOWED,
			"onestop_send of type %s: ENOTALLOWED (%d \"%s\")", ONESTOP_CASE_TYPE, rc,
			c ? onestop_last_error(c) : "");
		onestop_close(&c);
	}
	return net_done(&n);
}
