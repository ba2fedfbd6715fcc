// SPDX-License-Identifier: MIT
/*
 * Container, pod and QoS class from a cgroup path, for every layout the
 * kubelet and the runtimes use (see cgroup_path.h). Pure string work.
 *
 * The path is walked right to left, one component at a time, so that the
 * innermost container wins and everything is read in place (no copy, no
 * allocation). Names are matched through the tables below.
 */
#include "cgroup_path.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

/* One path component: not NUL-terminated, never empty. */
struct comp {
	const char *s;
	size_t n;
};

/*
 * A container's own cgroup, as <prefix><64 hex><suffix>. conmon, the
 * monitor CRI-O and podman run next to a container, has scopes named
 * crio-conmon-<id>.scope and libpod-conmon-<id>.scope: they never match
 * (what follows the prefix is not an id), so conmon counts as whatever
 * encloses it: the host, or the node container of a nested cluster.
 */
struct scope_rule {
	const char *prefix, *suffix;
	enum cgroup_runtime runtime;
};

static const struct scope_rule scope_rules[] = {
	{ "cri-containerd-", ".scope", RUNTIME_CONTAINERD },
	{ "crio-", ".scope", RUNTIME_CRIO },	/* systemd driver */
	{ "crio-", "", RUNTIME_CRIO },		/* cgroupfs driver */
	{ "docker-", ".scope", RUNTIME_DOCKER },
	{ "libpod-", ".scope", RUNTIME_PODMAN },	/* systemd manager */
	{ "libpod-", "", RUNTIME_PODMAN },	/* cgroupfs manager */
};

/*
 * A bare 64-hex component is named by its parent: docker's cgroupfs parent,
 * podman's pod cgroup (not a container: the pod's containers are below it),
 * else containerd, whose default cgroup is /<namespace>/<id> and whose CRI
 * plugin uses /kubepods/.../pod<uid>/<id>. Docker under a kubelet with the
 * cgroupfs driver (dockershim) looks the same and is reported as
 * containerd: nothing in the path tells them apart.
 */
struct bare_rule {
	const char *parent;
	enum cgroup_runtime runtime;
	bool container;
};

static const struct bare_rule bare_rules[] = {
	{ "docker", RUNTIME_DOCKER, true },
	{ "libpod_parent", RUNTIME_NONE, false },
};

/*
 * QoS classes. cgroupfs: /kubepods/pod<uid> (guaranteed) or
 * /kubepods/<level>/pod<uid>. systemd: <...>kubepods-pod<uid>.slice or
 * <...>kubepods-<level>-pod<uid>.slice, where the kubelet's cgroup root may
 * add a prefix ("kubelet-kubepods-..." on kind). A QoS-level cgroup without
 * a pod is /kubepods/<level> or <...>kubepods-<level>.slice.
 */
struct qos_rule {
	const char *level;	/* cgroupfs directory; NULL: kubepods itself */
	const char *pod_slice;	/* systemd pod slice name before the UID */
	const char *level_slice;	/* systemd QoS-level slice, or NULL */
	enum cgroup_qos qos;
};

static const struct qos_rule qos_rules[] = {
	{ "burstable", "kubepods-burstable-pod", "kubepods-burstable.slice",
	  QOS_BURSTABLE },
	{ "besteffort", "kubepods-besteffort-pod", "kubepods-besteffort.slice",
	  QOS_BESTEFFORT },
	{ NULL, "kubepods-pod", NULL, QOS_GUARANTEED },
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define UID_HEX_LEN 32

/* ---- components -------------------------------------------------------- */

/* The component that ends before end (walking left); false at the root. */
static bool prev_comp(const char *path, const char *end, struct comp *c)
{
	const char *start;

	while (end > path && end[-1] == '/')
		end--;
	if (end == path)
		return false;
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	c->s = start;
	c->n = (size_t)(end - start);
	return true;
}

static bool comp_is(const struct comp *c, const char *lit)
{
	return c->n == strlen(lit) && !memcmp(c->s, lit, c->n);
}

static bool comp_starts(const struct comp *c, const char *lit)
{
	size_t n = strlen(lit);

	return c->n >= n && !memcmp(c->s, lit, n);
}

static bool comp_ends(const struct comp *c, const char *lit)
{
	size_t n = strlen(lit);

	return c->n >= n && !memcmp(c->s + c->n - n, lit, n);
}

/* The parent of c named lit (false at the root). */
static bool parent_is(const char *path, const struct comp *c, const char *lit)
{
	struct comp p;

	return prev_comp(path, c->s, &p) && comp_is(&p, lit);
}

/* ---- ids ---------------------------------------------------------------- */

/* Lowercase only: see cgroup_path.h. */
static bool is_lhex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool all_lhex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_lhex(s[i]))
			return false;
	return true;
}

static bool is_container_id(const char *s, size_t n)
{
	return n == CONTAINER_ID_LEN && all_lhex(s, n);
}

/*
 * A pod UID spelled with sep ('-' for cgroupfs, '_' in a systemd slice,
 * where '-' means nesting), written to out with dashes; or 32 bare hex
 * digits (a static pod), written as they are. out is untouched on failure.
 */
static bool parse_uid(const char *s, size_t n, char sep,
		      char out[POD_UID_LEN + 1])
{
	char uid[POD_UID_LEN + 1];

	if (n == UID_HEX_LEN && all_lhex(s, n)) {
		memcpy(out, s, n);
		out[n] = '\0';
		return true;
	}
	if (n != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != sep : !is_lhex(s[i]))
			return false;
		uid[i] = dash ? '-' : s[i];
	}
	uid[n] = '\0';
	memcpy(out, uid, sizeof(uid));
	return true;
}

/* ---- containers --------------------------------------------------------- */

static void set_container(struct cgroup_info *info,
			  enum cgroup_runtime runtime, const char *id)
{
	info->runtime = runtime;
	memcpy(info->container_id, id, CONTAINER_ID_LEN);
	info->container_id[CONTAINER_ID_LEN] = '\0';
}

static bool match_scope(const struct comp *c, struct cgroup_info *info)
{
	for (size_t i = 0; i < ARRAY_LEN(scope_rules); i++) {
		const struct scope_rule *r = &scope_rules[i];
		size_t pre = strlen(r->prefix), suf = strlen(r->suffix);

		if (c->n != pre + CONTAINER_ID_LEN + suf ||
		    !comp_starts(c, r->prefix) || !comp_ends(c, r->suffix) ||
		    !is_container_id(c->s + pre, CONTAINER_ID_LEN))
			continue;
		set_container(info, r->runtime, c->s + pre);
		return true;
	}
	return false;
}

static bool match_bare(const char *path, const struct comp *c,
		       struct cgroup_info *info)
{
	enum cgroup_runtime runtime = RUNTIME_CONTAINERD;

	if (!is_container_id(c->s, c->n))
		return false;
	for (size_t i = 0; i < ARRAY_LEN(bare_rules); i++) {
		if (!parent_is(path, c, bare_rules[i].parent))
			continue;
		if (!bare_rules[i].container)
			return false;
		runtime = bare_rules[i].runtime;
		break;
	}
	set_container(info, runtime, c->s);
	return true;
}

/*
 * The innermost container component; returns where the search for its
 * pod starts (the component's start), or end if there is none.
 */
static const char *find_container(const char *path, const char *end,
				  struct cgroup_info *info)
{
	struct comp c;
	bool ok;

	for (ok = prev_comp(path, end, &c); ok; ok = prev_comp(path, c.s, &c))
		if (match_scope(&c, info) || match_bare(path, &c, info))
			return c.s;
	return end;
}

/* ---- pods and QoS ------------------------------------------------------- */

/* cgroupfs: pod<uid> right under kubepods or under kubepods/<level>. */
static bool match_pod_dir(const char *path, const struct comp *c,
			  struct cgroup_info *info)
{
	struct comp parent;

	if (!comp_starts(c, "pod") ||
	    !parse_uid(c->s + 3, c->n - 3, '-', info->pod_uid))
		return false;
	if (prev_comp(path, c->s, &parent)) {
		if (comp_is(&parent, "kubepods")) {
			info->qos = QOS_GUARANTEED;
			return true;
		}
		for (size_t i = 0; i < ARRAY_LEN(qos_rules); i++) {
			const char *level = qos_rules[i].level;

			if (level && comp_is(&parent, level) &&
			    parent_is(path, &parent, "kubepods")) {
				info->qos = qos_rules[i].qos;
				return true;
			}
		}
	}
	info->pod_uid[0] = '\0';
	return false;
}

/* lit ends at body + n and starts the body or follows a '-'. */
static bool ends_with_word(const char *body, size_t n, const char *lit)
{
	size_t l = strlen(lit);

	return n >= l && !memcmp(body + n - l, lit, l) &&
	       (n == l || body[n - l - 1] == '-');
}

/* systemd: <...>kubepods[-<level>]-pod<uid_with_underscores>.slice. */
static bool match_pod_slice(const struct comp *c, struct cgroup_info *info)
{
	static const size_t uid_lens[] = { POD_UID_LEN, UID_HEX_LEN };
	const size_t slen = strlen(".slice");
	size_t body;

	if (!comp_ends(c, ".slice"))
		return false;
	body = c->n - slen;
	for (size_t u = 0; u < ARRAY_LEN(uid_lens); u++) {
		if (body <= uid_lens[u] ||
		    !parse_uid(c->s + body - uid_lens[u], uid_lens[u], '_',
			       info->pod_uid))
			continue;
		for (size_t i = 0; i < ARRAY_LEN(qos_rules); i++) {
			if (ends_with_word(c->s, body - uid_lens[u],
					   qos_rules[i].pod_slice)) {
				info->qos = qos_rules[i].qos;
				return true;
			}
		}
	}
	info->pod_uid[0] = '\0';
	return false;
}

/* A QoS-level cgroup with no pod (the pods' parent). */
static bool match_level(const char *path, const struct comp *c,
			struct cgroup_info *info)
{
	for (size_t i = 0; i < ARRAY_LEN(qos_rules); i++) {
		const struct qos_rule *r = &qos_rules[i];

		if ((r->level && comp_is(c, r->level) &&
		     parent_is(path, c, "kubepods")) ||
		    (r->level_slice &&
		     ends_with_word(c->s, c->n, r->level_slice))) {
			info->qos = r->qos;
			return true;
		}
	}
	return false;
}

/* The innermost pod above end, else the innermost QoS level. */
static void find_pod(const char *path, const char *end,
		     struct cgroup_info *info)
{
	struct comp c;
	bool ok;

	for (ok = prev_comp(path, end, &c); ok; ok = prev_comp(path, c.s, &c))
		if (match_pod_dir(path, &c, info) || match_pod_slice(&c, info))
			return;
	for (ok = prev_comp(path, end, &c); ok; ok = prev_comp(path, c.s, &c))
		if (match_level(path, &c, info))
			return;
}

/* ---- entry points ------------------------------------------------------- */

/* Absolute, bounded, no "." or ".." (a kernel path never has them). */
static int check_path(const char *path, size_t *len)
{
	struct comp c;
	bool ok;

	if (!path || path[0] != '/')
		return -EINVAL;
	*len = strnlen(path, CGROUP_PATH_MAX);
	if (*len == CGROUP_PATH_MAX)
		return -EINVAL;
	for (ok = prev_comp(path, path + *len, &c); ok;
	     ok = prev_comp(path, c.s, &c))
		if (c.n > NAME_MAX || comp_is(&c, ".") || comp_is(&c, ".."))
			return -EINVAL;
	return 0;
}

int cgroup_path__parse(const char *path, struct cgroup_info *info)
{
	const char *pod_end;
	size_t len;
	int err;

	if (!info)
		return -EINVAL;
	memset(info, 0, sizeof(*info));
	err = check_path(path, &len);
	if (err)
		return err;
	pod_end = find_container(path, path + len, info);
	find_pod(path, pod_end, info);
	return 0;
}

const char *cgroup_runtime__name(enum cgroup_runtime r)
{
	static const char *const names[] = {
		[RUNTIME_NONE] = "host",
		[RUNTIME_CONTAINERD] = "containerd",
		[RUNTIME_CRIO] = "cri-o",
		[RUNTIME_DOCKER] = "docker",
		[RUNTIME_PODMAN] = "podman",
	};

	if ((unsigned int)r >= ARRAY_LEN(names))
		return "unknown";
	return names[r];
}

const char *cgroup_qos__name(enum cgroup_qos q)
{
	static const char *const names[] = {
		[QOS_NONE] = "",
		[QOS_GUARANTEED] = "guaranteed",
		[QOS_BURSTABLE] = "burstable",
		[QOS_BESTEFFORT] = "besteffort",
	};

	if ((unsigned int)q >= ARRAY_LEN(names))
		return "";
	return names[q];
}

/* ---- the runtime's own record: OCI linux.cgroupsPath ---- */

/* Appends "/" and n bytes of s to buf (used bytes in *used). */
static int append_comp(char *buf, size_t len, size_t *used, const char *s,
		       size_t n, const char *suffix)
{
	size_t sl = strlen(suffix);

	if (*used + 1 + n + sl >= len)
		return -ENAMETOOLONG;
	buf[(*used)++] = '/';
	memcpy(buf + *used, s, n);
	memcpy(buf + *used + n, suffix, sl);
	*used += n + sl;
	buf[*used] = '\0';
	return 0;
}

/*
 * systemd's slice nesting, as runc expands it: "a-b-c.slice" is
 * /a.slice/a-b.slice/a-b-c.slice, "-.slice" the root.
 */
static int expand_slice(const char *slice, size_t n, char *buf, size_t len,
			size_t *used)
{
	size_t base = n - 6;	/* without ".slice" */
	int err = 0;

	if (n < 6 || memcmp(slice + base, ".slice", 6) || memchr(slice, '/', n))
		return -EINVAL;
	if (base == 1 && slice[0] == '-')
		return 0;
	if (!base || slice[0] == '-' || slice[base - 1] == '-')
		return -EINVAL;
	for (size_t i = 0; i < base && !err; i++) {
		if (slice[i] != '-')
			continue;
		if (slice[i + 1] == '-')
			return -EINVAL;
		err = append_comp(buf, len, used, slice, i, ".slice");
	}
	return err ?: append_comp(buf, len, used, slice, n, "");
}

int cgroup_path__from_oci(const char *cgroups_path, char *buf, size_t len)
{
	const char *c1, *c2, *name;
	size_t used = 0;
	int err;

	if (!cgroups_path || !cgroups_path[0] || !buf || !len)
		return -EINVAL;
	buf[0] = '\0';
	c1 = strchr(cgroups_path, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (cgroups_path[0] == '/' || !c1) {
		/* cgroupfs: a path from the root (runc reads "a/b" as "/a/b"). */
		const char *p = cgroups_path + (cgroups_path[0] == '/');
		size_t n = strlen(p);

		while (n && p[n - 1] == '/')
			n--;
		if (n)
			return append_comp(buf, len, &used, p, n, "");
		if (len < 2)
			return -ENAMETOOLONG;
		strcpy(buf, "/");
		return 0;
	}
	/* systemd: "slice:prefix:name" (an empty slice is system.slice). */
	if (!c2 || strchr(c2 + 1, ':'))
		return -EINVAL;
	name = c2 + 1;
	if (!name[0] || strchr(name, '/') || memchr(c1 + 1, '/', c2 - c1 - 1))
		return -EINVAL;
	err = c1 == cgroups_path ?
	      expand_slice("system.slice", 12, buf, len, &used) :
	      expand_slice(cgroups_path, c1 - cgroups_path, buf, len, &used);
	if (err)
		return err;
	if (strlen(name) > 6 && !strcmp(name + strlen(name) - 6, ".slice"))
		return append_comp(buf, len, &used, name, strlen(name), "");
	err = append_comp(buf, len, &used, c1 + 1, c2 - c1 - 1, "-");
	if (err)
		return err;
	/* prefix-name.scope: the '/' append_comp added before name goes. */
	if (used + strlen(name) + 6 >= len)
		return -ENAMETOOLONG;
	strcpy(buf + used, name);
	strcat(buf + used, ".scope");
	return 0;
}

bool cgroup_path__within(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n && dir[n - 1] == '/')
		n--;
	if (!n)
		return path[0] == '/';	/* the root holds everything */
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/');
}
