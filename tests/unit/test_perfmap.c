// SPDX-License-Identifier: MIT
/* perf map parsing: good lines, junk, limits (the file is the JIT's). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include "perfmap.h"

static const struct {
	const char *line;
	int err;
	uint64_t start, size;
	const char *name;
} lines[] = {
	{ "7f0000001000 40 LazyCompile:*foo /app.js:1\n", 0, 0x7f0000001000, 0x40,
	  "LazyCompile:*foo /app.js:1" },
	{ "0x1000 0x10 py::main:/x.py", 0, 0x1000, 0x10, "py::main:/x.py" },
	{ "ABCDEF 1 upper\r\n", 0, 0xabcdef, 1, "upper" },
	{ "", -EINVAL, 0, 0, NULL },
	{ "1000 10\n", -EINVAL, 0, 0, NULL },		/* no name */
	{ "1000 0 empty\n", -EINVAL, 0, 0, NULL },		/* zero size */
	{ "zz 10 bad\n", -EINVAL, 0, 0, NULL },
	{ "1000  10 two spaces\n", -EINVAL, 0, 0, NULL },
	{ "ffffffffffffffff 10 wraps\n", -EINVAL, 0, 0, NULL },
	{ "10000000000000000 10 overflow\n", -EINVAL, 0, 0, NULL },
};

static void test_lines(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		char *copy = strdup(lines[i].line);
		uint64_t start = 0, size = 0;
		const char *name = NULL;
		int err = perfmap__parse_line(copy, &start, &size, &name);

		assert_int_equal(err, lines[i].err);
		if (!err) {
			assert_int_equal(start, lines[i].start);
			assert_int_equal(size, lines[i].size);
			assert_string_equal(name, lines[i].name);
		}
		free(copy);
	}
}

static int memfd_with(const char *text, size_t len)
{
	int fd = memfd_create("perfmap", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void test_load_and_lookup(void **state)
{
	const char text[] = "3000 100 third\n1000 100 first\njunk line\n"
			    "2000 80 second\n";
	int fd = memfd_with(text, sizeof(text) - 1);
	struct perfmap *m = perfmap__load(fd);

	(void)state;
	close(fd);
	assert_non_null(m);
	assert_int_equal(perfmap__count(m), 3);
	assert_string_equal(perfmap__lookup(m, 0x1000), "first");
	assert_string_equal(perfmap__lookup(m, 0x10ff), "first");
	assert_null(perfmap__lookup(m, 0x1100));
	assert_string_equal(perfmap__lookup(m, 0x207f), "second");
	assert_null(perfmap__lookup(m, 0x2080));
	assert_null(perfmap__lookup(m, 0xfff));
	assert_string_equal(perfmap__lookup(m, 0x30ff), "third");
	perfmap__free(m);
}

/* A 1 MB line is dropped whole: its tail must not parse as a line. */
static void test_long_line_dropped(void **state)
{
	size_t big = 1 << 20;
	char *text = malloc(big + 64);
	struct perfmap *m;
	int fd;

	(void)state;
	assert_non_null(text);
	memset(text, 'a', big);
	strcpy(text + big - 20, "5000 10 tail\n4000 10 ok\n");
	fd = memfd_with(text, strlen(text));
	m = perfmap__load(fd);
	close(fd);
	assert_non_null(m);
	assert_int_equal(perfmap__count(m), 1);
	assert_null(perfmap__lookup(m, 0x5000));
	assert_string_equal(perfmap__lookup(m, 0x4000), "ok");
	perfmap__free(m);
	free(text);
}

/* A NUL drops its own line, not the next one (fuzz_perfmap's finding). */
static void test_nul_drops_its_line(void **state)
{
	const char text[] = "1000 10 a\0b\n2000 10 c\n3000 10 d\0\n"
			    "4000 10 last";
	int fd = memfd_with(text, sizeof(text) - 1);
	struct perfmap *m = perfmap__load(fd);

	(void)state;
	close(fd);
	assert_non_null(m);
	assert_int_equal(perfmap__count(m), 2);
	assert_null(perfmap__lookup(m, 0x1000));
	assert_string_equal(perfmap__lookup(m, 0x2000), "c");
	assert_null(perfmap__lookup(m, 0x3000));
	assert_string_equal(perfmap__lookup(m, 0x4000), "last");
	perfmap__free(m);
}

static void test_refuses_fifo_and_huge(void **state)
{
	char dir[] = "/tmp/test_perfmap_XXXXXX", path[64];
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	fd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(fd >= 0);
	assert_null(perfmap__load(fd));
	assert_int_equal(errno, EINVAL);
	close(fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/huge", dir);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)PERFMAP_MAX_FILE + 1), 0);
	assert_null(perfmap__load(fd));
	assert_int_equal(errno, EFBIG);
	close(fd);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_load_and_lookup),
		cmocka_unit_test(test_long_line_dropped),
		cmocka_unit_test(test_nul_drops_its_line),
		cmocka_unit_test(test_refuses_fifo_and_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
