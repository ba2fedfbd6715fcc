/* SPDX-License-Identifier: MIT */
/*
 * Symbol names made readable: Rust's (v0 "_R...", and legacy "_ZN...17h<hash>E")
 * by demangle_rust(), C++'s by libstdc++'s __cxa_demangle:
 * "_ZN2ns6Worker3hotEi" -> "ns::Worker::hot(int)".
 * Only the names of sampled frames are demangled, when they are named.
 */
#ifndef SYSSCOPE_DEMANGLE_H
#define SYSSCOPE_DEMANGLE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Writes the demangled form of name into out (truncated to len); false
 * when name is not a mangled name it can read (out may then hold
 * anything: the caller keeps name).
 */
bool demangle(const char *name, char *out, size_t len);

#endif
