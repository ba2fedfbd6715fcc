// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "python_frames.h"
#include "python_lines.h"

/* Code objects named, at most, and the bytes they may hold. */
#define CODE_SLOTS 8192			/* a power of two */
#define CODE_BYTES_MAX (8u << 20)
#define LINETABLE_MAX 4096
#define STR_MAX 256
#define PROCS_MAX 4096

struct code_name {
	uint32_t pid;
	uint64_t addr;			/* 0: slot free */
	char *qualname, *filename;	/* NULL: unreadable */
	uint32_t firstlineno;
	uint8_t *linetable;
	uint32_t linetable_len;
};

struct py_proc_entry {
	uint32_t pid;
	uint16_t version;		/* which line table format */
	struct py_code_layout code;
};

struct python {
	char proc_root[PATH_MAX];
	struct code_name *codes;	/* CODE_SLOTS, open addressing */
	size_t code_bytes;
	struct py_proc_entry *procs;	/* unsorted; few */
	size_t nprocs;
	struct python_stats stats;
};

struct python *python__new(const char *proc_root)
{
	struct python *py = calloc(1, sizeof(*py));

	if (!py)
		return NULL;
	snprintf(py->proc_root, sizeof(py->proc_root), "%s", proc_root);
	py->codes = calloc(CODE_SLOTS, sizeof(*py->codes));
	py->procs = calloc(PROCS_MAX, sizeof(*py->procs));
	if (!py->codes || !py->procs) {
		python__free(py);
		errno = ENOMEM;
		return NULL;
	}
	return py;
}

static void code_clear(struct code_name *c)
{
	free(c->qualname);
	free(c->filename);
	free(c->linetable);
	memset(c, 0, sizeof(*c));
}

static void codes_clear(struct python *py)
{
	for (size_t i = 0; i < CODE_SLOTS; i++)
		if (py->codes[i].addr)
			code_clear(&py->codes[i]);
	py->code_bytes = 0;
}

void python__free(struct python *py)
{
	if (!py)
		return;
	if (py->codes)
		codes_clear(py);
	free(py->codes);
	free(py->procs);
	free(py);
}

struct py_file *python__file(struct python *py, int fd)
{
	struct py_file *f = malloc(sizeof(*f));
	int err;

	if (!f)
		return NULL;
	err = py_file__read(fd, f);
	if (!err) {
		py->stats.interpreters++;
		return f;
	}
	if (err == -ENOTSUP)
		py->stats.interpreters_unsupported++;
	free(f);
	return NULL;
}

void python__file_free(struct py_file *f)
{
	free(f);
}

static struct py_proc_entry *proc_find(struct python *py, uint32_t pid)
{
	for (size_t i = 0; i < py->nprocs; i++)
		if (py->procs[i].pid == pid)
			return &py->procs[i];
	return NULL;
}

bool python__process(struct python *py, uint32_t pid, const struct py_file *f,
		     uint64_t start, uint64_t pgoff, struct py_proc *out)
{
	struct py_proc_entry *e;
	uint64_t bias;

	if (!elf_loads__bias(&f->loads, start, pgoff, &bias))
		return false;
	e = proc_find(py, pid);
	if (!e && py->nprocs < PROCS_MAX)
		e = &py->procs[py->nprocs++];
	if (!e)
		return false;	/* its frames would go unnamed */
	e->pid = pid;
	e->version = f->version;
	e->code = f->code;
	*out = (struct py_proc){ .runtime = f->runtime_vaddr + bias,
				 .l = f->l, .version = f->version };
	py->stats.processes++;
	return true;
}

void python__drop_process(struct python *py, uint32_t pid)
{
	struct py_proc_entry *e = proc_find(py, pid);

	if (!e)
		return;
	*e = py->procs[--py->nprocs];
	/* Its code objects' addresses may be another process's next. */
	for (size_t i = 0; i < CODE_SLOTS; i++)
		if (py->codes[i].addr && py->codes[i].pid == pid)
			code_clear(&py->codes[i]);
}

/* ---- reading the process ---- */

static bool mem_read(int fd, uint64_t addr, void *buf, size_t len)
{
	return addr && pread(fd, buf, len, (off_t)addr) == (ssize_t)len;
}

static uint64_t u64_at(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Printable: the name comes from another process's memory. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

/*
 * A str object, as UTF-8 (at most STR_MAX bytes): compact ASCII, or
 * compact Latin-1; other kinds are not read. NULL when unreadable.
 */
static char *read_str(int fd, uint64_t addr, const struct py_code_layout *cl)
{
	uint8_t hdr[40], raw[STR_MAX];
	uint32_t state, kind;
	uint64_t len;
	char *out;
	size_t o = 0;

	if (!mem_read(fd, addr, hdr, sizeof(hdr)))
		return NULL;
	len = u64_at(hdr + 16);
	memcpy(&state, hdr + 32, sizeof(state));
	kind = (state >> 2) & 7;
	if (!(state & (1u << 5)) || kind != 1)
		return NULL;	/* not compact, or 2- or 4-byte characters */
	if (len > STR_MAX / 2)
		len = STR_MAX / 2;
	if (!mem_read(fd, addr + (state & (1u << 6) ? cl->ascii_data :
				  cl->compact_data), raw, len))
		return NULL;
	out = malloc(2 * len + 1);
	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		if (raw[i] < 0x80) {
			out[o++] = (char)raw[i];
		} else {
			out[o++] = (char)(0xc0 | raw[i] >> 6);
			out[o++] = (char)(0x80 | (raw[i] & 0x3f));
		}
	}
	out[o] = '\0';
	sanitize(out);
	return out;
}

/* A bytes object's contents (at most LINETABLE_MAX). */
static uint8_t *read_bytes(int fd, uint64_t addr, uint32_t *len)
{
	uint8_t hdr[32], *out;
	uint64_t n;

	if (!mem_read(fd, addr, hdr, sizeof(hdr)))
		return NULL;
	n = u64_at(hdr + 16);
	if (n > LINETABLE_MAX)
		n = LINETABLE_MAX;
	out = malloc(n ? n : 1);
	if (out && !mem_read(fd, addr + 32, out, n)) {
		free(out);
		return NULL;
	}
	*len = (uint32_t)n;
	return out;
}

static int code_read(struct python *py, const struct py_proc_entry *e,
		     uint64_t addr, struct code_name *c)
{
	const struct py_code_layout *cl = &e->code;
	char path[PATH_MAX + 32];
	uint8_t obj[160];
	int32_t first;
	int fd;

	if (cl->qualname > sizeof(obj) - 8 || cl->filename > sizeof(obj) - 8 ||
	    cl->firstlineno > sizeof(obj) - 4 || cl->linetable > sizeof(obj) - 8)
		return -ENOTSUP;
	snprintf(path, sizeof(path), "%s/%u/mem", py->proc_root, e->pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (!mem_read(fd, addr, obj, sizeof(obj))) {
		close(fd);
		return -EFAULT;
	}
	c->pid = e->pid;
	c->addr = addr;
	c->qualname = read_str(fd, u64_at(obj + cl->qualname), cl);
	c->filename = read_str(fd, u64_at(obj + cl->filename), cl);
	memcpy(&first, obj + cl->firstlineno, sizeof(first));
	c->firstlineno = first > 0 ? (uint32_t)first : 0;
	c->linetable = read_bytes(fd, u64_at(obj + cl->linetable),
				  &c->linetable_len);
	close(fd);
	py->code_bytes += 2 * STR_MAX + c->linetable_len + sizeof(*c);
	return c->qualname ? 0 : -EFAULT;
}

static size_t code_slot(uint32_t pid, uint64_t addr)
{
	uint64_t h = (addr ^ ((uint64_t)pid << 40)) * 0x9e3779b97f4a7c15ULL;

	return (size_t)(h >> 40) & (CODE_SLOTS - 1);
}

/* The code object's names, read once; NULL when unreadable. */
static struct code_name *code_get(struct python *py, uint32_t pid,
				  uint64_t addr)
{
	const struct py_proc_entry *e = proc_find(py, pid);
	size_t i = code_slot(pid, addr);
	struct code_name *c;

	if (!e)
		return NULL;
	for (size_t n = 0; n < 16; n++, i = (i + 1) & (CODE_SLOTS - 1)) {
		c = &py->codes[i];
		if (c->addr == addr && c->pid == pid)
			return c->qualname ? c : NULL;
		if (!c->addr)
			break;
	}
	if (py->codes[i].addr || py->code_bytes > CODE_BYTES_MAX) {
		codes_clear(py);	/* full: start again, bounded */
		i = code_slot(pid, addr);
	}
	c = &py->codes[i];
	if (code_read(py, e, addr, c)) {
		py->stats.code_unreadable++;
		c->pid = pid;
		c->addr = addr;		/* remembered as unreadable */
		return NULL;
	}
	py->stats.code_read++;
	return c;
}

int python__name(struct python *py, uint32_t pid, uint64_t w,
		 struct py_frame_name *out)
{
	const struct py_proc_entry *e = proc_find(py, pid);
	const struct code_name *c = code_get(py, pid, PY_FRAME_CODE(w));
	const char *base;

	if (!c) {
		snprintf(out->name, sizeof(out->name), "[python code 0x%llx]",
			 (unsigned long long)PY_FRAME_CODE(w));
		out->file = NULL;
		out->line = out->start_line = 0;
		return -ENOENT;
	}
	out->file = c->filename;
	out->start_line = c->firstlineno;
	out->line = py_code__line(e->version, c->linetable, c->linetable_len,
				  c->firstlineno, (uint32_t)PY_FRAME_INSTR(w));
	base = c->filename ? strrchr(c->filename, '/') : NULL;
	base = base ? base + 1 : c->filename ? c->filename : "?";
	snprintf(out->name, sizeof(out->name), "%s (%s:%u)", c->qualname, base,
		 out->line);
	return 0;
}

void python__count_unplaced(struct python *py, uint64_t n)
{
	py->stats.frames_unplaced += n;
}

const struct python_stats *python__stats(const struct python *py)
{
	return &py->stats;
}
