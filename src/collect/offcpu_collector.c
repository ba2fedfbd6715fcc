// SPDX-License-Identifier: MIT
/* The off-CPU tracer's user side (offcpu_collector.h) and its counters. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "offcpu.skel.h"
#include "log.h"
#include "offcpu_collector.h"
#include "record.h"
#include "stacks.h"
#include "symbolize.h"

struct offcpu {
	struct offcpu_bpf *skel;
	struct bpf_link *link;
	struct bpf_link *iter;	/* made at start: the sandbox forbids it later */
	struct bpf_link *seed;
	struct bpf_link *exec_link, *exit_link;
	struct bpf_link *newtask_link;
	int value_ns, value_count;
	bool stopped;		/* detach link once the open intervals are read */
};

static const struct prom_family switches = {
	"sysscope_offcpu_switches_total", PROM_COUNTER,
	"Switch-outs of the threads the off-CPU tracer follows (sampled: "
	"each recorded one counts the period).",
}, short_intervals = {
	"sysscope_offcpu_short_intervals_total", PROM_COUNTER,
	"Off-CPU intervals under --min-block (not counted).",
}, intervals = {
	"sysscope_offcpu_intervals_total", PROM_COUNTER,
	"Off-CPU intervals counted.",
}, stacks_reused = {
	"sysscope_offcpu_user_stacks_reused_total", PROM_COUNTER,
	"Off-CPU user stacks found unchanged since the thread last blocked there, not walked again.",
}, kstacks_reused = {
	"sysscope_offcpu_kernel_stacks_reused_total", PROM_COUNTER,
	"Off-CPU kernel stacks taken from the thread's last wake-up from the same place (same system call, first argument and user registers; a kernel thread's saved stack pointer), walked again once in 32.",
}, recorded = {
	"sysscope_offcpu_recorded_switches_total", PROM_COUNTER,
	"Switch-outs recorded: all of them, or those --cpu-budget leaves.",
}, seed_stacks_lost = {
	"sysscope_offcpu_start_user_stacks_lost_total", PROM_COUNTER,
	"User stacks of threads asleep when the run began that could not be walked or kept.",
};

#define OFF "collector=\"offcpu\","

static const struct stat_desc stat_descs[OFFCPU_STAT_MAX] = {
	[OFFCPU_STAT_SWITCHES] = { "off-CPU: switches", &switches, NULL },
	[OFFCPU_STAT_SHORT] = { "off-CPU: under --min-block",
		&short_intervals, NULL },
	[OFFCPU_STAT_COUNTED] = { "off-CPU: intervals counted", &intervals, NULL },
	[OFFCPU_STAT_LOST_MAP_FULL] = { "off-CPU: lost, counts map full",
		&lost_samples_family, OFF "reason=\"counts_map_full\"" },
	[OFFCPU_STAT_LOST_NO_STORAGE] = { "off-CPU: lost, no thread slot",
		&lost_samples_family, OFF "reason=\"no_thread_slot\"" },
	[OFFCPU_STAT_KSTACK_FAILED] = { "off-CPU: kernel stack failed",
		&stack_failures_family, OFF "stack=\"kernel\",reason=\"walk_failed\"" },
	[OFFCPU_STAT_KSTACK_MAP_FULL] = { "off-CPU: kernel stack lost, stack map full",
		&stack_failures_family, OFF "stack=\"kernel\",reason=\"map_full\"" },
	[OFFCPU_STAT_USTACK_FAILED] = { "off-CPU: user stack failed",
		&stack_failures_family, OFF "stack=\"user\",reason=\"walk_failed\"" },
	[OFFCPU_STAT_USTACK_COLLISION] = { "off-CPU: user stack lost, hash collision",
		&stack_failures_family, OFF "stack=\"user\",reason=\"collision\"" },
	[OFFCPU_STAT_USTACK_MAP_FULL] = { "off-CPU: user stack lost, stack map full",
		&stack_failures_family, OFF "stack=\"user\",reason=\"map_full\"" },
	[OFFCPU_STAT_USTACK_NO_MEMORY] = { "off-CPU: user stack lost, not allocated",
		&stack_failures_family, OFF "stack=\"user\",reason=\"no_memory\"" },
	[OFFCPU_STAT_USTACK_REUSED] = { "off-CPU: user stacks reused",
		&stacks_reused, NULL },
	[OFFCPU_STAT_KSTACK_REUSED] = { "off-CPU: kernel stacks reused",
		&kstacks_reused, NULL },
	[OFFCPU_STAT_NOTICE_LOST] = { "off-CPU: process notices lost",
		&notices_lost_family, "collector=\"offcpu\"" },
	[OFFCPU_STAT_SEED_USTACK_LOST] = { "off-CPU: user stack at start lost",
		&seed_stacks_lost, NULL },
	[OFFCPU_STAT_RECORDED] = { "off-CPU: switches recorded", &recorded, NULL },
	[OFFCPU_STAT_RECORD_NS] = { "off-CPU: ns recording", NULL, NULL },
};

static const char *const reason_names[OFFCPU_REASON_MAX] = {
	[OFFCPU_RUNQUEUE] = "runqueue",
	[OFFCPU_SLEEP] = "sleep",
	[OFFCPU_IO] = "io",
	[OFFCPU_THROTTLED] = "throttled",
	[OFFCPU_OTHER] = "other",
};

const char *offcpu_reason__name(enum offcpu_reason r)
{
	return r < OFFCPU_REASON_MAX ? reason_names[r] : "other";
}

static int offcpu__configure(struct offcpu *oc, const struct offcpu_config *cfg)
{
	struct offcpu_bpf *s = oc->skel;
	struct filter_vars fv = FILTER_VARS_OF(s);
	uint32_t stacks = cfg->max_stacks < OFFCPU_STACKS_MAX ? cfg->max_stacks :
			  OFFCPU_STACKS_MAX;
	int err;

	s->rodata->min_block_ns = cfg->min_block_ns;
	s->rodata->user_stacks = cfg->user_stacks;
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
	/*
	 * The walker's stacks are allocated at run time for the on-CPU
	 * sampler; here they are written in sched_switch, which must not
	 * allocate (bpf/offcpu.bpf.c): preallocated, and so capped.
	 */
	err = err ?: bpf_map__set_map_flags(s->maps.ustacks,
			bpf_map__map_flags(s->maps.ustacks) & ~BPF_F_NO_PREALLOC);
	err = err ?: bpf_map__set_max_entries(s->maps.ustacks, stacks);
	err = err ?: bpf_map__set_max_entries(s->maps.counts, cfg->max_entries);
	err = err ?: bpf_map__set_max_entries(s->maps.kstacks, stacks);
	err = err ?: bpf_map__set_max_entries(s->maps.open_cgroups,
					      cfg->ncgroup_ids ? cfg->ncgroup_ids : 1);
	return err;
}

static int offcpu__attach(struct offcpu *oc, bool exec_hook)
{
	struct bpf_program *prog = oc->skel->progs.on_switch_btf;
	int err;

	if (exec_hook) {
		oc->exec_link = bpf_program__attach(oc->skel->progs.on_exec);
		oc->exit_link = bpf_program__attach(oc->skel->progs.on_proc_exit);
	}
	if (exec_hook && (!oc->exec_link || !oc->exit_link)) {
		err = -errno;
		log_error("off-CPU tracer: attach exec/exit hook: %s",
			  strerror(-err));
		return err;
	}
	/* Before the seed runs (offcpu__begin): no thread is missed. */
	oc->newtask_link = bpf_program__attach(oc->skel->progs.on_newtask);
	if (!oc->newtask_link) {
		err = -errno;
		log_error("off-CPU tracer: attach tp_btf/task_newtask: %s",
			  strerror(-err));
		return err;
	}
	oc->seed = bpf_program__attach_iter(oc->skel->progs.seed_open, NULL);
	oc->iter = bpf_program__attach_iter(oc->skel->progs.dump_open, NULL);
	if (!oc->iter || !oc->seed) {
		err = -errno;
		log_error("off-CPU tracer: task iterator: %s", strerror(-err));
		return err;
	}
	/* No window yet: offcpu__begin() opens it once all is attached. */
	oc->skel->bss->run_start_ns = UINT64_MAX;
	oc->link = bpf_program__attach(prog);
	if (!oc->link) {
		err = -errno;
		log_error("off-CPU tracer: attach tp_btf/sched_switch: %s",
			  strerror(-err));
		return err;
	}
	return 0;
}

struct offcpu *offcpu__start(const struct offcpu_config *cfg)
{
	struct offcpu *oc = calloc(1, sizeof(*oc));
	struct filter_vars fv;
	int err;

	if (!oc)
		return NULL;
	oc->value_ns = cfg->value_ns;
	oc->value_count = cfg->value_count;
	oc->skel = offcpu_bpf__open();
	if (!oc->skel) {
		err = -errno;
		log_error("off-CPU tracer: open failed: %s", strerror(-err));
		goto cleanup;
	}
	err = offcpu__configure(oc, cfg);
	if (err) {
		log_error("off-CPU tracer: configure: %s", strerror(-err));
		goto cleanup;
	}
	err = offcpu_bpf__load(oc->skel);
	if (err) {
		log_error("off-CPU tracer: load failed: %s (-v shows the verifier log)",
			  strerror(-err));
		goto cleanup;
	}
	fv = FILTER_VARS_OF(oc->skel);
	err = filter__fill(&fv, &cfg->filter);
	for (size_t i = 0; i < cfg->ncgroup_ids && !err; i++) {
		__u8 one = 1;

		if (bpf_map_update_elem(bpf_map__fd(oc->skel->maps.open_cgroups),
					&cfg->cgroup_ids[i], &one, BPF_ANY))
			err = -errno;
	}
	if (err) {
		log_error("off-CPU tracer: filters: %s", strerror(-err));
		goto cleanup;
	}
	err = offcpu__attach(oc, !cfg->shared);
cleanup:
	if (err) {
		offcpu__free(oc);
		errno = -err;
		return NULL;
	}
	return oc;
}

/* Runs an iterator to its end (it writes nothing we need). */
static int run_iter(struct bpf_link *link)
{
	char buf[64];
	int fd = bpf_iter_create(bpf_link__fd(link));
	ssize_t n;

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	close(fd);
	return n < 0 ? -errno : 0;
}

int offcpu__begin(struct offcpu *oc, uint64_t now_ns)
{
	oc->skel->bss->run_start_ns = now_ns;
	/* Threads asleep since before the run: their wait starts now. */
	return run_iter(oc->seed);
}

void offcpu__end_window(struct offcpu *oc, uint64_t now_ns)
{
	__atomic_store_n(&oc->skel->bss->run_end_ns, now_ns, __ATOMIC_RELEASE);
}

int offcpu__empty(struct offcpu *oc, bool stacks)
{
	int err = map__empty(oc->skel->maps.counts);

	if (!stacks)
		return err;
	err = map__empty(oc->skel->maps.kstacks) ?: err;
	err = map__empty(oc->skel->maps.ustacks) ?: err;
	/* After emptying: ids taken until now may name deleted stacks. */
	__atomic_fetch_add(&oc->skel->bss->stack_epoch, 1, __ATOMIC_SEQ_CST);
	return err;
}

void offcpu__next_window(struct offcpu *oc, uint64_t now_ns)
{
	/* Start first: with the end cleared first, the gap would count. */
	__atomic_store_n(&oc->skel->bss->run_start_ns, now_ns,
			 __ATOMIC_SEQ_CST);
	__atomic_store_n(&oc->skel->bss->run_end_ns, 0, __ATOMIC_SEQ_CST);
}

void offcpu__set_record_rate(struct offcpu *oc, uint32_t rate)
{
	__atomic_store_n(&oc->skel->bss->record_rate, rate, __ATOMIC_RELAXED);
}

uint32_t offcpu__record_rate(const struct offcpu *oc)
{
	return oc->skel->bss->record_rate;
}

void offcpu__stop(struct offcpu *oc, uint64_t now_ns)
{
	if (!oc->link)
		return;
	/* Threads off the CPU now have intervals open until this moment. */
	oc->skel->bss->run_end_ns = now_ns;
	/*
	 * Still attached until the open intervals are read (offcpu__collect):
	 * a thread that wakes meanwhile takes its kernel stack as it wakes
	 * (start.ended). Detached now, it would be walked where it sleeps at
	 * the dump, which may be another wait.
	 */
	oc->stopped = true;
}

void offcpu__free(struct offcpu *oc)
{
	if (!oc)
		return;
	bpf_link__destroy(oc->link);
	bpf_link__destroy(oc->iter);
	bpf_link__destroy(oc->seed);
	bpf_link__destroy(oc->exec_link);
	bpf_link__destroy(oc->exit_link);
	bpf_link__destroy(oc->newtask_link);
	offcpu_bpf__destroy(oc->skel);
	free(oc);
}

int offcpu__prog_fd(const struct offcpu *oc)
{
	return bpf_program__fd(oc->skel->progs.on_switch_btf);
}

int offcpu__stats_fd(const struct offcpu *oc)
{
	return bpf_map__fd(oc->skel->maps.stats);
}

void offcpu__shared_maps(const struct offcpu *oc, struct shared_maps *out)
{
	out->notices.noticed_fd = bpf_map__fd(oc->skel->maps.noticed_procs);
	out->notices.ring_fd = bpf_map__fd(oc->skel->maps.proc_notices);
	unwind_bpf_maps__fds(&UNWIND_BPF_MAPS_OF(oc->skel), &out->unwind);
}


int offcpu__read_stats(struct offcpu *oc, uint64_t *stats)
{
	return percpu_counters__read(bpf_map__fd(oc->skel->maps.stats),
				     OFFCPU_STAT_MAX, stats);
}

/* ---- reading back ---- */

static void set_values(const struct offcpu *oc, struct raw_sample *s,
		       uint64_t ns, uint64_t count)
{
	if (oc->value_ns >= 0)
		s->values[oc->value_ns] = ns;
	if (oc->value_count >= 0)
		s->values[oc->value_count] = count;
}

/*
 * A stack kept whole in a hash (struct stack_ips, zero after the last frame):
 * its frames into ips; the count, or -ENOENT.
 */
static int kstack_read(int map_fd, const void *key, uint64_t *ips)
{
	struct stack_ips k;
	int depth = 0;

	if (bpf_map_lookup_elem(map_fd, key, &k))
		return -ENOENT;
	while (depth < MAX_STACK_DEPTH && k.ips[depth])
		depth++;
	memcpy(ips, k.ips, depth * sizeof(*ips));
	return depth;
}

/* A user stack walked at the start (seed_open), kept under the tid. */
static enum stack_status read_seeded_stack(struct offcpu *oc, uint32_t tid,
					   uint64_t *ips, uint32_t *n)
{
	int depth = kstack_read(bpf_map__fd(oc->skel->maps.seed_ustacks),
				&tid, ips);

	if (depth <= 0)
		return STACK_LOST;
	*n = depth;
	return STACK_OK;
}

static enum stack_status read_user_stack(struct offcpu *oc, __s32 id,
					 uint32_t tid, uint64_t *ips,
					 uint32_t *n)
{
	int depth;

	*n = 0;
	if (id == STACK_ID_NONE)
		return STACK_NONE;
	if (id == STACK_ID_SEEDED)
		return read_seeded_stack(oc, tid, ips, n);
	if (id < 0)
		return STACK_LOST;
	depth = ustack_map__read(bpf_map__fd(oc->skel->maps.ustacks), id, ips);
	if (depth < 0)
		return STACK_LOST;
	*n = depth;
	return STACK_OK;
}

/*
 * Scheduler internals at the leaf of a parked task's stack, and our own
 * tracepoint frames when the stack was taken at switch-out.
 */
static bool is_switch_frame(const char *name)
{
	static const char *const names[] = {
		"__switch_to_asm", "__switch_to", "__schedule", "schedule",
		"finish_task_switch", "schedule_preempt_disabled",
		"bpf_trace_run4", "__bpf_trace_sched_switch",
		"__traceiter_sched_switch",
	};

	if (!strncmp(name, "bpf_prog_", 9))
		return true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t len = strlen(names[i]);

		/* Also the compiler's clones: finish_task_switch.isra.0 */
		if (!strncmp(name, names[i], len) &&
		    (!name[len] || name[len] == '.'))
			return true;
	}
	return false;
}

/*
 * Parked stacks differ in how much of the switch code they show, by how
 * they were taken: drop it, so the leaf is the function that blocked.
 */
static uint32_t trim_switch_frames(struct symbolizer *sym, uint64_t *ips,
				   uint32_t n)
{
	char name[128];
	uint32_t i = 0;

	while (i < n) {
		symbolizer__kernel(sym, ips[i], name, sizeof(name));
		if (!is_switch_frame(name))
			break;
		i++;
	}
	memmove(ips, ips + i, (n - i) * sizeof(*ips));
	return n - i;
}

static enum stack_status read_kernel_stack(struct offcpu *oc,
					   struct symbolizer *sym, __u64 key,
					   uint64_t *ips, uint32_t *n)
{
	int depth;

	*n = 0;
	if (!key)
		return oc->skel->rodata->kernel_stacks ? STACK_LOST : STACK_NONE;
	depth = kstack_read(bpf_map__fd(oc->skel->maps.kstacks), &key, ips);
	if (depth < 0)
		return STACK_LOST;
	*n = trim_switch_frames(sym, ips, (uint32_t)depth);
	return STACK_OK;
}

static int add_interval(struct offcpu *oc, struct symbolizer *sym,
			struct recorder *rec, const struct offcpu_key *k,
			const struct offcpu_value *v)
{
	char comm[TASK_COMM_LEN + 1] = {}, pcomm[TASK_COMM_LEN + 1] = {};
	uint64_t uips[MAX_STACK_DEPTH], kips[MAX_STACK_DEPTH];
	struct raw_sample s = {
		.cgroup_id = k->cgroup_id, .tgid = k->tgid, .tid = k->tid,
		.proc_start_ns = k->proc_start_ns,
		.comm = comm, .pcomm = pcomm, .user_ips = uips, .kern_ips = kips,
		.reason = offcpu_reason__name(k->reason),
	};

	memcpy(comm, v->comm, TASK_COMM_LEN);
	memcpy(pcomm, v->pcomm, TASK_COMM_LEN);
	s.user = read_user_stack(oc, k->user_stack_id, k->tid, uips, &s.nuser);
	s.kern = read_kernel_stack(oc, sym, k->kern_stack, kips, &s.nkern);
	set_values(oc, &s, v->total_ns, v->count);
	return recorder__add(rec, &s);
}

static int collect_counts(struct offcpu *oc, struct symbolizer *sym,
			  struct recorder *rec)
{
	struct map_entries e = {
		.ksz = sizeof(struct offcpu_key),
		.vsz = sizeof(struct offcpu_value),
	};
	int err = map_entries__read(&e, bpf_map__fd(oc->skel->maps.counts));

	for (size_t i = 0; !err && i < e.n; i++) {
		const struct offcpu_key *key = (const void *)(e.keys + i * e.ksz);

		if (!symbolizer__has_process_at(sym, key->tgid, key->proc_start_ns))
			symbolizer__add_process(sym, key->tgid);
		err = add_interval(oc, sym, rec, key,
				   (const void *)(e.vals + i * e.vsz));
	}
	map_entries__free(&e);
	return err;
}

static int add_open(struct offcpu *oc, struct symbolizer *sym,
		    struct recorder *rec, struct offcpu_open *o)
{
	char comm[TASK_COMM_LEN + 1] = {}, pcomm[TASK_COMM_LEN + 1] = {};
	uint64_t *kips = (uint64_t *)o->kern, *uips = (uint64_t *)o->user;
	uint32_t weight;
	struct raw_sample s = {
		.cgroup_id = o->cgroup_id, .tgid = o->tgid, .tid = o->tid,
		.proc_start_ns = o->proc_start_ns,
		.comm = comm, .pcomm = pcomm, .user_ips = uips, .kern_ips = kips,
		.reason = offcpu_reason__name(o->reason),
	};

	if (o->nuser > MAX_STACK_DEPTH || o->nkern > MAX_STACK_DEPTH)
		return 0;	/* not from our program: ignore */
	memcpy(comm, o->comm, TASK_COMM_LEN);
	memcpy(pcomm, o->pcomm, TASK_COMM_LEN);
	if (!symbolizer__has_process_at(sym, o->tgid, o->proc_start_ns))
		symbolizer__add_process(sym, o->tgid);
	if (o->user_stack_id != STACK_ID_NONE) {
		s.user = read_user_stack(oc, o->user_stack_id, o->tid, uips,
					 &s.nuser);
	} else {
		s.nuser = o->nuser;
		s.user = o->nuser ? STACK_OK : STACK_NONE;
	}
	s.nkern = trim_switch_frames(sym, kips, o->nkern);
	s.kern = s.nkern ? STACK_OK : STACK_NONE;
	weight = o->weight ? o->weight : 1;
	set_values(oc, &s, o->delta_ns * weight, weight);
	return recorder__add(rec, &s);
}

/* Runs the task iterator: one record per thread still off the CPU. */
static int collect_open(struct offcpu *oc, struct symbolizer *sym,
			struct recorder *rec)
{
	struct offcpu_open *o = malloc(sizeof(*o));
	int fd = -1, err = 0;
	ssize_t n;

	if (!o)
		return -ENOMEM;
	fd = bpf_iter_create(bpf_link__fd(oc->iter));
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	while (!err && (n = read(fd, o, sizeof(*o))) == sizeof(*o))
		err = add_open(oc, sym, rec, o);
	if (!err && n < 0)
		err = -errno;
	else if (!err && n > 0)
		err = -EIO;	/* a partial record: the iterator broke off */
out:
	if (fd >= 0)
		close(fd);
	free(o);
	return err;
}

int offcpu__collect(struct offcpu *oc, struct symbolizer *sym,
		    struct recorder *rec)
{
	int err = collect_counts(oc, sym, rec);

	if (err)
		return err;
	err = collect_open(oc, sym, rec);
	if (err)
		log_error("off-CPU tracer: intervals open at the end: %s",
			  strerror(-err));
	if (oc->stopped) {
		bpf_link__destroy(oc->link);
		oc->link = NULL;
	}
	return err;
}

const struct stat_desc *offcpu_stat__desc(void)
{
	return stat_descs;
}
