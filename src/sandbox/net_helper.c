// SPDX-License-Identifier: MIT
/* What the network helpers (fetcher.c, pusher.c) share: see net_helper.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <seccomp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include "net_helper.h"

int net_helper__own_dir(const char *dir, uid_t uid, gid_t gid)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, err = 0;

	if (dir[0] != '/' || strlen(dir) >= sizeof(path))
		return -EINVAL;
	strcpy(path, dir);
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ELOOP ? -ENOTDIR : -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (st.st_uid != uid && st.st_uid != geteuid())
		err = -EPERM;
	else if ((st.st_uid != uid || st.st_gid != gid) && fchown(fd, uid, gid))
		err = -errno;
	else if (fchmod(fd, 0700))
		err = -errno;
	close(fd);
	return err;
}

/*
 * What libcurl (and libdebuginfod over it) use for HTTP(S): sockets for IPv4 and
 * IPv6 (and netlink, which getaddrinfo reads interfaces with), name
 * resolution in a thread, and files in the helper's own folder. Not execve, not
 * ptrace, bpf, perf_event_open, mount, unshare, setns, kill, ...
 */
static const int helper_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(lseek),
	SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(close), SCMP_SYS(dup),
	SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(stat), SCMP_SYS(lstat),
	SCMP_SYS(newfstatat), SCMP_SYS(statx), SCMP_SYS(statfs),
	SCMP_SYS(fstatfs), SCMP_SYS(access), SCMP_SYS(faccessat),
	SCMP_SYS(faccessat2), SCMP_SYS(getdents64), SCMP_SYS(readlink),
	SCMP_SYS(mkdir), SCMP_SYS(mkdirat), SCMP_SYS(rename),
	SCMP_SYS(renameat), SCMP_SYS(renameat2), SCMP_SYS(unlink),
	SCMP_SYS(unlinkat), SCMP_SYS(rmdir), SCMP_SYS(ftruncate),
	SCMP_SYS(fsync), SCMP_SYS(fdatasync), SCMP_SYS(chmod),
	SCMP_SYS(fchmod), SCMP_SYS(fchmodat), SCMP_SYS(utimensat),
	SCMP_SYS(utime), SCMP_SYS(utimes), SCMP_SYS(flock), SCMP_SYS(umask),
	SCMP_SYS(getcwd),
	SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mremap),
	SCMP_SYS(mprotect), SCMP_SYS(madvise),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getppid), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(sysinfo), SCMP_SYS(getrlimit), SCMP_SYS(prlimit64),
	SCMP_SYS(clock_gettime), SCMP_SYS(gettimeofday),
	SCMP_SYS(nanosleep), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(restart_syscall),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6), SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait), SCMP_SYS(epoll_pwait), SCMP_SYS(pipe2),
	SCMP_SYS(eventfd2), SCMP_SYS(socketpair),
	SCMP_SYS(connect), SCMP_SYS(bind), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom), SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg), SCMP_SYS(sendmmsg), SCMP_SYS(recvmmsg),
	SCMP_SYS(shutdown),
};

static int allow_if(scmp_filter_ctx ctx, int call, unsigned int arg,
		    scmp_datum_t value)
{
	struct scmp_arg_cmp cmp = {
		.arg = arg, .op = SCMP_CMP_EQ, .datum_a = value,
	};

	return seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, call, 1, &cmp);
}

static int install_filter(void)
{
	static const int domains[] = { AF_INET, AF_INET6, AF_NETLINK };
	/* Threads only; clone3's flags are out of sight: ENOSYS, glibc falls back. */
	struct scmp_arg_cmp thread = {
		.arg = 0, .op = SCMP_CMP_MASKED_EQ,
		.datum_a = CLONE_THREAD, .datum_b = CLONE_THREAD,
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(helper_calls) / sizeof(helper_calls[0]) &&
	     !err; i++)
		if (helper_calls[i] >= 0)
			err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
					       helper_calls[i], 0);
	for (size_t i = 0; i < sizeof(domains) / sizeof(domains[0]) && !err; i++)
		err = allow_if(ctx, SCMP_SYS(socket), 0, domains[i]);
	err = err ?: allow_if(ctx, SCMP_SYS(ioctl), 1, FIONREAD);
	err = err ?: allow_if(ctx, SCMP_SYS(ioctl), 1, FIONBIO);
	err = err ?: allow_if(ctx, SCMP_SYS(tgkill), 0, getpid());
	err = err ?: seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone),
					    1, &thread);
	err = err ?: seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
				      SCMP_SYS(clone3), 0);
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

/* uid/gid, no capabilities in any set, no new privileges, the filter. */
int net_helper__confine(uid_t uid, gid_t gid)
{
	cap_t none;
	int err = 0;

	/* The bounding set first, while CAP_SETPCAP is there to drop it. */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL &&
		    errno != EPERM)
			return -errno;
	if ((gid != getgid() && (setgroups(0, NULL) || setresgid(gid, gid, gid))) ||
	    (uid != getuid() && setresuid(uid, uid, uid)))
		return -errno;
	none = cap_init();
	if (!none || cap_set_proc(none))
		err = -errno;
	cap_free(none);
	if (!err && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0))
		err = -errno;
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	return err ?: install_filter();
}
