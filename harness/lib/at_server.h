/*
 * at_server.h - a server under test, run in a child process and watched
 * from outside; and the few client calls the tests make to it.
 *
 * The harness makes a loopback TCP listener, forks, and the child calls the
 * code under test with the listener and a stop descriptor. Because the
 * server is a process of its own, everything about it can be counted
 * without its help, at any moment, from /proc:
 *
 *   - its threads (/proc/PID/task): "one thread" is a count, not a promise;
 *   - its child processes (every /proc/N/stat whose parent is PID);
 *   - its open descriptors (/proc/PID/fd): leaks show as a growing count;
 *   - its CPU time (the process's CPU clock): an idle loop that spins
 *     burns it, one that sleeps in epoll_wait() does not.
 *
 * And whatever it does, the test process cannot hang on it: every client
 * call has a deadline and gives up early when the server has died, and
 * at_server_stop() ends with SIGKILL to the server's whole process group.
 * A server killed by a signal (SIGPIPE, SIGSEGV) is reported as such.
 *
 * Compare with at_gate.h, which drives many clients of such a server in a
 * secret order to prove it serves them all at once.
 */
#ifndef AT_SERVER_H
#define AT_SERVER_H

#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The code under test: serve on listen_fd until stop_fd is readable. */
typedef int (*at_serve_fn)(int listen_fd, int stop_fd, void *arg);

/* What the child writes, in memory shared with the test process. */
struct at_server_report {
	_Atomic int state;      /* AT_SERVER_FORKED, _SERVING or _RETURNED */
	int rc;                 /* the serve function's return value */
	int err;                /* errno when it returned */
	int fds_before;         /* descriptors the child held just before serving */
	int fds_after;          /* ... and just after it returned */
	long threads_created;   /* pthread_create() calls during serving */
	long forks;             /* fork() calls during serving */
};

enum { AT_SERVER_FORKED, AT_SERVER_SERVING, AT_SERVER_RETURNED };

struct at_server_opts {
	int sndbuf;   /* SO_SNDBUF of the listener, inherited by every accepted
	               * socket (small: replies cannot all fit, writes come
	               * back short); 0 keeps the system's default */
	int nofile;   /* raise the child's descriptor limit to this (0: 4096) */
};

struct at_server {
	pid_t pid;                 /* the child; 0 before start, or after reaping */
	int listen_fd;             /* the harness's copy of the listener */
	int stop_fd;               /* an eventfd: at_server_stop() writes 1 */
	struct sockaddr_in addr;   /* where clients connect */
	struct at_server_report *report;
	bool reaped;
	int status;                /* from waitpid(), once reaped */
	char why[200];             /* why at_server_start() failed */
};

/*
 * Listen on 127.0.0.1 (an ephemeral port, non-blocking, backlog 1024),
 * fork, and in the child run fn(listen_fd, stop_fd, arg) in a process
 * group of its own, then _exit(0) if it returned 0, else 1. Returns once
 * the child is about to call fn (or after 1 s, or if it died first).
 * Returns 0, or -1 with the reason in s->why (the caller should skip: the
 * machine cannot host a loopback server).
 */
int at_server_start(struct at_server *s, at_serve_fn fn, void *arg,
		    const struct at_server_opts *opts);

/* Is the child still running (not exited, not killed)? Does not reap. */
bool at_server_alive(struct at_server *s);

/* Counts of the child right now, from /proc; -1 when it is gone. */
int at_server_threads(struct at_server *s);
int at_server_children(struct at_server *s);
int at_server_fds(struct at_server *s);

/* CPU time the child has used so far (all its threads), in ns; -1 if gone. */
int64_t at_server_cpu_ns(struct at_server *s);

/*
 * Make stop_fd readable, wait up to timeout_ms for the child to exit on
 * its own, then kill its process group. Returns true if it exited by
 * itself within the time. Always leaves the child reaped and the
 * harness's descriptors closed.
 */
bool at_server_stop(struct at_server *s, int timeout_ms);

/* What became of the child, as the end of a sentence that starts with the
 * server's name: "is still running", "returned -1 (Function not
 * implemented)", "was killed by signal 13 (Broken pipe)", "exited with
 * status 1 before returning (it called exit())". */
const char *at_server_fate(struct at_server *s, char *buf, size_t len);

/* --- clients --------------------------------------------------------- */

/*
 * A client socket connected to the server (blocking connect, then
 * non-blocking), TCP_NODELAY so each send leaves at once. rcvbuf > 0 sets
 * a small receive buffer first (a slow reader's window). -1 on failure.
 */
int at_client_connect(const struct at_server *s, int rcvbuf);

/*
 * Send all len bytes within timeout_ms (never raising SIGPIPE). Returns
 * the number of bytes sent: less than len when the deadline passed, the
 * peer went away, or the server died.
 */
size_t at_client_send(struct at_server *s, int fd, const void *buf, size_t len, int timeout_ms);

/*
 * Receive exactly len bytes within timeout_ms. Returns the count received:
 * less than len on a deadline, an end of file (*eof set) or a dead server.
 */
size_t at_client_recv(struct at_server *s, int fd, void *buf, size_t len, int timeout_ms, bool *eof);

/*
 * Wait up to timeout_ms for the server to hang up on this client: 1 when
 * an end of file or a reset came (bytes still arriving before it are
 * read and dropped), 0 when it did not within the time.
 */
int at_client_wait_hangup(struct at_server *s, int fd, int timeout_ms);

/* Close with a reset (SO_LINGER 0): a client that vanishes. */
void at_client_abort(int fd);

#endif
