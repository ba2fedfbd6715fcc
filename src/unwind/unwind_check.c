// SPDX-License-Identifier: MIT
/*
 * Walks a copied user stack with libdwfl and compares it with the BPF
 * walk (see unwind_check.h). libdwfl reads the process's modules from
 * /proc/PID/maps itself and the registers and stack from the sample, through
 * our own thread callbacks (dwfl_attach_state): no ptrace, no stop.
 *
 * Frames deeper than the 16 KiB copy (whole pages from rsp's) are out of
 * libdw's reach: only the frames both walks have are compared.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <elfutils/libdwfl.h>
#include <linux/types.h>
#include "unwind.h"
#include "unwind_check.h"

#define MAX_FRAMES 127

struct unwind_check {
	size_t max_samples;
	struct unwind_check_stats stats;
};

/* One sample being walked: what the callbacks see. */
struct walk {
	const struct unwind_sample *s;
	bool thread_given;
	uint64_t pcs[MAX_FRAMES];
	uint32_t n;
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	struct walk *w = arg;

	(void)dwfl;
	if (w->thread_given)
		return 0;
	w->thread_given = true;
	*thread_argp = w;
	return (pid_t)w->s->tid;
}

/* Only the copied stack is readable: the walk stops past it. */
static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result,
			void *arg)
{
	const struct unwind_sample *s = ((struct walk *)arg)->s;
	uint64_t base = s->stack_addr;

	uint64_t off = addr - base;

	(void)dwfl;
	if (addr < base || off > s->stack_len ||
	    s->stack_len - off < sizeof(*result) ||
	    (s->pages_missing & (1u << (off / UNWIND_COPY_CHUNK))) ||
	    (s->pages_missing &
	     (1u << ((off + sizeof(*result) - 1) / UNWIND_COPY_CHUNK))))
		return false;
	memcpy(result, s->stack + off, sizeof(*result));
	return true;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *arg)
{
	const struct unwind_sample *s = ((struct walk *)arg)->s;
	Dwarf_Word regs[17];

	for (int i = 0; i < 17; i++)
		regs[i] = s->regs[i];
	return dwfl_thread_state_registers(thread, 0, 17, regs);
}

static const Dwfl_Thread_Callbacks thread_callbacks = {
	.next_thread = next_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static int on_frame(Dwfl_Frame *frame, void *arg)
{
	struct walk *w = arg;
	Dwarf_Addr pc;

	if (!dwfl_frame_pc(frame, &pc, NULL) || w->n == MAX_FRAMES)
		return DWARF_CB_ABORT;
	w->pcs[w->n++] = pc;
	return DWARF_CB_OK;
}

static char *debuginfo_path;

static const Dwfl_Callbacks callbacks = {
	.find_elf = dwfl_linux_proc_find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

/* libdw's frames of s into w; 0 or -errno. */
static int walk_with_libdw(struct walk *w)
{
	Dwfl *dwfl = dwfl_begin(&callbacks);
	int err = -ESRCH;

	if (!dwfl)
		return -ENOMEM;
	if (dwfl_linux_proc_report(dwfl, (pid_t)w->s->pid) ||
	    dwfl_report_end(dwfl, NULL, NULL))
		goto out;
	if (!dwfl_attach_state(dwfl, NULL, (pid_t)w->s->pid,
			       &thread_callbacks, w))
		goto out;
	/* It ends with an error where the copy ends: frames so far count. */
	dwfl_getthread_frames(dwfl, (pid_t)w->s->tid, on_frame, w);
	err = w->n ? 0 : -ENOENT;
out:
	dwfl_end(dwfl);
	return err;
}

/* The walk's native frames: Python frames (bpf/python.h) come after. */
static uint32_t native_ips(const struct unwind_sample *s)
{
	uint32_t n = 0;

	while (n < s->nips && n < MAX_FRAMES && !PY_FRAME_IS(s->ips[n]))
		n++;
	return n;
}

static void compare(struct unwind_check *c, const struct unwind_sample *s,
		    const struct walk *w)
{
	uint32_t nips = native_ips(s), n = nips < w->n ? nips : w->n, same = 0;

	for (uint32_t i = 0; i < n && i < MAX_FRAMES; i++)
		same += s->ips[i] == w->pcs[i];
	c->stats.samples++;
	c->stats.frames += n;
	c->stats.frames_agree += same;
	c->stats.samples_agree += same == n;
	c->stats.bpf_shorter += nips < w->n;
	c->stats.libdw_one_frame += w->n == 1;
}

int unwind_check__on_sample(void *ctx, void *data, size_t len)
{
	struct unwind_check *c = ctx;
	struct walk w = { .s = data };

	if (len < sizeof(*w.s) || w.s->stack_len > UNWIND_COPY_BYTES ||
	    w.s->nips > MAX_FRAMES)
		return 0;
	if (c->stats.samples + c->stats.samples_failed >= c->max_samples) {
		c->stats.samples_skipped++;
		return 0;
	}
	/* rsp's own page missing: nothing to walk. */
	c->stats.stack_not_copied += w.s->stack_len < sizeof(uint64_t) ||
				     (w.s->pages_missing & 1);
	if (walk_with_libdw(&w))
		c->stats.samples_failed++;
	else
		compare(c, w.s, &w);
	return 0;
}

struct unwind_check *unwind_check__new(const char *proc_root,
				       size_t max_samples)
{
	struct unwind_check *c = calloc(1, sizeof(*c));

	/* libdwfl reads /proc itself: only the host's procfs works. */
	if (c && strcmp(proc_root, "/proc")) {
		free(c);
		errno = ENOTSUP;
		return NULL;
	}
	if (c)
		c->max_samples = max_samples;
	return c;
}

void unwind_check__free(struct unwind_check *c)
{
	free(c);
}

const struct unwind_check_stats *unwind_check__stats(const struct unwind_check *c)
{
	return &c->stats;
}
