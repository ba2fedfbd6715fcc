// SPDX-License-Identifier: MIT
/*
 * Container metadata: the safe file and JSON plumbing every runtime's
 * reader shares, and the dispatch by runtime.
 *
 * The files are the runtimes', but what is in them (names, labels,
 * annotations, even the JSON's shape) is chosen by whoever starts the
 * container, so each step is bounded: the path is built only from a
 * validated id and resolved inside host_root, the file must be a regular
 * file of at most CONTAINER_META_MAX_FILE bytes, and the JSON is parsed
 * strictly with a depth limit.
 */
#include "inroot.h"
#include "meta_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- strings ------------------------------------------------------- */

bool meta_valid_id(const char *id)
{
	size_t i;

	if (!id)
		return false;
	for (i = 0; i < CONTAINER_ID_LEN; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return false;	/* also stops at a short id's NUL */
	return id[i] == '\0';
}

/* A UTF-8 continuation byte: cutting before one splits a character. */
static bool is_continuation(unsigned char ch)
{
	return (ch & 0xc0) == 0x80;
}

void meta_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!size)
		return;
	if (!src)
		src = "";
	n = strnlen(src, size);
	if (n == size) {
		n = size - 1;
		while (n > 0 && is_continuation((unsigned char)src[n]))
			n--;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)src[i];

		dst[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
	}
	dst[n] = '\0';
}

/* A field of out named by offset, as the key tables do. */
static void meta_set(struct container_meta *out, struct meta_field f,
		     const char *src)
{
	meta_copy((char *)out + f.off, f.size, src);
}

/* ---- JSON ---------------------------------------------------------- */

static bool only_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return false;
	return true;
}

int meta_parse_json(const char *json, size_t len, struct json_object **doc)
{
	struct json_tokener *tok;
	struct json_object *obj;
	bool ok;

	*doc = NULL;
	/* json-c takes an int length; a NUL byte would end strings early. */
	if (!json || len > CONTAINER_META_MAX_FILE || memchr(json, '\0', len))
		return -EBADMSG;
	tok = json_tokener_new_ex(CONTAINER_META_MAX_DEPTH);
	if (!tok)
		return -ENOMEM;
	/* Strict, UTF-8; trailing text is checked below (whitespace is ok). */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
				    JSON_TOKENER_ALLOW_TRAILING_CHARS |
				    JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, json, (int)len);
	ok = obj && json_tokener_get_error(tok) == json_tokener_success &&
	     only_space(json + json_tokener_get_parse_end(tok),
			len - json_tokener_get_parse_end(tok));
	json_tokener_free(tok);
	if (!ok) {
		json_object_put(obj);
		return -EBADMSG;
	}
	*doc = obj;
	return 0;
}

int meta_get_object(struct json_object *obj, const char *key,
		    struct json_object **child)
{
	struct json_object *v = NULL;

	*child = NULL;
	if (!json_object_object_get_ex(obj, key, &v) ||
	    json_object_get_type(v) == json_type_null)
		return 0;
	if (json_object_get_type(v) != json_type_object)
		return -EBADMSG;
	*child = v;
	return 0;
}

const char *meta_get_string(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v) ||
	    json_object_get_type(v) != json_type_string)
		return NULL;
	return json_object_get_string(v);
}

void meta_apply_keys(struct json_object *obj,
		     const struct meta_key_rule *rules, size_t n,
		     struct container_meta *out)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < META_ARRAY_LEN(rules[i].keys) &&
				   rules[i].keys[k]; k++) {
			const char *v = meta_get_string(obj, rules[i].keys[k]);

			if (v) {
				meta_set(out, rules[i].field, v);
				break;
			}
		}
	}
}

bool meta_string_is(struct json_object *obj, const char *key,
		    const char *value)
{
	const char *v = meta_get_string(obj, key);

	return v && !strcmp(v, value);
}

/* ---- files --------------------------------------------------------- */

int meta_open_in_root(int root_fd, const char *rel, int flags)
{
	/* An absolute link in host_root means host_root/<link>. */
	return inroot__open_read(root_fd, rel, flags);
}

int meta_path_format(char *buf, size_t size, const struct meta_path *p,
		     const char *id)
{
	int n = snprintf(buf, size, "%s/%s/%s", p->dir, id, p->file);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Grows *buf, up to CONTAINER_META_MAX_FILE + 1 bytes (+1: too big). */
static int grow(char **buf, size_t *cap)
{
	size_t want = *cap * 2;
	char *p;

	if (*cap > CONTAINER_META_MAX_FILE)
		return -EFBIG;
	if (want > (size_t)CONTAINER_META_MAX_FILE + 1)
		want = (size_t)CONTAINER_META_MAX_FILE + 1;
	p = realloc(*buf, want);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = want;
	return 0;
}

/*
 * Reads all of a regular file. st_size is only the first guess: the file
 * may grow while it is read, and the bound holds for what is really read.
 */
static int read_bounded(int fd, char **buf, size_t *len)
{
	size_t cap, n = 0;
	struct stat st;
	int err = 0;

	if (fstat(fd, &st))
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;	/* a FIFO would block, a device never end */
	if (st.st_size > CONTAINER_META_MAX_FILE)
		return -EFBIG;
	cap = (size_t)st.st_size + 1;	/* +1: one read sees the end */
	*buf = malloc(cap);
	if (!*buf)
		return -ENOMEM;
	for (;;) {
		ssize_t r;

		if (n == cap && (err = grow(buf, &cap)))
			break;
		r = read(fd, *buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? -errno : 0;
			break;
		}
		n += (size_t)r;
	}
	if (err) {
		free(*buf);
		*buf = NULL;
		return err;
	}
	*len = n;
	return 0;
}

int meta_load_json(int root_fd, const char *rel, struct json_object **doc)
{
	char *buf = NULL;
	size_t len = 0;
	int fd, err;

	*doc = NULL;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	fd = meta_open_in_root(root_fd, rel,
			       O_NOFOLLOW | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return fd;
	err = read_bounded(fd, &buf, &len);
	close(fd);
	if (err)
		return err;
	err = meta_parse_json(buf, len, doc);
	free(buf);
	return err;
}

/* ---- dispatch ------------------------------------------------------ */

typedef int (*meta_reader)(int root_fd, const char *id,
			   struct container_meta *out);

static const meta_reader readers[] = {
	[RUNTIME_CONTAINERD] = meta_read_containerd,
	[RUNTIME_CRIO] = meta_read_crio,
	[RUNTIME_DOCKER] = meta_read_docker,
	[RUNTIME_PODMAN] = meta_read_podman,
};

static int open_root(const struct meta_roots *roots)
{
	const char *root = roots && roots->host_root && *roots->host_root
				   ? roots->host_root
				   : "/";
	int fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int container_meta__read(const struct meta_roots *roots,
			 enum cgroup_runtime runtime, const char *id,
			 struct container_meta *out)
{
	int root_fd, err;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	/* The id goes into paths: nothing but 64 hex digits gets that far. */
	if (!meta_valid_id(id) || (unsigned int)runtime >=
	    META_ARRAY_LEN(readers) || !readers[runtime])
		return -EINVAL;
	root_fd = open_root(roots);
	if (root_fd < 0)
		return root_fd;
	out->runtime = runtime;
	memcpy(out->id, id, CONTAINER_ID_LEN + 1);
	err = readers[runtime](root_fd, id, out);
	close(root_fd);
	if (err)
		memset(out, 0, sizeof(*out));
	return err;
}
