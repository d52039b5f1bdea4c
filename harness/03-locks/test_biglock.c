/*
 * Description: lesson 03, part 3 - the "global interpreter lock"
 * experiment. Under run_with_big_lock() tasks overlap while they wait in
 * blocking_io() (latch, for 4, 16 and 64 tasks), yet never run task code
 * at the same moment (counted exactly) or at the same instant (ping-pong
 * witness); under run_fine_grained() they overlap and run in parallel;
 * and both leave their caller as they found it.
 */
#include "at_count.h"
#include "at_latch.h"
#include "at_test.h"
#include "at_witness.h"
#include "biglock.h"
#include "locks_test.h"

#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

/* The limit of the last run_within(): tasks that take their time (the
 * witness gives up only after its own deadline) get more. */
static int run_limit_ms = RUN_LIMIT_MS;

static int run_within_ms(runner_fn run, const struct task *tasks, size_t n, int limit_ms)
{
	static struct run_call c;

	run_limit_ms = limit_ms;
	c = (struct run_call){ run, tasks, n, NOT_RETURNED };
	if (!call_within(run_body, &c, limit_ms))
		return NOT_RETURNED;
	return c.rc;
}

static int run_within(runner_fn run, const struct task *tasks, size_t n)
{
	return run_within_ms(run, tasks, n, RUN_LIMIT_MS);
}

/* The check every test makes first, in words a student can act on. */
static void check_returned(const char *name, int rc)
{
	AT_CHECK(rc != NOT_RETURNED, "%s() did not return within %d s: a thread waits for the big lock forever (is it released at the end of every task, and taken back exactly once after blocking_io()?)",
		 name, run_limit_ms / 1000);
	AT_CHECK(rc == 0, "%s() returned %d (%s), not 0", name, rc, strerror(rc));
}

/* ---- overlap: all tasks inside blocking_io() at once ------------------- */

/*
 * Overlap is proved for several counts, up to more threads than any cap a
 * program might put on them: code that runs tasks in waves of 8 has 4 of 4
 * in flight, but not 16 of 16. Every count waits on one latch with one
 * deadline, so a failing count costs one second.
 */
static const int overlap_counts[] = { 4, 16, 64 };
#define N_COUNTS ((int)(sizeof(overlap_counts) / sizeof(overlap_counts[0])))
#define MAX_OVERLAP 64

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

static int overlap_of(runner_fn run, int n, int *rc)
{
	static struct at_latch latch;
	static struct latch_job job[MAX_OVERLAP];
	static struct task t[MAX_OVERLAP];
	int max;

	cr_assert(n > 0 && n <= MAX_OVERLAP);
	cr_assert(at_latch_init(&latch, n, LATCH_TIMEOUT_MS, false) == 0);
	at_trace_reset(at_trace_global());
	for (int i = 0; i < n; i++) {
		job[i] = (struct latch_job){ &latch, i };
		t[i] = (struct task){ latch_task, &job[i] };
	}
	*rc = run_within(run, t, (size_t)n);
	max = at_latch_max_in_flight(&latch);
	if (*rc != NOT_RETURNED)
		at_latch_destroy(&latch);
	return max;
}

/* Each of overlap_counts in turn, up to the first that falls short. */
struct overlap_runs {
	int failed_at;          /* tasks in the run that fell short; 0: none */
	int max;                /* most in flight in that run */
	int rc;
	char figures[96];       /* "4 of 4, 16 of 16, ..." */
};

static void overlap_counts_of(runner_fn run, struct overlap_runs *o)
{
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < N_COUNTS; i++) {
		int n = overlap_counts[i], max = overlap_of(run, n, &o->rc);

		off += (size_t)snprintf(o->figures + off, sizeof(o->figures) - off, "%s%d of %d",
					i ? ", " : "", max, n);
		if (o->rc != 0 || max < n) {
			o->failed_at = n;
			o->max = max;
			return;
		}
	}
}

/* What "only k of n in flight" says about the code. */
static const char *overlap_meaning(int max)
{
	return max <= 1 ? "the tasks ran one after another"
			: "they ran in waves: something capped how many tasks were in progress at a time";
}

Test(biglock, big_overlap, .description = "under the big lock, all tasks are inside blocking_io() at the same moment, for 4, 16 and 64 tasks: the lock is let go while a task waits")
{
	struct overlap_runs o;

	overlap_counts_of(run_with_big_lock, &o);
	at_trace_attach("big_overlap", "run_with_big_lock: tasks waiting in blocking_io()");
	AT_MEASURED("overlap: %s tasks were waiting in blocking_io() at once under the big lock (all needed)", o.figures);
	AT_HINT("every task must be able to wait at the same time as every other: blocking_io() releases the big lock before calling io(arg) and takes it back after, and every thread is started before any is joined, with no cap on how many run at once");
	check_returned("run_with_big_lock", o.rc);
	AT_CHECK(o.failed_at == 0, "with %d tasks, only %d were ever waiting at once: %s%s", o.failed_at, o.max, overlap_meaning(o.max),
		 o.max <= 1 ? " (does a waiting task keep the big lock?)" : "");
	AT_END();
}

Test(biglock, fine_overlap, .description = "without the big lock, all tasks are in progress at the same moment too, for 4, 16 and 64 tasks")
{
	struct overlap_runs o;

	overlap_counts_of(run_fine_grained, &o);
	AT_MEASURED("overlap: %s tasks in flight at once without the big lock (all needed)", o.figures);
	AT_HINT("start every thread first, and only then join them (lesson 02), however many tasks there are; blocking_io() in a thread that holds no big lock just calls io(arg)");
	check_returned("run_fine_grained", o.rc);
	AT_CHECK(o.failed_at == 0, "with %d tasks, only %d were in progress at once: %s", o.failed_at, o.max, overlap_meaning(o.max));
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
	/* The players give up at their own deadline: on a busy machine the
	 * run then needs a moment more to end. */
	*rc = run_within_ms(run, t, 2, timeout_ms + 3000);
	return at_pingpong_result(&pp);
}

/*
 * Under the big lock the first spinning side holds the lock and waits for
 * a partner that cannot even start: no round completes until it gives up
 * at the deadline. Two CPUs at once do thousands of rounds a second even
 * on a busy machine; one CPU taking turns about a hundred.
 * How many rounds code without a working big lock gets depends on the load
 * (two threads of ours put on one CPU by other programs take turns slowly),
 * so the verdict does not rest on them alone: under a big lock the second
 * side cannot even start while the first plays, and a second side that
 * started (the witness's `overlapped`) fails on any machine, busy or not.
 */
/* A quarter of a second: under the big lock nothing moves however long we
 * wait, and two CPUs at once pass the bar in about a millisecond (the
 * grader runs this test with the machine to itself, student after student). */
#define NOT_PARALLEL_MS     250
#define NOT_PARALLEL_ROUNDS 2000   /* in NOT_PARALLEL_MS: only two CPUs at once get there */

Test(biglock, big_not_parallel, .description = "under the big lock, two tasks that need each other at the same instant never get it, even with 2 CPUs free: concurrent, not parallel")
{
	struct at_pingpong_result r;
	int rc;

	/* On one CPU nothing is parallel anyway: there is nothing to tell apart. */
	at_require_cpus(2);
	r = pingpong_through(run_with_big_lock, NOT_PARALLEL_MS, &rc);
	at_trace_attach("big_not_parallel", "run_with_big_lock: two spinning tasks");
	AT_MEASURED("not parallel: %ld ping-pong rounds in %.2f s under the big lock (two CPUs at once do %d in well under a second); the second task started %s",
		    r.rounds_done, r.seconds, NOT_PARALLEL_ROUNDS,
		    r.overlapped ? "while the first was still in its code" : "only once the first had given up");
	AT_HINT("all threads of run_with_big_lock() must share ONE lock (a static mutex in biglock.c), held around each task's code");
	check_returned("run_with_big_lock", rc);
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	AT_CHECK(r.rounds_done < NOT_PARALLEL_ROUNDS, "the two tasks ran at the same instant under the big lock: %ld rounds in %.2f s is only possible on two CPUs at once",
		 r.rounds_done, r.seconds);
	AT_CHECK(!r.overlapped, "both tasks were in their task code at the same moment under the big lock (the second began while the first was still waiting for it; %ld rounds): nothing kept them apart, so on two free CPUs they run at once",
		 r.rounds_done);
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

/* ---- the caller, as it was found --------------------------------------- */

/*
 * What a run could change for its caller behind its back: the calling
 * thread's signal mask and CPUs, threads left running, descriptors left
 * open. A program that blocks signals so that its threads start with them
 * blocked, or narrows the CPUs for them, must put the caller back.
 */
struct caller_look {
	sigset_t mask;
	cpu_set_t cpus;
	int threads, fds;
};

static void caller_look(struct caller_look *l)
{
	sigemptyset(&l->mask);
	pthread_sigmask(SIG_BLOCK, NULL, &l->mask);
	CPU_ZERO(&l->cpus);
	pthread_getaffinity_np(pthread_self(), sizeof(l->cpus), &l->cpus);
	l->threads = at_count_threads();
	l->fds = at_count_fds();
}

struct caller_run {
	runner_fn run;
	size_t n;
	int rc;
	struct caller_look before, after;
};

static void nap_task(void *arg)
{
	(void)arg;
	blocking_io(nap, NULL);
}

/* On the helper thread (the caller, for the runner): look, run, look. */
static void caller_body(void *arg)
{
	static struct task t[N_TASKS];
	struct caller_run *c = arg;
	int64_t until;

	for (int i = 0; i < N_TASKS; i++)
		t[i] = (struct task){ nap_task, NULL };
	caller_look(&c->before);
	c->rc = c->run(t, c->n);
	/* A joined thread may linger in /proc for a moment: wait a little
	 * for the count to come back, never for a thread left running. */
	until = at_now_ns() + 500 * AT_NS_PER_MS;
	for (;;) {
		caller_look(&c->after);
		if (c->after.threads <= c->before.threads || at_now_ns() >= until)
			break;
		usleep(1000);
	}
}

/* What differs, in words (into buf); how many things. */
static int caller_diff(const struct caller_run *c, char *buf, size_t len)
{
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	for (int sig = 1; sig < SIGRTMAX; sig++) {
		if (sigismember(&c->before.mask, sig) != sigismember(&c->after.mask, sig)) {
			off += (size_t)snprintf(buf + off, len - off, "%sits signal mask (signal %d, %s, %s)", n++ ? "; " : "",
						sig, strsignal(sig), sigismember(&c->after.mask, sig) ? "now blocked" : "no longer blocked");
			break;
		}
	}
	if (!CPU_EQUAL(&c->before.cpus, &c->after.cpus) && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%sits CPUs (%d allowed before, %d after)", n++ ? "; " : "",
					CPU_COUNT(&c->before.cpus), CPU_COUNT(&c->after.cpus));
	if (c->after.threads != c->before.threads && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%d thread(s) more", n++ ? "; " : "",
					c->after.threads - c->before.threads);
	if (c->after.fds != c->before.fds && off < len)
		off += (size_t)snprintf(buf + off, len - off, "%s%d descriptor(s) more", n++ ? "; " : "",
					c->after.fds - c->before.fds);
	return n;
}

Test(biglock, caller_unchanged, .description = "run_with_big_lock() and run_fine_grained() leave their caller as they found it (signal mask, CPUs, no thread or descriptor left), and run 0 tasks as nothing")
{
	static struct caller_run big, fine, none;
	char big_what[400], fine_what[400];
	int big_changes = -1, fine_changes = -1;
	bool big_done, fine_done, none_done;

	big = (struct caller_run){ .run = run_with_big_lock, .n = N_TASKS, .rc = NOT_RETURNED };
	big_done = call_within(caller_body, &big, RUN_LIMIT_MS);
	if (big_done)
		big_changes = caller_diff(&big, big_what, sizeof(big_what));
	fine = (struct caller_run){ .run = run_fine_grained, .n = N_TASKS, .rc = NOT_RETURNED };
	fine_done = call_within(caller_body, &fine, RUN_LIMIT_MS);
	if (fine_done)
		fine_changes = caller_diff(&fine, fine_what, sizeof(fine_what));
	none = (struct caller_run){ .run = run_with_big_lock, .n = 0, .rc = NOT_RETURNED };
	none_done = call_within(caller_body, &none, RUN_LIMIT_MS);
	AT_MEASURED("caller: run_with_big_lock() changed %d thing(s) of its caller, run_fine_grained() %d (0 and 0 expected); run_with_big_lock() of 0 tasks returned %d",
		    big_changes, fine_changes, none.rc);
	AT_HINT("whatever a run changes in the calling thread to start its threads (a signal mask blocked so they start with it, say), it puts back before returning; every thread it started is joined");
	check_returned("run_with_big_lock", big_done ? big.rc : NOT_RETURNED);
	check_returned("run_fine_grained", fine_done ? fine.rc : NOT_RETURNED);
	AT_CHECK(big_changes == 0, "run_with_big_lock() changed its caller: %s", big_what);
	AT_CHECK(fine_changes == 0, "run_fine_grained() changed its caller: %s", fine_what);
	AT_CHECK(none_done && none.rc == 0, "run_with_big_lock() of 0 tasks %s %d, not 0", none_done ? "returned" : "did not return within 5 s:", none.rc);
	AT_END();
}
