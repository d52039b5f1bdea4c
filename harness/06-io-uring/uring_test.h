/*
 * uring_test.h - lesson 06's measuring tools, shared by the tests, the
 * pictures and the benchmark (each program includes it exactly once).
 *
 *  - a pipe gate: N pipes whose data a harness thread releases in a secret
 *    order, the next piece only once the previous one was drained;
 *  - a pipe feeder: pipes that each get their bytes in pieces of chosen
 *    sizes, the next once the previous was read, to put a read's end
 *    exactly on a boundary;
 *  - io_uring refusal: a probe, the reason and fix in plain words, and a
 *    seccomp filter that refuses io_uring_setup for real (the test hook).
 *
 * What the code under test did, and may not do, while it runs is
 * uring_guard.h's job (the tests only).
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
#include <stdatomic.h>
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

/* ---- the pipe gate ---------------------------------------------------- */

#define GATE_MAX    64    /* URING_BATCH_MAX: a batch can be gated whole */
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

/*
 * A secret order of n pipes that opens with the LAST one, and whose second
 * is not the one before it. Code that keeps fewer than n reads in flight
 * (a cap, waves, a window) starts with the first requests of the array:
 * the last pipe is not among them, so such code is stuck at the first
 * step on every run, whatever its cap. Code that reads one pipe at a time
 * from either end is stuck at the first or second step, every run. The
 * rest is shuffled: no order fixed in advance gets through.
 */
static inline void gate_shuffle(int *order, int n, unsigned *seed)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j = (int)(rand_r(seed) % (unsigned)(i + 1)), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
	for (int i = 0; i < n; i++)            /* the last pipe first */
		if (order[i] == n - 1) {
			order[i] = order[0];
			order[0] = n - 1;
		}
	if (n >= 3 && order[1] == n - 2) {     /* and not the one before it next */
		order[1] = order[2];
		order[2] = n - 2;
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

/* ---- the pipe feeder --------------------------------------------------- */

#define FEED_MAX        8
#define FEED_MAX_PIECES 3

/*
 * Each pipe gets its bytes in pieces of chosen sizes, written one at a
 * time: the next only once the previous was read whole (FIONREAD is 0),
 * so a read sees exactly one piece. After its last piece, a pipe is either
 * closed once that piece was read (end of file right after it), or left
 * as it is: bytes a request must not take stay there, and a request that
 * is full must return without waiting for an end of file. Pipes advance
 * independently: the order in which the code reads them does not matter.
 */
struct feed_pipe {
	size_t piece[FEED_MAX_PIECES];
	int npieces;
	bool close_after;                 /* end of file once the last piece was read */
	int rfd, wfd;
	char data[600];
	/* progress */
	int next;                         /* pieces written */
	int64_t written_at;               /* when the last one was written */
};

struct pipe_feeder {
	struct feed_pipe p[FEED_MAX];
	int n, step_ms;
	atomic_bool stop;                 /* the code under test has returned */
	/* results */
	bool timed_out;                   /* a piece was never read */
	int stuck;
	bool closed_on_reader;            /* still reading when every piece was out */
	pthread_t thread;
};

static inline bool feeder_add(struct pipe_feeder *f, const size_t *pieces, int npieces, bool close_after)
{
	struct feed_pipe *p = &f->p[f->n];
	int fds[2];
	size_t total = 0;

	if (f->n >= FEED_MAX || npieces > FEED_MAX_PIECES || pipe2(fds, O_CLOEXEC) != 0)
		return false;
	memset(p, 0, sizeof(*p));
	for (int k = 0; k < npieces; k++)
		total += p->piece[k] = pieces[k];
	if (total > sizeof(p->data))
		return false;
	p->npieces = npieces;
	p->close_after = close_after;
	p->rfd = fds[0];
	p->wfd = fds[1];
	for (size_t k = 0; k < total; k++)
		p->data[k] = (char)('a' + (f->n * 5 + (int)k) % 26);
	f->n++;
	return true;
}

static inline bool feed_drained(const struct feed_pipe *p)
{
	int left = 0;

	return ioctl(p->rfd, FIONREAD, &left) == 0 && left == 0;
}

/* One step for pipe i; returns true when its plan is done. */
static inline bool feed_step(struct pipe_feeder *f, int i)
{
	struct feed_pipe *p = &f->p[i];
	bool drained;
	size_t from = 0;

	if (p->wfd < 0 || (p->next == p->npieces && !p->close_after))
		return true;
	drained = p->next == 0 || feed_drained(p);
	if (!drained) {
		if (at_now_ns() - p->written_at > (int64_t)f->step_ms * 1000000) {
			f->timed_out = true;
			f->stuck = i;
		}
		return false;
	}
	if (p->next == p->npieces) {            /* the last piece was read: EOF */
		close(p->wfd);
		p->wfd = -1;
		return true;
	}
	for (int k = 0; k < p->next; k++)
		from += p->piece[k];
	if (write(p->wfd, p->data + from, p->piece[p->next]) != (ssize_t)p->piece[p->next]) {
		f->timed_out = true;
		f->stuck = i;
		return false;
	}
	p->next++;
	p->written_at = at_now_ns();
	return false;
}

static inline void *feeder_thread(void *arg)
{
	struct pipe_feeder *f = arg;
	int64_t end;
	bool all = false;

	while (!all && !f->timed_out && !atomic_load(&f->stop)) {
		all = true;
		for (int i = 0; i < f->n; i++)
			all &= feed_step(f, i);
		usleep(200);
	}
	/* Every piece is out: a correct reader returns now. Give it a step's
	 * time, then close what is still open, so a reader that waits for
	 * more than it asked for gets an end of file instead of hanging. */
	end = at_now_ns() + (int64_t)f->step_ms * 1000000;
	while (!f->timed_out && !atomic_load(&f->stop) && at_now_ns() < end)
		usleep(200);
	if (!atomic_load(&f->stop))
		f->closed_on_reader = true;
	for (int i = 0; i < f->n; i++)
		if (f->p[i].wfd >= 0) {
			close(f->p[i].wfd);
			f->p[i].wfd = -1;
		}
	return NULL;
}

static inline void feeder_init(struct pipe_feeder *f, int step_ms)
{
	memset(f, 0, sizeof(*f));
	f->step_ms = step_ms;
	f->stuck = -1;
}

static inline bool feeder_start(struct pipe_feeder *f)
{
	return pthread_create(&f->thread, NULL, feeder_thread, f) == 0;
}

/* The code under test returned: let the feeder finish and join it. */
static inline void feeder_finish(struct pipe_feeder *f)
{
	int rc;

	atomic_store(&f->stop, true);
	rc = pthread_join(f->thread, NULL);
	(void)rc;  /* the feeder always ends: every wait has a deadline */
}

static inline void feeder_close(struct pipe_feeder *f)
{
	for (int i = 0; i < f->n; i++)
		close(f->p[i].rfd);
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
