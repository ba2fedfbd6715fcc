// SPDX-License-Identifier: MIT
/* The on-CPU sampler's user side (oncpu_collector.h) and its counters. */
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "oncpu.skel.h"
#include "offcpu.h"	/* OFFCPU_STACKS_MAX */
#include "log.h"
#include "oncpu_collector.h"
#include "record.h"
#include "stacks.h"
#include "symbolize.h"

static const struct prom_family perf_events = {
	"sysscope_oncpu_perf_events_total", PROM_COUNTER,
	"Perf events the on-CPU sampler handled, idle ones included.",
}, idle_samples = {
	"sysscope_oncpu_idle_samples_total", PROM_COUNTER,
	"On-CPU samples of the idle task (not counted).",
}, filtered_samples = {
	"sysscope_oncpu_filtered_samples_total", PROM_COUNTER,
	"On-CPU samples outside --pid, --tid or --cgroup.",
}, samples = {
	"sysscope_oncpu_samples_total", PROM_COUNTER,
	"On-CPU samples counted.",
}, outside_samples = {
	"sysscope_oncpu_outside_window_samples_total", PROM_COUNTER,
	"Perf events before the first window or between windows (not counted).",
};

#define ON "collector=\"oncpu\","

static const struct stat_desc stat_descs[ONCPU_STAT_MAX] = {
	[ONCPU_STAT_SAMPLES] = { "perf events", &perf_events, NULL },
	[ONCPU_STAT_IDLE] = { "idle (not counted)", &idle_samples, NULL },
	[ONCPU_STAT_FILTERED] = { "filtered out", &filtered_samples, NULL },
	[ONCPU_STAT_COUNTED] = { "counted", &samples, NULL },
	[ONCPU_STAT_LOST_MAP_FULL] = { "lost: counts map full",
		&lost_samples_family, ON "reason=\"counts_map_full\"" },
	[ONCPU_STAT_KSTACK_FAILED] = { "kernel stack walk failed",
		&stack_failures_family, ON "stack=\"kernel\",reason=\"walk_failed\"" },
	[ONCPU_STAT_KSTACK_COLLISION] = { "kernel stack lost: hash collision",
		&stack_failures_family, ON "stack=\"kernel\",reason=\"collision\"" },
	[ONCPU_STAT_KSTACK_MAP_FULL] = { "kernel stack lost: stack map full",
		&stack_failures_family, ON "stack=\"kernel\",reason=\"map_full\"" },
	[ONCPU_STAT_USTACK_FAILED] = { "user stack walk failed",
		&stack_failures_family, ON "stack=\"user\",reason=\"walk_failed\"" },
	[ONCPU_STAT_USTACK_COLLISION] = { "user stack lost: hash collision",
		&stack_failures_family, ON "stack=\"user\",reason=\"collision\"" },
	[ONCPU_STAT_USTACK_MAP_FULL] = { "user stack lost: stack map full",
		&stack_failures_family, ON "stack=\"user\",reason=\"map_full\"" },
	[ONCPU_STAT_USTACK_NO_MEMORY] = { "user stack lost: not allocated",
		&stack_failures_family, ON "stack=\"user\",reason=\"no_memory\"" },
	[ONCPU_STAT_NOTICE_LOST] = { "process notices lost",
		&notices_lost_family, "collector=\"oncpu\"" },
	[ONCPU_STAT_OUTSIDE_WINDOW] = { "outside a window (not counted)",
		&outside_samples, NULL },
};

struct oncpu {
	struct oncpu_bpf *skel;
	struct bpf_link *exec_link, *exit_link;
	struct bpf_link **links;
	int *pmu_fds;			/* the perf events, to change their period */
	int ncpus;
	int sync_outer, sync_inner;	/* oncpu__pause's grace period */
	uint64_t period_ns;
	int value_count, value_ns;
};

/*
 * The walked user stacks are allocated at run time, in the perf_event
 * program: kernels before 6.1 refuse that ("perf_event programs can only
 * use preallocated hash map"). There the map is preallocated, and capped
 * as the off-CPU one.
 */
static bool kernel_allocates_in_perf_event(void)
{
	struct utsname u;
	unsigned int major = 0, minor = 0;

	if (uname(&u) || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 1);
}

static int ustacks__configure(struct bpf_map *m, uint32_t max_stacks)
{
	struct utsname u;
	int err;

	if (kernel_allocates_in_perf_event())
		return bpf_map__set_max_entries(m, max_stacks);
	if (max_stacks > OFFCPU_STACKS_MAX)
		max_stacks = OFFCPU_STACKS_MAX;
	log_info("kernel %s: on-CPU user stacks preallocated, at most %u "
		 "(run-time allocation needs 6.1)",
		 uname(&u) ? "?" : u.release, max_stacks);
	err = bpf_map__set_map_flags(m, bpf_map__map_flags(m) & ~BPF_F_NO_PREALLOC);
	return err ?: bpf_map__set_max_entries(m, max_stacks);
}

static int oncpu__configure(struct oncpu *oc, const struct oncpu_config *cfg)
{
	struct oncpu_bpf *s = oc->skel;
	struct filter_vars fv = FILTER_VARS_OF(s);
	int err;

	s->rodata->user_stacks = cfg->user_stacks;
	s->rodata->validate_every = cfg->validate_every;
	s->rodata->kernel_stacks = cfg->kernel_stacks;
	err = filter__configure(&fv, &cfg->filter);
	if (!err && cfg->shared)
		err = proc_notice_maps__reuse(&cfg->shared->notices,
					      s->maps.noticed_procs,
					      s->maps.proc_notices,
					      s->progs.on_exec,
					      s->progs.on_proc_exit);
	err = err ?: unwind_bpf_maps__configure(&UNWIND_BPF_MAPS_OF(s),
						&cfg->unwind,
						cfg->shared ? &cfg->shared->unwind : NULL);
	err = err ?: ustacks__configure(s->maps.ustacks, cfg->max_stacks);
	/* The oracle's ring buffer: a page when unused. */
	if (!cfg->validate_every)
		err = err ?: bpf_map__set_max_entries(s->maps.unwind_samples,
						      (uint32_t)sysconf(_SC_PAGESIZE));
	err = err ?: bpf_map__set_max_entries(s->maps.counts, cfg->max_entries);
	return err ?: bpf_map__set_max_entries(s->maps.stacks, cfg->max_stacks);
}

static int open_cpu_clock(int cpu, uint64_t period_ns)
{
	/*
	 * cpu-clock, not cycles: it exists on every VM, and a sample is a
	 * fixed slice of time, which is what converts samples to seconds.
	 */
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.size = sizeof(attr),
		.sample_period = period_ns,
	};

	return syscall(__NR_perf_event_open, &attr, -1, cpu, -1,
		       PERF_FLAG_FD_CLOEXEC);
}

static int oncpu__attach(struct oncpu *oc, int only_cpu)
{
	int attached = 0;

	for (int cpu = 0; cpu < oc->ncpus; cpu++) {
		if (only_cpu >= 0 && cpu != only_cpu)
			continue;
		oc->pmu_fds[cpu] = open_cpu_clock(cpu, oc->period_ns);
		if (oc->pmu_fds[cpu] < 0) {
			if (errno == ENODEV)	/* offline CPU */
				continue;
			log_error("cpu %d: perf_event_open failed: %s", cpu,
				  strerror(errno));
			return -errno;
		}
		oc->links[cpu] = bpf_program__attach_perf_event(
			oc->skel->progs.do_sample, oc->pmu_fds[cpu]);
		if (!oc->links[cpu]) {
			log_error("cpu %d: attach failed: %s", cpu, strerror(errno));
			return -errno;
		}
		/* The link owns the event; a copy changes its period. */
		oc->pmu_fds[cpu] = fcntl(oc->pmu_fds[cpu], F_DUPFD_CLOEXEC, 0);
		if (oc->pmu_fds[cpu] < 0) {
			log_error("cpu %d: dup: %s", cpu, strerror(errno));
			return -errno;
		}
		attached++;
	}
	if (!attached) {
		log_error("no online CPU to sample%s",
			  only_cpu >= 0 ? " (is --cpu online?)" : "");
		return -ENODEV;
	}
	return 0;
}

/*
 * What oncpu__pause waits with: updating a map-in-map with an inner map
 * returns only after synchronize_rcu() (the kernel's
 * maybe_wait_bpf_programs, there since 5.0 so that user space knows no
 * program still uses the old inner map; its selftests rely on it the same
 * way). The sampler runs from the perf interrupt under rcu_read_lock, so
 * once the update returns, every run that began before it has ended.
 */
static int oncpu__make_sync(struct oncpu *oc)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);

	oc->sync_inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sync_inner",
					sizeof(__u32), sizeof(__u32), 1, NULL);
	if (oc->sync_inner < 0)
		return -errno;
	opts.inner_map_fd = oc->sync_inner;
	oc->sync_outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "sync_rcu",
					sizeof(__u32), sizeof(__u32), 1, &opts);
	return oc->sync_outer < 0 ? -errno : 0;
}

static int oncpu__alloc_cpus(struct oncpu *oc)
{
	oc->ncpus = libbpf_num_possible_cpus();
	if (oc->ncpus <= 0)
		return oc->ncpus ? oc->ncpus : -ENODEV;
	oc->links = calloc(oc->ncpus, sizeof(*oc->links));
	oc->pmu_fds = malloc(oc->ncpus * sizeof(*oc->pmu_fds));
	if (!oc->links || !oc->pmu_fds)
		return -ENOMEM;
	for (int i = 0; i < oc->ncpus; i++)
		oc->pmu_fds[i] = -1;
	return 0;
}

struct oncpu *oncpu__start(const struct oncpu_config *cfg)
{
	struct oncpu *oc = calloc(1, sizeof(*oc));
	int err;

	if (!oc)
		return NULL;
	oc->period_ns = 1000000000ULL / cfg->frequency;
	oc->value_count = cfg->value_count;
	oc->value_ns = cfg->value_ns;
	oc->sync_outer = oc->sync_inner = -1;
	err = oncpu__alloc_cpus(oc);
	if (err)
		goto cleanup;
	err = oncpu__make_sync(oc);
	if (err) {
		log_error("on-CPU sampler: map-in-map for pauses: %s",
			  strerror(-err));
		goto cleanup;
	}
	oc->skel = oncpu_bpf__open();
	if (!oc->skel) {
		err = -errno;
		log_error("on-CPU sampler: open failed: %s", strerror(-err));
		goto cleanup;
	}
	err = oncpu__configure(oc, cfg);
	if (err) {
		log_error("on-CPU sampler: map sizes: %s", strerror(-err));
		goto cleanup;
	}
	err = oncpu_bpf__load(oc->skel);
	if (err) {
		log_error("on-CPU sampler: load failed: %s (-v shows the verifier log)",
			  strerror(-err));
		goto cleanup;
	}
	{
		struct filter_vars fv = FILTER_VARS_OF(oc->skel);

		err = filter__fill(&fv, &cfg->filter);
	}
	if (err) {
		log_error("on-CPU sampler: filters: %s", strerror(-err));
		goto cleanup;
	}
	oc->skel->bss->window_start_ns = UINT64_MAX;
	if (!cfg->shared) {
		oc->exec_link = bpf_program__attach(oc->skel->progs.on_exec);
		oc->exit_link = bpf_program__attach(oc->skel->progs.on_proc_exit);
	}
	if (!cfg->shared && (!oc->exec_link || !oc->exit_link)) {
		err = -errno;
		log_error("on-CPU sampler: attach exec/exit hook: %s",
			  strerror(-err));
		goto cleanup;
	}
	err = oncpu__attach(oc, cfg->cpu);
cleanup:
	if (err) {
		oncpu__free(oc);
		errno = -err;
		return NULL;
	}
	return oc;
}

void oncpu__begin(struct oncpu *oc, uint64_t now_ns)
{
	oc->skel->bss->window_start_ns = now_ns;
}

/*
 * A sample that read the old window start may still be on its way into
 * the maps as the window closes: collected late, or landing after the
 * maps are emptied with a stack id that no longer names its stack. So
 * the pause waits for a grace period (oncpu__make_sync) after which no
 * such run is left; later ones see the new start and count nothing
 * (ONCPU_STAT_OUTSIDE_WINDOW). Chosen over stamping samples with an epoch:
 * no sample is thrown away, and the keys stay as they are. The cost is
 * one synchronize_rcu() a window, a few milliseconds.
 */
int oncpu__pause(struct oncpu *oc)
{
	__u32 zero = 0;

	__atomic_store_n(&oc->skel->bss->window_start_ns, UINT64_MAX,
			 __ATOMIC_SEQ_CST);
	if (bpf_map_update_elem(oc->sync_outer, &zero, &oc->sync_inner, BPF_ANY))
		return -errno;
	return 0;
}

int oncpu__empty(struct oncpu *oc)
{
	int err = map__empty(oc->skel->maps.counts);

	err = map__empty(oc->skel->maps.ustacks) ?: err;
	return map__empty(oc->skel->maps.stacks) ?: err;
}

void oncpu__stop(struct oncpu *oc)
{
	for (int i = 0; i < oc->ncpus; i++) {
		bpf_link__destroy(oc->links[i]);
		oc->links[i] = NULL;
		if (oc->pmu_fds[i] >= 0)
			close(oc->pmu_fds[i]);
		oc->pmu_fds[i] = -1;
	}
}

void oncpu__free(struct oncpu *oc)
{
	if (!oc)
		return;
	if (oc->links && oc->pmu_fds)
		oncpu__stop(oc);
	bpf_link__destroy(oc->exec_link);
	bpf_link__destroy(oc->exit_link);
	oncpu_bpf__destroy(oc->skel);
	if (oc->sync_outer >= 0)
		close(oc->sync_outer);
	if (oc->sync_inner >= 0)
		close(oc->sync_inner);
	free(oc->links);
	free(oc->pmu_fds);
	free(oc);
}

int oncpu__prog_fd(const struct oncpu *oc)
{
	return bpf_program__fd(oc->skel->progs.do_sample);
}

int oncpu__stats_fd(const struct oncpu *oc)
{
	return bpf_map__fd(oc->skel->maps.stats);
}

void oncpu__shared_maps(const struct oncpu *oc, struct shared_maps *out)
{
	out->notices.noticed_fd = bpf_map__fd(oc->skel->maps.noticed_procs);
	out->notices.ring_fd = bpf_map__fd(oc->skel->maps.proc_notices);
	unwind_bpf_maps__fds(&UNWIND_BPF_MAPS_OF(oc->skel), &out->unwind);
}

int oncpu__read_stats(struct oncpu *oc, uint64_t *stats)
{
	return percpu_counters__read(bpf_map__fd(oc->skel->maps.stats),
				     ONCPU_STAT_MAX, stats);
}

uint64_t oncpu__period_ns(const struct oncpu *oc)
{
	return oc->period_ns;
}

unsigned int oncpu__frequency(const struct oncpu *oc)
{
	return (unsigned int)(1000000000ULL / oc->period_ns);
}

int oncpu__set_frequency(struct oncpu *oc, unsigned int hz)
{
	uint64_t period = 1000000000ULL / (hz ? hz : 1);

	for (int cpu = 0; cpu < oc->ncpus; cpu++)
		if (oc->pmu_fds[cpu] >= 0 &&
		    ioctl(oc->pmu_fds[cpu], PERF_EVENT_IOC_PERIOD, &period))
			return -errno;
	oc->period_ns = period;
	return 0;
}

/* ---- reading the counts map ---- */

static enum stack_status read_stack(int fd, bool user, __s32 id,
				    __u64 *ips, uint32_t *n)
{
	int depth;

	*n = 0;
	if (id < 0)
		return STACK_NONE;
	depth = user ? ustack_map__read(fd, id, (uint64_t *)ips) :
		       stack_map__read(fd, id, (uint64_t *)ips);
	if (depth < 0)
		return STACK_LOST;	/* evicted from the stack map */
	*n = depth;
	return STACK_OK;
}

static int add_sample(struct oncpu *oc, struct recorder *rec,
		      const struct oncpu_key *k, const struct oncpu_value *v)
{
	char comm[TASK_COMM_LEN + 1] = {}, pcomm[TASK_COMM_LEN + 1] = {};
	__u64 uips[MAX_STACK_DEPTH], kips[MAX_STACK_DEPTH];
	int kfd = bpf_map__fd(oc->skel->maps.stacks);
	int ufd = bpf_map__fd(oc->skel->maps.ustacks);
	struct raw_sample s = {
		.cgroup_id = k->cgroup_id, .tgid = k->tgid, .tid = k->tid,
		.proc_start_ns = k->proc_start_ns,
		.comm = comm, .pcomm = pcomm,
		.user_ips = (uint64_t *)uips, .kern_ips = (uint64_t *)kips,
	};

	memcpy(comm, v->comm, TASK_COMM_LEN);
	memcpy(pcomm, v->pcomm, TASK_COMM_LEN);
	s.user = read_stack(ufd, true, k->user_stack_id, uips, &s.nuser);
	s.kern = read_stack(kfd, false, k->kern_stack_id, kips, &s.nkern);
	/*
	 * A failed walk leaves -errno instead of STACK_ID_NONE; a kernel
	 * stack is legitimately absent (-EFAULT) for a sample in user mode.
	 * (-EEXIST and -ENOMEM: walked, but not kept.)
	 */
	if (k->user_stack_id < 0 && k->user_stack_id != STACK_ID_NONE)
		s.user = STACK_LOST;
	if (k->kern_stack_id < 0 && k->kern_stack_id != STACK_ID_NONE &&
	    k->kern_stack_id != -EFAULT)
		s.kern = STACK_LOST;
	if (oc->value_count >= 0)
		s.values[oc->value_count] = v->count;
	if (oc->value_ns >= 0)
		s.values[oc->value_ns] = v->ns;
	return recorder__add(rec, &s);
}

int oncpu__collect(struct oncpu *oc, struct symbolizer *sym,
		   struct recorder *rec)
{
	struct map_entries e = {
		.ksz = sizeof(struct oncpu_key), .vsz = sizeof(struct oncpu_value),
	};
	int err = map_entries__read(&e, bpf_map__fd(oc->skel->maps.counts));

	for (size_t i = 0; !err && i < e.n; i++) {
		const struct oncpu_key *key = (const void *)(e.keys + i * e.ksz);

		if (!symbolizer__has_process_at(sym, key->tgid, key->proc_start_ns))
			symbolizer__add_process(sym, key->tgid);
		err = add_sample(oc, rec, key, (const void *)(e.vals + i * e.vsz));
	}
	map_entries__free(&e);
	return err;
}

const struct stat_desc *oncpu_stat__desc(void)
{
	return stat_descs;
}

int oncpu__validate_fd(const struct oncpu *oc)
{
	return bpf_map__fd(oc->skel->maps.unwind_samples);
}
