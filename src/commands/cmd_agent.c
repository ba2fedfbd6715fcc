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
#include "ch_push.h"
#include "commands.h"
#include "log.h"
#include "mem_budget.h"
#include "proc_notices.h"
#include "prom.h"
#include "resolver.h"
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
	struct ch_push *push;		/* --clickhouse, or NULL */
	pthread_mutex_t lock;		/* guards what follows */
	uint64_t on_stats[ONCPU_STAT_MAX];
	uint64_t off_stats[OFFCPU_STAT_MAX];
	struct prog_stats prog[2];	/* oncpu, offcpu */
	uint64_t windows, window_errors;
	uint64_t windows_since_stacks;	/* off-CPU stack maps last emptied */
	uint64_t covered_ns, gap_ns;	/* time in windows, between them */
	uint64_t last_close_ns;		/* CLOCK_MONOTONIC: start, last window */
	struct symbolizer_stats sym;	/* as of the last window */
	struct unwinder_stats unwind;	/* the same */
	uint64_t unwind_walks[UNWIND_STAT_MAX];
	struct resolver_stats res;	/* the same */
	struct mem_budget_stats cache;	/* the same */
	double last_collect_s;
	uint64_t collect_growth;	/* RSS a collection adds, decaying max */
	struct cpu_budget budget;	/* the same */
	uint32_t record_rate;		/* the same */
	unsigned int oncpu_hz;		/* the same */
	uint64_t window_switches[2];	/* switches, recorded: at window start */
	double window_probability;	/* recorded / switches, newest window */
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

static const struct prom_family bpf_run_seconds = {
	"sysscope_bpf_run_seconds_total", PROM_COUNTER,
	"Time the kernel spent in our BPF programs.",
}, bpf_runs = {
	"sysscope_bpf_runs_total", PROM_COUNTER, "Runs of our BPF programs.",
}, windows = {
	"sysscope_windows_total", PROM_COUNTER,
	"Windows collected, and windows whose collection failed.",
}, windows_kept = {
	"sysscope_windows_kept", PROM_GAUGE, "Windows held in memory.",
}, windows_bytes = {
	"sysscope_windows_bytes", PROM_GAUGE,
	"Estimated bytes the kept windows hold.",
}, windows_evicted = {
	"sysscope_windows_evicted_total", PROM_COUNTER,
	"Windows dropped, by why.",
}, gap_seconds = {
	"sysscope_window_gap_seconds_total", PROM_COUNTER,
	"Time between windows (collecting), not profiled.",
}, covered_seconds = {
	"sysscope_window_covered_seconds_total", PROM_COUNTER,
	"Time inside windows.",
}, collect_seconds = {
	"sysscope_last_collect_seconds", PROM_GAUGE,
	"How long reading the last window took.",
}, resident_bytes = {
	"sysscope_agent_resident_bytes", PROM_GAUGE,
	"The agent's resident memory.",
}, memory_limit_bytes = {
	"sysscope_agent_memory_limit_bytes", PROM_GAUGE,
	"The agent's --memory-limit.",
}, cpu_budget_ratio = {
	"sysscope_cpu_budget_ratio", PROM_GAUGE,
	"The --cpu-budget, as a share of one core (0: off).",
}, cpu_spent_ratio = {
	"sysscope_cpu_spent_ratio", PROM_GAUGE,
	"Share of one core our BPF programs and this process took in the last budget tick (2 s).",
}, cpu_bpf_timed = {
	"sysscope_cpu_budget_bpf_timed", PROM_GAUGE,
	"1: the kernel times our BPF programs (BPF_ENABLE_STATS needs CAP_SYS_ADMIN, or sysctl kernel.bpf_stats_enabled=1); 0: the budget sees only off-CPU recording and the process.",
}, cpu_over_budget = {
	"sysscope_cpu_budget_ticks_over_total", PROM_COUNTER,
	"Budget ticks whose cost beyond off-CPU recording was over the budget by itself.",
}, offcpu_record_seconds = {
	"sysscope_offcpu_record_seconds_total", PROM_COUNTER,
	"Time the off-CPU tracer spent recording the switch-outs it records (part of its BPF run time).",
}, offcpu_record_rate = {
	"sysscope_offcpu_record_rate", PROM_GAUGE,
	"Off-CPU switch-outs recorded a second per thread at most (0: all); each counts for those it stands for.",
}, offcpu_probability = {
	"sysscope_offcpu_sample_probability", PROM_GAUGE,
	"Off-CPU switch-outs recorded, of those seen, in the newest window.",
}, oncpu_frequency = {
	"sysscope_oncpu_frequency_hertz", PROM_GAUGE,
	"On-CPU samples per second per CPU at the newest window's end (under -f when --cpu-budget lowered it).",
};

/* The BPF side: collectors' and walker's counters, programs' run time. */
static int add_bpf_metrics(struct prom_page *p, const struct agent *c)
{
	static const char *const progs[2] = {
		"program=\"oncpu\"", "program=\"offcpu\"",
	};
	int err = prom_page__add_stats(p, oncpu_stat__desc(), c->on_stats,
				       ONCPU_STAT_MAX);

	err = err ?: prom_page__add_stats(p, offcpu_stat__desc(), c->off_stats,
					  OFFCPU_STAT_MAX);
	err = err ?: prom_page__add_stats(p, unwind_stat__desc(),
					  c->unwind_walks, UNWIND_STAT_MAX);
	for (int i = 0; i < 2 && !err; i++) {
		err = prom_page__add(p, &bpf_run_seconds, progs[i],
				     c->prog[i].run_ns / 1e9);
		err = err ?: prom_page__add(p, &bpf_runs, progs[i],
					    (double)c->prog[i].runs);
	}
	return err;
}

static int agent_metrics(void *ctx, struct prom_page *p)
{
	struct agent *a = ctx;
	struct window_store_stats ws;
	struct agent copy;
	const struct stat_field *f;
	size_t n;
	int err;

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
	copy.res = a->res;
	copy.cache = a->cache;
	copy.budget = a->budget;
	copy.record_rate = a->record_rate;
	copy.oncpu_hz = a->oncpu_hz;
	copy.window_probability = a->window_probability;
	memcpy(copy.unwind_walks, a->unwind_walks, sizeof(copy.unwind_walks));
	pthread_mutex_unlock(&a->lock);
	window_store__stats(a->store, &ws);

	err = add_bpf_metrics(p, &copy);
	err = err ?: prom_page__add(p, &windows, "result=\"ok\"",
				    (double)copy.windows);
	err = err ?: prom_page__add(p, &windows, "result=\"error\"",
				    (double)copy.window_errors);
	err = err ?: prom_page__add(p, &windows_kept, NULL, (double)ws.windows);
	err = err ?: prom_page__add(p, &windows_bytes, NULL, (double)ws.bytes);
	err = err ?: prom_page__add(p, &windows_evicted, "reason=\"age\"",
				    (double)ws.evicted_age);
	err = err ?: prom_page__add(p, &windows_evicted, "reason=\"memory\"",
				    (double)ws.evicted_memory);
	err = err ?: prom_page__add(p, &gap_seconds, NULL, copy.gap_ns / 1e9);
	err = err ?: prom_page__add(p, &covered_seconds, NULL,
				    copy.covered_ns / 1e9);
	err = err ?: prom_page__add(p, &collect_seconds, NULL,
				    copy.last_collect_s);
	f = symbolizer_stats__fields(&n);
	err = err ?: prom_page__add_fields(p, f, n, &copy.sym);
	f = unwinder_stats__fields(&n);
	err = err ?: prom_page__add_fields(p, f, n, &copy.unwind);
	f = resolver_stats__fields(&n);
	err = err ?: prom_page__add_fields(p, f, n, &copy.res);
	f = mem_budget_stats__fields(&n);
	err = err ?: prom_page__add_fields(p, f, n, &copy.cache);
	err = err ?: prom_page__add(p, &resident_bytes, NULL,
				    (double)self_rss_bytes());
	err = err ?: prom_page__add(p, &memory_limit_bytes, NULL,
				    (double)a->s.opts->memory_limit);
	err = err ?: prom_page__add(p, &cpu_budget_ratio, NULL,
				    copy.budget.budget);
	err = err ?: prom_page__add(p, &cpu_spent_ratio, NULL, copy.budget.spent);
	err = err ?: prom_page__add(p, &cpu_bpf_timed, NULL, a->s.bpf_timed);
	err = err ?: prom_page__add(p, &cpu_over_budget, NULL,
				    (double)copy.budget.ticks_over);
	err = err ?: prom_page__add(p, &offcpu_record_seconds, NULL,
				    copy.off_stats[OFFCPU_STAT_RECORD_NS] / 1e9);
	err = err ?: prom_page__add(p, &offcpu_record_rate, NULL,
				    (double)copy.record_rate);
	err = err ?: prom_page__add(p, &offcpu_probability, NULL,
				    copy.window_probability);
	err = err ?: prom_page__add(p, &oncpu_frequency, NULL,
				    (double)copy.oncpu_hz);
	if (a->push)
		err = err ?: ch_push__metrics(a->push, p);
	return err;
}

/* The window's sampling: switch-outs recorded of those seen since the last. */
static struct window_sampling window_sampling_of(struct agent *a,
						 const uint64_t *off_stats)
{
	uint64_t seen = off_stats[OFFCPU_STAT_SWITCHES] - a->window_switches[0];
	uint64_t kept = off_stats[OFFCPU_STAT_RECORDED] - a->window_switches[1];

	a->window_switches[0] = off_stats[OFFCPU_STAT_SWITCHES];
	a->window_switches[1] = off_stats[OFFCPU_STAT_RECORDED];
	return (struct window_sampling){
		.oncpu_hz = oncpu__frequency(a->s.oncpu),
		.offcpu_probability = seen ? (double)kept / seen : 1,
	};
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
	uint64_t end = now_ns(CLOCK_MONOTONIC), t0, rss0, rss1, target, room;
	double window_s = s->opts->window_s;
	struct window_sampling sampling;
	bool stacks;
	int err;

	/* Read before the maps are emptied: this window's share recorded. */
	session__read_stats(s);
	sampling = window_sampling_of(a, s->off_stats);
	err = oncpu__pause(s->oncpu);
	if (err)
		log_warn("on-CPU: waiting for samples in flight: %s", strerror(-err));
	offcpu__end_window(s->offcpu, end);
	proc_notices__drain(s->notices);
	t0 = now_ns(CLOCK_MONOTONIC);
	rss0 = self_rss_bytes();
	err = session__build_profile(s);
	rss1 = self_rss_bytes();
	/* What collecting takes, for the room kept for the next one. */
	a->collect_growth = a->collect_growth / 10 * 9;
	if (rss1 > rss0 && rss1 - rss0 > a->collect_growth)
		a->collect_growth = rss1 - rss0;
	/* What exited cannot sample again: its maps go; pids get reused. */
	symbolizer__forget_exited(s->sym);
	/* And removed cgroups: their windows keep the names already given. */
	if (s->res)
		resolver__forget_gone(s->res);
	session__charge_caches(s);
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
		if (a->push)
			ch_push__window(a->push, s->profile, start_real,
					end - start);
		err = window_store__add(a->store, s->profile, start_real,
					end - start, now_ns(CLOCK_REALTIME),
					&sampling);
	}
	s->profile = NULL;
	/* Reading files (symbols, CFI tables) leaves freed heap behind. */
	malloc_trim(0);
	/*
	 * The cap is on resident memory, which the windows' estimate does not
	 * see whole: past RSS_TARGET of it, or past what leaves room for the
	 * next window's collection (as much as the last ones took, and a
	 * quarter more) and for HTTP requests, old windows go first.
	 */
	target = s->opts->memory_limit / 100 * RSS_TARGET;
	room = a->collect_growth + a->collect_growth / 4 +
	       s->opts->memory_limit / 20;
	if (s->opts->memory_limit > room && s->opts->memory_limit - room < target)
		target = s->opts->memory_limit - room;
	while (self_rss_bytes() > target &&
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
	a->last_close_ns = now_ns(CLOCK_MONOTONIC);
	a->last_collect_s = (a->last_close_ns - t0) / 1e9;
	a->sym = *symbolizer__stats(s->sym);
	a->unwind = *unwinder__stats(s->unwinder);
	a->res = *resolver__stats(s->res);
	a->cache = symbolizer__budget(s->sym)->stats;
	a->budget = s->budget;
	a->record_rate = offcpu__record_rate(s->offcpu);
	a->oncpu_hz = sampling.oncpu_hz;
	a->window_probability = sampling.offcpu_probability;
	unwinder__read_walk_stats(s->unwinder, a->unwind_walks);
	pthread_mutex_unlock(&a->lock);
	*end_out = end;
	return err;
}

/*
 * Unhealthy when no window closed in twice a window's length (from the
 * start, then from the last one): the collector is stuck, e.g. on a read.
 */
static int agent_health(void *ctx, char *buf, size_t len)
{
	struct agent *a = ctx;
	uint64_t window = (uint64_t)(a->s.opts->window_s * 1e9), since;

	pthread_mutex_lock(&a->lock);
	since = now_ns(CLOCK_MONOTONIC) - a->last_close_ns;
	pthread_mutex_unlock(&a->lock);
	if (since <= 2 * window)
		return 0;
	snprintf(buf, len, "no window closed in %.1f s (window %.1f s)",
		 since / 1e9, window / 1e9);
	return -ETIMEDOUT;
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
	if (s->sym) {
		symbolizer__set_read_remote(s->sym, o->read_remote_fs);
		/*
		 * Of --memory-limit: half for windows (window_store), 3/8 for
		 * what is derived from files (caches), the rest for collecting
		 * a window and serving HTTP. Of the caches' 3/8, JIT perf maps
		 * and DWARF an eighth of the limit each at most.
		 */
		session__set_cache_budget(s, o->cache_budget_set ?
					  o->cache_budget :
					  o->memory_limit / 8 * 3);
		a.cache = symbolizer__budget(s->sym)->stats;
		symbolizer__set_jit_budget(s->sym, o->memory_limit / 8);
		symbolizer__set_dwarf_budget(s->sym, o->dwarf_budget_set ?
					     o->dwarf_budget : o->memory_limit / 8);
	}
	if (!s->sym) {
		err = -errno;
		goto out;
	}
	err = session__start_fetcher(s);
	if (err)
		goto out;
	if (o->clickhouse_url) {
		uid_t uid;
		gid_t gid;

		session__helper_ids(o, &uid, &gid);
		a.push = ch_push__start(o, uid, gid);
		if (!a.push) {
			err = -errno;
			goto out;
		}
	}
	listen_fd = agent_http__listen(o->listen);
	if (listen_fd < 0) {
		err = listen_fd;
		log_error("--listen %s: %s", o->listen, strerror(-err));
		goto out;
	}
	err = session__start_collectors(s);
	if (!err && symbolizer__load_kernel(s->sym))
		log_warn("kernel symbols unreadable (kptr_restrict?): kernel frames will be addresses");
	err = err ?: session__start_budget(s);
	err = err ?: session__enter_sandbox(s);
	if (err)
		goto out;
	a.last_close_ns = now_ns(CLOCK_MONOTONIC);
	a.oncpu_hz = oncpu__frequency(s->oncpu);
	a.store = window_store__new((uint64_t)(o->retention_s * 1e9),
				    o->memory_limit / 2);
	if (!a.store) {
		err = -ENOMEM;
		goto out;
	}
	a.http = agent_http__start(listen_fd, &(struct agent_http_config){
		.store = a.store, .period_ns = oncpu__period_ns(s->oncpu),
		.metrics = agent_metrics, .metrics_ctx = &a,
		.health = agent_health,
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
	/* Serving while the last windows go out: /healthz, /metrics. */
	ch_push__finish(a.push);
	agent_http__stop(a.http);
	if (listen_fd >= 0)
		close(listen_fd);
	window_store__free(a.store);
	session__release(s);
	return err;
}
