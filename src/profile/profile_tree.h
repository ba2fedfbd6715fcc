/* SPDX-License-Identifier: MIT */
/* The tree view of a profile (a trie of frames) that text and SVG outputs walk. */
#ifndef SYSSCOPE_PROFILE_TREE_H
#define SYSSCOPE_PROFILE_TREE_H

#include "profile.h"

/* The tree view: children of a node are sorted by frame name. */
struct profile_node {
	uint32_t frame;			/* frame id; unused at the root */
	uint64_t total[PROFILE_MAX_VALUES];	/* this node and below */
	uint64_t self[PROFILE_MAX_VALUES];	/* samples ending here */
	uint32_t nchildren;
	struct profile_node **children;
};

struct profile_tree {
	const struct profile *profile;
	struct profile_node *root;
	size_t nnodes;
};

/* Builds the tree of all samples; NULL and errno on failure. */
struct profile_tree *profile_tree__new(const struct profile *p);
/* The tree of the samples keep() accepts (one thread, one pod, ...). */
struct profile_tree *profile_tree__new_filtered(const struct profile *p,
						sample_pred_fn keep,
						void *ctx);
void profile_tree__free(struct profile_tree *t);

#endif
