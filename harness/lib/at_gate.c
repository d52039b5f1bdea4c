/*
 * at_gate.c - gated clients (see at_gate.h for what they prove).
 *
 * One thread drives every connection with poll(2) on non-blocking sockets,
 * so nothing the server does can make the gate wait past a deadline.
 */
#include "at_gate.h"
#include "at_time.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIVE_SLICE_MS 20

/* A small private generator: the order must not depend on rand()'s state,
 * which the code under test could share. */
static unsigned next_random(unsigned *state)
{
	unsigned x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void shuffle(int *v, int n, unsigned *state)
{
	for (int i = 0; i < n; i++)
		v[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(next_random(state) % (unsigned)(i + 1)), t = v[i];

		v[i] = v[j];
		v[j] = t;
	}
}

/* Bytes as a short quoted C string, for messages. */
static const char *quote(const char *p, size_t n, char *buf, size_t len)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 8 < len; i++) {
		unsigned char ch = (unsigned char)p[i];

		if (i >= 40) {
			o += (size_t)snprintf(buf + o, len - o, "...");
			break;
		}
		if (ch == '\n')
			o += (size_t)snprintf(buf + o, len - o, "\\n");
		else if (ch < 32 || ch > 126)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	buf[o < len ? o : len - 1] = '\0';
	return buf;
}

static int connect_one(const struct at_gate *g, int64_t deadline)
{
	int fd = socket(g->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK, 0), err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (connect(fd, g->addr, g->addrlen) == 0)
		return fd;
	if (errno == EINPROGRESS) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left = (deadline - at_now_ns()) / AT_NS_PER_MS;

		if (left > 0 && poll(&p, 1, (int)left) == 1 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0)
			return fd;
		if (err)
			errno = err;
	}
	err = errno;
	close(fd);
	errno = err;
	return -1;
}

enum outcome { OK, TIMED_OUT, WRONG, HUNG_UP, DEAD };

struct exchange {
	const struct at_gate *g;
	int fd;
	const struct at_gate_msg *m;
	size_t sent, got;
	char *buf;   /* reply_len bytes */
	size_t wrong_at;
};

/* Send the request and read the reply, both at once (a big request may
 * need its first replies read before the rest fits). */
static enum outcome exchange(struct exchange *x, int64_t deadline)
{
	while (x->got < x->m->reply_len) {
		struct pollfd p = { .fd = x->fd, .events = POLLIN };
		int64_t left = (deadline - at_now_ns()) / AT_NS_PER_MS;
		ssize_t n;
		int r;

		if (x->sent < x->m->request_len) {
			n = send(x->fd, x->m->request + x->sent, x->m->request_len - x->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				x->sent += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return HUNG_UP;
			if (x->sent < x->m->request_len)
				p.events |= POLLOUT;
		}
		n = recv(x->fd, x->buf + x->got, x->m->reply_len - x->got, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return HUNG_UP;
		if (n > 0) {
			if (memcmp(x->buf + x->got, x->m->reply + x->got, (size_t)n) != 0) {
				x->got += (size_t)n;
				return WRONG;
			}
			x->got += (size_t)n;
			continue;
		}
		if (left <= 0)
			return TIMED_OUT;
		r = poll(&p, 1, left < ALIVE_SLICE_MS ? (int)left + 1 : ALIVE_SLICE_MS);
		if (r < 0 && errno != EINTR)
			return HUNG_UP;
		if (r == 0 && x->g->alive && !x->g->alive(x->g->alive_arg))
			return DEAD;
	}
	return OK;
}

static void describe(const struct at_gate *g, struct at_gate_result *r, enum outcome o,
		     const struct exchange *x, int c, int round, int turn)
{
	char req[120], got[120], want[120];

	switch (o) {
	case TIMED_OUT:
		r->timed_out = true;
		if (x->got == 0)
			snprintf(r->problem, sizeof(r->problem),
				 "client %d (turn %d of round %d) got no answer within %d ms: the server was busy with another connection, or never looked at this one",
				 c, turn + 1, round + 1, g->step_timeout_ms);
		else
			snprintf(r->problem, sizeof(r->problem),
				 "client %d got only %zu of the %zu bytes of its answer within %d ms",
				 c, x->got, x->m->reply_len, g->step_timeout_ms);
		break;
	case WRONG:
		snprintf(r->problem, sizeof(r->problem),
			 "client %d sent \"%s\" and got \"%s\", expected \"%s\"", c,
			 quote(x->m->request, x->m->request_len, req, sizeof(req)),
			 quote(x->buf, x->got, got, sizeof(got)),
			 quote(x->m->reply, x->m->reply_len, want, sizeof(want)));
		break;
	case HUNG_UP:
		snprintf(r->problem, sizeof(r->problem),
			 "the server closed client %d's connection before answering it (%zu of %zu bytes came)",
			 c, x->got, x->m->reply_len);
		break;
	case DEAD:
		snprintf(r->problem, sizeof(r->problem),
			 "the server is gone (it exited or was killed) while client %d waited for its answer", c);
		break;
	case OK:
		break;
	}
}

/* Release every client's request of one round, in a secret order. */
static bool run_round(const struct at_gate *g, struct at_gate_result *r, const int *fd,
		      int round, unsigned *state, int *started, int *step)
{
	int order[AT_GATE_MAX];

	shuffle(order, g->clients, state);
	if (round == 0)
		memcpy(r->order, order, sizeof(order));
	for (int turn = 0; turn < g->clients; turn++) {
		int c = order[turn], slice = -1;
		struct at_gate_msg m = { 0 };
		struct exchange x = { .g = g, .fd = fd[c], .m = &m };
		enum outcome o;
		char name[AT_TRACE_NAME];

		g->script(c, round, &m, g->script_arg);
		if (round == 0)
			(*started)++;
		/* In progress: started, and not yet given its last reply. */
		if (*started - r->completed > r->max_in_progress)
			r->max_in_progress = *started - r->completed;
		if (!(x.buf = malloc(m.reply_len + 1)))
			abort();
		if (g->trace) {
			snprintf(name, sizeof(name), "%d.%d", c, round + 1);
			slice = at_trace_begin(g->trace, name, c);
		}
		o = exchange(&x, at_now_ns() + (int64_t)g->step_timeout_ms * AT_NS_PER_MS);
		if (g->trace)
			at_trace_end(g->trace, slice);
		if (o != OK) {
			describe(g, r, o, &x, c, round, turn);
			r->stuck_client = c;
			free(x.buf);
			return false;
		}
		free(x.buf);
		r->exchanges++;
		if (round == g->rounds - 1)
			r->completed++;
		if (g->after_step)
			g->after_step((*step)++, g->after_arg);
	}
	return true;
}

bool at_gate_run(const struct at_gate *g, struct at_gate_result *r)
{
	int fd[AT_GATE_MAX], started = 0, step = 0;
	int64_t t0 = at_now_ns();
	unsigned state;

	memset(r, 0, sizeof(*r));
	r->clients = g->clients;
	r->rounds = g->rounds;
	r->stuck_client = -1;
	if (g->clients < 2 || g->clients > AT_GATE_MAX || g->rounds < 1 || !g->script) {
		snprintf(r->problem, sizeof(r->problem), "at_gate_run: bad arguments");
		return false;
	}
	r->seed = g->seed ? g->seed : (unsigned)(at_now_ns() ^ ((int64_t)getpid() << 16)) | 1u;
	state = r->seed;

	/* Every connection first: all N wait in the server's backlog or its
	 * event loop before the first request is released. */
	for (int c = 0; c < g->clients; c++) {
		fd[c] = connect_one(g, at_now_ns() + (int64_t)g->step_timeout_ms * AT_NS_PER_MS);
		if (fd[c] < 0) {
			snprintf(r->problem, sizeof(r->problem), "client %d could not connect: %s",
				 c, strerror(errno));
			break;
		}
		r->connected++;
	}
	if (r->connected == g->clients)
		for (int round = 0; round < g->rounds; round++)
			if (!run_round(g, r, fd, round, &state, &started, &step))
				break;

	/* At the end, or at the deadline: close every connection, so that a
	 * server still waiting on one sees an end of file. */
	for (int c = 0; c < r->connected; c++)
		close(fd[c]);
	r->seconds = (double)(at_now_ns() - t0) / AT_NS_PER_S;
	return r->completed == g->clients;
}

const char *at_gate_order(const struct at_gate_result *r, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < r->clients && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? " " : "", r->order[i]);
	return buf;
}
