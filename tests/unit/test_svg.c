/* SPDX-License-Identifier: MIT */
/* Tests of the SVG flamegraph writer (src/output/flamegraph_svg.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "flamegraph_js.h"
#include "flamegraph_svg.h"
#include "profile.h"

static const struct profile_value_type one_type[] = {
	{ "samples", "count" },
};

static const struct profile_value_type cpu_off_types[] = {
	{ "cpu", "nanoseconds" },
	{ "offcpu", "nanoseconds" },
};

/* A stack spec is "kind:name" strings, root first; kind is u, k, p or m. */
static void add_stack(struct profile *p, const char *const *spec, size_t n,
		      const uint64_t *values)
{
	uint32_t ids[64];

	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++) {
		enum frame_kind kind = spec[i][0] == 'k' ? FRAME_KERNEL :
				       spec[i][0] == 'p' ? FRAME_PROCESS :
				       spec[i][0] == 'm' ? FRAME_MARKER :
							   FRAME_USER;
		int64_t id = profile__frame(p, spec[i] + 2, kind);

		assert_true(id >= 0);
		ids[i] = (uint32_t)id;
	}
	assert_int_equal(profile__add(p, 1, 1, profile__intern(p, "t"), ids,
				      (uint32_t)n, values), 0);
}

static void add1(struct profile *p, const char *const *spec, size_t n,
		 uint64_t v)
{
	uint64_t values[PROFILE_MAX_VALUES] = { v };

	add_stack(p, spec, n, values);
}

struct svg_out {
	char path[64];
	char *buf;
	size_t len;
	int ret;
};

/* Writes the tree's SVG to a temporary file (xmllint needs a path) and
 * reads it back. */
static void render(const struct profile *p, const struct svg_opts *o,
		   struct svg_out *out)
{
	struct profile_tree *t = profile_tree__new(p);
	int fd;
	FILE *f;

	assert_non_null(t);
	strcpy(out->path, "/tmp/test_svg_XXXXXX");
	fd = mkstemp(out->path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w+");
	assert_non_null(f);
	out->ret = svg__write(t, o, f);
	rewind(f);
	fseek(f, 0, SEEK_END);
	out->len = (size_t)ftell(f);
	rewind(f);
	out->buf = malloc(out->len + 1);
	assert_non_null(out->buf);
	assert_int_equal(fread(out->buf, 1, out->len, f), out->len);
	out->buf[out->len] = '\0';
	fclose(f);
	profile_tree__free(t);
}

static void release(struct svg_out *out)
{
	unlink(out->path);
	free(out->buf);
}

static void assert_well_formed(const struct svg_out *out)
{
	char cmd[128];

	if (system("command -v xmllint >/dev/null 2>&1") != 0) {
		print_message("xmllint missing: run make deps\n");
		fail();
	}
	snprintf(cmd, sizeof(cmd), "xmllint --noout --nonet %s", out->path);
	assert_int_equal(system(cmd), 0);
}

/* The attribute attr of the first <rect> after the tooltip of name. */
static const char *rect_attr(const char *svg, const char *name,
			     const char *attr)
{
	char key[256];
	const char *s;

	snprintf(key, sizeof(key), "<title>%s (", name);
	s = strstr(svg, key);
	assert_non_null(s);
	s = strstr(s, "<rect ");
	assert_non_null(s);
	snprintf(key, sizeof(key), " %s=\"", attr);
	s = strstr(s, key);
	assert_non_null(s);
	return s + strlen(key);
}

static double rect_width(const char *svg, const char *name)
{
	return strtod(rect_attr(svg, name, "width"), NULL);
}

static void rect_rgb(const char *svg, const char *name, unsigned int rgb[3])
{
	assert_int_equal(sscanf(rect_attr(svg, name, "fill"), "rgb(%u,%u,%u)",
				&rgb[0], &rgb[1], &rgb[2]), 3);
}

static struct svg_opts samples_opts(void)
{
	return (struct svg_opts){ .title = "Test", .unit = "samples",
				  .mask = 1, .offcpu_value = -1 };
}

static void test_hostile_names_stay_well_formed(void **state)
{
	static const char *const st[] = {
		"p:proc<&>\"'", "u:evil<&>\"'\x01x\xff\xc3(end",
		"u:\xe2\x82\xac euro", "k:do_sys_open",
	};
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct svg_out out;

	(void)state;
	o.title = "title <&> \x02";
	o.subtitle = "sub \"'\xc0";
	add1(p, st, 4, 5);
	render(p, &o, &out);
	assert_int_equal(out.ret, 0);
	assert_well_formed(&out);
	assert_non_null(strstr(out.buf, "proc&lt;&amp;&gt;&quot;&apos;"));
	/* \x01, \xff and the truncated \xc3 are dropped, the rest kept. */
	assert_non_null(strstr(out.buf,
			       "evil&lt;&amp;&gt;&quot;&apos;x(end"));
	assert_non_null(strstr(out.buf, "\xe2\x82\xac euro"));
	for (size_t i = 0; i < out.len; i++) {
		unsigned char c = (unsigned char)out.buf[i];

		assert_true(c >= 0x20 || c == '\n');
		assert_true(c != 0xff && c != 0xc0);
	}
	release(&out);
	profile__free(p);
}

static void test_names_and_widths(void **state)
{
	static const char *const a[] = { "p:proc", "u:main", "u:alpha" };
	static const char *const b[] = { "p:proc", "u:main", "u:beta" };
	static const char *const k[] = { "p:proc", "u:main", "k:vfs_read" };
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct svg_out out;
	double wa, wb;

	(void)state;
	add1(p, a, 3, 300);
	add1(p, b, 3, 100);
	add1(p, k, 3, 100);
	render(p, &o, &out);
	assert_int_equal(out.ret, 0);
	assert_well_formed(&out);
	assert_non_null(strstr(out.buf, "<title>all (500 samples, 100.00%)"));
	assert_non_null(strstr(out.buf, "<title>proc (500 samples"));
	assert_non_null(strstr(out.buf, "<title>main (500 samples"));
	assert_non_null(strstr(out.buf, "<title>alpha (300 samples, 60.00%)"));
	assert_non_null(strstr(out.buf, "<title>beta (100 samples, 20.00%)"));
	assert_non_null(strstr(out.buf, "<title>vfs_read_[k] (100 samples"));
	assert_non_null(strstr(out.buf, "width=\"1200\""));
	wa = rect_width(out.buf, "alpha");
	wb = rect_width(out.buf, "beta");
	assert_true(wb > 0);
	assert_true(wa / wb > 3 * 0.99 && wa / wb < 3 * 1.01);
	/* The root spans the whole frame area (1200 - 2 * 10 px). */
	assert_true(rect_width(out.buf, "all") > 1179.9);
	assert_null(strstr(out.buf, "tiny frames elided"));
	assert_null(strstr(out.buf, "off-CPU"));
	release(&out);
	profile__free(p);
}

static void test_root_at_bottom_and_labels(void **state)
{
	static const char *const wide[] = {
		"p:proc", "u:a_function_with_a_rather_long_name_indeed",
	};
	static const char *const thin[] = { "p:proc", "u:narrow_fn" };
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct svg_out out;
	const char *s;

	(void)state;
	o.width = 400;
	add1(p, wide, 2, 1000);
	add1(p, thin, 2, 3);
	render(p, &o, &out);
	assert_int_equal(out.ret, 0);
	assert_true(atoi(rect_attr(out.buf, "all", "y")) >
		    atoi(rect_attr(out.buf, "proc", "y")));
	/* Wide box: the whole name fits at 400 px. */
	assert_non_null(strstr(out.buf,
			       ">a_function_with_a_rather_long_name_indeed<"));
	/* Thin box (~1 px): the text element is there but empty. */
	s = strstr(out.buf, "<title>narrow_fn (");
	assert_non_null(s);
	s = strstr(s, "<text ");
	assert_non_null(s);
	assert_true(strncmp(strchr(s, '>'), "></text>", 8) == 0);
	release(&out);

	o.width = 200;	/* 180 px: the long name is cut */
	render(p, &o, &out);
	assert_non_null(strstr(out.buf, ">a_function_with_a_rath..<"));
	release(&out);
	profile__free(p);
}

static void test_time_units(void **state)
{
	static const char *const a[] = { "p:proc", "u:slow" };
	static const char *const b[] = { "p:proc", "u:quick" };
	static const char *const c[] = { "p:proc", "u:quicker" };
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct svg_out out;

	(void)state;
	o.unit = "ns";
	add1(p, a, 2, 1230000000ull);
	add1(p, b, 2, 4500000ull);
	add1(p, c, 2, 999996ull);	/* rounds up into the next unit */
	render(p, &o, &out);
	assert_int_equal(out.ret, 0);
	assert_non_null(strstr(out.buf, "<title>slow (1.23 s, 99.55%)"));
	assert_non_null(strstr(out.buf, "<title>quick (4.50 ms, 0.36%)"));
	assert_non_null(strstr(out.buf, "<title>quicker (1.00 ms, 0.08%)"));
	release(&out);
	profile__free(p);
}

static void test_offcpu_is_blue(void **state)
{
	static const char *const sleepy[] = { "p:proc", "u:sleepy" };
	static const char *const busy[] = { "p:proc", "u:busy" };
	static const char *const kern[] = { "p:proc", "u:busy", "k:schedule" };
	const uint64_t v_sleepy[PROFILE_MAX_VALUES] = { 10, 90 };
	const uint64_t v_busy[PROFILE_MAX_VALUES] = { 90, 10 };
	const uint64_t v_kern[PROFILE_MAX_VALUES] = { 50, 0 };
	struct profile *p = profile__new(cpu_off_types, 2);
	struct svg_opts o = samples_opts();
	struct svg_out out;
	unsigned int c[3];

	(void)state;
	o.unit = "ns";
	o.mask = 3;
	o.offcpu_value = 1;
	add_stack(p, sleepy, 2, v_sleepy);
	add_stack(p, busy, 2, v_busy);
	add_stack(p, kern, 3, v_kern);
	render(p, &o, &out);
	assert_int_equal(out.ret, 0);
	assert_well_formed(&out);
	assert_non_null(strstr(out.buf, "red/orange = on-CPU, blue = off-CPU"));
	rect_rgb(out.buf, "sleepy", c);
	assert_true(c[2] > c[0] && c[2] > c[1]);
	rect_rgb(out.buf, "busy", c);
	assert_true(c[0] > c[2] && c[0] > c[1]);
	rect_rgb(out.buf, "schedule_[k]", c);
	assert_true(c[0] > c[2]);
	release(&out);

	o.offcpu_value = -1;	/* no off-CPU view: warm like the rest */
	render(p, &o, &out);
	rect_rgb(out.buf, "sleepy", c);
	assert_true(c[0] > c[2]);
	assert_null(strstr(out.buf, "off-CPU"));
	release(&out);
	profile__free(p);
}

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* The elided count written in the note, or 0 if there is none. */
static unsigned long elided_count(const char *svg)
{
	const char *end = strstr(svg, " tiny frames elided");
	const char *s = end;

	if (!s)
		return 0;
	while (s > svg && s[-1] >= '0' && s[-1] <= '9')
		s--;
	return strtoul(s, NULL, 10);
}

static void test_many_distinct_stacks(void **state)
{
	enum { NSTACKS = 100000, DEPTH = 30, DIGITS = 5 };
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct svg_out out;
	char names[DEPTH][32];
	const char *spec[DEPTH];
	clock_t t0;

	(void)state;
	for (int i = 0; i < NSTACKS; i++) {
		snprintf(names[0], 32, "p:proc%d", (int)(next_rand() % 4));
		/* Random middle; the last DIGITS frames spell i: all distinct. */
		for (int d = 1; d < DEPTH - DIGITS; d++)
			snprintf(names[d], 32, "u:fn_%d",
				 (int)(next_rand() % (d < 4 ? 8 : 1000)));
		for (int d = 0, v = i; d < DIGITS; d++, v /= 10)
			snprintf(names[DEPTH - DIGITS + d], 32, "%c:digit%d",
				 d == DIGITS - 1 ? 'k' : 'u', v % 10);
		for (int d = 0; d < DEPTH; d++)
			spec[d] = names[d];
		add1(p, spec, DEPTH, 1 + next_rand() % 100);
	}
	t0 = clock();
	render(p, &o, &out);
	print_message("100000 stacks: %zu bytes in %.3f s (incl. tree)\n",
		      out.len, (double)(clock() - t0) / CLOCKS_PER_SEC);
	assert_int_equal(out.ret, 0);
	assert_well_formed(&out);
	assert_true(elided_count(out.buf) > 0);
	assert_true(out.len < 64u << 20);
	release(&out);
	profile__free(p);
}

static void test_empty_profile(void **state)
{
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct svg_out out;

	(void)state;
	o.title = NULL;
	render(p, &o, &out);
	assert_int_equal(out.ret, 0);
	assert_well_formed(&out);
	assert_non_null(strstr(out.buf, "No samples"));
	release(&out);
	profile__free(p);
}

static void test_write_error(void **state)
{
	static const char *const a[] = { "p:proc", "u:main" };
	struct profile *p = profile__new(one_type, 1);
	struct svg_opts o = samples_opts();
	struct profile_tree *t;
	FILE *f = fopen("/dev/full", "w");

	(void)state;
	if (!f)
		fail();
	add1(p, a, 2, 1);
	t = profile_tree__new(p);
	assert_non_null(t);
	assert_int_equal(svg__write(t, &o, f), -EIO);
	fclose(f);
	profile_tree__free(t);
	profile__free(p);
}

/* Catches a syntax error in the embedded script without a browser. */
static void test_script_parses(void **state)
{
	char path[] = "/tmp/test_svg_js_XXXXXX.js", cmd[128];
	int fd;

	(void)state;
	assert_null(strstr(flamegraph_js, "]]>"));	/* ends the CDATA */
	if (system("command -v node >/dev/null 2>&1") != 0) {
		print_message("node missing: run make deps\n");
		fail();
	}
	fd = mkstemps(path, 3);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, flamegraph_js, strlen(flamegraph_js)),
			 (ssize_t)strlen(flamegraph_js));
	close(fd);
	snprintf(cmd, sizeof(cmd), "node --check %s", path);
	assert_int_equal(system(cmd), 0);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hostile_names_stay_well_formed),
		cmocka_unit_test(test_names_and_widths),
		cmocka_unit_test(test_root_at_bottom_and_labels),
		cmocka_unit_test(test_time_units),
		cmocka_unit_test(test_offcpu_is_blue),
		cmocka_unit_test(test_many_distinct_stacks),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_write_error),
		cmocka_unit_test(test_script_parses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
