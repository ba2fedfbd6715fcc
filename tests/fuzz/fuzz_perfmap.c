// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the JIT perf-map parser (src/symbols/perfmap.c).
 *
 *  - perfmap__parse_line() on each line of the input (with its '\n', as
 *    the reader gives it) and on the whole input, each from its own
 *    exact-size, NUL-terminated, mutable copy;
 *  - perfmap__load() on the whole input as a file (a memfd), checked
 *    against a model: a line is kept when it has no NUL byte, is at most
 *    PERFMAP_MAX_LINE - 2 bytes before its '\n' (the last line may lack
 *    it) and perfmap__parse_line() accepts it. The count must match, and
 *    perfmap__lookup() must find each kept line's start (by its own name
 *    when no other kept line starts there), and name nothing empty.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "perfmap.h"

#define MAX_LOOKUPS 64

struct kept {
	uint64_t start, size;
	char *name;		/* a copy */
};

/* 0 and the fields if the line parses; checks what the header promises. */
static int parse_line(const uint8_t *p, size_t n, struct kept *k)
{
	char *line = fuzz_strndup(p, n);
	uint64_t start = 0, size = 0;
	const char *name = NULL;
	int ret = perfmap__parse_line(line, &start, &size, &name);

	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret == 0) {
		/* The name lies inside the line, is not empty, is one line. */
		FUZZ_CHECK(name && name > line && name < line + n);
		FUZZ_CHECK(name + strlen(name) <= line + n);
		FUZZ_CHECK(name[0]);
		FUZZ_CHECK(!strpbrk(name, "\r\n"));
		FUZZ_CHECK(size > 0 && start + size > start);
		if (k) {
			k->start = start;
			k->size = size;
			k->name = strdup(name);
			FUZZ_CHECK(k->name);
		}
	}
	free(line);
	return ret;
}

static void check_name(const char *name)
{
	if (name)
		FUZZ_CHECK(name[0] && !strpbrk(name, "\r\n"));
}

/* The kept lines of the input, as perfmap__load() should see them. */
static size_t model(const uint8_t *data, size_t size, struct kept *kept)
{
	const uint8_t *p = data, *end = data + size, *line;
	size_t n, nkept = 0;

	while (fuzz_next_line(&p, end, 1, &line, &n)) {
		size_t body = n && line[n - 1] == '\n' ? n - 1 : n;
		struct kept k;

		if (memchr(line, '\0', n) || body > PERFMAP_MAX_LINE - 2)
			continue;
		if (parse_line(line, n, &k) == 0)
			kept[nkept++] = k;
	}
	return nkept;
}

static void check_load(const uint8_t *data, size_t size)
{
	/* A kept line has at least "0 1 x": one per 5 bytes at most. */
	struct kept *kept = calloc(size / 5 + 1, sizeof(*kept));
	size_t nkept = model(data, size, kept);
	int fd = fuzz_memfd(data, size);
	struct perfmap *m;

	FUZZ_CHECK(kept);
	FUZZ_CHECK(lseek(fd, 0, SEEK_SET) == 0);
	errno = 0;
	m = perfmap__load(fd);
	if (!m) {
		FUZZ_CHECK(errno == ENOMEM);
		goto out;
	}
	FUZZ_CHECK(perfmap__count(m) == nkept);
	check_name(perfmap__lookup(m, 0));
	check_name(perfmap__lookup(m, UINT64_MAX));
	for (size_t i = 0; i < nkept && i < MAX_LOOKUPS; i++) {
		const char *name = perfmap__lookup(m, kept[i].start);
		bool unique = true;

		/* Some kept line starts there, so some entry holds it. */
		FUZZ_CHECK(name);
		check_name(name);
		for (size_t j = 0; j < nkept && unique; j++)
			unique = j == i || kept[j].start != kept[i].start;
		if (unique)
			FUZZ_CHECK(!strcmp(name, kept[i].name));
		check_name(perfmap__lookup(m, kept[i].start - 1));
		check_name(perfmap__lookup(m, kept[i].start + kept[i].size - 1));
		check_name(perfmap__lookup(m, kept[i].start + kept[i].size));
	}
	perfmap__free(m);
out:
	for (size_t i = 0; i < nkept; i++)
		free(kept[i].name);
	free(kept);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *line;
	size_t n;

	while (fuzz_next_line(&p, end, 1, &line, &n))
		parse_line(line, n, NULL);
	/* And the whole input as one "line" (embedded newlines and all). */
	parse_line(data, size, NULL);
	check_load(data, size);
	return 0;
}
