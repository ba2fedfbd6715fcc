// SPDX-License-Identifier: MIT
/* A slim, zero-padded in-memory ELF of a file's DWARF (dwarf_image.h). */
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include "dwarf_image.h"

#define PAD 64			/* zero bytes after each part */
#define NAMES_MAX ((size_t)16 << 20)	/* section names */

/* The sections libdw reads for units, scopes, names and lines. */
static const char *const wanted[] = {
	".debug_info", ".debug_abbrev", ".debug_line", ".debug_line_str",
	".debug_str", ".debug_str_offsets", ".debug_addr", ".debug_ranges",
	".debug_rnglists",
};

struct image {
	char *buf;
	size_t len, cap;
};

/* Room for n bytes and PAD zeros at the end: their offset, or -errno. */
static int64_t image_grow(struct image *im, size_t n)
{
	size_t at = im->len, need;

	if (n > DWARF_IMAGE_MAX || im->len + n + PAD > DWARF_IMAGE_MAX)
		return -EFBIG;
	need = im->len + n + PAD;
	if (need > im->cap) {
		size_t cap = im->cap * 2 > need ? im->cap * 2 : need;
		char *b = realloc(im->buf, cap);

		if (!b)
			return -ENOMEM;
		im->buf = b;
		im->cap = cap;
	}
	memset(im->buf + at + n, 0, PAD);
	im->len = need;
	return (int64_t)at;
}

/* Exactly n bytes of fd at off; -EINVAL when the file is shorter. */
static int read_at(int fd, void *dst, size_t n, uint64_t off)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = pread(fd, (char *)dst + done, n - done,
				  (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EINVAL;
		done += (size_t)r;
	}
	return 0;
}

/* A zlib section (Chdr, then the stream) inflated at the image's end. */
static int64_t append_inflated(int fd, struct image *im, const Elf64_Shdr *sh)
{
	Elf64_Chdr ch;
	int64_t at = -EINVAL;
	uLongf out;
	char *z;
	int err;

	if (sh->sh_size < sizeof(ch) || sh->sh_size > DWARF_IMAGE_MAX)
		return sh->sh_size < sizeof(ch) ? -EINVAL : -EFBIG;
	z = malloc(sh->sh_size);
	if (!z)
		return -ENOMEM;
	err = read_at(fd, z, sh->sh_size, sh->sh_offset);
	if (err) {
		free(z);
		return err;
	}
	memcpy(&ch, z, sizeof(ch));
	if (ch.ch_type == ELFCOMPRESS_ZLIB && ch.ch_size <= DWARF_IMAGE_MAX)
		at = image_grow(im, ch.ch_size);
	out = (uLongf)ch.ch_size;
	if (at >= 0 &&
	    (uncompress((Bytef *)im->buf + at, &out, (const Bytef *)z + sizeof(ch),
			(uLong)(sh->sh_size - sizeof(ch))) != Z_OK ||
	     out != ch.ch_size))
		at = -EINVAL;
	free(z);
	return at;
}

/* Section sh's bytes at the image's end; *sh made to point there. */
static int append_section(int fd, struct image *im, Elf64_Shdr *sh,
			  uint64_t file_size)
{
	int64_t at;
	int err;

	if (sh->sh_offset > file_size || sh->sh_size > file_size - sh->sh_offset)
		return -EINVAL;
	if (sh->sh_flags & SHF_COMPRESSED) {
		at = append_inflated(fd, im, sh);
		if (at < 0)
			return (int)at;
	} else {
		at = image_grow(im, sh->sh_size);
		if (at < 0)
			return (int)at;
		err = read_at(fd, im->buf + at, sh->sh_size, sh->sh_offset);
		if (err)
			return err;
	}
	sh->sh_offset = (uint64_t)at;
	sh->sh_size = im->len - PAD - (size_t)at;
	sh->sh_flags &= ~(uint64_t)SHF_COMPRESSED;
	return 0;
}

static bool is_wanted(const char *names, size_t size, uint32_t name)
{
	size_t n;

	if (name >= size)
		return false;
	n = strnlen(names + name, size - name);
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++)
		if (n == strlen(wanted[i]) && !memcmp(names + name, wanted[i], n))
			return true;
	return false;
}

static int check_ehdr(const Elf64_Ehdr *eh, uint64_t file_size)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ?
				     ELFDATA2LSB : ELFDATA2MSB) ||
	    (eh->e_type != ET_EXEC && eh->e_type != ET_DYN))
		return -ENODATA;
	/* No extended numbering: 65279 sections are plenty for DWARF. */
	if (eh->e_shentsize != sizeof(Elf64_Shdr) || !eh->e_shnum ||
	    eh->e_shnum >= SHN_LORESERVE || eh->e_shstrndx >= eh->e_shnum ||
	    eh->e_shoff > file_size ||
	    (file_size - eh->e_shoff) / sizeof(Elf64_Shdr) < eh->e_shnum)
		return -EINVAL;
	return 0;
}

/* The header and section headers, copied and made to fit the image. */
static int build(int fd, uint64_t file_size, struct image *im)
{
	const size_t shdrs = sizeof(Elf64_Ehdr);
	Elf64_Ehdr eh;
	Elf64_Shdr sh, str;
	size_t names;
	bool has_info = false;
	int64_t at;
	int err;

	if (file_size < sizeof(eh))
		return -ENODATA;
	err = read_at(fd, &eh, sizeof(eh), 0);
	err = err ?: check_ehdr(&eh, file_size);
	if (err)
		return err;
	at = image_grow(im, shdrs + eh.e_shnum * sizeof(sh));
	if (at < 0)
		return (int)at;
	err = read_at(fd, im->buf + shdrs, eh.e_shnum * sizeof(sh), eh.e_shoff);
	if (err)
		return err;
	memcpy(&str, im->buf + shdrs + eh.e_shstrndx * sizeof(sh), sizeof(str));
	if (str.sh_type != SHT_STRTAB || !str.sh_size || str.sh_size > NAMES_MAX)
		return -EINVAL;
	err = append_section(fd, im, &str, file_size);
	if (err)
		return err;
	memcpy(im->buf + shdrs + eh.e_shstrndx * sizeof(sh), &str, sizeof(str));
	names = str.sh_offset;
	for (size_t i = 1; i < eh.e_shnum; i++) {
		size_t at_sh = shdrs + i * sizeof(sh);

		if (i == eh.e_shstrndx)
			continue;
		memcpy(&sh, im->buf + at_sh, sizeof(sh));
		if (sh.sh_type == SHT_PROGBITS &&
		    is_wanted(im->buf + names, str.sh_size, sh.sh_name)) {
			err = append_section(fd, im, &sh, file_size);
			if (err)
				return err;
			has_info |= !strcmp(im->buf + names + sh.sh_name,
					    ".debug_info");
		} else if (sh.sh_type != SHT_NULL) {
			sh.sh_type = SHT_NOBITS;	/* not read, not held */
			sh.sh_offset = 0;
		}
		memcpy(im->buf + at_sh, &sh, sizeof(sh));
	}
	if (!has_info)
		return -ENODATA;
	eh.e_phoff = 0;
	eh.e_phnum = 0;
	eh.e_shoff = shdrs;
	memcpy(im->buf, &eh, sizeof(eh));
	return 0;
}

int dwarf_image__read(int fd, char **image, size_t *len)
{
	struct image im = { 0 };
	struct stat st;
	int err;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -ENODATA;
	err = build(fd, (uint64_t)st.st_size, &im);
	if (err) {
		free(im.buf);
		return err;
	}
	*image = im.buf;
	*len = im.len;
	return 0;
}
