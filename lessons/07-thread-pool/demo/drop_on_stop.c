/*
 * drop_on_stop.c - BUGGY: a worker that looks at the stop flag before the
 * queue. The main thread queues 10 items and asks it to stop, all in one
 * go under the lock; the worker wakes, sees "stop", and leaves: every item
 * is dropped. Compare with drop_on_stop_fixed.c (one condition changed).
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

/* ANCHOR: bug */
static void *worker(void *arg)
{
	(void)arg;
	check(pthread_mutex_lock(&mu), "lock");
	for (;;) {
		while (queued == 0 && !stopping)
			check(pthread_cond_wait(&work, &mu), "wait");
		if (stopping)            /* the bug: stop wins over queued work */
			break;
		queued--;
		ran++;
	}
	check(pthread_mutex_unlock(&mu), "unlock");
	return NULL;
}
/* ANCHOR_END: bug */

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
	printf("stop first: %d of %d queued items ran before the worker left\n", ran, ITEMS);
	return 0;
}
