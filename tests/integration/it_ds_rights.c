/* Publishing rights and tampering on the items dataset.
 * At the spoke (onestop_put and the CLI), refused at once with a clear
 * error: an item owned by another node (new, or taking over one that
 * exists, or deleting it), a dataset the node may not publish (c: items;
 * a: identity), an offline-only item without a reason. Nothing of these is
 * sequenced.
 * At the hub, from raw link clients that bypass the spoke's checks: a
 * change with an altered signature or an altered payload (EBADSIG), a
 * change signed by a node that may not publish (x) and changes about
 * items another node owns (ENOTALLOWED) come back as dead letters and are
 * never applied anywhere, while valid changes before and after them are. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "ds_harness.h"

/* ------------------------------------------------------------ spoke side */

/* onestop_put of one item at p; returns the code, message into msg. */
static int put_item(struct net_proc *p, const char *key, const onestop_item_t *v, int del,
		    char *msg, size_t msg_size)
{
	onestop_t *c = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	onestop_put_t put = {.dataset = ONESTOP_DS_ITEMS, .key = key, .is_delete = del};
	int rc = net_connect(p, 0, &c);

	msg[0] = '\0';
	if (rc == 0 && !del)
		rc = onestop_item_encode(v, &buf, &len);
	put.value = buf;
	put.len = len;
	if (rc == 0)
		rc = onestop_put(c, &put, 1, NULL);
	snprintf(msg, msg_size, "%s", onestop_last_error(c));
	free(buf);
	onestop_close(&c);
	return rc;
}

static void expect_refused(struct net *n, const char *what, int rc, int want, const char *msg,
			   const char *words)
{
	H_CHECK(n, rc == want, "%s: refused with %s (got %d %s)", what, onestop_strerror(want), rc,
		onestop_strerror(rc));
	H_CHECK(n, msg[0] && strstr(msg, words), "%s: the message says why (\"%s\" in \"%s\")",
		what, words, msg);
}

static void spoke_side(struct net *n, struct net_proc *a, struct net_proc *c)
{
	struct ds_item it;
	char msg[512], key[48];
	int rc;

	/* a publishes an item whose owner is b */
	ds_item_make(&it, "b", 500, 0);
	ds_item_code(key, sizeof key, "a", 500);
	rc = put_item(a, key, &it.v, 0, msg, sizeof msg);
	expect_refused(n, "a publishes a new item owned by b", rc, ONESTOP_ENOTALLOWED, msg,
		       "owned by");

	/* a takes over b's existing item b-1 (claiming it as its own) */
	ds_item_make(&it, "a", 1, 0);
	ds_item_code(key, sizeof key, "b", 1);
	rc = put_item(a, key, &it.v, 0, msg, sizeof msg);
	expect_refused(n, "a replaces b's item b-1 with one it owns", rc, ONESTOP_ENOTALLOWED, msg,
		       "owned by");

	/* a deletes b's item */
	rc = put_item(a, key, NULL, 1, msg, sizeof msg);
	expect_refused(n, "a deletes b's item b-1", rc, ONESTOP_ENOTALLOWED, msg, "owned by");

	/* c may not publish items at all */
	ds_item_make(&it, "c", 1, 0);
	rc = put_item(c, it.code, &it.v, 0, msg, sizeof msg);
	expect_refused(n, "c (no publish right) publishes an item", rc, ONESTOP_ENOTALLOWED, msg,
		       "may not publish");

	/* a may not publish identity */
	{
		onestop_t *ca = NULL;
		onestop_identity_t v = {.kind = ONESTOP_PERSON,
					.level = 2,
					.status = ONESTOP_SUBJECT_ACTIVE,
					.authority = "a"};
		uint8_t *buf = NULL;
		size_t len = 0;
		onestop_put_t put = {.dataset = ONESTOP_DS_IDENTITY, .key = "subject-1"};

		v.updated_ms = os_now_ms();
		rc = net_connect(a, 0, &ca);
		if (rc == 0)
			rc = onestop_identity_encode(&v, &buf, &len);
		put.value = buf;
		put.len = len;
		if (rc == 0)
			rc = onestop_put(ca, &put, 1, NULL);
		snprintf(msg, sizeof msg, "%s", onestop_last_error(ca));
		expect_refused(n, "a publishes to identity", rc, ONESTOP_ENOTALLOWED, msg,
			       "may not publish");
		free(buf);
		onestop_close(&ca);
	}

	/* an offline-only item without its reason */
	ds_item_make(&it, "a", 17, 0); /* offline-only */
	H_REQUIRE(n, !it.v.online, "item 17 is offline-only");
	it.v.offline_reason = NULL;
	rc = put_item(a, it.code, &it.v, 0, msg, sizeof msg);
	expect_refused(n, "an offline-only item without a reason", rc, ONESTOP_EINVAL, msg,
		       "offline");
	it.v.offline_reason = "";
	rc = put_item(a, it.code, &it.v, 0, msg, sizeof msg);
	expect_refused(n, "an offline-only item with an empty reason", rc, ONESTOP_EINVAL, msg,
		       "offline");

	/* the CLI says it too */
	{
		struct cmd_out r;
		const char *json = "{\"name\":\"stolen item\",\"owner\":\"a\",\"kind\":\"permit\","
				   "\"online\":true,\"legal_days\":10,\"promised_days\":5,"
				   "\"fee_cents\":0,\"regions\":[\"gd\"],\"min_level\":1}";

		rc = net_cli(n, &r, "put", "items", key, "--json", json, "--api", a->api, NULL);
		H_CHECK(n, rc == 1 && strstr(r.err, "owned by"),
			"onestop put of b's item at a: exit %d (want 1), stderr: %s", rc, r.err);
		cmd_out_free(&r);
	}
}

/* ------------------------------------------------------------ raw link */

/* A change signed as origin with keyfile, to the hub: *out (malloc'd) a
 * packed Signed, id its envelope id. v NULL: a delete. */
static int sign_change(struct net *n, const char *origin, const char *keyfile, const char *key,
		       const onestop_item_t *v, uint8_t **out, size_t *len, uint8_t id[16])
{
	uint8_t *val = NULL, *req = NULL;
	size_t vlen = 0, rlen = 0;
	int rc = -1;

	if (v && onestop_item_encode(v, &val, &vlen) != 0)
		goto out;
	if (ds_change_pack(DS_ITEMS, key, v == NULL, val, vlen, &req, &rlen) != 0)
		goto out;
	rc = h_sign_one(n, origin, keyfile, "hub", DS_CHANGE_TYPE, req, rlen, 60000, out, len, id);
out:
	free(val);
	free(req);
	return rc;
}

/* The Signed in buf with one signature byte flipped (malloc'd). */
static uint8_t *alter_signature(const uint8_t *buf, size_t len, size_t *out_len)
{
	Onestop__Signed *s = onestop__signed__unpack(NULL, len, buf);
	uint8_t *out = NULL;

	if (!s || s->signature.len == 0)
		goto out;
	s->signature.data[s->signature.len / 2] ^= 0x20;
	*out_len = onestop__signed__get_packed_size(s);
	out = malloc(*out_len);
	if (out)
		onestop__signed__pack(s, out);
out:
	if (s)
		onestop__signed__free_unpacked(s, NULL);
	return out;
}

/* The Signed in buf with its envelope's payload replaced by payload (the
 * signature and path kept): what a forger on the path would make. */
static uint8_t *alter_payload(const uint8_t *buf, size_t len, const uint8_t *payload, size_t plen,
			      size_t *out_len)
{
	Onestop__Signed *s = onestop__signed__unpack(NULL, len, buf);
	Onestop__Envelope *e = NULL;
	ProtobufCBinaryData keep_p, keep_e;
	uint8_t *env = NULL, *out = NULL;
	size_t elen;

	if (!s)
		return NULL;
	e = onestop__envelope__unpack(NULL, s->envelope.len, s->envelope.data);
	if (!e)
		goto out;
	keep_p = e->payload;
	e->payload.data = (uint8_t *)payload;
	e->payload.len = plen;
	elen = onestop__envelope__get_packed_size(e);
	env = malloc(elen);
	if (env)
		onestop__envelope__pack(e, env);
	e->payload = keep_p;
	if (!env)
		goto out;
	keep_e = s->envelope;
	s->envelope.data = env;
	s->envelope.len = elen;
	*out_len = onestop__signed__get_packed_size(s);
	out = malloc(*out_len);
	if (out)
		onestop__signed__pack(s, out);
	s->envelope = keep_e;
out:
	free(env);
	if (e)
		onestop__envelope__free_unpacked(e, NULL);
	onestop__signed__free_unpacked(s, NULL);
	return out;
}

/* The raw link sends heartbeats only while it pumps, and the test may do
 * other things for longer than the hub waits for a silent session: say
 * Hello again before each push, as a spoke does after a silence (the hub
 * keeps the push stream's position for the same outbox epoch). */
static void fresh_session(struct net *n, struct raw_link *l)
{
	H_REQUIRE(n, raw_hello(l, NULL, h_ms(10000)) == 0, "%s welcomed", l->node);
}

static void push_expect_dl(struct net *n, struct raw_link *l, const uint8_t *msg, size_t len,
			   const uint8_t id[16], int code, const char *what)
{
	uint64_t seq = 0;
	int k;

	fresh_session(n, l);
	H_REQUIRE(n, msg != NULL && raw_push(l, msg, len, &seq) == 0, "%s: pushed", what);
	H_CHECK(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0, "%s: the hub acked push %llu", what,
		(unsigned long long)seq);
	k = raw_wait_deadletter(l, id, h_ms(10000));
	H_CHECK(n, k >= 0, "%s: a dead letter about %s came back to %s", what, h_idhex(id),
		l->node);
	if (k < 0)
		return;
	H_CHECK(n,
		l->dl[k].code == code && l->dl[k].reason[0] && l->dl_verified[k] &&
			strcmp(l->dl_origin[k], "hub") == 0,
		"%s: code %d %s (want %s), reason \"%s\", signed by %s (verified %d)", what,
		l->dl[k].code, os_errname(l->dl[k].code), os_errname(code), l->dl[k].reason,
		l->dl_origin[k], l->dl_verified[k]);
}

static void push_expect_ok(struct net *n, struct raw_link *l, const uint8_t *msg, size_t len,
			   const char *what)
{
	uint64_t seq = 0;

	fresh_session(n, l);
	H_REQUIRE(n, msg != NULL && raw_push(l, msg, len, &seq) == 0, "%s: pushed", what);
	H_CHECK(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0, "%s: the hub acked push %llu", what,
		(unsigned long long)seq);
}

static void expect_absent(struct net *n, struct net_proc **spokes, size_t ns, const char *key)
{
	for (size_t i = 0; i < ns; i++) {
		onestop_t *c = NULL;
		onestop_entry_t *e = NULL;
		int rc = net_connect(spokes[i], 0, &c);

		if (rc == 0)
			rc = onestop_get(c, ONESTOP_DS_ITEMS, key, 0, &e);
		H_CHECK(n, rc == ONESTOP_ENOTFOUND, "%s: %s was never applied (get: %d %s)",
			spokes[i]->name, key, rc, onestop_strerror(rc));
		onestop_entry_free(&e);
		onestop_close(&c);
	}
}

/* key at every spoke: published by publisher, owner owner, version ver. */
static void expect_item(struct net *n, struct net_proc **spokes, size_t ns, const char *owner,
			unsigned idx, const char *publisher)
{
	struct ds_item it;

	ds_item_make(&it, owner, idx, 0);
	for (size_t i = 0; i < ns; i++) {
		onestop_t *c = NULL;
		onestop_entry_t *e = NULL;
		onestop_item_t *v = NULL;
		char why[200] = "";
		int rc = net_connect(spokes[i], 0, &c), ok;

		if (rc == 0)
			rc = onestop_get(c, ONESTOP_DS_ITEMS, it.code, 0, &e);
		ok = rc == 0 && strcmp(e->publisher, publisher) == 0 &&
		     onestop_item_decode(e->value, e->len, &v) == 0 &&
		     ds_item_same(v, &it.v, why, sizeof why) == 0;
		H_CHECK(n, ok, "%s: %s is %s's item as published (get: %d %s; publisher %s) %s",
			spokes[i]->name, it.code, owner, rc, onestop_strerror(rc),
			rc == 0 ? e->publisher : "-", why);
		onestop_item_free(&v);
		onestop_entry_free(&e);
		onestop_close(&c);
	}
}

static void all_same_as_hub(struct net *n, struct net_proc **spokes, size_t ns, uint64_t seq,
			    uint64_t count)
{
	for (size_t i = 0; i < ns; i++) {
		struct net_digest hub;
		onestop_dataset_t d;
		char hex[65];
		int rc;

		memset(&hub, 0, sizeof hub);
		memset(&d, 0, sizeof d);
		rc = ds_wait_same_as_hub(n, spokes[i], "items", seq, h_ms(30000), &hub, &d);

		H_CHECK(n, rc == 0 && hub.seq == seq && hub.count == count,
			"%s has the hub's items: seq %llu count %llu digest %s; hub seq %llu count "
			"%llu (want seq %llu count %llu)",
			spokes[i]->name, (unsigned long long)d.seq, (unsigned long long)d.count,
			ds_hex32(d.digest, hex), (unsigned long long)hub.seq,
			(unsigned long long)hub.count, (unsigned long long)seq,
			(unsigned long long)count);
	}
}

static void hub_side(struct net *n, struct net_proc *m, struct net_proc *x,
		     struct net_proc **spokes, size_t ns)
{
	struct raw_link *lm = NULL, *lx = NULL;
	struct ds_item it, other;
	uint8_t *msg = NULL, *bad = NULL, *req = NULL, *val = NULL, id[16];
	size_t len = 0, blen = 0, rlen = 0, vlen = 0;
	char key[48];

	H_REQUIRE(n, raw_open(n, m->reg_key, "m", &lm) == 0, "raw link as m");
	H_REQUIRE(n, raw_hello(lm, NULL, h_ms(10000)) == 0, "m welcomed");

	/* control: a valid change from m is sequenced and reaches everyone */
	ds_item_make(&it, "m", 1, 0);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, it.code, &it.v, &msg, &len, id) == 0,
		  "signed m-1");
	push_expect_ok(n, lm, msg, len, "valid change m-1");
	free(msg);
	msg = NULL;
	all_same_as_hub(n, spokes, ns, 21, 21);
	expect_item(n, spokes, ns, "m", 1, "m");

	/* altered signature */
	ds_item_make(&it, "m", 2, 0);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, it.code, &it.v, &msg, &len, id) == 0,
		  "signed m-2");
	bad = alter_signature(msg, len, &blen);
	push_expect_dl(n, lm, bad, blen, id, OS_EBADSIG, "m-2 with an altered signature");
	free(bad);
	free(msg);
	bad = msg = NULL;

	/* altered payload: m-3 signed, the payload swapped for a change of m-4 */
	ds_item_make(&it, "m", 3, 0);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, it.code, &it.v, &msg, &len, id) == 0,
		  "signed m-3");
	ds_item_make(&other, "m", 4, 0);
	H_REQUIRE(n,
		  onestop_item_encode(&other.v, &val, &vlen) == 0 &&
			  ds_change_pack(DS_ITEMS, other.code, 0, val, vlen, &req, &rlen) == 0,
		  "packed m-4");
	bad = alter_payload(msg, len, req, rlen, &blen);
	push_expect_dl(n, lm, bad, blen, id, OS_EBADSIG, "m-3 with its payload altered to m-4");
	free(bad);
	free(msg);
	free(req);
	free(val);
	bad = msg = req = val = NULL;

	/* validly signed by m, about an item a owns (owner a) */
	ds_item_make(&it, "a", 2, 1);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, it.code, &it.v, &msg, &len, id) == 0,
		  "signed a-2 as m");
	push_expect_dl(n, lm, msg, len, id, OS_ENOTALLOWED, "m publishes a-2 with owner a");
	free(msg);
	msg = NULL;

	/* validly signed by m, taking a's item a-3 over (owner m) */
	ds_item_make(&it, "m", 3, 0);
	ds_item_code(key, sizeof key, "a", 3);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, key, &it.v, &msg, &len, id) == 0,
		  "signed a-3 (owner m) as m");
	push_expect_dl(n, lm, msg, len, id, OS_ENOTALLOWED, "m takes over a's item a-3");
	free(msg);
	msg = NULL;

	/* validly signed by m, deleting a's item a-4 */
	ds_item_code(key, sizeof key, "a", 4);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, key, NULL, &msg, &len, id) == 0,
		  "signed delete of a-4 as m");
	push_expect_dl(n, lm, msg, len, id, OS_ENOTALLOWED, "m deletes a's item a-4");
	free(msg);
	msg = NULL;

	/* x may not publish items: signed by x, pushed by x */
	H_REQUIRE(n, raw_open(n, x->reg_key, "x", &lx) == 0, "raw link as x");
	H_REQUIRE(n, raw_hello(lx, NULL, h_ms(10000)) == 0, "x welcomed");
	ds_item_make(&it, "x", 1, 0);
	H_REQUIRE(n, sign_change(n, "x", x->reg_key, it.code, &it.v, &msg, &len, id) == 0,
		  "signed x-1");
	push_expect_dl(n, lx, msg, len, id, OS_ENOTALLOWED, "x (no publish right) publishes x-1");
	free(msg);
	msg = NULL;

	/* control after the refusals: the stream goes on */
	ds_item_make(&it, "m", 5, 0);
	H_REQUIRE(n, sign_change(n, "m", m->reg_key, it.code, &it.v, &msg, &len, id) == 0,
		  "signed m-5");
	push_expect_ok(n, lm, msg, len, "valid change m-5");
	free(msg);
	msg = NULL;
	all_same_as_hub(n, spokes, ns, 22, 22);
	expect_item(n, spokes, ns, "m", 5, "m");

	ds_item_code(key, sizeof key, "m", 2);
	expect_absent(n, spokes, ns, key);
	ds_item_code(key, sizeof key, "m", 3);
	expect_absent(n, spokes, ns, key);
	ds_item_code(key, sizeof key, "m", 4);
	expect_absent(n, spokes, ns, key);
	ds_item_code(key, sizeof key, "x", 1);
	expect_absent(n, spokes, ns, key);
	expect_item(n, spokes, ns, "a", 2, "a");
	expect_item(n, spokes, ns, "a", 3, "a");
	expect_item(n, spokes, ns, "a", 4, "a");
	/* the hub stopped them: no spoke even saw one to reject */
	for (size_t i = 0; i < ns; i++)
		H_CHECK(n, proc_log_count(spokes[i], "event=change_rejected", 0) == 0,
			"%s was sent no refused change (%d change_rejected lines)", spokes[i]->name,
			proc_log_count(spokes[i], "event=change_rejected", 0));
	raw_close(&lm);
	raw_close(&lx);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *c, *m, *x, *spokes[3];
	onestop_t *ca = NULL, *cb = NULL;

	memset(&o, 0, sizeof o);
	o.datasets[0] = (struct net_dataset){"items", "full"};
	o.datasets[1] = (struct net_dataset){"identity", "cached"};
	o.spoke[0].publish[0] = "items"; /* a */
	o.spoke[1].publish[0] = "items"; /* b */
	/* c: may publish nothing */
	o.spoke[3].name = "m"; /* publisher of items, never started: raw link */
	o.spoke[3].publish[0] = "items";
	o.spoke[4].name = "x"; /* no publish right, never started: raw link */
	n = net_make(5, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	m = net_spoke(n, "m");
	x = net_spoke(n, "x");
	spokes[0] = a;
	spokes[1] = b;
	spokes[2] = c;
	net_up(n, &n->hub, 1);
	net_up(n, a, 1);
	net_up(n, b, 1);
	net_up(n, c, 1);

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0 && net_connect(b, 0, &cb) == 0, "connected");
	H_REQUIRE(n, ds_put_items(ca, "a", 1, 10, 0, 0, 10) == 0, "a published its 10 items");
	H_REQUIRE(n, ds_put_items(cb, "b", 1, 10, 0, 0, 10) == 0, "b published its 10 items");
	all_same_as_hub(n, spokes, 3, 20, 20);

	fprintf(stderr, "refused at the spoke\n");
	spoke_side(n, a, c);
	/* whatever was refused must not have been sent: nothing new at the hub */
	h_sleep_ms(1000);
	all_same_as_hub(n, spokes, 3, 20, 20);
	expect_item(n, spokes, 3, "b", 1, "b");
	{
		char key[48];

		ds_item_code(key, sizeof key, "a", 500);
		expect_absent(n, spokes, 3, key);
		ds_item_code(key, sizeof key, "c", 1);
		expect_absent(n, spokes, 3, key);
		ds_item_code(key, sizeof key, "a", 17);
		expect_absent(n, spokes, 3, key);
	}

	fprintf(stderr, "refused at the hub (raw link clients)\n");
	hub_side(n, m, x, spokes, 3);

	onestop_close(&ca);
	onestop_close(&cb);
	return net_done(&n);
}
