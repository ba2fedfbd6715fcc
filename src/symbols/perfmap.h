/* SPDX-License-Identifier: MIT */
/*
 * JIT symbol maps, /tmp/perf-<pid>.map: "START SIZE name" per line, in hex,
 * as Node's --perf-basic-prof, Python 3.12's -X perf and Java's
 * perf-map-agent write them. Written by the profiled process: untrusted.
 */
#ifndef SYSSCOPE_PERFMAP_H
#define SYSSCOPE_PERFMAP_H

#include <stddef.h>
#include <stdint.h>

#define PERFMAP_MAX_FILE (64u << 20)	/* larger maps are refused */
#define PERFMAP_MAX_LINE 4096		/* longer lines are skipped */
#define PERFMAP_MAX_ENTRIES (1u << 20)
#define PERFMAP_ENTRY_BYTES 16		/* what a line costs, indexed */

struct perfmap;

/* Parses one line in place; 0, or -EINVAL. *name points into line. */
int perfmap__parse_line(char *line, uint64_t *start, uint64_t *size,
			const char **name);

/*
 * Indexes the map at fd (which may be closed after: m keeps its own), 16
 * bytes a line; names are read at lookup. NULL and errno (EFBIG over the
 * limits).
 */
struct perfmap *perfmap__load(int fd);
/*
 * The same, indexing the first max lines (a budget; at most
 * PERFMAP_MAX_ENTRIES): the rest are counted (perfmap__dropped), and get
 * no name.
 */
struct perfmap *perfmap__load_max(int fd, size_t max);
size_t perfmap__dropped(const struct perfmap *m);
/* The memory m holds: what a budget counts. */
size_t perfmap__bytes(const struct perfmap *m);
void perfmap__free(struct perfmap *m);
/*
 * The symbol containing addr, or NULL (also when its line changed since
 * the map was read). Valid until the next lookup in m.
 */
const char *perfmap__lookup(struct perfmap *m, uint64_t addr);
size_t perfmap__count(const struct perfmap *m);

#endif
