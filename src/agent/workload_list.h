/* SPDX-License-Identifier: MIT */
/* The agent's list of pods and containers: on- and off-CPU time of each. */
#ifndef SYSSCOPE_WORKLOAD_LIST_H
#define SYSSCOPE_WORKLOAD_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct window;
struct prom_page;

/*
 * Writes the pods and containers of windows w[0..n) (asked: the windows
 * the request asked for) as an HTML page or as JSON. 0 or -errno.
 */
int workload_list__write(struct window **w, size_t n, size_t asked,
			 bool html, FILE *f);

/* The same rows as Prometheus gauges of on- and off-CPU seconds. 0 or -errno. */
int workload_list__add_metrics(struct window **w, size_t n,
			       struct prom_page *p);

#endif
