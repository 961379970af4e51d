/* A hub as a client of another hub, over the same link module the spokes
 * use (common/uplink.c): a province hub `gd` with `parent_endpoint` set
 * connects to the national hub, which admits it by its registry key and
 * opens a session for it; a message a spoke sends to `gd` is delivered
 * over that link and refused by gd like any message to a hub's own name;
 * after the national hub is killed and restarted, gd reconnects by
 * itself; both hubs stop cleanly. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define TYPE "it.uplink"

/* Turn the registered node p into a hub process whose parent is n's hub. */
static int make_child_hub(struct net *n, struct net_proc *p)
{
	FILE *f;

	p->is_hub = 1;
	snprintf(p->conf, sizeof p->conf, "%s/hub-%s.conf", n->dir, p->name);
	f = fopen(p->conf, "w");
	if (!f)
		return -1;
	fprintf(f,
		"name = %s\nkey = %s\nregistry = %s\ntrust_anchor = %s\n"
		"listen = tcp://127.0.0.1:*\ndata_dir = %s\nmap_size_mb = 64\n"
		"heartbeat_ms = 200\nlog_level = info\n"
		"parent_endpoint = %s\nparent_name = hub\n",
		p->name, p->key, n->registry, n->anchor, p->data_dir, n->hub_endpoint);
	return fclose(f) == 0 ? 0 : -1;
}

int main(void)
{
	struct net_opts o;
	struct net *n;
	struct net_proc *gd, *a;
	onestop_t *ca = NULL;
	uint8_t id[ONESTOP_ID_LEN];

	memset(&o, 0, sizeof o);
	o.spoke[0].name = "gd";
	o.spoke[0].roles[0] = "hub";
	o.spoke[1].name = "a";
	n = net_make(2, &o);
	gd = net_spoke(n, "gd");
	a = net_spoke(n, "a");
	H_REQUIRE(n, make_child_hub(n, gd) == 0, "wrote gd's hub config");

	H_REQUIRE(n, proc_start(n, &n->hub) == 0 && net_hub_ready(n, h_ms(10000)) == 0,
		  "the national hub is ready");
	H_REQUIRE(n, proc_start(n, gd) == 0, "gd started");
	H_CHECK(n, proc_wait_log(gd, "event=hub_ready", h_ms(10000)) == 0,
		"gd is ready as a hub (hub_ready)");
	H_CHECK(n, proc_wait_log(gd, "event=hub_connected hub=hub", h_ms(10000)) == 0,
		"gd's link to its parent came up (hub_connected hub=hub)");
	H_CHECK(n, proc_wait_log(&n->hub, "event=session_start node=gd", h_ms(10000)) == 0,
		"the national hub admitted gd and opened its session");

	/* A message to gd crosses the link, and gd takes it from its parent
	 * and refuses it: a hub takes no messages addressed to its name. */
	net_up(n, a, 1);
	H_REQUIRE(n, net_connect(a, 0, &ca) == 0, "connected to a");
	H_CHECK(n, msgs_send(ca, "gd", TYPE, 1, 1, 1, 1, 200, 0, &id) == 0,
		"a's Send to gd returned OK");
	H_CHECK(n,
		proc_wait_log(gd, "event=msg_refused", h_ms(10000)) == 0 &&
			proc_log_count(gd, "origin=a dest=gd type=" TYPE " code=ENOTALLOWED", 1) ==
				1,
		"gd received the delivery over its parent link and refused it (ENOTALLOWED)");
	H_CHECK(n, proc_log_count(gd, "event=parent_delivery_held", 1) == 0,
		"gd holds nothing back from its parent");

	/* --status reads gd's store while gd runs: its parent's queue is up. */
	{
		char prog[sizeof n->bin + 32];
		const char *argv[] = {prog, "-c", gd->conf, "--status", NULL};
		struct cmd_out r;

		memset(&r, 0, sizeof r);
		snprintf(prog, sizeof prog, "%s/onestop-hub", n->bin);
		H_CHECK(n,
			cmd_run(argv, NULL, 0, h_ms(10000), &r) == 0 && r.code == 0 &&
				strstr(r.out, "up hub backlog=") != NULL,
			"onestop-hub --status of the running gd shows its parent's queue (%s%s)",
			r.out ? r.out : "", r.err ? r.err : "");
		cmd_out_free(&r);
	}

	/* The parent dies and returns: gd notices and connects again. */
	proc_kill(n, &n->hub);
	H_CHECK(n, proc_wait_log(gd, "event=hub_lost", h_ms(10000)) == 0,
		"gd noticed its parent was gone (hub_lost)");
	H_REQUIRE(n, proc_start(n, &n->hub) == 0 && net_hub_ready(n, h_ms(10000)) == 0,
		  "the national hub restarted");
	H_CHECK(n, proc_wait_log(&n->hub, "event=session_start node=gd", h_ms(15000)) == 0,
		"gd's session is back at the restarted national hub");
	/* The hub logs the session before gd logs its side of it. */
	int connected = 0;
	uint64_t until = h_now_ms() + (uint64_t)h_ms(10000);
	while ((connected = proc_log_count(gd, "event=hub_connected hub=hub", 1)) < 2 &&
	       h_now_ms() < until)
		usleep(20000);
	H_CHECK(n, connected >= 2, "gd connected twice in its one run (%d)", connected);

	onestop_close(&ca);
	return net_done(&n);
}
