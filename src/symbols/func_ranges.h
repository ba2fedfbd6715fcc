/* SPDX-License-Identifier: MIT */
/*
 * Where the functions of a file without symbols start and end, from its
 * CFI (one FDE per function): an address in a stripped library's static
 * function is then named by that function's start, one flamegraph box per
 * function instead of one per address.
 */
#ifndef SYSSCOPE_FUNC_RANGES_H
#define SYSSCOPE_FUNC_RANGES_H

#include <stdbool.h>
#include <stdint.h>

struct func_ranges;

/* The FDE ranges of the ELF file at fd; NULL and errno if it has none. */
struct func_ranges *func_ranges__from_fd(int fd);
void func_ranges__free(struct func_ranges *r);	/* accepts NULL */
/* The start of the function holding vaddr (an ELF address). */
bool func_ranges__find(const struct func_ranges *r, uint64_t vaddr,
		       uint64_t *start);

/* The heap r holds. */
size_t func_ranges__bytes(const struct func_ranges *r);

#endif
