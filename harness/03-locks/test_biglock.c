/*
 * Description: lesson 03, part 3 - the "global interpreter lock"
 * experiment. Under run_with_big_lock() tasks overlap while they wait in
 * blocking_io() (latch), yet never run task code at the same moment
 * (counted exactly) or at the same instant (ping-pong witness); under
 * run_fine_grained() they overlap and run in parallel.
 */
#include "at_latch.h"
#include "at_test.h"
#include "at_witness.h"
#include "biglock.h"
#include "locks_test.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_TASKS 4
#define LATCH_TIMEOUT_MS 1000

TestSuite(biglock, .timeout = 30);

typedef int (*runner_fn)(const struct task *, size_t);

/* A run that must end: on a helper thread, with a deadline, so that a
 * thread stuck waiting for the big lock fails the test instead of hanging
 * it. Returns the runner's return value, or NOT_RETURNED. The tasks and
 * what they use are static: a stuck run may still hold pointers to them
 * when the test ends. */
#define RUN_LIMIT_MS 5000
#define NOT_RETURNED (-1)

struct run_call {
	runner_fn run;
	const struct task *tasks;
	size_t n;
	int rc;
};

static void run_body(void *arg)
{
	struct run_call *c = arg;

	c->rc = c->run(c->tasks, c->n);
}

static int run_within(runner_fn run, const struct task *tasks, size_t n)
{
	static struct run_call c;

	c = (struct run_call){ run, tasks, n, NOT_RETURNED };
	if (!call_within(run_body, &c, RUN_LIMIT_MS))
		return NOT_RETURNED;
	return c.rc;
}

/* The check every test makes first, in words a student can act on. */
static void check_returned(const char *name, int rc)
{
	AT_CHECK(rc != NOT_RETURNED, "%s() did not return within %d s: a thread waits for the big lock forever (is it released at the end of every task, and taken back exactly once after blocking_io()?)",
		 name, RUN_LIMIT_MS / 1000);
	AT_CHECK(rc == 0, "%s() returned %d (%s), not 0", name, rc, strerror(rc));
}

/* ---- overlap: all tasks inside blocking_io() at once ------------------- */

struct latch_job {
	struct at_latch *latch;
	int lane;
};

static void latch_io(void *arg)
{
	at_latch_task(arg);
}

/* A task whose only work is to wait for the others, as blocking I/O. */
static void latch_task(void *arg)
{
	struct latch_job *j = arg;
	int slice = at_trace_begin(at_trace_global(), "waiting", j->lane);

	blocking_io(latch_io, j->latch);
	at_trace_end(at_trace_global(), slice);
}

static int overlap_of(runner_fn run, int *rc)
{
	static struct at_latch latch;
	static struct latch_job job[N_TASKS];
	static struct task t[N_TASKS];
	int max;

	cr_assert(at_latch_init(&latch, N_TASKS, LATCH_TIMEOUT_MS, false) == 0);
	at_trace_reset(at_trace_global());
	for (int i = 0; i < N_TASKS; i++) {
		job[i] = (struct latch_job){ &latch, i };
		t[i] = (struct task){ latch_task, &job[i] };
	}
	*rc = run_within(run, t, N_TASKS);
	max = at_latch_max_in_flight(&latch);
	if (*rc != NOT_RETURNED)
		at_latch_destroy(&latch);
	return max;
}

Test(biglock, big_overlap, .description = "under the big lock, all 4 tasks are inside blocking_io() at the same moment: the lock is let go while a task waits")
{
	int rc, max = overlap_of(run_with_big_lock, &rc);

	at_trace_attach("big_overlap", "run_with_big_lock: 4 tasks waiting in blocking_io()");
	AT_MEASURED("overlap: %d of %d tasks were waiting in blocking_io() at once under the big lock (%d needed)", max, N_TASKS, N_TASKS);
	AT_HINT("blocking_io() must release the big lock before calling io(arg) and take it back after; a thread that keeps the lock while it waits stops every other task (and each thread must be started before any is joined)");
	check_returned("run_with_big_lock", rc);
	AT_CHECK(max >= N_TASKS, "only %d task(s) were ever waiting at once: the waiting tasks held the big lock, or ran one after another", max);
	AT_END();
}

Test(biglock, fine_overlap, .description = "without the big lock, all 4 tasks are in progress at the same moment too")
{
	int rc, max = overlap_of(run_fine_grained, &rc);

	AT_MEASURED("overlap: %d of %d tasks in flight at once without the big lock (%d needed)", max, N_TASKS, N_TASKS);
	AT_HINT("start every thread first, and only then join them (lesson 02); blocking_io() in a thread that holds no big lock just calls io(arg)");
	check_returned("run_fine_grained", rc);
	AT_CHECK(max >= N_TASKS, "only %d task(s) were in progress at once", max);
	AT_END();
}

/* ---- one at a time: task code never runs in two threads at once -------- */

#define SERIAL_ROUNDS 4
#define SERIAL_CPU_MS 3

static atomic_int inside, most_inside, computed;

/* "Task code": what a thread may run only while it holds the big lock. */
static void compute(int lane)
{
	int now = atomic_fetch_add(&inside, 1) + 1;
	int most = atomic_load(&most_inside);

	while (now > most && !atomic_compare_exchange_weak(&most_inside, &most, now))
		;
	at_trace_busy(at_trace_global(), "run", lane, SERIAL_CPU_MS);
	atomic_fetch_sub(&inside, 1);
	atomic_fetch_add(&computed, 1);
}

static void nap(void *arg)
{
	(void)arg;
	at_sleep_ms(2);
}

static void serial_task(void *arg)
{
	int lane = (int)(intptr_t)arg;

	for (int r = 0; r < SERIAL_ROUNDS - 1; r++) {
		compute(lane);
		blocking_io(nap, NULL);
	}
	compute(lane);
}

Test(biglock, big_one_at_a_time, .description = "under the big lock, no two tasks ever run task code at the same moment, before or after blocking_io() (counted exactly)")
{
	static struct task t[N_TASKS];
	int rc;

	atomic_store(&inside, 0);
	atomic_store(&most_inside, 0);
	atomic_store(&computed, 0);
	at_trace_reset(at_trace_global());
	for (int i = 0; i < N_TASKS; i++)
		t[i] = (struct task){ serial_task, (void *)(intptr_t)i };
	rc = run_within(run_with_big_lock, t, N_TASKS);
	at_trace_attach("big_one_at_a_time", "run_with_big_lock: 4 tasks computing, with short waits between");
	AT_MEASURED("one at a time: at most %d of %d tasks ran task code at once under the big lock (1 allowed); %d of %d stretches of work done",
		    atomic_load(&most_inside), N_TASKS, atomic_load(&computed), N_TASKS * SERIAL_ROUNDS);
	AT_HINT("every thread of run_with_big_lock() takes the one shared lock before calling the task and releases it after; blocking_io() must take it back before returning to task code");
	check_returned("run_with_big_lock", rc);
	AT_CHECK(atomic_load(&computed) == N_TASKS * SERIAL_ROUNDS, "only %d of %d stretches of task code ran",
		 atomic_load(&computed), N_TASKS * SERIAL_ROUNDS);
	AT_CHECK(atomic_load(&most_inside) <= 1, "%d tasks ran task code at the same moment: the big lock did not keep them out of each other's way",
		 atomic_load(&most_inside));
	AT_END();
}

/* ---- parallel or not: the ping-pong witness ---------------------------- */

struct pp_job {
	struct at_pingpong *pp;
	int side;
};

/* Task code that spins: only a second CPU running the other side at the
 * same instant lets it take its turns quickly. */
static void pingpong_task(void *arg)
{
	struct pp_job *j = arg;
	char name[16];
	int slice;

	snprintf(name, sizeof(name), "side %d", j->side);
	slice = at_trace_begin(at_trace_global(), name, j->side);
	at_pingpong_play(j->pp, j->side);
	at_trace_end(at_trace_global(), slice);
}

static struct at_pingpong_result pingpong_through(runner_fn run, int timeout_ms, int *rc)
{
	static struct at_pingpong pp;
	static struct pp_job job[2] = { { &pp, 0 }, { &pp, 1 } };
	static struct task t[2] = { { pingpong_task, &job[0] }, { pingpong_task, &job[1] } };

	at_trace_reset(at_trace_global());
	at_pingpong_init(&pp, AT_PINGPONG_ROUNDS, timeout_ms);
	*rc = run_within(run, t, 2);
	return at_pingpong_result(&pp);
}

/*
 * Under the big lock the first spinning side holds the lock and waits for
 * a partner that cannot even start: no round completes until it gives up
 * at the deadline. Two CPUs at once do thousands of rounds a second even
 * on a busy machine; one CPU taking turns about a hundred.
 */
#define NOT_PARALLEL_MS     1000
#define NOT_PARALLEL_ROUNDS 2000   /* in NOT_PARALLEL_MS: only two CPUs at once get there */

Test(biglock, big_not_parallel, .description = "under the big lock, two tasks that need each other at the same instant never get it, even with 2 CPUs free: concurrent, not parallel")
{
	struct at_pingpong_result r;
	int rc;

	/* On one CPU nothing is parallel anyway: there is nothing to tell apart. */
	at_require_cpus(2);
	r = pingpong_through(run_with_big_lock, NOT_PARALLEL_MS, &rc);
	at_trace_attach("big_not_parallel", "run_with_big_lock: two spinning tasks");
	AT_MEASURED("not parallel: %ld ping-pong rounds in %.2f s under the big lock (two CPUs at once do %d in well under a second)",
		    r.rounds_done, r.seconds, NOT_PARALLEL_ROUNDS);
	AT_HINT("all threads of run_with_big_lock() must share ONE lock (a static mutex in biglock.c), held around each task's code");
	check_returned("run_with_big_lock", rc);
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	AT_CHECK(r.rounds_done < NOT_PARALLEL_ROUNDS, "the two tasks ran at the same instant under the big lock: %ld rounds in %.2f s is only possible on two CPUs at once",
		 r.rounds_done, r.seconds);
	AT_END();
}

Test(biglock, fine_parallel, .description = "without the big lock, two tasks of run_fine_grained() run at the same instant, on two CPUs")
{
	struct at_pingpong_result r;
	char why[300];
	int rc, verdict;

	at_require_cpus(2);
	r = pingpong_through(run_fine_grained, AT_PINGPONG_TIMEOUT_MS, &rc);
	AT_MEASURED("parallel: %ld ping-pong rounds in %.2f s (%.0f rounds/s; %d needed within %d s)",
		    r.rounds_done, r.seconds, r.rate, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS / 1000);
	AT_HINT("run_fine_grained() takes no lock around the tasks: each thread calls its task's fn directly");
	check_returned("run_fine_grained", rc);
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	/* Slow turns may be the machine's doing (another program on one CPU,
	 * our two threads put together on the other): the verdict asks the
	 * machine first, and skips when nobody could show parallelism now. */
	verdict = at_pingpong_verdict(&r, why, sizeof(why));
	if (verdict == AT_SKIP)
		AT_SKIP("%s", why);
	AT_CHECK(verdict == AT_YES, "only %ld rounds: the two tasks never ran at the same instant (a lock shared by both threads, or one after the other): %s",
		 r.rounds_done, why);
	AT_END();
}
