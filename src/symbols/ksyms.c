// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "ksyms.h"

struct ksyms {
	struct ksym *syms;
	size_t n, cap;
	char *names;		/* all names, NUL-separated */
	size_t names_len, names_cap;
};

static int ksyms__push(struct ksyms *ks, uint64_t addr, const char *name)
{
	size_t len = strlen(name) + 1;

	if (ks->n == ks->cap) {
		size_t cap = ks->cap ? ks->cap * 2 : 4096;
		void *s = realloc(ks->syms, cap * sizeof(*ks->syms));

		if (!s)
			return -ENOMEM;
		ks->syms = s;
		ks->cap = cap;
	}
	while (ks->names_len + len > ks->names_cap) {
		size_t cap = ks->names_cap ? ks->names_cap * 2 : 65536;
		char *s = realloc(ks->names, cap);

		if (!s)
			return -ENOMEM;
		ks->names = s;
		ks->names_cap = cap;
	}
	memcpy(ks->names + ks->names_len, name, len);
	/* Store the offset now; names may still move with realloc. */
	ks->syms[ks->n].addr = addr;
	ks->syms[ks->n].name = (const char *)(uintptr_t)ks->names_len;
	ks->names_len += len;
	ks->n++;
	return 0;
}

static int ksym_cmp(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/* "ffffffff81000000 T _stext [module]": keep text symbols only. */
static bool parse_line(char *line, uint64_t *addr, char **name)
{
	char type, *end;

	*addr = strtoull(line, &end, 16);
	if (end == line || *end != ' ')
		return false;
	type = end[1];
	if (!type || end[2] != ' ')
		return false;
	if (type != 't' && type != 'T' && type != 'w' && type != 'W')
		return false;
	*name = end + 3;
	(*name)[strcspn(*name, " \t\n")] = '\0';
	return **name != '\0';
}

struct ksyms *ksyms__read(FILE *f)
{
	struct ksyms *ks = calloc(1, sizeof(*ks));
	/* KSYM_NAME_LEN is 512 since 6.1, plus address, type and module. */
	char line[1024];
	int err = 0;

	if (!ks)
		return NULL;
	while (!err && fgets(line, sizeof(line), f)) {
		uint64_t addr;
		char *name;

		if (!strchr(line, '\n') && !feof(f)) {
			int c;

			/* Longer than any real line: drop it, not its tail. */
			while ((c = fgetc(f)) != EOF && c != '\n')
				;
			continue;
		}
		if (parse_line(line, &addr, &name) && addr)
			err = ksyms__push(ks, addr, name);
	}
	if (!err && ferror(f))
		err = -EIO;
	if (err) {
		ksyms__free(ks);
		errno = -err;
		return NULL;
	}
	for (size_t i = 0; i < ks->n; i++)
		ks->syms[i].name = ks->names + (uintptr_t)ks->syms[i].name;
	if (ks->n)
		qsort(ks->syms, ks->n, sizeof(*ks->syms), ksym_cmp);
	return ks;
}

struct ksyms *ksyms__load(const char *path)
{
	FILE *f = fopen(path, "re");
	struct ksyms *ks;
	int err;

	if (!f)
		return NULL;
	ks = ksyms__read(f);
	err = errno;
	fclose(f);
	errno = err;
	return ks;
}

void ksyms__free(struct ksyms *ks)
{
	if (!ks)
		return;
	free(ks->syms);
	free(ks->names);
	free(ks);
}

const struct ksym *ksyms__find(const struct ksyms *ks, uint64_t addr)
{
	size_t lo = 0, hi = ks->n;

	/* Find the last symbol with sym.addr <= addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ks->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &ks->syms[lo - 1] : NULL;
}

size_t ksyms__count(const struct ksyms *ks)
{
	return ks->n;
}
