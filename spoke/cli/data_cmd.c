/* onestop get, put, items and datasets: the replicated datasets through
 * the local spoke (onestop.h "datasets"). Values of "identity" and "items"
 * are read and printed as JSON (json.c); other datasets' values are bytes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "err.h"
#include "json.h"
#include "onestop.h"
#include "util.h"

#define DATA_VALUE_MAX ((size_t)64 << 10) /* a value's bound (common/dataset.h) */
#define DATA_JSON_MAX ((size_t)1 << 20)   /* JSON text of one value */
#define DATA_JSONL_MAX ((size_t)4 << 30)  /* a --jsonl file */
#define DATA_PUT_BATCH 1000u              /* changes per Put request */
#define DATA_PAGE 1000u                   /* items per List with --all */
#define DATA_DEFAULT_LIMIT 100u
#define DATA_MAX_WAIT_MS 60000u
#define DATA_ERR 256
#define DATA_RETRY_MIN_MS 50u     /* --jsonl: first pause on a full outbox */
#define DATA_RETRY_PAUSE_MS 2000u /* longest pause */
#define DATA_RETRY_MAX_MS 60000u  /* give a batch up after this much waiting */

/* An id as 32 hex on a line of its own. */
static void data_print_id(const uint8_t id[ONESTOP_ID_LEN])
{
	char hex[2 * ONESTOP_ID_LEN + 1];
	os_hex(hex, id, ONESTOP_ID_LEN);
	printf("%s\n", hex);
}

/* ------------------------------------------------------------ get */

static int data_get(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_entry_t *e = NULL;
	char *text = NULL;
	char err[DATA_ERR], updated[OS_ISO_TIME_MAX];
	uint64_t wait = 0;
	int rc, code;

	if (a->n_words != 2)
		return cli_usage(cmd, "takes a DATASET and a KEY");
	const char *ds = a->words[0], *key = a->words[1];
	if (cli_has(a, "wait") &&
	    cli_uint(cmd, "wait", cli_get(a, "wait"), 0, DATA_MAX_WAIT_MS, &wait) != 0)
		return CLI_USAGE;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((code = onestop_get(c, ds, key, (int)wait, &e)) != 0) {
		rc = cli_fail_api(cmd, c, code);
		goto out;
	}
	if (cli_has(a, "raw")) {
		if (e->len > 0 && fwrite(e->value, 1, e->len, stdout) != e->len) {
			rc = cli_fail(cmd, "cannot write to standard output");
			goto out;
		}
		rc = cli_flush(cmd);
		goto out;
	}
	/* Decode before printing anything, so a bad value prints no header. */
	if (cli_json_known(ds) &&
	    cli_json_format(ds, e->value, e->len, &text, err, sizeof(err)) != 0) {
		rc = cli_fail(cmd, "%s %s: %s", ds, key, err[0] ? err : "out of memory");
		goto out;
	}
	os_iso_time(updated, e->updated_ms);
	printf("key=%s publisher=%s seq=%llu updated=%s\n", e->key, e->publisher,
	       (unsigned long long)e->seq, updated);
	if (text != NULL) {
		printf("%s\n", text);
	} else {
		for (size_t i = 0; i < e->len; i++)
			printf("%02x", e->value[i]);
		putchar('\n');
	}
	rc = cli_flush(cmd);
out:
	free(text);
	onestop_entry_free(&e);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ put */

/* The value of one put from --json, --file or standard input: JSON for a
 * dataset with a JSON form, the bytes themselves for any other. */
static int data_put_value(const struct cli_cmd *cmd, const struct cli_args *a, const char *ds,
			  uint8_t **value, size_t *len)
{
	struct cli_json_change ch;
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	char err[DATA_ERR];
	int rc;

	const char *json = cli_get(a, "json");
	const char *file = cli_get(a, "file");
	int known = cli_json_known(ds);
	if (json != NULL) {
		raw_len = strlen(json);
		if (!known) {
			/* Other datasets take the bytes given, unchanged. */
			if ((raw = malloc(raw_len ? raw_len : 1)) == NULL)
				return cli_fail(cmd, "out of memory");
			memcpy(raw, json, raw_len);
			*value = raw;
			*len = raw_len;
			return CLI_OK;
		}
		raw = (uint8_t *)strdup(json);
		if (raw == NULL)
			return cli_fail(cmd, "out of memory");
	} else {
		size_t max = known ? DATA_JSON_MAX : DATA_VALUE_MAX;
		errno = 0;
		rc = os_read_file(file ? file : "/dev/stdin", max, &raw, &raw_len);
		if (rc == OS_ETOOBIG)
			return cli_fail(cmd, "the value is larger than %zu KiB", max >> 10);
		if (rc != 0)
			return cli_fail(cmd, "cannot read %s: %s", file ? file : "standard input",
					rc == OS_EIO && errno != 0 ? strerror(errno)
								   : os_strerror(rc));
		if (!known) {
			*value = raw;
			*len = raw_len;
			return CLI_OK;
		}
	}
	rc = cli_json_parse(ds, (const char *)raw, raw_len, 0, &ch, err, sizeof(err));
	free(raw);
	if (rc == OS_ENOMEM)
		return cli_fail(cmd, "out of memory");
	if (rc != 0)
		return cli_fail(cmd, "%s: %s",
				json   ? "--json"
				: file ? file
				       : "standard input",
				err);
	*value = ch.value;
	*len = ch.len;
	return CLI_OK;
}

static int data_put_one(const struct cli_cmd *cmd, const struct cli_args *a, const char *ds,
			const char *key)
{
	onestop_t *c = NULL;
	uint8_t *value = NULL;
	size_t len = 0;
	uint8_t id[ONESTOP_ID_LEN];
	int rc, code;

	int del = cli_has(a, "delete");
	if (del && (cli_has(a, "json") || cli_has(a, "file")))
		return cli_usage(cmd, "--delete takes no value (--json, --file)");
	if (cli_has(a, "json") && cli_has(a, "file"))
		return cli_usage(cmd, "give the value by --json or --file, not both");
	if (!del && (rc = data_put_value(cmd, a, ds, &value, &len)) != CLI_OK)
		return rc;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	onestop_put_t p = {.dataset = ds, .key = key, .is_delete = del, .value = value, .len = len};
	if ((code = onestop_put(c, &p, 1, &id)) != 0) {
		rc = cli_fail_api(cmd, c, code);
		goto out;
	}
	data_print_id(id);
	rc = cli_flush(cmd);
out:
	onestop_close(&c);
	free(value);
	return rc;
}

/* The next non-blank line of buf[*pos..len) into line and line_len, its
 * number into *lineno; 0 at the end. */
static int data_next_line(const char *buf, size_t len, size_t *pos, size_t *lineno,
			  const char **line, size_t *line_len)
{
	while (*pos < len) {
		const char *start = buf + *pos;
		const char *nl = memchr(start, '\n', len - *pos);
		size_t n = nl ? (size_t)(nl - start) : len - *pos;
		*pos += n + (nl ? 1 : 0);
		(*lineno)++;
		size_t k = 0;
		while (k < n && (start[k] == ' ' || start[k] == '\t' || start[k] == '\r'))
			k++;
		if (k < n) {
			*line = start;
			*line_len = n;
			return 1;
		}
	}
	return 0;
}

/* Send the batch of changes held in chs (n of them) as one Put. */
static int data_put_batch(const struct cli_cmd *cmd, onestop_t *c, const char *ds,
			  struct cli_json_change *chs, onestop_put_t *puts, size_t n,
			  size_t first_line, size_t last_line, size_t done)
{
	for (size_t i = 0; i < n; i++) {
		puts[i].dataset = ds;
		puts[i].key = chs[i].key;
		puts[i].is_delete = chs[i].is_delete;
		puts[i].value = chs[i].value;
		puts[i].len = chs[i].len;
	}
	/* A full outbox drains as the hub takes it: wait and offer the batch
	 * again for a while (a refused batch was not taken, so this cannot
	 * publish anything twice). */
	int code;
	uint64_t waited_ms = 0, pause_ms = DATA_RETRY_MIN_MS;
	while ((code = onestop_put(c, puts, n, NULL)) == ONESTOP_EFULL &&
	       waited_ms < DATA_RETRY_MAX_MS) {
		struct timespec ts = {(time_t)(pause_ms / 1000u),
				      (long)(pause_ms % 1000u) * 1000000L};
		nanosleep(&ts, NULL);
		waited_ms += pause_ms;
		pause_ms = pause_ms * 2 > DATA_RETRY_PAUSE_MS ? DATA_RETRY_PAUSE_MS : pause_ms * 2;
	}
	if (code == 0)
		return CLI_OK;
	const char *detail = onestop_last_error(c);
	char waited[48] = "";
	if (code == ONESTOP_EFULL)
		snprintf(waited, sizeof(waited), "; gave up after waiting %u s",
			 DATA_RETRY_MAX_MS / 1000u);
	return cli_fail(cmd, "lines %zu..%zu: %s%s%s (published %zu changes before them%s)",
			first_line, last_line, onestop_strerror(code), detail[0] ? ": " : "",
			detail, done, waited);
}

/* put DATASET --jsonl FILE: every line is checked before the first batch
 * goes out, so a typo on line 90,000 publishes nothing. */
static int data_put_jsonl(const struct cli_cmd *cmd, const struct cli_args *a, const char *ds)
{
	onestop_t *c = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, pos, lineno, line_len, total = 0, done = 0;
	const char *line;
	struct cli_json_change *chs = NULL;
	onestop_put_t *puts = NULL;
	size_t n = 0, first_line = 0, last_line = 0;
	char err[DATA_ERR];
	int rc;

	if (cli_has(a, "json") || cli_has(a, "file") || cli_has(a, "delete"))
		return cli_usage(
			cmd,
			"--jsonl takes no --json, --file or --delete (say \"delete\": true on a line)");
	const char *path = cli_need(cmd, a, "jsonl");
	if (path == NULL)
		return CLI_USAGE;
	errno = 0;
	rc = os_read_file(strcmp(path, "-") == 0 ? "/dev/stdin" : path, DATA_JSONL_MAX, &buf, &len);
	if (rc != 0)
		return cli_fail(cmd, "cannot read %s: %s", path,
				rc == OS_EIO && errno != 0 ? strerror(errno) : os_strerror(rc));

	pos = lineno = 0;
	while (data_next_line((const char *)buf, len, &pos, &lineno, &line, &line_len)) {
		struct cli_json_change ch;
		rc = cli_json_parse(ds, line, line_len, 1, &ch, err, sizeof(err));
		if (rc == OS_ENOMEM) {
			rc = cli_fail(cmd, "out of memory");
			goto out;
		}
		if (rc != 0) {
			rc = cli_fail(cmd, "%s line %zu: %s (nothing published)", path, lineno,
				      err);
			goto out;
		}
		cli_json_change_clear(&ch);
		total++;
	}
	if (total == 0) {
		rc = cli_fail(cmd, "%s holds no changes", path);
		goto out;
	}

	chs = calloc(DATA_PUT_BATCH, sizeof(*chs));
	puts = calloc(DATA_PUT_BATCH, sizeof(*puts));
	if (chs == NULL || puts == NULL) {
		rc = cli_fail(cmd, "out of memory");
		goto out;
	}
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		goto out;
	pos = lineno = 0;
	while (data_next_line((const char *)buf, len, &pos, &lineno, &line, &line_len)) {
		if (n == 0)
			first_line = lineno;
		last_line = lineno;
		if (cli_json_parse(ds, line, line_len, 1, &chs[n], err, sizeof(err)) != 0) {
			rc = cli_fail(cmd, "%s line %zu: %s (published %zu changes before it)",
				      path, lineno, err[0] ? err : "out of memory", done);
			goto out;
		}
		if (++n == DATA_PUT_BATCH) {
			rc = data_put_batch(cmd, c, ds, chs, puts, n, first_line, last_line, done);
			for (size_t i = 0; i < n; i++)
				cli_json_change_clear(&chs[i]);
			if (rc != CLI_OK)
				goto out;
			done += n;
			n = 0;
		}
	}
	if (n > 0) {
		if ((rc = data_put_batch(cmd, c, ds, chs, puts, n, first_line, last_line, done)) !=
		    CLI_OK)
			goto out;
		done += n;
	}
	printf("published %zu changes\n", done);
	rc = cli_flush(cmd);
out:
	if (chs != NULL)
		for (size_t i = 0; i < DATA_PUT_BATCH; i++)
			cli_json_change_clear(&chs[i]);
	free(chs);
	free(puts);
	free(buf);
	onestop_close(&c);
	return rc;
}

static int data_put(const struct cli_cmd *cmd, const struct cli_args *a)
{
	if (cli_has(a, "jsonl")) {
		if (a->n_words != 1)
			return cli_usage(cmd, "with --jsonl takes a DATASET and no KEY");
		return data_put_jsonl(cmd, a, a->words[0]);
	}
	if (a->n_words != 2)
		return cli_usage(cmd, "takes a DATASET and a KEY (or --jsonl FILE)");
	return data_put_one(cmd, a, a->words[0], a->words[1]);
}

/* ------------------------------------------------------------ items */

/* Print s and pad it with spaces to width columns (then two more). */
static void data_print_col(const char *s, size_t width)
{
	size_t w = cli_text_width(s);
	fputs(s, stdout);
	for (; w < width + 2; w++)
		putchar(' ');
}

/* Column widths, kept from page to page so that columns only widen. */
struct data_widths {
	size_t code, name, owner, limits;
};

/* One page of items, aligned. */
static void data_print_items(const onestop_entry_t *es, size_t n, struct data_widths *cw)
{
	onestop_item_t **items = calloc(n ? n : 1, sizeof(*items));
	char limits[64];
	size_t wk = cw->code, wn = cw->name, wo = cw->owner, wl = cw->limits;

	for (size_t i = 0; i < n; i++) {
		if (items != NULL && onestop_item_decode(es[i].value, es[i].len, &items[i]) != 0)
			items[i] = NULL;
		size_t w = cli_text_width(es[i].key);
		wk = w > wk ? w : wk;
		if (items == NULL || items[i] == NULL)
			continue;
		w = cli_text_width(items[i]->name);
		wn = w > wn ? w : wn;
		w = cli_text_width(items[i]->owner);
		wo = w > wo ? w : wo;
		w = (size_t)snprintf(limits, sizeof(limits), "legal=%ud promised=%ud",
				     items[i]->legal_days, items[i]->promised_days);
		wl = w > wl ? w : wl;
	}
	*cw = (struct data_widths){wk, wn, wo, wl};
	for (size_t i = 0; i < n; i++) {
		const onestop_item_t *it = items != NULL ? items[i] : NULL;
		data_print_col(es[i].key, wk);
		if (it == NULL) {
			printf("(value is not an item: %zu bytes from %s)\n", es[i].len,
			       es[i].publisher);
			continue;
		}
		data_print_col(it->name, wn);
		data_print_col(it->owner, wo);
		snprintf(limits, sizeof(limits), "legal=%ud promised=%ud", it->legal_days,
			 it->promised_days);
		data_print_col(limits, wl);
		printf("min_level=%u  ", it->min_level);
		/* Last, because the reason is free text of any length. */
		if (it->online)
			fputs("online\n", stdout);
		else
			printf("offline-only: %s\n", it->offline_reason);
	}
	if (items != NULL)
		for (size_t i = 0; i < n; i++)
			onestop_item_free(&items[i]);
	free(items);
}

static int data_items(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_entry_t *es = NULL;
	struct data_widths widths = {0, 0, 0, 0};
	size_t n = 0, shown = 0;
	char *next = NULL, *after = NULL;
	uint64_t limit = DATA_DEFAULT_LIMIT;
	int rc, code;

	int all = cli_has(a, "all");
	if (cli_has(a, "offline") && cli_has(a, "online"))
		return cli_usage(cmd, "--offline and --online exclude each other");
	if (all && cli_has(a, "limit"))
		return cli_usage(cmd, "--all and --limit exclude each other");
	if (cli_has(a, "limit") &&
	    cli_uint(cmd, "limit", cli_get(a, "limit"), 1, ONESTOP_MAX_BATCH, &limit) != 0)
		return CLI_USAGE;
	onestop_list_t f = {0};
	f.owner = cli_get(a, "owner");
	f.search = cli_get(a, "search");
	f.online = cli_has(a, "online") ? 1 : cli_has(a, "offline") ? 2 : 0;
	f.after_key = cli_get(a, "after");
	f.limit = all ? DATA_PAGE : (unsigned)limit;
	if ((cli_has(a, "owner") && f.owner == NULL) ||
	    (cli_has(a, "search") && f.search == NULL) ||
	    (cli_has(a, "after") && f.after_key == NULL))
		return cli_usage(cmd, "--owner, --search and --after need a value");
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	/* The spoke may end a page early (it bounds the entries it scans per
	 * request), so keep asking until the limit is reached or it says
	 * there is no more. */
	for (;;) {
		if (!all)
			f.limit = (unsigned)(limit - shown);
		if ((code = onestop_list(c, ONESTOP_DS_ITEMS, &f, &es, &n, &next)) != 0) {
			rc = cli_fail_api(cmd, c, code);
			goto out;
		}
		data_print_items(es, n, &widths);
		shown += n;
		onestop_entries_free(&es, n);
		if (ferror(stdout)) {
			rc = cli_fail(cmd, "cannot write to standard output");
			goto out;
		}
		if (next == NULL || (!all && shown >= limit))
			break;
		free(after);
		after = next;
		next = NULL;
		f.after_key = after;
	}
	/* Where to go on from, on stderr so that stdout stays one line per
	 * item. */
	if (next != NULL)
		fprintf(stderr,
			"onestop items: %zu shown; more after this: --after %s (or --all)\n", shown,
			next);
	rc = cli_flush(cmd);
out:
	free(next);
	free(after);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ datasets */

static int data_datasets(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_dataset_t *ds = NULL;
	size_t n = 0;
	char digest[65];
	int rc, code;

	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if ((code = onestop_datasets(c, &ds, &n)) != 0) {
		rc = cli_fail_api(cmd, c, code);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const char *mode = ds[i].mode == ONESTOP_MODE_FULL     ? "full"
				   : ds[i].mode == ONESTOP_MODE_CACHED ? "cached"
								       : "unknown";
		os_hex(digest, ds[i].digest, sizeof(ds[i].digest));
		printf("dataset=%s mode=%s seq=%llu count=%llu digest=%s syncing=%s\n", ds[i].name,
		       mode, (unsigned long long)ds[i].seq, (unsigned long long)ds[i].count, digest,
		       ds[i].syncing ? "yes" : "no");
	}
	rc = cli_flush(cmd);
out:
	free(ds);
	onestop_close(&c);
	return rc;
}

/* ------------------------------------------------------------ tables */

static const struct cli_opt data_get_opts[] = {
	{"api", CLI_ARG, 0},
	{"raw", CLI_NOARG, 0},
	{"wait", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};
static const struct cli_opt data_put_opts[] = {
	{"json", CLI_ARG, 0},     {"file", CLI_ARG, 0}, {"jsonl", CLI_ARG, 0},
	{"delete", CLI_NOARG, 0}, {"api", CLI_ARG, 0},  {NULL, CLI_NOARG, 0},
};
static const struct cli_opt data_items_opts[] = {
	{"offline", CLI_NOARG, 0}, {"online", CLI_NOARG, 0}, {"owner", CLI_ARG, 0},
	{"search", CLI_ARG, 0},    {"limit", CLI_ARG, 0},    {"after", CLI_ARG, 0},
	{"all", CLI_NOARG, 0},     {"api", CLI_ARG, 0},      {NULL, CLI_NOARG, 0},
};
static const struct cli_opt data_datasets_opts[] = {
	{"api", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};

const struct cli_cmd cli_get_cmd = {
	"get",
	"look an entry up in a dataset",
	"Usage: onestop get DATASET KEY [--raw] [--wait MS] [--api EP]\n"
	"\n"
	"Print the entry KEY of DATASET from the local spoke's copy:\n"
	"  key=K publisher=NODE seq=N updated=ISO-8601 UTC\n"
	"then the value: as JSON for identity and items, as hex for other\n"
	"datasets. Answers while the hub is unreachable, except a miss in a\n"
	"cached-mode dataset (identity), which the spoke fills through the hub.\n"
	"Exits 1 with the reason when there is no such entry.\n"
	"\n"
	"Options:\n"
	"  --raw             write only the value's bytes (packed protobuf for\n"
	"                    identity and items), nothing else\n"
	"  --wait MS         how long a cached-mode miss may wait for the hub,\n"
	"                    0..60000 (default: the spoke's fetch_timeout_ms)\n" CLI_API_HELP,
	data_get_opts,
	data_get,
	2,
};

const struct cli_cmd cli_put_cmd = {
	"put",
	"publish or delete dataset entries",
	"Usage: onestop put DATASET KEY [--json JSON | --file F] [--api EP]\n"
	"       onestop put DATASET KEY --delete [--api EP]\n"
	"       onestop put DATASET --jsonl FILE [--api EP]\n"
	"\n"
	"Publish an entry of DATASET as this spoke's node, which the registry must\n"
	"allow to publish DATASET (and, for items, must own the item). The value\n"
	"is the JSON given, or read from F or standard input. For identity and\n"
	"items it is a JSON object:\n"
	"  identity  {\"kind\": \"person\"|\"enterprise\", \"level\": 1..3,\n"
	"             \"status\": \"active\"|\"suspended\"|\"revoked\"|\"deceased\",\n"
	"             \"authority\": NODE, \"updated_ms\": N (default now)}\n"
	"  items     {\"name\": S, \"owner\": NODE, \"kind\": S, \"online\": true|false,\n"
	"             \"offline_reason\": S (required when online is false),\n"
	"             \"materials\": [{\"name\": S, \"shared_data\": DATASET}],\n"
	"             \"legal_days\": N, \"promised_days\": N, \"fee_cents\": N,\n"
	"             \"regions\": [S], \"min_level\": 0..3}\n"
	"(name, owner and online are required); other datasets take the bytes\n"
	"as they are. The spoke checks the change against the registry and the\n"
	"dataset's rules and says what is wrong. Prints the change's id (32 hex)\n"
	"once the spoke has committed it to its outbox; the hub then sequences it\n"
	"and it reaches every spoke. A change the hub refuses comes back as a\n"
	"dead letter (onestop recv).\n"
	"\n"
	"With --jsonl, FILE (\"-\": standard input) holds one JSON object per line:\n"
	"the value's fields plus \"key\"; {\"key\": K, \"delete\": true} deletes; for\n"
	"other datasets {\"key\": K, \"value\": \"TEXT\"}. Every line is checked\n"
	"first, then they are sent in batches of 1000; while the spoke's outbox is\n"
	"full (quota exhausted) a batch is offered again for up to 60 s. Prints\n"
	"  published N changes\n"
	"\n"
	"Options:\n"
	"  --json JSON       the value\n"
	"  --file F          read the value from F\n"
	"  --delete          delete the entry KEY instead\n"
	"  --jsonl FILE      publish many entries\n" CLI_API_HELP,
	data_put_opts,
	data_put,
	2,
};

const struct cli_cmd cli_items_cmd = {
	"items",
	"list service items",
	"Usage: onestop items [--offline | --online] [--owner NODE] [--search TEXT]\n"
	"         [--limit N | --all] [--after CODE] [--api EP]\n"
	"\n"
	"List the items of the local spoke's copy of the national catalogue, in\n"
	"code order, one aligned line each:\n"
	"  CODE  NAME  OWNER  legal=Nd promised=Nd  min_level=N  online\n"
	"or, for an item that can only be handled in person,\n"
	"  CODE  NAME  OWNER  legal=Nd promised=Nd  min_level=N  offline-only: REASON\n"
	"(time limits in working days). Answers while the hub is unreachable.\n"
	"When more items match than were shown, standard error says how to go on.\n"
	"\n"
	"Options:\n"
	"  --offline         only offline-only items\n"
	"  --online          only items that can be handled online\n"
	"  --owner NODE      only items NODE owns\n"
	"  --search TEXT     only items whose name contains TEXT\n"
	"  --limit N         show at most N items, 1..10000 (default 100)\n"
	"  --all             show every matching item\n"
	"  --after CODE      start after item CODE (paging)\n" CLI_API_HELP,
	data_items_opts,
	data_items,
	0,
};

const struct cli_cmd cli_datasets_cmd = {
	"datasets",
	"show where the local spoke stands in each dataset",
	"Usage: onestop datasets [--api EP]\n"
	"\n"
	"Print one line per dataset declared in the registry:\n"
	"  dataset=NAME mode=full|cached seq=N count=N digest=HEX syncing=yes|no\n"
	"seq is the last change the spoke applied, count the entries it holds,\n"
	"digest the BLAKE2b-256 of those entries (equal digests: equal copies;\n"
	"compare with onestop-hub --dataset-digest NAME), syncing yes while a\n"
	"snapshot is being received.\n"
	"\n"
	"Options:\n" CLI_API_HELP,
	data_datasets_opts,
	data_datasets,
	0,
};
