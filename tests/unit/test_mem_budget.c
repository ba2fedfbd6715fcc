// SPDX-License-Identifier: MIT
/*
 * Unit tests of the one memory budget (src/cache/mem_budget.c): charging
 * within the budget, least-recently-used eviction across kinds, pinned
 * entries skipped, per-kind caps, refusals, resizing, a lower limit, and
 * the bytes held never over the budget whatever is charged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mem_budget.h"
#include "prom.h"

/* An entry that records its eviction. */
struct item {
	struct cache_entry e;
	int id;
	bool evicted;
};

static struct mem_budget *evicting;	/* the budget items uncharge from */

static void item_evict(struct cache_entry *e)
{
	struct item *it = (struct item *)e;

	it->evicted = true;
	mem_budget__uncharge(evicting, e);
}

static void item_init(struct item *it, int id, bool evictable)
{
	memset(it, 0, sizeof(*it));
	it->id = id;
	it->e.evict = item_evict;
	it->e.evictable = evictable;
}

static void test_charge_within_budget(void **state)
{
	struct mem_budget b;
	struct item a, c;

	(void)state;
	mem_budget__init(&b, 100);
	evicting = &b;
	item_init(&a, 1, true);
	item_init(&c, 2, true);
	assert_int_equal(mem_budget__charge(&b, &a.e, CACHE_SYMBOLS, 40), 0);
	assert_int_equal(mem_budget__charge(&b, &c.e, CACHE_UNWIND, 60), 0);
	assert_int_equal(b.bytes, 100);
	assert_int_equal(b.stats.bytes[CACHE_SYMBOLS], 40);
	assert_int_equal(b.stats.bytes[CACHE_UNWIND], 60);
	assert_int_equal(b.stats.entries[CACHE_UNWIND], 1);
	assert_false(a.evicted || c.evicted);
	mem_budget__uncharge(&b, &a.e);
	mem_budget__uncharge(&b, &a.e);	/* twice: a no-op */
	assert_int_equal(b.bytes, 60);
	assert_int_equal(b.stats.entries[CACHE_SYMBOLS], 0);
}

/* The least recently used goes first, whatever its kind; a touch saves one. */
static void test_lru_across_kinds(void **state)
{
	struct mem_budget b;
	struct item it[4];

	(void)state;
	mem_budget__init(&b, 100);
	evicting = &b;
	for (int i = 0; i < 3; i++) {
		item_init(&it[i], i, true);
		assert_int_equal(mem_budget__charge(&b, &it[i].e, i == 1 ?
						    CACHE_DWARF : CACHE_SYMBOLS,
						    30), 0);
	}
	mem_budget__touch(&b, &it[0].e);	/* order now: 1, 2, 0 */
	item_init(&it[3], 3, true);
	assert_int_equal(mem_budget__charge(&b, &it[3].e, CACHE_UNWIND, 50), 0);
	assert_true(it[1].evicted);
	assert_true(it[2].evicted);
	assert_false(it[0].evicted);
	assert_int_equal(b.bytes, 80);
	assert_int_equal(b.stats.evictions[CACHE_DWARF], 1);
	assert_int_equal(b.stats.evictions[CACHE_SYMBOLS], 1);
	assert_int_equal(b.stats.evictions[CACHE_UNWIND], 0);
}

/* Pinned entries stay; with nothing else to evict, a charge is refused. */
static void test_pinned_and_refused(void **state)
{
	struct mem_budget b;
	struct item pinned, idle, big;

	(void)state;
	mem_budget__init(&b, 100);
	evicting = &b;
	item_init(&pinned, 1, false);
	item_init(&idle, 2, true);
	item_init(&big, 3, true);
	assert_int_equal(mem_budget__charge(&b, &pinned.e, CACHE_SYMBOLS, 60), 0);
	assert_int_equal(mem_budget__charge(&b, &idle.e, CACHE_SYMBOLS, 30), 0);
	assert_int_equal(mem_budget__charge(&b, &big.e, CACHE_UNWIND, 50), -ENOSPC);
	assert_true(idle.evicted);	/* tried: the idle one went */
	assert_false(pinned.evicted);
	assert_false(cache_entry__charged(&big.e));
	assert_int_equal(b.stats.refused[CACHE_UNWIND], 1);
	assert_int_equal(b.bytes, 60);
	/* Larger than the whole budget: refused without evicting anything. */
	mem_budget__set_evictable(&b, &pinned.e, true);
	assert_int_equal(mem_budget__charge(&b, &big.e, CACHE_DWARF, 101), -ENOSPC);
	assert_false(pinned.evicted);
	/* Unpinned, it makes room. */
	assert_int_equal(mem_budget__charge(&b, &big.e, CACHE_DWARF, 50), 0);
	assert_true(pinned.evicted);
}

/* A kind's cap evicts only that kind, the rest of the budget untouched. */
static void test_kind_limit(void **state)
{
	struct mem_budget b;
	struct item sym, d1, d2;

	(void)state;
	mem_budget__init(&b, 100);
	evicting = &b;
	mem_budget__set_kind_limit(&b, CACHE_DWARF, 40);
	item_init(&sym, 1, true);
	item_init(&d1, 2, true);
	item_init(&d2, 3, true);
	assert_int_equal(mem_budget__charge(&b, &sym.e, CACHE_SYMBOLS, 10), 0);
	assert_int_equal(mem_budget__charge(&b, &d1.e, CACHE_DWARF, 30), 0);
	assert_int_equal(mem_budget__charge(&b, &d2.e, CACHE_DWARF, 30), 0);
	assert_true(d1.evicted);
	assert_false(sym.evicted);	/* older, but not DWARF */
	assert_int_equal(b.stats.bytes[CACHE_DWARF], 30);
	assert_int_equal(mem_budget__charge(&b, &d1.e, CACHE_DWARF, 41), -ENOSPC);
}

/* Growing makes room as a charge does; a refused growth changes nothing. */
static void test_resize(void **state)
{
	struct mem_budget b;
	struct item a, c;

	(void)state;
	mem_budget__init(&b, 100);
	evicting = &b;
	item_init(&a, 1, true);
	item_init(&c, 2, false);
	assert_int_equal(mem_budget__charge(&b, &a.e, CACHE_PERF_MAPS, 50), 0);
	assert_int_equal(mem_budget__charge(&b, &c.e, CACHE_CGROUPS, 20), 0);
	assert_int_equal(mem_budget__resize(&b, &c.e, 40), 0);
	assert_false(a.evicted);
	assert_int_equal(b.bytes, 90);
	assert_int_equal(mem_budget__resize(&b, &c.e, 60), 0);
	assert_true(a.evicted);
	assert_int_equal(b.bytes, 60);
	assert_int_equal(mem_budget__resize(&b, &c.e, 120), -ENOSPC);
	assert_int_equal(b.stats.bytes[CACHE_CGROUPS], 60);
	assert_int_equal(mem_budget__resize(&b, &c.e, 5), 0);
	assert_int_equal(b.bytes, 5);
}

/* A lower limit evicts down to it. */
static void test_set_limit(void **state)
{
	struct mem_budget b;
	struct item it[5];

	(void)state;
	mem_budget__init(&b, 100);
	evicting = &b;
	for (int i = 0; i < 5; i++) {
		item_init(&it[i], i, true);
		assert_int_equal(mem_budget__charge(&b, &it[i].e, CACHE_SYMBOLS, 20), 0);
	}
	mem_budget__set_limit(&b, 50);
	assert_int_equal(b.bytes, 40);
	assert_true(it[0].evicted && it[1].evicted && it[2].evicted);
	assert_false(it[3].evicted || it[4].evicted);
	assert_int_equal(b.stats.limit, 50);
}

/* Random charges, touches, pins and uncharges: never over the budget. */
static void test_never_over(void **state)
{
	enum { N = 200 };
	struct mem_budget b;
	struct item *it = calloc(N, sizeof(*it));
	size_t sum;

	(void)state;
	assert_non_null(it);
	mem_budget__init(&b, 10000);
	evicting = &b;
	mem_budget__set_kind_limit(&b, CACHE_DWARF, 3000);
	for (int i = 0; i < N; i++)
		item_init(&it[i], i, true);
	srand(7);
	for (int step = 0; step < 20000; step++) {
		struct item *x = &it[rand() % N];

		switch (rand() % 5) {
		case 0:
		case 1:
			mem_budget__charge(&b, &x->e, rand() % CACHE_KINDS,
					   (size_t)(rand() % 900));
			break;
		case 2:
			mem_budget__touch(&b, &x->e);
			break;
		case 3:
			mem_budget__set_evictable(&b, &x->e, rand() % 4 != 0);
			break;
		default:
			mem_budget__uncharge(&b, &x->e);
		}
		assert_true(b.bytes <= b.limit);
		assert_true(b.stats.bytes[CACHE_DWARF] <= 3000);
	}
	sum = 0;
	for (int i = 0; i < N; i++)
		sum += cache_entry__charged(&it[i].e) ? it[i].e.bytes : 0;
	assert_int_equal(sum, b.bytes);
	free(it);
}

/* Every kind has a label on each family. */
static void test_fields(void **state)
{
	size_t n;
	const struct stat_field *f = mem_budget_stats__fields(&n);
	struct mem_budget_stats s = { 0 };
	bool unwind_hits = false;

	(void)state;
	assert_int_equal(n, 1 + 6 * CACHE_KINDS);
	s.hits[CACHE_UNWIND] = 7;
	for (size_t i = 0; i < n; i++)
		if (stat_field__get(&f[i], &s) == 7)
			unwind_hits = !strcmp(f[i].desc.labels, "kind=\"unwind\"") &&
				      !strcmp(f[i].desc.family->name,
					      "sysscope_cache_hits_total");
	assert_true(unwind_hits);
	assert_string_equal(cache_kind__name(CACHE_PERF_MAPS), "perf_maps");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_charge_within_budget),
		cmocka_unit_test(test_lru_across_kinds),
		cmocka_unit_test(test_pinned_and_refused),
		cmocka_unit_test(test_kind_limit),
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_set_limit),
		cmocka_unit_test(test_never_over),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
