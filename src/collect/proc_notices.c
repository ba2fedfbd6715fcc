// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>
#include <linux/types.h>
#include <bpf/libbpf.h>
#include "proc_notice.h"
#include "proc_notices.h"
#include "resolver.h"
#include "symbolize.h"

struct proc_notices {
	struct ring_buffer *rb;
	struct symbolizer *sym;
	struct resolver *res;
	uint64_t count;
	uint64_t remaps;
	uint64_t exits;
};

int proc_notice_maps__reuse(const struct proc_notice_maps *m,
			    struct bpf_map *noticed, struct bpf_map *ring,
			    struct bpf_program *exec_hook,
			    struct bpf_program *exit_hook)
{
	int err = bpf_map__reuse_fd(noticed, m->noticed_fd);

	err = err ?: bpf_map__reuse_fd(ring, m->ring_fd);
	/* The owner's hooks already tell of execs and exits. */
	err = err ?: bpf_program__set_autoload(exec_hook, false);
	return err ?: bpf_program__set_autoload(exit_hook, false);
}

static int on_notice(void *ctx, void *data, size_t len)
{
	struct proc_notices *pn = ctx;
	const struct proc_notice *e = data;

	if (len < sizeof(*e))
		return 0;
	/* Its maps stay aside for its samples; its pid may come back. */
	if (e->flags & PROC_NOTICE_EXIT) {
		pn->exits++;
		symbolizer__process_exited(pn->sym, e->tgid, e->start_ns);
		return 0;
	}
	/* Its maps are the old program's: read them again when needed. */
	if (e->flags & PROC_NOTICE_EXEC) {
		symbolizer__forget_process(pn->sym, e->tgid);
		return 0;
	}
	/* It mapped code since: read its maps again (and its tables). */
	if (e->flags & PROC_NOTICE_REMAP) {
		pn->remaps++;
		symbolizer__notice_process(pn->sym, e->tgid, e->start_ns);
		return 0;
	}
	pn->count++;
	/* Read its maps and its container now: they may be gone at the end. */
	symbolizer__notice_process(pn->sym, e->tgid, e->start_ns);
	if (pn->res)
		resolver__get(pn->res, e->cgroup_id);
	return 0;
}

struct proc_notices *proc_notices__new(int ring_fd, struct symbolizer *sym,
				       struct resolver *res)
{
	struct proc_notices *pn = calloc(1, sizeof(*pn));

	if (!pn)
		return NULL;
	pn->sym = sym;
	pn->res = res;
	pn->rb = ring_buffer__new(ring_fd, on_notice, pn, NULL);
	if (!pn->rb) {
		free(pn);
		return NULL;	/* errno set by libbpf */
	}
	return pn;
}

int proc_notices__add_ring(struct proc_notices *pn, int fd,
			   int (*fn)(void *ctx, void *data, size_t len),
			   void *ctx)
{
	return ring_buffer__add(pn->rb, fd, fn, ctx);
}

int proc_notices__poll(struct proc_notices *pn, int timeout_ms)
{
	int n = ring_buffer__poll(pn->rb, timeout_ms);

	return n < 0 ? n : 0;
}

void proc_notices__drain(struct proc_notices *pn)
{
	ring_buffer__consume(pn->rb);
}

uint64_t proc_notices__count(const struct proc_notices *pn)
{
	return pn ? pn->count : 0;
}

uint64_t proc_notices__remaps(const struct proc_notices *pn)
{
	return pn ? pn->remaps : 0;
}

uint64_t proc_notices__exits(const struct proc_notices *pn)
{
	return pn ? pn->exits : 0;
}

void proc_notices__free(struct proc_notices *pn)
{
	if (!pn)
		return;
	ring_buffer__free(pn->rb);
	free(pn);
}
