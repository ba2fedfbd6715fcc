/* SPDX-License-Identifier: MIT */
/* Shared by the container/ readers; not part of the public interface. */
#ifndef SYSSCOPE_CONTAINER_META_INTERNAL_H
#define SYSSCOPE_CONTAINER_META_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "meta.h"

#define META_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A string field of struct container_meta, for key tables. */
struct meta_field {
	size_t off, size;
};

#define META_FIELD(f)                                                        \
	{ offsetof(struct container_meta, f),                                \
	  sizeof(((struct container_meta *)0)->f) }

/* ---- files (meta.c) ---- */

/*
 * Opens rel (relative, below root_fd) confined to it (inroot.h): regular
 * files only, or a directory with O_DIRECTORY; O_NOFOLLOW refuses a final
 * symlink. flags are added to O_RDONLY | O_CLOEXEC. The fd, or -errno.
 */
int meta_open_in_root(int root_fd, const char *rel, int flags);

/*
 * Reads and parses the JSON file rel below root_fd (see container_meta__read
 * for the checks and error codes). *doc is the caller's to json_object_put.
 */
int meta_load_json(int root_fd, const char *rel, struct json_object **doc);

/* ---- JSON (meta.c) ---- */

/* Parses text (bounded depth, strict, UTF-8). 0 or -EBADMSG. */
int meta_parse_json(const char *json, size_t len, struct json_object **doc);

/*
 * The object at key of obj: 0 with *child NULL when it is missing or null,
 * 0 with *child set when it is an object, -EBADMSG for another type.
 */
int meta_get_object(struct json_object *obj, const char *key,
		    struct json_object **child);

/* The string at key of obj, or NULL when missing or not a string. */
const char *meta_get_string(struct json_object *obj, const char *key);

/* Bounded copy: cut at a UTF-8 boundary, control characters -> '?'. */
void meta_copy(char *dst, size_t size, const char *src);

/* Fields read from a JSON object's string values: first key present wins. */
struct meta_key_rule {
	struct meta_field field;
	const char *keys[3];
};

/*
 * Applies rules to obj's members (annotations, labels). A field with none
 * of its keys, or whose value is not a string, is left as it is.
 */
void meta_apply_keys(struct json_object *obj,
		     const struct meta_key_rule *rules, size_t n,
		     struct container_meta *out);

/* Whether obj has key with exactly this string value. */
bool meta_string_is(struct json_object *obj, const char *key,
		    const char *value);

/* 64 lowercase hex digits (the only ids used to build a path). */
bool meta_valid_id(const char *id);

/* ---- documents already parsed: the parsers' bodies ---- */

int meta_oci_from_doc(struct json_object *doc, struct container_meta *out);
/* out->cgroup from an OCI spec's linux.cgroupsPath; left "" if unusable. */
void meta_oci_cgroup(struct json_object *doc, struct container_meta *out);
int meta_docker_from_doc(struct json_object *doc,
			 struct container_meta *out);
int meta_podman_from_doc(struct json_object *doc,
			 struct container_meta *out);

/* ---- readers (one file each) ---- */

int meta_read_containerd(int root_fd, const char *id,
			 struct container_meta *out);
int meta_read_crio(int root_fd, const char *id, struct container_meta *out);
int meta_read_docker(int root_fd, const char *id, struct container_meta *out);
int meta_read_podman(int root_fd, const char *id, struct container_meta *out);

/* A per-container file: <dir>/<id>/<file> below host_root. */
struct meta_path {
	const char *dir, *file;
};

/* Writes <dir>/<id>/<file>; -ENAMETOOLONG if it does not fit. */
int meta_path_format(char *buf, size_t size, const struct meta_path *p,
		     const char *id);

/*
 * Reads the first of paths that exists as an OCI config.json (see
 * container_meta__parse_oci_config); -ENOENT if none exists.
 */
int meta_read_first_oci(int root_fd, const struct meta_path *paths,
			size_t n, const char *id, struct container_meta *out);

#endif
