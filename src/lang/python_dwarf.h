/* SPDX-License-Identifier: MIT */
/*
 * The known layout of a CPython 3.8-3.10 checked against the file's own
 * DWARF, when it has some (pyenv's and other self-built interpreters do;
 * distribution packages keep theirs in separate debug files): the offsets
 * the frame walk follows, as the build laid its structs out, read from
 * the unit of Python/ceval.c (which uses every struct the walk reads).
 */
#ifndef SYSSCOPE_PYTHON_DWARF_H
#define SYSSCOPE_PYTHON_DWARF_H

#include <libelf.h>
#include "python_layout.h"

/*
 * 0: the DWARF agrees with l and code (on every struct the unit defines);
 * -ENOENT: no DWARF, or no unit of Python/ceval.c defining them;
 * -ENOTSUP: an offset or a size differs, or a member is missing.
 */
int py_dwarf__check(Elf *e, uint16_t version, const struct py_layout *l,
		    const struct py_code_layout *code);

#endif
