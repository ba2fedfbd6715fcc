// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: demangle_rust() (src/symbols/demangle_rust.c and
 * demangle_rust_v0.c, rust_text.c, punycode.c) on the input as a symbol
 * name (an exact-size copy, so a read past its NUL is caught), into a
 * large buffer and into a small one whose size the first byte picks.
 *
 * Promises checked: only the documented return values; the text is
 * NUL-terminated inside the buffer, valid UTF-8, with no control
 * character; the small buffer holds a prefix of the large one's text, cut
 * between characters (-ENOSPC exactly when the text did not fit).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "demangle_rust.h"
#include "fuzz_common.h"

#define BIG_OUT	8192

/* Valid UTF-8 (no overlong forms, surrogates) with no C0, DEL or C1 control. */
static bool is_clean_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 :
			     c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c < 0xf5 ? 4 : 0;
		uint32_t cp;

		if (!len || i + len > n)
			return false;
		cp = len == 1 ? c : c & (0x7f >> len);
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
			return false;
		i += len;
	}
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name = fuzz_strndup(data, size);
	char *big = malloc(BIG_OUT), *small;
	size_t small_size = size ? 1 + data[0] % 48 : 1, big_len, small_len;
	int err, small_err;

	FUZZ_CHECK(big);
	err = demangle_rust(name, big, BIG_OUT);
	FUZZ_CHECK(err == 0 || err == -ENOSPC || err == -EINVAL || err == -E2BIG);
	if (err && err != -ENOSPC)
		goto out;
	big_len = strnlen(big, BIG_OUT);
	FUZZ_CHECK(big_len < BIG_OUT);
	FUZZ_CHECK(is_clean_utf8((const unsigned char *)big, big_len));

	small = malloc(small_size);
	FUZZ_CHECK(small);
	small_err = demangle_rust(name, small, small_size);
	small_len = strnlen(small, small_size);
	FUZZ_CHECK(small_len < small_size);
	FUZZ_CHECK(is_clean_utf8((const unsigned char *)small, small_len));
	FUZZ_CHECK(small_len <= big_len && !memcmp(small, big, small_len));
	if (err == 0 && big_len < small_size)
		FUZZ_CHECK(small_err == 0 && small_len == big_len);
	else
		FUZZ_CHECK(small_err == -ENOSPC && small_size - small_len <= 4);
	free(small);
out:
	free(big);
	free(name);
	return 0;
}
