/* libonestop internals: public structs passed with the size the caller
 * was compiled with (onestop.h "Growing structs"), so that they can grow
 * at their end without breaking programs built against an older header.
 * Not installed; only spoke/lib includes it. */
#ifndef ONESTOP_SIZED_H
#define ONESTOP_SIZED_H

#include <stddef.h>
#include <string.h>

#include "onestop.h"

/* The size of a struct's first published layout (version 0.1), padding
 * included: the end of its last field then, rounded up to its alignment.
 * A later version adds fields after that size only, and does not raise
 * the struct's alignment, so this stays the smallest size a caller may
 * pass. */
#define SIZED_V1(type, last)                                                       \
	((offsetof(type, last) + sizeof(((type *)0)->last) + _Alignof(type) - 1) / \
	 _Alignof(type) * _Alignof(type))

#define SIZED_OUT_V1 SIZED_V1(onestop_out_t, ttl_s)
#define SIZED_MSG_V1 SIZED_V1(onestop_msg_t, len)
#define SIZED_STATUS_V1 SIZED_V1(onestop_status_t, received)
#define SIZED_DEADLETTER_V1 SIZED_V1(onestop_deadletter_t, refused_by)
#define SIZED_ENTRY_V1 SIZED_V1(onestop_entry_t, updated_ms)
#define SIZED_LIST_V1 SIZED_V1(onestop_list_t, limit)
#define SIZED_PUT_V1 SIZED_V1(onestop_put_t, len)
#define SIZED_DATASET_V1 SIZED_V1(onestop_dataset_t, syncing)
#define SIZED_STATS_ROW_V1 SIZED_V1(onestop_stats_row_t, hall_share)
#define SIZED_IDENTITY_V1 SIZED_V1(onestop_identity_t, updated_ms)
#define SIZED_ITEM_V1 SIZED_V1(onestop_item_t, min_level)
#define SIZED_ASSERTION_V1 SIZED_V1(onestop_assertion_t, expires_ms)
#define SIZED_CASE_FILING_V1 SIZED_V1(onestop_case_filing_t, key_len)
#define SIZED_CASE_ACT_V1 SIZED_V1(onestop_case_act_t, licence_days)
#define SIZED_CASE_ACTED_V1 SIZED_V1(onestop_case_acted_t, licence)
#define SIZED_CASE_V1 SIZED_V1(onestop_case_t, n_uploads)
#define SIZED_CASE_FILTER_V1 SIZED_V1(onestop_case_filter_t, limit)
#define SIZED_LICENCE_V1 SIZED_V1(onestop_licence_t, revoked)

/* 0 when a caller's size is usable for a struct whose first layout is v1
 * bytes and whose alignment is align (at least v1, a multiple of align, so
 * arrays of it stay aligned), else ONESTOP_EINVAL. */
static inline int sized_check(size_t size, size_t v1, size_t align)
{
	return size >= v1 && size % align == 0 ? 0 : ONESTOP_EINVAL;
}

/* Copy the caller's struct src (size bytes) into the library's dst (own
 * bytes): fields the caller does not have are zero. ONESTOP_EINVAL when the
 * caller's bytes beyond the library's struct (fields of a newer version)
 * are not all zero: the caller asks for something this library cannot do. */
static inline int sized_in(void *dst, size_t own, const void *src, size_t size)
{
	const unsigned char *s = src;
	memset(dst, 0, own);
	memcpy(dst, src, size < own ? size : own);
	for (size_t i = own; i < size; i++)
		if (s[i] != 0)
			return ONESTOP_EINVAL;
	return 0;
}

/* Copy the library's struct src (own bytes) into the caller's dst (size
 * bytes); fields this library does not know are zeroed. */
static inline void sized_out(void *dst, size_t size, const void *src, size_t own)
{
	memcpy(dst, src, size < own ? size : own);
	if (size > own)
		memset((unsigned char *)dst + own, 0, size - own);
}

#endif
