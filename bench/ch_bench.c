// SPDX-License-Identifier: MIT
/*
 * bench/clickhouse.sh's load generator: synthetic windows of one node (N
 * containers, S stacks each, D frames deep, names like a real service's)
 * encoded as the agent encodes them (ch_batch__encode) and inserted as
 * the pusher inserts them (three gzip'd RowBinary inserts), one node-hour
 * of WINDOW-second windows back in time. Prints "key value" lines.
 *
 *   ch_bench URL DB CONTAINERS STACKS DEPTH WINDOWS WINDOW_S
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ch_batch.h"
#include "ch_http.h"
#include "ch_schema.h"
#include "profile.h"
#include "record.h"

static const char *const keys[LABEL_MAX] = {
	[LABEL_REASON] = "reason", [LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod", [LABEL_NAMESPACE] = "namespace",
	[LABEL_CONTAINER_ID] = "container_id",
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* One window: each container's stacks with random-ish values. */
static struct profile *make_window(int containers, int stacks, int depth,
				   unsigned int *seed)
{
	static const struct profile_value_type types[] = {
		{ "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" },
	};
	struct profile *p = profile__new(types, 2);
	uint32_t f[256];
	char name[256];

	profile__set_label_keys(p, keys, LABEL_MAX);
	for (int c = 0; c < containers; c++) {
		char pod[64], ctr[64], grp[128];
		const char *labels[LABEL_MAX] = { 0 };

		snprintf(pod, sizeof(pod), "svc-%02d-7d9f8b6c5-x%02d", c, c);
		snprintf(ctr, sizeof(ctr), "app-%02d", c);
		labels[LABEL_POD] = pod;
		labels[LABEL_NAMESPACE] = "prod";
		labels[LABEL_CONTAINER] = ctr;
		snprintf(grp, sizeof(grp), "[pod prod/%s]", pod);
		f[0] = (uint32_t)profile__frame(p, grp, FRAME_GROUP);
		snprintf(grp, sizeof(grp), "[container %s]", ctr);
		f[1] = (uint32_t)profile__frame(p, grp, FRAME_GROUP);
		f[2] = (uint32_t)profile__frame(p, "server", FRAME_PROCESS);
		for (int s = 0; s < stacks; s++) {
			uint64_t v[2] = { 0, 0 };
			int off = s % 4 == 0;

			for (int d = 0; d < depth; d++) {
				snprintf(name, sizeof(name),
					 "github.com/acme/svc%02d/pkg/handler.(*Server).stage%d_%d",
					 c % 10, d, (s * 7 + d * 3) % (stacks / 2 + 1));
				f[3 + d] = (uint32_t)profile__frame(p, name,
					d == depth - 1 && off ? FRAME_KERNEL : FRAME_USER);
			}
			v[off] = 1000000ULL * (1 + rand_r(seed) % 50);
			labels[LABEL_REASON] = off ? "futex" : NULL;
			profile__add_labeled(p, 1, 1, "t", labels, f,
					     (uint32_t)(3 + depth), v);
		}
	}
	return p;
}

int main(int argc, char **argv)
{
	struct ch_conn conn;
	char err[512], sql[256];
	uint64_t *lat, wire = 0, raw = 0, rows = 0;
	unsigned int seed = 42;
	int containers, stacks, depth, windows;
	double window_s;
	uint64_t start;

	if (argc != 8) {
		fprintf(stderr, "usage: %s URL DB CONTAINERS STACKS DEPTH WINDOWS WINDOW_S\n",
			argv[0]);
		return 2;
	}
	containers = atoi(argv[3]);
	stacks = atoi(argv[4]);
	depth = atoi(argv[5]);
	windows = atoi(argv[6]);
	window_s = atof(argv[7]);
	if (depth > 200 || containers < 1 || stacks < 2 || windows < 1 ||
	    ch_conn__init(&conn, argv[1], argv[2], err, sizeof(err)) ||
	    ch_schema__ensure(&conn, err, sizeof(err))) {
		fprintf(stderr, "ch_bench: %s\n", err);
		return 1;
	}
	lat = calloc((size_t)windows, sizeof(*lat));
	start = (uint64_t)time(NULL) * 1000000000ULL -
		(uint64_t)(windows * window_s * 1e9);
	for (int w = 0; w < windows; w++) {
		struct profile *p = make_window(containers, stacks, depth, &seed);
		struct ch_window cw = {
			.profile = p, .cpu_value = 0, .offcpu_value = 1,
			.node = "bench-node-1",
			.start_real_ns = start + (uint64_t)(w * window_s * 1e9),
			.duration_ns = (uint64_t)(window_s * 1e9),
		};
		struct ch_batch_stats st;
		struct ch_batch_view v;
		struct ch_buf b = { 0 };
		uint64_t t0;

		if (ch_batch__encode(&cw, &b, &st) ||
		    ch_batch__parse(b.data, b.len, &v)) {
			fprintf(stderr, "ch_bench: encoding failed\n");
			return 1;
		}
		t0 = now_ns();
		for (int t = 0; t < CH_TABLES; t++) {
			ch_schema__insert_sql(&conn, t, sql, sizeof(sql));
			if (ch_http__exec(&conn, sql, v.body[t], v.len[t], true,
					  NULL, err, sizeof(err))) {
				fprintf(stderr, "ch_bench: insert: %s\n", err);
				return 1;
			}
		}
		lat[w] = now_ns() - t0;
		wire += st.wire_bytes;
		raw += st.raw_bytes;
		rows += st.rows[CH_STACKS] + st.rows[CH_SAMPLES] + 1;
		ch_buf__free(&b);
		profile__free(p);
	}
	qsort(lat, (size_t)windows, sizeof(*lat), cmp_u64);
	printf("windows %d\n", windows);
	printf("wire_bytes_per_window %" PRIu64 "\n", wire / (uint64_t)windows);
	printf("wire_bytes_per_window_per_pod %" PRIu64 "\n",
	       wire / (uint64_t)windows / (uint64_t)containers);
	printf("raw_bytes_per_window_per_pod %" PRIu64 "\n",
	       raw / (uint64_t)windows / (uint64_t)containers);
	printf("rows_inserted %" PRIu64 "\n", rows);
	printf("insert_ms_median %.1f\n", lat[windows / 2] / 1e6);
	printf("insert_ms_p95 %.1f\n", lat[(windows * 95) / 100 < windows ?
					  (windows * 95) / 100 : windows - 1] / 1e6);
	printf("from_s %" PRIu64 "\nto_s %" PRIu64 "\n",
	       (uint64_t)(start / 1000000000ULL),
	       (uint64_t)((start + (uint64_t)(windows * window_s * 1e9)) /
			  1000000000ULL + 1));
	free(lat);
	return 0;
}
