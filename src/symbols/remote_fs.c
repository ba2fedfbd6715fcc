// SPDX-License-Identifier: MIT
/* Network and FUSE filesystems, told from mountinfo (remote_fs.h). */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include "remote_fs.h"

bool remote_fs__may_block(const char *fstype)
{
	static const char *const types[] = {
		"fuse", "fuseblk", "nfs", "nfs4", "cifs", "smb3", "smbfs",
		"9p", "ceph", "glusterfs", "afs", "ncpfs", "davfs", "lustre",
		"gpfs", "beegfs", "virtiofs",
	};

	if (!strncmp(fstype, "fuse.", 5))
		return true;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(fstype, types[i]))
			return true;
	return false;
}

int remote_fs__type_of(FILE *f, uint32_t maj, uint32_t min, char *fstype,
		       size_t len)
{
	char line[4096];

	while (fgets(line, sizeof(line), f)) {
		unsigned int ma, mi;
		char *sep, *type;

		/* "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] - TYPE SRC OPTS" */
		if (sscanf(line, "%*u %*u %u:%u", &ma, &mi) != 2 ||
		    ma != maj || mi != min)
			continue;
		sep = strstr(line, " - ");
		if (!sep)
			continue;
		type = sep + 3;
		type[strcspn(type, " \n")] = '\0';
		if (strlen(type) >= len)
			return -ENAMETOOLONG;
		strcpy(fstype, type);
		return 0;
	}
	return -ENOENT;
}

bool remote_fs__is_remote(const char *proc_root, uint32_t pid, uint32_t maj,
			  uint32_t min)
{
	char path[PATH_MAX], type[64];
	FILE *f;
	int err;

	snprintf(path, sizeof(path), "%s/%u/mountinfo", proc_root, pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	err = remote_fs__type_of(f, maj, min, type, sizeof(type));
	fclose(f);
	return !err && remote_fs__may_block(type);
}
