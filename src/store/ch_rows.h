/* SPDX-License-Identifier: MIT */
/*
 * ClickHouse's RowBinary format, both ways: a growing byte buffer to
 * encode rows into, and a bounds-checked reader for answers (a truncated
 * or hostile answer is -EBADMSG, never a read past the end).
 *
 * Also how a stack is stored: each frame as one string, its kind as the
 * first character ('u' user, 'k' kernel, 'p' process, 'm' marker, 'g'
 * group) and its name after; the stack's key is a 64-bit hash of those
 * strings, root first.
 */
#ifndef SYSSCOPE_CH_ROWS_H
#define SYSSCOPE_CH_ROWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "profile.h"

struct ch_buf {
	uint8_t *data;
	size_t len, cap;
	int err;		/* sticky: the first -ENOMEM */
};

void ch_buf__free(struct ch_buf *b);
void ch_buf__put(struct ch_buf *b, const void *data, size_t len);
void ch_buf__u8(struct ch_buf *b, uint8_t v);
void ch_buf__u16(struct ch_buf *b, uint16_t v);
void ch_buf__u32(struct ch_buf *b, uint32_t v);
void ch_buf__u64(struct ch_buf *b, uint64_t v);
/* LEB128, as RowBinary writes string and array lengths. */
void ch_buf__varint(struct ch_buf *b, uint64_t v);
void ch_buf__string(struct ch_buf *b, const char *s, size_t len);

struct ch_reader {
	const uint8_t *p;
	size_t len, off;
};

/* Each: 0, or -EBADMSG when the bytes end first (or a varint is too long). */
int ch_reader__u8(struct ch_reader *r, uint8_t *v);
int ch_reader__u32(struct ch_reader *r, uint32_t *v);
int ch_reader__u64(struct ch_reader *r, uint64_t *v);
int ch_reader__varint(struct ch_reader *r, uint64_t *v);
/* A string, not copied: *s points into the reader's bytes. */
int ch_reader__string(struct ch_reader *r, const char **s, size_t *len);
static inline bool ch_reader__done(const struct ch_reader *r)
{
	return r->off >= r->len;
}

/* A frame's stored string ("u" "main"): its kind's letter, then its name. */
char ch_frame__kind_char(enum frame_kind kind);
/* The kind a stored string's first letter says; FRAME_MARKER if unknown. */
enum frame_kind ch_frame__kind(char c);

/* Hash of n stored frame strings: the stack's key. */
uint64_t ch_stack__hash(const char *const *frames, const size_t *lens,
			size_t n);

/* Days since 1970-01-01 (ClickHouse Date) of a CLOCK_REALTIME ns. */
static inline uint16_t ch_day(uint64_t real_ns)
{
	return (uint16_t)(real_ns / 1000000000ULL / 86400);
}

#endif
