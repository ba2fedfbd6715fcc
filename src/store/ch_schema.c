// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ch_batch.h"
#include "ch_schema.h"

struct column {
	const char *name, *type;
};

struct table {
	const char *name;
	const char *order_by;
	struct column cols[12];
};

#define KIND_TYPE "Enum8('cpu' = 1, 'offcpu' = 2)"

/* In RowBinary order: ch_batch.c writes the columns so. */
static const struct table tables[CH_TABLES] = {
	[CH_STACKS] = { "stacks", "hash", {
		{ "day", "Date" }, { "hash", "UInt64" },
		{ "frames", "Array(String)" },
	} },
	[CH_SAMPLES] = { "samples",
		"(namespace, pod, container, node, window_id, kind, reason, stack_hash)", {
		{ "day", "Date" }, { "window_start", "DateTime" },
		{ "window_id", "UInt64" }, { "node", "String" },
		{ "namespace", "String" }, { "pod", "String" },
		{ "container", "String" }, { "kind", KIND_TYPE },
		{ "reason", "String" }, { "stack_hash", "UInt64" },
		{ "value_ns", "UInt64" },
	} },
	[CH_WINDOWS] = { "windows", "(node, window_id)", {
		{ "day", "Date" }, { "window_start", "DateTime" },
		{ "window_id", "UInt64" }, { "node", "String" },
		{ "duration_ns", "UInt64" }, { "oncpu_ns", "UInt64" },
		{ "offcpu_ns", "UInt64" }, { "stacks", "UInt32" },
		{ "samples", "UInt32" },
	} },
};

void ch_schema__insert_sql(const struct ch_conn *c, int table, char *sql,
			   size_t len)
{
	snprintf(sql, len, "INSERT INTO %s.%s FORMAT RowBinary", c->db,
		 tables[table].name);
}

static int create_table(const struct ch_conn *c, const struct table *t,
			char *err, size_t errlen)
{
	char sql[2048];
	size_t n;

	n = (size_t)snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS %s.%s (",
			     c->db, t->name);
	for (int i = 0; t->cols[i].name && n < sizeof(sql); i++)
		n += (size_t)snprintf(sql + n, sizeof(sql) - n, "%s%s %s",
				      i ? ", " : "", t->cols[i].name, t->cols[i].type);
	if (n < sizeof(sql))
		snprintf(sql + n, sizeof(sql) - n,
			 ") ENGINE = ReplacingMergeTree() PARTITION BY day ORDER BY %s",
			 t->order_by);
	return ch_http__exec(c, sql, NULL, 0, false, NULL, err, errlen);
}

/* TSV escapes quotes and backslashes: "Enum8(\\'cpu\\' = 1)". */
static void tsv_unescape(char *s)
{
	char *o = s;

	for (; *s; s++)
		*o++ = *s == '\\' && s[1] ? *++s : *s;
	*o = '\0';
}

/* One table's "name\ttype\n" lines as system.columns lists them. */
static int check_table(const struct table *t, const char *db, char *text,
		       char *err, size_t errlen)
{
	int i = 0;

	for (char *save = NULL, *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		char *type = strchr(line, '\t');

		if (!type)
			break;
		*type++ = '\0';
		tsv_unescape(type);
		if (!t->cols[i].name || strcmp(line, t->cols[i].name) ||
		    strcmp(type, t->cols[i].type)) {
			snprintf(err, errlen, "table %s.%s has a different schema: column %d is '%s %s', sysscope expects '%s %s' (drop it, or use another --clickhouse-db)",
				 db, t->name, i + 1, line, type,
				 t->cols[i].name ? t->cols[i].name : "(none)",
				 t->cols[i].name ? t->cols[i].type : "");
			return -EPROTO;
		}
	}
	if (t->cols[i].name) {
		snprintf(err, errlen, "table %s.%s has a different schema: column '%s %s' missing (drop it, or use another --clickhouse-db)",
			 db, t->name, t->cols[i].name, t->cols[i].type);
		return -EPROTO;
	}
	return 0;
}

static int check_columns(const struct ch_conn *c, const struct table *t,
			 char *err, size_t errlen)
{
	struct ch_buf out = { 0 };
	char sql[512];
	int ret;

	snprintf(sql, sizeof(sql),
		 "SELECT name, type FROM system.columns WHERE database = '%s' AND table = '%s' FORMAT TSV",
		 c->db, t->name);
	ret = ch_http__exec(c, sql, NULL, 0, false, &out, err, errlen);
	ch_buf__put(&out, "", 1);
	if (!ret && out.err)
		ret = -ENOMEM;
	if (!ret)
		ret = check_table(t, c->db, (char *)out.data, err, errlen);
	ch_buf__free(&out);
	return ret;
}

int ch_schema__ensure(const struct ch_conn *c, char *err, size_t errlen)
{
	char sql[256];
	int ret;

	snprintf(sql, sizeof(sql), "CREATE DATABASE IF NOT EXISTS %s", c->db);
	ret = ch_http__exec(c, sql, NULL, 0, false, NULL, err, errlen);
	for (int i = 0; i < CH_TABLES && !ret; i++)
		ret = create_table(c, &tables[i], err, errlen) ?:
		      check_columns(c, &tables[i], err, errlen);
	return ret;
}

int ch_schema__drop_older(const struct ch_conn *c, unsigned int days,
			  unsigned int *dropped, char *err, size_t errlen)
{
	struct ch_buf out = { 0 };
	char sql[512];
	int ret;

	*dropped = 0;
	snprintf(sql, sizeof(sql),
		 "SELECT DISTINCT table, partition FROM system.parts WHERE database = '%s' AND active AND table IN ('stacks', 'samples', 'windows') AND toDate(partition) < today() - %u FORMAT TSV",
		 c->db, days);
	ret = ch_http__exec(c, sql, NULL, 0, false, &out, err, errlen);
	ch_buf__put(&out, "", 1);
	if (!ret && out.err)
		ret = -ENOMEM;
	for (char *save = NULL, *line = ret ? NULL : strtok_r((char *)out.data, "\n", &save);
	     line && !ret; line = strtok_r(NULL, "\n", &save)) {
		char *part = strchr(line, '\t');

		if (!part || strspn(part + 1, "0123456789-") != strlen(part + 1))
			continue;
		*part++ = '\0';
		snprintf(sql, sizeof(sql), "ALTER TABLE %s.%s DROP PARTITION '%s'",
			 c->db, line, part);
		ret = ch_http__exec(c, sql, NULL, 0, false, NULL, err, errlen);
		*dropped += !ret;
	}
	ch_buf__free(&out);
	return ret;
}
