// SPDX-License-Identifier: MIT
/*
 * sysscope ps: the containers and pods on this node, as sysscope names them.
 * Every container's runtime JSON is parsed, so ps runs in the sandbox of
 * the profiling modes (reading capabilities, seccomp filter) from the first
 * file it reads that a tenant can write.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include "cgroup.h"
#include "commands.h"
#include "log.h"
#include "privs.h"
#include "resolver.h"
#include "session.h"

static long count_lines(const char *path)
{
	FILE *f = fopen(path, "re");
	long n = 0;
	int c;

	if (!f)
		return -1;
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* CPU seconds used: v2 cpu.stat usage_usec, or v1 cpuacct.usage (ns). */
static double cpu_seconds(const char *dir, bool v1)
{
	char path[PATH_MAX * 2 + 32], key[64];
	unsigned long long v;
	double secs = -1;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, v1 ? "cpuacct.usage" : "cpu.stat");
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (v1 && fscanf(f, "%llu", &v) == 1)
		secs = v / 1e9;
	while (!v1 && fscanf(f, "%63s %llu", key, &v) == 2)
		if (!strcmp(key, "usage_usec"))
			secs = v / 1e6;
	fclose(f);
	return secs;
}

static void ps_row(const struct resolver *res, const struct workload *w,
		   const char *cpuacct)
{
	char dir[PATH_MAX], procs[PATH_MAX + 32], cpu[32] = "-";
	char acct[PATH_MAX * 2];
	double secs;
	long n;

	resolver__dir(res, w, dir, sizeof(dir));
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", dir);
	n = count_lines(procs);
	/* v1: cpuacct may be its own hierarchy, with the same paths. */
	if (cpuacct)
		snprintf(acct, sizeof(acct), "%s%s", cpuacct, w->path);
	secs = cpu_seconds(cpuacct ? acct : dir, cpuacct != NULL);
	if (secs >= 0)
		snprintf(cpu, sizeof(cpu), "%.2f", secs);
	printf("%-10s %-12.12s %-24s %-24s %-16s %-12llu %5ld %10s\n",
	       cgroup_runtime__name(w->info.runtime), w->info.container_id,
	       w->container, w->meta.pod_name[0] ? w->meta.pod_name : "-",
	       w->meta.pod_namespace[0] ? w->meta.pod_namespace : "-",
	       (unsigned long long)w->cgroup_id, n, cpu);
}

int cmd_ps(const struct opts *o)
{
	char cpuacct[PATH_MAX], missing[128];
	struct resolver *res;
	bool v1;
	int err;

	/* Runtime state (/run/containerd, ...) is root's, mode 0700. */
	err = privs__check_read(missing, sizeof(missing));
	if (err) {
		log_error("missing capability %s: run as root", missing);
		return err;
	}
	res = session__open_resolver(o, &v1);
	if (!res)
		return -ENOENT;
	if (v1 && cgroup__find_v1_mount("/proc/self/mountinfo", "cpuacct",
					cpuacct, sizeof(cpuacct)))
		cpuacct[0] = '\0';
	err = session__enter_reader_sandbox(o);
	if (err)
		goto out;
	err = resolver__scan(res);
	if (err) {
		log_error("scanning cgroups: %s", strerror(-err));
		goto out;
	}
	/* The state the scan ran in: nothing can raise it again. */
	err = session__reader_selftest(o);
	if (err)
		goto out;
	printf("%-10s %-12s %-24s %-24s %-16s %-12s %5s %10s\n", "RUNTIME",
	       "ID", "CONTAINER", "POD", "NAMESPACE", "CGROUP-ID", "PROCS",
	       "CPU-SEC");
	for (size_t i = 0; i < resolver__count(res); i++) {
		const struct workload *w = resolver__at(res, i);

		if (w->info.runtime != RUNTIME_NONE && w->info.container_id[0])
			ps_row(res, w, v1 && cpuacct[0] ? cpuacct : NULL);
	}
out:
	resolver__free(res);
	return err;
}
