/* Error codes of OneStop: one table gives each code its symbolic name and
 * its readable message, so every module and every wire error speaks the
 * same words. */
#include "err.h"

#include <stddef.h>

struct err_entry {
	const char *name;
	const char *msg;
};

/* Indexed by -code. */
static const struct err_entry err_table[] = {
	[0] = {"OK", "success"},
	[1] = {"EINVAL", "invalid argument or request"},
	[2] = {"ENOMEM", "out of memory"},
	[3] = {"EIO", "file or socket I/O failed"},
	[4] = {"ESTORE", "store (LMDB) failed"},
	[5] = {"EBADSIG", "signature or Merkle path does not verify"},
	[6] = {"EDECODE", "malformed message or field"},
	[7] = {"ETOOBIG", "message larger than allowed"},
	[8] = {"EEXPIRED", "message or registry expired"},
	[9] = {"EUNKNOWN", "node not in the registry"},
	[10] = {"EREVOKED", "node revoked or suspended"},
	[11] = {"ENOTALLOWED", "message type or action not allowed"},
	[12] = {"EFULL", "quota exhausted, retry later"},
	[13] = {"EAGAIN", "try again"},
	[14] = {"ETIMEDOUT", "timed out"},
	[15] = {"ENOTFOUND", "no such entry"},
	[16] = {"EEXIST", "already exists"},
	[17] = {"ECONFIG", "bad configuration"},
	[18] = {"EORIGIN", "envelope origin is not the authenticated node"},
	[19] = {"EPROTO", "protocol violation"},
	[20] = {"ECONN", "cannot reach the peer"},
	[21] = {"EHELLO", "link session unknown: send Hello first"},
	[22] = {"EREPLAY", "message id already seen"},
	[23] = {"ENAME", "malformed node or topic name"},
	[24] = {"EKEY", "bad or missing key"},
	[25] = {"EAUDIENCE", "assertion is for another audience"},
	[26] = {"ELEVEL", "real-name level too low"},
	[27] = {"ESUBJECT", "subject unknown or not active"},
	[28] = {"EISSUER", "assertion issuer is not an active identity provider"},
	[29] = {"EGAP", "dataset change out of sequence"},
	[30] = {"ESTOREFULL", "store full (disk or map size)"},
	[31] = {"ENOSUBSCRIBER", "topic has no subscriber"},
	[32] = {"EPEER", "local peer not allowed"},
	[33] = {"ESTATE", "transition not allowed in the case's state"},
	[34] = {"ECONFLICT", "another transition holds this case version"},
	[35] = {"EOFFLINE", "item must be done offline"},
	[36] = {"EMATERIAL", "required material missing"},
};

_Static_assert(sizeof(err_table) / sizeof(err_table[0]) == 1 - OS_ERR_MIN,
	       "every error code needs a table entry");

static const struct err_entry *err_lookup(int code)
{
	if (code > 0 || code < OS_ERR_MIN)
		return NULL;
	return &err_table[-code];
}

const char *os_strerror(int code)
{
	const struct err_entry *e = err_lookup(code);
	return e ? e->msg : "unknown error";
}

const char *os_errname(int code)
{
	const struct err_entry *e = err_lookup(code);
	return e ? e->name : "EUNKNOWNCODE";
}
