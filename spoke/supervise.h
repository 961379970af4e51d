/* A supervisor node's counts of the supervision events it receives
 * (docs/PROTOCOL.md 12.3): each event stored once, its (kind, id) state,
 * and the aggregate records of common/stats.c, kept in step in the
 * transaction of the event's receipt; and the figures read back. */
#ifndef SPOKE_SUPERVISE_H
#define SPOKE_SUPERVISE_H

#include <stddef.h>
#include <stdint.h>

#include "calendar.h"
#include "spoke.h"

struct Onestop__StatsRequest;

/* Count the packed event (len bytes, already sv_event_check'ed) in t,
 * with calendar c: stored under (kind, id, seq) and counted once (a
 * repeat changes nothing); one that comes after a gap, or contradicts its
 * case's earlier events, is stored and logged, not counted. 0, or a store
 * error (the caller poisons the iteration). */
int sup_count(struct spoke *sp, struct store_txn *t, const struct cal *c, const uint8_t *event,
	      size_t len);

/* Recount from scratch in t: drop every case state and record, then
 * count each stored event again in (kind, id, seq) order. *events (may be
 * NULL) gets the number of events read. 0 or a store error. */
int sup_rebuild(struct spoke *sp, struct store_txn *t, const struct cal *c, uint64_t *events);

/* Answer a StatsRequest (request_id) from the committed store into a
 * malloc'd packed ApiReply *buf of *len bytes: one row per key of the
 * dimension asked, figures over [from, to) and open/overdue now (now_ms,
 * calendar c). Refusals in the reply: OS_EINVAL (a dimension other than
 * item, owner, region; a date that is not YYYY-MM-DD). 0 or OS_ENOMEM. */
int sup_stats(struct spoke *sp, uint64_t request_id, const struct Onestop__StatsRequest *q,
	      const struct cal *c, uint64_t now_ms, uint8_t **buf, size_t *len);

/* Answer a MarketRequest (request_id) from the committed store: the
 * approvals of market kinds (ST_T_MARKET records) per region, kind and
 * day for the q->days days up to today (0: ST_MARKET_DAYS; now_ms in
 * calendar c), for each (region, kind) q selects that has a record, in
 * (region, kind, day) order, each with the mean and sigma of the
 * ST_MARKET_DAYS days before it (of the days since the series' first
 * record, when fewer; a day without a record counts 0) and
 * st_market_flag's verdict; at most 100000 rows (the series beyond are
 * left out). Refusals in the reply: OS_EINVAL (days over 366, a clock
 * outside the calendar). 0 or OS_ENOMEM. */
struct Onestop__MarketRequest;
int sup_market(struct spoke *sp, uint64_t request_id, const struct Onestop__MarketRequest *q,
	       const struct cal *c, uint64_t now_ms, uint8_t **buf, size_t *len);

#endif
