/* SPDX-License-Identifier: MIT */
/* What the process may do: checked before loading, so errors are one line. */
#ifndef SYSSCOPE_PRIVS_H
#define SYSSCOPE_PRIVS_H

#include <stddef.h>

/*
 * Fills missing (e.g. "CAP_BPF, CAP_PERFMON") with the capabilities that
 * loading BPF and opening perf events need but the process lacks. 0 when
 * all are there, -EPERM when some are missing, other -errno on failure.
 */
int privs__check_load(char *missing, size_t len);

/* Same, for reading other processes' maps and files (a warning only). */
int privs__check_read(char *missing, size_t len);

#endif
