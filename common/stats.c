/* Supervision statistics: one event and the state of its case into record
 * deltas (st_apply), records into the figures of a period (st_reduce_*),
 * the record key's byte form, and the market rule. */
#include "stats.h"

#include <string.h>

#include "case.h"
#include "err.h"

/* The changes st_apply is building. */
struct st_out {
	struct st_change *v;
	size_t n;
};

static struct st_counts *st_at(struct st_out *o, uint8_t table, uint8_t dim, const char *key,
			       const char *kind, int32_t day)
{
	struct st_change *ch;
	for (size_t i = 0; i < o->n; i++) {
		ch = &o->v[i];
		if (ch->key.table == table && ch->key.dim == dim && ch->key.day == day &&
		    strcmp(ch->key.key, key) == 0 && strcmp(ch->key.kind, kind) == 0)
			return &ch->delta;
	}
	/* Bounded by construction: at most 3 day, 6 open and 1 market record. */
	ch = &o->v[o->n++];
	memset(ch, 0, sizeof *ch);
	ch->key.table = table;
	ch->key.dim = dim;
	ch->key.day = day;
	memcpy(ch->key.key, key, strlen(key) + 1);
	memcpy(ch->key.kind, kind, strlen(kind) + 1);
	return &ch->delta;
}

static int st_zero(const struct st_counts *c)
{
	static const struct st_counts zero;
	return memcmp(c, &zero, sizeof zero) == 0;
}

static int st_is_open(uint32_t state)
{
	return state == CASE_FILED || state == CASE_ACCEPTED || state == CASE_MORE_NEEDED ||
	       state == CASE_RESUBMITTED;
}

/* What one event adds to the ST_T_DAY record of each of its dimensions. */
static int st_day_delta(const struct cal *c, const struct sv_event *e, const struct st_case *prev,
			struct st_case *next, struct st_counts *d)
{
	uint32_t days;
	memset(d, 0, sizeof *d);
	if (e->kind == SV_EVALUATION) {
		d->evaluations = 1;
		d->score_sum = e->score;
		return 0;
	}
	if (e->kind == SV_COMPLAINT) {
		if (e->action == SV_CP_FILE) {
			if (e->complaint_kind == SV_CP_COMPLAINT)
				d->complaints = 1;
			else
				d->consultations = 1;
		} else if (e->action == SV_CP_ANSWER && !prev->answered) {
			d->answered = 1;
			d->answer_ms_sum = e->at_ms > e->filed_ms ? e->at_ms - e->filed_ms : 0;
			next->answered = 1;
		}
		return 0;
	}
	switch (e->action) {
	case CASE_ACT_FILE:
		d->filed = 1;
		d->filed_web = e->channel == SV_CH_WEB;
		d->filed_mobile = e->channel == SV_CH_MOBILE;
		d->filed_hall = e->channel == SV_CH_HALL;
		d->filed_hotline = e->channel == SV_CH_HOTLINE;
		break;
	case CASE_ACT_ACCEPT:
		if (!prev->accepted) {
			d->accepted = 1;
			next->accepted = 1;
		}
		break;
	case CASE_ACT_REJECT:
		d->rejected = 1;
		break;
	case CASE_ACT_WITHDRAW:
		d->withdrawn = 1;
		break;
	case CASE_ACT_DECIDE:
		if (e->outcome == CASE_APPROVED)
			d->approved = 1;
		else
			d->denied = 1;
		if (cal_working_days_between(c, e->filed_ms, e->at_ms, &days) < 0)
			return OS_EINVAL;
		d->days_n = 1;
		d->days_sum = days;
		d->days_hist[days < ST_DAYS_CAP ? days : ST_DAYS_CAP] = 1;
		if (e->promised_due_ms) {
			d->due_promised = 1;
			d->on_time_promised = e->at_ms <= e->promised_due_ms;
		}
		if (e->legal_due_ms) {
			d->due_legal = 1;
			d->on_time_legal = e->at_ms <= e->legal_due_ms;
		}
		break;
	}
	return 0;
}

int st_apply(const struct cal *c, const struct sv_event *e, const struct st_case *prev,
	     struct st_case *next, struct st_change *changes, size_t *n)
{
	struct st_case p, s;
	struct st_counts day_d;
	struct st_out o = {changes, 0};
	const char *keys[3];
	int32_t day, due_day = ST_NO_DUE;
	int rc;
	if (!c || !e || !prev || !next || !changes || !n)
		return OS_EINVAL;
	p = *prev;
	*n = 0;
	*next = p;
	if (sv_event_valid(e) < 0 || (p.kind && p.kind != (uint32_t)e->kind))
		return OS_EINVAL;
	if (e->seq <= p.seq)
		return OS_EEXIST;
	if (e->seq > p.seq + 1)
		return OS_EGAP;
	if (p.kind && (strcmp(p.item, e->item) != 0 || strcmp(p.owner, e->owner) != 0 ||
		       strcmp(p.region, e->region) != 0))
		return OS_ECONFLICT;
	if (cal_day_from_ms(c, e->at_ms, &day) < 0)
		return OS_EINVAL;
	if (e->kind == SV_CASE && e->promised_due_ms &&
	    cal_day_from_ms(c, e->promised_due_ms, &due_day) < 0)
		return OS_EINVAL;

	s = p;
	s.kind = e->kind;
	s.seq = e->seq;
	memcpy(s.item, e->item, sizeof s.item);
	memcpy(s.owner, e->owner, sizeof s.owner);
	memcpy(s.region, e->region, sizeof s.region);
	rc = st_day_delta(c, e, &p, &s, &day_d);
	if (rc < 0)
		return rc;
	keys[0] = e->item;
	keys[1] = e->owner;
	keys[2] = e->region;
	for (uint8_t dim = ST_ITEM; dim <= ST_REGION; dim++) {
		const char *key = keys[dim - 1];
		if (!key[0])
			continue;
		if (!st_zero(&day_d))
			*st_at(&o, ST_T_DAY, dim, key, "", day) = day_d;
	}
	if (e->kind == SV_CASE) {
		int now_open = st_is_open(e->state);
		for (uint8_t dim = ST_ITEM; dim <= ST_REGION; dim++) {
			const char *key = keys[dim - 1];
			if (!key[0])
				continue;
			if (p.open && (!now_open || p.open_day != due_day))
				st_at(&o, ST_T_OPEN, dim, key, "", p.open_day)->open -= 1;
			if (now_open && (!p.open || p.open_day != due_day))
				st_at(&o, ST_T_OPEN, dim, key, "", due_day)->open += 1;
		}
		s.open = (uint8_t)now_open;
		s.open_day = now_open ? due_day : 0;
		if (e->action == CASE_ACT_DECIDE && e->outcome == CASE_APPROVED && e->region[0] &&
		    st_market_kind(e->item_kind))
			st_at(&o, ST_T_MARKET, 0, e->region, e->item_kind, day)->approved = 1;
	}
	/* Drop changes that cancelled out (none do today; kept exact anyway). */
	for (size_t i = 0; i < o.n; i++)
		if (!st_zero(&o.v[i].delta))
			o.v[(*n)++] = o.v[i];
	*next = s;
	return 0;
}

void st_counts_add(struct st_counts *acc, const struct st_counts *d)
{
	uint64_t *a = (uint64_t *)acc;
	const uint64_t *b = (const uint64_t *)d;
	_Static_assert(sizeof(struct st_counts) % sizeof(uint64_t) == 0, "counters only");
	for (size_t i = 0; i < sizeof *acc / sizeof *a; i++)
		a[i] += b[i];
}

int st_key_encode(const struct st_key *k, uint8_t *buf, size_t cap, size_t *len)
{
	size_t kl, nl, at = 0;
	if (!k || !buf || !len || k->day < 0)
		return OS_EINVAL;
	kl = strnlen(k->key, sizeof k->key);
	nl = strnlen(k->kind, sizeof k->kind);
	if (kl == sizeof k->key || nl == sizeof k->kind || cap < 2 + kl + 1 + nl + 1 + 4)
		return OS_EINVAL;
	buf[at++] = k->table;
	buf[at++] = k->dim;
	memcpy(buf + at, k->key, kl + 1);
	at += kl + 1;
	memcpy(buf + at, k->kind, nl + 1);
	at += nl + 1;
	for (int i = 0; i < 4; i++)
		buf[at++] = (uint8_t)((uint32_t)k->day >> (24 - 8 * i));
	*len = at;
	return 0;
}

int st_key_decode(const uint8_t *buf, size_t len, struct st_key *k)
{
	const uint8_t *z1, *z2;
	size_t kl, nl;
	uint32_t day = 0;
	if (!buf || !k || len < 2 + 1 + 1 + 4)
		return OS_EINVAL;
	memset(k, 0, sizeof *k);
	z1 = memchr(buf + 2, 0, len - 2 - 4);
	if (!z1)
		return OS_EINVAL;
	kl = (size_t)(z1 - (buf + 2));
	z2 = memchr(z1 + 1, 0, (size_t)(buf + len - 4 - (z1 + 1)));
	if (!z2 || z2 + 1 != buf + len - 4)
		return OS_EINVAL;
	nl = (size_t)(z2 - (z1 + 1));
	if (kl >= sizeof k->key || nl >= sizeof k->kind)
		return OS_EINVAL;
	for (int i = 0; i < 4; i++)
		day = day << 8 | buf[len - 4 + (size_t)i];
	if (day > INT32_MAX)
		return OS_EINVAL;
	k->table = buf[0];
	k->dim = buf[1];
	memcpy(k->key, buf + 2, kl);
	memcpy(k->kind, z1 + 1, nl);
	k->day = (int32_t)day;
	return 0;
}

void st_reduce_init(struct st_reducer *r, int32_t from_day, int32_t to_day, int32_t today)
{
	if (!r)
		return;
	memset(r, 0, sizeof *r);
	r->from_day = from_day;
	r->to_day = to_day;
	r->today = today;
}

int st_reduce_add(struct st_reducer *r, const struct st_key *k, const struct st_counts *c)
{
	if (!r || !k || !c)
		return OS_EINVAL;
	if (k->table == ST_T_DAY && k->day >= r->from_day && k->day < r->to_day)
		st_counts_add(&r->sum, c);
	if (k->table == ST_T_OPEN) {
		r->open += c->open;
		if (k->day < r->today)
			r->overdue += c->open;
	}
	return 0;
}

static double st_ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

int st_reduce_end(const struct st_reducer *r, struct st_figures *f)
{
	const struct st_counts *s;
	uint64_t rank, cum = 0;
	if (!r || !f)
		return OS_EINVAL;
	s = &r->sum;
	memset(f, 0, sizeof *f);
	f->filed = s->filed;
	f->accepted = s->accepted;
	f->rejected = s->rejected;
	f->approved = s->approved;
	f->denied = s->denied;
	f->decided = s->approved + s->denied;
	f->withdrawn = s->withdrawn;
	f->due_promised = s->due_promised;
	f->on_time_promised = s->on_time_promised;
	f->due_legal = s->due_legal;
	f->on_time_legal = s->on_time_legal;
	f->on_time_promised_rate = st_ratio(s->on_time_promised, s->due_promised);
	f->on_time_legal_rate = st_ratio(s->on_time_legal, s->due_legal);
	f->mean_days = st_ratio(s->days_sum, s->days_n);
	/* Nearest rank: the ceil(0.9 n)-th smallest. */
	rank = (9 * s->days_n + 9) / 10;
	for (uint32_t d = 0; s->days_n && d < ST_DAYS_BUCKETS; d++) {
		cum += s->days_hist[d];
		if (cum >= rank) {
			f->p90_days = d;
			f->p90_capped = d == ST_DAYS_CAP;
			break;
		}
	}
	f->open = r->open;
	f->overdue = r->overdue;
	f->complaints = s->complaints;
	f->consultations = s->consultations;
	f->answered = s->answered;
	f->mean_response_ms = st_ratio(s->answer_ms_sum, s->answered);
	f->evaluations = s->evaluations;
	f->mean_score = st_ratio(s->score_sum, s->evaluations);
	f->filed_online = s->filed_web + s->filed_mobile;
	f->filed_hall = s->filed_hall;
	f->filed_hotline = s->filed_hotline;
	f->online_share = st_ratio(f->filed_online, s->filed);
	f->hall_share = st_ratio(f->filed_hall, s->filed);
	f->hotline_share = st_ratio(f->filed_hotline, s->filed);
	return 0;
}

int st_market_kind(const char *item_kind)
{
	static const char *const kinds[] = {"licence", "permit", "registration"};
	if (!item_kind)
		return 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(item_kind, kinds[i]) == 0)
			return 1;
	return 0;
}

int st_market_flag(const uint64_t *series, size_t n, uint64_t count)
{
	uint64_t s = 0, q = 0, c28, diff, spread;
	if ((!series && n > 0) || count > ST_MARKET_COUNT_MAX)
		return OS_EINVAL;
	if (n < ST_MARKET_DAYS)
		return 0;
	series += n - ST_MARKET_DAYS;
	for (size_t i = 0; i < ST_MARKET_DAYS; i++) {
		if (series[i] > ST_MARKET_COUNT_MAX)
			return OS_EINVAL;
		s += series[i];
		q += series[i] * series[i];
	}
	/* |c - mean| > 3 sigma, times 28: |28c - S| > 3 sqrt(28Q - S^2); both
	 * sides squared stay below 2^61 with counts up to 2^24 (9 * spread
	 * <= 9 * 28 * 28 * 2^48). */
	c28 = ST_MARKET_DAYS * count;
	diff = c28 > s ? c28 - s : s - c28;
	spread = ST_MARKET_DAYS * q - s * s;
	return diff * diff > 9 * spread ? 1 : 0;
}
