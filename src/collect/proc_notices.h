/* SPDX-License-Identifier: MIT */
/*
 * User side of process notices (bpf/proc_notice.bpf.h): a process seen for
 * the first time is read now, while it lives (its maps, its container); one
 * that exec'd has the maps read before dropped; one that exited has them
 * kept aside for its samples, apart from the next process with its pid.
 */
#ifndef SYSSCOPE_PROC_NOTICES_H
#define SYSSCOPE_PROC_NOTICES_H

#include <stdint.h>

struct bpf_map;
struct bpf_program;
struct resolver;
struct symbolizer;

/*
 * The two maps behind notices. The first collector loaded owns them; the
 * next reuses them (and loads no exec hook of its own), so both collectors
 * notice a process once between them.
 */
struct proc_notice_maps {
	int noticed_fd;		/* LRU of tgids already noticed */
	int ring_fd;		/* ring buffer of struct proc_notice */
};

/*
 * Before load: makes a BPF object use shared maps instead of its own, and
 * keeps its exec and exit hooks from loading. 0 or -errno.
 */
int proc_notice_maps__reuse(const struct proc_notice_maps *m,
			    struct bpf_map *noticed, struct bpf_map *ring,
			    struct bpf_program *exec_hook,
			    struct bpf_program *exit_hook);

struct proc_notices;

/* Reads ring_fd; res may be NULL. NULL and errno on failure. */
struct proc_notices *proc_notices__new(int ring_fd, struct symbolizer *sym,
				       struct resolver *res);
/* The same poll serves another ring buffer (--validate-unwind). */
int proc_notices__add_ring(struct proc_notices *pn, int fd,
			   int (*fn)(void *ctx, void *data, size_t len),
			   void *ctx);
/* Handles notices for up to timeout_ms; 0 or -errno (-EINTR: a signal). */
int proc_notices__poll(struct proc_notices *pn, int timeout_ms);
/* Handles the notices already queued, without waiting. */
void proc_notices__drain(struct proc_notices *pn);
/* Processes noticed since the start (execs are not counted). */
uint64_t proc_notices__count(const struct proc_notices *pn);
/* Maps read again because code was mapped since (dlopen). */
uint64_t proc_notices__remaps(const struct proc_notices *pn);
/* Processes told exited (their pids free for reuse). */
uint64_t proc_notices__exits(const struct proc_notices *pn);
void proc_notices__free(struct proc_notices *pn);

#endif
