// SPDX-License-Identifier: MIT
/*
 * Unit tests of the CFI unwind tables (src/unwind/cfi_table.c).
 *
 * The fixture binaries are built at run time with cc, from the sources
 * below, into $SYSSCOPE_TEST_TMP (or a mkdtemp dir). Expected addresses
 * come from nm and readelf (binutils, not libelf/libdw), and expected rules
 * from what the compiler must emit for each construct (noted at each
 * test). The system's libc is used for what only glibc has: the signal
 * return trampoline and clone's outermost frame. Hostile files are made by
 * patching a fixture's bytes here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cfi_packed.h"
#include "cfi_table.h"

/*
 * The main fixture, built -O2 -fomit-frame-pointer -z lazy (PIE):
 * - fx_leaf: a leaf that needs no stack: CFA = rsp + 8 throughout;
 * - fx_alloca: alloca forces an rbp frame: CFA = rbp + 16, rbp at CFA-16;
 * - fx_bare: hand-written, .cfi_startproc/.cfi_endproc and nothing else:
 *   its FDE has no instructions and inherits the CIE's rules;
 * - fx_nocfi: code between fx_gap_a and fx_gap_b that no FDE covers;
 * - puts through the PLT, lazily bound, so .plt has the CFA expression.
 */
static const char prog_src[] =
	"#include <alloca.h>\n"
	"#include <stdio.h>\n"
	"#include <string.h>\n"
	"__attribute__((noinline)) int fx_leaf(int a, int b)\n"
	"{ return a * b + 3; }\n"
	"__attribute__((noinline)) int fx_alloca(int n)\n"
	"{\n"
	"	char *p = alloca(n);\n"
	"	memset(p, n, n);\n"
	"	return p[n / 2] + fx_leaf(n, p[0]);\n"
	"}\n"
	"__asm__(\".text\\n.p2align 4\\n\"\n"
	"	\".globl fx_bare\\n.type fx_bare,@function\\nfx_bare:\\n\"\n"
	"	\".cfi_startproc\\nnop\\nnop\\nret\\n.cfi_endproc\\n\"\n"
	"	\".size fx_bare,.-fx_bare\\n\"\n"
	"	\".globl fx_gap_a\\n.type fx_gap_a,@function\\nfx_gap_a:\\n\"\n"
	"	\".cfi_startproc\\nret\\n.cfi_endproc\\n.size fx_gap_a,.-fx_gap_a\\n\"\n"
	"	\".globl fx_nocfi\\n.type fx_nocfi,@function\\nfx_nocfi:\\n\"\n"
	"	\".fill 15,1,0x90\\nret\\n.size fx_nocfi,.-fx_nocfi\\n\"\n"
	"	\".globl fx_gap_b\\n.type fx_gap_b,@function\\nfx_gap_b:\\n\"\n"
	"	\".cfi_startproc\\nret\\n.cfi_endproc\\n.size fx_gap_b,.-fx_gap_b\\n\");\n"
	"void fx_bare(void); void fx_gap_a(void); void fx_nocfi(void);\n"
	"void fx_gap_b(void);\n"
	"volatile int fx_sink;\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	(void)argv;\n"
	"	fx_sink = fx_alloca(argc + 16);\n"
	"	fx_bare(); fx_gap_a(); fx_nocfi(); fx_gap_b();\n"
	"	puts(\"fx\");\n"
	"	return fx_leaf(argc, 2) == 0;\n"
	"}\n";

/* -O0 keeps the classic frame: push rbp; mov rsp,rbp. */
static const char dbg_src[] =
	"int fx_dbg(int a)\n"
	"{\n"
	"	volatile int x = a * 3;\n"
	"	return x + 1;\n"
	"}\n";

static struct {
	bool built;
	bool own_dir;		/* made by mkdtemp: removed at the end */
	char dir[PATH_MAX / 2];
	char prog[PATH_MAX];	/* main fixture */
	char dbg_so[PATH_MAX];	/* .debug_frame only (no .eh_frame) */
	char mixed[PATH_MAX];	/* crt .eh_frame + own .debug_frame */
	char nocfi_so[PATH_MAX];	/* no CFI at all */
	char libc[PATH_MAX];	/* the libc this test runs with */
} fx;

/* ---- helpers: files and commands ---------------------------------- */

static void tmp_path(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/cfi_%s", fx.dir, name);
}

__attribute__((format(printf, 1, 2)))
static int run(const char *fmt, ...)
{
	char cmd[4 * PATH_MAX];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		print_error("command failed (%d): %s\n", rc, cmd);
	return rc == 0 ? 0 : -1;
}

static FILE *popen_on(const char *tool, const char *path)
{
	char cmd[2 * PATH_MAX];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "LC_ALL=C %s '%s'", tool, path);
	p = popen(cmd, "r");
	assert_non_null(p);
	return p;
}

static void *read_whole(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	FILE *f = fopen(path, "rb");

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static void write_whole(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int write_source(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f) ? -1 : 0;
}

static struct cfi_table *load_path(const char *path, size_t max_rows,
				   struct cfi_table_stats *st)
{
	struct cfi_table *t;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	assert_true(fd >= 0);
	t = cfi_table__from_fd(fd, max_rows, st);
	err = errno;
	close(fd);
	errno = err;
	return t;
}

/* ---- helpers: the independent reader (binutils) -------------------- */

/* The address (and size, if asked) nm gives to a defined symbol. */
static uint64_t nm_sym(const char *path, const char *name, uint64_t *size)
{
	FILE *p = popen_on("nm -S --defined-only", path);
	unsigned long long addr, sz;
	char line[512], sym[256], type;
	uint64_t found = 0;

	while (fgets(line, sizeof(line), p)) {
		if (sscanf(line, "%llx %llx %c %255s", &addr, &sz, &type,
			   sym) == 4 && !strcmp(sym, name)) {
			found = addr;
			if (size)
				*size = sz;
		} else if (sscanf(line, "%llx %c %255s", &addr, &type,
				  sym) == 3 && !strcmp(sym, name)) {
			found = addr;
			if (size)
				*size = 0;
		}
	}
	assert_int_equal(pclose(p), 0);
	assert_true(found != 0);
	return found;
}

/* The sh_size readelf -S gives a section; 0 when there is none. */
static uint64_t section_size(const char *path, const char *name)
{
	FILE *p = popen_on("readelf -SW", path);
	char line[512], sname[128];
	unsigned long long addr, off, size = 0, found = 0;

	while (fgets(line, sizeof(line), p)) {
		char *at = strchr(line, ']');

		if (at && sscanf(at + 1, " %127s %*s %llx %llx %llx", sname,
				 &addr, &off, &size) == 4 &&
		    !strcmp(sname, name))
			found = size;
	}
	assert_int_equal(pclose(p), 0);
	return found;
}

/* A section's header, by name, from the bytes of an ELF64 file. */
static size_t section_hdr(const uint8_t *buf, size_t len, const char *name,
			  Elf64_Shdr *out)
{
	Elf64_Shdr sh, strs;
	Elf64_Ehdr eh;

	assert_true(len >= sizeof(eh));
	memcpy(&eh, buf, sizeof(eh));
	assert_true(eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(sh) <= len);
	assert_true(eh.e_shstrndx < eh.e_shnum);
	memcpy(&strs, buf + eh.e_shoff + eh.e_shstrndx * sizeof(sh),
	       sizeof(sh));
	for (size_t i = 0; i < eh.e_shnum; i++) {
		memcpy(&sh, buf + eh.e_shoff + i * sizeof(sh), sizeof(sh));
		if (strs.sh_offset + sh.sh_name < len &&
		    !strcmp((const char *)buf + strs.sh_offset + sh.sh_name,
			    name)) {
			*out = sh;
			return i;
		}
	}
	fail_msg("no section %s", name);
	return 0;
}

static uint64_t section_addr(const char *path, const char *name)
{
	size_t len;
	uint8_t *buf = read_whole(path, &len);
	Elf64_Shdr sh;

	section_hdr(buf, len, name, &sh);
	free(buf);
	return sh.sh_addr;
}

/* ---- helpers: assertions -------------------------------------------- */

static const struct unwind_rule *find(const struct cfi_table *t, uint64_t pc)
{
	const struct unwind_rule *r = cfi_table__find(t, pc);

	if (!r)
		fail_msg("no rule at %#llx", (unsigned long long)pc);
	return r;
}

static void assert_rule(const struct cfi_table *t, uint64_t pc, int cfa_kind,
			int cfa_off, int fp_kind, int fp_off)
{
	const struct unwind_rule *r = find(t, pc);

	if (r->cfa_kind != cfa_kind || r->cfa_off != cfa_off ||
	    r->fp_kind != fp_kind || r->fp_off != fp_off)
		fail_msg("at %#llx: cfa %u%+d fp %u%+d, want cfa %d%+d fp %d%+d",
			 (unsigned long long)pc, r->cfa_kind, r->cfa_off,
			 r->fp_kind, r->fp_off, cfa_kind, cfa_off, fp_kind,
			 fp_off);
	assert_int_equal(r->ra_kind, UNWIND_REG_SAME);
}

static void assert_kind(const struct cfi_table *t, uint64_t pc, int cfa_kind)
{
	const struct unwind_rule *r = find(t, pc);

	if (r->cfa_kind != cfa_kind)
		fail_msg("at %#llx: cfa kind %u, want %d",
			 (unsigned long long)pc, r->cfa_kind, cfa_kind);
}

/* A row in [lo, hi) has exactly this rule. */
static bool has_row(const struct cfi_table *t, uint64_t lo, uint64_t hi,
		    const struct unwind_rule *want)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (t->rows[i].pc >= lo && t->rows[i].pc < hi &&
		    !memcmp(&t->rules[t->rows[i].rule], want, sizeof(*want)))
			return true;
	return false;
}

static size_t count_kind(const struct cfi_table *t, int cfa_kind)
{
	size_t n = 0;

	for (size_t i = 0; i < t->nrows; i++)
		n += t->rules[t->rows[i].rule].cfa_kind == cfa_kind;
	return n;
}

/*
 * What every table must be: rows strictly sorted, no two adjacent rows
 * with one rule (merged), rules distinct and in range, a NONE row last,
 * and stats that agree.
 */
static void assert_well_formed(const struct cfi_table *t,
			       const struct cfi_table_stats *st)
{
	size_t unknown = 0;

	assert_true(t->nrows >= 2);
	assert_true(t->nrules >= 2);
	assert_true(t->nrules <= UNWIND_MAX_RULES);
	for (size_t i = 0; i < t->nrows; i++) {
		assert_true(t->rows[i].rule < t->nrules);
		if (i) {
			assert_true(t->rows[i - 1].pc < t->rows[i].pc);
			assert_true(t->rows[i - 1].rule != t->rows[i].rule);
		}
		unknown += t->rules[t->rows[i].rule].cfa_kind ==
			   UNWIND_CFA_UNKNOWN;
	}
	for (size_t i = 0; i < t->nrules; i++) {
		assert_int_equal(t->rules[i].pad, 0);
		for (size_t j = i + 1; j < t->nrules; j++)
			assert_memory_not_equal(&t->rules[i], &t->rules[j],
						sizeof(t->rules[i]));
	}
	assert_int_equal(t->rules[t->rows[t->nrows - 1].rule].cfa_kind,
			 UNWIND_CFA_NONE);
	assert_int_equal(st->rows, t->nrows);
	assert_int_equal(st->rules, t->nrules);
	assert_int_equal(st->rows_unknown, unknown);
	assert_int_equal(st->source, t->source);
	assert_true(st->fdes >= 1);
	assert_true(st->rows >= st->fdes);
}

/* ---- fixtures --------------------------------------------------------- */

static int setup_dirs(void)
{
	const char *env = getenv("SYSSCOPE_TEST_TMP");

	if (env && *env) {
		snprintf(fx.dir, sizeof(fx.dir), "%s", env);
		if (mkdir(fx.dir, 0700) && errno != EEXIST)
			return -1;
	} else {
		strcpy(fx.dir, "/tmp/sysscope-cfi-XXXXXX");
		if (!mkdtemp(fx.dir))
			return -1;
		fx.own_dir = true;
	}
	tmp_path(fx.prog, "prog");
	tmp_path(fx.dbg_so, "dbg.so");
	tmp_path(fx.mixed, "mixed");
	tmp_path(fx.nocfi_so, "nocfi.so");
	return 0;
}

typedef int sigaction_fn(int, const struct sigaction *, struct sigaction *);

/*
 * libc's own sigaction(): under ASan, the sigaction() we link to is the
 * sanitizer's, which installs a restorer of its own.
 */
static sigaction_fn *libc_sigaction(struct link_map **lm)
{
	void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
	void *sym = h ? dlsym(h, "sigaction") : NULL;
	Dl_info info;

	if (h)
		dlclose(h);	/* NOLOAD: only drops the reference we took */
	if (!sym || !dladdr1(sym, &info, (void **)lm, RTLD_DL_LINKMAP) ||
	    !info.dli_fname)
		return NULL;
	snprintf(fx.libc, sizeof(fx.libc), "%s", info.dli_fname);
	return (sigaction_fn *)sym;
}

/*
 * The libc this process runs: where its signal trampoline lives is only
 * known at run time (Debian's libc has no .symtab to name __restore_rt).
 */
static int find_libc(void)
{
	struct link_map *lm = NULL;

	return libc_sigaction(&lm) ? 0 : -1;
}

static int build_fixtures(void **state)
{
	char prog_c[PATH_MAX], dbg_c[PATH_MAX];

	(void)state;
	if (fx.built)
		return 0;
	if (setup_dirs() || find_libc())
		return -1;
	tmp_path(prog_c, "prog.c");
	tmp_path(dbg_c, "dbg.c");
	if (write_source(prog_c, prog_src) || write_source(dbg_c, dbg_src))
		return -1;
	if (run("cc -O2 -fomit-frame-pointer -fasynchronous-unwind-tables "
		"-fcf-protection=none -Wl,-z,lazy '%s' -o '%s'",
		prog_c, fx.prog) ||
	    /* No start files: nothing brings an .eh_frame in. */
	    run("cc -O0 -g -shared -fPIC -nostdlib "
		"-fno-asynchronous-unwind-tables -fno-unwind-tables '%s' "
		"-o '%s'", dbg_c, fx.dbg_so) ||
	    run("cc -O0 -g -fno-asynchronous-unwind-tables "
		"-fno-unwind-tables -Wl,--defsym=main=fx_dbg '%s' -o '%s'",
		dbg_c, fx.mixed) ||
	    run("cc -O0 -shared -fPIC -nostdlib "
		"-fno-asynchronous-unwind-tables -fno-unwind-tables '%s' "
		"-o '%s'", dbg_c, fx.nocfi_so))
		return -1;
	fx.built = true;
	return 0;
}

static void remove_fixtures(void)
{
	if (fx.own_dir)
		run("rm -rf '%s'", fx.dir);
}

/* ---- well-formed files ------------------------------------------------ */

static void test_prog_well_formed(void **state)
{
	struct cfi_table_stats st;
	struct cfi_table *t = load_path(fx.prog, 0, &st);

	(void)state;
	assert_non_null(t);
	assert_well_formed(t, &st);
	assert_int_equal(t->source, CFI_SOURCE_EH_FRAME);
	assert_null(cfi_table__find(t, 0));
	assert_null(cfi_table__find(t, t->rows[0].pc - 1));
	assert_non_null(cfi_table__find(t, t->rows[0].pc));
	cfi_table__free(t);
}

static void test_libc_well_formed(void **state)
{
	struct cfi_table_stats st;
	struct cfi_table *t = load_path(fx.libc, 0, &st);

	(void)state;
	assert_non_null(t);
	assert_well_formed(t, &st);
	/* Debian's libc: ~3.7k FDEs, ~28k rows, ~300 rules. */
	assert_true(st.fdes > 1000);
	assert_true(st.rows > st.fdes && st.rows < 1000000);
	assert_true(st.rules < 5000);
	/* longjmp/setcontext switch stacks: a few rules nobody can walk. */
	assert_true(st.rows_unknown < st.rows / 100);
	cfi_table__free(t);
}

/* -O2 leaf: no push, no stack: one row, CFA = rsp + 8 to its end. */
static void test_leaf(void **state)
{
	uint64_t size, addr = nm_sym(fx.prog, "fx_leaf", &size);
	struct cfi_table *t = load_path(fx.prog, 0, NULL);

	(void)state;
	assert_non_null(t);
	assert_true(size > 0);
	for (uint64_t pc = addr; pc < addr + size; pc++)
		assert_rule(t, pc, UNWIND_CFA_SP, 8, UNWIND_REG_SAME, 0);
	cfi_table__free(t);
}

/* alloca: gcc must keep an rbp frame: def_cfa rbp 16, rbp at CFA-16. */
static void test_alloca_rbp_frame(void **state)
{
	uint64_t size, addr = nm_sym(fx.prog, "fx_alloca", &size);
	struct cfi_table *t = load_path(fx.prog, 0, NULL);
	const struct unwind_rule fp = {
		.cfa_kind = UNWIND_CFA_FP, .cfa_off = 16,
		.fp_kind = UNWIND_REG_CFA, .fp_off = -16,
		.ra_kind = UNWIND_REG_SAME,
	};
	const struct unwind_rule pushed = {
		.cfa_kind = UNWIND_CFA_SP, .cfa_off = 16,
		.fp_kind = UNWIND_REG_CFA, .fp_off = -16,
		.ra_kind = UNWIND_REG_SAME,
	};

	(void)state;
	assert_non_null(t);
	assert_rule(t, addr, UNWIND_CFA_SP, 8, UNWIND_REG_SAME, 0);
	assert_true(has_row(t, addr, addr + size, &pushed));	/* push %rbp */
	assert_true(has_row(t, addr, addr + size, &fp));	/* mov %rsp,%rbp */
	cfi_table__free(t);
}

/* An FDE with no instructions: the CIE's rsp + 8, rbp same value. */
static void test_fde_without_instructions(void **state)
{
	uint64_t size, addr = nm_sym(fx.prog, "fx_bare", &size);
	struct cfi_table *t = load_path(fx.prog, 0, NULL);

	(void)state;
	assert_non_null(t);
	assert_int_equal(size, 3);
	for (uint64_t pc = addr; pc < addr + size; pc++)
		assert_rule(t, pc, UNWIND_CFA_SP, 8, UNWIND_REG_SAME, 0);
	cfi_table__free(t);
}

/* Code no FDE covers is NONE, not the previous function's rule. */
static void test_gap_is_none(void **state)
{
	uint64_t a_size, a = nm_sym(fx.prog, "fx_gap_a", &a_size);
	uint64_t gap = nm_sym(fx.prog, "fx_nocfi", NULL);
	uint64_t b = nm_sym(fx.prog, "fx_gap_b", NULL);
	struct cfi_table *t = load_path(fx.prog, 0, NULL);

	(void)state;
	assert_non_null(t);
	assert_true(a + a_size <= gap && gap + 16 <= b);
	assert_rule(t, a, UNWIND_CFA_SP, 8, UNWIND_REG_SAME, 0);
	assert_kind(t, a + a_size, UNWIND_CFA_NONE);
	for (uint64_t pc = gap; pc < gap + 16; pc++)
		assert_kind(t, pc, UNWIND_CFA_NONE);
	assert_rule(t, b, UNWIND_CFA_SP, 8, UNWIND_REG_SAME, 0);
	/* After the last FDE. */
	assert_kind(t, UINT64_MAX, UNWIND_CFA_NONE);
	cfi_table__free(t);
}

/*
 * Lazy binding: PLT0 pushes twice (rsp+16, then rsp+24), and the entries
 * after it share ld's expression rsp + 8 + ((rip & 15) >= 11) * 8.
 */
static void test_plt(void **state)
{
	uint64_t plt = section_addr(fx.prog, ".plt");
	struct cfi_table *t = load_path(fx.prog, 0, NULL);
	const struct unwind_rule *r;

	(void)state;
	assert_non_null(t);
	assert_rule(t, plt, UNWIND_CFA_SP, 16, UNWIND_REG_SAME, 0);
	assert_rule(t, plt + 6, UNWIND_CFA_SP, 24, UNWIND_REG_SAME, 0);
	r = find(t, plt + 16 + 3);
	assert_int_equal(r->cfa_kind, UNWIND_CFA_PLT);
	assert_true(r->cfa_off == 11 || r->cfa_off == 10);
	cfi_table__free(t);
}

/* glibc's _start says DW_CFA_undefined rip: the walk ends there. */
static void test_start_is_stop(void **state)
{
	uint64_t start = nm_sym(fx.prog, "_start", NULL);
	struct cfi_table *t = load_path(fx.prog, 0, NULL);

	(void)state;
	assert_non_null(t);
	assert_kind(t, start, UNWIND_CFA_STOP);
	assert_kind(t, start + 1, UNWIND_CFA_STOP);
	cfi_table__free(t);
}

/*
 * glibc's sigaction() installs __restore_rt as sa_restorer and reports it
 * back: its FDE is marked 'S' (signal frame). Also clone's child has the
 * return address undefined: libc has STOP rows.
 */
static void test_libc_signal_and_stop(void **state)
{
	struct sigaction sa = { .sa_handler = SIG_IGN }, prev, cur;
	struct link_map *lm = NULL;
	sigaction_fn *sigact = libc_sigaction(&lm);
	struct cfi_table *t;
	uintptr_t restorer;

	(void)state;
	assert_non_null(sigact);
	assert_int_equal(sigact(SIGUSR2, &sa, &prev), 0);
	assert_int_equal(sigact(SIGUSR2, &prev, &cur), 0);
	restorer = (uintptr_t)cur.sa_restorer;
	assert_true(restorer > lm->l_addr);
	t = load_path(fx.libc, 0, NULL);
	assert_non_null(t);
	assert_kind(t, restorer - lm->l_addr, UNWIND_CFA_SIGNAL);
	assert_true(count_kind(t, UNWIND_CFA_SIGNAL) >= 1);
	assert_true(count_kind(t, UNWIND_CFA_STOP) >= 1);
	assert_true(count_kind(t, UNWIND_CFA_PLT) >= 1);
	cfi_table__free(t);
}

/*
 * No start files and no unwind tables: readelf -S shows .debug_frame and
 * an empty .eh_frame (ld still makes the section). At -O0: push %rbp (CFA rsp+16, rbp at CFA-16), then
 * mov %rsp,%rbp (CFA rbp+16).
 */
static void test_debug_frame_only(void **state)
{
	uint64_t size, addr = nm_sym(fx.dbg_so, "fx_dbg", &size);
	struct cfi_table_stats st;
	struct cfi_table *t;
	const struct unwind_rule fp = {
		.cfa_kind = UNWIND_CFA_FP, .cfa_off = 16,
		.fp_kind = UNWIND_REG_CFA, .fp_off = -16,
		.ra_kind = UNWIND_REG_SAME,
	};

	(void)state;
	assert_int_equal(section_size(fx.dbg_so, ".eh_frame"), 0);
	assert_true(section_size(fx.dbg_so, ".debug_frame") > 0);
	t = load_path(fx.dbg_so, 0, &st);
	assert_non_null(t);
	assert_well_formed(t, &st);
	assert_int_equal(t->source, CFI_SOURCE_DEBUG_FRAME);
	assert_rule(t, addr, UNWIND_CFA_SP, 8, UNWIND_REG_SAME, 0);
	assert_rule(t, addr + 1, UNWIND_CFA_SP, 16, UNWIND_REG_CFA, -16);
	assert_true(has_row(t, addr, addr + size, &fp));
	cfi_table__free(t);
}

/*
 * Built without unwind tables but linked with the start files: .eh_frame
 * covers _start only, .debug_frame the program's own function.
 */
static void test_debug_frame_fills_gaps(void **state)
{
	uint64_t addr = nm_sym(fx.mixed, "fx_dbg", NULL);
	uint64_t start = nm_sym(fx.mixed, "_start", NULL);
	struct cfi_table_stats st;
	struct cfi_table *t;

	(void)state;
	assert_true(section_size(fx.mixed, ".eh_frame") > 0);
	assert_true(section_size(fx.mixed, ".debug_frame") > 0);
	t = load_path(fx.mixed, 0, &st);
	assert_non_null(t);
	assert_well_formed(t, &st);
	assert_int_equal(t->source,
			 CFI_SOURCE_EH_FRAME | CFI_SOURCE_DEBUG_FRAME);
	assert_kind(t, start, UNWIND_CFA_STOP);
	assert_rule(t, addr + 1, UNWIND_CFA_SP, 16, UNWIND_REG_CFA, -16);
	cfi_table__free(t);
}

/* ---- the packed form ---------------------------------------------------- */

/* An injective, non-identity map: proves the global indexes are used. */
static uint16_t *make_rule_map(const struct cfi_table *t)
{
	uint16_t *map = calloc(t->nrules, sizeof(*map));

	assert_non_null(map);
	for (size_t i = 0; i < t->nrules; i++)
		map[i] = (uint16_t)(i * 7 + 3);
	return map;
}

/* The packed lookup answers what the table does; NONE may be absent. */
static void assert_packed_agrees(const struct cfi_table *t,
				 const struct cfi_packed *p,
				 const uint16_t *map, uint64_t pc)
{
	const struct unwind_rule *r = cfi_table__find(t, pc);
	bool found = true;
	uint32_t g = cfi_packed__find(p, pc, &found);

	if (!r || r->cfa_kind == UNWIND_CFA_NONE) {
		if (found && (!r || g != map[r - t->rules]))
			fail_msg("pc %#llx: packed rule %u, table %s",
				 (unsigned long long)pc, g,
				 r ? "NONE" : "nothing");
		return;
	}
	if (!found || g != map[r - t->rules])
		fail_msg("pc %#llx: packed %s %u, table %u",
			 (unsigned long long)pc, found ? "rule" : "nothing",
			 g, map[r - t->rules]);
}

/*
 * Page invariants: the index is monotonic and ends at nrows; rows of a
 * page strictly increase; a page whose first row is not at its first
 * byte is not governed there (before the table, or a gap).
 */
static void assert_pages(const struct cfi_table *t, const struct cfi_packed *p)
{
	assert_int_equal(p->page_index[p->npages], p->nrows);
	assert_true(p->nrows >= t->nrows);
	assert_int_equal(p->first_page, t->rows[0].pc >> UNWIND_PAGE_SHIFT);
	for (uint32_t pg = 0; pg < p->npages; pg++) {
		uint32_t lo = p->page_index[pg], hi = p->page_index[pg + 1];
		uint64_t base = (p->first_page + pg) << UNWIND_PAGE_SHIFT;
		const struct unwind_rule *r = cfi_table__find(t, base);

		assert_true(lo <= hi);
		assert_true(hi - lo <= 65536);
		for (uint32_t i = lo + 1; i < hi; i++)
			assert_true(UNWIND_ROW_PC(p->rows[i - 1]) <
				    UNWIND_ROW_PC(p->rows[i]));
		if (lo == hi || UNWIND_ROW_PC(p->rows[lo]) != 0)
			assert_true(!r || r->cfa_kind == UNWIND_CFA_NONE);
	}
}

static void check_packed(const char *path)
{
	struct cfi_table *t = load_path(path, 0, NULL);
	struct cfi_packed p;
	uint64_t lo, hi;
	uint16_t *map;

	assert_non_null(t);
	map = make_rule_map(t);
	assert_int_equal(cfi_packed__from_table(t, map, &p), 0);
	assert_pages(t, &p);
	for (size_t i = 0; i < t->nrows; i++) {
		assert_packed_agrees(t, &p, map, t->rows[i].pc);
		assert_packed_agrees(t, &p, map, t->rows[i].pc - 1);
		assert_packed_agrees(t, &p, map, t->rows[i].pc + 1);
	}
	for (uint32_t pg = 0; pg <= p.npages; pg++) {
		uint64_t base = (p.first_page + pg) << UNWIND_PAGE_SHIFT;

		assert_packed_agrees(t, &p, map, base);
		assert_packed_agrees(t, &p, map, base - 1);
	}
	lo = t->rows[0].pc - 0x20000;
	hi = t->rows[t->nrows - 1].pc + 0x20000;
	srandom(42);
	for (int i = 0; i < 200000; i++)
		assert_packed_agrees(t, &p, map,
				     lo + (uint64_t)random() % (hi - lo));
	cfi_packed__free(&p);
	assert_null(p.rows);
	free(map);
	cfi_table__free(t);
}

static void test_packed_prog(void **state)
{
	(void)state;
	check_packed(fx.prog);
}

/* libc spans ~20 pages of 64 KiB: many boundaries to cross. */
static void test_packed_libc(void **state)
{
	(void)state;
	check_packed(fx.libc);
}

/*
 * A hand-made table with a row at every byte of one page (65536 rows,
 * the most a page can hold) then rows in the next pages: the bounded
 * search of 17 steps must still find each one.
 */
static void test_packed_full_page(void **state)
{
	struct unwind_rule rules[3] = {
		{ .cfa_kind = UNWIND_CFA_SP, .cfa_off = 8 },
		{ .cfa_kind = UNWIND_CFA_SP, .cfa_off = 16 },
		{ .cfa_kind = UNWIND_CFA_NONE },
	};
	const uint64_t base = 0x7f0000ull << UNWIND_PAGE_SHIFT;
	const uint16_t map[3] = { 100, 200, 300 };
	struct cfi_table t = { .rules = rules, .nrules = 3 };
	struct cfi_packed p;
	size_t n = 65536 + 3;

	(void)state;
	t.rows = calloc(n, sizeof(*t.rows));
	assert_non_null(t.rows);
	for (size_t i = 0; i < 65536; i++)
		t.rows[i] = (struct cfi_row){ base + i, (uint16_t)(i & 1) };
	/* Governs all of the next page and half of the one after. */
	t.rows[65536] = (struct cfi_row){ base + 0x10000 + 0x10000 + 0x8000, 2 };
	t.rows[65537] = (struct cfi_row){ base + 0x30000 + 0x10, 0 };
	t.rows[65538] = (struct cfi_row){ base + 0x30000 + 0x20, 2 };
	t.nrows = n;
	assert_int_equal(cfi_packed__from_table(&t, map, &p), 0);
	assert_int_equal(p.npages, 4);
	/* One copy at the start of page 1 and of page 2, none at page 3. */
	assert_int_equal(p.nrows, n + 2);
	assert_int_equal(p.page_index[1] - p.page_index[0], 65536);
	assert_pages(&t, &p);
	for (uint64_t pc = base - 1; pc < base + 0x40010; pc++)
		assert_packed_agrees(&t, &p, map, pc);
	cfi_packed__free(&p);
	free(t.rows);
}

static void test_pack_errors(void **state)
{
	struct cfi_table empty = { 0 };
	struct cfi_row rows[2] = { { 0x1000, 0 }, { 1ull << 40, 0 } };
	struct unwind_rule rule = { 0 };
	struct cfi_table wide = { .rules = &rule, .nrules = 1, .rows = rows,
				  .nrows = 2 };
	const uint16_t map[1] = { 0 };
	struct cfi_packed p;
	bool found = true;

	(void)state;
	assert_int_equal(cfi_packed__from_table(NULL, map, &p), -EINVAL);
	assert_int_equal(cfi_packed__from_table(&wide, NULL, &p), -EINVAL);
	assert_int_equal(cfi_packed__from_table(&wide, map, NULL), -EINVAL);
	assert_int_equal(cfi_packed__from_table(&empty, map, &p), -ENOENT);
	assert_int_equal(cfi_packed__from_table(&wide, map, &p), -E2BIG);
	assert_null(p.rows);
	assert_int_equal(cfi_packed__find(&p, 0x1000, &found), 0);
	assert_false(found);
	cfi_packed__free(NULL);
	cfi_packed__free(&p);
}

/* ---- hostile files ---------------------------------------------------- */

static void assert_load_fails(const char *path, size_t max_rows, int want1,
			      int want2)
{
	struct cfi_table *t;

	errno = 0;
	t = load_path(path, max_rows, NULL);
	cfi_table__free(t);
	assert_null(t);
	if (errno != want1 && errno != want2)
		fail_msg("errno %d (%s), want %d or %d", errno,
			 strerror(errno), want1, want2);
}

static void test_not_elf(void **state)
{
	static const char text[] = "#!/bin/sh\necho not an ELF file\n";
	char path[PATH_MAX];

	(void)state;
	tmp_path(path, "text");
	write_whole(path, text, sizeof(text) - 1);
	assert_load_fails(path, 0, ENOEXEC, EINVAL);
	tmp_path(path, "empty");
	write_whole(path, "", 0);
	assert_load_fails(path, 0, ENOEXEC, EINVAL);
}

static void test_truncated(void **state)
{
	static const size_t cuts[] = { 16, 100, 0 };
	char path[PATH_MAX];
	size_t full;
	uint8_t *buf = read_whole(fx.prog, &full);

	(void)state;
	tmp_path(path, "truncated");
	for (size_t i = 0; i < sizeof(cuts) / sizeof(*cuts); i++) {
		write_whole(path, buf, cuts[i] ? cuts[i] : full / 2);
		assert_load_fails(path, 0, EINVAL, ENOEXEC);
	}
	free(buf);
}

static void test_no_cfi(void **state)
{
	(void)state;
	assert_int_equal(section_size(fx.nocfi_so, ".eh_frame"), 0);
	assert_int_equal(section_size(fx.nocfi_so, ".debug_frame"), 0);
	assert_load_fails(fx.nocfi_so, 0, ENOENT, ENOENT);
}

/* The prog with its .eh_frame contents replaced by fill(i). */
static void write_patched_eh(const char *path, int fill)
{
	size_t len;
	uint8_t *buf = read_whole(fx.prog, &len);
	Elf64_Shdr sh;

	section_hdr(buf, len, ".eh_frame", &sh);
	assert_true(sh.sh_offset + sh.sh_size <= len);
	for (size_t i = 0; i < sh.sh_size; i++)
		buf[sh.sh_offset + i] =
			fill >= 0 ? (uint8_t)fill : (uint8_t)random();
	write_whole(path, buf, len);
	free(buf);
}

static void test_garbage_eh_frame(void **state)
{
	char path[PATH_MAX];

	(void)state;
	tmp_path(path, "garbage");
	/* A length of 0xffffffff: 64-bit DWARF, then a huge length. */
	write_patched_eh(path, 0xff);
	assert_load_fails(path, 0, EINVAL, EINVAL);
	/* A CIE pointer of 0x7f7f7f7f, far before the section. */
	write_patched_eh(path, 0x7f);
	assert_load_fails(path, 0, EINVAL, EINVAL);
	srandom(7);
	write_patched_eh(path, -1);
	assert_load_fails(path, 0, EINVAL, EINVAL);
}

static void test_eh_frame_size_1gib(void **state)
{
	char path[PATH_MAX];
	size_t len, idx;
	uint8_t *buf = read_whole(fx.prog, &len);
	Elf64_Shdr sh;
	Elf64_Ehdr eh;

	(void)state;
	idx = section_hdr(buf, len, ".eh_frame", &sh);
	memcpy(&eh, buf, sizeof(eh));
	sh.sh_size = 1ull << 30;
	memcpy(buf + eh.e_shoff + idx * sizeof(sh), &sh, sizeof(sh));
	tmp_path(path, "eh1g");
	write_whole(path, buf, len);
	free(buf);
	assert_load_fails(path, 0, EINVAL, EFBIG);
}

static void test_other_machine(void **state)
{
	char path[PATH_MAX];
	size_t len;
	uint8_t *buf = read_whole(fx.prog, &len);
	Elf64_Ehdr eh;

	(void)state;
	memcpy(&eh, buf, sizeof(eh));
	eh.e_machine = EM_AARCH64;
	memcpy(buf, &eh, sizeof(eh));
	tmp_path(path, "aarch64");
	write_whole(path, buf, len);
	free(buf);
	assert_load_fails(path, 0, ENOTSUP, ENOTSUP);
}

static void test_row_limit(void **state)
{
	(void)state;
	assert_load_fails(fx.libc, 100, E2BIG, E2BIG);
}

/*
 * Random bytes flipped in .eh_frame and .eh_frame_hdr (which libdw uses
 * to find FDEs): any outcome but a crash, a hang or a malformed table.
 */
static void test_fuzz_cfi_bytes(void **state)
{
	char path[PATH_MAX];
	size_t len;
	uint8_t *orig = read_whole(fx.prog, &len), *buf = malloc(len);
	struct cfi_table_stats st;
	Elf64_Shdr eh, hdr;

	(void)state;
	assert_non_null(buf);
	section_hdr(orig, len, ".eh_frame", &eh);
	section_hdr(orig, len, ".eh_frame_hdr", &hdr);
	tmp_path(path, "fuzz");
	srandom(1234);
	for (int iter = 0; iter < 300; iter++) {
		struct cfi_table *t;

		memcpy(buf, orig, len);
		for (int k = 0; k < 1 + iter % 8; k++) {
			const Elf64_Shdr *s = random() % 4 ? &eh : &hdr;

			buf[s->sh_offset + (size_t)random() % s->sh_size] =
				(uint8_t)random();
		}
		write_whole(path, buf, len);
		errno = 0;
		t = load_path(path, 0, &st);
		if (t) {
			for (size_t i = 1; i < t->nrows; i++)
				assert_true(t->rows[i - 1].pc < t->rows[i].pc);
			assert_int_equal(st.rows, t->nrows);
		} else {
			assert_true(errno == EINVAL || errno == ENOENT ||
				    errno == E2BIG);
		}
		cfi_table__free(t);
	}
	free(buf);
	free(orig);
}

static void test_bad_fds(void **state)
{
	int fd;

	(void)state;
	errno = 0;
	assert_null(cfi_table__from_fd(-1, 0, NULL));
	assert_int_equal(errno, EBADF);
	fd = open(fx.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	errno = 0;
	assert_null(cfi_table__from_fd(fd, 0, NULL));
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void test_null_accessors(void **state)
{
	bool found = true;

	(void)state;
	cfi_table__free(NULL);
	assert_null(cfi_table__find(NULL, 0x1000));
	assert_int_equal(cfi_packed__find(NULL, 0x1000, &found), 0);
	assert_false(found);
}

int main(void)
{
	const struct CMUnitTest wellformed[] = {
		cmocka_unit_test(test_prog_well_formed),
		cmocka_unit_test(test_libc_well_formed),
		cmocka_unit_test(test_leaf),
		cmocka_unit_test(test_alloca_rbp_frame),
		cmocka_unit_test(test_fde_without_instructions),
		cmocka_unit_test(test_gap_is_none),
		cmocka_unit_test(test_plt),
		cmocka_unit_test(test_start_is_stop),
		cmocka_unit_test(test_libc_signal_and_stop),
		cmocka_unit_test(test_debug_frame_only),
		cmocka_unit_test(test_debug_frame_fills_gaps),
	};
	const struct CMUnitTest packed[] = {
		cmocka_unit_test(test_packed_prog),
		cmocka_unit_test(test_packed_libc),
		cmocka_unit_test(test_packed_full_page),
		cmocka_unit_test(test_pack_errors),
	};
	const struct CMUnitTest hostile[] = {
		cmocka_unit_test(test_not_elf),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_no_cfi),
		cmocka_unit_test(test_garbage_eh_frame),
		cmocka_unit_test(test_eh_frame_size_1gib),
		cmocka_unit_test(test_other_machine),
		cmocka_unit_test(test_row_limit),
		cmocka_unit_test(test_fuzz_cfi_bytes),
		cmocka_unit_test(test_bad_fds),
		cmocka_unit_test(test_null_accessors),
	};
	int failed;

	failed = cmocka_run_group_tests_name("cfi_table", wellformed,
					     build_fixtures, NULL);
	failed += cmocka_run_group_tests_name("cfi_table_packed", packed,
					      build_fixtures, NULL);
	failed += cmocka_run_group_tests_name("cfi_table_hostile", hostile,
					      build_fixtures, NULL);
	remove_fixtures();
	return failed ? 1 : 0;
}
