/* Integration test harness, commands: run a program with input and
 * captured output under a deadline, and the onestop CLI of a test network
 * with its transcript in <dir>/cli.log. */
#include "harness.h"
#include "harness_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

void child_prepare(void)
{
	/* Only async-signal-safe calls between fork and exec. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGPIPE, SIG_DFL);
	for (int fd = 3; fd < 1024; fd++)
		close(fd);
}

static int grow_append(char **buf, size_t *len, size_t *cap, const char *data, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t nc = (*cap ? *cap * 2 : 4096);
		char *nb;

		while (nc < *len + n + 1)
			nc *= 2;
		nb = realloc(*buf, nc);
		if (!nb)
			return -1;
		*buf = nb;
		*cap = nc;
	}
	memcpy(*buf + *len, data, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

int cmd_run(const char *const *argv, const void *stdin_data, size_t stdin_len, int timeout_ms,
	    struct cmd_out *res)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, pi[2] = {-1, -1};
	size_t out_cap = 0, err_cap = 0, in_off = 0;
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	int status = 0, exited = 0, rc = -1;
	pid_t pid;

	signal(SIGPIPE, SIG_IGN);
	memset(res, 0, sizeof *res);
	res->code = -1;
	if (pipe(po) || pipe(pe) || pipe(pi))
		goto out;
	for (int i = 0; i < 2; i++) {
		fcntl(po[i], F_SETFD, FD_CLOEXEC);
		fcntl(pe[i], F_SETFD, FD_CLOEXEC);
		fcntl(pi[i], F_SETFD, FD_CLOEXEC);
	}
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		dup2(pi[0], 0);
		dup2(po[1], 1);
		dup2(pe[1], 2);
		child_prepare();
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	close(pi[0]);
	po[1] = pe[1] = pi[0] = -1;
	fcntl(pi[1], F_SETFL, O_NONBLOCK);
	if (!stdin_data || stdin_len == 0) {
		close(pi[1]);
		pi[1] = -1;
	}
	for (;;) {
		struct pollfd pf[3];
		int np = 0;
		char buf[8192];
		int64_t left = (int64_t)deadline - (int64_t)h_now_ms();

		if (left <= 0)
			break;
		if (po[0] >= 0)
			pf[np++] = (struct pollfd){.fd = po[0], .events = POLLIN};
		if (pe[0] >= 0)
			pf[np++] = (struct pollfd){.fd = pe[0], .events = POLLIN};
		if (pi[1] >= 0)
			pf[np++] = (struct pollfd){.fd = pi[1], .events = POLLOUT};
		if (np == 0) {
			pid_t w = waitpid(pid, &status, WNOHANG);

			if (w == pid) {
				exited = 1;
				break;
			}
			h_sleep_ms(5);
			continue;
		}
		if (poll(pf, (nfds_t)np, (int)(left > 100 ? 100 : left)) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < np; i++) {
			if (!pf[i].revents)
				continue;
			if (pf[i].fd == pi[1]) {
				ssize_t w = write(pi[1], (const char *)stdin_data + in_off,
						  stdin_len - in_off);

				if (w > 0)
					in_off += (size_t)w;
				if (w < 0 && errno != EAGAIN) {
					close(pi[1]);
					pi[1] = -1;
				} else if (in_off >= stdin_len) {
					close(pi[1]);
					pi[1] = -1;
				}
				continue;
			}
			ssize_t r = read(pf[i].fd, buf, sizeof buf);

			if (r > 0) {
				if (pf[i].fd == po[0])
					grow_append(&res->out, &res->out_len, &out_cap, buf,
						    (size_t)r);
				else
					grow_append(&res->err, &res->err_len, &err_cap, buf,
						    (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				if (pf[i].fd == po[0]) {
					close(po[0]);
					po[0] = -1;
				} else {
					close(pe[0]);
					pe[0] = -1;
				}
			}
		}
	}
	if (!exited) {
		if (waitpid(pid, &status, WNOHANG) == pid) {
			exited = 1;
		} else {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "  note: %s did not finish within %d ms; killed\n", argv[0],
				timeout_ms);
		}
	}
	if (exited) {
		res->code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		rc = 0;
	}
out:
	if (!res->out)
		grow_append(&res->out, &res->out_len, &out_cap, "", 0);
	if (!res->err)
		grow_append(&res->err, &res->err_len, &err_cap, "", 0);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
		if (pi[i] >= 0)
			close(pi[i]);
	}
	return rc;
}

void cmd_out_free(struct cmd_out *res)
{
	if (!res)
		return;
	free(res->out);
	free(res->err);
	res->out = res->err = NULL;
	res->out_len = res->err_len = 0;
}

static int net_cli_va(struct net *n, struct cmd_out *res, const void *in, size_t in_len,
		      const char *arg, va_list ap)
{
	const char *argv[CLI_MAX_ARGS + 2];
	char prog[H_PATH + 32], logpath[H_PATH + 16], line[4096];
	struct cmd_out local;
	size_t k = 0, off = 0;
	int rc;

	snprintf(prog, sizeof prog, "%s/onestop", n->bin);
	argv[k++] = prog;
	for (const char *a = arg; a && k < CLI_MAX_ARGS; a = va_arg(ap, const char *))
		argv[k++] = a;
	argv[k] = NULL;
	if (!res)
		res = &local;
	rc = cmd_run(argv, in, in_len, h_ms(60000), res);
	/* record the command and its output in <dir>/cli.log */
	off += (size_t)snprintf(line + off, sizeof line - off, "$ onestop");
	for (size_t i = 1; i < k && off < sizeof line - 1; i++)
		off += (size_t)snprintf(line + off, sizeof line - off, " %s", argv[i]);
	if (off > sizeof line - 1)
		off = sizeof line - 1;
	snprintf(logpath, sizeof logpath, "%s/cli.log", n->dir);
	append_text(logpath, line, off);
	snprintf(line, sizeof line, "\n[exit %d]\n", rc == 0 ? res->code : -1);
	append_text(logpath, line, strlen(line));
	if (res->out_len < 4096)
		append_text(logpath, res->out, res->out_len);
	append_text(logpath, res->err, res->err_len);
	rc = rc == 0 ? res->code : -1;
	if (res == &local)
		cmd_out_free(&local);
	return rc;
}

int net_cli(struct net *n, struct cmd_out *res, const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = net_cli_va(n, res, NULL, 0, arg, ap);
	va_end(ap);
	return rc;
}

int net_cli_in(struct net *n, struct cmd_out *res, const void *in, size_t in_len, const char *arg,
	       ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = net_cli_va(n, res, in, in_len, arg, ap);
	va_end(ap);
	return rc;
}
