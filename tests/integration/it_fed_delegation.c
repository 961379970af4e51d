/* Delegated trust across the hub tree (national hub, gd.hub, sc.hub and
 * their spokes): a node added to gd.reg with gd's root key alone (gd.new)
 * is admitted after a SIGHUP of gd.hub and exchanges messages with sc.a in
 * the other province; a province registry naming a node outside its
 * prefix, or signed by a key the national registry does not delegate to,
 * is refused by gd.hub on SIGHUP (registry_reload_failed, the old chain
 * stays) and by `onestop registry verify`; a node revoked by its province
 * (gd.b) is refused everywhere: the national hub, sc.hub and sc.a hold the
 * new chain, gd.b cannot connect, and its message accepted by gd.hub while
 * the national hub was down, relayed after the revocation, never reaches
 * sc.a. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fed_harness.h"
#include "onestop.pb-c.h"
#include "util.h"

#define N_MSG 50
#define BODY 64
#define TYPE "it.fed"
#define REG_CTX "OneStop registry v1"

/* Wait until p's log holds more than above lines containing substr. 0 or
 * -1 on timeout. */
static int wait_count(struct net_proc *p, const char *substr, int above, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_ms;

	while (proc_log_count(p, substr, 0) <= above) {
		if (h_now_ms() >= until)
			return -1;
		h_sleep_ms(20);
	}
	return 0;
}

static uint64_t version_of(struct net_proc *p)
{
	onestop_status_t st;

	return net_status(p, &st) == 0 ? st.registry_version : 0;
}

/* Send n numbered messages of stream from p to `to`. */
static void send_stream(struct fed *f, struct net_proc *p, const char *to, uint32_t stream,
			size_t n, uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;

	H_REQUIRE(f->net, net_connect(p, 0, &c) == 0, "connected to %s", p->name);
	H_REQUIRE(f->net, msgs_send(c, to, TYPE, stream, 1, n, n, BODY, 0, ids) == 0,
		  "%s sent %zu messages to %s (stream %u)", p->name, n, to, stream);
	onestop_close(&c);
}

/* p receives stream (count messages from origin) once, in order. */
static void expect_stream(struct fed *f, struct net_proc *p, const char *origin, uint32_t stream,
			  size_t count, uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_t *c = NULL;
	struct msgs_rx rx;

	memset(&rx, 0, sizeof rx);
	rx.stream = stream;
	rx.first = 1;
	rx.count = count;
	rx.origin = origin;
	rx.to = p->name;
	rx.type = TYPE;
	rx.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids;
	H_CHECK(f->net, msgs_recv(p, &c, &rx, h_ms(30000)) == 0 && rx.n_dl == 0,
		"%s got all %zu messages from %s once, in order (%s)", p->name, count, origin,
		rx.problem);
	msgs_rx_clear(&rx);
	onestop_close(&c);
}

/* A copy of the registry file in with its version raised by bump, the
 * node named rename (when not NULL) renamed to to, signed again with sk,
 * written to out. 0 or -1. */
static int craft(const char *in, const char *out, const char *rename, const char *to, uint64_t bump,
		 const os_sign_sk sk)
{
	Onestop__SignedRegistry *sr = NULL, o = ONESTOP__SIGNED_REGISTRY__INIT;
	Onestop__Registry *r = NULL;
	uint8_t *buf = NULL, *rb = NULL, *ob = NULL, sig[sizeof(os_sig)];
	char *old = NULL;
	size_t len = 0, rl, ol, k = 0;
	int rc = -1;

	if (os_read_file(in, 1 << 20, &buf, &len) != 0 ||
	    !(sr = onestop__signed_registry__unpack(NULL, len, buf)) ||
	    !(r = onestop__registry__unpack(NULL, sr->registry.len, sr->registry.data)))
		goto out;
	r->version += bump;
	for (k = 0; rename && k < r->n_nodes; k++)
		if (strcmp(r->nodes[k]->name, rename) == 0)
			break;
	if (rename && k == r->n_nodes)
		goto out;
	if (rename) {
		old = r->nodes[k]->name;
		r->nodes[k]->name = (char *)to;
	}
	rl = onestop__registry__get_packed_size(r);
	if (!(rb = malloc(rl)))
		goto out;
	onestop__registry__pack(r, rb);
	crypto_sign(sig, REG_CTX, rb, rl, sk);
	o.registry.data = rb;
	o.registry.len = rl;
	o.signature.data = sig;
	o.signature.len = sizeof(sig);
	ol = onestop__signed_registry__get_packed_size(&o);
	if (!(ob = malloc(ol)))
		goto out;
	onestop__signed_registry__pack(&o, ob);
	rc = os_write_file(out, ob, ol, 0600, 0) == 0 ? 0 : -1;
out:
	if (old)
		r->nodes[k]->name = old;
	if (r)
		onestop__registry__free_unpacked(r, NULL);
	if (sr)
		onestop__signed_registry__free_unpacked(sr, NULL);
	free(buf);
	free(rb);
	free(ob);
	return rc;
}

/* `onestop registry verify` of the national registry with part: its exit
 * code. */
static int verify(struct fed *f, const char *part)
{
	struct cmd_out res;
	int rc;

	memset(&res, 0, sizeof res);
	rc = net_cli(f->net, &res, "registry", "verify", "--anchor", f->net->anchor, "--registry",
		     f->net->registry, "--part", part, NULL);
	cmd_out_free(&res);
	return rc;
}

/* gd.hub refuses the province registry file part on SIGHUP and keeps its
 * chain; the CLI refuses it too. */
static void refuse_file(struct fed *f, struct fed_prov *gd, const char *part, const char *kept,
			const char *what)
{
	struct net *n = f->net;
	struct net_proc *gdhub = gd->hub;
	int failed = proc_log_count(gdhub, "event=registry_reload_failed", 0);
	int loaded = proc_log_count(gdhub, "event=registry_loaded", 0);
	char cmd[3 * H_PATH];

	H_CHECK(n, verify(f, part) == 1, "onestop registry verify refuses %s", what);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", part, gd->registry);
	H_REQUIRE(n, system(cmd) == 0, "gd.reg replaced by %s", what);
	H_REQUIRE(n, fed_hup(gdhub) == 0, "SIGHUP to gd.hub");
	H_CHECK(n, wait_count(gdhub, "event=registry_reload_failed", failed, h_ms(10000)) == 0,
		"gd.hub refused %s (registry_reload_failed)", what);
	h_sleep_ms(200);
	H_CHECK(n, proc_log_count(gdhub, "event=registry_loaded", 0) == loaded,
		"gd.hub kept the chain in force");
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", kept, gd->registry);
	H_REQUIRE(n, system(cmd) == 0, "gd.reg put back");
}

static int st_connected(const onestop_status_t *st, const void *arg)
{
	return st->hub_connected == *(const int *)arg;
}

int main(void)
{
	struct fed *f = fed_make(NULL);
	struct net *n = f->net;
	struct fed_prov *gd = fed_prov_of(f, "gd.a");
	struct net_proc *hub = fed_proc(f, "hub"), *schub = fed_proc(f, "sc.hub");
	struct net_proc *gdb = fed_proc(f, "gd.b"), *sca = fed_proc(f, "sc.a");
	struct net_proc *gdhub, *gdnew;
	struct os_keypair gd_root, rogue;
	uint8_t ids[N_MSG][ONESTOP_ID_LEN], id[1][ONESTOP_ID_LEN];
	char good[H_PATH + 16], outside[H_PATH + 16], undelegated[H_PATH + 16];
	uint64_t v0, v1;
	int c_sc, c_nat, c_gd, zero = 0;

	H_REQUIRE(n, gd && hub && schub && gdb && sca, "the federation has gd, sc and their nodes");
	gdhub = gd->hub;
	H_REQUIRE(n, crypto_keyfile_read(gd->root_key, &gd_root) == 0, "read gd's root key");
	crypto_keypair_new(&rogue);
	fed_start_all(f);
	H_CHECK(n, verify(f, gd->registry) == 0, "onestop registry verify accepts gd.reg");

	fprintf(stderr, "a county node admitted by its province alone\n");
	gdnew = fed_add_spoke(f, "gd.new", NULL);
	v0 = version_of(sca);
	c_gd = proc_log_count(gdhub, "event=registry_loaded", 0);
	c_nat = proc_log_count(hub, "event=registry_part_adopted", 0);
	c_sc = proc_log_count(schub, "source=parent", 0);
	H_REQUIRE(n, fed_hup(gdhub) == 0, "SIGHUP to gd.hub");
	H_CHECK(n, wait_count(gdhub, "event=registry_loaded", c_gd, h_ms(10000)) == 0,
		"gd.hub loaded gd.reg with gd.new");
	H_CHECK(n, wait_count(hub, "event=registry_part_adopted", c_nat, h_ms(10000)) == 0,
		"the national hub adopted gd's new registry from gd.hub");
	H_CHECK(n, wait_count(schub, "source=parent", c_sc, h_ms(10000)) == 0,
		"sc.hub adopted the new chain from the national hub");
	H_CHECK(n, net_wait_status(sca, st_registry_above, &v0, h_ms(10000), NULL) == 0,
		"sc.a holds the new chain (above %llu)", (unsigned long long)v0);
	fed_up(f, gdnew);
	send_stream(f, gdnew, "sc.a", 1, N_MSG, ids);
	expect_stream(f, sca, "gd.new", 1, N_MSG, ids);
	send_stream(f, sca, "gd.new", 2, N_MSG, ids);
	expect_stream(f, gdnew, "sc.a", 2, N_MSG, ids);

	fprintf(stderr, "province registries the chain does not allow\n");
	snprintf(good, sizeof good, "%s.good", gd->registry);
	snprintf(outside, sizeof outside, "%s.outside", gd->registry);
	snprintf(undelegated, sizeof undelegated, "%s.undelegated", gd->registry);
	H_REQUIRE(n,
		  craft(gd->registry, good, NULL, NULL, 0, gd_root.sign_sk) == 0 &&
			  craft(gd->registry, outside, "gd.a", "sc.x", 10, gd_root.sign_sk) == 0 &&
			  craft(gd->registry, undelegated, NULL, NULL, 10, rogue.sign_sk) == 0,
		  "made a registry naming sc.x and one signed by an undelegated key");
	refuse_file(f, gd, outside, good, "a registry naming a node outside gd");
	refuse_file(f, gd, undelegated, good, "a registry signed by an undelegated key");
	H_CHECK(n, version_of(sca) == version_of(gdnew), "no chain changed");

	fprintf(stderr, "a node revoked by its province\n");
	H_REQUIRE(n, proc_stop(n, hub, 0) == 0, "the national hub stopped");
	send_stream(f, gdb, "sc.a", 3, 1, id);
	H_CHECK(n, net_wait_status(gdb, st_outbox_is, &(uint64_t){0}, h_ms(10000), NULL) == 0,
		"gd.hub accepted gd.b's message while the national hub is down");
	v1 = version_of(sca);
	c_gd = proc_log_count(gdhub, "event=registry_loaded", 0);
	c_sc = proc_log_count(schub, "source=parent", 0);
	H_REQUIRE(n, fed_reg_cli(f, gd, NULL, "revoke", "--name", "gd.b", NULL) == 0,
		  "gd.reg revokes gd.b");
	H_REQUIRE(n, fed_hup(gdhub) == 0, "SIGHUP to gd.hub");
	H_CHECK(n, wait_count(gdhub, "event=registry_loaded", c_gd, h_ms(10000)) == 0,
		"gd.hub loaded gd.reg revoking gd.b");
	H_CHECK(n, net_wait_status(gdb, st_connected, &zero, h_ms(10000), NULL) == 0,
		"gd.b was cut off");
	fed_up(f, hub);
	H_CHECK(n,
		proc_wait_log(hub, "event=registry_part_adopted node=gd.hub prefix=gd",
			      h_ms(15000)) == 0,
		"the national hub adopted gd's registry revoking gd.b");
	H_CHECK(n, wait_count(schub, "source=parent", c_sc, h_ms(15000)) == 0,
		"sc.hub adopted the chain revoking gd.b");
	H_CHECK(n, net_wait_status(sca, st_registry_above, &v1, h_ms(15000), NULL) == 0,
		"sc.a holds the chain revoking gd.b (above %llu)", (unsigned long long)v1);
	{
		onestop_t *c = NULL;
		struct msgs_rx rx;
		int got;

		memset(&rx, 0, sizeof rx);
		got = msgs_drain(sca, &c, &rx, 2000);
		H_CHECK(n, got == 0 && rx.other == 0,
			"gd.b's message signed before its revocation never reaches sc.a (%d, "
			"other=%llu)",
			got, (unsigned long long)rx.other);
		msgs_rx_clear(&rx);
		onestop_close(&c);
	}
	H_REQUIRE(n, proc_stop(n, gdb, 0) == 0 && proc_start(n, gdb) == 0, "gd.b restarted");
	H_CHECK(n, net_spoke_ready(n, gdb, 1, 2000) != 0, "gd.b cannot connect to gd.hub");
	H_CHECK(n, proc_log_count(gdhub, "zap_denied", 0) > 0, "gd.hub denied gd.b's handshake");

	/* gd.new still reaches sc.a through every hub's new chain. */
	send_stream(f, gdnew, "sc.a", 4, N_MSG, ids);
	expect_stream(f, sca, "gd.new", 4, N_MSG, ids);
	crypto_keypair_wipe(&gd_root);
	crypto_keypair_wipe(&rogue);
	return fed_done(&f);
}
