// SPDX-License-Identifier: MIT
/*
 * Unit tests of the kallsyms reader (src/symbols/ksyms.c): fixture text through
 * fmemopen(), then the live /proc/kallsyms.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ksyms.h"

/* Unsorted, every symbol type, a module, aliases of nothing, junk. */
static const char fixture[] =
	"ffffffff81000300 T third\n"
	"ffffffff81000100 T first\n"
	"ffffffff81000200 t second\n"
	"ffffffff81000400 W weak_upper\n"
	"ffffffff81000500 w weak_lower\n"
	"ffffffff81000050 D data_upper\n"
	"ffffffff81000060 d data_lower\n"
	"ffffffff81000070 B bss_upper\n"
	"ffffffff81000080 b bss_lower\n"
	"ffffffff81000090 R rodata_upper\n"
	"ffffffff810000a0 r rodata_lower\n"
	"ffffffff810000b0 A absolute\n"
	"ffffffff810000c0 U undefined\n"
	"ffffffffc0a01000 t mod_func\t[nf_tables]\n"
	"ffffffffc0a00000 T mod_init\t[nf_tables]\n"
	"ffffffffc0b00000 t bpf_prog_0123456789abcdef_do_sample\t[bpf]\n";

static struct ksyms *read_text(const char *text)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	struct ksyms *ks;

	assert_non_null(f);
	ks = ksyms__read(f);
	fclose(f);
	return ks;
}

static int setup_fixture(void **state)
{
	*state = read_text(fixture);
	return *state ? 0 : -1;
}

static int teardown_ksyms(void **state)
{
	ksyms__free(*state);
	return 0;
}

/* The test's ksyms: teardown frees it, even after a failed assertion. */
static struct ksyms *keep(void **state, struct ksyms *ks)
{
	*state = ks;
	return ks;
}

/* The fixture's text symbols in address order. */
static const struct ksym sorted[] = {
	{ 0xffffffff81000100, "first" },
	{ 0xffffffff81000200, "second" },
	{ 0xffffffff81000300, "third" },
	{ 0xffffffff81000400, "weak_upper" },
	{ 0xffffffff81000500, "weak_lower" },
	{ 0xffffffffc0a00000, "mod_init" },
	{ 0xffffffffc0a01000, "mod_func" },
	{ 0xffffffffc0b00000, "bpf_prog_0123456789abcdef_do_sample" },
};

static void test_only_text_symbols(void **state)
{
	assert_int_equal(ksyms__count(*state), sizeof(sorted) / sizeof(sorted[0]));
}

/*
 * Bisection only works on sorted symbols: each is found at its address,
 * and the byte below it belongs to its predecessor.
 */
static void test_sorted(void **state)
{
	for (size_t i = 0; i < sizeof(sorted) / sizeof(sorted[0]); i++) {
		const struct ksym *at = ksyms__find(*state, sorted[i].addr);
		const struct ksym *below = ksyms__find(*state, sorted[i].addr - 1);

		assert_non_null(at);
		assert_int_equal(at->addr, sorted[i].addr);
		assert_string_equal(at->name, sorted[i].name);
		if (i == 0) {
			assert_null(below);
			continue;
		}
		assert_non_null(below);
		assert_int_equal(below->addr, sorted[i - 1].addr);
		assert_string_equal(below->name, sorted[i - 1].name);
	}
}

static const struct {
	uint64_t addr;
	const char *name;	/* NULL: no symbol */
} lookups[] = {
	{ 0, NULL },
	{ 0xffffffff81000050, NULL },		/* data is not a text symbol */
	{ 0xffffffff810000ff, NULL },		/* just below the first */
	{ 0xffffffff81000100, "first" },	/* exactly at */
	{ 0xffffffff81000101, "first" },
	{ 0xffffffff810001ff, "first" },
	{ 0xffffffff81000200, "second" },
	{ 0xffffffff81000250, "second" },
	{ 0xffffffff81000300, "third" },
	{ 0xffffffff81000400, "weak_upper" },
	{ 0xffffffff81000500, "weak_lower" },
	{ 0xffffffffc0a00000, "mod_init" },
	{ 0xffffffffc0a00fff, "mod_init" },
	{ 0xffffffffc0a01000, "mod_func" },
	{ 0xffffffffc0a01234, "mod_func" },
	{ 0xffffffffc0b00000, "bpf_prog_0123456789abcdef_do_sample" },
	{ 0xffffffffffffffff, "bpf_prog_0123456789abcdef_do_sample" },
};

static void test_find(void **state)
{
	for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
		const struct ksym *k = ksyms__find(*state, lookups[i].addr);

		print_message("  find(0x%llx)\n",
			      (unsigned long long)lookups[i].addr);
		if (!lookups[i].name) {
			assert_null(k);
			continue;
		}
		assert_non_null(k);
		assert_string_equal(k->name, lookups[i].name);
		assert_true(k->addr <= lookups[i].addr);
	}
}

static void test_module_suffix_stripped(void **state)
{
	const struct ksym *k = ksyms__find(*state, 0xffffffffc0a01000);

	assert_non_null(k);
	assert_int_equal(k->addr, 0xffffffffc0a01000);
	assert_string_equal(k->name, "mod_func");
	assert_null(strchr(k->name, '['));
	assert_null(strchr(k->name, '\t'));
}

/* Symbols must stay valid after the names buffer grew many times. */
static void test_many_symbols(void **state)
{
	size_t n = 50000, len = n * 48 + 1, off = 0;
	char *text = malloc(len);
	struct ksyms *ks;

	assert_non_null(text);
	/* Written in descending order so the sort has work to do. */
	for (size_t i = n; i > 0; i--)
		off += (size_t)snprintf(text + off, len - off,
					"%016llx T sym_%zu\n",
					0xffffffff81000000ULL + i * 16, i);
	ks = keep(state, read_text(text));
	free(text);
	assert_non_null(ks);
	assert_int_equal(ksyms__count(ks), n);
	for (size_t i = 1; i <= n; i += 997) {
		const struct ksym *k = ksyms__find(ks, 0xffffffff81000000ULL + i * 16 + 7);
		char want[32];

		snprintf(want, sizeof(want), "sym_%zu", i);
		assert_non_null(k);
		assert_string_equal(k->name, want);
	}
}

/* What an unprivileged reader sees with kptr_restrict: all zeros. */
static void test_zero_addresses_dropped(void **state)
{
	struct ksyms *ks = keep(state, read_text(
		"0000000000000000 T _stext\n"
		"0000000000000000 T schedule\n"
		"ffffffff81000100 T kept\n"
		"0000000000000000 t mod_func\t[nf_tables]\n"));

	assert_non_null(ks);
	assert_int_equal(ksyms__count(ks), 1);
	assert_null(ksyms__find(ks, 0));
	assert_null(ksyms__find(ks, 0xffffffff810000ff));
	assert_string_equal(ksyms__find(ks, 0xffffffff81000100)->name, "kept");
}

static void test_all_zero_is_empty(void **state)
{
	struct ksyms *ks = keep(state, read_text(
		"0000000000000000 T _stext\n"
		"0000000000000000 T schedule\n"));

	assert_non_null(ks);
	assert_int_equal(ksyms__count(ks), 0);
	assert_null(ksyms__find(ks, 0xffffffff81000000));
}

static void test_garbage_skipped(void **state)
{
	struct ksyms *ks = keep(state, read_text(
		"\n"
		"garbage\n"
		"ffffffff81000100\n"
		"ffffffff81000100 T\n"
		"ffffffff81000100 T \n"
		"ffffffff81000100 TT name\n"
		"ffffffff81000100  T name\n"
		"ffffffff81000100\tT\tname\n"
		"xyz T name\n"
		"ffffffff81000200 T good\n"
		"ffffffff81000300 t also_good [mod]\n"
		"ffffffff81000400 t no_newline_at_end"));

	assert_non_null(ks);
	assert_int_equal(ksyms__count(ks), 3);
	assert_null(ksyms__find(ks, 0xffffffff810001ff));
	assert_string_equal(ksyms__find(ks, 0xffffffff81000200)->name, "good");
	assert_string_equal(ksyms__find(ks, 0xffffffff81000300)->name, "also_good");
	assert_string_equal(ksyms__find(ks, 0xffffffff81000400)->name,
			    "no_newline_at_end");
}

/*
 * Since Linux 6.1 (Rust) a name may have KSYM_NAME_LEN - 1 = 511 bytes, so a
 * module symbol's line is about 590 bytes: read whole, neither cut nor split.
 */
static void test_longest_name(void **state)
{
	enum { NAME_MAX_LEN = 511 };
	char name[NAME_MAX_LEN + 1], text[2 * NAME_MAX_LEN];
	struct ksyms *ks;
	const struct ksym *k;

	memset(name, 'a', NAME_MAX_LEN);	/* hex digits: a split tail would parse */
	name[NAME_MAX_LEN] = '\0';
	snprintf(text, sizeof(text),
		 "ffffffffc0a01000 t %s\t[rust_module_with_a_long_name]\n"
		 "ffffffffc0a02000 t next\t[rust_module_with_a_long_name]\n", name);
	ks = keep(state, read_text(text));
	assert_non_null(ks);
	assert_int_equal(ksyms__count(ks), 2);
	k = ksyms__find(ks, 0xffffffffc0a01000);
	assert_non_null(k);
	assert_int_equal(strlen(k->name), NAME_MAX_LEN);
	assert_string_equal(k->name, name);
	assert_string_equal(ksyms__find(ks, 0xffffffffc0a02000)->name, "next");
}

static void test_empty_input(void **state)
{
	static const char nothing[1];
	FILE *f = fmemopen((void *)nothing, 1, "r");
	struct ksyms *ks;

	assert_non_null(f);
	fgetc(f);	/* at EOF, no data */
	ks = keep(state, ksyms__read(f));
	fclose(f);
	assert_non_null(ks);
	assert_int_equal(ksyms__count(ks), 0);
	assert_null(ksyms__find(ks, 1));
}

static void test_load_missing_file(void **state)
{
	(void)state;
	errno = 0;
	assert_null(ksyms__load("/nonexistent/kallsyms"));
	assert_int_equal(errno, ENOENT);
	ksyms__free(NULL);
}

/* ---- live /proc/kallsyms ---- */

/* The address of a global text symbol, parsed independently; 0 if none. */
static uint64_t kallsyms_addr_of(const char *want)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], type, name[256];
	unsigned long long addr;
	uint64_t found = 0;

	if (!f)
		return 0;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%llx %c %255s", &addr, &type, name) == 3 &&
		    (type == 'T' || type == 't') && !strcmp(name, want))
			found = addr;
	fclose(f);
	return found;
}

static void test_live_kallsyms(void **state)
{
	uint64_t sched = kallsyms_addr_of("schedule");
	struct ksyms *ks;
	const struct ksym *k;

	if (!sched) {
		print_message("kallsyms addresses hidden (kptr_restrict): skipped\n");
		fail();
	}
	ks = keep(state, ksyms__load("/proc/kallsyms"));
	assert_non_null(ks);
	assert_true(ksyms__count(ks) > 10000);
	k = ksyms__find(ks, sched);
	assert_non_null(k);
	assert_int_equal(k->addr, sched);
	/* Another symbol may share the address; none does for schedule. */
	assert_string_equal(k->name, "schedule");
	k = ksyms__find(ks, sched + 1);
	assert_non_null(k);
	assert_string_equal(k->name, "schedule");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_only_text_symbols,
						setup_fixture, teardown_ksyms),
		cmocka_unit_test_setup_teardown(test_sorted, setup_fixture,
						teardown_ksyms),
		cmocka_unit_test_setup_teardown(test_find, setup_fixture,
						teardown_ksyms),
		cmocka_unit_test_setup_teardown(test_module_suffix_stripped,
						setup_fixture, teardown_ksyms),
		cmocka_unit_test_teardown(test_many_symbols, teardown_ksyms),
		cmocka_unit_test_teardown(test_zero_addresses_dropped, teardown_ksyms),
		cmocka_unit_test_teardown(test_all_zero_is_empty, teardown_ksyms),
		cmocka_unit_test_teardown(test_garbage_skipped, teardown_ksyms),
		cmocka_unit_test_teardown(test_longest_name, teardown_ksyms),
		cmocka_unit_test_teardown(test_empty_input, teardown_ksyms),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test_teardown(test_live_kallsyms, teardown_ksyms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
