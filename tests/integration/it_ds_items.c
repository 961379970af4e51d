/* The items dataset at national scale: three owners (spokes a, b and c)
 * each publish their own items through onestop_put in batches, 100,000 in
 * all, about one in ten offline-only with its reason. Every spoke must end
 * with the hub's copy (same seq, count and digest, the hub's read with
 * `onestop-hub --dataset-digest`), answer gets with the published values,
 * and `onestop items --offline --all` must list exactly the offline-only
 * items with their reasons (and with --owner, only that owner's). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_harness.h"

#define OWNERS 3
#define ITEMS 100000
#define PER_PUT 1000

struct publisher {
	struct net_proc *p;
	unsigned first, count;
	int rc;
	uint64_t ms;
};

struct expect {
	char code[48];
	char reason[128];
	int seen;
};

static void *publish_run(void *arg)
{
	struct publisher *pub = arg;
	onestop_t *c = NULL;
	uint64_t t0 = h_now_ms();

	pub->rc = net_connect(pub->p, h_ms(30000), &c);
	if (pub->rc == 0)
		pub->rc = ds_put_items(c, pub->p->name, pub->first, pub->count, 0, 0, PER_PUT);
	onestop_close(&c);
	pub->ms = h_now_ms() - t0;
	return NULL;
}

static int cmp_expect(const void *x, const void *y)
{
	return strcmp(((const struct expect *)x)->code, ((const struct expect *)y)->code);
}

/* The offline-only items the owners published, sorted by code. */
static struct expect *expected_offline(struct publisher *pub, size_t *n)
{
	size_t cap = 0, k = 0;
	struct expect *e;

	for (int i = 0; i < OWNERS; i++)
		cap += pub[i].count / 10 + 1;
	e = calloc(cap, sizeof *e);
	if (!e)
		return NULL;
	for (int i = 0; i < OWNERS; i++) {
		for (unsigned idx = pub[i].first; idx < pub[i].first + pub[i].count; idx++) {
			struct ds_item it;

			if (!ds_item_offline(idx))
				continue;
			ds_item_make(&it, pub[i].p->name, idx, 0);
			snprintf(e[k].code, sizeof e[k].code, "%s", it.code);
			snprintf(e[k].reason, sizeof e[k].reason, "%s", it.reason);
			k++;
		}
	}
	qsort(e, k, sizeof *e, cmp_expect);
	*n = k;
	return e;
}

/* Check `onestop items --offline --all [--owner O]` at p against the
 * expected list (restricted to owner when given). */
static int owned_by(const char *code, const char *owner)
{
	size_t l = strlen(owner);

	return strncmp(code, owner, l) == 0 && code[l] == '-';
}

static void check_cli_offline(struct net *n, struct net_proc *p, struct expect *e, size_t ne,
			      const char *owner)
{
	struct cmd_out r;
	size_t want = 0, lines = 0, unknown = 0, dup = 0, no_reason = 0, seen = 0;
	char first_bad[512] = "";
	int rc;

	for (size_t i = 0; i < ne; i++) {
		e[i].seen = 0;
		if (!owner || owned_by(e[i].code, owner))
			want++;
	}
	if (owner)
		rc = net_cli(n, &r, "items", "--offline", "--all", "--owner", owner, "--api",
			     p->api, NULL);
	else
		rc = net_cli(n, &r, "items", "--offline", "--all", "--api", p->api, NULL);
	H_CHECK(n, rc == 0, "onestop items --offline --all%s%s at %s: exit %d (%.200s)",
		owner ? " --owner " : "", owner ? owner : "", p->name, rc, r.err);
	for (char *line = r.out; line && *line;) {
		char *nl = strchr(line, '\n');
		char code[48];
		struct expect key, *hit;

		if (nl)
			*nl = '\0';
		if (sscanf(line, "%47s", code) != 1) {
			line = nl ? nl + 1 : NULL;
			continue;
		}
		lines++;
		snprintf(key.code, sizeof key.code, "%s", code);
		hit = bsearch(&key, e, ne, sizeof *e, cmp_expect);
		if (!hit || (owner && !owned_by(hit->code, owner))) {
			unknown++;
			if (!first_bad[0])
				snprintf(first_bad, sizeof first_bad, "unexpected line: %.200s",
					 line);
		} else if (hit->seen++) {
			dup++;
			if (!first_bad[0])
				snprintf(first_bad, sizeof first_bad, "listed twice: %.200s", line);
		} else {
			seen++;
			if (!strstr(line, hit->reason)) {
				no_reason++;
				if (!first_bad[0])
					snprintf(first_bad, sizeof first_bad,
						 "reason \"%s\" missing: %.200s", hit->reason,
						 line);
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	H_CHECK(n, lines == want && seen == want && unknown == 0 && dup == 0 && no_reason == 0,
		"items --offline%s%s at %s lists exactly the %zu offline-only items with their "
		"reasons (lines=%zu matched=%zu unexpected=%zu twice=%zu without reason=%zu) %s",
		owner ? " --owner " : "", owner ? owner : "", p->name, want, lines, seen, unknown,
		dup, no_reason, first_bad);
	cmd_out_free(&r);
}

/* Every offline-only item through onestop_list(online=2), paged. */
static void check_list_offline(struct net *n, struct net_proc *p, size_t want)
{
	onestop_t *c = NULL;
	onestop_list_t f;
	char *after = NULL;
	size_t total = 0, online = 0;
	int rc = net_connect(p, 0, &c), pages = 0;

	memset(&f, 0, sizeof f);
	f.online = 2;
	f.limit = 2000;
	while (rc == 0 && pages < 1000) {
		onestop_entry_t *es = NULL;
		size_t k = 0;
		char *next = NULL;

		f.after_key = after;
		rc = onestop_list(c, ONESTOP_DS_ITEMS, &f, &es, &k, &next);
		if (rc != 0)
			break;
		for (size_t i = 0; i < k; i++) {
			onestop_item_t *v = NULL;

			if (onestop_item_decode(es[i].value, es[i].len, &v) != 0 || v->online)
				online++;
			onestop_item_free(&v);
		}
		total += k;
		onestop_entries_free(&es, k);
		free(after);
		after = next;
		pages++;
		if (!after)
			break;
	}
	H_CHECK(n, rc == 0 && total == want && online == 0,
		"onestop_list(items, offline-only) at %s: %zu entries in %d pages, %zu not "
		"offline-only (want %zu; rc %d %s)",
		p->name, total, pages, online, want, rc, rc ? onestop_last_error(c) : "");
	free(after);
	onestop_close(&c);
}

/* A sample of gets at p: the value, the publisher and a sane seq. */
static void check_gets(struct net *n, struct net_proc *p, struct publisher *pub, uint64_t seq)
{
	onestop_t *c = NULL;
	unsigned bad = 0, tried = 0;
	char why[256] = "";
	int rc = net_connect(p, 0, &c);

	H_CHECK(n, rc == 0, "connected to %s", p->name);
	for (unsigned k = 0; rc == 0 && k < 300; k++) {
		struct publisher *o = &pub[k % OWNERS];
		unsigned idx = o->first + (k * 7919u) % o->count;
		struct ds_item it;
		onestop_entry_t *e = NULL;
		onestop_item_t *v = NULL;
		int g;

		ds_item_make(&it, o->p->name, idx, 0);
		tried++;
		g = onestop_get(c, ONESTOP_DS_ITEMS, it.code, 0, &e);
		if (g != 0) {
			if (!bad++)
				snprintf(why, sizeof why, "get %s: %d %s (%s)", it.code, g,
					 onestop_strerror(g), onestop_last_error(c));
		} else if (strcmp(e->key, it.code) != 0 || !e->publisher ||
			   strcmp(e->publisher, o->p->name) != 0 || e->seq == 0 || e->seq > seq ||
			   e->updated_ms == 0) {
			if (!bad++)
				snprintf(why, sizeof why, "%s: key %s publisher %s seq %llu",
					 it.code, e->key, e->publisher ? e->publisher : "(null)",
					 (unsigned long long)e->seq);
		} else if (onestop_item_decode(e->value, e->len, &v) != 0) {
			if (!bad++)
				snprintf(why, sizeof why, "%s: value does not decode", it.code);
		} else {
			char d[200];

			if (ds_item_same(v, &it.v, d, sizeof d) != 0 && !bad++)
				snprintf(why, sizeof why, "%s: %s", it.code, d);
		}
		onestop_item_free(&v);
		onestop_entry_free(&e);
	}
	H_CHECK(n, bad == 0 && tried == 300,
		"%u gets at %s return the published item, publisher and seq (%u bad) %s", tried,
		p->name, bad, why);
	onestop_close(&c);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct publisher pub[OWNERS];
	pthread_t th[OWNERS];
	struct net_digest hub;
	struct expect *off;
	size_t n_off = 0;
	unsigned total = ITEMS;
	uint64_t t0;
	char hex[65];
	int rc;

	memset(&o, 0, sizeof o);
	o.datasets[0] = (struct net_dataset){"items", "full"};
	o.hub_conf[0] = (struct net_kv){"map_size_mb", "4096"};
	for (int i = 0; i < OWNERS; i++) {
		o.spoke[i].publish[0] = "items";
		o.spoke[i].conf[0] = (struct net_kv){"map_size_mb", "2048"};
	}
	n = net_make(OWNERS, &o);
	net_start_all(n);

	fprintf(stderr, "three owners publish %u items\n", total);
	t0 = h_now_ms();
	for (int i = 0; i < OWNERS; i++) {
		pub[i].p = &n->spoke[i];
		pub[i].first = 1;
		pub[i].count = total / OWNERS + (i < (int)(total % OWNERS) ? 1 : 0);
		pub[i].rc = -1;
		H_REQUIRE(n, pthread_create(&th[i], NULL, publish_run, &pub[i]) == 0, "thread");
	}
	for (int i = 0; i < OWNERS; i++) {
		pthread_join(th[i], NULL);
		H_CHECK(n, pub[i].rc == 0, "%s published its %u items (rc %d) in %llu ms",
			pub[i].p->name, pub[i].count, pub[i].rc, (unsigned long long)pub[i].ms);
	}
	H_REQUIRE(n, pub[0].rc == 0 && pub[1].rc == 0 && pub[2].rc == 0, "all published");

	memset(&hub, 0, sizeof hub);
	rc = ds_wait_hub_seq(n, "items", total, h_ms(180000), &hub);
	H_CHECK(n, rc == 0, "the hub sequenced all %u changes (seq %llu)", total,
		(unsigned long long)hub.seq);
	for (int i = 0; i < OWNERS; i++) {
		onestop_dataset_t d;

		memset(&d, 0, sizeof d);
		rc = ds_wait_same_as_hub(n, &n->spoke[i], "items", total, h_ms(180000), &hub, &d);
		H_CHECK(n, rc == 0,
			"%s holds the hub's items: seq %llu count %llu digest %s (hub seq %llu count "
			"%llu digest %s)",
			n->spoke[i].name, (unsigned long long)d.seq, (unsigned long long)d.count,
			ds_hex32(d.digest, hex), (unsigned long long)hub.seq,
			(unsigned long long)hub.count, hub.digest);
		H_CHECK(n, d.count == total && d.mode == ONESTOP_MODE_FULL && !d.syncing,
			"%s: count %llu == %u, mode full, not syncing", n->spoke[i].name,
			(unsigned long long)d.count, total);
	}
	H_CHECK(n, hub.seq == total && hub.count == total,
		"hub: seq %llu count %llu (want %u each)", (unsigned long long)hub.seq,
		(unsigned long long)hub.count, total);
	fprintf(stderr, "  published and replicated to three spokes in %llu ms\n",
		(unsigned long long)(h_now_ms() - t0));

	for (int i = 0; i < OWNERS; i++)
		check_gets(n, &n->spoke[i], pub, hub.seq);

	off = expected_offline(pub, &n_off);
	H_REQUIRE(n, off != NULL, "memory");
	fprintf(stderr, "  %zu offline-only items published\n", n_off);
	check_cli_offline(n, &n->spoke[1], off, n_off, NULL);
	check_cli_offline(n, &n->spoke[0], off, n_off, "c");
	check_list_offline(n, &n->spoke[2], n_off);
	free(off);
	return net_done(&n);
}
