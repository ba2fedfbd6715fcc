/* SPDX-License-Identifier: MIT */
/* Kernel symbols from /proc/kallsyms: sorted once, looked up by bisection. */
#ifndef SYSSCOPE_KSYMS_H
#define SYSSCOPE_KSYMS_H

#include <stdint.h>
#include <stdio.h>

struct ksym {
	uint64_t addr;
	const char *name;
};

struct ksyms;

/* Reads kallsyms-format text (text symbols only); NULL and errno on error. */
struct ksyms *ksyms__read(FILE *f);
/* Opens path (normally /proc/kallsyms) and reads it. */
struct ksyms *ksyms__load(const char *path);
void ksyms__free(struct ksyms *ks);
/* The symbol at or below addr, or NULL (below the first symbol). */
const struct ksym *ksyms__find(const struct ksyms *ks, uint64_t addr);
size_t ksyms__count(const struct ksyms *ks);

#endif
