// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: CPython layouts (src/lang/python_layout.c) from
 * hostile input. The first byte picks: an ELF file (through a memfd) for
 * py_file__read(), the bytes of _Py_DebugOffsets, or a line table
 * (3.11+'s location table, co_lnotab, 3.10's co_linetable) looked up at
 * the instruction offsets it could cover.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "python_layout.h"
#include "python_lines.h"

/* The unwinder's own (src/unwind/unwinder.c), not under test here. */
int elf_loads__read(int fd, struct elf_loads *out)
{
	(void)fd;
	out->n = 0;
	return 0;
}

static void elf_input(const uint8_t *data, size_t size)
{
	struct py_file f;
	int fd = fuzz_memfd(data, size), err;

	if (fd < 0)
		return;
	err = py_file__read(fd, &f);
	FUZZ_CHECK(err <= 0);
	if (!err)
		FUZZ_CHECK(f.version >= PY_VERSION_FIRST && f.version <= PY_VERSION_LAST);
}

static void debug_offsets_input(const uint8_t *data, size_t size)
{
	struct py_code_layout code;
	struct py_layout l;
	uint16_t version;
	int err = py_layout__from_debug_offsets(data, size, &version, &l, &code);

	FUZZ_CHECK(err == 0 || err == -EINVAL || err == -ENOENT || err == -ENOTSUP);
	if (!err)
		FUZZ_CHECK(l.frame_is_entry == PY_NO_FIELD &&
			   l.tstate_cframe == PY_NO_FIELD);
}

static void linetable_input(const uint8_t *data, size_t size)
{
	static const uint16_t versions[] = { 0x0308, 0x030a, 0x030b };

	/* At most 8 code units an entry byte: nothing past 8 * size + 8. */
	for (uint32_t u = 0; u < 8 * size + 8 && u < 70000; u++)
		(void)py_linetable__line(data, size, 1, u);
	FUZZ_CHECK(py_linetable__line(data, size, 7, UINT32_MAX) >= 1);
	/* co_lnotab (3.8, 3.9), 3.10's co_linetable: 255 bytes an entry. */
	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		for (uint32_t u = 0; u < 128 * size + 8 && u < 20000; u += 13)
			FUZZ_CHECK(py_code__line(versions[v], data, size, 3, u) >= 1);
		FUZZ_CHECK(py_code__line(versions[v], data, size, 3,
					 UINT32_MAX) >= 1);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	switch (data[0] % 3) {
	case 0:
		elf_input(data + 1, size - 1);
		break;
	case 1:
		debug_offsets_input(data + 1, size - 1);
		break;
	default:
		linetable_input(data + 1, size - 1);
		break;
	}
	return 0;
}
