// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: elf_symtab__load() (src/symbols/elfsyms.c) on the input as a
 * file (a memfd, since the loader wants a regular file's fd), then
 * elf_symtab__offset_to_vaddr(), elf_symtab__lookup(), elf_symtab__build_id()
 * and elf_symtab__count() on addresses taken from the input: file offsets
 * spread over it, the entry point, its last 8 bytes, and the ends.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elfsyms.h"
#include "fuzz_common.h"

#define OFFSET_STEPS 16

static void lookup(const struct elf_symtab *s, uint64_t vaddr)
{
	uint64_t off = UINT64_MAX;
	const char *name = elf_symtab__lookup(s, vaddr, &off);

	if (!name) {
		FUZZ_CHECK(!elf_symtab__lookup(s, vaddr, NULL));
		return;
	}
	FUZZ_CHECK(elf_symtab__count(s) > 0);
	FUZZ_CHECK(name[0] != '\0');	/* unnamed symbols are not kept */
	FUZZ_CHECK(off <= vaddr);
	FUZZ_CHECK(elf_symtab__lookup(s, vaddr, NULL) == name);
	/* The symbol's own start resolves to it, at offset 0. */
	FUZZ_CHECK(elf_symtab__lookup(s, vaddr - off, &off) == name &&
		   off == 0);
}

static void offset(const struct elf_symtab *s, uint64_t off)
{
	uint64_t vaddr;

	if (elf_symtab__offset_to_vaddr(s, off, &vaddr))
		lookup(s, vaddr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_symtab *s;
	const uint8_t *id;
	size_t id_len = 99;
	int fd = fuzz_memfd(data, size);

	errno = 0;
	s = elf_symtab__load(fd);
	if (!s) {
		FUZZ_CHECK(errno == EINVAL || errno == ENOEXEC ||
			   errno == EFBIG || errno == ENOMEM);
		return 0;
	}
	id = elf_symtab__build_id(s, &id_len);
	FUZZ_CHECK(id_len <= 64 && (id_len == 0) == (id == NULL));
	for (size_t i = 0; i < id_len; i++)
		(void)*(volatile const uint8_t *)&id[i];
	for (size_t i = 0; i <= OFFSET_STEPS; i++)
		offset(s, (uint64_t)size * i / OFFSET_STEPS);
	/* e_entry: at 0x18 in both classes, 4 or 8 bytes wide. */
	lookup(s, fuzz_load_le(data, size, 0x18, 4));
	lookup(s, fuzz_load_le(data, size, 0x18, 8));
	lookup(s, size >= 8 ? fuzz_load_le(data, size, size - 8, 8) : 0);
	lookup(s, 0);
	lookup(s, UINT64_MAX);
	offset(s, UINT64_MAX);
	elf_symtab__free(s);
	return 0;
}
