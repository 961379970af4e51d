/* Integration test harness, processes: start, stop, kill and watch the
 * daemons of a test network, wait until they are ready, read a spoke's
 * status, and tear the network down. */
#include "harness.h"
#include "harness_int.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define H_DUMP_LINES 80

extern char **environ;

int proc_alive(struct net_proc *p)
{
	int status = 0;
	pid_t w;

	if (p->pid <= 0)
		return 0;
	w = waitpid(p->pid, &status, WNOHANG);
	if (w == 0)
		return 1;
	if (w == p->pid) {
		p->last_status = status;
		p->pid = 0;
		if (!p->expect_dead) {
			fprintf(stderr, "  note: %s exited by itself (%s %d)\n", p->name,
				WIFSIGNALED(status) ? "signal" : "status",
				WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		}
	}
	return 0;
}

int proc_start(struct net *n, struct net_proc *p)
{
	char bin[H_PATH + 32], mark[256];
	char *argv[4 + 8];
	time_t now = time(NULL);
	int fd;
	pid_t pid;

	if (proc_alive(p)) {
		fprintf(stderr, "  %s already running\n", p->name);
		return -1;
	}
	snprintf(bin, sizeof bin, "%s/%s", n->bin,
		 p->exe      ? p->exe
		 : p->is_hub ? "onestop-hub"
			     : "onestop-spoke");
	snprintf(mark, sizeof mark, "=== harness: start %d of %s at %s", p->starts + 1, p->name,
		 ctime(&now));
	append_text(p->log, mark, strlen(mark));
	p->log_mark = file_size(p->log);
	fd = open(p->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	argv[0] = bin;
	argv[1] = "-c";
	argv[2] = p->conf;
	for (int i = 0; i < 8; i++) {
		argv[3 + i] = (char *)p->args[i];
		if (!p->args[i])
			break;
	}
	argv[3 + 8] = NULL;
	/* The environment with p->env added, built before fork. */
	size_t n_env = 0, k = 0;
	while (environ[n_env])
		n_env++;
	char **envp = calloc(n_env + 4 + 1, sizeof *envp);
	if (!envp) {
		close(fd);
		return -1;
	}
	for (int i = 0; i < 4 && p->env[i]; i++)
		envp[k++] = (char *)p->env[i];
	for (size_t i = 0; i < n_env; i++)
		envp[k++] = environ[i];
	pid = fork();
	if (pid < 0) {
		free(envp);
		close(fd);
		return -1;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul >= 0)
			dup2(nul, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		child_prepare();
		execve(bin, argv, envp);
		_exit(127);
	}
	free(envp);
	close(fd);
	p->pid = pid;
	p->starts++;
	p->expect_dead = 0;
	p->last_status = -1;
	return 0;
}

static int status_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

int proc_stop(struct net *n, struct net_proc *p, int timeout_ms)
{
	uint64_t deadline;

	(void)n;
	if (!proc_alive(p))
		return p->last_status >= 0 ? status_code(p->last_status) : -1;
	p->expect_dead = 1;
	if (timeout_ms <= 0)
		timeout_ms = h_ms(20000);
	deadline = h_now_ms() + (uint64_t)timeout_ms;
	kill(p->pid, SIGTERM);
	while (h_now_ms() < deadline) {
		if (!proc_alive(p))
			return status_code(p->last_status);
		h_sleep_ms(10);
	}
	fprintf(stderr, "  %s did not stop within %d ms of SIGTERM; killing it\n", p->name,
		timeout_ms);
	proc_kill(n, p);
	return -1;
}

/* Wait for pid to exit; its wait status, or -1. */
static int reap(pid_t pid)
{
	int status = 0;

	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

void proc_kill(struct net *n, struct net_proc *p)
{
	const char *m = "=== harness: killed with SIGKILL\n";

	(void)n;
	if (p->pid <= 0)
		return;
	p->expect_dead = 1;
	kill(p->pid, SIGKILL);
	p->last_status = reap(p->pid);
	p->pid = 0;
	append_text(p->log, m, strlen(m));
}

int proc_signal(struct net_proc *p, int sig)
{
	if (!proc_alive(p))
		return -1;
	return kill(p->pid, sig);
}

int proc_wait_log(struct net_proc *p, const char *substr, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	long off = p->log_mark;

	for (;;) {
		size_t len;
		char *buf = read_from(p->log, off, &len);
		int alive = proc_alive(p);

		if (buf) {
			char *last_nl = strrchr(buf, '\n');

			if (last_nl) {
				*last_nl = '\0';
				if (strstr(buf, substr)) {
					free(buf);
					return 0;
				}
				off += (long)(last_nl - buf) + 1;
			}
			free(buf);
		}
		if (!alive) {
			/* a last look at whatever it wrote before exiting */
			buf = read_from(p->log, off, &len);
			if (buf && strstr(buf, substr)) {
				free(buf);
				return 0;
			}
			free(buf);
			return -2;
		}
		if (h_now_ms() >= deadline)
			return -1;
		h_sleep_ms(20);
	}
}

int proc_log_count(struct net_proc *p, const char *substr, int since_start)
{
	size_t len;
	char *buf = read_from(p->log, since_start ? p->log_mark : 0, &len);
	int count = 0;

	if (!buf)
		return 0;
	for (char *line = buf; line && *line;) {
		char *nl = strchr(line, '\n');

		if (nl)
			*nl = '\0';
		if (strstr(line, substr))
			count++;
		line = nl ? nl + 1 : NULL;
	}
	free(buf);
	return count;
}

int net_hub_ready(struct net *n, int timeout_ms)
{
	int rc = proc_wait_log(&n->hub, "event=hub_ready", timeout_ms);

	if (rc != 0)
		fprintf(stderr, "  hub not ready: %s\n",
			rc == -2 ? "it exited" : "no hub_ready line in time");
	return rc == 0 ? 0 : -1;
}

int net_connect(struct net_proc *p, int timeout_ms, onestop_t **c)
{
	return onestop_connect(p->api, timeout_ms > 0 ? timeout_ms : h_ms(10000), c);
}

int net_status(struct net_proc *p, onestop_status_t *st)
{
	onestop_t *c = NULL;
	int rc = net_connect(p, h_ms(3000), &c);

	if (rc == 0)
		rc = onestop_status(c, st);
	onestop_close(&c);
	return rc;
}

int net_wait_status(struct net_proc *p, int (*pred)(const onestop_status_t *st, const void *arg),
		    const void *arg, int timeout_ms, onestop_status_t *last)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	onestop_status_t st;

	for (;;) {
		int rc;

		memset(&st, 0, sizeof st);
		rc = net_status(p, &st);
		if (last)
			*last = st;
		if (rc == 0 && pred(&st, arg))
			return 0;
		if (h_now_ms() >= deadline)
			return -1;
		h_sleep_ms(50);
	}
}

int st_outbox_is(const onestop_status_t *st, const void *arg)
{
	return st->outbox == *(const uint64_t *)arg;
}

int st_inbox_is(const onestop_status_t *st, const void *arg)
{
	return st->inbox == *(const uint64_t *)arg;
}

int st_registry_above(const onestop_status_t *st, const void *arg)
{
	return st->registry_version > *(const uint64_t *)arg;
}

int net_spoke_ready(struct net *n, struct net_proc *p, int need_hub, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	onestop_status_t st;
	int rc, last = 0;

	(void)n;
	rc = proc_wait_log(p, "event=spoke_ready", timeout_ms);
	if (rc != 0) {
		fprintf(stderr, "  %s not ready: %s\n", p->name,
			rc == -2 ? "it exited" : "no spoke_ready line in time");
		return -1;
	}
	while (h_now_ms() < deadline) {
		memset(&st, 0, sizeof st);
		last = net_status(p, &st);
		if (last == 0 && (!need_hub || st.hub_connected))
			return 0;
		if (!proc_alive(p)) {
			fprintf(stderr, "  %s exited while waiting for it\n", p->name);
			return -1;
		}
		h_sleep_ms(50);
	}
	fprintf(stderr, "  %s not ready in %d ms: status rc=%d (%s) hub_connected=%d\n", p->name,
		timeout_ms, last, onestop_strerror(last), st.hub_connected);
	return -1;
}

void net_up(struct net *n, struct net_proc *p, int need_hub)
{
	H_REQUIRE(n, proc_start(n, p) == 0, "started %s", p->name);
	if (p->is_hub)
		H_REQUIRE(n, net_hub_ready(n, h_ms(30000)) == 0, "hub ready");
	else
		H_REQUIRE(n, net_spoke_ready(n, p, need_hub, h_ms(30000)) == 0, "spoke %s ready%s",
			  p->name, need_hub ? " and hub_connected" : "");
}

void net_start_all(struct net *n)
{
	net_up(n, &n->hub, 1);
	for (size_t i = 0; i < n->n_spokes; i++) {
		if (n->spoke[i].foreign_key || strcmp(n->spoke[i].status, "active") != 0)
			continue;
		H_REQUIRE(n, proc_start(n, &n->spoke[i]) == 0, "started %s", n->spoke[i].name);
	}
	for (size_t i = 0; i < n->n_spokes; i++) {
		if (n->spoke[i].pid <= 0)
			continue;
		H_REQUIRE(n, net_spoke_ready(n, &n->spoke[i], 1, h_ms(30000)) == 0,
			  "spoke %s ready and hub_connected", n->spoke[i].name);
	}
}

int net_hub_digest(struct net *n, const char *dataset, struct net_digest *out)
{
	char prog[H_PATH + 32], logpath[H_PATH + 16], want[160], line[H_PATH + 256];
	const char *argv[] = {prog, "-c", n->hub.conf, "--dataset-digest", dataset, NULL};
	struct cmd_out r;
	const char *s;
	unsigned long long seq, count;
	char hex[65];
	int rc = -1;

	memset(out, 0, sizeof *out);
	snprintf(prog, sizeof prog, "%s/onestop-hub", n->bin);
	if (cmd_run(argv, NULL, 0, h_ms(60000), &r) != 0) {
		cmd_out_free(&r);
		return -1;
	}
	snprintf(logpath, sizeof logpath, "%s/cli.log", n->dir);
	snprintf(line, sizeof line, "$ onestop-hub -c %s --dataset-digest %s\n[exit %d]\n",
		 n->hub.conf, dataset, r.code);
	append_text(logpath, line, strlen(line));
	append_text(logpath, r.out, r.out_len < 4096 ? r.out_len : 4096);
	append_text(logpath, r.err, r.err_len < 4096 ? r.err_len : 4096);
	snprintf(want, sizeof want, "dataset=%s seq=", dataset);
	s = strstr(r.out, want);
	if (r.code == 0 && s &&
	    sscanf(s, "dataset=%*s seq=%llu count=%llu digest=%64[0-9a-fA-F]", &seq, &count, hex) ==
		    3 &&
	    strlen(hex) == 64) {
		out->seq = seq;
		out->count = count;
		for (int i = 0; i < 64; i++)
			out->digest[i] =
				(char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 : hex[i]);
		out->digest[64] = '\0';
		rc = 0;
	} else {
		fprintf(stderr,
			"  onestop-hub --dataset-digest %s: exit %d, stdout: %.200s "
			"stderr: %.300s\n",
			dataset, r.code, r.out, r.err);
	}
	cmd_out_free(&r);
	return rc;
}

void net_dump_logs(struct net *n)
{
	struct net_proc *all[NET_MAX_SPOKES + 1];
	size_t k = 0;
	char cli[H_PATH + 16];

	all[k++] = &n->hub;
	for (size_t i = 0; i < n->n_spokes; i++)
		all[k++] = &n->spoke[i];
	for (size_t i = 0; i < k; i++) {
		size_t len;
		char *buf = read_from(all[i]->log, 0, &len);
		char *start;
		int lines = 0;

		if (!buf)
			continue;
		start = buf + len;
		while (start > buf) {
			start--;
			if (*start == '\n' && start + 1 < buf + len && ++lines > H_DUMP_LINES) {
				start++;
				break;
			}
		}
		fprintf(stderr, "---- %s (last %d lines; running=%d) ----\n%s", all[i]->log,
			H_DUMP_LINES, all[i]->pid > 0, start);
		if (len && buf[len - 1] != '\n')
			fputc('\n', stderr);
		free(buf);
	}
	snprintf(cli, sizeof cli, "%s/cli.log", n->dir);
	fprintf(stderr, "---- CLI transcript: %s ----\n", cli);
}

int net_done(struct net **np)
{
	struct net *n = *np;
	struct net_proc *all[NET_MAX_SPOKES + 1];
	size_t k = 0;
	int rc;

	if (!n)
		return 1;
	all[k++] = &n->hub;
	for (size_t i = 0; i < n->n_spokes; i++)
		all[k++] = &n->spoke[i];
	/* Spokes first, so the hub is still there while they stop. */
	for (size_t i = k; i-- > 0;) {
		struct net_proc *p = all[i];

		if (p->starts == 0)
			continue;
		if (!proc_alive(p)) {
			if (!p->expect_dead)
				h_check(n, 0, __FILE__, __LINE__, "daemon alive",
					"%s died unexpectedly (exit %d)", p->name,
					status_code(p->last_status));
			continue;
		}
		rc = proc_stop(n, p, h_ms(20000));
		h_check(n, rc == 0, __FILE__, __LINE__, "exit == 0",
			"%s stopped cleanly on SIGTERM (exit %d)", p->name, rc);
	}
	if (n->failures) {
		net_dump_logs(n);
		fprintf(stderr, "RESULT: FAIL (%d of %d checks failed); logs and data kept in %s\n",
			n->failures, n->checks, n->dir);
	} else {
		fprintf(stderr, "RESULT: PASS (%d checks)\n", n->checks);
		if (!n->keep && !getenv("ONESTOP_IT_KEEP"))
			rm_tree(n->dir);
		else
			fprintf(stderr, "directory kept: %s\n", n->dir);
	}
	rc = n->failures ? 1 : 0;
	net_unregister(n);
	free(n);
	*np = NULL;
	return rc;
}
