// SPDX-License-Identifier: MIT
/*
 * CPython layouts: the known table (3.11, 3.12), _Py_DebugOffsets of a
 * real 3.13 (tests/unit/fixtures/py313_debug_offsets.bin, the first bytes
 * of _PyRuntime in pyenv's libpython3.13.so.1.0) and damaged copies of
 * it, and the 3.11+ location table of a real function.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "python_layout.h"
#include "python_lines.h"

#define FIXTURE "tests/unit/fixtures/py313_debug_offsets.bin"

static void read_fixture(uint8_t *buf, size_t len)
{
	int fd = open(FIXTURE, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, buf, len), (ssize_t)len);
	close(fd);
}

static void test_known_versions(void **state)
{
	struct py_code_layout code;
	struct py_layout l;

	(void)state;
	assert_int_equal(py_layout__of_version(0x030b, &l, &code), 0);
	assert_int_equal(l.tstate_cframe, 56);
	assert_int_equal(l.frame_is_entry, 68);
	assert_int_equal(code.ascii_data, 48);
	assert_int_equal(py_layout__of_version(0x030c, &l, &code), 0);
	assert_int_equal(l.interp_threads_head, 72);
	assert_int_equal(l.frame_is_entry, PY_NO_FIELD);
	assert_int_equal(code.firstlineno, 68);
	/* 3.10 and older keep PyFrameObjects: not walked. */
	assert_int_equal(py_layout__of_version(0x030a, &l, &code), -ENOTSUP);
	/* 3.13 says it itself: no table entry. */
	assert_int_equal(py_layout__of_version(0x030d, &l, &code), -ENOTSUP);
}

static void test_debug_offsets_313(void **state)
{
	uint8_t buf[PY_DEBUG_OFFSETS_LEN];
	struct py_code_layout code;
	struct py_layout l;
	uint16_t version;

	(void)state;
	read_fixture(buf, sizeof(buf));
	assert_int_equal(py_layout__from_debug_offsets(buf, sizeof(buf), &version,
						       &l, &code), 0);
	/* What offsetof() gives with 3.13.0's own headers. */
	assert_int_equal(version, 0x030d);
	assert_int_equal(l.runtime_interp_head, 632);
	assert_int_equal(l.interp_threads_head, 7344);
	assert_int_equal(l.tstate_next, 8);
	assert_int_equal(l.tstate_thread_id, 152);
	assert_int_equal(l.tstate_cframe, PY_NO_FIELD);
	assert_int_equal(l.current_frame, 72);
	assert_int_equal(l.frame_code, 0);
	assert_int_equal(l.frame_previous, 8);
	assert_int_equal(l.frame_instr, 56);
	assert_int_equal(l.frame_owner, 70);
	assert_int_equal(l.frame_is_entry, PY_NO_FIELD);
	assert_int_equal(l.code_adaptive, 200);
	assert_int_equal(code.qualname, 128);
	assert_int_equal(code.filename, 112);
	assert_int_equal(code.firstlineno, 68);
	assert_int_equal(code.linetable, 136);
}

static void test_debug_offsets_damaged(void **state)
{
	uint8_t buf[PY_DEBUG_OFFSETS_LEN], bad[PY_DEBUG_OFFSETS_LEN];
	struct py_code_layout code;
	struct py_layout l;
	uint16_t version;
	uint64_t v;

	(void)state;
	read_fixture(buf, sizeof(buf));
	assert_int_equal(py_layout__from_debug_offsets(buf, 100, &version, &l,
						       &code), -EINVAL);
	memcpy(bad, buf, sizeof(bad));
	bad[0] = 'X';
	assert_int_equal(py_layout__from_debug_offsets(bad, sizeof(bad), &version,
						       &l, &code), -ENOENT);
	/* A version it does not know (3.14's offsets may move). */
	memcpy(bad, buf, sizeof(bad));
	v = 0x030e00f0;
	memcpy(bad + 8, &v, sizeof(v));
	assert_int_equal(py_layout__from_debug_offsets(bad, sizeof(bad), &version,
						       &l, &code), -ENOTSUP);
	/* An offset no u16 holds: refused, not truncated. */
	memcpy(bad, buf, sizeof(bad));
	v = 1ULL << 40;
	memcpy(bad + 72, &v, sizeof(v));
	assert_int_equal(py_layout__from_debug_offsets(bad, sizeof(bad), &version,
						       &l, &code), -ENOTSUP);
}

/* co_linetable of a function of python3.11, and its co_lines(). */
static const uint8_t linetable[] = {
	248, 128, 0, 216, 8, 9, 136, 65, 137, 5, 128, 65, 240, 4, 1, 9, 28,
	240, 0, 1, 9, 28, 240, 0, 1, 9, 28, 240, 0, 1, 9, 28, 221, 18, 23, 152,
	1, 145, 40, 148, 40, 240, 3, 1, 9, 28, 241, 0, 1, 9, 28, 244, 0, 1, 9,
	28, 128, 65, 224, 7, 8, 240, 0, 1, 5, 22, 221, 15, 18, 144, 49, 137,
	118, 140, 118, 136, 13, 216, 11, 12, 136, 49,
};
static const struct { uint32_t start, end, line; } expect[] = {
	{ 1, 2, 2 }, { 2, 7, 3 }, { 7, 11, 5 }, { 11, 25, 6 }, { 25, 34, 5 },
	{ 34, 36, 7 }, { 36, 51, 8 }, { 51, 53, 9 },
};

static void test_linetable(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++)
		for (uint32_t u = expect[i].start; u < expect[i].end; u++)
			assert_int_equal(py_linetable__line(linetable,
							    sizeof(linetable),
							    2, u), expect[i].line);
	/* Past the end, truncated, or junk: the first line, never a crash. */
	assert_int_equal(py_linetable__line(linetable, sizeof(linetable), 2, 999), 2);
	assert_int_equal(py_linetable__line(linetable, 2, 2, 40), 2);
	assert_int_equal(py_linetable__line((const uint8_t *)"\x01\x02", 2, 7, 0), 7);
	assert_int_equal(py_linetable__line((const uint8_t *)"\xf0\xff\xff", 3, 7, 3), 7);
}

/* Debian 12's python3.11, a real file: found, and the version it is. */
static void test_debian_python(void **state)
{
	struct py_file f;
	int fd = open("/usr/bin/python3.11", O_RDONLY | O_CLOEXEC);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(py_file__read(fd, &f), 0);
	assert_int_equal(f.version, 0x030b);
	assert_true(f.runtime_vaddr != 0);
	assert_true(f.loads.n > 0);
	close(fd);
	/* Not an interpreter. */
	fd = open("/bin/sh", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(py_file__read(fd, &f), -ENOENT);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_versions),
		cmocka_unit_test(test_debug_offsets_313),
		cmocka_unit_test(test_debug_offsets_damaged),
		cmocka_unit_test(test_linetable),
		cmocka_unit_test(test_debian_python),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
