/*
 * Description: lesson 04 - does run_in_processes() run each task in a child
 * process of its own, all in progress at once (a latch in shared memory) and
 * simultaneous on two CPUs (a ping-pong witness in shared memory); do the
 * children's writes stay out of the parent's memory; does every result come
 * back in its own slot; is every child reaped and every descriptor closed;
 * is a crashed or silent child reported while the others' results are kept;
 * and does no child ever come back into the caller's code?
 *
 * Compare with harness/02-threads/test_threads.c: the same measurements on
 * threads. What changes here is that the tasks run in other processes, so
 * everything they report to the test travels through memory mapped
 * MAP_SHARED before the fork (struct shared, the latch, the trace).
 */
#include "at_count.h"
#include "at_latch.h"
#include "at_test.h"
#include "at_witness.h"
#include "procs.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_TASKS          4
#define MAX_TASKS        16
#define LATCH_TIMEOUT_MS 1000
#define CALL_TIMEOUT_MS  3000  /* quick tasks: far more than they need */
#define PARALLEL_TRIES   2

/* ---- what the children tell the test -------------------------------- */

/*
 * Mapped MAP_SHARED by setup(), before the code under test forks: a child
 * writes here and the test process sees it. Everything else a child
 * writes stays in the child's own copy of memory.
 */
struct shared {
	pid_t pid[MAX_TASKS];          /* getpid() of the process that ran task i */
	_Atomic int came_back;         /* children that returned from run_in_processes() */
	_Atomic int ran_exit_handlers; /* children that called exit(), not _exit() */
	_Atomic int grandchildren;     /* tasks started by a child's child */
	_Atomic bool chain_broken;     /* results: a child gave up waiting for the next */
	struct at_pingpong pp;         /* the witness, played across processes */
};

static struct shared *sh;
static pid_t test_pid;

/*
 * A child that calls exit() runs the exit handlers it inherited from the
 * test process: ours is the newest, so it runs first. Count it and end
 * the child there, before Criterion's own handlers run in the wrong process.
 */
static void exit_guard(int status, void *unused)
{
	(void)unused;
	if (getpid() != test_pid) {
		atomic_fetch_add(&sh->ran_exit_handlers, 1);
		_exit(status);
	}
}

static void setup(void)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cr_assert(sh != MAP_FAILED, "harness: mmap of the shared page failed");
	test_pid = getpid();
	cr_assert(on_exit(exit_guard, NULL) == 0, "harness: on_exit failed");
	/* Orphaned grandchildren (from a child that went on forking) come to
	 * us rather than to init, so that teardown() can reap them. */
	cr_assert(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "harness: PR_SET_CHILD_SUBREAPER failed");
	/* The trace is MAP_SHARED too, but made on first use: make it now,
	 * in the test process, so that children record into the same one. */
	at_trace_reset(at_trace_global());
}

/* Our children, from /proc: every process whose parent is us. */
static int count_children(int *zombies, bool kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	*zombies = 0;
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char path[300], text[512], state;
		const char *paren;
		int ppid;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (!(f = fopen(path, "r")))
			continue; /* it just ended */
		if (!fgets(text, sizeof(text), f))
			text[0] = '\0';
		fclose(f);
		/* "pid (name) state ppid ...": the name may hold spaces and
		 * parentheses, so read from the last ')'. */
		paren = strrchr(text, ')');
		if (!paren || sscanf(paren + 1, " %c %d", &state, &ppid) != 2)
			continue;
		if (ppid == getpid()) {
			n++;
			*zombies += state == 'Z';
			if (kill_them)
				kill((pid_t)atoi(e->d_name), SIGKILL);
		}
	}
	closedir(d);
	return n;
}

/*
 * After each test, whatever the code under test did: kill every child
 * still ours and reap them all, so that no test leaves a process behind
 * (this machine's init may be slow to reap orphans).
 */
static void teardown(void)
{
	int zombies;

	if (getpid() != test_pid)
		_exit(0); /* a child that came this far must not tear down */
	if (count_children(&zombies, true) <= 0)
		return;
	/* Killed children take a moment to die: reap for up to a second. */
	for (int i = 0; i < 1000; i++) {
		pid_t w = waitpid(-1, NULL, WNOHANG);

		if (w < 0)
			break; /* ECHILD: none left */
		if (w == 0)
			at_sleep_ms(1);
	}
}

TestSuite(procs, .timeout = 30, .init = setup, .fini = teardown);

/* The parent of process pid, from /proc (0 if it is gone). */
static pid_t parent_of(pid_t pid)
{
	char path[64], text[512];
	const char *paren;
	int ppid = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	/* "pid (name) state ppid ...": the name may hold spaces and
	 * parentheses, so read from the last ')'. */
	if (fgets(text, sizeof(text), f) && (paren = strrchr(text, ')')))
		sscanf(paren + 1, " %*c %d", &ppid);
	fclose(f);
	return (pid_t)ppid;
}

/* The first lines of every harness task, in the process that runs it. */
static void task_enters(int i)
{
	if (getpid() != test_pid) {
		/* If the test process dies (a failed check), take this child
		 * with it instead of leaving it running. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != test_pid) {
			/* A grandchild: a child of the caller did not end after
			 * its task and went on forking. Stop that child before
			 * its forks multiply (only if it is the caller's child:
			 * never an adoptive parent such as init), and end here. */
			pid_t parent = getppid();

			atomic_fetch_add(&sh->grandchildren, 1);
			if (parent_of(parent) == test_pid)
				kill(parent, SIGKILL);
			_exit(0);
		}
	}
	sh->pid[i] = getpid();
}

/* ---- calling the code under test, with a deadline ------------------- */

/*
 * run_in_processes() runs on a helper thread, so that a call stuck in
 * read() (a pipe that never reaches end-of-file) costs the test one
 * deadline instead of hanging it. Static: a late helper must never
 * write into a stack frame that is gone.
 */
static struct call {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done;
	int rc;
	long forks, threads;  /* fork() and pthread_create() calls it made */
	proc_task_fn fn;
	void *const *args;
	struct proc_result *out;
	size_t n;
} call;

static void *caller_thread(void *unused)
{
	int rc;

	(void)unused;
	at_calls_reset();
	rc = run_in_processes(call.fn, call.args, call.out, call.n);
	if (getpid() != test_pid) {
		/* A child came back: it must never run the test's code. */
		atomic_fetch_add(&sh->came_back, 1);
		_exit(0);
	}
	cr_assert(pthread_mutex_lock(&call.mu) == 0);
	call.rc = rc;
	call.forks = at_fork_calls();
	call.threads = at_pthread_create_calls();
	call.done = true;
	/* Wake the test's thread: the results are in. */
	cr_assert(pthread_cond_signal(&call.cv) == 0);
	cr_assert(pthread_mutex_unlock(&call.mu) == 0);
	return NULL;
}

/* Fill every slot with a value no correct run leaves there. */
static void poison(struct proc_result *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (struct proc_result){ .status = -1, .signal = -1,
					       .exit_code = -1, .value = -1, .pid = -1 };
}

/*
 * Run run_in_processes(fn, args, out, n). True when it returned within
 * timeout_ms; then *rc holds what it returned.
 */
static bool run_with_deadline(proc_task_fn fn, void *const args[],
			      struct proc_result out[], size_t n,
			      int timeout_ms, int *rc)
{
	pthread_condattr_t ca;
	pthread_t helper;
	struct timespec ts = at_ns_to_timespec(at_now_ns() + (int64_t)timeout_ms * AT_NS_PER_MS);
	bool done;
	int err = 0;

	poison(out, n);
	cr_assert(pthread_condattr_init(&ca) == 0);
	cr_assert(pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) == 0);
	cr_assert(pthread_mutex_init(&call.mu, NULL) == 0);
	cr_assert(pthread_cond_init(&call.cv, &ca) == 0);
	cr_assert(pthread_condattr_destroy(&ca) == 0);
	call.done = false;
	call.rc = -1;
	call.fn = fn;
	call.args = args;
	call.out = out;
	call.n = n;
	cr_assert(pthread_create(&helper, NULL, caller_thread, NULL) == 0);
	cr_assert(pthread_mutex_lock(&call.mu) == 0);
	while (!call.done && err == 0) {
		err = pthread_cond_timedwait(&call.cv, &call.mu, &ts);
		cr_assert(err == 0 || err == ETIMEDOUT, "harness: timedwait: %s", strerror(err));
	}
	done = call.done;
	*rc = call.rc;
	cr_assert(pthread_mutex_unlock(&call.mu) == 0);
	if (done)
		cr_assert(pthread_join(helper, NULL) == 0);
	/* else the helper is stuck in the code under test: the test fails
	 * and its process ends, taking the helper (and, by the parent-death
	 * signal, any child still running) with it. */
	return done;
}

#define AT_CHECK_RETURNED(done, rc, timeout_ms, hint_if_stuck)                          \
	do {                                                                             \
		AT_CHECK(done, "run_in_processes() had not returned after %d ms: " hint_if_stuck, \
			 (timeout_ms));                                                  \
		AT_CHECK_RC((rc), "run_in_processes()");                                  \
	} while (0)

static const char *status_name(int s)
{
	return s == PROC_OK ? "PROC_OK" : s == PROC_CRASHED ? "PROC_CRASHED"
		: s == PROC_EXITED ? "PROC_EXITED" : "nothing";
}

/* How many distinct values in pid[0..n), and whether one is `who`. */
static int distinct_pids(const pid_t *pid, int n, pid_t who, bool *has_who)
{
	int distinct = 0;

	*has_who = false;
	for (int i = 0; i < n; i++) {
		bool seen_before = false;

		for (int j = 0; j < i; j++)
			seen_before |= pid[j] == pid[i];
		distinct += !seen_before && pid[i] > 0;
		*has_who |= pid[i] == who;
	}
	return distinct;
}

/* ---- a child process per task, which never comes back ---------------- */

static struct at_latch *latch;

/* In flight from its first line to its last; waits for the others. */
static long latch_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	char name[AT_TRACE_NAME];
	int slice;

	task_enters(i);
	snprintf(name, sizeof(name), "pid %d", (int)getpid());
	slice = at_trace_begin(at_trace_global(), name, i);
	at_latch_task(latch);
	at_trace_end(at_trace_global(), slice);
	return i;
}

/* N_TASKS latch tasks through run_in_processes(); the latch's figure. */
static int run_latch_tasks(struct proc_result *out, bool *done, int *rc)
{
	void *args[N_TASKS];
	int max;

	latch = at_latch_create_shared(N_TASKS, LATCH_TIMEOUT_MS);
	cr_assert(latch != NULL, "harness: at_latch_create_shared failed");
	for (int i = 0; i < N_TASKS; i++)
		args[i] = (void *)(intptr_t)i;
	*done = run_with_deadline(latch_task, args, out, N_TASKS,
				  CALL_TIMEOUT_MS + N_TASKS * LATCH_TIMEOUT_MS, rc);
	max = at_latch_max_in_flight(latch);
	at_latch_free_shared(latch);
	return max;
}

static long quick_task(void *arg)
{
	int i = (int)(intptr_t)arg;

	task_enters(i);
	at_sleep_ms(10);
	return i;
}

static bool run_quick_tasks(struct proc_result *out, int *rc)
{
	void *args[N_TASKS];

	for (int i = 0; i < N_TASKS; i++)
		args[i] = (void *)(intptr_t)i;
	return run_with_deadline(quick_task, args, out, N_TASKS, CALL_TIMEOUT_MS, rc);
}

Test(procs, own_process, .description = "every task runs in a child process of the caller's, one child per task")
{
	struct proc_result out[N_TASKS];
	bool done, has_caller;
	int rc, pids;

	run_latch_tasks(out, &done, &rc);
	pids = distinct_pids(sh->pid, N_TASKS, test_pid, &has_caller);
	AT_MEASURED("processes: %d distinct PIDs ran the %d tasks (the caller's PID is %d); fork() called %ld times, pthread_create() %ld times",
		    pids, N_TASKS, (int)test_pid, call.forks, call.threads);
	AT_HINT("one fork() per task; the child runs the task, the parent only starts, reads and reaps. Threads are not enough here: they live in the caller's process");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS + N_TASKS * LATCH_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(!has_caller, "a task ran in the caller's own process (PID %d): it must run in a child", (int)test_pid);
	AT_CHECK(pids == N_TASKS, "%d task(s) ran in %d distinct process(es): each task needs a child of its own", N_TASKS, pids);
	AT_END();
}

Test(procs, children_exit, .description = "every child ends with _exit(): none returns into the caller's code or runs its exit handlers")
{
	struct proc_result out[N_TASKS];
	int rc, back, handlers, forked_on;
	bool done = run_quick_tasks(out, &rc);

	back = atomic_load(&sh->came_back);
	handlers = atomic_load(&sh->ran_exit_handlers);
	forked_on = atomic_load(&sh->grandchildren);
	AT_MEASURED("children: %d returned into the caller's code, %d ran the caller's exit handlers with exit(), %d went on forking (0, 0 and 0 expected)",
		    back, handlers, forked_on);
	AT_HINT("the child is a copy of the whole caller: if it returns or carries on around the loop, it runs the caller's code a second time; if it calls exit(), it flushes the caller's stdio buffers and runs its exit handlers again. End the child with _exit() right after it has sent its result");
	AT_CHECK(forked_on == 0, "a child did not end after its task: it went on around the loop and forked children of its own (the harness stopped it)");
	AT_CHECK(back == 0, "%d child(ren) returned from run_in_processes() into the caller's code", back);
	AT_CHECK(handlers == 0, "%d child(ren) ended with exit(), running the caller's exit handlers in the child", handlers);
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_END();
}

/* ---- results ---------------------------------------------------------- */

#define N_RESULTS 12

static long value_of(int i)
{
	static const long special[] = { LONG_MIN, LONG_MAX, -1, 0 };

	return i < 4 ? special[i] : (long)i * 1000003L - 77;
}

/* Has process pid ended: a zombie, or already reaped (gone from /proc)? */
static bool has_ended(pid_t pid)
{
	char path[64], text[512], state = '?';
	const char *paren;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return true;
	if (fgets(text, sizeof(text), f) && (paren = strrchr(text, ')')))
		sscanf(paren + 1, " %c", &state);
	fclose(f);
	return state == 'Z' || state == 'X';
}

/* Wait (bounded) until the process that ran task i + 1 has ended. The
 * first wait that times out breaks the chain for every later one, so
 * wrong code costs one deadline, not one per task. */
static void wait_for_next_to_end(int i)
{
	int64_t deadline = at_now_ns() + LATCH_TIMEOUT_MS * AT_NS_PER_MS;
	pid_t next = sh->pid[i + 1];

	if (next <= 0 || next == getpid())
		return; /* not a process of its own: nothing to order */
	while (!atomic_load(&sh->chain_broken) && !has_ended(next)) {
		if (at_now_ns() > deadline) {
			atomic_store(&sh->chain_broken, true);
			return;
		}
		at_sleep_ms(1);
	}
}

/*
 * Once all the tasks are in flight (the latch), task i ends only after the
 * child of task i + 1 has ended: the children end in the reverse of the
 * order they started, one by one, whatever the machine's load.
 */
static long value_task(void *arg)
{
	int i = (int)(intptr_t)arg;

	task_enters(i);
	at_latch_task(latch);
	if (i + 1 < N_RESULTS)
		wait_for_next_to_end(i);
	at_sleep_ms(5); /* a gap between one child's end and the next's */
	return value_of(i);
}

Test(procs, results, .description = "every task's value, status and PID land in its own slot, whatever order the children end in")
{
	struct proc_result out[N_RESULTS];
	void *args[N_RESULTS];
	bool done;
	int rc, right = 0, first_wrong = -1, fw;

	for (int i = 0; i < N_RESULTS; i++)
		args[i] = (void *)(intptr_t)i;
	latch = at_latch_create_shared(N_RESULTS, LATCH_TIMEOUT_MS);
	cr_assert(latch != NULL, "harness: at_latch_create_shared failed");
	done = run_with_deadline(value_task, args, out, N_RESULTS,
				 CALL_TIMEOUT_MS + 2 * LATCH_TIMEOUT_MS, &rc);
	at_latch_free_shared(latch);
	for (int i = 0; i < N_RESULTS; i++) {
		bool ok = out[i].status == PROC_OK && out[i].value == value_of(i) &&
			  out[i].pid == sh->pid[i];

		right += ok;
		if (!ok && first_wrong < 0)
			first_wrong = i;
	}
	AT_MEASURED("results: %d of %d slots hold their own task's value, status and PID (the tasks were made to end last-started first)",
		    right, N_RESULTS);
	AT_HINT("out[i] belongs to task i: its value comes from child i's pipe, its status from waitpid() on child i's PID. Children end in any order; a waitpid(-1) or wait() returns whichever ended first");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS + 2 * LATCH_TIMEOUT_MS, "it is still waiting for something");
	fw = first_wrong < 0 ? 0 : first_wrong;
	AT_CHECK(right == N_RESULTS,
		 "%d slot(s) wrong; the first, task %d, holds %s, value %ld, pid %d; expected PROC_OK, value %ld, pid %d",
		 N_RESULTS - right, fw, status_name(out[fw].status), out[fw].value,
		 (int)out[fw].pid, value_of(fw), (int)sh->pid[fw]);
	AT_END();
}

/* ---- separate memory ------------------------------------------------ */

static long before_fork;      /* set by the test before the call */
static long scribble;         /* written by every child */
static char scribble_buf[64]; /* ...and this too */

static long scribble_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	long seen = before_fork;

	task_enters(i);
	scribble = 1000 + i;
	memset(scribble_buf, 'X', sizeof(scribble_buf));
	at_sleep_ms(5); /* long enough for the children to overlap */
	return seen + i;
}

Test(procs, separate_memory, .description = "each child works on its own copy of memory: its writes never reach the parent")
{
	struct proc_result out[N_TASKS];
	void *args[N_TASKS];
	bool done;
	int rc, changed = 0, copies = 0;

	before_fork = 4242;
	scribble = 0;
	memset(scribble_buf, 0, sizeof(scribble_buf));
	for (int i = 0; i < N_TASKS; i++)
		args[i] = (void *)(intptr_t)i;
	done = run_with_deadline(scribble_task, args, out, N_TASKS, CALL_TIMEOUT_MS, &rc);
	for (size_t k = 0; k < sizeof(scribble_buf); k++)
		changed += scribble_buf[k] != 0;
	for (int i = 0; i < N_TASKS; i++)
		copies += out[i].status == PROC_OK && out[i].value == before_fork + i;
	AT_MEASURED("memory: %d of %d tasks read the caller's 4242 and sent it back; after they wrote, the caller's variable holds %ld (0 expected) and %d of %zu bytes of its array changed",
		    copies, N_TASKS, scribble, changed, sizeof(scribble_buf));
	AT_HINT("a child made by fork() has a copy of the parent's memory: what it writes stays in the copy. Threads (and vfork) share the caller's memory; use fork()");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(scribble == 0 && changed == 0, "the children's writes reached the caller's memory: they did not run in processes of their own");
	AT_CHECK(copies == N_TASKS, "only %d of %d results came back as fn's value", copies, N_TASKS);
	AT_END();
}

/* ---- concurrency and parallelism ------------------------------------ */

Test(procs, overlap, .description = "run_in_processes() has all its tasks in progress at the same moment, each in its own process")
{
	struct proc_result out[N_TASKS];
	bool done, has_caller;
	int rc, max = run_latch_tasks(out, &done, &rc);
	int pids = distinct_pids(sh->pid, N_TASKS, test_pid, &has_caller);

	at_trace_attach("overlap", "run_in_processes: 4 children that wait for each other");
	AT_MEASURED("overlap: %d of %d tasks in flight at once, in %d distinct process(es) (%d needed)",
		    max, N_TASKS, pids, N_TASKS);
	AT_HINT("fork every child first, and only then read the pipes and waitpid(); a waitpid() right after each fork() waits for that task to end before the next one starts");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS + N_TASKS * LATCH_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(max >= N_TASKS, "only %d task(s) were ever in progress at once: the children ran one after another", max);
	AT_END();
}

static long pingpong_task(void *arg)
{
	int side = (int)(intptr_t)arg;
	char name[AT_TRACE_NAME];
	int slice;

	task_enters(side);
	snprintf(name, sizeof(name), "side %d · pid %d", side, (int)getpid());
	slice = at_trace_begin(at_trace_global(), name, side);
	at_pingpong_play(&sh->pp, side);
	at_trace_end(at_trace_global(), slice);
	return 0;
}

Test(procs, parallel, .description = "two children run at the same instant, on two CPUs")
{
	struct proc_result out[2];
	void *args[2] = { (void *)0, (void *)1 };
	const int timeout_ms = CALL_TIMEOUT_MS + 2 * AT_PINGPONG_TIMEOUT_MS;
	struct at_pingpong_result r;
	char why[300];
	bool done;
	int rc, verdict;

	at_require_cpus(2);
	/* A pass is never false (one CPU manages ~125 rounds a second), so a
	 * second try costs a failing run 5 s and spares a correct one on a
	 * machine that other work has crowded for a moment. */
	for (int try = 0; try < PARALLEL_TRIES; try++) {
		at_trace_reset(at_trace_global());
		at_pingpong_init(&sh->pp, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS);
		done = run_with_deadline(pingpong_task, args, out, 2, timeout_ms, &rc);
		r = at_pingpong_result(&sh->pp);
		if (!done || rc != 0 || r.parallel)
			break;
	}
	at_trace_attach("parallel", "run_in_processes: two children playing ping-pong");
	AT_MEASURED("parallel: %ld ping-pong rounds between two processes in %.2f s (%.0f rounds/s; %d needed within %d s)",
		    r.rounds_done, r.seconds, r.rate, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS / 1000);
	AT_HINT("two children that spin waiting for each other can only take turns quickly when both run at once, on two CPUs: start every child before waiting for any, and do not restrict where they run");
	AT_CHECK_RETURNED(done, rc, timeout_ms, "it is still waiting for something");
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	verdict = at_pingpong_verdict(&r, why, sizeof(why));
	if (verdict == AT_SKIP)
		AT_SKIP("%s", why);
	AT_CHECK(verdict == AT_YES, "the two children never ran at the same instant (they shared one CPU, or ran one after the other): %s", why);
	AT_END();
}

/* ---- nothing left behind -------------------------------------------- */

Test(procs, reaped, .description = "when run_in_processes() returns, every child has been waited for: no zombie is left")
{
	struct proc_result out[N_TASKS];
	int rc, zombies, before_z, before = count_children(&before_z, false), after;
	bool done = run_quick_tasks(out, &rc);
	pid_t w;
	int werr;

	after = count_children(&zombies, false);
	w = waitpid(-1, NULL, WNOHANG);
	werr = errno;
	AT_MEASURED("reaped: %d child process(es) of ours left after the call, %d of them zombies (before the call: %d)",
		    after, zombies, before);
	AT_HINT("a child that has ended stays in the process table, a zombie, until its parent calls waitpid() on it: waitpid() every child you forked before returning");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(after == before, "%d child process(es) were left behind (%d zombie(s)): nobody waited for them", after - before, zombies);
	AT_CHECK(w < 0 && werr == ECHILD, "waitpid(-1, WNOHANG) still found a child of ours (it returned %d)", (int)w);
	AT_END();
}

Test(procs, no_leaked_fds, .description = "run_in_processes() closes every descriptor it opened")
{
	struct proc_result out[N_TASKS];
	int rc, before = at_count_fds(), after;
	bool done = run_quick_tasks(out, &rc);

	after = at_count_fds();
	AT_MEASURED("descriptors: %d open before the call, %d after (%d pipes were needed)", before, after, N_TASKS);
	AT_HINT("each pipe() opens two descriptors: the parent closes the write end right after fork() and the read end once it has read the result");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(after == before, "%d descriptor(s) were left open", after - before);
	AT_END();
}

/* ---- children that do not come back with a result ------------------- */

#define N_MIXED 6
#define CRASHER 2
#define QUITTER 3

static long crashing_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct rlimit no_core = { 0, 0 };

	task_enters(i);
	if (i != CRASHER) {
		at_sleep_ms(20); /* still running when the other one crashes */
		return 100 + i;
	}
	if (getpid() == test_pid)
		return -1; /* in the caller's process, a crash would end the test */
	/* Crash for real, quickly: no core file, the default action. */
	setrlimit(RLIMIT_CORE, &no_core);
	signal(SIGSEGV, SIG_DFL);
	raise(SIGSEGV);
	return -1;
}

/* Task QUITTER ends its process without sending anything. */
static long quitting_task(void *arg)
{
	int i = (int)(intptr_t)arg;

	task_enters(i);
	if (i == QUITTER && getpid() != test_pid)
		_exit(7);
	at_sleep_ms(20);
	return 100 + i;
}

/* How many tasks other than `skip` came back PROC_OK with 100 + i. */
static int others_kept(const struct proc_result *out, int skip)
{
	int kept = 0;

	for (int i = 0; i < N_MIXED; i++)
		kept += i != skip && out[i].status == PROC_OK && out[i].value == 100 + i;
	return kept;
}

Test(procs, silent_child, .description = "a child that exits without sending a result is reported with its exit code, without waiting forever for its pipe")
{
	struct proc_result out[N_MIXED];
	void *args[N_MIXED];
	bool done;
	int rc, kept;

	for (int i = 0; i < N_MIXED; i++)
		args[i] = (void *)(intptr_t)i;
	done = run_with_deadline(quitting_task, args, out, N_MIXED, CALL_TIMEOUT_MS, &rc);
	kept = others_kept(out, QUITTER);
	if (done)
		AT_MEASURED("silent child: task %d (_exit(7), no result) reported as %s, exit code %d; %d of %d other results kept",
			    QUITTER, status_name(out[QUITTER].status), out[QUITTER].exit_code, kept, N_MIXED - 1);
	else
		AT_MEASURED("silent child: task %d (_exit(7), no result) never collected: the call was still stuck after %d s",
			    QUITTER, CALL_TIMEOUT_MS / 1000);
	AT_HINT("read() returns 0 (end-of-file) only once no process holds the pipe's write end: the parent must close its copy right after fork(), before it forks the next child (which would inherit it)");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is stuck, most likely in read() on the pipe of the child that sent nothing: a write end is still open somewhere (the parent's copy, or one a later child inherited)");
	AT_CHECK(out[QUITTER].status == PROC_EXITED && out[QUITTER].exit_code == 7,
		 "the silent task was reported as %s with exit code %d, not PROC_EXITED with 7",
		 status_name(out[QUITTER].status), out[QUITTER].exit_code);
	AT_CHECK(kept == N_MIXED - 1, "only %d of the %d other results were kept", kept, N_MIXED - 1);
	AT_END();
}

Test(procs, crash_reported, .description = "a child killed by a signal is reported as crashed, with its signal, and the other results are kept")
{
	struct proc_result out[N_MIXED];
	void *args[N_MIXED];
	bool done;
	int rc, kept;

	for (int i = 0; i < N_MIXED; i++)
		args[i] = (void *)(intptr_t)i;
	done = run_with_deadline(crashing_task, args, out, N_MIXED, CALL_TIMEOUT_MS, &rc);
	kept = others_kept(out, CRASHER);
	AT_MEASURED("crash: task %d (SIGSEGV) reported as %s, signal %d; %d of %d other results kept",
		    CRASHER, status_name(out[CRASHER].status), out[CRASHER].signal, kept, N_MIXED - 1);
	AT_HINT("a crash is a result: WIFSIGNALED(status) and WTERMSIG(status) say which signal killed the child; carry on collecting the others, and return 0");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "reading the crashed child's pipe never reached end-of-file? close the parent's copy of each write end right after fork()");
	AT_CHECK(sh->pid[CRASHER] != test_pid, "the crashing task ran in the caller's own process, where its crash would have killed the caller: it must run in a child");
	AT_CHECK(out[CRASHER].status == PROC_CRASHED && out[CRASHER].signal == SIGSEGV,
		 "the crashed task was reported as %s with signal %d, not PROC_CRASHED with signal %d (SIGSEGV)",
		 status_name(out[CRASHER].status), out[CRASHER].signal, SIGSEGV);
	AT_CHECK(kept == N_MIXED - 1, "only %d of the %d other results were kept", kept, N_MIXED - 1);
	AT_END();
}
