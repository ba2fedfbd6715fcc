// SPDX-License-Identifier: MIT
/*
 * --container, --pod, -n: which cgroups they name is known only from every
 * container's runtime JSON, and the BPF filter needs the answer before
 * loading, while sysscope still holds every capability. So a child forked
 * for it enters the sandbox first (reading capabilities, seccomp filter),
 * scans and selects, and sends back nothing but cgroup ids and paths:
 *   i32 0 or -errno, u32 count, then count x (u64 id, u32 len, path)
 * The parent opens each directory and keeps it only if it is a cgroup v2
 * directory with that id. The JSON is never parsed with full privileges.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/magic.h>
#include "log.h"
#include "select.h"
#include "selection.h"
#include "session.h"
#include "fd_io.h"

#define SUBTREE_DEPTH 32

static void selection_error(enum select_kind k, const char *arg, int err,
			    const char *msg)
{
	static const char *const what[] = { "container", "pod", "namespace" };

	if (err == -ENOENT)
		log_error("no %s '%s' on this node%s%s", what[k], arg,
			  msg[0] ? "; close matches: " : "", msg);
	else if (err == -EEXIST && k == SELECT_POD)
		log_error("pod '%s' is in several namespaces: %s; say NAMESPACE/NAME",
			  arg, msg);
	else if (err == -EEXIST)
		log_error("%s '%s' is ambiguous: %s; give an id prefix", what[k],
			  arg, msg);
	else
		log_error("%s '%s': %s", what[k], arg,
			  err == -E2BIG ? "more than 64 cgroups" : strerror(-err));
}

/* The child: sandboxed, then scan, select and answer on fd. */
static int select_and_send(const struct opts *o, struct resolver *res,
			   int fd)
{
	enum select_kind k = o->container ? SELECT_CONTAINER :
			     o->pod ? SELECT_POD : SELECT_NAMESPACE;
	const char *arg = o->container ? o->container :
			  o->pod ? o->pod : o->namespace;
	struct selection sel = { .n = 0 };
	char msg[1024], dir[PATH_MAX];
	int32_t answer;
	uint32_t n;
	int err;

	err = session__enter_reader_sandbox(o);
	err = err ?: session__reader_selftest(o);
	if (!err) {
		resolver__scan(res);
		err = select__workloads(res, k, arg, &sel, msg, sizeof(msg));
		if (err)
			selection_error(k, arg, err, msg);
	}
	answer = err;
	n = err ? 0 : (uint32_t)sel.n;
	err = fd_io__write_full(fd, &answer, sizeof(answer));
	err = err ?: fd_io__write_full(fd, &n, sizeof(n));
	for (uint32_t i = 0; i < n && !err; i++) {
		uint64_t id = sel.w[i]->cgroup_id;
		uint32_t len;

		err = resolver__dir(res, sel.w[i], dir, sizeof(dir));
		len = (uint32_t)strlen(dir);
		err = err ?: fd_io__write_full(fd, &id, sizeof(id));
		err = err ?: fd_io__write_full(fd, &len, sizeof(len));
		err = err ?: fd_io__write_full(fd, dir, len);
	}
	return err;
}

/* Opens path if it is the cgroup v2 directory with this id; fd or -errno. */
static int open_checked(const char *path, uint64_t id)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sfs;
	struct stat st;

	if (fd < 0) {
		log_error("%s: %s (did the container exit?)", path, strerror(errno));
		return -errno;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC ||
	    fstat(fd, &st) || st.st_ino != id) {
		log_error("%s: not the cgroup selected (did the container exit?)",
			  path);
		close(fd);
		return -ESTALE;
	}
	return fd;
}

/* The parent: the child's answer, each directory opened and checked. */
static int receive(int fd, int *fds, size_t *n)
{
	char path[PATH_MAX];
	int32_t answer;
	uint32_t count, len;
	uint64_t id;
	int err;

	err = fd_io__read_full(fd, &answer, sizeof(answer));
	err = err ?: fd_io__read_full(fd, &count, sizeof(count));
	if (err)
		return -EIO;
	if (answer)
		return answer > 0 ? -EIO : answer;
	if (count == 0 || count > SELECT_MAX)
		return -EIO;
	for (*n = 0; *n < count; (*n)++) {
		err = fd_io__read_full(fd, &id, sizeof(id));
		err = err ?: fd_io__read_full(fd, &len, sizeof(len));
		if (err || len == 0 || len >= sizeof(path))
			return -EIO;
		if (fd_io__read_full(fd, path, len))
			return -EIO;
		path[len] = '\0';
		if (strlen(path) != len)
			return -EIO;
		fds[*n] = open_checked(path, id);
		if (fds[*n] < 0)
			return fds[*n];
	}
	return 0;
}

int selection__open(const struct opts *o, struct resolver *res, int *fds,
		    size_t *n)
{
	int pipefd[2], err, status = 0;
	pid_t pid, r;

	*n = 0;
	if (!res) {
		log_error("no cgroup hierarchy: cannot find containers");
		return -ENOENT;
	}
	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
		close(pipefd[0]);
		err = select_and_send(o, res, pipefd[1]);
		fflush(NULL);
		/* _exit: the parent's atexit handlers are not the child's. */
		_exit(err ? 1 : 0);
	}
	close(pipefd[1]);
	err = receive(pipefd[0], fds, n);
	close(pipefd[0]);
	do
		r = waitpid(pid, &status, 0);
	while (r < 0 && errno == EINTR);
	if (!err && (r < 0 || !WIFEXITED(status) || WEXITSTATUS(status)))
		err = -EIO;
	if (err == -EIO)
		log_error("container selection: the sandboxed helper failed");
	return err;
}

/* ---- the subtrees ---- */

struct ids {
	uint64_t *v;
	size_t n, cap;
};

static int ids_push(struct ids *ids, uint64_t id)
{
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 64;
		uint64_t *v = realloc(ids->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ids->v = v;
		ids->cap = cap;
	}
	ids->v[ids->n++] = id;
	return 0;
}

/* dfd's id, then its sub-directories' (never a symlink), depth-first. */
static int walk(int dfd, int depth, struct ids *ids)
{
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int err;

	if (fstat(dfd, &st)) {
		err = -errno;
		close(dfd);
		return err;
	}
	err = ids_push(ids, st.st_ino);
	if (err || depth >= SUBTREE_DEPTH) {
		close(dfd);
		return err;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		err = -errno;
		close(dfd);
		return err;
	}
	while (!err && (de = readdir(dir))) {
		int sub;

		if (de->d_type != DT_DIR || !strcmp(de->d_name, ".") ||
		    !strcmp(de->d_name, ".."))
			continue;
		sub = openat(dirfd(dir), de->d_name, O_RDONLY | O_DIRECTORY |
			     O_NOFOLLOW | O_CLOEXEC);
		if (sub < 0)
			continue;	/* removed meanwhile */
		err = walk(sub, depth + 1, ids);
	}
	closedir(dir);
	return err;
}

int selection__subtree_ids(const int *fds, size_t n, uint64_t **out,
			   size_t *nout)
{
	struct ids ids = { 0 };
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		int fd = openat(fds[i], ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		err = fd < 0 ? -errno : walk(fd, 0, &ids);
	}
	if (err) {
		free(ids.v);
		return err;
	}
	*out = ids.v;
	*nout = ids.n;
	return 0;
}
