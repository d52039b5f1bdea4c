/*
 * Description: lesson 05 - does serve() deal with many clients at once
 * (gated clients released in a secret order, 6, 16 and 64 of them, and a
 * crowd of 300 with a line half sent each), on one thread with no child
 * processes, asleep when idle (no wake-up at all while nothing happens);
 * does it handle lines in pieces, lines of exactly the longest length and
 * one byte over, replies bigger than the socket, clients that shut down,
 * vanish or misbehave; does it refuse descriptors it cannot watch, free
 * every descriptor and leave the caller's, stop when told, and touch no
 * freed memory (AddressSanitizer)?
 *
 * The server runs in a child process (harness/lib/at_server.h), so its
 * threads, children, descriptors, wake-ups and CPU time are counted from
 * /proc without its help, and nothing it does can hang the test: every
 * client call has a deadline and gives up as soon as the server is gone.
 * Compare with harness/02-threads/test_threads.c, where the code under
 * test ran the harness's tasks; here the harness plays the clients.
 */
#include "at_count.h"
#include "at_driver.h"
#include "at_gate.h"
#include "at_proc.h"
#include "at_server.h"
#include "at_test.h"
#include "server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUNDS      2      /* two requests each: all N in progress at once */
#define N_CENSUS    16     /* gated clients while the threads are counted */
#define N_CROWD     300    /* more connections at once than any fixed table */
#define STEP_MS     1000   /* how long any one answer may take */
#define STOP_MS     300    /* how long a test waits for serve() to return */
#define SMALL_BUF   4096   /* socket buffers that force short writes */
#define IDLE_MS     500    /* the quiet window */
#define QUIET_MS    100    /* no wake-up for this long before it starts */
#define SETTLE_MS   1500   /* ... waited for at most this long */
#define IDLE_MAX_MS 25     /* CPU allowed while idle: 5% (a spin burns ~100%) */
#define N_IDLE      8      /* idle clients answered once */
#define N_CONNS     1000

/* The gate's counts: a server that caps its clients below one fails. */
static const int gate_counts[] = { 6, 16, AT_GATE_MAX };
#define N_GATE_COUNTS ((int)(sizeof(gate_counts) / sizeof(gate_counts[0])))

TestSuite(event_loop, .timeout = 30);

/* ---- the server under test ------------------------------------------ */

/*
 * What the server's process saw of the caller's two descriptors around
 * serve(): in memory shared with the test (the server is a child), so the
 * stop test can tell "closed a connection" from "closed the caller's
 * listener and kept something else open", which count the same.
 */
struct caller_view {
	bool checked;        /* serve() returned and the view was taken */
	bool listen_kept;    /* listen_fd still open, the same socket */
	bool stop_kept;      /* stop_fd still open, the same eventfd */
};

static bool same_file(int fd, const struct stat *before)
{
	struct stat now;

	return fstat(fd, &now) == 0 && now.st_dev == before->st_dev && now.st_ino == before->st_ino;
}

/* arg: NULL, or a struct caller_view in shared memory to fill in. */
static int run_serve(int listen_fd, int stop_fd, void *arg)
{
	struct caller_view *v = arg;
	struct stat l0, s0;
	int rc;

	if (!v || fstat(listen_fd, &l0) != 0 || fstat(stop_fd, &s0) != 0)
		return serve(listen_fd, stop_fd);
	rc = serve(listen_fd, stop_fd);
	v->listen_kept = same_file(listen_fd, &l0);
	v->stop_kept = same_file(stop_fd, &s0);
	v->checked = true;
	return rc;
}

/* Start serve() in a child process; skip when no loopback server can run. */
static void start_with(struct at_server *s, int sndbuf, at_serve_fn fn, void *arg)
{
	struct at_server_opts o = { .sndbuf = sndbuf };

	if (at_server_start(s, fn, arg, &o) != 0)
		AT_SKIP("%s: this machine cannot host the server", s->why);
}

static void start(struct at_server *s, int sndbuf)
{
	start_with(s, sndbuf, run_serve, NULL);
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

/* ---- big exchanges ------------------------------------------------------ */

#define BIG_LINES 32768
#define BIG_WIDTH 32       /* 32768 lines of 32 bytes: 1 MiB each way */

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

/* ---- many clients at once: the gate ---------------------------------- */

struct gate_script {
	char req[AT_GATE_MAX][ROUNDS][64];
	char rep[AT_GATE_MAX][ROUNDS][64];
};

static void gate_lines(int c, int r, struct at_gate_msg *m, void *arg)
{
	struct gate_script *g = arg;

	m->request = g->req[c][r];
	m->request_len = strlen(g->req[c][r]);
	m->reply = g->rep[c][r];
	m->reply_len = m->request_len;
}

static struct at_gate gate_for(struct at_server *s, struct gate_script *g, int clients)
{
	for (int c = 0; c < clients; c++)
		for (int r = 0; r < ROUNDS; r++) {
			snprintf(g->req[c][r], sizeof(g->req[c][r]),
				 "client %d, request %d of %d: over here!\n", c, r + 1, ROUNDS);
			mirror(g->req[c][r], strlen(g->req[c][r]), g->rep[c][r]);
			g->rep[c][r][strlen(g->req[c][r])] = '\0';
		}
	return (struct at_gate){
		.addr = (const struct sockaddr *)&s->addr, .addrlen = sizeof(s->addr),
		.clients = clients, .rounds = ROUNDS, .step_timeout_ms = STEP_MS,
		.script = gate_lines, .script_arg = g,
		.alive = server_alive, .alive_arg = s,
	};
}

/*
 * One gate per count, on one server, smallest first; each a fresh secret
 * order, each closing its connections before the next opens its own. A
 * server that serves at most C clients at once (a fixed table, waves of
 * C) passes every count up to C and fails the first one above it.
 */
Test(event_loop, gated, .description = "6, then 16, then 64 clients, their requests released one at a time in a secret order, each only after the previous one was answered: the server must be watching all of them at once")
{
	struct at_server s;
	static struct gate_script script;
	struct at_gate g;
	struct at_gate_result r = { 0 };
	char fate[200], order[4 * AT_GATE_MAX], done[128] = "";
	int k, passed = 0;
	size_t o = 0;

	start(&s, 0);
	for (k = 0; k < N_GATE_COUNTS; k++) {
		g = gate_for(&s, &script, gate_counts[k]);
		g.trace = at_trace_global();
		at_trace_reset(g.trace);
		if (!at_gate_run(&g, &r) || r.max_in_progress < gate_counts[k])
			break;
		passed++;
		o += (size_t)snprintf(done + o, sizeof(done) - o, "%s%d", o ? ", " : "", gate_counts[k]);
	}
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);

	at_trace_attach("gated", "gated clients, 2 requests each, released in a secret order");
	if (passed == N_GATE_COUNTS)
		AT_MEASURED("gated: %s clients, each count served in a secret order, all of them in progress at once",
			    done);
	else
		AT_MEASURED("gated: %s%s%d of %d clients served in a secret order, %d in progress at once (%d needed)",
			    done, passed ? " clients all served; then " : "", r.completed, r.clients,
			    r.max_in_progress, r.clients);
	if (passed < N_GATE_COUNTS && (r.timed_out || r.stuck_client >= 0))
		AT_MEASURED("the secret order of the first round: %s", at_gate_order(&r, order, sizeof(order)));
	AT_HINT("every client that is connected must be watched at once, however many: one epoll set holds the listener and every client, and the loop handles whichever is ready; never wait on one client (no blocking read, no loop until its line is complete), and keep no fixed limit on the clients served at a time");
	CHECK_RUNNING(fate);
	AT_CHECK(passed == N_GATE_COUNTS, "with %d clients connected: %s%s", r.clients, r.problem,
		 passed ? " (the smaller counts passed: does the server serve only so many clients at a time?)" : "");
	AT_END();
}

/* ---- a crowd: more connections than any fixed table ------------------- */

/* A small private generator for the crowd's secret order. */
static void secret_order(int *v, int n)
{
	unsigned x = (unsigned)(at_now_ns() ^ ((int64_t)getpid() << 16)) | 1u;

	for (int i = 0; i < n; i++)
		v[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j, t;

		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		j = (int)(x % (unsigned)(i + 1));
		t = v[i];
		v[i] = v[j];
		v[j] = t;
	}
}

/* Room for n more descriptors in this test process, if the hard limit
 * allows: false when it does not. */
static bool room_for_fds(int n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)(at_count_fds() + n + 64);

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return false;
	if (rl.rlim_cur >= want)
		return true;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want)
		return false;
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl) == 0;
}

/* Connections waiting in the server's listener, not yet accept()ed: the
 * kernel shows a listening socket's backlog in /proc/net/tcp (rx_queue);
 * -1 when it cannot be read. */
static int accept_queue(const struct at_server *s)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	unsigned port = ntohs(s->addr.sin_port), lport, st, txq, rxq;
	char line[512];
	int q = -1;

	if (!f)
		return -1;
	while (q < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, " %*u: %*x:%x %*x:%*x %x %x:%x", &lport, &st, &txq, &rxq) == 4 &&
		    lport == port && st == 0x0A)   /* 0A: TCP_LISTEN */
			q = (int)rxq;
	fclose(f);
	return q;
}

/*
 * Wait while the server takes the crowd's connections from its backlog,
 * for as long as it keeps taking them: a server that accepts slowly (a
 * process per client) gets there, one that stopped accepting (a fixed
 * table, full) is measured as it is after STEP_MS without progress.
 */
static void wait_accepted(struct at_server *s)
{
	int64_t end = at_now_ns() + 20 * AT_NS_PER_S, last = at_now_ns();
	int q = accept_queue(s), low = q;

	while (q > 0 && at_server_alive(s) && at_now_ns() < end &&
	       at_now_ns() - last < (int64_t)STEP_MS * AT_NS_PER_MS) {
		at_sleep_ms(10);
		if ((q = accept_queue(s)) < low) {
			low = q;
			last = at_now_ns();
		}
	}
}

struct crowd {
	int fd[N_CROWD];
	int order[N_CROWD];
	int connected, primed, answered;
	int stuck, turn;          /* the client that got no answer, at which turn */
	char problem[200];
};

#define CROWD_FIRST  "crowd client %03d, first half; "
#define CROWD_SECOND "and the second half\n"

/*
 * Every client connects and sends the first half of a line; only then,
 * in a secret order, each sends the rest and must get the whole line
 * mirrored. Nobody leaves before the end, so a server that holds only so
 * many connections (accepting the rest later, or never) leaves a client
 * unanswered: all N_CROWD conversations were open in the server at once.
 */
static void crowd_run(struct at_server *s, struct crowd *c)
{
	char line[128], want[128], got[128];
	size_t first, len, n;
	int witness;
	bool eof;

	c->stuck = c->turn = -1;
	for (c->connected = 0; c->connected < N_CROWD; c->connected++)
		if ((c->fd[c->connected] = at_client_connect(s, 0)) < 0) {
			snprintf(c->problem, sizeof(c->problem), "client %d could not connect: %s",
				 c->connected, strerror(errno));
			return;
		}
	for (c->primed = 0; c->primed < N_CROWD; c->primed++) {
		first = (size_t)snprintf(line, sizeof(line), CROWD_FIRST, c->primed);
		if (at_client_send(s, c->fd[c->primed], line, first, STEP_MS) != first) {
			snprintf(c->problem, sizeof(c->problem),
				 "client %d could not send the first half of its line, with %d others connected: the server hung up on it or stopped reading (it must hold every connection at once)",
				 c->primed, N_CROWD - 1);
			return;
		}
	}
	wait_accepted(s);
	/* A witness answered after every first half was sent: the server
	 * read those halves first (they were ready first), so each line
	 * really comes in two reads, on every run. */
	if ((witness = open_answered(s, "and the witness?\n")) >= 0)
		close(witness);
	secret_order(c->order, N_CROWD);
	for (c->answered = 0; c->answered < N_CROWD; c->answered++) {
		int k = c->order[c->answered];

		first = (size_t)snprintf(line, sizeof(line), CROWD_FIRST, k);
		len = first + (size_t)snprintf(line + first, sizeof(line) - first, CROWD_SECOND);
		mirror(line, len, want);
		if (at_client_send(s, c->fd[k], line + first, len - first, STEP_MS) == len - first) {
			n = at_client_recv(s, c->fd[k], got, len, STEP_MS, &eof);
			if (n == len && memcmp(got, want, len) == 0)
				continue;
			if (n == 0 && !eof)
				snprintf(c->problem, sizeof(c->problem),
					 "got no answer within %d ms: the server was not watching its connection", STEP_MS);
			else
				snprintf(c->problem, sizeof(c->problem), "%s (%zu of %zu bytes came)",
					 eof ? "was hung up on" : "got a wrong or short answer", n, len);
		} else {
			snprintf(c->problem, sizeof(c->problem), "could not send the rest of its line: the server had closed its connection");
		}
		c->stuck = k;
		c->turn = c->answered;
		return;
	}
}

Test(event_loop, crowd, .description = "300 clients connected at once, each with half a line sent; then, in a secret order, each sends the rest and must get its whole line back: all 300 conversations were open in the server at once")
{
	struct at_server s;
	static struct crowd c;
	char fate[200];

	memset(&c, 0, sizeof(c));
	if (!room_for_fds(N_CROWD))
		AT_SKIP("this test process may not open %d more descriptors (RLIMIT_NOFILE)", N_CROWD);
	start(&s, 0);
	crowd_run(&s, &c);
	fate_of(&s, fate, sizeof(fate));
	for (int i = 0; i < c.connected; i++)
		close(c.fd[i]);
	at_server_stop(&s, STOP_MS);

	AT_MEASURED("crowd: %d of %d clients connected with half a line each, then %d of %d answered in a secret order",
		    c.connected, N_CROWD, c.answered, N_CROWD);
	AT_HINT("there is no limit on how many clients are in progress: accept every connection as it comes (until EAGAIN), keep each one's state in a struct of its own, allocated or in a table as large as the descriptors allowed, and watch them all in one epoll set; epoll_wait() may return fewer events than are ready, the others come at the next call");
	CHECK_RUNNING(fate);
	AT_CHECK(c.connected == N_CROWD && c.primed == N_CROWD, "%s", c.problem);
	AT_CHECK(c.answered == N_CROWD,
		 "client %d (turn %d of %d) %s; %d were answered before it. All %d were connected with a line half sent, so the server had to hold them all at once: does it serve only so many connections at a time?",
		 c.stuck, c.turn + 1, N_CROWD, c.problem, c.answered, N_CROWD);
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

Test(event_loop, one_thread, .description = "while 16 clients are in progress at once, the server is one thread and has no child processes")
{
	struct at_server s;
	static struct gate_script script;
	struct census census = { .s = &s };
	struct at_gate g;
	struct at_gate_result r;
	long created = 0, forks = 0;
	char fate[200];

	start(&s, 0);
	g = gate_for(&s, &script, N_CENSUS);
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
	AT_CHECK(r.completed == N_CENSUS, "only %d of %d clients were served, so one thread was not shown to serve them all at once: %s",
		 r.completed, N_CENSUS, r.problem);
	AT_CHECK(census.max_threads == 1 && created == 0,
		 "the server had %d threads while the clients were in progress (%ld pthread_create() calls): the event loop must do it all on the calling thread",
		 census.max_threads, created);
	AT_CHECK(census.max_children == 0 && forks == 0,
		 "the server had %d child process(es) (%ld fork() calls): the event loop must do it all in its own process",
		 census.max_children, forks);
	AT_END();
}

/* ---- asleep when idle ------------------------------------------------ */

/* Is every thread of the server asleep (state S, waiting) right now? */
static bool server_asleep(const struct at_server *s)
{
	char path[64], state;
	DIR *d;
	struct dirent *e;
	bool all = true;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)s->pid);
	if (!(d = opendir(path)))
		return false;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (!at_proc_stat(s->pid, (pid_t)atoi(e->d_name), &state, NULL))
			continue; /* it just ended */
		if (state != 'S')
			all = false;
		n++;
	}
	closedir(d);
	return all && n > 0;
}

/*
 * Wait until the server has not woken up for QUIET_MS and every thread of
 * it is asleep, SETTLE_MS at most. Whatever came before (the last replies,
 * their acknowledgements, an edge-triggered EPOLLOUT) is then over when
 * the quiet window opens. A server that polls never settles: after
 * SETTLE_MS it is measured as it is.
 */
static void settle(struct at_server *s)
{
	int64_t deadline = at_now_ns() + (int64_t)SETTLE_MS * AT_NS_PER_MS;
	int64_t quiet_since = at_now_ns();
	long w = at_wakeups_of_process(s->pid), v;

	while (w >= 0 && at_now_ns() < deadline) {
		at_sleep_ms(10);
		if ((v = at_wakeups_of_process(s->pid)) != w) {
			w = v;
			quiet_since = at_now_ns();
		} else if (at_now_ns() - quiet_since >= (int64_t)QUIET_MS * AT_NS_PER_MS && server_asleep(s)) {
			return;
		}
	}
}

/* The client that stopped in the middle of "half a line\n" sends the rest:
 * true when the whole line comes back. */
static bool finish_half_line(struct at_server *s, int fd)
{
	static const char whole[] = "half a line\n";
	char want[sizeof(whole)], got[sizeof(whole)];
	bool eof;

	mirror(whole, sizeof(whole) - 1, want);
	return at_client_send(s, fd, "ne\n", 3, STEP_MS) == 3 &&
	       at_client_recv(s, fd, got, sizeof(whole) - 1, STEP_MS, &eof) == sizeof(whole) - 1 &&
	       memcmp(got, want, sizeof(whole) - 1) == 0;
}

/*
 * Idle means asleep: not one wake-up while no client does anything. The
 * kernel counts every time one of the server's threads gave up the CPU to
 * wait (voluntary context switches): a loop asleep in epoll_wait() until a
 * client acts adds none; one that wakes on a clock (a timeout, however
 * long up to the window, a receive timeout, a timer) adds one each time,
 * though it burns almost no CPU. A loop that never sleeps at all (a spin)
 * adds none either, but burns the CPU: both are measured.
 */
Test(event_loop, idle_cpu, .description = "with 10 clients connected and quiet (8 answered, 1 in the middle of a line, 1 owed replies it does not read) the server does not wake up once in half a second and uses almost no CPU; then it answers them")
{
	struct at_server s;
	const size_t len = (size_t)BIG_LINES * BIG_WIDTH;
	char *req = make_lines(BIG_LINES, BIG_WIDTH, "greedy");
	int fd[N_IDLE + 1], greedy, answered = 0, awake = 0;
	int64_t cpu0, cpu1, t0, t1;
	long w0, w1;
	char fate[200], line[64], got[256];

	start(&s, SMALL_BUF);
	for (int i = 0; i < N_IDLE; i++) {
		snprintf(line, sizeof(line), "idle client %d\n", i);
		fd[i] = answered == i ? open_answered(&s, line) : -1;
		if (fd[i] >= 0)
			answered++;
	}
	/* One more that stops in the middle of a line. */
	fd[N_IDLE] = at_client_connect(&s, 0);
	if (fd[N_IDLE] >= 0)
		at_client_send(&s, fd[N_IDLE], "half a li", 9, STEP_MS);
	/* And one that sends until the server stops taking its requests, and
	 * reads no reply: a server that stopped reading it must not be woken
	 * by the requests still waiting in its socket. */
	if ((greedy = at_client_connect(&s, SMALL_BUF)) >= 0)
		send_until_stalled(greedy, req, len, 50);
	settle(&s);
	t0 = at_now_ns();
	w0 = at_wakeups_of_process(s.pid);
	cpu0 = at_server_cpu_ns(&s);
	at_sleep_ms(IDLE_MS);
	w1 = at_wakeups_of_process(s.pid);
	cpu1 = at_server_cpu_ns(&s);
	t1 = at_now_ns();
	/* Asleep, not stuck: the next event wakes it. */
	for (int i = 0; i < N_IDLE; i++) {
		snprintf(line, sizeof(line), "wake up, client %d\n", i);
		if (fd[i] >= 0 && exchange(&s, fd[i], line, got, sizeof(got)))
			awake++;
	}
	if (fd[N_IDLE] >= 0 && finish_half_line(&s, fd[N_IDLE]))
		awake++;
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	for (int i = 0; i <= N_IDLE; i++)
		if (fd[i] >= 0)
			close(fd[i]);
	if (greedy >= 0)
		close(greedy);
	free(req);

	AT_MEASURED("idle: %ld wake-up%s and %.1f ms of CPU in %.0f ms with 10 clients connected and quiet (0 wake-ups and at most %d ms allowed); then %d of %d answered",
		    w1 - w0, w1 - w0 == 1 ? "" : "s", (double)(cpu1 - cpu0) / AT_NS_PER_MS,
		    (double)(t1 - t0) / AT_NS_PER_MS, IDLE_MAX_MS, awake, N_IDLE + 1);
	AT_HINT("the loop must sleep until a client does something, and only then: epoll_wait() with timeout -1 and nothing that stays ready. A timeout (any but -1), a receive timeout or a timer wakes it on a clock; an interest that stays true with level triggering (EPOLLOUT with nothing owed, EPOLLIN on a client it has stopped reading) wakes it again at once, for ever");
	CHECK_RUNNING(fate);
	AT_CHECK(answered == N_IDLE, "only %d of %d clients were answered, so the idle server could not be measured", answered, N_IDLE);
	AT_CHECK(w0 >= 0 && w1 >= 0 && cpu0 >= 0 && cpu1 >= 0, "the server's wake-ups and CPU clock could not be read");
	AT_CHECK(cpu1 - cpu0 <= (int64_t)IDLE_MAX_MS * AT_NS_PER_MS,
		 "the server used %.1f ms of CPU in %.0f ms while nothing happened: its loop runs instead of sleeping until an event",
		 (double)(cpu1 - cpu0) / AT_NS_PER_MS, (double)(t1 - t0) / AT_NS_PER_MS);
	AT_CHECK(w1 == w0,
		 "the server woke up %ld time%s in %.0f ms while no client did anything (0 allowed): something wakes its loop on a clock or over and over, not only when a client acts",
		 w1 - w0, w1 - w0 == 1 ? "" : "s", (double)(t1 - t0) / AT_NS_PER_MS);
	AT_CHECK(awake == N_IDLE + 1,
		 "after the quiet half second only %d of %d clients were answered: the server must sleep until an event, and wake for it",
		 awake, N_IDLE + 1);
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

/* ---- the longest line, and one byte more ------------------------------ */

/* n bytes of a line (no '\n'), all letters, none the same as its mirror. */
static void fill_line(char *buf, size_t n, int seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)('a' + (i * 7 + (size_t)seed) % 26);
}

/*
 * Wait up to ms for the server to hang up on fd; *bytes counts what came
 * before the hang-up. 1 when it hung up (end of file or reset), 0 not.
 */
static int hangup_after(struct at_server *s, int fd, int ms, size_t *bytes)
{
	int64_t deadline = at_now_ns() + (int64_t)ms * AT_NS_PER_MS;
	char sink[4096];

	*bytes = 0;
	while (at_now_ns() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n > 0) {
			*bytes += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return 1;
		if (poll(&p, 1, 20) == 0 && !at_server_alive(s))
			return 0;
	}
	return 0;
}

struct limit_run {
	int max_ok;          /* lines of exactly SERVER_LINE_MAX answered, of 2 */
	int short_ok;        /* the short line before them answered right */
	int over_hung;       /* SERVER_LINE_MAX + 1 bytes (no '\n' yet): hung up */
	int over_nl_hung;    /* SERVER_LINE_MAX + 1 bytes and '\n': hung up */
	size_t over_bytes, over_nl_bytes;  /* bytes sent back to those two */
};

/* Send a piece of a line, then have the witness answered: the server read
 * the piece before the witness's line (it came first), not with the next. */
static bool piece_then_witness(struct at_server *s, int fd, const char *p, size_t n, int witness)
{
	char got[64];

	return at_client_send(s, fd, p, n, STEP_MS) == n &&
	       exchange(s, witness, "witness\n", got, sizeof(got));
}

/* Client A: a short line, then a line of exactly SERVER_LINE_MAX in one
 * send, then another in three pieces: all must come back whole. */
static void longest_lines(struct at_server *s, int fd, int witness, struct limit_run *r)
{
	char req[SERVER_LINE_MAX + 8], want[sizeof(req)], got[sizeof(req)];
	size_t len, n;
	bool eof;

	if (!(r->short_ok = exchange(s, fd, "ab\n", got, sizeof(got))))
		return;
	fill_line(req, SERVER_LINE_MAX, 1);
	req[SERVER_LINE_MAX] = '\n';
	len = SERVER_LINE_MAX + 1;
	mirror(req, len, want);
	if (at_client_send(s, fd, req, len, STEP_MS) != len)
		return;
	n = at_client_recv(s, fd, got, len, STEP_MS, &eof);
	if (n != len || memcmp(got, want, len) != 0)
		return;
	r->max_ok++;
	fill_line(req, SERVER_LINE_MAX, 2);
	req[SERVER_LINE_MAX] = '\n';
	len = SERVER_LINE_MAX + 1;
	mirror(req, len, want);
	if (!piece_then_witness(s, fd, req, 600, witness) ||
	    !piece_then_witness(s, fd, req + 600, SERVER_LINE_MAX - 600, witness) ||
	    at_client_send(s, fd, "\n", 1, STEP_MS) != 1)
		return;
	n = at_client_recv(s, fd, got, len, STEP_MS, &eof);
	if (n == len && memcmp(got, want, len) == 0)
		r->max_ok++;
}

Test(event_loop, line_limit, .description = "lines of exactly SERVER_LINE_MAX bytes (in one piece and in three) are answered whole; SERVER_LINE_MAX + 1 bytes without a newline, or with one, get the connection closed and no reply")
{
	struct at_server s;
	struct limit_run r = { 0 };
	char over[SERVER_LINE_MAX + 2], fate[200];
	int a, b, c, w;

	start(&s, 0);
	a = at_client_connect(&s, 0);
	b = at_client_connect(&s, 0);
	c = at_client_connect(&s, 0);
	w = at_client_connect(&s, 0);
	cr_assert(a >= 0 && b >= 0 && c >= 0 && w >= 0, "harness: cannot connect to the server");
	longest_lines(&s, a, w, &r);
	/* One byte over, and no newline yet: the line is already too long. */
	fill_line(over, SERVER_LINE_MAX + 1, 3);
	if (at_client_send(&s, b, over, SERVER_LINE_MAX + 1, STEP_MS) == SERVER_LINE_MAX + 1)
		r.over_hung = hangup_after(&s, b, STEP_MS, &r.over_bytes);
	/* One byte over, newline included, in one send. */
	over[SERVER_LINE_MAX + 1] = '\n';
	if (at_client_send(&s, c, over, SERVER_LINE_MAX + 2, STEP_MS) == SERVER_LINE_MAX + 2)
		r.over_nl_hung = hangup_after(&s, c, STEP_MS, &r.over_nl_bytes);
	fate_of(&s, fate, sizeof(fate));
	at_server_stop(&s, STOP_MS);
	close(a);
	close(b);
	close(c);
	close(w);

	AT_MEASURED("line limit: %d of 2 lines of exactly %d bytes answered whole; %d bytes without a newline: %s after %zu reply bytes; %d bytes and a newline: %s after %zu reply bytes",
		    r.max_ok, SERVER_LINE_MAX, SERVER_LINE_MAX + 1, r.over_hung ? "hung up on" : "NOT hung up on",
		    r.over_bytes, SERVER_LINE_MAX + 1, r.over_nl_hung ? "hung up on" : "NOT hung up on",
		    r.over_nl_bytes);
	AT_HINT("SERVER_LINE_MAX counts the bytes of a line without its '\\n': a line of exactly SERVER_LINE_MAX bytes is fine, and the connection is closed as soon as a line has SERVER_LINE_MAX + 1 bytes and no '\\n' yet (check the length before you store a byte, and keep room for SERVER_LINE_MAX)");
	CHECK_RUNNING(fate);
	AT_CHECK(r.short_ok, "a short line (\"ab\\n\") got no right answer, so the longest lines could not be tried");
	AT_CHECK(r.max_ok == 2, "%s line of exactly SERVER_LINE_MAX = %d bytes (then '\\n'%s) was not answered whole: it is the longest line allowed, not one too long",
		 r.max_ok == 0 ? "a" : "a second", SERVER_LINE_MAX, r.max_ok == 0 ? ", in one send" : ", in three pieces");
	AT_CHECK(r.over_hung && r.over_bytes == 0,
		 "%d bytes without a newline %s: a line longer than SERVER_LINE_MAX = %d must close the connection, with no reply, as soon as its byte %d comes",
		 SERVER_LINE_MAX + 1, r.over_hung ? "got reply bytes before the hang-up" : "did not get the connection closed within 1000 ms",
		 SERVER_LINE_MAX, SERVER_LINE_MAX + 1);
	AT_CHECK(r.over_nl_hung && r.over_nl_bytes == 0,
		 "a line of %d bytes and its newline %s: it is one byte over SERVER_LINE_MAX = %d, so the connection must be closed with no reply",
		 SERVER_LINE_MAX + 1, r.over_nl_hung ? "got reply bytes before the hang-up" : "was answered, or the connection stayed open",
		 SERVER_LINE_MAX);
	AT_END();
}

/* ---- partial writes -------------------------------------------------- */

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
	AT_HINT("send() may take only part of a reply, or nothing (EAGAIN): keep the rest in the connection's output buffer and send it when the socket is writable again (EPOLLOUT: watched while something is owed, or kept with EPOLLET and written until EAGAIN at each edge), serving the others meanwhile; a client you stopped reading while it owed too much must be read again once it has taken its replies");
	CHECK_RUNNING(fate);
	AT_CHECK(other_ok, "another client got no answer (\"%s\") while the slow reader was owed replies: the server waited for one socket to become writable",
		 other);
	AT_CHECK(n == len, "the slow reader got %zu of %zu reply bytes right, then %s: every reply owed must arrive, in order, however little each send() takes",
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

/* Memory shared with the server's process, for its view of the caller. */
static struct caller_view *shared_view(void)
{
	void *p = mmap(NULL, sizeof(struct caller_view), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert(p != MAP_FAILED, "harness: mmap: %s", strerror(errno));
	memset(p, 0, sizeof(struct caller_view));
	return p;
}

Test(event_loop, stop, .description = "when stop_fd becomes readable, serve() closes every connection and its epoll descriptor, leaves the caller's listen_fd and stop_fd open, and returns 0")
{
	struct at_server s;
	struct caller_view *view = shared_view();
	char fate[200];
	int fd[3];
	int64_t t0, t1;
	bool returned;
	struct at_server_report rep;

	start_with(&s, 0, run_serve, view);
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
		AT_MEASURED("stop: serve() returned %d %.1f ms after stop_fd became readable; descriptors: %d before serving, %d after; the caller's listen_fd %s, stop_fd %s",
			    rep.rc, (double)(t1 - t0) / AT_NS_PER_MS, rep.fds_before, rep.fds_after,
			    view->listen_kept ? "kept" : "CLOSED", view->stop_kept ? "kept" : "CLOSED");
	else
		AT_MEASURED("stop: serve() had not returned 1000 ms after stop_fd became readable");
	AT_HINT("put stop_fd in the epoll set with the sockets; when it is readable, leave the loop, close every connection and the epoll descriptor (the ones serve() opened, and only those), return 0");
	CHECK_RUNNING(fate);
	AT_CHECK(fd[0] >= 0 && fd[1] >= 0, "the clients were not answered before the stop");
	AT_CHECK(returned, "serve() did not return within 1000 ms of stop_fd becoming readable");
	AT_CHECK(rep.rc == 0, "serve() returned %d, not 0", rep.rc);
	AT_CHECK(view->checked && view->listen_kept && view->stop_kept,
		 "serve() closed %s: those belong to the caller, who may serve again; close only what serve() opened",
		 !view->listen_kept && !view->stop_kept ? "listen_fd and stop_fd" : !view->listen_kept ? "listen_fd" : "stop_fd");
	AT_CHECK(rep.fds_after == rep.fds_before,
		 "serve() returned holding %d descriptor(s) more than when it began: close every connection and the epoll descriptor",
		 rep.fds_after - rep.fds_before);
	munmap(view, sizeof(*view));
	AT_END();
}

/* ---- descriptors it cannot watch -------------------------------------- */

/* Not open in the server's process: it closed every descriptor it
 * inherited but its two, and opens few. */
#define CLOSED_FD 4000

struct bad_call {
	const char *what;   /* as the call is shown */
	bool bad_listen, bad_stop;
};

static int run_serve_bad(int listen_fd, int stop_fd, void *arg)
{
	const struct bad_call *b = arg;

	return serve(b->bad_listen ? -1 : listen_fd, b->bad_stop ? CLOSED_FD : stop_fd);
}

struct bad_result {
	bool returned;
	int rc, err, leaked;
};

/* Call serve() with bad arguments in a server process; never signal the
 * stop: it must return on its own, at once. */
static void try_bad_call(const struct bad_call *b, struct bad_result *r, char *fate, size_t len)
{
	struct at_server s;
	int64_t deadline;

	memset(r, 0, sizeof(*r));
	start_with(&s, 0, run_serve_bad, (void *)b);
	deadline = at_now_ns() + (int64_t)STEP_MS * AT_NS_PER_MS;
	while (atomic_load(&s.report->state) != AT_SERVER_RETURNED && at_server_alive(&s) &&
	       at_now_ns() < deadline)
		at_sleep_ms(2);
	r->returned = atomic_load(&s.report->state) == AT_SERVER_RETURNED;
	if (!r->returned)
		fate_of(&s, fate, len);
	r->rc = s.report->rc;
	r->err = s.report->err;
	r->leaked = s.report->fds_after - s.report->fds_before;
	at_server_stop(&s, STOP_MS);
}

/* "returned -1 (errno EBADF), 0 descriptors more", or "had not returned". */
static const char *outcome(const struct bad_result *r, char *buf, size_t len)
{
	if (!r->returned)
		snprintf(buf, len, "had not returned after %d ms", STEP_MS);
	else
		snprintf(buf, len, "returned %d (errno %s), %d descriptor(s) more", r->rc,
			 r->err ? strerrorname_np(r->err) : "0", r->leaked);
	return buf;
}

Test(event_loop, bad_args, .description = "serve() given a descriptor that is not open (listen_fd -1, or a closed stop_fd) returns -1 at once with errno EBADF (or EINVAL), holding no descriptor more than before")
{
	static const struct bad_call calls[] = {
		{ "serve(-1, stop_fd)", true, false },
		{ "serve(listen_fd, a closed descriptor)", false, true },
	};
	struct bad_result r[2];
	char fate[2][200] = { "", "" }, text[2][120];
	int ok = 0;

	for (int i = 0; i < 2; i++)
		try_bad_call(&calls[i], &r[i], fate[i], sizeof(fate[i]));

	AT_MEASURED("bad descriptors: %s %s; %s %s", calls[0].what, outcome(&r[0], text[0], sizeof(text[0])),
		    calls[1].what, outcome(&r[1], text[1], sizeof(text[1])));
	AT_HINT("check what every set-up call returns (epoll_create1, each epoll_ctl): when one fails, close what serve() opened so far and return -1 with the errno it gave (EBADF for a descriptor that is not open); never go on to serve what could not be watched");
	for (int i = 0; i < 2; i++) {
		AT_CHECK(r[i].returned, "%s did not return within %d ms: %s; a descriptor that cannot be watched must make serve() return -1 at once",
			 calls[i].what, STEP_MS, fate[i][0] ? fate[i] : "it went on as if it could serve");
		AT_CHECK(r[i].rc == -1, "%s returned %d: it cannot serve, so it must return -1", calls[i].what, r[i].rc);
		AT_CHECK(r[i].err == EBADF || r[i].err == EINVAL, "%s returned -1 with errno %s (%s): a descriptor that is not open is EBADF (or EINVAL)%s",
			 calls[i].what, r[i].err ? strerrorname_np(r[i].err) : "0", strerror(r[i].err),
			 r[i].err == ENOSYS ? "; ENOSYS is the skeleton's \"not written yet\"" : "");
		AT_CHECK(r[i].leaked == 0, "%s returned holding %d descriptor(s) more than before: on the way out, close what serve() opened (the epoll descriptor)",
			 calls[i].what, r[i].leaked);
		ok++;
	}
	AT_CHECK(ok == 2, "harness: not every call was checked");
	AT_END();
}

/* ---- memory: AddressSanitizer ----------------------------------------- */

/* One frame of a sanitizer's stack, "#1 0x55d1 in on_event /a/b/server.c:207",
 * as "#1 on_event server.c:207"; false for the sanitizer's own frames. */
static bool short_frame(const char *line, int n, char *out, size_t len)
{
	const char *in = memmem(line, (size_t)n, " in ", 4), *end = line + n, *file, *p;
	int num;

	if (!in || memmem(line, (size_t)n, "libsanitizer", 12) || memmem(line, (size_t)n, "__interceptor", 13) ||
	    memmem(line, (size_t)n, "libc.so", 7) || memmem(line, (size_t)n, "libc_start", 10) ||
	    sscanf(line, " #%d", &num) != 1)
		return false;
	in += 4;
	/* the function, then its file: keep the file's last component */
	for (p = in; p < end && *p != ' '; p++)
		;
	file = p;
	for (const char *q = p; q < end; q++)
		if (*q == '/')
			file = q + 1;
	if (file == p && p < end)
		file = p + 1;
	snprintf(out, len, "    #%d %.*s %.*s", num, (int)(p - in), in, (int)(end - file), file);
	return true;
}

/* A report's line without its addresses: "ERROR: AddressSanitizer:
 * heap-use-after-free", "READ of size 1", "located 1072 bytes inside of
 * 1096-byte region", "freed by thread T0 here:". */
static void plain_line(const char *line, int n, char *out, size_t len)
{
	const char *end = line + n, *p;

	if ((p = memmem(line, (size_t)n, "ERROR: ", 7)) != NULL)
		line = p;
	if ((p = memmem(line, (size_t)(end - line), " is located ", 12)) != NULL)
		line = p + 4;
	if ((p = memmem(line, (size_t)(end - line), " on address ", 12)) != NULL ||
	    (p = memmem(line, (size_t)(end - line), " at 0x", 6)) != NULL ||
	    (p = memmem(line, (size_t)(end - line), " [0x", 4)) != NULL)
		end = p;
	snprintf(out, len, "%.*s", (int)(end - line), line);
}

/*
 * The part of an AddressSanitizer or UBSan report a student needs: the
 * error, the access, where it happened, where the memory was freed and
 * allocated (three frames each, the sanitizer's own left out), the
 * SUMMARY. Writes into buf; returns buf ("" when there is no report).
 */
static char *sanitizer_excerpt(const char *out, char *buf, size_t len)
{
	const char *p = strstr(out, "ERROR: AddressSanitizer");
	size_t off = 0;
	int frames = 0;

	if (!p)
		p = strstr(out, "runtime error:");
	buf[0] = '\0';
	if (!p)
		return buf;
	while (p > out && p[-1] != '\n')
		p--;
	while (*p && off + 1 < len) {
		const char *nl = strchr(p, '\n');
		int n = (int)(nl ? (size_t)(nl - p) : strlen(p));
		char line[300];
		bool emit;

		if (strncmp(p, "    #", 5) == 0) {
			emit = frames < 3 && short_frame(p, n, line, sizeof(line));
			frames += emit;
		} else {
			/* the error, the access, "freed by ... here:", SUMMARY */
			emit = n > 0 && strncmp(p, "  ", 2) != 0 && strncmp(p, "Shadow", 6) != 0 &&
			       (strncmp(p, "==", 2) != 0 || memmem(p, (size_t)n, "ERROR: ", 7));
			if (emit)
				plain_line(p, n, line, sizeof(line));
			frames = 0;
		}
		if (emit)
			off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? "\n" : "", line);
		if (!nl || strncmp(p, "SUMMARY:", 8) == 0 || strncmp(p, "Shadow bytes", 12) == 0)
			break;
		p = nl + 1;
	}
	return buf;
}

Test(event_loop, memory, .description = "under AddressSanitizer, clients through every path that touches a connection's memory (lines in pieces, at the limit and over it, big replies to a slow reader, half-closes, resets, 100 connections coming and going, a stop in the same batch as 16 clients' lines): no freed or foreign memory touched")
{
	static struct at_driver_run r;
	static char excerpt[3000], line[512];
	const char *why = at_run_driver("asan_server", "", 25000, &r);

	if (why)
		AT_SKIP("%s", why);
	/* Its shadow memory could not be mapped (an address-space limit, or
	 * an address space laid out against it): a fact about the machine,
	 * not about the server. Only before the driver started: words the
	 * code under test prints later buy no skip. */
	if (!strstr(r.out, "asan_server: started") &&
	    (strstr(r.out, "ASan cannot proceed correctly") || strstr(r.out, "ReserveShadowMemoryRange failed")))
		AT_SKIP("AddressSanitizer cannot run on this machine (%s); without an address-space limit, `setarch -R make check LESSON=5` may help",
			at_line_with(r.out, strstr(r.out, "ReserveShadowMemoryRange") ? "ReserveShadowMemoryRange" : "Sanitizer",
				     line, sizeof(line)));
	sanitizer_excerpt(r.out, excerpt, sizeof(excerpt));
	snprintf(line, sizeof(line), "%.*s", (int)strcspn(excerpt, "\n"), excerpt);
	if (r.timed_out || r.signal)
		AT_MEASURED("memory: the run under AddressSanitizer %s",
			    r.timed_out ? "was still going after 25 s" : "was ended by a signal");
	else if (r.exit_status == 66)
		AT_MEASURED("memory: %s", line[0] ? line : "a sanitizer report");
	else
		AT_MEASURED("memory: every kind of client under AddressSanitizer and UBSan, exit %d: %s", r.exit_status,
			    r.exit_status == 0 ? "no report" : r.exit_status == 3 ? "the server could not be exercised" : "see below");
	AT_HINT("a connection's memory is yours from accept to close: after you free a struct conn, nothing may reach it, not the rest of the current batch of events (close only the connection whose event you handle, and at the stop leave the loop first, then close them all), not the list; buffers need room for every byte written (SERVER_LINE_MAX bytes of line, the whole owed output)");
	AT_CHECK(!r.timed_out, "the run under AddressSanitizer did not finish within 25 s");
	AT_CHECK(r.signal == 0, "the run under AddressSanitizer was killed by signal %d (%s)", r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != 66, "AddressSanitizer found a memory error in the server:\n%s", excerpt);
	AT_CHECK(r.exit_status != 3, "the server answered no first line, so nothing could be checked under AddressSanitizer:\n%.400s",
		 at_line_with(r.out, "asan_server: serve() returned", line, sizeof(line))[0] ? line : r.out);
	AT_CHECK(r.exit_status == 0, "the run under AddressSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
