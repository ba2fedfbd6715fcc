// SPDX-License-Identifier: MIT
/*
 * Unit tests of the ClickHouse store's pure parts (src/store/): RowBinary
 * encoding and the bounds-checked reader, stack hashing, a window encoded
 * as a batch (rows summed over threads, each stack once) and read back,
 * rows of an answer rebuilt into a profile, and the spool's files: whole
 * ones read back, cut or damaged ones refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "ch_batch.h"
#include "ch_query.h"
#include "ch_rows.h"
#include "ch_spool.h"
#include "profile.h"
#include "record.h"

static const struct profile_value_type types[] = {
	{ "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" },
};

static const char *const keys[LABEL_MAX] = {
	[LABEL_REASON] = "reason", [LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod", [LABEL_NAMESPACE] = "namespace",
	[LABEL_CONTAINER_ID] = "container_id",
};

static void test_varint_and_values_round_trip(void **state)
{
	static const uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384,
					 UINT32_MAX, 1ULL << 63, UINT64_MAX };
	struct ch_buf b = { 0 };
	struct ch_reader r;

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		ch_buf__varint(&b, vals[i]);
	ch_buf__string(&b, "main", 4);
	ch_buf__u64(&b, 0x0102030405060708ULL);
	ch_buf__u8(&b, 2);
	assert_int_equal(b.err, 0);
	/* 127 is one byte, 128 two: LEB128. */
	assert_int_equal(b.data[2], 127);
	assert_int_equal(b.data[3], 0x80);
	assert_int_equal(b.data[4], 0x01);
	r = (struct ch_reader){ .p = b.data, .len = b.len };
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t v;

		assert_int_equal(ch_reader__varint(&r, &v), 0);
		assert_true(v == vals[i]);
	}
	{
		const char *s;
		size_t n;
		uint64_t v;
		uint8_t k;

		assert_int_equal(ch_reader__string(&r, &s, &n), 0);
		assert_int_equal(n, 4);
		assert_memory_equal(s, "main", 4);
		assert_int_equal(ch_reader__u64(&r, &v), 0);
		assert_true(v == 0x0102030405060708ULL);
		assert_int_equal(ch_reader__u8(&r, &k), 0);
		assert_int_equal(k, 2);
		assert_true(ch_reader__done(&r));
		assert_int_equal(ch_reader__u8(&r, &k), -EBADMSG);
	}
	ch_buf__free(&b);
}

static void test_reader_refuses_what_runs_past_the_end(void **state)
{
	/* A string saying 5 bytes with 2 there; an 11-byte varint. */
	static const uint8_t short_str[] = { 5, 'a', 'b' };
	static const uint8_t long_varint[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
					       0x80, 0x80, 0x80, 0x80, 0x01 };
	static const uint8_t cut_u64[] = { 1, 2, 3 };
	struct ch_reader r = { .p = short_str, .len = sizeof(short_str) };
	const char *s;
	size_t n;
	uint64_t v;

	(void)state;
	assert_int_equal(ch_reader__string(&r, &s, &n), -EBADMSG);
	r = (struct ch_reader){ .p = long_varint, .len = sizeof(long_varint) };
	assert_int_equal(ch_reader__varint(&r, &v), -EBADMSG);
	r = (struct ch_reader){ .p = long_varint, .len = 3 };
	assert_int_equal(ch_reader__varint(&r, &v), -EBADMSG);
	r = (struct ch_reader){ .p = cut_u64, .len = sizeof(cut_u64) };
	assert_int_equal(ch_reader__u64(&r, &v), -EBADMSG);
}

static uint64_t hash_of(const char *const *f, size_t n)
{
	size_t lens[8];

	for (size_t i = 0; i < n; i++)
		lens[i] = strlen(f[i]);
	return ch_stack__hash(f, lens, n);
}

static void test_stack_hash_is_stable_and_tells_stacks_apart(void **state)
{
	const char *a[] = { "papp", "umain", "uleaf" };
	const char *a2[] = { "papp", "umain", "uleaf" };
	const char *swapped[] = { "papp", "uleaf", "umain" };
	const char *split1[] = { "uab", "uc" }, *split2[] = { "ua", "ubc" };
	const char *kernel[] = { "papp", "umain", "kleaf" };

	(void)state;
	assert_true(hash_of(a, 3) == hash_of(a2, 3));
	assert_true(hash_of(a, 3) != hash_of(swapped, 3));
	assert_true(hash_of(a, 3) != hash_of(a, 2));
	assert_true(hash_of(split1, 2) != hash_of(split2, 2));
	assert_true(hash_of(a, 3) != hash_of(kernel, 3));
	/* The kind letter is the frame's kind, both ways. */
	for (int k = FRAME_USER; k <= FRAME_GROUP; k++)
		assert_int_equal(ch_frame__kind(ch_frame__kind_char(k)), k);
}

/* Two threads of one pod on one stack, one off-CPU sample, one host sample. */
static struct profile *make_window(void)
{
	struct profile *p = profile__new(types, 2);
	const char *pod[LABEL_MAX] = { [LABEL_POD] = "web-0",
				       [LABEL_NAMESPACE] = "shop",
				       [LABEL_CONTAINER] = "app" };
	const char *off[LABEL_MAX] = { [LABEL_POD] = "web-0",
				       [LABEL_NAMESPACE] = "shop",
				       [LABEL_CONTAINER] = "app",
				       [LABEL_REASON] = "sleep" };
	uint32_t f[4];

	assert_non_null(p);
	assert_int_equal(profile__set_label_keys(p, keys, LABEL_MAX), 0);
	f[0] = (uint32_t)profile__frame(p, "[pod shop/web-0]", FRAME_GROUP);
	f[1] = (uint32_t)profile__frame(p, "app", FRAME_PROCESS);
	f[2] = (uint32_t)profile__frame(p, "main", FRAME_USER);
	f[3] = (uint32_t)profile__frame(p, "leaf", FRAME_KERNEL);
	assert_int_equal(profile__add_labeled(p, 1, 1, "a", pod, f, 4,
					      (uint64_t[]){ 300, 0 }), 0);
	assert_int_equal(profile__add_labeled(p, 1, 2, "b", pod, f, 4,
					      (uint64_t[]){ 100, 0 }), 0);
	assert_int_equal(profile__add_labeled(p, 1, 2, "b", off, f, 3,
					      (uint64_t[]){ 0, 5000 }), 0);
	assert_int_equal(profile__add(p, 7, 7, "host", &f[1], 2,
				      (uint64_t[]){ 42, 0 }), 0);
	return p;
}

static void gunzip(const uint8_t *in, size_t len, struct ch_buf *out)
{
	z_stream z = { 0 };
	uint8_t chunk[4096];
	int ret;

	assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		z.next_out = chunk;
		z.avail_out = sizeof(chunk);
		ret = inflate(&z, Z_NO_FLUSH);
		ch_buf__put(out, chunk, sizeof(chunk) - z.avail_out);
	} while (ret == Z_OK);
	assert_int_equal(ret, Z_STREAM_END);
	inflateEnd(&z);
}

static void encode_window(struct ch_buf *b, struct ch_batch_stats *st)
{
	struct profile *p = make_window();
	struct ch_window w = {
		.profile = p, .cpu_value = 0, .offcpu_value = 1, .node = "n1",
		.start_real_ns = 1764800000123456789ULL, .duration_ns = 2000000000,
	};

	assert_int_equal(ch_batch__encode(&w, b, st), 0);
	profile__free(p);
}

static void test_window_rows_are_summed_and_stacks_kept_once(void **state)
{
	struct ch_batch_stats st;
	struct ch_batch_view v;
	struct ch_buf b = { 0 }, rows = { 0 };
	struct ch_reader r;
	uint64_t cpu_sum = 0, off_sum = 0;

	(void)state;
	encode_window(&b, &st);
	/* Stacks: pod 4 frames, pod 3 frames, host 2 frames. */
	assert_int_equal(st.rows[CH_STACKS], 3);
	/* Samples: the two threads' stack summed; off-CPU; host. */
	assert_int_equal(st.rows[CH_SAMPLES], 3);
	assert_int_equal(st.rows[CH_WINDOWS], 1);
	assert_true(st.oncpu_ns == 442 && st.offcpu_ns == 5000);
	assert_int_equal(ch_batch__parse(b.data, b.len, &v), 0);
	assert_int_equal(v.total, b.len);
	assert_true(v.window_id == 1764800000123456789ULL);

	gunzip(v.body[CH_SAMPLES], v.len[CH_SAMPLES], &rows);
	r = (struct ch_reader){ .p = rows.data, .len = rows.len };
	for (int i = 0; i < 3; i++) {
		const char *s[4], *node;
		size_t n[4], nl;
		uint64_t id, hash, value;
		uint32_t start;
		uint8_t kind, day[2];

		assert_int_equal(ch_reader__u8(&r, &day[0]), 0);
		assert_int_equal(ch_reader__u8(&r, &day[1]), 0);
		assert_int_equal(day[0] | day[1] << 8, 1764800000 / 86400);
		assert_int_equal(ch_reader__u32(&r, &start), 0);
		assert_int_equal(start, 1764800000);
		assert_int_equal(ch_reader__u64(&r, &id), 0);
		assert_int_equal(ch_reader__string(&r, &node, &nl), 0);
		assert_memory_equal(node, "n1", 2);
		for (int k = 0; k < 3; k++)
			assert_int_equal(ch_reader__string(&r, &s[k], &n[k]), 0);
		assert_int_equal(ch_reader__u8(&r, &kind), 0);
		assert_int_equal(ch_reader__string(&r, &s[3], &n[3]), 0);
		assert_int_equal(ch_reader__u64(&r, &hash), 0);
		assert_int_equal(ch_reader__u64(&r, &value), 0);
		if (kind == 2) {
			assert_true(n[3] == 5 && !memcmp(s[3], "sleep", 5));
			off_sum += value;
		} else {
			assert_int_equal(kind, 1);
			assert_true(value == 400 || (value == 42 && n[1] == 0));
			cpu_sum += value;
		}
	}
	assert_true(ch_reader__done(&r));
	assert_true(cpu_sum == 442 && off_sum == 5000);
	ch_buf__free(&rows);
	ch_buf__free(&b);
}

static void test_batch_cut_or_damaged_is_refused(void **state)
{
	struct ch_batch_stats st;
	struct ch_batch_view v;
	struct ch_buf b = { 0 };

	(void)state;
	encode_window(&b, &st);
	for (size_t len = 0; len < b.len; len++)
		assert_int_equal(ch_batch__parse(b.data, len, &v), -EBADMSG);
	b.data[b.len / 2] ^= 0x40;
	assert_int_equal(ch_batch__parse(b.data, b.len, &v), -EBADMSG);
	ch_buf__free(&b);
}

/* An answer row: frames, kind, namespace, pod, container, reason, value. */
static void put_answer_row(struct ch_buf *b, const char *const *frames,
			   size_t n, uint8_t kind, uint64_t value)
{
	ch_buf__varint(b, n);
	for (size_t i = 0; i < n; i++)
		ch_buf__string(b, frames[i], strlen(frames[i]));
	ch_buf__u8(b, kind);
	ch_buf__string(b, "shop", 4);
	ch_buf__string(b, "web-0", 5);
	ch_buf__string(b, "app", 3);
	ch_buf__string(b, "", 0);
	ch_buf__u64(b, value);
}

static void test_answer_rows_rebuild_the_profile(void **state)
{
	const char *frames[] = { "g[pod shop/web-0]", "papp", "umain", "kleaf" };
	struct profile *p = profile__new(types, 2);
	struct ch_buf b = { 0 };
	uint64_t rows;

	(void)state;
	assert_int_equal(profile__set_label_keys(p, keys, LABEL_MAX), 0);
	put_answer_row(&b, frames, 4, 1, 400);
	put_answer_row(&b, frames, 3, 2, 5000);
	assert_int_equal(ch_query__add_rows(p, b.data, b.len, 0, 1.0, &rows), 0);
	assert_int_equal(rows, 2);
	assert_true(profile__total(p, 0) == 400 && profile__total(p, 1) == 5000);
	{
		const struct profile_sample *s = profile__sample_at(p, 0);
		const struct profile_frame *leaf =
			profile__frame_at(p, s->frames[s->nframes - 1]);

		assert_int_equal(s->nframes, 4);
		assert_string_equal(leaf->name, "leaf");
		assert_int_equal(leaf->kind, FRAME_KERNEL);
		assert_string_equal(s->labels[LABEL_POD], "web-0");
		assert_null(s->labels[LABEL_REASON]);
	}
	/* Cut anywhere inside: refused, never read past the end. */
	for (size_t len = 1; len < b.len; len++) {
		struct profile *q = profile__new(types, 2);
		int err;

		profile__set_label_keys(q, keys, LABEL_MAX);
		err = ch_query__add_rows(q, b.data, len, 0, 1.0, &rows);
		assert_true(err == -EBADMSG || (err == 0 && rows == 1));
		profile__free(q);
	}
	/* A kind that is neither cpu nor offcpu. */
	b.len = 0;
	put_answer_row(&b, frames, 1, 7, 1);
	assert_int_equal(ch_query__add_rows(p, b.data, b.len, 0, 1.0, &rows),
			 -EBADMSG);
	ch_buf__free(&b);
	profile__free(p);
}

static int spool_dir(char *path, size_t len)
{
	const char *base = getenv("SYSSCOPE_TEST_TMP");

	snprintf(path, len, "%s/ch-spool-XXXXXX", base ? base : "/tmp");
	assert_non_null(mkdtemp(path));
	return open(path, O_RDONLY | O_DIRECTORY);
}

static void test_spool_reads_whole_files_refuses_cut_ones(void **state)
{
	struct ch_batch_stats st;
	struct ch_buf b = { 0 }, back = { 0 };
	struct ch_spool_entry *list;
	char dir[512], file[600];
	size_t n;
	int fd = spool_dir(dir, sizeof(dir));

	(void)state;
	assert_true(fd >= 0);
	encode_window(&b, &st);
	assert_int_equal(ch_spool__write(fd, 12, b.data, b.len), 0);
	assert_int_equal(ch_spool__write(fd, 3, b.data, b.len), 0);
	/* A temporary file a crash left, and a stranger's file. */
	assert_int_equal(ch_spool__write(fd, 40, b.data, 10), 0);
	snprintf(file, sizeof(file), "%s/.tmp-x", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));
	snprintf(file, sizeof(file), "%s/notes.txt", dir);
	close(open(file, O_CREAT | O_WRONLY, 0600));

	assert_int_equal(ch_spool__list(fd, &list, &n), 0);
	assert_int_equal(n, 3);
	assert_true(list[0].seq == 3 && list[1].seq == 12 && list[2].seq == 40);
	assert_true(list[0].bytes == b.len);
	free(list);
	snprintf(file, sizeof(file), "%s/.tmp-x", dir);
	assert_int_equal(access(file, F_OK), -1);

	assert_int_equal(ch_spool__read(fd, 3, &back), 0);
	assert_int_equal(back.len, b.len);
	assert_memory_equal(back.data, b.data, b.len);
	/* The 10-byte one: cut. Then seq 12 cut at every length. */
	assert_int_equal(ch_spool__read(fd, 40, &back), -EBADMSG);
	snprintf(file, sizeof(file), "%s/%020d.batch", dir, 12);
	for (size_t len = b.len; len-- > 0;) {
		assert_int_equal(truncate(file, (off_t)len), 0);
		assert_int_equal(ch_spool__read(fd, 12, &back), -EBADMSG);
	}
	assert_int_equal(ch_spool__read(fd, 99, &back), -ENOENT);
	for (uint64_t s = 3; s <= 40; s++)
		ch_spool__remove(fd, s);
	unlink(file);
	snprintf(file, sizeof(file), "%s/notes.txt", dir);
	unlink(file);
	close(fd);
	assert_int_equal(rmdir(dir), 0);
	ch_buf__free(&b);
	ch_buf__free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_varint_and_values_round_trip),
		cmocka_unit_test(test_reader_refuses_what_runs_past_the_end),
		cmocka_unit_test(test_stack_hash_is_stable_and_tells_stacks_apart),
		cmocka_unit_test(test_window_rows_are_summed_and_stacks_kept_once),
		cmocka_unit_test(test_batch_cut_or_damaged_is_refused),
		cmocka_unit_test(test_answer_rows_rebuild_the_profile),
		cmocka_unit_test(test_spool_reads_whole_files_refuses_cut_ones),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
