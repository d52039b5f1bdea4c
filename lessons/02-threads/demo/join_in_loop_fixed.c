/*
 * join_in_loop_fixed.c - the repair of join_in_loop.c: start every thread
 * first, then join every thread.
 *
 * The same four 200 ms tasks now all begin before any of them ends, so the
 * whole run takes about as long as one task, not four, on any number of
 * CPUs: a waiting task does not need a CPU.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra join_in_loop_fixed.c && ./a.out
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define N_THREADS 4
#define TASK_MS 200

static atomic_int in_progress, most_at_once;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A task that waits TASK_MS, and notes how many tasks overlapped it. */
static void *task(void *arg)
{
	struct timespec wait = { 0, TASK_MS * 1000000L };
	int now = atomic_fetch_add(&in_progress, 1) + 1;
	int most = atomic_load(&most_at_once);

	/* Raise most_at_once to `now` unless another task raised it higher. */
	while (now > most && !atomic_compare_exchange_weak(&most_at_once, &most, now))
		;
	nanosleep(&wait, NULL);
	atomic_fetch_sub(&in_progress, 1);
	(void)arg;
	return NULL;
}

int main(void)
{
	pthread_t tid[N_THREADS];
	double start = now_ms();
	int err;

	/* ANCHOR: fix */
	/* First start them all... */
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_create(&tid[i], NULL, task, NULL)) != 0)
			goto fail;
	/* ...then wait for each: by now they are all under way. */
	for (int i = 0; i < N_THREADS; i++)
		if ((err = pthread_join(tid[i], NULL)) != 0)
			goto fail;
	/* ANCHOR_END: fix */
	printf("%d tasks of %d ms took %.0f ms; at most %d in progress at once\n",
	       N_THREADS, TASK_MS, now_ms() - start, atomic_load(&most_at_once));
	return 0;
fail:
	fprintf(stderr, "join_in_loop_fixed: %s\n", strerror(err));
	return 1;
}
