/*
 * join_in_loop.c - BUGGY on purpose: it joins each thread right after
 * creating it, so the tasks run one after another although each has a
 * thread of its own. Compare with join_in_loop_fixed.c.
 *
 * pthread_join() waits for the thread to finish. Called inside the loop
 * that creates the threads, it holds the loop back: thread 1 is created
 * only once thread 0 is over. Each task here waits 200 ms (as if for a disk
 * or a network) and counts how many tasks are in progress when it starts.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra join_in_loop.c && ./a.out
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

	/* ANCHOR: bug */
	for (int i = 0; i < N_THREADS; i++) {
		if ((err = pthread_create(&tid[i], NULL, task, NULL)) != 0)
			goto fail;
		/* The bug: wait for this task before starting the next one. */
		if ((err = pthread_join(tid[i], NULL)) != 0)
			goto fail;
	}
	/* ANCHOR_END: bug */
	printf("%d tasks of %d ms took %.0f ms; at most %d in progress at once\n",
	       N_THREADS, TASK_MS, now_ms() - start, atomic_load(&most_at_once));
	return 0;
fail:
	fprintf(stderr, "join_in_loop: %s\n", strerror(err));
	return 1;
}
