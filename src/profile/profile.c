// SPDX-License-Identifier: MIT
/* The aggregated profile: interned strings, frames and summed samples. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "profile.h"

/*
 * One open-addressing index maps a 64-bit hash to an entry number; callers
 * compare the entry itself, so collisions of the hash are harmless.
 */
struct index {
	uint32_t *slots;	/* entry number + 1; 0 = empty */
	size_t cap;		/* power of two */
	size_t used;
};

struct profile {
	struct profile_value_type types[PROFILE_MAX_VALUES];
	size_t ntypes;
	const char *label_keys[PROFILE_MAX_LABELS];
	size_t nlabels;

	char **strings;
	size_t nstrings, strings_cap;
	struct index string_index;

	struct profile_frame *frames;
	size_t nframes, frames_cap;
	struct index frame_index;

	struct profile_sample *samples;
	size_t nsamples, samples_cap;
	struct index sample_index;

	size_t heap_bytes;	/* strings and frame lists (profile__bytes) */
};

static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
	const unsigned char *p = data;

	/* FNV-1a: short keys, good enough spread, no dependency. */
	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define HASH_SEED 0xcbf29ce484222325ULL

static int index__grow(struct index *ix, uint64_t (*hash_of)(void *, uint32_t),
		       void *ctx)
{
	size_t cap = ix->cap ? ix->cap * 2 : 1024;
	uint32_t *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		uint32_t e = ix->slots[i];
		size_t pos;

		if (!e)
			continue;
		pos = hash_of(ctx, e - 1) & (cap - 1);
		while (slots[pos])
			pos = (pos + 1) & (cap - 1);
		slots[pos] = e;
	}
	free(ix->slots);
	ix->slots = slots;
	ix->cap = cap;
	return 0;
}

/*
 * Finds the entry whose hash is h and for which equal(ctx, entry) holds.
 * Returns the entry number, or -1 with *slot set to where a new one goes.
 */
static int64_t index__find(const struct index *ix, uint64_t h,
			   bool (*equal)(void *, uint32_t, const void *),
			   void *ctx, const void *key, size_t *slot)
{
	size_t pos = h & (ix->cap - 1);

	while (ix->slots[pos]) {
		if (equal(ctx, ix->slots[pos] - 1, key))
			return ix->slots[pos] - 1;
		pos = (pos + 1) & (ix->cap - 1);
	}
	*slot = pos;
	return -1;
}

static int grow_array(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *n;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	n = realloc(*arr, ncap * elem);
	if (!n)
		return -ENOMEM;
	*arr = n;
	*cap = ncap;
	return 0;
}

struct profile *profile__new(const struct profile_value_type *types,
			     size_t ntypes)
{
	struct profile *p;

	if (ntypes == 0 || ntypes > PROFILE_MAX_VALUES) {
		errno = EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ntypes = ntypes;
	for (size_t i = 0; i < ntypes; i++) {
		p->types[i].type = profile__intern(p, types[i].type);
		p->types[i].unit = profile__intern(p, types[i].unit);
		if (!p->types[i].type || !p->types[i].unit) {
			profile__free(p);
			errno = ENOMEM;
			return NULL;
		}
	}
	return p;
}

void profile__free(struct profile *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstrings; i++)
		free(p->strings[i]);
	for (size_t i = 0; i < p->nsamples; i++)
		free((void *)p->samples[i].frames);
	free(p->strings);
	free(p->frames);
	free(p->samples);
	free(p->string_index.slots);
	free(p->frame_index.slots);
	free(p->sample_index.slots);
	free(p);
}

/* ---- strings ---- */

static uint64_t string_hash(void *ctx, uint32_t e)
{
	struct profile *p = ctx;

	return hash_bytes(HASH_SEED, p->strings[e], strlen(p->strings[e]));
}

static bool string_equal(void *ctx, uint32_t e, const void *key)
{
	struct profile *p = ctx;

	return strcmp(p->strings[e], key) == 0;
}

const char *profile__intern(struct profile *p, const char *s)
{
	struct index *ix = &p->string_index;
	size_t slot;
	int64_t e;
	char *copy;

	if ((ix->used + 1) * 2 > ix->cap && index__grow(ix, string_hash, p))
		return NULL;
	e = index__find(ix, hash_bytes(HASH_SEED, s, strlen(s)), string_equal,
			p, s, &slot);
	if (e >= 0)
		return p->strings[e];
	if (grow_array((void **)&p->strings, &p->strings_cap, p->nstrings + 1,
		       sizeof(*p->strings)))
		return NULL;
	copy = strdup(s);
	if (!copy)
		return NULL;
	p->heap_bytes += strlen(s) + 1 + 16;	/* + malloc's overhead */
	p->strings[p->nstrings] = copy;
	ix->slots[slot] = ++p->nstrings;
	ix->used++;
	return copy;
}

/* ---- frames: interned strings compare by pointer ---- */

static uint64_t frame_key_hash(const struct profile_frame *k)
{
	uintptr_t ptrs[3] = { (uintptr_t)k->name, (uintptr_t)k->file,
			      (uintptr_t)k->system_name };
	uint32_t nums[4] = { k->kind, k->line, k->start_line, k->inlined };

	return hash_bytes(hash_bytes(HASH_SEED, ptrs, sizeof(ptrs)), nums,
			  sizeof(nums));
}

static uint64_t frame_hash(void *ctx, uint32_t e)
{
	struct profile *p = ctx;

	return frame_key_hash(&p->frames[e]);
}

static bool frame_equal(void *ctx, uint32_t e, const void *key)
{
	const struct profile_frame *f = &((struct profile *)ctx)->frames[e];
	const struct profile_frame *k = key;

	return f->name == k->name && f->kind == k->kind && f->file == k->file &&
	       f->line == k->line && f->start_line == k->start_line &&
	       f->system_name == k->system_name && f->inlined == k->inlined;
}

/* key's strings interned already; its box is set when it is new. */
static int64_t frame_get(struct profile *p, struct profile_frame *key)
{
	struct index *ix = &p->frame_index;
	size_t slot;
	int64_t e;

	if ((ix->used + 1) * 2 > ix->cap && index__grow(ix, frame_hash, p))
		return -ENOMEM;
	e = index__find(ix, frame_key_hash(key), frame_equal, p, key, &slot);
	if (e >= 0)
		return e;
	if (grow_array((void **)&p->frames, &p->frames_cap, p->nframes + 1,
		       sizeof(*p->frames)))
		return -ENOMEM;
	if (key->box == UINT32_MAX)
		key->box = (uint32_t)p->nframes;
	p->frames[p->nframes] = *key;
	ix->slots[slot] = ++p->nframes;
	ix->used++;
	return p->nframes - 1;
}

int64_t profile__frame(struct profile *p, const char *name,
		       enum frame_kind kind)
{
	struct profile_frame key = { .kind = kind, .box = UINT32_MAX };

	key.name = profile__intern(p, name);
	if (!key.name)
		return -ENOMEM;
	return frame_get(p, &key);
}

/* s interned into p, or NULL when s is NULL; false: no memory. */
static bool intern_opt(struct profile *p, const char *s, const char **out)
{
	*out = s ? profile__intern(p, s) : NULL;
	return !s || *out;
}

int64_t profile__frame_at_line(struct profile *p, const struct profile_frame *f)
{
	struct profile_frame key = *f;
	int64_t box;

	if (!f->file && !f->line && !f->start_line && !f->system_name &&
	    !f->inlined)
		return profile__frame(p, f->name, f->kind);
	box = profile__frame(p, f->name, f->kind);
	if (box < 0)
		return box;
	key.name = p->frames[box].name;
	key.box = (uint32_t)box;
	if (!intern_opt(p, f->file, &key.file) ||
	    !intern_opt(p, f->system_name, &key.system_name))
		return -ENOMEM;
	return frame_get(p, &key);
}

/* ---- samples ---- */

static uint64_t sample_key_hash(const struct profile_sample *s)
{
	uintptr_t t = (uintptr_t)s->thread;
	uint64_t h = HASH_SEED;

	h = hash_bytes(h, &s->pid, sizeof(s->pid));
	h = hash_bytes(h, &s->tid, sizeof(s->tid));
	h = hash_bytes(h, &t, sizeof(t));
	h = hash_bytes(h, s->labels, sizeof(s->labels));
	return hash_bytes(h, s->frames, s->nframes * sizeof(*s->frames));
}

static uint64_t sample_hash(void *ctx, uint32_t e)
{
	struct profile *p = ctx;

	return sample_key_hash(&p->samples[e]);
}

static bool sample_equal(void *ctx, uint32_t e, const void *key)
{
	const struct profile_sample *a = &((struct profile *)ctx)->samples[e];
	const struct profile_sample *b = key;

	return a->pid == b->pid && a->tid == b->tid &&
	       a->thread == b->thread && a->nframes == b->nframes &&
	       !memcmp(a->labels, b->labels, sizeof(a->labels)) &&
	       memcmp(a->frames, b->frames,
		      a->nframes * sizeof(*a->frames)) == 0;
}

static int sample_insert(struct profile *p, const struct profile_sample *key,
			 size_t slot)
{
	struct profile_sample *s;
	uint32_t *frames;

	if (grow_array((void **)&p->samples, &p->samples_cap, p->nsamples + 1,
		       sizeof(*p->samples)))
		return -ENOMEM;
	frames = malloc((key->nframes ? key->nframes : 1) * sizeof(*frames));
	if (!frames)
		return -ENOMEM;
	if (key->nframes)	/* an empty stack may come with no array */
		memcpy(frames, key->frames, key->nframes * sizeof(*frames));
	p->heap_bytes += (key->nframes ? key->nframes : 1) * sizeof(*frames) + 16;
	s = &p->samples[p->nsamples];
	*s = *key;
	s->frames = frames;
	memset(s->values, 0, sizeof(s->values));
	p->sample_index.slots[slot] = ++p->nsamples;
	p->sample_index.used++;
	return 0;
}

int profile__add(struct profile *p, uint32_t pid, uint32_t tid,
		 const char *thread, const uint32_t *frames, uint32_t nframes,
		 const uint64_t *values)
{
	return profile__add_labeled(p, pid, tid, thread, NULL, frames, nframes,
				    values);
}

static int sample_key_init(struct profile *p, struct profile_sample *key,
			   const char *thread, const char *const *labels)
{
	key->thread = profile__intern(p, thread ? thread : "");
	if (!key->thread)
		return -ENOMEM;
	for (size_t i = 0; labels && i < p->nlabels; i++) {
		if (!labels[i])
			continue;
		key->labels[i] = profile__intern(p, labels[i]);
		if (!key->labels[i])
			return -ENOMEM;
	}
	return 0;
}

int profile__add_labeled(struct profile *p, uint32_t pid, uint32_t tid,
			 const char *thread, const char *const *labels,
			 const uint32_t *frames, uint32_t nframes,
			 const uint64_t *values)
{
	struct index *ix = &p->sample_index;
	struct profile_sample key = {
		.pid = pid, .tid = tid, .frames = frames, .nframes = nframes,
	};
	struct profile_sample *s;
	size_t slot;
	int64_t e;
	int err;

	for (uint32_t i = 0; i < nframes; i++)
		if (frames[i] >= p->nframes)
			return -EINVAL;
	err = sample_key_init(p, &key, thread, labels);
	if (err)
		return err;
	if ((ix->used + 1) * 2 > ix->cap && index__grow(ix, sample_hash, p))
		return -ENOMEM;
	e = index__find(ix, sample_key_hash(&key), sample_equal, p, &key,
			&slot);
	if (e < 0) {
		err = sample_insert(p, &key, slot);
		if (err)
			return err;
		e = p->nsamples - 1;
	}
	s = &p->samples[e];
	for (size_t i = 0; i < p->ntypes; i++)
		s->values[i] += values[i];
	return 0;
}

int profile__set_label_keys(struct profile *p, const char *const *keys,
			    size_t n)
{
	if (n > PROFILE_MAX_LABELS || p->nsamples)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		p->label_keys[i] = profile__intern(p, keys[i]);
		if (!p->label_keys[i])
			return -ENOMEM;
	}
	p->nlabels = n;
	return 0;
}

size_t profile__nlabels(const struct profile *p)
{
	return p->nlabels;
}

const char *profile__label_key(const struct profile *p, size_t i)
{
	return i < p->nlabels ? p->label_keys[i] : NULL;
}

/* ---- accessors ---- */

size_t profile__nvalue_types(const struct profile *p)
{
	return p->ntypes;
}

const struct profile_value_type *profile__value_type(const struct profile *p,
						      size_t i)
{
	return i < p->ntypes ? &p->types[i] : NULL;
}

size_t profile__nframes(const struct profile *p)
{
	return p->nframes;
}

const struct profile_frame *profile__frame_at(const struct profile *p,
					      uint32_t id)
{
	return id < p->nframes ? &p->frames[id] : NULL;
}

size_t profile__nsamples(const struct profile *p)
{
	return p->nsamples;
}

const struct profile_sample *profile__sample_at(const struct profile *p,
						size_t i)
{
	return i < p->nsamples ? &p->samples[i] : NULL;
}

const struct profile_frame *profile__process_frame(const struct profile *p,
						   const struct profile_sample *s)
{
	for (uint32_t i = 0; i < s->nframes; i++) {
		const struct profile_frame *fr = profile__frame_at(p, s->frames[i]);

		if (fr && fr->kind == FRAME_PROCESS)
			return fr;
		if (!fr || fr->kind != FRAME_GROUP)
			break;
	}
	return NULL;
}

uint64_t profile__total(const struct profile *p, size_t i)
{
	uint64_t sum = 0;

	if (i >= p->ntypes)
		return 0;
	for (size_t s = 0; s < p->nsamples; s++)
		sum += p->samples[s].values[i];
	return sum;
}

size_t profile__bytes(const struct profile *p)
{
	return sizeof(*p) + p->heap_bytes +
	       p->strings_cap * sizeof(*p->strings) +
	       p->frames_cap * sizeof(*p->frames) +
	       p->samples_cap * sizeof(*p->samples) +
	       (p->string_index.cap + p->frame_index.cap +
		p->sample_index.cap) * sizeof(uint32_t);
}

int profile__merge(struct profile *dst, const struct profile *src,
		   sample_pred_fn keep, void *ctx)
{
	uint32_t *map = calloc(src->nframes ? src->nframes : 1, sizeof(*map));
	uint32_t frames[512];
	int err = 0;

	if (!map)
		return -ENOMEM;
	/* Frame ids of src in dst, made on first use (UINT32_MAX: not yet). */
	memset(map, 0xff, src->nframes * sizeof(*map));
	for (size_t i = 0; i < src->nsamples && !err; i++) {
		const struct profile_sample *s = &src->samples[i];
		uint32_t n = s->nframes;

		if (keep && !keep(s, ctx))
			continue;
		if (n > sizeof(frames) / sizeof(frames[0])) {
			err = -E2BIG;
			break;
		}
		for (uint32_t f = 0; f < n && !err; f++) {
			uint32_t id = s->frames[f];

			if (map[id] == UINT32_MAX) {
				int64_t d = profile__frame_at_line(dst,
								   &src->frames[id]);

				if (d < 0)
					err = (int)d;
				else
					map[id] = (uint32_t)d;
			}
			frames[f] = map[id];
		}
		/* Label and thread strings are interned into dst on the way. */
		if (!err)
			err = profile__add_labeled(dst, s->pid, s->tid, s->thread,
						   s->labels, frames, n,
						   s->values);
	}
	free(map);
	return err;
}
