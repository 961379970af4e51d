/* Helpers of the replicated-dataset tests and the dataset benchmark: dataset
 * positions through libonestop, convergence waits against the hub's copy,
 * deterministic item and identity values, batched publishing. */
#include "ds_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ============================================================ positions */

int ds_info(struct net_proc *p, const char *dataset, onestop_dataset_t *out)
{
	onestop_t *c = NULL;
	onestop_dataset_t *all = NULL;
	size_t n = 0;
	int rc;

	memset(out, 0, sizeof *out);
	rc = net_connect(p, h_ms(5000), &c);
	if (rc == 0)
		rc = onestop_datasets(c, &all, &n);
	if (rc == 0) {
		rc = ONESTOP_ENOTFOUND;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(all[i].name, dataset) == 0) {
				*out = all[i];
				rc = 0;
				break;
			}
		}
	}
	free(all);
	onestop_close(&c);
	return rc;
}

const char *ds_hex32(const uint8_t d[32], char out[65])
{
	static const char hx[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hx[d[i] >> 4];
		out[2 * i + 1] = hx[d[i] & 15];
	}
	out[64] = '\0';
	return out;
}

int ds_wait_seq(struct net_proc *p, const char *dataset, uint64_t want, int timeout_ms,
		onestop_dataset_t *last)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	uint64_t report = h_now_ms();
	onestop_dataset_t d;

	for (;;) {
		uint64_t t0 = h_now_ms();
		int rc = ds_info(p, dataset, &d);
		/* Datasets hashes every entry the spoke holds: poll a large
		 * dataset less often, so the polling does not slow the spoke */
		unsigned pause = 50 + 2 * (unsigned)(h_now_ms() - t0);

		if (last)
			*last = d;
		if (rc == 0 && d.seq >= want && !d.syncing)
			return 0;
		if (h_now_ms() >= deadline) {
			fprintf(stderr,
				"  %s: %s at seq %llu count %llu syncing %d (rc %d), "
				"wanted seq %llu\n",
				p->name, dataset, (unsigned long long)d.seq,
				(unsigned long long)d.count, d.syncing, rc,
				(unsigned long long)want);
			return -1;
		}
		if (h_now_ms() - report >= 10000) {
			fprintf(stderr, "  %s: %s at seq %llu of %llu\n", p->name, dataset,
				(unsigned long long)d.seq, (unsigned long long)want);
			report = h_now_ms();
		}
		h_sleep_ms(rc == 0 ? pause : 200);
	}
}

int ds_wait_hub_seq(struct net *n, const char *dataset, uint64_t want, int timeout_ms,
		    struct net_digest *last)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	struct net_digest d;

	for (;;) {
		int rc = net_hub_digest(n, dataset, &d);

		if (last)
			*last = d;
		if (rc == 0 && d.seq >= want)
			return 0;
		if (h_now_ms() >= deadline) {
			fprintf(stderr, "  hub: %s at seq %llu (rc %d), wanted %llu\n", dataset,
				(unsigned long long)d.seq, rc, (unsigned long long)want);
			return -1;
		}
		h_sleep_ms(250);
	}
}

int ds_wait_same_as_hub(struct net *n, struct net_proc *p, const char *dataset, uint64_t hub_seq,
			int timeout_ms, struct net_digest *hub, onestop_dataset_t *last)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	struct net_digest h;
	onestop_dataset_t d;
	char hex[65];

	memset(&h, 0, sizeof h);
	memset(&d, 0, sizeof d);
	if (hub_seq && ds_wait_hub_seq(n, dataset, hub_seq, timeout_ms, &h) != 0) {
		if (hub)
			*hub = h;
		if (last)
			*last = d;
		return -1;
	}
	for (;;) {
		int rc = net_hub_digest(n, dataset, &h);
		int left = (int)((int64_t)deadline - (int64_t)h_now_ms());

		if (rc == 0 && ds_wait_seq(p, dataset, h.seq, left > 0 ? left : 1, &d) == 0 &&
		    d.seq == h.seq) {
			/* the hub may have moved on meanwhile: read it again */
			if (net_hub_digest(n, dataset, &h) == 0 && d.seq == h.seq &&
			    d.count == h.count && strcmp(ds_hex32(d.digest, hex), h.digest) == 0)
				break;
		}
		if (h_now_ms() >= deadline) {
			fprintf(stderr,
				"  %s: %s seq %llu count %llu digest %s; hub seq %llu "
				"count %llu digest %s\n",
				p->name, dataset, (unsigned long long)d.seq,
				(unsigned long long)d.count, ds_hex32(d.digest, hex),
				(unsigned long long)h.seq, (unsigned long long)h.count, h.digest);
			if (hub)
				*hub = h;
			if (last)
				*last = d;
			return -1;
		}
		h_sleep_ms(200);
	}
	if (hub)
		*hub = h;
	if (last)
		*last = d;
	return 0;
}

/* ============================================================ values */

int ds_item_offline(unsigned idx)
{
	return idx % 10 == 7;
}

void ds_item_code(char *buf, size_t size, const char *owner, unsigned idx)
{
	snprintf(buf, size, "%s-%07u", owner, idx);
}

void ds_item_make(struct ds_item *it, const char *owner, unsigned idx, unsigned version)
{
	static const char *const kinds[] = {"licence", "permit", "registration", "certificate"};
	static const char *const regions[] = {"gd", "gd.sz", "gd.gz", "bj", "sh"};

	memset(it, 0, sizeof *it);
	ds_item_code(it->code, sizeof it->code, owner, idx);
	snprintf(it->owner, sizeof it->owner, "%s", owner);
	snprintf(it->name, sizeof it->name, "%s service %u of %s%s", kinds[idx % 4], idx, owner,
		 version ? " (revised)" : "");
	it->regions[0] = regions[idx % 5];
	it->regions[1] = regions[(idx + 2) % 5];
	it->materials[0] = (onestop_material_t){.name = "application form", .shared_data = NULL};
	it->materials[1] =
		(onestop_material_t){.name = "identity document", .shared_data = "identity"};
	it->v.name = it->name;
	it->v.owner = it->owner;
	it->v.kind = kinds[idx % 4];
	it->v.online = !ds_item_offline(idx);
	if (!it->v.online) {
		snprintf(it->reason, sizeof it->reason, "site inspection required for item %s-%u",
			 owner, idx);
		it->v.offline_reason = it->reason;
	}
	it->v.n_materials = 1 + idx % 2;
	it->v.materials = it->materials;
	it->v.legal_days = 20 + idx % 10;
	it->v.promised_days = 5 + idx % 10 + version;
	it->v.fee_cents = (uint64_t)(idx % 7) * 1000u;
	it->v.n_regions = 1 + idx % 2;
	it->v.regions = it->regions;
	it->v.min_level = idx % 4;
}

static int str_same(const char *a, const char *b)
{
	if (!a || !*a)
		return !b || !*b;
	return b && strcmp(a, b) == 0;
}

int ds_item_same(const onestop_item_t *g, const onestop_item_t *w, char *why, size_t why_size)
{
#define DIFF(cond, ...)                                       \
	do {                                                  \
		if (cond) {                                   \
			snprintf(why, why_size, __VA_ARGS__); \
			return -1;                            \
		}                                             \
	} while (0)
	DIFF(!str_same(g->name, w->name), "name '%s' != '%s'", g->name ? g->name : "", w->name);
	DIFF(!str_same(g->owner, w->owner), "owner '%s' != '%s'", g->owner ? g->owner : "",
	     w->owner);
	DIFF(!str_same(g->kind, w->kind), "kind differs");
	DIFF(!g->online != !w->online, "online %d != %d", g->online, w->online);
	DIFF(!str_same(g->offline_reason, w->offline_reason), "offline_reason '%s' != '%s'",
	     g->offline_reason ? g->offline_reason : "",
	     w->offline_reason ? w->offline_reason : "");
	DIFF(g->n_materials != w->n_materials, "%zu materials != %zu", g->n_materials,
	     w->n_materials);
	for (size_t i = 0; i < w->n_materials; i++) {
		DIFF(!str_same(g->materials[i].name, w->materials[i].name), "material %zu name", i);
		DIFF(!str_same(g->materials[i].shared_data, w->materials[i].shared_data),
		     "material %zu shared_data", i);
	}
	DIFF(g->legal_days != w->legal_days, "legal_days %u != %u", g->legal_days, w->legal_days);
	DIFF(g->promised_days != w->promised_days, "promised_days %u != %u", g->promised_days,
	     w->promised_days);
	DIFF(g->fee_cents != w->fee_cents, "fee_cents differs");
	DIFF(g->n_regions != w->n_regions, "%zu regions != %zu", g->n_regions, w->n_regions);
	for (size_t i = 0; i < w->n_regions; i++)
		DIFF(!str_same(g->regions[i], w->regions[i]), "region %zu differs", i);
	DIFF(g->min_level != w->min_level, "min_level %u != %u", g->min_level, w->min_level);
#undef DIFF
	return 0;
}

int ds_put_items(onestop_t *c, const char *owner, unsigned first, unsigned count, unsigned version,
		 int del, size_t per_req)
{
	onestop_put_t *puts = NULL;
	uint8_t **vals = NULL;
	struct ds_item *items = NULL;
	int rc = ONESTOP_ENOMEM;

	if (per_req == 0)
		per_req = 1000;
	puts = calloc(per_req, sizeof *puts);
	vals = calloc(per_req, sizeof *vals);
	items = calloc(per_req, sizeof *items);
	if (!puts || !vals || !items)
		goto out;
	rc = 0;
	for (unsigned done = 0; done < count && rc == 0;) {
		size_t k = count - done < per_req ? count - done : per_req;

		for (size_t i = 0; i < k && rc == 0; i++) {
			size_t len = 0;

			ds_item_make(&items[i], owner, first + done + (unsigned)i, version);
			puts[i] = (onestop_put_t){.dataset = ONESTOP_DS_ITEMS,
						  .key = items[i].code,
						  .is_delete = del};
			if (del)
				continue;
			rc = onestop_item_encode(&items[i].v, &vals[i], &len);
			if (rc != 0) {
				fprintf(stderr, "  onestop_item_encode(%s): %d %s\n", items[i].code,
					rc, onestop_strerror(rc));
				break;
			}
			puts[i].value = vals[i];
			puts[i].len = len;
		}
		if (rc == 0) {
			rc = onestop_put(c, puts, k, NULL);
			if (rc != 0)
				fprintf(stderr,
					"  onestop_put of %s items %u..%u failed: %d %s (%s)\n",
					owner, first + done, first + done + (unsigned)k - 1, rc,
					onestop_strerror(rc), onestop_last_error(c));
		}
		for (size_t i = 0; i < k; i++) {
			free(vals[i]);
			vals[i] = NULL;
		}
		done += (unsigned)k;
	}
out:
	free(puts);
	free(vals);
	free(items);
	return rc;
}

void ds_opts_identity(struct net_opts *o)
{
	memset(o, 0, sizeof *o);
	o->datasets[0] = (struct net_dataset){"identity", "cached"};
	o->spoke[0].name = "idp";
	o->spoke[0].roles[0] = "spoke";
	o->spoke[0].roles[1] = "idp";
	o->spoke[0].publish[0] = "identity";
	o->spoke[1].name = "a";
	o->spoke[2].name = "b";
}

int ds_put_identity(onestop_t *c, const char *subject, unsigned level, int status,
		    const char *authority)
{
	onestop_identity_t v;
	onestop_put_t put;
	uint8_t *buf = NULL;
	size_t len = 0;
	int rc;

	memset(&v, 0, sizeof v);
	v.kind = ONESTOP_PERSON;
	v.level = level;
	v.status = status;
	snprintf(v.authority, sizeof v.authority, "%s", authority);
	v.updated_ms = os_now_ms();
	rc = onestop_identity_encode(&v, &buf, &len);
	if (rc != 0) {
		fprintf(stderr, "  onestop_identity_encode(%s): %d %s\n", subject, rc,
			onestop_strerror(rc));
		return rc;
	}
	put = (onestop_put_t){.dataset = ONESTOP_DS_IDENTITY,
			      .key = subject,
			      .value = buf,
			      .len = len};
	rc = onestop_put(c, &put, 1, NULL);
	if (rc != 0)
		fprintf(stderr, "  onestop_put identity %s failed: %d %s (%s)\n", subject, rc,
			onestop_strerror(rc), onestop_last_error(c));
	free(buf);
	return rc;
}

int ds_get_identity(struct net_proc *p, const char *subject, int wait_ms, onestop_identity_t *id,
		    uint64_t *entry_seq)
{
	onestop_t *c = NULL;
	onestop_entry_t *e = NULL;
	int rc = net_connect(p, h_ms(10000), &c);

	if (id)
		memset(id, 0, sizeof *id);
	if (rc == 0)
		rc = onestop_get(c, ONESTOP_DS_IDENTITY, subject, wait_ms, &e);
	if (rc == 0) {
		if (entry_seq)
			*entry_seq = e->seq;
		if (id && onestop_identity_decode(e->value, e->len, id) != 0)
			rc = ONESTOP_EDECODE;
	}
	onestop_entry_free(&e);
	onestop_close(&c);
	return rc;
}
