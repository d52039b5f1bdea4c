/*
 * loop_variable.c - BUGGY on purpose: every thread is handed &i, the address
 * of the loop counter, and reads it later. Compare with loop_variable_fixed.c.
 *
 * pthread_create() passes a pointer, not a value. All four threads get the
 * SAME pointer, to a variable the loop keeps changing; each thread reads it
 * whenever the scheduler happens to run it. Here every thread waits at a
 * barrier until the loop has finished before it looks, which makes the
 * worst case happen on every run: all of them read the final value, 4.
 * Without the barrier the numbers seen would change from run to run.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra loop_variable.c && ./a.out
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_THREADS 4

static pthread_barrier_t loop_done;

/* ANCHOR: worker */
static void *worker(void *arg)
{
	const int *number = arg;

	/* Wait until main has left its loop: the worst moment to look. */
	pthread_barrier_wait(&loop_done);
	return (void *)(intptr_t)*number;  /* what this thread saw */
}
/* ANCHOR_END: worker */

int main(void)
{
	pthread_t tid[N_THREADS];
	int i, err, own = 0;

	/* N_THREADS workers + main meet at the barrier. */
	if ((err = pthread_barrier_init(&loop_done, NULL, N_THREADS + 1)) != 0)
		goto fail;
	/* ANCHOR: bug */
	for (i = 0; i < N_THREADS; i++) {
		/* The bug: &i is the same address for every thread. */
		err = pthread_create(&tid[i], NULL, worker, &i);
		if (err != 0)
			goto fail;
	}
	/* ANCHOR_END: bug */
	pthread_barrier_wait(&loop_done);  /* let the workers look now */

	for (int k = 0; k < N_THREADS; k++) {
		void *seen;

		if ((err = pthread_join(tid[k], &seen)) != 0)
			goto fail;
		printf("thread started for task %d saw %d\n", k, (int)(intptr_t)seen);
		if ((intptr_t)seen == k)
			own++;
	}
	printf("%d of %d threads saw their own task number\n", own, N_THREADS);
	pthread_barrier_destroy(&loop_done);
	return 0;
fail:
	fprintf(stderr, "loop_variable: %s\n", strerror(err));
	return 1;
}
