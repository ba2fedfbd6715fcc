// SPDX-License-Identifier: MIT
/* Text written by the Rust demanglers (see rust_text.h). */
#include <errno.h>
#include <string.h>

#include "rust_text.h"

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

void rust_text__put_n(struct rust_text *t, const char *s, size_t n)
{
	size_t room;

	if (t->skip || t->truncated)
		return;
	room = t->cap - 1 - t->used;
	if (n > room) {
		n = room;
		t->truncated = true;
	}
	memcpy(t->out + t->used, s, n);
	t->used += n;
}

void rust_text__put(struct rust_text *t, const char *s)
{
	rust_text__put_n(t, s, strlen(s));
}

void rust_text__put_u64(struct rust_text *t, uint64_t v)
{
	char buf[24], *p = buf + sizeof(buf);

	do {
		*--p = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	rust_text__put_n(t, p, (size_t)(buf + sizeof(buf) - p));
}

void rust_text__put_utf8(struct rust_text *t, uint32_t cp)
{
	char b[4];

	if (cp < 0x80) {
		b[0] = (char)cp;
		rust_text__put_n(t, b, 1);
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		rust_text__put_n(t, b, 2);
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | cp >> 12);
		b[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		rust_text__put_n(t, b, 3);
	} else {
		b[0] = (char)(0xf0 | cp >> 18);
		b[1] = (char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		rust_text__put_n(t, b, 4);
	}
}

bool rust_text__is_scalar(uint64_t cp)
{
	return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff);
}

bool rust_text__is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp < 0xa0);
}

void rust_text__put_escaped(struct rust_text *t, uint32_t cp, char quote)
{
	static const char hex[] = "0123456789abcdef";
	char esc[3] = { '\\', 0, 0 };

	switch (cp) {
	case '\t': esc[1] = 't'; break;
	case '\r': esc[1] = 'r'; break;
	case '\n': esc[1] = 'n'; break;
	case '\\': esc[1] = '\\'; break;
	case '\0': esc[1] = '0'; break;
	default:
		if (cp == (uint32_t)quote)
			esc[1] = quote;
	}
	if (esc[1]) {
		rust_text__put(t, esc);
	} else if (rust_text__is_control(cp)) {
		char u[] = "\\u{00}";

		u[3] = hex[cp >> 4];
		u[4] = hex[cp & 0xf];
		rust_text__put(t, u);
	} else {
		rust_text__put_utf8(t, cp);
	}
}

int rust_text__finish(struct rust_text *t)
{
	size_t lead = t->used;
	unsigned char c;

	if (t->truncated) {
		/* The last character's first byte, and whether it is whole. */
		while (lead > 0 && t->used - lead < 3 &&
		       ((unsigned char)t->out[lead - 1] & 0xc0) == 0x80)
			lead--;
		if (lead > 0) {
			c = (unsigned char)t->out[--lead];
			if (c >= 0xc0 && lead + (c >= 0xf0 ? 4u : c >= 0xe0 ? 3u : 2u) > t->used)
				t->used = lead;
		}
	}
	t->out[t->used] = '\0';
	return t->truncated ? -ENOSPC : 0;
}

size_t rust_text__utf8_char(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len = s[0] < 0x80 ? 1 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 :
		     s[0] >= 0xe0 && s[0] < 0xf0 ? 3 : s[0] >= 0xf0 && s[0] < 0xf5 ? 4 : 0;
	static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };

	if (!len || len > n)
		return 0;
	*cp = len == 1 ? s[0] : s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		*cp = *cp << 6 | (s[i] & 0x3f);
	}
	return *cp >= min[len] && rust_text__is_scalar(*cp) ? len : 0;
}

/* What LLVM appends to names it makes local: ".llvm." then hex. */
static bool is_llvm_suffix(const char *s, size_t n)
{
	if (n < 6 || memcmp(s, ".llvm.", 6))
		return false;
	for (size_t i = 6; i < n; i++)
		if (!is_digit(s[i]) && !(s[i] >= 'A' && s[i] <= 'F') && s[i] != '@')
			return false;
	return true;
}

int rust_text__put_suffix(struct rust_text *t, const char *s, size_t n)
{
	if (!n || is_llvm_suffix(s, n))
		return 0;
	if (s[0] != '.' && s[0] != '$')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!is_ident_char((unsigned char)s[i]) && s[i] != '.' && s[i] != '$')
			return -EINVAL;
	rust_text__put_n(t, s, n);
	return 0;
}

