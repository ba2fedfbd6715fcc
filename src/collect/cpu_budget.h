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
 * tick, never under CPU_BUDGET_RATE_MIN. When the fixed part alone
 * leaves less than a twentieth of the budget, recording is given that
 * twentieth (mostly the floor), and when it is over, the tick is counted
 * as over.
 *
 * The second knob is the on-CPU sampling frequency, for nodes where the
 * samples alone cost more than the budget (many CPUs): while the fixed
 * part is over the budget, and on-CPU samples take more than a quarter
 * of the budget, the frequency comes down by what the on-CPU
 * program's share must lose (at most /2 a tick, never under
 * CPU_BUDGET_HZ_MIN); while it is under half the budget, it goes back up
 * towards -f (at most x2 a tick, and only as far as the estimate stays
 * under 80% of the budget). The estimates move with it at once, so the
 * next tick does not act on the old frequency's cost again.
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
	uint64_t oncpu_bpf_ns;		/* the on-CPU sampler's part of bpf_ns */
};

struct cpu_budget {
	double budget;			/* share of one core; 0: off */
	uint32_t rate;			/* per thread and second; 0: all */
	unsigned int hz, hz_max;	/* on-CPU frequency: now, asked (-f) */
	struct cpu_budget_reading last;
	bool have_last;
	/* Smoothed over ticks. */
	double fixed;			/* share of a core */
	double recorded_per_s;
	double record_cost_ns;		/* per recorded switch-out */
	double oncpu;			/* share of a core, on-CPU samples */
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
/* Fewer on-CPU samples would leave most stacks of a window unseen. */
#define CPU_BUDGET_HZ_MIN 5

/*
 * budget: share of one core (0.01 for 1%); 0 records every switch-out
 * (rate 0), else the rate starts at CPU_BUDGET_RATE_START. hz: the on-CPU
 * frequency asked for, the most it goes to (0: no on-CPU sampler).
 */
void cpu_budget__init(struct cpu_budget *b, double budget, unsigned int hz);
/*
 * A new reading: the record rate to use from now (returned), and the
 * on-CPU frequency (b->hz).
 */
uint32_t cpu_budget__update(struct cpu_budget *b,
			    const struct cpu_budget_reading *r);

#endif
