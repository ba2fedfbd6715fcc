// SPDX-License-Identifier: MIT
/*
 * Unit tests of the cgroup helpers (cgroup/cgroup.c): mountinfo lines,
 * fixture mountinfo files (tests/unit/fixtures/mountinfo-*, read from the
 * repository root where `make unit` runs), cgroup paths and ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"

#define FIXTURES "tests/unit/fixtures/"

/* ---- cgroup__parse_mountinfo_line ---- */

static const struct {
	const char *line;
	int ret;
	const char *mount;	/* when ret is 1 */
} lines[] = {
	/* Pure v2 (systemd unified), with an optional field. */
	{ "30 21 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
	  1, "/sys/fs/cgroup" },
	/* Hybrid, without optional fields and without the newline. */
	{ "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw",
	  1, "/sys/fs/cgroup/unified" },
	/* Two optional fields. */
	{ "1040 27 0:26 /kubepods.slice /host/cgroup rw,relatime shared:9 master:2 - cgroup2 cgroup2 rw\n",
	  1, "/host/cgroup" },
	{ "1040 27 0:26 / /x rw shared:9 master:2 propagate_from:3 unbindable - cgroup2 none rw\n",
	  1, "/x" },
	/* Escapes: space, tab, newline, backslash. */
	{ "50 21 0:26 / /sys/fs/cgroup/with\\040space rw,relatime - cgroup2 cgroup2 rw\n",
	  1, "/sys/fs/cgroup/with space" },
	{ "50 21 0:26 / /a\\011b\\012c\\134d rw - cgroup2 cgroup2 rw\n",
	  1, "/a\tb\nc\\d" },
	/* A backslash that starts no escape stays. */
	{ "50 21 0:26 / /a\\x\\9 rw - cgroup2 cgroup2 rw\n", 1, "/a\\x\\9" },
	/* Other file systems. */
	{ "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n", 0, NULL },
	{ "31 23 0:28 / /sys/fs/cgroup rw,relatime shared:4 - tmpfs tmpfs rw,mode=755\n", 0, NULL },
	{ "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard\n", 0, NULL },
	/* "cgroup2" as the source or an option is not the type. */
	{ "44 27 0:40 / /mnt rw,relatime - tmpfs cgroup2 rw\n", 0, NULL },
	{ "44 27 0:40 / /mnt rw,relatime - tmpfs none cgroup2\n", 0, NULL },
	{ "44 27 0:40 / /mnt rw,relatime shared:1 - cgroup2fs none rw\n", 0, NULL },
	/* Malformed. */
	{ "", -EINVAL, NULL },
	{ "\n", -EINVAL, NULL },
	{ "garbage\n", -EINVAL, NULL },
	{ "1 2 3:4 /\n", -EINVAL, NULL },
	{ "36 25 0:30 / /sys/fs/cgroup rw,relatime cgroup2 cgroup2 rw\n", -EINVAL, NULL },
	{ "36 25 0:30 / /sys/fs/cgroup rw,relatime -\n", -EINVAL, NULL },
	{ "36 25 0:30 / /sys/fs/cgroup rw,relatime - \n", -EINVAL, NULL },
	{ "36 25 0:30 / - cgroup2 cgroup2 rw\n", -EINVAL, NULL },
};

static void test_parse_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char *line = strdup(lines[i].line);
		const char *mp = NULL;

		assert_non_null(line);
		print_message("  lines[%zu]\n", i);
		assert_int_equal(cgroup__parse_mountinfo_line(line, &mp),
				 lines[i].ret);
		if (lines[i].ret == 1) {
			assert_non_null(mp);
			assert_string_equal(mp, lines[i].mount);
			/* Unescaped in place, inside the line. */
			assert_true(mp >= line && mp < line + strlen(lines[i].line));
		} else {
			assert_null(mp);
		}
		free(line);
	}
}

/* ---- cgroup__find_v2_mount ---- */

static const struct {
	const char *file;
	int ret;
	const char *mount;
} mounts[] = {
	{ FIXTURES "mountinfo-v2", 0, "/sys/fs/cgroup" },
	{ FIXTURES "mountinfo-hybrid", 0, "/sys/fs/cgroup/unified" },
	{ FIXTURES "mountinfo-v1", -ENOENT, NULL },
	{ FIXTURES "mountinfo-container", 0, "/sys/fs/cgroup" },	/* the first */
	{ FIXTURES "mountinfo-escaped", 0, "/host/sys/fs/cgroup (host)\\x" },
	{ FIXTURES "mountinfo-malformed", 0, "/sys/fs/cgroup/unified" },
	{ FIXTURES "does-not-exist", -ENOENT, NULL },
	{ "/dev/null", -ENOENT, NULL },
};

static void test_find_v2_mount(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		char buf[PATH_MAX];

		print_message("  %s\n", mounts[i].file);
		memset(buf, 0, sizeof(buf));
		assert_int_equal(cgroup__find_v2_mount(mounts[i].file, buf,
						       sizeof(buf)),
				 mounts[i].ret);
		if (!mounts[i].ret)
			assert_string_equal(buf, mounts[i].mount);
		else
			assert_string_equal(buf, "");
	}
}

static void test_find_v2_mount_buffer(void **state)
{
	const char *file = FIXTURES "mountinfo-v2";
	char buf[sizeof("/sys/fs/cgroup")];

	(void)state;
	assert_int_equal(cgroup__find_v2_mount(file, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/cgroup");
	assert_int_equal(cgroup__find_v2_mount(file, buf, sizeof(buf) - 1),
			 -ENAMETOOLONG);
}

/* In a pod: the host's hierarchy under --host-root, not the pod's own. */
static void test_find_v2_mount_under_host_root(void **state)
{
	const char *file = FIXTURES "mountinfo-container";
	char buf[PATH_MAX];

	(void)state;
	assert_int_equal(cgroup__find_v2_mount_under(file, "/host", buf,
						     sizeof(buf)), 0);
	assert_string_equal(buf, "/host/sys/fs/cgroup (host)");
	assert_int_equal(cgroup__find_v2_mount_under(file, "/host/", buf,
						     sizeof(buf)), 0);
	assert_string_equal(buf, "/host/sys/fs/cgroup (host)");
	/* A prefix is a whole path component: /ho is not /host. */
	assert_int_equal(cgroup__find_v2_mount_under(file, "/ho", buf,
						     sizeof(buf)), -ENOENT);
	assert_int_equal(cgroup__find_v2_mount_under(file, "/elsewhere", buf,
						     sizeof(buf)), -ENOENT);
	assert_int_equal(cgroup__find_v2_mount_under(file, "/", buf,
						     sizeof(buf)), 0);
	assert_string_equal(buf, "/sys/fs/cgroup");
}

/* The running system: whatever it finds must be a directory. */
static void test_find_v2_mount_live(void **state)
{
	char buf[PATH_MAX];
	struct stat st;
	int r = cgroup__find_v2_mount("/proc/self/mountinfo", buf, sizeof(buf));

	(void)state;
	assert_true(r == 0 || r == -ENOENT);
	if (r == 0) {
		assert_int_equal(stat(buf, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
	}
}

/* ---- cgroup__v2_dir ---- */

static const struct {
	const char *mount, *path;
	int ret;
	const char *dir;
} dirs[] = {
	{ "/sys/fs/cgroup", "kubepods/pod1", 0, "/sys/fs/cgroup/kubepods/pod1" },
	{ "/sys/fs/cgroup", "/kubepods/pod1", 0, "/sys/fs/cgroup/kubepods/pod1" },
	{ "/sys/fs/cgroup", "/sys/fs/cgroup/kubepods", 0, "/sys/fs/cgroup/kubepods" },
	{ "/sys/fs/cgroup", "/sys/fs/cgroup", 0, "/sys/fs/cgroup" },
	{ "/sys/fs/cgroup", "/sys/fs/cgroupfoo", 0, "/sys/fs/cgroup/sys/fs/cgroupfoo" },
	{ "/sys/fs/cgroup", "system.slice/a..b.service", 0,
	  "/sys/fs/cgroup/system.slice/a..b.service" },
	{ "/sys/fs/cgroup", "...", 0, "/sys/fs/cgroup/..." },
	{ "/sys/fs/cgroup/unified", "/user.slice", 0, "/sys/fs/cgroup/unified/user.slice" },
	{ "/sys/fs/cgroup/unified", "/sys/fs/cgroup/unified/x", 0, "/sys/fs/cgroup/unified/x" },
	/* Climbing out of the hierarchy. */
	{ "/sys/fs/cgroup", "..", -EINVAL, NULL },
	{ "/sys/fs/cgroup", "../etc", -EINVAL, NULL },
	{ "/sys/fs/cgroup", "/..", -EINVAL, NULL },
	{ "/sys/fs/cgroup", "a/..", -EINVAL, NULL },
	{ "/sys/fs/cgroup", "a/../../etc", -EINVAL, NULL },
	{ "/sys/fs/cgroup", "/sys/fs/cgroup/../../etc", -EINVAL, NULL },
	{ "/sys/fs/cgroup", "/sys/fs/cgroup/..", -EINVAL, NULL },
};

static void test_v2_dir(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char buf[PATH_MAX] = "";

		print_message("  %s + %s\n", dirs[i].mount, dirs[i].path);
		assert_int_equal(cgroup__v2_dir(dirs[i].mount, dirs[i].path, buf,
						sizeof(buf)),
				 dirs[i].ret);
		if (!dirs[i].ret)
			assert_string_equal(buf, dirs[i].dir);
	}
}

static void test_v2_dir_too_long(void **state)
{
	const char *want = "/sys/fs/cgroup/a/b";
	char buf[PATH_MAX], *huge = malloc(2 * PATH_MAX);

	(void)state;
	assert_non_null(huge);
	memset(huge, 'x', 2 * PATH_MAX - 1);
	huge[2 * PATH_MAX - 1] = '\0';
	assert_int_equal(cgroup__v2_dir("/sys/fs/cgroup", huge, buf, sizeof(buf)),
			 -ENAMETOOLONG);
	/* Exactly fitting, then one byte short. */
	assert_int_equal(cgroup__v2_dir("/sys/fs/cgroup", "a/b", buf,
					strlen(want) + 1), 0);
	assert_string_equal(buf, want);
	assert_int_equal(cgroup__v2_dir("/sys/fs/cgroup", "a/b", buf,
					strlen(want)), -ENAMETOOLONG);
	assert_int_equal(cgroup__v2_dir("/sys/fs/cgroup", "/sys/fs/cgroup/a/b",
					buf, strlen(want)), -ENAMETOOLONG);
	free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_lines),
		cmocka_unit_test(test_find_v2_mount),
		cmocka_unit_test(test_find_v2_mount_buffer),
		cmocka_unit_test(test_find_v2_mount_under_host_root),
		cmocka_unit_test(test_find_v2_mount_live),
		cmocka_unit_test(test_v2_dir),
		cmocka_unit_test(test_v2_dir_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
