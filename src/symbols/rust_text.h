/* SPDX-License-Identifier: MIT */
/*
 * The text a Rust demangler writes (demangle_rust.c, demangle_rust_v0.c):
 * a caller's buffer filled up to its size and no further, UTF-8 kept whole.
 */
#ifndef SYSSCOPE_RUST_TEXT_H
#define SYSSCOPE_RUST_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rust_text {
	char *out;
	size_t cap;		/* out's size, at least 1 (the NUL) */
	size_t used;		/* bytes written before the NUL */
	bool truncated;		/* some text did not fit */
	unsigned skip;		/* > 0: parts not shown, nothing written */
};

void rust_text__put_n(struct rust_text *t, const char *s, size_t n);
void rust_text__put(struct rust_text *t, const char *s);
void rust_text__put_u64(struct rust_text *t, uint64_t v);
/* cp must be a Unicode scalar value. */
void rust_text__put_utf8(struct rust_text *t, uint32_t cp);
/* cp as inside quote marks (' or "), escaped as Rust's {:?} writes it. */
void rust_text__put_escaped(struct rust_text *t, uint32_t cp, char quote);
/*
 * What follows a symbol's mangled part: ".llvm.<hex>" (LLVM's, on names it
 * made local) is dropped, ".cold" or "$..." kept. -EINVAL: not a suffix.
 */
int rust_text__put_suffix(struct rust_text *t, const char *s, size_t n);
/* NUL-terminates, between whole characters: 0, or -ENOSPC if truncated. */
int rust_text__finish(struct rust_text *t);

bool rust_text__is_scalar(uint64_t cp);		/* a Unicode scalar value */
bool rust_text__is_control(uint32_t cp);	/* C0, DEL, C1 */
/* Length of the valid UTF-8 character at s (n bytes) into *cp, or 0. */
size_t rust_text__utf8_char(const unsigned char *s, size_t n, uint32_t *cp);

#endif
