/*
 * Mutant loop_variable: hands every thread the address of the loop counter.
 * By the time a thread reads it, the loop has moved on: tasks run twice or
 * never, and results land in the wrong slots.
 * Caught by: threads::results.
 */
#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

static struct task *all_tasks;

static void *run_one(void *p)
{
	size_t i = *(size_t *)p;          /* the mistake: i keeps changing */
	struct task *t = &all_tasks[i];

	t->result = t->fn(t->arg);
	return NULL;
}

static int run_all(struct task *tasks, size_t n, const pthread_attr_t *attr)
{
	pthread_t *tid = malloc(n * sizeof(*tid));
	size_t i, started;
	int err = 0;

	if (n > 0 && tid == NULL)
		return ENOMEM;
	all_tasks = tasks;
	for (i = 0; i < n; i++)
		if ((err = pthread_create(&tid[i], attr, run_one, &i)) != 0)
			break;
	started = i;
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	return err;
}

int run_parallel(struct task *tasks, size_t n)
{
	return run_all(tasks, n, NULL);
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	pthread_attr_t attr;
	cpu_set_t one;
	int err;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	pthread_attr_init(&attr);
	err = pthread_attr_setaffinity_np(&attr, sizeof(one), &one);
	if (err == 0)
		err = run_all(tasks, n, &attr);
	pthread_attr_destroy(&attr);
	return err;
}
