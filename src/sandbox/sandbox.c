// SPDX-License-Identifier: MIT
/*
 * After loading and attaching, sysscope only reads: BPF maps through fds it
 * already holds, /proc, cgroupfs and other processes' files. The sandbox
 * makes that all it can do: the capabilities for reading and nothing else
 * (in every set, bounding included), no_new_privs, and a seccomp allow-list.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <sched.h>
#include <seccomp.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "sandbox.h"

/*
 * What the run phase needs:
 *  CAP_SYS_PTRACE       /proc/PID/{maps,root,status} of any process;
 *  CAP_DAC_READ_SEARCH  open_by_handle_at() (cgroup id -> path), and files
 *                       in containers whatever their owner and mode;
 *  CAP_CHECKPOINT_RESTORE  /proc/PID/map_files, the only way to a mapped
 *                       binary that was deleted or replaced.
 * CAP_BPF stays only where the kernel (before 6.5) still checks it for
 * reading maps.
 */
static const cap_value_t run_caps[] = {
	CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE,
};
#define NRUN_CAPS (sizeof(run_caps) / sizeof(run_caps[0]))

static bool is_run_cap(cap_value_t c, bool keep_bpf)
{
	for (size_t i = 0; i < NRUN_CAPS; i++)
		if (run_caps[i] == c)
			return true;
	return keep_bpf && c == CAP_BPF;
}

/*
 * effective_only: a trial (permitted keeps everything, and CAP_SETPCAP
 * stays effective for dropping the bounding set afterwards).
 */
static int set_caps(bool keep_bpf, bool effective_only)
{
	cap_t caps = cap_get_proc();
	cap_value_t list[NRUN_CAPS + 2];
	int n = 0, err = 0;

	if (!caps)
		return -errno;
	for (size_t i = 0; i < NRUN_CAPS; i++)
		list[n++] = run_caps[i];
	if (keep_bpf)
		list[n++] = CAP_BPF;
	if (effective_only)
		list[n++] = CAP_SETPCAP;
	if (cap_clear_flag(caps, CAP_EFFECTIVE) ||
	    (!effective_only && (cap_clear_flag(caps, CAP_PERMITTED) ||
				 cap_clear_flag(caps, CAP_INHERITABLE))) ||
	    cap_set_flag(caps, CAP_EFFECTIVE, n, list, CAP_SET) ||
	    (!effective_only && cap_set_flag(caps, CAP_PERMITTED, n, list,
					     CAP_SET)) ||
	    cap_set_proc(caps))
		err = -errno;
	cap_free(caps);
	return err;
}

/* The bounding set goes first: dropping it needs CAP_SETPCAP. */
static int drop_bounding(bool keep_bpf)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (is_run_cap(c, keep_bpf))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL)
			return -errno;
	}
	return 0;
}

int sandbox__drop_privileges(int probe_map_fd, bool *kept_bpf)
{
	int ncpus = libbpf_num_possible_cpus();
	/* The probe map is per-CPU: one value per possible CPU. */
	void *value = calloc(ncpus > 0 ? ncpus : 1, 4096);
	__u32 key = 0;
	int err;

	if (!value)
		return -ENOMEM;
	/* Try reading a map without CAP_BPF while it can still come back. */
	*kept_bpf = false;
	err = set_caps(false, true);
	if (!err && probe_map_fd >= 0 &&
	    bpf_map_lookup_elem(probe_map_fd, &key, value) && errno == EPERM)
		*kept_bpf = true;
	free(value);
	if (err)
		return err;
	err = drop_bounding(*kept_bpf);
	err = err ?: set_caps(*kept_bpf, false);
	if (!err && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		err = -errno;
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	return err;
}

/* ---- --user ---- */

/* Does the directory open at fd hold nothing but "." and ".."? */
static int dir_is_empty(int fd)
{
	int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct dirent *d;
	DIR *dir;
	int ret = 1;

	if (dfd < 0)
		return -errno;
	dir = fdopendir(dfd);
	if (!dir) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	errno = 0;
	while (ret == 1 && (d = readdir(dir)))
		if (strcmp(d->d_name, ".") && strcmp(d->d_name, ".."))
			ret = 0;
	if (ret == 1 && errno)
		ret = -errno;
	closedir(dir);
	return ret;
}

int sandbox__give_dir(const char *dir, uid_t uid, gid_t gid)
{
	/* O_NOFOLLOW: a symlink put there is refused, not followed. */
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	int err = 0, empty;

	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(fd, &st)) {
		err = -errno;
	} else if (st.st_uid == uid) {
		/* Already the user's: only check it can write there. */
		if ((st.st_mode & (S_IWUSR | S_IXUSR)) != (S_IWUSR | S_IXUSR))
			err = -EACCES;
	} else if (st.st_uid != geteuid()) {
		err = -EPERM;
	} else if ((empty = dir_is_empty(fd)) <= 0) {
		err = empty ? empty : -EPERM;
	} else if (fchown(fd, uid, gid)) {
		err = -errno;
	}
	close(fd);
	return err;
}

/* Are the reading capabilities effective and permitted? */
static bool has_run_caps(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t e, p;
	bool ok = caps != NULL;

	for (size_t i = 0; ok && i < NRUN_CAPS; i++)
		ok = !cap_get_flag(caps, run_caps[i], CAP_EFFECTIVE, &e) &&
		     !cap_get_flag(caps, run_caps[i], CAP_PERMITTED, &p) &&
		     e == CAP_SET && p == CAP_SET;
	cap_free(caps);
	return ok;
}

int sandbox__switch_user(uid_t uid, gid_t gid)
{
	/* The sets as they are: restored after the switch, effective included. */
	cap_t caps = cap_get_proc();
	uid_t ru, eu, su;
	gid_t rg, eg, sg;
	int err = 0;

	if (!caps)
		return -errno;
	/*
	 * Keep-caps keeps permitted across the switch away from uid 0 (the
	 * kernel still clears effective and ambient); groups before uids,
	 * while CAP_SETGID is effective. setres[ug]id() change every thread.
	 */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) || setgroups(0, NULL) ||
	    setresgid(gid, gid, gid) || setresuid(uid, uid, uid))
		err = -errno;
	if (!err && cap_set_proc(caps))
		err = -errno;
	/* Not kept across a later uid change; execve() resets it anyway. */
	if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) && !err)
		err = -errno;
	cap_free(caps);
	if (err)
		return err;
	/* Every id is the user's, no group is left, and the reading caps are. */
	if (getresuid(&ru, &eu, &su) || getresgid(&rg, &eg, &sg))
		return -errno;
	if (ru != uid || eu != uid || su != uid || rg != gid || eg != gid ||
	    sg != gid || getgroups(0, NULL) != 0 || !has_run_caps())
		return -EPERM;
	return 0;
}

/* ---- seccomp ---- */

/*
 * The run phase: reading files and maps, waiting, talking to the output
 * writer (writer.h). Nothing here creates, renames, links or removes a
 * file: open() and openat() are allowed read-only (allow_args), openat2()
 * not at all (its flags are out of seccomp's sight; inroot.h does without).
 * write() reaches only descriptors already open: stdout, stderr, the
 * writer's socket, HTTP connections.
 */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(pread64), SCMP_SYS(readv),
	SCMP_SYS(write), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(dup),
	SCMP_SYS(fcntl), SCMP_SYS(lseek), SCMP_SYS(fstat), SCMP_SYS(stat),
	SCMP_SYS(lstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(access), SCMP_SYS(faccessat), SCMP_SYS(faccessat2),
	SCMP_SYS(getdents64), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
	SCMP_SYS(wait4),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(epoll_pwait2),
	SCMP_SYS(epoll_ctl), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(futex), SCMP_SYS(sched_yield), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(clock_gettime),
	SCMP_SYS(gettimeofday), SCMP_SYS(restart_syscall),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getrandom), SCMP_SYS(getrusage), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
};

/*
 * The sanitized test build only: LeakSanitizer stops the world at exit
 * with a ptrace()ing clone. Production builds never allow these.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZER_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZER_BUILD 1
#endif
#endif
static const int sanitizer_allowed[] = {
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(ptrace), SCMP_SYS(wait4),
	SCMP_SYS(waitid), SCMP_SYS(prctl), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getppid), SCMP_SYS(kill), SCMP_SYS(setpgid), SCMP_SYS(getdents),
	SCMP_SYS(sched_getparam), SCMP_SYS(arch_prctl),
};

/* bpf(): the commands that read maps (and run an existing iterator link). */
static const int bpf_cmds[] = {
	BPF_MAP_LOOKUP_ELEM, BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM,
	BPF_MAP_GET_NEXT_KEY, BPF_MAP_LOOKUP_BATCH,
	BPF_MAP_LOOKUP_AND_DELETE_BATCH, BPF_MAP_DELETE_BATCH, BPF_ITER_CREATE,
	BPF_OBJ_GET_INFO_BY_FD,		/* the agent's program run times */
};

/*
 * The agent's HTTP server: its thread, and serving connections on the
 * socket made before the sandbox. No socket(), bind() or connect().
 */
static const int server_allowed[] = {
	SCMP_SYS(accept4), SCMP_SYS(accept), SCMP_SYS(recvfrom),
	SCMP_SYS(sendto), SCMP_SYS(recvmsg), SCMP_SYS(sendmsg),
	SCMP_SYS(shutdown), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt),
	SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(epoll_create1), SCMP_SYS(eventfd2), SCMP_SYS(pipe2),
};

/* The debuginfod helper's answers: descriptors, on the socket it made. */
static const int fetcher_allowed[] = {
	SCMP_SYS(recvmsg),
};

static int allow_all(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		/* A call this architecture lacks (e.g. open): nothing to allow. */
		if (calls[i] < 0)
			continue;
		int err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i], 0);

		if (err)
			return err;
	}
	return 0;
}

/* Allows call when its argument arg equals value. */
static int allow_if(scmp_filter_ctx ctx, int call, unsigned int arg,
		    scmp_datum_t value)
{
	struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value, .datum_b = 0,
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, 1, &cmp);
}

/*
 * Threads, not processes: clone() only with CLONE_THREAD. clone3() passes
 * its flags in memory seccomp cannot read: ENOSYS makes glibc fall back
 * to clone().
 */
static int allow_threads(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp cmp = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ,
		.datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD,
	};
	int err = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone),
					 1, &cmp);

	return err ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(clone3), 0);
}

/* open(2), openat(2), open_by_handle_at(2): no flag that writes or creates. */
#define WRITE_FLAGS (O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND)

static int allow_read_only_opens(scmp_filter_ctx ctx)
{
	struct scmp_arg_cmp open_ro = {
		.arg = 1, .op = SCMP_CMP_MASKED_EQ, .datum_a = WRITE_FLAGS,
		.datum_b = 0,
	}, openat_ro = open_ro;
	int err = 0;

	openat_ro.arg = 2;
	if (SCMP_SYS(open) >= 0)
		err = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(open),
					     1, &open_ro);
	err = err ?: seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
					    SCMP_SYS(openat), 1, &openat_ro);
	/* By handle too (cgroup id -> path): its flags are argument 2. */
	err = err ?: seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW,
					    SCMP_SYS(open_by_handle_at), 1,
					    &openat_ro);
	/* As on a kernel without it: callers fall back or report. */
	return err ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				       SCMP_SYS(openat2), 0);
}

static int allow_args(scmp_filter_ctx ctx)
{
	int err = allow_read_only_opens(ctx);

	for (size_t i = 0; i < sizeof(bpf_cmds) / sizeof(bpf_cmds[0]) && !err; i++)
		err = allow_if(ctx, SCMP_SYS(bpf), 0, bpf_cmds[i]);
	/* Signals to ourselves only (abort(), raise()). */
	err = err ?: allow_if(ctx, SCMP_SYS(tgkill), 0, getpid());
	/* Detaching a perf_event link disables the event first. */
	err = err ?: allow_if(ctx, SCMP_SYS(ioctl), 1, PERF_EVENT_IOC_DISABLE);
	/* --cpu-budget lowers and raises the on-CPU sampling frequency. */
	err = err ?: allow_if(ctx, SCMP_SYS(ioctl), 1, PERF_EVENT_IOC_PERIOD);
	return err;
}

/*
 * Anything else fails with EPERM rather than killing the process: the
 * caller then reports a clear error, and what was collected is written.
 */
int sandbox__install_seccomp(bool server, bool fetcher)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int err;

	if (!ctx)
		return -ENOMEM;
	err = allow_all(ctx, allowed, sizeof(allowed) / sizeof(allowed[0]));
	if (server) {
		err = err ?: allow_all(ctx, server_allowed,
				       sizeof(server_allowed) / sizeof(server_allowed[0]));
#ifndef SANITIZER_BUILD
		err = err ?: allow_threads(ctx);
#else
		(void)allow_threads;	/* clone is allowed outright below */
#endif
	}
	if (fetcher)
		err = err ?: allow_all(ctx, fetcher_allowed,
				       sizeof(fetcher_allowed) / sizeof(fetcher_allowed[0]));
#ifdef SANITIZER_BUILD
	err = err ?: allow_all(ctx, sanitizer_allowed,
			       sizeof(sanitizer_allowed) / sizeof(sanitizer_allowed[0]));
#else
	(void)sanitizer_allowed;
#endif
	err = err ?: allow_args(ctx);
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

/* ---- proof, for tests ---- */

void sandbox__print_status(FILE *out)
{
	static const char *const keys[] = { "Seccomp", "NoNewPrivs", "CapEff",
					    "CapPrm", "CapBnd" };
	char line[256], said[512] = "";
	FILE *f = fopen("/proc/self/status", "re");
	size_t used = 0;

	while (f && fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':'), *v;

		if (!colon)
			continue;
		*colon = '\0';
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			if (strcmp(line, keys[i]))
				continue;
			v = colon + 1 + strspn(colon + 1, " \t");
			v[strcspn(v, "\n")] = '\0';
			used += snprintf(said + used, sizeof(said) - used, "%s%s %s",
					 used ? ", " : "", keys[i], v);
			if (used >= sizeof(said))
				used = sizeof(said) - 1;
		}
	}
	if (f)
		fclose(f);
	fprintf(out, "sandbox status: %s\n", said[0] ? said : "unreadable");
}

/* seccomp answers EPERM; a missing capability may answer EACCES. */
static bool denied(long ret)
{
	return ret < 0 && (errno == EPERM || errno == EACCES);
}

int sandbox__selftest(FILE *out)
{
	/*
	 * A bad argv: seccomp refuses first (EPERM); if it did not, the kernel
	 * faults copying argv (EFAULT) before replacing us. Never a real exec.
	 */
	char *const *bad_argv = (char *const *)1;
	struct perf_event_attr attr = { .type = PERF_TYPE_SOFTWARE,
					.size = sizeof(attr),
					.config = PERF_COUNT_SW_CPU_CLOCK };
	union bpf_attr load = { .prog_type = BPF_PROG_TYPE_SOCKET_FILTER };
	/* openat2(O_RDONLY): even a read, since its flags are hidden. */
	__u64 how[3] = { O_RDONLY, 0, 0 };
	/* A handle no file has: only the filter can say EPERM to it. */
	struct { unsigned int bytes; int type; unsigned char h[8]; } handle = {
		.bytes = 8, .type = 1,
	};
	struct { const char *what; bool ok; int err; } r[6];
	long fd;
	int failed = 0;

	r[0].what = "execve";
	r[0].ok = denied(syscall(__NR_execve, "/bin/true", bad_argv, NULL));
	r[0].err = errno;
	r[1].what = "bpf(BPF_PROG_LOAD)";
	r[1].ok = denied(syscall(__NR_bpf, BPF_PROG_LOAD, &load, sizeof(load)));
	r[1].err = errno;
	r[2].what = "perf_event_open";
	r[2].ok = denied(syscall(__NR_perf_event_open, &attr, 0, -1, -1, 0));
	r[2].err = errno;
	/* Our own memory, for writing: harmless if it were allowed. */
	r[3].what = "open(O_RDWR)";
	fd = syscall(__NR_openat, AT_FDCWD, "/proc/self/mem", O_RDWR | O_CLOEXEC);
	r[3].ok = denied(fd);
	r[3].err = errno;
	r[4].what = "openat2";
	if (fd >= 0)
		close((int)fd);
	fd = syscall(__NR_openat2, AT_FDCWD, "/", how, sizeof(how));
	r[4].ok = fd < 0 && (errno == EPERM || errno == EACCES ||
			     errno == ENOSYS);
	r[4].err = errno;
	if (fd >= 0)
		close((int)fd);
	r[5].what = "open_by_handle_at(O_RDWR)";
	fd = syscall(__NR_open_by_handle_at, AT_FDCWD, &handle, O_RDWR | O_CLOEXEC);
	r[5].ok = denied(fd);
	r[5].err = errno;
	if (fd >= 0)
		close((int)fd);
	for (int i = 0; i < 6; i++) {
		fprintf(out, "sandbox: %-26s %s\n", r[i].what, !r[i].ok ?
			"NOT DENIED" : r[i].err == EPERM ? "denied (EPERM)" :
			r[i].err == ENOSYS ? "denied (ENOSYS)" :
			"denied (EACCES)");
		failed += !r[i].ok;
	}
	return failed ? -EPERM : 0;
}
