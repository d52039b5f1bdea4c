/*
 * threads.c - lesson 02, the reference: every task on its own thread, all
 * started before any is joined; then the same with every thread pinned to
 * one CPU.
 *
 * Compare with harness/02-threads/mutants/: serial_join.patch joins each
 * thread right after creating it (threads, but no concurrency), and
 * loop_variable.patch hands every thread the address of a loop counter.
 */
#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

/* ANCHOR: start_routine */
/* pthread_create wants void *(*)(void *): adapt a task to that shape.
 * Each thread gets a pointer to its own struct task, which stays valid
 * until the thread is joined, and writes only that task's result. */
static void *run_one(void *p)
{
	struct task *t = p;

	t->result = t->fn(t->arg);
	return NULL;
}
/* ANCHOR_END: start_routine */

/* ANCHOR: run_all */
/* Start every thread, then join every thread that started. With attr
 * NULL the threads may run on any CPU; run_pinned passes an attribute
 * object that confines them to one. */
static int run_all(struct task *tasks, size_t n, const pthread_attr_t *attr)
{
	pthread_t *tid = malloc(n * sizeof(*tid));
	size_t started = 0;
	int err = 0;

	if (n > 0 && tid == NULL)
		return ENOMEM;
	/* First start them all, so that all n are in progress at once... */
	for (; started < n; started++) {
		err = pthread_create(&tid[started], attr, run_one, &tasks[started]);
		if (err != 0)
			break;
	}
	/* ...then wait for each. Joining inside the loop above would run the
	 * tasks one after another. On an error, the threads already started
	 * are still joined: none is left behind. */
	for (size_t i = 0; i < started; i++) {
		int rc = pthread_join(tid[i], NULL);

		if (rc != 0 && err == 0)
			err = rc;
	}
	free(tid);
	return err;
}
/* ANCHOR_END: run_all */

/* ANCHOR: run_parallel */
int run_parallel(struct task *tasks, size_t n)
{
	return run_all(tasks, n, NULL);
}
/* ANCHOR_END: run_parallel */

/* ANCHOR: run_pinned */
int run_pinned(struct task *tasks, size_t n, int cpu)
{
	pthread_attr_t attr;
	cpu_set_t one;
	int err;

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if ((err = pthread_attr_init(&attr)) != 0)
		return err;
	/* Threads created with this attribute start on `cpu` and stay there:
	 * the scheduler time-slices them, it never runs two at once. */
	if ((err = pthread_attr_setaffinity_np(&attr, sizeof(one), &one)) == 0)
		err = run_all(tasks, n, &attr);
	pthread_attr_destroy(&attr);
	return err;
}
/* ANCHOR_END: run_pinned */
