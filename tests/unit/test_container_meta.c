// SPDX-License-Identifier: MIT
/*
 * Unit tests of the container metadata readers (container/).
 *
 * container_meta__read runs against tests/unit/fixtures/container/, a fake
 * host root with one container of each kind (see its README.md: the
 * containerd and podman files were captured from the real runtimes).
 * Hostile files (symlinks, FIFOs, 5 MiB, 10000-deep, wrong types) are made
 * here in a temporary host root under $SYSSCOPE_TEST_TMP (or /tmp). The pure
 * parsers are driven by tables of documents and by byte mutations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta.h"

/* Fixture ids: the real containers' ids, and hand-written ones. */
#define CTRD_K8S "b54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc69f"
#define CTRD_PLAIN "8aa8f80fc7f5646276f180302347861f57deee581919ad95d54701184a8f1d68"
#define PODMAN "795b93733824a9b135b7758b38d18d108b258f15b11c3ee062c4ec7dff4319a1"
#define PODMAN_NOCFG "8851b2ac2e4b74c09ddb0df851690c841516561da263be63a9c0dbdc8929e719"
#define CRIO "341dcd31f124bff755bf51b9dfe548fa1b6a56da834e90469a7c744c1e8a738e"
#define CRIO_SB "548135750ab78e444d656127eba0abad14c9e4ab06ff873f94e5499ab1930032"
#define DOCKER "1f7a557cd794e405f68da450a83d25876d6867de4791cf2b5f45e8b5c4fb12df"
#define DOCKER_K8S "6605193f8a28f4841a4621b9580f55327130742973593825a7b041f118d719ec"
#define DOCKER_SB "0350f8e9e637bf09a85a1716fc23ea15a63cf20cdccf96f2141fea1f28dc63cd"
#define UNKNOWN "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

#define TASKS "run/containerd/io.containerd.runtime.v2.task"
#define DOCKER_DIR "var/lib/docker/containers/"

static char fixtures[PATH_MAX];	/* the fake host root */
static char tmp_root[PATH_MAX];	/* this test's scratch host root */

/* ---- helpers --------------------------------------------------------------- */

static void setup_paths(void)
{
	const char *slash = strrchr(__FILE__, '/');

	/* Next to this source, as the Makefile compiles it by path. */
	snprintf(fixtures, sizeof(fixtures), "%.*s/fixtures/container",
		 slash ? (int)(slash - __FILE__) : 1, slash ? __FILE__ : ".");
}

static int remove_one(const char *path, const struct stat *st, int flag,
		      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A fresh, empty scratch host root for each test. */
static int make_tmp_root(void **state)
{
	const char *base = getenv("SYSSCOPE_TEST_TMP");

	(void)state;
	if (!base || !*base)
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(tmp_root, sizeof(tmp_root), "%s/container-meta-XXXXXX", base);
	return mkdtemp(tmp_root) ? 0 : -1;
}

static int remove_tmp_root(void **state)
{
	(void)state;
	return nftw(tmp_root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* root/rel, with every parent directory made. */
static void tmp_path(char *buf, size_t size, const char *rel)
{
	char *p;

	assert_true((size_t)snprintf(buf, size, "%s/%s", tmp_root, rel) <
		    size);
	for (p = buf + strlen(tmp_root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			fail_msg("mkdir %s: %s", buf, strerror(errno));
		*p = '/';
	}
}

static void put(const char *rel, const char *data, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	tmp_path(path, sizeof(path), rel);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void put_str(const char *rel, const char *text)
{
	put(rel, text, strlen(text));
}

static int read_tmp(enum cgroup_runtime rt, const char *id,
		    struct container_meta *m)
{
	const struct meta_roots roots = { tmp_root };

	return container_meta__read(&roots, rt, id, m);
}

static void assert_zeroed(const struct container_meta *m)
{
	struct container_meta zero;

	memset(&zero, 0, sizeof(zero));
	assert_memory_equal(m, &zero, sizeof(*m));
}

/* ---- fixtures through container_meta__read -------------------------------- */

static const struct read_case {
	enum cgroup_runtime runtime;
	const char *id;
	const char *name, *pod_name, *pod_ns, *pod_uid, *image;
	bool sandbox;
} read_cases[] = {
	/* Captured: ctr with CRI annotations, namespace k8s.io. */
	{ RUNTIME_CONTAINERD, CTRD_K8S, "app", "web-0", "shop",
	  "9f537c10-6f76-4026-8e36-af0f8f93f3e0",
	  "docker.io/library/busybox:1.36", false },
	/* Captured: plain ctr, namespace default, no annotations. */
	{ RUNTIME_CONTAINERD, CTRD_PLAIN, "", "", "", "", "", false },
	{ RUNTIME_CRIO, CRIO, "postgres", "db-0", "data",
	  "1ec2a6f4-2a8d-4c62-a08f-690fe0b52cd9",
	  "docker.io/library/postgres:16", false },
	/* In var/lib/ (the second place); a sandbox has only cri-o.Image. */
	{ RUNTIME_CRIO, CRIO_SB, "POD", "db-0", "data",
	  "1ec2a6f4-2a8d-4c62-a08f-690fe0b52cd9", "registry.k8s.io/pause:3.9",
	  true },
	{ RUNTIME_DOCKER, DOCKER, "web", "", "", "", "nginx:1.25", false },
	{ RUNTIME_DOCKER, DOCKER_K8S, "api", "api-7d9f", "shop",
	  "0d9f5e0a-5b1c-4e53-9b7e-2f3c4d5e6f70",
	  "registry.example.com/shop/api@sha256:0f6c0e7b1d2a3c4b5a69788796a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7",
	  false },
	{ RUNTIME_DOCKER, DOCKER_SB, "POD", "api-7d9f", "shop",
	  "0d9f5e0a-5b1c-4e53-9b7e-2f3c4d5e6f70", "registry.k8s.io/pause:3.9",
	  true },
	/* Captured: podman run --name meta-probe localhost/x. */
	{ RUNTIME_PODMAN, PODMAN, "meta-probe", "", "", "",
	  "localhost/x:latest", false },
};

static void check_read(const struct read_case *c, const char *root)
{
	const struct meta_roots roots = { root };
	struct container_meta m;
	int ret;

	memset(&m, 0xa5, sizeof(m));
	ret = container_meta__read(&roots, c->runtime, c->id, &m);
	if (ret)
		fail_msg("%s %s: %d (%s)", cgroup_runtime__name(c->runtime),
			 c->id, ret, strerror(-ret));
	assert_int_equal(m.runtime, c->runtime);
	assert_string_equal(m.id, c->id);
	assert_string_equal(m.name, c->name);
	assert_string_equal(m.pod_name, c->pod_name);
	assert_string_equal(m.pod_namespace, c->pod_ns);
	assert_string_equal(m.pod_uid, c->pod_uid);
	assert_string_equal(m.image, c->image);
	assert_int_equal(m.sandbox, c->sandbox);
}

static void test_read_fixtures(void **state)
{
	char slashed[PATH_MAX + 1];

	(void)state;
	/* host_root with a trailing slash means the same. */
	snprintf(slashed, sizeof(slashed), "%s/", fixtures);
	for (size_t i = 0; i < sizeof(read_cases) / sizeof(read_cases[0]);
	     i++) {
		check_read(&read_cases[i], fixtures);
		check_read(&read_cases[i], slashed);
	}
}

static void expect_read(const char *root, enum cgroup_runtime rt,
			const char *id, int want)
{
	const struct meta_roots roots = { root };
	struct container_meta m;
	int ret;

	memset(&m, 0xa5, sizeof(m));
	ret = container_meta__read(&roots, rt, id, &m);
	if (ret != want)
		fail_msg("%s %s under %s: %d, want %d",
			 cgroup_runtime__name(rt), id ? id : "(null)", root, ret,
			 want);
	if (ret)
		assert_zeroed(&m);
}

static void test_read_missing(void **state)
{
	(void)state;
	expect_read(fixtures, RUNTIME_CONTAINERD, UNKNOWN, -ENOENT);
	expect_read(fixtures, RUNTIME_CRIO, UNKNOWN, -ENOENT);
	expect_read(fixtures, RUNTIME_DOCKER, UNKNOWN, -ENOENT);
	expect_read(fixtures, RUNTIME_PODMAN, UNKNOWN, -ENOENT);
	/* Another runtime's container. */
	expect_read(fixtures, RUNTIME_DOCKER, CTRD_K8S, -ENOENT);
	expect_read(fixtures, RUNTIME_CONTAINERD, DOCKER, -ENOENT);
	/* Listed in containers.json, but no config.json: gone. */
	expect_read(fixtures, RUNTIME_PODMAN, PODMAN_NOCFG, -ENOENT);
	/* No runtime at all under this root. */
	expect_read("/nonexistent-sysscope-root", RUNTIME_DOCKER, DOCKER,
		    -ENOENT);
}

/*
 * Ids are checked before anything is opened: under a root that does not
 * exist, only -EINVAL (never -ENOENT) shows the check came first.
 */
static void test_read_bad_args(void **state)
{
	static const char *const bad_ids[] = {
		"", "../../../../../../etc/passwd",
		"../" CTRD_K8S,
		CTRD_K8S "/../" CTRD_K8S,
		"b54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc69",
		CTRD_K8S "0",
		"B54991FFB7A4382DCA1FC62EC664077D60ECAED7A25852F446164F46F34DC69F",
		"b54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc6/",
		"b54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc6.",
	};
	const struct meta_roots roots = { fixtures };

	(void)state;
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		expect_read("/nonexistent-sysscope-root", RUNTIME_CONTAINERD,
			    bad_ids[i], -EINVAL);
		expect_read(fixtures, RUNTIME_DOCKER, bad_ids[i], -EINVAL);
	}
	expect_read(fixtures, RUNTIME_CONTAINERD, NULL, -EINVAL);
	expect_read(fixtures, RUNTIME_NONE, CTRD_K8S, -EINVAL);
	expect_read(fixtures, (enum cgroup_runtime)99, CTRD_K8S, -EINVAL);
	expect_read(fixtures, (enum cgroup_runtime)-1, CTRD_K8S, -EINVAL);
	assert_int_equal(container_meta__read(&roots, RUNTIME_DOCKER, DOCKER,
					      NULL), -EINVAL);
}

/* ---- hostile files through container_meta__read -------------------------- */

#define DOCKER_FILE DOCKER_DIR DOCKER "/config.v2.json"
#define GOOD_DOCKER "{\"Name\":\"/web\",\"Config\":{\"Image\":\"nginx\"}}"

static void test_hostile_content(void **state)
{
	static const struct {
		const char *text;
		size_t len;	/* 0: strlen(text) */
		int ret;
	} docs[] = {
		{ GOOD_DOCKER, 0, 0 },
		{ GOOD_DOCKER "\n", 0, 0 },
		{ "{\"Name\":\"/web\",\"Config\":{\"Ima", 0, -EBADMSG },
		{ "not json at all", 0, -EBADMSG },
		{ "", 0, -EBADMSG },
		{ "{} {}", 0, -EBADMSG },
		{ "{}x", 0, -EBADMSG },
		{ "{'Name':'/web'}", 0, -EBADMSG },
		{ "{\"Name\":\"/w\0eb\"}", 16, -EBADMSG },
		{ "{\"Name\":\"/w\xff\xfe\"}", 0, -EBADMSG },
		{ "[]", 0, -EBADMSG },
		{ "\"a string\"", 0, -EBADMSG },
		{ "{\"Config\":\"nginx\"}", 0, -EBADMSG },
		{ "{\"Config\":{\"Labels\":[]}}", 0, -EBADMSG },
		{ "{\"Name\":42,\"Config\":{\"Image\":\"nginx\"}}", 0, 0 },
	};
	struct container_meta m;

	(void)state;
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		size_t len = docs[i].len ? docs[i].len : strlen(docs[i].text);
		int ret;

		put(DOCKER_FILE, docs[i].text, len);
		ret = read_tmp(RUNTIME_DOCKER, DOCKER, &m);
		if (ret != docs[i].ret)
			fail_msg("doc %zu: %d, want %d", i, ret, docs[i].ret);
	}
	/* The last one: the odd Name is skipped, the image is still read. */
	assert_string_equal(m.name, "");
	assert_string_equal(m.image, "nginx");
}

/* A JSON document nested depth deep: {"a":[[[...]]]}. */
static char *nested(size_t depth, size_t *len)
{
	char *s = malloc(2 * depth + 16);
	size_t n = 0;

	assert_non_null(s);
	n += (size_t)sprintf(s, "{\"a\":");
	memset(s + n, '[', depth);
	n += depth;
	memset(s + n, ']', depth);
	n += depth;
	s[n++] = '}';
	s[n] = '\0';
	*len = n;
	return s;
}

static void test_hostile_depth(void **state)
{
	struct container_meta m;
	size_t len;
	char *doc;

	(void)state;
	doc = nested(10000, &len);
	put(DOCKER_FILE, doc, len);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -EBADMSG);
	free(doc);
	/* Within the limit (the object counts as one level). */
	doc = nested(CONTAINER_META_MAX_DEPTH - 1, &len);
	put(DOCKER_FILE, doc, len);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), 0);
	free(doc);
	doc = nested(CONTAINER_META_MAX_DEPTH, &len);
	put(DOCKER_FILE, doc, len);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -EBADMSG);
	free(doc);
}

/* A valid document of exactly size bytes: {"Name":"/big","pad":"xxx..."}. */
static char *padded(size_t size)
{
	static const char head[] = "{\"Name\":\"/big\",\"pad\":\"";
	char *s = malloc(size + 1);

	assert_non_null(s);
	memcpy(s, head, sizeof(head) - 1);
	memset(s + sizeof(head) - 1, 'x', size - sizeof(head) - 1);
	memcpy(s + size - 2, "\"}", 3);
	return s;
}

static void test_hostile_size(void **state)
{
	struct container_meta m;
	char *doc;

	(void)state;
	doc = padded(5u << 20);
	put(DOCKER_FILE, doc, 5u << 20);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -EFBIG);
	free(doc);
	doc = padded(CONTAINER_META_MAX_FILE + 1);
	put(DOCKER_FILE, doc, CONTAINER_META_MAX_FILE + 1);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -EFBIG);
	free(doc);
	/* The limit itself is fine. */
	doc = padded(CONTAINER_META_MAX_FILE);
	put(DOCKER_FILE, doc, CONTAINER_META_MAX_FILE);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), 0);
	assert_string_equal(m.name, "big");
	free(doc);
}

static void test_hostile_file_types(void **state)
{
	char path[PATH_MAX], real[PATH_MAX];
	struct container_meta m;

	(void)state;
	/* A symlink as config.v2.json, even to a good file: refused. */
	put(DOCKER_DIR DOCKER "/real.json", GOOD_DOCKER, strlen(GOOD_DOCKER));
	tmp_path(path, sizeof(path), DOCKER_FILE);
	assert_int_equal(symlink("real.json", path), 0);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -ELOOP);
	assert_zeroed(&m);
	unlink(path);
	/* A symlink to a file outside: refused the same way. */
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -ELOOP);
	unlink(path);

	/* A FIFO: opening it must not wait for a writer, reading refused. */
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(10);	/* a hang fails the test instead of the whole run */
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -EINVAL);
	alarm(0);
	unlink(path);

	/* A directory. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), -EINVAL);
	rmdir(path);

	/* containerd's config.json as a symlink (refused, not skipped). */
	put(TASKS "/k8s.io/" CTRD_K8S "/real.json", "{}", 2);
	tmp_path(real, sizeof(real), TASKS "/k8s.io/" CTRD_K8S "/config.json");
	assert_int_equal(symlink("real.json", real), 0);
	assert_int_equal(read_tmp(RUNTIME_CONTAINERD, CTRD_K8S, &m), -ELOOP);
}

/*
 * An absolute symlink inside host_root resolves inside host_root (as it
 * would on the host), never to this machine's own tree.
 */
static void test_symlinks_stay_in_root(void **state)
{
	char link[PATH_MAX];
	struct container_meta m;

	(void)state;
	put_str("data/docker/containers/" DOCKER "/config.v2.json",
		"{\"Name\":\"/moved\"}");
	tmp_path(link, sizeof(link), "var/lib/docker");
	assert_int_equal(symlink("/data/docker", link), 0);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), 0);
	assert_string_equal(m.name, "moved");
	unlink(link);
	/* ".." climbs no higher than host_root. */
	assert_int_equal(symlink("../../../../../../../../data/docker", link),
			 0);
	assert_int_equal(read_tmp(RUNTIME_DOCKER, DOCKER, &m), 0);
	assert_string_equal(m.name, "moved");
}

static void test_containerd_namespaces(void **state)
{
	static const char doc[] =
		"{\"annotations\":{\"io.kubernetes.cri.container-name\":\"x\"}}";
	struct container_meta m;

	(void)state;
	/* Hidden namespace directories are skipped; so is a plain file. */
	put_str(TASKS "/.hidden/" CTRD_K8S "/config.json", doc);
	put_str(TASKS "/notadir", "");
	put_str(TASKS "/moby/other/config.json", "{}");
	assert_int_equal(read_tmp(RUNTIME_CONTAINERD, CTRD_K8S, &m), -ENOENT);
	/* Found in any namespace. */
	put_str(TASKS "/zzz-last/" CTRD_K8S "/config.json", doc);
	assert_int_equal(read_tmp(RUNTIME_CONTAINERD, CTRD_K8S, &m), 0);
	assert_string_equal(m.name, "x");
	/* A malformed config.json is reported, not skipped. */
	put_str(TASKS "/zzz-last/" CTRD_K8S "/config.json", "{\"annotations\":[]}");
	assert_int_equal(read_tmp(RUNTIME_CONTAINERD, CTRD_K8S, &m), -EBADMSG);
	/* k3s keeps the same tree elsewhere. */
	put_str("run/k3s/containerd/io.containerd.runtime.v2.task/k8s.io/"
		CTRD_PLAIN "/config.json", doc);
	assert_int_equal(read_tmp(RUNTIME_CONTAINERD, CTRD_PLAIN, &m), 0);
	assert_string_equal(m.name, "x");
}

#define STORAGE "var/lib/containers/storage/overlay-containers/"

static void test_podman_lists(void **state)
{
	struct container_meta m;

	(void)state;
	put_str(STORAGE PODMAN "/userdata/config.json",
		"{\"annotations\":{\"io.container.manager\":\"libpod\"}}");
	/* No list at all: the container exists, its name is unknown. */
	assert_int_equal(read_tmp(RUNTIME_PODMAN, PODMAN, &m), 0);
	assert_string_equal(m.name, "");
	assert_string_equal(m.id, PODMAN);
	/* A --rm container: in the run root's volatile list. */
	put_str("run/containers/storage/overlay-containers/"
		"volatile-containers.json",
		"[{\"id\":\"" PODMAN "\",\"names\":[\"tmp-one\"]}]");
	assert_int_equal(read_tmp(RUNTIME_PODMAN, PODMAN, &m), 0);
	assert_string_equal(m.name, "tmp-one");
	/* The graph root's list comes first; an empty one is fine. */
	put_str(STORAGE "containers.json", "[]");
	assert_int_equal(read_tmp(RUNTIME_PODMAN, PODMAN, &m), 0);
	assert_string_equal(m.name, "tmp-one");
	put_str(STORAGE "containers.json",
		"[{\"id\":\"" PODMAN "\",\"names\":[\"kept\"]}]");
	assert_int_equal(read_tmp(RUNTIME_PODMAN, PODMAN, &m), 0);
	assert_string_equal(m.name, "kept");
	/* A malformed list is reported. */
	put_str(STORAGE "containers.json", "{\"id\":\"" PODMAN "\"}");
	assert_int_equal(read_tmp(RUNTIME_PODMAN, PODMAN, &m), -EBADMSG);
	/* CRI-O does not look at podman's lists; config.json in var/lib. */
	assert_int_equal(read_tmp(RUNTIME_CRIO, PODMAN, &m), 0);
	assert_string_equal(m.name, "");
}

/* ---- pure parsers ------------------------------------------------------------- */

enum parser { OCI, DOCKER_CFG, PODMAN_LIST };

static int parse(enum parser p, const char *json, size_t len,
		 struct container_meta *m)
{
	switch (p) {
	case OCI:
		return container_meta__parse_oci_config(json, len, m);
	case DOCKER_CFG:
		return container_meta__parse_docker_config(json, len, m);
	case PODMAN_LIST:
		return container_meta__parse_podman(json, len, m);
	}
	return -1;
}

/* 253 and 254 bytes of 'a': name[] holds 255 bytes and the NUL. */
#define A253 \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define LONG_A A253 "a"
#define ANN(kv) "{\"annotations\":{" kv "}}"
#define ENTRY(rest) "[{\"id\":\"" PODMAN "\"" rest "}]"

static const struct parse_case {
	enum parser parser;
	const char *json;
	int ret;
	const char *name, *pod_name, *image;
	bool sandbox;
} parse_cases[] = {
	/* containerd's CRI sandbox: no container name. */
	{ OCI, ANN("\"io.kubernetes.cri.container-type\":\"sandbox\","
		   "\"io.kubernetes.cri.sandbox-name\":\"web-0\","
		   "\"io.kubernetes.cri.image-name\":\"registry.k8s.io/pause:3.9\""),
	  0, "", "web-0", "registry.k8s.io/pause:3.9", true },
	{ OCI, "{\"ociVersion\":\"1.0.2\"}", 0, "", "", "", false },
	{ OCI, "{\"annotations\":null}", 0, "", "", "", false },
	{ OCI, ANN(""), 0, "", "", "", false },
	{ OCI, "{\"annotations\":[]}", -EBADMSG, "", "", "", false },
	{ OCI, "{\"annotations\":\"x\"}", -EBADMSG, "", "", "", false },
	{ OCI, "[{\"annotations\":{}}]", -EBADMSG, "", "", "", false },
	{ OCI, "null", -EBADMSG, "", "", "", false },
	/* Values of the wrong type are skipped, the rest is read. */
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":42,"
		   "\"io.kubernetes.cri.sandbox-name\":\"p\","
		   "\"io.kubernetes.cri.image-name\":{\"a\":1},"
		   "\"io.kubernetes.cri.container-type\":[\"sandbox\"]"),
	  0, "", "p", "", false },
	/* A wrong-typed CRI key falls back to the CRI-O one. */
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":null,"
		   "\"io.kubernetes.container.name\":\"c\""),
	  0, "c", "", "", false },
	/* CRI wins over CRI-O; ImageName over Image. */
	{ OCI, ANN("\"io.kubernetes.container.name\":\"crio\","
		   "\"io.kubernetes.cri.container-name\":\"cri\","
		   "\"io.kubernetes.cri-o.Image\":\"sha\","
		   "\"io.kubernetes.cri-o.ImageName\":\"img\""),
	  0, "cri", "", "img", false },
	{ OCI, ANN("\"io.kubernetes.cri-o.ContainerType\":\"sandbox\""), 0,
	  "", "", "", true },
	{ OCI, ANN("\"io.kubernetes.cri-o.ContainerType\":\"Sandbox\""), 0,
	  "", "", "", false },
	/* Control characters (terminal escapes, newlines) are defused. */
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"a\\nb\\u001b[31mc\\u007f\""),
	  0, "a?b?[31mc?", "", "", false },
	/* An escaped NUL ends the string. */
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"ab\\u0000cd\""), 0,
	  "ab", "", "", false },
	/* Too long: cut to 255 bytes, and not inside a character. */
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"" LONG_A "b\xc3\xa9\""),
	  0, LONG_A "b", "", "", false },
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"" LONG_A "\xc3\xa9z\""),
	  0, LONG_A, "", "", false },
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"" LONG_A "\xc3\xa9\""),
	  0, LONG_A, "", "", false },
	/* 253 + 2 bytes: fits. */
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"" A253 "\xc3\xa9\""),
	  0, A253 "\xc3\xa9", "", "", false },
	{ OCI, ANN("\"io.kubernetes.cri.container-name\":\"" LONG_A "bcdef\""),
	  0, LONG_A "b", "", "", false },

	{ DOCKER_CFG, "{\"Name\":\"web\"}", 0, "web", "", "", false },
	{ DOCKER_CFG, "{\"Name\":\"/\"}", 0, "", "", "", false },
	{ DOCKER_CFG, "{\"Name\":\"/a\",\"Config\":null}", 0, "a", "", "",
	  false },
	{ DOCKER_CFG, "{\"Name\":\"/a\",\"Config\":{\"Labels\":null,"
		      "\"Image\":7}}", 0, "a", "", "", false },
	{ DOCKER_CFG, "{\"Name\":\"/a\",\"Config\":{\"Labels\":{"
		      "\"io.kubernetes.container.name\":5,"
		      "\"io.kubernetes.pod.name\":\"p\","
		      "\"io.kubernetes.docker.type\":\"podsandbox\"}}}",
	  0, "a", "p", "", true },
	{ DOCKER_CFG, "{\"Config\":[]}", -EBADMSG, "", "", "", false },
	{ DOCKER_CFG, "{\"Config\":{\"Labels\":\"x\"}}", -EBADMSG, "", "", "",
	  false },
	{ DOCKER_CFG, "[]", -EBADMSG, "", "", "", false },

	{ PODMAN_LIST, ENTRY(",\"names\":[\"n\"],\"metadata\":\"{\\\"image-name\\\":\\\"img\\\",\\\"name\\\":\\\"m\\\"}\""),
	  0, "n", "", "img", false },
	/* No names: the metadata's name. */
	{ PODMAN_LIST, ENTRY(",\"metadata\":\"{\\\"name\\\":\\\"m\\\"}\""), 0,
	  "m", "", "", false },
	{ PODMAN_LIST, ENTRY(",\"names\":[],\"metadata\":\"{\\\"name\\\":\\\"m\\\"}\""),
	  0, "m", "", "", false },
	/* Odd values: skipped. */
	{ PODMAN_LIST, ENTRY(",\"names\":[3],\"metadata\":\"not json\""), 0,
	  "", "", "", false },
	{ PODMAN_LIST, ENTRY(",\"names\":\"n\",\"metadata\":{\"name\":\"m\"}"),
	  0, "", "", "", false },
	{ PODMAN_LIST, ENTRY(",\"names\":[\"n\"],\"metadata\":\"[1]\""), 0, "n",
	  "", "", false },
	{ PODMAN_LIST, ENTRY(",\"metadata\":\"{\\\"image-name\\\":1}\""), 0, "",
	  "", "", false },
	/* Another id, no id, an id of the wrong type: not this one. */
	{ PODMAN_LIST, "[{\"id\":\"" CTRD_K8S "\",\"names\":[\"n\"]}]", -ENOENT,
	  "", "", "", false },
	{ PODMAN_LIST, "[{\"names\":[\"n\"]},{\"id\":7}]", -ENOENT, "", "", "",
	  false },
	{ PODMAN_LIST, "[]", -ENOENT, "", "", "", false },
	{ PODMAN_LIST, "{}", -EBADMSG, "", "", "", false },
	{ PODMAN_LIST, "[[]]", -EBADMSG, "", "", "", false },
	{ PODMAN_LIST, "[1]", -EBADMSG, "", "", "", false },
};

static void test_parsers(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]);
	     i++) {
		const struct parse_case *c = &parse_cases[i];
		struct container_meta m;
		int ret;

		memset(&m, 0, sizeof(m));
		memcpy(m.id, PODMAN, sizeof(m.id));
		ret = parse(c->parser, c->json, strlen(c->json), &m);
		if (ret != c->ret)
			fail_msg("case %zu: %d, want %d: %s", i, ret, c->ret,
				 c->json);
		if (ret)
			continue;
		if (strcmp(m.name, c->name) || strcmp(m.pod_name, c->pod_name) ||
		    strcmp(m.image, c->image) || m.sandbox != c->sandbox)
			fail_msg("case %zu: name '%s' pod '%s' image '%s' "
				 "sandbox %d", i, m.name, m.pod_name, m.image,
				 m.sandbox);
		/* Never touched by the parsers. */
		assert_string_equal(m.id, PODMAN);
		assert_int_equal(m.runtime, RUNTIME_NONE);
	}
}

static void test_parser_args(void **state)
{
	struct container_meta m;
	size_t len;
	char *doc;

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(container_meta__parse_oci_config(NULL, 0, &m),
			 -EINVAL);
	assert_int_equal(container_meta__parse_oci_config("{}", 2, NULL),
			 -EINVAL);
	assert_int_equal(container_meta__parse_docker_config(NULL, 1, &m),
			 -EINVAL);
	/* podman needs out->id to pick the entry. */
	assert_int_equal(container_meta__parse_podman("[]", 2, &m), -EINVAL);
	strcpy(m.id, "../x");
	assert_int_equal(container_meta__parse_podman("[]", 2, &m), -EINVAL);
	/* len is what counts, not a NUL. */
	assert_int_equal(container_meta__parse_oci_config("{}xyz", 2, &m), 0);
	assert_int_equal(container_meta__parse_oci_config("{}", 1, &m),
			 -EBADMSG);
	assert_int_equal(container_meta__parse_oci_config("{}", 0, &m),
			 -EBADMSG);
	doc = nested(10000, &len);
	assert_int_equal(container_meta__parse_oci_config(doc, len, &m),
			 -EBADMSG);
	assert_int_equal(container_meta__parse_docker_config(doc, len, &m),
			 -EBADMSG);
	memcpy(m.id, PODMAN, sizeof(m.id));
	assert_int_equal(container_meta__parse_podman(doc, len, &m), -EBADMSG);
	free(doc);
}

/* Reads a fixture file into memory (they are small). */
static char *slurp(const char *rel, size_t *len)
{
	char path[2 * PATH_MAX];
	char *buf = malloc(1 << 16);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fixtures, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(buf);
	*len = fread(buf, 1, 1 << 16, f);
	assert_true(*len > 0 && *len < 1 << 16);
	fclose(f);
	return buf;
}

/*
 * Every byte of each real document set to a few values, and every prefix:
 * no crash, no read out of bounds (ASan), only the documented results.
 */
static void test_mutations(void **state)
{
	static const struct {
		enum parser parser;
		const char *rel;
	} docs[] = {
		{ OCI, TASKS "/k8s.io/" CTRD_K8S "/config.json" },
		{ PODMAN_LIST, STORAGE "containers.json" },
		{ DOCKER_CFG, DOCKER_DIR DOCKER_K8S "/config.v2.json" },
	};
	static const char bytes[] = { '"', '{', '[', ']', '\\', '\0', 'x',
				      '\xc3', '\x80' };

	(void)state;
	for (size_t d = 0; d < sizeof(docs) / sizeof(docs[0]); d++) {
		size_t len;
		char *orig = slurp(docs[d].rel, &len);
		char *buf = malloc(len);

		assert_non_null(buf);
		for (size_t i = 0; i < len; i++) {
			for (size_t b = 0; b <= sizeof(bytes); b++) {
				struct container_meta m;
				int ret;

				memset(&m, 0, sizeof(m));
				memcpy(m.id, PODMAN, sizeof(m.id));
				memcpy(buf, orig, len);
				if (b < sizeof(bytes))
					buf[i] = bytes[b];
				/* b == sizeof(bytes): the prefix of i bytes */
				ret = parse(docs[d].parser, buf,
					    b < sizeof(bytes) ? len : i, &m);
				assert_true(ret == 0 || ret == -EBADMSG ||
					    ret == -ENOENT);
				assert_true(strlen(m.name) < sizeof(m.name));
				assert_true(strlen(m.image) < sizeof(m.image));
			}
		}
		free(buf);
		free(orig);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_fixtures),
		cmocka_unit_test(test_read_missing),
		cmocka_unit_test(test_read_bad_args),
		cmocka_unit_test_setup_teardown(test_hostile_content,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test_setup_teardown(test_hostile_depth,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test_setup_teardown(test_hostile_size,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test_setup_teardown(test_hostile_file_types,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test_setup_teardown(test_symlinks_stay_in_root,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test_setup_teardown(test_containerd_namespaces,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test_setup_teardown(test_podman_lists,
						make_tmp_root, remove_tmp_root),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_parser_args),
		cmocka_unit_test(test_mutations),
	};

	setup_paths();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
