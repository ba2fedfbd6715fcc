// SPDX-License-Identifier: MIT
/*
 * sysscope query: what the agents pushed to ClickHouse (--clickhouse),
 * for a selection and a time range, summed across nodes and windows, in
 * the files a one-shot run writes (outdir.h): the same profile, the same
 * writers. With --diff-from/--diff-to, flamegraph-diff.svg too.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "ch_query.h"
#include "ch_schema.h"
#include "commands.h"
#include "flamegraph_svg.h"
#include "log.h"
#include "opts.h"
#include "outdir.h"
#include "profile_tree.h"
#include "record.h"
#include "writer.h"

#define DEFAULT_SINCE_S 3600

static const char *const label_keys[LABEL_MAX] = {
	[LABEL_REASON] = "reason", [LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod", [LABEL_NAMESPACE] = "namespace",
	[LABEL_CONTAINER_ID] = "container_id",
};

/* cpu, offcpu: now; then the baseline's (a diff only). */
static const struct profile_value_type value_types[4] = {
	{ "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" },
	{ "baseline_cpu", "nanoseconds" }, { "baseline_offcpu", "nanoseconds" },
};

struct query {
	const struct opts *o;
	struct ch_conn conn;
	struct ch_selection sel;
	struct ch_range_info info;
	struct profile *profile;
	char dir[PATH_MAX];
	struct writer *writer;
};

static const char *view_name(int view)
{
	return view == VIEW_ONCPU ? "oncpu" : view == VIEW_OFFCPU ? "offcpu" :
	       "wallclock";
}

static value_mask_t view_mask(int view)
{
	return view == VIEW_ONCPU ? 1u << 0 : view == VIEW_OFFCPU ? 1u << 1 :
	       (1u << 0) | (1u << 1);
}

/* --pod NS/NAME or NAME, -n NS, --container, --node, the time range. */
static void make_selection(const struct opts *o, struct ch_selection *s,
			   char *ns_buf, size_t len)
{
	const char *slash = o->pod ? strchr(o->pod, '/') : NULL;
	int64_t now = (int64_t)time(NULL);

	memset(s, 0, sizeof(*s));
	s->namespace = o->namespace;
	s->pod = o->pod;
	if (slash) {
		snprintf(ns_buf, len, "%.*s", (int)(slash - o->pod), o->pod);
		s->namespace = ns_buf;
		s->pod = slash + 1;
	}
	s->container = o->container;
	s->node = o->node;
	s->to_s = o->to_s >= 0 ? o->to_s : now + 1;
	s->from_s = o->from_s >= 0 ? o->from_s :
		    s->to_s - (int64_t)(o->since_s ? o->since_s : DEFAULT_SINCE_S);
}

static struct profile *new_profile(size_t ntypes)
{
	struct profile *p = profile__new(value_types, ntypes);

	if (p && profile__set_label_keys(p, label_keys, LABEL_MAX)) {
		profile__free(p);
		return NULL;
	}
	return p;
}

static int make_output_dir(struct query *q)
{
	char stamp[32];
	time_t t = time(NULL);
	struct tm tm;

	if (q->o->output_dir) {
		snprintf(q->dir, sizeof(q->dir), "%s", q->o->output_dir);
	} else {
		localtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
		snprintf(q->dir, sizeof(q->dir), "sysscope-query-%s", stamp);
	}
	if (mkdir(q->dir, 0755) && errno != EEXIST) {
		log_error("output folder '%s': %s", q->dir, strerror(errno));
		return -errno;
	}
	q->writer = writer__start(q->dir, getuid(), getgid());
	if (!q->writer) {
		log_error("output writer for %s: %s", q->dir, strerror(errno));
		return -errno;
	}
	return 0;
}

static int write_outputs(struct query *q)
{
	const struct opts *o = q->o;
	struct meta_counter c[] = {
		{ "windows", q->info.windows }, { "nodes", q->info.nodes },
		{ "time in windows (ns)", q->info.window_ns },
	};
	struct profile_meta m = {
		.mode = view_name(o->view), .start_ns = q->info.first_ns,
		.duration_ns = q->info.end_ns - q->info.first_ns,
		.counters = c, .ncounters = sizeof(c) / sizeof(c[0]),
	};
	char title[64];

	snprintf(title, sizeof(title), "query %s", view_name(o->view));
	return outdir__write(&(struct outdir){
		.writer = q->writer, .dir = q->dir, .profile = q->profile,
		.meta = &m, .title = title, .weight = view_mask(o->view),
		.unit = "ns",
		.cpu_value = o->view == VIEW_OFFCPU ? -1 : 0,
		.offcpu_value = o->view == VIEW_ONCPU ? -1 : 1,
		.duration_ns = m.duration_ns,
	});
}

/*
 * flamegraph-diff.svg: now (values 0, 1) against the baseline range
 * (values 2, 3), the baseline scaled to the same time in windows.
 */
static int write_diff(struct query *q)
{
	const struct opts *o = q->o;
	struct ch_selection base = q->sel;
	struct ch_range_info bi;
	struct profile *p = new_profile(4);
	struct profile_tree *t = NULL;
	char err[512], sub[256], *buf = NULL;
	uint64_t rows;
	size_t len = 0;
	double scale;
	FILE *f;
	int ret;

	base.from_s = o->diff_from_s;
	base.to_s = o->diff_to_s;
	if (!p)
		return -ENOMEM;
	ret = ch_query__windows(&q->conn, &base, &bi, err, sizeof(err));
	if (!ret && !bi.window_ns) {
		snprintf(err, sizeof(err), "no windows in the baseline range");
		ret = -ENODATA;
	}
	scale = ret ? 0 : (double)q->info.window_ns / (double)bi.window_ns;
	ret = ret ?: ch_query__profile(&q->conn, &q->sel, p, 0, 1, &rows, err,
				       sizeof(err));
	ret = ret ?: ch_query__profile(&q->conn, &base, p, 2, scale, &rows,
				       err, sizeof(err));
	if (ret) {
		log_error("baseline: %s", err);
		profile__free(p);
		return ret;
	}
	t = profile_tree__new(p);
	f = t ? open_memstream(&buf, &len) : NULL;
	if (!f) {
		ret = -ENOMEM;
	} else {
		snprintf(sub, sizeof(sub), "now: %lld..%lld, baseline: %lld..%lld (x%.3g to the same time), unix seconds",
			 (long long)q->sel.from_s, (long long)q->sel.to_s,
			 (long long)base.from_s, (long long)base.to_s, scale);
		ret = svg__write(t, &(struct svg_opts){
			.title = "sysscope query: differential flamegraph",
			.subtitle = sub, .unit = "ns", .mask = view_mask(o->view),
			.offcpu_value = -1,
			.baseline_mask = view_mask(o->view) << 2,
		}, f);
		if (fclose(f) && !ret)
			ret = -EIO;
	}
	ret = ret ?: writer__put(q->writer, "flamegraph-diff.svg", buf, len);
	if (ret)
		log_error("writing %s/flamegraph-diff.svg: %s", q->dir,
			  strerror(-ret));
	free(buf);
	profile_tree__free(t);
	profile__free(p);
	return ret;
}

static int run_query(struct query *q)
{
	char err[512];
	uint64_t rows = 0;
	int ret;

	ret = ch_query__windows(&q->conn, &q->sel, &q->info, err, sizeof(err));
	if (!ret && !q->info.windows) {
		log_error("no windows in ClickHouse (%s, database %s) from %lld to %lld%s%s",
			  q->conn.url, q->conn.db, (long long)q->sel.from_s,
			  (long long)q->sel.to_s, q->sel.node ? " on node " : "",
			  q->sel.node ? q->sel.node : "");
		return -ENODATA;
	}
	q->profile = ret ? NULL : new_profile(2);
	if (!ret && !q->profile)
		ret = -ENOMEM;
	ret = ret ?: ch_query__profile(&q->conn, &q->sel, q->profile, 0, 1,
				       &rows, err, sizeof(err));
	if (ret) {
		log_error("clickhouse: %s", err);
		return ret;
	}
	if (!rows)
		log_warn("nothing matches the selection in %llu windows",
			 (unsigned long long)q->info.windows);
	ret = make_output_dir(q);
	ret = ret ?: write_outputs(q);
	if (!ret && q->o->diff_from_s >= 0)
		ret = write_diff(q);
	if (!ret)
		printf("%llu windows from %llu nodes, %llu stacks: on-CPU %.3f s, off-CPU %.3f s -> %s/\n",
		       (unsigned long long)q->info.windows,
		       (unsigned long long)q->info.nodes,
		       (unsigned long long)rows,
		       profile__total(q->profile, 0) / 1e9,
		       profile__total(q->profile, 1) / 1e9, q->dir);
	return ret;
}

int cmd_query(const struct opts *o)
{
	struct query q = { .o = o };
	char err[512], ns[256];
	int ret;

	if (ch_conn__init(&q.conn, o->clickhouse_url, o->clickhouse_db, err,
			  sizeof(err))) {
		log_error("--clickhouse: %s", err);
		return -EINVAL;
	}
	if (o->ch_init) {
		ret = ch_schema__ensure(&q.conn, err, sizeof(err));
		if (ret)
			log_error("clickhouse: %s", err);
		else
			printf("tables ready in %s (database %s)\n", q.conn.url,
			       q.conn.db);
		return ret;
	}
	make_selection(o, &q.sel, ns, sizeof(ns));
	ret = run_query(&q);
	if (q.writer && writer__finish(q.writer) && !ret) {
		log_error("the output writer failed: outputs may be missing");
		ret = -EIO;
	}
	profile__free(q.profile);
	return ret;
}
