/* The onestop CLI as an operator and a shell user run it: keygen (0600,
 * refuses to overwrite), pubkey, registry show (with and without the right
 * anchor), send and recv --wait through real daemons, status, $ONESTOP_API,
 * and usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "harness.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	*len = 0;
	if (!f)
		return NULL;
	buf = calloc(1, 65536);
	if (buf)
		*len = fread(buf, 1, 65535, f);
	fclose(f);
	return buf;
}

/* The id (32 lowercase hex) on the first line of out, into id. */
static int parse_id(const char *out, char id[33])
{
	if (strspn(out, "0123456789abcdef") != 32 || (out[32] != '\n' && out[32] != '\0'))
		return -1;
	memcpy(id, out, 32);
	id[32] = '\0';
	return 0;
}

static void keys(struct net *n)
{
	char key[H_PATH], pub[H_PATH + 8];
	struct cmd_out r, r2;
	struct stat st;
	size_t l1, l2;
	char *before, *after;
	int rc;

	snprintf(key, sizeof key, "%s/cli-test.key", n->dir);
	snprintf(pub, sizeof pub, "%s.pub", key);
	rc = net_cli(n, &r, "keygen", "--out", key, NULL);
	H_CHECK(n, rc == 0, "keygen exits 0 (%d: %s)", rc, r.err);
	H_CHECK(n,
		strncmp(r.out, "sign_public=", 12) == 0 && strstr(r.out, " box_public=") &&
			strlen(r.out) == 12 + 64 + 12 + 64 + 1,
		"keygen prints sign_public=HEX box_public=HEX (%s)", r.out);
	H_CHECK(n, stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "key file mode is 0600 (%o)",
		(unsigned)(st.st_mode & 0777));
	H_CHECK(n, stat(pub, &st) == 0, "public key file %s written", pub);

	rc = net_cli(n, &r2, "pubkey", "--key", key, NULL);
	H_CHECK(n, rc == 0 && strcmp(r2.out, r.out) == 0,
		"pubkey prints the same keys as keygen (%d: %s)", rc, r2.out);
	cmd_out_free(&r2);

	before = slurp(key, &l1);
	rc = net_cli(n, &r2, "keygen", "--out", key, NULL);
	after = slurp(key, &l2);
	H_CHECK(n, rc == 1 && r2.err_len > 0, "keygen refuses to overwrite: exit %d, stderr: %s",
		rc, r2.err);
	H_CHECK(n, before && after && l1 == l2 && l1 > 0 && memcmp(before, after, l1) == 0,
		"the existing key file is unchanged");
	free(before);
	free(after);
	cmd_out_free(&r2);
	cmd_out_free(&r);
}

static void registry(struct net *n)
{
	struct cmd_out r;
	char other[H_PATH], wrong[65];
	int rc;

	rc = net_cli(n, &r, "registry", "show", "--registry", n->registry, NULL);
	H_CHECK(n, rc == 0, "registry show exits 0 (%d: %s)", rc, r.err);
	H_CHECK(n,
		strstr(r.out, "name=hub ") && strstr(r.out, "name=a ") &&
			strstr(r.out, "name=b ") && strstr(r.out, "nodes=3"),
		"registry show lists hub, a and b:\n%s", r.out);
	cmd_out_free(&r);

	rc = net_cli(n, &r, "registry", "show", "--registry", n->registry, "--anchor", n->anchor,
		     NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "signature=verified"),
		"registry show with the right anchor verifies (%d: %s)", rc, r.err);
	cmd_out_free(&r);

	/* the sign_public of another key is a well-formed but wrong anchor */
	snprintf(other, sizeof other, "%s/cli-test.key", n->dir);
	rc = net_cli(n, &r, "pubkey", "--key", other, NULL);
	H_REQUIRE(n, rc == 0 && strncmp(r.out, "sign_public=", 12) == 0, "pubkey of another key");
	memcpy(wrong, r.out + 12, 64);
	wrong[64] = '\0';
	cmd_out_free(&r);
	rc = net_cli(n, &r, "registry", "show", "--registry", n->registry, "--anchor", wrong, NULL);
	H_CHECK(n, rc == 1 && r.err_len > 0,
		"registry show with a wrong anchor fails: exit %d, stderr: %s", rc, r.err);
	cmd_out_free(&r);
}

static void messages(struct net *n)
{
	struct net_proc *a = net_spoke(n, "a"), *b = net_spoke(n, "b");
	char file[H_PATH], id[33] = "", id2[33] = "", want[256];
	static const char text[] = "hello b, from the command line";
	static const char text2[] = "second one, through standard input";
	struct cmd_out r;
	FILE *f;
	int rc;

	snprintf(file, sizeof file, "%s/payload.txt", n->dir);
	f = fopen(file, "w");
	H_REQUIRE(n, f && fputs(text, f) >= 0 && fclose(f) == 0, "wrote %s", file);

	rc = net_cli(n, &r, "status", "--api", a->api, NULL);
	H_CHECK(n, rc == 0 && strstr(r.out, "node=a\n") && strstr(r.out, "hub_connected=yes\n"),
		"status --api a: node=a hub_connected=yes (%d: %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);

	rc = net_cli(n, &r, "send", "--to", "b", "--type", "it.cli", "--file", file, "--api",
		     a->api, NULL);
	H_CHECK(n, rc == 0 && parse_id(r.out, id) == 0, "send --file prints a 32-hex id (%d: %s%s)",
		rc, r.out, r.err);
	cmd_out_free(&r);

	rc = net_cli(n, &r, "recv", "--wait", "30000", "--api", b->api, NULL);
	snprintf(want, sizeof want, "id=%s origin=a to=b type=it.cli ", id);
	H_CHECK(n, rc == 0 && strstr(r.out, want) && strstr(r.out, text),
		"recv --wait at b prints the header (%s) and the payload (%d: %s%s)", want, rc,
		r.out, r.err);
	cmd_out_free(&r);

	rc = net_cli(n, &r, "recv", "--wait", "500", "--api", b->api, NULL);
	H_CHECK(n, rc == 3 && r.out_len == 0,
		"after the ack, recv --wait 500 finds nothing: exit %d (want 3), out: %s", rc,
		r.out);
	cmd_out_free(&r);

	rc = net_cli_in(n, &r, text2, strlen(text2), "send", "--to", "b", "--type", "it.cli",
			"--api", a->api, NULL);
	H_CHECK(n, rc == 0 && parse_id(r.out, id2) == 0 && strcmp(id, id2) != 0,
		"send from stdin prints a new id (%d: %s%s)", rc, r.out, r.err);
	cmd_out_free(&r);

	/* $ONESTOP_API stands in for --api */
	setenv("ONESTOP_API", b->api, 1);
	rc = net_cli(n, &r, "recv", "--wait", "30000", "--quiet", NULL);
	H_CHECK(n, rc == 0 && r.out_len == strlen(text2) && memcmp(r.out, text2, r.out_len) == 0,
		"recv --quiet with $ONESTOP_API prints exactly the payload (%d: '%s' %s)", rc,
		r.out, r.err);
	cmd_out_free(&r);
	rc = net_cli(n, &r, "status", NULL);
	H_CHECK(n,
		rc == 0 && strstr(r.out, "node=b\n") && strstr(r.out, "received=2\n") &&
			strstr(r.out, "inbox=0\n"),
		"status with $ONESTOP_API shows b, received=2, inbox=0 (%d: %s%s)", rc, r.out,
		r.err);
	cmd_out_free(&r);
	unsetenv("ONESTOP_API");

	rc = net_cli(n, &r, "send", "--type", "it.cli", "--file", file, "--api", a->api, NULL);
	H_CHECK(n, rc == 2 && r.err_len > 0, "send without --to is a usage error: exit %d (%s)", rc,
		r.err);
	cmd_out_free(&r);
	rc = net_cli(n, &r, "no-such-command", NULL);
	H_CHECK(n, rc == 2, "an unknown command is a usage error: exit %d", rc);
	cmd_out_free(&r);
	rc = net_cli(n, &r, "send", "--to", "Not A Name", "--type", "it.cli", "--file", file,
		     "--api", a->api, NULL);
	H_CHECK(n, rc == 1 && r.err_len > 0 && r.out_len == 0,
		"send to a malformed name fails with a message: exit %d (%s)", rc, r.err);
	cmd_out_free(&r);
}

int main(void)
{
	struct net *n = net_make(2, NULL);

	unsetenv("ONESTOP_API");
	keys(n);
	registry(n);
	net_start_all(n);
	messages(n);
	return net_done(&n);
}
