/*
 * gil_io.c - a "global interpreter lock" in C, and why letting go of it
 * around I/O matters. Four tasks each compute 40 ms, wait 80 ms for "I/O"
 * (a sleep), and compute 40 ms more. Three ways to run them on four
 * threads:
 *
 *   held through I/O:  one big lock around the whole task; a waiting task
 *                      keeps everybody out;
 *   the GIL way:       one big lock around the computing only, released
 *                      while the task waits, as CPython does around every
 *                      blocking call;
 *   no big lock:       the threads run freely.
 *
 * "in task code at once" counts tasks between their lock and their unlock
 * (concurrency inside the lock); CPU/wall above 1 means two threads
 * computed at the same instant (parallelism). Times vary from run to run;
 * the counts under the big lock do not.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra gil_io.c && ./a.out
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TASKS      4
#define COMPUTE_MS 40
#define IO_MS      80

enum mode { HELD_THROUGH_IO, RELEASED_FOR_IO, NO_BIG_LOCK };

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static enum mode mode;
static atomic_int computing, most_computing;

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
		exit(1);
	}
}

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* CPU-bound: compute until this thread has used another `ms` of CPU. */
static void compute(double ms)
{
	double until = ms_of(CLOCK_THREAD_CPUTIME_ID) + ms;
	volatile unsigned long sink = 0;
	int now = atomic_fetch_add(&computing, 1) + 1;
	int most = atomic_load(&most_computing);

	while (now > most && !atomic_compare_exchange_weak(&most_computing, &most, now))
		;
	while (ms_of(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
	atomic_fetch_sub(&computing, 1);
}

static void io(void)
{
	struct timespec wait = { 0, IO_MS * 1000000L };

	nanosleep(&wait, NULL);
}

/* ANCHOR: task */
static void *task(void *arg)
{
	bool big = mode != NO_BIG_LOCK;

	(void)arg;
	if (big)
		must(pthread_mutex_lock(&big_lock), "lock");
	compute(COMPUTE_MS);
	if (mode == RELEASED_FOR_IO)       /* the GIL's trick: */
		must(pthread_mutex_unlock(&big_lock), "unlock");
	io();                              /* waiting needs no lock */
	if (mode == RELEASED_FOR_IO)
		must(pthread_mutex_lock(&big_lock), "lock");
	compute(COMPUTE_MS);
	if (big)
		must(pthread_mutex_unlock(&big_lock), "unlock");
	return NULL;
}
/* ANCHOR_END: task */

static void run(enum mode m, const char *name)
{
	pthread_t tid[TASKS];
	double t0, c0, wall;

	mode = m;
	atomic_store(&most_computing, 0);
	t0 = ms_of(CLOCK_MONOTONIC);
	c0 = ms_of(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < TASKS; i++)
		must(pthread_create(&tid[i], NULL, task, NULL), "pthread_create");
	for (int i = 0; i < TASKS; i++)
		must(pthread_join(tid[i], NULL), "pthread_join");
	wall = ms_of(CLOCK_MONOTONIC) - t0;
	printf("  %-18s %4.0f ms, CPU/wall %.2f, at most %d task(s) computing at once\n",
	       name, wall, (ms_of(CLOCK_PROCESS_CPUTIME_ID) - c0) / wall, atomic_load(&most_computing));
}

int main(void)
{
	printf("%d tasks: compute %d ms, wait %d ms for I/O, compute %d ms\n",
	       TASKS, COMPUTE_MS, IO_MS, COMPUTE_MS);
	run(HELD_THROUGH_IO, "held through I/O:");
	run(RELEASED_FOR_IO, "the GIL way:");
	run(NO_BIG_LOCK, "no big lock:");
	return 0;
}
