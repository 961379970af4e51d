/* Integration test harness internals: the helpers its parts (harness_*.c)
 * share. Not for tests; they include harness.h only. */
#ifndef OS_IT_HARNESS_INT_H
#define OS_IT_HARNESS_INT_H

#include <stddef.h>

struct net;

/* harness_check.c: the networks whose daemons a fatal check or the
 * process's exit kills (SIGKILL to every running daemon). */
void net_register(struct net *n);
void net_unregister(struct net *n);
void kill_all_children(void);

/* harness_files.c */
/* Size of path in bytes, 0 when it cannot be read. */
long file_size(const char *path);
/* Read path from offset to the end into a malloc'd NUL-terminated buffer
 * (*len bytes); NULL when it cannot be read. */
char *read_from(const char *path, long off, size_t *len);
/* Append len bytes of text to path (created 0644); errors are ignored. */
void append_text(const char *path, const char *text, size_t len);
/* Remove a directory tree (only under /tmp), not following links. */
void rm_tree(const char *dir);
/* A TCP port on 127.0.0.1 that was free a moment ago, or -1. */
int free_port(void);

/* Most arguments of one CLI command line the harness builds. */
#define CLI_MAX_ARGS 64

/* harness_net.c */
struct net_kv;
struct net_proc;
/* Run `onestop keygen --out path` (also writes path.pub); sign_pub_hex
 * (may be NULL; 65 bytes) gets its sign_public. 0 or -1. */
int net_keygen(struct net *n, const char *path, char *sign_pub_hex);
/* Write an INI file from defaults with overrides applied (same key
 * replaces, NULL value removes, new keys appended). 0 or -1. */
int net_conf_write(const char *path, const struct net_kv *defs, size_t n_defs,
		   const struct net_kv *over);
/* Reset *p to a stopped daemon called name with n's default paths (log,
 * key, data directory, config, API endpoint). */
void net_proc_init(struct net *n, struct net_proc *p, const char *name, int is_hub);

/* harness_cmd.c: in a forked child before exec (async-signal-safe only):
 * die with the parent, default SIGPIPE, close inherited descriptors. */
void child_prepare(void);

#endif
