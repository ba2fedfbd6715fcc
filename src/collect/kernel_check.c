// SPDX-License-Identifier: MIT
#include <errno.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "kernel_check.h"
#include "log.h"

struct needed_helper {
	enum bpf_prog_type type;	/* a program type that calls it */
	enum bpf_func_id id;
	const char *name, *since;
};

/*
 * Probed by loading a one-call program of that type: "unknown func" means
 * the kernel lacks it. bpf_copy_from_user_task is called by a sleepable
 * iterator, a type that cannot be probed: the kprobe probe still tells a
 * missing helper from one only sleepable programs may call.
 */
static const struct needed_helper needed[] = {
	{ BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_task_pt_regs, "bpf_task_pt_regs", "5.15" },
	{ BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, "bpf_loop", "5.17" },
	{ BPF_PROG_TYPE_KPROBE, BPF_FUNC_copy_from_user_task,
	  "bpf_copy_from_user_task", "5.18" },
	{ BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_perf_prog_read_value,
	  "bpf_perf_prog_read_value", "4.15" },
};

static const char *release(struct utsname *u)
{
	return uname(u) ? "?" : u->release;
}

int kernel_check(void)
{
	struct utsname u;

	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		log_error("kernel %s has no BTF (/sys/kernel/btf/vmlinux: %s): sysscope needs a kernel built with CONFIG_DEBUG_INFO_BTF",
			  release(&u), strerror(errno));
		return -EOPNOTSUPP;
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
		const struct needed_helper *h = &needed[i];

		/* < 0: could not tell (e.g. no privilege yet): load decides. */
		if (libbpf_probe_bpf_helper(h->type, h->id, NULL) == 0) {
			log_error("kernel %s lacks the BPF helper %s (Linux %s): sysscope needs Linux 5.18 or later",
				  release(&u), h->name, h->since);
			return -EOPNOTSUPP;
		}
	}
	return 0;
}
