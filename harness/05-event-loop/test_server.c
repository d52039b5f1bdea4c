/*
 * Description: lesson 05 - does serve() deal with many clients at once
 * (gated clients released in a secret order), on one thread with no child
 * processes, asleep when idle; does it handle lines in pieces, replies
 * bigger than the socket, clients that shut down, vanish or misbehave;
 * does it free every descriptor, and stop when told?
 *
 * The server runs in a child process (harness/lib/at_server.h), so its
 * threads, children, descriptors and CPU time are counted from /proc
 * without its help, and nothing it does can hang the test: every client
 * call has a deadline and gives up as soon as the server is gone.
 * Compare with harness/02-threads/test_threads.c, where the code under
 * test ran the harness's tasks; here the harness plays the clients.
 */
#include "at_gate.h"
#include "at_server.h"
#include "at_test.h"
#include "server.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_GATED     8      /* gated clients: a lucky order is 1 in 40,320 */
#define ROUNDS      2      /* two requests each: all 8 in progress at once */
#define STEP_MS     1000   /* how long any one answer may take */
#define STOP_MS     300    /* how long a test waits for serve() to return */
#define SMALL_BUF   4096   /* socket buffers that force short writes */
#define IDLE_MS     500
#define IDLE_MAX_MS 25     /* CPU allowed while idle: 5% (a spin burns ~100%) */
#define N_CONNS     1000

TestSuite(event_loop, .timeout = 30);

/* ---- the server under test ------------------------------------------ */

static int run_serve(int listen_fd, int stop_fd, void *unused)
{
	(void)unused;
	return serve(listen_fd, stop_fd);
}

/* Start serve() in a child process; skip when no loopback server can run. */
static void start(struct at_server *s, int sndbuf)
{
	struct at_server_opts o = { .sndbuf = sndbuf };

	if (at_server_start(s, run_serve, NULL, &o) != 0)
		AT_SKIP("%s: this machine cannot host the server", s->why);
}

static bool server_alive(void *s)
{
	return at_server_alive(s);
}

/* "" while the server runs, else what became of it. Call before stopping. */
static const char *fate_of(struct at_server *s, char *buf, size_t len)
{
	buf[0] = '\0';
	if (!at_server_alive(s))
		at_server_fate(s, buf, len);
	return buf;
}

#define CHECK_RUNNING(fate) \
	AT_CHECK(!(fate)[0], "serve() ended before the test did: it %s", (fate))

/* ---- the mirror protocol, for the harness --------------------------- */

/* The replies a correct server sends for a stream of complete lines. */
static void mirror(const char *in, size_t len, char *out)
{
	size_t start = 0;

	for (size_t i = 0; i < len; i++) {
		if (in[i] != '\n')
			continue;
		for (size_t k = start; k < i; k++)
			out[k] = in[i - 1 - (k - start)];
		out[i] = '\n';
		start = i + 1;
	}
}

/* Text for a message: newlines shown as \n. */
static const char *shown(const char *text, char *buf, size_t len)
{
	size_t o = 0;

	for (; *text && o + 3 < len; text++) {
		if (*text == '\n') {
			buf[o++] = '\\';
			buf[o++] = 'n';
		} else {
			buf[o++] = *text;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* n lines of `width` bytes each ('\n' included), all different. */
static char *make_lines(int n, int width, const char *tag)
{
	char *buf = malloc((size_t)n * (size_t)width);

	cr_assert(buf != NULL, "harness: out of memory");
	for (int i = 0; i < n; i++) {
		char *line = buf + (size_t)i * (size_t)width;
		int k = snprintf(line, (size_t)width, "%s %07d ", tag, i);

		for (; k < width - 1; k++)
			line[k] = (char)('a' + (i + k) % 26);
		line[width - 1] = '\n';
	}
	return buf;
}

/* Send one line and wait for its mirror. Returns true if it came, right. */
static bool exchange(struct at_server *s, int fd, const char *line, char *got, size_t gotlen)
{
	size_t len = strlen(line), n;
	char want[256];
	bool eof;

	cr_assert(len < sizeof(want) && len < gotlen, "harness: line too long");
	mirror(line, len, want);
	if (at_client_send(s, fd, line, len, STEP_MS) != len)
		return snprintf(got, gotlen, "(could not send)"), false;
	n = at_client_recv(s, fd, got, len, STEP_MS, &eof);
	got[n] = '\0';
	return n == len && memcmp(got, want, len) == 0;
}

/* A connection that has been answered once: surely accepted and watched. */
static int open_answered(struct at_server *s, const char *line)
{
	char got[256];
	int fd = at_client_connect(s, 0);

	if (fd >= 0 && !exchange(s, fd, line, got, sizeof(got))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* ---- many clients at once: the gate ---------------------------------- */

struct gate_script {
	char req[N_GATED][ROUNDS][64];
	char rep[N_GATED][ROUNDS][64];
};

static void gate_lines(int c, int r, struct at_gate_msg *m, void *arg)
{
	struct gate_script *g = arg;

	m->request = g->req[c][r];
	m->request_len = strlen(g->req[c][r]);
	m->reply = g->rep[c][r];
	m->reply_len = m->request_len;
}

static struct at_gate gate_for(struct at_server *s, struct gate_script *g)
{
	for (int c = 0; c < N_GATED; c++)
		for (int r = 0; r < ROUNDS; r++) {
			snprintf(g->req[c][r], sizeof(g->req[c][r]),
				 "client %d, request %d of %d: over here!\n", c, r + 1, ROUNDS);
			mirror(g->req[c][r], strlen(g->req[c][r]), g->rep[c][r]);
			g->rep[c][r][strlen(g->req[c][r])] = '\0';
		}
	return (struct at_gate){
		.addr = (const struct sockaddr *)&s->addr, .addrlen = sizeof(s->addr),
		.clients = N_GATED, .rounds = ROUNDS, .step_timeout_ms = STEP_MS,
		.script = gate_lines, .script_arg = g,
		.alive = server_alive, .alive_arg = s,
	};
}

Test(event_loop, gated, .description = "8 clients, their requests released one at a time in a secret order, each only after the previous one was answered: the server must be watching all of them at once")
{
	struct at_server s;
	struct gate_script script;
	struct at_gate g;
	struct at_gate_result r;
	char fate[200], order[128];

	start(&s, 0);
	g = gate_for(&s, &script);
	g.trace = at_trace_global();
	at_trace_reset(g.trace);
	at_gate_run(&g, &r);
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);

	at_trace_attach("gated", "8 gated clients, 2 requests each, released in a secret order");
	AT_MEASURED("gated: %d of %d clients served in a secret order, %d in progress at once (%d needed)",
		    r.completed, N_GATED, r.max_in_progress, N_GATED);
	if (r.timed_out || r.stuck_client >= 0)
		AT_MEASURED("the secret order of the first round: %s", at_gate_order(&r, order, sizeof(order)));
	AT_HINT("one epoll set holds the listener and every client; handle whichever is ready, never wait on one client (no blocking read, no loop until its line is complete)");
	CHECK_RUNNING(fate);
	AT_CHECK(r.connected == N_GATED, "%s", r.problem);
	AT_CHECK(r.completed == N_GATED && r.max_in_progress >= N_GATED, "%s", r.problem);
	AT_END();
}

/* ---- one thread, no child processes --------------------------------- */

struct census {
	struct at_server *s;
	int max_threads, max_children, samples;
};

/* After every answer of the gate: count the server's threads and children. */
static void take_census(int step, void *arg)
{
	struct census *c = arg;
	int t = at_server_threads(c->s), k = at_server_children(c->s);

	(void)step;
	if (t > c->max_threads)
		c->max_threads = t;
	if (k > c->max_children)
		c->max_children = k;
	c->samples++;
}

Test(event_loop, one_thread, .description = "while 8 clients are in progress at once, the server is one thread and has no child processes")
{
	struct at_server s;
	struct gate_script script;
	struct census census = { .s = &s };
	struct at_gate g;
	struct at_gate_result r;
	long created = 0, forks = 0;
	char fate[200];

	start(&s, 0);
	g = gate_for(&s, &script);
	g.after_step = take_census;
	g.after_arg = &census;
	at_gate_run(&g, &r);
	fate_of(&s, fate, sizeof(fate));
	if (at_server_stop(&s, STOP_MS) && atomic_load(&s.report->state) == AT_SERVER_RETURNED) {
		created = s.report->threads_created;
		forks = s.report->forks;
	}

	if (census.samples > 0)
		AT_MEASURED("one thread: %d clients in progress at once; the server had at most %d thread%s and %d child process%s (%d samples)",
			    r.max_in_progress, census.max_threads, census.max_threads == 1 ? "" : "s",
			    census.max_children, census.max_children == 1 ? "" : "es", census.samples);
	else
		AT_MEASURED("one thread: no client was answered, so the server's threads were never counted");
	AT_HINT("no pthread_create(), no fork(): a single loop around epoll_wait() keeps every connection's state in its own struct and serves whichever is ready");
	CHECK_RUNNING(fate);
	AT_CHECK(r.completed == N_GATED, "only %d of %d clients were served, so one thread was not shown to serve them all at once: %s",
		 r.completed, N_GATED, r.problem);
	AT_CHECK(census.max_threads == 1 && created == 0,
		 "the server had %d threads while the clients were in progress (%ld pthread_create() calls): the event loop must do it all on the calling thread",
		 census.max_threads, created);
	AT_CHECK(census.max_children == 0 && forks == 0,
		 "the server had %d child process(es) (%ld fork() calls): the event loop must do it all in its own process",
		 census.max_children, forks);
	AT_END();
}

/* ---- asleep when idle ------------------------------------------------ */

Test(event_loop, idle_cpu, .description = "with 9 clients connected and quiet for half a second, the server burns almost no CPU")
{
	struct at_server s;
	int fd[9], answered = 0;
	int64_t cpu0, cpu1, t0, t1;
	char fate[200], line[64];

	start(&s, 0);
	for (int i = 0; i < 8; i++) {
		snprintf(line, sizeof(line), "idle client %d\n", i);
		fd[i] = answered == i ? open_answered(&s, line) : -1;
		if (fd[i] >= 0)
			answered++;
	}
	/* One more that stops in the middle of a line. */
	fd[8] = at_client_connect(&s, 0);
	if (fd[8] >= 0)
		at_client_send(&s, fd[8], "half a li", 9, STEP_MS);
	at_sleep_ms(20);
	t0 = at_now_ns();
	cpu0 = at_server_cpu_ns(&s);
	at_sleep_ms(IDLE_MS);
	cpu1 = at_server_cpu_ns(&s);
	t1 = at_now_ns();
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	for (int i = 0; i < 9; i++)
		if (fd[i] >= 0)
			close(fd[i]);

	AT_MEASURED("idle: %.1f ms of CPU in %.0f ms with 9 clients connected and quiet (at most %d ms)",
		    (double)(cpu1 - cpu0) / AT_NS_PER_MS, (double)(t1 - t0) / AT_NS_PER_MS, IDLE_MAX_MS);
	AT_HINT("epoll_wait() with timeout -1 sleeps until something is ready; a timeout of 0, or watching EPOLLOUT while nothing is owed (a socket is almost always writable), wakes the loop again at once, for ever");
	CHECK_RUNNING(fate);
	AT_CHECK(answered == 8, "only %d of 8 clients were answered, so the idle server could not be measured", answered);
	AT_CHECK(cpu0 >= 0 && cpu1 >= 0, "the server's CPU clock could not be read");
	AT_CHECK(cpu1 - cpu0 <= (int64_t)IDLE_MAX_MS * AT_NS_PER_MS,
		 "the server used %.1f ms of CPU in %.0f ms while nothing happened: its loop spins instead of sleeping in epoll_wait()",
		 (double)(cpu1 - cpu0) / AT_NS_PER_MS, (double)(t1 - t0) / AT_NS_PER_MS);
	AT_END();
}

/* ---- partial reads --------------------------------------------------- */

Test(event_loop, split_lines, .description = "lines that arrive in pieces (and several in one piece) are answered whole, and another client is served while a line is unfinished")
{
	struct at_server s;
	static const char *const piece[] = {
		"the quick ", "brown fox", " jumps\nover the\nlazy", " dog\n",
	};
	const int n_pieces = 4;
	char all[128] = "", want[128], got[128], other[256], fate[200], line[64];
	char got_shown[256], want_shown[256];
	int a, b, others_ok = 0;
	size_t len, n;
	bool eof;

	start(&s, 0);
	a = at_client_connect(&s, 0);
	b = at_client_connect(&s, 0);
	cr_assert(a >= 0 && b >= 0, "harness: cannot connect to the server");
	for (int i = 0; i < n_pieces; i++) {
		strcat(all, piece[i]);
		at_client_send(&s, a, piece[i], strlen(piece[i]), STEP_MS);
		/* An answer to B proves the server read A's piece meanwhile
		 * (it came first) and did not wait for the rest of A's line. */
		snprintf(line, sizeof(line), "meanwhile %d\n", i);
		if (others_ok == i && exchange(&s, b, line, other, sizeof(other)))
			others_ok++;
	}
	len = strlen(all);
	mirror(all, len, want);
	n = at_client_recv(&s, a, got, len, STEP_MS, &eof);
	got[n] = '\0';
	want[len] = '\0';
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	close(a);
	close(b);

	AT_MEASURED("partial reads: %s; the other client was answered after %d of the %d pieces",
		    n == len && memcmp(got, want, len) == 0 ? "3 of 3 lines sent in 4 pieces came back right" : "the lines sent in pieces came back wrong",
		    others_ok, n_pieces);
	AT_HINT("keep each connection's unfinished line in its own buffer (struct conn), across events; reply only when its '\\n' arrives, and never wait for it");
	CHECK_RUNNING(fate);
	AT_CHECK(others_ok == n_pieces, "client B was answered only %d of %d times while client A's line was unfinished: the server waited for A's '\\n'",
		 others_ok, n_pieces);
	AT_CHECK(n == len && memcmp(got, want, len) == 0,
		 "client A sent \"the quick \" \"brown fox\" \" jumps\\nover the\\nlazy\" \" dog\\n\" and got \"%s\" (%zu bytes), expected \"%s\"",
		 shown(got, got_shown, sizeof(got_shown)), n, shown(want, want_shown, sizeof(want_shown)));
	AT_END();
}

/* ---- partial writes -------------------------------------------------- */

/* Send what the socket takes until it has taken nothing for stall_ms. */
static size_t send_until_stalled(int fd, const char *buf, size_t len, int stall_ms)
{
	size_t sent = 0;

	while (sent < len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n = send(fd, buf + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			break;
		if (poll(&p, 1, stall_ms) == 0)
			break;
	}
	return sent;
}

/*
 * Receive the whole reply while sending what is left of the request.
 * Gives up after no_progress_ms without a byte, on a wrong byte, or at
 * an end of file. Returns the count of right bytes received.
 */
static size_t talk_until_done(struct at_server *s, int fd, const char *req, size_t len,
			      size_t sent, const char *want, char *got, int no_progress_ms,
			      bool *eof)
{
	size_t n = 0;
	int64_t last = at_now_ns();

	*eof = false;
	while (n < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (sent < len ? POLLOUT : 0) };
		ssize_t k;

		if (sent < len && (k = send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT)) > 0) {
			sent += (size_t)k;
			last = at_now_ns();
		}
		k = recv(fd, got + n, len - n, MSG_DONTWAIT);
		if (k > 0) {
			if (memcmp(got + n, want + n, (size_t)k) != 0)
				break;
			n += (size_t)k;
			last = at_now_ns();
			continue;
		}
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			*eof = true;
			break;
		}
		if (at_now_ns() - last > (int64_t)no_progress_ms * AT_NS_PER_MS || !at_server_alive(s))
			break;
		poll(&p, 1, 20);
	}
	return n;
}

#define BIG_LINES 32768
#define BIG_WIDTH 32       /* 32768 lines of 32 bytes: 1 MiB each way */

Test(event_loop, big_reply, .description = "1 MiB of replies to a client that reads slowly arrive complete (writes come back short: the rest must wait for EPOLLOUT), and another client is served meanwhile")
{
	struct at_server s;
	const size_t len = (size_t)BIG_LINES * BIG_WIDTH;
	char *req = make_lines(BIG_LINES, BIG_WIDTH, "slow"), *want = malloc(len), *got = malloc(len);
	char fate[200], other[256] = "";
	size_t sent, n;
	bool other_ok = false, eof;
	int slow, b;

	cr_assert(want && got, "harness: out of memory");
	mirror(req, len, want);
	start(&s, SMALL_BUF);
	slow = at_client_connect(&s, SMALL_BUF);
	cr_assert(slow >= 0, "harness: cannot connect to the server");
	/* Phase 1: requests in, no reply read: the server's sends must stall. */
	sent = send_until_stalled(slow, req, len, 50);
	/* Phase 2: while replies are owed to the slow reader, another client. */
	b = at_client_connect(&s, 0);
	if (b >= 0)
		other_ok = exchange(&s, b, "anyone there?\n", other, sizeof(other));
	/* Phase 3: read everything, sending the rest as it is taken. */
	n = talk_until_done(&s, slow, req, len, sent, want, got, STEP_MS, &eof);
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	close(slow);
	if (b >= 0)
		close(b);

	AT_MEASURED("partial writes: %zu of %zu reply bytes reached a slow reader intact; another client %s while the slow reader waited for the replies to %zu KiB",
		    n, len, other_ok ? "was answered" : "was NOT answered", sent / 1024);
	AT_HINT("send() may take only part of a reply, or nothing (EAGAIN): keep the rest in the connection's output buffer, watch EPOLLOUT while it is not empty, and go on serving the others meanwhile");
	CHECK_RUNNING(fate);
	AT_CHECK(other_ok, "another client got no answer (\"%s\") while the slow reader was owed replies: the server waited for one socket to become writable",
		 other);
	AT_CHECK(n == len, "the slow reader got %zu of %zu reply bytes right, then %s: bytes that send() did not take were lost",
		 n, len, eof ? "the connection ended" : n < len && memcmp(got + n, want + n, 1) != 0 ? "a wrong byte" : "nothing more");
	free(req);
	free(want);
	free(got);
	AT_END();
}

/* ---- the client's end of file ----------------------------------------- */

/* 32 KiB of lines: more replies than the small buffers hold, yet few
 * enough requests that they and the end of file all reach the server
 * before the client reads a byte (the server's receive window is larger). */
#define HALF_LINES 1024

Test(event_loop, half_close, .description = "a client that shuts down its sending side still gets every reply it is owed, then the server closes the connection")
{
	struct at_server s;
	const size_t len = (size_t)HALF_LINES * BIG_WIDTH;
	char *req = make_lines(HALF_LINES, BIG_WIDTH, "half"), *want = malloc(len), *got = malloc(len);
	char fate[200];
	size_t sent, n;
	int fd, closed = 0;
	bool eof;

	cr_assert(want && got, "harness: out of memory");
	mirror(req, len, want);
	start(&s, SMALL_BUF);
	fd = at_client_connect(&s, SMALL_BUF);
	cr_assert(fd >= 0, "harness: cannot connect to the server");
	sent = at_client_send(&s, fd, req, len, STEP_MS);
	shutdown(fd, SHUT_WR); /* "that is all": the server reads an end of file */
	n = talk_until_done(&s, fd, req, len, len, want, got, STEP_MS, &eof);
	if (n == len)
		closed = at_client_wait_hangup(&s, fd, STEP_MS);
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	close(fd);

	AT_MEASURED("half-close: %zu of %zu reply bytes came after the client's end of file; %s",
		    n, len, n < len ? (eof ? "then the connection ended" : "then nothing more")
		    : closed ? "then the server closed the connection" : "the connection then stayed open");
	AT_HINT("recv() returning 0 means the client will send no more, not that it reads no more: stop watching EPOLLIN, send what is owed, and close once nothing is");
	CHECK_RUNNING(fate);
	AT_CHECK(sent == len, "the client could send only %zu of %zu bytes of requests", sent, len);
	AT_CHECK(n == len, "the client got %zu of %zu reply bytes: the server dropped replies it owed when the client shut down its side", n, len);
	AT_CHECK(closed, "every reply came, but the connection stayed open %d ms after: close it once the client has shut down and nothing is owed", STEP_MS);
	free(req);
	free(want);
	free(got);
	AT_END();
}

/* ---- rude clients ---------------------------------------------------- */

#define RUDE_LINES 1024    /* 32 KiB: as in half_close */

/*
 * Sends requests, shuts down its side, waits until replies start to come,
 * then closes without reading them: the kernel answers the next bytes the
 * server sends with a reset, and the server's next send() fails with EPIPE
 * (and raises SIGPIPE, unless told not to).
 */
static void vanish_while_owed(struct at_server *s)
{
	const size_t len = (size_t)RUDE_LINES * BIG_WIDTH;
	char *req = make_lines(RUDE_LINES, BIG_WIDTH, "rude");
	int fd = at_client_connect(s, SMALL_BUF);
	struct pollfd p;

	if (fd >= 0) {
		at_client_send(s, fd, req, len, STEP_MS);
		shutdown(fd, SHUT_WR);
		p = (struct pollfd){ .fd = fd, .events = POLLIN };
		poll(&p, 1, STEP_MS);
		close(fd); /* unread replies: a reset */
	}
	free(req);
}

Test(event_loop, disconnects, .description = "clients that vanish mid-line or while owed replies, and one that sends a line over SERVER_LINE_MAX, never stop the server from serving the others")
{
	struct at_server s;
	char big[2 * SERVER_LINE_MAX], fate[200], got[256] = "";
	int half, longer, after, hung_up = 0;
	bool answered = false;

	start(&s, SMALL_BUF);
	/* 1. Half a line, then gone. */
	if ((half = at_client_connect(&s, 0)) >= 0) {
		at_client_send(&s, half, "half a li", 9, STEP_MS);
		close(half);
	}
	/* 2. A line too long: the server must hang up. */
	memset(big, 'x', sizeof(big));
	if ((longer = at_client_connect(&s, 0)) >= 0) {
		at_client_send(&s, longer, big, sizeof(big), STEP_MS);
		hung_up = at_client_wait_hangup(&s, longer, STEP_MS);
		close(longer);
	}
	/* 3. Gone while replies are owed. */
	vanish_while_owed(&s);
	/* 4. Is anybody still home? */
	if ((after = at_client_connect(&s, 0)) >= 0) {
		answered = exchange(&s, after, "still there?\n", got, sizeof(got));
		close(after);
	}
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);

	AT_MEASURED("rude clients: one left mid-line, one sent %zu bytes without a newline and was %s, one vanished while owed replies; then the server %s",
		    sizeof(big), hung_up ? "hung up on" : "NOT hung up on",
		    fate[0] ? "was gone" : answered ? "still answered" : "did not answer");
	AT_HINT("send with MSG_NOSIGNAL (or ignore SIGPIPE): a client that vanished is an error to handle by closing its connection, not a reason to die; close on any recv()/send() error but EAGAIN/EINTR; hang up on a line over SERVER_LINE_MAX");
	AT_CHECK(!fate[0], "the server is gone after clients misbehaved: serve() %s", fate);
	AT_CHECK(answered, "after the rude clients, a new client got no answer (\"%s\")", got);
	AT_CHECK(hung_up, "a client sent %zu bytes without a newline and the server did not hang up within %d ms (the limit is SERVER_LINE_MAX = %d)",
		 sizeof(big), STEP_MS, SERVER_LINE_MAX);
	AT_END();
}

/* ---- no descriptor left behind ---------------------------------------- */

/* One short connection of kind i % 4; false if the server failed it. */
static bool come_and_go(struct at_server *s, int i)
{
	char line[64], got[256];
	int fd = at_client_connect(s, 0);
	bool ok = fd >= 0;

	if (!ok)
		return false;
	switch (i % 4) {
	case 0: /* connect, say nothing, leave */
		break;
	case 1: /* one request, one reply, leave */
		snprintf(line, sizeof(line), "connection %d\n", i);
		ok = exchange(s, fd, line, got, sizeof(got));
		break;
	case 2: /* leave mid-line */
		ok = at_client_send(s, fd, "unfinished", 10, STEP_MS) == 10;
		break;
	case 3: /* a request, then vanish with a reset */
		ok = at_client_send(s, fd, "bye\n", 4, STEP_MS) == 4;
		at_client_abort(fd);
		return ok;
	}
	close(fd);
	return ok;
}

Test(event_loop, no_fd_leak, .description = "1000 connections opened and closed (quietly, after a reply, mid-line, with a reset) leave the server with as many descriptors as before")
{
	struct at_server s;
	char fate[200], got[256];
	int witness, before, after = -1, made = 0;
	bool synced = false;

	start(&s, 0);
	witness = open_answered(&s, "witness\n");
	cr_assert(witness >= 0 || !at_server_alive(&s), "harness: cannot connect to the server");
	before = at_server_fds(&s);
	for (; made < N_CONNS && witness >= 0; made++)
		if (!come_and_go(&s, made))
			break;
	/* An answer to the witness proves the server has handled every event
	 * that came before it, closes included. Give closes a moment more. */
	for (int tries = 0; witness >= 0 && tries < 20; tries++) {
		synced = exchange(&s, witness, "are we there yet?\n", got, sizeof(got));
		after = at_server_fds(&s);
		if (!synced || after == before)
			break;
		at_sleep_ms(10);
	}
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	if (witness >= 0)
		close(witness);

	AT_MEASURED("descriptors: the server held %d before %d connections came and went, %d after",
		    before, made, after);
	AT_HINT("every way a connection ends (end of file, reset, error, a line too long) must lead to one place that close()s the socket and frees its state");
	CHECK_RUNNING(fate);
	AT_CHECK(made == N_CONNS, "connection %d of %d (kind %d) was not served: a request got no answer", made + 1, N_CONNS, made % 4);
	AT_CHECK(synced, "the client kept open through it all got no answer at the end");
	AT_CHECK(after == before, "the server holds %d descriptor(s) more than before: connections closed by their clients were not close()d", after - before);
	AT_END();
}

/* ---- the stop --------------------------------------------------------- */

Test(event_loop, stop, .description = "when stop_fd becomes readable, serve() closes every connection and its epoll descriptor and returns 0")
{
	struct at_server s;
	char fate[200];
	int fd[3];
	int64_t t0, t1;
	bool returned;
	struct at_server_report rep;

	start(&s, 0);
	fd[0] = open_answered(&s, "first\n");
	fd[1] = fd[0] >= 0 ? open_answered(&s, "second\n") : -1;
	if ((fd[2] = at_client_connect(&s, 0)) >= 0)
		at_client_send(&s, fd[2], "and a half", 10, STEP_MS);
	at_sleep_ms(10);
	fate_of(&s, fate, sizeof(fate));
	t0 = at_now_ns();
	returned = at_server_stop(&s, 1000);
	t1 = at_now_ns();
	memcpy(&rep, s.report, sizeof(rep));
	for (int i = 0; i < 3; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	returned = returned && atomic_load(&rep.state) == AT_SERVER_RETURNED;

	if (returned)
		AT_MEASURED("stop: serve() returned %d %.1f ms after stop_fd became readable; descriptors: %d before serving, %d after",
			    rep.rc, (double)(t1 - t0) / AT_NS_PER_MS, rep.fds_before, rep.fds_after);
	else
		AT_MEASURED("stop: serve() had not returned 1000 ms after stop_fd became readable");
	AT_HINT("put stop_fd in the epoll set with the sockets; when it is readable, leave the loop, close every connection and the epoll descriptor, return 0");
	CHECK_RUNNING(fate);
	AT_CHECK(fd[0] >= 0 && fd[1] >= 0, "the clients were not answered before the stop");
	AT_CHECK(returned, "serve() did not return within 1000 ms of stop_fd becoming readable");
	AT_CHECK(rep.rc == 0, "serve() returned %d, not 0", rep.rc);
	AT_CHECK(rep.fds_after == rep.fds_before,
		 "serve() returned holding %d descriptor(s) more than when it began: close every connection and the epoll descriptor",
		 rep.fds_after - rep.fds_before);
	AT_END();
}
