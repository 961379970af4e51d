/* Local reads with the hub stopped. Spoke b holds the 200 items a
 * published and 5 of the 20 subjects the idp published (it looked them
 * up). With the hub stopped b still answers: Datasets (same seq, count,
 * digest), item gets and lists with every filter, the CLI's get and items,
 * and identity gets of the subjects it holds; a cached-mode miss fails
 * promptly with ONESTOP_ECONN. A change published at a while the hub is
 * down waits in a's outbox and reaches b once the hub is back, and misses
 * fill again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_harness.h"

#define ITEMS 200
#define FETCH_TIMEOUT_MS 2000

static size_t list_count(struct net *n, struct net_proc *p, const onestop_list_t *filter,
			 int *rc_out)
{
	onestop_t *c = NULL;
	onestop_entry_t *es = NULL;
	size_t k = 0;
	char *next = NULL;
	int rc = net_connect(p, 0, &c);

	if (rc == 0)
		rc = onestop_list(c, ONESTOP_DS_ITEMS, filter, &es, &k, &next);
	if (rc != 0)
		fprintf(stderr, "  list at %s: %d %s (%s)\n", p->name, rc, onestop_strerror(rc),
			onestop_last_error(c));
	*rc_out = rc;
	onestop_entries_free(&es, k);
	free(next);
	onestop_close(&c);
	(void)n;
	return k;
}

static void check_reads(struct net *n, struct net_proc *b, const onestop_dataset_t *before)
{
	onestop_dataset_t d;
	onestop_list_t f;
	onestop_t *c = NULL;
	struct cmd_out r;
	unsigned bad = 0;
	char why[256] = "", h1[65], h2[65];
	size_t k;
	int rc;

	rc = ds_info(b, "items", &d);
	H_CHECK(n,
		rc == 0 && d.seq == before->seq && d.count == before->count &&
			memcmp(d.digest, before->digest, 32) == 0,
		"Datasets at b answers as before: rc %d seq %llu count %llu digest %s (before: "
		"seq %llu count %llu digest %s)",
		rc, (unsigned long long)d.seq, (unsigned long long)d.count, ds_hex32(d.digest, h1),
		(unsigned long long)before->seq, (unsigned long long)before->count,
		ds_hex32(before->digest, h2));

	rc = net_connect(b, 0, &c);
	H_CHECK(n, rc == 0, "connected to b");
	for (unsigned idx = 1; rc == 0 && idx <= ITEMS; idx += 7) {
		struct ds_item it;
		onestop_entry_t *e = NULL;
		onestop_item_t *v = NULL;
		char d2[200];
		int g;

		ds_item_make(&it, "a", idx, 0);
		g = onestop_get(c, ONESTOP_DS_ITEMS, it.code, 0, &e);
		if (g != 0 || onestop_item_decode(e->value, e->len, &v) != 0 ||
		    ds_item_same(v, &it.v, d2, sizeof d2) != 0) {
			if (!bad++)
				snprintf(why, sizeof why, "%s: get %d %s", it.code, g,
					 g ? onestop_last_error(c) : "value differs");
		}
		onestop_item_free(&v);
		onestop_entry_free(&e);
	}
	H_CHECK(n, bad == 0, "item gets at b answer with the published values (%u bad) %s", bad,
		why);
	onestop_close(&c);

	memset(&f, 0, sizeof f);
	f.limit = 1000;
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == ITEMS, "list: %zu items (want %d)", k, ITEMS);
	f.owner = "a";
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == ITEMS, "list --owner a: %zu items (want %d)", k, ITEMS);
	f.owner = "idp";
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == 0, "list --owner idp: %zu items (want 0)", k);
	f.owner = NULL;
	f.online = 2;
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == ITEMS / 10, "list offline-only: %zu (want %d)", k, ITEMS / 10);
	f.online = 1;
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == ITEMS - ITEMS / 10, "list online: %zu (want %d)", k,
		ITEMS - ITEMS / 10);
	f.online = 0;
	f.search = "service 42 of a";
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == 1, "list --search 'service 42 of a': %zu (want 1)", k);
	f.search = NULL;
	f.after_key = "a-0000100";
	f.limit = 50;
	k = list_count(n, b, &f, &rc);
	H_CHECK(n, rc == 0 && k == 50, "list after a-0000100, limit 50: %zu (want 50)", k);

	rc = net_cli(n, &r, "get", "items", "a-0000042", "--api", b->api, NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "registration service 42 of a"),
		"onestop get items a-0000042 at b: exit %d, prints the item (%.300s%.200s)", rc,
		r.out, r.err);
	cmd_out_free(&r);
	rc = net_cli(n, &r, "items", "--offline", "--all", "--api", b->api, NULL);
	{
		int lines = 0;

		for (const char *q = r.out; *q; q++)
			lines += *q == '\n';
		H_CHECK(n,
			rc == 0 && lines == ITEMS / 10 && strstr(r.out, "a-0000047") &&
				strstr(r.out, "site inspection required for item a-47"),
			"onestop items --offline at b: exit %d, %d lines (want %d) %.200s", rc,
			lines, ITEMS / 10, r.err);
	}
	cmd_out_free(&r);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *idp, *b;
	onestop_t *ca = NULL, *ci = NULL;
	onestop_identity_t id;
	onestop_dataset_t before;
	onestop_status_t st;
	char s[32], fto[16];
	uint64_t t0, took;
	int rc;

	snprintf(fto, sizeof fto, "%d", FETCH_TIMEOUT_MS);
	memset(&o, 0, sizeof o);
	o.datasets[0] = (struct net_dataset){"items", "full"};
	o.datasets[1] = (struct net_dataset){"identity", "cached"};
	o.spoke[0].name = "a";
	o.spoke[0].publish[0] = "items";
	o.spoke[1].name = "idp";
	o.spoke[1].roles[0] = "spoke";
	o.spoke[1].roles[1] = "idp";
	o.spoke[1].publish[0] = "identity";
	o.spoke[2].name = "b";
	o.spoke[2].conf[0] = (struct net_kv){"fetch_timeout_ms", fto};
	n = net_make(3, &o);
	a = net_spoke(n, "a");
	idp = net_spoke(n, "idp");
	b = net_spoke(n, "b");
	net_start_all(n);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0 && net_connect(idp, 0, &ci) == 0, "connected");
	H_REQUIRE(n, ds_put_items(ca, "a", 1, ITEMS, 0, 0, 100) == 0, "a published %d items",
		  ITEMS);
	for (unsigned k = 1; k <= 20; k++) {
		snprintf(s, sizeof s, "subj-%03u", k);
		H_REQUIRE(n, ds_put_identity(ci, s, 2, ONESTOP_SUBJECT_ACTIVE, "idp") == 0,
			  "idp published %s", s);
	}
	{
		struct net_digest hub;
		onestop_dataset_t d;

		memset(&hub, 0, sizeof hub);
		memset(&d, 0, sizeof d);
		rc = ds_wait_same_as_hub(n, b, "items", ITEMS, h_ms(60000), &hub, &d);
		H_CHECK(n, rc == 0 && d.count == ITEMS, "b holds the hub's %d items (count %llu)",
			ITEMS, (unsigned long long)d.count);
		H_CHECK(n, ds_wait_hub_seq(n, "identity", 20, h_ms(30000), &hub) == 0,
			"the hub sequenced the 20 subjects");
	}
	for (unsigned k = 1; k <= 5; k++) {
		snprintf(s, sizeof s, "subj-%03u", k);
		rc = ds_get_identity(b, s, 0, &id, NULL);
		H_CHECK(n, rc == 0 && id.status == ONESTOP_SUBJECT_ACTIVE, "b looked up %s (rc %d)",
			s, rc);
	}
	H_REQUIRE(n, ds_info(b, "items", &before) == 0, "b's items position");

	fprintf(stderr, "the hub stops\n");
	rc = proc_stop(n, &n->hub, 0);
	H_CHECK(n, rc == 0, "hub stopped cleanly (exit %d)", rc);
	t0 = h_now_ms();
	while (!(net_status(b, &st) == 0 && !st.hub_connected) &&
	       h_now_ms() - t0 < (uint64_t)h_ms(15000))
		h_sleep_ms(50);
	H_CHECK(n, !st.hub_connected, "b noticed the hub is gone");

	check_reads(n, b, &before);
	for (unsigned k = 1; k <= 5; k++) {
		snprintf(s, sizeof s, "subj-%03u", k);
		rc = ds_get_identity(b, s, 0, &id, NULL);
		H_CHECK(n, rc == 0 && id.status == ONESTOP_SUBJECT_ACTIVE && id.level == 2,
			"b answers %s from its cache with the hub down (rc %d %s)", s, rc,
			onestop_strerror(rc));
	}
	{
		onestop_t *cb = NULL;
		onestop_entry_t *e = NULL;

		rc = net_connect(b, 0, &cb);
		t0 = h_now_ms();
		if (rc == 0)
			rc = onestop_get(cb, ONESTOP_DS_IDENTITY, "subj-010", 0, &e);
		took = h_now_ms() - t0;
		H_CHECK(n, rc == ONESTOP_ECONN && onestop_last_error(cb)[0],
			"a cached-mode miss with the hub down: %d %s (want ECONN), \"%s\"", rc,
			onestop_strerror(rc), onestop_last_error(cb));
		H_CHECK(n, took < (uint64_t)h_ms(FETCH_TIMEOUT_MS + 2000),
			"...promptly: %llu ms (fetch_timeout_ms %d)", (unsigned long long)took,
			FETCH_TIMEOUT_MS);
		onestop_entry_free(&e);
		onestop_close(&cb);
	}

	fprintf(stderr, "a publishes while the hub is down\n");
	rc = ds_put_items(ca, "a", ITEMS + 1, 1, 0, 0, 1);
	H_CHECK(n, rc == 0, "a's put of item %d returned OK into its outbox (rc %d)", ITEMS + 1,
		rc);

	fprintf(stderr, "the hub is back\n");
	net_up(n, &n->hub, 1);
	{
		struct net_digest hub;
		onestop_dataset_t d;

		memset(&hub, 0, sizeof hub);
		memset(&d, 0, sizeof d);
		rc = ds_wait_hub_seq(n, "items", ITEMS + 1, h_ms(60000), &hub);
		H_CHECK(n, rc == 0, "a's outbox reached the hub: the hub is at seq %llu (want %d)",
			(unsigned long long)hub.seq, ITEMS + 1);
		rc = ds_wait_same_as_hub(n, b, "items", ITEMS + 1, h_ms(60000), &hub, &d);
		H_CHECK(n, rc == 0 && d.count == ITEMS + 1 && hub.seq == ITEMS + 1,
			"b holds the hub's items with the one published during the outage (seq "
			"%llu count %llu)",
			(unsigned long long)d.seq, (unsigned long long)d.count);
	}
	H_CHECK(n, net_spoke_ready(n, b, 1, h_ms(30000)) == 0, "b reconnected");
	rc = ds_get_identity(b, "subj-010", 0, &id, NULL);
	H_CHECK(n, rc == 0 && id.status == ONESTOP_SUBJECT_ACTIVE,
		"the miss fills again with the hub back (rc %d %s)", rc, onestop_strerror(rc));

	onestop_close(&ca);
	onestop_close(&ci);
	return net_done(&n);
}
