// SPDX-License-Identifier: MIT
/*
 * pprof writer: the profile as a gzip-compressed perftools.profiles.Profile
 * (profile.proto), encoded by hand so that no protobuf library is needed.
 *
 * Everything except the string table is encoded into one buffer; strings are
 * interned into a second buffer that already holds them as encoded
 * string_table fields. Protobuf does not care about field order and the
 * pprof reader resolves string indexes after decoding, so the two buffers
 * are simply deflated one after the other.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* reallocarray, strchrnul */
#endif
#define ZLIB_CONST
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "pprof.h"
#include "folded.h"
#include "pprof_enc.h"

/* Field numbers from profile.proto. */
enum {
	F_PROFILE_SAMPLE_TYPE = 1,
	F_PROFILE_SAMPLE = 2,
	F_PROFILE_LOCATION = 4,
	F_PROFILE_FUNCTION = 5,
	F_PROFILE_STRING_TABLE = 6,
	F_PROFILE_TIME_NANOS = 9,
	F_PROFILE_DURATION_NANOS = 10,
	F_PROFILE_PERIOD_TYPE = 11,
	F_PROFILE_PERIOD = 12,
	F_PROFILE_COMMENT = 13,
	F_PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	F_VALUE_TYPE_TYPE = 1,
	F_VALUE_TYPE_UNIT = 2,
	F_SAMPLE_LOCATION_ID = 1,
	F_SAMPLE_VALUE = 2,
	F_SAMPLE_LABEL = 3,
	F_LABEL_KEY = 1,
	F_LABEL_STR = 2,
	F_LABEL_NUM = 3,
	F_LOCATION_ID = 1,
	F_LOCATION_LINE = 4,
	F_LINE_FUNCTION_ID = 1,
	F_LINE_LINE = 2,
	F_FUNCTION_ID = 1,
	F_FUNCTION_NAME = 2,
	F_FUNCTION_SYSTEM_NAME = 3,
	F_FUNCTION_FILENAME = 4,
	F_FUNCTION_START_LINE = 5,
};

enum { WIRE_VARINT = 0, WIRE_LEN = 2 };

/* ---- byte buffer and wire primitives ---- */

static bool pb_reserve(struct pb_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	uint8_t *d;

	if (b->err)
		return false;
	if (n <= b->cap - b->len)
		return true;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2)
			goto nomem;
		cap *= 2;
	}
	d = realloc(b->data, cap);
	if (!d)
		goto nomem;
	b->data = d;
	b->cap = cap;
	return true;
nomem:
	b->err = -ENOMEM;
	return false;
}

void pb__put(struct pb_buf *b, const void *p, size_t n)
{
	/* n == 0 may come with p == NULL, which memcpy must not see. */
	if (!n || !pb_reserve(b, n))
		return;
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

void pb__varint(struct pb_buf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	pb__put(b, tmp, n);
}

void pb__buf_free(struct pb_buf *b)
{
	free(b->data);
	*b = (struct pb_buf){ 0 };
}

static void pb_key(struct pb_buf *b, unsigned int field, unsigned int wire)
{
	pb__varint(b, (uint64_t)field << 3 | wire);
}

/* uint64 and non-negative int64 fields share the plain varint encoding. */
static void pb_uint(struct pb_buf *b, unsigned int field, uint64_t v)
{
	pb_key(b, field, WIRE_VARINT);
	pb__varint(b, v);
}

static void pb_bytes(struct pb_buf *b, unsigned int field, const void *p,
		     size_t n)
{
	pb_key(b, field, WIRE_LEN);
	pb__varint(b, n);
	pb__put(b, p, n);
}

/* Appends sub (an encoded message or packed array) as field; keeps errors. */
static void pb_sub(struct pb_buf *b, unsigned int field,
		   const struct pb_buf *sub)
{
	if (sub->err && !b->err)
		b->err = sub->err;
	pb_bytes(b, field, sub->data, sub->len);
}

/* ---- string table ---- */

struct str_ent {
	size_t off;		/* where the bytes are in strtab.enc */
	size_t len;
};

/* Open-addressing set of strings; slots hold entry index + 1, 0 = empty. */
struct strtab {
	struct pb_buf enc;	/* the string_table fields, in index order */
	struct pb_buf fixed;	/* scratch: a string made valid UTF-8 */
	struct str_ent *ents;
	size_t n, cap;
	uint32_t *slots;
	size_t nslots;		/* a power of two, kept at most half full */
};

static uint64_t str_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;	/* FNV-1a */

	while (n--) {
		h ^= (uint8_t)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static const char *strtab_str(const struct strtab *t, size_t i)
{
	return (const char *)t->enc.data + t->ents[i].off;
}

static size_t strtab_slot(const struct strtab *t, const char *s, size_t n)
{
	size_t mask = t->nslots - 1;
	size_t i = str_hash(s, n) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t e = t->slots[i];

		if (!e || (t->ents[e - 1].len == n &&
			   !memcmp(strtab_str(t, e - 1), s, n)))
			return i;
	}
}

static int strtab_rehash(struct strtab *t)
{
	size_t nslots = t->nslots ? t->nslots * 2 : 1024;
	uint32_t *old = t->slots;

	/* Entry indexes must fit the uint32_t slots. */
	if (nslots / 2 > UINT32_MAX)
		return -ENOMEM;
	t->slots = calloc(nslots, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old;
		return -ENOMEM;
	}
	t->nslots = nslots;
	for (size_t i = 0; i < t->n; i++)
		t->slots[strtab_slot(t, strtab_str(t, i), t->ents[i].len)] =
			(uint32_t)(i + 1);
	free(old);
	return 0;
}

static int strtab_append(struct strtab *t, const char *s, size_t n)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct str_ent *e = reallocarray(t->ents, cap, sizeof(*e));

		if (!e)
			return -ENOMEM;
		t->ents = e;
		t->cap = cap;
	}
	pb_bytes(&t->enc, F_PROFILE_STRING_TABLE, s, n);
	if (t->enc.err)
		return t->enc.err;
	t->ents[t->n].off = t->enc.len - n;
	t->ents[t->n].len = n;
	t->n++;
	return 0;
}

/* Length of the valid UTF-8 sequence at p (n > 0 bytes left), or 0. */
static size_t utf8_len(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t len;

	if (c < 0x80)
		return 1;
	if (c < 0xc2 || c > 0xf4)
		return 0;
	len = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
	/* No overlong forms, no surrogates, nothing above U+10FFFF. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

/*
 * profile.proto is proto3, whose string fields must be UTF-8: readers built
 * on protobuf-go reject the whole profile otherwise. Thread names and
 * symbols are arbitrary bytes, so each invalid byte becomes U+FFFD.
 * Returns s itself when it is valid, else the fixed copy in t->fixed.
 */
static const char *utf8_fix(struct strtab *t, const char *s, size_t *n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0, len;

	while (i < *n && (len = utf8_len(p + i, *n - i)))
		i += len;
	if (i == *n)
		return s;
	t->fixed.len = 0;
	pb__put(&t->fixed, s, i);
	while (i < *n) {
		len = utf8_len(p + i, *n - i);
		if (len)
			pb__put(&t->fixed, p + i, len);
		else
			pb__put(&t->fixed, "\xef\xbf\xbd", 3);
		i += len ? len : 1;
	}
	*n = t->fixed.len;
	return (const char *)t->fixed.data;
}

/*
 * Returns the index of s in the string table, adding it if new. On failure
 * the error is left in t->enc.err (checked once at the end) and 0 returned.
 */
static uint64_t strtab_intern_n(struct strtab *t, const char *s, size_t n)
{
	size_t slot;

	s = utf8_fix(t, s, &n);
	if (t->fixed.err)
		t->enc.err = t->fixed.err;
	if (t->enc.err)
		return 0;
	if ((t->n + 1) * 2 > t->nslots && strtab_rehash(t) < 0)
		goto nomem;
	slot = strtab_slot(t, s, n);
	if (t->slots[slot])
		return t->slots[slot] - 1;
	if (strtab_append(t, s, n) < 0)
		goto nomem;
	t->slots[slot] = (uint32_t)t->n;
	return t->n - 1;
nomem:
	t->enc.err = -ENOMEM;
	return 0;
}

static uint64_t strtab_intern(struct strtab *t, const char *s)
{
	return strtab_intern_n(t, s, strlen(s));
}

static void strtab_free(struct strtab *t)
{
	pb__buf_free(&t->enc);
	pb__buf_free(&t->fixed);
	free(t->ents);
	free(t->slots);
}

/* ---- locations with inlined calls ---- */

/*
 * A Location is one address: a function frame and the frames of the calls
 * inlined there (profile.h: each marked inlined, after it). A lone frame's
 * location id is its frame id + 1; a group of frames gets an id after all
 * frames', from this table of distinct groups.
 */
struct loc_groups {
	uint32_t *ids;		/* every group's frame ids, root first */
	size_t nids, ids_cap;
	struct loc_group {
		size_t off;
		uint32_t len;
	} *groups;
	size_t ngroups, groups_cap;
	uint32_t *slots;	/* group index + 1; 0 empty */
	size_t cap;
};

static uint64_t group_hash(const uint32_t *ids, uint32_t n)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (uint32_t i = 0; i < n; i++)
		h = (h ^ ids[i]) * 0x100000001b3ULL;
	return h ^ (h >> 31);
}

static int grow(void **arr, size_t *cap, size_t want, size_t size)
{
	size_t ncap = *cap ? *cap : 64;
	void *p;

	if (want <= *cap)
		return 0;
	while (ncap < want)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int groups_rehash(struct loc_groups *g)
{
	size_t cap = g->cap ? g->cap * 2 : 256;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < g->ngroups; i++) {
		const struct loc_group *x = &g->groups[i];
		size_t pos = group_hash(g->ids + x->off, x->len) & (cap - 1);

		while (slots[pos])
			pos = (pos + 1) & (cap - 1);
		slots[pos] = (uint32_t)i + 1;
	}
	free(g->slots);
	g->slots = slots;
	g->cap = cap;
	return 0;
}

/* The index of the group ids[0..n), added if new; -errno. */
static int64_t groups_get(struct loc_groups *g, const uint32_t *ids, uint32_t n)
{
	size_t pos;

	if ((g->ngroups + 1) * 2 > g->cap && groups_rehash(g))
		return -ENOMEM;
	pos = group_hash(ids, n) & (g->cap - 1);
	for (; g->slots[pos]; pos = (pos + 1) & (g->cap - 1)) {
		const struct loc_group *x = &g->groups[g->slots[pos] - 1];

		if (x->len == n && !memcmp(g->ids + x->off, ids, n * sizeof(*ids)))
			return g->slots[pos] - 1;
	}
	if (grow((void **)&g->ids, &g->ids_cap, g->nids + n, sizeof(*g->ids)) ||
	    grow((void **)&g->groups, &g->groups_cap, g->ngroups + 1,
		 sizeof(*g->groups)))
		return -ENOMEM;
	memcpy(g->ids + g->nids, ids, n * sizeof(*ids));
	g->groups[g->ngroups] = (struct loc_group){ g->nids, n };
	g->nids += n;
	g->slots[pos] = (uint32_t)++g->ngroups;
	return g->ngroups - 1;
}

static void groups_free(struct loc_groups *g)
{
	free(g->ids);
	free(g->groups);
	free(g->slots);
}

/* ---- profile encoding ---- */

struct pprof_enc {
	const struct profile *p;
	size_t ntypes;
	size_t nframes;
	struct pb_buf out;	/* every Profile field but string_table */
	struct pb_buf msg;	/* scratch: the message being built */
	struct pb_buf inner;	/* scratch: a message or array inside msg */
	struct strtab strs;
	bool *used;		/* frame ids some sample has as a location */
	uint32_t *func_of;	/* box -> a frame of it with a file, + 1 */
	struct loc_groups groups;	/* locations of inlined calls */
	char *name;		/* frame__format output */
	size_t namecap;
	uint64_t key_pid, key_tid, key_thread, key_process;
	int err;		/* first error that is not in a buffer */
};

static void enc_value_type(struct pprof_enc *e, unsigned int field,
			   const char *type, const char *unit)
{
	e->msg.len = 0;
	pb_uint(&e->msg, F_VALUE_TYPE_TYPE, strtab_intern(&e->strs, type));
	pb_uint(&e->msg, F_VALUE_TYPE_UNIT, strtab_intern(&e->strs, unit));
	pb_sub(&e->out, field, &e->msg);
}

static void enc_sample_types(struct pprof_enc *e)
{
	for (size_t i = 0; i < e->ntypes; i++) {
		const struct profile_value_type *vt =
			profile__value_type(e->p, i);

		enc_value_type(e, F_PROFILE_SAMPLE_TYPE, vt->type, vt->unit);
	}
}

/* A label whose value is a string index (str) or a number (num). */
static void enc_label(struct pprof_enc *e, uint64_t key, bool is_str,
		      uint64_t v)
{
	e->inner.len = 0;
	pb_uint(&e->inner, F_LABEL_KEY, key);
	pb_uint(&e->inner, is_str ? F_LABEL_STR : F_LABEL_NUM, v);
	pb_sub(&e->msg, F_SAMPLE_LABEL, &e->inner);
}

/* A frame some location has: its function is written, with its file. */
static void use_frame(struct pprof_enc *e, uint32_t id)
{
	const struct profile_frame *fr = profile__frame_at(e->p, id);

	if (!e->func_of[fr->box] || (fr->file && !profile__frame_at(
			e->p, e->func_of[fr->box] - 1)->file))
		e->func_of[fr->box] = id + 1;
}

/*
 * Packed location ids, leaf first as pprof wants; process roots skipped.
 * A function frame and the inlined frames after it are one location.
 */
static void enc_locations(struct pprof_enc *e, const struct profile_sample *s)
{
	e->inner.len = 0;
	for (uint32_t i = s->nframes; i-- > 0;) {
		uint32_t first = i, id = s->frames[i];
		const struct profile_frame *fr;

		if (id >= e->nframes) {
			e->err = -EINVAL;
			return;
		}
		fr = profile__frame_at(e->p, id);
		if (fr->kind == FRAME_PROCESS || fr->kind == FRAME_GROUP)
			continue;
		while (first > 0 && profile__frame_at(e->p, s->frames[first])->inlined) {
			first--;
			if (s->frames[first] >= e->nframes) {
				e->err = -EINVAL;
				return;
			}
		}
		for (uint32_t j = first; j <= i; j++)
			use_frame(e, s->frames[j]);
		if (first == i) {
			e->used[id] = true;
			pb__varint(&e->inner, (uint64_t)id + 1);
		} else {
			int64_t g = groups_get(&e->groups, s->frames + first,
					       i - first + 1);

			if (g < 0) {
				e->err = (int)g;
				return;
			}
			pb__varint(&e->inner, (uint64_t)e->nframes + 1 + (uint64_t)g);
		}
		i = first;
	}
	if (e->inner.len)
		pb_sub(&e->msg, F_SAMPLE_LOCATION_ID, &e->inner);
}

static void enc_values(struct pprof_enc *e, const struct profile_sample *s)
{
	e->inner.len = 0;
	for (size_t i = 0; i < e->ntypes; i++)
		pb__varint(&e->inner, s->values[i]);
	if (e->inner.len)
		pb_sub(&e->msg, F_SAMPLE_VALUE, &e->inner);
}

static void enc_labels(struct pprof_enc *e, const struct profile_sample *s)
{
	const struct profile_frame *root;

	enc_label(e, e->key_pid, false, s->pid);
	enc_label(e, e->key_tid, false, s->tid);
	if (s->thread)
		enc_label(e, e->key_thread, true,
			  strtab_intern(&e->strs, s->thread));
	for (size_t i = 0; i < profile__nlabels(e->p); i++)
		if (s->labels[i])
			enc_label(e, strtab_intern(&e->strs,
						   profile__label_key(e->p, i)),
				  true, strtab_intern(&e->strs, s->labels[i]));
	root = profile__process_frame(e->p, s);
	if (root)
		enc_label(e, e->key_process, true,
			  strtab_intern(&e->strs, root->name));
}

static void enc_sample(struct pprof_enc *e, const struct profile_sample *s)
{
	e->msg.len = 0;
	enc_locations(e, s);
	enc_values(e, s);
	enc_labels(e, s);
	pb_sub(&e->out, F_PROFILE_SAMPLE, &e->msg);
}

static int grow_name(struct pprof_enc *e, size_t want)
{
	char *p;

	if (want <= e->namecap)
		return 0;
	p = realloc(e->name, want);
	if (!p)
		return -ENOMEM;
	e->name = p;
	e->namecap = want;
	return 0;
}

/*
 * frame__format into e->name. It reports a name that did not fit either
 * as -ENAMETOOLONG or snprintf-style as the needed length; both just make
 * the buffer grow, up to a bound that no sane symbol reaches.
 */
static int format_frame(struct pprof_enc *e, const struct profile_frame *fr)
{
	size_t want = strlen(fr->name) + 32;	/* room for a suffix */

	while (want <= ((size_t)1 << 24)) {
		int n, err = grow_name(e, want);

		if (err)
			return err;
		n = frame__format(fr, e->name, e->namecap);
		if (n >= 0 && (size_t)n < e->namecap)
			return 0;
		if (n < 0 && n != -ENAMETOOLONG)
			return n;
		want = n > 0 ? (size_t)n + 1 : e->namecap * 2;
	}
	return -ENAMETOOLONG;
}

/* The Function of a box (id = box + 1), named as its frames are. */
static void enc_function(struct pprof_enc *e, uint32_t box)
{
	const struct profile_frame *fr = profile__frame_at(e->p,
							   e->func_of[box] - 1);
	uint64_t name;
	int err = format_frame(e, profile__frame_at(e->p, box));

	if (err) {
		e->err = err;
		return;
	}
	name = strtab_intern_n(&e->strs, e->name, strnlen(e->name, e->namecap));
	e->msg.len = 0;
	pb_uint(&e->msg, F_FUNCTION_ID, (uint64_t)box + 1);
	pb_uint(&e->msg, F_FUNCTION_NAME, name);
	pb_uint(&e->msg, F_FUNCTION_SYSTEM_NAME, fr->system_name ?
		strtab_intern(&e->strs, fr->system_name) : name);
	if (fr->file)
		pb_uint(&e->msg, F_FUNCTION_FILENAME,
			strtab_intern(&e->strs, fr->file));
	if (fr->start_line)
		pb_uint(&e->msg, F_FUNCTION_START_LINE, fr->start_line);
	pb_sub(&e->out, F_PROFILE_FUNCTION, &e->msg);
}

static void enc_line(struct pprof_enc *e, uint32_t id)
{
	const struct profile_frame *fr = profile__frame_at(e->p, id);

	e->inner.len = 0;
	pb_uint(&e->inner, F_LINE_FUNCTION_ID, (uint64_t)fr->box + 1);
	if (fr->line)
		pb_uint(&e->inner, F_LINE_LINE, fr->line);
	pb_sub(&e->msg, F_LOCATION_LINE, &e->inner);
}

/* A Location of ids[0..n) (root first); its Lines go leaf first. */
static void enc_location(struct pprof_enc *e, uint64_t loc_id,
			 const uint32_t *ids, uint32_t n)
{
	e->msg.len = 0;
	pb_uint(&e->msg, F_LOCATION_ID, loc_id);
	for (uint32_t i = n; i-- > 0;)
		enc_line(e, ids[i]);
	pb_sub(&e->out, F_PROFILE_LOCATION, &e->msg);
}

static void enc_comment(struct pprof_enc *e, const char *name, uint64_t v)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%.200s: %" PRIu64, name ? name : "?", v);
	pb_uint(&e->out, F_PROFILE_COMMENT, strtab_intern(&e->strs, buf));
}

static void enc_meta(struct pprof_enc *e, const struct profile_meta *m)
{
	size_t deflt = e->ntypes >= 2 ? 1 : 0;

	pb_uint(&e->out, F_PROFILE_TIME_NANOS, m->start_ns);
	pb_uint(&e->out, F_PROFILE_DURATION_NANOS, m->duration_ns);
	enc_value_type(e, F_PROFILE_PERIOD_TYPE, "cpu", "nanoseconds");
	pb_uint(&e->out, F_PROFILE_PERIOD, m->period_ns);
	/* pprof prints comments above every report: the place for these. */
	if (m->lost)
		enc_comment(e, "lost samples", m->lost);
	for (size_t i = 0; m->counters && i < m->ncounters; i++)
		enc_comment(e, m->counters[i].name, m->counters[i].value);
	if (e->ntypes)
		pb_uint(&e->out, F_PROFILE_DEFAULT_SAMPLE_TYPE,
			strtab_intern(&e->strs,
				      profile__value_type(e->p, deflt)->type));
}

static int enc_error(const struct pprof_enc *e)
{
	if (e->err)
		return e->err;
	if (e->out.err)
		return e->out.err;
	if (e->msg.err)
		return e->msg.err;
	if (e->inner.err)
		return e->inner.err;
	return e->strs.enc.err;
}

static int enc_profile(struct pprof_enc *e, const struct profile_meta *m)
{
	size_t nsamples = profile__nsamples(e->p);

	e->ntypes = profile__nvalue_types(e->p);
	e->nframes = profile__nframes(e->p);
	e->used = calloc(e->nframes ? e->nframes : 1, sizeof(*e->used));
	e->func_of = calloc(e->nframes ? e->nframes : 1, sizeof(*e->func_of));
	if (!e->used || !e->func_of)
		return -ENOMEM;
	strtab_intern(&e->strs, "");	/* index 0 must be "" */
	e->key_pid = strtab_intern(&e->strs, "pid");
	e->key_tid = strtab_intern(&e->strs, "tid");
	e->key_thread = strtab_intern(&e->strs, "thread");
	e->key_process = strtab_intern(&e->strs, "process");
	enc_sample_types(e);
	for (size_t i = 0; i < nsamples && !enc_error(e); i++)
		enc_sample(e, profile__sample_at(e->p, i));
	for (uint32_t id = 0; id < e->nframes && !enc_error(e); id++)
		if (e->used[id])
			enc_location(e, (uint64_t)id + 1, &id, 1);
	for (size_t g = 0; g < e->groups.ngroups && !enc_error(e); g++)
		enc_location(e, e->nframes + 1 + g,
			     e->groups.ids + e->groups.groups[g].off,
			     e->groups.groups[g].len);
	for (uint32_t box = 0; box < e->nframes && !enc_error(e); box++)
		if (e->func_of[box])
			enc_function(e, box);
	enc_meta(e, m);
	return enc_error(e);
}

static void enc_free(struct pprof_enc *e)
{
	pb__buf_free(&e->out);
	pb__buf_free(&e->msg);
	pb__buf_free(&e->inner);
	strtab_free(&e->strs);
	free(e->used);
	free(e->func_of);
	groups_free(&e->groups);
	free(e->name);
}

/* ---- gzip ---- */

static int write_all(FILE *out, const uint8_t *p, size_t n)
{
	return n && fwrite(p, 1, n, out) != n ? -EIO : 0;
}

/* Deflates p[0..n) into out; with Z_FINISH also ends the gzip stream. */
static int deflate_chunk(z_stream *zs, FILE *out,
			 const uint8_t *p, size_t n,
			 int flush)
{
	uint8_t buf[1 << 16];
	int rc, err;

	zs->next_in = p;
	zs->avail_in = (uInt)n;
	do {
		zs->next_out = buf;
		zs->avail_out = sizeof(buf);
		rc = deflate(zs, flush);
		if (rc == Z_STREAM_ERROR)
			return -EIO;
		err = write_all(out, buf, sizeof(buf) - zs->avail_out);
		if (err)
			return err;
		/* Without Z_FINISH, spare output room means input consumed. */
	} while (flush == Z_FINISH ? rc != Z_STREAM_END : zs->avail_out == 0);
	return 0;
}

/* avail_in is 32 bits wide, so big buffers go in slices. */
static int deflate_buf(z_stream *zs, FILE *out,
		       const struct pb_buf *b,
		       bool last)
{
	const size_t slice = (size_t)1 << 30;
	size_t off = 0;
	int err;

	do {
		size_t n = b->len - off < slice ? b->len - off : slice;
		int flush = last && off + n == b->len ? Z_FINISH : Z_NO_FLUSH;

		err = deflate_chunk(zs, out, n ? b->data + off : NULL, n, flush);
		off += n;
	} while (!err && off < b->len);
	return err;
}

static int gzip_to(FILE *out, const struct pb_buf *a,
		   const struct pb_buf *b)
{
	z_stream zs = { 0 };
	int err;

	/* windowBits 15 + 16 asks zlib for a gzip header and trailer. */
	switch (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			     Z_DEFAULT_STRATEGY)) {
	case Z_OK:
		break;
	case Z_MEM_ERROR:
		return -ENOMEM;
	default:
		return -EINVAL;
	}
	err = deflate_buf(&zs, out, a, false);
	if (!err)
		err = deflate_buf(&zs, out, b, true);
	deflateEnd(&zs);
	return err;
}

int pprof__write(const struct profile *p, const struct profile_meta *m,
		 FILE *f)
{
	struct pprof_enc e = { .p = p };
	int err;

	if (!p || !m || !f)
		return -EINVAL;
	err = enc_profile(&e, m);
	if (!err)
		err = gzip_to(f, &e.out, &e.strs.enc);
	enc_free(&e);
	return err;
}
