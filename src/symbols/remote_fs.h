/* SPDX-License-Identifier: MIT */
/*
 * Filesystems whose reads can block for as long as a server or a daemon
 * pleases: FUSE, NFS, SMB, 9p, Ceph, GlusterFS... A mapped file on one of
 * them is not read (by default): a stalled mount would hold the collector.
 * Which filesystem a mapped file is on comes from the device number in
 * /proc/PID/maps and the process's /proc/PID/mountinfo, without touching
 * the file itself.
 */
#ifndef SYSSCOPE_REMOTE_FS_H
#define SYSSCOPE_REMOTE_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Is fstype (mountinfo's, e.g. "nfs4", "fuse.sshfs") one that may block? */
bool remote_fs__may_block(const char *fstype);

/*
 * The filesystem type of device maj:min in mountinfo text f, into fstype.
 * 0, or -ENOENT when no mount has that device.
 */
int remote_fs__type_of(FILE *f, uint32_t maj, uint32_t min, char *fstype,
		       size_t len);

/*
 * Is maj:min, as pid sees its mounts, on such a filesystem? false when it
 * cannot tell (the process is gone): the open that follows will fail.
 */
bool remote_fs__is_remote(const char *proc_root, uint32_t pid, uint32_t maj,
			  uint32_t min);

#endif
