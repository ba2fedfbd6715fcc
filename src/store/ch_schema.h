/* SPDX-License-Identifier: MIT */
/*
 * The tables sysscope keeps in ClickHouse (database ch_conn.db):
 *
 *   stacks   (day, hash, frames Array(String))          ReplacingMergeTree
 *   samples  (day, window_start, window_id, node, namespace, pod,
 *             container, kind Enum8('cpu','offcpu'), reason, stack_hash,
 *             value_ns)                                  ReplacingMergeTree
 *   windows  (day, window_start, window_id, node, duration_ns, oncpu_ns,
 *             offcpu_ns, stacks, samples)                ReplacingMergeTree
 *
 * All PARTITION BY day: retention drops whole days. Inserts are
 * idempotent: a window sent again has the same sort keys (window_id is
 * its start in ns, per node) and replaces itself when parts merge; until
 * they do, queries take one row per key (any(value_ns) under GROUP BY of
 * the whole key), so a resend never counts twice.
 */
#ifndef SYSSCOPE_CH_SCHEMA_H
#define SYSSCOPE_CH_SCHEMA_H

#include <stddef.h>
#include "ch_http.h"

/*
 * Creates the database and tables if missing, then checks that each has
 * the columns above: -EPROTO with the first difference in err if not.
 * 0 or -errno (ch_http__exec's).
 */
int ch_schema__ensure(const struct ch_conn *c, char *err, size_t errlen);

/* Drops the day partitions older than days days; *dropped counts them. */
int ch_schema__drop_older(const struct ch_conn *c, unsigned int days,
			  unsigned int *dropped, char *err, size_t errlen);

/* The INSERT query of a table, "INSERT INTO db.t FORMAT RowBinary". */
void ch_schema__insert_sql(const struct ch_conn *c, int table, char *sql,
			   size_t len);

#endif
