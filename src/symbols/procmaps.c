// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "procmaps.h"

#define DELETED_SUFFIX " (deleted)"

/* strtoull that must consume at least one hex digit and stop at 'stop'. */
static bool parse_hex(const char **s, char stop, uint64_t *out)
{
	char *end;

	if (!((**s >= '0' && **s <= '9') || (**s >= 'a' && **s <= 'f') ||
	      (**s >= 'A' && **s <= 'F')))
		return false;
	errno = 0;
	*out = strtoull(*s, &end, 16);
	if (errno || *end != stop)
		return false;
	*s = end + 1;
	return true;
}

static bool parse_perms(const char **s, bool *exec)
{
	const char *p = *s;

	if (strlen(p) < 5 || p[4] != ' ')
		return false;
	*exec = p[2] == 'x';
	*s = p + 5;
	return true;
}

static bool parse_dev_inode(const char **s, struct procmap *m)
{
	uint64_t maj, min;

	if (!parse_hex(s, ':', &maj) || !parse_hex(s, ' ', &min))
		return false;
	if (maj > UINT32_MAX || min > UINT32_MAX)
		return false;
	m->dev_major = maj;
	m->dev_minor = min;
	if (**s < '0' || **s > '9')
		return false;
	errno = 0;
	m->inode = strtoull(*s, (char **)s, 10);
	if (errno)
		return false;
	return **s == ' ' || **s == '\n' || **s == '\0';
}

static char *parse_path(char *p, bool *deleted)
{
	size_t len, slen = strlen(DELETED_SUFFIX);

	while (*p == ' ')
		p++;
	len = strcspn(p, "\n");
	p[len] = '\0';
	*deleted = len >= slen && !strcmp(p + len - slen, DELETED_SUFFIX);
	if (*deleted)
		p[len - slen] = '\0';
	return p;
}

int procmap__parse(char *line, struct procmap *m)
{
	const char *s = line;

	memset(m, 0, sizeof(*m));
	if (!parse_hex(&s, '-', &m->start) || !parse_hex(&s, ' ', &m->end) ||
	    m->end < m->start)
		return -EINVAL;
	if (!parse_perms(&s, &m->exec) || !parse_hex(&s, ' ', &m->pgoff))
		return -EINVAL;
	if (!parse_dev_inode(&s, m))
		return -EINVAL;
	m->path = parse_path(line + (s - line), &m->deleted);
	return 0;
}
