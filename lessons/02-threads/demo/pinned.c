/*
 * pinned.c - the same two CPU-bound threads twice: free to run on any CPU,
 * then pinned to one CPU the way `taskset -c 0` pins a program.
 *
 * Each thread burns BURN_MS milliseconds of CPU time of its own. Free, on a
 * machine with two CPUs, they burn them side by side: the run takes about
 * BURN_MS of wall time and the process uses twice that in CPU time
 * (CPU/wall near 2: parallel). Pinned, the kernel time-slices them on one
 * CPU: both are still in progress from start to end (concurrent), but the
 * run takes twice as long and CPU/wall stays near 1 (not parallel).
 *
 * The pinning is sched_setaffinity() on the main thread before it creates
 * the workers: a new thread inherits its creator's affinity mask. Figures
 * vary with the machine's load; read them, don't expect exact numbers.
 * Compare with io_vs_cpu.c (waiting tasks, for which one CPU is enough).
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra pinned.c && ./a.out
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  /* sched_getcpu, CPU_SET, sched_setaffinity */
#endif
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N_THREADS 2
#define BURN_MS 200

struct worker {
	double cpu_ms, life_ms;  /* its own CPU time; its wall time alive */
	uint64_t cpus_seen;      /* bit c set: it was seen on CPU c (c < 64) */
};

static double ms_of(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ANCHOR: burn */
/* A CPU-bound task: compute until this thread has used BURN_MS of CPU. */
static void *burn(void *arg)
{
	struct worker *w = arg;
	double born = ms_of(CLOCK_MONOTONIC);
	volatile unsigned long sink = 0;

	while (ms_of(CLOCK_THREAD_CPUTIME_ID) < BURN_MS) {
		int cpu = sched_getcpu();

		if (cpu >= 0 && cpu < 64)
			w->cpus_seen |= 1ULL << cpu;
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i;
	}
	w->cpu_ms = ms_of(CLOCK_THREAD_CPUTIME_ID);
	w->life_ms = ms_of(CLOCK_MONOTONIC) - born;
	return NULL;
}
/* ANCHOR_END: burn */

static void print_cpus(uint64_t set)
{
	const char *sep = "";

	for (int c = 0; c < 64; c++)
		if (set & (1ULL << c)) {
			printf("%s%d", sep, c);
			sep = ",";
		}
}

/* Start N_THREADS burners, join them, print what they measured. */
static int run(const char *label)
{
	pthread_t tid[N_THREADS];
	struct worker w[N_THREADS];
	double wall0 = ms_of(CLOCK_MONOTONIC), cpu0 = ms_of(CLOCK_PROCESS_CPUTIME_ID);
	double wall, cpu;
	int err;

	memset(w, 0, sizeof(w));
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_create(&tid[i], NULL, burn, &w[i])) != 0)
			return err;
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_join(tid[i], NULL)) != 0)
			return err;
	wall = ms_of(CLOCK_MONOTONIC) - wall0;
	cpu = ms_of(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
	printf("%-7s whole run: %4.0f ms of wall time, %4.0f ms of CPU time, CPU/wall %.2f\n",
	       label, wall, cpu, cpu / wall);
	for (int i = 0; i < N_THREADS; i++) {
		printf("        thread %d: %4.0f ms of CPU in %4.0f ms alive (%3.0f%% of its life on a CPU), CPU ",
		       i, w[i].cpu_ms, w[i].life_ms, 100 * w[i].cpu_ms / w[i].life_ms);
		print_cpus(w[i].cpus_seen);
		printf("\n");
	}
	return 0;
}

int main(void)
{
	cpu_set_t all, one;
	int err, first = -1;

	if (sched_getaffinity(0, sizeof(all), &all) != 0) {
		perror("sched_getaffinity");
		return 1;
	}
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &all))
			first = c;
	printf("this process may use %d CPU(s)%s\n", CPU_COUNT(&all),
	       CPU_COUNT(&all) < 2 ? ": both runs share one CPU, so both look pinned" : "");

	if ((err = run("free:")) != 0)
		goto fail;

	/* ANCHOR: pin */
	/* What `taskset -c CPU` does: allow this thread only `first`. The
	 * threads it creates from now on inherit that mask. */
	CPU_ZERO(&one);
	CPU_SET(first, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0) {
		perror("sched_setaffinity");
		return 1;
	}
	/* ANCHOR_END: pin */
	if ((err = run("pinned:")) != 0)
		goto fail;
	sched_setaffinity(0, sizeof(all), &all);  /* free again */
	return 0;
fail:
	fprintf(stderr, "pinned: %s\n", strerror(err));
	return 1;
}
