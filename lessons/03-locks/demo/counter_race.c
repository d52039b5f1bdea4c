/*
 * counter_race.c - BUGGY on purpose: four threads add to one shared
 * counter with no lock, and updates get lost. Compare with
 * counter_mutex.c, the same program with a mutex.
 *
 * `hits = hits + 1` is three steps for the CPU: load, add, store. When two
 * threads load the same old value, both store the same new one: one of
 * the two increments vanishes (lesson 01 counted every schedule in which
 * that happens). How many vanish depends on the run, the machine and its
 * load; on one CPU it can even come out right. That is the danger.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra counter_race.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define N_THREADS  4
#define PER_THREAD 1000000

/* volatile only stops the compiler from folding the million additions
 * into one: each is a real load and store. It does NOT make them atomic,
 * nor orders them between threads. */
static volatile long hits;
static pthread_barrier_t start;   /* all threads start counting together */

/* ANCHOR: racy */
static void *count(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < PER_THREAD; i++)
		hits = hits + 1;   /* load, add, store: another thread can run in between */
	return NULL;
}
/* ANCHOR_END: racy */

int main(void)
{
	pthread_t tid[N_THREADS];
	long want = (long)N_THREADS * PER_THREAD;
	int err;

	/* Without a common start, a thread may finish its million before the
	 * next one is even created, and nothing overlaps. */
	if ((err = pthread_barrier_init(&start, NULL, N_THREADS)) != 0)
		goto fail;
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_create(&tid[i], NULL, count, NULL)) != 0)
			goto fail;
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_join(tid[i], NULL)) != 0)
			goto fail;
	pthread_barrier_destroy(&start);
	printf("hits = %ld, expected %ld: ", hits, want);
	if (hits == want)
		printf("nothing lost this time (run it again, or on more CPUs)\n");
	else
		printf("%ld update(s) lost (%.1f%%)\n", want - hits, 100.0 * (want - hits) / want);
	return 0;
fail:
	fprintf(stderr, "pthread: %s\n", strerror(err));
	return 1;
}
