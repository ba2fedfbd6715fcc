// SPDX-License-Identifier: MIT
/*
 * podman (root). Its own state is a bolt/sqlite database, which is not
 * read here. What was seen on podman 4.3.1 (Debian 12), for
 * `podman run --name meta-probe localhost/x`:
 *  - var/lib/containers/storage/overlay-containers/<id>/userdata/config.json
 *    is the OCI spec (run/containers/storage/.../userdata holds only the
 *    pidfiles, hosts, resolv.conf). Its annotations carry no name or image:
 *    io.container.manager "libpod", io.podman.annotations.*,
 *    io.kubernetes.cri-o.Created and .TTY, org.opencontainers.image.
 *    stopSignal; "hostname" is the short id. It tells that the container
 *    exists, and oci.c reads any Kubernetes annotations it has.
 *  - var/lib/containers/storage/overlay-containers/containers.json, the
 *    containers/storage list of every container (podman's and CRI-O's):
 *    [{"id": "<64 hex>", "names": ["meta-probe"], "image": "<image id>",
 *      "metadata": "{\"image-name\":\"localhost/x:latest\",
 *                   \"image-id\":\"...\",\"name\":\"meta-probe\",...}"}]
 *    where "metadata" is JSON inside a string. `podman run --rm`
 *    containers are in volatile-containers.json instead (next to it, or in
 *    the run root with transient storage).
 * Pods: a pod's containers are in /libpod_parent/<pod id>/libpod-<id>, and
 * nothing in these files names the pod, so pod_name stays "" for podman.
 */
#include "meta_internal.h"

#include <errno.h>
#include <string.h>

static const struct meta_path config_paths[] = {
	{ "var/lib/containers/storage/overlay-containers",
	  "userdata/config.json" },
	{ "run/containers/storage/overlay-containers", "userdata/config.json" },
};

static const char *const list_paths[] = {
	"var/lib/containers/storage/overlay-containers/containers.json",
	"var/lib/containers/storage/overlay-containers/volatile-containers.json",
	"run/containers/storage/overlay-containers/volatile-containers.json",
};

/* names[0], podman's name for the container; NULL if there is none. */
static const char *first_name(struct json_object *entry)
{
	struct json_object *names, *name;

	if (!json_object_object_get_ex(entry, "names", &names) ||
	    json_object_get_type(names) != json_type_array ||
	    json_object_array_length(names) < 1)
		return NULL;
	name = json_object_array_get_idx(names, 0);
	if (json_object_get_type(name) != json_type_string)
		return NULL;
	return json_object_get_string(name);
}

/* The image name, and the name if names[] had none, from "metadata". */
static void apply_metadata(struct json_object *entry,
			   struct container_meta *out)
{
	const char *text = meta_get_string(entry, "metadata");
	struct json_object *md;

	/* A value, not the file's structure: unreadable means unknown. */
	if (!text || meta_parse_json(text, strlen(text), &md))
		return;
	if (json_object_get_type(md) == json_type_object) {
		const char *image = meta_get_string(md, "image-name");

		if (image)
			meta_copy(out->image, sizeof(out->image), image);
		if (!out->name[0])
			meta_copy(out->name, sizeof(out->name),
				  meta_get_string(md, "name"));
	}
	json_object_put(md);
}

static int apply_entry(struct json_object *entry, struct container_meta *out)
{
	const char *name;

	if (json_object_get_type(entry) != json_type_object)
		return -EBADMSG;
	if (!meta_string_is(entry, "id", out->id))
		return -ENOENT;
	name = first_name(entry);
	if (name)
		meta_copy(out->name, sizeof(out->name), name);
	apply_metadata(entry, out);
	return 0;
}

int meta_podman_from_doc(struct json_object *doc, struct container_meta *out)
{
	size_t n;

	if (json_object_get_type(doc) != json_type_array)
		return -EBADMSG;
	n = json_object_array_length(doc);
	for (size_t i = 0; i < n; i++) {
		int err = apply_entry(json_object_array_get_idx(doc, i), out);

		if (err != -ENOENT)
			return err;
	}
	return -ENOENT;
}

int container_meta__parse_podman(const char *json, size_t len,
				 struct container_meta *out)
{
	struct json_object *doc;
	int err;

	if (!json || !out || !meta_valid_id(out->id))
		return -EINVAL;
	err = meta_parse_json(json, len, &doc);
	if (err)
		return err;
	err = meta_podman_from_doc(doc, out);
	json_object_put(doc);
	return err;
}

/* Name and image from the first list that has the container. */
static int read_lists(int root_fd, struct container_meta *out)
{
	for (size_t i = 0; i < META_ARRAY_LEN(list_paths); i++) {
		struct json_object *doc;
		int err = meta_load_json(root_fd, list_paths[i], &doc);

		if (!err) {
			err = meta_podman_from_doc(doc, out);
			json_object_put(doc);
		}
		if (err != -ENOENT)
			return err;
	}
	return 0;	/* config.json exists: a container with no name known */
}

int meta_read_podman(int root_fd, const char *id, struct container_meta *out)
{
	int err = meta_read_first_oci(root_fd, config_paths,
				      META_ARRAY_LEN(config_paths), id, out);

	return err ? err : read_lists(root_fd, out);
}
