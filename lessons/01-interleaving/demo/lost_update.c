/*
 * lost_update.c - BUGGY on purpose: two threads each add 1 to a shared
 * counter a million times, with no lock. `counter++` is three steps (load,
 * add, store); when the threads' steps interleave, an update is lost.
 * How many are lost changes from run to run (and on one CPU it can be
 * none): this program prints what happened, it does not judge.
 * Compare with lost_update_fixed.c (a mutex) and lost_update_green.c (the
 * same loss, on purpose, on one OS thread).
 *
 * Build and run:  gcc -std=gnu11 -pthread lost_update.c -o lost && ./lost
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define PER_THREAD 1000000

/* volatile keeps every load and store in the machine code, so the compiler
 * cannot merge the loop into one addition. It does NOT make the increment
 * atomic: that is the bug this program shows. */
static volatile long counter;

/* ANCHOR: racy */
static void *add_many(void *arg)
{
	(void)arg;
	for (int i = 0; i < PER_THREAD; i++)
		counter = counter + 1;  /* read, add, write: not one step */
	return NULL;
}
/* ANCHOR_END: racy */

int main(void)
{
	pthread_t t[2];
	int err;

	for (int i = 0; i < 2; i++) {
		if ((err = pthread_create(&t[i], NULL, add_many, NULL)) != 0) {
			fprintf(stderr, "pthread_create: %s\n", strerror(err));
			return 1;
		}
	}
	for (int i = 0; i < 2; i++) {
		if ((err = pthread_join(t[i], NULL)) != 0) {
			fprintf(stderr, "pthread_join: %s\n", strerror(err));
			return 1;
		}
	}
	printf("counter = %ld, expected %d: %ld update(s) lost this time\n",
	       counter, 2 * PER_THREAD, 2L * PER_THREAD - counter);
	return 0;
}
