// SPDX-License-Identifier: MIT
#include <stdbool.h>
#include "python_lines.h"

uint32_t py_code__line(uint16_t version, const uint8_t *table, size_t len,
		       uint32_t first, uint32_t instr)
{
	uint32_t addr = instr > UINT32_MAX / 2 ? UINT32_MAX : 2 * instr;

	if (version < 0x030a)
		return py_lnotab__line(table, len, first, addr);
	if (version == 0x030a)
		return py_linetable310__line(table, len, first, addr);
	return py_linetable__line(table, len, first, instr);
}

/* A line counted from another process's table: first unless positive. */
static uint32_t line_or(int64_t line, uint32_t first)
{
	return line > 0 && line <= UINT32_MAX ? (uint32_t)line : first;
}

/*
 * (bytecode bytes, line delta) pairs: the line changes once addr is
 * reached. Unsigned byte deltas; signed line deltas (Objects/lnotab_notes.txt).
 */
uint32_t py_lnotab__line(const uint8_t *table, size_t len, uint32_t first,
			 uint32_t addr)
{
	int64_t line = first;
	uint64_t at = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		at += table[i];
		if (at > addr)
			break;
		line += (int8_t)table[i + 1];
	}
	return line_or(line, first);
}

/*
 * (range length in bytes, line delta) pairs, each a range of bytecode
 * after the last; a delta of -128: that range has no line. Ranges of no
 * length only move the line.
 */
uint32_t py_linetable310__line(const uint8_t *table, size_t len,
			       uint32_t first, uint32_t addr)
{
	int64_t line = first, range_line;
	uint64_t end = 0;

	for (size_t i = 0; i + 1 < len; i += 2) {
		int8_t delta = (int8_t)table[i + 1];

		end += table[i];
		range_line = -1;
		if (delta != -128) {
			line += delta;
			range_line = line;
		}
		if (addr < end)
			return line_or(range_line, first);
	}
	return first;
}

/* ---- 3.11+: Objects/locations.md ---- */

struct cursor {
	const uint8_t *p, *end;
};

static bool varint(struct cursor *c, uint32_t *out)
{
	uint32_t v = 0;

	for (int shift = 0; shift < 32 && c->p < c->end; shift += 6) {
		uint8_t b = *c->p++;

		v |= (uint32_t)(b & 63) << shift;
		if (!(b & 64)) {
			*out = v;
			return true;
		}
	}
	return false;
}

static bool svarint(struct cursor *c, int32_t *out)
{
	uint32_t v;

	if (!varint(c, &v))
		return false;
	*out = v & 1 ? -(int32_t)(v >> 1) : (int32_t)(v >> 1);
	return true;
}

/* Moves past one entry's extra bytes; its line delta into *delta. */
static bool entry_delta(struct cursor *c, int code, int32_t *delta)
{
	uint32_t skip;

	*delta = 0;
	switch (code) {
	case 15:	/* no location */
		return true;
	case 14:	/* long form: line, end line, column, end column */
		return svarint(c, delta) && varint(c, &skip) &&
		       varint(c, &skip) && varint(c, &skip);
	case 13:	/* no column */
		return svarint(c, delta);
	case 12: case 11: case 10:	/* one line: two column bytes */
		*delta = code - 10;
		if (c->end - c->p < 2)
			return false;
		c->p += 2;
		return true;
	default:	/* short form: one column byte */
		if (c->p >= c->end)
			return false;
		c->p++;
		return true;
	}
}

uint32_t py_linetable__line(const uint8_t *table, size_t len, uint32_t first,
			    uint32_t instr)
{
	struct cursor c = { table, table + len };
	int64_t line = first;
	uint32_t addr = 0;

	while (c.p < c.end) {
		uint8_t b = *c.p++;
		int code = (b >> 3) & 15;
		uint32_t units = (b & 7) + 1;
		int32_t delta;

		if (!(b & 0x80) || !entry_delta(&c, code, &delta))
			return first;
		line += delta;
		if (instr < addr + units)
			return code == 15 || line <= 0 ? first : (uint32_t)line;
		addr += units;
	}
	return first;
}
