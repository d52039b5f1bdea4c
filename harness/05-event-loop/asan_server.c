/*
 * asan_server.c - lesson 05 under AddressSanitizer and UBSan: does serve()
 * touch memory it does not own (a connection freed and used again, a
 * buffer written past its end)?
 *
 * Built by harness/mk/lesson.mk with the code under test and
 * -fsanitize=address,undefined; run by the `memory` test. serve() runs in
 * a child process; this process plays its clients through every path that
 * touches a connection's memory: lines in pieces, lines of exactly
 * SERVER_LINE_MAX bytes and over it, replies far bigger than the socket
 * to a reader that is slow, clients that shut down, vanish or come and go,
 * and last a stop that arrives in the same batch of events as sixteen
 * clients' lines (the server is stopped with SIGSTOP while the stop and
 * the lines arrive, so one epoll_wait() returns them all, the stop first):
 * a loop that frees its connections at the stop and then handles the rest
 * of the batch uses them after the free, every time.
 *
 * Nothing here judges the replies (the other tests do): every client call
 * has a deadline and its failure only ends that part of the run.
 *
 * Exit status: 0 the run went through; 66 a sanitizer report (printed by
 * the child on stderr, which this process shares); 3 the server could not
 * be exercised at all (it answered no first line; the reason is printed).
 */
#include "server.h"
#include "at_time.h"
#include "at_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPORT_EXIT 66
#define SMALL_BUF   4096
#define OP_MS       1000    /* one client operation */
#define BUDGET_MS   8000    /* every phase but the stop, together */
#define N_BATCH     16      /* clients whose lines share the stop's batch */
#define N_CHURN     100

/* A report ends the run with REPORT_EXIT, whichever sanitizer made it. */
const char *__asan_default_options(void);
const char *__ubsan_default_options(void);
const char *__asan_default_options(void)
{
	return "exitcode=66:halt_on_error=1:detect_leaks=0:abort_on_error=0";
}
const char *__ubsan_default_options(void)
{
	return "exitcode=66:halt_on_error=1:print_stacktrace=1";
}

static struct sockaddr_in addr;
static pid_t server;
static int64_t budget_end;

/* Has the server ended (without reaping it)? */
static bool server_gone(void)
{
	siginfo_t info;

	memset(&info, 0, sizeof(info));
	return waitid(P_PID, (id_t)server, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0;
}

/* Time to skip what is left: out of time, or nobody to talk to. */
static bool over_budget(void)
{
	return at_now_ns() > budget_end || server_gone();
}

/* ---- the server ------------------------------------------------------ */

static int listener(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), small = SMALL_BUF;
	socklen_t len = sizeof(addr);

	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Accepted sockets inherit a small send buffer: short writes. */
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) != 0 ||
	    bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
		perror("asan_server: cannot listen on 127.0.0.1");
		exit(2);
	}
	return fd;
}

/* The child: serve, and nothing else. A vanished client's SIGPIPE is not
 * what this run is about (the disconnects test is). */
static _Noreturn void run_server(int listen_fd, int stop_fd)
{
	int rc;

	signal(SIGPIPE, SIG_IGN);
	errno = 0;
	if ((rc = serve(listen_fd, stop_fd)) != 0)
		fprintf(stderr, "asan_server: serve() returned %d (%s)\n", rc, strerror(errno));
	_exit(rc == 0 ? 0 : 1);
}

/* The server's state letter from /proc (R, S, T, Z...), '?' if gone. */
static char server_state(void)
{
	char state;

	return at_proc_stat(server, 0, &state, NULL) ? state : '?';
}

/* Wait until the server has been asleep for a moment (at most ms). */
static void wait_asleep(int ms)
{
	int64_t deadline = at_now_ns() + (int64_t)ms * AT_NS_PER_MS;
	int asleep = 0;

	while (asleep < 5 && at_now_ns() < deadline) {
		asleep = server_state() == 'S' ? asleep + 1 : 0;
		at_sleep_ms(4);
	}
}

/* ---- clients ------------------------------------------------------------ */

static int client(int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left = (deadline - at_now_ns()) / AT_NS_PER_MS;

	return left > 0 && poll(&p, 1, (int)left) > 0;
}

/* Send all of buf within OP_MS; false if not. */
static bool send_all(int fd, const char *buf, size_t len)
{
	int64_t deadline = at_now_ns() + (int64_t)OP_MS * AT_NS_PER_MS;

	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (!wait_fd(fd, POLLOUT, deadline))
				return false;
		} else {
			return false;
		}
	}
	return true;
}

/* Read until want bytes came, an end of file, or OP_MS without a byte. */
static size_t drain(int fd, size_t want)
{
	char sink[8192];
	size_t got = 0;

	while (got < want) {
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n > 0)
			got += (size_t)n;
		else if (n == 0 || (errno != EAGAIN && errno != EINTR))
			break;
		else if (!wait_fd(fd, POLLIN, at_now_ns() + (int64_t)OP_MS * AT_NS_PER_MS))
			break;
	}
	return got;
}

static void abort_close(int fd)
{
	struct linger now = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	close(fd);
}

/* Lines of every length from 0 to width-1 (and their '\n'), n bytes. */
static char *ragged_lines(size_t n, size_t width)
{
	char *buf = malloc(n);
	size_t at = 0, len = 0;

	if (!buf)
		exit(2);
	for (size_t i = 0; i < n; i++) {
		if (at == len) {
			buf[i] = '\n';
			len = (len + 37) % width;
			at = 0;
		} else {
			buf[i] = (char)('a' + (i + at++) % 26);
		}
	}
	buf[n - 1] = '\n';
	return buf;
}

/* ---- the phases ------------------------------------------------------- */

/* A first line and its answer: can the server be exercised at all? */
static bool first_line(void)
{
	int fd = client(0);
	bool ok = fd >= 0 && send_all(fd, "hello\n", 6) && drain(fd, 6) == 6;

	if (fd >= 0)
		close(fd);
	return ok;
}

/* Lines in pieces, lines of exactly SERVER_LINE_MAX, over it. */
static void lines(void)
{
	static const char *const piece[] = { "the quick ", "brown fox", " jumps\nover the\nlazy", " dog\n" };
	char big[2 * SERVER_LINE_MAX + 2];
	int fd = client(0);

	if (fd < 0)
		return;
	for (int i = 0; i < 4; i++)
		if (!send_all(fd, piece[i], strlen(piece[i])))
			break;
	memset(big, 'x', sizeof(big));
	big[SERVER_LINE_MAX] = '\n';
	if (send_all(fd, big, SERVER_LINE_MAX + 1) && send_all(fd, "\n", 1) &&
	    send_all(fd, big, 300) && send_all(fd, big + 300, SERVER_LINE_MAX + 1 - 300))
		drain(fd, 44 + 2 * (SERVER_LINE_MAX + 1) + 1);
	close(fd);
	for (size_t over = SERVER_LINE_MAX + 1; over <= sizeof(big) && !over_budget(); over += SERVER_LINE_MAX + 1) {
		if ((fd = client(0)) < 0)
			return;
		big[over - 1] = 'y';
		if (send_all(fd, big, over))
			drain(fd, 1);   /* until the hang-up, or a second */
		close(fd);
	}
}

/* 256 KiB of ragged lines to a reader that reads nothing at first, then
 * everything: the output grows, slides, comes back short. */
static void slow_reader(void)
{
	const size_t len = 256 * 1024;
	char *req = ragged_lines(len, 200);
	int fd = client(SMALL_BUF);
	size_t sent = 0;

	if (fd >= 0) {
		int64_t stall_end = at_now_ns() + 50 * AT_NS_PER_MS;

		while (sent < len && at_now_ns() < stall_end) {
			ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0) {
				sent += (size_t)n;
				stall_end = at_now_ns() + 50 * AT_NS_PER_MS;
			} else {
				at_sleep_ms(2);
			}
		}
		/* Now read, and send the rest as it is taken: one reply byte
		 * per request byte, until all came or nothing more does. */
		for (size_t got = 0, n = 1; got < len && n > 0 && !over_budget(); got += n) {
			ssize_t k = sent < len ? send(fd, req + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT) : 0;

			if (k > 0)
				sent += (size_t)k;
			n = drain(fd, len - got < 16384 ? len - got : 16384);
		}
		close(fd);
	}
	free(req);
}

/* Half-closes and resets: with replies owed, mid-line, after a reply. */
static void vanishing(void)
{
	const size_t len = 32 * 1024;
	char *req = ragged_lines(len, 64);
	int fd;

	/* Shut down its side, read every reply. */
	if ((fd = client(SMALL_BUF)) >= 0) {
		if (send_all(fd, req, len) && shutdown(fd, SHUT_WR) == 0)
			drain(fd, len);
		close(fd);
	}
	/* Shut down, take the first reply bytes, vanish while owed the rest. */
	if ((fd = client(SMALL_BUF)) >= 0) {
		if (send_all(fd, req, len) && shutdown(fd, SHUT_WR) == 0)
			wait_fd(fd, POLLIN, at_now_ns() + (int64_t)OP_MS * AT_NS_PER_MS);
		abort_close(fd);
	}
	/* Mid-line, then a reset. */
	if ((fd = client(0)) >= 0) {
		send_all(fd, "unfinished", 10);
		abort_close(fd);
	}
	free(req);
}

/* Connections that come and go, four ways. */
static void churn(void)
{
	for (int i = 0; i < N_CHURN && !over_budget(); i++) {
		int fd = client(0);

		if (fd < 0)
			return;
		switch (i % 4) {
		case 0:
			break;
		case 1:
			if (send_all(fd, "one line\n", 9))
				drain(fd, 9);
			break;
		case 2:
			send_all(fd, "mid-li", 6);
			break;
		case 3:
			send_all(fd, "bye\n", 4);
			abort_close(fd);
			continue;
		}
		close(fd);
	}
}

/* Wait until the server's kernel has every byte these clients sent (none
 * unacknowledged), at most ms: loopback delivery may be left to a kernel
 * thread for a while on a busy machine, and the server must not go on
 * before the lines are in its sockets. */
static void wait_delivered(const int *fd, int n, int ms)
{
	int64_t deadline = at_now_ns() + (int64_t)ms * AT_NS_PER_MS;

	for (int i = 0; i < n && at_now_ns() < deadline; i++) {
		int unacked = 0;

		if (ioctl(fd[i], SIOCOUTQ, &unacked) == 0 && unacked > 0) {
			at_sleep_ms(1);
			i--;
		}
	}
}

/*
 * The stop, in the same batch as N_BATCH clients' lines: each client is
 * answered once (so the server holds its connection), the server is
 * stopped (SIGSTOP) once asleep, then the stop and every line arrive, the
 * stop first, and the server goes on (SIGCONT): its next epoll_wait()
 * returns them all together.
 */
static void stop_in_a_batch(int stop_fd)
{
	int fd[N_BATCH], n = 0, status;
	uint64_t one = 1;

	for (int i = 0; i < N_BATCH; i++)
		fd[i] = -1;
	for (; n < N_BATCH && !server_gone(); n++)
		if ((fd[n] = client(0)) < 0 || !send_all(fd[n], "before\n", 7) || drain(fd[n], 7) != 7)
			break;
	wait_asleep(OP_MS);
	if (kill(server, SIGSTOP) == 0 && waitpid(server, &status, WUNTRACED) == server &&
	    WIFSTOPPED(status)) {
		if (write(stop_fd, &one, sizeof(one)) != sizeof(one))
			perror("asan_server: write(stop_fd)");
		for (int i = 0; i < n; i++)
			send_all(fd[i], "in the stop's batch\n", 20);
		wait_delivered(fd, n, OP_MS);
		kill(server, SIGCONT);
	} else if (write(stop_fd, &one, sizeof(one)) != sizeof(one)) {
		perror("asan_server: write(stop_fd)");
	}
	for (int i = 0; i < n; i++)
		close(fd[i]);
	if (n < N_BATCH && fd[n] >= 0)
		close(fd[n]);
}

/*
 * Wait for the server to end; its status. A server that ignored the stop
 * is killed once it has slept (state S) for ASLEEP_MS on end; one that
 * is still busy, such as a sanitizer writing its report (which can take
 * seconds on a loaded machine), is given up to REAP_MS.
 */
#define ASLEEP_MS 500
#define REAP_MS   10000
static int reap_server(void)
{
	int64_t start = at_now_ns(), asleep_since = -1, now;
	int status = 0;

	while (waitpid(server, &status, WNOHANG) == 0) {
		now = at_now_ns();
		if (server_state() != 'S')
			asleep_since = -1;
		else if (asleep_since < 0)
			asleep_since = now;
		if ((asleep_since >= 0 && now - asleep_since > ASLEEP_MS * AT_NS_PER_MS) ||
		    now - start > REAP_MS * AT_NS_PER_MS) {
			fprintf(stderr, "asan_server: serve() had not returned %.1f s after the stop: killed\n",
				(double)(now - start) / AT_NS_PER_S);
			kill(server, SIGKILL);
			waitpid(server, &status, 0);
			return 0;
		}
		at_sleep_ms(5);
	}
	return status;
}

int main(void)
{
	int listen_fd = listener(), stop_fd = eventfd(0, EFD_NONBLOCK), status;

	/* The sanitizer's start-up is behind us: a test that sees this line
	 * knows the run was real, whatever the code under test prints. */
	printf("asan_server: started\n");
	fflush(stdout);
	if (stop_fd < 0) {
		perror("asan_server: eventfd");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	fflush(NULL);
	if ((server = fork()) < 0) {
		perror("asan_server: fork");
		return 2;
	}
	if (server == 0)
		run_server(listen_fd, stop_fd);
	budget_end = at_now_ns() + (int64_t)BUDGET_MS * AT_NS_PER_MS;
	if (!first_line()) {
		uint64_t one = 1;

		if (write(stop_fd, &one, sizeof(one)) != sizeof(one))
			perror("asan_server: write(stop_fd)");
		status = reap_server();
		if (WIFEXITED(status) && WEXITSTATUS(status) == REPORT_EXIT)
			return REPORT_EXIT;
		fprintf(stderr, "asan_server: serve() answered no first line: nothing could be exercised\n");
		return 3;
	}
	lines();
	slow_reader();
	vanishing();
	churn();
	stop_in_a_batch(stop_fd);
	status = reap_server();
	if (WIFEXITED(status) && WEXITSTATUS(status) == REPORT_EXIT)
		return REPORT_EXIT;
	if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
		fprintf(stderr, "asan_server: the server was killed by signal %d (%s)\n",
			WTERMSIG(status), strsignal(WTERMSIG(status)));
	printf("asan_server: every phase ran\n");
	return 0;
}
