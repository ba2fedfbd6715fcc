// SPDX-License-Identifier: MIT
#include <errno.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "oncpu.skel.h"
#include "log.h"
#include "oncpu_collector.h"
#include "profile.h"
#include "symbolize.h"

#define FRAME_NAME_MAX 512
#define MAX_FRAMES (2 * MAX_STACK_DEPTH + 2)

struct oncpu {
	struct oncpu_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links;
	int *pmu_fds;
	int ncpus;
	uint64_t period_ns;
	new_proc_fn cb;
	void *cb_ctx;
};

static int fill_filter(int map_fd, const uint32_t *ids, size_t n)
{
	__u8 one = 1;

	for (size_t i = 0; i < n; i++)
		if (bpf_map_update_elem(map_fd, &ids[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

static int oncpu__configure(struct oncpu *oc, const struct oncpu_config *cfg)
{
	struct oncpu_bpf *s = oc->skel;
	int err;

	s->rodata->filter_pids = cfg->npids > 0;
	s->rodata->filter_tids = cfg->ntids > 0;
	s->rodata->filter_cgroup = cfg->cgroup_fd >= 0;
	s->rodata->user_stacks = cfg->user_stacks;
	s->rodata->kernel_stacks = cfg->kernel_stacks;
	err = bpf_map__set_max_entries(s->maps.counts, cfg->max_entries);
	err = err ?: bpf_map__set_max_entries(s->maps.stacks, cfg->max_stacks);
	err = err ?: bpf_map__set_max_entries(s->maps.pid_filter,
					      cfg->npids ? cfg->npids : 1);
	err = err ?: bpf_map__set_max_entries(s->maps.tid_filter,
					      cfg->ntids ? cfg->ntids : 1);
	err = err ?: bpf_map__set_max_entries(s->maps.seen_procs, 65536);
	return err;
}

static int oncpu__fill_filters(struct oncpu *oc, const struct oncpu_config *cfg)
{
	struct oncpu_bpf *s = oc->skel;
	__u32 zero = 0;
	int err;

	err = fill_filter(bpf_map__fd(s->maps.pid_filter), cfg->pids, cfg->npids);
	err = err ?: fill_filter(bpf_map__fd(s->maps.tid_filter), cfg->tids,
				 cfg->ntids);
	if (!err && cfg->cgroup_fd >= 0 &&
	    bpf_map_update_elem(bpf_map__fd(s->maps.cgroup_filter), &zero,
				&cfg->cgroup_fd, BPF_ANY))
		err = -errno;
	return err;
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
		attached++;
	}
	if (!attached) {
		log_error("no online CPU to sample%s",
			  only_cpu >= 0 ? " (is --cpu online?)" : "");
		return -ENODEV;
	}
	return 0;
}

static int on_new_proc(void *ctx, void *data, size_t len)
{
	struct oncpu *oc = ctx;
	const struct oncpu_new_proc *e = data;

	if (len >= sizeof(*e) && oc->cb)
		oc->cb(e->tgid, oc->cb_ctx);
	return 0;
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
	err = oncpu__alloc_cpus(oc);
	if (err)
		goto cleanup;
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
	err = oncpu__fill_filters(oc, cfg);
	if (err) {
		log_error("on-CPU sampler: filters: %s", strerror(-err));
		goto cleanup;
	}
	oc->rb = ring_buffer__new(bpf_map__fd(oc->skel->maps.new_procs),
				  on_new_proc, oc, NULL);
	if (!oc->rb) {
		err = -errno;
		log_error("on-CPU sampler: ring buffer: %s", strerror(-err));
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
	ring_buffer__free(oc->rb);
	oncpu_bpf__destroy(oc->skel);
	free(oc->links);
	free(oc->pmu_fds);
	free(oc);
}

int oncpu__poll(struct oncpu *oc, int timeout_ms, new_proc_fn cb, void *ctx)
{
	int n;

	oc->cb = cb;
	oc->cb_ctx = ctx;
	n = ring_buffer__poll(oc->rb, timeout_ms);
	return n == -EINTR ? 0 : n;
}

int oncpu__read_stats(struct oncpu *oc, uint64_t *stats)
{
	int fd = bpf_map__fd(oc->skel->maps.stats);
	uint64_t *percpu = calloc(oc->ncpus, sizeof(*percpu));
	int err = 0;

	if (!percpu)
		return -ENOMEM;
	for (__u32 i = 0; i < ONCPU_STAT_MAX && !err; i++) {
		stats[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, percpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < oc->ncpus; c++)
			stats[i] += percpu[c];
	}
	free(percpu);
	return err;
}

uint64_t oncpu__period_ns(const struct oncpu *oc)
{
	return oc->period_ns;
}

/* ---- reading the counts map into the profile ---- */

struct stack_reader {
	struct symbolizer *sym;
	struct profile *p;
	int stacks_fd;
	uint32_t frames[MAX_FRAMES];
	uint32_t n;
};

static int push_frame(struct stack_reader *r, const char *name,
		      enum frame_kind kind)
{
	int64_t id;

	if (r->n == MAX_FRAMES)
		return -E2BIG;
	id = profile__frame(r->p, name, kind);
	if (id < 0)
		return id;
	r->frames[r->n++] = id;
	return 0;
}

/* Appends one stack, root first; the map holds it leaf first. */
static int push_stack(struct stack_reader *r, __s32 stack_id, uint32_t pid,
		      bool kernel)
{
	__u64 ips[MAX_STACK_DEPTH] = {};
	char name[FRAME_NAME_MAX];
	int depth, err;

	if (bpf_map_lookup_elem(r->stacks_fd, &stack_id, ips))
		return -errno;
	for (depth = 0; depth < MAX_STACK_DEPTH && ips[depth]; depth++)
		;
	for (int i = depth - 1; i >= 0; i--) {
		if (kernel)
			symbolizer__kernel(r->sym, ips[i], name, sizeof(name));
		else
			symbolizer__user(r->sym, pid, ips[i], name, sizeof(name));
		err = push_frame(r, name, kernel ? FRAME_KERNEL : FRAME_USER);
		if (err)
			return err;
	}
	return 0;
}

static int push_stack_or_marker(struct stack_reader *r, __s32 stack_id,
				uint32_t pid, bool kernel)
{
	int err = push_stack(r, stack_id, pid, kernel);

	/* The stack was evicted from the map: keep the time, say so. */
	if (err == -ENOENT)
		err = push_frame(r, kernel ? "[kernel stack lost]" :
				 "[user stack lost]", FRAME_MARKER);
	return err;
}

static int add_sample(struct stack_reader *r, const struct oncpu_key *k,
		      const struct oncpu_value *v, uint64_t period_ns)
{
	char comm[TASK_COMM_LEN + 1] = {}, pcomm[TASK_COMM_LEN + 1] = {};
	uint64_t values[PROFILE_MAX_VALUES] = { v->count, v->count * period_ns };
	int err;

	memcpy(comm, v->comm, TASK_COMM_LEN);
	memcpy(pcomm, v->pcomm, TASK_COMM_LEN);
	r->n = 0;
	err = push_frame(r, pcomm[0] ? pcomm : comm, FRAME_PROCESS);
	/* A missing stack (-U/-K, kernel thread, failed walk) is left out. */
	if (!err && k->user_stack_id >= 0)
		err = push_stack_or_marker(r, k->user_stack_id, k->tgid, false);
	if (!err && k->kern_stack_id >= 0)
		err = push_stack_or_marker(r, k->kern_stack_id, k->tgid, true);
	if (!err && r->n == 1)
		err = push_frame(r, "[no stack]", FRAME_MARKER);
	if (err)
		return err;
	return profile__add(r->p, k->tgid, k->tid, comm, r->frames, r->n, values);
}

int oncpu__collect(struct oncpu *oc, struct symbolizer *sym, struct profile *p)
{
	struct stack_reader r = {
		.sym = sym, .p = p,
		.stacks_fd = bpf_map__fd(oc->skel->maps.stacks),
	};
	int fd = bpf_map__fd(oc->skel->maps.counts);
	struct oncpu_key key, next;
	struct oncpu_value val;
	void *prev = NULL;
	int err = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val))
			continue;	/* deleted meanwhile */
		if (!symbolizer__has_process(sym, key.tgid))
			symbolizer__add_process(sym, key.tgid);
		err = add_sample(&r, &key, &val, oc->period_ns);
		if (err)
			break;
	}
	return err;
}
