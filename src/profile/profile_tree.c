// SPDX-License-Identifier: MIT
/* The tree view of a profile: one trie of frames, children sorted by name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "profile_tree.h"

/* (parent, frame) -> child, so building is linear in the stack frames. */
struct edge_map {
	struct edge {
		const struct profile_node *parent;
		uint32_t frame;
		struct profile_node *child;
	} *slots;
	size_t cap, used;
};

static size_t edge_hash(const struct profile_node *parent, uint32_t frame,
			size_t cap)
{
	uint64_t h = (uint64_t)(uintptr_t)parent * 0x9e3779b97f4a7c15ULL;

	h ^= frame * 0xff51afd7ed558ccdULL;
	h ^= h >> 29;
	return h & (cap - 1);
}

static int edge_map__grow(struct edge_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 4096;
	struct edge *slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		struct edge *e = &m->slots[i];
		size_t pos;

		if (!e->child)
			continue;
		pos = edge_hash(e->parent, e->frame, cap);
		while (slots[pos].child)
			pos = (pos + 1) & (cap - 1);
		slots[pos] = *e;
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

static int node__add_child(struct profile_node *parent,
			   struct profile_node *child)
{
	uint32_t n = parent->nchildren;

	/* Grow at powers of two: n is the count before adding. */
	if ((n & (n - 1)) == 0) {
		size_t cap = n ? (size_t)n * 2 : 1;
		void *c = realloc(parent->children, cap * sizeof(*parent->children));

		if (!c)
			return -ENOMEM;
		parent->children = c;
	}
	parent->children[parent->nchildren++] = child;
	return 0;
}

static struct profile_node *child_get(struct profile_tree *t,
				      struct edge_map *m,
				      struct profile_node *parent,
				      uint32_t frame)
{
	struct profile_node *child;
	size_t pos;

	if ((m->used + 1) * 2 > m->cap && edge_map__grow(m))
		return NULL;
	pos = edge_hash(parent, frame, m->cap);
	while (m->slots[pos].child) {
		if (m->slots[pos].parent == parent &&
		    m->slots[pos].frame == frame)
			return m->slots[pos].child;
		pos = (pos + 1) & (m->cap - 1);
	}
	child = calloc(1, sizeof(*child));
	if (!child)
		return NULL;
	child->frame = frame;
	if (node__add_child(parent, child)) {
		free(child);
		return NULL;
	}
	m->slots[pos] = (struct edge){ parent, frame, child };
	m->used++;
	t->nnodes++;
	return child;
}

static void node__add_values(struct profile_node *n, const uint64_t *v)
{
	for (int i = 0; i < PROFILE_MAX_VALUES; i++)
		n->total[i] += v[i];
}

static int tree__add_sample(struct profile_tree *t, struct edge_map *m,
			    const struct profile_sample *s)
{
	struct profile_node *n = t->root;

	node__add_values(n, s->values);
	for (uint32_t i = 0; i < s->nframes; i++) {
		/* A function's lines are one node: its box. */
		n = child_get(t, m, n, profile__frame_at(t->profile, s->frames[i])->box);
		if (!n)
			return -ENOMEM;
		node__add_values(n, s->values);
	}
	for (int i = 0; i < PROFILE_MAX_VALUES; i++)
		n->self[i] += s->values[i];
	return 0;
}

/* qsort has no context argument; the tree is built by one thread. */
static const struct profile *sort_profile;

static int node_cmp(const void *a, const void *b)
{
	const struct profile_node *x = *(struct profile_node *const *)a;
	const struct profile_node *y = *(struct profile_node *const *)b;
	const struct profile_frame *fx = profile__frame_at(sort_profile, x->frame);
	const struct profile_frame *fy = profile__frame_at(sort_profile, y->frame);
	int c = strcmp(fx->name, fy->name);

	if (c)
		return c;
	return (fx->kind > fy->kind) - (fx->kind < fy->kind);
}

static void node__sort(struct profile_node *n)
{
	/* Recursion depth is the stack depth, bounded by the BPF stack walk. */
	if (n->nchildren)
		qsort(n->children, n->nchildren, sizeof(*n->children), node_cmp);
	for (uint32_t i = 0; i < n->nchildren; i++)
		node__sort(n->children[i]);
}

static void node__free(struct profile_node *n)
{
	if (!n)
		return;
	for (uint32_t i = 0; i < n->nchildren; i++)
		node__free(n->children[i]);
	free(n->children);
	free(n);
}

struct profile_tree *profile_tree__new(const struct profile *p)
{
	return profile_tree__new_filtered(p, NULL, NULL);
}

struct profile_tree *profile_tree__new_filtered(const struct profile *p,
						sample_pred_fn keep,
						void *ctx)
{
	struct edge_map m = {};
	struct profile_tree *t;
	int err = 0;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->profile = p;
	t->root = calloc(1, sizeof(*t->root));
	if (!t->root) {
		err = -ENOMEM;
		goto cleanup;
	}
	t->nnodes = 1;
	for (size_t i = 0; i < profile__nsamples(p) && !err; i++) {
		const struct profile_sample *s = profile__sample_at(p, i);

		if (!keep || keep(s, ctx))
			err = tree__add_sample(t, &m, s);
	}
	if (!err) {
		sort_profile = p;
		node__sort(t->root);
	}
cleanup:
	free(m.slots);
	if (err) {
		profile_tree__free(t);
		errno = -err;
		return NULL;
	}
	return t;
}

void profile_tree__free(struct profile_tree *t)
{
	if (!t)
		return;
	node__free(t->root);
	free(t);
}
