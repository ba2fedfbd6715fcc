// SPDX-License-Identifier: MIT
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "ch_batch.h"
#include "ch_spool.h"

#define SUFFIX ".batch"

static void name_of(uint64_t seq, char *buf, size_t len)
{
	snprintf(buf, len, "%020" PRIu64 SUFFIX, seq);
}

/* "NNNN...N.batch": 20 digits and the suffix, nothing else. */
static bool parse_name(const char *name, uint64_t *seq)
{
	char *end;

	if (strlen(name) != 20 + strlen(SUFFIX) ||
	    strspn(name, "0123456789") != 20 || strcmp(name + 20, SUFFIX))
		return false;
	*seq = strtoull(name, &end, 10);
	return end == name + 20;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct ch_spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int ch_spool__list(int dirfd, struct ch_spool_entry **out, size_t *n)
{
	struct ch_spool_entry *v = NULL, *nv;
	size_t len = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	int fd = dup(dirfd), err = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	while (!err && (de = readdir(d))) {
		uint64_t seq;

		if (!strncmp(de->d_name, ".tmp-", 5)) {
			unlinkat(dirfd, de->d_name, 0);
			continue;
		}
		if (!parse_name(de->d_name, &seq) ||
		    fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ||
		    !S_ISREG(st.st_mode))
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				break;
			}
			v = nv;
		}
		v[len++] = (struct ch_spool_entry){ seq, (uint64_t)st.st_size };
	}
	closedir(d);
	if (err) {
		free(v);
		return err;
	}
	if (len)
		qsort(v, len, sizeof(*v), cmp_entry);
	*out = v;
	*n = len;
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int ch_spool__write(int dirfd, uint64_t seq, const void *data, size_t len)
{
	char name[64], tmp[80];
	int fd, err;

	name_of(seq, name, sizeof(name));
	snprintf(tmp, sizeof(tmp), ".tmp-%s", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = write_all(fd, data, len);
	if (!err && fdatasync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
	if (!err && renameat(dirfd, tmp, dirfd, name))
		err = -errno;
	if (err)
		unlinkat(dirfd, tmp, 0);
	return err;
}

int ch_spool__read(int dirfd, uint64_t seq, struct ch_buf *out)
{
	struct ch_batch_view v;
	char name[64];
	struct stat st;
	int fd, err = 0;

	name_of(seq, name, sizeof(name));
	out->len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st))
		err = -errno;
	else if (!S_ISREG(st.st_mode))
		err = -EBADMSG;
	else if ((uint64_t)st.st_size > CH_BATCH_MAX)
		err = -EFBIG;
	while (!err) {
		uint8_t chunk[65536];
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = -errno;
		if (r <= 0)
			break;
		ch_buf__put(out, chunk, (size_t)r);
		err = out->err;
		if (!err && out->len > CH_BATCH_MAX)
			err = -EFBIG;
	}
	close(fd);
	if (!err && (ch_batch__parse(out->data, out->len, &v) || v.total != out->len))
		err = -EBADMSG;
	return err;
}

int ch_spool__remove(int dirfd, uint64_t seq)
{
	char name[64];

	name_of(seq, name, sizeof(name));
	return unlinkat(dirfd, name, 0) ? -errno : 0;
}
