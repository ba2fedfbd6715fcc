/* SPDX-License-Identifier: MIT */
/* Whole reads and writes on pipes and sockets, retried on EINTR. */
#ifndef SYSSCOPE_FD_IO_H
#define SYSSCOPE_FD_IO_H

#include <stddef.h>

/* Exactly len bytes: 0, -EPIPE at end of file, or -errno. */
int fd_io__read_full(int fd, void *buf, size_t len);
/* All of buf: 0 or -errno. */
int fd_io__write_full(int fd, const void *buf, size_t len);

#endif
