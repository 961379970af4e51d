/* onestop complain, ask, complaints and complaint VERB: complaints and
 * consultations through the local spoke (onestop.h "complaints"): file
 * them, list and show those this spoke is party to, and make their steps. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "complaint.h"
#include "err.h"
#include "json.h"
#include "onestop.h"
#include "util.h"

#define CP_TEXT_MAX 4000u /* a complaint's text, an answer */
#define CP_KEY_MAX 128u
#define CP_HEX_LEN (2 * ONESTOP_ID_LEN)
#define CP_PAGE 1000u /* complaints asked for per page */

/* ------------------------------------------------------------ shared */

static int cp_id(const struct cli_cmd *cmd, const char *hex, uint8_t id[ONESTOP_ID_LEN])
{
	if (hex == NULL || strlen(hex) != CP_HEX_LEN || os_unhex(id, ONESTOP_ID_LEN, hex) != 0)
		return cli_usage(cmd, "a complaint id is %d hex digits", CP_HEX_LEN);
	return CLI_OK;
}

/* An ISO time, or "-" for 0 (none). */
static const char *cp_time(char out[OS_ISO_TIME_MAX], uint64_t ms)
{
	if (ms == 0)
		return strcpy(out, "-");
	return os_iso_time(out, ms);
}

/* The text of --text T or --text-file F (exactly one), 1..4000 bytes,
 * into *out (malloc'd, *len bytes). CLI_OK, CLI_USAGE or CLI_ERR (an
 * unreadable file) after saying why. */
static int cp_read_text(const struct cli_cmd *cmd, const struct cli_args *a, uint8_t **out,
			size_t *len)
{
	*out = NULL;
	*len = 0;
	if (cli_has(a, "text") == cli_has(a, "text-file"))
		return cli_usage(cmd, "give the text: one of --text T and --text-file F");
	if (cli_has(a, "text")) {
		const char *t = cli_get(a, "text");
		size_t n = t != NULL ? strlen(t) : 0;
		if (n == 0 || n > CP_TEXT_MAX)
			return cli_usage(cmd, "--text is 1..%u bytes, not %zu", CP_TEXT_MAX, n);
		if ((*out = malloc(n)) == NULL)
			return cli_fail(cmd, "out of memory");
		memcpy(*out, t, n);
		*len = n;
		return CLI_OK;
	}
	const char *path = cli_get(a, "text-file");
	if (path == NULL || path[0] == '\0')
		return cli_usage(cmd, "--text-file needs a file");
	errno = 0;
	int rc = os_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, CP_TEXT_MAX, out, len);
	if (rc == OS_ETOOBIG)
		return cli_usage(cmd, "%s holds more than %u bytes", path, CP_TEXT_MAX);
	if (rc != 0)
		return cli_fail(cmd, "cannot read %s: %s", path,
				rc == OS_EIO && errno != 0 ? strerror(errno) : os_strerror(rc));
	if (*len == 0) {
		free(*out);
		*out = NULL;
		return cli_usage(cmd, "%s is empty", path);
	}
	return CLI_OK;
}

/* Print n bytes as a JSON string (up to a NUL inside); null when absent. */
static void cp_json_bytes(const uint8_t *p, size_t n)
{
	char *txt = p != NULL && n > 0 ? malloc(n + 1) : NULL;
	if (txt == NULL) {
		printf("null");
		return;
	}
	memcpy(txt, p, n);
	txt[n] = '\0';
	cli_json_str(stdout, txt);
	free(txt);
}

/* Print n bytes as one quoted token of one line. */
static void cp_quoted_bytes(const uint8_t *p, size_t n)
{
	char *txt = malloc(n + 1);
	if (txt == NULL) {
		printf("(%zu bytes)", n);
		return;
	}
	memcpy(txt, p, n);
	txt[n] = '\0';
	cli_print_quoted(stdout, txt);
	free(txt);
}

/* ------------------------------------------------------------ complain, ask */

/* complain and ask: the kind is the command's. */
static int cp_file(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	uint8_t *text = NULL, *assertion = NULL;
	size_t text_len = 0, assertion_len = 0;
	uint8_t id[ONESTOP_ID_LEN];
	char hex[CP_HEX_LEN + 1], handler[64], about[DS_KEY_MAX + 8];
	int consult = strcmp(cmd->name, "ask") == 0;
	int channel = ONESTOP_CHANNEL_WEB;
	struct complaint_about ab;
	int rc, code;

	if (consult) {
		const char *item = cli_need(cmd, a, "item");
		if (item == NULL)
			return CLI_USAGE;
		if (snprintf(about, sizeof(about), "item:%s", item) >= (int)sizeof(about) ||
		    complaint_about_parse(about, &ab) != 0)
			return cli_usage(cmd, "--item '%s' is no item code", item);
		if (cli_has(a, "anonymous") == cli_has(a, "assertion"))
			return cli_usage(cmd, "give --assertion F or --anonymous (one)");
	} else {
		const char *ab_s = cli_need(cmd, a, "about");
		if (ab_s == NULL)
			return CLI_USAGE;
		if (strlen(ab_s) >= sizeof(about) || complaint_about_parse(ab_s, &ab) != 0)
			return cli_usage(cmd,
					 "--about is case:ID (32 hex), item:CODE or node:NAME, "
					 "not '%s'",
					 ab_s);
		strcpy(about, ab_s);
		if (!cli_has(a, "assertion"))
			return cli_usage(cmd, "--assertion is required");
	}
	const char *ch = cli_get(a, "channel");
	if (cli_has(a, "channel") && (ch == NULL || onestop_channel_parse(ch, &channel) != 0 ||
				      channel == ONESTOP_CHANNEL_NONE))
		return cli_usage(cmd, "--channel is web, mobile, hall or hotline");
	const char *key = cli_get(a, "key");
	if (cli_has(a, "key") && (key == NULL || key[0] == '\0' || strlen(key) > CP_KEY_MAX))
		return cli_usage(cmd, "--key needs a value of 1..%u bytes", CP_KEY_MAX);
	if ((rc = cp_read_text(cmd, a, &text, &text_len)) != CLI_OK)
		goto out;
	const char *apath = cli_get(a, "assertion");
	if (cli_has(a, "assertion")) {
		if (apath == NULL || apath[0] == '\0') {
			rc = cli_usage(cmd, "--assertion needs a file");
			goto out;
		}
		if ((rc = cli_read_assertion(cmd, apath, &assertion, &assertion_len)) != CLI_OK)
			goto out;
	}
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	onestop_complaint_filing_t f = {
		.kind = consult ? ONESTOP_CONSULTATION : ONESTOP_COMPLAINT,
		.about = about,
		.text = text,
		.text_len = text_len,
		.assertion = assertion,
		.assertion_len = assertion_len,
		.channel = channel,
		.key = (const uint8_t *)key,
		.key_len = key ? strlen(key) : 0,
	};
	if ((code = onestop_complaint_file(c, &f, id, handler)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	os_hex(hex, id, ONESTOP_ID_LEN);
	const char *kind = onestop_complaint_kind_name(f.kind);
	if (cli_has(a, "json")) {
		printf("{\"%s\":\"%s\",\"handler\":", kind, hex);
		cli_json_str(stdout, handler);
		printf("}\n");
	} else if (handler[0] != '\0') {
		printf("%s %s filed, handler %s\n", kind, hex, handler);
	} else {
		printf("%s %s filed\n", kind, hex);
	}
	rc = cli_flush(cmd);
out:
	free(text);
	free(assertion);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ complaints */

static void cp_line(const onestop_complaint_t *cp)
{
	char hex[CP_HEX_LEN + 1], due[OS_ISO_TIME_MAX];

	os_hex(hex, cp->id, ONESTOP_ID_LEN);
	printf("%s kind=%s about=%s state=%s handler=%s filed_by=%s assignee=%s due=%s "
	       "overdue=%s\n",
	       hex, onestop_complaint_kind_name(cp->kind), cp->about,
	       onestop_complaint_state_name(cp->state), cp->handler, cp->filed_by,
	       cp->assignee[0] ? cp->assignee : "-", cp_time(due, cp->due_ms),
	       cp->overdue ? "yes" : "no");
}

/* The fields a listing and a full complaint share, as JSON members. */
static void cp_json_head(const onestop_complaint_t *cp)
{
	char hex[CP_HEX_LEN + 1];

	os_hex(hex, cp->id, ONESTOP_ID_LEN);
	printf("{\"complaint\":\"%s\",\"kind\":\"%s\",\"about\":", hex,
	       onestop_complaint_kind_name(cp->kind));
	cli_json_str(stdout, cp->about);
	printf(",\"filed_by\":");
	cli_json_str(stdout, cp->filed_by);
	printf(",\"handler\":");
	cli_json_str(stdout, cp->handler);
	printf(",\"region\":");
	cli_json_str(stdout, cp->region);
	printf(",\"assignee\":");
	cli_json_str(stdout, cp->assignee);
	printf(",\"state\":\"%s\",\"version\":%llu,\"filed_ms\":%llu,\"due_ms\":%llu,"
	       "\"overdue\":%s,\"reopened\":%u,\"channel\":\"%s\",\"anonymous\":%s,\"pending\":",
	       onestop_complaint_state_name(cp->state), (unsigned long long)cp->seq,
	       (unsigned long long)cp->filed_ms, (unsigned long long)cp->due_ms,
	       cp->overdue ? "true" : "false", cp->reopened, onestop_channel_name(cp->channel),
	       cp->anonymous ? "true" : "false");
	if (cp->pending != 0)
		printf("\"%s\"", onestop_complaint_action_name(cp->pending));
	else
		printf("null");
}

static int cp_list(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_complaint_t *cps = NULL;
	size_t n = 0;
	uint8_t next[ONESTOP_ID_LEN];
	uint64_t limit = 0, shown = 0;
	int more = 0, json = cli_has(a, "json"), rc, code;
	onestop_complaint_filter_t f;

	memset(&f, 0, sizeof(f));
	if (cli_has(a, "state") && cli_has(a, "overdue"))
		return cli_usage(cmd, "choose --state S or --overdue, not both");
	if (cli_has(a, "state")) {
		const char *s = cli_get(a, "state");
		if (s == NULL || onestop_complaint_state_parse(s, &f.state) != 0)
			return cli_usage(cmd, "--state is one of received, assigned, answered, "
					      "closed, reopened");
		f.by_state = 1;
	}
	f.overdue = cli_has(a, "overdue");
	if (cli_has(a, "limit") &&
	    cli_uint(cmd, "limit", cli_get(a, "limit"), 1, UINT32_MAX, &limit) != 0)
		return CLI_USAGE;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	/* Every page, until none follows or --limit is reached. */
	do {
		uint64_t want = limit ? limit - shown : CP_PAGE;
		f.limit = want < CP_PAGE ? (unsigned)want : CP_PAGE;
		if ((code = onestop_complaint_list(c, &f, &cps, &n, next, &more)) != 0) {
			rc = cli_fail_code(cmd, c, code);
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			if (json) {
				cp_json_head(&cps[i]);
				printf("}\n");
			} else {
				cp_line(&cps[i]);
			}
		}
		shown += n;
		onestop_complaints_free(&cps, n);
		f.after_id = next;
		if (ferror(stdout))
			break;
	} while (more && n > 0 && (limit == 0 || shown < limit));
	rc = cli_flush(cmd);
out:
	onestop_complaints_free(&cps, n);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ complaint show */

static void cp_show_text(const onestop_complaint_t *cp)
{
	char hex[CP_HEX_LEN + 1], t1[OS_ISO_TIME_MAX], t2[OS_ISO_TIME_MAX];

	os_hex(hex, cp->id, ONESTOP_ID_LEN);
	printf("complaint=%s kind=%s about=%s channel=%s anonymous=%s\n", hex,
	       onestop_complaint_kind_name(cp->kind), cp->about, onestop_channel_name(cp->channel),
	       cp->anonymous ? "yes" : "no");
	printf("filed_by=%s handler=%s region=%s assignee=%s\n", cp->filed_by, cp->handler,
	       cp->region[0] ? cp->region : "-", cp->assignee[0] ? cp->assignee : "-");
	printf("state=%s version=%llu pending=%s reopened=%u overdue=%s\n",
	       onestop_complaint_state_name(cp->state), (unsigned long long)cp->seq,
	       cp->pending ? onestop_complaint_action_name(cp->pending) : "-", cp->reopened,
	       cp->overdue ? "yes" : "no");
	printf("filed=%s due=%s\n", cp_time(t1, cp->filed_ms), cp_time(t2, cp->due_ms));
	if (cp->text_len > 0) {
		printf("text=");
		cp_quoted_bytes(cp->text, cp->text_len);
		putchar('\n');
	}
	printf("history:\n");
	for (size_t i = 0; i < cp->n_history; i++) {
		const onestop_complaint_step_t *h = &cp->history[i];
		printf("  %llu %s %s %s", (unsigned long long)h->seq, cp_time(t1, h->at_ms),
		       h->actor, onestop_complaint_action_name(h->action));
		if (h->assignee[0] != '\0')
			printf(" assignee=%s", h->assignee);
		if (h->reason[0] != '\0') {
			printf(" reason=");
			cli_print_quoted(stdout, h->reason);
		}
		if (h->answer_len > 0) {
			printf(" answer=");
			cp_quoted_bytes(h->answer, h->answer_len);
		}
		putchar('\n');
	}
}

static void cp_show_json(const onestop_complaint_t *cp)
{
	cp_json_head(cp);
	printf(",\"text\":");
	cp_json_bytes(cp->text, cp->text_len);
	printf(",\"history\":[");
	for (size_t i = 0; i < cp->n_history; i++) {
		const onestop_complaint_step_t *h = &cp->history[i];
		printf("%s{\"seq\":%llu,\"at_ms\":%llu,\"actor\":", i ? "," : "",
		       (unsigned long long)h->seq, (unsigned long long)h->at_ms);
		cli_json_str(stdout, h->actor);
		printf(",\"action\":\"%s\",\"assignee\":",
		       onestop_complaint_action_name(h->action));
		cli_json_str(stdout, h->assignee);
		printf(",\"reason\":");
		cli_json_str(stdout, h->reason);
		printf(",\"answer\":");
		cp_json_bytes(h->answer, h->answer_len);
		putchar('}');
	}
	printf("]}\n");
}

static int cp_show(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_complaint_t *cp = NULL;
	uint8_t id[ONESTOP_ID_LEN];
	int rc, code;

	if (a->n_words != 1)
		return cli_usage(cmd, "takes a complaint ID");
	if (cp_id(cmd, a->words[0], id) != CLI_OK)
		return CLI_USAGE;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((code = onestop_complaint_get(c, id, &cp)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	if (cli_has(a, "json"))
		cp_show_json(cp);
	else
		cp_show_text(cp);
	rc = cli_flush(cmd);
out:
	onestop_complaint_free(&cp);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ steps */

/* complaint VERB ID ...: the action is the command's: assign, answer,
 * close, reopen. */
static int cp_act(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	uint8_t *answer = NULL;
	size_t answer_len = 0;
	uint8_t id[ONESTOP_ID_LEN];
	char hex[CP_HEX_LEN + 1];
	const char *to = NULL;
	uint64_t seq = 0;
	int action, pending = 0, rc, code;

	if (onestop_complaint_action_parse(cmd->name + strlen("complaint "), &action) != 0)
		return cli_fail(cmd, "no such action");
	if (a->n_words != 1)
		return cli_usage(cmd, "takes a complaint ID");
	if (cp_id(cmd, a->words[0], id) != CLI_OK)
		return CLI_USAGE;
	const char *reason = cli_get(a, "reason");
	if (cli_has(a, "reason") &&
	    (reason == NULL || reason[0] == '\0' || strlen(reason) > CP_TEXT_MAX))
		return cli_usage(cmd, "--reason needs a text of 1..%u bytes", CP_TEXT_MAX);
	if (action == ONESTOP_CP_ASSIGN) {
		if ((to = cli_need(cmd, a, "to")) == NULL)
			return CLI_USAGE;
		if (os_name_valid(to) != 0)
			return cli_usage(cmd, "--to '%s' is no node name", to);
	}
	if (action == ONESTOP_CP_ANSWER &&
	    (rc = cp_read_text(cmd, a, &answer, &answer_len)) != CLI_OK)
		return rc;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	code = onestop_complaint_act(c, id, action, to, answer, answer_len, reason, &seq, &pending);
	if (code != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	os_hex(hex, id, ONESTOP_ID_LEN);
	const char *name = onestop_complaint_action_name(action);
	if (cli_has(a, "json"))
		printf("{\"complaint\":\"%s\",\"action\":\"%s\",\"version\":%llu,\"pending\":%s}\n",
		       hex, name, (unsigned long long)seq, pending ? "true" : "false");
	else if (pending)
		printf("complaint %s: %s sent to the handler (pending, version %llu)\n", hex, name,
		       (unsigned long long)seq);
	else
		printf("complaint %s: %s applied (version %llu)\n", hex, name,
		       (unsigned long long)seq);
	rc = cli_flush(cmd);
out:
	free(answer);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ tables */

#define CP_COMMON_OPTS               \
	{"api", CLI_ARG, 0},         \
	{                            \
		"json", CLI_NOARG, 0 \
	}
#define CP_END                     \
	{                          \
		NULL, CLI_NOARG, 0 \
	}
#define CP_JSON_HELP "  --json            print one JSON object\n"
#define CP_TEXT_HELP(what)                                                      \
	"  --text T          " what ", 1..4000 bytes\n"                         \
	"  --text-file F     the same from file F ('-': standard input); one\n" \
	"                    of --text and --text-file is required\n"

static const struct cli_opt cp_complain_opts[] = {
	{"about", CLI_ARG, 0},
	{"text", CLI_ARG, 0},
	{"text-file", CLI_ARG, 0},
	{"assertion", CLI_ARG, 0},
	{"channel", CLI_ARG, 0},
	{"key", CLI_ARG, 0},
	CP_COMMON_OPTS,
	CP_END,
};
static const struct cli_opt cp_ask_opts[] = {
	{"item", CLI_ARG, 0},
	{"text", CLI_ARG, 0},
	{"text-file", CLI_ARG, 0},
	{"assertion", CLI_ARG, 0},
	{"anonymous", CLI_NOARG, 0},
	{"channel", CLI_ARG, 0},
	{"key", CLI_ARG, 0},
	CP_COMMON_OPTS,
	CP_END,
};
static const struct cli_opt cp_list_opts[] = {
	{"state", CLI_ARG, 0},
	{"overdue", CLI_NOARG, 0},
	{"limit", CLI_ARG, 0},
	CP_COMMON_OPTS,
	CP_END,
};
static const struct cli_opt cp_plain_opts[] = {CP_COMMON_OPTS, CP_END};
static const struct cli_opt cp_assign_opts[] = {{"to", CLI_ARG, 0},
						{"reason", CLI_ARG, 0},
						CP_COMMON_OPTS,
						CP_END};
static const struct cli_opt cp_answer_opts[] = {{"text", CLI_ARG, 0},
						{"text-file", CLI_ARG, 0},
						{"reason", CLI_ARG, 0},
						CP_COMMON_OPTS,
						CP_END};
static const struct cli_opt cp_reason_opts[] = {{"reason", CLI_ARG, 0}, CP_COMMON_OPTS, CP_END};

#define CP_FILE_TAIL                                                                    \
	"  --channel C       web, mobile, hall or hotline (default web)\n"              \
	"  --key TEXT        idempotency key (1..128 bytes): a retry with it files\n"   \
	"                    nothing new and prints the same id\n" CP_JSON_HELP         \
	"                    {\"KIND\":ID,\"handler\":NODE}\n" CLI_API_HELP "\n"        \
	"Exit codes: 0 filed, 1 refused or failed (the code, e.g. ENOTFOUND, and the\n" \
	"reason on stderr), 2 usage error (a malformed option).\n"

const struct cli_cmd cli_complain_cmd = {
	"complain",
	"file a complaint about a case, an item or a node",
	"Usage: onestop complain --about case:ID|item:CODE|node:NAME\n"
	"                        (--text T | --text-file F) --assertion F\n"
	"                        [--channel C] [--key TEXT] [--json] [--api EP]\n"
	"\n"
	"File a complaint at the local spoke, for the subject of the assertion\n"
	"(which the filing spends: it is single use). It goes to the supervisor\n"
	"of the region concerned (the case's owner's, the item's owner's, the\n"
	"node's), which assigns it, answers it or has the assignee answer; the\n"
	"answer comes back here. The text is sealed to the handler by the spoke.\n"
	"Prints\n"
	"  complaint ID filed, handler NODE\n"
	"where ID is the complaint's 32 hex digits.\n"
	"\n"
	"Options:\n"
	"  --about WHAT      case:ID (the case's 32 hex digits), item:CODE or\n"
	"                    node:NAME (required)\n" CP_TEXT_HELP(
		"the complaint") "  --assertion F     the filer's assertion: its hex as 'onestop assert\n"
				 "                    issue' prints it, or the packed bytes; '-' reads\n"
				 "                    standard input (required)\n" CP_FILE_TAIL,
	cp_complain_opts,
	cp_file,
	0,
};

const struct cli_cmd cli_ask_cmd = {
	"ask",
	"ask the owner of an item a question (a consultation)",
	"Usage: onestop ask --item CODE (--text T | --text-file F)\n"
	"                   (--assertion F | --anonymous) [--channel C]\n"
	"                   [--key TEXT] [--json] [--api EP]\n"
	"\n"
	"File a consultation at the local spoke: a question about item CODE for\n"
	"the item's owning node, which answers it (or assigns it). It is tracked\n"
	"like a complaint ('onestop complaint show ID'). Prints\n"
	"  consultation ID filed, handler NODE\n"
	"\n"
	"Options:\n"
	"  --item CODE       the national item code (required)\n" CP_TEXT_HELP(
		"the question") "  --assertion F     the asker's assertion (spent), as for complain\n"
				"  --anonymous       ask without an assertion (one of the two is required)\n" CP_FILE_TAIL,
	cp_ask_opts,
	cp_file,
	0,
};

const struct cli_cmd cli_complaints_cmd = {
	"complaints",
	"list the complaints and consultations this spoke is party to",
	"Usage: onestop complaints [--state S | --overdue] [--limit N] [--json]\n"
	"                          [--api EP]\n"
	"\n"
	"List the complaints and consultations the local spoke holds (filed here,\n"
	"handled here or assigned here), all of them page by page. One line each:\n"
	"  ID kind=K about=WHAT state=S handler=NODE filed_by=NODE assignee=NODE|-\n"
	"     due=ISO|- overdue=yes|no\n"
	"where due is the response deadline while an answer is awaited.\n"
	"\n"
	"Options:\n"
	"  --state S         received, assigned, answered, closed or reopened\n"
	"  --overdue         those awaiting an answer past their deadline, by deadline\n"
	"  --limit N         at most N (default: all)\n"
	"  --json            one JSON object per line (the fields of 'complaint show\n"
	"                    --json' without text and history)\n" CLI_API_HELP,
	cp_list_opts,
	cp_list,
	0,
};

static const struct cli_cmd cp_show_cmd = {
	"complaint show",
	"show a complaint or consultation and its history",
	"Usage: onestop complaint show ID [--json] [--api EP]\n"
	"\n"
	"Show complaint ID as the local spoke holds it: kind, what it is about,\n"
	"channel, the filing, handling and assigned nodes, state, version, the\n"
	"step of this node waiting for the handler (pending), times reopened,\n"
	"the response deadline and whether it is overdue; the text at the\n"
	"handler and the assignee; then its history, one line per step (version,\n"
	"time, actor, action, assignee, reason, and at the filing node the\n"
	"answer).\n"
	"\n"
	"Options:\n" CP_JSON_HELP
	"                    {\"complaint\":ID,...,\"state\":S,\"text\":T|null,\n"
	"                    \"history\":[{\"seq\",\"at_ms\",\"actor\",\"action\",\n"
	"                    \"assignee\",\"reason\",\"answer\":T|null}]}\n" CLI_API_HELP,
	cp_plain_opts,
	cp_show,
	1,
};

#define CP_ACT_TAIL                                                                   \
	"\n"                                                                          \
	"Prints 'complaint ID: ACTION applied (version N)', or for another party's\n" \
	"step 'complaint ID: ACTION sent to the handler (pending, version N)': it\n"  \
	"applies when the handler has applied it. A step the state does not allow\n"  \
	"is refused with ESTATE, one of a node that may not make it ENOTALLOWED\n"    \
	"(exit 1).\n"                                                                 \
	"\n"                                                                          \
	"Options:\n"

static const struct cli_cmd cp_assign_cmd = {
	"complaint assign",
	"assign a complaint to a node (handler)",
	"Usage: onestop complaint assign ID --to NODE [--reason TEXT] [--json] [--api EP]\n"
	"\n"
	"At the handler's spoke: have NODE (the department concerned) answer\n"
	"complaint ID.\n" CP_ACT_TAIL "  --to NODE         the node assigned (required)\n"
	"  --reason TEXT     a note\n" CP_JSON_HELP CLI_API_HELP,
	cp_assign_opts,
	cp_act,
	1,
};

static const struct cli_cmd cp_answer_cmd = {
	"complaint answer",
	"answer a complaint (handler or assignee)",
	"Usage: onestop complaint answer ID (--text T | --text-file F) [--reason TEXT]\n"
	"                                [--json] [--api EP]\n"
	"\n"
	"At the handler's spoke, or the assignee's while assigned: answer\n"
	"complaint ID. The answer is sealed to the filing node.\n" CP_ACT_TAIL CP_TEXT_HELP(
		"the answer") "  --reason TEXT     a note\n" CP_JSON_HELP CLI_API_HELP,
	cp_answer_opts,
	cp_act,
	1,
};

static const struct cli_cmd cp_close_cmd = {
	"complaint close",
	"close an answered complaint (handler or filer; final)",
	"Usage: onestop complaint close ID [--reason TEXT] [--json] [--api EP]\n"
	"\n"
	"At the handler's or the filing node's spoke: complaint ID, answered, is\n"
	"done.\n" CP_ACT_TAIL "  --reason TEXT     why\n" CP_JSON_HELP CLI_API_HELP,
	cp_reason_opts,
	cp_act,
	1,
};

static const struct cli_cmd cp_reopen_cmd = {
	"complaint reopen",
	"reopen an answered complaint (filer; once)",
	"Usage: onestop complaint reopen ID [--reason TEXT] [--json] [--api EP]\n"
	"\n"
	"At the filing node's spoke: the answer to complaint ID does not settle\n"
	"it; it awaits another answer, with a new deadline. Once only: a second\n"
	"reopen is refused with ESTATE.\n" CP_ACT_TAIL
	"  --reason TEXT     why\n" CP_JSON_HELP CLI_API_HELP,
	cp_reason_opts,
	cp_act,
	1,
};

const struct cli_cmd *const cli_complaint_cmds[] = {
	&cp_show_cmd, &cp_assign_cmd, &cp_answer_cmd, &cp_close_cmd, &cp_reopen_cmd, NULL,
};

const char cli_complaint_help[] =
	"Usage: onestop complaint VERB ID [OPTIONS]\n"
	"\n"
	"Complaints and consultations at the local spoke: show one, and make its\n"
	"steps. The handler (the region's supervisor for a complaint, the item's\n"
	"owner for a consultation) assigns; it or the assignee answers; the\n"
	"handler or the filing node closes; the filing node reopens once.\n"
	"\n"
	"Verbs:\n"
	"  show       show a complaint and its history\n"
	"  assign     assign it to a node (handler)\n"
	"  answer     answer it (handler or assignee)\n"
	"  close      close it once answered (handler or filer)\n"
	"  reopen     reopen it once answered (filer, once)\n"
	"\n"
	"See 'onestop complaint VERB --help'; 'onestop complain' and 'onestop ask'\n"
	"file them and 'onestop complaints' lists them.\n";
