// SPDX-License-Identifier: MIT
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "opts.h"

#define FREQ_MIN 1
#define FREQ_MAX 10000
#define DURATION_MAX (366.0 * 24 * 3600)
#define PID_MAX 4194304		/* the kernel's PID_MAX_LIMIT on 64-bit */

enum {
	OPT_CGROUP = 0x100,
	OPT_VERSION,
	OPT_PROC,
	OPT_MAX_ENTRIES,
	OPT_MAX_STACKS,
	OPT_USER_THREADS,
	OPT_KERNEL_THREADS,
	OPT_CONTAINER,
	OPT_POD,
	OPT_HOST_ROOT,
	OPT_CGROUP_VERSION,
	OPT_NO_SECCOMP,
	OPT_READ_REMOTE_FS,
	OPT_SANDBOX_SELFTEST,
	OPT_USER,
	OPT_LISTEN,
	OPT_WINDOW,
	OPT_RETENTION,
	OPT_MEMORY_LIMIT,
	OPT_UNWIND,
	OPT_UNWIND_TABLES,
	OPT_NO_PYTHON,
	OPT_DWARF_BUDGET,
	OPT_CACHE_BUDGET,
	OPT_VALIDATE_UNWIND,
	OPT_DEBUGINFOD,
	OPT_DEBUGINFOD_CACHE,
	OPT_CPU_BUDGET,
	OPT_CLICKHOUSE,
	OPT_CLICKHOUSE_DB,
	OPT_NODE,
	OPT_SPOOL_DIR,
	OPT_SPOOL_MAX,
	OPT_QUEUE_MAX,
	OPT_CH_RETENTION,
	OPT_VIEW,
	OPT_SINCE,
	OPT_FROM,
	OPT_TO,
	OPT_DIFF_FROM,
	OPT_DIFF_TO,
	OPT_INIT,
};

static const struct option long_options[] = {
	{ "duration", required_argument, NULL, 'd' },
	{ "frequency", required_argument, NULL, 'f' },
	{ "pid", required_argument, NULL, 'p' },
	{ "tid", required_argument, NULL, 't' },
	{ "cgroup", required_argument, NULL, OPT_CGROUP },
	{ "container", required_argument, NULL, OPT_CONTAINER },
	{ "pod", required_argument, NULL, OPT_POD },
	{ "namespace", required_argument, NULL, 'n' },
	{ "host-root", required_argument, NULL, OPT_HOST_ROOT },
	{ "cgroup-version", required_argument, NULL, OPT_CGROUP_VERSION },
	{ "no-seccomp", no_argument, NULL, OPT_NO_SECCOMP },
	{ "read-remote-fs", no_argument, NULL, OPT_READ_REMOTE_FS },
	{ "sandbox-selftest", no_argument, NULL, OPT_SANDBOX_SELFTEST },
	{ "cpu", required_argument, NULL, 'c' },
	{ "min-block", required_argument, NULL, 'm' },
	{ "user-threads-only", no_argument, NULL, OPT_USER_THREADS },
	{ "kernel-threads-only", no_argument, NULL, OPT_KERNEL_THREADS },
	{ "user-stacks-only", no_argument, NULL, 'U' },
	{ "kernel-stacks-only", no_argument, NULL, 'K' },
	{ "output", required_argument, NULL, 'o' },
	{ "proc", required_argument, NULL, OPT_PROC },
	{ "user", required_argument, NULL, OPT_USER },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "window", required_argument, NULL, OPT_WINDOW },
	{ "retention", required_argument, NULL, OPT_RETENTION },
	{ "memory-limit", required_argument, NULL, OPT_MEMORY_LIMIT },
	{ "max-entries", required_argument, NULL, OPT_MAX_ENTRIES },
	{ "max-stacks", required_argument, NULL, OPT_MAX_STACKS },
	{ "unwind", required_argument, NULL, OPT_UNWIND },
	{ "unwind-tables", required_argument, NULL, OPT_UNWIND_TABLES },
	{ "no-python", no_argument, NULL, OPT_NO_PYTHON },
	{ "dwarf-budget", required_argument, NULL, OPT_DWARF_BUDGET },
	{ "cache-budget", required_argument, NULL, OPT_CACHE_BUDGET },
	{ "validate-unwind", required_argument, NULL, OPT_VALIDATE_UNWIND },
	{ "cpu-budget", required_argument, NULL, OPT_CPU_BUDGET },
	{ "debuginfod", required_argument, NULL, OPT_DEBUGINFOD },
	{ "debuginfod-cache", required_argument, NULL, OPT_DEBUGINFOD_CACHE },
	{ "clickhouse", required_argument, NULL, OPT_CLICKHOUSE },
	{ "clickhouse-db", required_argument, NULL, OPT_CLICKHOUSE_DB },
	{ "node", required_argument, NULL, OPT_NODE },
	{ "spool-dir", required_argument, NULL, OPT_SPOOL_DIR },
	{ "spool-max", required_argument, NULL, OPT_SPOOL_MAX },
	{ "queue-max", required_argument, NULL, OPT_QUEUE_MAX },
	{ "clickhouse-retention", required_argument, NULL, OPT_CH_RETENTION },
	{ "mode", required_argument, NULL, OPT_VIEW },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "from", required_argument, NULL, OPT_FROM },
	{ "to", required_argument, NULL, OPT_TO },
	{ "diff-from", required_argument, NULL, OPT_DIFF_FROM },
	{ "diff-to", required_argument, NULL, OPT_DIFF_TO },
	{ "init", no_argument, NULL, OPT_INIT },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{},
};

static const char usage[] =
"Usage: sysscope [MODE] [OPTIONS]\n"
"\n"
"Profiles this node with eBPF and writes flamegraphs.\n"
"\n"
"Modes:\n"
"  wallclock                  on-CPU and off-CPU time in one profile (default)\n"
"  profile                    on-CPU sampling\n"
"  offcputime                 off-CPU time: blocked, sleeping, waiting for a CPU\n"
"  ps                         list the containers and pods on this node\n"
"  agent                      wall-clock profiles of every pod, in windows,\n"
"                             served over HTTP (until SIGTERM or -d)\n"
"  query                      profiles the agents pushed to ClickHouse, written\n"
"                             as a run writes them (--clickhouse)\n"
"\n"
"Options:\n"
"  -d, --duration SEC         stop after SEC seconds (default: at Ctrl-C)\n"
"  -f, --frequency HZ         samples per second per CPU, 1..10000 (default 49)\n"
"  -p, --pid PID[,PID...]     only these processes\n"
"  -t, --tid TID[,TID...]     only these threads\n"
"      --cgroup PATH          only this cgroup v2 and everything below it\n"
"      --container NAME       only this container (name or id prefix)\n"
"      --pod [NS/]NAME        only the containers of this pod\n"
"  -n, --namespace NS         only the pods of this Kubernetes namespace\n"
"      --host-root DIR        where the host's /run and /var/lib are (default /)\n"
"      --cgroup-version N     1 or 2: which hierarchy names cgroups (default: 2 if mounted)\n"
"  -c, --cpu CPU              only this CPU (on-CPU sampling)\n"
"  -m, --min-block USEC       skip off-CPU intervals shorter (default 1000)\n"
"      --user-threads-only    no kernel threads\n"
"      --kernel-threads-only  only kernel threads\n"
"  -U, --user-stacks-only     user-space stacks only\n"
"  -K, --kernel-stacks-only   kernel stacks only\n"
"  -o, --output DIR           output folder (default sysscope-MODE-TIME/)\n"
"      --proc DIR             procfs of the host (default /proc)\n"
"      --user USER            after loading, run as USER (name or uid), keeping\n"
"                             the reading capabilities; the output folder is USER's\n"
"      --listen ADDR:PORT     agent: where to serve HTTP (default 0.0.0.0:8080)\n"
"      --window SEC           agent: one profile per SEC seconds (default 60)\n"
"      --retention TIME       agent: keep windows this long: SEC, or with\n"
"                             s, m, h (default 1h)\n"
"      --memory-limit SIZE    agent: resident memory cap, bytes or K, M, G\n"
"                             (default 256M); the oldest windows go first\n"
"      --max-entries N        distinct thread/stack keys kept (default 65536)\n"
"      --max-stacks N         distinct stacks kept (default 32768)\n"
"      --unwind cfi|fp        user stacks: CFI tables from .eh_frame, frame\n"
"                             pointers where a file has none (cfi, the\n"
"                             default), or frame pointers only (fp)\n"
"      --unwind-tables SIZE   memory for CFI tables, 16M..4G (default 16M,\n"
"                             about 200 MiB of code); files past it: fp\n"
"      --no-python            no Python frames (CPython 3.8-3.13 are walked\n"
"                             in BPF and named function (file.py:LINE))\n"
"      --cache-budget SIZE    memory for what is derived from processes' files:\n"
"                             symbols, DWARF, perf maps, unwind tables, cgroups\n"
"                             (default 512M; agent: 3/8 of --memory-limit);\n"
"                             unused files stay cached, the least recently\n"
"                             used evicted first\n"
"      --dwarf-budget SIZE    of it, DWARF for source lines and inlined frames\n"
"                             at most (default 256M; agent: --memory-limit / 8;\n"
"                             0: none)\n"
"      --cpu-budget PERCENT   keep profiling (BPF and this process) under\n"
"                             PERCENT of one core by recording one off-CPU\n"
"                             switch in N, N adapted every 2 s (agent: 1;\n"
"                             runs: 0, every switch)\n"
"      --validate-unwind N    check 1 in N on-CPU stack walks against libdw\n"
"                             (16 KiB of stack copied; up to 500 per run)\n"
"      --debuginfod URLS      fetch debug files not found here from these\n"
"                             debuginfod servers (space separated; default\n"
"                             $DEBUGINFOD_URLS, '' for none), in a helper\n"
"                             process of its own, as nobody (or --user)\n"
"      --debuginfod-cache DIR where the helper keeps them (default\n"
"                             /var/cache/sysscope/debuginfod)\n"
"ClickHouse (agent pushes each window; query reads them back):\n"
"      --clickhouse URL       http://[USER[:PASSWORD]@]HOST:PORT/ (or\n"
"                             $SYSSCOPE_CLICKHOUSE_USER, _PASSWORD)\n"
"      --clickhouse-db NAME   database (default sysscope), made if missing\n"
"      --node NAME            agent: this node's name (default the host name)\n"
"      --queue-max SIZE       agent: windows waiting in memory (default 64M)\n"
"      --spool-dir DIR        agent: then on disk here (default: none, dropped)\n"
"      --spool-max SIZE       agent: bytes on disk (default 1G)\n"
"      --clickhouse-retention DAYS  day partitions kept (default 7; 0: all)\n"
"      --pod, --container, -n, --node   query: the selection (default all)\n"
"      --since TIME           query: the last TIME (s, m, h, d; default 1h)\n"
"      --from T, --to T       query: unix seconds or YYYY-MM-DDTHH:MM:SS (UTC)\n"
"      --mode MODE            query: wallclock (default), oncpu or offcpu\n"
"      --diff-from T --diff-to T  query: also flamegraph-diff.svg against this\n"
"                             baseline (red: grew, blue: shrank)\n"
"      --init                 query: create the tables, then exit\n"
"      --read-remote-fs       read mapped files on FUSE and network filesystems\n"
"                             (NFS, SMB, 9p...): skipped by default, as a stalled\n"
"                             mount would hold the collector\n"
"      --no-seccomp           debugging only: run without the seccomp filter\n"
"      --sandbox-selftest     tests: check that forbidden calls fail, then run\n"
"  -v, --verbose              libbpf messages (-vv: debug)\n"
"  -h, --help                 this help\n"
"      --version              the version\n"
"\n"
"Writes flamegraph.svg, stacks.folded, profile.pb.gz (pprof), summary.txt\n"
"and threads.txt; wallclock adds flamegraph-oncpu.svg and flamegraph-offcpu.svg.\n";

static enum opts_result fail(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	return OPTS_ERROR;
}

static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* "12,34,56" into ids; false with a reason on a bad or empty element. */
static bool parse_id_list(const char *arg, uint32_t *ids, size_t *n,
			  const char *what, char *err, size_t errlen)
{
	char buf[8192], *rest = buf, *tok;

	if (strlen(arg) >= sizeof(buf)) {
		fail(err, errlen, "%s list too long", what);
		return false;
	}
	strcpy(buf, arg);
	/* strsep, not strtok: "1,,2" has an empty element, an error. */
	while ((tok = strsep(&rest, ","))) {
		uint64_t v;

		if (!parse_u64(tok, 1, PID_MAX, &v)) {
			fail(err, errlen, "invalid %s '%s' in '%s': expected 1..%d",
			     what, tok, arg, PID_MAX);
			return false;
		}
		if (*n == OPTS_MAX_IDS) {
			fail(err, errlen, "too many %ss (at most %d)", what,
			     OPTS_MAX_IDS);
			return false;
		}
		ids[(*n)++] = v;
	}
	return true;
}

static bool parse_duration(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > DURATION_MAX)
		return false;
	*out = v;
	return true;
}

/*
 * The passwd entry of name (by_uid: of uid) into *pw and buf: 1 found,
 * 0 not found, or -errno. buf grows as getpw*_r() asks (ERANGE).
 */
static int lookup_user(const char *name, uid_t uid, bool by_uid,
		       struct passwd *pw, char **buf)
{
	struct passwd *res = NULL;
	size_t len = 1024;
	int err;

	for (;;) {
		char *n = realloc(*buf, len);

		if (!n)
			return -ENOMEM;
		*buf = n;
		err = by_uid ? getpwuid_r(uid, pw, *buf, len, &res) :
			       getpwnam_r(name, pw, *buf, len, &res);
		if (err != ERANGE || len >= (1u << 20))
			break;
		len *= 2;
	}
	if (res)
		return 1;
	/* "Not found" may come as 0 or as one of these (getpwnam_r(3)). */
	if (!err || err == ENOENT || err == ESRCH || err == EBADF ||
	    err == EPERM)
		return 0;
	return -err;
}

/*
 * --user: a name, or a decimal uid (all digits; a passwd entry is then
 * optional). The result is a uid and the entry's primary gid.
 */
static enum opts_result parse_user(const char *arg, struct opts *o,
				   char *err, size_t errlen)
{
	bool numeric = *arg && strspn(arg, "0123456789") == strlen(arg);
	struct passwd pw;
	char *buf = NULL;
	uint64_t v = 0;
	int found;

	if (!*arg)
		return fail(err, errlen, "invalid user '': expected a user name or uid");
	/* (uid_t)-1 means "unchanged" to setresuid(): never a user. */
	if (numeric && !parse_u64(arg, 0, (uid_t)-2, &v))
		return fail(err, errlen, "invalid user '%s': uid out of range", arg);
	found = lookup_user(arg, (uid_t)v, numeric, &pw, &buf);
	if (found < 0) {
		free(buf);
		return fail(err, errlen, "user '%s': cannot read the user database: %s",
			    arg, strerror(-found));
	}
	if (!found && !numeric) {
		free(buf);
		return fail(err, errlen, "unknown user '%s' (not in the user database)", arg);
	}
	o->user = arg;
	o->uid = found ? pw.pw_uid : (uid_t)v;
	o->gid = found ? pw.pw_gid : (gid_t)v;
	free(buf);
	return OPTS_RUN;
}

/* "90", "90s", "15m", "1h": seconds into *out, within 1 s .. 7 days. */
static bool parse_time(const char *s, double *out)
{
	char *end;
	double v, unit = 1;

	/* Decimal only: no sign, space, hex, exponent, inf or nan. */
	if (*s < '0' || *s > '9' || strspn(s, "0123456789.") <
	    strcspn(s, "smh"))
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0))
		return false;
	if (*end == 's' || *end == 'm' || *end == 'h') {
		unit = *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
		end++;
	}
	if (*end || v * unit < 1 || v * unit > 7 * 86400)
		return false;
	*out = v * unit;
	return true;
}

/* "268435456", "256M", "1G", "512K", "1T": bytes, 16 MiB .. 1 TiB. */
static bool parse_bytes(const char *s, uint64_t min, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t unit = 1;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return false;
	switch (*end) {
	case 'K': case 'k': unit = 1ULL << 10; end++; break;
	case 'M': case 'm': unit = 1ULL << 20; end++; break;
	case 'G': case 'g': unit = 1ULL << 30; end++; break;
	case 'T': case 't': unit = 1ULL << 40; end++; break;
	}
	if (*end == 'i' && end[1] == 'B' && unit > 1)
		end += 2;
	else if (*end == 'B' && unit > 1)
		end++;
	if (*end || v > (1ULL << 40) / unit || v * unit < min ||
	    v * unit > (1ULL << 40))
		return false;
	*out = v * unit;
	return true;
}

/* --since: SEC, or with s, m, h, d; up to a year. */
static bool parse_span(const char *s, double *out)
{
	char *end;
	double v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtod(s, &end);
	if (errno || !(v > 0))
		return false;
	switch (*end) {
	case 'd': v *= 86400; end++; break;
	case 'h': v *= 3600; end++; break;
	case 'm': v *= 60; end++; break;
	case 's': end++; break;
	}
	if (*end || v < 1 || v > 366 * 86400.0)
		return false;
	*out = v;
	return true;
}

/* --from/--to: unix seconds, or an ISO 8601 date and time in UTC. */
static bool parse_instant(const char *s, int64_t *out)
{
	static const char *const formats[] = {
		"%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
		"%Y-%m-%d",
	};
	uint64_t v;

	if (strspn(s, "0123456789") == strlen(s))
		return parse_u64(s, 0, (uint64_t)INT32_MAX * 2, &v) &&
		       (*out = (int64_t)v, true);
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct tm tm = { 0 };
		const char *end = strptime(s, formats[i], &tm);

		if (end && (!*end || !strcmp(end, "Z"))) {
			*out = (int64_t)timegm(&tm);
			return true;
		}
	}
	return false;
}

/* A size of memory: at least 16 MiB. */
static bool parse_size(const char *s, uint64_t *out)
{
	return parse_bytes(s, 16ULL << 20, out);
}

/* A percentage of one core: 0 (off), or 0.01 .. 100. */
static bool parse_percent(const char *s, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v == 0 || (v >= 0.01 && v <= 100)))
		return false;
	*out = v;
	return true;
}

static void opts__defaults(struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = MODE_WALLCLOCK;
	o->min_block_us = 1000;
	o->frequency = 49;
	o->cpu = -1;
	o->user_stacks = true;
	o->kernel_stacks = true;
	o->proc_root = "/proc";
	o->host_root = "";
	o->max_entries = 65536;
	o->max_stacks = 32768;
	o->listen = "0.0.0.0:8080";
	o->window_s = 60;
	o->retention_s = 3600;
	o->memory_limit = 256ULL << 20;
	o->unwind_table_bytes = 16ULL << 20;
	o->debuginfod_cache = "/var/cache/sysscope/debuginfod";
	o->spool_max = 1ULL << 30;
	o->queue_max = 64ULL << 20;
	o->ch_retention_days = 7;
	o->from_s = o->to_s = o->diff_from_s = o->diff_to_s = -1;
}

static enum opts_result parse_clickhouse(int c, const char *arg,
					 struct opts *o, char *err,
					 size_t errlen)
{
	static const char *const views[] = { "wallclock", "oncpu", "offcpu" };
	int64_t *instant;
	uint64_t v;

	switch (c) {
	case OPT_CLICKHOUSE:
		o->clickhouse_url = arg;
		break;
	case OPT_CLICKHOUSE_DB:
		o->clickhouse_db = arg;
		break;
	case OPT_NODE:
		if (!*arg || strlen(arg) > 253)
			return fail(err, errlen, "invalid node name '%s'", arg);
		o->node = arg;
		break;
	case OPT_SPOOL_DIR:
		if (arg[0] != '/')
			return fail(err, errlen, "--spool-dir '%s': an absolute path, please", arg);
		o->spool_dir = arg;
		break;
	case OPT_SPOOL_MAX:
	case OPT_QUEUE_MAX:
		if (!parse_bytes(arg, 0, &v))
			return fail(err, errlen, "invalid size '%s': expected bytes or K, M, G", arg);
		*(c == OPT_SPOOL_MAX ? &o->spool_max : &o->queue_max) = v;
		break;
	case OPT_CH_RETENTION:
		if (!parse_u64(arg, 0, 3650, &v))
			return fail(err, errlen, "invalid --clickhouse-retention '%s': days, 0..3650", arg);
		o->ch_retention_days = (unsigned int)v;
		break;
	case OPT_VIEW:
		for (size_t i = 0; i < 3; i++)
			if (!strcmp(arg, views[i]))
				return o->view = (int)i, OPTS_RUN;
		return fail(err, errlen, "invalid --mode '%s': wallclock, oncpu or offcpu", arg);
	case OPT_SINCE:
		if (!parse_span(arg, &o->since_s))
			return fail(err, errlen, "invalid --since '%s': expected a time such as 30m, 2h or 1d", arg);
		break;
	case OPT_FROM: case OPT_TO: case OPT_DIFF_FROM: case OPT_DIFF_TO:
		instant = c == OPT_FROM ? &o->from_s : c == OPT_TO ? &o->to_s :
			  c == OPT_DIFF_FROM ? &o->diff_from_s : &o->diff_to_s;
		if (!parse_instant(arg, instant))
			return fail(err, errlen, "invalid time '%s': unix seconds or YYYY-MM-DDTHH:MM:SS (UTC)", arg);
		break;
	case OPT_INIT:
		o->ch_init = true;
		break;
	}
	return OPTS_RUN;
}

static enum opts_result parse_one(int c, const char *arg, struct opts *o,
				  char *err, size_t errlen)
{
	uint64_t v;

	switch (c) {
	case 'd':
		if (!parse_duration(arg, &o->duration_s))
			return fail(err, errlen, "invalid duration '%s': expected seconds > 0", arg);
		break;
	case 'f':
		if (!parse_u64(arg, FREQ_MIN, FREQ_MAX, &v))
			return fail(err, errlen, "invalid frequency '%s': expected %d..%d Hz",
				    arg, FREQ_MIN, FREQ_MAX);
		o->frequency = v;
		break;
	case 'p':
		if (!parse_id_list(arg, o->pids, &o->npids, "pid", err, errlen))
			return OPTS_ERROR;
		break;
	case 't':
		if (!parse_id_list(arg, o->tids, &o->ntids, "tid", err, errlen))
			return OPTS_ERROR;
		break;
	case 'c':
		if (!parse_u64(arg, 0, 8191, &v))
			return fail(err, errlen, "invalid cpu '%s'", arg);
		o->cpu = v;
		break;
	case 'm':
		/* Up to an hour: beyond that nothing would ever be recorded. */
		if (!parse_u64(arg, 1, 3600000000ULL, &v))
			return fail(err, errlen, "invalid min-block '%s': expected microseconds 1..3600000000", arg);
		o->min_block_us = v;
		break;
	case OPT_USER_THREADS:
		o->user_threads_only = true;
		break;
	case OPT_KERNEL_THREADS:
		o->kernel_threads_only = true;
		break;
	case 'U':
		o->kernel_stacks = false;
		break;
	case 'K':
		o->user_stacks = false;
		break;
	case 'o':
		o->output_dir = arg;
		break;
	case OPT_CGROUP:
		o->cgroup = arg;
		break;
	case OPT_CONTAINER:
		o->container = arg;
		break;
	case OPT_POD:
		o->pod = arg;
		break;
	case 'n':
		o->namespace = arg;
		break;
	case OPT_HOST_ROOT:
		o->host_root = arg;
		break;
	case OPT_READ_REMOTE_FS:
		o->read_remote_fs = true;
		break;
	case OPT_NO_SECCOMP:
		o->no_seccomp = true;
		break;
	case OPT_SANDBOX_SELFTEST:
		o->sandbox_selftest = true;
		break;
	case OPT_CGROUP_VERSION:
		if (strcmp(arg, "1") && strcmp(arg, "2"))
			return fail(err, errlen, "invalid cgroup-version '%s': expected 1 or 2", arg);
		o->cgroup_version = arg[0] - '0';
		break;
	case OPT_PROC:
		o->proc_root = arg;
		break;
	case OPT_USER:
		return parse_user(arg, o, err, errlen);
	case OPT_LISTEN:
		if (!strchr(arg, ':') || strlen(arg) > 300)
			return fail(err, errlen, "invalid listen address '%s': expected ADDR:PORT or :PORT", arg);
		o->listen = arg;
		break;
	case OPT_WINDOW:
		if (!parse_time(arg, &o->window_s))
			return fail(err, errlen, "invalid window '%s': expected seconds, 1 s .. 7 days", arg);
		break;
	case OPT_RETENTION:
		if (!parse_time(arg, &o->retention_s))
			return fail(err, errlen, "invalid retention '%s': expected a time such as 3600, 90m or 1h", arg);
		break;
	case OPT_MEMORY_LIMIT:
		if (!parse_size(arg, &o->memory_limit))
			return fail(err, errlen, "invalid memory limit '%s': expected a size such as 256M, 16M .. 1T", arg);
		break;
	case OPT_UNWIND:
		if (strcmp(arg, "cfi") && strcmp(arg, "fp"))
			return fail(err, errlen, "invalid unwind '%s': expected cfi or fp", arg);
		o->unwind_fp_only = !strcmp(arg, "fp");
		break;
	case OPT_NO_PYTHON:
		o->no_python = true;
		break;
	case OPT_VALIDATE_UNWIND:
		if (!parse_u64(arg, 1, 1000000, &v))
			return fail(err, errlen, "invalid --validate-unwind '%s': expected 1..1000000", arg);
		o->validate_unwind = v;
		break;
	case OPT_DEBUGINFOD:
		if (strlen(arg) > 4096)
			return fail(err, errlen, "--debuginfod: URL list too long");
		o->debuginfod_urls = arg;
		break;
	case OPT_DEBUGINFOD_CACHE:
		if (arg[0] != '/' || strlen(arg) >= PATH_MAX)
			return fail(err, errlen, "invalid --debuginfod-cache '%s': expected an absolute path", arg);
		o->debuginfod_cache = arg;
		break;
	case OPT_CPU_BUDGET:
		if (!parse_percent(arg, &o->cpu_budget_pct))
			return fail(err, errlen, "invalid --cpu-budget '%s': expected a percentage of one core, 0.01 .. 100, or 0 for every switch", arg);
		o->cpu_budget_set = true;
		break;
	case OPT_CACHE_BUDGET:
		if (!parse_bytes(arg, 1ULL << 20, &o->cache_budget) ||
		    o->cache_budget > (64ULL << 30))
			return fail(err, errlen, "invalid cache budget '%s': expected 1M .. 64G", arg);
		o->cache_budget_set = true;
		break;
	case OPT_DWARF_BUDGET:
		if (!parse_bytes(arg, 0, &o->dwarf_budget) ||
		    o->dwarf_budget > (16ULL << 30))
			return fail(err, errlen, "invalid DWARF budget '%s': expected 0 .. 16G", arg);
		o->dwarf_budget_set = true;
		break;
	case OPT_UNWIND_TABLES:
		if (!parse_size(arg, &o->unwind_table_bytes) ||
		    o->unwind_table_bytes > (4ULL << 30))
			return fail(err, errlen, "invalid table size '%s': expected 16M .. 4G", arg);
		break;
	case OPT_MAX_ENTRIES:
	case OPT_MAX_STACKS:
		if (!parse_u64(arg, 64, 1 << 24, &v))
			return fail(err, errlen, "invalid map size '%s': expected 64..16777216", arg);
		*(c == OPT_MAX_ENTRIES ? &o->max_entries : &o->max_stacks) = v;
		break;
	case 'v':
		o->verbose++;
		break;
	case OPT_CLICKHOUSE ... OPT_INIT:
		return parse_clickhouse(c, arg, o, err, errlen);
	default:
		return fail(err, errlen, "unknown option (see --help)");
	}
	return OPTS_RUN;
}

static enum opts_result check_clickhouse(const struct opts *o, char *err,
					 size_t errlen)
{
	bool push_only = o->spool_dir || o->queue_max != 64ULL << 20 ||
			 o->spool_max != 1ULL << 30;
	bool query_only = o->since_s || o->from_s >= 0 || o->to_s >= 0 ||
			  o->diff_from_s >= 0 || o->diff_to_s >= 0 || o->ch_init ||
			  o->view;

	if (o->mode == MODE_QUERY && !o->clickhouse_url)
		return fail(err, errlen, "query reads ClickHouse: --clickhouse URL is needed");
	if (o->mode != MODE_AGENT && o->mode != MODE_QUERY &&
	    (o->clickhouse_url || o->clickhouse_db || o->node || push_only))
		return fail(err, errlen, "--clickhouse and its options apply to agent and query");
	if (o->mode != MODE_QUERY && query_only)
		return fail(err, errlen, "--since, --from, --to, --mode, --diff-from, --diff-to and --init apply to query");
	if (o->mode == MODE_AGENT && push_only && !o->clickhouse_url)
		return fail(err, errlen, "--spool-dir, --spool-max and --queue-max need --clickhouse");
	if (o->mode == MODE_QUERY && push_only)
		return fail(err, errlen, "--spool-dir, --spool-max and --queue-max apply to agent");
	if (o->since_s && (o->from_s >= 0 || o->to_s >= 0))
		return fail(err, errlen, "--since excludes --from and --to");
	if (o->from_s >= 0 && o->to_s >= 0 && o->to_s <= o->from_s)
		return fail(err, errlen, "--to must be after --from");
	if ((o->diff_from_s >= 0) != (o->diff_to_s >= 0) ||
	    (o->diff_from_s >= 0 && o->diff_to_s <= o->diff_from_s))
		return fail(err, errlen, "--diff-from and --diff-to go together, --diff-to after --diff-from");
	return OPTS_RUN;
}

/*
 * getopt's '?': an unknown option, or a long one given a value it does not
 * take ("--verbose=3"); optopt alone cannot name a long option.
 */
static enum opts_result bad_option(const char *arg, char *err, size_t errlen)
{
	if (!strncmp(arg, "--", 2)) {
		int len = strcspn(arg, "=");

		if (arg[len] == '=')
			return fail(err, errlen, "option '%.*s' takes no value",
				    len, arg);
		return fail(err, errlen, "unknown option '%s' (see --help)", arg);
	}
	if (optopt)
		return fail(err, errlen, "unknown option '-%c' (see --help)",
			    optopt);
	return fail(err, errlen, "unknown option '%s' (see --help)", arg);
}

static enum opts_result parse_mode(const char *arg, struct opts *o, char *err,
				   size_t errlen)
{
	static const enum mode modes[] = { MODE_PROFILE, MODE_OFFCPUTIME,
					   MODE_WALLCLOCK, MODE_PS, MODE_AGENT,
					   MODE_QUERY };

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (!strcmp(arg, mode__name(modes[i]))) {
			o->mode = modes[i];
			return OPTS_RUN;
		}
	}
	return fail(err, errlen,
		    "unknown mode '%s' (modes: wallclock, profile, offcputime, ps, agent, query)", arg);
}

enum opts_result opts__parse(int argc, char **argv, struct opts *o,
			     char *err, size_t errlen, FILE *out)
{
	enum opts_result r;
	int c;

	opts__defaults(o);
	/* 0, not 1: glibc then also forgets a half-read "-abc" cluster. */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":d:f:p:t:c:m:n:UKo:vh", long_options,
				NULL)) != -1) {
		if (c == 'h') {
			fputs(usage, out);
			return OPTS_EXIT_OK;
		}
		if (c == OPT_VERSION) {
			fprintf(out, "sysscope %s\n", SYSSCOPE_VERSION);
			return OPTS_EXIT_OK;
		}
		if (c == ':')
			return fail(err, errlen, "option '%s' needs a value",
				    argv[optind - 1]);
		if (c == '?')
			return bad_option(argv[optind - 1], err, errlen);
		r = parse_one(c, optarg, o, err, errlen);
		if (r != OPTS_RUN)
			return r;
	}
	if (optind < argc && (r = parse_mode(argv[optind++], o, err, errlen)))
		return r;
	if (optind < argc)
		return fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (!o->user_stacks && !o->kernel_stacks)
		return fail(err, errlen, "-U and -K exclude each other");
	if (o->mode != MODE_QUERY &&
	    !!o->container + !!o->pod + !!o->namespace + !!o->cgroup > 1)
		return fail(err, errlen, "--container, --pod, -n and --cgroup exclude each other");
	if (o->user_threads_only && o->kernel_threads_only)
		return fail(err, errlen, "--user-threads-only and --kernel-threads-only exclude each other");
	if (o->mode == MODE_AGENT &&
	    (o->npids || o->ntids || o->cgroup || o->container || o->pod ||
	     o->namespace || o->output_dir || o->cpu >= 0 ||
	     !o->user_stacks || !o->kernel_stacks))
		return fail(err, errlen, "agent profiles the whole node: -p, -t, --cgroup, --container, --pod, -n, -o, -c, -U and -K do not apply");
	if (o->mode == MODE_AGENT && o->retention_s < o->window_s)
		return fail(err, errlen, "--retention must be at least --window");
	r = check_clickhouse(o, err, errlen);
	if (r != OPTS_RUN)
		return r;
	if (o->user && o->mode == MODE_PS)
		return fail(err, errlen, "--user applies to the profiling modes, not ps");
	if (o->cpu_budget_set && o->cpu_budget_pct > 0 &&
	    (o->mode == MODE_PROFILE || o->mode == MODE_PS))
		return fail(err, errlen, "--cpu-budget adapts off-CPU recording: modes offcputime, wallclock and agent");
	if (o->mode == MODE_AGENT && !o->cpu_budget_set)
		o->cpu_budget_pct = 1;
	if (o->validate_unwind && o->mode != MODE_PROFILE && o->mode != MODE_WALLCLOCK)
		return fail(err, errlen, "--validate-unwind checks on-CPU samples: modes profile and wallclock");
	if (o->validate_unwind && !o->user_stacks)
		return fail(err, errlen, "--validate-unwind checks user stacks: not with -K");
	return OPTS_RUN;
}

const char *mode__name(enum mode m)
{
	switch (m) {
	case MODE_PROFILE:
		return "profile";
	case MODE_OFFCPUTIME:
		return "offcputime";
	case MODE_WALLCLOCK:
		return "wallclock";
	case MODE_PS:
		return "ps";
	case MODE_AGENT:
		return "agent";
	case MODE_QUERY:
		return "query";
	}
	return "?";
}
