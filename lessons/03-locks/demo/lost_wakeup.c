/*
 * lost_wakeup.c - BUGGY on purpose: a waiter looks at the flag without
 * holding the lock, then goes to sleep; the signal comes in between, finds
 * nobody waiting, and is lost. Compare with lost_wakeup_fixed.c.
 *
 * A condition variable has no memory: pthread_cond_signal() wakes a thread
 * that is waiting *now*, and does nothing otherwise. So "look, then sleep"
 * must be one step as far as the signaller can tell. Here it is two: the
 * flag is even an atomic, so there is no data race, and yet the wake-up is
 * lost. The demo makes the unlucky moment certain by having the waiter
 * pause between its look and its sleep until the signal has gone by; in a
 * real program a preemption at that moment does the same, rarely, and the
 * thread then sleeps forever. (Here the wait gives up after 1 s.)
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra lost_wakeup.c && ./a.out
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static atomic_bool ready;
static atomic_bool looked, signalled;   /* to stage the unlucky timing */

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
		exit(1);
	}
}

static void until_true(atomic_bool *flag)
{
	struct timespec ms = { 0, 1000000 };

	while (!atomic_load(flag))
		nanosleep(&ms, NULL);
}

/* ANCHOR: waiter */
static void *waiter(void *arg)
{
	struct timespec limit;
	int rc = 0;

	(void)arg;
	if (!atomic_load(&ready)) {          /* the bug: looks without the lock */
		atomic_store(&looked, true);
		until_true(&signalled);      /* "preempted" right here */
		must(pthread_mutex_lock(&lock), "lock");
		clock_gettime(CLOCK_REALTIME, &limit);
		limit.tv_sec += 1;
		rc = pthread_cond_timedwait(&cv, &lock, &limit);
		must(pthread_mutex_unlock(&lock), "unlock");
	}
	printf("waiter: %s\n", rc == ETIMEDOUT
	       ? "slept 1 s though ready was already true: the wake-up was lost"
	       : "woke up");
	return NULL;
}
/* ANCHOR_END: waiter */

int main(void)
{
	pthread_t w;

	atomic_store(&ready, false);
	must(pthread_create(&w, NULL, waiter, NULL), "pthread_create");
	until_true(&looked);                 /* the waiter saw ready == false */
	must(pthread_mutex_lock(&lock), "lock");
	atomic_store(&ready, true);
	must(pthread_cond_signal(&cv), "signal");   /* nobody waits yet: lost */
	must(pthread_mutex_unlock(&lock), "unlock");
	printf("main: ready = true, signalled (nobody was waiting)\n");
	atomic_store(&signalled, true);
	must(pthread_join(w, NULL), "pthread_join");
	return 0;
}
