/*
 * uring_test.h - lesson 06's measuring tools, shared by the tests, the
 * pictures and the benchmark (each program includes it exactly once: it
 * defines the --wrap counters that lesson.mk's link flags ask for).
 *
 *  - submission counters: every io_uring_submit*() / io_uring_enter*()
 *    call of the code under test lands here first (-Wl,--wrap): we count
 *    the calls that submitted something, the requests they carried, and
 *    the most requests outstanding at once (submitted, not yet reaped,
 *    read from the ring's own completion head);
 *  - /proc/self/io: the kernel counts read-family (syscr) and
 *    write-family (syscw) system calls per process; I/O done by io_uring
 *    is not counted there (checked on Linux 6.18), read(2) is;
 *  - a pipe gate: N pipes whose data a harness thread releases in a secret
 *    order, the next piece only once the previous one was drained;
 *  - io_uring refusal: a probe, the reason and fix in plain words, and a
 *    seccomp filter that refuses io_uring_setup for real (the test hook).
 *
 * Compare with harness/lib/at_gate.h, the same gate for sockets.
 */
#ifndef URING_TEST_H
#define URING_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "at_time.h"
#include "at_trace.h"

/* ---- submission counters (-Wl,--wrap) -------------------------------- */

struct submit_count {
	long calls;          /* calls that submitted at least one request */
	long requests;       /* requests they submitted */
	long max_outstanding;/* most requests submitted and not yet reaped */
	/* the ring being followed */
	int ring_fd;
	unsigned long submitted;
};

static struct submit_count submits;

static inline void submits_reset(void)
{
	memset(&submits, 0, sizeof(submits));
	submits.ring_fd = -1;
}

/* After a submission of `n` requests on `ring` (NULL: not known). */
static inline void submits_note(struct io_uring *ring, int n)
{
	if (n <= 0)
		return;
	submits.calls++;
	submits.requests += n;
	if (!ring)
		return;
	if (ring->ring_fd != submits.ring_fd) {     /* another ring: start over */
		submits.ring_fd = ring->ring_fd;
		submits.submitted = 0;
	}
	submits.submitted += (unsigned)n;
	/* The completion head counts the completions reaped so far. */
	unsigned reaped = __atomic_load_n(ring->cq.khead, __ATOMIC_ACQUIRE);
	long out = (long)(unsigned)((unsigned)submits.submitted - reaped);

	if (out > submits.max_outstanding)
		submits.max_outstanding = out;
}

int __real_io_uring_submit(struct io_uring *ring);
int __wrap_io_uring_submit(struct io_uring *ring);
int __real_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);
int __wrap_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr);
int __real_io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
					     unsigned wait_nr, struct __kernel_timespec *ts,
					     sigset_t *sigmask);
int __wrap_io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
					     unsigned wait_nr, struct __kernel_timespec *ts,
					     sigset_t *sigmask);
int __real_io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
			  unsigned flags, sigset_t *sig);
int __wrap_io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
			  unsigned flags, sigset_t *sig);
int __real_io_uring_enter2(unsigned fd, unsigned to_submit, unsigned min_complete,
			   unsigned flags, sigset_t *sig, size_t sz);
int __wrap_io_uring_enter2(unsigned fd, unsigned to_submit, unsigned min_complete,
			   unsigned flags, sigset_t *sig, size_t sz);

int __wrap_io_uring_submit(struct io_uring *ring)
{
	int n = __real_io_uring_submit(ring);

	submits_note(ring, n);
	return n;
}

int __wrap_io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	int n = __real_io_uring_submit_and_wait(ring, wait_nr);

	submits_note(ring, n);
	return n;
}

int __wrap_io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe,
					     unsigned wait_nr, struct __kernel_timespec *ts,
					     sigset_t *sigmask)
{
	unsigned before = io_uring_sq_ready(ring);
	int rc = __real_io_uring_submit_and_wait_timeout(ring, cqe, wait_nr, ts, sigmask);

	/* It returns 0 or -errno, not a count: count what left the queue. */
	submits_note(ring, (int)(before - io_uring_sq_ready(ring)));
	return rc;
}

int __wrap_io_uring_enter(unsigned fd, unsigned to_submit, unsigned min_complete,
			  unsigned flags, sigset_t *sig)
{
	int n = __real_io_uring_enter(fd, to_submit, min_complete, flags, sig);

	submits_note(NULL, to_submit ? n : 0);
	return n;
}

int __wrap_io_uring_enter2(unsigned fd, unsigned to_submit, unsigned min_complete,
			   unsigned flags, sigset_t *sig, size_t sz)
{
	int n = __real_io_uring_enter2(fd, to_submit, min_complete, flags, sig, sz);

	submits_note(NULL, to_submit ? n : 0);
	return n;
}

/* ---- /proc/self/io ---------------------------------------------------- */

struct io_calls {
	long syscr, syscw;
};

/* One open(), one read(), one close(): the read is counted in the NEXT
 * snapshot, so a pair of snapshots costs exactly 1 syscr (see io_calls_since). */
static inline bool io_calls_now(struct io_calls *c)
{
	char buf[1024], *p;
	int fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	p = strstr(buf, "syscr: ");
	c->syscr = p ? atol(p + 7) : -1;
	p = strstr(buf, "syscw: ");
	c->syscw = p ? atol(p + 7) : -1;
	return c->syscr >= 0 && c->syscw >= 0;
}

/* The read/write-family calls made since `before`, not counting our own. */
static inline struct io_calls io_calls_since(const struct io_calls *before)
{
	struct io_calls now = { 0, 0 };

	io_calls_now(&now);
	return (struct io_calls){ now.syscr - before->syscr - 1, now.syscw - before->syscw };
}

/* ---- the pipe gate ---------------------------------------------------- */

#define GATE_MAX    16
#define GATE_PIECES 4

struct pipe_gate {
	int n, pieces;
	size_t len;                       /* bytes per pipe, in `pieces` pieces */
	int step_ms;                      /* how long one piece may wait to be drained */
	int rfd[GATE_MAX], wfd[GATE_MAX];
	char data[GATE_MAX][512];
	int order[GATE_PIECES][GATE_MAX]; /* the secret order of each round */
	struct at_trace *trace;           /* optional: a slice per piece, lane = pipe */
	/* results */
	int drained;                      /* pieces drained in the secret order */
	bool timed_out;
	int stuck;                        /* the pipe whose piece was never drained */
	pthread_t thread;
};

static inline void gate_shuffle(int *order, int n, unsigned *seed)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rand_r(seed) % (unsigned)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* n pipes, each to carry `len` bytes (<= 512) in `pieces` pieces. */
static inline bool gate_init(struct pipe_gate *g, int n, int pieces, size_t len, int step_ms)
{
	unsigned seed = (unsigned)at_now_ns() ^ (unsigned)getpid();

	memset(g, 0, sizeof(*g));
	g->n = n;
	g->pieces = pieces;
	g->len = len;
	g->step_ms = step_ms;
	g->stuck = -1;
	for (int i = 0; i < n; i++) {
		int fds[2];

		if (pipe2(fds, O_CLOEXEC) != 0)
			return false;
		g->rfd[i] = fds[0];
		g->wfd[i] = fds[1];
		for (size_t k = 0; k < len; k++)
			g->data[i][k] = (char)('A' + (i * 7 + (int)k) % 26);
	}
	for (int p = 0; p < pieces; p++)
		gate_shuffle(g->order[p], n, &seed);
	return true;
}

static inline bool gate_wait_drained(struct pipe_gate *g, int i)
{
	int64_t end = at_now_ns() + (int64_t)g->step_ms * 1000000;

	for (;;) {
		int left = 0;

		if (ioctl(g->rfd[i], FIONREAD, &left) == 0 && left == 0)
			return true;
		if (at_now_ns() > end)
			return false;
		usleep(200);
	}
}

static inline void *gate_releaser(void *arg)
{
	struct pipe_gate *g = arg;
	size_t piece = (g->len + (size_t)g->pieces - 1) / (size_t)g->pieces;

	for (int p = 0; p < g->pieces && !g->timed_out; p++)
		for (int k = 0; k < g->n; k++) {
			int i = g->order[p][k], slice = -1;
			size_t from = (size_t)p * piece;
			size_t len = from >= g->len ? 0 : (g->len - from < piece ? g->len - from : piece);

			if (g->trace) {
				char name[32];

				snprintf(name, sizeof(name), "pipe %d", i);
				slice = at_trace_begin(g->trace, name, i);
			}
			if (len && write(g->wfd[i], g->data[i] + from, len) != (ssize_t)len) {
				g->timed_out = true;
				g->stuck = i;
				break;
			}
			if (!gate_wait_drained(g, i)) {
				g->timed_out = true;
				g->stuck = i;
				break;
			}
			if (g->trace)
				at_trace_end(g->trace, slice);
			g->drained++;
		}
	/* Done or stuck: close every write end, so readers see end of file
	 * and a stuck implementation returns instead of hanging. */
	for (int i = 0; i < g->n; i++) {
		close(g->wfd[i]);
		g->wfd[i] = -1;
	}
	return NULL;
}

static inline bool gate_start(struct pipe_gate *g)
{
	return pthread_create(&g->thread, NULL, gate_releaser, g) == 0;
}

/* Join the releaser, close the read ends. */
static inline void gate_finish(struct pipe_gate *g)
{
	int rc = pthread_join(g->thread, NULL);

	(void)rc;  /* the releaser always ends: every wait has a deadline */
	for (int i = 0; i < g->n; i++)
		close(g->rfd[i]);
}

static inline const char *gate_order(const struct pipe_gate *g, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (int k = 0; k < g->n && o + 4 < len; k++)
		o += (size_t)snprintf(buf + o, len - o, k ? " %d" : "%d", g->order[0][k]);
	return buf;
}

/* ---- io_uring refused ------------------------------------------------- */

/* Why io_uring cannot be used here, and what to do about it. */
static inline const char *uring_refusal(int err)
{
	switch (err) {
	case EPERM:
		return "io_uring is refused here (EPERM: a container's seccomp profile, e.g. Docker's "
		       "default, or the sysctl kernel.io_uring_disabled). Fix: `sysctl -w "
		       "kernel.io_uring_disabled=0` as root, or `docker run --security-opt "
		       "seccomp=unconfined`, or a VM of your own";
	case ENOSYS:
		return "this kernel has no io_uring (ENOSYS: older than Linux 5.1, or built without "
		       "it). Fix: Linux 5.6 or newer, e.g. in a VM";
	case ENOMEM:
		return "io_uring_setup failed with ENOMEM: the locked-memory limit is too small for a "
		       "ring (kernels before 5.12). Fix: `ulimit -l 1024`, or a newer kernel";
	default:
		return "io_uring_setup failed on this machine; see `man io_uring_setup`";
	}
}

/* 0 when a ring can be set up here, else the errno. */
static inline int uring_probe(void)
{
	struct io_uring ring;
	int rc = io_uring_queue_init(4, &ring, 0);

	if (rc < 0)
		return -rc;
	io_uring_queue_exit(&ring);
	return 0;
}

/*
 * Make io_uring_setup fail with `err` in this process from now on, the
 * way a container's seccomp profile does. Returns false if seccomp is not
 * available. Irreversible: use it in a child process or a test's own.
 */
static inline bool uring_refuse(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return false;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0;
}

/*
 * The test hook: ATONCE_URING_REFUSE=EPERM (or ENOSYS) refuses io_uring
 * in this process for real before the probe, so that every test shows its
 * skip path. Returns the errno of the probe (0: io_uring works).
 */
static inline int uring_available(void)
{
	const char *hook = getenv("ATONCE_URING_REFUSE");

	if (hook && *hook)
		uring_refuse(strcmp(hook, "ENOSYS") == 0 ? ENOSYS : EPERM);
	return uring_probe();
}

#endif
