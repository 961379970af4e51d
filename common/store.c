/* The durable store over LMDB: environments, named databases, transactions
 * whose commit is fsync'd before it returns, and cursors. This is the only
 * file that includes lmdb.h. */
#include "store.h"

#include <errno.h>
#include <limits.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "err.h"
#include "log.h"
#include "util.h"

/* LMDB reads through a shared read-only map of the data file: every page
 * read stays mapped, so a process's resident size would grow to the size of
 * its largest backlog. Once the file is past STORE_MAP_KEEP bytes, the map
 * is dropped from the page tables (the pages stay in the page cache) at
 * most every STORE_MAP_RELEASE_US, after a write commit. */
#define STORE_MAP_KEEP ((size_t)8 << 20)
#define STORE_MAP_RELEASE_US 5000u
/* A write that failed with EIO while the file system has less than this
 * left for us was a short write on a full disk (LMDB reports those as
 * EIO): it is OS_ESTOREFULL. */
#define STORE_DISK_LOW ((uint64_t)1 << 20)
/* While the store stays full, one summary line this often. */
#define STORE_FULL_LOG_US 60000000u

struct store {
	MDB_env *env;
	size_t psize;
	void *map; /* LMDB's map of the data file, or NULL */
	size_t map_len;
	size_t map_size;      /* the map size it was found at */
	uint64_t released_us; /* when the map was last released */
	/* The full state, for its log lines: one when it begins, a summary
	 * every STORE_FULL_LOG_US while it lasts, one when space is back. */
	int full;
	uint64_t full_fails;  /* writes refused since the last line */
	uint64_t full_log_us; /* when the last line was written */
};

struct store_txn {
	struct store *s;
	MDB_txn *txn;
	int read_only;
	int full;                     /* a write found the store full: commit says so */
	struct store_cursor *cursors; /* open cursors, closed when the txn ends */
};

struct store_cursor {
	MDB_cursor *cur; /* NULL once its transaction ended */
	struct store_txn *t;
	struct store_cursor *next;
};

/* Map an LMDB or errno result to an OS code, logging the unexpected. */
static int store_err(int rc, const char *op)
{
	switch (rc) {
	case MDB_SUCCESS:
		return 0;
	case MDB_NOTFOUND:
		return OS_ENOTFOUND;
	case MDB_KEYEXIST:
		return OS_EEXIST;
	case MDB_MAP_FULL:
	case ENOSPC:
	case EDQUOT:
		return OS_ESTOREFULL; /* logged by store_full_note, rate-limited */
	case MDB_BAD_VALSIZE:
		return OS_EINVAL;
	case ENOMEM:
		return OS_ENOMEM;
	default:
		os_log(OS_LOG_ERROR, "store_error", "op=%s error=%s", op, OS_Q(mdb_strerror(rc)));
		return OS_ESTORE;
	}
}

/* A write failed because the store is full (op and the LMDB or errno rc
 * that said so): log the state change, or count it for the summary. */
static void store_full_note(struct store *s, const char *op, int rc)
{
	uint64_t now = os_mono_us();
	s->full_fails++;
	if (!s->full) {
		os_log(OS_LOG_WARN, "store_full",
		       "op=%s error=%s action=\"writes refused with ESTOREFULL until space is freed\"",
		       op, OS_Q(mdb_strerror(rc)));
	} else if (now - s->full_log_us >= STORE_FULL_LOG_US) {
		os_log(OS_LOG_WARN, "store_still_full", "refused=%llu seconds=%llu",
		       (unsigned long long)s->full_fails,
		       (unsigned long long)((now - s->full_log_us) / 1000000u));
	} else {
		return;
	}
	s->full = 1;
	s->full_fails = 0;
	s->full_log_us = now;
}

/* A write commit succeeded: the end of a full state. */
static void store_full_over(struct store *s)
{
	if (!s->full)
		return;
	os_log(OS_LOG_INFO, "store_space_back", "refused_since_last_line=%llu",
	       (unsigned long long)s->full_fails);
	s->full = 0;
	s->full_fails = 0;
}

/* 1 when the file system of the store has less than STORE_DISK_LOW bytes
 * left for this process: an EIO from a write was then a short write. */
static int store_disk_low(struct store *s)
{
	int fd = -1;
	struct statvfs v;
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstatvfs(fd, &v) != 0)
		return 0;
	return (uint64_t)v.f_bavail * v.f_frsize < STORE_DISK_LOW;
}

/* The OS code of a failed write or commit of s: store_err, except that a
 * full store is noted (and an EIO on a full disk is one). */
static int store_write_rc(struct store *s, int rc, const char *op)
{
	if (rc == EIO && store_disk_low(s))
		rc = ENOSPC;
	int e = store_err(rc, op);
	if (e == OS_ESTOREFULL)
		store_full_note(s, op, rc);
	return e;
}

/* mkdir -p with mode 0700 for every directory it creates. */
static int store_mkdirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t n = strlen(dir);
	if (n == 0 || n >= sizeof(buf))
		return OS_EIO;
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST) {
			os_log(OS_LOG_ERROR, "store_mkdir_failed", "dir=%s errno=%d", buf, errno);
			return OS_EIO;
		}
		buf[i] = c;
	}
	struct stat st;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return OS_EIO;
	return 0;
}

int store_open(const char *dir, size_t map_mb, unsigned max_dbs, struct store **out)
{
	int rc;
	struct store *s = NULL;
	MDB_env *env = NULL;
	if (dir == NULL || out == NULL)
		return OS_EINVAL;
	if ((rc = store_mkdirs(dir)) != 0)
		return rc;
	rc = OS_ESTORE;
	if (mdb_env_create(&env) != 0)
		goto out;
	if (mdb_env_set_maxdbs(env, max_dbs) != 0)
		goto out;
	if (map_mb > 0 && mdb_env_set_mapsize(env, map_mb << 20) != 0)
		goto out;
	/* Default sync flags: mdb_txn_commit fsyncs data and meta pages.
	 * MDB_NOTLS ties read transactions to the txn, not the thread. */
	int mrc = mdb_env_open(env, dir, MDB_NOTLS, 0600);
	if (mrc != 0) {
		os_log(OS_LOG_ERROR, "store_open_failed", "dir=%s error=%s", dir,
		       OS_Q(mdb_strerror(mrc)));
		rc = mrc == EACCES || mrc == ENOENT ? OS_EIO : OS_ESTORE;
		goto out;
	}
	/* Free reader slots left by processes that died (kill -9). */
	int dead = 0;
	mdb_reader_check(env, &dead);
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		rc = OS_ENOMEM;
		goto out;
	}
	s->env = env;
	MDB_stat est;
	s->psize = mdb_env_stat(env, &est) == 0 ? est.ms_psize : 4096;
	env = NULL;
	*out = s;
	rc = 0;
out:
	if (env != NULL)
		mdb_env_close(env);
	return rc;
}

void store_close(struct store **s)
{
	if (s == NULL || *s == NULL)
		return;
	mdb_env_close((*s)->env);
	free(*s);
	*s = NULL;
}

int store_dbi_open(struct store *s, const char *name, store_dbi *out)
{
	MDB_txn *txn = NULL;
	MDB_dbi dbi;
	int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
	if (rc != 0)
		return store_err(rc, "dbi_begin");
	rc = mdb_dbi_open(txn, name, MDB_CREATE, &dbi);
	if (rc != 0) {
		mdb_txn_abort(txn);
		return store_write_rc(s, rc, "dbi_open") == OS_ESTOREFULL ? OS_ESTOREFULL
									  : OS_ESTORE;
	}
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		return store_write_rc(s, rc, "dbi_commit") == OS_ESTOREFULL ? OS_ESTOREFULL
									    : OS_ESTORE;
	*out = dbi;
	return 0;
}

int store_begin(struct store *s, int read_only, struct store_txn **out)
{
	struct store_txn *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return OS_ENOMEM;
	int rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0, &t->txn);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size and retry. */
		mdb_env_set_mapsize(s->env, 0);
		rc = mdb_txn_begin(s->env, NULL, read_only ? MDB_RDONLY : 0, &t->txn);
	}
	if (rc != 0) {
		free(t);
		rc = store_err(rc, "begin");
		return rc == OS_ESTOREFULL ? OS_ESTOREFULL : OS_ESTORE;
	}
	t->read_only = read_only;
	t->s = s;
	*out = t;
	return 0;
}

/* Find LMDB's map of the data file among this process's mappings (LMDB
 * does not tell its address unless the map is fixed): the mapping of the
 * file's device and inode at offset 0. Leaves s->map NULL if not found. */
static void store_find_map(struct store *s, size_t mapsize)
{
	struct stat st;
	char line[512];
	int fd = -1;
	FILE *f;

	s->map = NULL;
	s->map_len = 0;
	s->map_size = mapsize;
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0)
		return;
	f = fopen("/proc/self/maps", "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long lo, hi, off, ino;
		unsigned maj, mnr;
		char perm[8];
		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &lo, &hi, perm, &off, &maj, &mnr,
			   &ino) != 7)
			continue;
		if (ino == (unsigned long)st.st_ino && maj == major(st.st_dev) &&
		    mnr == minor(st.st_dev) && off == 0 && hi > lo) {
			s->map = (void *)lo;
			s->map_len = hi - lo;
			break;
		}
	}
	fclose(f);
}

/* Drop the map's pages from this process's page tables when the file has
 * grown past STORE_MAP_KEEP (see there). Safe at any time: a shared file
 * mapping re-reads a dropped page from the page cache on the next access,
 * so pointers into the map keep their meaning. */
static void store_release_map(struct store *s)
{
	MDB_envinfo info;
	uint64_t now = os_mono_us();
	if (now - s->released_us < STORE_MAP_RELEASE_US)
		return;
	if (mdb_env_info(s->env, &info) != 0)
		return;
	size_t used = ((size_t)info.me_last_pgno + 1) * s->psize;
	if (used <= STORE_MAP_KEEP)
		return;
	if (info.me_mapsize != s->map_size)
		store_find_map(s, info.me_mapsize); /* the map was moved */
	if (s->map == NULL)
		return;
	s->released_us = now;
	(void)madvise(s->map, used < s->map_len ? used : s->map_len, MADV_DONTNEED);
}

/* Close the txn's cursors before LMDB frees them with the txn. */
static void store_txn_detach_cursors(struct store_txn *t)
{
	for (struct store_cursor *c = t->cursors; c != NULL; c = c->next) {
		if (c->cur != NULL)
			mdb_cursor_close(c->cur);
		c->cur = NULL;
		c->t = NULL;
	}
	t->cursors = NULL;
}

int store_commit(struct store_txn **tp)
{
	if (tp == NULL || *tp == NULL)
		return OS_EINVAL;
	struct store_txn *t = *tp;
	*tp = NULL;
	store_txn_detach_cursors(t);
	int rc;
	struct store *s = t->s;
	int wrote = !t->read_only;
	if (t->full) {
		mdb_txn_abort(t->txn);
		rc = OS_ESTOREFULL;
	} else {
		/* A full disk shows here too: ENOSPC or EDQUOT from a write or
		 * an fsync, or a short write (EIO with no space left). */
		rc = mdb_txn_commit(t->txn);
		rc = rc == 0 ? 0 : store_write_rc(s, rc, "commit");
		if (rc != 0 && rc != OS_ESTOREFULL)
			rc = OS_ESTORE;
	}
	free(t);
	if (wrote && rc == 0) {
		store_full_over(s);
		store_release_map(s);
	}
	return rc;
}

void store_abort(struct store_txn **tp)
{
	if (tp == NULL || *tp == NULL)
		return;
	struct store_txn *t = *tp;
	*tp = NULL;
	store_txn_detach_cursors(t);
	mdb_txn_abort(t->txn);
	free(t);
}

/* Record a write failure that dooms the txn (LMDB refuses further use). */
static int store_write_err(struct store_txn *t, int rc, const char *op)
{
	int e = store_write_rc(t->s, rc, op);
	if (e == OS_ESTOREFULL)
		t->full = 1;
	return e;
}

int store_get(struct store_txn *t, store_dbi db, const void *key, size_t klen, const void **val,
	      size_t *vlen)
{
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	MDB_val v;
	int rc = mdb_get(t->txn, db, &k, &v);
	if (rc != 0)
		return store_err(rc, "get");
	*val = v.mv_data;
	*vlen = v.mv_size;
	return 0;
}

int store_put(struct store_txn *t, store_dbi db, const void *key, size_t klen, const void *val,
	      size_t vlen)
{
	if (t->read_only)
		return OS_EINVAL;
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
	int rc = mdb_put(t->txn, db, &k, &v, 0);
	return rc == 0 ? 0 : store_write_err(t, rc, "put");
}

int store_append(struct store_txn *t, store_dbi db, const void *key, size_t klen, const void *val,
		 size_t vlen)
{
	if (t->read_only)
		return OS_EINVAL;
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	MDB_val v = {.mv_size = vlen, .mv_data = (void *)val};
	int rc = mdb_put(t->txn, db, &k, &v, MDB_APPEND);
	return rc == 0 ? 0 : store_write_err(t, rc, "append");
}

int store_del(struct store_txn *t, store_dbi db, const void *key, size_t klen)
{
	if (t->read_only)
		return OS_EINVAL;
	MDB_val k = {.mv_size = klen, .mv_data = (void *)key};
	int rc = mdb_del(t->txn, db, &k, NULL);
	return rc == 0 ? 0 : store_write_err(t, rc, "del");
}

int store_count(struct store_txn *t, store_dbi db, uint64_t *n)
{
	MDB_stat st;
	int rc = mdb_stat(t->txn, db, &st);
	if (rc != 0)
		return store_err(rc, "stat");
	*n = st.ms_entries;
	return 0;
}

int store_get_u64(struct store_txn *t, store_dbi db, const char *key, uint64_t def, uint64_t *out)
{
	const void *v;
	size_t vl;
	int rc = store_get(t, db, key, strlen(key), &v, &vl);
	if (rc == OS_ENOTFOUND) {
		*out = def;
		return 0;
	}
	if (rc != 0)
		return rc;
	if (vl != 8) {
		os_log(OS_LOG_ERROR, "store_bad_u64", "key=%s len=%zu", key, vl);
		return OS_ESTORE;
	}
	*out = os_get_u64be(v);
	return 0;
}

int store_put_u64(struct store_txn *t, store_dbi db, const char *key, uint64_t v)
{
	uint8_t b[8];
	os_put_u64be(b, v);
	return store_put(t, db, key, strlen(key), b, sizeof(b));
}

int store_cursor_open(struct store_txn *t, store_dbi db, struct store_cursor **out)
{
	struct store_cursor *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return OS_ENOMEM;
	int rc = mdb_cursor_open(t->txn, db, &c->cur);
	if (rc != 0) {
		free(c);
		return store_err(rc, "cursor_open");
	}
	c->t = t;
	c->next = t->cursors;
	t->cursors = c;
	*out = c;
	return 0;
}

void store_cursor_close(struct store_cursor **cp)
{
	if (cp == NULL || *cp == NULL)
		return;
	struct store_cursor *c = *cp;
	*cp = NULL;
	if (c->t != NULL) {
		for (struct store_cursor **pp = &c->t->cursors; *pp != NULL; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
	}
	if (c->cur != NULL)
		mdb_cursor_close(c->cur);
	free(c);
}

static int store_cursor_get(struct store_cursor *c, MDB_val *k, MDB_cursor_op op, const void **kp,
			    size_t *kl, const void **vp, size_t *vl)
{
	if (c->cur == NULL)
		return OS_EINVAL;
	MDB_val v;
	int rc = mdb_cursor_get(c->cur, k, &v, op);
	if (rc != 0)
		return store_err(rc, "cursor_get");
	if (kp != NULL)
		*kp = k->mv_data;
	if (kl != NULL)
		*kl = k->mv_size;
	if (vp != NULL)
		*vp = v.mv_data;
	if (vl != NULL)
		*vl = v.mv_size;
	return 0;
}

int store_cursor_seek(struct store_cursor *c, const void *key, size_t klen, const void **k,
		      size_t *kl, const void **v, size_t *vl)
{
	MDB_val mk = {.mv_size = klen, .mv_data = (void *)key};
	if (key == NULL)
		return store_cursor_get(c, &mk, MDB_FIRST, k, kl, v, vl);
	return store_cursor_get(c, &mk, MDB_SET_RANGE, k, kl, v, vl);
}

int store_cursor_next(struct store_cursor *c, const void **k, size_t *kl, const void **v,
		      size_t *vl)
{
	MDB_val mk = {0};
	return store_cursor_get(c, &mk, MDB_NEXT, k, kl, v, vl);
}

int store_cursor_last(struct store_cursor *c, const void **k, size_t *kl, const void **v,
		      size_t *vl)
{
	MDB_val mk = {0};
	return store_cursor_get(c, &mk, MDB_LAST, k, kl, v, vl);
}

int store_cursor_del(struct store_cursor *c)
{
	if (c->cur == NULL || c->t == NULL || c->t->read_only)
		return OS_EINVAL;
	int rc = mdb_cursor_del(c->cur, 0);
	return rc == 0 ? 0 : store_write_err(c->t, rc, "cursor_del");
}

/* ------------------------------------------------------------ walks */

static int store_key_before(const void *k, size_t kl, const void *end, size_t el)
{
	size_t n = kl < el ? kl : el;
	int c = memcmp(k, end, n);

	return c < 0 || (c == 0 && kl < el);
}

int store_walk(struct store_txn *t, store_dbi db, const void *prefix, size_t plen, const void *from,
	       size_t flen, store_walk_fn fn, void *arg)
{
	struct store_cursor *c = NULL;
	const void *k, *v;
	size_t kl, vl;
	int rc;

	if (!from || (plen > 0 && store_key_before(from, flen, prefix, plen))) {
		from = plen > 0 ? prefix : NULL;
		flen = plen;
	}
	rc = store_cursor_open(t, db, &c);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, from, flen, &k, &kl, &v, &vl); rc == 0;
	     rc = store_cursor_next(c, &k, &kl, &v, &vl)) {
		int what;

		if (plen > 0 && (kl < plen || memcmp(k, prefix, plen) != 0))
			break;
		what = fn(arg, k, kl, v, vl);
		if (what < 0 || what == STORE_STOP) {
			rc = what < 0 ? what : 0;
			goto out;
		}
		if (what == STORE_DROP && (rc = store_cursor_del(c)) != 0)
			goto out;
	}
	rc = rc == OS_ENOTFOUND || rc == 0 ? 0 : rc;
out:
	store_cursor_close(&c);
	return rc;
}

int store_del_range(struct store_txn *t, store_dbi db, const void *from, size_t flen,
		    const void *to, size_t tlen, uint64_t max, uint64_t *deleted, int *more)
{
	struct store_cursor *c = NULL;
	const void *k;
	size_t kl;
	uint64_t n = 0;
	int rc;

	if (more)
		*more = 0;
	if (t->read_only)
		return OS_EINVAL;
	rc = store_cursor_open(t, db, &c);
	if (rc)
		return rc;
	for (rc = store_cursor_seek(c, from, flen, &k, &kl, NULL, NULL); rc == 0;
	     rc = store_cursor_next(c, &k, &kl, NULL, NULL)) {
		if (to && !store_key_before(k, kl, to, tlen))
			break;
		if (max && n == max) {
			if (more)
				*more = 1;
			break;
		}
		if ((rc = store_cursor_del(c)) != 0)
			goto out;
		n++;
	}
	rc = rc == OS_ENOTFOUND || rc == 0 ? 0 : rc;
out:
	store_cursor_close(&c);
	if (deleted)
		*deleted = n;
	return rc;
}
