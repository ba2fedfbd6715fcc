// SPDX-License-Identifier: MIT
/*
 * Unit tests of the symbolizer (src/symbols/symbolize.c) against live processes:
 * this test itself, forked children (same image, same layout) and copies
 * of this binary exec'd with "--pause" (same build-id, other inode, other
 * load address). The test binary is built with -g and keeps .symtab.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elfsyms.h"
#include "procmaps.h"
#include "mem_budget.h"
#include "symbolize.h"

#define PAUSE_ARG "--pause"
#define READY_FD 3		/* the paused copy says "ready" here */

/* A function of this binary that the compiler must keep as it is. */
__attribute__((noinline)) int sysscope_test_target(int x);
__attribute__((noinline)) int sysscope_test_target(int x)
{
	__asm__ volatile("" : "+r"(x) : : "memory");
	return x * 3 + 1;
}

static uint64_t target_ip(void)
{
	/* Inside the function, as a return address would be. */
	return (uint64_t)(uintptr_t)&sysscope_test_target + 2;
}

static struct {
	char dir[PATH_MAX / 2];	/* absolute: compared with /proc paths */
	char exe[PATH_MAX];	/* this test binary */
} fx;

/* Per test: freed, killed and removed by teardown, even after a failure. */
struct ctx {
	struct symbolizer *s;
	pid_t child;
	char copy[PATH_MAX + 16];
};

/* ---- helpers: children ---- */

static void pause_forever(void)
{
	for (;;)
		pause();
}

/* A child with this process's image and layout, paused. */
static pid_t fork_paused(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		pause_forever();
	return pid;
}

/* Kills the test's child now; teardown then has nothing left to do. */
static void kill_and_reap(struct ctx *c)
{
	int status;

	assert_int_equal(kill(c->child, SIGKILL), 0);
	assert_int_equal(waitpid(c->child, &status, 0), c->child);
	assert_true(WIFSIGNALED(status));
	c->child = 0;
}

/* A pid that existed and is gone: a reaped child's. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	int status;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return pid;
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY | O_CLOEXEC);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ssize_t n;

	assert_true(in >= 0);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	assert_int_equal(close(out), 0);
}

static bool exe_is(pid_t pid, const char *path)
{
	char link[64], target[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%d/exe", pid);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, path);
}

/*
 * Runs path PAUSE_ARG as the test's child and waits for its "ready" on fd 3:
 * /proc/PID/exe changes before exec maps the new image, so it is no sign.
 */
static void spawn_paused(struct ctx *c, const char *path)
{
	int fds[2];
	char ready;
	pid_t pid;

	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(fds[1], READY_FD) == READY_FD)
			execl(path, path, PAUSE_ARG, (char *)NULL);
		_exit(127);
	}
	c->child = pid;
	close(fds[1]);
	assert_int_equal(read(fds[0], &ready, 1), 1);
	close(fds[0]);
	assert_true(exe_is(pid, path));
}

/* Start of the pgoff-0 mapping of path in pid: the load address. */
static uint64_t load_base(pid_t pid, const char *path)
{
	char maps[64], *line = NULL;
	size_t cap = 0;
	uint64_t base = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	assert_non_null(f);
	while (!base && getline(&line, &cap, f) > 0) {
		struct procmap m;

		if (!procmap__parse(line, &m) && m.pgoff == 0 &&
		    !strcmp(m.path, path))
			base = m.start;
	}
	free(line);
	fclose(f);
	assert_true(base != 0);
	return base;
}

/* Sharing by build-id can only be seen if the toolchain wrote one. */
static bool exe_has_build_id(void)
{
	int fd = open(fx.exe, O_RDONLY | O_CLOEXEC);
	struct elf_symtab *syms = fd >= 0 ? elf_symtab__load(fd) : NULL;
	size_t len = 0;

	if (syms)
		elf_symtab__build_id(syms, &len);
	elf_symtab__free(syms);
	if (fd >= 0)
		close(fd);
	return len > 0;
}

/* /proc/PID/map_files needs CAP_SYS_ADMIN (or CAP_CHECKPOINT_RESTORE). */
static bool can_open_map_file(pid_t pid, uint64_t start)
{
	char maps[64], path[128], *line = NULL;
	size_t cap = 0;
	int fd = -1;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	assert_non_null(f);
	while (fd < 0 && getline(&line, &cap, f) > 0) {
		struct procmap m;

		if (procmap__parse(line, &m) || m.start != start)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid,
			 (unsigned long long)m.start, (unsigned long long)m.end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		break;
	}
	free(line);
	fclose(f);
	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/* ---- helpers: symbolizer ---- */

static void assert_user_name(struct symbolizer *s, pid_t pid, uint64_t ip,
			     const char *want)
{
	char name[256];

	symbolizer__user(s, (uint32_t)pid, ip, name, sizeof(name));
	assert_string_equal(name, want);
}

static uint64_t kallsyms_addr_of(const char *want)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], type, name[256];
	unsigned long long addr;
	uint64_t found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    (type == 'T' || type == 't') && !strcmp(name, want))
			found = addr;
	fclose(f);
	return found;
}

/* ---- tests ---- */

#define CTX struct ctx *c = *state; struct symbolizer *s = c->s

static void test_own_function(void **state)
{
	CTX;
	uint32_t self = (uint32_t)getpid();

	assert_int_equal(symbolizer__add_process(s, self), 0);
	assert_true(symbolizer__has_process(s, self));
	assert_user_name(s, getpid(), target_ip(), "sysscope_test_target");
	assert_user_name(s, getpid(), (uint64_t)(uintptr_t)&sysscope_test_target,
			 "sysscope_test_target");
	assert_int_equal(symbolizer__stats(s)->processes, 1);
	assert_int_equal(symbolizer__stats(s)->processes_gone, 0);
	assert_int_equal(symbolizer__stats(s)->user_unresolved, 0);
	assert_true(symbolizer__stats(s)->files >= 2);	/* binary, libc */
	assert_int_equal(sysscope_test_target(1), 4);
}

/* The frame name of ip in pid's process started at start_ns. */
static void assert_name_at(struct symbolizer *s, uint64_t start_ns,
			   uint64_t ip, const char *want)
{
	struct user_frames *out = malloc(sizeof(*out));

	assert_non_null(out);
	symbolizer__user_frames(s, (uint32_t)getpid(), start_ns, ip, false, out);
	assert_string_equal(out->f[out->n - 1].name, want);
	free(out);
}

/*
 * A process exits and its pid comes back (here: this process, told of as
 * two): the first's samples keep its maps, the pid's new process gets its
 * own, and neither is named from the other's.
 */
static void test_exited_process_kept_apart(void **state)
{
	CTX;
	uint32_t self = (uint32_t)getpid();

	assert_int_equal(symbolizer__notice_process(s, self, 111), 0);
	assert_name_at(s, 111, target_ip(), "sysscope_test_target");
	symbolizer__process_exited(s, self, 111);
	/* Its samples are still named; the pid's next process is not yet read. */
	assert_true(symbolizer__has_process_at(s, self, 111));
	assert_false(symbolizer__has_process_at(s, self, 222));
	assert_name_at(s, 111, target_ip(), "sysscope_test_target");
	assert_name_at(s, 222, target_ip(), "[unknown]");
	assert_int_equal(symbolizer__stats(s)->processes_retired, 1);
	/* A late notice of the exited process does not read the pid again. */
	assert_int_equal(symbolizer__notice_process(s, self, 111), 0);
	assert_false(symbolizer__has_process_at(s, self, 222));
	/* The next one, and, its exit not told, the one after it. */
	assert_int_equal(symbolizer__notice_process(s, self, 222), 0);
	assert_name_at(s, 222, target_ip(), "sysscope_test_target");
	assert_int_equal(symbolizer__notice_process(s, self, 333), 0);
	assert_int_equal(symbolizer__stats(s)->processes_retired, 2);
	/* Between windows, what exited goes. */
	assert_int_equal(symbolizer__forget_exited(s), 2);
	assert_name_at(s, 111, target_ip(), "sysscope_test_target");	/* pid's now */
	assert_int_equal(sysscope_test_target(1), 4);
}

static void test_libc_function(void **state)
{
	CTX;
	void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
	void *fn;
	Dl_info info;
	char name[256];

	assert_non_null(libc);
	/* libc's own fopen, not a sanitizer's interceptor of it. */
	fn = dlsym(libc, "fopen");
	dlclose(libc);
	assert_non_null(fn);
	assert_true(dladdr(fn, &info));
	assert_non_null(strstr(info.dli_fname, "libc.so"));
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	symbolizer__user(s, (uint32_t)getpid(), (uint64_t)(uintptr_t)fn + 4,
			 name, sizeof(name));
	/* fopen and _IO_fopen are one address; either name is right. */
	if (!strstr(name, "fopen"))
		fail_msg("fopen named \"%s\"", name);
	assert_null(strstr(name, "+0x"));
	assert_int_equal(symbolizer__stats(s)->user_unresolved, 0);
}

static void test_unmapped_address(void **state)
{
	CTX;

	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	assert_user_name(s, getpid(), 0x10, "[unknown]");
	assert_user_name(s, getpid(), 0, "[unknown]");
	assert_user_name(s, getpid(), UINT64_MAX, "[unknown]");
	assert_int_equal(symbolizer__stats(s)->user_unresolved, 3);
}

static void test_unknown_pid(void **state)
{
	CTX;

	assert_false(symbolizer__has_process(s, (uint32_t)getpid()));
	assert_user_name(s, getpid(), target_ip(), "[unknown]");
	assert_int_equal(symbolizer__stats(s)->user_unresolved, 1);
}

static void test_small_buffer(void **state)
{
	CTX;
	char name[8];

	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	memset(name, 'x', sizeof(name));
	symbolizer__user(s, (uint32_t)getpid(), target_ip(), name, sizeof(name));
	assert_string_equal(name, "sysscop");
}

/*
 * A kernel thread maps nothing: once read, it is known, and its samples
 * (every window) do not read its maps again.
 */
static void test_kernel_thread_read_once(void **state)
{
	CTX;
	char comm[32] = "";
	FILE *f = fopen("/proc/2/comm", "re");

	/* kthreadd is pid 2, where this pid namespace is the host's. */
	if (!f || !fgets(comm, sizeof(comm), f) || strcmp(comm, "kthreadd\n")) {
		if (f)
			fclose(f);
		skip();
	}
	fclose(f);
	assert_false(symbolizer__has_process(s, 2));
	assert_int_equal(symbolizer__add_process(s, 2), 0);
	assert_true(symbolizer__has_process(s, 2));
	assert_int_equal(symbolizer__stats(s)->processes, 1);
	assert_user_name(s, 2, target_ip(), "[unknown]");
	/* Told it exec'd (a pid reused): read again when it samples. */
	symbolizer__forget_process(s, 2);
	assert_false(symbolizer__has_process(s, 2));
}

static void test_process_gone(void **state)
{
	CTX;
	pid_t pid = dead_pid();

	assert_int_equal(symbolizer__add_process(s, (uint32_t)pid), -ESRCH);
	assert_false(symbolizer__has_process(s, (uint32_t)pid));
	assert_int_equal(symbolizer__stats(s)->processes_gone, 1);
	assert_int_equal(symbolizer__stats(s)->processes, 0);
	assert_user_name(s, pid, target_ip(), "[unknown]");
}

/* pid's executable mappings with no file, but for [vdso] and [vsyscall]. */
static int anon_exec_mappings(pid_t pid)
{
	char path[64], line[PATH_MAX + 256];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		struct procmap m;

		if (!procmap__parse(line, &m) && m.exec && m.path[0] != '/' &&
		    strcmp(m.path, "[vdso]") && strcmp(m.path, "[vsyscall]"))
			n++;
	}
	fclose(f);
	return n;
}

/*
 * [vsyscall] (executable in every x86-64 process) is no JIT code: reading
 * the maps does not look for a perf map. An address outside every mapping
 * still looks, once.
 */
static void test_vsyscall_is_not_jit(void **state)
{
	CTX;
	char path[64];
	FILE *f;

	c->child = fork_paused();
	if (anon_exec_mappings(c->child))
		skip();
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", (int)c->child);
	f = fopen(path, "we");
	assert_non_null(f);
	fprintf(f, "1000 100 jitted_function\n");
	fclose(f);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__stats(s)->jit_maps, 0);
	assert_user_name(s, c->child, 0x1010, "jitted_function");
	assert_int_equal(symbolizer__stats(s)->jit_maps, 1);
	unlink(path);
}

/* The snapshot outlives the process: short-lived tasks still get names. */
static void test_exited_child_still_symbolizes(void **state)
{
	CTX;
	pid_t pid = c->child = fork_paused();

	assert_int_equal(symbolizer__add_process(s, (uint32_t)pid), 0);
	kill_and_reap(c);
	assert_true(symbolizer__has_process(s, (uint32_t)pid));
	/* After fork the child's layout is this process's. */
	assert_user_name(s, pid, target_ip(), "sysscope_test_target");
	/* Snapshotting the dead pid again fails and keeps the old snapshot. */
	assert_int_equal(symbolizer__add_process(s, (uint32_t)pid), -ESRCH);
	assert_int_equal(symbolizer__stats(s)->processes_gone, 1);
	assert_user_name(s, pid, target_ip(), "sysscope_test_target");
}

/* Adding a process again replaces its snapshot; nothing leaks. */
static void test_add_twice(void **state)
{
	CTX;
	uint64_t files;

	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	files = symbolizer__stats(s)->files;
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	assert_int_equal(symbolizer__stats(s)->processes, 2);
	assert_int_equal(symbolizer__stats(s)->files, files);
	assert_user_name(s, getpid(), target_ip(), "sysscope_test_target");
}

/* Two processes of one binary: its symbols are loaded once. */
static void test_same_binary_counted_once(void **state)
{
	CTX;
	uint64_t files;

	c->child = fork_paused();
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	files = symbolizer__stats(s)->files;
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__stats(s)->processes, 2);
	assert_int_equal(symbolizer__stats(s)->files, files);
	assert_int_equal(symbolizer__stats(s)->files_shared, 0);
	assert_user_name(s, c->child, target_ip(), "sysscope_test_target");
}

/*
 * A copy of this binary (another inode, the same build-id) run as its own
 * process: a file of its own, its symbol table shared, and addresses named
 * at its own load address.
 */
/* A copy of this binary (same build-id, other inode) run paused. */
static void spawn_copy_with_build_id(struct ctx *c)
{
	if (!exe_has_build_id()) {
		print_message("%s has no build-id: skipped\n", fx.exe);
		fail();
	}
	snprintf(c->copy, sizeof(c->copy), "%s/copy", fx.dir);
	copy_file(fx.exe, c->copy);
	spawn_paused(c, c->copy);
}

static void test_copy_shares_by_build_id(void **state)
{
	CTX;
	uint64_t files, ip;

	spawn_copy_with_build_id(c);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	files = symbolizer__stats(s)->files;
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__stats(s)->files, files + 1);
	assert_int_equal(symbolizer__stats(s)->files_shared, 1);
	ip = target_ip() - load_base(getpid(), fx.exe) +
	     load_base(c->child, c->copy);
	assert_user_name(s, c->child, ip, "sysscope_test_target");
}

static void reap(struct ctx *c)
{
	assert_int_equal(kill(c->child, SIGKILL), 0);
	assert_int_equal(waitpid(c->child, NULL, 0), c->child);
	c->child = 0;
}

/*
 * A copy's table stays cached, idle, once its process is gone, and goes
 * when the budget needs room; this binary's stays (pinned), and a new
 * copy still finds it by build-id in the tables.
 */
static void test_exited_copy_evicted(void **state)
{
	CTX;
	struct mem_budget *b = symbolizer__budget(s);
	uint64_t ip;

	spawn_copy_with_build_id(c);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__stats(s)->files_shared, 1);
	/* Nothing gone: nothing dropped. */
	assert_int_equal(symbolizer__forget_exited(s), 0);
	assert_int_equal(symbolizer__stats(s)->files_evicted, 0);
	reap(c);
	assert_int_equal(symbolizer__forget_exited(s), 1);
	/* Idle, cached: not evicted while there is room. */
	assert_int_equal(symbolizer__stats(s)->files_evicted, 0);
	/* Room wanted: the copy (its libraries are this process's too) goes. */
	symbolizer__set_budget(s, b->bytes - 1);
	assert_int_equal(symbolizer__stats(s)->files_evicted, 1);
	assert_int_equal(b->stats.evictions[CACHE_SYMBOLS], 1);
	assert_true(b->bytes <= b->limit);
	symbolizer__set_budget(s, SYMBOLIZER_DEFAULT_BUDGET);
	assert_user_name(s, getpid(), target_ip(), "sysscope_test_target");
	/* A new copy (new inode) shares this binary's table again. */
	unlink(c->copy);
	copy_file(fx.exe, c->copy);
	spawn_paused(c, c->copy);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__stats(s)->files_shared, 2);
	ip = target_ip() - load_base(getpid(), fx.exe) +
	     load_base(c->child, c->copy);
	assert_user_name(s, c->child, ip, "sysscope_test_target");
}

/*
 * The same binary started again after its process exited: its file is
 * found cached (a hit), not read again.
 */
static void test_exited_binary_reused(void **state)
{
	CTX;
	struct mem_budget *b = symbolizer__budget(s);
	uint64_t files, hits, ip;

	spawn_copy_with_build_id(c);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	reap(c);
	assert_int_equal(symbolizer__forget_exited(s), 1);
	files = symbolizer__stats(s)->files;
	hits = b->stats.hits[CACHE_SYMBOLS];
	spawn_paused(c, c->copy);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__stats(s)->files, files);
	assert_true(b->stats.hits[CACHE_SYMBOLS] > hits);
	assert_int_equal(symbolizer__stats(s)->files_evicted, 0);
	ip = target_ip() - load_base(getpid(), fx.exe) +
	     load_base(c->child, c->copy);
	assert_user_name(s, c->child, ip, "sysscope_test_target");
}

/*
 * The copy read first owns the table this binary shares: gone, its
 * process is, but the table stays while this process uses it.
 */
static void test_shared_table_outlives_its_first_reader(void **state)
{
	CTX;

	spawn_copy_with_build_id(c);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	assert_int_equal(symbolizer__stats(s)->files_shared, 1);
	reap(c);
	assert_int_equal(symbolizer__forget_exited(s), 1);
	assert_int_equal(symbolizer__stats(s)->files_evicted, 0);
	/* Under ASan, a freed table would be a use after free here. */
	assert_user_name(s, getpid(), target_ip(), "sysscope_test_target");
}

/* The binary was deleted after it started: read through map_files. */
static void test_deleted_binary(void **state)
{
	CTX;
	uint64_t base, ip;

	snprintf(c->copy, sizeof(c->copy), "%s/deleted", fx.dir);
	copy_file(fx.exe, c->copy);
	spawn_paused(c, c->copy);
	base = load_base(c->child, c->copy);
	if (!can_open_map_file(c->child, base)) {
		print_message("no access to /proc/PID/map_files: skipped\n");
		fail();
	}
	assert_int_equal(unlink(c->copy), 0);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	ip = target_ip() - load_base(getpid(), fx.exe) + base;
	assert_user_name(s, c->child, ip, "sysscope_test_target");
	assert_int_equal(symbolizer__stats(s)->files_failed, 0);
}

/* A mapped file that is not ELF: named file+offset, counted as failed. */
static void test_non_elf_mapping(void **state)
{
	CTX;
	char buf[8192];
	uint64_t ip;
	void *addr;
	int fd;

	memset(buf, 'A', sizeof(buf));
	snprintf(c->copy, sizeof(c->copy), "%s/junk.bin", fx.dir);
	fd = open(c->copy, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
	addr = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 4096);
	close(fd);
	if (addr == MAP_FAILED) {
		print_message("cannot map %s executable: skipped\n", c->copy);
		fail();
	}
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	ip = (uint64_t)(uintptr_t)addr + 0x10;
	assert_user_name(s, getpid(), ip, "junk.bin+0x1010");
	assert_int_equal(symbolizer__stats(s)->files_failed, 1);
	assert_int_equal(symbolizer__stats(s)->user_unresolved, 1);
	munmap(addr, 4096);
}

/*
 * The vDSO has no file: named from the kernel's image (ours), at the
 * address its own dynamic symbols give clock_gettime.
 */
static void test_vdso(void **state)
{
	CTX;
	uint64_t vdso = getauxval(AT_SYSINFO_EHDR);
	void *h = dlopen("linux-vdso.so.1", RTLD_NOW | RTLD_NOLOAD);
	void *fn = h ? dlsym(h, "__vdso_clock_gettime") : NULL;
	char name[64];

	if (!vdso || !fn)
		fail();
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	symbolizer__user(s, (uint32_t)getpid(), (uint64_t)(uintptr_t)fn + 4,
			 name, sizeof(name));
	assert_true(!strcmp(name, "__vdso_clock_gettime") ||
		    !strcmp(name, "clock_gettime"));
	dlclose(h);
}

/*
 * strip keeps the build-id: a stripped copy of this binary, seen first,
 * must not take the full symbol table away from the unstripped binary.
 */
static void test_stripped_copy_first(void **state)
{
	CTX;
	char cmd[3 * PATH_MAX];

	if (!exe_has_build_id()) {
		print_message("%s has no build-id: skipped\n", fx.exe);
		fail();
	}
	snprintf(c->copy, sizeof(c->copy), "%s/stripped", fx.dir);
	snprintf(cmd, sizeof(cmd), "strip --strip-all -o '%s' '%s'", c->copy,
		 fx.exe);
	if (system(cmd)) {
		print_message("strip failed: skipped\n");
		fail();
	}
	spawn_paused(c, c->copy);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)c->child), 0);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), 0);
	assert_user_name(s, getpid(), target_ip(), "sysscope_test_target");
}

static void test_kernel_below_first_symbol(void **state)
{
	CTX;
	char name[64];

	if (!kallsyms_addr_of("schedule"))
		fail();
	symbolizer__kernel(s, 0x1000, name, sizeof(name));
	assert_string_equal(name, "0x1000");
	assert_int_equal(symbolizer__stats(s)->kernel_unresolved, 1);
}

static void test_kernel_schedule(void **state)
{
	CTX;
	uint64_t sched = kallsyms_addr_of("schedule");
	char name[256];

	if (!sched) {
		print_message("kallsyms addresses hidden (kptr_restrict): skipped\n");
		fail();
	}
	symbolizer__kernel(s, sched, name, sizeof(name));
	assert_string_equal(name, "schedule");
	symbolizer__kernel(s, sched + 1, name, sizeof(name));
	assert_string_equal(name, "schedule");
	assert_int_equal(symbolizer__stats(s)->kernel_unresolved, 0);
}

/* No kallsyms under this proc root: addresses are written as numbers. */
static void test_kernel_without_kallsyms(void **state)
{
	struct symbolizer *s = symbolizer__new("/nonexistent/proc");
	char name[64];

	(void)state;
	assert_non_null(s);
	symbolizer__kernel(s, 0xffffffff81000010ULL, name, sizeof(name));
	assert_string_equal(name, "0xffffffff81000010");
	symbolizer__kernel(s, 0xffffffff81000020ULL, name, sizeof(name));
	assert_string_equal(name, "0xffffffff81000020");
	assert_int_equal(symbolizer__stats(s)->kernel_unresolved, 2);
	assert_int_equal(symbolizer__add_process(s, (uint32_t)getpid()), -ESRCH);
	symbolizer__free(s);
}

static void test_proc_root_too_long(void **state)
{
	char root[PATH_MAX + 1];

	(void)state;
	memset(root, 'a', PATH_MAX);
	root[PATH_MAX] = '\0';
	errno = 0;
	assert_null(symbolizer__new(root));
	assert_int_equal(errno, ENAMETOOLONG);
	symbolizer__free(NULL);
}

/* ---- fixtures ---- */

static int setup_group(void **state)
{
	char *real;
	const char *base = getenv("SYSSCOPE_TEST_TMP");
	char dir[PATH_MAX / 2];
	ssize_t n = readlink("/proc/self/exe", fx.exe, sizeof(fx.exe) - 1);

	(void)state;
	if (n < 0)
		return -1;
	fx.exe[n] = '\0';
	snprintf(dir, sizeof(dir), "%s/symbolize_XXXXXX",
		 base && *base ? base : "/tmp");
	/* realpath() writes up to PATH_MAX: fx.dir is shorter, by design. */
	if (!mkdtemp(dir) || !(real = realpath(dir, NULL)))
		return -1;
	if (strlen(real) >= sizeof(fx.dir)) {
		free(real);
		return -1;
	}
	strcpy(fx.dir, real);
	free(real);
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	return rmdir(fx.dir);
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	c->s = symbolizer__new("/proc");
	if (!c->s) {
		free(c);
		return -1;
	}
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->child > 0) {
		kill(c->child, SIGKILL);
		waitpid(c->child, NULL, 0);
	}
	if (c->copy[0])
		unlink(c->copy);
	symbolizer__free(c->s);
	free(c);
	return 0;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		TEST(test_own_function),
		TEST(test_exited_process_kept_apart),
		TEST(test_libc_function),
		TEST(test_unmapped_address),
		TEST(test_unknown_pid),
		TEST(test_small_buffer),
		TEST(test_process_gone),
		TEST(test_kernel_thread_read_once),
		TEST(test_exited_child_still_symbolizes),
		TEST(test_add_twice),
		TEST(test_same_binary_counted_once),
		TEST(test_copy_shares_by_build_id),
		TEST(test_exited_binary_reused),
		TEST(test_exited_copy_evicted),
		TEST(test_shared_table_outlives_its_first_reader),
		TEST(test_deleted_binary),
		TEST(test_non_elf_mapping),
		TEST(test_vdso),
		TEST(test_vsyscall_is_not_jit),
		TEST(test_stripped_copy_first),
		TEST(test_kernel_schedule),
		TEST(test_kernel_below_first_symbol),
		cmocka_unit_test(test_kernel_without_kallsyms),
		cmocka_unit_test(test_proc_root_too_long),
	};

	/* A copy of this binary, run by a test, waits to be killed. */
	if (argc == 2 && !strcmp(argv[1], PAUSE_ARG)) {
		if (write(READY_FD, "r", 1) != 1)
			return 1;
		close(READY_FD);
		pause_forever();
	}
	return cmocka_run_group_tests(tests, setup_group, teardown_group);
}
