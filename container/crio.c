// SPDX-License-Identifier: MIT
/*
 * CRI-O: the OCI spec of each container, config.json, is in the
 * containers/storage "userdata" directory of the container, under the run
 * root (/run/containers/storage, CRI-O's default) or the graph root
 * (/var/lib/containers/storage). Its annotations are read by oci.c.
 */
#include "meta_internal.h"

static const struct meta_path crio_paths[] = {
	{ "run/containers/storage/overlay-containers", "userdata/config.json" },
	{ "var/lib/containers/storage/overlay-containers",
	  "userdata/config.json" },
};

int meta_read_crio(int root_fd, const char *id, struct container_meta *out)
{
	return meta_read_first_oci(root_fd, crio_paths,
				   META_ARRAY_LEN(crio_paths), id, out);
}
