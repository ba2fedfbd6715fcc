// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <dwarf.h>
#include <elfutils/libdw.h>
#include "python_dwarf.h"

#define CEVAL_UNIT "Python/ceval.c"

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && !strcmp(s + n - t, tail);
}

/* The unit of Python/ceval.c into *cu; false if none. */
static bool ceval_unit(Dwarf *dw, Dwarf_Die *cu)
{
	Dwarf_Off off = 0, next;
	size_t hsize;

	while (!dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL)) {
		const char *name;

		if (dwarf_offdie(dw, off + hsize, cu) &&
		    (name = dwarf_diename(cu)) && ends_with(name, CEVAL_UNIT))
			return true;
		off = next;
	}
	return false;
}

/* The type die refers to, through typedefs and qualifiers. */
static bool type_of(Dwarf_Die *die, Dwarf_Die *out)
{
	Dwarf_Attribute a;

	if (!dwarf_formref_die(dwarf_attr(die, DW_AT_type, &a), out))
		return false;
	while (dwarf_tag(out) == DW_TAG_typedef ||
	       dwarf_tag(out) == DW_TAG_const_type ||
	       dwarf_tag(out) == DW_TAG_volatile_type) {
		Dwarf_Die t = *out;

		if (!dwarf_formref_die(dwarf_attr(&t, DW_AT_type, &a), out))
			return false;
	}
	return true;
}

/* The defined struct a top-level typedef of the unit names. */
static bool struct_named(Dwarf_Die *cu, const char *typedef_name,
			 Dwarf_Die *out)
{
	Dwarf_Die d, s;
	const char *tag_name = NULL;

	if (dwarf_child(cu, &d))
		return false;
	do {
		const char *n = dwarf_diename(&d);

		if (dwarf_tag(&d) != DW_TAG_typedef || !n ||
		    strcmp(n, typedef_name) || !type_of(&d, &s))
			continue;
		if (dwarf_tag(&s) != DW_TAG_structure_type)
			return false;
		if (!dwarf_hasattr(&s, DW_AT_declaration)) {
			*out = s;
			return true;
		}
		tag_name = dwarf_diename(&s);	/* defined elsewhere */
		break;
	} while (!dwarf_siblingof(&d, &d));
	if (!tag_name || dwarf_child(cu, &d))
		return false;
	do {
		const char *n = dwarf_diename(&d);

		if (dwarf_tag(&d) == DW_TAG_structure_type && n &&
		    !strcmp(n, tag_name) && !dwarf_hasattr(&d, DW_AT_declaration)) {
			*out = d;
			return true;
		}
	} while (!dwarf_siblingof(&d, &d));
	return false;
}

/* The offset of member name in struct s (its die into *m); -1 if none. */
static long member(Dwarf_Die *s, const char *name, Dwarf_Die *m)
{
	Dwarf_Attribute a;
	Dwarf_Word off;

	if (dwarf_child(s, m))
		return -1;
	do {
		const char *n = dwarf_diename(m);

		if (dwarf_tag(m) == DW_TAG_member && n && !strcmp(n, name))
			return dwarf_formudata(dwarf_attr(m, DW_AT_data_member_location,
							  &a), &off) ? -1 : (long)off;
	} while (!dwarf_siblingof(m, m));
	return -1;
}

#define NO_STRUCT (-2)	/* the unit does not define it: not checked */

/*
 * The offset of member outer of struct typedef_name, or of member inner
 * of that (a struct); -1 if a member is missing, NO_STRUCT.
 */
static long offset_of(Dwarf_Die *cu, const char *typedef_name,
		      const char *outer, const char *inner)
{
	Dwarf_Die s, m, t;
	long off, in;

	if (!struct_named(cu, typedef_name, &s))
		return NO_STRUCT;
	off = member(&s, outer, &m);
	if (off < 0 || !inner)
		return off;
	if (!type_of(&m, &t) || dwarf_tag(&t) != DW_TAG_structure_type)
		return -1;
	in = member(&t, inner, &m);
	return in < 0 ? -1 : off + in;
}

static long size_of(Dwarf_Die *cu, const char *typedef_name)
{
	Dwarf_Die s;

	return struct_named(cu, typedef_name, &s) ? dwarf_bytesize(&s) : NO_STRUCT;
}

/* What the DWARF says beside what the table says. */
struct field_check {
	long dwarf;
	uint16_t table;
};

static int compare(Dwarf_Die *cu, uint16_t version, const struct py_layout *l,
		   const struct py_code_layout *code)
{
	const char *linetable = version >= 0x030a ? "co_linetable" : "co_lnotab";
	const struct field_check f[] = {
		{ offset_of(cu, "_PyRuntimeState", "interpreters", "head"),
		  l->runtime_interp_head },
		{ offset_of(cu, "PyInterpreterState", "tstate_head", NULL),
		  l->interp_threads_head },
		{ offset_of(cu, "PyThreadState", "next", NULL), l->tstate_next },
		{ offset_of(cu, "PyThreadState", "thread_id", NULL),
		  l->tstate_thread_id },
		{ offset_of(cu, "PyThreadState", "frame", NULL), l->current_frame },
		{ offset_of(cu, "PyFrameObject", "f_code", NULL), l->frame_code },
		{ offset_of(cu, "PyFrameObject", "f_back", NULL), l->frame_previous },
		{ offset_of(cu, "PyFrameObject", "f_lasti", NULL), l->frame_instr },
		{ offset_of(cu, "PyCodeObject", "co_name", NULL), code->qualname },
		{ offset_of(cu, "PyCodeObject", "co_filename", NULL), code->filename },
		{ offset_of(cu, "PyCodeObject", "co_firstlineno", NULL),
		  code->firstlineno },
		{ offset_of(cu, "PyCodeObject", linetable, NULL), code->linetable },
		{ size_of(cu, "PyASCIIObject"), code->ascii_data },
		{ size_of(cu, "PyCompactUnicodeObject"), code->compact_data },
	};
	size_t checked = 0;

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		if (f[i].dwarf == NO_STRUCT)
			continue;
		if (f[i].dwarf != f[i].table)
			return -ENOTSUP;
		checked++;
	}
	return checked ? 0 : -ENOENT;
}

int py_dwarf__check(Elf *e, uint16_t version, const struct py_layout *l,
		    const struct py_code_layout *code)
{
	Dwarf *dw = dwarf_begin_elf(e, DWARF_C_READ, NULL);
	Dwarf_Die cu;
	int err = -ENOENT;

	if (!dw)
		return -ENOENT;
	if (ceval_unit(dw, &cu))
		err = compare(&cu, version, l, code);
	dwarf_end(dw);
	return err;
}
