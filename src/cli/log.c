// SPDX-License-Identifier: MIT
#include <stdarg.h>
#include <stdio.h>
#include "log.h"

int log_verbosity;

static void vlog(const char *level, const char *fmt, va_list ap)
{
	fprintf(stderr, "sysscope: %s", level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

#define DEFINE_LOG(fn, level, min)				\
	void fn(const char *fmt, ...)				\
	{							\
		va_list ap;					\
		if (log_verbosity < (min))			\
			return;					\
		va_start(ap, fmt);				\
		vlog(level, fmt, ap);				\
		va_end(ap);					\
	}

DEFINE_LOG(log_error, "error: ", 0)
DEFINE_LOG(log_warn, "warning: ", 0)
DEFINE_LOG(log_info, "", 0)
DEFINE_LOG(log_debug, "debug: ", 2)
