/*
 * lost_update_fixed.c - the same two threads as lost_update.c, but each
 * increment holds a mutex, so a read-add-write can no longer be cut in
 * half by the other thread's. No update is ever lost.
 * Compare with lost_update.c (no lock) and lesson 03, which is all about
 * locks.
 *
 * Build and run:  gcc -std=gnu11 -pthread lost_update_fixed.c -o fixed && ./fixed
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PER_THREAD 1000000

static long counter;
static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void must(int err, const char *what)
{
	if (err != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(err));
		exit(1);
	}
}

/* ANCHOR: locked */
static void *add_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++) {
		/* While we hold the lock the other thread cannot start its own
		 * read-add-write: ours runs as if it were one step. Unlocking
		 * also publishes our write to the next thread that locks. */
		must(pthread_mutex_lock(&counter_lock), "lock");
		counter = counter + 1;
		must(pthread_mutex_unlock(&counter_lock), "unlock");
	}
	return NULL;
}
/* ANCHOR_END: locked */

int main(void)
{
	pthread_t t[2];

	for (int i = 0; i < 2; i++)
		must(pthread_create(&t[i], NULL, add_many, NULL), "pthread_create");
	for (int i = 0; i < 2; i++)
		must(pthread_join(t[i], NULL), "pthread_join");
	printf("counter = %ld, expected %d: %s\n", counter, 2 * PER_THREAD,
	       counter == 2 * PER_THREAD ? "no update lost" : "updates lost (this should never happen)");
	return counter == 2 * PER_THREAD ? 0 : 1;
}
