/*
 * Mutant serial_join: joins each thread right after creating it. Threads,
 * yet no concurrency: each task ends before the next one starts.
 * Caught by: threads::overlap, threads::pinned_overlap.
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
	for (size_t i = 0; i < n; i++) {
		pthread_t tid;
		int err = pthread_create(&tid, attr, run_one, &tasks[i]);

		if (err == 0)
			err = pthread_join(tid, NULL);  /* the mistake: waits here */
		if (err != 0)
			return err;
	}
	return 0;
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
