/* Helpers of the case tests: the case network (idp, hall, owner, dept),
 * its subjects and items, filing and acting through libonestop and the
 * CLI, waiting for a case, comparing both ends, licences, the inbox and
 * grepping a daemon's files. */
#include "case_harness.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "util.h"

void ch_opts(struct net_opts *o)
{
	memset(o, 0, sizeof *o);
	o->datasets[0] = (struct net_dataset){"identity", "cached"};
	o->datasets[1] = (struct net_dataset){"items", "full"};
	o->datasets[2] = (struct net_dataset){ONESTOP_DS_LICENCES, "cached"};
	o->spoke[0].name = CH_IDP;
	o->spoke[0].roles[0] = "spoke";
	o->spoke[0].roles[1] = "idp";
	o->spoke[0].publish[0] = "identity";
	o->spoke[1].name = CH_HALL;
	o->spoke[2].name = CH_OWNER;
	o->spoke[2].publish[0] = "items";
	o->spoke[2].publish[1] = ONESTOP_DS_LICENCES;
	o->spoke[3].name = CH_DEPT;
	o->spoke[3].publish[0] = "items";
	o->spoke[3].publish[1] = ONESTOP_DS_LICENCES;
}

void ch_opts_sup(struct net_opts *o)
{
	ch_opts(o);
	o->spoke[4].name = CH_SUP;
	o->spoke[4].roles[0] = "spoke";
	o->spoke[4].roles[1] = "supervisor";
	o->spoke[4].topics[0] = "supervision";
}

/* Publish one item at c; the code. */
static int put_item(onestop_t *c, const char *code, const onestop_item_t *v)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	onestop_put_t put;
	int rc = onestop_item_encode(v, &buf, &len);

	if (rc == 0) {
		put = (onestop_put_t){.dataset = ONESTOP_DS_ITEMS,
				      .key = code,
				      .value = buf,
				      .len = len};
		rc = onestop_put(c, &put, 1, NULL);
	}
	if (rc != 0)
		fprintf(stderr, "  publish item %s: %d %s (%s)\n", code, rc, os_errname(rc),
			onestop_last_error(c));
	free(buf);
	return rc;
}

static int publish_items(struct case_net *cn)
{
	static const onestop_material_t lic_mat[] = {
		{CH_MAT_ID, "identity"},
		{CH_MAT_FORM, NULL},
	};
	static const onestop_material_t permit_mat[] = {
		{CH_MAT_ID, "identity"},
		{CH_MAT_LIC, ONESTOP_DS_LICENCES},
	};
	static const onestop_material_t dreg_mat[] = {
		{CH_MAT_ID, "identity"},
	};
	static const char *const regions[] = {"440300"};
	onestop_item_t lic = {
		.name = "catering licence",
		.owner = CH_OWNER,
		.kind = "licence",
		.online = 1,
		.n_materials = 2,
		.materials = lic_mat,
		.legal_days = CH_LEGAL_DAYS,
		.promised_days = CH_PROMISED_DAYS,
		.n_regions = 1,
		.regions = regions,
		.min_level = 1,
	};
	onestop_item_t off = lic, l3 = lic, reg = lic, permit = lic, dreg = lic;
	onestop_t *c = NULL;
	int rc;

	off.name = "building permit (inspection)";
	off.online = 0;
	off.offline_reason = CH_OFFLINE_REASON;
	l3.name = "firearms licence";
	l3.min_level = 3;
	reg.name = "business registration";
	reg.kind = "registration";
	permit.name = "outdoor seating permit";
	permit.owner = CH_DEPT;
	permit.kind = "permit";
	permit.materials = permit_mat;
	dreg.name = "tax registration";
	dreg.owner = CH_DEPT;
	dreg.kind = "registration";
	dreg.n_materials = 1;
	dreg.materials = dreg_mat;

	rc = net_connect(cn->owner, 0, &c);
	if (rc == 0)
		rc = put_item(c, CH_ITEM_LIC, &lic);
	if (rc == 0)
		rc = put_item(c, CH_ITEM_OFFLINE, &off);
	if (rc == 0)
		rc = put_item(c, CH_ITEM_L3, &l3);
	if (rc == 0)
		rc = put_item(c, CH_ITEM_REG, &reg);
	onestop_close(&c);
	if (rc == 0)
		rc = net_connect(cn->dept, 0, &c);
	if (rc == 0)
		rc = put_item(c, CH_ITEM_PERMIT, &permit);
	if (rc == 0)
		rc = put_item(c, CH_ITEM_DREG, &dreg);
	onestop_close(&c);
	return rc;
}

/* Poll the hub's copy of dataset until it counts count entries. */
static int wait_hub_count(struct net *n, const char *dataset, uint64_t count, int timeout_ms,
			  struct net_digest *d)
{
	uint64_t end = h_now_ms() + (uint64_t)timeout_ms;

	do {
		if (net_hub_digest(n, dataset, d) == 0 && d->count >= count)
			return 0;
		h_sleep_ms(100);
	} while (h_now_ms() < end);
	return -1;
}

void ch_start(struct case_net *cn, const struct net_opts *o)
{
	struct net_opts def;
	struct net_digest hub;
	struct net *n;
	onestop_t *c = NULL;
	int rc;

	if (!o) {
		ch_opts(&def);
		o = &def;
	}
	memset(cn, 0, sizeof *cn);
	n = cn->n = net_make(o->spoke[4].name ? 5 : 4, o);
	cn->idp = net_spoke(n, CH_IDP);
	cn->hall = net_spoke(n, CH_HALL);
	cn->owner = net_spoke(n, CH_OWNER);
	cn->dept = net_spoke(n, CH_DEPT);
	cn->sup = o->spoke[4].name ? net_spoke(n, CH_SUP) : NULL;
	H_REQUIRE(n, cn->idp && cn->hall && cn->owner && cn->dept, "the four spokes exist");
	net_start_all(n);

	rc = net_connect(cn->idp, 0, &c);
	if (rc == 0)
		rc = ds_put_identity(c, CH_SUBJECT, 3, ONESTOP_SUBJECT_ACTIVE, CH_IDP);
	if (rc == 0)
		rc = ds_put_identity(c, CH_SUBJECT2, 2, ONESTOP_SUBJECT_ACTIVE, CH_IDP);
	onestop_close(&c);
	H_REQUIRE(n, rc == 0, "the idp published two subjects (rc %d)", rc);
	rc = publish_items(cn);
	H_REQUIRE(n, rc == 0, "owner and dept published %d items (rc %d)", CH_N_ITEMS, rc);
	H_REQUIRE(n, wait_hub_count(n, "identity", 2, h_ms(30000), &hub) == 0,
		  "the hub holds both subjects");
	H_REQUIRE(n, wait_hub_count(n, ONESTOP_DS_ITEMS, CH_N_ITEMS, h_ms(30000), &hub) == 0,
		  "the hub holds the %d items", CH_N_ITEMS);
	H_REQUIRE(n,
		  ds_wait_same_as_hub(n, cn->hall, ONESTOP_DS_ITEMS, hub.seq, h_ms(30000), NULL,
				      NULL) == 0 &&
			  ds_wait_same_as_hub(n, cn->owner, ONESTOP_DS_ITEMS, hub.seq, h_ms(30000),
					      NULL, NULL) == 0 &&
			  ds_wait_same_as_hub(n, cn->dept, ONESTOP_DS_ITEMS, hub.seq, h_ms(30000),
					      NULL, NULL) == 0,
		  "hall, owner and dept hold the items");
}

int ch_assertion(struct case_net *cn, const char *subject, unsigned level, const char *audience,
		 unsigned ttl_s, uint8_t **out, size_t *len)
{
	onestop_t *c = NULL;
	int rc = net_connect(cn->idp, 0, &c);

	*out = NULL;
	*len = 0;
	if (rc == 0)
		rc = onestop_assert_issue(c, subject, level, audience, ttl_s, out, len);
	if (rc != 0)
		fprintf(stderr, "  assertion for %s at level %u for %s: %d %s (%s)\n", subject,
			level, audience ? audience : "(any)", rc, os_errname(rc),
			onestop_last_error(c));
	onestop_close(&c);
	return rc;
}

int ch_assertion_file(struct case_net *cn, const char *subject, unsigned level,
		      const char *audience, char *path, size_t path_size)
{
	static unsigned serial;
	uint8_t *as = NULL;
	size_t len = 0;
	FILE *f;
	int rc = ch_assertion(cn, subject, level, audience, 0, &as, &len);

	if (rc != 0)
		return rc;
	snprintf(path, path_size, "%s/assertion-%u.hex", cn->n->dir, ++serial);
	f = fopen(path, "w");
	if (!f) {
		free(as);
		return ONESTOP_EINVAL;
	}
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", as[i]);
	fputc('\n', f);
	rc = fclose(f) == 0 ? 0 : ONESTOP_EINVAL;
	free(as);
	return rc;
}

static void why_set(char *why, size_t why_size, int rc, const onestop_t *c)
{
	if (why && why_size)
		snprintf(why, why_size, "%s", rc && c ? onestop_last_error(c) : "");
}

int ch_file(struct net_proc *p, const onestop_case_filing_t *f, uint8_t id[ONESTOP_ID_LEN],
	    char *why, size_t why_size)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(20000), &c);

	memset(id, 0, ONESTOP_ID_LEN);
	if (rc == 0)
		rc = onestop_case_file(c, f, id);
	why_set(why, why_size, rc, c);
	onestop_close(&c);
	return rc;
}

int ch_file_std(struct case_net *cn, struct net_proc *p, const char *item, const char *subject,
		const char *licence, const char *marker, int no_upload, uint8_t id[ONESTOP_ID_LEN],
		char *why, size_t why_size)
{
	onestop_case_ref_t refs[2];
	onestop_case_upload_t up;
	onestop_case_filing_t f;
	char form[256], doc[256];
	uint8_t *as = NULL;
	size_t as_len = 0;
	int rc;

	memset(id, 0, ONESTOP_ID_LEN);
	rc = ch_assertion(cn, subject, 2, p->name, 0, &as, &as_len);
	if (rc != 0) {
		if (why && why_size)
			snprintf(why, why_size, "no assertion (%d)", rc);
		return rc;
	}
	snprintf(form, sizeof form, "{\"applicant\":\"%s\",\"note\":\"%s\"}", subject,
		 marker ? marker : "");
	snprintf(doc, sizeof doc, "scanned application form of %s: %s", subject,
		 marker ? marker : "");
	memset(&f, 0, sizeof f);
	f.item = item;
	f.assertion = as;
	f.assertion_len = as_len;
	f.channel = ONESTOP_CHANNEL_HALL;
	refs[0] = (onestop_case_ref_t){"identity", subject, CH_MAT_ID};
	refs[1] = (onestop_case_ref_t){ONESTOP_DS_LICENCES, licence, CH_MAT_LIC};
	f.refs = refs;
	f.n_refs = licence ? 2 : 1;
	if (!no_upload) {
		up = (onestop_case_upload_t){CH_MAT_FORM, (const uint8_t *)doc, strlen(doc)};
		f.uploads = &up;
		f.n_uploads = 1;
		f.form = (const uint8_t *)form;
		f.form_len = strlen(form);
	}
	rc = ch_file(p, &f, id, why, why_size);
	free(as);
	return rc;
}

int ch_act(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], const onestop_case_act_t *a,
	   onestop_case_acted_t *out, char *why, size_t why_size)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(20000), &c);

	if (rc == 0)
		rc = onestop_case_act(c, id, a, out);
	why_set(why, why_size, rc, c);
	onestop_close(&c);
	return rc;
}

int ch_act_simple(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], int action, int outcome,
		  const char *reason, onestop_case_acted_t *out, char *why, size_t why_size)
{
	onestop_case_act_t a;

	memset(&a, 0, sizeof a);
	a.action = action;
	a.outcome = outcome;
	a.reason = reason;
	return ch_act(p, id, &a, out, why, why_size);
}

int ch_get(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], onestop_case_t **out)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(20000), &c);

	*out = NULL;
	if (rc == 0)
		rc = onestop_case_get(c, id, out);
	onestop_close(&c);
	return rc;
}

int ch_wait_state(struct net_proc *p, const uint8_t id[ONESTOP_ID_LEN], int state, uint64_t seq,
		  int timeout_ms, onestop_case_t **last)
{
	uint64_t end = h_now_ms() + (uint64_t)timeout_ms;
	onestop_case_t *cs = NULL;
	onestop_t *c = NULL;
	int rc = -1, got = 0;

	if (last)
		*last = NULL;
	for (;;) {
		if (!c && net_connect(p, h_ms(10000), &c) != 0)
			onestop_close(&c);
		onestop_case_free(&cs);
		got = c ? onestop_case_get(c, id, &cs) : ONESTOP_ECONN;
		if (got != 0 && got != ONESTOP_ENOTFOUND)
			onestop_close(&c); /* reconnect: the spoke may restart */
		if (got == 0 && cs->state == state && cs->seq >= seq && !cs->pending) {
			rc = 0;
			break;
		}
		if (h_now_ms() >= end)
			break;
		h_sleep_ms(20);
	}
	if (rc != 0)
		fprintf(stderr,
			"  case %s at %s: want state %s seq >= %llu; last: get %d%s%s state %s "
			"seq %llu pending %d\n",
			h_idhex(id), p->name, onestop_case_state_name(state),
			(unsigned long long)seq, got, got ? " " : "", got ? os_errname(got) : "",
			cs ? onestop_case_state_name(cs->state) : "-",
			cs ? (unsigned long long)cs->seq : 0ULL, cs ? cs->pending : 0);
	onestop_close(&c);
	if (last)
		*last = cs;
	else
		onestop_case_free(&cs);
	return rc;
}

static int str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

int ch_same_case(struct net_proc *a, struct net_proc *b, const uint8_t id[ONESTOP_ID_LEN],
		 char *why, size_t why_size)
{
	onestop_case_t *x = NULL, *y = NULL;
	int rc = -1, ra, rb;

	ra = ch_get(a, id, &x);
	rb = ch_get(b, id, &y);
#define DIFF(cond, ...)                                       \
	do {                                                  \
		if (cond) {                                   \
			snprintf(why, why_size, __VA_ARGS__); \
			goto out;                             \
		}                                             \
	} while (0)
	DIFF(ra != 0 || rb != 0, "get at %s: %d, at %s: %d", a->name, ra, b->name, rb);
	DIFF(x->state != y->state, "state %s at %s, %s at %s", onestop_case_state_name(x->state),
	     a->name, onestop_case_state_name(y->state), b->name);
	DIFF(x->outcome != y->outcome, "outcome %d != %d", x->outcome, y->outcome);
	DIFF(x->seq != y->seq, "seq %llu at %s, %llu at %s", (unsigned long long)x->seq, a->name,
	     (unsigned long long)y->seq, b->name);
	DIFF(!str_eq(x->licence, y->licence), "licence '%s' != '%s'", x->licence, y->licence);
	DIFF(!str_eq(x->item, y->item) || !str_eq(x->applicant, y->applicant) ||
		     !str_eq(x->filed_by, y->filed_by) || !str_eq(x->owner, y->owner),
	     "item, applicant, filed_by or owner differ");
	DIFF(x->n_history != y->n_history, "%zu steps at %s, %zu at %s", x->n_history, a->name,
	     y->n_history, b->name);
	for (size_t i = 0; i < x->n_history; i++) {
		const onestop_case_step_t *s = &x->history[i], *t = &y->history[i];

		DIFF(s->seq != t->seq || s->action != t->action || s->outcome != t->outcome ||
			     !str_eq(s->actor, t->actor),
		     "step %zu: seq %llu %s %s by %s at %s; seq %llu %s %s by %s at %s", i,
		     (unsigned long long)s->seq, onestop_case_action_name(s->action),
		     onestop_case_outcome_name(s->outcome), s->actor, a->name,
		     (unsigned long long)t->seq, onestop_case_action_name(t->action),
		     onestop_case_outcome_name(t->outcome), t->actor, b->name);
	}
#undef DIFF
	rc = 0;
	snprintf(why, why_size, "same");
out:
	onestop_case_free(&x);
	onestop_case_free(&y);
	return rc;
}

long ch_count_state(struct net_proc *p, int state, unsigned limit, uint8_t (*ids)[ONESTOP_ID_LEN],
		    size_t max)
{
	onestop_case_filter_t f;
	uint8_t next[ONESTOP_ID_LEN];
	onestop_t *c = NULL;
	long count = 0;
	int more = 1, rc = net_connect(p, h_ms(20000), &c);

	memset(&f, 0, sizeof f);
	f.by_state = 1;
	f.state = state;
	f.limit = limit;
	/* bounded: at most a million pages */
	for (long page = 0; rc == 0 && more && page < 1000000; page++) {
		onestop_case_t *cs = NULL;
		size_t n = 0;

		rc = onestop_case_list(c, &f, &cs, &n, next, &more);
		if (rc != 0) {
			fprintf(stderr, "  list %s at %s: %d %s (%s)\n",
				onestop_case_state_name(state), p->name, rc, os_errname(rc),
				onestop_last_error(c));
			break;
		}
		for (size_t i = 0; i < n; i++, count++) {
			if (cs[i].state != state)
				fprintf(stderr, "  list %s at %s gave case %s in state %s\n",
					onestop_case_state_name(state), p->name, h_idhex(cs[i].id),
					onestop_case_state_name(cs[i].state));
			if (ids && (size_t)count < max)
				memcpy(ids[count], cs[i].id, ONESTOP_ID_LEN);
		}
		onestop_cases_free(&cs, n);
		if (more && n == 0) {
			fprintf(stderr, "  list at %s: an empty page says more\n", p->name);
			rc = ONESTOP_EPROTO;
		}
		f.after_id = next;
	}
	onestop_close(&c);
	return rc ? rc : count;
}

int ch_cli(struct net *n, struct net_proc *p, struct cmd_out *res, const char *arg, ...)
{
	const char *argv[72];
	char prog[H_PATH + 32], logpath[H_PATH + 16];
	struct cmd_out local;
	size_t k = 0;
	va_list ap;
	FILE *f;
	int rc;

	snprintf(prog, sizeof prog, "%s/onestop", n->bin);
	argv[k++] = prog;
	va_start(ap, arg);
	for (const char *a = arg; a && k < 68; a = va_arg(ap, const char *))
		argv[k++] = a;
	va_end(ap);
	argv[k++] = "--api";
	argv[k++] = p->api;
	argv[k] = NULL;
	if (!res)
		res = &local;
	rc = cmd_run(argv, NULL, 0, h_ms(60000), res);
	snprintf(logpath, sizeof logpath, "%s/cli.log", n->dir);
	f = fopen(logpath, "a");
	if (f) {
		fputs("$ onestop", f);
		for (size_t i = 1; i < k; i++)
			fprintf(f, " %s", argv[i]);
		fprintf(f, "\n[exit %d]\n%.4000s%s", rc == 0 ? res->code : -1, res->out, res->err);
		fclose(f);
	}
	rc = rc == 0 ? res->code : -1;
	if (res == &local)
		cmd_out_free(&local);
	return rc;
}

int ch_put_licence(struct net_proc *p, const char *number, const char *item, const char *holder,
		   const char *issuer, uint64_t valid_from_ms, uint64_t valid_until_ms, int status)
{
	Onestop__LicenceValue v = ONESTOP__LICENCE_VALUE__INIT;
	onestop_put_t put;
	onestop_t *c = NULL;
	uint8_t *buf;
	size_t len;
	int rc;

	v.item = (char *)item;
	v.holder = (char *)holder;
	v.issuer = (char *)issuer;
	v.number = (char *)number;
	v.valid_from_ms = valid_from_ms;
	v.valid_until_ms = valid_until_ms;
	v.status = (Onestop__LicenceStatus)status;
	len = onestop__licence_value__get_packed_size(&v);
	buf = malloc(len ? len : 1);
	if (!buf)
		return ONESTOP_ENOMEM;
	onestop__licence_value__pack(&v, buf);
	put = (onestop_put_t){.dataset = ONESTOP_DS_LICENCES,
			      .key = number,
			      .value = buf,
			      .len = len};
	rc = net_connect(p, 0, &c);
	if (rc == 0)
		rc = onestop_put(c, &put, 1, NULL);
	if (rc != 0)
		fprintf(stderr, "  publish licence %s at %s: %d %s (%s)\n", number, p->name, rc,
			os_errname(rc), onestop_last_error(c));
	onestop_close(&c);
	free(buf);
	return rc;
}

int ch_wait_licence(struct net_proc *p, const char *number, int code, int timeout_ms)
{
	uint64_t end = h_now_ms() + (uint64_t)timeout_ms;
	onestop_licence_t lic;
	onestop_t *c = NULL;
	int rc = ONESTOP_ECONN;

	for (;;) {
		if (!c)
			net_connect(p, h_ms(10000), &c);
		rc = c ? onestop_licence_verify(c, number, NULL, &lic) : ONESTOP_ECONN;
		if (rc == code)
			break;
		if (h_now_ms() >= end) {
			fprintf(stderr, "  licence %s at %s: want %s, last %d %s (%s)\n", number,
				p->name, os_errname(code), rc, os_errname(rc),
				c ? onestop_last_error(c) : "");
			onestop_close(&c);
			return -1;
		}
		h_sleep_ms(50);
	}
	onestop_close(&c);
	return 0;
}

/* Decode a CaseMessage into m; 0 or -1. */
static int casemsg_decode(const uint8_t *buf, size_t len, struct ch_casemsg *m)
{
	Onestop__CaseMessage *cm = onestop__case_message__unpack(NULL, len, buf);
	const ProtobufCBinaryData *id = NULL;

	if (!cm)
		return -1;
	if (cm->filing)
		m->has_filing = 1;
	if (cm->transition) {
		m->action = (int)cm->transition->action;
		m->seq = cm->transition->seq;
		snprintf(m->actor, sizeof m->actor, "%s", cm->transition->actor);
		id = &cm->transition->case_id;
	}
	if (cm->refusal) {
		m->refusal_code = cm->refusal->code;
		m->seq = cm->refusal->seq;
		m->action = (int)cm->refusal->action;
		id = &cm->refusal->case_id;
	}
	if (!id && cm->filing)
		id = &cm->filing->id;
	int ok = id && id->len == ONESTOP_ID_LEN;

	if (ok)
		memcpy(m->case_id, id->data, ONESTOP_ID_LEN);
	onestop__case_message__free_unpacked(cm, NULL);
	return ok ? 0 : -1;
}

long ch_recv_cases(struct net_proc *p, onestop_t **c, int wait_ms, size_t max_msgs,
		   void (*cb)(const struct ch_casemsg *m, const uint8_t *payload, size_t len,
			      void *arg),
		   void *arg, long *other, long *bad)
{
	uint64_t end = h_now_ms() + (uint64_t)wait_ms;
	long count = 0;
	size_t seen = 0;

	if (!*c && net_connect(p, h_ms(20000), c) != 0)
		return -1;
	while (seen < max_msgs) {
		onestop_msg_t *m = NULL;
		size_t k = 0, want = max_msgs - seen > 1000 ? 1000 : max_msgs - seen;
		int64_t left = (int64_t)end - (int64_t)h_now_ms();
		uint64_t seqs[1000];
		int rc;

		if (left < 0)
			left = 0;
		rc = onestop_recv(*c, want, (int)(left > 200 ? 200 : left), &m, &k);
		if (rc != 0) {
			fprintf(stderr, "  recv at %s: %d %s\n", p->name, rc, os_errname(rc));
			onestop_close(c);
			return count ? count : -1;
		}
		for (size_t i = 0; i < k; i++) {
			struct ch_casemsg cm;

			seqs[i] = m[i].seq;
			if (strcmp(m[i].type, ONESTOP_CASE_TYPE) != 0) {
				if (other)
					(*other)++;
				continue;
			}
			memset(&cm, 0, sizeof cm);
			snprintf(cm.origin, sizeof cm.origin, "%s", m[i].origin);
			if (casemsg_decode(m[i].payload, m[i].len, &cm) != 0) {
				if (bad)
					(*bad)++;
				continue;
			}
			count++;
			if (cb)
				cb(&cm, m[i].payload, m[i].len, arg);
		}
		if (k && onestop_ack(*c, seqs, k) != 0)
			fprintf(stderr, "  ack at %s failed\n", p->name);
		onestop_msgs_free(&m, k);
		seen += k;
		if (h_now_ms() >= end)
			break;
	}
	return count;
}

const void *ch_find(const void *buf, size_t len, const char *text)
{
	const uint8_t *b = buf;
	size_t tl = strlen(text);

	if (!b || tl == 0 || len < tl)
		return NULL;
	for (size_t i = 0; i + tl <= len; i++)
		if (b[i] == (uint8_t)text[0] && memcmp(b + i, text, tl) == 0)
			return b + i;
	return NULL;
}

/* Whether the file at path holds text (read in chunks that overlap by the
 * text's length). */
static int file_has(const char *path, const char *text)
{
	size_t tl = strlen(text), cap = 1 << 20, have = 0;
	char *buf = malloc(cap + tl);
	int fd = open(path, O_RDONLY | O_CLOEXEC), found = 0;
	ssize_t r;

	if (!buf || fd < 0 || tl == 0)
		goto out;
	while ((r = read(fd, buf + have, cap + tl - have)) > 0) {
		have += (size_t)r;
		if (ch_find(buf, have, text)) {
			found = 1;
			break;
		}
		if (have >= tl) {
			memmove(buf, buf + have - (tl - 1), tl - 1);
			have = tl - 1;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return found;
}

static int grep_dir(const char *dir, const char *text, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int hits = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[1024];
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode) && depth < 8) {
			int h = grep_dir(path, text, depth + 1);

			hits += h > 0 ? h : 0;
		} else if (S_ISREG(st.st_mode) && file_has(path, text)) {
			fprintf(stderr, "  %s holds \"%s\"\n", path, text);
			hits++;
		}
	}
	closedir(d);
	return hits;
}

int ch_grep_tree(const char *dir, const char *path, const char *text)
{
	int hits = grep_dir(dir, text, 0);

	if (hits >= 0 && path && file_has(path, text)) {
		fprintf(stderr, "  %s holds \"%s\"\n", path, text);
		hits++;
	}
	return hits;
}

int ch_clock_set(const char *path, uint64_t ms)
{
	char tmp[H_PATH + 8], text[32];
	int fd, len, rc = -1;

	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	len = snprintf(text, sizeof text, "%llu\n", (unsigned long long)ms);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, (size_t)len) == len && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -1;
	return rc;
}
