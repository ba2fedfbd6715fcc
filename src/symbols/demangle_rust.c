// SPDX-License-Identifier: MIT
/*
 * Rust symbol demangling (see demangle_rust.h): v0 names go to
 * demangle_rust_v0.c; legacy ones are read here. A legacy name is an
 * Itanium C++ nested name whose last element is rustc's hash:
 *   _ZN <len><element> ... 17h<16 hex digits> E [suffix]
 * with "..", "$LT$", "$u7b$" and the like standing for "::", "<", "{".
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "demangle_rust.h"
#include "demangle_rust_v0.h"
#include "rust_text.h"

#define LEGACY_HASH_LEN	17	/* "h" and 16 hex digits */

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_hex(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f');
}

static bool is_ident_char(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

static const struct {
	const char *code, *text;
} legacy_escapes[] = {
	{ "SP", "@" }, { "BP", "*" }, { "RF", "&" }, { "LT", "<" },
	{ "GT", ">" }, { "LP", "(" }, { "RP", ")" }, { "C", "," },
};

/* The n characters between two '$' at s: an escape above, or "u<hex>". */
static int legacy_escape(struct rust_text *t, const char *s, size_t n)
{
	uint32_t cp = 0;

	for (size_t i = 0; i < sizeof(legacy_escapes) / sizeof(legacy_escapes[0]); i++) {
		if (strlen(legacy_escapes[i].code) == n &&
		    !memcmp(s, legacy_escapes[i].code, n)) {
			rust_text__put(t, legacy_escapes[i].text);
			return 0;
		}
	}
	if (n < 2 || n > 7 || s[0] != 'u')
		return -EINVAL;
	for (size_t i = 1; i < n; i++) {
		if (!is_hex(s[i]))
			return -EINVAL;
		cp = cp << 4 | (uint32_t)(is_digit(s[i]) ? s[i] - '0' : s[i] - 'a' + 10);
	}
	/* Shown names get no control characters (a folded line is one line). */
	if (!rust_text__is_scalar(cp) || rust_text__is_control(cp))
		return -EINVAL;
	rust_text__put_utf8(t, cp);
	return 0;
}

static int legacy_element(struct rust_text *t, const char *s, size_t n)
{
	/* An element that would start with '$' has a '_' before it. */
	size_t i = n >= 2 && s[0] == '_' && s[1] == '$' ? 1 : 0;
	const char *close;
	int err;

	while (i < n) {
		if (s[i] == '$') {
			close = memchr(s + i + 1, '$', n - i - 1);
			if (!close)
				return -EINVAL;
			err = legacy_escape(t, s + i + 1, (size_t)(close - s) - i - 1);
			if (err)
				return err;
			i = (size_t)(close - s) + 1;
		} else if (s[i] == '.') {
			bool pair = i + 1 < n && s[i + 1] == '.';

			rust_text__put(t, pair ? "::" : ".");
			i += pair ? 2 : 1;
		} else if (is_ident_char((unsigned char)s[i])) {
			rust_text__put_n(t, s + i, 1);
			i++;
		} else {
			return -EINVAL;
		}
	}
	return 0;
}

/* <len><bytes> at *p (before end): the element in *s and *n, *p past it. */
static int legacy_next(const char **p, const char *end, const char **s, size_t *n)
{
	size_t len = 0;

	/* No leading zero, as in C++ names; never longer than what is left. */
	if (*p == end || !is_digit(**p) || **p == '0')
		return -EINVAL;
	while (*p < end && is_digit(**p)) {
		len = len * 10 + (size_t)(*(*p)++ - '0');
		if (len > (size_t)(end - *p))
			return -EINVAL;
	}
	if (len > (size_t)(end - *p))
		return -EINVAL;
	*s = *p;
	*n = len;
	*p += len;
	return 0;
}

static bool is_legacy_hash(const char *s, size_t n)
{
	if (n != LEGACY_HASH_LEN || s[0] != 'h')
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_hex(s[i]))
			return false;
	return true;
}

/* in[0..len) follows "_ZN". */
static int demangle_rust_legacy(const char *in, size_t len, struct rust_text *t)
{
	const char *p = in, *end = in + len, *s = NULL, *first = NULL, *hash;
	size_t n = 0, elements = 0;
	int err;

	/* First the shape: elements up to 'E', the last one the hash. */
	while (p < end && *p != 'E') {
		if (legacy_next(&p, end, &s, &n))
			return -EINVAL;
		if (!elements++)
			first = s;
	}
	if (p == end || elements < 2 || !is_legacy_hash(s, n))
		return -EINVAL;
	hash = s;
	for (p = in; legacy_next(&p, end, &s, &n) == 0 && s != hash;) {
		if (s != first)
			rust_text__put(t, "::");
		err = legacy_element(t, s, n);
		if (err)
			return err;
	}
	p = hash + LEGACY_HASH_LEN + 1;		/* past the 'E' */
	return rust_text__put_suffix(t, p, (size_t)(end - p));
}

int demangle_rust(const char *name, char *out, size_t len)
{
	struct rust_text text = { .out = out, .cap = len };
	size_t n = strnlen(name, DEMANGLE_RUST_MAX_IN + 1);
	int err;

	if (n > DEMANGLE_RUST_MAX_IN)
		return -E2BIG;
	if (n > 2 && !memcmp(name, "_R", 2)) {
		if (!len)
			return -ENOSPC;
		err = demangle_rust_v0(name + 2, n - 2, &text);
	} else if (n > 3 && !memcmp(name, "_ZN", 3)) {
		if (!len)
			return -ENOSPC;
		err = demangle_rust_legacy(name + 3, n - 3, &text);
	} else {
		return -EINVAL;
	}
	return err ? err : rust_text__finish(&text);
}
