// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: ksyms__read() (src/symbols/ksyms.c) on the input as a
 * /proc/kallsyms text (through fmemopen), then ksyms__find() at the
 * address of each of the first lines, one byte either side, and the ends
 * of the address space.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "ksyms.h"

#define MAX_LOOKUP_LINES 64

static void find(const struct ksyms *ks, uint64_t addr)
{
	const struct ksym *k = ksyms__find(ks, addr);

	if (!k) {
		/* Nothing at or below addr: addr is below the first symbol. */
		if (addr == UINT64_MAX)
			FUZZ_CHECK(ksyms__count(ks) == 0);
		return;
	}
	FUZZ_CHECK(ksyms__count(ks) > 0);
	FUZZ_CHECK(k->addr <= addr && k->addr != 0);
	FUZZ_CHECK(k->name && k->name[0]);
	FUZZ_CHECK(!strpbrk(k->name, " \t\n"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *line;
	char *text = fuzz_strndup(data, size);
	struct ksyms *ks;
	size_t n, nlines = 0;
	FILE *f;

	/* glibc's fmemopen() refuses size 0: give it the NUL, read as text. */
	f = fmemopen(text, size ? size : 1, "r");
	FUZZ_CHECK(f);
	errno = 0;
	ks = ksyms__read(f);
	fclose(f);
	if (!ks) {
		FUZZ_CHECK(errno == ENOMEM || errno == EIO);
		free(text);
		return 0;
	}
	find(ks, 0);
	FUZZ_CHECK(!ksyms__find(ks, 0));	/* address 0 is never kept */
	find(ks, UINT64_MAX);
	while (nlines++ < MAX_LOOKUP_LINES &&
	       fuzz_next_line(&p, end, 0, &line, &n)) {
		char *s = fuzz_strndup(line, n);
		uint64_t addr = strtoull(s, NULL, 16);

		find(ks, addr - 1);
		find(ks, addr);
		find(ks, addr + 1);
		free(s);
	}
	ksyms__free(ks);
	free(text);
	return 0;
}
