// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: procmap__parse() (src/symbols/procmaps.c), the /proc/PID/maps
 * line parser. Each line of the input (with its '\n', as fgets() gives it)
 * is parsed from its own exact-size, NUL-terminated, mutable copy.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "procmaps.h"

static void parse_line(const uint8_t *p, size_t n)
{
	char *line = fuzz_strndup(p, n);
	struct procmap m;
	int ret = procmap__parse(line, &m);

	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret == 0) {
		/* The path lies inside the line and is one line. */
		FUZZ_CHECK(m.path && m.path >= line && m.path <= line + n);
		FUZZ_CHECK(m.path + strlen(m.path) <= line + n);
		FUZZ_CHECK(!strchr(m.path, '\n'));
		FUZZ_CHECK(m.start <= m.end);
	}
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *line;
	size_t n;

	while (fuzz_next_line(&p, end, 1, &line, &n))
		parse_line(line, n);
	/* And the whole input as one "line" (embedded newlines and all). */
	parse_line(data, size);
	return 0;
}
