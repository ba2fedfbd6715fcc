// SPDX-License-Identifier: MIT
/*
 * Unit tests of the aggregated profile (src/profile/profile.c), its tree view
 * (src/profile/profile_tree.c) and the text writers that walk them: folded stacks
 * (src/output/folded.c) and the summary (src/output/summary.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "folded.h"
#include "summary.h"
#include "profile.h"

static const struct profile_value_type two_types[] = {
	{ "samples", "count" },
	{ "cpu", "nanoseconds" },
};

static struct profile *new_profile(void)
{
	struct profile *p = profile__new(two_types, 2);

	assert_non_null(p);
	return p;
}

static uint32_t frame(struct profile *p, const char *name, enum frame_kind k)
{
	int64_t id = profile__frame(p, name, k);

	assert_true(id >= 0);
	return (uint32_t)id;
}

/*
 * A stack spec is "kind:name" strings, root first; kind is p (process),
 * u (user), k (kernel) or m (marker).
 */
static void add(struct profile *p, uint32_t pid, uint32_t tid,
		const char *thread, const char *const *spec, size_t n,
		uint64_t v0, uint64_t v1)
{
	const uint64_t values[PROFILE_MAX_VALUES] = { v0, v1 };
	uint32_t ids[32];

	assert_true(n <= 32);
	for (size_t i = 0; i < n; i++) {
		enum frame_kind kind = spec[i][0] == 'k' ? FRAME_KERNEL :
				       spec[i][0] == 'p' ? FRAME_PROCESS :
				       spec[i][0] == 'm' ? FRAME_MARKER :
							   FRAME_USER;

		ids[i] = frame(p, spec[i] + 2, kind);
	}
	assert_int_equal(profile__add(p, pid, tid, thread, ids, (uint32_t)n,
				      values), 0);
}

#define ADD(p, pid, tid, thread, v0, v1, ...) do {			\
	const char *const spec_[] = { __VA_ARGS__ };			\
	add(p, pid, tid, thread, spec_, sizeof(spec_) / sizeof(spec_[0]), \
	    v0, v1);							\
} while (0)

/*
 * The small known profile most tests use:
 *
 *   app(10) main              1 / 1000
 *   app(10) main work         3 /  300   (tid 10)
 *   app(10) main work sys_[k] 2 /  200   (tid 11)
 *   db(20)  query             5 /   50
 */
static struct profile *small_profile(void)
{
	struct profile *p = new_profile();

	ADD(p, 20, 20, "db", 5, 50, "p:db", "u:query");
	ADD(p, 10, 11, "app", 2, 200, "p:app", "u:main", "u:work",
	    "k:do_syscall_64");
	ADD(p, 10, 10, "app", 3, 300, "p:app", "u:main", "u:work");
	ADD(p, 10, 10, "app", 1, 1000, "p:app", "u:main");
	return p;
}

/* ---- profile ---- */

static void test_new_bad_types(void **state)
{
	const struct profile_value_type five[5] = {
		{ "a", "count" }, { "b", "count" }, { "c", "count" },
		{ "d", "count" }, { "e", "count" },
	};

	(void)state;
	errno = 0;
	assert_null(profile__new(two_types, 0));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(profile__new(five, 5));
	assert_int_equal(errno, EINVAL);
	profile__free(NULL);
}

static void test_value_types_copied(void **state)
{
	char type[] = "samples", unit[] = "count";
	struct profile_value_type t = { type, unit };
	struct profile *p = profile__new(&t, 1);

	(void)state;
	assert_non_null(p);
	type[0] = 'X';
	unit[0] = 'X';
	assert_int_equal(profile__nvalue_types(p), 1);
	assert_string_equal(profile__value_type(p, 0)->type, "samples");
	assert_string_equal(profile__value_type(p, 0)->unit, "count");
	assert_null(profile__value_type(p, 1));
	profile__free(p);
}

static void test_intern(void **state)
{
	struct profile *p = new_profile();
	char a[] = "worker", b[] = "worker";
	const char *x = profile__intern(p, a), *y = profile__intern(p, b);

	(void)state;
	assert_non_null(x);
	assert_ptr_equal(x, y);
	assert_ptr_not_equal(x, a);	/* a copy, not the caller's buffer */
	a[0] = 'X';
	assert_string_equal(x, "worker");
	assert_ptr_not_equal(profile__intern(p, "worker2"), x);
	assert_ptr_equal(profile__intern(p, ""), profile__intern(p, ""));
	profile__free(p);
}

/* Pointers stay stable while the index and the array grow. */
static void test_intern_many(void **state)
{
	enum { N = 5000 };
	struct profile *p = new_profile();
	const char **ptrs = calloc(N, sizeof(*ptrs));
	char name[32];

	(void)state;
	assert_non_null(ptrs);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		ptrs[i] = profile__intern(p, name);
		assert_non_null(ptrs[i]);
	}
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "s%d", i);
		assert_ptr_equal(profile__intern(p, name), ptrs[i]);
		assert_string_equal(ptrs[i], name);
	}
	free(ptrs);
	profile__free(p);
}

static void test_frames(void **state)
{
	struct profile *p = new_profile();
	uint32_t u = frame(p, "read", FRAME_USER);
	uint32_t k = frame(p, "read", FRAME_KERNEL);
	uint32_t m = frame(p, "[unknown]", FRAME_MARKER);

	(void)state;
	assert_int_equal(frame(p, "read", FRAME_USER), u);
	assert_int_equal(frame(p, "read", FRAME_KERNEL), k);
	assert_int_not_equal(u, k);
	assert_int_not_equal(u, m);
	assert_int_equal(profile__nframes(p), 3);
	assert_ptr_equal(profile__frame_at(p, u)->name,
			 profile__intern(p, "read"));
	assert_ptr_equal(profile__frame_at(p, u)->name,
			 profile__frame_at(p, k)->name);
	assert_int_equal(profile__frame_at(p, u)->kind, FRAME_USER);
	assert_int_equal(profile__frame_at(p, k)->kind, FRAME_KERNEL);
	assert_int_equal(profile__frame_at(p, m)->kind, FRAME_MARKER);
	assert_null(profile__frame_at(p, 3));
	profile__free(p);
}

static void test_add_sums_same_sample(void **state)
{
	struct profile *p = new_profile();
	const struct profile_sample *s;

	(void)state;
	ADD(p, 7, 8, "t", 1, 10, "p:x", "u:f");
	ADD(p, 7, 8, "t", 2, 20, "p:x", "u:f");
	assert_int_equal(profile__nsamples(p), 1);
	s = profile__sample_at(p, 0);
	assert_int_equal(s->pid, 7);
	assert_int_equal(s->tid, 8);
	assert_string_equal(s->thread, "t");
	assert_int_equal(s->nframes, 2);
	assert_int_equal(s->values[0], 3);
	assert_int_equal(s->values[1], 30);
	assert_null(profile__sample_at(p, 1));
	profile__free(p);
}

/* Each part of the key makes a sample of its own. */
static void test_add_distinct_samples(void **state)
{
	struct profile *p = new_profile();

	(void)state;
	ADD(p, 7, 8, "t", 1, 0, "p:x", "u:f");
	ADD(p, 7, 9, "t", 1, 0, "p:x", "u:f");		/* tid */
	ADD(p, 6, 8, "t", 1, 0, "p:x", "u:f");		/* pid */
	ADD(p, 7, 8, "u", 1, 0, "p:x", "u:f");		/* thread name */
	ADD(p, 7, 8, "t", 1, 0, "p:x", "k:f");		/* frame kind */
	ADD(p, 7, 8, "t", 1, 0, "p:x", "u:f", "u:g");	/* longer */
	ADD(p, 7, 8, "t", 1, 0, "p:x");			/* shorter */
	ADD(p, 7, 8, "t", 1, 0, "u:f", "p:x");		/* order */
	assert_int_equal(profile__nsamples(p), 8);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(profile__sample_at(p, i)->values[0], 1);
	profile__free(p);
}

/* The sample keeps its own copy of the frame ids. */
static void test_add_copies_frames(void **state)
{
	struct profile *p = new_profile();
	uint32_t ids[2] = { frame(p, "x", FRAME_PROCESS), frame(p, "f", FRAME_USER) };
	const uint64_t v[PROFILE_MAX_VALUES] = { 1 };

	(void)state;
	assert_int_equal(profile__add(p, 1, 1, "t", ids, 2, v), 0);
	ids[1] = ids[0];
	assert_int_equal(profile__sample_at(p, 0)->frames[1],
			 frame(p, "f", FRAME_USER));
	assert_ptr_not_equal(profile__sample_at(p, 0)->frames, ids);
	profile__free(p);
}

static void test_add_invalid_frame(void **state)
{
	struct profile *p = new_profile();
	uint32_t ids[2] = { frame(p, "x", FRAME_PROCESS), 1 };
	const uint64_t v[PROFILE_MAX_VALUES] = { 1, 1 };

	(void)state;
	assert_int_equal(profile__add(p, 1, 1, "t", ids, 2, v), -EINVAL);
	ids[1] = UINT32_MAX;
	assert_int_equal(profile__add(p, 1, 1, "t", ids, 2, v), -EINVAL);
	assert_int_equal(profile__nsamples(p), 0);
	assert_int_equal(profile__total(p, 0), 0);
	profile__free(p);
}

static void test_add_null_thread(void **state)
{
	struct profile *p = new_profile();
	uint32_t id = frame(p, "x", FRAME_PROCESS);
	const uint64_t v[PROFILE_MAX_VALUES] = { 1 };

	(void)state;
	assert_int_equal(profile__add(p, 1, 1, NULL, &id, 1, v), 0);
	assert_int_equal(profile__add(p, 1, 1, "", &id, 1, v), 0);
	assert_int_equal(profile__nsamples(p), 1);
	assert_string_equal(profile__sample_at(p, 0)->thread, "");
	assert_int_equal(profile__sample_at(p, 0)->values[0], 2);
	profile__free(p);
}

static void test_totals(void **state)
{
	struct profile *p = small_profile();

	(void)state;
	assert_int_equal(profile__nsamples(p), 4);
	assert_int_equal(profile__total(p, 0), 11);
	assert_int_equal(profile__total(p, 1), 1550);
	assert_int_equal(profile__total(p, 2), 0);	/* no such type */
	profile__free(p);
}

/* Many distinct samples (the index grows), each added twice. */
static void test_many_samples(void **state)
{
	enum { N = 3000 };
	struct profile *p = new_profile();
	char name[32];

	(void)state;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < N; i++) {
			snprintf(name, sizeof(name), "u:f%d", i);
			ADD(p, 1, (uint32_t)i % 7, "t", 1, (uint64_t)i, "p:x", name);
		}
	assert_int_equal(profile__nsamples(p), N);
	assert_int_equal(profile__total(p, 0), 2 * N);
	assert_int_equal(profile__total(p, 1), (uint64_t)N * (N - 1));
	for (size_t i = 0; i < N; i++)
		assert_int_equal(profile__sample_at(p, i)->values[0], 2);
	profile__free(p);
}

/* ---- tree ---- */

static const struct profile_node *child(const struct profile_tree *t,
					const struct profile_node *n,
					const char *name)
{
	for (uint32_t i = 0; i < n->nchildren; i++)
		if (!strcmp(profile__frame_at(t->profile,
					      n->children[i]->frame)->name, name))
			return n->children[i];
	fail_msg("no child %s", name);
	return NULL;
}

static void assert_node(const struct profile_node *n, uint64_t total0,
			uint64_t total1, uint64_t self0, uint64_t self1,
			uint32_t nchildren)
{
	assert_int_equal(n->total[0], total0);
	assert_int_equal(n->total[1], total1);
	assert_int_equal(n->self[0], self0);
	assert_int_equal(n->self[1], self1);
	assert_int_equal(n->nchildren, nchildren);
}

static void test_tree_values(void **state)
{
	struct profile *p = small_profile();
	struct profile_tree *t = profile_tree__new(p);
	const struct profile_node *app, *main_, *work;

	(void)state;
	assert_non_null(t);
	assert_ptr_equal(t->profile, p);
	assert_int_equal(t->nnodes, 7);
	assert_node(t->root, 11, 1550, 0, 0, 2);
	app = child(t, t->root, "app");
	assert_node(app, 6, 1500, 0, 0, 1);
	main_ = child(t, app, "main");
	assert_node(main_, 6, 1500, 1, 1000, 1);
	work = child(t, main_, "work");
	assert_node(work, 5, 500, 3, 300, 1);
	assert_node(child(t, work, "do_syscall_64"), 2, 200, 2, 200, 0);
	assert_node(child(t, child(t, t->root, "db"), "query"), 5, 50, 5, 50, 0);
	profile_tree__free(t);
	profile__free(p);
}

static void test_tree_children_sorted(void **state)
{
	static const struct {
		const char *name;
		enum frame_kind kind;
	} want[] = {
		{ "Zed", FRAME_USER },		/* strcmp order: upper case first */
		{ "alpha", FRAME_USER },
		{ "mid", FRAME_USER },
		{ "mid", FRAME_KERNEL },	/* same name: by kind */
		{ "zeta", FRAME_USER },
	};
	struct profile *p = new_profile();
	struct profile_tree *t;
	const struct profile_node *x;

	(void)state;
	ADD(p, 1, 1, "t", 1, 0, "p:x", "u:zeta");
	ADD(p, 1, 1, "t", 1, 0, "p:x", "k:mid");
	ADD(p, 1, 1, "t", 1, 0, "p:x", "u:alpha");
	ADD(p, 1, 1, "t", 1, 0, "p:x", "u:mid");
	ADD(p, 1, 1, "t", 1, 0, "p:x", "u:Zed");
	t = profile_tree__new(p);
	assert_non_null(t);
	x = child(t, t->root, "x");
	assert_int_equal(x->nchildren, 5);
	for (uint32_t i = 0; i < x->nchildren; i++) {
		const struct profile_frame *fr =
			profile__frame_at(p, x->children[i]->frame);

		assert_string_equal(fr->name, want[i].name);
		assert_int_equal(fr->kind, want[i].kind);
	}
	profile_tree__free(t);
	profile__free(p);
}

static void test_tree_empty(void **state)
{
	struct profile *p = new_profile();
	struct profile_tree *t = profile_tree__new(p);

	(void)state;
	assert_non_null(t);
	assert_int_equal(t->nnodes, 1);
	assert_node(t->root, 0, 0, 0, 0, 0);
	profile_tree__free(t);
	profile__free(p);
}

/* A node's child array grows past every power of two. */
static void test_tree_many_children(void **state)
{
	enum { N = 1000 };
	struct profile *p = new_profile();
	struct profile_tree *t;
	const struct profile_node *x;
	char name[32];

	(void)state;
	for (int i = N - 1; i >= 0; i--) {
		snprintf(name, sizeof(name), "u:f%04d", i);
		ADD(p, 1, 1, "t", (uint64_t)i + 1, 0, "p:x", name);
	}
	t = profile_tree__new(p);
	assert_non_null(t);
	assert_int_equal(t->nnodes, N + 2);
	x = child(t, t->root, "x");
	assert_int_equal(x->nchildren, N);
	assert_int_equal(x->total[0], (uint64_t)N * (N + 1) / 2);
	for (uint32_t i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%04u", i);
		assert_string_equal(profile__frame_at(p, x->children[i]->frame)->name,
				    name);
		assert_int_equal(x->children[i]->self[0], i + 1);
	}
	profile_tree__free(t);
	profile__free(p);
}

/* ---- folded ---- */

/* Runs a writer into a string the caller frees. */
static char *folded(const struct profile *p, value_mask_t mask)
{
	struct profile_tree *t = profile_tree__new(p);
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(t);
	assert_non_null(f);
	assert_int_equal(folded__write(t, mask, f), 0);
	fclose(f);
	profile_tree__free(t);
	return text;
}

static const struct {
	value_mask_t mask;
	const char *text;
} folded_cases[] = {
	{ 1u << 0,
	  "app;main 1\n"
	  "app;main;work 3\n"
	  "app;main;work;do_syscall_64_[k] 2\n"
	  "db;query 5\n" },
	{ 1u << 1,
	  "app;main 1000\n"
	  "app;main;work 300\n"
	  "app;main;work;do_syscall_64_[k] 200\n"
	  "db;query 50\n" },
	{ (1u << 0) | (1u << 1),
	  "app;main 1001\n"
	  "app;main;work 303\n"
	  "app;main;work;do_syscall_64_[k] 202\n"
	  "db;query 55\n" },
	{ 1u << 2, "" },	/* a value type the profile does not have */
};

static void test_folded_masks(void **state)
{
	struct profile *p = small_profile();

	(void)state;
	for (size_t i = 0; i < sizeof(folded_cases) / sizeof(folded_cases[0]); i++) {
		char *text = folded(p, folded_cases[i].mask);

		print_message("  mask 0x%x\n", folded_cases[i].mask);
		assert_string_equal(text, folded_cases[i].text);
		free(text);
	}
	profile__free(p);
}

/* A path whose value under the mask is 0 writes no line. */
static void test_folded_skips_zero(void **state)
{
	struct profile *p = new_profile();
	char *text;

	(void)state;
	ADD(p, 1, 1, "t", 0, 7, "p:x", "u:offcpu_only");
	ADD(p, 1, 1, "t", 4, 0, "p:x", "u:oncpu_only");
	text = folded(p, 1u << 0);
	assert_string_equal(text, "x;oncpu_only 4\n");
	free(text);
	text = folded(p, 1u << 1);
	assert_string_equal(text, "x;offcpu_only 7\n");
	free(text);
	profile__free(p);
}

/* Frame names from hostile binaries cannot break the line format. */
static void test_folded_hostile_names(void **state)
{
	struct profile *p = new_profile();
	char *text;

	(void)state;
	ADD(p, 1, 1, "t", 2, 0, "p:my;proc", "u:a;b\nc", "k:x;y\rz",
	    "u:trailing ");
	ADD(p, 1, 1, "t", 1, 0, "p:my;proc", "u:with space");
	text = folded(p, 1);
	assert_string_equal(text,
			    "my_proc;a_b_c;x_y_z_[k];trailing_ 2\n"
			    "my_proc;with space 1\n");
	free(text);
	profile__free(p);
}

/* Stacks as deep as two BPF stack walks (127 + 127) and then some. */
static void test_folded_deep_stack(void **state)
{
	enum { DEPTH = 300 };
	struct profile *p = new_profile();
	const uint64_t v[PROFILE_MAX_VALUES] = { 9 };
	uint32_t ids[DEPTH];
	char name[16], *text, *want = malloc(DEPTH * 8 + 16);
	size_t off = 0;

	(void)state;
	assert_non_null(want);
	for (int i = 0; i < DEPTH; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		ids[i] = frame(p, name, FRAME_USER);
		off += (size_t)sprintf(want + off, "%sf%d", i ? ";" : "", i);
	}
	strcpy(want + off, " 9\n");
	assert_int_equal(profile__add(p, 1, 1, "t", ids, DEPTH, v), 0);
	text = folded(p, 1);
	assert_string_equal(text, want);
	free(text);
	free(want);
	profile__free(p);
}

/*
 * Frames of one function at two lines are two frames (pprof keeps the
 * lines) but one box in the tree: folded sums them.
 */
static void test_lines_share_a_box(void **state)
{
	static const struct profile_value_type t[] = { { "samples", "count" } };
	struct profile *p = profile__new(t, 1);
	struct profile_frame f = { .name = "work", .kind = FRAME_USER,
				   .file = "w.c", .line = 7 };
	uint32_t s[2];
	uint64_t v[PROFILE_MAX_VALUES] = { 2 };
	int64_t a, b;
	char *text;

	(void)state;
	assert_non_null(p);
	s[0] = (uint32_t)profile__frame(p, "app", FRAME_PROCESS);
	a = profile__frame_at_line(p, &f);
	f.line = 9;
	b = profile__frame_at_line(p, &f);
	assert_true(a >= 0 && b >= 0 && a != b);
	assert_int_equal(profile__frame_at_line(p, &f), b);
	assert_int_equal(profile__frame_at(p, a)->box,
			 profile__frame_at(p, b)->box);
	assert_int_equal(profile__frame_at(p, a)->box,
			 profile__frame(p, "work", FRAME_USER));
	s[1] = (uint32_t)a;
	assert_int_equal(profile__add(p, 1, 1, "t", s, 2, v), 0);
	s[1] = (uint32_t)b;
	assert_int_equal(profile__add(p, 1, 1, "t", s, 2, v), 0);
	text = folded(p, 1);
	assert_string_equal(text, "app;work 4\n");
	free(text);
	profile__free(p);
}

static void test_frame_format(void **state)
{
	const struct profile_frame k = { .name = "schedule", .kind = FRAME_KERNEL };
	const struct profile_frame u = { .name = "main", .kind = FRAME_USER };
	const struct profile_frame m = { .name = "[unknown]", .kind = FRAME_MARKER };
	char buf[16];

	(void)state;
	assert_int_equal(frame__format(&k, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "schedule_[k]");
	assert_int_equal(frame__format(&u, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "main");
	assert_int_equal(frame__format(&m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "[unknown]");
	/* "schedule_[k]" needs 13 bytes. */
	assert_int_equal(frame__format(&k, buf, 13), 0);
	assert_int_equal(frame__format(&k, buf, 12), -ENAMETOOLONG);
}

/* ---- summary ---- */

static char *summary(const struct profile *p, value_mask_t mask,
		     const char *unit, size_t top)
{
	const struct meta_counter counters[] = { { "stacks_dropped", 3 } };
	const struct profile_meta m = {
		.mode = "profile",
		.start_ns = 1700000000ULL * 1000000000ULL,
		.duration_ns = 2500000000ULL,
		.period_ns = 20408163,
		.lost = 3,
		.counters = counters,
		.ncounters = 1,
	};
	const struct summary_opts o = { .mask = mask, .unit = unit, .top = top };
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	assert_int_equal(summary__write(p, &m, &o, f), 0);
	fclose(f);
	return text;
}

/* The text from the line starting with title up to the next blank line. */
static char *section(const char *text, const char *title)
{
	const char *s = strstr(text, title), *e;

	if (!s)
		fail_msg("no section %s in:\n%s", title, text);
	e = strstr(s, "\n\n");
	return strndup(s, e ? (size_t)(e - s + 1) : strlen(s));
}

static void test_summary(void **state)
{
	struct profile *p = small_profile();
	char *text = summary(p, 1, "samples", 0), *procs, *funcs;

	(void)state;
	assert_non_null(strstr(text, "sysscope profile\n"));
	assert_non_null(strstr(text, "  started    2023-11-14 22:13:20 UTC\n"));
	assert_non_null(strstr(text, "  duration   2.500 s\n"));
	assert_non_null(strstr(text, "  total      11 samples\n"));
	assert_non_null(strstr(text, "  lost       3 samples (see counters)\n"));
	assert_non_null(strstr(text, "stacks_dropped"));
	procs = section(text, "Top processes");
	assert_string_equal(procs,
			    "Top processes (pid, name):\n"
			    "             6  54.55%  10       app\n"
			    "             5  45.45%  20       db\n");
	funcs = section(text, "Top functions");
	assert_string_equal(funcs,
			    "Top functions (self):\n"
			    "             5  45.45%  query\n"
			    "             3  27.27%  work\n"
			    "             2  18.18%  do_syscall_64_[k]\n"
			    "             1   9.09%  main\n");
	free(procs);
	free(funcs);
	free(text);
	profile__free(p);
}

/* The mask decides the order: by cpu time, main leads and db trails. */
static void test_summary_mask_and_top(void **state)
{
	struct profile *p = small_profile();
	char *text = summary(p, 1u << 1, "ns", 1), *procs, *funcs;

	(void)state;
	assert_non_null(strstr(text, "  total      1550 ns\n"));
	procs = section(text, "Top processes");
	assert_string_equal(procs,
			    "Top processes (pid, name):\n"
			    "       0.000 s  96.77%  10       app\n"
			    "  ... 1 more\n");
	funcs = section(text, "Top functions");
	assert_string_equal(funcs,
			    "Top functions (self):\n"
			    "       0.000 s  64.52%  main\n"
			    "  ... 3 more\n");
	free(procs);
	free(funcs);
	free(text);
	profile__free(p);
}

/* The same kernel leaf under two processes is one function row. */
static void test_summary_merges_functions(void **state)
{
	struct profile *p = new_profile();
	char *text, *funcs;

	(void)state;
	ADD(p, 1, 1, "a", 4, 0, "p:a", "u:main", "k:schedule");
	ADD(p, 2, 2, "b", 3, 0, "p:b", "u:loop", "k:schedule");
	ADD(p, 2, 2, "b", 2, 0, "p:b", "u:loop", "u:schedule");
	text = summary(p, 1, "samples", 0);
	funcs = section(text, "Top functions");
	assert_string_equal(funcs,
			    "Top functions (self):\n"
			    "             7  77.78%  schedule_[k]\n"
			    "             2  22.22%  schedule\n");
	free(funcs);
	free(text);
	profile__free(p);
}

/* An idle target gives an empty profile: still a well-formed summary. */
static void test_summary_empty(void **state)
{
	struct profile *p = new_profile();
	char *text = summary(p, 1, "samples", 0);

	(void)state;
	assert_non_null(strstr(text, "  total      0 samples\n"));
	assert_non_null(strstr(text, "Top processes (pid, name):\n"));
	assert_non_null(strstr(text, "Top functions (self):\n"));
	free(text);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_bad_types),
		cmocka_unit_test(test_value_types_copied),
		cmocka_unit_test(test_intern),
		cmocka_unit_test(test_intern_many),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_add_sums_same_sample),
		cmocka_unit_test(test_add_distinct_samples),
		cmocka_unit_test(test_add_copies_frames),
		cmocka_unit_test(test_add_invalid_frame),
		cmocka_unit_test(test_add_null_thread),
		cmocka_unit_test(test_totals),
		cmocka_unit_test(test_many_samples),
		cmocka_unit_test(test_tree_values),
		cmocka_unit_test(test_tree_children_sorted),
		cmocka_unit_test(test_tree_empty),
		cmocka_unit_test(test_tree_many_children),
		cmocka_unit_test(test_folded_masks),
		cmocka_unit_test(test_folded_skips_zero),
		cmocka_unit_test(test_folded_hostile_names),
		cmocka_unit_test(test_folded_deep_stack),
		cmocka_unit_test(test_frame_format),
		cmocka_unit_test(test_lines_share_a_box),
		cmocka_unit_test(test_summary),
		cmocka_unit_test(test_summary_mask_and_top),
		cmocka_unit_test(test_summary_merges_functions),
		cmocka_unit_test(test_summary_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
