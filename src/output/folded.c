// SPDX-License-Identifier: MIT
/* Folded stacks ("a;b;c 12"), the format flamegraph.pl, speedscope and inferno read. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "folded.h"

int frame__format(const struct profile_frame *fr, char *buf, size_t len)
{
	const char *suffix = fr->kind == FRAME_KERNEL ? "_[k]" : "";
	int n = snprintf(buf, len, "%s%s", fr->name, suffix);

	if (n < 0)
		return -EINVAL;
	return (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Frame names come from untrusted binaries: keep each line parseable. */
static void fputs_folded(const char *s, FILE *f)
{
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == ';' || c == '\n' || c == '\r')
			c = '_';
		else if (c == ' ' && !s[1])
			c = '_';	/* a trailing space would merge with the count */
		fputc(c, f);
	}
}

struct folded_walk {
	const struct profile *p;
	value_mask_t mask;
	const char *const *suffix;	/* NULL: one line with the sum */
	FILE *f;
	const struct profile_node **path;
	size_t depth;
};

static void write_path(struct folded_walk *w, uint64_t count,
		       const char *suffix)
{
	char name[4096];

	for (size_t i = 0; i < w->depth; i++) {
		const struct profile_frame *fr =
			profile__frame_at(w->p, w->path[i]->frame);

		if (frame__format(fr, name, sizeof(name)))
			snprintf(name, sizeof(name), "%.4000s", fr->name);
		if (i)
			fputc(';', w->f);
		fputs_folded(name, w->f);
	}
	fprintf(w->f, "%s %llu\n", suffix, (unsigned long long)count);
}

static void walk(struct folded_walk *w, const struct profile_node *n,
		 size_t depth)
{
	uint64_t self = values_sum(n->self, w->mask);

	if (depth)
		w->path[depth - 1] = n;
	w->depth = depth;
	for (int i = 0; w->suffix && depth && i < PROFILE_MAX_VALUES; i++)
		if ((w->mask & (1u << i)) && n->self[i])
			write_path(w, n->self[i], w->suffix[i] ? w->suffix[i] : "");
	if (!w->suffix && self && depth)
		write_path(w, self, "");
	for (uint32_t i = 0; i < n->nchildren; i++)
		walk(w, n->children[i], depth + 1);
}

static size_t tree_depth(const struct profile_node *n)
{
	size_t max = 0;

	for (uint32_t i = 0; i < n->nchildren; i++) {
		size_t d = tree_depth(n->children[i]);

		if (d > max)
			max = d;
	}
	return max + 1;
}

int folded__write(const struct profile_tree *t, value_mask_t mask, FILE *f)
{
	return folded__write_split(t, mask, NULL, f);
}

int folded__write_split(const struct profile_tree *t, value_mask_t mask,
			const char *const *suffix, FILE *f)
{
	struct folded_walk w = {
		.p = t->profile, .mask = mask, .suffix = suffix, .f = f,
	};
	const struct profile_node *path[1024];

	if (tree_depth(t->root) > sizeof(path) / sizeof(path[0]))
		return -E2BIG;
	w.path = path;
	walk(&w, t->root, 0);
	return ferror(f) ? -EIO : 0;
}
