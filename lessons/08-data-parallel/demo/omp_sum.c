/*
 * omp_sum.c - the lesson's map/reduce in one OpenMP pragma: a sum over an
 * array, split into one static chunk per thread, with a private partial
 * sum per thread added up at the end (the reduction).
 *
 *   gcc -std=gnu11 -O2 -fopenmp omp_sum.c && ./a.out
 *   OMP_NUM_THREADS=1 ./a.out        (the same loop on one thread)
 *
 * Compare with the exercise (chunks.h): dp_static is what this pragma
 * writes for you.
 */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

#define N 20000000L

/* The work on one element: a few arithmetic steps. */
static long work(long x)
{
	unsigned long h = (unsigned long)x;

	for (int i = 0; i < 20; i++)
		h = h * 6364136223846793005UL + 1442695040888963407UL;
	return (long)(h >> 48);
}

int main(void)
{
	long *in = malloc(N * sizeof(*in)), seq = 0, par = 0;
	double t0, t_seq, t_par;
	int team = 0;

	if (!in)
		return 1;
	for (long i = 0; i < N; i++)
		in[i] = i;

	t0 = omp_get_wtime();
	for (long i = 0; i < N; i++)
		seq += work(in[i]);
	t_seq = omp_get_wtime() - t0;

	t0 = omp_get_wtime();
	/* ANCHOR: pragma */
#pragma omp parallel for schedule(static) reduction(+:par)
	for (long i = 0; i < N; i++)
		par += work(in[i]);
	/* ANCHOR_END: pragma */
	t_par = omp_get_wtime() - t0;

#pragma omp parallel
#pragma omp single
	team = omp_get_num_threads();

	printf("sum of %ld elements: sequential %.0f ms, OpenMP with %d thread(s) %.0f ms (%.2fx)\n",
	       N, t_seq * 1e3, team, t_par * 1e3, t_seq / t_par);
	printf("results %s\n", seq == par ? "equal" : "DIFFER");
	free(in);
	return seq == par ? 0 : 1;
}
