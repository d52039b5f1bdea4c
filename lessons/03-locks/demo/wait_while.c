/*
 * wait_while.c - the fix for wait_if.c: the same two consumers, the same
 * single item and the same broadcast, but each consumer waits in a
 * `while` loop and looks at the count again after every wake-up.
 *
 * Both wake; the first to get the lock takes the item; the second finds
 * the count at 0 and goes back to sleep, until a second item comes.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra wait_while.c && ./a.out
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t more = PTHREAD_COND_INITIALIZER;
static int items;        /* guarded by lock */
static int waiting;      /* consumers inside pthread_cond_wait, guarded by lock */
static int wake_ups;     /* times a consumer woke and looked, guarded by lock */
static int taken;        /* items taken, guarded by lock */

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
	while (items == 0) {            /* look again after every wake-up */
		waiting++;
		must(pthread_cond_wait(&more, &lock), "wait");
		waiting--;
		wake_ups++;
	}
	items--;
	taken++;
	must(pthread_mutex_unlock(&lock), "unlock");
	return NULL;
}
/* ANCHOR_END: consumer */

/* Wait (polling, at most 5 s) until `waiting` is n and `taken` is t. */
static void until(int n, int t)
{
	struct timespec ms = { 0, 1000000 };

	for (int i = 0; i < 5000; i++) {
		int w, k;

		must(pthread_mutex_lock(&lock), "lock");
		w = waiting;
		k = taken;
		must(pthread_mutex_unlock(&lock), "unlock");
		if (w == n && k == t)
			return;
		nanosleep(&ms, NULL);
	}
}

static void put_one_and_broadcast(void)
{
	must(pthread_mutex_lock(&lock), "lock");
	items++;
	must(pthread_cond_broadcast(&more), "broadcast");
	must(pthread_mutex_unlock(&lock), "unlock");
}

int main(void)
{
	pthread_t c[2];

	for (int i = 0; i < 2; i++)
		must(pthread_create(&c[i], NULL, consumer, NULL), "pthread_create");
	until(2, 0);                /* both asleep */
	put_one_and_broadcast();    /* one item, both woken */
	until(1, 1);                /* one took it, the other sleeps again */
	printf("1 item, 2 consumers woken by a broadcast: %d took it, %d went back to sleep\n",
	       taken, waiting);
	put_one_and_broadcast();    /* a second item for the second consumer */
	for (int i = 0; i < 2; i++)
		must(pthread_join(c[i], NULL), "pthread_join");
	printf("a 2nd item woke the other: %d items taken, items = %d, %d wake-ups looked at\n",
	       taken, items, wake_ups);
	return items == 0 && taken == 2 ? 0 : 1;
}
