/*
 * Description: lesson 06 - does uring_read_batch() keep every read in
 * flight at once (gated pipes released in a secret order), on one thread,
 * through the ring rather than read(2), in one batch; does one bad request
 * fail alone, is a short read finished; does uring_copy() copy every size
 * byte for byte with several requests in flight; and when io_uring is
 * refused, do both say so instead of hanging?
 *
 * The code under test runs in the test's own process (as in lesson 02):
 * its submissions pass through counters (uring_test.h, -Wl,--wrap), and
 * the kernel's per-process count of read and write system calls
 * (/proc/self/io) shows whether the bytes came through the ring.
 * Compare with harness/05-event-loop/test_server.c: the same secret-order
 * gate, with pipes instead of sockets.
 */
#include "at_count.h"
#include "at_test.h"
#include "uring.h"
#include "uring_test.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define N_GATED   8      /* gated pipes: a lucky order is 1 in 40,320 */
#define N_SHORT   6      /* pipes whose data comes in pieces: 1 in 720 per round */
#define PIECES    3
#define N_MANY    16     /* requests in the batching and counting tests */
#define STEP_MS   1000   /* how long one piece may wait to be read */
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

/* ---- gated: all in flight at once ------------------------------------- */

Test(io_uring, gated, .description = "8 pipes whose data comes one at a time in a secret order, each only after the previous one was read: every read must be in flight at once")
{
	struct pipe_gate g;
	struct uring_read r[N_GATED];
	char buf[N_GATED][512], order[64];
	int rc, right;

	need_uring();
	cr_assert(gate_init(&g, N_GATED, 1, 64, STEP_MS), "harness: pipe() failed");
	g.trace = at_trace_global();
	at_trace_reset(g.trace);
	set_reqs(r, &g, buf);
	submits_reset();
	cr_assert(gate_start(&g), "harness: pthread_create");
	rc = uring_read_batch(r, N_GATED);
	gate_finish(&g);
	right = count_right(r, &g, buf);
	at_trace_attach("gated", "pipes released in a secret order: one slice per pipe, release -> read");
	AT_MEASURED("%d of %d pipes read in the secret order %s; at most %ld requests outstanding at once",
		    g.drained, N_GATED, gate_order(&g, order, sizeof(order)), submits.max_outstanding);
	AT_HINT("queue all %d reads (io_uring_get_sqe + io_uring_prep_read each), submit them once, then reap completions in the order they come (io_uring_wait_cqe)", N_GATED);
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(!g.timed_out,
		 "pipe %d's data waited %d ms and was never read: your code was waiting on another pipe, whose turn had not come (one read at a time?)",
		 g.stuck, STEP_MS);
	AT_CHECK(right == N_GATED, "%d of %d requests got their bytes", right, N_GATED);
	AT_END();
}

/* ---- one thread --------------------------------------------------------- */

Test(io_uring, one_thread, .description = "a batch of 16 reads creates no thread and no process: the calling thread does it all")
{
	struct pipe_gate g;
	struct uring_read r[N_MANY];
	char buf[N_MANY][512];
	long threads, forks;
	int rc;

	need_uring();
	cr_assert(filled_pipes(&g, N_MANY, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	at_calls_reset();
	rc = uring_read_batch(r, N_MANY);
	threads = at_pthread_create_calls();
	forks = at_fork_calls();
	close_reads(&g);
	AT_MEASURED("%ld thread(s) and %ld process(es) created for %d reads", threads, forks, N_MANY);
	AT_HINT("the ring is what lets one thread wait for many reads: no pthread_create, no fork");
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(threads == 0, "uring_read_batch() created %ld thread(s): concurrent, but not one thread", threads);
	AT_CHECK(forks == 0, "uring_read_batch() forked %ld process(es)", forks);
	AT_END();
}

/* ---- through the ring ----------------------------------------------------- */

Test(io_uring, through_ring, .description = "the bytes of 16 reads come through the ring: the kernel counts no read(2)-family system call")
{
	struct pipe_gate g;
	struct uring_read r[N_MANY];
	char buf[N_MANY][512];
	struct io_calls before = { 0, 0 }, made;
	bool counted;
	int rc, right;

	need_uring();
	cr_assert(filled_pipes(&g, N_MANY, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	/* No assertion between the two counts: an assertion is a message
	 * to Criterion's runner and back, a write and a read of our own. */
	counted = io_calls_now(&before);
	rc = uring_read_batch(r, N_MANY);
	made = io_calls_since(&before);
	cr_assert(counted, "harness: cannot read /proc/self/io");
	right = count_right(r, &g, buf);
	close_reads(&g);
	AT_MEASURED("%ld read-family system calls (read, pread, readv...) for %d requests, %d of them right",
		    made.syscr, N_MANY, right);
	AT_HINT("io_uring_prep_read() + a submission: the kernel reads for you; read(2) and pread(2) are the lesson-05 way");
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(right == N_MANY, "%d of %d requests got their bytes", right, N_MANY);
	AT_CHECK(made.syscr <= 1,
		 "the process made %ld read-family system calls (/proc/self/io syscr) for %d requests: the data did not come through the ring",
		 made.syscr, N_MANY);
	AT_END();
}

/* ---- batching -------------------------------------------------------------- */

Test(io_uring, batching, .description = "16 reads whose data is already there go to the kernel in a few submissions, not one each")
{
	struct pipe_gate g;
	struct uring_read r[N_MANY];
	char buf[N_MANY][512];
	int rc, right;

	need_uring();
	cr_assert(filled_pipes(&g, N_MANY, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	submits_reset();
	rc = uring_read_batch(r, N_MANY);
	right = count_right(r, &g, buf);
	close_reads(&g);
	AT_MEASURED("%ld submission(s) carried %ld requests (%d reads): %.1f per submission",
		    submits.calls, submits.requests, N_MANY,
		    submits.calls ? (double)submits.requests / (double)submits.calls : 0.0);
	AT_HINT("queue every read first, then one io_uring_submit() (or io_uring_submit_and_wait()) for the lot");
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(right == N_MANY, "%d of %d requests got their bytes", right, N_MANY);
	AT_CHECK(submits.calls >= 1, "no call of io_uring_submit*() was seen: use liburing's submission calls");
	AT_CHECK(submits.calls <= N_MANY / 4,
		 "%ld submissions for %d requests: one system call per request is what io_uring saves you",
		 submits.calls, N_MANY);
	AT_END();
}

/* ---- a bad request fails alone ----------------------------------------------- */

Test(io_uring, bad_descriptor, .description = "a batch of 6 where two requests have bad descriptors: those two fail with -EBADF, the other four are read")
{
	struct pipe_gate g;
	struct uring_read r[6];
	char buf[6][512];
	int rc, good = 0, closed_fd;

	need_uring();
	cr_assert(filled_pipes(&g, 6, 100), "harness: pipes");
	set_reqs(r, &g, buf);
	/* A number that is not open, and high enough not to be reused by the
	 * ring's own descriptor. */
	closed_fd = 900;
	while (fcntl(closed_fd, F_GETFD) != -1)
		closed_fd++;
	r[1].fd = closed_fd;      /* a descriptor that is not open */
	r[4].fd = -1;             /* not a descriptor at all */
	rc = uring_read_batch(r, 6);
	for (int i = 0; i < 6; i++)
		if (i != 1 && i != 4)
			good += r[i].result == 100 && memcmp(buf[i], g.data[i], 100) == 0;
	close_reads(&g);
	AT_MEASURED("bad requests: %zd and %zd (-EBADF = %d expected); good ones read: %d of 4",
		    r[1].result, r[4].result, -EBADF, good);
	AT_HINT("a completion with res < 0 ends that request alone (result = res); keep reaping the others");
	CHECK_RC(rc, "uring_read_batch()");
	AT_CHECK(r[1].result == -EBADF && r[4].result == -EBADF,
		 "the bad requests' results are %zd and %zd, not -EBADF (%d)", r[1].result, r[4].result, -EBADF);
	AT_CHECK(good == 4, "only %d of the 4 good requests got their bytes: one bad request spoiled the batch", good);
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

Test(io_uring, copy_depth, .description = "uring_copy() of 64 blocks with depth 4: at least 4 requests outstanding at once, in few submissions")
{
	enum { BLOCKS = 64 };
	ssize_t copied;
	long diff;

	need_uring();
	submits_reset();
	diff = copy_once(BLOCKS * BLOCK, BLOCK, DEPTH, &copied);
	AT_MEASURED("at most %ld requests outstanding at once (depth %d); %ld submissions carried %ld requests",
		    submits.max_outstanding, DEPTH, submits.calls, submits.requests);
	AT_HINT("start depth reads before waiting for any; each time one finishes, queue the next step, and submit what is queued in one call");
	AT_CHECK(copied == BLOCKS * BLOCK, "%s", copied < 0 ? rc_text(copied, "uring_copy()") : "uring_copy() returned the wrong count");
	AT_CHECK(diff < 0, "the copy differs from byte %ld on", diff);
	AT_CHECK(submits.max_outstanding >= DEPTH,
		 "never more than %ld request(s) outstanding at once: the copy waited for each before starting the next",
		 submits.max_outstanding);
	AT_END();
}

Test(io_uring, copy_through_ring, .description = "uring_copy() of 64 blocks moves its bytes through the ring: no read(2) or write(2) family call")
{
	enum { BLOCKS = 64 };
	int in, out;
	struct io_calls before = { 0, 0 }, made;
	bool counted;
	ssize_t copied;
	long diff;

	need_uring();
	in = temp_file(BLOCKS * BLOCK + 5, 64);
	out = temp_file(0, 0);
	cr_assert(in >= 0 && out >= 0, "harness: temporary files in /tmp: %s", strerror(errno));
	lseek(in, 0, SEEK_SET);
	lseek(out, 0, SEEK_SET);
	/* No assertion between the two counts: an assertion is a message
	 * to Criterion's runner and back, a write and a read of our own. */
	counted = io_calls_now(&before);
	copied = uring_copy(in, out, BLOCK, DEPTH);
	made = io_calls_since(&before);
	cr_assert(counted, "harness: cannot read /proc/self/io");
	diff = first_difference(in, out, BLOCKS * BLOCK + 5);
	close(in);
	close(out);
	AT_MEASURED("%ld read-family and %ld write-family system calls for %d blocks", made.syscr, made.syscw, BLOCKS + 1);
	AT_HINT("io_uring_prep_read() and io_uring_prep_write() with offsets: the kernel does both halves");
	AT_CHECK(copied == BLOCKS * BLOCK + 5, "%s", copied < 0 ? rc_text(copied, "uring_copy()") : "uring_copy() returned the wrong count");
	AT_CHECK(diff < 0, "the copy differs from byte %ld on", diff);
	AT_CHECK(made.syscr <= 1 && made.syscw <= 1,
		 "%ld reads and %ld writes went through system calls (/proc/self/io): the copy did not use the ring",
		 made.syscr, made.syscw);
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
