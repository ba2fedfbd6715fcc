/* SPDX-License-Identifier: MIT */
/*
 * Rust's v0 mangling (RFC 2603), the grammar behind demangle_rust():
 * "_RINvNtCs1a_4core3ptr13drop_in_placeINtNtCs2b_5alloc3vec3VechEEB4_"
 *   -> "core::ptr::drop_in_place::<alloc::vec::Vec<u8>>".
 */
#ifndef SYSSCOPE_DEMANGLE_RUST_V0_H
#define SYSSCOPE_DEMANGLE_RUST_V0_H

#include <stddef.h>

#include "rust_text.h"

/*
 * Writes the name in[0..len), what follows "_R", to text (see
 * demangle_rust.h for the form): 0, -EINVAL (malformed) or -E2BIG (too
 * deep, too much work). in is not read past len.
 */
int demangle_rust_v0(const char *in, size_t len, struct rust_text *text);

#endif
