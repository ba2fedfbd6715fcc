/* SPDX-License-Identifier: MIT */
/*
 * Rust symbol names made readable, in both of rustc's manglings:
 *   v0 (RFC 2603)  "_RNvNtCs1a2b_3std2rt19lang_start_internal"
 *                   -> "std::rt::lang_start_internal"
 *   legacy         "_ZN4core3ptr13drop_in_place17h0123456789abcdefE"
 *                   -> "core::ptr::drop_in_place"
 * The text is that of rustc-demangle's plain (non-"{:#}") display without
 * hashes: no crate disambiguators ("std", not "std[a1b2]"), no legacy
 * "::h<16 hex>"; integer constants keep their type ("4usize"); Punycode
 * identifiers are decoded to UTF-8; a ".llvm.<hex>" suffix is dropped and
 * other suffixes (".cold") are kept.
 */
#ifndef SYSSCOPE_DEMANGLE_RUST_H
#define SYSSCOPE_DEMANGLE_RUST_H

#include <stddef.h>

/* Longer names are refused (-E2BIG). */
#define DEMANGLE_RUST_MAX_IN 4096

/*
 * Writes the readable form of the Rust symbol name into out, at most len
 * bytes with the NUL. Returns 0, or:
 *   -ENOSPC  it did not fit: out holds as much as fits, cut between
 *            UTF-8 characters (nothing is written when len is 0);
 *   -EINVAL  name is not a Rust symbol, or is malformed;
 *   -E2BIG   name is longer than DEMANGLE_RUST_MAX_IN, nests deeper than
 *            the demangler follows, or its backreferences would make it
 *            work for too long.
 * After an error other than -ENOSPC, out holds unspecified text.
 * name is read up to its NUL and never past it.
 */
int demangle_rust(const char *name, char *out, size_t len);

#endif
