// SPDX-License-Identifier: MIT
/* sysscope: load the collectors, sample until done, write the profile. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "log.h"
#include "oncpu_collector.h"
#include "opts.h"
#include "output.h"
#include "privs.h"
#include "profile.h"
#include "symbolize.h"

#define POLL_MS 100

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level == LIBBPF_DEBUG && log_verbosity < 2)
		return 0;
	if (level == LIBBPF_INFO && log_verbosity < 1)
		return 0;
	/* Warnings are noise unless asked for: failures are logged by us. */
	if (level == LIBBPF_WARN && log_verbosity < 1)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must wake the ring buffer poll. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	return 0;
}

/* ---- checks before loading ---- */

static int check_privileges(void)
{
	char missing[128];
	int err = privs__check_load(missing, sizeof(missing));

	if (err == -EPERM) {
		log_error("missing capability %s (or CAP_SYS_ADMIN): run as root",
			  missing);
		return err;
	}
	if (err) {
		log_error("cannot read capabilities: %s", strerror(-err));
		return err;
	}
	if (privs__check_read(missing, sizeof(missing)) == -EPERM)
		log_warn("missing %s: other users' processes will not be symbolized",
			 missing);
	return 0;
}

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

/* ---- the run ---- */

struct run {
	const struct opts *opts;
	struct symbolizer *sym;
	struct oncpu *oncpu;
	struct profile *profile;
	char dir[PATH_MAX];
	uint64_t start_real_ns, duration_ns;
	uint64_t stats[ONCPU_STAT_MAX];
};

static void on_new_proc(uint32_t tgid, void *ctx)
{
	struct run *r = ctx;

	/* Read its maps now, while it lives: it may be gone at the end. */
	symbolizer__add_process(r->sym, tgid);
}

static int sample_until_done(struct run *r)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t deadline = r->opts->duration_s > 0 ?
		start + (uint64_t)(r->opts->duration_s * 1e9) : UINT64_MAX;
	int n = 0;

	while (!stop_requested && now_ns(CLOCK_MONOTONIC) < deadline) {
		uint64_t left = (deadline - now_ns(CLOCK_MONOTONIC)) / 1000000;
		int timeout = left < POLL_MS ? (int)left + 1 : POLL_MS;

		n = oncpu__poll(r->oncpu, timeout, on_new_proc, r);
		if (n < 0) {
			log_error("ring buffer poll: %s", strerror(-n));
			break;
		}
	}
	oncpu__stop(r->oncpu);
	r->duration_ns = now_ns(CLOCK_MONOTONIC) - start;
	/* Notices already queued still name processes worth reading. */
	oncpu__poll(r->oncpu, 0, on_new_proc, r);
	return n < 0 ? n : 0;
}

static struct oncpu *start_sampler(const struct opts *o, int cgroup_fd)
{
	struct oncpu_config cfg = {
		.frequency = o->frequency,
		.pids = o->pids, .npids = o->npids,
		.tids = o->tids, .ntids = o->ntids,
		.cgroup_fd = cgroup_fd,
		.cpu = o->cpu,
		.user_stacks = o->user_stacks,
		.kernel_stacks = o->kernel_stacks,
		.max_entries = o->max_entries,
		.max_stacks = o->max_stacks,
	};

	return oncpu__start(&cfg);
}

/* ---- outputs ---- */

typedef int (*write_fn)(struct run *r, const struct profile_tree *t, FILE *f);

static int write_file(struct run *r, const struct profile_tree *t,
		      const char *name, write_fn fn)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 80];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%s", r->dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f) {
		err = -errno;
		goto out;
	}
	err = fn(r, t, f);
	if (fclose(f) && !err)
		err = -errno;
	if (!err && rename(tmp, path))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	if (err)
		log_error("writing %s: %s", path, strerror(-err));
	return err;
}

static int write_folded(struct run *r, const struct profile_tree *t, FILE *f)
{
	(void)r;
	return folded__write(t, 1u << 0, f);
}

static int write_svg(struct run *r, const struct profile_tree *t, FILE *f)
{
	char title[256];
	struct svg_opts o = {
		.title = title, .unit = "samples", .mask = 1u << 0,
		.offcpu_value = -1,
	};

	snprintf(title, sizeof(title), "sysscope %s: on-CPU, %u Hz, %.1f s",
		 mode__name(r->opts->mode), r->opts->frequency,
		 r->duration_ns / 1e9);
	return svg__write(t, &o, f);
}

static const char *const stat_names[ONCPU_STAT_MAX] = {
	[ONCPU_STAT_SAMPLES] = "perf events",
	[ONCPU_STAT_IDLE] = "idle (not counted)",
	[ONCPU_STAT_FILTERED] = "filtered out",
	[ONCPU_STAT_COUNTED] = "counted",
	[ONCPU_STAT_LOST_MAP_FULL] = "lost: counts map full",
	[ONCPU_STAT_KSTACK_FAILED] = "kernel stack walk failed",
	[ONCPU_STAT_USTACK_FAILED] = "user stack walk failed",
	[ONCPU_STAT_STACK_COLLISION] = "  of which stack map full",
	[ONCPU_STAT_NEW_PROC_LOST] = "process notices lost",
};

static void fill_meta(struct run *r, struct profile_meta *m,
		      struct meta_counter *c, size_t nc)
{
	const struct symbolizer_stats *ss = symbolizer__stats(r->sym);
	size_t n = 0;

	for (int i = 0; i < ONCPU_STAT_MAX && n < nc; i++)
		c[n++] = (struct meta_counter){ stat_names[i], r->stats[i] };
	c[n++] = (struct meta_counter){ "processes read", ss->processes };
	c[n++] = (struct meta_counter){ "processes gone before read", ss->processes_gone };
	c[n++] = (struct meta_counter){ "files with symbols", ss->files };
	c[n++] = (struct meta_counter){ "files unreadable or not ELF", ss->files_failed };
	c[n++] = (struct meta_counter){ "addresses unresolved", ss->user_unresolved + ss->kernel_unresolved };
	*m = (struct profile_meta){
		.mode = mode__name(r->opts->mode),
		.start_ns = r->start_real_ns,
		.duration_ns = r->duration_ns,
		.period_ns = oncpu__period_ns(r->oncpu),
		.lost = r->stats[ONCPU_STAT_LOST_MAP_FULL],
		.counters = c, .ncounters = n,
	};
}

static int write_summary_file(struct run *r, const struct profile_tree *t,
			      FILE *f)
{
	struct meta_counter c[ONCPU_STAT_MAX + 8];
	struct summary_opts so = { .mask = 1u << 0, .unit = "samples" };
	struct profile_meta m;

	(void)t;
	fill_meta(r, &m, c, sizeof(c) / sizeof(c[0]));
	return summary__write(r->profile, &m, &so, f);
}

static int write_outputs(struct run *r)
{
	struct meta_counter c[ONCPU_STAT_MAX + 8];
	struct profile_tree *t = profile_tree__new(r->profile);
	char path[PATH_MAX + 32];
	struct profile_meta m;
	int err = 0, e;

	if (!t) {
		log_error("building the profile tree: %s", strerror(errno));
		return -errno;
	}
	err = write_file(r, t, "stacks.folded", write_folded);
	e = write_file(r, t, "flamegraph.svg", write_svg);
	err = err ?: e;
	e = write_file(r, t, "summary.txt", write_summary_file);
	err = err ?: e;
	fill_meta(r, &m, c, sizeof(c) / sizeof(c[0]));
	snprintf(path, sizeof(path), "%s/profile.pb.gz", r->dir);
	e = pprof__write(r->profile, &m, path);
	if (e)
		log_error("writing %s: %s", path, strerror(-e));
	err = err ?: e;
	profile_tree__free(t);
	return err;
}

static void report(const struct run *r)
{
	const uint64_t *s = r->stats;

	log_info("%.1f s, %llu samples counted, %llu lost (map full), "
		 "%llu stack walks failed; wrote %s/",
		 r->duration_ns / 1e9,
		 (unsigned long long)s[ONCPU_STAT_COUNTED],
		 (unsigned long long)s[ONCPU_STAT_LOST_MAP_FULL],
		 (unsigned long long)(s[ONCPU_STAT_KSTACK_FAILED] +
				      s[ONCPU_STAT_USTACK_FAILED]),
		 r->dir);
	if (s[ONCPU_STAT_LOST_MAP_FULL])
		log_warn("%llu samples dropped: raise --max-entries",
			 (unsigned long long)s[ONCPU_STAT_LOST_MAP_FULL]);
	if (s[ONCPU_STAT_STACK_COLLISION])
		log_warn("%llu stacks did not fit the stack map: raise --max-stacks",
			 (unsigned long long)s[ONCPU_STAT_STACK_COLLISION]);
}

static int collect_and_write(struct run *r)
{
	static const struct profile_value_type types[] = {
		{ "samples", "count" }, { "cpu", "nanoseconds" },
	};
	int err;

	err = oncpu__read_stats(r->oncpu, r->stats);
	if (err)
		log_warn("reading counters: %s", strerror(-err));
	r->profile = profile__new(types, 2);
	if (!r->profile)
		return -errno;
	err = oncpu__collect(r->oncpu, r->sym, r->profile);
	if (err) {
		log_error("reading samples: %s", strerror(-err));
		return err;
	}
	err = write_outputs(r);
	if (!err)
		report(r);
	return err;
}

static int run(const struct opts *o)
{
	struct run r = { .opts = o };
	int cgroup_fd = -1, err;

	err = check_privileges();
	err = err ?: check_ids(o->proc_root, o->pids, o->npids, "process");
	err = err ?: check_ids(o->proc_root, o->tids, o->ntids, "thread");
	if (!err && o->cgroup)
		err = open_cgroup(o->cgroup, &cgroup_fd);
	err = err ?: make_output_dir(o, r.dir, sizeof(r.dir));
	err = err ?: install_signals();
	if (err)
		goto cleanup;
	r.sym = symbolizer__new(o->proc_root);
	if (!r.sym) {
		err = -errno;
		goto cleanup;
	}
	for (size_t i = 0; i < o->npids; i++)
		symbolizer__add_process(r.sym, o->pids[i]);
	r.oncpu = start_sampler(o, cgroup_fd);
	if (!r.oncpu) {
		err = -errno;
		goto cleanup;
	}
	r.start_real_ns = now_ns(CLOCK_REALTIME);
	log_info("sampling at %u Hz%s; Ctrl-C to stop", o->frequency,
		 o->duration_s > 0 ? "" : " until interrupted");
	err = sample_until_done(&r);
	err = collect_and_write(&r) ?: err;
cleanup:
	if (cgroup_fd >= 0)
		close(cgroup_fd);
	oncpu__free(r.oncpu);
	profile__free(r.profile);
	symbolizer__free(r.sym);
	return err;
}

int main(int argc, char **argv)
{
	struct opts o;
	char err[256];

	switch (opts__parse(argc, argv, &o, err, sizeof(err), stdout)) {
	case OPTS_EXIT_OK:
		return 0;
	case OPTS_ERROR:
		log_error("%s", err);
		return 2;
	case OPTS_RUN:
		break;
	}
	log_verbosity = o.verbose;
	libbpf_set_print(libbpf_print);
	return run(&o) ? 1 : 0;
}
