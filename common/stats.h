/* Supervision statistics (docs/PROTOCOL.md section 12.3, draft): exact
 * running aggregates over supervision events, kept by the caller as small
 * fixed-size records, a reducer of records into the figures of a period,
 * and the market-monitoring rule. Pure: no I/O, no clock, no store.
 *
 * Records. An aggregate is a struct st_counts stored under a struct
 * st_key (table, dimension, key, day), encoded by st_key_encode so that
 * the records of one (table, dimension, key) are contiguous and sorted by
 * day. Tables:
 *   ST_T_DAY     per dimension (item, owner, region), key and event day
 *                (the day of the event's at_ms in the supervisor's
 *                calendar): what happened that day;
 *   ST_T_OPEN    per dimension, key and promised due day (ST_NO_DUE
 *                before acceptance): the cases open now (field open);
 *   ST_T_MARKET  per region (key), item kind (kind) and event day: the
 *                approvals of market kinds (field approved).
 *
 * Counting. st_apply turns one event and the per-case state the caller
 * keeps (struct st_case, under (kind, id)) into a list of changes (key,
 * delta) and the next per-case state. The caller, in one transaction,
 * adds each delta to its record (st_counts_add; an absent record is all
 * zeros), stores the next state and the event. The per-case state is the
 * dedupe: events of one (kind, id) must come in seq order 1, 2, 3...
 * (an evaluation is seq 1 of its own (EVALUATION, case id)); one already
 * counted is OS_EEXIST and one after a gap OS_EGAP, both changing nothing.
 * st_apply is deterministic: the same event and state always give the
 * same changes, so rebuilding from the stored events (replayed per
 * (kind, id) in seq order from a zero state into empty records) gives
 * the same records.
 *
 * What is counted, on which day (the event day unless said):
 *   FILE: filed and its channel; opens the case (ST_T_OPEN).
 *   first ACCEPT: accepted. REJECT: rejected. WITHDRAW: withdrawn.
 *   DECIDE: approved or denied; the working days from filed_ms to the
 *     decision (cal_working_days_between in the caller's calendar) into
 *     days_n, days_sum and the histogram; against each due date that is
 *     set, on time when at_ms <= due (the spoke's overdue rule); market
 *     kinds approved into ST_T_MARKET (key region, kind item_kind).
 *   A case is open in states filed, accepted, more_needed, resubmitted,
 *     counted under the day of its promised due (ST_NO_DUE while it has
 *     none); it moves when its due changes and leaves when it is decided,
 *     rejected, withdrawn or closed. Overdue now: open with a due day
 *     before today, i.e. now > promised due when the due date is the end
 *     of a day in the supervisor's zone (as cal_due makes it).
 *   EVALUATION: evaluations and score_sum.
 *   COMPLAINT FILE: complaints or consultations (by complaint kind);
 *     the first ANSWER: answered and answer_ms_sum += at_ms - filed_ms
 *     (milliseconds, counted on the day of the answer).
 * A dimension whose key is empty in the event (a complaint about a node
 * has no item) is not counted. */
#ifndef OS_STATS_H
#define OS_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "supervision.h"
#include "util.h"

/* Working days to decision: hist[d] counts decisions after d days for d <
 * ST_DAYS_CAP, hist[ST_DAYS_CAP] those after ST_DAYS_CAP or more. */
#define ST_DAYS_CAP 63
#define ST_DAYS_BUCKETS (ST_DAYS_CAP + 1)
#define ST_NO_DUE (CAL_DAY_MAX + 1) /* ST_T_OPEN day of a case without a due date */
#define ST_KIND_MAX 16              /* a market kind and its NUL */
#define ST_KEY_BYTES (2 + OS_NAME_MAX + ST_KIND_MAX + 4) /* st_key_encode's largest */
#define ST_CHANGES_MAX 10                                /* st_apply's most changes */
#define ST_MARKET_DAYS 28              /* market history: the 28 days before the day */
#define ST_MARKET_COUNT_MAX (1u << 24) /* the largest daily count st_market_flag takes */

enum st_table {
	ST_T_DAY = 1,
	ST_T_OPEN = 2,
	ST_T_MARKET = 3,
};

enum st_dim {
	ST_ITEM = 1,
	ST_OWNER = 2, /* the owning department (for a complaint: the one it concerns) */
	ST_REGION = 3,
};

/* A record's key. dim is 0 for ST_T_MARKET; kind is "" except there. */
struct st_key {
	uint8_t table; /* enum st_table */
	uint8_t dim;   /* enum st_dim */
	char key[OS_NAME_MAX];
	char kind[ST_KIND_MAX];
	int32_t day;
};

/* A record: counters only (no pointers), stored as its bytes in host
 * order. Deltas from st_apply are added modulo 2^64 (a decrement is
 * UINT64_MAX), so a record is always the exact sum of its deltas. */
struct st_counts {
	uint64_t filed;
	uint64_t filed_web, filed_mobile, filed_hall, filed_hotline;
	uint64_t accepted, rejected, approved, denied, withdrawn;
	uint64_t due_promised, on_time_promised; /* decisions with a promised due; on time */
	uint64_t due_legal, on_time_legal;
	uint64_t days_n, days_sum;
	uint64_t days_hist[ST_DAYS_BUCKETS];
	uint64_t complaints, consultations, answered, answer_ms_sum;
	uint64_t evaluations, score_sum;
	uint64_t open; /* ST_T_OPEN only */
};

/* One record update of st_apply: add delta to the record under key. */
struct st_change {
	struct st_key key;
	struct st_counts delta;
};

/* What the caller keeps per (kind, id) between events; all zeros before
 * the first. Fixed size, no pointers: stored as its bytes. */
struct st_case {
	uint32_t kind;    /* enum sv_kind, 0 before the first event */
	uint64_t seq;     /* the last event counted */
	uint8_t open;     /* counted open in ST_T_OPEN under open_day */
	uint8_t accepted; /* the first ACCEPT was counted */
	uint8_t answered; /* the first ANSWER was counted */
	int32_t open_day;
	char item[SV_TEXT_MAX];
	char owner[OS_NAME_MAX];
	char region[OS_NAME_MAX];
};

/* Count event e (sv_event_valid) against prev, the state of its (kind,
 * id), in calendar c (the supervisor's: event days, working days, due
 * days). On 0: *next is the state to store, changes[0..*n) (room for
 * ST_CHANGES_MAX) the updates, none with an all-zero delta. Errors, with
 * *next = *prev and *n = 0:
 *   OS_EINVAL    a NULL argument, e invalid, prev of another kind, or a
 *                time outside c's range;
 *   OS_EEXIST    e->seq <= prev->seq: counted before (nothing to do);
 *   OS_EGAP      e->seq > prev->seq + 1: hold it until the ones before;
 *   OS_ECONFLICT e names another item, owner or region than the events
 *                of its (kind, id) before it.
 * prev and next may be the same object. */
int st_apply(const struct cal *c, const struct sv_event *e, const struct st_case *prev,
	     struct st_case *next, struct st_change *changes, size_t *n);

/* acc += d, field by field, modulo 2^64. */
void st_counts_add(struct st_counts *acc, const struct st_counts *d);

/* Encode k into buf (ST_KEY_BYTES bytes suffice): table, dim, key, NUL,
 * kind, NUL, day as 4 bytes big-endian, so that byte order is (table,
 * dim, key, kind, day) order. 0 and *len, or OS_EINVAL (NULL argument,
 * key or kind not NUL-terminated within its room, day < 0, cap too
 * small). */
int st_key_encode(const struct st_key *k, uint8_t *buf, size_t cap, size_t *len);
/* The reverse; 0 or OS_EINVAL (not an encoded key). */
int st_key_decode(const uint8_t *buf, size_t len, struct st_key *k);

/* The figures of one (dimension, key), or of a whole dimension, over the
 * days [from, to) and now. Rates are of decisions with that due date set;
 * a rate, a mean or a share is 0 when its denominator is 0. */
struct st_figures {
	uint64_t filed, accepted, rejected, approved, denied, decided, withdrawn;
	uint64_t due_promised, on_time_promised, due_legal, on_time_legal;
	double on_time_promised_rate, on_time_legal_rate;
	double mean_days;  /* working days, filing to decision */
	uint32_t p90_days; /* nearest rank: the least d with >= ceil(0.9 n) decisions in <= d */
	int p90_capped;    /* p90 is ST_DAYS_CAP or more */
	uint64_t open, overdue; /* now */
	uint64_t complaints, consultations, answered;
	double mean_response_ms; /* first answers in the period */
	uint64_t evaluations;
	double mean_score;
	uint64_t filed_online, filed_hall, filed_hotline; /* online: web and mobile */
	double online_share, hall_share, hotline_share;   /* of filed */
};

/* Sums records into figures. Feed it the records of the (table, dim, key)
 * ranges wanted (ST_T_DAY and ST_T_OPEN; others are ignored): ST_T_DAY
 * records count when from_day <= day < to_day, ST_T_OPEN records always
 * (open), and are overdue when their day < today (ST_NO_DUE never is). */
struct st_reducer {
	int32_t from_day, to_day, today;
	struct st_counts sum;
	uint64_t open, overdue;
};
void st_reduce_init(struct st_reducer *r, int32_t from_day, int32_t to_day, int32_t today);
/* 0, or OS_EINVAL for a NULL argument. */
int st_reduce_add(struct st_reducer *r, const struct st_key *k, const struct st_counts *c);
/* 0, or OS_EINVAL for a NULL argument. */
int st_reduce_end(const struct st_reducer *r, struct st_figures *f);

/* 1 when item_kind is a market kind: "licence", "permit", "registration". */
int st_market_kind(const char *item_kind);

/* The market rule: given the daily approval counts of one (region, kind)
 * for the days before a day (series[0..n), oldest first, a day without a
 * record counting 0; the caller starts the series at the first day it
 * has history for), and that day's count: 1 when count lies outside mean
 * +- 3 sigma of the last ST_MARKET_DAYS of the series (sigma the
 * population standard deviation; on the boundary is inside), else 0.
 * Fewer than ST_MARKET_DAYS days: 0 (too little history). sigma = 0: 1
 * exactly when count differs from the mean. Computed in integers, exact:
 * (28c - S)^2 > 9 (28 Q - S^2) with S and Q the sum and sum of squares.
 * OS_EINVAL for series NULL with n > 0, or a count (the day's or one of
 * the 28) over ST_MARKET_COUNT_MAX. */
int st_market_flag(const uint64_t *series, size_t n, uint64_t count);

#endif
