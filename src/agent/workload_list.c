// SPDX-License-Identifier: MIT
/* The agent's list of pods and containers, as an HTML page and as JSON. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "agent_http.h"
#include "profile.h"
#include "prom.h"
#include "record.h"
#include "window_store.h"
#include "workload_list.h"

struct row {
	const char *ns, *pod, *container, *id;	/* strings of a held window */
	uint64_t on_ns, off_ns;
	uint64_t group_on_ns;		/* for sorting: the pod's on_ns */
	bool is_pod;
};

struct rows {
	struct row *r;
	size_t n, cap;
};

/* Both NULL, or equal strings. */
static bool same(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool row_same(const struct row *r, const struct row *k)
{
	return r->is_pod == k->is_pod && same(r->ns, k->ns) &&
	       same(r->pod, k->pod) &&
	       (k->is_pod || (same(r->id, k->id) &&
			      same(r->container, k->container)));
}

static struct row *row_find(struct rows *rs, const struct row *key)
{
	for (size_t i = 0; i < rs->n; i++)
		if (row_same(&rs->r[i], key))
			return &rs->r[i];
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct row *n = realloc(rs->r, cap * sizeof(*n));

		if (!n)
			return NULL;
		rs->r = n;
		rs->cap = cap;
	}
	rs->r[rs->n] = *key;
	rs->r[rs->n].on_ns = rs->r[rs->n].off_ns = 0;
	return &rs->r[rs->n++];
}

static int collect_rows(struct window **w, size_t n, struct rows *rs)
{
	for (size_t i = 0; i < n; i++) {
		const struct profile *p = w[i]->profile;

		for (size_t j = 0; j < profile__nsamples(p); j++) {
			const struct profile_sample *s = profile__sample_at(p, j);
			struct row key = {
				.ns = s->labels[LABEL_NAMESPACE],
				.pod = s->labels[LABEL_POD],
				.container = s->labels[LABEL_CONTAINER],
				.id = s->labels[LABEL_CONTAINER_ID],
			};
			struct row *r;

			if (!key.pod && !key.container)
				continue;	/* a host process */
			if (key.container) {
				r = row_find(rs, &key);
				if (!r)
					return -ENOMEM;
				r->on_ns += s->values[VALUE_CPU];
				r->off_ns += s->values[VALUE_OFFCPU];
			}
			if (key.pod) {
				key.is_pod = true;
				key.container = key.id = NULL;
				r = row_find(rs, &key);
				if (!r)
					return -ENOMEM;
				r->on_ns += s->values[VALUE_CPU];
				r->off_ns += s->values[VALUE_OFFCPU];
			}
		}
	}
	return 0;
}

/*
 * Busiest group first (a pod with its containers, or a plain container),
 * the pod's own row above its containers, then busiest container; names
 * break ties, so the order is stable.
 */
static int by_group(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	int c;

	if (x->group_on_ns != y->group_on_ns)
		return x->group_on_ns < y->group_on_ns ? 1 : -1;
	if ((c = strcmp(x->ns ? x->ns : "", y->ns ? y->ns : "")) ||
	    (c = strcmp(x->pod ? x->pod : "", y->pod ? y->pod : "")))
		return c;
	if (x->is_pod != y->is_pod)
		return x->is_pod ? -1 : 1;
	if (x->on_ns != y->on_ns)
		return x->on_ns < y->on_ns ? 1 : -1;
	return strcmp(x->id ? x->id : x->container ? x->container : "",
		      y->id ? y->id : y->container ? y->container : "");
}

/* Each row's group total: its pod's, or its own outside a pod. */
static void set_groups(struct rows *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		struct row *r = &rs->r[i];

		r->group_on_ns = r->on_ns;
		if (r->is_pod || !r->pod)
			continue;
		for (size_t j = 0; j < rs->n; j++)
			if (rs->r[j].is_pod && same(rs->r[j].ns, r->ns) &&
			    same(rs->r[j].pod, r->pod))
				r->group_on_ns = rs->r[j].on_ns;
	}
}

static void url_of(const struct row *r, char *buf, size_t len)
{
	if (r->is_pod)
		snprintf(buf, len, "/pods/%s/%s", r->ns ? r->ns : "_", r->pod);
	else
		snprintf(buf, len, "/containers/%s",
			 r->id ? r->id : r->container);
}

static json_object *jstr(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static int write_list_json(struct window **w, size_t n, struct rows *rs,
			   FILE *f)
{
	json_object *root = json_object_new_object(), *wins, *list;
	int err = 0;

	if (!root)
		return -ENOMEM;
	wins = json_object_new_array();
	list = json_object_new_array();
	json_object_object_add(root, "windows", wins);
	json_object_object_add(root, "workloads", list);
	for (size_t i = 0; i < n; i++) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "seq", json_object_new_int64((int64_t)w[i]->seq));
		json_object_object_add(o, "start_unix_ns",
				       json_object_new_int64((int64_t)w[i]->start_real_ns));
		json_object_object_add(o, "duration_s",
				       json_object_new_double(w[i]->duration_ns / 1e9));
		if (w[i]->sampling.oncpu_hz) {
			json_object_object_add(o, "oncpu_hz",
					       json_object_new_int64(w[i]->sampling.oncpu_hz));
			json_object_object_add(o, "offcpu_sample_probability",
					       json_object_new_double(w[i]->sampling.offcpu_probability));
		}
		json_object_array_add(wins, o);
	}
	for (size_t i = 0; i < rs->n; i++) {
		const struct row *r = &rs->r[i];
		json_object *o = json_object_new_object();
		char url[1200];

		url_of(r, url, sizeof(url));
		json_object_object_add(o, "kind",
				       json_object_new_string(r->is_pod ? "pod" : "container"));
		json_object_object_add(o, "namespace", jstr(r->ns));
		json_object_object_add(o, "pod", jstr(r->pod));
		json_object_object_add(o, "container", jstr(r->container));
		json_object_object_add(o, "id", jstr(r->id));
		json_object_object_add(o, "oncpu_s", json_object_new_double(r->on_ns / 1e9));
		json_object_object_add(o, "offcpu_s", json_object_new_double(r->off_ns / 1e9));
		json_object_object_add(o, "url", json_object_new_string(url));
		json_object_array_add(list, o);
	}
	if (fputs(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN),
		  f) < 0)
		err = -EIO;
	json_object_put(root);
	return err;
}

static void html_puts(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A URL path segment: everything but unreserved characters escaped. */
static void url_puts(FILE *f, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p))
			fputc(*p, f);
		else
			fprintf(f, "%%%02X", *p);
	}
}

static const char page_head[] =
"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
"<title>sysscope: %s</title>\n<style>\n"
"body{font-family:sans-serif;margin:1.5em;color:#222}\n"
"table{border-collapse:collapse}td,th{padding:.3em .8em;border-bottom:1px solid #ddd}\n"
"th{cursor:pointer;text-align:left;background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
"tr.pod td{font-weight:bold}a{color:#0645ad}\n"
"</style></head><body>\n";

static const char page_sort_js[] =
"<script>\n"
"document.querySelectorAll('th').forEach(function(th,i){\n"
" th.addEventListener('click',function(){\n"
"  var tb=th.closest('table').tBodies[0],rows=Array.from(tb.rows);\n"
"  var num=th.dataset.num==='1',asc=th.dataset.asc!=='1';th.dataset.asc=asc?'1':'0';\n"
"  rows.sort(function(a,b){var x=a.cells[i].dataset.v||a.cells[i].textContent,\n"
"   y=b.cells[i].dataset.v||b.cells[i].textContent;\n"
"   var c=num?(parseFloat(x)-parseFloat(y)):x.localeCompare(y);return asc?c:-c;});\n"
"  rows.forEach(function(r){tb.appendChild(r);});\n"
" });\n"
"});\n"
"</script>\n";

static void mode_links(FILE *f, const char *url, size_t windows)
{
	static const char *const mode_names[] = { "wallclock", "oncpu", "offcpu" };

	for (int m = 0; m < 3; m++) {
		fputs(m ? " &middot; " : "", f);
		fputs("<a href=\"", f);
		url_puts(f, url);
		fprintf(f, "?mode=%s&amp;windows=%zu\">%s</a>", mode_names[m],
			windows, m == 0 ? "wall-clock" : m == 1 ? "on-CPU" :
							  "off-CPU");
	}
}

static int write_list_html(struct window **w, size_t n, size_t asked,
			   struct rows *rs, FILE *f)
{
	double secs = n ? (w[n - 1]->start_real_ns + w[n - 1]->duration_ns -
			   w[0]->start_real_ns) / 1e9 : 0;

	fprintf(f, page_head, "pods and containers");
	fprintf(f, "<h1>sysscope: pods and containers on this node</h1>\n");
	fprintf(f, "<p>The newest %zu window%s (%.0f s). Show: "
		"<a href=\"/?windows=1\">last window</a> &middot; "
		"<a href=\"/?windows=5\">last 5</a> &middot; "
		"<a href=\"/?windows=0\">all kept</a>. "
		"Whole node: ", n, n == 1 ? "" : "s", secs);
	mode_links(f, "/node", asked);
	fprintf(f, ". <a href=\"/api/workloads?windows=%zu\">JSON</a>, "
		"<a href=\"/metrics\">metrics</a>.</p>\n", asked);
	fputs("<table id=\"workloads\"><thead><tr><th>kind</th><th>namespace</th>"
	      "<th>pod</th><th>container</th><th data-num=\"1\">on-CPU s</th>"
	      "<th data-num=\"1\">off-CPU s</th><th>flamegraph</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < rs->n; i++) {
		const struct row *r = &rs->r[i];
		char url[1200];

		url_of(r, url, sizeof(url));
		fprintf(f, "<tr class=\"%s\" data-kind=\"%s\" data-namespace=\"",
			r->is_pod ? "pod" : "container",
			r->is_pod ? "pod" : "container");
		html_puts(f, r->ns ? r->ns : "");
		fputs("\" data-pod=\"", f);
		html_puts(f, r->pod ? r->pod : "");
		fputs("\" data-container=\"", f);
		html_puts(f, r->container ? r->container : "");
		fprintf(f, "\"><td>%s</td><td>", r->is_pod ? "pod" : "container");
		html_puts(f, r->ns ? r->ns : "");
		fputs("</td><td>", f);
		html_puts(f, r->pod ? r->pod : "");
		fputs("</td><td>", f);
		html_puts(f, r->container ? r->container : "");
		fprintf(f, "</td><td class=\"n\" data-v=\"%.3f\">%.3f</td>"
			"<td class=\"n\" data-v=\"%.3f\">%.3f</td><td>",
			r->on_ns / 1e9, r->on_ns / 1e9, r->off_ns / 1e9,
			r->off_ns / 1e9);
		fputs("<a class=\"flamegraph\" href=\"", f);
		url_puts(f, url);
		fprintf(f, "?windows=%zu\">", asked);
		html_puts(f, r->is_pod ? r->pod : r->container);
		fputs("</a> (", f);
		mode_links(f, url, asked);
		fputs(")</td></tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
	if (!rs->n)
		fputs("<p id=\"empty\">No container ran in these windows.</p>\n", f);
	fputs(page_sort_js, f);
	fputs("</body></html>\n", f);
	return 0;
}

int workload_list__write(struct window **w, size_t n, size_t asked,
			 bool html, FILE *f)
{
	struct rows rs = { 0 };
	int err = collect_rows(w, n, &rs);

	if (!err && rs.n) {
		set_groups(&rs);
		qsort(rs.r, rs.n, sizeof(*rs.r), by_group);
	}
	if (!err)
		err = html ? write_list_html(w, n, asked, &rs, f) :
			     write_list_json(w, n, &rs, f);
	free(rs.r);
	return err;
}

static const struct prom_family workload_seconds[2] = {
	{ "sysscope_workload_cpu_seconds", PROM_GAUGE,
	  "On-CPU time of each pod and container in the newest window." },
	{ "sysscope_workload_offcpu_seconds", PROM_GAUGE,
	  "Off-CPU time of each pod and container in the newest window." },
};

/* The labels of a row: 'kind="pod",namespace="...",...', escaped. */
static char *row_labels(const struct row *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "kind=\"%s\",namespace=\"", r->is_pod ? "pod" : "container");
	prom__write_label_value(f, r->ns);
	fputs("\",pod=\"", f);
	prom__write_label_value(f, r->pod);
	fputs("\",container=\"", f);
	prom__write_label_value(f, r->container);
	fputc('"', f);
	if (ferror(f) | fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * Rows under the labels /metrics gives them: a container replaced by one
 * of the same name (a restart) is one series, its time summed, as the
 * container id is no label (a new series each restart).
 */
static int merge_by_labels(const struct rows *in, struct rows *out)
{
	for (size_t i = 0; i < in->n; i++) {
		struct row key = in->r[i], *r;

		key.id = NULL;
		r = row_find(out, &key);
		if (!r)
			return -ENOMEM;
		r->on_ns += in->r[i].on_ns;
		r->off_ns += in->r[i].off_ns;
	}
	return 0;
}

int workload_list__add_metrics(struct window **w, size_t n,
			       struct prom_page *p)
{
	struct rows all = { 0 }, rs = { 0 };
	int err = collect_rows(w, n, &all) ?: merge_by_labels(&all, &rs);

	free(all.r);

	for (int v = 0; v < 2 && !err; v++) {
		/* Even with no rows: HELP and TYPE say the family exists. */
		err = prom_page__declare(p, &workload_seconds[v]);
		for (size_t i = 0; i < rs.n && !err; i++) {
			const struct row *r = &rs.r[i];
			char *labels = row_labels(r);

			err = labels ? prom_page__add(p, &workload_seconds[v], labels,
						      (v ? r->off_ns : r->on_ns) / 1e9) :
				       -ENOMEM;
			free(labels);
		}
	}
	free(rs.r);
	return err;
}
