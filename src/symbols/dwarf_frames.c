// SPDX-License-Identifier: MIT
/*
 * Source frames from DWARF (see dwarf_frames.h). Opening copies the DWARF
 * sections that describe code (dwarf_image.h) and reads the compile units'
 * address ranges into one sorted array; a
 * lookup finds the unit by binary search and asks libdw for the scopes
 * (dwarf_getscopes) and the line (dwarf_getsrc_die) at the address.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "dwarf_frames.h"
#include "dwarf_image.h"
#include "elfsyms.h"

#define UNITS_MAX (1u << 20)
#define RANGES_MAX (1u << 22)
#define SCOPES_MAX 64		/* inlined calls nest deeper only in fuzzers */

struct cu_range {
	uint64_t start, end;
	Dwarf_Off cu;		/* the unit's DIE */
};

/*
 * The answers for recent addresses: a lookup walks the unit's DIEs and
 * line table (~25 us for glibc's), and profiles ask for the same return
 * addresses over and over.
 */
#define CACHE_SLOTS 1024

struct cached {
	uint64_t vaddr;
	uint32_t n;		/* UINT32_MAX: empty */
	struct src_frame f[DWARF_FRAMES_MAX];
};

struct dwarf_frames {
	char *image;		/* dwarf_image.h: what libdw reads */
	size_t image_len;
	struct cached *cache;	/* CACHE_SLOTS, by address */
	Elf *elf;
	Dwarf *dw;
	struct cu_range *ranges;	/* sorted by start */
	size_t nranges, cap;
};

static int add_range(struct dwarf_frames *d, uint64_t start, uint64_t end,
		     Dwarf_Off cu)
{
	if (start >= end)
		return 0;
	if (d->nranges == RANGES_MAX)
		return -EFBIG;
	if (d->nranges == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 256;
		void *p = realloc(d->ranges, cap * sizeof(*d->ranges));

		if (!p)
			return -ENOMEM;
		d->ranges = p;
		d->cap = cap;
	}
	d->ranges[d->nranges++] = (struct cu_range){ start, end, cu };
	return 0;
}

static int range_cmp(const void *a, const void *b)
{
	const struct cu_range *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Every compile unit's ranges (DW_AT_low_pc/high_pc or DW_AT_ranges). */
static int read_units(struct dwarf_frames *d)
{
	Dwarf_CU *cu = NULL;
	Dwarf_Die cudie;
	uint8_t unit_type;
	Dwarf_Half version;
	size_t units = 0;
	int err = 0;

	while (!err && !dwarf_get_units(d->dw, cu, &cu, &version, &unit_type,
					&cudie, NULL)) {
		Dwarf_Addr base, start, end;
		ptrdiff_t off = 0;

		if (++units > UNITS_MAX)
			return -EFBIG;
		if (unit_type != DW_UT_compile && unit_type != DW_UT_partial)
			continue;
		while (!err && (off = dwarf_ranges(&cudie, off, &base, &start,
						   &end)) > 0)
			err = add_range(d, start, end, dwarf_dieoffset(&cudie));
	}
	if (err)
		return err;
	if (!d->nranges)
		return -ENODATA;
	qsort(d->ranges, d->nranges, sizeof(*d->ranges), range_cmp);
	return 0;
}

struct dwarf_frames *dwarf_frames__open(int fd)
{
	struct dwarf_frames *d;
	size_t len = 0;
	int err;

	err = elf__init();
	if (err)
		goto fail;
	d = calloc(1, sizeof(*d));
	if (!d) {
		err = -ENOMEM;
		goto fail;
	}
	d->cache = malloc(CACHE_SLOTS * sizeof(*d->cache));
	if (!d->cache) {
		free(d);
		err = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		d->cache[i].n = UINT32_MAX;
	err = dwarf_image__read(fd, &d->image, &len);
	d->image_len = len;
	if (err == -EINVAL)
		err = -ENODATA;
	d->elf = !err ? elf_memory(d->image, len) : NULL;
	d->dw = d->elf ? dwarf_begin_elf(d->elf, DWARF_C_READ, NULL) : NULL;
	if (!err)
		err = d->dw ? read_units(d) : -ENODATA;
	if (!err)
		return d;
	dwarf_frames__free(d);
fail:
	errno = -err;
	return NULL;
}

size_t dwarf_frames__bytes(const struct dwarf_frames *d)
{
	/* libdw's own tables (abbreviations, parsed lines) come on top. */
	return d ? sizeof(*d) + d->image_len + d->cap * sizeof(*d->ranges) +
		   CACHE_SLOTS * sizeof(*d->cache) : 0;
}

void dwarf_frames__free(struct dwarf_frames *d)
{
	if (!d)
		return;
	if (d->dw)
		dwarf_end(d->dw);
	if (d->elf)
		elf_end(d->elf);
	free(d->image);
	free(d->cache);
	free(d->ranges);
	free(d);
}

/* The unit whose range holds vaddr: the last starting at or before it. */
static const struct cu_range *find_unit(const struct dwarf_frames *d,
					uint64_t vaddr)
{
	size_t lo = 0, hi = d->nranges;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->ranges[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* Ranges of units may nest or overlap: look back a little. */
	for (size_t i = lo, n = 0; i-- > 0 && n < 8; n++)
		if (vaddr < d->ranges[i].end)
			return &d->ranges[i];
	return NULL;
}

static const char *linkage_name(Dwarf_Die *die)
{
	Dwarf_Attribute a;

	if (dwarf_attr_integrate(die, DW_AT_linkage_name, &a) ||
	    dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &a))
		return dwarf_formstring(&a);
	return NULL;
}

static uint32_t udata(Dwarf_Die *die, unsigned int name)
{
	Dwarf_Attribute a;
	Dwarf_Word w;

	if (!dwarf_attr(die, name, &a) || dwarf_formudata(&a, &w) ||
	    w > UINT32_MAX)
		return 0;
	return (uint32_t)w;
}

static size_t lookup(struct dwarf_frames *d, uint64_t vaddr,
		     struct src_frame *out, size_t max);

size_t dwarf_frames__lookup(struct dwarf_frames *d, uint64_t vaddr,
			    struct src_frame *out, size_t max)
{
	struct cached *c;

	if (!d || max != DWARF_FRAMES_MAX)
		return lookup(d, vaddr, out, max);
	c = &d->cache[(vaddr * 0x9e3779b97f4a7c15ULL) >> 54];
	if (c->n == UINT32_MAX || c->vaddr != vaddr) {
		c->vaddr = vaddr;
		c->n = (uint32_t)lookup(d, vaddr, c->f, max);
	}
	memcpy(out, c->f, c->n * sizeof(*out));
	return c->n;
}

static size_t lookup(struct dwarf_frames *d, uint64_t vaddr,
		     struct src_frame *out, size_t max)
{
	const struct cu_range *r = d && max ? find_unit(d, vaddr) : NULL;
	struct src_frame all[SCOPES_MAX];
	Dwarf_Die cu, *scopes = NULL;
	Dwarf_Files *files = NULL;
	const char *file = NULL;
	Dwarf_Line *line;
	size_t k = 0, nfiles = 0;
	int lineno = 0, n;

	if (!r || !dwarf_offdie(d->dw, r->cu, &cu))
		return 0;
	line = dwarf_getsrc_die(&cu, vaddr);
	if (line) {
		file = dwarf_linesrc(line, NULL, NULL);
		if (dwarf_lineno(line, &lineno) || lineno < 0)
			lineno = 0;
	}
	if (dwarf_getsrcfiles(&cu, &files, &nfiles))
		files = NULL;
	/*
	 * The innermost scope at vaddr, then its parents as the DIE tree
	 * nests them: inlined calls inside the function they were inlined
	 * into (dwarf_getscopes would go on into the abstract origin's).
	 */
	n = dwarf_getscopes(&cu, vaddr, &scopes);
	if (n > 0) {
		Dwarf_Die inner = scopes[0];

		free(scopes);
		scopes = NULL;
		n = dwarf_getscopes_die(&inner, &scopes);
	}
	for (int i = 0; i < n && k < SCOPES_MAX; i++) {
		Dwarf_Die *s = &scopes[i];
		int tag = dwarf_tag(s), decl = 0;
		uint32_t call_file;

		if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
			continue;
		if (dwarf_decl_line(s, &decl) || decl < 0)
			decl = 0;
		all[k++] = (struct src_frame){ dwarf_diename(s), linkage_name(s),
					       file, (uint32_t)lineno,
					       (uint32_t)decl };
		if (tag == DW_TAG_subprogram)
			break;
		/* Its caller is at the line it was inlined from. */
		call_file = udata(s, DW_AT_call_file);
		file = files ? dwarf_filesrc(files, call_file, NULL, NULL) : NULL;
		/* Before DWARF 5, file 0 is none: libdw names it "???". */
		if (file && !strcmp(file, "???"))
			file = NULL;
		lineno = (int)udata(s, DW_AT_call_line);
	}
	free(scopes);
	if (!k && file)		/* code without a subprogram: a line still */
		all[k++] = (struct src_frame){ NULL, NULL, file,
					       (uint32_t)lineno, 0 };
	/* Too deep: the innermost, and the function that holds them all. */
	if (k > max) {
		all[max - 1] = all[k - 1];
		k = max;
	}
	memcpy(out, all, k * sizeof(*out));
	return k;
}
