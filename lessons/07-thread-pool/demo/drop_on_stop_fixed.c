/*
 * drop_on_stop_fixed.c - FIXED: the worker leaves only when the queue is empty AND
 * the pool is stopping. The main thread queues 10 items and asks it to stop;
 * the worker wakes, drains the queue, and only then leaves. Compare with
 * drop_on_stop.c (one condition changed).
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define ITEMS 10

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static int queued, ran;
static bool stopping;

static void check(int rc, const char *what)
{
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
}

/* ANCHOR: fix */
static void *worker(void *arg)
{
	(void)arg;
	check(pthread_mutex_lock(&mu), "lock");
	for (;;) {
		while (queued == 0 && !stopping)
			check(pthread_cond_wait(&work, &mu), "wait");
		if (queued == 0)         /* only here can stopping be true: drained */
			break;
		queued--;
		ran++;
	}
	check(pthread_mutex_unlock(&mu), "unlock");
	return NULL;
}
/* ANCHOR_END: fix */

int main(void)
{
	pthread_t t;
	int rc = pthread_create(&t, NULL, worker, NULL);

	if (rc != 0) {
		fprintf(stderr, "pthread_create: %s\n", strerror(rc));
		return 1;
	}
	check(pthread_mutex_lock(&mu), "lock");
	queued = ITEMS;
	stopping = true;
	check(pthread_cond_broadcast(&work), "broadcast");
	check(pthread_mutex_unlock(&mu), "unlock");
	check(pthread_join(t, NULL), "join");
	printf("drain first: %d of %d queued items ran before the worker left\n", ran, ITEMS);
	return 0;
}
