// SPDX-License-Identifier: MIT
/*
 * Unit tests of the walker's per-frame logic (bpf/unwind_step.h, the code
 * the BPF program runs) over saved stacks, without root or BPF.
 *
 * A fixture built -O2 -fomit-frame-pointer saves, at one point, its pc,
 * rsp and rbp, the top of its stack and its /proc/self/maps, and then asks
 * glibc's backtrace() (libgcc's CFI unwinder) for the same chain: the
 * oracle. The test builds each mapped file's table (cfi_table.h), finds
 * each frame's mapping and bias as the unwinder does (elf_loads__bias),
 * and walks the saved stack with unwind_cfi_step().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include "cfi_table.h"
#include "procmaps.h"
#include "unwinder.h"

/* The saved stack the step functions read (see unwind_read). */
static const uint8_t *snap_stack;
static uint64_t snap_sp, snap_len;

static bool unwind_read(__u64 *dst, __u64 addr)
{
	if (addr < snap_sp || addr - snap_sp > snap_len ||
	    snap_len - (addr - snap_sp) < sizeof(*dst))
		return false;
	memcpy(dst, snap_stack + (addr - snap_sp), sizeof(*dst));
	return true;
}

#include "unwind_step.h"

/*
 * Modes: chain (main -> outer -> mid -> snap), alloca (an rbp-based CFA
 * on the way), signal (snap in a SIGUSR1 handler: through __restore_rt to
 * the interrupted kill()), recurse (20 deep).
 */
static const char fixture_src[] =
	"#include <alloca.h>\n"
	"#include <execinfo.h>\n"
	"#include <signal.h>\n"
	"#include <stdio.h>\n"
	"#include <stdlib.h>\n"
	"#include <string.h>\n"
	"#include <unistd.h>\n"
	"static unsigned long long regs[3];\n"
	"static unsigned char copy[16384];\n"
	"static unsigned long long len;\n"
	"static void *bt[128];\n"
	"static int nbt;\n"
	"static const char *out;\n"
	"volatile int sink;\n"
	"static unsigned long long stack_end(unsigned long long sp)\n"
	"{\n"
	"	char line[512]; unsigned long long lo, hi, end = 0;\n"
	"	FILE *f = fopen(\"/proc/self/maps\", \"r\");\n"
	"	while (f && fgets(line, sizeof(line), f))\n"
	"		if (sscanf(line, \"%llx-%llx\", &lo, &hi) == 2 && sp >= lo && sp < hi)\n"
	"			end = hi;\n"
	"	if (f) fclose(f);\n"
	"	return end;\n"
	"}\n"
	"static void save(void)\n"
	"{\n"
	"	char path[4096], line[4096]; FILE *f, *m;\n"
	"	snprintf(path, sizeof(path), \"%s.snap\", out);\n"
	"	f = fopen(path, \"w\");\n"
	"	fwrite(regs, sizeof(regs), 1, f);\n"
	"	fwrite(&len, sizeof(len), 1, f);\n"
	"	fwrite(copy, 1, len, f);\n"
	"	fwrite(&nbt, sizeof(nbt), 1, f);\n"
	"	fwrite(bt, sizeof(bt[0]), nbt, f);\n"
	"	fclose(f);\n"
	"	snprintf(path, sizeof(path), \"%s.maps\", out);\n"
	"	f = fopen(path, \"w\"); m = fopen(\"/proc/self/maps\", \"r\");\n"
	"	while (fgets(line, sizeof(line), m)) fputs(line, f);\n"
	"	fclose(m); fclose(f);\n"
	"}\n"
	"__attribute__((noinline)) void snap(void)\n"
	"{\n"
	"	unsigned long long end;\n"
	"	__asm__ volatile(\"lea 0(%%rip), %0\\n\\tmov %%rsp, %1\\n\\tmov %%rbp, %2\"\n"
	"		: \"=r\"(regs[0]), \"=r\"(regs[1]), \"=r\"(regs[2]));\n"
	"	end = stack_end(regs[1]);\n"
	"	len = end - regs[1] < sizeof(copy) ? end - regs[1] : sizeof(copy);\n"
	"	memcpy(copy, (void *)regs[1], len);\n"
	"	nbt = backtrace(bt, 128);\n"
	"}\n"
	"__attribute__((noinline)) void mid(int n) { snap(); sink = n; }\n"
	"__attribute__((noinline)) void outer(int n) { mid(n + 1); sink = n; }\n"
	"__attribute__((noinline)) void with_alloca(int n)\n"
	"{ char *p = alloca(n); memset(p, 1, n); snap(); sink = p[n / 2]; }\n"
	"__attribute__((noinline)) void recurse(int n)\n"
	"{ if (n) recurse(n - 1); else snap(); sink = n; }\n"
	"static void on_usr1(int sig) { (void)sig; snap(); }\n"
	"__attribute__((noinline)) void raise_it(void) { kill(getpid(), SIGUSR1); sink = 1; }\n"
	"int main(int argc, char **argv)\n"
	"{\n"
	"	if (argc < 3) return 2;\n"
	"	out = argv[2];\n"
	"	if (!strcmp(argv[1], \"chain\")) outer(argc);\n"
	"	else if (!strcmp(argv[1], \"alloca\")) with_alloca(argc * 100);\n"
	"	else if (!strcmp(argv[1], \"recurse\")) recurse(20);\n"
	"	else if (!strcmp(argv[1], \"signal\")) {\n"
	"		signal(SIGUSR1, on_usr1); raise_it();\n"
	"	} else return 2;\n"
	"	save();\n"
	"	return 0;\n"
	"}\n";

static char tmpdir[PATH_MAX / 4];

struct snapshot {
	uint64_t regs[3];		/* pc, sp, rbp */
	uint8_t *stack;
	uint64_t len;
	uint64_t bt[128];
	int nbt;
	char *maps;
};

/* A mapped file with its table. */
struct module {
	uint64_t start, end, bias;
	struct cfi_table *table;
};

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0, r;

	assert_non_null(f);
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 65536;
			buf = realloc(buf, cap + 1);
			assert_non_null(buf);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r);
	fclose(f);
	buf[n] = '\0';
	*len = n;
	return buf;
}

static void run_fixture(const char *cc, const char *mode, struct snapshot *s)
{
	char cmd[PATH_MAX * 4], src[PATH_MAX / 2], bin[PATH_MAX / 2];
	char out[PATH_MAX / 2], path[PATH_MAX];
	size_t len, off = 0;
	char *raw;
	FILE *f;

	snprintf(src, sizeof(src), "%s/step_fixture.c", tmpdir);
	snprintf(bin, sizeof(bin), "%s/step_fixture_%s", tmpdir, cc);
	snprintf(out, sizeof(out), "%s/step_%s_%s", tmpdir, cc, mode);
	f = fopen(src, "w");
	assert_non_null(f);
	fputs(fixture_src, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "%s -O2 -g -fomit-frame-pointer -fasynchronous-unwind-tables "
		 "-o %s %s && %s %s %s", cc, bin, src, bin, mode, out);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s.snap", out);
	raw = slurp(path, &len);
	assert_true(len > sizeof(s->regs) + sizeof(s->len));
	memcpy(s->regs, raw, sizeof(s->regs));
	off += sizeof(s->regs);
	memcpy(&s->len, raw + off, sizeof(s->len));
	off += sizeof(s->len);
	assert_true(s->len > 0 && s->len <= 16384 && off + s->len < len);
	s->stack = malloc(s->len);
	assert_non_null(s->stack);
	memcpy(s->stack, raw + off, s->len);
	off += s->len;
	memcpy(&s->nbt, raw + off, sizeof(s->nbt));
	off += sizeof(s->nbt);
	assert_true(s->nbt > 2 && s->nbt <= 128);
	assert_true(off + s->nbt * sizeof(uint64_t) <= len);
	memcpy(s->bt, raw + off, s->nbt * sizeof(uint64_t));
	free(raw);
	snprintf(path, sizeof(path), "%s.maps", out);
	s->maps = slurp(path, &len);
}

/* Tables for every executable file mapping of the snapshot. */
static size_t load_modules(const struct snapshot *s, struct module *mods,
			   size_t max)
{
	char *maps = strdup(s->maps), *line, *save = NULL;
	size_t n = 0;

	assert_non_null(maps);
	for (line = strtok_r(maps, "\n", &save); line && n < max;
	     line = strtok_r(NULL, "\n", &save)) {
		struct elf_loads loads;
		struct procmap m;
		int fd;

		if (procmap__parse(line, &m) || !m.exec || m.path[0] != '/')
			continue;
		fd = open(m.path, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		mods[n] = (struct module){ m.start, m.end, 0, NULL };
		assert_int_equal(elf_loads__read(fd, &loads), 0);
		assert_true(elf_loads__bias(&loads, m.start, m.pgoff,
					    &mods[n].bias));
		mods[n].table = cfi_table__from_fd(fd, 0, NULL);
		assert_non_null(mods[n].table);
		close(fd);
		n++;
	}
	free(maps);
	return n;
}

static const struct module *module_of(const struct module *mods, size_t n,
				      uint64_t pc)
{
	for (size_t i = 0; i < n; i++)
		if (pc >= mods[i].start && pc < mods[i].end)
			return &mods[i];
	return NULL;
}

/* The walk, as unwind.bpf.h's loop does it; frames into pcs, the count. */
static size_t walk(const struct snapshot *s, const struct module *mods,
		   size_t nmods, uint64_t *pcs, uint32_t *stop)
{
	struct unwind_regs w = {
		.pc = s->regs[0], .sp = s->regs[1], .fp = s->regs[2],
		.stop = UNWIND_STAT_DEPTH, .exact_pc = true,
	};
	size_t n = 0;

	snap_stack = s->stack;
	snap_sp = s->regs[1];
	snap_len = s->len;
	pcs[n++] = w.pc;
	while (n < 127) {
		uint64_t lookup = w.exact_pc ? w.pc : w.pc - 1;
		const struct module *m = module_of(mods, nmods, lookup);
		const struct unwind_rule *r;

		r = m ? cfi_table__find(m->table, lookup - m->bias) : NULL;
		if (!r) {
			w.stop = UNWIND_STAT_NO_ROW;
			break;
		}
		if (unwind_cfi_step(&w, r))
			break;
		if (!w.pc) {
			w.stop = UNWIND_STAT_END;
			break;
		}
		pcs[n++] = w.pc;
	}
	*stop = w.stop;
	return n;
}

static void free_snapshot(struct snapshot *s, struct module *mods, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cfi_table__free(mods[i].table);
	free(s->stack);
	free(s->maps);
}

/*
 * Every frame after the first (where snap was caught, not where it called
 * backtrace) must be the oracle's, to the outermost frame.
 */
static void check_mode(const char *cc, const char *mode, int min_frames)
{
	struct snapshot s = { 0 };
	struct module mods[64];
	uint64_t pcs[127];
	uint32_t stop;
	size_t nmods, n;

	run_fixture(cc, mode, &s);
	nmods = load_modules(&s, mods, 64);
	assert_true(nmods >= 2);	/* the fixture and libc */
	n = walk(&s, mods, nmods, pcs, &stop);
	if (stop != UNWIND_STAT_END || n != (size_t)s.nbt) {
		print_message("%s %s: walk ended with %u after %zu frames, "
			      "backtrace() has %d\n", cc, mode, stop, n, s.nbt);
		for (size_t i = 0; i < n || i < (size_t)s.nbt; i++)
			print_message("  %2zu %16llx %16llx\n", i,
				      i < n ? (unsigned long long)pcs[i] : 0ULL,
				      i < (size_t)s.nbt ?
				      (unsigned long long)s.bt[i] : 0ULL);
	}
	assert_int_equal(stop, UNWIND_STAT_END);
	assert_int_equal(n, s.nbt);
	assert_true(n >= (size_t)min_frames);
	for (size_t i = 1; i < n; i++)
		assert_int_equal(pcs[i], s.bt[i]);
	free_snapshot(&s, mods, nmods);
}

static void test_chain_gcc(void **state) { (void)state; check_mode("gcc", "chain", 6); }
static void test_chain_clang(void **state) { (void)state; check_mode("clang", "chain", 6); }
static void test_alloca_gcc(void **state) { (void)state; check_mode("gcc", "alloca", 5); }
static void test_alloca_clang(void **state) { (void)state; check_mode("clang", "alloca", 5); }
static void test_recurse_gcc(void **state) { (void)state; check_mode("gcc", "recurse", 25); }
static void test_signal_gcc(void **state) { (void)state; check_mode("gcc", "signal", 7); }
static void test_signal_clang(void **state) { (void)state; check_mode("clang", "signal", 7); }

/* A frame-pointer step refuses a frame below sp and reads [fp], [fp + 8]. */
static void test_fp_step(void **state)
{
	uint64_t stack[8] = { 0 };
	struct unwind_regs w;

	(void)state;
	snap_stack = (const uint8_t *)stack;
	snap_sp = 0x1000;
	snap_len = sizeof(stack);
	stack[2] = 0x1030;		/* [fp]: the caller's fp */
	stack[3] = 0x4242;		/* [fp + 8]: the return address */
	w = (struct unwind_regs){ .pc = 1, .sp = 0x1000, .fp = 0x1010 };
	assert_int_equal(unwind_fp_step(&w), 0);
	assert_int_equal(w.pc, 0x4242);
	assert_int_equal(w.sp, 0x1020);
	assert_int_equal(w.fp, 0x1030);
	assert_false(w.exact_pc);
	w = (struct unwind_regs){ .pc = 1, .sp = 0x1000, .fp = 0x0ff0 };
	assert_int_equal(unwind_fp_step(&w), 1);
	assert_int_equal(w.stop, UNWIND_STAT_FP_END);
	w = (struct unwind_regs){ .pc = 1, .sp = 0x1000, .fp = 0x1038 };
	assert_int_equal(unwind_fp_step(&w), 1);
	assert_int_equal(w.stop, UNWIND_STAT_BAD_READ);
}

/* The PLT rule adds 8 more once past the stub's push (pc & 15 >= 11). */
static void test_plt_rule(void **state)
{
	uint64_t stack[4] = { 0x1111, 0x2222, 0x3333, 0 };
	struct unwind_rule plt = { .cfa_kind = UNWIND_CFA_PLT, .cfa_off = 11 };
	struct unwind_regs w;

	(void)state;
	snap_stack = (const uint8_t *)stack;
	snap_sp = 0x2000;
	snap_len = sizeof(stack);
	w = (struct unwind_regs){ .pc = 0x5004, .sp = 0x2000 };
	assert_int_equal(unwind_cfi_step(&w, &plt), 0);
	assert_int_equal(w.pc, 0x1111);		/* CFA = sp + 8 */
	w = (struct unwind_regs){ .pc = 0x500b, .sp = 0x2000 };
	assert_int_equal(unwind_cfi_step(&w, &plt), 0);
	assert_int_equal(w.pc, 0x2222);		/* CFA = sp + 16 */
}

/* Rules the walk cannot follow stop it, each with its reason. */
static void test_stopping_rules(void **state)
{
	struct unwind_rule stop = { .cfa_kind = UNWIND_CFA_STOP };
	struct unwind_rule none = { .cfa_kind = UNWIND_CFA_NONE };
	struct unwind_rule unknown = { .cfa_kind = UNWIND_CFA_UNKNOWN };
	struct unwind_rule by_fp = { .cfa_kind = UNWIND_CFA_FP, .cfa_off = 16 };
	struct unwind_regs w = { .pc = 1, .sp = 0x1000 };

	(void)state;
	assert_int_equal(unwind_cfi_step(&w, &stop), 1);
	assert_int_equal(w.stop, UNWIND_STAT_END);
	assert_int_equal(unwind_cfi_step(&w, &none), 1);
	assert_int_equal(w.stop, UNWIND_STAT_NO_ROW);
	assert_int_equal(unwind_cfi_step(&w, &unknown), 1);
	assert_int_equal(w.stop, UNWIND_STAT_UNKNOWN_RULE);
	w.fp = 0;	/* rbp unknown: a CFA based on it cannot be found */
	assert_int_equal(unwind_cfi_step(&w, &by_fp), 1);
	assert_int_equal(w.stop, UNWIND_STAT_UNKNOWN_RULE);
}

static int setup(void **state)
{
	const char *env = getenv("SYSSCOPE_TEST_TMP");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/unwind_step_XXXXXX",
		 env && *env ? env : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fp_step),
		cmocka_unit_test(test_plt_rule),
		cmocka_unit_test(test_stopping_rules),
		cmocka_unit_test(test_chain_gcc),
		cmocka_unit_test(test_chain_clang),
		cmocka_unit_test(test_alloca_gcc),
		cmocka_unit_test(test_alloca_clang),
		cmocka_unit_test(test_recurse_gcc),
		cmocka_unit_test(test_signal_gcc),
		cmocka_unit_test(test_signal_clang),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
