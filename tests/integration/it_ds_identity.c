/* The identity dataset in cached mode. The idp publishes 40 subjects; the
 * spokes follow the stream's seq but hold nothing until they look a
 * subject up. A miss at a fills through the hub (then a holds it); an
 * unknown subject is ENOTFOUND; the idp's later revocation reaches a, which
 * holds the subject, while b, which never looked it up, still holds
 * nothing. Spoke c has cache_entries = 10: after looking up 31 subjects
 * (touching one old one again on the way) it holds exactly the 10 most
 * recently used, which is checked with the hub stopped: held ones answer
 * locally, evicted ones cannot be filled. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ds_harness.h"

#define SUBJECTS 40
#define BUDGET 10

static void subject(char *buf, size_t size, unsigned k)
{
	snprintf(buf, size, "subj-%03u", k);
}

static int held_count(struct net_proc *p, uint64_t *count, uint64_t *seq)
{
	onestop_dataset_t d;
	int rc = ds_info(p, "identity", &d);

	*count = d.count;
	if (seq)
		*seq = d.seq;
	if (rc == 0 && d.mode != ONESTOP_MODE_CACHED)
		return -1;
	return rc;
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *idp, *a, *b, *c;
	onestop_t *ci = NULL;
	onestop_identity_t id;
	struct net_digest hub;
	char s[32];
	uint64_t cnt = 0, seq = 0, eseq = 0, t0;
	int rc, held_ok = 0, evicted_ok = 0;

	ds_opts_identity(&o);
	o.spoke[3].name = "c";
	o.spoke[3].conf[0] = (struct net_kv){"cache_entries", "10"};
	o.spoke[3].conf[1] = (struct net_kv){"fetch_timeout_ms", "1000"};
	n = net_make(4, &o);
	idp = net_spoke(n, "idp");
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	c = net_spoke(n, "c");
	net_start_all(n);

	H_REQUIRE(n, net_connect(idp, 0, &ci) == 0, "connected to idp");
	for (unsigned k = 1; k <= SUBJECTS; k++) {
		subject(s, sizeof s, k);
		H_REQUIRE(n, ds_put_identity(ci, s, 1 + k % 3, ONESTOP_SUBJECT_ACTIVE, "idp") == 0,
			  "idp published %s", s);
	}
	memset(&hub, 0, sizeof hub);
	rc = ds_wait_hub_seq(n, "identity", SUBJECTS, h_ms(30000), &hub);
	H_CHECK(n, rc == 0 && hub.count == SUBJECTS,
		"the hub holds all %d subjects (seq %llu count %llu)", SUBJECTS,
		(unsigned long long)hub.seq, (unsigned long long)hub.count);
	for (size_t i = 1; i < n->n_spokes; i++) {
		struct net_proc *p = &n->spoke[i];

		H_CHECK(n, ds_wait_seq(p, "identity", SUBJECTS, h_ms(30000), NULL) == 0,
			"%s followed the stream to seq %d", p->name, SUBJECTS);
		rc = held_count(p, &cnt, NULL);
		H_CHECK(n, rc == 0 && cnt == 0,
			"%s holds no subject before looking one up (count %llu, rc %d)", p->name,
			(unsigned long long)cnt, rc);
	}

	fprintf(stderr, "a miss fills through the hub\n");
	rc = ds_get_identity(a, "subj-001", 0, &id, &eseq);
	H_CHECK(n,
		rc == 0 && id.kind == ONESTOP_PERSON && id.level == 2 &&
			id.status == ONESTOP_SUBJECT_ACTIVE && strcmp(id.authority, "idp") == 0 &&
			eseq >= 1 && eseq <= SUBJECTS,
		"a: get subj-001 filled from the hub: rc %d %s kind %d level %u status %d "
		"authority %s seq %llu",
		rc, onestop_strerror(rc), id.kind, id.level, id.status, id.authority,
		(unsigned long long)eseq);
	rc = held_count(a, &cnt, NULL);
	H_CHECK(n, rc == 0 && cnt == 1, "a now holds 1 subject (count %llu)",
		(unsigned long long)cnt);
	rc = ds_get_identity(a, "subj-999", 0, NULL, NULL);
	H_CHECK(n, rc == ONESTOP_ENOTFOUND, "a: an unknown subject is ENOTFOUND (got %d %s)", rc,
		onestop_strerror(rc));
	rc = held_count(a, &cnt, NULL);
	H_CHECK(n, rc == 0 && cnt == 1, "a still holds 1 subject (count %llu)",
		(unsigned long long)cnt);

	fprintf(stderr, "the idp revokes subj-001\n");
	H_REQUIRE(n, ds_put_identity(ci, "subj-001", 2, ONESTOP_SUBJECT_REVOKED, "idp") == 0,
		  "idp published the revocation");
	t0 = h_now_ms();
	do {
		rc = ds_get_identity(a, "subj-001", 0, &id, &eseq);
		if (rc == 0 && id.status == ONESTOP_SUBJECT_REVOKED)
			break;
		h_sleep_ms(50);
	} while (h_now_ms() - t0 < (uint64_t)h_ms(15000));
	H_CHECK(n, rc == 0 && id.status == ONESTOP_SUBJECT_REVOKED && eseq == SUBJECTS + 1,
		"a sees subj-001 revoked (status %d, entry seq %llu) %llu ms after the put",
		id.status, (unsigned long long)eseq, (unsigned long long)(h_now_ms() - t0));
	rc = held_count(a, &cnt, &seq);
	H_CHECK(n, rc == 0 && cnt == 1 && seq == SUBJECTS + 1, "a: count %llu seq %llu",
		(unsigned long long)cnt, (unsigned long long)seq);
	H_CHECK(n, ds_wait_seq(b, "identity", SUBJECTS + 1, h_ms(15000), NULL) == 0,
		"b followed the stream to the revocation");
	rc = held_count(b, &cnt, NULL);
	H_CHECK(n, rc == 0 && cnt == 0,
		"b, which never looked subj-001 up, holds nothing (count %llu)",
		(unsigned long long)cnt);

	fprintf(stderr, "c (cache_entries=%d) looks up 31 subjects\n", BUDGET);
	for (unsigned k = 1; k <= 30; k++) {
		subject(s, sizeof s, k);
		rc = ds_get_identity(c, s, 0, NULL, NULL);
		H_CHECK(n, rc == 0, "c: get %s (rc %d %s)", s, rc, onestop_strerror(rc));
	}
	rc = held_count(c, &cnt, NULL);
	H_CHECK(n, rc == 0 && cnt <= BUDGET && cnt > 0,
		"c holds %llu subjects after 30 lookups (at most %d)", (unsigned long long)cnt,
		BUDGET);
	/* use subj-021 again, then one more lookup evicts the least recently
	 * used, which is now subj-022 */
	rc = ds_get_identity(c, "subj-021", 0, NULL, NULL);
	H_CHECK(n, rc == 0, "c: subj-021 again (rc %d)", rc);
	rc = ds_get_identity(c, "subj-031", 0, NULL, NULL);
	H_CHECK(n, rc == 0, "c: subj-031 (rc %d)", rc);
	rc = held_count(c, &cnt, NULL);
	H_CHECK(n, rc == 0 && cnt == BUDGET, "c holds %llu subjects (the budget is %d)",
		(unsigned long long)cnt, BUDGET);

	fprintf(stderr, "with the hub stopped: what is held answers, what was evicted does not\n");
	rc = proc_stop(n, &n->hub, 0);
	H_CHECK(n, rc == 0, "hub stopped cleanly (exit %d)", rc);
	t0 = h_now_ms();
	for (;;) {
		onestop_status_t st;

		if (net_status(c, &st) == 0 && !st.hub_connected)
			break;
		if (h_now_ms() - t0 > (uint64_t)h_ms(15000))
			break;
		h_sleep_ms(50);
	}
	for (unsigned k = 1; k <= 31; k++) {
		int want_held = k == 21 || k >= 23;

		subject(s, sizeof s, k);
		rc = ds_get_identity(c, s, 0, NULL, NULL);
		if (want_held) {
			if (H_CHECK(n, rc == 0, "c still holds %s (rc %d %s)", s, rc,
				    onestop_strerror(rc)))
				held_ok++;
		} else {
			if (H_CHECK(n, rc == ONESTOP_ECONN || rc == ONESTOP_ETIMEDOUT,
				    "c evicted %s: a miss with the hub down (rc %d %s)", s, rc,
				    onestop_strerror(rc)))
				evicted_ok++;
		}
	}
	H_CHECK(n, held_ok == BUDGET && evicted_ok == 31 - BUDGET,
		"c held exactly the %d most recently used (held %d, evicted %d)", BUDGET, held_ok,
		evicted_ok);
	rc = ds_get_identity(a, "subj-001", 0, &id, NULL);
	H_CHECK(n, rc == 0 && id.status == ONESTOP_SUBJECT_REVOKED,
		"a answers subj-001 (revoked) from its cache with the hub down (rc %d status %d)",
		rc, id.status);

	onestop_close(&ci);
	return net_done(&n);
}
