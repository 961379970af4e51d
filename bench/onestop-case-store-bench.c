/* onestop-case-store-bench: the spoke's case store (spoke/cases.c) in
 * process, without the daemon: fills a store with many cases (filed, a share
 * of them accepted with due dates around a chosen "now") and times the first
 * page of each listing, as `onestop cases --overdue` asks for it. A
 * benchmark, not a test: it prints figures and asserts nothing about speed. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "calendar.h"
#include "case.h"
#include "err.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include "cases.h"
#include "spoke.h"

#define DAY_MS 86400000ull
#define FILER "gd.hall"
#define OWNER "gd.owner"
#define ITEMS 32                    /* item codes the cases spread over */
#define PAGE_MAX 1000               /* the largest --page */
#define WALK_MAX_NS 120000000000ull /* the walk over every overdue case stops here */
#define WARM_RUNS 20                /* warm runs of each listing; the median is shown */
#define PROMISED_DAYS 10            /* working days, from the accept */
#define LEGAL_DAYS 30               /* working days, from the accept */
#define FILE_SPAN_DAYS 45           /* the cases are filed, in order, over the days before now */
#define ACCEPT_DELAY_DAYS 3         /* and the accepted ones accepted within this of their filing */
#define DECIDE_DELAY_DAYS 20        /* and the decided ones decided within this of their accept */

struct opts {
	uint64_t cases;
	unsigned accept_pct; /* share of the cases accepted */
	unsigned decide_pct; /* share of the accepted cases decided */
	unsigned batch;      /* cases per transaction */
	unsigned page;       /* the listings' page size */
	size_t file_bytes;   /* bytes of the FILE transition kept as history */
	size_t step_bytes;   /* bytes of the ACCEPT transition */
	size_t map_mb;
	unsigned max_secs; /* the fill stops here, whatever --cases says */
	const char *dir;   /* NULL: a fresh temporary directory, removed after */
	int keep;
	int reuse; /* measure the store in dir as it is, without filling it */
};

struct fx {
	char dir[4096];
	struct spoke *sp;
	struct cal cal;
	uint64_t now_ms; /* the "now" of the overdue listing */
};

/* A deterministic mix of n's bits (splitmix64). */
static uint64_t mix(uint64_t n)
{
	uint64_t z = n + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* When case n of o->cases was filed. */
static uint64_t filed_at(const struct fx *x, const struct opts *o, uint64_t n)
{
	return x->now_ms - FILE_SPAN_DAYS * DAY_MS + n * (FILE_SPAN_DAYS * DAY_MS) / o->cases;
}

/* Case n's id as the filing node makes it: 6 bytes of the filing time in
 * ms, big-endian, then 10 random-looking bytes. */
static void case_id(const struct fx *x, const struct opts *o, uint64_t n, uint8_t id[CASES_ID_LEN])
{
	uint8_t t[8];

	os_put_u64be(t, filed_at(x, o, n));
	memcpy(id, t + 2, 6);
	os_put_u64be(id + 6, mix(2 * n));
	os_put_u64be(t, mix(2 * n + 1));
	memcpy(id + 14, t, 2);
}

static int fx_open(struct fx *x, size_t map_mb)
{
	struct spoke *sp = x->sp;
	int rc;

	if ((rc = store_open(x->dir, map_mb, 8, &sp->st)) < 0 ||
	    (rc = store_dbi_open(sp->st, "cases", &sp->db_cases)) < 0 ||
	    (rc = store_dbi_open(sp->st, "case_hist", &sp->db_case_hist)) < 0 ||
	    (rc = store_dbi_open(sp->st, "case_idx", &sp->db_case_idx)) < 0)
		fprintf(stderr, "store %s: %s\n", x->dir, os_strerror(rc));
	return rc;
}

static void fx_close(struct fx *x)
{
	store_abort(&x->sp->txn);
	store_close(&x->sp->st);
}

static void data_path(const struct fx *x, char *p, size_t cap)
{
	snprintf(p, cap, "%s/data.mdb", x->dir);
}

/* Close the store and open it again: the first call after it is a cold
 * start of the process. With drop, the file's pages are also dropped from
 * the OS cache, so that the next reads go to the disk (as after a reboot). */
static int fx_reopen(struct fx *x, size_t map_mb, int drop)
{
	char p[4200];
	int fd;

	fx_close(x);
	data_path(x, p, sizeof(p));
	fd = drop ? open(p, O_RDONLY) : -1;
	if (fd >= 0) {
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	return fx_open(x, map_mb);
}

enum pass { PASS_FILE, PASS_ACCEPT, PASS_DECIDE };

/* When the accepted case n (r its random bits) was accepted, and when,
 * if it was, decided. */
static uint64_t accepted_at(const struct fx *x, const struct opts *o, uint64_t n, uint64_t r)
{
	uint64_t at = filed_at(x, o, n) + (r >> 8) % (ACCEPT_DELAY_DAYS * DAY_MS);
	return at < x->now_ms ? at : x->now_ms - 1;
}

static uint64_t decided_at(const struct fx *x, const struct opts *o, uint64_t n, uint64_t r)
{
	uint64_t at = accepted_at(x, o, n, r) + (r >> 24) % (DECIDE_DELAY_DAYS * DAY_MS);
	return at < x->now_ms ? at : x->now_ms - 1;
}

/* One transaction's worth of cases [first, first + n): filed; or the
 * accepted share of them accepted; or the decided share of those decided
 * (approved). */
static int fill_batch(struct fx *x, const struct opts *o, uint64_t first, uint64_t n,
		      enum pass pass, const uint8_t *content, uint64_t *done)
{
	static const char *const what[] = {"cases_file", "cases_apply accept",
					   "cases_apply decide"};
	struct spoke *sp = x->sp;
	struct store_txn *t = NULL;
	int rc = spoke_txn(sp, &t);

	for (uint64_t i = first; rc == 0 && i < first + n; i++) {
		uint8_t id[CASES_ID_LEN];
		uint64_t r = mix(i ^ 0x5eed);
		int accepted = r % 100 < o->accept_pct;
		int decided = accepted && (r >> 48) % 100 < o->decide_pct;
		int dup = 0;

		case_id(x, o, i, id);
		if (pass == PASS_FILE) {
			char item[32], subject[32];

			snprintf(item, sizeof(item), "ITEM-%04u", (unsigned)(r % ITEMS));
			snprintf(subject, sizeof(subject), "applicant-%llu",
				 (unsigned long long)(r >> 20) % 5000000);
			rc = cases_file(sp, t, id, FILER, OWNER, item, subject, "web",
					filed_at(x, o, i), content, o->file_bytes, &dup);
		} else if ((pass == PASS_ACCEPT && accepted) || (pass == PASS_DECIDE && decided)) {
			struct case_step s = {.seq = pass == PASS_ACCEPT ? 2 : 3,
					      .action = pass == PASS_ACCEPT ? CASE_ACT_ACCEPT
									    : CASE_ACT_DECIDE,
					      .outcome = pass == PASS_ACCEPT ? CASE_OUTCOME_NONE
									     : CASE_APPROVED,
					      .actor = OWNER,
					      .content = content,
					      .content_len = o->step_bytes};
			uint64_t at = pass == PASS_ACCEPT ? accepted_at(x, o, i, r)
							  : decided_at(x, o, i, r);

			rc = cases_apply(sp, t, id, &s, at, &x->cal, PROMISED_DAYS, LEGAL_DAYS,
					 &dup);
		} else {
			continue;
		}
		if (rc == 0 && dup)
			rc = OS_EEXIST; /* ids are distinct: a duplicate is a bug */
		if (rc == 0)
			(*done)++;
	}
	spoke_wrote(sp, rc);
	if (rc < 0)
		fprintf(stderr, "%s: %s\n", what[pass], os_strerror(rc));
	return spoke_commit(sp) < 0 && rc == 0 ? OS_ESTORE : rc;
}

/* File, then accept, then decide, in transactions of o->batch cases;
 * *cases_out is how many were filed (less than asked when max_secs ran
 * out). */
static int fill(struct fx *x, const struct opts *o, uint64_t *cases_out)
{
	static const char *const verb[] = {"filed", "accepted", "decided"};
	size_t cl = o->file_bytes > o->step_bytes ? o->file_bytes : o->step_bytes;
	uint8_t *content = malloc(cl ? cl : 1);
	uint64_t count[3] = {0, 0, 0}, deadline;
	double secs[3] = {0, 0, 0};
	int rc = 0;

	if (!content)
		return OS_ENOMEM;
	for (size_t i = 0; i < cl; i++)
		content[i] = (uint8_t)(i * 131 + 7);
	deadline = bu_now_ns() + (uint64_t)o->max_secs * 1000000000ull;
	for (int p = PASS_FILE; rc == 0 && p <= PASS_DECIDE; p++) {
		uint64_t t0 = bu_now_ns(), total = p == PASS_FILE ? o->cases : count[PASS_FILE];

		for (uint64_t i = 0; rc == 0 && i < total; i += o->batch) {
			uint64_t n = total - i < o->batch ? total - i : o->batch;
			if (p == PASS_FILE && bu_now_ns() > deadline) {
				printf("  the fill's time limit (%u s) ran out: %llu cases filed\n",
				       o->max_secs, (unsigned long long)count[p]);
				break;
			}
			rc = fill_batch(x, o, i, n, (enum pass)p, content, &count[p]);
		}
		secs[p] = (double)(bu_now_ns() - t0) / 1e9;
	}
	free(content);
	if (rc < 0)
		return rc;
	printf("fill (%u cases a transaction, each committed with fsync):", o->batch);
	for (int p = PASS_FILE; p <= PASS_DECIDE; p++)
		printf("%s %s %llu in %.1f s (%.0f/s)", p ? ";" : "", verb[p],
		       (unsigned long long)count[p], secs[p],
		       secs[p] > 0 ? (double)count[p] / secs[p] : 0.0);
	printf("\n");
	*cases_out = count[PASS_FILE];
	return 0;
}

/* A listing to time. */
struct query {
	const char *name;
	struct cases_filter f;
	int records; /* also read each listed case's record, as the API's reply holds it */
};

struct page {
	struct spoke *sp;
	struct store_txn *t;
	int records;
	size_t n;
	uint64_t due_sum; /* so that the reads are not optimised away */
	size_t not_open;  /* listed cases that are decided or final */
};

static int page_add(void *arg, const uint8_t id[CASES_ID_LEN])
{
	struct page *p = arg;
	struct cases_info c;
	int rc;

	p->n++;
	if (!p->records)
		return 0;
	if ((rc = cases_get(p->sp, p->t, id, &c)) < 0)
		return rc;
	p->due_sum += c.promised_due_ms;
	if (c.rec.state == CASE_DECIDED || case_state_final(c.rec.state))
		p->not_open++;
	return 0;
}

/* The first page of q in a fresh read transaction: its time in *ms and the
 * number listed in *n. */
static int time_page(struct fx *x, const struct query *q, unsigned limit, double *ms, size_t *n)
{
	struct page p = {.sp = x->sp, .records = q->records};
	uint64_t t0 = bu_now_ns();
	int more = 0, rc;

	if ((rc = store_begin(x->sp->st, 1, &p.t)) < 0)
		return rc;
	rc = cases_list(x->sp, p.t, &q->f, NULL, limit, page_add, &p, NULL, &more);
	store_abort(&p.t);
	*ms = (double)(bu_now_ns() - t0) / 1e6;
	*n = p.n;
	return rc;
}

/* Every page of the overdue listing with its records, each in its own read
 * transaction as the CLI pages (for at most WALK_MAX_NS): the pages, cases,
 * those of them that are not open (decided or final), and the time. */
static int walk_overdue(struct fx *x, unsigned limit, uint64_t *pages, uint64_t *cases,
			uint64_t *not_open, double *ms)
{
	struct cases_filter f = {.by = CASES_OVERDUE, .now_ms = x->now_ms};
	uint8_t after[CASES_ID_LEN];
	uint64_t t0 = bu_now_ns();
	int more = 1, first = 1, rc = 0;

	*pages = *cases = *not_open = 0;
	while (more && rc == 0 && *pages < 10000000 && bu_now_ns() - t0 < WALK_MAX_NS) {
		struct page p = {.sp = x->sp, .records = 1};
		if ((rc = store_begin(x->sp->st, 1, &p.t)) < 0)
			break;
		rc = cases_list(x->sp, p.t, &f, first ? NULL : after, limit, page_add, &p, after,
				&more);
		store_abort(&p.t);
		first = 0;
		(*pages)++;
		*cases += p.n;
		*not_open += p.not_open;
	}
	*ms = (double)(bu_now_ns() - t0) / 1e6;
	if (more && rc == 0)
		printf("  (the walk stopped after %.0f s, before the last page)\n", *ms / 1e3);
	return rc;
}

static long long disk_kib(const char *path, long long *apparent)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	*apparent = (long long)st.st_size / 1024;
	return (long long)st.st_blocks / 2;
}

static int measure(struct fx *x, const struct opts *o)
{
	enum { NQ = 6 };
	const struct query qs[NQ] = {
		{"overdue", {.by = CASES_OVERDUE, .now_ms = x->now_ms}, 0},
		{"overdue + records", {.by = CASES_OVERDUE, .now_ms = x->now_ms}, 1},
		{"by state accepted", {.by = CASES_BY_STATE, .state = CASE_ACCEPTED}, 0},
		{"by state filed", {.by = CASES_BY_STATE, .state = CASE_FILED}, 0},
		{"by state decided", {.by = CASES_BY_STATE, .state = CASE_DECIDED}, 0},
		{"by item ITEM-0007", {.by = CASES_BY_ITEM, .item = "ITEM-0007"}, 0},
	};
	char p[4200];
	long long kib, app = 0;
	uint64_t pages, cases, not_open;
	double ms;
	int rc;

	data_path(x, p, sizeof(p));
	kib = disk_kib(p, &app);
	printf("store on disk: %.1f MiB allocated (%.1f MiB file), %.0f bytes a case\n",
	       (double)kib / 1024, (double)app / 1024,
	       o->cases ? (double)kib * 1024 / (double)o->cases : 0.0);
	printf("first page of %u, each in a fresh read transaction (ms):\n", o->page);
	printf("  %-20s %10s %9s %9s %9s %9s %6s\n", "listing", "disk-cold", "reopened", "warm p50",
	       "warm min", "warm max", "cases");
	for (int i = 0; i < NQ; i++) {
		double reopened, cold, warm[WARM_RUNS];
		size_t n = 0;

		/* the first call after reopening the store with the OS cache
		 * dropped, then after reopening it again (the pages it needs
		 * now cached, as when the daemon restarts), then warm */
		if ((rc = fx_reopen(x, o->map_mb, 1)) < 0 ||
		    (rc = time_page(x, &qs[i], o->page, &cold, &n)) < 0 ||
		    (rc = fx_reopen(x, o->map_mb, 0)) < 0 ||
		    (rc = time_page(x, &qs[i], o->page, &reopened, &n)) < 0)
			goto fail;
		for (int r = 0; r < WARM_RUNS; r++)
			if ((rc = time_page(x, &qs[i], o->page, &warm[r], &n)) < 0)
				goto fail;
		bu_sort_double(warm, WARM_RUNS);
		printf("  %-20s %10.3f %9.3f %9.3f %9.3f %9.3f %6zu\n", qs[i].name, cold, reopened,
		       warm[WARM_RUNS / 2], warm[0], warm[WARM_RUNS - 1], n);
	}
	if ((rc = walk_overdue(x, o->page, &pages, &cases, &not_open, &ms)) < 0)
		goto fail;
	printf("every overdue case with its record, paged by %u: %llu cases in %llu pages, %.1f "
	       "ms (%.3f ms a page); %llu of them decided or closed, so not overdue\n",
	       o->page, (unsigned long long)cases, (unsigned long long)pages, ms,
	       pages ? ms / (double)pages : 0.0, (unsigned long long)not_open);
	return 0;
fail:
	fprintf(stderr, "listing: %s\n", os_strerror(rc));
	return rc;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: onestop-case-store-bench [--cases N] [--accept PCT] [--decide PCT]\n"
		"         [--batch N] [--page N] [--file-bytes N] [--step-bytes N] [--map-mb N]\n"
		"         [--max-secs N] [--dir DIR [--reuse]] [--keep]\n"
		"Fills a case store (spoke/cases.c) in process with N cases (default 1000000)\n"
		"filed over the %u days before a fixed now, accepts PCT%% of them (default 50)\n"
		"and decides PCT%% of those (default 50), then times the first page (default\n"
		"100) of the overdue, by-state and by-item listings: disk-cold (store reopened,\n"
		"its file dropped from the OS cache), reopened, and warm (median of %d). The\n"
		"store is made in DIR (default: a temporary directory, removed at the end\n"
		"unless --keep); --reuse measures the store in DIR as it is, without filling\n"
		"it. Prints figures; asserts nothing.\n",
		FILE_SPAN_DAYS, WARM_RUNS);
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {{"cases", required_argument, NULL, 'n'},
					   {"accept", required_argument, NULL, 'a'},
					   {"decide", required_argument, NULL, 'D'},
					   {"batch", required_argument, NULL, 'b'},
					   {"page", required_argument, NULL, 'p'},
					   {"file-bytes", required_argument, NULL, 'f'},
					   {"step-bytes", required_argument, NULL, 's'},
					   {"map-mb", required_argument, NULL, 'm'},
					   {"max-secs", required_argument, NULL, 't'},
					   {"dir", required_argument, NULL, 'd'},
					   {"keep", no_argument, NULL, 'k'},
					   {"reuse", no_argument, NULL, 'r'},
					   {"help", no_argument, NULL, 'h'},
					   {NULL, 0, NULL, 0}};
	int c;

	*o = (struct opts){.cases = 1000000,
			   .accept_pct = 50,
			   .decide_pct = 50,
			   .batch = 10000,
			   .page = 100,
			   .file_bytes = 512,
			   .step_bytes = 160,
			   .map_mb = 16384,
			   .max_secs = 900};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		uint64_t v = 0;
		int bad = 0;

		switch (c) {
		case 'n':
			bad = parse_u64(optarg, 1, 100000000, &o->cases);
			break;
		case 'a':
			bad = parse_u64(optarg, 0, 100, &v);
			o->accept_pct = (unsigned)v;
			break;
		case 'D':
			bad = parse_u64(optarg, 0, 100, &v);
			o->decide_pct = (unsigned)v;
			break;
		case 'b':
			bad = parse_u64(optarg, 1, 1000000, &v);
			o->batch = (unsigned)v;
			break;
		case 'p':
			bad = parse_u64(optarg, 1, PAGE_MAX, &v);
			o->page = (unsigned)v;
			break;
		case 'f':
			bad = parse_u64(optarg, 0, 65536, &v);
			o->file_bytes = (size_t)v;
			break;
		case 's':
			bad = parse_u64(optarg, 0, 65536, &v);
			o->step_bytes = (size_t)v;
			break;
		case 'm':
			bad = parse_u64(optarg, 16, 1048576, &v);
			o->map_mb = (size_t)v;
			break;
		case 't':
			bad = parse_u64(optarg, 1, 86400, &v);
			o->max_secs = (unsigned)v;
			break;
		case 'd':
			o->dir = optarg;
			break;
		case 'k':
			o->keep = 1;
			break;
		case 'r':
			o->reuse = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (bad) {
			fprintf(stderr, "onestop-case-store-bench: bad value: %s\n", optarg);
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc || (o->reuse && !o->dir)) {
		usage(stderr);
		return -1;
	}
	return 0;
}

static void rm_store(const char *dir)
{
	static const char *files[] = {"data.mdb", "lock.mdb"};
	char p[4200];

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct fx x = {0};
	uint64_t filed = 0;
	int32_t day;
	int rc = 1, made = 0;

	if (parse_opts(argc, argv, &o) < 0)
		return 2;
	os_log_set_level(OS_LOG_WARN);
	if (o.dir) {
		snprintf(x.dir, sizeof(x.dir), "%s", o.dir);
	} else {
		snprintf(x.dir, sizeof(x.dir), "/tmp/onestop-case-bench-XXXXXX");
		if (!mkdtemp(x.dir)) {
			perror("mkdtemp");
			return 1;
		}
		made = 1;
	}
	x.sp = calloc(1, sizeof(*x.sp));
	if (!x.sp || cal_init(&x.cal, 0) < 0 || cal_day_from_date("2026-12-03", &day) < 0)
		goto out;
	x.now_ms = (uint64_t)day * DAY_MS + 12 * 3600000ull;
	if (!o.reuse)
		printf("onestop-case-store-bench: %llu cases filed over the %u days before now; "
		       "%u%% of them accepted within %u days of filing (due %u working days "
		       "later), %u%% of those decided within %u days of accepting; store %s\n",
		       (unsigned long long)o.cases, FILE_SPAN_DAYS, o.accept_pct, ACCEPT_DELAY_DAYS,
		       PROMISED_DAYS, o.decide_pct, DECIDE_DELAY_DAYS, x.dir);
	if (fx_open(&x, o.map_mb) < 0)
		goto out;
	if (o.reuse) {
		struct store_txn *t = NULL;
		if (store_begin(x.sp->st, 1, &t) < 0 ||
		    store_count(t, x.sp->db_cases, &filed) < 0) {
			store_abort(&t);
			goto out;
		}
		store_abort(&t);
		printf("reusing the store's %llu cases\n", (unsigned long long)filed);
	} else if (fill(&x, &o, &filed) < 0) {
		goto out;
	}
	o.cases = filed;
	if (measure(&x, &o) < 0)
		goto out;
	rc = 0;
out:
	if (x.sp) {
		fx_close(&x);
		free(x.sp);
	}
	cal_clear(&x.cal);
	if (made && !o.keep)
		rm_store(x.dir);
	else if (made)
		printf("store kept in %s\n", x.dir);
	return rc;
}
