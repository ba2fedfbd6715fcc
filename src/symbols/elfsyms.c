// SPDX-License-Identifier: MIT
/*
 * ELF function symbol loader (see elfsyms.h).
 *
 * The file is opened with ELF_C_READ, not ELF_C_READ_MMAP: libelf then
 * pread()s what it needs into its own buffers, so a tenant truncating the
 * file under us gives a read error instead of SIGBUS on a mapped page.
 * Every section and segment we read is first checked against the fstat()
 * size and against the limits below, so a hostile file decides neither how
 * much we read nor how much we allocate.
 *
 * Helpers return 0 or -errno; only elf_symtab__load() turns that into
 * NULL + errno.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elfsyms.h"
#include "minidebug.h"

/* A larger .symtab/.dynsym (sh_size) is refused with EFBIG. */
#define SYMTAB_MAX_SIZE		(16ull << 20)
/* Its string table, and the names kept: mangled C++ names are long. */
#define STRTAB_MAX_SIZE		(64ull << 20)
/* Larger note sections/segments are not looked into for a build-id. */
#define NOTE_MAX_SIZE		4096ull
/* More program headers than this is not a file a linker wrote. */
#define PHDR_MAX		4096
/* libelf allocates a descriptor per section at elf_begin(): cap them. */
#define SECTIONS_MAX		65536
/* ld writes 16 (md5, uuid) or 20 (sha1) bytes; 64 leaves room for hex ids. */
#define BUILD_ID_MAX		64
/* A .gnu_debuglink file name (a base name) */
#define DEBUGLINK_MAX		256

struct elf_sym {
	uint64_t addr;
	uint64_t size;	/* bytes covered: st_size, or up to the next */
	uint32_t name;	/* in names; while loading, in the strtab */
	uint8_t rank;	/* which name wins at one address: 0 best */
};

struct elf_seg {		/* one PT_LOAD */
	uint64_t offset;
	uint64_t filesz;
	uint64_t vaddr;
	uint64_t memsz;
};

struct elf_symtab {
	struct elf_sym *syms;	/* sorted by addr, one per addr */
	size_t nsyms;
	char *names;		/* all kept names, NUL-separated */
	size_t names_len;
	struct elf_seg *segs;
	size_t nsegs;
	size_t build_id_len;
	uint8_t build_id[BUILD_ID_MAX];
	bool has_symtab;	/* .symtab, not just .dynsym */
	bool from_minidebuginfo;	/* symbols added from .gnu_debugdata */
	char debuglink[DEBUGLINK_MAX];	/* .gnu_debuglink's file name, or "" */
	uint32_t debuglink_crc;
	int dwarf_fd;		/* the file again, if it has DWARF lines; or -1 */
};

static struct elf_symtab *symtab_new(void)
{
	struct elf_symtab *s = calloc(1, sizeof(*s));

	if (s)
		s->dwarf_fd = -1;
	return s;
}

/* State of one elf_symtab__load() call. */
struct loader {
	Elf *elf;
	uint64_t file_size;
	struct elf_symtab *s;
	Elf_Scn *debugdata;	/* .gnu_debugdata (MiniDebugInfo), or NULL */
	bool inner;		/* loading MiniDebugInfo's own ELF: no nesting */
	bool has_debug_info, has_debug_line;	/* DWARF sections with data */
};

static pthread_once_t libelf_once = PTHREAD_ONCE_INIT;
static bool libelf_ready;

static void libelf_init_once(void)
{
	libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
}

/* libelf refuses every call until elf_version() has been called once. */
int elf__init(void)
{
	pthread_once(&libelf_once, libelf_init_once);
	return libelf_ready ? 0 : -ENOTSUP;
}

/* [off, off + size) lies inside the file; written to not overflow. */
static bool range_ok(uint64_t off, uint64_t size, uint64_t file_size)
{
	return off <= file_size && size <= file_size - off;
}

/* A table of n entries of entsize bytes at off lies inside the file. */
static bool table_ok(const struct loader *ld, uint64_t off, size_t n,
		     size_t entsize)
{
	if (!n)
		return true;
	if (!entsize || n > ld->file_size / entsize)
		return false;
	return range_ok(off, (uint64_t)n * entsize, ld->file_size);
}

/*
 * The larger of what the header claims and what libelf counted: libelf
 * quietly reports no sections when their table is out of the file.
 * raw 0 with a table offset set means extended numbering: entry 0 exists.
 */
static size_t claimed(size_t raw, uint64_t table_off, size_t counted)
{
	if (!raw && table_off)
		raw = 1;
	return raw > counted ? raw : counted;
}

/*
 * libelf reads the section/program header tables lazily, and not always
 * with an error when they are missing: check up front that they are
 * inside the file, so a truncated file or a patched e_shoff is EINVAL.
 */
static int check_ehdr(const struct loader *ld)
{
	size_t shnum, phnum;
	GElf_Ehdr eh;
	int cls;

	if (elf_kind(ld->elf) != ELF_K_ELF)
		return -ENOEXEC;
	cls = gelf_getclass(ld->elf);
	if (cls != ELFCLASS32 && cls != ELFCLASS64)
		return -ENOEXEC;
	if (!gelf_getehdr(ld->elf, &eh))
		return -EINVAL;
	if (elf_getshdrnum(ld->elf, &shnum) || elf_getphdrnum(ld->elf, &phnum))
		return -EINVAL;
	shnum = claimed(eh.e_shnum, eh.e_shoff, shnum);
	phnum = claimed(eh.e_phnum, 0, phnum);
	if (!table_ok(ld, eh.e_shoff, shnum,
		      gelf_fsize(ld->elf, ELF_T_SHDR, 1, EV_CURRENT)))
		return -EINVAL;
	if (!table_ok(ld, eh.e_phoff, phnum,
		      gelf_fsize(ld->elf, ELF_T_PHDR, 1, EV_CURRENT)))
		return -EINVAL;
	return phnum > PHDR_MAX ? -EFBIG : 0;
}

static bool is_build_id(const GElf_Nhdr *nh, const char *name)
{
	return nh->n_type == NT_GNU_BUILD_ID &&
	       nh->n_namesz == sizeof(ELF_NOTE_GNU) &&
	       !memcmp(name, ELF_NOTE_GNU, sizeof(ELF_NOTE_GNU)) &&
	       nh->n_descsz > 0 && nh->n_descsz <= BUILD_ID_MAX;
}

/* Takes the first GNU build-id note found in d, if it fits. */
static void find_build_id(struct elf_symtab *s, Elf_Data *d)
{
	size_t off = 0, next, name_off, desc_off;
	const char *buf = d->d_buf;
	GElf_Nhdr nh;

	/* gelf_getnote() checks that name and desc lie inside d. */
	while ((next = gelf_getnote(d, off, &nh, &name_off, &desc_off)) > 0) {
		if (is_build_id(&nh, buf + name_off)) {
			memcpy(s->build_id, buf + desc_off, nh.n_descsz);
			s->build_id_len = nh.n_descsz;
			return;
		}
		off = next;
	}
}

/*
 * The build-id is optional: a note we cannot read is skipped, not an
 * error. PT_NOTE is tried first because it survives section stripping.
 */
static void note_segment(struct loader *ld, const GElf_Phdr *ph)
{
	Elf_Data *d;

	if (!ph->p_filesz || ph->p_filesz > NOTE_MAX_SIZE ||
	    !range_ok(ph->p_offset, ph->p_filesz, ld->file_size))
		return;
	/* 8-aligned notes (e.g. GNU properties) pad differently. */
	d = elf_getdata_rawchunk(ld->elf, ph->p_offset, ph->p_filesz,
				 ph->p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
	if (d)
		find_build_id(ld->s, d);
}

static void note_section(struct loader *ld, Elf_Scn *scn,
			 const GElf_Shdr *sh)
{
	Elf_Data *d;

	if (!sh->sh_size || sh->sh_size > NOTE_MAX_SIZE ||
	    (sh->sh_flags & SHF_COMPRESSED) ||
	    !range_ok(sh->sh_offset, sh->sh_size, ld->file_size))
		return;
	d = elf_getdata(scn, NULL);
	if (d)
		find_build_id(ld->s, d);
}

/* Keeps the PT_LOADs (for offset_to_vaddr) and looks for a build-id. */
static int scan_phdrs(struct loader *ld)
{
	struct elf_symtab *s = ld->s;
	size_t n, i;
	GElf_Phdr ph;

	if (elf_getphdrnum(ld->elf, &n))
		return -EINVAL;
	s->segs = calloc(n ? n : 1, sizeof(*s->segs));
	if (!s->segs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getphdr(ld->elf, (int)i, &ph))
			return -EINVAL;
		if (ph.p_type == PT_LOAD)
			s->segs[s->nsegs++] = (struct elf_seg){
				.offset = ph.p_offset, .filesz = ph.p_filesz,
				.vaddr = ph.p_vaddr, .memsz = ph.p_memsz,
			};
		else if (ph.p_type == PT_NOTE && !s->build_id_len)
			note_segment(ld, &ph);
	}
	return 0;
}

/*
 * .gnu_debuglink: the debug file's base name, NUL-padded to 4 bytes, then
 * its CRC-32. Kept only if it is a plain file name.
 */
static void note_debuglink(struct loader *ld, Elf_Scn *scn, const GElf_Shdr *sh)
{
	struct elf_symtab *s = ld->s;
	size_t len, crc_off;
	Elf_Data *d;

	if (sh->sh_size < 8 || sh->sh_size > DEBUGLINK_MAX + 8 ||
	    (sh->sh_flags & SHF_COMPRESSED) ||
	    !range_ok(sh->sh_offset, sh->sh_size, ld->file_size))
		return;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || d->d_size != sh->sh_size)
		return;
	len = strnlen(d->d_buf, d->d_size);
	crc_off = (len + 4) & ~(size_t)3;
	if (!len || len >= DEBUGLINK_MAX || crc_off + 4 > d->d_size ||
	    memchr(d->d_buf, '/', len) || !strcmp(d->d_buf, "..") ||
	    !strcmp(d->d_buf, "."))
		return;
	memcpy(s->debuglink, d->d_buf, len);
	s->debuglink[len] = '\0';
	memcpy(&s->debuglink_crc, (const char *)d->d_buf + crc_off, 4);
}

/* Is scn the section called name? */
static bool section_named(const struct loader *ld, const GElf_Shdr *sh,
			  const char *name)
{
	size_t shstrndx;
	const char *n;

	if (elf_getshdrstrndx(ld->elf, &shstrndx))
		return false;
	n = elf_strptr(ld->elf, shstrndx, sh->sh_name);
	return n && !strcmp(n, name);
}

/*
 * Finds the symbol table to use (.symtab, else .dynsym) and, if PT_NOTE
 * had none, a build-id note section; and .gnu_debuglink. *symscn is NULL
 * if there is neither table.
 */
static int scan_sections(struct loader *ld, Elf_Scn **symscn)
{
	Elf_Scn *scn = NULL, *dynsym = NULL;
	GElf_Shdr sh;

	*symscn = NULL;
	while ((scn = elf_nextscn(ld->elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			return -EINVAL;
		if (sh.sh_type == SHT_SYMTAB && !*symscn)
			*symscn = scn;
		else if (sh.sh_type == SHT_DYNSYM && !dynsym)
			dynsym = scn;
		else if (sh.sh_type == SHT_NOTE && !ld->s->build_id_len)
			note_section(ld, scn, &sh);
		else if (sh.sh_type == SHT_PROGBITS && !ld->s->debuglink[0] &&
			 section_named(ld, &sh, ".gnu_debuglink"))
			note_debuglink(ld, scn, &sh);
		else if (sh.sh_type == SHT_PROGBITS && !ld->debugdata &&
			 !ld->inner && section_named(ld, &sh, ".gnu_debugdata"))
			ld->debugdata = scn;
		else if (sh.sh_type == SHT_PROGBITS && sh.sh_size &&
			 section_named(ld, &sh, ".debug_info"))
			ld->has_debug_info = true;
		else if (sh.sh_type == SHT_PROGBITS && sh.sh_size &&
			 section_named(ld, &sh, ".debug_line"))
			ld->has_debug_line = true;
	}
	ld->s->has_symtab = *symscn != NULL;
	if (!*symscn)
		*symscn = dynsym;
	return 0;
}

/* Reads a section's data after checking its type, size and extent. */
static int section_data(const struct loader *ld, Elf_Scn *scn,
			uint32_t type, uint64_t max, Elf_Data **data)
{
	GElf_Shdr sh;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != type)
		return -EINVAL;
	if (sh.sh_size > max)
		return -EFBIG;
	if ((sh.sh_flags & SHF_COMPRESSED) ||
	    !range_ok(sh.sh_offset, sh.sh_size, ld->file_size))
		return -EINVAL;
	*data = elf_getdata(scn, NULL);
	if (!*data || (*data)->d_size != sh.sh_size ||
	    (sh.sh_size && !(*data)->d_buf))
		return -EINVAL;
	return 0;
}

/*
 * The usable length of a string table: up to and including its last NUL,
 * so that any st_name below it names a terminated string. Checked once here
 * rather than per symbol, so many symbols cannot each scan a huge table.
 */
static size_t strtab_len(const Elf_Data *strs)
{
	const char *base = strs->d_buf;
	size_t n = strs->d_size;

	while (n && base[n - 1] != '\0')
		n--;
	return n;
}

/* Global names are the ones users know; locals are often aliases. */
static uint8_t bind_rank(unsigned char info)
{
	switch (GELF_ST_BIND(info)) {
	case STB_GLOBAL:
	case STB_GNU_UNIQUE:
		return 0;
	case STB_WEAK:
		return 1;
	default:
		return 2;
	}
}

static bool want_sym(const GElf_Sym *sym, const char *strs, size_t strs_len)
{
	int type = GELF_ST_TYPE(sym->st_info);

	if (type != STT_FUNC && type != STT_GNU_IFUNC)
		return false;
	if (sym->st_shndx == SHN_UNDEF)
		return false;
	return sym->st_name < strs_len && strs[sym->st_name] != '\0';
}

/* Copies the defined, named function symbols of syms into s->syms. */
static int collect(struct elf_symtab *s, Elf_Data *syms, const Elf_Data *strs,
		   size_t n)
{
	size_t len = strtab_len(strs), i;
	GElf_Sym sym;

	s->syms = calloc(n ? n : 1, sizeof(*s->syms));
	if (!s->syms)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (!gelf_getsym(syms, (int)i, &sym))
			return -EINVAL;
		if (!want_sym(&sym, strs->d_buf, len))
			continue;
		s->syms[s->nsyms++] = (struct elf_sym){
			.addr = sym.st_value, .size = sym.st_size,
			.name = (uint32_t)sym.st_name,
			/* glibc's internal aliases (__GI_read): last. */
			.rank = bind_rank(sym.st_info) +
				(!strncmp((const char *)strs->d_buf + sym.st_name,
					  "__GI_", 5) ? 4 : 0),
		};
	}
	return 0;
}

/* By address, then best binding first; strtab offset keeps it stable. */
static int sym_cmp(const void *a, const void *b)
{
	const struct elf_sym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	return (x->name > y->name) - (x->name < y->name);
}

/* One symbol per address: the best-ranked name, the largest size. */
static void dedup(struct elf_symtab *s)
{
	size_t i, j = 0;

	for (i = 0; i < s->nsyms; i++) {
		struct elf_sym *prev = j ? &s->syms[j - 1] : NULL;

		if (prev && prev->addr == s->syms[i].addr) {
			if (s->syms[i].size > prev->size)
				prev->size = s->syms[i].size;
			continue;
		}
		s->syms[j++] = s->syms[i];
	}
	s->nsyms = j;
}

/* The end of the PT_LOAD holding addr, to bound a last unsized symbol. */
static uint64_t seg_end(const struct elf_symtab *s, uint64_t addr)
{
	size_t i;

	for (i = 0; i < s->nsegs; i++) {
		const struct elf_seg *g = &s->segs[i];

		if (addr >= g->vaddr && addr - g->vaddr < g->memsz)
			return g->vaddr + g->memsz;
	}
	return addr + 1;
}

/* Unsized symbols (often hand-written assembly) reach the next symbol. */
static void size_unsized(struct elf_symtab *s)
{
	size_t i;

	for (i = 0; i < s->nsyms; i++) {
		struct elf_sym *sym = &s->syms[i];

		if (sym->size)
			continue;
		if (i + 1 < s->nsyms)
			sym->size = s->syms[i + 1].addr - sym->addr;
		else
			sym->size = seg_end(s, sym->addr) - sym->addr;
	}
}

/*
 * Copies the kept names out of the string table, which libelf frees with
 * the Elf. The total is capped: many symbols may share one long name.
 */
/* "memcpy@@GLIBC_2.14" is memcpy: the length without the version. */
static size_t unversioned_len(const char *name)
{
	const char *at = strchr(name, '@');

	return at && at != name ? (size_t)(at - name) : strlen(name);
}

static int copy_names(struct elf_symtab *s, const Elf_Data *strs)
{
	const char *base = strs->d_buf;
	size_t total = 0, i, len;
	char *p;

	for (i = 0; i < s->nsyms; i++) {
		total += unversioned_len(base + s->syms[i].name) + 1;
		if (total > STRTAB_MAX_SIZE)
			return -EFBIG;
	}
	s->names = malloc(total ? total : 1);
	if (!s->names)
		return -ENOMEM;
	s->names_len = total;
	for (i = 0, p = s->names; i < s->nsyms; i++, p += len + 1) {
		len = unversioned_len(base + s->syms[i].name);
		memcpy(p, base + s->syms[i].name, len);
		p[len] = '\0';
		s->syms[i].name = (uint32_t)(p - s->names);
	}
	return 0;
}

/* Gives back the room of the symbols that were not functions. */
static void shrink(struct elf_symtab *s)
{
	struct elf_sym *p;

	if (!s->nsyms)
		return;
	p = realloc(s->syms, s->nsyms * sizeof(*s->syms));
	if (p)
		s->syms = p;
}

static int load_symbols(struct loader *ld, Elf_Scn *scn)
{
	size_t entsize = gelf_fsize(ld->elf, ELF_T_SYM, 1, EV_CURRENT);
	Elf_Data *syms, *strs;
	GElf_Shdr sh;
	int err;

	if (!gelf_getshdr(scn, &sh) || !entsize || sh.sh_entsize != entsize)
		return -EINVAL;
	err = section_data(ld, scn, sh.sh_type, SYMTAB_MAX_SIZE, &syms);
	if (err)
		return err;
	err = section_data(ld, elf_getscn(ld->elf, sh.sh_link), SHT_STRTAB,
			   STRTAB_MAX_SIZE, &strs);
	if (err)
		return err;
	err = collect(ld->s, syms, strs, syms->d_size / entsize);
	if (err)
		return err;
	qsort(ld->s->syms, ld->s->nsyms, sizeof(*ld->s->syms), sym_cmp);
	dedup(ld->s);
	size_unsized(ld->s);
	shrink(ld->s);
	return copy_names(ld->s, strs);
}

static int load_elf(struct loader *ld);

/*
 * Adds extra's symbols to s's (both loaded whole): the names are copied
 * after s's, the symbols sorted and deduplicated again. 0 or -errno.
 */
static int merge_symbols(struct elf_symtab *s, const struct elf_symtab *extra)
{
	size_t names_len = s->names ? s->names_len : 0;
	size_t extra_len = extra->names_len, n = s->nsyms + extra->nsyms;
	struct elf_sym *syms;
	char *names;

	if (names_len + extra_len > STRTAB_MAX_SIZE)
		return -EFBIG;
	syms = realloc(s->syms, (n ? n : 1) * sizeof(*syms));
	if (!syms)
		return -ENOMEM;
	s->syms = syms;
	names = realloc(s->names, names_len + extra_len + 1);
	if (!names)
		return -ENOMEM;
	s->names = names;
	memcpy(names + names_len, extra->names, extra_len);
	for (size_t i = 0; i < extra->nsyms; i++) {
		syms[s->nsyms + i] = extra->syms[i];
		syms[s->nsyms + i].name += (uint32_t)names_len;
	}
	s->nsyms = n;
	s->names_len = names_len + extra_len;
	qsort(s->syms, s->nsyms, sizeof(*s->syms), sym_cmp);
	dedup(s);
	return 0;
}

/*
 * Before libelf sees the file: its section count, extended numbering
 * included (e_shnum 0, the count in section 0's sh_size), at most
 * SECTIONS_MAX. A 64 MiB sparse file claiming a million sections would
 * otherwise cost libelf ~270 MiB. Only this host's byte order is read.
 */
typedef bool (*read_fn)(void *ctx, void *buf, size_t n, uint64_t off);

static bool read_fd(void *ctx, void *buf, size_t n, uint64_t off)
{
	return pread(*(int *)ctx, buf, n, (off_t)off) == (ssize_t)n;
}

struct mem {
	const void *p;
	size_t len;
};

static bool read_mem(void *ctx, void *buf, size_t n, uint64_t off)
{
	const struct mem *m = ctx;

	if (off > m->len || n > m->len - off)
		return false;
	memcpy(buf, (const char *)m->p + off, n);
	return true;
}

static int check_section_count(read_fn rd, void *ctx)
{
	unsigned char ident[EI_NIDENT];
	uint64_t shoff, shnum;
	Elf64_Ehdr e64;
	Elf32_Ehdr e32;
	bool is64;

	if (!rd(ctx, ident, sizeof(ident), 0) || memcmp(ident, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ?
			       ELFDATA2LSB : ELFDATA2MSB))
		return -ENOEXEC;
	is64 = ident[EI_CLASS] == ELFCLASS64;
	if (is64 ? !rd(ctx, &e64, sizeof(e64), 0) : !rd(ctx, &e32, sizeof(e32), 0))
		return -ENOEXEC;
	shoff = is64 ? e64.e_shoff : e32.e_shoff;
	shnum = is64 ? e64.e_shnum : e32.e_shnum;
	if (!shnum && shoff) {
		Elf64_Shdr s64;
		Elf32_Shdr s32;

		if (is64 ? !rd(ctx, &s64, sizeof(s64), shoff) :
			   !rd(ctx, &s32, sizeof(s32), shoff))
			return -EINVAL;
		shnum = is64 ? s64.sh_size : s32.sh_size;
	}
	return shnum > SECTIONS_MAX ? -EFBIG : 0;
}

int elf_file__check_sections(int fd)
{
	return check_section_count(read_fd, &fd);
}

/*
 * .gnu_debugdata: inflate it, load its .symtab as a file of its own, and
 * add its functions. Any failure leaves s as it was: names are a bonus.
 */
static void load_minidebuginfo(struct loader *ld)
{
	struct loader inner = { .inner = true };
	size_t outlen = 0;
	uint8_t *out = NULL;
	Elf_Data *d;
	GElf_Shdr sh;

	if (!gelf_getshdr(ld->debugdata, &sh) || (sh.sh_flags & SHF_COMPRESSED) ||
	    sh.sh_size > MINIDEBUG_MAX_IN ||
	    !range_ok(sh.sh_offset, sh.sh_size, ld->file_size))
		return;
	d = elf_getdata(ld->debugdata, NULL);
	if (!d || !d->d_buf || d->d_size != sh.sh_size ||
	    minidebug__inflate(d->d_buf, d->d_size, &out, &outlen))
		return;
	inner.file_size = outlen;
	if (check_section_count(read_mem, &(struct mem){ out, outlen })) {
		free(out);
		return;
	}
	inner.s = symtab_new();
	inner.elf = inner.s ? elf_memory((char *)out, outlen) : NULL;
	if (inner.elf && !load_elf(&inner) && inner.s->has_symtab &&
	    !merge_symbols(ld->s, inner.s))
		ld->s->from_minidebuginfo = true;
	if (inner.elf)
		elf_end(inner.elf);
	elf_symtab__free(inner.s);
	free(out);
}

/*
 * A file without any symbol table still loads (with no symbols): its
 * segments and build-id are useful on their own.
 */
static int load_elf(struct loader *ld)
{
	Elf_Scn *symscn;
	int err;

	err = check_ehdr(ld);
	if (err)
		return err;
	err = scan_phdrs(ld);
	if (err)
		return err;
	err = scan_sections(ld, &symscn);
	if (err)
		return err;
	if (symscn)
		err = load_symbols(ld, symscn);
	/* Stripped, with MiniDebugInfo: its static functions too. */
	if (!err && !ld->s->has_symtab && ld->debugdata)
		load_minidebuginfo(ld);
	return err;
}

struct elf_symtab *elf_symtab__load(int fd)
{
	struct loader ld = { 0 };
	struct stat st;
	int err;

	err = elf__init();
	if (err)
		goto cleanup;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	/* Not a device or FIFO a tenant put where a library should be. */
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto cleanup;
	}
	ld.file_size = (uint64_t)st.st_size;
	err = check_section_count(read_fd, &fd);
	if (err)
		goto cleanup;
	ld.s = symtab_new();
	if (!ld.s) {
		err = -ENOMEM;
		goto cleanup;
	}
	ld.elf = elf_begin(fd, ELF_C_READ, NULL);
	err = ld.elf ? load_elf(&ld) : -EINVAL;
	/* Lines and inlined frames are read later, only for sampled code. */
	if (!err && ld.has_debug_info && ld.has_debug_line)
		ld.s->dwarf_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
cleanup:
	if (ld.elf)
		elf_end(ld.elf);
	if (err) {
		elf_symtab__free(ld.s);
		errno = -err;
		return NULL;
	}
	return ld.s;
}

size_t elf_symtab__bytes(const struct elf_symtab *s)
{
	if (!s)
		return 0;
	return sizeof(*s) + s->nsyms * sizeof(*s->syms) + s->names_len +
	       s->nsegs * sizeof(*s->segs);
}

void elf_symtab__free(struct elf_symtab *s)
{
	if (!s)
		return;
	if (s->dwarf_fd >= 0)
		close(s->dwarf_fd);
	free(s->syms);
	free(s->names);
	free(s->segs);
	free(s);
}

bool elf_symtab__offset_to_vaddr(const struct elf_symtab *s, uint64_t off,
				 uint64_t *vaddr)
{
	size_t i;

	for (i = 0; s && i < s->nsegs; i++) {
		const struct elf_seg *g = &s->segs[i];

		if (off >= g->offset && off - g->offset < g->filesz) {
			*vaddr = off - g->offset + g->vaddr;
			return true;
		}
	}
	return false;
}

const char *elf_symtab__lookup(const struct elf_symtab *s, uint64_t vaddr,
			       uint64_t *sym_off)
{
	size_t lo = 0, hi = s ? s->nsyms : 0, mid;
	const struct elf_sym *sym;

	/* Find the last symbol starting at or before vaddr. */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (s->syms[mid].addr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	sym = &s->syms[lo - 1];
	if (vaddr - sym->addr >= sym->size)
		return NULL;
	if (sym_off)
		*sym_off = vaddr - sym->addr;
	return s->names + sym->name;
}

const uint8_t *elf_symtab__build_id(const struct elf_symtab *s, size_t *len)
{
	size_t n = s ? s->build_id_len : 0;

	if (len)
		*len = n;
	return n ? s->build_id : NULL;
}

size_t elf_symtab__count(const struct elf_symtab *s)
{
	return s ? s->nsyms : 0;
}

bool elf_symtab__has_symtab(const struct elf_symtab *s)
{
	return s && s->has_symtab;
}

const char *elf_symtab__debuglink(const struct elf_symtab *s, uint32_t *crc)
{
	if (!s || !s->debuglink[0])
		return NULL;
	*crc = s->debuglink_crc;
	return s->debuglink;
}

void elf_symtab__take_symbols(struct elf_symtab *dst, struct elf_symtab *src)
{
	free(dst->syms);
	free(dst->names);
	dst->syms = src->syms;
	dst->nsyms = src->nsyms;
	dst->names = src->names;
	dst->names_len = src->names_len;
	dst->has_symtab = src->has_symtab;
	src->syms = NULL;
	src->names = NULL;
	src->nsyms = 0;
	if (src->dwarf_fd >= 0) {
		if (dst->dwarf_fd >= 0)
			close(dst->dwarf_fd);
		dst->dwarf_fd = src->dwarf_fd;
		src->dwarf_fd = -1;
	}
}

int elf_symtab__dwarf_fd(const struct elf_symtab *s)
{
	return s ? s->dwarf_fd : -1;
}

bool elf_symtab__has_minidebuginfo(const struct elf_symtab *s)
{
	return s && s->from_minidebuginfo;
}
