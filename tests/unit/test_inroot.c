// SPDX-License-Identifier: MIT
/*
 * Unit tests of confined path resolution (src/symbols/inroot.c) on a real tree in
 * a temporary directory: links that try to leave the root (absolute, "..",
 * through /proc magic links) land inside it; loops, FIFOs and final links
 * under O_NOFOLLOW are refused.
 *
 *   root/etc/passwd           "inside"
 *   root/dir/                 a directory
 *   root/abs  -> /etc/passwd
 *   root/rel  -> ../../../../../etc/passwd
 *   root/dir/up -> ..
 *   root/dirlink -> dir
 *   root/magic -> /proc/self/root/etc/passwd
 *   root/loop1 -> loop2 -> loop1
 *   root/fifo                 a FIFO
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "inroot.h"

static char tmp[PATH_MAX];
static int root_fd = -1;
static ino_t inside_ino;

static void put(const char *rel, const char *text)
{
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(p, sizeof(p), "%s/root/%s", tmp, rel);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *rel, const char *target)
{
	char p[PATH_MAX * 2];

	snprintf(p, sizeof(p), "%s/root/%s", tmp, rel);
	assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
	const char *base = getenv("SYSSCOPE_TEST_TMP");
	char p[PATH_MAX * 2];
	struct stat st;

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/inroot.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(p, sizeof(p), "%s/root", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/etc", tmp);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/root/dir", tmp);
	mkdir(p, 0755);
	put("etc/passwd", "inside");
	link_to("abs", "/etc/passwd");
	link_to("rel", "../../../../../etc/passwd");
	link_to("dir/up", "..");
	link_to("dirlink", "dir");
	link_to("magic", "/proc/self/root/etc/passwd");
	link_to("loop1", "loop2");
	link_to("loop2", "loop1");
	snprintf(p, sizeof(p), "%s/root/fifo", tmp);
	if (mkfifo(p, 0600))
		return -1;
	snprintf(p, sizeof(p), "%s/root/etc/passwd", tmp);
	if (stat(p, &st))
		return -1;
	inside_ino = st.st_ino;
	snprintf(p, sizeof(p), "%s/root", tmp);
	root_fd = open(p, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return root_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	close(root_fd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

/* path opens for reading, and is root/etc/passwd. */
static void assert_inside(const char *path)
{
	int fd = inroot__open_read(root_fd, path, 0);
	char buf[16] = "";
	struct stat st;

	if (fd < 0)
		fail_msg("%s: %s", path, strerror(-fd));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_ino, inside_ino);
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 6);
	assert_string_equal(buf, "inside");
	close(fd);
}

static void test_plain_paths(void **state)
{
	(void)state;
	assert_inside("etc/passwd");
	assert_inside("/etc/passwd");
	assert_inside("//etc//./passwd");
	assert_inside("dir/../etc/passwd");
}

static void test_dotdot_stops_at_the_root(void **state)
{
	(void)state;
	assert_inside("../../../etc/passwd");
	assert_inside("/../etc/../../etc/passwd");
}

static void test_links_stay_inside(void **state)
{
	(void)state;
	assert_inside("abs");
	assert_inside("rel");
	assert_inside("dir/up/dir/up/etc/passwd");
	assert_inside("dirlink/../etc/passwd");
	assert_inside("dirlink/up/abs");
}

static void test_magic_link_is_a_string(void **state)
{
	(void)state;
	/* /proc/self/root names our real root; inside the tree it is "/". */
	assert_int_equal(inroot__open_read(root_fd, "magic", 0), -ENOENT);
}

static void test_refusals(void **state)
{
	(void)state;
	assert_int_equal(inroot__open_read(root_fd, "loop1", 0), -ELOOP);
	assert_int_equal(inroot__open_read(root_fd, "fifo", 0), -EINVAL);
	assert_int_equal(inroot__open_read(root_fd, "dir", 0), -EINVAL);
	assert_int_equal(inroot__open_read(root_fd, "nope", 0), -ENOENT);
	assert_int_equal(inroot__open_read(root_fd, "etc/passwd/x", 0), -ENOTDIR);
	/* O_NOFOLLOW: a final link is refused, a link on the way is not. */
	assert_int_equal(inroot__open_read(root_fd, "abs", O_NOFOLLOW), -ELOOP);
	assert_true(inroot__open_read(root_fd, "dirlink/../etc/passwd",
				      O_NOFOLLOW) >= 0);
}

static void test_directories(void **state)
{
	int fd;

	(void)state;
	fd = inroot__open_read(root_fd, "dirlink", O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	fd = inroot__open_read(root_fd, "/", O_DIRECTORY);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(inroot__open_read(root_fd, "etc/passwd", O_DIRECTORY),
			 -EINVAL);
}

static void test_too_long(void **state)
{
	char *p = malloc(3 * PATH_MAX);

	(void)state;
	assert_non_null(p);
	memset(p, 'a', 3 * PATH_MAX - 1);
	p[3 * PATH_MAX - 1] = '\0';
	assert_int_equal(inroot__open(root_fd, p, true), -ENAMETOOLONG);
	memset(p, 'a', NAME_MAX + 1);
	p[NAME_MAX + 1] = '\0';
	assert_int_equal(inroot__open(root_fd, p, true), -ENAMETOOLONG);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_paths),
		cmocka_unit_test(test_dotdot_stops_at_the_root),
		cmocka_unit_test(test_links_stay_inside),
		cmocka_unit_test(test_magic_link_is_a_string),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_directories),
		cmocka_unit_test(test_too_long),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
