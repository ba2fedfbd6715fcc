// SPDX-License-Identifier: MIT
/*
 * CFI unwind tables (see cfi_table.h): the rows and rules, how a libdw
 * frame is classified into a rule, and the public cfi_table API. Finding
 * the FDE address ranges is in cfi_fde.c, the packed BPF form in
 * cfi_packed.c.
 *
 * How the rows are found. libdw evaluates CFI at one address
 * (dwarf_cfi_addrframe) and tells the pc range its answer holds for
 * (dwarf_frame_info), but it has no call that lists FDEs with their
 * address ranges: cfi_fdes__open() decodes those from the raw sections.
 * Then, for each FDE, we ask libdw for the frame at its first address,
 * classify it, and jump to the end of the range libdw reports, until the
 * FDE's end: one libdw call per row.
 *
 * libdw re-runs the FDE's program from its start on each call, so a
 * function of n rows costs n^2; a hostile file could make that huge, so
 * the bytes of CFI program run are counted and capped (CFI_WORK_MAX).
 *
 * Helpers return 0 or -errno; only cfi_table__from_fd() turns that into
 * NULL + errno.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cfi_fde.h"
#include "cfi_table.h"

/* Bytes of CFI program libdw may run for one file (see the top). */
#define CFI_WORK_MAX		(1ull << 30)

#define X86_64_RSP		7
#define X86_64_RBP		6
#define X86_64_RIP		16	/* the return address column */

/* State of one cfi_table__from_fd() call. */
struct builder {
	struct cfi_fdes fdes;	/* the file, its CFI and its FDE ranges */
	size_t max_rows;
	uint64_t work;
	size_t rows_cap, rules_cap;
	uint32_t *slots;	/* rule hash: index + 1, 0 empty */
	size_t nslots;
	struct cfi_table *t;
};

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
	err = cfi__grow((void **)&t->rules, &b->rules_cap, t->nrules,
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
	err = cfi__grow((void **)&t->rows, &b->rows_cap, t->nrows, sizeof(*t->rows),
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
static int walk_fde(struct builder *b, const struct cfi_fde_range *f)
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
		if (dwarf_cfi_addrframe(b->fdes.cfi[f->src], addr, &frame))
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
	const struct cfi_fde_range *fdes = b->fdes.ranges;
	size_t n = b->fdes.n;
	int err;

	for (size_t i = 0; i < n; i++) {
		if (i && fdes[i].lo > fdes[i - 1].hi) {
			err = emit_kind(b, fdes[i - 1].hi, UNWIND_CFA_NONE);
			if (err)
				return err;
		}
		err = walk_fde(b, &fdes[i]);
		if (err)
			return err;
	}
	return emit_kind(b, fdes[n - 1].hi, UNWIND_CFA_NONE);
}

static void fill_stats(const struct builder *b, struct cfi_table_stats *st)
{
	const struct cfi_table *t = b->t;

	memset(st, 0, sizeof(*st));
	st->rows = t->nrows;
	st->rules = t->nrules;
	st->fdes = b->fdes.n;
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

static int build(struct builder *b, int fd)
{
	int err;

	err = cfi_fdes__open(&b->fdes, fd, b->max_rows);
	if (err)
		return err;
	b->t->source = b->fdes.source;
	err = walk_all(b);
	if (!err)
		shrink(b->t);
	return err;
}

static void builder_end(struct builder *b)
{
	cfi_fdes__close(&b->fdes);
	free(b->slots);
}

struct cfi_table *cfi_table__from_fd(int fd, size_t max_rows,
				     struct cfi_table_stats *st)
{
	struct builder b = { .max_rows = max_rows ? max_rows
						  : CFI_TABLE_MAX_ROWS };
	int err;

	b.t = calloc(1, sizeof(*b.t));
	err = b.t ? build(&b, fd) : -ENOMEM;
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
