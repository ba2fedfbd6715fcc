// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "ch_batch.h"
#include "record.h"

/* One summed row: labels are the profile's interned strings (or NULL). */
struct agg {
	uint64_t stack;
	const char *labels[4];	/* namespace, pod, container, reason */
	uint64_t cpu, off;
	bool used;
};

struct encoder {
	const struct ch_window *w;
	struct ch_buf stacks, samples, frame_text;
	uint64_t *seen;		/* stack hashes written; 0: free slot */
	size_t seen_cap, nseen;
	struct agg *aggs;
	size_t agg_cap, nagg;
	struct ch_batch_stats *stats;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	return h;
}

static int grow(void **table, size_t *cap, size_t size)
{
	size_t ncap = *cap ? *cap * 2 : 1024;
	void *p = calloc(ncap, size);

	if (!p)
		return -ENOMEM;
	*table = p;
	*cap = ncap;
	return 0;
}

/* True the first time a stack is seen; grows the set at half full. */
static int stack_is_new(struct encoder *e, uint64_t h)
{
	if (!h)
		h = 1;
	if (2 * (e->nseen + 1) > e->seen_cap) {
		uint64_t *old = e->seen;
		size_t ocap = e->seen_cap;

		if (grow((void **)&e->seen, &e->seen_cap, sizeof(*e->seen)))
			return -ENOMEM;
		e->nseen = 0;
		for (size_t i = 0; i < ocap; i++)
			if (old[i])
				stack_is_new(e, old[i]);
		free(old);
	}
	for (size_t i = h & (e->seen_cap - 1);; i = (i + 1) & (e->seen_cap - 1)) {
		if (e->seen[i] == h)
			return 0;
		if (!e->seen[i]) {
			e->seen[i] = h;
			e->nseen++;
			return 1;
		}
	}
}

static uint64_t agg_hash(const struct agg *a)
{
	uint64_t h = a->stack;

	for (int i = 0; i < 4; i++)
		h = mix(h, (uint64_t)(uintptr_t)a->labels[i]);
	return h;
}

static struct agg *agg_slot(struct agg *t, size_t cap, const struct agg *key)
{
	for (size_t i = agg_hash(key) & (cap - 1);; i = (i + 1) & (cap - 1))
		if (!t[i].used || (t[i].stack == key->stack &&
		    !memcmp(t[i].labels, key->labels, sizeof(key->labels))))
			return &t[i];
}

static int agg_add(struct encoder *e, const struct agg *key)
{
	struct agg *slot;

	if (2 * (e->nagg + 1) > e->agg_cap) {
		struct agg *old = e->aggs;
		size_t ocap = e->agg_cap;

		if (grow((void **)&e->aggs, &e->agg_cap, sizeof(*e->aggs)))
			return -ENOMEM;
		for (size_t i = 0; i < ocap; i++)
			if (old[i].used)
				*agg_slot(e->aggs, e->agg_cap, &old[i]) = old[i];
		free(old);
	}
	slot = agg_slot(e->aggs, e->agg_cap, key);
	if (!slot->used) {
		*slot = *key;
		slot->cpu = slot->off = 0;
		slot->used = true;
		e->nagg++;
	}
	slot->cpu += key->cpu;
	slot->off += key->off;
	return 0;
}

#define MAX_FRAMES 1024

/* The sample's stack as stored strings; its hash; its row if new. */
static int add_stack(struct encoder *e, const struct profile_sample *s,
		     uint64_t *hash)
{
	const char *text[MAX_FRAMES];
	size_t lens[MAX_FRAMES], offs[MAX_FRAMES];
	uint32_t n = s->nframes < MAX_FRAMES ? s->nframes : MAX_FRAMES;
	int fresh;

	e->frame_text.len = 0;
	for (uint32_t i = 0; i < n; i++) {
		const struct profile_frame *fr =
			profile__frame_at(e->w->profile, s->frames[i]);
		const char *name = fr && fr->name ? fr->name : "?";
		char k = ch_frame__kind_char(fr ? fr->kind : FRAME_MARKER);

		offs[i] = e->frame_text.len;
		ch_buf__put(&e->frame_text, &k, 1);
		ch_buf__put(&e->frame_text, name, strlen(name));
		lens[i] = e->frame_text.len - offs[i];
	}
	if (e->frame_text.err)
		return e->frame_text.err;
	for (uint32_t i = 0; i < n; i++)
		text[i] = (const char *)e->frame_text.data + offs[i];
	*hash = ch_stack__hash(text, lens, n);
	fresh = stack_is_new(e, *hash);
	if (fresh <= 0)
		return fresh;
	ch_buf__u16(&e->stacks, ch_day(e->w->start_real_ns));
	ch_buf__u64(&e->stacks, *hash);
	ch_buf__varint(&e->stacks, n);
	for (uint32_t i = 0; i < n; i++)
		ch_buf__string(&e->stacks, text[i], lens[i]);
	e->stats->rows[CH_STACKS]++;
	return e->stacks.err;
}

static void put_str(struct ch_buf *b, const char *s)
{
	ch_buf__string(b, s ? s : "", s ? strlen(s) : 0);
}

/* The columns every table starts with: day, window_start, window_id, node. */
static void put_window_key(struct ch_buf *b, const struct ch_window *w)
{
	ch_buf__u16(b, ch_day(w->start_real_ns));
	ch_buf__u32(b, (uint32_t)(w->start_real_ns / 1000000000ULL));
	ch_buf__u64(b, w->start_real_ns);
	put_str(b, w->node);
}

static void put_sample_row(struct encoder *e, const struct agg *a,
			   uint8_t kind, uint64_t value)
{
	put_window_key(&e->samples, e->w);
	for (int i = 0; i < 3; i++)
		put_str(&e->samples, a->labels[i]);
	ch_buf__u8(&e->samples, kind);
	put_str(&e->samples, a->labels[3]);
	ch_buf__u64(&e->samples, a->stack);
	ch_buf__u64(&e->samples, value);
	e->stats->rows[CH_SAMPLES]++;
}

static uint64_t value_of(const struct profile_sample *s, int i)
{
	return i >= 0 && i < PROFILE_MAX_VALUES ? s->values[i] : 0;
}

static int aggregate(struct encoder *e)
{
	const struct profile *p = e->w->profile;
	size_t n = profile__nsamples(p);
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		const struct profile_sample *s = profile__sample_at(p, i);
		struct agg key = {
			.labels = { s->labels[LABEL_NAMESPACE], s->labels[LABEL_POD],
				    s->labels[LABEL_CONTAINER], s->labels[LABEL_REASON] },
			.cpu = value_of(s, e->w->cpu_value),
			.off = value_of(s, e->w->offcpu_value),
		};

		if (!key.cpu && !key.off)
			continue;
		err = add_stack(e, s, &key.stack);
		err = err ?: agg_add(e, &key);
	}
	for (size_t i = 0; i < e->agg_cap && !err; i++) {
		const struct agg *a = &e->aggs[i];

		if (!a->used)
			continue;
		if (a->cpu)
			put_sample_row(e, a, 1, a->cpu);
		if (a->off)
			put_sample_row(e, a, 2, a->off);
		e->stats->oncpu_ns += a->cpu;
		e->stats->offcpu_ns += a->off;
	}
	return err ?: e->samples.err;
}

int ch_gzip(const void *data, size_t len, struct ch_buf *out)
{
	z_stream z = { 0 };
	uint8_t chunk[65536];
	int ret;

	if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = deflate(&z, Z_FINISH);
		ch_buf__put(out, chunk, sizeof(chunk) - z.avail_out);
	} while (ret == Z_OK || (ret == Z_BUF_ERROR && !z.avail_out));
	deflateEnd(&z);
	if (ret != Z_STREAM_END)
		return -EIO;
	return out->err;
}

static int put_body(struct ch_buf *out, const struct ch_buf *raw,
		    struct ch_batch_stats *stats)
{
	size_t at = out->len;
	uint32_t n;
	int err;

	ch_buf__u32(out, 0);
	err = out->err ?: ch_gzip(raw->data, raw->len, out);
	if (err)
		return err;
	n = (uint32_t)(out->len - at - 4);
	memcpy(out->data + at, &n, 4);
	stats->raw_bytes += raw->len;
	stats->wire_bytes += n;
	return 0;
}

int ch_batch__encode(const struct ch_window *w, struct ch_buf *out,
		     struct ch_batch_stats *stats)
{
	struct encoder e = { .w = w, .stats = stats };
	struct ch_buf windows = { 0 };
	size_t start = out->len;
	uint32_t crc;
	int err;

	memset(stats, 0, sizeof(*stats));
	err = aggregate(&e);
	put_window_key(&windows, w);
	ch_buf__u64(&windows, w->duration_ns);
	ch_buf__u64(&windows, stats->oncpu_ns);
	ch_buf__u64(&windows, stats->offcpu_ns);
	ch_buf__u32(&windows, stats->rows[CH_STACKS]);
	ch_buf__u32(&windows, stats->rows[CH_SAMPLES]);
	stats->rows[CH_WINDOWS] = 1;
	err = err ?: windows.err;
	ch_buf__put(out, CH_BATCH_MAGIC, 8);
	ch_buf__u64(out, w->start_real_ns);
	err = err ?: put_body(out, &e.stacks, stats);
	err = err ?: put_body(out, &e.samples, stats);
	err = err ?: put_body(out, &windows, stats);
	if (!err && !out->err) {
		crc = (uint32_t)crc32(0, out->data + start, (uInt)(out->len - start));
		ch_buf__u32(out, crc);
	}
	err = err ?: out->err;
	if (!err && out->len - start > CH_BATCH_MAX)
		err = -E2BIG;
	if (err)
		out->len = start;
	ch_buf__free(&e.stacks);
	ch_buf__free(&e.samples);
	ch_buf__free(&e.frame_text);
	ch_buf__free(&windows);
	free(e.seen);
	free(e.aggs);
	return err;
}

int ch_batch__parse(const uint8_t *p, size_t len, struct ch_batch_view *v)
{
	struct ch_reader r = { .p = p, .len = len };
	uint8_t magic[8];
	uint32_t n, crc;

	memset(v, 0, sizeof(*v));
	for (int i = 0; i < 8; i++)
		if (ch_reader__u8(&r, &magic[i]))
			return -EBADMSG;
	if (memcmp(magic, CH_BATCH_MAGIC, 8) || ch_reader__u64(&r, &v->window_id))
		return -EBADMSG;
	for (int t = 0; t < CH_TABLES; t++) {
		if (ch_reader__u32(&r, &n) || n > len - r.off)
			return -EBADMSG;
		v->body[t] = p + r.off;
		v->len[t] = n;
		r.off += n;
	}
	v->total = r.off + 4;
	if (ch_reader__u32(&r, &crc) ||
	    crc != (uint32_t)crc32(0, p, (uInt)(v->total - 4)))
		return -EBADMSG;
	return 0;
}
