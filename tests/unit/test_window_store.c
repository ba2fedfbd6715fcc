// SPDX-License-Identifier: MIT
/*
 * Unit tests of the agent's window store (src/agent/window_store.c): adding
 * windows, eviction by retention and by byte budget, the counters, readers'
 * references (a window evicted under a reader stays valid until put: run
 * sanitized, ASan proves it) and one collector racing two readers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"
#include "window_store.h"

#define SEC 1000000000ULL

static const struct profile_value_type types[] = {
	{ "cpu", "nanoseconds" },
	{ "offcpu", "nanoseconds" },
};

/*
 * A profile of nsamples samples (one process "app", threads 1..nsamples),
 * every value tag: the tests recognise a window by its profile.
 */
static struct profile *make_profile(size_t nsamples, uint64_t tag)
{
	struct profile *p = profile__new(types, 2);
	int64_t proc, fn;

	assert_non_null(p);
	proc = profile__frame(p, "app", FRAME_PROCESS);
	fn = profile__frame(p, "main", FRAME_USER);
	assert_true(proc >= 0 && fn >= 0);
	for (size_t i = 0; i < nsamples; i++) {
		const uint32_t frames[] = { (uint32_t)proc, (uint32_t)fn };
		const uint64_t values[PROFILE_MAX_VALUES] = { tag, tag };

		assert_int_equal(profile__add(p, 100, (uint32_t)(i + 1), "app",
					      frames, 2, values), 0);
	}
	return p;
}

/* What profile__bytes says of make_profile(nsamples, *). */
static size_t profile_size(size_t nsamples)
{
	struct profile *p = make_profile(nsamples, 0);
	size_t b = profile__bytes(p);

	profile__free(p);
	return b;
}

/* The tag make_profile() put in p's values (every sample has it). */
static uint64_t tag_of(const struct profile *p)
{
	const struct profile_sample *s = profile__sample_at(p, 0);

	assert_non_null(s);
	return s->values[0];
}

/* Adds window [start, start + dur) at now, tagged with its seq-to-be. */
static void add(struct window_store *st, size_t nsamples, uint64_t tag,
		uint64_t start, uint64_t dur, uint64_t now)
{
	assert_int_equal(window_store__add(st, make_profile(nsamples, tag),
					   start, dur, now, NULL), 0);
}

static struct window_store_stats stats_of(struct window_store *st)
{
	struct window_store_stats s;

	memset(&s, 0xa5, sizeof(s));
	window_store__stats(st, &s);
	return s;
}

/* The seqs of every window the store holds, oldest first, as "1,2,3". */
static const char *seqs(struct window_store *st, char *buf, size_t len)
{
	size_t n = 0;
	struct window **w = window_store__get(st, 0, &n);

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%llu",
			 i ? "," : "", (unsigned long long)w[i]->seq);
	window_store__put(w, n);
	return buf;
}

/* ---- tests ---- */

static void test_empty(void **state)
{
	struct window_store *st = window_store__new(3600 * SEC, 1 << 30);
	struct window_store_stats s;
	struct window **w;
	size_t n = 7;

	(void)state;
	assert_non_null(st);
	errno = EIO;
	w = window_store__get(st, 0, &n);
	assert_null(w);
	assert_int_equal(n, 0);
	assert_int_equal(errno, 0);	/* empty, not out of memory */
	n = 7;
	assert_null(window_store__get(st, 5, &n));
	assert_int_equal(n, 0);
	window_store__put(NULL, 0);
	assert_int_equal(window_store__evict_oldest(st), 0);
	s = stats_of(st);
	assert_int_equal(s.windows, 0);
	assert_int_equal(s.bytes, 0);
	assert_int_equal(s.added, 0);
	assert_int_equal(s.evicted_age, 0);
	assert_int_equal(s.evicted_memory, 0);
	window_store__free(st);
	window_store__free(NULL);
}

static void test_add_and_get(void **state)
{
	struct window_store *st = window_store__new(3600 * SEC, 1 << 30);
	size_t b = profile_size(3), n;
	struct window_store_stats s;
	struct window **w;
	char buf[256];

	(void)state;
	for (uint64_t i = 1; i <= 5; i++)
		add(st, 3, i, 1000 * SEC + i * 60 * SEC, 60 * SEC,
		    1000 * SEC + (i + 1) * 60 * SEC);
	s = stats_of(st);
	assert_int_equal(s.windows, 5);
	assert_int_equal(s.added, 5);
	assert_int_equal(s.bytes, 5 * b);
	assert_int_equal(s.evicted_age, 0);
	assert_int_equal(s.evicted_memory, 0);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "1,2,3,4,5");

	/* All, oldest first, each with the window's own fields. */
	w = window_store__get(st, 0, &n);
	assert_non_null(w);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(w[i]->seq, i + 1);
		assert_int_equal(w[i]->start_real_ns,
				 1000 * SEC + (i + 1) * 60 * SEC);
		assert_int_equal(w[i]->duration_ns, 60 * SEC);
		assert_int_equal(w[i]->bytes, b);
		assert_int_equal(tag_of(w[i]->profile), i + 1);
		assert_int_equal(profile__nsamples(w[i]->profile), 3);
		assert_int_equal(w[i]->refs, 2);	/* the store's + ours */
	}
	window_store__put(w, n);

	/* The newest n, oldest first. */
	w = window_store__get(st, 2, &n);
	assert_int_equal(n, 2);
	assert_int_equal(w[0]->seq, 4);
	assert_int_equal(w[1]->seq, 5);
	/* Two readers at once: two references more. */
	{
		size_t n2;
		struct window **w2 = window_store__get(st, 1, &n2);

		assert_int_equal(n2, 1);
		assert_ptr_equal(w2[0], w[1]);
		assert_int_equal(w[1]->refs, 3);
		assert_int_equal(w[0]->refs, 2);
		window_store__put(w2, n2);
		assert_int_equal(w[1]->refs, 2);
	}
	window_store__put(w, n);

	/* More than there are: every window. */
	w = window_store__get(st, 99, &n);
	assert_int_equal(n, 5);
	assert_int_equal(w[0]->seq, 1);
	assert_int_equal(w[4]->seq, 5);
	window_store__put(w, n);

	w = window_store__get(st, 1, &n);
	assert_int_equal(n, 1);
	assert_int_equal(w[0]->seq, 5);
	assert_int_equal(w[0]->refs, 2);	/* every put gave its ref back */
	window_store__put(w, n);
	window_store__free(st);
}

/* Windows that end before now - retention go; the boundary stays. */
static void test_evict_by_age(void **state)
{
	struct window_store *st = window_store__new(300 * SEC, 1 << 30);
	struct window_store_stats s;
	char buf[256];

	(void)state;
	/* 60 s windows: [0,60) [60,120) ... [240,300), each added at its end. */
	for (uint64_t i = 0; i < 5; i++)
		add(st, 1, i + 1, i * 60 * SEC, 60 * SEC, (i + 1) * 60 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "1,2,3,4,5");
	assert_int_equal(stats_of(st).evicted_age, 0);

	/* now = 360: window 1 ends at 60 = now - retention: it stays. */
	add(st, 1, 6, 300 * SEC, 60 * SEC, 360 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "1,2,3,4,5,6");
	assert_int_equal(stats_of(st).evicted_age, 0);

	/* now = 360 s + 1 ns: window 1 ended 1 ns too long ago. */
	add(st, 1, 7, 360 * SEC, 1, 360 * SEC + 1);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "2,3,4,5,6,7");
	s = stats_of(st);
	assert_int_equal(s.evicted_age, 1);
	assert_int_equal(s.evicted_memory, 0);
	assert_int_equal(s.windows, 6);
	assert_int_equal(s.added, 7);
	assert_int_equal(s.bytes, 6 * profile_size(1));

	/* now = 600: windows ending before 300 go (2..4 end at 120..240;
	 * 5 ends at exactly 300 and stays). */
	add(st, 1, 8, 540 * SEC, 60 * SEC, 600 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "5,6,7,8");
	s = stats_of(st);
	assert_int_equal(s.evicted_age, 4);
	assert_int_equal(s.windows, 4);
	assert_int_equal(s.added, 8);
	assert_int_equal(s.bytes, 4 * profile_size(1));
	window_store__free(st);
}

/* The newest window stays even when it is itself past the retention. */
static void test_newest_always_stays(void **state)
{
	struct window_store *st = window_store__new(10 * SEC, 1 << 30);
	struct window_store_stats s;
	char buf[256];

	(void)state;
	add(st, 1, 1, 0, 60 * SEC, 60 * SEC);
	add(st, 1, 2, 60 * SEC, 60 * SEC, 120 * SEC);
	/* Added a day after it ended (a stalled collector, a clock jump). */
	add(st, 1, 3, 120 * SEC, 60 * SEC, 86400 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "3");
	s = stats_of(st);
	assert_int_equal(s.windows, 1);
	assert_int_equal(s.evicted_age, 2);
	assert_int_equal(s.evicted_memory, 0);
	assert_int_equal(s.bytes, profile_size(1));
	window_store__free(st);

	/* A zero retention keeps the newest only, too. */
	st = window_store__new(0, 1 << 30);
	for (uint64_t i = 0; i < 4; i++)
		add(st, 1, i + 1, i * SEC, SEC, (i + 2) * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "4");
	assert_int_equal(stats_of(st).evicted_age, 3);
	window_store__free(st);
}

/* Over the byte budget, the oldest go first; the newest always stays. */
static void test_evict_by_budget(void **state)
{
	size_t b = profile_size(10), big = profile_size(600);
	struct window_store *st;
	struct window_store_stats s;
	char buf[256];

	(void)state;
	assert_true(big > 3 * b);
	/* Room for three small windows and a half. */
	st = window_store__new(3600 * SEC, 3 * b + b / 2);
	for (uint64_t i = 0; i < 3; i++)
		add(st, 10, i + 1, i * SEC, SEC, (i + 1) * SEC);
	s = stats_of(st);
	assert_int_equal(s.windows, 3);
	assert_int_equal(s.bytes, 3 * b);
	assert_int_equal(s.evicted_memory, 0);

	add(st, 10, 4, 3 * SEC, SEC, 4 * SEC);
	add(st, 10, 5, 4 * SEC, SEC, 5 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "3,4,5");
	s = stats_of(st);
	assert_int_equal(s.windows, 3);
	assert_int_equal(s.bytes, 3 * b);
	assert_int_equal(s.added, 5);
	assert_int_equal(s.evicted_memory, 2);
	assert_int_equal(s.evicted_age, 0);
	assert_true(s.bytes <= 3 * b + b / 2);

	/* One window bigger than the budget: alone, but kept. */
	add(st, 600, 6, 5 * SEC, SEC, 6 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "6");
	s = stats_of(st);
	assert_int_equal(s.windows, 1);
	assert_int_equal(s.bytes, big);
	assert_int_equal(s.evicted_memory, 5);

	/* The next small one pushes the big one out. */
	add(st, 10, 7, 6 * SEC, SEC, 7 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "7");
	s = stats_of(st);
	assert_int_equal(s.bytes, b);
	assert_int_equal(s.evicted_memory, 6);
	assert_int_equal(s.added, 7);
	window_store__free(st);
}

/* Age first, then the budget, each counted apart. */
static void test_evict_age_and_budget(void **state)
{
	size_t b = profile_size(10), big = profile_size(40);
	struct window_store *st = window_store__new(100 * SEC, 2 * b);
	struct window_store_stats s;
	char buf[256];

	(void)state;
	assert_true(big > b && big < 2 * b);
	add(st, 10, 1, 0, 10 * SEC, 10 * SEC);
	add(st, 10, 2, 10 * SEC, 10 * SEC, 20 * SEC);
	/* Two fit; the third and fourth push 1 and 2 out. */
	add(st, 10, 3, 20 * SEC, 10 * SEC, 30 * SEC);
	add(st, 10, 4, 30 * SEC, 10 * SEC, 40 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "3,4");
	s = stats_of(st);
	assert_int_equal(s.evicted_age, 0);
	assert_int_equal(s.evicted_memory, 2);
	/* At 135 s window 3 (ended at 30) is too old; 4 (40) is not. */
	add(st, 10, 5, 125 * SEC, 10 * SEC, 135 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "4,5");
	s = stats_of(st);
	assert_int_equal(s.evicted_age, 1);
	assert_int_equal(s.evicted_memory, 2);
	/* Over the budget and too old: counted as too old. */
	add(st, 10, 6, 135 * SEC, 10 * SEC, 145 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "5,6");
	s = stats_of(st);
	assert_int_equal(s.evicted_age, 2);
	assert_int_equal(s.evicted_memory, 2);
	/* One add, both reasons: 5 is too old, then 6 is over the budget. */
	add(st, 40, 7, 235 * SEC, 10 * SEC, 240 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "7");
	s = stats_of(st);
	assert_int_equal(s.windows, 1);
	assert_int_equal(s.bytes, big);
	assert_int_equal(s.added, 7);
	assert_int_equal(s.evicted_age, 3);
	assert_int_equal(s.evicted_memory, 3);
	assert_int_equal(s.windows + s.evicted_age + s.evicted_memory, s.added);
	window_store__free(st);
}

static void test_evict_oldest(void **state)
{
	size_t b = profile_size(4);
	struct window_store *st = window_store__new(3600 * SEC, 1 << 30);
	struct window_store_stats s;
	char buf[256];

	(void)state;
	for (uint64_t i = 0; i < 3; i++)
		add(st, 4, i + 1, i * SEC, SEC, (i + 1) * SEC);
	assert_int_equal(window_store__evict_oldest(st), 1);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "2,3");
	s = stats_of(st);
	assert_int_equal(s.windows, 2);
	assert_int_equal(s.bytes, 2 * b);
	assert_int_equal(s.evicted_memory, 1);
	assert_int_equal(window_store__evict_oldest(st), 1);
	/* The last one never goes. */
	assert_int_equal(window_store__evict_oldest(st), 0);
	assert_int_equal(window_store__evict_oldest(st), 0);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "3");
	s = stats_of(st);
	assert_int_equal(s.windows, 1);
	assert_int_equal(s.bytes, b);
	assert_int_equal(s.evicted_memory, 2);
	assert_int_equal(s.evicted_age, 0);
	assert_int_equal(s.added, 3);
	/* Seqs go on from where they were. */
	add(st, 4, 4, 3 * SEC, SEC, 4 * SEC);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "3,4");
	window_store__free(st);
}

/*
 * A reader's windows outlive their eviction: read after the store dropped
 * them (and after the store itself is gone). Under ASan a use after free
 * fails here; under LSan a missing free on the last put does.
 */
static void test_reader_outlives_eviction(void **state)
{
	size_t b = profile_size(8);
	struct window_store *st = window_store__new(100 * SEC, 3 * b);
	struct window **w, **w2;
	size_t n, n2;
	char buf[256];

	(void)state;
	for (uint64_t i = 0; i < 3; i++)
		add(st, 8, i + 1, i * SEC, SEC, (i + 1) * SEC);
	w = window_store__get(st, 0, &n);
	assert_int_equal(n, 3);

	/* By age (one), by budget (one), by hand (one): all three gone. */
	add(st, 8, 4, 100 * SEC, SEC, 101 * SEC + 1);
	add(st, 8, 5, 101 * SEC, SEC, 101 * SEC + 1);
	assert_int_equal(window_store__evict_oldest(st), 1);
	assert_string_equal(seqs(st, buf, sizeof(buf)), "4,5");
	assert_int_equal(stats_of(st).evicted_age, 1);
	assert_int_equal(stats_of(st).evicted_memory, 2);

	for (size_t i = 0; i < n; i++) {
		const struct profile_sample *s;

		assert_int_equal(w[i]->refs, 1);	/* ours only */
		assert_int_equal(w[i]->seq, i + 1);
		assert_int_equal(profile__nsamples(w[i]->profile), 8);
		s = profile__sample_at(w[i]->profile, 7);
		assert_non_null(s);
		assert_string_equal(s->thread, "app");
		assert_int_equal(s->values[1], i + 1);
		assert_string_equal(profile__frame_at(w[i]->profile,
						      s->frames[1])->name, "main");
		assert_int_equal(profile__total(w[i]->profile, 0), 8 * (i + 1));
	}

	/* Held across the store's end too. */
	w2 = window_store__get(st, 1, &n2);
	assert_int_equal(n2, 1);
	window_store__free(st);
	assert_int_equal(w2[0]->refs, 1);
	assert_int_equal(tag_of(w2[0]->profile), 5);
	window_store__put(w2, n2);
	window_store__put(w, n);
}

/* ---- one collector, two readers ---- */

#define RACE_WINDOWS 10000

struct race {
	struct window_store *st;
	int done;		/* the collector has finished */
	uint64_t reads;		/* windows the readers checked */
	uint64_t orphans;	/* ... of which evicted while held */
	int bad;		/* a reader saw something wrong */
	int ready;		/* readers that have read a window */
	unsigned seed;
};

/* Window seq carries tag seq and seq % 5 + 1 samples. */
static void *collector(void *arg)
{
	struct race *r = arg;

	for (uint64_t seq = 1; seq <= RACE_WINDOWS; seq++) {
		/*
		 * 1 s windows, added 0..6 s after their end, 10 s retention:
		 * the age keeps 5 to 11 of them ...
		 */
		uint64_t start = seq * SEC;

		if (window_store__add(r->st, make_profile(seq % 5 + 1, seq),
				      start, SEC, start + SEC + (seq % 7) * SEC, NULL))
			__atomic_store_n(&r->bad, 1, __ATOMIC_RELAXED);
		/* ... the budget others, and memory pressure the rest. */
		if (seq % 13 == 0)
			window_store__evict_oldest(r->st);
		/* Both readers in the race before it goes on. */
		while (seq == 1 && __atomic_load_n(&r->ready, __ATOMIC_ACQUIRE) < 2)
			sched_yield();
	}
	__atomic_store_n(&r->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void *reader(void *arg)
{
	struct race *r = arg;
	unsigned seed = __atomic_fetch_add(&r->seed, 1, __ATOMIC_RELAXED);
	uint64_t reads = 0, orphans = 0;
	int bad = 0;

	while (!__atomic_load_n(&r->done, __ATOMIC_ACQUIRE)) {
		size_t want = (size_t)(rand_r(&seed) % 6), n;
		struct window **w = window_store__get(r->st, want, &n);

		if (!w)
			continue;	/* nothing yet */
		if (!reads)
			__atomic_add_fetch(&r->ready, 1, __ATOMIC_RELEASE);
		if (want && n > want)
			bad = 1;
		/* Now and then, give the collector time to evict them. */
		if (rand_r(&seed) % 4 == 0)
			sched_yield();
		for (size_t i = 0; i < n; i++) {
			const struct profile *p = w[i]->profile;

			/* Oldest first, contiguous: nothing skipped. */
			if (i && w[i]->seq != w[i - 1]->seq + 1)
				bad = 1;
			if (profile__nsamples(p) != w[i]->seq % 5 + 1 ||
			    tag_of(p) != w[i]->seq ||
			    w[i]->start_real_ns != w[i]->seq * SEC ||
			    __atomic_load_n(&w[i]->refs, __ATOMIC_RELAXED) < 1)
				bad = 1;
			/* Only this reader's reference is left. */
			if (__atomic_load_n(&w[i]->refs, __ATOMIC_RELAXED) == 1)
				orphans++;
			reads++;
		}
		window_store__put(w, n);
	}
	__atomic_add_fetch(&r->reads, reads, __ATOMIC_RELAXED);
	__atomic_add_fetch(&r->orphans, orphans, __ATOMIC_RELAXED);
	if (bad)
		__atomic_store_n(&r->bad, 1, __ATOMIC_RELAXED);
	return NULL;
}

static void test_concurrent(void **state)
{
	struct race r = {
		/* ... and the budget 8. */
		.st = window_store__new(10 * SEC, 8 * profile_size(5)),
		.seed = 1,
	};
	pthread_t c, rd[2];
	struct window_store_stats s;

	(void)state;
	assert_non_null(r.st);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&rd[i], NULL, reader, &r), 0);
	assert_int_equal(pthread_create(&c, NULL, collector, &r), 0);
	assert_int_equal(pthread_join(c, NULL), 0);
	for (size_t i = 0; i < 2; i++)
		assert_int_equal(pthread_join(rd[i], NULL), 0);
	assert_int_equal(r.bad, 0);
	print_message("  readers checked %llu windows, %llu of them evicted "
		      "while held\n", (unsigned long long)r.reads,
		      (unsigned long long)r.orphans);
	assert_true(r.reads > 0);

	s = stats_of(r.st);
	assert_int_equal(s.added, RACE_WINDOWS);
	assert_true(s.windows >= 1);
	assert_true(s.evicted_age > 0);
	assert_true(s.evicted_memory > 0);
	assert_int_equal(s.windows + s.evicted_age + s.evicted_memory,
			 RACE_WINDOWS);
	{
		size_t n;
		struct window **w = window_store__get(r.st, 0, &n);
		size_t bytes = 0;

		assert_int_equal(n, s.windows);
		assert_int_equal(w[n - 1]->seq, RACE_WINDOWS);
		for (size_t i = 0; i < n; i++) {
			bytes += w[i]->bytes;
			assert_int_equal(w[i]->refs, 2);	/* no leaked refs */
		}
		assert_int_equal(bytes, s.bytes);
		window_store__put(w, n);
	}
	window_store__free(r.st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_add_and_get),
		cmocka_unit_test(test_evict_by_age),
		cmocka_unit_test(test_newest_always_stays),
		cmocka_unit_test(test_evict_by_budget),
		cmocka_unit_test(test_evict_age_and_budget),
		cmocka_unit_test(test_evict_oldest),
		cmocka_unit_test(test_reader_outlives_eviction),
		cmocka_unit_test(test_concurrent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
