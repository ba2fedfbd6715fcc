// SPDX-License-Identifier: MIT
/*
 * sysscope agent: wall-clock profiles of every pod in windows, kept for
 * --retention and served over HTTP with /metrics.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "agent_http.h"
#include "commands.h"
#include "log.h"
#include "proc_notices.h"
#include "session.h"
#include "symbolize.h"
#include "unwinder.h"
#include "window_store.h"

/* How often the agent empties the off-CPU stack maps (offcpu__empty). */
#define STACKS_EVERY_S 600
/* Resident memory the agent keeps under, in % of --memory-limit. */
#define RSS_TARGET 80

struct prog_stats {
	uint64_t run_ns, runs;
};

struct agent {
	struct session s;
	struct window_store *store;
	struct agent_http *http;
	int bpf_stats_fd;		/* held: the kernel times our programs */
	pthread_mutex_t lock;		/* guards what follows */
	uint64_t on_stats[ONCPU_STAT_MAX];
	uint64_t off_stats[OFFCPU_STAT_MAX];
	struct prog_stats prog[2];	/* oncpu, offcpu */
	uint64_t windows, window_errors;
	uint64_t windows_since_stacks;	/* off-CPU stack maps last emptied */
	uint64_t covered_ns, gap_ns;	/* time in windows, between them */
	struct symbolizer_stats sym;	/* as of the last window */
	struct unwinder_stats unwind;	/* the same */
	uint64_t unwind_walks[UNWIND_STAT_MAX];
	double last_collect_s;
};

static uint64_t self_rss_bytes(void)
{
	unsigned long long size, rss = 0;
	FILE *f = fopen("/proc/self/statm", "re");

	if (f) {
		if (fscanf(f, "%llu %llu", &size, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void prog_stats_read(int fd, struct prog_stats *out)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd >= 0 && !bpf_obj_get_info_by_fd(fd, &info, &len)) {
		out->run_ns = info.run_time_ns;
		out->runs = info.run_cnt;
	}
}

static void write_unwind_metrics(FILE *f, const struct agent *c)
{
	static const char *const walk_end[] = {
		[UNWIND_STAT_END] = "outermost_frame",
		[UNWIND_STAT_FP_END] = "frame_pointers_ended",
		[UNWIND_STAT_DEPTH] = "depth",
		[UNWIND_STAT_BAD_READ] = "bad_read",
		[UNWIND_STAT_UNKNOWN_RULE] = "unknown_rule",
		[UNWIND_STAT_NO_ROW] = "no_row",
		[UNWIND_STAT_FP_FRAMES] = NULL, [UNWIND_STAT_FP_NO_TABLES] = NULL,
		[UNWIND_STAT_NO_TABLES] = "before_tables",
	};
	const struct unwinder_stats *u = &c->unwind;

	fputs("# HELP sysscope_unwind_walks_total User-stack walks, by how they ended.\n"
	      "# TYPE sysscope_unwind_walks_total counter\n", f);
	for (int i = 0; i <= UNWIND_STAT_NO_TABLES; i++)
		if (walk_end[i])
			fprintf(f, "sysscope_unwind_walks_total{end=\"%s\"} %llu\n",
				walk_end[i], (unsigned long long)c->unwind_walks[i]);
	fprintf(f, "# HELP sysscope_unwind_stacks_reused_total Off-CPU stacks checked in place instead of walked.\n"
		"# TYPE sysscope_unwind_stacks_reused_total counter\n"
		"sysscope_unwind_stacks_reused_total %llu\n",
		(unsigned long long)c->unwind_walks[UNWIND_STAT_REUSED]);
	fprintf(f, "# HELP sysscope_unwind_fp_frames_total Frames found by frame pointers, not CFI.\n"
		"# TYPE sysscope_unwind_fp_frames_total counter\n"
		"sysscope_unwind_fp_frames_total{why=\"no_table\"} %llu\n"
		"sysscope_unwind_fp_frames_total{why=\"process_not_loaded\"} %llu\n",
		(unsigned long long)c->unwind_walks[UNWIND_STAT_FP_FRAMES],
		(unsigned long long)c->unwind_walks[UNWIND_STAT_FP_NO_TABLES]);
	fprintf(f, "# HELP sysscope_unwind_files_total Files whose CFI tables were built, and what became of them.\n"
		"# TYPE sysscope_unwind_files_total counter\n"
		"sysscope_unwind_files_total{result=\"loaded\"} %llu\n"
		"sysscope_unwind_files_total{result=\"shared\"} %llu\n"
		"sysscope_unwind_files_total{result=\"no_cfi\"} %llu\n"
		"sysscope_unwind_files_total{result=\"failed\"} %llu\n"
		"sysscope_unwind_files_total{result=\"over_budget\"} %llu\n"
		"sysscope_unwind_files_total{result=\"freed\"} %llu\n",
		(unsigned long long)u->files, (unsigned long long)u->files_shared,
		(unsigned long long)u->files_no_cfi,
		(unsigned long long)u->files_failed,
		(unsigned long long)u->files_no_room,
		(unsigned long long)u->files_freed);
	fprintf(f, "# HELP sysscope_unwind_table_rows Rows of CFI tables in BPF, and the budget.\n"
		"# TYPE sysscope_unwind_table_rows gauge\n"
		"sysscope_unwind_table_rows{of=\"used\"} %llu\n"
		"sysscope_unwind_table_rows{of=\"budget\"} %llu\n",
		(unsigned long long)u->rows_used, (unsigned long long)u->rows_max);
}

static void agent_metrics(void *ctx, FILE *f)
{
	struct agent *a = ctx;
	struct window_store_stats ws;
	struct agent copy;
	static const char *const progs[2] = { "oncpu", "offcpu" };

	pthread_mutex_lock(&a->lock);
	memcpy(copy.on_stats, a->on_stats, sizeof(copy.on_stats));
	memcpy(copy.off_stats, a->off_stats, sizeof(copy.off_stats));
	memcpy(copy.prog, a->prog, sizeof(copy.prog));
	copy.windows = a->windows;
	copy.window_errors = a->window_errors;
	copy.covered_ns = a->covered_ns;
	copy.gap_ns = a->gap_ns;
	copy.last_collect_s = a->last_collect_s;
	copy.sym = a->sym;
	copy.unwind = a->unwind;
	memcpy(copy.unwind_walks, a->unwind_walks, sizeof(copy.unwind_walks));
	pthread_mutex_unlock(&a->lock);
	window_store__stats(a->store, &ws);

	fprintf(f, "# HELP sysscope_samples_total On-CPU samples counted.\n"
		"# TYPE sysscope_samples_total counter\n"
		"sysscope_samples_total %llu\n",
		(unsigned long long)copy.on_stats[ONCPU_STAT_COUNTED]);
	fprintf(f, "# HELP sysscope_offcpu_intervals_total Off-CPU intervals counted.\n"
		"# TYPE sysscope_offcpu_intervals_total counter\n"
		"sysscope_offcpu_intervals_total %llu\n",
		(unsigned long long)copy.off_stats[OFFCPU_STAT_COUNTED]);
	fprintf(f, "# HELP sysscope_lost_samples_total Samples and intervals dropped (full maps, no storage).\n"
		"# TYPE sysscope_lost_samples_total counter\n"
		"sysscope_lost_samples_total{collector=\"oncpu\"} %llu\n"
		"sysscope_lost_samples_total{collector=\"offcpu\"} %llu\n",
		(unsigned long long)copy.on_stats[ONCPU_STAT_LOST_MAP_FULL],
		(unsigned long long)(copy.off_stats[OFFCPU_STAT_LOST_MAP_FULL] +
				     copy.off_stats[OFFCPU_STAT_LOST_NO_STORAGE]));
	fputs("# HELP sysscope_collector_events_total Every counter of the BPF collectors.\n"
	      "# TYPE sysscope_collector_events_total counter\n", f);
	for (int i = 0; i < ONCPU_STAT_MAX; i++) {
		fputs("sysscope_collector_events_total{collector=\"oncpu\",event=\"", f);
		agent_http__label(f, oncpu__stat_name(i));
		fprintf(f, "\"} %llu\n", (unsigned long long)copy.on_stats[i]);
	}
	for (int i = 0; i < OFFCPU_STAT_MAX; i++) {
		fputs("sysscope_collector_events_total{collector=\"offcpu\",event=\"", f);
		agent_http__label(f, offcpu__stat_name(i));
		fprintf(f, "\"} %llu\n", (unsigned long long)copy.off_stats[i]);
	}
	fputs("# HELP sysscope_bpf_run_seconds_total Time the kernel spent in our BPF programs.\n"
	      "# TYPE sysscope_bpf_run_seconds_total counter\n", f);
	for (int i = 0; i < 2; i++)
		fprintf(f, "sysscope_bpf_run_seconds_total{program=\"%s\"} %.9f\n",
			progs[i], copy.prog[i].run_ns / 1e9);
	fputs("# HELP sysscope_bpf_runs_total Runs of our BPF programs.\n"
	      "# TYPE sysscope_bpf_runs_total counter\n", f);
	for (int i = 0; i < 2; i++)
		fprintf(f, "sysscope_bpf_runs_total{program=\"%s\"} %llu\n",
			progs[i], (unsigned long long)copy.prog[i].runs);
	fprintf(f, "# HELP sysscope_windows_total Windows collected (and failed).\n"
		"# TYPE sysscope_windows_total counter\n"
		"sysscope_windows_total{result=\"ok\"} %llu\n"
		"sysscope_windows_total{result=\"error\"} %llu\n",
		(unsigned long long)copy.windows,
		(unsigned long long)copy.window_errors);
	fprintf(f, "# HELP sysscope_windows_kept Windows held in memory.\n"
		"# TYPE sysscope_windows_kept gauge\n"
		"sysscope_windows_kept %zu\n"
		"# HELP sysscope_windows_bytes Estimated bytes the kept windows hold.\n"
		"# TYPE sysscope_windows_bytes gauge\n"
		"sysscope_windows_bytes %zu\n"
		"# HELP sysscope_windows_evicted_total Windows dropped, by why.\n"
		"# TYPE sysscope_windows_evicted_total counter\n"
		"sysscope_windows_evicted_total{reason=\"age\"} %llu\n"
		"sysscope_windows_evicted_total{reason=\"memory\"} %llu\n",
		ws.windows, ws.bytes, (unsigned long long)ws.evicted_age,
		(unsigned long long)ws.evicted_memory);
	fprintf(f, "# HELP sysscope_window_gap_seconds_total Time between windows (collecting), not profiled.\n"
		"# TYPE sysscope_window_gap_seconds_total counter\n"
		"sysscope_window_gap_seconds_total %.6f\n"
		"# HELP sysscope_window_covered_seconds_total Time inside windows.\n"
		"# TYPE sysscope_window_covered_seconds_total counter\n"
		"sysscope_window_covered_seconds_total %.6f\n"
		"# HELP sysscope_last_collect_seconds How long reading the last window took.\n"
		"# TYPE sysscope_last_collect_seconds gauge\n"
		"sysscope_last_collect_seconds %.6f\n",
		copy.gap_ns / 1e9, copy.covered_ns / 1e9, copy.last_collect_s);
	fprintf(f, "# HELP sysscope_symbol_files_total Files whose symbols were read, and what became of them.\n"
		"# TYPE sysscope_symbol_files_total counter\n"
		"sysscope_symbol_files_total{result=\"loaded\"} %llu\n"
		"sysscope_symbol_files_total{result=\"failed\"} %llu\n"
		"sysscope_symbol_files_total{result=\"evicted\"} %llu\n",
		(unsigned long long)copy.sym.files,
		(unsigned long long)copy.sym.files_failed,
		(unsigned long long)copy.sym.files_evicted);
	fprintf(f, "# HELP sysscope_debuginfod_files_total Debug files asked of debuginfod, by outcome.\n"
		"# TYPE sysscope_debuginfod_files_total counter\n"
		"sysscope_debuginfod_files_total{result=\"requested\"} %llu\n"
		"sysscope_debuginfod_files_total{result=\"fetched\"} %llu\n"
		"sysscope_debuginfod_files_total{result=\"failed\"} %llu\n"
		"sysscope_debuginfod_files_total{result=\"timed_out\"} %llu\n",
		(unsigned long long)copy.sym.debuginfod_requested,
		(unsigned long long)copy.sym.debuginfod_fetched,
		(unsigned long long)copy.sym.debuginfod_failed,
		(unsigned long long)copy.sym.debuginfod_timed_out);
	write_unwind_metrics(f, &copy);
	fprintf(f, "# HELP sysscope_agent_resident_bytes The agent's resident memory.\n"
		"# TYPE sysscope_agent_resident_bytes gauge\n"
		"sysscope_agent_resident_bytes %llu\n"
		"# HELP sysscope_agent_memory_limit_bytes --memory-limit.\n"
		"# TYPE sysscope_agent_memory_limit_bytes gauge\n"
		"sysscope_agent_memory_limit_bytes %llu\n",
		(unsigned long long)self_rss_bytes(),
		(unsigned long long)a->s.opts->memory_limit);
}

/*
 * Ends the window begun at start: reads it into the store, empties maps.
 * *end is when profiling stopped; the next window's start less it is the
 * gap the collection left unprofiled.
 */
static int agent_close_window(struct agent *a, uint64_t start,
			      uint64_t start_real, uint64_t *end_out)
{
	struct session *s = &a->s;
	uint64_t end = now_ns(CLOCK_MONOTONIC), t0;
	double window_s = s->opts->window_s;
	bool stacks;
	int err;

	oncpu__pause(s->oncpu);
	offcpu__end_window(s->offcpu, end);
	proc_notices__drain(s->notices);
	t0 = now_ns(CLOCK_MONOTONIC);
	err = session__build_profile(s);
	/* What exited cannot sample again: its maps go; pids get reused. */
	symbolizer__forget_exited(s->sym);
	err = oncpu__empty(s->oncpu) ?: err;
	/* Stacks only now and then: see offcpu__empty. */
	stacks = ++a->windows_since_stacks * window_s >= STACKS_EVERY_S;
	if (stacks)
		a->windows_since_stacks = 0;
	err = offcpu__empty(s->offcpu, stacks) ?: err;
	if (err) {
		log_warn("window: %s (its data is dropped)", strerror(-err));
		profile__free(s->profile);
	} else {
		err = window_store__add(a->store, s->profile, start_real,
					end - start, now_ns(CLOCK_REALTIME));
	}
	s->profile = NULL;
	/* Reading files (symbols, CFI tables) leaves freed heap behind. */
	malloc_trim(0);
	/*
	 * The cap is on resident memory, which the windows' estimate does not
	 * see whole: past RSS_TARGET of it, old windows go first, leaving
	 * room for the next window's collection and for HTTP requests.
	 */
	while (self_rss_bytes() > s->opts->memory_limit / 100 * RSS_TARGET &&
	       window_store__evict_oldest(a->store))
		malloc_trim(0);
	session__read_stats(s);
	pthread_mutex_lock(&a->lock);
	memcpy(a->on_stats, s->on_stats, sizeof(a->on_stats));
	memcpy(a->off_stats, s->off_stats, sizeof(a->off_stats));
	prog_stats_read(oncpu__prog_fd(s->oncpu), &a->prog[0]);
	prog_stats_read(offcpu__prog_fd(s->offcpu), &a->prog[1]);
	if (err)
		a->window_errors++;
	else
		a->windows++;
	a->covered_ns += end - start;
	a->last_collect_s = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	a->sym = *symbolizer__stats(s->sym);
	a->unwind = *unwinder__stats(s->unwinder);
	unwinder__read_walk_stats(s->unwinder, a->unwind_walks);
	pthread_mutex_unlock(&a->lock);
	*end_out = end;
	return err;
}

static int agent_loop(struct agent *a)
{
	struct session *s = &a->s;
	uint64_t window = (uint64_t)(s->opts->window_s * 1e9), last_end = 0;
	uint64_t stop_at = s->opts->duration_s > 0 ? now_ns(CLOCK_MONOTONIC) +
		(uint64_t)(s->opts->duration_s * 1e9) : UINT64_MAX;
	int err = 0;

	for (bool first = true; !stop_requested &&
	     now_ns(CLOCK_MONOTONIC) < stop_at; first = false) {
		uint64_t start = now_ns(CLOCK_MONOTONIC);
		uint64_t start_real = now_ns(CLOCK_REALTIME);

		if (first) {
			if (offcpu__begin(s->offcpu, start))
				log_warn("off-CPU: threads asleep since before the start may be missed");
		} else {
			offcpu__next_window(s->offcpu, start);
			pthread_mutex_lock(&a->lock);
			a->gap_ns += start - last_end;
			pthread_mutex_unlock(&a->lock);
		}
		oncpu__begin(s->oncpu, start);
		err = session__poll_until(s, start + window < stop_at ?
					 start + window : stop_at);
		if (err)
			break;
		agent_close_window(a, start, start_real, &last_end);
	}
	return err;
}

int cmd_agent(const struct opts *o)
{
	struct agent a = {
		.bpf_stats_fd = -1,
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	struct session *s = &a.s;
	int listen_fd = -1, err;

	session__init(s, o, &mode_layouts[MODE_WALLCLOCK]);
	s->whole_node = true;
	err = session__check_privileges();
	err = err ?: session__install_signals();
	if (err)
		return err;
	s->res = session__open_resolver(o, &s->cgroup_v1);
	s->sym = symbolizer__new(o->proc_root);
	if (!s->sym) {
		err = -errno;
		goto out;
	}
	err = session__start_fetcher(s);
	if (err)
		goto out;
	listen_fd = agent_http__listen(o->listen);
	if (listen_fd < 0) {
		err = listen_fd;
		log_error("--listen %s: %s", o->listen, strerror(-err));
		goto out;
	}
	err = session__start_collectors(s);
	if (!err && symbolizer__load_kernel(s->sym))
		log_warn("kernel symbols unreadable (kptr_restrict?): kernel frames will be addresses");
	/* While held, the kernel times our programs (for /metrics). */
	a.bpf_stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (a.bpf_stats_fd < 0)
		log_warn("BPF run-time statistics unavailable: %s",
			 strerror(errno));
	err = err ?: session__enter_sandbox(s);
	if (err)
		goto out;
	a.store = window_store__new((uint64_t)(o->retention_s * 1e9),
				    o->memory_limit / 2);
	if (!a.store) {
		err = -ENOMEM;
		goto out;
	}
	a.http = agent_http__start(listen_fd, &(struct agent_http_config){
		.store = a.store, .period_ns = oncpu__period_ns(s->oncpu),
		.metrics = agent_metrics, .metrics_ctx = &a,
	});
	listen_fd = -1;		/* the server has it, or closed it */
	if (!a.http) {
		err = -errno;
		log_error("HTTP server on %s: %s", o->listen, strerror(errno));
		goto out;
	}
	log_info("agent: serving http://%s/ ; %.0f s windows kept %.0f s, memory limit %llu MiB",
		 o->listen, o->window_s, o->retention_s,
		 (unsigned long long)(o->memory_limit >> 20));
	err = agent_loop(&a);
	log_info("agent: stopping");
out:
	agent_http__stop(a.http);
	if (listen_fd >= 0)
		close(listen_fd);
	if (a.bpf_stats_fd >= 0)
		close(a.bpf_stats_fd);
	window_store__free(a.store);
	session__release(s);
	return err;
}
