/* SPDX-License-Identifier: MIT */
/*
 * Names code addresses. Kernel addresses from kallsyms; user addresses from
 * a snapshot of the process's executable mappings, taken while it is alive,
 * with each mapped file opened inside the process's root and its symbol
 * table cached by (device, inode) and shared by build-id.
 */
#ifndef SYSSCOPE_SYMBOLIZE_H
#define SYSSCOPE_SYMBOLIZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct symbolizer;
struct fetcher;
struct stat_field;

/* How a user frame was named. */
enum frame_naming {
	NAMED_SYMTAB,		/* the file's .symtab */
	NAMED_DYNSYM,		/* only its dynamic symbols (stripped) */
	NAMED_BUILD_ID,		/* a debug file found by build-id */
	NAMED_DEBUGLINK,	/* a debug file found by .gnu_debuglink */
	NAMED_DEBUGINFOD,	/* a debug file from a debuginfod server */
	NAMED_MINIDEBUGINFO,	/* its .gnu_debugdata (Fedora, RHEL) */
	NAMED_PERF_MAP,		/* a JIT's /tmp/perf-PID.map */
	NAMED_FUNC_START,	/* no symbol: file!func+0xSTART, from its CFI */
	NAMED_NONE,		/* file+0xOFFSET or [unknown] */
	NAMED_MAX,
};

struct symbolizer_stats {
	uint64_t processes;		/* snapshots taken */
	uint64_t processes_gone;	/* exited before we could read them */
	uint64_t processes_retired;	/* exited: kept aside for their samples */
	uint64_t files;			/* distinct files with symbols */
	uint64_t files_shared;		/* same build-id as a loaded file */
	uint64_t files_failed;		/* unreadable or not ELF */
	uint64_t files_remote;		/* on FUSE/network mounts: not read */
	uint64_t files_evicted;		/* idle (no process maps them), evicted */
	uint64_t jit_maps;		/* /tmp/perf-<pid>.map files read */
	uint64_t jit_maps_over_budget;	/* not read: the budget was used up */
	uint64_t jit_lines_over_budget;	/* lines past it, not indexed */
	uint64_t user_unresolved;	/* addresses named module+0xoff */
	uint64_t debug_files[4];	/* enum debug_source: own, build-id,
					   debuglink, debuginfod */
	/* Debug files asked of debuginfod (see fetcher.h), by outcome. */
	uint64_t debuginfod_requested;
	uint64_t debuginfod_fetched;	/* fetched and used */
	uint64_t debuginfod_failed;	/* not found, not the file, no helper */
	uint64_t debuginfod_timed_out;	/* too slow: the helper's deadline, or
					   unanswered when the run ended */
	uint64_t frames_named[NAMED_MAX];	/* user frames, by how */
	uint64_t frames_with_line;	/* user frames given a file:line */
	uint64_t frames_inlined;	/* frames of inlined calls added */
	uint64_t dwarf_files;		/* files whose DWARF lines were read */
	uint64_t dwarf_failed;		/* ... refused (caps) or unreadable */
	uint64_t dwarf_over_budget;	/* ... larger than the whole budget */
	uint64_t dwarf_evicted;		/* ... freed for room (LRU) */
	uint64_t kernel_unresolved;
};

/* One executable mapping of a process, as a hook sees it. */
struct mapped_region {
	uint64_t start, end, pgoff;
	void *file;		/* file_loaded's handle; NULL: no file, or none */
};

/*
 * What others derive from the files the symbolizer opens (the unwinder's
 * tables): told when a file is first opened (fd valid during the call
 * only; the returned handle is kept with the file), when it is freed, and
 * when a process's mappings are read or dropped. Each file is read once.
 */
struct symbolizer_hooks {
	void *ctx;
	void *(*file_loaded)(void *ctx, int fd, const uint8_t *build_id,
			     size_t build_id_len);
	void (*file_dropped)(void *ctx, void *file);
	void (*process_mapped)(void *ctx, uint32_t pid,
			       const struct mapped_region *r, size_t n);
	void (*process_dropped)(void *ctx, uint32_t pid);
};

/* proc_root is "/proc" on a host, e.g. "/host/proc" in a pod. */
struct symbolizer *symbolizer__new(const char *proc_root);
void symbolizer__free(struct symbolizer *s);
/*
 * Source lines and inlined frames from DWARF: at most bytes of the budget
 * for it (files' DWARF sections, dwarf_frames.h; libdw's own tables come
 * on top, about half as much again), the least recently used freed for
 * room. 0 (the default): none read.
 */
void symbolizer__set_dwarf_budget(struct symbolizer *s, size_t bytes);
/*
 * Read mapped files on FUSE and network filesystems too (off by default:
 * remote_fs.h). Their mappings stay unnamed, file+0xOFFSET, and counted.
 */
void symbolizer__set_read_remote(struct symbolizer *s, bool on);
/*
 * Everything derived from other processes' files (symbol tables, DWARF,
 * perf map indexes, and what the hooks charge: unwind tables) is charged
 * to one budget (mem_budget.h), SYMBOLIZER_DEFAULT_BUDGET unless set.
 * Files no process maps stay cached until evicted, least recently used
 * first, for room.
 */
#define SYMBOLIZER_DEFAULT_BUDGET (512ULL << 20)
void symbolizer__set_budget(struct symbolizer *s, size_t bytes);
/* The budget, for the hooks and others to charge (lives as long as s). */
struct mem_budget *symbolizer__budget(struct symbolizer *s);
/*
 * Evicts the least recently used file no process maps that the hooks
 * built something for (room for an unwind table in BPF). false: none.
 * Only from within a hook's file_loaded (or outside the symbolizer).
 */
bool symbolizer__evict_idle_hooked(struct symbolizer *s);
/*
 * At most bytes of the budget for the index of all JIT perf maps (16
 * bytes a line): a map read when the rest hold it all is not read, and
 * one that does not fit is indexed up to what is left (its first lines),
 * the rest counted. 0 (the default): only the budget, and each map's own
 * cap (perfmap.h).
 */
void symbolizer__set_jit_budget(struct symbolizer *s, size_t bytes);
/* Before any process is added; h is copied. */
void symbolizer__set_hooks(struct symbolizer *s, const struct symbolizer_hooks *h);

/*
 * Before any process is added: files with no debug file here are asked
 * of f (a debuginfod helper, which the symbolizer does not own).
 */
void symbolizer__set_fetcher(struct symbolizer *s, struct fetcher *f);

/*
 * Names with the debug files the fetcher has sent since, waiting up to
 * wait_ms for those still asked. final: what is still unanswered is
 * counted as timed out (the run ends).
 */
void symbolizer__take_fetched(struct symbolizer *s, int wait_ms, bool final);

/*
 * Reads kallsyms now: it shows addresses only to CAP_SYSLOG (or a low
 * perf_event_paranoid), which the sandbox drops. 0 or -errno.
 */
int symbolizer__load_kernel(struct symbolizer *s);

/* Snapshots pid's mappings (again, if known). 0, -ESRCH if it is gone. */
int symbolizer__add_process(struct symbolizer *s, uint32_t pid);
/* pid's mappings are read (a kernel thread's too, though it has none). */
bool symbolizer__has_process(const struct symbolizer *s, uint32_t pid);
/* Drops pid's maps (it exec'd): symbolizer__has_process() is false again. */
void symbolizer__forget_process(struct symbolizer *s, uint32_t pid);

/*
 * Pids are reused: a process is pid and start_ns, its thread group
 * leader's start time (task_struct::start_time, as BPF reads it; 0 where
 * unknown). A process seen (a notice): its maps are read, and a snapshot
 * of an earlier process with its pid is kept aside first. 0 or -errno.
 */
int symbolizer__notice_process(struct symbolizer *s, uint32_t pid,
			       uint64_t start_ns);
/*
 * A process exited: its snapshot is kept aside, still naming the samples
 * that carry its start_ns, until symbolizer__forget_exited().
 */
void symbolizer__process_exited(struct symbolizer *s, uint32_t pid,
				uint64_t start_ns);
/* A snapshot names samples of (pid, start_ns): kept aside, or pid's now. */
bool symbolizer__has_process_at(const struct symbolizer *s, uint32_t pid,
				uint64_t start_ns);
/*
 * Drops the maps of processes that have exited (the agent, between
 * windows: they cannot sample again), then the symbol tables of files no
 * remaining process maps. The count of processes.
 */
size_t symbolizer__forget_exited(struct symbolizer *s);

#define USER_FRAMES_MAX 8

/* One source frame of a user address. */
struct user_frame {
	const char *name;		/* always something printable */
	const char *system_name;	/* the mangled name, or NULL */
	const char *file;		/* NULL: no DWARF line for it */
	uint32_t line;
	uint32_t start_line;		/* the function's; 0: unknown */
};

/*
 * The frames of one address, innermost first: f[0..n-2] are calls inlined
 * each into the next, f[n-1] is the function the code is in (n >= 1).
 * Strings live until the next call or symbolizer__forget_exited().
 */
struct user_frames {
	size_t n;
	struct user_frame f[USER_FRAMES_MAX];
	char text[2048];		/* names formatted for this address */
	size_t text_used;
};

/*
 * Names ip of pid's process started at start_ns (0: whichever is pid's
 * now). A caller frame's ip is a return address: looked up at ip - 1, in
 * the call instruction (its line, and the right function when the call
 * was a function's last instruction).
 */
void symbolizer__user_frames(struct symbolizer *s, uint32_t pid,
			     uint64_t start_ns, uint64_t ip, bool caller,
			     struct user_frames *out);
/* The function's name alone (f[n-1]) into buf. */
void symbolizer__user(struct symbolizer *s, uint32_t pid, uint64_t ip,
		      char *buf, size_t len);
void symbolizer__kernel(struct symbolizer *s, uint64_t ip, char *buf,
			size_t len);

const struct symbolizer_stats *symbolizer__stats(const struct symbolizer *s);
/*
 * The fields of struct symbolizer_stats, as summary.txt and /metrics name
 * them: *n of them.
 */
const struct stat_field *symbolizer_stats__fields(size_t *n);

#endif
