// SPDX-License-Identifier: MIT
/*
 * Rust's v0 symbol names (see demangle_rust_v0.h), read by the grammar of
 * RFC 2603 (and its later constants: str, &, arrays, tuples, ADTs).
 *
 * The grammar is recursive, and its backreferences ("B<n>_") point to an
 * earlier position of the same name: each is followed only backwards, the
 * nesting is limited (MAX_DEPTH), and so is the work (MAX_STEPS rules
 * applied, long identifiers and constants counting more), since a chain
 * of backrefs can make it exponential in the name's length. Every read is
 * checked against the name's length.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "demangle_rust_v0.h"
#include "punycode.h"

#define MAX_DEPTH	128	/* paths, types and consts within each other */
#define MAX_STEPS	(1u << 14)	/* rules applied (rustc 1.95 std names: <= 226) */
#define MAX_BINDER	64	/* lifetimes bound by one for<...> */
#define MAX_IDENT_CHARS	256	/* code points of a Punycode identifier */

/* One name being demangled. */
struct rdm {
	const char *in;		/* after "_R": backrefs count from here */
	size_t len, pos;
	struct rust_text *text;
	unsigned depth, steps;
	uint64_t bound_lifetimes;	/* by the enclosing for<...> */
};

static void put_n(struct rdm *d, const char *s, size_t n)
{
	rust_text__put_n(d->text, s, n);
}

static void put(struct rdm *d, const char *s)
{
	rust_text__put(d->text, s);
}

static void put_u64(struct rdm *d, uint64_t v)
{
	rust_text__put_u64(d->text, v);
}

/* ---- reading ---- */

static int peek(const struct rdm *d)
{
	return d->pos < d->len ? (unsigned char)d->in[d->pos] : -1;
}

/* The next character, consumed; -1 at the end (nothing consumed). */
static int next(struct rdm *d)
{
	int c = peek(d);

	if (c >= 0)
		d->pos++;
	return c;
}

static bool eat(struct rdm *d, int c)
{
	if (peek(d) != c)
		return false;
	d->pos++;
	return true;
}

static bool is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static bool is_ident_char(int c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '_';
}

/* Counts one rule applied, one level deeper; leave() when done with it. */
static int enter(struct rdm *d)
{
	d->depth++;
	if (d->depth > MAX_DEPTH || ++d->steps > MAX_STEPS)
		return -E2BIG;
	return 0;
}

/* Work proportional to n characters, counted with the rules. */
static int charge(struct rdm *d, size_t n)
{
	d->steps += (unsigned)(n / 16 < MAX_STEPS ? n / 16 : MAX_STEPS);
	return d->steps > MAX_STEPS ? -E2BIG : 0;
}

static int leave(struct rdm *d, int err)
{
	d->depth--;
	return err;
}

/* <decimal-number>: "0", or digits not starting with 0. */
static int decimal(struct rdm *d, uint64_t *v)
{
	uint64_t x = 0;
	int c = peek(d);

	if (!is_digit(c))
		return -EINVAL;
	if (c == '0') {
		d->pos++;
		*v = 0;
		return 0;
	}
	while (is_digit(c = peek(d))) {
		if (x > (UINT64_MAX - (uint64_t)(c - '0')) / 10)
			return -EINVAL;
		x = x * 10 + (uint64_t)(c - '0');
		d->pos++;
	}
	*v = x;
	return 0;
}

/* <base-62-number>: "_" is 0; digits [0-9a-zA-Z] then "_" are their value + 1. */
static int base62(struct rdm *d, uint64_t *v)
{
	uint64_t x = 0, digit;
	int c;

	if (eat(d, '_')) {
		*v = 0;
		return 0;
	}
	while ((c = peek(d)) != '_') {
		if (is_digit(c))
			digit = (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'z')
			digit = 10 + (uint64_t)(c - 'a');
		else if (c >= 'A' && c <= 'Z')
			digit = 36 + (uint64_t)(c - 'A');
		else
			return -EINVAL;
		if (x > (UINT64_MAX - 1 - digit) / 62)
			return -EINVAL;
		x = x * 62 + digit;
		d->pos++;
	}
	d->pos++;
	*v = x + 1;
	return 0;
}

/* tag <base-62-number> as its value + 1, or 0 without the tag (disambiguators, binders). */
static int opt_base62(struct rdm *d, int tag, uint64_t *v)
{
	int err;

	*v = 0;
	if (!eat(d, tag))
		return 0;
	err = base62(d, v);
	if (err)
		return err;
	if (*v == UINT64_MAX)
		return -EINVAL;
	(*v)++;
	return 0;
}

/*
 * "B<base-62>" with the B read: moves to the earlier position it names,
 * *back is where to come back to. Never forwards nor onto itself.
 */
static int backref(struct rdm *d, size_t *back)
{
	size_t at = d->pos - 1;
	uint64_t target;
	int err = base62(d, &target);

	if (err)
		return err;
	if (target >= at)
		return -EINVAL;
	*back = d->pos;
	d->pos = (size_t)target;
	return 0;
}

/* ---- identifiers ---- */

struct ident {
	const char *s;
	size_t n;
	bool punycode;
};

/* <undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes> */
static int ident(struct rdm *d, struct ident *id)
{
	uint64_t n;
	int err;

	id->punycode = eat(d, 'u');
	err = decimal(d, &n);
	if (err)
		return err;
	eat(d, '_');
	if (n > d->len - d->pos)
		return -EINVAL;
	err = charge(d, (size_t)n);
	if (err)
		return err;
	id->s = d->in + d->pos;
	id->n = (size_t)n;
	for (size_t i = 0; i < id->n; i++)
		if (!is_ident_char((unsigned char)id->s[i]))
			return -EINVAL;
	d->pos += id->n;
	return 0;
}

/* Punycode is decoded each time, shown or not: its errors are the name's. */
static int put_ident(struct rdm *d, const struct ident *id)
{
	uint32_t cps[MAX_IDENT_CHARS];
	size_t n;
	int err;

	if (!id->punycode) {
		put_n(d, id->s, id->n);
		return 0;
	}
	/* rustc writes Punycode's "-" as "_". */
	err = punycode__decode(id->s, id->n, '_', cps, MAX_IDENT_CHARS, &n);
	for (size_t i = 0; !err && i < n; i++)
		if (rust_text__is_control(cps[i]))
			err = -EINVAL;	/* shown names stay one line */
	for (size_t i = 0; !err && i < n; i++)
		rust_text__put_utf8(d->text, cps[i]);
	return err;
}

/* ---- v0: RFC 2603 ---- */

static int v0_path(struct rdm *d, bool in_value, bool *open);
static int v0_type(struct rdm *d);
static int v0_const(struct rdm *d, bool in_value);

static const char *const basic_types[26] = {
	['a' - 'a'] = "i8",	['b' - 'a'] = "bool",	['c' - 'a'] = "char",
	['d' - 'a'] = "f64",	['e' - 'a'] = "str",	['f' - 'a'] = "f32",
	['h' - 'a'] = "u8",	['i' - 'a'] = "isize",	['j' - 'a'] = "usize",
	['l' - 'a'] = "i32",	['m' - 'a'] = "u32",	['n' - 'a'] = "i128",
	['o' - 'a'] = "u128",	['p' - 'a'] = "_",	['s' - 'a'] = "i16",
	['t' - 'a'] = "u16",	['u' - 'a'] = "()",	['v' - 'a'] = "...",
	['x' - 'a'] = "i64",	['y' - 'a'] = "u64",	['z' - 'a'] = "!",
};

static const char *basic_type(int tag)
{
	return tag >= 'a' && tag <= 'z' ? basic_types[tag - 'a'] : NULL;
}

/* Lifetime index i (from "L<i>"): 0 is '_, others count the binders out. */
static int put_lifetime(struct rdm *d, uint64_t i)
{
	uint64_t depth;

	if (i == 0) {
		put(d, "'_");
		return 0;
	}
	if (i > d->bound_lifetimes)
		return -EINVAL;
	depth = d->bound_lifetimes - i;
	if (depth < 26) {
		char name[3] = { '\'', (char)('a' + depth), 0 };

		put(d, name);
	} else {
		put(d, "'_");
		put_u64(d, depth);
	}
	return 0;
}

/* [<binder>]: "for<'a, 'b> "; the caller unbinds *count when out of scope. */
static int binder(struct rdm *d, uint64_t *count)
{
	int err = opt_base62(d, 'G', count);

	if (err || !*count)
		return err;
	if (*count > MAX_BINDER)
		return -E2BIG;
	put(d, "for<");
	for (uint64_t i = 0; i < *count; i++) {
		if (i)
			put(d, ", ");
		d->bound_lifetimes++;
		put_lifetime(d, 1);
	}
	put(d, "> ");
	return 0;
}

static int generic_arg(struct rdm *d)
{
	uint64_t lt;
	int err;

	if (eat(d, 'L')) {
		err = base62(d, &lt);
		return err ? err : put_lifetime(d, lt);
	}
	if (eat(d, 'K'))
		return v0_const(d, false);
	return v0_type(d);
}

/* "C" <identifier>: a crate, shown without its disambiguator. */
static int path_crate(struct rdm *d)
{
	struct ident id;
	uint64_t dis;
	int err = opt_base62(d, 's', &dis);

	if (!err)
		err = ident(d, &id);
	return err ? err : put_ident(d, &id);
}

/* "N" <namespace> <path> <identifier>: "::name", or "::{closure#N}" and the like. */
static int path_nested(struct rdm *d, bool in_value)
{
	int ns = next(d), err;
	char letter[2] = { (char)ns, 0 };
	struct ident id;
	uint64_t dis;

	if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z')))
		return -EINVAL;
	err = v0_path(d, in_value, NULL);
	if (!err)
		err = opt_base62(d, 's', &dis);
	if (!err)
		err = ident(d, &id);
	if (err)
		return err;
	if (ns >= 'a' && ns <= 'z') {
		if (!id.n)
			return 0;
		put(d, "::");
		return put_ident(d, &id);
	}
	put(d, "::{");
	if (ns == 'C')
		put(d, "closure");
	else if (ns == 'S')
		put(d, "shim");
	else
		put(d, letter);
	if (id.n) {
		put(d, ":");
		err = put_ident(d, &id);
	}
	put(d, "#");
	put_u64(d, dis);
	put(d, "}");
	return err;
}

/* "M" impl, "X" trait impl, "Y" trait: "<T>", "<T as Trait>". */
static int path_impl(struct rdm *d, int tag)
{
	uint64_t dis;
	int err = 0;

	if (tag != 'Y') {
		/* The impl's own path only tells impls apart: not shown. */
		err = opt_base62(d, 's', &dis);
		d->text->skip++;
		if (!err)
			err = v0_path(d, false, NULL);
		d->text->skip--;
		if (err)
			return err;
	}
	put(d, "<");
	err = v0_type(d);
	if (!err && tag != 'M') {
		put(d, " as ");
		err = v0_path(d, false, NULL);
	}
	put(d, ">");
	return err;
}

/* "I" <path> {<generic-arg>} "E"; *open: leave the "<..." unclosed. */
static int path_generic(struct rdm *d, bool in_value, bool *open)
{
	int err = v0_path(d, in_value, NULL);

	if (err)
		return err;
	put(d, in_value ? "::<" : "<");
	for (int i = 0; !eat(d, 'E'); i++) {
		if (i)
			put(d, ", ");
		err = generic_arg(d);
		if (err)
			return err;
	}
	if (open)
		*open = true;
	else
		put(d, ">");
	return 0;
}

/* in_value: a path to a value ("f::<T>"), not a type ("T<U>"). */
static int v0_path(struct rdm *d, bool in_value, bool *open)
{
	int err = enter(d), tag = next(d);
	size_t back;

	if (open)
		*open = false;
	if (err)
		return leave(d, err);
	switch (tag) {
	case 'C':
		err = path_crate(d);
		break;
	case 'N':
		err = path_nested(d, in_value);
		break;
	case 'M':
	case 'X':
	case 'Y':
		err = path_impl(d, tag);
		break;
	case 'I':
		err = path_generic(d, in_value, open);
		break;
	case 'B':
		err = backref(d, &back);
		if (!err) {
			err = v0_path(d, in_value, open);
			d->pos = back;
		}
		break;
	default:
		err = -EINVAL;
	}
	return leave(d, err);
}

/*
 * "T" {<type>} "E" or "T" {<const>} "E": "(A, B)", "(A,)", "()"; the
 * fields of a tuple struct constant when !is_tuple: "(1)".
 */
static int tuple(struct rdm *d, bool consts, bool is_tuple)
{
	int i, err = 0;

	put(d, "(");
	for (i = 0; !err && !eat(d, 'E'); i++) {
		if (i)
			put(d, ", ");
		err = consts ? v0_const(d, true) : v0_type(d);
	}
	put(d, i == 1 && is_tuple ? ",)" : ")");
	return err;
}

/* "F" <fn-sig> = [<binder>] ["U"] ["K" <abi>] {<type>} "E" <type> */
static int fn_sig(struct rdm *d)
{
	uint64_t bound;
	struct ident abi;
	int err = binder(d, &bound);

	if (err)
		return err;
	if (eat(d, 'U'))
		put(d, "unsafe ");
	if (eat(d, 'K')) {
		put(d, "extern \"");
		if (eat(d, 'C')) {
			put(d, "C");
		} else {
			err = ident(d, &abi);
			if (err || abi.punycode)
				return err ? err : -EINVAL;
			/* "C-unwind" is written C_unwind. */
			for (size_t i = 0; i < abi.n; i++)
				put_n(d, abi.s[i] == '_' ? "-" : &abi.s[i], 1);
		}
		put(d, "\" ");
	}
	put(d, "fn");
	err = tuple(d, false, false);
	if (!err && !eat(d, 'u')) {
		put(d, " -> ");
		err = v0_type(d);
	}
	d->bound_lifetimes -= bound;
	return err;
}

/* <dyn-trait> = <path> {"p" <undisambiguated-identifier> <type>} */
static int dyn_trait(struct rdm *d)
{
	struct ident name;
	bool open;
	int err = v0_path(d, false, &open);

	while (!err && eat(d, 'p')) {
		put(d, open ? ", " : "<");
		open = true;
		err = ident(d, &name);
		if (!err)
			err = put_ident(d, &name);
		put(d, " = ");
		if (!err)
			err = v0_type(d);
	}
	if (open)
		put(d, ">");
	return err;
}

/* "D" [<binder>] {<dyn-trait>} "E" <lifetime> */
static int dyn_bounds(struct rdm *d)
{
	uint64_t bound, lt;
	int err;

	put(d, "dyn ");
	err = binder(d, &bound);
	if (err)
		return err;
	for (int i = 0; !err && !eat(d, 'E'); i++) {
		if (i)
			put(d, " + ");
		err = dyn_trait(d);
	}
	d->bound_lifetimes -= bound;
	if (err)
		return err;
	if (!eat(d, 'L'))
		return -EINVAL;
	err = base62(d, &lt);
	if (err || !lt)
		return err;
	put(d, " + ");
	return put_lifetime(d, lt);
}

/* "R" / "Q" [<lifetime>] <type>: "&'a T", "&mut T". */
static int reference(struct rdm *d, bool mut)
{
	uint64_t lt = 0;
	int err = 0;

	put(d, "&");
	if (eat(d, 'L'))
		err = base62(d, &lt);
	if (!err && lt) {
		err = put_lifetime(d, lt);
		put(d, " ");
	}
	if (mut)
		put(d, "mut ");
	return err ? err : v0_type(d);
}

static int type_rule(struct rdm *d, int tag)
{
	size_t back;
	int err;

	switch (tag) {
	case 'A':
		put(d, "[");
		err = v0_type(d);
		put(d, "; ");
		if (!err)
			err = v0_const(d, true);
		put(d, "]");
		return err;
	case 'S':
		put(d, "[");
		err = v0_type(d);
		put(d, "]");
		return err;
	case 'T':
		return tuple(d, false, true);
	case 'R':
	case 'Q':
		return reference(d, tag == 'Q');
	case 'P':
	case 'O':
		put(d, tag == 'P' ? "*const " : "*mut ");
		return v0_type(d);
	case 'F':
		return fn_sig(d);
	case 'D':
		return dyn_bounds(d);
	case 'B':
		err = backref(d, &back);
		if (!err) {
			err = v0_type(d);
			d->pos = back;
		}
		return err;
	}
	return -EINVAL;
}

static int v0_type(struct rdm *d)
{
	int err = enter(d), tag = peek(d);

	if (err)
		return leave(d, err);
	if (basic_type(tag)) {
		d->pos++;
		put(d, basic_type(tag));
	} else if (tag > 0 && strchr("CMXYNI", tag)) {
		err = v0_path(d, false, NULL);
	} else {
		err = type_rule(d, next(d));
	}
	return leave(d, err);
}

/* ---- v0 constants ---- */

/* <const-data> after any "n": lowercase hex digits then "_". */
static int const_hex(struct rdm *d, const char **digits, size_t *n)
{
	size_t start = d->pos;
	int c;

	while ((c = peek(d)) != '_') {
		if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
			return -EINVAL;
		d->pos++;
	}
	*digits = d->in + start;
	*n = d->pos - start;
	d->pos++;
	if (charge(d, *n))
		return -E2BIG;
	while (*n && **digits == '0') {
		(*digits)++;
		(*n)--;
	}
	return 0;
}

static uint64_t hex_value(const char *digits, size_t n)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++)
		v = v << 4 | (uint64_t)(is_digit(digits[i]) ? digits[i] - '0' :
					digits[i] - 'a' + 10);
	return v;
}

/* An integer: decimal when it fits 64 bits, 0x... to 128; then its type. */
static int const_int(struct rdm *d, int tag)
{
	bool negative = strchr("aslxni", tag) && eat(d, 'n');
	const char *digits;
	size_t n;
	int err = const_hex(d, &digits, &n);

	if (err || n > 32)
		return err ? err : -EINVAL;
	if (negative)
		put(d, "-");
	if (n <= 16) {
		put_u64(d, hex_value(digits, n));
	} else {
		put(d, "0x");
		put_n(d, digits, n);
	}
	put(d, basic_type(tag));
	return 0;
}

static int const_bool_or_char(struct rdm *d, int tag)
{
	const char *digits;
	size_t n;
	uint64_t v;
	int err = const_hex(d, &digits, &n);

	if (err)
		return err;
	if (n > 8)
		return -EINVAL;
	v = hex_value(digits, n);
	if (tag == 'b') {
		if (v > 1)
			return -EINVAL;
		put(d, v ? "true" : "false");
		return 0;
	}
	if (!rust_text__is_scalar(v))
		return -EINVAL;
	put(d, "'");
	rust_text__put_escaped(d->text, (uint32_t)v, '\'');
	put(d, "'");
	return 0;
}

/* "e": a str's UTF-8 bytes in hex, shown as "..." */
static int const_str(struct rdm *d)
{
	size_t start = d->pos, end, avail, len;
	unsigned char bytes[4];
	uint32_t cp;
	int c;

	/* Not const_hex(): leading zero digits are bytes here. */
	while ((c = peek(d)) != '_') {
		if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
			return -EINVAL;
		d->pos++;
	}
	end = d->pos++;
	if ((end - start) % 2 || charge(d, end - start))
		return (end - start) % 2 ? -EINVAL : -E2BIG;
	put(d, "\"");
	for (size_t at = start; at < end; at += 2 * len) {
		avail = (end - at) / 2 < 4 ? (end - at) / 2 : 4;
		for (size_t i = 0; i < avail; i++)
			bytes[i] = (unsigned char)hex_value(d->in + at + 2 * i, 2);
		len = rust_text__utf8_char(bytes, avail, &cp);
		if (!len)
			return -EINVAL;
		rust_text__put_escaped(d->text, cp, '"');
	}
	put(d, "\"");
	return 0;
}

/* "V" <path> ("U" | "T" {<const>} "E" | "S" {<identifier> <const>} "E") */
static int const_adt(struct rdm *d)
{
	struct ident field;
	uint64_t dis;
	int err = v0_path(d, true, NULL);

	if (err || eat(d, 'U'))
		return err;
	if (eat(d, 'T'))
		return tuple(d, true, false);
	if (!eat(d, 'S'))
		return -EINVAL;
	put(d, " {");
	for (int i = 0; !eat(d, 'E'); i++) {
		put(d, i ? ", " : " ");
		err = opt_base62(d, 's', &dis);
		if (!err)
			err = ident(d, &field);
		if (!err)
			err = put_ident(d, &field);
		if (err)
			return err;
		put(d, ": ");
		err = v0_const(d, true);
		if (err)
			return err;
	}
	put(d, " }");
	return 0;
}

/* Constants other than scalars: "{...}" around them among generic args. */
static int const_compound(struct rdm *d, int tag, bool in_value)
{
	int err = 0;

	if (!in_value)
		put(d, "{");
	switch (tag) {
	case 'e':
		put(d, "*");
		err = const_str(d);
		break;
	case 'R':
	case 'Q':
		if (tag == 'R' && eat(d, 'e')) {
			err = const_str(d);
			break;
		}
		put(d, tag == 'R' ? "&" : "&mut ");
		err = v0_const(d, true);
		break;
	case 'A':
		put(d, "[");
		for (int i = 0; !err && !eat(d, 'E'); i++) {
			if (i)
				put(d, ", ");
			err = v0_const(d, true);
		}
		put(d, "]");
		break;
	case 'T':
		err = tuple(d, true, true);
		break;
	case 'V':
		err = const_adt(d);
		break;
	}
	if (!in_value)
		put(d, "}");
	return err;
}

static int const_rule(struct rdm *d, int tag, bool in_value)
{
	size_t back;
	int err;

	switch (tag) {
	case 'p':
		put(d, "_");
		return 0;
	case 'h': case 't': case 'm': case 'y': case 'o': case 'j':
	case 'a': case 's': case 'l': case 'x': case 'n': case 'i':
		return const_int(d, tag);
	case 'b':
	case 'c':
		return const_bool_or_char(d, tag);
	case 'e': case 'R': case 'Q': case 'A': case 'T': case 'V':
		return const_compound(d, tag, in_value);
	case 'B':
		err = backref(d, &back);
		if (!err) {
			err = v0_const(d, in_value);
			d->pos = back;
		}
		return err;
	}
	return -EINVAL;
}

static int v0_const(struct rdm *d, bool in_value)
{
	int err = enter(d);

	if (err)
		return leave(d, err);
	return leave(d, const_rule(d, next(d), in_value));
}

/* ---- the symbol ---- */

/* "_R" [<decimal-number>] <path> [<instantiating-crate>] [<vendor-specific-suffix>] */
int demangle_rust_v0(const char *in, size_t len, struct rust_text *text)
{
	struct rdm rdm = { .in = in, .len = len, .text = text }, *d = &rdm;
	int err;

	/* An explicit encoding version: none is defined yet. */
	if (is_digit(peek(d)))
		return -EINVAL;
	err = v0_path(d, true, NULL);
	if (err)
		return err;
	if (d->pos < d->len && d->in[d->pos] != '.' && d->in[d->pos] != '$') {
		d->text->skip++;
		err = v0_path(d, false, NULL);
		d->text->skip--;
		if (err)
			return err;
	}
	return rust_text__put_suffix(d->text, d->in + d->pos, d->len - d->pos);
}

