/* SPDX-License-Identifier: MIT */
/*
 * Which CPython a file is, and where its structs keep what the frame walk
 * needs: the offsets BPF follows (bpf/python.h) and those user space reads
 * code objects with. 3.13+ say it themselves (_Py_DebugOffsets at the
 * start of _PyRuntime); 3.8 to 3.12 come from a table per minor version
 * (their structs only change between minor versions). Line tables:
 * python_lines.h.
 */
#ifndef SYSSCOPE_PYTHON_LAYOUT_H
#define SYSSCOPE_PYTHON_LAYOUT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "python.h"
#include "unwinder.h"

/* Where code objects keep their names and lines (user space reads them). */
struct py_code_layout {
	uint16_t qualname, filename, firstlineno, linetable;
	uint16_t ascii_data;		/* sizeof(PyASCIIObject) */
	uint16_t compact_data;		/* sizeof(PyCompactUnicodeObject) */
};

/* An interpreter found in an ELF file. */
struct py_file {
	uint64_t runtime_vaddr;		/* _PyRuntime's ELF address */
	uint16_t version;		/* 0x030b for 3.11, 0x0308 for 3.8 */
	struct py_layout l;
	struct py_code_layout code;
	struct elf_loads loads;
};

/* Oldest and newest minor versions walked. */
#define PY_VERSION_FIRST 0x0308
#define PY_VERSION_LAST 0x030d

/*
 * The known layouts of 3.8 to 3.12 (version 0x0308...): 0, or -ENOTSUP
 * for another version.
 */
int py_layout__of_version(uint16_t version, struct py_layout *l,
			  struct py_code_layout *code);

/* Bytes of _Py_DebugOffsets read (the fields used are in the first). */
#define PY_DEBUG_OFFSETS_LEN 352

/*
 * From _Py_DebugOffsets (the first len bytes of _PyRuntime in the file):
 * its version into *version (0x030d...), the offsets into l and code.
 * 0, -ENOENT (no "xdebugpy" cookie), -ENOTSUP (a version or an offset
 * out of range), -EINVAL (too short).
 */
int py_layout__from_debug_offsets(const uint8_t *buf, size_t len,
				  uint16_t *version, struct py_layout *l,
				  struct py_code_layout *code);

/*
 * Looks for an interpreter in the ELF file at fd (its .dynsym: _PyRuntime,
 * Py_Version on 3.11+, the C API functions added by 3.8, 3.9 and 3.10
 * before, checked against a libpython3.N soname). 0, -ENOENT (not an
 * interpreter), -ENOTSUP (a version not walked: f->version says which, 0
 * when older than 3.8), or -errno.
 */
int py_file__read(int fd, struct py_file *f);

#endif
