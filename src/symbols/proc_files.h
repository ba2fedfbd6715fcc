/* SPDX-License-Identifier: MIT */
/*
 * A process's files, opened from outside its mount namespace: through
 * /proc/PID/map_files (the mapped inode itself) or by a path resolved
 * inside /proc/PID/root (inroot.h), never by the host's path alone.
 */
#ifndef SYSSCOPE_PROC_FILES_H
#define SYSSCOPE_PROC_FILES_H

#include <stdint.h>
#include "procmaps.h"

/* path inside pid's root, opened for reading (a regular file). fd or -errno. */
int proc_file__open_in_root(const char *proc_root, uint32_t pid,
			    const char *path);
/*
 * The file a mapping maps: by map_files when we may, else by its path in
 * the process's root if it is still the same inode. fd or -errno.
 */
int proc_file__open_mapped(const char *proc_root, uint32_t pid,
			   const struct procmap *m);
/* pid's root directory, O_PATH. fd or -errno. */
int proc_file__root(const char *proc_root, uint32_t pid);

#endif
