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
#include <linux/types.h>
#include <malloc.h>
#include <pthread.h>
#include <bpf/bpf.h>
#include "agent_http.h"
#include "announce.h"
#include "cgroup.h"
#include "log.h"
#include "offcpu_collector.h"
#include "oncpu_collector.h"
#include "opts.h"
#include "output.h"
#include "privs.h"
#include "profile.h"
#include "record.h"
#include "resolver.h"
#include "sandbox.h"
#include "select.h"
#include "symbolize.h"
#include "window_store.h"
#include "writer.h"

#define POLL_MS 100
#define MAX_THREAD_GRAPHS 32

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
	/* A dead writer or HTTP client is an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
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

/* ---- cgroups and containers ---- */

/* The hierarchy cgroup ids come from: v2 when mounted, else v1's cpu. */
static int cgroup_root(const struct opts *o, char *buf, size_t len, bool *v1)
{
	const char *mi = "/proc/self/mountinfo";
	int err = -ENOENT;

	/* In a pod, the host's hierarchy is the one under --host-root. */
	const char *host = o->host_root && *o->host_root &&
			   strcmp(o->host_root, "/") ? o->host_root : NULL;

	*v1 = o->cgroup_version == 1;
	if (!*v1 && host)
		err = cgroup__find_v2_mount_under(mi, host, buf, len);
	if (!*v1 && err)
		err = cgroup__find_v2_mount(mi, buf, len);
	if (err && o->cgroup_version != 2) {
		*v1 = true;
		err = host ? cgroup__find_v1_mount_under(mi, host, "cpu", buf,
							 len) : -ENOENT;
		if (err)
			err = cgroup__find_v1_mount(mi, "cpu", buf, len);
	}
	return err;
}

static struct resolver *open_resolver(const struct opts *o, bool *v1)
{
	char root[PATH_MAX];
	struct resolver *res;

	if (cgroup_root(o, root, sizeof(root), v1)) {
		log_warn("no cgroup hierarchy found: samples are not attributed to containers");
		return NULL;
	}
	res = resolver__new(root, o->host_root);
	if (!res)
		log_warn("cgroup hierarchy %s: %s", root, strerror(errno));
	return res;
}

static void selection_error(enum select_kind k, const char *arg, int err,
			    const char *msg)
{
	static const char *const what[] = { "container", "pod", "namespace" };

	if (err == -ENOENT)
		log_error("no %s '%s' on this node%s%s", what[k], arg,
			  msg[0] ? "; close matches: " : "", msg);
	else if (err == -EEXIST && k == SELECT_POD)
		log_error("pod '%s' is in several namespaces: %s; say NAMESPACE/NAME",
			  arg, msg);
	else if (err == -EEXIST)
		log_error("%s '%s' is ambiguous: %s; give an id prefix", what[k],
			  arg, msg);
	else
		log_error("%s '%s': %s", what[k], arg,
			  err == -E2BIG ? "more than 64 cgroups" : strerror(-err));
}

/* --container, --pod, -n: the cgroups to filter on, opened. */
static int open_selection(const struct opts *o, struct resolver *res,
			  int *fds, size_t *n)
{
	enum select_kind k = o->container ? SELECT_CONTAINER :
			     o->pod ? SELECT_POD : SELECT_NAMESPACE;
	const char *arg = o->container ? o->container :
			  o->pod ? o->pod : o->namespace;
	struct selection sel;
	char msg[1024], dir[PATH_MAX];
	int err;

	if (!res) {
		log_error("no cgroup hierarchy: cannot find containers");
		return -ENOENT;
	}
	resolver__scan(res);
	err = select__workloads(res, k, arg, &sel, msg, sizeof(msg));
	if (err) {
		selection_error(k, arg, err, msg);
		return err;
	}
	for (*n = 0; *n < sel.n; (*n)++) {
		if (resolver__dir(res, sel.w[*n], dir, sizeof(dir)))
			return -ENAMETOOLONG;
		fds[*n] = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fds[*n] < 0) {
			err = -errno;
			log_error("%s: %s (did the container exit?)", dir,
				  strerror(errno));
			return err;
		}
	}
	return 0;
}

/* ---- what each mode records and how its outputs weigh it ---- */

struct mode_layout {
	struct profile_value_type types[2];
	int on_count, on_ns;		/* value indices, -1: not recorded */
	int off_ns, off_count;
	value_mask_t weight;		/* what a frame's width is */
	const char *unit;		/* "samples" or "ns" */
	int cpu_value, offcpu_value;	/* nanosecond values, -1: none */
};

static const struct mode_layout layouts[] = {
	[MODE_PROFILE] = {
		{ { "samples", "count" }, { "cpu", "nanoseconds" } },
		.on_count = 0, .on_ns = 1, .off_ns = -1, .off_count = -1,
		.weight = 1u << 0, .unit = "samples",
		.cpu_value = 1, .offcpu_value = -1,
	},
	[MODE_OFFCPUTIME] = {
		{ { "offcpu", "nanoseconds" }, { "intervals", "count" } },
		.on_count = -1, .on_ns = -1, .off_ns = 0, .off_count = 1,
		.weight = 1u << 0, .unit = "ns",
		.cpu_value = -1, .offcpu_value = 0,
	},
	[MODE_WALLCLOCK] = {
		{ { "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" } },
		.on_count = -1, .on_ns = 0, .off_ns = 1, .off_count = -1,
		.weight = (1u << 0) | (1u << 1), .unit = "ns",
		.cpu_value = 0, .offcpu_value = 1,
	},
};

/* ---- the run ---- */

struct run {
	const struct opts *opts;
	const struct mode_layout *layout;
	struct symbolizer *sym;
	struct resolver *res;
	bool cgroup_v1;
	bool whole_node;		/* no --pid, --tid or cgroup selection */
	int cgroup_fds[SELECT_MAX];
	size_t ncgroups;
	uint64_t *cgroup_ids;		/* selected cgroups and their subtrees */
	size_t ncgroup_ids;
	struct oncpu *oncpu;
	struct offcpu *offcpu;
	struct ring_buffer *notices;
	struct profile *profile;
	struct writer *writer;		/* the only way to the output folder */
	char dir[PATH_MAX];
	uint64_t start_real_ns, duration_ns;
	uint64_t on_stats[ONCPU_STAT_MAX];
	uint64_t off_stats[OFFCPU_STAT_MAX];
};

static int on_new_proc(void *ctx, void *data, size_t len)
{
	struct run *r = ctx;
	const struct new_proc *e = data;

	if (len < sizeof(*e))
		return 0;
	/* Its maps are the old program's: read them again when needed. */
	if (e->flags & NEW_PROC_EXEC) {
		symbolizer__forget_process(r->sym, e->tgid);
		return 0;
	}
	/* Read its maps and its container now: they may be gone at the end. */
	symbolizer__add_process(r->sym, e->tgid);
	if (r->res)
		resolver__get(r->res, e->cgroup_id);
	return 0;
}

static int open_notices(struct run *r)
{
	int fds[2], n = 0, err = 0;

	if (r->oncpu)
		fds[n++] = oncpu__new_proc_fd(r->oncpu);
	if (r->offcpu)
		fds[n++] = offcpu__new_proc_fd(r->offcpu);
	r->notices = ring_buffer__new(fds[0], on_new_proc, r, NULL);
	if (!r->notices)
		err = -errno;
	for (int i = 1; i < n && !err; i++)
		err = ring_buffer__add(r->notices, fds[i], on_new_proc, r);
	if (err)
		log_error("process notices: %s", strerror(-err));
	return err;
}

/* Reads process notices until deadline (CLOCK_MONOTONIC) or a signal. */
static int poll_notices_until(struct run *r, uint64_t deadline)
{
	int n = 0;

	while (!stop_requested && now_ns(CLOCK_MONOTONIC) < deadline) {
		uint64_t left = (deadline - now_ns(CLOCK_MONOTONIC)) / 1000000;
		int timeout = left < POLL_MS ? (int)left + 1 : POLL_MS;

		n = ring_buffer__poll(r->notices, timeout);
		if (n == -EINTR)
			n = 0;
		if (n < 0) {
			log_error("ring buffer poll: %s", strerror(-n));
			return n;
		}
	}
	return 0;
}

static int sample_until_done(struct run *r)
{
	uint64_t start = now_ns(CLOCK_MONOTONIC);
	uint64_t end, deadline = r->opts->duration_s > 0 ?
		start + (uint64_t)(r->opts->duration_s * 1e9) : UINT64_MAX;
	int err;

	/* One window for every collector: from here to the stop. */
	if (r->offcpu && offcpu__begin(r->offcpu, start))
		log_warn("off-CPU: threads asleep since before the run may be missed");
	if (r->oncpu)
		oncpu__begin(r->oncpu, start);
	err = poll_notices_until(r, deadline);
	end = now_ns(CLOCK_MONOTONIC);
	if (r->oncpu)
		oncpu__stop(r->oncpu);
	if (r->offcpu)
		offcpu__stop(r->offcpu, end);
	r->duration_ns = end - start;
	/* Notices already queued still name processes worth reading. */
	ring_buffer__consume(r->notices);
	return err;
}

static struct filter_config filter_of(const struct run *r)
{
	const struct opts *o = r->opts;

	return (struct filter_config){
		.pids = o->pids, .npids = o->npids,
		.tids = o->tids, .ntids = o->ntids,
		.cgroup_fds = r->cgroup_fds, .ncgroups = r->ncgroups,
		.cgroup_v1 = r->cgroup_v1,
		.user_threads_only = o->user_threads_only,
		.kernel_threads_only = o->kernel_threads_only,
	};
}

static int start_collectors(struct run *r)
{
	const struct opts *o = r->opts;
	const struct mode_layout *l = r->layout;
	struct offcpu_config off = {
		.filter = filter_of(r),
		.min_block_ns = o->min_block_us * 1000,
		.user_stacks = o->user_stacks, .kernel_stacks = o->kernel_stacks,
		.max_entries = o->max_entries, .max_stacks = o->max_stacks,
		.max_threads = 65536,
		.hook = o->sched_hook == HOOK_RAW_TP ? SCHED_HOOK_RAW_TP :
			o->sched_hook == HOOK_TP_BTF ? SCHED_HOOK_TP_BTF :
						       SCHED_HOOK_AUTO,
		.value_ns = l->off_ns, .value_count = l->off_count,
		.cgroup_ids = r->cgroup_ids, .ncgroup_ids = r->ncgroup_ids,
	};
	struct oncpu_config on = {
		.frequency = o->frequency,
		.filter = filter_of(r),
		.cpu = o->cpu,
		.user_stacks = o->user_stacks, .kernel_stacks = o->kernel_stacks,
		.max_entries = o->max_entries, .max_stacks = o->max_stacks,
		.value_count = l->on_count, .value_ns = l->on_ns,
	};

	if (l->off_ns >= 0) {
		r->offcpu = offcpu__start(&off);
		if (!r->offcpu)
			return -errno;
	}
	if (l->on_ns >= 0) {
		r->oncpu = oncpu__start(&on);
		if (!r->oncpu)
			return -errno;
	}
	return open_notices(r);
}

/* ---- outputs ---- */

typedef int (*write_fn)(struct run *r, const struct profile_tree *t, FILE *f);

/*
 * Renders an output in memory and hands it to the writer process (see
 * writer.h): this process cannot create files once the sandbox is up.
 */
static int write_file(struct run *r, const struct profile_tree *t,
		      const char *name, write_fn fn)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int err;

	if (!f) {
		err = -errno;
		goto out;
	}
	err = fn(r, t, f);
	if (fclose(f) && !err)
		err = -errno;
	if (!err)
		err = writer__put(r->writer, name, buf, len);
out:
	free(buf);
	if (err)
		log_error("writing %s/%s: %s", r->dir, name, strerror(-err));
	return err;
}

static int write_folded(struct run *r, const struct profile_tree *t, FILE *f)
{
	static const char *const suffix[PROFILE_MAX_VALUES] = { "_[c]", "_[o]" };

	/* Wall-clock: on- and off-CPU time of a stack on their own lines. */
	if (r->opts->mode == MODE_WALLCLOCK)
		return folded__write_split(t, r->layout->weight, suffix, f);
	return folded__write(t, r->layout->weight, f);
}

static const char *view_names[] = { "on-CPU + off-CPU", "on-CPU", "off-CPU" };

static int write_svg_view(struct run *r, const struct profile_tree *t, FILE *f,
			  value_mask_t mask, const char *view)
{
	char title[256];
	struct svg_opts o = {
		.title = title, .unit = r->layout->unit, .mask = mask,
		.offcpu_value = r->layout->offcpu_value,
	};

	snprintf(title, sizeof(title), "sysscope %s: %s, %.1f s",
		 mode__name(r->opts->mode), view, r->duration_ns / 1e9);
	return svg__write(t, &o, f);
}

static int write_svg(struct run *r, const struct profile_tree *t, FILE *f)
{
	const char *view = r->opts->mode == MODE_WALLCLOCK ? view_names[0] :
			   r->opts->mode == MODE_PROFILE ? view_names[1] :
							   view_names[2];

	return write_svg_view(r, t, f, r->layout->weight, view);
}

static int write_svg_oncpu(struct run *r, const struct profile_tree *t, FILE *f)
{
	return write_svg_view(r, t, f, 1u << r->layout->cpu_value, view_names[1]);
}

static int write_svg_offcpu(struct run *r, const struct profile_tree *t, FILE *f)
{
	return write_svg_view(r, t, f, 1u << r->layout->offcpu_value,
			      view_names[2]);
}

static const char *const on_stat_names[ONCPU_STAT_MAX] = {
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

static const char *const off_stat_names[OFFCPU_STAT_MAX] = {
	[OFFCPU_STAT_SWITCHES] = "off-CPU: switches",
	[OFFCPU_STAT_SHORT] = "off-CPU: under --min-block",
	[OFFCPU_STAT_COUNTED] = "off-CPU: intervals counted",
	[OFFCPU_STAT_LOST_MAP_FULL] = "off-CPU: lost, counts map full",
	[OFFCPU_STAT_LOST_NO_STORAGE] = "off-CPU: lost, no thread slot",
	[OFFCPU_STAT_KSTACK_FAILED] = "off-CPU: kernel stack failed",
	[OFFCPU_STAT_USTACK_FAILED] = "off-CPU: user stack failed",
	[OFFCPU_STAT_STACK_COLLISION] = "off-CPU:   of which stack map full",
	[OFFCPU_STAT_USTACK_REUSED] = "off-CPU: user stacks reused",
	[OFFCPU_STAT_NEW_PROC_LOST] = "off-CPU: process notices lost",
	[OFFCPU_STAT_SEED_USTACK_LOST] = "off-CPU: user stack at start lost",
};

#define MAX_COUNTERS (ONCPU_STAT_MAX + OFFCPU_STAT_MAX + 8)

static void fill_meta(struct run *r, struct profile_meta *m,
		      struct meta_counter *c)
{
	const struct symbolizer_stats *ss = symbolizer__stats(r->sym);
	size_t n = 0;

	for (int i = 0; r->oncpu && i < ONCPU_STAT_MAX; i++)
		c[n++] = (struct meta_counter){ on_stat_names[i] ?: "?", r->on_stats[i] };
	for (int i = 0; r->offcpu && i < OFFCPU_STAT_MAX; i++)
		c[n++] = (struct meta_counter){ off_stat_names[i] ?: "?", r->off_stats[i] };
	c[n++] = (struct meta_counter){ "processes read", ss->processes };
	c[n++] = (struct meta_counter){ "processes gone before read", ss->processes_gone };
	c[n++] = (struct meta_counter){ "files with symbols", ss->files };
	c[n++] = (struct meta_counter){ "files unreadable or not ELF", ss->files_failed };
	c[n++] = (struct meta_counter){ "JIT perf maps read", ss->jit_maps };
	c[n++] = (struct meta_counter){ "addresses unresolved", ss->user_unresolved + ss->kernel_unresolved };
	*m = (struct profile_meta){
		.mode = mode__name(r->opts->mode),
		.start_ns = r->start_real_ns,
		.duration_ns = r->duration_ns,
		.period_ns = r->oncpu ? oncpu__period_ns(r->oncpu) : 0,
		.lost = r->on_stats[ONCPU_STAT_LOST_MAP_FULL] +
			r->off_stats[OFFCPU_STAT_LOST_MAP_FULL] +
			r->off_stats[OFFCPU_STAT_LOST_NO_STORAGE],
		.counters = c, .ncounters = n,
	};
}

static int write_summary_file(struct run *r, const struct profile_tree *t,
			      FILE *f)
{
	struct meta_counter c[MAX_COUNTERS];
	struct summary_opts so = {
		.mask = r->layout->weight, .unit = r->layout->unit,
	};
	struct profile_meta m;

	(void)t;
	fill_meta(r, &m, c);
	return summary__write(r->profile, &m, &so, f);
}

static int write_threads_file(struct run *r, const struct profile_tree *t,
			      FILE *f)
{
	struct threads_opts o = {
		.cpu_value = r->layout->cpu_value,
		.offcpu_value = r->layout->offcpu_value,
		.duration_ns = r->duration_ns,
	};

	(void)t;
	return threads__write(r->profile, &o, f);
}

/* ---- per-thread flamegraphs, for runs aimed at processes or threads ---- */

struct thread_weight {
	uint32_t tid;
	const char *name;
	uint64_t weight;
};

static int by_weight(const void *a, const void *b)
{
	const struct thread_weight *x = a, *y = b;

	if (x->weight != y->weight)
		return x->weight < y->weight ? 1 : -1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static int by_tid(const void *a, const void *b)
{
	const struct thread_weight *x = a, *y = b;

	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Distinct threads, heaviest first; *n is the count. */
static struct thread_weight *heaviest_threads(const struct run *r, size_t *n)
{
	size_t ns = profile__nsamples(r->profile), out = 0;
	struct thread_weight *w = calloc(ns ? ns : 1, sizeof(*w));

	if (!w)
		return NULL;
	for (size_t i = 0; i < ns; i++) {
		const struct profile_sample *s = profile__sample_at(r->profile, i);

		w[i] = (struct thread_weight){
			s->tid, s->thread, values_sum(s->values, r->layout->weight),
		};
	}
	if (ns)
		qsort(w, ns, sizeof(*w), by_tid);
	for (size_t i = 0; i < ns; i++) {
		if (out && w[out - 1].tid == w[i].tid)
			w[out - 1].weight += w[i].weight;
		else
			w[out++] = w[i];
	}
	if (out)
		qsort(w, out, sizeof(*w), by_weight);
	*n = out;
	return w;
}

static bool sample_of_tid(const struct profile_sample *s, void *ctx)
{
	return s->tid == *(const uint32_t *)ctx;
}

/* A file name from names tenants choose: no '/', and no "." or "..". */
static void safe_name(char *out, size_t len, const char *in)
{
	size_t i = 0;

	for (; in[i] && i + 1 < len; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '-' || c == '.' ? c : '_';
	}
	out[i] = '\0';
	if (out[0] == '.' || !out[0])
		out[0] = '_';	/* ".", "..", ".hidden", "": never a path step */
}

static int write_thread_graph(struct run *r, const struct thread_weight *w)
{
	char name[64], file[128];
	struct profile_tree *t;
	uint32_t tid = w->tid;
	int err;

	t = profile_tree__new_filtered(r->profile, sample_of_tid, &tid);
	if (!t)
		return -errno;
	safe_name(name, sizeof(name), w->name);
	snprintf(file, sizeof(file), "threads/%u-%s.svg", tid, name);
	err = write_file(r, t, file, write_svg);
	snprintf(file, sizeof(file), "threads/%u-%s.folded", tid, name);
	err = write_file(r, t, file, write_folded) ?: err;
	profile_tree__free(t);
	return err;
}

static int write_thread_graphs(struct run *r)
{
	struct thread_weight *w;
	size_t n;
	int err = 0;

	if (!r->opts->npids && !r->opts->ntids)
		return 0;	/* a whole node has too many threads */
	/* threads/ is made by the writer with the first file. */
	w = heaviest_threads(r, &n);
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < n && i < MAX_THREAD_GRAPHS && !err; i++)
		err = write_thread_graph(r, &w[i]);
	if (n > MAX_THREAD_GRAPHS)
		log_info("per-thread flamegraphs for the %d busiest of %zu threads",
			 MAX_THREAD_GRAPHS, n);
	free(w);
	return err;
}

/* ---- per-pod and per-container flamegraphs ---- */

struct group_pick {
	const char *pod, *ns, *container;	/* interned; NULL: any */
};

static bool sample_in_group(const struct profile_sample *s, void *ctx)
{
	const struct group_pick *g = ctx;

	return s->labels[LABEL_POD] == g->pod &&
	       s->labels[LABEL_NAMESPACE] == g->ns &&
	       (!g->container || s->labels[LABEL_CONTAINER] == g->container);
}

/* Writes <base>.svg and <base>.folded of the samples g picks. */
static int write_group(struct run *r, struct group_pick *g, const char *base)
{
	char file[PATH_MAX + 16];
	struct profile_tree *t;
	int err;

	/* The writer makes the folders. */
	t = profile_tree__new_filtered(r->profile, sample_in_group, g);
	if (!t)
		return -errno;
	snprintf(file, sizeof(file), "%s.svg", base);
	err = write_file(r, t, file, write_svg);
	snprintf(file, sizeof(file), "%s.folded", base);
	err = write_file(r, t, file, write_folded) ?: err;
	profile_tree__free(t);
	return err;
}

/* Is (pod, ns, container) in seen[0..n)? Linear: containers are few. */
static bool seen_before(const struct group_pick *seen, size_t n,
			const struct group_pick *g)
{
	for (size_t i = 0; i < n; i++)
		if (seen[i].pod == g->pod && seen[i].ns == g->ns &&
		    seen[i].container == g->container)
			return true;
	return false;
}

static int write_one_group(struct run *r, struct group_pick *g)
{
	char base[PATH_MAX], ns[128], pod[256], ctr[256];

	safe_name(ns, sizeof(ns), g->ns ? g->ns : "_unknown");
	safe_name(pod, sizeof(pod), g->pod ? g->pod : "");
	safe_name(ctr, sizeof(ctr), g->container ? g->container : "");
	if (g->pod && g->container)
		snprintf(base, sizeof(base), "pods/%s/%s/%s", ns, pod, ctr);
	else if (g->pod)
		snprintf(base, sizeof(base), "pods/%s/%s/pod", ns, pod);
	else
		snprintf(base, sizeof(base), "containers/%s", ctr);
	return write_group(r, g, base);
}

/* pods/<namespace>/<pod>/{<container>,pod}.svg, containers/<name>.svg */
static int write_group_graphs(struct run *r)
{
	size_t n = 0, cap = profile__nsamples(r->profile) * 2 + 1;
	struct group_pick *seen = calloc(cap, sizeof(*seen));
	int err = 0;

	if (!seen)
		return -ENOMEM;
	for (size_t i = 0; i < profile__nsamples(r->profile) && !err; i++) {
		const struct profile_sample *s = profile__sample_at(r->profile, i);
		struct group_pick c = { s->labels[LABEL_POD],
					s->labels[LABEL_NAMESPACE],
					s->labels[LABEL_CONTAINER] };
		struct group_pick pod = { c.pod, c.ns, NULL };

		if (c.container && !seen_before(seen, n, &c)) {
			seen[n++] = c;
			err = write_one_group(r, &c);
		}
		if (!err && pod.pod && !seen_before(seen, n, &pod)) {
			seen[n++] = pod;
			err = write_one_group(r, &pod);
		}
	}
	free(seen);
	return err;
}

static int write_pprof(struct run *r, const struct profile_tree *t, FILE *f)
{
	struct meta_counter c[MAX_COUNTERS];
	struct profile_meta m;

	(void)t;
	fill_meta(r, &m, c);
	return pprof__write_stream(r->profile, &m, f);
}

static int write_outputs(struct run *r)
{
	struct profile_tree *t = profile_tree__new(r->profile);
	int err = 0;

	if (!t) {
		log_error("building the profile tree: %s", strerror(errno));
		return -errno;
	}
	err = write_file(r, t, "stacks.folded", write_folded);
	err = write_file(r, t, "flamegraph.svg", write_svg) ?: err;
	if (r->opts->mode == MODE_WALLCLOCK) {
		err = write_file(r, t, "flamegraph-oncpu.svg", write_svg_oncpu) ?: err;
		err = write_file(r, t, "flamegraph-offcpu.svg", write_svg_offcpu) ?: err;
	}
	err = write_file(r, t, "summary.txt", write_summary_file) ?: err;
	err = write_file(r, t, "threads.txt", write_threads_file) ?: err;
	err = write_thread_graphs(r) ?: err;
	err = write_group_graphs(r) ?: err;
	/* The node's graph has pods and containers as its roots. */
	if (r->whole_node)
		err = write_file(r, t, "node.svg", write_svg) ?: err;
	err = write_file(r, t, "profile.pb.gz", write_pprof) ?: err;
	profile_tree__free(t);
	return err;
}

static void report(const struct run *r)
{
	const uint64_t *on = r->on_stats, *off = r->off_stats;
	uint64_t lost = on[ONCPU_STAT_LOST_MAP_FULL] +
			off[OFFCPU_STAT_LOST_MAP_FULL] +
			off[OFFCPU_STAT_LOST_NO_STORAGE];

	log_info("%.1f s: %llu on-CPU samples, %llu off-CPU intervals, %llu lost; wrote %s/",
		 r->duration_ns / 1e9,
		 (unsigned long long)on[ONCPU_STAT_COUNTED],
		 (unsigned long long)off[OFFCPU_STAT_COUNTED],
		 (unsigned long long)lost, r->dir);
	if (on[ONCPU_STAT_LOST_MAP_FULL] || off[OFFCPU_STAT_LOST_MAP_FULL])
		log_warn("%llu samples or intervals dropped: raise --max-entries",
			 (unsigned long long)(on[ONCPU_STAT_LOST_MAP_FULL] +
					      off[OFFCPU_STAT_LOST_MAP_FULL]));
	if (on[ONCPU_STAT_STACK_COLLISION] || off[OFFCPU_STAT_STACK_COLLISION])
		log_warn("%llu stacks did not fit the stack map: raise --max-stacks",
			 (unsigned long long)(on[ONCPU_STAT_STACK_COLLISION] +
					      off[OFFCPU_STAT_STACK_COLLISION]));
}

static int read_stats(struct run *r)
{
	int err = 0;

	if (r->oncpu)
		err = oncpu__read_stats(r->oncpu, r->on_stats);
	if (!err && r->offcpu)
		err = offcpu__read_stats(r->offcpu, r->off_stats);
	if (err)
		log_warn("reading counters: %s", strerror(-err));
	return 0;
}

/* Reads the collectors' maps into a new r->profile. */
static int build_profile(struct run *r)
{
	struct recorder rec;
	int err;

	r->profile = profile__new(r->layout->types, 2);
	if (!r->profile)
		return -errno;
	err = recorder__init(&rec, r->profile, r->sym, r->res, r->whole_node);
	if (!err && r->oncpu)
		err = oncpu__collect(r->oncpu, r->sym, &rec);
	if (!err && r->offcpu)
		err = offcpu__collect(r->offcpu, r->sym, &rec);
	if (err)
		log_error("reading samples: %s", strerror(-err));
	return err;
}

static int collect_and_write(struct run *r)
{
	int err;

	read_stats(r);
	err = build_profile(r);
	if (err)
		return err;
	err = write_outputs(r);
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

/* Loading is done: keep only what reading needs (see sandbox.c). */
static int enter_sandbox(const struct run *r)
{
	int fd = r->oncpu ? oncpu__stats_fd(r->oncpu) : offcpu__stats_fd(r->offcpu);
	bool kept_bpf;
	int err;

	if (r->opts->user) {
		err = sandbox__switch_user(r->opts->uid, r->opts->gid);
		if (err) {
			log_error("--user %s: %s", r->opts->user, strerror(-err));
			return err;
		}
	}
	err = sandbox__drop_privileges(fd, &kept_bpf);
	if (err) {
		log_error("dropping capabilities: %s", strerror(-err));
		return err;
	}
	if (kept_bpf)
		log_warn("this kernel checks CAP_BPF to read maps: kept it");
	if (r->opts->no_seccomp) {
		log_warn("--no-seccomp: running WITHOUT the seccomp filter (debugging only)");
	} else {
		err = sandbox__install_seccomp(r->opts->mode == MODE_AGENT);
		if (err) {
			log_error("seccomp filter: %s", strerror(-err));
			return err;
		}
	}
	if (r->opts->sandbox_selftest && sandbox__selftest(stderr)) {
		log_error("sandbox self-test: a forbidden call was allowed");
		return -EPERM;
	}
	return 0;
}

/* Is path equal to or below dir (both relative to the hierarchy)? */
static bool path_under(const char *path, const char *dir)
{
	size_t len = strlen(dir);

	if (!strcmp(dir, "/"))
		return true;
	return !strncmp(path, dir, len) && (!path[len] || path[len] == '/');
}

/* The ids of every cgroup in the selected subtrees, as they are now. */
static int list_selected_ids(struct run *r)
{
	const struct workload *sel[SELECT_MAX];
	size_t nsel = 0, cap;
	struct stat st;

	for (size_t i = 0; i < r->ncgroups; i++)
		if (!fstat(r->cgroup_fds[i], &st) &&
		    (sel[nsel] = resolver__get(r->res, st.st_ino)))
			nsel++;
	resolver__scan(r->res);
	cap = resolver__count(r->res);
	r->cgroup_ids = calloc(cap ? cap : 1, sizeof(*r->cgroup_ids));
	if (!r->cgroup_ids)
		return -ENOMEM;
	for (size_t i = 0; i < resolver__count(r->res); i++) {
		const struct workload *w = resolver__at(r->res, i);

		for (size_t j = 0; j < nsel; j++) {
			if (path_under(w->path, sel[j]->path)) {
				r->cgroup_ids[r->ncgroup_ids++] = w->cgroup_id;
				break;
			}
		}
	}
	return 0;
}

static int select_cgroups(struct run *r)
{
	const struct opts *o = r->opts;
	bool selecting = o->container || o->pod || o->namespace;
	int err = 0;

	if ((selecting || o->cgroup) && r->cgroup_v1) {
		log_error("--container, --pod, -n and --cgroup need cgroup v2");
		return -ENOTSUP;
	}
	if (o->cgroup) {
		r->ncgroups = 1;
		err = open_cgroup(o->cgroup, &r->cgroup_fds[0]);
	} else if (selecting) {
		err = open_selection(o, r->res, r->cgroup_fds, &r->ncgroups);
	}
	if (!err && r->ncgroups && r->res)
		err = list_selected_ids(r);
	return err;
}

static int run(const struct opts *o)
{
	struct run r = { .opts = o, .layout = &layouts[o->mode] };
	int err;

	for (size_t i = 0; i < SELECT_MAX; i++)
		r.cgroup_fds[i] = -1;
	err = check_options(o);
	err = err ?: check_privileges();
	err = err ?: check_ids(o->proc_root, o->pids, o->npids, "process");
	err = err ?: check_ids(o->proc_root, o->tids, o->ntids, "thread");
	if (err)
		goto cleanup;
	r.res = open_resolver(o, &r.cgroup_v1);
	err = select_cgroups(&r);
	r.whole_node = !o->npids && !o->ntids && !r.ncgroups;
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
	err = start_collectors(&r);
	/* After loading (our programs are in kallsyms), before the sandbox. */
	if (!err && o->kernel_stacks && symbolizer__load_kernel(r.sym))
		log_warn("kernel symbols unreadable (kptr_restrict?): kernel frames will be addresses");
	err = err ?: enter_sandbox(&r);
	if (err)
		goto cleanup;
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
	for (size_t i = 0; i < SELECT_MAX; i++)
		if (r.cgroup_fds[i] >= 0)
			close(r.cgroup_fds[i]);
	ring_buffer__free(r.notices);
	oncpu__free(r.oncpu);
	offcpu__free(r.offcpu);
	profile__free(r.profile);
	symbolizer__free(r.sym);
	resolver__free(r.res);
	free(r.cgroup_ids);
	return err;
}

/* ---- sysscope agent ---- */

/* How often the agent empties the off-CPU stack maps (offcpu__empty). */
#define STACKS_EVERY_S 600
/* Resident memory the agent keeps under, in % of --memory-limit. */
#define RSS_TARGET 80

struct prog_stats {
	uint64_t run_ns, runs;
};

struct agent {
	struct run r;
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
		agent_http__label(f, on_stat_names[i]);
		fprintf(f, "\"} %llu\n", (unsigned long long)copy.on_stats[i]);
	}
	for (int i = 0; i < OFFCPU_STAT_MAX; i++) {
		fputs("sysscope_collector_events_total{collector=\"offcpu\",event=\"", f);
		agent_http__label(f, off_stat_names[i]);
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
	fprintf(f, "# HELP sysscope_agent_resident_bytes The agent's resident memory.\n"
		"# TYPE sysscope_agent_resident_bytes gauge\n"
		"sysscope_agent_resident_bytes %llu\n"
		"# HELP sysscope_agent_memory_limit_bytes --memory-limit.\n"
		"# TYPE sysscope_agent_memory_limit_bytes gauge\n"
		"sysscope_agent_memory_limit_bytes %llu\n",
		(unsigned long long)self_rss_bytes(),
		(unsigned long long)a->r.opts->memory_limit);
}

/*
 * Ends the window begun at start: reads it into the store, empties maps.
 * *end is when profiling stopped; the next window's start less it is the
 * gap the collection left unprofiled.
 */
static int agent_close_window(struct agent *a, uint64_t start,
			      uint64_t start_real, uint64_t *end_out)
{
	struct run *r = &a->r;
	uint64_t end = now_ns(CLOCK_MONOTONIC), t0;
	double window_s = r->opts->window_s;
	bool stacks;
	int err;

	oncpu__pause(r->oncpu);
	offcpu__end_window(r->offcpu, end);
	ring_buffer__consume(r->notices);
	t0 = now_ns(CLOCK_MONOTONIC);
	err = build_profile(r);
	/* What exited cannot sample again: its maps go; pids get reused. */
	symbolizer__forget_exited(r->sym);
	err = oncpu__empty(r->oncpu) ?: err;
	/* Stacks only now and then: see offcpu__empty. */
	stacks = ++a->windows_since_stacks * window_s >= STACKS_EVERY_S;
	if (stacks)
		a->windows_since_stacks = 0;
	err = offcpu__empty(r->offcpu, stacks) ?: err;
	if (err) {
		log_warn("window: %s (its data is dropped)", strerror(-err));
		profile__free(r->profile);
	} else {
		err = window_store__add(a->store, r->profile, start_real,
					end - start, now_ns(CLOCK_REALTIME));
	}
	r->profile = NULL;
	/*
	 * The cap is on resident memory, which the windows' estimate does not
	 * see whole: past RSS_TARGET of it, old windows go first, leaving
	 * room for the next window's collection and for HTTP requests.
	 */
	while (self_rss_bytes() > r->opts->memory_limit / 100 * RSS_TARGET &&
	       window_store__evict_oldest(a->store))
		malloc_trim(0);
	read_stats(r);
	pthread_mutex_lock(&a->lock);
	memcpy(a->on_stats, r->on_stats, sizeof(a->on_stats));
	memcpy(a->off_stats, r->off_stats, sizeof(a->off_stats));
	prog_stats_read(oncpu__prog_fd(r->oncpu), &a->prog[0]);
	prog_stats_read(offcpu__prog_fd(r->offcpu), &a->prog[1]);
	if (err)
		a->window_errors++;
	else
		a->windows++;
	a->covered_ns += end - start;
	a->last_collect_s = (now_ns(CLOCK_MONOTONIC) - t0) / 1e9;
	a->sym = *symbolizer__stats(r->sym);
	pthread_mutex_unlock(&a->lock);
	*end_out = end;
	return err;
}

static int agent_loop(struct agent *a)
{
	struct run *r = &a->r;
	uint64_t window = (uint64_t)(r->opts->window_s * 1e9), last_end = 0;
	uint64_t stop_at = r->opts->duration_s > 0 ? now_ns(CLOCK_MONOTONIC) +
		(uint64_t)(r->opts->duration_s * 1e9) : UINT64_MAX;
	int err = 0;

	for (bool first = true; !stop_requested &&
	     now_ns(CLOCK_MONOTONIC) < stop_at; first = false) {
		uint64_t start = now_ns(CLOCK_MONOTONIC);
		uint64_t start_real = now_ns(CLOCK_REALTIME);

		if (first) {
			if (offcpu__begin(r->offcpu, start))
				log_warn("off-CPU: threads asleep since before the start may be missed");
		} else {
			offcpu__next_window(r->offcpu, start);
			pthread_mutex_lock(&a->lock);
			a->gap_ns += start - last_end;
			pthread_mutex_unlock(&a->lock);
		}
		oncpu__begin(r->oncpu, start);
		err = poll_notices_until(r, start + window < stop_at ?
					 start + window : stop_at);
		if (err)
			break;
		agent_close_window(a, start, start_real, &last_end);
	}
	return err;
}

static int run_agent(const struct opts *o)
{
	struct agent a = {
		.r = { .opts = o, .layout = &layouts[MODE_WALLCLOCK],
		       .whole_node = true },
		.bpf_stats_fd = -1,
		.lock = PTHREAD_MUTEX_INITIALIZER,
	};
	struct run *r = &a.r;
	int listen_fd = -1, err;

	for (size_t i = 0; i < SELECT_MAX; i++)
		r->cgroup_fds[i] = -1;
	err = check_privileges();
	err = err ?: install_signals();
	if (err)
		return err;
	r->res = open_resolver(o, &r->cgroup_v1);
	r->sym = symbolizer__new(o->proc_root);
	if (!r->sym) {
		err = -errno;
		goto out;
	}
	listen_fd = agent_http__listen(o->listen);
	if (listen_fd < 0) {
		err = listen_fd;
		log_error("--listen %s: %s", o->listen, strerror(-err));
		goto out;
	}
	err = start_collectors(r);
	if (!err && symbolizer__load_kernel(r->sym))
		log_warn("kernel symbols unreadable (kptr_restrict?): kernel frames will be addresses");
	/* While held, the kernel times our programs (for /metrics). */
	a.bpf_stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (a.bpf_stats_fd < 0)
		log_warn("BPF run-time statistics unavailable: %s",
			 strerror(errno));
	err = err ?: enter_sandbox(r);
	if (err)
		goto out;
	a.store = window_store__new((uint64_t)(o->retention_s * 1e9),
				    o->memory_limit / 2);
	if (!a.store) {
		err = -ENOMEM;
		goto out;
	}
	a.http = agent_http__start(listen_fd, &(struct agent_http_config){
		.store = a.store, .period_ns = oncpu__period_ns(r->oncpu),
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
	ring_buffer__free(r->notices);
	oncpu__free(r->oncpu);
	offcpu__free(r->offcpu);
	window_store__free(a.store);
	symbolizer__free(r->sym);
	resolver__free(r->res);
	return err;
}

/* ---- sysscope ps ---- */

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* CPU seconds used: v2 cpu.stat usage_usec, or v1 cpuacct.usage (ns). */
static double cpu_seconds(const char *dir, bool v1)
{
	char path[PATH_MAX * 2 + 32], key[64];
	unsigned long long v;
	double secs = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, v1 ? "cpuacct.usage" : "cpu.stat");
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (v1 && fscanf(f, "%llu", &v) == 1)
		secs = v / 1e9;
	while (!v1 && fscanf(f, "%63s %llu", key, &v) == 2)
		if (!strcmp(key, "usage_usec"))
			secs = v / 1e6;
	fclose(f);
	return secs;
}

static void ps_row(const struct resolver *res, const struct workload *w,
		   const char *cpuacct)
{
	char dir[PATH_MAX], procs[PATH_MAX + 32], cpu[32] = "-";
	char acct[PATH_MAX * 2];
	double secs;
	long n;

	resolver__dir(res, w, dir, sizeof(dir));
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	n = count_lines(procs);
	/* v1: cpuacct may be its own hierarchy, with the same paths. */
	if (cpuacct)
		snprintf(acct, sizeof(acct), "%s%s", cpuacct, w->path);
	secs = cpu_seconds(cpuacct ? acct : dir, cpuacct != NULL);
	if (secs >= 0)
		snprintf(cpu, sizeof(cpu), "%.2f", secs);
	printf("%-10s %-12.12s %-24s %-24s %-16s %-12llu %5ld %10s\n",
	       cgroup_runtime__name(w->info.runtime), w->info.container_id,
	       w->container, w->meta.pod_name[0] ? w->meta.pod_name : "-",
	       w->meta.pod_namespace[0] ? w->meta.pod_namespace : "-",
	       (unsigned long long)w->cgroup_id, n, cpu);
}

static int run_ps(const struct opts *o)
{
	char cpuacct[PATH_MAX], missing[128];
	struct resolver *res;
	bool v1;
	int err;

	/* Runtime state (/run/containerd, ...) is root's, mode 0700. */
	err = privs__check_read(missing, sizeof(missing));
	if (err) {
		log_error("missing capability %s: run as root", missing);
		return err;
	}
	res = open_resolver(o, &v1);
	if (!res)
		return -ENOENT;
	if (v1 && cgroup__find_v1_mount("/proc/self/mountinfo", "cpuacct",
					cpuacct, sizeof(cpuacct)))
		cpuacct[0] = '\0';
	err = resolver__scan(res);
	if (err) {
		log_error("scanning cgroups: %s", strerror(-err));
		goto out;
	}
	printf("%-10s %-12s %-24s %-24s %-16s %-12s %5s %10s\n", "RUNTIME",
	       "ID", "CONTAINER", "POD", "NAMESPACE", "CGROUP-ID", "PROCS",
	       "CPU-SEC");
	for (size_t i = 0; i < resolver__count(res); i++) {
		const struct workload *w = resolver__at(res, i);

		if (w->info.runtime != RUNTIME_NONE && w->info.container_id[0])
			ps_row(res, w, v1 && cpuacct[0] ? cpuacct : NULL);
	}
out:
	resolver__free(res);
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
	if (o.mode == MODE_PS)
		return run_ps(&o) ? 1 : 0;
	if (o.mode == MODE_AGENT)
		return run_agent(&o) ? 1 : 0;
	return run(&o) ? 1 : 0;
}
