// SPDX-License-Identifier: MIT
#include <string.h>
#include "cpu_budget.h"

/* The share of the budget aimed at: noise should not push it over. */
#define AIM 0.85
/* How much a new tick weighs in the smoothed inputs. */
#define ALPHA 0.3

void cpu_budget__init(struct cpu_budget *b, double budget, unsigned int hz)
{
	memset(b, 0, sizeof(*b));
	b->budget = budget > 0 ? budget : 0;
	b->rate = b->budget > 0 ? CPU_BUDGET_RATE_START : 0;
	b->hz = b->hz_max = hz;
}

static double smooth(double old, double now, bool first)
{
	return first ? now : old + ALPHA * (now - old);
}

static uint32_t clamp_rate(double r, double lo, double hi)
{
	if (r < lo)
		r = lo;
	if (r > hi)
		r = hi;
	if (r < CPU_BUDGET_RATE_MIN)
		r = CPU_BUDGET_RATE_MIN;
	if (r > CPU_BUDGET_RATE_MAX)
		r = CPU_BUDGET_RATE_MAX;
	return (uint32_t)(r + 0.5);
}

/*
 * The on-CPU frequency for the next tick (see cpu_budget.h). The cost of
 * a sample is taken as fixed: the program's share scales with hz.
 */
static void set_frequency(struct cpu_budget *b)
{
	double aim = b->budget * AIM, over = b->fixed - aim * 0.95, f = 1;
	unsigned int hz;

	if (!b->hz_max || b->oncpu <= 0)
		return;		/* no sampler, or its cost unknown */
	/*
	 * Over, and samples take more than a quarter of the budget: fewer.
	 * When the rest alone is over (a node starting many processes), the
	 * samples end with a quarter of the budget at most.
	 */
	if (over > 0 && b->oncpu > b->budget / 4 && b->hz > CPU_BUDGET_HZ_MIN)
		f = over < b->oncpu / 2 ? (b->oncpu - over) / b->oncpu : 0.5;
	else if (b->fixed < aim / 2 && b->hz < b->hz_max)
		f = 1 + (aim * 0.8 - b->fixed) / b->oncpu;
	if (f > 2)
		f = 2;
	hz = (unsigned int)(b->hz * f);
	if (hz < CPU_BUDGET_HZ_MIN)
		hz = CPU_BUDGET_HZ_MIN;
	if (hz > b->hz_max)
		hz = b->hz_max;
	if (hz == b->hz)
		return;
	f = (double)hz / b->hz;
	b->fixed += b->oncpu * (f - 1);
	b->oncpu *= f;
	b->hz = hz;
}

uint32_t cpu_budget__update(struct cpu_budget *b,
			    const struct cpu_budget_reading *r)
{
	const struct cpu_budget_reading *l = &b->last;
	double wall, cost, record, room, want;
	uint64_t recorded;
	bool first = b->ticks == 0;

	if (!b->have_last || r->wall_ns <= l->wall_ns ||
	    r->bpf_ns < l->bpf_ns || r->process_ns < l->process_ns ||
	    r->recorded < l->recorded || r->record_ns < l->record_ns ||
	    r->oncpu_bpf_ns < l->oncpu_bpf_ns) {
		/* The first reading, or counters that went back: start over. */
		b->last = *r;
		b->have_last = true;
		return b->rate;
	}
	wall = (double)(r->wall_ns - l->wall_ns);
	cost = (double)(r->bpf_ns - l->bpf_ns + r->process_ns - l->process_ns);
	record = (double)(r->record_ns - l->record_ns);
	recorded = r->recorded - l->recorded;
	b->spent = cost / wall;
	b->fixed = smooth(b->fixed, cost > record ? (cost - record) / wall : 0,
			  first);
	b->recorded_per_s = smooth(b->recorded_per_s, recorded * 1e9 / wall,
				   first);
	b->oncpu = smooth(b->oncpu, (r->oncpu_bpf_ns - l->oncpu_bpf_ns) / wall,
			  first);
	if (recorded)
		b->record_cost_ns = smooth(b->record_cost_ns,
					   record / (double)recorded,
					   b->record_cost_ns == 0);
	b->last = *r;
	b->ticks++;
	if (b->budget <= 0)
		return b->rate = 0;
	set_frequency(b);
	if (b->record_cost_ns <= 0 || b->recorded_per_s < 1) {
		/* Nothing recorded to learn from: let more through. */
		return b->rate = clamp_rate(b->rate * 2.0, 0, CPU_BUDGET_RATE_MAX);
	}
	room = b->budget * AIM - b->fixed;
	if (room < b->budget * AIM / 20) {
		/*
		 * The rest alone is (nearly) over: recording goes down to a
		 * twentieth of the budget, mostly the floor of
		 * CPU_BUDGET_RATE_MIN a thread. It kept a quarter for a while:
		 * with a recording at 2 us (kernel stacks reused), that was
		 * 27-37 a thread beside 32 switching threads, and 0.2% of a
		 * core over the budget the rest had already used up.
		 */
		if (room < 0)
			b->ticks_over++;
		room = b->budget * AIM / 20;
	}
	/* Recorded switch-outs a second that fit, over those now. */
	want = room * 1e9 / b->record_cost_ns / b->recorded_per_s;
	b->rate = clamp_rate(b->rate * want, b->rate / 2.0, b->rate * 4.0);
	return b->rate;
}
