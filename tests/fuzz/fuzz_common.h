/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the libFuzzer targets (tests/fuzz/fuzz_*.c).
 *
 * Copies are exact-size heap buffers, so that AddressSanitizer reports a
 * read one byte past the input. FUZZ_CHECK states what a header promises;
 * a broken promise aborts, which libFuzzer reports as a crash.
 */
#ifndef SYSSCOPE_FUZZ_COMMON_H
#define SYSSCOPE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: broken invariant: %s\n",     \
				__FILE__, __LINE__, #cond);                  \
			abort();                                             \
		}                                                            \
	} while (0)

/* n bytes of p and a NUL, in a buffer of exactly n + 1 bytes. */
static inline char *fuzz_strndup(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		abort();
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/*
 * The next line of [*p, end) in *line and *len, with its '\n' when keep_nl
 * (as fgets() would leave it); *p moves past it. 0 when there is none left.
 */
static inline int fuzz_next_line(const uint8_t **p, const uint8_t *end,
				 int keep_nl, const uint8_t **line, size_t *len)
{
	const uint8_t *nl;

	if (*p >= end)
		return 0;
	*line = *p;
	nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl) {
		*len = (size_t)(end - *p);
		*p = end;
		return 1;
	}
	*len = (size_t)(nl - *line) + (keep_nl ? 1 : 0);
	*p = nl + 1;
	return 1;
}

/* Little-endian load of up to 8 bytes at off (missing bytes are 0). */
static inline uint64_t fuzz_load_le(const uint8_t *p, size_t size, size_t off,
				    size_t width)
{
	uint64_t v = 0;

	for (size_t i = 0; i < width && off + i < size; i++)
		v |= (uint64_t)p[off + i] << (8 * i);
	return v;
}

/*
 * A memfd whose whole content is the input, for code that wants a file:
 * made once and rewritten for each input. Its path is /proc/self/fd/<fd>.
 */
static inline int fuzz_memfd(const uint8_t *data, size_t size)
{
	static int fd = -1;
	size_t done = 0;

	if (fd < 0)
		fd = memfd_create("fuzz_input", MFD_CLOEXEC);
	FUZZ_CHECK(fd >= 0);
	FUZZ_CHECK(ftruncate(fd, 0) == 0);
	while (done < size) {
		ssize_t r = pwrite(fd, data + done, size - done, (off_t)done);

		FUZZ_CHECK(r > 0);
		done += (size_t)r;
	}
	return fd;
}

#endif
