/* A skip for sale: the reference solution, except that it first narrows
 * every process it can reach (the test runner, its parent, included) to
 * one CPU with sched_setaffinity, which every lesson may call. The
 * parallelism checks then see "1 CPU usable" and skip, and a skipped test
 * leaves the maximum: a sure failure would become "not gradable".
 * Expected: the grader's own probe, run after in a fresh sandbox, shows 2
 * CPUs usable, so those skips count as failures: lesson 02 below full
 * marks, and nothing "not gradable". */
#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

static void narrow_everyone(void)
{
	static int done;
	cpu_set_t one;

	if (done)
		return;
	done = 1;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	for (pid_t pid = 1; pid < 256; pid++)
		sched_setaffinity(pid, sizeof(one), &one);
}

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
	for (; started < n; started++) {
		err = pthread_create(&tid[started], attr, run_one, &tasks[started]);
		if (err != 0)
			break;
	}
	for (size_t i = 0; i < started; i++) {
		int rc = pthread_join(tid[i], NULL);

		if (rc != 0 && err == 0)
			err = rc;
	}
	free(tid);
	return err;
}

int run_parallel(struct task *tasks, size_t n)
{
	narrow_everyone();
	return run_all(tasks, n, NULL);
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	pthread_attr_t attr;
	cpu_set_t one;
	int err;

	narrow_everyone();
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	if ((err = pthread_attr_init(&attr)) != 0)
		return err;
	if ((err = pthread_attr_setaffinity_np(&attr, sizeof(one), &one)) == 0)
		err = run_all(tasks, n, &attr);
	pthread_attr_destroy(&attr);
	return err;
}
