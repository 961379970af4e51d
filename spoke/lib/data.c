/* libonestop's replicated-dataset calls (onestop.h "datasets"): Get, List,
 * Put and Datasets requests to the local spoke, each reply checked against
 * its bounds and copied into the caller's plain C types. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dataset.h"
#include "onestop.h"
#include "sized.h"
#include "util.h"

#define DATA_DEFAULT_LIMIT 100u
#define DATA_DIGEST_LEN 32u

_Static_assert(ONESTOP_MODE_FULL == ONESTOP__DATASET_MODE__DATASET_MODE_FULL &&
		       ONESTOP_MODE_CACHED == ONESTOP__DATASET_MODE__DATASET_MODE_CACHED,
	       "onestop.h dataset modes must match proto/onestop.proto");

/* Bytes the strings and value of e take in a copy, or SIZE_MAX when a
 * field is outside its bound (an empty key included). */
static size_t data_entry_size(const Onestop__Entry *e)
{
	size_t lk = conn_strlen_max(e->key, DS_KEY_MAX);
	size_t lp = conn_strlen_max(e->publisher, OS_NAME_MAX - 1);
	if (lk == SIZE_MAX || lk == 0 || lp == SIZE_MAX || e->value.len > DS_VALUE_MAX)
		return SIZE_MAX;
	return lk + 1 + lp + 1 + e->value.len;
}

static const char *data_put_str(char **pos, const char *s)
{
	size_t len = s != NULL ? strlen(s) : 0;
	char *dst = *pos;
	if (len > 0)
		memcpy(dst, s, len);
	dst[len] = '\0';
	*pos += len + 1;
	return dst;
}

/* Copy n entries into one allocation (the array, entry_size apart in the
 * caller's layout, then every key, publisher and value), so that freeing
 * them is one free(). The caller has bounded n. */
static int data_copy_entries(struct onestop *c, Onestop__Entry *const *src, size_t n,
			     onestop_entry_t **out, size_t entry_size)
{
	size_t total = n * entry_size;

	*out = NULL;
	for (size_t i = 0; i < n; i++) {
		size_t sz = src[i] != NULL ? data_entry_size(src[i]) : SIZE_MAX;
		if (sz == SIZE_MAX) {
			conn_seterr(c, "the spoke sent a malformed entry (%zu of %zu)", i + 1, n);
			return ONESTOP_EPROTO;
		}
		total += sz;
	}
	char *block = malloc(total ? total : 1);
	if (block == NULL) {
		conn_seterr(c, "out of memory for %zu entries", n);
		return ONESTOP_ENOMEM;
	}
	char *pos = block + n * entry_size;
	for (size_t i = 0; i < n; i++) {
		const Onestop__Entry *e = src[i];
		onestop_entry_t ent;
		memset(&ent, 0, sizeof(ent));
		ent.key = data_put_str(&pos, e->key);
		ent.publisher = data_put_str(&pos, e->publisher);
		ent.len = e->value.len;
		ent.value = (const uint8_t *)pos;
		if (e->value.len > 0)
			memcpy(pos, e->value.data, e->value.len);
		pos += e->value.len;
		ent.seq = e->seq;
		ent.updated_ms = e->updated_ms;
		sized_out(block + i * entry_size, entry_size, &ent, sizeof(ent));
	}
	*out = (onestop_entry_t *)(void *)block;
	return 0;
}

/* 0 when the caller's size for entries is usable, else ONESTOP_EINVAL
 * with the reason in c. */
static int data_entry_size_ok(struct onestop *c, size_t entry_size)
{
	if (sized_check(entry_size, SIZED_ENTRY_V1, _Alignof(onestop_entry_t)) == 0)
		return 0;
	conn_seterr(c, "onestop_entry_t of %zu bytes is not one this library knows", entry_size);
	return ONESTOP_EINVAL;
}

int onestop_get_sized(onestop_t *c, const char *dataset, const char *key, int wait_ms,
		      onestop_entry_t **out, size_t entry_size)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || out == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (data_entry_size_ok(c, entry_size) != 0)
		return ONESTOP_EINVAL;
	if (dataset == NULL || key == NULL || wait_ms < 0) {
		conn_seterr(c, "get takes a dataset, a key and wait_ms >= 0");
		return ONESTOP_EINVAL;
	}
	Onestop__GetRequest gr = ONESTOP__GET_REQUEST__INIT;
	/* protobuf-c's fields are not const; packing only reads them. */
	gr.dataset = (char *)dataset;
	gr.key = (char *)key;
	gr.wait_ms = (uint32_t)wait_ms;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_GET;
	req.get = &gr;
	/* A cached-mode miss may wait for the hub on top of the usual time. */
	if ((rc = conn_call(c, &req, wait_ms, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_GET || rep->get == NULL ||
	    rep->get->entry == NULL) {
		conn_seterr(c, "the spoke's reply to Get carries no entry");
		goto out;
	}
	if (rep->get->entry->key == NULL || strcmp(rep->get->entry->key, key) != 0) {
		conn_seterr(c, "the spoke's reply to Get is for another key");
		goto out;
	}
	rc = data_copy_entries(c, &rep->get->entry, 1, out, entry_size);
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

void onestop_entry_free(onestop_entry_t **e)
{
	if (e == NULL)
		return;
	free(*e);
	*e = NULL;
}

int onestop_list_sized(onestop_t *c, const char *dataset, const onestop_list_t *filter_user,
		       onestop_entry_t **entries, size_t *n, char **next_key, size_t filter_size,
		       size_t entry_size)
{
	Onestop__ApiReply *rep = NULL;
	onestop_list_t f;
	const onestop_list_t *filter = &f;
	int rc;

	if (entries != NULL)
		*entries = NULL;
	if (n != NULL)
		*n = 0;
	if (next_key != NULL)
		*next_key = NULL;
	if (c == NULL || entries == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (data_entry_size_ok(c, entry_size) != 0)
		return ONESTOP_EINVAL;
	memset(&f, 0, sizeof(f));
	if (filter_user != NULL &&
	    (sized_check(filter_size, SIZED_LIST_V1, _Alignof(onestop_list_t)) != 0 ||
	     sized_in(&f, sizeof(f), filter_user, filter_size) != 0)) {
		conn_seterr(
			c,
			"the filter is an onestop_list_t of %zu bytes this library does not know",
			filter_size);
		return ONESTOP_EINVAL;
	}
	if (dataset == NULL || filter->limit > ONESTOP_MAX_BATCH || filter->online < 0 ||
	    filter->online > 2) {
		conn_seterr(c, "list takes a dataset, online 0..2 and limit 0..%d",
			    ONESTOP_MAX_BATCH);
		return ONESTOP_EINVAL;
	}
	unsigned limit = filter->limit ? filter->limit : DATA_DEFAULT_LIMIT;
	Onestop__ListRequest lr = ONESTOP__LIST_REQUEST__INIT;
	lr.dataset = (char *)dataset;
	/* Absent strings are "" on the wire (protobuf-c packs NULL as ""). */
	lr.owner = (char *)(filter->owner ? filter->owner : "");
	lr.online = (uint32_t)filter->online;
	lr.search = (char *)(filter->search ? filter->search : "");
	lr.after_key = (char *)(filter->after_key ? filter->after_key : "");
	lr.limit = limit;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_LIST;
	req.list = &lr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__ListResult *res = rep->list;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_LIST || res == NULL) {
		conn_seterr(c, "the spoke's reply to List carries no entries list");
		goto out;
	}
	if (res->n_entries > limit) {
		conn_seterr(c, "the spoke sent %zu entries, more than the %u asked for",
			    res->n_entries, limit);
		goto out;
	}
	size_t lk = conn_strlen_max(res->next_key, DS_KEY_MAX);
	if (lk == SIZE_MAX) {
		conn_seterr(c, "the spoke's next_key is longer than a key may be");
		goto out;
	}
	char *next = NULL;
	if (lk > 0 && next_key != NULL && (next = strdup(res->next_key)) == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	if (res->n_entries > 0 &&
	    (rc = data_copy_entries(c, res->entries, res->n_entries, entries, entry_size)) != 0) {
		free(next);
		goto out;
	}
	*n = res->n_entries;
	if (next_key != NULL)
		*next_key = next;
	rc = 0;
out:
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}

void onestop_entries_free(onestop_entry_t **entries, size_t n)
{
	(void)n;
	if (entries == NULL)
		return;
	free(*entries);
	*entries = NULL;
}

int onestop_put_sized(onestop_t *c, const onestop_put_t *puts, size_t n,
		      uint8_t (*ids)[ONESTOP_ID_LEN], size_t put_size)
{
	Onestop__DatasetPut *dps = NULL;
	Onestop__DatasetPut **ptrs = NULL;
	Onestop__ApiReply *rep = NULL;
	int rc = ONESTOP_EINVAL;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(put_size, SIZED_PUT_V1, _Alignof(onestop_put_t)) != 0) {
		conn_seterr(c, "onestop_put_t of %zu bytes is not one this library knows",
			    put_size);
		return ONESTOP_EINVAL;
	}
	if (puts == NULL || n < 1 || n > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "put takes 1..%d changes, not %zu", ONESTOP_MAX_BATCH, n);
		return ONESTOP_EINVAL;
	}
	dps = calloc(n, sizeof(*dps));
	ptrs = calloc(n, sizeof(*ptrs));
	if (dps == NULL || ptrs == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		onestop_put_t p;
		if (sized_in(&p, sizeof(p), (const char *)puts + i * put_size, put_size) != 0) {
			conn_seterr(c, "change %zu sets fields this library does not know", i);
			rc = ONESTOP_EINVAL;
			goto out;
		}
		if (p.dataset == NULL || p.key == NULL ||
		    (!p.is_delete && p.value == NULL && p.len > 0)) {
			conn_seterr(c, "change %zu lacks a dataset, a key or its value", i);
			rc = ONESTOP_EINVAL;
			goto out;
		}
		onestop__dataset_put__init(&dps[i]);
		dps[i].dataset = (char *)p.dataset;
		dps[i].key = (char *)p.key;
		dps[i].delete_ = p.is_delete ? 1 : 0;
		if (!p.is_delete) {
			dps[i].value.data = (uint8_t *)p.value;
			dps[i].value.len = p.len;
		}
		ptrs[i] = &dps[i];
	}
	Onestop__PutRequest pr = ONESTOP__PUT_REQUEST__INIT;
	pr.n_puts = n;
	pr.puts = ptrs;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_PUT;
	req.put = &pr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		goto out;

	rc = ONESTOP_EPROTO;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_PUT || rep->put == NULL ||
	    rep->put->n_ids != n) {
		conn_seterr(c, "the spoke's reply to Put does not list %zu ids", n);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (rep->put->ids[i].len != ONESTOP_ID_LEN) {
			conn_seterr(c, "the spoke's reply to Put has a %zu-byte id",
				    rep->put->ids[i].len);
			goto out;
		}
	}
	if (ids != NULL)
		for (size_t i = 0; i < n; i++)
			memcpy(ids[i], rep->put->ids[i].data, ONESTOP_ID_LEN);
	rc = 0;
out:
	if (rep != NULL)
		onestop__api_reply__free_unpacked(rep, NULL);
	free(ptrs);
	free(dps);
	return rc;
}

int onestop_datasets_sized(onestop_t *c, onestop_dataset_t **out, size_t *n, size_t dataset_size)
{
	Onestop__ApiReply *rep = NULL;
	char *arr = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || out == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (sized_check(dataset_size, SIZED_DATASET_V1, _Alignof(onestop_dataset_t)) != 0) {
		conn_seterr(c, "onestop_dataset_t of %zu bytes is not one this library knows",
			    dataset_size);
		return ONESTOP_EINVAL;
	}
	Onestop__DatasetsRequest dr = ONESTOP__DATASETS_REQUEST__INIT;
	Onestop__ApiRequest req = ONESTOP__API_REQUEST__INIT;
	req.op_case = ONESTOP__API_REQUEST__OP_DATASETS;
	req.datasets = &dr;
	if ((rc = conn_call(c, &req, 0, &rep)) != 0)
		return rc;

	rc = ONESTOP_EPROTO;
	const Onestop__DatasetsResult *res = rep->datasets;
	if (rep->result_case != ONESTOP__API_REPLY__RESULT_DATASETS || res == NULL) {
		conn_seterr(c, "the spoke's reply to Datasets carries no datasets list");
		goto out;
	}
	if (res->n_datasets == 0) {
		rc = 0;
		goto out;
	}
	arr = calloc(res->n_datasets, dataset_size);
	if (arr == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < res->n_datasets; i++) {
		const Onestop__DatasetInfo *d = res->datasets[i];
		onestop_dataset_t ds;
		memset(&ds, 0, sizeof(ds));
		size_t ln = d != NULL ? conn_strlen_max(d->name, sizeof(ds.name) - 1) : SIZE_MAX;
		if (ln == SIZE_MAX || ln == 0 ||
		    (d->digest.len != 0 && d->digest.len != DATA_DIGEST_LEN)) {
			conn_seterr(c, "the spoke sent a malformed dataset (%zu of %zu)", i + 1,
				    res->n_datasets);
			goto out;
		}
		memcpy(ds.name, d->name, ln);
		ds.mode = (int)d->mode;
		ds.seq = d->seq;
		ds.count = d->count;
		if (d->digest.len == DATA_DIGEST_LEN)
			memcpy(ds.digest, d->digest.data, DATA_DIGEST_LEN);
		ds.syncing = d->syncing ? 1 : 0;
		sized_out(arr + i * dataset_size, dataset_size, &ds, sizeof(ds));
	}
	*out = (onestop_dataset_t *)(void *)arr;
	*n = res->n_datasets;
	arr = NULL;
	rc = 0;
out:
	free(arr);
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}
