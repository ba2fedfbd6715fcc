/* SPDX-License-Identifier: MIT */
/*
 * The debuginfod fetcher: a child process forked before the sandbox, the
 * only part of sysscope that talks to the network. It runs as an
 * unprivileged uid, with no capabilities and its own seccomp filter (no
 * execve, ptrace, bpf, ...), and asks debuginfod servers (elfutils'
 * libdebuginfod, its cache in a folder it owns) for debug files by
 * build-id. The profiler, which may make no socket, sends it build-ids
 * over a socketpair and receives each debug file as an open descriptor.
 *
 * The profiler never waits on it but for a bounded time: requests are
 * queued without blocking, answers are read when they are there.
 */
#ifndef SYSSCOPE_FETCHER_H
#define SYSSCOPE_FETCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FETCHER_BUILD_ID_MAX 64
#define FETCHER_DEFAULT_CACHE "/var/cache/sysscope/debuginfod"

struct fetcher;

struct fetcher_config {
	const char *urls;		/* DEBUGINFOD_URLS: space separated */
	const char *cache_dir;		/* made if missing, given to uid */
	uid_t uid;			/* who the helper runs as */
	gid_t gid;
	unsigned int timeout_s;		/* per request, everything included */
	unsigned int retry_after_s;	/* a failed build-id is not asked again */
	bool selftest;			/* --sandbox-selftest: prove, on stderr,
					   that forbidden calls fail in it */
};

/*
 * Forks the helper and waits (at most a few seconds) until it is ready.
 * NULL and errno on failure (the helper's own error, e.g. EPERM for a
 * cache folder that someone else owns, or a self-test call allowed).
 */
struct fetcher *fetcher__start(const struct fetcher_config *c);

/*
 * Asks for the debug file of build-id id, never blocking. 0, -EALREADY
 * (already asked, not yet answered), -ENOSPC (too many unanswered),
 * -EPIPE (the helper is gone), -EINVAL (no such build-id).
 */
int fetcher__request(struct fetcher *f, const uint8_t *id, size_t len);

/*
 * The next answer, waiting up to timeout_ms (0: only what is there): 1
 * with the build-id in id (FETCHER_BUILD_ID_MAX bytes), its length in *len
 * and *result a read-only descriptor of a regular file (the caller closes
 * it), or -errno: -ETIMEDOUT (the server was too slow), -ENOENT (no server
 * has it), -EBADMSG (not an ELF file), -EPIPE (the helper is gone: every
 * unanswered request ends so, one by one). 0: nothing yet.
 */
int fetcher__next(struct fetcher *f, int timeout_ms, uint8_t *id, size_t *len,
		  int *result);

/* Requests not answered yet. */
size_t fetcher__pending(const struct fetcher *f);

/* The helper's pid (tests, logs). */
pid_t fetcher__pid(const struct fetcher *f);

/*
 * Closes the socket and reaps the helper if it has exited; a helper still
 * in a request dies with the profiler (PR_SET_PDEATHSIG). Accepts NULL.
 */
void fetcher__finish(struct fetcher *f);

#endif
