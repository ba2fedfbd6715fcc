// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ch_query.h"
#include "record.h"

#define MAX_FRAMES 4096

/* A string literal for SQL: quotes and backslashes escaped. */
static void put_literal(struct ch_buf *b, const char *s)
{
	ch_buf__put(b, "'", 1);
	for (; *s; s++) {
		if (*s == '\'' || *s == '\\')
			ch_buf__put(b, "\\", 1);
		ch_buf__put(b, s, 1);
	}
	ch_buf__put(b, "'", 1);
}

static void put_text(struct ch_buf *b, const char *s)
{
	ch_buf__put(b, s, strlen(s));
}

static void put_filter(struct ch_buf *b, const char *column, const char *v)
{
	if (!v)
		return;
	put_text(b, " AND ");
	put_text(b, column);
	put_text(b, " = ");
	put_literal(b, v);
}

/* The days and window starts of the range, and the node. */
static void put_range(struct ch_buf *b, const struct ch_selection *s)
{
	char t[256];

	snprintf(t, sizeof(t),
		 "day BETWEEN toDate(toDateTime(%lld)) AND toDate(toDateTime(%lld)) AND window_start >= toDateTime(%lld) AND window_start < toDateTime(%lld)",
		 (long long)s->from_s, (long long)s->to_s,
		 (long long)s->from_s, (long long)s->to_s);
	put_text(b, t);
	put_filter(b, "node", s->node);
}

static int finish_sql(struct ch_buf *b, char *err, size_t errlen)
{
	ch_buf__put(b, "", 1);
	if (b->err)
		snprintf(err, errlen, "out of memory");
	return b->err;
}

int ch_query__windows(const struct ch_conn *c, const struct ch_selection *s,
		      struct ch_range_info *out, char *err, size_t errlen)
{
	struct ch_buf sql = { 0 }, resp = { 0 };
	unsigned long long v[5];
	int ret;

	memset(out, 0, sizeof(*out));
	put_text(&sql, "SELECT count(), uniqExact(node), min(window_id), max(window_id + duration_ns), sum(duration_ns) FROM (SELECT node, window_id, any(duration_ns) AS duration_ns FROM ");
	put_text(&sql, c->db);
	put_text(&sql, ".windows WHERE ");
	put_range(&sql, s);
	put_text(&sql, " GROUP BY node, window_id) FORMAT TSV");
	ret = finish_sql(&sql, err, errlen);
	ret = ret ?: ch_http__exec(c, (const char *)sql.data, NULL, 0, false,
				   &resp, err, errlen);
	ch_buf__put(&resp, "", 1);
	if (!ret && (resp.err || sscanf((const char *)resp.data,
					"%llu\t%llu\t%llu\t%llu\t%llu", &v[0],
					&v[1], &v[2], &v[3], &v[4]) != 5)) {
		snprintf(err, errlen, "unexpected answer to the windows query");
		ret = -EBADMSG;
	}
	if (!ret)
		*out = (struct ch_range_info){ v[0], v[1], v[0] ? v[2] : 0,
					       v[3], v[4] };
	ch_buf__free(&sql);
	ch_buf__free(&resp);
	return ret;
}

/*
 * One row per (stack, kind, namespace, pod, container, reason), summed
 * over nodes and windows after one value per sort key: rows a resent
 * window left twice, before ClickHouse merged them, count once.
 */
static void put_profile_sql(struct ch_buf *b, const struct ch_conn *c,
			    const struct ch_selection *s)
{
	put_text(b, "SELECT frames, kind, namespace, pod, container, reason, v FROM (SELECT stack_hash, kind, namespace, pod, container, reason, sum(value_ns) AS v FROM (SELECT node, window_id, namespace, pod, container, kind, reason, stack_hash, any(value_ns) AS value_ns FROM ");
	put_text(b, c->db);
	put_text(b, ".samples WHERE ");
	put_range(b, s);
	put_filter(b, "namespace", s->namespace);
	put_filter(b, "pod", s->pod);
	put_filter(b, "container", s->container);
	put_text(b, " GROUP BY node, window_id, namespace, pod, container, kind, reason, stack_hash) GROUP BY stack_hash, kind, namespace, pod, container, reason) ANY INNER JOIN (SELECT hash AS stack_hash, any(frames) AS frames FROM ");
	put_text(b, c->db);
	put_text(b, ".stacks WHERE ");
	{
		char t[160];

		snprintf(t, sizeof(t), "day BETWEEN toDate(toDateTime(%lld)) AND toDate(toDateTime(%lld))",
			 (long long)s->from_s, (long long)s->to_s);
		put_text(b, t);
	}
	put_text(b, " GROUP BY hash) USING stack_hash FORMAT RowBinary");
}

/* A string of the answer, interned (NULL for ""). */
static int get_label(struct ch_reader *r, struct profile *p, char *tmp,
		     size_t cap, const char **out)
{
	const char *s;
	size_t n;

	if (ch_reader__string(r, &s, &n) || n >= cap)
		return -EBADMSG;
	*out = NULL;
	if (!n)
		return 0;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	*out = profile__intern(p, tmp);
	return *out ? 0 : -ENOMEM;
}

static int read_frames(struct ch_reader *r, struct profile *p, uint32_t *ids,
		       uint32_t *n)
{
	uint64_t count;
	char name[4096];

	if (ch_reader__varint(r, &count) || count > MAX_FRAMES)
		return -EBADMSG;
	for (uint64_t i = 0; i < count; i++) {
		const char *s;
		size_t len;
		int64_t id;

		if (ch_reader__string(r, &s, &len) || !len || len > sizeof(name))
			return -EBADMSG;
		memcpy(name, s + 1, len - 1);
		name[len - 1] = '\0';
		id = profile__frame(p, name, ch_frame__kind(s[0]));
		if (id < 0)
			return (int)id;
		ids[i] = (uint32_t)id;
	}
	*n = (uint32_t)count;
	return 0;
}

/* v * scale, rounded, within uint64_t (a baseline's values are scaled). */
static uint64_t scaled(uint64_t v, double scale)
{
	double d;

	if (scale == 1.0)
		return v;
	d = (double)v * scale + 0.5;
	return d >= 18446744073709549568.0 ? UINT64_MAX : d > 0 ? (uint64_t)d : 0;
}

int ch_query__add_rows(struct profile *p, const uint8_t *data, size_t len,
		       int value_base, double scale, uint64_t *rows)
{
	struct ch_reader r = { .p = data, .len = len };
	uint32_t *ids = malloc(MAX_FRAMES * sizeof(*ids));
	char tmp[1024];
	int err = ids ? 0 : -ENOMEM;

	*rows = 0;
	while (!err && !ch_reader__done(&r)) {
		const char *labels[LABEL_MAX] = { 0 };
		uint64_t values[PROFILE_MAX_VALUES] = { 0 }, v;
		uint32_t n = 0;
		uint8_t kind = 0;

		err = read_frames(&r, p, ids, &n);
		err = err ?: ch_reader__u8(&r, &kind);
		err = err ?: get_label(&r, p, tmp, sizeof(tmp), &labels[LABEL_NAMESPACE]);
		err = err ?: get_label(&r, p, tmp, sizeof(tmp), &labels[LABEL_POD]);
		err = err ?: get_label(&r, p, tmp, sizeof(tmp), &labels[LABEL_CONTAINER]);
		err = err ?: get_label(&r, p, tmp, sizeof(tmp), &labels[LABEL_REASON]);
		err = err ?: ch_reader__u64(&r, &v);
		if (!err && kind != 1 && kind != 2)
			err = -EBADMSG;
		if (err)
			break;
		values[value_base + (kind == 2)] = scaled(v, scale);
		err = profile__add_labeled(p, 0, 0, NULL, labels, ids, n, values);
		(*rows)++;
	}
	free(ids);
	return err;
}

int ch_query__profile(const struct ch_conn *c, const struct ch_selection *s,
		      struct profile *p, int value_base, double scale,
		      uint64_t *rows, char *err, size_t errlen)
{
	struct ch_buf sql = { 0 }, resp = { 0 };
	int ret;

	put_profile_sql(&sql, c, s);
	ret = finish_sql(&sql, err, errlen);
	ret = ret ?: ch_http__exec(c, (const char *)sql.data, NULL, 0, false,
				   &resp, err, errlen);
	if (!ret && resp.err) {
		snprintf(err, errlen, "out of memory");
		ret = resp.err;
	}
	if (!ret) {
		ret = ch_query__add_rows(p, resp.data, resp.len, value_base,
					 scale, rows);
		if (ret == -EBADMSG)
			snprintf(err, errlen, "the server's answer is not the rows asked for");
	}
	ch_buf__free(&sql);
	ch_buf__free(&resp);
	return ret;
}
