/* Datasets through the hub tree (PROTOCOL 13.5). The national spoke nat
 * publishes ONESTOP_FED_ITEMS items (default 100,000) and a few cached
 * identity entries at the national hub; every province hub relays them and
 * every spoke ends with the national copy (same seq, count and digest,
 * hubs read with `onestop-hub --dataset-digest`, the relays' cached copy
 * whole). A province dataset (gd.permits, declared in gd.reg, published by
 * gd.a) reaches gd.b and neither sc.a nor the national hub. With the
 * national hub killed, a gd spoke that was stopped while more items were
 * published catches up from gd.hub, and a cached-mode miss there is
 * answered by gd.hub. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_harness.h"
#include "fed_harness.h"

#define ITEMS_DEFAULT 100000u
#define PER_PUT 1000u
#define LATER 1000u   /* items published while gd.b is stopped */
#define PERMITS 20u   /* gd.permits entries */
#define SUBJECTS 50u  /* identity entries */
#define WAIT_MS 60000 /* per wait, on top of what the items need */

static unsigned items_count(void)
{
	const char *s = getenv("ONESTOP_FED_ITEMS");
	long v = s && *s ? strtol(s, NULL, 10) : 0;

	return v > 0 && v <= 1000000 ? (unsigned)v : ITEMS_DEFAULT;
}

/* `onestop-hub --dataset-digest DATASET -c CONF` of hub p into *out. 0 or
 * -1 (the output is printed). */
static int hub_digest(struct fed *f, struct net_proc *p, const char *dataset,
		      struct net_digest *out)
{
	char prog[H_PATH + 32];
	const char *argv[] = {prog, "-c", p->conf, "--dataset-digest", dataset, NULL};
	struct cmd_out r;
	unsigned long long seq, count;
	char hex[65];
	const char *s;
	int rc = -1;

	memset(out, 0, sizeof *out);
	snprintf(prog, sizeof prog, "%s/onestop-hub", f->net->bin);
	if (cmd_run(argv, NULL, 0, h_ms(60000), &r) != 0) {
		cmd_out_free(&r);
		return -1;
	}
	s = r.out ? strstr(r.out, "dataset=") : NULL;
	if (r.code == 0 && s &&
	    sscanf(s, "dataset=%*s seq=%llu count=%llu digest=%64[0-9a-f]", &seq, &count, hex) ==
		    3 &&
	    strlen(hex) == 64) {
		out->seq = seq;
		out->count = count;
		memcpy(out->digest, hex, 65);
		rc = 0;
	} else {
		fprintf(stderr,
			"  %s --dataset-digest %s: exit %d, stdout: %.200s stderr: %.300s\n",
			p->name, dataset, r.code, r.out ? r.out : "", r.err ? r.err : "");
	}
	cmd_out_free(&r);
	return rc;
}

/* Wait until hub p's copy of dataset is at seq >= want. 0 or -1. */
static int hub_wait(struct fed *f, struct net_proc *p, const char *dataset, uint64_t want,
		    int timeout_ms, struct net_digest *out)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		int rc = hub_digest(f, p, dataset, out);

		if (rc == 0 && out->seq >= want)
			return 0;
		if (h_now_ms() >= deadline) {
			fprintf(stderr, "  %s: %s at seq %llu (rc %d), wanted %llu\n", p->name,
				dataset, (unsigned long long)out->seq, rc,
				(unsigned long long)want);
			return -1;
		}
		h_sleep_ms(250);
	}
}

/* p's copy of dataset equals want: seq, count, digest. */
static int spoke_same(struct fed *f, struct net_proc *p, const char *dataset,
		      const struct net_digest *want, int timeout_ms)
{
	onestop_dataset_t d;
	char hex[65];
	int ok;

	if (ds_wait_seq(p, dataset, want->seq, timeout_ms, &d) != 0)
		return 0;
	ok = d.seq == want->seq && d.count == want->count &&
	     strcmp(ds_hex32(d.digest, hex), want->digest) == 0;
	if (!ok)
		fprintf(stderr, "  %s: %s seq %llu count %llu digest %s; want %llu %llu %s\n",
			p->name, dataset, (unsigned long long)d.seq, (unsigned long long)d.count,
			hex, (unsigned long long)want->seq, (unsigned long long)want->count,
			want->digest);
	(void)f;
	return ok;
}

static int same_digest(const struct net_digest *a, const struct net_digest *b)
{
	return a->seq == b->seq && a->count == b->count && strcmp(a->digest, b->digest) == 0;
}

static int put_permits(struct net_proc *p, unsigned n)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(10000), &c);

	for (unsigned i = 0; i < n && rc == 0; i++) {
		char key[32], val[96];
		onestop_put_t put;

		snprintf(key, sizeof key, "permit-%04u", i);
		snprintf(val, sizeof val, "permit %u of %s", i, p->name);
		put = (onestop_put_t){.dataset = "gd.permits",
				      .key = key,
				      .value = val,
				      .len = strlen(val)};
		rc = onestop_put(c, &put, 1, NULL);
		if (rc)
			fprintf(stderr, "  put gd.permits %s: %d %s\n", key, rc,
				onestop_last_error(c));
	}
	onestop_close(&c);
	return rc;
}

static int put_subjects(struct net_proc *p, unsigned n)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(10000), &c);

	for (unsigned i = 0; i < n && rc == 0; i++) {
		char subject[32];

		snprintf(subject, sizeof subject, "subj-%04u", i);
		rc = ds_put_identity(c, subject, 1 + i % 3, ONESTOP_SUBJECT_ACTIVE, "nat");
	}
	onestop_close(&c);
	return rc;
}

static int put_items(struct net_proc *p, unsigned first, unsigned count)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(10000), &c);

	if (rc == 0)
		rc = ds_put_items(c, "nat", first, count, 0, 0, PER_PUT);
	onestop_close(&c);
	return rc;
}

int main(void)
{
	static struct fed_opts o = {
		.datasets = {{"items", "full"}, {"identity", "cached"}, {"gd.permits", "full"}},
		.node = {{.name = "nat",
			  .roles = {"spoke", "idp"},
			  .publish = {"items", "identity"}},
			 {.name = "gd.a", .publish = {"gd.permits"}}},
	};
	unsigned items = items_count();
	int wait = WAIT_MS + (int)items; /* 1 s per 1,000 items on top */
	const char *spokes[] = {"nat", "gd.a", "gd.b", "sc.a", "sc.b"};
	const char *relays[] = {"gd.hub", "sc.hub"};
	struct net_digest nat_items, nat_id, d, gd_permits;
	struct fed *f = fed_make(&o);
	struct net *n = f->net;
	struct net_proc *nat = fed_proc(f, "nat"), *gda = fed_proc(f, "gd.a"),
			*gdb = fed_proc(f, "gd.b"), *sca = fed_proc(f, "sc.a"),
			*gdhub = fed_proc(f, "gd.hub");
	onestop_dataset_t info;
	uint64_t t0;

	H_REQUIRE(n, nat && gda && gdb && sca && gdhub, "the federation has its nodes");
	fed_start_all(f);

	/* National items and identities, through both province hubs. */
	t0 = h_now_ms();
	H_REQUIRE(n, put_items(nat, 0, items) == 0, "nat publishes %u items", items);
	H_REQUIRE(n, put_subjects(nat, SUBJECTS) == 0, "nat publishes %u identities", SUBJECTS);
	H_REQUIRE(n, hub_wait(f, &n->hub, "items", items, wait, &nat_items) == 0,
		  "the national hub sequenced the items");
	H_CHECK(n, nat_items.count == items, "national items count %llu",
		(unsigned long long)nat_items.count);
	H_REQUIRE(n, hub_wait(f, &n->hub, "identity", SUBJECTS, wait, &nat_id) == 0,
		  "the national hub sequenced the identities");
	fprintf(stderr, "  %u items sequenced nationally in %llu ms\n", items,
		(unsigned long long)(h_now_ms() - t0));
	for (size_t i = 0; i < 2; i++) {
		struct net_proc *p = fed_proc(f, relays[i]);

		H_CHECK(n,
			hub_wait(f, p, "items", nat_items.seq, wait, &d) == 0 &&
				same_digest(&d, &nat_items),
			"%s relays the national items (seq %llu count %llu)", relays[i],
			(unsigned long long)d.seq, (unsigned long long)d.count);
		/* A relay holds every entry of a cached dataset. */
		H_CHECK(n,
			hub_wait(f, p, "identity", nat_id.seq, wait, &d) == 0 &&
				same_digest(&d, &nat_id),
			"%s holds the whole cached identity copy (count %llu of %llu)", relays[i],
			(unsigned long long)d.count, (unsigned long long)nat_id.count);
	}
	for (size_t i = 0; i < sizeof spokes / sizeof spokes[0]; i++)
		H_CHECK(n, spoke_same(f, fed_proc(f, spokes[i]), "items", &nat_items, wait),
			"%s holds the national items", spokes[i]);
	fprintf(stderr, "  %u items at every spoke in %llu ms\n", items,
		(unsigned long long)(h_now_ms() - t0));

	/* A province dataset stays in its province. */
	H_REQUIRE(n, put_permits(gda, PERMITS) == 0, "gd.a publishes gd.permits");
	H_REQUIRE(n, hub_wait(f, gdhub, "gd.permits", PERMITS, WAIT_MS, &gd_permits) == 0,
		  "gd.hub sequences gd.permits");
	H_CHECK(n, gd_permits.count == PERMITS, "gd.permits count %llu",
		(unsigned long long)gd_permits.count);
	H_CHECK(n, spoke_same(f, gdb, "gd.permits", &gd_permits, WAIT_MS), "gd.b holds gd.permits");
	H_CHECK(n, ds_info(sca, "gd.permits", &info) == ONESTOP_ENOTFOUND,
		"sc.a does not list gd.permits");
	H_CHECK(n, hub_digest(f, &n->hub, "gd.permits", &d) == 0 && d.count == 0 && d.seq == 0,
		"the national hub holds no gd.permits (count %llu)", (unsigned long long)d.count);
	H_CHECK(n, hub_digest(f, fed_proc(f, "sc.hub"), "gd.permits", &d) == 0 && d.count == 0,
		"sc.hub holds no gd.permits (count %llu)", (unsigned long long)d.count);

	/* The national hub away: a gd spoke that is behind catches up from
	 * gd.hub, and its cached-mode misses are answered there. */
	H_REQUIRE(n, proc_stop(n, gdb, h_ms(20000)) == 0, "gd.b stops");
	H_REQUIRE(n, put_items(nat, items, LATER) == 0, "nat publishes %u more items", LATER);
	H_REQUIRE(n, hub_wait(f, &n->hub, "items", nat_items.seq + LATER, wait, &nat_items) == 0,
		  "the national hub sequenced them");
	H_REQUIRE(n,
		  hub_wait(f, gdhub, "items", nat_items.seq, wait, &d) == 0 &&
			  same_digest(&d, &nat_items),
		  "gd.hub relays them");
	proc_kill(n, &n->hub);
	fed_up(f, gdb);
	H_CHECK(n, spoke_same(f, gdb, "items", &nat_items, wait),
		"gd.b catches up from gd.hub with the national hub down");
	{
		onestop_identity_t id;
		int rc = ds_get_identity(gdb, "subj-0007", 10000, &id, NULL);

		H_CHECK(n, rc == 0 && id.level == 2, "gd.hub answers gd.b's identity miss (rc %d)",
			rc);
	}
	return fed_done(&f);
}
