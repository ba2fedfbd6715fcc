/* SPDX-License-Identifier: MIT */
/*
 * What the BPF programs need of the kernel, checked before loading them:
 * on a kernel that lacks it, one clear line instead of a verifier log.
 */
#ifndef SYSSCOPE_KERNEL_CHECK_H
#define SYSSCOPE_KERNEL_CHECK_H

/*
 * 0 when the kernel has BTF and every BPF helper the programs call; else
 * the first thing missing is logged (with the Linux version that added
 * it) and -EOPNOTSUPP returned.
 */
int kernel_check(void);

#endif
