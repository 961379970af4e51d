/* The hub tree of a federation: subtree membership and the hop of a
 * destination at one hub (tree.h). */
#include "tree.h"

#include <string.h>

#include "err.h"
#include "util.h"

static int tree_root(const char *prefix)
{
	return prefix == NULL || prefix[0] == '\0';
}

int tree_in_prefix(const char *name, const char *prefix)
{
	if (name == NULL || prefix == NULL || os_name_valid(name) != 0 ||
	    os_name_valid(prefix) != 0)
		return 0;
	size_t pl = strlen(prefix);
	return strncmp(name, prefix, pl) == 0 && (name[pl] == '\0' || name[pl] == '.');
}

int tree_route(const char *prefix, const char *const *children, size_t n, const char *dest,
	       size_t *child)
{
	if (dest == NULL || child == NULL || (children == NULL && n > 0) ||
	    os_name_valid(dest) != 0 || (!tree_root(prefix) && os_name_valid(prefix) != 0))
		return OS_EINVAL;
	size_t best = 0, best_len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = children[i] ? strlen(children[i]) : 0;
		if (l > best_len && tree_in_prefix(dest, children[i])) {
			best = i;
			best_len = l;
		}
	}
	if (best_len > 0) {
		*child = best;
		return TREE_CHILD;
	}
	if (tree_root(prefix) || tree_in_prefix(dest, prefix))
		return TREE_LOCAL;
	return TREE_UP;
}

int tree_check_children(const char *prefix, const char *const *children, size_t n, size_t *i,
			size_t *j)
{
	if (children == NULL && n > 0)
		return OS_EINVAL;
	if (!tree_root(prefix) && os_name_valid(prefix) != 0)
		return OS_ENAME;
	for (size_t a = 0; a < n; a++) {
		const char *c = children[a];
		if (c == NULL || os_name_valid(c) != 0 ||
		    (!tree_root(prefix) &&
		     (strcmp(c, prefix) == 0 || !tree_in_prefix(c, prefix)))) {
			if (i)
				*i = a;
			return OS_ENAME;
		}
		for (size_t b = 0; b < a; b++)
			if (tree_in_prefix(c, children[b]) || tree_in_prefix(children[b], c)) {
				if (i)
					*i = b;
				if (j)
					*j = a;
				return OS_ECONFLICT;
			}
	}
	return 0;
}
