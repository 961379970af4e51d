/* Registry push: node c is added to the registry file while the network
 * runs. Before the hub reloads, a message to c is dead-lettered EUNKNOWN;
 * after SIGHUP the connected spokes receive the new registry version (their
 * status shows it within a bounded wait), c is admitted, and messages to c
 * are routed to it. Then b is revoked the same way: a message to b comes
 * back EREVOKED, and nothing b sends reaches anyone. Last, a restarts: its
 * configured registry file is still the first version, and it must start
 * from the newer copy it keeps in its store. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define TYPE "it.registry"
#define N 20

/* Point p's config at a frozen copy of the current registry file. */
static int freeze_registry(struct net *n, struct net_proc *p, char *copy, size_t size)
{
	char cmd[4 * H_PATH], tmp[H_PATH + 8];
	FILE *in, *out;
	char line[1024];

	snprintf(copy, size, "%s/registry-%s-initial.bin", n->dir, p->name);
	snprintf(cmd, sizeof cmd, "cp '%s' '%s'", n->registry, copy);
	if (system(cmd) != 0)
		return -1;
	snprintf(tmp, sizeof tmp, "%s.new", p->conf);
	in = fopen(p->conf, "r");
	out = fopen(tmp, "w");
	if (!in || !out) {
		if (in)
			fclose(in);
		if (out)
			fclose(out);
		return -1;
	}
	while (fgets(line, sizeof line, in)) {
		if (strncmp(line, "registry = ", 11) == 0)
			fprintf(out, "registry = %s\n", copy);
		else
			fputs(line, out);
	}
	fclose(in);
	if (fclose(out) != 0)
		return -1;
	return rename(tmp, p->conf);
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *a, *b, *c;
	onestop_t *ca = NULL, *cc = NULL;
	onestop_status_t st;
	struct msgs_rx rx, rc;
	uint8_t id[1][ONESTOP_ID_LEN], ids[N][ONESTOP_ID_LEN];
	uint64_t v0, v1, v2;
	char frozen[H_PATH + 64];
	int k, got;

	memset(&o, 0, sizeof o);
	o.spoke[2].status = "absent"; /* c: key made, not registered yet */
	n = net_make(3, &o);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	H_REQUIRE(n, freeze_registry(n, a, frozen, sizeof frozen) == 0,
		  "a's config names a frozen copy of the first registry");
	net_start_all(n);
	v0 = net_registry_version(n);
	H_REQUIRE(n, net_status(a, &st) == 0, "status of a");
	H_CHECK(n, st.registry_version == v0, "a holds registry version %llu (file: %llu)",
		(unsigned long long)st.registry_version, (unsigned long long)v0);

	/* before: c is unknown to the hub */
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_REQUIRE(n, msgs_send(ca, "c", TYPE, 1, 1, 1, 1, 64, 0, id) == 0, "a sent one to c");
	memset(&rx, 0, sizeof rx);
	k = msgs_wait_deadletter(a, &ca, &rx, id[0], h_ms(15000));
	H_CHECK(n, k >= 0 && rx.dl[k].code == ONESTOP_EUNKNOWN,
		"before the reload, a message to c comes back EUNKNOWN (%d)",
		k >= 0 ? rx.dl[k].code : 0);

	H_REQUIRE(n, net_registry_add(n, c, NULL) == 0, "onestop registry add c");
	v1 = net_registry_version(n);
	H_CHECK(n, v1 > v0, "registry add bumped the version (%llu -> %llu)",
		(unsigned long long)v0, (unsigned long long)v1);
	H_REQUIRE(n, proc_signal(&n->hub, SIGHUP) == 0, "SIGHUP to the hub");

	got = net_wait_status(a, st_registry_above, &v0, h_ms(10000), &st);
	H_CHECK(n, got == 0 && st.registry_version == v1,
		"a received registry version %llu (has %llu)", (unsigned long long)v1,
		(unsigned long long)st.registry_version);
	got = net_wait_status(b, st_registry_above, &v0, h_ms(10000), &st);
	H_CHECK(n, got == 0 && st.registry_version == v1,
		"b received registry version %llu (has %llu)", (unsigned long long)v1,
		(unsigned long long)st.registry_version);
	H_CHECK(n, proc_alive(&n->hub) && proc_alive(a) && proc_alive(b),
		"daemons running after the reload");

	/* after: c is admitted and reachable */
	net_up(n, c, 1);
	H_REQUIRE(n, msgs_send(ca, "c", TYPE, 2, 1, N, 10, 200, 0, ids) == 0, "a sent %d to c", N);
	memset(&rc, 0, sizeof rc);
	rc.stream = 2;
	rc.first = 1;
	rc.count = N;
	rc.origin = "a";
	rc.ids = (const uint8_t(*)[ONESTOP_ID_LEN])ids;
	H_CHECK(n, msgs_recv(c, &cc, &rc, 60000) == 0, "c received all %d in order (%s)", N,
		rc.problem);
	H_CHECK(n, rc.other == 0 && rc.n_dl == 0, "c got nothing else (other=%llu dl=%zu)",
		(unsigned long long)rc.other, rc.n_dl);
	got = msgs_drain(a, &ca, &rx, 1000);
	H_CHECK(n, got == 0 && rx.n_dl == 1,
		"no dead letter for the routed messages (%d more, %zu dl)", got, rx.n_dl);

	fprintf(stderr, "revoking b at run time\n");
	H_REQUIRE(n,
		  net_cli(n, NULL, "registry", "revoke", "--root-key", n->root_key, "--registry",
			  n->registry, "--name", "b", NULL) == 0,
		  "onestop registry revoke b");
	v2 = net_registry_version(n);
	H_REQUIRE(n, proc_signal(&n->hub, SIGHUP) == 0, "SIGHUP to the hub");
	got = net_wait_status(a, st_registry_above, &v1, h_ms(10000), &st);
	H_CHECK(n, got == 0 && st.registry_version == v2,
		"a received registry version %llu (has %llu)", (unsigned long long)v2,
		(unsigned long long)st.registry_version);
	H_REQUIRE(n, msgs_send(ca, "b", TYPE, 3, 1, 1, 1, 64, 0, id) == 0, "a sent one to b");
	k = msgs_wait_deadletter(a, &ca, &rx, id[0], h_ms(15000));
	H_CHECK(n, k >= 0 && rx.dl[k].code == ONESTOP_EREVOKED,
		"a message to revoked b comes back EREVOKED (%d %s)", k >= 0 ? rx.dl[k].code : 0,
		k >= 0 ? onestop_strerror(rx.dl[k].code) : "no dead letter");
	{
		onestop_t *cb = NULL;
		struct msgs_rx ra;
		int sent = net_connect(b, 0, &cb) == 0 &&
			   msgs_send(cb, "a", TYPE, 4, 1, 1, 1, 64, 0, NULL) == 0 &&
			   msgs_send(cb, "c", TYPE, 4, 2, 1, 1, 64, 0, NULL) == 0;

		fprintf(stderr, "  revoked b's spoke %s the messages\n",
			sent ? "accepted" : "refused");
		memset(&ra, 0, sizeof ra);
		got = msgs_drain(a, &ca, &ra, 2000);
		H_CHECK(n, ra.other == 0, "nothing from revoked b reaches a (%llu)",
			(unsigned long long)ra.other);
		msgs_rx_clear(&ra);
		memset(&ra, 0, sizeof ra);
		got = msgs_drain(c, &cc, &ra, 500);
		H_CHECK(n, ra.other == 0, "nothing from revoked b reaches c (%llu)",
			(unsigned long long)ra.other);
		msgs_rx_clear(&ra);
		onestop_close(&cb);
	}
	H_CHECK(n, proc_alive(&n->hub) && proc_alive(a) && proc_alive(c),
		"hub, a and c running after the revocation");

	fprintf(stderr, "restarting a with its first registry file\n");
	onestop_close(&ca);
	got = proc_stop(n, a, 0);
	H_CHECK(n, got == 0, "a stopped cleanly (%d)", got);
	net_up(n, a, 1);
	got = net_status(a, &st);
	H_CHECK(n, got == 0 && st.registry_version == v2,
		"a started from its stored registry version %llu, not the file's %llu (has %llu)",
		(unsigned long long)v2, (unsigned long long)v0,
		(unsigned long long)st.registry_version);

	msgs_rx_clear(&rx);
	msgs_rx_clear(&rc);
	onestop_close(&ca);
	onestop_close(&cc);
	return net_done(&n);
}
