// SPDX-License-Identifier: MIT
/*
 * Unit tests of the agent's HTTP side (src/agent/agent_http.c) that need no
 * network: the listening socket (loopback and
 * wildcard, port 0) and its errors, and the server itself answering on
 * 127.0.0.1 from a window store built here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "agent_http.h"
#include "profile.h"
#include "prom.h"
#include "record.h"
#include "window_store.h"

#define SEC 1000000000ULL

/* ---- agent_http__listen ---- */

static void assert_listening(int fd)
{
	int on = 0;
	socklen_t len = sizeof(on);

	assert_true(fd >= 0);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len), 0);
	assert_int_equal(on, 1);
	/* Nonblocking for libmicrohttpd, not inherited by children. */
	assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
}

static uint16_t port_of(int fd, int *family)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	*family = ss.ss_family;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port);
	assert_int_equal(ss.ss_family, AF_INET6);
	return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* A blocking client socket connected to 127.0.0.1:port, 10 s timeouts. */
static int connect_loopback(uint16_t port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET, .sin_port = htons(port),
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	struct timeval tv = { .tv_sec = 10 };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)), 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

static void test_listen_loopback(void **state)
{
	int fd = agent_http__listen("127.0.0.1:0"), family, c, a;
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	uint16_t port;

	(void)state;
	assert_listening(fd);
	port = port_of(fd, &family);
	assert_int_equal(family, AF_INET);
	assert_true(port != 0);		/* the kernel chose one */
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	assert_int_equal(ntohl(sin.sin_addr.s_addr), INADDR_LOOPBACK);
	/* It takes connections. */
	c = connect_loopback(port);
	for (int i = 0; i < 1000 && (a = accept(fd, NULL, NULL)) < 0; i++) {
		assert_int_equal(errno, EAGAIN);
		usleep(1000);
	}
	assert_true(a >= 0);
	close(a);
	close(c);
	close(fd);
}

static void test_listen_any(void **state)
{
	int fd = agent_http__listen(":0"), family;
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	(void)state;
	assert_listening(fd);
	assert_true(port_of(fd, &family) != 0);
	/* Every address: 0.0.0.0 or :: (which takes IPv4 too). */
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	if (family == AF_INET) {
		assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr,
				 htonl(INADDR_ANY));
	} else {
		struct in6_addr any = IN6ADDR_ANY_INIT;

		assert_memory_equal(&((struct sockaddr_in6 *)&ss)->sin6_addr,
				    &any, sizeof(any));
	}
	close(fd);

	fd = agent_http__listen("0.0.0.0:0");
	assert_listening(fd);
	close(fd);
}

static void test_listen_ipv6(void **state)
{
	int fd = agent_http__listen("[::1]:0"), family;

	(void)state;
	if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
		print_message("  no IPv6 loopback here: %s\n", strerror(-fd));
		skip();
	}
	assert_listening(fd);
	assert_true(port_of(fd, &family) != 0);
	assert_int_equal(family, AF_INET6);
	close(fd);
}

/* An error is a negative errno (and no descriptor is left open). */
static void assert_fails(const char *addr, int want)
{
	int fd = agent_http__listen(addr);

	if (fd >= 0)
		close(fd);
	if (fd >= 0 || fd < -4095 || (want && fd != want))
		fail_msg("agent_http__listen(\"%s\") = %d (%s), want %s%d",
			 addr, fd, fd < 0 ? strerror(-fd) : "a descriptor",
			 want ? "" : "any -errno, not ", want);
}

static void test_listen_errors(void **state)
{
	char longhost[400];
	int fd, family, dup_fd;
	char addr[64];

	(void)state;
	/* No port: refused before anything is resolved. */
	assert_fails("nohost", -EINVAL);
	assert_fails("", -EINVAL);
	assert_fails("127.0.0.1:", -EINVAL);
	assert_fails(":", -EINVAL);
	/* Not an address. */
	assert_fails("1.2.3.4.5:80", 0);
	assert_fails("300.1.1.1:0", 0);
	/* Ports are numbers. */
	assert_fails("127.0.0.1:http", 0);
	assert_fails("127.0.0.1:-1", 0);
	assert_fails("127.0.0.1:65536", -EINVAL);
	assert_fails("127.0.0.1:70000", -EINVAL);
	assert_fails("127.0.0.1:1e3", -EINVAL);
	assert_fails("127.0.0.1:123456", -EINVAL);
	/* Names are not looked up: the agent has no resolver in its sandbox. */
	assert_fails("localhost:0", 0);
	/* An address this host does not have (TEST-NET-1). */
	assert_fails("192.0.2.1:0", -EADDRNOTAVAIL);
	/* A host name longer than any. */
	memset(longhost, 'a', sizeof(longhost));
	strcpy(longhost + 300, ":80");
	assert_fails(longhost, -ENAMETOOLONG);

	/* A port in use. */
	fd = agent_http__listen("127.0.0.1:0");
	assert_listening(fd);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port_of(fd, &family));
	dup_fd = agent_http__listen(addr);
	if (dup_fd >= 0)
		close(dup_fd);
	assert_int_equal(dup_fd, -EADDRINUSE);
	close(fd);
}

/* ---- the server, on loopback ---- */

static const char *const label_keys[LABEL_MAX] = {
	[LABEL_REASON] = "reason", [LABEL_CONTAINER] = "container",
	[LABEL_POD] = "pod", [LABEL_NAMESPACE] = "namespace",
	[LABEL_CONTAINER_ID] = "container_id",
};

static void add_sample(struct profile *p, uint32_t pid, const char *comm,
		       const char *ns, const char *pod, const char *container,
		       const char *id, const char *reason, uint64_t cpu,
		       uint64_t off)
{
	const char *labels[LABEL_MAX] = {
		[LABEL_REASON] = reason, [LABEL_CONTAINER] = container,
		[LABEL_POD] = pod, [LABEL_NAMESPACE] = ns,
		[LABEL_CONTAINER_ID] = id,
	};
	const uint64_t values[PROFILE_MAX_VALUES] = { cpu, off };
	uint32_t frames[4], n = 0;
	char name[256];

	if (pod) {
		snprintf(name, sizeof(name), "[pod %s/%s]", ns ? ns : "?", pod);
		frames[n++] = (uint32_t)profile__frame(p, name, FRAME_GROUP);
	}
	frames[n++] = (uint32_t)profile__frame(p, comm, FRAME_PROCESS);
	frames[n++] = (uint32_t)profile__frame(p, "main", FRAME_USER);
	frames[n++] = (uint32_t)profile__frame(p, off ? "schedule" : "work",
					       off ? FRAME_KERNEL : FRAME_USER);
	assert_int_equal(profile__add_labeled(p, pid, pid, comm, labels,
					      frames, n, values), 0);
}

static struct profile *window_profile(void)
{
	static const struct profile_value_type types[] = {
		{ "cpu", "nanoseconds" }, { "offcpu", "nanoseconds" },
	};
	struct profile *p = profile__new(types, 2);

	assert_non_null(p);
	assert_int_equal(profile__set_label_keys(p, label_keys, LABEL_MAX), 0);
	add_sample(p, 100, "nginx", "shop", "web-0", "nginx",
		   "abcdef0123456789abcdef", NULL, 2 * SEC, 0);
	add_sample(p, 100, "nginx", "shop", "web-0", "nginx",
		   "abcdef0123456789abcdef", "io", 0, SEC);
	/* Label values that need escaping in /metrics. */
	add_sample(p, 200, "odd", "q\"ns", "back\\slash", "multi\nline",
		   "fedcba9876543210", NULL, SEC / 2, 0);
	add_sample(p, 300, "sshd", NULL, NULL, NULL, NULL, NULL, 7 * SEC, 0);
	return p;
}

struct reply {
	int status;
	char *head, *body;	/* one allocation: free(head) */
};

/* One HTTP/1.0 request; the server closes when it has answered. */
static struct reply request(uint16_t port, const char *method, const char *path)
{
	int fd = connect_loopback(port);
	struct reply r = { 0 };
	size_t len = 0, cap = 4096;
	char req[1024], *buf = malloc(cap), *sep;
	ssize_t got;

	assert_non_null(buf);
	snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: test\r\n\r\n",
		 method, path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while ((got = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)got;
		if (cap - len < 1024) {
			buf = realloc(buf, cap *= 2);
			assert_non_null(buf);
		}
	}
	assert_int_equal(got, 0);	/* EOF, not a timeout */
	close(fd);
	buf[len] = '\0';
	assert_int_equal(sscanf(buf, "HTTP/1.%*d %d", &r.status), 1);
	sep = strstr(buf, "\r\n\r\n");
	assert_non_null(sep);
	*sep = '\0';
	r.head = buf;
	r.body = sep + 4;
	return r;
}

static void expect(uint16_t port, const char *path, int status,
		   const char *body_has)
{
	struct reply r = request(port, "GET", path);

	if (r.status != status || (body_has && !strstr(r.body, body_has)))
		fail_msg("GET %s: %d, want %d with \"%s\"; body:\n%s", path,
			 r.status, status, body_has ? body_has : "", r.body);
	free(r.head);
}

static const struct prom_family test_family = {
	"sysscope_test_metric", PROM_GAUGE, "A test.",
};

static int test_metrics_cb(void *ctx, struct prom_page *p)
{
	return prom_page__add(p, &test_family, NULL, *(int *)ctx);
}

static void test_server(void **state)
{
	struct window_store *st = window_store__new(3600 * SEC, 1 << 30);
	int ctx = 42, fd = agent_http__listen("127.0.0.1:0"), family;
	struct agent_http_config cfg = {
		.store = st, .period_ns = SEC / 49,
		.metrics = test_metrics_cb, .metrics_ctx = &ctx,
	};
	struct agent_http *h;
	struct reply r;
	uint16_t port;

	(void)state;
	assert_non_null(st);
	assert_listening(fd);
	port = port_of(fd, &family);
	h = agent_http__start(fd, &cfg);
	assert_non_null(h);

	/* No window yet. */
	expect(port, "/healthz", 200, "ok\n");
	expect(port, "/node", 503, "no window yet");
	expect(port, "/api/workloads", 200, "\"workloads\":[]");
	expect(port, "/metrics", 200, "sysscope_test_metric 42\n");

	assert_int_equal(window_store__add(st, window_profile(), 100 * SEC,
					   60 * SEC, 160 * SEC, NULL), 0);
	expect(port, "/node.folded", 200, "sshd;main;work_[c] 7000000000\n");
	expect(port, "/node.folded?mode=offcpu", 200, "schedule_[k] 1000000000\n");
	expect(port, "/node.svg", 200, "<svg");
	expect(port, "/node", 200, "<svg");
	expect(port, "/node.json", 200, "main");
	/* One pod: its samples only. */
	expect(port, "/pods/shop/web-0.folded", 200,
	       "[pod shop/web-0];nginx;main;work_[c] 2000000000\n");
	r = request(port, "GET", "/pods/shop/web-0.folded");
	assert_null(strstr(r.body, "sshd"));
	assert_null(strstr(r.body, "odd"));
	free(r.head);
	/* Containers by name and by id prefix (6 characters at least). */
	expect(port, "/containers/nginx.folded", 200, "nginx;main");
	expect(port, "/containers/abcdef.folded", 200, "nginx;main");
	expect(port, "/containers/abcde.folded", 404, "nothing recorded");
	expect(port, "/pods/shop/nope", 404, "nothing recorded");
	expect(port, "/pods/shop", 404, "use /pods/NAMESPACE/POD");
	expect(port, "/nowhere", 404, "no such page");
	expect(port, "/node?mode=bogus", 400, "mode");
	expect(port, "/node?windows=-1", 400, "windows");
	expect(port, "/node?windows=0", 200, "<svg");
	expect(port, "/api/workloads", 200, "\"url\":\"\\/pods\\/shop\\/web-0\"");
	expect(port, "/", 200, "web-0");
	/* Escaped label values, one line each. */
	expect(port, "/metrics", 200,
	       "sysscope_workload_cpu_seconds{kind=\"container\","
	       "namespace=\"q\\\"ns\",pod=\"back\\\\slash\","
	       "container=\"multi\\nline\"} 0.5\n");
	expect(port, "/metrics", 200,
	       "sysscope_workload_offcpu_seconds{kind=\"pod\",namespace=\"shop\","
	       "pod=\"web-0\",container=\"\"} 1\n");
	r = request(port, "POST", "/healthz");
	assert_int_equal(r.status, 405);
	free(r.head);

	/*
	 * The counters, as /metrics has them (read in the server thread:
	 * agent_http__stats from this one would race with it): the 25
	 * requests above, of which 7 were refused and 1 (the 503) failed.
	 */
	expect(port, "/metrics", 200,
	       "sysscope_http_requests_total{class=\"all\"} 25\n"
	       "sysscope_http_requests_total{class=\"4xx\"} 7\n"
	       "sysscope_http_requests_total{class=\"5xx\"} 1\n");
	agent_http__stop(h);
	window_store__free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listen_loopback),
		cmocka_unit_test(test_listen_any),
		cmocka_unit_test(test_listen_ipv6),
		cmocka_unit_test(test_listen_errors),
		cmocka_unit_test(test_server),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
