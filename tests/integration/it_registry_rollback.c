/* No registry rollback at the hub (issue #5, defect 2): a hub that has
 * accepted a registry in which node a is revoked refuses to start on the
 * genuine but older file in which a is active (registry_rollback_refused,
 * a non-zero exit), so a stays out; started with the explicit override
 * --allow-registry-rollback it loads the older file and says so
 * (registry_rollback_allowed), and a connects again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in = fopen(from, "rb"), *out = in ? fopen(to, "wb") : NULL;
	size_t n;
	int rc = in && out ? 0 : -1;

	while (rc == 0 && (n = fread(buf, 1, sizeof buf, in)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			rc = -1;
	if (in)
		fclose(in);
	if (out && fclose(out) != 0)
		rc = -1;
	return rc;
}

/* Wait up to timeout_ms for p to exit by itself; its exit status, or -1. */
static int wait_exit(struct net_proc *p, int timeout_ms)
{
	uint64_t until = h_now_ms() + (uint64_t)timeout_ms;

	p->expect_dead = 1;
	while (proc_alive(p)) {
		if (h_now_ms() >= until)
			return -1;
		h_sleep_ms(20);
	}
	return WIFEXITED(p->last_status) ? WEXITSTATUS(p->last_status) : -1;
}

int main(void)
{
	struct net *n = net_make(1, NULL);
	struct net_proc *a = net_spoke(n, "a");
	char old[H_PATH + 16];
	int code;

	snprintf(old, sizeof old, "%s.old", n->registry);
	H_REQUIRE(n, copy_file(n->registry, old) == 0, "kept the registry in which a is active");
	H_REQUIRE(n,
		  net_cli(n, NULL, "registry", "revoke", "--root-key", n->root_key, "--registry",
			  n->registry, "--name", "a", NULL) == 0,
		  "revoked a in a newer registry");

	/* The hub accepts the newer registry once. */
	H_REQUIRE(n, proc_start(n, &n->hub) == 0 && net_hub_ready(n, h_ms(10000)) == 0,
		  "the hub started on the registry that revokes a");
	H_CHECK(n, proc_stop(n, &n->hub, h_ms(10000)) == 0, "the hub stopped cleanly");

	/* Restarted on the older, genuinely signed file: refused. */
	H_REQUIRE(n, copy_file(old, n->registry) == 0, "put the older registry back");
	H_REQUIRE(n, proc_start(n, &n->hub) == 0, "hub started again");
	code = wait_exit(&n->hub, h_ms(10000));
	H_CHECK(n, code > 0, "the hub refused to run on the older registry (exit %d)", code);
	H_CHECK(n, proc_log_count(&n->hub, "event=registry_rollback_refused", 1) == 1,
		"it said why (registry_rollback_refused)");
	H_CHECK(n, proc_log_count(&n->hub, "event=hub_ready", 1) == 0,
		"it never became ready on it");

	/* The explicit override: loaded, logged, and a is admitted again. */
	n->hub.args[0] = "--allow-registry-rollback";
	H_REQUIRE(n, proc_start(n, &n->hub) == 0 && net_hub_ready(n, h_ms(10000)) == 0,
		  "the hub started with --allow-registry-rollback");
	H_CHECK(n, proc_log_count(&n->hub, "event=registry_rollback_allowed", 1) == 1,
		"it logged the rollback it was told to allow");
	net_up(n, a, 1);
	H_CHECK(n, proc_alive(a), "a, active in the older registry, is connected");
	return net_done(&n);
}
