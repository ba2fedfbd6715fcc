// SPDX-License-Identifier: MIT
/*
 * The container resolver (container/resolver.h) on a node of many
 * containers: cold resolution of every id, by id (resolver__get: one
 * open_by_handle_at + readlink + metadata read per id) or by walking the
 * hierarchy (resolver__scan); warm lookups of ids already known; the
 * memory the resolver keeps. Driven by bench/containers.sh, which builds
 * the cgroups and the runtime's files. Run one process per mode and round,
 * so that every cold measurement starts from a new resolver and heap.
 *
 *   resolver_bench [-n LOOKUPS] [-r REPS] get|scan CGROUP_ROOT HOST_ROOT IDS
 *
 * IDS: one line per container, "DIR NAME NAMESPACE/POD": the absolute
 * directory of its cgroup and what it must resolve to. Every result is
 * checked; a wrong or missing one is an error (exit 1): a fast wrong
 * answer measures nothing.
 *
 * get:  cold = resolver__new + resolver__get of every id once; then the
 *       parts of that (open_by_handle_at + readlink; container_meta__read)
 *       timed alone; warm = REPS x LOOKUPS resolver__get of known ids in a
 *       shuffled order; miss = resolver__get of an id that names no cgroup,
 *       first time and again.
 * scan: cold = resolver__new + resolver__scan; then every id is checked.
 *
 * Prints key=value lines (times in ns, memory in bytes) on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup_path.h"
#include "meta.h"
#include "resolver.h"

#define MAX_IDS 20000
#define MAX_REPS 101
#define MISS_REPS 7
#define MISS_REPEAT 1000
#define FILEID_KERNFS 0xfe	/* include/linux/exportfs.h */

struct expect {
	uint64_t id;
	char name[256], pod[520];
};

static struct expect *want;
static size_t nwant;
static volatile uint64_t sink;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fputs("resolver_bench: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CPU time of this process: what being descheduled does not inflate. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long rss_bytes(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		die("/proc/self/status: %s", strerror(errno));
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	if (kib < 0)
		die("no VmRSS in /proc/self/status");
	return kib * 1024;
}

/* Bytes malloc has handed out and not taken back (arenas + mmap'd). */
static long heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return (long)(mi.uordblks + mi.hblkhd);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t median_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_u64);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void read_ids(const char *file)
{
	char dir[PATH_MAX], name[256], pod[520];
	FILE *f = fopen(file, "re");
	struct stat st;
	int n;

	if (!f)
		die("%s: %s", file, strerror(errno));
	want = calloc(MAX_IDS, sizeof(*want));
	if (!want)
		die("out of memory");
	while ((n = fscanf(f, "%4095s %255s %519s", dir, name, pod)) == 3) {
		if (nwant == MAX_IDS)
			die("%s: more than %d ids", file, MAX_IDS);
		if (stat(dir, &st))
			die("%s: %s", dir, strerror(errno));
		want[nwant].id = st.st_ino;	/* a v2 cgroup's id */
		snprintf(want[nwant].name, sizeof(want[nwant].name), "%s", name);
		snprintf(want[nwant].pod, sizeof(want[nwant].pod), "%s", pod);
		nwant++;
	}
	if (n != EOF || ferror(f))
		die("%s: malformed line %zu", file, nwant + 1);
	fclose(f);
	if (!nwant)
		die("%s: no ids", file);
}

static void check(const struct workload *w, const struct expect *e)
{
	if (!w)
		die("id %llu: not resolved", (unsigned long long)e->id);
	if (w->cgroup_id != e->id)
		die("id %llu: got the workload of id %llu",
		    (unsigned long long)e->id, (unsigned long long)w->cgroup_id);
	if (w->meta_err)
		die("id %llu (%s): no metadata: %s", (unsigned long long)e->id,
		    w->path, strerror(-w->meta_err));
	if (strcmp(w->container, e->name) || strcmp(w->pod, e->pod))
		die("id %llu (%s): resolved to container '%s' pod '%s', expected '%s' '%s'",
		    (unsigned long long)e->id, w->path, w->container, w->pod,
		    e->name, e->pod);
}

/* What resolver__get does first for an id it does not know. */
static void path_by_handle(int root_fd, uint64_t id)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t),
			.handle_type = FILEID_KERNFS } };
	char link[64], target[PATH_MAX];
	int fd;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(root_fd, &h.fh, O_RDONLY | O_CLOEXEC | O_PATH);
	if (fd < 0)
		die("open_by_handle_at(%llu): %s", (unsigned long long)id,
		    strerror(errno));
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if (readlink(link, target, sizeof(target) - 1) < 0)
		die("readlink: %s", strerror(errno));
	close(fd);
}

/* The two halves of a cold get, each over every id, timed alone. */
static void breakdown(const char *root, const char *host_root,
		      const struct workload **ws)
{
	struct meta_roots roots = { .host_root = host_root };
	struct container_meta meta;
	uint64_t t0, t1, t2, c0, c1, c2;
	int root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (root_fd < 0)
		die("%s: %s", root, strerror(errno));
	c0 = cpu_ns();
	t0 = now_ns();
	for (size_t i = 0; i < nwant; i++)
		path_by_handle(root_fd, want[i].id);
	t1 = now_ns();
	c1 = cpu_ns();
	for (size_t i = 0; i < nwant; i++) {
		int err = container_meta__read(&roots, ws[i]->info.runtime,
					       ws[i]->info.container_id, &meta);

		if (err)
			die("container_meta__read: %s", strerror(-err));
	}
	t2 = now_ns();
	c2 = cpu_ns();
	close(root_fd);
	printf("handle_ns=%llu\nmeta_ns=%llu\n", (unsigned long long)(t1 - t0),
	       (unsigned long long)(t2 - t1));
	printf("handle_cpu_ns=%llu\nmeta_cpu_ns=%llu\n",
	       (unsigned long long)(c1 - c0), (unsigned long long)(c2 - c1));
}

static void warm(struct resolver *r, long lookups, int reps)
{
	uint64_t ns[MAX_REPS], cpu[MAX_REPS];
	uint64_t *order = malloc(nwant * sizeof(*order));
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	if (!order)
		die("out of memory");
	for (size_t i = 0; i < nwant; i++)
		order[i] = want[i].id;
	for (size_t i = nwant - 1; i > 0; i--) {	/* Fisher-Yates */
		size_t j;
		uint64_t t;

		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		j = seed % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	for (int rep = 0; rep < reps; rep++) {
		uint64_t c0 = cpu_ns(), t0 = now_ns(), acc = 0;
		size_t k = 0;

		for (long i = 0; i < lookups; i++) {
			const struct workload *w = resolver__get(r, order[k]);

			acc += w->cgroup_id;
			if (++k == nwant)
				k = 0;
		}
		ns[rep] = now_ns() - t0;
		cpu[rep] = cpu_ns() - c0;
		sink += acc;
		printf("warm_rep_ns_per_lookup=%.2f\n", (double)ns[rep] / lookups);
	}
	printf("warm_ns_per_lookup=%.2f\nwarm_cpu_ns_per_lookup=%.2f\n",
	       (double)median_u64(ns, (size_t)reps) / lookups,
	       (double)median_u64(cpu, (size_t)reps) / lookups);
	/* Still right after all that? */
	for (size_t i = 0; i < nwant; i++)
		check(resolver__get(r, want[i].id), &want[i]);
	free(order);
}

/*
 * An id that names no cgroup (one that has gone away): open_by_handle_at
 * fails with ESTALE. Depending on the resolver's version that is NULL
 * after a walk of the whole tree, or a "no container" entry that is
 * remembered; either is accepted, a container is not. The first lookup
 * of each unknown id and a repeat of the same id are timed apart.
 */
static const struct workload *lookup_unknown(struct resolver *r, uint64_t id)
{
	const struct workload *w = resolver__get(r, id);

	if (w && (w->container[0] || w->pod[0] || w->info.runtime != RUNTIME_NONE))
		die("unknown id %llu resolved to container '%s' pod '%s'",
		    (unsigned long long)id, w->container, w->pod);
	return w;
}

static void miss(struct resolver *r)
{
	uint64_t ns[MISS_REPS], rns[MISS_REPS];
	size_t before = resolver__count(r);
	int nulls = 0;

	for (int i = 0; i < MISS_REPS; i++) {
		/* A fresh unknown id each time: none can be remembered yet. */
		uint64_t bogus = (1ULL << 62) + 1000003ULL * (uint64_t)(i + 1);
		uint64_t t0 = now_ns();

		nulls += !lookup_unknown(r, bogus);
		ns[i] = now_ns() - t0;
		/* Again: averaged over a loop, it may be a hash hit now. */
		t0 = now_ns();
		for (int k = 0; k < MISS_REPEAT; k++)
			sink += (uintptr_t)lookup_unknown(r, bogus);
		rns[i] = now_ns() - t0;
	}
	/* (No CPU times: one lookup is below the CPU clock's resolution.) */
	printf("miss_ns=%llu\nmiss_repeat_ns_per_lookup=%.2f\nmiss_null=%d\n"
	       "miss_count_added=%zu\n",
	       (unsigned long long)median_u64(ns, MISS_REPS),
	       (double)median_u64(rns, MISS_REPS) / MISS_REPEAT, nulls,
	       resolver__count(r) - before);
}

static void run_get(const char *root, const char *host_root, long lookups,
		    int reps)
{
	const struct workload **ws = calloc(nwant, sizeof(*ws));
	long rss0, heap0, rss1, heap1;
	struct resolver *r;
	uint64_t t0, t1, c0, c1;

	if (!ws)
		die("out of memory");
	rss0 = rss_bytes();
	heap0 = heap_used();
	c0 = cpu_ns();
	t0 = now_ns();
	r = resolver__new(root, host_root);
	if (!r)
		die("resolver__new(%s): %s", root, strerror(errno));
	for (size_t i = 0; i < nwant; i++)
		ws[i] = resolver__get(r, want[i].id);
	t1 = now_ns();
	c1 = cpu_ns();
	rss1 = rss_bytes();
	heap1 = heap_used();
	for (size_t i = 0; i < nwant; i++)
		check(ws[i], &want[i]);
	/* More than asked for: a get fell back to walking the tree. */
	if (resolver__count(r) != nwant)
		die("cold get: %zu workloads for %zu ids (fell back to a scan: no CAP_DAC_READ_SEARCH?)",
		    resolver__count(r), nwant);
	printf("cold_cpu_ns=%llu\n", (unsigned long long)(c1 - c0));
	printf("ids=%zu\ncold_ns=%llu\ncount=%zu\nrss_delta=%ld\nheap_delta=%ld\n"
	       "sizeof_workload=%zu\n", nwant, (unsigned long long)(t1 - t0),
	       resolver__count(r), rss1 - rss0, heap1 - heap0,
	       sizeof(struct workload));
	breakdown(root, host_root, ws);
	warm(r, lookups, reps);
	miss(r);
	resolver__free(r);
	free(ws);
}

static void run_scan(const char *root, const char *host_root)
{
	long rss0, heap0, rss1, heap1;
	struct resolver *r;
	uint64_t t0, t1, c0, c1;
	int err;

	rss0 = rss_bytes();
	heap0 = heap_used();
	c0 = cpu_ns();
	t0 = now_ns();
	r = resolver__new(root, host_root);
	if (!r)
		die("resolver__new(%s): %s", root, strerror(errno));
	err = resolver__scan(r);
	t1 = now_ns();
	c1 = cpu_ns();
	rss1 = rss_bytes();
	heap1 = heap_used();
	if (err)
		die("resolver__scan: %s", strerror(-err));
	/* Every id must be known now: no lookup may add to the table. */
	for (size_t i = 0; i < nwant; i++) {
		size_t before = resolver__count(r);

		check(resolver__get(r, want[i].id), &want[i]);
		if (resolver__count(r) != before)
			die("id %llu: not found by the scan",
			    (unsigned long long)want[i].id);
	}
	printf("cold_cpu_ns=%llu\n", (unsigned long long)(c1 - c0));
	printf("ids=%zu\ncold_ns=%llu\ncount=%zu\nrss_delta=%ld\nheap_delta=%ld\n",
	       nwant, (unsigned long long)(t1 - t0), resolver__count(r),
	       rss1 - rss0, heap1 - heap0);
	resolver__free(r);
}

static void usage(void)
{
	fprintf(stderr, "usage: resolver_bench [-n LOOKUPS] [-r REPS] get|scan CGROUP_ROOT HOST_ROOT IDS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	long lookups = 1000000;
	int reps = 7, c;

	while ((c = getopt(argc, argv, "n:r:")) != -1) {
		switch (c) {
		case 'n':
			lookups = atol(optarg);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 4 || lookups < 1 || reps < 1 || reps > MAX_REPS)
		usage();
	read_ids(argv[optind + 3]);
	if (!strcmp(argv[optind], "get"))
		run_get(argv[optind + 1], argv[optind + 2], lookups, reps);
	else if (!strcmp(argv[optind], "scan"))
		run_scan(argv[optind + 1], argv[optind + 2]);
	else
		usage();
	return 0;
}
