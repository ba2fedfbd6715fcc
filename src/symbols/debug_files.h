/* SPDX-License-Identifier: MIT */
/*
 * The separate debug file of a stripped ELF file, where distributions put
 * the symbols they strip (Debian's *-dbg and *-dbgsym packages, Fedora's
 * debuginfo): by build-id under /usr/lib/debug/.build-id/NN/REST.debug,
 * then by .gnu_debuglink (CRC-32 checked) next to the file, in its .debug/
 * folder and under /usr/lib/debug/DIR/. Each place is looked up inside the
 * process's root (the container's files), then inside the host's. A
 * debuginfod server's answer (fetcher.h) is checked the same way.
 */
#ifndef SYSSCOPE_DEBUG_FILES_H
#define SYSSCOPE_DEBUG_FILES_H

#include <stdint.h>

struct elf_symtab;

enum debug_source {
	DEBUG_NONE,		/* the file's own symbols */
	DEBUG_BUILD_ID,		/* /usr/lib/debug/.build-id/... */
	DEBUG_LINK,		/* .gnu_debuglink */
	DEBUG_DEBUGINFOD,	/* fetched from a debuginfod server */
	DEBUG_SOURCE_MAX,
};

/*
 * The symbols of s's debug file, for the file at path (as the process's
 * maps name it). root_fd and host_root_fd are O_PATH directories (the
 * process's root, the host's; either may be -1, and the host's is best
 * -1 when it is the same directory). A candidate whose
 * build-id differs from s's, or whose CRC differs from the debuglink's,
 * is skipped. NULL (errno ENOENT) when none is found; *how says where.
 */
struct elf_symtab *debug_file__load(int root_fd, int host_root_fd,
				    const char *path, const struct elf_symtab *s,
				    enum debug_source *how);

/*
 * The symbols of the debug file open at fd (a debuginfod server's answer),
 * if it is s's: a .symtab and the same build-id. *how is DEBUG_DEBUGINFOD.
 * NULL (errno ENOENT, or the loader's) when it is not.
 */
struct elf_symtab *debug_file__load_fd(int fd, const struct elf_symtab *s,
				       enum debug_source *how);

const char *debug_source__name(enum debug_source how);

#endif
