// SPDX-License-Identifier: MIT
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "elfsyms.h"
#include "python_dwarf.h"
#include "python_layout.h"

/*
 * 3.8-3.10 (PyFrameObjects) and 3.11, 3.12 (_PyInterpreterFrames): the
 * fields from their headers, x86-64, as offsetof() gives them in pyenv's
 * builds' DWARF (tests/unit/fixtures/py_old.h checks the older three).
 * f_lasti is frame_instr; qualname is co_name before 3.11 (no
 * co_qualname), linetable co_lnotab (3.8, 3.9) or co_linetable (3.10).
 */
#define PY_OBJECT_FRAMES(lasti) \
	.runtime_interp_head = 32, .interp_threads_head = 8,		\
	.tstate_next = 8, .tstate_thread_id = 176,			\
	.tstate_cframe = PY_NO_FIELD, .current_frame = 24,		\
	.frame_code = 32, .frame_previous = 24, .frame_instr = (lasti),	\
	.frame_owner = PY_NO_FIELD, .frame_is_entry = PY_NO_FIELD,	\
	.code_adaptive = PY_NO_FIELD
#define PY_OBJECT_CODE \
	.qualname = 112, .filename = 104, .firstlineno = 40,		\
	.linetable = 120, .ascii_data = 48, .compact_data = 72

static const struct {
	uint16_t version;
	struct py_layout l;
	struct py_code_layout code;
} known[] = {
	{ 0x0308, { PY_OBJECT_FRAMES(104) }, { PY_OBJECT_CODE } },
	{ 0x0309, { PY_OBJECT_FRAMES(104) }, { PY_OBJECT_CODE } },
	{ 0x030a, { PY_OBJECT_FRAMES(96) }, { PY_OBJECT_CODE } },
	{ 0x030b, {
		.runtime_interp_head = 40, .interp_threads_head = 16,
		.tstate_next = 8, .tstate_thread_id = 152,
		.tstate_cframe = 56, .current_frame = 8,
		.frame_code = 32, .frame_previous = 48, .frame_instr = 56,
		.frame_owner = 69, .frame_is_entry = 68, .code_adaptive = 184,
	  }, { .qualname = 128, .filename = 112, .firstlineno = 72,
	       .linetable = 136, .ascii_data = 48, .compact_data = 72 } },
	{ 0x030c, {
		.runtime_interp_head = 40, .interp_threads_head = 72,
		.tstate_next = 8, .tstate_thread_id = 136,
		.tstate_cframe = 56, .current_frame = 0,
		.frame_code = 0, .frame_previous = 8, .frame_instr = 56,
		.frame_owner = 70, .frame_is_entry = PY_NO_FIELD,
		.code_adaptive = 192,
	  }, { .qualname = 128, .filename = 112, .firstlineno = 68,
	       .linetable = 136, .ascii_data = 40, .compact_data = 56 } },
};

int py_layout__of_version(uint16_t version, struct py_layout *l,
			  struct py_code_layout *code)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (known[i].version != version)
			continue;
		*l = known[i].l;
		*code = known[i].code;
		return 0;
	}
	return -ENOTSUP;
}

/* ---- _Py_DebugOffsets (3.13+): u64 fields at these byte offsets ---- */

enum {
	DO_VERSION = 8,
	DO_INTERP_HEAD = 40,		/* runtime_state.interpreters_head */
	DO_THREADS_HEAD = 72,		/* interpreter_state.threads_head */
	DO_TSTATE_NEXT = 168,
	DO_TSTATE_FRAME = 184,		/* thread_state.current_frame */
	DO_TSTATE_THREAD_ID = 192,
	DO_FRAME_PREVIOUS = 232,
	DO_FRAME_EXECUTABLE = 240,
	DO_FRAME_INSTR = 248,
	DO_FRAME_OWNER = 264,
	DO_CODE_FILENAME = 280,
	DO_CODE_QUALNAME = 296,
	DO_CODE_LINETABLE = 304,
	DO_CODE_FIRSTLINENO = 312,
	DO_CODE_ADAPTIVE = 344,
};

static uint64_t le64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The u64 at off as a u16 offset; false if it is not one. */
static bool field(const uint8_t *buf, size_t off, uint16_t *out)
{
	uint64_t v = le64(buf + off);

	if (v >= PY_NO_FIELD)
		return false;
	*out = (uint16_t)v;
	return true;
}

int py_layout__from_debug_offsets(const uint8_t *buf, size_t len,
				  uint16_t *version, struct py_layout *l,
				  struct py_code_layout *code)
{
	uint64_t hex;
	bool ok = true;

	if (len < PY_DEBUG_OFFSETS_LEN)
		return -EINVAL;
	if (memcmp(buf, "xdebugpy", 8))
		return -ENOENT;
	hex = le64(buf + DO_VERSION);
	*version = (uint16_t)(hex >> 16);
	if ((hex >> 24) != 3 || *version < 0x030d || *version > PY_VERSION_LAST)
		return -ENOTSUP;
	*l = (struct py_layout){ .tstate_cframe = PY_NO_FIELD,
				 .frame_is_entry = PY_NO_FIELD };
	ok = ok && field(buf, DO_INTERP_HEAD, &l->runtime_interp_head);
	ok = ok && field(buf, DO_THREADS_HEAD, &l->interp_threads_head);
	ok = ok && field(buf, DO_TSTATE_NEXT, &l->tstate_next);
	ok = ok && field(buf, DO_TSTATE_THREAD_ID, &l->tstate_thread_id);
	ok = ok && field(buf, DO_TSTATE_FRAME, &l->current_frame);
	ok = ok && field(buf, DO_FRAME_EXECUTABLE, &l->frame_code);
	ok = ok && field(buf, DO_FRAME_PREVIOUS, &l->frame_previous);
	ok = ok && field(buf, DO_FRAME_INSTR, &l->frame_instr);
	ok = ok && field(buf, DO_FRAME_OWNER, &l->frame_owner);
	ok = ok && field(buf, DO_CODE_ADAPTIVE, &l->code_adaptive);
	ok = ok && field(buf, DO_CODE_QUALNAME, &code->qualname);
	ok = ok && field(buf, DO_CODE_FILENAME, &code->filename);
	ok = ok && field(buf, DO_CODE_FIRSTLINENO, &code->firstlineno);
	ok = ok && field(buf, DO_CODE_LINETABLE, &code->linetable);
	/* PyASCIIObject and PyCompactUnicodeObject as in 3.12. */
	code->ascii_data = 40;
	code->compact_data = 56;
	return ok ? 0 : -ENOTSUP;
}

/* ---- the ELF file ---- */

/* The value of symbol name in .dynsym, with its section; false if none. */
static bool dynsym_find(Elf *e, const char *name, GElf_Sym *out)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;
		size_t n;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		n = sh.sh_size / sh.sh_entsize;
		for (size_t i = 0; d && i < n; i++) {
			GElf_Sym s;
			const char *nm;

			if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
				continue;
			nm = elf_strptr(e, sh.sh_link, s.st_name);
			if (nm && !strcmp(nm, name)) {
				*out = s;
				return true;
			}
		}
	}
	return false;
}

/* len bytes of the file's contents at ELF address sym.st_value. */
static int sym_bytes(Elf *e, int fd, const GElf_Sym *sym, void *buf, size_t len)
{
	Elf_Scn *scn = elf_getscn(e, sym->st_shndx);
	GElf_Shdr sh;
	uint64_t off;

	if (!scn || !gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
	    sym->st_value < sh.sh_addr ||
	    sym->st_value - sh.sh_addr + len > sh.sh_size)
		return -ENOENT;
	off = sh.sh_offset + (sym->st_value - sh.sh_addr);
	if (pread(fd, buf, len, (off_t)off) != (ssize_t)len)
		return -EIO;
	return 0;
}

/*
 * 3.8-3.10 have no Py_Version: the newest function of the C API the file
 * exports says which (each was added in that version and kept since).
 */
static const struct {
	const char *name;
	uint16_t version;
} api_added[] = {
	{ "Py_IsNone", 0x030a },
	{ "PyThreadState_GetFrame", 0x0309 },
	{ "PyCode_NewWithPosOnlyArgs", 0x0308 },
};

/* The minor version a "libpython3.N..." soname names, or -1. */
static int soname_minor(Elf *e)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(e, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNAMIC ||
		    !sh.sh_entsize)
			continue;
		d = elf_getdata(scn, NULL);
		for (size_t i = 0; d && i < sh.sh_size / sh.sh_entsize; i++) {
			const char *name;
			GElf_Dyn dyn;
			unsigned minor;

			if (!gelf_getdyn(d, (int)i, &dyn) || dyn.d_tag != DT_SONAME)
				continue;
			name = elf_strptr(e, sh.sh_link, dyn.d_un.d_val);
			if (name && sscanf(name, "libpython3.%u", &minor) == 1 &&
			    minor < 100)
				return (int)minor;
		}
	}
	return -1;
}

static int read_old_version(Elf *e, struct py_file *f)
{
	int minor = soname_minor(e), err;
	GElf_Sym s;

	for (size_t i = 0; i < sizeof(api_added) / sizeof(api_added[0]); i++) {
		if (dynsym_find(e, api_added[i].name, &s)) {
			f->version = api_added[i].version;
			break;
		}
	}
	if (!f->version)
		return -ENOTSUP;	/* older than 3.8 */
	if (minor >= 0 && minor != (f->version & 0xff))
		return -ENOTSUP;	/* its name says another version */
	err = py_layout__of_version(f->version, &f->l, &f->code);
	if (err)
		return err;
	/* Its own DWARF, if it has some, must agree. */
	err = py_dwarf__check(e, f->version, &f->l, &f->code);
	return err == -ENOTSUP ? err : 0;
}

static int read_version(Elf *e, int fd, struct py_file *f, const GElf_Sym *rt)
{
	uint8_t dbg[PY_DEBUG_OFFSETS_LEN];
	GElf_Sym vs;
	uint32_t hex;
	int err;

	f->version = 0;
	if (!dynsym_find(e, "Py_Version", &vs))
		return read_old_version(e, f);	/* older than 3.11 */
	err = sym_bytes(e, fd, &vs, &hex, sizeof(hex));
	if (err)
		return err;
	f->version = (uint16_t)(hex >> 16);
	if (f->version < 0x030d)
		return py_layout__of_version(f->version, &f->l, &f->code);
	err = sym_bytes(e, fd, rt, dbg, sizeof(dbg));
	return err ?: py_layout__from_debug_offsets(dbg, sizeof(dbg),
						    &f->version, &f->l, &f->code);
}

int py_file__read(int fd, struct py_file *f)
{
	GElf_Sym rt;
	Elf *e;
	int err;

	memset(f, 0, sizeof(*f));
	if (elf__init())
		return -ENOTSUP;
	err = elf_file__check_sections(fd);
	if (err)
		return err;
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e)
		return -ENOEXEC;
	if (!dynsym_find(e, "_PyRuntime", &rt)) {
		elf_end(e);
		return -ENOENT;
	}
	f->runtime_vaddr = rt.st_value;
	err = read_version(e, fd, f, &rt);
	elf_end(e);
	return err ?: elf_loads__read(fd, &f->loads);
}
