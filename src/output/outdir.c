// SPDX-License-Identifier: MIT
/* The files of a one-shot run's output folder (see outdir.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "flamegraph_svg.h"
#include "folded.h"
#include "log.h"
#include "outdir.h"
#include "pprof.h"
#include "record.h"
#include "summary.h"
#include "threads_report.h"
#include "writer.h"

#define MAX_THREAD_GRAPHS 32

/* Wall-clock: on- and off-CPU time, drawn together and apart. */
static bool both_views(const struct outdir *o)
{
	return o->cpu_value >= 0 && o->offcpu_value >= 0;
}

typedef int (*write_fn)(const struct outdir *o, const struct profile_tree *t,
			FILE *f);

/*
 * Renders an output in memory and hands it to the writer process (see
 * writer.h): this process cannot create files once the sandbox is up.
 */
static int write_file(const struct outdir *o, const struct profile_tree *t,
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
	err = fn(o, t, f);
	if (fclose(f) && !err)
		err = -errno;
	if (!err)
		err = writer__put(o->writer, name, buf, len);
out:
	free(buf);
	if (err)
		log_error("writing %s/%s: %s", o->dir, name, strerror(-err));
	return err;
}

static int write_folded(const struct outdir *o, const struct profile_tree *t, FILE *f)
{
	static const char *const suffix[PROFILE_MAX_VALUES] = { "_[c]", "_[o]" };

	/* Wall-clock: on- and off-CPU time of a stack on their own lines. */
	if (both_views(o))
		return folded__write_split(t, o->weight, suffix, f);
	return folded__write(t, o->weight, f);
}

static const char *view_names[] = { "on-CPU + off-CPU", "on-CPU", "off-CPU" };

static int write_svg_view(const struct outdir *o, const struct profile_tree *t, FILE *f,
			  value_mask_t mask, const char *view)
{
	char title[256];
	struct svg_opts so = {
		.title = title, .unit = o->unit, .mask = mask,
		.offcpu_value = o->offcpu_value,
	};

	snprintf(title, sizeof(title), "sysscope %s: %s, %.1f s",
		 o->title, view, o->duration_ns / 1e9);
	return svg__write(t, &so, f);
}

static int write_svg(const struct outdir *o, const struct profile_tree *t, FILE *f)
{
	const char *view = both_views(o) ? view_names[0] :
			   o->cpu_value >= 0 ? view_names[1] :
							   view_names[2];

	return write_svg_view(o, t, f, o->weight, view);
}

static int write_svg_oncpu(const struct outdir *o, const struct profile_tree *t, FILE *f)
{
	return write_svg_view(o, t, f, 1u << o->cpu_value, view_names[1]);
}

static int write_svg_offcpu(const struct outdir *o, const struct profile_tree *t, FILE *f)
{
	return write_svg_view(o, t, f, 1u << o->offcpu_value,
			      view_names[2]);
}

static int write_summary_file(const struct outdir *o, const struct profile_tree *t,
			      FILE *f)
{
	struct summary_opts so = { .mask = o->weight, .unit = o->unit };

	(void)t;
	return summary__write(o->profile, o->meta, &so, f);
}

static int write_threads_file(const struct outdir *o, const struct profile_tree *t,
			      FILE *f)
{
	struct threads_opts to = {
		.cpu_value = o->cpu_value,
		.offcpu_value = o->offcpu_value,
		.duration_ns = o->duration_ns,
	};

	(void)t;
	return threads__write(o->profile, &to, f);
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
static struct thread_weight *heaviest_threads(const struct outdir *o, size_t *n)
{
	size_t ns = profile__nsamples(o->profile), out = 0;
	struct thread_weight *w = calloc(ns ? ns : 1, sizeof(*w));

	if (!w)
		return NULL;
	for (size_t i = 0; i < ns; i++) {
		const struct profile_sample *s = profile__sample_at(o->profile, i);

		w[i] = (struct thread_weight){
			s->tid, s->thread, values_sum(s->values, o->weight),
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

static int write_thread_graph(const struct outdir *o, const struct thread_weight *w)
{
	char name[64], file[128];
	struct profile_tree *t;
	uint32_t tid = w->tid;
	int err;

	t = profile_tree__new_filtered(o->profile, sample_of_tid, &tid);
	if (!t)
		return -errno;
	safe_name(name, sizeof(name), w->name);
	snprintf(file, sizeof(file), "threads/%u-%s.svg", tid, name);
	err = write_file(o, t, file, write_svg);
	snprintf(file, sizeof(file), "threads/%u-%s.folded", tid, name);
	err = write_file(o, t, file, write_folded) ?: err;
	profile_tree__free(t);
	return err;
}

static int write_thread_graphs(const struct outdir *o)
{
	struct thread_weight *w;
	size_t n;
	int err = 0;

	if (!o->per_thread)
		return 0;	/* a whole node has too many threads */
	/* threads/ is made by the writer with the first file. */
	w = heaviest_threads(o, &n);
	if (!w)
		return -ENOMEM;
	for (size_t i = 0; i < n && i < MAX_THREAD_GRAPHS && !err; i++)
		err = write_thread_graph(o, &w[i]);
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
static int write_group(const struct outdir *o, struct group_pick *g, const char *base)
{
	char file[PATH_MAX + 16];
	struct profile_tree *t;
	int err;

	/* The writer makes the folders. */
	t = profile_tree__new_filtered(o->profile, sample_in_group, g);
	if (!t)
		return -errno;
	snprintf(file, sizeof(file), "%s.svg", base);
	err = write_file(o, t, file, write_svg);
	snprintf(file, sizeof(file), "%s.folded", base);
	err = write_file(o, t, file, write_folded) ?: err;
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

static int write_one_group(const struct outdir *o, struct group_pick *g)
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
	return write_group(o, g, base);
}

/* pods/<namespace>/<pod>/{<container>,pod}.svg, containers/<name>.svg */
static int write_group_graphs(const struct outdir *o)
{
	size_t n = 0, cap = profile__nsamples(o->profile) * 2 + 1;
	struct group_pick *seen = calloc(cap, sizeof(*seen));
	int err = 0;

	if (!seen)
		return -ENOMEM;
	for (size_t i = 0; i < profile__nsamples(o->profile) && !err; i++) {
		const struct profile_sample *s = profile__sample_at(o->profile, i);
		struct group_pick c = { s->labels[LABEL_POD],
					s->labels[LABEL_NAMESPACE],
					s->labels[LABEL_CONTAINER] };
		struct group_pick pod = { c.pod, c.ns, NULL };

		if (c.container && !seen_before(seen, n, &c)) {
			seen[n++] = c;
			err = write_one_group(o, &c);
		}
		if (!err && pod.pod && !seen_before(seen, n, &pod)) {
			seen[n++] = pod;
			err = write_one_group(o, &pod);
		}
	}
	free(seen);
	return err;
}

static int write_pprof(const struct outdir *o, const struct profile_tree *t, FILE *f)
{
	(void)t;
	return pprof__write(o->profile, o->meta, f);
}

int outdir__write(const struct outdir *o)
{
	struct profile_tree *t = profile_tree__new(o->profile);
	int err = 0;

	if (!t) {
		log_error("building the profile tree: %s", strerror(errno));
		return -errno;
	}
	err = write_file(o, t, "stacks.folded", write_folded);
	err = write_file(o, t, "flamegraph.svg", write_svg) ?: err;
	if (both_views(o)) {
		err = write_file(o, t, "flamegraph-oncpu.svg", write_svg_oncpu) ?: err;
		err = write_file(o, t, "flamegraph-offcpu.svg", write_svg_offcpu) ?: err;
	}
	err = write_file(o, t, "summary.txt", write_summary_file) ?: err;
	err = write_file(o, t, "threads.txt", write_threads_file) ?: err;
	err = write_thread_graphs(o) ?: err;
	err = write_group_graphs(o) ?: err;
	/* The node's graph has pods and containers as its roots. */
	if (o->node_graph)
		err = write_file(o, t, "node.svg", write_svg) ?: err;
	err = write_file(o, t, "profile.pb.gz", write_pprof) ?: err;
	profile_tree__free(t);
	return err;
}
