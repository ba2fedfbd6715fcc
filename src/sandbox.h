/* SPDX-License-Identifier: MIT */
/* Least privilege for the run phase: capabilities, no_new_privs, seccomp. */
#ifndef SYSSCOPE_SANDBOX_H
#define SYSSCOPE_SANDBOX_H

#include <stdbool.h>
#include <stdio.h>

/*
 * Keeps CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_CHECKPOINT_RESTORE in
 * the effective, permitted and bounding sets, drops every other (and the
 * ambient set), sets no_new_privs. CAP_BPF is kept only if reading
 * probe_map_fd fails without it (*kept_bpf). 0 or -errno.
 */
int sandbox__drop_privileges(int probe_map_fd, bool *kept_bpf);

/* The seccomp allow-list; denied calls fail with EPERM. 0 or -errno. */
int sandbox__install_seccomp(void);

/* Tries what the sandbox forbids; 0 if every call was denied. */
int sandbox__selftest(FILE *out);

#endif
