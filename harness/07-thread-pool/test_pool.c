/*
 * Description: lesson 07 - does the pool run every task exactly once with
 * its result; keep up to N tasks in progress at once (latch) but never more;
 * run them all on the same N worker threads (distinct thread ids,
 * pthread_create counter); sleep while idle (process CPU clock); finish the
 * queue and join its workers at shutdown; and take submissions from several
 * threads at once without a race (ThreadSanitizer driver, tsan_pool.c)?
 * Compare with lesson 02's test_threads.c: there, one thread per task was
 * the goal; here it is the mistake.
 */
#include "at_count.h"
#include "at_driver.h"
#include "at_latch.h"
#include "at_test.h"
#include "pool.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define POOL_N           4     /* workers in most tests */
#define LATCH_TIMEOUT_MS 1000
#define SHUTDOWN_MS      5000  /* a shutdown that takes longer never returns */
#define SETTLE_MS        3000  /* longer than any harness task takes */

TestSuite(pool, .timeout = 30);

/* ---- harness tasks ---------------------------------------------------- */

/*
 * A pool_wait() that returns before its task has run must fail `results`,
 * and only that: every test reads what its tasks measured only once they
 * have all finished (at_count.h's settling), so the verdicts do not depend
 * on how fast the leftovers were. What the tasks touch is static, never on
 * the test's stack, for the same reason.
 */
static struct at_settle settled;

struct latch_job {
	struct at_latch *latch;
	struct at_tidset *tids;
	int lane;
};

/* In flight from its first line to its last; waits for the others. */
static long latch_task(void *arg)
{
	struct latch_job *j = arg;
	char name[16];
	int slice;

	snprintf(name, sizeof(name), "task %d", j->lane);
	slice = at_trace_begin(at_trace_global(), name, j->lane);
	if (j->tids)
		at_tidset_add_self(j->tids);
	at_latch_task(j->latch);
	at_trace_end(at_trace_global(), slice);
	at_settle_done(&settled);
	return 0;
}

/* Notes the thread it runs on; a short piece of work. */
static long tid_task(void *arg)
{
	at_tidset_add_self(arg);
	at_burn_ms(0);
	at_settle_done(&settled);
	return 0;
}

/*
 * Submit n latch tasks (target `target`, timeout_ms each) and wait for them.
 * Returns the first error number; *max gets the latch's figure.
 */
static int run_latch_tasks(struct pool *p, int n, int target, int timeout_ms,
			   struct at_tidset *tids, int *max)
{
	static struct at_latch latch;
	static struct latch_job job[64];
	struct pool_job *h[64];
	int rc = 0, submitted = 0;

	*max = 0;
	cr_assert(n <= 64 && at_latch_init(&latch, target, timeout_ms, false) == 0);
	at_settle_reset(&settled);
	for (int i = 0; i < n && rc == 0; i++) {
		job[i] = (struct latch_job){ &latch, tids, i };
		rc = pool_submit(p, latch_task, &job[i], &h[i]);
		if (rc == 0)
			submitted++;
	}
	for (int i = 0; i < submitted; i++) {
		long ignored;
		int w = pool_wait(h[i], &ignored);

		if (w != 0 && rc == 0)
			rc = w;
	}
	if (!at_settle_wait(&settled, submitted, SETTLE_MS + timeout_ms)) {
		*max = at_latch_max_in_flight(&latch);   /* stragglers: leave it be */
		return rc;
	}
	*max = at_latch_max_in_flight(&latch);
	at_latch_destroy(&latch);
	return rc;
}

/* pool_shutdown(p) on a helper thread, so one that never returns fails. */
struct shutdown_call {
	struct pool *p;
	int rc;
};

static void *shutdown_body(void *arg)
{
	struct shutdown_call *c = arg;

	c->rc = pool_shutdown(c->p);
	return NULL;
}

/* True when pool_shutdown(p) returned within SHUTDOWN_MS; *rc its value. */
static bool shutdown_within(struct pool *p, int *rc)
{
	static struct shutdown_call c;   /* a stuck helper may outlive us */
	pthread_t t;

	c = (struct shutdown_call){ p, -1 };
	if (pthread_create(&t, NULL, shutdown_body, &c) != 0)
		return false;
	if (!at_join_within(t, SHUTDOWN_MS))
		return false;
	*rc = c.rc;
	return true;
}

/*
 * pool_shutdown(p), but ETIMEDOUT when it has not returned within
 * SHUTDOWN_MS: a shutdown that never returns fails the test in 5 s.
 */
static int shutdown_rc(struct pool *p)
{
	int rc;

	return shutdown_within(p, &rc) ? rc : ETIMEDOUT;
}

#define SHUTDOWN_CALL "pool_shutdown() (ETIMEDOUT: it had not returned after 5 s)"

/* ---- results ---------------------------------------------------------- */

#define N_RESULTS 32
static atomic_int calls[N_RESULTS];

static long square_task(void *arg)
{
	long i = (long)(intptr_t)arg;

	atomic_fetch_add(&calls[i], 1);
	at_burn_ms(1);
	/* No result is ready sooner than 20 ms after it was submitted: a wait
	 * that does not wait reads an empty slot every time, not sometimes. */
	at_sleep_ms(20);
	at_settle_done(&settled);
	return i * i + 1;
}

Test(pool, results, .description = "every submitted task runs exactly once, and pool_wait() hands back its own result")
{
	struct pool *p = NULL;
	struct pool_job *h[N_RESULTS];
	long got[N_RESULTS];
	int rc, src = 0, wrc = 0, shrc = 0, submitted = 0, wrong = 0, first_wrong = -1, bad_calls = 0;

	at_settle_reset(&settled);
	for (int i = 0; i < N_RESULTS; i++) {
		atomic_store(&calls[i], 0);
		got[i] = -1;
	}
	rc = pool_create(&p, POOL_N);
	if (rc == 0) {
		for (int i = 0; i < N_RESULTS && src == 0; i++)
			if ((src = pool_submit(p, square_task, (void *)(intptr_t)i, &h[i])) == 0)
				submitted++;
		for (int i = 0; i < submitted; i++) {
			int w = pool_wait(h[i], &got[i]);

			if (w != 0 && wrc == 0)
				wrc = w;
		}
		at_settle_wait(&settled, submitted, SETTLE_MS);
		shrc = shutdown_rc(p);
	}
	for (int i = 0; i < N_RESULTS; i++) {
		if (got[i] != (long)i * i + 1 && wrong++ == 0)
			first_wrong = i;
		if (atomic_load(&calls[i]) != 1)
			bad_calls++;
	}
	AT_MEASURED("results: %d of %d results right, %d task(s) not run exactly once", N_RESULTS - wrong, N_RESULTS, bad_calls);
	AT_HINT("pool_wait() must sleep until the worker has marked the job done (a while loop around pthread_cond_wait on the job's own condition variable), and only then read the result");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit()");
	AT_CHECK_RC(wrc, "pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(bad_calls == 0, "%d task(s) ran zero times or more than once", bad_calls);
	AT_CHECK(wrong == 0, "%d result(s) wrong; the first: task %d gave back %ld, expected %d", wrong, first_wrong,
		 first_wrong >= 0 ? got[first_wrong] : 0, first_wrong * first_wrong + 1);
	AT_END();
}

/* ---- up to N at once ------------------------------------------------- */

Test(pool, overlap, .description = "a pool of N runs N tasks at the same moment")
{
	struct pool *p = NULL;
	int rc, src = 0, shrc = 0, max = 0;

	at_trace_reset(at_trace_global());
	rc = pool_create(&p, POOL_N);
	if (rc == 0) {
		src = run_latch_tasks(p, POOL_N, POOL_N, LATCH_TIMEOUT_MS, NULL, &max);
		shrc = shutdown_rc(p);
	}
	at_trace_attach("overlap", "a pool of 4: 4 tasks that wait for each other");
	AT_MEASURED("overlap: %d of %d tasks in flight at once in a pool of %d (%d needed)", max, POOL_N, POOL_N, POOL_N);
	AT_HINT("start all N workers in pool_create(), and let each run its task OUTSIDE the queue's lock: a worker that holds the lock while the task runs keeps the others from taking theirs");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(max >= POOL_N, "only %d task(s) were ever in progress at once: the pool of %d ran them one after another", max, POOL_N);
	AT_END();
}

/* ---- the same N threads -------------------------------------------- */

#define N_MANY 40

Test(pool, exactly_n_workers, .description = "N worker threads, started by pool_create(), run every task, however many are submitted")
{
	static struct at_tidset tids;
	struct pool *p = NULL;
	struct pool_job *h[N_MANY];
	int rc, src = 0, shrc = 0, max = 0, before, started = 0, submitted = 0;
	long created = 0;

	at_tidset_init(&tids);
	at_calls_reset();
	before = at_count_threads();
	rc = pool_create(&p, POOL_N);
	if (rc == 0) {
		started = at_count_threads() - before;
		/* First make every worker show itself: N tasks that wait for
		 * each other cannot all run on fewer than N threads. */
		src = run_latch_tasks(p, POOL_N, POOL_N, LATCH_TIMEOUT_MS, &tids, &max);
		at_settle_reset(&settled);
		for (int i = 0; i < N_MANY && src == 0; i++)
			if ((src = pool_submit(p, tid_task, &tids, &h[i])) == 0)
				submitted++;
		for (int i = 0; i < submitted; i++) {
			long ignored;
			int w = pool_wait(h[i], &ignored);

			if (w != 0 && src == 0)
				src = w;
		}
		at_settle_wait(&settled, submitted, SETTLE_MS);
		/* Counted before the shutdown, whose helper thread is ours. */
		created = at_pthread_create_calls();
		shrc = shutdown_rc(p);
	}
	AT_MEASURED("workers: %d distinct threads ran %d tasks, %ld pthread_create() calls, %d threads running after pool_create(%d)",
		    at_tidset_count(&tids), POOL_N + N_MANY, created, started, POOL_N);
	AT_HINT("pool_create() starts exactly nthreads workers, and pool_submit() only queues: a worker loops, taking one job after another, and never ends while the pool is open");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(!at_tidset_contains(&tids, at_gettid()), "a task ran on the thread that submitted it: tasks belong on the workers");
	AT_CHECK(created == POOL_N, "%ld pthread_create() calls for a pool of %d: the pool must create its %d workers once, never one per task",
		 created, POOL_N, POOL_N);
	AT_CHECK(started == POOL_N, "%d new thread(s) right after pool_create(%d): the workers start there", started, POOL_N);
	AT_CHECK(at_tidset_count(&tids) == POOL_N, "the tasks ran on %d distinct thread(s); a pool of %d has exactly %d workers",
		 at_tidset_count(&tids), POOL_N, POOL_N);
	AT_END();
}

/* ---- never more than N ---------------------------------------------- */

#define SMALL_N   3
#define N_FLOOD   12

Test(pool, never_more_than_n, .description = "with more tasks than workers, never more than N tasks are in progress at once")
{
	struct pool *p = NULL;
	int rc, src = 0, shrc = 0, max = 0;

	rc = pool_create(&p, SMALL_N);
	if (rc == 0) {
		/* Each task waits (up to 300 ms) for a 4th to be in flight with
		 * it: in a pool of 3 that never happens, with more threads it
		 * happens at once. */
		src = run_latch_tasks(p, N_FLOOD, SMALL_N + 1, 300, NULL, &max);
		shrc = shutdown_rc(p);
	}
	AT_MEASURED("at most: %d of %d tasks in flight at once in a pool of %d (%d allowed)", max, N_FLOOD, SMALL_N, SMALL_N);
	AT_HINT("the pool's workers are the only threads that run tasks: submitting must queue the task, never start a thread for it");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(max <= SMALL_N, "%d tasks were in progress at the same moment in a pool of %d: more threads than workers ran them", max, SMALL_N);
	AT_END();
}

/* ---- asleep while idle ---------------------------------------------- */

#define IDLE_MS      300
#define IDLE_MAX_MS  30.0

static double process_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long one_task(void *arg)
{
	(void)arg;
	at_settle_done(&settled);
	return 7;
}

Test(pool, idle_cpu, .description = "idle workers sleep: a pool with nothing to do burns almost no CPU")
{
	struct pool *p = NULL;
	struct pool_job *h;
	int rc, src = 0, shrc = 0, max = 0;
	double burned = -1;
	long ignored, after = 0;

	rc = pool_create(&p, POOL_N);
	if (rc == 0) {
		/* Let every worker start and run once, then leave them idle. */
		src = run_latch_tasks(p, POOL_N, POOL_N, LATCH_TIMEOUT_MS, NULL, &max);
		if (src == 0) {
			/* This thread sleeps too: all the CPU the process burns
			 * now is the workers'. */
			double t0 = process_cpu_ms();

			at_sleep_ms(IDLE_MS);
			burned = process_cpu_ms() - t0;
			/* Still a working pool after the nap? (Counted, not
			 * read back: the result is `results`'s business.) */
			at_settle_reset(&settled);
			src = pool_submit(p, one_task, NULL, &h);
			if (src == 0)
				src = pool_wait(h, &ignored);
			at_settle_wait(&settled, 1, SETTLE_MS);
			after = at_settle_count(&settled);
		}
		shrc = shutdown_rc(p);
	}
	if (burned < 0)
		AT_MEASURED("idle: nothing measured, the pool never ran its first tasks");
	else
		AT_MEASURED("idle: %d idle workers burned %.1f ms of CPU in %d ms (under %.0f ms expected)", POOL_N, burned, IDLE_MS, IDLE_MAX_MS);
	AT_HINT("a worker with nothing to do must sleep in pthread_cond_wait() until pool_submit() signals, not loop checking the queue (sched_yield() and short sleeps still burn CPU or lag)");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(burned < IDLE_MAX_MS, "the idle pool burned %.1f ms of CPU in %d ms: its workers spin instead of sleeping", burned, IDLE_MS);
	AT_CHECK(after == 1, "a task submitted after the idle spell never ran");
	AT_END();
}

/* ---- shutdown ------------------------------------------------------- */

static atomic_int finished;

static long nap_task(void *arg)
{
	at_sleep_ms((int)(intptr_t)arg);
	atomic_fetch_add(&finished, 1);
	return 0;
}

#define N_QUEUED 20

Test(pool, shutdown_drains, .description = "pool_shutdown() still runs every task that was queued before it, then returns")
{
	struct pool *p = NULL;
	int rc, src = 0, shrc = 0, done = -1, submitted = 0;
	bool returned = false;

	atomic_store(&finished, 0);
	rc = pool_create(&p, 2);
	if (rc == 0) {
		/* 20 tasks of 5 ms on 2 workers: most are still queued when
		 * shutdown starts. Nobody waits on them (NULL handle). */
		for (int i = 0; i < N_QUEUED && src == 0; i++)
			if ((src = pool_submit(p, nap_task, (void *)(intptr_t)5, NULL)) == 0)
				submitted++;
		returned = shutdown_within(p, &shrc);
		done = atomic_load(&finished);
	}
	if (rc != 0 || submitted == 0)
		AT_MEASURED("drained: nothing measured, no task could be submitted");
	else
		AT_MEASURED("drained: %d of %d queued tasks had run when pool_shutdown() returned", done, submitted);
	AT_HINT("a worker leaves only when the pool is stopping AND the queue is empty: `while (queue empty && !stopping) wait`; then take a job if there is one, and return only if there is none");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit()");
	AT_CHECK(returned, "pool_shutdown() had not returned after %d s: a worker asleep on the condition variable was never woken (broadcast, not signal), or a join waits forever",
		 SHUTDOWN_MS / 1000);
	AT_CHECK_RC(shrc, "pool_shutdown()");
	AT_CHECK(done == N_QUEUED, "%d of %d queued tasks were dropped by pool_shutdown()", N_QUEUED - done, N_QUEUED);
	AT_END();
}

Test(pool, shutdown_joins, .description = "pool_shutdown() returns only when every worker has finished and is gone")
{
	struct pool *p = NULL;
	int rc, src = 0, shrc = 0, done = -1, before = at_count_threads(), after = -1;
	bool returned = false;

	atomic_store(&finished, 0);
	rc = pool_create(&p, POOL_N);
	if (rc == 0) {
		/* Two long tasks running, two idle workers. */
		for (int i = 0; i < 2 && src == 0; i++)
			src = pool_submit(p, nap_task, (void *)(intptr_t)200, NULL);
		at_sleep_ms(20);
		returned = shutdown_within(p, &shrc);
		done = atomic_load(&finished);
		/* A joined thread may linger in /proc for a moment. */
		for (int i = 0; i < 20 && (after = at_count_threads()) != before; i++)
			at_sleep_ms(5);
	}
	if (rc != 0 || src != 0)
		AT_MEASURED("joined: nothing measured, no task could be submitted");
	else
		AT_MEASURED("joined: %d of 2 running tasks had finished when pool_shutdown() returned; threads before the pool %d, after %d",
			    done, before, after);
	AT_HINT("pool_shutdown() must pthread_join() every worker it started: a worker still running a task is not finished, and a detached or forgotten one may run on after the pool is freed");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit()");
	AT_CHECK(returned, "pool_shutdown() had not returned after %d s: a worker was never woken, or a join waits forever", SHUTDOWN_MS / 1000);
	AT_CHECK_RC(shrc, "pool_shutdown()");
	AT_CHECK(done == 2, "pool_shutdown() returned while %d task(s) were still running: it did not wait for its workers", 2 - done);
	AT_CHECK(after == before, "%d thread(s) were left behind after pool_shutdown()", after - before);
	AT_END();
}

/* ---- race-free under ThreadSanitizer -------------------------------- */

Test(pool, race_free, .description = "four threads submitting at once: no data race under ThreadSanitizer, every task run once")
{
	static struct at_driver_run r;
	static char excerpt[2048], line[512];
	const char *why = at_run_driver("tsan_pool", "submit", 12000, &r);

	if (why)
		AT_SKIP("%s", why);
	if (strstr(r.out, "FATAL: ThreadSanitizer"))
		AT_SKIP("ThreadSanitizer cannot run on this machine (%s); `setarch -R make check LESSON=7` may help",
			at_line_with(r.out, "FATAL: ThreadSanitizer", line, sizeof(line)));
	at_tsan_excerpt(r.out, excerpt, sizeof(excerpt));
	if (r.timed_out || r.signal)
		AT_MEASURED("ThreadSanitizer: 4 submitting threads, 1000 tasks: the run %s",
			    r.timed_out ? "was still running after 12 s" : "was ended by a signal");
	else if (r.exit_status == 66)
		AT_MEASURED("ThreadSanitizer: 4 submitting threads, 1000 tasks: %s",
			    at_line_with(r.out, "WARNING: ThreadSanitizer", line, sizeof(line)) + strlen("WARNING: "));
	else
		AT_MEASURED("ThreadSanitizer: 4 submitting threads, 1000 tasks: exit %d, %s", r.exit_status,
			    r.exit_status == 0 ? "no report" : "see below");
	AT_HINT("touch the queue (head, tail, next) and the stopping flag only while holding the pool's mutex, in pool_submit() as in the workers; a job's done and result only under the job's own mutex");
	AT_CHECK(!r.timed_out, "the run under ThreadSanitizer did not finish within 12 s: a task was lost (a pool_wait() that never returns) or a worker never woke");
	AT_CHECK(r.signal == 0, "the run under ThreadSanitizer was killed by signal %d (%s)", r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != 66, "ThreadSanitizer found a data race:\n%s", excerpt);
	AT_CHECK(r.exit_status == 0, "the run under ThreadSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
