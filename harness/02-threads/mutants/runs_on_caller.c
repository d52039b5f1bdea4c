/*
 * Mutant runs_on_caller: no threads at all; calls every task on the
 * calling thread, one after another.
 * Caught by: threads::thread_per_task.
 */
#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

int run_parallel(struct task *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++)
		tasks[i].result = tasks[i].fn(tasks[i].arg);
	return 0;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	(void)cpu;
	return run_parallel(tasks, n);
}
