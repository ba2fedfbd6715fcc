// SPDX-License-Identifier: MIT
/*
 * The protocol, over a stream socketpair, one request at a time:
 *   profiler -> writer: u32 name length, u64 data length, name, data
 *   writer -> profiler: i32 0 or -errno
 * The writer exits when the socket closes; its exit status is 0 unless a
 * request was malformed.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "writer.h"
#include "fd_io.h"

#define NAME_MAX_LEN 4096
#define MAX_DEPTH 16

struct writer {
	int sock;
	pid_t pid;
};

struct request {
	uint32_t name_len;
	uint64_t data_len;
} __attribute__((packed));

int writer__name_ok(const char *name)
{
	size_t len = strlen(name), depth = 0;

	if (!len || len >= NAME_MAX_LEN)
		return 0;
	for (const char *c = name; *c; c++) {
		bool start = c == name || c[-1] == '/';

		if (*c == '/') {
			if (start || !c[1])
				return 0;	/* leading, doubled or trailing */
			if (++depth >= MAX_DEPTH)
				return 0;
			continue;
		}
		if (start && *c == '.')
			return 0;	/* ".", "..", hidden */
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		      (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		      *c == '-'))
			return 0;
	}
	return 1;
}

/* ---- the child ---- */

/* Opens (making it if needed) the folder part of name below dir_fd. */
static int open_parent(int dir_fd, char *name, const char **base)
{
	int fd = dup(dir_fd);
	char *part = name, *slash;

	if (fd < 0)
		return -errno;
	while ((slash = strchr(part, '/'))) {
		int next;

		*slash = '\0';
		if (mkdirat(fd, part, 0755) && errno != EEXIST) {
			close(fd);
			return -errno;
		}
		next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			      O_CLOEXEC);
		*slash = '/';
		close(fd);
		if (next < 0)
			return -errno;
		fd = next;
		part = slash + 1;
	}
	*base = part;
	return fd;
}

/*
 * A new temporary file next to base: ".<base>.<64 random bits>.tmp",
 * created with O_EXCL, so nothing already there (a planted symlink, a hard
 * link to another file) is ever opened, followed or truncated. Its name
 * in tmp; the fd or -errno.
 */
static int create_temp(int pfd, const char *base, char *tmp, size_t len)
{
	for (int tries = 0; tries < 8; tries++) {
		uint64_t r;
		int fd;

		if (getrandom(&r, sizeof(r), 0) != sizeof(r))
			return -EIO;
		snprintf(tmp, len, ".%s.%016llx.tmp", base, (unsigned long long)r);
		fd = openat(pfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
			    O_CLOEXEC, 0644);
		if (fd >= 0 || errno != EEXIST)
			return fd < 0 ? -errno : fd;
	}
	return -EEXIST;
}

static int store(int dir_fd, char *name, int sock, uint64_t len)
{
	char tmp[NAME_MAX_LEN + 32], buf[1 << 16];
	const char *base = name;
	int pfd, fd = -1, err = 0;

	pfd = open_parent(dir_fd, name, &base);
	if (pfd < 0) {
		err = pfd;
	} else {
		fd = create_temp(pfd, base, tmp, sizeof(tmp));
		if (fd < 0)
			err = fd;
	}
	/* The data is read whatever happens: the stream stays in step. */
	while (len) {
		size_t n = len < sizeof(buf) ? len : sizeof(buf);
		int rerr = fd_io__read_full(sock, buf, n);

		if (rerr) {
			err = rerr;
			break;
		}
		if (!err && fd >= 0)
			err = fd_io__write_full(fd, buf, n);
		len -= n;
	}
	if (fd >= 0 && close(fd) && !err)
		err = -errno;
	if (fd >= 0 && !err && renameat(pfd, tmp, pfd, base))
		err = -errno;
	if (fd >= 0 && err)
		unlinkat(pfd, tmp, 0);
	if (pfd >= 0)
		close(pfd);
	return err;
}

static int serve(int sock, int dir_fd)
{
	char name[NAME_MAX_LEN];
	struct request rq;
	int32_t answer;
	int err;

	for (;;) {
		err = fd_io__read_full(sock, &rq, sizeof(rq));
		if (err == -EPIPE)
			return 0;	/* the profiler is done */
		if (err || rq.name_len == 0 || rq.name_len >= NAME_MAX_LEN ||
		    rq.data_len > WRITER_MAX_FILE)
			return 1;
		err = fd_io__read_full(sock, name, rq.name_len);
		if (err)
			return 1;
		name[rq.name_len] = '\0';
		if (strlen(name) != rq.name_len || !writer__name_ok(name)) {
			/* Skip the data, refuse the file. */
			while (rq.data_len) {
				char buf[4096];
				size_t n = rq.data_len < sizeof(buf) ?
					   rq.data_len : sizeof(buf);

				if (fd_io__read_full(sock, buf, n))
					return 1;
				rq.data_len -= n;
			}
			answer = -EINVAL;
		} else {
			answer = store(dir_fd, name, sock, rq.data_len);
			if (answer == -EPIPE)
				return 1;
		}
		if (fd_io__write_full(sock, &answer, sizeof(answer)))
			return 1;
	}
}

/* No capabilities in any set, no new privileges, few calls. */
static int confine(uid_t uid, gid_t gid)
{
	static const int allowed[] = {
		SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(openat),
		SCMP_SYS(mkdirat), SCMP_SYS(renameat), SCMP_SYS(renameat2),
		SCMP_SYS(unlinkat), SCMP_SYS(close), SCMP_SYS(dup),
		SCMP_SYS(fcntl), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
		SCMP_SYS(brk), SCMP_SYS(mmap), SCMP_SYS(munmap),
		SCMP_SYS(mremap), SCMP_SYS(madvise), SCMP_SYS(mprotect),
		SCMP_SYS(futex), SCMP_SYS(rt_sigreturn), SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(exit), SCMP_SYS(exit_group), SCMP_SYS(getpid),
		SCMP_SYS(gettid), SCMP_SYS(tgkill), SCMP_SYS(sigaltstack),
		SCMP_SYS(getrandom),
	};
	scmp_filter_ctx ctx;
	cap_t none;
	int err = 0;

	if ((gid != getgid() && (setgroups(0, NULL) || setresgid(gid, gid, gid))) ||
	    (uid != getuid() && setresuid(uid, uid, uid)))
		return -errno;
	/*
	 * Without CAP_SETPCAP (capabilities given to a non-root user) the
	 * bounding set stays: with none effective or permitted, no_new_privs
	 * and no execve in the filter, nothing can raise one again.
	 */
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL &&
		    errno != EPERM)
			return -errno;
	none = cap_init();
	if (!none || cap_set_proc(none))
		err = -errno;
	cap_free(none);
	if (!err && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		err = -errno;
	if (err)
		return err;
	ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!ctx)
		return -ENOMEM;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]) && !err; i++)
		err = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0);
	err = err ?: seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}

static void child(int sock, int dir_fd, uid_t uid, gid_t gid)
{
	/* Dies with the profiler; holds nothing but its two descriptors. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* Out of the way first: either may already be 3 or 4. */
	sock = fcntl(sock, F_DUPFD, 10);
	dir_fd = fcntl(dir_fd, F_DUPFD, 10);
	if (sock < 0 || dir_fd < 0 || dup2(sock, 3) < 0 || dup2(dir_fd, 4) < 0 ||
	    close_range(5, ~0U, 0) || confine(uid, gid))
		_exit(2);
	/* _exit: the profiler's atexit handlers are not the writer's. */
	_exit(serve(3, 4));
}

struct writer *writer__start(const char *dir, uid_t uid, gid_t gid)
{
	struct writer *w = calloc(1, sizeof(*w));
	int sv[2], dir_fd;

	if (!w)
		return NULL;
	dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dir_fd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)) {
		int err = errno;

		if (dir_fd >= 0)
			close(dir_fd);
		free(w);
		errno = err;
		return NULL;
	}
	w->pid = fork();
	if (w->pid == 0) {
		close(sv[0]);
		child(sv[1], dir_fd, uid, gid);
	}
	close(sv[1]);
	close(dir_fd);
	if (w->pid < 0) {
		int err = errno;

		close(sv[0]);
		free(w);
		errno = err;
		return NULL;
	}
	w->sock = sv[0];
	return w;
}

int writer__put(struct writer *w, const char *name, const void *data,
		size_t len)
{
	struct request rq = { .name_len = (uint32_t)strlen(name),
			      .data_len = len };
	int32_t answer;
	int err;

	if (!writer__name_ok(name) || len > WRITER_MAX_FILE)
		return -EINVAL;
	err = fd_io__write_full(w->sock, &rq, sizeof(rq));
	err = err ?: fd_io__write_full(w->sock, name, rq.name_len);
	err = err ?: fd_io__write_full(w->sock, data, len);
	err = err ?: fd_io__read_full(w->sock, &answer, sizeof(answer));
	return err ? -EIO : answer;
}

int writer__finish(struct writer *w)
{
	int status = 0;
	pid_t r;

	if (!w)
		return 0;
	close(w->sock);
	do
		r = waitpid(w->pid, &status, 0);
	while (r < 0 && errno == EINTR);
	free(w);
	return r < 0 || !WIFEXITED(status) || WEXITSTATUS(status) ? -EIO : 0;
}
