/* At most once per id: a message id re-signed by its origin with another
 * expiry is the same message, and the destination's app gets it once.
 * Origin a (a raw link with a's registered key) pushes one message to b,
 * then the same id re-signed with a later expiry, then a marker; b's app
 * must see the id once and the marker. After a restart of b (the `seen`
 * table is durable) a third copy with a still later expiry is dropped too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "batchsig.h"
#include "crypto.h"

#define TYPE "it.dedup"

/* A copy of the packed Signed in whose envelope expires_ms is moved by
 * delta_ms and which is signed again with keyfile's key (a batch of one):
 * the same id, a valid signature, another expiry. NULL on failure. */
static uint8_t *resign(const char *keyfile, const uint8_t *in, size_t len, uint64_t delta_ms,
		       size_t *out_len)
{
	Onestop__Signed *s = onestop__signed__unpack(NULL, len, in);
	Onestop__Envelope *e = NULL;
	Onestop__Signed ns = ONESTOP__SIGNED__INIT;
	struct os_keypair kp;
	struct batchsig_proof proof;
	os_hash leaf, root;
	os_sig sig;
	uint8_t *env = NULL, *out = NULL;
	size_t env_len;

	if (!s || crypto_keyfile_read(keyfile, &kp) != 0)
		goto done;
	e = onestop__envelope__unpack(NULL, s->envelope.len, s->envelope.data);
	if (!e)
		goto wipe;
	e->expires_ms += delta_ms;
	env = malloc(onestop__envelope__get_packed_size(e));
	if (!env)
		goto wipe;
	env_len = onestop__envelope__pack(e, env);
	batchsig_leaf(leaf, env, env_len);
	if (batchsig_build((const os_hash *)&leaf, 1, root, &proof) != 0)
		goto wipe;
	batchsig_sign(sig, root, 1, kp.sign_sk);
	ns.envelope.data = env;
	ns.envelope.len = env_len;
	ns.signature.data = sig;
	ns.signature.len = sizeof sig;
	ns.leaf_index = proof.index;
	ns.leaf_count = proof.count;
	*out_len = onestop__signed__get_packed_size(&ns);
	out = malloc(*out_len);
	if (out)
		onestop__signed__pack(&ns, out);
wipe:
	crypto_keypair_wipe(&kp);
done:
	free(env);
	if (e)
		onestop__envelope__free_unpacked(e, NULL);
	if (s)
		onestop__signed__free_unpacked(s, NULL);
	return out;
}

/* Push msg from l and wait for the hub's ack. */
static void push(struct net *n, struct raw_link *l, const uint8_t *msg, size_t len,
		 const char *what)
{
	uint64_t seq = 0;
	H_REQUIRE(n, raw_push(l, msg, len, &seq) == 0, "pushed %s", what);
	H_REQUIRE(n, raw_wait_push_ack(l, seq, h_ms(10000)) == 0, "the hub took %s", what);
}

/* Receive and ack at p until the payload marker arrives (or timeout):
 * how many messages carried id. *marker says whether it came. */
static int count_until(struct net *n, struct net_proc *p, const uint8_t id[16], const char *marker,
		       int *got_marker)
{
	onestop_t *c = NULL;
	int copies = 0;
	uint64_t end = h_now_ms() + (uint64_t)h_ms(15000);

	*got_marker = 0;
	H_REQUIRE(n, net_connect(p, 0, &c) == 0, "connected to %s", p->name);
	while (!*got_marker && h_now_ms() < end) {
		onestop_msg_t *m = NULL;
		size_t k = 0;
		uint64_t seqs[16];
		if (onestop_recv(c, 16, 500, &m, &k) != 0)
			continue;
		for (size_t i = 0; i < k; i++) {
			if (memcmp(m[i].id, id, 16) == 0)
				copies++;
			if (m[i].len == strlen(marker) &&
			    memcmp(m[i].payload, marker, m[i].len) == 0)
				*got_marker = 1;
			seqs[i] = m[i].seq;
		}
		H_CHECK(n, onestop_ack(c, seqs, k) == 0, "acked %zu at %s", k, p->name);
		onestop_msgs_free(&m, k);
	}
	onestop_close(&c);
	return copies;
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	struct raw_link *l = NULL;
	uint8_t *m1 = NULL, *m2 = NULL, *m3 = NULL, *k1 = NULL, *k2 = NULL;
	size_t l1 = 0, l2 = 0, l3 = 0, kl1 = 0, kl2 = 0;
	uint8_t id[16], kid[16];
	int copies, marker;

	net_up(n, &n->hub, 0);
	net_up(n, b, 1);
	H_REQUIRE(n, raw_open(n, a->reg_key, "a", &l) == 0, "raw link as a");
	H_REQUIRE(n, raw_hello(l, NULL, h_ms(10000)) == 0, "a welcomed by the hub");

	H_REQUIRE(n, h_sign_one(n, "a", a->reg_key, "b", TYPE, "once", 4, 60000, &m1, &l1, id) == 0,
		  "signed the message");
	m2 = resign(a->reg_key, m1, l1, 30000, &l2);
	m3 = resign(a->reg_key, m1, l1, 90000, &l3);
	H_REQUIRE(n, m2 && m3, "re-signed the same id with two later expiries");
	H_REQUIRE(n,
		  h_sign_one(n, "a", a->reg_key, "b", TYPE, "marker-1", 8, 60000, &k1, &kl1, kid) ==
				  0 &&
			  h_sign_one(n, "a", a->reg_key, "b", TYPE, "marker-2", 8, 60000, &k2, &kl2,
				     kid) == 0,
		  "signed two markers");

	push(n, l, m1, l1, "the message");
	push(n, l, m2, l2, "its copy with expiry +30 s");
	push(n, l, k1, kl1, "marker 1");
	copies = count_until(n, b, id, "marker-1", &marker);
	H_CHECK(n, marker, "b's app got marker 1");
	H_CHECK(n, copies == 1, "b's app got id %s once (%d times) across two expiries",
		h_idhex(id), copies);

	H_CHECK(n, proc_stop(n, b, 0) == 0, "b stopped cleanly");
	net_up(n, b, 1);
	push(n, l, m3, l3, "a copy with expiry +90 s, after b restarted");
	push(n, l, k2, kl2, "marker 2");
	copies = count_until(n, b, id, "marker-2", &marker);
	H_CHECK(n, marker, "b's app got marker 2");
	H_CHECK(n, copies == 0, "b's app did not get id %s again after a restart (%d times)",
		h_idhex(id), copies);

	raw_close(&l);
	free(m1);
	free(m2);
	free(m3);
	free(k1);
	free(k2);
	return net_done(&n);
}
