/* onestop keygen and onestop pubkey: make a node's key file (signing and
 * transport key pairs) with its public file, and print the public keys. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "crypto.h"
#include "err.h"
#include "util.h"

static void keys_print(const os_sign_pk spk, const os_box_pk bpk)
{
	char sh[65], bh[65];
	os_hex(sh, spk, sizeof(os_sign_pk));
	os_hex(bh, bpk, sizeof(os_box_pk));
	printf("sign_public=%s box_public=%s\n", sh, bh);
}

static int keys_keygen(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair kp;
	char pub[4096];
	int rc;

	const char *path = cli_need(cmd, a, "out");
	if (path == NULL)
		return CLI_USAGE;
	if (snprintf(pub, sizeof(pub), "%s.pub", path) >= (int)sizeof(pub))
		return cli_usage(cmd, "--out path is too long");
	/* Check both before writing either, so a refusal leaves nothing half
	 * made. */
	if (access(path, F_OK) == 0)
		return cli_fail(cmd, "%s exists (refusing to overwrite a key)", path);
	if (access(pub, F_OK) == 0)
		return cli_fail(cmd, "%s exists (refusing to overwrite it)", pub);
	if (crypto_setup() != 0)
		return cli_fail(cmd, "cannot initialise the crypto library");

	crypto_keypair_new(&kp);
	rc = crypto_keyfile_write(path, &kp);
	if (rc == OS_EEXIST) {
		crypto_keypair_wipe(&kp);
		return cli_fail(cmd, "%s exists (refusing to overwrite a key)", path);
	}
	if (rc != 0) {
		crypto_keypair_wipe(&kp);
		return cli_fail(cmd, "cannot write %s: %s", path, os_strerror(rc));
	}
	rc = crypto_pubfile_write(pub, kp.sign_pk, kp.box_pk);
	if (rc != 0) {
		crypto_keypair_wipe(&kp);
		/* A key without its public file is half a result: remove it. */
		unlink(path);
		return cli_fail(cmd, "cannot write %s: %s", pub,
				rc == OS_EEXIST ? "it exists" : os_strerror(rc));
	}
	keys_print(kp.sign_pk, kp.box_pk);
	crypto_keypair_wipe(&kp);
	return CLI_OK;
}

static int keys_pubkey(const struct cli_cmd *cmd, const struct cli_args *a)
{
	struct os_keypair kp;
	os_sign_pk spk;
	os_box_pk bpk;

	const char *path = cli_need(cmd, a, "key");
	if (path == NULL)
		return CLI_USAGE;
	if (crypto_setup() != 0)
		return cli_fail(cmd, "cannot initialise the crypto library");
	int rc = crypto_keyfile_read(path, &kp);
	if (rc == 0) {
		keys_print(kp.sign_pk, kp.box_pk);
		crypto_keypair_wipe(&kp);
		return CLI_OK;
	}
	crypto_keypair_wipe(&kp);
	if (rc == OS_EKEY && crypto_pubfile_read(path, spk, bpk) == 0) {
		/* A public key file names the same keys. */
		keys_print(spk, bpk);
		return CLI_OK;
	}
	if (rc == OS_EIO)
		return cli_fail(cmd, "cannot read %s", path);
	return cli_fail(cmd, "%s is not a OneStop key file: %s", path, os_strerror(rc));
}

static const struct cli_opt keys_keygen_opts[] = {
	{"out", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};

static const struct cli_opt keys_pubkey_opts[] = {
	{"key", CLI_ARG, 0},
	{NULL, CLI_NOARG, 0},
};

const struct cli_cmd cli_keygen_cmd = {
	"keygen",
	"make a node key file and its .pub",
	"Usage: onestop keygen --out FILE\n"
	"\n"
	"Make a new node key (an Ed25519 signing key pair and an X25519 transport\n"
	"key pair). Writes the secret key file FILE (mode 0600) and the public\n"
	"key file FILE.pub, and prints\n"
	"  sign_public=HEX box_public=HEX\n"
	"Refuses to overwrite FILE or FILE.pub. Give FILE.pub to the registry\n"
	"operator (onestop registry add --pub FILE.pub); keep FILE secret.\n"
	"\n"
	"Options:\n"
	"  --out FILE   the key file to create (required)\n",
	keys_keygen_opts,
	keys_keygen,
	0,
};

const struct cli_cmd cli_pubkey_cmd = {
	"pubkey",
	"print the public keys of a key file",
	"Usage: onestop pubkey --key FILE\n"
	"\n"
	"Print the public keys of a node key file (or of a .pub file):\n"
	"  sign_public=HEX box_public=HEX\n"
	"The sign_public of the root key is the trust anchor of every daemon.\n"
	"\n"
	"Options:\n"
	"  --key FILE   the key file (required)\n",
	keys_pubkey_opts,
	keys_pubkey,
	0,
};
