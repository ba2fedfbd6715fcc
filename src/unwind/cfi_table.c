// SPDX-License-Identifier: MIT
/*
 * CFI unwind tables (see cfi_table.h).
 *
 * How the rows are found. libdw evaluates CFI at one address
 * (dwarf_cfi_addrframe) and tells the pc range its answer holds for
 * (dwarf_frame_info), but it has no call that lists FDEs with their
 * address ranges. So we walk the raw section with dwarf_next_cfi, which
 * splits it into CIEs and FDEs and checks their bounds, and decode each
 * FDE's initial_location/address_range ourselves: that needs only the
 * CIE's 'R' augmentation (the pointer encoding, x86-64: pcrel sdata4 in
 * .eh_frame, absolute in .debug_frame). Then, for each FDE, we ask libdw
 * for the frame at its first address, classify it, and jump to the end
 * of the range libdw reports, until the FDE's end: one libdw call per row.
 *
 * libdw re-runs the FDE's program from its start on each call, so a
 * function of n rows costs n^2; a hostile file could make that huge, so
 * the bytes of CFI program run are counted and capped (CFI_WORK_MAX).
 *
 * The file is opened with ELF_C_READ, not ELF_C_READ_MMAP: libelf then
 * pread()s what it needs, so a file truncated under us is a read error,
 * not a SIGBUS. Helpers return 0 or -errno; only cfi_table__from_fd()
 * turns that into NULL + errno.
 */
#include <dwarf.h>
#include <elf.h>
#include <elfutils/libdw.h>
#include <endian.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfi_table.h"

/* A larger .eh_frame/.debug_frame is refused with EFBIG. */
#define CFI_SECTION_MAX		(128ull << 20)
/* libdw decompresses debug sections whole: their total is capped. */
#define CFI_INFLATED_MAX	(1ull << 30)
/* Bytes of CFI program libdw may run for one file (see the top). */
#define CFI_WORK_MAX		(1ull << 30)

#define X86_64_RSP		7
#define X86_64_RBP		6
#define X86_64_RIP		16	/* the return address column */

enum { SRC_EH, SRC_DEBUG, NSRC };

struct fde_range {
	uint64_t lo, hi;	/* [lo, hi) */
	uint32_t len;		/* bytes of its entry: the cost of one call */
	uint8_t src;		/* SRC_EH or SRC_DEBUG */
};

/* The CIE an FDE points to, as far as the FDE decoding needs it. */
struct cie_info {
	Dwarf_Off off;		/* (Dwarf_Off)-1: none cached yet */
	uint8_t enc;		/* DW_EH_PE_* of initial_location */
	bool ok;		/* we understood its augmentation */
};

/* State of one cfi_table__from_fd() call. */
struct builder {
	Elf *elf;
	Dwarf *dw;		/* only for .debug_frame */
	uint64_t file_size;
	size_t max_rows;
	uint64_t work;
	unsigned char ident[EI_NIDENT];
	Dwarf_CFI *cfi[NSRC];
	Elf_Data *data[NSRC];	/* the raw section, for dwarf_next_cfi */
	uint64_t sh_addr[NSRC];	/* base of pcrel pointers in .eh_frame */
	struct fde_range *fdes;
	size_t nfdes, fdes_cap;
	size_t rows_cap, rules_cap;
	uint32_t *slots;	/* rule hash: index + 1, 0 empty */
	size_t nslots;
	struct cfi_table *t;
};

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ready;

static void libelf_init_once(void)
{
	libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
}

/* libelf refuses every call until elf_version() has been called once. */
static int libelf_init(void)
{
	pthread_once(&libelf_once, libelf_init_once);
	return libelf_ready ? 0 : -ENOTSUP;
}

/* Doubles *cap (from min) so that n + 1 elements of size fit in *arr. */
static int grow(void **arr, size_t *cap, size_t n, size_t size, size_t min)
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

/*
 * The encodings and rules below are x86-64's (little-endian, 8-byte
 * addresses, rsp/rbp/rip columns): anything else is refused up front.
 */
static int check_elf(struct builder *b)
{
	size_t shnum;
	GElf_Ehdr eh;

	if (elf_kind(b->elf) != ELF_K_ELF)
		return -ENOEXEC;
	if (!gelf_getehdr(b->elf, &eh))
		return -EINVAL;
	memcpy(b->ident, eh.e_ident, EI_NIDENT);
	if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
		return -ENOTSUP;
	if (elf_getshdrnum(b->elf, &shnum))
		return -EINVAL;
	/* libelf quietly reports no sections when the table is cut off. */
	if (eh.e_shoff && (!eh.e_shnum ||
	    !range_ok(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr),
		      b->file_size)))
		return -EINVAL;
	return 0;
}

/*
 * libdw inflates compressed debug sections when it opens them: a few
 * kilobytes of zlib could ask for gigabytes, so their sizes are summed
 * from the compression headers first.
 */
static int check_inflated(struct builder *b)
{
	uint64_t total = 0;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	GElf_Chdr ch;

	while ((scn = elf_nextscn(b->elf, scn))) {
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
static Elf_Scn *find_section(struct builder *b, const char *name,
			     GElf_Shdr *sh)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	const char *n;

	if (elf_getshdrstrndx(b->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(b->elf, scn))) {
		if (!gelf_getshdr(scn, sh))
			return NULL;
		n = elf_strptr(b->elf, shstrndx, sh->sh_name);
		/* NOBITS: a separate debug file's placeholder .eh_frame. */
		if (n && !strcmp(n, name) && sh->sh_type != SHT_NOBITS &&
		    sh->sh_size)
			return scn;
	}
	return NULL;
}

static int section_data(struct builder *b, Elf_Scn *scn, const GElf_Shdr *sh,
			int src)
{
	Elf_Data *d;

	if (!(sh->sh_flags & SHF_COMPRESSED) &&
	    !range_ok(sh->sh_offset, sh->sh_size, b->file_size))
		return -EINVAL;
	if (sh->sh_size > CFI_SECTION_MAX)
		return -EFBIG;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size)
		return -EINVAL;
	if (d->d_size > CFI_SECTION_MAX)
		return -EFBIG;
	b->data[src] = d;
	b->sh_addr[src] = sh->sh_addr;
	return 0;
}

static int open_eh_frame(struct builder *b)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	scn = find_section(b, ".eh_frame", &sh);
	if (!scn)
		return 0;
	err = section_data(b, scn, &sh, SRC_EH);
	if (err)
		return err;
	b->cfi[SRC_EH] = dwarf_getcfi_elf(b->elf);
	return b->cfi[SRC_EH] ? 0 : -EINVAL;
}

/*
 * The Dwarf handle is opened before the section's data is read: libdw
 * inflates a SHF_COMPRESSED .debug_frame in place, and elf_getdata() then
 * gives the inflated bytes dwarf_next_cfi() needs.
 */
static int open_debug_frame(struct builder *b)
{
	Elf_Scn *scn;
	GElf_Shdr sh;
	int err;

	scn = find_section(b, ".debug_frame", &sh);
	if (!scn)
		return 0;
	err = check_inflated(b);
	if (err)
		return err;
	b->dw = dwarf_begin_elf(b->elf, DWARF_C_READ, NULL);
	if (!b->dw)
		return -EINVAL;
	b->cfi[SRC_DEBUG] = dwarf_getcfi(b->dw);
	if (!b->cfi[SRC_DEBUG])
		return -EINVAL;
	if (!gelf_getshdr(scn, &sh))
		return -EINVAL;
	return section_data(b, scn, &sh, SRC_DEBUG);
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
		if (*a != 'R' && *a != 'L' && *a != 'P')
			return;
		if (p >= end)
			return;
		if (*a == 'R')
			ci->enc = *p;
		if (*a == 'P' && !read_encoded(p + 1, end, *p, &ignored))
			return;
		if (*a == 'P')
			p = read_encoded(p + 1, end, *p, &ignored);
		else
			p++;
	}
	ci->ok = true;
}

/* The CIE at off, cached in *ci: FDEs of one object share one CIE. */
static void load_cie(struct builder *b, int src, Dwarf_Off off,
		     struct cie_info *ci)
{
	Dwarf_CFI_Entry e;
	Dwarf_Off next;

	if (ci->off == off)
		return;
	ci->off = off;
	ci->ok = false;
	if (dwarf_next_cfi(b->ident, b->data[src], src == SRC_EH, off, &next,
			   &e) == 0 && dwarf_cfi_cie_p(&e))
		parse_cie(&e.cie, ci);
}

/*
 * [lo, hi) of an FDE. Only the absolute and pc-relative applications are
 * used for code addresses on x86-64; others (and indirect) are skipped.
 * false: skip this FDE.
 */
static bool fde_range(const struct builder *b, int src, const Dwarf_FDE *f,
		      uint8_t enc, uint64_t *lo, uint64_t *hi)
{
	const uint8_t *p = f->start;
	uint64_t loc, len, base = 0;

	if (enc == DW_EH_PE_omit || (enc & DW_EH_PE_indirect))
		return false;
	if ((enc & 0x70) == DW_EH_PE_pcrel)
		base = b->sh_addr[src] +
		       (uint64_t)(p - (const uint8_t *)b->data[src]->d_buf);
	else if ((enc & 0x70) != DW_EH_PE_absptr)
		return false;
	p = read_encoded(p, f->end, enc, &loc);
	if (!p || !read_encoded(p, f->end, enc & 0x0f, &len))
		return false;
	*lo = base + loc;
	*hi = *lo + len;
	return len && *hi > *lo;
}

static int add_fde(struct builder *b, int src, const Dwarf_FDE *f,
		   const struct cie_info *ci)
{
	struct fde_range *r;
	uint64_t lo, hi;
	int err;

	if (!ci->ok || !fde_range(b, src, f, ci->enc, &lo, &hi))
		return 0;
	/* Each FDE gives at least one row: the row limit bounds them. */
	if (b->nfdes >= b->max_rows)
		return -E2BIG;
	err = grow((void **)&b->fdes, &b->fdes_cap, b->nfdes, sizeof(*r), 256);
	if (err)
		return err;
	r = &b->fdes[b->nfdes++];
	r->lo = lo;
	r->hi = hi;
	r->len = (uint32_t)(f->end - f->start);
	r->src = (uint8_t)src;
	return 0;
}

/* Every FDE of one section; a malformed entry fails the whole file. */
static int collect_fdes(struct builder *b, int src)
{
	struct cie_info ci = { .off = (Dwarf_Off)-1 };
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	int rc, err;

	for (;;) {
		rc = dwarf_next_cfi(b->ident, b->data[src], src == SRC_EH, off,
				    &next, &e);
		if (rc == 1)
			return 0;
		if (rc < 0 || next <= off)
			return -EINVAL;
		if (!dwarf_cfi_cie_p(&e)) {
			load_cie(b, src, e.fde.CIE_pointer, &ci);
			err = add_fde(b, src, &e.fde, &ci);
			if (err)
				return err;
		}
		off = next;
	}
}

static int fde_cmp(const void *pa, const void *pb)
{
	const struct fde_range *a = pa, *b = pb;

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
static void normalize_fdes(struct builder *b)
{
	uint64_t covered = 0;
	size_t n = 0;

	qsort(b->fdes, b->nfdes, sizeof(*b->fdes), fde_cmp);
	for (size_t i = 0; i < b->nfdes; i++) {
		struct fde_range r = b->fdes[i];

		if (n && r.hi <= covered)
			continue;
		if (n && r.lo < covered)
			r.lo = covered;
		b->fdes[n++] = r;
		covered = r.hi;
	}
	b->nfdes = n;
}

/* fdes[0, n) are disjoint and sorted: does one overlap [lo, hi)? */
static bool overlaps(const struct fde_range *fdes, size_t n, uint64_t lo,
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
static int collect_all(struct builder *b)
{
	size_t neh, kept;
	int err;

	if (b->cfi[SRC_EH]) {
		err = collect_fdes(b, SRC_EH);
		if (err)
			return err;
		normalize_fdes(b);
	}
	neh = kept = b->nfdes;
	if (b->cfi[SRC_DEBUG]) {
		err = collect_fdes(b, SRC_DEBUG);
		if (err)
			return err;
		for (size_t i = neh; i < b->nfdes; i++)
			if (!overlaps(b->fdes, neh, b->fdes[i].lo,
				      b->fdes[i].hi))
				b->fdes[kept++] = b->fdes[i];
		b->nfdes = kept;
		if (kept > neh)
			b->t->source |= CFI_SOURCE_DEBUG_FRAME;
		normalize_fdes(b);
	}
	if (neh)
		b->t->source |= CFI_SOURCE_EH_FRAME;
	return b->nfdes ? 0 : -ENOENT;
}

/* ---- classifying one frame -------------------------------------------- */

static int64_t sword(Dwarf_Word w)
{
	return (int64_t)w;	/* libdw keeps signed offsets in unsigned words */
}

static bool is_plt_expr(const Dwarf_Op *o, size_t n)
{
	return n == 9 && o[0].atom == DW_OP_breg7 && o[0].number == 8 &&
	       o[1].atom == DW_OP_breg16 && o[1].number == 0 &&
	       o[2].atom == DW_OP_lit15 && o[3].atom == DW_OP_and &&
	       (o[4].atom == DW_OP_lit11 || o[4].atom == DW_OP_lit10) &&
	       o[5].atom == DW_OP_ge && o[6].atom == DW_OP_lit3 &&
	       o[7].atom == DW_OP_shl && o[8].atom == DW_OP_plus;
}

/*
 * A DW_CFA_def_cfa rule comes back from libdw as one DW_OP_bregx (number:
 * register, number2: offset); a DW_CFA_def_cfa_expression as its decoded
 * ops, where the x86-64 PLT's is the one expression we know.
 */
static void classify_cfa(Dwarf_Frame *f, struct unwind_rule *r)
{
	uint64_t reg = UINT64_MAX;
	Dwarf_Op *o = NULL;
	int64_t off = 0;
	size_t n = 0;

	r->cfa_kind = UNWIND_CFA_UNKNOWN;
	if (dwarf_frame_cfa(f, &o, &n) || !n)
		return;
	if (is_plt_expr(o, n)) {
		r->cfa_kind = UNWIND_CFA_PLT;
		r->cfa_off = o[4].atom - DW_OP_lit0;
		return;
	}
	if (n != 1)
		return;
	if (o[0].atom == DW_OP_bregx) {
		reg = o[0].number;
		off = sword(o[0].number2);
	} else if (o[0].atom == DW_OP_breg7 || o[0].atom == DW_OP_breg6) {
		reg = o[0].atom - DW_OP_breg0;
		off = sword(o[0].number);
	}
	if ((reg != X86_64_RSP && reg != X86_64_RBP) || off < INT32_MIN ||
	    off > INT32_MAX)
		return;
	r->cfa_kind = reg == X86_64_RSP ? UNWIND_CFA_SP : UNWIND_CFA_FP;
	r->cfa_off = (int32_t)off;
}

/*
 * Where a register of the caller is, from dwarf_frame_register(): no ops
 * and a NULL pointer is same_value (x86-64's ABI rules make every
 * callee-saved register same_value until the CFI says otherwise); no ops
 * with the pointer set is undefined; offset(N) is DW_OP_call_frame_cfa,
 * then DW_OP_plus_uconst N when N != 0 (N negative as an unsigned word),
 * with a DW_OP_stack_value after it for val_offset(N), which we don't use.
 * -1: libdw error.
 */
static int reg_rule(Dwarf_Frame *f, int regno, uint8_t *kind, int64_t *off)
{
	Dwarf_Op mem[3], *o = NULL;
	size_t n = 0;

	*off = 0;
	*kind = UNWIND_REG_UNKNOWN;
	if (dwarf_frame_register(f, regno, mem, &o, &n))
		return -1;
	if (!n) {
		*kind = o ? UNWIND_REG_UNDEFINED : UNWIND_REG_SAME;
		return 0;
	}
	if (o[0].atom != DW_OP_call_frame_cfa || n > 2)
		return 0;
	if (n == 2 && o[1].atom != DW_OP_plus_uconst)
		return 0;
	*off = n == 2 ? sword(o[1].number) : 0;
	*kind = UNWIND_REG_CFA;
	return 0;
}

/* rbp's rule; one a 16-bit offset cannot hold is unknown. */
static void classify_fp(Dwarf_Frame *f, struct unwind_rule *r)
{
	uint8_t kind;
	int64_t off;

	if (reg_rule(f, X86_64_RBP, &kind, &off) ||
	    (kind == UNWIND_REG_CFA && (off < INT16_MIN || off > INT16_MAX)))
		kind = UNWIND_REG_UNKNOWN;
	r->fp_kind = kind;
	r->fp_off = kind == UNWIND_REG_CFA ? (int16_t)off : 0;
}

/*
 * The rule of frame f, and the end of the pc range it holds for (0 if
 * libdw does not say). The walker finds the return address at CFA - 8:
 * a frame whose CFI puts it elsewhere is unknown to it. Rules that end or
 * hand over the walk keep no offsets, so they compare equal and merge.
 */
static uint64_t classify(Dwarf_Frame *f, struct unwind_rule *r)
{
	Dwarf_Addr start = 0, end = 0;
	bool signalp = false;
	uint8_t ra_kind;
	int64_t ra_off;
	int ra;

	memset(r, 0, sizeof(*r));
	r->ra_kind = UNWIND_REG_SAME;
	ra = dwarf_frame_info(f, &start, &end, &signalp);
	if (signalp) {
		r->cfa_kind = UNWIND_CFA_SIGNAL;
		return end;
	}
	if (ra < 0 || reg_rule(f, ra, &ra_kind, &ra_off)) {
		r->cfa_kind = UNWIND_CFA_UNKNOWN;
		return end;
	}
	if (ra_kind == UNWIND_REG_UNDEFINED) {
		r->cfa_kind = UNWIND_CFA_STOP;
		return end;
	}
	classify_cfa(f, r);
	if (ra != X86_64_RIP || ra_kind != UNWIND_REG_CFA || ra_off != -8)
		r->cfa_kind = UNWIND_CFA_UNKNOWN;
	if (r->cfa_kind == UNWIND_CFA_UNKNOWN)
		r->cfa_off = 0;
	else
		classify_fp(f, r);
	return end;
}

/* ---- rows and rules ------------------------------------------------------ */

static uint32_t rule_hash(const struct unwind_rule *r)
{
	uint32_t h = 2166136261u;	/* FNV-1a over the 12 bytes */
	const uint8_t *p = (const uint8_t *)r;

	for (size_t i = 0; i < sizeof(*r); i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Rehashes into twice the slots, keeping the table at most half full. */
static int rehash(struct builder *b)
{
	size_t n = b->nslots ? b->nslots * 2 : 256;
	uint32_t *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < b->t->nrules; i++) {
		size_t h = rule_hash(&b->t->rules[i]) & (n - 1);

		while (s[h])
			h = (h + 1) & (n - 1);
		s[h] = (uint32_t)i + 1;
	}
	free(b->slots);
	b->slots = s;
	b->nslots = n;
	return 0;
}

/* The index of rule r in the table's rules, added if new. */
static int intern(struct builder *b, const struct unwind_rule *r)
{
	struct cfi_table *t = b->t;
	size_t h;
	int err;

	if (2 * (t->nrules + 1) > b->nslots && (err = rehash(b)))
		return err;
	h = rule_hash(r) & (b->nslots - 1);
	for (; b->slots[h]; h = (h + 1) & (b->nslots - 1))
		if (!memcmp(&t->rules[b->slots[h] - 1], r, sizeof(*r)))
			return (int)b->slots[h] - 1;
	/* Row rule indexes are 16 bits wide. */
	if (t->nrules >= UNWIND_MAX_RULES)
		return -E2BIG;
	err = grow((void **)&t->rules, &b->rules_cap, t->nrules,
		   sizeof(*t->rules), 64);
	if (err)
		return err;
	t->rules[t->nrules] = *r;
	b->slots[h] = (uint32_t)++t->nrules;
	return (int)t->nrules - 1;
}

/*
 * Appends the row [pc, ...) -> r. A row at the pc of the last one replaces
 * it (it covered nothing); a row with the last one's rule is not needed.
 */
static int emit(struct builder *b, uint64_t pc, const struct unwind_rule *r)
{
	struct cfi_table *t = b->t;
	struct cfi_row *last;
	int idx, err;

	idx = intern(b, r);
	if (idx < 0)
		return idx;
	last = t->nrows ? &t->rows[t->nrows - 1] : NULL;
	if (last && last->pc > pc)
		return -EINVAL;		/* FDEs are disjoint: cannot happen */
	if (last && last->pc == pc) {
		t->nrows--;
		last = t->nrows ? &t->rows[t->nrows - 1] : NULL;
	}
	if (last && last->rule == idx)
		return 0;
	if (t->nrows >= b->max_rows)
		return -E2BIG;
	err = grow((void **)&t->rows, &b->rows_cap, t->nrows, sizeof(*t->rows),
		   1024);
	if (err)
		return err;
	t->rows[t->nrows++] = (struct cfi_row){ .pc = pc, .rule = (uint16_t)idx };
	return 0;
}

static int emit_kind(struct builder *b, uint64_t pc, uint8_t cfa_kind)
{
	struct unwind_rule r = { .cfa_kind = cfa_kind, .ra_kind = UNWIND_REG_SAME };

	return emit(b, pc, &r);
}

/* The rows of one FDE's range, one libdw frame per row. */
static int walk_fde(struct builder *b, const struct fde_range *f)
{
	struct unwind_rule r;
	Dwarf_Frame *frame;
	uint64_t addr = f->lo, end;
	int err;

	while (addr < f->hi) {
		b->work += f->len + 1;
		if (b->work > CFI_WORK_MAX)
			return -E2BIG;
		frame = NULL;
		/* Not evaluable by libdw: nor by the walker, to the end. */
		if (dwarf_cfi_addrframe(b->cfi[f->src], addr, &frame))
			return emit_kind(b, addr, UNWIND_CFA_UNKNOWN);
		end = classify(frame, &r);
		free(frame);
		/* Progress is ours to ensure, whatever the file says. */
		if (end <= addr || end > f->hi)
			end = f->hi;
		err = emit(b, addr, &r);
		if (err)
			return err;
		addr = end;
	}
	return 0;
}

/* All FDEs, with UNWIND_CFA_NONE rows in the gaps and after the last. */
static int walk_all(struct builder *b)
{
	int err;

	for (size_t i = 0; i < b->nfdes; i++) {
		if (i && b->fdes[i].lo > b->fdes[i - 1].hi) {
			err = emit_kind(b, b->fdes[i - 1].hi, UNWIND_CFA_NONE);
			if (err)
				return err;
		}
		err = walk_fde(b, &b->fdes[i]);
		if (err)
			return err;
	}
	return emit_kind(b, b->fdes[b->nfdes - 1].hi, UNWIND_CFA_NONE);
}

static void fill_stats(const struct builder *b, struct cfi_table_stats *st)
{
	const struct cfi_table *t = b->t;

	memset(st, 0, sizeof(*st));
	st->rows = t->nrows;
	st->rules = t->nrules;
	st->fdes = b->nfdes;
	st->source = t->source;
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rules[t->rows[i].rule].cfa_kind == UNWIND_CFA_UNKNOWN)
			st->rows_unknown++;
}

static void shrink(struct cfi_table *t)
{
	void *p = realloc(t->rows, (t->nrows ? t->nrows : 1) * sizeof(*t->rows));

	if (p)
		t->rows = p;
}

static int build(struct builder *b)
{
	int err;

	err = check_elf(b);
	if (!err)
		err = open_eh_frame(b);
	if (!err)
		err = open_debug_frame(b);
	if (err)
		return err;
	if (!b->cfi[SRC_EH] && !b->cfi[SRC_DEBUG])
		return -ENOENT;
	err = collect_all(b);
	if (!err)
		err = walk_all(b);
	if (!err)
		shrink(b->t);
	return err;
}

static int open_file(struct builder *b, int fd)
{
	struct stat st;
	int err;

	err = libelf_init();
	if (err)
		return err;
	if (fstat(fd, &st))
		return -errno;
	/* Not a device or FIFO a tenant put where a library should be. */
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	b->file_size = (uint64_t)st.st_size;
	b->elf = elf_begin(fd, ELF_C_READ, NULL);
	return b->elf ? 0 : -EINVAL;
}

static void builder_end(struct builder *b)
{
	if (b->cfi[SRC_EH])
		dwarf_cfi_end(b->cfi[SRC_EH]);
	if (b->dw)
		dwarf_end(b->dw);	/* owns cfi[SRC_DEBUG] */
	if (b->elf)
		elf_end(b->elf);
	free(b->fdes);
	free(b->slots);
}

struct cfi_table *cfi_table__from_fd(int fd, size_t max_rows,
				     struct cfi_table_stats *st)
{
	struct builder b = { .max_rows = max_rows ? max_rows
						  : CFI_TABLE_MAX_ROWS };
	int err;

	b.t = calloc(1, sizeof(*b.t));
	err = b.t ? open_file(&b, fd) : -ENOMEM;
	if (!err)
		err = build(&b);
	if (!err && st)
		fill_stats(&b, st);
	builder_end(&b);
	if (err) {
		cfi_table__free(b.t);
		errno = -err;
		return NULL;
	}
	return b.t;
}

void cfi_table__free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rules);
	free(t->rows);
	free(t);
}

const struct unwind_rule *cfi_table__find(const struct cfi_table *t,
					  uint64_t pc)
{
	size_t lo = 0, hi;

	if (!t)
		return NULL;
	hi = t->nrows;
	while (lo < hi) {	/* lo: the first row after pc */
		size_t mid = lo + (hi - lo) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rules[t->rows[lo - 1].rule] : NULL;
}

/* ---- the packed (BPF) form --------------------------------------------- */

void cfi_packed__free(struct cfi_packed *p)
{
	if (!p)
		return;
	free(p->page_index);
	free(p->rows);
	memset(p, 0, sizeof(*p));
}

static uint32_t packed_row(const struct cfi_table *t, const uint16_t *map,
			   size_t i, bool at_page_start)
{
	return UNWIND_ROW(at_page_start ? 0 : t->rows[i].pc & 0xffff,
			  map[t->rows[i].rule]);
}

/*
 * The rows of page number page, from row *i on: first a copy of the row
 * governing the page's first byte when no row starts there (and it is
 * not a gap), then the rows starting in it.
 */
static uint32_t pack_page(const struct cfi_table *t, const uint16_t *map,
			  uint64_t page, size_t *i, uint32_t *out)
{
	uint32_t k = 0;
	size_t j = *i;

	if (j && j < t->nrows && t->rows[j].pc != page << UNWIND_PAGE_SHIFT &&
	    t->rules[t->rows[j - 1].rule].cfa_kind != UNWIND_CFA_NONE)
		out[k++] = packed_row(t, map, j - 1, true);
	for (; j < t->nrows && t->rows[j].pc >> UNWIND_PAGE_SHIFT == page; j++)
		out[k++] = packed_row(t, map, j, false);
	*i = j;
	return k;
}

int cfi_table__pack(const struct cfi_table *t, const uint16_t *rule_map,
		    struct cfi_packed *out)
{
	uint64_t first, last;
	size_t i = 0, cap;
	uint32_t k = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (!t || !rule_map)
		return -EINVAL;
	if (!t->nrows)
		return -ENOENT;
	first = t->rows[0].pc >> UNWIND_PAGE_SHIFT;
	last = t->rows[t->nrows - 1].pc >> UNWIND_PAGE_SHIFT;
	if (last - first >= CFI_PACKED_MAX_PAGES)
		return -E2BIG;
	out->first_page = first;
	out->npages = (uint32_t)(last - first + 1);
	/* At most one copy per page: the bound of the row count. */
	cap = t->nrows + out->npages;
	if (cap > UINT32_MAX)
		return -E2BIG;
	out->page_index = calloc(out->npages + 1, sizeof(*out->page_index));
	out->rows = calloc(cap, sizeof(*out->rows));
	if (!out->page_index || !out->rows) {
		cfi_packed__free(out);
		return -ENOMEM;
	}
	for (uint32_t p = 0; p < out->npages; p++) {
		out->page_index[p] = k;
		k += pack_page(t, rule_map, first + p, &i, out->rows + k);
	}
	out->page_index[out->npages] = k;
	out->nrows = k;
	return 0;
}

/*
 * As the BPF program does it: only the page's window is searched, and the
 * loop has a constant bound the verifier accepts. A window holds at most
 * 65536 rows (distinct 16-bit pcs), which 17 halvings always narrow down.
 */
uint32_t cfi_packed__find(const struct cfi_packed *p, uint64_t pc, bool *found)
{
	uint32_t lo, hi, start, key = pc & 0xffff;
	uint64_t page = pc >> UNWIND_PAGE_SHIFT;

	*found = false;
	if (!p || !p->npages || page < p->first_page ||
	    page - p->first_page >= p->npages)
		return 0;
	page -= p->first_page;
	start = lo = p->page_index[page];
	hi = p->page_index[page + 1];
	if (hi > p->nrows || lo >= hi)
		return 0;
	for (int step = 0; step < 17 && lo < hi; step++) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (UNWIND_ROW_PC(p->rows[mid]) <= key)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == start)
		return 0;	/* the page's first row starts after pc */
	*found = true;
	return UNWIND_ROW_RULE(p->rows[lo - 1]);
}
