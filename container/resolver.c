// SPDX-License-Identifier: MIT
/*
 * cgroup ids to workloads (resolver.h): a table by id, filled by handle
 * (open_by_handle_at) or by walking the hierarchy. A cgroup's name is the
 * tenant's to choose where its cgroupfs is writable, so the container a
 * path names is checked against where its runtime put it.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "prom.h"
#include "resolver.h"

#define FILEID_KERNFS 0xfe	/* include/linux/exportfs.h */
#define MAX_WORKLOADS (1 << 20)
#define SCAN_DEPTH 32
#define OWNER_LEVELS 16	/* levels looked up for a cgroup's real owner */

struct resolver {
	char root[PATH_MAX];
	char host_root[PATH_MAX];
	int root_fd;
	struct workload **slots;	/* open addressing by cgroup id */
	size_t cap, used;
	struct workload **list;		/* insertion order, for listing */
	size_t nlist, list_cap;
	time_t last_scan;		/* walks are rate-limited */
	struct resolver_stats stats;
};

static size_t slot_of(uint64_t id, size_t cap)
{
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return id & (cap - 1);
}

static int table_grow(struct resolver *r)
{
	size_t cap = r->cap ? r->cap * 2 : 256;
	struct workload **slots = calloc(cap, sizeof(*slots));

	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < r->cap; i++) {
		size_t pos;

		if (!r->slots[i])
			continue;
		pos = slot_of(r->slots[i]->cgroup_id, cap);
		while (slots[pos])
			pos = (pos + 1) & (cap - 1);
		slots[pos] = r->slots[i];
	}
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
	return 0;
}

static struct workload **table_slot(const struct resolver *r, uint64_t id)
{
	size_t pos = slot_of(id, r->cap);

	while (r->slots[pos] && r->slots[pos]->cgroup_id != id)
		pos = (pos + 1) & (r->cap - 1);
	return &r->slots[pos];
}

static int list_push(struct resolver *r, struct workload *w)
{
	if (r->nlist == r->list_cap) {
		size_t cap = r->list_cap ? r->list_cap * 2 : 256;
		void *n = realloc(r->list, cap * sizeof(*r->list));

		if (!n)
			return -ENOMEM;
		r->list = n;
		r->list_cap = cap;
	}
	r->list[r->nlist++] = w;
	return 0;
}

static void short_id(char *buf, size_t len, const char *id)
{
	snprintf(buf, len, "%.12s", id);
}

/* What people call it: names from the runtime, or what the path says. */
static void workload__name(struct workload *w)
{
	const struct container_meta *m = &w->meta;
	const char *ns = m->pod_namespace[0] ? m->pod_namespace : "?";

	if (m->name[0])
		snprintf(w->container, sizeof(w->container), "%s", m->name);
	else if (w->info.container_id[0])
		short_id(w->container, sizeof(w->container), w->info.container_id);
	if (m->pod_name[0])
		snprintf(w->pod, sizeof(w->pod), "%s/%s", ns, m->pod_name);
	else if (w->info.pod_uid[0])
		snprintf(w->pod, sizeof(w->pod), "?/pod%s", w->info.pod_uid);
}

/*
 * Is a cgroup at path one the container of m may have? The runtime's
 * record of its cgroup must be path or above it. With no record (an old
 * runtime, a container gone) there is nothing to check against.
 */
static bool placed_here(const char *path, const struct container_meta *m)
{
	return !m->cgroup[0] || cgroup_path__within(path, m->cgroup);
}

/*
 * w's path names a container it is not in: the container it really is in
 * is the innermost enclosing one whose own record agrees; none, and w is
 * what its path says without the container.
 */
static void workload__find_owner(struct resolver *r, struct workload *w)
{
	struct meta_roots roots = { .host_root = r->host_root };
	char up[CGROUP_PATH_MAX];
	struct cgroup_info info;
	char *slash;

	snprintf(up, sizeof(up), "%s", w->path);
	for (int level = 0; level < OWNER_LEVELS; level++) {
		slash = strrchr(up, '/');
		if (!slash || slash == up)
			break;
		*slash = '\0';
		if (cgroup_path__parse(up, &info))
			break;
		if (info.runtime == RUNTIME_NONE) {
			w->info = info;
			break;
		}
		if (!strcmp(info.container_id, w->info.container_id))
			continue;	/* still below the name it took */
		w->meta_err = container_meta__read(&roots, info.runtime,
						   info.container_id, &w->meta);
		if (w->meta_err || placed_here(w->path, &w->meta)) {
			w->info = info;
			return;
		}
	}
	if (w->info.runtime != RUNTIME_NONE)
		memset(&w->info, 0, sizeof(w->info));
	memset(&w->meta, 0, sizeof(w->meta));
	w->meta_err = -ENOENT;
}

static void workload__describe(struct resolver *r, struct workload *w)
{
	struct meta_roots roots = { .host_root = r->host_root };

	if (cgroup_path__parse(w->path, &w->info))
		memset(&w->info, 0, sizeof(w->info));
	if (w->info.runtime != RUNTIME_NONE)
		w->meta_err = container_meta__read(&roots, w->info.runtime,
						   w->info.container_id, &w->meta);
	if (w->info.runtime != RUNTIME_NONE && !w->meta_err &&
	    !placed_here(w->path, &w->meta)) {
		r->stats.cgroup_mismatches++;
		w->unverified = true;
		workload__find_owner(r, w);
	}
	workload__name(w);
	if (w->unverified && !w->container[0])
		snprintf(w->container, sizeof(w->container), "unverified cgroup");
}

static struct workload *resolver__add(struct resolver *r, uint64_t id,
				      const char *path)
{
	struct workload **slot, *w;

	if (r->used == MAX_WORKLOADS)
		return NULL;
	if ((r->used + 1) * 2 > r->cap && table_grow(r))
		return NULL;
	slot = table_slot(r, id);
	if (*slot)
		return *slot;
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->cgroup_id = id;
	snprintf(w->path, sizeof(w->path), "%s", path[0] ? path : "/");
	workload__describe(r, w);
	if (list_push(r, w)) {
		free(w);
		return NULL;
	}
	*slot = w;
	r->used++;
	return w;
}

/*
 * The cgroup id is a kernfs file handle: open the directory by it and read
 * back its path, without walking the tree (systemd does the same).
 */
static int path_by_handle(const struct resolver *r, uint64_t id, char *buf,
			  size_t len)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh = { .handle_bytes = sizeof(uint64_t),
			.handle_type = FILEID_KERNFS } };
	char link[64], target[PATH_MAX];
	size_t rlen = strlen(r->root);
	ssize_t n;
	int fd;

	memcpy(h.fh.f_handle, &id, sizeof(id));
	fd = open_by_handle_at(r->root_fd, &h.fh, O_RDONLY | O_CLOEXEC | O_PATH);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	target[n] = '\0';
	if (strncmp(target, r->root, rlen) ||
	    (target[rlen] && target[rlen] != '/'))
		return -EXDEV;	/* outside our hierarchy's mount */
	snprintf(buf, len, "%s", target[rlen] ? target + rlen : "/");
	return 0;
}

const struct workload *resolver__get(struct resolver *r, uint64_t id)
{
	char path[CGROUP_PATH_MAX];
	int err;

	if (r->cap && *table_slot(r, id))
		return *table_slot(r, id);
	err = path_by_handle(r, id, path, sizeof(path));
	if (!err)
		return resolver__add(r, id, path);
	/*
	 * No handle support (old kernel, no CAP_DAC_READ_SEARCH): walk, at
	 * most once a second. Anything else (the cgroup is gone, or outside
	 * our mount) is remembered as "no container", not looked up again.
	 */
	if ((err == -EOPNOTSUPP || err == -ENOTSUP || err == -EPERM ||
	     err == -EINVAL) && time(NULL) != r->last_scan) {
		r->last_scan = time(NULL);
		resolver__scan(r);
		if (r->cap && *table_slot(r, id))
			return *table_slot(r, id);
	}
	return resolver__add(r, id, "");
}

/*
 * Adds the cgroup at path (relative to the root; "" for the root itself)
 * and those under it, depth levels at most, on the root's filesystem.
 * A cgroup removed while it is walked (a container gone) is skipped, not
 * an error: it is gone. -ENOMEM only when an entry could not be added.
 */
static int scan_dir(struct resolver *r, int dirfd, char *path, size_t len,
		    int depth, dev_t dev)
{
	struct stat st;
	struct dirent *d;
	DIR *dir;
	int fd, err = 0;

	if (fstat(dirfd, &st) || st.st_dev != dev) {
		close(dirfd);
		return 0;
	}
	if (!resolver__add(r, st.st_ino, path)) {
		close(dirfd);
		return -ENOMEM;
	}
	dir = fdopendir(dirfd);
	if (!dir) {
		close(dirfd);
		return 0;
	}
	while (!err && depth > 0 && (d = readdir(dir))) {
		size_t n = strlen(d->d_name);

		if (d->d_type != DT_DIR || !strcmp(d->d_name, ".") ||
		    !strcmp(d->d_name, "..") || len + 1 + n >= PATH_MAX)
			continue;
		fd = openat(dirfd, d->d_name,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;	/* removed since readdir */
		path[len] = '/';
		memcpy(path + len + 1, d->d_name, n + 1);
		err = scan_dir(r, fd, path, len + 1 + n, depth - 1, dev);
		path[len] = '\0';
	}
	closedir(dir);
	return err;
}

int resolver__scan(struct resolver *r)
{
	char path[PATH_MAX] = "";
	struct stat st;
	int fd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		close(fd);
		return -errno;
	}
	return scan_dir(r, fd, path, 0, SCAN_DEPTH, st.st_dev);
}

const struct resolver_stats *resolver__stats(const struct resolver *r)
{
	static const struct resolver_stats none;

	return r ? &r->stats : &none;
}

static const struct prom_family mismatches = {
	"sysscope_cgroup_mismatches_total", PROM_COUNTER,
	"Cgroups named like a container its runtime put elsewhere (a tenant's "
	"own sub-cgroup); not attributed to that container.",
}, forgotten = {
	"sysscope_cgroups_forgotten_total", PROM_COUNTER,
	"Cgroups the resolver dropped because they are gone.",
};

static const struct stat_field stat_fields[] = {
	STAT_FIELD(struct resolver_stats, cgroup_mismatches,
		   "cgroups named like a container placed elsewhere",
		   &mismatches, NULL),
	STAT_FIELD(struct resolver_stats, forgotten,
		   "cgroups forgotten (gone)", &forgotten, NULL),
};

const struct stat_field *resolver_stats__fields(size_t *n)
{
	*n = sizeof(stat_fields) / sizeof(stat_fields[0]);
	return stat_fields;
}

size_t resolver__count(const struct resolver *r)
{
	return r->nlist;
}

const struct workload *resolver__at(const struct resolver *r, size_t i)
{
	return i < r->nlist ? r->list[i] : NULL;
}

int resolver__dir(const struct resolver *r, const struct workload *w,
		  char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", r->root,
			 strcmp(w->path, "/") ? w->path : "");

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

struct resolver *resolver__new(const char *cgroup_root, const char *host_root)
{
	struct resolver *r = calloc(1, sizeof(*r));
	size_t len;

	if (!r)
		return NULL;
	snprintf(r->root, sizeof(r->root), "%s", cgroup_root);
	len = strlen(r->root);
	while (len > 1 && r->root[len - 1] == '/')
		r->root[--len] = '\0';
	snprintf(r->host_root, sizeof(r->host_root), "%s",
		 host_root ? host_root : "");
	r->root_fd = open(r->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->root_fd < 0) {
		int err = errno;

		free(r);
		errno = err;
		return NULL;
	}
	return r;
}

/*
 * Is w's cgroup still there? By its path below the hierarchy's root (a
 * directory made again under the same name keeps an old id's entry until
 * it goes too). Unknown ids ("" path) are asked again.
 */
static bool still_there(const struct resolver *r, const struct workload *w)
{
	if (!w->path[0])
		return false;
	return !faccessat(r->root_fd, w->path[1] ? w->path + 1 : ".", F_OK, 0);
}

size_t resolver__forget_gone(struct resolver *r)
{
	size_t kept = 0, gone = 0;

	for (size_t i = 0; i < r->nlist; i++) {
		if (still_there(r, r->list[i])) {
			r->list[kept++] = r->list[i];
			continue;
		}
		free(r->list[i]);
		gone++;
	}
	r->nlist = kept;
	if (!gone)
		return 0;
	/* The table again, from what is left. */
	memset(r->slots, 0, r->cap * sizeof(*r->slots));
	r->used = 0;
	for (size_t i = 0; i < r->nlist; i++) {
		size_t pos = slot_of(r->list[i]->cgroup_id, r->cap);

		while (r->slots[pos])
			pos = (pos + 1) & (r->cap - 1);
		r->slots[pos] = r->list[i];
		r->used++;
	}
	r->stats.forgotten += gone;
	return gone;
}

size_t resolver__bytes(const struct resolver *r)
{
	if (!r)
		return 0;
	return sizeof(*r) + r->cap * sizeof(*r->slots) +
	       r->list_cap * sizeof(*r->list) + r->nlist * sizeof(struct workload);
}

void resolver__free(struct resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nlist; i++)
		free(r->list[i]);
	free(r->list);
	free(r->slots);
	close(r->root_fd);
	free(r);
}
