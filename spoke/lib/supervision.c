/* libonestop's calls of public supervision (onestop.h "evaluations" and
 * the market rows of "supervision"): rate a decided case at the local
 * spoke, and read a supervisor's market monitoring. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "onestop.h"
#include "sized.h"

#define SUP_RATING_V1 SIZED_V1(onestop_rating_t, channel)
#define SUP_MARKET_ROW_V1 SIZED_V1(onestop_market_row_t, history)
#define SUP_ASSERTION_MAX (64u << 10) /* a packed SignedAssertion given */
#define SUP_COMMENT_MAX 2000u         /* a rating's comment, bytes */
#define SUP_MARKET_DAYS_MAX 366u

int onestop_case_rate_sized(onestop_t *c, const uint8_t id[ONESTOP_ID_LEN],
			    const onestop_rating_t *r, int *pending, size_t r_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_rating_t in;
	int rc;

	if (pending != NULL)
		*pending = 0;
	if (c == NULL || id == NULL || r == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(r_size, SUP_RATING_V1, _Alignof(onestop_rating_t)) != 0 ||
	    sized_in(&in, sizeof in, r, r_size) != 0) {
		conn_seterr(c, "onestop_rating_t of %zu bytes is not one this library knows",
			    r_size);
		return ONESTOP_EINVAL;
	}
	size_t clen = in.comment != NULL ? strlen(in.comment) : 0;
	if (in.score < 1 || in.score > 5) {
		conn_seterr(c, "score: 1..5, %u given", in.score);
		return ONESTOP_EINVAL;
	}
	if (clen > SUP_COMMENT_MAX) {
		conn_seterr(c, "comment: at most %u bytes, %zu given", SUP_COMMENT_MAX, clen);
		return ONESTOP_EINVAL;
	}
	if ((in.assertion == NULL && in.assertion_len > 0) ||
	    in.assertion_len > SUP_ASSERTION_MAX || in.channel < 0 ||
	    in.channel > ONESTOP_CHANNEL_HOTLINE) {
		conn_seterr(c, "the rating's assertion or channel is malformed");
		return ONESTOP_EINVAL;
	}
	if (r_size < offsetof(onestop_rating_t, owner) + sizeof(in.owner))
		in.owner = NULL; /* a caller built before the field */
	if (in.owner != NULL && conn_strlen_max(in.owner, 63) == SIZE_MAX) {
		conn_seterr(c, "owner: a node name of at most 63 bytes");
		return ONESTOP_EINVAL;
	}
	Onestop__RateRequest q = ONESTOP__RATE_REQUEST__INIT;
	q.case_id.data = (uint8_t *)id;
	q.case_id.len = ONESTOP_ID_LEN;
	q.score = in.score;
	q.comment.data = (uint8_t *)in.comment;
	q.comment.len = clen;
	q.assertion.data = (uint8_t *)in.assertion;
	q.assertion.len = in.assertion_len;
	q.channel = (Onestop__CaseChannel)in.channel;
	q.owner = (char *)(in.owner != NULL ? in.owner : "");
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_RATE;
	req.rate = &q;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_RATE || rep->rate == NULL) {
		conn_seterr(c, "the spoke's reply to Rate carries no result");
		onestop__api_reply__free_unpacked(rep, NULL);
		return ONESTOP_EPROTO;
	}
	if (pending != NULL)
		*pending = rep->rate->pending ? 1 : 0;
	onestop__api_reply__free_unpacked(rep, NULL);
	return 0;
}

int onestop_market_sized(onestop_t *c, const char *region, const char *kind, unsigned days,
			 onestop_market_row_t **rows, size_t *n, size_t row_size)
{
	Onestop__ApiReply *rep = NULL;
	char *arr = NULL;
	int rc;

	if (rows != NULL)
		*rows = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || rows == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(row_size, SUP_MARKET_ROW_V1, _Alignof(onestop_market_row_t)) != 0) {
		conn_seterr(c, "onestop_market_row_t of %zu bytes is not one this library knows",
			    row_size);
		return ONESTOP_EINVAL;
	}
	if (days > SUP_MARKET_DAYS_MAX) {
		conn_seterr(c, "days: at most %u, %u given", SUP_MARKET_DAYS_MAX, days);
		return ONESTOP_EINVAL;
	}
	Onestop__MarketRequest mr = ONESTOP__MARKET_REQUEST__INIT;
	mr.region = (char *)(region ? region : "");
	mr.kind = (char *)(kind ? kind : "");
	mr.days = days;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_MARKET;
	req.market = &mr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;
	rc = ONESTOP_EPROTO;
	const Onestop__MarketResult *res = rep->market;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_MARKET || res == NULL) {
		conn_seterr(c, "the spoke's reply to Market carries no rows");
		goto out;
	}
	if (res->n_rows == 0) {
		rc = 0;
		goto out;
	}
	if ((arr = calloc(res->n_rows, row_size)) == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < res->n_rows; i++) {
		const Onestop__MarketRow *w = res->rows[i];
		onestop_market_row_t r;
		memset(&r, 0, sizeof(r));
		size_t rl = w ? conn_strlen_max(w->region, sizeof(r.region) - 1) : SIZE_MAX;
		size_t kl = w ? conn_strlen_max(w->kind, sizeof(r.kind) - 1) : SIZE_MAX;
		size_t dl = w ? conn_strlen_max(w->day, sizeof(r.day) - 1) : SIZE_MAX;
		if (rl == SIZE_MAX || kl == SIZE_MAX || dl == SIZE_MAX) {
			conn_seterr(c, "the spoke sent a malformed row (%zu of %zu)", i + 1,
				    res->n_rows);
			goto out;
		}
		memcpy(r.region, w->region ? w->region : "", rl);
		memcpy(r.kind, w->kind ? w->kind : "", kl);
		memcpy(r.day, w->day ? w->day : "", dl);
		r.approved = w->approved;
		r.mean = w->mean;
		r.sigma = w->sigma;
		r.flagged = w->flagged ? 1 : 0;
		r.history = w->history ? 1 : 0;
		sized_out(arr + i * row_size, row_size, &r, sizeof(r));
	}
	*rows = (onestop_market_row_t *)(void *)arr;
	*n = res->n_rows;
	arr = NULL;
	rc = 0;
out:
	free(arr);
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}
