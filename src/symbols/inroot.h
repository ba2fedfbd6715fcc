/* SPDX-License-Identifier: MIT */
/*
 * Path resolution confined to a directory tree, as the kernel's
 * openat2(RESOLVE_IN_ROOT) does, but one component at a time with
 * openat(O_PATH | O_NOFOLLOW): it needs no openat2(), whose flags seccomp
 * cannot read (so the sandbox forbids it), and works on every kernel.
 */
#ifndef SYSSCOPE_INROOT_H
#define SYSSCOPE_INROOT_H

#include <stdbool.h>

#define INROOT_MAX_LINKS 40	/* symlinks followed, as the kernel's ELOOP */
#define INROOT_MAX_DEPTH 255	/* directories deep */

/*
 * Resolves path inside root_fd as if root_fd were "/" and returns an O_PATH
 * descriptor of what it names (any type), or -errno.
 *  - ".." never climbs above root_fd: it pops a stack of descriptors we
 *    hold, it is never resolved by the kernel;
 *  - a symlink's target is read and spliced into the rest of the path, an
 *    absolute one starting again at root_fd; a final symlink is followed
 *    if follow_last, else its own O_PATH descriptor comes back;
 *  - magic links (/proc/PID/root, /proc/self/fd/N inside the tree) are read
 *    as the strings they hold, so they cannot jump anywhere.
 */
int inroot__open(int root_fd, const char *path, bool follow_last);

/*
 * inroot__open, then the file reopened for reading (O_RDONLY | O_CLOEXEC |
 * O_NOCTTY | O_NONBLOCK | extra) through /proc/self/fd: only if it is a
 * regular file, or a directory when extra has O_DIRECTORY (-EINVAL else),
 * so a FIFO, device or symlink is never opened for real. With O_NOFOLLOW
 * in extra a final symlink is refused (-EINVAL). fd or -errno.
 */
int inroot__open_read(int root_fd, const char *path, int extra);

#endif
