/* SPDX-License-Identifier: MIT */
/*
 * --cpu-budget: keeps what profiling costs (our BPF programs' run time as
 * the kernel measures it, plus this process's CPU time) under a share of
 * one core. The knob is the off-CPU record rate: how many switch-outs a
 * second each thread records (bpf/offcpu.bpf.c), chosen every tick from
 * what was measured since the last:
 *
 *   fixed     = cost - recording   (what the rate does not change: on-CPU
 *                                   samples, switch-outs let go, this
 *                                   process)
 *   room      = budget - fixed
 *   recorded  = room / (recording time per recorded switch-out)
 *   rate      = rate x recorded / (recorded switch-outs a second now)
 *
 * Inputs are smoothed over ticks (this process's CPU comes in bursts, at
 * each window's end), and the rate moves by at most x4 up and /2 down a
 * tick, never under CPU_BUDGET_RATE_MIN. When the fixed part alone is
 * over the budget, recording gets a twentieth of the budget and the tick
 * is counted as over.
 */
#ifndef SYSSCOPE_CPU_BUDGET_H
#define SYSSCOPE_CPU_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

/* Cumulative counters, read at one moment. */
struct cpu_budget_reading {
	uint64_t wall_ns;		/* CLOCK_MONOTONIC */
	uint64_t bpf_ns;		/* our programs' run_time_ns, summed */
	uint64_t process_ns;		/* CLOCK_PROCESS_CPUTIME_ID */
	uint64_t recorded;		/* off-CPU switch-outs recorded */
	uint64_t record_ns;		/* time spent recording them */
};

struct cpu_budget {
	double budget;			/* share of one core; 0: off */
	uint32_t rate;			/* per thread and second; 0: all */
	struct cpu_budget_reading last;
	bool have_last;
	/* Smoothed over ticks. */
	double fixed;			/* share of a core */
	double recorded_per_s;
	double record_cost_ns;		/* per recorded switch-out */
	/* For /metrics: the last tick's. */
	double spent;			/* share of a core, all of it */
	uint64_t ticks, ticks_over;	/* ticks with fixed over budget */
};

#define CPU_BUDGET_RATE_START 100
/*
 * Below this, recording less would save little (the cost is then mostly
 * switch-outs let go) and every thread's off-CPU time would rest on a few
 * intervals a second: ticks still over the budget are counted instead.
 */
#define CPU_BUDGET_RATE_MIN 10
#define CPU_BUDGET_RATE_MAX 100000
#define CPU_BUDGET_TICK_NS 2000000000ull

/*
 * budget: share of one core (0.01 for 1%); 0 records every switch-out
 * (rate 0), else the rate starts at CPU_BUDGET_RATE_START.
 */
void cpu_budget__init(struct cpu_budget *b, double budget);
/* A new reading: the record rate to use from now. */
uint32_t cpu_budget__update(struct cpu_budget *b,
			    const struct cpu_budget_reading *r);

#endif
