// SPDX-License-Identifier: MIT
/* The steps a one-shot run and the agent share, from loading to a profile. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "cgroup.h"
#include "fetcher.h"
#include "kernel_check.h"
#include "log.h"
#include "mem_budget.h"
#include "privs.h"
#include "proc_notices.h"
#include "python_frames.h"
#include "record.h"
#include "resolver.h"
#include "sandbox.h"
#include "session.h"
#include "symbolize.h"
#include "unwind_check.h"
#include "unwinder.h"

/*
 * The ring buffer poll wakes for a notice, a signal, the window's end or
 * the budget tick; this is its longest sleep, for a stop signal that came
 * just before it.
 */
#define POLL_MAX_MS 1000
/* debuginfod: how long a run's end, and each agent window, waits for it. */
#define FETCH_WAIT_RUN_MS 3000
#define FETCH_WAIT_WINDOW_MS 1000
#define FETCH_TIMEOUT_S 20	/* one request, everything included */
#define FETCH_RETRY_S 600	/* a build-id that failed, asked again after */
#define NOBODY 65534

const struct mode_layout mode_layouts[] = {
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

volatile sig_atomic_t stop_requested;
static pid_t poll_tid;		/* the thread that polls the ring buffer */

static void on_signal(int sig)
{
	int saved = errno;

	stop_requested = 1;
	/*
	 * A helper thread (HTTP, ClickHouse) took it: the poll sleeps on, up
	 * to POLL_MAX_MS. Sent on, it ends the poll now.
	 */
	if (poll_tid && (pid_t)syscall(SYS_gettid) != poll_tid)
		syscall(SYS_tgkill, getpid(), poll_tid, sig);
	errno = saved;
}

uint64_t now_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int session__install_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };

	/* No SA_RESTART: a signal must wake the ring buffer poll. */
	sigemptyset(&sa.sa_mask);
	poll_tid = (pid_t)syscall(SYS_gettid);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	/* A dead writer or HTTP client is an error return, not a death. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int session__check_privileges(void)
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

void session__init(struct session *s, const struct opts *o,
		   const struct mode_layout *layout)
{
	*s = (struct session){ .opts = o, .layout = layout, .bpf_stats_fd = -1 };
	for (size_t i = 0; i < SELECT_MAX; i++)
		s->cgroup_fds[i] = -1;
}

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

void session__set_cache_budget(struct session *s, uint64_t bytes)
{
	symbolizer__set_budget(s->sym, bytes);
	s->cgroups_cached.kind = CACHE_CGROUPS;
}

/* Never called: the resolver's entry is pinned. */
static void cgroups_evict(struct cache_entry *e)
{
	(void)e;
}

void session__charge_caches(struct session *s)
{
	if (!s->sym || !s->res)
		return;
	s->cgroups_cached.evict = cgroups_evict;
	mem_budget__resize(symbolizer__budget(s->sym), &s->cgroups_cached,
			   resolver__bytes(s->res));
}

struct resolver *session__open_resolver(const struct opts *o, bool *v1)
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

static struct filter_config filter_of(const struct session *s)
{
	const struct opts *o = s->opts;

	return (struct filter_config){
		.pids = o->pids, .npids = o->npids,
		.tids = o->tids, .ntids = o->ntids,
		.cgroup_fds = s->cgroup_fds, .ncgroups = s->ncgroups,
		.cgroup_v1 = s->cgroup_v1,
		.user_threads_only = o->user_threads_only,
		.kernel_threads_only = o->kernel_threads_only,
	};
}

static struct unwind_limits unwind_limits_of(const struct opts *o)
{
	return (struct unwind_limits){
		.max_rows = o->unwind_fp_only ? UNWIND_BLOCK :
			    (uint32_t)(o->unwind_table_bytes / sizeof(uint32_t)),
		.max_tables = 4096, .max_procs = 16384,
	};
}

/*
 * ---- the unwinder (and the Python walker) see the files and processes
 * the symbolizer reads ----
 */

/* What a mapped file is to them: a CFI table, an interpreter, either. */
struct hooked_file {
	struct unwind_file *table;	/* NULL: frame pointers */
	struct py_file *py;		/* NULL: no interpreter walked */
};

static void *hook_file_loaded(void *ctx, int fd, const uint8_t *build_id,
			      size_t build_id_len)
{
	struct session *s = ctx;
	struct hooked_file *h = calloc(1, sizeof(*h));
	struct stat st;

	if (!h)
		return NULL;
	h->table = unwinder__load_file(s->unwinder, fd, build_id, build_id_len);
	h->py = s->python ? python__file(s->python, fd) : NULL;
	if (log_verbosity >= 2 && !fstat(fd, &st))
		log_debug("files: read %u:%u inode %llu (unwind table: %s)",
			  major(st.st_dev), minor(st.st_dev),
			  (unsigned long long)st.st_ino, h->table ? "yes" : "no");
	if (!h->table && !h->py) {
		free(h);
		return NULL;
	}
	return h;
}

static void hook_file_dropped(void *ctx, void *file)
{
	struct session *s = ctx;
	struct hooked_file *h = file;

	if (!h)
		return;
	unwinder__drop_file(s->unwinder, h->table);
	python__file_free(h->py);
	free(h);
}

static void hook_process_mapped(void *ctx, uint32_t pid,
				const struct mapped_region *r, size_t n)
{
	struct session *s = ctx;
	struct unwind_region *u = calloc(n ? n : 1, sizeof(*u));
	struct py_proc py, *found = NULL;

	if (!u)
		return;	/* its stacks are walked by frame pointers */
	for (size_t i = 0; i < n; i++) {
		const struct hooked_file *h = r[i].file;

		u[i] = (struct unwind_region){ r[i].start, r[i].end, r[i].pgoff,
					       h ? h->table : NULL };
		if (h && h->py && !found &&
		    python__process(s->python, pid, h->py, r[i].start,
				    r[i].pgoff, &py))
			found = &py;
	}
	unwinder__set_process(s->unwinder, pid, u, n, found);
	free(u);
}

static void hook_process_dropped(void *ctx, uint32_t pid)
{
	struct session *s = ctx;

	unwinder__drop_process(s->unwinder, pid);
	if (s->python)
		python__drop_process(s->python, pid);
}

/* The BPF arrays are full: a cached table of a file no process maps goes. */
static bool unwinder_make_room(void *ctx)
{
	struct session *s = ctx;

	return symbolizer__evict_idle_hooked(s->sym);
}

static int start_unwinder(struct session *s, const struct unwind_map_fds *fds)
{
	struct unwind_limits lim = unwind_limits_of(s->opts);

	s->unwinder = unwinder__new(fds, &lim);
	if (!s->unwinder) {
		log_error("unwind tables: %s", strerror(errno));
		return -errno;
	}
	if (s->opts->unwind_fp_only)
		return 0;	/* no process gets tables: frame pointers only */
	if (!s->opts->no_python) {
		s->python = python__new(s->opts->proc_root);
		if (!s->python)
			log_warn("python frames: %s", strerror(errno));
	}
	symbolizer__set_hooks(s->sym, &(struct symbolizer_hooks){
		.ctx = s,
		.file_loaded = hook_file_loaded,
		.file_dropped = hook_file_dropped,
		.process_mapped = hook_process_mapped,
		.process_dropped = hook_process_dropped,
	});
	unwinder__set_budget(s->unwinder, symbolizer__budget(s->sym),
			     unwinder_make_room, s);
	return 0;
}

/* --validate-unwind: samples' stacks walked again with libdw. */
static int start_check(struct session *s)
{
	int err;

	s->check = unwind_check__new(s->opts->proc_root, 500);
	if (!s->check) {
		log_error("--validate-unwind: %s", errno == ENOTSUP ?
			  "needs the host's /proc" : strerror(errno));
		return -errno;
	}
	err = proc_notices__add_ring(s->notices, oncpu__validate_fd(s->oncpu),
				     unwind_check__on_sample, s->check);
	if (err)
		log_error("--validate-unwind: %s", strerror(-err));
	return err;
}

int session__start_collectors(struct session *s)
{
	const struct opts *o = s->opts;
	const struct mode_layout *l = s->layout;
	struct offcpu_config off = {
		.filter = filter_of(s),
		.min_block_ns = o->min_block_us * 1000,
		.user_stacks = o->user_stacks, .kernel_stacks = o->kernel_stacks,
		.max_entries = o->max_entries, .max_stacks = o->max_stacks,
		.unwind = unwind_limits_of(o),
		.value_ns = l->off_ns, .value_count = l->off_count,
		.cgroup_ids = s->cgroup_ids, .ncgroup_ids = s->ncgroup_ids,
	};
	struct oncpu_config on = {
		.frequency = o->frequency,
		.filter = filter_of(s),
		.cpu = o->cpu,
		.user_stacks = o->user_stacks, .kernel_stacks = o->kernel_stacks,
		.max_entries = o->max_entries, .max_stacks = o->max_stacks,
		.unwind = unwind_limits_of(o),
		.validate_every = o->validate_unwind,
		.value_count = l->on_count, .value_ns = l->on_ns,
	};
	struct shared_maps shared;
	int err = kernel_check();

	if (err)
		return err;
	/* The second collector shares the first's notices and tables. */
	if (l->off_ns >= 0) {
		s->offcpu = offcpu__start(&off);
		if (!s->offcpu)
			return -errno;
		offcpu__shared_maps(s->offcpu, &shared);
		on.shared = &shared;
	}
	if (l->on_ns >= 0) {
		s->oncpu = oncpu__start(&on);
		if (!s->oncpu)
			return -errno;
		if (!s->offcpu)
			oncpu__shared_maps(s->oncpu, &shared);
	}
	err = start_unwinder(s, &shared.unwind);
	if (err)
		return err;
	s->notices = proc_notices__new(shared.notices.ring_fd, s->sym, s->res);
	if (!s->notices) {
		log_error("process notices: %s", strerror(errno));
		return -errno;
	}
	return s->oncpu && o->validate_unwind ? start_check(s) : 0;
}

/* Who the helpers run as: --user's, else nobody when we are root. */
void session__helper_ids(const struct opts *o, uid_t *uid, gid_t *gid)
{
	const struct passwd *pw;

	if (o->user) {
		*uid = o->uid;
		*gid = o->gid;
		return;
	}
	*uid = getuid();
	*gid = getgid();
	if (*uid != 0)
		return;
	pw = getpwnam("nobody");
	*uid = pw ? pw->pw_uid : NOBODY;
	*gid = pw ? pw->pw_gid : NOBODY;
}

int session__start_fetcher(struct session *s)
{
	const struct opts *o = s->opts;
	const char *urls = o->debuginfod_urls ? o->debuginfod_urls :
			   getenv("DEBUGINFOD_URLS");
	struct fetcher_config c = {
		.urls = urls, .cache_dir = o->debuginfod_cache,
		.timeout_s = FETCH_TIMEOUT_S, .retry_after_s = FETCH_RETRY_S,
		.selftest = o->sandbox_selftest,
	};
	int err = 0;

	if (!urls || !urls[strspn(urls, " \t")]) {
		unsetenv("DEBUGINFOD_URLS");
		return 0;
	}
	session__helper_ids(o, &c.uid, &c.gid);
	s->fetcher = fetcher__start(&c);
	if (s->fetcher) {
		symbolizer__set_fetcher(s->sym, s->fetcher);
	} else if (o->sandbox_selftest) {
		err = -errno;
		log_error("debuginfod: the helper did not start: %s (cache %s)",
			  strerror(errno), c.cache_dir);
	} else {
		log_warn("debuginfod: the helper did not start: %s (cache %s); debug files are not fetched",
			 strerror(errno), c.cache_dir);
	}
	/* libdw (--validate-unwind) would try too: the helper alone fetches. */
	unsetenv("DEBUGINFOD_URLS");
	return err;
}

int session__enter_sandbox(const struct session *s)
{
	int fd = s->oncpu ? oncpu__stats_fd(s->oncpu) : offcpu__stats_fd(s->offcpu);
	bool kept_bpf;
	int err;

	if (s->opts->user) {
		err = sandbox__switch_user(s->opts->uid, s->opts->gid);
		if (err) {
			log_error("--user %s: %s", s->opts->user, strerror(-err));
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
	if (s->opts->no_seccomp) {
		log_warn("--no-seccomp: running WITHOUT the seccomp filter (debugging only)");
	} else {
		err = sandbox__install_seccomp(s->opts->mode == MODE_AGENT,
					       s->fetcher != NULL);
		if (err) {
			log_error("seccomp filter: %s", strerror(-err));
			return err;
		}
	}
	return session__reader_selftest(s->opts);
}

int session__enter_reader_sandbox(const struct opts *o)
{
	bool kept_bpf;
	int err = sandbox__drop_privileges(-1, &kept_bpf);

	if (err) {
		log_error("dropping capabilities: %s", strerror(-err));
		return err;
	}
	if (o->no_seccomp) {
		log_warn("--no-seccomp: running WITHOUT the seccomp filter (debugging only)");
	} else if ((err = sandbox__install_seccomp(false, false))) {
		log_error("seccomp filter: %s", strerror(-err));
		return err;
	}
	return 0;
}

int session__reader_selftest(const struct opts *o)
{
	if (!o->sandbox_selftest)
		return 0;
	sandbox__print_status(stderr);
	if (sandbox__selftest(stderr)) {
		log_error("sandbox self-test: a forbidden call was allowed");
		return -EPERM;
	}
	return 0;
}

static uint64_t prog_run_ns(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.run_time_ns;
}

/* kernel.bpf_stats_enabled set on the node: the kernel times programs. */
static bool bpf_stats_sysctl_on(void)
{
	char c = '0';
	FILE *f = fopen("/proc/sys/kernel/bpf_stats_enabled", "re");

	if (f) {
		if (fread(&c, 1, 1, f) != 1)
			c = '0';
		fclose(f);
	}
	return c == '1';
}

int session__start_budget(struct session *s)
{
	double pct = s->opts->cpu_budget_pct;
	int err;

	cpu_budget__init(&s->budget, 0, 0);
	if (pct <= 0 && s->opts->mode != MODE_AGENT)
		return 0;	/* one-shot, exact: nothing to time */
	s->bpf_stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	err = s->bpf_stats_fd < 0 ? errno : 0;
	s->bpf_timed = s->bpf_stats_fd >= 0 || bpf_stats_sysctl_on();
	if (!s->bpf_timed)
		/* CAP_SYS_ADMIN, which a DaemonSet should not hold. */
		log_warn("BPF programs not timed (BPF_ENABLE_STATS: %s; sysctl kernel.bpf_stats_enabled=1 turns it on): %s",
			 strerror(err), pct > 0 ?
			 "--cpu-budget counts off-CPU recording and this process only" :
			 "no BPF run time in /metrics");
	cpu_budget__init(&s->budget, s->offcpu ? pct / 100 : 0,
			 s->oncpu ? oncpu__frequency(s->oncpu) : 0);
	if (s->offcpu)
		offcpu__set_record_rate(s->offcpu, s->budget.rate);
	s->budget_due_ns = now_ns(CLOCK_MONOTONIC);
	return 0;
}

/* Every CPU_BUDGET_TICK_NS: measure, and set the off-CPU record rate. */
static void budget_tick(struct session *s)
{
	struct cpu_budget_reading r;
	uint64_t now = now_ns(CLOCK_MONOTONIC), on_ns = 0, off_ns = 0;
	uint32_t rate;

	if (s->budget.budget <= 0 || now < s->budget_due_ns)
		return;
	s->budget_due_ns = now + CPU_BUDGET_TICK_NS;
	if (offcpu__read_stats(s->offcpu, s->off_stats))
		return;
	if (s->bpf_timed) {
		on_ns = s->oncpu ? prog_run_ns(oncpu__prog_fd(s->oncpu)) : 0;
		off_ns = prog_run_ns(offcpu__prog_fd(s->offcpu));
	}
	r = (struct cpu_budget_reading){
		.wall_ns = now,
		/* Untimed: recording is the BPF cost it can see. */
		.bpf_ns = s->bpf_timed ? on_ns + off_ns :
			  s->off_stats[OFFCPU_STAT_RECORD_NS],
		.process_ns = now_ns(CLOCK_PROCESS_CPUTIME_ID),
		.recorded = s->off_stats[OFFCPU_STAT_RECORDED],
		.record_ns = s->off_stats[OFFCPU_STAT_RECORD_NS],
		/* Untimed: unknown (0), and the frequency stays. */
		.oncpu_bpf_ns = on_ns,
	};
	rate = cpu_budget__update(&s->budget, &r);
	if (s->oncpu && s->budget.hz != oncpu__frequency(s->oncpu)) {
		int err = oncpu__set_frequency(s->oncpu, s->budget.hz);

		if (err) {
			log_warn("on-CPU frequency: %s (stays at %u Hz)",
				 strerror(-err), oncpu__frequency(s->oncpu));
			s->budget.hz_max = 0;	/* stop trying */
			s->budget.hz = oncpu__frequency(s->oncpu);
		} else {
			log_debug("cpu budget: on-CPU sampling at %u Hz",
				  s->budget.hz);
		}
	}
	if (rate != offcpu__record_rate(s->offcpu)) {
		log_debug("cpu budget: %.2f%% of a core spent, off-CPU record rate %u/s a thread",
			  s->budget.spent * 100, rate);
		offcpu__set_record_rate(s->offcpu, rate);
	}
}

/*
 * Until the first of the deadline and the next budget tick, not every
 * 100 ms: each wake-up is a switch in and out of this process.
 */
static int poll_timeout_ms(const struct session *s, uint64_t deadline)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC), until = deadline, ms;

	if (s->budget.budget > 0 && s->budget_due_ns < until)
		until = s->budget_due_ns;
	ms = until > now ? (until - now) / 1000000 + 1 : 0;
	return ms < POLL_MAX_MS ? (int)ms : POLL_MAX_MS;
}

int session__poll_until(struct session *s, uint64_t deadline)
{
	int n = 0;

	while (!stop_requested && now_ns(CLOCK_MONOTONIC) < deadline) {
		budget_tick(s);
		n = proc_notices__poll(s->notices, poll_timeout_ms(s, deadline));
		if (n == -EINTR)
			n = 0;
		if (n < 0) {
			log_error("ring buffer poll: %s", strerror(-n));
			return n;
		}
	}
	return 0;
}

void session__read_stats(struct session *s)
{
	int err = 0;

	if (s->oncpu)
		err = oncpu__read_stats(s->oncpu, s->on_stats);
	if (!err && s->offcpu)
		err = offcpu__read_stats(s->offcpu, s->off_stats);
	if (err)
		log_warn("reading counters: %s", strerror(-err));
}

/* Reads the collectors' maps into a new s->profile. */
int session__build_profile(struct session *s)
{
	struct recorder rec;
	int err;

	/* The debug files fetched since: a bounded wait for the rest. */
	if (s->opts->mode == MODE_AGENT)
		symbolizer__take_fetched(s->sym, FETCH_WAIT_WINDOW_MS, false);
	else
		symbolizer__take_fetched(s->sym, FETCH_WAIT_RUN_MS, true);
	s->profile = profile__new(s->layout->types, 2);
	if (!s->profile)
		return -errno;
	err = recorder__init(&rec, s->profile, s->sym, s->res, s->whole_node);
	rec.b.py = s->python;
	if (!err && s->oncpu)
		err = oncpu__collect(s->oncpu, s->sym, &rec);
	if (!err && s->offcpu)
		err = offcpu__collect(s->offcpu, s->sym, &rec);
	if (err)
		log_error("reading samples: %s", strerror(-err));
	return err;
}

void session__release(struct session *s)
{
	for (size_t i = 0; i < SELECT_MAX; i++)
		if (s->cgroup_fds[i] >= 0)
			close(s->cgroup_fds[i]);
	if (s->bpf_stats_fd >= 0)
		close(s->bpf_stats_fd);
	proc_notices__free(s->notices);
	unwind_check__free(s->check);
	/* The symbolizer hands its files back to the unwinder, then both go. */
	symbolizer__free(s->sym);
	fetcher__finish(s->fetcher);
	unwinder__free(s->unwinder);
	python__free(s->python);
	oncpu__free(s->oncpu);
	offcpu__free(s->offcpu);
	profile__free(s->profile);
	resolver__free(s->res);
	free(s->cgroup_ids);
	*s = (struct session){ 0 };
}
