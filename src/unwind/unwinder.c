// SPDX-License-Identifier: MIT
/*
 * The walker's tables in BPF (see unwinder.h). Rows and page indexes of
 * every loaded file live in two big arrays, written through mmap; each file takes a
 * contiguous range of each, found first-fit in a list of free ranges, so
 * a freed table's room is reused. Rules are shared by all files and never
 * freed: a whole node has a few hundred distinct ones.
 *
 * A table is written (rows, pages, then its slot in unwind_tables) before
 * any process entry points to it, so BPF never reads a half-written one.
 */
#include <errno.h>
#include <malloc.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cfi_packed.h"
#include "cfi_table.h"
#include "elfsyms.h"
#include "mem_budget.h"
#include "stacks.h"
#include "unwind.h"
#include "unwinder.h"

/*
 * Distinct rules a node has: a few hundred (libLLVM alone 585). The hash
 * keeps to half full; past 8192 rules, new files are walked by fp.
 */
#define RULE_SLOTS 16384
/* Rows of one file's table: libLLVM-14 (48 MiB of code) has 0.95M. */
#define FILE_MAX_ROWS (2u << 20)
/* Page-index entries per row budget: a page holds ~700 rows on average. */
#define PAGES_PER_ROWS 64

/* A free range [start, start + len) of one of the big arrays. */
struct extent {
	uint32_t start, len;
};

struct extents {
	struct extent *e;	/* sorted by start, not touching */
	size_t n, cap;
};

#define BUILD_ID_MAX 64

struct unwind_file {
	int refs;
	uint8_t build_id[BUILD_ID_MAX];
	size_t build_id_len;		/* 0: none, never shared */
	uint32_t table;			/* slot in unwind_tables */
	uint32_t row_base, nrows;
	uint32_t page_base, npages;	/* npages + 1 entries used */
	struct elf_loads loads;
	struct cache_entry cached;	/* pinned: freed with its last user */
};

struct rule_slot {
	struct unwind_rule rule;
	uint32_t index;
	bool used;
};

struct unwinder {
	struct unwind_map_fds fds;
	uint32_t max_rows, max_pages, max_tables;
	struct extents free_rows, free_pages;
	struct unwind_file **by_table;	/* the file in each slot, or NULL */
	struct rule_slot *rules;	/* open addressing, RULE_SLOTS */
	uint32_t nrules;
	struct unwinder_stats stats;
	struct mem_budget *budget;	/* NULL: nothing charged */
	bool (*make_room)(void *ctx);	/* frees an idle file's table */
	void *room_ctx;
};

static const struct prom_family walks = {
	"sysscope_unwind_walks_total", PROM_COUNTER,
	"User-stack walks, by how they ended.",
}, fp_frames = {
	"sysscope_unwind_fp_frames_total", PROM_COUNTER,
	"User frames found by frame pointers, not CFI, by why.",
}, stacks_checked = {
	"sysscope_unwind_stacks_reused_total", PROM_COUNTER,
	"Off-CPU user stacks checked in place instead of walked.",
}, py_walks = {
	"sysscope_python_walks_total", PROM_COUNTER,
	"Python frame walks, by how they ended (all but end=\"first_frame\" stopped early).",
}, py_frames = {
	"sysscope_python_frames_total", PROM_COUNTER,
	"Python frames read from interpreters' memory in BPF.",
}, files = {
	"sysscope_unwind_files_total", PROM_COUNTER,
	"Files whose CFI tables were built, and what became of them.",
}, rows = {
	"sysscope_unwind_table_rows", PROM_GAUGE,
	"Rows of CFI tables in BPF, and the budget.",
}, processes = {
	"sysscope_unwind_processes_total", PROM_COUNTER,
	"Processes whose mappings were given to BPF, or not for want of room.",
}, mappings_cut = {
	"sysscope_unwind_mappings_cut_total", PROM_COUNTER,
	"Executable mappings of processes over the walker's cap, walked by frame pointers.",
}, build_seconds = {
	"sysscope_unwind_build_seconds_total", PROM_COUNTER,
	"Time spent building CFI tables.",
};

static const struct stat_desc stat_descs[UNWIND_STAT_MAX] = {
	[UNWIND_STAT_END] = { "unwind: walks to the outermost frame",
		&walks, "end=\"outermost_frame\"" },
	[UNWIND_STAT_FP_END] = { "unwind: walks ended by frame pointers",
		&walks, "end=\"frame_pointers_ended\"" },
	[UNWIND_STAT_DEPTH] = { "unwind: walks cut at 127 frames",
		&walks, "end=\"depth\"" },
	[UNWIND_STAT_BAD_READ] = { "unwind: walks stopped, stack unreadable",
		&walks, "end=\"bad_read\"" },
	[UNWIND_STAT_UNKNOWN_RULE] = { "unwind: walks stopped, unknown rule",
		&walks, "end=\"unknown_rule\"" },
	[UNWIND_STAT_NO_ROW] = { "unwind: walks stopped, pc in no function",
		&walks, "end=\"no_row\"" },
	[UNWIND_STAT_FP_FRAMES] = { "unwind: frames by frame pointers (no CFI for the pc)",
		&fp_frames, "reason=\"no_table\"" },
	[UNWIND_STAT_FP_NO_TABLES] = { "unwind: frames by frame pointers (process not loaded yet)",
		&fp_frames, "reason=\"process_not_loaded\"" },
	[UNWIND_STAT_NO_TABLES] = { "unwind: walks before the process's tables were in",
		&walks, "end=\"before_tables\"" },
	[UNWIND_STAT_REUSED] = { "unwind: off-CPU stacks checked, not walked again",
		&stacks_checked, NULL },
	[UNWIND_STAT_PY_END] = { "python: walks to the first frame",
		&py_walks, "end=\"first_frame\"" },
	[UNWIND_STAT_PY_NO_THREAD] = { "python: walks stopped, no thread state",
		&py_walks, "end=\"no_thread_state\"" },
	[UNWIND_STAT_PY_BAD_READ] = { "python: walks stopped, memory unreadable",
		&py_walks, "end=\"bad_read\"" },
	[UNWIND_STAT_PY_DEPTH] = { "python: walks cut, stack full",
		&py_walks, "end=\"depth\"" },
	[UNWIND_STAT_PY_FRAMES] = { "python: frames read",
		&py_frames, NULL },
};

#define UFIELD(field, text, family, labels) \
	STAT_FIELD(struct unwinder_stats, field, text, family, labels)

static const struct stat_field stat_fields[] = {
	UFIELD(files, "unwind: files with tables", &files, "result=\"loaded\""),
	UFIELD(files_shared, "unwind: files sharing a table (build-id)",
	       &files, "result=\"shared\""),
	UFIELD(files_no_cfi, "unwind: files without CFI", &files,
	       "result=\"no_cfi\""),
	UFIELD(files_failed, "unwind: files failed", &files, "result=\"failed\""),
	UFIELD(files_no_room, "unwind: files over the table budget or caps",
	       &files, "result=\"over_budget\""),
	UFIELD(files_freed, "unwind: files freed", &files, "result=\"freed\""),
	UFIELD(files_evicted, "unwind: cached tables evicted for room in BPF",
	       &files, "result=\"evicted\""),
	UFIELD(rows_used, "unwind: table rows in use", &rows, "of=\"used\""),
	UFIELD(rows_max, "unwind: table rows budget", &rows, "of=\"budget\""),
	UFIELD(processes, "unwind: processes given tables", &processes,
	       "result=\"loaded\""),
	UFIELD(processes_no_room, "unwind: processes over the map size",
	       &processes, "result=\"no_room\""),
	UFIELD(mappings_cut, "unwind: mappings over the cap", &mappings_cut,
	       NULL),
	{ { "unwind: ns building tables", &build_seconds, NULL },
	  offsetof(struct unwinder_stats, build_ns), 1e-9 },
};

const struct stat_desc *unwind_stat__desc(void)
{
	return stat_descs;
}

const struct stat_field *unwinder_stats__fields(size_t *n)
{
	*n = sizeof(stat_fields) / sizeof(stat_fields[0]);
	return stat_fields;
}

/* ---- map set-up, before load ---- */

int unwind_bpf_maps__configure(const struct unwind_bpf_maps *m,
			       const struct unwind_limits *lim,
			       const struct unwind_map_fds *shared)
{
	uint32_t pages = lim->max_rows / PAGES_PER_ROWS + lim->max_tables * 2;
	uint32_t blocks = (lim->max_rows + UNWIND_BLOCK - 1) / UNWIND_BLOCK;
	int err;

	if (shared) {
		err = bpf_map__reuse_fd(m->procs, shared->procs);
		err = err ?: bpf_map__reuse_fd(m->tables, shared->tables);
		err = err ?: bpf_map__reuse_fd(m->pages, shared->pages);
		err = err ?: bpf_map__reuse_fd(m->rows, shared->rows);
		err = err ?: bpf_map__reuse_fd(m->rules, shared->rules);
		return err ?: bpf_map__reuse_fd(m->stats, shared->stats);
	}
	err = bpf_map__set_max_entries(m->procs, lim->max_procs);
	err = err ?: bpf_map__set_max_entries(m->tables, lim->max_tables);
	err = err ?: bpf_map__set_max_entries(m->pages,
					      (pages + UNWIND_BLOCK - 1) / UNWIND_BLOCK);
	return err ?: bpf_map__set_max_entries(m->rows, blocks);
}

void unwind_bpf_maps__fds(const struct unwind_bpf_maps *m,
			  struct unwind_map_fds *out)
{
	*out = (struct unwind_map_fds){
		bpf_map__fd(m->procs), bpf_map__fd(m->tables),
		bpf_map__fd(m->pages), bpf_map__fd(m->rows),
		bpf_map__fd(m->rules), bpf_map__fd(m->stats),
	};
}

/* ---- free ranges ---- */

static int extents__insert(struct extents *x, size_t at, struct extent e)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct extent *n = realloc(x->e, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		x->e = n;
		x->cap = cap;
	}
	memmove(&x->e[at + 1], &x->e[at], (x->n - at) * sizeof(*x->e));
	x->e[at] = e;
	x->n++;
	return 0;
}

/* First fit; the start of len free entries, or -ENOSPC. */
static int64_t extents__take(struct extents *x, uint32_t len)
{
	for (size_t i = 0; i < x->n; i++) {
		struct extent *e = &x->e[i];
		uint32_t start = e->start;

		if (e->len < len)
			continue;
		e->start += len;
		e->len -= len;
		if (!e->len) {
			memmove(e, e + 1, (x->n - i - 1) * sizeof(*e));
			x->n--;
		}
		return start;
	}
	return -ENOSPC;
}

/* Gives [start, start + len) back, merged with its neighbours. */
static int extents__give(struct extents *x, uint32_t start, uint32_t len)
{
	size_t i = 0;

	while (i < x->n && x->e[i].start < start)
		i++;
	if (i > 0 && x->e[i - 1].start + x->e[i - 1].len == start) {
		x->e[i - 1].len += len;
		if (i < x->n && start + len == x->e[i].start) {
			x->e[i - 1].len += x->e[i].len;
			memmove(&x->e[i], &x->e[i + 1], (x->n - i - 1) * sizeof(*x->e));
			x->n--;
		}
		return 0;
	}
	if (i < x->n && start + len == x->e[i].start) {
		x->e[i].start = start;
		x->e[i].len += len;
		return 0;
	}
	return extents__insert(x, i, (struct extent){ start, len });
}

/* ---- rules ---- */

static uint32_t rule_hash(const struct unwind_rule *r)
{
	uint32_t h = 2166136261u;
	const unsigned char *p = (const unsigned char *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* The global index of r, added to unwind_rules if new; -errno. */
static int64_t rule_index(struct unwinder *u, const struct unwind_rule *r)
{
	uint32_t i = rule_hash(r) & (RULE_SLOTS - 1);

	for (uint32_t probes = 0; probes < RULE_SLOTS; probes++) {
		struct rule_slot *s = &u->rules[i];

		if (s->used && !memcmp(&s->rule, r, sizeof(*r)))
			return s->index;
		if (!s->used) {
			/* Kept one short of full, so probes always end. */
			if (u->nrules + 1 >= RULE_SLOTS / 2)
				return -ENOSPC;
			if (bpf_map_update_elem(u->fds.rules, &u->nrules, r, BPF_ANY))
				return -errno;
			*s = (struct rule_slot){ *r, u->nrules++, true };
			return s->index;
		}
		i = (i + 1) & (RULE_SLOTS - 1);
	}
	return -ENOSPC;
}

/* ---- files ---- */

int elf_loads__read(int fd, struct elf_loads *out)
{
	GElf_Phdr ph;
	size_t n;
	Elf *e;
	int err = 0;

	out->n = 0;
	if (elf__init())
		return -ENOTSUP;
	err = elf_file__check_sections(fd);
	if (err)
		return err;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -EINVAL;
	if (elf_getphdrnum(e, &n)) {
		err = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n && out->n < ELF_LOADS_MAX; i++) {
		if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		out->seg[out->n++] = (struct elf_load){ ph.p_offset, ph.p_vaddr,
							ph.p_filesz };
	}
out:
	elf_end(e);
	return err;
}

bool elf_loads__bias(const struct elf_loads *l, uint64_t start,
		     uint64_t pgoff, uint64_t *bias)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct elf_load *s = &l->seg[i];

		if (pgoff >= (s->offset & ~4095ull) &&
		    pgoff < s->offset + s->filesz) {
			*bias = start - pgoff + s->offset - s->vaddr;
			return true;
		}
	}
	return false;
}

/* Rule indexes of t, global; 0 or -errno. */
static int map_rules(struct unwinder *u, const struct cfi_table *t,
		     uint16_t *map)
{
	for (size_t i = 0; i < t->nrules; i++) {
		int64_t g = rule_index(u, &t->rules[i]);

		if (g < 0)
			return (int)g;
		map[i] = (uint16_t)g;
	}
	return 0;
}

static int64_t free_table_slot(const struct unwinder *u)
{
	for (uint32_t i = 0; i < u->max_tables; i++)
		if (!u->by_table[i])
			return i;
	return -ENOSPC;
}

/*
 * Writes n u32s at index first of a block array, through a mapping of just
 * the pages they are in: mapped for good, the whole array (16 MiB by
 * default) would count in our resident memory.
 */
static int write_array(int fd, uint32_t first, const uint32_t *src, uint32_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t start = (size_t)first * sizeof(*src), end = start + n * sizeof(*src);
	size_t off = start / page * page, len = end - off;
	void *p;

	if (!n)
		return 0;
	p = mmap(NULL, len, PROT_WRITE, MAP_SHARED, fd, (off_t)off);
	if (p == MAP_FAILED)
		return -errno;
	memcpy((char *)p + (start - off), src, n * sizeof(*src));
	munmap(p, len);
	return 0;
}

/*
 * A table slot and room for p's rows and pages: 0, or -ENOSPC when none
 * is left. Cached tables of files no process maps are evicted for it.
 */
static int take_room(struct unwinder *u, const struct cfi_packed *p,
		     int64_t *slot, int64_t *rows, int64_t *pages)
{
	for (;;) {
		*slot = free_table_slot(u);
		*rows = *slot < 0 ? -ENOSPC :
			extents__take(&u->free_rows, p->nrows);
		*pages = *rows < 0 ? -ENOSPC :
			 extents__take(&u->free_pages, p->npages + 1);
		if (*pages >= 0)
			return 0;
		if (*rows >= 0)
			extents__give(&u->free_rows, (uint32_t)*rows, p->nrows);
		if (!u->make_room || !u->make_room(u->room_ctx))
			return -ENOSPC;
		u->stats.files_evicted++;
	}
}

/* Places p in the arrays and publishes its slot; 0 or -errno. */
static int place(struct unwinder *u, struct unwind_file *f,
		 const struct cfi_packed *p)
{
	int64_t slot, rows, pages;
	struct unwind_table_info info;
	int err = take_room(u, p, &slot, &rows, &pages);

	if (err)
		return err;
	f->table = (uint32_t)slot;
	f->row_base = (uint32_t)rows;
	f->nrows = p->nrows;
	f->page_base = (uint32_t)pages;
	f->npages = p->npages;
	err = write_array(u->fds.rows, (uint32_t)rows, p->rows, p->nrows);
	err = err ?: write_array(u->fds.pages, (uint32_t)pages, p->page_index,
				 p->npages + 1);
	if (err) {
		extents__give(&u->free_rows, (uint32_t)rows, p->nrows);
		extents__give(&u->free_pages, (uint32_t)pages, p->npages + 1);
		return err;
	}
	info = (struct unwind_table_info){
		.first_page = p->first_page, .npages = p->npages,
		.page_base = f->page_base, .row_base = f->row_base,
	};
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (bpf_map_update_elem(u->fds.tables, &f->table, &info, BPF_ANY)) {
		err = -errno;
		extents__give(&u->free_rows, f->row_base, f->nrows);
		extents__give(&u->free_pages, f->page_base, f->npages + 1);
		return err;
	}
	u->by_table[slot] = f;
	u->stats.rows_used += f->nrows;
	return 0;
}

/* f's table leaves BPF: the slot is seen empty before its room is reused. */
static void unplace(struct unwinder *u, struct unwind_file *f)
{
	struct unwind_table_info none = { 0 };

	bpf_map_update_elem(u->fds.tables, &f->table, &none, BPF_ANY);
	u->by_table[f->table] = NULL;
	extents__give(&u->free_rows, f->row_base, f->nrows);
	extents__give(&u->free_pages, f->page_base, f->npages + 1);
	u->stats.rows_used -= f->nrows;
}

/* Never called: files are pinned, and go with their last user. */
static void unwind_file__evict(struct cache_entry *e)
{
	(void)e;
}

static void count_failure(struct unwinder *u, int err)
{
	if (err == -ENOENT)
		u->stats.files_no_cfi++;
	else if (err == -ENOSPC || err == -E2BIG)	/* budget, or the caps */
		u->stats.files_no_room++;
	else
		u->stats.files_failed++;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int build(struct unwinder *u, int fd, struct unwind_file *f)
{
	struct cfi_packed p = { 0 };
	struct cfi_table *t;
	uint16_t *map;
	int err;

	err = elf_loads__read(fd, &f->loads);
	if (err)
		return err;
	/*
	 * Building holds ~20 bytes a row: one file's table is capped, so a
	 * huge binary costs the agent at most FILE_MAX_ROWS of that, and is
	 * walked by frame pointers instead (counted over budget).
	 */
	t = cfi_table__from_fd(fd, u->max_rows < FILE_MAX_ROWS ? u->max_rows :
				   FILE_MAX_ROWS, NULL);
	if (!t)
		return -errno;
	map = calloc(t->nrules ? t->nrules : 1, sizeof(*map));
	err = map ? map_rules(u, t, map) : -ENOMEM;
	err = err ?: cfi_packed__from_table(t, map, &p);
	err = err ?: place(u, f, &p);
	cfi_packed__free(&p);
	free(map);
	cfi_table__free(t);
	return err;
}

/* A loaded file with this build-id, or NULL. */
static struct unwind_file *shared_file(const struct unwinder *u,
				       const uint8_t *id, size_t len)
{
	for (uint32_t i = 0; len && i < u->max_tables; i++) {
		struct unwind_file *f = u->by_table[i];

		if (f && f->build_id_len == len && !memcmp(f->build_id, id, len))
			return f;
	}
	return NULL;
}

struct unwind_file *unwinder__load_file(struct unwinder *u, int fd,
					const uint8_t *build_id,
					size_t build_id_len)
{
	struct unwind_file *f;
	uint64_t t0;
	int err;

	if (build_id_len > BUILD_ID_MAX)
		build_id_len = 0;
	f = shared_file(u, build_id, build_id_len);
	if (f) {
		f->refs++;
		u->stats.files_shared++;
		if (u->budget)
			mem_budget__hit(u->budget, CACHE_UNWIND);
		return f;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->refs = 1;
	if (build_id_len)
		memcpy(f->build_id, build_id, build_id_len);
	f->build_id_len = build_id_len;
	t0 = mono_ns();
	err = build(u, fd, f);
	u->stats.build_ns += mono_ns() - t0;
	/* A big table's building memory goes back to the system now. */
	if (f->nrows > (256u << 10))
		malloc_trim(0);
	if (!err && u->budget) {
		mem_budget__miss(u->budget, CACHE_UNWIND);
		f->cached.evict = unwind_file__evict;
		err = mem_budget__charge(u->budget, &f->cached, CACHE_UNWIND,
					 sizeof(*f));
		if (err)
			unplace(u, f);
	}
	if (err) {
		count_failure(u, err);
		free(f);
		return NULL;
	}
	u->stats.files++;
	return f;
}

void unwinder__drop_file(struct unwinder *u, struct unwind_file *f)
{
	if (!f || --f->refs > 0)
		return;
	unplace(u, f);
	if (u->budget)
		mem_budget__uncharge(u->budget, &f->cached);
	u->stats.files_freed++;
	free(f);
}

void unwinder__set_budget(struct unwinder *u, struct mem_budget *b,
			  bool (*make_room)(void *ctx), void *ctx)
{
	u->budget = b;
	u->make_room = make_room;
	u->room_ctx = ctx;
}

/* ---- processes ---- */

int unwinder__set_process(struct unwinder *u, uint32_t pid,
			  const struct unwind_region *r, size_t n,
			  const struct py_proc *py)
{
	struct unwind_proc *p = calloc(1, sizeof(*p));
	int err = 0;

	if (!p)
		return -ENOMEM;
	if (py)
		p->py = *py;
	for (size_t i = 0; i < n; i++) {
		struct unwind_mapping *m = &p->maps[p->nmaps];
		uint64_t bias = 0;

		if (p->nmaps == UNWIND_MAX_MAPPINGS) {
			u->stats.mappings_cut += n - i;
			break;
		}
		*m = (struct unwind_mapping){ r[i].start, r[i].end, 0,
					      UNWIND_TABLE_FP, 0 };
		if (r[i].file && elf_loads__bias(&r[i].file->loads, r[i].start,
						  r[i].pgoff, &bias)) {
			m->bias = bias;
			m->table = r[i].file->table;
		}
		p->nmaps++;
	}
	if (bpf_map_update_elem(u->fds.procs, &pid, p, BPF_ANY)) {
		err = -errno;
		if (err == -E2BIG || err == -ENOMEM)
			u->stats.processes_no_room++;
	} else {
		u->stats.processes++;
	}
	free(p);
	return err;
}

void unwinder__drop_process(struct unwinder *u, uint32_t pid)
{
	bpf_map_delete_elem(u->fds.procs, &pid);
}

/* ---- the whole ---- */

/* Entries (u32) of a block array. */
static uint32_t array_len(int fd)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.max_entries * (info.value_size / sizeof(uint32_t));
}

struct unwinder *unwinder__new(const struct unwind_map_fds *fds,
			       const struct unwind_limits *lim)
{
	struct unwinder *u = calloc(1, sizeof(*u));
	int err = -ENOMEM;

	if (!u)
		goto fail;
	u->fds = *fds;
	u->max_rows = array_len(fds->rows);
	u->max_pages = array_len(fds->pages);
	u->max_tables = lim->max_tables;
	if (!u->max_rows || !u->max_pages) {
		err = -EINVAL;
		goto fail;
	}
	u->by_table = calloc(u->max_tables ? u->max_tables : 1,
			     sizeof(*u->by_table));
	u->rules = calloc(RULE_SLOTS, sizeof(*u->rules));
	if (!u->by_table || !u->rules ||
	    extents__give(&u->free_rows, 0, u->max_rows) ||
	    extents__give(&u->free_pages, 0, u->max_pages))
		goto fail;
	u->stats.rows_max = u->max_rows;
	return u;
fail:
	unwinder__free(u);
	errno = -err;
	return NULL;
}

void unwinder__free(struct unwinder *u)
{
	if (!u)
		return;
	free(u->free_rows.e);
	free(u->free_pages.e);
	free(u->by_table);
	free(u->rules);
	free(u);
}

const struct unwinder_stats *unwinder__stats(const struct unwinder *u)
{
	return &u->stats;
}

int unwinder__read_walk_stats(const struct unwinder *u, uint64_t *out)
{
	return percpu_counters__read(u->fds.stats, UNWIND_STAT_MAX, out);
}
