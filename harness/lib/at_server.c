/*
 * at_server.c - a server under test in a child process (see at_server.h).
 *
 * Everything here that waits has a deadline, and every wait for a client's
 * bytes also gives up as soon as the server is found dead: a broken server
 * costs a test a few milliseconds, not a timeout.
 */
#include "at_server.h"
#include "at_count.h"
#include "at_proc.h"
#include "at_time.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* How often a client's wait looks whether the server is still alive. */
#define ALIVE_SLICE_MS 20

static int make_listener(struct at_server *s, const struct at_server_opts *o)
{
	socklen_t len = sizeof(s->addr);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

	if (fd < 0) {
		snprintf(s->why, sizeof(s->why), "cannot create a TCP socket: %s", strerror(errno));
		return -1;
	}
	memset(&s->addr, 0, sizeof(s->addr));
	s->addr.sin_family = AF_INET;
	s->addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->addr.sin_port = 0; /* the kernel picks a free port */
	/* Accepted sockets inherit the listener's buffer sizes (and the lock
	 * that stops the kernel from growing them). */
	if (o && o->sndbuf > 0 &&
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &o->sndbuf, sizeof(o->sndbuf)) != 0)
		goto fail;
	if (bind(fd, (struct sockaddr *)&s->addr, sizeof(s->addr)) != 0 ||
	    listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)&s->addr, &len) != 0)
		goto fail;
	return fd;
fail:
	snprintf(s->why, sizeof(s->why), "cannot listen on 127.0.0.1 (loopback TCP): %s", strerror(errno));
	close(fd);
	return -1;
}

/* Close every descriptor the child inherited, except the ones it needs:
 * those listed in /proc/self/fd (not every number up to the limit, which
 * may be a million). */
static void close_inherited(int keep1, int keep2)
{
	int fds[1024], n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	if (!d) {
		for (int fd = 3; fd < 1024; fd++)
			if (fd != keep1 && fd != keep2)
				close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL && n < 1024) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd > 2 && fd != keep1 && fd != keep2 && fd != dirfd(d))
			fds[n++] = fd;
	}
	closedir(d);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static _Noreturn void run_child(struct at_server *s, pid_t parent, at_serve_fn fn,
				void *arg, const struct at_server_opts *o)
{
	struct rlimit rl;
	sigset_t none;
	int rc;

	/* Die with the test process, whatever happens to it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(111);
	setpgid(0, 0);
	/* The test process may ignore SIGPIPE or block signals; the code
	 * under test must meet the defaults a fresh program would. */
	signal(SIGPIPE, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)(o && o->nofile > 0 ? o->nofile : 4096);

		rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	close_inherited(s->listen_fd, s->stop_fd);

	s->report->fds_before = at_count_fds();
	at_calls_reset();
	atomic_store(&s->report->state, AT_SERVER_SERVING);
	errno = 0;
	rc = fn(s->listen_fd, s->stop_fd, arg);
	s->report->err = errno;
	s->report->rc = rc;
	s->report->threads_created = at_pthread_create_calls();
	s->report->forks = at_fork_calls();
	s->report->fds_after = at_count_fds();
	/* The state is stored last, and atomically: a test process that
	 * reads RETURNED also sees every field written above. */
	atomic_store(&s->report->state, AT_SERVER_RETURNED);
	_exit(rc == 0 ? 0 : 1);
}

int at_server_start(struct at_server *s, at_serve_fn fn, void *arg,
		    const struct at_server_opts *opts)
{
	pid_t parent = getpid();

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->stop_fd = -1;
	s->report = mmap(NULL, sizeof(*s->report), PROT_READ | PROT_WRITE,
			 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->report == MAP_FAILED) {
		s->report = NULL;
		snprintf(s->why, sizeof(s->why), "mmap: %s", strerror(errno));
		return -1;
	}
	if ((s->listen_fd = make_listener(s, opts)) < 0)
		goto err;
	if ((s->stop_fd = eventfd(0, EFD_NONBLOCK)) < 0) {
		snprintf(s->why, sizeof(s->why), "eventfd: %s", strerror(errno));
		goto err;
	}
	fflush(NULL); /* or the child's exit could repeat buffered output */
	s->pid = fork();
	if (s->pid < 0) {
		snprintf(s->why, sizeof(s->why), "fork: %s", strerror(errno));
		s->pid = 0;
		goto err;
	}
	if (s->pid == 0)
		run_child(s, parent, fn, arg, opts);
	/* Also here, so the group exists before anyone signals it. */
	setpgid(s->pid, s->pid);
	/* Return once the server function has been called: what the tests
	 * time then is the server's work, not the start of a process. */
	for (int i = 0; i < 1000 && atomic_load(&s->report->state) == AT_SERVER_FORKED &&
			at_server_alive(s); i++)
		at_sleep_ms(1);
	return 0;
err:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	munmap(s->report, sizeof(*s->report));
	s->report = NULL;
	s->listen_fd = s->stop_fd = -1;
	return -1;
}

bool at_server_alive(struct at_server *s)
{
	siginfo_t info;

	if (s->pid <= 0 || s->reaped)
		return false;
	memset(&info, 0, sizeof(info));
	if (waitid(P_PID, (id_t)s->pid, &info, WEXITED | WNOHANG | WNOWAIT) != 0)
		return false;
	return info.si_pid == 0;
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

int at_server_threads(struct at_server *s)
{
	char path[64];

	if (!at_server_alive(s))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)s->pid);
	return count_entries(path);
}

int at_server_fds(struct at_server *s)
{
	char path[64];

	if (!at_server_alive(s))
		return -1;
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)s->pid);
	return count_entries(path);
}

/* The parent of process pid (a decimal string), -1 when it is gone. */
static pid_t parent_of(const char *pid)
{
	pid_t ppid;

	return at_proc_stat((pid_t)atoi(pid), 0, NULL, &ppid) ? ppid : -1;
}

int at_server_children(struct at_server *s)
{
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (!at_server_alive(s) || !(d = opendir("/proc")))
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] >= '1' && e->d_name[0] <= '9' && parent_of(e->d_name) == s->pid)
			n++;
	closedir(d);
	return n;
}

int64_t at_server_cpu_ns(struct at_server *s)
{
	clockid_t clk;
	struct timespec ts;

	if (!at_server_alive(s) || clock_getcpuclockid(s->pid, &clk) != 0 ||
	    clock_gettime(clk, &ts) != 0)
		return -1;
	return (int64_t)ts.tv_sec * AT_NS_PER_S + ts.tv_nsec;
}

static void reap(struct at_server *s)
{
	if (s->pid > 0 && !s->reaped && waitpid(s->pid, &s->status, 0) == s->pid)
		s->reaped = true;
}

bool at_server_stop(struct at_server *s, int timeout_ms)
{
	int64_t deadline = at_now_ns() + (int64_t)timeout_ms * AT_NS_PER_MS;
	uint64_t one = 1;
	bool by_itself = false;

	if (s->pid <= 0)
		return false;
	if (s->stop_fd >= 0 && write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		perror("atonce harness: write(stop_fd)");
	while (!s->reaped) {
		pid_t r = waitpid(s->pid, &s->status, WNOHANG);

		if (r == s->pid) {
			s->reaped = by_itself = true;
			break;
		}
		if (r < 0 || at_now_ns() >= deadline)
			break;
		at_sleep_ms(2);
	}
	/* The whole group: a server that forked leaves no process behind. */
	kill(-s->pid, SIGKILL);
	kill(s->pid, SIGKILL);
	reap(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	s->listen_fd = s->stop_fd = -1;
	return by_itself;
}

const char *at_server_fate(struct at_server *s, char *buf, size_t len)
{
	siginfo_t info;
	int code, sig;

	memset(&info, 0, sizeof(info));
	if (s->reaped) {
		code = WIFEXITED(s->status) ? CLD_EXITED : CLD_KILLED;
		sig = WIFSIGNALED(s->status) ? WTERMSIG(s->status) : 0;
		info.si_status = WIFEXITED(s->status) ? WEXITSTATUS(s->status) : sig;
	} else if (s->pid > 0 &&
		   waitid(P_PID, (id_t)s->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
		   info.si_pid != 0) {
		code = info.si_code;
	} else {
		snprintf(buf, len, "is still running");
		return buf;
	}
	if (code != CLD_EXITED) {
		snprintf(buf, len, "was killed by signal %d (%s)", info.si_status, strsignal(info.si_status));
	} else if (s->report && atomic_load(&s->report->state) == AT_SERVER_RETURNED) {
		snprintf(buf, len, "returned %d%s%s%s", s->report->rc,
			 s->report->rc && s->report->err ? " (" : "",
			 s->report->rc && s->report->err ? strerror(s->report->err) : "",
			 s->report->rc && s->report->err ? ")" : "");
	} else {
		snprintf(buf, len, "exited with status %d before returning (it called exit())",
			 info.si_status);
	}
	return buf;
}

/* --- clients --------------------------------------------------------- */

/* Wait for `events` on fd: 1 ready, 0 deadline or dead server, -1 error. */
static int wait_for(struct at_server *s, int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = (deadline - at_now_ns()) / AT_NS_PER_MS;
		int r;

		if (left <= 0)
			return 0;
		r = poll(&p, 1, left < ALIVE_SLICE_MS ? (int)left + 1 : ALIVE_SLICE_MS);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
		if (r == 0 && s && !at_server_alive(s))
			return 0;
	}
}

int at_client_connect(const struct at_server *s, int rcvbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1, err = 0;
	socklen_t len = sizeof(err);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&s->addr, sizeof(s->addr)) != 0) {
		/* The kernel completes the handshake from the listener's
		 * backlog, even before the server accepts. */
		if (errno != EINPROGRESS ||
		    wait_for(NULL, fd, POLLOUT, at_now_ns() + AT_NS_PER_S) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

size_t at_client_send(struct at_server *s, int fd, const void *buf, size_t len, int timeout_ms)
{
	int64_t deadline = at_now_ns() + (int64_t)timeout_ms * AT_NS_PER_MS;
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = send(fd, (const char *)buf + sent, len - sent, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			sent += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_for(s, fd, POLLOUT, deadline) != 1)
				break;
		} else {
			break; /* the peer is gone */
		}
	}
	return sent;
}

size_t at_client_recv(struct at_server *s, int fd, void *buf, size_t len, int timeout_ms, bool *eof)
{
	int64_t deadline = at_now_ns() + (int64_t)timeout_ms * AT_NS_PER_MS;
	size_t got = 0;

	if (eof)
		*eof = false;
	while (got < len) {
		ssize_t n = recv(fd, (char *)buf + got, len - got, MSG_DONTWAIT);

		if (n > 0) {
			got += (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (wait_for(s, fd, POLLIN, deadline) != 1)
				break;
		} else {
			if (eof)
				*eof = true; /* an end of file, or a reset */
			break;
		}
	}
	return got;
}

int at_client_wait_hangup(struct at_server *s, int fd, int timeout_ms)
{
	int64_t deadline = at_now_ns() + (int64_t)timeout_ms * AT_NS_PER_MS;
	char sink[4096];

	for (;;) {
		ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
			return 1;
		if (n < 0 && errno != EINTR && wait_for(s, fd, POLLIN, deadline) != 1)
			return 0;
	}
}

void at_client_abort(int fd)
{
	struct linger now = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &now, sizeof(now));
	close(fd);
}
