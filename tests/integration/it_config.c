/* The daemons' start-up contract as an operator meets it: --help,
 * --version, --check-config; exit 2 for configuration errors (unknown key,
 * bad value, out of bounds, missing required option), exit 1 for a runtime
 * failure at start (port taken, API socket impossible), never a hang;
 * a hub whose registry has expired refuses to start (fails closed); flags
 * override the file; a SIGHUP with a corrupt registry file keeps the hub
 * serving with the registry it has. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "registry.h"
#include "util.h"

#define TYPE "it.config"

/* Run a daemon binary with args (NULL-ended) to completion (bounded). */
static int run_daemon(struct net *n, const char *prog, struct cmd_out *r, const char *arg, ...)
	__attribute__((sentinel));

static int run_daemon(struct net *n, const char *prog, struct cmd_out *r, const char *arg, ...)
{
	const char *argv[24];
	char path[H_PATH + 32];
	va_list ap;
	size_t k = 0;

	snprintf(path, sizeof path, "%s/%s", n->bin, prog);
	argv[k++] = path;
	va_start(ap, arg);
	for (const char *a = arg; a && k < 23; a = va_arg(ap, const char *))
		argv[k++] = a;
	va_end(ap);
	argv[k] = NULL;
	if (cmd_run(argv, NULL, 0, h_ms(20000), r) != 0)
		return -1;
	return r->code;
}

static void append_line(const char *path, const char *line)
{
	FILE *f = fopen(path, "a");

	if (f) {
		fputs(line, f);
		fclose(f);
	}
}

/* A copy of conf without the line for key (and with extra appended). */
static int conf_variant(const char *conf, const char *out, const char *drop_key, const char *extra)
{
	FILE *in = fopen(conf, "r"), *o = fopen(out, "w");
	char line[1024];

	if (!in || !o) {
		if (in)
			fclose(in);
		if (o)
			fclose(o);
		return -1;
	}
	while (fgets(line, sizeof line, in)) {
		if (drop_key && strncmp(line, drop_key, strlen(drop_key)) == 0 &&
		    line[strlen(drop_key)] == ' ')
			continue;
		fputs(line, o);
	}
	if (extra)
		fputs(extra, o);
	fclose(in);
	return fclose(o) == 0 ? 0 : -1;
}

static void options(struct net *n)
{
	struct net_proc *a = net_spoke(n, "a");
	char bad[H_PATH + 16], noname[H_PATH + 16];
	struct cmd_out r;
	int rc;

	rc = run_daemon(n, "onestop-hub", &r, "--help", NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "--listen") && strstr(r.out, "--queue-quota"),
		"onestop-hub --help exits 0 and lists the options (%d)", rc);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-spoke", &r, "--help", NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "--hub-endpoint") && strstr(r.out, "--outbox-quota"),
		"onestop-spoke --help exits 0 and lists the options (%d)", rc);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-hub", &r, "--version", NULL);
	H_CHECK(n, rc == 0 && r.out_len > 0, "onestop-hub --version exits 0 (%d: %s)", rc, r.out);
	cmd_out_free(&r);

	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--check-config", NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "config ok"), "hub --check-config: config ok (%d %s%s)",
		rc, r.out, r.err);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-spoke", &r, "--config", a->conf, "--check-config", NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "config ok"),
		"spoke --check-config: config ok (%d %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);
	/* The spoke's own checks run under --check-config too, not only the
	 * option table's. */
	rc = run_daemon(n, "onestop-spoke", &r, "--config", a->conf, "--api-mode", "999",
			"--check-config", NULL);
	H_CHECK(n, rc == 2 && !strstr(r.out, "config ok") && strstr(r.err, "api_mode"),
		"spoke --check-config with api_mode 999: exit 2 naming api_mode (%d %s%s)", rc,
		r.out, r.err);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-spoke", &r, "--config", a->conf, "--name", "Not A Name",
			"--check-config", NULL);
	H_CHECK(n, rc == 2 && !strstr(r.out, "config ok"),
		"spoke --check-config with a bad node name: exit 2 (%d %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);

	snprintf(bad, sizeof bad, "%s/bad-hub.conf", n->dir);
	H_REQUIRE(n, conf_variant(n->hub.conf, bad, NULL, "no_such_option = 1\n") == 0, "wrote %s",
		  bad);
	rc = run_daemon(n, "onestop-hub", &r, "-c", bad, "--check-config", NULL);
	H_CHECK(n, rc == 2 && (strstr(r.out, "no_such_option") || strstr(r.err, "no_such_option")),
		"an unknown key fails --check-config with exit 2 naming it (%d: %s%s)", rc, r.out,
		r.err);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-hub", &r, "-c", bad, NULL);
	H_CHECK(n, rc == 2, "the hub refuses to start on an unknown key: exit %d (want 2)", rc);
	cmd_out_free(&r);

	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--heartbeat-ms", "often",
			"--check-config", NULL);
	H_CHECK(n, rc == 2 && r.err_len > 0, "a non-numeric --heartbeat-ms: exit %d (want 2) %s",
		rc, r.err);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--window", "0", NULL);
	H_CHECK(n, rc == 2 && r.err_len > 0, "--window 0 is out of bounds: exit %d (want 2) %s", rc,
		r.err);
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--no-such-flag", "1", NULL);
	H_CHECK(n, rc == 2, "an unknown flag: exit %d (want 2)", rc);
	cmd_out_free(&r);

	snprintf(noname, sizeof noname, "%s/noname.conf", n->dir);
	H_REQUIRE(n, conf_variant(a->conf, noname, "name", NULL) == 0, "wrote %s", noname);
	rc = run_daemon(n, "onestop-spoke", &r, "-c", noname, NULL);
	H_CHECK(n, rc == 2 && strstr(r.err, "name"),
		"a spoke without its required name: exit %d (want 2) %s", rc, r.err);
	cmd_out_free(&r);
}

static void runtime_failures(struct net *n)
{
	struct net_proc *a = net_spoke(n, "a");
	char dir2[H_PATH + 16], wrong[65], api[H_PATH + 32];
	struct cmd_out r;
	int rc;

	/* the hub's port is taken by the running hub */
	snprintf(dir2, sizeof dir2, "%s/data-hub2", n->dir);
	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--data-dir", dir2, NULL);
	H_CHECK(n, rc == 1 && r.err_len > 0,
		"a second hub on a taken port exits 1 with a message (exit %d) %s", rc, r.err);
	cmd_out_free(&r);

	/* a well-formed anchor that did not sign the registry */
	rc = net_cli(n, &r, "pubkey", "--key", a->reg_key, NULL);
	H_REQUIRE(n, rc == 0 && strncmp(r.out, "sign_public=", 12) == 0, "a's public key");
	memcpy(wrong, r.out + 12, 64);
	wrong[64] = '\0';
	cmd_out_free(&r);
	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--data-dir", dir2, "--listen",
			"tcp://127.0.0.1:0", "--trust-anchor", wrong, NULL);
	H_CHECK(n, (rc == 1 || rc == 2) && r.err_len > 0,
		"a hub whose registry does not verify under its anchor refuses to start "
		"(exit %d) %s",
		rc, r.err);
	cmd_out_free(&r);

	/* a regular file where the socket's directory should be (b is not
	 * running yet, so nothing else speaks as b) */
	snprintf(api, sizeof api, "ipc://%s/hub.conf/x.sock", n->dir);
	rc = run_daemon(n, "onestop-spoke", &r, "-c", net_spoke(n, "b")->conf, "--api", api, NULL);
	H_CHECK(n, rc == 1 && r.err_len > 0,
		"a spoke that cannot bind its API socket exits 1 (exit %d) %s", rc, r.err);
	cmd_out_free(&r);
}

/* A validly signed copy of the registry that expired a day ago. */
static int expired_registry(struct net *n, const char *out)
{
	struct os_keypair root;
	struct registry *r = NULL;
	const uint8_t *bytes;
	size_t len;
	uint64_t now = os_now_ms();
	int rc = -1;

	if (crypto_setup() != 0 || crypto_keyfile_read(n->root_key, &root) != 0)
		return -1;
	if (registry_load(n->registry, NULL, 0, &r) != 0)
		goto out;
	r->version += 1;
	r->issued_ms = now - 2 * 86400000ull;
	r->expires_ms = now - 86400000ull;
	if (registry_sign(r, root.sign_sk, &bytes, &len) == 0 &&
	    os_write_file(out, bytes, len, 0644, 0) == 0)
		rc = 0;
out:
	registry_free(&r);
	crypto_keypair_wipe(&root);
	return rc;
}

static void expired(struct net *n)
{
	char path[H_PATH + 32], dir3[H_PATH + 16];
	struct cmd_out r;
	int rc;

	snprintf(path, sizeof path, "%s/registry-expired.bin", n->dir);
	snprintf(dir3, sizeof dir3, "%s/data-hub3", n->dir);
	H_REQUIRE(n, expired_registry(n, path) == 0, "made an expired registry");
	rc = run_daemon(n, "onestop-hub", &r, "-c", n->hub.conf, "--registry", path, "--data-dir",
			dir3, "--listen", "tcp://127.0.0.1:0", NULL);
	H_CHECK(n, (rc == 1 || rc == 2) && (strstr(r.err, "expire") || strstr(r.err, "EEXPIRED")),
		"a hub whose registry expired refuses to start and says so (exit %d) %s", rc,
		r.err);
	cmd_out_free(&r);
}

static void flag_overrides(struct net *n)
{
	struct net_proc *b = net_spoke(n, "b");
	char want[H_PATH + 64], api[H_PATH];
	onestop_status_t st;
	int rc;

	/* b's file names b.sock; the flag moves the API and wins */
	snprintf(api, sizeof api, "ipc://%s/b-flag.sock", n->dir);
	b->args[0] = "--api";
	b->args[1] = api;
	b->args[2] = NULL;
	snprintf(b->api, sizeof b->api, "%s", api);
	net_up(n, b, 1);
	snprintf(want, sizeof want, "event=spoke_ready api=%s ", api);
	H_CHECK(n, proc_log_count(b, want, 1) > 0, "--api on the command line overrides the file");
	rc = net_status(b, &st);
	H_CHECK(n, rc == 0 && strcmp(st.node, "b") == 0, "b answers on the flag's endpoint (%d)",
		rc);
	b->args[0] = NULL;
}

static void bad_reload(struct net *n)
{
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	char backup[H_PATH + 16];
	onestop_t *ca = NULL, *cb = NULL;
	struct msgs_rx rx;
	onestop_status_t st;
	uint64_t v0;
	int rc, lines0;

	snprintf(backup, sizeof backup, "%s/registry.good", n->dir);
	H_REQUIRE(n, rename(n->registry, backup) == 0, "moved the registry aside");
	append_line(n->registry, "this is not a signed registry\n");
	H_REQUIRE(n, net_status(a, &st) == 0, "status of a");
	v0 = st.registry_version;
	lines0 = proc_log_count(&n->hub, "registry", 0);
	H_REQUIRE(n, proc_signal(&n->hub, SIGHUP) == 0, "SIGHUP with a corrupt registry file");
	h_sleep_ms(1000);
	H_CHECK(n, proc_alive(&n->hub), "the hub survives a corrupt registry on reload");
	H_CHECK(n, proc_log_count(&n->hub, "registry", 0) > lines0,
		"the hub logged the failed reload");

	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_CHECK(n, msgs_send(ca, "b", TYPE, 2, 1, 20, 20, 100, 0, NULL) == 0, "a sent 20 to b");
	memset(&rx, 0, sizeof rx);
	rx.stream = 2;
	rx.first = 1;
	rx.count = 20;
	rx.origin = "a";
	rc = msgs_recv(b, &cb, &rx, 30000);
	H_CHECK(n, rc == 0 && rx.n_dl == 0, "traffic still flows on the old registry (%s)",
		rx.problem);
	rc = net_status(a, &st);
	H_CHECK(n, rc == 0 && st.registry_version == v0 && st.hub_connected,
		"a keeps registry version %llu and its link (%llu, connected %d)",
		(unsigned long long)v0, (unsigned long long)st.registry_version, st.hub_connected);

	H_REQUIRE(n, rename(backup, n->registry) == 0, "restored the registry");
	H_REQUIRE(n, proc_signal(&n->hub, SIGHUP) == 0, "SIGHUP with the good registry");
	h_sleep_ms(300);
	H_CHECK(n, proc_alive(&n->hub), "hub running after the good reload");
	msgs_rx_clear(&rx);
	onestop_close(&ca);
	onestop_close(&cb);
}

int main(void)
{
	struct net *n = net_make(2, NULL);
	struct net_proc *a = net_spoke(n, "a");

	options(n);
	net_up(n, &n->hub, 1);
	net_up(n, a, 1);
	runtime_failures(n);
	expired(n);
	flag_overrides(n);
	bad_reload(n);
	return net_done(&n);
}
