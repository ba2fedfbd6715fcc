/* SPDX-License-Identifier: MIT */
/* cgroup hierarchies: where cgroup v2 is mounted, and a path's cgroup id. */
#ifndef SYSSCOPE_CGROUP_H
#define SYSSCOPE_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parses one /proc/self/mountinfo line (edited in place). Returns 1 and sets
 * *mount_point (unescaped, inside line) when it is a cgroup2 mount, 0 for
 * another file system, -EINVAL for a malformed line.
 */
int cgroup__parse_mountinfo_line(char *line, const char **mount_point);

/*
 * The mount of the cgroup v1 hierarchy that has controller (e.g. "cpu",
 * which may be mounted together with "cpuacct"); -ENOENT if none.
 */
int cgroup__find_v1_mount(const char *mountinfo, const char *controller,
			  char *buf, size_t len);

/* The first cgroup2 mount in a mountinfo file; -ENOENT if none. */
int cgroup__find_v2_mount(const char *mountinfo, char *buf, size_t len);
/*
 * The same, among mounts at or below prefix only: the host's hierarchy
 * mounted into a container under --host-root, not the container's own.
 */
int cgroup__find_v2_mount_under(const char *mountinfo, const char *prefix,
				char *buf, size_t len);
int cgroup__find_v1_mount_under(const char *mountinfo, const char *prefix,
				const char *controller, char *buf, size_t len);

/*
 * A cgroup given by the user: absolute under the v2 mount, or relative to
 * it ("/kubepods/pod1" means <mount>/kubepods/pod1). Writes the directory.
 */
int cgroup__v2_dir(const char *v2_mount, const char *path, char *buf,
		   size_t len);

#endif
