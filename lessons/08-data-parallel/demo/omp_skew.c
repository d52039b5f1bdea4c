/*
 * omp_skew.c - skewed work: the first quarter of the array costs 20 times
 * more per element. With schedule(static) each thread gets a fixed quarter
 * or half, and the thread holding the dear part works on alone; with
 * schedule(dynamic, 1000) threads come back for the next chunk, and the
 * work evens out. Each thread's busy time is its CPU clock.
 *
 *   gcc -std=gnu11 -O2 -fopenmp omp_skew.c && ./a.out
 *
 * Compare with the exercise: dp_static and dp_dynamic (chunks.h).
 */
#include <omp.h>
#include <stdio.h>
#include <time.h>

#define N      400000L
#define CHEAP  50
#define DEAR   (20 * CHEAP)
#define MAX_T  64

static long work(long x)
{
	int steps = x < N / 4 ? DEAR : CHEAP;
	unsigned long h = (unsigned long)x;

	for (int i = 0; i < steps; i++)
		h = h * 6364136223846793005UL + 1442695040888963407UL;
	return (long)(h >> 48);
}

static double thread_cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void show(const char *name, const double *busy, int team, double wall)
{
	double most = 0, sum = 0;

	printf("%-22s wall %5.0f ms; busy per thread:", name, wall);
	for (int t = 0; t < team; t++) {
		printf(" %5.0f", busy[t]);
		sum += busy[t];
		most = busy[t] > most ? busy[t] : most;
	}
	printf(" ms (busiest %.0f%%)\n", sum > 0 ? 100 * most / sum : 0);
}

int main(void)
{
	double busy[MAX_T], t0;
	long a = 0, b = 0;
	int team = 1;

	t0 = omp_get_wtime();
	/* ANCHOR: static */
#pragma omp parallel reduction(+:a)
	{
		double start = thread_cpu_ms();

#pragma omp for schedule(static)
		for (long i = 0; i < N; i++)
			a += work(i);
		if (omp_get_thread_num() < MAX_T)
			busy[omp_get_thread_num()] = thread_cpu_ms() - start;
		if (omp_get_thread_num() == 0)
			team = omp_get_num_threads();
	}
	/* ANCHOR_END: static */
	show("schedule(static)", busy, team < MAX_T ? team : MAX_T, (omp_get_wtime() - t0) * 1e3);

	t0 = omp_get_wtime();
	/* ANCHOR: dynamic */
#pragma omp parallel reduction(+:b)
	{
		double start = thread_cpu_ms();

#pragma omp for schedule(dynamic, 1000)
		for (long i = 0; i < N; i++)
			b += work(i);
		if (omp_get_thread_num() < MAX_T)
			busy[omp_get_thread_num()] = thread_cpu_ms() - start;
	}
	/* ANCHOR_END: dynamic */
	show("schedule(dynamic,1000)", busy, team < MAX_T ? team : MAX_T, (omp_get_wtime() - t0) * 1e3);
	printf("results %s\n", a == b ? "equal" : "DIFFER");
	return a == b ? 0 : 1;
}
