// SPDX-License-Identifier: MIT
/* remote_fs: filesystem types from mountinfo text, and which may block. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "remote_fs.h"

static const char mountinfo[] =
	"22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw\n"
	"35 22 0:31 / /tmp rw,nosuid shared:12 - tmpfs tmpfs rw\n"
	"90 22 0:45 / /mnt/nfs rw,relatime shared:40 - nfs4 srv:/export rw,vers=4.2\n"
	"91 22 0:46 / /mnt/bind rw,nosuid,nodev shared:41 master:3 - fuse.bindfs bindfs rw\n"
	"92 22 0:47 /sub /mnt/odd\\040name rw - overlay overlay rw,lowerdir=/a\n";

static int type_of(uint32_t maj, uint32_t min, char *out, size_t len)
{
	FILE *f = fmemopen((void *)mountinfo, sizeof(mountinfo) - 1, "r");
	int err;

	assert_non_null(f);
	err = remote_fs__type_of(f, maj, min, out, len);
	fclose(f);
	return err;
}

static void test_types_by_device(void **state)
{
	char t[32];

	(void)state;
	assert_int_equal(type_of(259, 2, t, sizeof(t)), 0);
	assert_string_equal(t, "ext4");
	assert_int_equal(type_of(0, 45, t, sizeof(t)), 0);
	assert_string_equal(t, "nfs4");
	assert_int_equal(type_of(0, 46, t, sizeof(t)), 0);
	assert_string_equal(t, "fuse.bindfs");
	/* Optional fields (master:3) and escaped spaces do not shift it. */
	assert_int_equal(type_of(0, 47, t, sizeof(t)), 0);
	assert_string_equal(t, "overlay");
	assert_int_equal(type_of(0, 99, t, sizeof(t)), -ENOENT);
	assert_int_equal(type_of(0, 46, t, 4), -ENAMETOOLONG);
}

static void test_which_may_block(void **state)
{
	(void)state;
	assert_true(remote_fs__may_block("nfs4"));
	assert_true(remote_fs__may_block("fuse.sshfs"));
	assert_true(remote_fs__may_block("fuse"));
	assert_true(remote_fs__may_block("cifs"));
	assert_false(remote_fs__may_block("ext4"));
	assert_false(remote_fs__may_block("overlay"));
	assert_false(remote_fs__may_block("fusectl"));
	assert_false(remote_fs__may_block("tmpfs"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_by_device),
		cmocka_unit_test(test_which_may_block),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
