/*
 * Description: lesson 01, part 1 - green threads. Are all tasks in progress
 * at once (a latch that waits by yielding, for 4, 16, 64 and 1000 tasks) on
 * the test's own OS thread, with no pthread_create() or fork(); do the steps
 * of three tasks alternate round-robin (ABCABC...); does every task run to
 * its end (300 tasks, 100 of them spawned from inside tasks), and again in a
 * second run; are finished tasks' stacks given back; does green_spawn() say
 * ENOMEM when memory runs out, and lose nothing? (Memory errors, under
 * AddressSanitizer, are test_schedules.c's last test: they cover both parts.)
 *
 * Compare with harness/02-threads/test_threads.c, where the same latch
 * blocks: here a blocking wait would stop every task at once.
 */
#include "at_count.h"
#include "at_latch.h"
#include "at_test.h"
#include "green.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define N_LATCH 4
#define LATCH_TIMEOUT_MS 1000

/*
 * Overlap is proved for several counts, up to more tasks than any cap a
 * scheduler might put on them: one that runs tasks in waves of 32 has 4 of
 * 4 in flight, but not 64 of 64. Green tasks are cheap (1000 stacks of 64
 * KiB are 64 MiB of address space, little of it touched).
 */
static const int overlap_counts[] = { N_LATCH, 16, 64, 1000 };
#define N_COUNTS ((int)(sizeof(overlap_counts) / sizeof(overlap_counts[0])))
#define MAX_LATCH 1000
#define MAX_TRACED 64    /* larger runs are not drawn: one row per task */

TestSuite(green, .timeout = 20);

/* ---- harness tasks and their trace ------------------------------------
 *
 * Each harness task records a trace slice while it holds the CPU: begun
 * when it starts or comes back from a yield, ended just before it yields
 * or returns. Lane = task index, so the picture has one row per task.
 */

struct job {
	char name[16];
	int lane;
	bool traced;             /* draws its slices in the trace */
	int slice;               /* its open trace slice, or -1 */
	struct at_latch *latch;
	pid_t tid;               /* the OS thread it ran on (0: never ran) */
	bool finished;
	char *log;               /* alternation: where its steps are written */
	atomic_int *log_len;
};

/* The harness task on this OS thread's CPU. Under green threads every
 * task shares the one OS thread, so each sets it again when it resumes;
 * per thread, so that a scheduler built on pthreads cannot mix it up. */
static __thread struct job *running;
static atomic_int slices_begun;

static void slice_begin(struct job *j)
{
	running = j;
	j->slice = at_trace_begin(at_trace_global(), j->name, j->lane);
	atomic_fetch_add(&slices_begun, 1);
}

static void slice_end(struct job *j)
{
	at_trace_end(at_trace_global(), j->slice);
}

/* green_yield(), with the trace kept up to date. When no other task ran
 * in between (a yield that did not switch), the same slice goes on, so a
 * task that spins yielding is one long bar, not thousands of slivers. */
static void traced_yield(void)
{
	struct job *me = running;
	int begun = atomic_load(&slices_begun);

	slice_end(me);
	green_yield();
	if (atomic_load(&slices_begun) == begun && me->slice >= 0) {
		running = me;
		at_trace_global()->ev[me->slice].t1_ns = 0;  /* reopen it */
	} else {
		slice_begin(me);
	}
}

static void job_init(struct job *j, int lane)
{
	memset(j, 0, sizeof(*j));
	if (lane < 26)
		snprintf(j->name, sizeof(j->name), "task %c", 'A' + lane);
	else
		snprintf(j->name, sizeof(j->name), "task %d", lane);
	j->lane = lane;
	j->traced = true;
	j->slice = -1;
}

/* Spawn fn for each job; the first error, or 0. */
static int spawn_all(void (*fn)(void *), struct job *job, int n)
{
	int first = 0;

	for (int i = 0; i < n; i++) {
		int rc = green_spawn(fn, &job[i]);

		if (rc != 0 && first == 0)
			first = rc;
	}
	return first;
}

/* ---- all in progress at once, on one OS thread ------------------------ */

/* In flight from its first line to its last; waits for the others by
 * yielding, never by blocking the one OS thread. */
static void latch_task(void *arg)
{
	struct job *j = arg;

	j->tid = at_gettid();
	if (!j->traced) {
		at_latch_task_yielding(j->latch, green_yield);
		j->finished = true;
		return;
	}
	slice_begin(j);
	at_latch_task_yielding(j->latch, traced_yield);
	j->finished = true;
	slice_end(j);
}

struct latch_run {
	int n;
	struct job job[MAX_LATCH];
	int spawn_rc, run_rc;
	int max_in_flight;
	int ran;              /* tasks that started at all */
	int threads;          /* distinct OS threads they ran on */
	int on_test_thread;   /* tasks that ran on the test's own thread */
};

/* Is job[i] the first of job[0..i] to have run on its OS thread? */
static bool first_with_tid(const struct job *job, int i)
{
	for (int k = 0; k < i; k++)
		if (job[k].tid == job[i].tid)
			return false;
	return true;
}

/* n latch tasks through green_spawn() and green_run(). Runs of more than
 * MAX_TRACED tasks leave the trace as it was. */
static void run_latch_tasks(struct latch_run *r, int n)
{
	struct at_latch latch;

	cr_assert(n > 0 && n <= MAX_LATCH);
	memset(r, 0, sizeof(*r));
	r->n = n;
	cr_assert(at_latch_init(&latch, n, LATCH_TIMEOUT_MS, false) == 0);
	if (n <= MAX_TRACED)
		at_trace_reset(at_trace_global());
	for (int i = 0; i < n; i++) {
		job_init(&r->job[i], i);
		r->job[i].traced = n <= MAX_TRACED;
		r->job[i].latch = &latch;
	}
	r->spawn_rc = spawn_all(latch_task, r->job, n);
	r->run_rc = green_run();
	r->max_in_flight = at_latch_max_in_flight(&latch);
	for (int i = 0; i < n; i++) {
		if (r->job[i].tid == 0)
			continue;
		r->ran++;
		if (r->job[i].tid == at_gettid())
			r->on_test_thread++;
		if (first_with_tid(r->job, i))
			r->threads++;
	}
	at_latch_destroy(&latch);
}

Test(green, overlap, .description = "all the scheduler's tasks are in progress at the same moment, for 4, 16, 64 and 1000 tasks")
{
	static struct latch_run r;
	char figures[120] = "";
	size_t off = 0;
	int failed_at = 0;

	/* Stop at the first count that falls short: each costs one deadline. */
	for (int i = 0; i < N_COUNTS && !failed_at; i++) {
		int n = overlap_counts[i];

		run_latch_tasks(&r, n);
		off += (size_t)snprintf(figures + off, sizeof(figures) - off, "%s%d of %d", i ? ", " : "", r.max_in_flight, n);
		if (r.spawn_rc || r.run_rc || r.ran < n || r.max_in_flight < n)
			failed_at = n;
		/* Tasks on OS threads of their own are one_os_thread's failure;
		 * whether 1000 kernel threads all arrive within the deadline
		 * depends on the machine's load, so they are asked for 64 at
		 * most (a verdict must not change from run to run). */
		if (r.threads > 1 && n >= 64)
			break;
	}
	/* The picture of the run that fell short, or of the last one drawn. */
	if (r.n <= MAX_TRACED || !failed_at)
		at_trace_attach("overlap", "green tasks that wait for each other by yielding");
	AT_MEASURED("overlap: %s tasks in flight at once on %d OS thread%s (all needed)",
		    figures, r.threads, r.threads == 1 ? "" : "s");
	AT_HINT("green_yield() must save the running task (swapcontext into its own context) and switch to the scheduler, which runs the next task; a yield that returns straight to the caller lets one task keep the CPU until it ends, and a limit on the tasks admitted at once runs them in waves");
	AT_CHECK_RC(r.spawn_rc, "green_spawn()");
	AT_CHECK_RC(r.run_rc, "green_run()");
	AT_CHECK(r.ran == r.n, "with %d tasks, only %d ever started", r.n, r.ran);
	AT_CHECK(!failed_at, "with %d tasks, only %d %s ever in progress at once: %s", failed_at, r.max_in_flight,
		 r.max_in_flight == 1 ? "was" : "were",
		 r.max_in_flight <= 1 ? "each task ran to its end before the next began"
				      : "they ran in waves: something capped how many tasks were in progress at a time");
	AT_END();
}

Test(green, one_os_thread, .description = "every task runs on the OS thread that called green_run(); no thread or process is created")
{
	static struct latch_run r;
	long created, forked;

	at_calls_reset();
	run_latch_tasks(&r, N_LATCH);
	created = at_pthread_create_calls();
	forked = at_fork_calls();
	AT_MEASURED("threads: the %d tasks ran on %d OS thread%s, %d of them on the caller's; %ld pthread_create() and %ld fork() calls",
		    N_LATCH, r.threads, r.threads == 1 ? "" : "s", r.on_test_thread, created, forked);
	AT_HINT("green threads are contexts switched by your own code (swapcontext), all on the thread that calls green_run(): no pthread_create(), no fork()");
	AT_CHECK_RC(r.spawn_rc, "green_spawn()");
	AT_CHECK_RC(r.run_rc, "green_run()");
	AT_CHECK(r.ran == N_LATCH, "only %d of the %d tasks ever started", r.ran, N_LATCH);
	AT_CHECK(created == 0, "%ld pthread_create() call(s): the tasks must share the caller's OS thread", created);
	AT_CHECK(forked == 0, "%ld fork() call(s): the tasks must share the caller's process and thread", forked);
	AT_CHECK(r.on_test_thread == N_LATCH, "%d of %d tasks ran on another OS thread than the one that called green_run()",
		 N_LATCH - r.on_test_thread, N_LATCH);
	AT_END();
}

/* ---- round-robin ------------------------------------------------------ */

#define ALT_TASKS 3
#define ALT_STEPS 5

#define STEP_US 200  /* each step holds the CPU this long: the picture shows it */

/* Busy, not asleep: a green task that slept would stop every task. */
static void spin_us(int us)
{
	int64_t end = at_now_ns() + (int64_t)us * 1000;

	while (at_now_ns() < end)
		;
}

/* ALT_STEPS steps, each writing the task's letter, a yield between two. */
static void step_task(void *arg)
{
	struct job *j = arg;

	slice_begin(j);
	for (int s = 0; s < ALT_STEPS; s++) {
		int at = atomic_fetch_add(j->log_len, 1);

		if (at < ALT_TASKS * ALT_STEPS)
			j->log[at] = (char)('A' + j->lane);
		spin_us(STEP_US);
		if (s + 1 < ALT_STEPS)
			traced_yield();
	}
	j->finished = true;
	slice_end(j);
}

Test(green, alternation, .description = "three tasks that yield after every step take turns round-robin: ABCABC...")
{
	struct job job[ALT_TASKS];
	char log[ALT_TASKS * ALT_STEPS + 1], want[ALT_TASKS * ALT_STEPS + 1];
	atomic_int len = 0;
	int spawn_rc, run_rc, n;

	memset(log, 0, sizeof(log));
	for (int i = 0; i < ALT_TASKS * ALT_STEPS; i++)
		want[i] = (char)('A' + i % ALT_TASKS);
	want[ALT_TASKS * ALT_STEPS] = '\0';
	at_trace_reset(at_trace_global());
	for (int i = 0; i < ALT_TASKS; i++) {
		job_init(&job[i], i);
		job[i].log = log;
		job[i].log_len = &len;
	}
	spawn_rc = spawn_all(step_task, job, ALT_TASKS);
	run_rc = green_run();
	n = atomic_load(&len);
	at_trace_attach("alternation", "3 green tasks, 5 steps each, a yield between two steps");
	AT_MEASURED("alternation: steps ran %s (round-robin gives %s)", n ? log : "(none)", want);
	AT_HINT("the run queue is first in, first out: green_spawn() and a yielding task both go to the BACK, green_run() takes the FRONT; then A, B, C spawned in that order run A B C A B C ...");
	AT_CHECK_RC(spawn_rc, "green_spawn()");
	AT_CHECK_RC(run_rc, "green_run()");
	AT_CHECK(n == ALT_TASKS * ALT_STEPS, "%d steps ran, %d expected: a task was stopped or lost", n, ALT_TASKS * ALT_STEPS);
	AT_CHECK(strcmp(log, want) == 0, "the steps ran in the order %s, not %s: %s", log, want,
		 log[0] == log[1] ? "a task kept the CPU across its yields" : "the next task is not the one that waited longest");
	AT_END();
}

/* ---- no task lost ----------------------------------------------------- */

#define MANY 200                 /* spawned by the test */
#define MAX_IDS (MANY + MANY / 2)  /* + one child per even-numbered task */

static atomic_int runs[MAX_IDS], ends[MAX_IDS];
static atomic_int child_spawn_errors;

static void child_task(void *arg)
{
	int id = (int)(intptr_t)arg;

	atomic_fetch_add(&runs[id], 1);
	green_yield();
	green_yield();
	atomic_fetch_add(&ends[id], 1);
}

/* Yields, spawns a child from inside (even ids), yields again. */
static void parent_task(void *arg)
{
	int id = (int)(intptr_t)arg;

	atomic_fetch_add(&runs[id], 1);
	green_yield();
	if (id % 2 == 0 && green_spawn(child_task, (void *)(intptr_t)(MANY + id / 2)) != 0)
		atomic_fetch_add(&child_spawn_errors, 1);
	green_yield();
	atomic_fetch_add(&ends[id], 1);
}

struct tally {
	int spawn_rc, run_rc;
	int child_spawn_errors;
	int ended_once;   /* tasks that ran exactly once, to their end */
	int never_ran;
	int unfinished;   /* started but not ended when green_run() returned */
	int ran_twice;
};

/* Spawn parents first..first+n-1 (children get MANY + id/2) and run. */
static void run_round(int first, int n, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	for (int i = 0; i < MAX_IDS; i++) {
		atomic_store(&runs[i], 0);
		atomic_store(&ends[i], 0);
	}
	atomic_store(&child_spawn_errors, 0);
	for (int id = first; id < first + n; id++) {
		int rc = green_spawn(parent_task, (void *)(intptr_t)id);

		if (rc != 0 && t->spawn_rc == 0)
			t->spawn_rc = rc;
	}
	t->run_rc = green_run();
	for (int i = 0; i < MAX_IDS; i++) {
		int r = atomic_load(&runs[i]), e = atomic_load(&ends[i]);
		bool expected = (i >= first && i < first + n) ||
			(i >= MANY && (i - MANY) * 2 >= first && (i - MANY) * 2 < first + n);

		if (!expected)
			continue;
		if (r == 0)
			t->never_ran++;
		else if (r > 1 || e > 1)
			t->ran_twice++;
		else if (e == 0)
			t->unfinished++;
		else
			t->ended_once++;
	}
	t->child_spawn_errors = atomic_load(&child_spawn_errors);
}

static int expected_tasks(int first, int n)
{
	int children = 0;

	for (int id = first; id < first + n; id++)
		children += id % 2 == 0;
	return n + children;
}

Test(green, every_task_runs, .description = "300 tasks, 100 of them spawned from inside tasks: each runs once, to its end, before green_run() returns")
{
	struct tally t;
	int want = expected_tasks(0, MANY);

	run_round(0, MANY, &t);
	AT_MEASURED("every task: %d of %d tasks ran to their end (%d spawned before green_run(), %d from inside tasks); %d never ran, %d unfinished",
		    t.ended_once, want, MANY, want - MANY, t.never_ran, t.unfinished);
	AT_HINT("keep the run queue unbounded (a linked list), let green_spawn() add to it while green_run() runs, and return from green_run() only when the queue is empty");
	AT_CHECK_RC(t.spawn_rc, "green_spawn()");
	AT_CHECK(t.child_spawn_errors == 0, "green_spawn() failed %d time(s) when called from inside a task", t.child_spawn_errors);
	AT_CHECK_RC(t.run_rc, "green_run()");
	AT_CHECK(t.never_ran == 0, "%d of %d tasks never ran: spawned, then lost", t.never_ran, want);
	AT_CHECK(t.ran_twice == 0, "%d task(s) ran more than once", t.ran_twice);
	AT_CHECK(t.unfinished == 0, "green_run() returned while %d task(s) had not finished", t.unfinished);
	AT_END();
}

Test(green, run_again, .description = "green_run() with nothing to do returns 0; after any green_run(), new tasks can be spawned and run by the next one")
{
	struct tally t1, t2;
	int rc_empty;

	green_yield();          /* outside any task: must do nothing */
	rc_empty = green_run(); /* nothing to run: returns at once */
	run_round(0, 4, &t1);
	run_round(10, 4, &t2);
	AT_MEASURED("run again: after an empty green_run(), run 1 finished %d of %d tasks, run 2 %d of %d",
		    t1.ended_once, expected_tasks(0, 4), t2.ended_once, expected_tasks(10, 4));
	AT_HINT("when green_run() returns, leave the scheduler as you found it: empty queue (front AND back), no running task, no flag that says \"done\"");
	AT_CHECK_RC(rc_empty, "green_run() with no task");
	AT_CHECK_RC(t1.spawn_rc, "green_spawn() (run 1)");
	AT_CHECK_RC(t1.run_rc, "green_run() (run 1)");
	AT_CHECK(t1.ended_once == expected_tasks(0, 4), "run 1, after an empty green_run(), finished %d of %d tasks: the scheduler did not start again", t1.ended_once, expected_tasks(0, 4));
	AT_CHECK_RC(t2.spawn_rc, "green_spawn() (run 2)");
	AT_CHECK_RC(t2.run_rc, "green_run() (run 2)");
	AT_CHECK(t1.child_spawn_errors + t2.child_spawn_errors == 0, "green_spawn() failed %d time(s) when called from inside a task",
		 t1.child_spawn_errors + t2.child_spawn_errors);
	AT_CHECK(t2.ended_once == expected_tasks(10, 4), "run 2 finished %d of %d tasks: the scheduler does not start again after a run", t2.ended_once, expected_tasks(10, 4));
	AT_END();
}

/* ---- stacks given back ------------------------------------------------ */

#define ROUND_TASKS 500

/* The process's virtual size: grows by a stack for every stack kept. */
static long vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &pages) != 1)
		pages = -1;
	fclose(f);
	return pages < 0 ? -1 : pages * sysconf(_SC_PAGESIZE);
}

static void yield_once(void *arg)
{
	atomic_int *ended = arg;

	green_yield();
	atomic_fetch_add(ended, 1);
}

/* ROUND_TASKS tasks in one run; returns how many ended. */
static int stack_round(int *rc)
{
	static atomic_int ended;

	atomic_store(&ended, 0);
	*rc = 0;
	for (int i = 0; i < ROUND_TASKS && *rc == 0; i++)
		*rc = green_spawn(yield_once, &ended);
	if (*rc == 0)
		*rc = green_run();
	return atomic_load(&ended);
}

Test(green, stacks_freed, .description = "a finished task's stack is freed: two more runs of 500 tasks do not grow the process")
{
	int rc1, rc2, rc3, ended = 0;
	long before, after;
	double grown_mib, leak_mib = 2.0 * ROUND_TASKS * GREEN_STACK_SIZE / (1024.0 * 1024.0);

	ended += stack_round(&rc1);  /* the first run sets up the heap */
	before = vm_bytes();
	ended += stack_round(&rc2);
	ended += stack_round(&rc3);
	after = vm_bytes();
	grown_mib = (double)(after - before) / (1024.0 * 1024.0);
	AT_MEASURED("memory: the process grew by %.1f MiB over two more runs of %d tasks (keeping every stack would add %.1f MiB)",
		    grown_mib, ROUND_TASKS, leak_mib);
	AT_HINT("free a task's stack (and its record) in green_run(), right after switching back from a task that has finished: the task itself cannot free the stack it is running on");
	AT_CHECK_RC(rc1 ? rc1 : rc2 ? rc2 : rc3, "green_spawn() or green_run()");
	AT_CHECK(ended == 3 * ROUND_TASKS, "only %d of %d tasks ran to their end", ended, 3 * ROUND_TASKS);
	AT_CHECK(before > 0 && after > 0, "could not read /proc/self/statm");
	AT_CHECK(grown_mib < leak_mib / 4, "the process grew by %.1f MiB: the stacks of finished tasks are not freed", grown_mib);
	AT_END();
}

/* ---- out of memory ---------------------------------------------------- */

#define OOM_ROOM (8 << 20)     /* address space left: room for ~120 tasks */
#define OOM_MAX_SPAWNS 20000   /* a scheduler that never runs out stops here */
#define OOM_AGAIN 10

static atomic_int oom_runs[OOM_MAX_SPAWNS + 1];

static void counted_task(void *arg)
{
	atomic_fetch_add(&oom_runs[(intptr_t)arg], 1);
	green_yield();
}

struct oom_run {
	int accepted;         /* spawns that returned 0 before the first refusal */
	int refused_rc;       /* what the refused spawn returned (0: none was) */
	int run_rc, again_rc, again_spawn_rc;
	int ran_once;         /* accepted tasks that ran exactly once */
	int refused_ran;      /* the refused task ran anyway */
	int again_ran;        /* tasks of the run after, that ran */
};

/* Spawn until green_spawn() refuses, with the address space capped at
 * OOM_ROOM more than now; then, with the cap lifted, run what was taken. */
static void spawn_until_refused(struct oom_run *o)
{
	struct rlimit old, tight;
	long now = vm_bytes();

	memset(o, 0, sizeof(*o));
	cr_assert(now > 0 && getrlimit(RLIMIT_AS, &old) == 0);
	tight = old;
	if (old.rlim_cur == RLIM_INFINITY || (rlim_t)now + OOM_ROOM < old.rlim_cur)
		tight.rlim_cur = (rlim_t)now + OOM_ROOM;
	cr_assert(setrlimit(RLIMIT_AS, &tight) == 0);
	for (int i = 0; i < OOM_MAX_SPAWNS; i++) {
		int rc = green_spawn(counted_task, (void *)(intptr_t)i);

		if (rc != 0) {
			o->refused_rc = rc;
			break;
		}
		o->accepted++;
	}
	/* Lifted before green_run(): a scheduler may allocate as it runs. */
	cr_assert(setrlimit(RLIMIT_AS, &old) == 0);
	o->run_rc = green_run();
	for (int i = 0; i < o->accepted; i++)
		o->ran_once += atomic_load(&oom_runs[i]) == 1;
	o->refused_ran = atomic_load(&oom_runs[o->accepted]) != 0;
}

Test(green, out_of_memory, .description = "when memory runs out, green_spawn() returns ENOMEM and queues nothing; the tasks it accepted run, each once, and the scheduler works on")
{
	static struct oom_run o;

	spawn_until_refused(&o);
	/* Then an ordinary run: the failure must have left no half-made task. */
	for (int i = 0; i < OOM_AGAIN && o.again_spawn_rc == 0; i++)
		o.again_spawn_rc = green_spawn(counted_task, (void *)(intptr_t)OOM_MAX_SPAWNS);
	o.again_rc = green_run();
	o.again_ran = atomic_load(&oom_runs[OOM_MAX_SPAWNS]);
	AT_MEASURED("out of memory: with %d MiB of address space to spare, green_spawn() took %d task(s), then returned %d (%s); %d of %d ran once, the refused one %s; a run after: %d of %d",
		    OOM_ROOM >> 20, o.accepted, o.refused_rc, o.refused_rc == ENOMEM ? "ENOMEM" : o.refused_rc ? strerror(o.refused_rc) : "never refused",
		    o.ran_once, o.accepted, o.refused_ran ? "ran too" : "did not", o.again_ran, OOM_AGAIN);
	AT_HINT("check every allocation in green_spawn(): when the task or its stack cannot be had, free what you did get, queue nothing and return ENOMEM");
	AT_CHECK(o.refused_rc != ENOSYS, "%s", at_rc_text(ENOSYS, "green_spawn()"));
	AT_CHECK(o.refused_rc == 0 || o.refused_rc == ENOMEM, "green_spawn() returned %d (%s) when memory ran out: ENOMEM is what green.h promises",
		 o.refused_rc, strerror(o.refused_rc));
	AT_CHECK_RC(o.run_rc, "green_run() (after the refusal)");
	AT_CHECK(o.ran_once == o.accepted, "%d of the %d task(s) green_spawn() accepted did not run exactly once", o.accepted - o.ran_once, o.accepted);
	AT_CHECK(!o.refused_ran, "the task green_spawn() refused ran anyway: a refused task must not be queued");
	AT_CHECK_RC(o.again_spawn_rc, "green_spawn() (in the run after)");
	AT_CHECK_RC(o.again_rc, "green_run() (in the run after)");
	AT_CHECK(o.again_ran == OOM_AGAIN, "in the run after the refusal, %d of %d tasks ran", o.again_ran, OOM_AGAIN);
	AT_END();
}
