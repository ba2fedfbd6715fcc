// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the cgroup parsers (cgroup/).
 *  - cgroup_path__parse() on the whole input and on each line;
 *  - cgroup__parse_mountinfo_line() on each line (its own mutable copy),
 *    then cgroup__v2_dir() with the mount point it found and the input;
 *  - cgroup__find_v2_mount() and cgroup__find_v1_mount() on the input as a
 *    mountinfo file (a memfd, opened by its /proc/self/fd path), when it
 *    has a " - " separator;
 *  - cgroup_path__from_oci() on each line, into a small and a large buffer.
 * Every result is checked against what cgroup_path.h promises.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "cgroup_path.h"
#include "fuzz_common.h"

static bool all_lhex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

/* 8-4-4-4-12 lowercase hex with dashes, or 32 lowercase hex. */
static bool valid_uid(const char *u)
{
	size_t n = strlen(u);

	if (n == 32)
		return all_lhex(u);
	if (n != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = u[i];

		if (dash ? c != '-' :
			   !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

static void parse_path(const char *path)
{
	static const struct cgroup_info zero;
	struct cgroup_info info;
	int ret;

	memset(&info, 0xa5, sizeof(info));
	ret = cgroup_path__parse(path, &info);
	FUZZ_CHECK(ret == 0 || ret == -EINVAL);
	if (ret) {
		FUZZ_CHECK(!memcmp(&info, &zero, sizeof(info)));
		return;
	}
	FUZZ_CHECK(path[0] == '/' && strlen(path) < CGROUP_PATH_MAX);
	FUZZ_CHECK(info.runtime <= RUNTIME_PODMAN);
	FUZZ_CHECK(info.qos <= QOS_BESTEFFORT);
	FUZZ_CHECK(strnlen(info.container_id, sizeof(info.container_id)) <
		   sizeof(info.container_id));
	FUZZ_CHECK(strnlen(info.pod_uid, sizeof(info.pod_uid)) <
		   sizeof(info.pod_uid));
	/* A container id is 64 lowercase hex, read from the path itself. */
	if (info.container_id[0]) {
		FUZZ_CHECK(strlen(info.container_id) == CONTAINER_ID_LEN);
		FUZZ_CHECK(all_lhex(info.container_id));
		FUZZ_CHECK(strstr(path, info.container_id));
	}
	FUZZ_CHECK((info.runtime == RUNTIME_NONE) == !info.container_id[0]);
	if (info.pod_uid[0])
		FUZZ_CHECK(valid_uid(info.pod_uid));
	FUZZ_CHECK(strcmp(cgroup_runtime__name(info.runtime), "unknown"));
	FUZZ_CHECK(cgroup_qos__name(info.qos) != NULL);
}

/* An OCI cgroupsPath: an absolute path that fits, or an error. */
static void from_oci(const char *cgroups_path)
{
	char small[24], big[PATH_MAX];
	int ret = cgroup_path__from_oci(cgroups_path, big, sizeof(big));

	FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENAMETOOLONG);
	if (ret == 0) {
		FUZZ_CHECK(big[0] == '/' && strlen(big) < sizeof(big));
		FUZZ_CHECK(cgroup_path__within(big, big));
	}
	ret = cgroup_path__from_oci(cgroups_path, small, sizeof(small));
	FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENAMETOOLONG);
	if (ret == 0)
		FUZZ_CHECK(small[0] == '/' && strlen(small) < sizeof(small));
}

static void v2_dir(const char *mount, const char *path)
{
	char buf[PATH_MAX];
	int ret = cgroup__v2_dir(mount, path, buf, sizeof(buf));

	FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENAMETOOLONG);
	if (ret == 0)
		FUZZ_CHECK(strlen(buf) < sizeof(buf));
}

static void parse_mountinfo(const uint8_t *p, size_t n, const char *whole)
{
	char *line = fuzz_strndup(p, n);
	const char *mp = NULL;
	int ret = cgroup__parse_mountinfo_line(line, &mp);

	FUZZ_CHECK(ret == 1 || ret == 0 || ret == -EINVAL);
	if (ret == 1) {
		/* Unescaping only shortens: the mount point stays in line. */
		FUZZ_CHECK(mp && mp >= line && mp + strlen(mp) <= line + n);
		v2_dir(mp, whole);
		v2_dir(mp, "/kubepods/burstable");
	}
	free(line);
}

static void check_found(int ret, const char *buf, size_t len)
{
	FUZZ_CHECK(ret == 0 || ret == -ENOENT || ret == -ENAMETOOLONG);
	if (ret == 0)
		FUZZ_CHECK(strnlen(buf, len) < len);
}

/*
 * Opening a file is slow (tens of microseconds), so only inputs with a
 * mountinfo separator are read as files, twice; the input's length chooses
 * the controller and whether the buffer is small.
 */
static void find_mounts(const uint8_t *data, size_t size)
{
	const char *controller = size & 1 ? "memory" : "cpu";
	size_t len = size & 2 ? 16 : PATH_MAX;
	char buf[PATH_MAX], path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d",
		 fuzz_memfd(data, size));
	check_found(cgroup__find_v2_mount(path, buf, len), buf, len);
	check_found(cgroup__find_v1_mount(path, controller, buf, len),
		    buf, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size, *line;
	char *whole = fuzz_strndup(data, size);
	size_t n;

	parse_path(whole);
	v2_dir("/sys/fs/cgroup", whole);
	while (fuzz_next_line(&p, end, 0, &line, &n)) {
		char *path = fuzz_strndup(line, n);

		parse_path(path);
		from_oci(path);
		free(path);
		/* mountinfo lines come from fgets(): with their '\n'. */
		parse_mountinfo(line, n < (size_t)(end - line) ? n + 1 : n,
				whole);
	}
	free(whole);
	if (size >= 3 && memmem(data, size, " - ", 3))
		find_mounts(data, size);
	return 0;
}
