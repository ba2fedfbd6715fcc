/* SPDX-License-Identifier: MIT */
/*
 * The network helpers (the debuginfod fetcher, the ClickHouse pusher):
 * children forked before the profiler's sandbox, each the only part of
 * sysscope that makes sockets for its purpose. What confines them.
 */
#ifndef SYSSCOPE_NET_HELPER_H
#define SYSSCOPE_NET_HELPER_H

#include <sys/types.h>

/*
 * The helper's own folder: dir (absolute) and its parents made if
 * missing, given to uid:gid, mode 0700; never a symlink, never a folder
 * owned by someone else. 0 or -errno (-EPERM: someone else's).
 */
int net_helper__own_dir(const char *dir, uid_t uid, gid_t gid);

/*
 * Becomes uid:gid with no capabilities in any set and no new privileges,
 * under a seccomp filter that allows what an HTTP client needs (IPv4/6
 * sockets, files, threads) and not execve, ptrace, bpf, AF_UNIX sockets,
 * mount, ... 0 or -errno.
 */
int net_helper__confine(uid_t uid, gid_t gid);

#endif
