/* SPDX-License-Identifier: MIT */
/* Least privilege for the run phase: capabilities, no_new_privs, seccomp. */
#ifndef SYSSCOPE_SANDBOX_H
#define SYSSCOPE_SANDBOX_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

/*
 * --user: gives dir (the output folder, just made by root) to uid:gid, so
 * that outputs can be written there after sandbox__switch_user(). Only a
 * directory that is empty and owned by the caller's euid is changed (never
 * a symlink); one already owned by uid is left as it is. 0, -ENOTDIR,
 * -EPERM (neither ours and empty nor uid's), or -errno. Call it before
 * sandbox__switch_user() and only on a directory that did not exist before
 * this run: an empty folder someone else made would be handed over too.
 */
int sandbox__give_dir(const char *dir, uid_t uid, gid_t gid);

/*
 * --user: switches every uid to uid and every gid to gid, with no
 * supplementary groups, keeping the capabilities: permitted as it was,
 * effective raised again (the kernel clears it when euid leaves 0). Call it
 * after loading, and just before sandbox__drop_privileges(), which then
 * narrows both sets to the reading capabilities. The process must still
 * be single-threaded (capabilities are per thread). 0 or -errno; on an
 * error the process may be half switched and should exit.
 */
int sandbox__switch_user(uid_t uid, gid_t gid);

/*
 * Keeps CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE in
 * the effective, permitted and bounding sets, drops every other (and the
 * ambient set), sets no_new_privs. CAP_BPF is kept only if reading
 * probe_map_fd fails without it (*kept_bpf). 0 or -errno.
 */
int sandbox__drop_privileges(int probe_map_fd, bool *kept_bpf);

/*
 * The seccomp allow-list; denied calls fail with EPERM. server: the
 * agent's HTTP thread; fetcher: receiving debug files from the debuginfod
 * helper (fetcher.h). 0 or -errno.
 */
int sandbox__install_seccomp(bool server, bool fetcher);

/*
 * One line, "sandbox status: Seccomp 2, NoNewPrivs 1, CapEff ..., CapPrm
 * ..., CapBnd ...", as /proc/self/status shows this thread (tests).
 */
void sandbox__print_status(FILE *out);

/* Tries what the sandbox forbids; 0 if every call was denied. */
int sandbox__selftest(FILE *out);

#endif
