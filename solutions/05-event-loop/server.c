/*
 * server.c - lesson 05, the reference: the mirror protocol served to every
 * client at once by one thread, an epoll event loop and one small state
 * machine per connection.
 *
 * Compare with harness/05-event-loop/mutants/: blocking_loop.patch serves
 * one client to its end before looking at the next, thread_per_client.patch
 * gets its concurrency from threads instead, busy_poll.patch never sleeps,
 * and drops_partial_writes.patch forgets what send() did not take.
 */
#include "server.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 64
#define READ_CHUNK 4096
/* A client owed this many bytes of replies is not read from until it has
 * taken some: a client that sends and never reads cannot make us buffer
 * without end. */
#define OUT_HIGH_WATER (64 * 1024)

/* ANCHOR: conn */
/* One client: everything the loop must remember about it between two
 * events. A thread serving one client would keep this in local variables;
 * a loop serving thousands keeps it here, one struct per connection. */
struct conn {
	int fd;
	char line[SERVER_LINE_MAX];  /* the line received so far, without '\n' */
	size_t line_len;
	char *out;                   /* replies not yet sent: out[out_sent..out_len) */
	size_t out_len, out_sent, out_cap;
	bool eof;                    /* the client has shut its sending side */
	uint32_t watching;           /* the events epoll now reports for fd */
	struct conn *prev, *next;    /* every open connection, for the stop */
};

struct server {
	int epfd;
	int listen_fd, stop_fd;      /* their addresses tag their epoll events */
	struct conn *conns;
};
/* ANCHOR_END: conn */

/* ---- opening and closing connections -------------------------------- */

/* ANCHOR: accept */
/* The listener is readable: take every connection waiting in its backlog,
 * each as a non-blocking socket watched for input. */
static void accept_all(struct server *s)
{
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN: the backlog is empty (or we are out of fds) */
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

/* ANCHOR: close */
static void conn_close(struct server *s, struct conn *c)
{
	/* close() also removes fd from the epoll set: no event for it can
	 * come after this, so freeing c here is safe. */
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	free(c->out);
	free(c);
}
/* ANCHOR_END: close */

/* ---- input: bytes to lines to replies ------------------------------- */

/* ANCHOR: reply */
/* Append the reply to one complete line: its bytes reversed, then '\n'. */
static bool queue_reply(struct conn *c)
{
	size_t need = c->line_len + 1;

	if (c->out_sent > 0) { /* slide what is still unsent to the front */
		memmove(c->out, c->out + c->out_sent, c->out_len - c->out_sent);
		c->out_len -= c->out_sent;
		c->out_sent = 0;
	}
	if (c->out_len + need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + need)
			cap *= 2;
		if (!(p = realloc(c->out, cap)))
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	for (size_t i = 0; i < c->line_len; i++)
		c->out[c->out_len + i] = c->line[c->line_len - 1 - i];
	c->out[c->out_len + c->line_len] = '\n';
	c->out_len += need;
	return true;
}

/* Feed received bytes through the line state: false to hang up (a line
 * too long, or no memory for its reply). */
static bool take_bytes(struct conn *c, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			if (!queue_reply(c))
				return false;
			c->line_len = 0;
		} else if (c->line_len == SERVER_LINE_MAX) {
			return false;
		} else {
			c->line[c->line_len++] = buf[i];
		}
	}
	return true;
}
/* ANCHOR_END: reply */

/* ANCHOR: read */
/* The socket is readable: read what is there (never more than is there:
 * EAGAIN ends the turn). False when the connection must be closed. */
static bool on_readable(struct conn *c)
{
	char buf[READ_CHUNK];

	while (c->out_len - c->out_sent < OUT_HIGH_WATER) {
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n > 0) {
			if (!take_bytes(c, buf, (size_t)n))
				return false;
		} else if (n == 0) {
			c->eof = true; /* the client will send no more */
			return true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return true;   /* all read; wait for the next event */
		} else if (errno != EINTR) {
			return false;  /* ECONNRESET and friends: it is gone */
		}
	}
	return true;
}
/* ANCHOR_END: read */

/* ANCHOR: flush */
/* Send as much of the owed replies as the socket takes now. A short count
 * or EAGAIN is normal: the rest stays in c->out until EPOLLOUT. */
static bool flush(struct conn *c)
{
	while (c->out_sent < c->out_len) {
		/* MSG_NOSIGNAL: a vanished client is an EPIPE here, not a
		 * SIGPIPE that would kill the whole server. */
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL);

		if (n >= 0)
			c->out_sent += (size_t)n;
		else if (errno == EAGAIN || errno == EWOULDBLOCK)
			return true;
		else if (errno != EINTR)
			return false;
	}
	c->out_len = c->out_sent = 0;
	return true;
}
/* ANCHOR_END: flush */

/* ANCHOR: interest */
/* Tell epoll what this connection waits for now. Input while the client
 * may still send and is not owed too much; output only while replies are
 * owed (a socket is writable nearly always: watching EPOLLOUT with nothing
 * to send would wake the loop over and over). False: nothing left to wait
 * for, close it. */
static bool update_interest(struct server *s, struct conn *c)
{
	size_t owed = c->out_len - c->out_sent;
	uint32_t want = 0;
	struct epoll_event ev;

	if (!c->eof && owed < OUT_HIGH_WATER)
		want |= EPOLLIN;
	if (owed > 0)
		want |= EPOLLOUT;
	if (want == 0)
		return false; /* end of file and every reply sent: done */
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

/* ANCHOR: on_event */
/* One event for one client: read, answer, re-arm; or close. EPOLLHUP and
 * EPOLLERR come whether asked for or not: a read (or a send) then
 * returns the end of file or the error, which decides. */
static void on_event(struct server *s, struct conn *c, uint32_t events)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->eof && !on_readable(c))
		goto hang_up;
	if (!flush(c) || !update_interest(s, c))
		goto hang_up;
	return;
hang_up:
	conn_close(s, c);
}
/* ANCHOR_END: on_event */

/* ---- the loop --------------------------------------------------------- */

static int watch(int epfd, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ANCHOR: loop */
int serve(int listen_fd, int stop_fd)
{
	struct server s = { .listen_fd = listen_fd, .stop_fd = stop_fd };
	struct epoll_event ev[MAX_EVENTS];
	bool stopping = false;
	int err = 0;

	if ((s.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	if (watch(s.epfd, listen_fd, &s.listen_fd) != 0 ||
	    watch(s.epfd, stop_fd, &s.stop_fd) != 0) {
		err = errno;
		goto out;
	}
	while (!stopping) {
		/* The one place the loop waits: asleep until some descriptor
		 * is ready (timeout -1: no need to wake up otherwise). */
		int n = epoll_wait(s.epfd, ev, MAX_EVENTS, -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].data.ptr == &s.stop_fd)
				stopping = true;
			else if (ev[i].data.ptr == &s.listen_fd)
				accept_all(&s);
			else
				on_event(&s, ev[i].data.ptr, ev[i].events);
		}
	}
out:
	while (s.conns)
		conn_close(&s, s.conns);
	close(s.epfd);
	errno = err;
	return err ? -1 : 0;
}
/* ANCHOR_END: loop */
