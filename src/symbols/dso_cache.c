// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "debug_files.h"
#include "dwarf_frames.h"
#include "elfsyms.h"
#include "fetcher.h"
#include "func_ranges.h"
#include "proc_files.h"
#include "procmaps.h"
#include "remote_fs.h"
#include "dso_cache.h"

#define dso_of(entry, member) \
	((struct dso *)((char *)(entry) - offsetof(struct dso, member)))

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

/* The heap d holds, but its DWARF (charged on its own). */
static size_t dso__bytes(const struct dso *d)
{
	return sizeof(*d) + (d->owns_syms ? elf_symtab__bytes(d->syms) : 0) +
	       func_ranges__bytes(d->funcs);
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
static int dso__share_by_build_id(struct dso_cache *c, struct dso *d)
{
	struct dso **slot;
	int err = build_id_slot(&c->build_ids, d, &slot);

	if (err || !slot)
		return err;
	if (!*slot) {
		*slot = d;
		c->build_ids.used++;
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
		d->syms_owner->sharers++;
		mem_budget__set_evictable(c->budget, &d->syms_owner->cached, false);
		mem_budget__resize(c->budget, &d->cached, dso__bytes(d));
		c->stats->files_shared++;
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
static void dso__drop_dwarf(struct dso_cache *c, struct dso *d)
{
	mem_budget__uncharge(c->budget, &d->dwarf_cached);
	dwarf_frames__free(d->dwarf);
	d->dwarf = NULL;
	d->dwarf_tried = false;
}

/* d names with dbg's symbols (a debug file found by how); dbg is freed. */
static void dso__use_debug(struct dso_cache *c, struct dso *d,
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
		dso__drop_dwarf(c, d);
	}
	elf_symtab__free(dbg);
	d->naming = naming[how];
	if (how == DEBUG_NONE && elf_symtab__has_minidebuginfo(d->syms))
		d->naming = NAMED_MINIDEBUGINFO;
	c->stats->debug_files[how]++;
}

/* No debug file here: ask debuginfod, if there is one (answers come later). */
static void dso__fetch_debug(struct dso_cache *c, struct dso *d)
{
	size_t len;
	const uint8_t *id = elf_symtab__build_id(d->syms, &len);
	int err;

	if (!c->fetcher || !id || !len)
		return;
	err = fetcher__request(c->fetcher, id, len);
	if (!err)
		c->stats->debuginfod_requested++;
	else if (err != -EALREADY)
		c->stats->debuginfod_failed++;
	d->fetching = !err || err == -EALREADY;
}

/*
 * A stripped file: its debug file's symbols, looked up in the process's
 * root and then in the host's (pid 1's root: the host's, as the agent runs
 * with the host's pid namespace), else asked of debuginfod.
 */
static void dso__find_debug(struct dso_cache *c, uint32_t pid,
			    const char *path, struct dso *d)
{
	int root, host = -1;
	struct stat a, b;
	struct elf_symtab *dbg;
	enum debug_source how;

	d->naming = NAMED_SYMTAB;
	if (!d->syms || elf_symtab__has_symtab(d->syms) || path[0] != '/')
		return;
	root = proc_file__root(c->proc_root, pid);
	if (pid != 1)
		host = proc_file__root(c->proc_root, 1);
	if (host >= 0 && root >= 0 && !fstat(root, &a) && !fstat(host, &b) &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
		close(host);
		host = -1;
	}
	dbg = debug_file__load(root, host, path, d->syms, &how);
	dso__use_debug(c, d, dbg, how);
	if (how == DEBUG_NONE)
		dso__fetch_debug(c, d);
	if (root >= 0)
		close(root);
	if (host >= 0)
		close(host);
}

/*
 * Is m's file on a FUSE or network filesystem (remote_fs.h)? Devices found
 * so are remembered; an answer of no costs a read of mountinfo per file.
 */
static bool mapping_is_remote(struct dso_cache *c, uint32_t pid,
			      const struct procmap *m)
{
	for (size_t i = 0; i < c->nremote; i++)
		if (c->remote[i].major == m->dev_major &&
		    c->remote[i].minor == m->dev_minor)
			return true;
	if (!remote_fs__is_remote(c->proc_root, pid, m->dev_major, m->dev_minor))
		return false;
	c->remote[c->nremote++ % 64] = (struct remote_dev){ m->dev_major,
							    m->dev_minor };
	if (c->nremote > 64)
		c->nremote = 64;
	return true;
}

static void dso__evict(struct cache_entry *e);
static void dso__free(struct dso_cache *c, struct dso *d);

/* A cached file mapped again: pinned, and counted a hit. */
static struct dso *dso__reuse(struct dso_cache *c, struct dso *d)
{
	mem_budget__hit(c->budget, CACHE_SYMBOLS);
	if (d->hooked)
		mem_budget__hit(c->budget, CACHE_UNWIND);
	dso__mark(d);
	mem_budget__set_evictable(c->budget, &d->cached, false);
	mem_budget__touch(c->budget, &d->cached);
	return d;
}

/*
 * No room for d's symbols: it stays a stub, with none, so that the next
 * process mapping its file does not read it again (the refusal is
 * counted; the stub is evicted like any file). false: not even that.
 */
static bool dso__stub(struct dso_cache *c, struct dso *d)
{
	elf_symtab__free(d->syms);
	d->syms = NULL;
	func_ranges__free(d->funcs);
	d->funcs = NULL;
	d->over_budget = true;
	return !mem_budget__charge(c->budget, &d->cached, CACHE_SYMBOLS,
				   dso__bytes(d));
}

/*
 * Reads the file open at fd (pid's mapping m) and charges it to the
 * budget, pinned, before the hooks build on it: a file there is no room
 * for costs no table. NULL: no memory, or no room even for a stub.
 */
static struct dso *dso__read(struct dso_cache *c, uint32_t pid,
			     const struct procmap *m, int fd)
{
	struct dso *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->dev_major = m->dev_major;
	d->dev_minor = m->dev_minor;
	d->inode = m->inode;
	d->cache = c;
	d->cached.evict = dso__evict;
	d->in_use = true;
	d->syms = elf_symtab__load(fd);
	d->owns_syms = true;
	dso__find_debug(c, pid, m->path, d);
	if (d->naming == NAMED_DYNSYM)
		d->funcs = func_ranges__from_fd(fd);
	mem_budget__miss(c->budget, CACHE_SYMBOLS);
	if (mem_budget__charge(c->budget, &d->cached, CACHE_SYMBOLS,
			       dso__bytes(d)) && !dso__stub(c, d)) {
		dso__free(c, d);
		return NULL;
	}
	if (c->hooks->file_loaded && !d->over_budget) {
		size_t len = 0;
		const uint8_t *id = d->syms ? elf_symtab__build_id(d->syms, &len) : NULL;

		d->hooked = c->hooks->file_loaded(c->hooks->ctx, fd, id, len);
	}
	return d;
}

struct dso *dso_cache__get(struct dso_cache *c, uint32_t pid,
			   const struct procmap *m)
{
	struct dso_key k = { m->dev_major, m->dev_minor, m->inode };
	struct dso **slot = dso_slot(&c->dsos, &k), *d;
	int fd;

	if (!slot)
		return NULL;
	if (*slot)
		return dso__reuse(c, *slot);
	/* Not even opened: a stalled mount would hold us in open(). */
	if (!c->read_remote && mapping_is_remote(c, pid, m)) {
		c->stats->files_remote++;
		return NULL;
	}
	fd = proc_file__open_mapped(c->proc_root, pid, m);
	if (fd < 0)
		return NULL;	/* not cached: another process may open it */
	d = dso__read(c, pid, m, fd);
	close(fd);
	if (!d)
		return NULL;
	if (d->syms) {
		c->stats->files++;
		dso__share_by_build_id(c, d);
	} else if (!d->over_budget) {
		c->stats->files_failed++;
	}
	/* Again: making room evicted files, which moves others. */
	slot = dso_slot(&c->dsos, &k);
	if (!slot) {
		dso__free(c, d);
		return NULL;
	}
	*slot = d;
	c->dsos.used++;
	return d;
}

void dso_cache__unmark(struct dso_cache *c)
{
	for (size_t i = 0; i < c->dsos.cap; i++)
		if (c->dsos.slots[i])
			((struct dso *)c->dsos.slots[i])->in_use = false;
}

void dso__mark(struct dso *d)
{
	d->in_use = true;
	if (d->syms_owner)
		d->syms_owner->in_use = true;
}

/* Takes d out of the tables (it is being freed). */
static void dso__unlink(struct dso_cache *c, struct dso *d)
{
	struct dso_key k = { d->dev_major, d->dev_minor, d->inode };
	struct build_id_key b;
	struct dso **slot;

	if (c->dsos.cap) {
		slot = (struct dso **)table__slot(&c->dsos,
						  dso_key_hash(k.dev_major, k.dev_minor,
							       k.inode),
						  dso_equal, &k);
		if (*slot == d)
			table__remove(&c->dsos, (void **)slot, dso_hash);
	}
	b.id = d->syms ? elf_symtab__build_id(d->syms, &b.len) : NULL;
	if (!c->build_ids.cap || !b.id || !b.len)
		return;
	slot = (struct dso **)table__slot(&c->build_ids,
					  build_id_hash_bytes(b.id, b.len),
					  build_id_equal, &b);
	if (*slot == d)
		table__remove(&c->build_ids, (void **)slot, build_id_hash);
}

static bool dso__idle(const struct dso *d)
{
	return !d->in_use && !d->sharers;
}

/* The budget wants d's room: d is idle (no process maps it). */
static void dso__evict(struct cache_entry *e)
{
	struct dso *d = dso_of(e, cached);
	struct dso_cache *c = d->cache;
	struct dso *owner = d->owns_syms ? NULL : d->syms_owner;

	dso__unlink(c, d);
	c->stats->files_evicted++;
	dso__free(c, d);
	if (owner && !--owner->sharers)
		mem_budget__set_evictable(c->budget, &owner->cached,
					  dso__idle(owner));
}

/*
 * On a node where containers come and go, their binaries would otherwise
 * stay in memory for good: what no process maps may now be evicted.
 */
size_t dso_cache__sweep(struct dso_cache *c)
{
	size_t idle = 0;

	for (size_t i = 0; i < c->dsos.cap; i++) {
		struct dso *d = c->dsos.slots[i];

		if (!d)
			continue;
		if (!d->dwarf)
			d->dwarf_tried = false;	/* evicted or refused: once more */
		mem_budget__set_evictable(c->budget, &d->cached, dso__idle(d));
		idle += dso__idle(d);
	}
	return idle;
}

static bool idle_hooked(const struct cache_entry *e)
{
	return e->kind == CACHE_SYMBOLS && dso_of(e, cached)->hooked;
}

bool dso_cache__evict_idle_hooked(struct dso_cache *c)
{
	return mem_budget__evict_first(c->budget, idle_hooked);
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
static void take_answer(struct dso_cache *c, const uint8_t *id, size_t len,
			int result)
{
	bool used = false, refused = false;
	struct dso **takers = NULL;
	size_t n = 0;

	for (size_t i = 0; i < c->dsos.cap; i++) {
		struct dso *d = c->dsos.slots[i], **more;

		if (!d || !d->fetching || !dso__has_build_id(d, id, len))
			continue;
		d->fetching = false;
		if (result < 0 || !d->owns_syms)
			continue;
		more = realloc(takers, (n + 1) * sizeof(*takers));
		if (!more)
			continue;
		takers = more;
		takers[n++] = d;
		/* Pinned: room made for one must not free another. */
		mem_budget__set_evictable(c->budget, &d->cached, false);
	}
	/* Their symbols grow, room is made: not while walking the table. */
	for (size_t i = 0; i < n; i++) {
		struct dso *d = takers[i];
		enum debug_source how;
		struct elf_symtab *dbg = debug_file__load_fd(result, d->syms, &how);

		if (!dbg) {
			refused = true;
			continue;
		}
		c->stats->debug_files[DEBUG_NONE]--;	/* counted when looked for */
		dso__use_debug(c, d, dbg, how);
		/* No room: it keeps its old charge (the refusal is counted). */
		mem_budget__resize(c->budget, &d->cached, dso__bytes(d));
		used = true;
	}
	for (size_t i = 0; i < n; i++)
		mem_budget__set_evictable(c->budget, &takers[i]->cached,
					  dso__idle(takers[i]));
	free(takers);
	if (result >= 0)
		close(result);
	if (result == -ETIMEDOUT)
		c->stats->debuginfod_timed_out++;
	else if (result < 0 || (refused && !used))
		c->stats->debuginfod_failed++;
	else if (used)
		c->stats->debuginfod_fetched++;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void dso_cache__take_fetched(struct dso_cache *c, int wait_ms, bool final)
{
	int64_t end = mono_ms() + wait_ms;
	uint8_t id[FETCHER_BUILD_ID_MAX];
	size_t len;
	int result;

	if (!c->fetcher)
		return;
	for (;;) {
		int64_t left = end - mono_ms();

		if (fetcher__next(c->fetcher, left > 0 ? (int)left : 0, id, &len,
				  &result) <= 0)
			break;
		take_answer(c, id, len, result);
	}
	if (final)
		c->stats->debuginfod_timed_out += fetcher__pending(c->fetcher);
}
enum frame_naming dso__naming(const struct dso *d)
{
	return d->owns_syms || !d->syms_owner ? d->naming : d->syms_owner->naming;
}

/*
 * The budget wants the room of d's DWARF. It is read again if needed, but
 * not before the next sweep (the agent's next window): two files' DWARF
 * that do not fit together would otherwise evict each other at every
 * sample.
 */
static void dso__evict_dwarf(struct cache_entry *e)
{
	struct dso *d = dso_of(e, dwarf_cached);

	d->cache->stats->dwarf_evicted++;
	dso__drop_dwarf(d->cache, d);
	d->dwarf_tried = true;
}

/* Least recently used DWARF (or idle files) make room; refused: not kept. */
struct dwarf_frames *dso_cache__dwarf(struct dso_cache *c, struct dso *d)
{
	struct dso *o = d->owns_syms || !d->syms_owner ? d : d->syms_owner;
	int fd;

	mem_budget__touch(c->budget, &o->cached);
	if (o->dwarf_tried) {
		if (o->dwarf) {
			mem_budget__touch(c->budget, &o->dwarf_cached);
			mem_budget__hit(c->budget, CACHE_DWARF);
		}
		return o->dwarf;
	}
	o->dwarf_tried = true;
	fd = elf_symtab__dwarf_fd(o->syms);
	if (fd < 0)
		return NULL;
	o->dwarf = dwarf_frames__open(fd);
	if (!o->dwarf) {
		c->stats->dwarf_failed++;
		return NULL;
	}
	mem_budget__miss(c->budget, CACHE_DWARF);
	o->cache = c;
	o->dwarf_cached.evict = dso__evict_dwarf;
	o->dwarf_cached.evictable = true;
	if (mem_budget__charge(c->budget, &o->dwarf_cached, CACHE_DWARF,
			       dwarf_frames__bytes(o->dwarf))) {
		dwarf_frames__free(o->dwarf);
		o->dwarf = NULL;
		c->stats->dwarf_over_budget++;
		return NULL;
	}
	c->stats->dwarf_files++;
	return o->dwarf;
}

/*
 * The vDSO has no file, but it is one image per kernel: ours, copied to a
 * memfd, names (and unwinds) every process's [vdso] mapping.
 */
static void load_vdso(struct dso_cache *c)
{
	const void *base = (const void *)getauxval(AT_SYSINFO_EHDR);
	unsigned long long lo, hi;
	char line[256];
	FILE *f;

	c->vdso_fd = -1;
	f = base ? fopen("/proc/self/maps", "re") : NULL;
	while (f && fgets(line, sizeof(line), f)) {
		if (!strstr(line, "[vdso]") ||
		    sscanf(line, "%llx-%llx", &lo, &hi) != 2 ||
		    lo != (uintptr_t)base || hi - lo > (1 << 20))
			continue;
		c->vdso_fd = memfd_create("vdso", MFD_CLOEXEC);
		if (c->vdso_fd >= 0 &&
		    write(c->vdso_fd, base, hi - lo) != (ssize_t)(hi - lo)) {
			close(c->vdso_fd);
			c->vdso_fd = -1;
		}
		break;
	}
	if (f)
		fclose(f);
	c->vdso = c->vdso_fd >= 0 ? calloc(1, sizeof(*c->vdso)) : NULL;
	if (c->vdso) {
		c->vdso->cache = c;
		c->vdso->in_use = true;		/* never charged: ours */
		c->vdso->syms = elf_symtab__load(c->vdso_fd);
		c->vdso->owns_syms = true;
		c->vdso->naming = NAMED_DYNSYM;
		/* Its static functions (do_hres...): one box each, by FDE. */
		c->vdso->funcs = func_ranges__from_fd(c->vdso_fd);
	}
}

void dso_cache__init(struct dso_cache *c, const char *proc_root,
		     struct symbolizer_stats *stats,
		     const struct symbolizer_hooks *hooks,
		     struct mem_budget *budget)
{
	memset(c, 0, sizeof(*c));
	c->budget = budget;
	c->proc_root = proc_root;
	c->stats = stats;
	c->hooks = hooks;
	load_vdso(c);
}

void dso_cache__hook_vdso(struct dso_cache *c)
{
	size_t len = 0;
	const uint8_t *id;

	if (!c->vdso || c->vdso_fd < 0 || !c->hooks->file_loaded)
		return;
	id = elf_symtab__build_id(c->vdso->syms, &len);
	c->vdso->hooked = c->hooks->file_loaded(c->hooks->ctx, c->vdso_fd, id, len);
}

static void dso__free(struct dso_cache *c, struct dso *d)
{
	if (d->owns_syms)
		elf_symtab__free(d->syms);
	if (d->hooked && c->hooks->file_dropped)
		c->hooks->file_dropped(c->hooks->ctx, d->hooked);
	func_ranges__free(d->funcs);
	dso__drop_dwarf(c, d);
	mem_budget__uncharge(c->budget, &d->cached);
	free(d);
}

void dso_cache__free(struct dso_cache *c)
{
	for (size_t i = 0; i < c->dsos.cap; i++)
		if (c->dsos.slots[i])
			dso__free(c, c->dsos.slots[i]);
	if (c->vdso)
		dso__free(c, c->vdso);
	if (c->vdso_fd >= 0)
		close(c->vdso_fd);
	free(c->dsos.slots);
	free(c->build_ids.slots);
	memset(c, 0, sizeof(*c));
	c->vdso_fd = -1;
}

void dso_cache__set_dwarf_budget(struct dso_cache *c, size_t bytes)
{
	c->dwarf_budget = bytes;
	mem_budget__set_kind_limit(c->budget, CACHE_DWARF, bytes);
}
