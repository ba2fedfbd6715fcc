// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inroot.h"

/* Directories entered so far, below the root; the root is not ours. */
struct walk {
	int root;
	int dirs[INROOT_MAX_DEPTH];
	int depth;
};

static int cur(const struct walk *w)
{
	return w->depth ? w->dirs[w->depth - 1] : w->root;
}

static void pop_all(struct walk *w)
{
	while (w->depth)
		close(w->dirs[--w->depth]);
}

/*
 * rest = target + "/" + rest, in place (rest lives in buf of size len).
 * -ENAMETOOLONG if it does not fit.
 */
static int splice_link(char *buf, size_t len, char **rest, const char *target)
{
	size_t tl = strlen(target), rl = strlen(*rest);

	if (tl + 1 + rl + 1 > len)
		return -ENAMETOOLONG;
	memmove(buf + tl + 1, *rest, rl + 1);
	memcpy(buf, target, tl);
	buf[tl] = '/';
	*rest = buf;
	return 0;
}

int inroot__open(int root_fd, const char *path, bool follow_last)
{
	struct walk w = { .root = root_fd };
	char *buf = malloc(2 * PATH_MAX), *target = malloc(PATH_MAX);
	char *rest, name[NAME_MAX + 1];
	int links = 0, ret;

	if (!buf || !target) {
		ret = -ENOMEM;
		goto out;
	}
	if (strlen(path) >= 2 * PATH_MAX) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	strcpy(buf, path);
	rest = buf;
	for (;;) {
		size_t n;
		struct stat st;
		bool last;
		int fd;
		ssize_t tl;

		while (*rest == '/')
			rest++;
		if (!*rest) {
			/* The path named a directory we are in: itself. */
			ret = openat(cur(&w), ".", O_PATH | O_CLOEXEC);
			ret = ret < 0 ? -errno : ret;
			goto out;
		}
		n = strcspn(rest, "/");
		if (n > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, rest, n);
		name[n] = '\0';
		rest += n;
		last = !rest[strspn(rest, "/")];
		if (!strcmp(name, "."))
			continue;
		if (!strcmp(name, "..")) {
			if (w.depth)
				close(w.dirs[--w.depth]);
			continue;	/* at the root, ".." is the root */
		}
		fd = openat(cur(&w), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st)) {
			ret = -errno;
			if (fd >= 0)
				close(fd);
			goto out;
		}
		if (S_ISLNK(st.st_mode) && last && !follow_last) {
			ret = fd;	/* the link itself */
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > INROOT_MAX_LINKS) {
				close(fd);
				ret = -ELOOP;
				goto out;
			}
			tl = readlinkat(fd, "", target, PATH_MAX);
			close(fd);
			if (tl < 0 || tl >= PATH_MAX) {
				ret = tl < 0 ? -errno : -ENAMETOOLONG;
				goto out;
			}
			target[tl] = '\0';
			if (target[0] == '/')
				pop_all(&w);
			ret = splice_link(buf, 2 * PATH_MAX, &rest, target);
			if (ret)
				goto out;
			continue;
		}
		if (last) {
			ret = fd;
			goto out;
		}
		if (!S_ISDIR(st.st_mode) || w.depth == INROOT_MAX_DEPTH) {
			close(fd);
			ret = S_ISDIR(st.st_mode) ? -ENAMETOOLONG : -ENOTDIR;
			goto out;
		}
		w.dirs[w.depth++] = fd;
	}
out:
	pop_all(&w);
	free(buf);
	free(target);
	return ret;
}

int inroot__open_read(int root_fd, const char *path, int extra)
{
	int pathfd = inroot__open(root_fd, path, !(extra & O_NOFOLLOW)), fd, err;
	bool want_dir = extra & O_DIRECTORY;
	char self[64];
	struct stat st;

	if (pathfd < 0)
		return pathfd;
	if (fstat(pathfd, &st)) {
		err = -errno;
		close(pathfd);
		return err;
	}
	/* A final symlink under O_NOFOLLOW: what open(2) says of it. */
	if (S_ISLNK(st.st_mode)) {
		close(pathfd);
		return -ELOOP;
	}
	if (!(want_dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode))) {
		close(pathfd);
		return -EINVAL;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	/* Through our own fd's magic link: O_NOFOLLOW would refuse it. */
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
		  (extra & ~O_NOFOLLOW));
	err = -errno;
	close(pathfd);
	return fd < 0 ? err : fd;
}
