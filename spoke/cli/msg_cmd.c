/* onestop send, recv and status: talk to the local spoke through
 * libonestop (onestop.h), as any integrator would. Also the connection and
 * error helpers every spoke-facing command shares (cli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "onestop.h"
#include "util.h"

#define MSG_PAYLOAD_MAX ((size_t)64 << 20)
#define MSG_DEFAULT_WAIT_MS 30000u
#define MSG_DEFAULT_COUNT 100u
#define MSG_MAX_WAIT_MS 3600000u /* the longest wait a spoke honours */

int cli_fail_api(const struct cli_cmd *cmd, const struct onestop *c, int code)
{
	const char *detail = onestop_last_error(c);
	if (detail[0] != '\0')
		return cli_fail(cmd, "%s: %s", onestop_strerror(code), detail);
	return cli_fail(cmd, "%s", onestop_strerror(code));
}

int cli_connect(const struct cli_cmd *cmd, const struct cli_args *a, onestop_t **c)
{
	const char *ep = cli_get(a, "api");
	if (ep == NULL || ep[0] == '\0')
		ep = getenv("ONESTOP_API");
	if (ep == NULL || ep[0] == '\0')
		ep = ONESTOP_DEFAULT_API;
	/* The library would wait the whole request timeout for a spoke that
	 * may yet start; a person at a prompt is better told at once. */
	if (strncmp(ep, "ipc://", 6) == 0 && access(ep + 6, F_OK) != 0)
		return cli_fail(cmd,
				"%s: no spoke listens at %s (%s: %s; is onestop-spoke running?)",
				onestop_strerror(ONESTOP_ECONN), ep, ep + 6, strerror(errno));
	int rc = onestop_connect(ep, 0, c);
	if (rc != 0)
		return cli_fail(cmd, "cannot use the API endpoint %s: %s", ep,
				onestop_strerror(rc));
	return CLI_OK;
}

int cli_flush(const struct cli_cmd *cmd)
{
	return fflush(stdout) == 0 ? CLI_OK : cli_fail(cmd, "cannot write to standard output");
}

static int msg_send(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	uint8_t *payload = NULL;
	size_t len = 0;
	uint64_t ttl = 0;
	uint8_t id[ONESTOP_ID_LEN];
	char hex[2 * ONESTOP_ID_LEN + 1];
	int rc;

	const char *to = cli_need(cmd, a, "to");
	const char *type = to ? cli_need(cmd, a, "type") : NULL;
	if (type == NULL)
		return CLI_USAGE;
	if (cli_has(a, "ttl") && cli_uint(cmd, "ttl", cli_get(a, "ttl"), 1, UINT32_MAX, &ttl) != 0)
		return CLI_USAGE;
	const char *file = cli_get(a, "file");
	if (cli_has(a, "file") && (file == NULL || file[0] == '\0'))
		return cli_usage(cmd, "--file needs a value");
	const char *key = cli_get(a, "key");
	if (cli_has(a, "key") && (key == NULL || key[0] == '\0' || strlen(key) > 128))
		return cli_usage(cmd, "--key needs a value of 1..128 bytes");

	errno = 0;
	rc = os_read_file(file ? file : "/dev/stdin", MSG_PAYLOAD_MAX, &payload, &len);
	if (rc == OS_ETOOBIG)
		return cli_fail(cmd, "the payload is larger than %zu MiB", MSG_PAYLOAD_MAX >> 20);
	if (rc != 0)
		return cli_fail(cmd, "cannot read %s: %s", file ? file : "standard input",
				rc == OS_EIO && errno != 0 ? strerror(errno) : os_strerror(rc));
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	onestop_out_t m = {.to = to,
			   .type = type,
			   .payload = payload,
			   .len = len,
			   .ttl_s = (uint32_t)ttl,
			   .key = key,
			   .key_len = key ? strlen(key) : 0};
	int err = onestop_send(c, &m, 1, &id);
	if (err != 0) {
		rc = cli_fail_api(cmd, c, err);
		goto out;
	}
	os_hex(hex, id, sizeof(id));
	printf("%s\n", hex);
	rc = fflush(stdout) == 0 ? CLI_OK : cli_fail(cmd, "cannot write to standard output");
out:
	onestop_close(&c);
	free(payload);
	return rc;
}

static void msg_print_deadletter(const onestop_msg_t *m, FILE *out)
{
	onestop_deadletter_t dl;
	char hex[2 * ONESTOP_ID_LEN + 1] = "-";

	if (out != stdout)
		fputs("onestop recv: ", out);
	if (onestop_deadletter(m, &dl) != 0) {
		fprintf(out, "deadletter undecodable size=%zu\n", m->len);
		return;
	}
	if (dl.has_id)
		os_hex(hex, dl.id, sizeof(dl.id));
	fprintf(out, "deadletter id=%s code=%s reason=", hex, os_errname(dl.code));
	cli_print_quoted(out, dl.reason);
	fprintf(out, " refused_by=%s to=%s type=%s\n", dl.refused_by, dl.to, dl.type);
}

static void msg_print(const onestop_msg_t *m, int quiet)
{
	int dead = strcmp(m->type, ONESTOP_DEADLETTER_TYPE) == 0;
	char hex[2 * ONESTOP_ID_LEN + 1], created[OS_ISO_TIME_MAX];

	if (quiet) {
		/* Only payloads on stdout; a dead letter is not one. */
		if (dead)
			msg_print_deadletter(m, stderr);
		else
			fwrite(m->payload, 1, m->len, stdout);
		return;
	}
	os_hex(hex, m->id, sizeof(m->id));
	os_iso_time(created, m->created_ms);
	printf("seq=%llu id=%s origin=%s to=%s type=%s created=%s size=%zu\n",
	       (unsigned long long)m->seq, hex, m->origin, m->to, m->type, created, m->len);
	if (dead) {
		msg_print_deadletter(m, stdout);
		return;
	}
	fwrite(m->payload, 1, m->len, stdout);
	putchar('\n');
}

/* One Recv of up to max messages, waiting up to wait_ms: print them, then
 * ack them. *got is how many came. */
static int msg_recv_once(const struct cli_cmd *cmd, onestop_t *c, size_t max, int wait_ms,
			 int quiet, int ack, size_t *got)
{
	onestop_msg_t *msgs = NULL;
	uint64_t *seqs = NULL;
	size_t n = 0;
	int rc, err;

	*got = 0;
	if ((err = onestop_recv(c, max, wait_ms, &msgs, &n)) != 0)
		return cli_fail_api(cmd, c, err);
	for (size_t i = 0; i < n; i++)
		msg_print(&msgs[i], quiet);
	/* Ack only what was surely written out. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		rc = cli_fail(cmd,
			      "cannot write to standard output; the messages stay in the inbox");
		goto out;
	}
	if (ack && n > 0) {
		seqs = calloc(n, sizeof(*seqs));
		if (seqs == NULL) {
			rc = cli_fail(cmd, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			seqs[i] = msgs[i].seq;
		if ((err = onestop_ack(c, seqs, n)) != 0) {
			rc = cli_fail_api(cmd, c, err);
			goto out;
		}
	}
	*got = n;
	rc = CLI_OK;
out:
	free(seqs);
	onestop_msgs_free(&msgs, n);
	return rc;
}

static int msg_recv(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	size_t got = 0, total = 0;
	uint64_t wait = 0, count = MSG_DEFAULT_COUNT;
	int rc;

	int waiting = cli_has(a, "wait");
	if (waiting) {
		const char *w = cli_get(a, "wait");
		wait = MSG_DEFAULT_WAIT_MS;
		if (w != NULL && cli_uint(cmd, "wait", w, 0, MSG_MAX_WAIT_MS, &wait) != 0)
			return CLI_USAGE;
		count = 1;
	}
	if (cli_has(a, "count") &&
	    cli_uint(cmd, "count", cli_get(a, "count"), 1, ONESTOP_MAX_BATCH, &count) != 0)
		return CLI_USAGE;
	int quiet = cli_has(a, "quiet");
	int ack = !cli_has(a, "no-ack");

	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	/* The spoke answers a waiting Recv as soon as one message is there;
	 * with --wait keep asking for the rest until --count came or the
	 * time is up. */
	uint64_t deadline_ms = os_mono_us() / 1000u + wait;
	do {
		uint64_t now_ms = os_mono_us() / 1000u;
		int left = waiting && now_ms < deadline_ms ? (int)(deadline_ms - now_ms) : 0;
		rc = msg_recv_once(cmd, c, (size_t)count - total, left, quiet, ack, &got);
		total += got;
	} while (rc == CLI_OK && waiting && got > 0 && total < count &&
		 os_mono_us() / 1000u < deadline_ms);
	if (rc == CLI_OK && waiting && total == 0)
		rc = CLI_NOMSG;
	onestop_close(&c);
	return rc;
}

static int msg_status(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_status_t st;
	char expires[OS_ISO_TIME_MAX];
	int rc, err;

	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((err = onestop_status(c, &st)) != 0) {
		rc = cli_fail_api(cmd, c, err);
		goto out;
	}
	if (st.registry_expires_ms != 0)
		os_iso_time(expires, st.registry_expires_ms);
	else
		strcpy(expires, "none");
	printf("node=%s\nhub_connected=%s\noutbox=%llu\ninbox=%llu\nregistry_version=%llu\n"
	       "registry_expires=%s\nsent=%llu\nreceived=%llu\n",
	       st.node, st.hub_connected ? "yes" : "no", (unsigned long long)st.outbox,
	       (unsigned long long)st.inbox, (unsigned long long)st.registry_version, expires,
	       (unsigned long long)st.sent, (unsigned long long)st.received);
	rc = fflush(stdout) == 0 ? CLI_OK : cli_fail(cmd, "cannot write to standard output");
out:
	onestop_close(&c);
	return rc;
}

static const struct cli_opt msg_send_opts[] = {
	{"to", CLI_ARG, 0},  {"type", CLI_ARG, 0}, {"file", CLI_ARG, 0}, {"ttl", CLI_ARG, 0},
	{"key", CLI_ARG, 0}, {"api", CLI_ARG, 0},  {NULL, CLI_NOARG, 0},
};
static const struct cli_opt msg_recv_opts[] = {
	{"wait", CLI_OPTARG, 0},  {"count", CLI_ARG, 0},   {"api", CLI_ARG, 0},
	{"no-ack", CLI_NOARG, 0}, {"quiet", CLI_NOARG, 0}, {NULL, CLI_NOARG, 0},
};
static const struct cli_opt msg_status_opts[] = {
	{"api", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};

const struct cli_cmd cli_send_cmd = {
	"send",
	"send a message through the local spoke",
	"Usage: onestop send --to NODE|@topic --type T [--file F] [--ttl S] [--key K] [--api EP]\n"
	"\n"
	"Send one message; the payload is the contents of F, or standard input\n"
	"(at most 64 MiB; the spoke's max_message_bytes applies). Prints the\n"
	"message id (32 hex) once the spoke has committed it to its outbox: from\n"
	"then on it is delivered, or comes back as a dead letter. With --key, a\n"
	"retry (e.g. after a timeout) of the same message under the same key\n"
	"within the spoke's send_key_window_s prints the original id and sends\n"
	"nothing new; the same key with another message fails (EEXIST).\n"
	"\n"
	"Options:\n"
	"  --to DEST         a node name (gd.sz.market) or a topic (@supervision) (required)\n"
	"  --type T          the message type, e.g. gov.Application (required)\n"
	"  --file F          read the payload from F instead of standard input\n"
	"  --ttl S           lifetime in seconds (default: the spoke's default_ttl_s)\n"
	"  --key K           idempotency key of this message (1..128 bytes)\n" CLI_API_HELP,
	msg_send_opts,
	msg_send,
	0,
};

const struct cli_cmd cli_recv_cmd = {
	"recv",
	"receive (and acknowledge) messages",
	"Usage: onestop recv [--wait [MS]] [--count N] [--no-ack] [--quiet] [--api EP]\n"
	"\n"
	"Receive messages from the spoke's inbox. For each one prints\n"
	"  seq=N id=HEX origin=O to=D type=T created=ISO-8601 size=N\n"
	"then the payload bytes and a newline. A dead letter (type\n"
	"onestop.DeadLetter: a message of ours that was refused or expired)\n"
	"prints, instead of its payload,\n"
	"  deadletter id=HEX code=NAME reason=\"...\" refused_by=N to=D type=T\n"
	"Then acknowledges them, deleting them from the inbox; messages not\n"
	"acknowledged are handed out again after 30 s.\n"
	"\n"
	"Options:\n"
	"  --wait [MS]       wait up to MS milliseconds (default 30000, at most 3600000)\n"
	"                    until N messages (--count) have come; without --wait,\n"
	"                    take what is there\n"
	"  --count N         receive at most N, 1..10000 (default 1 with --wait, else 100)\n"
	"  --no-ack          do not acknowledge: the messages come again later\n"
	"  --quiet           print only the payloads, byte for byte, nothing between\n"
	"                    them; dead letters go to standard error\n" CLI_API_HELP "\n"
	"Exit codes: 0 (also when there was no message without --wait), 1 error,\n"
	"2 usage, 3 --wait given and nothing arrived in time.\n",
	msg_recv_opts,
	msg_recv,
	0,
};

const struct cli_cmd cli_status_cmd = {
	"status",
	"show the local spoke's state",
	"Usage: onestop status [--api EP]\n"
	"\n"
	"Print the spoke's state as key=value lines:\n"
	"  node=NAME\n"
	"  hub_connected=yes|no\n"
	"  outbox=N            messages waiting for the hub\n"
	"  inbox=N             messages waiting for apps\n"
	"  registry_version=N\n"
	"  registry_expires=ISO-8601 UTC (none before a registry is loaded)\n"
	"  sent=N              messages accepted by send since the spoke started\n"
	"  received=N          messages received since the spoke started\n"
	"\n"
	"Options:\n" CLI_API_HELP,
	msg_status_opts,
	msg_status,
	0,
};
