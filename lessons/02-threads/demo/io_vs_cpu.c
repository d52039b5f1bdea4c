/*
 * io_vs_cpu.c - on ONE CPU, do threads make four tasks finish sooner?
 * For tasks that wait (I/O-bound): yes. For tasks that compute (CPU-bound):
 * no. Compare with pinned.c, where a second CPU lets computing tasks gain.
 *
 * The whole process is first confined to one CPU. Then four tasks of
 * TASK_MS each run twice: one after another on the main thread, and on a
 * thread each. A waiting task (nanosleep, standing in for a disk or a
 * network) needs no CPU while it waits, so four of them can wait at the
 * same time even on one CPU: concurrency alone saves the time. A computing
 * task needs the CPU for all of its TASK_MS; four of them on one CPU take
 * four times as long however many threads carry them.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra io_vs_cpu.c && ./a.out
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* sched_getcpu, CPU_SET, sched_setaffinity */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N_TASKS 4
#define TASK_MS 100

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ANCHOR: tasks */
/* I/O-bound: most of its time is spent waiting for something else. */
static void *wait_task(void *arg)
{
	struct timespec wait = { 0, TASK_MS * 1000000L };

	(void)arg;
	nanosleep(&wait, NULL);
	return NULL;
}

/* CPU-bound: all of its time is spent computing. */
static void *compute_task(void *arg)
{
	double until = ms_of(CLOCK_THREAD_CPUTIME_ID) + TASK_MS;
	volatile unsigned long sink = 0;

	(void)arg;
	while (ms_of(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
	return NULL;
}
/* ANCHOR_END: tasks */

/* Wall time of N_TASKS tasks run one after another on this thread. */
static double one_thread(void *(*task)(void *))
{
	double start = ms_of(CLOCK_MONOTONIC);

	for (int i = 0; i < N_TASKS; i++)
		task(NULL);
	return ms_of(CLOCK_MONOTONIC) - start;
}

/* Wall time of N_TASKS tasks on a thread each (negative on error). */
static double thread_each(void *(*task)(void *))
{
	pthread_t tid[N_TASKS];
	double start = ms_of(CLOCK_MONOTONIC);

	for (int i = 0; i < N_TASKS; i++)
		if (pthread_create(&tid[i], NULL, task, NULL) != 0)
			return -1;
	for (int i = 0; i < N_TASKS; i++)
		if (pthread_join(tid[i], NULL) != 0)
			return -1;
	return ms_of(CLOCK_MONOTONIC) - start;
}

int main(void)
{
	cpu_set_t one;
	double serial, threaded;

	/* One CPU for the whole process (and every thread it creates). */
	if (sched_getaffinity(0, sizeof(one), &one) != 0) {
		perror("sched_getaffinity");
		return 1;
	}
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &one)) {
			CPU_ZERO(&one);
			CPU_SET(c, &one);
			break;
		}
	if (sched_setaffinity(0, sizeof(one), &one) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	printf("%d tasks of %d ms each, all on CPU %d:\n", N_TASKS, TASK_MS, sched_getcpu());
	serial = one_thread(wait_task);
	threaded = thread_each(wait_task);
	printf("  waiting tasks:   one thread %4.0f ms, a thread each %4.0f ms\n", serial, threaded);
	serial = one_thread(compute_task);
	threaded = thread_each(compute_task);
	printf("  computing tasks: one thread %4.0f ms, a thread each %4.0f ms\n", serial, threaded);
	return 0;
}
