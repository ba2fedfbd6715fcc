/* SPDX-License-Identifier: MIT */
/*
 * Python frames in user space: which processes run an interpreter (told to
 * BPF with the unwinder's mappings), and the names of the frames BPF
 * walked, read from their code objects in the process's memory
 * (/proc/PID/mem, read-only, which the sandbox allows with
 * CAP_SYS_PTRACE): "function (file.py:LINE)", the qualified name on 3.11+
 * (co_name before).
 */
#ifndef SYSSCOPE_PYTHON_FRAMES_H
#define SYSSCOPE_PYTHON_FRAMES_H

#include <stdbool.h>
#include <stdint.h>
#include "python_layout.h"

struct python;

struct python_stats {
	uint64_t interpreters;		/* files with an interpreter walked */
	uint64_t interpreters_unsupported;	/* older than 3.8, or unknown */
	uint64_t processes;		/* processes given to BPF */
	uint64_t code_read;		/* code objects read and named */
	uint64_t code_unreadable;	/* code objects not read: unnamed */
	uint64_t frames_unplaced;	/* no eval-loop frame to put them in */
};

/* proc_root: "/proc", or the host's in a pod. NULL and errno on failure. */
struct python *python__new(const char *proc_root);
void python__free(struct python *py);

/* The interpreter in the ELF file at fd, or NULL (none, or not walked). */
struct py_file *python__file(struct python *py, int fd);
void python__file_free(struct py_file *f);

/*
 * pid maps f's file at start, file offset pgoff: *out is what BPF needs.
 * false when the mapping does not hold _PyRuntime's segment.
 */
bool python__process(struct python *py, uint32_t pid, const struct py_file *f,
		     uint64_t start, uint64_t pgoff, struct py_proc *out);
void python__drop_process(struct python *py, uint32_t pid);

/* A Python frame named: strings live until the next call. */
struct py_frame_name {
	char name[640];			/* "qualname (file.py:LINE)" */
	const char *file;		/* co_filename; NULL: unread */
	uint32_t line, start_line;
};

/* Names frame word w (bpf/python.h) of pid's stack; 0 or -errno. */
int python__name(struct python *py, uint32_t pid, uint64_t w,
		 struct py_frame_name *out);

void python__count_unplaced(struct python *py, uint64_t n);
const struct python_stats *python__stats(const struct python *py);

#endif
