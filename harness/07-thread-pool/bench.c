/*
 * bench.c - lesson 07's benchmark: the pool under test beside GLib's
 * GThreadPool and beside a thread per task (lesson 02's way), on empty
 * tasks (pure overhead: queueing, waking, handing over) and on small ones
 * (~20 us of arithmetic each).
 *
 *   make bench LESSON=7 [IMPL=solution]
 *
 * Every pool has the same number of workers (4) and is created once, before
 * the rounds: a round is "submit K tasks, wait until all have run". The
 * pools' tasks are submitted without a handle and count down a shared
 * counter; the last one wakes the waiting thread. "ours, wait each" also
 * takes a handle per task and pool_wait()s every one (the API's full cost;
 * GThreadPool has no per-task handle). Thread per task creates and joins one
 * thread per task, 256 at a time. A benchmark never passes or fails.
 */
#include "at_bench.h"
#include "pool.h"

#include <glib.h>
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKERS     4
#define BATCH       256      /* threads alive at once, thread per task */
#define SMALL_ITERS 20000    /* ~20 us of arithmetic */

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "bench: %s: %s\n", what, strerror(rc));
		exit(1);
	}
}

/* ---- a countdown: the last task wakes the waiter ---------------------- */

struct countdown {
	atomic_long left;
	pthread_mutex_t mu;
	pthread_cond_t zero;
	bool done;
};

static struct countdown cd = { .mu = PTHREAD_MUTEX_INITIALIZER, .zero = PTHREAD_COND_INITIALIZER };

static void countdown_arm(long n)
{
	atomic_store(&cd.left, n);
	cd.done = false;
}

static void countdown_tick(void)
{
	if (atomic_fetch_sub(&cd.left, 1) != 1)
		return;
	/* Under the lock, so the waiter cannot miss it between its check
	 * and its sleep. */
	must(pthread_mutex_lock(&cd.mu), "pthread_mutex_lock");
	cd.done = true;
	must(pthread_cond_signal(&cd.zero), "pthread_cond_signal");
	must(pthread_mutex_unlock(&cd.mu), "pthread_mutex_unlock");
}

static void countdown_wait(void)
{
	must(pthread_mutex_lock(&cd.mu), "pthread_mutex_lock");
	while (!cd.done)
		must(pthread_cond_wait(&cd.zero, &cd.mu), "pthread_cond_wait");
	must(pthread_mutex_unlock(&cd.mu), "pthread_mutex_unlock");
}

/* ---- the tasks ---------------------------------------------------------- */

static atomic_long sink;   /* keeps the work from being optimised away */

static long small_work(void)
{
	unsigned long x = 88172645463325252UL;

	for (int i = 0; i < SMALL_ITERS; i++) {   /* xorshift: not optimised away */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
	}
	return (long)(x & 0xff);
}

static long empty_task(void *arg)
{
	(void)arg;
	countdown_tick();
	return 0;
}

static long small_task(void *arg)
{
	long r = small_work();

	(void)arg;
	countdown_tick();
	return r;
}

static long empty_plain(void *arg)
{
	(void)arg;
	return 0;
}

static long small_plain(void *arg)
{
	(void)arg;
	return small_work();
}

/* ---- the cases ---------------------------------------------------------- */

struct bench_round {
	long tasks;
	bool small;
	struct pool *pool;
	GThreadPool *glib;
};

static void ours(void *arg)
{
	struct bench_round *r = arg;

	countdown_arm(r->tasks);
	for (long i = 0; i < r->tasks; i++)
		must(pool_submit(r->pool, r->small ? small_task : empty_task, NULL, NULL), "pool_submit");
	countdown_wait();
}

static void ours_wait_each(void *arg)
{
	struct bench_round *r = arg;
	struct pool_job **h = malloc((size_t)r->tasks * sizeof(*h));
	long sum = 0;

	if (!h)
		must(ENOMEM, "malloc");
	for (long i = 0; i < r->tasks; i++)
		must(pool_submit(r->pool, r->small ? small_plain : empty_plain, NULL, &h[i]), "pool_submit");
	for (long i = 0; i < r->tasks; i++) {
		long v;

		must(pool_wait(h[i], &v), "pool_wait");
		sum += v;
	}
	atomic_store_explicit(&sink, sum, memory_order_relaxed);
	free(h);
}

static void glib_task(gpointer data, gpointer user_data)
{
	struct bench_round *r = user_data;

	(void)data;
	if (r->small)
		atomic_store_explicit(&sink, small_work(), memory_order_relaxed);
	countdown_tick();
}

static void glib(void *arg)
{
	struct bench_round *r = arg;
	static int token;

	countdown_arm(r->tasks);
	for (long i = 0; i < r->tasks; i++)
		g_thread_pool_push(r->glib, &token, NULL);   /* data must not be NULL */
	countdown_wait();
}

static void *thread_body(void *arg)
{
	const struct bench_round *r = arg;

	if (r->small)
		atomic_store_explicit(&sink, small_work(), memory_order_relaxed);
	return NULL;
}

static void thread_per_task(void *arg)
{
	struct bench_round *r = arg;
	pthread_t t[BATCH];

	for (long done = 0; done < r->tasks; ) {
		long n = r->tasks - done < BATCH ? r->tasks - done : BATCH;

		for (long i = 0; i < n; i++)
			must(pthread_create(&t[i], NULL, thread_body, r), "pthread_create");
		for (long i = 0; i < n; i++)
			must(pthread_join(t[i], NULL), "pthread_join");
		done += n;
	}
}

static void table(const char *title, long tasks, bool small, int rounds)
{
	struct bench_round r = { .tasks = tasks, .small = small };
	GError *err = NULL;

	must(pool_create(&r.pool, WORKERS), "pool_create");
	r.glib = g_thread_pool_new(glib_task, &r, WORKERS, TRUE, &err);
	if (!r.glib) {
		fprintf(stderr, "bench: g_thread_pool_new: %s\n", err ? err->message : "failed");
		exit(1);
	}
	{
		struct at_bench_case c[] = {
			{ "pool (ours)", ours, &r },
			{ "GThreadPool", glib, &r },
			{ "ours, a handle per task", ours_wait_each, &r },
			{ "thread per task", thread_per_task, &r },
		};

		at_bench_run(title, c, 4, rounds, (double)tasks, "tasks", NULL);
	}
	g_thread_pool_free(r.glib, FALSE, TRUE);
	must(pool_shutdown(r.pool), "pool_shutdown");
}

int main(void)
{
	printf("4 workers in each pool; a round submits every task, then waits until all have run\n");
	table("5000 empty tasks", 5000, false, 7);
	table("2000 small tasks (~20 us each)", 2000, true, 7);
	return 0;
}
