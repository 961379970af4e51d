/* The hub tree of a federation (docs/PROTOCOL.md section 13, draft): which
 * subtree a node name belongs to, and where a hub hands a message for a
 * destination: to its own nodes, down to the child hub serving the
 * destination's subtree, or up to its parent. Pure: no I/O, no registry. */
#ifndef OS_TREE_H
#define OS_TREE_H

#include <stddef.h>

/* 1 when name lies in the subtree of prefix: name is prefix itself, or
 * begins with prefix and a '.' ("gd.sz.market" is in "gd" and "gd.sz";
 * "gdx.a" is not in "gd"). 0 otherwise, also for a NULL argument or a
 * name or prefix that is not a node name (os_name_valid). */
int tree_in_prefix(const char *name, const char *prefix);

/* Where a hub hands a message for dest. */
enum tree_hop {
	TREE_LOCAL = 1, /* one of this hub's own nodes */
	TREE_CHILD = 2, /* down to the child hub *child */
	TREE_UP = 3,    /* up to this hub's parent */
};

/* The hop at a hub that serves the subtree prefix (NULL or "": the root,
 * which serves every name and has no parent) and has child hubs serving
 * children[0..n) (as tree_check_children accepts them). dest is a node
 * name. The longest child prefix holding dest wins (TREE_CHILD, *child its
 * index); else dest in prefix (always, at the root) is TREE_LOCAL; else
 * TREE_UP. Returns the hop, or OS_EINVAL for a NULL dest or child,
 * children NULL with n > 0, or a dest or prefix that is not a node name. */
int tree_route(const char *prefix, const char *const *children, size_t n, const char *dest,
	       size_t *child);

/* Check a set of child prefixes for tree_route: each a node name inside
 * prefix (NULL or "": anywhere), none equal to prefix, and none inside
 * another (their subtrees are disjoint). 0, OS_EINVAL (NULL with n > 0),
 * OS_ENAME (a prefix that is not a node name or not inside prefix), or
 * OS_ECONFLICT (two that overlap; *i and *j, may be NULL, name them). */
int tree_check_children(const char *prefix, const char *const *children, size_t n, size_t *i,
			size_t *j);

#endif
