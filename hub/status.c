/* `onestop-hub --status` (status.h). */
#include "status.h"

#include <stdio.h>

#include "err.h"

int status_print(const char *data_dir, size_t map_mb, const char *parent_name)
{
	(void)map_mb, (void)parent_name;
	fprintf(stderr, "onestop-hub: --status of %s: not built yet\n", data_dir);
	return OS_EINVAL;
}
