/* Every acknowledgement leaves after the fsync that covers it, at the hub
 * and at both spokes: a kill -9 keeps the page cache, so it cannot show
 * this; a trace of the system calls can.
 *
 * The hub and both spokes run under strace (-f, every thread; -yy names
 * each descriptor's file) tracing the store's syncs (fdatasync, fsync,
 * msync), writes (pwrite64, write, ...) and socket sends, with a test-only
 * LD_PRELOAD shim (ackmark.c) that sees every frame the daemon hands to or
 * takes from ZeroMQ before CURVE encrypts it. The shim writes one marker
 * to /dev/null for each frame that carries durable data (a Push at the
 * hub, a Deliver at a spoke, a Send or Put request at a spoke's API) and
 * for each frame that acknowledges it (PushAck, DeliverAck, the Send or
 * Put success reply), with its stream and seq (or request id). A stream of
 * 300 messages a -> b and 150 b -> a in small requests then runs.
 *
 * A commit point is an LMDB commit made durable: a completed fdatasync (or
 * fsync, msync) of the store's data.mdb followed, in the same thread, by a
 * completed write of data.mdb (the meta page, which LMDB writes through an
 * O_DSYNC descriptor after syncing the data pages). The check, per daemon:
 * for every ack of seq N (request ID), a commit point lies between the
 * first receipt of N (ID) and the ack's marker. Sound: the entry for N can
 * only be written after N was first received, so the commit that covers it
 * completes after that receipt; a correct daemon acks after that commit.
 * Strong: an ack handed to ZeroMQ before its commit has no commit point
 * after the receipt whenever the data arrived in the ack's own iteration,
 * which a stream of small requests makes happen every time. (Markers and
 * commits run on the daemon's one loop thread, so the trace's order is
 * their order; the socket write of a frame follows its hand-over.) Every
 * kind of ack must be seen: PushAcks from both spokes at the hub,
 * DeliverAcks and Send replies at each spoke.
 *
 * Skipped (exit 77) only when strace is not installed or ptrace is not
 * permitted here. */
#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "harness.h"

#define SKIP 77
#define N_AB 300
#define N_BA 150
#define PER_REQ 3
#define BODY 200
#define TYPE "it.ackorder"
#define MAX_STREAMS 16
#define MIN_ACKS 5

#ifndef ONESTOP_ACKMARK_SO
#error "ONESTOP_ACKMARK_SO: the path of the shim (tests/integration/CMakeLists.txt)"
#endif

/* ------------------------------------------------------------ strace */

static int have_strace(void)
{
	const char *ver[] = {"/usr/bin/env", "strace", "-V", NULL};
	const char *run[] = {"/usr/bin/env", "strace", "-f", "-o", "/dev/null", "/bin/true", NULL};
	struct cmd_out out;
	int ok;

	if (cmd_run(ver, NULL, 0, 10000, &out) != 0 || out.code != 0) {
		cmd_out_free(&out);
		printf("SKIP: strace is not installed (deploy/install-deps.sh installs it)\n");
		return 0;
	}
	cmd_out_free(&out);
	ok = cmd_run(run, NULL, 0, 10000, &out) == 0 && out.code == 0;
	if (!ok)
		printf("SKIP: strace cannot trace here (ptrace not permitted): %s\n",
		       out.err ? out.err : "");
	cmd_out_free(&out);
	return ok;
}

/* Point the network at a directory of wrappers that run each daemon under
 * strace with the shim; the CLI is linked as it is. */
static void wrap_daemons(struct net *n)
{
	char dir[H_PATH], path[H_PATH + 32], real[H_PATH + 32];
	const char *daemons[] = {"onestop-hub", "onestop-spoke"};

	snprintf(dir, sizeof dir, "%s/traced-bin", n->dir);
	H_REQUIRE(n, mkdir(dir, 0755) == 0, "made %s", dir);
	for (int i = 0; i < 2; i++) {
		FILE *f;

		snprintf(path, sizeof path, "%s/%s", dir, daemons[i]);
		snprintf(real, sizeof real, "%s/%s", n->bin, daemons[i]);
		f = fopen(path, "w");
		H_REQUIRE(n, f != NULL, "wrote %s", path);
		/* $2 is the config file: its name names the trace. The shim
		 * and the sanitizer options go to the daemon only (-E): ASan
		 * must not insist on being loaded before the shim, and its leak
		 * checker cannot run under ptrace (the other integration tests
		 * check leaks). */
		fprintf(f,
			"#!/bin/sh\n"
			"name=$(basename \"$2\" .conf)\n"
			"exec strace -f -qq -tt -yy -s 200 \\\n"
			"  -e trace=fdatasync,fsync,msync,pwrite64,pwritev,pwritev2,write,writev,"
			"sendto,sendmsg \\\n"
			"  -E LD_PRELOAD=%s \\\n"
			"  -E ASAN_OPTIONS=\"${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0:detect_leaks=0\" "
			"\\\n"
			"  -o \"%s/$name.trace\" -- %s \"$@\"\n",
			ONESTOP_ACKMARK_SO, n->dir, real);
		H_REQUIRE(n, fclose(f) == 0 && chmod(path, 0755) == 0, "wrote %s", path);
	}
	snprintf(path, sizeof path, "%s/onestop", dir);
	snprintf(real, sizeof real, "%s/onestop", n->bin);
	H_REQUIRE(n, symlink(real, path) == 0, "linked %s", path);
	snprintf(n->bin, sizeof n->bin, "%s", dir);
}

/* The daemon strace runs: the child of strace's process. */
static pid_t traced_pid(pid_t tracer)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	pid_t found = 0;

	while (d && (de = readdir(d)) != NULL && !found) {
		char path[300], buf[512], *p;
		FILE *f;
		long ppid;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof path, "/proc/%s/stat", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		p = fgets(buf, sizeof buf, f);
		fclose(f);
		/* pid (comm) state ppid: comm may hold spaces, so after ')' */
		if (p && (p = strrchr(buf, ')')) && sscanf(p + 2, "%*c %ld", &ppid) == 1 &&
		    ppid == tracer)
			found = (pid_t)atol(de->d_name);
	}
	if (d)
		closedir(d);
	return found;
}

/* The traced daemons, killed at exit: when the test stops early, killing
 * strace alone would leave its daemon running. */
static pid_t traced[3];

static void kill_traced(void)
{
	for (int i = 0; i < 3; i++)
		if (traced[i] > 0)
			kill(traced[i], SIGKILL);
}

/* Stop a traced daemon cleanly: SIGTERM to the daemon itself (strace
 * keeps its own signals blocked), then strace ends with its exit code. */
static void stop_traced(struct net *n, struct net_proc *p)
{
	pid_t d = traced_pid(p->pid);
	uint64_t until = h_now_ms() + (uint64_t)h_ms(20000);

	H_REQUIRE(n, d > 0, "found %s's daemon under strace %d", p->name, (int)p->pid);
	p->expect_dead = 1;
	kill(d, SIGTERM);
	for (int i = 0; i < 3; i++)
		if (traced[i] == d)
			traced[i] = 0;
	while (proc_alive(p) && h_now_ms() < until)
		h_sleep_ms(20);
	H_REQUIRE(n, !proc_alive(p), "%s stopped", p->name);
	p->expect_dead = 1;
	H_CHECK(n, WIFEXITED(p->last_status) && WEXITSTATUS(p->last_status) == 0,
		"%s exited 0 (wait status %d)", p->name, p->last_status);
}

/* ------------------------------------------------------------ the check */

/* One stream of acknowledged things: (kind, routing id). Each receipt is
 * a range of seqs (a Deliver's first to last transfer; the hub's queue seqs
 * are sparse, so a range names the batch, not every seq in it) with 1 + the
 * number of commit points completed when it arrived. */
struct receipt {
	unsigned long long min, max;
	uint32_t commits;
};

struct stream {
	char kind[16];
	char rid[140];
	struct receipt *r; /* in arrival order */
	size_t n_r, cap_r;
	unsigned acks;
	unsigned late;    /* acks without a commit point since the receipt */
	unsigned unknown; /* acks of what was never received */
	char example[300];
};

struct check {
	const char *name;
	struct stream s[MAX_STREAMS];
	size_t n;
	uint32_t commits;
	unsigned lines;
};

static struct stream *stream_of(struct check *c, const char *kind, const char *rid)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->s[i].kind, kind) == 0 && strcmp(c->s[i].rid, rid) == 0)
			return &c->s[i];
	if (c->n == MAX_STREAMS)
		return NULL;
	struct stream *s = &c->s[c->n++];
	snprintf(s->kind, sizeof s->kind, "%s", kind);
	snprintf(s->rid, sizeof s->rid, "%s", rid);
	return s;
}

/* A per-thread view of the sync-then-meta-write sequence. */
#define MAX_TIDS 64
struct tid_state {
	long tid;
	int synced;       /* a sync of data.mdb completed, its meta write not yet */
	char pending[32]; /* the unfinished call's name */
	int pending_store;
};

static struct tid_state *tid_of(struct tid_state *t, long tid)
{
	for (int i = 0; i < MAX_TIDS; i++)
		if (t[i].tid == tid)
			return &t[i];
	for (int i = 0; i < MAX_TIDS; i++)
		if (t[i].tid == 0) {
			t[i].tid = tid;
			return &t[i];
		}
	return &t[0];
}

static int is_sync(const char *call)
{
	return !strcmp(call, "fdatasync") || !strcmp(call, "fsync") || !strcmp(call, "msync");
}

static int is_write(const char *call)
{
	return !strncmp(call, "pwrite", 6) || !strcmp(call, "write") || !strcmp(call, "writev");
}

/* A call completed in thread t: advance the commit count. */
static void completed(struct check *c, struct tid_state *t, const char *call, int on_store, int ok)
{
	if (!on_store || !ok)
		return;
	if (is_sync(call))
		t->synced = 1;
	else if (is_write(call) && t->synced) {
		t->synced = 0;
		c->commits++;
	}
}

static void marker(struct check *c, const char *m, const char *line)
{
	char way, kind[16], rid[140];
	unsigned long long a, b = 0;
	struct stream *s;
	int k = sscanf(m, "ACKMARK %c %15s %139s %llu %llu", &way, kind, rid, &a, &b);

	if (k < 4 || !(s = stream_of(c, kind, rid)))
		return;
	if (way == 'R') {
		if (k < 5)
			b = a;
		if (s->n_r == s->cap_r) {
			size_t cap = s->cap_r ? 2 * s->cap_r : 256;
			struct receipt *r = realloc(s->r, cap * sizeof *r);
			if (!r)
				return;
			s->r = r;
			s->cap_r = cap;
		}
		s->r[s->n_r++] = (struct receipt){a, b, c->commits + 1};
		return;
	}
	s->acks++;
	/* The first receipt of a: the commit that covers it comes after. */
	const struct receipt *first = NULL;
	for (size_t i = 0; i < s->n_r && !first; i++)
		if (s->r[i].min <= a && a <= s->r[i].max)
			first = &s->r[i];
	if (!first) {
		s->unknown++;
		return;
	}
	if (c->commits + 1 <= first->commits) {
		if (!s->late)
			snprintf(s->example, sizeof s->example, "%.*s", (int)strcspn(line, "\n"),
				 line);
		s->late++;
	}
}

/* Parse one strace -f line: "TID HH:MM:SS.us call(args) = ret", or its
 * "<unfinished ...>" and "<... call resumed>" halves. */
static void trace_line(struct check *c, struct tid_state *tids, char *line)
{
	long tid;
	char call[32];
	char *p, *m;
	int n = 0;

	c->lines++;
	if (sscanf(line, "%ld %*s %n", &tid, &n) != 1 || n == 0)
		return;
	p = line + n;
	struct tid_state *t = tid_of(tids, tid);
	if ((m = strstr(p, "\"ACKMARK ")))
		marker(c, m + 1, line);
	if (!strncmp(p, "<... ", 5)) {
		if (sscanf(p + 5, "%31[a-z0-9_]", call) != 1 || strcmp(call, t->pending) != 0)
			return;
		completed(c, t, call, t->pending_store,
			  strstr(p, ") = -1") == NULL && strstr(p, "= ") != NULL);
		t->pending[0] = '\0';
		return;
	}
	if (sscanf(p, "%31[a-z0-9_]", call) != 1)
		return;
	/* The first argument names the descriptor's file (-yy); msync's is
	 * an address: only LMDB maps a file that it syncs. */
	char *arg = strchr(p, '(');
	size_t arg_len = arg ? strcspn(arg, ",)") : 0;
	char first[H_PATH];
	snprintf(first, sizeof first, "%.*s", (int)(arg_len < sizeof first ? arg_len : 0),
		 arg ? arg : "");
	int on_store = !strcmp(call, "msync") || strstr(first, "data.mdb>") != NULL;
	if (strstr(p, "<unfinished ...>")) {
		snprintf(t->pending, sizeof t->pending, "%s", call);
		t->pending_store = on_store;
		return;
	}
	completed(c, t, call, on_store, strstr(p, ") = -1") == NULL && strstr(p, "= ") != NULL);
}

/* Read the daemon's trace and check it; returns the number of violations. */
static unsigned check_trace(struct net *n, struct check *c, const char *file)
{
	static struct tid_state tids[MAX_TIDS];
	char *line = NULL;
	size_t cap = 0;
	FILE *f = fopen(file, "r");
	unsigned bad = 0;

	memset(tids, 0, sizeof tids);
	H_REQUIRE(n, f != NULL, "read the trace %s", file);
	while (getline(&line, &cap, f) > 0)
		trace_line(c, tids, line);
	free(line);
	fclose(f);
	printf("  %s: %u trace lines, %u commit points\n", c->name, c->lines, c->commits);
	for (size_t i = 0; i < c->n; i++) {
		struct stream *s = &c->s[i];

		if (!s->acks)
			continue;
		printf("  %s: %u %s acks (stream %s), %u before their commit, %u of nothing "
		       "received\n",
		       c->name, s->acks, s->kind, s->rid, s->late, s->unknown);
		H_CHECK(n, s->late == 0,
			"%s: every %s ack follows the commit of what it acks "
			"(%u do not; first: %s)",
			c->name, s->kind, s->late, s->example);
		H_CHECK(n, s->unknown == 0, "%s: every %s ack names something received (%u do not)",
			c->name, s->kind, s->unknown);
		bad += s->late + s->unknown;
	}
	return bad;
}

static unsigned acks_of(const struct check *c, const char *kind, unsigned *streams)
{
	unsigned total = 0;

	*streams = 0;
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->s[i].kind, kind) && c->s[i].acks >= MIN_ACKS) {
			total += c->s[i].acks;
			(*streams)++;
		}
	return total;
}

static void check_free(struct check *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->s[i].r);
}

/* ------------------------------------------------------------ the stream */

static void stream(struct net *n, struct net_proc *from, struct net_proc *to, uint32_t id,
		   size_t count)
{
	onestop_t *cs = NULL, *cr = NULL;
	struct msgs_rx rx;

	H_REQUIRE(n, net_connect(from, 0, &cs) == 0, "connected to %s", from->name);
	H_REQUIRE(n, msgs_send(cs, to->name, TYPE, id, 1, count, PER_REQ, BODY, 0, NULL) == 0,
		  "%s accepted %zu messages to %s", from->name, count, to->name);
	memset(&rx, 0, sizeof rx);
	rx.stream = id;
	rx.first = 1;
	rx.count = count;
	rx.batch = 7; /* many small deliveries and acks */
	H_CHECK(n, msgs_recv(to, &cr, &rx, h_ms(120000)) == 0, "%s received all %zu (%s)", to->name,
		count, rx.problem);
	msgs_rx_clear(&rx);
	onestop_close(&cs);
	onestop_close(&cr);
}

int main(void)
{
	struct check hub = {.name = "hub"}, sa = {.name = "spoke a"}, sb = {.name = "spoke b"};
	struct net *n;
	struct net_proc *a, *b;
	char file[H_PATH + 32];
	unsigned streams, total;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (!have_strace())
		return SKIP;
	n = net_make(2, NULL);
	wrap_daemons(n);
	net_start_all(n);
	a = net_spoke(n, "a");
	b = net_spoke(n, "b");
	H_REQUIRE(n, a && b, "spokes a and b");
	traced[0] = traced_pid(n->hub.pid);
	traced[1] = traced_pid(a->pid);
	traced[2] = traced_pid(b->pid);
	atexit(kill_traced);

	stream(n, a, b, 1, N_AB);
	stream(n, b, a, 2, N_BA);

	stop_traced(n, a);
	stop_traced(n, b);
	stop_traced(n, &n->hub);

	snprintf(file, sizeof file, "%s/hub.trace", n->dir);
	check_trace(n, &hub, file);
	snprintf(file, sizeof file, "%s/spoke-a.trace", n->dir);
	check_trace(n, &sa, file);
	snprintf(file, sizeof file, "%s/spoke-b.trace", n->dir);
	check_trace(n, &sb, file);

	/* Nothing passes for want of acks to check. */
	total = acks_of(&hub, "push", &streams);
	H_CHECK(n, streams == 2, "the hub acked pushes of both spokes (%u streams, %u acks)",
		streams, total);
	total = acks_of(&sa, "api", &streams);
	H_CHECK(n, total >= N_AB / PER_REQ, "spoke a replied to every Send (%u)", total);
	total = acks_of(&sb, "api", &streams);
	H_CHECK(n, total >= N_BA / PER_REQ, "spoke b replied to every Send (%u)", total);
	total = acks_of(&sa, "deliver", &streams);
	H_CHECK(n, streams == 1, "spoke a acked deliveries (%u acks)", total);
	total = acks_of(&sb, "deliver", &streams);
	H_CHECK(n, streams == 1, "spoke b acked deliveries (%u acks)", total);
	H_CHECK(n, hub.commits > 0 && sa.commits > 0 && sb.commits > 0,
		"commit points seen (hub %u, a %u, b %u)", hub.commits, sa.commits, sb.commits);

	check_free(&hub);
	check_free(&sa);
	check_free(&sb);
	return net_done(&n);
}
