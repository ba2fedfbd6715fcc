/* SPDX-License-Identifier: MIT */
/*
 * User side of the BPF stack walker (bpf/unwind.bpf.h): builds each mapped
 * file's CFI table once (cfi_table.h), places it in the shared BPF arrays
 * under a memory budget, and tells BPF each process's executable mappings.
 *
 * Tables are kept per file, shared by every process that maps it, and
 * freed when the last one is dropped (the symbolizer keeps files no
 * process maps cached, so their tables stay too, until evicted). A file
 * whose table does not fit, or has no CFI, is walked by frame pointers,
 * and counted.
 */
#ifndef SYSSCOPE_UNWINDER_H
#define SYSSCOPE_UNWINDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "prom.h"
#include "unwind.h"

struct bpf_map;

/* The walker's maps in one BPF object (see UNWIND_BPF_MAPS_OF). */
struct unwind_bpf_maps {
	struct bpf_map *procs, *tables, *pages, *rows, *rules, *stats;
};

#define UNWIND_BPF_MAPS_OF(skel) ((struct unwind_bpf_maps){		\
	(skel)->maps.unwind_procs, (skel)->maps.unwind_tables,		\
	(skel)->maps.unwind_pages, (skel)->maps.unwind_rows,		\
	(skel)->maps.unwind_rules, (skel)->maps.unwind_stats })

/* The same maps, loaded: what a second object reuses. */
struct unwind_map_fds {
	int procs, tables, pages, rows, rules, stats;
};

/* The memory budget of the tables, in rows of 4 bytes. */
struct unwind_limits {
	uint32_t max_rows;		/* all tables' rows together */
	uint32_t max_tables;		/* files with a table at once */
	uint32_t max_procs;		/* processes with mappings */
};


/*
 * Before load: sizes the maps from lim, or, with shared, makes them reuse
 * another object's. 0 or -errno.
 */
int unwind_bpf_maps__configure(const struct unwind_bpf_maps *m,
			       const struct unwind_limits *lim,
			       const struct unwind_map_fds *shared);
void unwind_bpf_maps__fds(const struct unwind_bpf_maps *m,
			  struct unwind_map_fds *out);

struct unwinder_stats {
	uint64_t files;			/* tables built and loaded */
	uint64_t files_no_cfi;		/* no .eh_frame / .debug_frame */
	uint64_t files_failed;		/* malformed, or over the limits */
	uint64_t files_no_room;		/* over the budget: frame pointers */
	uint64_t files_freed;		/* their last user dropped them */
	uint64_t files_evicted;		/* a cached one freed for room in BPF */
	uint64_t files_shared;		/* same build-id as a loaded file */
	uint64_t rows_used, rows_max;
	uint64_t processes;		/* mappings given to BPF */
	uint64_t processes_no_room;	/* unwind_procs full */
	uint64_t mappings_cut;		/* over UNWIND_MAX_MAPPINGS */
	uint64_t build_ns;		/* time spent building tables */
};

/* A file's PT_LOAD segments: how its mappings translate pcs. */
#define ELF_LOADS_MAX 16
struct elf_load {
	uint64_t offset, vaddr, filesz;
};
struct elf_loads {
	struct elf_load seg[ELF_LOADS_MAX];
	size_t n;
};

/* Reads the program headers of the ELF file at fd. 0 or -errno. */
int elf_loads__read(int fd, struct elf_loads *out);
/*
 * For a mapping of the file at start, file offset pgoff: pc - *bias is the
 * ELF virtual address. false when no segment holds pgoff.
 */
bool elf_loads__bias(const struct elf_loads *l, uint64_t start,
		     uint64_t pgoff, uint64_t *bias);

struct unwinder;
struct unwind_file;

/* The maps must be loaded (and outlive it). NULL and errno on failure. */
struct unwinder *unwinder__new(const struct unwind_map_fds *fds,
			       const struct unwind_limits *lim);
void unwinder__free(struct unwinder *u);

/*
 * The table of the ELF file open at fd (read now; the caller keeps fd), or
 * NULL when it has none: its mappings are then walked by frame pointers.
 * A file with the build-id of a loaded one (the same library in another
 * container's layer) shares its table.
 */
struct unwind_file *unwinder__load_file(struct unwinder *u, int fd,
					const uint8_t *build_id,
					size_t build_id_len);
/* One user less; the last frees the table's room. */
void unwinder__drop_file(struct unwinder *u, struct unwind_file *f);

struct mem_budget;
/*
 * Files' tables are charged to b (their user-space side: the BPF arrays
 * are bounded by their own size), and when the arrays are full,
 * make_room(ctx) is asked to free a cached file's table (true: it did)
 * before a new one is refused.
 */
void unwinder__set_budget(struct unwinder *u, struct mem_budget *b,
			  bool (*make_room)(void *ctx), void *ctx);

/* One executable mapping of a process; file NULL: frame pointers. */
struct unwind_region {
	uint64_t start, end, pgoff;
	struct unwind_file *file;
};

/*
 * Gives BPF pid's mappings (sorted by start), and its interpreter (py,
 * NULL: none; bpf/python.h). 0 or -errno.
 */
int unwinder__set_process(struct unwinder *u, uint32_t pid,
			  const struct unwind_region *r, size_t n,
			  const struct py_proc *py);
void unwinder__drop_process(struct unwinder *u, uint32_t pid);

const struct unwinder_stats *unwinder__stats(const struct unwinder *u);
/* The walker's counters (enum unwind_stat), summed over CPUs. */
int unwinder__read_walk_stats(const struct unwinder *u, uint64_t *out);
/* The walker's counters' names in summary.txt and /metrics: [UNWIND_STAT_MAX]. */
const struct stat_desc *unwind_stat__desc(void);
/* The fields of struct unwinder_stats, named the same way: *n of them. */
const struct stat_field *unwinder_stats__fields(size_t *n);

#endif
