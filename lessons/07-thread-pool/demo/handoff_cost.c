/*
 * handoff_cost.c - what a pool pays per task instead of a new thread: one
 * long-lived thread, and 2000 items handed to it one at a time through a
 * mutex and two condition variables (a one-slot mailbox). Compare with
 * creation_cost.c.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N 2000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t full = PTHREAD_COND_INITIALIZER, empty = PTHREAD_COND_INITIALIZER;
static bool has_item;
static long item, total;

static void check(int rc, const char *what)
{
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
}

static void *consumer(void *arg)
{
	(void)arg;
	for (int i = 0; i < N; i++) {
		check(pthread_mutex_lock(&mu), "lock");
		while (!has_item)    /* asleep until the producer fills the slot */
			check(pthread_cond_wait(&full, &mu), "wait");
		total += item;
		has_item = false;
		/* The slot is free again: wake the producer. */
		check(pthread_cond_signal(&empty), "signal");
		check(pthread_mutex_unlock(&mu), "unlock");
	}
	return NULL;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

int main(void)
{
	pthread_t t;
	double t0 = now_us();
	int rc = pthread_create(&t, NULL, consumer, NULL);

	if (rc != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(rc));
		return 1;
	}
	for (int i = 1; i <= N; i++) {
		check(pthread_mutex_lock(&mu), "lock");
		while (has_item)
			check(pthread_cond_wait(&empty, &mu), "wait");
		item = i;
		has_item = true;
		check(pthread_cond_signal(&full), "signal");
		check(pthread_mutex_unlock(&mu), "unlock");
	}
	check(pthread_join(t, NULL), "join");
	printf("%d items handed to one thread: %.1f us each (sum %ld)\n", N, (now_us() - t0) / N, total);
	return 0;
}
