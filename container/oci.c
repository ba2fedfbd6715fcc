// SPDX-License-Identifier: MIT
/*
 * The OCI runtime spec a runtime hands to runc (config.json): only its
 * "annotations" object matters here. Kubernetes runtimes put the pod and
 * container identity there:
 *  - containerd's CRI plugin: io.kubernetes.cri.* (seen on containerd
 *    1.6.20: container-name, container-type, image-name, sandbox-name,
 *    sandbox-namespace, sandbox-uid);
 *  - CRI-O: io.kubernetes.pod.*, io.kubernetes.container.name and
 *    io.kubernetes.cri-o.* (ContainerType, ImageName; a sandbox has only
 *    Image, the pause image, and container name "POD").
 * A container started with plain ctr has no annotations at all.
 * linux.cgroupsPath is where the runtime put the container's cgroup: a
 * cgroup named like the container anywhere else is not the container's.
 */
#include "meta_internal.h"

#include <errno.h>
#include <limits.h>

static const struct meta_key_rule oci_rules[] = {
	{ META_FIELD(name), { "io.kubernetes.cri.container-name",
			      "io.kubernetes.container.name" } },
	{ META_FIELD(pod_name), { "io.kubernetes.cri.sandbox-name",
				  "io.kubernetes.pod.name" } },
	{ META_FIELD(pod_namespace), { "io.kubernetes.cri.sandbox-namespace",
				       "io.kubernetes.pod.namespace" } },
	{ META_FIELD(pod_uid), { "io.kubernetes.cri.sandbox-uid",
				 "io.kubernetes.pod.uid" } },
	{ META_FIELD(image), { "io.kubernetes.cri.image-name",
			       "io.kubernetes.cri-o.ImageName",
			       "io.kubernetes.cri-o.Image" } },
};

/* Keys whose value "sandbox" marks the pod's pause container. */
static const char *const sandbox_keys[] = {
	"io.kubernetes.cri.container-type",
	"io.kubernetes.cri-o.ContainerType",
};

void meta_oci_cgroup(struct json_object *doc, struct container_meta *out)
{
	struct json_object *linux_obj;
	const char *path;

	if (json_object_get_type(doc) != json_type_object ||
	    !json_object_object_get_ex(doc, "linux", &linux_obj) ||
	    json_object_get_type(linux_obj) != json_type_object)
		return;
	path = meta_get_string(linux_obj, "cgroupsPath");
	if (!path || cgroup_path__from_oci(path, out->cgroup,
					   sizeof(out->cgroup)))
		out->cgroup[0] = '\0';
}

int meta_oci_from_doc(struct json_object *doc, struct container_meta *out)
{
	struct json_object *ann;
	int err;

	if (json_object_get_type(doc) != json_type_object)
		return -EBADMSG;
	meta_oci_cgroup(doc, out);
	err = meta_get_object(doc, "annotations", &ann);
	if (err || !ann)
		return err;
	meta_apply_keys(ann, oci_rules, META_ARRAY_LEN(oci_rules), out);
	for (size_t i = 0; i < META_ARRAY_LEN(sandbox_keys); i++)
		if (meta_string_is(ann, sandbox_keys[i], "sandbox"))
			out->sandbox = true;
	return 0;
}

int container_meta__parse_oci_config(const char *json, size_t len,
				     struct container_meta *out)
{
	struct json_object *doc;
	int err;

	if (!json || !out)
		return -EINVAL;
	err = meta_parse_json(json, len, &doc);
	if (err)
		return err;
	err = meta_oci_from_doc(doc, out);
	json_object_put(doc);
	return err;
}

int meta_read_first_oci(int root_fd, const struct meta_path *paths,
			size_t n, const char *id, struct container_meta *out)
{
	for (size_t i = 0; i < n; i++) {
		struct json_object *doc;
		char path[PATH_MAX];
		int err = meta_path_format(path, sizeof(path), &paths[i], id);

		if (!err)
			err = meta_load_json(root_fd, path, &doc);
		if (err == -ENOENT)
			continue;
		if (err)
			return err;
		err = meta_oci_from_doc(doc, out);
		json_object_put(doc);
		return err;
	}
	return -ENOENT;
}
