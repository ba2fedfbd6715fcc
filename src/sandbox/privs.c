// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include "privs.h"

static int has_cap(cap_t caps, cap_value_t cap, bool *has)
{
	cap_flag_value_t v;

	if (cap_get_flag(caps, cap, CAP_EFFECTIVE, &v))
		return -errno;
	*has = v == CAP_SET;
	return 0;
}

static void append(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

/* Checks each of caps[]; CAP_SYS_ADMIN stands in for all when held. */
static int check(const cap_value_t *caps, const char *const *names, size_t n,
		 bool admin_suffices, char *missing, size_t len)
{
	cap_t cur = cap_get_proc();
	bool has = false, admin = false;
	int err = 0;

	if (!cur)
		return -errno;
	missing[0] = '\0';
	if (admin_suffices)
		err = has_cap(cur, CAP_SYS_ADMIN, &admin);
	for (size_t i = 0; i < n && !err && !admin; i++) {
		err = has_cap(cur, caps[i], &has);
		if (!err && !has)
			append(missing, len, names[i]);
	}
	cap_free(cur);
	if (err)
		return err;
	return missing[0] ? -EPERM : 0;
}

int privs__check_load(char *missing, size_t len)
{
	static const cap_value_t caps[] = { CAP_BPF, CAP_PERFMON };
	static const char *const names[] = { "CAP_BPF", "CAP_PERFMON" };

	return check(caps, names, 2, true, missing, len);
}

int privs__check_read(char *missing, size_t len)
{
	static const cap_value_t caps[] = { CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH };
	static const char *const names[] = { "CAP_SYS_PTRACE",
					     "CAP_DAC_READ_SEARCH" };

	return check(caps, names, 2, false, missing, len);
}
