// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the container metadata parsers (container/).
 * The first byte chooses the parser (its value mod 3, so the seeds start
 * with a readable '0', '1' or '2'); the rest is the document, passed with
 * its length and no NUL terminator:
 *   '0'  container_meta__parse_oci_config     (config.json)
 *   '1'  container_meta__parse_docker_config  (config.v2.json)
 *   '2'  container_meta__parse_podman         (containers.json), looking
 *        for the id of the podman fixture (PODMAN_ID)
 * Then every string field must be bounded, free of control characters and
 * cut at a UTF-8 character boundary, as meta.h promises.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "meta.h"

#define PODMAN_ID \
	"795b93733824a9b135b7758b38d18d108b258f15b11c3ee062c4ec7dff4319a1"

/* Lead bytes each followed by their continuation bytes (structure only). */
static bool utf8_whole(const unsigned char *s)
{
	while (*s) {
		int more = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 :
			   (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : -1;

		if (more < 0)
			return false;
		for (s++; more > 0; more--, s++)
			if ((*s & 0xc0) != 0x80)
				return false;
	}
	return true;
}

static void check_string(const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		FUZZ_CHECK(c >= 0x20 && c != 0x7f);
	}
	FUZZ_CHECK(utf8_whole((const unsigned char *)s));
}

#define CHECK_FIELD(m, f) check_string((m)->f, sizeof((m)->f))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct container_meta m;
	const char *json;
	size_t len;
	int ret;

	if (size < 1)
		return 0;
	json = (const char *)data + 1;
	len = size - 1;
	memset(&m, 0, sizeof(m));
	switch (data[0] % 3) {
	case 0:
		ret = container_meta__parse_oci_config(json, len, &m);
		FUZZ_CHECK(ret == 0 || ret == -EBADMSG);
		FUZZ_CHECK(m.id[0] == '\0');
		break;
	case 1:
		ret = container_meta__parse_docker_config(json, len, &m);
		FUZZ_CHECK(ret == 0 || ret == -EBADMSG);
		FUZZ_CHECK(m.id[0] == '\0');
		break;
	default:
		memcpy(m.id, PODMAN_ID, sizeof(PODMAN_ID));
		ret = container_meta__parse_podman(json, len, &m);
		FUZZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -ENOENT);
		FUZZ_CHECK(!strcmp(m.id, PODMAN_ID));
		break;
	}
	/* runtime and id are never touched by the parsers. */
	FUZZ_CHECK(m.runtime == RUNTIME_NONE);
	CHECK_FIELD(&m, name);
	CHECK_FIELD(&m, pod_name);
	CHECK_FIELD(&m, pod_namespace);
	CHECK_FIELD(&m, pod_uid);
	CHECK_FIELD(&m, image);
	return 0;
}
