// SPDX-License-Identifier: MIT
/*
 * containerd: each running task has a bundle directory
 *   run/containerd/io.containerd.runtime.v2.task/<namespace>/<id>/
 * holding the OCI spec, config.json (seen on containerd 1.6.20; the bundle
 * is 0700 and root's). The namespace is not in the cgroup path in general
 * (k8s.io for Kubernetes, moby for docker, default for ctr), so every
 * namespace directory is tried. k3s and rke2 keep the same tree under
 * run/k3s/containerd.
 */
#include "meta_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

static const char *const task_roots[] = {
	"run/containerd/io.containerd.runtime.v2.task",
	"run/k3s/containerd/io.containerd.runtime.v2.task",
};

/* Real nodes have a handful; a bound keeps a hostile tree cheap. */
#define MAX_NAMESPACES 64

static int read_in_namespace(int root_fd, const char *task_root,
			     const char *ns, const char *id,
			     struct container_meta *out)
{
	char dir[PATH_MAX];
	const struct meta_path where = { dir, "config.json" };
	int n = snprintf(dir, sizeof(dir), "%s/%s", task_root, ns);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENOENT;	/* no such namespace can hold it */
	return meta_read_first_oci(root_fd, &where, 1, id, out);
}

static int read_in_task_root(int root_fd, const char *task_root,
			     const char *id, struct container_meta *out)
{
	int fd = meta_open_in_root(root_fd, task_root, O_DIRECTORY);
	int err = -ENOENT, seen = 0;
	struct dirent *de;
	DIR *dir;

	if (fd < 0)
		return fd;
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return err;
	}
	while (seen < MAX_NAMESPACES && (de = readdir(dir))) {
		if (de->d_name[0] == '.')	/* ".", "..", hidden */
			continue;
		seen++;
		err = read_in_namespace(root_fd, task_root, de->d_name, id,
					out);
		/* A file where a namespace directory should be: not it. */
		if (err == -ENOTDIR)
			err = -ENOENT;
		if (err != -ENOENT)
			break;
	}
	closedir(dir);
	return err;
}

int meta_read_containerd(int root_fd, const char *id,
			 struct container_meta *out)
{
	for (size_t i = 0; i < META_ARRAY_LEN(task_roots); i++) {
		int err = read_in_task_root(root_fd, task_roots[i], id, out);

		if (err == -ENOTDIR)
			err = -ENOENT;
		if (err != -ENOENT)
			return err;
	}
	return -ENOENT;
}
