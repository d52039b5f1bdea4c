/*
 * bench.c - lesson 08's benchmark: the chunked map/reduce under test beside
 * the sequential loop and OpenMP's `parallel for` with a reduction, on
 * uniform work and on skewed work (the first quarter of the array costs 20
 * times more per element).
 *
 *   make bench LESSON=8 [IMPL=solution]
 *
 * Every case calls the same map() and fold() through the same pointers, so
 * the per-element cost is identical and only the splitting differs. The
 * parallel cases use as many threads as there are usable CPUs (at most 4).
 * The goal (not a test): on 2 idle cores, dp_static at least 1.9x the
 * sequential loop on uniform work, and at least OpenMP's speedup; on skewed
 * work, dp_dynamic near OpenMP schedule(dynamic), both well above static.
 * A benchmark never passes or fails: it prints what it measured.
 */
#include "at_bench.h"
#include "at_cpu.h"
#include "chunks.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N          200000
#define UNIFORM_SPIN 500    /* LCG steps per element, uniform work */
#define CHEAP_SPIN   250    /* skewed work: most elements... */
#define DEAR_SPIN    5000   /* ...but the first quarter costs 20x more */
#define CHUNK      1024
#define ROUNDS     7

struct work {
	int skewed;
};

static long spin_map(long x, void *arg)
{
	const struct work *w = arg;
	int steps = !w->skewed ? UNIFORM_SPIN : x < N / 4 ? DEAR_SPIN : CHEAP_SPIN;
	unsigned long h = (unsigned long)x;

	for (int i = 0; i < steps; i++)
		h = h * 6364136223846793005UL + 1442695040888963407UL;
	return (long)(h >> 40);
}

static void add(long *acc, long y, void *arg)
{
	(void)arg;
	*acc += y;
}

static long in[N];
static struct job job;
static int threads;
static long expected, got;

static void check(long r, const char *who)
{
	if (r != expected) {
		fprintf(stderr, "bench: %s computed %ld, the sequential loop %ld\n", who, r, expected);
		exit(1);
	}
}

/* The loop every other case must agree with. */
static void sequential(void *arg)
{
	long acc = job.identity;

	(void)arg;
	for (size_t i = 0; i < job.n; i++)
		job.fold(&acc, job.map(job.in[i], job.arg), job.arg);
	got = acc;
}

static void ours_static(void *arg)
{
	long r;

	(void)arg;
	if (dp_static(&job, threads, &r) != 0) {
		fprintf(stderr, "bench: dp_static failed\n");
		exit(1);
	}
	check(r, "dp_static");
}

static void ours_dynamic(void *arg)
{
	long r;

	(void)arg;
	if (dp_dynamic(&job, threads, CHUNK, &r) != 0) {
		fprintf(stderr, "bench: dp_dynamic failed\n");
		exit(1);
	}
	check(r, "dp_dynamic");
}

/* OpenMP: one pragma over the sequential loop. The reduction gives each
 * thread a private copy of acc and adds them up at the end. */
static void omp_static(void *arg)
{
	long acc = 0;

	(void)arg;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+:acc)
	for (size_t i = 0; i < job.n; i++)
		job.fold(&acc, job.map(job.in[i], job.arg), job.arg);
	check(acc, "OpenMP static");
}

static void omp_dynamic(void *arg)
{
	long acc = 0;

	(void)arg;
#pragma omp parallel for num_threads(threads) schedule(dynamic, CHUNK) reduction(+:acc)
	for (size_t i = 0; i < job.n; i++)
		job.fold(&acc, job.map(job.in[i], job.arg), job.arg);
	check(acc, "OpenMP dynamic");
}

static void table(const char *title, struct work *w)
{
	struct at_bench_case c[] = {
		{ "sequential loop", sequential, NULL },
		{ "dp_static (ours)", ours_static, NULL },
		{ "dp_dynamic (ours)", ours_dynamic, NULL },
		{ "OpenMP static", omp_static, NULL },
		{ "OpenMP dynamic", omp_dynamic, NULL },
	};

	job = (struct job){ in, N, spin_map, add, 0, w };
	sequential(NULL);
	expected = got;
	at_bench_run(title, c, 5, ROUNDS, N, "elements", NULL);
}

int main(void)
{
	char title[160], why[160];
	struct work uniform = { 0 }, skewed = { 1 };

	threads = at_usable_cpus(why, sizeof(why));
	threads = threads > 4 ? 4 : threads < 2 ? 2 : threads;
	printf("%s; %d threads for the parallel cases, chunks of %d for the dynamic ones\n",
	       why, threads, CHUNK);
	for (size_t i = 0; i < N; i++)
		in[i] = (long)i;
	snprintf(title, sizeof(title), "map-reduce of %d elements, uniform work, %d threads", N, threads);
	table(title, &uniform);
	snprintf(title, sizeof(title), "map-reduce of %d elements, skewed work (first quarter 20x dearer), %d threads", N, threads);
	table(title, &skewed);
	return 0;
}
