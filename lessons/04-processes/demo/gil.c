/*
 * gil.c - why separate processes get around a "global interpreter lock".
 *
 * CPython runs Python code only while holding one lock per process, the
 * GIL: its threads take turns, never compute at the same instant. This
 * demo builds the same situation in C: each worker computes only while
 * holding `big_lock`. Two threads share the process's one lock: they take
 * turns, CPU/wall stays near 1. Two forked processes each get their own
 * copy of the lock (memory is copied at fork): they never wait for each
 * other, and on two CPUs CPU/wall nears 2. That is what Python's
 * multiprocessing module does for CPU-bound work.
 *
 * Build and run:  gcc -std=gnu11 -D_GNU_SOURCE -pthread -Wall -Wextra gil.c && ./a.out
 */
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS  2
#define SLICES   50  /* each worker computes SLICES times... */
#define SLICE_MS 4   /* ...this long, holding the lock each time */

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Compute until this thread has used another `ms` of CPU time. */
static void compute(double ms)
{
	double until = ms_of(CLOCK_THREAD_CPUTIME_ID) + ms;
	volatile unsigned long sink = 0;

	while (ms_of(CLOCK_THREAD_CPUTIME_ID) < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
}

/* ANCHOR: worker */
/* A worker of an "interpreter": it computes only while it holds the lock. */
static void *worker(void *unused)
{
	(void)unused;
	for (int i = 0; i < SLICES; i++) {
		if (pthread_mutex_lock(&big_lock) != 0)
			return NULL;
		compute(SLICE_MS);
		/* Hand the lock on: whoever waits for it may compute now. */
		if (pthread_mutex_unlock(&big_lock) != 0)
			return NULL;
	}
	return NULL;
}
/* ANCHOR_END: worker */

static double cpu_ms(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void report(const char *how, double wall, double cpu)
{
	printf("  %-38s %4.0f ms of wall time, %4.0f ms of CPU, CPU/wall %.2f\n",
	       how, wall, cpu, cpu / wall);
}

int main(void)
{
	pthread_t tid[WORKERS];
	cpu_set_t set;
	double t0, c0;

	sched_getaffinity(0, sizeof(set), &set);
	printf("%d workers, %d ms of computing each, always holding the lock; %d CPU(s) usable\n",
	       WORKERS, SLICES * SLICE_MS, CPU_COUNT(&set));

	t0 = ms_of(CLOCK_MONOTONIC);
	c0 = cpu_ms(RUSAGE_SELF);
	for (int i = 0; i < WORKERS; i++)
		if (pthread_create(&tid[i], NULL, worker, NULL) != 0)
			return 1;
	for (int i = 0; i < WORKERS; i++)
		if (pthread_join(tid[i], NULL) != 0)
			return 1;
	report("threads (one lock for the process):", ms_of(CLOCK_MONOTONIC) - t0,
	       cpu_ms(RUSAGE_SELF) - c0);

	/* ANCHOR: processes */
	t0 = ms_of(CLOCK_MONOTONIC);
	fflush(stdout);
	for (int i = 0; i < WORKERS; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 1;
		if (pid == 0) {
			worker(NULL); /* locks the child's own copy of big_lock */
			_exit(0);
		}
	}
	for (int i = 0; i < WORKERS; i++)
		wait(NULL);
	/* ANCHOR_END: processes */
	report("processes (each its own copy of it):", ms_of(CLOCK_MONOTONIC) - t0,
	       cpu_ms(RUSAGE_CHILDREN));
	return 0;
}
