// SPDX-License-Identifier: MIT
/*
 * Unit tests of profile__merge and profile__bytes (src/profile/profile.c), which
 * the agent uses to merge its windows and to weigh them.
 *
 * Profiles are compared through dump(): one line per sample,
 * "pid/tid thread [labels] kind:frame;... = v0,v1", sorted, so two
 * profiles with the same content compare equal whatever their frame ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "profile.h"

static const struct profile_value_type types[] = {
	{ "cpu", "nanoseconds" },
	{ "offcpu", "nanoseconds" },
};

static const char *const label_keys[] = { "reason", "pod" };

static struct profile *new_profile(void)
{
	struct profile *p = profile__new(types, 2);

	assert_non_null(p);
	assert_int_equal(profile__set_label_keys(p, label_keys, 2), 0);
	return p;
}

static enum frame_kind kind_of(char c)
{
	switch (c) {
	case 'k': return FRAME_KERNEL;
	case 'p': return FRAME_PROCESS;
	case 'm': return FRAME_MARKER;
	case 'g': return FRAME_GROUP;
	default: return FRAME_USER;
	}
}

static char kind_char(enum frame_kind k)
{
	switch (k) {
	case FRAME_KERNEL: return 'k';
	case FRAME_PROCESS: return 'p';
	case FRAME_MARKER: return 'm';
	case FRAME_GROUP: return 'g';
	default: return 'u';
	}
}

/*
 * Adds a sample: stack is "k:name;k:name;..." root first (kinds: p u k m
 * g), reason and pod may be NULL.
 */
static void add(struct profile *p, uint32_t pid, uint32_t tid,
		const char *thread, const char *reason, const char *pod,
		const char *stack, uint64_t v0, uint64_t v1)
{
	const uint64_t values[PROFILE_MAX_VALUES] = { v0, v1 };
	const char *labels[] = { reason, pod };
	char buf[1024], *rest = buf, *tok;
	uint32_t ids[64];
	uint32_t n = 0;

	assert_true(strlen(stack) < sizeof(buf));
	strcpy(buf, stack);
	while ((tok = strsep(&rest, ";")) && *tok) {
		int64_t id = profile__frame(p, tok + 2, kind_of(tok[0]));

		assert_true(id >= 0);
		assert_true(n < 64);
		ids[n++] = (uint32_t)id;
	}
	assert_int_equal(profile__add_labeled(p, pid, tid, thread, labels, ids,
					      n, values), 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The profile as sorted text lines (see the top); the caller frees it. */
static char *dump(const struct profile *p)
{
	size_t n = profile__nsamples(p), size = 0;
	char **lines = calloc(n ? n : 1, sizeof(*lines)), *text = NULL;
	FILE *out;

	assert_non_null(lines);
	for (size_t i = 0; i < n; i++) {
		const struct profile_sample *s = profile__sample_at(p, i);
		size_t len = 0;
		FILE *f = open_memstream(&lines[i], &len);

		assert_non_null(f);
		fprintf(f, "%u/%u %s [", s->pid, s->tid, s->thread);
		for (size_t l = 0; l < profile__nlabels(p); l++)
			fprintf(f, "%s%s=%s", l ? " " : "",
				profile__label_key(p, l),
				s->labels[l] ? s->labels[l] : "-");
		fputs("] ", f);
		for (uint32_t k = 0; k < s->nframes; k++) {
			const struct profile_frame *fr =
				profile__frame_at(p, s->frames[k]);

			assert_non_null(fr);
			fprintf(f, "%s%c:%s", k ? ";" : "", kind_char(fr->kind),
				fr->name);
		}
		fprintf(f, " = %llu,%llu", (unsigned long long)s->values[0],
			(unsigned long long)s->values[1]);
		fclose(f);
	}
	qsort(lines, n, sizeof(*lines), cmp_str);
	out = open_memstream(&text, &size);
	assert_non_null(out);
	for (size_t i = 0; i < n; i++) {
		fprintf(out, "%s\n", lines[i]);
		free(lines[i]);
	}
	fclose(out);
	free(lines);
	return text;
}

static void assert_dump(const struct profile *p, const char *want)
{
	char *got = dump(p);

	if (strcmp(got, want))
		print_error("got:\n%swant:\n%s", got, want);
	assert_string_equal(got, want);
	free(got);
}

/*
 *   app(10) tid 10 "app"  run:   app;main;work          1 / 100
 *   app(10) tid 11 "w1"   io:    app;main;read;vfs_read 0 / 500
 *   db(20)  tid 20 "db"   pod=shop/db  db;query         7 / 0
 */
static struct profile *profile_a(void)
{
	struct profile *p = new_profile();

	add(p, 10, 10, "app", "runqueue", NULL, "p:app;u:main;u:work", 1, 100);
	add(p, 10, 11, "w1", "io", NULL,
	    "p:app;u:main;u:read;k:vfs_read", 0, 500);
	add(p, 20, 20, "db", NULL, "shop/db", "g:[pod shop/db];p:db;u:query",
	    7, 0);
	return p;
}

/*
 * Overlaps profile_a: the same first and third samples (summed), one that
 * differs from a's second only by its label, one only by its thread name,
 * one by a frame's kind, and a new process.
 */
static struct profile *profile_b(void)
{
	struct profile *p = new_profile();

	/* New frames first, so b's frame ids differ from a's. */
	add(p, 30, 30, "cron", NULL, NULL, "p:cron;u:tick", 2, 2);
	add(p, 20, 20, "db", NULL, "shop/db", "g:[pod shop/db];p:db;u:query",
	    3, 10);
	add(p, 10, 10, "app", "runqueue", NULL, "p:app;u:main;u:work", 4, 50);
	add(p, 10, 11, "w1", "sleep", NULL,
	    "p:app;u:main;u:read;k:vfs_read", 0, 20);
	add(p, 10, 11, "w2", "io", NULL,
	    "p:app;u:main;u:read;k:vfs_read", 0, 30);
	/* "read" as a kernel frame: not the user function read. */
	add(p, 10, 11, "w1", "io", NULL,
	    "p:app;u:main;k:read;k:vfs_read", 0, 40);
	return p;
}

static const char dump_a[] =
	"10/10 app [reason=runqueue pod=-] p:app;u:main;u:work = 1,100\n"
	"10/11 w1 [reason=io pod=-] p:app;u:main;u:read;k:vfs_read = 0,500\n"
	"20/20 db [reason=- pod=shop/db] g:[pod shop/db];p:db;u:query = 7,0\n";

static const char dump_a_plus_b[] =
	"10/10 app [reason=runqueue pod=-] p:app;u:main;u:work = 5,150\n"
	"10/11 w1 [reason=io pod=-] p:app;u:main;k:read;k:vfs_read = 0,40\n"
	"10/11 w1 [reason=io pod=-] p:app;u:main;u:read;k:vfs_read = 0,500\n"
	"10/11 w1 [reason=sleep pod=-] p:app;u:main;u:read;k:vfs_read = 0,20\n"
	"10/11 w2 [reason=io pod=-] p:app;u:main;u:read;k:vfs_read = 0,30\n"
	"20/20 db [reason=- pod=shop/db] g:[pod shop/db];p:db;u:query = 10,10\n"
	"30/30 cron [reason=- pod=-] p:cron;u:tick = 2,2\n";

/* ---- merge ---- */

static void test_merge_sums_overlap(void **state)
{
	struct profile *a = profile_a(), *b = profile_b();

	(void)state;
	assert_dump(a, dump_a);
	assert_int_equal(profile__merge(a, b, NULL, NULL), 0);
	/* src is unchanged and may go: dst's strings are its own. */
	assert_int_equal(profile__nsamples(b), 6);
	profile__free(b);
	assert_dump(a, dump_a_plus_b);
	assert_int_equal(profile__nsamples(a), 7);
	assert_int_equal(profile__total(a, 0), 1 + 7 + 3 + 4 + 2);
	assert_int_equal(profile__total(a, 1), 100 + 500 + 10 + 50 + 20 + 30 +
			 40 + 2);
	/* The label keys and value types are dst's, untouched. */
	assert_int_equal(profile__nlabels(a), 2);
	assert_string_equal(profile__label_key(a, 1), "pod");
	assert_string_equal(profile__value_type(a, 1)->type, "offcpu");
	profile__free(a);
}

/* Merging a and b into an empty profile gives the same as b into a. */
static void test_merge_into_empty(void **state)
{
	struct profile *dst = new_profile(), *a = profile_a(), *b = profile_b();

	(void)state;
	assert_int_equal(profile__merge(dst, a, NULL, NULL), 0);
	assert_dump(dst, dump_a);
	assert_int_equal(profile__merge(dst, b, NULL, NULL), 0);
	assert_dump(dst, dump_a_plus_b);
	/* One "app" process frame, "read" twice (user and kernel). */
	{
		size_t app = 0, read_u = 0, read_k = 0;

		for (uint32_t i = 0; i < profile__nframes(dst); i++) {
			const struct profile_frame *f = profile__frame_at(dst, i);

			app += !strcmp(f->name, "app") && f->kind == FRAME_PROCESS;
			read_u += !strcmp(f->name, "read") && f->kind == FRAME_USER;
			read_k += !strcmp(f->name, "read") && f->kind == FRAME_KERNEL;
		}
		assert_int_equal(app, 1);
		assert_int_equal(read_u, 1);
		assert_int_equal(read_k, 1);
	}
	/* Merging the same profile again doubles every value. */
	profile__free(b);
	b = profile_a();
	assert_int_equal(profile__merge(dst, b, NULL, NULL), 0);
	assert_int_equal(profile__nsamples(dst), 7);
	assert_int_equal(profile__total(dst, 0), 2 * 1 + 2 * 7 + 3 + 4 + 2);
	profile__free(a);
	profile__free(b);
	profile__free(dst);
}

static void test_merge_keeps_thread_and_labels(void **state)
{
	struct profile *dst = new_profile(), *src = new_profile();
	const struct profile_sample *s;

	(void)state;
	add(src, 7, 8, "worker-thread", "throttled", "ns/pod-0",
	    "g:[pod ns/pod-0];p:svc;u:handle", 3, 4);
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	profile__free(src);	/* nothing of dst points into src */
	assert_int_equal(profile__nsamples(dst), 1);
	s = profile__sample_at(dst, 0);
	assert_int_equal(s->pid, 7);
	assert_int_equal(s->tid, 8);
	assert_string_equal(s->thread, "worker-thread");
	assert_string_equal(s->labels[0], "throttled");
	assert_string_equal(s->labels[1], "ns/pod-0");
	assert_int_equal(s->values[0], 3);
	assert_int_equal(s->values[1], 4);
	assert_int_equal(s->nframes, 3);
	assert_int_equal(profile__frame_at(dst, s->frames[0])->kind, FRAME_GROUP);
	assert_string_equal(profile__process_frame(dst, s)->name, "svc");
	/* Interned in dst: the same pointers dst gives out. */
	assert_ptr_equal(s->thread, profile__intern(dst, "worker-thread"));
	assert_ptr_equal(s->labels[1], profile__intern(dst, "ns/pod-0"));
	profile__free(dst);
}

struct pick {
	uint32_t pid;		/* 0: any */
	const char *reason;	/* NULL: any */
	size_t calls;
};

static bool keep_pick(const struct profile_sample *s, void *ctx)
{
	struct pick *k = ctx;

	k->calls++;
	if (k->pid && s->pid != k->pid)
		return false;
	return !k->reason || (s->labels[0] && !strcmp(s->labels[0], k->reason));
}

static bool keep_none(const struct profile_sample *s, void *ctx)
{
	(void)s;
	(void)ctx;
	return false;
}

static void test_merge_filtered(void **state)
{
	struct profile *b = profile_b(), *dst;
	struct pick k = { .pid = 10, .reason = "io" };

	(void)state;
	dst = new_profile();
	assert_int_equal(profile__merge(dst, b, keep_pick, &k), 0);
	assert_int_equal(k.calls, profile__nsamples(b));	/* ctx passed */
	assert_dump(dst,
		"10/11 w1 [reason=io pod=-] p:app;u:main;k:read;k:vfs_read = 0,40\n"
		"10/11 w2 [reason=io pod=-] p:app;u:main;u:read;k:vfs_read = 0,30\n");
	/* Frames only the skipped samples use are not copied. */
	for (uint32_t i = 0; i < profile__nframes(dst); i++) {
		const char *name = profile__frame_at(dst, i)->name;

		assert_true(strcmp(name, "cron") && strcmp(name, "tick") &&
			    strcmp(name, "query") && strcmp(name, "work"));
	}
	profile__free(dst);

	/* One pod. */
	dst = profile_a();
	k = (struct pick){ .pid = 20 };
	assert_int_equal(profile__merge(dst, b, keep_pick, &k), 0);
	assert_dump(dst,
		"10/10 app [reason=runqueue pod=-] p:app;u:main;u:work = 1,100\n"
		"10/11 w1 [reason=io pod=-] p:app;u:main;u:read;k:vfs_read = 0,500\n"
		"20/20 db [reason=- pod=shop/db] g:[pod shop/db];p:db;u:query = 10,10\n");
	profile__free(dst);

	/* Nothing kept: dst is left as it was. */
	dst = profile_a();
	{
		size_t frames = profile__nframes(dst);

		assert_int_equal(profile__merge(dst, b, keep_none, NULL), 0);
		assert_dump(dst, dump_a);
		assert_int_equal(profile__nframes(dst), frames);
	}
	profile__free(dst);
	profile__free(b);
}

/* "f" as a user, kernel, marker and process frame: four frames. */
static void test_merge_kinds_distinct(void **state)
{
	struct profile *src = new_profile(), *dst = new_profile();

	(void)state;
	add(src, 1, 1, "t", NULL, NULL, "p:f;u:f;k:f", 1, 0);
	add(src, 1, 1, "t", NULL, NULL, "p:f;u:f;u:f", 2, 0);
	add(src, 1, 1, "t", NULL, NULL, "p:f;u:f;m:f", 4, 0);
	add(dst, 1, 1, "t", NULL, NULL, "p:f;u:f;k:f", 8, 0);
	assert_int_equal(profile__nframes(src), 4);
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	assert_int_equal(profile__nframes(dst), 4);
	assert_dump(dst,
		"1/1 t [reason=- pod=-] p:f;u:f;k:f = 9,0\n"
		"1/1 t [reason=- pod=-] p:f;u:f;m:f = 4,0\n"
		"1/1 t [reason=- pod=-] p:f;u:f;u:f = 2,0\n");
	profile__free(src);
	profile__free(dst);
}

static void test_merge_empty_src(void **state)
{
	struct profile *dst = profile_a(), *src = new_profile();
	size_t frames = profile__nframes(dst);

	(void)state;
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	assert_dump(dst, dump_a);
	/* Frames, but no samples. */
	assert_true(profile__frame(src, "lonely", FRAME_USER) >= 0);
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	assert_int_equal(profile__merge(dst, src, keep_none, NULL), 0);
	assert_dump(dst, dump_a);
	assert_int_equal(profile__nframes(dst), frames);
	profile__free(src);

	/* Empty into empty. */
	src = new_profile();
	{
		struct profile *empty = new_profile();

		assert_int_equal(profile__merge(empty, src, NULL, NULL), 0);
		assert_int_equal(profile__nsamples(empty), 0);
		assert_int_equal(profile__nframes(empty), 0);
		profile__free(empty);
	}
	profile__free(src);
	profile__free(dst);
}

/* An empty stack (a sample with no frames) merges too. */
static void test_merge_no_frames(void **state)
{
	struct profile *src = new_profile(), *dst = new_profile();
	const uint64_t v[PROFILE_MAX_VALUES] = { 5, 6 };
	const uint32_t none[1] = { 0 };

	(void)state;
	/* Not NULL: profile.c memcpy()s the (empty) frame list. */
	assert_int_equal(profile__add(src, 1, 2, "t", none, 0, v), 0);
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	assert_dump(dst, "1/2 t [reason=- pod=-]  = 10,12\n");
	profile__free(src);
	profile__free(dst);
}

/* Deep stacks: as deep as the kernel gives (127 + 127 + a few) and more. */
static void test_merge_deep(void **state)
{
	struct profile *src = new_profile(), *dst = new_profile();
	const uint64_t v[PROFILE_MAX_VALUES] = { 1, 0 };
	uint32_t ids[600];
	int err;

	(void)state;
	for (uint32_t i = 0; i < 600; i++) {
		char name[32];
		int64_t id;

		snprintf(name, sizeof(name), "f%u", i);
		id = profile__frame(src, name, i < 300 ? FRAME_USER : FRAME_KERNEL);
		assert_true(id >= 0);
		ids[i] = (uint32_t)id;
	}
	assert_int_equal(profile__add(src, 1, 1, "t", ids, 260, v), 0);
	assert_int_equal(profile__merge(dst, src, NULL, NULL), 0);
	assert_int_equal(profile__nsamples(dst), 1);
	assert_int_equal(profile__sample_at(dst, 0)->nframes, 260);
	assert_string_equal(profile__frame_at(dst,
			profile__sample_at(dst, 0)->frames[259])->name, "f259");
	/* Deeper than profile__merge takes: an error, never an overflow. */
	assert_int_equal(profile__add(src, 1, 1, "t", ids, 600, v), 0);
	err = profile__merge(dst, src, NULL, NULL);
	assert_true(err == 0 || err == -E2BIG);
	profile__free(src);
	profile__free(dst);
}

/* ---- bytes ---- */

static void test_bytes_grow(void **state)
{
	struct profile *p = new_profile(), *dst;
	size_t b0 = profile__bytes(p), b1, b2, b3;
	const uint64_t v[PROFILE_MAX_VALUES] = { 1, 1 };
	uint32_t ids[100];

	(void)state;
	assert_true(b0 > 0);
	/* A long frame name: at least its bytes. */
	{
		char name[4096];

		memset(name, 'x', sizeof(name) - 1);
		name[sizeof(name) - 1] = '\0';
		assert_true(profile__frame(p, name, FRAME_USER) >= 0);
	}
	b1 = profile__bytes(p);
	assert_true(b1 >= b0 + 4096);
	/* The same frame again: nothing new. */
	assert_int_equal(profile__bytes(p), b1);
	for (uint32_t i = 0; i < 100; i++) {
		char name[32];

		snprintf(name, sizeof(name), "fn%u", i);
		ids[i] = (uint32_t)profile__frame(p, name, FRAME_USER);
	}
	b2 = profile__bytes(p);
	assert_true(b2 > b1);
	/* 1000 distinct samples of 100 frames: at least their frame lists. */
	for (uint32_t t = 0; t < 1000; t++) {
		size_t before = profile__bytes(p);

		assert_int_equal(profile__add(p, 1, t + 1, "t", ids, 100, v), 0);
		assert_true(profile__bytes(p) > before);
	}
	b3 = profile__bytes(p);
	assert_true(b3 >= b2 + 1000 * 100 * sizeof(uint32_t));
	/* Adding to an existing sample costs nothing. */
	assert_int_equal(profile__add(p, 1, 1, "t", ids, 100, v), 0);
	assert_int_equal(profile__bytes(p), b3);

	/* A merged copy weighs about as much as the original. */
	dst = new_profile();
	assert_int_equal(profile__merge(dst, p, NULL, NULL), 0);
	assert_true(profile__bytes(dst) > b3 / 2);
	assert_true(profile__bytes(dst) <= b3);
	profile__free(dst);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_sums_overlap),
		cmocka_unit_test(test_merge_into_empty),
		cmocka_unit_test(test_merge_keeps_thread_and_labels),
		cmocka_unit_test(test_merge_filtered),
		cmocka_unit_test(test_merge_kinds_distinct),
		cmocka_unit_test(test_merge_empty_src),
		cmocka_unit_test(test_merge_no_frames),
		cmocka_unit_test(test_merge_deep),
		cmocka_unit_test(test_bytes_grow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
