/* SPDX-License-Identifier: MIT */
/*
 * Function symbols of one ELF file, to name user-space stack addresses.
 *
 * The files come from other tenants' containers, so they are read as
 * hostile input: every size and offset is checked against the file and
 * against fixed limits before anything is read, and a bad file is an error
 * return, never a crash.
 */
#ifndef SYSSCOPE_ELFSYMS_H
#define SYSSCOPE_ELFSYMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* libelf, once per process (thread-safe): 0, or -ENOTSUP. */
int elf__init(void);

struct elf_symtab;	/* opaque: the function symbols of one ELF file */

/*
 * Loads from an open, readable fd (the caller opened it, e.g. via
 * /proc/PID/root/..., so it chooses the mount namespace). Reads .symtab, and
 * falls back to .dynsym when .symtab is absent (stripped). Keeps only function
 * symbols (STT_FUNC, and STT_GNU_IFUNC), sorted by address, names copied (the
 * fd may be closed after). NULL and errno on failure (EINVAL/ENOEXEC for
 * not-ELF/malformed, EFBIG for limits exceeded, ENOMEM).
 */
struct elf_symtab *elf_symtab__load(int fd);
void elf_symtab__free(struct elf_symtab *s);	/* accepts NULL */

/*
 * A file offset (from /proc/PID/maps: ip - map_start + map_pgoff) to the ELF
 * virtual address, through the PT_LOAD segment that contains it:
 * vaddr = off - p_offset + p_vaddr. This is what makes PIE and shared
 * objects work whatever their load address. false when no PT_LOAD covers it.
 */
bool elf_symtab__offset_to_vaddr(const struct elf_symtab *s, uint64_t off,
				 uint64_t *vaddr);

/*
 * The function containing vaddr: its name, and *sym_off = vaddr - symbol
 * start. NULL if none. Symbols with st_size 0 (hand-written assembly) cover
 * up to the next symbol; sized symbols cover [value, value+size).
 * Binary search. The name lives as long as s.
 */
const char *elf_symtab__lookup(const struct elf_symtab *s, uint64_t vaddr,
			       uint64_t *sym_off);

/*
 * GNU build-id from the PT_NOTE / .note.gnu.build-id, so a caller can match
 * the file with separate debug info or cache it by content. NULL with
 * *len = 0 when the file has none.
 */
const uint8_t *elf_symtab__build_id(const struct elf_symtab *s, size_t *len);

/* Were static functions added from MiniDebugInfo (.gnu_debugdata)? */
bool elf_symtab__has_minidebuginfo(const struct elf_symtab *s);

/* Did the file have a .symtab (not only .dynsym)? */
bool elf_symtab__has_symtab(const struct elf_symtab *s);

/*
 * .gnu_debuglink: the base name of the separate debug file, and its
 * CRC-32 in *crc; NULL when the file has none (or a name with a '/').
 */
const char *elf_symtab__debuglink(const struct elf_symtab *s, uint32_t *crc);

/*
 * Replaces dst's symbols with src's (a separate debug file's, for the same
 * addresses); dst keeps its segments and build-id. src is left empty.
 */
void elf_symtab__take_symbols(struct elf_symtab *dst, struct elf_symtab *src);

/*
 * The file again (an fd s owns) if it has DWARF .debug_info and
 * .debug_line, for source lines and inlined frames; else -1.
 * elf_symtab__take_symbols moves it with the symbols.
 */
int elf_symtab__dwarf_fd(const struct elf_symtab *s);

/* Number of function symbols kept (after de-duplication by address). */
size_t elf_symtab__count(const struct elf_symtab *s);

/*
 * For every reader that hands fd to libelf, which allocates a descriptor
 * per section at elf_begin(): 0, or -EFBIG when the file claims more
 * sections than a linker writes (extended numbering included), -ENOEXEC
 * when it is not ELF.
 */
int elf_file__check_sections(int fd);
/* The heap s holds (its symbols, names, segments). */
size_t elf_symtab__bytes(const struct elf_symtab *s);

#endif
