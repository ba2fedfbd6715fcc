// SPDX-License-Identifier: MIT
/* Opening a process's files from outside its mount namespace (proc_files.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
#include "inroot.h"
#include "proc_files.h"

/*
 * Opens path inside pid's root (inroot.h): absolute links inside the
 * container stay inside it, and only a regular file is opened for real.
 */
int proc_file__open_in_root(const char *proc_root, uint32_t pid,
			     const char *path)
{
	char root[PATH_MAX];
	int dirfd, fd;

	snprintf(root, sizeof(root), "%s/%u/root", proc_root, pid);
	dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = inroot__open_read(dirfd, path, 0);
	close(dirfd);
	return fd;
}

/*
 * map_files is the mapped file itself, whatever its path says now: a path
 * swapped after the mmap cannot point us elsewhere. O_PATH first, so that
 * only a regular file is ever opened for real.
 */
static int open_map_file(const char *proc_root, uint32_t pid,
			 const struct procmap *m)
{
	char path[PATH_MAX], self[64];
	struct stat st;
	int pathfd, fd, err;

	snprintf(path, sizeof(path), "%s/%u/map_files/%llx-%llx", proc_root,
		 pid, (unsigned long long)m->start, (unsigned long long)m->end);
	pathfd = open(path, O_PATH | O_CLOEXEC);
	if (pathfd < 0)
		return -errno;
	if (fstat(pathfd, &st) || !S_ISREG(st.st_mode)) {
		close(pathfd);
		return -EINVAL;
	}
	snprintf(self, sizeof(self), "/proc/self/fd/%d", pathfd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	err = -errno;
	close(pathfd);
	return fd < 0 ? err : fd;
}

/*
 * The mapped file: by map_files when we may, else by its path inside the
 * process's root, accepted only if it is still the inode maps names (the
 * device differs on overlayfs, the inode number does not).
 */
int proc_file__open_mapped(const char *proc_root, uint32_t pid,
			   const struct procmap *m)
{
	struct stat st;
	int fd;

	fd = open_map_file(proc_root, pid, m);
	if (fd >= 0 || m->deleted)
		return fd;
	fd = proc_file__open_in_root(proc_root, pid, m->path);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) || st.st_ino != m->inode) {
		close(fd);
		return -ESTALE;
	}
	return fd;
}

int proc_file__root(const char *proc_root, uint32_t pid)
{
	char root[PATH_MAX];
	int fd;

	snprintf(root, sizeof(root), "%s/%u/root", proc_root, pid);
	fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
