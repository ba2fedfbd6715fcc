/* SPDX-License-Identifier: MIT */
/*
 * The agent's side of --clickhouse: each window encoded as a batch
 * (store/ch_batch.h) and handed to the pusher helper (sandbox/pusher.h);
 * the helper's counters on /metrics as sysscope_clickhouse_*.
 */
#ifndef SYSSCOPE_CH_PUSH_H
#define SYSSCOPE_CH_PUSH_H

#include <stdint.h>
#include "opts.h"

struct ch_push;
struct profile;
struct prom_page;

/*
 * Before the sandbox: parses --clickhouse and forks the helper (as
 * uid:gid). NULL and errno, with the reason logged.
 */
struct ch_push *ch_push__start(const struct opts *o, uid_t uid, gid_t gid);

/*
 * Encodes window p (wall-clock values) and hands it over; never waits on
 * the server. Failures are counted, not returned: collection goes on.
 */
void ch_push__window(struct ch_push *cp, const struct profile *p,
		     uint64_t start_real_ns, uint64_t duration_ns);

/* The sysscope_clickhouse_* families. 0 or -errno. */
int ch_push__metrics(struct ch_push *cp, struct prom_page *page);

/* Hands the helper the end: it sends or spools the rest. Accepts NULL. */
void ch_push__finish(struct ch_push *cp);

#endif
