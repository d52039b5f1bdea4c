/*
 * asan_pool.c - lesson 07's AddressSanitizer driver: whose memory is a
 * job, and until when? (harness/mk/lesson.mk builds it, with the code under
 * test, as $ATONCE_OUT/asan_pool; test_pool.c::memory_safe runs it.)
 *
 *   asan_pool handles   a pool of 3 gets 300 tasks: 200 with a handle, 100
 *                       without (the pool frees those itself). The first
 *                       150 tasks run at once, and their 100 handles are
 *                       waited on, some while their task still runs (the
 *                       first for sure: task 0 holds until the thread
 *                       waiting for it is asleep in pool_wait(), or has
 *                       come back from it). The
 *                       other 150 wait at a gate, which opens 50 ms after
 *                       pool_shutdown() was called: so the queue is full
 *                       when shutdown starts, every time. When it returns,
 *                       every task must have run; then the other 100
 *                       handles are waited on, as pool.h allows ("a handle
 *                       stays valid until then, even across
 *                       pool_shutdown()").
 *
 * In the test process a read of freed memory often still finds the old
 * bytes, and the test passes by luck; AddressSanitizer makes every read or
 * write of freed memory, every second free and every leaked job a report,
 * on every run.
 *
 * Exit 0 when every task ran once and every result was right; 1 when not
 * (a message says what); 66 when AddressSanitizer, LeakSanitizer or UBSan
 * reports (the test sets exitcode=66). Compare with tsan_pool.c.
 */
#include "pool.h"
#include "at_time.h"
#include "at_proc.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS   3
#define TASKS     300
#define HANDLES   (TASKS * 2 / 3)   /* every third task has no handle */
#define EARLY     (HANDLES / 2)     /* the handles of the first GATED tasks */
#define WAIT_MS   3000              /* longer than all the tasks take */

#define GATED     (TASKS / 2)       /* tasks from here on wait at the gate */
#define GATE_MS   50                /* after pool_shutdown() is called */

static atomic_int ran[TASKS];

/* The gate: closed until GATE_MS after pool_shutdown() was called. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

/* A pthread call of the driver's own that fails is a harness bug. */
static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "asan_pool: %s: %s\n", what, strerror(rc));
		_exit(2);
	}
}

static void gate_wait(void)
{
	must(pthread_mutex_lock(&gate_mu), "pthread_mutex_lock");
	while (!gate_open)
		must(pthread_cond_wait(&gate_cv, &gate_mu), "pthread_cond_wait");
	must(pthread_mutex_unlock(&gate_mu), "pthread_mutex_unlock");
}

static void *gate_opener(void *arg)
{
	(void)arg;
	at_sleep_ms(GATE_MS);
	must(pthread_mutex_lock(&gate_mu), "pthread_mutex_lock");
	gate_open = true;
	must(pthread_cond_broadcast(&gate_cv), "pthread_cond_broadcast");
	must(pthread_mutex_unlock(&gate_mu), "pthread_mutex_unlock");
	return NULL;
}

/*
 * The first handle is waited on while its task still runs, every time, not
 * by luck: task 0 holds until the thread waiting for it has called
 * pool_wait() and is asleep there (its state in /proc), or has come back
 * from it (a pool_wait() that does not wait). A pool_wait() that never
 * sleeps (it spins) is let through after WAIT_MS / 3.
 */
static _Atomic pid_t first_waiter;       /* about to call pool_wait(h[0]) */
static atomic_bool first_wait_returned;

static char thread_state(pid_t tid)
{
	char state;

	return at_proc_stat(0, tid, &state, NULL) ? state : '?';
}

static void hold_until_waited(void)
{
	int64_t deadline = at_now_ns() + (int64_t)WAIT_MS / 3 * AT_NS_PER_MS;

	while (!atomic_load(&first_wait_returned) && at_now_ns() < deadline) {
		pid_t w = atomic_load(&first_waiter);

		if (w != 0 && thread_state(w) == 'S')
			return;
		at_sleep_ms(1);
	}
}

/* Every tenth task naps, so more handles are waited on while their task
 * runs; the second half waits at the gate first. */
static long task(void *arg)
{
	long i = (long)(intptr_t)arg;

	if (i == 0)
		hold_until_waited();
	if (i >= GATED)
		gate_wait();
	if (i % 10 == 0)
		at_sleep_ms(2);
	atomic_fetch_add(&ran[i], 1);
	return i * 5 + 1;
}

static struct pool_job *h[HANDLES];
static long of[HANDLES];   /* the task behind each handle */

struct waits {
	int from, to;
	const char *when;
	int bad;
};

static void *waits(void *arg)
{
	struct waits *w = arg;

	if (w->from == 0)
		atomic_store(&first_waiter, (pid_t)gettid());
	for (int k = w->from; k < w->to; k++) {
		long got = -1;
		int rc = pool_wait(h[k], &got);

		if (k == 0)
			atomic_store(&first_wait_returned, true);

		if (rc != 0 || got != of[k] * 5 + 1) {
			if (w->bad++ == 0)
				fprintf(stderr, "asan_pool: pool_wait() %s on the handle of task %ld returned %d, result %ld (expected 0, %ld)\n",
					w->when, of[k], rc, got, of[k] * 5 + 1);
		}
	}
	return NULL;
}

/*
 * Wait on handles [from, to) on a helper thread, WAIT_MS at most: a task
 * that never runs (dropped at shutdown) ends the run in 3 s with that
 * said, not at the test's deadline. Returns the wrong results.
 */
static int wait_handles(int from, int to, const char *when)
{
	struct waits w = { from, to, when, 0 };
	struct timespec ts;
	pthread_t t;
	int rc = pthread_create(&t, NULL, waits, &w);

	if (rc != 0) {
		fprintf(stderr, "asan_pool: pthread_create: %s\n", strerror(rc));
		return 1;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += WAIT_MS / 1000;
	if (pthread_timedjoin_np(t, NULL, &ts) != 0) {
		fprintf(stderr, "asan_pool: pool_wait() %s had not returned after %d s: the task behind a handle never ran\n",
			when, WAIT_MS / 1000);
		_exit(1);   /* no leak check: the stuck wait still holds its job */
	}
	return w.bad;
}

int main(int argc, char **argv)
{
	struct pool *p;
	pthread_t opener;
	int rc, k = 0, bad = 0;

	if (argc != 2 || strcmp(argv[1], "handles") != 0) {
		fprintf(stderr, "usage: asan_pool handles\n");
		return 2;
	}
	if ((rc = pool_create(&p, WORKERS)) != 0) {
		fprintf(stderr, "asan_pool: pool_create: %s\n", strerror(rc));
		return 1;
	}
	for (long i = 0; i < TASKS; i++) {
		bool handle = i % 3 != 2;

		rc = pool_submit(p, task, (void *)(intptr_t)i, handle ? &h[k] : NULL);
		if (rc != 0) {
			fprintf(stderr, "asan_pool: pool_submit: %s\n", strerror(rc));
			return 1;
		}
		if (handle)
			of[k++] = i;
	}
	bad += wait_handles(0, EARLY, "before pool_shutdown()");
	if ((rc = pthread_create(&opener, NULL, gate_opener, NULL)) != 0) {
		fprintf(stderr, "asan_pool: pthread_create: %s\n", strerror(rc));
		return 1;
	}
	if ((rc = pool_shutdown(p)) != 0) {
		fprintf(stderr, "asan_pool: pool_shutdown: %s\n", strerror(rc));
		return 1;
	}
	for (int i = 0; i < TASKS; i++)
		if (atomic_load(&ran[i]) == 0) {
			/* Dropped, or still running on a worker that was not
			 * joined and will touch the freed pool: no leak
			 * check, no waiting for that crash. */
			fprintf(stderr, "asan_pool: pool_shutdown() returned before task %d (of %d queued when it was called) had run: it must run every queued task and join every worker\n",
				i, TASKS - GATED);
			_exit(1);
		}
	must(pthread_join(opener, NULL), "pthread_join");
	bad += wait_handles(EARLY, HANDLES, "after pool_shutdown()");
	for (int i = 0; i < TASKS; i++)
		if (atomic_load(&ran[i]) != 1 && bad++ == 0)
			fprintf(stderr, "asan_pool: task %d ran %d times\n", i, atomic_load(&ran[i]));
	if (bad)
		return 1;
	printf("asan_pool: %d tasks, %d handles (%d waited after pool_shutdown()), all right\n", TASKS, HANDLES, HANDLES - EARLY);
	return 0;
}
