// SPDX-License-Identifier: MIT
/*
 * The --cpu-budget controller (src/collect/cpu_budget.c) against a model
 * of a node: threads that switch at known rates, a fixed cost (switch-outs
 * let go, the process), on-CPU samples costing in proportion to their
 * frequency, and a cost per recorded switch-out, as BPF would record them
 * at the rate and frequency the controller sets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cpu_budget.h"

struct node {
	int threads;
	double switches_per_thread;	/* a second */
	double fixed;			/* share of a core */
	double record_ns;		/* per recorded switch-out */
	struct cpu_budget_reading r;
	double oncpu_per_hz;		/* share of a core per Hz sampled */
	unsigned int hz;		/* the frequency set */
};

/* One 2 s tick of the model at the given rate; the new reading. */
static const struct cpu_budget_reading *tick(struct node *n, uint32_t rate)
{
	double per_thread = rate && rate < n->switches_per_thread ?
			    rate : n->switches_per_thread;
	double recorded = per_thread * n->threads * 2;
	double record = recorded * n->record_ns;
	double oncpu = n->oncpu_per_hz * n->hz * 2e9;

	n->r.wall_ns += 2000000000ull;
	n->r.process_ns += (uint64_t)(n->fixed * 2e9 / 2);
	n->r.bpf_ns += (uint64_t)(n->fixed * 2e9 / 2 + record + oncpu);
	n->r.oncpu_bpf_ns += (uint64_t)oncpu;
	n->r.recorded += (uint64_t)recorded;
	n->r.record_ns += (uint64_t)record;
	return &n->r;
}

static uint32_t run(struct cpu_budget *b, struct node *n, int ticks)
{
	uint32_t rate = b->rate;

	for (int i = 0; i < ticks; i++) {
		rate = cpu_budget__update(b, tick(n, rate));
		n->hz = b->hz;
	}
	return rate;
}

static void test_converges_under_the_budget(void **state)
{
	/* 32 threads switching 1000 times a second each, 3 us a recording. */
	struct node n = { 32, 1000, 0.003, 3000, { 1, 0, 0, 0, 0, 0 }, 0, 0 };
	struct cpu_budget b;
	uint32_t rate;

	(void)state;
	cpu_budget__init(&b, 0.01, 0);
	assert_int_equal(b.rate, CPU_BUDGET_RATE_START);
	rate = run(&b, &n, 30);
	/* 0.85% aimed at, 0.3% fixed: 0.55% of 3 us recordings = 1833/s. */
	assert_true(rate >= 50 && rate <= 65);
	assert_true(b.spent <= 0.01);
	assert_true(b.spent >= 0.0075);
	assert_int_equal(b.ticks_over, 0);
}

static void test_quiet_node_lets_more_through(void **state)
{
	/* Few switches: the rate climbs until every switch-out is recorded. */
	struct node n = { 4, 50, 0.001, 3000, { 1, 0, 0, 0, 0, 0 }, 0, 0 };
	struct cpu_budget b;

	(void)state;
	cpu_budget__init(&b, 0.01, 0);
	assert_true(run(&b, &n, 20) >= 50);
	assert_true(b.spent < 0.005);
}

static void test_fixed_cost_over_budget_is_counted(void **state)
{
	struct node n = { 16, 2000, 0.02, 3000, { 1, 0, 0, 0, 0, 0 }, 0, 0 };
	struct cpu_budget b;

	(void)state;
	cpu_budget__init(&b, 0.01, 0);
	/*
	 * Recording goes down to a twentieth of the 0.85% aimed at: 0.0425%
	 * of 3 us recordings = 142/s, over 16 threads = 8.9/s each: the floor.
	 */
	assert_int_equal(run(&b, &n, 30), CPU_BUDGET_RATE_MIN);
	assert_true(b.spent >= 0.0200 && b.spent <= 0.0210);
	assert_true(b.ticks_over >= 20);
}

static void test_recording_keeps_a_twentieth_when_the_rest_is_over(void **state)
{
	/* 2 threads: a twentieth is 142/s of 3 us recordings, 71 a thread. */
	struct node n = { 2, 2000, 0.02, 3000, { 1, 0, 0, 0, 0, 0 }, 0, 0 };
	struct cpu_budget b;
	uint32_t rate;

	(void)state;
	cpu_budget__init(&b, 0.01, 0);
	rate = run(&b, &n, 30);
	assert_true(rate >= 64 && rate <= 78);
	assert_true(b.ticks_over >= 20);
}

static void test_off_and_counters_going_back(void **state)
{
	struct node n = { 32, 1000, 0.003, 3000, { 1, 0, 0, 0, 0, 0 }, 0, 0 };
	struct cpu_budget_reading back;
	struct cpu_budget b;
	uint32_t rate;

	(void)state;
	cpu_budget__init(&b, 0, 0);
	assert_int_equal(b.rate, 0);
	assert_int_equal(run(&b, &n, 5), 0);
	cpu_budget__init(&b, 0.01, 0);
	rate = run(&b, &n, 5);
	/* A reset counter (the programs were loaded again): start over. */
	back = n.r;
	back.bpf_ns = 0;
	back.wall_ns += 1;
	assert_int_equal(cpu_budget__update(&b, &back), rate);
	assert_int_equal(cpu_budget__update(&b, &back), rate);	/* no time */
}

/* A 64-CPU node sampled at 49 Hz: 10 us a sample is 3.1% of a core. */
#define PER_HZ (64 * 10e-6)

static void test_frequency_comes_down_when_samples_cost_too_much(void **state)
{
	struct node n = { 32, 1000, 0.002, 3000, { 1, 0, 0, 0, 0, 0 },
			  PER_HZ, 49 };
	struct cpu_budget b;

	(void)state;
	cpu_budget__init(&b, 0.01, 49);
	run(&b, &n, 30);
	/* 0.85% aimed at, 0.2% else: at most ~10 Hz of samples fit. */
	assert_true(b.hz >= CPU_BUDGET_HZ_MIN && b.hz <= 10);
	assert_true(b.spent <= 0.01);
	/* It settles: no more halving once under. */
	unsigned int hz = b.hz;
	run(&b, &n, 10);
	assert_true(b.hz >= hz * 3 / 4 && b.hz <= hz * 5 / 4);
}

static void test_frequency_goes_back_up_when_room_returns(void **state)
{
	struct node n = { 32, 1000, 0.002, 3000, { 1, 0, 0, 0, 0, 0 },
			  PER_HZ, 49 };
	struct cpu_budget b;

	(void)state;
	cpu_budget__init(&b, 0.01, 49);
	run(&b, &n, 30);
	assert_true(b.hz < 49);
	/* Most CPUs go offline (a smaller node's worth of samples). */
	n.oncpu_per_hz = 2 * 10e-6;
	run(&b, &n, 30);
	assert_int_equal(b.hz, 49);
	assert_true(b.spent <= 0.01);
}

static void test_frequency_stays_when_samples_are_not_the_cost(void **state)
{
	/* The process is over the budget by itself: samples are 2% of it. */
	struct node n = { 32, 1000, 0.03, 3000, { 1, 0, 0, 0, 0, 0 },
			  2 * 10e-6, 49 };
	struct cpu_budget b;

	(void)state;
	cpu_budget__init(&b, 0.01, 49);
	run(&b, &n, 30);
	assert_int_equal(b.hz, 49);
	assert_true(b.ticks_over >= 20);
}

static void test_frequency_untimed_stays(void **state)
{
	/* No on-CPU run time read (BPF not timed): nothing to act on. */
	struct node n = { 32, 1000, 0.05, 3000, { 1, 0, 0, 0, 0, 0 }, 0, 49 };
	struct cpu_budget b;

	(void)state;
	cpu_budget__init(&b, 0.01, 49);
	run(&b, &n, 10);
	assert_int_equal(b.hz, 49);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_converges_under_the_budget),
		cmocka_unit_test(test_quiet_node_lets_more_through),
		cmocka_unit_test(test_fixed_cost_over_budget_is_counted),
		cmocka_unit_test(test_recording_keeps_a_twentieth_when_the_rest_is_over),
		cmocka_unit_test(test_off_and_counters_going_back),
		cmocka_unit_test(test_frequency_comes_down_when_samples_cost_too_much),
		cmocka_unit_test(test_frequency_goes_back_up_when_room_returns),
		cmocka_unit_test(test_frequency_stays_when_samples_are_not_the_cost),
		cmocka_unit_test(test_frequency_untimed_stays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
