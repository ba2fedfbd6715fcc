// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cgroup.h"

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* "id parent maj:min root mount opts [optional...] - fstype src superopts" */
int cgroup__parse_mountinfo_line(char *line, const char **mount_point)
{
	char *fields[5], *sep, *fstype, *save = NULL;
	char *tok = strtok_r(line, " \n", &save);
	int n = 0;

	for (; tok && n < 5; tok = strtok_r(NULL, " \n", &save))
		fields[n++] = tok;
	if (n < 5)
		return -EINVAL;
	/* Optional fields end at a lone "-"; the file system type follows. */
	for (sep = tok; sep && strcmp(sep, "-"); sep = strtok_r(NULL, " \n", &save))
		;
	fstype = sep ? strtok_r(NULL, " \n", &save) : NULL;
	if (!fstype)
		return -EINVAL;
	if (strcmp(fstype, "cgroup2"))
		return 0;
	unescape_octal(fields[4]);
	*mount_point = fields[4];
	return 1;
}

/* Is mount point mp prefix itself or below it? NULL prefix: any. */
static bool mount_under(const char *mp, const char *prefix)
{
	size_t n;

	if (!prefix)
		return true;
	n = strlen(prefix);
	while (n > 1 && prefix[n - 1] == '/')
		n--;
	return !strncmp(mp, prefix, n) && (mp[n] == '/' || !mp[n] || n == 1);
}

int cgroup__find_v2_mount(const char *mountinfo, char *buf, size_t len)
{
	return cgroup__find_v2_mount_under(mountinfo, NULL, buf, len);
}

int cgroup__find_v2_mount_under(const char *mountinfo, const char *prefix,
				char *buf, size_t len)
{
	FILE *f = fopen(mountinfo, "re");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		const char *mp;

		if (cgroup__parse_mountinfo_line(line, &mp) != 1 ||
		    !mount_under(mp, prefix))
			continue;
		if (strlen(mp) >= len) {
			err = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, mp);
		err = 0;
		break;
	}
	fclose(f);
	return err;
}

int cgroup__v2_dir(const char *v2_mount, const char *path, char *buf,
		   size_t len)
{
	size_t mlen = strlen(v2_mount);
	int n;

	if (strstr(path, "/../") || !strcmp(path, "..") ||
	    !strncmp(path, "../", 3) ||
	    (strlen(path) >= 3 && !strcmp(path + strlen(path) - 3, "/..")))
		return -EINVAL;
	if (!strncmp(path, v2_mount, mlen) &&
	    (path[mlen] == '/' || path[mlen] == '\0'))
		n = snprintf(buf, len, "%s", path);
	else
		n = snprintf(buf, len, "%s%s%s", v2_mount,
			     path[0] == '/' ? "" : "/", path);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Is word one of the comma-separated items of list? */
static bool has_item(const char *list, const char *word)
{
	size_t len = strlen(word);

	for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (!strncmp(p, word, len) && (p[len] == ',' || !p[len] ||
					       p[len] == '\n'))
			return true;
	return false;
}

int cgroup__find_v1_mount(const char *mountinfo, const char *controller,
			  char *buf, size_t len)
{
	return cgroup__find_v1_mount_under(mountinfo, NULL, controller, buf,
					   len);
}

int cgroup__find_v1_mount_under(const char *mountinfo, const char *prefix,
				const char *controller, char *buf, size_t len)
{
	FILE *f = fopen(mountinfo, "re");
	char line[4096];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err == -ENOENT && fgets(line, sizeof(line), f)) {
		char mp[4096], fstype[64], super[1024];
		const char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (strcmp(fstype, "cgroup") || !has_item(super, controller))
			continue;
		unescape_octal(mp);
		if (!mount_under(mp, prefix))
			continue;
		err = strlen(mp) < len ? 0 : -ENAMETOOLONG;
		if (!err)
			strcpy(buf, mp);
	}
	fclose(f);
	return err;
}
