/*
 * threads.c - lesson 02: YOUR CODE. Run tasks on threads, then on one CPU.
 *
 * Read the chapter (README.md beside this file) first, then replace each
 * TODO. `make check LESSON=2` tells you what your code does, measured.
 */
#include "threads.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

int run_parallel(struct task *tasks, size_t n)
{
	/*
	 * TODO 1: start one thread per task with pthread_create(), so that all
	 *         n tasks are in progress at once. The thread's start routine
	 *         must call the task's fn with its arg and store the result
	 *         in that task's own `result`.
	 * TODO 2: only when every thread is started, wait for all of them with
	 *         pthread_join(). Return the first non-zero error number.
	 */
	(void)tasks;
	(void)n;
	return ENOSYS;
}

int run_pinned(struct task *tasks, size_t n, int cpu)
{
	/*
	 * TODO 3: the same as run_parallel(), but create each thread with an
	 *         attribute object whose CPU affinity holds only `cpu`
	 *         (pthread_attr_setaffinity_np, CPU_ZERO, CPU_SET), so the
	 *         thread never runs anywhere else.
	 */
	(void)tasks;
	(void)n;
	(void)cpu;
	return ENOSYS;
}
