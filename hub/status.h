/* `onestop-hub --status`: what a hub's store holds, read while it runs. */
#ifndef HUB_STATUS_H
#define HUB_STATUS_H

#include <stddef.h>

/* Open the store in data_dir read-only (nothing is written) and print the
 * backlog of every queue on stdout, the parent's queue (parent_name; NULL
 * when the hub has none) as "up" and each child hub's as "down"; the
 * parent and every child hub of the hub name (from the stored chain) get
 * a line even with nothing queued. 0, or an error printed on stderr. */
int status_print(const char *data_dir, size_t map_mb, const char *name, const char *parent_name);

#endif
