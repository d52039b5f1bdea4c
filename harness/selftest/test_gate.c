/*
 * Description: gated clients (at_gate.h) pass a tiny epoll server, which
 * has all 8 clients in progress at once, and reject, after one deadline,
 * a server that serves one connection until it ends and one that reads
 * its connections in a fixed order; a wrong reply and a dead server are
 * reported as such.
 *
 * The servers are written here, small on purpose; each runs in a child
 * process through at_server.h. They speak "echo": every byte comes back.
 */
#include "at_gate.h"
#include "at_server.h"
#include "at_test.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

TestSuite(gate, .timeout = 30);

#define N 8
#define STEP_MS 400

/* ---- the servers under test ------------------------------------------ */

/* Right: one epoll loop, every socket non-blocking, echo what comes.
 * (Replies are small: a short send is not handled, which is fine here.) */
static int epoll_echo(int listen_fd, int stop_fd, void *unused)
{
	struct epoll_event ev = { .events = EPOLLIN }, got[16];
	int ep = epoll_create1(0);

	(void)unused;
	ev.data.fd = listen_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
	ev.data.fd = stop_fd;
	epoll_ctl(ep, EPOLL_CTL_ADD, stop_fd, &ev);
	for (;;) {
		int n = epoll_wait(ep, got, 16, -1);

		for (int i = 0; i < n; i++) {
			int fd = got[i].data.fd, c;
			char buf[512];
			ssize_t k;

			if (fd == stop_fd)
				return 0;
			if (fd == listen_fd) {
				while ((c = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			while ((k = recv(fd, buf, sizeof(buf), 0)) > 0)
				send(fd, buf, (size_t)k, MSG_NOSIGNAL);
			if (k == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				close(fd);
		}
	}
}

/* Waits for fd or stop_fd; false when it is time to stop. */
static bool readable(int fd, int stop_fd)
{
	struct pollfd p[2] = { { .fd = fd, .events = POLLIN }, { .fd = stop_fd, .events = POLLIN } };

	return poll(p, 2, -1) > 0 && !(p[1].revents & POLLIN);
}

/* Wrong: accept one, echo it until it ends, then the next. */
static int sequential_echo(int listen_fd, int stop_fd, void *unused)
{
	char buf[512];

	(void)unused;
	while (readable(listen_fd, stop_fd)) {
		int c = accept(listen_fd, NULL, NULL);
		ssize_t k = 1;

		while (c >= 0 && k > 0 && readable(c, stop_fd))
			if ((k = recv(c, buf, sizeof(buf), 0)) > 0)
				send(c, buf, (size_t)k, MSG_NOSIGNAL);
		if (c >= 0)
			close(c);
	}
	return 0;
}

/* Wrong: accept all N, then take turns in accept order, blocking on each. */
static int fixed_order_echo(int listen_fd, int stop_fd, void *unused)
{
	int c[N];
	char buf[512];

	(void)unused;
	for (int i = 0; i < N; i++) {
		if (!readable(listen_fd, stop_fd))
			return 0;
		if ((c[i] = accept(listen_fd, NULL, NULL)) < 0)
			i--;
	}
	for (int i = 0;; i = (i + 1) % N) {
		ssize_t k;

		if (!readable(c[i], stop_fd))
			return 0;
		if ((k = recv(c[i], buf, sizeof(buf), 0)) <= 0)
			return 0;
		send(c[i], buf, (size_t)k, MSG_NOSIGNAL);
	}
}

/* Gone: returns at once (the listener stays open in the test process,
 * so clients still connect, and wait). */
static int exits_at_once(int listen_fd, int stop_fd, void *unused)
{
	(void)unused;
	(void)listen_fd;
	(void)stop_fd;
	return 0;
}

/* ---- the gate's script ----------------------------------------------- */

static char msg[N][2][32];

static void echo_script(int c, int r, struct at_gate_msg *m, void *arg)
{
	(void)arg;
	snprintf(msg[c][r], sizeof(msg[c][r]), "client %d round %d\n", c, r);
	m->request = m->reply = msg[c][r];
	m->request_len = m->reply_len = strlen(msg[c][r]);
}

static const char wrong_reply[] = "this is not it\n";

static void wrong_script(int c, int r, struct at_gate_msg *m, void *arg)
{
	echo_script(c, r, m, arg);
	m->reply = wrong_reply; /* a server that echoes never sends this */
	m->reply_len = strlen(wrong_reply);
}

static bool alive(void *s)
{
	return at_server_alive(s);
}

static bool run_gate_on(at_serve_fn fn, struct at_server *s, unsigned seed,
			void (*script)(int, int, struct at_gate_msg *, void *),
			struct at_gate_result *r)
{
	struct at_gate g = {
		.addr = (const struct sockaddr *)&s->addr, .addrlen = sizeof(s->addr),
		.clients = N, .rounds = 2, .step_timeout_ms = STEP_MS, .seed = seed,
		.script = script, .alive = alive, .alive_arg = s,
	};
	bool ok;

	cr_assert(at_server_start(s, fn, NULL, NULL) == 0, "harness: %s", s->why);
	ok = at_gate_run(&g, r);
	at_server_stop(s, 300);
	return ok;
}

/* ---- the tests --------------------------------------------------------- */

Test(gate, passes_event_loop, .description = "an epoll server answers all 8 clients in the secret order, all 8 in progress at once")
{
	struct at_server s;
	struct at_gate_result r;
	bool ok = run_gate_on(epoll_echo, &s, 0, echo_script, &r);

	AT_MEASURED("gate: %d of %d completed, %d in progress at once, %d exchanges, %.3f s (%s)",
		    r.completed, N, r.max_in_progress, r.exchanges, r.seconds, r.problem);
	AT_CHECK(ok && r.completed == N && r.exchanges == 2 * N, "a correct event loop must pass: %s", r.problem);
	AT_CHECK(r.max_in_progress == N, "all %d clients must be in progress at once", N);
	AT_CHECK(!r.timed_out && r.problem[0] == '\0', "no problem may be reported");
	AT_END();
}

Test(gate, rejects_sequential, .description = "a server that serves one connection to its end fails after one deadline, 1 in progress")
{
	struct at_server s;
	struct at_gate_result r;
	bool ok = run_gate_on(sequential_echo, &s, 0, echo_script, &r);

	/* The server stays with client 0, the first to connect. If the
	 * secret order starts with 0, one exchange succeeds: still stuck. */
	AT_MEASURED("gate: %d of %d completed, %d in progress at once, %.2f s: %s",
		    r.completed, N, r.max_in_progress, r.seconds, r.problem);
	AT_CHECK(!ok && r.completed == 0, "a sequential server must fail");
	AT_CHECK(r.max_in_progress <= 2 && r.timed_out, "it must be stuck at a deadline with at most 2 in progress");
	AT_CHECK(r.stuck_client != 0, "the stuck client is one the server is not with");
	/* One deadline, not one per client: a generous bound. */
	AT_CHECK(r.seconds < 3.0 * STEP_MS / 1000, "the gate waited %.2f s: more than one deadline", r.seconds);
	AT_END();
}

Test(gate, rejects_fixed_order, .description = "a server that takes turns over its connections in a fixed order is caught by the secret order")
{
	struct at_server s;
	struct at_gate_result r;
	bool ok = run_gate_on(fixed_order_echo, &s, 0, echo_script, &r);
	bool identity = true;

	for (int i = 0; i < N; i++)
		identity = identity && r.order[i] == i;
	AT_MEASURED("gate: %d of %d completed, %d in progress at once: %s", r.completed, N, r.max_in_progress, r.problem);
	if (identity)
		AT_SKIP("the secret order came out 0 1 2 ... (1 in 40,320): nothing to tell apart");
	AT_CHECK(!ok && r.completed < N && r.timed_out, "a fixed-order server must fail on a shuffled order");
	AT_END();
}

Test(gate, reports_wrong_reply, .description = "a reply that differs from the expected one is reported at once, with both")
{
	struct at_server s;
	struct at_gate_result r;
	bool ok = run_gate_on(epoll_echo, &s, 0, wrong_script, &r);

	AT_MEASURED("gate: %s", r.problem);
	AT_CHECK(!ok && r.exchanges == 0 && !r.timed_out, "a wrong reply must fail the first exchange, without waiting for a deadline");
	AT_CHECK(strstr(r.problem, "expected \"this is not it\\n\"") != NULL, "the message must quote the expected reply");
	AT_END();
}

Test(gate, notices_dead_server, .description = "a server that is gone fails the gate without waiting for the deadline")
{
	struct at_server s;
	struct at_gate_result r;
	bool ok = run_gate_on(exits_at_once, &s, 0, echo_script, &r);

	AT_MEASURED("gate: %.2f s: %s", r.seconds, r.problem);
	AT_CHECK(!ok && strstr(r.problem, "gone") != NULL, "a dead server must be reported as gone");
	AT_CHECK(!r.timed_out, "the gate must notice before the deadline");
	AT_END();
}
