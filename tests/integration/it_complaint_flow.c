/* Complaints and consultations (#7) between real daemons: a complaint
 * filed at the service hall about a case reaches the region's supervisor
 * (gd.sup), which assigns it to the owning department; the department's
 * answer reaches the hall, opened there only; the hall reopens it once
 * (a second reopening is ESTATE) and closes it; foreign steps are refused;
 * a complaint left unanswered past its deadline (injected clock) is listed
 * overdue at both ends; an anonymous consultation about an item goes to the
 * item's owner. The supervisor counts the complaints and consultations;
 * no store or event holds the complaint's text in clear. The spoke's API
 * is spoken directly (ApiRequest over the socket), as any client would. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "case_harness.h"
#include "err.h"
#include "onestop.pb-c.h"
#include "supervision.h"

#define TEXT "complaint-text-7d41c2: the counter lost my documents"
#define ANSWER "answer-text-90be13: found and returned them"
#define QUESTION "question-text-3f6e22: which documents do I need?"
/* Monday 2026-12-07 09:00 UTC: filings; 5 working days later is the end of
 * Monday 2026-12-14. */
#define T0 1796634000000ull
#define DAY 86400000ull

/* One request to p's API socket; *rep (caller frees) on an answer. */
static int call(struct net_proc *p, Onestop__ApiRequest *req, Onestop__ApiReply **rep)
{
	static uint64_t next_id = 1;
	void *ctx = zmq_ctx_new(), *s = ctx ? zmq_socket(ctx, ZMQ_DEALER) : NULL;
	int timeout = h_ms(20000), linger = 0, rc = -1;
	*rep = NULL;
	if (!s)
		goto out;
	zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
	zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
	if (zmq_connect(s, p->api) != 0)
		goto out;
	req->request_id = next_id++;
	size_t len = onestop__api_request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf)
		goto out;
	onestop__api_request__pack(req, buf);
	int sent = zmq_send(s, buf, len, 0);
	free(buf);
	if (sent < 0)
		goto out;
	zmq_msg_t m;
	zmq_msg_init(&m);
	if (zmq_msg_recv(&m, s, 0) >= 0) {
		*rep = onestop__api_reply__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
		rc = *rep ? 0 : -1;
	}
	zmq_msg_close(&m);
out:
	if (s)
		zmq_close(s);
	if (ctx)
		zmq_ctx_term(ctx);
	return rc;
}

/* The reply's code, or -1000 without one; printed when not 0. */
static int code_of(Onestop__ApiReply *rep, const char *what)
{
	if (!rep)
		return -1000;
	if (rep->code)
		fprintf(stderr, "  %s: %s (%s)\n", what, os_errname(rep->code),
			rep->message ? rep->message : "");
	return rep->code;
}

static int file(struct case_net *cn, struct net_proc *p, int kind, const char *about,
		const char *text, int anonymous, uint8_t id[16], char *handler, size_t hsize)
{
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	Onestop__ComplaintFileRequest q = ONESTOP__COMPLAINT_FILE_REQUEST__INIT;
	Onestop__ApiReply *rep = NULL;
	uint8_t *as = NULL;
	size_t al = 0;
	if (!anonymous && ch_assertion(cn, CH_SUBJECT, 2, p->name, 0, &as, &al) != 0)
		return -1000;
	q.kind = kind;
	q.about = (char *)about;
	q.text.data = (uint8_t *)text;
	q.text.len = strlen(text);
	q.assertion.data = as;
	q.assertion.len = al;
	q.channel = ONESTOP__CASE_CHANNEL__CASE_CHANNEL_HALL;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_FILE;
	req.complaint_file = &q;
	int rc = call(p, &req, &rep) == 0 ? code_of(rep, "file") : -1000;
	if (rc == 0 && rep->result_case == ONESTOP__API_REPLY__RESULT_COMPLAINT_FILE &&
	    rep->complaint_file->complaint_id.len == 16) {
		memcpy(id, rep->complaint_file->complaint_id.data, 16);
		snprintf(handler, hsize, "%s", rep->complaint_file->handler);
	} else if (rc == 0) {
		rc = -1000;
	}
	free(as);
	if (rep)
		onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

static int act(struct net_proc *p, const uint8_t id[16], int action, const char *assignee,
	       const char *answer, int *pending)
{
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	Onestop__ComplaintActRequest q = ONESTOP__COMPLAINT_ACT_REQUEST__INIT;
	Onestop__ApiReply *rep = NULL;
	q.complaint_id.data = (uint8_t *)id;
	q.complaint_id.len = 16;
	q.action = action;
	q.assignee = (char *)(assignee ? assignee : "");
	if (answer) {
		q.answer.data = (uint8_t *)answer;
		q.answer.len = strlen(answer);
	}
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_ACT;
	req.complaint_act = &q;
	int rc = call(p, &req, &rep) == 0 ? code_of(rep, "act") : -1000;
	if (rc == 0 && pending)
		*pending = rep->complaint_act ? rep->complaint_act->pending : -1;
	if (rep)
		onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

/* The complaint at p (caller frees the reply), or NULL. */
static Onestop__ApiReply *get(struct net_proc *p, const uint8_t id[16])
{
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	Onestop__ComplaintGetRequest q = ONESTOP__COMPLAINT_GET_REQUEST__INIT;
	Onestop__ApiReply *rep = NULL;
	q.complaint_id.data = (uint8_t *)id;
	q.complaint_id.len = 16;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_GET;
	req.complaint_get = &q;
	if (call(p, &req, &rep) != 0 || rep->code != 0 || !rep->complaint_get ||
	    !rep->complaint_get->info) {
		if (rep)
			onestop__api_reply__free_unpacked(rep, NULL);
		return NULL;
	}
	return rep;
}

/* Poll until the complaint at p is in state with nothing pending. */
static int wait_state(struct net_proc *p, const uint8_t id[16], int state, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)h_ms(timeout_ms);
	int last = -1;
	while (h_now_ms() < until) {
		Onestop__ApiReply *rep = get(p, id);
		if (rep) {
			Onestop__ComplaintInfo *i = rep->complaint_get->info;
			last = (int)i->state;
			int ok = last == state && i->pending == 0;
			onestop__api_reply__free_unpacked(rep, NULL);
			if (ok)
				return 0;
		}
		usleep(20000);
	}
	fprintf(stderr, "  %s: state %d, waited for %d\n", p->name, last, state);
	return -1;
}

/* How many complaints p lists (overdue only when overdue). */
static long count(struct net_proc *p, int overdue)
{
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	Onestop__ComplaintListRequest q = ONESTOP__COMPLAINT_LIST_REQUEST__INIT;
	Onestop__ApiReply *rep = NULL;
	q.overdue = overdue;
	req.op_case = ONESTOP__API_REQUEST__OP_COMPLAINT_LIST;
	req.complaint_list = &q;
	if (call(p, &req, &rep) != 0 || code_of(rep, "list") != 0 || !rep->complaint_list) {
		if (rep)
			onestop__api_reply__free_unpacked(rep, NULL);
		return -1;
	}
	long n = (long)rep->complaint_list->n_complaints;
	onestop__api_reply__free_unpacked(rep, NULL);
	return n;
}

/* Whether info carries bytes equal to text as its text or an answer. */
static int has_text(const Onestop__ComplaintInfo *i, const char *text)
{
	size_t n = strlen(text);
	if (i->text.len == n && memcmp(i->text.data, text, n) == 0)
		return 1;
	for (size_t k = 0; k < i->n_history; k++)
		if (i->history[k]->answer.len == n &&
		    memcmp(i->history[k]->answer.data, text, n) == 0)
			return 1;
	return 0;
}

static int check_text(struct net_proc *p, const uint8_t id[16], const char *text)
{
	Onestop__ApiReply *rep = get(p, id);
	int r = rep && has_text(rep->complaint_get->info, text);
	if (rep)
		onestop__api_reply__free_unpacked(rep, NULL);
	return r;
}

/* The supervisor's figure by region for key (complaints or consultations). */
static long sup_figure(struct net_proc *p, const char *region, int consultations)
{
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	Onestop__StatsRequest q = ONESTOP__STATS_REQUEST__INIT;
	Onestop__ApiReply *rep = NULL;
	long v = -1;
	q.by = "region";
	req.op_case = ONESTOP__API_REQUEST__OP_STATS;
	req.stats = &q;
	if (call(p, &req, &rep) == 0 && code_of(rep, "stats") == 0 && rep->stats) {
		v = 0;
		for (size_t i = 0; i < rep->stats->n_rows; i++)
			if (strcmp(rep->stats->rows[i]->key, region) == 0)
				v = (long)(consultations ? rep->stats->rows[i]->consultations
							 : rep->stats->rows[i]->complaints);
	}
	if (rep)
		onestop__api_reply__free_unpacked(rep, NULL);
	return v;
}

/* Every supervision event p's apps got: decoded and checked; *complaint
 * counts those of a complaint or consultation, *leaked those holding a
 * text, an answer or the subject id. The events received, or -1. */
static long events(struct net_proc *p, int *complaint, int *leaked)
{
	static const char *secrets[] = {"complaint-text-7d41c2", "answer-text-90be13",
					"question-text-3f6e22", CH_SUBJECT};
	onestop_t *c = NULL;
	long total = 0;
	*complaint = *leaked = 0;
	if (net_connect(p, 0, &c) != 0)
		return -1;
	for (;;) {
		onestop_msg_t *msgs = NULL;
		size_t n = 0;
		if (onestop_recv(c, 100, 500, &msgs, &n) != 0 || n == 0) {
			onestop_msgs_free(&msgs, n);
			break;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t seq = msgs[i].seq;
			struct sv_event e;
			if (strcmp(msgs[i].type, "onestop.Supervision") == 0) {
				total++;
				if (sv_event_unpack(msgs[i].payload, msgs[i].len, &e) != 0)
					total = -1000000;
				else if (e.kind == SV_COMPLAINT)
					(*complaint)++;
				for (size_t k = 0; k < sizeof secrets / sizeof secrets[0]; k++)
					*leaked += ch_find(msgs[i].payload, msgs[i].len,
							   secrets[k]) != NULL;
			}
			onestop_ack(c, &seq, 1);
		}
		onestop_msgs_free(&msgs, n);
	}
	onestop_close(&c);
	return total;
}

int main(void)
{
	struct case_net cn;
	struct net_opts o;
	char dir[] = "/tmp/onestop-it-cpl-XXXXXX", clock[64], handler[64], about[64], why[256];
	uint8_t case_id[16], cid[16], late[16], qid[16];
	int pending = -1;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(clock, sizeof clock, "%s/clock", dir);
	if (ch_clock_set(clock, T0) != 0 || setenv("ONESTOP_CASE_CLOCK_FILE", clock, 1) != 0) {
		perror(clock);
		return 1;
	}
	ch_opts_sup(&o);
	ch_start(&cn, &o);
	struct net *n = cn.n;

	/* A case filed at the hall, and a complaint about it there. */
	H_REQUIRE(n,
		  ch_file_std(&cn, cn.hall, CH_ITEM_LIC, CH_SUBJECT, NULL, NULL, 0, case_id, why,
			      sizeof why) == 0,
		  "the hall filed a case (%s)", why);
	snprintf(about, sizeof about, "case:%s", h_idhex(case_id));
	H_REQUIRE(n, file(&cn, cn.hall, 1, about, TEXT, 0, cid, handler, sizeof handler) == 0,
		  "the hall filed a complaint about the case");
	H_CHECK(n, strcmp(handler, CH_SUP) == 0, "its handler is the region's supervisor %s (%s)",
		CH_SUP, handler);
	H_REQUIRE(n, wait_state(cn.sup, cid, 1, 20000) == 0, "it reached %s, received", CH_SUP);
	H_CHECK(n, check_text(cn.sup, cid, TEXT), "the supervisor reads its text");
	H_CHECK(n, !check_text(cn.hall, cid, TEXT), "the hall holds it sealed only");
	H_CHECK(n, count(cn.sup, 0) == 1, "the supervisor lists one complaint");

	/* Refusals of illegal and foreign steps. */
	H_CHECK(n, act(cn.hall, cid, 2, CH_OWNER, NULL, NULL) == OS_ENOTALLOWED,
		"the filing node may not assign");
	H_CHECK(n, act(cn.hall, cid, 5, NULL, NULL, NULL) == OS_ESTATE,
		"nothing to reopen before an answer");
	H_CHECK(n, act(cn.dept, cid, 3, NULL, ANSWER, NULL) == OS_ENOTFOUND,
		"a node that is no party holds no such complaint");
	H_CHECK(n, act(cn.sup, cid, 2, "gd.nowhere", NULL, NULL) == OS_EUNKNOWN,
		"assigning to a node outside the registry is refused");

	/* Assigned to the department, which answers. */
	H_REQUIRE(n, act(cn.sup, cid, 2, CH_OWNER, NULL, &pending) == 0 && pending == 0,
		  "the supervisor assigned it to %s", CH_OWNER);
	H_REQUIRE(n, wait_state(cn.owner, cid, 2, 20000) == 0, "the department holds it");
	H_CHECK(n, check_text(cn.owner, cid, TEXT), "the department reads the text");
	H_CHECK(n, wait_state(cn.hall, cid, 2, 20000) == 0, "the hall sees it assigned");
	H_CHECK(n, act(cn.owner, cid, 4, NULL, NULL, NULL) == OS_ENOTALLOWED,
		"the assignee may not close it");
	/* The handler away: the department's answer waits for it. */
	H_REQUIRE(n, proc_stop(n, cn.sup, 0) == 0, "the supervisor stopped");
	H_REQUIRE(n, act(cn.owner, cid, 3, NULL, ANSWER, &pending) == 0 && pending == 1,
		  "the department answered (pending at the handler)");
	H_CHECK(n, act(cn.owner, cid, 3, NULL, ANSWER, NULL) == OS_EAGAIN,
		"a second step waits for the first");
	net_up(n, cn.sup, 1);
	H_CHECK(n, wait_state(cn.sup, cid, 3, 20000) == 0, "the supervisor applied the answer");
	H_CHECK(n, wait_state(cn.owner, cid, 3, 20000) == 0, "the department's step settled");
	H_REQUIRE(n, wait_state(cn.hall, cid, 3, 20000) == 0, "the answer reached the hall");
	H_CHECK(n, check_text(cn.hall, cid, ANSWER), "the hall reads the answer");
	H_CHECK(n, !check_text(cn.sup, cid, ANSWER), "the supervisor holds the answer sealed");

	/* Reopened once, then refused; answered again and closed. */
	H_REQUIRE(n, act(cn.hall, cid, 5, NULL, NULL, &pending) == 0 && pending == 1,
		  "the hall reopened it");
	H_CHECK(n,
		wait_state(cn.hall, cid, 5, 20000) == 0 && wait_state(cn.sup, cid, 5, 20000) == 0,
		"reopened at both ends");
	H_REQUIRE(n, act(cn.sup, cid, 3, NULL, ANSWER " (again)", NULL) == 0,
		  "the supervisor answered itself");
	H_REQUIRE(n, wait_state(cn.hall, cid, 3, 20000) == 0, "answered again at the hall");
	H_CHECK(n, act(cn.hall, cid, 5, NULL, NULL, NULL) == OS_ESTATE,
		"a second reopening is refused (ESTATE)");
	H_REQUIRE(n, act(cn.hall, cid, 4, NULL, NULL, NULL) == 0, "the hall closed it");
	H_CHECK(n,
		wait_state(cn.sup, cid, 4, 20000) == 0 && wait_state(cn.hall, cid, 4, 20000) == 0,
		"closed at both ends");
	H_CHECK(n, wait_state(cn.owner, cid, 4, 20000) == 0, "and at the department");
	H_CHECK(n, act(cn.sup, cid, 3, NULL, ANSWER, NULL) == OS_ESTATE,
		"nothing follows a closing");

	/* Overdue: unanswered past its deadline. */
	H_REQUIRE(n,
		  file(&cn, cn.hall, 1, "node:" CH_DEPT, TEXT, 0, late, handler, sizeof handler) ==
			  0,
		  "a complaint about %s", CH_DEPT);
	H_REQUIRE(n, wait_state(cn.sup, late, 1, 20000) == 0, "received by the supervisor");
	H_CHECK(n, count(cn.sup, 1) == 0 && count(cn.hall, 1) == 0, "not overdue at filing");
	H_REQUIRE(n, ch_clock_set(clock, T0 + 7 * DAY - 10 * 3600000ull) == 0,
		  "clock: Monday 12-14");
	H_CHECK(n, count(cn.sup, 1) == 0, "not overdue on its last working day");
	H_REQUIRE(n, ch_clock_set(clock, T0 + 8 * DAY) == 0, "clock: Tuesday 12-15");
	H_CHECK(n, count(cn.sup, 1) == 1 && count(cn.hall, 1) == 1,
		"overdue at both ends once past it (%ld, %ld)", count(cn.sup, 1),
		count(cn.hall, 1));

	/* An anonymous consultation goes to the item's owner. */
	H_REQUIRE(n,
		  file(&cn, cn.hall, 2, "item:" CH_ITEM_LIC, QUESTION, 1, qid, handler,
		       sizeof handler) == 0,
		  "an anonymous consultation filed");
	H_CHECK(n, strcmp(handler, CH_OWNER) == 0, "its handler is the item's owner (%s)", handler);
	H_CHECK(n,
		file(&cn, cn.hall, 1, "item:" CH_ITEM_LIC, TEXT, 1, late, handler,
		     sizeof handler) == OS_EINVAL,
		"an anonymous complaint is refused");
	H_REQUIRE(n, wait_state(cn.owner, qid, 1, 20000) == 0, "the owner received it");
	H_CHECK(n, check_text(cn.owner, qid, QUESTION), "the owner reads the question");
	H_REQUIRE(n, act(cn.owner, qid, 3, NULL, ANSWER, NULL) == 0, "the owner answered");
	H_CHECK(n, wait_state(cn.hall, qid, 3, 20000) == 0 && check_text(cn.hall, qid, ANSWER),
		"the answer reached the hall");

	/* The supervisor's counts, and no text in clear anywhere. */
	uint64_t until = h_now_ms() + (uint64_t)h_ms(20000);
	while (h_now_ms() < until && sup_figure(cn.sup, "gd.gz", 0) != 1)
		usleep(50000);
	H_CHECK(n, sup_figure(cn.sup, "gd.sz", 0) == 1 && sup_figure(cn.sup, "gd.gz", 0) == 1,
		"the supervisor counts one complaint per region");
	until = h_now_ms() + (uint64_t)h_ms(20000);
	while (h_now_ms() < until && sup_figure(cn.sup, "gd.sz", 1) != 1)
		usleep(50000);
	H_CHECK(n, sup_figure(cn.sup, "gd.sz", 1) == 1, "and the consultation");
	/* The consultation's steps reach the supervisor from its handler. */
	int cp_events = 0, leaked = 0;
	long got = events(cn.sup, &cp_events, &leaked);
	H_CHECK(n, got > 0 && cp_events >= 2 && leaked == 0,
		"the supervisor's events decode, %d of the consultation, none holds a text, an "
		"answer or the subject id (%ld events, %d leaked)",
		cp_events, got, leaked);
	H_CHECK(n,
		ch_grep_tree(n->dir, NULL, "complaint-text-7d41c2") == 0 &&
			ch_grep_tree(n->dir, NULL, "answer-text-90be13") == 0 &&
			ch_grep_tree(n->dir, NULL, "question-text-3f6e22") == 0,
		"no store or log holds a text or an answer in clear");

	unlink(clock);
	rmdir(dir);
	return net_done(&cn.n);
}
