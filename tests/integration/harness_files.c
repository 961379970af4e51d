/* Integration test harness, files: reading and appending the daemons' logs,
 * removing a test network's directory, and finding a free loopback port. */
#include "harness.h"
#include "harness_int.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

long file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return 0;
	return (long)st.st_size;
}

/* Read path from offset to the end into a malloc'd NUL-terminated buffer. */
char *read_from(const char *path, long off, size_t *len)
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

void append_text(const char *path, const char *text, size_t len)
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
void rm_tree(const char *dir)
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
int free_port(void)
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
