/* libonestop's replicated-dataset calls (onestop.h "datasets"): Get, List,
 * Put and Datasets requests to the local spoke, each reply checked against
 * its bounds and copied into the caller's plain C types. */
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "dataset.h"
#include "onestop.h"
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

/* Copy n entries into one allocation (the array, then every key,
 * publisher and value), so that freeing them is one free(). The caller
 * has bounded n. */
static int data_copy_entries(struct onestop *c, Onestop__Entry *const *src, size_t n,
			     onestop_entry_t **out)
{
	size_t total = n * sizeof(onestop_entry_t);

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
	onestop_entry_t *arr = (onestop_entry_t *)(void *)block;
	char *pos = block + n * sizeof(onestop_entry_t);
	for (size_t i = 0; i < n; i++) {
		const Onestop__Entry *e = src[i];
		arr[i].key = data_put_str(&pos, e->key);
		arr[i].publisher = data_put_str(&pos, e->publisher);
		arr[i].len = e->value.len;
		arr[i].value = (const uint8_t *)pos;
		if (e->value.len > 0)
			memcpy(pos, e->value.data, e->value.len);
		pos += e->value.len;
		arr[i].seq = e->seq;
		arr[i].updated_ms = e->updated_ms;
	}
	*out = arr;
	return 0;
}

int onestop_get(onestop_t *c, const char *dataset, const char *key, int wait_ms,
		onestop_entry_t **out)
{
	Onestop__ApiReply *rep = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (c == NULL || out == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
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
	rc = data_copy_entries(c, &rep->get->entry, 1, out);
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

int onestop_list(onestop_t *c, const char *dataset, const onestop_list_t *filter,
		 onestop_entry_t **entries, size_t *n, char **next_key)
{
	static const onestop_list_t none = {NULL, 0, NULL, NULL, 0};
	Onestop__ApiReply *rep = NULL;
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
	if (filter == NULL)
		filter = &none;
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
	    (rc = data_copy_entries(c, res->entries, res->n_entries, entries)) != 0) {
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

int onestop_put(onestop_t *c, const onestop_put_t *puts, size_t n,
		uint8_t (*ids)[ONESTOP_ID_LEN])
{
	Onestop__DatasetPut *dps = NULL;
	Onestop__DatasetPut **ptrs = NULL;
	Onestop__ApiReply *rep = NULL;
	int rc = ONESTOP_EINVAL;

	if (c == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
	if (puts == NULL || n < 1 || n > ONESTOP_MAX_BATCH) {
		conn_seterr(c, "put takes 1..%d changes, not %zu", ONESTOP_MAX_BATCH, n);
		return ONESTOP_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (puts[i].dataset == NULL || puts[i].key == NULL ||
		    (!puts[i].is_delete && puts[i].value == NULL && puts[i].len > 0)) {
			conn_seterr(c, "change %zu lacks a dataset, a key or its value", i);
			return ONESTOP_EINVAL;
		}
	}
	dps = calloc(n, sizeof(*dps));
	ptrs = calloc(n, sizeof(*ptrs));
	if (dps == NULL || ptrs == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		onestop__dataset_put__init(&dps[i]);
		dps[i].dataset = (char *)puts[i].dataset;
		dps[i].key = (char *)puts[i].key;
		dps[i].delete_ = puts[i].is_delete ? 1 : 0;
		if (!puts[i].is_delete) {
			dps[i].value.data = (uint8_t *)puts[i].value;
			dps[i].value.len = puts[i].len;
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

int onestop_datasets(onestop_t *c, onestop_dataset_t **out, size_t *n)
{
	Onestop__ApiReply *rep = NULL;
	onestop_dataset_t *arr = NULL;
	int rc;

	if (out != NULL)
		*out = NULL;
	if (n != NULL)
		*n = 0;
	if (c == NULL || out == NULL || n == NULL)
		return ONESTOP_EINVAL;
	c->err[0] = '\0';
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
	arr = calloc(res->n_datasets, sizeof(*arr));
	if (arr == NULL) {
		conn_seterr(c, "out of memory");
		rc = ONESTOP_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < res->n_datasets; i++) {
		const Onestop__DatasetInfo *d = res->datasets[i];
		size_t ln = d != NULL ? conn_strlen_max(d->name, sizeof(arr[i].name) - 1) : SIZE_MAX;
		if (ln == SIZE_MAX || ln == 0 ||
		    (d->digest.len != 0 && d->digest.len != DATA_DIGEST_LEN)) {
			conn_seterr(c, "the spoke sent a malformed dataset (%zu of %zu)", i + 1,
				    res->n_datasets);
			goto out;
		}
		memcpy(arr[i].name, d->name, ln);
		arr[i].mode = (int)d->mode;
		arr[i].seq = d->seq;
		arr[i].count = d->count;
		if (d->digest.len == DATA_DIGEST_LEN)
			memcpy(arr[i].digest, d->digest.data, DATA_DIGEST_LEN);
		arr[i].syncing = d->syncing ? 1 : 0;
	}
	*out = arr;
	*n = res->n_datasets;
	arr = NULL;
	rc = 0;
out:
	free(arr);
	onestop__api_reply__free_unpacked(rep, NULL);
	return rc;
}
