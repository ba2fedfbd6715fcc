// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include "profile.h"
#include "window_store.h"

struct window_store {
	pthread_mutex_t lock;
	struct window **w;		/* oldest first */
	size_t n, cap;
	uint64_t retention_ns;
	size_t budget;
	struct window_store_stats stats;
};

struct window_store *window_store__new(uint64_t retention_ns,
				       size_t budget_bytes)
{
	struct window_store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	pthread_mutex_init(&st->lock, NULL);
	st->retention_ns = retention_ns;
	st->budget = budget_bytes;
	return st;
}

static void window_unref(struct window *w)
{
	if (__atomic_sub_fetch(&w->refs, 1, __ATOMIC_ACQ_REL))
		return;
	profile__free(w->profile);
	free(w);
}

void window_store__free(struct window_store *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		window_unref(st->w[i]);
	free(st->w);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* Drops w[0]; the caller holds the lock. */
static void drop_oldest(struct window_store *st)
{
	struct window *w = st->w[0];

	st->stats.bytes -= w->bytes;
	for (size_t i = 1; i < st->n; i++)
		st->w[i - 1] = st->w[i];
	st->n--;
	window_unref(w);
}

int window_store__add(struct window_store *st, struct profile *p,
		      uint64_t start_real_ns, uint64_t duration_ns,
		      uint64_t now_real_ns, const struct window_sampling *ws)
{
	struct window *w = calloc(1, sizeof(*w));
	int err = 0;

	if (!w) {
		profile__free(p);
		return -ENOMEM;
	}
	w->profile = p;
	w->bytes = profile__bytes(p);
	w->start_real_ns = start_real_ns;
	w->duration_ns = duration_ns;
	if (ws)
		w->sampling = *ws;
	w->refs = 1;
	pthread_mutex_lock(&st->lock);
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		struct window **nw = realloc(st->w, cap * sizeof(*nw));

		if (!nw) {
			err = -ENOMEM;
			goto out;
		}
		st->w = nw;
		st->cap = cap;
	}
	w->seq = ++st->stats.added;
	st->w[st->n++] = w;
	st->stats.bytes += w->bytes;
	w = NULL;
	while (st->n > 1 && st->w[0]->start_real_ns + st->w[0]->duration_ns +
			    st->retention_ns < now_real_ns) {
		drop_oldest(st);
		st->stats.evicted_age++;
	}
	while (st->n > 1 && st->stats.bytes > st->budget) {
		drop_oldest(st);
		st->stats.evicted_memory++;
	}
out:
	st->stats.windows = st->n;
	pthread_mutex_unlock(&st->lock);
	if (w)
		window_unref(w);
	return err;
}

int window_store__evict_oldest(struct window_store *st)
{
	int done = 0;

	pthread_mutex_lock(&st->lock);
	if (st->n > 1) {
		drop_oldest(st);
		st->stats.evicted_memory++;
		st->stats.windows = st->n;
		done = 1;
	}
	pthread_mutex_unlock(&st->lock);
	return done;
}

struct window **window_store__get(struct window_store *st, size_t n,
				  size_t *count)
{
	struct window **out = NULL;
	size_t first;

	*count = 0;
	pthread_mutex_lock(&st->lock);
	if (!n || n > st->n)
		n = st->n;
	errno = 0;
	if (n && (out = calloc(n, sizeof(*out)))) {
		first = st->n - n;
		for (size_t i = 0; i < n; i++) {
			out[i] = st->w[first + i];
			__atomic_add_fetch(&out[i]->refs, 1, __ATOMIC_RELAXED);
		}
		*count = n;
	}
	pthread_mutex_unlock(&st->lock);
	return out;
}

void window_store__put(struct window **w, size_t count)
{
	for (size_t i = 0; i < count; i++)
		window_unref(w[i]);
	free(w);
}

void window_store__stats(struct window_store *st,
			 struct window_store_stats *out)
{
	pthread_mutex_lock(&st->lock);
	*out = st->stats;
	pthread_mutex_unlock(&st->lock);
}
