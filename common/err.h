/* Error codes shared by every OneStop module and carried on the wire
 * (LinkError.code, ApiReply.code, DeadLetter.code). Functions return 0 or
 * one of these negative codes; os_strerror() names each one. */
#ifndef OS_ERR_H
#define OS_ERR_H

enum os_err {
	OS_OK = 0,
	OS_EINVAL = -1,         /* invalid argument or request */
	OS_ENOMEM = -2,         /* out of memory */
	OS_EIO = -3,            /* file or socket I/O failed */
	OS_ESTORE = -4,         /* LMDB store failed */
	OS_EBADSIG = -5,        /* signature or Merkle path does not verify */
	OS_EDECODE = -6,        /* malformed protobuf or field */
	OS_ETOOBIG = -7,        /* message larger than allowed */
	OS_EEXPIRED = -8,       /* message or registry expired */
	OS_EUNKNOWN = -9,       /* node not in the registry */
	OS_EREVOKED = -10,      /* node revoked or suspended */
	OS_ENOTALLOWED = -11,   /* message type or action not allowed */
	OS_EFULL = -12,         /* quota exhausted, retry later */
	OS_EAGAIN = -13,        /* try again */
	OS_ETIMEDOUT = -14,     /* timed out */
	OS_ENOTFOUND = -15,     /* no such entry */
	OS_EEXIST = -16,        /* already exists */
	OS_ECONFIG = -17,       /* bad configuration */
	OS_EORIGIN = -18,       /* envelope origin is not the authenticated node */
	OS_EPROTO = -19,        /* protocol violation */
	OS_ECONN = -20,         /* cannot reach the peer */
	OS_EHELLO = -21,        /* link session unknown: send Hello first */
	OS_EREPLAY = -22,       /* message id already seen */
	OS_ENAME = -23,         /* malformed node or topic name */
	OS_EKEY = -24,          /* bad or missing key */
	OS_EAUDIENCE = -25,     /* assertion is for another audience */
	OS_ELEVEL = -26,        /* real-name level too low */
	OS_ESUBJECT = -27,      /* subject unknown, or not active */
	OS_EISSUER = -28,       /* assertion issuer is not an active idp */
	OS_EGAP = -29,          /* dataset change out of sequence */
	OS_ESTOREFULL = -30,    /* the store (disk or map size) is full */
	OS_ENOSUBSCRIBER = -31, /* topic has no subscriber */
	OS_EPEER = -32,         /* local peer (uid/gid) not allowed */
	OS_ESTATE = -33,        /* transition not allowed in the case's state */
	OS_ECONFLICT = -34,     /* another transition holds this case version */
	OS_EOFFLINE = -35,      /* item must be done offline */
	OS_EMATERIAL = -36,     /* required material missing */
};
#define OS_ERR_MIN (-36)

/* The readable message for code; a static string, never NULL. */
const char *os_strerror(int code);

/* The short symbolic name for code ("EBADSIG"); static, never NULL. */
const char *os_errname(int code);

#endif
