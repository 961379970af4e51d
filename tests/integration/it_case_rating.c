/* Ratings of decided cases (docs/PROTOCOL.md 12.1) between real daemons: a
 * case filed at the hall and decided by its owner is rated once at the
 * hall (score and a comment sealed to the owner), the owner records it and
 * answers the hall; a second rating is refused EEXIST at the hall and at
 * the owner; a rating of an undecided case ESTATE, with another subject's
 * assertion ESUBJECT, with a score outside 1..5 EINVAL, at a node that
 * holds no case ENOTFOUND. The supervisor receives exactly one EVALUATION
 * event per rated case, with the score and the rating's channel, and no
 * event holds the comment or the subject id; `onestop stats --json` counts
 * the evaluations and their mean score; `onestop rate` at the owner. The
 * case clock runs ahead of the assertions' validity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "case_harness.h"
#include "err.h"
#include "onestop.pb-c.h"
#include "supervision.h"
#include "util.h"

#define COMMENT "comment-secret-7d41b2 the clerk was helpful"
#define MARKER "comment-secret-7d41b2"
#define AHEAD_MS (30ULL * 86400000ULL)

/* What one node's apps received. */
struct seen {
	const uint8_t *a, *c; /* the two rated cases */
	/* supervision events */
	int events, bad, leaked;
	int ev_a, ev_c, score_a, score_c, channel_a, fields_ok;
	/* onestop.Evaluation messages */
	int ratings, answers, answer_code, answer_score, answers_c;
	int rating_score, sealed_ok;
};

static void take(struct seen *s, const onestop_msg_t *m)
{
	if (ch_find(m->payload, m->len, MARKER) || ch_find(m->payload, m->len, CH_SUBJECT))
		s->leaked += strcmp(m->type, "onestop.Supervision") == 0;
	if (strcmp(m->type, "onestop.Supervision") == 0) {
		Onestop__SupervisionEvent *e;
		s->events++;
		if (sv_event_check(m->payload, m->len) != 0 ||
		    !(e = onestop__supervision_event__unpack(NULL, m->len, m->payload))) {
			s->bad++;
			return;
		}
		if (e->kind == ONESTOP__SUPERVISION_KIND__SUPERVISION_KIND_EVALUATION &&
		    e->id.len == ONESTOP_ID_LEN) {
			int is_a = memcmp(e->id.data, s->a, ONESTOP_ID_LEN) == 0;
			int is_c = s->c && memcmp(e->id.data, s->c, ONESTOP_ID_LEN) == 0;
			if (is_a) {
				s->ev_a++;
				s->score_a = (int)e->score;
				s->channel_a = (int)e->channel;
			}
			if (is_c) {
				s->ev_c++;
				s->score_c = (int)e->score;
			}
			s->fields_ok += (is_a || is_c) && strcmp(e->item, CH_ITEM_LIC) == 0 &&
					strcmp(e->item_kind, "licence") == 0 &&
					strcmp(e->owner, CH_OWNER) == 0 &&
					strcmp(e->filed_by, CH_HALL) == 0 &&
					strcmp(e->region, "gd.sz") == 0 && e->seq == 1 &&
					e->state == 0 && e->action == 0 && e->filed_ms > 0 &&
					(int)e->outcome == ONESTOP_APPROVED &&
					e->subject_tag.len == 0 &&
					e->at_ms > os_now_ms() + AHEAD_MS / 2;
		}
		onestop__supervision_event__free_unpacked(e, NULL);
		return;
	}
	if (strcmp(m->type, ONESTOP_EVALUATION_TYPE) != 0)
		return;
	Onestop__EvaluationMessage *em =
		onestop__evaluation_message__unpack(NULL, m->len, m->payload);
	if (!em)
		return;
	if (em->evaluation) {
		s->ratings++;
		s->rating_score = (int)em->evaluation->score;
		s->sealed_ok = em->evaluation->comment.len == strlen(COMMENT) + 48 &&
			       !ch_find(m->payload, m->len, MARKER);
	} else if (em->case_id.len == ONESTOP_ID_LEN) {
		if (memcmp(em->case_id.data, s->a, ONESTOP_ID_LEN) == 0) {
			s->answers++;
			s->answer_code = em->code;
			s->answer_score = (int)em->score;
		} else if (s->c && memcmp(em->case_id.data, s->c, ONESTOP_ID_LEN) == 0) {
			s->answers_c++;
		}
	}
	onestop__evaluation_message__free_unpacked(em, NULL);
}

/* Receive and ack what p's apps get, for up to wait_ms or until done(s). */
static void drain(struct net_proc *p, struct seen *s, int wait_ms, int (*done)(struct seen *))
{
	onestop_t *c = NULL;
	uint64_t until = h_now_ms() + (uint64_t)h_ms(wait_ms);

	if (net_connect(p, 0, &c) != 0)
		return;
	while (h_now_ms() < until) {
		onestop_msg_t *msgs = NULL;
		size_t n = 0;
		if (onestop_recv(c, 100, 200, &msgs, &n) != 0)
			break;
		for (size_t i = 0; i < n; i++) {
			uint64_t seq = msgs[i].seq;
			take(s, &msgs[i]);
			onestop_ack(c, &seq, 1);
		}
		onestop_msgs_free(&msgs, n);
		if (n == 0 && done && done(s))
			break;
	}
	onestop_close(&c);
}

static int hall_done(struct seen *s)
{
	return s->answers > 0;
}
static int owner_done(struct seen *s)
{
	return s->ratings > 0;
}
static int hall_c_done(struct seen *s)
{
	return s->answers_c > 0;
}

/* Rate case id at p for subject (assertion for p) with score and comment
 * through channel. The code; *pending and why. */
static const char *g_owner; /* rate(): the owner named, at a node without the case */

static int rate(struct case_net *cn, struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN],
		const char *subject, unsigned score, const char *comment, int channel, int *pending,
		char *why, size_t size)
{
	uint8_t *as = NULL;
	size_t al = 0;
	onestop_t *c = NULL;
	int rc = ch_assertion(cn, subject, 2, p->name, 0, &as, &al);
	if (rc != 0)
		return rc;
	if ((rc = net_connect(p, 0, &c)) == 0) {
		onestop_rating_t r = {.score = score,
				      .comment = comment,
				      .assertion = as,
				      .assertion_len = al,
				      .channel = channel,
				      .owner = g_owner};
		rc = onestop_case_rate(c, id, &r, pending);
		snprintf(why, size, "%s", onestop_last_error(c));
	}
	onestop_close(&c);
	free(as);
	return rc;
}

/* File a case of CH_ITEM_LIC at the hall for subject; when decide, the
 * owner accepts and approves it and the hall sees the decision. */
static void make_case(struct case_net *cn, const char *subject, int decide,
		      uint8_t id[ONESTOP_ID_LEN])
{
	char why[512] = "";
	int rc =
		ch_file_std(cn, cn->hall, CH_ITEM_LIC, subject, NULL, NULL, 0, id, why, sizeof why);
	H_REQUIRE(cn->n, rc == 0, "filed a case at the hall (%d %s)", rc, why);
	H_REQUIRE(cn->n,
		  ch_wait_state(cn->owner, id, ONESTOP_CASE_FILED, 1, h_ms(20000), NULL) == 0,
		  "the owner received it");
	if (!decide)
		return;
	rc = ch_act_simple(cn->owner, id, ONESTOP_ACT_ACCEPT, 0, NULL, NULL, why, sizeof why);
	H_REQUIRE(cn->n, rc == 0, "accepted (%s)", why);
	rc = ch_act_simple(cn->owner, id, ONESTOP_ACT_DECIDE, ONESTOP_APPROVED, "granted", NULL,
			   why, sizeof why);
	H_REQUIRE(cn->n, rc == 0, "approved (%s)", why);
	H_REQUIRE(cn->n,
		  ch_wait_state(cn->hall, id, ONESTOP_CASE_DECIDED, 3, h_ms(20000), NULL) == 0,
		  "the hall sees the decision");
}

/* Poll the supervisor's stats by item until CH_ITEM_LIC counts want
 * evaluations; its mean score into *mean. 0 or -1. */
static int stats_wait(struct net_proc *p, uint64_t want, double *mean, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)h_ms(timeout_ms);
	for (;;) {
		onestop_t *c = NULL;
		onestop_stats_row_t *rows = NULL;
		size_t n = 0;
		int ok = 0;
		if (net_connect(p, 0, &c) == 0 &&
		    onestop_stats(c, "item", NULL, NULL, &rows, &n) == 0)
			for (size_t i = 0; i < n; i++)
				if (strcmp(rows[i].key, CH_ITEM_LIC) == 0 &&
				    rows[i].evaluations == want) {
					ok = 1;
					*mean = rows[i].mean_score;
				}
		free(rows);
		onestop_close(&c);
		if (ok)
			return 0;
		if (h_now_ms() >= until)
			return -1;
		usleep(100000);
	}
}

int main(void)
{
	struct case_net cn;
	struct net_opts o;
	uint8_t a[ONESTOP_ID_LEN], b[ONESTOP_ID_LEN], c3[ONESTOP_ID_LEN];
	char why[512] = "", apath[512];
	struct seen hall, owner, sup;
	int pending = -1, rc;

	/* The case clock runs 30 days ahead of the wall clock (and of the
	 * assertions' validity): the owner verifies an assertion the hall
	 * took at the rating's time, or, outside its window, at its own
	 * issuing time. */
	char dir[] = "/tmp/onestop-it-rating-XXXXXX", clock[64];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(clock, sizeof clock, "%s/clock", dir);
	if (ch_clock_set(clock, os_now_ms() + AHEAD_MS) != 0 ||
	    setenv("ONESTOP_CASE_CLOCK_FILE", clock, 1) != 0) {
		perror(clock);
		return 1;
	}
	ch_opts_sup(&o);
	ch_start(&cn, &o);
	struct net *n = cn.n;

	memset(c3, 0, sizeof c3);
	make_case(&cn, CH_SUBJECT, 1, a);
	make_case(&cn, CH_SUBJECT2, 0, b);
	memset(&hall, 0, sizeof hall);
	memset(&owner, 0, sizeof owner);
	memset(&sup, 0, sizeof sup);
	hall.a = owner.a = sup.a = a;
	hall.c = owner.c = sup.c = c3;

	/* Refusals before any rating. */
	rc = rate(&cn, cn.hall, a, CH_SUBJECT, 0, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EINVAL, "score 0 refused EINVAL (%d %s)", rc, why);
	rc = rate(&cn, cn.hall, a, CH_SUBJECT, 6, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EINVAL, "score 6 refused EINVAL (%d %s)", rc, why);
	rc = rate(&cn, cn.hall, b, CH_SUBJECT2, 3, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_ESTATE, "an undecided case refused ESTATE (%d %s)", rc, why);
	rc = rate(&cn, cn.hall, a, CH_SUBJECT2, 3, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_ESUBJECT, "another subject's assertion refused ESUBJECT (%d %s)",
		rc, why);
	rc = rate(&cn, cn.owner, a, CH_SUBJECT2, 3, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_ESUBJECT, "... also at the owner (%d %s)", rc, why);
	rc = rate(&cn, cn.dept, a, CH_SUBJECT, 3, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_ENOTFOUND,
		"a node that holds no such case refuses ENOTFOUND (%d %s)", rc, why);

	/* The rating, at the hall: sent to the owner. */
	rc = rate(&cn, cn.hall, a, CH_SUBJECT, 4, COMMENT, ONESTOP_CHANNEL_MOBILE, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == 0 && pending == 1, "rated 4 at the hall, sent to the owner (%d %s)", rc,
		why);
	rc = rate(&cn, cn.hall, a, CH_SUBJECT, 5, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EEXIST,
		"a second rating at the hall, still pending: EEXIST (%d %s)", rc, why);
	drain(cn.owner, &owner, 20000, owner_done);
	H_CHECK(n, owner.ratings == 1 && owner.rating_score == 4 && owner.sealed_ok,
		"the owner's apps got the rating, score 4, the comment sealed (%d %d %d)",
		owner.ratings, owner.rating_score, owner.sealed_ok);
	H_CHECK(n, proc_wait_log(cn.owner, "event=evaluation_recorded", h_ms(5000)) == 0,
		"the owner recorded it");
	drain(cn.hall, &hall, 20000, hall_done);
	H_CHECK(n, hall.answers == 1 && hall.answer_code == 0 && hall.answer_score == 4,
		"the hall's apps got the owner's answer: recorded, score 4 (%d %d %d)",
		hall.answers, hall.answer_code, hall.answer_score);
	rc = rate(&cn, cn.hall, a, CH_SUBJECT, 5, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EEXIST, "a second rating at the hall: EEXIST (%d %s)", rc, why);
	rc = rate(&cn, cn.owner, a, CH_SUBJECT, 5, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EEXIST, "... and at the owner: EEXIST (%d %s)", rc, why);

	/* A third case rated through the CLI at its owner. */
	make_case(&cn, CH_SUBJECT, 1, c3);
	char hex[2 * ONESTOP_ID_LEN + 1];
	os_hex(hex, c3, ONESTOP_ID_LEN);
	struct cmd_out out;
	H_REQUIRE(n, ch_assertion_file(&cn, CH_SUBJECT, 2, CH_OWNER, apath, sizeof apath) == 0,
		  "an assertion file for the owner");
	memset(&out, 0, sizeof out);
	rc = ch_cli(n, cn.owner, &out, "rate", hex, "--score", "0", "--assertion", apath, NULL);
	H_CHECK(n, rc == 2, "onestop rate --score 0: usage error, exit 2 (%d)", rc);
	cmd_out_free(&out);
	rc = ch_cli(n, cn.owner, &out, "rate", hex, "--score", "5", "--comment", COMMENT,
		    "--assertion", apath, "--channel", "hall", NULL);
	H_CHECK(n, rc == 0 && out.out && strstr(out.out, "rated 5") && !strstr(out.out, "sent"),
		"onestop rate at the owner: recorded at once (exit %d: %.200s%.200s)", rc,
		out.out ? out.out : "", out.err ? out.err : "");
	cmd_out_free(&out);
	H_REQUIRE(n, ch_assertion_file(&cn, CH_SUBJECT, 2, CH_OWNER, apath, sizeof apath) == 0,
		  "another assertion file for the owner");
	rc = ch_cli(n, cn.owner, &out, "rate", hex, "--score", "3", "--assertion", apath, NULL);
	H_CHECK(n, rc == 1 && out.err && strstr(out.err, "EEXIST"),
		"onestop rate again: exit 1, EEXIST (%d %.200s)", rc, out.err ? out.err : "");
	cmd_out_free(&out);
	drain(cn.hall, &hall, 20000, hall_c_done);
	H_CHECK(n, hall.answers_c == 1, "the filing hall was told that the case is rated (%d)",
		hall.answers_c);
	rc = rate(&cn, cn.hall, c3, CH_SUBJECT, 2, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EEXIST, "... and refuses a rating of it: EEXIST (%d %s)", rc, why);

	/* A fourth case rated at a node that holds no copy of it (a web
	 * portal), which names the owner: the owner checks and records it. */
	uint8_t d4[ONESTOP_ID_LEN];
	make_case(&cn, CH_SUBJECT, 1, d4);
	g_owner = CH_OWNER;
	rc = rate(&cn, cn.dept, d4, CH_SUBJECT, 3, COMMENT, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == 0 && pending == 1,
		"rated 3 at %s, which holds no copy, sent to the owner named (%d %s)", CH_DEPT, rc,
		why);
	rc = rate(&cn, cn.dept, d4, CH_SUBJECT, 4, NULL, ONESTOP_CHANNEL_WEB, &pending, why,
		  sizeof why);
	H_CHECK(n, rc == ONESTOP_EEXIST, "a second rating there: EEXIST (%d %s)", rc, why);
	g_owner = NULL;

	/* The supervisor: one event per rated case, metadata only. */
	double mean = 0;
	int counted = stats_wait(cn.sup, 3, &mean, 20000) == 0;
	H_CHECK(n, counted && mean > 3.99 && mean < 4.01,
		"the supervisor counts 3 evaluations of the item, mean score 4.0 (%.3f)", mean);
	H_CHECK(n, proc_wait_log(cn.dept, "event=evaluation_answered", h_ms(10000)) == 0,
		"the owner's answer reached %s", CH_DEPT);
	drain(cn.sup, &sup, 3000, NULL);
	H_CHECK(n, sup.events > 0 && sup.bad == 0,
		"the supervisor's events all decode (%d, bad %d)", sup.events, sup.bad);
	H_CHECK(n, sup.ev_a == 1 && sup.score_a == 4 && sup.channel_a == ONESTOP_CHANNEL_MOBILE,
		"exactly one EVALUATION event of the first case, score 4, channel mobile (%d %d %d)",
		sup.ev_a, sup.score_a, sup.channel_a);
	H_CHECK(n, sup.ev_c == 1 && sup.score_c == 5, "exactly one of the third, score 5 (%d %d)",
		sup.ev_c, sup.score_c);
	H_CHECK(n, sup.fields_ok == 2,
		"each names the item and its kind, the owner, its region, the filing node, the "
		"outcome, the rating's time on the case clock; seq 1, no state, no subject tag (%d)",
		sup.fields_ok);
	H_CHECK(n, sup.leaked == 0, "no event holds the comment or the subject id (%d)",
		sup.leaked);
	rc = ch_cli(n, cn.sup, &out, "stats", "--json", NULL);
	const char *row =
		rc == 0 && out.out ? strstr(out.out, "\"key\":\"" CH_ITEM_LIC "\"") : NULL;
	H_CHECK(n,
		row && strstr(row, "\"evaluations\":3,\"mean_score\":4.0000") &&
			strstr(out.out, "\"complaints\":0"),
		"onestop stats --json at the supervisor: evaluations 3, mean score 4.0 (%d %.600s)",
		rc, out.out ? out.out : "");
	cmd_out_free(&out);
	rc = ch_cli(n, cn.sup, &out, "stats", "--csv", NULL);
	H_CHECK(n,
		rc == 0 && out.out && strncmp(out.out, "key,filed,", 10) == 0 &&
			strstr(out.out, "\n" CH_ITEM_LIC ",4,"),
		"onestop stats --csv: the header and the item's line (%d %.400s)", rc,
		out.out ? out.out : "");
	cmd_out_free(&out);
	rc = net_done(&n);
	unlink(clock);
	rmdir(dir);
	return rc;
}
