/* SPDX-License-Identifier: MIT */
/* Folded stacks, the text form flamegraph tools read. */
#ifndef SYSSCOPE_FOLDED_H
#define SYSSCOPE_FOLDED_H

#include <stdio.h>
#include "profile_tree.h"

/* Frame name as written in text outputs: kernel frames get "_[k]". */
int frame__format(const struct profile_frame *fr, char *buf, size_t len);

/*
 * Folded stacks, one line per distinct path: "root;...;leaf N".
 * Semicolons and newlines inside frame names are replaced so lines parse.
 */
int folded__write(const struct profile_tree *t, value_mask_t mask, FILE *f);
/*
 * The same, one line per value type in mask, its leaf frame suffixed with
 * suffix[i] (wall-clock: "_[c]" on-CPU, "_[o]" off-CPU).
 */
int folded__write_split(const struct profile_tree *t, value_mask_t mask,
			const char *const *suffix, FILE *f);

#endif
