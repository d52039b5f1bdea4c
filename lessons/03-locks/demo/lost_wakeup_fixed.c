/*
 * lost_wakeup_fixed.c - the fix for lost_wakeup.c: the waiter looks at the
 * flag and goes to sleep while holding the lock, and the signaller changes
 * the flag while holding the same lock. pthread_cond_wait() releases the
 * lock and starts sleeping as one step, so the signaller cannot slip in
 * between the look and the sleep: either it changed the flag before the
 * look (and the waiter does not sleep), or the waiter is already asleep
 * when the signal comes (and it wakes). The same unlucky pause as in
 * lost_wakeup.c, placed before the waiter takes the lock, changes nothing.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra lost_wakeup_fixed.c && ./a.out
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
static bool ready;                   /* guarded by lock: no atomic needed */
static atomic_bool started, signalled;

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
	int rc = 0, sleeps = 0;

	(void)arg;
	atomic_store(&started, true);
	until_true(&signalled);              /* the same unlucky pause */
	must(pthread_mutex_lock(&lock), "lock");
	clock_gettime(CLOCK_REALTIME, &limit);
	limit.tv_sec += 1;
	while (!ready && rc != ETIMEDOUT) {  /* look and sleep under the lock */
		rc = pthread_cond_timedwait(&cv, &lock, &limit);
		sleeps++;
	}
	must(pthread_mutex_unlock(&lock), "unlock");
	printf("waiter: %s (slept %d time(s))\n",
	       ready ? "saw ready = true, went on" : "timed out (cannot happen)", sleeps);
	return NULL;
}
/* ANCHOR_END: waiter */

int main(void)
{
	pthread_t w;

	must(pthread_create(&w, NULL, waiter, NULL), "pthread_create");
	until_true(&started);
	must(pthread_mutex_lock(&lock), "lock");
	ready = true;
	must(pthread_cond_signal(&cv), "signal");
	must(pthread_mutex_unlock(&lock), "unlock");
	printf("main: ready = true, signalled\n");
	atomic_store(&signalled, true);
	must(pthread_join(w, NULL), "pthread_join");
	return 0;
}
