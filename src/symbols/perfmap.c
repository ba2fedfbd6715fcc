// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perfmap.h"

struct perfmap_entry {
	uint64_t start, end;
	char *name;
};

struct perfmap {
	struct perfmap_entry *e;
	size_t n, cap;
};

static bool parse_hex(char **s, uint64_t *out)
{
	char *end;

	if (!strncmp(*s, "0x", 2))
		*s += 2;
	if (!((**s >= '0' && **s <= '9') || (**s >= 'a' && **s <= 'f') ||
	      (**s >= 'A' && **s <= 'F')))
		return false;
	errno = 0;
	*out = strtoull(*s, &end, 16);
	if (errno || *end != ' ')
		return false;
	*s = end + 1;
	return true;
}

int perfmap__parse_line(char *line, uint64_t *start, uint64_t *size,
			const char **name)
{
	char *s = line;

	if (!parse_hex(&s, start) || !parse_hex(&s, size))
		return -EINVAL;
	s[strcspn(s, "\r\n")] = '\0';
	if (!*s || !*size || *start + *size < *start)
		return -EINVAL;
	*name = s;
	return 0;
}

static int perfmap__push(struct perfmap *m, uint64_t start, uint64_t size,
			 const char *name)
{
	if (m->n == PERFMAP_MAX_ENTRIES)
		return -EFBIG;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		void *n = realloc(m->e, cap * sizeof(*m->e));

		if (!n)
			return -ENOMEM;
		m->e = n;
		m->cap = cap;
	}
	m->e[m->n].name = strdup(name);
	if (!m->e[m->n].name)
		return -ENOMEM;
	m->e[m->n].start = start;
	m->e[m->n].end = start + size;
	m->n++;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct perfmap_entry *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/*
 * Reads lines; a line too long, or with a NUL byte, is dropped whole, not
 * split (fgets() would see a NUL as the end of the line, then take what
 * follows for the rest of an overlong one and drop the next line too).
 * About limit bytes: the JIT may keep appending while we read, and must
 * not hold us. A line that started before limit is read to its end while
 * it fits in a line.
 */
static int perfmap__read(struct perfmap *m, FILE *f, uint64_t limit)
{
	char line[PERFMAP_MAX_LINE];
	uint64_t done = 0;
	size_t len = 0;
	bool drop = false;
	int c, err = 0;

	while (!err && (done < limit || (len && !drop)) &&
	       (c = getc_unlocked(f)) != EOF) {
		uint64_t start, size;
		const char *name;

		done++;
		if (c != '\n') {
			/* Room for the '\n' and the NUL, as fgets() left. */
			if (c && len < sizeof(line) - 2)
				line[len++] = (char)c;
			else
				drop = true;
			continue;
		}
		line[len] = '\0';
		if (!drop && !perfmap__parse_line(line, &start, &size, &name))
			err = perfmap__push(m, start, size, name);
		len = 0;
		drop = false;
	}
	if (!err && ferror(f))
		err = -EIO;
	/* The last line, without its '\n'. */
	if (!err && len && !drop) {
		uint64_t start, size;
		const char *name;

		line[len] = '\0';
		if (!perfmap__parse_line(line, &start, &size, &name))
			err = perfmap__push(m, start, size, name);
	}
	return err;
}

struct perfmap *perfmap__load(int fd)
{
	struct perfmap *m;
	struct stat st;
	FILE *f;
	int err, dup_fd;

	if (fstat(fd, &st))
		return NULL;
	if (!S_ISREG(st.st_mode) || st.st_size > PERFMAP_MAX_FILE) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	dup_fd = m ? dup(fd) : -1;
	f = dup_fd >= 0 ? fdopen(dup_fd, "re") : NULL;
	if (!f) {
		err = errno;
		if (dup_fd >= 0)
			close(dup_fd);
		perfmap__free(m);
		errno = err;
		return NULL;
	}
	err = perfmap__read(m, f, st.st_size);
	fclose(f);
	if (err) {
		perfmap__free(m);
		errno = -err;
		return NULL;
	}
	if (m->n)
		qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
	return m;
}

void perfmap__free(struct perfmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->e[i].name);
	free(m->e);
	free(m);
}

const char *perfmap__lookup(const struct perfmap *m, uint64_t addr)
{
	size_t lo = 0, hi = m ? m->n : 0;

	/* The last entry starting at or below addr; JITs rarely overlap. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo || addr >= m->e[lo - 1].end)
		return NULL;
	return m->e[lo - 1].name;
}

size_t perfmap__count(const struct perfmap *m)
{
	return m ? m->n : 0;
}
