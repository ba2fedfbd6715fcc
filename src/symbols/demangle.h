/* SPDX-License-Identifier: MIT */
/*
 * C++ (and Rust's legacy, Itanium-style) symbol names made readable, with
 * libstdc++'s __cxa_demangle: "_ZN2ns6Worker3hotEi" -> "ns::Worker::hot(int)".
 * Only the names of sampled frames are demangled, when they are named.
 */
#ifndef SYSSCOPE_DEMANGLE_H
#define SYSSCOPE_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the demangled form of name into out (truncated to len); false,
 * and out untouched, when name is not a mangled name it can read.
 */
bool demangle(const char *name, char *out, size_t len);

#endif
