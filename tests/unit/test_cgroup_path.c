// SPDX-License-Identifier: MIT
/*
 * Unit tests of the cgroup path parser (cgroup/cgroup_path.c).
 *
 * Table-driven: each row is a path as /proc/PID/cgroup shows it and what it
 * must give. Rows marked "seen" are the paths the real runtimes made on the
 * development machine (containerd 1.6 with `ctr run --cgroup`, podman 4.3
 * with the cgroupfs manager); the others follow the kubelet's and the
 * runtimes' naming rules.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup_path.h"

#define ID "b54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc69f"
#define ID2 "795b93733824a9b135b7758b38d18d108b258f15b11c3ee062c4ec7dff4319a1"
#define NODE "8aa8f80fc7f5646276f180302347861f57deee581919ad95d54701184a8f1d68"
#define ID63 "b54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc69"
#define ID65 ID "0"
#define IDUP "B54991FFB7A4382DCA1FC62EC664077D60ECAED7A25852F446164F46F34DC69F"
#define IDG "g54991ffb7a4382dca1fc62ec664077d60ecaed7a25852f446164f46f34dc69f"
#define UID "9f537c10-6f76-4026-8e36-af0f8f93f3e0"
#define UID_ "9f537c10_6f76_4026_8e36_af0f8f93f3e0"
#define UIDUP "9F537C10-6F76-4026-8E36-AF0F8F93F3E0"
#define UIDBAD "9f537c10-6f76-4026-8e36af0-f8f93f3e0"	/* dash moved */
#define STATIC "6b4a7b5b0e3f8a7c9d1e2f3a4b5c6d7e"	/* 32 hex: static pod */
#define PODID "bf0ebe1b6964a210f8ee16b039996abc76b816080bfcbfa706a643571f0d5f32"

#define SD_BURST "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
#define SD_BEST "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod"
#define SD_GUAR "/kubepods.slice/kubepods-pod"
#define KIND "/kubelet.slice/kubelet-kubepods.slice/" \
	     "kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod"

#define C RUNTIME_CONTAINERD
#define O RUNTIME_CRIO
#define D RUNTIME_DOCKER
#define P RUNTIME_PODMAN
#define N RUNTIME_NONE

static const struct path_case {
	const char *path;
	enum cgroup_runtime runtime;
	const char *id, *uid;
	enum cgroup_qos qos;
} cases[] = {
	/* kubelet, cgroupfs driver; a bare id is containerd's CRI plugin. */
	{ "/kubepods/burstable/pod" UID "/" ID, C, ID, UID, QOS_BURSTABLE },
	/* seen: ctr run --cgroup, the hybrid machine's v1 and v2 lines */
	{ "/kubepods/besteffort/pod" UID "/" ID, C, ID, UID, QOS_BESTEFFORT },
	{ "/kubepods/pod" UID "/" ID, C, ID, UID, QOS_GUARANTEED },
	{ "/kubepods/burstable/pod" UID "/crio-" ID, O, ID, UID,
	  QOS_BURSTABLE },
	{ "/kubepods/pod" STATIC "/" ID, C, ID, STATIC, QOS_GUARANTEED },
	{ "/kubelet/kubepods/besteffort/pod" UID "/" ID, C, ID, UID,
	  QOS_BESTEFFORT },
	/* Pod-level and QoS-level cgroups: no container. */
	{ "/kubepods/burstable/pod" UID, N, "", UID, QOS_BURSTABLE },
	{ "/kubepods/pod" UID, N, "", UID, QOS_GUARANTEED },
	{ "/kubepods/besteffort", N, "", "", QOS_BESTEFFORT },
	{ "/kubepods", N, "", "", QOS_NONE },
	/* A kind node (a docker container) running pods: the inner wins. */
	{ "/docker/" NODE "/kubepods/besteffort/pod" UID "/" ID, C, ID, UID,
	  QOS_BESTEFFORT },
	{ "/docker/" NODE "/system.slice/containerd.service", D, NODE, "",
	  QOS_NONE },

	/* kubelet, systemd driver: underscores in the slice become dashes. */
	{ SD_BURST UID_ ".slice/cri-containerd-" ID ".scope", C, ID, UID,
	  QOS_BURSTABLE },
	{ SD_BEST UID_ ".slice/crio-" ID ".scope", O, ID, UID,
	  QOS_BESTEFFORT },
	{ SD_GUAR UID_ ".slice/docker-" ID ".scope", D, ID, UID,
	  QOS_GUARANTEED },
	{ SD_GUAR UID_ ".slice/cri-containerd-" ID ".scope", C, ID, UID,
	  QOS_GUARANTEED },
	{ SD_BURST STATIC ".slice/crio-" ID ".scope", O, ID, STATIC,
	  QOS_BURSTABLE },
	/* Below a container's scope: still that container. */
	{ SD_BURST UID_ ".slice/cri-containerd-" ID ".scope/container", C, ID,
	  UID, QOS_BURSTABLE },
	{ SD_BURST UID_ ".slice/crio-" ID ".scope/init.scope", O, ID, UID,
	  QOS_BURSTABLE },
	{ SD_BEST UID_ ".slice/crio-" ID ".scope/a/b/c", O, ID, UID,
	  QOS_BESTEFFORT },
	/* CRI-O's conmon, in the pod slice: the pod's, but no container. */
	{ SD_BURST UID_ ".slice/crio-conmon-" ID ".scope", N, "", UID,
	  QOS_BURSTABLE },
	{ "/system.slice/crio-conmon-" ID ".scope", N, "", "", QOS_NONE },
	{ "/machine.slice/libpod-conmon-" ID2 ".scope", N, "", "", QOS_NONE },
	/* conmon in a node container (minikube with CRI-O): the node's. */
	{ "/docker/" NODE SD_BURST UID_ ".slice/crio-conmon-" ID ".scope", D,
	  NODE, "", QOS_NONE },
	/* The pod slice itself and the QoS slice. */
	{ SD_BEST UID_ ".slice", N, "", UID, QOS_BESTEFFORT },
	{ SD_GUAR UID_ ".slice", N, "", UID, QOS_GUARANTEED },
	{ "/kubepods.slice/kubepods-besteffort.slice", N, "", "",
	  QOS_BESTEFFORT },
	{ "/kubepods.slice", N, "", "", QOS_NONE },
	/* kind's cgroup root adds "kubelet-" to every slice. */
	{ KIND UID_ ".slice/cri-containerd-" ID ".scope", C, ID, UID,
	  QOS_BESTEFFORT },
	{ "/system.slice/docker-" NODE ".scope" KIND UID_
	  ".slice/cri-containerd-" ID ".scope", C, ID, UID, QOS_BESTEFFORT },

	/* docker */
	{ "/docker/" ID, D, ID, "", QOS_NONE },
	{ "/system.slice/docker-" ID ".scope", D, ID, "", QOS_NONE },
	{ "/system.slice/docker-" NODE ".scope/docker/" ID, D, ID, "",
	  QOS_NONE },

	/* podman: seen, cgroupfs manager, alone and in a pod */
	{ "/libpod_parent/libpod-" ID2, P, ID2, "", QOS_NONE },
	{ "/libpod_parent/" PODID "/libpod-" ID2, P, ID2, "", QOS_NONE },
	{ "/libpod_parent/" PODID, N, "", "", QOS_NONE },
	{ "/libpod_parent/conmon", N, "", "", QOS_NONE },
	/* podman, systemd manager; rootful and rootless */
	{ "/machine.slice/libpod-" ID2 ".scope", P, ID2, "", QOS_NONE },
	{ "/machine.slice/libpod-" ID2 ".scope/container", P, ID2, "",
	  QOS_NONE },
	{ "/machine.slice/machine-libpod_pod_" PODID ".slice/libpod-" ID2
	  ".scope", P, ID2, "", QOS_NONE },
	{ "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-"
	  ID2 ".scope", P, ID2, "", QOS_NONE },

	/* containerd without kubernetes: seen, /<namespace>/<id> */
	{ "/default/" NODE, C, NODE, "", QOS_NONE },
	{ "/k8s.io/" ID, C, ID, "", QOS_NONE },
	{ "/" ID, C, ID, "", QOS_NONE },

	/* host */
	{ "/", N, "", "", QOS_NONE },
	{ "/system.slice/ssh.service", N, "", "", QOS_NONE },
	{ "/system.slice/containerd.service", N, "", "", QOS_NONE },
	{ "/user.slice/user-0.slice/session-1.scope", N, "", "", QOS_NONE },
	{ "/init.scope", N, "", "", QOS_NONE },
	{ "//system.slice//ssh.service/", N, "", "", QOS_NONE },
	{ "/docker/" ID "/", D, ID, "", QOS_NONE },

	/* Look-alikes: not containers, not pods; the rest still parses. */
	{ "/docker/" ID63, N, "", "", QOS_NONE },
	{ "/docker/" ID65, N, "", "", QOS_NONE },
	{ "/docker/" IDUP, N, "", "", QOS_NONE },
	{ "/docker/" IDG, N, "", "", QOS_NONE },
	{ "/system.slice/docker-" ID ".scopex", N, "", "", QOS_NONE },
	{ "/system.slice/docker-" ID ".slice", N, "", "", QOS_NONE },
	{ "/system.slice/xocker-" ID ".scope", N, "", "", QOS_NONE },
	{ SD_BEST UID_ ".scope/" ID, C, ID, "", QOS_BESTEFFORT },
	{ "/system.slice/docker-" ID63 ".scope", N, "", "", QOS_NONE },
	{ "/system.slice/docker_" ID ".scope", N, "", "", QOS_NONE },
	{ "/system.slice/cri-containerd-" ID, N, "", "", QOS_NONE },
	{ "/machine.slice/libpod-" ID2 "-x.scope", N, "", "", QOS_NONE },
	{ "/kubepods/burstable/pod" UIDBAD "/" ID, C, ID, "", QOS_BURSTABLE },
	{ "/kubepods/burstable/pod" UIDUP "/" ID, C, ID, "", QOS_BURSTABLE },
	{ "/kubepods/besteffort/pod" UID_ "/" ID, C, ID, "", QOS_BESTEFFORT },
	{ "/kubepods/besteffort/pod" UID "x/" ID, C, ID, "", QOS_BESTEFFORT },
	{ "/kubepods/besteffort/pod/" ID, C, ID, "", QOS_BESTEFFORT },
	{ "/kubepods/besteffort/pod" STATIC "0/" ID, C, ID, "",
	  QOS_BESTEFFORT },
	{ "/elsewhere/pod" UID "/" ID, C, ID, "", QOS_NONE },
	{ "/kubepods/other/pod" UID "/" ID, C, ID, "", QOS_NONE },
	{ "/other/burstable/pod" UID "/" ID, C, ID, "", QOS_NONE },
	{ "/other/besteffort", N, "", "", QOS_NONE },
	{ SD_BURST UID ".slice/crio-" ID ".scope", O, ID, "", QOS_BURSTABLE },
	{ "/kubepods.slice/xkubepods-pod" UID_ ".slice", N, "", "",
	  QOS_NONE },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slicex", N, "", "",
	  QOS_NONE },
	{ "/pod" UID, N, "", "", QOS_NONE },
	{ "/kubepods/burstable/crio-conmon-" ID, N, "", "", QOS_BURSTABLE },
};

#undef C
#undef O
#undef D
#undef P
#undef N

static void check_case(size_t i, const struct path_case *c)
{
	struct cgroup_info info;
	int ret;

	memset(&info, 0xa5, sizeof(info));
	ret = cgroup_path__parse(c->path, &info);
	if (ret != 0)
		fail_msg("case %zu %s: ret %d", i, c->path, ret);
	if (info.runtime != c->runtime || strcmp(info.container_id, c->id) ||
	    strcmp(info.pod_uid, c->uid) || info.qos != c->qos)
		fail_msg("case %zu %s:\n got  %s '%s' '%s' %s\n want %s '%s' "
			 "'%s' %s", i, c->path,
			 cgroup_runtime__name(info.runtime), info.container_id,
			 info.pod_uid, cgroup_qos__name(info.qos),
			 cgroup_runtime__name(c->runtime), c->id, c->uid,
			 cgroup_qos__name(c->qos));
}

static void test_layouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		check_case(i, &cases[i]);
}

/* Paths that are not cgroup paths at all: -EINVAL and a zeroed *info. */
static void expect_einval(const char *path)
{
	struct cgroup_info info, zero;

	memset(&info, 0xa5, sizeof(info));
	memset(&zero, 0, sizeof(zero));
	if (cgroup_path__parse(path, &info) != -EINVAL)
		fail_msg("'%.60s' should be -EINVAL", path ? path : "(null)");
	assert_memory_equal(&info, &zero, sizeof(info));
}

static void test_junk(void **state)
{
	static const char *const junk[] = {
		"", "relative/path", "docker/" ID, ".", "..", "/..", "/.",
		"/docker/../" ID, "/docker/./" ID, "/kubepods/" ID "/..",
		" /docker/" ID,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		expect_einval(junk[i]);
	expect_einval(NULL);
	assert_int_equal(cgroup_path__parse("/", NULL), -EINVAL);
}

/* A string of n bytes: '/' then "a/" repeated, or a path whose tail is id. */
static char *make_path(size_t n, const char *tail)
{
	size_t tl = strlen(tail);
	char *p = malloc(n + 1);

	assert_non_null(p);
	assert_true(n > tl + 1);
	for (size_t i = 0; i < n; i++)
		p[i] = i % 2 ? 'a' : '/';
	memcpy(p + n - tl, tail, tl);
	p[n - tl - 1] = '/';
	p[n] = '\0';
	return p;
}

static void test_lengths(void **state)
{
	struct cgroup_info info;
	char comp[300], path[400];
	char *p;

	(void)state;
	/* 4095 bytes (PATH_MAX with its NUL) is fine, 4096 is not. */
	p = make_path(CGROUP_PATH_MAX - 1, "docker/" ID);
	assert_int_equal(cgroup_path__parse(p, &info), 0);
	assert_int_equal(info.runtime, RUNTIME_DOCKER);
	assert_string_equal(info.container_id, ID);
	free(p);
	p = make_path(CGROUP_PATH_MAX, "docker/" ID);
	expect_einval(p);
	free(p);
	p = make_path(1 << 20, "docker/" ID);
	expect_einval(p);
	free(p);

	/* A component of NAME_MAX (255) bytes is fine, 256 is not. */
	memset(comp, 'x', sizeof(comp));
	snprintf(path, sizeof(path), "/%.255s/docker/%s", comp, ID);
	assert_int_equal(cgroup_path__parse(path, &info), 0);
	assert_int_equal(info.runtime, RUNTIME_DOCKER);
	snprintf(path, sizeof(path), "/%.256s/docker/%s", comp, ID);
	expect_einval(path);
}

/* Every single-byte change of a good path parses without a crash. */
static void test_mutations(void **state)
{
	static const char *const seeds[] = {
		SD_BURST UID_ ".slice/cri-containerd-" ID ".scope/container",
		"/kubepods/burstable/pod" UID "/crio-" ID,
		"/libpod_parent/" PODID "/libpod-" ID2,
	};
	static const char bytes[] = { '/', '-', '_', '.', 'a', 'F', '0', ' ',
				      '\x80', '\xff' };
	struct cgroup_info info;
	char buf[512];

	(void)state;
	for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
		size_t n = strlen(seeds[s]);

		for (size_t i = 0; i < n; i++) {
			for (size_t b = 0; b < sizeof(bytes); b++) {
				int ret;

				memcpy(buf, seeds[s], n + 1);
				buf[i] = bytes[b];
				ret = cgroup_path__parse(buf, &info);
				assert_true(ret == 0 || ret == -EINVAL);
				assert_true(strlen(info.container_id) == 0 ||
					    strlen(info.container_id) ==
						    CONTAINER_ID_LEN);
				assert_true(info.runtime <= RUNTIME_PODMAN);
				assert_true(info.qos <= QOS_BESTEFFORT);
			}
			/* and every prefix */
			memcpy(buf, seeds[s], i);
			buf[i] = '\0';
			assert_true(cgroup_path__parse(buf, &info) ==
					    (i ? 0 : -EINVAL));
		}
	}
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(cgroup_runtime__name(RUNTIME_NONE), "host");
	assert_string_equal(cgroup_runtime__name(RUNTIME_CONTAINERD),
			    "containerd");
	assert_string_equal(cgroup_runtime__name(RUNTIME_CRIO), "cri-o");
	assert_string_equal(cgroup_runtime__name(RUNTIME_DOCKER), "docker");
	assert_string_equal(cgroup_runtime__name(RUNTIME_PODMAN), "podman");
	assert_string_equal(cgroup_runtime__name((enum cgroup_runtime)99),
			    "unknown");
	assert_string_equal(cgroup_runtime__name((enum cgroup_runtime)-1),
			    "unknown");
	assert_string_equal(cgroup_qos__name(QOS_NONE), "");
	assert_string_equal(cgroup_qos__name(QOS_GUARANTEED), "guaranteed");
	assert_string_equal(cgroup_qos__name(QOS_BURSTABLE), "burstable");
	assert_string_equal(cgroup_qos__name(QOS_BESTEFFORT), "besteffort");
	assert_string_equal(cgroup_qos__name((enum cgroup_qos)7), "");
}

/* linux.cgroupsPath as runc places it, cgroupfs and systemd forms. */
static void test_from_oci(void **state)
{
	static const struct { const char *in, *want; } ok[] = {
		{ "/kubepods/besteffort/pod1/abc", "/kubepods/besteffort/pod1/abc" },
		{ "/kubepods/abc/", "/kubepods/abc" },
		{ "relative/x", "/relative/x" },
		{ "/", "/" },
		{ "kubepods-besteffort-pod1_2.slice:cri-containerd:abc",
		  "/kubepods.slice/kubepods-besteffort.slice/"
		  "kubepods-besteffort-pod1_2.slice/cri-containerd-abc.scope" },
		{ "machine.slice:libpod:abc", "/machine.slice/libpod-abc.scope" },
		{ ":docker:abc", "/system.slice/docker-abc.scope" },
		{ "-.slice:crio:abc", "/crio-abc.scope" },
		{ "user.slice:x:sub.slice", "/user.slice/sub.slice" },
	};
	static const char *const bad[] = {
		"", "a:b", "a.slice:b:c:d", "nope:crio:abc", "a--b.slice:p:n",
		"-a.slice:p:n", "a-.slice:p:n", "a.slice:p:", "a.slice:p:x/y",
		"a/b.slice:p:n",
	};
	char buf[256];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(cgroup_path__from_oci(ok[i].in, buf, sizeof(buf)), 0);
		assert_string_equal(buf, ok[i].want);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("  bad: %s\n", bad[i]);
		assert_int_equal(cgroup_path__from_oci(bad[i], buf, sizeof(buf)),
				 -EINVAL);
	}
	assert_int_equal(cgroup_path__from_oci("machine.slice:libpod:abc", buf,
					       20), -ENAMETOOLONG);
	assert_int_equal(cgroup_path__from_oci("/abcdef", buf, 7), -ENAMETOOLONG);
}

static void test_within(void **state)
{
	(void)state;
	assert_true(cgroup_path__within("/a/b", "/a/b"));
	assert_true(cgroup_path__within("/a/b/c", "/a/b"));
	assert_true(cgroup_path__within("/a/b/c", "/a/b/"));
	assert_true(cgroup_path__within("/a", "/"));
	assert_false(cgroup_path__within("/a/bc", "/a/b"));
	assert_false(cgroup_path__within("/a", "/a/b"));
	assert_false(cgroup_path__within("/x/a/b", "/a/b"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_junk),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_from_oci),
		cmocka_unit_test(test_within),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
