/* SPDX-License-Identifier: MIT */
/* Command-line options: parsed and checked here, without side effects. */
#ifndef SYSSCOPE_OPTS_H
#define SYSSCOPE_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define OPTS_MAX_IDS 1024

enum mode {
	MODE_PROFILE,		/* on-CPU samples */
	MODE_OFFCPUTIME,	/* off-CPU intervals */
	MODE_WALLCLOCK,		/* both, as time: the default */
	MODE_PS,		/* list the containers on this node */
	MODE_AGENT,		/* wall-clock, in windows, served over HTTP */
	MODE_QUERY,		/* profiles from ClickHouse, as a run writes them */
};

struct opts {
	enum mode mode;
	double duration_s;		/* 0: until SIGINT/SIGTERM */
	unsigned int frequency;		/* Hz */
	uint32_t pids[OPTS_MAX_IDS];
	size_t npids;
	uint32_t tids[OPTS_MAX_IDS];
	size_t ntids;
	const char *cgroup;		/* cgroup v2 path, or NULL */
	const char *container;		/* --container NAME or id prefix */
	const char *pod;		/* --pod [NAMESPACE/]NAME */
	const char *namespace;		/* -n NAMESPACE */
	const char *host_root;		/* prefix of the runtimes' /run, /var/lib */
	int cgroup_version;		/* 0: auto, 1 or 2 */
	bool no_seccomp;		/* debugging: no seccomp filter */
	bool read_remote_fs;		/* read files on FUSE/network mounts */
	bool sandbox_selftest;		/* tests: prove forbidden calls fail */
	int cpu;			/* -1: every CPU */
	bool user_stacks;
	bool kernel_stacks;
	bool user_threads_only;
	bool kernel_threads_only;
	uint64_t min_block_us;		/* off-CPU intervals shorter are skipped */
	const char *output_dir;		/* NULL: sysscope-<mode>-<time> */
	const char *proc_root;
	/*
	 * --user NAME|UID: run as this user after loading (sandbox.h), with
	 * the reading capabilities. Resolved while parsing: uid and its
	 * primary gid (a UID without a passwd entry: gid = uid).
	 */
	const char *user;		/* NULL: stay root */
	uid_t uid;
	gid_t gid;
	/* sysscope agent */
	const char *listen;		/* "ADDR:PORT" */
	double window_s;		/* one profile per window */
	double retention_s;		/* windows older are dropped */
	uint64_t memory_limit;		/* bytes: RSS the agent keeps under */
	uint32_t max_entries;		/* distinct (thread, stack) keys */
	uint32_t max_stacks;		/* distinct stacks */
	bool unwind_fp_only;		/* --unwind fp: no CFI tables */
	bool no_python;			/* --no-python: native frames only */
	uint64_t unwind_table_bytes;	/* --unwind-tables: rows of 4 bytes */
	uint64_t dwarf_budget;		/* --dwarf-budget, if dwarf_budget_set */
	bool dwarf_budget_set;
	uint64_t cache_budget;		/* --cache-budget, if cache_budget_set */
	bool cache_budget_set;
	uint32_t validate_unwind;	/* check 1 in N walks with libdw; 0: off */
	double cpu_budget_pct;		/* % of one core; 0: record every switch */
	bool cpu_budget_set;
	/* debuginfod: NULL, $DEBUGINFOD_URLS; "" none (see fetcher.h) */
	const char *debuginfod_urls;
	const char *debuginfod_cache;	/* the helper's cache folder */
	/* ClickHouse: the agent pushes windows, sysscope query reads them */
	const char *clickhouse_url;	/* NULL: no push */
	const char *clickhouse_db;	/* NULL: "sysscope" */
	const char *node;		/* NULL: the host name */
	const char *spool_dir;		/* NULL: no spool on disk */
	uint64_t spool_max;		/* bytes on disk */
	uint64_t queue_max;		/* bytes in memory */
	unsigned int ch_retention_days;	/* day partitions kept; 0: all */
	/* sysscope query */
	int view;			/* VIEW_WALLCLOCK, VIEW_ONCPU, VIEW_OFFCPU */
	double since_s;			/* --since: the last SEC (0: unset) */
	int64_t from_s, to_s;		/* --from/--to: unix seconds, -1: unset */
	int64_t diff_from_s, diff_to_s;	/* the baseline range, -1: none */
	bool ch_init;			/* --init: create the tables only */
	int verbose;
};

enum { VIEW_WALLCLOCK, VIEW_ONCPU, VIEW_OFFCPU };

enum opts_result {
	OPTS_RUN,		/* options are good: run */
	OPTS_EXIT_OK,		/* -h or --version was handled */
	OPTS_ERROR,		/* err holds one line saying what is wrong */
};

/* out is for -h/--version text; err gets the reason of an OPTS_ERROR. */
enum opts_result opts__parse(int argc, char **argv, struct opts *o,
			     char *err, size_t errlen, FILE *out);

const char *mode__name(enum mode m);

#endif
