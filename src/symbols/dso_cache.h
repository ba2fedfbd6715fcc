/* SPDX-License-Identifier: MIT */
/*
 * The files that processes map, for the symbolizer: each opened once by
 * (device, inode) inside the mapping process's root, its symbol table
 * shared by build-id with other copies (another container's layer), its
 * debug file found (build-id, debuglink, debuginfod), its DWARF read
 * lazily. Files on FUSE and network mounts are not opened unless asked.
 * The kernel's vDSO is one more file.
 *
 * All of it is charged to the symbolizer's memory budget (mem_budget.h).
 * A file stays cached when no process maps it any more, with what the
 * hooks built from it (unwind tables), so a process started again finds
 * it; such idle files are evicted least recently used first when room is
 * needed. A file a process maps is pinned: its symbols and tables stay
 * (processes hold pointers to it; a table a live process walks with would
 * be rebuilt at once). Its DWARF is not: that is read again on demand.
 */
#ifndef SYSSCOPE_DSO_CACHE_H
#define SYSSCOPE_DSO_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mem_budget.h"
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
	void *hooked;			/* hooks->file_loaded's handle */
	uint32_t sharers;		/* dsos sharing its table: it stays */
	bool over_budget;		/* a stub: no room for its symbols */
	struct dso_cache *cache;	/* whose budget it is charged to */
	struct cache_entry cached;	/* the dso and its symbols */
	struct cache_entry dwarf_cached;	/* its DWARF */
};

struct dso_cache {
	const char *proc_root;
	struct symbolizer_stats *stats;		/* the symbolizer's */
	const struct symbolizer_hooks *hooks;	/* the symbolizer's */
	struct table dsos;		/* by (dev, inode) */
	struct table build_ids;		/* dso by build-id */
	struct fetcher *fetcher;	/* debuginfod, or NULL */
	struct mem_budget *budget;	/* the symbolizer's */
	size_t dwarf_budget;		/* bytes of DWARF held at most; 0: none */
	bool read_remote;		/* open files on remote mounts too */
	struct remote_dev {
		uint32_t major, minor;
	} remote[64];			/* devices found remote, not read */
	size_t nremote;
	struct dso *vdso;		/* the kernel's, ours: every process's */
	int vdso_fd;			/* a copy of its image, for the hooks */
};

/* c is zeroed; stats, hooks and budget are the caller's and outlive c. */
void dso_cache__init(struct dso_cache *c, const char *proc_root,
		     struct symbolizer_stats *stats,
		     const struct symbolizer_hooks *hooks,
		     struct mem_budget *budget);
void dso_cache__free(struct dso_cache *c);
/* Tells the hooks of the vDSO (once they are set). */
void dso_cache__hook_vdso(struct dso_cache *c);

/*
 * The file of pid's mapping m, opened and read on first sight, or found
 * cached (pinned again); NULL: none (unreadable, remote, vanished, no
 * room in the budget: counted), not cached, so another process may still
 * open it.
 */
struct dso *dso_cache__get(struct dso_cache *c, uint32_t pid,
			   const struct procmap *m);
/* How d's frames are named: the owner's way when its table is shared. */
enum frame_naming dso__naming(const struct dso *d);

/*
 * Sweeping: unmark all, mark each file a process still maps, then let the
 * budget evict the rest when it needs room. The count of files left idle.
 */
void dso_cache__unmark(struct dso_cache *c);
void dso__mark(struct dso *d);
size_t dso_cache__sweep(struct dso_cache *c);
/*
 * Evicts the least recently used idle file that hooks built something
 * for (an unwind table's room in BPF). false: there is none.
 */
bool dso_cache__evict_idle_hooked(struct dso_cache *c);

/*
 * The DWARF of d's symbols (its debug file's, or its own), opened once,
 * within the budget (least recently used DWARF, or idle files, evicted
 * for room); NULL: none, or no room for it.
 */
struct dwarf_frames *dso_cache__dwarf(struct dso_cache *c, struct dso *d);
void dso_cache__set_dwarf_budget(struct dso_cache *c, size_t bytes);

/* Takes debuginfod's answers (symbolizer__take_fetched). */
void dso_cache__take_fetched(struct dso_cache *c, int wait_ms, bool final);

#endif
