// SPDX-License-Identifier: MIT
/*
 * CPython layouts: the known table (3.8-3.12), _Py_DebugOffsets of a
 * real 3.13 (tests/unit/fixtures/py313_debug_offsets.bin, the first bytes
 * of _PyRuntime in pyenv's libpython3.13.so.1.0) and damaged copies of
 * it, and the line tables of real functions: 3.11+'s location table, and
 * 3.8-3.10's from tests/unit/fixtures/py_old.h (what those interpreters
 * compiled and their own PyCode_Addr2Line answered, and their structs'
 * offsets from their DWARF; gen_py_old.py beside it made it).
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
#include "python_dwarf.h"
#include "python_layout.h"
#include "python_lines.h"

#define FIXTURE "tests/unit/fixtures/py313_debug_offsets.bin"

struct py_old_offsets {
	uint16_t runtime_interp_head, interp_threads_head, tstate_next;
	uint16_t tstate_thread_id, current_frame, frame_code, frame_previous;
	uint16_t frame_instr, qualname, filename, firstlineno, linetable;
	uint16_t ascii_data, compact_data;
};

struct py_old_fixture {
	uint16_t version;
	const uint8_t *table;
	size_t len;
	uint32_t first;
	const int32_t *lines;		/* per instruction; -1: none */
	size_t n;
	const struct py_old_offsets *off;
};

#include "fixtures/py_old.h"

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
	/* 3.7 and older are not walked. */
	assert_int_equal(py_layout__of_version(0x0307, &l, &code), -ENOTSUP);
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

/* 3.8-3.10's table entries: what their DWARF says. */
static void test_known_old_versions(void **state)
{
	struct py_code_layout code;
	struct py_layout l;

	(void)state;
	for (size_t i = 0; i < sizeof(py_old) / sizeof(py_old[0]); i++) {
		const struct py_old_offsets *o = py_old[i].off;

		assert_int_equal(py_layout__of_version(py_old[i].version, &l,
						       &code), 0);
		assert_int_equal(l.runtime_interp_head, o->runtime_interp_head);
		assert_int_equal(l.interp_threads_head, o->interp_threads_head);
		assert_int_equal(l.tstate_next, o->tstate_next);
		assert_int_equal(l.tstate_thread_id, o->tstate_thread_id);
		assert_int_equal(l.tstate_cframe, PY_NO_FIELD);
		assert_int_equal(l.current_frame, o->current_frame);
		assert_int_equal(l.frame_code, o->frame_code);
		assert_int_equal(l.frame_previous, o->frame_previous);
		assert_int_equal(l.frame_instr, o->frame_instr);
		assert_int_equal(l.frame_owner, PY_NO_FIELD);
		assert_int_equal(code.qualname, o->qualname);
		assert_int_equal(code.filename, o->filename);
		assert_int_equal(code.firstlineno, o->firstlineno);
		assert_int_equal(code.linetable, o->linetable);
		assert_int_equal(code.ascii_data, o->ascii_data);
		assert_int_equal(code.compact_data, o->compact_data);
		assert_true(PY_FRAME_OBJECTS(py_old[i].version));
	}
}

/* Every instruction of the sample: the line its interpreter gives. */
static void test_old_line_tables(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(py_old) / sizeof(py_old[0]); i++) {
		const struct py_old_fixture *f = &py_old[i];

		for (uint32_t u = 0; u < f->n; u++) {
			uint32_t want = f->lines[u] > 0 ? (uint32_t)f->lines[u] :
							  f->first;

			assert_int_equal(py_code__line(f->version, f->table,
						       f->len, f->first, u), want);
		}
		/* Past the end: the last line (3.8, 3.9), none (3.10). */
		assert_int_equal(py_code__line(f->version, f->table, f->len,
					       f->first, 70000),
				 f->version == 0x030a ? f->first :
				 (uint32_t)f->lines[f->n - 1]);
		/* Cut short, or no table: the first line or one on the way. */
		assert_true(py_code__line(f->version, f->table, 5, f->first,
					  (uint32_t)f->n - 1) >= f->first);
		assert_int_equal(py_code__line(f->version, NULL, 0, f->first, 3),
				 f->first);
	}
}

/* Malformed or odd tables: a line on the code's side, never a crash. */
static void test_old_line_tables_odd(void **state)
{
	/* 4 bytes line 1, 4 bytes no line (-128), 4 bytes line 3. */
	static const uint8_t t310[] = { 4, 0, 4, 0x80, 4, 2 };
	/* A line delta that would go below 1. */
	static const uint8_t down[] = { 2, 0xf0, 2, 1 };

	(void)state;
	assert_int_equal(py_linetable310__line(t310, sizeof(t310), 1, 0), 1);
	assert_int_equal(py_linetable310__line(t310, sizeof(t310), 1, 5), 1);
	assert_int_equal(py_linetable310__line(t310, sizeof(t310), 1, 8), 3);
	assert_int_equal(py_linetable310__line(t310, sizeof(t310), 1, 12), 1);
	/* An odd length: the last byte is not half an entry read. */
	assert_int_equal(py_linetable310__line(t310, 5, 1, 9), 1);
	assert_int_equal(py_lnotab__line(down, sizeof(down), 5, 0), 5);
	assert_int_equal(py_lnotab__line(down, sizeof(down), 5, 2), 5);
	assert_int_equal(py_lnotab__line(down, 3, 20, 3), 4);
	assert_int_equal(py_linetable310__line(down, sizeof(down), 5, 0), 5);
	/* Offsets that overflow two bytes a unit. */
	assert_int_equal(py_code__line(0x0308, down, sizeof(down), 20,
				       UINT32_MAX), 5);
}

/*
 * The file's DWARF (pyenv builds with -g): agrees with the table, and
 * tells a layout that is off by a field, or by a string header's size.
 */
static void check_dwarf(int fd, const struct py_file *f)
{
	struct py_code_layout code = f->code;
	struct py_layout l = f->l;
	Elf *e;

	assert_int_not_equal(elf_version(EV_CURRENT), EV_NONE);
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(e);
	assert_int_equal(py_dwarf__check(e, f->version, &l, &code), 0);
	l.frame_instr += 4;
	assert_int_equal(py_dwarf__check(e, f->version, &l, &code), -ENOTSUP);
	l = f->l;
	l.runtime_interp_head += 8;
	assert_int_equal(py_dwarf__check(e, f->version, &l, &code), -ENOTSUP);
	l = f->l;
	code.compact_data = 56;
	assert_int_equal(py_dwarf__check(e, f->version, &l, &code), -ENOTSUP);
	elf_end(e);
}

/* pyenv's 3.8-3.10 libpython, real files: found, and which they are. */
static void test_pyenv_old_pythons(void **state)
{
	static const struct { const char *glob; uint16_t version; } libs[] = {
		{ "3.8", 0x0308 }, { "3.9", 0x0309 }, { "3.10", 0x030a },
	};
	char cmd[256], path[512];

	(void)state;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		struct py_file f;
		FILE *p;
		int fd;

		snprintf(cmd, sizeof(cmd), "ls /root/.pyenv/versions/%s.*/lib/"
			 "libpython%s.so.1.0 2>/dev/null | tail -1",
			 libs[i].glob, libs[i].glob);
		p = popen(cmd, "r");
		assert_non_null(p);
		path[0] = '\0';
		if (!fgets(path, sizeof(path), p))
			path[0] = '\0';
		pclose(p);
		path[strcspn(path, "\n")] = '\0';
		if (!path[0])
			fail_msg("no pyenv CPython %s: run scripts/install-pythons.sh",
				 libs[i].glob);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(py_file__read(fd, &f), 0);
		assert_int_equal(f.version, libs[i].version);
		assert_int_equal(f.l.frame_owner, PY_NO_FIELD);
		assert_true(f.runtime_vaddr != 0);
		check_dwarf(fd, &f);
		close(fd);
	}
}

/* Debian 12's python3.11, a real file: found, and the version it is. */
static void test_debian_python(void **state)
{
	struct py_file f;
	int fd = open("/usr/bin/python3.11", O_RDONLY | O_CLOEXEC);
	Elf *e;

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(py_file__read(fd, &f), 0);
	assert_int_equal(f.version, 0x030b);
	assert_true(f.runtime_vaddr != 0);
	assert_true(f.loads.n > 0);
	/* Stripped: no DWARF to check a layout against. */
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	assert_non_null(e);
	assert_int_equal(py_dwarf__check(e, 0x030a, &f.l, &f.code), -ENOENT);
	elf_end(e);
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
		cmocka_unit_test(test_known_old_versions),
		cmocka_unit_test(test_old_line_tables),
		cmocka_unit_test(test_old_line_tables_odd),
		cmocka_unit_test(test_pyenv_old_pythons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
