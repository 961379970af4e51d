/* onestop-case-bench: one-stop cases end to end on real daemons. A hub and
 * three spokes on loopback (fsync on at every hop): "idp" issues a fresh
 * assertion for each case, apps at "hall" file cases of an item that
 * "owner" owns, apps at "owner" learn of each case from its inbox and
 * accept and decide it, and an app at "hall" sees the decision arrive.
 * Prints cases/s filed -> accepted -> decided and the file -> decided
 * latency. A benchmark, not a test: it asserts nothing about speed. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"
#include "ds_harness.h"
#include "harness.h"
#include "util.h"

#define CB_ITEM "owner-LIC-0001"
#define CB_SUBJECTS 16 /* applicants, each with many cases */
#define CB_LEVEL 2
#define CB_THREADS_MAX 128
#define CB_RETRY_MS 5000 /* how long a call is retried on EAGAIN / EFULL */

struct cb_opts {
	uint64_t cases;
	unsigned filers;  /* filing threads at hall, each with its connections */
	unsigned workers; /* threads at owner that accept and decide */
	unsigned timeout_s;
	unsigned rate;    /* offered cases/s; 0: as fast as the filers go */
	int preissue;     /* issue every assertion before the filings start */
	const char *kind; /* the item's kind: "licence" issues an e-licence */
	int keep;
};

/* One case as the benchmark sees it: when its filing began (hall) and when
 * hall's app was told of its decision. */
struct cb_slot {
	uint8_t id[ONESTOP_ID_LEN];
	int used;
	uint64_t filed_us, decided_us;
};

struct cb {
	const struct cb_opts *o;
	struct net *n;
	struct net_proc *idp, *hall, *owner;
	uint64_t deadline_ms; /* h_now_ms: every loop stops here */
	uint64_t start_us;    /* os_mono_us when the filers start */
	volatile int stop;

	/* cases by id, open addressing; under mu */
	pthread_mutex_t mu;
	struct cb_slot *slots;
	size_t cap;
	uint64_t filed, decided, file_errors, act_errors;
	int filers_done; /* from then on, filed is all there will be */
	uint64_t first_us, last_us;
	int first_err; /* the first error of a call, to print */
	char first_why[256];

	/* each call's time (us), by kind; under mu */
	uint64_t *call_us[4];
	uint64_t calls[4];

	/* ids the owner's app was told of, for its workers; under mu */
	pthread_cond_t cv;
	uint8_t (*queue)[ONESTOP_ID_LEN];
	uint64_t q_head, q_tail; /* q_tail: how many were queued */
	uint64_t next_case;      /* the next case a filer takes */

	/* --preissue: case i's assertion (the filer takes it), under mu */
	uint8_t **pre;
	size_t *pre_len;
	uint64_t next_issue;
};

enum { CALL_ISSUE, CALL_FILE, CALL_ACCEPT, CALL_DECIDE, CALL_KINDS };
static const char *const call_name[CALL_KINDS] = {"assert_issue at idp", "case_file at hall",
						  "accept at owner", "decide at owner"};

/* Note a call of kind k that took from t0 to now. */
static void note_call(struct cb *b, int k, uint64_t t0)
{
	uint64_t us = os_mono_us() - t0;

	pthread_mutex_lock(&b->mu);
	if (b->calls[k] < b->o->cases)
		b->call_us[k][b->calls[k]++] = us;
	pthread_mutex_unlock(&b->mu);
}

static uint64_t id_hash(const uint8_t id[ONESTOP_ID_LEN])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */

	for (size_t i = 0; i < ONESTOP_ID_LEN; i++)
		h = (h ^ id[i]) * 1099511628211ull;
	return h;
}

/* The slot of id, made when absent; NULL when the table is full. Under mu. */
static struct cb_slot *slot_of(struct cb *b, const uint8_t id[ONESTOP_ID_LEN])
{
	for (size_t i = id_hash(id) % b->cap, k = 0; k < b->cap; i = (i + 1) % b->cap, k++) {
		struct cb_slot *s = &b->slots[i];

		if (!s->used) {
			s->used = 1;
			memcpy(s->id, id, ONESTOP_ID_LEN);
			return s;
		}
		if (memcmp(s->id, id, ONESTOP_ID_LEN) == 0)
			return s;
	}
	return NULL;
}

/* How many cases the loops wait for: all of them until the filers are
 * done, then those filed. Under mu. */
static uint64_t target(const struct cb *b)
{
	return b->filers_done ? b->filed : b->o->cases;
}

static void note_error(struct cb *b, int rc, const char *what, onestop_t *c)
{
	pthread_mutex_lock(&b->mu);
	if (!b->first_err) {
		b->first_err = rc;
		snprintf(b->first_why, sizeof b->first_why, "%s: %d %s (%s)", what, rc,
			 onestop_strerror(rc), c ? onestop_last_error(c) : "");
	}
	pthread_mutex_unlock(&b->mu);
}

static int retryable(int rc)
{
	return rc == ONESTOP_EAGAIN || rc == ONESTOP_EFULL;
}

static int connect_to(struct cb *b, struct net_proc *p, onestop_t **c)
{
	int rc = net_connect(p, 30000, c);

	if (rc != 0)
		note_error(b, rc, p->name, NULL);
	return rc;
}

/* Ask idp for a fresh assertion of subject for hall; counted and timed.
 * 0 or the call's code. */
static int issue(struct cb *b, onestop_t *ci, uint64_t i, uint8_t **as, size_t *as_len)
{
	char subject[32];
	uint64_t t0 = os_mono_us();
	int rc;

	snprintf(subject, sizeof subject, "s-%llu", (unsigned long long)(i % CB_SUBJECTS));
	rc = onestop_assert_issue(ci, subject, CB_LEVEL, "hall", 0, as, as_len);
	note_call(b, CALL_ISSUE, t0);
	if (rc != 0)
		note_error(b, rc, "onestop_assert_issue", ci);
	return rc;
}

/* --preissue: a thread that issues assertions for the cases in turn. */
static void *issuer_run(void *arg)
{
	struct cb *b = arg;
	onestop_t *ci = NULL;

	if (connect_to(b, b->idp, &ci) != 0)
		return NULL;
	while (!b->stop && h_now_ms() < b->deadline_ms) {
		uint8_t *as = NULL;
		size_t as_len = 0;
		uint64_t i;

		pthread_mutex_lock(&b->mu);
		i = b->next_issue < b->o->cases ? b->next_issue++ : UINT64_MAX;
		pthread_mutex_unlock(&b->mu);
		if (i == UINT64_MAX)
			break;
		if (issue(b, ci, i, &as, &as_len) == 0) {
			pthread_mutex_lock(&b->mu);
			b->pre[i] = as;
			b->pre_len[i] = as_len;
			pthread_mutex_unlock(&b->mu);
		}
	}
	onestop_close(&ci);
	return NULL;
}

/* A filing thread at hall: takes the next case, asks idp for a fresh
 * assertion for hall (or takes the one issued before), and files the case
 * with it. */
static void *filer_run(void *arg)
{
	struct cb *b = arg;
	onestop_t *ci = NULL, *ch = NULL;

	if ((!b->pre && connect_to(b, b->idp, &ci) != 0) || connect_to(b, b->hall, &ch) != 0)
		goto out;
	while (!b->stop && h_now_ms() < b->deadline_ms) {
		char key[32];
		uint8_t *as = NULL, id[ONESTOP_ID_LEN];
		size_t as_len = 0;
		uint64_t i, t0, t_start = 0;
		int rc;

		pthread_mutex_lock(&b->mu);
		i = b->next_case < b->o->cases ? b->next_case++ : UINT64_MAX;
		pthread_mutex_unlock(&b->mu);
		if (i == UINT64_MAX)
			break;
		if (b->o->rate) {
			/* case i is due at its scheduled time: a late filer shows as
			 * latency (no coordinated omission) */
			t_start = b->start_us + i * 1000000ull / b->o->rate;
			for (uint64_t now = os_mono_us(); now < t_start && !b->stop;
			     now = os_mono_us()) {
				struct timespec ts = {(time_t)((t_start - now) / 1000000),
						      (long)((t_start - now) % 1000000) * 1000};
				nanosleep(&ts, NULL);
			}
		}
		snprintf(key, sizeof key, "bench-%llu", (unsigned long long)i);
		if (b->pre) {
			pthread_mutex_lock(&b->mu);
			as = b->pre[i];
			as_len = b->pre_len[i];
			b->pre[i] = NULL;
			pthread_mutex_unlock(&b->mu);
			rc = as ? 0 : ONESTOP_EINVAL;
		} else {
			rc = issue(b, ci, i, &as, &as_len);
		}
		if (rc != 0) {
			pthread_mutex_lock(&b->mu);
			b->file_errors++;
			pthread_mutex_unlock(&b->mu);
			continue;
		}
		onestop_case_filing_t f = {.item = CB_ITEM,
					   .assertion = as,
					   .assertion_len = as_len,
					   .channel = ONESTOP_CHANNEL_HALL,
					   .key = (const uint8_t *)key,
					   .key_len = strlen(key)};
		t0 = os_mono_us();
		if (!b->o->rate)
			t_start = t0;
		do {
			rc = onestop_case_file(ch, &f, id);
			if (retryable(rc))
				h_sleep_ms(2);
		} while (retryable(rc) && os_mono_us() - t0 < CB_RETRY_MS * 1000ull);
		note_call(b, CALL_FILE, t0);
		free(as);
		pthread_mutex_lock(&b->mu);
		if (rc == 0) {
			struct cb_slot *s = slot_of(b, id);

			if (s && !s->filed_us) {
				s->filed_us = t_start;
				b->filed++;
				if (!b->first_us || t_start < b->first_us)
					b->first_us = t_start;
			}
		} else {
			b->file_errors++;
		}
		pthread_mutex_unlock(&b->mu);
		if (rc != 0)
			note_error(b, rc, "onestop_case_file", ch);
	}
out:
	onestop_close(&ci);
	onestop_close(&ch);
	return NULL;
}

/* The CaseMessage of an "onestop.Case" message, or NULL. */
static Onestop__CaseMessage *case_msg(const onestop_msg_t *m)
{
	if (strcmp(m->type, ONESTOP_CASE_TYPE) != 0)
		return NULL;
	return onestop__case_message__unpack(NULL, m->len, m->payload);
}

/* The owner's app: each new case goes to the workers' queue. */
static void owner_batch(void *arg, const onestop_msg_t *m, size_t n, uint64_t now_us)
{
	struct cb *b = arg;

	(void)now_us;
	for (size_t i = 0; i < n; i++) {
		Onestop__CaseMessage *cm = case_msg(&m[i]);

		if (cm && cm->filing && cm->filing->id.len == ONESTOP_ID_LEN) {
			pthread_mutex_lock(&b->mu);
			if (b->q_tail < b->o->cases) {
				memcpy(b->queue[b->q_tail++], cm->filing->id.data, ONESTOP_ID_LEN);
				pthread_cond_signal(&b->cv);
			}
			pthread_mutex_unlock(&b->mu);
		}
		onestop__case_message__free_unpacked(cm, NULL);
	}
}

static int owner_done(void *arg)
{
	struct cb *b = arg;
	int done;

	pthread_mutex_lock(&b->mu);
	done = b->stop || b->q_tail >= target(b);
	pthread_mutex_unlock(&b->mu);
	return done;
}

/* hall's app: the decision of each case ends its clock. */
static void hall_batch(void *arg, const onestop_msg_t *m, size_t n, uint64_t now_us)
{
	struct cb *b = arg;

	for (size_t i = 0; i < n; i++) {
		Onestop__CaseMessage *cm = case_msg(&m[i]);
		Onestop__CaseTransition *t = cm ? cm->transition : NULL;

		if (t && t->action == ONESTOP__CASE_ACTION__CASE_ACTION_DECIDE &&
		    t->case_id.len == ONESTOP_ID_LEN) {
			pthread_mutex_lock(&b->mu);
			struct cb_slot *s = slot_of(b, t->case_id.data);
			if (s && !s->decided_us) {
				s->decided_us = now_us;
				b->decided++;
				b->last_us = now_us;
			}
			pthread_mutex_unlock(&b->mu);
		}
		onestop__case_message__free_unpacked(cm, NULL);
	}
}

static int hall_done(void *arg)
{
	struct cb *b = arg;
	int done;

	pthread_mutex_lock(&b->mu);
	done = b->stop || b->decided + b->act_errors >= target(b);
	pthread_mutex_unlock(&b->mu);
	return done;
}

static int act(struct cb *b, onestop_t *c, const uint8_t *id, const onestop_case_act_t *a)
{
	uint64_t t0 = os_mono_us();
	int rc;

	do {
		rc = onestop_case_act(c, id, a, NULL);
		if (retryable(rc))
			h_sleep_ms(2);
	} while (retryable(rc) && os_mono_us() - t0 < CB_RETRY_MS * 1000ull);
	note_call(b, a->action == ONESTOP_ACT_ACCEPT ? CALL_ACCEPT : CALL_DECIDE, t0);
	if (rc != 0) {
		note_error(b, rc, a->action == ONESTOP_ACT_ACCEPT ? "accept" : "decide", c);
		pthread_mutex_lock(&b->mu);
		b->act_errors++;
		pthread_mutex_unlock(&b->mu);
	}
	return rc;
}

/* A worker at owner: accepts, then decides (approved), each case queued;
 * a case whose step failed counts once in act_errors. */
static void *worker_run(void *arg)
{
	static const onestop_case_act_t accept = {.action = ONESTOP_ACT_ACCEPT};
	static const onestop_case_act_t decide = {.action = ONESTOP_ACT_DECIDE,
						  .outcome = ONESTOP_APPROVED,
						  .reason = "approved",
						  .licence_days = 365};
	struct cb *b = arg;
	onestop_t *c = NULL;

	if (connect_to(b, b->owner, &c) != 0)
		return NULL;
	for (;;) {
		uint8_t id[ONESTOP_ID_LEN];
		int have = 0;

		pthread_mutex_lock(&b->mu);
		while (!b->stop && b->q_head == b->q_tail && b->q_head < target(b) &&
		       h_now_ms() < b->deadline_ms) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000;
			if (ts.tv_nsec >= 1000000000) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000;
			}
			pthread_cond_timedwait(&b->cv, &b->mu, &ts);
		}
		if (b->q_head < b->q_tail) {
			memcpy(id, b->queue[b->q_head++], ONESTOP_ID_LEN);
			have = 1;
		}
		pthread_mutex_unlock(&b->mu);
		if (!have)
			break;
		if (act(b, c, id, &accept) == 0)
			(void)act(b, c, id, &decide);
	}
	onestop_close(&c);
	return NULL;
}

/* The registry: identity and items replicated in full, licences cached;
 * idp publishes identity, owner items and licences. */
static void cb_net_opts(struct net_opts *no)
{
	memset(no, 0, sizeof *no);
	no->log_level = "info";
	no->datasets[0] = (struct net_dataset){"identity", "full"};
	no->datasets[1] = (struct net_dataset){"items", "full"};
	no->datasets[2] = (struct net_dataset){"licences", "cached"};
	no->spoke[0].name = "idp";
	no->spoke[0].roles[0] = "spoke";
	no->spoke[0].roles[1] = "idp";
	no->spoke[0].publish[0] = "identity";
	no->spoke[1].name = "hall";
	no->spoke[2].name = "owner";
	no->spoke[2].publish[0] = "items";
	no->spoke[2].publish[1] = "licences";
}

/* Publish the applicants and the item, and wait until hall holds both. */
static int cb_publish(struct cb *b)
{
	onestop_t *ci = NULL, *co = NULL;
	onestop_item_t it = {.name = "bench licence",
			     .owner = "owner",
			     .kind = b->o->kind,
			     .online = 1,
			     .legal_days = 20,
			     .promised_days = 10,
			     .min_level = 1};
	onestop_put_t put = {.dataset = ONESTOP_DS_ITEMS, .key = CB_ITEM};
	uint8_t *val = NULL;
	int rc = -1;

	if (connect_to(b, b->idp, &ci) != 0 || connect_to(b, b->owner, &co) != 0)
		goto out;
	for (unsigned s = 0; s < CB_SUBJECTS; s++) {
		char subject[32];
		snprintf(subject, sizeof subject, "s-%u", s);
		if (ds_put_identity(ci, subject, 3, ONESTOP_SUBJECT_ACTIVE, "idp") != 0)
			goto out;
	}
	if (onestop_item_encode(&it, &val, &put.len) != 0)
		goto out;
	put.value = val;
	if ((rc = onestop_put(co, &put, 1, NULL)) != 0) {
		fprintf(stderr, "onestop-case-bench: publishing the item: %d %s (%s)\n", rc,
			onestop_strerror(rc), onestop_last_error(co));
		goto out;
	}
	rc = ds_wait_same_as_hub(b->n, b->hall, ONESTOP_DS_IDENTITY, 0, 60000, NULL, NULL) ||
	     ds_wait_same_as_hub(b->n, b->hall, ONESTOP_DS_ITEMS, 0, 60000, NULL, NULL);
	if (rc != 0)
		fprintf(stderr, "onestop-case-bench: hall did not get identity and items\n");
out:
	free(val);
	onestop_close(&ci);
	onestop_close(&co);
	return rc ? -1 : 0;
}

static int cb_run(const struct cb_opts *o)
{
	struct net_opts no;
	struct cb b = {.o = o};
	struct bu_receiver rh, ro;
	pthread_t th_hall, th_owner, th_f[CB_THREADS_MAX], th_w[CB_THREADS_MAX];
	uint64_t *lat = NULL, nlat = 0, t_files_done = 0;
	double cpu0[5];
	int rc = -1, net_rc, oom = 0;

	cb_net_opts(&no);
	b.n = net_make(3, &no);
	b.n->keep = o->keep;
	net_start_all(b.n);
	b.idp = net_spoke(b.n, "idp");
	b.hall = net_spoke(b.n, "hall");
	b.owner = net_spoke(b.n, "owner");
	b.cap = o->cases * 2 + 16;
	b.slots = calloc(b.cap, sizeof *b.slots);
	b.queue = calloc(o->cases, sizeof *b.queue);
	lat = calloc(o->cases, sizeof *lat);
	for (int k = 0; k < CALL_KINDS; k++)
		if (!(b.call_us[k] = calloc(o->cases, sizeof *b.call_us[k])))
			oom = 1;
	pthread_mutex_init(&b.mu, NULL);
	pthread_cond_init(&b.cv, NULL);
	if (oom || !b.slots || !b.queue || !lat) {
		fprintf(stderr, "onestop-case-bench: out of memory\n");
		goto done;
	}
	if (cb_publish(&b) != 0)
		goto done;

	b.deadline_ms = h_now_ms() + (uint64_t)o->timeout_s * 1000;
	if (o->preissue) {
		uint64_t t0 = os_mono_us(), issued = 0;

		b.pre = calloc(o->cases, sizeof *b.pre);
		b.pre_len = calloc(o->cases, sizeof *b.pre_len);
		if (!b.pre || !b.pre_len) {
			fprintf(stderr, "onestop-case-bench: out of memory\n");
			goto done;
		}
		for (unsigned i = 0; i < o->filers; i++)
			pthread_create(&th_f[i], NULL, issuer_run, &b);
		for (unsigned i = 0; i < o->filers; i++)
			pthread_join(th_f[i], NULL);
		for (uint64_t i = 0; i < o->cases; i++)
			issued += b.pre[i] != NULL;
		printf("issued %llu assertions at idp before the filings, in %.2f s (%.0f/s)\n",
		       (unsigned long long)issued, (double)(os_mono_us() - t0) / 1e6,
		       (double)issued / ((double)(os_mono_us() - t0) / 1e6));
	}
	cpu0[0] = bu_cpu_secs(b.n->hub.pid);
	cpu0[1] = bu_cpu_secs(b.idp->pid);
	cpu0[2] = bu_cpu_secs(b.hall->pid);
	cpu0[3] = bu_cpu_secs(b.owner->pid);
	cpu0[4] = bu_cpu_secs(getpid());
	rh = (struct bu_receiver){.p = b.hall,
				  .deadline_ms = (int)o->timeout_s * 1000,
				  .wait_ms = 200,
				  .batch = hall_batch,
				  .done = hall_done,
				  .arg = &b};
	ro = rh;
	ro.p = b.owner;
	ro.batch = owner_batch;
	ro.done = owner_done;
	pthread_create(&th_hall, NULL, bu_receive, &rh);
	pthread_create(&th_owner, NULL, bu_receive, &ro);
	for (unsigned i = 0; i < o->workers; i++)
		pthread_create(&th_w[i], NULL, worker_run, &b);
	b.start_us = os_mono_us();
	for (unsigned i = 0; i < o->filers; i++)
		pthread_create(&th_f[i], NULL, filer_run, &b);
	for (unsigned i = 0; i < o->filers; i++)
		pthread_join(th_f[i], NULL);
	t_files_done = os_mono_us();
	pthread_mutex_lock(&b.mu);
	b.filers_done = 1;
	pthread_cond_broadcast(&b.cv);
	pthread_mutex_unlock(&b.mu);
	pthread_join(th_owner, NULL);
	for (unsigned i = 0; i < o->workers; i++)
		pthread_join(th_w[i], NULL);
	pthread_join(th_hall, NULL);
	b.stop = 1;
	printf("CPU s during the run: hub %.2f idp %.2f hall %.2f owner %.2f, this program's apps "
	       "%.2f\n",
	       bu_cpu_secs(b.n->hub.pid) - cpu0[0], bu_cpu_secs(b.idp->pid) - cpu0[1],
	       bu_cpu_secs(b.hall->pid) - cpu0[2], bu_cpu_secs(b.owner->pid) - cpu0[3],
	       bu_cpu_secs(getpid()) - cpu0[4]);

	for (size_t i = 0; i < b.cap; i++)
		if (b.slots[i].filed_us && b.slots[i].decided_us && nlat < o->cases)
			lat[nlat++] = b.slots[i].decided_us - b.slots[i].filed_us;
	bu_sort_u64(lat, nlat);
	{
		double secs = b.last_us > b.first_us ? (double)(b.last_us - b.first_us) / 1e6 : 0;
		double file_secs = (double)(t_files_done - b.first_us) / 1e6;

		printf("filed %llu cases in %.2f s (%.0f filings/s%s); errors: filing %llu, "
		       "accept/decide %llu\n",
		       (unsigned long long)b.filed, file_secs,
		       file_secs > 0 ? (double)b.filed / file_secs : 0.0,
		       o->preissue ? "" : ", each after asking idp for its assertion",
		       (unsigned long long)b.file_errors, (unsigned long long)b.act_errors);
		printf("decided %llu of %llu seen at hall in %.2f s: %.0f cases/s filed -> "
		       "accepted -> decided\n",
		       (unsigned long long)b.decided, (unsigned long long)o->cases, secs,
		       secs > 0 ? (double)b.decided / secs : 0.0);
		if (nlat > 0)
			printf("file -> decided at hall, ms: p50 %.1f p99 %.1f max %.1f\n",
			       (double)bu_pct(lat, nlat, 50) / 1e3,
			       (double)bu_pct(lat, nlat, 99) / 1e3, (double)lat[nlat - 1] / 1e3);
	}
	for (int k = 0; k < CALL_KINDS; k++) {
		bu_sort_u64(b.call_us[k], b.calls[k]);
		if (b.calls[k] > 0)
			printf("%s, ms: p50 %.2f p99 %.2f (%llu calls)\n", call_name[k],
			       (double)bu_pct(b.call_us[k], b.calls[k], 50) / 1e3,
			       (double)bu_pct(b.call_us[k], b.calls[k], 99) / 1e3,
			       (unsigned long long)b.calls[k]);
	}
	if (b.first_err)
		printf("first error: %s\n", b.first_why);
	rc = b.decided == o->cases ? 0 : -1;
	if (rc != 0)
		fprintf(stderr, "onestop-case-bench: %llu of %llu cases decided\n",
			(unsigned long long)b.decided, (unsigned long long)o->cases);
done:
	net_rc = net_done(&b.n);
	pthread_cond_destroy(&b.cv);
	pthread_mutex_destroy(&b.mu);
	free(b.slots);
	free(b.queue);
	free(lat);
	for (int k = 0; k < CALL_KINDS; k++)
		free(b.call_us[k]);
	for (uint64_t i = 0; b.pre && i < o->cases; i++)
		free(b.pre[i]);
	free(b.pre);
	free(b.pre_len);
	return rc == 0 && net_rc == 0 ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: onestop-case-bench [options]\n"
		"Start a hub and spokes idp, hall and owner (real daemons, fsync on); apps at\n"
		"hall file cases (each with a fresh assertion from idp), apps at owner accept\n"
		"and decide each as it arrives, and an app at hall waits for each decision.\n"
		"Prints cases/s filed -> accepted -> decided and the file -> decided latency.\n"
		"  --cases N     cases (default 2000)\n"
		"  --filers K    filing threads at hall (default 32)\n"
		"  --workers W   threads at owner that accept and decide (default 32)\n"
		"  --rate R      offer R cases/s, each filed at its scheduled time; the latency\n"
		"                is then from that time, so it includes the assertion (default\n"
		"                0: as fast as the filers go, latency from the case_file call)\n"
		"  --kind KIND   the item's kind (default licence: each approval issues an\n"
		"                e-licence into dataset licences; e.g. registration: none)\n"
		"  --timeout S   bound on the run in seconds (default 300)\n"
		"  --keep        keep the temporary directories\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"cases", required_argument, NULL, 'n'},   {"filers", required_argument, NULL, 'f'},
		{"workers", required_argument, NULL, 'w'}, {"kind", required_argument, NULL, 'k'},
		{"timeout", required_argument, NULL, 't'}, {"rate", required_argument, NULL, 'r'},
		{"preissue", no_argument, NULL, 'P'},      {"keep", no_argument, NULL, 'K'},
		{"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
	};
	struct cb_opts o = {
		.cases = 2000, .filers = 32, .workers = 32, .timeout_s = 300, .kind = "licence"};
	unsigned long long v;
	int ch;

	while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int bad = 0;
		switch (ch) {
		case 'n':
			bad = bu_parse_uint(optarg, 1, 1000000, &v);
			o.cases = v;
			break;
		case 'f':
			bad = bu_parse_uint(optarg, 1, CB_THREADS_MAX, &v);
			o.filers = (unsigned)v;
			break;
		case 'w':
			bad = bu_parse_uint(optarg, 1, CB_THREADS_MAX, &v);
			o.workers = (unsigned)v;
			break;
		case 'k':
			o.kind = optarg;
			break;
		case 'r':
			bad = bu_parse_uint(optarg, 0, 100000, &v);
			o.rate = (unsigned)v;
			break;
		case 't':
			bad = bu_parse_uint(optarg, 1, 3600, &v);
			o.timeout_s = (unsigned)v;
			break;
		case 'K':
			o.keep = 1;
			break;
		case 'P':
			o.preissue = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			fprintf(stderr, "onestop-case-bench: value out of range: %s\n", optarg);
			usage(stderr);
			return 2;
		}
	}
	printf("onestop-case-bench: %llu cases of item %s (kind %s) filed at hall, owned by "
	       "owner; %u filing threads, %u owner threads; %s; assertions %s\n",
	       (unsigned long long)o.cases, CB_ITEM, o.kind, o.filers, o.workers,
	       o.rate ? "fixed offered rate" : "as fast as possible",
	       o.preissue ? "issued before" : "issued with each filing");
	if (o.rate)
		printf("offered rate %u cases/s\n", o.rate);
	fflush(stdout);
	return cb_run(&o) == 0 ? 0 : 1;
}
