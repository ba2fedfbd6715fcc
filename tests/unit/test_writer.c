// SPDX-License-Identifier: MIT
/*
 * Unit tests of the output writer (src/sandbox/writer.c): a real writer process on
 * a temporary folder. Names that could leave the folder are refused; files
 * land where named, whole, with their folders made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "writer.h"

static char dir[PATH_MAX];

static int setup(void **state)
{
	const char *base = getenv("SYSSCOPE_TEST_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/writer.XXXXXX", base ? base : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

static void test_names(void **state)
{
	static const char *const good[] = {
		"stacks.folded", "pods/shop/web-0/nginx.svg", "threads/12-a_b.svg",
		"containers/_..svg", "a.b-c_d",
	};
	static const char *const bad[] = {
		"", "/etc/passwd", "../x", "a/../x", "a/./x", "a//b", "a/",
		".hidden", "a/.x", "a b", "a\\b", "a\nb", "x;y", "\xc3\xa9",
		"1/2/3/4/5/6/7/8/9/10/11/12/13/14/15/16/17",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(writer__name_ok(good[i]));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("  bad: %s\n", bad[i]);
		assert_false(writer__name_ok(bad[i]));
	}
}

static void assert_file(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX * 2];
	char *got = malloc(len + 1);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(got, 1, len + 1, f), len);
	assert_memory_equal(got, data, len);
	fclose(f);
	free(got);
}

static void test_writes_files_and_folders(void **state)
{
	struct writer *w = writer__start(dir, getuid(), getgid());
	size_t big = 10 << 20;
	char *data = malloc(big);

	(void)state;
	assert_non_null(w);
	assert_non_null(data);
	for (size_t i = 0; i < big; i++)
		data[i] = (char)(i * 7);
	assert_int_equal(writer__put(w, "summary.txt", "hello\n", 6), 0);
	assert_int_equal(writer__put(w, "pods/ns/pod/c.svg", data, big), 0);
	/* Again: replaced whole, not appended. */
	assert_int_equal(writer__put(w, "summary.txt", "bye\n", 4), 0);
	assert_int_equal(writer__put(w, "empty", "", 0), 0);
	/* Refused before it is sent: nothing written, the writer goes on. */
	assert_int_equal(writer__put(w, "../escape", "x", 1), -EINVAL);
	assert_int_equal(writer__put(w, "after", "ok", 2), 0);
	assert_int_equal(writer__finish(w), 0);
	assert_file("summary.txt", "bye\n", 4);
	assert_file("pods/ns/pod/c.svg", data, big);
	assert_file("empty", "", 0);
	assert_file("after", "ok", 2);
	free(data);
}

static void test_a_symlink_in_the_folder_is_not_followed(void **state)
{
	char link[PATH_MAX * 2], target[PATH_MAX * 2];
	struct writer *w;
	struct stat st;

	(void)state;
	snprintf(target, sizeof(target), "%s/outside", dir);
	mkdir(target, 0755);
	snprintf(link, sizeof(link), "%s/sub", dir);
	mkdir(link, 0755);
	snprintf(link, sizeof(link), "%s/sub/pods", dir);
	assert_int_equal(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/sub", dir);
	w = writer__start(link, getuid(), getgid());
	assert_non_null(w);
	/* pods is a link: refused (ELOOP/ENOTDIR), nothing lands outside. */
	assert_true(writer__put(w, "pods/x.svg", "x", 1) < 0);
	assert_int_equal(writer__put(w, "fine.svg", "x", 1), 0);
	assert_int_equal(writer__finish(w), 0);
	snprintf(target, sizeof(target), "%s/outside/x.svg", dir);
	assert_int_equal(stat(target, &st), -1);
}

/* What the old temporary name would hit: a hard link and a symlink. */
static void test_planted_temp_names_are_not_used(void **state)
{
	char victim[PATH_MAX * 2], planted[PATH_MAX * 3], sub[PATH_MAX * 2];
	struct writer *w;
	struct stat st;
	struct dirent *de;
	DIR *d;
	int n = 0;
	FILE *f;

	(void)state;
	snprintf(victim, sizeof(victim), "%s/victim", dir);
	f = fopen(victim, "w");
	assert_non_null(f);
	fputs("precious\n", f);
	fclose(f);
	snprintf(sub, sizeof(sub), "%s/out", dir);
	assert_int_equal(mkdir(sub, 0755), 0);
	snprintf(planted, sizeof(planted), "%s/.summary.txt.tmp", sub);
	assert_int_equal(link(victim, planted), 0);
	snprintf(planted, sizeof(planted), "%s/.stacks.folded.tmp", sub);
	assert_int_equal(symlink(victim, planted), 0);
	w = writer__start(sub, getuid(), getgid());
	assert_non_null(w);
	assert_int_equal(writer__put(w, "summary.txt", "new\n", 4), 0);
	assert_int_equal(writer__put(w, "stacks.folded", "a;b 1\n", 6), 0);
	assert_int_equal(writer__finish(w), 0);
	assert_file("victim", "precious\n", 9);
	assert_file("out/summary.txt", "new\n", 4);
	assert_file("out/stacks.folded", "a;b 1\n", 6);
	/* The planted names are as they were; no temporary file is left. */
	assert_int_equal(lstat(planted, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	d = opendir(sub);
	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.' || strstr(de->d_name, ".tmp") != NULL;
	closedir(d);
	assert_int_equal(n, 4);	/* two outputs, two planted names */
}

static void test_missing_folder(void **state)
{
	char path[PATH_MAX + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/nope", dir);
	assert_null(writer__start(path, getuid(), getgid()));
	assert_int_equal(errno, ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_writes_files_and_folders),
		cmocka_unit_test(test_a_symlink_in_the_folder_is_not_followed),
		cmocka_unit_test(test_planted_temp_names_are_not_used),
		cmocka_unit_test(test_missing_folder),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
