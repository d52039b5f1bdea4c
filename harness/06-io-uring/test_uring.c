/*
 * Description: lesson 06 - does uring_read_batch() keep every read in
 * flight at once (6, 16 and 64 gated pipes released in a secret order), on
 * one thread, with the bytes coming through the ring and nothing else, in
 * few system calls that carry the reads; does each bad request fail alone,
 * is a short read finished and never taken past its end, are the limits
 * kept; does uring_copy() copy every size byte for byte, with as many
 * requests in flight as asked, only through the ring, and report a short
 * write it cannot finish; and when io_uring is refused, do both say so
 * instead of hanging?
 *
 * The code under test runs in the test's own process (as in lesson 02).
 * Where a test must know what the code did in the kernel, it runs the call
 * under uring_guard.h: a seccomp filter on the calling thread that refuses
 * every data-moving system call on the harness's descriptors, and a
 * supervisor that sees every io_uring_enter() and the requests it carried.
 * Compare with harness/05-event-loop/test_server.c: the same secret-order
 * gate, with pipes instead of sockets.
 */
#include "at_count.h"
#include "at_test.h"
#include "uring.h"
#include "uring_guard.h"
#include "uring_test.h"

#include <signal.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define N_SHORT   6      /* pipes whose data comes in pieces: 1 in 720 per round */
#define PIECES    3
#define N_MANY    16     /* requests in the batching and counting tests */
#define STEP_MS   1000   /* how long one piece may wait to be read */
#define CALL_MS   10000  /* how long one guarded call may take */
#define BLOCK     4096
#define DEPTH     4

TestSuite(io_uring, .timeout = 30);

/* What a negative return (-errno) of the code under test means. */
static const char *rc_text(long rc, const char *call)
{
	static char buf[200];
	const char *name = rc < 0 ? strerrorname_np((int)-rc) : NULL;

	if (rc == -ENOSYS)
		snprintf(buf, sizeof(buf), "%s returned -ENOSYS: not written yet (the skeleton's placeholder)", call);
	else
		snprintf(buf, sizeof(buf), "%s returned %ld (-%s: %s)", call, rc, name ? name : "?",
			 rc < 0 ? strerror((int)-rc) : "not an error code");
	return buf;
}

/* A return value as a name when it is -errno: "-EPERM", "0", "12". */
static const char *rc_name(long rc, char *buf, size_t len)
{
	const char *name = rc < 0 ? strerrorname_np((int)-rc) : NULL;

	if (name)
		snprintf(buf, len, "-%s", name);
	else
		snprintf(buf, len, "%ld", rc);
	return buf;
}

#define CHECK_RC(rc, call) AT_CHECK((rc) == 0, "%s", rc_text((rc), (call)))

/* Skip, with the reason and the fix, where io_uring is refused. */
static void need_uring(void)
{
	int err = uring_available();

	if (err)
		AT_SKIP("%s", uring_refusal(err));
}

static void set_reqs(struct uring_read *r, const struct pipe_gate *g, char (*buf)[512])
{
	for (int i = 0; i < g->n; i++)
		r[i] = (struct uring_read){ .fd = g->rfd[i], .buf = buf[i], .len = g->len,
					    .offset = 0, .result = -99999 };
}

/* How many requests got exactly the gate's bytes. */
static int count_right(const struct uring_read *r, const struct pipe_gate *g, char (*buf)[512])
{
	int ok = 0;

	for (int i = 0; i < g->n; i++)
		ok += r[i].result == (ssize_t)g->len && memcmp(buf[i], g->data[i], g->len) == 0;
	return ok;
}

/* n pipes already holding their data (closed write ends: end of file after
 * it). No assertion inside: assert what it returns. */
static bool filled_pipes(struct pipe_gate *g, int n, size_t len)
{
	if (!gate_init(g, n, 1, len, STEP_MS))
		return false;
	for (int i = 0; i < n; i++) {
		if (write(g->wfd[i], g->data[i], len) != (ssize_t)len)
			return false;
		close(g->wfd[i]);
	}
	return true;
}

static void close_reads(struct pipe_gate *g)
{
	for (int i = 0; i < g->n; i++)
		close(g->rfd[i]);
}

/* A temporary file holding `size` bytes of a pattern, unlinked at once;
 * -1 if that fails. No assertion inside: one per chunk would be a round
 * trip to the runner each. */
static int temp_file(size_t size, unsigned seed)
{
	char path[] = "/tmp/atonce-uring-XXXXXX";
	int fd = mkstemp(path);
	char chunk[8192];

	if (fd < 0)
		return -1;
	unlink(path);
	for (size_t done = 0; done < size;) {
		size_t n = size - done < sizeof(chunk) ? size - done : sizeof(chunk);

		for (size_t k = 0; k < n; k++)
			chunk[k] = (char)(rand_r(&seed) >> 7);
		if (write(fd, chunk, n) != (ssize_t)n) {
			close(fd);
			return -1;
		}
		done += n;
	}
	return fd;
}

/* The first offset where two files differ, or -1 when they are the same. */
static long first_difference(int a, int b, size_t size)
{
	static char x[65536], y[65536];

	for (size_t at = 0; at < size;) {
		size_t n = size - at < sizeof(x) ? size - at : sizeof(x);

		if (pread(a, x, n, (off_t)at) != (ssize_t)n || pread(b, y, n, (off_t)at) != (ssize_t)n)
			return (long)at;
		for (size_t k = 0; k < n; k++)
			if (x[k] != y[k])
				return (long)(at + k);
		at += n;
	}
	return -1;
}

/* ---- reads: a batch, right --------------------------------------------- */

Test(io_uring, reads, .description = "a batch of 6 reads: 4 from a file at different offsets (the last one crossing its end), 2 from pipes; every result and every byte right")
{
	enum { N = 6, LEN = 300 };
	static const off_t offsets[4] = { 0, 4096, 777, 9800 };  /* of 10000 bytes */
	static const ssize_t expect[N] = { LEN, LEN, LEN, 200, LEN, LEN };
	struct uring_read r[N];
	char buf[N][LEN], want[N][LEN];
	int fd, p[2][2], right = 0, rc;

	need_uring();
	fd = temp_file(10000, 6);
	cr_assert(fd >= 0, "harness: a temporary file in /tmp: %s", strerror(errno));
	for (int i = 0; i < 4; i++) {
		cr_assert(pread(fd, want[i], LEN, offsets[i]) == expect[i], "harness: pread");
		r[i] = (struct uring_read){ fd, buf[i], LEN, offsets[i], -99999 };
	}
	for (int i = 0; i < 2; i++) {
		cr_assert(pipe(p[i]) == 0, "harness: pipe");
		memset(want[4 + i], 'a' + i, LEN);
		cr_assert(write(p[i][1], want[4 + i], LEN) == LEN, "harness: write");
		close(p[i][1]);
		r[4 + i] = (struct uring_read){ p[i][0], buf[4 + i], LEN, 0, -99999 };
	}
	memset(buf, 0, sizeof(buf));
	rc = uring_read_batch(r, N);
	for (int i = 0; i < N; i++)
		right += r[i].result == expect[i] && memcmp(buf[i], want[i], (size_t)expect[i]) == 0;
	AT_MEASURED("%d of %d reads came back whole and right", right, N);
	AT_HINT("each request reads len bytes of its own fd at its own offset (io_uring_prep_read's last argument); result = the bytes read, fewer at the end of the file");
	CHECK_RC(rc, "uring_read_batch()");
	for (int i = 0; i < N; i++)
		AT_CHECK(r[i].result == expect[i] && memcmp(buf[i], want[i], (size_t)expect[i]) == 0,
			 "request %d (%s, offset %lld): result %zd (%zd expected%s)%s", i,
			 i < 4 ? "a file" : "a pipe", (long long)r[i].offset, r[i].result, expect[i],
			 i == 3 ? ": the file ends 200 bytes after that offset" : "",
			 r[i].result == expect[i] ? ", but the bytes are not those at that offset" : "");
	close(fd);
	close(p[0][0]);
	close(p[1][0]);
	AT_END();
}

/* ---- calls made under the guard (uring_guard.h) --------------------------- */

struct batch_call {
	struct uring_read *r;
	int n, rc;
	long threads, forks;      /* pthread_create() and fork() calls it made */
};

static void call_batch(void *arg)
{
	struct batch_call *c = arg;

	at_calls_reset();
	c->rc = uring_read_batch(c->r, c->n);
	c->threads = at_pthread_create_calls();
	c->forks = at_fork_calls();
}

struct copy_call {
	int in, out;
	size_t block;
	unsigned depth;
	ssize_t rc;
};

static void call_copy(void *arg)
{
	struct copy_call *c = arg;

	c->rc = uring_copy(c->in, c->out, c->block, c->depth);
}

/*
 * A call that the guard only watches (counts), where a missing seccomp
 * must not cost the test: made without it then. Returns true when the
 * counts in g are real.
 */
static bool watched(struct guard *g, void (*fn)(void *), void *arg)
{
	enum guard_status st;

	guard_init(g, GUARD_WATCH, false);
	st = guard_run(g, fn, arg, CALL_MS);
	if (st == GUARD_UNAVAILABLE) {          /* the filter's self-check failed */
		fn(arg);
		g->returned = true;
	}
	return st == GUARD_RAN;
}

/* The data-moving system calls refused during the call, or "none". */
static const char *refused_text(const struct guard *g)
{
	static char buf[400];

	guard_refused_text(g, buf, sizeof(buf));
	return buf[0] ? buf : "none";
}

/* What the ring carried, in words. */
static const char *carried_text(const struct guard *g)
{
	static char buf[300];

	snprintf(buf, sizeof(buf),
		 "%ld read(s), %ld write(s), %ld splice/tee, %ld other request(s) (NOPs, polls...)%s in %ld io_uring_enter() call(s) that submitted%s",
		 g->reads, g->writes, g->moves, g->others,
		 g->unknown ? " and some this kernel does not list" : "", g->submit_enters,
		 g->sqpoll_off ? " (SQPOLL turned off while measured: its kernel thread submits without a system call)" : "");
	return buf;
}

#define CHECK_RETURNED(g, call)                                                                  \
	AT_CHECK((g).returned, "%s did not return within %d s (refused system calls so far: %s)", \
		 (call), CALL_MS / 1000, refused_text(&(g)))

/* ---- gated: all in flight at once ------------------------------------- */

static const int gated_counts[] = { 6, 16, 64 };
enum { N_COUNTS = sizeof(gated_counts) / sizeof(gated_counts[0]) };

struct gated_run {
	int n, rc, right, drained, stuck;
	bool timed_out, returned;
	long in_flight;           /* the most reads in flight at once; -1: not measured */
	char order[256];
};

/* One gated batch of n pipes; the trace of the last one run is kept. */
static void gated_once(int n, struct gated_run *out)
{
	static struct pipe_gate g;
	static struct uring_read r[GATE_MAX];
	static char buf[GATE_MAX][512];
	struct batch_call c = { r, n, -99999, 0, 0 };
	struct guard gd;
	bool counted;

	cr_assert(gate_init(&g, n, 1, 64, STEP_MS), "harness: pipe() failed");
	g.trace = at_trace_global();
	at_trace_reset(g.trace);
	set_reqs(r, &g, buf);
	cr_assert(gate_start(&g), "harness: pthread_create");
	counted = watched(&gd, call_batch, &c);
	gate_finish(&g);
	*out = (struct gated_run){ .n = n, .rc = c.rc, .right = count_right(r, &g, buf),
				   .drained = g.drained, .stuck = g.stuck, .timed_out = g.timed_out,
				   .returned = gd.returned, .in_flight = counted ? gd.max_in_flight : -1 };
	gate_order(&g, out->order, sizeof(out->order));
	if (n > 6) {                  /* the first few tell the story */
		char *p = out->order;

		for (int k = 0; k < 4 && p; k++)
			p = strchr(p + 1, ' ');
		if (p)
			strcpy(p, " ...");
	}
}

/* "6 pipes: 6 of 6 read in the secret order, 6 in flight at most; ..." */
static const char *gated_text(const struct gated_run *runs, int done)
{
	static char buf[1024];
	size_t o = 0;

	buf[0] = '\0';
	for (int i = 0; i < done && o + 120 < sizeof(buf); i++) {
		char flight[32] = "?";

		if (runs[i].in_flight >= 0)
			snprintf(flight, sizeof(flight), "%ld", runs[i].in_flight);
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%d pipes: %d of %d read in the secret order %s, at most %s in flight",
				      i ? "; " : "", runs[i].n, runs[i].drained, runs[i].n, runs[i].order, flight);
	}
	return buf;
}

Test(io_uring, gated, .description = "6, then 16, then 64 pipes whose data comes one at a time in a secret order (the last pipe first), each only after the previous one was read: every read must be in flight at once, whatever their number")
{
	struct gated_run runs[N_COUNTS];
	const struct gated_run *bad = NULL;
	int done = 0;

	need_uring();
	for (int i = 0; i < N_COUNTS && !bad; i++) {
		gated_once(gated_counts[i], &runs[i]);
		done++;
		if (runs[i].timed_out || runs[i].right != runs[i].n || runs[i].rc != 0 || !runs[i].returned)
			bad = &runs[i];
	}
	at_trace_attach("gated", "pipes released in a secret order: one slice per pipe, release -> read");
	AT_MEASURED("%s", gated_text(runs, done));
	AT_HINT("queue every read (io_uring_get_sqe + io_uring_prep_read each, a ring with room for all n), submit them, then reap completions in the order they come; a cap on the reads in flight leaves the pipe released first without a reader");
	if (bad) {
		AT_CHECK(bad->returned, "with %d pipes, uring_read_batch() did not return within %d s", bad->n, CALL_MS / 1000);
		CHECK_RC(bad->rc, "uring_read_batch()");
		AT_CHECK(!bad->timed_out || bad->in_flight < 1 || bad->in_flight >= bad->n,
			 "with %d pipes, pipe %d's data waited %d ms and was never read: at most %ld of the %d reads were ever in flight at once, the others were to be submitted only after some had completed (one at a time, a cap, or waves?)",
			 bad->n, bad->stuck, STEP_MS, bad->in_flight, bad->n);
		AT_CHECK(!bad->timed_out,
			 "with %d pipes, pipe %d's data waited %d ms and was never read: your code was waiting on another pipe, whose turn had not come (one read at a time?)",
			 bad->n, bad->stuck, STEP_MS);
		AT_CHECK(bad->right == bad->n, "with %d pipes, %d requests got their bytes", bad->n, bad->right);
	}
	AT_END();
}

/* ---- one thread --------------------------------------------------------- */

Test(io_uring, one_thread, .description = "a batch of 16 reads creates no thread and no process, by any means (pthread_create, fork, or any clone() system call): the calling thread does it all")
{
	struct pipe_gate g;
	struct uring_read r[N_MANY];
	char buf[N_MANY][512];
	struct batch_call c = { r, N_MANY, -99999, 0, 0 };
	struct guard gd;
	char counted[40] = "not counted here (no seccomp)";
	long clones;

	need_uring();
	cr_assert(filled_pipes(&g, N_MANY, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	clones = watched(&gd, call_batch, &c) ? gd.clones : -1;
	close_reads(&g);
	if (clones >= 0)
		snprintf(counted, sizeof(counted), "%ld", clones);
	AT_MEASURED("%ld thread(s) and %ld process(es) created for %d reads (pthread_create, fork); clone()/fork() system calls in all: %s",
		    c.threads, c.forks, N_MANY, counted);
	AT_HINT("the ring is what lets one thread wait for many reads: no thread, no process, however made");
	CHECK_RETURNED(gd, "uring_read_batch()");
	CHECK_RC(c.rc, "uring_read_batch()");
	AT_CHECK(c.threads == 0, "uring_read_batch() created %ld thread(s): concurrent, but not one thread", c.threads);
	AT_CHECK(c.forks == 0, "uring_read_batch() forked %ld process(es)", c.forks);
	AT_CHECK(clones <= 0,
		 "uring_read_batch() made %ld clone()/fork() system call(s): a thread or process started another way (thrd_create, clone...) is still not one thread",
		 clones);
	AT_END();
}

/* ---- through the ring ----------------------------------------------------- */

Test(io_uring, through_ring, .description = "the bytes of 16 reads come through the ring and nothing else: every system call that could move them (read, pread, readv, splice, vmsplice, sendfile, mmap...) is refused on the harness's pipes during the call")
{
	struct pipe_gate g;
	struct uring_read r[N_MANY];
	char buf[N_MANY][512];
	struct batch_call c = { r, N_MANY, -99999, 0, 0 };
	struct guard gd;
	int right;

	need_uring();
	cr_assert(filled_pipes(&g, N_MANY, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	guard_init(&gd, GUARD_REFUSE, true);
	for (int i = 0; i < N_MANY; i++)
		cr_assert(guard_protect(&gd, g.rfd[i]), "harness: fstat");
	if (guard_run(&gd, call_batch, &c, CALL_MS) == GUARD_UNAVAILABLE)
		AT_SKIP("%s", gd.why);
	right = count_right(r, &g, buf);
	close_reads(&g);
	AT_MEASURED("%d of %d requests right; data-moving system calls refused: %s; the ring carried %s",
		    right, N_MANY, refused_text(&gd), carried_text(&gd));
	AT_HINT("io_uring_prep_read() + a submission: the kernel reads for you; read(2), pread(2), splice(2) and the like are the lesson-05 way, and are refused during this check");
	CHECK_RETURNED(gd, "uring_read_batch()");
	AT_CHECK(gd.refused_total == 0,
		 "your code tried to move the data itself, by system call: %s (refused during this check): the bytes must come through the ring",
		 refused_text(&gd));
	CHECK_RC(c.rc, "uring_read_batch()");
	AT_CHECK(right == N_MANY, "%d of %d requests got their bytes", right, N_MANY);
	AT_END();
}

/* ---- batching -------------------------------------------------------------- */

Test(io_uring, batching, .description = "16 reads whose data is already there go to the kernel in a few system calls that carry the reads: every io_uring_enter() is counted with the requests it handed over, whatever made it")
{
	struct pipe_gate g;
	struct uring_read r[N_MANY];
	char buf[N_MANY][512];
	struct batch_call c = { r, N_MANY, -99999, 0, 0 };
	struct guard gd;
	int right;

	need_uring();
	cr_assert(filled_pipes(&g, N_MANY, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	guard_init(&gd, GUARD_REFUSE, true);
	for (int i = 0; i < N_MANY; i++)
		cr_assert(guard_protect(&gd, g.rfd[i]), "harness: fstat");
	if (guard_run(&gd, call_batch, &c, CALL_MS) == GUARD_UNAVAILABLE)
		AT_SKIP("%s", gd.why);
	right = count_right(r, &g, buf);
	close_reads(&g);
	AT_MEASURED("%ld io_uring_enter() call(s) handed the kernel read requests (at most %ld reads in one) for %d reads; the ring carried %s",
		    gd.data_enters, gd.max_reads_per_enter, N_MANY, carried_text(&gd));
	AT_HINT("queue every read first, then one submission for the lot (io_uring_submit, or io_uring_submit_and_wait); each io_uring_enter counts, whichever liburing call (or syscall()) made it");
	CHECK_RETURNED(gd, "uring_read_batch()");
	CHECK_RC(c.rc, "uring_read_batch()");
	AT_CHECK(gd.refused_total == 0,
		 "the data did not come through the ring: %s (refused during this check)", refused_text(&gd));
	AT_CHECK(right == N_MANY, "%d of %d requests got their bytes", right, N_MANY);
	AT_CHECK(gd.data_enters <= N_MANY / 4,
		 "%ld system calls (io_uring_enter) each handed the kernel reads, %ld reads in all, at most %ld in one, for %d requests: one system call per request is what io_uring saves you",
		 gd.data_enters, gd.reads + gd.unknown, gd.max_reads_per_enter, N_MANY);
	AT_END();
}

/* ---- a bad request fails alone ----------------------------------------------- */

Test(io_uring, bad_descriptor, .description = "a batch of 8 where four requests fail, each its own way (a closed descriptor and -1: -EBADF; a directory: -EISDIR; 4 bytes of an eventfd: -EINVAL): each gets its own error, the other four are read")
{
	enum { N = 8 };
	static const int bad[] = { 1, 3, 4, 6 };
	static const int want[] = { -EBADF, -EISDIR, -EBADF, -EINVAL };
	struct pipe_gate g;
	struct uring_read r[N];
	char buf[N][512];
	int rc, good = 0, closed_fd, dir, efd;

	need_uring();
	cr_assert(filled_pipes(&g, N, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	/* A number that is not open, and high enough not to be reused by the
	 * ring's own descriptor. */
	closed_fd = 900;
	while (fcntl(closed_fd, F_GETFD) != -1)
		closed_fd++;
	dir = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	efd = eventfd(1, EFD_CLOEXEC);
	cr_assert(dir >= 0 && efd >= 0, "harness: open(/tmp) or eventfd: %s", strerror(errno));
	r[1].fd = closed_fd;      /* not open */
	r[3].fd = dir;            /* a directory: no bytes to read */
	r[4].fd = -1;             /* not a descriptor at all */
	r[6].fd = efd;            /* an eventfd reads 8 bytes or nothing */
	r[6].len = 4;
	rc = uring_read_batch(r, N);
	for (int i = 0; i < N; i++)
		if (i != 1 && i != 3 && i != 4 && i != 6)
			good += r[i].result == 100 && memcmp(buf[i], g.data[i], 100) == 0;
	close_reads(&g);
	close(dir);
	close(efd);
	AT_MEASURED("bad requests: %zd %zd %zd %zd (%d %d %d %d expected: -EBADF -EISDIR -EBADF -EINVAL); good ones read: %d of 4",
		    r[1].result, r[3].result, r[4].result, r[6].result, want[0], want[1], want[2], want[3], good);
	AT_HINT("a completion with res < 0 ends that request alone, with result = res as it is; keep reaping the others");
	CHECK_RC(rc, "uring_read_batch()");
	for (int k = 0; k < 4; k++)
		AT_CHECK(r[bad[k]].result == want[k], "request %d: result %zd, not %d (its own error, as the kernel gave it)",
			 bad[k], r[bad[k]].result, want[k]);
	AT_CHECK(good == 4, "only %d of the 4 good requests got their bytes: the bad requests spoiled the batch", good);
	AT_END();
}

/* ---- short reads --------------------------------------------------------------- */

Test(io_uring, short_reads, .description = "6 pipes whose 300 bytes each come in 3 pieces, in a secret order each round: every request is completed, not cut short")
{
	struct pipe_gate g;
	struct uring_read r[N_SHORT];
	char buf[N_SHORT][512];
	int rc, right;

	need_uring();
	cr_assert(gate_init(&g, N_SHORT, PIECES, 300, STEP_MS), "harness: pipe() failed");
	set_reqs(r, &g, buf);
	cr_assert(gate_start(&g), "harness: pthread_create");
	rc = uring_read_batch(r, N_SHORT);
	gate_finish(&g);
	right = count_right(r, &g, buf);
	AT_MEASURED("%d of %d requests complete; %d of %d pieces read in the secret order; results: %zd %zd %zd %zd %zd %zd",
		    right, N_SHORT, g.drained, N_SHORT * PIECES,
		    r[0].result, r[1].result, r[2].result, r[3].result, r[4].result, r[5].result);
	AT_HINT("a read that returns fewer bytes than asked (but more than 0) is not the end: queue a read for the rest (buf + done, len - done)");
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(right == N_SHORT,
		 "%d of %d requests came back whole (each pipe's bytes came in %d pieces): a short read was taken for the end",
		 right, N_SHORT, PIECES);
	AT_CHECK(!g.timed_out, "a piece for pipe %d waited %d ms and was never read", g.stuck, STEP_MS);
	AT_END();
}

/* ---- boundaries -------------------------------------------------------------------- */

Test(io_uring, boundaries, .description = "reads that end exactly on a boundary: a pipe holding more than the request (the rest stays in the pipe), one byte short of it then end of file, a 1-byte request, a request filled exactly with the pipe left open, and file reads that end at, cross or start past the end")
{
	enum { N = 8, LEN = 300, FILE_SIZE = 1000, MARGIN = 200 };
	static const size_t a[] = { 250, 150 }, b[] = { 150, 149 }, c1[] = { 5 }, d[] = { 200, 100 };
	static const off_t offs[4] = { 0, 999, FILE_SIZE, 4096 };
	static const size_t flen[4] = { FILE_SIZE, 10, 10, 10 };
	static const ssize_t expect[N] = { LEN, LEN - 1, 1, LEN, FILE_SIZE, 1, 0, 0 };
	static const int left_expected[4] = { 100, 0, 4, 0 };
	static const char *what[N] = {
		"a pipe holding 400 bytes (250, then 150) for a 300-byte request",
		"a pipe holding 299 bytes (150, then 149), then end of file",
		"a 1-byte request on a pipe holding 5",
		"a pipe holding exactly 300 bytes (200, then 100), left open",
		"a file of 1000 bytes, read whole from offset 0",
		"the same file, 10 bytes from offset 999",
		"the same file, 10 bytes from offset 1000 (its end)",
		"the same file, 10 bytes from offset 4096 (past its end)",
	};
	static char buf[N][FILE_SIZE + MARGIN], want[FILE_SIZE];
	struct pipe_feeder f;
	struct uring_read r[N];
	int fd, rc, right = 0, left[4] = { -1, -1, -1, -1 }, overrun = -1;

	need_uring();
	fd = temp_file(FILE_SIZE, 7);
	cr_assert(fd >= 0 && pread(fd, want, FILE_SIZE, 0) == FILE_SIZE, "harness: a temporary file in /tmp");
	feeder_init(&f, STEP_MS);
	cr_assert(feeder_add(&f, a, 2, false) && feeder_add(&f, b, 2, true) &&
		  feeder_add(&f, c1, 1, false) && feeder_add(&f, d, 2, false), "harness: pipes");
	memset(buf, '#', sizeof(buf));
	for (int i = 0; i < 4; i++)
		r[i] = (struct uring_read){ f.p[i].rfd, buf[i], i == 2 ? 1 : LEN, 0, -99999 };
	for (int i = 0; i < 4; i++)
		r[4 + i] = (struct uring_read){ fd, buf[4 + i], flen[i], offs[i], -99999 };
	cr_assert(feeder_start(&f), "harness: pthread_create");
	rc = uring_read_batch(r, N);
	feeder_finish(&f);
	for (int i = 0; i < 4; i++)
		if (ioctl(f.p[i].rfd, FIONREAD, &left[i]) != 0)
			left[i] = -1;
	for (int i = 0; i < N; i++) {
		const char *src = i < 4 ? f.p[i].data : want + offs[i - 4];
		size_t asked = r[i].len;
		bool ok = r[i].result == expect[i] && memcmp(buf[i], src, (size_t)(expect[i] > 0 ? expect[i] : 0)) == 0;

		for (size_t k = asked; k < asked + MARGIN && overrun < 0; k++)
			if (buf[i][k] != '#')
				overrun = i;
		if (i < 4)
			ok = ok && left[i] == left_expected[i];
		right += ok;
	}
	feeder_close(&f);
	close(fd);
	AT_MEASURED("%d of %d requests right at their boundary; results: %zd %zd %zd %zd %zd %zd %zd %zd; bytes left in the pipes: %d %d %d %d",
		    right, N, r[0].result, r[1].result, r[2].result, r[3].result, r[4].result, r[5].result,
		    r[6].result, r[7].result, left[0], left[1], left[2], left[3]);
	AT_HINT("after a short read, ask for exactly what is missing (buf + done, len - done, offset + done); a request is done when it is full, at end of file (res 0), or failed, and then nothing more is read for it");
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(overrun < 0, "request %d (%s): bytes were written past its len, into the caller's memory", overrun,
		 overrun >= 0 ? what[overrun] : "");
	AT_CHECK(!f.timed_out, "a piece for pipe %d waited %d ms and was never read", f.stuck, STEP_MS);
	AT_CHECK(!f.closed_on_reader,
		 "uring_read_batch() returned only after the harness closed the pipes: it asked for more than a full request (request 3, %s, was complete at 300 bytes)",
		 what[3]);
	for (int i = 0; i < N; i++)
		AT_CHECK(r[i].result == expect[i], "request %d (%s): result %zd, %zd expected", i, what[i], r[i].result, expect[i]);
	for (int i = 0; i < 4; i++)
		AT_CHECK(left[i] == left_expected[i], "request %d (%s): %d bytes left in its pipe, %d expected: a request takes its len bytes and no more",
			 i, what[i], left[i], left_expected[i]);
	AT_CHECK(right == N, "%d of %d requests got exactly their bytes", right, N);
	AT_END();
}

/* ---- limits ------------------------------------------------------------------------ */

/* Run fn(shared) in a child process that dies at the deadline: for calls
 * that may hang or crash. The child reports through `shared` (MAP_SHARED
 * memory). Returns "" when it exited 0, else what became of it. */
static const char *in_child(void (*fn)(void *), void *shared, int ms)
{
	static char fate[120];
	int64_t end = at_now_ns() + (int64_t)ms * 1000000;
	int status = 0;
	pid_t pid = fork();

	fate[0] = '\0';
	if (pid == 0) {           /* the child: no assertion here */
		alarm((unsigned)(ms / 1000 + 1));
		fn(shared);
		_exit(0);
	}
	cr_assert(pid > 0, "harness: fork");
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (at_now_ns() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			snprintf(fate, sizeof(fate), "it did not finish within %d s", ms / 1000);
			return fate;
		}
		usleep(1000);
	}
	if (WIFSIGNALED(status))
		snprintf(fate, sizeof(fate), "the child running it died of signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WEXITSTATUS(status) != 0)
		snprintf(fate, sizeof(fate), "the child running it exited with status %d", WEXITSTATUS(status));
	return fate;
}

static void *shared_memory(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	cr_assert(p != MAP_FAILED, "harness: mmap");
	memset(p, 0, size);
	return p;
}

/* Copy a fresh file of `size` bytes into a fresh empty one; the first
 * difference comes back in *diff (-1: none, -2: harness trouble). No
 * assertion inside: used in children too. */
static ssize_t copy_files(size_t size, size_t block, unsigned depth, long *diff)
{
	int in = temp_file(size, (unsigned)size + 3), out = temp_file(0, 0);
	struct stat st;
	ssize_t copied;

	*diff = -2;
	if (in < 0 || out < 0)
		return -99999;
	lseek(in, 0, SEEK_SET);
	copied = uring_copy(in, out, block, depth);
	if (fstat(out, &st) == 0)
		*diff = (size_t)st.st_size != size ? (long)((size_t)st.st_size < size ? (size_t)st.st_size : size)
						   : first_difference(in, out, size);
	close(in);
	close(out);
	return copied;
}

#define OVER (URING_BATCH_MAX + 1)

struct limits_report {
	int reached;                       /* the last step the child began */
	int rc_zero, rc_minus, rc_over;    /* n = 0, -1, 65: -EINVAL expected */
	int touched_over;                  /* requests read or changed by the n = 65 call */
	int rc_max, right_max;             /* n = 64: 0 and all 64 expected */
	long block0, depth0, depth_over;   /* uring_copy: -EINVAL expected */
	long written_einval;               /* bytes the refused copies wrote */
	long tiny, tiny_diff;              /* block 1, depth 64, 5000 bytes */
	long huge, huge_diff;              /* block 65536 > size, depth 1 */
};

static void limits_child(void *shared)
{
	struct limits_report *rep = shared;
	static struct uring_read r[OVER];
	static char buf[OVER][16];
	int rfd[OVER], in = temp_file(5000, 11), out = temp_file(0, 0);
	struct stat st;

	for (int i = 0; i < OVER; i++) {
		int p[2];

		if (pipe(p) != 0 || write(p[1], "0123456789", 10) != 10)
			_exit(3);
		close(p[1]);
		rfd[i] = p[0];
		r[i] = (struct uring_read){ p[0], buf[i], 10, 0, -99999 };
	}
	rep->reached = 1;
	rep->rc_zero = uring_read_batch(r, 0);
	rep->rc_minus = uring_read_batch(r, -1);
	rep->reached = 2;
	rep->rc_over = uring_read_batch(r, OVER);
	for (int i = 0; i < OVER; i++) {
		int left = 0;

		if (r[i].result != -99999 || ioctl(rfd[i], FIONREAD, &left) != 0 || left != 10)
			rep->touched_over++;
	}
	rep->reached = 3;
	rep->rc_max = uring_read_batch(r, URING_BATCH_MAX);
	for (int i = 0; i < URING_BATCH_MAX; i++)
		rep->right_max += r[i].result == 10 && memcmp(buf[i], "0123456789", 10) == 0;
	rep->reached = 4;
	rep->block0 = uring_copy(in, out, 0, DEPTH);
	lseek(in, 0, SEEK_SET);
	rep->depth0 = uring_copy(in, out, BLOCK, 0);
	lseek(in, 0, SEEK_SET);
	rep->depth_over = uring_copy(in, out, BLOCK, URING_BATCH_MAX + 1);
	rep->written_einval = fstat(out, &st) == 0 ? (long)st.st_size : -1;
	close(in);
	close(out);
	rep->reached = 5;
	rep->tiny = copy_files(5000, 1, URING_BATCH_MAX, &rep->tiny_diff);
	rep->reached = 6;
	rep->huge = copy_files(5000, 65536, 1, &rep->huge_diff);
	rep->reached = 7;
}

Test(io_uring, limits, .description = "the limits, exactly: n = 0, -1 and 65 are refused with -EINVAL before anything is read, n = 64 works; uring_copy() refuses block 0, depth 0 and depth 65 with -EINVAL, and works with blocks of 1 byte at depth 64, and one block bigger than the file at depth 1")
{
	static const char *steps[] = { "setting up", "n = 0 and n = -1", "n = 65", "n = 64",
				       "block 0, depth 0, depth 65", "block 1, depth 64", "block 65536, depth 1", "" };
	struct limits_report *rep = shared_memory(sizeof(*rep));
	const char *fate;
	char b[9][32];

	need_uring();
	fate = in_child(limits_child, rep, 8000);
	AT_MEASURED("uring_read_batch() with n = 0, -1, 65: %s %s %s (%d request(s) touched), n = 64: %s, %d of 64 read; uring_copy() with block 0, depth 0, depth 65: %s %s %s; block 1 at depth 64: %s, block 65536 at depth 1: %s (of 5000 bytes)",
		    rc_name(rep->rc_zero, b[0], 32), rc_name(rep->rc_minus, b[1], 32), rc_name(rep->rc_over, b[2], 32),
		    rep->touched_over, rc_name(rep->rc_max, b[3], 32), rep->right_max,
		    rc_name(rep->block0, b[4], 32), rc_name(rep->depth0, b[5], 32), rc_name(rep->depth_over, b[6], 32),
		    rc_name(rep->tiny, b[7], 32), rc_name(rep->huge, b[8], 32));
	AT_HINT("check the arguments first (1 <= n <= URING_BATCH_MAX; block >= 1, 1 <= depth <= URING_BATCH_MAX) and return -EINVAL before touching anything; size the ring and your arrays for the largest batch allowed");
	AT_CHECK(fate[0] == '\0', "at step \"%s\", %s", steps[rep->reached], fate);
	AT_CHECK(rep->rc_zero == -EINVAL && rep->rc_minus == -EINVAL,
		 "uring_read_batch() with n = 0 and n = -1 returned %s and %s, not -EINVAL", b[0], b[1]);
	AT_CHECK(rep->rc_over == -EINVAL, "uring_read_batch() with n = %d (one over URING_BATCH_MAX) returned %s, not -EINVAL: a batch too big must be refused, not cut short",
		 OVER, b[2]);
	AT_CHECK(rep->touched_over == 0, "uring_read_batch() with n = %d read or changed %d request(s) before refusing", OVER, rep->touched_over);
	CHECK_RC(rep->rc_max, "uring_read_batch() with n = 64");
	AT_CHECK(rep->right_max == URING_BATCH_MAX, "with n = 64, %d of 64 requests got their bytes", rep->right_max);
	AT_CHECK(rep->block0 == -EINVAL && rep->depth0 == -EINVAL && rep->depth_over == -EINVAL,
		 "uring_copy() with block 0, depth 0 and depth 65 returned %s, %s and %s, not -EINVAL each", b[4], b[5], b[6]);
	AT_CHECK(rep->written_einval == 0, "the refused copies wrote %ld bytes", rep->written_einval);
	AT_CHECK(rep->tiny == 5000 && rep->tiny_diff == -1,
		 "copying 5000 bytes in blocks of 1 at depth 64: uring_copy() returned %s, the copy differs from byte %ld on (-1: it does not)",
		 b[7], rep->tiny_diff);
	AT_CHECK(rep->huge == 5000 && rep->huge_diff == -1,
		 "copying 5000 bytes in one block of 65536 at depth 1: uring_copy() returned %s, the copy differs from byte %ld on (-1: it does not)",
		 b[8], rep->huge_diff);
	AT_END();
}

/* ---- the copy -------------------------------------------------------------------- */

/* Copy a fresh file of `size` bytes; returns the first difference (-1: none). */
static long copy_once(size_t size, size_t block, unsigned depth, ssize_t *copied)
{
	int in = temp_file(size, (unsigned)size + 1), out = temp_file(0, 0);
	struct stat st;
	long diff;

	cr_assert(in >= 0 && out >= 0, "harness: temporary files in /tmp: %s", strerror(errno));
	lseek(in, 0, SEEK_SET);   /* both at offset 0, as uring.h promises */
	lseek(out, 0, SEEK_SET);
	*copied = uring_copy(in, out, block, depth);
	cr_assert(fstat(out, &st) == 0, "harness: fstat");
	diff = (size_t)st.st_size != size ? (long)((size_t)st.st_size < size ? (size_t)st.st_size : size)
					  : first_difference(in, out, size);
	close(in);
	close(out);
	return diff;
}

Test(io_uring, copy_sizes, .description = "uring_copy() of files of 0, 1, 4095, 4096, 4097, 3*4096+17 and 1 MiB+13 bytes (blocks of 4096, depth 4): each copy byte for byte")
{
	static const size_t sizes[] = { 0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 17, (1 << 20) + 13 };
	enum { NS = sizeof(sizes) / sizeof(sizes[0]) };
	ssize_t copied[NS];
	long diff[NS];
	int same = 0, bad = -1;

	need_uring();
	for (int i = 0; i < NS; i++) {
		diff[i] = copy_once(sizes[i], BLOCK, DEPTH, &copied[i]);
		if (diff[i] < 0 && copied[i] == (ssize_t)sizes[i])
			same++;
		else if (bad < 0)
			bad = i;
	}
	AT_MEASURED("%d of %d copies byte-identical with the right count", same, NS);
	AT_HINT("the last block is size %% block bytes (maybe 0 blocks at all); write exactly what was read, at the offset it was read from");
	for (int i = 0; i < NS; i++) {
		AT_CHECK(copied[i] >= 0, "copying %zu bytes: %s", sizes[i],
			 rc_text(copied[i], "uring_copy()"));
		AT_CHECK(copied[i] == (ssize_t)sizes[i],
			 "copying %zu bytes: uring_copy() returned %zd", sizes[i], copied[i]);
		AT_CHECK(diff[i] < 0, "copying %zu bytes: the copy differs from byte %ld on", sizes[i], diff[i]);
	}
	AT_END();
}

/* A copy of `blocks` blocks made under the guard; diff as copy_files(). */
static ssize_t copy_guarded(struct guard *g, size_t size, unsigned depth, long *diff)
{
	int in = temp_file(size, 64), out = temp_file(0, 0);
	struct copy_call c = { in, out, BLOCK, depth, -99999 };

	cr_assert(in >= 0 && out >= 0, "harness: temporary files in /tmp: %s", strerror(errno));
	lseek(in, 0, SEEK_SET);
	cr_assert(guard_protect(g, in) && guard_protect(g, out), "harness: fstat");
	if (guard_run(g, call_copy, &c, CALL_MS) == GUARD_UNAVAILABLE) {
		close(in);
		close(out);
		AT_SKIP("%s", g->why);
	}
	*diff = g->returned ? first_difference(in, out, size) : -2;
	close(in);
	close(out);
	return c.rc;
}

Test(io_uring, copy_depth, .description = "uring_copy() of 128 blocks with depth 4, then 16, then 64: as many requests in flight at once as the depth asks (submitted and not yet reaped, counted at every io_uring_enter)")
{
	enum { BLOCKS = 128 };
	static const unsigned depths[] = { DEPTH, 16, URING_BATCH_MAX };
	enum { ND = sizeof(depths) / sizeof(depths[0]) };
	long in_flight[ND] = { 0 }, diff[ND] = { 0 }, enters = 0;
	ssize_t copied[ND] = { 0 };
	bool returned[ND] = { false };
	int done = 0, bad = -1;
	char text[300] = "";
	size_t o = 0;

	need_uring();
	for (int i = 0; i < ND && bad < 0; i++) {
		struct guard g;

		guard_init(&g, GUARD_WATCH, true);
		copied[i] = copy_guarded(&g, BLOCKS * BLOCK, depths[i], &diff[i]);
		in_flight[i] = g.max_in_flight;
		returned[i] = g.returned;
		enters += g.enters;
		done++;
		if (!g.returned || copied[i] != BLOCKS * BLOCK || diff[i] != -1 || in_flight[i] < (long)depths[i])
			bad = i;
	}
	for (int i = 0; i < done; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%sdepth %u: at most %ld in flight", i ? ", " : "",
				      depths[i], in_flight[i]);
	AT_MEASURED("%s (%d blocks each, %ld io_uring_enter() calls in all)", text, BLOCKS, enters);
	AT_HINT("start depth reads before waiting for any (a ring of depth entries); each time one finishes, queue the next step, and submit what is queued in one call");
	if (bad >= 0) {
		AT_CHECK(returned[bad], "with depth %u, uring_copy() did not return within %d s", depths[bad], CALL_MS / 1000);
		AT_CHECK(copied[bad] == BLOCKS * BLOCK, "with depth %u, %s", depths[bad],
			 copied[bad] < 0 ? rc_text(copied[bad], "uring_copy()") : "uring_copy() returned the wrong count");
		AT_CHECK(diff[bad] < 0, "with depth %u, the copy differs from byte %ld on", depths[bad], diff[bad]);
		AT_CHECK(in_flight[bad] >= (long)depths[bad],
			 "with depth %u, never more than %ld request(s) in flight at once: %s", depths[bad], in_flight[bad],
			 in_flight[bad] == 0 ? "no request went through a ring"
			 : in_flight[bad] == 1 ? "the copy waited for each before starting the next"
					       : "the copy keeps fewer requests in flight than it was asked to (a cap?)");
	}
	AT_END();
}

Test(io_uring, copy_through_ring, .description = "uring_copy() of 64 blocks moves its bytes through the ring and nothing else: every system call that could move them (read, write, mmap of the file, splice, sendfile, copy_file_range...) is refused on the two files during the call")
{
	enum { BLOCKS = 64 };
	struct guard g;
	ssize_t copied;
	long diff;
	char b[32];

	need_uring();
	guard_init(&g, GUARD_REFUSE, true);
	copied = copy_guarded(&g, BLOCKS * BLOCK + 5, DEPTH, &diff);
	AT_MEASURED("uring_copy() returned %s (of %d bytes); data-moving system calls refused: %s; the ring carried %s",
		    rc_name(copied, b, sizeof(b)), BLOCKS * BLOCK + 5, refused_text(&g), carried_text(&g));
	AT_HINT("io_uring_prep_read() and io_uring_prep_write() with offsets: the kernel does both halves; read(), write(), mmap() of the file, copy_file_range() are refused during this check");
	CHECK_RETURNED(g, "uring_copy()");
	AT_CHECK(g.refused_total == 0,
		 "your code tried to move the bytes itself, by system call: %s (refused during this check): the copy must go through the ring",
		 refused_text(&g));
	AT_CHECK(copied == BLOCKS * BLOCK + 5, "%s", copied < 0 ? rc_text(copied, "uring_copy()") : "uring_copy() returned the wrong count");
	AT_CHECK(diff < 0, "the copy differs from byte %ld on", diff);
	AT_END();
}

/* ---- a short write, at the file size limit ------------------------------------------- */

struct fsize_report {
	int reached;
	long at_limit, at_limit_diff;      /* limit = the file's size: all of it */
	long over, over_size, over_diff;   /* limit one byte less: -EFBIG */
};

enum { FSIZE_FILE = 2 * BLOCK + 1808 };   /* 10000 bytes: the last block is 1808 */

static void fsize_child(void *shared)
{
	struct fsize_report *rep = shared;
	int in = temp_file(FSIZE_FILE, 5), out1 = temp_file(0, 0), out2 = temp_file(0, 0);
	struct rlimit rl;
	struct stat st;

	if (in < 0 || out1 < 0 || out2 < 0 || getrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(3);
	signal(SIGXFSZ, SIG_IGN);     /* past the limit: EFBIG, not a signal */
	lseek(in, 0, SEEK_SET);
	rl.rlim_cur = FSIZE_FILE;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(4);
	rep->reached = 1;
	rep->at_limit = uring_copy(in, out1, BLOCK, DEPTH);
	rep->at_limit_diff = first_difference(in, out1, FSIZE_FILE);
	rl.rlim_cur = FSIZE_FILE - 1;
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(4);
	rep->reached = 2;
	lseek(in, 0, SEEK_SET);
	rep->over = uring_copy(in, out2, BLOCK, DEPTH);
	rep->over_size = fstat(out2, &st) == 0 ? (long)st.st_size : -1;
	rep->over_diff = first_difference(in, out2, FSIZE_FILE - 1);
	rep->reached = 3;
}

Test(io_uring, copy_short_write, .description = "uring_copy() of 10000 bytes under a file size limit (RLIMIT_FSIZE): at exactly 10000 the copy is whole; at 9999 the last write comes back one byte short and its rest fails: uring_copy() returns -EFBIG, not a count, and the 9999 bytes written are right")
{
	static const char *steps[] = { "setting up", "the limit at 10000", "the limit at 9999", "" };
	struct fsize_report *rep = shared_memory(sizeof(*rep));
	const char *fate;
	char b[2][32];

	need_uring();
	fate = in_child(fsize_child, rep, 8000);
	AT_MEASURED("limit = the size: uring_copy() returned %s; limit one byte less: %s (-EFBIG = %d expected), %ld bytes written",
		    rc_name(rep->at_limit, b[0], 32), rc_name(rep->over, b[1], 32), -EFBIG, rep->over_size);
	AT_HINT("a write that returns fewer bytes than asked is not done: queue the rest (buf + done, len - done, offset + done); a negative res then is the copy's error, returned once what is in flight has come back");
	AT_CHECK(fate[0] == '\0', "at step \"%s\", %s", steps[rep->reached], fate);
	AT_CHECK(rep->at_limit == FSIZE_FILE && rep->at_limit_diff == -1,
		 "with the limit at exactly the file's size, uring_copy() returned %s and the copy differs from byte %ld on (-1: it does not): nothing may be written past the end",
		 rc_name(rep->at_limit, b[0], 32), rep->at_limit_diff);
	AT_CHECK(rep->over == -EFBIG,
		 "with the limit one byte short, uring_copy() returned %s, not -EFBIG (%d): the last write was short by one byte and the rest could not be written%s",
		 rc_name(rep->over, b[1], 32), -EFBIG, rep->over == FSIZE_FILE ? ": a short write was counted as whole" : "");
	AT_CHECK(rep->over_size == FSIZE_FILE - 1 && rep->over_diff == -1,
		 "with the limit one byte short, the copy holds %ld bytes, differing from byte %ld on (-1: it does not): the 9999 bytes that fit must be right",
		 rep->over_size, rep->over_diff);
	AT_END();
}

/* ---- refused ---------------------------------------------------------------------- */

struct refused_report {
	int probe;          /* errno of the probe */
	int batch;          /* uring_read_batch()'s return */
	long copy;          /* uring_copy()'s return */
	int installed;      /* the seccomp filter went in */
};

/* In a child: refuse io_uring with EPERM for real, then call the code. */
static void refused_child(int out)
{
	struct refused_report rep = { 0, 0, 0, 0 };
	char buf[16];
	int p[2], in = -1, dst = -1;
	char path[] = "/tmp/atonce-uring-XXXXXX";

	alarm(5);  /* whatever the code does, this child ends */
	if (pipe(p) == 0 && write(p[1], "hello", 5) == 5) {
		rep.installed = uring_refuse(EPERM);
		if (rep.installed) {
			struct uring_read r = { p[0], buf, 5, 0, -99999 };

			rep.probe = uring_probe();
			rep.batch = uring_read_batch(&r, 1);
			in = mkstemp(path);
			unlink(path);
			dst = dup(in);
			rep.copy = (long)uring_copy(in, dst, BLOCK, DEPTH);
		}
	}
	if (write(out, &rep, sizeof(rep)) != (ssize_t)sizeof(rep))
		_exit(2);
	_exit(0);
}

Test(io_uring, refused, .description = "where io_uring is refused (a seccomp filter makes io_uring_setup fail with EPERM, as Docker's does): both calls return -EPERM at once, and the tests skip with the reason")
{
	struct refused_report rep = { -1, -1, -1, 0 };
	int p[2], status = 0;
	struct pollfd pf;
	pid_t pid;
	ssize_t got = 0;
	char fate[80] = "", b1[32], b2[32];

	cr_assert(pipe(p) == 0, "harness: pipe");
	pid = fork();
	if (pid == 0) {           /* the child: no assertion here (see the brief's facts) */
		close(p[0]);
		refused_child(p[1]);
	}
	cr_assert(pid > 0, "harness: fork");
	close(p[1]);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	if (poll(&pf, 1, 6000) == 1)
		got = read(p[0], &rep, sizeof(rep));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	close(p[0]);
	if (got != (ssize_t)sizeof(rep) && WIFSIGNALED(status))
		snprintf(fate, sizeof(fate), "the child died of signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	if (got == (ssize_t)sizeof(rep) && !rep.installed)
		AT_SKIP("this machine cannot install a seccomp filter to refuse io_uring");
	if (got != (ssize_t)sizeof(rep))
		AT_MEASURED("io_uring refused with EPERM: the child running your code never reported (%s)",
			    fate[0] ? fate : "no answer within 6 s");
	else
		AT_MEASURED("io_uring refused with EPERM: the probe got %s; uring_read_batch() returned %s, uring_copy() %s (-EPERM expected)",
			    strerrorname_np(rep.probe) ? strerrorname_np(rep.probe) : "?",
			    rc_name(rep.batch, b1, sizeof(b1)), rc_name(rep.copy, b2, sizeof(b2)));
	AT_HINT("check what io_uring_queue_init() returns: when it is negative, return it (-EPERM) before touching the ring");
	AT_CHECK(got == (ssize_t)sizeof(rep),
		 "with io_uring refused, the calls did not return within 5 s%s%s", fate[0] ? ": " : "", fate);
	AT_CHECK(rep.probe == EPERM && strstr(uring_refusal(EPERM), "seccomp") &&
		 strstr(uring_refusal(ENOSYS), "kernel"),
		 "harness: the probe saw %d, not EPERM", rep.probe);
	AT_CHECK(rep.batch == -EPERM, "where io_uring is refused, %s, not -EPERM (%d)",
		 rc_text(rep.batch, "uring_read_batch()"), -EPERM);
	AT_CHECK(rep.copy == -EPERM, "where io_uring is refused, %s, not -EPERM (%d)",
		 rc_text(rep.copy, "uring_copy()"), -EPERM);
	AT_END();
}
