/*
 * Mutant unpinned: run_pinned() forgets the affinity, so its threads run
 * on every CPU, simultaneously.
 * Caught by: threads::pinned_one_cpu (and threads::pinned_not_parallel).
 */
#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

static void *run_one(void *p)
{
	struct task *t = p;

	t->result = t->fn(t->arg);
	return NULL;
}

int run_parallel(struct task *tasks, size_t n)
{
	pthread_t *tid = malloc(n * sizeof(*tid));
	size_t started = 0;
	int err = 0;

	if (n > 0 && tid == NULL)
		return ENOMEM;
	for (; started < n; started++)
		if ((err = pthread_create(&tid[started], NULL, run_one, &tasks[started])) != 0)
			break;
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	return err;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;                     /* the mistake: no affinity at all */
	return run_parallel(tasks, n);
}
