/*
 * Description: lesson 02 - are the tasks on threads of their own, all in
 * progress at once (latch), simultaneous on two CPUs (ping-pong witness),
 * each result in its own slot, every thread joined; and does the pinned run
 * stay on one CPU, concurrent but not parallel?
 */
#include "at_count.h"
#include "at_latch.h"
#include "at_test.h"
#include "at_witness.h"
#include "threads.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define N_TASKS 4
#define LATCH_TIMEOUT_MS 1000
#define SETTLE_MS 3000   /* longer than any harness task takes */

/*
 * Threads the code under test creates start 2 ms late: a thread handed the
 * address of the loop counter then reads the moved-on value on every run,
 * so loop_variable fails the same checks every time (at_count.h).
 */
static void start_threads_late(void)
{
	at_calls_delay_starts(2);
}

TestSuite(threads, .timeout = 30, .init = start_threads_late);

/* ---- harness tasks ---------------------------------------------------- */

/*
 * A run_parallel() that returns before its threads finish (a missing join)
 * must fail all_joined, and only that: every test reads what its tasks
 * measured only once they have all finished and their threads are gone, so
 * that the verdicts do not depend on how fast the leftovers were. What the
 * tasks touch is static, never on the test's stack, for the same reason.
 */
static struct at_settle settled;

/*
 * Wait (bounded) for `n` harness tasks to end and their threads to exit.
 * After a call that failed (rc != 0: the skeleton's ENOSYS, say) the tasks
 * may never run: then wait only for the threads it left behind.
 */
static bool settle(int rc, long n, int threads_before, int ms)
{
	bool ok = rc != 0 || at_settle_wait(&settled, n, ms);

	for (int i = 0; ok && i < SETTLE_MS / 10 && at_count_threads() > threads_before; i++)
		at_sleep_ms(10);
	return ok;
}

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
	at_tidset_add_self(j->tids);
	at_latch_task(j->latch);
	at_trace_end(at_trace_global(), slice);
	at_settle_done(&settled);
	return 0;
}

/* Run N_TASKS latch tasks through `run` (run_parallel or a pinned run). */
static int overlap_of(int (*run)(struct task *, size_t, int), int cpu,
		      struct at_tidset *tids, int *rc)
{
	static struct at_latch latch;
	static struct latch_job job[N_TASKS];
	static struct task t[N_TASKS];
	int max, threads_before = at_count_threads();

	cr_assert(at_latch_init(&latch, N_TASKS, LATCH_TIMEOUT_MS, false) == 0);
	at_tidset_init(tids);
	at_trace_reset(at_trace_global());
	at_settle_reset(&settled);
	for (int i = 0; i < N_TASKS; i++) {
		job[i] = (struct latch_job){ &latch, tids, i };
		t[i] = (struct task){ latch_task, &job[i], -1 };
	}
	*rc = run(t, N_TASKS, cpu);
	if (!settle(*rc, N_TASKS, threads_before, SETTLE_MS))
		return at_latch_max_in_flight(&latch);   /* stragglers: leave it be */
	max = at_latch_max_in_flight(&latch);
	at_latch_destroy(&latch);
	return max;
}

static int parallel_run(struct task *t, size_t n, int cpu_unused)
{
	(void)cpu_unused;
	return run_parallel(t, n);
}

/* The first CPU this process may use: where the pinned runs go. */
static int first_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set))
			return c;
	return 0;
}

/* ---- concurrency ---------------------------------------------------- */

Test(threads, overlap, .description = "run_parallel() has all its tasks in progress at the same moment")
{
	static struct at_tidset tids;
	int rc, max = overlap_of(parallel_run, 0, &tids, &rc);

	at_trace_attach("overlap", "run_parallel: 4 tasks that wait for each other");
	AT_MEASURED("overlap: %d of %d tasks in flight at once (%d needed)", max, N_TASKS, N_TASKS);
	AT_HINT("start every thread first, and only then join them; a join right after each pthread_create waits for that task to end before the next one starts");
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(max >= N_TASKS, "only %d task(s) were ever in progress at once: the tasks ran one after another", max);
	AT_END();
}

Test(threads, thread_per_task, .description = "every task runs on a new thread of its own, not on the caller's")
{
	static struct at_tidset tids;
	int rc, max;
	long created;

	at_calls_reset();
	max = overlap_of(parallel_run, 0, &tids, &rc);
	created = at_pthread_create_calls();
	AT_MEASURED("threads: %d distinct threads ran the %d tasks, %ld pthread_create() calls", at_tidset_count(&tids), N_TASKS, created);
	AT_HINT("one pthread_create() per task; the calling thread only starts and joins them");
	(void)max;
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(!at_tidset_contains(&tids, at_gettid()), "a task ran on the thread that called run_parallel(): it must run on a thread of its own");
	AT_CHECK(at_tidset_count(&tids) == N_TASKS, "%d task(s) on %d distinct thread(s): each task needs its own", N_TASKS, at_tidset_count(&tids));
	AT_CHECK(created == N_TASKS, "%ld pthread_create() calls for %d tasks: one per task is expected", created, N_TASKS);
	AT_END();
}

/* ---- results ---------------------------------------------------------- */

#define N_RESULTS 16
static atomic_int calls[N_RESULTS];

static long square_task(void *arg)
{
	long i = (long)(intptr_t)arg;

	atomic_fetch_add(&calls[i], 1);
	at_burn_ms(2); /* long enough for the threads to overlap */
	at_settle_done(&settled);
	return i * i;
}

Test(threads, results, .description = "each task runs exactly once and its result lands in its own slot")
{
	static struct task t[N_RESULTS];
	int rc, wrong = 0, first_wrong = -1, bad_calls = 0, threads_before = at_count_threads();

	at_settle_reset(&settled);
	for (int i = 0; i < N_RESULTS; i++) {
		atomic_store(&calls[i], 0);
		t[i] = (struct task){ square_task, (void *)(intptr_t)i, -1 };
	}
	rc = run_parallel(t, N_RESULTS);
	/* Whether they were there at return is all_joined's question. */
	settle(rc, N_RESULTS, threads_before, SETTLE_MS);
	for (int i = 0; i < N_RESULTS; i++) {
		if (t[i].result != (long)i * i && wrong++ == 0)
			first_wrong = i;
		if (atomic_load(&calls[i]) != 1)
			bad_calls++;
	}
	AT_MEASURED("results: %d of %d slots right, %d task(s) not run exactly once", N_RESULTS - wrong, N_RESULTS, bad_calls);
	AT_HINT("give each thread a pointer to its own struct task (&tasks[i]): never the address of a loop variable or of one shared slot, which all threads see change");
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(bad_calls == 0, "%d task(s) ran zero times or more than once", bad_calls);
	AT_CHECK(wrong == 0, "%d result(s) wrong; the first: task %d holds %ld, expected %d", wrong, first_wrong,
		 first_wrong >= 0 ? t[first_wrong].result : 0, first_wrong * first_wrong);
	AT_END();
}

/* ---- nothing left behind -------------------------------------------- */

static atomic_int finished;

static long slow_task(void *arg)
{
	(void)arg;
	at_sleep_ms(100);
	atomic_fetch_add(&finished, 1);
	at_settle_done(&settled);
	return 0;
}

Test(threads, all_joined, .description = "run_parallel() returns only after every task has finished, and leaves no thread behind")
{
	static struct task t[N_TASKS];
	int before = at_count_threads(), rc, done, after;

	atomic_store(&finished, 0);
	at_settle_reset(&settled);
	for (int i = 0; i < N_TASKS; i++)
		t[i] = (struct task){ slow_task, NULL, -1 };
	rc = run_parallel(t, N_TASKS);
	done = atomic_load(&finished);
	/* A joined thread is gone from /proc at once; a detached one may
	 * still be exiting, so give the count a moment to settle. */
	settle(rc, N_TASKS, before, SETTLE_MS);
	after = at_count_threads();
	AT_MEASURED("joined: %d of %d tasks had finished when run_parallel() returned; threads before %d, after %d", done, N_TASKS, before, after);
	AT_HINT("pthread_join() every thread you created before returning; a detached or forgotten thread may still be running");
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(done == N_TASKS, "run_parallel() returned while %d task(s) were still running", N_TASKS - done);
	AT_CHECK(after == before, "%d thread(s) were left behind", after - before);
	AT_END();
}

/* ---- parallelism ---------------------------------------------------- */

static long pingpong_task(void *arg)
{
	struct at_pingpong *pp = ((struct at_pingpong **)arg)[0];
	int side = (int)(intptr_t)((void **)arg)[1];
	char name[16];
	int slice;

	snprintf(name, sizeof(name), "side %d", side);
	slice = at_trace_begin(at_trace_global(), name, side);
	at_pingpong_play(pp, side);
	at_trace_end(at_trace_global(), slice);
	at_settle_done(&settled);
	return 0;
}

/* Two ping-pong players through `run`; the witness's result. */
static struct at_pingpong_result pingpong_through(int (*run)(struct task *, size_t, int),
						  int cpu, int timeout_ms, int *rc)
{
	static struct at_pingpong pp;
	static void *args[2][2] = { { &pp, (void *)0 }, { &pp, (void *)1 } };
	static struct task t[2];
	int threads_before = at_count_threads();

	t[0] = (struct task){ pingpong_task, args[0], -1 };
	t[1] = (struct task){ pingpong_task, args[1], -1 };
	at_trace_reset(at_trace_global());
	at_settle_reset(&settled);
	at_pingpong_init(&pp, AT_PINGPONG_ROUNDS, timeout_ms);
	*rc = run(t, 2, cpu);
	settle(*rc, 2, threads_before, timeout_ms + SETTLE_MS);
	return at_pingpong_result(&pp);
}

Test(threads, parallel, .description = "two tasks of run_parallel() run at the same instant, on two CPUs")
{
	struct at_pingpong_result r;
	char why[300];
	int rc, verdict;

	at_require_cpus(2);
	r = pingpong_through(parallel_run, 0, AT_PINGPONG_TIMEOUT_MS, &rc);
	AT_MEASURED("parallel: %ld ping-pong rounds in %.2f s (%.0f rounds/s; %d needed within %d s)",
		    r.rounds_done, r.seconds, r.rate, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS / 1000);
	AT_HINT("two tasks that spin waiting for each other can only take turns quickly when both run at once, on two CPUs: start all threads before joining any, and do not restrict where they run");
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	verdict = at_pingpong_verdict(&r, why, sizeof(why));
	if (verdict == AT_SKIP)
		AT_SKIP("%s", why);
	AT_CHECK(verdict == AT_YES, "the two tasks never ran at the same instant (they shared one CPU, or ran one after the other): %s", why);
	AT_END();
}

/* ---- the pinned run ------------------------------------------------- */

Test(threads, pinned_overlap, .description = "run_pinned() also has all its tasks in progress at once: concurrency needs only one CPU")
{
	struct at_tidset tids;
	int rc, max = overlap_of(run_pinned, first_cpu(), &tids, &rc);

	AT_MEASURED("overlap: %d of %d tasks in flight at once on one CPU (%d needed)", max, N_TASKS, N_TASKS);
	AT_HINT("pinning changes where the threads run, not when they start: start them all, then join them all");
	AT_CHECK_RC(rc, "run_pinned()");
	AT_CHECK(max >= N_TASKS, "only %d task(s) were in progress at once", max);
	AT_END();
}

struct where {
	atomic_int ran;         /* tasks that ran */
	atomic_int off_cpu;     /* samples taken on another CPU */
	atomic_int wide_masks;  /* threads allowed on more than one CPU */
	int cpu;
};

static long where_task(void *arg)
{
	struct where *w = arg;
	cpu_set_t mine;

	atomic_fetch_add(&w->ran, 1);
	if (pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine) != 0 ||
	    CPU_COUNT(&mine) != 1 || !CPU_ISSET(w->cpu, &mine))
		atomic_fetch_add(&w->wide_masks, 1);
	/* Look where we run, many times, while the other threads compete. */
	for (int i = 0; i < 200; i++) {
		if (sched_getcpu() != w->cpu)
			atomic_fetch_add(&w->off_cpu, 1);
		at_burn_ms(0);
	}
	at_settle_done(&settled);
	return 0;
}

Test(threads, pinned_one_cpu, .description = "every thread of run_pinned() may run only on the CPU asked for")
{
	static struct where w;
	static struct task t[N_TASKS];
	int rc, threads_before = at_count_threads();

	w = (struct where){ .cpu = first_cpu() };
	at_settle_reset(&settled);
	for (int i = 0; i < N_TASKS; i++)
		t[i] = (struct task){ where_task, &w, -1 };
	rc = run_pinned(t, N_TASKS, w.cpu);
	settle(rc, N_TASKS, threads_before, SETTLE_MS);
	AT_MEASURED("pinned: %d of %d threads confined to CPU %d, %d sample(s) seen elsewhere",
		    atomic_load(&w.ran) - atomic_load(&w.wide_masks), N_TASKS, w.cpu, atomic_load(&w.off_cpu));
	AT_HINT("set the affinity in a pthread_attr_t (pthread_attr_setaffinity_np with a cpu_set_t holding only `cpu`) and pass it to every pthread_create()");
	AT_CHECK_RC(rc, "run_pinned()");
	AT_CHECK(atomic_load(&w.ran) == N_TASKS, "only %d of %d tasks ran", atomic_load(&w.ran), N_TASKS);
	AT_CHECK(atomic_load(&w.wide_masks) == 0, "%d thread(s) may run on CPUs other than %d", atomic_load(&w.wide_masks), w.cpu);
	AT_CHECK(atomic_load(&w.off_cpu) == 0, "threads were seen running on another CPU %d time(s)", atomic_load(&w.off_cpu));
	AT_END();
}

Test(threads, pinned_not_parallel, .description = "the pinned run is concurrent but not parallel: its tasks never run at the same instant")
{
	struct at_pingpong_result r;
	int rc;

	/* On one CPU the witness has nothing to tell apart: the pinned run and
	 * any other run are equally unable to show parallelism. */
	at_require_cpus(2);
	r = pingpong_through(run_pinned, first_cpu(), 1000, &rc);
	at_trace_attach("pinned_not_parallel", "run_pinned: two spinning tasks on one CPU");
	AT_MEASURED("not parallel: %ld ping-pong rounds in %.2f s (%.0f rounds/s; on two CPUs %d take well under a second)",
		    r.rounds_done, r.seconds, r.rate, AT_PINGPONG_ROUNDS);
	AT_HINT("if the two tasks could take turns this fast, they were not confined to one CPU: check the affinity you pass to pthread_create()");
	AT_CHECK_RC(rc, "run_pinned()");
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	AT_CHECK(!r.parallel, "the two pinned tasks ran simultaneously: %ld rounds in %.2f s is only possible on two CPUs", r.rounds_done, r.seconds);
	AT_END();
}
