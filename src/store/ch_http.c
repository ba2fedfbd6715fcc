// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ch_http.h"

static struct {
	bool loaded;
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLcode (*global_init)(long);
} curl;

#define SYM(field, name) \
	(*(void **)&curl.field = dlsym(h, name)) == NULL

int ch_http__load(void)
{
	void *h;

	if (curl.loaded)
		return 0;
	h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -ENOENT;
	if (SYM(easy_init, "curl_easy_init") ||
	    SYM(easy_setopt, "curl_easy_setopt") ||
	    SYM(easy_perform, "curl_easy_perform") ||
	    SYM(easy_getinfo, "curl_easy_getinfo") ||
	    SYM(easy_cleanup, "curl_easy_cleanup") ||
	    SYM(easy_escape, "curl_easy_escape") ||
	    SYM(free, "curl_free") ||
	    SYM(easy_strerror, "curl_easy_strerror") ||
	    SYM(slist_append, "curl_slist_append") ||
	    SYM(slist_free_all, "curl_slist_free_all") ||
	    SYM(global_init, "curl_global_init"))
		return -ENOENT;
	if (curl.global_init(CURL_GLOBAL_ALL))
		return -ENOMEM;
	curl.loaded = true;
	return 0;
}

static int fail(char *err, size_t errlen, const char *msg, const char *arg)
{
	snprintf(err, errlen, msg, arg);
	return -EINVAL;
}

/* %XX in a URL's user or password. */
static void unescape(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		if (s[i] == '%' && i + 2 < n && isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };

			out[o++] = (char)strtol(hex, NULL, 16);
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
}

static void credentials(struct ch_conn *c, const char *ui, size_t n)
{
	const char *colon = memchr(ui, ':', n);
	const char *env;

	if (n) {
		unescape(ui, colon ? (size_t)(colon - ui) : n, c->user,
			 sizeof(c->user));
		if (colon)
			unescape(colon + 1, n - (colon + 1 - ui), c->password,
				 sizeof(c->password));
		return;
	}
	env = getenv("SYSSCOPE_CLICKHOUSE_USER");
	snprintf(c->user, sizeof(c->user), "%s", env ? env : "");
	env = getenv("SYSSCOPE_CLICKHOUSE_PASSWORD");
	snprintf(c->password, sizeof(c->password), "%s", env ? env : "");
}

int ch_conn__init(struct ch_conn *c, const char *url, const char *db,
		  char *err, size_t errlen)
{
	const char *rest, *host, *at, *end;
	size_t scheme;

	memset(c, 0, sizeof(*c));
	c->timeout_s = 30;
	c->connect_timeout_s = 5;
	db = db ? db : CH_DEFAULT_DB;
	if (!*db || strlen(db) >= sizeof(c->db) ||
	    strspn(db, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(db))
		return fail(err, errlen, "invalid database name '%s' (letters, digits, _)", db);
	strcpy(c->db, db);
	if (!strncmp(url, "http://", 7))
		scheme = 7;
	else if (!strncmp(url, "https://", 8))
		scheme = 8;
	else
		return fail(err, errlen, "ClickHouse URL '%s': expected http://[USER[:PASSWORD]@]HOST:PORT/", url);
	rest = url + scheme;
	end = rest + strcspn(rest, "/?#");
	at = memchr(rest, '@', end - rest);
	host = at ? at + 1 : rest;
	if (host == end)
		return fail(err, errlen, "ClickHouse URL '%s': no host", url);
	if (strlen(url) + 2 >= sizeof(c->url))
		return fail(err, errlen, "ClickHouse URL '%s': too long", url);
	if (*end && strcmp(end, "/"))
		return fail(err, errlen, "ClickHouse URL '%s': no path or query expected (the database is --clickhouse-db)", url);
	snprintf(c->url, sizeof(c->url), "%.*s%.*s/", (int)scheme, url,
		 (int)(end - host), host);
	credentials(c, rest, at ? (size_t)(at - rest) : 0);
	return 0;
}

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
	struct ch_buf *b = ctx;

	ch_buf__put(b, p, size * n);
	return b->err ? 0 : size * n;
}

static int curl_errno(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	default:
		return -EIO;
	}
}

/* The server's error: its first line ("Code: 60, e.displayText() = ..."). */
static int server_error(long status, struct ch_buf *b, char *err, size_t errlen)
{
	size_t n = b->len < 400 ? b->len : 400, line;
	const char *text;

	/* Terminated, for strcspn/strstr: any server's text may end anywhere. */
	ch_buf__put(b, "", 1);
	if (b->err || !b->data) {
		n = 0;
		text = "";
	} else {
		b->len--;
		text = (const char *)b->data;
	}
	line = strcspn(text, "\n");
	snprintf(err, errlen, "HTTP %ld: %.*s", status,
		 (int)(line < n ? line : n), text);
	if (status == 401 || status == 403 ||
	    (n && (strstr(text, "Code: 192") || strstr(text, "Code: 193") ||
		   strstr(text, "Code: 516"))))
		return -EACCES;
	return -EPROTO;
}

int ch_http__exec(const struct ch_conn *c, const char *sql, const void *body,
		  size_t len, bool gzip, struct ch_buf *resp, char *err,
		  size_t errlen)
{
	struct ch_buf own = { 0 }, *out = resp ? resp : &own, url = { 0 };
	struct curl_slist *hdr = NULL;
	long status = 0;
	CURLcode rc;
	CURL *h;
	char *q = NULL;
	int ret = 0;

	if (ch_http__load()) {
		snprintf(err, errlen, "libcurl (libcurl.so.4) not found");
		return -ENOENT;
	}
	h = curl.easy_init();
	if (!h) {
		snprintf(err, errlen, "libcurl: out of memory");
		return -ENOMEM;
	}
	ch_buf__put(&url, c->url, strlen(c->url));
	/* Names are qualified: no ?database=, which must exist already. */
	if (body) {
		q = curl.easy_escape(h, sql, 0);
		ch_buf__put(&url, "?query=", 7);
		ch_buf__put(&url, q ? q : "", q ? strlen(q) : 0);
	}
	ch_buf__put(&url, "", 1);
	if (gzip)
		hdr = curl.slist_append(hdr, "Content-Encoding: gzip");
	if (url.err || (gzip && !hdr)) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	curl.easy_setopt(h, CURLOPT_URL, (const char *)url.data);
	curl.easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl.easy_setopt(h, CURLOPT_POST, 1L);
	curl.easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : (const void *)sql);
	curl.easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
			 (curl_off_t)(body ? len : strlen(sql)));
	curl.easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl.easy_setopt(h, CURLOPT_TIMEOUT, c->timeout_s);
	curl.easy_setopt(h, CURLOPT_CONNECTTIMEOUT, c->connect_timeout_s);
	curl.easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl.easy_setopt(h, CURLOPT_WRITEDATA, out);
	curl.easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	if (c->user[0]) {
		curl.easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl.easy_setopt(h, CURLOPT_USERNAME, c->user);
		curl.easy_setopt(h, CURLOPT_PASSWORD, c->password);
	}
	rc = curl.easy_perform(h);
	if (rc != CURLE_OK) {
		ret = out->err ?: curl_errno(rc);
		snprintf(err, errlen, "%s: %s", c->url, curl.easy_strerror(rc));
		goto out;
	}
	curl.easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		ret = server_error(status, out, err, errlen);
out:
	if (q)
		curl.free(q);
	curl.slist_free_all(hdr);
	curl.easy_cleanup(h);
	ch_buf__free(&url);
	ch_buf__free(&own);
	return ret;
}
