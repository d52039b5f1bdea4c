/*
 * deadlock.c - two threads, two locks, and the deadlock that opposite
 * locking orders make; then the same two threads with one fixed order.
 * Safe to run: every second lock is a pthread_mutex_timedlock() that gives
 * up after one second, where a real program would wait forever.
 *
 * Part 1: thread 1 locks A then B; thread 2 locks B then A. A barrier
 * makes sure each holds its first lock before asking for its second: each
 * now waits for the lock the other holds. Nobody can go on.
 * Part 2: both lock A first, then B. Whoever gets A goes on; the other
 * waits for A while holding nothing, so no circle of waiting can form.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra deadlock.c && ./a.out
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold_one, both_tried;

struct worker {
	const char *name;
	pthread_mutex_t *first, *second;
	const char *first_name, *second_name;
	int meet;            /* wait at the barrier after the first lock? */
	int got_second;
};

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
		exit(1);
	}
}

/* ANCHOR: worker */
static void *worker(void *arg)
{
	struct worker *w = arg;
	struct timespec limit;
	int rc;

	must(pthread_mutex_lock(w->first), "lock");
	if (w->meet) {
		/* Make the unlucky timing certain: both hold their first lock. */
		rc = pthread_barrier_wait(&both_hold_one);
		if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
			must(rc, "pthread_barrier_wait");
	}
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 1;
	rc = pthread_mutex_timedlock(w->second, &limit);
	w->got_second = rc == 0;
	printf("  %s holds %s, asks for %s: %s\n", w->name, w->first_name, w->second_name,
	       rc == 0 ? "got it" : rc == ETIMEDOUT ? "still waiting after 1 s, gives up" : strerror(rc));
	if (rc == 0)
		must(pthread_mutex_unlock(w->second), "unlock");
	if (w->meet) {
		/* Keep holding the first lock until the other has given up too. */
		rc = pthread_barrier_wait(&both_tried);
		if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
			must(rc, "pthread_barrier_wait");
	}
	must(pthread_mutex_unlock(w->first), "unlock");
	return NULL;
}
/* ANCHOR_END: worker */

static int run(struct worker *w1, struct worker *w2)
{
	pthread_t t1, t2;

	must(pthread_create(&t1, NULL, worker, w1), "pthread_create");
	must(pthread_create(&t2, NULL, worker, w2), "pthread_create");
	must(pthread_join(t1, NULL), "pthread_join");
	must(pthread_join(t2, NULL), "pthread_join");
	return w1->got_second + w2->got_second;
}

int main(void)
{
	/* ANCHOR: orders */
	struct worker opposite[2] = {
		{ "thread 1", &lock_a, &lock_b, "A", "B", 1, 0 },
		{ "thread 2", &lock_b, &lock_a, "B", "A", 1, 0 },
	};
	struct worker same[2] = {
		{ "thread 1", &lock_a, &lock_b, "A", "B", 0, 0 },
		{ "thread 2", &lock_a, &lock_b, "A", "B", 0, 0 },
	};
	/* ANCHOR_END: orders */
	int done;

	must(pthread_barrier_init(&both_hold_one, NULL, 2), "pthread_barrier_init");
	must(pthread_barrier_init(&both_tried, NULL, 2), "pthread_barrier_init");
	printf("opposite orders (1: A then B, 2: B then A):\n");
	done = run(&opposite[0], &opposite[1]);
	printf("  -> %s\n", done == 0 ? "deadlock: each held the lock the other wanted"
				      : "no deadlock this time (impossible with the barrier)");
	printf("one order (both: A then B):\n");
	done = run(&same[0], &same[1]);
	printf("  -> %s\n", done == 2 ? "both finished: no circle of waiting can form"
				      : "a thread gave up (cannot happen)");
	pthread_barrier_destroy(&both_hold_one);
	pthread_barrier_destroy(&both_tried);
	return 0;
}
