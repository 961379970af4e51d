/* The supervisor's statistics against an independent count (#7): 10,000
 * generated cases (seeded, so every run is the same) of four items of two
 * departments in two regions, filed through the four channels on chosen
 * days of an injected case clock, then rejected, withdrawn, accepted and
 * decided on chosen later days; some rated by the applicant, some the
 * subject of a complaint (to the supervisor) or a consultation (to the
 * item's owner), most of these answered.
 * Every figure of `onestop stats --by item|owner|region --json` and of
 * onestop_stats equals the figure the test computes from what it
 * generated (its own calendar: weekends off, UTC): after a kill -9 and
 * restart of the supervisor's spoke in the middle, at the end, over a
 * period, and after rebuilding the records from the stored events.
 * For speed the filings of a day go through two threads (each with its
 * own connections) and each department's steps through its own thread.
 * ONESTOP_STATS_CASES=N (1..10000) runs fewer cases. */
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "case_harness.h"
#include "err.h"
#include "util.h"

/* The parts that need the evaluations and complaints counted: ratings
 * need onestop_case_rate; complaints need onestop_complaint_* and the stats
 * row's complaint figures; both the row's evaluation figures. 0 leaves
 * them out of the generation (their figures are then expected 0). */
#ifndef IT_STATS_RATINGS
#define IT_STATS_RATINGS 1
#endif
#ifndef IT_STATS_COMPLAINTS
#define IT_STATS_COMPLAINTS 1
#endif

#define DEFAULT_CASES 10000
#define SEED 0x5eed10000ULL
#define DAY_MS 86400000ULL
#define HOUR_MS 3600000ULL
#define BASE_DAY 20759 /* Monday 2026-11-02 */
#define LAST_DAY 27    /* the timeline: BASE_DAY + 0..LAST_DAY */
#define FILE_DAYS 18   /* filings on days 0..17 */
#define KILL_DAY 13    /* the supervisor is killed during this day's steps */
#define PERIOD_FROM 5  /* the period checked: days [5, 19) */
#define PERIOD_TO 19
#define DAYS_CAP 63 /* the histogram's last bucket: 63 days or more */
#define LICENCE "LIC-STATS-0001"

enum { I_LIC, I_REG, I_PMT, I_DREG, N_ITEMS };
enum { D_ITEM, D_OWNER, D_REGION, N_DIMS };
#define N_KEYS 4 /* the most keys of one dimension */

static const char *const item_code[N_ITEMS] = {CH_ITEM_LIC, CH_ITEM_REG, CH_ITEM_PERMIT,
					       CH_ITEM_DREG};
static const int item_dept[N_ITEMS] = {0, 0, 1, 1};
#if IT_STATS_RATINGS
static const char *const dept_name[2] = {CH_OWNER, CH_DEPT};
#endif
static const char *const dim_name[N_DIMS] = {"item", "owner", "region"};
/* The keys of each dimension. The supervisor (owner 2) handles the
 * complaints but counts them under the department they concern: it has
 * no row of its own, and one would show. */
static const char *const dim_keys[N_DIMS][N_KEYS] = {
	{CH_ITEM_LIC, CH_ITEM_REG, CH_ITEM_PERMIT, CH_ITEM_DREG},
	{CH_OWNER, CH_DEPT, CH_SUP, NULL},
	{"gd.sz", "gd.gz", NULL, NULL},
};

/* One generated case and what happens to it: days are 0..LAST_DAY of the
 * timeline, -1 for never. */
struct gcase {
	uint8_t id[ONESTOP_ID_LEN];
	uint8_t item, channel, outcome, score;
	int8_t file, accept, decide, reject, withdraw, rate;
	/* a complaint about the case (ONESTOP_COMPLAINT) or a consultation
	 * about its item (ONESTOP_CONSULTATION), or none (0) */
	uint8_t cp_kind;
	int8_t cp_file, cp_answer;
	uint8_t cp_id[ONESTOP_ID_LEN];
};

/* Steps within a day: the case clock is set to the day and the hour. */
#define H_FILE 8   /* filings, complaints */
#define H_ACT 11   /* the departments' and the hall's steps */
#define H_AFTER 15 /* ratings, answers */

static uint64_t prng_state = SEED;

static uint64_t prng(void)
{
	uint64_t z = (prng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in 0..n-1. */
static int pick(int n)
{
	return (int)(prng() % (uint64_t)n);
}

/* ------------------------------------------------------------ calendar
 * The test's own calendar: UTC, Monday to Friday, no holidays. */

static int workday(int32_t day)
{
	int wd = (int)((day + 4) % 7); /* 1970-01-01 was a Thursday; 0 Sunday */

	return wd >= 1 && wd <= 5;
}

/* Working days after from up to and including to. */
static uint32_t wd_between(int32_t from, int32_t to)
{
	uint32_t n = 0;

	for (int32_t d = from + 1; d <= to; d++)
		n += (uint32_t)workday(d);
	return n;
}

/* The n-th working day after start (n >= 1). */
static int32_t due_day(int32_t start, uint32_t n)
{
	int32_t d = start;

	while (n > 0) {
		d++;
		n -= (uint32_t)workday(d);
	}
	return d;
}

static uint64_t at_ms(int day, int hour)
{
	return (uint64_t)(BASE_DAY + day) * DAY_MS + (uint64_t)hour * HOUR_MS;
}

/* ------------------------------------------------------------ generation */

static void generate(struct gcase *g, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct gcase *c = &g[i];
		int r;

		memset(c, 0, sizeof *c);
		c->accept = c->decide = c->reject = c->withdraw = c->rate = -1;
		c->cp_file = c->cp_answer = -1;
		/* mostly the registrations: the licence and the permit issue an
		 * e-licence on approval */
		r = pick(100);
		c->item = r < 10 ? I_LIC : r < 55 ? I_REG : r < 65 ? I_PMT : I_DREG;
		r = pick(100);
		c->channel = r < 40   ? ONESTOP_CHANNEL_WEB
			     : r < 60 ? ONESTOP_CHANNEL_MOBILE
			     : r < 90 ? ONESTOP_CHANNEL_HALL
				      : ONESTOP_CHANNEL_HOTLINE;
		c->file = (int8_t)pick(FILE_DAYS);
		r = pick(100);
		if (r < 8) {
			/* stays filed */
		} else if (r < 16) {
			c->reject = (int8_t)(c->file + pick(4));
		} else if (r < 22) {
			c->withdraw = (int8_t)(c->file + pick(4));
		} else {
			c->accept = (int8_t)(c->file + pick(4));
			/* else stays accepted: open, perhaps overdue */
			if (r >= 34) /* mostly within the week, some much later */
				c->decide = (int8_t)(c->accept + (r < 40 ? 8 + pick(9) : pick(8)));
			if (c->decide > LAST_DAY)
				c->decide = -1;
			if (c->decide >= 0)
				c->outcome = pick(4) ? ONESTOP_APPROVED : ONESTOP_DENIED;
		}
		if (IT_STATS_RATINGS && c->decide >= 0 && pick(100) < 40) {
			c->rate = (int8_t)(c->decide + pick(3));
			c->score = (uint8_t)(1 + pick(5));
			if (c->rate > LAST_DAY)
				c->rate = -1;
		}
		r = pick(100);
		if (IT_STATS_COMPLAINTS && r < 8) {
			c->cp_kind = r < 5 ? ONESTOP_COMPLAINT : ONESTOP_CONSULTATION;
			c->cp_file = (int8_t)(c->file + pick(5));
			if (pick(100) < 80)
				c->cp_answer = (int8_t)(c->cp_file + pick(6));
			if (c->cp_answer > LAST_DAY)
				c->cp_answer = -1;
		}
	}
}

/* ------------------------------------------------------------ expected */

/* The counts of one key, as the test reckons them. */
struct exp_counts {
	int present;
	uint64_t filed, web, mobile, hall, hotline;
	uint64_t accepted, rejected, approved, denied, withdrawn;
	uint64_t due_promised, on_time_promised, due_legal, on_time_legal;
	uint64_t days_n, days_sum, hist[DAYS_CAP + 1];
	uint64_t open, overdue;
	uint64_t complaints, consultations, answered, answer_ms_sum;
	uint64_t evaluations, score_sum;
};

/* What a row should say: the figures of onestop_stats_row_t. */
struct exp_row {
	const char *key;
	uint64_t filed, accepted, rejected, approved, denied, decided, withdrawn;
	double on_time_promised_rate, on_time_legal_rate, mean_days;
	unsigned p90_days;
	int p90_capped;
	uint64_t open, overdue;
	double online_share, hall_share, hotline_share;
	uint64_t complaints, consultations, answered;
	double mean_response_hours;
	uint64_t evaluations;
	double mean_score;
};

static int in(int day, int upto, int from, int to)
{
	return day >= 0 && day <= upto && day >= from && day < to;
}

/* The counts of every key of dimension dim, of everything done up to and
 * including day upto (the case clock's day: today), over the days [from,
 * to). */
static void expect_counts(const struct gcase *g, size_t n, int dim, int upto, int from, int to,
			  struct exp_counts out[N_KEYS])
{
	memset(out, 0, N_KEYS * sizeof *out);
	for (size_t i = 0; i < n; i++) {
		const struct gcase *c = &g[i];
		int dept = item_dept[c->item];
		int k = dim == D_ITEM ? c->item : dept; /* owner and region index alike */
		struct exp_counts *e = &out[k];

		if (c->file > upto)
			continue;
		e->present = 1;
		if (in(c->file, upto, from, to)) {
			e->filed++;
			e->web += c->channel == ONESTOP_CHANNEL_WEB;
			e->mobile += c->channel == ONESTOP_CHANNEL_MOBILE;
			e->hall += c->channel == ONESTOP_CHANNEL_HALL;
			e->hotline += c->channel == ONESTOP_CHANNEL_HOTLINE;
		}
		e->accepted += in(c->accept, upto, from, to);
		e->rejected += in(c->reject, upto, from, to);
		e->withdrawn += in(c->withdraw, upto, from, to);
		if (in(c->decide, upto, from, to)) {
			uint32_t days = wd_between(BASE_DAY + c->file, BASE_DAY + c->decide);

			e->approved += c->outcome == ONESTOP_APPROVED;
			e->denied += c->outcome == ONESTOP_DENIED;
			e->due_promised++;
			e->due_legal++;
			e->on_time_promised += c->decide + BASE_DAY <=
					       due_day(BASE_DAY + c->accept, CH_PROMISED_DAYS);
			e->on_time_legal += c->decide + BASE_DAY <=
					    due_day(BASE_DAY + c->accept, CH_LEGAL_DAYS);
			e->days_n++;
			e->days_sum += days;
			e->hist[days < DAYS_CAP ? days : DAYS_CAP]++;
		}
		int ended = (c->reject >= 0 && c->reject <= upto) ||
			    (c->withdraw >= 0 && c->withdraw <= upto) ||
			    (c->decide >= 0 && c->decide <= upto);
		if (!ended) {
			e->open++;
			if (c->accept >= 0 && c->accept <= upto &&
			    due_day(BASE_DAY + c->accept, CH_PROMISED_DAYS) < BASE_DAY + upto)
				e->overdue++;
		}
		if (in(c->rate, upto, from, to)) {
			e->evaluations++;
			e->score_sum += c->score;
		}
		/* a complaint counts under the department it concerns (the
		 * case's or the item's owner), not under the supervisor that
		 * handles it: a row of the supervisor is a mistake */
		if (in(c->cp_file, upto, from, to)) {
			e->complaints += c->cp_kind == ONESTOP_COMPLAINT;
			e->consultations += c->cp_kind == ONESTOP_CONSULTATION;
		}
		if (in(c->cp_answer, upto, from, to)) {
			e->answered++;
			e->answer_ms_sum +=
				at_ms(c->cp_answer, H_AFTER) - at_ms(c->cp_file, H_FILE);
		}
	}
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static void expect_row(const char *key, const struct exp_counts *e, struct exp_row *r)
{
	memset(r, 0, sizeof *r);
	r->key = key;
	r->filed = e->filed;
	r->accepted = e->accepted;
	r->rejected = e->rejected;
	r->approved = e->approved;
	r->denied = e->denied;
	r->decided = e->approved + e->denied;
	r->withdrawn = e->withdrawn;
	r->on_time_promised_rate = ratio(e->on_time_promised, e->due_promised);
	r->on_time_legal_rate = ratio(e->on_time_legal, e->due_legal);
	r->mean_days = ratio(e->days_sum, e->days_n);
	if (e->days_n > 0) { /* nearest rank: ceil(0.9 n) */
		uint64_t need = (9 * e->days_n + 9) / 10, cum = 0;
		unsigned d = 0;

		for (d = 0; d < DAYS_CAP; d++) {
			cum += e->hist[d];
			if (cum >= need)
				break;
		}
		r->p90_days = d;
		r->p90_capped = d >= DAYS_CAP;
	}
	r->open = e->open;
	r->overdue = e->overdue;
	r->online_share = ratio(e->web + e->mobile, e->filed);
	r->hall_share = ratio(e->hall, e->filed);
	r->hotline_share = ratio(e->hotline, e->filed);
	r->complaints = e->complaints;
	r->consultations = e->consultations;
	r->answered = e->answered;
	r->mean_response_hours = ratio(e->answer_ms_sum, e->answered) / 3600000.0;
	r->evaluations = e->evaluations;
	r->mean_score = ratio(e->score_sum, e->evaluations);
}

/* The expected rows of dim (present keys only); their number. */
static size_t expect_rows(const struct gcase *g, size_t n, int dim, int upto, int from, int to,
			  struct exp_row rows[N_KEYS])
{
	struct exp_counts e[N_KEYS];
	size_t k = 0;

	expect_counts(g, n, dim, upto, from, to, e);
	for (int i = 0; i < N_KEYS; i++)
		if (dim_keys[dim][i] && e[i].present)
			expect_row(dim_keys[dim][i], &e[i], &rows[k++]);
	return k;
}

/* ------------------------------------------------------------ comparing */

/* A field of a row: its name in the CLI's JSON and where it is in both
 * structs; double fields compare within the printed precision (JSON) or
 * 1e-9 relative (the library). json_required: the JSON must have it (else
 * it is checked when present); lib: the library's rows fill it. */
enum { F_U64, F_DBL, F_UINT, F_INT };
struct field {
	const char *name;
	int type;
	size_t exp_off, row_off;
	int json_required, lib;
};
#define FU(n)                                                                                  \
	{                                                                                      \
#n, F_U64, offsetof(struct exp_row, n), offsetof(onestop_stats_row_t, n), 1, 1 \
	}
#define FD(n)                                                                                  \
	{                                                                                      \
#n, F_DBL, offsetof(struct exp_row, n), offsetof(onestop_stats_row_t, n), 1, 1 \
	}
#define FX(n, t, req, lib)                                                                     \
	{                                                                                      \
#n, t, offsetof(struct exp_row, n), offsetof(onestop_stats_row_t, n), req, lib \
	}
static const struct field fields[] = {
	FU(filed),
	FU(accepted),
	FU(rejected),
	FU(approved),
	FU(denied),
	FU(decided),
	FU(withdrawn),
	FD(on_time_promised_rate),
	FD(on_time_legal_rate),
	FD(mean_days),
	FX(p90_days, F_UINT, 1, 1),
	FU(open),
	FU(overdue),
	FD(online_share),
	FD(hall_share),
	/* the row's extension: filled with the evaluations */
	FX(hotline_share, F_DBL, 0, IT_STATS_RATINGS),
	FX(p90_capped, F_INT, 0, 1),
	FX(complaints, F_U64, IT_STATS_COMPLAINTS, 1),
	FX(consultations, F_U64, IT_STATS_COMPLAINTS, 1),
	FX(answered, F_U64, IT_STATS_COMPLAINTS, 1),
	FX(mean_response_hours, F_DBL, IT_STATS_COMPLAINTS, 1),
	FX(evaluations, F_U64, IT_STATS_RATINGS, 1),
	FX(mean_score, F_DBL, IT_STATS_RATINGS, 1),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

static double field_num(const void *base, const struct field *f)
{
	const char *p = (const char *)base;

	switch (f->type) {
	case F_U64: {
		uint64_t v;
		memcpy(&v, p + f->exp_off, sizeof v);
		return (double)v;
	}
	case F_DBL: {
		double v;
		memcpy(&v, p + f->exp_off, sizeof v);
		return v;
	}
	case F_UINT: {
		unsigned v;
		memcpy(&v, p + f->exp_off, sizeof v);
		return (double)v;
	}
	default: {
		int v;
		memcpy(&v, p + f->exp_off, sizeof v);
		return (double)v;
	}
	}
}

/* The same field of a library row (at row_off). */
static double row_num(const onestop_stats_row_t *r, const struct field *f)
{
	struct field g = *f;

	g.exp_off = f->row_off;
	return field_num(r, &g);
}

static int same_num(double got, double want, double tol)
{
	return fabs(got - want) <= tol;
}

/* The tolerance of a figure printed as text: half its last digit. */
static double text_tol(const char *text)
{
	const char *dot = strchr(text, '.');
	double t = 0.0;

	if (dot) {
		size_t digits = strspn(dot + 1, "0123456789");

		t = 0.5 * pow(10.0, -(double)digits);
	}
	return t + 1e-9;
}

static double lib_tol(double want)
{
	return 1e-9 * (fabs(want) > 1.0 ? fabs(want) : 1.0);
}

/* Compare the library's rows of a dimension with the expected ones.
 * Differences go to stderr (the first few); their number. */
static int compare_lib(const onestop_stats_row_t *rows, size_t n, const struct exp_row *want,
		       size_t n_want, const char *what)
{
	int bad = 0;

	if (n != n_want) {
		fprintf(stderr, "  %s: %zu rows, want %zu\n", what, n, n_want);
		bad++;
	}
	for (size_t i = 0; i < n_want; i++) {
		const onestop_stats_row_t *r = NULL;

		for (size_t j = 0; j < n && !r; j++)
			if (strcmp(rows[j].key, want[i].key) == 0)
				r = &rows[j];
		if (!r) {
			fprintf(stderr, "  %s: no row %s\n", what, want[i].key);
			bad++;
			continue;
		}
		for (size_t f = 0; f < N_FIELDS; f++) {
			double got = row_num(r, &fields[f]), w = field_num(&want[i], &fields[f]);
			int ok = fields[f].type == F_DBL ? same_num(got, w, lib_tol(w)) : got == w;

			if (!fields[f].lib)
				continue;
			if (!ok && bad++ < 12)
				fprintf(stderr, "  %s: %s %s = %.6f, want %.6f\n", what,
					want[i].key, fields[f].name, got, w);
		}
	}
	return bad;
}

/* A row of the CLI's JSON: its fields as name and text. */
#define JSON_FIELDS 48
struct json_row {
	char key[300];
	size_t n;
	char name[JSON_FIELDS][48];
	char text[JSON_FIELDS][48];
};

static const char *skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

/* A JSON string at p (after the quote) into out; the position after the
 * closing quote, or NULL. */
static const char *json_str(const char *p, char *out, size_t cap)
{
	size_t k = 0;

	for (; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (k + 1 < cap)
			out[k++] = *p;
	}
	out[k] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* Parse `{"by":"...","rows":[{...},...]}` (flat rows of strings and
 * numbers) into rows (room for max); the number of rows, or -1. */
static long json_parse(const char *text, struct json_row *rows, size_t max)
{
	const char *p = text ? strstr(text, "\"rows\":[") : NULL;
	long n = 0;

	if (!p)
		return -1;
	p += strlen("\"rows\":[");
	for (;;) {
		p = skip_ws(p);
		if (*p == ']')
			return n;
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p != '{' || (size_t)n >= max)
			return -1;
		struct json_row *r = &rows[n++];

		memset(r, 0, sizeof *r);
		p++;
		for (;;) {
			char name[48], val[300];

			p = skip_ws(p);
			if (*p == ',') {
				p++;
				continue;
			}
			if (*p == '}') {
				p++;
				break;
			}
			if (*p != '"' || !(p = json_str(p + 1, name, sizeof name)))
				return -1;
			p = skip_ws(p);
			if (*p != ':')
				return -1;
			p = skip_ws(p + 1);
			if (*p == '"') {
				if (!(p = json_str(p + 1, val, sizeof val)))
					return -1;
			} else {
				size_t len = strspn(p, "-+.0123456789eEtruefals");

				if (len == 0 || len >= sizeof val)
					return -1;
				memcpy(val, p, len);
				val[len] = '\0';
				p += len;
			}
			if (strcmp(name, "key") == 0) {
				snprintf(r->key, sizeof r->key, "%s", val);
			} else if (r->n < JSON_FIELDS) {
				snprintf(r->name[r->n], sizeof r->name[r->n], "%s", name);
				snprintf(r->text[r->n], sizeof r->text[r->n], "%.47s", val);
				r->n++;
			}
		}
	}
}

static const char *json_get(const struct json_row *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->name[i], name) == 0)
			return r->text[i];
	return NULL;
}

/* Compare the CLI's JSON rows with the expected ones; the differences. */
static int compare_json(const char *out, const struct exp_row *want, size_t n_want,
			const char *what)
{
	static struct json_row rows[16];
	static int told;
	long n = json_parse(out, rows, 16);
	int bad = 0;

	if (n < 0) {
		fprintf(stderr, "  %s: not the JSON expected: %.300s\n", what, out ? out : "");
		return 1;
	}
	if ((size_t)n != n_want) {
		fprintf(stderr, "  %s: %ld rows, want %zu\n", what, n, n_want);
		bad++;
	}
	for (size_t i = 0; i < n_want; i++) {
		const struct json_row *r = NULL;

		for (long j = 0; j < n && !r; j++)
			if (strcmp(rows[j].key, want[i].key) == 0)
				r = &rows[j];
		if (!r) {
			fprintf(stderr, "  %s: no row %s\n", what, want[i].key);
			bad++;
			continue;
		}
		for (size_t f = 0; f < N_FIELDS; f++) {
			const char *t = json_get(r, fields[f].name);
			double w = field_num(&want[i], &fields[f]);

			if (!t) {
				if (fields[f].json_required && bad++ < 12)
					fprintf(stderr, "  %s: %s has no %s\n", what, want[i].key,
						fields[f].name);
				continue;
			}
			double got = strcmp(t, "true") == 0    ? 1.0
				     : strcmp(t, "false") == 0 ? 0.0
							       : strtod(t, NULL);
			if (!same_num(got, w, fields[f].type == F_DBL ? text_tol(t) : 0.0) &&
			    bad++ < 12)
				fprintf(stderr, "  %s: %s %s = %s, want %.6f\n", what, want[i].key,
					fields[f].name, t, w);
		}
		for (size_t j = 0; j < r->n && !told; j++) {
			int known = 0;

			for (size_t f = 0; f < N_FIELDS; f++)
				known |= strcmp(fields[f].name, r->name[j]) == 0;
			if (!known)
				fprintf(stderr, "  (a field the test does not check: %s)\n",
					r->name[j]);
		}
	}
	told = 1;
	return bad;
}

/* ------------------------------------------------------------ the run */

struct run {
	struct case_net cn;
	struct net *n;
	char clock[H_PATH];
	struct gcase *g;
	size_t n_cases;
	onestop_t *idp[2], *hall[2], *dept[2], *sup; /* two for the filing threads */
	/* what was done so far, as the supervisor should count it */
	uint64_t filed, accepted, rejected, withdrawn, decided, rated, cp_filed, cp_answered;
	uint64_t withdrawn_before; /* at the start of the day's steps */
	uint64_t wait_ms;          /* spent waiting for the supervisor to catch up */
};

static void clock_at(struct run *r, int day, int hour)
{
	if (ch_clock_set(r->clock, at_ms(day, hour)) != 0)
		H_REQUIRE(r->n, 0, "case clock set to day %d %02d:00", day, hour);
}

/* Print the reckoned figures of dim at the end: what the test compares. */
static void print_rows(const struct run *r, int dim)
{
	struct exp_row w[N_KEYS];
	size_t k = expect_rows(r->g, r->n_cases, dim, LAST_DAY, 0, LAST_DAY + 1, w);

	for (size_t i = 0; i < k; i++)
		fprintf(stderr,
			"  %-14s filed %llu accepted %llu rejected %llu approved %llu denied %llu "
			"withdrawn %llu on_time %.4f/%.4f mean_days %.3f p90 %u open %llu overdue "
			"%llu online %.4f hall %.4f hotline %.4f complaints %llu+%llu answered %llu "
			"(%.2f h) evaluations %llu (%.3f)\n",
			w[i].key, (unsigned long long)w[i].filed, (unsigned long long)w[i].accepted,
			(unsigned long long)w[i].rejected, (unsigned long long)w[i].approved,
			(unsigned long long)w[i].denied, (unsigned long long)w[i].withdrawn,
			w[i].on_time_promised_rate, w[i].on_time_legal_rate, w[i].mean_days,
			w[i].p90_days, (unsigned long long)w[i].open,
			(unsigned long long)w[i].overdue, w[i].online_share, w[i].hall_share,
			w[i].hotline_share, (unsigned long long)w[i].complaints,
			(unsigned long long)w[i].consultations, (unsigned long long)w[i].answered,
			w[i].mean_response_hours, (unsigned long long)w[i].evaluations,
			w[i].mean_score);
}

/* A connection to p, fatal when none. */
static void connect_to(struct run *r, struct net_proc *p, onestop_t **c)
{
	onestop_close(c);
	H_REQUIRE(r->n, net_connect(p, h_ms(20000), c) == 0, "connected to %s", p->name);
}

/* File case c at hall with a fresh assertion from idp. 0, or the code
 * with why set. */
static int file_one(onestop_t *idp, onestop_t *hall, struct gcase *c, char *why, size_t why_size)
{
	onestop_case_ref_t refs[2] = {{"identity", CH_SUBJECT, CH_MAT_ID},
				      {ONESTOP_DS_LICENCES, LICENCE, CH_MAT_LIC}};
	const char doc[] = "scan";
	onestop_case_upload_t up = {CH_MAT_FORM, (const uint8_t *)doc, sizeof doc - 1};
	onestop_case_filing_t f;
	uint8_t *as = NULL;
	size_t as_len = 0;
	int rc;

	memset(&f, 0, sizeof f);
	f.item = item_code[c->item];
	f.channel = c->channel;
	f.refs = refs;
	f.n_refs = c->item == I_PMT ? 2 : 1;
	if (c->item == I_LIC || c->item == I_REG) {
		f.uploads = &up;
		f.n_uploads = 1;
	}
	rc = onestop_assert_issue(idp, CH_SUBJECT, 2, CH_HALL, 0, &as, &as_len);
	if (rc != 0) {
		snprintf(why, why_size, "assertion: %d %s (%s)", rc, os_errname(rc),
			 onestop_last_error(idp));
		return rc;
	}
	f.assertion = as;
	f.assertion_len = as_len;
	rc = onestop_case_file(hall, &f, c->id);
	free(as);
	if (rc != 0)
		snprintf(why, why_size, "filing of %s: %d %s (%s)", f.item, rc, os_errname(rc),
			 onestop_last_error(hall));
	return rc;
}

/* Make action (outcome for DECIDE) on case g through c. 0, or the code
 * with why set. */
static int act_one(onestop_t *c, const struct gcase *g, int action, int outcome, char *why,
		   size_t why_size)
{
	onestop_case_act_t a;
	char hex[2 * ONESTOP_ID_LEN + 1];
	int rc;

	memset(&a, 0, sizeof a);
	a.action = action;
	a.outcome = outcome;
	a.reason = action == ONESTOP_ACT_DECIDE ? "decided" : NULL;
	rc = onestop_case_act(c, g->id, &a, NULL);
	if (rc != 0) {
		os_hex(hex, g->id, ONESTOP_ID_LEN);
		snprintf(why, why_size, "case %s: %s: %d %s (%s)", hex,
			 onestop_case_action_name(action), rc, os_errname(rc),
			 onestop_last_error(c));
	}
	return rc;
}

/* A thread's share of a day: the filings of one half of the cases
 * (part 0 or 1, through its own idp and hall connections), or the steps
 * of one department (part: its index, through its connection). */
struct worker {
	struct run *r;
	int day, part;
	onestop_t *idp, *to;
	uint64_t filed, accepted, rejected, decided, rated, answered;
	uint64_t steps; /* made so far; read by the main thread (atomic) */
	int finished;   /* atomic */
	char why[512];  /* the first failure, "" if none */
};

static void worker_step(struct worker *w)
{
	__atomic_add_fetch(&w->steps, 1, __ATOMIC_RELAXED);
}

static void *file_part(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;

	for (size_t i = 0; i < r->n_cases; i++) {
		struct gcase *c = &r->g[i];

		if (c->file != w->day || (int)(i % 2) != w->part)
			continue;
		if (file_one(w->idp, w->to, c, w->why, sizeof w->why) != 0)
			break;
		w->filed++;
		worker_step(w);
	}
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *dept_part(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;
	int rc = 0;

	for (size_t i = 0; i < r->n_cases && rc == 0; i++) {
		struct gcase *c = &r->g[i];

		if (item_dept[c->item] != w->part)
			continue;
		if (c->reject == w->day) {
			rc = act_one(w->to, c, ONESTOP_ACT_REJECT, 0, w->why, sizeof w->why);
			w->rejected += rc == 0;
		} else if (c->accept == w->day) {
			rc = act_one(w->to, c, ONESTOP_ACT_ACCEPT, 0, w->why, sizeof w->why);
			w->accepted += rc == 0;
		} else {
			continue;
		}
		worker_step(w);
	}
	for (size_t i = 0; i < r->n_cases && rc == 0; i++) {
		struct gcase *c = &r->g[i];

		if (item_dept[c->item] != w->part || c->decide != w->day)
			continue;
		rc = act_one(w->to, c, ONESTOP_ACT_DECIDE, c->outcome, w->why, sizeof w->why);
		w->decided += rc == 0;
		worker_step(w);
	}
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Run fn in two threads (parts 0 and 1) over w[0..1], and main (may be
 * NULL) meanwhile in this one; join them; fatal when one failed. */
static void run_two(struct run *r, struct worker w[2], void *(*fn)(void *),
		    void (*main_fn)(struct run *r, struct worker w[2]), const char *what)
{
	pthread_t t[2];
	int started[2] = {0, 0};

	for (int k = 0; k < 2; k++) {
		w[k].r = r;
		w[k].part = k;
		started[k] = pthread_create(&t[k], NULL, fn, &w[k]) == 0;
		if (!started[k])
			fn(&w[k]);
	}
	if (main_fn)
		main_fn(r, w);
	for (int k = 0; k < 2; k++) {
		if (started[k])
			pthread_join(t[k], NULL);
		if (w[k].why[0])
			H_REQUIRE(r->n, 0, "%s: %s", what, w[k].why);
	}
}

#if IT_STATS_RATINGS
/* The applicant rates case c at its owner (through to, with a fresh
 * assertion from idp). 0, or the code with why set. */
static int rate_one(onestop_t *idp, onestop_t *to, const struct gcase *c, char *why,
		    size_t why_size)
{
	onestop_rating_t rt;
	uint8_t *as = NULL;
	size_t as_len = 0;
	int pending = 0, rc = onestop_assert_issue(idp, CH_SUBJECT, 2,
						   dept_name[item_dept[c->item]], 0, &as, &as_len);

	memset(&rt, 0, sizeof rt);
	rt.score = c->score;
	rt.assertion = as;
	rt.assertion_len = as_len;
	rt.channel = ONESTOP_CHANNEL_WEB;
	if (rc == 0)
		rc = onestop_case_rate(to, c->id, &rt, &pending);
	free(as);
	if (rc != 0) {
		char hex[2 * ONESTOP_ID_LEN + 1];

		os_hex(hex, c->id, ONESTOP_ID_LEN);
		snprintf(why, why_size, "case %s rated: %d %s (%s)", hex, rc, os_errname(rc),
			 onestop_last_error(to));
	}
	return rc;
}
#endif

#if IT_STATS_COMPLAINTS
/* A complaint about the case, or a consultation about its item, filed at
 * the hall. */
static void complain(struct run *r, struct gcase *c)
{
	onestop_complaint_filing_t f;
	char about[400], hex[2 * ONESTOP_ID_LEN + 1];
	const char text[] = "how long does it take";
	uint8_t *as = NULL;
	size_t as_len = 0;
	int rc = onestop_assert_issue(r->idp[0], CH_SUBJECT, 2, CH_HALL, 0, &as, &as_len);

	os_hex(hex, c->id, ONESTOP_ID_LEN);
	if (c->cp_kind == ONESTOP_COMPLAINT)
		snprintf(about, sizeof about, "case:%s", hex);
	else
		snprintf(about, sizeof about, "item:%s", item_code[c->item]);
	memset(&f, 0, sizeof f);
	f.kind = c->cp_kind;
	f.about = about;
	f.text = (const uint8_t *)text;
	f.text_len = sizeof text - 1;
	f.assertion = as;
	f.assertion_len = as_len;
	f.channel = ONESTOP_CHANNEL_HOTLINE;
	if (rc == 0)
		rc = onestop_complaint_file(r->hall[0], &f, c->cp_id, NULL);
	free(as);
	if (rc != 0)
		H_REQUIRE(r->n, rc == 0, "%s filed (rc %d %s \"%s\")", about, rc, os_errname(rc),
			  onestop_last_error(r->hall[0]));
	r->cp_filed++;
}

/* Its handler answers (through h: the supervisor a complaint, the
 * item's owner a consultation). 0, or the code with why set. */
static int answer_one(onestop_t *h, const struct gcase *c, char *why, size_t why_size)
{
	const char text[] = "ten working days at most";
	uint64_t seq = 0, end = h_now_ms() + (uint64_t)h_ms(20000);
	int pending = 0, rc;

	/* a consultation may still be on its way to the department */
	while ((rc = onestop_complaint_act(h, c->cp_id, ONESTOP_CP_ANSWER, NULL,
					   (const uint8_t *)text, sizeof text - 1, NULL, &seq,
					   &pending)) == ONESTOP_ENOTFOUND &&
	       h_now_ms() < end)
		h_sleep_ms(20);
	if (rc != 0) {
		char hex[2 * ONESTOP_ID_LEN + 1];

		os_hex(hex, c->cp_id, ONESTOP_ID_LEN);
		snprintf(why, why_size, "complaint %s answered: %d %s (%s)", hex, rc,
			 os_errname(rc), onestop_last_error(h));
	}
	return rc;
}
#endif

/* After the steps of a day, for the department of part: the ratings of
 * its cases and the answers to the consultations about its items. */
static void *after_part(void *arg)
{
	struct worker *w = arg;
	struct run *r = w->r;

	for (size_t i = 0; i < r->n_cases && !w->why[0]; i++) {
		const struct gcase *c = &r->g[i];

		if (item_dept[c->item] != w->part)
			continue;
#if IT_STATS_RATINGS
		if (c->rate == w->day && rate_one(w->idp, w->to, c, w->why, sizeof w->why) == 0)
			w->rated++;
#endif
#if IT_STATS_COMPLAINTS
		if (c->cp_kind == ONESTOP_CONSULTATION && c->cp_answer == w->day && !w->why[0] &&
		    answer_one(w->to, c, w->why, sizeof w->why) == 0)
			w->answered++;
#endif
		(void)c;
	}
	__atomic_store_n(&w->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* Meanwhile the supervisor answers the complaints it handles. */
static void sup_answers(struct run *r, struct worker w[2])
{
#if IT_STATS_COMPLAINTS
	char why[512] = "";

	for (size_t i = 0; i < r->n_cases; i++) {
		const struct gcase *c = &r->g[i];

		if (c->cp_kind != ONESTOP_COMPLAINT || c->cp_answer != w[0].day)
			continue;
		if (answer_one(r->sup, c, why, sizeof why) != 0)
			H_REQUIRE(r->n, 0, "the supervisor answers: %s", why);
		r->cp_answered++;
	}
#else
	(void)r;
	(void)w;
#endif
}

/* Wait until the supervisor counted everything done so far (its totals
 * over the regions). 0 or -1 (the last totals printed). */
static int caught_up(struct run *r, int timeout_ms)
{
	uint64_t start = h_now_ms(), end = start + (uint64_t)timeout_ms;
	uint64_t t[8] = {0};
	int rc = 0;

	for (;;) {
		onestop_stats_row_t *rows = NULL;
		size_t k = 0;

		if (!r->sup && net_connect(r->cn.sup, h_ms(10000), &r->sup) != 0)
			onestop_close(&r->sup);
		rc = r->sup ? onestop_stats(r->sup, "region", NULL, NULL, &rows, &k) : -1;
		if (rc == 0) {
			memset(t, 0, sizeof t);
			for (size_t i = 0; i < k; i++) {
				t[0] += rows[i].filed;
				t[1] += rows[i].accepted;
				t[2] += rows[i].rejected;
				t[3] += rows[i].withdrawn;
				t[4] += rows[i].decided;
				t[5] += rows[i].evaluations;
				t[6] += rows[i].complaints + rows[i].consultations;
				t[7] += rows[i].answered;
			}
			free(rows);
			if (t[0] == r->filed && t[1] == r->accepted && t[2] == r->rejected &&
			    t[3] == r->withdrawn && t[4] == r->decided && t[5] == r->rated &&
			    t[6] == r->cp_filed && t[7] == r->cp_answered) {
				r->wait_ms += h_now_ms() - start;
				return 0;
			}
		} else {
			onestop_close(&r->sup);
		}
		if (h_now_ms() >= end)
			break;
		h_sleep_ms(20);
	}
	fprintf(stderr,
		"  the supervisor counted filed %llu accepted %llu rejected %llu withdrawn %llu "
		"decided %llu rated %llu complaints %llu answered %llu (rc %d); done: %llu %llu "
		"%llu %llu %llu %llu %llu %llu\n",
		(unsigned long long)t[0], (unsigned long long)t[1], (unsigned long long)t[2],
		(unsigned long long)t[3], (unsigned long long)t[4], (unsigned long long)t[5],
		(unsigned long long)t[6], (unsigned long long)t[7], rc,
		(unsigned long long)r->filed, (unsigned long long)r->accepted,
		(unsigned long long)r->rejected, (unsigned long long)r->withdrawn,
		(unsigned long long)r->decided, (unsigned long long)r->rated,
		(unsigned long long)r->cp_filed, (unsigned long long)r->cp_answered);
	return -1;
}

/* Every figure of every dimension, through the library and the CLI
 * (rebuild first when asked), against what the test reckons of the days
 * up to today, over the days [from, to) (dates passed when period). */
static void check_all(struct run *r, int today, int period, int rebuild, const char *when)
{
	int from = period ? PERIOD_FROM : 0, to = period ? PERIOD_TO : LAST_DAY + 1;
	char dfrom[16], dto[16];

	if (period) {
		H_REQUIRE(r->n,
			  cal_date_from_day(BASE_DAY + from, dfrom) == 0 &&
				  cal_date_from_day(BASE_DAY + to, dto) == 0,
			  "period dates");
	}
	for (int d = 0; d < N_DIMS; d++) {
		struct exp_row want[N_KEYS];
		size_t n_want = expect_rows(r->g, r->n_cases, d, today, from, to, want);
		struct cmd_out out;
		char what[160];
		int rc;

		memset(&out, 0, sizeof out);
		if (period)
			rc = ch_cli(r->n, r->cn.sup, &out, "stats", "--by", dim_name[d], "--from",
				    dfrom, "--to", dto, "--json", NULL);
		else if (rebuild && d == 0)
			rc = ch_cli(r->n, r->cn.sup, &out, "stats", "--by", dim_name[d],
				    "--rebuild", "--json", NULL);
		else
			rc = ch_cli(r->n, r->cn.sup, &out, "stats", "--by", dim_name[d], "--json",
				    NULL);
		snprintf(what, sizeof what, "%s, onestop stats --by %s%s%s --json", when,
			 dim_name[d], period ? " --from --to" : "",
			 rebuild && d == 0 ? " --rebuild" : "");
		H_CHECK(r->n, rc == 0 && compare_json(out.out, want, n_want, what) == 0,
			"%s: every figure of its %zu rows as reckoned (exit %d %.200s)", what,
			n_want, rc, out.err ? out.err : "");
		cmd_out_free(&out);

		onestop_stats_row_t *rows = NULL;
		size_t k = 0;

		if (!r->sup)
			connect_to(r, r->cn.sup, &r->sup);
		rc = onestop_stats(r->sup, dim_name[d], period ? dfrom : NULL, period ? dto : NULL,
				   &rows, &k);
		snprintf(what, sizeof what, "%s, onestop_stats by %s%s", when, dim_name[d],
			 period ? " over the period" : "");
		H_CHECK(r->n, rc == 0 && compare_lib(rows, k, want, n_want, what) == 0,
			"%s: every figure of its %zu rows as reckoned (rc %d)", what, n_want, rc);
		free(rows);
	}
}

/* One day of the timeline: filings and complaints, the steps, ratings and
 * answers; the supervisor is killed during the steps of KILL_DAY and
 * restarted. */
/* The main thread's part of the steps: the hall's withdrawals, and on
 * KILL_DAY the kill -9 of the supervisor's spoke once half the day's
 * steps are made, while events are on their way to it. */
static void hall_part(struct run *r, struct worker w[2])
{
	int day = w[0].day;
	uint64_t total = 0, half;
	char why[512] = "";

	for (size_t i = 0; i < r->n_cases; i++) {
		struct gcase *c = &r->g[i];

		total += c->withdraw == day || c->reject == day || c->accept == day ||
			 c->decide == day;
		if (c->withdraw != day)
			continue;
		if (act_one(r->hall[0], c, ONESTOP_ACT_WITHDRAW, 0, why, sizeof why) != 0)
			H_REQUIRE(r->n, 0, "withdrawn at the hall: %s", why);
		r->withdrawn++;
	}
	if (day != KILL_DAY)
		return;
	half = total / 2;
	for (;;) { /* bounded by the workers, which finish */
		uint64_t made = r->withdrawn - r->withdrawn_before +
				__atomic_load_n(&w[0].steps, __ATOMIC_RELAXED) +
				__atomic_load_n(&w[1].steps, __ATOMIC_RELAXED);

		if (made >= half || (__atomic_load_n(&w[0].finished, __ATOMIC_ACQUIRE) &&
				     __atomic_load_n(&w[1].finished, __ATOMIC_ACQUIRE))) {
			fprintf(stderr,
				"kill -9 of the supervisor's spoke after %llu of the %llu steps of "
				"day %d\n",
				(unsigned long long)made, (unsigned long long)total, day);
			break;
		}
		h_sleep_ms(1);
	}
	onestop_close(&r->sup);
	proc_kill(r->n, r->cn.sup);
}

/* One day of the timeline: filings and complaints, the steps, ratings and
 * answers; the supervisor is killed during the steps of KILL_DAY and
 * restarted. */
static void run_day(struct run *r, int day)
{
	struct worker w[2];

	clock_at(r, day, H_FILE);
	memset(w, 0, sizeof w);
	for (int k = 0; k < 2; k++) {
		w[k].day = day;
		w[k].idp = r->idp[k];
		w[k].to = r->hall[k];
	}
	run_two(r, w, file_part, NULL, "filing");
	r->filed += w[0].filed + w[1].filed;
#if IT_STATS_COMPLAINTS
	for (size_t i = 0; i < r->n_cases; i++)
		if (r->g[i].cp_kind && r->g[i].cp_file == day)
			complain(r, &r->g[i]);
#endif
	if (caught_up(r, h_ms(120000)) != 0)
		H_REQUIRE(r->n, 0, "day %d: the supervisor counted the filings (%llu so far)", day,
			  (unsigned long long)r->filed);

	clock_at(r, day, H_ACT);
	memset(w, 0, sizeof w);
	for (int k = 0; k < 2; k++) {
		w[k].day = day;
		w[k].to = r->dept[k];
	}
	r->withdrawn_before = r->withdrawn;
	run_two(r, w, dept_part, hall_part, "a department's step");
	for (int k = 0; k < 2; k++) {
		r->accepted += w[k].accepted;
		r->rejected += w[k].rejected;
		r->decided += w[k].decided;
	}
	if (day == KILL_DAY) {
		H_REQUIRE(r->n,
			  proc_start(r->n, r->cn.sup) == 0 &&
				  net_spoke_ready(r->n, r->cn.sup, 1, h_ms(30000)) == 0,
			  "the supervisor's spoke restarted after kill -9");
	}
	if (caught_up(r, h_ms(120000)) != 0)
		H_REQUIRE(
			r->n, 0,
			"day %d: the supervisor counted the steps (%llu accepted, %llu decided so far)",
			day, (unsigned long long)r->accepted, (unsigned long long)r->decided);

	clock_at(r, day, H_AFTER);
	if (IT_STATS_RATINGS || IT_STATS_COMPLAINTS) {
		memset(w, 0, sizeof w);
		for (int k = 0; k < 2; k++) {
			w[k].day = day;
			w[k].idp = r->idp[k];
			w[k].to = r->dept[k];
		}
		run_two(r, w, after_part, sup_answers, "a rating or an answer");
		r->rated += w[0].rated + w[1].rated;
		r->cp_answered += w[0].answered + w[1].answered;
		if (caught_up(r, h_ms(120000)) != 0)
			H_REQUIRE(r->n, 0, "day %d: the supervisor counted the ratings and answers",
				  day);
	}
}

int main(void)
{
	const char *env_n = getenv("ONESTOP_STATS_CASES");
	char dir[] = "/tmp/onestop-it-stats-XXXXXX";
	struct net_opts o;
	struct run r;
	uint64_t t0, t_day;
	int rc;

	memset(&r, 0, sizeof r);
	r.n_cases = DEFAULT_CASES;
	if (env_n && atol(env_n) > 0 && atol(env_n) <= DEFAULT_CASES)
		r.n_cases = (size_t)atol(env_n);
	r.g = calloc(r.n_cases, sizeof *r.g);
	if (!r.g || !mkdtemp(dir)) {
		perror("setup");
		return 1;
	}
	generate(r.g, r.n_cases);
	snprintf(r.clock, sizeof r.clock, "%s/clock", dir);
	if (ch_clock_set(r.clock, at_ms(0, 0)) != 0 ||
	    setenv("ONESTOP_CASE_CLOCK_FILE", r.clock, 1) != 0) {
		perror(r.clock);
		return 1;
	}
	ch_opts_sup(&o);
	ch_start(&r.cn, &o);
	r.n = r.cn.n;
	H_REQUIRE(r.n, r.cn.sup != NULL, "the supervisor's spoke exists");
	for (int k = 0; k < 2; k++) {
		connect_to(&r, r.cn.idp, &r.idp[k]);
		connect_to(&r, r.cn.hall, &r.hall[k]);
	}
	connect_to(&r, r.cn.owner, &r.dept[0]);
	connect_to(&r, r.cn.dept, &r.dept[1]);
	connect_to(&r, r.cn.sup, &r.sup);
	/* the prior licence the permit asks for, valid over the whole timeline */
	H_REQUIRE(r.n,
		  ch_put_licence(r.cn.owner, LICENCE, CH_ITEM_LIC, CH_SUBJECT, CH_OWNER, 1,
				 at_ms(LAST_DAY + 400, 0), 1) == 0 &&
			  ch_wait_licence(r.cn.hall, LICENCE, 0, h_ms(30000)) == 0 &&
			  ch_wait_licence(r.cn.dept, LICENCE, 0, h_ms(30000)) == 0,
		  "the owner published the applicant's licence, hall and dept verify it");

	fprintf(stderr, "%zu cases over %d days from 2026-11-02 (seed %#llx)\n", r.n_cases,
		LAST_DAY + 1, (unsigned long long)SEED);
	t0 = h_now_ms();
	for (int day = 0; day <= LAST_DAY; day++) {
		t_day = h_now_ms();
		run_day(&r, day);
		fprintf(stderr, "  day %2d: %llu filed, %llu accepted, %llu decided (%llu ms)\n",
			day, (unsigned long long)r.filed, (unsigned long long)r.accepted,
			(unsigned long long)r.decided, (unsigned long long)(h_now_ms() - t_day));
		if (day == KILL_DAY)
			check_all(&r, day, 0, 0, "after kill -9 and restart");
	}
	fprintf(stderr,
		"  the timeline ran in %llu ms, %llu of them waiting for the supervisor to count "
		"what was done\n",
		(unsigned long long)(h_now_ms() - t0), (unsigned long long)r.wait_ms);
	H_CHECK(r.n, r.filed == r.n_cases, "every case filed (%llu)", (unsigned long long)r.filed);

	fprintf(stderr, "the figures reckoned by the test:\n");
	for (int d = 0; d < N_DIMS; d++)
		print_rows(&r, d);
	check_all(&r, LAST_DAY, 0, 0, "at the end");
	check_all(&r, LAST_DAY, 1, 0, "at the end");
	H_CHECK(r.n, proc_log_count(r.cn.sup, "supervision_event_not_counted", 0) == 0,
		"the supervisor counted every event it got");
	t_day = h_now_ms();
	check_all(&r, LAST_DAY, 0, 1, "rebuilt from the stored events");
	fprintf(stderr, "  rebuilt and checked in %llu ms\n",
		(unsigned long long)(h_now_ms() - t_day));
	check_all(&r, LAST_DAY, 1, 0, "rebuilt");

	for (int k = 0; k < 2; k++) {
		onestop_close(&r.idp[k]);
		onestop_close(&r.hall[k]);
	}
	onestop_close(&r.dept[0]);
	onestop_close(&r.dept[1]);
	onestop_close(&r.sup);
	free(r.g);
	rc = net_done(&r.n);
	unlink(r.clock);
	rmdir(dir);
	return rc;
}
