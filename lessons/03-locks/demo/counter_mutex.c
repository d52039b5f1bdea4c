/*
 * counter_mutex.c - the fix for counter_race.c: the same four threads
 * and the same shared counter, each increment inside a critical section
 * guarded by one mutex. Never loses an update.
 *
 * While a thread holds the lock, any other thread that asks for it waits:
 * the three steps of the increment run as one, as far as the others can
 * tell. Unlocking also publishes the new value: the next thread to take
 * the lock is guaranteed to see it (the lock acts as a memory barrier).
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra counter_mutex.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_THREADS  4
#define PER_THREAD 1000000

static long hits;
static pthread_mutex_t hits_lock = PTHREAD_MUTEX_INITIALIZER;

/* A lock call fails only on a broken mutex: a bug. Say so and stop. */
static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
		exit(1);
	}
}

/* ANCHOR: locked */
static void *count(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		must(pthread_mutex_lock(&hits_lock), "lock");
		hits = hits + 1;   /* the critical section: one thread at a time */
		must(pthread_mutex_unlock(&hits_lock), "unlock");
	}
	return NULL;
}
/* ANCHOR_END: locked */

int main(void)
{
	pthread_t tid[N_THREADS];
	long want = (long)N_THREADS * PER_THREAD;
	int err;

	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_create(&tid[i], NULL, count, NULL)) != 0)
			goto fail;
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_join(tid[i], NULL)) != 0)
			goto fail;
	/* After the joins no other thread runs: reading needs no lock. */
	printf("hits = %ld, expected %ld: %s\n", hits, want,
	       hits == want ? "no update lost" : "updates lost (this cannot happen)");
	return hits == want ? 0 : 1;
fail:
	fprintf(stderr, "pthread: %s\n", strerror(err));
	return 1;
}
