// SPDX-License-Identifier: MIT
/*
 * The symbolizer (src/symbols/symbolize.h) naming a live process's code:
 * N addresses spread evenly over each of its executable file mappings.
 * One process per mode and round (bench/naming.sh), so every cold figure
 * starts from a new symbolizer and heap.
 *
 *   naming_bench lines|nolines PID N
 *
 * load  = symbolizer__add_process (maps, every file's symbols, debug files)
 * cold  = the first symbolizer__user_frames of each address (with lines:
 *         opening each file's DWARF on its first address)
 * warm  = the same addresses again
 * Prints key=value lines (times in ns, memory in KiB) on stdout.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "symbolize.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static long rss_kib(void)
{
	long kib = -1;
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* N addresses spread over pid's executable file mappings. */
static uint64_t *pick(int pid, size_t n, size_t *got)
{
	uint64_t *ips = calloc(n, sizeof(*ips)), total = 0, step, at = 0;
	unsigned long long lo, hi;
	char path[64], line[4096], perm[8];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	for (int pass = 0; pass < 2; pass++) {
		f = fopen(path, "re");
		if (!f || !ips)
			return NULL;
		while (fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%llx-%llx %7s", &lo, &hi, perm) != 3 ||
			    perm[2] != 'x' || !strchr(line, '/'))
				continue;
			if (!pass) {
				total += hi - lo;
				continue;
			}
			step = total / n ? total / n : 1;
			for (uint64_t a = lo + (at % step); a < hi && *got < n; a += step)
				ips[(*got)++] = a;
			at += hi - lo;
		}
		fclose(f);
	}
	return ips;
}

int main(int argc, char **argv)
{
	struct user_frames *out = malloc(sizeof(*out));
	const struct symbolizer_stats *st;
	uint64_t t0, t_load, t_cold, t_warm, *ips;
	struct symbolizer *s;
	size_t n, got = 0;
	long rss0, rss1;
	int pid;

	if (argc != 4 || (strcmp(argv[1], "lines") && strcmp(argv[1], "nolines"))) {
		fprintf(stderr, "usage: naming_bench lines|nolines PID N\n");
		return 2;
	}
	pid = atoi(argv[2]);
	n = strtoul(argv[3], NULL, 10);
	ips = pick(pid, n, &got);
	if (!ips || !got || !out) {
		fprintf(stderr, "naming_bench: no executable mappings in %d\n", pid);
		return 1;
	}
	rss0 = rss_kib();
	s = symbolizer__new("/proc");
	if (!s)
		return 1;
	symbolizer__set_dwarf_budget(s, strcmp(argv[1], "lines") ? 0 : 256 << 20);
	t0 = now_ns();
	if (symbolizer__add_process(s, (uint32_t)pid)) {
		fprintf(stderr, "naming_bench: cannot read process %d\n", pid);
		return 1;
	}
	t_load = now_ns() - t0;
	t0 = now_ns();
	for (size_t i = 0; i < got; i++)
		symbolizer__user_frames(s, (uint32_t)pid, 0, ips[i], i & 1, out);
	t_cold = now_ns() - t0;
	t0 = now_ns();
	for (size_t i = 0; i < got; i++)
		symbolizer__user_frames(s, (uint32_t)pid, 0, ips[i], i & 1, out);
	t_warm = now_ns() - t0;
	rss1 = rss_kib();
	st = symbolizer__stats(s);
	printf("addresses=%zu\nload_ns=%llu\ncold_ns_per_addr=%llu\n"
	       "warm_ns_per_addr=%llu\nrss_kib=%ld\nwith_line=%llu\n"
	       "inlined=%llu\ndwarf_files=%llu\n", got,
	       (unsigned long long)t_load,
	       (unsigned long long)(t_cold / got),
	       (unsigned long long)(t_warm / got), rss1 - rss0,
	       (unsigned long long)st->frames_with_line,
	       (unsigned long long)st->frames_inlined,
	       (unsigned long long)st->dwarf_files);
	symbolizer__free(s);
	free(ips);
	free(out);
	return 0;
}
