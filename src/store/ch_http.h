/* SPDX-License-Identifier: MIT */
/*
 * A ClickHouse server over its HTTP interface, through libcurl loaded with
 * dlopen: only the processes that talk to the server (the pusher helper,
 * sysscope query) ever map libcurl; the profiler never does.
 *
 * Credentials: the URL's user:password, else $SYSSCOPE_CLICKHOUSE_USER and
 * $SYSSCOPE_CLICKHOUSE_PASSWORD; sent as HTTP basic auth, never in the
 * query string (which servers log).
 */
#ifndef SYSSCOPE_CH_HTTP_H
#define SYSSCOPE_CH_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include "ch_rows.h"

#define CH_DEFAULT_DB "sysscope"

struct ch_conn {
	char url[512];		/* scheme://host:port/, without credentials */
	char user[128];
	char password[128];
	char db[64];		/* [A-Za-z0-9_]+ */
	long timeout_s;		/* the whole request */
	long connect_timeout_s;
};

/*
 * Splits url into c (credentials out of it), with database db (NULL:
 * "sysscope"). 0, or -EINVAL with why in err.
 */
int ch_conn__init(struct ch_conn *c, const char *url, const char *db,
		  char *err, size_t errlen);

/* dlopen libcurl (once). 0 or -ENOENT. */
int ch_http__load(void);

/*
 * Runs sql. With body: sql is the query (e.g. "INSERT ... FORMAT
 * RowBinary") and body its data, gzip'd if gzip. The answer's body goes
 * to resp (may be NULL). 0, or -errno with one line in err:
 * -ECONNREFUSED / -EHOSTUNREACH (no server), -ETIMEDOUT, -EACCES (the
 * server refused the credentials), -EPROTO (the server answered an error:
 * its text), -EIO.
 */
int ch_http__exec(const struct ch_conn *c, const char *sql, const void *body,
		  size_t len, bool gzip, struct ch_buf *resp, char *err,
		  size_t errlen);

#endif
