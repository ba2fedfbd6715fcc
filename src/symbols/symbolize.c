// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "debug_files.h"
#include "demangle.h"
#include "dwarf_frames.h"
#include "elfsyms.h"
#include "fetcher.h"
#include "func_ranges.h"
#include "ksyms.h"
#include "perfmap.h"
#include "proc_files.h"
#include "ptr_table.h"
#include "remote_fs.h"
#include "procmaps.h"
#include "prom.h"
#include "inroot.h"
#include "symbolize.h"

#define MAX_MAPPINGS 65536	/* above the default vm.max_map_count */
#define BUILD_ID_MAX 64

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
	uint64_t dwarf_used;		/* the symbolizer's tick at its last use */
	void *hooked;			/* hooks.file_loaded's handle */
};

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
};


struct symbolizer {
	char proc_root[PATH_MAX / 2];
	struct ksyms *ksyms;
	bool ksyms_tried;
	struct table procs;		/* by pid: the live process, or the last */
	struct table retired;		/* exited, by (pid, start): their samples */
	struct table dsos;		/* by (dev, inode) */
	struct table build_ids;		/* dso by build-id */
	struct symbolizer_stats stats;
	struct symbolizer_hooks hooks;
	struct fetcher *fetcher;	/* debuginfod, or NULL */
	size_t dwarf_budget;		/* bytes of DWARF held at most */
	size_t dwarf_bytes;		/* ... now */
	uint64_t tick;			/* counts DWARF lookups: LRU order */
	bool read_remote;		/* symbolizer__set_read_remote(true) */
	struct remote_dev {
		uint32_t major, minor;
	} remote[64];			/* devices found remote, not read */
	size_t nremote;
	struct dso *vdso;		/* the kernel's, ours: every process's */
	int vdso_fd;			/* a copy of its image, for the hooks */
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

static void proc__free_maps(struct proc *p)
{
	perfmap__free(p->jit);
	p->jit = NULL;
	for (size_t i = 0; i < p->nmaps; i++)
		free(p->maps[i].name);
	free(p->maps);
	p->maps = NULL;
	p->nmaps = 0;
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
	proc__free_maps(p);
	p->start_ns = 0;
}

static void retired__free(struct symbolizer *s)
{
	for (size_t i = 0; i < s->retired.cap; i++) {
		struct proc *p = s->retired.slots[i];

		if (p) {
			proc__free_maps(p);
			free(p);
		}
	}
	free(s->retired.slots);
	s->retired = (struct table){ 0 };
}

/* ---- dsos ---- */

struct dso_key {
	uint32_t dev_major, dev_minor;
	uint64_t inode;
};

static uint64_t dso_key_hash(uint32_t maj, uint32_t min, uint64_t ino)
{
	return mix(ino ^ mix(((uint64_t)maj << 32) | min));
}

static uint64_t dso_hash(const void *e)
{
	const struct dso *d = e;

	return dso_key_hash(d->dev_major, d->dev_minor, d->inode);
}

static bool dso_equal(const void *e, const void *key)
{
	const struct dso *d = e;
	const struct dso_key *k = key;

	return d->dev_major == k->dev_major && d->dev_minor == k->dev_minor &&
	       d->inode == k->inode;
}

static uint64_t build_id_hash_bytes(const uint8_t *id, size_t len)
{
	uint64_t h = 0;

	for (size_t i = 0; i < len; i++)
		h = mix(h ^ id[i]);
	return h;
}

static uint64_t build_id_hash(const void *e)
{
	size_t len;
	const uint8_t *id = elf_symtab__build_id(((const struct dso *)e)->syms,
						 &len);

	return build_id_hash_bytes(id, len);
}

struct build_id_key {
	const uint8_t *id;
	size_t len;
};

static bool build_id_equal(const void *e, const void *key)
{
	const struct build_id_key *k = key;
	size_t len;
	const uint8_t *id = elf_symtab__build_id(((const struct dso *)e)->syms,
						 &len);

	return len == k->len && !memcmp(id, k->id, len);
}

/*
 * d's place in a table by build-id (*slot NULL: d has no build-id), with
 * room reserved for a new entry.
 */
static int build_id_slot(struct table *t, const struct dso *d,
			 struct dso ***slot)
{
	struct build_id_key k;

	*slot = NULL;
	k.id = elf_symtab__build_id(d->syms, &k.len);
	if (!k.id || !k.len)
		return 0;
	if (table__reserve(t, build_id_hash))
		return -ENOMEM;
	*slot = (struct dso **)table__slot(t, build_id_hash_bytes(k.id, k.len),
					   build_id_equal, &k);
	return 0;
}

/* The same binary in two containers' layers: share one symbol table. */
static int dso__share_by_build_id(struct symbolizer *s, struct dso *d)
{
	struct dso **slot;
	int err = build_id_slot(&s->build_ids, d, &slot);

	if (err || !slot)
		return err;
	if (!*slot) {
		*slot = d;
		s->build_ids.used++;
		return 0;
	}
	/*
	 * strip keeps the build-id: a stripped copy has only .dynsym. Share
	 * only a table as rich; a richer one becomes the one later files share.
	 */
	if (elf_symtab__count((*slot)->syms) == elf_symtab__count(d->syms)) {
		elf_symtab__free(d->syms);
		d->syms = (*slot)->syms;
		d->owns_syms = false;
		d->syms_owner = *slot;
		s->stats.files_shared++;
	} else if (elf_symtab__count(d->syms) > elf_symtab__count((*slot)->syms)) {
		*slot = d;
	}
	return 0;
}

/* k's place in a table of dsos, with room reserved; NULL: no memory. */
static struct dso **dso_slot(struct table *t, const struct dso_key *k)
{
	if (table__reserve(t, dso_hash))
		return NULL;
	return (struct dso **)table__slot(t, dso_key_hash(k->dev_major,
							  k->dev_minor, k->inode),
					  dso_equal, k);
}

/* Frees d's DWARF (it is read again if needed). */
static void dso__drop_dwarf(struct symbolizer *s, struct dso *d)
{
	s->dwarf_bytes -= dwarf_frames__bytes(d->dwarf);
	dwarf_frames__free(d->dwarf);
	d->dwarf = NULL;
	d->dwarf_tried = false;
}

/* d names with dbg's symbols (a debug file found by how); dbg is freed. */
static void dso__use_debug(struct symbolizer *s, struct dso *d,
			   struct elf_symtab *dbg, enum debug_source how)
{
	static const enum frame_naming naming[] = {
		[DEBUG_NONE] = NAMED_DYNSYM, [DEBUG_BUILD_ID] = NAMED_BUILD_ID,
		[DEBUG_LINK] = NAMED_DEBUGLINK,
		[DEBUG_DEBUGINFOD] = NAMED_DEBUGINFOD,
	};

	if (dbg) {
		elf_symtab__take_symbols(d->syms, dbg);
		/* Its DWARF, if it has some, is read at the next lookup. */
		dso__drop_dwarf(s, d);
	}
	elf_symtab__free(dbg);
	d->naming = naming[how];
	if (how == DEBUG_NONE && elf_symtab__has_minidebuginfo(d->syms))
		d->naming = NAMED_MINIDEBUGINFO;
	s->stats.debug_files[how]++;
}

/* No debug file here: ask debuginfod, if there is one (answers come later). */
static void dso__fetch_debug(struct symbolizer *s, struct dso *d)
{
	size_t len;
	const uint8_t *id = elf_symtab__build_id(d->syms, &len);
	int err;

	if (!s->fetcher || !id || !len)
		return;
	err = fetcher__request(s->fetcher, id, len);
	if (!err)
		s->stats.debuginfod_requested++;
	else if (err != -EALREADY)
		s->stats.debuginfod_failed++;
	d->fetching = !err || err == -EALREADY;
}

/*
 * A stripped file: its debug file's symbols, looked up in the process's
 * root and then in the host's (pid 1's root: the host's, as the agent runs
 * with the host's pid namespace), else asked of debuginfod.
 */
static void dso__find_debug(struct symbolizer *s, uint32_t pid,
			    const char *path, struct dso *d)
{
	int root, host = -1;
	struct stat a, b;
	struct elf_symtab *dbg;
	enum debug_source how;

	d->naming = NAMED_SYMTAB;
	if (!d->syms || elf_symtab__has_symtab(d->syms) || path[0] != '/')
		return;
	root = proc_file__root(s->proc_root, pid);
	if (pid != 1)
		host = proc_file__root(s->proc_root, 1);
	if (host >= 0 && root >= 0 && !fstat(root, &a) && !fstat(host, &b) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		close(host);
		host = -1;
	}
	dbg = debug_file__load(root, host, path, d->syms, &how);
	dso__use_debug(s, d, dbg, how);
	if (how == DEBUG_NONE)
		dso__fetch_debug(s, d);
	if (root >= 0)
		close(root);
	if (host >= 0)
		close(host);
}

/*
 * Is m's file on a FUSE or network filesystem (remote_fs.h)? Devices found
 * so are remembered; an answer of no costs a read of mountinfo per file.
 */
static bool mapping_is_remote(struct symbolizer *s, uint32_t pid,
			      const struct procmap *m)
{
	for (size_t i = 0; i < s->nremote; i++)
		if (s->remote[i].major == m->dev_major &&
		    s->remote[i].minor == m->dev_minor)
			return true;
	if (!remote_fs__is_remote(s->proc_root, pid, m->dev_major, m->dev_minor))
		return false;
	s->remote[s->nremote++ % 64] = (struct remote_dev){ m->dev_major,
							    m->dev_minor };
	if (s->nremote > 64)
		s->nremote = 64;
	return true;
}

static struct dso *dso_get(struct symbolizer *s, uint32_t pid,
			   const struct procmap *m)
{
	struct dso_key k = { m->dev_major, m->dev_minor, m->inode };
	struct dso **slot = dso_slot(&s->dsos, &k), *d;
	int fd;

	if (!slot)
		return NULL;
	if (*slot)
		return *slot;
	/* Not even opened: a stalled mount would hold us in open(). */
	if (!s->read_remote && mapping_is_remote(s, pid, m)) {
		s->stats.files_remote++;
		return NULL;
	}
	fd = proc_file__open_mapped(s->proc_root, pid, m);
	if (fd < 0)
		return NULL;	/* not cached: another process may open it */
	d = calloc(1, sizeof(*d));
	if (!d) {
		close(fd);
		return NULL;
	}
	d->dev_major = k.dev_major;
	d->dev_minor = k.dev_minor;
	d->inode = k.inode;
	d->syms = elf_symtab__load(fd);
	d->owns_syms = true;
	dso__find_debug(s, pid, m->path, d);
	if (d->naming == NAMED_DYNSYM)
		d->funcs = func_ranges__from_fd(fd);
	if (s->hooks.file_loaded) {
		size_t len = 0;
		const uint8_t *id = d->syms ? elf_symtab__build_id(d->syms, &len) : NULL;

		d->hooked = s->hooks.file_loaded(s->hooks.ctx, fd, id, len);
	}
	close(fd);
	if (d->syms) {
		s->stats.files++;
		dso__share_by_build_id(s, d);
	} else {
		s->stats.files_failed++;
	}
	*slot = d;
	s->dsos.used++;
	return d;
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
	map->dso = m->path[0] == '/' ? dso_get(s, p->pid, m) :
		   !strcmp(m->path, "[vdso]") ? s->vdso : NULL;
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
	int fd;

	snprintf(path, sizeof(path), "/tmp/perf-%u.map", pid_in_namespace(s, p->pid));
	fd = proc_file__open_in_root(s->proc_root, p->pid, path);
	if (fd < 0)
		return;
	m = perfmap__load(fd);
	close(fd);
	if (!m)
		return;
	perfmap__free(p->jit);
	p->jit = m;
	s->stats.jit_maps++;
}

static bool proc__has_anon_exec(const struct proc *p)
{
	for (size_t i = 0; i < p->nmaps; i++)
		if (!p->maps[i].dso)
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
	proc__free_maps(p);
	err = proc__read_maps(s, p, f);
	fclose(f);
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

/* Puts d in t by build-id; of two with one build-id, the richer stays. */
static int build_ids__put(struct table *t, struct dso *d)
{
	struct dso **slot;
	int err = build_id_slot(t, d, &slot);

	if (err || !slot)
		return err;
	if (!*slot)
		t->used++;
	if (!*slot || elf_symtab__count(d->syms) > elf_symtab__count((*slot)->syms))
		*slot = d;
	return 0;
}

/*
 * Frees the files that no process known to s maps any more (and that no
 * such file shares a table with): on a node where containers come and go,
 * their binaries would otherwise stay in memory for good. All or nothing:
 * short of memory for the new tables, everything stays. The count.
 */
static size_t dsos__sweep(struct symbolizer *s)
{
	struct table dsos = { 0 }, build_ids = { 0 };
	size_t evicted = 0;

	for (size_t i = 0; i < s->dsos.cap; i++)
		if (s->dsos.slots[i])
			((struct dso *)s->dsos.slots[i])->in_use = false;
	for (size_t i = 0; i < s->procs.cap + s->retired.cap; i++) {
		struct proc *p = i < s->procs.cap ? s->procs.slots[i] :
				 s->retired.slots[i - s->procs.cap];

		for (size_t j = 0; p && j < p->nmaps; j++) {
			struct dso *d = p->maps[j].dso;

			if (!d)
				continue;
			d->in_use = true;
			if (d->syms_owner)
				d->syms_owner->in_use = true;
		}
	}
	for (size_t i = 0; i < s->dsos.cap; i++) {
		struct dso *d = s->dsos.slots[i];
		struct dso_key k;
		struct dso **slot;

		if (!d || !d->in_use)
			continue;
		k = (struct dso_key){ d->dev_major, d->dev_minor, d->inode };
		slot = dso_slot(&dsos, &k);
		if (!slot ||
		    (d->owns_syms && d->syms && build_ids__put(&build_ids, d)))
			goto nomem;
		*slot = d;
		dsos.used++;
	}
	for (size_t i = 0; i < s->dsos.cap; i++) {
		struct dso *d = s->dsos.slots[i];

		if (!d || d->in_use)
			continue;
		if (d->owns_syms)
			elf_symtab__free(d->syms);
		if (d->hooked && s->hooks.file_dropped)
			s->hooks.file_dropped(s->hooks.ctx, d->hooked);
		func_ranges__free(d->funcs);
		dso__drop_dwarf(s, d);
		free(d);
		evicted++;
	}
	free(s->dsos.slots);
	free(s->build_ids.slots);
	s->dsos = dsos;
	s->build_ids = build_ids;
	s->stats.files_evicted += evicted;
	return evicted;
nomem:
	free(dsos.slots);
	free(build_ids.slots);
	return 0;
}

/* Frees an exited process, and tells the hooks. */
static void proc__drop(struct symbolizer *s, struct proc *p)
{
	if (s->hooks.process_dropped)
		s->hooks.process_dropped(s->hooks.ctx, p->pid);
	proc__free_maps(p);
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
		dsos__sweep(s);
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
	proc__free_maps(p);
	if (s->hooks.process_dropped)
		s->hooks.process_dropped(s->hooks.ctx, pid);
}

bool symbolizer__has_process(const struct symbolizer *s, uint32_t pid)
{
	struct proc *p = proc_find(s, pid);

	return p && p->nmaps;
}

/* ---- debuginfod ---- */

static bool dso__has_build_id(const struct dso *d, const uint8_t *id,
			      size_t len)
{
	size_t dlen;
	const uint8_t *did = elf_symtab__build_id(d->syms, &dlen);

	return did && dlen == len && !memcmp(did, id, len);
}

/*
 * An answer for build-id id: result is the debug file's descriptor or
 * -errno. Every file that asked for it stops waiting; those with their
 * own table take its symbols, through the path a local debug file takes.
 */
static void take_answer(struct symbolizer *s, const uint8_t *id, size_t len,
			int result)
{
	bool used = false, refused = false;

	for (size_t i = 0; i < s->dsos.cap; i++) {
		struct dso *d = s->dsos.slots[i];
		struct elf_symtab *dbg;
		enum debug_source how;

		if (!d || !d->fetching || !dso__has_build_id(d, id, len))
			continue;
		d->fetching = false;
		if (result < 0 || !d->owns_syms)
			continue;
		dbg = debug_file__load_fd(result, d->syms, &how);
		if (!dbg) {
			refused = true;
			continue;
		}
		s->stats.debug_files[DEBUG_NONE]--;	/* counted when looked for */
		dso__use_debug(s, d, dbg, how);
		used = true;
	}
	if (result >= 0)
		close(result);
	if (result == -ETIMEDOUT)
		s->stats.debuginfod_timed_out++;
	else if (result < 0 || (refused && !used))
		s->stats.debuginfod_failed++;
	else if (used)
		s->stats.debuginfod_fetched++;
}

void symbolizer__set_fetcher(struct symbolizer *s, struct fetcher *f)
{
	s->fetcher = f;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void symbolizer__take_fetched(struct symbolizer *s, int wait_ms, bool final)
{
	int64_t end = mono_ms() + wait_ms;
	uint8_t id[FETCHER_BUILD_ID_MAX];
	size_t len;
	int result;

	if (!s->fetcher)
		return;
	for (;;) {
		int64_t left = end - mono_ms();

		if (fetcher__next(s->fetcher, left > 0 ? (int)left : 0, id, &len,
				  &result) <= 0)
			break;
		take_answer(s, id, len, result);
	}
	if (final)
		s->stats.debuginfod_timed_out += fetcher__pending(s->fetcher);
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

/* How d's frames are named: the owner's way when its table is shared. */
static enum frame_naming dso__naming(const struct dso *d)
{
	return d->owns_syms || !d->syms_owner ? d->naming : d->syms_owner->naming;
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

/*
 * Frees the least recently used DWARF but keep's until bytes more fit in
 * the budget; false if they cannot.
 */
static bool dwarf_make_room(struct symbolizer *s, const struct dso *keep,
			    size_t bytes)
{
	while (s->dwarf_bytes + bytes > s->dwarf_budget) {
		struct dso *lru = NULL;

		for (size_t i = 0; i < s->dsos.cap; i++) {
			struct dso *d = s->dsos.slots[i];

			if (d && d != keep && d->dwarf &&
			    (!lru || d->dwarf_used < lru->dwarf_used))
				lru = d;
		}
		if (!lru)
			return false;
		dso__drop_dwarf(s, lru);
		s->stats.dwarf_evicted++;
	}
	return true;
}

/*
 * The DWARF of d's symbols (its debug file's, or its own), opened once,
 * within the budget: least recently used files make room; one larger than
 * the whole budget is not kept.
 */
static struct dwarf_frames *dso__dwarf(struct symbolizer *s, struct dso *d)
{
	struct dso *o = d->owns_syms || !d->syms_owner ? d : d->syms_owner;
	size_t bytes;
	int fd;

	o->dwarf_used = ++s->tick;
	if (o->dwarf_tried)
		return o->dwarf;
	o->dwarf_tried = true;
	fd = elf_symtab__dwarf_fd(o->syms);
	if (fd < 0)
		return NULL;
	o->dwarf = dwarf_frames__open(fd);
	bytes = dwarf_frames__bytes(o->dwarf);
	if (o->dwarf && !dwarf_make_room(s, o, bytes)) {
		dwarf_frames__free(o->dwarf);
		o->dwarf = NULL;
		s->stats.dwarf_over_budget++;
		return NULL;
	}
	if (o->dwarf) {
		s->dwarf_bytes += bytes;
		s->stats.dwarf_files++;
	} else {
		s->stats.dwarf_failed++;
	}
	return o->dwarf;
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
	struct dwarf_frames *dw = s->dwarf_budget ? dso__dwarf(s, d) : NULL;
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

/*
 * The vDSO has no file, but it is one image per kernel: ours, copied to a
 * memfd, names (and unwinds) every process's [vdso] mapping.
 */
static void load_vdso(struct symbolizer *s)
{
	const void *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	unsigned long long lo, hi;
	char line[256];
	FILE *f;

	s->vdso_fd = -1;
	f = base ? fopen("/proc/self/maps", "re") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]") ||
		    sscanf(line, "%llx-%llx", &lo, &hi) != 2 ||
		    lo != (uintptr_t)base || hi - lo > (1 << 20))
			continue;
		s->vdso_fd = memfd_create("vdso", MFD_CLOEXEC);
		if (s->vdso_fd >= 0 &&
		    write(s->vdso_fd, base, hi - lo) != (ssize_t)(hi - lo)) {
			close(s->vdso_fd);
			s->vdso_fd = -1;
		}
		break;
	}
	if (f)
		fclose(f);
	s->vdso = s->vdso_fd >= 0 ? calloc(1, sizeof(*s->vdso)) : NULL;
	if (s->vdso) {
		s->vdso->syms = elf_symtab__load(s->vdso_fd);
		s->vdso->owns_syms = true;
		s->vdso->naming = NAMED_DYNSYM;
		/* Its static functions (do_hres...): one box each, by FDE. */
		s->vdso->funcs = func_ranges__from_fd(s->vdso_fd);
	}
}

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
	load_vdso(s);
	return s;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->procs.cap; i++) {
		struct proc *p = s->procs.slots[i];

		if (p) {
			proc__free_maps(p);
			free(p);
		}
	}
	for (size_t i = 0; i < s->dsos.cap; i++) {
		struct dso *d = s->dsos.slots[i];

		if (d && d->owns_syms)
			elf_symtab__free(d->syms);
		if (d && d->hooked && s->hooks.file_dropped)
			s->hooks.file_dropped(s->hooks.ctx, d->hooked);
		if (d) {
			func_ranges__free(d->funcs);
			dwarf_frames__free(d->dwarf);
		}
		free(d);
	}
	if (s->vdso) {
		elf_symtab__free(s->vdso->syms);
		if (s->vdso->hooked && s->hooks.file_dropped)
			s->hooks.file_dropped(s->hooks.ctx, s->vdso->hooked);
		func_ranges__free(s->vdso->funcs);
		free(s->vdso);
	}
	if (s->vdso_fd >= 0)
		close(s->vdso_fd);
	retired__free(s);
	free(s->procs.slots);
	free(s->dsos.slots);
	free(s->build_ids.slots);
	ksyms__free(s->ksyms);
	free(s);
}

void symbolizer__set_dwarf_budget(struct symbolizer *s, size_t bytes)
{
	s->dwarf_budget = bytes;
	dwarf_make_room(s, NULL, 0);
}

void symbolizer__set_read_remote(struct symbolizer *s, bool on)
{
	s->read_remote = on;
}

void symbolizer__set_hooks(struct symbolizer *s, const struct symbolizer_hooks *h)
{
	size_t len = 0;
	const uint8_t *id;

	s->hooks = *h;
	if (!s->vdso || s->vdso_fd < 0 || !h->file_loaded)
		return;
	id = elf_symtab__build_id(s->vdso->syms, &len);
	s->vdso->hooked = h->file_loaded(h->ctx, s->vdso_fd, id, len);
}

const struct symbolizer_stats *symbolizer__stats(const struct symbolizer *s)
{
	return &s->stats;
}

static const struct prom_family processes = {
	"sysscope_symbol_processes_total", PROM_COUNTER,
	"Processes whose mappings were read, or gone before they could be.",
}, files = {
	"sysscope_symbol_files_total", PROM_COUNTER,
	"Files whose symbols were read, and what became of them.",
}, symbol_sources = {
	"sysscope_symbol_sources_total", PROM_COUNTER,
	"Files read for symbols, by where their symbols came from.",
}, jit_maps = {
	"sysscope_symbol_jit_maps_total", PROM_COUNTER,
	"JIT perf maps (/tmp/perf-PID.map) read.",
}, unresolved = {
	"sysscope_unresolved_addresses_total", PROM_COUNTER,
	"Addresses named by module and offset, or not at all.",
}, user_frames = {
	"sysscope_user_frames_total", PROM_COUNTER,
	"User frames named, by what named them.",
}, debuginfod = {
	"sysscope_debuginfod_files_total", PROM_COUNTER,
	"Debug files asked of debuginfod, by outcome.",
}, source_frames = {
	"sysscope_source_frames_total", PROM_COUNTER,
	"User frames given a source line, and frames of inlined calls added.",
}, dwarf_files = {
	"sysscope_dwarf_files_total", PROM_COUNTER,
	"Files whose DWARF (lines, inlined calls) was read, or refused.",
};

#define SFIELD(field, text, family, labels) \
	STAT_FIELD(struct symbolizer_stats, field, text, family, labels)

static const struct stat_field stat_fields[] = {
	SFIELD(processes, "processes read", &processes, "result=\"read\""),
	SFIELD(processes_gone, "processes gone before read", &processes,
	       "result=\"gone\""),
	SFIELD(processes_retired, "processes exited, kept for their samples",
	       &processes, "result=\"exited\""),
	SFIELD(files, "files with symbols", &files, "result=\"loaded\""),
	SFIELD(files_shared, "files sharing symbols (build-id)", &files,
	       "result=\"shared\""),
	SFIELD(files_failed, "files unreadable or not ELF", &files,
	       "result=\"failed\""),
	SFIELD(files_remote, "files not read (FUSE or network filesystem)", &files,
	       "result=\"remote_skipped\""),
	SFIELD(files_evicted, "files freed (no process maps them)", &files,
	       "result=\"evicted\""),
	SFIELD(debug_files[DEBUG_NONE], "files named by their own symbols",
	       &symbol_sources, "source=\"own\""),
	SFIELD(debug_files[DEBUG_BUILD_ID], "files named by a debug file (build-id)",
	       &symbol_sources, "source=\"build_id\""),
	SFIELD(debug_files[DEBUG_LINK], "files named by a debug file (debuglink)",
	       &symbol_sources, "source=\"debuglink\""),
	SFIELD(debug_files[DEBUG_DEBUGINFOD], "files named by a debug file (debuginfod)",
	       &symbol_sources, "source=\"debuginfod\""),
	SFIELD(jit_maps, "JIT perf maps read", &jit_maps, NULL),
	SFIELD(user_unresolved, "user addresses unresolved", &unresolved,
	       "space=\"user\""),
	SFIELD(kernel_unresolved, "kernel addresses unresolved", &unresolved,
	       "space=\"kernel\""),
	SFIELD(frames_named[NAMED_SYMTAB], "user frames named by symtab",
	       &user_frames, "named_by=\"symtab\""),
	SFIELD(frames_named[NAMED_DYNSYM], "user frames named by dynamic symbols",
	       &user_frames, "named_by=\"dynsym\""),
	SFIELD(frames_named[NAMED_BUILD_ID], "user frames named by debug file (build-id)",
	       &user_frames, "named_by=\"build_id\""),
	SFIELD(frames_named[NAMED_DEBUGLINK], "user frames named by debug file (debuglink)",
	       &user_frames, "named_by=\"debuglink\""),
	SFIELD(frames_named[NAMED_DEBUGINFOD], "user frames named by debuginfod",
	       &user_frames, "named_by=\"debuginfod\""),
	SFIELD(frames_named[NAMED_MINIDEBUGINFO], "user frames named by MiniDebugInfo",
	       &user_frames, "named_by=\"minidebuginfo\""),
	SFIELD(frames_named[NAMED_PERF_MAP], "user frames named by JIT perf map",
	       &user_frames, "named_by=\"perf_map\""),
	SFIELD(frames_named[NAMED_FUNC_START], "user frames named by function start (CFI)",
	       &user_frames, "named_by=\"function_start\""),
	SFIELD(frames_named[NAMED_NONE], "user frames unnamed", &user_frames,
	       "named_by=\"none\""),
	SFIELD(debuginfod_requested, "debuginfod: files requested", &debuginfod,
	       "result=\"requested\""),
	SFIELD(debuginfod_fetched, "debuginfod: files fetched", &debuginfod,
	       "result=\"fetched\""),
	SFIELD(debuginfod_failed, "debuginfod: failures", &debuginfod,
	       "result=\"failed\""),
	SFIELD(debuginfod_timed_out, "debuginfod: timed out", &debuginfod,
	       "result=\"timed_out\""),
	SFIELD(frames_with_line, "user frames with a source line",
	       &source_frames, "kind=\"with_line\""),
	SFIELD(frames_inlined, "inlined frames added", &source_frames,
	       "kind=\"inlined\""),
	SFIELD(dwarf_files, "files with DWARF lines read", &dwarf_files,
	       "result=\"read\""),
	SFIELD(dwarf_failed, "files with DWARF refused or unreadable",
	       &dwarf_files, "result=\"failed\""),
	SFIELD(dwarf_over_budget, "files with DWARF over the whole budget",
	       &dwarf_files, "result=\"over_budget\""),
	SFIELD(dwarf_evicted, "files with DWARF freed for room (LRU)",
	       &dwarf_files, "result=\"evicted\""),
};

const struct stat_field *symbolizer_stats__fields(size_t *n)
{
	*n = sizeof(stat_fields) / sizeof(stat_fields[0]);
	return stat_fields;
}
