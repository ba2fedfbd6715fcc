// SPDX-License-Identifier: MIT
/*
 * Where each thread's wall-clock time went: on the CPU, off it by reason,
 * and how much of the run that accounts for (coverage).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "threads_report.h"

#define NREASONS 5
#define COVERAGE_LOW 0.90
#define COVERAGE_HIGH 1.10

static const char *const reasons[NREASONS] = {
	"runqueue", "sleep", "io", "throttled", "other",
};

struct thread_row {
	uint32_t pid, tid;
	const char *thread;		/* interned */
	const char *process;		/* interned root frame name */
	uint64_t on_ns;
	uint64_t off_ns[NREASONS];
};

struct table {
	struct thread_row *v;
	size_t n, cap;
};

static uint64_t off_total(const struct thread_row *r)
{
	uint64_t sum = 0;

	for (int i = 0; i < NREASONS; i++)
		sum += r->off_ns[i];
	return sum;
}

static int reason_index(const char *reason)
{
	for (int i = 0; i < NREASONS; i++)
		if (reason && !strcmp(reason, reasons[i]))
			return i;
	return NREASONS - 1;
}

static int table__push(struct table *t, const struct thread_row *r)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		void *n = realloc(t->v, cap * sizeof(*t->v));

		if (!n)
			return -ENOMEM;
		t->v = n;
		t->cap = cap;
	}
	t->v[t->n++] = *r;
	return 0;
}

static int by_tid(const void *a, const void *b)
{
	const struct thread_row *x = a, *y = b;

	if (x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

static int by_time(const void *a, const void *b)
{
	const struct thread_row *x = a, *y = b;
	uint64_t tx = x->on_ns + off_total(x), ty = y->on_ns + off_total(y);

	if (tx != ty)
		return tx < ty ? 1 : -1;
	return by_tid(a, b);
}

/* One row per sample, then sorted and folded into one row per thread. */
static void table__merge(struct table *t)
{
	size_t out = 0;

	if (!t->n)
		return;
	qsort(t->v, t->n, sizeof(*t->v), by_tid);
	for (size_t i = 0; i < t->n; i++) {
		struct thread_row *r = &t->v[i], *last = out ? &t->v[out - 1] : NULL;

		if (last && last->tid == r->tid && last->pid == r->pid) {
			last->on_ns += r->on_ns;
			for (int k = 0; k < NREASONS; k++)
				last->off_ns[k] += r->off_ns[k];
		} else {
			t->v[out++] = *r;
		}
	}
	t->n = out;
}

static int reason_label(const struct profile *p)
{
	for (size_t i = 0; i < profile__nlabels(p); i++)
		if (!strcmp(profile__label_key(p, i), "reason"))
			return i;
	return -1;
}

static int collect(const struct profile *p, const struct threads_opts *o,
		   struct table *t)
{
	int label = reason_label(p);
	int err = 0;

	for (size_t i = 0; i < profile__nsamples(p) && !err; i++) {
		const struct profile_sample *s = profile__sample_at(p, i);
		const struct profile_frame *proc = profile__process_frame(p, s);
		struct thread_row r = {
			.pid = s->pid, .tid = s->tid, .thread = s->thread,
			.process = proc ? proc->name : "?",
		};

		if (o->cpu_value >= 0)
			r.on_ns = s->values[o->cpu_value];
		if (o->offcpu_value >= 0)
			r.off_ns[reason_index(label >= 0 ? s->labels[label] : NULL)] =
				s->values[o->offcpu_value];
		err = table__push(t, &r);
	}
	return err;
}

/* Names are the tenants' (prctl PR_SET_NAME): one row per line, always. */
static const char *clean(const char *s, char *buf, size_t len)
{
	size_t i = 0;

	for (; s[i] && i + 1 < len; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

static void print_threads(const struct table *t, const struct threads_opts *o,
			  FILE *f)
{
	double dur = o->duration_ns / 1e9;

	fprintf(f, "Threads: wall-clock time over %.3f s, in seconds\n", dur);
	fprintf(f, "%-8s %-8s %-16s %9s %9s %9s %9s %9s %9s %9s %9s\n", "pid",
		"tid", "thread", "on-cpu", "off-cpu", "runqueue", "sleep", "io",
		"throttled", "other", "coverage");
	for (size_t i = 0; i < t->n; i++) {
		const struct thread_row *r = &t->v[i];
		uint64_t off = off_total(r);
		char name[64];

		fprintf(f, "%-8u %-8u %-16s %9.3f %9.3f", r->pid, r->tid,
			clean(r->thread, name, sizeof(name)), r->on_ns / 1e9,
			off / 1e9);
		for (int k = 0; k < NREASONS; k++)
			fprintf(f, " %9.3f", r->off_ns[k] / 1e9);
		fprintf(f, " %8.1f%%\n",
			o->duration_ns ? 100.0 * (r->on_ns + off) / o->duration_ns : 0);
	}
}

struct proc_row {
	uint32_t pid;
	const char *process;
	size_t threads;
	uint64_t on_ns, off_ns;
};

static int by_pid(const void *a, const void *b)
{
	const struct thread_row *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

static void print_process(const struct proc_row *pr,
			  const struct threads_opts *o, FILE *f)
{
	double want = (double)o->duration_ns * pr->threads;
	double cov = want > 0 ? (pr->on_ns + pr->off_ns) / want : 0;
	char name[64];

	fprintf(f, "%-8u %-16s %7zu %9.3f %9.3f %8.1f%%", pr->pid,
		clean(pr->process, name, sizeof(name)), pr->threads,
		pr->on_ns / 1e9, pr->off_ns / 1e9, 100 * cov);
	if (cov < COVERAGE_LOW)
		fprintf(f, "  low: threads were idle in intervals under "
			"--min-block, lived only part of the run, or data was lost");
	else if (cov > COVERAGE_HIGH)
		fprintf(f, "  high: sampling error of on-CPU time, or threads "
			"counted twice");
	fputc('\n', f);
}

/* Sorted by pid, then one line per process with its threads' totals. */
static void print_processes(struct table *t, const struct threads_opts *o,
			    FILE *f)
{
	struct proc_row pr = {};

	if (t->n)
		qsort(t->v, t->n, sizeof(*t->v), by_pid);
	fprintf(f, "\nProcesses: coverage = (on + off) / (duration x threads)\n");
	fprintf(f, "%-8s %-16s %7s %9s %9s %9s\n", "pid", "process", "threads",
		"on-cpu", "off-cpu", "coverage");
	for (size_t i = 0; i <= t->n; i++) {
		const struct thread_row *r = i < t->n ? &t->v[i] : NULL;

		if (pr.threads && (!r || r->pid != pr.pid)) {
			print_process(&pr, o, f);
			pr.threads = 0;
		}
		if (!r)
			break;
		if (!pr.threads)
			pr = (struct proc_row){ .pid = r->pid, .process = r->process };
		pr.threads++;
		pr.on_ns += r->on_ns;
		pr.off_ns += off_total(r);
	}
}

int threads__write(const struct profile *p, const struct threads_opts *o,
		   FILE *f)
{
	struct table t = {};
	int err = collect(p, o, &t);

	if (!err) {
		table__merge(&t);
		if (t.n)
			qsort(t.v, t.n, sizeof(*t.v), by_time);
		print_threads(&t, o, f);
		print_processes(&t, o, f);
	}
	free(t.v);
	if (err)
		return err;
	return ferror(f) ? -EIO : 0;
}
