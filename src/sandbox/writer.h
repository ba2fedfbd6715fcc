/* SPDX-License-Identifier: MIT */
/*
 * The output folder's writer: a child process forked before the sandbox,
 * the only part of sysscope that can create files. The profiler renders
 * each output in memory and sends (name, bytes); the writer checks the
 * name, makes its folders and writes the file. The profiler itself then
 * runs with a seccomp filter that allows no open for writing at all, so a
 * parser bug exploited by a hostile container's files cannot write.
 */
#ifndef SYSSCOPE_WRITER_H
#define SYSSCOPE_WRITER_H

#include <stddef.h>
#include <sys/types.h>

#define WRITER_MAX_FILE (1ULL << 32)	/* bytes in one output file */

struct writer;

/*
 * Forks the writer for folder dir (which must exist). It runs as uid/gid
 * (pass getuid()/getgid() to stay), with no capabilities and its own
 * seccomp filter. NULL and errno on failure.
 */
struct writer *writer__start(const char *dir, uid_t uid, gid_t gid);

/*
 * Writes name (relative to dir: components of [A-Za-z0-9._@:+=,-], none
 * empty, "." or "..", none starting with '.') with len bytes of data,
 * atomically: a new temp file (O_EXCL, a random name: nothing planted in
 * the folder is opened or followed), then renamed. 0, or -errno from the
 * writer.
 */
int writer__put(struct writer *w, const char *name, const void *data,
		size_t len);

/* Ends the writer and waits for it: 0, or -EIO if it failed or died. */
int writer__finish(struct writer *w);

/* The writer's checks of a name, for tests: true if it would write it. */
int writer__name_ok(const char *name);

#endif
