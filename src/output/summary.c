// SPDX-License-Identifier: MIT
/* The plain-text summary: what was profiled, what was lost, where time went. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "summary.h"

struct row {
	const char *name;	/* interned: compared by pointer */
	uint32_t pid;		/* 0 for function rows */
	enum frame_kind kind;
	uint64_t value;
};

struct rows {
	struct row *v;
	size_t n, cap;
};

static int rows__push(struct rows *r, const char *name, uint32_t pid,
		      enum frame_kind kind, uint64_t value)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		void *n = realloc(r->v, cap * sizeof(*r->v));

		if (!n)
			return -ENOMEM;
		r->v = n;
		r->cap = cap;
	}
	r->v[r->n++] = (struct row){ name, pid, kind, value };
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->name != y->name)
		return (uintptr_t)x->name < (uintptr_t)y->name ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->kind > y->kind) - (x->kind < y->kind);
}

/* Sums rows with the same key: sort, then fold neighbours. */
static void rows__merge(struct rows *r)
{
	size_t out = 0;

	if (!r->n)
		return;
	qsort(r->v, r->n, sizeof(*r->v), key_cmp);
	for (size_t i = 0; i < r->n; i++) {
		if (out && !key_cmp(&r->v[out - 1], &r->v[i]))
			r->v[out - 1].value += r->v[i].value;
		else
			r->v[out++] = r->v[i];
	}
	r->n = out;
}

static int row_cmp(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->value != y->value)
		return x->value < y->value ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* Names come from untrusted binaries: one line per row, always. */
static void fputs_clean(const char *s, FILE *f)
{
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
}

static void format_value(char *buf, size_t len, uint64_t v, const char *unit)
{
	if (!strcmp(unit, "ns"))
		snprintf(buf, len, "%.3f s", v / 1e9);
	else
		snprintf(buf, len, "%llu", (unsigned long long)v);
}

static void rows__print(struct rows *r, const char *title, bool with_pid,
			uint64_t total, const struct summary_opts *o, FILE *f)
{
	size_t top = o->top ? o->top : 15;
	char val[32];

	rows__merge(r);
	if (r->n)
		qsort(r->v, r->n, sizeof(*r->v), row_cmp);
	fprintf(f, "\n%s\n", title);
	for (size_t i = 0; i < r->n && i < top; i++) {
		format_value(val, sizeof(val), r->v[i].value, o->unit);
		fprintf(f, "  %12s %6.2f%%  ", val,
			total ? 100.0 * r->v[i].value / total : 0.0);
		if (with_pid)
			fprintf(f, "%-8u ", r->v[i].pid);
		fputs_clean(r->v[i].name, f);
		fprintf(f, "%s\n", r->v[i].kind == FRAME_KERNEL ? "_[k]" : "");
	}
	if (r->n > top)
		fprintf(f, "  ... %zu more\n", r->n - top);
}

static const char *process_name(const struct profile *p,
				const struct profile_sample *s)
{
	const struct profile_frame *fr = profile__process_frame(p, s);

	return fr ? fr->name : "?";
}

/* Leaf frame: where the samples were taken ("self" time). */
static int collect_rows(const struct profile *p, value_mask_t mask,
			struct rows *procs, struct rows *funcs)
{
	int err = 0;

	for (size_t i = 0; i < profile__nsamples(p) && !err; i++) {
		const struct profile_sample *s = profile__sample_at(p, i);
		uint64_t v = values_sum(s->values, mask);
		const struct profile_frame *leaf;

		err = rows__push(procs, process_name(p, s), s->pid,
				 FRAME_PROCESS, v);
		if (err || s->nframes < 2)
			continue;
		leaf = profile__frame_at(p, s->frames[s->nframes - 1]);
		err = rows__push(funcs, leaf->name, 0, leaf->kind, v);
	}
	return err;
}

static void print_header(const struct profile_meta *m, FILE *f)
{
	char when[64] = "?";
	time_t t = m->start_ns / 1000000000ULL;
	struct tm tm;

	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "sysscope %s\n", m->mode);
	fprintf(f, "  started    %s\n", when);
	fprintf(f, "  duration   %.3f s\n", m->duration_ns / 1e9);
	if (m->period_ns)
		fprintf(f, "  period     %llu ns (%.0f Hz per CPU)\n",
			(unsigned long long)m->period_ns, 1e9 / m->period_ns);
}

int summary__write(const struct profile *p, const struct profile_meta *m,
		   const struct summary_opts *o, FILE *f)
{
	struct rows procs = {}, funcs = {};
	uint64_t total = 0;
	int err;

	for (size_t i = 0; i < profile__nsamples(p); i++)
		total += values_sum(profile__sample_at(p, i)->values, o->mask);
	print_header(m, f);
	fprintf(f, "  total      %llu %s\n", (unsigned long long)total, o->unit);
	fprintf(f, "  lost       %llu samples%s\n", (unsigned long long)m->lost,
		m->lost ? " (see counters)" : "");
	for (size_t i = 0; i < m->ncounters; i++)
		fprintf(f, "    %-28s %llu\n", m->counters[i].name,
			(unsigned long long)m->counters[i].value);
	err = collect_rows(p, o->mask, &procs, &funcs);
	if (!err) {
		rows__print(&procs, "Top processes (pid, name):", true, total, o, f);
		rows__print(&funcs, "Top functions (self):", false, total, o, f);
	}
	free(procs.v);
	free(funcs.v);
	if (err)
		return err;
	return ferror(f) ? -EIO : 0;
}
