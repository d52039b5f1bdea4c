/*
 * server.c - lesson 10, the reference: an HTTP/1.1 server whose one event
 * loop deals with every connection, and whose pool does the heavy work.
 *
 * The loop owns every connection; a heavy request leaves it as a job, runs
 * on a pool worker, and comes back through a done list guarded by a mutex
 * and an eventfd that wakes the loop. Each connection keeps its responses
 * in a queue in request order, so a response whose job is still running
 * holds back the ones behind it.
 *
 * Compare with harness/10-server/mutants/: heavy_on_loop.patch computes on
 * the loop's thread, out_of_order.patch sends each response as soon as it
 * is ready, polls_for_done.patch wakes up every few milliseconds instead of
 * being woken, blocking_write.patch waits for a slow reader.
 */
#include "server.h"

#include "http.h"
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_EVENTS    64
#define READ_CHUNK    16384
#define IN_MAX        (SERVER_HEAD_MAX + SERVER_BODY_MAX)  /* one whole request, at most */
/* Backpressure: a client owed this much is not read from until it has
 * taken some. Pipelining cannot make us hold more than this (plus one
 * response) per connection. */
#define OWED_MAX      32
#define OWED_BYTES    (256 * 1024)

/* ANCHOR: state */
/* One response owed to a client, in the order of the requests. */
struct resp {
	char *buf;                  /* head and body, once ready */
	size_t len, sent;
	bool ready;                 /* false while its job runs on the pool */
	bool close;                 /* close the connection once it is sent */
	struct resp *next;
};

struct conn;

/* A heavy request on its way: loop -> pool -> done list -> loop. */
struct job {
	struct server *s;
	struct conn *c;
	struct resp *r;             /* where its response goes, in c's queue */
	bool head_only;             /* HEAD: the length, not the body */
	char query[SERVER_LINE_MAX + 1];
	char *body;                 /* SERVER_HEAVY_MAX bytes, filled on the worker */
	size_t len;
	struct job *next;           /* on the done list */
};

struct conn {
	int fd;
	char *in;                   /* received, not yet consumed: in[0..in_len) */
	size_t in_len, in_cap;
	struct resp *first, *last;  /* responses owed, oldest first */
	int owed;                   /* how many */
	size_t owed_bytes;
	int pending;                /* its jobs on the pool now */
	bool eof;                   /* read no more (client's end of file, or the stop) */
	bool closing;               /* a response said Connection: close */
	bool dead;                  /* fd closed; freed when pending reaches 0 */
	int64_t started_ns;         /* first byte of the request being received; 0: none */
	uint32_t watching;
	struct conn *prev, *next;   /* every open connection */
	struct conn *cprev, *cnext; /* the clock: requests being received, oldest first */
};

struct server {
	int epfd, listen_fd, stop_fd, wake_fd;
	const struct server_config *cfg;
	struct pool *pool;
	pthread_mutex_t done_mu;    /* guards done_first/done_last: loop and workers */
	struct job *done_first, *done_last;
	struct conn *conns;
	struct conn *graveyard;     /* closed, freed after this batch of events */
	struct conn *clock_first, *clock_last;
	bool stopping;
	int64_t stop_deadline_ns;
};
/* ANCHOR_END: state */

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* ---- the clock: requests that must arrive whole in time ------------------ */

/* ANCHOR: clock */
/* Every request is given the same time, so the list in order of arrival is
 * also in order of deadline: the first one is the next to expire. */
static void clock_start(struct server *s, struct conn *c)
{
	if (c->started_ns)
		return;
	c->started_ns = now_ns();
	c->cprev = s->clock_last;
	c->cnext = NULL;
	if (s->clock_last)
		s->clock_last->cnext = c;
	else
		s->clock_first = c;
	s->clock_last = c;
}

static void clock_stop(struct server *s, struct conn *c)
{
	if (!c->started_ns)
		return;
	c->started_ns = 0;
	if (c->cprev)
		c->cprev->cnext = c->cnext;
	else
		s->clock_first = c->cnext;
	if (c->cnext)
		c->cnext->cprev = c->cprev;
	else
		s->clock_last = c->cprev;
	c->cprev = c->cnext = NULL;
}

/* epoll_wait's timeout: until the first deadline, or -1 (sleep until an
 * event) when no request is half-received and we are not stopping. */
static int next_timeout_ms(const struct server *s)
{
	int64_t deadline = INT64_MAX, left;

	if (s->clock_first)
		deadline = s->clock_first->started_ns + (int64_t)SERVER_REQUEST_MS * 1000000;
	if (s->stopping && s->stop_deadline_ns < deadline)
		deadline = s->stop_deadline_ns;
	if (deadline == INT64_MAX)
		return -1;
	left = deadline - now_ns();
	return left <= 0 ? 0 : (int)((left + 999999) / 1000000);
}
/* ANCHOR_END: clock */

/* ---- responses, in request order --------------------------------------- */

/* A new response at the end of c's queue, not ready yet. */
static struct resp *resp_add(struct conn *c)
{
	struct resp *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	if (c->last)
		c->last->next = r;
	else
		c->first = r;
	c->last = r;
	c->owed++;
	return r;
}

/* Give r its bytes: the head, then the body unless head_only. */
static bool resp_fill(struct conn *c, struct resp *r, int status, const char *type,
		      const char *allow, bool close, const char *body, size_t len, bool head_only)
{
	char head[512];
	size_t hlen = http_head(head, sizeof(head), status, len, type, allow, close);
	size_t blen = head_only ? 0 : len;

	if (hlen == 0 || !(r->buf = malloc(hlen + blen)))
		return false;
	memcpy(r->buf, head, hlen);
	if (blen)
		memcpy(r->buf + hlen, body, blen);
	r->len = hlen + blen;
	r->close = close;
	r->ready = true;
	c->owed_bytes += r->len;
	return true;
}

/* An error response, text/plain, its reason as the body. Statuses other
 * than 404 and 405 leave a stream we cannot trust: close after it. */
static bool respond_error(struct conn *c, int status, const char *allow, bool close)
{
	char body[64];
	struct resp *r = resp_add(c);
	int n = snprintf(body, sizeof(body), "%s\n", http_reason(status));

	if (status != 404 && status != 405)
		close = true;
	if (close)
		c->closing = true;
	return r && resp_fill(c, r, status, "text/plain", allow, close, body, (size_t)n, false);
}

/* ANCHOR: flush */
/* Send the ready responses at the head of the queue, in order, as far as
 * the socket takes them. One not ready (its job still running) stops the
 * sending: the ones behind it wait, whatever state they are in. False:
 * the connection is broken. */
static bool flush(struct conn *c)
{
	while (c->first && c->first->ready) {
		struct resp *r = c->first;

		while (r->sent < r->len) {
			/* MSG_NOSIGNAL: a vanished client is an EPIPE, not a
			 * SIGPIPE that kills the server. */
			ssize_t n = send(c->fd, r->buf + r->sent, r->len - r->sent, MSG_NOSIGNAL);

			if (n >= 0)
				r->sent += (size_t)n;
			else if (errno == EAGAIN || errno == EWOULDBLOCK)
				return true; /* the rest when EPOLLOUT says so */
			else if (errno != EINTR)
				return false;
		}
		if (r->close)
			c->closing = true;
		c->first = r->next;
		if (!c->first)
			c->last = NULL;
		c->owed--;
		c->owed_bytes -= r->len;
		free(r->buf);
		free(r);
	}
	return true;
}
/* ANCHOR_END: flush */

/* ---- connections ------------------------------------------------------- */

static void conn_free(struct conn *c)
{
	while (c->first) {
		struct resp *r = c->first;

		c->first = r->next;
		free(r->buf);
		free(r);
	}
	free(c->in);
	free(c);
}

/* ANCHOR: conn_close */
/* A closed connection's struct may still be named by an event later in
 * the batch epoll_wait() returned (closing it while handling the eventfd,
 * or at the stop): it goes to the graveyard, freed once the batch is
 * handled. Only when no job of its own is still out. */
static void conn_release(struct server *s, struct conn *c)
{
	if (c->pending > 0)
		return; /* its last job to come home releases it */
	c->next = s->graveyard;
	s->graveyard = c;
}

static void bury(struct server *s)
{
	while (s->graveyard) {
		struct conn *c = s->graveyard;

		s->graveyard = c->next;
		conn_free(c);
	}
}

/* Close c's socket and forget it. A job still running for it holds its
 * struct (and its response): the last one to come back releases them. */
static void conn_close(struct server *s, struct conn *c)
{
	char sink[4096];

	/* What the client sent after its last request would make close()
	 * answer with a reset, which can destroy the response it has not
	 * read yet: read it away first. */
	while (recv(c->fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	close(c->fd); /* also takes it out of the epoll set */
	c->fd = -1;
	clock_stop(s, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->dead = true;
	/* The responses its jobs will fill are theirs now (take_done frees
	 * them); the others go. */
	while (c->first) {
		struct resp *r = c->first;

		c->first = r->next;
		if (r->ready) {
			free(r->buf);
			free(r);
		}
	}
	c->last = NULL;
	conn_release(s, c);
}
/* ANCHOR_END: conn_close */

/* ANCHOR: accept */
static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN: the backlog is empty (or out of descriptors) */
		}
		if (!(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->watching = ev.events;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
			close(fd);
			free(c);
			continue;
		}
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
	}
}
/* ANCHOR_END: accept */

/* ---- the hand-off: loop -> pool -> loop ----------------------------------- */

/* ANCHOR: job */
/* On a pool worker: the heavy work, then the way home. The job goes on
 * the done list (under the mutex: the loop takes from it), and the
 * eventfd's counter goes up, which makes it readable: that wakes the loop
 * out of epoll_wait(). The worker touches nothing of the connection. */
static long run_job(void *arg)
{
	struct job *j = arg;
	struct server *s = j->s;
	uint64_t one = 1;

	j->len = s->cfg->heavy(j->query, j->body, SERVER_HEAVY_MAX, s->cfg->heavy_arg);
	if (j->len > SERVER_HEAVY_MAX)
		j->len = SERVER_HEAVY_MAX;
	if (pthread_mutex_lock(&s->done_mu) != 0)
		abort();
	if (s->done_last)
		s->done_last->next = j;
	else
		s->done_first = j;
	s->done_last = j;
	if (pthread_mutex_unlock(&s->done_mu) != 0)
		abort();
	/* After the unlock: the loop may already be taking the list, and a
	 * wake-up too many is harmless (it finds the list empty). */
	if (write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
		abort(); /* an eventfd write of 1 cannot fail short of overflow */
	return 0;
}

/* On the loop: hand a heavy request to the pool. Its response takes its
 * place in the queue now, empty, so the ones behind it wait for it. */
static bool submit_heavy(struct server *s, struct conn *c, const char *query, bool head_only)
{
	struct job *j = calloc(1, sizeof(*j));
	struct resp *r;

	if (!j || !(j->body = malloc(SERVER_HEAVY_MAX)) || !(r = resp_add(c))) {
		if (j)
			free(j->body);
		free(j);
		return respond_error(c, 503, NULL, false);
	}
	*j = (struct job){ .s = s, .c = c, .r = r, .head_only = head_only, .body = j->body };
	snprintf(j->query, sizeof(j->query), "%s", query);
	c->pending++;
	c->owed_bytes += SERVER_HEAVY_MAX; /* what it will cost, for the backpressure */
	if (pool_submit(s->pool, run_job, j) != 0) {
		c->pending--;
		c->owed_bytes -= SERVER_HEAVY_MAX;
		free(j->body);
		free(j);
		return resp_fill(c, r, 503, "text/plain", NULL, true, "Service Unavailable\n", 20, false);
	}
	return true;
}
/* ANCHOR_END: job */

static bool service(struct server *s, struct conn *c);
static bool update_interest(struct server *s, struct conn *c);

/* ANCHOR: done */
/* The eventfd is readable: one or more jobs are done. Reset the counter,
 * take the whole list at once, and give each response its bytes. */
static void take_done(struct server *s)
{
	uint64_t count;
	struct job *j;

	if (read(s->wake_fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		return;
	if (pthread_mutex_lock(&s->done_mu) != 0)
		abort();
	j = s->done_first;
	s->done_first = s->done_last = NULL;
	if (pthread_mutex_unlock(&s->done_mu) != 0)
		abort();
	while (j) {
		struct job *next = j->next;
		struct conn *c = j->c;

		c->pending--;
		if (c->dead) {
			/* The client left while its job ran. */
			free(j->r);
			conn_release(s, c);
		} else {
			c->owed_bytes -= SERVER_HEAVY_MAX;
			if (!resp_fill(c, j->r, 200, "application/octet-stream", NULL, j->r->close,
				       j->body, j->len, j->head_only))
				c->closing = true;
			if (!service(s, c) || !update_interest(s, c))
				conn_close(s, c);
		}
		free(j->body);
		free(j);
		j = next;
	}
}
/* ANCHOR_END: done */

/* ---- requests -------------------------------------------------------------- */

static bool serve_file(struct server *s, struct conn *c, const char *path, bool head_only, bool last)
{
	char full[4096];
	struct stat st;
	struct resp *r;
	char *body = NULL;
	size_t got = 0;
	int fd;
	bool ok;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	if (strstr(path, "..") ||
	    snprintf(full, sizeof(full), "%s%s", s->cfg->root, path) >= (int)sizeof(full))
		return respond_error(c, 404, NULL, last);
	/* A regular file is read on the loop's thread: a local disk answers
	 * in microseconds. (nginx does the same unless told to use its
	 * thread pools for files.) */
	if ((fd = open(full, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0)
		return respond_error(c, 404, NULL, last);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !(body = malloc((size_t)st.st_size + 1))) {
		close(fd);
		return respond_error(c, 404, NULL, last);
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, body + got, (size_t)st.st_size - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	ok = (r = resp_add(c)) && resp_fill(c, r, 200, http_type(path), NULL, last, body, got, head_only);
	free(body);
	if (last)
		c->closing = true;
	return ok;
}

/* ANCHOR: route */
/* One whole request: its response joins the queue (or its job the pool). */
static bool route(struct server *s, struct conn *c, const struct http_request *req, const char *body)
{
	char path[SERVER_LINE_MAX + 1];
	const char *query = "";
	char *q;
	bool get = strcmp(req->method, "GET") == 0, head = strcmp(req->method, "HEAD") == 0;
	struct resp *r;

	snprintf(path, sizeof(path), "%s", req->target);
	if ((q = strchr(path, '?'))) {
		*q = '\0';
		query = req->target + (q - path) + 1;
	}
	if (req->close)
		c->closing = true; /* read no further: this is the last request */
	if (strcmp(path, "/heavy") == 0) {
		if (!get && !head)
			return respond_error(c, 405, "GET, HEAD", req->close);
		if (req->close)
			/* Its response will say so: the job's response is
			 * made later, so mark it now. */
			return submit_heavy(s, c, query, head) && (c->last->close = true);
		return submit_heavy(s, c, query, head);
	}
	if (strcmp(path, "/echo") == 0) {
		if (strcmp(req->method, "POST") != 0)
			return respond_error(c, 405, "POST", req->close);
		return (r = resp_add(c)) &&
		       resp_fill(c, r, 200, "text/plain", NULL, req->close, body, (size_t)req->content_length, false);
	}
	if (!get && !head)
		return respond_error(c, 405, "GET, HEAD", req->close);
	return serve_file(s, c, path, head, req->close);
}
/* ANCHOR_END: route */

/* ANCHOR: parse */
/* Take every whole request in c->in, in order, while c is not owed too
 * much. Returns the number taken, or -1 when the connection must close. */
static int take_requests(struct server *s, struct conn *c)
{
	int taken = 0;

	while (!c->closing && c->owed < OWED_MAX && c->owed_bytes < OWED_BYTES) {
		struct http_request req;
		size_t total;
		int rc = http_parse_head(c->in, c->in_len, &req);

		if (rc == HTTP_INCOMPLETE) {
			if (c->in_len == 0 || c->eof) {
				c->in_len = 0; /* a half request at the end: dropped */
				clock_stop(s, c);
			} else if (http_line_end(c->in, c->in_len) < 0 && c->in_len > SERVER_LINE_MAX) {
				rc = 414;
			} else if (c->in_len >= SERVER_HEAD_MAX) {
				rc = 431; /* a whole head would be longer still */
			} else {
				clock_start(s, c); /* it is on its way: it has SERVER_REQUEST_MS */
			}
			if (rc == HTTP_INCOMPLETE)
				break;
		}
		if (rc == HTTP_OK && req.head_len > SERVER_HEAD_MAX)
			rc = 431;
		if (rc == HTTP_OK && req.content_length > SERVER_BODY_MAX)
			rc = 413;
		if (rc != HTTP_OK) {
			clock_stop(s, c);
			c->in_len = 0;
			return respond_error(c, rc, NULL, true) ? taken + 1 : -1;
		}
		total = req.head_len + (size_t)req.content_length;
		if (c->in_len < total) {
			if (c->eof) {
				c->in_len = 0;
				clock_stop(s, c);
			} else {
				clock_start(s, c); /* the body is still coming */
			}
			break;
		}
		clock_stop(s, c);
		if (!route(s, c, &req, c->in + req.head_len))
			return -1;
		/* Pipelined requests behind it move to the front. */
		memmove(c->in, c->in + total, c->in_len - total);
		c->in_len -= total;
		taken++;
	}
	return taken;
}
/* ANCHOR_END: parse */

/* ANCHOR: read */
/* The socket is readable: read what is there, while there is room. */
static bool read_some(struct conn *c)
{
	while (!c->eof && !c->closing && c->in_len < IN_MAX) {
		ssize_t n;

		if (c->in_cap - c->in_len < READ_CHUNK && c->in_cap < IN_MAX) {
			size_t cap = c->in_cap ? c->in_cap * 2 : READ_CHUNK;
			char *p;

			if (cap > IN_MAX)
				cap = IN_MAX;
			if (!(p = realloc(c->in, cap)))
				return false;
			c->in = p;
			c->in_cap = cap;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n > 0)
			c->in_len += (size_t)n;
		else if (n == 0)
			c->eof = true;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		else if (errno != EINTR)
			return false;
	}
	return true;
}
/* ANCHOR_END: read */

/* Requests to responses to bytes, until neither moves: sending may make
 * room for requests held back, and those may give more to send. */
static bool service(struct server *s, struct conn *c)
{
	for (;;) {
		int taken = take_requests(s, c);

		if (taken < 0 || !flush(c))
			return false;
		if (taken == 0)
			return true;
	}
}

/* ANCHOR: interest */
/* What c waits for now; false when nothing: close it. */
static bool update_interest(struct server *s, struct conn *c)
{
	uint32_t want = 0;
	struct epoll_event ev;

	if (!c->eof && !c->closing && c->owed < OWED_MAX && c->owed_bytes < OWED_BYTES && c->in_len < IN_MAX)
		want |= EPOLLIN;
	if (c->first && c->first->ready)
		want |= EPOLLOUT;
	if (want == 0 && !c->first)
		return false; /* nothing to read, nothing owed: done */
	if (want != c->watching) {
		ev.events = want;
		ev.data.ptr = c;
		if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0)
			return false;
		c->watching = want;
	}
	return true;
}
/* ANCHOR_END: interest */

static void on_event(struct server *s, struct conn *c, uint32_t events)
{
	if (c->dead)
		return; /* closed earlier in this batch */
	/* A reset, or both ways shut: nobody will read what we owe. (Not
	 * watching for input any more, we would be told again and again.) */
	if ((events & (EPOLLERR | EPOLLHUP)) && c->eof)
		goto hang_up;
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !read_some(c))
		goto hang_up;
	if (!service(s, c) || !update_interest(s, c))
		goto hang_up;
	return;
hang_up:
	conn_close(s, c);
}

/* ANCHOR: expire */
/* Deadlines passed: a request not whole in time gets 408 and the close. */
static void expire(struct server *s)
{
	int64_t now = now_ns();

	while (s->clock_first &&
	       now - s->clock_first->started_ns >= (int64_t)SERVER_REQUEST_MS * 1000000) {
		struct conn *c = s->clock_first;

		clock_stop(s, c);
		if (!respond_error(c, 408, NULL, true) || !flush(c) || !update_interest(s, c))
			conn_close(s, c);
	}
}
/* ANCHOR_END: expire */

/* ANCHOR: stop */
/* The stop: accept no one, read nothing more; what was read is answered. */
static void begin_stop(struct server *s)
{
	s->stopping = true;
	s->stop_deadline_ns = now_ns() + (int64_t)SERVER_STOP_MS * 1000000;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->stop_fd, NULL);
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		c->eof = true;
		if (!service(s, c) || !update_interest(s, c))
			conn_close(s, c);
	}
}
/* ANCHOR_END: stop */

static int watch(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ANCHOR: loop */
static int run_loop(struct server *s)
{
	struct epoll_event ev[MAX_EVENTS];

	while (!s->stopping || s->conns) {
		int n = epoll_wait(s->epfd, ev, MAX_EVENTS, next_timeout_ms(s));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &s->stop_fd)
				begin_stop(s);
			else if (ev[i].data.ptr == &s->listen_fd)
				accept_all(s);
			else if (ev[i].data.ptr == &s->wake_fd)
				take_done(s);
			else
				on_event(s, ev[i].data.ptr, ev[i].events);
		}
		expire(s);
		bury(s);
		if (s->stopping && now_ns() >= s->stop_deadline_ns)
			break; /* in-flight work had its time */
	}
	return 0;
}

int serve(int listen_fd, int stop_fd, const struct server_config *cfg)
{
	struct server s = { .listen_fd = listen_fd, .stop_fd = stop_fd, .cfg = cfg,
			    .epfd = -1, .wake_fd = -1 };
	int err = 0, rc;

	if (!cfg || !cfg->root || !cfg->heavy || cfg->workers < 1) {
		errno = EINVAL;
		return -1;
	}
	if ((rc = pthread_mutex_init(&s.done_mu, NULL)) != 0) {
		errno = rc;
		return -1;
	}
	if ((s.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
	    (s.wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0 ||
	    watch(s.epfd, listen_fd, &s.listen_fd) != 0 ||
	    watch(s.epfd, stop_fd, &s.stop_fd) != 0 ||
	    watch(s.epfd, s.wake_fd, &s.wake_fd) != 0) {
		err = errno;
		goto out;
	}
	if ((rc = pool_create(&s.pool, cfg->workers)) != 0) {
		err = rc;
		goto out;
	}
	err = run_loop(&s);
	/* Close what is left (their jobs keep their structs), then let the
	 * pool finish its jobs and join its workers, then free what came
	 * back. */
	while (s.conns)
		conn_close(&s, s.conns);
	if ((rc = pool_shutdown(s.pool)) != 0 && err == 0)
		err = rc;
	take_done(&s);
	bury(&s);
out:
	if (s.wake_fd >= 0)
		close(s.wake_fd);
	if (s.epfd >= 0)
		close(s.epfd);
	pthread_mutex_destroy(&s.done_mu);
	errno = err;
	return err ? -1 : 0;
}
/* ANCHOR_END: loop */
