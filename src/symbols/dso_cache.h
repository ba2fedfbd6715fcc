/* SPDX-License-Identifier: MIT */
/*
 * The files that processes map, for the symbolizer: each opened once by
 * (device, inode) inside the mapping process's root, its symbol table
 * shared by build-id with other copies (another container's layer), its
 * debug file found (build-id, debuglink, debuginfod), its DWARF read
 * lazily under a byte budget (least recently used freed first), and freed
 * when no process maps it any more. Files on FUSE and network mounts are
 * not opened unless asked. The kernel's vDSO is one more file.
 */
#ifndef SYSSCOPE_DSO_CACHE_H
#define SYSSCOPE_DSO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "ptr_table.h"
#include "symbolize.h"

struct procmap;
struct fetcher;

/* A mapped file, identified by the (device, inode) /proc/PID/maps shows. */
struct dso {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	struct elf_symtab *syms;	/* NULL: unreadable or not ELF */
	bool owns_syms;			/* false: shared with a same-build-id dso */
	struct dso *syms_owner;		/* !owns_syms: whose table it is */
	bool in_use;			/* mark: a live process maps it */
	enum frame_naming naming;	/* how its symbols name frames */
	bool fetching;			/* its debug file asked of debuginfod */
	struct func_ranges *funcs;	/* no symbols at all: CFI's functions */
	struct dwarf_frames *dwarf;	/* lines and inlined calls, read lazily */
	bool dwarf_tried;
	uint64_t dwarf_used;		/* the cache's tick at its last use */
	void *hooked;			/* hooks->file_loaded's handle */
};

struct dso_cache {
	const char *proc_root;
	struct symbolizer_stats *stats;		/* the symbolizer's */
	const struct symbolizer_hooks *hooks;	/* the symbolizer's */
	struct table dsos;		/* by (dev, inode) */
	struct table build_ids;		/* dso by build-id */
	struct fetcher *fetcher;	/* debuginfod, or NULL */
	size_t dwarf_budget;		/* bytes of DWARF held at most */
	size_t dwarf_bytes;		/* ... now */
	uint64_t tick;			/* counts DWARF lookups: LRU order */
	bool read_remote;		/* open files on remote mounts too */
	struct remote_dev {
		uint32_t major, minor;
	} remote[64];			/* devices found remote, not read */
	size_t nremote;
	struct dso *vdso;		/* the kernel's, ours: every process's */
	int vdso_fd;			/* a copy of its image, for the hooks */
};

/* c is zeroed; stats and hooks belong to the caller and outlive c. */
void dso_cache__init(struct dso_cache *c, const char *proc_root,
		     struct symbolizer_stats *stats,
		     const struct symbolizer_hooks *hooks);
void dso_cache__free(struct dso_cache *c);
/* Tells the hooks of the vDSO (once they are set). */
void dso_cache__hook_vdso(struct dso_cache *c);

/*
 * The file of pid's mapping m, opened and read on first sight; NULL: none
 * (unreadable, remote, vanished: counted), not cached, so another process
 * may still open it.
 */
struct dso *dso_cache__get(struct dso_cache *c, uint32_t pid,
			   const struct procmap *m);
/* How d's frames are named: the owner's way when its table is shared. */
enum frame_naming dso__naming(const struct dso *d);

/*
 * Sweeping: unmark all, mark each file a process still maps, then free
 * the rest (all or nothing: short of memory, everything stays). The count.
 */
void dso_cache__unmark(struct dso_cache *c);
void dso__mark(struct dso *d);
size_t dso_cache__sweep(struct dso_cache *c);

/*
 * The DWARF of d's symbols (its debug file's, or its own), opened once,
 * within the budget; NULL: none, or larger than the whole budget.
 */
struct dwarf_frames *dso_cache__dwarf(struct dso_cache *c, struct dso *d);
void dso_cache__set_dwarf_budget(struct dso_cache *c, size_t bytes);

/* Takes debuginfod's answers (symbolizer__take_fetched). */
void dso_cache__take_fetched(struct dso_cache *c, int wait_ms, bool final);

#endif
