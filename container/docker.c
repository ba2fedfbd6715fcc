// SPDX-License-Identifier: MIT
/*
 * Docker: var/lib/docker/containers/<id>/config.v2.json, docker's own
 * record of a container. Used here:
 *   .Name            "/web" (the leading '/' is dropped)
 *   .Config.Image    the image as the user gave it ("nginx:1.25")
 *   .Config.Labels   under dockershim, io.kubernetes.pod.{name,namespace,uid}
 *                    and io.kubernetes.container.name (which then wins over
 *                    .Name, "k8s_<container>_<pod>_..."), and
 *                    io.kubernetes.docker.type "podsandbox" for the sandbox.
 * The cgroup docker put the container in is not there: it is in the OCI
 * spec docker hands to containerd, in the "moby" namespace's task bundle.
 */
#include "meta_internal.h"

#include <errno.h>

static const struct meta_key_rule label_rules[] = {
	{ META_FIELD(name), { "io.kubernetes.container.name" } },
	{ META_FIELD(pod_name), { "io.kubernetes.pod.name" } },
	{ META_FIELD(pod_namespace), { "io.kubernetes.pod.namespace" } },
	{ META_FIELD(pod_uid), { "io.kubernetes.pod.uid" } },
};

static const struct meta_path docker_path = { "var/lib/docker/containers",
					      "config.v2.json" };
static const struct meta_path moby_bundle = {
	"run/containerd/io.containerd.runtime.v2.task/moby", "config.json"
};

int meta_docker_from_doc(struct json_object *doc, struct container_meta *out)
{
	struct json_object *config, *labels = NULL;
	const char *name;
	int err;

	if (json_object_get_type(doc) != json_type_object)
		return -EBADMSG;
	err = meta_get_object(doc, "Config", &config);
	if (!err && config)
		err = meta_get_object(config, "Labels", &labels);
	if (err)
		return err;
	name = meta_get_string(doc, "Name");
	if (name)
		meta_copy(out->name, sizeof(out->name),
			  name[0] == '/' ? name + 1 : name);
	if (config && meta_get_string(config, "Image"))
		meta_copy(out->image, sizeof(out->image),
			  meta_get_string(config, "Image"));
	if (labels) {
		meta_apply_keys(labels, label_rules,
				META_ARRAY_LEN(label_rules), out);
		out->sandbox = meta_string_is(labels, "io.kubernetes.docker.type",
					      "podsandbox");
	}
	return 0;
}

int container_meta__parse_docker_config(const char *json, size_t len,
					struct container_meta *out)
{
	struct json_object *doc;
	int err;

	if (!json || !out)
		return -EINVAL;
	err = meta_parse_json(json, len, &doc);
	if (err)
		return err;
	err = meta_docker_from_doc(doc, out);
	json_object_put(doc);
	return err;
}

int meta_read_docker(int root_fd, const char *id, struct container_meta *out)
{
	struct json_object *doc;
	char path[256];
	int err = meta_path_format(path, sizeof(path), &docker_path, id);

	if (!err)
		err = meta_load_json(root_fd, path, &doc);
	if (err)
		return err;
	err = meta_docker_from_doc(doc, out);
	json_object_put(doc);
	if (!err && !meta_path_format(path, sizeof(path), &moby_bundle, id) &&
	    !meta_load_json(root_fd, path, &doc)) {
		meta_oci_cgroup(doc, out);
		json_object_put(doc);
	}
	return err;
}
