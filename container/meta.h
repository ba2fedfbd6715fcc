/* SPDX-License-Identifier: MIT */
/*
 * Container metadata (names, pod, image) by container id, from the files
 * each runtime keeps on the host. Every file is untrusted input: tenants
 * choose names, labels and annotations.
 */
#ifndef SYSSCOPE_CONTAINER_META_H
#define SYSSCOPE_CONTAINER_META_H

#include <stdbool.h>
#include <stddef.h>

#include "cgroup_path.h"

/* Larger files are refused with -EFBIG. */
#define CONTAINER_META_MAX_FILE (4u << 20)
/* Deeper JSON documents are refused with -EBADMSG (real ones use < 10). */
#define CONTAINER_META_MAX_DEPTH 64

/*
 * Strings are NUL-terminated, cut at a UTF-8 character boundary when too
 * long, and control characters (below 0x20, 0x7f) are replaced by '?',
 * since they end up in terminals and line-based outputs.
 */
struct container_meta {
	enum cgroup_runtime runtime;
	char id[CONTAINER_ID_LEN + 1];
	char name[256];		/* CRI container name, or docker/podman name */
	char pod_name[256], pod_namespace[256], pod_uid[64];	/* "": no pod */
	char image[512];	/* "" if unknown */
	bool sandbox;		/* a pause/infra container */
	/*
	 * The cgroup the runtime put it in, from linux.cgroupsPath of its OCI
	 * spec (cgroup_path__from_oci), or "" when not known or too long.
	 * Samples are attributed to the container only from in or below it.
	 */
	char cgroup[512];
};

/* Prefix of every path: NULL, "" or "/" on a host, "/host" in a pod. */
struct meta_roots {
	const char *host_root;
};

/*
 * Reads the metadata of container id (64 lowercase hex) of runtime:
 *   containerd  run/containerd/io.containerd.runtime.v2.task/<ns>/<id>/
 *               config.json, every namespace (also k3s's run/k3s/containerd)
 *   cri-o       run/ then var/lib/ containers/storage/overlay-containers/
 *               <id>/userdata/config.json
 *   docker      var/lib/docker/containers/<id>/config.v2.json, and for
 *               the cgroup, containerd's moby/<id>/config.json if present
 *   podman      the cri-o config.json paths (var/lib/ first) for existence
 *               and annotations, then containers/storage's containers.json
 *               (and volatile-containers.json) for the name and image.
 * Paths are resolved with openat2(RESOLVE_IN_ROOT) inside host_root, so an
 * absolute symlink there stays in the host's tree; the file itself must not
 * be a symlink.
 *
 * Returns 0 with *out filled; on error *out is zeroed and the result is
 *   -EINVAL   bad arguments (id not 64 lowercase hex, runtime NONE, NULL),
 *             or the file is not a regular file (a FIFO, a directory...)
 *   -ENOENT   the runtime has no such container
 *   -ELOOP    the file is a symlink
 *   -EFBIG    the file is larger than CONTAINER_META_MAX_FILE
 *   -EBADMSG  the file is not the JSON document expected
 *   other -errno from open/read (-EACCES...)
 */
int container_meta__read(const struct meta_roots *roots,
			 enum cgroup_runtime runtime, const char *id,
			 struct container_meta *out);

/*
 * Pure parsers of one document already read (for tests and fuzzing). They
 * set the fields the document has and leave the others as they are: zero
 * *out first. runtime and id are never touched. They return 0, or -EBADMSG
 * when the text is not JSON (also: NUL bytes, trailing text, invalid
 * UTF-8, depth over CONTAINER_META_MAX_DEPTH) or when a structure has the
 * wrong type (the document, annotations, Config, Labels is not an object).
 * A single value of the wrong type (a name that is a number) is skipped,
 * so one odd value does not hide the rest. -EINVAL for NULL arguments.
 */

/* OCI runtime spec (config.json) annotations: CRI (containerd) and CRI-O. */
int container_meta__parse_oci_config(const char *json, size_t len,
				     struct container_meta *out);

/* Docker's config.v2.json: Name, Config.Image, Config.Labels (dockershim). */
int container_meta__parse_docker_config(const char *json, size_t len,
					struct container_meta *out);

/*
 * containers/storage's containers.json (an array of {id, names[],
 * metadata}): sets name and image of the entry whose id is out->id, which
 * the caller sets; -ENOENT if no entry has it.
 */
int container_meta__parse_podman(const char *json, size_t len,
				 struct container_meta *out);

#endif
