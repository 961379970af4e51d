/* onestop apply, cases and case VERB: one-stop cases through the local
 * spoke (onestop.h "cases"): file an application, list and show the cases
 * this spoke is party to, and make their transitions. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "json.h"
#include "onestop.h"
#include "util.h"

#define CASE_ASSERTION_MAX 4096u             /* common/assertion.h */
#define CASE_ASSERTION_READ (4 * 4096u + 64) /* hex of it, and white space */
#define CASE_FILE_MAX ((size_t)64 << 20)     /* a form or an uploaded document */
#define CASE_KEY_MAX 128u
#define CASE_LICENCE_DAYS_MAX 36500u
#define CASE_HEX_LEN (2 * ONESTOP_ID_LEN)

/* ------------------------------------------------------------ shared */

int cli_fail_code(const struct cli_cmd *cmd, const struct onestop *c, int code)
{
	const char *detail = onestop_last_error(c);
	if (detail[0] != '\0')
		return cli_fail(cmd, "%s: %s: %s", os_errname(code), onestop_strerror(code),
				detail);
	return cli_fail(cmd, "%s: %s", os_errname(code), onestop_strerror(code));
}

void cli_json_str(FILE *out, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	fputc('"', out);
	while (n > 0) {
		uint32_t cp;
		size_t k = cli_utf8_next(s, n, &cp);
		if (k == 0) {
			/* Not UTF-8: the byte shows as U+FFFD. */
			fputs("\\ufffd", out);
			s++, n--;
			continue;
		}
		if (cp == '"' || cp == '\\')
			fprintf(out, "\\%c", (char)cp);
		else if (cp == '\n')
			fputs("\\n", out);
		else if (cp == '\t')
			fputs("\\t", out);
		else if (cp < 0x20 || cp == 0x7f)
			fprintf(out, "\\u%04x", (unsigned)cp);
		else
			fwrite(s, 1, k, out);
		s += k, n -= k;
	}
	fputc('"', out);
}

int cli_case_id(const struct cli_cmd *cmd, const char *hex, uint8_t id[ONESTOP_ID_LEN])
{
	if (hex == NULL || strlen(hex) != CASE_HEX_LEN || os_unhex(id, ONESTOP_ID_LEN, hex) != 0)
		return cli_usage(cmd, "a case id is %d hex digits", CASE_HEX_LEN);
	return CLI_OK;
}

/* An ISO time, or "-" for 0 (not yet). */
static const char *case_time(char out[OS_ISO_TIME_MAX], uint64_t ms)
{
	if (ms == 0)
		return strcpy(out, "-");
	return os_iso_time(out, ms);
}

/* ------------------------------------------------------------ materials */

/* The materials given on a command line (--material, --upload); the
 * strings point into argv and the documents are malloc'd. */
struct case_given {
	onestop_case_ref_t *refs;
	size_t n_refs;
	onestop_case_upload_t *ups;
	uint8_t **docs; /* ups[i].data, owned */
	size_t n_ups;
	char **vals; /* room for cli_all */
};

static void case_given_clear(struct case_given *g)
{
	for (size_t i = 0; i < g->n_ups; i++)
		free(g->docs[i]);
	free(g->refs);
	free(g->ups);
	free(g->docs);
	free(g->vals);
	memset(g, 0, sizeof(*g));
}

/* Read --material DATASET:KEY[=NAME] and --upload NAME=FILE into g. */
static int case_given_read(const struct cli_cmd *cmd, const struct cli_args *a,
			   struct case_given *g)
{
	memset(g, 0, sizeof(*g));
	g->vals = calloc(a->n + 1, sizeof(*g->vals));
	g->refs = calloc(a->n + 1, sizeof(*g->refs));
	g->ups = calloc(a->n + 1, sizeof(*g->ups));
	g->docs = calloc(a->n + 1, sizeof(*g->docs));
	if (g->vals == NULL || g->refs == NULL || g->ups == NULL || g->docs == NULL)
		return cli_fail(cmd, "out of memory");
	size_t n = cli_all(a, "material", g->vals);
	for (size_t i = 0; i < n; i++) {
		char *v = g->vals[i];
		char *colon = strchr(v, ':');
		if (colon == NULL || colon == v || colon[1] == '\0')
			return cli_usage(cmd, "--material takes DATASET:KEY[=NAME], not '%s'", v);
		*colon = '\0';
		char *key = colon + 1, *name = strrchr(key, '=');
		if (name != NULL) {
			if (name == key || name[1] == '\0')
				return cli_usage(cmd, "--material %s:%s: an empty key or name", v,
						 key);
			*name++ = '\0';
		}
		g->refs[g->n_refs++] = (onestop_case_ref_t){v, key, name};
	}
	n = cli_all(a, "upload", g->vals);
	for (size_t i = 0; i < n; i++) {
		char *v = g->vals[i];
		char *eq = strchr(v, '=');
		if (eq == NULL || eq == v || eq[1] == '\0')
			return cli_usage(cmd, "--upload takes NAME=FILE, not '%s'", v);
		*eq = '\0';
		uint8_t *doc = NULL;
		size_t len = 0;
		errno = 0;
		int rc = os_read_file(eq + 1, CASE_FILE_MAX, &doc, &len);
		if (rc != 0)
			return cli_fail(cmd, "cannot read %s: %s", eq + 1,
					rc == OS_EIO && errno != 0 ? strerror(errno)
								   : os_strerror(rc));
		g->docs[g->n_ups] = doc;
		g->ups[g->n_ups++] = (onestop_case_upload_t){v, doc, len};
	}
	return CLI_OK;
}

/* ------------------------------------------------------------ apply */

/* The assertion in file path ("-": standard input): its hex, as `onestop
 * assert issue` prints it, or the packed bytes themselves. */
int cli_read_assertion(const struct cli_cmd *cmd, const char *path, uint8_t **out, size_t *len)
{
	uint8_t *in = NULL;
	size_t n = 0;
	int rc;

	errno = 0;
	rc = os_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, CASE_ASSERTION_READ, &in,
			  &n);
	if (rc == OS_ETOOBIG)
		return cli_fail(cmd, "%s holds more than an assertion", path);
	if (rc != 0)
		return cli_fail(cmd, "cannot read %s: %s", path,
				rc == OS_EIO && errno != 0 ? strerror(errno) : os_strerror(rc));
	size_t lo = 0, hi = n;
	while (lo < hi && isspace(in[lo]))
		lo++;
	while (hi > lo && isspace(in[hi - 1]))
		hi--;
	int hex = hi > lo && (hi - lo) % 2 == 0;
	for (size_t i = lo; hex && i < hi; i++)
		hex = isxdigit(in[i]) != 0;
	if (hex) {
		size_t blen = (hi - lo) / 2;
		uint8_t *bin = malloc(blen);
		char *txt = malloc(hi - lo + 1);
		if (bin == NULL || txt == NULL) {
			free(bin);
			free(txt);
			free(in);
			return cli_fail(cmd, "out of memory");
		}
		memcpy(txt, in + lo, hi - lo);
		txt[hi - lo] = '\0';
		os_unhex(bin, blen, txt);
		free(txt);
		free(in);
		in = bin;
		n = blen;
	}
	if (n == 0 || n > CASE_ASSERTION_MAX) {
		free(in);
		return cli_usage(cmd, "%s is no assertion (hex or packed, at most %u bytes)", path,
				 CASE_ASSERTION_MAX);
	}
	*out = in;
	*len = n;
	return CLI_OK;
}

static int case_apply(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_case_t *cs = NULL;
	struct case_given g;
	uint8_t *assertion = NULL, *form = NULL;
	size_t assertion_len = 0, form_len = 0;
	uint8_t id[ONESTOP_ID_LEN];
	char hex[CASE_HEX_LEN + 1];
	int channel = ONESTOP_CHANNEL_WEB;
	int rc, code;

	memset(&g, 0, sizeof(g));
	const char *item = cli_need(cmd, a, "item");
	const char *apath = item ? cli_need(cmd, a, "assertion") : NULL;
	if (apath == NULL)
		return CLI_USAGE;
	const char *ch = cli_get(a, "channel");
	if (cli_has(a, "channel") && (ch == NULL || onestop_channel_parse(ch, &channel) != 0 ||
				      channel == ONESTOP_CHANNEL_NONE))
		return cli_usage(cmd, "--channel is web, mobile, hall or hotline");
	const char *key = cli_get(a, "key");
	if (cli_has(a, "key") && (key == NULL || key[0] == '\0' || strlen(key) > CASE_KEY_MAX))
		return cli_usage(cmd, "--key needs a value of 1..%u bytes", CASE_KEY_MAX);
	const char *fpath = cli_get(a, "form");
	if (cli_has(a, "form") && (fpath == NULL || fpath[0] == '\0'))
		return cli_usage(cmd, "--form needs a file");
	if ((rc = case_given_read(cmd, a, &g)) != CLI_OK)
		goto out;
	if ((rc = cli_read_assertion(cmd, apath, &assertion, &assertion_len)) != CLI_OK)
		goto out;
	if (fpath != NULL) {
		errno = 0;
		code = os_read_file(fpath, CASE_FILE_MAX, &form, &form_len);
		if (code != 0) {
			rc = cli_fail(cmd, "cannot read %s: %s", fpath,
				      code == OS_EIO && errno != 0 ? strerror(errno)
								   : os_strerror(code));
			goto out;
		}
	}
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	onestop_case_filing_t f = {
		.item = item,
		.assertion = assertion,
		.assertion_len = assertion_len,
		.channel = channel,
		.form = form,
		.form_len = form_len,
		.refs = g.refs,
		.n_refs = g.n_refs,
		.uploads = g.ups,
		.n_uploads = g.n_ups,
		.key = (const uint8_t *)key,
		.key_len = key ? strlen(key) : 0,
	};
	if ((code = onestop_case_file(c, &f, id)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	os_hex(hex, id, ONESTOP_ID_LEN);
	/* The owner is the case's; a failure to read it back does not undo
	 * the filing. */
	const char *owner = onestop_case_get(c, id, &cs) == 0 ? cs->owner : "";
	if (cli_has(a, "json")) {
		printf("{\"case\":\"%s\",\"owner\":", hex);
		cli_json_str(stdout, owner);
		printf("}\n");
	} else if (owner[0] != '\0') {
		printf("case %s filed, owner %s\n", hex, owner);
	} else {
		printf("case %s filed\n", hex);
	}
	rc = cli_flush(cmd);
out:
	onestop_case_free(&cs);
	free(form);
	free(assertion);
	case_given_clear(&g);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ cases */

static void case_line(const onestop_case_t *cs)
{
	char hex[CASE_HEX_LEN + 1], due[OS_ISO_TIME_MAX];

	os_hex(hex, cs->id, ONESTOP_ID_LEN);
	printf("%s item=%s state=%s owner=%s filed_by=%s due=%s overdue=%s\n", hex, cs->item,
	       onestop_case_state_name(cs->state), cs->owner, cs->filed_by,
	       case_time(due, cs->promised_due_ms), cs->overdue ? "yes" : "no");
}

/* The fields a listing and a full case share, as JSON members. */
static void case_json_head(const onestop_case_t *cs)
{
	char hex[CASE_HEX_LEN + 1];

	os_hex(hex, cs->id, ONESTOP_ID_LEN);
	printf("{\"case\":\"%s\",\"item\":", hex);
	cli_json_str(stdout, cs->item);
	printf(",\"applicant\":");
	cli_json_str(stdout, cs->applicant);
	printf(",\"channel\":\"%s\",\"filed_by\":", onestop_channel_name(cs->channel));
	cli_json_str(stdout, cs->filed_by);
	printf(",\"owner\":");
	cli_json_str(stdout, cs->owner);
	printf(",\"state\":\"%s\",\"outcome\":\"%s\",\"version\":%llu,\"filed_ms\":%llu,"
	       "\"accepted_ms\":%llu,\"promised_due_ms\":%llu,\"legal_due_ms\":%llu,"
	       "\"overdue\":%s,\"licence\":",
	       onestop_case_state_name(cs->state), onestop_case_outcome_name(cs->outcome),
	       (unsigned long long)cs->seq, (unsigned long long)cs->filed_ms,
	       (unsigned long long)cs->accepted_ms, (unsigned long long)cs->promised_due_ms,
	       (unsigned long long)cs->legal_due_ms, cs->overdue ? "true" : "false");
	cli_json_str(stdout, cs->licence);
	printf(",\"pending\":");
	if (cs->pending != 0)
		printf("\"%s\"", onestop_case_action_name(cs->pending));
	else
		printf("null");
}

static int case_list(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_case_t *cases = NULL;
	size_t n = 0;
	uint8_t after[ONESTOP_ID_LEN], next[ONESTOP_ID_LEN];
	uint64_t limit = 0;
	int more = 0, rc, code;
	onestop_case_filter_t f;

	memset(&f, 0, sizeof(f));
	if (cli_has(a, "state") + cli_has(a, "item") + cli_has(a, "overdue") != 1)
		return cli_usage(cmd, "choose the cases: one of --state S, --item CODE, --overdue");
	if (cli_has(a, "state")) {
		const char *s = cli_get(a, "state");
		if (s == NULL || onestop_case_state_parse(s, &f.state) != 0)
			return cli_usage(cmd,
					 "--state is one of new, filed, accepted, rejected, "
					 "more_needed, resubmitted, decided, closed, withdrawn");
		f.by_state = 1;
	}
	if (cli_has(a, "item") && (f.item = cli_need(cmd, a, "item")) == NULL)
		return CLI_USAGE;
	f.overdue = cli_has(a, "overdue");
	if (cli_has(a, "after")) {
		if (cli_case_id(cmd, cli_get(a, "after"), after) != CLI_OK)
			return CLI_USAGE;
		f.after_id = after;
	}
	if (cli_has(a, "limit") &&
	    cli_uint(cmd, "limit", cli_get(a, "limit"), 1, ONESTOP_MAX_BATCH, &limit) != 0)
		return CLI_USAGE;
	f.limit = (unsigned)limit;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((code = onestop_case_list(c, &f, &cases, &n, next, &more)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	char nhex[CASE_HEX_LEN + 1];
	os_hex(nhex, next, ONESTOP_ID_LEN);
	if (cli_has(a, "json")) {
		printf("{\"cases\":[");
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				putchar(',');
			case_json_head(&cases[i]);
			putchar('}');
		}
		printf("],\"next\":");
		if (more)
			printf("\"%s\"", nhex);
		else
			printf("null");
		printf("}\n");
	} else {
		for (size_t i = 0; i < n; i++)
			case_line(&cases[i]);
		if (more)
			printf("next: %s\n", nhex);
	}
	rc = cli_flush(cmd);
out:
	onestop_cases_free(&cases, n);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ case show */

static int case_printable(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k = cli_utf8_next((const char *)p + i, n - i, &cp);
		if (k == 0 || (cp < 0x20 && cp != '\n' && cp != '\t' && cp != '\r') || cp == 0x7f)
			return 0;
		i += k;
	}
	return 1;
}

static void case_show_text(const onestop_case_t *cs)
{
	char hex[CASE_HEX_LEN + 1], t1[OS_ISO_TIME_MAX], t2[OS_ISO_TIME_MAX], t3[OS_ISO_TIME_MAX],
		t4[OS_ISO_TIME_MAX];

	os_hex(hex, cs->id, ONESTOP_ID_LEN);
	printf("case=%s item=%s applicant=%s channel=%s filed_by=%s owner=%s\n", hex, cs->item,
	       cs->applicant, onestop_channel_name(cs->channel), cs->filed_by, cs->owner);
	printf("state=%s outcome=%s version=%llu pending=%s overdue=%s licence=%s\n",
	       onestop_case_state_name(cs->state), onestop_case_outcome_name(cs->outcome),
	       (unsigned long long)cs->seq,
	       cs->pending ? onestop_case_action_name(cs->pending) : "-",
	       cs->overdue ? "yes" : "no", cs->licence[0] ? cs->licence : "-");
	printf("filed=%s accepted=%s promised_due=%s legal_due=%s\n", case_time(t1, cs->filed_ms),
	       case_time(t2, cs->accepted_ms), case_time(t3, cs->promised_due_ms),
	       case_time(t4, cs->legal_due_ms));
	printf("history:\n");
	for (size_t i = 0; i < cs->n_history; i++) {
		const onestop_case_step_t *h = &cs->history[i];
		printf("  %llu %s %s %s", (unsigned long long)h->seq, case_time(t1, h->at_ms),
		       h->actor, onestop_case_action_name(h->action));
		if (h->outcome != ONESTOP_OUTCOME_NONE)
			printf(" outcome=%s", onestop_case_outcome_name(h->outcome));
		if (h->reason[0] != '\0') {
			printf(" reason=");
			cli_print_quoted(stdout, h->reason);
		}
		if (h->n_missing > 0) {
			printf(" missing=");
			for (size_t j = 0; j < h->n_missing; j++)
				printf("%s%s", j ? "," : "", h->missing[j]);
		}
		if (h->licence[0] != '\0')
			printf(" licence=%s", h->licence);
		putchar('\n');
	}
	for (size_t i = 0; i < cs->n_refs; i++) {
		const onestop_case_ref_t *r = &cs->refs[i];
		printf("ref %s:%s", r->dataset, r->key);
		if (r->name[0] != '\0')
			printf(" name=%s", r->name);
		putchar('\n');
	}
	if (cs->form_len > 0) {
		if (case_printable(cs->form, cs->form_len)) {
			printf("form:\n%.*s", (int)cs->form_len, (const char *)cs->form);
			if (cs->form[cs->form_len - 1] != '\n')
				putchar('\n');
		} else {
			printf("form: %zu bytes\n", cs->form_len);
		}
	}
	for (size_t i = 0; i < cs->n_uploads; i++)
		printf("upload %s %zu bytes\n", cs->uploads[i].name, cs->uploads[i].len);
}

static void case_show_json(const onestop_case_t *cs)
{
	case_json_head(cs);
	printf(",\"history\":[");
	for (size_t i = 0; i < cs->n_history; i++) {
		const onestop_case_step_t *h = &cs->history[i];
		printf("%s{\"seq\":%llu,\"at_ms\":%llu,\"actor\":", i ? "," : "",
		       (unsigned long long)h->seq, (unsigned long long)h->at_ms);
		cli_json_str(stdout, h->actor);
		printf(",\"action\":\"%s\",\"outcome\":\"%s\",\"reason\":",
		       onestop_case_action_name(h->action), onestop_case_outcome_name(h->outcome));
		cli_json_str(stdout, h->reason);
		printf(",\"missing\":[");
		for (size_t j = 0; j < h->n_missing; j++) {
			if (j > 0)
				putchar(',');
			cli_json_str(stdout, h->missing[j]);
		}
		printf("],\"licence\":");
		cli_json_str(stdout, h->licence);
		putchar('}');
	}
	printf("],\"refs\":[");
	for (size_t i = 0; i < cs->n_refs; i++) {
		printf("%s{\"dataset\":", i ? "," : "");
		cli_json_str(stdout, cs->refs[i].dataset);
		printf(",\"key\":");
		cli_json_str(stdout, cs->refs[i].key);
		printf(",\"name\":");
		cli_json_str(stdout, cs->refs[i].name);
		putchar('}');
	}
	printf("],\"form_len\":%zu", cs->form_len);
	if (cs->form_len > 0 && case_printable(cs->form, cs->form_len)) {
		char *txt = malloc(cs->form_len + 1);
		if (txt != NULL) {
			memcpy(txt, cs->form, cs->form_len);
			txt[cs->form_len] = '\0';
			/* A form with a NUL inside shows up to it. */
			printf(",\"form\":");
			cli_json_str(stdout, txt);
			free(txt);
		}
	}
	printf(",\"uploads\":[");
	for (size_t i = 0; i < cs->n_uploads; i++) {
		printf("%s{\"name\":", i ? "," : "");
		cli_json_str(stdout, cs->uploads[i].name);
		printf(",\"size\":%zu}", cs->uploads[i].len);
	}
	printf("]}\n");
}

static int case_show(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_case_t *cs = NULL;
	uint8_t id[ONESTOP_ID_LEN];
	int rc, code;

	if (a->n_words != 1)
		return cli_usage(cmd, "takes a case ID");
	if (cli_case_id(cmd, a->words[0], id) != CLI_OK)
		return CLI_USAGE;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((code = onestop_case_get(c, id, &cs)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	if (cli_has(a, "json"))
		case_show_json(cs);
	else
		case_show_text(cs);
	rc = cli_flush(cmd);
out:
	onestop_case_free(&cs);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ transitions */

/* case VERB ID ...: the action is the command's: accept, reject, need,
 * resubmit, decide, close, withdraw. */
static int case_act(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	struct case_given g;
	char **missing = NULL;
	uint8_t id[ONESTOP_ID_LEN];
	char hex[CASE_HEX_LEN + 1];
	uint64_t days = 0;
	onestop_case_act_t act;
	onestop_case_acted_t done;
	int rc, code;

	memset(&g, 0, sizeof(g));
	memset(&act, 0, sizeof(act));
	const char *verb = cmd->name + strlen("case ");
	if (strcmp(verb, "need") == 0)
		act.action = ONESTOP_ACT_NEED_MORE;
	else if (onestop_case_action_parse(verb, &act.action) != 0)
		return cli_fail(cmd, "no such action");
	if (a->n_words != 1)
		return cli_usage(cmd, "takes a case ID");
	if (cli_case_id(cmd, a->words[0], id) != CLI_OK)
		return CLI_USAGE;
	act.reason = cli_get(a, "reason");
	if (cli_has(a, "reason") && (act.reason == NULL || act.reason[0] == '\0'))
		return cli_usage(cmd, "--reason needs a text");
	if (act.action == ONESTOP_ACT_REJECT && act.reason == NULL)
		return cli_usage(cmd, "--reason is required");
	if (act.action == ONESTOP_ACT_NEED_MORE) {
		if ((missing = calloc(a->n + 1, sizeof(*missing))) == NULL)
			return cli_fail(cmd, "out of memory");
		act.n_missing = cli_all(a, "missing", missing);
		act.missing = (const char *const *)missing;
		if (act.n_missing == 0) {
			rc = cli_usage(cmd, "name what is missing: --missing NAME");
			goto out;
		}
	}
	if (act.action == ONESTOP_ACT_DECIDE) {
		if (cli_has(a, "approve") == cli_has(a, "deny")) {
			rc = cli_usage(cmd, "decide takes --approve or --deny");
			goto out;
		}
		act.outcome = cli_has(a, "approve") ? ONESTOP_APPROVED : ONESTOP_DENIED;
		if (cli_has(a, "licence-days")) {
			if (act.outcome != ONESTOP_APPROVED) {
				rc = cli_usage(cmd, "--licence-days goes with --approve");
				goto out;
			}
			if (cli_uint(cmd, "licence-days", cli_get(a, "licence-days"), 0,
				     CASE_LICENCE_DAYS_MAX, &days) != 0) {
				rc = CLI_USAGE;
				goto out;
			}
			act.licence_days = (unsigned)days;
		}
	}
	if (act.action == ONESTOP_ACT_RESUBMIT) {
		if ((rc = case_given_read(cmd, a, &g)) != CLI_OK)
			goto out;
		if (g.n_refs + g.n_ups == 0) {
			rc = cli_usage(cmd, "give what was missing: --material or --upload");
			goto out;
		}
		act.refs = g.refs;
		act.n_refs = g.n_refs;
		act.uploads = g.ups;
		act.n_uploads = g.n_ups;
	}
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	if ((code = onestop_case_act(c, id, &act, &done)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	os_hex(hex, id, ONESTOP_ID_LEN);
	const char *name = onestop_case_action_name(act.action);
	if (cli_has(a, "json")) {
		printf("{\"case\":\"%s\",\"action\":\"%s\",\"version\":%llu,\"pending\":%s,"
		       "\"licence\":",
		       hex, name, (unsigned long long)done.seq, done.pending ? "true" : "false");
		cli_json_str(stdout, done.licence);
		printf("}\n");
	} else {
		if (done.pending)
			printf("case %s: %s sent to the owner (pending, version %llu)\n", hex, name,
			       (unsigned long long)done.seq);
		else
			printf("case %s: %s applied (version %llu)\n", hex, name,
			       (unsigned long long)done.seq);
		if (done.licence[0] != '\0')
			printf("licence %s\n", done.licence);
	}
	rc = cli_flush(cmd);
out:
	free(missing);
	case_given_clear(&g);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ tables */

#define CASE_COMMON_OPTS             \
	{"api", CLI_ARG, 0},         \
	{                            \
		"json", CLI_NOARG, 0 \
	}
#define CASE_JSON_HELP "  --json            print one JSON object\n"

static const struct cli_opt case_apply_opts[] = {
	{"item", CLI_ARG, 0},     {"assertion", CLI_ARG, 0}, {"channel", CLI_ARG, 0},
	{"material", CLI_ARG, 1}, {"upload", CLI_ARG, 1},    {"form", CLI_ARG, 0},
	{"key", CLI_ARG, 0},      CASE_COMMON_OPTS,          {NULL, CLI_NOARG, 0},
};
static const struct cli_opt case_list_opts[] = {
	{"state", CLI_ARG, 0}, {"item", CLI_ARG, 0},  {"overdue", CLI_NOARG, 0},
	{"after", CLI_ARG, 0}, {"limit", CLI_ARG, 0}, CASE_COMMON_OPTS,
	{NULL, CLI_NOARG, 0},
};
static const struct cli_opt case_plain_opts[] = {CASE_COMMON_OPTS, {NULL, CLI_NOARG, 0}};
static const struct cli_opt case_reason_opts[] = {{"reason", CLI_ARG, 0},
						  CASE_COMMON_OPTS,
						  {NULL, CLI_NOARG, 0}};
static const struct cli_opt case_need_opts[] = {{"missing", CLI_ARG, 1},
						{"reason", CLI_ARG, 0},
						CASE_COMMON_OPTS,
						{NULL, CLI_NOARG, 0}};
static const struct cli_opt case_resubmit_opts[] = {{"material", CLI_ARG, 1},
						    {"upload", CLI_ARG, 1},
						    CASE_COMMON_OPTS,
						    {NULL, CLI_NOARG, 0}};
static const struct cli_opt case_decide_opts[] = {
	{"approve", CLI_NOARG, 0},    {"deny", CLI_NOARG, 0}, {"reason", CLI_ARG, 0},
	{"licence-days", CLI_ARG, 0}, CASE_COMMON_OPTS,       {NULL, CLI_NOARG, 0},
};

#define CASE_MATERIAL_HELP                                                                 \
	"  --material DATASET:KEY[=NAME]\n"                                                \
	"                    a material by reference to shared data, e.g.\n"               \
	"                    licences:LIC-...; NAME (after the last '=') is the item's\n"  \
	"                    material it stands for (default: the one of that dataset);\n" \
	"                    may be repeated\n"                                            \
	"  --upload NAME=FILE  the document FILE as material NAME, sealed to the\n"        \
	"                    owning node by the spoke; may be repeated\n"

const struct cli_cmd cli_apply_cmd = {
	"apply",
	"file a one-stop case (an application for an item)",
	"Usage: onestop apply --item CODE --assertion FILE [--channel C]\n"
	"                     [--material DATASET:KEY[=NAME] ...] [--upload NAME=FILE ...]\n"
	"                     [--form FILE] [--key TEXT] [--json] [--api EP]\n"
	"\n"
	"File a case for item CODE at the local spoke, for the applicant of the\n"
	"assertion (which the filing spends: it is single use). The spoke runs the\n"
	"filing checks (item, online, assertion, level, materials, references,\n"
	"licences), stores the case and sends it to the item's owner, also while\n"
	"the hub is away. Prints\n"
	"  case ID filed, owner NODE\n"
	"where ID is the case's 32 hex digits. A reference to a cached dataset (a\n"
	"licence) is fetched through the hub first if the spoke lacks it.\n"
	"\n"
	"Options:\n"
	"  --item CODE       the national item code (a key of dataset items; required)\n"
	"  --assertion FILE  the applicant's assertion: its hex as 'onestop assert\n"
	"                    issue' prints it, or the packed bytes; '-' reads standard\n"
	"                    input (required)\n"
	"  --channel C       web, mobile, hall or hotline (default web)\n" CASE_MATERIAL_HELP
	"  --form FILE       the form data, in the item's own schema; only the owner\n"
	"                    can read it\n"
	"  --key TEXT        idempotency key (1..128 bytes): a retry with it files\n"
	"                    nothing new and prints the same case\n" CASE_JSON_HELP
	"                    {\"case\":ID,\"owner\":NODE}\n" CLI_API_HELP,
	case_apply_opts,
	case_apply,
	0,
};

const struct cli_cmd cli_cases_cmd = {
	"cases",
	"list the cases this spoke is party to",
	"Usage: onestop cases (--state S | --item CODE | --overdue) [--after ID]\n"
	"                     [--limit N] [--json] [--api EP]\n"
	"\n"
	"List the cases the local spoke holds, filed here or owned here, chosen by\n"
	"exactly one of --state, --item and --overdue. One line per case:\n"
	"  ID item=CODE state=S owner=NODE filed_by=NODE due=ISO|- overdue=yes|no\n"
	"where due is the promised due date (set at acceptance). When more follow,\n"
	"a last line 'next: ID' gives the --after of the next page.\n"
	"\n"
	"Options:\n"
	"  --state S         new, filed, accepted, rejected, more_needed, resubmitted,\n"
	"                    decided, closed or withdrawn\n"
	"  --item CODE       the cases of one item\n"
	"  --overdue         open cases past their promised due date, by due date\n"
	"  --after ID        start after case ID (paging)\n"
	"  --limit N         at most N cases, 1..10000 (default 100)\n" CASE_JSON_HELP CLI_API_HELP,
	case_list_opts,
	case_list,
	0,
};

static const struct cli_cmd case_show_cmd = {
	"case show",
	"show a case, its due dates and its history",
	"Usage: onestop case show ID [--json] [--api EP]\n"
	"\n"
	"Show case ID as the local spoke holds it: item, applicant, channel, filing\n"
	"and owning nodes, state, outcome, version, the step waiting for the owner\n"
	"(pending), due dates and whether it is overdue, the licence an approval\n"
	"issued; then its history, one line per step (version, time, actor, action,\n"
	"outcome, reason, missing materials, licence), its references and, at the\n"
	"owning spoke only, its form (as text when printable) and uploads.\n"
	"\n"
	"Options:\n" CASE_JSON_HELP CLI_API_HELP,
	case_plain_opts,
	case_show,
	1,
};

#define CASE_ACT_TAIL                                                                 \
	"\n"                                                                          \
	"Prints 'case ID: ACTION applied (version N)', or for a step of the filing\n" \
	"node 'case ID: ACTION sent to the owner (pending, version N)': it applies\n" \
	"when the owner has applied it.\n"                                            \
	"\n"                                                                          \
	"Options:\n"

static const struct cli_cmd case_accept_cmd = {
	"case accept",
	"accept a filed case (owner): its due dates start",
	"Usage: onestop case accept ID [--json] [--api EP]\n"
	"\n"
	"At the owning node's spoke: take case ID in as complete; its promised and\n"
	"legal due dates run from now on the spoke's working-day calendar.\n" CASE_ACT_TAIL
		CASE_JSON_HELP CLI_API_HELP,
	case_plain_opts,
	case_act,
	1,
};

static const struct cli_cmd case_reject_cmd = {
	"case reject",
	"reject a case (owner; final)",
	"Usage: onestop case reject ID --reason TEXT [--json] [--api EP]\n"
	"\n"
	"At the owning node's spoke: refuse case ID, saying why.\n" CASE_ACT_TAIL
	"  --reason TEXT     why (required)\n" CASE_JSON_HELP CLI_API_HELP,
	case_reason_opts,
	case_act,
	1,
};

static const struct cli_cmd case_need_cmd = {
	"case need",
	"ask for missing materials (owner)",
	"Usage: onestop case need ID --missing NAME [--missing NAME ...] [--reason TEXT]\n"
	"                         [--json] [--api EP]\n"
	"\n"
	"At the owning node's spoke: ask the applicant of case ID for the materials\n"
	"named (all of them at once: a case may ask at most 16 times).\n" CASE_ACT_TAIL
	"  --missing NAME    a missing material of the item (required; repeated)\n"
	"  --reason TEXT     a note for the applicant\n" CASE_JSON_HELP CLI_API_HELP,
	case_need_opts,
	case_act,
	1,
};

static const struct cli_cmd case_resubmit_cmd = {
	"case resubmit",
	"give the materials asked for (filing node)",
	"Usage: onestop case resubmit ID [--material DATASET:KEY[=NAME] ...]\n"
	"                             [--upload NAME=FILE ...] [--json] [--api EP]\n"
	"\n"
	"At the spoke where case ID was filed: send the owner the materials it\n"
	"asked for (at least one).\n" CASE_ACT_TAIL CASE_MATERIAL_HELP CASE_JSON_HELP CLI_API_HELP,
	case_resubmit_opts,
	case_act,
	1,
};

static const struct cli_cmd case_decide_cmd = {
	"case decide",
	"approve or deny an accepted case (owner)",
	"Usage: onestop case decide ID (--approve | --deny) [--reason TEXT]\n"
	"                           [--licence-days N] [--json] [--api EP]\n"
	"\n"
	"At the owning node's spoke: decide case ID. Approving an item of kind\n"
	"licence, permit or certificate issues an e-licence in dataset licences,\n"
	"printed as a last line 'licence NUMBER'.\n" CASE_ACT_TAIL
	"  --approve, --deny the outcome (one of them required)\n"
	"  --reason TEXT     why\n"
	"  --licence-days N  with --approve: the licence is valid N days (default:\n"
	"                    no end)\n" CASE_JSON_HELP CLI_API_HELP,
	case_decide_opts,
	case_act,
	1,
};

static const struct cli_cmd case_close_cmd = {
	"case close",
	"close a decided case (owner; final)",
	"Usage: onestop case close ID [--json] [--api EP]\n"
	"\n"
	"At the owning node's spoke: the decided case ID is done.\n" CASE_ACT_TAIL CASE_JSON_HELP
		CLI_API_HELP,
	case_plain_opts,
	case_act,
	1,
};

static const struct cli_cmd case_withdraw_cmd = {
	"case withdraw",
	"withdraw a case before its decision (filing node; final)",
	"Usage: onestop case withdraw ID [--reason TEXT] [--json] [--api EP]\n"
	"\n"
	"At the spoke where case ID was filed, for its applicant: withdraw it.\n" CASE_ACT_TAIL
	"  --reason TEXT     why\n" CASE_JSON_HELP CLI_API_HELP,
	case_reason_opts,
	case_act,
	1,
};

const struct cli_cmd *const cli_case_cmds[] = {
	&case_show_cmd,   &case_accept_cmd, &case_reject_cmd,   &case_need_cmd, &case_resubmit_cmd,
	&case_decide_cmd, &case_close_cmd,  &case_withdraw_cmd, NULL,
};

const char cli_case_help[] =
	"Usage: onestop case VERB ID [OPTIONS]\n"
	"\n"
	"One-stop cases at the local spoke: show one, and make its transitions.\n"
	"The owning node accepts, rejects, asks for more, decides and closes; the\n"
	"filing node resubmits and withdraws.\n"
	"\n"
	"Verbs:\n"
	"  show       show a case and its history\n"
	"  accept     accept a filed case (owner)\n"
	"  reject     reject a case (owner)\n"
	"  need       ask for missing materials (owner)\n"
	"  resubmit   give the materials asked for (filing node)\n"
	"  decide     approve or deny (owner)\n"
	"  close      close a decided case (owner)\n"
	"  withdraw   withdraw a case (filing node)\n"
	"\n"
	"See 'onestop case VERB --help'; 'onestop apply' files a case and\n"
	"'onestop cases' lists them.\n";
