// SPDX-License-Identifier: MIT
/* Finding a stripped file's separate debug file (see debug_files.h). */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include "debug_files.h"
#include "elfsyms.h"
#include "inroot.h"

#define DEBUG_DIR "/usr/lib/debug"
/* A debug file is read whole for its CRC: bounded like any tenant file. */
#define CRC_MAX_BYTES (2ull << 30)

static const char *const source_names[DEBUG_SOURCE_MAX] = {
	[DEBUG_NONE] = "own symbols",
	[DEBUG_BUILD_ID] = "debug file by build-id",
	[DEBUG_LINK] = "debug file by debuglink",
	[DEBUG_DEBUGINFOD] = "debug file from debuginfod",
};

const char *debug_source__name(enum debug_source how)
{
	return how < DEBUG_SOURCE_MAX ? source_names[how] : "?";
}

/* CRC-32 (zlib's, as .gnu_debuglink uses) of the whole file at fd. */
static int file_crc(int fd, uint32_t *crc)
{
	unsigned char buf[65536];
	uint64_t total = 0;
	uLong c = crc32(0L, Z_NULL, 0);
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), (off_t)total)) > 0) {
		c = crc32(c, buf, (uInt)n);
		total += (uint64_t)n;
		if (total > CRC_MAX_BYTES)
			return -EFBIG;
	}
	if (n < 0)
		return -errno;
	*crc = (uint32_t)c;
	return 0;
}

static bool same_build_id(const struct elf_symtab *a, const struct elf_symtab *b)
{
	size_t la, lb;
	const uint8_t *ia = elf_symtab__build_id(a, &la);
	const uint8_t *ib = elf_symtab__build_id(b, &lb);

	/* A debug file without a build-id is taken on the CRC's word. */
	return !la || !lb || (la == lb && !memcmp(ia, ib, la));
}

/* The symbols of the file at fd, if it is s's debug file (has a .symtab). */
static struct elf_symtab *load_matching(int fd, const struct elf_symtab *s)
{
	struct elf_symtab *d = elf_symtab__load(fd);

	if (d && (!elf_symtab__has_symtab(d) || !same_build_id(s, d))) {
		elf_symtab__free(d);
		errno = ENOENT;
		d = NULL;
	}
	return d;
}

/*
 * The symbols of the file at path inside root_fd, if it is s's debug
 * file: the same build-id, the CRC when one is given, and a .symtab.
 */
static struct elf_symtab *try_load(int root_fd, const char *path,
				   const struct elf_symtab *s, const uint32_t *crc)
{
	struct elf_symtab *d = NULL;
	uint32_t got = 0;
	int fd;

	if (root_fd < 0)
		return NULL;
	fd = inroot__open_read(root_fd, path, 0);
	if (fd < 0)
		return NULL;
	if (!crc || (!file_crc(fd, &got) && got == *crc))
		d = load_matching(fd, s);
	close(fd);
	return d;
}

static struct elf_symtab *by_build_id(int root_fd, const struct elf_symtab *s)
{
	char path[PATH_MAX], *p = path;
	const uint8_t *id;
	size_t len;

	id = elf_symtab__build_id(s, &len);
	if (len < 2)
		return NULL;
	p += snprintf(p, sizeof(path), DEBUG_DIR "/.build-id/%02x/", id[0]);
	for (size_t i = 1; i < len; i++)
		p += snprintf(p, 3, "%02x", id[i]);
	snprintf(p, sizeof(path) - (size_t)(p - path), ".debug");
	return try_load(root_fd, path, s, NULL);
}

static struct elf_symtab *by_debuglink(int root_fd, const char *path,
				       const struct elf_symtab *s)
{
	char dir[PATH_MAX], cand[PATH_MAX * 2];
	const char *slash = strrchr(path, '/'), *link;
	static const char *const places[] = { "%s/%s", "%s/.debug/%s",
					      DEBUG_DIR "%s/%s" };
	struct elf_symtab *d = NULL;
	uint32_t crc;

	link = elf_symtab__debuglink(s, &crc);
	if (!link || !slash || path[0] != '/')
		return NULL;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]) && !d; i++) {
		snprintf(cand, sizeof(cand), places[i], dir, link);
		/* The file itself, when its debuglink names its own name. */
		if (strcmp(cand, path))
			d = try_load(root_fd, cand, s, &crc);
	}
	return d;
}

struct elf_symtab *debug_file__load(int root_fd, int host_root_fd,
				    const char *path, const struct elf_symtab *s,
				    enum debug_source *how)
{
	const int roots[2] = { root_fd, host_root_fd };
	struct elf_symtab *d = NULL;

	*how = DEBUG_NONE;
	for (int i = 0; i < 2 && !d; i++) {
		d = by_build_id(roots[i], s);
		if (d) {
			*how = DEBUG_BUILD_ID;
			break;
		}
		d = by_debuglink(roots[i], path, s);
		if (d)
			*how = DEBUG_LINK;
	}
	if (!d)
		errno = ENOENT;
	return d;
}

struct elf_symtab *debug_file__load_fd(int fd, const struct elf_symtab *s,
				       enum debug_source *how)
{
	struct elf_symtab *d;
	size_t len = 0;

	*how = DEBUG_NONE;
	/* Only the build-id, on both sides, says a fetched file is s's. */
	elf_symtab__build_id(s, &len);
	d = len ? load_matching(fd, s) : NULL;
	if (d && (elf_symtab__build_id(d, &len), !len)) {
		elf_symtab__free(d);
		d = NULL;
	}
	if (d)
		*how = DEBUG_DEBUGINFOD;
	else if (!len)
		errno = ENOENT;
	return d;
}
