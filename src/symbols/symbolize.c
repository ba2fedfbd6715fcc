// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "debug_files.h"
#include "demangle.h"
#include "dso_cache.h"
#include "dwarf_frames.h"
#include "elfsyms.h"
#include "func_ranges.h"
#include "ksyms.h"
#include "perfmap.h"
#include "proc_files.h"
#include "ptr_table.h"
#include "procmaps.h"
#include "inroot.h"
#include "symbolize.h"

#define MAX_MAPPINGS 65536	/* above the default vm.max_map_count */

struct mapping {
	uint64_t start, end, pgoff;
	struct dso *dso;		/* NULL: anonymous or special */
	char *name;			/* basename, or "[vdso]", "[anon]" */
};

struct proc {
	uint32_t pid;
	uint64_t start_ns;		/* which process of that pid; 0: unknown */
	struct mapping *maps;		/* sorted by start */
	size_t nmaps;
	struct perfmap *jit;		/* its /tmp/perf-<pid>.map, if any */
	bool jit_reread;		/* read again at the end, once */
	/*
	 * Its maps are read, whether or not any is executable: a kernel
	 * thread has none, and would be read again at each of its samples.
	 */
	bool read;
};

struct symbolizer {
	char proc_root[PATH_MAX / 2];
	struct ksyms *ksyms;
	bool ksyms_tried;
	struct table procs;		/* by pid: the live process, or the last */
	struct table retired;		/* exited, by (pid, start): their samples */
	struct symbolizer_stats stats;
	struct symbolizer_hooks hooks;
	struct dso_cache files;		/* what the processes map */
	struct mem_budget budget;	/* of all derived from their files */
	/*
	 * All perf map indexes, charged as one entry, pinned: each is its
	 * live process's, freed when the process goes.
	 */
	struct cache_entry jit_cached;
	size_t jit_bytes;		/* ... held now */
};

/* ---- processes ---- */

static uint64_t proc_hash(const void *e)
{
	return mix(((const struct proc *)e)->pid);
}

static bool proc_equal(const void *e, const void *key)
{
	return ((const struct proc *)e)->pid == *(const uint32_t *)key;
}

static struct proc *proc_find(const struct symbolizer *s, uint32_t pid)
{
	if (!s->procs.cap)
		return NULL;
	return *table__slot(&s->procs, mix(pid), proc_equal, &pid);
}

/* ---- exited processes whose pid may be reused ---- */

struct proc_id {
	uint32_t pid;
	uint64_t start_ns;
};

static uint64_t retired_hash(const void *e)
{
	const struct proc *p = e;

	return mix(p->pid ^ (p->start_ns * 0x9e3779b97f4a7c15ull));
}

static bool retired_equal(const void *e, const void *key)
{
	const struct proc *p = e;
	const struct proc_id *id = key;

	return p->pid == id->pid && p->start_ns == id->start_ns;
}

static struct proc *retired_find(const struct symbolizer *s, uint32_t pid,
				 uint64_t start_ns)
{
	struct proc_id id = { pid, start_ns };
	struct proc r = { .pid = pid, .start_ns = start_ns };

	if (!s->retired.cap || !start_ns)
		return NULL;
	return *table__slot(&s->retired, retired_hash(&r), retired_equal, &id);
}

/* The snapshot that names the samples of pid's process started at start_ns. */
static struct proc *proc_lookup(const struct symbolizer *s, uint32_t pid,
				uint64_t start_ns)
{
	struct proc *r = retired_find(s, pid, start_ns);

	return r ? r : proc_find(s, pid);
}

/* p's perf map goes: its bytes leave the budget. */
static void proc__drop_jit(struct symbolizer *s, struct proc *p)
{
	s->jit_bytes -= perfmap__bytes(p->jit);
	if (s->jit_bytes)
		mem_budget__resize(&s->budget, &s->jit_cached, s->jit_bytes);
	else
		mem_budget__uncharge(&s->budget, &s->jit_cached);
	perfmap__free(p->jit);
	p->jit = NULL;
}

static void proc__free_maps(struct symbolizer *s, struct proc *p)
{
	proc__drop_jit(s, p);
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].name);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
	p->read = false;
}

/*
 * p's process exited: its snapshot moves aside, under its start, to name
 * the samples it left, and p stays, empty, for the next process with its
 * pid. Short of memory, the snapshot is dropped (its samples unnamed).
 */
static void proc__retire(struct symbolizer *s, struct proc *p)
{
	struct proc_id id = { p->pid, p->start_ns };
	struct proc *r, **slot;

	if (!p->nmaps || !p->start_ns)
		goto empty;
	if (table__reserve(&s->retired, retired_hash))
		goto empty;
	slot = (struct proc **)table__slot(&s->retired, retired_hash(p),
					   retired_equal, &id);
	if (*slot)
		goto empty;	/* retired before: that snapshot is as good */
	r = malloc(sizeof(*r));
	if (!r)
		goto empty;
	*r = *p;
	*slot = r;
	s->retired.used++;
	s->stats.processes_retired++;
	p->maps = NULL;
	p->nmaps = 0;
	p->jit = NULL;
empty:
	proc__free_maps(s, p);
	p->start_ns = 0;
}

static void retired__free(struct symbolizer *s)
{
	for (size_t i = 0; i < s->retired.cap; i++) {
		struct proc *p = s->retired.slots[i];

		if (p) {
			proc__free_maps(s, p);
			free(p);
		}
	}
	free(s->retired.slots);
	s->retired = (struct table){ 0 };
}

/* ---- snapshots ---- */

static char *mapping_name(const struct procmap *m)
{
	const char *base = strrchr(m->path, '/');

	if (!m->path[0])
		return strdup("[anon]");
	return strdup(base ? base + 1 : m->path);
}

static int proc__add_mapping(struct symbolizer *s, struct proc *p,
			     const struct procmap *m, size_t *cap)
{
	struct mapping *map;

	if (p->nmaps == MAX_MAPPINGS)
		return -E2BIG;
	if (p->nmaps == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		void *n = realloc(p->maps, ncap * sizeof(*p->maps));

		if (!n)
			return -ENOMEM;
		p->maps = n;
		*cap = ncap;
	}
	map = &p->maps[p->nmaps];
	map->start = m->start;
	map->end = m->end;
	map->pgoff = m->pgoff;
	map->dso = m->path[0] == '/' ? dso_cache__get(&s->files, p->pid, m) :
		   !strcmp(m->path, "[vdso]") ? s->files.vdso : NULL;
	map->name = mapping_name(m);
	if (!map->name)
		return -ENOMEM;
	p->nmaps++;
	return 0;
}

static int proc__read_maps(struct symbolizer *s, struct proc *p, FILE *f)
{
	size_t cap = 0;
	char line[PATH_MAX + 256];
	int err = 0;

	while (!err && fgets(line, sizeof(line), f)) {
		struct procmap m;

		/* A line longer than the buffer: skip its rest, keep going. */
		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (procmap__parse(line, &m) || !m.exec)
			continue;
		err = proc__add_mapping(s, p, &m, &cap);
	}
	if (!err && ferror(f))
		err = errno == ESRCH ? -ESRCH : -EIO;
	return err;
}

static struct proc *proc_get(struct symbolizer *s, uint32_t pid)
{
	struct proc **slot, *p;

	if (table__reserve(&s->procs, proc_hash))
		return NULL;
	slot = (struct proc **)table__slot(&s->procs, mix(pid), proc_equal, &pid);
	if (*slot)
		return *slot;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	*slot = p;
	s->procs.used++;
	return p;
}

/* The pid as the process itself sees it: the last NSpid field. */
static uint32_t pid_in_namespace(const struct symbolizer *s, uint32_t pid)
{
	char path[PATH_MAX], line[256];
	uint32_t nspid = pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%u/status", s->proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return pid;
	while (fgets(line, sizeof(line), f)) {
		char *last;

		if (strncmp(line, "NSpid:", 6))
			continue;
		line[strcspn(line, "\n")] = '\0';
		last = strrchr(line, '\t');
		if (last)
			nspid = strtoul(last + 1, NULL, 10);
		break;
	}
	fclose(f);
	return nspid;
}

/*
 * A JIT writes /tmp/perf-<pid>.map in its own mount and pid namespace:
 * open it inside the process's root, under the pid it knows itself by.
 */
static void proc__load_jit(struct symbolizer *s, struct proc *p)
{
	char path[64];
	struct perfmap *m;
	size_t room;
	int fd;

	snprintf(path, sizeof(path), "/tmp/perf-%u.map", pid_in_namespace(s, p->pid));
	fd = proc_file__open_in_root(s->proc_root, p->pid, path);
	if (fd < 0)
		return;
	/* Read again (it grew): the old index leaves the budget first. */
	proc__drop_jit(s, p);
	room = mem_budget__kind_room(&s->budget, CACHE_PERF_MAPS);
	if (room < PERFMAP_ENTRY_BYTES) {
		s->stats.jit_maps_over_budget++;
		close(fd);
		return;
	}
	m = perfmap__load_max(fd, room / PERFMAP_ENTRY_BYTES);
	close(fd);
	if (!m)
		return;
	mem_budget__miss(&s->budget, CACHE_PERF_MAPS);
	if (mem_budget__resize(&s->budget, &s->jit_cached,
			       s->jit_bytes + perfmap__bytes(m))) {
		s->stats.jit_maps_over_budget++;
		perfmap__free(m);
		return;
	}
	p->jit = m;
	s->jit_bytes += perfmap__bytes(m);
	s->stats.jit_maps++;
	s->stats.jit_lines_over_budget += perfmap__dropped(m);
}

/*
 * Code outside any file, which a JIT's perf map may name. Not [vsyscall]:
 * the kernel's fixed page, executable (--xp) in every x86-64 process, which
 * made each maps read look for a perf map (five more system calls).
 */
static bool proc__has_anon_exec(const struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		if (!p->maps[i].dso && strcmp(p->maps[i].name, "[vsyscall]"))
			return true;
	return false;
}

static void proc__tell_hooks(struct symbolizer *s, const struct proc *p)
{
	struct mapped_region *r;

	if (!s->hooks.process_mapped)
		return;
	r = calloc(p->nmaps ? p->nmaps : 1, sizeof(*r));
	if (!r)
		return;
	for (size_t i = 0; i < p->nmaps; i++) {
		const struct mapping *m = &p->maps[i];

		r[i] = (struct mapped_region){ m->start, m->end, m->pgoff,
					       m->dso ? m->dso->hooked : NULL };
	}
	s->hooks.process_mapped(s->hooks.ctx, p->pid, r, p->nmaps);
	free(r);
}

int symbolizer__add_process(struct symbolizer *s, uint32_t pid)
{
	char path[PATH_MAX];
	struct proc *p;
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%u/maps", s->proc_root, pid);
	f = fopen(path, "re");
	if (!f) {
		err = -errno;
		if (err == -ENOENT || err == -ESRCH)
			s->stats.processes_gone++;
		return err == -ENOENT ? -ESRCH : err;
	}
	p = proc_get(s, pid);
	if (!p) {
		fclose(f);
		return -ENOMEM;
	}
	proc__free_maps(s, p);
	err = proc__read_maps(s, p, f);
	fclose(f);
	p->read = !err;
	if (!err && proc__has_anon_exec(p))
		proc__load_jit(s, p);
	if (!err)
		proc__tell_hooks(s, p);
	if (err == -ESRCH)
		s->stats.processes_gone++;
	else
		s->stats.processes++;
	return err;
}

/* Frees the files that no process known to s maps any more. */
static size_t files__sweep(struct symbolizer *s)
{
	dso_cache__unmark(&s->files);
	for (size_t i = 0; i < s->procs.cap + s->retired.cap; i++) {
		struct proc *p = i < s->procs.cap ? s->procs.slots[i] :
				 s->retired.slots[i - s->procs.cap];

		for (size_t j = 0; p && j < p->nmaps; j++)
			if (p->maps[j].dso)
				dso__mark(p->maps[j].dso);
	}
	return dso_cache__sweep(&s->files);
}

/* Frees an exited process, and tells the hooks. */
static void proc__drop(struct symbolizer *s, struct proc *p)
{
	if (s->hooks.process_dropped)
		s->hooks.process_dropped(s->hooks.ctx, p->pid);
	proc__free_maps(s, p);
	free(p);
}

size_t symbolizer__forget_exited(struct symbolizer *s)
{
	struct table live = { 0 };
	char path[PATH_MAX];
	size_t gone = 0;

	for (size_t i = 0; i < s->procs.cap; i++) {
		struct proc *p = s->procs.slots[i];
		struct proc **slot;

		if (!p)
			continue;
		snprintf(path, sizeof(path), "%s/%u", s->proc_root, p->pid);
		/* Short of memory: forget it too; it is read again if it samples. */
		if ((access(path, F_OK) && errno == ENOENT) ||
		    table__reserve(&live, proc_hash)) {
			proc__drop(s, p);
			gone++;
			continue;
		}
		slot = (struct proc **)table__slot(&live, mix(p->pid), proc_equal,
						   &p->pid);
		*slot = p;
		live.used++;
	}
	free(s->procs.slots);
	s->procs = live;
	/* Their samples are read: what exited goes, whatever its pid is now. */
	gone += s->retired.used;
	retired__free(s);
	if (gone)
		files__sweep(s);
	return gone;
}

void symbolizer__process_exited(struct symbolizer *s, uint32_t pid,
				uint64_t start_ns)
{
	struct proc *p = proc_find(s, pid);

	/* Another process's snapshot (this one was never read): leave it. */
	if (!p || (p->start_ns && p->start_ns != start_ns))
		return;
	p->start_ns = start_ns;
	proc__retire(s, p);
}

int symbolizer__notice_process(struct symbolizer *s, uint32_t pid,
			       uint64_t start_ns)
{
	struct proc *p;
	int err;

	/* A sample of its last moments, after its exit was told. */
	if (retired_find(s, pid, start_ns))
		return 0;
	p = proc_find(s, pid);
	/* The exit of the one before was not told (notice lost). */
	if (p && p->start_ns && start_ns && p->start_ns != start_ns)
		proc__retire(s, p);
	err = symbolizer__add_process(s, pid);
	p = proc_find(s, pid);
	if (p && start_ns)
		p->start_ns = start_ns;
	return err;
}

bool symbolizer__has_process_at(const struct symbolizer *s, uint32_t pid,
				uint64_t start_ns)
{
	return retired_find(s, pid, start_ns) || symbolizer__has_process(s, pid);
}

void symbolizer__forget_process(struct symbolizer *s, uint32_t pid)
{
	struct proc *p = proc_find(s, pid);

	if (!p)
		return;
	proc__free_maps(s, p);
	if (s->hooks.process_dropped)
		s->hooks.process_dropped(s->hooks.ctx, pid);
}

bool symbolizer__has_process(const struct symbolizer *s, uint32_t pid)
{
	struct proc *p = proc_find(s, pid);

	return p && (p->nmaps || p->read);
}

/* ---- naming ---- */

static const struct mapping *proc__find_mapping(const struct proc *p,
						uint64_t ip)
{
	size_t lo = 0, hi = p->nmaps;

	/* /proc/PID/maps is sorted by address. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ip < p->maps[mid].start)
			hi = mid;
		else if (ip >= p->maps[mid].end)
			lo = mid + 1;
		else
			return &p->maps[mid];
	}
	return NULL;
}

/* JIT code: in anonymous memory, named by the process's perf map. */
static const char *jit_name(struct symbolizer *s, struct proc *p, uint64_t ip)
{
	const char *name = perfmap__lookup(p->jit, ip);

	if (!name && !p->jit_reread) {
		/* JITs append as they compile: read it again, once. */
		p->jit_reread = true;
		proc__load_jit(s, p);
		name = perfmap__lookup(p->jit, ip);
	}
	return name;
}

/* printf into out->text; "?" when it is full. */
static const char *text_printf(struct user_frames *out, const char *fmt, ...)
{
	size_t room = sizeof(out->text) - out->text_used;
	char *at = out->text + out->text_used;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(at, room, fmt, ap);
	va_end(ap);
	if (n < 0 || !room)
		return "?";
	out->text_used += (size_t)n < room ? (size_t)n + 1 : room;
	return at;
}

/* name demangled into out->text, or name itself. */
static const char *text_demangle(struct user_frames *out, const char *name)
{
	size_t room = sizeof(out->text) - out->text_used;
	char *at = out->text + out->text_used;

	if (room < 2 || !demangle(name, at, room))
		return name;
	out->text_used += strlen(at) + 1;
	return at;
}

/*
 * Adds the source lines at vaddr, and the calls inlined there, to the
 * function frame out->f[0] (named from the symbol table, which stays its
 * name).
 */
static void add_source_frames(struct symbolizer *s, struct dso *d,
			      uint64_t vaddr, struct user_frames *out)
{
	struct src_frame sf[USER_FRAMES_MAX];
	struct dwarf_frames *dw = s->files.dwarf_budget ? dso_cache__dwarf(&s->files, d) : NULL;
	struct user_frame fn = out->f[0];
	size_t n = dw ? dwarf_frames__lookup(dw, vaddr, sf, USER_FRAMES_MAX) : 0;

	for (size_t i = 0; i < n; i++) {
		struct user_frame *f = &out->f[i];

		if (i == n - 1) {
			*f = fn;
		} else {
			f->system_name = sf[i].linkage_name;
			f->name = sf[i].linkage_name ?
				  text_demangle(out, sf[i].linkage_name) :
				  sf[i].name ? sf[i].name : "[inlined]";
			if (f->name == f->system_name)
				f->system_name = NULL;
			s->stats.frames_inlined++;
		}
		f->file = sf[i].file;
		f->line = sf[i].line;
		f->start_line = sf[i].decl_line;
		s->stats.frames_with_line += f->file != NULL;
	}
	if (n)
		out->n = n;
}

/* at named from m's file (symbol, or function start); false: neither. */
static bool name_in_file(struct symbolizer *s, const struct mapping *m,
			 uint64_t at, struct user_frames *out)
{
	struct user_frame *f = &out->f[0];
	uint64_t vaddr, sym_off;
	const char *name;

	if (!m || !m->dso || !m->dso->syms ||
	    !elf_symtab__offset_to_vaddr(m->dso->syms, at - m->start + m->pgoff,
					 &vaddr))
		return false;
	name = elf_symtab__lookup(m->dso->syms, vaddr, &sym_off);
	if (name) {
		s->stats.frames_named[dso__naming(m->dso)]++;
		f->name = text_demangle(out, name);
		f->system_name = f->name != name ? name : NULL;
		add_source_frames(s, m->dso, vaddr, out);
		return true;
	}
	/* No symbol: one name per function all the same. */
	if (func_ranges__find(m->dso->funcs, vaddr, &sym_off)) {
		s->stats.frames_named[NAMED_FUNC_START]++;
		f->name = text_printf(out, "%s!func+0x%llx", m->name,
				      (unsigned long long)sym_off);
		return true;
	}
	return false;
}

void symbolizer__user_frames(struct symbolizer *s, uint32_t pid,
			     uint64_t start_ns, uint64_t ip, bool caller,
			     struct user_frames *out)
{
	struct proc *p = proc_lookup(s, pid, start_ns);
	uint64_t at = caller && ip ? ip - 1 : ip;
	const struct mapping *m = p ? proc__find_mapping(p, at) : NULL;
	const char *name;

	out->n = 1;
	out->text_used = 0;
	out->f[0] = (struct user_frame){ 0 };
	if (p && (!m || !m->dso) && (name = jit_name(s, p, at))) {
		s->stats.frames_named[NAMED_PERF_MAP]++;
		out->f[0].name = name;
		return;
	}
	if (name_in_file(s, m, at, out))
		return;
	/*
	 * A return address at a function's first byte, with nothing named
	 * before it: the signal trampoline (__restore_rt) a handler returns
	 * to. It is named at ip itself.
	 */
	if (at != ip && p) {
		const struct mapping *mi = proc__find_mapping(p, ip);

		if (name_in_file(s, mi, ip, out))
			return;
	}
	s->stats.frames_named[NAMED_NONE]++;
	s->stats.user_unresolved++;
	if (!m) {
		out->f[0].name = "[unknown]";
		return;
	}
	out->f[0].name = text_printf(out, "%s+0x%llx", m->name,
				     (unsigned long long)(ip - m->start + m->pgoff));
}

void symbolizer__user(struct symbolizer *s, uint32_t pid, uint64_t ip,
		      char *buf, size_t len)
{
	struct user_frames *out = malloc(sizeof(*out));

	if (!out) {
		snprintf(buf, len, "[unknown]");
		return;
	}
	symbolizer__user_frames(s, pid, 0, ip, false, out);
	snprintf(buf, len, "%s", out->f[out->n - 1].name);
	free(out);
}

int symbolizer__load_kernel(struct symbolizer *s)
{
	char path[PATH_MAX];

	if (s->ksyms_tried)
		return s->ksyms ? 0 : -ENOENT;
	s->ksyms_tried = true;
	snprintf(path, sizeof(path), "%s/kallsyms", s->proc_root);
	s->ksyms = ksyms__load(path);
	if (!s->ksyms)
		return -errno;
	/* Hidden addresses read as 0 and are dropped: nothing is left. */
	return ksyms__count(s->ksyms) ? 0 : -EPERM;
}

void symbolizer__kernel(struct symbolizer *s, uint64_t ip, char *buf,
			size_t len)
{
	const struct ksym *k;

	symbolizer__load_kernel(s);
	k = s->ksyms ? ksyms__find(s->ksyms, ip) : NULL;
	if (!k) {
		s->stats.kernel_unresolved++;
		snprintf(buf, len, "0x%llx", (unsigned long long)ip);
		return;
	}
	snprintf(buf, len, "%s", k->name);
}

/* ---- life cycle ---- */

struct symbolizer *symbolizer__new(const char *proc_root)
{
	struct symbolizer *s;

	if (strlen(proc_root) >= sizeof(s->proc_root)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	strcpy(s->proc_root, proc_root);
	mem_budget__init(&s->budget, SYMBOLIZER_DEFAULT_BUDGET);
	s->jit_cached.kind = CACHE_PERF_MAPS;
	dso_cache__init(&s->files, s->proc_root, &s->stats, &s->hooks,
			&s->budget);
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->procs.cap; i++) {
		struct proc *p = s->procs.slots[i];

		if (p) {
			proc__free_maps(s, p);
			free(p);
		}
	}
	dso_cache__free(&s->files);
	retired__free(s);
	free(s->procs.slots);
	ksyms__free(s->ksyms);
	free(s);
}

void symbolizer__set_dwarf_budget(struct symbolizer *s, size_t bytes)
{
	dso_cache__set_dwarf_budget(&s->files, bytes);
}

void symbolizer__set_jit_budget(struct symbolizer *s, size_t bytes)
{
	mem_budget__set_kind_limit(&s->budget, CACHE_PERF_MAPS, bytes);
}

void symbolizer__set_budget(struct symbolizer *s, size_t bytes)
{
	mem_budget__set_limit(&s->budget, bytes);
}

struct mem_budget *symbolizer__budget(struct symbolizer *s)
{
	return &s->budget;
}

bool symbolizer__evict_idle_hooked(struct symbolizer *s)
{
	return dso_cache__evict_idle_hooked(&s->files);
}

void symbolizer__set_read_remote(struct symbolizer *s, bool on)
{
	s->files.read_remote = on;
}

void symbolizer__set_hooks(struct symbolizer *s, const struct symbolizer_hooks *h)
{
	s->hooks = *h;
	dso_cache__hook_vdso(&s->files);
}

void symbolizer__set_fetcher(struct symbolizer *s, struct fetcher *f)
{
	s->files.fetcher = f;
}

void symbolizer__take_fetched(struct symbolizer *s, int wait_ms, bool final)
{
	dso_cache__take_fetched(&s->files, wait_ms, final);
}

const struct symbolizer_stats *symbolizer__stats(const struct symbolizer *s)
{
	return &s->stats;
}
