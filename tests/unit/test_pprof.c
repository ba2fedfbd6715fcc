// SPDX-License-Identifier: MIT
/*
 * pprof writer tests. The wire bytes of the varint encoder are checked
 * directly; whole profiles are checked with the real reader, `go tool pprof`
 * (golang-go), plus a small decoder here for what pprof does not show
 * (string table deduplication, message counts).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf, reallocarray, strchrnul */
#endif
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <cmocka.h>

#include "pprof.h"
#include "pprof_enc.h"

static char tmpdir[PATH_MAX];

/* ---- helpers ---- */

static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	assert_true(n >= 0);
	return s;
}

static char *tmp_path(const char *name)
{
	return xasprintf("%s/%s", tmpdir, name);
}

/* Runs cmd with stderr folded in; returns its output, *status its status. */
static char *run(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	char *out = NULL;
	size_t len = 0, cap = 0, n;
	char chunk[4096];

	assert_non_null(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			assert_non_null(out);
		}
		memcpy(out + len, chunk, n);
		len += n;
	}
	*status = pclose(f);
	if (!out)
		out = calloc(1, 1);
	assert_non_null(out);
	out[len] = '\0';
	return out;
}

/*
 * `go tool pprof ARGS FILE`; fails the test if pprof does. HOME and the Go
 * caches point into the temp dir so the test runs under any user, offline.
 */
static char *pprof_tool(const char *args, const char *file)
{
	char *cmd = xasprintf(
		"cd '%s' && HOME='%s' GOCACHE='%s/gocache' GOTOOLCHAIN=local "
		"PPROF_TMPDIR='%s' go tool pprof %s '%s' 2>&1",
		tmpdir, tmpdir, tmpdir, tmpdir, args, file);
	int status;
	char *out = run(cmd, &status);

	if (status != 0)
		fail_msg("%s\nexited with %d:\n%s", cmd, status, out);
	free(cmd);
	return out;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("expected \"%s\" in:\n%s", needle, hay);
}

/* The flat column of the -top row for func, or -1 if there is none. */
static long top_flat(const char *out, const char *func)
{
	size_t flen = strlen(func);
	const char *l = out;

	while (*l) {
		const char *end = strchrnul(l, '\n');
		long flat;

		/* Rows end with " <name>"; the line must end exactly so. */
		if ((size_t)(end - l) > flen && *(end - flen - 1) == ' ' &&
		    !memcmp(end - flen, func, flen) &&
		    sscanf(l, "%ld", &flat) == 1)
			return flat;
		l = *end ? end + 1 : end;
	}
	return -1;
}

/* The line after the one that ends with word, trimmed, or NULL. */
static char *line_after(const char *out, const char *word, char *buf,
			size_t len)
{
	const char *p = strstr(out, word);
	const char *start, *end;

	if (!p || !(p = strchr(p, '\n')))
		return NULL;
	start = p + 1 + strspn(p + 1, " \t");
	end = strchrnul(start, '\n');
	snprintf(buf, len, "%.*s", (int)(end - start), start);
	return buf;
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup_dir(void **state)
{
	const char *base = getenv("SYSSCOPE_TEST_TMP");
	char abs[PATH_MAX];
	int n;

	(void)state;
	n = snprintf(tmpdir, sizeof(tmpdir), "%s/sysscope-pprof-XXXXXX",
		     base && *base ? base : "/tmp");
	/* The path is pasted into shell commands inside single quotes. */
	if (n < 0 || (size_t)n >= sizeof(tmpdir) || strchr(tmpdir, '\''))
		return -1;
	if (!mkdtemp(tmpdir) || !realpath(tmpdir, abs))
		return -1;
	/* pprof runs after a cd into the dir, so the path must be absolute. */
	strcpy(tmpdir, abs);
	return strchr(tmpdir, '\'') ? -1 : 0;
}

static int teardown_dir(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* True if a writer temp file was left behind in tmpdir. */
/* pprof__write to a file at path, as the writer process stores it. */
static int write_to(const struct profile *p, const struct profile_meta *m,
		    const char *path)
{
	FILE *f = fopen(path, "we");
	int err;

	assert_non_null(f);
	err = pprof__write(p, m, f);
	assert_int_equal(fclose(f), 0);
	return err;
}

/* ---- a small protobuf reader for the output ---- */

struct pbr {
	const uint8_t *p, *end;
};

static uint64_t pbr_varint(struct pbr *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 64; shift += 7) {
		assert_true(r->p < r->end);
		v |= (uint64_t)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	fail_msg("varint longer than 10 bytes");
	return 0;
}

static uint8_t *gunzip_file(const char *path, size_t *len)
{
	gzFile gz = gzopen(path, "rb");
	size_t cap = 1 << 16;
	uint8_t *buf = malloc(cap);
	int n;

	assert_non_null(gz);
	assert_non_null(buf);
	*len = 0;
	while ((n = gzread(gz, buf + *len, (unsigned int)(cap - *len))) > 0) {
		*len += (size_t)n;
		if (*len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			assert_non_null(buf);
		}
	}
	assert_int_equal(n, 0);
	assert_int_equal(gzclose(gz), Z_OK);
	return buf;
}

struct decoded {
	size_t nfields[16];	/* top-level Profile fields by number */
	const uint8_t *strs[256];
	size_t strlens[256];
	size_t nstrs;
};

static void decode_profile(const uint8_t *buf, size_t len, struct decoded *d)
{
	struct pbr r = { buf, buf + len };

	memset(d, 0, sizeof(*d));
	while (r.p < r.end) {
		uint64_t key = pbr_varint(&r), n = 0;
		unsigned int field = (unsigned int)(key >> 3);

		assert_in_range(field, 1, 15);
		d->nfields[field]++;
		if ((key & 7) == 0) {
			pbr_varint(&r);
			continue;
		}
		assert_int_equal(key & 7, 2);
		n = pbr_varint(&r);
		assert_true(n <= (uint64_t)(r.end - r.p));
		if (field == 6 && d->nstrs < 256) {
			d->strs[d->nstrs] = r.p;
			d->strlens[d->nstrs++] = n;
		}
		r.p += n;
	}
}

/* ---- the test profile ---- */

static const struct profile_value_type types[] = {
	{ "samples", "count" },
	{ "cpu", "nanoseconds" },
};

static const struct meta_counter counters[] = {
	{ "ringbuf drops", 3 },
	{ "unwind errors", 0 },
};

static const struct profile_meta meta = {
	.mode = "profile",
	.start_ns = 1700000000000000000ULL,
	.duration_ns = 5000000000ULL,
	.period_ns = 10000000,
	.lost = 7,
	.counters = counters,
	.ncounters = 2,
};

static uint32_t frame(struct profile *p, const char *name,
		      enum frame_kind kind)
{
	int64_t id = profile__frame(p, name, kind);

	assert_true(id >= 0);
	return (uint32_t)id;
}

static void add(struct profile *p, uint32_t tid, const char *thread,
		const uint32_t *frames, uint32_t n, uint64_t count)
{
	uint64_t v[PROFILE_MAX_VALUES] = { count, count * meta.period_ns };

	assert_int_equal(profile__add(p, 100, tid, thread, frames, n, v), 0);
}

/*
 * myapp (process) -> main -> work -> leaf_a / leaf_b / do_syscall_64 [k],
 * and myapp -> [unknown]; threads "myapp" (tid 100) and "worker" (tid 101).
 * Flat samples: do_syscall_64_[k] 5, leaf_a 3, leaf_b 2, [unknown] 1.
 */
static struct profile *make_profile(void)
{
	struct profile *p = profile__new(types, 2);
	uint32_t proc, fmain, work, s[4];

	assert_non_null(p);
	proc = frame(p, "myapp", FRAME_PROCESS);
	fmain = frame(p, "main", FRAME_USER);
	work = frame(p, "work", FRAME_USER);
	s[0] = proc, s[1] = fmain, s[2] = work;
	s[3] = frame(p, "leaf_a", FRAME_USER);
	add(p, 100, "myapp", s, 4, 2);
	add(p, 100, "myapp", s, 4, 1);	/* merged by the profile: 3 */
	s[3] = frame(p, "leaf_b", FRAME_USER);
	add(p, 101, "worker", s, 4, 2);
	s[3] = frame(p, "do_syscall_64", FRAME_KERNEL);
	add(p, 101, "worker", s, 4, 5);
	s[1] = frame(p, "[unknown]", FRAME_MARKER);
	add(p, 100, "myapp", s, 2, 1);
	return p;
}

/* Writes make_profile() to tmpdir/name; returns the malloc'd path. */
static char *write_test_profile(const char *name)
{
	struct profile *p = make_profile();
	char *path = tmp_path(name);

	assert_int_equal(write_to(p, &meta, path), 0);
	profile__free(p);
	return path;
}

/* ---- tests ---- */

static void check_varint(uint64_t v, const uint8_t *want, size_t n)
{
	struct pb_buf b = { 0 };

	pb__varint(&b, v);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.data, want, n);
	pb__buf_free(&b);
}

static void test_varint(void **state)
{
	static const uint8_t max[] = { 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xff, 0xff, 0xff, 0xff, 0x01 };

	(void)state;
	check_varint(0, (const uint8_t[]){ 0x00 }, 1);
	check_varint(1, (const uint8_t[]){ 0x01 }, 1);
	check_varint(127, (const uint8_t[]){ 0x7f }, 1);
	check_varint(128, (const uint8_t[]){ 0x80, 0x01 }, 2);
	check_varint(300, (const uint8_t[]){ 0xac, 0x02 }, 2);
	check_varint(UINT64_MAX, max, sizeof(max));
}

/* Many appends cross several reallocations without losing bytes. */
static void test_buf_growth(void **state)
{
	struct pb_buf b = { 0 };

	(void)state;
	for (uint64_t i = 0; i < 100000; i++)
		pb__varint(&b, i % 128);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 100000);
	for (size_t i = 0; i < b.len; i++)
		assert_int_equal(b.data[i], i % 128);
	pb__buf_free(&b);
}

static void test_go_top(void **state)
{
	char *path = write_test_profile("top.pb.gz");
	char *out = pprof_tool("-top -sample_index=samples", path);

	(void)state;
	assert_int_equal(top_flat(out, "do_syscall_64_[k]"), 5);
	assert_int_equal(top_flat(out, "leaf_a"), 3);
	assert_int_equal(top_flat(out, "leaf_b"), 2);
	assert_int_equal(top_flat(out, "[unknown]"), 1);
	assert_int_equal(top_flat(out, "main"), 0);
	/* The process root is a label, not a function. */
	assert_int_equal(top_flat(out, "myapp"), -1);
	assert_contains(out, "Total samples = 11");
	assert_contains(out, "lost samples: 7");
	free(out);
	free(path);
}

static void test_go_raw(void **state)
{
	char *path = write_test_profile("raw.pb.gz");
	char *out = pprof_tool("-raw", path);

	(void)state;
	/* [dflt] marks default_sample_type: cpu when there are two types. */
	assert_contains(out, "samples/count cpu/nanoseconds[dflt]");
	assert_contains(out, "          3   30000000:");
	assert_contains(out, "thread:[worker]");
	assert_contains(out, "thread:[myapp]");
	assert_contains(out, "process:[myapp]");
	assert_contains(out, "pid:[100]");
	assert_contains(out, "tid:[101]");
	assert_contains(out, "do_syscall_64_[k]");
	assert_contains(out, "PeriodType: cpu nanoseconds");
	assert_contains(out, "Period: 10000000");
	assert_contains(out, "Duration: 5s");
	assert_contains(out, "Comment: lost samples: 7");
	assert_contains(out, "Comment: ringbuf drops: 3");
	assert_contains(out, "Comment: unwind errors: 0");
	free(out);
	free(path);
}

static void test_go_traces_leaf_first(void **state)
{
	char *path = write_test_profile("traces.pb.gz");
	char *out = pprof_tool("-traces", path);
	char line[256];

	(void)state;
	assert_string_equal(line_after(out, "leaf_a\n", line, sizeof(line)),
			    "work");
	assert_string_equal(line_after(out, "work\n", line, sizeof(line)),
			    "main");
	assert_string_equal(
		line_after(out, "do_syscall_64_[k]\n", line, sizeof(line)),
		"work");
	free(out);
	free(path);
}

/* What pprof does not show: table layout, dedup, message counts. */
static void test_decoded_layout(void **state)
{
	char *path = write_test_profile("layout.pb.gz");
	struct decoded d;
	size_t len;
	uint8_t *buf = gunzip_file(path, &len);

	(void)state;
	decode_profile(buf, len, &d);
	assert_int_equal(d.nfields[1], 2);	/* sample_type */
	assert_int_equal(d.nfields[2], 4);	/* merged samples */
	assert_int_equal(d.nfields[4], 6);	/* locations: no process */
	assert_int_equal(d.nfields[5], 6);	/* functions */
	assert_int_equal(d.nfields[13], 3);	/* comments */
	assert_true(d.nstrs > 1 && d.nstrs < 256);
	assert_int_equal(d.strlens[0], 0);
	for (size_t i = 0; i < d.nstrs; i++)
		for (size_t j = i + 1; j < d.nstrs; j++)
			assert_false(d.strlens[i] == d.strlens[j] &&
				     !memcmp(d.strs[i], d.strs[j],
					     d.strlens[i]));
	free(buf);
	free(path);
}

static bool has_string(const struct decoded *d, const char *s)
{
	for (size_t i = 0; i < d->nstrs; i++)
		if (d->strlens[i] == strlen(s) &&
		    !memcmp(d->strs[i], s, d->strlens[i]))
			return true;
	return false;
}

static uint32_t line_frame(struct profile *p, const char *name,
			   const char *system_name, uint32_t line, bool inlined)
{
	const struct profile_frame f = {
		.name = name, .kind = FRAME_USER, .file = "/src/shop.cc",
		.line = line, .start_line = 10, .system_name = system_name,
		.inlined = inlined,
	};
	int64_t id = profile__frame_at_line(p, &f);

	assert_true(id >= 0);
	return (uint32_t)id;
}

/*
 * Lines and inlined calls: one Location with two Lines (the inlined call,
 * then its caller at the call's line); one Function per function whatever
 * its lines, with its file, start line and mangled name.
 */
static void test_lines_and_inlines(void **state)
{
	struct profile *p = profile__new(types, 2);
	char *path = tmp_path("lines.pb.gz");
	uint32_t s[4];
	struct decoded d;
	size_t len;
	uint8_t *buf;
	char *out;

	(void)state;
	assert_non_null(p);
	s[0] = frame(p, "shop", FRAME_PROCESS);
	s[1] = line_frame(p, "main", NULL, 40, false);
	s[2] = line_frame(p, "shop::price(int)", "_ZN4shop5priceEi", 21, false);
	s[3] = line_frame(p, "shop::mix(int)", "_ZN4shop3mixEi", 15, true);
	add(p, 100, "shop", s, 4, 3);
	s[1] = line_frame(p, "main", NULL, 41, false);	/* another line */
	add(p, 100, "shop", s, 4, 2);
	assert_int_equal(write_to(p, &meta, path), 0);
	out = pprof_tool("-raw", path);
	/* pprof shows a system_name that differs in parentheses. */
	assert_contains(out, "shop::mix(int) /src/shop.cc:15 s=10(_ZN4shop3mixEi)\n"
			"             shop::price(int) /src/shop.cc:21 s=10(_ZN4shop5priceEi)");
	free(out);
	out = pprof_tool("-top -lines -sample_index=samples", path);
	assert_contains(out, "shop::mix(int) /src/shop.cc:15 (inline)");
	free(out);
	buf = gunzip_file(path, &len);
	decode_profile(buf, len, &d);
	assert_int_equal(d.nfields[4], 3);	/* mix+price, main:40, main:41 */
	assert_int_equal(d.nfields[5], 3);	/* main, price, mix */
	assert_true(has_string(&d, "_ZN4shop5priceEi"));
	assert_true(has_string(&d, "/src/shop.cc"));
	free(buf);
	free(path);
	profile__free(p);
}

/* proto3 strings must be UTF-8; invalid bytes become U+FFFD. */
static void test_invalid_utf8(void **state)
{
	struct profile *p = profile__new(types, 2);
	char *path = tmp_path("utf8.pb.gz");
	uint32_t s[2];
	struct decoded d;
	size_t len;
	uint8_t *buf;

	(void)state;
	assert_non_null(p);
	s[0] = frame(p, "caf\xc3\xa9\xff", FRAME_USER);	/* "café" + bad */
	s[1] = frame(p, "x\xe2\x82", FRAME_KERNEL);	/* truncated € */
	add(p, 1, "t\xc0\xafn", s, 2, 1);		/* overlong '/' */
	assert_int_equal(write_to(p, &meta, path), 0);
	buf = gunzip_file(path, &len);
	decode_profile(buf, len, &d);
	assert_true(has_string(&d, "caf\xc3\xa9\xef\xbf\xbd"));
	assert_true(has_string(&d, "x\xef\xbf\xbd\xef\xbf\xbd_[k]"));
	assert_true(has_string(&d, "t\xef\xbf\xbd\xef\xbf\xbdn"));
	free(buf);
	profile__free(p);
	free(path);
}

/* pprof accepts a profile without samples, so the writer produces one. */
static void test_empty_profile(void **state)
{
	struct profile *p = profile__new(types, 2);
	struct profile_meta m = { .mode = "profile", .period_ns = 1000 };
	char *path = tmp_path("empty.pb.gz");
	char *out;

	(void)state;
	assert_non_null(p);
	assert_int_equal(write_to(p, &m, path), 0);
	out = pprof_tool("-raw", path);
	assert_contains(out, "samples/count cpu/nanoseconds[dflt]");
	assert_null(strstr(out, "Comment:"));
	free(out);
	out = pprof_tool("-top -sample_index=samples", path);
	assert_contains(out, "0% of 0 total");
	free(out);
	profile__free(p);
	free(path);
}

static void test_bad_args(void **state)
{
	struct profile *p = make_profile();

	(void)state;
	assert_int_equal(pprof__write(NULL, &meta, stdout), -EINVAL);
	assert_int_equal(pprof__write(p, NULL, stdout), -EINVAL);
	assert_int_equal(pprof__write(p, &meta, NULL), -EINVAL);
	profile__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_go_top),
		cmocka_unit_test(test_go_raw),
		cmocka_unit_test(test_go_traces_leaf_first),
		cmocka_unit_test(test_decoded_layout),
		cmocka_unit_test(test_lines_and_inlines),
		cmocka_unit_test(test_invalid_utf8),
		cmocka_unit_test(test_empty_profile),
		cmocka_unit_test(test_bad_args),
	};

	if (system("command -v go >/dev/null 2>&1") != 0) {
		fprintf(stderr, "test_pprof: `go` not found; the pprof reader "
				"checks need golang-go installed\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
