/* SPDX-License-Identifier: MIT */
/*
 * MiniDebugInfo: Fedora, RHEL and CentOS strip their binaries but keep,
 * in a .gnu_debugdata section, an xz-compressed ELF file whose .symtab
 * has the function symbols .dynsym lacks (static functions). This
 * inflates it, bounded: the section comes from a tenant's file.
 */
#ifndef SYSSCOPE_MINIDEBUG_H
#define SYSSCOPE_MINIDEBUG_H

#include <stddef.h>
#include <stdint.h>

/* Compressed and inflated size limits. */
#define MINIDEBUG_MAX_IN (16u << 20)
#define MINIDEBUG_MAX_OUT (64u << 20)

/*
 * Inflates the xz stream in[0..n) into a malloc'd *out of *outlen bytes.
 * 0 or -errno: -EINVAL not xz or corrupt, -EFBIG over the limits, -ENOMEM.
 */
int minidebug__inflate(const uint8_t *in, size_t n, uint8_t **out,
		       size_t *outlen);

#endif
