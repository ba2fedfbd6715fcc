/* SPDX-License-Identifier: MIT */
/* /proc/PID/maps lines, parsed without I/O (the input is untrusted). */
#ifndef SYSSCOPE_PROCMAPS_H
#define SYSSCOPE_PROCMAPS_H

#include <stdbool.h>
#include <stdint.h>

struct procmap {
	uint64_t start, end;	/* [start, end) */
	uint64_t pgoff;		/* file offset of start */
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	bool exec;
	bool deleted;		/* path ended in " (deleted)", now stripped */
	const char *path;	/* points into the parsed line; "" if anonymous */
};

/*
 * Parses one line ("start-end perms offset maj:min inode   path"), editing
 * it in place (the path is NUL-terminated). 0, or -EINVAL for a bad line.
 */
int procmap__parse(char *line, struct procmap *m);

#endif
