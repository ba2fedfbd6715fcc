/* SPDX-License-Identifier: MIT */
/*
 * The protobuf encoding primitives behind pprof__write, exposed only so the
 * unit test can check the wire bytes; nothing else should include this.
 */
#ifndef SYSSCOPE_PPROF_ENC_H
#define SYSSCOPE_PPROF_ENC_H

#include <stddef.h>
#include <stdint.h>

/*
 * A growable byte buffer. The first allocation failure is kept in err and
 * makes every later append a no-op, so encoders need not check each call.
 */
struct pb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	int err;		/* 0 or -ENOMEM */
};

void pb__put(struct pb_buf *b, const void *p, size_t n);
/* Base-128 varint, least significant group first (1 to 10 bytes). */
void pb__varint(struct pb_buf *b, uint64_t v);
void pb__buf_free(struct pb_buf *b);

#endif
