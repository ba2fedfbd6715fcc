// SPDX-License-Identifier: MIT
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ch_batch.h"
#include "ch_push.h"
#include "log.h"
#include "prom.h"
#include "pusher.h"
#include "window_store.h"

#define DRAIN_MS 5000
#define BACKOFF_MAX_MS 8000

struct ch_push {
	struct pusher *pusher;
	pthread_mutex_t lock;		/* the pusher: collector and /metrics */
	char node[256];
	uint64_t encoded_windows, encode_errors;
	uint64_t encoded_bytes;		/* gzip'd bodies handed over */
	uint64_t raw_bytes;		/* RowBinary before gzip */
};

struct ch_push *ch_push__start(const struct opts *o, uid_t uid, gid_t gid)
{
	struct pusher_config c = {
		.spool_dir = o->spool_dir, .queue_bytes = o->queue_max,
		.spool_bytes = o->spool_max,
		.retention_days = o->ch_retention_days, .uid = uid, .gid = gid,
		.backoff_max_ms = BACKOFF_MAX_MS, .drain_ms = DRAIN_MS,
		.selftest = o->sandbox_selftest,
	};
	struct ch_push *cp = calloc(1, sizeof(*cp));
	char err[256];

	if (!cp)
		return NULL;
	pthread_mutex_init(&cp->lock, NULL);
	if (ch_conn__init(&c.conn, o->clickhouse_url, o->clickhouse_db, err,
			  sizeof(err))) {
		log_error("--clickhouse: %s", err);
		free(cp);
		errno = EINVAL;
		return NULL;
	}
	if (o->node)
		snprintf(cp->node, sizeof(cp->node), "%s", o->node);
	else if (gethostname(cp->node, sizeof(cp->node) - 1))
		strcpy(cp->node, "unknown");
	cp->pusher = pusher__start(&c);
	if (!cp->pusher) {
		int e = errno;

		log_error("--clickhouse: the pusher helper did not start: %s%s%s",
			  strerror(e), o->spool_dir ? " (spool " : "",
			  o->spool_dir ? o->spool_dir : "");
		if (o->spool_dir)
			log_error("--spool-dir %s must be a folder the helper (nobody, or --user) can own", o->spool_dir);
		free(cp);
		errno = e;
		return NULL;
	}
	log_info("clickhouse: pushing windows of node '%s' to %s (database %s)",
		 cp->node, c.conn.url, c.conn.db);
	return cp;
}

void ch_push__window(struct ch_push *cp, const struct profile *p,
		     uint64_t start_real_ns, uint64_t duration_ns)
{
	struct ch_window w = {
		.profile = p, .cpu_value = VALUE_CPU, .offcpu_value = VALUE_OFFCPU,
		.node = cp->node, .start_real_ns = start_real_ns,
		.duration_ns = duration_ns,
	};
	struct ch_batch_stats st;
	struct ch_buf b = { 0 };
	int err = ch_batch__encode(&w, &b, &st);

	pthread_mutex_lock(&cp->lock);
	if (err) {
		cp->encode_errors++;
		log_warn("clickhouse: window not encoded: %s (dropped)", strerror(-err));
	} else {
		cp->encoded_windows++;
		cp->encoded_bytes += st.wire_bytes;
		cp->raw_bytes += st.raw_bytes;
		err = pusher__push(cp->pusher, b.data, b.len);
		if (err && pusher__handoff_drops(cp->pusher) == 1)
			log_error("clickhouse: the pusher helper is gone (%s): windows are dropped, counted in /metrics",
				  strerror(-err));
	}
	pthread_mutex_unlock(&cp->lock);
	ch_buf__free(&b);
}

static const struct prom_family
	f_sent = { "sysscope_clickhouse_sent_windows_total", PROM_COUNTER,
		   "Windows ClickHouse took (all three inserts)." },
	f_sent_bytes = { "sysscope_clickhouse_sent_bytes_total", PROM_COUNTER,
			 "Bytes of gzip'd RowBinary sent in windows ClickHouse took." },
	f_encoded = { "sysscope_clickhouse_encoded_windows_total", PROM_COUNTER,
		      "Windows encoded for ClickHouse, and windows whose encoding failed." },
	f_encoded_bytes = { "sysscope_clickhouse_encoded_bytes_total", PROM_COUNTER,
			    "Bytes of windows encoded, by stage (RowBinary, gzip'd)." },
	f_errors = { "sysscope_clickhouse_send_errors_total", PROM_COUNTER,
		     "Failed attempts to send a window (each is retried)." },
	f_dropped = { "sysscope_clickhouse_dropped_windows_total", PROM_COUNTER,
		      "Windows never sent, by why." },
	f_spooled = { "sysscope_clickhouse_spooled_windows_total", PROM_COUNTER,
		      "Windows written to the spool on disk." },
	f_queued = { "sysscope_clickhouse_queued_windows", PROM_GAUGE,
		     "Windows waiting in the helper's memory." },
	f_queued_bytes = { "sysscope_clickhouse_queued_bytes", PROM_GAUGE,
			   "Bytes waiting in the helper's memory." },
	f_spool = { "sysscope_clickhouse_spool_windows", PROM_GAUGE,
		    "Windows waiting in the spool on disk." },
	f_spool_bytes = { "sysscope_clickhouse_spool_bytes", PROM_GAUGE,
			  "Bytes waiting in the spool on disk." },
	f_insert = { "sysscope_clickhouse_insert_seconds_total", PROM_COUNTER,
		     "Time spent sending windows ClickHouse took." },
	f_last_insert = { "sysscope_clickhouse_last_insert_seconds", PROM_GAUGE,
			  "How long sending the last window took." },
	f_up = { "sysscope_clickhouse_up", PROM_GAUGE,
		 "1 if the last attempt to send succeeded." },
	f_schema = { "sysscope_clickhouse_schema_ok", PROM_GAUGE,
		     "1 once the tables are there with the expected columns." },
	f_partitions = { "sysscope_clickhouse_partitions_dropped_total", PROM_COUNTER,
			 "Day partitions dropped for --clickhouse-retention." };

int ch_push__metrics(struct ch_push *cp, struct prom_page *p)
{
	struct pusher_stats s;
	uint64_t handoff, enc, enc_err, enc_bytes, raw;
	int err;

	pthread_mutex_lock(&cp->lock);
	pusher__stats(cp->pusher, &s);
	handoff = pusher__handoff_drops(cp->pusher);
	enc = cp->encoded_windows;
	enc_err = cp->encode_errors;
	enc_bytes = cp->encoded_bytes;
	raw = cp->raw_bytes;
	pthread_mutex_unlock(&cp->lock);
	err = prom_page__add(p, &f_sent, NULL, (double)s.sent_windows);
	err = err ?: prom_page__add(p, &f_sent_bytes, NULL, (double)s.sent_bytes);
	err = err ?: prom_page__add(p, &f_encoded, "result=\"ok\"", (double)enc);
	err = err ?: prom_page__add(p, &f_encoded, "result=\"error\"", (double)enc_err);
	err = err ?: prom_page__add(p, &f_encoded_bytes, "stage=\"rowbinary\"", (double)raw);
	err = err ?: prom_page__add(p, &f_encoded_bytes, "stage=\"gzip\"", (double)enc_bytes);
	err = err ?: prom_page__add(p, &f_errors, NULL, (double)s.send_errors);
	err = err ?: prom_page__add(p, &f_dropped, "reason=\"queue_full\"", (double)s.dropped_queue);
	err = err ?: prom_page__add(p, &f_dropped, "reason=\"spool_full\"", (double)s.dropped_spool);
	err = err ?: prom_page__add(p, &f_dropped, "reason=\"spool_corrupt\"", (double)s.dropped_corrupt);
	err = err ?: prom_page__add(p, &f_dropped, "reason=\"exit\"", (double)s.dropped_exit);
	err = err ?: prom_page__add(p, &f_dropped, "reason=\"helper_gone\"", (double)handoff);
	err = err ?: prom_page__add(p, &f_spooled, NULL, (double)s.spooled_total);
	err = err ?: prom_page__add(p, &f_queued, NULL, (double)s.queued_windows);
	err = err ?: prom_page__add(p, &f_queued_bytes, NULL, (double)s.queued_bytes);
	err = err ?: prom_page__add(p, &f_spool, NULL, (double)s.spool_windows);
	err = err ?: prom_page__add(p, &f_spool_bytes, NULL, (double)s.spool_bytes);
	err = err ?: prom_page__add(p, &f_insert, NULL, s.insert_ns_total / 1e9);
	err = err ?: prom_page__add(p, &f_last_insert, NULL, s.last_insert_ns / 1e9);
	err = err ?: prom_page__add(p, &f_up, NULL, (double)s.up);
	err = err ?: prom_page__add(p, &f_schema, NULL, (double)s.schema_ok);
	err = err ?: prom_page__add(p, &f_partitions, NULL, (double)s.partitions_dropped);
	return err;
}

void ch_push__finish(struct ch_push *cp)
{
	if (!cp)
		return;
	pusher__finish(cp->pusher);
	pthread_mutex_destroy(&cp->lock);
	free(cp);
}
