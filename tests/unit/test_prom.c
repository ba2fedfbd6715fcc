// SPDX-License-Identifier: MIT
/*
 * Unit tests of the Prometheus text writer (src/output/prom.c): label
 * escaping, families written once each with HELP and TYPE whatever order
 * samples come in, values, errors; and every counter table of the
 * profiler (collectors, walker, symbolizer, unwinder): Prometheus names
 * and snake_case labels, no series twice, no summary line twice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offcpu_collector.h"
#include "oncpu_collector.h"
#include "prom.h"
#include "resolver.h"
#include "symbolize.h"
#include "unwinder.h"

/* ---- label values ---- */

static char *label(const char *s)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	prom__write_label_value(f, s);
	fclose(f);
	return text;
}

static void test_label_escaping(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "", "" },
		{ "web-0", "web-0" },
		{ "a\"b", "a\\\"b" },
		{ "a\\b", "a\\\\b" },
		{ "a\nb", "a\\nb" },
		{ "\\n", "\\\\n" },		/* a backslash, then 'n' */
		{ "\"\"\\\n\n", "\\\"\\\"\\\\\\n\\n" },
		{ "end\\", "end\\\\" },
		/* The format escapes these three only: the rest goes as is. */
		{ "tab\there\r", "tab\there\r" },
		{ "caf\xc3\xa9 {x=\"1\"}", "caf\xc3\xa9 {x=\\\"1\\\"}" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = label(cases[i].in);

		assert_string_equal(got, cases[i].out);
		free(got);
	}
}

/* ---- pages ---- */

static const struct prom_family fa = {
	"sysscope_a_total", PROM_COUNTER, "A things.",
}, fb = {
	"sysscope_b_bytes", PROM_GAUGE, "B bytes.",
}, fa_again = {
	"sysscope_a_total", PROM_GAUGE, "Another A.",
}, fc = {
	"sysscope_c_total", PROM_COUNTER, "C, declared only.",
};

static char *page_text(const struct prom_page *p)
{
	char *text = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&text, &size);

	assert_non_null(f);
	assert_int_equal(prom_page__write(p, f), 0);
	fclose(f);
	return text;
}

static void test_families_once(void **state)
{
	struct prom_page *p = prom_page__new();
	char *text;

	(void)state;
	assert_non_null(p);
	/* Interleaved: written grouped, families in first-seen order. */
	assert_int_equal(prom_page__add(p, &fa, "x=\"1\"", 3), 0);
	assert_int_equal(prom_page__add(p, &fb, NULL, 0.25), 0);
	assert_int_equal(prom_page__declare(p, &fc), 0);
	assert_int_equal(prom_page__add(p, &fa, "x=\"2\"", 18446744073709551615.0), 0);
	assert_int_equal(prom_page__add(p, &fb, "", 1e-9), 0);
	/* Another family of a name already taken. */
	assert_int_equal(prom_page__add(p, &fa_again, NULL, 1), -EEXIST);
	assert_int_equal(prom_page__declare(p, &fa_again), -EEXIST);
	text = page_text(p);
	assert_string_equal(text,
		"# HELP sysscope_a_total A things.\n"
		"# TYPE sysscope_a_total counter\n"
		"sysscope_a_total{x=\"1\"} 3\n"
		"sysscope_a_total{x=\"2\"} 1.84467440737096e+19\n"
		"# HELP sysscope_b_bytes B bytes.\n"
		"# TYPE sysscope_b_bytes gauge\n"
		"sysscope_b_bytes 0.25\n"
		"sysscope_b_bytes 1e-09\n"
		"# HELP sysscope_c_total C, declared only.\n"
		"# TYPE sysscope_c_total counter\n");
	free(text);
	prom_page__free(p);
	prom_page__free(NULL);
}

struct two {
	uint64_t a, b;
};

static void test_stats_and_fields(void **state)
{
	static const struct stat_desc desc[2] = {
		{ "a one", &fa, "n=\"one\"" }, { "a two", &fa, "n=\"two\"" },
	};
	static const struct stat_field fields[2] = {
		STAT_FIELD(struct two, a, "b as is", &fb, "k=\"a\""),
		{ { "b in seconds", &fb, "k=\"b\"" }, offsetof(struct two, b), 1e-9 },
	};
	const uint64_t values[2] = { 5, 7 };
	const struct two t = { 4096, 1500000000 };
	struct prom_page *p = prom_page__new();
	char *text;

	(void)state;
	assert_non_null(p);
	assert_int_equal(stat_field__get(&fields[1], &t), 1500000000);
	assert_int_equal(prom_page__add_stats(p, desc, values, 2), 0);
	assert_int_equal(prom_page__add_fields(p, fields, 2, &t), 0);
	text = page_text(p);
	assert_string_equal(text,
		"# HELP sysscope_a_total A things.\n"
		"# TYPE sysscope_a_total counter\n"
		"sysscope_a_total{n=\"one\"} 5\n"
		"sysscope_a_total{n=\"two\"} 7\n"
		"# HELP sysscope_b_bytes B bytes.\n"
		"# TYPE sysscope_b_bytes gauge\n"
		"sysscope_b_bytes{k=\"a\"} 4096\n"
		"sysscope_b_bytes{k=\"b\"} 1.5\n");
	free(text);
	prom_page__free(p);
}

/* ---- the profiler's tables ---- */

struct seen {
	const struct stat_desc *d[256];
	size_t n;
};

static void check_desc(struct seen *seen, const struct stat_desc *d)
{
	regex_t name, labels;
	const struct prom_family *f = d->family;
	size_t len;

	assert_int_equal(regcomp(&name, "^sysscope(_[a-z0-9]+)+$",
				 REG_EXTENDED | REG_NOSUB), 0);
	/* key="snake_case_value",... */
	assert_int_equal(regcomp(&labels,
				 "^[a-z][a-z0-9_]*=\"[a-z0-9]+(_[a-z0-9]+)*\""
				 "(,[a-z][a-z0-9_]*=\"[a-z0-9]+(_[a-z0-9]+)*\")*$",
				 REG_EXTENDED | REG_NOSUB), 0);
	assert_non_null(d->text);
	assert_true(d->text[0]);
	if (!f) {	/* summary.txt's alone (e.g. ns, which /metrics shows as seconds) */
		regfree(&name);
		regfree(&labels);
		return;
	}
	if (regexec(&name, f->name, 0, NULL, 0))
		fail_msg("%s: not a snake_case sysscope_ name", f->name);
	len = strlen(f->name);
	if ((f->type == PROM_COUNTER) != (len > 6 &&
					  !strcmp(f->name + len - 6, "_total")))
		fail_msg("%s: _total is for counters, and every counter", f->name);
	assert_non_null(f->help);
	assert_true(strlen(f->help) > 3);
	if (d->labels && regexec(&labels, d->labels, 0, NULL, 0))
		fail_msg("%s{%s}: labels not snake_case", f->name, d->labels);
	for (size_t i = 0; i < seen->n; i++) {
		const struct stat_desc *o = seen->d[i];
		bool same_name = !strcmp(o->family->name, f->name);

		if (same_name && o->family != f)
			fail_msg("%s: two families of that name", f->name);
		if (same_name && !strcmp(o->labels ? o->labels : "",
					 d->labels ? d->labels : ""))
			fail_msg("%s{%s}: two counters", f->name,
				 d->labels ? d->labels : "");
		if (!strcmp(o->text, d->text))
			fail_msg("\"%s\": two summary lines", d->text);
	}
	assert_true(seen->n < sizeof(seen->d) / sizeof(seen->d[0]));
	seen->d[seen->n++] = d;
	regfree(&name);
	regfree(&labels);
}

static void test_tables(void **state)
{
	const struct stat_field *(*fields[])(size_t *n) = {
		symbolizer_stats__fields, unwinder_stats__fields,
		resolver_stats__fields,
	};
	struct seen seen = { .n = 0 };

	(void)state;
	for (int i = 0; i < ONCPU_STAT_MAX; i++)
		check_desc(&seen, &oncpu_stat__desc()[i]);
	for (int i = 0; i < OFFCPU_STAT_MAX; i++)
		check_desc(&seen, &offcpu_stat__desc()[i]);
	for (int i = 0; i < UNWIND_STAT_MAX; i++)
		check_desc(&seen, &unwind_stat__desc()[i]);
	for (size_t t = 0; t < sizeof(fields) / sizeof(fields[0]); t++) {
		size_t n;
		const struct stat_field *f = fields[t](&n);

		for (size_t i = 0; i < n; i++)
			check_desc(&seen, &f[i].desc);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_escaping),
		cmocka_unit_test(test_families_once),
		cmocka_unit_test(test_stats_and_fields),
		cmocka_unit_test(test_tables),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
