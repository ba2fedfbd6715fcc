/* SPDX-License-Identifier: MIT */
/*
 * What runs in a cgroup, read from its path alone (no I/O): the container
 * runtime, the container id, the pod UID and the pod's QoS class.
 */
#ifndef SYSSCOPE_CGROUP_PATH_H
#define SYSSCOPE_CGROUP_PATH_H

#include <stdbool.h>
#include <stddef.h>

enum cgroup_runtime {
	RUNTIME_NONE,		/* not a container: a host (or pod-level) cgroup */
	RUNTIME_CONTAINERD,
	RUNTIME_CRIO,
	RUNTIME_DOCKER,
	RUNTIME_PODMAN,
};

enum cgroup_qos { QOS_NONE, QOS_GUARANTEED, QOS_BURSTABLE, QOS_BESTEFFORT };

#define CONTAINER_ID_LEN 64
#define POD_UID_LEN 36
/* Longest path accepted, as the kernel's PATH_MAX (with its NUL). */
#define CGROUP_PATH_MAX 4096

struct cgroup_info {
	enum cgroup_runtime runtime;	/* RUNTIME_NONE: no container */
	char container_id[CONTAINER_ID_LEN + 1];	/* 64 lowercase hex, or "" */
	/*
	 * The pod UID as the kubelet spells it: 8-4-4-4-12 with dashes (a
	 * systemd slice's underscores are turned back into dashes), or 32 hex
	 * digits with no dashes for a static pod (the kubelet makes those from
	 * an MD5 hash), or "" outside a pod. Lowercase only.
	 */
	char pod_uid[POD_UID_LEN + 1];
	enum cgroup_qos qos;		/* QOS_NONE outside kubepods */
};

/*
 * Parses a cgroup path as /proc/PID/cgroup shows it (relative to the v2
 * root or to a v1 hierarchy's root). The innermost component that names a
 * container wins, so a container nested in another (kind, docker-in-docker)
 * and cgroups a container makes below its own (".../libpod-<id>.scope/
 * container", ".../init.scope") are attributed to the inner container.
 *
 * Container ids must be exactly 64 lowercase hex digits: runtimes never write
 * uppercase, and an uppercase id would never match the runtime's own
 * directories, so such a component is not a container. A component that
 * looks like a container but is not valid (63 digits, bad pod UID) is simply
 * not matched; the rest of the path is still parsed.
 *
 * conmon (CRI-O's and podman's monitor) is not in its container: its scope
 * (crio-conmon-<id>.scope, libpod-conmon-<id>.scope) counts as what encloses
 * it, RUNTIME_NONE on a host. A pod-level cgroup ("/kubepods/burstable/
 * pod<uid>", or conmon in a pod's slice) is RUNTIME_NONE with pod_uid and
 * qos set: the pod of a container is only looked for above the container.
 *
 * Returns 0 with *info filled, or -EINVAL (and *info zeroed) for a path that
 * is NULL, empty, relative, longer than CGROUP_PATH_MAX - 1, has a "." or
 * ".." component, or a component longer than NAME_MAX. Empty components
 * ("//") are skipped, as path resolution would.
 */
int cgroup_path__parse(const char *path, struct cgroup_info *info);

/*
 * The cgroup a runtime put a container in, from linux.cgroupsPath of its
 * OCI config.json, as a path from the hierarchy root:
 *   "/kubepods/besteffort/pod<uid>/<id>" (cgroupfs) stays as it is;
 *   "kubepods-besteffort-pod<uid>.slice:cri-containerd:<id>" (systemd)
 *   is expanded as runc does: /kubepods.slice/kubepods-besteffort.slice/
 *   kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope.
 * 0, -EINVAL (not one of those forms), -ENAMETOOLONG.
 */
int cgroup_path__from_oci(const char *cgroups_path, char *buf, size_t len);

/* Is path dir itself or below it, component-wise ("/a/bc" is not in "/a/b")? */
bool cgroup_path__within(const char *path, const char *dir);

/* "containerd", "cri-o", "docker", "podman", "host" ("unknown" if invalid). */
const char *cgroup_runtime__name(enum cgroup_runtime r);

/* "guaranteed", "burstable", "besteffort", or "" for QOS_NONE/invalid. */
const char *cgroup_qos__name(enum cgroup_qos q);

#endif
