// SPDX-License-Identifier: MIT
/*
 * Unit tests of the command-line parser (src/cli/opts.c).
 *
 * Good command lines are compared through opts_diff(): the fields that
 * differ from the defaults, as "key=value" words. So each case also proves
 * that an option changes nothing but its own field.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>

#include "opts.h"

#define MAX_ARGS 16

/* opts__parse with argv = { "sysscope", args..., NULL }; args ends at NULL. */
static enum opts_result parse(const char *const *args, struct opts *o,
			      char *err, size_t errlen, FILE *out)
{
	char *argv[MAX_ARGS + 2] = { (char *)"sysscope" };
	int argc = 1;

	/* getopt permutes argv's pointers, never the strings. */
	for (size_t i = 0; i < MAX_ARGS && args[i]; i++)
		argv[argc++] = (char *)args[i];
	argv[argc] = NULL;
	return opts__parse(argc, argv, o, err, errlen, out);
}

static void ids_diff(char *buf, size_t len, const char *key,
		     const uint32_t *ids, size_t n)
{
	if (!n)
		return;
	snprintf(buf + strlen(buf), len - strlen(buf), " %s=", key);
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%u",
			 i ? "," : "", ids[i]);
}

#define DIFF(cond, ...) do {						\
	if (cond)							\
		snprintf(buf + strlen(buf), len - strlen(buf), __VA_ARGS__); \
} while (0)

/* The non-default fields: " key=value" each, in struct order. */
static const char *opts_diff(const struct opts *o, char *buf, size_t len)
{
	buf[0] = '\0';
	DIFF(o->mode != MODE_WALLCLOCK, " mode=%s", mode__name(o->mode));
	DIFF(o->duration_s != 0, " duration=%g", o->duration_s);
	DIFF(o->frequency != 49, " frequency=%u", o->frequency);
	ids_diff(buf, len, "pids", o->pids, o->npids);
	ids_diff(buf, len, "tids", o->tids, o->ntids);
	DIFF(o->cgroup, " cgroup=%s", o->cgroup);
	DIFF(o->cpu != -1, " cpu=%d", o->cpu);
	DIFF(!o->user_stacks, " user_stacks=0");
	DIFF(!o->kernel_stacks, " kernel_stacks=0");
	DIFF(o->user_threads_only, " user_threads_only=1");
	DIFF(o->kernel_threads_only, " kernel_threads_only=1");
	DIFF(o->min_block_us != 1000, " min_block=%llu",
	     (unsigned long long)o->min_block_us);
	DIFF(o->output_dir, " output=%s", o->output_dir);
	DIFF(strcmp(o->proc_root, "/proc"), " proc=%s", o->proc_root);
	DIFF(o->user, " user=%s uid=%u gid=%u", o->user, (unsigned)o->uid,
	     (unsigned)o->gid);
	DIFF(strcmp(o->listen, "0.0.0.0:8080"), " listen=%s", o->listen);
	DIFF(o->window_s != 60, " window=%g", o->window_s);
	DIFF(o->retention_s != 3600, " retention=%g", o->retention_s);
	DIFF(o->memory_limit != 256ULL << 20, " memory_limit=%llu",
	     (unsigned long long)o->memory_limit);
	DIFF(o->max_entries != 65536, " max_entries=%u", o->max_entries);
	DIFF(o->max_stacks != 32768, " max_stacks=%u", o->max_stacks);
	DIFF(o->unwind_fp_only, " unwind=fp");
	DIFF(o->validate_unwind, " validate_unwind=%u", o->validate_unwind);
	DIFF(o->unwind_table_bytes != 16ULL << 20, " unwind_tables=%llu",
	     (unsigned long long)o->unwind_table_bytes);
	DIFF(o->debuginfod_urls, " debuginfod=%s", o->debuginfod_urls);
	DIFF(strcmp(o->debuginfod_cache, "/var/cache/sysscope/debuginfod"),
	     " debuginfod_cache=%s", o->debuginfod_cache);
	DIFF(o->verbose, " verbose=%d", o->verbose);
	return buf[0] ? buf + 1 : buf;
}

static void test_defaults(void **state)
{
	const char *const args[] = { NULL };
	char err[256] = "", diff[512];
	struct opts o;

	(void)state;
	memset(&o, 0xa5, sizeof(o));
	assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_RUN);
	/* opts.h: wall-clock time (on-CPU and off-CPU) is the default. */
	assert_int_equal(o.mode, MODE_WALLCLOCK);
	assert_string_equal(mode__name(o.mode), "wallclock");
	assert_true(o.duration_s == 0);
	assert_int_equal(o.frequency, 49);
	assert_int_equal(o.npids, 0);
	assert_int_equal(o.ntids, 0);
	assert_null(o.cgroup);
	assert_int_equal(o.cpu, -1);
	assert_true(o.user_stacks);
	assert_true(o.kernel_stacks);
	assert_false(o.user_threads_only);
	assert_false(o.kernel_threads_only);
	assert_int_equal(o.min_block_us, 1000);
	assert_null(o.output_dir);
	assert_string_equal(o.proc_root, "/proc");
	assert_null(o.user);
	/* The agent's: serve everywhere, 60 s windows for an hour, 256M. */
	assert_string_equal(o.listen, "0.0.0.0:8080");
	assert_true(o.window_s == 60);
	assert_true(o.retention_s == 3600);
	assert_int_equal(o.memory_limit, 256ULL << 20);
	assert_int_equal(o.max_entries, 65536);
	assert_int_equal(o.max_stacks, 32768);
	assert_int_equal(o.verbose, 0);
	assert_string_equal(opts_diff(&o, diff, sizeof(diff)), "");
	assert_string_equal(err, "");
}

static const struct {
	const char *args[MAX_ARGS];
	const char *diff;
} good[] = {
	{ { "wallclock" }, "" },
	{ { "profile" }, "mode=profile" },
	{ { "offcputime" }, "mode=offcputime" },
	{ { "--" }, "" },
	{ { "-d", "2.5" }, "duration=2.5" },
	{ { "--duration", "10" }, "duration=10" },
	{ { "--duration=3" }, "duration=3" },
	{ { "-d", "31622400" }, "duration=3.16224e+07" },
	{ { "-f", "99" }, "frequency=99" },
	{ { "-f1" }, "frequency=1" },
	{ { "--frequency", "10000" }, "frequency=10000" },
	{ { "-p", "1,2,3" }, "pids=1,2,3" },
	{ { "--pid", "4194304" }, "pids=4194304" },
	{ { "-p", "7", "--pid", "8,9" }, "pids=7,8,9" },
	{ { "-t", "10,11" }, "tids=10,11" },
	{ { "--tid", "12" }, "tids=12" },
	{ { "--cgroup", "/kubepods/pod1" }, "cgroup=/kubepods/pod1" },
	{ { "-c", "3" }, "cpu=3" },
	{ { "--cpu", "0" }, "cpu=0" },
	{ { "-U" }, "kernel_stacks=0" },
	{ { "--user-stacks-only" }, "kernel_stacks=0" },
	{ { "-K" }, "user_stacks=0" },
	{ { "--kernel-stacks-only" }, "user_stacks=0" },
	{ { "-m", "1" }, "min_block=1" },
	{ { "--min-block", "3600000000" }, "min_block=3600000000" },
	{ { "--user-threads-only" }, "user_threads_only=1" },
	{ { "--kernel-threads-only" }, "kernel_threads_only=1" },
	{ { "-o", "out dir" }, "output=out dir" },
	{ { "--output", "/tmp/x" }, "output=/tmp/x" },
	{ { "--proc", "/host/proc" }, "proc=/host/proc" },
	{ { "--max-entries", "64" }, "max_entries=64" },
	{ { "--max-stacks", "16777216" }, "max_stacks=16777216" },
	{ { "--unwind", "fp" }, "unwind=fp" },
	{ { "--unwind=cfi" }, "" },
	{ { "--unwind-tables", "64M" }, "unwind_tables=67108864" },
	{ { "profile", "--validate-unwind", "10" }, "mode=profile validate_unwind=10" },
	{ { "--unwind-tables", "4G" }, "unwind_tables=4294967296" },
	{ { "--debuginfod", "http://a:1 https://b" }, "debuginfod=http://a:1 https://b" },
	{ { "--debuginfod", "" }, "debuginfod=" },
	{ { "--debuginfod-cache", "/tmp/c" }, "debuginfod_cache=/tmp/c" },
	{ { "--user", "root" }, "user=root uid=0 gid=0" },
	{ { "--user=0" }, "user=0 uid=0 gid=0" },
	/* A uid with no passwd entry: its gid is the same number. */
	{ { "--user", "4294967294" }, "user=4294967294 uid=4294967294 gid=4294967294" },
	{ { "--user", "root", "--user", "0" }, "user=0 uid=0 gid=0" },
	{ { "-v" }, "verbose=1" },
	{ { "-v", "--verbose", "-v" }, "verbose=3" },
	{ { "-vv" }, "verbose=2" },
	/* The mode may come first or last: getopt permutes. */
	{ { "profile", "-f", "7" }, "mode=profile frequency=7" },
	{ { "-f", "7", "offcputime" }, "mode=offcputime frequency=7" },
	{ { "-d", "1", "-f", "2", "-p", "3", "-t", "4", "-c", "5", "-K" },
	  "duration=1 frequency=2 pids=3 tids=4 cpu=5 user_stacks=0" },
	/* sysscope agent */
	{ { "agent" }, "mode=agent" },
	{ { "--listen", ":9090", "agent" }, "mode=agent listen=:9090" },
	{ { "agent", "--listen=127.0.0.1:0" }, "mode=agent listen=127.0.0.1:0" },
	{ { "agent", "--listen", "[::1]:8080" }, "mode=agent listen=[::1]:8080" },
	{ { "agent", "--window", "90" }, "mode=agent window=90" },
	{ { "agent", "--window", "90s" }, "mode=agent window=90" },
	{ { "agent", "--window", "15m" }, "mode=agent window=900" },
	{ { "agent", "--window", "1h" }, "mode=agent window=3600" },
	{ { "agent", "--window", "1" }, "mode=agent window=1" },
	{ { "agent", "--window=2.5" }, "mode=agent window=2.5" },
	{ { "agent", "--retention", "90" }, "mode=agent retention=90" },
	{ { "agent", "--retention", "90s" }, "mode=agent retention=90" },
	{ { "agent", "--retention", "15m" }, "mode=agent retention=900" },
	{ { "agent", "--retention", "1h" }, "mode=agent" },
	{ { "agent", "--retention", "168h" }, "mode=agent retention=604800" },
	/* Equal is enough. */
	{ { "agent", "--window", "15m", "--retention", "900" },
	  "mode=agent window=900 retention=900" },
	{ { "agent", "--retention", "2h", "--window", "1h" },
	  "mode=agent window=3600 retention=7200" },
	{ { "agent", "--memory-limit", "256M" }, "mode=agent" },
	{ { "agent", "--memory-limit", "1G" }, "mode=agent memory_limit=1073741824" },
	{ { "agent", "--memory-limit", "268435456" }, "mode=agent" },
	{ { "agent", "--memory-limit", "64MiB" }, "mode=agent memory_limit=67108864" },
	{ { "agent", "--memory-limit", "16M" }, "mode=agent memory_limit=16777216" },
	{ { "agent", "--memory-limit", "16384k" }, "mode=agent memory_limit=16777216" },
	{ { "agent", "--memory-limit", "512MB" }, "mode=agent memory_limit=536870912" },
	{ { "agent", "--memory-limit", "1024G" }, "mode=agent memory_limit=1099511627776" },
	{ { "agent", "--memory-limit", "1T" }, "mode=agent memory_limit=1099511627776" },
	{ { "agent", "--memory-limit", "1TiB" }, "mode=agent memory_limit=1099511627776" },
	/* Agent settings given to another mode are kept, not checked against each other. */
	{ { "profile", "--window", "2h" }, "mode=profile window=7200" },
	/* What the agent keeps of the other options. */
	{ { "agent", "-d", "30", "-f", "99", "-m", "500", "-v" },
	  "mode=agent duration=30 frequency=99 min_block=500 verbose=1" },
	{ { "agent", "--user", "0", "--max-entries", "1024" },
	  "mode=agent user=0 uid=0 gid=0 max_entries=1024" },
};

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		char err[256] = "", diff[512];
		struct opts o;

		print_message("  good[%zu]: %s\n", i, good[i].diff);
		assert_int_equal(parse(good[i].args, &o, err, sizeof(err), stdout),
				 OPTS_RUN);
		assert_string_equal(opts_diff(&o, diff, sizeof(diff)),
				    good[i].diff);
		assert_string_equal(err, "");
	}
}

static const struct {
	const char *args[MAX_ARGS];
	const char *msg;	/* what the message must contain */
} bad[] = {
	{ { "-f", "0" }, "invalid frequency '0'" },
	{ { "-f", "10001" }, "invalid frequency '10001'" },
	{ { "-f", "abc" }, "invalid frequency 'abc'" },
	{ { "-f", "" }, "invalid frequency ''" },
	{ { "-f", "49Hz" }, "invalid frequency '49Hz'" },
	{ { "-f", "-1" }, "invalid frequency '-1'" },
	{ { "-f", "18446744073709551665" }, "invalid frequency" },
	{ { "--frequency", " 49" }, "invalid frequency ' 49'" },
	{ { "-p", "0" }, "invalid pid '0'" },
	{ { "-p", "-5" }, "invalid pid '-5'" },
	{ { "-p", "1,x" }, "invalid pid 'x'" },
	{ { "-p", "4194305" }, "invalid pid '4194305'" },
	{ { "-p", "" }, "pid" },
	{ { "--pid", "1,,2" }, "invalid pid" },
	{ { "--pid", ",1" }, "invalid pid" },
	{ { "--pid", "1," }, "invalid pid" },
	{ { "-t", "0" }, "invalid tid '0'" },
	{ { "--tid", "1,y" }, "invalid tid 'y'" },
	{ { "-d", "0" }, "invalid duration '0'" },
	{ { "-d", "-1" }, "invalid duration '-1'" },
	{ { "-d", "abc" }, "invalid duration 'abc'" },
	{ { "-d", "" }, "invalid duration ''" },
	{ { "-d", "5s" }, "invalid duration '5s'" },
	{ { "-d", "nan" }, "invalid duration 'nan'" },
	{ { "-d", "inf" }, "invalid duration 'inf'" },
	{ { "--duration", "1e300" }, "invalid duration '1e300'" },
	{ { "-c", "8192" }, "invalid cpu '8192'" },
	{ { "-c", "-1" }, "invalid cpu '-1'" },
	{ { "--max-entries", "63" }, "invalid map size '63'" },
	{ { "--max-entries", "16777217" }, "invalid map size '16777217'" },
	{ { "--max-stacks", "0" }, "invalid map size '0'" },
	{ { "-m", "0" }, "invalid min-block '0'" },
	{ { "--min-block", "3600000001" }, "invalid min-block '3600000001'" },
	{ { "--min-block", "1ms" }, "invalid min-block '1ms'" },
	{ { "--sched-hook", "raw_tp" }, "unknown option '--sched-hook'" },
	{ { "--user-threads-only", "--kernel-threads-only" },
	  "--user-threads-only and --kernel-threads-only exclude each other" },
	{ { "--user", "sysscope-no-such-user" },
	  "unknown user 'sysscope-no-such-user'" },
	{ { "--user", "" }, "invalid user ''" },
	{ { "--user", "4294967295" }, "invalid user '4294967295': uid out of range" },
	{ { "--user", "99999999999999999999" }, "invalid user '99999999999999999999'" },
	{ { "--user", "-1" }, "unknown user '-1'" },
	{ { "--user", "12ab" }, "unknown user '12ab'" },
	{ { "--user" }, "option '--user' needs a value" },
	{ { "ps", "--user", "root" }, "--user applies to the profiling modes, not ps" },
	{ { "--bogus" }, "unknown option '--bogus'" },
	{ { "--unwind", "dwarf" }, "invalid unwind 'dwarf'" },
	{ { "--validate-unwind", "0" }, "invalid --validate-unwind '0'" },
	{ { "offcputime", "--validate-unwind", "5" }, "--validate-unwind checks on-CPU samples" },
	{ { "agent", "--validate-unwind", "5" }, "--validate-unwind checks on-CPU samples" },
	{ { "-K", "--validate-unwind", "5" }, "--validate-unwind checks user stacks" },
	{ { "--unwind-tables", "8M" }, "invalid table size '8M'" },
	{ { "--debuginfod-cache", "cache" }, "invalid --debuginfod-cache 'cache'" },
	{ { "--unwind-tables", "5G" }, "invalid table size '5G'" },
	/* A value given to an option that takes none names that option. */
	{ { "--verbose=3" }, "'--verbose" },
	{ { "--version=1" }, "'--version" },
	{ { "-Z" }, "unknown option '-Z'" },
	{ { "-f", "9", "-Z" }, "unknown option '-Z'" },
	{ { "-d" }, "option '-d' needs a value" },
	{ { "-v", "--duration" }, "option '--duration' needs a value" },
	{ { "-f" }, "option '-f' needs a value" },
	{ { "-U", "-K" }, "-U and -K exclude each other" },
	{ { "--kernel-stacks-only", "--user-stacks-only" },
	  "-U and -K exclude each other" },
	{ { "bogus" }, "unknown mode 'bogus'" },
	{ { "profile", "extra" }, "unexpected argument 'extra'" },
	{ { "profile", "-d", "1", "profile" }, "unexpected argument 'profile'" },
	{ { "wallclock", "offcputime" }, "unexpected argument 'offcputime'" },
	/* sysscope agent */
	{ { "agent", "--window", "0" }, "invalid window '0'" },
	{ { "agent", "--window", "-1" }, "invalid window '-1'" },
	{ { "agent", "--window", "1x" }, "invalid window '1x'" },
	{ { "agent", "--window", "8d" }, "invalid window '8d'" },
	{ { "agent", "--window", "" }, "invalid window ''" },
	{ { "agent", "--window", "0.5" }, "invalid window '0.5'" },
	{ { "agent", "--window", "1hh" }, "invalid window '1hh'" },
	{ { "agent", "--window", "nan" }, "invalid window 'nan'" },
	{ { "agent", "--window", "inf" }, "invalid window 'inf'" },
	{ { "agent", "--window", "169h" }, "invalid window '169h'" },
	{ { "agent", "--window", " 90" }, "invalid window ' 90'" },
	{ { "agent", "--window", "+90" }, "invalid window '+90'" },
	{ { "agent", "--window", "0x10" }, "invalid window '0x10'" },
	{ { "agent", "--window", "1e2" }, "invalid window '1e2'" },
	{ { "agent", "--window", "1.5.2" }, "invalid window '1.5.2'" },
	{ { "agent", "--window" }, "option '--window' needs a value" },
	{ { "agent", "--retention", "0" }, "invalid retention '0'" },
	{ { "agent", "--retention", "-1" }, "invalid retention '-1'" },
	{ { "agent", "--retention", "1x" }, "invalid retention '1x'" },
	{ { "agent", "--retention", "8d" }, "invalid retention '8d'" },
	{ { "agent", "--retention", "m" }, "invalid retention 'm'" },
	{ { "agent", "--retention", "604801" }, "invalid retention '604801'" },
	{ { "agent", "--memory-limit", "1M" }, "invalid memory limit '1M'" },
	{ { "agent", "--memory-limit", "16777215" }, "invalid memory limit '16777215'" },
	{ { "agent", "--memory-limit", "2T" }, "invalid memory limit '2T'" },
	{ { "agent", "--memory-limit", "1025G" }, "invalid memory limit '1025G'" },
	{ { "agent", "--memory-limit", "abc" }, "invalid memory limit 'abc'" },
	{ { "agent", "--memory-limit", "" }, "invalid memory limit ''" },
	{ { "agent", "--memory-limit", "-256M" }, "invalid memory limit '-256M'" },
	{ { "agent", "--memory-limit", "256X" }, "invalid memory limit '256X'" },
	{ { "agent", "--memory-limit", "256Mi" }, "invalid memory limit '256Mi'" },
	{ { "agent", "--memory-limit", "16777216iB" }, "invalid memory limit '16777216iB'" },
	{ { "agent", "--memory-limit", "16777216B" }, "invalid memory limit '16777216B'" },
	{ { "agent", "--memory-limit", "99999999999999999999999G" },
	  "invalid memory limit" },
	{ { "agent", "--memory-limit", "18446744073709551615K" },
	  "invalid memory limit" },
	{ { "agent", "--listen", "nohost" }, "invalid listen address 'nohost'" },
	{ { "agent", "--listen", "8080" }, "invalid listen address '8080'" },
	{ { "agent", "--listen", "" }, "invalid listen address ''" },
	{ { "agent", "-p", "1" }, "agent profiles the whole node" },
	{ { "agent", "-t", "1" }, "agent profiles the whole node" },
	{ { "agent", "--container", "nginx" }, "agent profiles the whole node" },
	{ { "agent", "--pod", "shop/web-0" }, "agent profiles the whole node" },
	{ { "agent", "-n", "shop" }, "agent profiles the whole node" },
	{ { "agent", "--cgroup", "/kubepods" }, "agent profiles the whole node" },
	{ { "agent", "-o", "out" }, "agent profiles the whole node" },
	{ { "-o", "out", "agent" }, "agent profiles the whole node" },
	{ { "agent", "-c", "0" }, "agent profiles the whole node" },
	{ { "agent", "-U" }, "agent profiles the whole node" },
	{ { "agent", "-K" }, "agent profiles the whole node" },
	{ { "agent", "--retention", "30" }, "--retention must be at least --window" },
	{ { "agent", "--window", "2h" }, "--retention must be at least --window" },
	{ { "agent", "--window", "15m", "--retention", "899" },
	  "--retention must be at least --window" },
};

static void test_bad(void **state)
{
	int failures = 0;

	(void)state;
	/* Every case runs: the report names each line that got through. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";
		struct opts o;
		enum opts_result r = parse(bad[i].args, &o, err, sizeof(err),
					   stdout);

		if (r != OPTS_ERROR || !strstr(err, bad[i].msg) ||
		    strchr(err, '\n')) {
			char cmd[512] = "";

			for (size_t a = 0; a < MAX_ARGS && bad[i].args[a]; a++)
				snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd),
					 " '%s'", bad[i].args[a]);
			print_error("  bad[%zu]%s: result %d, message \"%s\", "
				    "want OPTS_ERROR and \"%s\"\n", i, cmd, r,
				    err, bad[i].msg);
			failures++;
		}
	}
	assert_int_equal(failures, 0);
}

/* "1,2,...,n" */
static char *id_list(size_t first, size_t n)
{
	size_t len = n * 8 + 1, off = 0;
	char *s = malloc(len);

	assert_non_null(s);
	s[0] = '\0';
	for (size_t i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, len - off, "%s%zu",
					i ? "," : "", first + i);
	return s;
}

static void test_max_pids(void **state)
{
	char *list = id_list(1, OPTS_MAX_IDS);
	const char *args[] = { "-p", list, NULL };
	char err[256] = "";
	struct opts o;

	(void)state;
	assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_RUN);
	assert_int_equal(o.npids, OPTS_MAX_IDS);
	assert_int_equal(o.pids[0], 1);
	assert_int_equal(o.pids[OPTS_MAX_IDS - 1], OPTS_MAX_IDS);
	free(list);
}

static void test_too_many_pids(void **state)
{
	char *list = id_list(1, OPTS_MAX_IDS + 1);
	const char *args[] = { "-p", list, NULL };
	char err[256] = "";
	struct opts o;

	(void)state;
	assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_ERROR);
	assert_non_null(strstr(err, "too many pids"));
	free(list);
}

/* The limit holds across repeated -p options too. */
static void test_too_many_pids_split(void **state)
{
	char *a = id_list(1, 1000), *b = id_list(1001, 25);
	const char *args[] = { "-p", a, "-p", b, NULL };
	char err[256] = "";
	struct opts o;

	(void)state;
	assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_ERROR);
	assert_non_null(strstr(err, "too many pids"));
	free(a);
	free(b);
}

static void test_error_truncated(void **state)
{
	const char *const args[] = { "-f", "0", NULL };
	char err[8];
	struct opts o;

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_ERROR);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

/* --user NAME takes the uid and primary gid of the passwd entry. */
static void test_user_from_passwd(void **state)
{
	static const char *const names[] = { "nobody", "daemon", "bin" };
	size_t tried = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *args[] = { "profile", "--user", names[i], NULL };
		struct passwd *pw = getpwnam(names[i]);
		char err[256] = "", want[128], num[32], diff[512];
		struct opts o;

		if (!pw)
			continue;	/* not on this system */
		tried++;
		snprintf(want, sizeof(want), "mode=profile user=%s uid=%u gid=%u",
			 names[i], (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
		assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_RUN);
		assert_string_equal(opts_diff(&o, diff, sizeof(diff)), want);
		/* By number: the same entry, so the same primary gid. */
		snprintf(num, sizeof(num), "%u", (unsigned)pw->pw_uid);
		args[2] = num;
		snprintf(want, sizeof(want), "mode=profile user=%s uid=%u gid=%u",
			 num, (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
		assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_RUN);
		assert_string_equal(opts_diff(&o, diff, sizeof(diff)), want);
		assert_string_equal(err, "");
	}
	assert_true(tried > 0);
}

/* -h and --version print to the given FILE and ask to exit with 0. */
static char *capture(const char *const *args, enum opts_result want)
{
	char err[256] = "", *text = NULL;
	size_t size = 0;
	FILE *out = open_memstream(&text, &size);
	struct opts o;

	assert_non_null(out);
	assert_int_equal(parse(args, &o, err, sizeof(err), out), want);
	fclose(out);
	assert_string_equal(err, "");
	return text;
}

static void test_help(void **state)
{
	static const char *const cases[][3] = {
		{ "-h" },
		{ "--help" },
		{ "-v", "-h" },
		{ "-h", "--bogus" },	/* handled before the bad option */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *text = capture(cases[i], OPTS_EXIT_OK);

		assert_non_null(strstr(text, "Usage: sysscope"));
		assert_non_null(strstr(text, "--frequency"));
		assert_non_null(strstr(text, "--max-stacks"));
		assert_non_null(strstr(text, "--user USER"));
		assert_non_null(strstr(text, "--listen ADDR:PORT"));
		assert_non_null(strstr(text, "--memory-limit SIZE"));
		assert_int_equal(text[strlen(text) - 1], '\n');
		free(text);
	}
}

static void test_version(void **state)
{
	const char *const args[] = { "--version", NULL };
	char *text = capture(args, OPTS_EXIT_OK);

	(void)state;
	assert_string_equal(text, "sysscope " SYSSCOPE_VERSION "\n");
	free(text);
}

static void test_run_prints_nothing(void **state)
{
	const char *const args[] = { "-v", "-d", "1", NULL };
	char *text = capture(args, OPTS_RUN);

	(void)state;
	assert_string_equal(text, "");
	free(text);
}

/*
 * opts__parse may be called again (tests, a future config reload): a call
 * that returned in the middle of "-hK" must not leak its 'K' into the next.
 */
static void test_reparse_after_early_return(void **state)
{
	const char *const first[] = { "-hK", NULL };
	const char *const second[] = { "-v", NULL };
	char err[256] = "", diff[512];
	char *text = capture(first, OPTS_EXIT_OK);
	struct opts o;

	(void)state;
	free(text);
	assert_int_equal(parse(second, &o, err, sizeof(err), stdout), OPTS_RUN);
	assert_string_equal(opts_diff(&o, diff, sizeof(diff)), "verbose=1");
}

/* An unknown option inside a cluster is named, not argv[0]. */
static void test_unknown_option_in_cluster(void **state)
{
	const char *const args[] = { "-Zv", NULL };
	char err[256] = "";
	struct opts o;

	(void)state;
	assert_int_equal(parse(args, &o, err, sizeof(err), stdout), OPTS_ERROR);
	if (!strstr(err, "'-Z"))
		fail_msg("message \"%s\" does not name -Z", err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_max_pids),
		cmocka_unit_test(test_too_many_pids),
		cmocka_unit_test(test_too_many_pids_split),
		cmocka_unit_test(test_error_truncated),
		cmocka_unit_test(test_user_from_passwd),
		cmocka_unit_test(test_help),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_run_prints_nothing),
		/* Last: they leave getopt's state behind while opts.c has the bug. */
		cmocka_unit_test(test_reparse_after_early_return),
		cmocka_unit_test(test_unknown_option_in_cluster),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
