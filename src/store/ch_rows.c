// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "ch_rows.h"

void ch_buf__free(struct ch_buf *b)
{
	free(b->data);
	*b = (struct ch_buf){ 0 };
}

void ch_buf__put(struct ch_buf *b, const void *data, size_t len)
{
	if (b->err || !len)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *p;

		while (cap < b->len + len)
			cap *= 2;
		p = realloc(b->data, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

/* RowBinary is little-endian, as this machine. */
void ch_buf__u8(struct ch_buf *b, uint8_t v) { ch_buf__put(b, &v, 1); }
void ch_buf__u16(struct ch_buf *b, uint16_t v) { ch_buf__put(b, &v, 2); }
void ch_buf__u32(struct ch_buf *b, uint32_t v) { ch_buf__put(b, &v, 4); }
void ch_buf__u64(struct ch_buf *b, uint64_t v) { ch_buf__put(b, &v, 8); }

void ch_buf__varint(struct ch_buf *b, uint64_t v)
{
	uint8_t out[10];
	size_t n = 0;

	do {
		out[n] = v & 0x7f;
		v >>= 7;
		out[n++] |= v ? 0x80 : 0;
	} while (v);
	ch_buf__put(b, out, n);
}

void ch_buf__string(struct ch_buf *b, const char *s, size_t len)
{
	ch_buf__varint(b, len);
	ch_buf__put(b, s, len);
}

static int take(struct ch_reader *r, void *out, size_t n)
{
	if (r->off > r->len || r->len - r->off < n)
		return -EBADMSG;
	memcpy(out, r->p + r->off, n);
	r->off += n;
	return 0;
}

int ch_reader__u8(struct ch_reader *r, uint8_t *v) { return take(r, v, 1); }
int ch_reader__u32(struct ch_reader *r, uint32_t *v) { return take(r, v, 4); }
int ch_reader__u64(struct ch_reader *r, uint64_t *v) { return take(r, v, 8); }

int ch_reader__varint(struct ch_reader *r, uint64_t *v)
{
	uint64_t out = 0;
	uint8_t byte;

	for (int shift = 0; shift < 64; shift += 7) {
		if (take(r, &byte, 1))
			return -EBADMSG;
		out |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80)) {
			*v = out;
			return 0;
		}
	}
	return -EBADMSG;
}

int ch_reader__string(struct ch_reader *r, const char **s, size_t *len)
{
	uint64_t n;

	if (ch_reader__varint(r, &n) || n > r->len - r->off)
		return -EBADMSG;
	*s = (const char *)r->p + r->off;
	*len = n;
	r->off += n;
	return 0;
}

static const char kind_chars[] = {
	[FRAME_USER] = 'u', [FRAME_KERNEL] = 'k', [FRAME_PROCESS] = 'p',
	[FRAME_MARKER] = 'm', [FRAME_GROUP] = 'g',
};

char ch_frame__kind_char(enum frame_kind kind)
{
	return (unsigned int)kind < sizeof(kind_chars) ? kind_chars[kind] : 'm';
}

enum frame_kind ch_frame__kind(char c)
{
	for (size_t i = 0; i < sizeof(kind_chars); i++)
		if (kind_chars[i] == c)
			return (enum frame_kind)i;
	return FRAME_MARKER;
}

/* FNV-1a over each frame and a separator, then a 64-bit finalizer. */
uint64_t ch_stack__hash(const char *const *frames, const size_t *lens,
			size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < lens[i]; j++)
			h = (h ^ (uint8_t)frames[i][j]) * 1099511628211ULL;
		h = (h ^ 0xffu) * 1099511628211ULL;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}
