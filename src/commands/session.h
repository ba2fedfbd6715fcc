/* SPDX-License-Identifier: MIT */
/*
 * What a one-shot run and the agent share: the collectors they start, the
 * symbolizer and resolver they read samples with, and the steps from
 * loading to the sandbox to a profile.
 */
#ifndef SYSSCOPE_SESSION_H
#define SYSSCOPE_SESSION_H

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "cpu_budget.h"
#include "mem_budget.h"
#include "offcpu_collector.h"
#include "oncpu_collector.h"
#include "opts.h"
#include "profile.h"
#include "select.h"

/* What each mode records and how its outputs weigh it. */
struct mode_layout {
	struct profile_value_type types[2];
	int on_count, on_ns;		/* value indices, -1: not recorded */
	int off_ns, off_count;
	value_mask_t weight;		/* what a frame's width is */
	const char *unit;		/* "samples" or "ns" */
	int cpu_value, offcpu_value;	/* nanosecond values, -1: none */
};

extern const struct mode_layout mode_layouts[];

struct session {
	const struct opts *opts;
	const struct mode_layout *layout;
	struct symbolizer *sym;
	struct fetcher *fetcher;	/* the debuginfod helper, or NULL */
	struct resolver *res;
	bool cgroup_v1;
	bool whole_node;		/* no --pid, --tid or cgroup selection */
	int cgroup_fds[SELECT_MAX];
	size_t ncgroups;
	uint64_t *cgroup_ids;		/* selected cgroups and their subtrees */
	size_t ncgroup_ids;
	struct oncpu *oncpu;
	struct offcpu *offcpu;
	struct proc_notices *notices;
	struct unwinder *unwinder;	/* CFI tables of the mapped files */
	struct python *python;		/* interpreters' frames, or NULL */
	struct unwind_check *check;	/* --validate-unwind, or NULL */
	struct profile *profile;	/* the last one read */
	uint64_t on_stats[ONCPU_STAT_MAX];
	uint64_t off_stats[OFFCPU_STAT_MAX];
	int bpf_stats_fd;		/* held: the kernel times our programs */
	bool bpf_timed;			/* ... by this fd, or by the sysctl */
	struct cpu_budget budget;	/* --cpu-budget */
	struct cache_entry cgroups_cached;	/* the resolver, in the cache budget */
	uint64_t budget_due_ns;		/* its next tick */
};

/* Set by SIGINT/SIGTERM: every loop ends and writes what it has. */
extern volatile sig_atomic_t stop_requested;

uint64_t now_ns(clockid_t clock);
int session__install_signals(void);
/* Capabilities to load BPF; a warning if others' files are unreadable. */
int session__check_privileges(void);

void session__init(struct session *s, const struct opts *o,
		   const struct mode_layout *layout);
/*
 * The cache budget (--cache-budget, or default) on the symbolizer, and
 * the resolver's bytes charged to it (call again as it grows; its
 * workloads are pinned: they name live cgroups). A refusal is counted.
 */
void session__set_cache_budget(struct session *s, uint64_t bytes);
void session__charge_caches(struct session *s);

/* The cgroup hierarchy's resolver, or NULL (warned) when there is none. */
struct resolver *session__open_resolver(const struct opts *o, bool *v1);
/*
 * --debuginfod (or $DEBUGINFOD_URLS): forks the helper that fetches debug
 * files and gives it to s->sym. Before loading; a helper that cannot start
 * is a warning (frames go unnamed), not an error, but with
 * --sandbox-selftest (its self-test may be what failed). 0 or -errno.
 */
int session__start_fetcher(struct session *s);
/* Who the network helpers run as: --user, else nobody when root. */
void session__helper_ids(const struct opts *o, uid_t *uid, gid_t *gid);
/* Loads and attaches the collectors the layout needs; 0 or -errno. */
int session__start_collectors(struct session *s);
/*
 * After the collectors: the kernel times our programs from here (for
 * --cpu-budget and /metrics; needs CAP_SYS_ADMIN, so before the sandbox),
 * and the budget starts. A kernel that cannot is a warning; with a budget
 * set, an error.
 */
int session__start_budget(struct session *s);
/* Loading is done: keep only what reading needs (see sandbox.c). */
int session__enter_sandbox(const struct session *s);
/*
 * For work that parses other tenants' files but needs no BPF (sysscope ps,
 * the container selection's helper): the reading capabilities only (never
 * CAP_BPF), no_new_privs, and the seccomp filter (unless --no-seccomp).
 * The process must be single-threaded. 0 or -errno (said).
 */
int session__enter_reader_sandbox(const struct opts *o);
/*
 * --sandbox-selftest, in such a process: its seccomp mode and capabilities
 * as /proc shows them, then the forbidden calls. 0, or -EPERM (said) if
 * one was allowed.
 */
int session__reader_selftest(const struct opts *o);
/* Reads process notices until deadline (CLOCK_MONOTONIC) or a signal. */
int session__poll_until(struct session *s, uint64_t deadline);
/* The collectors' counters into s->on_stats / s->off_stats. */
void session__read_stats(struct session *s);
/* Reads the collectors' maps into a new s->profile; 0 or -errno. */
int session__build_profile(struct session *s);
/* Frees what the session holds (not s itself). */
void session__release(struct session *s);

#endif
