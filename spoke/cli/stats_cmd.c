/* onestop stats and onestop market: at a supervisor node's spoke, the
 * figures of the supervision events it counted (docs/PROTOCOL.md 12.3),
 * one line (JSON object, CSV line) per item, owning node or region; and
 * the market monitoring's daily approvals per region and kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "onestop.h"

static const struct cli_opt stats_opts[] = {
	{"by", CLI_ARG, 0},        {"from", CLI_ARG, 0}, {"to", CLI_ARG, 0},
	{"rebuild", CLI_NOARG, 0}, {"api", CLI_ARG, 0},  {"json", CLI_NOARG, 0},
	{"csv", CLI_NOARG, 0},     {NULL, CLI_NOARG, 0},
};

static void stats_json(const onestop_stats_row_t *r)
{
	printf("{\"key\":");
	cli_json_str(stdout, r->key);
	printf(",\"filed\":%llu,\"accepted\":%llu,\"rejected\":%llu,\"approved\":%llu,"
	       "\"denied\":%llu,\"decided\":%llu,\"withdrawn\":%llu,"
	       "\"on_time_promised_rate\":%.4f,\"on_time_legal_rate\":%.4f,\"mean_days\":%.3f,"
	       "\"p90_days\":%u,\"open\":%llu,\"overdue\":%llu,\"online_share\":%.4f,"
	       "\"hall_share\":%.4f,\"complaints\":%llu,\"consultations\":%llu,\"answered\":%llu,"
	       "\"mean_response_hours\":%.3f,\"evaluations\":%llu,\"mean_score\":%.4f,"
	       "\"hotline_share\":%.4f,\"p90_capped\":%s}",
	       (unsigned long long)r->filed, (unsigned long long)r->accepted,
	       (unsigned long long)r->rejected, (unsigned long long)r->approved,
	       (unsigned long long)r->denied, (unsigned long long)r->decided,
	       (unsigned long long)r->withdrawn, r->on_time_promised_rate, r->on_time_legal_rate,
	       r->mean_days, r->p90_days, (unsigned long long)r->open,
	       (unsigned long long)r->overdue, r->online_share, r->hall_share,
	       (unsigned long long)r->complaints, (unsigned long long)r->consultations,
	       (unsigned long long)r->answered, r->mean_response_hours,
	       (unsigned long long)r->evaluations, r->mean_score, r->hotline_share,
	       r->p90_capped ? "true" : "false");
}

/* A CSV field: quoted (quotes doubled) when it holds a comma, a quote or
 * a line break. */
static void stats_csv_str(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

#define STATS_CSV_HEAD                                                                           \
	"key,filed,accepted,rejected,approved,denied,decided,withdrawn,on_time_promised_rate,"   \
	"on_time_legal_rate,mean_days,p90_days,p90_capped,open,overdue,online_share,hall_share," \
	"hotline_share,complaints,consultations,answered,mean_response_hours,evaluations,"       \
	"mean_score\n"

static void stats_csv(const onestop_stats_row_t *r)
{
	stats_csv_str(r->key);
	printf(",%llu,%llu,%llu,%llu,%llu,%llu,%llu,%.4f,%.4f,%.3f,%u,%d,%llu,%llu,%.4f,%.4f,%.4f,"
	       "%llu,%llu,%llu,%.3f,%llu,%.4f\n",
	       (unsigned long long)r->filed, (unsigned long long)r->accepted,
	       (unsigned long long)r->rejected, (unsigned long long)r->approved,
	       (unsigned long long)r->denied, (unsigned long long)r->decided,
	       (unsigned long long)r->withdrawn, r->on_time_promised_rate, r->on_time_legal_rate,
	       r->mean_days, r->p90_days, r->p90_capped ? 1 : 0, (unsigned long long)r->open,
	       (unsigned long long)r->overdue, r->online_share, r->hall_share, r->hotline_share,
	       (unsigned long long)r->complaints, (unsigned long long)r->consultations,
	       (unsigned long long)r->answered, r->mean_response_hours,
	       (unsigned long long)r->evaluations, r->mean_score);
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
	if (cli_has(a, "json") && cli_has(a, "csv"))
		return cli_usage(cmd, "--json or --csv, not both");
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
	} else if (cli_has(a, "csv")) {
		fputs(STATS_CSV_HEAD, stdout);
		for (size_t i = 0; i < n; i++)
			stats_csv(&rows[i]);
	} else {
		for (size_t i = 0; i < n; i++) {
			const onestop_stats_row_t *r = &rows[i];
			printf("%s filed=%llu accepted=%llu rejected=%llu approved=%llu denied=%llu "
			       "withdrawn=%llu on_time=%.1f%% mean_days=%.1f p90_days=%u open=%llu "
			       "overdue=%llu online=%.1f%% hall=%.1f%% hotline=%.1f%% complaints=%llu "
			       "consultations=%llu answered=%llu response_hours=%.1f evaluations=%llu "
			       "mean_score=%.2f\n",
			       r->key, (unsigned long long)r->filed,
			       (unsigned long long)r->accepted, (unsigned long long)r->rejected,
			       (unsigned long long)r->approved, (unsigned long long)r->denied,
			       (unsigned long long)r->withdrawn, 100.0 * r->on_time_promised_rate,
			       r->mean_days, r->p90_days, (unsigned long long)r->open,
			       (unsigned long long)r->overdue, 100.0 * r->online_share,
			       100.0 * r->hall_share, 100.0 * r->hotline_share,
			       (unsigned long long)r->complaints,
			       (unsigned long long)r->consultations,
			       (unsigned long long)r->answered, r->mean_response_hours,
			       (unsigned long long)r->evaluations, r->mean_score);
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
	"the figures a supervisor node counted",
	"Usage: onestop stats [--by item|owner|region] [--from DATE] [--to DATE]\n"
	"                     [--rebuild] [--json|--csv] [--api EP]\n"
	"\n"
	"At the spoke of a node with role supervisor that subscribes to\n"
	"@supervision: the figures of the events it counted (cases, complaints,\n"
	"consultations, evaluations), one line per\n"
	"item (default), owning node or region, over the event days [--from,\n"
	"--to) (YYYY-MM-DD in the spoke's calendar; default: all) and, for open\n"
	"and overdue, now:\n"
	"  KEY filed= accepted= rejected= approved= denied= withdrawn= on_time=%\n"
	"      mean_days= p90_days= open= overdue= online=% hall=% hotline=%\n"
	"      complaints= consultations= answered= response_hours= evaluations=\n"
	"      mean_score=\n"
	"on_time is of the decisions against their promised date; mean_days and\n"
	"p90_days count working days from filing to decision (p90_capped: 63 or\n"
	"more); answered and response_hours are of the first answers to\n"
	"complaints and consultations; mean_score of the evaluations (1..5).\n"
	"Each event is counted once, with its receipt.\n"
	"\n"
	"Options:\n"
	"  --by D            item, owner or region (default item)\n"
	"  --from DATE       first event day counted\n"
	"  --to DATE         first event day not counted\n"
	"  --rebuild         first recount every stored event from scratch\n"
	"  --json            print one JSON object\n"
	"  --csv             print a header line and one line per row\n" CLI_API_HELP,
	stats_opts,
	stats_run,
	0,
};

/* ------------------------------------------------------------ market */

static const struct cli_opt market_opts[] = {
	{"region", CLI_ARG, 0}, {"kind", CLI_ARG, 0},  {"days", CLI_ARG, 0}, {"api", CLI_ARG, 0},
	{"json", CLI_NOARG, 0}, {"csv", CLI_NOARG, 0}, {NULL, CLI_NOARG, 0},
};

static int market_run(const struct cli_cmd *cmd, const struct cli_args *a)
{
	onestop_t *c = NULL;
	onestop_market_row_t *rows = NULL;
	size_t n = 0;
	uint64_t days = 28;
	int rc, code;

	if (cli_has(a, "json") && cli_has(a, "csv"))
		return cli_usage(cmd, "--json or --csv, not both");
	const char *d = cli_get(a, "days");
	if (cli_has(a, "days") && (d == NULL || cli_uint(cmd, "days", d, 1, 366, &days) != 0))
		return CLI_USAGE;
	if ((rc = cli_connect(cmd, a, &c)) != CLI_OK)
		return rc;
	code = onestop_market(c, cli_get(a, "region"), cli_get(a, "kind"), (unsigned)days, &rows,
			      &n);
	if (code != 0) {
		rc = cli_fail_code(cmd, c, code);
		goto out;
	}
	if (cli_has(a, "json")) {
		printf("{\"rows\":[");
		for (size_t i = 0; i < n; i++) {
			const onestop_market_row_t *r = &rows[i];
			printf("%s{\"region\":", i ? "," : "");
			cli_json_str(stdout, r->region);
			printf(",\"kind\":");
			cli_json_str(stdout, r->kind);
			printf(",\"day\":\"%s\",\"approved\":%llu,\"mean\":%.4f,\"sigma\":%.4f,"
			       "\"flagged\":%s,\"history\":%s}",
			       r->day, (unsigned long long)r->approved, r->mean, r->sigma,
			       r->flagged ? "true" : "false", r->history ? "true" : "false");
		}
		printf("]}\n");
	} else if (cli_has(a, "csv")) {
		printf("region,kind,day,approved,mean,sigma,flagged,history\n");
		for (size_t i = 0; i < n; i++) {
			const onestop_market_row_t *r = &rows[i];
			stats_csv_str(r->region);
			putchar(',');
			stats_csv_str(r->kind);
			printf(",%s,%llu,%.4f,%.4f,%d,%d\n", r->day,
			       (unsigned long long)r->approved, r->mean, r->sigma, r->flagged,
			       r->history);
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			const onestop_market_row_t *r = &rows[i];
			printf("%s %s %s approved=%llu mean=%.2f sigma=%.2f%s\n", r->region,
			       r->kind, r->day, (unsigned long long)r->approved, r->mean, r->sigma,
			       r->flagged ? " SPIKE" : (r->history ? "" : " (short history)"));
		}
	}
	rc = cli_flush(cmd);
out:
	free(rows);
	onestop_close(&c);
	return rc;
}

const struct cli_cmd cli_market_cmd = {
	"market",
	"daily approvals of licences and registrations, with spikes flagged",
	"Usage: onestop market [--region R] [--kind K] [--days N] [--json|--csv]\n"
	"                      [--api EP]\n"
	"\n"
	"At the spoke of a supervisor node: per region, market kind (licence,\n"
	"permit, registration) and day of the last N days up to today, the\n"
	"number of approvals, with the mean and standard deviation of the 28\n"
	"days before. A day is flagged SPIKE when its count lies outside mean\n"
	"+- 3 sigma (sigma 0: any count other than the mean); a series with\n"
	"fewer than 28 days of history before the day is never flagged. One line\n"
	"per row:\n"
	"  REGION KIND DAY approved= mean= sigma= [SPIKE|(short history)]\n"
	"\n"
	"Options:\n"
	"  --region R        one region (default: every one)\n"
	"  --kind K          one kind (default: every one)\n"
	"  --days N          1..366 days up to today (default 28)\n"
	"  --json            print one JSON object\n"
	"  --csv             print a header line and one line per row\n" CLI_API_HELP,
	market_opts,
	market_run,
	0,
};
