/* SPDX-License-Identifier: MIT */
/*
 * The agent's HTTP server (libmicrohttpd, one polling thread): the pod and
 * container list, their flamegraphs in every format, /metrics, /healthz.
 * It only reads the window store; the collector never waits for it.
 */
#ifndef SYSSCOPE_AGENT_HTTP_H
#define SYSSCOPE_AGENT_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct window_store;
struct prom_page;

struct agent_http_config {
	struct window_store *store;
	uint64_t period_ns;		/* on-CPU sampling period (pprof) */
	/* Adds the agent's own counters to /metrics. 0 or -errno. */
	int (*metrics)(void *ctx, struct prom_page *p);
	void *metrics_ctx;
	/*
	 * /healthz: 0 when the agent is well, else -errno with why (a short
	 * sentence) written to buf: the page is then 503 with it.
	 */
	int (*health)(void *ctx, char *buf, size_t len);
};

struct agent_http;

/*
 * A listening TCP socket for "ADDR:PORT", ":PORT" or "[V6ADDR]:PORT";
 * made before the sandbox, which allows no socket(). fd or -errno.
 */
int agent_http__listen(const char *addr);

/* Serves on listen_fd (which it takes over); NULL and errno on failure. */
struct agent_http *agent_http__start(int listen_fd,
				     const struct agent_http_config *cfg);
void agent_http__stop(struct agent_http *h);

#endif
