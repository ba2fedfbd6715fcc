// SPDX-License-Identifier: MIT
/*
 * Unit tests of the /proc/PID/maps line parser (src/symbols/procmaps.c).
 *
 * Table-driven: each good line is written the way the kernel's
 * show_map_vma() prints it, each bad line breaks one field. The last test
 * parses this process's own /proc/self/maps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procmaps.h"

struct good_case {
	const char *line;
	uint64_t start, end, pgoff;
	uint32_t maj, min;
	uint64_t inode;
	bool exec, deleted;
	const char *path;
};

static const struct good_case good[] = {
	/* A PIE text mapping, as fgets() returns it (with the newline). */
	{ "55d0c6a1b000-55d0c6a1d000 r-xp 00002000 fd:01 1835043                    /usr/bin/cat\n",
	  0x55d0c6a1b000, 0x55d0c6a1d000, 0x2000, 0xfd, 0x01, 1835043,
	  true, false, "/usr/bin/cat" },
	/* Anonymous: the kernel prints no padding and no path. */
	{ "7f3a2c000000-7f3a2c021000 rw-p 00000000 00:00 0\n",
	  0x7f3a2c000000, 0x7f3a2c021000, 0, 0, 0, 0, false, false, "" },
	/* Anonymous without the newline, and with trailing padding. */
	{ "7f3a2c000000-7f3a2c021000 rw-p 00000000 00:00 0",
	  0x7f3a2c000000, 0x7f3a2c021000, 0, 0, 0, 0, false, false, "" },
	{ "7f3a2c000000-7f3a2c021000 rw-p 00000000 00:00 0                          \n",
	  0x7f3a2c000000, 0x7f3a2c021000, 0, 0, 0, 0, false, false, "" },
	{ "7ffd5a3f2000-7ffd5a3f4000 r-xp 00000000 00:00 0                          [vdso]\n",
	  0x7ffd5a3f2000, 0x7ffd5a3f4000, 0, 0, 0, 0, true, false, "[vdso]" },
	{ "55d0c8400000-55d0c8421000 rw-p 00000000 00:00 0                          [heap]\n",
	  0x55d0c8400000, 0x55d0c8421000, 0, 0, 0, 0, false, false, "[heap]" },
	/* Spaces inside the path are kept; only the padding goes. */
	{ "7f3a2d000000-7f3a2d010000 r-xp 00001000 08:02 4242                       /opt/my app/lib two.so\n",
	  0x7f3a2d000000, 0x7f3a2d010000, 0x1000, 0x08, 0x02, 4242, true, false,
	  "/opt/my app/lib two.so" },
	{ "7f3a2d000000-7f3a2d010000 r-xp 00001000 08:02 4242                       /tmp/libgone.so (deleted)\n",
	  0x7f3a2d000000, 0x7f3a2d010000, 0x1000, 0x08, 0x02, 4242, true, true,
	  "/tmp/libgone.so" },
	/* " (deleted)" only counts at the very end. */
	{ "7f3a2d000000-7f3a2d010000 r--p 00000000 08:02 4243 /tmp/a (deleted) b\n",
	  0x7f3a2d000000, 0x7f3a2d010000, 0, 0x08, 0x02, 4243, false, false,
	  "/tmp/a (deleted) b" },
	/* Top of the 64-bit address space and a 64-bit file offset. */
	{ "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]\n",
	  0xffffffffff600000, 0xffffffffff601000, 0, 0, 0, 0, true, false,
	  "[vsyscall]" },
	{ "0000000000400000-ffffffffffffffff r-xs fffffffffffff000 FD:1F 18446744073709551615 /dev/x\n",
	  0x400000, 0xffffffffffffffff, 0xfffffffffffff000, 0xfd, 0x1f,
	  18446744073709551615ULL, true, false, "/dev/x" },
	/* Non-exec permissions of every kind. */
	{ "00400000-00401000 r--p 00000000 fd:01 12 /bin/x\n",
	  0x400000, 0x401000, 0, 0xfd, 1, 12, false, false, "/bin/x" },
	{ "00400000-00401000 rw-s 00000000 fd:01 12 /dev/shm/x\n",
	  0x400000, 0x401000, 0, 0xfd, 1, 12, false, false, "/dev/shm/x" },
	{ "00400000-00401000 ---p 00000000 00:00 0\n",
	  0x400000, 0x401000, 0, 0, 0, 0, false, false, "" },
	/* An empty mapping is odd but not malformed. */
	{ "00400000-00400000 r-xp 00000000 00:00 0\n",
	  0x400000, 0x400000, 0, 0, 0, 0, true, false, "" },
};

static const struct {
	const char *what;
	const char *line;
} bad[] = {
	{ "empty line", "" },
	{ "newline only", "\n" },
	{ "spaces only", "    \n" },
	{ "start only", "00400000\n" },
	{ "no end", "00400000- r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "no perms", "00400000-00401000\n" },
	{ "no offset", "00400000-00401000 r-xp\n" },
	{ "no device", "00400000-00401000 r-xp 00000000\n" },
	{ "no inode", "00400000-00401000 r-xp 00000000 fd:01\n" },
	{ "no inode, space", "00400000-00401000 r-xp 00000000 fd:01 \n" },
	{ "non-hex start", "0040g000-00401000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "non-hex end", "00400000-0040z000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "non-hex offset", "00400000-00401000 r-xp 0000q000 fd:01 12 /bin/x\n" },
	{ "negative start", "-400000-00401000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "leading space", " 00400000-00401000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "end below start", "00401000-00400000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "perms too short", "00400000-00401000 r-x 00000000 fd:01 12 /bin/x\n" },
	{ "perms too long", "00400000-00401000 r-xpp 00000000 fd:01 12 /bin/x\n" },
	{ "17-digit start", "10000000000000000-10000000000001000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "17-digit end", "00400000-10000000000000000 r-xp 00000000 fd:01 12 /bin/x\n" },
	{ "17-digit offset", "00400000-00401000 r-xp 10000000000000000 fd:01 12 /bin/x\n" },
	{ "33-bit major", "00400000-00401000 r-xp 00000000 100000000:01 12 /bin/x\n" },
	{ "33-bit minor", "00400000-00401000 r-xp 00000000 fd:100000000 12 /bin/x\n" },
	{ "inode overflow", "00400000-00401000 r-xp 00000000 fd:01 99999999999999999999999 /bin/x\n" },
	{ "dev without colon", "00400000-00401000 r-xp 00000000 fd01 12 /bin/x\n" },
	{ "dev without minor", "00400000-00401000 r-xp 00000000 fd: 12 /bin/x\n" },
	{ "non-decimal inode", "00400000-00401000 r-xp 00000000 fd:01 1a /bin/x\n" },
	{ "negative inode", "00400000-00401000 r-xp 00000000 fd:01 -1 /bin/x\n" },
	{ "tab separators", "00400000-00401000\tr-xp\t00000000\tfd:01\t12\t/bin/x\n" },
};

static void test_good_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const struct good_case *c = &good[i];
		char *line = strdup(c->line);
		struct procmap m;

		assert_non_null(line);
		print_message("  good[%zu]: '%s'\n", i, c->path);
		assert_int_equal(procmap__parse(line, &m), 0);
		assert_int_equal(m.start, c->start);
		assert_int_equal(m.end, c->end);
		assert_int_equal(m.pgoff, c->pgoff);
		assert_int_equal(m.dev_major, c->maj);
		assert_int_equal(m.dev_minor, c->min);
		assert_int_equal(m.inode, c->inode);
		assert_int_equal(m.exec, c->exec);
		assert_int_equal(m.deleted, c->deleted);
		assert_non_null(m.path);
		assert_string_equal(m.path, c->path);
		/* The path lives in the caller's line, as documented. */
		assert_true(m.path >= line && m.path <= line + strlen(c->line));
		free(line);
	}
}

static void test_bad_lines(void **state)
{
	int failures = 0;

	(void)state;
	/* All cases run, so one report names every line that got through. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *line = strdup(bad[i].line);
		struct procmap m;
		int r;

		assert_non_null(line);
		r = procmap__parse(line, &m);
		if (r != -EINVAL) {
			print_error("  %s: procmap__parse(\"%s\") = %d, want -EINVAL\n",
				    bad[i].what, bad[i].line, r);
			failures++;
		}
		free(line);
	}
	assert_int_equal(failures, 0);
}

/* The struct is reset even when the line is rejected. */
static void test_bad_line_clears_result(void **state)
{
	char line[] = "00401000-00400000 r-xp 00000000 fd:01 12 /bin/x\n";
	struct procmap m;

	(void)state;
	memset(&m, 0xa5, sizeof(m));
	assert_int_equal(procmap__parse(line, &m), -EINVAL);
	assert_false(m.exec);
	assert_false(m.deleted);
	assert_int_equal(m.inode, 0);
}

static void test_own_maps(void **state)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	FILE *f = fopen("/proc/self/maps", "re");
	char *line = NULL;
	size_t cap = 0, lines = 0, exe_text = 0;

	(void)state;
	assert_true(n > 0);
	exe[n] = '\0';
	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		struct procmap m;

		if (procmap__parse(line, &m))
			fail_msg("own maps line did not parse: %s", line);
		lines++;
		assert_true(m.end > m.start);
		assert_true(m.path[0] == '\0' || m.path[0] == '/' ||
			    m.path[0] == '[');
		assert_null(strchr(m.path, '\n'));
		if (m.exec && !strcmp(m.path, exe)) {
			assert_true(m.inode != 0);
			exe_text++;
		}
	}
	free(line);
	fclose(f);
	assert_true(lines > 5);
	assert_true(exe_text >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_lines),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bad_line_clears_result),
		cmocka_unit_test(test_own_maps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
