// SPDX-License-Identifier: MIT
/*
 * The debuginfod fetcher (see fetcher.h). The protocol, over a
 * SOCK_SEQPACKET socketpair, one fixed-size message each way:
 *   helper -> profiler, once: len 0, result 0 (ready) or -errno (failed)
 *   profiler -> helper: a build-id (len, id)
 *   helper -> profiler: the same build-id and result 0 with the debug
 *                       file's descriptor (SCM_RIGHTS), or -errno
 * Requests are answered in order, one at a time. The helper exits when
 * the socket closes, or dies with the profiler.
 */
#include <dlfcn.h>
#include <elfutils/debuginfod.h>
#include <elfutils/libdwelf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <grp.h>
#include <linux/bpf.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "fetcher.h"
#include "net_helper.h"

#define MAX_PENDING 4096	/* unanswered requests the profiler keeps */
#define NEGATIVE_MAX 4096	/* failed build-ids the helper remembers */
#define READY_WAIT_MS 5000
#define CONNECT_TIMEOUT_S "5"	/* DEBUGINFOD_TIMEOUT, unless set */
#define MAX_FILE_BYTES "4294967296"	/* DEBUGINFOD_MAXSIZE, unless set */
/* DEBUGINFOD_RETRY_LIMIT, unless set: a failure is remembered instead. */
#define RETRIES "0"

struct fetch_msg {
	uint8_t len;
	uint8_t id[FETCHER_BUILD_ID_MAX];
	int32_t result;
};

struct pending {
	uint8_t len;
	bool sent;
	uint8_t id[FETCHER_BUILD_ID_MAX];
};

struct fetcher {
	int sock;
	pid_t pid;
	bool dead;
	struct pending *q;	/* unanswered, in the order asked */
	size_t n, cap;
};

static uint64_t now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

/* ---- the helper ---- */

struct negative {
	uint8_t len;
	uint8_t id[FETCHER_BUILD_ID_MAX];
	int32_t result;
	uint64_t until;
};

static struct negative negatives[NEGATIVE_MAX];
static size_t negatives_next;
static uint64_t deadline;	/* of the request in progress */

static const struct negative *negative_find(const struct fetch_msg *m)
{
	uint64_t now = now_s();

	for (size_t i = 0; i < NEGATIVE_MAX; i++) {
		const struct negative *n = &negatives[i];

		if (n->len == m->len && n->until > now &&
		    !memcmp(n->id, m->id, m->len))
			return n;
	}
	return NULL;
}

/* The oldest entry makes room: a ring. */
static void negative_add(const struct fetch_msg *m, int result,
			 unsigned int ttl_s)
{
	struct negative *n = &negatives[negatives_next++ % NEGATIVE_MAX];

	n->len = m->len;
	memcpy(n->id, m->id, m->len);
	n->result = result;
	n->until = now_s() + ttl_s;
}

/*
 * libdebuginfod, loaded in this process only (dlopen after the fork): the
 * profiler never maps libcurl, nor what curl_global_init sets up (TLS
 * libraries, a few MiB of its resident memory).
 */
static struct {
	debuginfod_client *(*begin)(void);
	void (*end)(debuginfod_client *c);
	int (*find_debuginfo)(debuginfod_client *c, const unsigned char *id,
			      int len, char **path);
	void (*set_progressfn)(debuginfod_client *c, debuginfod_progressfn_t fn);
} lib;

static int load_libdebuginfod(void)
{
	void *h = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);

	if (!h)
		return -ENOENT;
	lib.begin = (debuginfod_client *(*)(void))dlsym(h, "debuginfod_begin");
	lib.end = (void (*)(debuginfod_client *))dlsym(h, "debuginfod_end");
	lib.find_debuginfo = (int (*)(debuginfod_client *, const unsigned char *,
				      int, char **))
		dlsym(h, "debuginfod_find_debuginfo");
	lib.set_progressfn = (void (*)(debuginfod_client *,
				       debuginfod_progressfn_t))
		dlsym(h, "debuginfod_set_progressfn");
	return lib.begin && lib.end && lib.find_debuginfo && lib.set_progressfn ?
	       0 : -ENOENT;
}

/* libdebuginfod calls it while it waits: past the deadline, it gives up. */
static int past_deadline(debuginfod_client *c, long a, long b)
{
	(void)c;
	(void)a;
	(void)b;
	return now_s() >= deadline;
}

/* Is the file at fd an ELF file with build-id m's? (Servers can lie.) */
static bool is_debug_file(int fd, const struct fetch_msg *m)
{
	Elf *e = elf_begin(fd, ELF_C_READ, NULL);
	const void *id = NULL;
	ssize_t n = e ? dwelf_elf_gnu_build_id(e, &id) : -1;
	bool ok = n == m->len && id && !memcmp(id, m->id, m->len);

	elf_end(e);
	return ok;
}

/* The debug file's descriptor, or -errno. */
static int fetch(debuginfod_client *c, const struct fetch_msg *m,
		 const struct fetcher_config *cfg)
{
	const struct negative *neg = negative_find(m);
	char *path = NULL;
	int fd;

	if (neg)
		return neg->result;
	deadline = now_s() + cfg->timeout_s;
	fd = lib.find_debuginfo(c, m->id, m->len, &path);
	if (fd >= 0 && !is_debug_file(fd, m)) {
		/* Garbage stays out of the cache: asked again, fetched again. */
		if (path)
			unlink(path);
		close(fd);
		fd = -EBADMSG;
	}
	free(path);
	if (fd == -EINTR || fd == -ETIME || fd == -ETIMEDOUT ||
	    (fd < 0 && now_s() >= deadline))
		fd = -ETIMEDOUT;
	else if (fd < 0 && fd != -ENOENT && fd != -EBADMSG)
		fd = fd == -ENOSYS ? -ENOENT : -EIO;
	if (fd < 0)
		negative_add(m, fd, cfg->retry_after_s);
	return fd;
}

static int send_answer(int sock, const struct fetch_msg *m, int fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = (void *)m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n;

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)sizeof(*m) ? 0 : -EPIPE;
}

static int serve(int sock, debuginfod_client *c, const struct fetcher_config *cfg)
{
	struct fetch_msg m;

	for (;;) {
		ssize_t n = recv(sock, &m, sizeof(m), 0);
		int fd;

		if (n < 0 && errno == EINTR)
			continue;
		if (n == 0)
			return 0;	/* the profiler is done */
		if (n != (ssize_t)sizeof(m) || !m.len ||
		    m.len > FETCHER_BUILD_ID_MAX)
			return 1;
		fd = fetch(c, &m, cfg);
		m.result = fd < 0 ? fd : 0;
		if (send_answer(sock, &m, fd))
			return 1;
		if (fd >= 0)
			close(fd);
	}
}

/*
 * The cache folder, made by root (the helper before it drops), given to
 * uid. One that exists is taken only if it is root's or already uid's.
 */
/* seccomp answers EPERM; a missing capability may answer EACCES. */
static bool denied(long ret)
{
	return ret < 0 && (errno == EPERM || errno == EACCES);
}

/* --sandbox-selftest, in the helper: what its filter must refuse. */
static int selftest(void)
{
	/* A bad argv: refused first; else the kernel faults copying it. */
	char *const *bad_argv = (char *const *)1;
	union bpf_attr load = { .prog_type = BPF_PROG_TYPE_SOCKET_FILTER };
	struct { const char *what; bool ok; int err; } r[4];
	int failed = 0;
	long fd;

	r[0].what = "execve";
	r[0].ok = denied(syscall(__NR_execve, "/bin/true", bad_argv, NULL));
	r[0].err = errno;
	r[1].what = "ptrace";
	r[1].ok = denied(syscall(__NR_ptrace, PTRACE_ATTACH, getppid(), 0, 0));
	r[1].err = errno;
	r[2].what = "bpf(BPF_PROG_LOAD)";
	r[2].ok = denied(syscall(__NR_bpf, BPF_PROG_LOAD, &load, sizeof(load)));
	r[2].err = errno;
	/* Unix sockets: another local service's, e.g. a container runtime's. */
	r[3].what = "socket(AF_UNIX)";
	fd = syscall(__NR_socket, AF_UNIX, SOCK_STREAM, 0);
	r[3].ok = denied(fd);
	r[3].err = errno;
	if (fd >= 0)
		close((int)fd);
	for (int i = 0; i < 4; i++) {
		fprintf(stderr, "sandbox: fetcher %-18s %s\n", r[i].what,
			!r[i].ok ? "NOT DENIED" : r[i].err == EPERM ?
			"denied (EPERM)" : "denied (EACCES)");
		failed += !r[i].ok;
	}
	return failed ? -EPERM : 0;
}

/* libdebuginfod reads its settings from the environment. */
static int set_env(const struct fetcher_config *c)
{
	char maxtime[16];

	snprintf(maxtime, sizeof(maxtime), "%u", c->timeout_s);
	if (setenv("DEBUGINFOD_URLS", c->urls, 1) ||
	    setenv("DEBUGINFOD_CACHE_PATH", c->cache_dir, 1) ||
	    setenv("DEBUGINFOD_TIMEOUT", CONNECT_TIMEOUT_S, 0) ||
	    setenv("DEBUGINFOD_MAXTIME", maxtime, 0) ||
	    setenv("DEBUGINFOD_MAXSIZE", MAX_FILE_BYTES, 0) ||
	    setenv("DEBUGINFOD_RETRY_LIMIT", RETRIES, 0) ||
	    unsetenv("DEBUGINFOD_PROGRESS"))
		return -errno;
	return 0;
}

static void child(int sock, const struct fetcher_config *c)
{
	struct fetch_msg ready = { 0 };
	debuginfod_client *client = NULL;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "sysscope-fetch", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	sock = fcntl(sock, F_DUPFD, 10);
	if (sock < 0 || dup2(sock, 3) < 0 || close_range(4, ~0U, 0))
		_exit(2);
	err = elf_version(EV_CURRENT) == EV_NONE ? -ENOTSUP : 0;
	err = err ?: load_libdebuginfod();
	err = err ?: net_helper__own_dir(c->cache_dir, c->uid, c->gid);
	err = err ?: set_env(c);
	err = err ?: net_helper__confine(c->uid, c->gid);
	/* E.g. below a folder only root may enter: say so now. */
	if (!err && access(c->cache_dir, R_OK | W_OK | X_OK))
		err = -errno;
	if (!err && c->selftest)
		err = selftest();
	if (!err) {
		client = lib.begin();
		if (!client)
			err = -ENOMEM;
		else
			lib.set_progressfn(client, past_deadline);
	}
	ready.result = err;
	if (send_answer(3, &ready, -1) || err)
		_exit(2);
	err = serve(3, client, c);
	lib.end(client);
	_exit(err);
}

/* ---- the profiler's side ---- */

struct fetcher *fetcher__start(const struct fetcher_config *c)
{
	struct fetcher *f = calloc(1, sizeof(*f));
	struct fetch_msg ready;
	struct pollfd p;
	int sv[2], err = 0;
	ssize_t n;

	if (!f)
		return NULL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		free(f);
		return NULL;
	}
	/* Everything buffered goes out before the child's exits skip it. */
	fflush(NULL);
	f->pid = fork();
	if (f->pid == 0) {
		close(sv[0]);
		child(sv[1], c);
	}
	close(sv[1]);
	f->sock = sv[0];
	if (f->pid < 0) {
		err = -errno;
		goto fail;
	}
	p = (struct pollfd){ .fd = f->sock, .events = POLLIN };
	if (poll(&p, 1, READY_WAIT_MS) != 1) {
		err = -ETIMEDOUT;
		goto fail;
	}
	n = recv(f->sock, &ready, sizeof(ready), 0);
	if (n != (ssize_t)sizeof(ready) || ready.len) {
		err = -EIO;
		goto fail;
	}
	err = ready.result;
	if (err || fcntl(f->sock, F_SETFL, O_NONBLOCK)) {
		err = err ?: -errno;
		goto fail;
	}
	return f;
fail:
	fetcher__finish(f);
	errno = -err;
	return NULL;
}

static struct pending *find_pending(struct fetcher *f, const uint8_t *id,
				    size_t len)
{
	for (size_t i = 0; i < f->n; i++)
		if (f->q[i].len == len && !memcmp(f->q[i].id, id, len))
			return &f->q[i];
	return NULL;
}

/* Sends what is not sent yet, until the socket is full. */
static void flush(struct fetcher *f)
{
	for (size_t i = 0; i < f->n && !f->dead; i++) {
		struct fetch_msg m = { .len = f->q[i].len };
		ssize_t n;

		if (f->q[i].sent)
			continue;
		memcpy(m.id, f->q[i].id, m.len);
		/* write(): non-blocking socket, SIGPIPE ignored. */
		n = write(f->sock, &m, sizeof(m));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n != (ssize_t)sizeof(m)) {
			f->dead = true;
			return;
		}
		f->q[i].sent = true;
	}
}

int fetcher__request(struct fetcher *f, const uint8_t *id, size_t len)
{
	struct pending *p;

	if (!len || len > FETCHER_BUILD_ID_MAX)
		return -EINVAL;
	if (f->dead)
		return -EPIPE;
	if (find_pending(f, id, len))
		return -EALREADY;
	if (f->n == MAX_PENDING)
		return -ENOSPC;
	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;

		p = realloc(f->q, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->q = p;
		f->cap = cap;
	}
	p = &f->q[f->n++];
	p->len = (uint8_t)len;
	p->sent = false;
	memcpy(p->id, id, len);
	flush(f);
	return 0;
}

static void drop_pending(struct fetcher *f, struct pending *p)
{
	size_t i = (size_t)(p - f->q);

	memmove(p, p + 1, (f->n - i - 1) * sizeof(*p));
	f->n--;
}

/*
 * One message from the helper: 1 and *m with *fd (-1: none), 0 nothing
 * there, -EPIPE the helper is gone.
 */
static int receive(struct fetcher *f, struct fetch_msg *m, int *fd)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { .iov_base = m, .iov_len = sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf,
			     .msg_controllen = sizeof(ctl.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	n = recvmsg(f->sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	for (cm = n > 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int)) && *fd < 0)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	}
	if (n != (ssize_t)sizeof(*m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    !m->len || m->len > FETCHER_BUILD_ID_MAX) {
		/* Closed, or a helper that breaks the protocol: done with it. */
		if (*fd >= 0)
			close(*fd);
		f->dead = true;
		return -EPIPE;
	}
	return 1;
}

/* A descriptor the symbolizer may read without blocking: a regular file. */
static int check_fd(int fd, int result)
{
	struct stat st;

	if (result == 0 && fd >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode))
		return fd;
	if (fd >= 0)
		close(fd);
	return result < 0 ? result : -EBADMSG;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fetcher__next(struct fetcher *f, int timeout_ms, uint8_t *id, size_t *len,
		  int *result)
{
	int64_t end = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);

	for (;;) {
		struct fetch_msg m;
		struct pending *p;
		struct pollfd pfd = { .fd = f->sock, .events = POLLIN };
		int64_t left;
		int fd, r;

		if (!f->n)
			return 0;
		if (f->dead) {
			/* Every unanswered request ends, one by one. */
			*len = f->q[0].len;
			memcpy(id, f->q[0].id, *len);
			*result = -EPIPE;
			drop_pending(f, &f->q[0]);
			return 1;
		}
		flush(f);
		r = receive(f, &m, &fd);
		if (r > 0) {
			p = find_pending(f, m.id, m.len);
			if (!p) {
				/* Not asked (or asked twice): nobody's. */
				if (fd >= 0)
					close(fd);
				continue;
			}
			drop_pending(f, p);
			*len = m.len;
			memcpy(id, m.id, m.len);
			*result = check_fd(fd, m.result);
			return 1;
		}
		if (r < 0)
			continue;
		left = end - now_ms();
		if (left <= 0)
			return 0;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			return 0;
	}
}

size_t fetcher__pending(const struct fetcher *f)
{
	return f ? f->n : 0;
}

pid_t fetcher__pid(const struct fetcher *f)
{
	return f->pid;
}

void fetcher__finish(struct fetcher *f)
{
	if (!f)
		return;
	close(f->sock);
	/* Idle, it exits at once; busy, it would hold us up to its deadline. */
	for (int i = 0; f->pid > 0 && i < 20; i++) {
		pid_t r = waitpid(f->pid, NULL, WNOHANG);

		if (r == f->pid || (r < 0 && errno != EINTR))
			break;
		usleep(5000);
	}
	free(f->q);
	free(f);
}
