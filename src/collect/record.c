// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "record.h"
#include "resolver.h"

static const char *const label_keys[LABEL_MAX] = {
	[LABEL_REASON] = "reason",
	[LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod",
	[LABEL_NAMESPACE] = "namespace",
	[LABEL_CONTAINER_ID] = "container_id",
};

int recorder__init(struct recorder *r, struct profile *p,
		   struct symbolizer *sym, struct resolver *res,
		   bool host_frame)
{
	r->p = p;
	r->b.p = p;
	r->b.sym = sym;
	r->b.py = NULL;
	r->res = res;
	r->host_frame = host_frame;
	return profile__set_label_keys(p, label_keys, LABEL_MAX);
}

/* Pod and container above the process, and as labels; or "[host]". */
static int push_groups(struct recorder *r, const struct raw_sample *s,
		       const char **labels)
{
	const struct workload *w = r->res ? resolver__get(r->res, s->cgroup_id) :
					    NULL;
	char name[600];
	int err = 0;

	if (!w || (!w->container[0] && !w->pod[0]))
		return r->host_frame ?
			stack_builder__push(&r->b, "[host]", FRAME_GROUP) : 0;
	if (w->pod[0]) {
		snprintf(name, sizeof(name), "[pod %s]", w->pod);
		err = stack_builder__push(&r->b, name, FRAME_GROUP);
		/* Without a name, the pod is "?/podUID": label the UID part. */
		labels[LABEL_POD] = w->meta.pod_name[0] ? w->meta.pod_name :
			strchr(w->pod, '/') ? strchr(w->pod, '/') + 1 : w->pod;
		labels[LABEL_NAMESPACE] = w->meta.pod_namespace[0] ?
					  w->meta.pod_namespace : NULL;
	}
	if (!err && w->container[0]) {
		snprintf(name, sizeof(name), "[container %s]", w->container);
		err = stack_builder__push(&r->b, name, FRAME_GROUP);
		labels[LABEL_CONTAINER] = w->container;
		if (w->info.container_id[0])
			labels[LABEL_CONTAINER_ID] = w->info.container_id;
	}
	return err;
}

static int push_user(struct recorder *r, const struct raw_sample *s)
{
	if (s->user == STACK_LOST)
		return stack_builder__push(&r->b, "[user stack lost]", FRAME_MARKER);
	if (s->user == STACK_NONE)
		return 0;
	return stack_builder__push_user(&r->b, s->tgid, s->proc_start_ns,
				       s->user_ips, s->nuser);
}

static int push_kernel(struct recorder *r, const struct raw_sample *s)
{
	if (s->kern == STACK_LOST)
		return stack_builder__push(&r->b, "[kernel stack lost]", FRAME_MARKER);
	if (s->kern == STACK_NONE)
		return 0;
	return stack_builder__push_kernel(&r->b, s->kern_ips, s->nkern);
}

static int push_reason(struct recorder *r, const struct raw_sample *s)
{
	char name[64];

	if (!s->reason)
		return 0;
	/* The reason is the leaf: the off-CPU time sits under its stack. */
	snprintf(name, sizeof(name), "[off-cpu: %s]", s->reason);
	return stack_builder__push(&r->b, name, FRAME_MARKER);
}

int recorder__add(struct recorder *r, const struct raw_sample *s)
{
	const char *labels[LABEL_MAX] = { [LABEL_REASON] = s->reason };
	const char *root = s->pcomm && s->pcomm[0] ? s->pcomm : s->comm;
	uint32_t above;
	int err;

	stack_builder__reset(&r->b);
	err = push_groups(r, s, labels);
	above = r->b.n;
	err = err ?: stack_builder__push(&r->b, root ? root : "?", FRAME_PROCESS);
	err = err ?: push_user(r, s);
	err = err ?: push_kernel(r, s);
	if (!err && r->b.n == above + 1 && !s->reason)
		err = stack_builder__push(&r->b, "[no stack]", FRAME_MARKER);
	err = err ?: push_reason(r, s);
	if (err)
		return err;
	return profile__add_labeled(r->p, s->tgid, s->tid, s->comm, labels,
				    r->b.frames, r->b.n, s->values);
}
