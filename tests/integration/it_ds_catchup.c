/* Catching up on the items dataset after a spoke was away.
 * 1. Spoke b is stopped while a publishes 10,000 changes (new items,
 *    updates and deletes); after its restart b replays the gap from the
 *    hub's log and ends with the hub's copy (seq, count, digest), with no
 *    snapshot.
 * 2. With the hub's dataset_log_max at 1000, b is stopped while 5,000
 *    changes go by, so the log no longer reaches back to b's position: b
 *    gets a snapshot (the daemons log it) and ends identical, including
 *    the deletion of entries it held.
 * Spoke c stays up throughout as a reference. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_harness.h"

/* Expect item idx of owner at p: present at version (>= 0) or absent (-1). */
static void check_item(struct net *n, struct net_proc *p, const char *owner, unsigned idx,
		       int version)
{
	onestop_t *c = NULL;
	onestop_entry_t *e = NULL;
	onestop_item_t *v = NULL;
	struct ds_item it;
	char why[200] = "";
	int rc;

	ds_item_make(&it, owner, idx, version < 0 ? 0 : (unsigned)version);
	rc = net_connect(p, 0, &c);
	if (rc == 0)
		rc = onestop_get(c, ONESTOP_DS_ITEMS, it.code, 0, &e);
	if (version < 0) {
		H_CHECK(n, rc == ONESTOP_ENOTFOUND, "%s: deleted item %s is gone (get: %d %s)",
			p->name, it.code, rc, onestop_strerror(rc));
	} else {
		int same = rc == 0 && onestop_item_decode(e->value, e->len, &v) == 0 &&
			   ds_item_same(v, &it.v, why, sizeof why) == 0;

		H_CHECK(n, same, "%s: item %s is at version %d (get: %d %s) %s", p->name, it.code,
			version, rc, onestop_strerror(rc), why);
	}
	onestop_item_free(&v);
	onestop_entry_free(&e);
	onestop_close(&c);
}

static void same_as_hub(struct net *n, struct net_proc *p, uint64_t seq, uint64_t count,
			int timeout_ms)
{
	struct net_digest hub;
	onestop_dataset_t d;
	char hex[65];

	memset(&hub, 0, sizeof hub);
	memset(&d, 0, sizeof d);

	int rc = ds_wait_same_as_hub(n, p, "items", seq, timeout_ms, &hub, &d);

	H_CHECK(n, rc == 0,
		"%s holds the hub's items: seq %llu count %llu digest %s (hub: seq %llu count "
		"%llu digest %s)",
		p->name, (unsigned long long)d.seq, (unsigned long long)d.count,
		ds_hex32(d.digest, hex), (unsigned long long)hub.seq, (unsigned long long)hub.count,
		hub.digest);
	H_CHECK(n, hub.seq == seq && hub.count == count && d.count == count,
		"%s and the hub: seq %llu (want %llu), count %llu and %llu (want %llu)", p->name,
		(unsigned long long)hub.seq, (unsigned long long)seq, (unsigned long long)d.count,
		(unsigned long long)hub.count, (unsigned long long)count);
}

static struct net *make_net(const char *log_max)
{
	struct net_opts o;

	memset(&o, 0, sizeof o);
	o.datasets[0] = (struct net_dataset){"items", "full"};
	o.spoke[0].publish[0] = "items";
	o.hub_conf[0] = (struct net_kv){"map_size_mb", "1024"};
	if (log_max)
		o.hub_conf[1] = (struct net_kv){"dataset_log_max", log_max};
	return net_make(3, &o);
}

/* What the daemons log about a snapshot for b: the hub
 * `event=snapshot_start node=b dataset=items`, the spoke
 * `event=snapshot_applied dataset=items`. */
static int hub_snapshots_to_b(struct net *n)
{
	return proc_log_count(&n->hub, "event=snapshot_start node=b dataset=items", 0);
}

static int b_snapshots(struct net_proc *b)
{
	return proc_log_count(b, "event=snapshot_applied dataset=items", 1);
}

/* Part 1: a gap of 10,000 changes replayed from the log. */
static int gap_from_log(void)
{
	struct net *n = make_net(NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b"), *c = net_spoke(n, "c");
	onestop_t *ca = NULL;
	int rc, hub_snap0;
	uint64_t t0;

	net_start_all(n);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, ds_put_items(ca, "a", 1, 1000, 0, 0, 500) == 0, "a published 1000 items");
	same_as_hub(n, b, 1000, 1000, h_ms(60000));
	same_as_hub(n, c, 1000, 1000, h_ms(60000));

	rc = proc_stop(n, b, 0);
	H_CHECK(n, rc == 0, "b stopped cleanly (exit %d)", rc);
	hub_snap0 = hub_snapshots_to_b(n);
	/* 10,000 changes while b is away: 6,000 new items, 3,000 updates,
	 * 1,000 deletes */
	H_CHECK(n, ds_put_items(ca, "a", 1001, 6000, 0, 0, 1000) == 0, "6000 new items");
	H_CHECK(n, ds_put_items(ca, "a", 1, 3000, 1, 0, 1000) == 0, "3000 updates");
	H_CHECK(n, ds_put_items(ca, "a", 3001, 1000, 0, 1, 1000) == 0, "1000 deletes");
	same_as_hub(n, c, 11000, 6000, h_ms(120000));

	t0 = h_now_ms();
	net_up(n, b, 1);
	same_as_hub(n, b, 11000, 6000, h_ms(120000));
	fprintf(stderr, "  b caught up on 10,000 changes in %llu ms after its start\n",
		(unsigned long long)(h_now_ms() - t0));
	check_item(n, b, "a", 1, 1);
	check_item(n, b, "a", 3000, 1);
	check_item(n, b, "a", 3001, -1);
	check_item(n, b, "a", 4000, -1);
	check_item(n, b, "a", 4001, 0);
	check_item(n, b, "a", 7000, 0);
	H_CHECK(n, b_snapshots(b) == 0 && hub_snapshots_to_b(n) == hub_snap0,
		"b caught up from the log, without a snapshot (b's log: %d snapshot_applied, "
		"the hub's: %d new snapshot_start for b)",
		b_snapshots(b), hub_snapshots_to_b(n) - hub_snap0);
	onestop_close(&ca);
	return net_done(&n);
}

/* Part 2: the log (1000 changes) no longer reaches back: a snapshot. */
static int gap_past_compaction(void)
{
	struct net *n = make_net("1000");
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b"), *c = net_spoke(n, "c");
	onestop_t *ca = NULL;
	int rc, hub_snap0;
	uint64_t t0;

	net_start_all(n);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, ds_put_items(ca, "a", 1, 500, 0, 0, 500) == 0, "a published 500 items");
	same_as_hub(n, b, 500, 500, h_ms(60000));

	rc = proc_stop(n, b, 0);
	H_CHECK(n, rc == 0, "b stopped cleanly (exit %d)", rc);
	hub_snap0 = hub_snapshots_to_b(n);
	/* 5,000 changes: 250 updates and 250 deletes of items b holds, and
	 * 4,500 new items */
	H_CHECK(n, ds_put_items(ca, "a", 1, 250, 1, 0, 250) == 0, "250 updates");
	H_CHECK(n, ds_put_items(ca, "a", 251, 250, 0, 1, 250) == 0, "250 deletes");
	H_CHECK(n, ds_put_items(ca, "a", 501, 4500, 0, 0, 1000) == 0, "4500 new items");
	same_as_hub(n, c, 5500, 4750, h_ms(120000));
	/* compaction runs in bounded steps per loop iteration: give it a few
	 * heartbeats with nothing else to do */
	h_sleep_ms(1000);

	t0 = h_now_ms();
	net_up(n, b, 1);
	same_as_hub(n, b, 5500, 4750, h_ms(120000));
	fprintf(stderr, "  b resynchronised past compaction in %llu ms after its start\n",
		(unsigned long long)(h_now_ms() - t0));
	H_CHECK(n, b_snapshots(b) >= 1 && hub_snapshots_to_b(n) > hub_snap0,
		"a snapshot was sent to b and applied (the hub logged %d snapshot_start for b, "
		"b %d snapshot_applied)",
		hub_snapshots_to_b(n) - hub_snap0, b_snapshots(b));
	check_item(n, b, "a", 1, 1);
	check_item(n, b, "a", 250, 1);
	check_item(n, b, "a", 251, -1);
	check_item(n, b, "a", 500, -1);
	check_item(n, b, "a", 501, 0);
	check_item(n, b, "a", 5000, 0);
	same_as_hub(n, c, 5500, 4750, h_ms(30000));

	/* and the stream goes on after the snapshot */
	H_CHECK(n, ds_put_items(ca, "a", 5001, 100, 0, 0, 100) == 0, "100 more items");
	same_as_hub(n, b, 5600, 4850, h_ms(60000));
	onestop_close(&ca);
	return net_done(&n);
}

int main(void)
{
	int r1, r2;

	fprintf(stderr, "part 1: a gap of 10,000 changes, replayed from the hub's log\n");
	r1 = gap_from_log();
	fprintf(stderr, "part 2: a gap past log compaction (dataset_log_max = 1000)\n");
	r2 = gap_past_compaction();
	return r1 || r2 ? 1 : 0;
}
