/*
 * loop_variable_fixed.c - the repair of loop_variable.c: every thread is
 * handed the address of a slot of its own, which nobody changes.
 *
 * Same program, same barrier: the threads still look only after the loop
 * has finished, and now each one sees its own number. Any storage that
 * outlives the threads and belongs to one thread alone works: an array
 * element as here, a field of a struct per thread, or a malloc'd copy.
 *
 * Build and run:  gcc -std=gnu11 -pthread -Wall -Wextra loop_variable_fixed.c && ./a.out
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define N_THREADS 4

static pthread_barrier_t loop_done;

static void *worker(void *arg)
{
	const int *number = arg;

	/* Wait until main has left its loop: the worst moment to look. */
	pthread_barrier_wait(&loop_done);
	return (void *)(intptr_t)*number;  /* what this thread saw */
}

int main(void)
{
	pthread_t tid[N_THREADS];
	int number[N_THREADS]; /* one slot per thread, alive until the joins */
	int i, err, own = 0;

	/* N_THREADS workers + main meet at the barrier. */
	if ((err = pthread_barrier_init(&loop_done, NULL, N_THREADS + 1)) != 0)
		goto fail;
	/* ANCHOR: fix */
	for (i = 0; i < N_THREADS; i++) {
		/* The fix: a different address for every thread. */
		number[i] = i;
		err = pthread_create(&tid[i], NULL, worker, &number[i]);
		if (err != 0)
			goto fail;
	}
	/* ANCHOR_END: fix */
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
	fprintf(stderr, "loop_variable_fixed: %s\n", strerror(err));
	return 1;
}
