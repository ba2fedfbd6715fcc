// SPDX-License-Identifier: MIT
/*
 * sysscope profile | offcputime | wallclock: one run, from loading the
 * collectors to the output folder.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "cgroup.h"
#include "commands.h"
#include "log.h"
#include "outdir.h"
#include "proc_notices.h"
#include "python_frames.h"
#include "resolver.h"
#include "sandbox.h"
#include "selection.h"
#include "session.h"
#include "symbolize.h"
#include "unwind_check.h"
#include "unwinder.h"
#include "writer.h"

struct run {
	struct session s;
	struct writer *writer;		/* the only way to the output folder */
	char dir[PATH_MAX];
	uint64_t start_real_ns, duration_ns;
};

/* ---- checks before loading ---- */

static int check_ids(const char *proc_root, const uint32_t *ids, size_t n,
		     const char *what)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		/* /proc/TID exists for threads too, though readdir hides it. */
		snprintf(path, sizeof(path), "%s/%u", proc_root, ids[i]);
		if (access(path, F_OK)) {
			log_error("no %s %u (%s)", what, ids[i],
				  errno == ENOENT ? "no such process" : strerror(errno));
			return -ESRCH;
		}
	}
	return 0;
}

static int open_cgroup(const char *path, int *fd)
{
	char mount[PATH_MAX], dir[PATH_MAX];
	int err;

	err = cgroup__find_v2_mount("/proc/self/mountinfo", mount, sizeof(mount));
	if (err) {
		log_error("--cgroup: no cgroup v2 hierarchy is mounted");
		return err;
	}
	err = cgroup__v2_dir(mount, path, dir, sizeof(dir));
	if (err) {
		log_error("--cgroup '%s': invalid path", path);
		return err;
	}
	*fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0) {
		err = -errno;
		log_error("--cgroup '%s': cannot open %s: %s", path, dir,
			  strerror(errno));
		return err;
	}
	return 0;
}

static int make_output_dir(const struct opts *o, char *dir, size_t len)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	if (o->output_dir) {
		snprintf(dir, len, "%s", o->output_dir);
	} else {
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(dir, len, "sysscope-%s-%s", mode__name(o->mode), stamp);
	}
	if (mkdir(dir, 0755) && errno != EEXIST) {
		log_error("output folder '%s': %s", dir, strerror(errno));
		return -errno;
	}
	return 0;
}

/* ---- --container, --pod, -n, --cgroup ---- */

static int select_cgroups(struct session *s)
{
	const struct opts *o = s->opts;
	bool selecting = o->container || o->pod || o->namespace;
	int err = 0;

	if ((selecting || o->cgroup) && s->cgroup_v1) {
		log_error("--container, --pod, -n and --cgroup need cgroup v2");
		return -ENOTSUP;
	}
	if (o->cgroup) {
		s->ncgroups = 1;
		err = open_cgroup(o->cgroup, &s->cgroup_fds[0]);
	} else if (selecting) {
		err = selection__open(o, s->res, s->cgroup_fds, &s->ncgroups);
	}
	if (!err && s->ncgroups)
		err = selection__subtree_ids(s->cgroup_fds, s->ncgroups,
					     &s->cgroup_ids, &s->ncgroup_ids);
	return err;
}

/* ---- the run ---- */

static int sample_until_done(struct run *r)
{
	struct session *s = &r->s;
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t end, deadline = s->opts->duration_s > 0 ?
		start + (uint64_t)(s->opts->duration_s * 1e9) : UINT64_MAX;
	int err;

	/* One window for every collector: from here to the stop. */
	if (s->offcpu && offcpu__begin(s->offcpu, start))
		log_warn("off-CPU: threads asleep since before the run may be missed");
	if (s->oncpu)
		oncpu__begin(s->oncpu, start);
	err = session__poll_until(s, deadline);
	end = now_ns(CLOCK_MONOTONIC);
	if (s->oncpu)
		oncpu__stop(s->oncpu);
	if (s->offcpu)
		offcpu__stop(s->offcpu, end);
	r->duration_ns = end - start;
	/* Notices already queued still name processes worth reading. */
	proc_notices__drain(s->notices);
	return err;
}

static void report(const struct run *r)
{
	const uint64_t *on = r->s.on_stats, *off = r->s.off_stats;
	uint64_t lost = on[ONCPU_STAT_LOST_MAP_FULL] +
			off[OFFCPU_STAT_LOST_MAP_FULL] +
			off[OFFCPU_STAT_LOST_NO_STORAGE], full;

	log_info("%.1f s: %llu on-CPU samples, %llu off-CPU intervals, %llu lost; wrote %s/",
		 r->duration_ns / 1e9,
		 (unsigned long long)on[ONCPU_STAT_COUNTED],
		 (unsigned long long)off[OFFCPU_STAT_COUNTED],
		 (unsigned long long)lost, r->dir);
	if (on[ONCPU_STAT_LOST_MAP_FULL] || off[OFFCPU_STAT_LOST_MAP_FULL])
		log_warn("%llu samples or intervals dropped: raise --max-entries",
			 (unsigned long long)(on[ONCPU_STAT_LOST_MAP_FULL] +
					      off[OFFCPU_STAT_LOST_MAP_FULL]));
	full = on[ONCPU_STAT_KSTACK_COLLISION] + on[ONCPU_STAT_KSTACK_MAP_FULL] +
	       on[ONCPU_STAT_USTACK_COLLISION] + on[ONCPU_STAT_USTACK_MAP_FULL] +
	       off[OFFCPU_STAT_KSTACK_MAP_FULL] +
	       off[OFFCPU_STAT_USTACK_COLLISION] + off[OFFCPU_STAT_USTACK_MAP_FULL];
	if (full)
		log_warn("%llu stacks did not fit the stack maps: raise --max-stacks",
			 (unsigned long long)full);
	if (on[ONCPU_STAT_USTACK_NO_MEMORY] + off[OFFCPU_STAT_USTACK_NO_MEMORY])
		log_warn("%llu user stacks lost: the kernel allocated no room for them",
			 (unsigned long long)(on[ONCPU_STAT_USTACK_NO_MEMORY] +
					      off[OFFCPU_STAT_USTACK_NO_MEMORY]));
}

/* The fields a stats struct has, in c; how many. */
static size_t fields_counters(const struct stat_field *(*fields)(size_t *n),
			      const void *stats, struct meta_counter *c)
{
	size_t n;
	const struct stat_field *f = fields(&n);

	for (size_t i = 0; i < n; i++)
		c[i] = (struct meta_counter){ f[i].desc.text,
					      stat_field__get(&f[i], stats) };
	return n;
}

/* How user stacks were walked, and the tables it took. */
static size_t unwind_counters(const struct session *s, struct meta_counter *c)
{
	const struct unwinder_stats *us = unwinder__stats(s->unwinder);
	const struct stat_desc *wd = unwind_stat__desc();
	uint64_t walk[UNWIND_STAT_MAX] = { 0 };
	size_t n = 0;

	unwinder__read_walk_stats(s->unwinder, walk);
	for (int i = 0; i < UNWIND_STAT_MAX; i++)
		c[n++] = (struct meta_counter){ wd[i].text, walk[i] };
	n += fields_counters(unwinder_stats__fields, us, &c[n]);
	if (s->check) {
		const struct unwind_check_stats *cs = unwind_check__stats(s->check);

		c[n++] = (struct meta_counter){ "unwind check: samples", cs->samples };
		c[n++] = (struct meta_counter){ "unwind check: samples agreeing", cs->samples_agree };
		c[n++] = (struct meta_counter){ "unwind check: frames compared", cs->frames };
		c[n++] = (struct meta_counter){ "unwind check: frames agreeing", cs->frames_agree };
		c[n++] = (struct meta_counter){ "unwind check: BPF walk shorter", cs->bpf_shorter };
		c[n++] = (struct meta_counter){ "unwind check: libdw found nothing", cs->samples_failed };
		c[n++] = (struct meta_counter){ "unwind check: over the cap", cs->samples_skipped };
		c[n++] = (struct meta_counter){ "unwind check: libdw found only the pc", cs->libdw_one_frame };
		c[n++] = (struct meta_counter){ "unwind check: stack not copied", cs->stack_not_copied };
	}
	if (s->python) {
		const struct python_stats *ps = python__stats(s->python);

		c[n++] = (struct meta_counter){ "python: interpreters found (3.8+)", ps->interpreters };
		c[n++] = (struct meta_counter){ "python: interpreters not walked (older than 3.8, or unknown)", ps->interpreters_unsupported };
		c[n++] = (struct meta_counter){ "python: process maps with an interpreter", ps->processes };
		c[n++] = (struct meta_counter){ "python: code objects named", ps->code_read };
		c[n++] = (struct meta_counter){ "python: code objects unreadable", ps->code_unreadable };
		c[n++] = (struct meta_counter){ "python: frames without an eval loop to replace", ps->frames_unplaced };
	}
	return n;
}

/*
 * Counters and symbolizer figures for summary.txt and pprof comments: the
 * collectors' and the walker's, the fields of the stats structs (a few
 * dozen each), the unwind check's and the process notices'.
 */
#define MAX_COUNTERS (ONCPU_STAT_MAX + OFFCPU_STAT_MAX + UNWIND_STAT_MAX + 140)

static void fill_meta(const struct run *r, struct profile_meta *m,
		      struct meta_counter *c)
{
	const struct session *s = &r->s;
	const struct symbolizer_stats *ss = symbolizer__stats(s->sym);
	size_t n = 0;

	for (int i = 0; s->oncpu && i < ONCPU_STAT_MAX; i++)
		c[n++] = (struct meta_counter){ oncpu_stat__desc()[i].text, s->on_stats[i] };
	for (int i = 0; s->offcpu && i < OFFCPU_STAT_MAX; i++)
		c[n++] = (struct meta_counter){ offcpu_stat__desc()[i].text, s->off_stats[i] };
	n += unwind_counters(s, &c[n]);
	c[n++] = (struct meta_counter){ "processes noticed", proc_notices__count(s->notices) };
	c[n++] = (struct meta_counter){ "maps read again (code mapped since)", proc_notices__remaps(s->notices) };
	c[n++] = (struct meta_counter){ "processes exited", proc_notices__exits(s->notices) };
	n += fields_counters(symbolizer_stats__fields, ss, &c[n]);
	n += fields_counters(resolver_stats__fields, resolver__stats(s->res),
			     &c[n]);
	n += fields_counters(mem_budget_stats__fields,
			     &symbolizer__budget(s->sym)->stats, &c[n]);
	*m = (struct profile_meta){
		.mode = mode__name(s->opts->mode),
		.start_ns = r->start_real_ns,
		.duration_ns = r->duration_ns,
		.period_ns = s->oncpu ? oncpu__period_ns(s->oncpu) : 0,
		.lost = s->on_stats[ONCPU_STAT_LOST_MAP_FULL] +
			s->off_stats[OFFCPU_STAT_LOST_MAP_FULL] +
			s->off_stats[OFFCPU_STAT_LOST_NO_STORAGE],
		.counters = c, .ncounters = n,
	};
}

static int write_outputs(struct run *r)
{
	struct session *s = &r->s;
	const struct opts *o = s->opts;
	struct meta_counter c[MAX_COUNTERS];
	struct profile_meta m;

	session__charge_caches(&r->s);
	fill_meta(r, &m, c);
	return outdir__write(&(struct outdir){
		.writer = r->writer, .dir = r->dir,
		.profile = s->profile, .meta = &m, .title = mode__name(o->mode),
		.weight = s->layout->weight, .unit = s->layout->unit,
		.cpu_value = s->layout->cpu_value,
		.offcpu_value = s->layout->offcpu_value,
		.duration_ns = r->duration_ns,
		.per_thread = o->npids || o->ntids,
		.node_graph = s->whole_node,
	});
}

static int collect_and_write(struct run *r)
{
	int err;

	session__read_stats(&r->s);
	err = session__build_profile(&r->s);
	err = err ?: write_outputs(r);
	if (!err)
		report(r);
	return err;
}

static int check_options(const struct opts *o)
{
	if (o->cpu >= 0 && o->mode == MODE_OFFCPUTIME) {
		log_error("--cpu applies to on-CPU sampling (modes profile, wallclock)");
		return -EINVAL;
	}
	return 0;
}

int cmd_run(const struct opts *o)
{
	struct run r = { 0 };
	struct session *s = &r.s;
	int err;

	session__init(s, o, &mode_layouts[o->mode]);
	err = check_options(o);
	err = err ?: session__check_privileges();
	err = err ?: check_ids(o->proc_root, o->pids, o->npids, "process");
	err = err ?: check_ids(o->proc_root, o->tids, o->ntids, "thread");
	if (err)
		goto cleanup;
	s->res = session__open_resolver(o, &s->cgroup_v1);
	err = select_cgroups(s);
	s->whole_node = !o->npids && !o->ntids && !s->ncgroups;
	err = err ?: make_output_dir(o, r.dir, sizeof(r.dir));
	if (!err && o->user && (err = sandbox__give_dir(r.dir, o->uid, o->gid)))
		log_error("--user %s: output folder '%s': %s", o->user, r.dir,
			  strerror(-err));
	/* Before loading anything: the writer holds nothing but the folder. */
	if (!err && !(r.writer = writer__start(r.dir, o->user ? o->uid : getuid(),
					       o->user ? o->gid : getgid()))) {
		err = -errno;
		log_error("output writer for %s: %s", r.dir, strerror(errno));
	}
	err = err ?: session__install_signals();
	if (err)
		goto cleanup;
	s->sym = symbolizer__new(o->proc_root);
	if (s->sym) {
		symbolizer__set_read_remote(s->sym, o->read_remote_fs);
		session__set_cache_budget(s, o->cache_budget_set ?
					  o->cache_budget :
					  SYMBOLIZER_DEFAULT_BUDGET);
		symbolizer__set_dwarf_budget(s->sym, o->dwarf_budget_set ?
					     o->dwarf_budget : 256ULL << 20);
	}
	if (!s->sym) {
		err = -errno;
		goto cleanup;
	}
	err = session__start_fetcher(s);
	err = err ?: session__start_collectors(s);
	err = err ?: session__start_budget(s);
	/* After loading (our programs are in kallsyms), before the sandbox. */
	if (!err && o->kernel_stacks && symbolizer__load_kernel(s->sym))
		log_warn("kernel symbols unreadable (kptr_restrict?): kernel frames will be addresses");
	err = err ?: session__enter_sandbox(s);
	if (err)
		goto cleanup;
	/*
	 * The processes asked for, read before sampling begins (their files
	 * are parsed in the sandbox, and their unwind tables are in place for
	 * the first sample).
	 */
	for (size_t i = 0; i < o->npids; i++)
		symbolizer__add_process(s->sym, o->pids[i]);
	r.start_real_ns = now_ns(CLOCK_REALTIME);
	log_info("sampling at %u Hz (%s)%s; Ctrl-C to stop", o->frequency,
		 mode__name(o->mode),
		 o->duration_s > 0 ? "" : " until interrupted");
	err = sample_until_done(&r);
	err = collect_and_write(&r) ?: err;
cleanup:
	if (r.writer && writer__finish(r.writer) && !err) {
		log_error("the output writer failed: outputs may be missing");
		err = -EIO;
	}
	session__release(s);
	return err;
}
