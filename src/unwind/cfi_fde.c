// SPDX-License-Identifier: MIT
/*
 * The FDE address ranges of an ELF file's CFI (see cfi_fde.h), split from
 * cfi_table.c because finding the ranges is all raw-section decoding,
 * while the table is built from libdw's evaluated frames.
 *
 * libdw has no call that lists FDEs with their address ranges. So we walk
 * the raw section with dwarf_next_cfi, which splits it into CIEs and FDEs
 * and checks their bounds, and decode each FDE's initial_location/
 * address_range ourselves: that needs only the CIE's 'R' augmentation (the
 * pointer encoding, x86-64: pcrel sdata4 in .eh_frame, absolute in
 * .debug_frame).
 *
 * The file is opened with ELF_C_READ, not ELF_C_READ_MMAP: libelf then
 * pread()s what it needs, so a file truncated under us is a read error,
 * not a SIGBUS. Helpers return 0 or -errno, as cfi_fdes__open() does.
 */
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <endian.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfi_fde.h"
#include "elfsyms.h"
#include "cfi_table.h"	/* enum cfi_source */

/* A larger .eh_frame/.debug_frame is refused with EFBIG. */
#define CFI_SECTION_MAX		(128ull << 20)
/* libdw decompresses debug sections whole: their total is capped. */
#define CFI_INFLATED_MAX	(1ull << 30)

/* The CIE an FDE points to, as far as the FDE decoding needs it. */
struct cie_info {
	Dwarf_Off off;		/* (Dwarf_Off)-1: none cached yet */
	uint8_t enc;		/* DW_EH_PE_* of initial_location */
	bool ok;		/* we understood its augmentation */
};

/* State of one cfi_fdes__open() call; its results move to a cfi_fdes. */
struct fde_reader {
	Elf *elf;
	Dwarf *dw;		/* only for .debug_frame */
	uint64_t file_size;
	size_t max_fdes;
	unsigned char ident[EI_NIDENT];
	Dwarf_CFI *cfi[CFI_FDE_NSRC];
	/* The raw section, for dwarf_next_cfi. */
	Elf_Data *data[CFI_FDE_NSRC];
	/* Base of pcrel pointers in .eh_frame. */
	uint64_t sh_addr[CFI_FDE_NSRC];
	struct cfi_fde_range *fdes;
	size_t nfdes, fdes_cap;
	unsigned int source;	/* enum cfi_source bits */
};

/* Doubles *cap (from min) so that n + 1 elements of size fit in *arr. */
int cfi__grow(void **arr, size_t *cap, size_t n, size_t size, size_t min)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	ncap = *cap ? *cap * 2 : min;
	if (ncap > SIZE_MAX / size)
		return -ENOMEM;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* ---- the ELF file and its CFI sections --------------------------------- */

static bool range_ok(uint64_t off, uint64_t size, uint64_t file_size)
{
	return off <= file_size && size <= file_size - off;
}

static int open_file(struct fde_reader *rd, int fd)
{
	struct stat st;
	int err;

	err = elf__init();
	if (err)
		return err;
	if (fstat(fd, &st))
		return -errno;
	/* Not a device or FIFO a tenant put where a library should be. */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	rd->file_size = (uint64_t)st.st_size;
	err = elf_file__check_sections(fd);
	if (err)
		return err;
	rd->elf = elf_begin(fd, ELF_C_READ, NULL);
	return rd->elf ? 0 : -EINVAL;
}

/*
 * The encodings and rules below are x86-64's (little-endian, 8-byte
 * addresses, rsp/rbp/rip columns): anything else is refused up front.
 */
static int check_elf(struct fde_reader *rd)
{
	size_t shnum;
	GElf_Ehdr eh;

	if (elf_kind(rd->elf) != ELF_K_ELF)
		return -ENOEXEC;
	if (!gelf_getehdr(rd->elf, &eh))
		return -EINVAL;
	memcpy(rd->ident, eh.e_ident, EI_NIDENT);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return -ENOTSUP;
	if (elf_getshdrnum(rd->elf, &shnum))
		return -EINVAL;
	/* libelf quietly reports no sections when the table is cut off. */
	if (eh.e_shoff && (!eh.e_shnum ||
	    !range_ok(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr),
		      rd->file_size)))
		return -EINVAL;
	return 0;
}

/*
 * libdw inflates compressed debug sections when it opens them: a few
 * kilobytes of zlib could ask for gigabytes, so their sizes are summed
 * from the compression headers first.
 */
static int check_inflated(struct fde_reader *rd)
{
	uint64_t total = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Chdr ch;

	while ((scn = elf_nextscn(rd->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -EINVAL;
		if (!(sh.sh_flags & SHF_COMPRESSED))
			continue;
		if (!gelf_getchdr(scn, &ch))
			return -EINVAL;
		if (ch.ch_size > CFI_INFLATED_MAX - total)
			return -EFBIG;
		total += ch.ch_size;
	}
	return 0;
}

/* The section called name with contents in the file, or NULL. */
static Elf_Scn *find_section(struct fde_reader *rd, const char *name,
			     GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	const char *n;

	if (elf_getshdrstrndx(rd->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(rd->elf, scn))) {
		if (!gelf_getshdr(scn, sh))
			return NULL;
		n = elf_strptr(rd->elf, shstrndx, sh->sh_name);
		/* NOBITS: a separate debug file's placeholder .eh_frame. */
		if (n && !strcmp(n, name) && sh->sh_type != SHT_NOBITS &&
		    sh->sh_size)
			return scn;
	}
	return NULL;
}

static int section_data(struct fde_reader *rd, Elf_Scn *scn,
			const GElf_Shdr *sh, int src)
{
	Elf_Data *d;

	if (!(sh->sh_flags & SHF_COMPRESSED) &&
	    !range_ok(sh->sh_offset, sh->sh_size, rd->file_size))
		return -EINVAL;
	if (sh->sh_size > CFI_SECTION_MAX)
		return -EFBIG;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return -EINVAL;
	if (d->d_size > CFI_SECTION_MAX)
		return -EFBIG;
	rd->data[src] = d;
	rd->sh_addr[src] = sh->sh_addr;
	return 0;
}

static int open_eh_frame(struct fde_reader *rd)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	scn = find_section(rd, ".eh_frame", &sh);
	if (!scn)
		return 0;
	err = section_data(rd, scn, &sh, CFI_FDE_EH);
	if (err)
		return err;
	rd->cfi[CFI_FDE_EH] = dwarf_getcfi_elf(rd->elf);
	return rd->cfi[CFI_FDE_EH] ? 0 : -EINVAL;
}

/*
 * The Dwarf handle is opened before the section's data is read: libdw
 * inflates a SHF_COMPRESSED .debug_frame in place, and elf_getdata() then
 * gives the inflated bytes dwarf_next_cfi() needs.
 */
static int open_debug_frame(struct fde_reader *rd)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	scn = find_section(rd, ".debug_frame", &sh);
	if (!scn)
		return 0;
	err = check_inflated(rd);
	if (err)
		return err;
	rd->dw = dwarf_begin_elf(rd->elf, DWARF_C_READ, NULL);
	if (!rd->dw)
		return -EINVAL;
	rd->cfi[CFI_FDE_DEBUG] = dwarf_getcfi(rd->dw);
	if (!rd->cfi[CFI_FDE_DEBUG])
		return -EINVAL;
	if (!gelf_getshdr(scn, &sh))
		return -EINVAL;
	return section_data(rd, scn, &sh, CFI_FDE_DEBUG);
}

/* ---- FDE address ranges ------------------------------------------------ */

static const uint8_t *read_uleb(const uint8_t *p, const uint8_t *end,
				uint64_t *v)
{
	unsigned int shift = 0;
	uint64_t r = 0;

	while (p < end && shift < 70) {
		uint8_t byte = *p++;

		if (shift < 64)
			r |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
		if (!(byte & 0x80)) {
			*v = r;
			return p;
		}
	}
	return NULL;
}

static const uint8_t *read_sleb(const uint8_t *p, const uint8_t *end,
				uint64_t *v)
{
	unsigned int shift = 0;
	uint64_t r = 0;

	while (p < end && shift < 70) {
		uint8_t byte = *p++;

		if (shift < 64)
			r |= (uint64_t)(byte & 0x7f) << shift;
		shift += 7;
		if (!(byte & 0x80)) {
			if (shift < 64 && (byte & 0x40))
				r |= ~0ull << shift;
			*v = r;
			return p;
		}
	}
	return NULL;
}

/* n little-endian bytes, sign-extended if sign. */
static const uint8_t *read_fixed(const uint8_t *p, const uint8_t *end,
				 size_t n, bool sign, uint64_t *v)
{
	uint64_t r = 0;

	if ((size_t)(end - p) < n)
		return NULL;
	for (size_t i = 0; i < n; i++)
		r |= (uint64_t)p[i] << (8 * i);
	if (sign && n < 8 && (r >> (8 * n - 1)) & 1)
		r |= ~0ull << (8 * n);
	*v = r;
	return p + n;
}

/* The value of a DW_EH_PE_* encoded pointer, without its application. */
static const uint8_t *read_encoded(const uint8_t *p, const uint8_t *end,
				   uint8_t enc, uint64_t *v)
{
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
		return read_fixed(p, end, 8, false, v);
	case DW_EH_PE_uleb128:
		return read_uleb(p, end, v);
	case DW_EH_PE_udata2:
		return read_fixed(p, end, 2, false, v);
	case DW_EH_PE_udata4:
		return read_fixed(p, end, 4, false, v);
	case DW_EH_PE_udata8:
		return read_fixed(p, end, 8, false, v);
	case DW_EH_PE_sleb128:
		return read_sleb(p, end, v);
	case DW_EH_PE_sdata2:
		return read_fixed(p, end, 2, true, v);
	case DW_EH_PE_sdata4:
		return read_fixed(p, end, 4, true, v);
	case DW_EH_PE_sdata8:
		return read_fixed(p, end, 8, true, v);
	default:
		return NULL;
	}
}

/*
 * The FDE pointer encoding from a CIE's augmentation ("zR", "zPLR",
 * "zRS"...). Letters are read in order because 'P' carries a pointer of
 * its own encoding before 'R'. An augmentation we do not know leaves the
 * CIE not understood: its FDEs are skipped, not guessed at.
 */
static void parse_cie(const Dwarf_CIE *c, struct cie_info *ci)
{
	const uint8_t *p = c->augmentation_data;
	const uint8_t *end = p + c->augmentation_data_size;
	const char *a = c->augmentation;
	uint64_t ignored;

	ci->enc = DW_EH_PE_absptr;
	ci->ok = a[0] == '\0';
	if (a[0] != 'z')
		return;
	for (a++; *a; a++) {
		if (*a == 'S' || *a == 'B' || *a == 'G')
			continue;	/* flags without data */
		if ((*a != 'R' && *a != 'L' && *a != 'P') || p >= end)
			return;
		if (*a == 'R')
			ci->enc = *p;
		if (*a != 'P')
			p++;		/* 'R', 'L': one encoding byte */
		else if (!(p = read_encoded(p + 1, end, *p, &ignored)))
			return;
	}
	ci->ok = true;
}

/* The CIE at off, cached in *ci: FDEs of one object share one CIE. */
static void load_cie(struct fde_reader *rd, int src, Dwarf_Off off,
		     struct cie_info *ci)
{
	Dwarf_CFI_Entry e;
	Dwarf_Off next;

	if (ci->off == off)
		return;
	ci->off = off;
	ci->ok = false;
	if (dwarf_next_cfi(rd->ident, rd->data[src], src == CFI_FDE_EH, off,
			   &next, &e) == 0 && dwarf_cfi_cie_p(&e))
		parse_cie(&e.cie, ci);
}

/*
 * [lo, hi) of an FDE. Only the absolute and pc-relative applications are
 * used for code addresses on x86-64; others (and indirect) are skipped.
 * false: skip this FDE.
 */
static bool fde_range(const struct fde_reader *rd, int src,
		      const Dwarf_FDE *f, uint8_t enc, uint64_t *lo,
		      uint64_t *hi)
{
	const uint8_t *p = f->start;
	uint64_t loc, len, base = 0;

	if (enc == DW_EH_PE_omit || (enc & DW_EH_PE_indirect))
		return false;
	if ((enc & 0x70) == DW_EH_PE_pcrel)
		base = rd->sh_addr[src] +
		       (uint64_t)(p - (const uint8_t *)rd->data[src]->d_buf);
	else if ((enc & 0x70) != DW_EH_PE_absptr)
		return false;
	p = read_encoded(p, f->end, enc, &loc);
	if (!p || !read_encoded(p, f->end, enc & 0x0f, &len))
		return false;
	*lo = base + loc;
	*hi = *lo + len;
	return len && *hi > *lo;
}

static int add_fde(struct fde_reader *rd, int src, const Dwarf_FDE *f,
		   const struct cie_info *ci)
{
	struct cfi_fde_range *r;
	uint64_t lo, hi;
	int err;

	if (!ci->ok || !fde_range(rd, src, f, ci->enc, &lo, &hi))
		return 0;
	/* Each FDE gives at least one row: max_fdes is the row limit. */
	if (rd->nfdes >= rd->max_fdes)
		return -E2BIG;
	err = cfi__grow((void **)&rd->fdes, &rd->fdes_cap, rd->nfdes, sizeof(*r),
		   256);
	if (err)
		return err;
	r = &rd->fdes[rd->nfdes++];
	r->lo = lo;
	r->hi = hi;
	r->len = (uint32_t)(f->end - f->start);
	r->src = (uint8_t)src;
	return 0;
}

/* Every FDE of one section; a malformed entry fails the whole file. */
static int collect_fdes(struct fde_reader *rd, int src)
{
	struct cie_info ci = { .off = (Dwarf_Off)-1 };
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	int rc, err;

	for (;;) {
		rc = dwarf_next_cfi(rd->ident, rd->data[src], src == CFI_FDE_EH,
				    off, &next, &e);
		if (rc == 1)
			return 0;
		if (rc < 0 || next <= off)
			return -EINVAL;
		if (!dwarf_cfi_cie_p(&e)) {
			load_cie(rd, src, e.fde.CIE_pointer, &ci);
			err = add_fde(rd, src, &e.fde, &ci);
			if (err)
				return err;
		}
		off = next;
	}
}

static int fde_cmp(const void *pa, const void *pb)
{
	const struct cfi_fde_range *a = pa, *b = pb;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	if (a->hi != b->hi)		/* the longer first: it wins */
		return a->hi > b->hi ? -1 : 1;
	return 0;
}

/*
 * Sorted, and made disjoint: where FDEs overlap (a linker keeping FDEs of
 * discarded code at address 0, or a hostile file) the earlier one keeps
 * the overlap and the later one is cut to what is left.
 */
static void normalize_fdes(struct fde_reader *rd)
{
	uint64_t covered = 0;
	size_t n = 0;

	if (!rd->nfdes)
		return;		/* qsort() wants a non-NULL array */
	qsort(rd->fdes, rd->nfdes, sizeof(*rd->fdes), fde_cmp);
	for (size_t i = 0; i < rd->nfdes; i++) {
		struct cfi_fde_range r = rd->fdes[i];

		if (n && r.hi <= covered)
			continue;
		if (n && r.lo < covered)
			r.lo = covered;
		rd->fdes[n++] = r;
		covered = r.hi;
	}
	rd->nfdes = n;
}

/* fdes[0, n) are disjoint and sorted: does one overlap [lo, hi)? */
static bool overlaps(const struct cfi_fde_range *fdes, size_t n, uint64_t lo,
		     uint64_t hi)
{
	size_t l = 0, h = n;

	while (l < h) {		/* the first with hi > lo */
		size_t mid = l + (h - l) / 2;

		if (fdes[mid].hi > lo)
			h = mid;
		else
			l = mid + 1;
	}
	return l < n && fdes[l].lo < hi;
}

/*
 * .debug_frame only fills what .eh_frame leaves: a binary built with
 * -fno-asynchronous-unwind-tables -g still gets .eh_frame FDEs from the
 * C runtime's start files, and everything else from .debug_frame.
 */
static int collect_all(struct fde_reader *rd)
{
	size_t neh, kept;
	int err;

	if (rd->cfi[CFI_FDE_EH]) {
		err = collect_fdes(rd, CFI_FDE_EH);
		if (err)
			return err;
		normalize_fdes(rd);
	}
	neh = kept = rd->nfdes;
	if (rd->cfi[CFI_FDE_DEBUG]) {
		err = collect_fdes(rd, CFI_FDE_DEBUG);
		if (err)
			return err;
		for (size_t i = neh; i < rd->nfdes; i++)
			if (!overlaps(rd->fdes, neh, rd->fdes[i].lo,
				      rd->fdes[i].hi))
				rd->fdes[kept++] = rd->fdes[i];
		rd->nfdes = kept;
		if (kept > neh)
			rd->source |= CFI_SOURCE_DEBUG_FRAME;
		normalize_fdes(rd);
	}
	if (neh)
		rd->source |= CFI_SOURCE_EH_FRAME;
	return rd->nfdes ? 0 : -ENOENT;
}

/* ---- cfi_fdes ---------------------------------------------------------- */

int cfi_fdes__open(struct cfi_fdes *out, int fd, size_t max_fdes)
{
	struct fde_reader rd = { .max_fdes = max_fdes };
	int err;

	err = open_file(&rd, fd);
	if (!err)
		err = check_elf(&rd);
	if (!err)
		err = open_eh_frame(&rd);
	if (!err)
		err = open_debug_frame(&rd);
	if (!err && !rd.cfi[CFI_FDE_EH] && !rd.cfi[CFI_FDE_DEBUG])
		err = -ENOENT;
	if (!err)
		err = collect_all(&rd);
	/* What was opened is handed over, to be closed in one place. */
	*out = (struct cfi_fdes){
		.cfi = { rd.cfi[CFI_FDE_EH], rd.cfi[CFI_FDE_DEBUG] },
		.ranges = rd.fdes,
		.n = rd.nfdes,
		.source = rd.source,
		.elf = rd.elf,
		.dw = rd.dw,
	};
	if (err)
		cfi_fdes__close(out);
	return err;
}

void cfi_fdes__close(struct cfi_fdes *f)
{
	if (!f)
		return;
	if (f->cfi[CFI_FDE_EH])
		dwarf_cfi_end(f->cfi[CFI_FDE_EH]);
	if (f->dw)
		dwarf_end(f->dw);	/* owns cfi[CFI_FDE_DEBUG] */
	if (f->elf)
		elf_end(f->elf);
	free(f->ranges);
	memset(f, 0, sizeof(*f));
}
