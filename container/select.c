// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "select.h"

#define MIN_ID_PREFIX 4
#define MAX_SUGGESTIONS 5

static bool is_container(const struct workload *w)
{
	return w->info.runtime != RUNTIME_NONE && w->info.container_id[0];
}

static bool container_matches(const struct workload *w, const char *arg)
{
	size_t len = strlen(arg);

	if (!is_container(w))
		return false;
	if (!strcmp(w->container, arg) || !strcmp(w->meta.name, arg))
		return true;
	return len >= MIN_ID_PREFIX &&
	       !strncmp(w->info.container_id, arg, len);
}

/* "ns/name" or "name"; ns is "" when not given. */
static void split_pod(const char *arg, char *ns, size_t nslen, char *name,
		      size_t namelen)
{
	const char *slash = strchr(arg, '/');

	if (slash) {
		snprintf(ns, nslen, "%.*s", (int)(slash - arg), arg);
		snprintf(name, namelen, "%s", slash + 1);
	} else {
		ns[0] = '\0';
		snprintf(name, namelen, "%s", arg);
	}
}

static bool pod_matches(const struct workload *w, const char *ns,
			const char *name)
{
	if (!w->meta.pod_name[0] || strcmp(w->meta.pod_name, name))
		return false;
	return !ns[0] || !strcmp(w->meta.pod_namespace, ns);
}

/* Levenshtein distance, capped: only "is it close?" matters. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[65];

	if (la > 64 || lb > 64)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];

		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t sub = prev + (a[i - 1] != b[j - 1]);
			size_t best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 :
								  row[j - 1] + 1;

			row[j] = sub < best ? sub : best;
			prev = cur;
		}
	}
	return row[lb];
}

static bool is_close(const char *candidate, const char *arg)
{
	return candidate[0] && (strstr(candidate, arg) || strstr(arg, candidate) ||
				distance(candidate, arg) <= 2);
}

static const char *candidate_of(const struct workload *w, enum select_kind k,
				char *buf, size_t len)
{
	if (k == SELECT_CONTAINER)
		return is_container(w) ? w->container : "";
	if (k == SELECT_POD) {
		if (!w->meta.pod_name[0])
			return "";
		snprintf(buf, len, "%s/%s", w->meta.pod_namespace,
			 w->meta.pod_name);
		return buf;
	}
	return w->meta.pod_namespace;
}

static void append(char *msg, size_t len, const char *item)
{
	size_t used = strlen(msg);

	if (strstr(msg, item))
		return;		/* said already */
	snprintf(msg + used, len - used, "%s%s", used ? ", " : "", item);
}

static int not_found(const struct resolver *r, enum select_kind k,
		     const char *arg, char *msg, size_t msglen)
{
	char buf[600], name[300], ns[300];
	size_t n = 0;

	msg[0] = '\0';
	split_pod(arg, ns, sizeof(ns), name, sizeof(name));
	for (size_t i = 0; i < resolver__count(r) && n < MAX_SUGGESTIONS; i++) {
		const char *c = candidate_of(resolver__at(r, i), k, buf, sizeof(buf));

		if (is_close(c, k == SELECT_POD && !ns[0] ? name : arg) ||
		    (k == SELECT_POD && is_close(strchr(c, '/') ? strchr(c, '/') + 1 : c, name))) {
			append(msg, msglen, c);
			n++;
		}
	}
	return -ENOENT;
}

/*
 * A cgroup below one already selected is selected with it (a container's
 * own sub-cgroups: init.scope, podman's "container"): not another match.
 */
static int add(struct selection *sel, const struct workload *w)
{
	for (size_t i = 0; i < sel->n; i++) {
		if (cgroup_path__within(w->path, sel->w[i]->path))
			return 0;
		if (cgroup_path__within(sel->w[i]->path, w->path)) {
			sel->w[i] = w;	/* the outer one covers both */
			return 0;
		}
	}
	if (sel->n == SELECT_MAX)
		return -E2BIG;
	sel->w[sel->n++] = w;
	return 0;
}

/* One name, several containers (same name in two pods): say which. */
static int ambiguous(const struct selection *sel, char *msg, size_t msglen)
{
	char item[1024];

	msg[0] = '\0';
	for (size_t i = 0; i < sel->n; i++) {
		const struct workload *w = sel->w[i];

		snprintf(item, sizeof(item), "%s%s%s (id %.12s)", w->pod,
			 w->pod[0] ? "/" : "", w->container, w->info.container_id);
		append(msg, msglen, item);
	}
	return -EEXIST;
}

static int pod_ambiguous(const struct selection *sel, char *msg,
			 size_t msglen)
{
	const char *first = sel->n ? sel->w[0]->meta.pod_namespace : "";

	msg[0] = '\0';
	for (size_t i = 0; i < sel->n; i++)
		if (strcmp(sel->w[i]->meta.pod_namespace, first))
			goto many;
	return 0;
many:
	for (size_t i = 0; i < sel->n; i++)
		append(msg, msglen, sel->w[i]->pod);
	return -EEXIST;
}

int select__workloads(const struct resolver *r, enum select_kind kind,
		      const char *arg, struct selection *sel, char *msg,
		      size_t msglen)
{
	char ns[300], name[300];
	int err = 0;

	sel->n = 0;
	msg[0] = '\0';
	split_pod(arg, ns, sizeof(ns), name, sizeof(name));
	for (size_t i = 0; i < resolver__count(r) && !err; i++) {
		const struct workload *w = resolver__at(r, i);
		bool hit = kind == SELECT_CONTAINER ? container_matches(w, arg) :
			   kind == SELECT_POD ? pod_matches(w, ns, name) :
			   !strcmp(w->meta.pod_namespace, arg);

		/* Its owner's cgroup is selected, and this one with it. */
		if (w->unverified)
			continue;

		if (hit)
			err = add(sel, w);
	}
	if (err)
		return err;
	if (!sel->n)
		return not_found(r, kind, arg, msg, msglen);
	if (kind == SELECT_CONTAINER && sel->n > 1)
		return ambiguous(sel, msg, msglen);
	if (kind == SELECT_POD)
		return pod_ambiguous(sel, msg, msglen);
	return 0;
}
