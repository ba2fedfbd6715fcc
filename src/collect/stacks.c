// SPDX-License-Identifier: MIT
/* Stacks read back from BPF maps and named; helpers both collectors share. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include "python_frames.h"
#include "stacks.h"
#include "symbolize.h"
#include "unwind.h"

#define FRAME_NAME_MAX 512

const struct prom_family lost_samples_family = {
	"sysscope_lost_samples_total", PROM_COUNTER,
	"On-CPU samples and off-CPU intervals dropped, by collector and cause.",
}, stack_failures_family = {
	"sysscope_stack_walk_failures_total", PROM_COUNTER,
	"Samples counted without a stack, by collector, stack (kernel, user) and cause: the walk failed, a hash collision, or the stack map full.",
}, notices_lost_family = {
	"sysscope_process_notices_lost_total", PROM_COUNTER,
	"First sightings of processes lost (ring buffer full): their maps are read late, if at all.",
};

void stack_builder__reset(struct stack_builder *b)
{
	b->n = 0;
}

static int push_id(struct stack_builder *b, int64_t id)
{
	if (id < 0)
		return id;
	if (b->n == STACK_MAX_FRAMES)
		return -E2BIG;
	b->frames[b->n++] = id;
	return 0;
}

int stack_builder__push(struct stack_builder *b, const char *name,
			enum frame_kind kind)
{
	if (b->n == STACK_MAX_FRAMES)
		return -E2BIG;
	return push_id(b, profile__frame(b->p, name, kind));
}

static uint32_t depth_of(const uint64_t *ips, uint32_t n)
{
	uint32_t d = 0;

	while (d < n && d < STACK_MAX_DEPTH && ips[d])
		d++;
	return d;
}

/* The frame of ip (or its Python run), with its inlined calls, root first. */
static int push_native(struct stack_builder *b, uint32_t pid, uint64_t start_ns,
		       uint64_t ip, int i)
{
	struct user_frames *uf = &b->user;
	int err;

	symbolizer__user_frames(b->sym, pid, start_ns, ip, i > 0, uf);
	for (size_t j = uf->n; j-- > 0;) {
		const struct user_frame *f = &uf->f[j];
		struct profile_frame pf = {
			.name = f->name, .kind = FRAME_USER,
			.file = f->file, .line = f->line,
			.start_line = f->start_line,
			.system_name = f->system_name,
			.inlined = j != uf->n - 1,
		};

		if (pf.inlined && b->n + (uint32_t)i + STACK_MAX_DEPTH + 8 >=
				  STACK_MAX_FRAMES)
			continue;
		err = push_id(b, profile__frame_at_line(b->p, &pf));
		if (err)
			return err;
	}
	return 0;
}

/* Python frames py[from..to) (leaf first), pushed root first. */
static int push_python(struct stack_builder *b, uint32_t pid,
		       const uint64_t *py, uint32_t from, uint32_t to)
{
	struct py_frame_name nm;
	int err;

	for (uint32_t k = to; k-- > from;) {
		struct profile_frame pf = { .kind = FRAME_USER };

		python__name(b->py, pid, py[k], &nm);
		pf.name = nm.name;
		pf.file = nm.file;
		pf.line = nm.line;
		pf.start_line = nm.start_line;
		err = push_id(b, profile__frame_at_line(b->p, &pf));
		if (err)
			return err;
	}
	return 0;
}

#define PY_EVAL_FUNCTION "_PyEval_EvalFrameDefault"

/*
 * Which native frames (leaf first) are eval-loop calls: run[i] is the
 * index from the leaf of the run of Python frames frame i runs, or -1.
 */
static uint32_t eval_frames(struct stack_builder *b, uint32_t pid,
			    uint64_t start_ns, const uint64_t *ips,
			    uint32_t native, int *run)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < native; i++) {
		const struct user_frames *uf = &b->user;

		symbolizer__user_frames(b->sym, pid, start_ns, ips[i], i > 0,
					&b->user);
		run[i] = uf->n && !strcmp(uf->f[uf->n - 1].name,
					  PY_EVAL_FUNCTION) ? (int)k++ : -1;
	}
	return k;
}

int stack_builder__push_user(struct stack_builder *b, uint32_t pid,
			     uint64_t start_ns, const uint64_t *ips, uint32_t n)
{
	uint32_t depth = depth_of(ips, n), native = 0, nruns = 0, evals = 0;
	uint32_t run_start[STACK_MAX_DEPTH + 1];
	int run[STACK_MAX_DEPTH];
	int err;

	while (native < depth && !PY_FRAME_IS(ips[native]))
		native++;
	for (uint32_t i = 0; i < native; i++)
		run[i] = -1;
	/* Runs of Python frames, leaf first: each ends at an entry frame. */
	if (b->py && native < depth) {
		run_start[0] = native;
		for (uint32_t k = native; k < depth; k++)
			if (PY_FRAME_IS_ENTRY(ips[k]) || k + 1 == depth)
				run_start[++nruns] = k + 1;
		evals = eval_frames(b, pid, start_ns, ips, native, run);
		if (evals < nruns)
			python__count_unplaced(b->py, run_start[nruns] -
						      run_start[evals]);
	}
	for (int i = (int)native - 1; i >= 0; i--) {
		if (run[i] >= 0 && (uint32_t)run[i] < nruns)
			err = push_python(b, pid, ips, run_start[run[i]],
					  run_start[run[i] + 1]);
		else
			err = push_native(b, pid, start_ns, ips[i], i);
		if (err)
			return err;
	}
	return 0;
}

int stack_builder__push_kernel(struct stack_builder *b, const uint64_t *ips,
			       uint32_t n)
{
	char name[FRAME_NAME_MAX];
	int err;

	for (int i = (int)depth_of(ips, n) - 1; i >= 0; i--) {
		symbolizer__kernel(b->sym, ips[i], name, sizeof(name));
		err = stack_builder__push(b, name, FRAME_KERNEL);
		if (err)
			return err;
	}
	return 0;
}

int stack_map__read(int map_fd, int32_t id, uint64_t *ips)
{
	memset(ips, 0, STACK_MAX_DEPTH * sizeof(*ips));
	if (bpf_map_lookup_elem(map_fd, &id, ips))
		return -errno;
	return depth_of(ips, STACK_MAX_DEPTH);
}

int ustack_map__read(int map_fd, int32_t id, uint64_t *ips)
{
	struct ustack u;

	if (bpf_map_lookup_elem(map_fd, &id, &u))
		return -errno;
	memcpy(ips, u.ips, STACK_MAX_DEPTH * sizeof(*ips));
	return depth_of(ips, STACK_MAX_DEPTH);
}

/* Entries a batch call reads; a hash bucket larger than this is grown to. */
#define BATCH_ENTRIES 512u

static int entries__grow(struct map_entries *e, size_t want)
{
	size_t cap = e->cap ? e->cap : BATCH_ENTRIES;
	char *k, *v;

	while (cap < want)
		cap *= 2;
	if (cap <= e->cap)
		return 0;
	k = realloc(e->keys, cap * e->ksz);
	if (!k)
		return -ENOMEM;
	e->keys = k;
	if (e->vsz) {		/* 0: keys only (map__empty) */
		v = realloc(e->vals, cap * e->vsz);
		if (!v)
			return -ENOMEM;
		e->vals = v;
	}
	e->cap = cap;
	return 0;
}

/*
 * Key by key: two system calls an entry (kernels before 5.6, maps with no
 * batch operations: stack traces).
 */
static int entries__read_each(struct map_entries *e, int fd)
{
	char *prev = NULL;
	int err = 0;

	e->n = 0;
	while (!err && !(err = entries__grow(e, e->n + 1)) &&
	       !bpf_map_get_next_key(fd, prev, e->keys + e->n * e->ksz)) {
		prev = e->keys + e->n * e->ksz;
		if (!bpf_map_lookup_elem(fd, prev, e->vals + e->n * e->vsz))
			e->n++;
		else if (errno != ENOENT)	/* ENOENT: deleted meanwhile */
			err = -errno;
	}
	return err;
}

/*
 * No batches for this map (stack traces), kernel (before 5.6) or filter:
 * the call did nothing, and left its count as it was.
 */
static bool no_batches(int err)
{
	return err == -EINVAL || err == -ENOTSUP || err == -EOPNOTSUPP ||
	       err == -EPERM || err == -524 /* ENOTSUPP, the kernel's own */;
}

/*
 * In batches: a few system calls for the whole map, where each entry took
 * two (and two more to delete it), each through the seccomp filter.
 */
static int entries__read_batched(struct map_entries *e, int fd)
{
	DECLARE_LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint64_t token = 0;
	bool first = true;
	int err = 0;

	e->n = 0;
	for (;;) {
		__u32 count;

		err = entries__grow(e, e->n + BATCH_ENTRIES);
		if (err)
			return err;
		count = (__u32)(e->cap - e->n);
		err = bpf_map_lookup_batch(fd, first ? NULL : &token, &token,
					   e->keys + e->n * e->ksz,
					   e->vals + e->n * e->vsz, &count,
					   &opts) ? -errno : 0;
		if (no_batches(err))
			return err;
		/* A bucket larger than the room left: more room, again. */
		if (err == -ENOSPC && count == 0) {
			err = entries__grow(e, e->cap * 2);
			if (err)
				return err;
			continue;
		}
		e->n += count;
		first = false;
		if (err == -ENOENT)
			return 0;	/* the end */
		if (err)
			return err;
	}
}

int map_entries__read(struct map_entries *e, int fd)
{
	int err = entries__read_batched(e, fd);

	if (no_batches(err) && !e->n)
		err = entries__read_each(e, fd);
	return err;
}

void map_entries__free(struct map_entries *e)
{
	free(e->keys);
	free(e->vals);
	e->keys = e->vals = NULL;
	e->n = e->cap = 0;
}

/*
 * One counter at a time: a bpf() call each (no batches: kernels before 5.6,
 * the filter). What the budget tick read every 2 s before batches.
 */
static int percpu_counters__read_each(int map_fd, uint32_t n, int ncpus,
				      uint64_t *percpu, uint64_t *out)
{
	for (uint32_t i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &i, percpu))
			return -errno;
		for (int c = 0; c < ncpus; c++)
			out[i] += percpu[c];
	}
	return 0;
}

int percpu_counters__read(int map_fd, uint32_t n, uint64_t *out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct map_entries e;
	int err;

	if (ncpus <= 0)
		return ncpus ? ncpus : -ENODEV;
	e = (struct map_entries){ .ksz = sizeof(__u32),
				  .vsz = (size_t)ncpus * sizeof(uint64_t) };
	err = entries__read_batched(&e, map_fd);
	if (!err) {
		memset(out, 0, n * sizeof(*out));
		for (size_t i = 0; i < e.n; i++) {
			uint32_t k = *(const __u32 *)(e.keys + i * e.ksz);
			const uint64_t *v = (const void *)(e.vals + i * e.vsz);

			for (int c = 0; k < n && c < ncpus; c++)
				out[k] += v[c];
		}
	} else if (no_batches(err)) {
		err = entries__grow(&e, 1) ?:
		      percpu_counters__read_each(map_fd, n, ncpus,
						 (uint64_t *)e.vals, out);
	}
	map_entries__free(&e);
	return err;
}

static int delete_each(int fd, const char *keys, size_t ksz, size_t n)
{
	int err = 0;

	for (size_t i = 0; i < n; i++)
		if (bpf_map_delete_elem(fd, keys + i * ksz) && errno != ENOENT &&
		    !err)
			err = -errno;
	return err;
}

static int delete_all(int fd, const struct map_entries *e)
{
	__u32 count = (__u32)e->n;
	size_t done;

	if (!e->n || !bpf_map_delete_batch(fd, e->keys, &count, NULL))
		return 0;
	/* No batches: none went. Else it stopped at a key gone meanwhile. */
	done = no_batches(-errno) || count > e->n ? 0 : count;
	return delete_each(fd, e->keys + done * e->ksz, e->ksz, e->n - done);
}

/* Keys only, a system call each: see map__empty. */
static int keys__read_each(struct map_entries *e, int fd)
{
	char *prev = NULL;
	int err = 0;

	e->n = 0;
	while (!(err = entries__grow(e, e->n + 1)) &&
	       !bpf_map_get_next_key(fd, prev, e->keys + e->n * e->ksz))
		prev = e->keys + e->n++ * e->ksz;
	return err;
}

/*
 * A batch read copies values too: fine for counts, but a full stack map
 * (1 KiB a stack, up to 32768) would take 32 MiB to be emptied. Those are
 * walked key by key, as before batches.
 */
#define BATCH_VALUE_MAX 256u

int map__empty(const struct bpf_map *map)
{
	struct map_entries e = {
		.ksz = bpf_map__key_size(map), .vsz = bpf_map__value_size(map),
	};
	int fd = bpf_map__fd(map), err;

	/* Keys first, then deletes: deleting while walking restarts walks. */
	if (e.vsz <= BATCH_VALUE_MAX) {
		err = map_entries__read(&e, fd);
	} else {
		e.vsz = 0;
		err = keys__read_each(&e, fd);
	}

	err = delete_all(fd, &e) ?: err;
	map_entries__free(&e);
	return err;
}
