/*
 * wait_if.c - BUGGY on purpose: two consumers wait for an item with `if`
 * instead of `while`, one item arrives with a broadcast, and both take it.
 * Compare with wait_while.c.
 *
 * pthread_cond_wait() returning means "something may have changed: look
 * again", never "what you wait for is true". Here a broadcast wakes both
 * consumers for a single item; each trusts its wake-up, skips the second
 * look, and takes "the" item. The count of items goes below zero. The same
 * happens with a spurious wake-up (POSIX allows them), or when a third
 * thread takes the item between the signal and the waiter's return.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra wait_if.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static int items;     /* guarded by lock */
static int waiting;   /* consumers inside pthread_cond_wait, guarded by lock */

static void must(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", what, strerror(rc));
		exit(1);
	}
}

/* ANCHOR: consumer */
static void *consumer(void *arg)
{
	(void)arg;
	must(pthread_mutex_lock(&lock), "lock");
	waiting++;
	if (items == 0)                 /* the bug: `if` looks only once */
		must(pthread_cond_wait(&more, &lock), "wait");
	waiting--;
	items--;                        /* "there must be one now" */
	must(pthread_mutex_unlock(&lock), "unlock");
	return NULL;
}
/* ANCHOR_END: consumer */

/* Wait (polling, at most 5 s) until `waiting` is n. */
static void until_waiting(int n)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		int now;

		must(pthread_mutex_lock(&lock), "lock");
		now = waiting;
		must(pthread_mutex_unlock(&lock), "unlock");
		if (now == n)
			return;
		nanosleep(&ms, NULL);
	}
}

int main(void)
{
	pthread_t c[2];

	for (int i = 0; i < 2; i++)
		must(pthread_create(&c[i], NULL, consumer, NULL), "pthread_create");
	until_waiting(2);   /* both are asleep in pthread_cond_wait() */
	must(pthread_mutex_lock(&lock), "lock");
	items = 1;
	must(pthread_cond_broadcast(&more), "broadcast");   /* wakes both */
	must(pthread_mutex_unlock(&lock), "unlock");
	for (int i = 0; i < 2; i++)
		must(pthread_join(c[i], NULL), "pthread_join");
	printf("1 item, 2 consumers woken by a broadcast: items = %d afterwards -> %s\n", items,
	       items < 0 ? "both took it (an item that did not exist was consumed)" : "fine (unexpected)");
	return 0;
}
