// SPDX-License-Identifier: MIT
/*
 * The ClickHouse pusher (see pusher.h). Two sockets to the agent:
 *   data  (SOCK_STREAM): agent -> helper, u32 length + batch, repeated
 *   stats (SOCK_SEQPACKET): helper -> agent, struct pusher_stats; the
 *         first one (or an int32 -errno) says the helper is ready
 * In the helper, the main thread reads batches into the queue; a second
 * thread sends them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "ch_batch.h"
#include "ch_schema.h"
#include "ch_spool.h"
#include "log.h"
#include "net_helper.h"
#include "pusher.h"

#define READY_WAIT_MS 5000
#define PUSH_WAIT_MS 1000
#define BACKOFF_MIN_MS 500
#define RETENTION_EVERY_S 3600

struct pusher {
	int data, stats;
	pid_t pid;
	bool dead;
	uint64_t handoff_drops;
	unsigned int drain_ms;
	struct pusher_stats last;
};

/* ---- the helper ---- */

struct item {
	struct item *next;
	uint8_t *data;
	size_t len;
};

/* A batch being sent: from the spool (seq) or from memory. */
struct inflight {
	struct ch_buf buf;
	bool from_spool;
	uint64_t seq;
	bool held;
};

static struct helper {
	const struct pusher_config *cfg;
	int stats_sock, spool_fd;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct item *head, *tail;	/* memory queue, oldest first */
	struct ch_spool_entry *spool;	/* on disk, oldest first */
	size_t spool_first, spool_len, spool_cap;
	uint64_t next_seq;
	bool eof;
	uint64_t eof_at_ms;
	struct pusher_stats st;
	char last_err[512];
} h = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.spool_fd = -1,
};

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Under the lock: the agent gets the counters as they are now. */
static void report(void)
{
	send(h.stats_sock, &h.st, sizeof(h.st), MSG_DONTWAIT | MSG_NOSIGNAL);
}

static int spool_push(uint64_t seq, uint64_t bytes)
{
	if (h.spool_first + h.spool_len == h.spool_cap) {
		size_t cap = h.spool_cap ? h.spool_cap * 2 : 64;
		struct ch_spool_entry *v;

		if (h.spool_first) {
			memmove(h.spool, h.spool + h.spool_first,
				h.spool_len * sizeof(*h.spool));
			h.spool_first = 0;
		} else {
			v = realloc(h.spool, cap * sizeof(*v));
			if (!v)
				return -ENOMEM;
			h.spool = v;
			h.spool_cap = cap;
		}
	}
	h.spool[h.spool_first + h.spool_len++] =
		(struct ch_spool_entry){ seq, bytes };
	h.st.spool_windows++;
	h.st.spool_bytes += bytes;
	return 0;
}

static struct ch_spool_entry spool_pop(void)
{
	struct ch_spool_entry e = h.spool[h.spool_first++];

	h.spool_len--;
	h.st.spool_windows--;
	h.st.spool_bytes -= e.bytes;
	return e;
}

/* Makes room for bytes in the spool: the oldest spooled batches go. */
static void spool_make_room(uint64_t bytes)
{
	while (h.spool_len && h.st.spool_bytes + bytes > h.cfg->spool_bytes) {
		struct ch_spool_entry e = spool_pop();

		ch_spool__remove(h.spool_fd, e.seq);
		h.st.dropped_spool++;
		log_warn("clickhouse: spool full (%" PRIu64 " bytes): dropped the oldest window",
			 h.cfg->spool_bytes);
	}
}

/* Writes a batch to the spool, or drops it (counted in *drops). */
static void spool_batch(const uint8_t *data, size_t len, uint64_t *drops)
{
	uint64_t seq = h.next_seq++;
	int err;

	if (h.spool_fd < 0 || len > h.cfg->spool_bytes) {
		(*drops)++;
		return;
	}
	spool_make_room(len);
	err = ch_spool__write(h.spool_fd, seq, data, len);
	err = err ?: spool_push(seq, len);
	if (err) {
		(*drops)++;
		log_warn("clickhouse: spool %s: %s (window dropped)",
			 h.cfg->spool_dir, strerror(-err));
		return;
	}
	h.st.spooled_total++;
}

static void free_item(struct item *it)
{
	h.st.queued_windows--;
	h.st.queued_bytes -= it->len;
	free(it->data);
	free(it);
}

/* Under the lock: a new batch at the tail; the oldest over the bound go. */
static void enqueue(struct item *it)
{
	if (h.tail)
		h.tail->next = it;
	else
		h.head = it;
	h.tail = it;
	h.st.queued_windows++;
	h.st.queued_bytes += it->len;
	while (h.head && h.st.queued_bytes > h.cfg->queue_bytes) {
		struct item *old = h.head;

		h.head = old->next;
		if (!h.head)
			h.tail = NULL;
		spool_batch(old->data, old->len, &h.st.dropped_queue);
		free_item(old);
	}
	report();
	pthread_cond_signal(&h.wake);
}

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t r = read(fd, p, len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

/* The main thread: batches from the agent until it closes the socket. */
static void read_batches(int data)
{
	for (;;) {
		struct item *it;
		uint32_t len;

		if (read_full(data, &len, 4) || !len || len > CH_BATCH_MAX)
			break;
		it = calloc(1, sizeof(*it));
		if (it)
			it->data = malloc(len);
		if (!it || !it->data || read_full(data, it->data, len)) {
			if (it)
				free(it->data);
			free(it);
			break;
		}
		it->len = len;
		pthread_mutex_lock(&h.lock);
		enqueue(it);
		pthread_mutex_unlock(&h.lock);
	}
	pthread_mutex_lock(&h.lock);
	h.eof = true;
	h.eof_at_ms = mono_ms();
	pthread_cond_signal(&h.wake);
	pthread_mutex_unlock(&h.lock);
}

/* Once per distinct error: a server down for an hour is one line. */
static void say_error(const char *what, const char *err)
{
	char line[sizeof(h.last_err)];

	snprintf(line, sizeof(line), "%s: %s", what, err);
	if (strcmp(line, h.last_err)) {
		log_error("clickhouse: %s (retrying with backoff; windows are queued)",
			  line);
		snprintf(h.last_err, sizeof(h.last_err), "%s", line);
	}
}

static int send_batch(const struct ch_buf *b, char *err, size_t errlen)
{
	const struct ch_conn *c = &h.cfg->conn;
	struct ch_batch_view v;
	char sql[256];
	int ret = ch_batch__parse(b->data, b->len, &v);

	if (ret) {
		snprintf(err, errlen, "a corrupt batch");
		return ret;
	}
	for (int t = 0; t < CH_TABLES && !ret; t++) {
		ch_schema__insert_sql(c, t, sql, sizeof(sql));
		ret = ch_http__exec(c, sql, v.body[t], v.len[t], true, NULL,
				    err, errlen);
	}
	return ret;
}

/* Under the lock: the oldest batch not sent, or false if none. */
static bool take_next(struct inflight *in)
{
	while (h.spool_len) {
		struct ch_spool_entry e = spool_pop();
		int err = ch_spool__read(h.spool_fd, e.seq, &in->buf);

		if (!err) {
			in->from_spool = true;
			in->seq = e.seq;
			in->held = true;
			return true;
		}
		log_warn("clickhouse: spooled window %" PRIu64 " unreadable: %s (dropped)",
			 e.seq, strerror(-err));
		ch_spool__remove(h.spool_fd, e.seq);
		h.st.dropped_corrupt++;
	}
	if (h.head) {
		struct item *it = h.head;

		h.head = it->next;
		if (!h.head)
			h.tail = NULL;
		in->buf.len = 0;
		ch_buf__put(&in->buf, it->data, it->len);
		free_item(it);
		if (in->buf.err) {
			h.st.dropped_queue++;
			return false;
		}
		in->from_spool = false;
		in->held = true;
		return true;
	}
	return false;
}

static void sent(struct inflight *in, uint64_t ns)
{
	struct ch_batch_view v;

	ch_batch__parse(in->buf.data, in->buf.len, &v);
	if (in->from_spool)
		ch_spool__remove(h.spool_fd, in->seq);
	h.st.sent_windows++;
	h.st.sent_bytes += v.len[CH_STACKS] + v.len[CH_SAMPLES] + v.len[CH_WINDOWS];
	h.st.insert_ns_total += ns;
	h.st.last_insert_ns = ns;
	in->held = false;
}

/* At exit: what is left goes to the spool, or is counted as dropped. */
static void spool_the_rest(struct inflight *in)
{
	if (in->held && !in->from_spool)
		spool_batch(in->buf.data, in->buf.len, &h.st.dropped_exit);
	in->held = false;
	while (h.head) {
		struct item *it = h.head;

		h.head = it->next;
		spool_batch(it->data, it->len, &h.st.dropped_exit);
		free_item(it);
	}
	h.tail = NULL;
}

/* Waits up to ms, or until the queue changes; false once draining is over. */
static bool wait_locked(uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&h.wake, &h.lock, &ts);
	/* At the end, a server that just failed gets no more of the time. */
	return !(h.eof && (!h.st.up || mono_ms() - h.eof_at_ms >= h.cfg->drain_ms));
}

static void keep_retention(uint64_t *next_check)
{
	unsigned int dropped;
	char err[512];

	if (!h.cfg->retention_days || mono_ms() < *next_check)
		return;
	*next_check = mono_ms() + RETENTION_EVERY_S * 1000ULL;
	if (ch_schema__drop_older(&h.cfg->conn, h.cfg->retention_days,
				  &dropped, err, sizeof(err)))
		log_warn("clickhouse: retention: %s", err);
	pthread_mutex_lock(&h.lock);
	h.st.partitions_dropped += dropped;
	pthread_mutex_unlock(&h.lock);
}

/* One attempt at the next batch (or the schema); 0 if it went through. */
static int attempt(struct inflight *in, uint64_t *next_retention)
{
	char err[512];
	uint64_t t0;
	int ret;

	if (!h.st.schema_ok) {
		ret = ch_schema__ensure(&h.cfg->conn, err, sizeof(err));
		if (ret) {
			say_error(ret == -EPROTO ? "schema" : "server", err);
			return ret;
		}
		pthread_mutex_lock(&h.lock);
		h.st.schema_ok = 1;
		pthread_mutex_unlock(&h.lock);
	}
	keep_retention(next_retention);
	t0 = mono_ms();
	ret = send_batch(&in->buf, err, sizeof(err));
	pthread_mutex_lock(&h.lock);
	if (!ret) {
		sent(in, (mono_ms() - t0) * 1000000);
		if (h.last_err[0])
			log_info("clickhouse: sending again");
		h.last_err[0] = '\0';
	}
	pthread_mutex_unlock(&h.lock);
	if (ret == -EBADMSG) {
		pthread_mutex_lock(&h.lock);
		h.st.dropped_corrupt++;
		if (in->from_spool)
			ch_spool__remove(h.spool_fd, in->seq);
		in->held = false;
		pthread_mutex_unlock(&h.lock);
		return 0;
	}
	if (ret) {
		say_error("insert", err);
		/* A server error may be a table changed since: check again. */
		pthread_mutex_lock(&h.lock);
		if (ret == -EPROTO)
			h.st.schema_ok = 0;
		pthread_mutex_unlock(&h.lock);
	}
	return ret;
}

static void *send_loop(void *arg)
{
	struct inflight in = { 0 };
	uint64_t backoff = 0, next_retention = 0;

	(void)arg;
	for (;;) {
		int ret;

		pthread_mutex_lock(&h.lock);
		while (!in.held && !take_next(&in)) {
			if (h.eof) {
				pthread_mutex_unlock(&h.lock);
				goto out;
			}
			wait_locked(1000);
		}
		pthread_mutex_unlock(&h.lock);
		ret = attempt(&in, &next_retention);
		pthread_mutex_lock(&h.lock);
		h.st.up = !ret;
		h.st.send_errors += !!ret;
		report();
		if (ret) {
			backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
			if (backoff > h.cfg->backoff_max_ms)
				backoff = h.cfg->backoff_max_ms;
			if (!wait_locked(backoff)) {
				pthread_mutex_unlock(&h.lock);
				break;
			}
		} else {
			backoff = 0;
		}
		if (h.eof && mono_ms() - h.eof_at_ms >= h.cfg->drain_ms) {
			pthread_mutex_unlock(&h.lock);
			break;
		}
		pthread_mutex_unlock(&h.lock);
	}
out:
	pthread_mutex_lock(&h.lock);
	spool_the_rest(&in);
	report();
	pthread_mutex_unlock(&h.lock);
	ch_buf__free(&in.buf);
	return NULL;
}

static int open_spool(const struct pusher_config *c)
{
	struct ch_spool_entry *v;
	size_t n;
	int err;

	if (!c->spool_dir)
		return 0;
	err = net_helper__own_dir(c->spool_dir, c->uid, c->gid);
	if (err)
		return err;
	h.spool_fd = open(c->spool_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
			  O_CLOEXEC);
	if (h.spool_fd < 0)
		return -errno;
	err = ch_spool__list(h.spool_fd, &v, &n);
	for (size_t i = 0; i < n && !err; i++) {
		err = spool_push(v[i].seq, v[i].bytes);
		h.next_seq = v[i].seq + 1;
	}
	free(v);
	if (!err && n)
		log_info("clickhouse: %zu windows spooled in %s from before: sending them first",
			 n, c->spool_dir);
	return err;
}

static void child(int data, int stats, const struct pusher_config *c)
{
	pthread_t sender;
	int32_t ready = 0;
	int err;

	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	prctl(PR_SET_NAME, "sysscope-push", 0, 0, 0);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	h.cfg = c;
	h.stats_sock = stats;
	err = ch_http__load();
	err = err ?: open_spool(c);
	err = err ?: net_helper__confine(c->uid, c->gid);
	if (!err && c->selftest) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		fprintf(stderr, "sandbox: pusher socket(AF_UNIX) %s\n",
			fd < 0 ? "denied" : "NOT DENIED");
		if (fd >= 0) {
			close(fd);
			err = -EPERM;
		}
	}
	err = err ?: -pthread_create(&sender, NULL, send_loop, NULL);
	if (err) {
		ready = err;
		send(stats, &ready, sizeof(ready), MSG_NOSIGNAL);
		_exit(2);
	}
	pthread_mutex_lock(&h.lock);
	report();
	pthread_mutex_unlock(&h.lock);
	read_batches(data);
	pthread_join(sender, NULL);
	_exit(0);
}

/* ---- the agent's side ---- */

struct pusher *pusher__start(const struct pusher_config *c)
{
	struct pusher *p = calloc(1, sizeof(*p));
	int dv[2] = { -1, -1 }, sv[2] = { -1, -1 }, err = 0;
	int sndbuf = 4 << 20;
	union {
		struct pusher_stats st;
		int32_t err;
	} first;
	struct pollfd pfd;
	ssize_t n;

	if (!p)
		return NULL;
	p->data = p->stats = -1;
	p->drain_ms = c->drain_ms;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, dv) ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		err = -errno;
		goto fail;
	}
	setsockopt(dv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	fflush(NULL);
	p->pid = fork();
	if (p->pid == 0) {
		close(dv[0]);
		close(sv[0]);
		child(dv[1], sv[1], c);
	}
	close(dv[1]);
	close(sv[1]);
	p->data = dv[0];
	p->stats = sv[0];
	if (p->pid < 0) {
		err = -errno;
		goto fail;
	}
	pfd = (struct pollfd){ .fd = p->stats, .events = POLLIN };
	if (poll(&pfd, 1, READY_WAIT_MS) != 1) {
		err = -ETIMEDOUT;
		goto fail;
	}
	n = recv(p->stats, &first, sizeof(first), 0);
	if (n == sizeof(int32_t)) {
		err = first.err ? first.err : -EIO;
		goto fail;
	}
	if (n != sizeof(first.st)) {
		err = -EIO;
		goto fail;
	}
	p->last = first.st;
	if (fcntl(p->stats, F_SETFL, O_NONBLOCK) ||
	    fcntl(p->data, F_SETFL, O_NONBLOCK)) {
		err = -errno;
		goto fail;
	}
	return p;
fail:
	pusher__finish(p);
	errno = -err;
	return NULL;
}

static int64_t now_ms(void)
{
	return (int64_t)mono_ms();
}

/* The whole of buf before deadline, or -ETIMEDOUT / -EPIPE. */
static int write_until(int fd, const uint8_t *buf, size_t len, int64_t deadline)
{
	while (len) {
		ssize_t w = write(fd, buf, len);

		if (w > 0) {
			buf += w;
			len -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return -EPIPE;
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			int64_t left = deadline - now_ms();

			if (left <= 0 || poll(&pfd, 1, (int)left) == 0)
				return -ETIMEDOUT;
		}
	}
	return 0;
}

int pusher__push(struct pusher *p, const void *batch, size_t len)
{
	int64_t deadline = now_ms() + PUSH_WAIT_MS;
	uint32_t n = (uint32_t)len;
	int err;

	if (len > CH_BATCH_MAX || !len) {
		p->handoff_drops++;
		return -E2BIG;
	}
	if (p->dead) {
		p->handoff_drops++;
		return -EPIPE;
	}
	err = write_until(p->data, (const uint8_t *)&n, 4, deadline);
	err = err ?: write_until(p->data, batch, len, deadline);
	if (err) {
		/* Half a message may be in the socket: no way to go on. */
		p->dead = true;
		p->handoff_drops++;
	}
	return err;
}

void pusher__stats(struct pusher *p, struct pusher_stats *out)
{
	struct pusher_stats st;

	while (p->stats >= 0 &&
	       recv(p->stats, &st, sizeof(st), MSG_DONTWAIT) == sizeof(st))
		p->last = st;
	*out = p->last;
}

uint64_t pusher__handoff_drops(const struct pusher *p)
{
	return p->handoff_drops;
}

void pusher__finish(struct pusher *p)
{
	int64_t deadline;
	int status;

	if (!p)
		return;
	if (p->data >= 0)
		close(p->data);
	deadline = now_ms() + p->drain_ms + 3000;
	while (p->pid > 0 && waitpid(p->pid, &status, WNOHANG) == 0 &&
	       now_ms() < deadline) {
		struct pusher_stats st;

		nanosleep(&(struct timespec){ .tv_nsec = 20000000 }, NULL);
		while (p->stats >= 0 &&
		       recv(p->stats, &st, sizeof(st), MSG_DONTWAIT) == sizeof(st))
			p->last = st;
	}
	if (p->stats >= 0)
		close(p->stats);
	free(p);
}
