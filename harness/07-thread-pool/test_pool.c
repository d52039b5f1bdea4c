/*
 * Description: lesson 07 - does the pool run every task exactly once with
 * its result; keep up to N tasks in progress at once (latch, for pools of 1
 * to 64 workers) but never more; run them all on the same N worker threads
 * (distinct thread ids, pthread_create counter); sleep while idle and while
 * waiting for a result (no wake-up at all: voluntary context switches, and
 * little CPU); finish the queue and join its workers at shutdown; refuse a
 * bad worker count and undo a half-made pool; take submissions from several
 * threads at once without a race (ThreadSanitizer driver, tsan_pool.c); and
 * never touch a handle's memory once it is freed (AddressSanitizer driver,
 * asan_pool.c)?
 * Compare with lesson 02's test_threads.c: there, one thread per task was
 * the goal; here it is the mistake.
 */
#include "at_count.h"
#include "at_driver.h"
#include "at_latch.h"
#include "at_sancheck.h"
#include "at_sanreport.h"
#include "at_test.h"
#include "pool.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
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

/* Draw the latch tasks of this run in the test's timeline (one run per
 * test is drawn: a picture of 64 rows says nothing). */
static bool tracing;

/* In flight from its first line to its last; waits for the others. */
static long latch_task(void *arg)
{
	struct latch_job *j = arg;
	char name[16];
	int slice = -1;

	if (tracing) {
		snprintf(name, sizeof(name), "task %d", j->lane);
		slice = at_trace_begin(at_trace_global(), name, j->lane);
	}
	if (j->tids)
		at_tidset_add_self(j->tids);
	at_latch_task(j->latch);
	if (slice >= 0)
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

#define MAX_LATCH_TASKS 128

/*
 * Submit n latch tasks (target `target`, timeout_ms each) and wait for them.
 * Returns the first error number; *max gets the latch's figure.
 */
static int run_latch_tasks(struct pool *p, int n, int target, int timeout_ms,
			   struct at_tidset *tids, int *max)
{
	static struct at_latch latch;
	static struct latch_job job[MAX_LATCH_TASKS];
	struct pool_job *h[MAX_LATCH_TASKS];
	int rc = 0, submitted = 0;

	*max = 0;
	cr_assert(n <= MAX_LATCH_TASKS && at_latch_init(&latch, target, timeout_ms, false) == 0);
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

/*
 * Checks of what ran and where, not of timing: the pool's threads all on
 * one CPU (its workers inherit the mask). They still interleave, but a
 * queue changed without its lock (a race) is cut in two only if the
 * submitter is preempted inside the few instructions of its update, which
 * almost never happens on one CPU; on two, a worker dequeuing at that very
 * moment loses a task now and then, and the verdict would hang on luck.
 * The race is race_free's to find, every time, under ThreadSanitizer.
 * (No real-time scheduling, as lesson 08 uses: a pool whose idle workers
 * spin would then starve the submitter for whole 100 ms turns.)
 */
static void counts_not_races(void)
{
	at_pin_to_one_cpu();
}

Test(pool, results, .description = "every submitted task runs exactly once, and pool_wait() hands back its own result")
{
	struct pool *p = NULL;
	struct pool_job *h[N_RESULTS];
	long got[N_RESULTS];
	int rc, src = 0, wrc = 0, shrc = 0, submitted = 0, wrong = 0, first_wrong = -1, bad_calls = 0;

	counts_not_races();
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

/* "1, 2, 4" from n figures. */
static const char *list_of(const int *v, int n, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int k = 0; k < n && off < len; k++)
		off += (size_t)snprintf(buf + off, len - off, "%s%d", k ? ", " : "", v[k]);
	return buf;
}

/*
 * Pools of 1 to 64 workers, each handed as many tasks as it has workers,
 * every task waiting for all the others. A pool that starts fewer workers
 * than it was asked for (a cap of 8, or the number of CPUs) holds fewer
 * tasks at once than its size, and fails at the first size above its cap,
 * after one latch deadline: no size is special, so no cap goes unseen.
 */
static const int overlap_sizes[] = { 1, 2, 4, 16, 64 };
#define N_OVERLAP ((int)(sizeof(overlap_sizes) / sizeof(overlap_sizes[0])))

Test(pool, overlap, .description = "a pool of N runs N tasks at the same moment, for N = 1, 2, 4, 16 and 64")
{
	int rc = 0, src = 0, shrc = 0, max[N_OVERLAP] = { 0 }, short_of = -1;
	char figures[80];

	at_trace_reset(at_trace_global());
	for (int k = 0; k < N_OVERLAP && rc == 0 && src == 0 && shrc == 0; k++) {
		struct pool *p = NULL;
		int n = overlap_sizes[k];

		tracing = n == POOL_N;   /* the picture: the pool of 4 */
		rc = pool_create(&p, n);
		if (rc == 0) {
			src = run_latch_tasks(p, n, n, LATCH_TIMEOUT_MS, NULL, &max[k]);
			shrc = shutdown_rc(p);
		}
		tracing = false;
		if (rc == 0 && max[k] < n && short_of < 0)
			short_of = k;
	}
	at_trace_attach("overlap", "a pool of 4: 4 tasks that wait for each other");
	AT_MEASURED("overlap: pools of 1, 2, 4, 16 and 64 workers had %s tasks in flight at once (each needs all its workers busy)",
		    list_of(max, N_OVERLAP, figures, sizeof(figures)));
	AT_HINT("pool_create(n) must start all n workers, whatever n is (no cap of your own, not the number of CPUs), and each runs its task OUTSIDE the queue's lock: a worker that holds the lock while its task runs keeps the others from taking theirs");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(short_of < 0, "a pool of %d had only %d task(s) in progress at once: %s", overlap_sizes[short_of], max[short_of],
		 max[short_of] <= 1 ? "it ran them one after another" : "fewer workers ran tasks than the pool was created with");
	AT_END();
}

/* ---- the same N threads -------------------------------------------- */

#define N_MANY 40

struct workers_seen {
	int distinct;      /* threads that ran the tasks */
	int started;       /* new threads right after pool_create() */
	long created;      /* pthread_create() calls */
	bool on_caller;    /* a task ran on the submitting thread */
};

/* Threads of the process beyond `before`, once joined ones have left /proc. */
static int threads_left(int before)
{
	return at_count_threads_settled(before, 200) - before;
}

/*
 * A pool of n: n latch tasks (which cannot all run on fewer than n
 * threads, so every worker shows itself), then N_MANY short ones. Returns
 * the first error; *shrc gets pool_shutdown()'s.
 */
static int watch_workers(int n, int base, struct at_tidset *tids, struct workers_seen *w, int *shrc)
{
	struct pool *p = NULL;
	struct pool_job *h[N_MANY];
	int rc, src, max = 0, before, submitted = 0;

	at_tidset_init(tids);
	at_calls_reset();
	*w = (struct workers_seen){ 0 };
	/* The previous pool's workers are gone first (one that was not
	 * joined is shutdown_joins's business, not a worker of this pool). */
	threads_left(base);
	before = at_count_threads();
	rc = pool_create(&p, n);
	if (rc != 0)
		return rc;
	w->started = at_count_threads() - before;
	src = run_latch_tasks(p, n, n, LATCH_TIMEOUT_MS, tids, &max);
	at_settle_reset(&settled);
	for (int i = 0; i < N_MANY && src == 0; i++)
		if ((src = pool_submit(p, tid_task, tids, &h[i])) == 0)
			submitted++;
	for (int i = 0; i < submitted; i++) {
		long ignored;
		int wr = pool_wait(h[i], &ignored);

		if (wr != 0 && src == 0)
			src = wr;
	}
	at_settle_wait(&settled, submitted, SETTLE_MS);
	/* Counted before the shutdown, whose helper thread is ours. */
	w->created = at_pthread_create_calls();
	w->distinct = at_tidset_count(tids);
	w->on_caller = at_tidset_contains(tids, at_gettid());
	*shrc = shutdown_rc(p);
	return src;
}

static const int worker_sizes[] = { 1, 4, 16 };
#define N_WORKER_SIZES ((int)(sizeof(worker_sizes) / sizeof(worker_sizes[0])))

Test(pool, exactly_n_workers, .description = "N worker threads, started by pool_create(), run every task, however many are submitted (N = 1, 4 and 16)")
{
	static struct at_tidset tids[N_WORKER_SIZES];
	struct workers_seen w[N_WORKER_SIZES] = { 0 };
	int rc = 0, shrc = 0, distinct[N_WORKER_SIZES] = { 0 }, started[N_WORKER_SIZES] = { 0 }, created[N_WORKER_SIZES] = { 0 };
	int bad_created = -1, bad_started = -1, bad_distinct = -1, on_caller = -1;
	char a[64], b[64], c[64];
	int base;

	counts_not_races();
	base = at_count_threads();
	for (int k = 0; k < N_WORKER_SIZES && rc == 0 && shrc == 0; k++) {
		int n = worker_sizes[k];

		rc = watch_workers(n, base, &tids[k], &w[k], &shrc);
		distinct[k] = w[k].distinct;
		started[k] = w[k].started;
		created[k] = (int)w[k].created;
		if (rc != 0)
			break;
		if (w[k].on_caller && on_caller < 0)
			on_caller = k;
		if (w[k].created != n && bad_created < 0)
			bad_created = k;
		if (w[k].started != n && bad_started < 0)
			bad_started = k;
		if (w[k].distinct != n && bad_distinct < 0)
			bad_distinct = k;
	}
	AT_MEASURED("workers: pools of 1, 4 and 16: %s distinct threads ran the tasks (%d more each), %s pthread_create() calls, %s new threads after pool_create()",
		    list_of(distinct, N_WORKER_SIZES, a, sizeof(a)), N_MANY, list_of(created, N_WORKER_SIZES, b, sizeof(b)),
		    list_of(started, N_WORKER_SIZES, c, sizeof(c)));
	AT_HINT("pool_create() starts exactly nthreads workers, and pool_submit() only queues: a worker loops, taking one job after another, and never ends while the pool is open");
	AT_CHECK_RC(rc, "pool_create(), pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(on_caller < 0, "a task ran on the thread that submitted it (pool of %d): tasks belong on the workers",
		 on_caller >= 0 ? worker_sizes[on_caller] : 0);
	AT_CHECK(bad_created < 0, "%d pthread_create() calls for a pool of %d: the pool must create its %d workers once, never one per task",
		 bad_created >= 0 ? created[bad_created] : 0, bad_created >= 0 ? worker_sizes[bad_created] : 0,
		 bad_created >= 0 ? worker_sizes[bad_created] : 0);
	AT_CHECK(bad_started < 0, "%d new thread(s) right after pool_create(%d): the workers start there",
		 bad_started >= 0 ? started[bad_started] : 0, bad_started >= 0 ? worker_sizes[bad_started] : 0);
	AT_CHECK(bad_distinct < 0, "the tasks ran on %d distinct thread(s); a pool of %d has exactly %d workers",
		 bad_distinct >= 0 ? distinct[bad_distinct] : 0, bad_distinct >= 0 ? worker_sizes[bad_distinct] : 0,
		 bad_distinct >= 0 ? worker_sizes[bad_distinct] : 0);
	AT_END();
}

/* ---- never more than N ---------------------------------------------- */

static const int flood_sizes[] = { 1, 3, 8 };
#define N_FLOOD_SIZES ((int)(sizeof(flood_sizes) / sizeof(flood_sizes[0])))

Test(pool, never_more_than_n, .description = "with more tasks than workers, never more than N tasks are in progress at once (N = 1, 3 and 8)")
{
	int rc = 0, src = 0, shrc = 0, max[N_FLOOD_SIZES] = { 0 }, over = -1;
	char figures[64];

	for (int k = 0; k < N_FLOOD_SIZES && rc == 0 && src == 0 && shrc == 0; k++) {
		struct pool *p = NULL;
		int n = flood_sizes[k];

		rc = pool_create(&p, n);
		if (rc != 0)
			break;
		/* 4n tasks, each waiting (up to 300 ms) for an (n+1)th to be
		 * in flight with it: in a pool of n that never happens, with
		 * more threads it happens at once. */
		src = run_latch_tasks(p, 4 * n, n + 1, 300, NULL, &max[k]);
		shrc = shutdown_rc(p);
		if (max[k] > n && over < 0)
			over = k;
	}
	AT_MEASURED("at most: pools of 1, 3 and 8 workers, 4 tasks per worker: %s tasks in flight at once (no more than the pool's size allowed)",
		    list_of(max, N_FLOOD_SIZES, figures, sizeof(figures)));
	AT_HINT("the pool's workers are the only threads that run tasks: submitting must queue the task, never start a thread for it or run it on the spot");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(over < 0, "%d tasks were in progress at the same moment in a pool of %d: more threads than workers ran them",
		 over >= 0 ? max[over] : 0, over >= 0 ? flood_sizes[over] : 0);
	AT_END();
}

/* ---- asleep while idle: no wake-ups ---------------------------------- */

#define IDLE_MS      300
#define IDLE_MAX_MS  30.0
#define MAX_WATCHED  128

/*
 * Idle means asleep until an event: a thread blocked in pthread_cond_wait()
 * or sem_wait() is not woken once while nothing happens. One that waits
 * with a timeout (pthread_cond_timedwait, usleep or nanosleep in a loop)
 * costs almost no CPU but wakes every time its clock runs out: ~30 times
 * in 300 ms for 10 ms. So the tests count wake-ups (the kernel's voluntary
 * context switches of each thread), and want none.
 */
struct watched {
	int n;
	pid_t tid[MAX_WATCHED];
	long count[MAX_WATCHED];   /* voluntary switches at the last look */
};

static bool watched_has(const struct watched *w, pid_t tid)
{
	for (int i = 0; i < w->n; i++)
		if (w->tid[i] == tid)
			return true;
	return false;
}

/*
 * Every thread of this process that is not the calling one and not in
 * `old` (threads the test process had before the pool: the test runner's
 * own): the pool's workers, and any other thread the pool keeps.
 */
static void watch_threads(struct watched *w, const struct watched *old)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	pid_t me = at_gettid();

	w->n = 0;
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && w->n < MAX_WATCHED) {
		pid_t t = (pid_t)atoi(e->d_name);

		if (e->d_name[0] == '.' || t == me || (old && watched_has(old, t)))
			continue;
		w->tid[w->n] = t;
		w->count[w->n++] = at_wakeups_of_thread(0, t);
	}
	closedir(d);
}

/* Wake-ups since the last look (a thread gone since counts as one); the
 * counts move on. *woke (if not NULL) gets the threads that woke. */
static long wakeups_since(struct watched *w, int *woke)
{
	long sum = 0;
	int threads = 0;

	for (int i = 0; i < w->n; i++) {
		long now = at_wakeups_of_thread(0, w->tid[i]);
		long d = (now < 0 || w->count[i] < 0) ? 1 : now - w->count[i];

		if (d > 0) {
			sum += d;
			threads++;
		}
		w->count[i] = now;
	}
	if (woke)
		*woke = threads;
	return sum;
}

/*
 * Wait until the watched threads have stayed asleep for 50 ms (1 s at
 * most): a sleeping pool's threads get there microseconds after their last
 * task, so the window that follows counts only what happens while nothing
 * happens. A thread that polls never settles; its window is then measured
 * all the same. With `old`, the threads are looked up again after a look
 * that was not quiet: a thread that ended meanwhile (one that ran a task
 * and was on its way out) can wake no more, and one that ended on the
 * window's edge would otherwise count as a wake-up by luck.
 */
static void settle_quiet(struct watched *w, const struct watched *old)
{
	for (int i = 0; i < 20; i++) {
		at_sleep_ms(50);
		if (wakeups_since(w, NULL) == 0)
			return;
		if (old)
			watch_threads(w, old);
	}
}

static double process_cpu_ms(void)
{
	return (double)at_process_cpu_ns() / 1e6;
}

static long one_task(void *arg)
{
	(void)arg;
	at_settle_done(&settled);
	return 7;
}

Test(pool, idle_cpu, .description = "idle workers sleep until there is work: no wake-up at all, and almost no CPU, while the pool has nothing to do")
{
	static struct watched runner, threads;
	struct pool *p = NULL;
	struct pool_job *h;
	int rc, src = 0, shrc = 0, max = 0, woke_threads = 0;
	double burned = -1;
	long ignored, after = 0, woke = -1;

	watch_threads(&runner, NULL);   /* the test process's own threads */
	rc = pool_create(&p, POOL_N);
	if (rc == 0) {
		/* Let every worker start and run once, then leave them idle. */
		src = run_latch_tasks(p, POOL_N, POOL_N, LATCH_TIMEOUT_MS, NULL, &max);
		if (src == 0) {
			double t0;

			watch_threads(&threads, &runner);
			settle_quiet(&threads, &runner);
			/* This thread sleeps too: all the CPU the process
			 * burns now is the pool's. */
			t0 = process_cpu_ms();
			at_sleep_ms(IDLE_MS);
			burned = process_cpu_ms() - t0;
			woke = wakeups_since(&threads, &woke_threads);
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
		AT_MEASURED("idle: the pool's %d threads woke up %ld times and burned %.1f ms of CPU in %d ms with nothing to do (0 wake-ups and under %.0f ms expected)",
			    threads.n, woke, burned, IDLE_MS, IDLE_MAX_MS);
	AT_HINT("a worker with nothing to do must sleep until pool_submit() tells it there is work: pthread_cond_wait() without a timeout (or sem_wait() on a count of queued tasks), in a loop that looks at the queue; not a timed wait, not usleep() in a loop, not a spin");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(woke == 0, "%d of the idle pool's %d threads woke up, %ld times in all in %d ms, though nothing happened: a thread that waits with a timeout (pthread_cond_timedwait, usleep or nanosleep in a loop) wakes each time its clock runs out; it must sleep until it is told there is work",
		 woke_threads, threads.n, woke, IDLE_MS);
	AT_CHECK(burned < IDLE_MAX_MS, "the idle pool burned %.1f ms of CPU in %d ms: its threads spin instead of sleeping", burned, IDLE_MS);
	AT_CHECK(after == 1, "a task submitted after the idle spell never ran");
	AT_END();
}

/* ---- a waiter sleeps too --------------------------------------------- */

#define WAITED_RESULT 42

struct waiter_watch {
	pid_t waiter;     /* the thread in pool_wait() */
	long woke;        /* its wake-ups while the task ran; -1: not measured */
	bool on_waiter;   /* the task ran on the waiting thread itself */
};

/* A task that watches the thread waiting for it: until that thread is
 * quiet, then IDLE_MS more, counting its wake-ups. */
static long watch_waiter_task(void *arg)
{
	struct waiter_watch *w = arg;
	static struct watched one;

	if (at_gettid() == w->waiter) {
		w->on_waiter = true;
	} else {
		one.n = 1;
		one.tid[0] = w->waiter;
		one.count[0] = at_wakeups_of_thread(0, w->waiter);
		settle_quiet(&one, NULL);
		at_sleep_ms(IDLE_MS);
		w->woke = wakeups_since(&one, NULL);
	}
	at_settle_done(&settled);
	return WAITED_RESULT;
}

Test(pool, wait_sleeps, .description = "pool_wait() sleeps until its task is done: no wake-up and no CPU while the task runs")
{
	static struct waiter_watch w;
	struct pool *p = NULL;
	struct pool_job *h;
	int rc, src = 0, shrc = 0;
	long got = -1;
	double cpu_ms = -1;

	w = (struct waiter_watch){ at_gettid(), -1, false };
	at_settle_reset(&settled);
	rc = pool_create(&p, 2);
	if (rc == 0) {
		int64_t c0 = at_thread_cpu_ns();

		src = pool_submit(p, watch_waiter_task, &w, &h);
		if (src == 0)
			src = pool_wait(h, &got);
		cpu_ms = (double)(at_thread_cpu_ns() - c0) / 1e6;
		at_settle_wait(&settled, 1, SETTLE_MS + 2000);
		shrc = shutdown_rc(p);
	}
	if (w.woke < 0)
		AT_MEASURED("waiting: nothing measured, the task did not watch its waiter (pool_wait() %s)",
			    got == WAITED_RESULT ? "ran it itself" : "did not wait for it");
	else
		AT_MEASURED("waiting: the thread in pool_wait() woke up %ld times and burned %.1f ms of CPU while its task ran %d ms (0 wake-ups and under %.0f ms expected)",
			    w.woke, cpu_ms, IDLE_MS, IDLE_MAX_MS);
	AT_HINT("pool_wait() must sleep until the worker says the task is done: a while loop around pthread_cond_wait() on the job's condition variable (or sem_wait() on the job's semaphore), which the worker signals once the result is stored; no timed wait, no usleep() loop, no spin");
	AT_CHECK_RC(rc, "pool_create()");
	AT_CHECK_RC(src, "pool_submit() or pool_wait()");
	AT_CHECK_RC(shrc, SHUTDOWN_CALL);
	AT_CHECK(got == WAITED_RESULT, "pool_wait() returned %ld before its task was done (it gives back %d after at least %d ms): it did not wait",
		 got, WAITED_RESULT, IDLE_MS);
	AT_CHECK(!w.on_waiter, "the task ran on the thread that waits for it: tasks belong on the workers");
	AT_CHECK(w.woke == 0, "the thread in pool_wait() woke up %ld times in %d ms while its task ran: a waiter that looks again on a timer (a timed wait, usleep in a loop) wakes for nothing; it must sleep until the worker tells it the task is done",
		 w.woke, IDLE_MS);
	AT_CHECK(cpu_ms < IDLE_MAX_MS, "the thread in pool_wait() burned %.1f ms of CPU while its task ran: it spins instead of sleeping", cpu_ms);
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
	AT_HINT("every task queued before pool_shutdown() runs before the workers leave: a worker leaves only when the pool is stopping AND the queue is empty (`while (queue empty && !stopping) wait`, then take a job if there is one, return only if there is none), or, with poison pills, only when it takes a pill queued after every real task");
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

/* ---- bad counts, and a pool that cannot be finished ----------------- */

/* The process's address space in use, from /proc/self/status; -1 if unknown. */
static long vm_size_bytes(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmSize:", 7) == 0)
			kb = atol(line + 7);
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/*
 * Make the third thread created from now on fail to start (EAGAIN), as on
 * a machine out of memory: an address-space limit with room for two more
 * thread stacks of the default size and half a stack to spare. Set while
 * no thread of this process has ended yet: glibc keeps a joined thread's
 * stack for the next one, which would then need no new memory. False when
 * the limit cannot be set; *old gets the limit to put back.
 */
static bool room_for_two_threads(struct rlimit *old)
{
	pthread_attr_t a;
	size_t stack = 0;
	struct rlimit lim;
	long vm = vm_size_bytes();

	if (vm <= 0 || getrlimit(RLIMIT_AS, old) != 0 || pthread_getattr_default_np(&a) != 0)
		return false;
	if (pthread_attr_getstacksize(&a, &stack) != 0)
		stack = 0;
	pthread_attr_destroy(&a);
	if (stack == 0)
		return false;
	lim = *old;
	lim.rlim_cur = (rlim_t)vm + 2 * stack + stack / 2;
	if (old->rlim_cur != RLIM_INFINITY && lim.rlim_cur >= old->rlim_cur)
		return false;   /* a tighter limit is already set: leave it be */
	return setrlimit(RLIMIT_AS, &lim) == 0;
}

Test(pool, create_errors, .description = "pool_create() refuses fewer than 1 worker (EINVAL); when a worker cannot be started, it stops and joins those it started and returns the error")
{
	struct pool *p = NULL, *p0 = NULL, *pneg = NULL;
	struct rlimit old;
	int before, rcfail = -1, rc0, rcneg, running = 0, left = 0;
	long created_fail = 0, created_bad;
	bool limited;

	/* First the failure half-way, while no thread has ended yet. */
	before = at_count_threads();
	at_calls_reset();
	limited = room_for_two_threads(&old);
	if (limited) {
		rcfail = pool_create(&p, POOL_N);
		created_fail = at_pthread_create_calls();
		running = at_count_threads() - before;
		cr_assert(setrlimit(RLIMIT_AS, &old) == 0, "the test could not lift its own address-space limit");
		if (rcfail == 0)
			shutdown_rc(p);
		left = threads_left(before);
	}
	/* Then the counts no pool can have. A pool made anyway is shut
	 * down again, if it can be. */
	at_calls_reset();
	rc0 = pool_create(&p0, 0);
	rcneg = pool_create(&pneg, -1);
	created_bad = at_pthread_create_calls();
	if (rc0 == 0)
		shutdown_rc(p0);
	if (rcneg == 0)
		shutdown_rc(pneg);
	if (!limited)
		AT_MEASURED("errors: pool_create(0) returned %d, pool_create(-1) %d (EINVAL is %d); the failure half-way could not be set up here",
			    rc0, rcneg, EINVAL);
	else
		AT_MEASURED("errors: pool_create(0) returned %d, pool_create(-1) %d (EINVAL is %d); pool_create(%d) with its 3rd pthread_create() failing returned %d after %ld call(s), %d thread(s) left behind",
			    rc0, rcneg, EINVAL, POOL_N, rcfail, created_fail, left);
	AT_HINT("check nthreads first (< 1: EINVAL, nothing started); when pthread_create() fails for worker k, the k workers already started are running: mark the pool stopping, wake them, join them, free everything, and return that error");
	AT_CHECK(rc0 != ENOSYS, "%s", at_rc_text(rc0, "pool_create()"));
	AT_CHECK(rc0 == EINVAL && rcneg == EINVAL, "pool_create(0) returned %d and pool_create(-1) %d: a pool needs at least one worker, so both must return EINVAL (%d)",
		 rc0, rcneg, EINVAL);
	AT_CHECK(created_bad == 0, "pool_create() with 0 or -1 workers called pthread_create() %ld time(s): nothing may start for a count that is refused", created_bad);
	if (!limited)
		AT_SKIP("the test could not limit its own address space here, so no pthread_create() could be made to fail");
	if (rcfail == 0 && created_fail < 3)
		AT_SKIP("pool_create(%d) called pthread_create() only %ld time(s), so the third call, set to fail, never came (exactly_n_workers judges how many workers start)",
			POOL_N, created_fail);
	if (rcfail == 0 && running >= POOL_N)
		AT_SKIP("all %d workers started under an address-space limit with room for 2 threads of the default stack size: this pool's threads use smaller stacks, so the failure half-way could not be provoked",
			POOL_N);
	AT_CHECK(rcfail != 0, "pool_create(%d) returned 0 though its 3rd pthread_create() failed (%d worker(s) running): a pool that cannot start its workers must say so",
		 POOL_N, running);
	AT_CHECK(left == 0, "pool_create(%d) returned %d (%s) but left %d thread(s) running: the workers it had started must be stopped and joined before it returns",
		 POOL_N, rcfail, strerror(rcfail), left);
	AT_END();
}

/* ---- race-free under ThreadSanitizer -------------------------------- */

Test(pool, race_free, .description = "four threads submitting at once: no data race under ThreadSanitizer, every task run once")
{
	static struct at_driver_run r;
	static struct at_san_outcome o;
	const char *why = at_run_driver("tsan_pool", "submit", 12000, &r);

	if (why)
		AT_SKIP("%s", why);
	if (at_san_cannot_run(r.out, o.line, sizeof(o.line)))
		AT_SKIP("ThreadSanitizer cannot run on this machine (%s); `setarch -R make check LESSON=7` may help", o.line);
	at_san_measured("ThreadSanitizer, 4 submitting threads, 1000 tasks", &r, &o, 12);
	AT_HINT("touch the queue (head, tail, next) and the stopping flag only while holding the pool's mutex, in pool_submit() as in the workers; a job's done and result only under the job's own mutex");
	AT_CHECK(!r.timed_out, "the run under ThreadSanitizer did not finish within 12 s: a task was lost (a pool_wait() that never returns) or a worker never woke");
	AT_CHECK(r.signal == 0, "the run under ThreadSanitizer was killed by signal %d (%s)%s%s", r.signal, strsignal(r.signal),
		 o.said[0] ? ", after printing:\n" : "", o.said);
	AT_CHECK(r.exit_status != 66 || !at_san_is_race(r.out), "ThreadSanitizer found a data race:\n%s", o.excerpt);
	AT_CHECK(r.exit_status != 66 || !at_san_is_crash(r.out), "the run under ThreadSanitizer crashed (%s)%s%s\n%s", o.kind,
		 o.said[0] ? ", after printing:\n" : "", o.said, o.excerpt);
	AT_CHECK(r.exit_status != 66, "ThreadSanitizer reported %s (not a data race):\n%s",
		 o.kind[0] ? o.kind : "a problem", o.excerpt[0] ? o.excerpt : r.out);
	AT_CHECK(r.exit_status == 0, "the run under ThreadSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}

/* ---- memory-safe under AddressSanitizer ----------------------------- */

Test(pool, memory_safe, .description = "handles waited before and after pool_shutdown(), tasks nobody waits for: no use after free, no double free, no leak under AddressSanitizer")
{
	static struct at_driver_run r;
	static struct at_san_outcome o;
	const char *why = at_run_asan_driver("asan_pool", "handles", 20000, &r);

	if (why)
		AT_SKIP("%s", why);
	if (at_san_cannot_run(r.out, o.line, sizeof(o.line)))
		AT_SKIP("AddressSanitizer cannot run on this machine (%s)", o.line);
	at_san_measured("AddressSanitizer, 300 tasks, 100 handles waited after pool_shutdown()", &r, &o, 20);
	AT_HINT("a handle belongs to whoever waits on it: the worker must not touch the job after it has signalled done (unless nobody waits, then the worker frees it); pool_wait() reads the result, then frees the job, and never touches it again; pool_shutdown() frees the pool, never a job somebody may still wait on");
	AT_CHECK(!r.timed_out, "the run under AddressSanitizer did not finish within 20 s: a pool_wait() never returned, or pool_shutdown() never did");
	AT_CHECK(r.signal == 0, "the run under AddressSanitizer was killed by signal %d (%s)%s%s", r.signal, strsignal(r.signal),
		 o.said[0] ? ", after printing:\n" : "", o.said);
	/* A crash: often freed memory used inside libc, where the sanitizer
	 * does not look (a pthread call on a job's mutex, destroyed and
	 * freed), so the program's own last words come first. */
	AT_CHECK(r.exit_status != 66 || !at_san_is_crash(r.out), "the run under AddressSanitizer crashed (%s)%s%s\n%s", o.kind,
		 o.said[0] ? ", after printing:\n" : "", o.said, o.excerpt);
	AT_CHECK(r.exit_status != 66, "AddressSanitizer found a memory error, %s:\n%s", o.kind[0] ? o.kind : "a report",
		 o.excerpt[0] ? o.excerpt : r.out);
	AT_CHECK(r.exit_status == 0, "the run under AddressSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
