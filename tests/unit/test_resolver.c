// SPDX-License-Identifier: MIT
/*
 * Unit tests of the resolver's attribution check (container/resolver.c):
 * a cgroup tree made in a temporary folder as a hierarchy root, and
 * containerd task bundles (config.json with annotations and
 * linux.cgroupsPath) under a temporary host root. A tenant's own
 * sub-cgroup named like another pod's container is not attributed to it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "resolver.h"
#include "select.h"

#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define UID_A "11111111-2222-3333-4444-555555555555"
#define UID_B "66666666-7777-8888-9999-000000000000"
#define UID_C "12345678-1234-1234-1234-123456789abc"
#define UID_C_ "12345678_1234_1234_1234_123456789abc"

#define POD_A "/kubepods/besteffort/pod" UID_A
#define POD_B "/kubepods/besteffort/pod" UID_B
#define SLICE_C "/kubepods.slice/kubepods-besteffort.slice/" \
		"kubepods-besteffort-pod" UID_C_ ".slice"

static char tmp[PATH_MAX / 2], cg[PATH_MAX], host[PATH_MAX];

static void mkdirs(const char *base, const char *rel)
{
	char path[PATH_MAX * 2];
	size_t n = (size_t)snprintf(path, sizeof(path), "%s/%s", base, rel);

	for (size_t i = strlen(base) + 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			fail_msg("mkdir %s: %s", path, strerror(errno));
		path[i] = i < n ? '/' : '\0';
	}
}

/* A containerd task bundle, as the CRI plugin writes it. */
static void bundle(const char *id, const char *name, const char *pod,
		   const char *uid, const char *cgroups_path)
{
	char rel[PATH_MAX / 2], path[PATH_MAX * 2];
	FILE *f;

	snprintf(rel, sizeof(rel),
		 "run/containerd/io.containerd.runtime.v2.task/k8s.io/%s", id);
	mkdirs(host, rel);
	snprintf(path, sizeof(path), "%s/%s/config.json", host, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"ociVersion\": \"1.0.2\", \"linux\": {\"cgroupsPath\": \"%s\"},"
		" \"annotations\": {"
		"\"io.kubernetes.cri.container-name\": \"%s\","
		"\"io.kubernetes.cri.sandbox-name\": \"%s\","
		"\"io.kubernetes.cri.sandbox-namespace\": \"shop\","
		"\"io.kubernetes.cri.sandbox-uid\": \"%s\"}}\n",
		cgroups_path, name, pod, uid);
	fclose(f);
}

static int setup(void **state)
{
	const char *base = getenv("SYSSCOPE_TEST_TMP");

	(void)state;
	snprintf(tmp, sizeof(tmp), "%s/resolver.XXXXXX", base ? base : "/tmp");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(cg, sizeof(cg), "%s/cg", tmp);
	snprintf(host, sizeof(host), "%s/host", tmp);
	return mkdir(cg, 0755) || mkdir(host, 0755);
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	return system(cmd) ? -1 : 0;
}

static const struct workload *find(const struct resolver *r, const char *path)
{
	for (size_t i = 0; i < resolver__count(r); i++)
		if (!strcmp(resolver__at(r, i)->path, path))
			return resolver__at(r, i);
	fail_msg("no workload at %s", path);
	return NULL;
}

static void test_impersonation_is_attributed_to_the_real_owner(void **state)
{
	const struct workload *w;
	struct selection sel;
	struct resolver *r;
	char msg[1024];

	(void)state;
	bundle(ID_A, "alpha", "pa", UID_A, POD_A "/" ID_A);
	bundle(ID_B, "beta", "pb", UID_B, POD_B "/" ID_B);
	bundle(ID_C, "gamma", "pc", UID_C,
	       "kubepods-besteffort-pod" UID_C_ ".slice:cri-containerd:" ID_C);
	/* The real ones, and a sub-cgroup B made in its own. */
	mkdirs(cg, POD_A "/" ID_A);
	mkdirs(cg, POD_B "/" ID_B "/init");
	mkdirs(cg, SLICE_C "/cri-containerd-" ID_C ".scope");
	/* What A, with a writable cgroupfs, makes below its own cgroup. */
	mkdirs(cg, POD_A "/" ID_A "/" ID_B);
	mkdirs(cg, POD_A "/" ID_A SLICE_C "/cri-containerd-" ID_C ".scope");
	/* A container's name where no container is. */
	mkdirs(cg, "/fake.slice/cri-containerd-" ID_B ".scope");

	r = resolver__new(cg, host);
	assert_non_null(r);
	assert_int_equal(resolver__scan(r), 0);

	w = find(r, POD_B "/" ID_B);
	assert_string_equal(w->container, "beta");
	assert_false(w->unverified);
	w = find(r, POD_B "/" ID_B "/init");
	assert_string_equal(w->container, "beta");
	assert_false(w->unverified);
	w = find(r, SLICE_C "/cri-containerd-" ID_C ".scope");
	assert_string_equal(w->container, "gamma");
	assert_false(w->unverified);

	/* Named like B, in A: A's, pod and all. */
	w = find(r, POD_A "/" ID_A "/" ID_B);
	assert_true(w->unverified);
	assert_string_equal(w->container, "alpha");
	assert_string_equal(w->info.container_id, ID_A);
	assert_string_equal(w->pod, "shop/pa");
	/* C's whole path made again below A: still A's. */
	w = find(r, POD_A "/" ID_A SLICE_C "/cri-containerd-" ID_C ".scope");
	assert_true(w->unverified);
	assert_string_equal(w->container, "alpha");
	assert_string_equal(w->pod, "shop/pa");
	/* No container around it: no container's. */
	w = find(r, "/fake.slice/cri-containerd-" ID_B ".scope");
	assert_true(w->unverified);
	assert_string_equal(w->container, "unverified cgroup");
	assert_int_equal(w->info.runtime, RUNTIME_NONE);
	assert_string_equal(w->pod, "");

	assert_int_equal(resolver__stats(r)->cgroup_mismatches, 3);

	/* By name, each is its real cgroup alone (A's takes the rest along). */
	assert_int_equal(select__workloads(r, SELECT_CONTAINER, "beta", &sel,
					   msg, sizeof(msg)), 0);
	assert_int_equal(sel.n, 1);
	assert_string_equal(sel.w[0]->path, POD_B "/" ID_B);
	assert_int_equal(select__workloads(r, SELECT_CONTAINER, "alpha", &sel,
					   msg, sizeof(msg)), 0);
	assert_int_equal(sel.n, 1);
	assert_string_equal(sel.w[0]->path, POD_A "/" ID_A);
	resolver__free(r);
}

/* A record without cgroupsPath: nothing to check, the path is believed. */
static void test_no_record_of_the_cgroup(void **state)
{
	char rel[PATH_MAX / 2], path[PATH_MAX * 2];
	const struct workload *w;
	struct resolver *r;
	FILE *f;

	(void)state;
	snprintf(rel, sizeof(rel),
		 "run/containerd/io.containerd.runtime.v2.task/default/%s", ID_B);
	mkdirs(host, rel);
	snprintf(path, sizeof(path), "%s/%s/config.json", host, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("{\"annotations\": {\"io.kubernetes.cri.container-name\": \"beta\"}}", f);
	fclose(f);
	mkdirs(cg, POD_A "/" ID_B);
	r = resolver__new(cg, host);
	assert_non_null(r);
	assert_int_equal(resolver__scan(r), 0);
	w = find(r, POD_A "/" ID_B);
	assert_string_equal(w->container, "beta");
	assert_false(w->unverified);
	assert_int_equal(resolver__stats(r)->cgroup_mismatches, 0);
	resolver__free(r);
}

/* A removed cgroup is forgotten; the others stay, found as before. */
static void test_gone_cgroups_are_forgotten(void **state)
{
	char path[PATH_MAX * 2];
	struct resolver *r;
	uint64_t kept_id;
	size_t before;

	(void)state;
	mkdirs(cg, POD_A "/" ID_A);
	mkdirs(cg, POD_B "/" ID_B);
	r = resolver__new(cg, host);
	assert_non_null(r);
	assert_int_equal(resolver__scan(r), 0);
	before = resolver__count(r);
	kept_id = find(r, POD_A "/" ID_A)->cgroup_id;
	assert_int_equal(resolver__forget_gone(r), 0);
	snprintf(path, sizeof(path), "%s" POD_B "/" ID_B, cg);
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(resolver__forget_gone(r), 1);
	assert_int_equal(resolver__count(r), before - 1);
	assert_int_equal(resolver__stats(r)->forgotten, 1);
	for (size_t i = 0; i < resolver__count(r); i++)
		assert_string_not_equal(resolver__at(r, i)->path, POD_B "/" ID_B);
	assert_ptr_equal(resolver__get(r, kept_id), find(r, POD_A "/" ID_A));
	resolver__free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_impersonation_is_attributed_to_the_real_owner,
			setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_record_of_the_cgroup,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone_cgroups_are_forgotten,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
