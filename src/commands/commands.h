/* SPDX-License-Identifier: MIT */
/* The commands main() dispatches to, one file each. 0 or -errno. */
#ifndef SYSSCOPE_COMMANDS_H
#define SYSSCOPE_COMMANDS_H

struct opts;

/* profile, offcputime, wallclock: one run, one output folder (cmd_run.c). */
int cmd_run(const struct opts *o);
/* agent: windows of every pod, served over HTTP (cmd_agent.c). */
int cmd_agent(const struct opts *o);
/* ps: the node's containers and pods (cmd_ps.c). */
int cmd_ps(const struct opts *o);
/* query: profiles from ClickHouse, written as a run writes them (cmd_query.c). */
int cmd_query(const struct opts *o);

#endif
