/* onestop stats: at a supervisor node's spoke, the figures of the case
 * events it counted (docs/PROTOCOL.md 12.3), one line (or JSON object) per
 * item, owning node or region. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "onestop.h"

static const struct cli_opt stats_opts[] = {
	{"by", CLI_ARG, 0},        {"from", CLI_ARG, 0}, {"to", CLI_ARG, 0},
	{"rebuild", CLI_NOARG, 0}, {"api", CLI_ARG, 0},  {"json", CLI_NOARG, 0},
	{NULL, CLI_NOARG, 0},
};

static void stats_json(const onestop_stats_row_t *r)
{
	printf("{\"key\":");
	cli_json_str(stdout, r->key);
	printf(",\"filed\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"approved\":%llu,"
	       "\"denied\":%llu,\"decided\":%llu,\"withdrawn\":%llu,"
	       "\"on_time_promised_rate\":%.4f,\"on_time_legal_rate\":%.4f,\"mean_days\":%.3f,"
	       "\"p90_days\":%u,\"open\":%llu,\"overdue\":%llu,\"online_share\":%.4f,"
	       "\"hall_share\":%.4f}",
	       (unsigned long long)r->filed, (unsigned long long)r->accepted,
	       (unsigned long long)r->rejected, (unsigned long long)r->approved,
	       (unsigned long long)r->denied, (unsigned long long)r->decided,
	       (unsigned long long)r->withdrawn, r->on_time_promised_rate, r->on_time_legal_rate,
	       r->mean_days, r->p90_days, (unsigned long long)r->open,
	       (unsigned long long)r->overdue, r->online_share, r->hall_share);
}

static int stats_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_stats_row_t *rows = NULL;
	size_t n = 0;
	const char *by = cli_has(a, "by") ? cli_get(a, "by") : "item";
	int rc, code;

	if (!by ||
	    (strcmp(by, "item") != 0 && strcmp(by, "owner") != 0 && strcmp(by, "region") != 0))
		return cli_usage(cmd, "--by is item, owner or region");
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	if (cli_has(a, "rebuild") && (code = onestop_stats_rebuild(c)) != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	code = onestop_stats(c, by, cli_get(a, "from"), cli_get(a, "to"), &rows, &n);
	if (code != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	if (cli_has(a, "json")) {
		printf("{\"by\":\"%s\",\"rows\":[", by);
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				putchar(',');
			stats_json(&rows[i]);
		}
		printf("]}\n");
	} else {
		for (size_t i = 0; i < n; i++) {
			const onestop_stats_row_t *r = &rows[i];
			printf("%s filed=%llu accepted=%llu rejected=%llu approved=%llu denied=%llu "
			       "withdrawn=%llu on_time=%.1f%% mean_days=%.1f p90_days=%u open=%llu "
			       "overdue=%llu online=%.1f%% hall=%.1f%%\n",
			       r->key, (unsigned long long)r->filed,
			       (unsigned long long)r->accepted, (unsigned long long)r->rejected,
			       (unsigned long long)r->approved, (unsigned long long)r->denied,
			       (unsigned long long)r->withdrawn, 100.0 * r->on_time_promised_rate,
			       r->mean_days, r->p90_days, (unsigned long long)r->open,
			       (unsigned long long)r->overdue, 100.0 * r->online_share,
			       100.0 * r->hall_share);
		}
	}
	rc = CLI_OK;
out:
	free(rows);
	onestop_close(&c);
	return rc;
}

const struct cli_cmd cli_stats_cmd = {
	"stats",
	"the case figures a supervisor node counted",
	"Usage: onestop stats [--by item|owner|region] [--from DATE] [--to DATE]\n"
	"                     [--rebuild] [--json] [--api EP]\n"
	"\n"
	"At the spoke of a node with role supervisor that subscribes to\n"
	"@supervision: the figures of the case events it counted, one line per\n"
	"item (default), owning node or region, over the event days [--from,\n"
	"--to) (YYYY-MM-DD in the spoke's calendar; default: all) and, for open\n"
	"and overdue, now:\n"
	"  KEY filed= accepted= rejected= approved= denied= withdrawn= on_time=%\n"
	"      mean_days= p90_days= open= overdue= online=% hall=%\n"
	"on_time is of the decisions against their promised date; mean_days and\n"
	"p90_days count working days from filing to decision. Each event is\n"
	"counted once, with its receipt.\n"
	"\n"
	"Options:\n"
	"  --by D            item, owner or region (default item)\n"
	"  --from DATE       first event day counted\n"
	"  --to DATE         first event day not counted\n"
	"  --rebuild         first recount every stored event from scratch\n"
	"  --json            print one JSON object\n" CLI_API_HELP,
	stats_opts,
	stats_run,
	0,
};
