/*
 * Mutant one_cpu_for_all: run_parallel() pins every thread to one CPU. The
 * tasks still overlap (concurrency), but never run at the same instant.
 * Caught by: threads::parallel.
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

static int run_all(struct task *tasks, size_t n, const pthread_attr_t *attr)
{
	pthread_t *tid = malloc(n * sizeof(*tid));
	size_t started = 0;
	int err = 0;

	if (n > 0 && tid == NULL)
		return ENOMEM;
	for (; started < n; started++)
		if ((err = pthread_create(&tid[started], attr, run_one, &tasks[started])) != 0)
			break;
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	free(tid);
	return err;
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

int run_parallel(struct task *tasks, size_t n)
{
	cpu_set_t set;
	int first = 0;

	/* the mistake: "parallel" on a single CPU */
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		while (!CPU_ISSET(first, &set))
			first++;
	return run_pinned(tasks, n, first);
}
