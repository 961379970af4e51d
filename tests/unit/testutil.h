/* Helpers shared by the unit tests: temporary directories under /tmp that
 * are removed at the end, and small file helpers. */
#ifndef OS_TESTUTIL_H
#define OS_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A fresh directory /tmp/onestop-test-XXXXXX; malloc'd path or NULL. */
static inline char *tu_mkdtemp(void)
{
	char *p = strdup("/tmp/onestop-test-XXXXXX");
	if (p != NULL && mkdtemp(p) == NULL) {
		free(p);
		return NULL;
	}
	return p;
}

/* Remove path and, for a directory, everything under it. */
static inline void tu_rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		if (d != NULL) {
			struct dirent *de;
			while ((de = readdir(d)) != NULL) {
				if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
					continue;
				char sub[4096];
				int w = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
				if (w > 0 && (size_t)w < sizeof(sub))
					tu_rm_tree(sub);
			}
			closedir(d);
		}
		rmdir(path);
	} else {
		unlink(path);
	}
}

/* Remove a tree and free its path. */
static inline void tu_rmrf(char *path)
{
	if (path == NULL)
		return;
	tu_rm_tree(path);
	free(path);
}

/* dir + "/" + name into a static-free caller buffer. */
static inline void tu_path(char *out, size_t size, const char *dir, const char *name)
{
	snprintf(out, size, "%s/%s", dir, name);
}

/* Write text to a file (plain, for fixtures). 0 on success. */
static inline int tu_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	size_t n = strlen(text);
	int rc = fwrite(text, 1, n, f) == n ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

#endif
