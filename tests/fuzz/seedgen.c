/* Writes seed inputs for every fuzz target into OUTDIR/<target>/: signed
 * envelopes and registries made with the fixed test keys of fuzz.h (so they
 * verify in the targets), link frames of every kind, API requests and
 * replies, dead letters, dataset changes and values, and assertions signed
 * by the test idp. Usage: fuzz_seedgen OUTDIR */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "assertion.h"
#include "dataset.h"
#include "envelope.h"
#include "err.h"
#include "fuzz.h"
#include "onestop.pb-c.h"
#include "supervision.h"

static const char *outdir;
static int failures;

static void seed_write(const char *target, const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "seedgen: cannot create %s\n", path);
		failures++;
		return;
	}
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "seedgen: cannot write %s\n", path);
		failures++;
	}
	if (f != NULL)
		fclose(f);
}

static void check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "seedgen: %s: %s\n", what, os_strerror(rc));
		exit(1);
	}
}

/* A batch of three envelopes from gd.sz; out[] malloc'd. */
static void make_envelopes(uint8_t *out[3], size_t out_len[3])
{
	os_sign_sk sk;
	fuzz_key(sk, sizeof(sk), FUZZ_NODE_SK);
	uint8_t dl[256];
	uint8_t *dlb = NULL;
	size_t dll = 0;
	uint8_t id[16] = {0xde, 0xad};
	check(env_deadletter_pack(id, "gd.gz", "gov.Application", OS_EUNKNOWN,
				  "destination not in the registry", "hub", &dlb, &dll),
	      "deadletter");
	memcpy(dl, dlb, dll < sizeof(dl) ? dll : sizeof(dl));
	free(dlb);
	struct env_draft d[3] = {
		{"hub", "gov.Application", (const uint8_t *)"{\"form\":1}", 10,
		 FUZZ_NOW_MS + FUZZ_DAY_MS},
		{"@supervision", "gov.Status", NULL, 0, FUZZ_NOW_MS + 1000},
		{"gd.sz", ENV_DEADLETTER_TYPE, dl, dll, FUZZ_NOW_MS + FUZZ_DAY_MS},
	};
	check(env_sign_batch("gd.sz", 1, sk, d, 3, FUZZ_NOW_MS - 5, out, out_len, NULL),
	      "sign batch");
	crypto_wipe(sk, sizeof(sk));
}

static void gen_envelope(uint8_t *env[3], size_t env_len[3])
{
	seed_write("envelope", "batch3-leaf0", env[0], env_len[0]);
	seed_write("envelope", "batch3-leaf1-topic", env[1], env_len[1]);
	seed_write("envelope", "batch3-leaf2-deadletter", env[2], env_len[2]);
	os_sign_sk sk;
	fuzz_key(sk, sizeof(sk), FUZZ_NODE_SK);
	struct env_draft d = {"gd.old", "gov.Complaint", (const uint8_t *)"x", 1,
			      FUZZ_NOW_MS + FUZZ_DAY_MS};
	uint8_t *one[1];
	size_t one_len[1];
	check(env_sign_batch("gd.sz", 1, sk, &d, 1, FUZZ_NOW_MS, one, one_len, NULL), "sign");
	seed_write("envelope", "single", one[0], one_len[0]);
	free(one[0]);
	crypto_wipe(sk, sizeof(sk));
}

/* A node of the chain seeds, its keys from seed. */
static void chain_node(struct registry *r, const char *name, unsigned roles, uint8_t seed)
{
	static char *star[] = {"*"};
	static char *alerts[] = {"alerts"};
	struct reg_node n;
	memset(&n, 0, sizeof(n));
	n.name = (char *)name;
	n.roles = roles;
	memset(n.sign_pk, seed, 32);
	memset(n.box_pk, seed ^ 0x5a, 32);
	n.key_version = 1;
	n.status = REG_ACTIVE;
	n.n_types = 1;
	n.allowed_types = star;
	n.n_province_topics = 1;
	n.province_topics = alerts;
	check(registry_add(r, &n), name);
}

/* A copy of r's signed bytes after signing it with root. */
static uint8_t *chain_sign(struct registry *r, const os_sign_sk root, size_t *len)
{
	const uint8_t *b;
	check(registry_sign(r, root, &b, len), "registry sign");
	uint8_t *c = malloc(*len);
	if (c == NULL)
		exit(1);
	memcpy(c, b, *len);
	return c;
}

/* Chains: the test registry as the national one (hub "hub") delegating sc
 * to the test root key itself (so the seeds verify under the one anchor
 * of the target), sc delegating the city sc.cd; each part alone too. */
static void gen_chain(const os_sign_sk root)
{
	struct registry *n = fuzz_registry();
	check(registry_set_hub(n, "hub"), "hub");
	chain_node(n, "sc.hub", REG_ROLE_HUB, 0x40);
	check(registry_delegate(n, "sc", root + 32, "sc.hub"), "delegate sc");
	check(registry_set_dataset(n, "items", REG_DS_FULL), "dataset items");
	size_t nl, sl, cl;
	uint8_t *nb = chain_sign(n, root, &nl);
	registry_free(&n);

	struct registry *sc = NULL;
	check(registry_new(&sc), "registry new");
	check(registry_set_prefix(sc, "sc"), "prefix sc");
	chain_node(sc, "sc.a", REG_ROLE_SPOKE, 0x41);
	chain_node(sc, "sc.cd.hub", REG_ROLE_HUB, 0x42);
	check(registry_set_dataset(sc, "sc.permits", REG_DS_FULL), "dataset sc.permits");
	check(registry_delegate(sc, "sc.cd", root + 32, "sc.cd.hub"), "delegate sc.cd");
	sc->version = 2;
	sc->issued_ms = FUZZ_NOW_MS - FUZZ_DAY_MS;
	sc->expires_ms = FUZZ_NOW_MS + 30 * FUZZ_DAY_MS;
	uint8_t *sb = chain_sign(sc, root, &sl);
	registry_free(&sc);

	struct registry *cd = NULL;
	check(registry_new(&cd), "registry new");
	check(registry_set_prefix(cd, "sc.cd"), "prefix sc.cd");
	chain_node(cd, "sc.cd.x", REG_ROLE_SPOKE, 0x43);
	cd->version = 1;
	cd->expires_ms = FUZZ_NOW_MS + 30 * FUZZ_DAY_MS;
	uint8_t *cb = chain_sign(cd, root, &cl);
	registry_free(&cd);

	seed_write("registry", "part-sc", sb, sl);
	seed_write("registry", "part-sc-cd", cb, cl);
	Onestop__SignedRegistry *sr = onestop__signed_registry__unpack(NULL, nl, nb);
	Onestop__SignedRegistry *p1 = onestop__signed_registry__unpack(NULL, sl, sb);
	Onestop__SignedRegistry *p2 = onestop__signed_registry__unpack(NULL, cl, cb);
	if (sr == NULL || p1 == NULL || p2 == NULL)
		exit(1);
	/* The city first: parts resolve in any order. */
	Onestop__SignedRegistry *parts[2] = {p2, p1};
	for (size_t k = 1; k <= 2; k++) {
		Onestop__SignedRegistry c = *sr;
		c.n_delegated = k;
		c.delegated = k == 1 ? &parts[1] : parts;
		size_t l = onestop__signed_registry__get_packed_size(&c);
		uint8_t *b = malloc(l);
		if (b == NULL)
			exit(1);
		onestop__signed_registry__pack(&c, b);
		seed_write("registry", k == 1 ? "chain-province" : "chain-city", b, l);
		free(b);
	}
	onestop__signed_registry__free_unpacked(p2, NULL);
	onestop__signed_registry__free_unpacked(p1, NULL);
	onestop__signed_registry__free_unpacked(sr, NULL);
	free(cb);
	free(sb);
	free(nb);
}

static void gen_registry(uint8_t **reg_bytes, size_t *reg_len)
{
	os_sign_sk root;
	fuzz_key(root, sizeof(root), FUZZ_ROOT_SK);
	struct registry *r = fuzz_registry();
	const uint8_t *b;
	size_t l;
	check(registry_sign(r, root, &b, &l), "registry sign");
	seed_write("registry", "four-nodes", b, l);
	*reg_bytes = malloc(l);
	if (*reg_bytes == NULL)
		exit(1);
	memcpy(*reg_bytes, b, l);
	*reg_len = l;
	registry_free(&r);
	struct registry *e = NULL;
	check(registry_new(&e), "registry new");
	e->version = 1;
	e->expires_ms = FUZZ_NOW_MS + FUZZ_DAY_MS;
	check(registry_sign(e, root, &b, &l), "registry sign");
	seed_write("registry", "empty", b, l);
	registry_free(&e);
	/* The four nodes with the datasets they publish declared. */
	r = fuzz_registry();
	check(registry_set_dataset(r, "items", REG_DS_FULL), "dataset items");
	check(registry_set_dataset(r, "identity", REG_DS_CACHED), "dataset identity");
	check(registry_sign(r, root, &b, &l), "registry sign");
	seed_write("registry", "four-nodes-datasets", b, l);
	registry_free(&r);
	gen_chain(root);
	crypto_wipe(root, sizeof(root));
}

static void write_frame(const char *name, const Onestop__LinkFrame *f)
{
	size_t n = onestop__link_frame__get_packed_size(f);
	uint8_t *b = malloc(n + 1);
	if (b == NULL)
		exit(1);
	onestop__link_frame__pack(f, b);
	seed_write("link", name, b, n);
	free(b);
}

static void gen_link(uint8_t *env[3], size_t env_len[3], const uint8_t *reg, size_t reg_len)
{
	uint8_t epoch[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;

	Onestop__Hello hello = ONESTOP__HELLO__INIT;
	hello.protocol = 1;
	hello.node = "gd.sz";
	hello.registry_version = 2;
	hello.outbox_epoch.data = epoch;
	hello.outbox_epoch.len = 16;
	hello.window = 1000;
	f.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	f.hello = &hello;
	write_frame("hello", &f);

	Onestop__Welcome welcome = ONESTOP__WELCOME__INIT;
	welcome.protocol = 1;
	welcome.hub_epoch.data = epoch;
	welcome.hub_epoch.len = 16;
	welcome.accepted_seq = 41;
	welcome.window = 500;
	welcome.registry.data = (uint8_t *)reg;
	welcome.registry.len = reg_len;
	f.body_case = ONESTOP__LINK_FRAME__BODY_WELCOME;
	f.welcome = &welcome;
	write_frame("welcome-registry", &f);

	Onestop__Transfer t[3], *tp[3];
	for (int i = 0; i < 3; i++) {
		Onestop__Transfer init = ONESTOP__TRANSFER__INIT;
		t[i] = init;
		t[i].seq = 42 + (uint64_t)i;
		t[i].prev_seq = i == 0 ? 0 : 41 + (uint64_t)i;
		t[i].msg.data = env[i];
		t[i].msg.len = env_len[i];
		tp[i] = &t[i];
	}
	Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
	ts.n_items = 3;
	ts.items = tp;
	f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	f.push = &ts;
	write_frame("push3", &f);
	ts.n_items = 1;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER;
	f.deliver = &ts;
	write_frame("deliver1", &f);

	Onestop__Ack ack = ONESTOP__ACK__INIT;
	ack.seq = 44;
	ack.epoch.data = epoch;
	ack.epoch.len = 16;
	f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH_ACK;
	f.push_ack = &ack;
	write_frame("push-ack", &f);
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
	f.deliver_ack = &ack;
	write_frame("deliver-ack", &f);

	f.body_case = ONESTOP__LINK_FRAME__BODY_REGISTRY;
	f.registry.data = (uint8_t *)reg;
	f.registry.len = reg_len;
	write_frame("registry", &f);

	Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;
	hb.now_ms = FUZZ_NOW_MS;
	f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
	f.heartbeat = &hb;
	write_frame("heartbeat", &f);

	Onestop__LinkError le = ONESTOP__LINK_ERROR__INIT;
	le.code = OS_EHELLO;
	le.message = "link session unknown: send Hello first";
	f.body_case = ONESTOP__LINK_FRAME__BODY_ERROR;
	f.error = &le;
	write_frame("error", &f);
}

static void write_request(const char *name, const Onestop__ApiRequest *q)
{
	size_t n = onestop__api_request__get_packed_size(q);
	uint8_t *b = malloc(n + 1);
	if (b == NULL)
		exit(1);
	onestop__api_request__pack(q, b);
	seed_write("api", name, b, n);
	free(b);
}

static void write_reply(const char *name, const Onestop__ApiReply *r)
{
	size_t n = onestop__api_reply__get_packed_size(r);
	uint8_t *b = malloc(n + 1);
	if (b == NULL)
		exit(1);
	onestop__api_reply__pack(r, b);
	seed_write("api", name, b, n);
	free(b);
}

static void gen_api(void)
{
	Onestop__ApiRequest q = ONESTOP__API_REQUEST__INIT;
	q.request_id = 7;
	Onestop__Outgoing o[2], *op[2];
	for (int i = 0; i < 2; i++) {
		Onestop__Outgoing init = ONESTOP__OUTGOING__INIT;
		o[i] = init;
		op[i] = &o[i];
	}
	o[0].destination = "gd.sz.market";
	o[0].type = "gov.Application";
	o[0].payload.data = (uint8_t *)"hello";
	o[0].payload.len = 5;
	o[1].destination = "@supervision";
	o[1].type = "gov.Status";
	o[1].ttl_s = 60;
	Onestop__SendRequest send = ONESTOP__SEND_REQUEST__INIT;
	send.n_messages = 2;
	send.messages = op;
	q.op_case = ONESTOP__API_REQUEST__OP_SEND;
	q.send = &send;
	write_request("req-send", &q);

	Onestop__RecvRequest recv = ONESTOP__RECV_REQUEST__INIT;
	recv.max = 10;
	recv.wait_ms = 500;
	q.op_case = ONESTOP__API_REQUEST__OP_RECV;
	q.recv = &recv;
	write_request("req-recv", &q);

	uint64_t seqs[3] = {1, 2, 300};
	Onestop__AckRequest ack = ONESTOP__ACK_REQUEST__INIT;
	ack.n_seqs = 3;
	ack.seqs = seqs;
	q.op_case = ONESTOP__API_REQUEST__OP_ACK;
	q.ack = &ack;
	write_request("req-ack", &q);

	Onestop__StatusRequest st = ONESTOP__STATUS_REQUEST__INIT;
	q.op_case = ONESTOP__API_REQUEST__OP_STATUS;
	q.status = &st;
	write_request("req-status", &q);

	Onestop__ApiReply r = ONESTOP__API_REPLY__INIT;
	r.request_id = 7;
	uint8_t id[16] = {9, 9, 9};
	ProtobufCBinaryData ids[1] = {{16, id}};
	Onestop__SendResult sr = ONESTOP__SEND_RESULT__INIT;
	sr.n_ids = 1;
	sr.ids = ids;
	r.result_case = ONESTOP__API_REPLY__RESULT_SEND;
	r.send = &sr;
	write_reply("reply-send", &r);

	Onestop__Incoming in = ONESTOP__INCOMING__INIT, *inp[1] = {&in};
	in.seq = 5;
	in.id.data = id;
	in.id.len = 16;
	in.origin = "gd.sz";
	in.destination = "hub";
	in.type = "gov.Application";
	in.created_ms = FUZZ_NOW_MS;
	in.expires_ms = FUZZ_NOW_MS + FUZZ_DAY_MS;
	in.payload.data = (uint8_t *)"payload";
	in.payload.len = 7;
	Onestop__RecvResult rr = ONESTOP__RECV_RESULT__INIT;
	rr.n_messages = 1;
	rr.messages = inp;
	r.result_case = ONESTOP__API_REPLY__RESULT_RECV;
	r.recv = &rr;
	write_reply("reply-recv", &r);

	Onestop__StatusResult s = ONESTOP__STATUS_RESULT__INIT;
	s.node = "gd.sz";
	s.hub_connected = 1;
	s.outbox = 3;
	s.registry_version = 4;
	r.result_case = ONESTOP__API_REPLY__RESULT_STATUS;
	r.status = &s;
	write_reply("reply-status", &r);

	Onestop__ApiReply e = ONESTOP__API_REPLY__INIT;
	e.request_id = 8;
	e.code = OS_EFULL;
	e.message = "quota exhausted, retry later";
	write_reply("reply-error", &e);
}

static void gen_deadletter(void)
{
	uint8_t id[16] = {1, 2, 3, 4};
	uint8_t *b = NULL;
	size_t l = 0;
	check(env_deadletter_pack(id, "gd.gz", "gov.Application", OS_EUNKNOWN,
				  "destination not in the registry", "hub", &b, &l),
	      "deadletter");
	seed_write("deadletter", "unknown-destination", b, l);
	free(b);
	check(env_deadletter_pack(NULL, "", "", OS_EDECODE, "undecodable", "hub", &b, &l),
	      "deadletter");
	seed_write("deadletter", "no-id", b, l);
	free(b);
}

/* A packed ItemValue; *len set, malloc'd. */
static uint8_t *seed_item(const char *owner, int online, const char *reason, size_t *len)
{
	Onestop__Material m = ONESTOP__MATERIAL__INIT;
	m.name = "identity card";
	m.shared_data = "identity";
	Onestop__Material *mp[] = {&m};
	char *regions[] = {"440300", "440100"};
	Onestop__ItemValue it = ONESTOP__ITEM_VALUE__INIT;
	it.name = "Food business licence";
	it.owner = (char *)owner;
	it.kind = "licence";
	it.online = online;
	it.offline_reason = (char *)reason;
	it.n_materials = 1;
	it.materials = mp;
	it.legal_days = 20;
	it.promised_days = 5;
	it.fee_cents = 1500;
	it.n_regions = 2;
	it.regions = regions;
	it.min_level = 2;
	*len = onestop__item_value__get_packed_size(&it);
	uint8_t *b = malloc(*len);
	if (b == NULL)
		check(OS_ENOMEM, "item");
	onestop__item_value__pack(&it, b);
	return b;
}

static uint8_t *seed_identity(int status, uint32_t level, size_t *len)
{
	Onestop__IdentityValue iv = ONESTOP__IDENTITY_VALUE__INIT;
	iv.kind = ONESTOP__SUBJECT_KIND__SUBJECT_KIND_PERSON;
	iv.level = level;
	iv.status = (Onestop__SubjectStatus)status;
	iv.authority = "gd.sz";
	iv.updated_ms = FUZZ_NOW_MS;
	*len = onestop__identity_value__get_packed_size(&iv);
	uint8_t *b = malloc(*len);
	if (b == NULL)
		check(OS_ENOMEM, "identity");
	onestop__identity_value__pack(&iv, b);
	return b;
}

static void seed_change(const char *name, const char *ds, const char *key, int del,
			const uint8_t *v, size_t vl)
{
	uint8_t *b = NULL;
	size_t l = 0;
	check(ds_change_pack(ds, key, del, v, vl, &b, &l), name);
	seed_write("change", name, b, l);
	free(b);
}

static void gen_datasets(void)
{
	size_t il, ol, gl, idl, rl;
	uint8_t *item = seed_item("gd.sz", 1, "", &il);
	uint8_t *offline = seed_item("gd.sz", 0, "needs an on-site inspection", &ol);
	uint8_t *other = seed_item("gd.gz", 1, "", &gl);
	uint8_t *id = seed_identity(ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_ACTIVE, 2, &idl);
	uint8_t *rev = seed_identity(ONESTOP__SUBJECT_STATUS__SUBJECT_STATUS_REVOKED, 3, &rl);

	seed_change("items-put", "items", "11440300MB2C91235A", 0, item, il);
	seed_change("items-put-offline", "items", "1145", 0, offline, ol);
	seed_change("items-put-other-owner", "items", "1146", 0, other, gl);
	seed_change("items-delete", "items", "1144", 1, NULL, 0);
	seed_change("identity-put", "identity", "s-7f3a9c", 0, id, idl);
	seed_change("identity-delete", "identity", "s-7f3a9c", 1, NULL, 0);
	seed_change("blobs-put", "blobs", "k1", 0, (const uint8_t *)"opaque", 6);
	seed_change("undeclared", "ghost", "k1", 0, (const uint8_t *)"x", 1);

	seed_write("values", "item-online", item, il);
	seed_write("values", "item-offline", offline, ol);
	seed_write("values", "identity-active", id, idl);
	seed_write("values", "identity-revoked", rev, rl);
	free(item);
	free(offline);
	free(other);
	free(id);
	free(rev);
}

/* Assertions issued by gd.sz, the idp of the test registry. */
static void gen_assertion(void)
{
	os_sign_sk sk;
	fuzz_key(sk, sizeof(sk), FUZZ_NODE_SK);
	const struct {
		const char *name, *subject, *audience;
		uint32_t level, ttl;
		uint64_t now;
	} a[] = {
		{"valid-any-audience", "s-7f3a9c", NULL, 2, 600, FUZZ_NOW_MS - 1000},
		{"valid-for-gd-sz", "s-7f3a9c", "gd.sz", 3, 3600, FUZZ_NOW_MS - 1000},
		{"for-sup", "s-1", "sup", 1, 600, FUZZ_NOW_MS},
		{"expired", "s-7f3a9c", NULL, 2, 60, FUZZ_NOW_MS - FUZZ_DAY_MS},
	};
	for (size_t i = 0; i < sizeof(a) / sizeof(a[0]); i++) {
		uint8_t *b = NULL;
		size_t l = 0;
		check(assertion_issue("gd.sz", 1, sk, a[i].subject, a[i].level, a[i].audience,
				      a[i].ttl, a[i].now, &b, &l),
		      a[i].name);
		seed_write("assertion", a[i].name, b, l);
		free(b);
	}
	crypto_wipe(sk, sizeof(sk));
}

static void seed_case_msg(const char *name, Onestop__Case *c, Onestop__CaseTransition *t,
			  Onestop__CaseRefusal *r)
{
	Onestop__CaseMessage m = ONESTOP__CASE_MESSAGE__INIT;
	m.filing = c;
	m.transition = t;
	m.refusal = r;
	size_t len = onestop__case_message__get_packed_size(&m);
	uint8_t *b = malloc(len ? len : 1);
	if (b == NULL)
		check(OS_ENOMEM, name);
	onestop__case_message__pack(&m, b);
	seed_write("case", name, b, len);
	free(b);
}

static void seed_licence(const char *name, const char *issuer, uint64_t until, int status)
{
	Onestop__LicenceValue v = ONESTOP__LICENCE_VALUE__INIT;
	v.item = "11440300MB2C91235A";
	v.holder = "s-7f3a9c";
	v.issuer = (char *)issuer;
	v.number = "LIC-0123456789abcdef0123456789abcdef";
	v.valid_from_ms = FUZZ_NOW_MS - FUZZ_DAY_MS;
	v.valid_until_ms = until;
	v.status = status;
	size_t len = onestop__licence_value__get_packed_size(&v);
	uint8_t *b = malloc(len ? len : 1);
	if (b == NULL)
		check(OS_ENOMEM, name);
	onestop__licence_value__pack(&v, b);
	seed_write("case", name, b, len);
	free(b);
}

/* Case messages of every shape, licences, and holiday text (after the
 * 8 bytes of start time, zone and step that fuzz_case reads first). */
static void gen_case(void)
{
	static uint8_t id[16] = {0x01, 0x8f, 0x3a, 0x77, 0x10, 0x02, 0xc4};
	static const char holidays[] = "\x01\xa0\xd6\x4a\x79\x00\x2c\x01"
				       "# China 2026\n2026-10-01\n2026-10-02 # National Day\n"
				       "2026-09-27 workday\r\n\n2026-10-05\n";
	Onestop__SharedDataRef ref = ONESTOP__SHARED_DATA_REF__INIT;
	Onestop__CaseMaterial mat = ONESTOP__CASE_MATERIAL__INIT, *matp = &mat;
	Onestop__Case c = ONESTOP__CASE__INIT;
	Onestop__CaseTransition t = ONESTOP__CASE_TRANSITION__INIT;
	Onestop__CaseRefusal r = ONESTOP__CASE_REFUSAL__INIT;
	static char *missing[] = {"identity card"};

	ref.dataset = "identity";
	ref.key = "s-7f3a9c";
	mat.source_case = ONESTOP__CASE_MATERIAL__SOURCE_SHARED;
	mat.shared = &ref;
	c.id.data = id;
	c.id.len = sizeof(id);
	c.item = "11440300MB2C91235A";
	c.applicant = "s-7f3a9c";
	c.channel = ONESTOP__CASE_CHANNEL__CASE_CHANNEL_WEB;
	c.filed_by = "gd.sz";
	c.owner = "gd.gz";
	c.form.data = (uint8_t *)"sealed form";
	c.form.len = 11;
	c.n_materials = 1;
	c.materials = &matp;
	c.created_ms = FUZZ_NOW_MS;
	t.case_id = c.id;
	t.seq = 1;
	t.action = ONESTOP__CASE_ACTION__CASE_ACTION_FILE;
	t.actor = "gd.sz";
	t.at_ms = FUZZ_NOW_MS;
	seed_case_msg("filing", &c, &t, NULL);
	t.seq = 2;
	t.action = ONESTOP__CASE_ACTION__CASE_ACTION_ACCEPT;
	t.actor = "b";
	seed_case_msg("accept", NULL, &t, NULL);
	t.seq = 3;
	t.action = ONESTOP__CASE_ACTION__CASE_ACTION_NEED_MORE;
	t.n_missing = 1;
	t.missing = missing;
	seed_case_msg("need-more", NULL, &t, NULL);
	t.n_missing = 0;
	t.seq = 4;
	t.action = ONESTOP__CASE_ACTION__CASE_ACTION_DECIDE;
	t.outcome = ONESTOP__CASE_OUTCOME__CASE_OUTCOME_APPROVED;
	t.reason = "all materials in order";
	t.licence = "LIC-0123456789abcdef0123456789abcdef";
	seed_case_msg("decide-approved", NULL, &t, NULL);
	r.case_id = c.id;
	r.seq = 4;
	r.action = ONESTOP__CASE_ACTION__CASE_ACTION_RESUBMIT;
	r.code = OS_ESTATE;
	r.reason = "resubmit is not allowed in state decided";
	seed_case_msg("refusal", NULL, NULL, &r);
	seed_licence("licence-active", "gd.sz", FUZZ_NOW_MS + 365 * FUZZ_DAY_MS,
		     ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE);
	seed_licence("licence-revoked", "gd.sz", 0,
		     ONESTOP__LICENCE_STATUS__LICENCE_STATUS_REVOKED);
	seed_licence("licence-bad-issuer", "Not A Node", 0,
		     ONESTOP__LICENCE_STATUS__LICENCE_STATUS_ACTIVE);
	seed_write("case", "holidays", (const uint8_t *)holidays, sizeof(holidays) - 1);
	/* A walk: file, accept, need more, resubmit, accept, decide, close. */
	static const uint8_t walk[] = {0,    0x01, 0x00, 0x01, 0x02, 0x04, 0x01, 0x04,
				       0x04, 0x02, 0x05, 0x00, 0x01, 0x02, 0x04, 0x00,
				       0x06, 0x05, 0x02, 0x07, 0x04, 0x03};
	seed_write("case", "walk", walk, sizeof(walk));
	/* A supervision event of an approval. */
	static const uint8_t cid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	struct sv_case_facts f = {
		.case_id = cid,
		.seq = 3,
		.item = "11440300MB2D",
		.item_kind = "licence",
		.owner = "gd.sz.market",
		.filer = "gd.sz.hall",
		.region = "gd.sz",
		.channel = 3,
		.state = 6,
		.action = 6,
		.outcome = 1,
		.at_ms = FUZZ_NOW_MS,
		.filed_ms = FUZZ_NOW_MS - FUZZ_DAY_MS,
		.accepted_ms = FUZZ_NOW_MS - FUZZ_DAY_MS / 2,
		.promised_due_ms = FUZZ_NOW_MS + 5 * FUZZ_DAY_MS,
		.legal_due_ms = FUZZ_NOW_MS + 20 * FUZZ_DAY_MS,
	};
	struct sv_event ev;
	uint8_t *eb = NULL;
	size_t el = 0;
	if (sv_from_case(&f, &ev) == 0 && sv_event_pack(&ev, &eb, &el) == 0)
		seed_write("case", "event-decided", eb, el);
	free(eb);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "seedgen: cannot create %s\n", outdir);
		return 1;
	}
	check(crypto_setup(), "crypto");
	uint8_t *env[3];
	size_t env_len[3];
	uint8_t *reg = NULL;
	size_t reg_len = 0;
	make_envelopes(env, env_len);
	gen_envelope(env, env_len);
	gen_registry(&reg, &reg_len);
	gen_link(env, env_len, reg, reg_len);
	gen_api();
	gen_deadletter();
	gen_datasets();
	gen_assertion();
	gen_case();
	for (int i = 0; i < 3; i++)
		free(env[i]);
	free(reg);
	return failures == 0 ? 0 : 1;
}
