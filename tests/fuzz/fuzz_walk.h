/* Readers for fuzz targets that walk decoded protobuf messages: touch every
 * byte field and string so that a bad pointer or length is caught, and trap
 * on what protobuf-c must never produce. Each target defines `sink`. */
#ifndef OS_FUZZ_WALK_H
#define OS_FUZZ_WALK_H

#include <string.h>

#include "onestop.pb-c.h"

#define fuzz_bytes(b) fuzz_bytes_into(&sink, (b))
#define fuzz_str(s) fuzz_str_into(&sink, (s))

static inline void fuzz_bytes_into(volatile uint64_t *sink, ProtobufCBinaryData b)
{
	if (b.len > 0 && b.data == NULL)
		__builtin_trap();
	for (size_t i = 0; i < b.len; i += 64)
		*sink += b.data[i];
	*sink += b.len;
}

static inline void fuzz_str_into(volatile uint64_t *sink, const char *s)
{
	if (s == NULL)
		__builtin_trap();
	*sink += strlen(s);
}

#endif
