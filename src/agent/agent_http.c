// SPDX-License-Identifier: MIT
/*
 * Routes:
 *   /                         HTML: pods and containers, on/off-CPU time
 *   /api/workloads            the same list as JSON
 *   /node[.EXT]               the whole node
 *   /pods/NS/POD[.EXT]        one pod (all its containers)
 *   /containers/NAME-OR-ID[.EXT]
 *   /metrics, /healthz (503 when no window closed in twice its length)
 * EXT: svg (the default: an interactive flamegraph), folded, pb.gz (pprof),
 * json (the tree). Query: mode=wallclock|oncpu|offcpu, windows=N (the
 * newest N windows; default 1, 0 = all kept).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <json-c/json.h>
#include <microhttpd.h>
#include "agent_http.h"
#include "flamegraph_svg.h"
#include "folded.h"
#include "pprof.h"
#include "profile.h"
#include "prom.h"
#include "record.h"
#include "window_store.h"
#include "workload_list.h"


/* What the server has done: requests by status class, for /metrics. */
struct agent_http_stats {
	uint64_t requests, client_errors, server_errors;
};

struct agent_http {
	struct MHD_Daemon *mhd;
	struct agent_http_config cfg;
	struct agent_http_stats stats;	/* only the server thread writes */
};

/* ---- the socket ---- */

int agent_http__listen(const char *addr)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV | AI_NUMERICHOST,
	}, *res = NULL;
	char host[256] = "";
	const char *colon = strrchr(addr, ':'), *port;
	int fd, one = 1, err;
	size_t hl;

	if (!colon || !colon[1])
		return -EINVAL;
	port = colon + 1;
	/* A port is 0..65535 in decimal; getaddrinfo would wrap 70000. */
	if (strspn(port, "0123456789") != strlen(port) || strlen(port) > 5 ||
	    strtoul(port, NULL, 10) > 65535)
		return -EINVAL;
	hl = (size_t)(colon - addr);
	if (hl >= 2 && addr[0] == '[' && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -ENAMETOOLONG;
	memcpy(host, addr, hl);
	host[hl] = '\0';
	err = getaddrinfo(hl ? host : NULL, port, &hints, &res);
	if (err)
		return err == EAI_SYSTEM ? -errno : -EADDRNOTAVAIL;
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		err = -errno;
		close(fd);
		goto out;
	}
	err = fd;
out:
	freeaddrinfo(res);
	return err;
}

/* ---- a response body in memory ---- */

struct body {
	char *buf;
	size_t len;
	FILE *f;
};

static int body_open(struct body *b)
{
	b->buf = NULL;
	b->len = 0;
	b->f = open_memstream(&b->buf, &b->len);
	return b->f ? 0 : -errno;
}

/* Closes the stream; the buffer stays for the response. */
static int body_close(struct body *b)
{
	int err = ferror(b->f) ? -EIO : 0;

	if (fclose(b->f))
		err = err ?: -errno;
	b->f = NULL;
	return err;
}

static enum MHD_Result send_body(struct agent_http *h,
				 struct MHD_Connection *c, unsigned int status,
				 const char *type, struct body *b)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(b->len, b->buf,
					    MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(b->buf);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	h->stats.requests++;
	if (status >= 500)
		h->stats.server_errors++;
	else if (status >= 400)
		h->stats.client_errors++;
	return ret;
}

static enum MHD_Result send_text(struct agent_http *h,
				 struct MHD_Connection *c, unsigned int status,
				 const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static enum MHD_Result send_text(struct agent_http *h,
				 struct MHD_Connection *c, unsigned int status,
				 const char *fmt, ...)
{
	struct body b;
	va_list ap;

	if (body_open(&b))
		return MHD_NO;
	va_start(ap, fmt);
	vfprintf(b.f, fmt, ap);
	va_end(ap);
	fputc('\n', b.f);
	if (body_close(&b)) {
		free(b.buf);
		return MHD_NO;
	}
	return send_body(h, c, status, "text/plain; charset=utf-8", &b);
}

/* ---- what a request asks for ---- */

enum view_mode { VIEW_WALLCLOCK, VIEW_ONCPU, VIEW_OFFCPU };

static const char *const mode_names[] = { "wallclock", "oncpu", "offcpu" };
static const value_mask_t mode_masks[] = {
	(1u << VALUE_CPU) | (1u << VALUE_OFFCPU),
	1u << VALUE_CPU,
	1u << VALUE_OFFCPU,
};
static const char *const mode_titles[] = {
	"on-CPU + off-CPU", "on-CPU", "off-CPU",
};

struct query {
	enum view_mode mode;
	size_t windows;			/* 0: all */
};

/* 0, or a 400 message in err. */
static int parse_query(struct MHD_Connection *c, struct query *q, char *err,
		       size_t errlen)
{
	const char *mode = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						       "mode");
	const char *win = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
						      "windows");
	char *end;

	q->mode = VIEW_WALLCLOCK;
	q->windows = 1;
	if (mode) {
		size_t i;

		for (i = 0; i < 3 && strcmp(mode, mode_names[i]); i++)
			;
		if (i == 3) {
			snprintf(err, errlen,
				 "mode: \"%.64s\" is not wallclock, oncpu or offcpu",
				 mode);
			return -EINVAL;
		}
		q->mode = (enum view_mode)i;
	}
	if (win) {
		unsigned long n;

		errno = 0;
		n = strtoul(win, &end, 10);
		if (!*win || *end || errno || n > 1000000 || win[0] == '-') {
			snprintf(err, errlen,
				 "windows: \"%.64s\" is not a count (0 = all)",
				 win);
			return -EINVAL;
		}
		q->windows = n;
	}
	return 0;
}

/* ---- choosing samples ---- */

enum pick_kind { PICK_NODE, PICK_POD, PICK_CONTAINER };

struct pick {
	enum pick_kind kind;
	const char *ns, *pod;		/* PICK_POD */
	const char *container;		/* PICK_CONTAINER: name, id or prefix */
};

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static bool id_matches(const char *id, const char *arg)
{
	size_t n = strlen(arg);

	return id && n >= 6 && !strncmp(id, arg, n);
}

static bool sample_picked(const struct profile_sample *s, void *ctx)
{
	const struct pick *p = ctx;

	switch (p->kind) {
	case PICK_NODE:
		return true;
	case PICK_POD:
		/* No namespace known (a pod seen only by its UID): "_". */
		return streq(s->labels[LABEL_POD], p->pod) &&
		       (p->ns ? streq(s->labels[LABEL_NAMESPACE], p->ns) :
				!s->labels[LABEL_NAMESPACE]);
	case PICK_CONTAINER:
		return streq(s->labels[LABEL_CONTAINER], p->container) ||
		       id_matches(s->labels[LABEL_CONTAINER_ID], p->container);
	}
	return false;
}

struct merged {
	struct profile *p;
	uint64_t start_real_ns, duration_ns;
	size_t windows;
};

/* The chosen windows' samples that pick accepts, in one profile. */
static int merge_windows(struct agent_http *h, const struct query *q,
			 struct pick *pick, struct merged *m)
{
	static const struct profile_value_type types[] = {
		{ "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" },
	};
	static const char *const keys[LABEL_MAX] = {
		[LABEL_REASON] = "reason", [LABEL_CONTAINER] = "container",
		[LABEL_POD] = "pod", [LABEL_NAMESPACE] = "namespace",
		[LABEL_CONTAINER_ID] = "container_id",
	};
	struct window **w;
	size_t n;
	int err;

	memset(m, 0, sizeof(*m));
	w = window_store__get(h->cfg.store, q->windows, &n);
	if (!w)
		return errno ? -errno : -ENODATA;
	m->p = profile__new(types, 2);
	err = m->p ? profile__set_label_keys(m->p, keys, LABEL_MAX) : -errno;
	for (size_t i = 0; i < n && !err; i++)
		err = profile__merge(m->p, w[i]->profile, sample_picked, pick);
	m->start_real_ns = w[0]->start_real_ns;
	m->duration_ns = w[n - 1]->start_real_ns + w[n - 1]->duration_ns -
			 w[0]->start_real_ns;
	m->windows = n;
	window_store__put(w, n);
	if (err) {
		profile__free(m->p);
		m->p = NULL;
	}
	return err;
}

/* ---- views of one profile ---- */

static int write_json_node(const struct profile *p,
			   const struct profile_node *n, value_mask_t mask,
			   json_object *out)
{
	json_object *kids = json_object_new_array();

	if (!kids)
		return -ENOMEM;
	json_object_object_add(out, "value",
			       json_object_new_int64((int64_t)values_sum(n->total, mask)));
	json_object_object_add(out, "oncpu_ns",
			       json_object_new_int64((int64_t)n->total[VALUE_CPU]));
	json_object_object_add(out, "offcpu_ns",
			       json_object_new_int64((int64_t)n->total[VALUE_OFFCPU]));
	json_object_object_add(out, "children", kids);
	for (uint32_t i = 0; i < n->nchildren; i++) {
		const struct profile_node *k = n->children[i];
		json_object *o;
		char name[1024];
		int err;

		if (!values_sum(k->total, mask))
			continue;
		o = json_object_new_object();
		if (!o)
			return -ENOMEM;
		frame__format(profile__frame_at(p, k->frame), name, sizeof(name));
		json_object_object_add(o, "name", json_object_new_string(name));
		json_object_array_add(kids, o);
		err = write_json_node(p, k, mask, o);
		if (err)
			return err;
	}
	return 0;
}

static int write_json(const struct profile_tree *t, value_mask_t mask,
		      const struct merged *m, FILE *f)
{
	json_object *root = json_object_new_object();
	const char *text;
	int err;

	if (!root)
		return -ENOMEM;
	json_object_object_add(root, "name", json_object_new_string("root"));
	json_object_object_add(root, "unit", json_object_new_string("nanoseconds"));
	json_object_object_add(root, "start_unix_ns",
			       json_object_new_int64((int64_t)m->start_real_ns));
	json_object_object_add(root, "duration_ns",
			       json_object_new_int64((int64_t)m->duration_ns));
	json_object_object_add(root, "windows",
			       json_object_new_int64((int64_t)m->windows));
	err = write_json_node(t->profile, t->root, mask, root);
	if (!err) {
		text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
		if (!text || fputs(text, f) < 0)
			err = -EIO;
	}
	json_object_put(root);
	return err;
}

enum format { FMT_SVG, FMT_FOLDED, FMT_PPROF, FMT_JSON };

static const struct {
	const char *ext, *type;
} formats[] = {
	[FMT_SVG] = { ".svg", "image/svg+xml" },
	[FMT_FOLDED] = { ".folded", "text/plain; charset=utf-8" },
	[FMT_PPROF] = { ".pb.gz", "application/octet-stream" },
	[FMT_JSON] = { ".json", "application/json" },
};

static int render(struct agent_http *h, const struct merged *m,
		  const struct query *q, enum format fmt, const char *what,
		  FILE *f)
{
	static const char *const suffix[PROFILE_MAX_VALUES] = { "_[c]", "_[o]" };
	value_mask_t mask = mode_masks[q->mode];
	struct profile_tree *t;
	char title[512], sub[256];
	int err;

	if (fmt == FMT_PPROF) {
		struct profile_meta meta = {
			.mode = "wallclock", .start_ns = m->start_real_ns,
			.duration_ns = m->duration_ns,
			.period_ns = h->cfg.period_ns,
		};

		return pprof__write(m->p, &meta, f);
	}
	t = profile_tree__new(m->p);
	if (!t)
		return -errno;
	switch (fmt) {
	case FMT_FOLDED:
		err = q->mode == VIEW_WALLCLOCK ?
			folded__write_split(t, mask, suffix, f) :
			folded__write(t, mask, f);
		break;
	case FMT_JSON:
		err = write_json(t, mask, m, f);
		break;
	default: {
		struct svg_opts o = {
			.title = title, .subtitle = sub, .unit = "ns",
			.mask = mask,
			.offcpu_value = q->mode == VIEW_ONCPU ? -1 : VALUE_OFFCPU,
		};

		snprintf(title, sizeof(title), "sysscope: %s, %s", what,
			 mode_titles[q->mode]);
		snprintf(sub, sizeof(sub), "%zu window%s, %.1f s",
			 m->windows, m->windows == 1 ? "" : "s",
			 m->duration_ns / 1e9);
		err = svg__write(t, &o, f);
	}
	}
	profile_tree__free(t);
	return err;
}

/* The format a path ends in; *len is trimmed of the extension. */
static enum format format_of(const char *name, size_t *len)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		size_t el = strlen(formats[i].ext);

		if (*len > el && !strcmp(name + *len - el, formats[i].ext)) {
			*len -= el;
			return (enum format)i;
		}
	}
	return FMT_SVG;
}

static enum MHD_Result serve_profile(struct agent_http *h,
				     struct MHD_Connection *c,
				     struct pick *pick, const char *what,
				     enum format fmt)
{
	struct query q;
	struct merged m;
	struct body b;
	char err_msg[256];
	int err;

	if (parse_query(c, &q, err_msg, sizeof(err_msg)))
		return send_text(h, c, MHD_HTTP_BAD_REQUEST, "%s", err_msg);
	err = merge_windows(h, &q, pick, &m);
	if (err == -ENODATA)
		return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE,
				 "no window yet: the first one ends after --window seconds");
	if (err)
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "merging windows: %s", strerror(-err));
	if (pick->kind != PICK_NODE && !profile__nsamples(m.p)) {
		profile__free(m.p);
		return send_text(h, c, MHD_HTTP_NOT_FOUND,
				 "%s: nothing recorded in the last %zu window(s); see /api/workloads",
				 what, m.windows);
	}
	err = body_open(&b);
	if (!err) {
		err = render(h, &m, &q, fmt, what, b.f);
		err = body_close(&b) ?: err;
	}
	profile__free(m.p);
	if (err) {
		free(b.buf);
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "rendering %s: %s", what, strerror(-err));
	}
	return send_body(h, c, MHD_HTTP_OK, formats[fmt].type, &b);
}

static enum MHD_Result serve_list(struct agent_http *h,
				  struct MHD_Connection *c, bool html)
{
	struct window **w;
	struct query q;
	struct body b;
	char err_msg[256];
	size_t n;
	int err;

	if (parse_query(c, &q, err_msg, sizeof(err_msg)))
		return send_text(h, c, MHD_HTTP_BAD_REQUEST, "%s", err_msg);
	w = window_store__get(h->cfg.store, q.windows, &n);
	if (!w && errno)
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
	err = body_open(&b);
	if (!err) {
		err = workload_list__write(w, n, q.windows, html, b.f);
		err = body_close(&b) ?: err;
		if (err)
			free(b.buf);
	}
	window_store__put(w, n);
	if (err)
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "listing workloads: %s", strerror(-err));
	return send_body(h, c, MHD_HTTP_OK, html ? "text/html; charset=utf-8" :
			 "application/json", &b);
}

/* ---- routing ---- */

static const struct prom_family http_requests = {
	"sysscope_http_requests_total", PROM_COUNTER,
	"HTTP requests answered, all and by error class.",
};

/* The agent's counters, the workloads' time, the server's requests. */
static int add_metrics(struct agent_http *h, struct prom_page *p)
{
	struct window **w;
	size_t n;
	int err = h->cfg.metrics(h->cfg.metrics_ctx, p);

	/* Per-pod and per-container time in the newest window, as gauges. */
	w = window_store__get(h->cfg.store, 1, &n);
	err = err ?: workload_list__add_metrics(w, n, p);
	window_store__put(w, n);
	err = err ?: prom_page__add(p, &http_requests, "class=\"all\"",
				    (double)h->stats.requests);
	err = err ?: prom_page__add(p, &http_requests, "class=\"4xx\"",
				    (double)h->stats.client_errors);
	return err ?: prom_page__add(p, &http_requests, "class=\"5xx\"",
				     (double)h->stats.server_errors);
}

static enum MHD_Result serve_metrics(struct agent_http *h,
				     struct MHD_Connection *c)
{
	struct prom_page *p = prom_page__new();
	struct body b;
	int err = p ? add_metrics(h, p) : -ENOMEM;

	if (!err && !(err = body_open(&b))) {
		err = prom_page__write(p, b.f);
		err = body_close(&b) ?: err;
		if (err)
			free(b.buf);
	}
	prom_page__free(p);
	if (err)
		return send_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR,
				 "metrics: %s", strerror(-err));
	return send_body(h, c, MHD_HTTP_OK,
			 "text/plain; version=0.0.4; charset=utf-8", &b);
}

static enum MHD_Result route(struct agent_http *h, struct MHD_Connection *c,
			     const char *url)
{
	char what[1100], name[1024];
	struct pick pick = { PICK_NODE, NULL, NULL, NULL };
	size_t len;
	enum format fmt;

	if (!strcmp(url, "/healthz")) {
		char why[160];

		if (h->cfg.health && h->cfg.health(h->cfg.metrics_ctx, why, sizeof(why)))
			return send_text(h, c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", why);
		return send_text(h, c, MHD_HTTP_OK, "ok");
	}
	if (!strcmp(url, "/favicon.ico")) {
		struct body b = { .buf = NULL, .len = 0 };

		return send_body(h, c, MHD_HTTP_NO_CONTENT, "image/x-icon", &b);
	}
	if (!strcmp(url, "/metrics"))
		return serve_metrics(h, c);
	if (!strcmp(url, "/") || !strcmp(url, "/index.html"))
		return serve_list(h, c, true);
	if (!strcmp(url, "/api/workloads"))
		return serve_list(h, c, false);
	if (!strncmp(url, "/node", 5) && (!url[5] || url[5] == '.')) {
		len = strlen(url);
		fmt = format_of(url, &len);
		if (len != 5)
			return send_text(h, c, MHD_HTTP_NOT_FOUND, "%s: no such page", url);
		return serve_profile(h, c, &pick, "the node", fmt);
	}
	if (!strncmp(url, "/containers/", 12) && url[12]) {
		len = strlen(url + 12);
		if (len >= sizeof(name) || strchr(url + 12, '/'))
			return send_text(h, c, MHD_HTTP_NOT_FOUND, "%s: no such page", url);
		fmt = format_of(url + 12, &len);
		memcpy(name, url + 12, len);
		name[len] = '\0';
		pick.kind = PICK_CONTAINER;
		pick.container = name;
		snprintf(what, sizeof(what), "container %s", name);
		return serve_profile(h, c, &pick, what, fmt);
	}
	if (!strncmp(url, "/pods/", 6)) {
		const char *ns = url + 6, *slash = strchr(ns, '/');

		len = slash ? strlen(slash + 1) : 0;
		if (!slash || slash == ns || !len || len >= sizeof(name) ||
		    strchr(slash + 1, '/') || (size_t)(slash - ns) >= 256)
			return send_text(h, c, MHD_HTTP_NOT_FOUND,
					 "%s: use /pods/NAMESPACE/POD", url);
		fmt = format_of(slash + 1, &len);
		memcpy(name, slash + 1, len);
		name[len] = '\0';
		memcpy(what, ns, (size_t)(slash - ns));
		what[slash - ns] = '\0';
		pick.kind = PICK_POD;
		pick.pod = name;
		pick.ns = strcmp(what, "_") ? what : NULL;
		{
			char title[2400];

			snprintf(title, sizeof(title), "pod %s/%s", what, name);
			return serve_profile(h, c, &pick, title, fmt);
		}
	}
	return send_text(h, c, MHD_HTTP_NOT_FOUND,
			 "%s: no such page (try /, /api/workloads, /metrics)", url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct agent_http *h = cls;

	(void)version;
	(void)upload;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD))
		return send_text(h, c, MHD_HTTP_METHOD_NOT_ALLOWED,
				 "%s: only GET", method);
	if (*upload_size)
		return send_text(h, c, MHD_HTTP_BAD_REQUEST, "no body expected");
	return route(h, c, url);
}

struct agent_http *agent_http__start(int listen_fd,
				     const struct agent_http_config *cfg)
{
	struct agent_http *h = calloc(1, sizeof(*h));

	if (!h) {
		close(listen_fd);
		return NULL;
	}
	h->cfg = *cfg;
	/*
	 * One thread polls every connection: a slow client costs a socket,
	 * never the collector's time. Limits bound what clients can hold.
	 */
	h->mhd = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
				  0, NULL, NULL, on_request, h,
				  MHD_OPTION_LISTEN_SOCKET, listen_fd,
				  MHD_OPTION_CONNECTION_LIMIT, 256u,
				  MHD_OPTION_PER_IP_CONNECTION_LIMIT, 64u,
				  MHD_OPTION_CONNECTION_TIMEOUT, 30u,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
				  MHD_OPTION_END);
	if (!h->mhd) {
		close(listen_fd);
		free(h);
		errno = EIO;
		return NULL;
	}
	return h;
}

void agent_http__stop(struct agent_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	free(h);
}
