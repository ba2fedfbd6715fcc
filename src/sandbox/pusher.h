/* SPDX-License-Identifier: MIT */
/*
 * The ClickHouse pusher: a child process forked before the sandbox, the
 * only part of the agent that talks to ClickHouse. Like the debuginfod
 * fetcher it runs as an unprivileged uid with no capabilities under its
 * own seccomp filter (net_helper.h), and loads libcurl itself.
 *
 * The agent hands it one batch (store/ch_batch.h) per window over a
 * socket and never waits on the server: the helper's reading thread
 * takes every batch at once into a bounded queue in memory; past that
 * bound the oldest queued batches go to the spool folder (bounded too:
 * past it the oldest spooled batch is dropped, counted); its sending
 * thread sends oldest first, spool then memory, retrying with exponential
 * backoff. Each batch is three idempotent inserts (ch_schema.h), so a
 * batch sent again after a timeout is not counted twice.
 *
 * What it has done comes back as struct pusher_stats messages.
 */
#ifndef SYSSCOPE_PUSHER_H
#define SYSSCOPE_PUSHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "ch_http.h"

struct pusher_config {
	struct ch_conn conn;
	const char *spool_dir;		/* NULL: no spool */
	uint64_t queue_bytes;		/* in memory */
	uint64_t spool_bytes;		/* on disk */
	unsigned int retention_days;	/* 0: keep everything */
	uid_t uid;			/* who the helper runs as */
	gid_t gid;
	unsigned int backoff_max_ms;	/* longest wait between retries */
	unsigned int drain_ms;		/* at exit: time to send what is left */
	bool selftest;			/* --sandbox-selftest */
};

struct pusher_stats {
	uint64_t sent_windows, sent_bytes, sent_rows;
	uint64_t send_errors;		/* failed attempts (each retried) */
	uint64_t dropped_queue;		/* memory full, no spool */
	uint64_t dropped_spool;		/* spool full */
	uint64_t dropped_corrupt;	/* spool files not whole */
	uint64_t dropped_exit;		/* unsent at exit, no spool */
	uint64_t spooled_total;		/* batches written to the spool */
	uint64_t queued_windows, queued_bytes;	/* now, in memory */
	uint64_t spool_windows, spool_bytes;	/* now, on disk */
	uint64_t insert_ns_total;	/* time in successful sends */
	uint64_t last_insert_ns;
	uint64_t partitions_dropped;
	uint32_t up;			/* the last attempt succeeded */
	uint32_t schema_ok;
};

struct pusher;

/*
 * Forks the helper; it checks its spool folder and confines itself before
 * saying it is ready (the server need not be up). NULL and errno.
 */
struct pusher *pusher__start(const struct pusher_config *c);

/*
 * Hands one batch to the helper, waiting at most a second for the socket.
 * 0, -EPIPE (the helper is gone), -ETIMEDOUT (it did not read: the helper
 * is then treated as gone), -E2BIG.
 */
int pusher__push(struct pusher *p, const void *batch, size_t len);

/* The helper's latest counters (reads what it sent, never blocks). */
void pusher__stats(struct pusher *p, struct pusher_stats *out);

/* Batches the agent could not hand over (helper gone or stuck). */
uint64_t pusher__handoff_drops(const struct pusher *p);

/*
 * Closes the socket: the helper sends what it can for up to drain_ms,
 * spools the rest, and exits; waits for it that long and a little more.
 * Accepts NULL.
 */
void pusher__finish(struct pusher *p);

#endif
