// SPDX-License-Identifier: MIT
/*
 * Unit tests of the ELF symbol loader (src/symbols/elfsyms.c).
 *
 * The fixture binaries are built at run time with cc from the sources in
 * tests/unit/elf_fixtures/, into $SYSSCOPE_TEST_TMP (or a mkdtemp dir).
 * Expected addresses, file offsets and build-ids come from nm and readelf
 * (binutils, not libelf), so the loader is checked against an independent
 * reader. Hostile files are made by patching a fixture's bytes here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsyms.h"

static struct {
	bool built;
	bool own_dir;		/* made by mkdtemp: removed at the end */
	bool have32;		/* cc could build the 32-bit library */
	char dir[PATH_MAX / 2];
	char src[PATH_MAX / 2];	/* the fixture sources */
	char pie[PATH_MAX];
	char nopie[PATH_MAX];
	char lib[PATH_MAX];
	char stripped[PATH_MAX];
	char lib32[PATH_MAX];
} fx;

static const char *const prog_funcs[] = {
	"fx_alpha", "fx_beta", "fx_gamma", "fx_static", "main",
};

/* ---- helpers: files and commands ---------------------------------- */

static void tmp_path(char *buf, const char *name)
{
	snprintf(buf, PATH_MAX, "%s/elfsyms_%s", fx.dir, name);
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

/* popen() of a command about path; the caller pclose()s. */
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

static struct elf_symtab *load_path(const char *path)
{
	struct elf_symtab *s;
	int fd = open(path, O_RDONLY | O_CLOEXEC), err;

	assert_true(fd >= 0);
	s = elf_symtab__load(fd);
	err = errno;
	close(fd);
	errno = err;
	return s;
}

/* ---- helpers: the independent reader (binutils) -------------------- */

/* The address nm gives to a defined symbol name. */
static uint64_t nm_addr(const char *path, const char *name)
{
	FILE *p = popen_on("nm --defined-only", path);
	unsigned long long addr;
	char line[512], sym[256], type;
	uint64_t found = 0;

	while (fgets(line, sizeof(line), p))
		if (sscanf(line, "%llx %c %255s", &addr, &type, sym) == 3 &&
		    !strcmp(sym, name))
			found = addr;
	assert_int_equal(pclose(p), 0);
	assert_true(found != 0);
	return found;
}

/* The file offset of vaddr, through the PT_LOAD lines of readelf -lW. */
static uint64_t file_offset(const char *path, uint64_t vaddr)
{
	FILE *p = popen_on("readelf -lW", path);
	unsigned long long off, va, pa, filesz;
	uint64_t found = UINT64_MAX;
	char line[512];

	while (fgets(line, sizeof(line), p))
		if (sscanf(line, " LOAD %llx %llx %llx %llx",
			   &off, &va, &pa, &filesz) == 4 &&
		    vaddr >= va && vaddr - va < filesz)
			found = vaddr - va + off;
	assert_int_equal(pclose(p), 0);
	assert_true(found != UINT64_MAX);
	return found;
}

/* The build-id bytes of readelf -n; returns their count (0: none). */
static size_t readelf_build_id(const char *path, uint8_t *id, size_t max)
{
	FILE *p = popen_on("readelf -n", path);
	char line[512], *hex;
	size_t n = 0;
	unsigned int byte;

	while (fgets(line, sizeof(line), p)) {
		hex = strstr(line, "Build ID: ");
		if (!hex)
			continue;
		for (hex += 10; n < max && sscanf(hex, "%2x", &byte) == 1;
		     hex += 2)
			id[n++] = (uint8_t)byte;
	}
	assert_int_equal(pclose(p), 0);
	return n;
}

static bool has_section(const char *path, const char *name)
{
	FILE *p = popen_on("readelf -SW", path);
	char line[512];
	bool found = false;

	while (fgets(line, sizeof(line), p))
		if (strstr(line, name))
			found = true;
	assert_int_equal(pclose(p), 0);
	return found;
}

static uint16_t elf_type(const char *path)
{
	size_t len;
	uint8_t *buf = read_whole(path, &len);
	Elf64_Ehdr eh;

	assert_true(len >= sizeof(eh));
	memcpy(&eh, buf, sizeof(eh));
	free(buf);
	return eh.e_type;
}

/* ---- helpers: assertions -------------------------------------------- */

/* Looking up name's nm address + 3 gives name, 3 bytes in. */
static void assert_func_at(const struct elf_symtab *s, const char *nm_path,
			   const char *name)
{
	uint64_t off = UINT64_MAX;
	const char *got;

	got = elf_symtab__lookup(s, nm_addr(nm_path, name) + 3, &off);
	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(off, 3);
}

/*
 * The same, reached like a sampled ip: from the file offset readelf gives
 * (as ip - map_start + pgoff would), through offset_to_vaddr.
 */
static void assert_func_via_offset(const struct elf_symtab *s,
				   const char *nm_path, const char *elf_path,
				   const char *name)
{
	uint64_t addr = nm_addr(nm_path, name) + 3, vaddr = 0, off = 0;
	const char *got;

	assert_true(elf_symtab__offset_to_vaddr(s, file_offset(elf_path, addr),
						&vaddr));
	assert_int_equal(vaddr, addr);
	got = elf_symtab__lookup(s, vaddr, &off);
	assert_non_null(got);
	assert_string_equal(got, name);
	assert_int_equal(off, 3);
}

static void assert_load_fails(const char *path, int want1, int want2)
{
	struct elf_symtab *s;

	errno = 0;
	s = load_path(path);
	if (s)
		elf_symtab__free(s);
	assert_null(s);
	if (errno != want1 && errno != want2)
		fail_msg("errno %d (%s), want %d or %d", errno,
			 strerror(errno), want1, want2);
}

/* ---- fixtures --------------------------------------------------------- */

static int setup_dirs(void)
{
	const char *env = getenv("SYSSCOPE_TEST_TMP");
	const char *slash = strrchr(__FILE__, '/');

	if (env && *env) {
		snprintf(fx.dir, sizeof(fx.dir), "%s", env);
		if (mkdir(fx.dir, 0700) && errno != EEXIST)
			return -1;
	} else {
		strcpy(fx.dir, "/tmp/sysscope-elfsyms-XXXXXX");
		if (!mkdtemp(fx.dir))
			return -1;
		fx.own_dir = true;
	}
	/* Next to this source, as the Makefile compiles it by path. */
	snprintf(fx.src, sizeof(fx.src), "%.*s/elf_fixtures",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
	tmp_path(fx.pie, "pie");
	tmp_path(fx.nopie, "nopie");
	tmp_path(fx.lib, "lib.so");
	tmp_path(fx.stripped, "stripped.so");
	tmp_path(fx.lib32, "lib32.so");
	return 0;
}

/* Built once, for every group: compile failures fail the group setup. */
static int build_fixtures(void **state)
{
	(void)state;
	if (fx.built)
		return 0;
	if (setup_dirs())
		return -1;
	if (run("cc -O0 -fPIE -pie -Wl,--build-id=sha1 '%s/fx_prog.c' "
		"-o '%s'", fx.src, fx.pie) ||
	    run("cc -O0 -fno-pie -no-pie -Wl,--build-id=none '%s/fx_prog.c' "
		"-o '%s'", fx.src, fx.nopie) ||
	    run("cc -O0 -shared -fPIC '%s/fx_lib.c' -o '%s'", fx.src, fx.lib) ||
	    run("strip --strip-all -o '%s' '%s'", fx.stripped, fx.lib))
		return -1;
	/* Optional: needs an x86 cc; no libc is linked, so no multilib. */
	fx.have32 = !run("cc -m32 -O0 -shared -fPIC -nostdlib '%s/fx_lib.c' "
			 "-o '%s' 2>/dev/null", fx.src, fx.lib32);
	fx.built = true;
	return 0;
}

static void remove_fixtures(void)
{
	if (fx.own_dir)
		run("rm -rf '%s'", fx.dir);
}

/* ---- well-formed files ------------------------------------------------ */

static void test_pie_lookup(void **state)
{
	struct elf_symtab *s = load_path(fx.pie);

	(void)state;
	assert_non_null(s);
	assert_int_equal(elf_type(fx.pie), ET_DYN);
	for (size_t i = 0; i < sizeof(prog_funcs) / sizeof(*prog_funcs); i++)
		assert_func_at(s, fx.pie, prog_funcs[i]);
	elf_symtab__free(s);
}

static void test_pie_offsets(void **state)
{
	struct elf_symtab *s = load_path(fx.pie);

	(void)state;
	assert_non_null(s);
	for (size_t i = 0; i < sizeof(prog_funcs) / sizeof(*prog_funcs); i++)
		assert_func_via_offset(s, fx.pie, fx.pie, prog_funcs[i]);
	elf_symtab__free(s);
}

static void test_nopie(void **state)
{
	struct elf_symtab *s = load_path(fx.nopie);

	(void)state;
	assert_non_null(s);
	assert_int_equal(elf_type(fx.nopie), ET_EXEC);
	for (size_t i = 0; i < sizeof(prog_funcs) / sizeof(*prog_funcs); i++)
		assert_func_via_offset(s, fx.nopie, fx.nopie, prog_funcs[i]);
	elf_symtab__free(s);
}

static void test_shared_object(void **state)
{
	struct elf_symtab *s = load_path(fx.lib);

	(void)state;
	assert_non_null(s);
	assert_func_via_offset(s, fx.lib, fx.lib, "fx_lib_one");
	assert_func_via_offset(s, fx.lib, fx.lib, "fx_lib_two");
	assert_func_via_offset(s, fx.lib, fx.lib, "fx_lib_hidden");
	elf_symtab__free(s);
}

/* Only .dynsym is left: exported functions found, the static one not. */
static void test_stripped_uses_dynsym(void **state)
{
	struct elf_symtab *s = load_path(fx.stripped);
	uint64_t off;
	const char *got;

	(void)state;
	assert_false(has_section(fx.stripped, " .symtab "));
	assert_non_null(s);
	assert_true(elf_symtab__count(s) > 0);
	assert_func_via_offset(s, fx.lib, fx.stripped, "fx_lib_one");
	assert_func_via_offset(s, fx.lib, fx.stripped, "fx_lib_two");
	got = elf_symtab__lookup(s, nm_addr(fx.lib, "fx_lib_hidden") + 3, &off);
	assert_true(!got || strcmp(got, "fx_lib_hidden") != 0);
	elf_symtab__free(s);
}

static void test_elfclass32(void **state)
{
	struct elf_symtab *s;
	size_t len;
	uint8_t *buf;

	(void)state;
	if (!fx.have32)
		fail();
	buf = read_whole(fx.lib32, &len);
	assert_int_equal(buf[EI_CLASS], ELFCLASS32);
	free(buf);
	s = load_path(fx.lib32);
	assert_non_null(s);
	assert_func_via_offset(s, fx.lib32, fx.lib32, "fx_lib_one");
	assert_func_via_offset(s, fx.lib32, fx.lib32, "fx_lib_hidden");
	elf_symtab__free(s);
}

/* st_size 0: covers up to the next symbol. */
static void test_unsized_symbol(void **state)
{
	struct elf_symtab *s = load_path(fx.pie);

	(void)state;
	assert_non_null(s);
	assert_func_at(s, fx.pie, "fx_nosize");
	elf_symtab__free(s);
}

/* A local alias sits before the global in .symtab: the global wins. */
static void test_alias_prefers_global(void **state)
{
	struct elf_symtab *s = load_path(fx.pie);
	uint64_t addr = nm_addr(fx.pie, "fx_alpha"), off = 1;

	(void)state;
	assert_int_equal(nm_addr(fx.pie, "fx_local_alias"), addr);
	assert_non_null(s);
	assert_string_equal(elf_symtab__lookup(s, addr, &off), "fx_alpha");
	assert_int_equal(off, 0);
	elf_symtab__free(s);
}

static void test_outside_any_symbol(void **state)
{
	struct elf_symtab *s = load_path(fx.pie);
	uint64_t off = 0, vaddr = 0;

	(void)state;
	assert_non_null(s);
	assert_null(elf_symtab__lookup(s, 0, &off));
	assert_null(elf_symtab__lookup(s, UINT64_MAX, &off));
	assert_false(elf_symtab__offset_to_vaddr(s, UINT64_MAX / 2, &vaddr));
	elf_symtab__free(s);
}

static void test_build_id_sha1(void **state)
{
	struct elf_symtab *s = load_path(fx.pie);
	uint8_t want[64];
	size_t nwant = readelf_build_id(fx.pie, want, sizeof(want)), len = 0;
	const uint8_t *id;

	(void)state;
	assert_int_equal(nwant, 20);
	assert_non_null(s);
	id = elf_symtab__build_id(s, &len);
	assert_non_null(id);
	assert_int_equal(len, nwant);
	assert_memory_equal(id, want, nwant);
	elf_symtab__free(s);
}

static void test_build_id_none(void **state)
{
	struct elf_symtab *s = load_path(fx.nopie);
	uint8_t want[64];
	size_t len = 99;

	(void)state;
	assert_int_equal(readelf_build_id(fx.nopie, want, sizeof(want)), 0);
	assert_non_null(s);
	assert_null(elf_symtab__build_id(s, &len));
	assert_int_equal(len, 0);
	elf_symtab__free(s);
}

/* ---- hostile files ---------------------------------------------------- */

static void test_empty_file(void **state)
{
	char path[PATH_MAX];

	(void)state;
	tmp_path(path, "empty");
	write_whole(path, "", 0);
	assert_load_fails(path, ENOEXEC, EINVAL);
}

static void test_text_file(void **state)
{
	static const char text[] = "#!/bin/sh\necho not an ELF file\n";
	char path[PATH_MAX];

	(void)state;
	tmp_path(path, "text");
	write_whole(path, text, sizeof(text) - 1);
	assert_load_fails(path, ENOEXEC, EINVAL);
}

/* A copy of the PIE cut to len bytes (0: to half). */
static void test_truncated(size_t len)
{
	char path[PATH_MAX];
	size_t full;
	uint8_t *buf = read_whole(fx.pie, &full);

	tmp_path(path, "truncated");
	write_whole(path, buf, len ? len : full / 2);
	free(buf);
	assert_load_fails(path, EINVAL, ENOEXEC);
}

static void test_truncated_100(void **state)
{
	(void)state;
	test_truncated(100);
}

static void test_truncated_half(void **state)
{
	(void)state;
	test_truncated(0);
}

/* The section headers of buf: the .symtab's index, asserted present. */
static size_t find_symtab(const uint8_t *buf, size_t len, Elf64_Ehdr *eh)
{
	Elf64_Shdr sh;

	assert_true(len >= sizeof(*eh));
	memcpy(eh, buf, sizeof(*eh));
	assert_true(eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(sh) <= len);
	for (size_t i = 0; i < eh->e_shnum; i++) {
		memcpy(&sh, buf + eh->e_shoff + i * sizeof(sh), sizeof(sh));
		if (sh.sh_type == SHT_SYMTAB)
			return i;
	}
	fail_msg("no .symtab in %s", fx.pie);
	return 0;
}

/* Sets section idx's sh_size in buf. */
static void patch_sh_size(uint8_t *buf, const Elf64_Ehdr *eh, size_t idx,
			  uint64_t size)
{
	uint8_t *at = buf + eh->e_shoff + idx * sizeof(Elf64_Shdr);
	Elf64_Shdr sh;

	memcpy(&sh, at, sizeof(sh));
	sh.sh_size = size;
	memcpy(at, &sh, sizeof(sh));
}

static void test_shoff_beyond_eof(void **state)
{
	char path[PATH_MAX];
	size_t len;
	uint8_t *buf = read_whole(fx.pie, &len);
	Elf64_Ehdr eh;

	(void)state;
	memcpy(&eh, buf, sizeof(eh));
	eh.e_shoff = len + 4096;
	memcpy(buf, &eh, sizeof(eh));
	tmp_path(path, "shoff");
	write_whole(path, buf, len);
	free(buf);
	assert_load_fails(path, EINVAL, EINVAL);
}

static void test_symtab_1gib(void **state)
{
	char path[PATH_MAX];
	size_t len;
	uint8_t *buf = read_whole(fx.pie, &len);
	Elf64_Ehdr eh;
	size_t idx = find_symtab(buf, len, &eh);

	(void)state;
	patch_sh_size(buf, &eh, idx, 1ull << 30);
	tmp_path(path, "symtab1g");
	write_whole(path, buf, len);
	free(buf);
	assert_load_fails(path, EFBIG, EFBIG);
}

/* A string table cut to 1 byte: every st_name is out of range. */
static void test_names_out_of_range(void **state)
{
	char path[PATH_MAX];
	size_t len;
	uint8_t *buf = read_whole(fx.pie, &len);
	struct elf_symtab *s;
	Elf64_Shdr sym;
	Elf64_Ehdr eh;
	size_t idx = find_symtab(buf, len, &eh);

	(void)state;
	memcpy(&sym, buf + eh.e_shoff + idx * sizeof(sym), sizeof(sym));
	assert_true(sym.sh_link < eh.e_shnum);
	patch_sh_size(buf, &eh, sym.sh_link, 1);
	tmp_path(path, "strtab1");
	write_whole(path, buf, len);
	free(buf);
	s = load_path(path);
	assert_non_null(s);
	assert_int_equal(elf_symtab__count(s), 0);
	assert_null(elf_symtab__lookup(s, nm_addr(fx.pie, "main"), NULL));
	elf_symtab__free(s);
}

/*
 * A 64 MiB sparse file, its header claiming a million sections through
 * extended numbering (e_shnum 0, the count in section 0): refused with
 * EFBIG before libelf allocates a descriptor per section.
 */
static void test_extended_numbering_refused(void **state)
{
	char path[PATH_MAX];
	Elf64_Ehdr eh = { 0 };
	Elf64_Shdr sh0 = { 0 };
	int fd;

	(void)state;
	tmp_path(path, "sparse_sections");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_DYN;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_ehsize = sizeof(eh);
	eh.e_shentsize = sizeof(sh0);
	eh.e_shoff = sizeof(eh);
	eh.e_shnum = 0;
	sh0.sh_size = 1 << 20;
	assert_int_equal(pwrite(fd, &eh, sizeof(eh), 0), sizeof(eh));
	assert_int_equal(pwrite(fd, &sh0, sizeof(sh0), sizeof(eh)), sizeof(sh0));
	/* Room for the whole claimed table: only the count is wrong. */
	assert_int_equal(ftruncate(fd, (64 << 20) + 4096), 0);
	errno = 0;
	assert_null(elf_symtab__load(fd));
	assert_int_equal(errno, EFBIG);
	close(fd);
	unlink(path);
}

static void test_bad_fds(void **state)
{
	int fd;

	(void)state;
	errno = 0;
	assert_null(elf_symtab__load(-1));
	assert_int_equal(errno, EBADF);
	fd = open(fx.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	errno = 0;
	assert_null(elf_symtab__load(fd));
	assert_int_equal(errno, EINVAL);
	close(fd);
}

static void test_null_accessors(void **state)
{
	size_t len = 5;
	uint64_t v = 0;

	(void)state;
	elf_symtab__free(NULL);
	assert_int_equal(elf_symtab__count(NULL), 0);
	assert_null(elf_symtab__lookup(NULL, 0x1000, NULL));
	assert_null(elf_symtab__build_id(NULL, &len));
	assert_int_equal(len, 0);
	assert_false(elf_symtab__offset_to_vaddr(NULL, 0, &v));
}

int main(void)
{
	const struct CMUnitTest wellformed[] = {
		cmocka_unit_test(test_pie_lookup),
		cmocka_unit_test(test_pie_offsets),
		cmocka_unit_test(test_nopie),
		cmocka_unit_test(test_shared_object),
		cmocka_unit_test(test_stripped_uses_dynsym),
		cmocka_unit_test(test_elfclass32),
		cmocka_unit_test(test_unsized_symbol),
		cmocka_unit_test(test_alias_prefers_global),
		cmocka_unit_test(test_outside_any_symbol),
		cmocka_unit_test(test_build_id_sha1),
		cmocka_unit_test(test_build_id_none),
	};
	const struct CMUnitTest hostile[] = {
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_text_file),
		cmocka_unit_test(test_truncated_100),
		cmocka_unit_test(test_truncated_half),
		cmocka_unit_test(test_shoff_beyond_eof),
		cmocka_unit_test(test_symtab_1gib),
		cmocka_unit_test(test_names_out_of_range),
		cmocka_unit_test(test_extended_numbering_refused),
		cmocka_unit_test(test_bad_fds),
		cmocka_unit_test(test_null_accessors),
	};
	int failed;

	failed = cmocka_run_group_tests_name("elfsyms", wellformed,
					     build_fixtures, NULL);
	failed += cmocka_run_group_tests_name("elfsyms_hostile", hostile,
					      build_fixtures, NULL);
	remove_fixtures();
	return failed ? 1 : 0;
}
