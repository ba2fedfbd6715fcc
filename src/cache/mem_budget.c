// SPDX-License-Identifier: MIT
/* One memory budget, one LRU list (see mem_budget.h). */
#include <errno.h>
#include <string.h>
#include "prom.h"
#include "mem_budget.h"

void mem_budget__init(struct mem_budget *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->lru.prev = b->lru.next = &b->lru;
	b->limit = limit;
	b->stats.limit = limit;
}

static void lru__unlink(struct cache_entry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
	e->prev = e->next = NULL;
}

/* e becomes the most recently used: the list's tail. */
static void lru__append(struct mem_budget *b, struct cache_entry *e)
{
	e->prev = b->lru.prev;
	e->next = &b->lru;
	b->lru.prev->next = e;
	b->lru.prev = e;
}

static size_t kind_room(const struct mem_budget *b, enum cache_kind k)
{
	return b->kind_limit[k] ? b->kind_limit[k] : b->limit;
}

size_t mem_budget__kind_room(const struct mem_budget *b, enum cache_kind k)
{
	size_t room = kind_room(b, k) < b->limit ? kind_room(b, k) : b->limit;

	return b->stats.bytes[k] < room ? room - b->stats.bytes[k] : 0;
}

/* Would bytes more of kind k (give_back bytes of it going) pass a limit? */
static bool over(const struct mem_budget *b, enum cache_kind k, size_t add,
		 size_t give_back)
{
	size_t all = b->bytes - give_back, kind = b->stats.bytes[k] - give_back;
	size_t room = kind_room(b, k);

	return all > b->limit || add > b->limit - all || kind > room ||
	       add > room - kind;
}

/* Is the budget as a whole fine with add bytes more? */
static bool fits_whole(const struct mem_budget *b, size_t add,
		       size_t give_back)
{
	size_t all = b->bytes - give_back;

	return all <= b->limit && add <= b->limit - all;
}

/*
 * The least recently used evictable entry (not keep) whose going helps:
 * of kind k when only the kind's cap is passed.
 */
static struct cache_entry *victim(const struct mem_budget *b,
				  const struct cache_entry *keep,
				  enum cache_kind k, bool kind_only)
{
	for (struct cache_entry *e = b->lru.next; e != &b->lru; e = e->next)
		if (e != keep && e->evictable && (!kind_only || e->kind == k))
			return e;
	return NULL;
}

/*
 * Evicts until add bytes of kind k fit (keep's own give_back bytes going
 * with it). true if they do now.
 */
static bool make_room(struct mem_budget *b, const struct cache_entry *keep,
		      enum cache_kind k, size_t add, size_t give_back)
{
	if (add > b->limit || add > kind_room(b, k))
		return false;
	while (over(b, k, add, give_back)) {
		bool kind_only = fits_whole(b, add, give_back);
		struct cache_entry *v = victim(b, keep, k, kind_only);

		if (!v)
			return false;
		b->stats.evictions[v->kind]++;
		v->evict(v);	/* uncharges v, and may free it */
	}
	return true;
}

int mem_budget__charge(struct mem_budget *b, struct cache_entry *e,
		       enum cache_kind k, size_t bytes)
{
	if (cache_entry__charged(e))
		mem_budget__uncharge(b, e);
	if (!make_room(b, e, k, bytes, 0)) {
		b->stats.refused[k]++;
		return -ENOSPC;
	}
	e->kind = k;
	e->bytes = bytes;
	b->bytes += bytes;
	b->stats.bytes[k] += bytes;
	b->stats.entries[k]++;
	lru__append(b, e);
	return 0;
}

void mem_budget__uncharge(struct mem_budget *b, struct cache_entry *e)
{
	if (!cache_entry__charged(e))
		return;
	lru__unlink(e);
	b->bytes -= e->bytes;
	b->stats.bytes[e->kind] -= e->bytes;
	b->stats.entries[e->kind]--;
	e->bytes = 0;
}

int mem_budget__resize(struct mem_budget *b, struct cache_entry *e,
		       size_t bytes)
{
	if (!cache_entry__charged(e))
		return mem_budget__charge(b, e, e->kind, bytes);
	if (bytes > e->bytes && !make_room(b, e, e->kind, bytes, e->bytes)) {
		b->stats.refused[e->kind]++;
		return -ENOSPC;
	}
	b->bytes = b->bytes - e->bytes + bytes;
	b->stats.bytes[e->kind] = b->stats.bytes[e->kind] - e->bytes + bytes;
	e->bytes = bytes;
	mem_budget__touch(b, e);
	return 0;
}

void mem_budget__touch(struct mem_budget *b, struct cache_entry *e)
{
	if (!cache_entry__charged(e) || b->lru.prev == e)
		return;
	lru__unlink(e);
	lru__append(b, e);
}

void mem_budget__set_evictable(struct mem_budget *b, struct cache_entry *e,
			       bool evictable)
{
	(void)b;
	e->evictable = evictable;
}

/* Evicts what passes the limits (pinned entries stay, over them). */
static void trim(struct mem_budget *b)
{
	for (int k = 0; k < CACHE_KINDS; k++) {
		while (b->stats.bytes[k] > kind_room(b, k)) {
			struct cache_entry *v = victim(b, NULL, k, true);

			if (!v)
				break;
			b->stats.evictions[k]++;
			v->evict(v);
		}
	}
	while (b->bytes > b->limit) {
		struct cache_entry *v = victim(b, NULL, 0, false);

		if (!v)
			break;
		b->stats.evictions[v->kind]++;
		v->evict(v);
	}
}

void mem_budget__set_limit(struct mem_budget *b, size_t limit)
{
	b->limit = limit;
	b->stats.limit = limit;
	trim(b);
}

void mem_budget__set_kind_limit(struct mem_budget *b, enum cache_kind k,
				size_t limit)
{
	b->kind_limit[k] = limit;
	trim(b);
}

bool mem_budget__evict_first(struct mem_budget *b,
			     bool (*match)(const struct cache_entry *e))
{
	for (struct cache_entry *e = b->lru.next; e != &b->lru; e = e->next) {
		if (!e->evictable || !match(e))
			continue;
		b->stats.evictions[e->kind]++;
		e->evict(e);
		return true;
	}
	return false;
}

void mem_budget__hit(struct mem_budget *b, enum cache_kind k)
{
	b->stats.hits[k]++;
}

void mem_budget__miss(struct mem_budget *b, enum cache_kind k)
{
	b->stats.misses[k]++;
}

static const char *const kind_names[CACHE_KINDS] = {
	[CACHE_SYMBOLS] = "symbols", [CACHE_PERF_MAPS] = "perf_maps",
	[CACHE_DWARF] = "dwarf", [CACHE_UNWIND] = "unwind",
	[CACHE_CGROUPS] = "cgroups",
};

const char *cache_kind__name(enum cache_kind k)
{
	return k < CACHE_KINDS ? kind_names[k] : "?";
}

/* ---- counters ---- */

static const struct prom_family limit_family = {
	"sysscope_cache_budget_bytes", PROM_GAUGE,
	"The memory budget of everything derived from other processes' files.",
}, bytes_family = {
	"sysscope_cache_bytes", PROM_GAUGE,
	"Bytes held in the cache budget, by kind.",
}, entries_family = {
	"sysscope_cache_entries", PROM_GAUGE,
	"Entries held in the cache budget, by kind.",
}, evictions_family = {
	"sysscope_cache_evictions_total", PROM_COUNTER,
	"Entries evicted for room (least recently used first), by kind.",
}, hits_family = {
	"sysscope_cache_hits_total", PROM_COUNTER,
	"Lookups answered by an entry already cached, by kind.",
}, misses_family = {
	"sysscope_cache_misses_total", PROM_COUNTER,
	"Entries built (or built again after an eviction), by kind.",
}, refused_family = {
	"sysscope_cache_refused_total", PROM_COUNTER,
	"Entries not kept: no room could be made in the budget, by kind.",
};

#define KIND_FIELDS(field, text, family)				\
	KIND_FIELD(field, CACHE_SYMBOLS, "symbols", text, family),	\
	KIND_FIELD(field, CACHE_PERF_MAPS, "perf_maps", text, family),	\
	KIND_FIELD(field, CACHE_DWARF, "dwarf", text, family),		\
	KIND_FIELD(field, CACHE_UNWIND, "unwind", text, family),	\
	KIND_FIELD(field, CACHE_CGROUPS, "cgroups", text, family)
#define KIND_FIELD(field, k, name, text, family)			\
	STAT_FIELD(struct mem_budget_stats, field[k], "cache: " name " " text, \
		   family, "kind=\"" name "\"")

static const struct stat_field fields[] = {
	STAT_FIELD(struct mem_budget_stats, limit, "cache: budget bytes",
		   &limit_family, NULL),
	KIND_FIELDS(bytes, "bytes", &bytes_family),
	KIND_FIELDS(entries, "entries", &entries_family),
	KIND_FIELDS(evictions, "evictions", &evictions_family),
	KIND_FIELDS(hits, "hits", &hits_family),
	KIND_FIELDS(misses, "misses (built)", &misses_family),
	KIND_FIELDS(refused, "refused (no room)", &refused_family),
};

const struct stat_field *mem_budget_stats__fields(size_t *n)
{
	*n = sizeof(fields) / sizeof(fields[0]);
	return fields;
}
