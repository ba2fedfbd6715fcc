/* SPDX-License-Identifier: MIT */
/* pprof output (profile.proto, gzip), read by `go tool pprof`. */
#ifndef SYSSCOPE_PPROF_H
#define SYSSCOPE_PPROF_H

#include <stdio.h>
#include "profile.h"

/* gzip-compressed profile.proto, to a stream (a file, an HTTP response). */
int pprof__write(const struct profile *p, const struct profile_meta *m,
		 FILE *f);

#endif
