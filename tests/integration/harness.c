/* Integration test harness: temporary networks made with the real CLI, the
 * real daemons as child processes, numbered message streams through
 * libonestop, and a raw CURVE link client for attack tests. */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "crypto.h"
#include "err.h"
#include "registry.h"
#include "util.h"

#ifndef ONESTOP_BIN_DIR
#define ONESTOP_BIN_DIR "."
#endif

#if defined(__SANITIZE_ADDRESS__)
#define H_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define H_SANITIZED 1
#endif
#endif
#ifndef H_SANITIZED
#define H_SANITIZED 0
#endif

#define H_MAX_NETS 4
#define H_DUMP_LINES 80

static struct net *g_nets[H_MAX_NETS];
static int g_atexit_done;

/* ============================================================ basics */

uint64_t h_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void h_sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000u, .tv_nsec = (long)(ms % 1000u) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

int h_ms(int ms)
{
	static int scale;

	if (!scale) {
		const char *s = getenv("ONESTOP_IT_SLOW");

		scale = H_SANITIZED ? 3 : 1;
		if (s && atoi(s) >= 1 && atoi(s) <= 100)
			scale = atoi(s);
	}
	return ms * scale;
}

const char *h_idhex(const uint8_t id[16])
{
	static char buf[4][33];
	static int k;
	char *b = buf[k++ & 3];

	os_hex(b, id, 16);
	return b;
}

static void kill_all_children(void)
{
	for (int i = 0; i < H_MAX_NETS; i++) {
		struct net *n = g_nets[i];

		if (!n)
			continue;
		if (n->hub.pid > 0)
			kill(n->hub.pid, SIGKILL);
		for (size_t j = 0; j < n->n_spokes; j++)
			if (n->spoke[j].pid > 0)
				kill(n->spoke[j].pid, SIGKILL);
	}
}

static void at_exit_cleanup(void)
{
	kill_all_children();
}

static void net_register(struct net *n)
{
	if (!g_atexit_done) {
		atexit(at_exit_cleanup);
		g_atexit_done = 1;
	}
	for (int i = 0; i < H_MAX_NETS; i++) {
		if (!g_nets[i]) {
			g_nets[i] = n;
			return;
		}
	}
}

static void net_unregister(struct net *n)
{
	for (int i = 0; i < H_MAX_NETS; i++)
		if (g_nets[i] == n)
			g_nets[i] = NULL;
}

int h_check(struct net *n, int ok, const char *file, int line, const char *expr,
	    const char *fmt, ...)
{
	va_list ap;

	if (n)
		n->checks++;
	fprintf(stderr, ok ? "  ok   " : "  FAIL %s:%d: ", file, line);
	if (ok) {
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		return 1;
	}
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n         (check: %s)%s%s\n", expr, n ? " logs: " : "",
		n ? n->dir : "");
	if (n)
		n->failures++;
	return 0;
}

void h_abort(struct net *n)
{
	fprintf(stderr, "ABORT: fatal check failed\n");
	if (n) {
		proc_alive(&n->hub);
		for (size_t i = 0; i < n->n_spokes; i++)
			proc_alive(&n->spoke[i]);
		net_dump_logs(n);
	}
	kill_all_children();
	if (n)
		fprintf(stderr, "logs and data kept in %s\n", n->dir);
	exit(1);
}

/* ============================================================ files */

static long file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	return (long)st.st_size;
}

/* Read path from offset to the end into a malloc'd NUL-terminated buffer. */
static char *read_from(const char *path, long off, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long end;
	size_t got;

	*len = 0;
	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (end = ftell(f)) < 0)
		goto out;
	if (off > end)
		off = end;
	if (fseek(f, off, SEEK_SET) != 0)
		goto out;
	buf = malloc((size_t)(end - off) + 1);
	if (!buf)
		goto out;
	got = fread(buf, 1, (size_t)(end - off), f);
	buf[got] = '\0';
	*len = got;
out:
	fclose(f);
	return buf;
}

static void append_text(const char *path, const char *text, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	while (len > 0) {
		ssize_t w = write(fd, text, len);

		if (w <= 0)
			break;
		text += w;
		len -= (size_t)w;
	}
	close(fd);
}

/* Remove a directory tree (only under /tmp), not following links. */
static void rm_tree(const char *dir)
{
	DIR *d;
	struct dirent *de;

	if (strncmp(dir, "/tmp/", 5) != 0)
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[H_PATH * 2];
		struct stat st;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int free_port(void)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* ============================================================ commands */

static void child_prepare(void)
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

int cmd_run(const char *const *argv, const void *stdin_data, size_t stdin_len,
	    int timeout_ms, struct cmd_out *res)
{
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, pi[2] = { -1, -1 };
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
			pf[np++] = (struct pollfd){ .fd = po[0], .events = POLLIN };
		if (pe[0] >= 0)
			pf[np++] = (struct pollfd){ .fd = pe[0], .events = POLLIN };
		if (pi[1] >= 0)
			pf[np++] = (struct pollfd){ .fd = pi[1], .events = POLLOUT };
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
					grow_append(&res->out, &res->out_len, &out_cap, buf, (size_t)r);
				else
					grow_append(&res->err, &res->err_len, &err_cap, buf, (size_t)r);
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
			fprintf(stderr, "  note: %s did not finish within %d ms; killed\n",
				argv[0], timeout_ms);
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

#define CLI_MAX_ARGS 64

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

int net_cli_in(struct net *n, struct cmd_out *res, const void *in, size_t in_len,
	       const char *arg, ...)
{
	va_list ap;
	int rc;

	va_start(ap, arg);
	rc = net_cli_va(n, res, in, in_len, arg, ap);
	va_end(ap);
	return rc;
}

/* ============================================================ network */

/* Run `onestop keygen --out path`; anchor (may be NULL) gets sign_public. */
static int keygen(struct net *n, const char *path, char *sign_pub_hex)
{
	struct cmd_out r;
	int rc = net_cli(n, &r, "keygen", "--out", path, NULL);
	const char *s;

	if (rc != 0) {
		fprintf(stderr, "  onestop keygen --out %s: exit %d: %s\n", path, rc, r.err);
		cmd_out_free(&r);
		return -1;
	}
	if (sign_pub_hex) {
		s = strstr(r.out, "sign_public=");
		if (!s || strspn(s + 12, "0123456789abcdefABCDEF") < 64) {
			fprintf(stderr, "  keygen printed no sign_public=HEX: %s\n", r.out);
			cmd_out_free(&r);
			return -1;
		}
		memcpy(sign_pub_hex, s + 12, 64);
		sign_pub_hex[64] = '\0';
	}
	cmd_out_free(&r);
	return 0;
}

int net_registry_add(struct net *n, struct net_proc *p, const struct net_node_opts *o)
{
	const char *argv[CLI_MAX_ARGS + 2];
	char prog[H_PATH + 32], pub[H_PATH + 8];
	struct cmd_out r;
	size_t k = 0;
	int rc;

	snprintf(prog, sizeof prog, "%s/onestop", n->bin);
	snprintf(pub, sizeof pub, "%s.pub", p->reg_key);
	argv[k++] = prog;
	argv[k++] = "registry";
	argv[k++] = "add";
	argv[k++] = "--root-key";
	argv[k++] = n->root_key;
	argv[k++] = "--registry";
	argv[k++] = n->registry;
	argv[k++] = "--name";
	argv[k++] = p->name;
	argv[k++] = "--pub";
	argv[k++] = pub;
	for (int i = 0; o && i < NET_MAX_LIST; i++) {
		if (o->roles[i]) {
			argv[k++] = "--role";
			argv[k++] = o->roles[i];
		}
		if (o->topics[i]) {
			argv[k++] = "--topic";
			argv[k++] = o->topics[i];
		}
		if (o->allow_types[i]) {
			argv[k++] = "--allow-type";
			argv[k++] = o->allow_types[i];
		}
		if (o->publish[i]) {
			argv[k++] = "--publish";
			argv[k++] = o->publish[i];
		}
	}
	argv[k] = NULL;
	rc = cmd_run(argv, NULL, 0, h_ms(60000), &r);
	{
		char logpath[H_PATH + 16], line[512];

		snprintf(logpath, sizeof logpath, "%s/cli.log", n->dir);
		snprintf(line, sizeof line, "$ onestop registry add --name %s (exit %d)\n",
			 p->name, rc == 0 ? r.code : -1);
		append_text(logpath, line, strlen(line));
		append_text(logpath, r.err, r.err_len);
	}
	if (rc != 0 || r.code != 0) {
		fprintf(stderr, "  onestop registry add --name %s failed (exit %d): %s\n",
			p->name, r.code, r.err);
		cmd_out_free(&r);
		return -1;
	}
	cmd_out_free(&r);
	snprintf(p->status, sizeof p->status, "active");
	return 0;
}

uint64_t net_registry_version(struct net *n)
{
	struct cmd_out r;
	uint64_t v = 0;
	const char *s;

	if (net_cli(n, &r, "registry", "show", "--registry", n->registry, NULL) == 0 &&
	    (s = strstr(r.out, "\nversion=")) != NULL)
		v = strtoull(s + 9, NULL, 10);
	cmd_out_free(&r);
	return v;
}

/* Write an INI file from defaults with overrides applied (same key
 * replaces, NULL value removes, new keys appended). */
static int conf_write(const char *path, const struct net_kv *defs, size_t n_defs,
		      const struct net_kv *over)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fprintf(f, "# written by the integration harness\n");
	for (size_t i = 0; i < n_defs; i++) {
		const char *v = defs[i].value;

		for (int j = 0; over && j < NET_MAX_CONF && over[j].key; j++)
			if (strcmp(over[j].key, defs[i].key) == 0)
				v = over[j].value;
		if (v)
			fprintf(f, "%s = %s\n", defs[i].key, v);
	}
	for (int j = 0; over && j < NET_MAX_CONF && over[j].key; j++) {
		int known = 0;

		for (size_t i = 0; i < n_defs; i++)
			if (strcmp(over[j].key, defs[i].key) == 0)
				known = 1;
		if (!known && over[j].value)
			fprintf(f, "%s = %s\n", over[j].key, over[j].value);
	}
	return fclose(f) == 0 ? 0 : -1;
}

static void proc_init(struct net *n, struct net_proc *p, const char *name, int is_hub)
{
	memset(p, 0, sizeof *p);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->status, sizeof p->status, "active");
	p->is_hub = is_hub;
	p->last_status = -1;
	p->expect_dead = 1;
	snprintf(p->log, sizeof p->log, "%s/%s.log", n->dir, name);
	snprintf(p->reg_key, sizeof p->reg_key, "%s/keys/%s.key", n->dir, name);
	snprintf(p->key, sizeof p->key, "%s", p->reg_key);
	snprintf(p->data_dir, sizeof p->data_dir, "%s/data-%s", n->dir, name);
	if (is_hub)
		snprintf(p->conf, sizeof p->conf, "%s/hub.conf", n->dir);
	else
		snprintf(p->conf, sizeof p->conf, "%s/spoke-%s.conf", n->dir, name);
	if (!is_hub)
		snprintf(p->api, sizeof p->api, "ipc://%s/%s.sock", n->dir, name);
}

struct net *net_make(size_t n_spokes, const struct net_opts *opts)
{
	static const struct net_opts no_opts;
	struct net *n = calloc(1, sizeof *n);
	const char *bin = getenv("ONESTOP_BIN_DIR");
	const char *lvl;
	char path[H_PATH + 16], mapsz[16] = "256";
	struct stat st;

	signal(SIGPIPE, SIG_IGN);
	if (!n) {
		fprintf(stderr, "out of memory\n");
		exit(1);
	}
	if (!opts)
		opts = &no_opts;
	lvl = opts->log_level ? opts->log_level : "info";
	if (n_spokes > NET_MAX_SPOKES) {
		fprintf(stderr, "too many spokes\n");
		exit(1);
	}
	snprintf(n->bin, sizeof n->bin, "%s", bin && *bin ? bin : ONESTOP_BIN_DIR);
	snprintf(n->dir, sizeof n->dir, "/tmp/onestop-it-XXXXXX");
	if (!mkdtemp(n->dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	net_register(n);
	fprintf(stderr, "  network in %s (binaries from %s)\n", n->dir, n->bin);
	for (int i = 0; i < 3; i++) {
		static const char *const progs[] = { "onestop", "onestop-hub", "onestop-spoke" };

		snprintf(path, sizeof path, "%s/%s", n->bin, progs[i]);
		H_REQUIRE(n, stat(path, &st) == 0 && (st.st_mode & S_IXUSR),
			  "binary %s exists", path);
	}
	n->port = free_port();
	H_REQUIRE(n, n->port > 0, "found a free port (%d)", n->port);
	snprintf(n->hub_endpoint, sizeof n->hub_endpoint, "tcp://127.0.0.1:%d", n->port);
	snprintf(path, sizeof path, "%s/keys", n->dir);
	mkdir(path, 0700);
	snprintf(n->root_key, sizeof n->root_key, "%s/keys/root.key", n->dir);
	snprintf(n->registry, sizeof n->registry, "%s/registry.bin", n->dir);

	proc_init(n, &n->hub, "hub", 1);
	n->n_spokes = n_spokes;
	for (size_t i = 0; i < n_spokes; i++) {
		char def[8];

		snprintf(def, sizeof def, "%c", (char)('a' + i));
		proc_init(n, &n->spoke[i], opts->spoke[i].name ? opts->spoke[i].name : def, 0);
	}

	H_REQUIRE(n, keygen(n, n->root_key, n->anchor) == 0, "root key made");
	H_REQUIRE(n, keygen(n, n->hub.reg_key, NULL) == 0, "hub key made");
	H_REQUIRE(n, net_cli(n, NULL, "registry", "init", "--root-key", n->root_key,
			     "--out", n->registry, NULL) == 0,
		  "registry init");
	for (int i = 0; i < NET_MAX_DATASETS && opts->datasets[i].name; i++) {
		const struct net_dataset *d = &opts->datasets[i];
		const char *mode = d->mode ? d->mode : "full";

		H_REQUIRE(n, net_cli(n, NULL, "registry", "dataset", "--root-key", n->root_key,
				     "--registry", n->registry, "--name", d->name, "--mode", mode,
				     NULL) == 0,
			  "registry dataset %s --mode %s", d->name, mode);
	}
	{
		struct net_node_opts hub_o;

		memset(&hub_o, 0, sizeof hub_o);
		hub_o.roles[0] = "hub";
		H_REQUIRE(n, net_registry_add(n, &n->hub, &hub_o) == 0, "hub registered");
	}
	for (size_t i = 0; i < n_spokes; i++) {
		const struct net_node_opts *o = &opts->spoke[i];
		struct net_proc *p = &n->spoke[i];
		const char *status = o->status ? o->status : "active";

		H_REQUIRE(n, keygen(n, p->reg_key, NULL) == 0, "key for %s made", p->name);
		snprintf(p->status, sizeof p->status, "%s", status);
		p->foreign_key = o->foreign_key;
		if (o->foreign_key) {
			char nm[64];

			snprintf(nm, sizeof nm, "%s", p->name);
			snprintf(p->key, sizeof p->key, "%s/keys/%s-foreign.key", n->dir, nm);
			H_REQUIRE(n, keygen(n, p->key, NULL) == 0, "foreign key for %s", p->name);
		}
		if (strcmp(status, "absent") == 0)
			continue;
		H_REQUIRE(n, net_registry_add(n, p, o) == 0, "%s registered", p->name);
		if (strcmp(status, "revoked") == 0 || strcmp(status, "suspended") == 0) {
			const char *verb = status[0] == 'r' ? "revoke" : "suspend";

			H_REQUIRE(n, net_cli(n, NULL, "registry", verb, "--root-key", n->root_key,
					     "--registry", n->registry, "--name", p->name,
					     NULL) == 0,
				  "registry %s %s", verb, p->name);
		}
	}

	{
		const struct net_kv defs[] = {
			{ "name", "hub" },
			{ "key", n->hub.key },
			{ "registry", n->registry },
			{ "trust_anchor", n->anchor },
			{ "listen", n->hub_endpoint },
			{ "data_dir", n->hub.data_dir },
			{ "map_size_mb", mapsz },
			{ "heartbeat_ms", "200" },
			{ "log_level", lvl },
		};

		mkdir(n->hub.data_dir, 0700);
		H_REQUIRE(n, conf_write(n->hub.conf, defs, sizeof defs / sizeof defs[0],
					opts->hub_conf) == 0,
			  "wrote %s", n->hub.conf);
	}
	for (size_t i = 0; i < n_spokes; i++) {
		struct net_proc *p = &n->spoke[i];
		const struct net_kv defs[] = {
			{ "name", p->name },
			{ "key", p->key },
			{ "registry", n->registry },
			{ "trust_anchor", n->anchor },
			{ "hub_endpoint", n->hub_endpoint },
			{ "hub_name", "hub" },
			{ "api", p->api },
			{ "data_dir", p->data_dir },
			{ "map_size_mb", mapsz },
			{ "heartbeat_ms", "200" },
			{ "reconnect_min_ms", "50" },
			{ "reconnect_max_ms", "500" },
			{ "log_level", lvl },
		};

		mkdir(p->data_dir, 0700);
		H_REQUIRE(n, conf_write(p->conf, defs, sizeof defs / sizeof defs[0],
					opts->spoke[i].conf) == 0,
			  "wrote %s", p->conf);
	}
	return n;
}

struct net_proc *net_spoke(struct net *n, const char *name)
{
	for (size_t i = 0; i < n->n_spokes; i++)
		if (strcmp(n->spoke[i].name, name) == 0)
			return &n->spoke[i];
	return NULL;
}

/* ============================================================ processes */

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
	snprintf(bin, sizeof bin, "%s/%s", n->bin, p->is_hub ? "onestop-hub" : "onestop-spoke");
	snprintf(mark, sizeof mark, "=== harness: start %d of %s at %s", p->starts + 1,
		 p->name, ctime(&now));
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
	pid = fork();
	if (pid < 0) {
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
		execv(bin, argv);
		_exit(127);
	}
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
	fprintf(stderr, "  %s not ready in %d ms: status rc=%d (%s) hub_connected=%d\n",
		p->name, timeout_ms, last, onestop_strerror(last), st.hub_connected);
	return -1;
}

void net_up(struct net *n, struct net_proc *p, int need_hub)
{
	H_REQUIRE(n, proc_start(n, p) == 0, "started %s", p->name);
	if (p->is_hub)
		H_REQUIRE(n, net_hub_ready(n, h_ms(30000)) == 0, "hub ready");
	else
		H_REQUIRE(n, net_spoke_ready(n, p, need_hub, h_ms(30000)) == 0,
			  "spoke %s ready%s", p->name, need_hub ? " and hub_connected" : "");
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
	const char *argv[] = { prog, "-c", n->hub.conf, "--dataset-digest", dataset, NULL };
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
	    sscanf(s, "dataset=%*s seq=%llu count=%llu digest=%64[0-9a-fA-F]", &seq, &count,
		   hex) == 3 &&
	    strlen(hex) == 64) {
		out->seq = seq;
		out->count = count;
		for (int i = 0; i < 64; i++)
			out->digest[i] = (char)(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] + 32 : hex[i]);
		out->digest[64] = '\0';
		rc = 0;
	} else {
		fprintf(stderr, "  onestop-hub --dataset-digest %s: exit %d, stdout: %.200s "
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

/* ============================================================ messages */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void body_fill(uint8_t *b, uint32_t stream, uint64_t seq, size_t len)
{
	uint64_t x = ((uint64_t)stream << 40) ^ (seq * 0x9e3779b97f4a7c15ull) ^ 0x5bd1e995ull;

	for (size_t i = 0; i < len; i++) {
		if ((i & 7) == 0) {
			x ^= x >> 12;
			x ^= x << 25;
			x ^= x >> 27;
		}
		b[i] = (uint8_t)((x * 0x2545f4914f6cdd1dull) >> (8 * (i & 7)));
	}
}

void msgs_payload(uint8_t *buf, uint32_t stream, uint64_t seq, size_t body_len)
{
	memcpy(buf, "OSIT", 4);
	put32(buf + 4, stream);
	os_put_u64be(buf + 8, seq);
	put32(buf + 16, (uint32_t)body_len);
	body_fill(buf + MSGS_HDR, stream, seq, body_len);
	os_put_u64be(buf + 20, fnv1a(buf + MSGS_HDR, body_len));
}

int msgs_payload_check(const uint8_t *buf, size_t len, uint32_t *stream, uint64_t *seq)
{
	uint8_t *want;
	size_t body;
	int ok;

	if (len < MSGS_HDR || memcmp(buf, "OSIT", 4) != 0)
		return -1;
	body = get32(buf + 16);
	if (body != len - MSGS_HDR)
		return -1;
	if (fnv1a(buf + MSGS_HDR, body) != os_get_u64be(buf + 20))
		return -1;
	want = malloc(len);
	if (!want)
		return -1;
	msgs_payload(want, get32(buf + 4), os_get_u64be(buf + 8), body);
	ok = memcmp(want, buf, len) == 0;
	free(want);
	if (!ok)
		return -1;
	*stream = get32(buf + 4);
	*seq = os_get_u64be(buf + 8);
	return 0;
}

int msgs_send(onestop_t *c, const char *to, const char *type, uint32_t stream,
	      uint64_t first, size_t n, size_t per_req, size_t body_len,
	      uint32_t ttl_s, uint8_t (*ids)[ONESTOP_ID_LEN])
{
	onestop_out_t *out = NULL;
	uint8_t *bufs = NULL;
	size_t psz = MSGS_HDR + body_len;
	int rc = ONESTOP_ENOMEM;

	if (per_req == 0)
		per_req = 100;
	out = calloc(per_req, sizeof *out);
	bufs = malloc(per_req * psz);
	if (!out || !bufs)
		goto out;
	rc = 0;
	for (size_t done = 0; done < n;) {
		size_t k = n - done < per_req ? n - done : per_req;

		for (size_t i = 0; i < k; i++) {
			msgs_payload(bufs + i * psz, stream, first + done + i, body_len);
			out[i] = (onestop_out_t){ .to = to, .type = type,
						  .payload = bufs + i * psz, .len = psz,
						  .ttl_s = ttl_s };
		}
		rc = onestop_send(c, out, k, ids ? ids + done : NULL);
		if (rc != 0) {
			fprintf(stderr, "  onestop_send of seq %llu..%llu failed: %d %s (%s)\n",
				(unsigned long long)(first + done),
				(unsigned long long)(first + done + k - 1), rc,
				onestop_strerror(rc), onestop_last_error(c));
			goto out;
		}
		done += k;
	}
out:
	free(out);
	free(bufs);
	return rc;
}

static void rx_problem(struct msgs_rx *rx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void rx_problem(struct msgs_rx *rx, const char *fmt, ...)
{
	va_list ap;

	if (rx->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(rx->problem, sizeof rx->problem, fmt, ap);
	va_end(ap);
	fprintf(stderr, "  problem: %s\n", rx->problem);
}

static void rx_keep_dl(struct msgs_rx *rx, const onestop_msg_t *m)
{
	onestop_deadletter_t dl;
	int rc = onestop_deadletter(m, &dl);

	if (rc != 0) {
		rx->corrupt++;
		rx_problem(rx, "a %s message from %s does not decode (%d)",
			   ONESTOP_DEADLETTER_TYPE, m->origin ? m->origin : "?", rc);
		return;
	}
	if (rx->n_dl < MSGS_MAX_DL) {
		rx->dl[rx->n_dl] = dl;
		snprintf(rx->dl_origin[rx->n_dl], sizeof rx->dl_origin[0], "%s",
			 m->origin ? m->origin : "");
	}
	rx->n_dl++;
	fprintf(stderr, "  dead letter: id=%s code=%d (%s) to=%s refused_by=%s reason=%s\n",
		dl.has_id ? h_idhex(dl.id) : "-", dl.code, onestop_strerror(dl.code), dl.to,
		dl.refused_by, dl.reason);
}

static int str_eq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

/* Classify one message of a batch. */
static void rx_take(struct msgs_rx *rx, const onestop_msg_t *m)
{
	uint32_t stream;
	uint64_t s, next = rx->first + rx->got;

	if (str_eq(m->type, ONESTOP_DEADLETTER_TYPE)) {
		rx_keep_dl(rx, m);
		return;
	}
	if (rx->count == 0 || msgs_payload_check(m->payload, m->len, &stream, &s) != 0 ||
	    stream != rx->stream) {
		rx->other++;
		/* a payload that claims to be ours but does not check is corruption */
		if (m->len >= 8 && memcmp(m->payload, "OSIT", 4) == 0 && rx->count &&
		    get32(m->payload + 4) == rx->stream) {
			rx->corrupt++;
			rx_problem(rx, "message id=%s: payload of stream %u is corrupt (len %zu)",
				   h_idhex(m->id), rx->stream, m->len);
		}
		return;
	}
	if (s < rx->first || s >= rx->first + rx->count) {
		rx->corrupt++;
		rx_problem(rx, "seq %llu outside the stream", (unsigned long long)s);
		return;
	}
	if ((rx->origin && !str_eq(m->origin, rx->origin)) ||
	    (rx->to && !str_eq(m->to, rx->to)) || (rx->type && !str_eq(m->type, rx->type)) ||
	    (rx->ids && memcmp(rx->ids[s - rx->first], m->id, ONESTOP_ID_LEN) != 0)) {
		rx->corrupt++;
		rx_problem(rx, "seq %llu: header mismatch: origin=%s to=%s type=%s id=%s "
			       "(want origin=%s to=%s type=%s id=%s)",
			   (unsigned long long)s, m->origin, m->to, m->type, h_idhex(m->id),
			   rx->origin ? rx->origin : "*", rx->to ? rx->to : "*",
			   rx->type ? rx->type : "*",
			   rx->ids ? h_idhex(rx->ids[s - rx->first]) : "*");
	}
	if (s == next) {
		rx->got++;
	} else if (s < next) {
		if (rx->acked_[s - rx->first]) {
			rx->dup_acked++;
			rx_problem(rx, "seq %llu (id %s) delivered again after it was acked",
				   (unsigned long long)s, h_idhex(m->id));
		} else {
			rx->redelivered++;
		}
	} else {
		rx->gaps++;
		rx_problem(rx, "seq %llu arrived while %llu was expected (lost or reordered)",
			   (unsigned long long)s, (unsigned long long)next);
	}
}

/* The receiver in rx's chain whose stream m belongs to (rx if none). */
static struct msgs_rx *rx_for(struct msgs_rx *rx, const onestop_msg_t *m)
{
	if (m->len >= 8 && memcmp(m->payload, "OSIT", 4) == 0) {
		uint32_t stream = get32(m->payload + 4);

		for (struct msgs_rx *t = rx; t; t = t->also)
			if (t->count && t->stream == stream)
				return t;
	}
	return rx;
}

/* One recv + ack round. Returns messages received, or -1 on a failed call
 * (the connection is closed for the caller to reopen). */
static int rx_round(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int wait_ms)
{
	onestop_msg_t *m = NULL;
	size_t k = 0, max = rx->batch ? rx->batch : 1000;
	uint64_t *seqs = NULL;
	int rc;

	if (!*c && net_connect(p, rx->timeout_ms, c) != 0) {
		rx->recv_errors++;
		return -1;
	}
	rc = onestop_recv(*c, max, wait_ms, &m, &k);
	if (rc != 0) {
		rx->recv_errors++;
		fprintf(stderr, "  recv at %s failed: %d %s (%s); reconnecting\n", p->name, rc,
			onestop_strerror(rc), onestop_last_error(*c));
		onestop_close(c);
		return -1;
	}
	if (k == 0) {
		onestop_msgs_free(&m, k);
		return 0;
	}
	seqs = malloc(k * sizeof *seqs);
	if (!seqs) {
		onestop_msgs_free(&m, k);
		return -1;
	}
	for (size_t i = 0; i < k; i++) {
		rx_take(rx_for(rx, &m[i]), &m[i]);
		seqs[i] = m[i].seq;
	}
	if (rx->before_ack && rx->before_ack(rx, rx->hook_arg)) {
		fprintf(stderr, "  %s: batch of %zu not acked (app stopped before acking)\n",
			p->name, k);
		rx->not_acked += k;
		onestop_close(c);
		free(seqs);
		onestop_msgs_free(&m, k);
		return (int)k;
	}
	rc = onestop_ack(*c, seqs, k);
	if (rc == 0) {
		for (size_t i = 0; i < k; i++) {
			struct msgs_rx *t = rx_for(rx, &m[i]);
			uint32_t stream;
			uint64_t q;

			if (t->count && t->acked_ &&
			    msgs_payload_check(m[i].payload, m[i].len, &stream, &q) == 0 &&
			    stream == t->stream && q >= t->first && q < t->first + t->count)
				t->acked_[q - t->first] = 1;
		}
	} else {
		rx->ack_errors++;
		fprintf(stderr, "  ack at %s failed: %d %s (%s); reconnecting\n", p->name, rc,
			onestop_strerror(rc), onestop_last_error(*c));
		onestop_close(c);
	}
	free(seqs);
	onestop_msgs_free(&m, k);
	return rc == 0 ? (int)k : -1;
}

static int rx_prepare(struct msgs_rx *rx)
{
	for (struct msgs_rx *t = rx; t; t = t->also) {
		if (t->count && !t->acked_) {
			t->acked_ = calloc(t->count, 1);
			if (!t->acked_)
				return -1;
		}
	}
	return 0;
}

void msgs_rx_clear(struct msgs_rx *rx)
{
	for (struct msgs_rx *t = rx; t; t = t->also) {
		free(t->acked_);
		t->acked_ = NULL;
	}
}

/* 1 when every stream of the chain is complete. */
static int rx_complete(const struct msgs_rx *rx)
{
	for (const struct msgs_rx *t = rx; t; t = t->also)
		if (t->got < t->count)
			return 0;
	return 1;
}

static int rx_failed(const struct msgs_rx *rx)
{
	for (const struct msgs_rx *t = rx; t; t = t->also)
		if (t->dup_acked || t->gaps || t->corrupt)
			return 1;
	return 0;
}

int msgs_recv(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	uint64_t last_report = h_now_ms();

	if (rx_prepare(rx) != 0)
		return -1;
	while (!rx_complete(rx) && h_now_ms() < deadline && !rx->stop) {
		if (rx_round(p, c, rx, 500) < 0) {
			h_sleep_ms(100);
			continue;
		}
		if (rx->hook && rx->hook(rx, rx->hook_arg))
			break;
		if (h_now_ms() - last_report > 10000) {
			fprintf(stderr, "  %s: %llu of %llu received\n", p->name,
				(unsigned long long)rx->got, (unsigned long long)rx->count);
			last_report = h_now_ms();
		}
	}
	for (struct msgs_rx *t = rx; t; t = t->also) {
		if (t->got < t->count) {
			char msg[160];

			snprintf(msg, sizeof msg,
				 "only %llu of %llu messages of stream %u arrived at %s in %d ms",
				 (unsigned long long)t->got, (unsigned long long)t->count,
				 t->stream, p->name, timeout_ms);
			rx_problem(t, "%s", msg);
			if (t != rx)
				rx_problem(rx, "%s", msg);
		} else if (t != rx && t->problem[0]) {
			rx_problem(rx, "stream %u: %s", t->stream, t->problem);
		}
		fprintf(stderr, "  %s: stream %u: got %llu/%llu redelivered=%llu dup_acked=%llu "
				"gaps=%llu corrupt=%llu other=%llu dead_letters=%zu recv_errors=%llu "
				"ack_errors=%llu\n",
			p->name, t->stream, (unsigned long long)t->got,
			(unsigned long long)t->count, (unsigned long long)t->redelivered,
			(unsigned long long)t->dup_acked, (unsigned long long)t->gaps,
			(unsigned long long)t->corrupt, (unsigned long long)t->other, t->n_dl,
			(unsigned long long)t->recv_errors, (unsigned long long)t->ack_errors);
	}
	return rx_complete(rx) && !rx_failed(rx) ? 0 : -1;
}

int msgs_drain(struct net_proc *p, onestop_t **c, struct msgs_rx *rx, int wait_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)wait_ms;
	int total = 0, ok = 0;

	if (rx_prepare(rx) != 0)
		return -1;
	for (;;) {
		int64_t left = (int64_t)deadline - (int64_t)h_now_ms();
		int r;

		if (left <= 0 || rx->stop)
			break;
		r = rx_round(p, c, rx, (int)(left > 200 ? 200 : left));
		if (r < 0) {
			h_sleep_ms(50);
			continue;
		}
		ok = 1;
		total += r;
	}
	return ok ? total : -1;
}

int msgs_wait_deadletter(struct net_proc *p, onestop_t **c, struct msgs_rx *rx,
			 const uint8_t *id, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	if (rx_prepare(rx) != 0)
		return -1;
	for (;;) {
		for (size_t i = 0; i < rx->n_dl && i < MSGS_MAX_DL; i++)
			if (rx->dl[i].has_id && memcmp(rx->dl[i].id, id, ONESTOP_ID_LEN) == 0)
				return (int)i;
		if (h_now_ms() >= deadline)
			return -1;
		if (rx_round(p, c, rx, 200) < 0)
			h_sleep_ms(50);
	}
}

/* ============================================================ raw link */

static int hub_box_pk(struct net *n, os_box_pk bpk)
{
	char pub[H_PATH + 8];
	os_sign_pk spk;

	snprintf(pub, sizeof pub, "%s.pub", n->hub.reg_key);
	return crypto_pubfile_read(pub, spk, bpk);
}

int raw_open(struct net *n, const char *keyfile, const char *node, struct raw_link **out)
{
	struct raw_link *l = calloc(1, sizeof *l);
	os_box_pk hub_pk;
	os_sign_pk anchor;
	int zero = 0, tmo = 2000;

	*out = NULL;
	if (!l)
		return -1;
	if (crypto_setup() != 0 || crypto_keyfile_read(keyfile, &l->kp) != 0 ||
	    hub_box_pk(n, hub_pk) != 0 || os_unhex(anchor, 32, n->anchor) != 0) {
		fprintf(stderr, "  raw_open: cannot read keys (%s)\n", keyfile);
		goto fail;
	}
	if (registry_load(n->registry, anchor, 0, &l->reg) != 0)
		l->reg = NULL;
	snprintf(l->node, sizeof l->node, "%s", node);
	crypto_random(l->outbox_epoch, sizeof l->outbox_epoch);
	l->ctx = zmq_ctx_new();
	if (!l->ctx)
		goto fail;
	l->sock = zmq_socket(l->ctx, ZMQ_DEALER);
	if (!l->sock)
		goto fail;
	if (zmq_setsockopt(l->sock, ZMQ_LINGER, &zero, sizeof zero) ||
	    zmq_setsockopt(l->sock, ZMQ_SNDTIMEO, &tmo, sizeof tmo) ||
	    zmq_setsockopt(l->sock, ZMQ_CURVE_SERVERKEY, hub_pk, 32) ||
	    zmq_setsockopt(l->sock, ZMQ_CURVE_PUBLICKEY, l->kp.box_pk, 32) ||
	    zmq_setsockopt(l->sock, ZMQ_CURVE_SECRETKEY, l->kp.box_sk, 32) ||
	    zmq_connect(l->sock, n->hub_endpoint)) {
		fprintf(stderr, "  raw_open: zmq: %s\n", zmq_strerror(zmq_errno()));
		goto fail;
	}
	*out = l;
	return 0;
fail:
	raw_close(&l);
	return -1;
}

void raw_close(struct raw_link **lp)
{
	struct raw_link *l = *lp;

	if (!l)
		return;
	if (l->sock)
		zmq_close(l->sock);
	if (l->ctx)
		zmq_ctx_term(l->ctx);
	registry_free(&l->reg);
	crypto_keypair_wipe(&l->kp);
	free(l);
	*lp = NULL;
}

int raw_send(struct raw_link *l, const void *buf, size_t len)
{
	return zmq_send(l->sock, buf, len, 0) == (int)len ? 0 : -1;
}

int raw_send_frame(struct raw_link *l, const Onestop__LinkFrame *f)
{
	size_t len = onestop__link_frame__get_packed_size(f);
	uint8_t *buf = malloc(len ? len : 1);
	int rc;

	if (!buf)
		return -1;
	onestop__link_frame__pack(f, buf);
	rc = raw_send(l, buf, len);
	free(buf);
	return rc;
}

static void raw_heartbeat(struct raw_link *l)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Heartbeat hb = ONESTOP__HEARTBEAT__INIT;

	hb.now_ms = os_now_ms();
	f.body_case = ONESTOP__LINK_FRAME__BODY_HEARTBEAT;
	f.heartbeat = &hb;
	raw_send_frame(l, &f);
	l->last_hb_ms = h_now_ms();
}

static void raw_deliver(struct raw_link *l, const Onestop__Transfers *t)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Ack ack = ONESTOP__ACK__INIT;

	for (size_t i = 0; t && i < t->n_items; i++) {
		const Onestop__Transfer *tr = t->items[i];
		struct env e;

		if (!tr || tr->seq <= l->deliver_last)
			continue;
		l->deliver_last = tr->seq;
		l->n_delivered++;
		if (env_decode(tr->msg.data, tr->msg.len, 64u << 20, &e) != 0) {
			l->n_deliver_other++;
			continue;
		}
		if (strcmp(e.type, ENV_DEADLETTER_TYPE) == 0 && l->n_dl < RAW_MAX_DL) {
			size_t k = l->n_dl;

			if (env_deadletter_unpack(e.payload, e.payload_len, &l->dl[k]) == 0) {
				snprintf(l->dl_origin[k], sizeof l->dl_origin[k], "%s", e.origin);
				l->dl_verified[k] =
					l->reg && env_verify(&e, l->reg, NULL, os_now_ms()) == 0;
				l->n_dl++;
				fprintf(stderr, "  raw %s: dead letter id=%s code=%d (%s) from %s "
						"verified=%d reason=%s\n",
					l->node, l->dl[k].has_id ? h_idhex(l->dl[k].id) : "-",
					l->dl[k].code, os_errname(l->dl[k].code), e.origin,
					l->dl_verified[k], l->dl[k].reason);
			} else {
				l->n_deliver_other++;
			}
		} else {
			l->n_deliver_other++;
		}
		env_clear(&e);
	}
	ack.seq = l->deliver_last;
	ack.epoch.data = l->hub_epoch;
	ack.epoch.len = sizeof l->hub_epoch;
	f.body_case = ONESTOP__LINK_FRAME__BODY_DELIVER_ACK;
	f.deliver_ack = &ack;
	raw_send_frame(l, &f);
}

static void raw_handle(struct raw_link *l, const uint8_t *buf, size_t len)
{
	Onestop__LinkFrame *f = onestop__link_frame__unpack(NULL, len, buf);

	l->n_frames++;
	if (!f) {
		l->n_undecodable++;
		return;
	}
	switch (f->body_case) {
	case ONESTOP__LINK_FRAME__BODY_WELCOME:
		l->welcomed = 1;
		if (f->welcome->hub_epoch.len == sizeof l->hub_epoch)
			memcpy(l->hub_epoch, f->welcome->hub_epoch.data, sizeof l->hub_epoch);
		l->hub_window = f->welcome->window;
		if (f->welcome->accepted_seq > l->push_acked)
			l->push_acked = f->welcome->accepted_seq;
		break;
	case ONESTOP__LINK_FRAME__BODY_PUSH_ACK:
		if (f->push_ack->seq > l->push_acked)
			l->push_acked = f->push_ack->seq;
		break;
	case ONESTOP__LINK_FRAME__BODY_DELIVER:
		raw_deliver(l, f->deliver);
		break;
	case ONESTOP__LINK_FRAME__BODY_ERROR:
		l->n_errors++;
		l->last_error = f->error->code;
		if (f->error->code <= 0 && f->error->code > -64)
			l->err_count[-f->error->code]++;
		/* the hub has no session for us: stop heartbeats until a Hello */
		if (f->error->code == OS_EHELLO)
			l->welcomed = 0;
		if (l->n_errors <= 20)
			fprintf(stderr, "  raw %s: LinkError code=%d (%s) %s\n", l->node,
				f->error->code, os_errname(f->error->code),
				f->error->message ? f->error->message : "");
		break;
	default:
		break;
	}
	onestop__link_frame__free_unpacked(f, NULL);
}

int raw_pump(struct raw_link *l, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		zmq_pollitem_t it = { .socket = l->sock, .events = ZMQ_POLLIN };
		int64_t left = (int64_t)deadline - (int64_t)h_now_ms();
		int r;

		if (l->welcomed && h_now_ms() - l->last_hb_ms >= 100)
			raw_heartbeat(l);
		r = zmq_poll(&it, 1, left <= 0 ? 0 : (left > 50 ? 50 : (long)left));
		if (r < 0 && zmq_errno() != EINTR)
			return -1;
		while (r > 0) {
			zmq_msg_t m;

			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, l->sock, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			raw_handle(l, zmq_msg_data(&m), zmq_msg_size(&m));
			zmq_msg_close(&m);
		}
		if (left <= 0)
			return 0;
	}
}

int raw_hello(struct raw_link *l, const char *node, int timeout_ms)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Hello h = ONESTOP__HELLO__INIT;
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	int errors = l->n_errors;

	h.protocol = 1;
	h.node = (char *)(node ? node : l->node);
	h.registry_version = l->reg ? l->reg->version : 0;
	h.outbox_epoch.data = l->outbox_epoch;
	h.outbox_epoch.len = sizeof l->outbox_epoch;
	h.window = 1000;
	f.body_case = ONESTOP__LINK_FRAME__BODY_HELLO;
	f.hello = &h;
	l->welcomed = 0;
	if (raw_send_frame(l, &f) != 0)
		return -1;
	while (h_now_ms() < deadline) {
		raw_pump(l, 50);
		if (l->welcomed)
			return 0;
		if (l->n_errors > errors)
			return l->last_error ? l->last_error : -1;
	}
	return -1;
}

int raw_push(struct raw_link *l, const uint8_t *msg, size_t len, uint64_t *seq)
{
	Onestop__LinkFrame f = ONESTOP__LINK_FRAME__INIT;
	Onestop__Transfers ts = ONESTOP__TRANSFERS__INIT;
	Onestop__Transfer t = ONESTOP__TRANSFER__INIT;
	Onestop__Transfer *items[1] = { &t };

	t.seq = l->push_seq + 1;
	t.prev_seq = l->push_seq;
	t.msg.data = (uint8_t *)msg;
	t.msg.len = len;
	ts.n_items = 1;
	ts.items = items;
	f.body_case = ONESTOP__LINK_FRAME__BODY_PUSH;
	f.push = &ts;
	if (raw_send_frame(l, &f) != 0)
		return -1;
	l->push_seq = t.seq;
	if (seq)
		*seq = t.seq;
	return 0;
}

int raw_wait_push_ack(struct raw_link *l, uint64_t seq, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	while (h_now_ms() < deadline) {
		if (l->push_acked >= seq)
			return 0;
		raw_pump(l, 50);
	}
	return l->push_acked >= seq ? 0 : -1;
}

int raw_wait_deadletter(struct raw_link *l, const uint8_t *id, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;

	for (;;) {
		for (size_t i = 0; i < l->n_dl; i++)
			if (l->dl[i].has_id && memcmp(l->dl[i].id, id, 16) == 0)
				return (int)i;
		if (h_now_ms() >= deadline)
			return -1;
		raw_pump(l, 50);
	}
}

int raw_wait_error(struct raw_link *l, int timeout_ms)
{
	uint64_t deadline = h_now_ms() + (uint64_t)timeout_ms;
	int before = l->n_errors;

	while (h_now_ms() < deadline) {
		raw_pump(l, 50);
		if (l->n_errors > before)
			return l->last_error;
	}
	return 1;
}

int h_sign_one(struct net *n, const char *origin, const char *keyfile,
	       const char *dest, const char *type, const void *payload, size_t len,
	       uint64_t ttl_ms, uint8_t **out, size_t *out_len, uint8_t id[16])
{
	struct os_keypair kp;
	struct registry *reg = NULL;
	const struct reg_node *node;
	struct env_draft d;
	os_sign_pk anchor;
	uint32_t kv = 1;
	uint64_t now = os_now_ms();
	os_msgid mid;
	int rc;

	if (crypto_setup() != 0 || crypto_keyfile_read(keyfile, &kp) != 0)
		return -1;
	if (os_unhex(anchor, 32, n->anchor) == 0 &&
	    registry_load(n->registry, anchor, 0, &reg) == 0 &&
	    (node = registry_find(reg, origin)) != NULL)
		kv = node->key_version;
	registry_free(&reg);
	d.destination = dest;
	d.type = type;
	d.payload = payload;
	d.payload_len = len;
	d.expires_ms = now + ttl_ms;
	rc = env_sign_batch(origin, kv, kp.sign_sk, &d, 1, now, out, out_len, &mid);
	crypto_keypair_wipe(&kp);
	if (rc != 0) {
		fprintf(stderr, "  env_sign_batch: %d %s\n", rc, os_strerror(rc));
		return -1;
	}
	memcpy(id, mid, 16);
	return 0;
}
