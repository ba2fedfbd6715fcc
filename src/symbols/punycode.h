/* SPDX-License-Identifier: MIT */
/*
 * Punycode (RFC 3492) decoding, as Rust's v0 mangling uses it for
 * identifiers that are not ASCII: "gr_ge_doa" ("-" written "_") -> "grüße".
 */
#ifndef SYSSCOPE_PUNYCODE_H
#define SYSSCOPE_PUNYCODE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes the n characters at s (basic code points, the last delim, the
 * encoded ones) into at most max code points cps[], their count in *ncps.
 * 0; -EINVAL when malformed or not Unicode scalar values; -E2BIG over max.
 */
int punycode__decode(const char *s, size_t n, char delim, uint32_t *cps,
		     size_t max, size_t *ncps);

#endif
