/*
 * Description: lesson 02 - are the tasks on threads of their own, all in
 * progress at once (latch, for 4, 16 and 64 tasks), simultaneous on two CPUs
 * (ping-pong witness), each result in its own slot, every thread joined,
 * even when a pthread_create() fails part-way; does the pinned run stay on
 * the CPU asked for (the last one, not the first), concurrent but not
 * parallel, and refuse a CPU that does not exist; and is the caller left as
 * it was found?
 */
#include "at_count.h"
#include "at_latch.h"
#include "at_memcheck.h"
#include "at_test.h"
#include "at_witness.h"
#include "threads.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define N_TASKS 4
#define LATCH_TIMEOUT_MS 1000
#define SETTLE_MS 3000   /* longer than any harness task takes */

/*
 * Overlap is proved for several counts, up to more threads than any cap a
 * program might put on them: code that runs tasks in waves of 8 has 4 of 4
 * in flight, but not 16 of 16. 64 stays well inside the grader's limit of
 * 256 threads per student.
 */
static const int overlap_counts[] = { 4, 16, 64 };
#define N_COUNTS ((int)(sizeof(overlap_counts) / sizeof(overlap_counts[0])))
#define MAX_OVERLAP 64

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

/* Run n latch tasks through `run` (run_parallel or a pinned run). */
static int overlap_of(int (*run)(struct task *, size_t, int), int cpu, int n,
		      struct at_tidset *tids, int *rc)
{
	static struct at_latch latch;
	static struct latch_job job[MAX_OVERLAP];
	static struct task t[MAX_OVERLAP];
	int max, threads_before = at_count_threads();

	cr_assert(n >= 0 && n <= MAX_OVERLAP);
	cr_assert(at_latch_init(&latch, n, LATCH_TIMEOUT_MS, false) == 0);
	at_tidset_init(tids);
	at_trace_reset(at_trace_global());
	at_settle_reset(&settled);
	for (int i = 0; i < n; i++) {
		job[i] = (struct latch_job){ &latch, tids, i };
		t[i] = (struct task){ latch_task, &job[i], -1 };
	}
	*rc = run(t, (size_t)n, cpu);
	if (!settle(*rc, n, threads_before, SETTLE_MS))
		return at_latch_max_in_flight(&latch);   /* stragglers: leave it be */
	max = at_latch_max_in_flight(&latch);
	at_latch_destroy(&latch);
	return max;
}

/* The latch for each of overlap_counts: what the runs reached. */
struct overlap_runs {
	int failed_at;           /* tasks in the run that fell short; 0: none */
	int max;                 /* most in flight in that run */
	int rc;
	char figures[96];        /* "4 of 4, 16 of 16, ..." */
};

/*
 * Stops at the first count that is not all in flight, so a failure costs
 * one latch deadline. The trace attached is that run's, or the last one's.
 */
static void overlap_counts_of(int (*run)(struct task *, size_t, int), int cpu,
			      const char *trace_name, const char *trace_title,
			      struct overlap_runs *o)
{
	static struct at_tidset tids;
	size_t off = 0;

	memset(o, 0, sizeof(*o));
	for (int i = 0; i < N_COUNTS; i++) {
		int n = overlap_counts[i], max = overlap_of(run, cpu, n, &tids, &o->rc);

		off += (size_t)snprintf(o->figures + off, sizeof(o->figures) - off, "%s%d of %d",
					i ? ", " : "", max, n);
		if (o->rc != 0 || max < n) {
			o->failed_at = n;
			o->max = max;
			break;
		}
	}
	at_trace_attach(trace_name, trace_title);
}

/* What "only k of n in flight" says about the code. */
static const char *overlap_meaning(int max)
{
	return max <= 1 ? "the tasks ran one after another"
			: "they ran in waves: something capped how many tasks were in progress at a time";
}

static int parallel_run(struct task *t, size_t n, int cpu_unused)
{
	(void)cpu_unused;
	return run_parallel(t, n);
}

/* The first (last: true) CPU this process may use. */
static int usable_cpu(bool last)
{
	cpu_set_t set;
	int found = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 0;
	for (int c = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		found = c;
		if (!last)
			break;
	}
	return found;
}

/* The pinned runs go to the LAST usable CPU: code that pins to CPU 0, or
 * to the first CPU it finds, whatever `cpu` says, is then caught. */
static int pinned_cpu(void)
{
	return usable_cpu(true);
}

/* ---- concurrency ---------------------------------------------------- */

Test(threads, overlap, .description = "run_parallel() has all its tasks in progress at the same moment, for 4, 16 and 64 tasks")
{
	struct overlap_runs o;

	overlap_counts_of(parallel_run, 0, "overlap", "run_parallel: tasks that wait for each other", &o);
	AT_MEASURED("overlap: %s tasks in flight at once (all needed)", o.figures);
	AT_HINT("start every thread first, and only then join them, all n of them whatever n is; a join right after each pthread_create waits for that task to end before the next one starts, and a cap on the threads running at once runs the tasks in waves");
	AT_CHECK_RC(o.rc, "run_parallel()");
	AT_CHECK(o.failed_at == 0, "with %d tasks, only %d %s ever in progress at once: %s", o.failed_at, o.max,
		 o.max == 1 ? "was" : "were", overlap_meaning(o.max));
	AT_END();
}

Test(threads, thread_per_task, .description = "every task runs on a new thread of its own, not on the caller's, for 0, 1 and 4 tasks")
{
	static const int counts[] = { 0, 1, N_TASKS };
	static struct at_tidset tids;
	char figures[160] = "", why[200] = "";
	size_t off = 0;
	int rc = 0;

	for (int i = 0; i < 3 && !why[0] && rc == 0; i++) {
		int n = counts[i];
		long created;

		at_calls_reset();
		overlap_of(parallel_run, 0, n, &tids, &rc);
		created = at_pthread_create_calls();
		off += (size_t)snprintf(figures + off, sizeof(figures) - off, "%s%d task%s: %d thread%s, %ld pthread_create()",
					i ? "; " : "", n, n == 1 ? "" : "s", at_tidset_count(&tids),
					at_tidset_count(&tids) == 1 ? "" : "s", created);
		if (rc != 0)
			break;
		if (at_tidset_contains(&tids, at_gettid()))
			snprintf(why, sizeof(why), "with %d task(s), a task ran on the thread that called run_parallel(): it must run on a thread of its own", n);
		else if (at_tidset_count(&tids) != n)
			snprintf(why, sizeof(why), "%d task(s) ran on %d distinct thread(s): each task needs its own", n, at_tidset_count(&tids));
		else if (created != n)
			snprintf(why, sizeof(why), "%ld pthread_create() calls for %d task(s): one per task is expected", created, n);
	}
	AT_MEASURED("threads: %s", figures);
	AT_HINT("one pthread_create() per task, none for no task; the calling thread only starts and joins them");
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(!why[0], "%s", why);
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

/* ---- a pthread_create() that fails part-way ---------------------------
 *
 * Test binaries route pthread_create() through at_count.c's wrapper, which
 * calls __real_pthread_create: with --wrap, that is whatever definition of
 * pthread_create the program holds, and this one is it. It passes every
 * call on to the C library's, except when armed: then the FAIL_AT-th call
 * and every one after it fail with EAGAIN, as when a process runs out of
 * threads. Failing every later call too means code that retries cannot
 * turn the failure into a success.
 */
static atomic_int create_calls;     /* calls since armed */
static atomic_int create_fail_from; /* 0: never fail; k: the k-th call on */
static void *_Atomic libc_create;   /* the C library's pthread_create */

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	int k = atomic_load(&create_fail_from);
	void *real = atomic_load(&libc_create);
	create_fn call;

	if (k > 0 && atomic_fetch_add(&create_calls, 1) + 1 >= k)
		return EAGAIN;
	if (!real) {
		/* RTLD_NEXT: the next definition after this program's, libc's. */
		real = dlsym(RTLD_NEXT, "pthread_create");
		if (!real)
			return ENOSYS;
		atomic_store(&libc_create, real);
	}
	memcpy(&call, &real, sizeof(call));
	return call(t, attr, fn, arg);
}

#define FAIL_TASKS 8
#define FAIL_AT 5    /* tasks 0-3 get their threads, the 5th create fails */

static atomic_int fail_finished;

static long nap_task(void *arg)
{
	(void)arg;
	at_sleep_ms(50);
	atomic_fetch_add(&fail_finished, 1);
	at_settle_done(&settled);
	return 0;
}

struct fail_run {
	int rc;
	int created;             /* pthread_create() calls that succeeded */
	int done_at_return;      /* tasks finished when the call returned */
	int left_behind;         /* threads more than before, once settled */
};

/* One run of FAIL_TASKS naps through `run`, with the FAIL_AT-th create failing. */
static void failing_run(int (*run)(struct task *, size_t, int), int cpu, struct fail_run *f)
{
	static struct task t[FAIL_TASKS];
	int before = at_count_threads(), calls_made;

	memset(f, 0, sizeof(*f));
	atomic_store(&fail_finished, 0);
	at_settle_reset(&settled);
	for (int i = 0; i < FAIL_TASKS; i++)
		t[i] = (struct task){ nap_task, NULL, -1 };
	atomic_store(&create_calls, 0);
	atomic_store(&create_fail_from, FAIL_AT);
	f->rc = run(t, FAIL_TASKS, cpu);
	f->done_at_return = atomic_load(&fail_finished);
	atomic_store(&create_fail_from, 0);
	calls_made = atomic_load(&create_calls);
	f->created = calls_made < FAIL_AT - 1 ? calls_made : FAIL_AT - 1;
	/* The threads that were created, joined or not, end within 50 ms. */
	at_settle_wait(&settled, f->created, SETTLE_MS);
	settle(0, 0, before, SETTLE_MS);
	f->left_behind = at_count_threads() - before;
}

/* A sentence for what went wrong in f, or NULL. */
static const char *fail_run_fault(const struct fail_run *f, const char *call, char *buf, size_t len)
{
	if (f->rc == ENOSYS)
		snprintf(buf, len, "%s", at_rc_text(f->rc, call));
	else if (f->rc != EAGAIN)
		snprintf(buf, len, "%s returned %d (%s) when pthread_create() failed with EAGAIN: it must return that error number",
			 call, f->rc, f->rc ? strerror(f->rc) : "success");
	else if (f->done_at_return < f->created)
		snprintf(buf, len, "%s returned while %d of the %d task(s) already started were still running: join the threads that did start before returning the error",
			 call, f->created - f->done_at_return, f->created);
	else if (f->left_behind > 0)
		snprintf(buf, len, "%s left %d thread(s) behind after the failure", call, f->left_behind);
	else
		return NULL;
	return buf;
}


/* ---- the caller, as it was found ---------------------------------------
 *
 * What a call could change for its caller behind its back: the calling
 * thread's CPUs, signal mask, scheduling and nice value; the defaults every
 * later thread of the process gets; threads and descriptors.
 */
struct caller_state {
	cpu_set_t affinity;
	sigset_t blocked;
	int policy;
	struct sched_param param;
	int nice;
	pthread_attr_t defaults;   /* pthread_getattr_default_np(): a copy */
	cpu_set_t default_cpus;
	size_t default_stack;
	int threads, fds;
};

static void caller_state_take(struct caller_state *s)
{
	memset(s, 0, sizeof(*s));
	sigemptyset(&s->blocked);
	cr_assert(pthread_getaffinity_np(pthread_self(), sizeof(s->affinity), &s->affinity) == 0);
	cr_assert(pthread_sigmask(SIG_BLOCK, NULL, &s->blocked) == 0);
	cr_assert(pthread_getschedparam(pthread_self(), &s->policy, &s->param) == 0);
	errno = 0;
	s->nice = getpriority(PRIO_PROCESS, (id_t)at_gettid());
	cr_assert(pthread_getattr_default_np(&s->defaults) == 0);
	/* No affinity in the defaults reads as "every CPU". */
	cr_assert(pthread_attr_getaffinity_np(&s->defaults, sizeof(s->default_cpus), &s->default_cpus) == 0);
	cr_assert(pthread_attr_getstacksize(&s->defaults, &s->default_stack) == 0);
	s->threads = at_count_threads();
	s->fds = at_count_fds();
}

static void caller_state_free(struct caller_state *s)
{
	pthread_attr_destroy(&s->defaults);
}

/* Put back what can be put back (for the judge of the machine, below). */
static void caller_state_restore(struct caller_state *s)
{
	pthread_setaffinity_np(pthread_self(), sizeof(s->affinity), &s->affinity);
	pthread_sigmask(SIG_SETMASK, &s->blocked, NULL);
	pthread_setschedparam(pthread_self(), s->policy, &s->param);
	setpriority(PRIO_PROCESS, (id_t)at_gettid(), s->nice);
	pthread_setattr_default_np(&s->defaults);
}

static void cpus_text(const cpu_set_t *set, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int c = 0; c < 64 && off < len; c++)
		if (CPU_ISSET(c, set))
			off += (size_t)snprintf(buf + off, len - off, "%s%d", off ? "," : "", c);
	if (!buf[0])
		snprintf(buf, len, "none");
}

/* Append one item to a "; "-separated list in buf. */
__attribute__((format(printf, 5, 6)))
static void add_item(char *buf, size_t len, size_t *off, int *n, const char *fmt, ...)
{
	va_list ap;

	if (*off < len && (*n)++ > 0)
		*off += (size_t)snprintf(buf + *off, len - *off, "; ");
	va_start(ap, fmt);
	if (*off < len)
		*off += (size_t)vsnprintf(buf + *off, len - *off, fmt, ap);
	va_end(ap);
}

/* What differs between a (before) and b (after), listed in buf; how many. */
static int caller_state_diff(const struct caller_state *a, const struct caller_state *b,
			     char *buf, size_t len)
{
	char x[100], y[100];
	size_t off = 0;
	int n = 0;

	buf[0] = '\0';
	if (!CPU_EQUAL(&a->affinity, &b->affinity)) {
		cpus_text(&a->affinity, x, sizeof(x));
		cpus_text(&b->affinity, y, sizeof(y));
		add_item(buf, len, &off, &n, "the calling thread's CPU affinity (CPUs %s before, %s after)", x, y);
	}
	for (int sig = 1; sig < SIGRTMAX; sig++) {
		if (sigismember(&a->blocked, sig) != sigismember(&b->blocked, sig)) {
			add_item(buf, len, &off, &n, "its signal mask (signal %d, %s, %s)", sig, strsignal(sig),
				 sigismember(&b->blocked, sig) ? "now blocked" : "no longer blocked");
			break;
		}
	}
	if (a->policy != b->policy || a->param.sched_priority != b->param.sched_priority)
		add_item(buf, len, &off, &n, "its scheduling policy or priority");
	if (a->nice != b->nice)
		add_item(buf, len, &off, &n, "its nice value (%d before, %d after)", a->nice, b->nice);
	if (!CPU_EQUAL(&a->default_cpus, &b->default_cpus) || a->default_stack != b->default_stack) {
		cpus_text(&b->default_cpus, y, sizeof(y));
		add_item(buf, len, &off, &n, "the attributes every new thread of the process gets (pthread_setattr_default_np: CPUs %s, stack %zu KiB)",
			 y, b->default_stack / 1024);
	}
	if (b->threads != a->threads)
		add_item(buf, len, &off, &n, "%d thread(s) more", b->threads - a->threads);
	if (b->fds != a->fds)
		add_item(buf, len, &off, &n, "%d descriptor(s) more", b->fds - a->fds);
	return n;
}

static long idle_task(void *arg)
{
	(void)arg;
	at_sleep_ms(5);
	at_settle_done(&settled);
	return 0;
}

/* Run N_TASKS idle tasks through `run`; what changed for the caller. */
static int changes_made_by(int (*run)(struct task *, size_t, int), int cpu, int *rc,
			   char *what, size_t len)
{
	static struct task t[N_TASKS];
	struct caller_state before, after;
	int changes;

	caller_state_take(&before);
	at_settle_reset(&settled);
	for (int i = 0; i < N_TASKS; i++)
		t[i] = (struct task){ idle_task, NULL, -1 };
	*rc = run(t, N_TASKS, cpu);
	settle(*rc, N_TASKS, before.threads, SETTLE_MS);
	caller_state_take(&after);
	changes = caller_state_diff(&before, &after, what, len);
	caller_state_restore(&before);   /* the next run starts from the same state */
	caller_state_free(&before);
	caller_state_free(&after);
	return changes;
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

/*
 * Two ping-pong players through `run`; the witness's result. *changed says
 * whether the call changed its caller (which is then put back before the
 * machine is judged: the judge's own threads must not inherit a narrowed
 * CPU set, a nice value or thread defaults left by the code under test).
 */
static struct at_pingpong_result pingpong_through(int (*run)(struct task *, size_t, int),
						  int cpu, int timeout_ms, int *rc, bool *changed)
{
	static struct at_pingpong pp;
	static void *args[2][2] = { { &pp, (void *)0 }, { &pp, (void *)1 } };
	static struct task t[2];
	struct caller_state before, after;
	char what[600];

	caller_state_take(&before);
	t[0] = (struct task){ pingpong_task, args[0], -1 };
	t[1] = (struct task){ pingpong_task, args[1], -1 };
	at_trace_reset(at_trace_global());
	at_settle_reset(&settled);
	at_pingpong_init(&pp, AT_PINGPONG_ROUNDS, timeout_ms);
	*rc = run(t, 2, cpu);
	/* A call that returned before its players finished (no join) leaves
	 * them spinning: wait for them in long naps, so that this thread's
	 * wake-ups do not take their CPUs, then settle as usual. */
	for (int64_t end = at_now_ns() + (int64_t)(timeout_ms + SETTLE_MS) * AT_NS_PER_MS;
	     *rc == 0 && at_settle_count(&settled) < 2 && at_now_ns() < end;)
		at_sleep_ms(50);
	settle(*rc, 2, before.threads, timeout_ms + SETTLE_MS);
	caller_state_take(&after);
	*changed = caller_state_diff(&before, &after, what, sizeof(what)) > 0;
	caller_state_restore(&before);
	caller_state_free(&before);
	caller_state_free(&after);
	return at_pingpong_result(&pp);
}

Test(threads, parallel, .description = "two tasks of run_parallel() run at the same instant, on two CPUs")
{
	struct at_pingpong_result r;
	char why[600];
	bool changed;
	int rc, verdict;

	at_require_cpus(2);
	r = pingpong_through(parallel_run, 0, AT_PINGPONG_TIMEOUT_MS, &rc, &changed);
	AT_MEASURED("parallel: %ld ping-pong rounds in %.2f s (%.0f rounds/s; %d needed within %d s)",
		    r.rounds_done, r.seconds, r.rate, AT_PINGPONG_ROUNDS, AT_PINGPONG_TIMEOUT_MS / 1000);
	AT_HINT("two tasks that spin waiting for each other can only take turns quickly when both run at once, on two CPUs: start all threads before joining any, and do not restrict where they run");
	AT_CHECK_RC(rc, "run_parallel()");
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	verdict = at_pingpong_verdict(&r, why, sizeof(why));
	/* A skip is not for sale: a call that changed its caller (its CPUs,
	 * priority, the thread defaults) may have made the machine look busy. */
	if (verdict == AT_SKIP && !changed)
		AT_SKIP("%s", why);
	AT_CHECK(verdict == AT_YES, "the two tasks never ran at the same instant (they shared one CPU, or ran one after the other): %s%s", why,
		 changed ? " (and run_parallel() changed its caller's CPUs, priority or thread defaults: no reason to skip)" : "");
	AT_END();
}

/* ---- the pinned run ------------------------------------------------- */

Test(threads, pinned_overlap, .description = "run_pinned() also has all its tasks in progress at once, for 4, 16 and 64 tasks: concurrency needs only one CPU")
{
	struct overlap_runs o;

	overlap_counts_of(run_pinned, pinned_cpu(), "pinned_overlap", "run_pinned: tasks that wait for each other on one CPU", &o);
	AT_MEASURED("overlap: %s tasks in flight at once on CPU %d (all needed)", o.figures, pinned_cpu());
	AT_HINT("pinning changes where the threads run, not when they start: start them all, then join them all, whatever n is");
	AT_CHECK_RC(o.rc, "run_pinned()");
	AT_CHECK(o.failed_at == 0, "with %d tasks, only %d %s in progress at once: %s", o.failed_at, o.max,
		 o.max == 1 ? "was" : "were", overlap_meaning(o.max));
	AT_END();
}

struct where {
	atomic_int ran;         /* tasks that ran */
	atomic_int off_cpu;     /* samples taken on another CPU */
	atomic_int wide_masks;  /* threads allowed elsewhere than on `cpu` */
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

Test(threads, pinned_one_cpu, .description = "every thread of run_pinned() may run only on the CPU asked for (the last usable one, while the caller runs on the first)")
{
	static struct where w;
	static struct task t[N_TASKS];
	cpu_set_t mine, first;
	int rc, threads_before = at_count_threads();

	w = (struct where){ .cpu = pinned_cpu() };
	/* The caller sits on another CPU than the one asked for, so code that
	 * pins to "wherever the caller runs" is caught every time. */
	cr_assert(pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine) == 0);
	CPU_ZERO(&first);
	CPU_SET(usable_cpu(false), &first);
	cr_assert(pthread_setaffinity_np(pthread_self(), sizeof(first), &first) == 0);
	at_settle_reset(&settled);
	for (int i = 0; i < N_TASKS; i++)
		t[i] = (struct task){ where_task, &w, -1 };
	rc = run_pinned(t, N_TASKS, w.cpu);
	settle(rc, N_TASKS, threads_before, SETTLE_MS);
	pthread_setaffinity_np(pthread_self(), sizeof(mine), &mine);
	AT_MEASURED("pinned: %d of %d threads confined to CPU %d (the caller on CPU %d), %d sample(s) seen elsewhere",
		    atomic_load(&w.ran) - atomic_load(&w.wide_masks), N_TASKS, w.cpu, usable_cpu(false), atomic_load(&w.off_cpu));
	AT_HINT("use the `cpu` argument, whatever it is: set the affinity in a pthread_attr_t (pthread_attr_setaffinity_np with a cpu_set_t holding only `cpu`) and pass it to every pthread_create()");
	AT_CHECK_RC(rc, "run_pinned()");
	AT_CHECK(atomic_load(&w.ran) == N_TASKS, "only %d of %d tasks ran", atomic_load(&w.ran), N_TASKS);
	AT_CHECK(atomic_load(&w.wide_masks) == 0, "%d thread(s) may run elsewhere than on CPU %d, the one asked for", atomic_load(&w.wide_masks), w.cpu);
	AT_CHECK(atomic_load(&w.off_cpu) == 0, "threads were seen running on another CPU %d time(s)", atomic_load(&w.off_cpu));
	AT_END();
}

static atomic_int bad_cpu_ran;

static long count_task(void *arg)
{
	(void)arg;
	atomic_fetch_add(&bad_cpu_ran, 1);
	at_settle_done(&settled);
	return 0;
}

Test(threads, pinned_bad_cpu, .description = "run_pinned() on a CPU that does not exist (-1, or one past the last) returns EINVAL, runs no task and leaves no thread")
{
	static struct task t[N_TASKS];
	int bad[2] = { -1, (int)sysconf(_SC_NPROCESSORS_CONF) }, rc[2], ran[2], left[2];
	char why[200] = "";

	for (int k = 0; k < 2; k++) {
		int before = at_count_threads();

		atomic_store(&bad_cpu_ran, 0);
		at_settle_reset(&settled);
		for (int i = 0; i < N_TASKS; i++)
			t[i] = (struct task){ count_task, NULL, -1 };
		rc[k] = run_pinned(t, N_TASKS, bad[k]);
		/* A task started anyway is let finish before counting. */
		at_settle_wait(&settled, N_TASKS, rc[k] == 0 ? SETTLE_MS : 100);
		settle(0, 0, before, SETTLE_MS);
		ran[k] = atomic_load(&bad_cpu_ran);
		left[k] = at_count_threads() - before;
		if (why[0])
			continue;
		if (rc[k] == ENOSYS)
			snprintf(why, sizeof(why), "%s", at_rc_text(rc[k], "run_pinned()"));
		else if (rc[k] != EINVAL)
			snprintf(why, sizeof(why), "run_pinned() on CPU %d returned %d (%s): EINVAL expected, as no thread can be confined there",
				 bad[k], rc[k], rc[k] ? strerror(rc[k]) : "success");
		else if (ran[k] > 0)
			snprintf(why, sizeof(why), "run_pinned() on CPU %d returned EINVAL but ran %d task(s) anyway, on some other CPU", bad[k], ran[k]);
		else if (left[k] > 0)
			snprintf(why, sizeof(why), "run_pinned() on CPU %d left %d thread(s) behind", bad[k], left[k]);
	}
	AT_MEASURED("bad CPU: run_pinned() on CPU %d returned %d, %d task(s) ran; on CPU %d returned %d, %d task(s) ran",
		    bad[0], rc[0], ran[0], bad[1], rc[1], ran[1]);
	AT_HINT("a thread confined to a CPU that does not exist cannot be created: pthread_create() says EINVAL; pass that error on (after joining any thread already started) rather than running the tasks somewhere else");
	AT_CHECK(!why[0], "%s", why);
	AT_END();
}

Test(threads, pinned_not_parallel, .description = "the pinned run is concurrent but not parallel: its tasks never run at the same instant")
{
	struct at_pingpong_result r;
	bool changed;
	int rc;

	/* On one CPU the witness has nothing to tell apart: the pinned run and
	 * any other run are equally unable to show parallelism. */
	at_require_cpus(2);
	/* A quarter of a second: the rounds take ~10 ms on two CPUs, and what
	 * proves "never at the same instant" is the masks, not the wait. */
	r = pingpong_through(run_pinned, pinned_cpu(), 250, &rc, &changed);
	at_trace_attach("pinned_not_parallel", "run_pinned: two spinning tasks on one CPU");
	AT_MEASURED("not parallel: %ld ping-pong rounds in %.2f s (%.0f rounds/s; on two CPUs %d take about 10 ms); the two threads were allowed on %d CPU(s)",
		    r.rounds_done, r.seconds, r.rate, AT_PINGPONG_ROUNDS, r.cpus_allowed);
	AT_HINT("if the two tasks could take turns this fast, or were allowed on more than one CPU, they were not confined to one: check the affinity you pass to pthread_create()");
	AT_CHECK_RC(rc, "run_pinned()");
	AT_CHECK(r.players == 2, "only %d of the 2 tasks ever started", r.players);
	AT_CHECK(!r.parallel, "the two pinned tasks ran simultaneously: %ld rounds in %.2f s is only possible on two CPUs", r.rounds_done, r.seconds);
	/* Slow turns alone prove nothing on a busy machine: what proves "never
	 * at the same instant" is that both threads could only use one CPU. */
	AT_CHECK(r.cpus_allowed == 1, "the two pinned tasks' threads were allowed on %d CPUs together, so they could run at the same instant (slow turns now are no proof: the machine may just be busy)",
		 r.cpus_allowed);
	AT_END();
}

/* ---- error paths, and the caller afterwards --------------------------- */

/* Memory the error path forgets to free is memory_errors' question
 * (LeakSanitizer, in harness/02-threads/asan_threads.c). */
Test(threads, create_fails, .description = "when a pthread_create() fails part-way, run_parallel() and run_pinned() join the threads already started and return the error")
{
	struct fail_run par, pin;
	char why[300];
	const char *fault;

	failing_run(parallel_run, 0, &par);
	failing_run(run_pinned, pinned_cpu(), &pin);
	AT_MEASURED("create fails: the 5th of %d pthread_create() calls and every later one fail with EAGAIN; run_parallel() returned %d with %d of %d started tasks finished, %d thread(s) left; run_pinned() returned %d, %d of %d finished, %d left",
		    FAIL_TASKS, par.rc, par.done_at_return, par.created, par.left_behind,
		    pin.rc, pin.done_at_return, pin.created, pin.left_behind);
	AT_HINT("when pthread_create() returns an error, stop creating, but still pthread_join() every thread already started (they are using the caller's tasks), then return that error number");
	fault = fail_run_fault(&par, "run_parallel()", why, sizeof(why));
	AT_CHECK(!fault, "%s", fault);
	fault = fail_run_fault(&pin, "run_pinned()", why, sizeof(why));
	AT_CHECK(!fault, "%s", fault);
	AT_END();
}

Test(threads, caller_unchanged, .description = "run_pinned() and run_parallel() leave their caller as they found it: its CPUs, signal mask, priority, the process's thread defaults; no thread or descriptor left")
{
	char pinned_what[600], parallel_what[600];
	int rc_pin, rc_par, pinned_changes, parallel_changes;

	pinned_changes = changes_made_by(run_pinned, pinned_cpu(), &rc_pin, pinned_what, sizeof(pinned_what));
	parallel_changes = changes_made_by(parallel_run, 0, &rc_par, parallel_what, sizeof(parallel_what));
	AT_MEASURED("caller: run_pinned() changed %d thing(s) of its caller, run_parallel() %d",
		    pinned_changes, parallel_changes);
	AT_HINT("confine the new threads, not the caller: put the CPU in an attribute object passed to pthread_create(); if you do change the calling thread (a signal mask while creating, say), put it back before returning");
	AT_CHECK_RC(rc_pin, "run_pinned()");
	AT_CHECK_RC(rc_par, "run_parallel()");
	AT_CHECK(pinned_changes == 0, "run_pinned() changed its caller: %s", pinned_what);
	AT_CHECK(parallel_changes == 0, "run_parallel() changed its caller: %s", parallel_what);
	AT_END();
}

/* ---- memory, under AddressSanitizer --------------------------------- */

Test(threads, memory_errors, .description = "under AddressSanitizer: run_parallel() and run_pinned(), with 0 to 64 tasks, a pthread_create() failing part-way and a bad CPU, touch no freed memory and free all they allocate")
{
	static struct at_driver_run r;
	static char excerpt[2048], summary[300];
	bool leaks_checked;
	const char *why = at_memcheck_run("asan_threads", "all", 20000, &r, &leaks_checked);

	if (why)
		AT_SKIP("%s", why);
	at_memcheck_excerpt(r.out, excerpt, sizeof(excerpt));
	at_memcheck_summary(r.out, summary, sizeof(summary));
	AT_MEASURED("memory: under AddressSanitizer%s, %s", leaks_checked ? " and LeakSanitizer" : " (leaks not checked: LeakSanitizer cannot run here)",
		    r.timed_out ? "the run was still going after 20 s" : r.signal ? "the run was ended by a signal" :
		    r.exit_status == AT_MEMCHECK_REPORTED ? summary : r.exit_status == 0 ? "no report" : "the run failed on its own");
	AT_HINT("free the thread ids (and destroy the attribute object) on every way out of the function, the error paths included, and only after the last pthread_join() that reads them");
	AT_CHECK(r.exit_status != 3, "%s", at_rc_text(ENOSYS, "run_parallel() or run_pinned()"));
	AT_CHECK(!r.timed_out, "the run under AddressSanitizer did not finish within 20 s: a join that never returns?");
	AT_CHECK(r.signal == 0, "the run under AddressSanitizer was killed by signal %d (%s)", r.signal, strsignal(r.signal));
	AT_CHECK(r.exit_status != AT_MEMCHECK_REPORTED, "AddressSanitizer found a memory error:\n%s", excerpt);
	AT_CHECK(r.exit_status == 0, "the run under AddressSanitizer failed on its own (exit %d):\n%.600s", r.exit_status, r.out);
	AT_END();
}
