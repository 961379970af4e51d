/* The hub's registry chain (chain.h). */
#include "chain.h"

#include "log.h"

void chain_from_child(struct hub *h, const char *node, const uint8_t *buf, size_t len)
{
	(void)h;
	os_log(OS_LOG_DEBUG, "registry_part_ignored", "node=%s bytes=%zu", node, len);
	(void)buf;
}

int chain_from_parent(struct hub *h, const uint8_t *buf, size_t len)
{
	(void)h, (void)buf;
	os_log(OS_LOG_DEBUG, "registry_chain_ignored", "bytes=%zu", len);
	return 0;
}
