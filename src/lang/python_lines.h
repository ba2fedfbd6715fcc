/* SPDX-License-Identifier: MIT */
/*
 * The line a CPython instruction comes from, out of its code object's line
 * table, in each version's format: co_lnotab (3.8, 3.9), the 3.10
 * co_linetable (two bytes an entry, like co_lnotab but lengths first),
 * and the 3.11+ location table (Objects/locations.md). Tables come from
 * another process's memory: a malformed one gives the code's first line,
 * never a read past its end.
 */
#ifndef SYSSCOPE_PYTHON_LINES_H
#define SYSSCOPE_PYTHON_LINES_H

#include <stddef.h>
#include <stdint.h>

/*
 * The line of the instruction at code unit instr (two bytes a unit) of a
 * code object of version (0x0308...) whose first line is first, from its
 * table; first when the table has no line for it.
 */
uint32_t py_code__line(uint16_t version, const uint8_t *table, size_t len,
		       uint32_t first, uint32_t instr);

/* 3.8, 3.9: co_lnotab, at byte offset addr. */
uint32_t py_lnotab__line(const uint8_t *table, size_t len, uint32_t first,
			 uint32_t addr);

/* 3.10: co_linetable, at byte offset addr. */
uint32_t py_linetable310__line(const uint8_t *table, size_t len,
			       uint32_t first, uint32_t addr);

/* 3.11+: the location table (co_linetable), at code unit instr. */
uint32_t py_linetable__line(const uint8_t *table, size_t len, uint32_t first,
			    uint32_t instr);

#endif
