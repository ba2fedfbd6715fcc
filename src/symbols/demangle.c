// SPDX-License-Identifier: MIT
/* Demangling: Rust's own, then libstdc++'s (see demangle.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "demangle.h"
#include "demangle_rust.h"

/* libstdc++'s, declared extern "C" in <cxxabi.h>. */
char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status);

/*
 * Names come from tenants' files: a longer one is not worth the
 * demangler's time (its recursion is bounded, its work grows with length).
 */
#define DEMANGLE_MAX_IN 4096

bool demangle(const char *name, char *out, size_t len)
{
	char *d;
	int status = -1;
	int err = demangle_rust(name, out, len);

	/* A legacy Rust name it refuses may still be C++'s. */
	if (!err || (err == -ENOSPC && len))
		return true;
	if (strncmp(name, "_Z", 2) || strnlen(name, DEMANGLE_MAX_IN) == DEMANGLE_MAX_IN)
		return false;
	d = __cxa_demangle(name, NULL, NULL, &status);
	if (!d || status) {
		free(d);
		return false;
	}
	snprintf(out, len, "%s", d);
	free(d);
	return true;
}
