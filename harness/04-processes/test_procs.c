/*
 * Description: lesson 04 - does run_in_processes() run each task in a child
 * process of its own, all in progress at once (a latch in shared memory,
 * for 4, 16 and 64 tasks) and simultaneous on two CPUs (a ping-pong witness
 * in shared memory); do the children's writes stay out of the parent's
 * memory; does every result come back in its own slot; is every child
 * reaped and every descriptor closed; is a crashed or silent child
 * reported (crashed before sending, or after) while the others' results
 * are kept; is a fork() that fails part-way cleaned up; is a read()
 * interrupted by a signal made again; is the caller left as found; and
 * does no child ever come back into the caller's code?
 *
 * Compare with harness/02-threads/test_threads.c: the same measurements on
 * threads. What changes here is that the tasks run in other processes, so
 * everything they report to the test travels through memory mapped
 * MAP_SHARED before the fork (struct shared, the latch, the trace).
 */
#include "at_count.h"
#include "at_latch.h"
#include "at_proc.h"
#include "at_test.h"
#include "at_witness.h"
#include "procs.h"

#include <dirent.h>
#include <dlfcn.h>
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
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define N_TASKS          4
#define MAX_TASKS        64
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
	_Atomic pid_t caller_tid;      /* the thread that called run_in_processes() */
	_Atomic bool bells_done;       /* interrupted: the test's signals were sent */
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
		char state;
		pid_t ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		if (!at_proc_stat((pid_t)atoi(e->d_name), 0, &state, &ppid))
			continue; /* it just ended */
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
	pid_t ppid;

	return at_proc_stat(pid, 0, NULL, &ppid) ? ppid : 0;
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

/* ---- failures the harness makes happen ------------------------------- */

/*
 * fork() failing part-way. The test binary is linked with --wrap=fork
 * (harness/lib/at_count.c counts the calls), and the counter's wrapper
 * calls __real_fork: with --wrap, that is whatever definition of fork the
 * program holds, and this one is it. It passes every call on to the C
 * library's, except when armed: then the FAIL_AT-th call and every one
 * after it fail with EAGAIN, as when the user runs out of processes.
 * Failing every later call too means code that retries cannot turn the
 * failure into a success.
 */
static atomic_int fork_calls_armed;   /* calls since armed */
static atomic_int fork_fail_from;     /* 0: never fail; k: the k-th call on */
static void *_Atomic libc_fork;

typedef pid_t (*fork_fn)(void);

pid_t fork(void)
{
	int k = atomic_load(&fork_fail_from);
	void *real = atomic_load(&libc_fork);
	fork_fn call_it;

	if (k > 0 && atomic_fetch_add(&fork_calls_armed, 1) + 1 >= k) {
		errno = EAGAIN;
		return -1;
	}
	if (!real) {
		/* RTLD_NEXT: the next definition after this program's, libc's. */
		real = dlsym(RTLD_NEXT, "fork");
		if (!real) {
			errno = ENOSYS;
			return -1;
		}
		atomic_store(&libc_fork, real);
	}
	memcpy(&call_it, &real, sizeof(call_it));
	return call_it();
}

/*
 * A child that sends its result, then crashes. The test binary is linked
 * with --wrap=_exit (harness/04-processes/lesson.mk), so the _exit() a
 * child calls after sending lands here: a task that set crash_at_exit (in
 * its own child, a copy of memory) makes that child die of SIGSEGV
 * instead, its whole result already in the pipe.
 */
void __real__exit(int status) __attribute__((noreturn));
void __wrap__exit(int status) __attribute__((noreturn));

static bool crash_at_exit;

void __wrap__exit(int status)
{
	if (crash_at_exit && getpid() != test_pid) {
		struct rlimit no_core = { 0, 0 };

		setrlimit(RLIMIT_CORE, &no_core);
		signal(SIGSEGV, SIG_DFL);
		raise(SIGSEGV);
	}
	__real__exit(status);
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
	sigset_t mask_before, mask_after;            /* the calling thread's signal mask */
	struct sigaction chld_before, chld_after;    /* what SIGCHLD does */
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
	atomic_store(&sh->caller_tid, at_gettid());
	pthread_sigmask(SIG_BLOCK, NULL, &call.mask_before);
	sigaction(SIGCHLD, NULL, &call.chld_before);
	rc = run_in_processes(call.fn, call.args, call.out, call.n);
	pthread_sigmask(SIG_BLOCK, NULL, &call.mask_after);
	sigaction(SIGCHLD, NULL, &call.chld_after);
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

/*
 * How long the first child waits for the other n - 1: forking is slow on
 * a busy machine (64 forks of a small program took 0.7 s here under load),
 * so the deadline grows with n. Code that runs the children one by one, or
 * in waves, still costs one deadline, not one per child.
 */
static int latch_ms_for(int n)
{
	return LATCH_TIMEOUT_MS + 100 * n;
}

/* n latch tasks through run_in_processes(); the latch's figure. */
static int run_latch_tasks(int n, struct proc_result *out, bool *done, int *rc)
{
	void *args[MAX_TASKS];
	int max;

	cr_assert(n > 0 && n <= MAX_TASKS);
	latch = at_latch_create_shared(n, latch_ms_for(n));
	cr_assert(latch != NULL, "harness: at_latch_create_shared failed");
	for (int i = 0; i < n; i++)
		args[i] = (void *)(intptr_t)i;
	*done = run_with_deadline(latch_task, args, out, (size_t)n,
				  CALL_TIMEOUT_MS + 2 * latch_ms_for(n), rc);
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

	run_latch_tasks(N_TASKS, out, &done, &rc);
	pids = distinct_pids(sh->pid, N_TASKS, test_pid, &has_caller);
	AT_MEASURED("processes: %d distinct PIDs ran the %d tasks (the caller's PID is %d); fork() called %ld times, pthread_create() %ld times",
		    pids, N_TASKS, (int)test_pid, call.forks, call.threads);
	AT_HINT("one fork() per task; the child runs the task, the parent only starts, reads and reaps. Threads are not enough here: they live in the caller's process");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS + 2 * latch_ms_for(N_TASKS), "it is still waiting for something");
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

/* Wait (bounded) until the process that ran task i + 1 has ended. The
 * first wait that times out breaks the chain for every later one, so
 * wrong code costs one deadline, not one per task. */
static void wait_for_next_to_end(int i)
{
	int64_t deadline = at_now_ns() + LATCH_TIMEOUT_MS * AT_NS_PER_MS;
	pid_t next = sh->pid[i + 1];

	if (next <= 0 || next == getpid())
		return; /* not a process of its own: nothing to order */
	while (!atomic_load(&sh->chain_broken) && !at_proc_ended(next)) {
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
	AT_HINT("out[i] belongs to task i, whatever order the children end in: its value is what task i's child sent (on a pipe of its own, or tagged with i on a shared one), its status comes from waitpid() on that child's PID. A waitpid(-1) or wait() returns whichever child ended first");
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

/*
 * Overlap is proved for several counts, up to more children than any cap a
 * program might put on them: code that forks in waves of 8 has 4 of 4 in
 * flight, but not 16 of 16. Every count waits on one latch with one
 * deadline, so a failing count costs one second.
 */
static const int overlap_counts[] = { 4, 16, 64 };
#define N_COUNTS ((int)(sizeof(overlap_counts) / sizeof(overlap_counts[0])))

Test(procs, overlap, .description = "run_in_processes() has all its tasks in progress at the same moment, each in its own process, for 4, 16 and 64 tasks")
{
	static struct proc_result out[MAX_TASKS];
	char figures[96] = "";
	size_t off = 0;
	bool done = true, has_caller = false;
	int rc = 0, max = 0, n = 0, pids = 0;

	for (int i = 0; i < N_COUNTS; i++) {
		n = overlap_counts[i];
		max = run_latch_tasks(n, out, &done, &rc);
		pids = distinct_pids(sh->pid, n, test_pid, &has_caller);
		off += (size_t)snprintf(figures + off, sizeof(figures) - off, "%s%d of %d", i ? ", " : "", max, n);
		if (!done || rc != 0 || max < n)
			break;
		memset(sh->pid, 0, sizeof(sh->pid));
	}
	at_trace_attach("overlap", "run_in_processes: children that wait for each other");
	AT_MEASURED("overlap: %s tasks in flight at once, the last run in %d distinct process(es) (all needed)", figures, pids);
	AT_HINT("every task must be in progress at the same time as every other: fork every child first, and only then read the results and waitpid(), with no cap on how many children run at once; a waitpid() right after each fork() waits for that task to end before the next one starts");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS + 2 * latch_ms_for(n), "it is still waiting for something");
	AT_CHECK(max >= n, "with %d tasks, only %d were ever in progress at once: %s", n, max,
		 max <= 1 ? "the children ran one after another"
			  : "they ran in waves: something capped how many children were in progress at a time");
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
	 * second try spares a correct run on a machine that other work has
	 * crowded for a moment. Only slow turns get one: a NO that no load
	 * explains (children run one after the other, or pinned to one CPU)
	 * would only cost a failing run 5 s more. */
	for (int try = 0; try < PARALLEL_TRIES; try++) {
		at_trace_reset(at_trace_global());
		at_pingpong_init(&sh->pp, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS);
		done = run_with_deadline(pingpong_task, args, out, 2, timeout_ms, &rc);
		r = at_pingpong_result(&sh->pp);
		if (!done || rc != 0 || at_pingpong_settled(&r))
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
	AT_MEASURED("descriptors: %d open before the call, %d after, for %d tasks", before, after, N_TASKS);
	AT_HINT("every descriptor the call opens must be closed before it returns: each pipe() opens two, and the parent closes its write end(s) once the children that write are forked and its read end(s) once the results are read (one pipe per child, or one for all)");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(after == before, "%d descriptor(s) were left open", after - before);
	AT_END();
}

/* ---- children that do not come back with a result ------------------- */

#define N_MIXED 6
#define CRASHER 2        /* crashes before it sends anything */
#define QUITTER 3        /* _exit(7) without sending */
#define SENDER_CRASHER 4 /* sends its result, then crashes */

/*
 * Task i's process ends only after task i-1's has (or after 200 ms, so no
 * design can be kept waiting): the children end one at a time, in task
 * order, on every run. Which child a wait reports first is then the same
 * every time, and so is the verdict on code that takes the first child to
 * end for the first task (waitpid(-1)): it cannot pass on one run and fail
 * on the next.
 */
static void end_after_previous(int i)
{
	int64_t end = at_now_ns() + 200 * AT_NS_PER_MS;

	if (i == 0 || getpid() == test_pid)
		return;
	while (at_now_ns() < end) {
		pid_t prev = ((volatile struct shared *)sh)->pid[i - 1];

		if (prev > 0 && prev != test_pid && at_proc_ended(prev))
			return;
		at_sleep_ms(1);
	}
}

static long crashing_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	struct rlimit no_core = { 0, 0 };

	task_enters(i);
	if (i == SENDER_CRASHER && getpid() != test_pid)
		crash_at_exit = true;   /* its _exit(), after the send, crashes */
	/* Those after the crasher are still running when it crashes. */
	end_after_previous(i);
	if (i != CRASHER)
		return 100 + i;
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

/* How many tasks other than skip1 and skip2 came back PROC_OK with 100 + i. */
static int others_kept(const struct proc_result *out, int skip1, int skip2)
{
	int kept = 0;

	for (int i = 0; i < N_MIXED; i++)
		kept += i != skip1 && i != skip2 && out[i].status == PROC_OK && out[i].value == 100 + i;
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
	kept = others_kept(out, QUITTER, QUITTER);
	if (done)
		AT_MEASURED("silent child: task %d (_exit(7), no result) reported as %s, exit code %d; %d of %d other results kept",
			    QUITTER, status_name(out[QUITTER].status), out[QUITTER].exit_code, kept, N_MIXED - 1);
	else
		AT_MEASURED("silent child: task %d (_exit(7), no result) never collected: the call was still stuck after %d s",
			    QUITTER, CALL_TIMEOUT_MS / 1000);
	AT_HINT("a child that ends without sending must not leave the call waiting: read() returns 0 (end-of-file) only once no process holds a write end of that pipe, so the parent closes its own copy of every write end as soon as it has forked the children that write (with one pipe per child, before forking the next, which would inherit it), and a result that never came is told by its wait status");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is stuck, most likely in read() on a pipe the silent child was to send on: a write end of it is still open somewhere (the parent's copy, or one another child inherited)");
	AT_CHECK(out[QUITTER].status == PROC_EXITED && out[QUITTER].exit_code == 7,
		 "the silent task was reported as %s with exit code %d, not PROC_EXITED with 7",
		 status_name(out[QUITTER].status), out[QUITTER].exit_code);
	AT_CHECK(kept == N_MIXED - 1, "only %d of the %d other results were kept", kept, N_MIXED - 1);
	AT_END();
}

Test(procs, crash_reported, .description = "a child killed by a signal is reported as crashed, with its signal, whether it died before sending its result or after, and the other results are kept")
{
	struct proc_result out[N_MIXED];
	void *args[N_MIXED];
	bool done;
	int rc, kept;

	for (int i = 0; i < N_MIXED; i++)
		args[i] = (void *)(intptr_t)i;
	done = run_with_deadline(crashing_task, args, out, N_MIXED, CALL_TIMEOUT_MS, &rc);
	kept = others_kept(out, CRASHER, SENDER_CRASHER);
	AT_MEASURED("crash: task %d (SIGSEGV before sending) reported as %s, signal %d; task %d (sent %d, then SIGSEGV) as %s, signal %d; %d of %d other results kept",
		    CRASHER, status_name(out[CRASHER].status), out[CRASHER].signal,
		    SENDER_CRASHER, 100 + SENDER_CRASHER, status_name(out[SENDER_CRASHER].status), out[SENDER_CRASHER].signal,
		    kept, N_MIXED - 2);
	AT_HINT("what became of a child is its wait status, not whether its result arrived: WIFSIGNALED(status) and WTERMSIG(status) say which signal killed it, even after it sent a whole result; a crash is a result: carry on collecting the others, and return 0");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is stuck, most likely in read() waiting for the crashed child's result, which will never come: read() sees end-of-file only once no process holds a write end of the pipe that child was to send on, so a write end is still open somewhere, most likely in the parent (it closes its own copy of every write end once the children that write on it are forked, whether each child has a pipe of its own or they share one)");
	AT_CHECK(sh->pid[CRASHER] != test_pid, "the crashing task ran in the caller's own process, where its crash would have killed the caller: it must run in a child");
	AT_CHECK(out[CRASHER].status == PROC_CRASHED && out[CRASHER].signal == SIGSEGV,
		 "the crashed task was reported as %s with signal %d, not PROC_CRASHED with signal %d (SIGSEGV)",
		 status_name(out[CRASHER].status), out[CRASHER].signal, SIGSEGV);
	AT_CHECK(out[SENDER_CRASHER].status == PROC_CRASHED && out[SENDER_CRASHER].signal == SIGSEGV,
		 "task %d sent its whole result, then its process was killed by SIGSEGV: it was reported as %s with signal %d, not PROC_CRASHED with signal %d (a result that arrived does not mean the child exited with status 0: look at its wait status)",
		 SENDER_CRASHER, status_name(out[SENDER_CRASHER].status), out[SENDER_CRASHER].signal, SIGSEGV);
	AT_CHECK(kept == N_MIXED - 2, "only %d of the %d other results were kept", kept, N_MIXED - 2);
	AT_END();
}

/* ---- a fork() that fails part-way ------------------------------------ */

#define FAIL_TASKS 8
#define FAIL_AT    4   /* tasks 0-2 get their children, the 4th fork fails */

Test(procs, fork_fails, .description = "when fork() fails part-way, run_in_processes() returns its error, and the children already started are collected and reaped, with no descriptor left open")
{
	struct proc_result out[FAIL_TASKS];
	void *args[FAIL_TASKS];
	int rc = -1, zombies, before_z, before = count_children(&before_z, false), after, fds_before = at_count_fds(), fds_after;
	int collected = 0, calls;
	bool done;

	for (int i = 0; i < FAIL_TASKS; i++)
		args[i] = (void *)(intptr_t)i;
	atomic_store(&fork_calls_armed, 0);
	atomic_store(&fork_fail_from, FAIL_AT);
	done = run_with_deadline(quick_task, args, out, FAIL_TASKS, CALL_TIMEOUT_MS, &rc);
	atomic_store(&fork_fail_from, 0);
	calls = atomic_load(&fork_calls_armed);
	after = count_children(&zombies, false);
	fds_after = at_count_fds();
	for (int i = 0; i < FAIL_AT - 1; i++)
		collected += out[i].status == PROC_OK && out[i].value == i && out[i].pid > 0;
	AT_MEASURED("fork failing: with the fork() number %d and later failing (EAGAIN), run_in_processes() returned %d (%s); %d of the %d children started were collected; %d child process(es) left (%d zombies), %d descriptor(s) more than before; fork() called %d time(s)",
		    FAIL_AT, rc, rc > 0 ? strerror(rc) : rc == 0 ? "success" : "?", collected, FAIL_AT - 1,
		    after - before, zombies, fds_after - fds_before, calls);
	AT_HINT("when pipe() or fork() fails, stop starting children and close what you opened for the one that failed; then still read and waitpid() every child already started (they are the caller's tasks, and unreaped they stay zombies), close their pipes, and return that errno value");
	AT_CHECK(done, "run_in_processes() had not returned %d ms after a fork() failed: it is waiting for something that will not come", CALL_TIMEOUT_MS);
	AT_CHECK(rc != ENOSYS, "%s", at_rc_text(rc, "run_in_processes()"));
	AT_CHECK(calls > 0, "run_in_processes() never called fork(): each task must run in a child process of its own");
	AT_CHECK(rc == EAGAIN, "run_in_processes() returned %d (%s) when fork() failed with EAGAIN: it must return that errno value",
		 rc, rc > 0 ? strerror(rc) : rc == 0 ? "success" : "not an errno value");
	AT_CHECK(after == before && zombies == 0, "%d child process(es) were left behind (%d zombie(s)) after the failure: the children already started must still be reaped",
		 after - before, zombies);
	AT_CHECK(fds_after == fds_before, "%d descriptor(s) were left open after the failure", fds_after - fds_before);
	AT_CHECK(collected == FAIL_AT - 1, "only %d of the %d tasks whose children were started came back PROC_OK with their value: they are still the caller's results",
		 collected, FAIL_AT - 1);
	AT_END();
}

/* ---- the caller, as it was found ------------------------------------- */

static bool same_action(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags;
}

Test(procs, caller_unchanged, .description = "run_in_processes() leaves its caller as it found it: its signal mask, what SIGCHLD does, its descriptors and its children")
{
	struct proc_result out[N_TASKS];
	int rc, zombies, before_z, before = count_children(&before_z, false), after, fds_before = at_count_fds(), fds_after;
	bool done = run_quick_tasks(out, &rc), mask_same = true;
	int changed_sig = 0;

	after = count_children(&zombies, false);
	fds_after = at_count_fds();
	for (int sig = 1; sig < SIGRTMAX && done; sig++) {
		if (sigismember(&call.mask_before, sig) != sigismember(&call.mask_after, sig)) {
			mask_same = false;
			changed_sig = sig;
			break;
		}
	}
	AT_MEASURED("caller: signal mask %s, SIGCHLD's action %s, %d descriptor(s) and %d child process(es) more than before",
		    !done ? "not seen" : mask_same ? "unchanged" : "changed",
		    !done ? "not seen" : same_action(&call.chld_before, &call.chld_after) ? "unchanged" : "changed",
		    fds_after - fds_before, after - before);
	AT_HINT("whatever the call changes in its caller to do its work (a signal blocked while it waits, say), it puts back before returning; every child it forked is reaped and every descriptor it opened is closed");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(mask_same, "run_in_processes() changed its caller's signal mask: signal %d (%s) is %s", changed_sig,
		 strsignal(changed_sig), sigismember(&call.mask_after, changed_sig) ? "now blocked" : "no longer blocked");
	AT_CHECK(same_action(&call.chld_before, &call.chld_after), "run_in_processes() changed what SIGCHLD does in its caller's process");
	AT_CHECK(fds_after == fds_before, "%d descriptor(s) were left open", fds_after - fds_before);
	AT_CHECK(after == before, "%d child process(es) were left behind", after - before);
	AT_END();
}

/* ---- a caller whose process catches signals --------------------------- */

/*
 * Many programs catch signals (a timer, SIGCHLD, ...). With a handler
 * installed without SA_RESTART, a signal that arrives while the caller is
 * blocked in read() or waitpid() makes that call fail with EINTR, having
 * done nothing: it must simply be made again. Here a bell-ringer thread of
 * the test waits until the calling thread is blocked reading a pipe (the
 * kernel names where a thread sleeps: /proc/.../wchan), and signals it,
 * three times. Task 0 sends its result only after the bells: the first
 * one always finds the caller waiting for it.
 */
#define N_INTR 4
#define N_BELLS 3

static void on_bell(int sig)
{
	(void)sig;
}

/* The state letter of thread tid of process pid ('S' asleep), 0 if gone. */
static char state_of(pid_t pid, pid_t tid)
{
	char state;

	return at_proc_stat(pid, tid, &state, NULL) ? state : 0;
}

/*
 * Is thread tid of process pid blocked in a read() or a wait? Where the
 * kernel will not name the place (wchan reads 0), asleep has to do.
 */
static bool blocked_in_call(pid_t pid, pid_t tid)
{
	char path[96], where[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/wchan", (int)pid, (int)tid);
	if ((f = fopen(path, "r"))) {
		if (!fgets(where, sizeof(where), f))
			where[0] = '\0';
		fclose(f);
	}
	if (where[0] && strcmp(where, "0") != 0)
		return strstr(where, "pipe_read") != NULL || strstr(where, "do_wait") != NULL;
	return state_of(pid, tid) == 'S';
}

struct bells {
	_Atomic int rung;
	atomic_bool stop;
};

static struct bells bells;

/* Ring the caller N_BELLS times, each time once it is blocked again. */
static void *bell_ringer(void *unused)
{
	int64_t deadline = at_now_ns() + 2000 * AT_NS_PER_MS;

	(void)unused;
	while (atomic_load(&bells.rung) < N_BELLS && !atomic_load(&bells.stop) && at_now_ns() < deadline) {
		pid_t tid = atomic_load(&sh->caller_tid);

		if (tid > 0 && blocked_in_call(test_pid, tid)) {
			if (syscall(SYS_tgkill, (int)test_pid, (int)tid, SIGUSR1) == 0)
				atomic_fetch_add(&bells.rung, 1);
			at_sleep_ms(5);
		} else {
			at_sleep_ms(1);
		}
	}
	atomic_store(&sh->bells_done, true);
	return NULL;
}

static long interrupted_task(void *arg)
{
	int i = (int)(intptr_t)arg;
	int64_t deadline = at_now_ns() + 2500 * AT_NS_PER_MS;

	task_enters(i);
	if (i == 0 && getpid() != test_pid)
		while (!atomic_load(&sh->bells_done) && at_now_ns() < deadline)
			at_sleep_ms(1);
	return 100 + i;
}

Test(procs, interrupted, .description = "when the caller's process catches a signal (without SA_RESTART) while run_in_processes() waits, its read() or waitpid() fails with EINTR: every result still comes back")
{
	struct proc_result out[N_INTR];
	void *args[N_INTR];
	struct sigaction sa;
	pthread_t ringer;
	bool done;
	int rc, right = 0, first_wrong = -1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_bell;
	sigemptyset(&sa.sa_mask);
	cr_assert(sigaction(SIGUSR1, &sa, NULL) == 0, "harness: sigaction failed");
	atomic_store(&sh->caller_tid, 0);
	atomic_store(&sh->bells_done, false);
	atomic_store(&bells.rung, 0);
	atomic_store(&bells.stop, false);
	cr_assert(pthread_create(&ringer, NULL, bell_ringer, NULL) == 0, "harness: pthread_create failed");
	for (int i = 0; i < N_INTR; i++)
		args[i] = (void *)(intptr_t)i;
	done = run_with_deadline(interrupted_task, args, out, N_INTR, CALL_TIMEOUT_MS, &rc);
	atomic_store(&bells.stop, true);
	cr_assert(pthread_join(ringer, NULL) == 0);
	for (int i = 0; i < N_INTR; i++) {
		bool ok = out[i].status == PROC_OK && out[i].value == 100 + i;

		right += ok;
		if (!ok && first_wrong < 0)
			first_wrong = i;
	}
	if (first_wrong < 0)
		first_wrong = 0;
	AT_MEASURED("interrupted: %d signal(s) caught while the call was blocked; %d of %d results came back PROC_OK with their value",
		    atomic_load(&bells.rung), right, N_INTR);
	AT_HINT("a blocking call interrupted by a signal fails with errno == EINTR having done nothing: make it again (read() and waitpid() both); only a read() that returns 0 means every writer is gone");
	AT_CHECK_RETURNED(done, rc, CALL_TIMEOUT_MS, "it is still waiting for something");
	AT_CHECK(right == N_INTR, "task %d came back %s (signal %d, exit code %d), not PROC_OK with %d: a read() or waitpid() interrupted by a signal (EINTR) was taken for the child's end",
		 first_wrong, status_name(out[first_wrong].status), out[first_wrong].signal, out[first_wrong].exit_code, 100 + first_wrong);
	AT_END();
}
