// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "perfmap.h"

/*
 * 16 bytes a line, whatever its name's length: the name is read again from
 * the file when an address needs it, and the line checked to be the same
 * (JITs append; one that rewrote its map gets no name). A node's JIT maps
 * of 50 MiB cost a few MiB each, not their size.
 */
struct perfmap_entry {
	uint64_t start;
	uint32_t size;		/* clipped to 4 GiB: no JIT emits more at once */
	uint32_t line;		/* the line's offset in the file */
};

_Static_assert(sizeof(struct perfmap_entry) == PERFMAP_ENTRY_BYTES,
	       "PERFMAP_ENTRY_BYTES");

struct perfmap {
	struct perfmap_entry *e;
	size_t n, cap;
	size_t max;		/* lines indexed at most (a budget) */
	size_t dropped;		/* ... lines past it, not indexed */
	int fd;			/* the map, to read names from */
	char name[PERFMAP_MAX_LINE];	/* the last name looked up */
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
			 uint64_t line)
{
	if (m->n == PERFMAP_MAX_ENTRIES)
		return -EFBIG;
	if (m->n == m->max) {
		m->dropped++;
		return 0;
	}
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 256;
		void *n = realloc(m->e, cap * sizeof(*m->e));

		if (!n)
			return -ENOMEM;
		m->e = n;
		m->cap = cap;
	}
	m->e[m->n].start = start;
	m->e[m->n].size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
	m->e[m->n].line = (uint32_t)line;	/* < PERFMAP_MAX_FILE */
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
	uint64_t done = 0, line_off = 0;
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
			err = perfmap__push(m, start, size, line_off);
		len = 0;
		drop = false;
		line_off = done;
	}
	if (!err && ferror(f))
		err = -EIO;
	/* The last line, without its '\n'. */
	if (!err && len && !drop) {
		uint64_t start, size;
		const char *name;

		line[len] = '\0';
		if (!perfmap__parse_line(line, &start, &size, &name))
			err = perfmap__push(m, start, size, line_off);
	}
	return err;
}

struct perfmap *perfmap__load(int fd)
{
	return perfmap__load_max(fd, PERFMAP_MAX_ENTRIES);
}

struct perfmap *perfmap__load_max(int fd, size_t max)
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
	if (m) {
		m->fd = -1;
		m->max = max;
	}
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
	if (!err) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		err = m->fd < 0 ? -errno : 0;
	}
	if (err) {
		perfmap__free(m);
		errno = -err;
		return NULL;
	}
	if (m->n) {
		void *fit = realloc(m->e, m->n * sizeof(*m->e));

		if (fit) {	/* no room left unused: the budget counts n */
			m->e = fit;
			m->cap = m->n;
		}
		qsort(m->e, m->n, sizeof(*m->e), entry_cmp);
	}
	return m;
}

void perfmap__free(struct perfmap *m)
{
	if (!m)
		return;
	if (m->fd >= 0)
		close(m->fd);
	free(m->e);
	free(m);
}

/* e's name, read again from its line: NULL if the line is not e's now. */
static const char *entry_name(struct perfmap *m, const struct perfmap_entry *e)
{
	ssize_t n = pread(m->fd, m->name, sizeof(m->name) - 1, e->line);
	uint64_t start, size;
	const char *name;
	char *nl;

	if (n <= 0)
		return NULL;
	m->name[n] = '\0';
	nl = memchr(m->name, '\n', (size_t)n);
	if (nl)
		*nl = '\0';
	if (strlen(m->name) != (nl ? (size_t)(nl - m->name) : (size_t)n) ||
	    perfmap__parse_line(m->name, &start, &size, &name) ||
	    start != e->start || (size > UINT32_MAX ? UINT32_MAX : size) != e->size)
		return NULL;
	memmove(m->name, name, strlen(name) + 1);
	return m->name;
}

const char *perfmap__lookup(struct perfmap *m, uint64_t addr)
{
	size_t lo = 0, hi = m ? m->n : 0;
	const struct perfmap_entry *e;

	/* The last entry starting at or below addr; JITs rarely overlap. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->e[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	e = &m->e[lo - 1];
	if (addr - e->start >= e->size)
		return NULL;
	return entry_name(m, e);
}

size_t perfmap__dropped(const struct perfmap *m)
{
	return m ? m->dropped : 0;
}

size_t perfmap__bytes(const struct perfmap *m)
{
	return m ? sizeof(*m) + m->cap * sizeof(*m->e) : 0;
}

size_t perfmap__count(const struct perfmap *m)
{
	return m ? m->n : 0;
}
