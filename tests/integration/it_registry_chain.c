/* The delegated registry chain through the real onestop CLI: a national
 * registry naming its hub and delegating the provinces gd and sc, the
 * province registries made and edited with their own root keys, the whole
 * chain shown and verified from the anchor, the refusals (a name outside
 * the prefix, a part signed by another key, a name twice, a part nobody
 * delegates) and a city delegated by its province. No daemon runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

struct paths {
	char gd_root[H_PATH], sc_root[H_PATH], sz_root[H_PATH];
	char gd_reg[H_PATH], sc_reg[H_PATH], sz_reg[H_PATH], bad_reg[H_PATH];
	char pub[H_PATH]; /* a node key, reused: only names matter here */
	char pub2[H_PATH];
};

static void path_in(struct net *n, char *out, const char *name)
{
	snprintf(out, H_PATH, "%s/%s", n->dir, name);
}

/* The sign_public of a key file, 64 hex, via `onestop pubkey`. */
static void sign_hex(struct net *n, const char *key, char out[65])
{
	struct cmd_out r;
	out[0] = '\0';
	int rc = net_cli(n, &r, "pubkey", "--key", key, NULL);
	H_REQUIRE(n, rc == 0 && strncmp(r.out, "sign_public=", 12) == 0, "pubkey %s (%d: %s)", key,
		  rc, r.err);
	memcpy(out, r.out + 12, 64);
	out[64] = '\0';
	cmd_out_free(&r);
}

static void keygen(struct net *n, char *path, const char *name)
{
	path_in(n, path, name);
	int rc = net_cli(n, NULL, "keygen", "--out", path, NULL);
	H_REQUIRE(n, rc == 0, "keygen %s (%d)", name, rc);
}

/* 1 when text is NULL or in hay. */
static int has(const char *hay, const char *text)
{
	return text == NULL || (hay != NULL && strstr(hay, text) != NULL);
}

static const char *or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Run the CLI, expect exit code want, and (when not NULL) text in stdout
 * (want 0) or stderr. */
#define EXPECT(n, want, text, ...)                                                       \
	do {                                                                             \
		struct cmd_out r_;                                                       \
		int rc_ = net_cli((n), &r_, __VA_ARGS__, NULL);                          \
		const char *where_ = (want) == 0 ? r_.out : r_.err;                      \
		H_CHECK((n), rc_ == (want) && has(where_, (text)),                       \
			"%s %s: exit %d (want %d), stdout: %s stderr: %s", #__VA_ARGS__, \
			or_empty(text), rc_, (want), r_.out, r_.err);                    \
		cmd_out_free(&r_);                                                       \
	} while (0)

static void make_chain(struct net *n, struct paths *p)
{
	char sc_hex[65];
	keygen(n, p->gd_root, "gd-root.key");
	keygen(n, p->sc_root, "sc-root.key");
	keygen(n, p->sz_root, "sz-root.key");
	keygen(n, p->pub, "a.key");
	strcat(p->pub, ".pub");
	keygen(n, p->pub2, "b.key");
	strcat(p->pub2, ".pub");
	char gdh[H_PATH], sch[H_PATH], ga[H_PATH], gb[H_PATH], sa[H_PATH];
	keygen(n, gdh, "gd.hub.key");
	keygen(n, sch, "sc.hub.key");
	keygen(n, ga, "gd.a.key");
	keygen(n, gb, "gd.b.key");
	keygen(n, sa, "sc.a.key");
	strcat(gdh, ".pub");
	strcat(sch, ".pub");
	strcat(ga, ".pub");
	strcat(gb, ".pub");
	strcat(sa, ".pub");
	sign_hex(n, p->sc_root, sc_hex);
	char gd_root_pub[H_PATH + 8];
	snprintf(gd_root_pub, sizeof gd_root_pub, "%s.pub", p->gd_root);

	/* The national registry (made by net_make with the hub): its hub's
	 * name, the province hubs, the delegations, a national dataset. */
	const char *R = n->registry, *K = n->root_key;
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", K, "--registry", R, "--name", "gd.hub",
	       "--pub", gdh, "--role", "hub");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", K, "--registry", R, "--name", "sc.hub",
	       "--pub", sch, "--role", "hub");
	EXPECT(n, 0, "version=", "registry", "delegate", "--root-key", K, "--registry", R,
	       "--prefix", "gd", "--pub", gd_root_pub, "--hub", "gd.hub");
	EXPECT(n, 0, NULL, "registry", "delegate", "--root-key", K, "--registry", R, "--prefix",
	       "sc", "--key-hex", sc_hex, "--hub", "sc.hub");
	EXPECT(n, 1, "overlaps", "registry", "delegate", "--root-key", K, "--registry", R,
	       "--prefix", "gd.sz", "--key-hex", sc_hex, "--hub", "gd.sz.hub");
	EXPECT(n, 2, NULL, "registry", "delegate", "--root-key", K, "--registry", R, "--prefix",
	       "xx", "--hub", "xx.hub");

	/* The provinces, each with its own root key. */
	path_in(n, p->gd_reg, "gd.reg");
	path_in(n, p->sc_reg, "sc.reg");
	EXPECT(n, 2, NULL, "registry", "init", "--root-key", p->gd_root, "--out", p->gd_reg,
	       "--prefix", "gd", "--hub", "gd.hub");
	EXPECT(n, 0, "prefix=gd", "registry", "init", "--root-key", p->gd_root, "--out", p->gd_reg,
	       "--prefix", "gd");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", p->gd_root, "--registry", p->gd_reg,
	       "--name", "gd.a", "--pub", ga, "--province-topic", "alerts");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", p->gd_root, "--registry", p->gd_reg,
	       "--name", "gd.b", "--pub", gb, "--topic", "news");
	EXPECT(n, 1, "ENAME", "registry", "add", "--root-key", p->gd_root, "--registry", p->gd_reg,
	       "--name", "sc.x", "--pub", p->pub);
	EXPECT(n, 1, "not signed by this root key", "registry", "add", "--root-key", K,
	       "--registry", p->gd_reg, "--name", "gd.c", "--pub", p->pub);
	EXPECT(n, 0, NULL, "registry", "dataset", "--root-key", p->gd_root, "--registry", p->gd_reg,
	       "--name", "gd.permits", "--mode", "full");
	EXPECT(n, 1, "ENAME", "registry", "dataset", "--root-key", p->gd_root, "--registry",
	       p->gd_reg, "--name", "permits", "--mode", "full");
	/* The other edits work on a delegated registry as on the national one. */
	EXPECT(n, 0, "prefix=gd", "registry", "suspend", "--root-key", p->gd_root, "--registry",
	       p->gd_reg, "--name", "gd.b");
	EXPECT(n, 0, NULL, "registry", "activate", "--root-key", p->gd_root, "--registry",
	       p->gd_reg, "--name", "gd.b");
	EXPECT(n, 0, "prefix=gd", "registry", "sign", "--root-key", p->gd_root, "--registry",
	       p->gd_reg, "--valid-days", "30");
	EXPECT(n, 1, "not signed by this root key", "registry", "sign", "--root-key", p->sc_root,
	       "--registry", p->gd_reg);
	EXPECT(n, 0, NULL, "registry", "init", "--root-key", p->sc_root, "--out", p->sc_reg,
	       "--prefix", "sc");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", p->sc_root, "--registry", p->sc_reg,
	       "--name", "sc.a", "--pub", sa);
}

static void check_chain(struct net *n, struct paths *p)
{
	const char *R = n->registry, *A = n->anchor;
	EXPECT(n, 0, "chain ok", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->sc_reg, "--part", p->gd_reg);
	EXPECT(n, 0, "parts=3", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->sc_reg, "--part", p->gd_reg);

	struct cmd_out r;
	int rc = net_cli(n, &r, "registry", "show", "--anchor", A, "--registry", R, "--part",
			 p->gd_reg, "--part", p->sc_reg, NULL);
	const char *want[] = {
		"signature=verified\n",
		"parts=3\n",
		"part=gd version=",
		"delegation=gd hub=gd.hub by=national root_pk=",
		"delegation=sc hub=sc.hub by=national",
		"name=gd.a roles=spoke",
		"province_topics=alerts",
		"dataset=gd.permits mode=full publishers= scope=gd sequencer=gd.hub\n",
		"name=sc.a ",
	};
	H_CHECK(n, rc == 0, "show of the chain exits 0 (%d: %s)", rc, r.err);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		H_CHECK(n, strstr(r.out, want[i]) != NULL, "show prints %s:\n%s", want[i], r.out);
	H_CHECK(n, strstr(r.out, "signer=BAD") == NULL && strstr(r.out, "signer=verified"),
		"every part's signer verified:\n%s", r.out);
	cmd_out_free(&r);

	/* A delegated registry alone: shown with its prefix; verified only
	 * inside its chain. */
	char gd_hex[65];
	sign_hex(n, p->gd_root, gd_hex);
	EXPECT(n, 0, "prefix=gd\n", "registry", "show", "--registry", p->gd_reg, "--anchor",
	       gd_hex);
	EXPECT(n, 1, "delegated", "registry", "verify", "--anchor", gd_hex, "--registry",
	       p->gd_reg);
	EXPECT(n, 1, "not signed by the anchor", "registry", "verify", "--anchor", A, "--registry",
	       p->gd_reg);
	EXPECT(n, 1, "--part needs the national registry", "registry", "show", "--registry",
	       p->gd_reg, "--part", p->sc_reg);
}

static void refusals(struct net *n, struct paths *p)
{
	const char *R = n->registry, *A = n->anchor;
	path_in(n, p->bad_reg, "bad.reg");

	/* sc's registry signed by gd's key. */
	EXPECT(n, 0, NULL, "registry", "init", "--root-key", p->gd_root, "--out", p->bad_reg,
	       "--prefix", "sc");
	EXPECT(n, 1, "not signed by the root key its delegation names", "registry", "verify",
	       "--anchor", A, "--registry", R, "--part", p->bad_reg);
	EXPECT(n, 1, "is not signed by the root key", "registry", "show", "--anchor", A,
	       "--registry", R, "--part", p->bad_reg);
	remove(p->bad_reg);

	/* A province listing its hub, which the national registry has. */
	EXPECT(n, 0, NULL, "registry", "init", "--root-key", p->gd_root, "--out", p->bad_reg,
	       "--prefix", "gd");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", p->gd_root, "--registry", p->bad_reg,
	       "--name", "gd.hub", "--pub", p->pub2, "--role", "hub");
	EXPECT(n, 1, "EEXIST", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->bad_reg);
	remove(p->bad_reg);

	/* A part nobody delegates. */
	EXPECT(n, 0, NULL, "registry", "init", "--root-key", p->gd_root, "--out", p->bad_reg,
	       "--prefix", "xx");
	EXPECT(n, 1, "ENOTALLOWED", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->bad_reg);
	remove(p->bad_reg);
	EXPECT(n, 1, "is not a delegated registry", "registry", "verify", "--anchor", A,
	       "--registry", R, "--part", R);
}

static void city(struct net *n, struct paths *p)
{
	const char *R = n->registry, *A = n->anchor;
	char sz_root_pub[H_PATH + 8];
	snprintf(sz_root_pub, sizeof sz_root_pub, "%s.pub", p->sz_root);
	EXPECT(n, 1, "strictly inside", "registry", "delegate", "--root-key", p->gd_root,
	       "--registry", p->gd_reg, "--prefix", "sc.sz", "--pub", sz_root_pub, "--hub",
	       "sc.sz.hub");
	EXPECT(n, 0, NULL, "registry", "delegate", "--root-key", p->gd_root, "--registry",
	       p->gd_reg, "--prefix", "gd.sz", "--pub", sz_root_pub, "--hub", "gd.sz.hub");
	path_in(n, p->sz_reg, "gd.sz.reg");
	EXPECT(n, 0, NULL, "registry", "init", "--root-key", p->sz_root, "--out", p->sz_reg,
	       "--prefix", "gd.sz");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", p->sz_root, "--registry", p->sz_reg,
	       "--name", "gd.sz.hub", "--pub", p->pub, "--role", "hub");
	EXPECT(n, 0, NULL, "registry", "add", "--root-key", p->sz_root, "--registry", p->sz_reg,
	       "--name", "gd.sz.market", "--pub", p->pub2);
	/* The city before its province: any order. */
	EXPECT(n, 0, "parts=4", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->sz_reg, "--part", p->gd_reg, "--part", p->sc_reg);
	EXPECT(n, 0, "delegation=gd.sz hub=gd.sz.hub by=gd", "registry", "show", "--anchor", A,
	       "--registry", R, "--part", p->sz_reg, "--part", p->gd_reg);
	/* Without its province the city is nobody's. */
	EXPECT(n, 1, "ENOTALLOWED", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->sz_reg);

	/* Withdrawn delegations. */
	EXPECT(n, 0, NULL, "registry", "undelegate", "--root-key", n->root_key, "--registry", R,
	       "--prefix", "sc");
	EXPECT(n, 1, "no delegation of sc", "registry", "undelegate", "--root-key", n->root_key,
	       "--registry", R, "--prefix", "sc");
	EXPECT(n, 1, "ENOTALLOWED", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->sc_reg);
	EXPECT(n, 0, "parts=3", "registry", "verify", "--anchor", A, "--registry", R, "--part",
	       p->gd_reg, "--part", p->sz_reg);
}

int main(void)
{
	struct net *n = net_make(0, NULL);
	struct paths p;
	memset(&p, 0, sizeof(p));
	make_chain(n, &p);
	check_chain(n, &p);
	refusals(n, &p);
	city(n, &p);
	return net_done(&n);
}
